//! The Vulkan context: instance, validation canary, device choice, compute queue and allocator,
//! either created by GhostStream or borrowed from an embedding application ([`HostVulkan`]).
//!
//! # Sharing a queue with the host (external synchronisation)
//! Vulkan requires that no two threads use a `VkQueue` at the same time (`vkQueueSubmit`,
//! `vkQueueWaitIdle`, `vkQueuePresentKHR`, `vkQueueBindSparse`). GhostStream takes
//! [`GpuContext::queue_lock`] around each of its submissions. An application that hands
//! GhostStream a queue it also submits to must take the same lock around its own queue calls
//! (or give GhostStream a queue of its own, which is simpler and faster). GhostStream never calls
//! `vkDeviceWaitIdle` on a borrowed device: it waits for its own fences only, and never
//! destroys the borrowed instance, device or queue.

use crate::config::{DeviceSelector, GpuOptions};
use std::ffi::{c_void, CStr};
use std::mem::ManuallyDrop;
use std::sync::{Arc, Mutex, MutexGuard};

use ash::vk;
use gpu_allocator::vulkan::{Allocator, AllocatorCreateDesc};

use super::clock::{self, GpuClock};
use super::GpuError;

/// Messages the validation layer reported (warnings and errors).
#[derive(Debug, Default)]
pub struct ValidationLog {
    messages: Mutex<Vec<String>>,
}

impl ValidationLog {
    /// Takes the messages collected so far.
    pub fn take(&self) -> Vec<String> {
        self.messages
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }
}

unsafe extern "system" fn validation_callback(
    severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    _types: vk::DebugUtilsMessageTypeFlagsEXT,
    data: *const vk::DebugUtilsMessengerCallbackDataEXT<'_>,
    user: *mut c_void,
) -> vk::Bool32 {
    // SAFETY: the layer passes valid callback data for the duration of the call, and `user` is
    // the ValidationLog that the context keeps alive (in an Arc) until the messenger is destroyed.
    let (message, log) = unsafe {
        let d = data.as_ref();
        let text = d
            .and_then(|d| d.message_as_c_str())
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Layers from 1.4 on no longer put the VUID in the text: name it from the data.
        let id = d
            .and_then(|d| d.message_id_name_as_c_str())
            .map(|c| c.to_string_lossy().into_owned())
            .filter(|id| !id.is_empty() && !text.contains(id.as_str()));
        let text = match id {
            Some(id) => format!("[{id}] {text}"),
            None => text,
        };
        (text, &*(user as *const ValidationLog))
    };
    tracing::warn!(?severity, "vulkan validation: {message}");
    if let Ok(mut m) = log.messages.lock() {
        m.push(format!("{severity:?}: {message}"));
    }
    vk::FALSE
}

/// What a chosen device is.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceInfo {
    /// Its name.
    pub name: String,
    /// Discrete, integrated, virtual or CPU.
    pub kind: String,
    /// Vulkan API version it offers.
    pub api_version: (u32, u32, u32),
    /// Driver name and version text.
    pub driver: String,
    /// Nanoseconds per timestamp tick.
    pub timestamp_period_ns: f64,
    /// The device's UUID (`VkPhysicalDeviceIDProperties::deviceUUID`): the same bytes CUDA
    /// reports for the same GPU (`cuDeviceGetUuid`), which is how the CUDA side finds it.
    pub device_uuid: [u8; 16],
}

/// Device extensions GhostStream enables when the device has them; each path that needs one
/// checks with [`GpuContext::require_extension`].
pub const OPTIONAL_DEVICE_EXTENSIONS: [&CStr; 6] = [
    ash::khr::external_memory_fd::NAME,
    ash::khr::external_semaphore_fd::NAME,
    ash::ext::external_memory_dma_buf::NAME,
    ash::ext::image_drm_format_modifier::NAME,
    ash::ext::queue_family_foreign::NAME,
    ash::ext::calibrated_timestamps::NAME,
];

/// Vulkan objects an embedding application (a game or engine) already created, for GhostStream
/// to work on instead of creating its own. See the module documentation for the queue rules.
#[derive(Clone)]
pub struct HostVulkan {
    /// The application's `vkGetInstanceProcAddr` (from its loader).
    pub get_instance_proc_addr: vk::PFN_vkGetInstanceProcAddr,
    /// The application's instance, created for Vulkan 1.3 or newer.
    pub instance: vk::Instance,
    /// The physical device `device` was created on.
    pub physical_device: vk::PhysicalDevice,
    /// The application's device, with the Vulkan 1.2 `timelineSemaphore` feature enabled.
    pub device: vk::Device,
    /// A queue family of `device` with compute support.
    pub queue_family: u32,
    /// The index of the queue within that family.
    pub queue_index: u32,
    /// The device extensions the application enabled (names such as
    /// `VK_KHR_external_memory_fd`); GhostStream uses only these.
    pub enabled_extensions: Vec<String>,
    /// The lock the application takes around its own use of the queue, when it shares it with
    /// GhostStream; `None` creates a new one (read it back with [`GpuContext::queue_lock`]).
    pub queue_lock: Option<Arc<Mutex<()>>>,
}

impl std::fmt::Debug for HostVulkan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostVulkan")
            .field("instance", &self.instance)
            .field("device", &self.device)
            .field("queue_family", &self.queue_family)
            .field("queue_index", &self.queue_index)
            .field("enabled_extensions", &self.enabled_extensions)
            .finish()
    }
}

/// Who created the instance and device, and so who destroys them.
enum Ownership {
    /// GhostStream: it destroys them (messenger first) when the context drops.
    Own {
        debug: Option<(ash::ext::debug_utils::Instance, vk::DebugUtilsMessengerEXT)>,
    },
    /// The embedding application: GhostStream leaves them alone.
    Host,
}

/// A Vulkan device with one compute queue, ready to run GhostStream's shaders.
pub struct GpuContext {
    entry: ash::Entry,
    pub(crate) instance: ash::Instance,
    ownership: Ownership,
    validation: Option<Arc<ValidationLog>>,
    pub(crate) physical: vk::PhysicalDevice,
    pub(crate) device: ash::Device,
    queue: vk::Queue,
    queue_lock: Arc<Mutex<()>>,
    /// Taken around every use of the video-encode queue (queue 0 of its family).
    video_queue_lock: Mutex<()>,
    pub(crate) queue_family: u32,
    extensions: Vec<String>,
    pub(crate) allocator: ManuallyDrop<Mutex<Allocator>>,
    info: DeviceInfo,
    /// The GPU counter mapped onto CLOCK_MONOTONIC, where the device can sample both.
    clock: Option<GpuClock>,
    /// The video-encode queue family and its codec operations, where the device has one.
    video_encode: Option<(u32, vk::VideoCodecOperationFlagsKHR)>,
    /// `shaderStorageImage{Read,Write}WithoutFormat` are enabled: a pass may load and store a
    /// storage image whose format the shader does not name (a picture's plane views).
    image_stores: bool,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("device", &self.info)
            .finish()
    }
}

const VALIDATION_LAYER: &CStr = c"VK_LAYER_KHRONOS_validation";

impl GpuContext {
    /// Creates a context on the device `options` chooses.
    pub fn new(options: &GpuOptions) -> Result<Arc<Self>, GpuError> {
        Self::create(options, false)
    }

    /// As [`GpuContext::new`], except that [`DeviceSelector::Auto`] passes over CPU-emulated
    /// Vulkan devices (`VK_PHYSICAL_DEVICE_TYPE_CPU`: Mesa's lavapipe, SwiftShader), saying why
    /// in the log: for work the CPU can do without Vulkan (the RGB to YUV conversion), such a
    /// device costs more CPU than libswscale's conversion (measured at 1080p60: 1.10x
    /// wf-recorder's CPU per frame through lavapipe against 0.61x through libswscale). With no
    /// other device it fails with [`GpuError::NoDevice`] naming them. A device asked for by
    /// index or name is taken whatever its type.
    pub fn new_skipping_cpu_devices(options: &GpuOptions) -> Result<Arc<Self>, GpuError> {
        Self::create(options, true)
    }

    fn create(options: &GpuOptions, skip_cpu: bool) -> Result<Arc<Self>, GpuError> {
        // SAFETY: loading the Vulkan loader library; ash checks for the entry points it needs.
        let entry = unsafe { ash::Entry::load() }.map_err(|e| GpuError::NoVulkan {
            reason: e.to_string(),
        })?;
        let mut layers = Vec::new();
        let mut extensions = Vec::new();
        if options.validation {
            // SAFETY: a plain query through a loaded entry.
            let available = unsafe { entry.enumerate_instance_layer_properties() }
                .map_err(GpuError::vk("vkEnumerateInstanceLayerProperties"))?;
            let found = available
                .iter()
                .any(|l| l.layer_name_as_c_str().is_ok_and(|n| n == VALIDATION_LAYER));
            if !found {
                return Err(GpuError::MissingLayer {
                    layer: "VK_LAYER_KHRONOS_validation",
                    fix: "install vulkan-validationlayers",
                });
            }
            layers.push(VALIDATION_LAYER.as_ptr());
            extensions.push(ash::ext::debug_utils::NAME.as_ptr());
        }
        let app = vk::ApplicationInfo::default()
            .application_name(c"ghoststream")
            .engine_name(c"ghoststream")
            .api_version(vk::API_VERSION_1_3);
        let create = vk::InstanceCreateInfo::default()
            .application_info(&app)
            .enabled_layer_names(&layers)
            .enabled_extension_names(&extensions);
        // SAFETY: create info and the strings it points to live for the call.
        let instance = unsafe { entry.create_instance(&create, None) }
            .map_err(GpuError::vk("vkCreateInstance"))?;

        let validation = options
            .validation
            .then(|| Arc::new(ValidationLog::default()));
        let debug = match &validation {
            Some(log) => {
                let loader = ash::ext::debug_utils::Instance::new(&entry, &instance);
                let info = vk::DebugUtilsMessengerCreateInfoEXT::default()
                    .message_severity(
                        vk::DebugUtilsMessageSeverityFlagsEXT::WARNING
                            | vk::DebugUtilsMessageSeverityFlagsEXT::ERROR,
                    )
                    .message_type(
                        vk::DebugUtilsMessageTypeFlagsEXT::GENERAL
                            | vk::DebugUtilsMessageTypeFlagsEXT::VALIDATION
                            | vk::DebugUtilsMessageTypeFlagsEXT::PERFORMANCE,
                    )
                    .pfn_user_callback(Some(validation_callback))
                    .user_data(Arc::as_ptr(log) as *mut c_void);
                // SAFETY: the user data points into the Arc kept in the context, which outlives
                // the messenger (destroyed first in Drop).
                let messenger = unsafe { loader.create_debug_utils_messenger(&info, None) };
                match messenger {
                    Ok(m) => Some((loader, m)),
                    Err(e) => {
                        // SAFETY: nothing was created from the instance yet.
                        unsafe { instance.destroy_instance(None) };
                        return Err(GpuError::vk("vkCreateDebugUtilsMessengerEXT")(e));
                    }
                }
            }
            None => None,
        };
        let destroy_instance =
            |debug: &Option<(ash::ext::debug_utils::Instance, vk::DebugUtilsMessengerEXT)>| {
                // SAFETY: called only on failure paths, when nothing else was created from them.
                unsafe {
                    if let Some((loader, m)) = debug {
                        loader.destroy_debug_utils_messenger(*m, None);
                    }
                    instance.destroy_instance(None);
                }
            };

        let chosen = Self::choose(&instance, &options.device, skip_cpu);
        let (physical, queue_family, info) = match chosen {
            Ok(c) => c,
            Err(e) => {
                destroy_instance(&debug);
                return Err(e);
            }
        };
        let priorities = [1.0f32];
        let mut queues = vec![vk::DeviceQueueCreateInfo::default()
            .queue_family_index(queue_family)
            .queue_priorities(&priorities)];
        // The device's extensions, asked once: the optional ones it has are enabled, and a
        // video-encode queue where it has one (Vulkan Video encode, issue 23).
        let available = Self::extension_names(&instance, physical);
        let mut enabled = Self::optional_extensions(&available);
        let encode = super::video::caps::encode_queue(&instance, physical, &available);
        if let Some((family, _, extensions)) = &encode {
            if *family != queue_family {
                queues.push(
                    vk::DeviceQueueCreateInfo::default()
                        .queue_family_index(*family)
                        .queue_priorities(&priorities),
                );
            }
            enabled.extend(extensions.iter().copied());
        }
        let enabled_ptrs: Vec<_> = enabled.iter().map(|e| e.as_ptr()).collect();
        let mut features12 = vk::PhysicalDeviceVulkan12Features::default().timeline_semaphore(true);
        // Loads and stores of storage images of any format (the processing pass writing a
        // picture's planes straight into an encode input image, the pointer drawn over them),
        // where the device has both.
        // SAFETY: a plain query on a physical device of this instance.
        let offered = unsafe { instance.get_physical_device_features(physical) };
        let image_stores = offered.shader_storage_image_write_without_format == vk::TRUE
            && offered.shader_storage_image_read_without_format == vk::TRUE;
        let features = vk::PhysicalDeviceFeatures::default()
            .shader_storage_image_write_without_format(image_stores)
            .shader_storage_image_read_without_format(image_stores);
        // AV1 encode is used only with its feature enabled (`encode_queue` lists the extension
        // only where the device offers the feature).
        let mut av1_feature = super::video::av1::PhysicalDeviceVideoEncodeAV1FeaturesKHR {
            video_encode_av1: vk::TRUE,
            ..Default::default()
        };
        let device_info = vk::DeviceCreateInfo::default()
            .queue_create_infos(&queues)
            .enabled_extension_names(&enabled_ptrs)
            .enabled_features(&features)
            .push_next(&mut features12);
        let device_info = if enabled.contains(&super::video::av1::KHR_VIDEO_ENCODE_AV1_NAME) {
            device_info.push_next(&mut av1_feature)
        } else {
            device_info
        };
        // Likewise intra refresh (`encode_queue` lists it only with its feature offered).
        let mut refresh_feature =
            super::video::intra_refresh::PhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR {
                video_encode_intra_refresh: vk::TRUE,
                ..Default::default()
            };
        let refresh_name = super::video::intra_refresh::KHR_VIDEO_ENCODE_INTRA_REFRESH_NAME;
        let device_info = if enabled.contains(&refresh_name) {
            device_info.push_next(&mut refresh_feature)
        } else {
            device_info
        };
        // SAFETY: physical comes from this instance; the create info lives for the call.
        let device = match unsafe { instance.create_device(physical, &device_info, None) } {
            Ok(d) => d,
            Err(e) => {
                destroy_instance(&debug);
                return Err(GpuError::vk("vkCreateDevice")(e));
            }
        };
        // SAFETY: the queue family and index 0 were requested at device creation.
        let queue = unsafe { device.get_device_queue(queue_family, 0) };
        let allocator = match Self::allocator(&instance, &device, physical) {
            Ok(a) => a,
            Err(e) => {
                // SAFETY: the device has no objects yet.
                unsafe { device.destroy_device(None) };
                destroy_instance(&debug);
                return Err(e);
            }
        };
        let extensions: Vec<String> = enabled
            .iter()
            .map(|e| e.to_string_lossy().into_owned())
            .collect();
        tracing::info!(device = %info.name, kind = %info.kind, ?extensions, "vulkan device chosen");
        let clock = Self::clock(&entry, &instance, &device, physical, &extensions, &info);
        Ok(Arc::new(Self {
            entry,
            instance,
            ownership: Ownership::Own { debug },
            validation,
            physical,
            device,
            queue,
            queue_lock: Arc::new(Mutex::new(())),
            video_queue_lock: Mutex::new(()),
            queue_family,
            extensions,
            allocator: ManuallyDrop::new(Mutex::new(allocator)),
            clock,
            info,
            video_encode: encode.map(|(family, operations, _)| (family, operations)),
            image_stores,
        }))
    }

    /// A context on an embedding application's instance, device and queue. GhostStream creates
    /// only its own objects on them (memory, pipelines, command pools) and destroys only those.
    ///
    /// # Safety
    /// Every handle in `host` must be valid, belong together (the device made from the
    /// physical device of the instance, the queue family and index requested at device
    /// creation), and stay alive until the returned context and everything made from it
    /// (rings, sessions) are dropped. The device must have been created with the Vulkan 1.2
    /// `timelineSemaphore` feature enabled and with exactly the extensions listed. Whoever else
    /// uses the queue takes [`GpuContext::queue_lock`] around it.
    pub unsafe fn from_host(host: HostVulkan) -> Result<Arc<Self>, GpuError> {
        let static_fn = ash::StaticFn {
            get_instance_proc_addr: host.get_instance_proc_addr,
        };
        // SAFETY: the caller guarantees the function pointer is a working vkGetInstanceProcAddr.
        let entry = unsafe { ash::Entry::from_static_fn(static_fn) };
        // SAFETY: the caller guarantees the instance handle is valid and from that loader.
        let instance = unsafe { ash::Instance::load(entry.static_fn(), host.instance) };
        let (props, families) = {
            // SAFETY: plain queries on the caller's valid physical device.
            unsafe {
                (
                    instance.get_physical_device_properties(host.physical_device),
                    instance.get_physical_device_queue_family_properties(host.physical_device),
                )
            }
        };
        if props.api_version < vk::API_VERSION_1_3 {
            return Err(GpuError::Unsupported {
                what: "run on the application's device".into(),
                reason: format!(
                    "it offers Vulkan {}.{}; GhostStream needs 1.3",
                    vk::api_version_major(props.api_version),
                    vk::api_version_minor(props.api_version)
                ),
            });
        }
        let compute = families
            .get(host.queue_family as usize)
            .is_some_and(|f| f.queue_flags.contains(vk::QueueFlags::COMPUTE));
        if !compute {
            return Err(GpuError::Invalid {
                what: format!("queue family {}", host.queue_family),
                reason: format!(
                    "the device has {} queue families and this one has no compute support; pass a compute-capable family",
                    families.len()
                ),
            });
        }
        // SAFETY: the caller guarantees the device was made from this instance's physical device.
        let device = unsafe { ash::Device::load(instance.fp_v1_0(), host.device) };
        // SAFETY: the caller guarantees the family and index were requested at device creation.
        let queue = unsafe { device.get_device_queue(host.queue_family, host.queue_index) };
        let allocator = Self::allocator(&instance, &device, host.physical_device)?;
        let info = Self::describe(&instance, host.physical_device, &props);
        tracing::info!(device = %info.name, "vulkan device borrowed from the application");
        let clock = Self::clock(
            &entry,
            &instance,
            &device,
            host.physical_device,
            &host.enabled_extensions,
            &info,
        );
        Ok(Arc::new(Self {
            entry,
            instance,
            ownership: Ownership::Host,
            validation: None,
            physical: host.physical_device,
            device,
            queue,
            queue_lock: host.queue_lock.unwrap_or_default(),
            video_queue_lock: Mutex::new(()),
            queue_family: host.queue_family,
            clock,
            extensions: host.enabled_extensions,
            allocator: ManuallyDrop::new(Mutex::new(allocator)),
            info,
            // An application's device: its video queues are its own to share (not yet asked).
            video_encode: None,
            // Its enabled features are not known here: the passes that need this one stay off.
            image_stores: false,
        }))
    }

    fn allocator(
        instance: &ash::Instance,
        device: &ash::Device,
        physical: vk::PhysicalDevice,
    ) -> Result<Allocator, GpuError> {
        Allocator::new(&AllocatorCreateDesc {
            instance: instance.clone(),
            device: device.clone(),
            physical_device: physical,
            debug_settings: Default::default(),
            buffer_device_address: false,
            allocation_sizes: Default::default(),
        })
        .map_err(|e| GpuError::Allocation {
            what: "allocator".into(),
            reason: e.to_string(),
        })
    }

    /// The GPU clock mapping, when `device` has VK_EXT_calibrated_timestamps enabled and can
    /// sample both its counter and CLOCK_MONOTONIC.
    fn clock(
        entry: &ash::Entry,
        instance: &ash::Instance,
        device: &ash::Device,
        physical: vk::PhysicalDevice,
        extensions: &[String],
        info: &DeviceInfo,
    ) -> Option<GpuClock> {
        let name = ash::ext::calibrated_timestamps::NAME.to_str().ok()?;
        (extensions.iter().any(|e| e == name)
            && clock::supports_monotonic(entry, instance, physical))
        .then(|| GpuClock::new(instance, device, info.timestamp_period_ns))
    }

    /// The `CLOCK_MONOTONIC` time of a GPU timestamp from this device, where the device can map
    /// it (VK_EXT_calibrated_timestamps with both time domains).
    pub(crate) fn gpu_time_to_monotonic(&self, ticks: u64) -> Option<crate::time::Timestamp> {
        self.clock.as_ref()?.to_monotonic(ticks)
    }

    /// True when GPU timestamps map onto `CLOCK_MONOTONIC` on this device.
    pub fn maps_gpu_time(&self) -> bool {
        self.clock.is_some()
    }

    /// The names of every device extension `physical` has.
    fn extension_names(instance: &ash::Instance, physical: vk::PhysicalDevice) -> Vec<String> {
        // SAFETY: a plain query on a valid physical device.
        unsafe { instance.enumerate_device_extension_properties(physical) }
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e.extension_name_as_c_str().ok())
            .map(|n| n.to_string_lossy().into_owned())
            .collect()
    }

    /// The Vulkan loader the context was made through.
    pub(crate) fn entry(&self) -> &ash::Entry {
        &self.entry
    }

    /// The device's video-encode queue family and the codec operations it encodes, where the
    /// context created one (Vulkan Video encode).
    pub fn video_encode_family(&self) -> Option<(u32, vk::VideoCodecOperationFlagsKHR)> {
        self.video_encode
    }

    /// The queue family of the context's compute queue (the passes' queue).
    pub fn queue_family(&self) -> u32 {
        self.queue_family
    }

    /// Whether a pass may load and store storage images whose format the shader does not name
    /// (`shaderStorageImageReadWithoutFormat` and `...WriteWithoutFormat`, enabled where the
    /// context made the device and the device has both).
    pub fn image_stores(&self) -> bool {
        self.image_stores
    }

    /// The optional extensions (see [`OPTIONAL_DEVICE_EXTENSIONS`]) among `available`.
    fn optional_extensions(available: &[String]) -> Vec<&'static CStr> {
        OPTIONAL_DEVICE_EXTENSIONS
            .into_iter()
            .filter(|want| {
                want.to_str()
                    .is_ok_and(|w| available.iter().any(|a| a == w))
            })
            .collect()
    }

    /// The video-encode queue (queue 0 of [`Self::video_encode_family`]), locked: the compute
    /// queue's lock when the family is the compute family (then they are one queue). `None`
    /// without a video-encode queue.
    pub(crate) fn lock_video_queue(
        &self,
    ) -> Result<Option<(MutexGuard<'_, ()>, vk::Queue)>, GpuError> {
        let Some((family, _)) = self.video_encode else {
            return Ok(None);
        };
        if family == self.queue_family {
            return self.lock_queue().map(Some);
        }
        let guard = self
            .video_queue_lock
            .lock()
            .map_err(|_| GpuError::Invalid {
                what: "video queue lock".into(),
                reason: "a thread panicked while holding it".into(),
            })?;
        // SAFETY: the family was requested with one queue at device creation.
        let queue = unsafe { self.device.get_device_queue(family, 0) };
        Ok(Some((guard, queue)))
    }

    /// The queue GhostStream submits to, locked: hold the guard while calling
    /// `vkQueueSubmit` (or any queue function) on it.
    pub(crate) fn lock_queue(&self) -> Result<(MutexGuard<'_, ()>, vk::Queue), GpuError> {
        let guard = self.queue_lock.lock().map_err(|_| GpuError::Invalid {
            what: "queue lock".into(),
            reason: "a thread panicked while holding it".into(),
        })?;
        Ok((guard, self.queue))
    }

    /// The lock GhostStream takes around every use of its queue. An application sharing the
    /// queue takes it around its own `vkQueueSubmit`/`vkQueuePresentKHR` calls.
    pub fn queue_lock(&self) -> Arc<Mutex<()>> {
        Arc::clone(&self.queue_lock)
    }

    /// The device extensions enabled on this context's device.
    pub fn enabled_extensions(&self) -> &[String] {
        &self.extensions
    }

    /// True when `extension` (a name such as `VK_KHR_external_memory_fd`) is enabled on the
    /// device.
    pub fn has_extension(&self, extension: &str) -> bool {
        self.extensions.iter().any(|e| e == extension)
    }

    /// Fails with [`GpuError::MissingExtension`] when `extension` is not enabled on the device.
    pub fn require_extension(
        &self,
        extension: &'static CStr,
        needed_for: &'static str,
    ) -> Result<(), GpuError> {
        let name = extension.to_string_lossy();
        if self.has_extension(&name) {
            return Ok(());
        }
        Err(GpuError::MissingExtension {
            extension: name.into_owned(),
            needed_for,
            device: self.info.name.clone(),
        })
    }

    /// The raw handles: instance, physical device, device, queue and its family (for an
    /// application that shares them, or interop such as CUDA).
    pub fn raw_handles(&self) -> (vk::Instance, vk::PhysicalDevice, vk::Device, vk::Queue, u32) {
        (
            self.instance.handle(),
            self.physical,
            self.device.handle(),
            self.queue,
            self.queue_family,
        )
    }

    /// What a physical device is.
    fn describe(
        instance: &ash::Instance,
        pd: vk::PhysicalDevice,
        props: &vk::PhysicalDeviceProperties,
    ) -> DeviceInfo {
        let (_, kind) = super::conv::kind_rank(props.device_type);
        let mut driver_props = vk::PhysicalDeviceDriverProperties::default();
        let mut id_props = vk::PhysicalDeviceIDProperties::default();
        let mut props2 = vk::PhysicalDeviceProperties2::default()
            .push_next(&mut driver_props)
            .push_next(&mut id_props);
        // SAFETY: pd is valid and the chain is well formed; driver properties are core in 1.2,
        // ID properties in 1.1.
        unsafe { instance.get_physical_device_properties2(pd, &mut props2) };
        let text = |c: Result<&CStr, _>| c.map(|c| c.to_string_lossy().into_owned());
        DeviceInfo {
            name: text(props.device_name_as_c_str()).unwrap_or_default(),
            kind: kind.into(),
            api_version: (
                vk::api_version_major(props.api_version),
                vk::api_version_minor(props.api_version),
                vk::api_version_patch(props.api_version),
            ),
            driver: format!(
                "{} {}",
                text(driver_props.driver_name_as_c_str()).unwrap_or_default(),
                text(driver_props.driver_info_as_c_str()).unwrap_or_default()
            ),
            timestamp_period_ns: f64::from(props.limits.timestamp_period),
            device_uuid: id_props.device_uuid,
        }
    }

    /// The device `selector` names; `skip_cpu` passes over CPU-emulated devices when the
    /// selector is [`DeviceSelector::Auto`].
    fn choose(
        instance: &ash::Instance,
        selector: &DeviceSelector,
        skip_cpu: bool,
    ) -> Result<(vk::PhysicalDevice, u32, DeviceInfo), GpuError> {
        // SAFETY: plain queries on a valid instance.
        let devices = unsafe { instance.enumerate_physical_devices() }
            .map_err(GpuError::vk("vkEnumeratePhysicalDevices"))?;
        let mut candidates = Vec::new();
        let mut names = Vec::new();
        for (index, &pd) in devices.iter().enumerate() {
            // SAFETY: pd comes from this instance.
            let (props, families) = unsafe {
                (
                    instance.get_physical_device_properties(pd),
                    instance.get_physical_device_queue_family_properties(pd),
                )
            };
            let name = props
                .device_name_as_c_str()
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or_default();
            names.push(format!("{index}: {name}"));
            let Some(family) = families
                .iter()
                .position(|f| f.queue_flags.contains(vk::QueueFlags::COMPUTE))
            else {
                continue;
            };
            if props.api_version < vk::API_VERSION_1_3 {
                continue;
            }
            let (rank, _) = super::conv::kind_rank(props.device_type);
            let info = Self::describe(instance, pd, &props);
            candidates.push((index, rank, pd, super::vk_u32(family), info));
        }
        let cpu_rank = super::conv::kind_rank(vk::PhysicalDeviceType::CPU).0;
        let mut passed_over = Vec::new();
        if skip_cpu && *selector == DeviceSelector::Auto {
            candidates.retain(|c| {
                if c.1 != cpu_rank {
                    return true;
                }
                tracing::info!(
                    device = %c.4.name,
                    "passed over a CPU-emulated Vulkan device: converting RGB to YUV on it costs more CPU than libswscale (ask for it with GpuChoice::Require, --gpu require)"
                );
                passed_over.push(format!("{}: {}", c.0, c.4.name));
                false
            });
        }
        let pick = match selector {
            DeviceSelector::Auto => candidates.iter().min_by_key(|c| (c.1, c.0)),
            DeviceSelector::Index(i) => candidates.iter().find(|c| c.0 == *i),
            DeviceSelector::Name(n) => {
                let n = n.to_lowercase();
                candidates
                    .iter()
                    .find(|c| c.4.name.to_lowercase().contains(&n))
            }
        };
        match pick {
            Some((_, _, pd, family, info)) => Ok((*pd, *family, info.clone())),
            None if !passed_over.is_empty() => Err(GpuError::NoDevice {
                wanted: format!(
                    "Auto, which passes over CPU-emulated devices ({}: converting on one costs more CPU than libswscale; GpuChoice::Require, --gpu require, takes it)",
                    passed_over.join(", ")
                ),
                seen: names.join(", "),
            }),
            None => Err(GpuError::NoDevice {
                wanted: format!("{selector:?}"),
                seen: if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                },
            }),
        }
    }

    /// The chosen device.
    pub fn device_info(&self) -> &DeviceInfo {
        &self.info
    }

    /// Validation messages collected since the last call (empty when validation is off).
    pub fn take_validation_messages(&self) -> Vec<String> {
        self.validation
            .as_ref()
            .map(|v| v.take())
            .unwrap_or_default()
    }
}

impl Drop for GpuContext {
    fn drop(&mut self) {
        // SAFETY: every object created from this device was destroyed by its owner, which holds
        // an Arc of this context and waited for its own submissions. The allocator (which frees
        // its memory blocks) goes before the device. A device we own is idle-waited and
        // destroyed, messenger before instance; a borrowed one is left to the application.
        unsafe {
            if let Ownership::Own { debug } = &mut self.ownership {
                let _ = self.device.device_wait_idle();
                ManuallyDrop::drop(&mut self.allocator);
                self.device.destroy_device(None);
                if let Some((loader, m)) = debug.take() {
                    loader.destroy_debug_utils_messenger(m, None);
                }
                self.instance.destroy_instance(None);
            } else {
                ManuallyDrop::drop(&mut self.allocator);
            }
        }
    }
}
