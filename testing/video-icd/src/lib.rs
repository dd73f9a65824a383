//! A Vulkan driver (ICD) for GhostStream's tests: one physical device with a compute + transfer
//! queue family and a video-encode queue family, the capabilities of a real driver (one table
//! per modelled driver, [`caps`]), exactly the entry points GhostStream uses so far, and a log
//! of every call ([`log`]).
//!
//! The Vulkan loader finds the built `libghoststream_video_icd.so` through a manifest
//! ([`manifest_json`]) named by `VK_DRIVER_FILES`. It speaks the Loader and Driver Interface
//! up to version 7: `vk_icdNegotiateLoaderICDInterfaceVersion`, `vk_icdGetInstanceProcAddr`
//! and `vk_icdGetPhysicalDeviceProcAddr` are exported (and reachable through
//! `vk_icdGetInstanceProcAddr`); every dispatchable handle points at a slot holding
//! `ICD_LOADER_MAGIC` for the loader's dispatch table. An entry point it does not implement is
//! NULL from every `GetProcAddr`, so a missing one is visible (and logged).
//!
//! The modelled driver is chosen by `GHOSTSTREAM_ICD_TABLE` ([`caps::TABLE_ENV`]), read once
//! when the driver first answers: `nvidia` (the default: [`caps::NVIDIA_RTX_4090`]), `radv`
//! ([`caps::AMD_RADV_RX_7900_XTX`], Mesa RADV on RDNA3), `radv-rdna4`
//! ([`caps::AMD_RADV_RX_9070_XT`], RADV on RDNA4) or `anv` ([`caps::INTEL_ANV_ARC_A770`],
//! Mesa ANV on DG2, which encodes no AV1). Set it before the process's first Vulkan call.

// The AV1-encode Vulkan types ash 0.38 lacks: the library's own definitions (checked against
// Khronos' headers by tests/vulkan_av1_layout.rs), used as they are (the driver does not link
// the library).
#[path = "../../../src/gpu/video/av1.rs"]
mod av1;
// VK_KHR_video_encode_intra_refresh's types, likewise the library's own (checked by
// tests/vulkan_intra_refresh_layout.rs).
mod av1_enc;
mod av1_obu;
pub mod caps;
pub mod command;
mod driver;
mod exec;
mod ffi;
mod ffi_cmd;
mod handle;
pub mod image;
#[path = "../../../src/gpu/video/intra_refresh.rs"]
#[allow(
    dead_code,
    reason = "the driver reads some of the library's definitions, not all"
)]
mod intra_refresh;
pub mod log;
mod props;
mod query;
pub mod session;
mod sync;
pub mod video;

// The stream writers live in a crate of their own (shared with the NVENC stand-in); they
// stay reachable here under their old paths.
pub use ghoststream_pcm_writer::{h264, h264_pcm, h265, h265_pcm};

pub use driver::{
    COMPUTE_FAMILY, DEVICE_EXTENSIONS, ENCODE_FAMILY, MAX_INTERFACE_VERSION, MEMORY_TYPES,
};
pub use handle::ICD_LOADER_MAGIC;

/// The file name of the driver library cargo builds (`lib<crate>.so`).
pub const LIBRARY_FILE: &str = "libghoststream_video_icd.so";

/// The names of the entry points the driver implements.
pub fn implemented_entry_points() -> Vec<&'static str> {
    ffi::implemented()
}

/// The driver manifest (file format 1.0.1) for the library at `library` (an absolute path).
pub fn manifest_json(library: &std::path::Path) -> String {
    let api = caps::active().api_version;
    let path = library
        .to_string_lossy()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    format!(
        "{{\n  \"file_format_version\": \"1.0.1\",\n  \"ICD\": {{\n    \"library_path\": \"{path}\",\n    \"library_arch\": \"64\",\n    \"api_version\": \"{}.{}.{}\"\n  }}\n}}\n",
        ash::vk::api_version_major(api),
        ash::vk::api_version_minor(api),
        ash::vk::api_version_patch(api)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_names_the_library_and_api_version() {
        let m = manifest_json(std::path::Path::new("/tmp/a \"b\"/libx.so"));
        assert_eq!(
            m,
            "{\n  \"file_format_version\": \"1.0.1\",\n  \"ICD\": {\n    \"library_path\": \"/tmp/a \\\"b\\\"/libx.so\",\n    \"library_arch\": \"64\",\n    \"api_version\": \"1.3.277\"\n  }\n}\n"
        );
    }

    #[test]
    fn every_entry_point_is_listed_once_by_kind() {
        let names = implemented_entry_points();
        assert!(names.contains(&"vkGetPhysicalDeviceVideoCapabilitiesKHR"));
        assert!(names.contains(&"vk_icdNegotiateLoaderICDInterfaceVersion"));
        assert!(names.contains(&"vkCreateVideoSessionKHR"));
        assert!(names.contains(&"vkCmdEncodeVideoKHR"));
        assert!(names.contains(&"vkQueueSubmit2"));
        assert!(!names.contains(&"vkCmdDispatch"));
    }
}
