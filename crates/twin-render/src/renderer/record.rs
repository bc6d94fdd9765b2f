//! A frame's commands: the uniform block written, then one pass over the target's framebuffer drawing the
//! avatar's meshes (plain or skinned pipeline) and after them the panels.

use super::Renderer;
use super::data::View;
use super::frame::FrameUniform;
use super::meshes::GpuMesh;
use crate::RenderError;
use ash::vk;

/// The push constants of one draw, as the shaders declare them.
#[repr(C)]
#[derive(Clone, Copy)]
pub(super) struct DrawPush {
    model: [f32; 16],
    base_color: [f32; 4],
    params: [f32; 4],
    coat: [f32; 4],
}

fn as_bytes<T: Copy>(v: &T) -> &[u8] {
    // SAFETY: T is a plain #[repr(C)] value of f32s without padding.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), std::mem::size_of::<T>()) }
}

impl Renderer {
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
        let u = FrameUniform::new(views, &self.lighting);
        self.uniform.write(as_bytes(&u));
        // SAFETY: cmd is recording; every handle belongs to this device and outlives the submission.
        unsafe {
            self.begin_pass(cmd, framebuffer, extent);
            self.draw_meshes(cmd);
            self.draw_panels(cmd);
            self.ctx.device.cmd_end_render_pass(cmd);
        }
        Ok(())
    }

    /// Begins the pass (cleared to the background) with the plain pipeline, the whole target as viewport and
    /// set 0 bound.
    ///
    /// # Safety
    /// `cmd` is recording, outside a pass.
    unsafe fn begin_pass(
        &self,
        cmd: vk::CommandBuffer,
        framebuffer: vk::Framebuffer,
        extent: vk::Extent2D,
    ) {
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
        let area = vk::Rect2D {
            offset: vk::Offset2D { x: 0, y: 0 },
            extent,
        };
        let begin = vk::RenderPassBeginInfo::default()
            .render_pass(self.render_pass)
            .framebuffer(framebuffer)
            .render_area(area)
            .clear_values(&clear);
        let viewport = [vk::Viewport {
            x: 0.0,
            y: 0.0,
            width: extent.width as f32,
            height: extent.height as f32,
            min_depth: 0.0,
            max_depth: 1.0,
        }];
        // SAFETY: the caller's cmd is recording; the framebuffer belongs to this renderer's pass.
        unsafe {
            d.cmd_begin_render_pass(cmd, &begin, vk::SubpassContents::INLINE);
            d.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::GRAPHICS, self.pipeline);
            d.cmd_set_viewport(cmd, 0, &viewport);
            d.cmd_set_scissor(cmd, 0, &[area]);
            d.cmd_bind_descriptor_sets(
                cmd,
                vk::PipelineBindPoint::GRAPHICS,
                self.pipeline_layout,
                0,
                &[self.descriptor_set],
                &[],
            );
        }
    }

    /// The avatar's meshes, placed in the world, switching pipeline only where skinning changes.
    ///
    /// # Safety
    /// `cmd` is recording inside this renderer's pass with the plain pipeline bound.
    unsafe fn draw_meshes(&self, cmd: vk::CommandBuffer) {
        let d = &self.ctx.device;
        let mut bound = self.pipeline;
        for m in &self.meshes {
            let pipeline = if m.skin.is_some() {
                self.pipeline_skinned
            } else {
                self.pipeline
            };
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
            // SAFETY: as the caller promises; the mesh's buffers outlive the submission.
            unsafe {
                if pipeline != bound {
                    d.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::GRAPHICS, pipeline);
                    bound = pipeline;
                }
                self.push(cmd, &push);
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
        }
    }

    /// The panels, unlit, with the plain pipeline.
    ///
    /// # Safety
    /// `cmd` is recording inside this renderer's pass.
    unsafe fn draw_panels(&self, cmd: vk::CommandBuffer) {
        let d = &self.ctx.device;
        for p in self.panels.iter().flatten() {
            let m = &p.mesh;
            let push = DrawPush {
                // In the world, not on the avatar.
                model: m.model.to_cols_array(),
                base_color: m.material.base_color,
                params: [m.material.roughness, 0.0, 0.0, 0.0],
                coat: [0.0; 4],
            };
            // SAFETY: as the caller promises; the panel's buffers outlive the submission.
            unsafe {
                d.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::GRAPHICS, self.pipeline);
                self.push(cmd, &push);
                d.cmd_bind_vertex_buffers(cmd, 0, &[m.vertices.buffer], &[0]);
                d.cmd_bind_vertex_buffers(cmd, 2, &[m.uvs.buffer], &[0]);
                self.draw_indexed(cmd, m);
            }
        }
    }

    /// Sets one draw's push constants.
    ///
    /// # Safety
    /// `cmd` is recording.
    unsafe fn push(&self, cmd: vk::CommandBuffer, push: &DrawPush) {
        // SAFETY: as the caller promises; the layout declares this range for both stages.
        unsafe {
            self.ctx.device.cmd_push_constants(
                cmd,
                self.pipeline_layout,
                vk::ShaderStageFlags::VERTEX | vk::ShaderStageFlags::FRAGMENT,
                0,
                as_bytes(push),
            );
        }
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
}
