//! A stand-in for an application that embeds GhostStream: it creates its own Vulkan instance
//! (with the validation layer and its own messenger), device and images with plain ash calls,
//! writes pictures into its images and signals timeline semaphores, as a game or engine would.
#![allow(dead_code)]

use std::ffi::{c_void, CStr};
use std::sync::{Arc, Mutex};

use ghoststream::gpu::ash::{self, vk};
use ghoststream::gpu::{HostVulkan, TimelinePoint};

type Messages = Mutex<Vec<String>>;

unsafe extern "system" fn collect(
    _severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    _types: vk::DebugUtilsMessageTypeFlagsEXT,
    data: *const vk::DebugUtilsMessengerCallbackDataEXT<'_>,
    user: *mut c_void,
) -> vk::Bool32 {
    // SAFETY: the layer passes valid data for the call; `user` is the Arc'd message list the
    // application keeps alive until the messenger is destroyed.
    unsafe {
        let text = data
            .as_ref()
            .and_then(|d| d.message_as_c_str())
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Ok(mut m) = (*(user as *const Messages)).lock() {
            m.push(text);
        }
    }
    vk::FALSE
}

/// The application's Vulkan objects.
pub struct HostApp {
    entry: ash::Entry,
    pub instance: ash::Instance,
    debug: ash::ext::debug_utils::Instance,
    messenger: vk::DebugUtilsMessengerEXT,
    messages: Arc<Messages>,
    pub physical: vk::PhysicalDevice,
    pub device: ash::Device,
    pub family: u32,
    pub queue: vk::Queue,
    extensions: Vec<String>,
    pool: vk::CommandPool,
    images: Mutex<Vec<(vk::Image, vk::DeviceMemory)>>,
    buffers: Mutex<Vec<(vk::Buffer, vk::DeviceMemory)>>,
    semaphores: Mutex<Vec<vk::Semaphore>>,
}

/// The application, or `None` (with the reason printed) where there is no Vulkan device with
/// the validation layer; a failure when GHOSTSTREAM_REQUIRE_GPU is set.
pub fn host_app(extensions: &[&CStr]) -> Option<HostApp> {
    match HostApp::new(extensions) {
        Ok(app) => Some(app),
        Err(e) if std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_some() => {
            panic!("GHOSTSTREAM_REQUIRE_GPU is set but the host application has no device: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: no Vulkan device with the validation layer for the host application ({e})");
            None
        }
    }
}

impl HostApp {
    /// An instance with validation, and a device on the first compute-capable Vulkan 1.3
    /// device with timeline semaphores and `extensions` enabled.
    pub fn new(extensions: &[&CStr]) -> Result<Self, String> {
        // SAFETY: the test process loads the system's Vulkan loader; every create info below
        // lives for its call, and every object is destroyed in Drop in reverse order.
        unsafe {
            let entry = ash::Entry::load().map_err(|e| e.to_string())?;
            let layers = [c"VK_LAYER_KHRONOS_validation".as_ptr()];
            let instance_ext = [ash::ext::debug_utils::NAME.as_ptr()];
            let app = vk::ApplicationInfo::default()
                .application_name(c"host application")
                .api_version(vk::API_VERSION_1_3);
            let instance = entry
                .create_instance(
                    &vk::InstanceCreateInfo::default()
                        .application_info(&app)
                        .enabled_layer_names(&layers)
                        .enabled_extension_names(&instance_ext),
                    None,
                )
                .map_err(|e| format!("vkCreateInstance: {e:?}"))?;
            let messages: Arc<Messages> = Arc::default();
            let debug = ash::ext::debug_utils::Instance::new(&entry, &instance);
            let messenger = debug
                .create_debug_utils_messenger(
                    &vk::DebugUtilsMessengerCreateInfoEXT::default()
                        .message_severity(
                            vk::DebugUtilsMessageSeverityFlagsEXT::WARNING
                                | vk::DebugUtilsMessageSeverityFlagsEXT::ERROR,
                        )
                        .message_type(
                            vk::DebugUtilsMessageTypeFlagsEXT::GENERAL
                                | vk::DebugUtilsMessageTypeFlagsEXT::VALIDATION,
                        )
                        .pfn_user_callback(Some(collect))
                        .user_data(Arc::as_ptr(&messages) as *mut c_void),
                    None,
                )
                .map_err(|e| format!("messenger: {e:?}"))?;
            let physical = instance
                .enumerate_physical_devices()
                .map_err(|e| format!("{e:?}"))?
                .into_iter()
                .find(|&pd| {
                    instance.get_physical_device_properties(pd).api_version >= vk::API_VERSION_1_3
                })
                .ok_or("no Vulkan 1.3 device")?;
            let family = instance
                .get_physical_device_queue_family_properties(physical)
                .iter()
                .position(|f| f.queue_flags.contains(vk::QueueFlags::COMPUTE))
                .ok_or("no compute queue")?;
            let family = u32::try_from(family).unwrap();
            let priorities = [1.0];
            let queues = [vk::DeviceQueueCreateInfo::default()
                .queue_family_index(family)
                .queue_priorities(&priorities)];
            let ext_ptrs: Vec<_> = extensions.iter().map(|e| e.as_ptr()).collect();
            let mut f12 = vk::PhysicalDeviceVulkan12Features::default().timeline_semaphore(true);
            let device = instance
                .create_device(
                    physical,
                    &vk::DeviceCreateInfo::default()
                        .queue_create_infos(&queues)
                        .enabled_extension_names(&ext_ptrs)
                        .push_next(&mut f12),
                    None,
                )
                .map_err(|e| format!("vkCreateDevice: {e:?}"))?;
            let queue = device.get_device_queue(family, 0);
            let pool = device
                .create_command_pool(
                    &vk::CommandPoolCreateInfo::default().queue_family_index(family),
                    None,
                )
                .map_err(|e| format!("{e:?}"))?;
            Ok(Self {
                entry,
                instance,
                debug,
                messenger,
                messages,
                physical,
                device,
                family,
                queue,
                extensions: extensions
                    .iter()
                    .map(|e| e.to_string_lossy().into_owned())
                    .collect(),
                pool,
                images: Mutex::default(),
                buffers: Mutex::default(),
                semaphores: Mutex::default(),
            })
        }
    }

    /// What GhostStream needs to work on this application's device and queue, sharing the
    /// queue under `lock`.
    pub fn host_vulkan(&self, lock: Option<Arc<Mutex<()>>>) -> HostVulkan {
        HostVulkan {
            get_instance_proc_addr: self.entry.static_fn().get_instance_proc_addr,
            instance: self.instance.handle(),
            physical_device: self.physical,
            device: self.device.handle(),
            queue_family: self.family,
            queue_index: 0,
            enabled_extensions: self.extensions.clone(),
            queue_lock: lock,
        }
    }

    /// Fails the test with the messages when the application's validation layer reported any.
    pub fn assert_validation_silent(&self) {
        let m = self.take_messages();
        assert!(
            m.is_empty(),
            "the application's validation layer reported:\n{}",
            m.join("\n")
        );
    }

    /// A host-visible, coherent buffer of `len` bytes for `usage`, and its memory.
    fn staging(&self, len: u64, usage: vk::BufferUsageFlags) -> (vk::Buffer, vk::DeviceMemory) {
        let d = &self.device;
        // SAFETY: a valid device and create infos; the caller destroys both.
        unsafe {
            let buffer = d
                .create_buffer(
                    &vk::BufferCreateInfo::default().size(len).usage(usage),
                    None,
                )
                .unwrap();
            let req = d.get_buffer_memory_requirements(buffer);
            let memory = d
                .allocate_memory(
                    &vk::MemoryAllocateInfo::default()
                        .allocation_size(req.size)
                        .memory_type_index(self.memory_type(
                            req.memory_type_bits,
                            vk::MemoryPropertyFlags::HOST_VISIBLE
                                | vk::MemoryPropertyFlags::HOST_COHERENT,
                        )),
                    None,
                )
                .unwrap();
            d.bind_buffer_memory(buffer, memory, 0).unwrap();
            (buffer, memory)
        }
    }

    /// The validation messages so far (the application's own messenger: they cover
    /// GhostStream's calls on this device too).
    pub fn take_messages(&self) -> Vec<String> {
        std::mem::take(&mut *self.messages.lock().unwrap())
    }

    fn memory_type(&self, bits: u32, flags: vk::MemoryPropertyFlags) -> u32 {
        // SAFETY: a plain query on a valid physical device.
        let props = unsafe {
            self.instance
                .get_physical_device_memory_properties(self.physical)
        };
        (0..props.memory_type_count)
            .find(|&i| {
                bits & (1 << i) != 0
                    && props.memory_types[i as usize]
                        .property_flags
                        .contains(flags)
            })
            .expect("a matching memory type")
    }

    /// A new timeline semaphore at `initial`.
    pub fn timeline(&self, initial: u64) -> vk::Semaphore {
        let mut ty = vk::SemaphoreTypeCreateInfo::default()
            .semaphore_type(vk::SemaphoreType::TIMELINE)
            .initial_value(initial);
        // SAFETY: valid device; destroyed in Drop.
        let s = unsafe {
            self.device
                .create_semaphore(&vk::SemaphoreCreateInfo::default().push_next(&mut ty), None)
        }
        .unwrap();
        self.semaphores.lock().unwrap().push(s);
        s
    }

    /// A semaphore's current value.
    pub fn value(&self, s: vk::Semaphore) -> u64 {
        // SAFETY: a timeline semaphore of this device.
        unsafe { self.device.get_semaphore_counter_value(s) }.unwrap()
    }

    /// A device-local, sampled and transfer-destination 2D image.
    pub fn image(&self, format: vk::Format, width: u32, height: u32) -> vk::Image {
        // SAFETY: valid device and create infos; image and memory destroyed in Drop.
        unsafe {
            let image = self
                .device
                .create_image(
                    &vk::ImageCreateInfo::default()
                        .image_type(vk::ImageType::TYPE_2D)
                        .format(format)
                        .extent(vk::Extent3D {
                            width,
                            height,
                            depth: 1,
                        })
                        .mip_levels(1)
                        .array_layers(1)
                        .samples(vk::SampleCountFlags::TYPE_1)
                        .tiling(vk::ImageTiling::OPTIMAL)
                        .usage(vk::ImageUsageFlags::SAMPLED | vk::ImageUsageFlags::TRANSFER_DST),
                    None,
                )
                .unwrap();
            let req = self.device.get_image_memory_requirements(image);
            let memory = self
                .device
                .allocate_memory(
                    &vk::MemoryAllocateInfo::default()
                        .allocation_size(req.size)
                        .memory_type_index(self.memory_type(
                            req.memory_type_bits,
                            vk::MemoryPropertyFlags::DEVICE_LOCAL,
                        )),
                    None,
                )
                .unwrap();
            self.device.bind_image_memory(image, memory, 0).unwrap();
            self.images.lock().unwrap().push((image, memory));
            image
        }
    }

    /// Writes `pixels` (tightly packed, 4 bytes a pixel) into `image`, leaving it in
    /// `TRANSFER_DST_OPTIMAL`, in one submission on the shared queue (under `lock`) that
    /// signals `ready`. Waits for its own submission before freeing its staging memory.
    pub fn upload(
        &self,
        image: vk::Image,
        (width, height): (u32, u32),
        pixels: &[u8],
        ready: TimelinePoint,
        lock: &Mutex<()>,
    ) {
        let d = &self.device;
        // SAFETY: every object here is created, used in one waited-for submission, and
        // destroyed; the image is the application's and not in use by GhostStream (it waits
        // for `ready` before reading it).
        unsafe {
            let (buffer, memory) =
                self.staging(pixels.len() as u64, vk::BufferUsageFlags::TRANSFER_SRC);
            let ptr = d
                .map_memory(memory, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
                .unwrap()
                .cast::<u8>();
            std::ptr::copy_nonoverlapping(pixels.as_ptr(), ptr, pixels.len());
            d.unmap_memory(memory);
            self.submit_and_wait(
                |d, cmd| {
                    let range = vk::ImageSubresourceRange {
                        aspect_mask: vk::ImageAspectFlags::COLOR,
                        base_mip_level: 0,
                        level_count: 1,
                        base_array_layer: 0,
                        layer_count: 1,
                    };
                    let to_dst = vk::ImageMemoryBarrier::default()
                        .old_layout(vk::ImageLayout::UNDEFINED)
                        .new_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)
                        .dst_access_mask(vk::AccessFlags::TRANSFER_WRITE)
                        .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                        .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                        .image(image)
                        .subresource_range(range);
                    d.cmd_pipeline_barrier(
                        cmd,
                        vk::PipelineStageFlags::TOP_OF_PIPE,
                        vk::PipelineStageFlags::TRANSFER,
                        vk::DependencyFlags::empty(),
                        &[],
                        &[],
                        &[to_dst],
                    );
                    let region = vk::BufferImageCopy::default()
                        .image_subresource(vk::ImageSubresourceLayers {
                            aspect_mask: vk::ImageAspectFlags::COLOR,
                            mip_level: 0,
                            base_array_layer: 0,
                            layer_count: 1,
                        })
                        .image_extent(vk::Extent3D {
                            width,
                            height,
                            depth: 1,
                        });
                    d.cmd_copy_buffer_to_image(
                        cmd,
                        buffer,
                        image,
                        vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                        &[region],
                    );
                },
                Some(ready),
                Some(lock),
            );
            d.destroy_buffer(buffer, None);
            d.free_memory(memory, None);
        }
    }
}

impl HostApp {
    /// Imports an opaque fd of `allocation_size` bytes (memory type `type_index`, as the
    /// exporter allocated it) as the memory of a new `size`-byte transfer buffer.
    pub fn import_buffer(
        &self,
        fd: std::os::fd::OwnedFd,
        size: u64,
        allocation_size: u64,
        type_index: u32,
    ) -> vk::Buffer {
        use std::os::fd::IntoRawFd;
        let handle = vk::ExternalMemoryHandleTypeFlags::OPAQUE_FD;
        // SAFETY: valid device with VK_KHR_external_memory_fd; the import takes the fd over on
        // success; buffer and memory destroyed in Drop.
        unsafe {
            let mut external = vk::ExternalMemoryBufferCreateInfo::default().handle_types(handle);
            let buffer = self
                .device
                .create_buffer(
                    &vk::BufferCreateInfo::default()
                        .size(size)
                        .usage(
                            vk::BufferUsageFlags::TRANSFER_SRC | vk::BufferUsageFlags::TRANSFER_DST,
                        )
                        .push_next(&mut external),
                    None,
                )
                .unwrap();
            let mut import = vk::ImportMemoryFdInfoKHR::default()
                .handle_type(handle)
                .fd(fd.into_raw_fd());
            let mut dedicated = vk::MemoryDedicatedAllocateInfo::default().buffer(buffer);
            let memory = self
                .device
                .allocate_memory(
                    &vk::MemoryAllocateInfo::default()
                        .allocation_size(allocation_size)
                        .memory_type_index(type_index)
                        .push_next(&mut import)
                        .push_next(&mut dedicated),
                    None,
                )
                .expect("import of the exported fd");
            self.device.bind_buffer_memory(buffer, memory, 0).unwrap();
            self.buffers.lock().unwrap().push((buffer, memory));
            buffer
        }
    }

    /// Imports an opaque fd of a timeline semaphore.
    pub fn import_timeline(&self, fd: std::os::fd::OwnedFd) -> vk::Semaphore {
        use std::os::fd::IntoRawFd;
        let s = self.timeline(0);
        let loader = ash::khr::external_semaphore_fd::Device::new(&self.instance, &self.device);
        // SAFETY: a timeline semaphore of this device with VK_KHR_external_semaphore_fd; the
        // import takes the fd over on success.
        unsafe {
            loader
                .import_semaphore_fd(
                    &vk::ImportSemaphoreFdInfoKHR::default()
                        .semaphore(s)
                        .handle_type(vk::ExternalSemaphoreHandleTypeFlags::OPAQUE_FD)
                        .fd(fd.into_raw_fd()),
                )
                .expect("import of the exported semaphore fd");
        }
        s
    }

    /// Sets a timeline semaphore's value from the CPU.
    pub fn signal(&self, s: vk::Semaphore, value: u64) {
        // SAFETY: a timeline semaphore of this device, below `value`.
        unsafe {
            self.device
                .signal_semaphore(&vk::SemaphoreSignalInfo::default().semaphore(s).value(value))
        }
        .unwrap();
    }

    /// Records `record` into a new command buffer and submits it on the application's queue
    /// (under `lock` when it is shared), signalling `signal`; waits for it, then frees it.
    fn submit_and_wait(
        &self,
        record: impl FnOnce(&ash::Device, vk::CommandBuffer),
        signal: Option<TimelinePoint>,
        lock: Option<&Mutex<()>>,
    ) {
        let d = &self.device;
        // SAFETY: the command buffer and fence are created, used in one waited-for submission
        // and destroyed; the caller vouches for what `record` records.
        unsafe {
            let cmd = d
                .allocate_command_buffers(
                    &vk::CommandBufferAllocateInfo::default()
                        .command_pool(self.pool)
                        .command_buffer_count(1),
                )
                .unwrap()[0];
            d.begin_command_buffer(cmd, &vk::CommandBufferBeginInfo::default())
                .unwrap();
            record(d, cmd);
            d.end_command_buffer(cmd).unwrap();
            let signals: Vec<_> = signal.iter().map(|p| p.semaphore).collect();
            let values: Vec<_> = signal.iter().map(|p| p.value).collect();
            let mut timeline =
                vk::TimelineSemaphoreSubmitInfo::default().signal_semaphore_values(&values);
            let cmds = [cmd];
            let mut submit = vk::SubmitInfo::default()
                .command_buffers(&cmds)
                .signal_semaphores(&signals);
            if signal.is_some() {
                submit = submit.push_next(&mut timeline);
            }
            let fence = d
                .create_fence(&vk::FenceCreateInfo::default(), None)
                .unwrap();
            {
                let _guard = lock.map(|l| l.lock().unwrap());
                d.queue_submit(self.queue, &[submit], fence).unwrap();
            }
            d.wait_for_fences(&[fence], true, u64::MAX).unwrap();
            d.destroy_fence(fence, None);
            d.free_command_buffers(self.pool, &cmds);
        }
    }

    /// Runs `record` in one waited-for submission with `staging` (a host-visible buffer of
    /// `len` bytes) and returns the staging bytes afterwards.
    fn with_staging(
        &self,
        len: u64,
        record: impl FnOnce(&ash::Device, vk::CommandBuffer, vk::Buffer),
    ) -> Vec<u8> {
        let d = &self.device;
        // SAFETY: every object is created, used in one waited-for submission and destroyed.
        unsafe {
            let (staging, memory) = self.staging(len, vk::BufferUsageFlags::TRANSFER_DST);
            self.submit_and_wait(
                |d, cmd| {
                    record(d, cmd, staging);
                    let to_host = vk::MemoryBarrier::default()
                        .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
                        .dst_access_mask(vk::AccessFlags::HOST_READ);
                    d.cmd_pipeline_barrier(
                        cmd,
                        vk::PipelineStageFlags::TRANSFER,
                        vk::PipelineStageFlags::HOST,
                        vk::DependencyFlags::empty(),
                        &[to_host],
                        &[],
                        &[],
                    );
                },
                None,
                None,
            );
            let ptr = d
                .map_memory(memory, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
                .unwrap() as *const u8;
            let bytes = std::slice::from_raw_parts(ptr, usize::try_from(len).unwrap()).to_vec();
            d.unmap_memory(memory);
            d.destroy_buffer(staging, None);
            d.free_memory(memory, None);
            bytes
        }
    }

    /// The first `len` bytes of `buffer`, copied out through a staging buffer.
    pub fn read_buffer(&self, buffer: vk::Buffer, len: u64) -> Vec<u8> {
        self.with_staging(len, |d, cmd, staging| {
            // SAFETY: both buffers are this device's and hold at least `len` bytes.
            unsafe {
                d.cmd_copy_buffer(cmd, buffer, staging, &[vk::BufferCopy::default().size(len)])
            }
        })
    }

    /// Fills all of `buffer` with `word`.
    pub fn fill_buffer(&self, buffer: vk::Buffer, word: u32) {
        self.with_staging(4, |d, cmd, _| {
            // SAFETY: a transfer-destination buffer of this device.
            unsafe { d.cmd_fill_buffer(cmd, buffer, 0, vk::WHOLE_SIZE, word) }
        });
    }
}

impl Drop for HostApp {
    fn drop(&mut self) {
        // SAFETY: GhostStream's context on this device was dropped first (the tests drop it
        // before the application); the device is idle-waited before anything is destroyed.
        unsafe {
            let _ = self.device.device_wait_idle();
            for s in self.semaphores.lock().unwrap().drain(..) {
                self.device.destroy_semaphore(s, None);
            }
            for (buffer, memory) in self.buffers.lock().unwrap().drain(..) {
                self.device.destroy_buffer(buffer, None);
                self.device.free_memory(memory, None);
            }
            for (image, memory) in self.images.lock().unwrap().drain(..) {
                self.device.destroy_image(image, None);
                self.device.free_memory(memory, None);
            }
            self.device.destroy_command_pool(self.pool, None);
            self.device.destroy_device(None);
            self.debug
                .destroy_debug_utils_messenger(self.messenger, None);
            self.instance.destroy_instance(None);
        }
    }
}
