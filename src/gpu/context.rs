//! The Vulkan context: instance, validation canary, device choice, compute queue and allocator.

use std::ffi::{c_void, CStr};
use std::mem::ManuallyDrop;
use std::sync::{Arc, Mutex};

use ash::vk;
use gpu_allocator::vulkan::{Allocator, AllocatorCreateDesc};

use super::GpuError;

/// Which physical device to use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum DeviceSelector {
    /// The best: a discrete GPU, then integrated, then virtual, then a CPU implementation.
    #[default]
    Auto,
    /// The device at this index in Vulkan's enumeration.
    Index(usize),
    /// The first device whose name contains this text (case-insensitive).
    Name(String),
}

/// How to create a context.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GpuOptions {
    /// Which device.
    pub device: DeviceSelector,
    /// Turn on the Khronos validation layer and collect its messages (tests do).
    pub validation: bool,
}

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
        let text = data
            .as_ref()
            .and_then(|d| d.message_as_c_str())
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default();
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
}

/// A Vulkan device with one compute queue, ready to run GhostStream's shaders.
pub struct GpuContext {
    _entry: ash::Entry,
    pub(crate) instance: ash::Instance,
    debug: Option<(ash::ext::debug_utils::Instance, vk::DebugUtilsMessengerEXT)>,
    validation: Option<Arc<ValidationLog>>,
    pub(crate) physical: vk::PhysicalDevice,
    pub(crate) device: ash::Device,
    pub(crate) queue: Mutex<vk::Queue>,
    pub(crate) queue_family: u32,
    pub(crate) allocator: ManuallyDrop<Mutex<Allocator>>,
    info: DeviceInfo,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("device", &self.info)
            .finish()
    }
}

fn kind_rank(t: vk::PhysicalDeviceType) -> (u32, &'static str) {
    match t {
        vk::PhysicalDeviceType::DISCRETE_GPU => (0, "discrete"),
        vk::PhysicalDeviceType::INTEGRATED_GPU => (1, "integrated"),
        vk::PhysicalDeviceType::VIRTUAL_GPU => (2, "virtual"),
        vk::PhysicalDeviceType::CPU => (3, "cpu"),
        _ => (4, "other"),
    }
}

const VALIDATION_LAYER: &CStr = c"VK_LAYER_KHRONOS_validation";

impl GpuContext {
    /// Creates a context on the device `options` chooses.
    pub fn new(options: &GpuOptions) -> Result<Arc<Self>, GpuError> {
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

        let chosen = Self::choose(&instance, &options.device);
        let (physical, queue_family, info) = match chosen {
            Ok(c) => c,
            Err(e) => {
                destroy_instance(&debug);
                return Err(e);
            }
        };
        let priorities = [1.0f32];
        let queues = [vk::DeviceQueueCreateInfo::default()
            .queue_family_index(queue_family)
            .queue_priorities(&priorities)];
        let device_info = vk::DeviceCreateInfo::default().queue_create_infos(&queues);
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
        let allocator = Allocator::new(&AllocatorCreateDesc {
            instance: instance.clone(),
            device: device.clone(),
            physical_device: physical,
            debug_settings: Default::default(),
            buffer_device_address: false,
            allocation_sizes: Default::default(),
        });
        let allocator = match allocator {
            Ok(a) => a,
            Err(e) => {
                // SAFETY: the device has no objects yet.
                unsafe { device.destroy_device(None) };
                destroy_instance(&debug);
                return Err(GpuError::Allocation {
                    what: "allocator".into(),
                    reason: e.to_string(),
                });
            }
        };
        tracing::info!(device = %info.name, kind = %info.kind, "vulkan device chosen");
        Ok(Arc::new(Self {
            _entry: entry,
            instance,
            debug,
            validation,
            physical,
            device,
            queue: Mutex::new(queue),
            queue_family,
            allocator: ManuallyDrop::new(Mutex::new(allocator)),
            info,
        }))
    }

    fn choose(
        instance: &ash::Instance,
        selector: &DeviceSelector,
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
            let (rank, kind) = kind_rank(props.device_type);
            let mut driver_props = vk::PhysicalDeviceDriverProperties::default();
            let mut props2 = vk::PhysicalDeviceProperties2::default().push_next(&mut driver_props);
            // SAFETY: pd is valid and the chain is well formed; driver properties are core in 1.2.
            unsafe { instance.get_physical_device_properties2(pd, &mut props2) };
            let driver = format!(
                "{} {}",
                driver_props
                    .driver_name_as_c_str()
                    .map(|c| c.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                driver_props
                    .driver_info_as_c_str()
                    .map(|c| c.to_string_lossy().into_owned())
                    .unwrap_or_default()
            );
            let info = DeviceInfo {
                name: name.clone(),
                kind: kind.into(),
                api_version: (
                    vk::api_version_major(props.api_version),
                    vk::api_version_minor(props.api_version),
                    vk::api_version_patch(props.api_version),
                ),
                driver,
                timestamp_period_ns: props.limits.timestamp_period as f64,
            };
            candidates.push((index, rank, pd, family as u32, info));
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
        // an Arc of this context; we wait for the queue, free the allocator (which frees its
        // memory blocks) before the device, and destroy the messenger before the instance.
        unsafe {
            let _ = self.device.device_wait_idle();
            ManuallyDrop::drop(&mut self.allocator);
            self.device.destroy_device(None);
            if let Some((loader, m)) = self.debug.take() {
                loader.destroy_debug_utils_messenger(m, None);
            }
            self.instance.destroy_instance(None);
        }
    }
}
