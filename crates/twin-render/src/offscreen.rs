//! An offscreen target: images the renderer draws into and the CPU reads back (tests, the headless demo, video
//! frames).

use crate::RenderError;
use crate::memory::{Buffer, Image};
use crate::renderer::{Renderer, View};
use ash::vk;

/// The colour format of offscreen images: 8-bit sRGB, so the linear shading is encoded on write.
pub const FORMAT: vk::Format = vk::Format::R8G8B8A8_SRGB;

/// One view's pixels: RGBA, 8 bits per channel, sRGB, rows top to bottom.
#[derive(Debug, Clone)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl Pixels {
    /// Writes the image as an RGBA PNG.
    pub fn write_png(&self, path: &std::path::Path) -> std::io::Result<()> {
        let file = std::fs::File::create(path)?;
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), self.width, self.height);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()
            .and_then(|mut w| w.write_image_data(&self.rgba))
            .map_err(std::io::Error::other)
    }
}

pub struct OffscreenTarget {
    pub extent: vk::Extent2D,
    color: Image,
    depth: Image,
    framebuffer: vk::Framebuffer,
    readback: Buffer,
    views: u32,
}

impl OffscreenTarget {
    /// A target for `renderer` (made with [`FORMAT`] and `TRANSFER_SRC_OPTIMAL` as its final layout).
    pub fn new(
        renderer: &Renderer,
        width: u32,
        height: u32,
    ) -> Result<OffscreenTarget, RenderError> {
        if !(1..=8192).contains(&width) || !(1..=8192).contains(&height) {
            return Err(RenderError::Invalid(format!(
                "{width}x{height} is not a renderable size"
            )));
        }
        let ctx = &renderer.ctx;
        let extent = vk::Extent2D { width, height };
        let color = Image::new(
            ctx,
            renderer.format,
            extent,
            renderer.views,
            vk::ImageUsageFlags::COLOR_ATTACHMENT | vk::ImageUsageFlags::TRANSFER_SRC,
            vk::ImageAspectFlags::COLOR,
        )?;
        let depth = renderer.depth_image(extent)?;
        // Destroyed in `destroy`.
        let framebuffer = renderer.framebuffer(color.view, &depth, extent)?;
        let readback = Buffer::host(
            ctx,
            (width * height * 4 * renderer.views) as u64,
            vk::BufferUsageFlags::TRANSFER_DST,
        )?;
        Ok(OffscreenTarget {
            extent,
            color,
            depth,
            framebuffer,
            readback,
            views: renderer.views,
        })
    }

    /// Renders one frame and reads every view back.
    pub fn render(
        &mut self,
        renderer: &mut Renderer,
        views: &[View],
    ) -> Result<Vec<Pixels>, RenderError> {
        self.submit(renderer, views, true)?;
        let layer = (self.extent.width * self.extent.height * 4) as usize;
        let bytes = self.readback.read(layer * self.views as usize);
        Ok(bytes
            .chunks_exact(layer)
            .map(|rgba| Pixels {
                width: self.extent.width,
                height: self.extent.height,
                rgba: rgba.to_vec(),
            })
            .collect())
    }

    /// Renders one frame and waits for it, reading nothing back (what a frame costs the GPU alone).
    pub fn draw(&mut self, renderer: &mut Renderer, views: &[View]) -> Result<(), RenderError> {
        self.submit(renderer, views, false)
    }

    fn submit(
        &mut self,
        renderer: &mut Renderer,
        views: &[View],
        copy: bool,
    ) -> Result<(), RenderError> {
        let ctx = renderer.ctx.clone();
        let mut recorded = Ok(());
        let (extent, framebuffer, image, buffer, layers) = (
            self.extent,
            self.framebuffer,
            self.color.image,
            self.readback.buffer,
            self.views,
        );
        ctx.one_shot(|cmd| {
            recorded = renderer.record(cmd, framebuffer, extent, views);
            if !copy {
                return;
            }
            let region = vk::BufferImageCopy::default()
                .buffer_offset(0)
                .image_subresource(vk::ImageSubresourceLayers {
                    aspect_mask: vk::ImageAspectFlags::COLOR,
                    mip_level: 0,
                    base_array_layer: 0,
                    layer_count: layers,
                })
                .image_extent(vk::Extent3D {
                    width: extent.width,
                    height: extent.height,
                    depth: 1,
                });
            // SAFETY: the pass left the image in TRANSFER_SRC_OPTIMAL; the buffer holds every layer.
            unsafe {
                ctx.device.cmd_copy_image_to_buffer(
                    cmd,
                    image,
                    vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
                    buffer,
                    &[region],
                )
            };
        })?;
        recorded
    }

    pub fn destroy(&mut self, renderer: &Renderer) {
        let ctx = &renderer.ctx;
        // SAFETY: `render` waits for its frame, so nothing is in flight.
        unsafe { ctx.device.destroy_framebuffer(self.framebuffer, None) };
        self.color.destroy(ctx);
        self.depth.destroy(ctx);
        self.readback.destroy(ctx);
    }
}
