//! The AV1-encode types of Vulkan Video (VK_KHR_video_encode_av1 and the
//! `vulkan_video_codec_av1std_encode` std header) that ash 0.38 lacks, as `#[repr(C)]` Rust.
//!
//! ash 0.38 is generated from Vulkan 1.3.281, before AV1 encode was published (1.3.290). What
//! it has is reused: the AV1 std types shared with decode (`vk::native::StdVideoAV1SequenceHeader`,
//! `StdVideoAV1ColorConfig`, `StdVideoAV1TileInfo`, `StdVideoAV1Quantization`, …) and the
//! generic encode structures they chain onto. Everything here follows ash's own conventions so
//! it chains with ash's structures through `push_next`: snake-case fields, `s_type` filled in by
//! `Default` from [`vk::TaggedStructure`], a lifetime tying borrowed pointers to the struct, and
//! the `vk::ExtendsX` marker traits the registry's `structextends` lists. The std structures keep
//! the C field names, as ash's `vk::native` module does; their bitfield words are `u32` newtypes
//! whose bit `n` is the header's `n`-th one-bit field (the x86-64 / AArch64 C ABI allocates
//! bitfields from the least significant bit). tests/vulkan_av1_layout.rs compiles a C program
//! against the Vulkan 1.4 headers and compares every size, field offset, field size, bit and
//! enum value here with the header's.
//!
//! The module is only data; nothing here calls Vulkan.

// A binding module: the encode backend uses part of it, the layout test checks all of it.
#![allow(
    dead_code,
    reason = "bindings: each item is checked by the layout test, not all are used"
)]

use std::ffi::CStr;
use std::marker::PhantomData;
use std::ptr;

use ash::vk;
pub(crate) use ash::vk::native::{
    StdVideoAV1CDEF, StdVideoAV1GlobalMotion, StdVideoAV1LoopFilter, StdVideoAV1LoopRestoration,
    StdVideoAV1Quantization, StdVideoAV1Segmentation, StdVideoAV1SequenceHeader,
    StdVideoAV1TileInfo,
};
use ash::vk::native::{
    StdVideoAV1FrameType, StdVideoAV1InterpolationFilter, StdVideoAV1Level, StdVideoAV1Profile,
    StdVideoAV1TxMode,
};

// ---------------------------------------------------------------------------------------------
// Names, versions and the values added to ash's enums
// ---------------------------------------------------------------------------------------------

/// The device extension's name, `VK_KHR_video_encode_av1`.
pub(crate) const KHR_VIDEO_ENCODE_AV1_NAME: &CStr = c"VK_KHR_video_encode_av1";
/// The extension's specification revision this module describes.
pub(crate) const KHR_VIDEO_ENCODE_AV1_SPEC_VERSION: u32 = 1;

/// A video std header version, packed as `VK_MAKE_VIDEO_STD_VERSION` packs it (major in bits
/// 22..32, minor in 12..22, patch in 0..12).
pub(crate) const fn make_video_std_version(major: u32, minor: u32, patch: u32) -> u32 {
    (major << 22) | (minor << 12) | patch
}
/// The AV1-encode std header's name, given in `VkVideoSessionCreateInfoKHR::pStdHeaderVersion`.
pub(crate) const STD_VULKAN_VIDEO_CODEC_AV1_ENCODE_EXTENSION_NAME: &CStr =
    c"VK_STD_vulkan_video_codec_av1_encode";
/// The AV1-encode std header's version this module describes (1.0.0).
pub(crate) const STD_VULKAN_VIDEO_CODEC_AV1_ENCODE_SPEC_VERSION: u32 =
    make_video_std_version(1, 0, 0);

/// `VkVideoCodecOperationFlagBitsKHR` for AV1 encode (bit 18).
pub(crate) const VIDEO_CODEC_OPERATION_ENCODE_AV1: vk::VideoCodecOperationFlagsKHR =
    vk::VideoCodecOperationFlagsKHR::from_raw(0x0004_0000);

/// The `VkStructureType` values of VK_KHR_video_encode_av1 (extension number 514, so
/// 1000000000 + 513 × 1000 + n).
pub(crate) mod structure_type {
    use ash::vk::StructureType;

    /// `VkVideoEncodeAV1CapabilitiesKHR`.
    pub(crate) const VIDEO_ENCODE_AV1_CAPABILITIES_KHR: StructureType =
        StructureType::from_raw(1_000_513_000);
    /// `VkVideoEncodeAV1SessionParametersCreateInfoKHR`.
    pub(crate) const VIDEO_ENCODE_AV1_SESSION_PARAMETERS_CREATE_INFO_KHR: StructureType =
        StructureType::from_raw(1_000_513_001);
    /// `VkVideoEncodeAV1PictureInfoKHR`.
    pub(crate) const VIDEO_ENCODE_AV1_PICTURE_INFO_KHR: StructureType =
        StructureType::from_raw(1_000_513_002);
    /// `VkVideoEncodeAV1DpbSlotInfoKHR`.
    pub(crate) const VIDEO_ENCODE_AV1_DPB_SLOT_INFO_KHR: StructureType =
        StructureType::from_raw(1_000_513_003);
    /// `VkPhysicalDeviceVideoEncodeAV1FeaturesKHR`.
    pub(crate) const PHYSICAL_DEVICE_VIDEO_ENCODE_AV1_FEATURES_KHR: StructureType =
        StructureType::from_raw(1_000_513_004);
    /// `VkVideoEncodeAV1ProfileInfoKHR`.
    pub(crate) const VIDEO_ENCODE_AV1_PROFILE_INFO_KHR: StructureType =
        StructureType::from_raw(1_000_513_005);
    /// `VkVideoEncodeAV1RateControlInfoKHR`.
    pub(crate) const VIDEO_ENCODE_AV1_RATE_CONTROL_INFO_KHR: StructureType =
        StructureType::from_raw(1_000_513_006);
    /// `VkVideoEncodeAV1RateControlLayerInfoKHR`.
    pub(crate) const VIDEO_ENCODE_AV1_RATE_CONTROL_LAYER_INFO_KHR: StructureType =
        StructureType::from_raw(1_000_513_007);
    /// `VkVideoEncodeAV1QualityLevelPropertiesKHR`.
    pub(crate) const VIDEO_ENCODE_AV1_QUALITY_LEVEL_PROPERTIES_KHR: StructureType =
        StructureType::from_raw(1_000_513_008);
    /// `VkVideoEncodeAV1SessionCreateInfoKHR`.
    pub(crate) const VIDEO_ENCODE_AV1_SESSION_CREATE_INFO_KHR: StructureType =
        StructureType::from_raw(1_000_513_009);
    /// `VkVideoEncodeAV1GopRemainingFrameInfoKHR`.
    pub(crate) const VIDEO_ENCODE_AV1_GOP_REMAINING_FRAME_INFO_KHR: StructureType =
        StructureType::from_raw(1_000_513_010);
}

// ---------------------------------------------------------------------------------------------
// Std constants and the one std enum ash lacks
// ---------------------------------------------------------------------------------------------

/// `STD_VIDEO_AV1_NUM_REF_FRAMES`: reference frame slots an AV1 decoder keeps.
pub(crate) const STD_VIDEO_AV1_NUM_REF_FRAMES: usize = 8;
/// `STD_VIDEO_AV1_REFS_PER_FRAME`: references one inter frame names (LAST … ALTREF).
pub(crate) const STD_VIDEO_AV1_REFS_PER_FRAME: usize = 7;
/// `STD_VIDEO_AV1_TOTAL_REFS_PER_FRAME`: the references and the intra frame.
pub(crate) const STD_VIDEO_AV1_TOTAL_REFS_PER_FRAME: usize = 8;
/// `STD_VIDEO_AV1_PRIMARY_REF_NONE`: `primary_ref_frame` meaning "no CDFs loaded".
pub(crate) const STD_VIDEO_AV1_PRIMARY_REF_NONE: u8 = 7;
/// `STD_VIDEO_AV1_SELECT_INTEGER_MV`: `seq_force_integer_mv` meaning "chosen per frame".
pub(crate) const STD_VIDEO_AV1_SELECT_INTEGER_MV: u8 = 2;
/// `STD_VIDEO_AV1_SELECT_SCREEN_CONTENT_TOOLS`: `seq_force_screen_content_tools` meaning
/// "chosen per frame".
pub(crate) const STD_VIDEO_AV1_SELECT_SCREEN_CONTENT_TOOLS: u8 = 2;
/// `STD_VIDEO_AV1_MAX_TILE_COLS`.
pub(crate) const STD_VIDEO_AV1_MAX_TILE_COLS: usize = 64;
/// `STD_VIDEO_AV1_MAX_TILE_ROWS`.
pub(crate) const STD_VIDEO_AV1_MAX_TILE_ROWS: usize = 64;

/// `StdVideoAV1ReferenceName`: an AV1 reference name, the index into
/// [`VideoEncodeAV1PictureInfoKHR::reference_name_slot_indices`] plus one (a C enum, `c_uint`
/// as ash's other std enums).
pub(crate) type StdVideoAV1ReferenceName = std::ffi::c_uint;
/// `INTRA_FRAME`: the frame itself.
pub(crate) const STD_VIDEO_AV1_REFERENCE_NAME_INTRA_FRAME: StdVideoAV1ReferenceName = 0;
/// `LAST_FRAME`.
pub(crate) const STD_VIDEO_AV1_REFERENCE_NAME_LAST_FRAME: StdVideoAV1ReferenceName = 1;
/// `LAST2_FRAME`.
pub(crate) const STD_VIDEO_AV1_REFERENCE_NAME_LAST2_FRAME: StdVideoAV1ReferenceName = 2;
/// `LAST3_FRAME`.
pub(crate) const STD_VIDEO_AV1_REFERENCE_NAME_LAST3_FRAME: StdVideoAV1ReferenceName = 3;
/// `GOLDEN_FRAME`.
pub(crate) const STD_VIDEO_AV1_REFERENCE_NAME_GOLDEN_FRAME: StdVideoAV1ReferenceName = 4;
/// `BWDREF_FRAME`.
pub(crate) const STD_VIDEO_AV1_REFERENCE_NAME_BWDREF_FRAME: StdVideoAV1ReferenceName = 5;
/// `ALTREF2_FRAME`.
pub(crate) const STD_VIDEO_AV1_REFERENCE_NAME_ALTREF2_FRAME: StdVideoAV1ReferenceName = 6;
/// `ALTREF_FRAME`.
pub(crate) const STD_VIDEO_AV1_REFERENCE_NAME_ALTREF_FRAME: StdVideoAV1ReferenceName = 7;

// ---------------------------------------------------------------------------------------------
// Flag words and enums
// ---------------------------------------------------------------------------------------------

/// A `u32` flag word: a transparent newtype with named bits, `|`, `contains` and a raw view,
/// for both the `Vk…FlagsKHR` masks and the std headers' bitfield words.
macro_rules! flag_word {
    (
        $(#[$doc:meta])*
        $name:ident {
            $( $(#[$bit_doc:meta])* $bit:ident = $value:expr; )*
        }
    ) => {
        $(#[$doc])*
        #[repr(transparent)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub(crate) struct $name(u32);

        impl $name {
            $( $(#[$bit_doc])* pub(crate) const $bit: Self = Self($value); )*

            /// No bit set.
            pub(crate) const fn empty() -> Self {
                Self(0)
            }
            /// The word from its raw bits.
            pub(crate) const fn from_raw(bits: u32) -> Self {
                Self(bits)
            }
            /// The raw bits.
            pub(crate) const fn as_raw(self) -> u32 {
                self.0
            }
            /// Whether every bit of `other` is set here.
            pub(crate) const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }
            /// This word with `other`'s bits set when `on`, cleared otherwise.
            #[must_use]
            pub(crate) const fn with(self, other: Self, on: bool) -> Self {
                if on {
                    Self(self.0 | other.0)
                } else {
                    Self(self.0 & !other.0)
                }
            }
        }

        impl std::ops::BitOr for $name {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                Self(self.0 | rhs.0)
            }
        }
    };
}

flag_word! {
    /// `VkVideoEncodeAV1CapabilityFlagsKHR`: optional encoder abilities.
    VideoEncodeAV1CapabilityFlagsKHR {
        /// Separate min/max quantizer index per rate-control group.
        PER_RATE_CONTROL_GROUP_MIN_MAX_Q_INDEX = 1 << 0;
        /// The encoder can write OBU extension headers.
        GENERATE_OBU_EXTENSION_HEADER = 1 << 1;
        /// The primary reference may be used for CDFs only.
        PRIMARY_REFERENCE_CDF_ONLY = 1 << 2;
        /// Frames may be smaller than the coded extent of the session (frame_size_override).
        FRAME_SIZE_OVERRIDE = 1 << 3;
        /// References of another size may be used (motion vector scaling).
        MOTION_VECTOR_SCALING = 1 << 4;
    }
}

flag_word! {
    /// `VkVideoEncodeAV1StdFlagsKHR`: std syntax values the encoder honours as given.
    VideoEncodeAV1StdFlagsKHR {
        /// `uniform_tile_spacing_flag` set to 1.
        UNIFORM_TILE_SPACING_FLAG_SET = 1 << 0;
        /// `skip_mode_present` set to 0.
        SKIP_MODE_PRESENT_UNSET = 1 << 1;
        /// `primary_ref_frame` as given.
        PRIMARY_REF_FRAME = 1 << 2;
        /// `delta_q` values as given.
        DELTA_Q = 1 << 3;
    }
}

flag_word! {
    /// `VkVideoEncodeAV1SuperblockSizeFlagsKHR`: superblock sizes the encoder can use.
    VideoEncodeAV1SuperblockSizeFlagsKHR {
        /// 64×64 superblocks.
        SIZE_64 = 1 << 0;
        /// 128×128 superblocks.
        SIZE_128 = 1 << 1;
    }
}

flag_word! {
    /// `VkVideoEncodeAV1RateControlFlagsKHR`: how the stream's structure is described to the
    /// rate controller.
    VideoEncodeAV1RateControlFlagsKHR {
        /// The GOP repeats regularly (gopFrameCount, consecutiveBipredictiveFrameCount hold).
        REGULAR_GOP = 1 << 0;
        /// Temporal layers follow a dyadic pattern.
        TEMPORAL_LAYER_PATTERN_DYADIC = 1 << 1;
        /// Every frame references the previous one only.
        REFERENCE_PATTERN_FLAT = 1 << 2;
        /// References follow a dyadic pattern.
        REFERENCE_PATTERN_DYADIC = 1 << 3;
    }
}

flag_word! {
    /// `StdVideoEncodeAV1OperatingPointInfoFlags` (bitfield word of
    /// [`StdVideoEncodeAV1OperatingPointInfo`]).
    StdVideoEncodeAV1OperatingPointInfoFlags {
        /// `decoder_model_present_for_this_op`.
        DECODER_MODEL_PRESENT_FOR_THIS_OP = 1 << 0;
        /// `low_delay_mode_flag`.
        LOW_DELAY_MODE_FLAG = 1 << 1;
        /// `initial_display_delay_present_for_this_op`.
        INITIAL_DISPLAY_DELAY_PRESENT_FOR_THIS_OP = 1 << 2;
    }
}

flag_word! {
    /// `StdVideoEncodeAV1PictureInfoFlags` (bitfield word of [`StdVideoEncodeAV1PictureInfo`]):
    /// the frame header's one-bit syntax elements, in the header's order.
    StdVideoEncodeAV1PictureInfoFlags {
        /// `error_resilient_mode`.
        ERROR_RESILIENT_MODE = 1 << 0;
        /// `disable_cdf_update`.
        DISABLE_CDF_UPDATE = 1 << 1;
        /// `use_superres`.
        USE_SUPERRES = 1 << 2;
        /// `render_and_frame_size_different`.
        RENDER_AND_FRAME_SIZE_DIFFERENT = 1 << 3;
        /// `allow_screen_content_tools`.
        ALLOW_SCREEN_CONTENT_TOOLS = 1 << 4;
        /// `is_filter_switchable`.
        IS_FILTER_SWITCHABLE = 1 << 5;
        /// `force_integer_mv`.
        FORCE_INTEGER_MV = 1 << 6;
        /// `frame_size_override_flag`.
        FRAME_SIZE_OVERRIDE_FLAG = 1 << 7;
        /// `buffer_removal_time_present_flag`.
        BUFFER_REMOVAL_TIME_PRESENT_FLAG = 1 << 8;
        /// `allow_intrabc`.
        ALLOW_INTRABC = 1 << 9;
        /// `frame_refs_short_signaling`.
        FRAME_REFS_SHORT_SIGNALING = 1 << 10;
        /// `allow_high_precision_mv`.
        ALLOW_HIGH_PRECISION_MV = 1 << 11;
        /// `is_motion_mode_switchable`.
        IS_MOTION_MODE_SWITCHABLE = 1 << 12;
        /// `use_ref_frame_mvs`.
        USE_REF_FRAME_MVS = 1 << 13;
        /// `disable_frame_end_update_cdf`.
        DISABLE_FRAME_END_UPDATE_CDF = 1 << 14;
        /// `allow_warped_motion`.
        ALLOW_WARPED_MOTION = 1 << 15;
        /// `reduced_tx_set`.
        REDUCED_TX_SET = 1 << 16;
        /// `skip_mode_present`.
        SKIP_MODE_PRESENT = 1 << 17;
        /// `delta_q_present`.
        DELTA_Q_PRESENT = 1 << 18;
        /// `delta_lf_present`.
        DELTA_LF_PRESENT = 1 << 19;
        /// `delta_lf_multi`.
        DELTA_LF_MULTI = 1 << 20;
        /// `segmentation_enabled`.
        SEGMENTATION_ENABLED = 1 << 21;
        /// `segmentation_update_map`.
        SEGMENTATION_UPDATE_MAP = 1 << 22;
        /// `segmentation_temporal_update`.
        SEGMENTATION_TEMPORAL_UPDATE = 1 << 23;
        /// `segmentation_update_data`.
        SEGMENTATION_UPDATE_DATA = 1 << 24;
        /// `UsesLr`: loop restoration is used by some plane.
        USES_LR = 1 << 25;
        /// `usesChromaLr`: loop restoration is used by a chroma plane.
        USES_CHROMA_LR = 1 << 26;
        /// `show_frame`.
        SHOW_FRAME = 1 << 27;
        /// `showable_frame`.
        SHOWABLE_FRAME = 1 << 28;
    }
}

flag_word! {
    /// `StdVideoEncodeAV1ReferenceInfoFlags` (bitfield word of
    /// [`StdVideoEncodeAV1ReferenceInfo`]).
    StdVideoEncodeAV1ReferenceInfoFlags {
        /// `disable_frame_end_update_cdf` of the reference frame.
        DISABLE_FRAME_END_UPDATE_CDF = 1 << 0;
        /// `segmentation_enabled` of the reference frame.
        SEGMENTATION_ENABLED = 1 << 1;
    }
}

/// `VkVideoEncodeAV1PredictionModeKHR`: which references a frame predicts from.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct VideoEncodeAV1PredictionModeKHR(i32);

impl VideoEncodeAV1PredictionModeKHR {
    /// Intra prediction only (key frames, intra-only frames).
    pub(crate) const INTRA_ONLY: Self = Self(0);
    /// One reference per block.
    pub(crate) const SINGLE_REFERENCE: Self = Self(1);
    /// Two references from the same direction.
    pub(crate) const UNIDIRECTIONAL_COMPOUND: Self = Self(2);
    /// Two references, one from each direction.
    pub(crate) const BIDIRECTIONAL_COMPOUND: Self = Self(3);

    /// The raw value.
    pub(crate) const fn as_raw(self) -> i32 {
        self.0
    }
}

/// `VkVideoEncodeAV1RateControlGroupKHR`: the rate-control class a frame belongs to.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct VideoEncodeAV1RateControlGroupKHR(i32);

impl VideoEncodeAV1RateControlGroupKHR {
    /// Intra frames.
    pub(crate) const INTRA: Self = Self(0);
    /// Frames predicted from the past.
    pub(crate) const PREDICTIVE: Self = Self(1);
    /// Frames predicted from both directions.
    pub(crate) const BIPREDICTIVE: Self = Self(2);

    /// The raw value.
    pub(crate) const fn as_raw(self) -> i32 {
        self.0
    }
}

// ---------------------------------------------------------------------------------------------
// The std encode structures (vulkan_video_codec_av1std_encode.h)
// ---------------------------------------------------------------------------------------------

/// `StdVideoEncodeAV1DecoderModelInfo`: the sequence header's decoder_model_info().
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct StdVideoEncodeAV1DecoderModelInfo {
    /// `buffer_delay_length_minus_1`.
    pub(crate) buffer_delay_length_minus_1: u8,
    /// `buffer_removal_time_length_minus_1`.
    pub(crate) buffer_removal_time_length_minus_1: u8,
    /// `frame_presentation_time_length_minus_1`.
    pub(crate) frame_presentation_time_length_minus_1: u8,
    /// Padding, zero.
    pub(crate) reserved1: u8,
    /// `num_units_in_decoding_tick`.
    pub(crate) num_units_in_decoding_tick: u32,
}

/// `StdVideoEncodeAV1ExtensionHeader`: an OBU extension header's layer ids.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct StdVideoEncodeAV1ExtensionHeader {
    /// `temporal_id`.
    pub(crate) temporal_id: u8,
    /// `spatial_id`.
    pub(crate) spatial_id: u8,
}

/// `StdVideoEncodeAV1OperatingPointInfo`: one operating point of the sequence header.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct StdVideoEncodeAV1OperatingPointInfo {
    /// The one-bit syntax elements.
    pub(crate) flags: StdVideoEncodeAV1OperatingPointInfoFlags,
    /// `operating_point_idc`: the temporal and spatial layers the point holds.
    pub(crate) operating_point_idc: u16,
    /// `seq_level_idx`.
    pub(crate) seq_level_idx: u8,
    /// `seq_tier`.
    pub(crate) seq_tier: u8,
    /// `decoder_buffer_delay`.
    pub(crate) decoder_buffer_delay: u32,
    /// `encoder_buffer_delay`.
    pub(crate) encoder_buffer_delay: u32,
    /// `initial_display_delay_minus_1`.
    pub(crate) initial_display_delay_minus_1: u8,
}

/// `StdVideoEncodeAV1PictureInfo`: the frame header values of one encoded frame. Pointers are
/// borrowed for the duration of the encode command that receives them; null where absent.
#[repr(C)]
#[allow(
    non_snake_case,
    reason = "the std header's field names, as ash's vk::native keeps them"
)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct StdVideoEncodeAV1PictureInfo {
    /// The one-bit syntax elements.
    pub(crate) flags: StdVideoEncodeAV1PictureInfoFlags,
    /// `frame_type` (`STD_VIDEO_AV1_FRAME_TYPE_*`).
    pub(crate) frame_type: StdVideoAV1FrameType,
    /// `frame_presentation_time`.
    pub(crate) frame_presentation_time: u32,
    /// `current_frame_id`.
    pub(crate) current_frame_id: u32,
    /// `order_hint`.
    pub(crate) order_hint: u8,
    /// `primary_ref_frame` ([`STD_VIDEO_AV1_PRIMARY_REF_NONE`] for none).
    pub(crate) primary_ref_frame: u8,
    /// `refresh_frame_flags`: the DPB slots this frame replaces, one bit each.
    pub(crate) refresh_frame_flags: u8,
    /// `coded_denom` (superres).
    pub(crate) coded_denom: u8,
    /// `render_width_minus_1`.
    pub(crate) render_width_minus_1: u16,
    /// `render_height_minus_1`.
    pub(crate) render_height_minus_1: u16,
    /// `interpolation_filter`.
    pub(crate) interpolation_filter: StdVideoAV1InterpolationFilter,
    /// `TxMode`.
    pub(crate) TxMode: StdVideoAV1TxMode,
    /// `delta_q_res`.
    pub(crate) delta_q_res: u8,
    /// `delta_lf_res`.
    pub(crate) delta_lf_res: u8,
    /// `ref_order_hint[]`: the order hint of each reference slot.
    pub(crate) ref_order_hint: [u8; STD_VIDEO_AV1_NUM_REF_FRAMES],
    /// `ref_frame_idx[]`: the slot each reference name uses.
    pub(crate) ref_frame_idx: [i8; STD_VIDEO_AV1_REFS_PER_FRAME],
    /// Padding, zero.
    pub(crate) reserved1: [u8; 3],
    /// `delta_frame_id_minus_1[]`.
    pub(crate) delta_frame_id_minus_1: [u32; STD_VIDEO_AV1_REFS_PER_FRAME],
    /// Tile layout, or null for the encoder's choice.
    pub(crate) pTileInfo: *const StdVideoAV1TileInfo,
    /// Quantization parameters.
    pub(crate) pQuantization: *const StdVideoAV1Quantization,
    /// Segmentation parameters, or null.
    pub(crate) pSegmentation: *const StdVideoAV1Segmentation,
    /// Loop filter parameters.
    pub(crate) pLoopFilter: *const StdVideoAV1LoopFilter,
    /// CDEF parameters.
    pub(crate) pCDEF: *const StdVideoAV1CDEF,
    /// Loop restoration parameters.
    pub(crate) pLoopRestoration: *const StdVideoAV1LoopRestoration,
    /// Global motion parameters.
    pub(crate) pGlobalMotion: *const StdVideoAV1GlobalMotion,
    /// The OBU extension header's ids, or null.
    pub(crate) pExtensionHeader: *const StdVideoEncodeAV1ExtensionHeader,
    /// `buffer_removal_time` per operating point, or null.
    pub(crate) pBufferRemovalTimes: *const u32,
}

impl Default for StdVideoEncodeAV1PictureInfo {
    fn default() -> Self {
        Self {
            flags: StdVideoEncodeAV1PictureInfoFlags::empty(),
            frame_type: 0,
            frame_presentation_time: 0,
            current_frame_id: 0,
            order_hint: 0,
            primary_ref_frame: STD_VIDEO_AV1_PRIMARY_REF_NONE,
            refresh_frame_flags: 0,
            coded_denom: 0,
            render_width_minus_1: 0,
            render_height_minus_1: 0,
            interpolation_filter: 0,
            TxMode: 0,
            delta_q_res: 0,
            delta_lf_res: 0,
            ref_order_hint: [0; STD_VIDEO_AV1_NUM_REF_FRAMES],
            ref_frame_idx: [0; STD_VIDEO_AV1_REFS_PER_FRAME],
            reserved1: [0; 3],
            delta_frame_id_minus_1: [0; STD_VIDEO_AV1_REFS_PER_FRAME],
            pTileInfo: ptr::null(),
            pQuantization: ptr::null(),
            pSegmentation: ptr::null(),
            pLoopFilter: ptr::null(),
            pCDEF: ptr::null(),
            pLoopRestoration: ptr::null(),
            pGlobalMotion: ptr::null(),
            pExtensionHeader: ptr::null(),
            pBufferRemovalTimes: ptr::null(),
        }
    }
}

/// `StdVideoEncodeAV1ReferenceInfo`: what the encoder remembers of a reconstructed picture in
/// a DPB slot.
#[repr(C)]
#[allow(
    non_snake_case,
    reason = "the std header's field names, as ash's vk::native keeps them"
)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct StdVideoEncodeAV1ReferenceInfo {
    /// The one-bit values.
    pub(crate) flags: StdVideoEncodeAV1ReferenceInfoFlags,
    /// `RefFrameId`: the frame id of the picture.
    pub(crate) RefFrameId: u32,
    /// `frame_type` of the picture.
    pub(crate) frame_type: StdVideoAV1FrameType,
    /// `OrderHint` of the picture.
    pub(crate) OrderHint: u8,
    /// Padding, zero.
    pub(crate) reserved1: [u8; 3],
    /// The picture's OBU extension header ids, or null.
    pub(crate) pExtensionHeader: *const StdVideoEncodeAV1ExtensionHeader,
}

impl Default for StdVideoEncodeAV1ReferenceInfo {
    fn default() -> Self {
        Self {
            flags: StdVideoEncodeAV1ReferenceInfoFlags::empty(),
            RefFrameId: 0,
            frame_type: 0,
            OrderHint: 0,
            reserved1: [0; 3],
            pExtensionHeader: ptr::null(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The Vulkan structures (vulkan_core.h, VK_KHR_video_encode_av1)
// ---------------------------------------------------------------------------------------------

/// Declares that `$ty` may be chained (`push_next`) onto each listed ash structure.
macro_rules! extends {
    ($ty:ident: $($target:ident),+ $(,)?) => {
        $(
            // SAFETY: `$ty` is `#[repr(C)]` and starts with `s_type` and `p_next` like every
            // chainable Vulkan structure, and the registry's `structextends` lists `$target`
            // for it (checked by hand against vk.xml 1.4.309).
            unsafe impl vk::$target for $ty<'_> {}
        )+
    };
}

/// Implements ash's `TaggedStructure` (the `sType` a structure carries) for `$ty`.
macro_rules! tagged {
    ($ty:ident, $value:ident) => {
        // SAFETY: `$value` is the `VkStructureType` the Vulkan specification assigns to `$ty`
        // (the layout test compares it with the header's), and `$ty` starts with `s_type`.
        unsafe impl vk::TaggedStructure for $ty<'_> {
            const STRUCTURE_TYPE: vk::StructureType = structure_type::$value;
        }
    };
}

/// `VkVideoEncodeAV1QIndexKHR`: a quantizer index per rate-control group.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct VideoEncodeAV1QIndexKHR {
    /// For intra frames.
    pub(crate) intra_q_index: u32,
    /// For predictive frames.
    pub(crate) predictive_q_index: u32,
    /// For bipredictive frames.
    pub(crate) bipredictive_q_index: u32,
}

/// `VkVideoEncodeAV1FrameSizeKHR`: a frame size in bytes per rate-control group.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct VideoEncodeAV1FrameSizeKHR {
    /// For intra frames.
    pub(crate) intra_frame_size: u32,
    /// For predictive frames.
    pub(crate) predictive_frame_size: u32,
    /// For bipredictive frames.
    pub(crate) bipredictive_frame_size: u32,
}

/// `VkPhysicalDeviceVideoEncodeAV1FeaturesKHR`: whether the device encodes AV1 at all;
/// chained onto `PhysicalDeviceFeatures2` to ask and onto `DeviceCreateInfo` to enable.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct PhysicalDeviceVideoEncodeAV1FeaturesKHR<'a> {
    /// [`structure_type::PHYSICAL_DEVICE_VIDEO_ENCODE_AV1_FEATURES_KHR`].
    pub(crate) s_type: vk::StructureType,
    /// The next structure in the chain.
    pub(crate) p_next: *mut std::ffi::c_void,
    /// `videoEncodeAV1`.
    pub(crate) video_encode_av1: vk::Bool32,
    /// Ties the chain pointer's borrow to the structure.
    pub(crate) _marker: PhantomData<&'a ()>,
}
tagged!(
    PhysicalDeviceVideoEncodeAV1FeaturesKHR,
    PHYSICAL_DEVICE_VIDEO_ENCODE_AV1_FEATURES_KHR
);
extends!(PhysicalDeviceVideoEncodeAV1FeaturesKHR: ExtendsPhysicalDeviceFeatures2, ExtendsDeviceCreateInfo);

impl Default for PhysicalDeviceVideoEncodeAV1FeaturesKHR<'_> {
    fn default() -> Self {
        Self {
            s_type: <Self as vk::TaggedStructure>::STRUCTURE_TYPE,
            p_next: ptr::null_mut(),
            video_encode_av1: vk::FALSE,
            _marker: PhantomData,
        }
    }
}

/// `VkVideoEncodeAV1CapabilitiesKHR`: the encoder's AV1 limits, returned through
/// `vkGetPhysicalDeviceVideoCapabilitiesKHR`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct VideoEncodeAV1CapabilitiesKHR<'a> {
    /// [`structure_type::VIDEO_ENCODE_AV1_CAPABILITIES_KHR`].
    pub(crate) s_type: vk::StructureType,
    /// The next structure in the chain.
    pub(crate) p_next: *mut std::ffi::c_void,
    /// Optional abilities.
    pub(crate) flags: VideoEncodeAV1CapabilityFlagsKHR,
    /// The highest level the encoder can produce (`STD_VIDEO_AV1_LEVEL_*`).
    pub(crate) max_level: StdVideoAV1Level,
    /// The granularity of coded extents.
    pub(crate) coded_picture_alignment: vk::Extent2D,
    /// Most tile columns and rows.
    pub(crate) max_tiles: vk::Extent2D,
    /// Smallest tile, in pixels.
    pub(crate) min_tile_size: vk::Extent2D,
    /// Largest tile, in pixels.
    pub(crate) max_tile_size: vk::Extent2D,
    /// Superblock sizes supported.
    pub(crate) superblock_sizes: VideoEncodeAV1SuperblockSizeFlagsKHR,
    /// Most references with single-reference prediction.
    pub(crate) max_single_reference_count: u32,
    /// Reference names usable with single-reference prediction (bit = name − 1).
    pub(crate) single_reference_name_mask: u32,
    /// Most references with unidirectional compound prediction.
    pub(crate) max_unidirectional_compound_reference_count: u32,
    /// Of those, most from group 1 (LAST … GOLDEN).
    pub(crate) max_unidirectional_compound_group1_reference_count: u32,
    /// Reference names usable with unidirectional compound prediction.
    pub(crate) unidirectional_compound_reference_name_mask: u32,
    /// Most references with bidirectional compound prediction.
    pub(crate) max_bidirectional_compound_reference_count: u32,
    /// Of those, most from group 1 (LAST … GOLDEN).
    pub(crate) max_bidirectional_compound_group1_reference_count: u32,
    /// Of those, most from group 2 (BWDREF … ALTREF).
    pub(crate) max_bidirectional_compound_group2_reference_count: u32,
    /// Reference names usable with bidirectional compound prediction.
    pub(crate) bidirectional_compound_reference_name_mask: u32,
    /// Most temporal layers.
    pub(crate) max_temporal_layer_count: u32,
    /// Most spatial layers.
    pub(crate) max_spatial_layer_count: u32,
    /// Most operating points.
    pub(crate) max_operating_points: u32,
    /// Smallest quantizer index.
    pub(crate) min_q_index: u32,
    /// Largest quantizer index.
    pub(crate) max_q_index: u32,
    /// The rate controller works better when told the GOP's remaining frames.
    pub(crate) prefers_gop_remaining_frames: vk::Bool32,
    /// The rate controller must be told the GOP's remaining frames.
    pub(crate) requires_gop_remaining_frames: vk::Bool32,
    /// Std syntax values the encoder honours as given.
    pub(crate) std_syntax_flags: VideoEncodeAV1StdFlagsKHR,
    /// Ties the chain pointer's borrow to the structure.
    pub(crate) _marker: PhantomData<&'a ()>,
}
tagged!(
    VideoEncodeAV1CapabilitiesKHR,
    VIDEO_ENCODE_AV1_CAPABILITIES_KHR
);
extends!(VideoEncodeAV1CapabilitiesKHR: ExtendsVideoCapabilitiesKHR);

impl Default for VideoEncodeAV1CapabilitiesKHR<'_> {
    fn default() -> Self {
        let zero = vk::Extent2D::default();
        Self {
            s_type: <Self as vk::TaggedStructure>::STRUCTURE_TYPE,
            p_next: ptr::null_mut(),
            flags: VideoEncodeAV1CapabilityFlagsKHR::empty(),
            max_level: 0,
            coded_picture_alignment: zero,
            max_tiles: zero,
            min_tile_size: zero,
            max_tile_size: zero,
            superblock_sizes: VideoEncodeAV1SuperblockSizeFlagsKHR::empty(),
            max_single_reference_count: 0,
            single_reference_name_mask: 0,
            max_unidirectional_compound_reference_count: 0,
            max_unidirectional_compound_group1_reference_count: 0,
            unidirectional_compound_reference_name_mask: 0,
            max_bidirectional_compound_reference_count: 0,
            max_bidirectional_compound_group1_reference_count: 0,
            max_bidirectional_compound_group2_reference_count: 0,
            bidirectional_compound_reference_name_mask: 0,
            max_temporal_layer_count: 0,
            max_spatial_layer_count: 0,
            max_operating_points: 0,
            min_q_index: 0,
            max_q_index: 0,
            prefers_gop_remaining_frames: vk::FALSE,
            requires_gop_remaining_frames: vk::FALSE,
            std_syntax_flags: VideoEncodeAV1StdFlagsKHR::empty(),
            _marker: PhantomData,
        }
    }
}

/// `VkVideoEncodeAV1QualityLevelPropertiesKHR`: the driver's preferred settings for one quality
/// level, returned through `vkGetPhysicalDeviceVideoEncodeQualityLevelPropertiesKHR`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct VideoEncodeAV1QualityLevelPropertiesKHR<'a> {
    /// [`structure_type::VIDEO_ENCODE_AV1_QUALITY_LEVEL_PROPERTIES_KHR`].
    pub(crate) s_type: vk::StructureType,
    /// The next structure in the chain.
    pub(crate) p_next: *mut std::ffi::c_void,
    /// Preferred rate-control flags.
    pub(crate) preferred_rate_control_flags: VideoEncodeAV1RateControlFlagsKHR,
    /// Preferred GOP length.
    pub(crate) preferred_gop_frame_count: u32,
    /// Preferred key frame period.
    pub(crate) preferred_key_frame_period: u32,
    /// Preferred run of bipredictive frames.
    pub(crate) preferred_consecutive_bipredictive_frame_count: u32,
    /// Preferred temporal layer count.
    pub(crate) preferred_temporal_layer_count: u32,
    /// Preferred quantizer indices for constant-QP mode.
    pub(crate) preferred_constant_q_index: VideoEncodeAV1QIndexKHR,
    /// Preferred single-reference count.
    pub(crate) preferred_max_single_reference_count: u32,
    /// Preferred single-reference names.
    pub(crate) preferred_single_reference_name_mask: u32,
    /// Preferred unidirectional compound reference count.
    pub(crate) preferred_max_unidirectional_compound_reference_count: u32,
    /// Of those, preferred from group 1.
    pub(crate) preferred_max_unidirectional_compound_group1_reference_count: u32,
    /// Preferred unidirectional compound reference names.
    pub(crate) preferred_unidirectional_compound_reference_name_mask: u32,
    /// Preferred bidirectional compound reference count.
    pub(crate) preferred_max_bidirectional_compound_reference_count: u32,
    /// Of those, preferred from group 1.
    pub(crate) preferred_max_bidirectional_compound_group1_reference_count: u32,
    /// Of those, preferred from group 2.
    pub(crate) preferred_max_bidirectional_compound_group2_reference_count: u32,
    /// Preferred bidirectional compound reference names.
    pub(crate) preferred_bidirectional_compound_reference_name_mask: u32,
    /// Ties the chain pointer's borrow to the structure.
    pub(crate) _marker: PhantomData<&'a ()>,
}
tagged!(
    VideoEncodeAV1QualityLevelPropertiesKHR,
    VIDEO_ENCODE_AV1_QUALITY_LEVEL_PROPERTIES_KHR
);
extends!(VideoEncodeAV1QualityLevelPropertiesKHR: ExtendsVideoEncodeQualityLevelPropertiesKHR);

impl Default for VideoEncodeAV1QualityLevelPropertiesKHR<'_> {
    fn default() -> Self {
        Self {
            s_type: <Self as vk::TaggedStructure>::STRUCTURE_TYPE,
            p_next: ptr::null_mut(),
            preferred_rate_control_flags: VideoEncodeAV1RateControlFlagsKHR::empty(),
            preferred_gop_frame_count: 0,
            preferred_key_frame_period: 0,
            preferred_consecutive_bipredictive_frame_count: 0,
            preferred_temporal_layer_count: 0,
            preferred_constant_q_index: VideoEncodeAV1QIndexKHR::default(),
            preferred_max_single_reference_count: 0,
            preferred_single_reference_name_mask: 0,
            preferred_max_unidirectional_compound_reference_count: 0,
            preferred_max_unidirectional_compound_group1_reference_count: 0,
            preferred_unidirectional_compound_reference_name_mask: 0,
            preferred_max_bidirectional_compound_reference_count: 0,
            preferred_max_bidirectional_compound_group1_reference_count: 0,
            preferred_max_bidirectional_compound_group2_reference_count: 0,
            preferred_bidirectional_compound_reference_name_mask: 0,
            _marker: PhantomData,
        }
    }
}

/// `VkVideoEncodeAV1SessionCreateInfoKHR`: an optional level cap for a new video session.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct VideoEncodeAV1SessionCreateInfoKHR<'a> {
    /// [`structure_type::VIDEO_ENCODE_AV1_SESSION_CREATE_INFO_KHR`].
    pub(crate) s_type: vk::StructureType,
    /// The next structure in the chain.
    pub(crate) p_next: *const std::ffi::c_void,
    /// Whether `max_level` applies.
    pub(crate) use_max_level: vk::Bool32,
    /// The highest level the session will produce.
    pub(crate) max_level: StdVideoAV1Level,
    /// Ties the chain pointer's borrow to the structure.
    pub(crate) _marker: PhantomData<&'a ()>,
}
tagged!(
    VideoEncodeAV1SessionCreateInfoKHR,
    VIDEO_ENCODE_AV1_SESSION_CREATE_INFO_KHR
);
extends!(VideoEncodeAV1SessionCreateInfoKHR: ExtendsVideoSessionCreateInfoKHR);

impl Default for VideoEncodeAV1SessionCreateInfoKHR<'_> {
    fn default() -> Self {
        Self {
            s_type: <Self as vk::TaggedStructure>::STRUCTURE_TYPE,
            p_next: ptr::null(),
            use_max_level: vk::FALSE,
            max_level: 0,
            _marker: PhantomData,
        }
    }
}

/// `VkVideoEncodeAV1SessionParametersCreateInfoKHR`: the sequence header (with its decoder
/// model and operating points) a session-parameters object holds.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct VideoEncodeAV1SessionParametersCreateInfoKHR<'a> {
    /// [`structure_type::VIDEO_ENCODE_AV1_SESSION_PARAMETERS_CREATE_INFO_KHR`].
    pub(crate) s_type: vk::StructureType,
    /// The next structure in the chain.
    pub(crate) p_next: *const std::ffi::c_void,
    /// The sequence header.
    pub(crate) p_std_sequence_header: *const StdVideoAV1SequenceHeader,
    /// The decoder model, or null.
    pub(crate) p_std_decoder_model_info: *const StdVideoEncodeAV1DecoderModelInfo,
    /// Entries in `p_std_operating_points`.
    pub(crate) std_operating_point_count: u32,
    /// The operating points, or null when the count is 0.
    pub(crate) p_std_operating_points: *const StdVideoEncodeAV1OperatingPointInfo,
    /// Ties the borrowed std structures to this one.
    pub(crate) _marker: PhantomData<&'a ()>,
}
tagged!(
    VideoEncodeAV1SessionParametersCreateInfoKHR,
    VIDEO_ENCODE_AV1_SESSION_PARAMETERS_CREATE_INFO_KHR
);
extends!(VideoEncodeAV1SessionParametersCreateInfoKHR: ExtendsVideoSessionParametersCreateInfoKHR);

impl Default for VideoEncodeAV1SessionParametersCreateInfoKHR<'_> {
    fn default() -> Self {
        Self {
            s_type: <Self as vk::TaggedStructure>::STRUCTURE_TYPE,
            p_next: ptr::null(),
            p_std_sequence_header: ptr::null(),
            p_std_decoder_model_info: ptr::null(),
            std_operating_point_count: 0,
            p_std_operating_points: ptr::null(),
            _marker: PhantomData,
        }
    }
}

impl<'a> VideoEncodeAV1SessionParametersCreateInfoKHR<'a> {
    /// This structure naming `header`.
    pub(crate) fn std_sequence_header(mut self, header: &'a StdVideoAV1SequenceHeader) -> Self {
        self.p_std_sequence_header = header;
        self
    }
    /// This structure naming `info` as the decoder model.
    pub(crate) fn std_decoder_model_info(
        mut self,
        info: &'a StdVideoEncodeAV1DecoderModelInfo,
    ) -> Self {
        self.p_std_decoder_model_info = info;
        self
    }
    /// This structure naming `points` as the operating points.
    pub(crate) fn std_operating_points(
        mut self,
        points: &'a [StdVideoEncodeAV1OperatingPointInfo],
    ) -> Self {
        self.std_operating_point_count = u32::try_from(points.len())
            .expect("AV1 has at most 32 operating points, far below u32::MAX");
        self.p_std_operating_points = points.as_ptr();
        self
    }
}

/// `VkVideoEncodeAV1PictureInfoKHR`: the codec part of one `vkCmdEncodeVideoKHR`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct VideoEncodeAV1PictureInfoKHR<'a> {
    /// [`structure_type::VIDEO_ENCODE_AV1_PICTURE_INFO_KHR`].
    pub(crate) s_type: vk::StructureType,
    /// The next structure in the chain.
    pub(crate) p_next: *const std::ffi::c_void,
    /// The prediction mode.
    pub(crate) prediction_mode: VideoEncodeAV1PredictionModeKHR,
    /// The frame's rate-control group.
    pub(crate) rate_control_group: VideoEncodeAV1RateControlGroupKHR,
    /// The quantizer index when rate control is disabled (constant QP).
    pub(crate) constant_q_index: u32,
    /// The std frame header values.
    pub(crate) p_std_picture_info: *const StdVideoEncodeAV1PictureInfo,
    /// For each reference name LAST … ALTREF, the DPB slot index it uses, or −1.
    pub(crate) reference_name_slot_indices: [i32; vk::MAX_VIDEO_AV1_REFERENCES_PER_FRAME_KHR],
    /// Use the primary reference for CDFs only.
    pub(crate) primary_reference_cdf_only: vk::Bool32,
    /// Write an OBU extension header.
    pub(crate) generate_obu_extension_header: vk::Bool32,
    /// Ties the borrowed std structure to this one.
    pub(crate) _marker: PhantomData<&'a ()>,
}
tagged!(
    VideoEncodeAV1PictureInfoKHR,
    VIDEO_ENCODE_AV1_PICTURE_INFO_KHR
);
extends!(VideoEncodeAV1PictureInfoKHR: ExtendsVideoEncodeInfoKHR);

impl Default for VideoEncodeAV1PictureInfoKHR<'_> {
    fn default() -> Self {
        Self {
            s_type: <Self as vk::TaggedStructure>::STRUCTURE_TYPE,
            p_next: ptr::null(),
            prediction_mode: VideoEncodeAV1PredictionModeKHR::INTRA_ONLY,
            rate_control_group: VideoEncodeAV1RateControlGroupKHR::INTRA,
            constant_q_index: 0,
            p_std_picture_info: ptr::null(),
            reference_name_slot_indices: [-1; vk::MAX_VIDEO_AV1_REFERENCES_PER_FRAME_KHR],
            primary_reference_cdf_only: vk::FALSE,
            generate_obu_extension_header: vk::FALSE,
            _marker: PhantomData,
        }
    }
}

impl<'a> VideoEncodeAV1PictureInfoKHR<'a> {
    /// This structure naming `info` as the frame header values.
    pub(crate) fn std_picture_info(mut self, info: &'a StdVideoEncodeAV1PictureInfo) -> Self {
        self.p_std_picture_info = info;
        self
    }
}

/// `VkVideoEncodeAV1DpbSlotInfoKHR`: the std reference information of one DPB slot.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct VideoEncodeAV1DpbSlotInfoKHR<'a> {
    /// [`structure_type::VIDEO_ENCODE_AV1_DPB_SLOT_INFO_KHR`].
    pub(crate) s_type: vk::StructureType,
    /// The next structure in the chain.
    pub(crate) p_next: *const std::ffi::c_void,
    /// The slot's reference information.
    pub(crate) p_std_reference_info: *const StdVideoEncodeAV1ReferenceInfo,
    /// Ties the borrowed std structure to this one.
    pub(crate) _marker: PhantomData<&'a ()>,
}
tagged!(
    VideoEncodeAV1DpbSlotInfoKHR,
    VIDEO_ENCODE_AV1_DPB_SLOT_INFO_KHR
);
extends!(VideoEncodeAV1DpbSlotInfoKHR: ExtendsVideoReferenceSlotInfoKHR);

impl Default for VideoEncodeAV1DpbSlotInfoKHR<'_> {
    fn default() -> Self {
        Self {
            s_type: <Self as vk::TaggedStructure>::STRUCTURE_TYPE,
            p_next: ptr::null(),
            p_std_reference_info: ptr::null(),
            _marker: PhantomData,
        }
    }
}

impl<'a> VideoEncodeAV1DpbSlotInfoKHR<'a> {
    /// This structure naming `info` as the slot's reference information.
    pub(crate) fn std_reference_info(mut self, info: &'a StdVideoEncodeAV1ReferenceInfo) -> Self {
        self.p_std_reference_info = info;
        self
    }
}

/// `VkVideoEncodeAV1ProfileInfoKHR`: the AV1 profile of a video profile (chained onto
/// `VideoProfileInfoKHR`, and onto `QueryPoolCreateInfo` for feedback queries).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct VideoEncodeAV1ProfileInfoKHR<'a> {
    /// [`structure_type::VIDEO_ENCODE_AV1_PROFILE_INFO_KHR`].
    pub(crate) s_type: vk::StructureType,
    /// The next structure in the chain.
    pub(crate) p_next: *const std::ffi::c_void,
    /// `STD_VIDEO_AV1_PROFILE_*`.
    pub(crate) std_profile: StdVideoAV1Profile,
    /// Ties the chain pointer's borrow to the structure.
    pub(crate) _marker: PhantomData<&'a ()>,
}
tagged!(
    VideoEncodeAV1ProfileInfoKHR,
    VIDEO_ENCODE_AV1_PROFILE_INFO_KHR
);
extends!(VideoEncodeAV1ProfileInfoKHR: ExtendsVideoProfileInfoKHR, ExtendsQueryPoolCreateInfo);

impl Default for VideoEncodeAV1ProfileInfoKHR<'_> {
    fn default() -> Self {
        Self {
            s_type: <Self as vk::TaggedStructure>::STRUCTURE_TYPE,
            p_next: ptr::null(),
            std_profile: vk::native::StdVideoAV1Profile_STD_VIDEO_AV1_PROFILE_MAIN,
            _marker: PhantomData,
        }
    }
}

/// `VkVideoEncodeAV1GopRemainingFrameInfoKHR`: frames left in the current GOP, per group, for
/// the rate controller (chained onto `VideoBeginCodingInfoKHR`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct VideoEncodeAV1GopRemainingFrameInfoKHR<'a> {
    /// [`structure_type::VIDEO_ENCODE_AV1_GOP_REMAINING_FRAME_INFO_KHR`].
    pub(crate) s_type: vk::StructureType,
    /// The next structure in the chain.
    pub(crate) p_next: *const std::ffi::c_void,
    /// Whether the counts below apply.
    pub(crate) use_gop_remaining_frames: vk::Bool32,
    /// Intra frames left.
    pub(crate) gop_remaining_intra: u32,
    /// Predictive frames left.
    pub(crate) gop_remaining_predictive: u32,
    /// Bipredictive frames left.
    pub(crate) gop_remaining_bipredictive: u32,
    /// Ties the chain pointer's borrow to the structure.
    pub(crate) _marker: PhantomData<&'a ()>,
}
tagged!(
    VideoEncodeAV1GopRemainingFrameInfoKHR,
    VIDEO_ENCODE_AV1_GOP_REMAINING_FRAME_INFO_KHR
);
extends!(VideoEncodeAV1GopRemainingFrameInfoKHR: ExtendsVideoBeginCodingInfoKHR);

impl Default for VideoEncodeAV1GopRemainingFrameInfoKHR<'_> {
    fn default() -> Self {
        Self {
            s_type: <Self as vk::TaggedStructure>::STRUCTURE_TYPE,
            p_next: ptr::null(),
            use_gop_remaining_frames: vk::FALSE,
            gop_remaining_intra: 0,
            gop_remaining_predictive: 0,
            gop_remaining_bipredictive: 0,
            _marker: PhantomData,
        }
    }
}

/// `VkVideoEncodeAV1RateControlInfoKHR`: the stream structure the rate controller plans for
/// (chained onto `VideoCodingControlInfoKHR` when rate control changes, and onto
/// `VideoBeginCodingInfoKHR` to state the current one).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct VideoEncodeAV1RateControlInfoKHR<'a> {
    /// [`structure_type::VIDEO_ENCODE_AV1_RATE_CONTROL_INFO_KHR`].
    pub(crate) s_type: vk::StructureType,
    /// The next structure in the chain.
    pub(crate) p_next: *const std::ffi::c_void,
    /// The stream's structure.
    pub(crate) flags: VideoEncodeAV1RateControlFlagsKHR,
    /// GOP length (0: unknown).
    pub(crate) gop_frame_count: u32,
    /// Key frame period (0: unknown).
    pub(crate) key_frame_period: u32,
    /// Bipredictive frames between two others.
    pub(crate) consecutive_bipredictive_frame_count: u32,
    /// Temporal layers.
    pub(crate) temporal_layer_count: u32,
    /// Ties the chain pointer's borrow to the structure.
    pub(crate) _marker: PhantomData<&'a ()>,
}
tagged!(
    VideoEncodeAV1RateControlInfoKHR,
    VIDEO_ENCODE_AV1_RATE_CONTROL_INFO_KHR
);
extends!(VideoEncodeAV1RateControlInfoKHR: ExtendsVideoCodingControlInfoKHR, ExtendsVideoBeginCodingInfoKHR);

impl Default for VideoEncodeAV1RateControlInfoKHR<'_> {
    fn default() -> Self {
        Self {
            s_type: <Self as vk::TaggedStructure>::STRUCTURE_TYPE,
            p_next: ptr::null(),
            flags: VideoEncodeAV1RateControlFlagsKHR::empty(),
            gop_frame_count: 0,
            key_frame_period: 0,
            consecutive_bipredictive_frame_count: 0,
            temporal_layer_count: 0,
            _marker: PhantomData,
        }
    }
}

/// `VkVideoEncodeAV1RateControlLayerInfoKHR`: quantizer and frame-size bounds of one
/// rate-control layer (chained onto `VideoEncodeRateControlLayerInfoKHR`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct VideoEncodeAV1RateControlLayerInfoKHR<'a> {
    /// [`structure_type::VIDEO_ENCODE_AV1_RATE_CONTROL_LAYER_INFO_KHR`].
    pub(crate) s_type: vk::StructureType,
    /// The next structure in the chain.
    pub(crate) p_next: *const std::ffi::c_void,
    /// Whether `min_q_index` applies.
    pub(crate) use_min_q_index: vk::Bool32,
    /// Lowest quantizer index per group.
    pub(crate) min_q_index: VideoEncodeAV1QIndexKHR,
    /// Whether `max_q_index` applies.
    pub(crate) use_max_q_index: vk::Bool32,
    /// Highest quantizer index per group.
    pub(crate) max_q_index: VideoEncodeAV1QIndexKHR,
    /// Whether `max_frame_size` applies.
    pub(crate) use_max_frame_size: vk::Bool32,
    /// Largest frame, in bytes, per group.
    pub(crate) max_frame_size: VideoEncodeAV1FrameSizeKHR,
    /// Ties the chain pointer's borrow to the structure.
    pub(crate) _marker: PhantomData<&'a ()>,
}
tagged!(
    VideoEncodeAV1RateControlLayerInfoKHR,
    VIDEO_ENCODE_AV1_RATE_CONTROL_LAYER_INFO_KHR
);
extends!(VideoEncodeAV1RateControlLayerInfoKHR: ExtendsVideoEncodeRateControlLayerInfoKHR);

impl Default for VideoEncodeAV1RateControlLayerInfoKHR<'_> {
    fn default() -> Self {
        Self {
            s_type: <Self as vk::TaggedStructure>::STRUCTURE_TYPE,
            p_next: ptr::null(),
            use_min_q_index: vk::FALSE,
            min_q_index: VideoEncodeAV1QIndexKHR::default(),
            use_max_q_index: vk::FALSE,
            max_q_index: VideoEncodeAV1QIndexKHR::default(),
            use_max_frame_size: vk::FALSE,
            max_frame_size: VideoEncodeAV1FrameSizeKHR::default(),
            _marker: PhantomData,
        }
    }
}
