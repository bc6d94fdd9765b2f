//! The renderer: one render pass and pipeline (multiview: every view in one pass), the avatar's meshes on the
//! GPU, and a frame's commands. What it draws into is a [`crate::RenderTarget`].

use crate::RenderError;
use crate::context::GpuContext;
use crate::memory::{Buffer, Image};
use crate::textures;
use ash::vk;
use glam::{Mat4, Vec3};
use std::sync::Arc;

const VERT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/avatar.vert.spv"));
const VERT_SKINNED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/avatar_skinned.vert.spv"));
const FRAG: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/avatar.frag.spv"));
pub const DEPTH_FORMAT: vk::Format = vk::Format::D32_SFLOAT;
/// Largest number of views in one pass (two eyes).
pub const MAX_VIEWS: usize = 2;
/// Joint matrices the GPU skinning buffer holds (every skin of the avatar together).
pub const MAX_JOINTS: usize = 512;

#[derive(Debug, Clone, Copy)]
pub struct Material {
    /// Linear RGBA.
    pub base_color: [f32; 4],
    pub roughness: f32,
    pub metallic: f32,
    /// 1 for skin: light wraps past the terminator and scatters red.
    pub subsurface: f32,
    /// A clear wet coat over it (the cornea over the eye), 0 for none, and how rough that coat is.
    pub clearcoat: f32,
    pub clearcoat_roughness: f32,
    /// Where the base colour's alpha is below this the surface is not there (glTF's alpha mask: hair's
    /// frayed edge); 0 for an opaque surface.
    pub alpha_cutoff: f32,
}

impl Material {
    /// A plain material: no subsurface, no coat.
    pub fn plain(base_color: [f32; 4], roughness: f32, metallic: f32) -> Material {
        Material {
            base_color,
            roughness,
            metallic,
            subsurface: 0.0,
            clearcoat: 0.0,
            clearcoat_roughness: 0.0,
            alpha_cutoff: 0.0,
        }
    }
}

/// One mesh to draw: its triangles and material; vertices are updated every frame.
pub struct MeshData<'a> {
    pub positions: &'a [Vec3],
    pub normals: &'a [Vec3],
    pub indices: &'a [u32],
    pub material: Material,
    /// Texture coordinates (empty: no texture).
    pub uvs: &'a [[f32; 2]],
    /// The base colour texture, an index into the colour textures given with the meshes.
    pub texture: Option<usize>,
    /// The metallic-roughness texture (green roughness, blue metal), an index into the data textures.
    pub metallic_roughness: Option<usize>,
    /// Skinned on the GPU: the vertices are in bind pose and move with the joint matrices.
    pub skin: Option<SkinData<'a>>,
}

/// An RGBA8 image: sRGB-encoded for colour, linear for data (roughness).
pub struct TextureData<'a> {
    pub width: u32,
    pub height: u32,
    pub rgba: &'a [u8],
}

/// Joints and weights of each vertex, and where the mesh's skin starts among the joint matrices.
pub struct SkinData<'a> {
    pub joints: &'a [[u16; 4]],
    pub weights: &'a [[f32; 4]],
    pub joint_base: u32,
}

/// One view of the scene: where the eye is and its view-projection (Vulkan clip space).
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub eye: Vec3,
    pub view_proj: Mat4,
}

impl View {
    /// A perspective view looking from `eye` at `target` (+Y up), `fov_y` in radians.
    pub fn look_at(eye: Vec3, target: Vec3, fov_y: f32, aspect: f32) -> View {
        let view = Mat4::look_at_rh(eye, target, Vec3::Y);
        // Vulkan's clip space has +Y down: flip so +Y is up on screen.
        let mut proj = Mat4::perspective_rh(fov_y, aspect, 0.05, 100.0);
        proj.y_axis.y = -proj.y_axis.y;
        View {
            eye,
            view_proj: proj * view,
        }
    }
}

/// Lights of a neutral three-point studio: key, fill and rim (direction the light travels, linear colour).
#[derive(Debug, Clone, Copy)]
pub struct Lighting {
    pub lights: [(Vec3, Vec3); 3],
    pub ambient: Vec3,
}

impl Default for Lighting {
    fn default() -> Self {
        Lighting {
            lights: [
                // Key: above, front left of the subject.
                (Vec3::new(0.5, -0.45, -0.75), Vec3::splat(1.7)),
                // Fill: front right, softer.
                (Vec3::new(-0.7, -0.15, -0.7), Vec3::new(0.45, 0.48, 0.55)),
                // Rim: from behind, to separate the head from the background.
                (Vec3::new(-0.2, -0.3, 0.95), Vec3::splat(1.2)),
            ],
            ambient: Vec3::new(0.05, 0.05, 0.055),
        }
    }
}

/// The uniform block, as the shaders declare it (std140).
#[repr(C)]
#[derive(Clone, Copy)]
struct FrameUniform {
    view_proj: [[f32; 16]; 2],
    eye: [[f32; 4]; 2],
    light_dir: [[f32; 4]; 3],
    light_color: [[f32; 4]; 3],
    ambient: [f32; 4],
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DrawPush {
    model: [f32; 16],
    base_color: [f32; 4],
    params: [f32; 4],
    coat: [f32; 4],
}

fn as_bytes<T: Copy>(v: &T) -> &[u8] {
    // SAFETY: T is a plain #[repr(C)] value of f32s without padding.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), std::mem::size_of::<T>()) }
}

struct GpuMesh {
    vertices: Buffer,
    indices: Buffer,
    index_count: u32,
    vertex_count: usize,
    material: Material,
    model: Mat4,
    /// The deformer's version of the vertices last written (None: only the initial data).
    version: Option<u64>,
    /// Joints and weights (GPU skinning), and the skin's first joint matrix.
    skin: Option<(Buffer, u32)>,
    uvs: Buffer,
    /// Its textures, at set 1.
    textures: vk::DescriptorSet,
}

/// A flat picture in the world (captions, the state cue): a quad drawn unlit, after the avatar.
pub struct PanelData<'a> {
    pub image: TextureData<'a>,
    /// Maps the unit quad (x and y in -0.5..0.5, facing +Z) into the world: position, turn and size.
    pub world: Mat4,
}

struct GpuPanel {
    mesh: GpuMesh,
    image: Image,
    pool: vk::DescriptorPool,
}

/// `params.x` below zero tells the fragment shader a surface is unlit (its texture as it is).
const UNLIT: f32 = -1.0;

pub struct Renderer {
    pub ctx: Arc<GpuContext>,
    pub render_pass: vk::RenderPass,
    pub format: vk::Format,
    pub views: u32,
    set_layout: vk::DescriptorSetLayout,
    pipeline_layout: vk::PipelineLayout,
    pipeline: vk::Pipeline,
    pipeline_skinned: vk::Pipeline,
    descriptor_pool: vk::DescriptorPool,
    descriptor_set: vk::DescriptorSet,
    uniform: Buffer,
    joints: Buffer,
    meshes: Vec<GpuMesh>,
    texture_layout: vk::DescriptorSetLayout,
    texture_pool: vk::DescriptorPool,
    colour_images: Vec<Image>,
    data_images: Vec<Image>,
    /// One white texel: what a material without a texture samples.
    white: Image,
    sampler: vk::Sampler,
    pub background: [f32; 4],
    pub lighting: Lighting,
    /// Where the avatar stands in the world (its model space to world space): in the room for XR.
    pub placement: Mat4,
    /// Panels by slot (the caller's numbering: a floor, captions…).
    panels: Vec<Option<GpuPanel>>,
}

impl Renderer {
    /// `format`: the colour format (an sRGB one for correct output), `views`: 1 or 2 (stereo),
    /// `final_layout`: the layout the target wants the image in after the pass.
    pub fn new(
        ctx: Arc<GpuContext>,
        format: vk::Format,
        views: u32,
        final_layout: vk::ImageLayout,
    ) -> Result<Renderer, RenderError> {
        if !(1..=MAX_VIEWS as u32).contains(&views) {
            return Err(RenderError::Invalid(format!(
                "{views} views; 1 or 2 are supported"
            )));
        }
        let d = &ctx.device;
        let attachments = [
            vk::AttachmentDescription::default()
                .format(format)
                .samples(vk::SampleCountFlags::TYPE_1)
                .load_op(vk::AttachmentLoadOp::CLEAR)
                .store_op(vk::AttachmentStoreOp::STORE)
                .initial_layout(vk::ImageLayout::UNDEFINED)
                .final_layout(final_layout),
            vk::AttachmentDescription::default()
                .format(DEPTH_FORMAT)
                .samples(vk::SampleCountFlags::TYPE_1)
                .load_op(vk::AttachmentLoadOp::CLEAR)
                .store_op(vk::AttachmentStoreOp::DONT_CARE)
                .initial_layout(vk::ImageLayout::UNDEFINED)
                .final_layout(vk::ImageLayout::DEPTH_STENCIL_ATTACHMENT_OPTIMAL),
        ];
        let color_ref = [vk::AttachmentReference {
            attachment: 0,
            layout: vk::ImageLayout::COLOR_ATTACHMENT_OPTIMAL,
        }];
        let depth_ref = vk::AttachmentReference {
            attachment: 1,
            layout: vk::ImageLayout::DEPTH_STENCIL_ATTACHMENT_OPTIMAL,
        };
        let subpasses = [vk::SubpassDescription::default()
            .pipeline_bind_point(vk::PipelineBindPoint::GRAPHICS)
            .color_attachments(&color_ref)
            .depth_stencil_attachment(&depth_ref)];
        let dependencies = [vk::SubpassDependency::default()
            .src_subpass(vk::SUBPASS_EXTERNAL)
            .dst_subpass(0)
            .src_stage_mask(
                vk::PipelineStageFlags::COLOR_ATTACHMENT_OUTPUT
                    | vk::PipelineStageFlags::EARLY_FRAGMENT_TESTS,
            )
            .dst_stage_mask(
                vk::PipelineStageFlags::COLOR_ATTACHMENT_OUTPUT
                    | vk::PipelineStageFlags::EARLY_FRAGMENT_TESTS,
            )
            .dst_access_mask(
                vk::AccessFlags::COLOR_ATTACHMENT_WRITE
                    | vk::AccessFlags::DEPTH_STENCIL_ATTACHMENT_WRITE,
            )];
        let mask = [(1u32 << views) - 1];
        let mut multiview = vk::RenderPassMultiviewCreateInfo::default()
            .view_masks(&mask)
            .correlation_masks(&mask);
        let info = vk::RenderPassCreateInfo::default()
            .attachments(&attachments)
            .subpasses(&subpasses)
            .dependencies(&dependencies)
            .push_next(&mut multiview);
        // SAFETY: valid create info; destroyed in Drop.
        let render_pass = unsafe { d.create_render_pass(&info, None) }
            .map_err(RenderError::vk("creating the render pass"))?;

        let bindings = [
            vk::DescriptorSetLayoutBinding::default()
                .binding(0)
                .descriptor_type(vk::DescriptorType::UNIFORM_BUFFER)
                .descriptor_count(1)
                .stage_flags(vk::ShaderStageFlags::VERTEX | vk::ShaderStageFlags::FRAGMENT),
            vk::DescriptorSetLayoutBinding::default()
                .binding(1)
                .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                .descriptor_count(1)
                .stage_flags(vk::ShaderStageFlags::VERTEX),
        ];
        // SAFETY: as above.
        let set_layout = unsafe {
            d.create_descriptor_set_layout(
                &vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings),
                None,
            )
        }
        .map_err(RenderError::vk("creating the descriptor layout"))?;
        let texture_layout = textures::set_layout(d)?;
        let sampler_info = vk::SamplerCreateInfo::default()
            .mag_filter(vk::Filter::LINEAR)
            .min_filter(vk::Filter::LINEAR)
            .mipmap_mode(vk::SamplerMipmapMode::LINEAR)
            .address_mode_u(vk::SamplerAddressMode::REPEAT)
            .address_mode_v(vk::SamplerAddressMode::REPEAT)
            .address_mode_w(vk::SamplerAddressMode::REPEAT)
            .max_lod(0.0);
        // SAFETY: as above.
        let sampler = unsafe { d.create_sampler(&sampler_info, None) }
            .map_err(RenderError::vk("creating a sampler"))?;
        let set_layouts = [set_layout, texture_layout];
        let push = [vk::PushConstantRange::default()
            .stage_flags(vk::ShaderStageFlags::VERTEX | vk::ShaderStageFlags::FRAGMENT)
            .size(std::mem::size_of::<DrawPush>() as u32)];
        // SAFETY: as above.
        let pipeline_layout = unsafe {
            d.create_pipeline_layout(
                &vk::PipelineLayoutCreateInfo::default()
                    .set_layouts(&set_layouts)
                    .push_constant_ranges(&push),
                None,
            )
        }
        .map_err(RenderError::vk("creating the pipeline layout"))?;
        let pipeline = create_pipeline(d, render_pass, pipeline_layout, false)?;
        let pipeline_skinned = create_pipeline(d, render_pass, pipeline_layout, true)?;

        let sizes = [
            vk::DescriptorPoolSize {
                ty: vk::DescriptorType::UNIFORM_BUFFER,
                descriptor_count: 1,
            },
            vk::DescriptorPoolSize {
                ty: vk::DescriptorType::STORAGE_BUFFER,
                descriptor_count: 1,
            },
        ];
        // SAFETY: as above.
        let descriptor_pool = unsafe {
            d.create_descriptor_pool(
                &vk::DescriptorPoolCreateInfo::default()
                    .max_sets(1)
                    .pool_sizes(&sizes),
                None,
            )
        }
        .map_err(RenderError::vk("creating the descriptor pool"))?;
        // SAFETY: the pool has room for this set.
        let descriptor_set = unsafe {
            d.allocate_descriptor_sets(
                &vk::DescriptorSetAllocateInfo::default()
                    .descriptor_pool(descriptor_pool)
                    .set_layouts(&set_layouts[..1]),
            )
        }
        .map_err(RenderError::vk("allocating the descriptor set"))?[0];
        let uniform = Buffer::host(
            &ctx,
            std::mem::size_of::<FrameUniform>() as u64,
            vk::BufferUsageFlags::UNIFORM_BUFFER,
        )?;
        let joints = Buffer::host(
            &ctx,
            (MAX_JOINTS * 64) as u64,
            vk::BufferUsageFlags::STORAGE_BUFFER,
        )?;
        let white = TextureData {
            width: 1,
            height: 1,
            rgba: &[255; 4],
        };
        let white = textures::upload(&ctx, &white, vk::Format::R8G8B8A8_UNORM)?;
        let buffer_info = [vk::DescriptorBufferInfo {
            buffer: uniform.buffer,
            offset: 0,
            range: vk::WHOLE_SIZE,
        }];
        let joints_info = [vk::DescriptorBufferInfo {
            buffer: joints.buffer,
            offset: 0,
            range: vk::WHOLE_SIZE,
        }];
        let write = [
            vk::WriteDescriptorSet::default()
                .dst_set(descriptor_set)
                .dst_binding(0)
                .descriptor_type(vk::DescriptorType::UNIFORM_BUFFER)
                .buffer_info(&buffer_info),
            vk::WriteDescriptorSet::default()
                .dst_set(descriptor_set)
                .dst_binding(1)
                .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                .buffer_info(&joints_info),
        ];
        // SAFETY: the set and buffer are valid and not in use.
        unsafe { d.update_descriptor_sets(&write, &[]) };
        Ok(Renderer {
            ctx,
            render_pass,
            format,
            views,
            set_layout,
            pipeline_layout,
            pipeline,
            pipeline_skinned,
            descriptor_pool,
            descriptor_set,
            uniform,
            joints,
            meshes: Vec::new(),
            texture_layout,
            texture_pool: vk::DescriptorPool::null(),
            colour_images: Vec::new(),
            data_images: Vec::new(),
            white,
            sampler,
            background: [0.18, 0.19, 0.21, 1.0],
            lighting: Lighting::default(),
            placement: Mat4::IDENTITY,
            panels: Vec::new(),
        })
    }

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
                Some(skin) => {
                    if skin.joints.len() != m.positions.len()
                        || skin.weights.len() != m.positions.len()
                    {
                        return Err(RenderError::Invalid(format!(
                            "{} vertices with {} joint and {} weight sets",
                            m.positions.len(),
                            skin.joints.len(),
                            skin.weights.len()
                        )));
                    }
                    let mut buffer = Buffer::host(
                        &self.ctx,
                        (m.positions.len() * 24) as u64,
                        vk::BufferUsageFlags::VERTEX_BUFFER,
                    )?;
                    let mut bytes = Vec::with_capacity(m.positions.len() * 24);
                    for (j, w) in skin.joints.iter().zip(skin.weights) {
                        for x in j {
                            bytes.extend_from_slice(&x.to_le_bytes());
                        }
                        for x in w {
                            bytes.extend_from_slice(&x.to_le_bytes());
                        }
                    }
                    buffer.write(&bytes);
                    Some((buffer, skin.joint_base))
                }
                None => None,
            };
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
            let textured = m.uvs.len() == m.positions.len();
            let textures = self.texture_set(
                m.texture.filter(|_| textured),
                m.metallic_roughness.filter(|_| textured),
            )?;
            self.meshes.push(GpuMesh {
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
            });
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

    /// The joint matrices of this frame for meshes skinned on the GPU (every skin's, one after another).
    pub fn set_joint_matrices(&mut self, matrices: &[Mat4]) -> Result<(), RenderError> {
        if matrices.len() > MAX_JOINTS {
            return Err(RenderError::Invalid(format!(
                "{} joints; GPU skinning holds at most {MAX_JOINTS}",
                matrices.len()
            )));
        }
        let bytes: Vec<u8> = matrices
            .iter()
            .flat_map(|m| m.to_cols_array())
            .flat_map(f32::to_le_bytes)
            .collect();
        self.joints.write(&bytes);
        Ok(())
    }

    /// Shows `panel` in `slot` (replacing the one there), or none. Waits for the GPU to finish the frames
    /// that used the old one: call it when the picture changes, not every frame.
    pub fn set_panel(&mut self, slot: usize, panel: Option<PanelData>) -> Result<(), RenderError> {
        // SAFETY: waiting is always valid; the old panel may be in a frame still drawing.
        unsafe { self.ctx.device.device_wait_idle() }
            .map_err(RenderError::vk("waiting for the GPU"))?;
        self.drop_panel(slot);
        let Some(panel) = panel else {
            return Ok(());
        };
        let d = &self.ctx.device;
        let pool = textures::pool(d, 1)?;
        let image = textures::upload(&self.ctx, &panel.image, vk::Format::R8G8B8A8_SRGB);
        let set = image.and_then(|image| {
            let paired = textures::pair(
                d,
                pool,
                self.texture_layout,
                self.sampler,
                &image,
                &self.white,
            );
            paired.map(|set| (image, set))
        });
        let (image, set) = match set {
            Ok(done) => done,
            Err(e) => {
                // SAFETY: nothing uses the pool yet.
                unsafe { d.destroy_descriptor_pool(pool, None) };
                return Err(e);
            }
        };
        let positions = [
            Vec3::new(-0.5, 0.5, 0.0),
            Vec3::new(0.5, 0.5, 0.0),
            Vec3::new(-0.5, -0.5, 0.0),
            Vec3::new(0.5, -0.5, 0.0),
        ];
        let mut vertices = Buffer::host(&self.ctx, 4 * 24, vk::BufferUsageFlags::VERTEX_BUFFER)?;
        write_vertices(&mut vertices, &positions, &[Vec3::Z; 4]);
        let mut uvs = Buffer::host(&self.ctx, 4 * 8, vk::BufferUsageFlags::VERTEX_BUFFER)?;
        let uv: [f32; 8] = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        uvs.write(&uv.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<u8>>());
        let mut indices = Buffer::host(&self.ctx, 6 * 4, vk::BufferUsageFlags::INDEX_BUFFER)?;
        let tri: [u32; 6] = [0, 2, 1, 1, 2, 3];
        indices.write(
            &tri.iter()
                .flat_map(|i| i.to_le_bytes())
                .collect::<Vec<u8>>(),
        );
        if self.panels.len() <= slot {
            self.panels.resize_with(slot + 1, || None);
        }
        self.panels[slot] = Some(GpuPanel {
            mesh: GpuMesh {
                vertices,
                indices,
                index_count: 6,
                vertex_count: 4,
                material: Material::plain([1.0; 4], UNLIT, 0.0),
                model: panel.world,
                version: None,
                skin: None,
                uvs,
                textures: set,
            },
            image,
            pool,
        });
        Ok(())
    }

    /// Moves the panel in `slot` (no upload).
    pub fn move_panel(&mut self, slot: usize, world: Mat4) {
        if let Some(Some(p)) = self.panels.get_mut(slot) {
            p.mesh.model = world;
        }
    }

    fn drop_panel(&mut self, slot: usize) {
        if let Some(mut p) = self.panels.get_mut(slot).and_then(Option::take) {
            p.mesh.vertices.destroy(&self.ctx);
            p.mesh.indices.destroy(&self.ctx);
            p.mesh.uvs.destroy(&self.ctx);
            p.image.destroy(&self.ctx);
            // SAFETY: the device is idle (set_panel, drop).
            unsafe { self.ctx.device.destroy_descriptor_pool(p.pool, None) };
        }
    }

    /// How many meshes are set.
    pub fn mesh_count(&self) -> usize {
        self.meshes.len()
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

    fn clear_meshes(&mut self) {
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

    /// Records the frame into `cmd`: the pass over `framebuffer` with one view per layer.
    pub fn record(
        &mut self,
        cmd: vk::CommandBuffer,
        framebuffer: vk::Framebuffer,
        extent: vk::Extent2D,
        views: &[View],
    ) -> Result<(), RenderError> {
        if views.len() != self.views as usize {
            return Err(RenderError::Invalid(format!(
                "{} views given to a {}-view renderer",
                views.len(),
                self.views
            )));
        }
        let mut u = FrameUniform {
            view_proj: [[0.0; 16]; 2],
            eye: [[0.0; 4]; 2],
            light_dir: [[0.0; 4]; 3],
            light_color: [[0.0; 4]; 3],
            ambient: self.lighting.ambient.extend(1.0).to_array(),
        };
        for (k, v) in views.iter().enumerate() {
            u.view_proj[k] = v.view_proj.to_cols_array();
            u.eye[k] = v.eye.extend(1.0).to_array();
        }
        for (k, (dir, colour)) in self.lighting.lights.iter().enumerate() {
            u.light_dir[k] = dir.normalize_or(-Vec3::Y).extend(0.0).to_array();
            u.light_color[k] = colour.extend(1.0).to_array();
        }
        self.uniform.write(as_bytes(&u));
        let d = &self.ctx.device;
        let clear = [
            vk::ClearValue {
                color: vk::ClearColorValue {
                    float32: self.background,
                },
            },
            vk::ClearValue {
                depth_stencil: vk::ClearDepthStencilValue {
                    depth: 1.0,
                    stencil: 0,
                },
            },
        ];
        let begin = vk::RenderPassBeginInfo::default()
            .render_pass(self.render_pass)
            .framebuffer(framebuffer)
            .render_area(vk::Rect2D {
                offset: vk::Offset2D { x: 0, y: 0 },
                extent,
            })
            .clear_values(&clear);
        let viewport = [vk::Viewport {
            x: 0.0,
            y: 0.0,
            width: extent.width as f32,
            height: extent.height as f32,
            min_depth: 0.0,
            max_depth: 1.0,
        }];
        let scissor = [vk::Rect2D {
            offset: vk::Offset2D { x: 0, y: 0 },
            extent,
        }];
        // SAFETY: cmd is recording; every handle belongs to this device and outlives the submission.
        unsafe {
            d.cmd_begin_render_pass(cmd, &begin, vk::SubpassContents::INLINE);
            d.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::GRAPHICS, self.pipeline);
            d.cmd_set_viewport(cmd, 0, &viewport);
            d.cmd_set_scissor(cmd, 0, &scissor);
            d.cmd_bind_descriptor_sets(
                cmd,
                vk::PipelineBindPoint::GRAPHICS,
                self.pipeline_layout,
                0,
                &[self.descriptor_set],
                &[],
            );
            let mut bound = self.pipeline;
            for m in &self.meshes {
                let pipeline = if m.skin.is_some() {
                    self.pipeline_skinned
                } else {
                    self.pipeline
                };
                if pipeline != bound {
                    d.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::GRAPHICS, pipeline);
                    bound = pipeline;
                }
                let push = DrawPush {
                    model: (self.placement * m.model).to_cols_array(),
                    base_color: m.material.base_color,
                    params: [
                        m.material.roughness,
                        m.material.metallic,
                        m.material.subsurface,
                        m.skin.as_ref().map_or(0.0, |(_, base)| *base as f32),
                    ],
                    coat: [
                        m.material.clearcoat,
                        m.material.clearcoat_roughness,
                        m.material.alpha_cutoff,
                        0.0,
                    ],
                };
                d.cmd_push_constants(
                    cmd,
                    self.pipeline_layout,
                    vk::ShaderStageFlags::VERTEX | vk::ShaderStageFlags::FRAGMENT,
                    0,
                    as_bytes(&push),
                );
                match &m.skin {
                    Some((skin, _)) => d.cmd_bind_vertex_buffers(
                        cmd,
                        0,
                        &[m.vertices.buffer, skin.buffer, m.uvs.buffer],
                        &[0, 0, 0],
                    ),
                    None => {
                        d.cmd_bind_vertex_buffers(cmd, 0, &[m.vertices.buffer], &[0]);
                        d.cmd_bind_vertex_buffers(cmd, 2, &[m.uvs.buffer], &[0]);
                    }
                }
                self.draw_indexed(cmd, m);
            }
            for p in self.panels.iter().flatten() {
                let m = &p.mesh;
                d.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::GRAPHICS, self.pipeline);
                let push = DrawPush {
                    // In the world, not on the avatar.
                    model: m.model.to_cols_array(),
                    base_color: m.material.base_color,
                    params: [m.material.roughness, 0.0, 0.0, 0.0],
                    coat: [0.0; 4],
                };
                d.cmd_push_constants(
                    cmd,
                    self.pipeline_layout,
                    vk::ShaderStageFlags::VERTEX | vk::ShaderStageFlags::FRAGMENT,
                    0,
                    as_bytes(&push),
                );
                d.cmd_bind_vertex_buffers(cmd, 0, &[m.vertices.buffer], &[0]);
                d.cmd_bind_vertex_buffers(cmd, 2, &[m.uvs.buffer], &[0]);
                self.draw_indexed(cmd, m);
            }
            d.cmd_end_render_pass(cmd);
        }
        Ok(())
    }

    /// Binds a mesh's textures and indices and draws it (its vertices and push constants already bound).
    ///
    /// # Safety
    /// `cmd` is recording inside this renderer's pass.
    unsafe fn draw_indexed(&self, cmd: vk::CommandBuffer, m: &GpuMesh) {
        let d = &self.ctx.device;
        // SAFETY: the caller records inside the pass; the mesh's buffers and set outlive the submission.
        unsafe {
            d.cmd_bind_descriptor_sets(
                cmd,
                vk::PipelineBindPoint::GRAPHICS,
                self.pipeline_layout,
                1,
                &[m.textures],
                &[],
            );
            d.cmd_bind_index_buffer(cmd, m.indices.buffer, 0, vk::IndexType::UINT32);
            d.cmd_draw_indexed(cmd, m.index_count, 1, 0, 0, 0);
        }
    }

    /// A framebuffer for this renderer's pass: a colour view with one layer per view (a 2D array for stereo)
    /// and a depth image from [`Renderer::depth_image`]. The caller destroys it.
    pub fn framebuffer(
        &self,
        color: vk::ImageView,
        depth: &Image,
        extent: vk::Extent2D,
    ) -> Result<vk::Framebuffer, RenderError> {
        let attachments = [color, depth.view];
        let info = vk::FramebufferCreateInfo::default()
            .render_pass(self.render_pass)
            .attachments(&attachments)
            .width(extent.width)
            .height(extent.height)
            // Multiview: the views are the layers of each attachment, the framebuffer has one.
            .layers(1);
        // SAFETY: the views are compatible with the render pass.
        unsafe { self.ctx.device.create_framebuffer(&info, None) }
            .map_err(RenderError::vk("creating a framebuffer"))
    }

    /// A depth image for a target of this size.
    pub fn depth_image(&self, extent: vk::Extent2D) -> Result<Image, RenderError> {
        Image::new(
            &self.ctx,
            DEPTH_FORMAT,
            extent,
            self.views,
            vk::ImageUsageFlags::DEPTH_STENCIL_ATTACHMENT,
            vk::ImageAspectFlags::DEPTH,
        )
    }
}

fn write_vertices(buffer: &mut Buffer, positions: &[Vec3], normals: &[Vec3]) {
    let mut bytes = Vec::with_capacity(positions.len() * 24);
    for (p, n) in positions.iter().zip(normals) {
        for f in p.to_array().into_iter().chain(n.to_array()) {
            bytes.extend_from_slice(&f.to_le_bytes());
        }
    }
    buffer.write(&bytes);
}

fn create_pipeline(
    d: &ash::Device,
    render_pass: vk::RenderPass,
    layout: vk::PipelineLayout,
    skinned: bool,
) -> Result<vk::Pipeline, RenderError> {
    let module = |spv: &[u8]| -> Result<vk::ShaderModule, RenderError> {
        let words = ash::util::read_spv(&mut std::io::Cursor::new(spv))
            .map_err(|e| RenderError::Invalid(format!("bad SPIR-V: {e}")))?;
        // SAFETY: words are SPIR-V compiled by glslc at build time.
        unsafe { d.create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&words), None) }
            .map_err(RenderError::vk("creating a shader module"))
    };
    let vert = module(if skinned { VERT_SKINNED } else { VERT })?;
    let frag = module(FRAG)?;
    let stages = [
        vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::VERTEX)
            .module(vert)
            .name(c"main"),
        vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::FRAGMENT)
            .module(frag)
            .name(c"main"),
    ];
    let bindings = [
        vk::VertexInputBindingDescription {
            binding: 0,
            stride: 24,
            input_rate: vk::VertexInputRate::VERTEX,
        },
        // Joints (4 × u16) and weights (4 × f32) of skinned meshes.
        vk::VertexInputBindingDescription {
            binding: 1,
            stride: 24,
            input_rate: vk::VertexInputRate::VERTEX,
        },
        // Texture coordinates: they never change, so they live apart from the per-frame vertices.
        vk::VertexInputBindingDescription {
            binding: 2,
            stride: 8,
            input_rate: vk::VertexInputRate::VERTEX,
        },
    ];
    let attributes = [
        vk::VertexInputAttributeDescription {
            location: 0,
            binding: 0,
            format: vk::Format::R32G32B32_SFLOAT,
            offset: 0,
        },
        vk::VertexInputAttributeDescription {
            location: 1,
            binding: 0,
            format: vk::Format::R32G32B32_SFLOAT,
            offset: 12,
        },
        vk::VertexInputAttributeDescription {
            location: 2,
            binding: 1,
            format: vk::Format::R16G16B16A16_UINT,
            offset: 0,
        },
        vk::VertexInputAttributeDescription {
            location: 3,
            binding: 1,
            format: vk::Format::R32G32B32A32_SFLOAT,
            offset: 8,
        },
        vk::VertexInputAttributeDescription {
            location: 4,
            binding: 2,
            format: vk::Format::R32G32_SFLOAT,
            offset: 0,
        },
    ];
    let (bindings, attributes): (Vec<_>, Vec<_>) = if skinned {
        (bindings.to_vec(), attributes.to_vec())
    } else {
        (
            vec![bindings[0], bindings[2]],
            vec![attributes[0], attributes[1], attributes[4]],
        )
    };
    let vertex_input = vk::PipelineVertexInputStateCreateInfo::default()
        .vertex_binding_descriptions(&bindings)
        .vertex_attribute_descriptions(&attributes);
    let assembly = vk::PipelineInputAssemblyStateCreateInfo::default()
        .topology(vk::PrimitiveTopology::TRIANGLE_LIST);
    let viewport = vk::PipelineViewportStateCreateInfo::default()
        .viewport_count(1)
        .scissor_count(1);
    // No culling: scans and generated meshes do not all agree on winding, and lashes are seen from both sides.
    let raster = vk::PipelineRasterizationStateCreateInfo::default()
        .polygon_mode(vk::PolygonMode::FILL)
        .cull_mode(vk::CullModeFlags::NONE)
        .front_face(vk::FrontFace::COUNTER_CLOCKWISE)
        .line_width(1.0);
    let multisample = vk::PipelineMultisampleStateCreateInfo::default()
        .rasterization_samples(vk::SampleCountFlags::TYPE_1);
    let depth = vk::PipelineDepthStencilStateCreateInfo::default()
        .depth_test_enable(true)
        .depth_write_enable(true)
        .depth_compare_op(vk::CompareOp::LESS);
    let blend_attachments = [vk::PipelineColorBlendAttachmentState::default()
        .color_write_mask(vk::ColorComponentFlags::RGBA)
        .blend_enable(false)];
    let blend = vk::PipelineColorBlendStateCreateInfo::default().attachments(&blend_attachments);
    let dynamic_states = [vk::DynamicState::VIEWPORT, vk::DynamicState::SCISSOR];
    let dynamic = vk::PipelineDynamicStateCreateInfo::default().dynamic_states(&dynamic_states);
    let info = vk::GraphicsPipelineCreateInfo::default()
        .stages(&stages)
        .vertex_input_state(&vertex_input)
        .input_assembly_state(&assembly)
        .viewport_state(&viewport)
        .rasterization_state(&raster)
        .multisample_state(&multisample)
        .depth_stencil_state(&depth)
        .color_blend_state(&blend)
        .dynamic_state(&dynamic)
        .layout(layout)
        .render_pass(render_pass)
        .subpass(0);
    // SAFETY: every referenced state lives until this call returns.
    let result = unsafe { d.create_graphics_pipelines(vk::PipelineCache::null(), &[info], None) };
    // SAFETY: the modules are only needed while the pipeline is created.
    unsafe {
        d.destroy_shader_module(vert, None);
        d.destroy_shader_module(frag, None);
    }
    result.map(|p| p[0]).map_err(|(_, e)| RenderError::Vulkan {
        what: "creating the pipeline",
        result: e,
    })
}

impl Drop for Renderer {
    fn drop(&mut self) {
        // SAFETY: waiting is always valid; a window's last frame may still be drawing from these buffers.
        let _ = unsafe { self.ctx.device.device_wait_idle() };
        self.clear_meshes();
        for slot in 0..self.panels.len() {
            self.drop_panel(slot);
        }
        self.uniform.destroy(&self.ctx);
        self.joints.destroy(&self.ctx);
        self.white.destroy(&self.ctx);
        let d = &self.ctx.device;
        // SAFETY: the device is idle for everything this renderer recorded (targets wait on their frames).
        unsafe {
            let _ = d.device_wait_idle();
            d.destroy_descriptor_pool(self.descriptor_pool, None);
            d.destroy_pipeline(self.pipeline, None);
            d.destroy_pipeline(self.pipeline_skinned, None);
            d.destroy_pipeline_layout(self.pipeline_layout, None);
            d.destroy_descriptor_set_layout(self.set_layout, None);
            d.destroy_descriptor_set_layout(self.texture_layout, None);
            d.destroy_sampler(self.sampler, None);
            d.destroy_render_pass(self.render_pass, None);
        }
    }
}
