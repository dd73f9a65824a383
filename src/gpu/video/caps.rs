//! What the machine's Vulkan devices can encode (VK_KHR_video_encode_queue with the codec's
//! extension): a device with a video-encode queue family that names the codec's operation,
//! and its capabilities for the codec's main profile (largest picture, reference slots, rate
//! control modes, quality levels), or why no device can.
//!
//! Probing needs no device: an instance is made, each physical device is asked, and the
//! instance is destroyed.

use std::ffi::CStr;

use ash::vk;

use super::av1;
use crate::codec::Codec;
use crate::config::BitDepth;

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
    /// B pictures with a reference on each side: `maxBPictureL0ReferenceCount` and
    /// `maxL1ReferenceCount` both at least 1 (H.264, H.265; false for AV1 here).
    pub b_pictures: bool,
    /// Every coding scope must say how many frames of each type remain in the GOP.
    pub requires_gop_remaining_frames: bool,
    /// The encode feedback reports the bitstream offset and bytes written.
    pub feedback: bool,
    /// The highest level (the std header's level enum value).
    pub max_level_idc: u32,
    /// H.265: 32x32 coding tree blocks and every transform from 4x4 to 32x32 (true for H.264).
    pub h265_ctb32_transforms: bool,
    /// AV1: the device codes 128x128 superblocks only (no 64x64).
    pub av1_superblock_128_only: bool,
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
    probe_device(ctx.entry(), &ctx.instance, ctx.physical, codec, depth)
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
        match probe_device(entry, instance, physical, codec, BitDepth::Eight) {
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
    capabilities(entry, instance, physical, codec, operation, depth).map(|mut s| {
        s.device = name;
        s.queue_family = queue_family;
        s
    })
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

/// The capabilities for H.264 High, H.265 Main (Main 10) or AV1 Main at 4:2:0 and `depth`.
fn capabilities(
    entry: &ash::Entry,
    instance: &ash::Instance,
    physical: vk::PhysicalDevice,
    codec: Codec,
    operation: vk::VideoCodecOperationFlagsKHR,
    depth: BitDepth,
) -> Result<EncodeSupport, String> {
    let video = ash::khr::video_queue::Instance::new(entry, instance);
    let ten = depth == BitDepth::Ten;
    let mut h264_profile = vk::VideoEncodeH264ProfileInfoKHR::default()
        .std_profile_idc(vk::native::StdVideoH264ProfileIdc_STD_VIDEO_H264_PROFILE_IDC_HIGH);
    let mut h265_profile = vk::VideoEncodeH265ProfileInfoKHR::default().std_profile_idc(if ten {
        vk::native::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN_10
    } else {
        vk::native::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN
    });
    let bits = component_depth(depth);
    let base = vk::VideoProfileInfoKHR::default()
        .video_codec_operation(operation)
        .chroma_subsampling(vk::VideoChromaSubsamplingFlagsKHR::TYPE_420)
        .luma_bit_depth(bits)
        .chroma_bit_depth(bits);
    let mut av1_profile = av1::VideoEncodeAV1ProfileInfoKHR {
        std_profile: vk::native::StdVideoAV1Profile_STD_VIDEO_AV1_PROFILE_MAIN,
        ..Default::default()
    };
    let (profile, profile_name) = match (codec, ten) {
        (Codec::H264, _) => (base.push_next(&mut h264_profile), "H.264 High"),
        (Codec::Hevc, false) => (base.push_next(&mut h265_profile), "H.265 Main"),
        (Codec::Hevc, true) => (base.push_next(&mut h265_profile), "H.265 Main 10"),
        (Codec::Av1, false) => (base.push_next(&mut av1_profile), "AV1 Main"),
        (Codec::Av1, true) => (base.push_next(&mut av1_profile), "AV1 Main 10-bit"),
    };
    let mut h264_caps = vk::VideoEncodeH264CapabilitiesKHR::default();
    let mut h265_caps = vk::VideoEncodeH265CapabilitiesKHR::default();
    let mut av1_caps = av1::VideoEncodeAV1CapabilitiesKHR::default();
    let mut encode_caps = vk::VideoEncodeCapabilitiesKHR::default();
    let caps = vk::VideoCapabilitiesKHR::default().push_next(&mut encode_caps);
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
        return Err(format!(
            "{profile_name} encode capabilities refused: {result}"
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
        b_pictures: match codec {
            Codec::H264 => {
                h264_caps.max_b_picture_l0_reference_count >= 1
                    && h264_caps.max_l1_reference_count >= 1
            }
            Codec::Hevc => {
                h265_caps.max_b_picture_l0_reference_count >= 1
                    && h265_caps.max_l1_reference_count >= 1
            }
            Codec::Av1 => false,
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
