//! Textures on the GPU, and the descriptor sets that pair them for a material: binding 0 its base colour
//! (sRGB), binding 1 its metallic-roughness (linear: green the roughness, blue the metal, as glTF has it). A
//! material without one samples a white texel there, which leaves its factors as they are.

use crate::RenderError;
use crate::context::GpuContext;
use crate::memory::{Buffer, Image};
use crate::renderer::TextureData;
use ash::vk;

/// The base colour's binding and the metallic-roughness one.
pub(crate) fn set_layout(d: &ash::Device) -> Result<vk::DescriptorSetLayout, RenderError> {
    let bindings = [0, 1].map(|binding| {
        vk::DescriptorSetLayoutBinding::default()
            .binding(binding)
            .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
            .descriptor_count(1)
            .stage_flags(vk::ShaderStageFlags::FRAGMENT)
    });
    // SAFETY: valid create info; the renderer destroys the layout in Drop.
    unsafe {
        d.create_descriptor_set_layout(
            &vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings),
            None,
        )
    }
    .map_err(RenderError::vk("creating the texture layout"))
}

/// A pool for `sets` pairs.
pub(crate) fn pool(d: &ash::Device, sets: u32) -> Result<vk::DescriptorPool, RenderError> {
    let sizes = [vk::DescriptorPoolSize {
        ty: vk::DescriptorType::COMBINED_IMAGE_SAMPLER,
        descriptor_count: sets * 2,
    }];
    // SAFETY: valid device; the caller destroys the pool after the frames that use its sets.
    unsafe {
        d.create_descriptor_pool(
            &vk::DescriptorPoolCreateInfo::default()
                .max_sets(sets)
                .pool_sizes(&sizes),
            None,
        )
    }
    .map_err(RenderError::vk("creating a texture pool"))
}

/// A set from `pool` holding `colour` and `data`.
pub(crate) fn pair(
    d: &ash::Device,
    pool: vk::DescriptorPool,
    layout: vk::DescriptorSetLayout,
    sampler: vk::Sampler,
    colour: &Image,
    data: &Image,
) -> Result<vk::DescriptorSet, RenderError> {
    let layouts = [layout];
    // SAFETY: the caller sized the pool for every set it allocates.
    let set = unsafe {
        d.allocate_descriptor_sets(
            &vk::DescriptorSetAllocateInfo::default()
                .descriptor_pool(pool)
                .set_layouts(&layouts),
        )
    }
    .map_err(RenderError::vk("allocating a texture's descriptor set"))?[0];
    let info = [colour, data].map(|image| {
        [vk::DescriptorImageInfo {
            sampler,
            image_view: image.view,
            image_layout: vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL,
        }]
    });
    let write = [0, 1].map(|k| {
        vk::WriteDescriptorSet::default()
            .dst_set(set)
            .dst_binding(k as u32)
            .descriptor_type(vk::DescriptorType::COMBINED_IMAGE_SAMPLER)
            .image_info(&info[k])
    });
    // SAFETY: the set and images are valid and not in use.
    unsafe { d.update_descriptor_sets(&write, &[]) };
    Ok(set)
}

/// One RGBA8 texture on the GPU, ready for sampling: `format` says whether it is sRGB-encoded (colour) or
/// linear (data).
pub(crate) fn upload(
    ctx: &GpuContext,
    t: &TextureData,
    format: vk::Format,
) -> Result<Image, RenderError> {
    let d = &ctx.device;
    if t.width == 0 || t.height == 0 || t.rgba.len() != (t.width * t.height * 4) as usize {
        return Err(RenderError::Invalid(format!(
            "a {}x{} texture with {} bytes",
            t.width,
            t.height,
            t.rgba.len()
        )));
    }
    let extent = vk::Extent2D {
        width: t.width,
        height: t.height,
    };
    let image = Image::new(
        ctx,
        format,
        extent,
        1,
        vk::ImageUsageFlags::SAMPLED | vk::ImageUsageFlags::TRANSFER_DST,
        vk::ImageAspectFlags::COLOR,
    )?;
    let mut staging = Buffer::host(ctx, t.rgba.len() as u64, vk::BufferUsageFlags::TRANSFER_SRC)?;
    staging.write(t.rgba);
    let range = vk::ImageSubresourceRange {
        aspect_mask: vk::ImageAspectFlags::COLOR,
        base_mip_level: 0,
        level_count: 1,
        base_array_layer: 0,
        layer_count: 1,
    };
    let copied = ctx.one_shot(|cmd| {
        let to_dst = vk::ImageMemoryBarrier::default()
            .old_layout(vk::ImageLayout::UNDEFINED)
            .new_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)
            .dst_access_mask(vk::AccessFlags::TRANSFER_WRITE)
            .image(image.image)
            .subresource_range(range);
        let region = vk::BufferImageCopy::default()
            .image_subresource(vk::ImageSubresourceLayers {
                aspect_mask: vk::ImageAspectFlags::COLOR,
                mip_level: 0,
                base_array_layer: 0,
                layer_count: 1,
            })
            .image_extent(vk::Extent3D {
                width: t.width,
                height: t.height,
                depth: 1,
            });
        let to_read = vk::ImageMemoryBarrier::default()
            .old_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)
            .new_layout(vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL)
            .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
            .dst_access_mask(vk::AccessFlags::SHADER_READ)
            .image(image.image)
            .subresource_range(range);
        // SAFETY: cmd is recording; the image and buffer live until the commands finish.
        unsafe {
            d.cmd_pipeline_barrier(
                cmd,
                vk::PipelineStageFlags::TOP_OF_PIPE,
                vk::PipelineStageFlags::TRANSFER,
                vk::DependencyFlags::empty(),
                &[],
                &[],
                &[to_dst],
            );
            d.cmd_copy_buffer_to_image(
                cmd,
                staging.buffer,
                image.image,
                vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                &[region],
            );
            d.cmd_pipeline_barrier(
                cmd,
                vk::PipelineStageFlags::TRANSFER,
                vk::PipelineStageFlags::FRAGMENT_SHADER,
                vk::DependencyFlags::empty(),
                &[],
                &[],
                &[to_read],
            );
        }
    });
    staging.destroy(ctx);
    copied?;
    Ok(image)
}

/// The sampler every texture is read with: linear, repeating, one mip level.
pub(crate) fn sampler(d: &ash::Device) -> Result<vk::Sampler, RenderError> {
    let info = vk::SamplerCreateInfo::default()
        .mag_filter(vk::Filter::LINEAR)
        .min_filter(vk::Filter::LINEAR)
        .mipmap_mode(vk::SamplerMipmapMode::LINEAR)
        .address_mode_u(vk::SamplerAddressMode::REPEAT)
        .address_mode_v(vk::SamplerAddressMode::REPEAT)
        .address_mode_w(vk::SamplerAddressMode::REPEAT)
        .max_lod(0.0);
    // SAFETY: valid create info; the renderer destroys the sampler in Drop.
    unsafe { d.create_sampler(&info, None) }.map_err(RenderError::vk("creating a sampler"))
}
