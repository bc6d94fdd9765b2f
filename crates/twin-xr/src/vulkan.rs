//! `XR_KHR_vulkan_enable2`: the runtime creates the Vulkan instance and device itself (it adds what its
//! compositor needs) and picks the GPU the headset is on; the renderer's context then adopts them.

use crate::{Runtime, XrError};
use ash::vk;
use ash::vk::Handle;
use openxr as xr;
use std::sync::Arc;
use twin_render::GpuContext;

/// The renderer's Vulkan: 1.1, which has multiview (both eyes in one pass).
const VULKAN: u32 = vk::API_VERSION_1_1;

pub fn create_context(runtime: &Runtime) -> Result<Arc<GpuContext>, XrError> {
    let (xi, system) = (&runtime.instance, runtime.system);
    check_version(xi, system)?;
    // SAFETY: loads the system's Vulkan loader; failure is reported.
    let entry = unsafe { ash::Entry::load() }.map_err(|e| XrError::Vulkan(e.to_string()))?;
    let instance = create_instance(xi, system, &entry)?;
    let (physical, queue_family, device) = match open_device(xi, system, &entry, &instance) {
        Ok(opened) => opened,
        Err(e) => {
            // SAFETY: nothing else uses the instance yet.
            unsafe { instance.destroy_instance(None) };
            return Err(e);
        }
    };
    GpuContext::adopt(entry, instance, physical, device, queue_family)
        .map(Arc::new)
        .map_err(|e| XrError::Vulkan(e.to_string()))
}

/// Refuses a runtime whose Vulkan range leaves out the renderer's 1.1.
fn check_version(xi: &xr::Instance, system: xr::SystemId) -> Result<(), XrError> {
    let reqs = xi
        .graphics_requirements::<xr::Vulkan>(system)
        .map_err(XrError::xr("reading the runtime's Vulkan requirements"))?;
    let want = xr::Version::new(1, 1, 0);
    if want < reqs.min_api_version_supported
        || want.major() > reqs.max_api_version_supported.major()
    {
        return Err(XrError::Vulkan(format!(
            "the runtime needs Vulkan {} to {}.x; the renderer uses 1.1",
            reqs.min_api_version_supported,
            reqs.max_api_version_supported.major()
        )));
    }
    Ok(())
}

/// The Vulkan instance, created by the runtime.
fn create_instance(
    xi: &xr::Instance,
    system: xr::SystemId,
    entry: &ash::Entry,
) -> Result<ash::Instance, XrError> {
    let app = vk::ApplicationInfo::default()
        .application_name(c"twin")
        .engine_name(c"twin-render")
        .api_version(VULKAN);
    let info = vk::InstanceCreateInfo::default().application_info(&app);
    // SAFETY: the runtime calls Vulkan through the loader's own vkGetInstanceProcAddr with a valid create
    // info; the result is checked before use.
    #[allow(clippy::missing_transmute_annotations)]
    let raw = unsafe {
        xi.create_vulkan_instance(
            system,
            std::mem::transmute(entry.static_fn().get_instance_proc_addr),
            &info as *const _ as *const _,
        )
    }
    .map_err(XrError::xr("creating the Vulkan instance"))?
    .map_err(|r| {
        XrError::Vulkan(format!(
            "creating the instance: {}",
            vk::Result::from_raw(r)
        ))
    })?;
    // SAFETY: a live instance just created by the runtime for this loader.
    Ok(unsafe { ash::Instance::load(entry.static_fn(), vk::Instance::from_raw(raw as _)) })
}

/// The headset's GPU, its graphics queue family and a device on it (with multiview), created by the
/// runtime.
fn open_device(
    xi: &xr::Instance,
    system: xr::SystemId,
    entry: &ash::Entry,
    instance: &ash::Instance,
) -> Result<(vk::PhysicalDevice, u32, ash::Device), XrError> {
    // SAFETY: a live instance the runtime created.
    let physical = unsafe { xi.vulkan_graphics_device(system, instance.handle().as_raw() as _) }
        .map(|p| vk::PhysicalDevice::from_raw(p as _))
        .map_err(XrError::xr("finding the headset's GPU"))?;
    // SAFETY: the physical device comes from this instance.
    let families = unsafe { instance.get_physical_device_queue_family_properties(physical) };
    let Some(queue_family) = families
        .iter()
        .position(|f| f.queue_flags.contains(vk::QueueFlags::GRAPHICS))
    else {
        return Err(XrError::Vulkan(
            "the headset's GPU has no graphics queue".into(),
        ));
    };
    let priorities = [1.0];
    let queues = [vk::DeviceQueueCreateInfo::default()
        .queue_family_index(queue_family as u32)
        .queue_priorities(&priorities)];
    let mut multiview = vk::PhysicalDeviceMultiviewFeatures::default().multiview(true);
    let device_info = vk::DeviceCreateInfo::default()
        .queue_create_infos(&queues)
        .push_next(&mut multiview);
    // SAFETY: as for the instance.
    #[allow(clippy::missing_transmute_annotations)]
    let raw_device = unsafe {
        xi.create_vulkan_device(
            system,
            std::mem::transmute(entry.static_fn().get_instance_proc_addr),
            physical.as_raw() as _,
            &device_info as *const _ as *const _,
        )
    }
    .map_err(XrError::xr("creating the Vulkan device"))?
    .map_err(|r| XrError::Vulkan(format!("creating the device: {}", vk::Result::from_raw(r))))?;
    // SAFETY: a live device just created on this instance.
    let device =
        unsafe { ash::Device::load(instance.fp_v1_0(), vk::Device::from_raw(raw_device as _)) };
    Ok((physical, queue_family as u32, device))
}
