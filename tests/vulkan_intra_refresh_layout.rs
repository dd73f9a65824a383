//! The VK_KHR_video_encode_intra_refresh types GhostStream defines itself
//! (src/gpu/video/intra_refresh.rs; ash 0.38 predates them) have the layout and values of
//! Khronos' own headers: a C program compiled against Vulkan headers that have the extension
//! (Debian sid's libvulkan-dev, 1.4.321 or later, unpacked privately by
//! .ci/get-vulkan-headers-sid.sh) prints every struct's size and alignment, every field's offset
//! and size, and every enum value and name, and each is compared with what Rust says (the
//! machinery is tests/vk_layout, shared with tests/vulkan_av1_layout.rs). Every checked
//! struct's field list is compared with the header's, and the extension's own entry in the
//! registry (vk.xml, shipped with the headers) with what is checked: each enum value it adds
//! (structure types, flag bits, name and version) and each structure it defines is checked.
//!
//! Without the headers the test passes by skipping, saying why; with
//! `GHOSTSTREAM_REQUIRE_VK_HEADERS=1` (set by `make test`) their absence fails.

#[path = "../src/gpu/video/intra_refresh.rs"]
mod intra_refresh;
#[macro_use]
mod vk_layout;

use std::collections::BTreeSet;
use std::mem::size_of;
use std::ptr;

use ash::vk;

use intra_refresh as ir;
use ir::structure_type as st;
use ir::VideoEncodeIntraRefreshModeFlagsKHR as Mode;
use vk_layout::{int, Check, Covered};

/// The extension's name in the registry.
const EXTENSION: &str = "VK_KHR_video_encode_intra_refresh";

fn checks() -> (Vec<Check>, Covered) {
    let mut v = Vec::new();
    let mut cov = Covered::new();

    vk_struct!(
        v,
        cov,
        ir::PhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR,
        "VkPhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR",
        [s_type, p_next, video_encode_intra_refresh]
    );
    vk_struct!(
        v,
        cov,
        ir::VideoEncodeIntraRefreshCapabilitiesKHR,
        "VkVideoEncodeIntraRefreshCapabilitiesKHR",
        [
            s_type,
            p_next,
            intra_refresh_modes,
            max_intra_refresh_cycle_duration,
            max_intra_refresh_active_reference_pictures,
            partition_independent_intra_refresh_regions,
            non_rectangular_intra_refresh_regions,
        ]
    );
    vk_struct!(
        v,
        cov,
        ir::VideoEncodeSessionIntraRefreshCreateInfoKHR,
        "VkVideoEncodeSessionIntraRefreshCreateInfoKHR",
        [s_type, p_next, intra_refresh_mode]
    );
    vk_struct!(
        v,
        cov,
        ir::VideoEncodeIntraRefreshInfoKHR,
        "VkVideoEncodeIntraRefreshInfoKHR",
        [
            s_type,
            p_next,
            intra_refresh_cycle_duration,
            intra_refresh_index
        ]
    );
    vk_struct!(
        v,
        cov,
        ir::VideoReferenceIntraRefreshInfoKHR,
        "VkVideoReferenceIntraRefreshInfoKHR",
        [s_type, p_next, dirty_intra_refresh_regions]
    );

    values!(
        v,
        [
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_INTRA_REFRESH_CAPABILITIES_KHR =
                st::VIDEO_ENCODE_INTRA_REFRESH_CAPABILITIES_KHR.as_raw(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_SESSION_INTRA_REFRESH_CREATE_INFO_KHR =
                st::VIDEO_ENCODE_SESSION_INTRA_REFRESH_CREATE_INFO_KHR.as_raw(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_INTRA_REFRESH_INFO_KHR =
                st::VIDEO_ENCODE_INTRA_REFRESH_INFO_KHR.as_raw(),
            VK_STRUCTURE_TYPE_VIDEO_REFERENCE_INTRA_REFRESH_INFO_KHR =
                st::VIDEO_REFERENCE_INTRA_REFRESH_INFO_KHR.as_raw(),
            VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VIDEO_ENCODE_INTRA_REFRESH_FEATURES_KHR =
                st::PHYSICAL_DEVICE_VIDEO_ENCODE_INTRA_REFRESH_FEATURES_KHR.as_raw(),
            VK_VIDEO_ENCODE_INTRA_REFRESH_MODE_NONE_KHR = Mode::NONE.as_raw(),
            VK_VIDEO_ENCODE_INTRA_REFRESH_MODE_PER_PICTURE_PARTITION_BIT_KHR =
                Mode::PER_PICTURE_PARTITION.as_raw(),
            VK_VIDEO_ENCODE_INTRA_REFRESH_MODE_BLOCK_BASED_BIT_KHR = Mode::BLOCK_BASED.as_raw(),
            VK_VIDEO_ENCODE_INTRA_REFRESH_MODE_BLOCK_ROW_BASED_BIT_KHR =
                Mode::BLOCK_ROW_BASED.as_raw(),
            VK_VIDEO_ENCODE_INTRA_REFRESH_MODE_BLOCK_COLUMN_BASED_BIT_KHR =
                Mode::BLOCK_COLUMN_BASED.as_raw(),
            VK_VIDEO_ENCODE_INTRA_REFRESH_BIT_KHR = ir::VIDEO_ENCODE_INTRA_REFRESH.as_raw(),
            VK_VIDEO_ENCODE_H264_CAPABILITY_B_PICTURE_INTRA_REFRESH_BIT_KHR =
                ir::VIDEO_ENCODE_H264_CAPABILITY_B_PICTURE_INTRA_REFRESH.as_raw(),
            VK_VIDEO_ENCODE_H265_CAPABILITY_B_PICTURE_INTRA_REFRESH_BIT_KHR =
                ir::VIDEO_ENCODE_H265_CAPABILITY_B_PICTURE_INTRA_REFRESH.as_raw(),
            VK_VIDEO_ENCODE_AV1_CAPABILITY_COMPOUND_PREDICTION_INTRA_REFRESH_BIT_KHR =
                ir::VIDEO_ENCODE_AV1_CAPABILITY_COMPOUND_PREDICTION_INTRA_REFRESH,
            VK_KHR_VIDEO_ENCODE_INTRA_REFRESH_SPEC_VERSION =
                ir::KHR_VIDEO_ENCODE_INTRA_REFRESH_SPEC_VERSION,
        ]
    );
    for c in [
        "VkVideoEncodeIntraRefreshModeFlagBitsKHR",
        "VkVideoEncodeIntraRefreshModeFlagsKHR",
    ] {
        int(&mut v, format!("sizeof({c})"), size_of::<Mode>());
        int(
            &mut v,
            format!("_Alignof({c})"),
            std::mem::align_of::<Mode>(),
        );
    }
    v.push(Check {
        c: "VK_KHR_VIDEO_ENCODE_INTRA_REFRESH_EXTENSION_NAME".to_string(),
        string: true,
        rust: ir::KHR_VIDEO_ENCODE_INTRA_REFRESH_NAME
            .to_str()
            .unwrap()
            .to_string(),
    });
    (v, cov)
}

/// The names the extension's `<require>` blocks in vk.xml list: (enum names, type names).
fn registry_names(xml: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let start = xml
        .find(&format!("<extension name=\"{EXTENSION}\""))
        .expect("the extension in vk.xml");
    let block = &xml[start..];
    let block = &block[..block.find("</extension>").unwrap()];
    let (mut enums, mut types) = (BTreeSet::new(), BTreeSet::new());
    for line in block.lines().map(str::trim) {
        let name = line
            .split_once(" name=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(name, _)| name.to_string());
        match name {
            Some(name) if line.starts_with("<enum ") => drop(enums.insert(name)),
            Some(name) if line.starts_with("<type ") => drop(types.insert(name)),
            _ => {}
        }
    }
    (enums, types)
}

#[test]
fn intra_refresh_types_match_the_vulkan_headers() {
    let Some(include) = vk_layout::include_dir(
        "GHOSTSTREAM_VK_HEADERS_SID",
        "vulkan-headers-sid",
        "vulkan/vulkan_core.h",
        Some("#define VK_KHR_video_encode_intra_refresh 1"),
        ".ci/get-vulkan-headers-sid.sh",
    ) else {
        return;
    };
    let (checks, covered) = checks();

    // Every field of every checked struct is listed, in any order (offsets catch the order).
    vk_layout::assert_fields_covered(&include, &["vulkan/vulkan_core.h"], &covered);

    // Everything the registry says the extension adds is checked: each enum value (structure
    // types, the bits it adds to other flag types, its name and version) by name, each struct
    // field by field, each flag type by size and alignment.
    let xml = include.join("../share/vulkan/registry/vk.xml");
    let xml = std::fs::read_to_string(&xml)
        .unwrap_or_else(|e| panic!("{} (shipped with the headers): {e}", xml.display()));
    let (enums, types) = registry_names(&xml);
    let expressions: BTreeSet<&str> = checks.iter().map(|c| c.c.as_str()).collect();
    let mut unchecked: Vec<String> = enums
        .iter()
        .filter(|e| !expressions.contains(e.as_str()))
        .cloned()
        .collect();
    unchecked.extend(
        types
            .iter()
            .filter(|t| {
                !covered.contains_key(t.as_str())
                    && !expressions.contains(format!("sizeof({t})").as_str())
            })
            .cloned(),
    );
    assert!(
        unchecked.is_empty(),
        "added by {EXTENSION} in vk.xml, not checked: {unchecked:?}"
    );
    eprintln!(
        "vk.xml: {EXTENSION} adds {} enum values and {} types, all checked",
        enums.len(),
        types.len()
    );

    let values = vk_layout::c_values(&include, &checks);
    // The comparison itself can fail: one Rust offset moved by 4 is reported, alone.
    vk_layout::assert_probe_caught(
        &checks,
        &values,
        "offsetof(VkVideoEncodeIntraRefreshInfoKHR, intraRefreshIndex)",
    );
    vk_layout::assert_all_match(&checks, &values, &include, &covered);
}

/// Each structure carries its sType from `Default` and chains onto ash's structures by its
/// `p_next`; the mode word combines and tests bits.
#[test]
fn intra_refresh_types_default_and_chain() {
    let mut features = ir::PhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR::default();
    assert_eq!(
        features.s_type,
        st::PHYSICAL_DEVICE_VIDEO_ENCODE_INTRA_REFRESH_FEATURES_KHR
    );
    assert_eq!(features.video_encode_intra_refresh, vk::FALSE);
    let features2 = vk::PhysicalDeviceFeatures2 {
        p_next: ptr::from_mut(&mut features).cast(),
        ..Default::default()
    };
    assert_eq!(features2.p_next, ptr::from_mut(&mut features).cast());

    let mut caps = ir::VideoEncodeIntraRefreshCapabilitiesKHR::default();
    assert_eq!(caps.s_type.as_raw(), 1_000_552_000);
    assert!(caps.p_next.is_null());
    assert_eq!(caps.intra_refresh_modes, Mode::empty());
    let encode_caps = vk::VideoEncodeCapabilitiesKHR {
        p_next: ptr::from_mut(&mut caps).cast(),
        ..Default::default()
    };
    assert!(!encode_caps.p_next.is_null());
    assert_eq!(
        (
            caps.max_intra_refresh_cycle_duration,
            caps.max_intra_refresh_active_reference_pictures,
            caps.partition_independent_intra_refresh_regions,
            caps.non_rectangular_intra_refresh_regions,
        ),
        (0, 0, vk::FALSE, vk::FALSE)
    );

    let session = ir::VideoEncodeSessionIntraRefreshCreateInfoKHR {
        intra_refresh_mode: Mode::BLOCK_ROW_BASED,
        ..Default::default()
    };
    assert_eq!(
        session.s_type,
        st::VIDEO_ENCODE_SESSION_INTRA_REFRESH_CREATE_INFO_KHR
    );
    assert!(session.p_next.is_null());
    let create = vk::VideoSessionCreateInfoKHR {
        p_next: ptr::from_ref(&session).cast(),
        ..Default::default()
    };
    assert_eq!(create.p_next, ptr::from_ref(&session).cast());

    let info = ir::VideoEncodeIntraRefreshInfoKHR {
        intra_refresh_cycle_duration: 30,
        intra_refresh_index: 7,
        ..Default::default()
    };
    assert_eq!(info.s_type, st::VIDEO_ENCODE_INTRA_REFRESH_INFO_KHR);
    assert!(info.p_next.is_null());
    let encode = vk::VideoEncodeInfoKHR {
        p_next: ptr::from_ref(&info).cast(),
        flags: ir::VIDEO_ENCODE_INTRA_REFRESH,
        ..Default::default()
    };
    assert_eq!(encode.flags.as_raw(), 4);
    assert_eq!(
        (info.intra_refresh_cycle_duration, info.intra_refresh_index),
        (30, 7)
    );

    let reference = ir::VideoReferenceIntraRefreshInfoKHR::default();
    assert_eq!(reference.s_type, st::VIDEO_REFERENCE_INTRA_REFRESH_INFO_KHR);
    assert!(reference.p_next.is_null());
    assert_eq!(reference.dirty_intra_refresh_regions, 0);

    let modes = Mode::BLOCK_BASED | Mode::BLOCK_COLUMN_BASED;
    assert!(modes.contains(Mode::BLOCK_COLUMN_BASED));
    assert!(!modes.contains(Mode::PER_PICTURE_PARTITION));
    assert_eq!(Mode::from_raw(modes.as_raw()), modes);
    assert_eq!(
        ir::KHR_VIDEO_ENCODE_INTRA_REFRESH_NAME.to_bytes(),
        EXTENSION.as_bytes()
    );
}
