//! Set 0, what every draw of a frame shares: the uniform block (the views, the eyes, the lights) and the
//! joint matrices of GPU skinning, each in a host-visible buffer written before the frame is recorded.

use super::data::{Lighting, View};
use super::{MAX_JOINTS, Renderer};
use crate::RenderError;
use crate::memory::Buffer;
use ash::vk;
use glam::{Mat4, Vec3};

/// The uniform block, as the shaders declare it (std140).
#[repr(C)]
#[derive(Clone, Copy)]
pub(super) struct FrameUniform {
    view_proj: [[f32; 16]; 2],
    eye: [[f32; 4]; 2],
    light_dir: [[f32; 4]; 3],
    light_color: [[f32; 4]; 3],
    ambient: [f32; 4],
}

impl FrameUniform {
    /// The block for `views` (at most two) lit by `lighting`.
    pub(super) fn new(views: &[View], lighting: &Lighting) -> FrameUniform {
        let mut u = FrameUniform {
            view_proj: [[0.0; 16]; 2],
            eye: [[0.0; 4]; 2],
            light_dir: [[0.0; 4]; 3],
            light_color: [[0.0; 4]; 3],
            ambient: lighting.ambient.extend(1.0).to_array(),
        };
        for (k, v) in views.iter().enumerate() {
            u.view_proj[k] = v.view_proj.to_cols_array();
            u.eye[k] = v.eye.extend(1.0).to_array();
        }
        for (k, (dir, colour)) in lighting.lights.iter().enumerate() {
            u.light_dir[k] = dir.normalize_or(-Vec3::Y).extend(0.0).to_array();
            u.light_color[k] = colour.extend(1.0).to_array();
        }
        u
    }
}

/// Binding 0 the uniform block (both stages), binding 1 the joint matrices (vertex stage).
pub(super) fn set_layout(d: &ash::Device) -> Result<vk::DescriptorSetLayout, RenderError> {
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
    // SAFETY: valid create info; destroyed in the renderer's Drop.
    unsafe {
        d.create_descriptor_set_layout(
            &vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings),
            None,
        )
    }
    .map_err(RenderError::vk("creating the descriptor layout"))
}

/// The one set of `layout` and the pool it lives in (destroyed with the renderer).
pub(super) fn allocate_set(
    d: &ash::Device,
    layout: vk::DescriptorSetLayout,
) -> Result<(vk::DescriptorPool, vk::DescriptorSet), RenderError> {
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
    // SAFETY: valid create info; destroyed in the renderer's Drop.
    let pool = unsafe {
        d.create_descriptor_pool(
            &vk::DescriptorPoolCreateInfo::default()
                .max_sets(1)
                .pool_sizes(&sizes),
            None,
        )
    }
    .map_err(RenderError::vk("creating the descriptor pool"))?;
    // SAFETY: the pool has room for this set.
    let set = unsafe {
        d.allocate_descriptor_sets(
            &vk::DescriptorSetAllocateInfo::default()
                .descriptor_pool(pool)
                .set_layouts(&[layout]),
        )
    }
    .map_err(RenderError::vk("allocating the descriptor set"))?[0];
    Ok((pool, set))
}

/// Points the set's bindings at the uniform and joint buffers.
pub(super) fn bind_buffers(
    d: &ash::Device,
    set: vk::DescriptorSet,
    uniform: &Buffer,
    joints: &Buffer,
) {
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
            .dst_set(set)
            .dst_binding(0)
            .descriptor_type(vk::DescriptorType::UNIFORM_BUFFER)
            .buffer_info(&buffer_info),
        vk::WriteDescriptorSet::default()
            .dst_set(set)
            .dst_binding(1)
            .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
            .buffer_info(&joints_info),
    ];
    // SAFETY: the set and buffers are valid and not in use.
    unsafe { d.update_descriptor_sets(&write, &[]) };
}

impl Renderer {
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
}
