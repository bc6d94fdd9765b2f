//! The avatar's meshes on the GPU: their vertex, index, skin and uv buffers, their textures' descriptor sets,
//! and the per-frame update of what moved.

use super::Renderer;
use super::data::{Material, MeshData, SkinData, TextureData};
use crate::RenderError;
use crate::memory::Buffer;
use crate::textures;
use ash::vk;
use glam::{Mat4, Vec3};

pub(super) struct GpuMesh {
    pub(super) vertices: Buffer,
    pub(super) indices: Buffer,
    pub(super) index_count: u32,
    pub(super) vertex_count: usize,
    pub(super) material: Material,
    pub(super) model: Mat4,
    /// The deformer's version of the vertices last written (None: only the initial data).
    pub(super) version: Option<u64>,
    /// Joints and weights (GPU skinning), and the skin's first joint matrix.
    pub(super) skin: Option<(Buffer, u32)>,
    pub(super) uvs: Buffer,
    /// Its textures, at set 1.
    pub(super) textures: vk::DescriptorSet,
}

/// Positions and normals interleaved, as vertex binding 0 reads them.
pub(super) fn write_vertices(buffer: &mut Buffer, positions: &[Vec3], normals: &[Vec3]) {
    let mut bytes = Vec::with_capacity(positions.len() * 24);
    for (p, n) in positions.iter().zip(normals) {
        for f in p.to_array().into_iter().chain(n.to_array()) {
            bytes.extend_from_slice(&f.to_le_bytes());
        }
    }
    buffer.write(&bytes);
}

impl Renderer {
    /// Replaces the meshes to draw (the avatar's primitives) and their textures: `colour` the base colour
    /// ones (sRGB), `data` the metallic-roughness ones (linear).
    pub fn set_meshes(
        &mut self,
        meshes: &[MeshData],
        colour: &[TextureData],
        data: &[TextureData],
    ) -> Result<(), RenderError> {
        self.clear_meshes();
        self.upload_textures(colour, data)?;
        self.texture_pool = textures::pool(&self.ctx.device, meshes.len().max(1) as u32)?;
        for m in meshes {
            let mesh = self.upload_mesh(m)?;
            self.meshes.push(mesh);
        }
        Ok(())
    }

    /// Mesh `i` this frame: its model matrix, and its vertices when `version` differs from the one last
    /// written (vertices that did not change are not copied again).
    pub fn update_mesh(
        &mut self,
        i: usize,
        version: u64,
        positions: &[Vec3],
        normals: &[Vec3],
        model: Mat4,
    ) -> Result<(), RenderError> {
        let mesh = self
            .meshes
            .get_mut(i)
            .ok_or_else(|| RenderError::Invalid(format!("no mesh {i}")))?;
        if positions.len() != mesh.vertex_count || normals.len() != mesh.vertex_count {
            return Err(RenderError::Invalid(format!(
                "mesh {i} has {} vertices, got {} positions and {} normals",
                mesh.vertex_count,
                positions.len(),
                normals.len()
            )));
        }
        mesh.model = model;
        if mesh.version != Some(version) {
            write_vertices(&mut mesh.vertices, positions, normals);
            mesh.version = Some(version);
        }
        Ok(())
    }

    /// How many meshes are set.
    pub fn mesh_count(&self) -> usize {
        self.meshes.len()
    }

    /// One mesh's buffers and texture set (the textures already uploaded).
    fn upload_mesh(&self, m: &MeshData) -> Result<GpuMesh, RenderError> {
        let mut vertices = Buffer::host(
            &self.ctx,
            (m.positions.len() * 24) as u64,
            vk::BufferUsageFlags::VERTEX_BUFFER,
        )?;
        let mut indices = Buffer::host(
            &self.ctx,
            (m.indices.len() * 4) as u64,
            vk::BufferUsageFlags::INDEX_BUFFER,
        )?;
        let bytes: Vec<u8> = m.indices.iter().flat_map(|i| i.to_le_bytes()).collect();
        indices.write(&bytes);
        write_vertices(&mut vertices, m.positions, m.normals);
        let skin = match &m.skin {
            Some(skin) => Some((self.skin_buffer(m.positions.len(), skin)?, skin.joint_base)),
            None => None,
        };
        let uvs = self.uv_buffer(m)?;
        // Without a uv per vertex the mesh cannot sample its textures: white instead.
        let textured = m.uvs.len() == m.positions.len();
        let textures = self.texture_set(
            m.texture.filter(|_| textured),
            m.metallic_roughness.filter(|_| textured),
        )?;
        Ok(GpuMesh {
            vertices,
            indices,
            index_count: m.indices.len() as u32,
            vertex_count: m.positions.len(),
            material: m.material,
            model: Mat4::IDENTITY,
            version: None,
            skin,
            uvs,
            textures,
        })
    }

    /// Joints (4 × u16) then weights (4 × f32) per vertex, as vertex binding 1 reads them.
    fn skin_buffer(&self, vertex_count: usize, skin: &SkinData) -> Result<Buffer, RenderError> {
        if skin.joints.len() != vertex_count || skin.weights.len() != vertex_count {
            return Err(RenderError::Invalid(format!(
                "{} vertices with {} joint and {} weight sets",
                vertex_count,
                skin.joints.len(),
                skin.weights.len()
            )));
        }
        let mut buffer = Buffer::host(
            &self.ctx,
            (vertex_count * 24) as u64,
            vk::BufferUsageFlags::VERTEX_BUFFER,
        )?;
        let mut bytes = Vec::with_capacity(vertex_count * 24);
        for (j, w) in skin.joints.iter().zip(skin.weights) {
            for x in j {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
            for x in w {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
        }
        buffer.write(&bytes);
        Ok(buffer)
    }

    /// The mesh's uvs, or zeros when it has none for every vertex (the pipeline always reads binding 2).
    fn uv_buffer(&self, m: &MeshData) -> Result<Buffer, RenderError> {
        let mut uvs = Buffer::host(
            &self.ctx,
            (m.positions.len() * 8).max(8) as u64,
            vk::BufferUsageFlags::VERTEX_BUFFER,
        )?;
        let uv_bytes: Vec<u8> = if m.uvs.len() == m.positions.len() {
            m.uvs
                .iter()
                .flatten()
                .flat_map(|f| f.to_le_bytes())
                .collect()
        } else {
            vec![0; m.positions.len() * 8]
        };
        uvs.write(&uv_bytes);
        Ok(uvs)
    }

    /// Uploads the meshes' textures: colour ones sRGB, data ones linear.
    fn upload_textures(
        &mut self,
        colour: &[TextureData],
        data: &[TextureData],
    ) -> Result<(), RenderError> {
        for t in colour {
            let image = textures::upload(&self.ctx, t, vk::Format::R8G8B8A8_SRGB)?;
            self.colour_images.push(image);
        }
        for t in data {
            let image = textures::upload(&self.ctx, t, vk::Format::R8G8B8A8_UNORM)?;
            self.data_images.push(image);
        }
        Ok(())
    }

    /// The descriptor set pairing a mesh's colour and data textures (white where it has none).
    fn texture_set(
        &self,
        colour: Option<usize>,
        data: Option<usize>,
    ) -> Result<vk::DescriptorSet, RenderError> {
        let colour = colour
            .and_then(|i| self.colour_images.get(i))
            .unwrap_or(&self.white);
        let data = data
            .and_then(|i| self.data_images.get(i))
            .unwrap_or(&self.white);
        textures::pair(
            &self.ctx.device,
            self.texture_pool,
            self.texture_layout,
            self.sampler,
            colour,
            data,
        )
    }

    /// Frees the meshes, their textures and the pool of their sets.
    pub(super) fn clear_meshes(&mut self) {
        for mut m in self.meshes.drain(..) {
            m.vertices.destroy(&self.ctx);
            m.indices.destroy(&self.ctx);
            if let Some((mut skin, _)) = m.skin {
                skin.destroy(&self.ctx);
            }
            m.uvs.destroy(&self.ctx);
        }
        for mut image in self
            .colour_images
            .drain(..)
            .chain(self.data_images.drain(..))
        {
            image.destroy(&self.ctx);
        }
        if self.texture_pool != vk::DescriptorPool::null() {
            // SAFETY: no frame in flight uses the sets (targets wait for their frames).
            unsafe {
                self.ctx
                    .device
                    .destroy_descriptor_pool(self.texture_pool, None)
            };
            self.texture_pool = vk::DescriptorPool::null();
        }
    }
}
