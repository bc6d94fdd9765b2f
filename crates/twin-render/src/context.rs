//! The long-lived Vulkan context: instance, device, one graphics queue, a command pool. Created once; every
//! frame and target borrows it.

use crate::RenderError;
use ash::vk;
use std::ffi::CStr;

pub struct GpuContext {
    /// Kept alive: the instance and device are loaded from it.
    pub entry: ash::Entry,
    pub instance: ash::Instance,
    pub physical: vk::PhysicalDevice,
    pub device: ash::Device,
    pub queue: vk::Queue,
    pub queue_family: u32,
    pub command_pool: vk::CommandPool,
    memory: vk::PhysicalDeviceMemoryProperties,
    /// The device's name, for logs and reports ("llvmpipe (LLVM 15.0.6, 256 bits)" on lavapipe).
    pub device_name: String,
}

impl GpuContext {
    /// A context without a window or headset: offscreen rendering (tests, headless demo, video frames).
    pub fn headless() -> Result<GpuContext, RenderError> {
        Ok(Self::create(None)?.0)
    }

    /// A context that presents to a window: the window system's instance extensions, the window's surface
    /// (which the caller's target owns and destroys before the context), and a queue that can present to it.
    pub fn for_window(
        display: raw_window_handle::RawDisplayHandle,
        window: raw_window_handle::RawWindowHandle,
    ) -> Result<(GpuContext, vk::SurfaceKHR), RenderError> {
        let (ctx, surface) = Self::create(Some((display, window)))?;
        let surface = surface.ok_or_else(|| RenderError::Invalid("no surface".into()))?;
        Ok((ctx, surface))
    }

    fn create(
        window: Option<(
            raw_window_handle::RawDisplayHandle,
            raw_window_handle::RawWindowHandle,
        )>,
    ) -> Result<(GpuContext, Option<vk::SurfaceKHR>), RenderError> {
        // SAFETY: loading the system's Vulkan loader; failure is reported, not assumed away.
        let entry =
            unsafe { ash::Entry::load() }.map_err(|e| RenderError::NoVulkan(e.to_string()))?;
        let app = vk::ApplicationInfo::default()
            .application_name(c"twin")
            .engine_name(c"twin-render")
            .api_version(vk::API_VERSION_1_1);
        let extensions: &[*const std::ffi::c_char] = match window {
            Some((display, _)) => ash_window::enumerate_required_extensions(display).map_err(
                RenderError::vk("finding the window system's Vulkan extensions"),
            )?,
            None => &[],
        };
        let info = vk::InstanceCreateInfo::default()
            .application_info(&app)
            .enabled_extension_names(extensions);
        // SAFETY: valid create info; the instance is destroyed in Drop.
        let instance = unsafe { entry.create_instance(&info, None) }
            .map_err(RenderError::vk("creating the instance"))?;
        let surface = match window {
            // SAFETY: the handles come from a live window that outlives the surface (the caller's target).
            Some((display, window)) => Some(
                unsafe { ash_window::create_surface(&entry, &instance, display, window, None) }
                    .map_err(|e| {
                        // SAFETY: nothing else uses the instance yet.
                        unsafe { instance.destroy_instance(None) };
                        RenderError::Vulkan {
                            what: "creating the window's surface",
                            result: e,
                        }
                    })?,
            ),
            None => None,
        };
        let surface_loader = ash::khr::surface::Instance::new(&entry, &instance);
        // SAFETY: the instance is valid.
        let devices = unsafe { instance.enumerate_physical_devices() }
            .map_err(RenderError::vk("listing devices"))?;
        let pick = |want: vk::PhysicalDeviceType| {
            devices.iter().copied().find(|&d| {
                // SAFETY: d comes from this instance.
                let props = unsafe { instance.get_physical_device_properties(d) };
                props.device_type == want && props.api_version >= vk::API_VERSION_1_1
            })
        };
        // A real GPU when there is one, else the CPU (lavapipe).
        let physical = pick(vk::PhysicalDeviceType::DISCRETE_GPU)
            .or_else(|| pick(vk::PhysicalDeviceType::INTEGRATED_GPU))
            .or_else(|| pick(vk::PhysicalDeviceType::CPU))
            .or_else(|| devices.first().copied())
            .ok_or_else(|| {
                // SAFETY: nothing else uses the instance.
                unsafe { instance.destroy_instance(None) };
                RenderError::NoVulkan(
                    "no Vulkan 1.1 device (install mesa-vulkan-drivers for lavapipe)".into(),
                )
            })?;
        // SAFETY: physical comes from this instance.
        let props = unsafe { instance.get_physical_device_properties(physical) };
        let device_name = props
            .device_name_as_c_str()
            .map(|c: &CStr| c.to_string_lossy().into_owned())
            .unwrap_or_default();
        // SAFETY: as above.
        let families = unsafe { instance.get_physical_device_queue_family_properties(physical) };
        let can_present = |i: usize| match surface {
            // SAFETY: the surface and device come from this instance.
            Some(s) => {
                unsafe { surface_loader.get_physical_device_surface_support(physical, i as u32, s) }
                    .unwrap_or(false)
            }
            None => true,
        };
        let queue_family = (0..families.len())
            .find(|&i| families[i].queue_flags.contains(vk::QueueFlags::GRAPHICS) && can_present(i))
            .ok_or_else(|| {
                RenderError::NoVulkan(format!(
                    "{device_name} has no graphics queue{}",
                    if surface.is_some() {
                        " that can present to the window"
                    } else {
                        ""
                    }
                ))
            })? as u32;
        let priorities = [1.0];
        let queues = [vk::DeviceQueueCreateInfo::default()
            .queue_family_index(queue_family)
            .queue_priorities(&priorities)];
        let mut multiview = vk::PhysicalDeviceMultiviewFeatures::default().multiview(true);
        let swapchain = [ash::khr::swapchain::NAME.as_ptr()];
        let device_extensions: &[*const std::ffi::c_char] =
            if surface.is_some() { &swapchain } else { &[] };
        let info = vk::DeviceCreateInfo::default()
            .queue_create_infos(&queues)
            .enabled_extension_names(device_extensions)
            .push_next(&mut multiview);
        // SAFETY: valid create info; destroyed in Drop.
        let device = unsafe { instance.create_device(physical, &info, None) }.map_err(
            RenderError::vk("creating the device (multiview is required)"),
        )?;
        Ok((
            Self::adopt(entry, instance, physical, device, queue_family)?,
            surface,
        ))
    }

    /// A context around an instance and device made elsewhere (by the OpenXR runtime, which must create
    /// them itself): Vulkan 1.1, multiview enabled, a graphics queue in `queue_family`. It owns and destroys
    /// them from now on.
    pub fn adopt(
        entry: ash::Entry,
        instance: ash::Instance,
        physical: vk::PhysicalDevice,
        device: ash::Device,
        queue_family: u32,
    ) -> Result<GpuContext, RenderError> {
        // SAFETY: physical comes from this instance.
        let props = unsafe { instance.get_physical_device_properties(physical) };
        let device_name = props
            .device_name_as_c_str()
            .map(|c: &CStr| c.to_string_lossy().into_owned())
            .unwrap_or_default();
        // SAFETY: the queue family and index exist.
        let queue = unsafe { device.get_device_queue(queue_family, 0) };
        let pool_info = vk::CommandPoolCreateInfo::default()
            .queue_family_index(queue_family)
            .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER);
        // SAFETY: valid device.
        let command_pool = unsafe { device.create_command_pool(&pool_info, None) }
            .map_err(RenderError::vk("creating a command pool"))?;
        // SAFETY: valid physical device.
        let memory = unsafe { instance.get_physical_device_memory_properties(physical) };
        tracing::info!(device = %device_name, "Vulkan ready");
        Ok(GpuContext {
            entry,
            instance,
            physical,
            device,
            queue,
            queue_family,
            command_pool,
            memory,
            device_name,
        })
    }

    /// A memory type allowed by `bits` with all of `flags`.
    pub fn memory_type(
        &self,
        bits: u32,
        flags: vk::MemoryPropertyFlags,
    ) -> Result<u32, RenderError> {
        (0..self.memory.memory_type_count)
            .find(|&i| {
                bits & (1 << i) != 0
                    && self.memory.memory_types[i as usize]
                        .property_flags
                        .contains(flags)
            })
            .ok_or(RenderError::NoMemory(flags))
    }

    /// Records commands with `record`, submits them and waits.
    pub fn one_shot(&self, record: impl FnOnce(vk::CommandBuffer)) -> Result<(), RenderError> {
        let info = vk::CommandBufferAllocateInfo::default()
            .command_pool(self.command_pool)
            .level(vk::CommandBufferLevel::PRIMARY)
            .command_buffer_count(1);
        // SAFETY: the pool belongs to this device; the buffer is freed below.
        let cmd = unsafe { self.device.allocate_command_buffers(&info) }
            .map_err(RenderError::vk("allocating a command buffer"))?[0];
        let result = (|| {
            let begin = vk::CommandBufferBeginInfo::default()
                .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT);
            // SAFETY: cmd is a fresh primary command buffer.
            unsafe { self.device.begin_command_buffer(cmd, &begin) }
                .map_err(RenderError::vk("recording"))?;
            record(cmd);
            // SAFETY: recording began above.
            unsafe { self.device.end_command_buffer(cmd) }.map_err(RenderError::vk("recording"))?;
            // SAFETY: valid device.
            let fence = unsafe {
                self.device
                    .create_fence(&vk::FenceCreateInfo::default(), None)
            }
            .map_err(RenderError::vk("creating a fence"))?;
            let cmds = [cmd];
            let submit = [vk::SubmitInfo::default().command_buffers(&cmds)];
            // SAFETY: the command buffer is complete; the fence is waited on before it is destroyed.
            let done = unsafe {
                self.device
                    .queue_submit(self.queue, &submit, fence)
                    .and_then(|()| self.device.wait_for_fences(&[fence], true, u64::MAX))
            };
            // SAFETY: the fence is no longer in use (waited, or the submit failed).
            unsafe { self.device.destroy_fence(fence, None) };
            done.map_err(RenderError::vk("running commands"))
        })();
        // SAFETY: the commands finished (or never ran).
        unsafe { self.device.free_command_buffers(self.command_pool, &[cmd]) };
        result
    }
}

impl Drop for GpuContext {
    fn drop(&mut self) {
        // SAFETY: everything created from the device is destroyed by its owners first (they borrow the context).
        unsafe {
            let _ = self.device.device_wait_idle();
            self.device.destroy_command_pool(self.command_pool, None);
            self.device.destroy_device(None);
            self.instance.destroy_instance(None);
        }
    }
}
