//! The types of VK_KHR_video_encode_intra_refresh (Vulkan 1.4.321 and later) that ash 0.38
//! lacks, as `#[repr(C)]` Rust.
//!
//! Intra refresh replaces the periodic intra picture with a cycle of pictures that each code
//! part of the picture (a partition, or a set of blocks, block rows or block columns) as intra,
//! so a stream recovers from a loss within one cycle without the size spike of a key frame.
//! The extension adds a feature ([`PhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR`]), the
//! encoder's limits ([`VideoEncodeIntraRefreshCapabilitiesKHR`]), the session's chosen mode
//! ([`VideoEncodeSessionIntraRefreshCreateInfoKHR`]), each picture's place in the cycle
//! ([`VideoEncodeIntraRefreshInfoKHR`], with [`VIDEO_ENCODE_INTRA_REFRESH`] in
//! `VkVideoEncodeInfoKHR::flags`) and which regions of a reference picture are not refreshed
//! yet ([`VideoReferenceIntraRefreshInfoKHR`]), plus one capability bit per codec saying whether
//! B pictures (H.264, H.265) or compound prediction (AV1) may take part in a cycle. It adds no
//! bit to `VkVideoEncodeCapabilityFlagBitsKHR`.
//!
//! The structures follow ash's field conventions (snake-case fields, `s_type` first and filled
//! in by `Default`, `p_next` `*mut` where the header's `pNext` is `void*` and `*const` where it
//! is `const void*`) but are plain (no lifetime); each implements ash's `Extends…` marker for
//! the structures the registry lets it extend, so ash's `push_next` chains it.
//! tests/vulkan_intra_refresh_layout.rs compiles a C program against Vulkan headers that have the extension (Debian sid's libvulkan-dev, fetched
//! privately by .ci/get-vulkan-headers-sid.sh) and compares every size, alignment, field
//! offset, field size and value here with the header's.
//!
//! The module is only data; nothing here calls Vulkan.

use std::ffi::{c_void, CStr};
use std::ptr;

use ash::vk;

// ---------------------------------------------------------------------------------------------
// Name, version and the values added to other enums
// ---------------------------------------------------------------------------------------------

/// The device extension's name, `VK_KHR_video_encode_intra_refresh`.
pub const KHR_VIDEO_ENCODE_INTRA_REFRESH_NAME: &CStr = c"VK_KHR_video_encode_intra_refresh";
/// The extension's specification revision this module describes.
pub const KHR_VIDEO_ENCODE_INTRA_REFRESH_SPEC_VERSION: u32 = 1;

/// `VK_VIDEO_ENCODE_INTRA_REFRESH_BIT_KHR` (bit 2 of `VkVideoEncodeFlagBitsKHR`): set in
/// `VkVideoEncodeInfoKHR::flags` when the picture is part of an intra-refresh cycle, with a
/// [`VideoEncodeIntraRefreshInfoKHR`] chained onto the encode info.
pub const VIDEO_ENCODE_INTRA_REFRESH: vk::VideoEncodeFlagsKHR =
    vk::VideoEncodeFlagsKHR::from_raw(0x0000_0004);

/// `VK_VIDEO_ENCODE_H264_CAPABILITY_B_PICTURE_INTRA_REFRESH_BIT_KHR` (bit 10 of
/// `VkVideoEncodeH264CapabilityFlagBitsKHR`): B pictures may be part of an intra-refresh cycle.
pub const VIDEO_ENCODE_H264_CAPABILITY_B_PICTURE_INTRA_REFRESH:
    vk::VideoEncodeH264CapabilityFlagsKHR =
    vk::VideoEncodeH264CapabilityFlagsKHR::from_raw(0x0000_0400);

/// `VK_VIDEO_ENCODE_H265_CAPABILITY_B_PICTURE_INTRA_REFRESH_BIT_KHR` (bit 11 of
/// `VkVideoEncodeH265CapabilityFlagBitsKHR`): B pictures may be part of an intra-refresh cycle.
pub const VIDEO_ENCODE_H265_CAPABILITY_B_PICTURE_INTRA_REFRESH:
    vk::VideoEncodeH265CapabilityFlagsKHR =
    vk::VideoEncodeH265CapabilityFlagsKHR::from_raw(0x0000_0800);

/// `VK_VIDEO_ENCODE_AV1_CAPABILITY_COMPOUND_PREDICTION_INTRA_REFRESH_BIT_KHR` (bit 5 of
/// `VkVideoEncodeAV1CapabilityFlagBitsKHR`, raw: ash 0.38 has no AV1-encode types): pictures
/// using compound prediction may be part of an intra-refresh cycle.
pub const VIDEO_ENCODE_AV1_CAPABILITY_COMPOUND_PREDICTION_INTRA_REFRESH: u32 = 0x0000_0020;

/// The `VkStructureType` values of VK_KHR_video_encode_intra_refresh (extension number 553, so
/// 1000000000 + 552 × 1000 + n).
pub mod structure_type {
    use ash::vk::StructureType;

    /// `VkVideoEncodeIntraRefreshCapabilitiesKHR`.
    pub const VIDEO_ENCODE_INTRA_REFRESH_CAPABILITIES_KHR: StructureType =
        StructureType::from_raw(1_000_552_000);
    /// `VkVideoEncodeSessionIntraRefreshCreateInfoKHR`.
    pub const VIDEO_ENCODE_SESSION_INTRA_REFRESH_CREATE_INFO_KHR: StructureType =
        StructureType::from_raw(1_000_552_001);
    /// `VkVideoEncodeIntraRefreshInfoKHR`.
    pub const VIDEO_ENCODE_INTRA_REFRESH_INFO_KHR: StructureType =
        StructureType::from_raw(1_000_552_002);
    /// `VkVideoReferenceIntraRefreshInfoKHR`.
    pub const VIDEO_REFERENCE_INTRA_REFRESH_INFO_KHR: StructureType =
        StructureType::from_raw(1_000_552_003);
    /// `VkPhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR`.
    pub const PHYSICAL_DEVICE_VIDEO_ENCODE_INTRA_REFRESH_FEATURES_KHR: StructureType =
        StructureType::from_raw(1_000_552_004);
}

// ---------------------------------------------------------------------------------------------
// The mode flags
// ---------------------------------------------------------------------------------------------

/// `VkVideoEncodeIntraRefreshModeFlagsKHR` / `VkVideoEncodeIntraRefreshModeFlagBitsKHR`: how a
/// cycle divides the picture. As a capability
/// ([`intra_refresh_modes`](VideoEncodeIntraRefreshCapabilitiesKHR::intra_refresh_modes)) a
/// set of modes; as a session's choice
/// ([`intra_refresh_mode`](VideoEncodeSessionIntraRefreshCreateInfoKHR::intra_refresh_mode))
/// one bit, or [`NONE`](Self::NONE).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct VideoEncodeIntraRefreshModeFlagsKHR(u32);

impl VideoEncodeIntraRefreshModeFlagsKHR {
    /// `VK_VIDEO_ENCODE_INTRA_REFRESH_MODE_NONE_KHR`: no intra refresh (a session's choice).
    pub const NONE: Self = Self(0);
    /// `VK_VIDEO_ENCODE_INTRA_REFRESH_MODE_PER_PICTURE_PARTITION_BIT_KHR`: each picture of the
    /// cycle codes one picture partition (slice, slice segment or tile) as intra.
    pub const PER_PICTURE_PARTITION: Self = Self(0x0000_0001);
    /// `VK_VIDEO_ENCODE_INTRA_REFRESH_MODE_BLOCK_BASED_BIT_KHR`: each picture codes a set of
    /// blocks, in an order the implementation chooses, as intra.
    pub const BLOCK_BASED: Self = Self(0x0000_0002);
    /// `VK_VIDEO_ENCODE_INTRA_REFRESH_MODE_BLOCK_ROW_BASED_BIT_KHR`: each picture codes one or
    /// more rows of blocks as intra.
    pub const BLOCK_ROW_BASED: Self = Self(0x0000_0004);
    /// `VK_VIDEO_ENCODE_INTRA_REFRESH_MODE_BLOCK_COLUMN_BASED_BIT_KHR`: each picture codes one
    /// or more columns of blocks as intra.
    pub const BLOCK_COLUMN_BASED: Self = Self(0x0000_0008);

    /// No bit set ([`NONE`](Self::NONE)).
    pub const fn empty() -> Self {
        Self(0)
    }
    /// The word from its raw bits.
    pub const fn from_raw(bits: u32) -> Self {
        Self(bits)
    }
    /// The raw bits.
    pub const fn as_raw(self) -> u32 {
        self.0
    }
    /// Whether every bit of `other` is set here.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for VideoEncodeIntraRefreshModeFlagsKHR {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

// ---------------------------------------------------------------------------------------------
// The Vulkan structures (vulkan_core.h, VK_KHR_video_encode_intra_refresh)
// ---------------------------------------------------------------------------------------------

/// `VkPhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR`: whether the device can do intra
/// refresh at all; chained onto `VkPhysicalDeviceFeatures2` to ask and onto
/// `VkDeviceCreateInfo` to enable.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR {
    /// [`structure_type::PHYSICAL_DEVICE_VIDEO_ENCODE_INTRA_REFRESH_FEATURES_KHR`].
    pub s_type: vk::StructureType,
    /// The next structure in the chain.
    pub p_next: *mut c_void,
    /// `videoEncodeIntraRefresh`.
    pub video_encode_intra_refresh: vk::Bool32,
}

impl Default for PhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR {
    fn default() -> Self {
        Self {
            s_type: structure_type::PHYSICAL_DEVICE_VIDEO_ENCODE_INTRA_REFRESH_FEATURES_KHR,
            p_next: ptr::null_mut(),
            video_encode_intra_refresh: vk::FALSE,
        }
    }
}

/// `VkVideoEncodeIntraRefreshCapabilitiesKHR`: the encoder's intra-refresh limits for a video
/// profile, returned through `vkGetPhysicalDeviceVideoCapabilitiesKHR` (chained onto
/// `VkVideoCapabilitiesKHR`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct VideoEncodeIntraRefreshCapabilitiesKHR {
    /// [`structure_type::VIDEO_ENCODE_INTRA_REFRESH_CAPABILITIES_KHR`].
    pub s_type: vk::StructureType,
    /// The next structure in the chain.
    pub p_next: *mut c_void,
    /// The modes supported (empty: none).
    pub intra_refresh_modes: VideoEncodeIntraRefreshModeFlagsKHR,
    /// The most pictures one cycle may take.
    pub max_intra_refresh_cycle_duration: u32,
    /// The most active reference pictures a picture encoded with intra refresh may use.
    pub max_intra_refresh_active_reference_pictures: u32,
    /// `partitionIndependentIntraRefreshRegions`: whether intra-refresh regions can be
    /// independent of the encoded picture's partitions (slices, slice segments, tiles).
    pub partition_independent_intra_refresh_regions: vk::Bool32,
    /// Whether refreshed regions may be other than rectangles.
    pub non_rectangular_intra_refresh_regions: vk::Bool32,
}

impl Default for VideoEncodeIntraRefreshCapabilitiesKHR {
    fn default() -> Self {
        Self {
            s_type: structure_type::VIDEO_ENCODE_INTRA_REFRESH_CAPABILITIES_KHR,
            p_next: ptr::null_mut(),
            intra_refresh_modes: VideoEncodeIntraRefreshModeFlagsKHR::empty(),
            max_intra_refresh_cycle_duration: 0,
            max_intra_refresh_active_reference_pictures: 0,
            partition_independent_intra_refresh_regions: vk::FALSE,
            non_rectangular_intra_refresh_regions: vk::FALSE,
        }
    }
}

/// `VkVideoEncodeSessionIntraRefreshCreateInfoKHR`: the intra-refresh mode of a video session,
/// chained onto `VkVideoSessionCreateInfoKHR`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct VideoEncodeSessionIntraRefreshCreateInfoKHR {
    /// [`structure_type::VIDEO_ENCODE_SESSION_INTRA_REFRESH_CREATE_INFO_KHR`].
    pub s_type: vk::StructureType,
    /// The next structure in the chain.
    pub p_next: *const c_void,
    /// One mode bit, or [`VideoEncodeIntraRefreshModeFlagsKHR::NONE`] (a
    /// `VkVideoEncodeIntraRefreshModeFlagBitsKHR` in C).
    pub intra_refresh_mode: VideoEncodeIntraRefreshModeFlagsKHR,
}

impl Default for VideoEncodeSessionIntraRefreshCreateInfoKHR {
    fn default() -> Self {
        Self {
            s_type: structure_type::VIDEO_ENCODE_SESSION_INTRA_REFRESH_CREATE_INFO_KHR,
            p_next: ptr::null(),
            intra_refresh_mode: VideoEncodeIntraRefreshModeFlagsKHR::NONE,
        }
    }
}

/// `VkVideoEncodeIntraRefreshInfoKHR`: where one encoded picture sits in an intra-refresh
/// cycle, chained onto `VkVideoEncodeInfoKHR` (whose flags then hold
/// [`VIDEO_ENCODE_INTRA_REFRESH`]).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct VideoEncodeIntraRefreshInfoKHR {
    /// [`structure_type::VIDEO_ENCODE_INTRA_REFRESH_INFO_KHR`].
    pub s_type: vk::StructureType,
    /// The next structure in the chain.
    pub p_next: *const c_void,
    /// The number of pictures in the cycle.
    pub intra_refresh_cycle_duration: u32,
    /// This picture's index in the cycle (0 ..= duration − 1).
    pub intra_refresh_index: u32,
}

impl Default for VideoEncodeIntraRefreshInfoKHR {
    fn default() -> Self {
        Self {
            s_type: structure_type::VIDEO_ENCODE_INTRA_REFRESH_INFO_KHR,
            p_next: ptr::null(),
            intra_refresh_cycle_duration: 0,
            intra_refresh_index: 0,
        }
    }
}

/// `VkVideoReferenceIntraRefreshInfoKHR`: how many intra-refresh regions of a reference
/// picture are still dirty (not refreshed yet in the current cycle), chained onto the
/// reference's `VkVideoReferenceSlotInfoKHR`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct VideoReferenceIntraRefreshInfoKHR {
    /// [`structure_type::VIDEO_REFERENCE_INTRA_REFRESH_INFO_KHR`].
    pub s_type: vk::StructureType,
    /// The next structure in the chain.
    pub p_next: *const c_void,
    /// The number of dirty (not yet refreshed) intra-refresh regions in the reference picture.
    pub dirty_intra_refresh_regions: u32,
}

impl Default for VideoReferenceIntraRefreshInfoKHR {
    fn default() -> Self {
        Self {
            s_type: structure_type::VIDEO_REFERENCE_INTRA_REFRESH_INFO_KHR,
            p_next: ptr::null(),
            dirty_intra_refresh_regions: 0,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Chaining onto ash's structures
// ---------------------------------------------------------------------------------------------

/// Declares that `$ty` may be chained (`push_next`) onto each listed ash structure.
macro_rules! extends {
    ($ty:ident: $($target:ident),+ $(,)?) => {
        $(
            // SAFETY: `$ty` is `#[repr(C)]` and starts with `s_type` and `p_next` like every
            // chainable Vulkan structure (tests/vulkan_intra_refresh_layout.rs compares the
            // layout with the header's), and the registry's `structextends` lists `$target`
            // for it (VK_KHR_video_encode_intra_refresh, revision 1).
            unsafe impl vk::$target for $ty {}
        )+
    };
}

extends!(
    PhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR: ExtendsPhysicalDeviceFeatures2,
    ExtendsDeviceCreateInfo
);
extends!(VideoEncodeIntraRefreshCapabilitiesKHR: ExtendsVideoCapabilitiesKHR);
extends!(VideoEncodeSessionIntraRefreshCreateInfoKHR: ExtendsVideoSessionCreateInfoKHR);
extends!(VideoEncodeIntraRefreshInfoKHR: ExtendsVideoEncodeInfoKHR);
extends!(VideoReferenceIntraRefreshInfoKHR: ExtendsVideoReferenceSlotInfoKHR);
