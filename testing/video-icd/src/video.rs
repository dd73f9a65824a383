//! The video queries: which encode profiles the device takes, their capabilities, and the
//! image formats for encode input and reference pictures.

use ash::vk;
use ash::vk::native;

use crate::caps::{self, DeviceTable, EncodeCaps, VideoCaps};

/// A `VkVideoProfileInfoKHR` with its codec-specific profile, read from the caller's chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    /// `videoCodecOperation`.
    pub operation: vk::VideoCodecOperationFlagsKHR,
    /// `chromaSubsampling`.
    pub chroma: vk::VideoChromaSubsamplingFlagsKHR,
    /// `lumaBitDepth`.
    pub luma: vk::VideoComponentBitDepthFlagsKHR,
    /// `chromaBitDepth`.
    pub chroma_depth: vk::VideoComponentBitDepthFlagsKHR,
    /// `stdProfileIdc` of the chained `VkVideoEncodeH264ProfileInfoKHR` or
    /// `VkVideoEncodeH265ProfileInfoKHR`, or `stdProfile` of the chained
    /// `VkVideoEncodeAV1ProfileInfoKHR`; `None` when the chain lacks it.
    pub std_profile_idc: Option<u32>,
}

/// The codec-specific capabilities of a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodecCaps {
    /// `VkVideoEncodeH264CapabilitiesKHR`.
    H264(caps::H264Caps),
    /// `VkVideoEncodeH265CapabilitiesKHR`.
    H265(caps::H265Caps),
    /// `VkVideoEncodeAV1CapabilitiesKHR`.
    Av1(caps::Av1Caps),
}

/// Everything `vkGetPhysicalDeviceVideoCapabilitiesKHR` reports for a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileCaps {
    /// `VkVideoCapabilitiesKHR`.
    pub video: VideoCaps,
    /// The std header: its name and version.
    pub std_header: (&'static str, u32),
    /// `VkVideoEncodeCapabilitiesKHR`.
    pub encode: EncodeCaps,
    /// The codec's own structure.
    pub codec: CodecCaps,
}

/// Why a profile is refused: the `VkResult` and the reason, for the log.
pub type Refusal = (vk::Result, String);

/// The picture format a profile encodes from (and keeps its references in).
pub fn picture_format(profile: &Profile) -> vk::Format {
    if profile.luma == vk::VideoComponentBitDepthFlagsKHR::TYPE_10 {
        vk::Format::G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16
    } else {
        vk::Format::G8_B8R8_2PLANE_420_UNORM
    }
}

/// Checks `profile` against the device: the codec, then the picture format, then the codec's
/// profile.
pub fn check(table: &DeviceTable, profile: &Profile) -> Result<ProfileCaps, Refusal> {
    let op = profile.operation;
    let h265 = op == vk::VideoCodecOperationFlagsKHR::ENCODE_H265;
    let av1 = op == caps::CODEC_OPERATION_ENCODE_AV1;
    let implemented = op == vk::VideoCodecOperationFlagsKHR::ENCODE_H264 || h265 || av1;
    if !implemented || !table.encode_operations.contains(op) {
        return Err((
            vk::Result::ERROR_VIDEO_PROFILE_OPERATION_NOT_SUPPORTED_KHR,
            format!("codec operation {op:?} is not one this driver's capability queries answer (H.264, H.265 and AV1 encode)"),
        ));
    }
    let depth8 = vk::VideoComponentBitDepthFlagsKHR::TYPE_8;
    let depth10 = vk::VideoComponentBitDepthFlagsKHR::TYPE_10;
    let depth_ok = profile.luma == profile.chroma_depth
        && (profile.luma == depth8 || ((h265 || av1) && profile.luma == depth10));
    if profile.chroma != vk::VideoChromaSubsamplingFlagsKHR::TYPE_420 || !depth_ok {
        return Err((
            vk::Result::ERROR_VIDEO_PROFILE_FORMAT_NOT_SUPPORTED_KHR,
            format!(
                "chroma {:?} luma {:?} chroma depth {:?}: the device encodes 4:2:0 at 8 bits (and 10 bits for H.265 and AV1)",
                profile.chroma, profile.luma, profile.chroma_depth
            ),
        ));
    }
    let Some(idc) = profile.std_profile_idc else {
        return Err((
            vk::Result::ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR,
            "the profile's chain has no codec profile structure (VkVideoEncodeH264ProfileInfoKHR / VkVideoEncodeH265ProfileInfoKHR / VkVideoEncodeAV1ProfileInfoKHR)".into(),
        ));
    };
    if av1 {
        if idc != native::StdVideoAV1Profile_STD_VIDEO_AV1_PROFILE_MAIN {
            return Err((
                vk::Result::ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR,
                format!("AV1 stdProfile {idc}: the device encodes Main (0) only"),
            ));
        }
        return Ok(ProfileCaps {
            video: table.av1_video,
            std_header: (caps::STD_AV1_ENCODE_NAME, caps::STD_VERSION_1_0_0),
            encode: table.av1_encode,
            codec: CodecCaps::Av1(table.av1),
        });
    }
    if h265 {
        let main10 = native::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN_10;
        let main = native::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN;
        let fits =
            (idc == main && profile.luma == depth8) || (idc == main10 && profile.luma == depth10);
        if !fits {
            // Main carries 8 bits only (H.265 A.3.2); Main 10 allows 8 to 10, but this device,
            // as modelled, takes Main 10 profiles at 10 bits only.
            return Err((
                vk::Result::ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR,
                format!("H.265 stdProfileIdc {idc} with luma {:?}: the device encodes Main (1) at 8 bits and Main 10 (2) at 10 bits", profile.luma),
            ));
        }
        return Ok(ProfileCaps {
            video: table.h265_video,
            std_header: (caps::STD_H265_ENCODE_NAME, caps::STD_VERSION_1_0_0),
            encode: table.h265_encode,
            codec: CodecCaps::H265(table.h265),
        });
    }
    let known = [
        native::StdVideoH264ProfileIdc_STD_VIDEO_H264_PROFILE_IDC_BASELINE,
        native::StdVideoH264ProfileIdc_STD_VIDEO_H264_PROFILE_IDC_MAIN,
        native::StdVideoH264ProfileIdc_STD_VIDEO_H264_PROFILE_IDC_HIGH,
    ];
    if !known.contains(&idc) {
        return Err((
            vk::Result::ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR,
            format!("H.264 stdProfileIdc {idc}: the device encodes Baseline (66), Main (77) and High (100)"),
        ));
    }
    Ok(ProfileCaps {
        video: table.h264_video,
        std_header: (caps::STD_H264_ENCODE_NAME, caps::STD_VERSION_1_0_0),
        encode: table.h264_encode,
        codec: CodecCaps::H264(table.h264),
    })
}

/// What `vkGetPhysicalDeviceVideoEncodeQualityLevelPropertiesKHR` reports for one quality
/// level (the codec structures' common values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QualityLevel {
    /// `preferredRateControlMode`.
    pub rate_control_mode: vk::VideoEncodeRateControlModeFlagsKHR,
    /// `preferredRateControlLayerCount`.
    pub rate_control_layers: u32,
    /// `preferredGopFrameCount`.
    pub gop_frames: u32,
    /// `preferredIdrPeriod` (0: only the first picture is an IDR).
    pub idr_period: u32,
    /// `preferredConsecutiveBFrameCount`.
    pub b_frames: u32,
    /// `preferredConstantQp` (I, P, B).
    pub constant_qp: (i32, i32, i32),
    /// `preferredMaxL0ReferenceCount`.
    pub max_l0: u32,
    /// `preferredMaxL1ReferenceCount`.
    pub max_l1: u32,
}

/// The preferences of quality level `level` of a profile: the driver's own choice (no public
/// report lists a real driver's per-level values): VBR with one layer, a two-second GOP at
/// 60 fps without periodic IDRs, one P reference; the top half of the levels (slower, better)
/// adds two B frames with one backward reference, and the constant QPs fall by one per level.
pub fn quality_level(
    table: &DeviceTable,
    profile: &Profile,
    level: u32,
) -> Result<(ProfileCaps, QualityLevel), Refusal> {
    let caps = check(table, profile)?;
    let levels = caps.encode.max_quality_levels;
    if level >= levels {
        return Err((
            vk::Result::ERROR_VALIDATION_FAILED_EXT,
            format!(
                "qualityLevel {level}: the profile has levels 0 to {}",
                levels - 1
            ),
        ));
    }
    let slow = level >= levels / 2;
    let step = i32::try_from(level).unwrap_or(0);
    Ok((
        caps,
        QualityLevel {
            rate_control_mode: vk::VideoEncodeRateControlModeFlagsKHR::VBR,
            rate_control_layers: 1,
            gop_frames: 120,
            idr_period: 0,
            b_frames: if slow { 2 } else { 0 },
            constant_qp: (26 - step, 28 - step, 30 - step),
            max_l0: 1,
            max_l1: u32::from(slow),
        },
    ))
}

/// The AV1 part of a quality level's preferences (`VkVideoEncodeAV1QualityLevelPropertiesKHR`),
/// derived from the codec-independent [`QualityLevel`]: the same GOP without key frames after
/// the first, its B frames as bipredictive frames where the profile offers bidirectional
/// compound prediction (none otherwise), one reference (LAST), and the constant QPs scaled to
/// quantizer indices (×5, within the profile's range).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Av1QualityLevel {
    /// `preferredRateControlFlags` (`VkVideoEncodeAV1RateControlFlagsKHR` bits).
    pub rate_control_flags: u32,
    /// `preferredGopFrameCount`.
    pub gop_frames: u32,
    /// `preferredKeyFramePeriod` (0: only the first frame is a key frame).
    pub key_frame_period: u32,
    /// `preferredConsecutiveBipredictiveFrameCount`.
    pub bipredictive_frames: u32,
    /// `preferredTemporalLayerCount`.
    pub temporal_layers: u32,
    /// `preferredConstantQIndex` (intra, predictive, bipredictive).
    pub constant_q_index: (u32, u32, u32),
    /// `preferredMaxSingleReferenceCount`.
    pub max_single_references: u32,
    /// `preferredSingleReferenceNameMask`.
    pub single_reference_name_mask: u32,
}

/// [`Av1QualityLevel`] for `q` within `caps`.
pub fn av1_quality_level(q: &QualityLevel, caps: &caps::Av1Caps) -> Av1QualityLevel {
    let index = |qp: i32| {
        u32::try_from(qp.saturating_mul(5))
            .unwrap_or(0)
            .clamp(caps.min_q_index, caps.max_q_index)
    };
    // VK_VIDEO_ENCODE_AV1_RATE_CONTROL_REGULAR_GOP_BIT_KHR | _REFERENCE_PATTERN_FLAT_BIT_KHR.
    Av1QualityLevel {
        rate_control_flags: 0x1 | 0x4,
        gop_frames: q.gop_frames,
        key_frame_period: q.idr_period,
        bipredictive_frames: if caps.max_bidirectional_compound_reference_count >= 2 {
            q.b_frames
        } else {
            0
        },
        temporal_layers: 1,
        constant_q_index: (
            index(q.constant_qp.0),
            index(q.constant_qp.1),
            index(q.constant_qp.2),
        ),
        max_single_references: q.max_l0.min(caps.max_single_reference_count),
        // LAST_FRAME only.
        single_reference_name_mask: 0x1 & caps.single_reference_name_mask,
    }
}

/// One `VkVideoFormatPropertiesKHR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormatProps {
    /// `format`.
    pub format: vk::Format,
    /// `imageCreateFlags`.
    pub create_flags: vk::ImageCreateFlags,
    /// `imageUsageFlags`.
    pub usage: vk::ImageUsageFlags,
}

/// `vkGetPhysicalDeviceVideoFormatPropertiesKHR` for `usage` and the profiles of the chained
/// `VkVideoProfileListInfoKHR`: encode input pictures (which a compute pass may write through
/// per-plane views) or reference pictures, not both in one image (the device keeps
/// separate reference images).
pub fn formats(
    table: &DeviceTable,
    usage: vk::ImageUsageFlags,
    profiles: &[Profile],
) -> Result<Vec<FormatProps>, Refusal> {
    let Some(first) = profiles.first() else {
        return Err((
            vk::Result::ERROR_IMAGE_USAGE_NOT_SUPPORTED_KHR,
            "no VkVideoProfileListInfoKHR (or an empty one) in the chain".into(),
        ));
    };
    for p in profiles {
        check(table, p)?;
    }
    let format = picture_format(first);
    if profiles.iter().any(|p| picture_format(p) != format) {
        return Err((
            vk::Result::ERROR_VIDEO_PROFILE_FORMAT_NOT_SUPPORTED_KHR,
            "the listed profiles need different picture formats".into(),
        ));
    }
    let src = usage.contains(vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR);
    let dpb = usage.contains(vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR);
    let decode = vk::ImageUsageFlags::VIDEO_DECODE_SRC_KHR
        | vk::ImageUsageFlags::VIDEO_DECODE_DST_KHR
        | vk::ImageUsageFlags::VIDEO_DECODE_DPB_KHR;
    if src == dpb || usage.intersects(decode) {
        return Err((
            vk::Result::ERROR_IMAGE_USAGE_NOT_SUPPORTED_KHR,
            format!("imageUsage {usage:?}: the device takes encode input (VIDEO_ENCODE_SRC) or reference (VIDEO_ENCODE_DPB) images, one at a time"),
        ));
    }
    // Encode input pictures may be storage images made for per-plane views (MUTABLE_FORMAT |
    // EXTENDED_USAGE), so that a compute pass writes them: as NVIDIA's driver answers for its
    // encode profiles (its encode input format entry lists STORAGE among the usages and both
    // create flags; compared per driver in the public thread KhronosGroup/Vulkan-Docs#2329,
    // "Video encode: vkGetPhysicalDeviceVideoFormatPropertiesKHR and image creation flags",
    // whose NVIDIA results were not checked value by value from here).
    // GHOSTSTREAM_ICD_PLAIN_INPUTS=1 models a driver whose encode input pictures take neither
    // (NVIDIA's answered imageCreateFlags 0 for its decode pictures in 2023, per
    // KhronosGroup/Vulkan-ValidationLayers#5390): the engine then copies into them.
    let plain = std::env::var_os("GHOSTSTREAM_ICD_PLAIN_INPUTS").is_some_and(|v| v == "1");
    let props = if src && plain {
        FormatProps {
            format,
            create_flags: vk::ImageCreateFlags::empty(),
            usage: vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR
                | vk::ImageUsageFlags::TRANSFER_SRC
                | vk::ImageUsageFlags::TRANSFER_DST,
        }
    } else if src {
        FormatProps {
            format,
            create_flags: table.encode_input_create_flags,
            usage: vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR
                | vk::ImageUsageFlags::TRANSFER_SRC
                | vk::ImageUsageFlags::TRANSFER_DST
                | vk::ImageUsageFlags::STORAGE,
        }
    } else {
        FormatProps {
            format,
            create_flags: vk::ImageCreateFlags::empty(),
            usage: vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR,
        }
    };
    if !props.usage.contains(usage) {
        return Err((
            vk::Result::ERROR_IMAGE_USAGE_NOT_SUPPORTED_KHR,
            format!(
                "imageUsage {usage:?}: the device's {format:?} pictures take {:?}",
                props.usage
            ),
        ));
    }
    Ok(vec![props])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::NVIDIA_RTX_4090;

    fn h264(idc: u32) -> Profile {
        Profile {
            operation: vk::VideoCodecOperationFlagsKHR::ENCODE_H264,
            chroma: vk::VideoChromaSubsamplingFlagsKHR::TYPE_420,
            luma: vk::VideoComponentBitDepthFlagsKHR::TYPE_8,
            chroma_depth: vk::VideoComponentBitDepthFlagsKHR::TYPE_8,
            std_profile_idc: Some(idc),
        }
    }

    #[test]
    fn h264_high_gets_the_tables_capabilities() {
        let c = check(&NVIDIA_RTX_4090, &h264(100)).unwrap();
        assert_eq!(c.video, NVIDIA_RTX_4090.h264_video);
        assert_eq!(c.codec, CodecCaps::H264(NVIDIA_RTX_4090.h264));
        assert_eq!(
            c.std_header,
            ("VK_STD_vulkan_video_codec_h264_encode", 1 << 22)
        );
    }

    /// The spec's causes (VkVideoProfileInfoKHR): OPERATION_NOT_SUPPORTED for the codec
    /// operation, FORMAT_NOT_SUPPORTED for the chroma subsampling and bit depths,
    /// CODEC_NOT_SUPPORTED for the codec-specific parameters (the std profile).
    #[test]
    fn refusals_name_the_reason_in_the_specs_order() {
        let mut p = h264(100);
        p.operation = vk::VideoCodecOperationFlagsKHR::DECODE_H264;
        assert_eq!(
            check(&NVIDIA_RTX_4090, &p).unwrap_err().0,
            vk::Result::ERROR_VIDEO_PROFILE_OPERATION_NOT_SUPPORTED_KHR
        );
        let mut p = h264(100);
        p.chroma = vk::VideoChromaSubsamplingFlagsKHR::TYPE_444;
        assert_eq!(
            check(&NVIDIA_RTX_4090, &p).unwrap_err().0,
            vk::Result::ERROR_VIDEO_PROFILE_FORMAT_NOT_SUPPORTED_KHR
        );
        assert_eq!(
            check(&NVIDIA_RTX_4090, &h264(244)).unwrap_err().0,
            vk::Result::ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR
        );
        let mut p = h264(100);
        p.std_profile_idc = None;
        assert_eq!(
            check(&NVIDIA_RTX_4090, &p).unwrap_err().0,
            vk::Result::ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR
        );
    }

    #[test]
    fn h265_main_10_is_ten_bit_and_main_eight_bit() {
        let h265 = |idc: u32, bits: vk::VideoComponentBitDepthFlagsKHR| Profile {
            operation: vk::VideoCodecOperationFlagsKHR::ENCODE_H265,
            luma: bits,
            chroma_depth: bits,
            std_profile_idc: Some(idc),
            ..h264(100)
        };
        let (b8, b10) = (
            vk::VideoComponentBitDepthFlagsKHR::TYPE_8,
            vk::VideoComponentBitDepthFlagsKHR::TYPE_10,
        );
        let c = check(&NVIDIA_RTX_4090, &h265(2, b10)).unwrap();
        assert_eq!(c.codec, CodecCaps::H265(NVIDIA_RTX_4090.h265));
        assert_eq!(
            picture_format(&h265(2, b10)),
            vk::Format::G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16
        );
        assert!(check(&NVIDIA_RTX_4090, &h265(1, b8)).is_ok());
        for (idc, bits) in [(1, b10), (2, b8)] {
            assert_eq!(
                check(&NVIDIA_RTX_4090, &h265(idc, bits)).unwrap_err(),
                (
                    vk::Result::ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR,
                    format!("H.265 stdProfileIdc {idc} with luma {bits:?}: the device encodes Main (1) at 8 bits and Main 10 (2) at 10 bits")
                )
            );
        }
        let mut mixed = h265(2, b10);
        mixed.chroma_depth = b8;
        assert_eq!(
            check(&NVIDIA_RTX_4090, &mixed).unwrap_err().0,
            vk::Result::ERROR_VIDEO_PROFILE_FORMAT_NOT_SUPPORTED_KHR
        );
        // Encode input and reference images of a Main 10 profile are P010.
        let src = formats(
            &NVIDIA_RTX_4090,
            vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR,
            &[h265(2, b10)],
        )
        .unwrap();
        assert_eq!(
            src[0].format,
            vk::Format::G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16
        );
    }

    fn av1_main() -> Profile {
        Profile {
            operation: caps::CODEC_OPERATION_ENCODE_AV1,
            std_profile_idc: Some(native::StdVideoAV1Profile_STD_VIDEO_AV1_PROFILE_MAIN),
            ..h264(0)
        }
    }

    #[test]
    fn av1_main_gets_the_tables_capabilities_and_other_profiles_are_refused() {
        let c = check(&NVIDIA_RTX_4090, &av1_main()).unwrap();
        assert_eq!(c.video, NVIDIA_RTX_4090.av1_video);
        assert_eq!(c.encode, NVIDIA_RTX_4090.av1_encode);
        assert_eq!(c.codec, CodecCaps::Av1(NVIDIA_RTX_4090.av1));
        assert_eq!(
            c.std_header,
            ("VK_STD_vulkan_video_codec_av1_encode", 1 << 22)
        );
        let high = Profile {
            std_profile_idc: Some(native::StdVideoAV1Profile_STD_VIDEO_AV1_PROFILE_HIGH),
            ..av1_main()
        };
        assert_eq!(
            check(&NVIDIA_RTX_4090, &high).unwrap_err(),
            (
                vk::Result::ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR,
                "AV1 stdProfile 1: the device encodes Main (0) only".to_string()
            )
        );
        let missing = Profile {
            std_profile_idc: None,
            ..av1_main()
        };
        assert_eq!(
            check(&NVIDIA_RTX_4090, &missing).unwrap_err().0,
            vk::Result::ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR
        );
        let yuv444 = Profile {
            chroma: vk::VideoChromaSubsamplingFlagsKHR::TYPE_444,
            ..av1_main()
        };
        assert_eq!(
            check(&NVIDIA_RTX_4090, &yuv444).unwrap_err().0,
            vk::Result::ERROR_VIDEO_PROFILE_FORMAT_NOT_SUPPORTED_KHR
        );
        let src = formats(
            &NVIDIA_RTX_4090,
            vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR,
            &[av1_main()],
        )
        .unwrap();
        assert_eq!(src[0].format, vk::Format::G8_B8R8_2PLANE_420_UNORM);
    }

    #[test]
    fn av1_quality_levels_scale_the_constant_qps_to_quantizer_indices() {
        let (c, q) = quality_level(&NVIDIA_RTX_4090, &av1_main(), 6).unwrap();
        let CodecCaps::Av1(av1) = c.codec else {
            panic!("AV1 capabilities");
        };
        let a = av1_quality_level(&q, &av1);
        assert_eq!(a.constant_q_index, (100, 110, 120));
        assert_eq!(
            (
                a.bipredictive_frames,
                a.max_single_references,
                a.single_reference_name_mask
            ),
            (0, 1, 1)
        );
    }

    #[test]
    fn quality_levels_prefer_vbr_and_add_b_frames_in_the_slower_half() {
        let (_, fast) = quality_level(&NVIDIA_RTX_4090, &h264(100), 0).unwrap();
        assert_eq!(
            (fast.rate_control_mode, fast.b_frames, fast.constant_qp),
            (vk::VideoEncodeRateControlModeFlagsKHR::VBR, 0, (26, 28, 30))
        );
        let (_, slow) = quality_level(&NVIDIA_RTX_4090, &h264(100), 6).unwrap();
        assert_eq!((slow.b_frames, slow.max_l1, slow.constant_qp.0), (2, 1, 20));
        assert_eq!(
            quality_level(&NVIDIA_RTX_4090, &h264(100), 7)
                .unwrap_err()
                .1,
            "qualityLevel 7: the profile has levels 0 to 6"
        );
    }

    #[test]
    fn encode_input_is_nv12_and_references_are_separate_images() {
        let src = formats(
            &NVIDIA_RTX_4090,
            vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR | vk::ImageUsageFlags::STORAGE,
            &[h264(100)],
        )
        .unwrap();
        assert_eq!(src.len(), 1);
        assert_eq!(src[0].format, vk::Format::G8_B8R8_2PLANE_420_UNORM);
        assert!(src[0].usage.contains(vk::ImageUsageFlags::STORAGE));
        let dpb = formats(
            &NVIDIA_RTX_4090,
            vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR,
            &[h264(100)],
        )
        .unwrap();
        assert_eq!(dpb[0].usage, vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR);
        let both =
            vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR | vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR;
        assert_eq!(
            formats(&NVIDIA_RTX_4090, both, &[h264(100)]).unwrap_err().0,
            vk::Result::ERROR_IMAGE_USAGE_NOT_SUPPORTED_KHR
        );
        assert_eq!(
            formats(
                &NVIDIA_RTX_4090,
                vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR,
                &[]
            )
            .unwrap_err()
            .0,
            vk::Result::ERROR_IMAGE_USAGE_NOT_SUPPORTED_KHR
        );
    }
}
