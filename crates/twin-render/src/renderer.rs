//! The renderer: one render pass and pipeline (multiview: every view in one pass), the avatar's meshes on the
//! GPU, and a frame's commands. What it draws into is a [`crate::RenderTarget`].
//!
//! Its parts: `data` the plain data callers pass, `pass` and `pipeline` the fixed Vulkan objects, `frame`
//! set 0 (uniforms, joint matrices), `meshes` and `panels` what is drawn, `record` a frame's commands.

mod data;
mod frame;
mod meshes;
mod panels;
mod pass;
mod pipeline;
mod record;

pub use data::{Lighting, Material, MeshData, PanelData, SkinData, TextureData, View};
pub use pass::DEPTH_FORMAT;

use crate::RenderError;
use crate::context::GpuContext;
use crate::memory::{Buffer, Image};
use crate::textures;
use ash::vk;
use glam::Mat4;
use meshes::GpuMesh;
use panels::GpuPanel;
use std::sync::Arc;

/// Largest number of views in one pass (two eyes).
pub const MAX_VIEWS: usize = 2;
/// Joint matrices the GPU skinning buffer holds (every skin of the avatar together).
pub const MAX_JOINTS: usize = 512;

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
        let render_pass = pass::create(d, format, views, final_layout)?;
        let set_layout = frame::set_layout(d)?;
        let texture_layout = textures::set_layout(d)?;
        let sampler = textures::sampler(d)?;
        let pipeline_layout = pipeline::layout(d, &[set_layout, texture_layout])?;
        let pipeline = pipeline::create(d, render_pass, pipeline_layout, false)?;
        let pipeline_skinned = pipeline::create(d, render_pass, pipeline_layout, true)?;
        let (descriptor_pool, descriptor_set) = frame::allocate_set(d, set_layout)?;
        let uniform = Buffer::host(
            &ctx,
            std::mem::size_of::<frame::FrameUniform>() as u64,
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
        frame::bind_buffers(d, descriptor_set, &uniform, &joints);
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
