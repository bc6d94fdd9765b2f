//! Panels: flat pictures in the world (captions, the state cue), each a textured unit quad in a slot the
//! caller numbers, drawn unlit after the avatar.

use super::Renderer;
use super::data::{Material, PanelData, TextureData};
use super::meshes::{GpuMesh, write_vertices};
use crate::RenderError;
use crate::memory::{Buffer, Image};
use crate::textures;
use ash::vk;
use glam::{Mat4, Vec3};

/// `params.x` below zero tells the fragment shader a surface is unlit (its texture as it is).
const UNLIT: f32 = -1.0;

pub(super) struct GpuPanel {
    pub(super) mesh: GpuMesh,
    image: Image,
    pool: vk::DescriptorPool,
}

impl Renderer {
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
        let (pool, image, set) = self.panel_texture(&panel.image)?;
        let mesh = self.quad(panel.world, set)?;
        if self.panels.len() <= slot {
            self.panels.resize_with(slot + 1, || None);
        }
        self.panels[slot] = Some(GpuPanel { mesh, image, pool });
        Ok(())
    }

    /// Moves the panel in `slot` (no upload).
    pub fn move_panel(&mut self, slot: usize, world: Mat4) {
        if let Some(Some(p)) = self.panels.get_mut(slot) {
            p.mesh.model = world;
        }
    }

    /// Frees the panel in `slot`, if any. The device must be idle.
    pub(super) fn drop_panel(&mut self, slot: usize) {
        if let Some(mut p) = self.panels.get_mut(slot).and_then(Option::take) {
            p.mesh.vertices.destroy(&self.ctx);
            p.mesh.indices.destroy(&self.ctx);
            p.mesh.uvs.destroy(&self.ctx);
            p.image.destroy(&self.ctx);
            // SAFETY: the device is idle (set_panel, drop).
            unsafe { self.ctx.device.destroy_descriptor_pool(p.pool, None) };
        }
    }

    /// The panel's picture on the GPU and its own pool and set (white for the data texture).
    fn panel_texture(
        &self,
        picture: &TextureData,
    ) -> Result<(vk::DescriptorPool, Image, vk::DescriptorSet), RenderError> {
        let d = &self.ctx.device;
        let pool = textures::pool(d, 1)?;
        let image = textures::upload(&self.ctx, picture, vk::Format::R8G8B8A8_SRGB);
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
        match set {
            Ok((image, set)) => Ok((pool, image, set)),
            Err(e) => {
                // SAFETY: nothing uses the pool yet.
                unsafe { d.destroy_descriptor_pool(pool, None) };
                Err(e)
            }
        }
    }

    /// The unit quad (facing +Z, the picture upright) placed by `world`, sampling `textures`.
    fn quad(&self, world: Mat4, textures: vk::DescriptorSet) -> Result<GpuMesh, RenderError> {
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
        Ok(GpuMesh {
            vertices,
            indices,
            index_count: 6,
            vertex_count: 4,
            material: Material::plain([1.0; 4], UNLIT, 0.0),
            model: world,
            version: None,
            skin: None,
            uvs,
            textures,
        })
    }
}
