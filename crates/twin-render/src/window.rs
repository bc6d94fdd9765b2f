//! A desktop window as a render target: a swapchain on the window's surface, one depth image, and the frame's
//! acquire → draw → present with its semaphores and fence. The renderer draws into it as into any target.

use crate::RenderError;
use crate::context::GpuContext;
use crate::memory::Image;
use crate::renderer::{Renderer, View};
use ash::vk;
use std::sync::Arc;

pub struct WindowTarget {
    ctx: Arc<GpuContext>,
    surface_loader: ash::khr::surface::Instance,
    swapchain_loader: ash::khr::swapchain::Device,
    surface: vk::SurfaceKHR,
    swapchain: vk::SwapchainKHR,
    /// The colour format the renderer must be made for.
    pub format: vk::Format,
    pub extent: vk::Extent2D,
    views: Vec<vk::ImageView>,
    framebuffers: Vec<vk::Framebuffer>,
    depth: Option<Image>,
    cmd: vk::CommandBuffer,
    acquired: vk::Semaphore,
    /// One per swapchain image: presentation waits on the one of its image.
    rendered: Vec<vk::Semaphore>,
    in_flight: vk::Fence,
}

impl WindowTarget {
    /// Takes ownership of `surface` (from [`GpuContext::for_window`]) and picks its colour format: an sRGB one.
    pub fn new(ctx: Arc<GpuContext>, surface: vk::SurfaceKHR) -> Result<WindowTarget, RenderError> {
        let surface_loader = ash::khr::surface::Instance::new(&ctx.entry, &ctx.instance);
        let swapchain_loader = ash::khr::swapchain::Device::new(&ctx.instance, &ctx.device);
        // SAFETY: the surface and physical device come from this instance.
        let formats =
            unsafe { surface_loader.get_physical_device_surface_formats(ctx.physical, surface) }
                .map_err(RenderError::vk("listing the window's formats"))?;
        let format = [vk::Format::B8G8R8A8_SRGB, vk::Format::R8G8B8A8_SRGB]
            .into_iter()
            .find(|f| formats.iter().any(|s| s.format == *f))
            .ok_or_else(|| {
                RenderError::Invalid(format!(
                    "the window offers no sRGB format (it has {:?})",
                    formats.iter().map(|f| f.format).collect::<Vec<_>>()
                ))
            })?;
        let d = &ctx.device;
        let info = vk::CommandBufferAllocateInfo::default()
            .command_pool(ctx.command_pool)
            .level(vk::CommandBufferLevel::PRIMARY)
            .command_buffer_count(1);
        // SAFETY: valid device and pool; everything is destroyed in Drop.
        let (cmd, acquired, in_flight) = unsafe {
            (
                d.allocate_command_buffers(&info)
                    .map_err(RenderError::vk("allocating a command buffer"))?[0],
                d.create_semaphore(&vk::SemaphoreCreateInfo::default(), None)
                    .map_err(RenderError::vk("creating a semaphore"))?,
                d.create_fence(
                    &vk::FenceCreateInfo::default().flags(vk::FenceCreateFlags::SIGNALED),
                    None,
                )
                .map_err(RenderError::vk("creating a fence"))?,
            )
        };
        Ok(WindowTarget {
            ctx,
            surface_loader,
            swapchain_loader,
            surface,
            swapchain: vk::SwapchainKHR::null(),
            format,
            extent: vk::Extent2D::default(),
            views: Vec::new(),
            framebuffers: Vec::new(),
            depth: None,
            cmd,
            acquired,
            rendered: Vec::new(),
            in_flight,
        })
    }

    /// (Re)creates the swapchain for the window's size, `width`×`height` where the surface leaves it to us.
    pub fn configure(
        &mut self,
        renderer: &Renderer,
        width: u32,
        height: u32,
    ) -> Result<(), RenderError> {
        let ctx = self.ctx.clone();
        // SAFETY: nothing of the old swapchain may be in use while it is replaced.
        unsafe { ctx.device.device_wait_idle() }.map_err(RenderError::vk("waiting for the GPU"))?;
        // SAFETY: surface and physical device from this instance.
        let caps = unsafe {
            self.surface_loader
                .get_physical_device_surface_capabilities(ctx.physical, self.surface)
        }
        .map_err(RenderError::vk("reading the window's capabilities"))?;
        let extent = if caps.current_extent.width != u32::MAX {
            caps.current_extent
        } else {
            vk::Extent2D {
                width: width.clamp(caps.min_image_extent.width, caps.max_image_extent.width),
                height: height.clamp(caps.min_image_extent.height, caps.max_image_extent.height),
            }
        };
        self.destroy_swapchain_parts();
        if extent.width == 0 || extent.height == 0 {
            // Minimized: nothing to draw into until it is restored.
            self.extent = extent;
            return Ok(());
        }
        let mut count = caps.min_image_count + 1;
        if caps.max_image_count > 0 {
            count = count.min(caps.max_image_count);
        }
        let old = self.swapchain;
        let info = vk::SwapchainCreateInfoKHR::default()
            .surface(self.surface)
            .min_image_count(count)
            .image_format(self.format)
            .image_color_space(vk::ColorSpaceKHR::SRGB_NONLINEAR)
            .image_extent(extent)
            .image_array_layers(1)
            .image_usage(vk::ImageUsageFlags::COLOR_ATTACHMENT)
            .image_sharing_mode(vk::SharingMode::EXCLUSIVE)
            .pre_transform(caps.current_transform)
            .composite_alpha(vk::CompositeAlphaFlagsKHR::OPAQUE)
            // FIFO is always there and paces frames to the display.
            .present_mode(vk::PresentModeKHR::FIFO)
            .clipped(true)
            .old_swapchain(old);
        // SAFETY: valid create info; the old swapchain is retired below.
        self.swapchain = unsafe { self.swapchain_loader.create_swapchain(&info, None) }
            .map_err(RenderError::vk("creating the swapchain"))?;
        if old != vk::SwapchainKHR::null() {
            // SAFETY: the device is idle; the old swapchain was replaced.
            unsafe { self.swapchain_loader.destroy_swapchain(old, None) };
        }
        self.extent = extent;
        // SAFETY: the swapchain is valid.
        let images = unsafe { self.swapchain_loader.get_swapchain_images(self.swapchain) }
            .map_err(RenderError::vk("reading the swapchain images"))?;
        let depth = renderer.depth_image(extent)?;
        for image in images {
            let view_info = vk::ImageViewCreateInfo::default()
                .image(image)
                .view_type(vk::ImageViewType::TYPE_2D)
                .format(self.format)
                .subresource_range(vk::ImageSubresourceRange {
                    aspect_mask: vk::ImageAspectFlags::COLOR,
                    base_mip_level: 0,
                    level_count: 1,
                    base_array_layer: 0,
                    layer_count: 1,
                });
            // SAFETY: the image belongs to the swapchain; views are destroyed with it.
            let view = unsafe { ctx.device.create_image_view(&view_info, None) }
                .map_err(RenderError::vk("creating a view of a swapchain image"))?;
            self.views.push(view);
            self.framebuffers
                .push(renderer.framebuffer(view, &depth, extent)?);
            // SAFETY: valid device.
            self.rendered.push(
                unsafe {
                    ctx.device
                        .create_semaphore(&vk::SemaphoreCreateInfo::default(), None)
                }
                .map_err(RenderError::vk("creating a semaphore"))?,
            );
        }
        self.depth = Some(depth);
        Ok(())
    }

    /// Draws one frame and presents it. `Ok(false)`: the window changed size or is minimized; call
    /// [`WindowTarget::configure`] with its new size and draw again.
    pub fn render(&mut self, renderer: &mut Renderer, views: &[View]) -> Result<bool, RenderError> {
        if self.framebuffers.is_empty() {
            return Ok(false);
        }
        let d = &self.ctx.device;
        // SAFETY: the fence guards the command buffer and semaphores of the previous frame.
        unsafe { d.wait_for_fences(&[self.in_flight], true, u64::MAX) }
            .map_err(RenderError::vk("waiting for the last frame"))?;
        // SAFETY: the swapchain and semaphore are valid; the semaphore is unsignalled (its last wait completed).
        let index = match unsafe {
            self.swapchain_loader.acquire_next_image(
                self.swapchain,
                u64::MAX,
                self.acquired,
                vk::Fence::null(),
            )
        } {
            Ok((i, _suboptimal)) => i as usize,
            Err(vk::Result::ERROR_OUT_OF_DATE_KHR) => return Ok(false),
            Err(e) => {
                return Err(RenderError::Vulkan {
                    what: "acquiring a window image",
                    result: e,
                });
            }
        };
        // SAFETY: the previous use of cmd finished (fence waited).
        unsafe {
            d.reset_fences(&[self.in_flight])
                .and_then(|()| {
                    d.reset_command_buffer(self.cmd, vk::CommandBufferResetFlags::empty())
                })
                .and_then(|()| {
                    d.begin_command_buffer(self.cmd, &vk::CommandBufferBeginInfo::default())
                })
        }
        .map_err(RenderError::vk("recording a frame"))?;
        renderer.record(self.cmd, self.framebuffers[index], self.extent, views)?;
        // SAFETY: recording began above.
        unsafe { d.end_command_buffer(self.cmd) }.map_err(RenderError::vk("recording a frame"))?;
        let waits = [self.acquired];
        let stages = [vk::PipelineStageFlags::COLOR_ATTACHMENT_OUTPUT];
        let cmds = [self.cmd];
        let signals = [self.rendered[index]];
        let submit = [vk::SubmitInfo::default()
            .wait_semaphores(&waits)
            .wait_dst_stage_mask(&stages)
            .command_buffers(&cmds)
            .signal_semaphores(&signals)];
        // SAFETY: all handles valid; the fence is unsignalled.
        unsafe { d.queue_submit(self.ctx.queue, &submit, self.in_flight) }
            .map_err(RenderError::vk("submitting a frame"))?;
        let swapchains = [self.swapchain];
        let indices = [index as u32];
        let present = vk::PresentInfoKHR::default()
            .wait_semaphores(&signals)
            .swapchains(&swapchains)
            .image_indices(&indices);
        // SAFETY: the image was acquired and its rendering is signalled by `signals`.
        match unsafe {
            self.swapchain_loader
                .queue_present(self.ctx.queue, &present)
        } {
            Ok(false) => Ok(true),
            Ok(true) | Err(vk::Result::ERROR_OUT_OF_DATE_KHR) => Ok(false),
            Err(e) => Err(RenderError::Vulkan {
                what: "presenting",
                result: e,
            }),
        }
    }

    fn destroy_swapchain_parts(&mut self) {
        let d = &self.ctx.device;
        // SAFETY: callers wait for the device to be idle first.
        unsafe {
            for fb in self.framebuffers.drain(..) {
                d.destroy_framebuffer(fb, None);
            }
            for v in self.views.drain(..) {
                d.destroy_image_view(v, None);
            }
            for s in self.rendered.drain(..) {
                d.destroy_semaphore(s, None);
            }
        }
        if let Some(mut depth) = self.depth.take() {
            depth.destroy(&self.ctx);
        }
    }
}

impl Drop for WindowTarget {
    fn drop(&mut self) {
        // SAFETY: idle first; then everything this target made, the surface last.
        unsafe {
            let _ = self.ctx.device.device_wait_idle();
        }
        self.destroy_swapchain_parts();
        let d = &self.ctx.device;
        unsafe {
            self.swapchain_loader
                .destroy_swapchain(self.swapchain, None);
            d.destroy_semaphore(self.acquired, None);
            d.destroy_fence(self.in_flight, None);
            d.free_command_buffers(self.ctx.command_pool, &[self.cmd]);
            self.surface_loader.destroy_surface(self.surface, None);
        }
    }
}
