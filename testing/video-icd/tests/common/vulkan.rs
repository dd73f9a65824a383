//! The raw-Vulkan setup the driver's loader tests share: the validation layer's messages, an
//! instance through the loader (with the layer when it checks video encode), the H.264 High
//! profile and its encode capabilities, the compute + encode device, and memory types.

use std::ffi::{c_char, c_void, CStr};
use std::sync::Mutex;

use ash::vk;
use ash::vk::native;
use ghoststream_video_icd::{COMPUTE_FAMILY, ENCODE_FAMILY, MEMORY_TYPES};

use super::skip;

/// The first validation layer 1.4 release that knows the video-encode structures.
pub const VVL_MIN: u32 = vk::make_api_version(0, 1, 4, 303);

/// What the validation layer reported: "VUID: message" lines.
static MESSAGES: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "system" fn on_message(
    severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    _kind: vk::DebugUtilsMessageTypeFlagsEXT,
    data: *const vk::DebugUtilsMessengerCallbackDataEXT<'_>,
    _user: *mut c_void,
) -> vk::Bool32 {
    if severity.intersects(
        vk::DebugUtilsMessageSeverityFlagsEXT::WARNING
            | vk::DebugUtilsMessageSeverityFlagsEXT::ERROR,
    ) {
        // SAFETY: the layer passes valid callback data for the duration of the call.
        let d = unsafe { &*data };
        let text = |p: *const c_char| {
            if p.is_null() {
                String::new()
            } else {
                // SAFETY: not NULL, so NUL-terminated (the layer's contract).
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        };
        let line = format!("{}: {}", text(d.p_message_id_name), text(d.p_message));
        MESSAGES
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line);
    }
    vk::FALSE
}

/// The layer's messages since the last call.
pub fn take_messages() -> Vec<String> {
    std::mem::take(&mut *MESSAGES.lock().unwrap_or_else(|p| p.into_inner()))
}

/// The H.264 High 4:2:0 8-bit encode profile (chain them with `push_next`).
pub fn h264_high() -> (
    vk::VideoProfileInfoKHR<'static>,
    vk::VideoEncodeH264ProfileInfoKHR<'static>,
) {
    (
        vk::VideoProfileInfoKHR::default()
            .video_codec_operation(vk::VideoCodecOperationFlagsKHR::ENCODE_H264)
            .chroma_subsampling(vk::VideoChromaSubsamplingFlagsKHR::TYPE_420)
            .luma_bit_depth(vk::VideoComponentBitDepthFlagsKHR::TYPE_8)
            .chroma_bit_depth(vk::VideoComponentBitDepthFlagsKHR::TYPE_8),
        vk::VideoEncodeH264ProfileInfoKHR::default()
            .std_profile_idc(native::StdVideoH264ProfileIdc_STD_VIDEO_H264_PROFILE_IDC_HIGH),
    )
}

/// A memory type index from `bits` with `flags`.
pub fn memory_type(bits: u32, flags: vk::MemoryPropertyFlags) -> u32 {
    let i = MEMORY_TYPES
        .iter()
        .enumerate()
        .position(|(i, f)| bits & (1 << i) != 0 && f.contains(flags))
        .expect("a memory type that fits");
    u32::try_from(i).unwrap()
}

/// The H.264 High encode capabilities of `pd` (video, encode, H.264; their chains cleared).
pub fn h264_capabilities(
    entry: &ash::Entry,
    instance: &ash::Instance,
    pd: vk::PhysicalDevice,
) -> (
    vk::VideoCapabilitiesKHR<'static>,
    vk::VideoEncodeCapabilitiesKHR<'static>,
    vk::VideoEncodeH264CapabilitiesKHR<'static>,
) {
    let video_queue = ash::khr::video_queue::Instance::new(entry, instance);
    let (profile, mut h264_profile) = h264_high();
    let profile = profile.push_next(&mut h264_profile);
    let mut h264 = vk::VideoEncodeH264CapabilitiesKHR::default();
    let mut encode = vk::VideoEncodeCapabilitiesKHR::default();
    let mut video = vk::VideoCapabilitiesKHR::default();
    encode.p_next = (&raw mut h264).cast();
    video.p_next = (&raw mut encode).cast();
    // SAFETY: a well-formed profile and output chain (all three live through the call).
    unsafe {
        (video_queue.fp().get_physical_device_video_capabilities_khr)(
            pd,
            &raw const profile,
            &raw mut video,
        )
    }
    .result()
    .expect("H.264 High capabilities");
    video.p_next = std::ptr::null_mut();
    encode.p_next = std::ptr::null_mut();
    (video, encode, h264)
}

/// An instance through the loader, with the validation layer and a messenger feeding
/// [`take_messages`] when the layer is one that checks video encode.
pub struct Instance {
    /// The loader.
    pub entry: ash::Entry,
    /// The instance (API 1.3).
    pub instance: ash::Instance,
    /// Whether the layer (1.4.303 or newer) is on.
    pub validated: bool,
    debug: ash::ext::debug_utils::Instance,
    messenger: Option<vk::DebugUtilsMessengerEXT>,
}

impl Instance {
    /// Loads the loader and creates the instance; `None`, after [`skip`], without a loader.
    /// Fails under GHOSTSTREAM_REQUIRE_VVL14 when the layer is older or missing.
    pub fn new() -> Option<Self> {
        // SAFETY: loading the system's Vulkan loader.
        let entry = match unsafe { ash::Entry::load() } {
            Ok(e) => e,
            Err(e) => {
                skip(&format!("no Vulkan loader ({e})"));
                return None;
            }
        };
        // The validation layer, when it is one that checks video encode.
        // SAFETY: a plain global query.
        let layers = unsafe { entry.enumerate_instance_layer_properties() }.unwrap_or_default();
        let layer = layers.iter().find(|l| {
            l.layer_name_as_c_str()
                .is_ok_and(|n| n == c"VK_LAYER_KHRONOS_validation")
        });
        let validated = layer.is_some_and(|l| l.spec_version >= VVL_MIN);
        if !validated {
            let found = layer.map_or("none".to_string(), |l| {
                format!(
                    "{}.{}.{}",
                    vk::api_version_major(l.spec_version),
                    vk::api_version_minor(l.spec_version),
                    vk::api_version_patch(l.spec_version)
                )
            });
            assert!(
                std::env::var_os("GHOSTSTREAM_REQUIRE_VVL14").is_none(),
                "GHOSTSTREAM_REQUIRE_VVL14 is set but the validation layer is {found} (1.4.303 or newer checks video encode)"
            );
            eprintln!(
                "validation layer {found} predates video-encode checking: the driver's checks run without it; run through .ci/with-vvl-trixie for the layer's"
            );
        }
        let layer_names = [c"VK_LAYER_KHRONOS_validation".as_ptr()];
        let instance_extensions = [ash::ext::debug_utils::NAME.as_ptr()];
        let app = vk::ApplicationInfo::default().api_version(vk::API_VERSION_1_3);
        let mut messenger_info = vk::DebugUtilsMessengerCreateInfoEXT::default()
            .message_severity(
                vk::DebugUtilsMessageSeverityFlagsEXT::WARNING
                    | vk::DebugUtilsMessageSeverityFlagsEXT::ERROR,
            )
            .message_type(
                vk::DebugUtilsMessageTypeFlagsEXT::VALIDATION
                    | vk::DebugUtilsMessageTypeFlagsEXT::GENERAL
                    | vk::DebugUtilsMessageTypeFlagsEXT::PERFORMANCE,
            )
            .pfn_user_callback(Some(on_message));
        let mut instance_info = vk::InstanceCreateInfo::default().application_info(&app);
        if validated {
            instance_info = instance_info
                .enabled_layer_names(&layer_names)
                .enabled_extension_names(&instance_extensions)
                .push_next(&mut messenger_info);
        }
        // SAFETY: a well-formed create info.
        let instance = unsafe { entry.create_instance(&instance_info, None) }
            .expect("vkCreateInstance through the loader");
        let debug = ash::ext::debug_utils::Instance::new(&entry, &instance);
        let messenger = validated.then(|| {
            // SAFETY: the instance has VK_EXT_debug_utils (from the layer); the callback is a
            // plain function that outlives the messenger.
            unsafe { debug.create_debug_utils_messenger(&messenger_info, None) }
                .expect("vkCreateDebugUtilsMessengerEXT")
        });
        Some(Self {
            entry,
            instance,
            validated,
            debug,
            messenger,
        })
    }

    /// The first physical device (the test driver's only one).
    pub fn physical_device(&self) -> vk::PhysicalDevice {
        // SAFETY: a plain query.
        unsafe { self.instance.enumerate_physical_devices() }.unwrap()[0]
    }

    /// A device of `pd` with one compute and one encode queue (after checking there are
    /// exactly those two families), `extensions`, synchronization2 and sampler YCbCr
    /// conversion, and timeline semaphores when `timeline`.
    pub fn compute_and_encode_device(
        &self,
        pd: vk::PhysicalDevice,
        extensions: &[*const c_char],
        timeline: bool,
    ) -> ash::Device {
        self.compute_and_encode_device_with(pd, extensions, timeline, None)
    }

    /// [`Instance::compute_and_encode_device`] with one more feature structure (`extra`) in the
    /// create info's chain.
    pub fn compute_and_encode_device_with(
        &self,
        pd: vk::PhysicalDevice,
        extensions: &[*const c_char],
        timeline: bool,
        extra: Option<&mut dyn vk::ExtendsDeviceCreateInfo>,
    ) -> ash::Device {
        // The families an application looks at before creating queues of them.
        // SAFETY: a plain query.
        let families = unsafe {
            self.instance
                .get_physical_device_queue_family_properties(pd)
        };
        assert_eq!(families.len(), 2);
        let priorities = [1.0f32];
        let queues = [
            vk::DeviceQueueCreateInfo::default()
                .queue_family_index(COMPUTE_FAMILY)
                .queue_priorities(&priorities),
            vk::DeviceQueueCreateInfo::default()
                .queue_family_index(ENCODE_FAMILY)
                .queue_priorities(&priorities),
        ];
        let mut features13 = vk::PhysicalDeviceVulkan13Features::default().synchronization2(true);
        let mut features12 = vk::PhysicalDeviceVulkan12Features::default().timeline_semaphore(true);
        let mut features11 =
            vk::PhysicalDeviceVulkan11Features::default().sampler_ycbcr_conversion(true);
        let mut device_info = vk::DeviceCreateInfo::default()
            .queue_create_infos(&queues)
            .enabled_extension_names(extensions)
            .push_next(&mut features13);
        if timeline {
            device_info = device_info.push_next(&mut features12);
        }
        let mut device_info = device_info.push_next(&mut features11);
        if let Some(extra) = extra {
            device_info = device_info.push_next(extra);
        }
        // SAFETY: a well-formed create info.
        unsafe { self.instance.create_device(pd, &device_info, None) }.expect("vkCreateDevice")
    }

    /// Destroys the messenger and the instance.
    ///
    /// # Safety
    /// Every child of the instance (the device first) is destroyed.
    pub unsafe fn destroy(self) {
        // SAFETY: the caller's contract; each destroyed once.
        unsafe {
            if let Some(m) = self.messenger {
                self.debug.destroy_debug_utils_messenger(m, None);
            }
            self.instance.destroy_instance(None);
        }
    }
}
