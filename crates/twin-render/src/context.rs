//! The long-lived Vulkan context: instance, device, one graphics queue, a command pool. Created once; every
//! frame and target borrows it.

use crate::RenderError;
use ash::vk;
use std::ffi::CStr;

pub struct GpuContext {
    // Kept alive: the instance and device are loaded from it.
    _entry: ash::Entry,
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
        // SAFETY: loading the system's Vulkan loader; failure is reported, not assumed away.
        let entry =
            unsafe { ash::Entry::load() }.map_err(|e| RenderError::NoVulkan(e.to_string()))?;
        let app = vk::ApplicationInfo::default()
            .application_name(c"twin")
            .engine_name(c"twin-render")
            .api_version(vk::API_VERSION_1_1);
        let info = vk::InstanceCreateInfo::default().application_info(&app);
        // SAFETY: valid create info; the instance is destroyed in Drop.
        let instance = unsafe { entry.create_instance(&info, None) }
            .map_err(RenderError::vk("creating the instance"))?;
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
        let queue_family = families
            .iter()
            .position(|f| f.queue_flags.contains(vk::QueueFlags::GRAPHICS))
            .ok_or_else(|| RenderError::NoVulkan(format!("{device_name} has no graphics queue")))?
            as u32;
        let priorities = [1.0];
        let queues = [vk::DeviceQueueCreateInfo::default()
            .queue_family_index(queue_family)
            .queue_priorities(&priorities)];
        let mut multiview = vk::PhysicalDeviceMultiviewFeatures::default().multiview(true);
        let info = vk::DeviceCreateInfo::default()
            .queue_create_infos(&queues)
            .push_next(&mut multiview);
        // SAFETY: valid create info; destroyed in Drop.
        let device = unsafe { instance.create_device(physical, &info, None) }.map_err(
            RenderError::vk("creating the device (multiview is required)"),
        )?;
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
            _entry: entry,
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
