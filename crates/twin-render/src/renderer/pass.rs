//! The render pass every target draws through: one colour and one depth attachment, multiview (each view a
//! layer of the attachments, `gl_ViewIndex` in the shaders).

use crate::RenderError;
use ash::vk;

pub const DEPTH_FORMAT: vk::Format = vk::Format::D32_SFLOAT;

/// The pass for `views` views into `format`, leaving the colour image in `final_layout`.
pub(super) fn create(
    d: &ash::Device,
    format: vk::Format,
    views: u32,
    final_layout: vk::ImageLayout,
) -> Result<vk::RenderPass, RenderError> {
    let attachments = attachments(format, final_layout);
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
    let dependencies = [dependency()];
    let mask = [(1u32 << views) - 1];
    let mut multiview = vk::RenderPassMultiviewCreateInfo::default()
        .view_masks(&mask)
        .correlation_masks(&mask);
    let info = vk::RenderPassCreateInfo::default()
        .attachments(&attachments)
        .subpasses(&subpasses)
        .dependencies(&dependencies)
        .push_next(&mut multiview);
    // SAFETY: valid create info; destroyed in the renderer's Drop.
    unsafe { d.create_render_pass(&info, None) }
        .map_err(RenderError::vk("creating the render pass"))
}

/// Colour (cleared, kept for the target) and depth (cleared, dropped after the pass).
fn attachments(
    format: vk::Format,
    final_layout: vk::ImageLayout,
) -> [vk::AttachmentDescription; 2] {
    [
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
    ]
}

/// Waits for the previous use of the attachments before clearing and writing them.
fn dependency() -> vk::SubpassDependency {
    vk::SubpassDependency::default()
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
        )
}
