//! Buffers and images with their memory. Host-visible buffers keep per-frame uploads simple (the avatar's
//! posed vertices change every frame); images live in device memory.

use crate::RenderError;
use crate::context::GpuContext;
use ash::vk;

pub struct Buffer {
    pub buffer: vk::Buffer,
    memory: vk::DeviceMemory,
    pub size: u64,
    mapped: *mut u8,
}

// SAFETY: the mapping is only written through &mut self and the buffer's GPU use is fenced by its owner.
unsafe impl Send for Buffer {}

impl Buffer {
    /// A buffer the CPU writes and the GPU reads (or the reverse, for readback).
    pub fn host(
        ctx: &GpuContext,
        size: u64,
        usage: vk::BufferUsageFlags,
    ) -> Result<Buffer, RenderError> {
        let d = &ctx.device;
        let info = vk::BufferCreateInfo::default()
            .size(size.max(4))
            .usage(usage)
            .sharing_mode(vk::SharingMode::EXCLUSIVE);
        // SAFETY: valid device and create info; destroyed in `destroy`.
        let buffer = unsafe { d.create_buffer(&info, None) }
            .map_err(RenderError::vk("creating a buffer"))?;
        // SAFETY: the buffer was just created on this device.
        let req = unsafe { d.get_buffer_memory_requirements(buffer) };
        let kind = ctx.memory_type(
            req.memory_type_bits,
            vk::MemoryPropertyFlags::HOST_VISIBLE | vk::MemoryPropertyFlags::HOST_COHERENT,
        )?;
        let alloc = vk::MemoryAllocateInfo::default()
            .allocation_size(req.size)
            .memory_type_index(kind);
        // SAFETY: as above; the memory is freed in `destroy`.
        let memory = unsafe { d.allocate_memory(&alloc, None) }
            .map_err(RenderError::vk("allocating buffer memory"))?;
        // SAFETY: fresh memory of a fitting type, bound once, mapped once for the buffer's life.
        let mapped = unsafe {
            d.bind_buffer_memory(buffer, memory, 0)
                .and_then(|()| d.map_memory(memory, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty()))
        }
        .map_err(RenderError::vk("mapping buffer memory"))? as *mut u8;
        Ok(Buffer {
            buffer,
            memory,
            size: size.max(4),
            mapped,
        })
    }

    pub fn write(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.size as usize);
        // SAFETY: the mapping covers `size` bytes and n <= size.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.mapped, n) };
    }

    pub fn read(&self, len: usize) -> Vec<u8> {
        let n = len.min(self.size as usize);
        let mut out = vec![0u8; n];
        // SAFETY: as above.
        unsafe { std::ptr::copy_nonoverlapping(self.mapped, out.as_mut_ptr(), n) };
        out
    }

    pub fn destroy(&mut self, ctx: &GpuContext) {
        // SAFETY: the owner guarantees the GPU is done with it.
        unsafe {
            ctx.device.unmap_memory(self.memory);
            ctx.device.destroy_buffer(self.buffer, None);
            ctx.device.free_memory(self.memory, None);
        }
    }
}

pub struct Image {
    pub image: vk::Image,
    pub view: vk::ImageView,
    memory: vk::DeviceMemory,
}

impl Image {
    /// A 2D image with `layers` array layers (one per view) and a view of all of them.
    pub fn new(
        ctx: &GpuContext,
        format: vk::Format,
        extent: vk::Extent2D,
        layers: u32,
        usage: vk::ImageUsageFlags,
        aspect: vk::ImageAspectFlags,
    ) -> Result<Image, RenderError> {
        let d = &ctx.device;
        let info = vk::ImageCreateInfo::default()
            .image_type(vk::ImageType::TYPE_2D)
            .format(format)
            .extent(vk::Extent3D {
                width: extent.width,
                height: extent.height,
                depth: 1,
            })
            .mip_levels(1)
            .array_layers(layers)
            .samples(vk::SampleCountFlags::TYPE_1)
            .tiling(vk::ImageTiling::OPTIMAL)
            .usage(usage)
            .initial_layout(vk::ImageLayout::UNDEFINED);
        // SAFETY: valid create info; destroyed in `destroy`.
        let image =
            unsafe { d.create_image(&info, None) }.map_err(RenderError::vk("creating an image"))?;
        // SAFETY: the image was just created on this device.
        let req = unsafe { d.get_image_memory_requirements(image) };
        let kind = ctx.memory_type(req.memory_type_bits, vk::MemoryPropertyFlags::DEVICE_LOCAL)?;
        let alloc = vk::MemoryAllocateInfo::default()
            .allocation_size(req.size)
            .memory_type_index(kind);
        // SAFETY: as above.
        let memory = unsafe { d.allocate_memory(&alloc, None) }
            .map_err(RenderError::vk("allocating image memory"))?;
        // SAFETY: fresh memory of a fitting type.
        unsafe { d.bind_image_memory(image, memory, 0) }
            .map_err(RenderError::vk("binding image memory"))?;
        let view_info = vk::ImageViewCreateInfo::default()
            .image(image)
            .view_type(if layers > 1 {
                vk::ImageViewType::TYPE_2D_ARRAY
            } else {
                vk::ImageViewType::TYPE_2D
            })
            .format(format)
            .subresource_range(vk::ImageSubresourceRange {
                aspect_mask: aspect,
                base_mip_level: 0,
                level_count: 1,
                base_array_layer: 0,
                layer_count: layers,
            });
        // SAFETY: the view covers the image's own layers.
        let view = unsafe { d.create_image_view(&view_info, None) }
            .map_err(RenderError::vk("creating an image view"))?;
        Ok(Image {
            image,
            view,
            memory,
        })
    }

    pub fn destroy(&mut self, ctx: &GpuContext) {
        // SAFETY: the owner guarantees the GPU is done with it.
        unsafe {
            ctx.device.destroy_image_view(self.view, None);
            ctx.device.destroy_image(self.image, None);
            ctx.device.free_memory(self.memory, None);
        }
    }
}
