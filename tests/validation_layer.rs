//! Which Khronos validation layer the GPU tests run under, and that it catches misuse. Video
//! encode needs layer 1.4.303 or newer (the first that checks AV1 encode); Debian 12 has
//! 1.3.239, so CI runs the encode tests through `.ci/with-vvl-trixie` (trixie's 1.4.x layer,
//! fetched privately by `.ci/get-vulkan-validation-trixie.sh`). With GHOSTSTREAM_REQUIRE_VVL14
//! set, an older or missing layer is a failure; otherwise the version check prints SKIPPED.

use std::ffi::c_void;
use std::sync::{Arc, Mutex};

use ghoststream::gpu::ash::{self, vk};

/// The first layer release that validates the AV1 encode structures.
const MIN_VERSION: u32 = vk::make_api_version(0, 1, 4, 303);
const LAYER: &std::ffi::CStr = c"VK_LAYER_KHRONOS_validation";

fn version(v: u32) -> String {
    format!(
        "{}.{}.{}",
        vk::api_version_major(v),
        vk::api_version_minor(v),
        vk::api_version_patch(v)
    )
}

/// (message ID name, message) of each warning or error the layer reported.
type Messages = Mutex<Vec<(String, String)>>;

unsafe extern "system" fn collect(
    _severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    _types: vk::DebugUtilsMessageTypeFlagsEXT,
    data: *const vk::DebugUtilsMessengerCallbackDataEXT<'_>,
    user: *mut c_void,
) -> vk::Bool32 {
    // SAFETY: the layer passes valid callback data for the duration of the call; `user` is the
    // Arc'd list the test keeps alive until the messenger is destroyed.
    unsafe {
        if let Some(d) = data.as_ref() {
            let id = d
                .message_id_name_as_c_str()
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = d
                .message_as_c_str()
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Ok(mut m) = (*(user as *const Messages)).lock() {
                m.push((id, text));
            }
        }
    }
    vk::FALSE
}

/// The mapped files of this process whose path names the validation layer's library.
fn mapped_layer_libraries() -> Vec<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps");
    let mut paths: Vec<String> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.contains("libVkLayer_khronos_validation"))
        .map(str::to_owned)
        .collect();
    paths.dedup();
    paths
}

#[test]
fn the_validation_layer_is_1_4_303_or_newer_under_the_trixie_runner() {
    let require = std::env::var_os("GHOSTSTREAM_REQUIRE_VVL14").is_some();
    let skip = |reason: String| {
        assert!(!require, "GHOSTSTREAM_REQUIRE_VVL14 is set but {reason}");
        eprintln!(
            "SKIPPED: {reason}; run this test through .ci/with-vvl-trixie with GHOSTSTREAM_REQUIRE_VVL14=1 to make this a failure"
        );
    };
    // SAFETY: loading the Vulkan loader; ash checks for the entry points it needs.
    let entry = match unsafe { ash::Entry::load() } {
        Ok(e) => e,
        Err(e) => return skip(format!("no Vulkan loader ({e})")),
    };
    // SAFETY: a plain query through a loaded entry.
    let layers = unsafe { entry.enumerate_instance_layer_properties() }
        .expect("vkEnumerateInstanceLayerProperties");
    let Some(layer) = layers
        .iter()
        .find(|l| l.layer_name_as_c_str().is_ok_and(|n| n == LAYER))
    else {
        return skip("VK_LAYER_KHRONOS_validation is not installed".into());
    };
    eprintln!(
        "VK_LAYER_KHRONOS_validation: spec version {}, implementation version {}, VK_LAYER_PATH={:?}",
        version(layer.spec_version),
        layer.implementation_version,
        std::env::var_os("VK_LAYER_PATH")
    );
    if layer.spec_version < MIN_VERSION {
        return skip(format!(
            "the validation layer is {}, older than {} (the first that checks video encode)",
            version(layer.spec_version),
            version(MIN_VERSION)
        ));
    }
    // The layer's library loads into this process (its glibc and libstdc++ needs are met).
    let names = [LAYER.as_ptr()];
    let app = vk::ApplicationInfo::default().api_version(vk::API_VERSION_1_3);
    // SAFETY: the create info and the strings it points to live for the call.
    let instance = unsafe {
        entry.create_instance(
            &vk::InstanceCreateInfo::default()
                .application_info(&app)
                .enabled_layer_names(&names),
            None,
        )
    }
    .unwrap_or_else(|e| {
        panic!(
            "vkCreateInstance with the {} layer: {e:?}",
            version(layer.spec_version)
        )
    });
    let libraries = mapped_layer_libraries();
    // SAFETY: nothing was created from the instance.
    unsafe { instance.destroy_instance(None) };
    eprintln!("layer library loaded: {libraries:?}");
    assert_eq!(
        libraries.len(),
        1,
        "expected one validation layer library mapped, got {libraries:?}"
    );
    if let Ok(path) = std::env::var("VK_LAYER_PATH") {
        let manifest = std::fs::read_to_string(format!("{path}/VkLayer_khronos_validation.json"))
            .expect("the runner's layer manifest");
        assert!(
            manifest.contains(&format!("\"library_path\": \"{}\"", libraries[0])),
            "the mapped layer {} is not the one the manifest in {path} names",
            libraries[0]
        );
    }
}

/// The canary: a zero-sized buffer (VUID-VkBufferCreateInfo-size-00912) is reported, so a
/// silent layer means silence and not a layer that checks nothing.
#[test]
fn the_validation_layer_reports_a_deliberate_misuse() {
    let require = std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_some();
    // SAFETY: the test loads the Vulkan loader; each create info lives for its call and every
    // object is destroyed before the test returns, the messenger after the device.
    unsafe {
        let setup = || -> Result<_, String> {
            let entry = ash::Entry::load().map_err(|e| e.to_string())?;
            let names = [LAYER.as_ptr()];
            let extensions = [ash::ext::debug_utils::NAME.as_ptr()];
            let app = vk::ApplicationInfo::default().api_version(vk::API_VERSION_1_3);
            let instance = entry
                .create_instance(
                    &vk::InstanceCreateInfo::default()
                        .application_info(&app)
                        .enabled_layer_names(&names)
                        .enabled_extension_names(&extensions),
                    None,
                )
                .map_err(|e| format!("vkCreateInstance with the validation layer: {e:?}"))?;
            Ok((entry, instance))
        };
        let (entry, instance) = match setup() {
            Ok(s) => s,
            Err(e) if require => panic!("GHOSTSTREAM_REQUIRE_GPU is set but {e}"),
            Err(e) => {
                eprintln!("SKIPPED: {e}; set GHOSTSTREAM_REQUIRE_GPU=1 to make this a failure");
                return;
            }
        };
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
                    .user_data(Arc::as_ptr(&messages).cast_mut().cast()),
                None,
            )
            .expect("vkCreateDebugUtilsMessengerEXT");
        let physical = instance.enumerate_physical_devices().expect("devices");
        let Some(&physical) = physical.first() else {
            debug.destroy_debug_utils_messenger(messenger, None);
            instance.destroy_instance(None);
            assert!(
                !require,
                "GHOSTSTREAM_REQUIRE_GPU is set but there is no Vulkan device"
            );
            eprintln!("SKIPPED: no Vulkan device");
            return;
        };
        let priorities = [1.0f32];
        let queues = [vk::DeviceQueueCreateInfo::default()
            .queue_family_index(0)
            .queue_priorities(&priorities)];
        let device = instance
            .create_device(
                physical,
                &vk::DeviceCreateInfo::default().queue_create_infos(&queues),
                None,
            )
            .expect("vkCreateDevice");
        let before: Vec<_> = std::mem::take(&mut *messages.lock().unwrap());
        assert!(before.is_empty(), "messages before the misuse: {before:?}");
        let info = vk::BufferCreateInfo::default()
            .size(0)
            .usage(vk::BufferUsageFlags::STORAGE_BUFFER);
        if let Ok(buffer) = device.create_buffer(&info, None) {
            device.destroy_buffer(buffer, None);
        }
        device.destroy_device(None);
        debug.destroy_debug_utils_messenger(messenger, None);
        instance.destroy_instance(None);
        let got = std::mem::take(&mut *messages.lock().unwrap());
        eprintln!("the layer reported: {got:?}");
        let ids: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["VUID-VkBufferCreateInfo-size-00912"], "{got:?}");
    }
}
