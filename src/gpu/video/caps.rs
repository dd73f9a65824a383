//! What the machine's Vulkan devices can encode (VK_KHR_video_encode_queue with the codec's
//! extension): a device with a video-encode queue family that names the codec's operation,
//! and its capabilities for the codec's main profile (largest picture, reference slots, rate
//! control modes, quality levels), or why no device can; asked, for a context's device, with the
//! usage hints a session chains into its profile, with a quality level's preferred settings and
//! with the picture formats the encode input and reference images may take.
//!
//! Probing needs no device: an instance is made, each physical device is asked, and the
//! instance is destroyed.

use std::ffi::CStr;

use ash::vk;

use super::av1;
use super::intra_refresh::{
    PhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR, VideoEncodeIntraRefreshCapabilitiesKHR,
    VideoEncodeIntraRefreshModeFlagsKHR, KHR_VIDEO_ENCODE_INTRA_REFRESH_NAME,
};
use crate::codec::Codec;
use crate::config::{BitDepth, Tuning};
use crate::gpu::{GpuContext, GpuError};

/// A device that encodes a codec, and what it offers for the codec's main profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeSupport {
    /// The device's name.
    pub device: String,
    /// The profile asked about (H.264 High, H.265 Main, AV1 Main).
    pub profile: &'static str,
    /// The largest picture it encodes.
    pub max_coded_extent: (u32, u32),
    /// The smallest picture it encodes.
    pub min_coded_extent: (u32, u32),
    /// Reference picture slots in its decoded picture buffer.
    pub max_dpb_slots: u32,
    /// References one picture may use.
    pub max_active_references: u32,
    /// Rate control modes: "cbr", "vbr", "disabled" (constant QP).
    pub rate_control: Vec<&'static str>,
    /// Quality levels (`VkVideoEncodeCapabilitiesKHR::maxQualityLevels`).
    pub quality_levels: u32,
    /// The queue family that encodes it.
    pub queue_family: u32,
    /// The limits an encode session must keep to.
    pub limits: EncodeLimits,
}

/// What a device's encode of one profile allows, beyond sizes and modes: the values the
/// encoder's choices are checked against before a session is made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodeLimits {
    /// The highest bitrate rate control takes (`VkVideoEncodeCapabilitiesKHR::maxBitrate`).
    pub max_bitrate: u64,
    /// The QP range (the codec capabilities' `minQp`, `maxQp`).
    pub qp_range: (i32, i32),
    /// Bitstream buffer ranges are multiples of this (`minBitstreamBufferSizeAlignment`).
    pub bitstream_size_alignment: u64,
    /// Picture images are made in multiples of this (the larger of
    /// `pictureAccessGranularity` and `encodeInputPictureGranularity`).
    pub picture_granularity: (u32, u32),
    /// DPB pictures may be separate images (`SEPARATE_REFERENCE_IMAGES`).
    pub separate_reference_images: bool,
    /// References a P picture may use (`maxPPictureL0ReferenceCount`): 0 means no P pictures.
    pub p_references: u32,
    /// H.264/H.265: forward (L0) references a B picture may use
    /// (`maxBPictureL0ReferenceCount`); 0 for AV1.
    pub b_references: u32,
    /// H.264/H.265: backward (L1) references a B picture may use (`maxL1ReferenceCount`): 0
    /// means no B pictures; 0 for AV1 (see [`Self::av1_bidirectional_references`]).
    pub l1_references: u32,
    /// AV1: references a frame of bidirectional compound prediction may use
    /// (`maxBidirectionalCompoundReferenceCount`): 0 means none; 0 for H.264/H.265.
    pub av1_bidirectional_references: u32,
    /// AV1: the reference names bidirectional compound prediction may use
    /// (`bidirectionalCompoundReferenceNameMask`, bit i for name i: LAST 0 … ALTREF 6).
    pub av1_bidirectional_names: u32,
    /// Every coding scope must say how many frames of each type remain in the GOP.
    pub requires_gop_remaining_frames: bool,
    /// The encode feedback reports the bitstream offset and bytes written.
    pub feedback: bool,
    /// The highest level (the std header's level enum value).
    pub max_level_idc: u32,
    /// H.265: 32x32 coding tree blocks and every transform from 4x4 to 32x32 (true for H.264).
    pub h265_ctb32_transforms: bool,
    /// H.265: 64x64 coding tree blocks and every transform from 4x4 to 32x32 (the CTB Mesa's
    /// RADV and ANV offer, alone).
    pub h265_ctb64_transforms: bool,
    /// AV1: the device codes 128x128 superblocks only (no 64x64).
    pub av1_superblock_128_only: bool,
    /// Intra refresh (VK_KHR_video_encode_intra_refresh with its feature): the profile's
    /// limits, `None` where the device lacks the extension or the feature, or offers no mode
    /// for the profile.
    pub intra_refresh: Option<IntraRefreshLimits>,
}

/// What a profile's intra refresh allows (`VkVideoEncodeIntraRefreshCapabilitiesKHR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntraRefreshLimits {
    /// The modes offered (at least one).
    pub modes: VideoEncodeIntraRefreshModeFlagsKHR,
    /// The longest cycle, in pictures (`maxIntraRefreshCycleDuration`).
    pub max_cycle: u32,
    /// Active references a picture coded with intra refresh may use
    /// (`maxIntraRefreshActiveReferencePictures`).
    pub max_active_references: u32,
    /// Refresh regions may cross picture partitions (`partitionIndependentIntraRefreshRegions`).
    pub partition_independent: bool,
}

impl IntraRefreshLimits {
    /// The mode GhostStream codes with, of those offered: block rows (a band sweeping down the
    /// picture, as NVENC and x264 do in columns), else block columns, else the driver's own
    /// block order. `None` when only per-partition refresh is offered: it needs as many slices
    /// per picture as the cycle has pictures, and GhostStream codes one slice per picture.
    pub fn preferred_mode(&self) -> Option<VideoEncodeIntraRefreshModeFlagsKHR> {
        [
            VideoEncodeIntraRefreshModeFlagsKHR::BLOCK_ROW_BASED,
            VideoEncodeIntraRefreshModeFlagsKHR::BLOCK_COLUMN_BASED,
            VideoEncodeIntraRefreshModeFlagsKHR::BLOCK_BASED,
        ]
        .into_iter()
        .find(|m| self.modes.contains(*m))
    }
}

impl EncodeLimits {
    /// B pictures with one reference on each side: for H.264 and H.265
    /// `maxBPictureL0ReferenceCount` and `maxL1ReferenceCount` both at least 1; for AV1
    /// bidirectional compound prediction from two references named LAST and ALTREF.
    pub fn b_pictures(&self) -> bool {
        const LAST_AND_ALTREF: u32 = (1 << 0) | (1 << 6);
        (self.b_references >= 1 && self.l1_references >= 1)
            || (self.av1_bidirectional_references >= 2
                && self.av1_bidirectional_names & LAST_AND_ALTREF == LAST_AND_ALTREF)
    }
}

impl std::fmt::Display for EncodeSupport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} encode from {}x{} up to {}x{}, {} reference slots ({} active), rate control {}, {} quality levels",
            self.device,
            self.profile,
            self.min_coded_extent.0,
            self.min_coded_extent.1,
            self.max_coded_extent.0,
            self.max_coded_extent.1,
            self.max_dpb_slots,
            self.max_active_references,
            self.rate_control.join("/"),
            self.quality_levels
        )
    }
}

/// The device extension of a codec's encode, and its operation bit.
fn codec_extension(codec: Codec) -> (&'static CStr, vk::VideoCodecOperationFlagsKHR) {
    match codec {
        Codec::H264 => (
            c"VK_KHR_video_encode_h264",
            vk::VideoCodecOperationFlagsKHR::ENCODE_H264,
        ),
        Codec::Hevc => (
            c"VK_KHR_video_encode_h265",
            vk::VideoCodecOperationFlagsKHR::ENCODE_H265,
        ),
        // ash 0.38 predates AV1 encode: its name and operation bit are GhostStream's.
        Codec::Av1 => (
            av1::KHR_VIDEO_ENCODE_AV1_NAME,
            av1::VIDEO_CODEC_OPERATION_ENCODE_AV1,
        ),
    }
}

/// Whether `name` is among the `available` extension names.
fn has(available: &[String], name: &CStr) -> bool {
    available
        .iter()
        .any(|a| name.to_str().is_ok_and(|n| n == a))
}

/// The first device that encodes `codec`, with its capabilities, or why none does (each
/// device named with what it lacks).
pub fn encode_support(codec: Codec) -> Result<EncodeSupport, String> {
    // SAFETY: loading the Vulkan loader library; ash checks for the entry points it needs.
    let entry = unsafe { ash::Entry::load() }.map_err(|e| format!("no Vulkan loader: {e}"))?;
    let app = vk::ApplicationInfo::default()
        .application_name(c"ghoststream probe")
        .api_version(vk::API_VERSION_1_3);
    let info = vk::InstanceCreateInfo::default().application_info(&app);
    // SAFETY: a plain instance creation; the instance is destroyed before this returns.
    let instance = unsafe { entry.create_instance(&info, None) }
        .map_err(|e| format!("vkCreateInstance failed: {e}"))?;
    let result = probe_devices(&entry, &instance, codec);
    // SAFETY: nothing made from the instance outlives this call.
    unsafe { instance.destroy_instance(None) };
    result
}

/// What `ctx`'s device offers for `codec` at 8 bits, or why it does not encode it.
pub fn encode_support_on(
    ctx: &crate::gpu::GpuContext,
    codec: Codec,
) -> Result<EncodeSupport, String> {
    encode_support_at(ctx, codec, BitDepth::Eight)
}

/// What `ctx`'s device offers for `codec` at `depth` (H.265 Main 10 and AV1 Main for 10
/// bits), or why it does not encode it.
pub fn encode_support_at(
    ctx: &crate::gpu::GpuContext,
    codec: Codec,
    depth: BitDepth,
) -> Result<EncodeSupport, String> {
    probe_device(ctx.entry(), &ctx.instance, ctx.physical, codec, depth, None)
}

/// The usage hints, content hints and tuning mode (`VkVideoEncodeUsageInfoKHR`) GhostStream
/// gives a driver for `tuning`: recording with the high-quality or lossless tuning mode for
/// [`Tuning::HighQuality`] and [`Tuning::Lossless`], streaming with the ultra-low-latency
/// tuning mode for [`Tuning::UltraLowLatency`] and the low-latency one otherwise; default
/// content. A session's profile, its images' profile lists and these queries chain the same
/// values, as the specification asks.
pub fn usage_info(tuning: Tuning) -> vk::VideoEncodeUsageInfoKHR<'static> {
    let (usage, mode) = match tuning {
        Tuning::HighQuality => (
            vk::VideoEncodeUsageFlagsKHR::RECORDING,
            vk::VideoEncodeTuningModeKHR::HIGH_QUALITY,
        ),
        Tuning::Lossless => (
            vk::VideoEncodeUsageFlagsKHR::RECORDING,
            vk::VideoEncodeTuningModeKHR::LOSSLESS,
        ),
        Tuning::UltraLowLatency => (
            vk::VideoEncodeUsageFlagsKHR::STREAMING,
            vk::VideoEncodeTuningModeKHR::ULTRA_LOW_LATENCY,
        ),
        Tuning::LowLatency => (
            vk::VideoEncodeUsageFlagsKHR::STREAMING,
            vk::VideoEncodeTuningModeKHR::LOW_LATENCY,
        ),
    };
    vk::VideoEncodeUsageInfoKHR::default()
        .video_usage_hints(usage)
        .video_content_hints(vk::VideoEncodeContentFlagsKHR::DEFAULT)
        .tuning_mode(mode)
}

/// What `ctx`'s device offers for `codec` at `depth` (as [`encode_support_at`]), asked for the
/// profile an encode session of `tuning` is made with: the codec's profile with
/// [`usage_info`]`(tuning)` chained. Pass the session's [`Tuning`] (`EncodeHints::tuning`):
/// a driver may answer differently per use (lossless only under the lossless tuning mode, for
/// one). The error names the device and what it lacks.
pub fn encode_support_tuned(
    ctx: &GpuContext,
    codec: Codec,
    depth: BitDepth,
    tuning: Tuning,
) -> Result<EncodeSupport, String> {
    probe_device(
        ctx.entry(),
        &ctx.instance,
        ctx.physical,
        codec,
        depth,
        Some(tuning),
    )
}

/// What a driver prefers for one quality level of a profile
/// (`vkGetPhysicalDeviceVideoEncodeQualityLevelPropertiesKHR` with the codec's structure
/// chained). For AV1 the codec-neutral fields carry AV1's equivalents, named on each field, and
/// [`Self::av1`] the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QualityLevelProperties {
    /// The quality level asked about.
    pub level: u32,
    /// `preferredRateControlMode` (CBR, VBR, DISABLED for constant QP, or DEFAULT).
    pub rate_control_mode: vk::VideoEncodeRateControlModeFlagsKHR,
    /// `preferredRateControlLayerCount`.
    pub rate_control_layers: u32,
    /// `preferredGopFrameCount` (0: one GOP, no periodic intra pictures).
    pub gop_frames: u32,
    /// `preferredIdrPeriod`; AV1: `preferredKeyFramePeriod` (0: only the first picture).
    pub idr_period: u32,
    /// `preferredConsecutiveBFrameCount`; AV1: `preferredConsecutiveBipredictiveFrameCount`.
    pub consecutive_b_frames: u32,
    /// `preferredTemporalLayerCount`; H.265: `preferredSubLayerCount`.
    pub temporal_layers: u32,
    /// `preferredConstantQp` (I, P, B); AV1: `preferredConstantQIndex` (intra, predictive,
    /// bipredictive quantizer indices).
    pub constant_qp: (i32, i32, i32),
    /// `preferredMaxL0ReferenceCount`; AV1: `preferredMaxSingleReferenceCount`.
    pub max_l0_references: u32,
    /// `preferredMaxL1ReferenceCount`; 0 for AV1 (see [`Av1QualityLevel`]).
    pub max_l1_references: u32,
    /// H.264: `preferredStdEntropyCodingModeFlag` (CABAC); false for H.265 and AV1.
    pub h264_cabac: bool,
    /// AV1: the reference preferences beyond single references; `None` for H.264/H.265.
    pub av1: Option<Av1QualityLevel>,
}

/// AV1's reference preferences for a quality level (`VkVideoEncodeAV1QualityLevelPropertiesKHR`).
/// Name masks have bit `i` for `STD_VIDEO_AV1_REFERENCE_NAME_LAST_FRAME + i`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Av1QualityLevel {
    /// `preferredSingleReferenceNameMask`.
    pub single_reference_name_mask: u32,
    /// `preferredMaxUnidirectionalCompoundReferenceCount`.
    pub unidirectional_compound_references: u32,
    /// `preferredMaxUnidirectionalCompoundGroup1ReferenceCount`.
    pub unidirectional_compound_group1_references: u32,
    /// `preferredUnidirectionalCompoundReferenceNameMask`.
    pub unidirectional_compound_name_mask: u32,
    /// `preferredMaxBidirectionalCompoundReferenceCount`.
    pub bidirectional_compound_references: u32,
    /// `preferredMaxBidirectionalCompoundGroup1ReferenceCount`.
    pub bidirectional_compound_group1_references: u32,
    /// `preferredMaxBidirectionalCompoundGroup2ReferenceCount`.
    pub bidirectional_compound_group2_references: u32,
    /// `preferredBidirectionalCompoundReferenceNameMask`.
    pub bidirectional_compound_name_mask: u32,
}

/// The driver's preferred settings for quality level `level` of `codec` at `depth`, asked for
/// the profile an encode session of `tuning` is made with (the codec's profile with
/// [`usage_info`]`(tuning)`). Pass the level the session's parameters are made for
/// (`EncodeHints::quality_level`) and the session's tuning. The level is checked against the
/// profile's `maxQualityLevels` first: a level out of range is [`GpuError::Invalid`] naming
/// the device and its levels (the driver is not asked); a profile the device does not encode
/// is [`GpuError::Unsupported`] with the reason [`encode_support_tuned`] gives.
pub fn quality_level_properties(
    ctx: &GpuContext,
    codec: Codec,
    depth: BitDepth,
    tuning: Tuning,
    level: u32,
) -> Result<QualityLevelProperties, GpuError> {
    let support = encode_support_tuned(ctx, codec, depth, tuning)
        .map_err(|reason| unsupported(codec, reason))?;
    check_level(&support, level)?;
    let mut chain = ProfileChain::default();
    let (profile, _) = chain.info(codec, depth, Some(tuning));
    let info = vk::PhysicalDeviceVideoEncodeQualityLevelInfoKHR::default()
        .video_profile(&profile)
        .quality_level(level);
    let mut h264 = vk::VideoEncodeH264QualityLevelPropertiesKHR::default();
    let mut h265 = vk::VideoEncodeH265QualityLevelPropertiesKHR::default();
    let mut av1_props = av1::VideoEncodeAV1QualityLevelPropertiesKHR::default();
    let props = vk::VideoEncodeQualityLevelPropertiesKHR::default();
    let mut props = match codec {
        Codec::H264 => props.push_next(&mut h264),
        Codec::Hevc => props.push_next(&mut h265),
        Codec::Av1 => props.push_next(&mut av1_props),
    };
    let encode = ash::khr::video_encode_queue::Instance::new(ctx.entry(), &ctx.instance);
    // SAFETY: the info (with its profile chain) and the properties chain are well-formed and
    // live for the call; the function pointer was loaded from this instance.
    let result = unsafe {
        (encode
            .fp()
            .get_physical_device_video_encode_quality_level_properties_khr)(
            ctx.physical,
            &raw const info,
            &raw mut props,
        )
    };
    result.result().map_err(GpuError::vk(
        "vkGetPhysicalDeviceVideoEncodeQualityLevelPropertiesKHR",
    ))?;
    let (mode, layers) = (
        props.preferred_rate_control_mode,
        props.preferred_rate_control_layer_count,
    );
    let base = QualityLevelProperties {
        level,
        rate_control_mode: mode,
        rate_control_layers: layers,
        gop_frames: 0,
        idr_period: 0,
        consecutive_b_frames: 0,
        temporal_layers: 0,
        constant_qp: (0, 0, 0),
        max_l0_references: 0,
        max_l1_references: 0,
        h264_cabac: false,
        av1: None,
    };
    Ok(match codec {
        Codec::H264 => QualityLevelProperties {
            gop_frames: h264.preferred_gop_frame_count,
            idr_period: h264.preferred_idr_period,
            consecutive_b_frames: h264.preferred_consecutive_b_frame_count,
            temporal_layers: h264.preferred_temporal_layer_count,
            constant_qp: (
                h264.preferred_constant_qp.qp_i,
                h264.preferred_constant_qp.qp_p,
                h264.preferred_constant_qp.qp_b,
            ),
            max_l0_references: h264.preferred_max_l0_reference_count,
            max_l1_references: h264.preferred_max_l1_reference_count,
            h264_cabac: h264.preferred_std_entropy_coding_mode_flag != vk::FALSE,
            ..base
        },
        Codec::Hevc => QualityLevelProperties {
            gop_frames: h265.preferred_gop_frame_count,
            idr_period: h265.preferred_idr_period,
            consecutive_b_frames: h265.preferred_consecutive_b_frame_count,
            temporal_layers: h265.preferred_sub_layer_count,
            constant_qp: (
                h265.preferred_constant_qp.qp_i,
                h265.preferred_constant_qp.qp_p,
                h265.preferred_constant_qp.qp_b,
            ),
            max_l0_references: h265.preferred_max_l0_reference_count,
            max_l1_references: h265.preferred_max_l1_reference_count,
            ..base
        },
        Codec::Av1 => {
            let a = av1_props;
            let q = |i: u32| i32::try_from(i).unwrap_or(i32::MAX);
            let qi = a.preferred_constant_q_index;
            QualityLevelProperties {
                gop_frames: a.preferred_gop_frame_count,
                idr_period: a.preferred_key_frame_period,
                consecutive_b_frames: a.preferred_consecutive_bipredictive_frame_count,
                temporal_layers: a.preferred_temporal_layer_count,
                constant_qp: (
                    q(qi.intra_q_index),
                    q(qi.predictive_q_index),
                    q(qi.bipredictive_q_index),
                ),
                max_l0_references: a.preferred_max_single_reference_count,
                av1: Some(Av1QualityLevel {
                    single_reference_name_mask: a.preferred_single_reference_name_mask,
                    unidirectional_compound_references: a
                        .preferred_max_unidirectional_compound_reference_count,
                    unidirectional_compound_group1_references: a
                        .preferred_max_unidirectional_compound_group1_reference_count,
                    unidirectional_compound_name_mask: a
                        .preferred_unidirectional_compound_reference_name_mask,
                    bidirectional_compound_references: a
                        .preferred_max_bidirectional_compound_reference_count,
                    bidirectional_compound_group1_references: a
                        .preferred_max_bidirectional_compound_group1_reference_count,
                    bidirectional_compound_group2_references: a
                        .preferred_max_bidirectional_compound_group2_reference_count,
                    bidirectional_compound_name_mask: a
                        .preferred_bidirectional_compound_reference_name_mask,
                }),
                ..base
            }
        }
    })
}

/// The refusal of a profile the device does not encode, with [`probe_device`]'s reason.
fn unsupported(codec: Codec, reason: String) -> GpuError {
    GpuError::Unsupported {
        what: format!("encode {codec} with Vulkan Video"),
        reason,
    }
}

/// `level` against the profile's quality levels: an error naming the device, the profile and
/// the levels it has.
fn check_level(support: &EncodeSupport, level: u32) -> Result<(), GpuError> {
    if level < support.quality_levels {
        return Ok(());
    }
    let offered = match support.quality_levels {
        0 => "no quality levels".to_string(),
        n => format!("quality levels 0 to {}", n - 1),
    };
    Err(GpuError::Invalid {
        what: format!("quality level {level}"),
        reason: format!(
            "{} offers {offered} for {} encode",
            support.device, support.profile
        ),
    })
}

/// A picture format a device offers for one use of a profile's images
/// (`VkVideoFormatPropertiesKHR`), to make the images with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormatChoice {
    /// The format (NV12 at 8 bits, P010 at 10).
    pub format: vk::Format,
    /// `imageCreateFlags`: the create flags the images may use (MUTABLE_FORMAT and
    /// EXTENDED_USAGE where plane views of another format may be made).
    pub create_flags: vk::ImageCreateFlags,
    /// `imageUsageFlags`: every usage the images may have (at least the usage asked).
    pub usage: vk::ImageUsageFlags,
    /// The images may also be storage images (`usage` has STORAGE): a compute pass may write
    /// them directly.
    pub storage: bool,
}

/// The formats of a profile's encode input and reference pictures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PictureFormats {
    /// The encode input (asked for `VIDEO_ENCODE_SRC | TRANSFER_DST`).
    pub input: FormatChoice,
    /// The decoded picture buffer's references (asked for `VIDEO_ENCODE_DPB`).
    pub dpb: FormatChoice,
    /// The device takes each reference picture from an image of its own
    /// (`SEPARATE_REFERENCE_IMAGES`); without it every reference picture of a session must be
    /// a layer of one image (VUID-VkVideoBeginCodingInfoKHR-flags-07244).
    pub separate_reference_images: bool,
}

/// The usage the encode input images are asked for.
const INPUT_USAGE: vk::ImageUsageFlags = vk::ImageUsageFlags::from_raw(
    vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR.as_raw() | vk::ImageUsageFlags::TRANSFER_DST.as_raw(),
);

/// The formats `ctx`'s device offers (`vkGetPhysicalDeviceVideoFormatPropertiesKHR`, optimal
/// tiling) for the encode input and reference pictures of `codec` at `depth`, asked with a
/// profile list holding the profile an encode session of `tuning` is made with (the codec's
/// profile with [`usage_info`]`(tuning)`): call it before making the images, with the
/// session's codec, depth and tuning. GhostStream's pictures are
/// `G8_B8R8_2PLANE_420_UNORM` at 8 bits and `G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16` at 10;
/// a device that does not offer that one for a use is [`GpuError::Unsupported`] naming the
/// device, the format wanted and the formats it offers; a profile it does not encode is
/// [`GpuError::Unsupported`] with the reason [`encode_support_tuned`] gives.
pub fn picture_formats(
    ctx: &GpuContext,
    codec: Codec,
    depth: BitDepth,
    tuning: Tuning,
) -> Result<PictureFormats, GpuError> {
    let support = encode_support_tuned(ctx, codec, depth, tuning)
        .map_err(|reason| unsupported(codec, reason))?;
    let wanted = picture_format(depth);
    let ask = |usage: vk::ImageUsageFlags, role: &str| {
        let offered = video_formats(ctx, codec, depth, tuning, usage).map_err(|result| {
            GpuError::Unsupported {
                what: format!("make {} {role} pictures", support.profile),
                reason: format!(
                    "{}: vkGetPhysicalDeviceVideoFormatPropertiesKHR for {usage:?} failed: {result:?}",
                    support.device
                ),
            }
        })?;
        choose_format(&support, role, usage, wanted, &offered)
    };
    Ok(PictureFormats {
        input: ask(INPUT_USAGE, "encode input")?,
        dpb: ask(vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR, "reference")?,
        separate_reference_images: support.limits.separate_reference_images,
    })
}

/// The usage of encode input images a compute pass writes straight into: the copy paths' usage
/// and STORAGE (through per-plane views).
pub(crate) const DIRECT_INPUT_USAGE: vk::ImageUsageFlags =
    vk::ImageUsageFlags::from_raw(INPUT_USAGE.as_raw() | vk::ImageUsageFlags::STORAGE.as_raw());

/// The create flags per-plane storage views need (`PlanarImage`'s).
pub(crate) const DIRECT_INPUT_FLAGS: vk::ImageCreateFlags = vk::ImageCreateFlags::from_raw(
    vk::ImageCreateFlags::MUTABLE_FORMAT.as_raw() | vk::ImageCreateFlags::EXTENDED_USAGE.as_raw(),
);

/// The encode input format for images a pass writes straight into, when the device offers one:
/// `vkGetPhysicalDeviceVideoFormatPropertiesKHR` asked with the usage those images have
/// ([`DIRECT_INPUT_USAGE`]: `VIDEO_ENCODE_SRC | TRANSFER_DST | STORAGE`) for the profile
/// [`picture_formats`] asks about, answering GhostStream's picture format at `depth` with
/// optimal tiling, STORAGE among its usages and `MUTABLE_FORMAT | EXTENDED_USAGE` among its
/// create flags. `None` otherwise (a refusal of the usage included): the encoder then copies
/// into plain input images.
pub(crate) fn direct_input_format(
    ctx: &GpuContext,
    codec: Codec,
    depth: BitDepth,
    tuning: Tuning,
) -> Option<FormatChoice> {
    let offered = video_formats(ctx, codec, depth, tuning, DIRECT_INPUT_USAGE).ok()?;
    direct_choice(&offered, picture_format(depth))
}

/// [`direct_input_format`]'s pick among a device's answer.
fn direct_choice(offered: &[OfferedFormat], wanted: vk::Format) -> Option<FormatChoice> {
    offered
        .iter()
        .find(|o| {
            o.format == wanted
                && o.tiling == vk::ImageTiling::OPTIMAL
                && o.usage.contains(DIRECT_INPUT_USAGE)
                && o.create_flags.contains(DIRECT_INPUT_FLAGS)
        })
        .map(|o| FormatChoice {
            format: o.format,
            create_flags: o.create_flags,
            usage: o.usage,
            storage: true,
        })
}

/// GhostStream's encode input and reference picture format at `depth`: 4:2:0, two planes
/// (NV12, or P010's 10 bits in the high bits of 16-bit samples). The sessions' images are made
/// in it (session.rs holds the same mapping; this module sits below it, so the two cannot share
/// one function without session.rs calling this one).
pub(crate) fn picture_format(depth: BitDepth) -> vk::Format {
    match depth {
        BitDepth::Ten => vk::Format::G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16,
        BitDepth::Eight => vk::Format::G8_B8R8_2PLANE_420_UNORM,
    }
}

/// One entry of a device's `vkGetPhysicalDeviceVideoFormatPropertiesKHR` answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OfferedFormat {
    format: vk::Format,
    tiling: vk::ImageTiling,
    create_flags: vk::ImageCreateFlags,
    usage: vk::ImageUsageFlags,
}

/// The optimal-tiling entry of `wanted` among `offered`, or an error naming the device, the
/// format wanted and what it offers for `usage`.
fn choose_format(
    support: &EncodeSupport,
    role: &str,
    usage: vk::ImageUsageFlags,
    wanted: vk::Format,
    offered: &[OfferedFormat],
) -> Result<FormatChoice, GpuError> {
    if let Some(o) = offered
        .iter()
        .find(|o| o.format == wanted && o.tiling == vk::ImageTiling::OPTIMAL)
    {
        return Ok(FormatChoice {
            format: o.format,
            create_flags: o.create_flags,
            usage: o.usage,
            storage: o.usage.contains(vk::ImageUsageFlags::STORAGE),
        });
    }
    let list: Vec<String> = offered
        .iter()
        .map(|o| format!("{:?} ({:?} tiling)", o.format, o.tiling))
        .collect();
    let list = if list.is_empty() {
        "no format".to_string()
    } else {
        list.join(", ")
    };
    Err(GpuError::Unsupported {
        what: format!(
            "make {} {role} pictures in {wanted:?} with optimal tiling",
            support.profile
        ),
        reason: format!("{} offers {list} for {usage:?}", support.device),
    })
}

/// `vkGetPhysicalDeviceVideoFormatPropertiesKHR` for `usage` and a profile list of the one
/// profile of `codec`, `depth` and `tuning`.
fn video_formats(
    ctx: &GpuContext,
    codec: Codec,
    depth: BitDepth,
    tuning: Tuning,
    usage: vk::ImageUsageFlags,
) -> Result<Vec<OfferedFormat>, vk::Result> {
    let mut chain = ProfileChain::default();
    let (profile, _) = chain.info(codec, depth, Some(tuning));
    let profiles = [profile];
    let mut list = vk::VideoProfileListInfoKHR::default().profiles(&profiles);
    let info = vk::PhysicalDeviceVideoFormatInfoKHR::default()
        .image_usage(usage)
        .push_next(&mut list);
    let video = ash::khr::video_queue::Instance::new(ctx.entry(), &ctx.instance);
    let fp = video.fp().get_physical_device_video_format_properties_khr;
    // A driver may grow its list between the two calls: ask again, a few times at most.
    for _ in 0..4 {
        let mut count = 0u32;
        // SAFETY: a count query; the info and its chain live for the call.
        unsafe {
            fp(
                ctx.physical,
                &raw const info,
                &raw mut count,
                std::ptr::null_mut(),
            )
        }
        .result()?;
        let mut props = vec![vk::VideoFormatPropertiesKHR::default(); count as usize];
        // SAFETY: `props` has room for `count` entries, each with its sType set.
        let result = unsafe {
            fp(
                ctx.physical,
                &raw const info,
                &raw mut count,
                props.as_mut_ptr(),
            )
        };
        if result == vk::Result::INCOMPLETE {
            continue;
        }
        result.result()?;
        props.truncate(count as usize);
        return Ok(props
            .iter()
            .map(|p| OfferedFormat {
                format: p.format,
                tiling: p.image_tiling,
                create_flags: p.image_create_flags,
                usage: p.image_usage_flags,
            })
            .collect());
    }
    Err(vk::Result::INCOMPLETE)
}

/// The codec-specific and usage parts of an encode profile, kept where the profile info
/// points at them.
#[derive(Default)]
struct ProfileChain {
    h264: vk::VideoEncodeH264ProfileInfoKHR<'static>,
    h265: vk::VideoEncodeH265ProfileInfoKHR<'static>,
    av1: av1::VideoEncodeAV1ProfileInfoKHR<'static>,
    usage: vk::VideoEncodeUsageInfoKHR<'static>,
}

impl ProfileChain {
    /// The profile asked about: H.264 High, H.265 Main (Main 10) or AV1 Main at 4:2:0 and
    /// `depth`, with [`usage_info`]`(tuning)` chained when `tuning` is given; and its name.
    fn info(
        &mut self,
        codec: Codec,
        depth: BitDepth,
        tuning: Option<Tuning>,
    ) -> (vk::VideoProfileInfoKHR<'_>, &'static str) {
        let ten = depth == BitDepth::Ten;
        let Self {
            h264,
            h265,
            av1,
            usage,
        } = self;
        *h264 = h264
            .std_profile_idc(vk::native::StdVideoH264ProfileIdc_STD_VIDEO_H264_PROFILE_IDC_HIGH);
        *h265 = h265.std_profile_idc(if ten {
            vk::native::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN_10
        } else {
            vk::native::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN
        });
        av1.std_profile = vk::native::StdVideoAV1Profile_STD_VIDEO_AV1_PROFILE_MAIN;
        let bits = component_depth(depth);
        let (_, operation) = codec_extension(codec);
        let base = vk::VideoProfileInfoKHR::default()
            .video_codec_operation(operation)
            .chroma_subsampling(vk::VideoChromaSubsamplingFlagsKHR::TYPE_420)
            .luma_bit_depth(bits)
            .chroma_bit_depth(bits);
        let base = match tuning {
            Some(t) => {
                *usage = usage_info(t);
                base.push_next(usage)
            }
            None => base,
        };
        match (codec, ten) {
            (Codec::H264, _) => (base.push_next(h264), "H.264 High"),
            (Codec::Hevc, false) => (base.push_next(h265), "H.265 Main"),
            (Codec::Hevc, true) => (base.push_next(h265), "H.265 Main 10"),
            (Codec::Av1, false) => (base.push_next(av1), "AV1 Main"),
            (Codec::Av1, true) => (base.push_next(av1), "AV1 Main 10-bit"),
        }
    }
}

fn probe_devices(
    entry: &ash::Entry,
    instance: &ash::Instance,
    codec: Codec,
) -> Result<EncodeSupport, String> {
    // SAFETY: a plain query on a live instance.
    let devices = unsafe { instance.enumerate_physical_devices() }
        .map_err(|e| format!("vkEnumeratePhysicalDevices failed: {e}"))?;
    if devices.is_empty() {
        return Err("no Vulkan device".into());
    }
    let mut reasons = Vec::new();
    for physical in devices {
        match probe_device(entry, instance, physical, codec, BitDepth::Eight, None) {
            Ok(support) => return Ok(support),
            Err(reason) => reasons.push(reason),
        }
    }
    Err(format!(
        "no Vulkan device encodes {codec}: {}",
        reasons.join("; ")
    ))
}

fn probe_device(
    entry: &ash::Entry,
    instance: &ash::Instance,
    physical: vk::PhysicalDevice,
    codec: Codec,
    depth: BitDepth,
    tuning: Option<Tuning>,
) -> Result<EncodeSupport, String> {
    // SAFETY: plain queries on a physical device of this live instance.
    let (props, extensions) = unsafe {
        (
            instance.get_physical_device_properties(physical),
            instance.enumerate_device_extension_properties(physical),
        )
    };
    let name = props
        .device_name_as_c_str()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "a device".into());
    let extensions: Vec<String> = extensions
        .map_err(|e| format!("{name}: vkEnumerateDeviceExtensionProperties failed: {e}"))?
        .iter()
        .filter_map(|e| e.extension_name_as_c_str().ok())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    let (codec_ext, operation) = codec_extension(codec);
    let missing: Vec<String> = ENCODE_EXTENSIONS
        .into_iter()
        .chain([codec_ext])
        .filter(|e| !has(&extensions, e))
        .map(|e| e.to_string_lossy().into_owned())
        .collect();
    if !missing.is_empty() {
        return Err(format!("{name} lacks {}", missing.join(", ")));
    }
    let (queue_family, _) = encode_family(instance, physical, operation)
        .ok_or_else(|| format!("{name} has no video-encode queue family for {codec}"))?;
    if codec == Codec::Av1 && !av1_feature(instance, physical) {
        return Err(format!(
            "{name} lists {} but does not offer its videoEncodeAV1 feature",
            codec_ext.to_string_lossy()
        ));
    }
    let refresh = intra_refresh_feature(instance, physical, &extensions);
    match capabilities(entry, instance, physical, codec, depth, tuning, refresh) {
        Ok(mut s) => {
            s.device = name;
            s.queue_family = queue_family;
            Ok(s)
        }
        Err(reason) => Err(format!("{name}: {reason}")),
    }
}

/// Whether the device offers the `videoEncodeAV1` feature (`VkPhysicalDeviceVideoEncodeAV1FeaturesKHR`),
/// without which no AV1 encode session may be made.
pub(crate) fn av1_feature(instance: &ash::Instance, physical: vk::PhysicalDevice) -> bool {
    let mut av1 = av1::PhysicalDeviceVideoEncodeAV1FeaturesKHR::default();
    let mut features = vk::PhysicalDeviceFeatures2::default().push_next(&mut av1);
    // SAFETY: a plain query on a live physical device of a Vulkan 1.1+ instance; the chain
    // lives for the call.
    unsafe { instance.get_physical_device_features2(physical, &mut features) };
    av1.video_encode_av1 == vk::TRUE
}

/// Whether the device offers the `videoEncodeIntraRefresh` feature
/// (`VkPhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR`), asked only where it lists
/// VK_KHR_video_encode_intra_refresh (`available`): a structure of an extension the device lacks
/// may not be chained.
pub(crate) fn intra_refresh_feature(
    instance: &ash::Instance,
    physical: vk::PhysicalDevice,
    available: &[String],
) -> bool {
    if !has(available, KHR_VIDEO_ENCODE_INTRA_REFRESH_NAME) {
        return false;
    }
    let mut refresh = PhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR::default();
    let mut features = vk::PhysicalDeviceFeatures2::default().push_next(&mut refresh);
    // SAFETY: a plain query on a live physical device of a Vulkan 1.1+ instance; the chain
    // lives for the call and its one structure's extension is the device's.
    unsafe { instance.get_physical_device_features2(physical, &mut features) };
    refresh.video_encode_intra_refresh == vk::TRUE
}

/// The Vulkan component depth of `depth`.
pub(crate) fn component_depth(depth: BitDepth) -> vk::VideoComponentBitDepthFlagsKHR {
    match depth {
        BitDepth::Ten => vk::VideoComponentBitDepthFlagsKHR::TYPE_10,
        BitDepth::Eight => vk::VideoComponentBitDepthFlagsKHR::TYPE_8,
    }
}

/// The device extensions a video-encode queue needs, then each codec's, with the codec's
/// operation bit.
const ENCODE_EXTENSIONS: [&CStr; 2] = [c"VK_KHR_video_queue", c"VK_KHR_video_encode_queue"];

/// What a device's video-encode queue can do, for a context to create it: the family, its
/// codec operations, and the extensions to enable (the queue's and each codec's the device
/// has). `None` when the device has no encode family or lacks the queue extensions.
pub(crate) fn encode_queue(
    instance: &ash::Instance,
    physical: vk::PhysicalDevice,
    available: &[String],
) -> Option<(u32, vk::VideoCodecOperationFlagsKHR, Vec<&'static CStr>)> {
    if !ENCODE_EXTENSIONS.iter().all(|e| has(available, e)) {
        return None;
    }
    let (family, operations) =
        encode_family(instance, physical, vk::VideoCodecOperationFlagsKHR::empty())?;
    let mut extensions = ENCODE_EXTENSIONS.to_vec();
    for codec in Codec::ALL {
        let (ext, op) = codec_extension(codec);
        let feature = codec != Codec::Av1 || av1_feature(instance, physical);
        if operations.contains(op) && has(available, ext) && feature {
            extensions.push(ext);
        }
    }
    // Intra refresh, enabled with its feature where the device offers both (a session asks
    // for a mode only when the stream uses it).
    if intra_refresh_feature(instance, physical, available) {
        extensions.push(KHR_VIDEO_ENCODE_INTRA_REFRESH_NAME);
    }
    Some((family, operations, extensions))
}

/// Each queue family's flags and the codec operations its video properties name.
fn queue_families(
    instance: &ash::Instance,
    physical: vk::PhysicalDevice,
) -> Vec<(vk::QueueFlags, vk::VideoCodecOperationFlagsKHR)> {
    // SAFETY: a count query on a live physical device.
    let count = unsafe { instance.get_physical_device_queue_family_properties2_len(physical) };
    let mut video = vec![vk::QueueFamilyVideoPropertiesKHR::default(); count];
    let mut families: Vec<vk::QueueFamilyProperties2> = video
        .iter_mut()
        .map(|v| vk::QueueFamilyProperties2::default().push_next(v))
        .collect();
    // SAFETY: `families` has room for `count` entries, each chaining its own video properties.
    unsafe { instance.get_physical_device_queue_family_properties2(physical, &mut families) };
    let flags: Vec<vk::QueueFlags> = families
        .iter()
        .map(|f| f.queue_family_properties.queue_flags)
        .collect();
    drop(families);
    flags
        .into_iter()
        .zip(video.iter().map(|v| v.video_codec_operations))
        .collect()
}

/// The first queue family with VK_QUEUE_VIDEO_ENCODE_BIT_KHR whose video properties name
/// `operation` (any encode family for an empty `operation`), with all the operations it names.
fn encode_family(
    instance: &ash::Instance,
    physical: vk::PhysicalDevice,
    operation: vk::VideoCodecOperationFlagsKHR,
) -> Option<(u32, vk::VideoCodecOperationFlagsKHR)> {
    queue_families(instance, physical)
        .into_iter()
        .enumerate()
        .find(|(_, (flags, ops))| {
            flags.contains(vk::QueueFlags::VIDEO_ENCODE_KHR) && ops.contains(operation)
        })
        .and_then(|(i, (_, ops))| Some((u32::try_from(i).ok()?, ops)))
}

/// The capabilities for H.264 High, H.265 Main (Main 10) or AV1 Main at 4:2:0 and `depth`,
/// with the usage hints of `tuning` in the profile when given; the intra refresh limits asked
/// too when `intra_refresh` (the device has the extension and its feature).
fn capabilities(
    entry: &ash::Entry,
    instance: &ash::Instance,
    physical: vk::PhysicalDevice,
    codec: Codec,
    depth: BitDepth,
    tuning: Option<Tuning>,
    intra_refresh: bool,
) -> Result<EncodeSupport, String> {
    let video = ash::khr::video_queue::Instance::new(entry, instance);
    let mut chain = ProfileChain::default();
    let (profile, profile_name) = chain.info(codec, depth, tuning);
    let mut h264_caps = vk::VideoEncodeH264CapabilitiesKHR::default();
    let mut h265_caps = vk::VideoEncodeH265CapabilitiesKHR::default();
    let mut av1_caps = av1::VideoEncodeAV1CapabilitiesKHR::default();
    let mut encode_caps = vk::VideoEncodeCapabilitiesKHR::default();
    let mut refresh_caps = VideoEncodeIntraRefreshCapabilitiesKHR::default();
    let caps = vk::VideoCapabilitiesKHR::default().push_next(&mut encode_caps);
    let caps = if intra_refresh {
        caps.push_next(&mut refresh_caps)
    } else {
        caps
    };
    let mut caps = match codec {
        Codec::H264 => caps.push_next(&mut h264_caps),
        Codec::Hevc => caps.push_next(&mut h265_caps),
        Codec::Av1 => caps.push_next(&mut av1_caps),
    };
    // SAFETY: the profile and capability chains are well-formed and live for the call; the
    // function pointer was loaded from this instance.
    let result = unsafe {
        (video.fp().get_physical_device_video_capabilities_khr)(
            physical,
            &raw const profile,
            &raw mut caps,
        )
    };
    if result != vk::Result::SUCCESS {
        let bits = match depth {
            BitDepth::Eight => 8,
            BitDepth::Ten => 10,
        };
        return Err(format!(
            "{profile_name} 4:2:0 at {bits} bits: encode capabilities refused: {result}"
        ));
    }
    let (min, max) = (caps.min_coded_extent, caps.max_coded_extent);
    let (slots, refs) = (caps.max_dpb_slots, caps.max_active_reference_pictures);
    let (size_alignment, access, caps_flags) = (
        caps.min_bitstream_buffer_size_alignment,
        caps.picture_access_granularity,
        caps.flags,
    );
    let granularity = (
        access
            .width
            .max(encode_caps.encode_input_picture_granularity.width),
        access
            .height
            .max(encode_caps.encode_input_picture_granularity.height),
    );
    let q_index = |q: u32| i32::try_from(q).unwrap_or(i32::MAX);
    let (qp_range, p_references, requires_gop_remaining_frames, max_level_idc) = match codec {
        Codec::H264 => (
            (h264_caps.min_qp, h264_caps.max_qp),
            h264_caps.max_p_picture_l0_reference_count,
            h264_caps.requires_gop_remaining_frames != 0,
            h264_caps.max_level_idc,
        ),
        Codec::Hevc => (
            (h265_caps.min_qp, h265_caps.max_qp),
            h265_caps.max_p_picture_l0_reference_count,
            h265_caps.requires_gop_remaining_frames != 0,
            h265_caps.max_level_idc,
        ),
        // AV1's quantizer is the q index (0-255); a P frame is one of single reference, LAST
        // being the name GhostStream predicts from.
        Codec::Av1 => (
            (q_index(av1_caps.min_q_index), q_index(av1_caps.max_q_index)),
            if av1_caps.single_reference_name_mask & 1 != 0 {
                av1_caps.max_single_reference_count
            } else {
                0
            },
            av1_caps.requires_gop_remaining_frames != 0,
            av1_caps.max_level,
        ),
    };
    let transforms = vk::VideoEncodeH265TransformBlockSizeFlagsKHR::TYPE_4
        | vk::VideoEncodeH265TransformBlockSizeFlagsKHR::TYPE_8
        | vk::VideoEncodeH265TransformBlockSizeFlagsKHR::TYPE_16
        | vk::VideoEncodeH265TransformBlockSizeFlagsKHR::TYPE_32;
    let limits = EncodeLimits {
        max_bitrate: encode_caps.max_bitrate,
        qp_range,
        bitstream_size_alignment: size_alignment,
        picture_granularity: granularity,
        separate_reference_images: caps_flags
            .contains(vk::VideoCapabilityFlagsKHR::SEPARATE_REFERENCE_IMAGES),
        p_references,
        b_references: match codec {
            Codec::H264 => h264_caps.max_b_picture_l0_reference_count,
            Codec::Hevc => h265_caps.max_b_picture_l0_reference_count,
            Codec::Av1 => 0,
        },
        l1_references: match codec {
            Codec::H264 => h264_caps.max_l1_reference_count,
            Codec::Hevc => h265_caps.max_l1_reference_count,
            Codec::Av1 => 0,
        },
        av1_bidirectional_references: if codec == Codec::Av1 {
            av1_caps.max_bidirectional_compound_reference_count
        } else {
            0
        },
        av1_bidirectional_names: if codec == Codec::Av1 {
            av1_caps.bidirectional_compound_reference_name_mask
        } else {
            0
        },
        requires_gop_remaining_frames,
        feedback: encode_caps.supported_encode_feedback_flags.contains(
            vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BUFFER_OFFSET
                | vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BYTES_WRITTEN,
        ),
        max_level_idc,
        av1_superblock_128_only: codec == Codec::Av1
            && !av1_caps
                .superblock_sizes
                .contains(av1::VideoEncodeAV1SuperblockSizeFlagsKHR::SIZE_64),
        h265_ctb32_transforms: codec != Codec::Hevc
            || (h265_caps
                .ctb_sizes
                .contains(vk::VideoEncodeH265CtbSizeFlagsKHR::TYPE_32)
                && h265_caps.transform_block_sizes.contains(transforms)),
        h265_ctb64_transforms: codec == Codec::Hevc
            && h265_caps
                .ctb_sizes
                .contains(vk::VideoEncodeH265CtbSizeFlagsKHR::TYPE_64)
            && h265_caps.transform_block_sizes.contains(transforms),
        intra_refresh: (intra_refresh && refresh_caps.intra_refresh_modes.as_raw() != 0).then_some(
            IntraRefreshLimits {
                modes: refresh_caps.intra_refresh_modes,
                max_cycle: refresh_caps.max_intra_refresh_cycle_duration,
                max_active_references: refresh_caps.max_intra_refresh_active_reference_pictures,
                partition_independent: refresh_caps.partition_independent_intra_refresh_regions
                    == vk::TRUE,
            },
        ),
    };
    let modes = encode_caps.rate_control_modes;
    let rate_control = [
        (vk::VideoEncodeRateControlModeFlagsKHR::CBR, "cbr"),
        (vk::VideoEncodeRateControlModeFlagsKHR::VBR, "vbr"),
        (vk::VideoEncodeRateControlModeFlagsKHR::DISABLED, "disabled"),
    ]
    .into_iter()
    .filter(|(m, _)| modes.contains(*m))
    .map(|(_, n)| n)
    .collect();
    Ok(EncodeSupport {
        device: String::new(),
        profile: profile_name,
        max_coded_extent: (max.width, max.height),
        min_coded_extent: (min.width, min.height),
        max_dpb_slots: slots,
        max_active_references: refs,
        rate_control,
        quality_levels: encode_caps.max_quality_levels,
        queue_family: 0,
        limits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn support(levels: u32) -> EncodeSupport {
        EncodeSupport {
            device: "a test device".into(),
            profile: "H.265 Main 10",
            max_coded_extent: (8192, 8192),
            min_coded_extent: (144, 48),
            max_dpb_slots: 16,
            max_active_references: 15,
            rate_control: vec!["cbr"],
            quality_levels: levels,
            queue_family: 1,
            limits: EncodeLimits::default(),
        }
    }

    #[test]
    fn each_tuning_gives_its_usage_hints_and_tuning_mode() {
        use vk::VideoEncodeTuningModeKHR as Mode;
        use vk::VideoEncodeUsageFlagsKHR as Usage;
        let cases = [
            (Tuning::HighQuality, Usage::RECORDING, Mode::HIGH_QUALITY),
            (Tuning::Lossless, Usage::RECORDING, Mode::LOSSLESS),
            (Tuning::LowLatency, Usage::STREAMING, Mode::LOW_LATENCY),
            (
                Tuning::UltraLowLatency,
                Usage::STREAMING,
                Mode::ULTRA_LOW_LATENCY,
            ),
        ];
        for (tuning, usage, mode) in cases {
            let u = usage_info(tuning);
            assert_eq!(
                (u.video_usage_hints, u.video_content_hints, u.tuning_mode),
                (usage, vk::VideoEncodeContentFlagsKHR::DEFAULT, mode),
                "{tuning:?}"
            );
            assert_eq!(u.s_type, vk::StructureType::VIDEO_ENCODE_USAGE_INFO_KHR);
        }
    }

    /// The sTypes of a profile's chain, in order.
    fn chain_types(p: &vk::VideoProfileInfoKHR<'_>) -> Vec<vk::StructureType> {
        let mut types = Vec::new();
        let mut node = p.p_next.cast::<vk::BaseInStructure<'_>>();
        while !node.is_null() && types.len() < 8 {
            // SAFETY: the chain was built by ProfileChain::info from live structures.
            let n = unsafe { &*node };
            types.push(n.s_type);
            node = n.p_next;
        }
        types
    }

    #[test]
    fn the_profile_chains_the_codec_profile_and_the_usage_only_when_tuned() {
        let mut chain = ProfileChain::default();
        let (p, name) = chain.info(Codec::Hevc, BitDepth::Ten, Some(Tuning::Lossless));
        assert_eq!(name, "H.265 Main 10");
        assert_eq!(
            (
                p.video_codec_operation,
                p.luma_bit_depth,
                p.chroma_bit_depth
            ),
            (
                vk::VideoCodecOperationFlagsKHR::ENCODE_H265,
                vk::VideoComponentBitDepthFlagsKHR::TYPE_10,
                vk::VideoComponentBitDepthFlagsKHR::TYPE_10
            )
        );
        assert_eq!(
            chain_types(&p),
            [
                vk::StructureType::VIDEO_ENCODE_H265_PROFILE_INFO_KHR,
                vk::StructureType::VIDEO_ENCODE_USAGE_INFO_KHR
            ]
        );
        assert_eq!(
            chain.h265.std_profile_idc,
            vk::native::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN_10
        );
        assert_eq!(
            chain.usage.tuning_mode,
            vk::VideoEncodeTuningModeKHR::LOSSLESS
        );
        let mut chain = ProfileChain::default();
        let (p, name) = chain.info(Codec::Av1, BitDepth::Eight, None);
        assert_eq!(name, "AV1 Main");
        assert_eq!(
            chain_types(&p),
            [av1::structure_type::VIDEO_ENCODE_AV1_PROFILE_INFO_KHR]
        );
    }

    #[test]
    fn a_level_beyond_the_profiles_is_refused_naming_the_device_and_its_levels() {
        assert!(check_level(&support(7), 6).is_ok());
        assert_eq!(
            check_level(&support(7), 7).unwrap_err().to_string(),
            "invalid quality level 7: a test device offers quality levels 0 to 6 for H.265 Main 10 encode"
        );
        assert_eq!(
            check_level(&support(0), 0).unwrap_err().to_string(),
            "invalid quality level 0: a test device offers no quality levels for H.265 Main 10 encode"
        );
    }

    fn offered(format: vk::Format, tiling: vk::ImageTiling) -> OfferedFormat {
        OfferedFormat {
            format,
            tiling,
            create_flags: vk::ImageCreateFlags::MUTABLE_FORMAT,
            usage: INPUT_USAGE | vk::ImageUsageFlags::STORAGE,
        }
    }

    #[test]
    fn the_wanted_format_is_chosen_with_optimal_tiling_and_storage_reported() {
        let p010 = vk::Format::G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16;
        let list = [
            offered(p010, vk::ImageTiling::LINEAR),
            offered(
                vk::Format::G8_B8R8_2PLANE_420_UNORM,
                vk::ImageTiling::OPTIMAL,
            ),
            offered(p010, vk::ImageTiling::OPTIMAL),
        ];
        let choice = choose_format(&support(1), "encode input", INPUT_USAGE, p010, &list).unwrap();
        assert_eq!(
            choice,
            FormatChoice {
                format: p010,
                create_flags: vk::ImageCreateFlags::MUTABLE_FORMAT,
                usage: INPUT_USAGE | vk::ImageUsageFlags::STORAGE,
                storage: true,
            }
        );
        let dpb = OfferedFormat {
            usage: vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR,
            ..list[2]
        };
        let dpb_usage = vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR;
        assert!(
            !choose_format(&support(1), "reference", dpb_usage, p010, &[dpb])
                .unwrap()
                .storage
        );
    }

    #[test]
    fn direct_inputs_need_storage_and_both_view_flags() {
        let nv12 = vk::Format::G8_B8R8_2PLANE_420_UNORM;
        let full = OfferedFormat {
            format: nv12,
            tiling: vk::ImageTiling::OPTIMAL,
            create_flags: DIRECT_INPUT_FLAGS,
            usage: DIRECT_INPUT_USAGE | vk::ImageUsageFlags::TRANSFER_SRC,
        };
        assert_eq!(direct_choice(&[full], nv12).map(|c| c.format), Some(nv12));
        let mutable_only = OfferedFormat {
            create_flags: vk::ImageCreateFlags::MUTABLE_FORMAT,
            ..full
        };
        let no_storage = OfferedFormat {
            usage: INPUT_USAGE,
            ..full
        };
        let linear = OfferedFormat {
            tiling: vk::ImageTiling::LINEAR,
            ..full
        };
        for o in [mutable_only, no_storage, linear] {
            assert_eq!(direct_choice(&[o], nv12), None, "{o:?}");
        }
        let p010 = vk::Format::G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16;
        assert_eq!(direct_choice(&[full], p010), None);
    }

    #[test]
    fn an_absent_format_names_the_device_the_format_wanted_and_what_it_offers() {
        let p010 = vk::Format::G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16;
        let list = [
            offered(p010, vk::ImageTiling::LINEAR),
            offered(
                vk::Format::G8_B8R8_2PLANE_420_UNORM,
                vk::ImageTiling::OPTIMAL,
            ),
        ];
        assert_eq!(
            choose_format(&support(1), "encode input", INPUT_USAGE, p010, &list)
                .unwrap_err()
                .to_string(),
            "the device cannot make H.265 Main 10 encode input pictures in \
             G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16 with optimal tiling: a test device offers \
             G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16 (LINEAR tiling), \
             G8_B8R8_2PLANE_420_UNORM (OPTIMAL tiling) for TRANSFER_DST | VIDEO_ENCODE_SRC_KHR"
        );
        assert_eq!(
            choose_format(
                &support(1),
                "reference",
                vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR,
                p010,
                &[]
            )
            .unwrap_err()
            .to_string(),
            "the device cannot make H.265 Main 10 reference pictures in \
             G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16 with optimal tiling: a test device offers \
             no format for VIDEO_ENCODE_DPB_KHR"
        );
    }
}
