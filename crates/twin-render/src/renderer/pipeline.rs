//! The graphics pipelines: the avatar's shaders (a plain and a GPU-skinned vertex stage, one fragment
//! stage), their vertex layout and fixed-function state, and the layout of what they bind.

use super::record::DrawPush;
use crate::RenderError;
use ash::vk;

const VERT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/avatar.vert.spv"));
const VERT_SKINNED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/avatar_skinned.vert.spv"));
const FRAG: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/avatar.frag.spv"));

/// Set 0 (frame) and set 1 (a mesh's textures), and the per-draw push constants.
pub(super) fn layout(
    d: &ash::Device,
    set_layouts: &[vk::DescriptorSetLayout],
) -> Result<vk::PipelineLayout, RenderError> {
    let push = [vk::PushConstantRange::default()
        .stage_flags(vk::ShaderStageFlags::VERTEX | vk::ShaderStageFlags::FRAGMENT)
        .size(std::mem::size_of::<DrawPush>() as u32)];
    // SAFETY: valid create info; destroyed in the renderer's Drop.
    unsafe {
        d.create_pipeline_layout(
            &vk::PipelineLayoutCreateInfo::default()
                .set_layouts(set_layouts)
                .push_constant_ranges(&push),
            None,
        )
    }
    .map_err(RenderError::vk("creating the pipeline layout"))
}

/// The pipeline for plain meshes, or for meshes skinned on the GPU (`skinned`).
pub(super) fn create(
    d: &ash::Device,
    render_pass: vk::RenderPass,
    layout: vk::PipelineLayout,
    skinned: bool,
) -> Result<vk::Pipeline, RenderError> {
    let vert = shader_module(d, if skinned { VERT_SKINNED } else { VERT })?;
    let frag = shader_module(d, FRAG)?;
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
    let (bindings, attributes) = vertex_layout(skinned);
    let vertex_input = vk::PipelineVertexInputStateCreateInfo::default()
        .vertex_binding_descriptions(&bindings)
        .vertex_attribute_descriptions(&attributes);
    let assembly = vk::PipelineInputAssemblyStateCreateInfo::default()
        .topology(vk::PrimitiveTopology::TRIANGLE_LIST);
    let viewport = vk::PipelineViewportStateCreateInfo::default()
        .viewport_count(1)
        .scissor_count(1);
    let multisample = vk::PipelineMultisampleStateCreateInfo::default()
        .rasterization_samples(vk::SampleCountFlags::TYPE_1);
    let blend_attachments = [vk::PipelineColorBlendAttachmentState::default()
        .color_write_mask(vk::ColorComponentFlags::RGBA)
        .blend_enable(false)];
    let blend = vk::PipelineColorBlendStateCreateInfo::default().attachments(&blend_attachments);
    let dynamic_states = [vk::DynamicState::VIEWPORT, vk::DynamicState::SCISSOR];
    let dynamic = vk::PipelineDynamicStateCreateInfo::default().dynamic_states(&dynamic_states);
    let raster = rasterization();
    let depth = depth_test();
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

fn shader_module(d: &ash::Device, spv: &[u8]) -> Result<vk::ShaderModule, RenderError> {
    let words = ash::util::read_spv(&mut std::io::Cursor::new(spv))
        .map_err(|e| RenderError::Invalid(format!("bad SPIR-V: {e}")))?;
    // SAFETY: words are SPIR-V compiled by glslc at build time.
    unsafe { d.create_shader_module(&vk::ShaderModuleCreateInfo::default().code(&words), None) }
        .map_err(RenderError::vk("creating a shader module"))
}

/// The vertex buffers and their attributes: position and normal, joints and weights (skinned only), uv.
fn vertex_layout(
    skinned: bool,
) -> (
    Vec<vk::VertexInputBindingDescription>,
    Vec<vk::VertexInputAttributeDescription>,
) {
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
    if skinned {
        (bindings.to_vec(), attributes.to_vec())
    } else {
        (
            vec![bindings[0], bindings[2]],
            vec![attributes[0], attributes[1], attributes[4]],
        )
    }
}

/// No culling: scans and generated meshes do not all agree on winding, and lashes are seen from both sides.
fn rasterization() -> vk::PipelineRasterizationStateCreateInfo<'static> {
    vk::PipelineRasterizationStateCreateInfo::default()
        .polygon_mode(vk::PolygonMode::FILL)
        .cull_mode(vk::CullModeFlags::NONE)
        .front_face(vk::FrontFace::COUNTER_CLOCKWISE)
        .line_width(1.0)
}

/// Nearer surfaces win, and every opaque one writes its depth.
fn depth_test() -> vk::PipelineDepthStencilStateCreateInfo<'static> {
    vk::PipelineDepthStencilStateCreateInfo::default()
        .depth_test_enable(true)
        .depth_write_enable(true)
        .depth_compare_op(vk::CompareOp::LESS)
}
