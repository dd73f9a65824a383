//! AV1 Main encode on the test driver through the real Vulkan loader, with Khronos' validation
//! layer watching when it knows video encode (1.4.303 or newer; `.ci/with-vvl-trixie`):
//!
//! - the capability queries: VK_KHR_video_encode_av1 and `videoEncodeAV1`, the AV1 Main
//!   profile's capabilities exactly as the driver's table says, NV12 input and reference
//!   formats, a quality level's AV1 preferences, other profiles refused;
//! - a 256x144 session (level 5.1) whose parameters object holds a sequence header that
//!   `vkGetEncodedVideoSessionParametersKHR` writes back as one OBU (size query first) and the
//!   library's OBU walker reads back;
//! - four pictures uploaded on the compute family and encoded: a key frame, two inter frames
//!   each predicting from the previous picture (LAST), and a key frame 192x128 with its frame
//!   size overridden, with constant quantizer indices. Each encode's feedback is the one frame
//!   OBU it wrote, whose tile carries the checksum of the picture it was given; the stream (a
//!   temporal delimiter and the sequence header before each key frame, as an application
//!   writes them) is read by FFmpeg's header tracer, an independent AV1 syntax reader, without
//!   error and with the values given;
//! - misuse refused: a device without `videoEncodeAV1`, a level over the profile's, a template
//!   or an update of AV1 parameters, an encode without `VkVideoEncodeAV1PictureInfoKHR`, a
//!   `constantQIndex` outside the profile's range, a reference to a slot a reset emptied.
//!
//! One test in this binary: the loader reads `VK_DRIVER_FILES` when it first scans.

#[path = "../../../src/gpu/video/av1.rs"]
mod av1;
mod common;

use std::ffi::c_void;

use ash::vk;
use ash::vk::native;
use ghoststream::bitstream::{ivf, obu};
use ghoststream_video_icd::{caps, log, COMPUTE_FAMILY, ENCODE_FAMILY};

use av1::{
    StdVideoEncodeAV1PictureInfo, StdVideoEncodeAV1PictureInfoFlags as PicFlags,
    StdVideoEncodeAV1ReferenceInfo, VideoEncodeAV1PredictionModeKHR as Mode,
    VideoEncodeAV1RateControlGroupKHR as Group,
};
use common::ffmpeg::{ffmpeg, pattern};
use common::vulkan::{memory_type, take_messages, Instance};
use common::{install_driver, skip};

const W: u32 = 256;
const H: u32 = 144;
/// The last key frame's smaller size (frame_size_override_flag).
const SMALL: (u32, u32) = (192, 128);
const FRAMES: u32 = 4;
/// Room for each picture's bitstream.
const SLOT_BYTES: u64 = 4096;
/// Queries: one per picture, then one per encoding misuse.
const QUERIES: u32 = FRAMES + 3;
/// `STD_VIDEO_AV1_LEVEL_5_1`, the session's `maxLevel` (and so `seq_level_idx`).
const LEVEL: u32 = native::StdVideoAV1Level_STD_VIDEO_AV1_LEVEL_5_1;

/// All-zero std structure (bindgen gives them no `Default`).
fn zeroed<T: Copy>() -> T {
    // SAFETY: used only for the std video structures, plain integers and NULL pointers, for
    // which all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

/// The AV1 Main 4:2:0 8-bit encode profile (chain them with `push_next`).
fn av1_profile(
    std_profile: u32,
) -> (
    vk::VideoProfileInfoKHR<'static>,
    av1::VideoEncodeAV1ProfileInfoKHR<'static>,
) {
    (
        vk::VideoProfileInfoKHR::default()
            .video_codec_operation(av1::VIDEO_CODEC_OPERATION_ENCODE_AV1)
            .chroma_subsampling(vk::VideoChromaSubsamplingFlagsKHR::TYPE_420)
            .luma_bit_depth(vk::VideoComponentBitDepthFlagsKHR::TYPE_8)
            .chroma_bit_depth(vk::VideoComponentBitDepthFlagsKHR::TYPE_8),
        av1::VideoEncodeAV1ProfileInfoKHR {
            std_profile,
            ..Default::default()
        },
    )
}

const MAIN: u32 = native::StdVideoAV1Profile_STD_VIDEO_AV1_PROFILE_MAIN;

/// FNV-1a (64 bits) of `parts` in order: what the driver's tiles carry.
fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The `w`x`h` top-left corner of an NV12 picture `W` samples wide: (luma, chroma).
fn corner((luma, chroma): &(Vec<u8>, Vec<u8>), (w, h): (u32, u32)) -> (Vec<u8>, Vec<u8>) {
    let (w, h, stride) = (w as usize, h as usize, W as usize);
    let rows = |plane: &[u8], n: usize| -> Vec<u8> {
        (0..n)
            .flat_map(|y| plane[y * stride..y * stride + w].to_vec())
            .collect()
    };
    (rows(luma, h), rows(chroma, h / 2))
}

/// The syntax elements FFmpeg's trace printed, in order: (name, value).
fn trace_elements(stderr: &str) -> Vec<(String, i64)> {
    stderr
        .lines()
        .filter(|l| l.starts_with("[trace_headers"))
        .filter_map(|l| {
            let (_, rest) = l.split_once("] ")?;
            let mut words = rest.split_whitespace();
            let _position: u64 = words.next()?.parse().ok()?;
            let name = words.next()?.to_string();
            let value = rest.rsplit_once(" = ")?.1.trim().parse().ok()?;
            Some((name, value))
        })
        .collect()
}

fn values(trace: &[(String, i64)], name: &str) -> Vec<i64> {
    trace
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| *v)
        .collect()
}

struct Buffer {
    buffer: vk::Buffer,
    memory: vk::DeviceMemory,
    ptr: *mut u8,
}

/// One picture of the session: its type, order hint, size, reference frames refreshed, and the
/// constant quantizer index.
#[derive(Clone, Copy)]
struct Frame {
    key: bool,
    order_hint: u8,
    extent: (u32, u32),
    refresh: u8,
    q_index: u32,
}

fn frames() -> Vec<Frame> {
    (0..FRAMES)
        .map(|f| {
            let key = f == 0 || f == FRAMES - 1;
            Frame {
                key,
                order_hint: u8::try_from(f).unwrap(),
                extent: if f == FRAMES - 1 { SMALL } else { (W, H) },
                // A shown key frame refreshes all eight; each inter frame one, alternating.
                refresh: if key { 0xff } else { 1 << (f % 2) },
                q_index: 60 + 10 * f,
            }
        })
        .collect()
}

/// The std reference information of picture `f`.
fn reference_info(f: &Frame) -> StdVideoEncodeAV1ReferenceInfo {
    StdVideoEncodeAV1ReferenceInfo {
        frame_type: if f.key {
            native::StdVideoAV1FrameType_STD_VIDEO_AV1_FRAME_TYPE_KEY
        } else {
            native::StdVideoAV1FrameType_STD_VIDEO_AV1_FRAME_TYPE_INTER
        },
        OrderHint: f.order_hint,
        ..Default::default()
    }
}

#[test]
fn av1_capabilities_session_parameters_and_frames_read_back() {
    let Some(driver) = install_driver() else {
        return;
    };
    let log_path = driver.log.clone();
    // GHOSTSTREAM_KEEP_ICD_LOG keeps the log (and its directory, with the stream) after a run.
    let dir = if std::env::var_os("GHOSTSTREAM_KEEP_ICD_LOG").is_some() {
        eprintln!("driver log: {}", log_path.display());
        driver.dir.keep()
    } else {
        driver.dir.path().to_path_buf()
    };
    let Some(vulkan) = Instance::new() else {
        return;
    };
    let table = caps::active();
    let entry = &vulkan.entry;
    let instance = &vulkan.instance;
    let pd = vulkan.physical_device();
    let video_instance = ash::khr::video_queue::Instance::new(entry, instance);
    let encode_instance = ash::khr::video_encode_queue::Instance::new(entry, instance);

    // 1. What the device says: the extension, the feature, the encode family's operation.
    // SAFETY: plain queries on a live physical device.
    let extensions = unsafe { instance.enumerate_device_extension_properties(pd) }.unwrap();
    let av1_ext = extensions
        .iter()
        .find(|e| e.extension_name_as_c_str() == Ok(av1::KHR_VIDEO_ENCODE_AV1_NAME))
        .expect("VK_KHR_video_encode_av1 listed");
    assert_eq!(av1_ext.spec_version, av1::KHR_VIDEO_ENCODE_AV1_SPEC_VERSION);
    let mut av1_features = av1::PhysicalDeviceVideoEncodeAV1FeaturesKHR::default();
    let mut features = vk::PhysicalDeviceFeatures2::default().push_next(&mut av1_features);
    // SAFETY: a well-formed output chain.
    unsafe { instance.get_physical_device_features2(pd, &mut features) };
    assert_eq!(av1_features.video_encode_av1, vk::TRUE);
    let mut family_video = [
        vk::QueueFamilyVideoPropertiesKHR::default(),
        vk::QueueFamilyVideoPropertiesKHR::default(),
    ];
    let [v0, v1] = &mut family_video;
    let mut families = [
        vk::QueueFamilyProperties2::default().push_next(v0),
        vk::QueueFamilyProperties2::default().push_next(v1),
    ];
    // SAFETY: two families, each with a writable chain.
    unsafe { instance.get_physical_device_queue_family_properties2(pd, &mut families) };
    assert!(family_video[ENCODE_FAMILY as usize]
        .video_codec_operations
        .contains(av1::VIDEO_CODEC_OPERATION_ENCODE_AV1));

    // 2. The AV1 Main profile's capabilities: exactly the table's.
    let (profile, mut av1_profile_info) = av1_profile(MAIN);
    let profile = profile.push_next(&mut av1_profile_info);
    let mut av1_caps = av1::VideoEncodeAV1CapabilitiesKHR::default();
    let mut encode_caps = vk::VideoEncodeCapabilitiesKHR::default();
    let mut video_caps = vk::VideoCapabilitiesKHR::default();
    encode_caps.p_next = (&raw mut av1_caps).cast();
    video_caps.p_next = (&raw mut encode_caps).cast();
    // SAFETY: a well-formed profile and output chain, all alive through the call.
    unsafe {
        (video_instance
            .fp()
            .get_physical_device_video_capabilities_khr)(
            pd,
            &raw const profile,
            &raw mut video_caps,
        )
    }
    .result()
    .expect("AV1 Main capabilities");
    video_caps.p_next = std::ptr::null_mut();
    encode_caps.p_next = std::ptr::null_mut();
    let v = table.av1_video;
    assert_eq!(
        (
            video_caps.flags,
            video_caps.min_bitstream_buffer_offset_alignment,
            video_caps.min_bitstream_buffer_size_alignment,
            video_caps.max_dpb_slots,
            video_caps.max_active_reference_pictures,
        ),
        (
            v.flags,
            v.min_bitstream_buffer_offset_alignment,
            v.min_bitstream_buffer_size_alignment,
            v.max_dpb_slots,
            v.max_active_reference_pictures
        )
    );
    let extent = |(width, height): (u32, u32)| vk::Extent2D { width, height };
    assert_eq!(video_caps.min_coded_extent, extent(v.min_coded_extent));
    assert_eq!(video_caps.max_coded_extent, extent(v.max_coded_extent));
    assert_eq!(
        video_caps.picture_access_granularity,
        extent(v.picture_access_granularity)
    );
    assert_eq!(
        video_caps.std_header_version.extension_name_as_c_str(),
        Ok(av1::STD_VULKAN_VIDEO_CODEC_AV1_ENCODE_EXTENSION_NAME)
    );
    assert_eq!(
        video_caps.std_header_version.spec_version,
        av1::STD_VULKAN_VIDEO_CODEC_AV1_ENCODE_SPEC_VERSION
    );
    let e = table.av1_encode;
    assert_eq!(
        (
            encode_caps.rate_control_modes,
            encode_caps.max_bitrate,
            encode_caps.max_quality_levels,
            encode_caps.supported_encode_feedback_flags
        ),
        (
            e.rate_control_modes,
            e.max_bitrate,
            e.max_quality_levels,
            e.supported_encode_feedback_flags
        )
    );
    let a = table.av1;
    assert_eq!(av1_caps.flags.as_raw(), a.flags);
    assert_eq!(av1_caps.max_level, a.max_level);
    assert_eq!(
        av1_caps.coded_picture_alignment,
        extent(a.coded_picture_alignment)
    );
    assert_eq!(av1_caps.max_tiles, extent(a.max_tiles));
    assert_eq!(
        (av1_caps.min_tile_size, av1_caps.max_tile_size),
        (extent(a.min_tile_size), extent(a.max_tile_size))
    );
    assert_eq!(av1_caps.superblock_sizes.as_raw(), a.superblock_sizes);
    assert_eq!(
        (
            av1_caps.max_single_reference_count,
            av1_caps.single_reference_name_mask,
            av1_caps.max_unidirectional_compound_reference_count,
            av1_caps.max_bidirectional_compound_reference_count
        ),
        (
            a.max_single_reference_count,
            a.single_reference_name_mask,
            a.max_unidirectional_compound_reference_count,
            a.max_bidirectional_compound_reference_count
        )
    );
    assert_eq!(
        (
            av1_caps.max_temporal_layer_count,
            av1_caps.max_spatial_layer_count,
            av1_caps.max_operating_points,
            av1_caps.min_q_index,
            av1_caps.max_q_index
        ),
        (
            a.max_temporal_layer_count,
            a.max_spatial_layer_count,
            a.max_operating_points,
            a.min_q_index,
            a.max_q_index
        )
    );
    assert_eq!(
        (
            av1_caps.prefers_gop_remaining_frames,
            av1_caps.requires_gop_remaining_frames,
            av1_caps.std_syntax_flags.as_raw()
        ),
        (vk::FALSE, vk::FALSE, a.std_syntax_flags)
    );
    // The High profile is not one the device encodes.
    let (high, mut high_info) = av1_profile(native::StdVideoAV1Profile_STD_VIDEO_AV1_PROFILE_HIGH);
    let high = high.push_next(&mut high_info);
    let mut high_av1 = av1::VideoEncodeAV1CapabilitiesKHR::default();
    let mut high_encode = vk::VideoEncodeCapabilitiesKHR::default();
    let mut high_video = vk::VideoCapabilitiesKHR::default();
    high_encode.p_next = (&raw mut high_av1).cast();
    high_video.p_next = (&raw mut high_encode).cast();
    // SAFETY: as above.
    let r = unsafe {
        (video_instance
            .fp()
            .get_physical_device_video_capabilities_khr)(
            pd, &raw const high, &raw mut high_video
        )
    };
    // The std profile is a codec-specific parameter: the spec's CODEC_NOT_SUPPORTED.
    assert_eq!(r, vk::Result::ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR);

    // Formats: NV12 encode input and references.
    let list_profiles = [profile];
    let format_of = |usage: vk::ImageUsageFlags| {
        let mut list = vk::VideoProfileListInfoKHR::default().profiles(&list_profiles);
        let info = vk::PhysicalDeviceVideoFormatInfoKHR::default()
            .image_usage(usage)
            .push_next(&mut list);
        let mut count = 0;
        // SAFETY: a count query, then an array of that size.
        unsafe {
            (video_instance
                .fp()
                .get_physical_device_video_format_properties_khr)(
                pd,
                &raw const info,
                &raw mut count,
                std::ptr::null_mut(),
            )
            .result()
            .unwrap();
            let mut out = vec![vk::VideoFormatPropertiesKHR::default(); count as usize];
            (video_instance
                .fp()
                .get_physical_device_video_format_properties_khr)(
                pd,
                &raw const info,
                &raw mut count,
                out.as_mut_ptr(),
            )
            .result()
            .unwrap();
            out.iter().map(|f| f.format).collect::<Vec<_>>()
        }
    };
    let nv12 = vk::Format::G8_B8R8_2PLANE_420_UNORM;
    assert_eq!(format_of(vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR), [nv12]);
    assert_eq!(format_of(vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR), [nv12]);

    // A quality level's AV1 preferences.
    let mut av1_quality = av1::VideoEncodeAV1QualityLevelPropertiesKHR::default();
    let mut quality =
        vk::VideoEncodeQualityLevelPropertiesKHR::default().push_next(&mut av1_quality);
    let quality_info = vk::PhysicalDeviceVideoEncodeQualityLevelInfoKHR::default()
        .video_profile(&list_profiles[0])
        .quality_level(0);
    // SAFETY: well-formed input and output structures.
    unsafe {
        (encode_instance
            .fp()
            .get_physical_device_video_encode_quality_level_properties_khr)(
            pd,
            &raw const quality_info,
            &raw mut quality,
        )
    }
    .result()
    .unwrap();
    assert_eq!(
        quality.preferred_rate_control_mode,
        vk::VideoEncodeRateControlModeFlagsKHR::VBR
    );
    assert_eq!(
        av1_quality.preferred_constant_q_index,
        av1::VideoEncodeAV1QIndexKHR {
            intra_q_index: 130,
            predictive_q_index: 140,
            bipredictive_q_index: 150
        }
    );
    assert_eq!(
        (
            av1_quality.preferred_max_single_reference_count,
            av1_quality.preferred_single_reference_name_mask
        ),
        (1, 1)
    );
    let clean = take_messages();
    assert!(clean.is_empty(), "{}", clean.join("\n"));

    // 3. Devices: one with the extension but not the feature (an AV1 session on it is refused
    // below), one with both.
    let ext_names = [
        ash::khr::video_queue::NAME.as_ptr(),
        ash::khr::video_encode_queue::NAME.as_ptr(),
        av1::KHR_VIDEO_ENCODE_AV1_NAME.as_ptr(),
    ];
    let featureless = vulkan.compute_and_encode_device(pd, &ext_names, false);
    let mut enable_av1 = av1::PhysicalDeviceVideoEncodeAV1FeaturesKHR {
        video_encode_av1: vk::TRUE,
        ..Default::default()
    };
    let device =
        vulkan.compute_and_encode_device_with(pd, &ext_names, false, Some(&mut enable_av1));
    let vq = ash::khr::video_queue::Device::new(instance, &device);
    let veq = ash::khr::video_encode_queue::Device::new(instance, &device);
    let d = device.handle();
    let std_header = video_caps.std_header_version;

    let allocate = |req: vk::MemoryRequirements, flags: vk::MemoryPropertyFlags| {
        // SAFETY: a well-formed allocation.
        unsafe {
            device.allocate_memory(
                &vk::MemoryAllocateInfo::default()
                    .allocation_size(req.size)
                    .memory_type_index(memory_type(req.memory_type_bits, flags)),
                None,
            )
        }
        .unwrap()
    };
    let create_session = |device: vk::Device,
                          fp: &ash::khr::video_queue::DeviceFn,
                          max_level: u32,
                          out: &mut vk::VideoSessionKHR| {
        let mut level = av1::VideoEncodeAV1SessionCreateInfoKHR {
            use_max_level: vk::TRUE,
            max_level,
            ..Default::default()
        };
        let info = vk::VideoSessionCreateInfoKHR::default()
            .queue_family_index(ENCODE_FAMILY)
            .video_profile(&list_profiles[0])
            .picture_format(nv12)
            .max_coded_extent(extent((W, H)))
            .reference_picture_format(nv12)
            .max_dpb_slots(2)
            .max_active_reference_pictures(1)
            .std_header_version(&std_header)
            .push_next(&mut level);
        // SAFETY: a well-formed create info.
        unsafe { (fp.create_video_session_khr)(device, &raw const info, std::ptr::null(), out) }
    };
    // Misuse: an AV1 session on the device without videoEncodeAV1; a level over the profile's.
    let vq_featureless = ash::khr::video_queue::Device::new(instance, &featureless);
    let mut refused = vk::VideoSessionKHR::null();
    assert_eq!(
        create_session(
            featureless.handle(),
            vq_featureless.fp(),
            LEVEL,
            &mut refused
        ),
        vk::Result::ERROR_VALIDATION_FAILED_EXT
    );
    let featureless_messages = take_messages();
    assert_eq!(
        create_session(
            d,
            vq.fp(),
            native::StdVideoAV1Level_STD_VIDEO_AV1_LEVEL_7_3,
            &mut refused
        ),
        vk::Result::ERROR_VALIDATION_FAILED_EXT
    );
    let level_messages = take_messages();
    if vulkan.validated {
        for (messages, vuid) in [
            (
                &featureless_messages,
                "VUID-VkVideoSessionCreateInfoKHR-pVideoProfile-10269",
            ),
            (
                &level_messages,
                "VUID-VkVideoSessionCreateInfoKHR-pVideoProfile-10270",
            ),
        ] {
            assert!(
                messages.len() == 1 && messages[0].starts_with(vuid),
                "the layer reports {vuid}, only: {messages:#?}"
            );
        }
    }
    // SAFETY: nothing was made from the featureless device.
    unsafe { featureless.destroy_device(None) };

    // 4. The session: 256x144, two DPB slots, one active reference, level 5.1; memory bound.
    let mut session = vk::VideoSessionKHR::null();
    create_session(d, vq.fp(), LEVEL, &mut session)
        .result()
        .unwrap();
    let mut count = 0;
    // SAFETY: a count query, then the array of that size.
    let reqs = unsafe {
        (vq.fp().get_video_session_memory_requirements_khr)(
            d,
            session,
            &raw mut count,
            std::ptr::null_mut(),
        )
        .result()
        .unwrap();
        let mut reqs = vec![vk::VideoSessionMemoryRequirementsKHR::default(); count as usize];
        (vq.fp().get_video_session_memory_requirements_khr)(
            d,
            session,
            &raw mut count,
            reqs.as_mut_ptr(),
        )
        .result()
        .unwrap();
        reqs
    };
    let mut memories = Vec::new();
    let binds: Vec<_> = reqs
        .iter()
        .map(|r| {
            let m = allocate(r.memory_requirements, vk::MemoryPropertyFlags::DEVICE_LOCAL);
            memories.push(m);
            vk::BindVideoSessionMemoryInfoKHR::default()
                .memory_bind_index(r.memory_bind_index)
                .memory(m)
                .memory_size(r.memory_requirements.size)
        })
        .collect();
    // SAFETY: each binding once.
    unsafe {
        (vq.fp().bind_video_session_memory_khr)(
            d,
            session,
            u32::try_from(binds.len()).unwrap(),
            binds.as_ptr(),
        )
    }
    .result()
    .unwrap();

    // 5. Parameters: the sequence header an application gives for 8-bit 4:2:0 with order hints
    // and BT.709 colour, no timing information.
    let mut color: native::StdVideoAV1ColorConfig = zeroed();
    color.BitDepth = 8;
    color.subsampling_x = 1;
    color.subsampling_y = 1;
    color.flags.set_color_description_present_flag(1);
    color.color_primaries = native::StdVideoAV1ColorPrimaries_STD_VIDEO_AV1_COLOR_PRIMARIES_BT_709;
    color.transfer_characteristics =
        native::StdVideoAV1TransferCharacteristics_STD_VIDEO_AV1_TRANSFER_CHARACTERISTICS_BT_709;
    color.matrix_coefficients =
        native::StdVideoAV1MatrixCoefficients_STD_VIDEO_AV1_MATRIX_COEFFICIENTS_BT_709;
    let mut sequence: native::StdVideoAV1SequenceHeader = zeroed();
    sequence.seq_profile = MAIN;
    sequence.flags.set_enable_order_hint(1);
    sequence.flags.set_enable_cdef(1);
    sequence.order_hint_bits_minus_1 = 7;
    sequence.frame_width_bits_minus_1 = u8::try_from(31 - (W - 1).leading_zeros()).unwrap();
    sequence.frame_height_bits_minus_1 = u8::try_from(31 - (H - 1).leading_zeros()).unwrap();
    sequence.max_frame_width_minus_1 = u16::try_from(W - 1).unwrap();
    sequence.max_frame_height_minus_1 = u16::try_from(H - 1).unwrap();
    sequence.seq_force_integer_mv = av1::STD_VIDEO_AV1_SELECT_INTEGER_MV;
    sequence.pColorConfig = &raw const color;
    let create_parameters = |template: vk::VideoSessionParametersKHR,
                             with_av1: bool,
                             out: &mut vk::VideoSessionParametersKHR| {
        let mut av1_params = av1::VideoEncodeAV1SessionParametersCreateInfoKHR::default()
            .std_sequence_header(&sequence);
        let mut info = vk::VideoSessionParametersCreateInfoKHR::default()
            .video_session(session)
            .video_session_parameters_template(template);
        if with_av1 {
            info = info.push_next(&mut av1_params);
        }
        // SAFETY: a well-formed create info.
        unsafe {
            (vq.fp().create_video_session_parameters_khr)(d, &raw const info, std::ptr::null(), out)
        }
    };
    let mut params = vk::VideoSessionParametersKHR::null();
    create_parameters(vk::VideoSessionParametersKHR::null(), true, &mut params)
        .result()
        .unwrap();

    // The sequence header OBU read back: a size query, then the bytes, no overrides.
    let get_info =
        vk::VideoEncodeSessionParametersGetInfoKHR::default().video_session_parameters(params);
    let mut feedback = vk::VideoEncodeSessionParametersFeedbackInfoKHR::default();
    let mut size = 0usize;
    // SAFETY: a size query, then a buffer of that size.
    let header_obu = unsafe {
        (veq.fp().get_encoded_video_session_parameters_khr)(
            d,
            &raw const get_info,
            &raw mut feedback,
            &raw mut size,
            std::ptr::null_mut(),
        )
        .result()
        .unwrap();
        let mut bytes = vec![0u8; size];
        let mut short = size - 1;
        assert_eq!(
            (veq.fp().get_encoded_video_session_parameters_khr)(
                d,
                &raw const get_info,
                std::ptr::null_mut(),
                &raw mut short,
                bytes.as_mut_ptr().cast::<c_void>(),
            ),
            vk::Result::INCOMPLETE
        );
        assert_eq!(short, 0);
        (veq.fp().get_encoded_video_session_parameters_khr)(
            d,
            &raw const get_info,
            &raw mut feedback,
            &raw mut size,
            bytes.as_mut_ptr().cast::<c_void>(),
        )
        .result()
        .unwrap();
        assert_eq!(size, bytes.len());
        bytes
    };
    assert_eq!(feedback.has_overrides, vk::FALSE);
    let header_obus: Vec<_> = obu::obus(&header_obu)
        .collect::<Result<_, _>>()
        .expect("the sequence header OBU walks");
    assert_eq!(header_obus.len(), 1);
    assert_eq!(header_obus[0].obu_type, obu::obu_type::SEQUENCE_HEADER);
    let sh = obu::parse_sequence_header(header_obus[0].payload).unwrap();
    assert_eq!(
        (
            sh.profile,
            u32::from(sh.level_idx0),
            sh.tier0,
            sh.bit_depth()
        ),
        (0, LEVEL, false, 8)
    );
    assert_eq!((sh.max_width, sh.max_height), (W, H));
    assert!(sh.subsampling_x && sh.subsampling_y && !sh.monochrome && !sh.full_range);
    assert_eq!(
        (
            sh.color_primaries,
            sh.transfer_characteristics,
            sh.matrix_coefficients
        ),
        (1, 1, 1)
    );
    let clean = take_messages();
    assert!(clean.is_empty(), "{}", clean.join("\n"));

    // Misuse: AV1 parameters take no template and no update, and need their create info.
    let mut refused_params = vk::VideoSessionParametersKHR::null();
    assert_eq!(
        create_parameters(params, true, &mut refused_params),
        vk::Result::ERROR_VALIDATION_FAILED_EXT
    );
    let template_messages = take_messages();
    assert_eq!(
        create_parameters(
            vk::VideoSessionParametersKHR::null(),
            false,
            &mut refused_params
        ),
        vk::Result::ERROR_VALIDATION_FAILED_EXT
    );
    let missing_messages = take_messages();
    let update = vk::VideoSessionParametersUpdateInfoKHR::default().update_sequence_count(1);
    // SAFETY: a well-formed update info (refused: AV1 parameters are not updated).
    let r = unsafe { (vq.fp().update_video_session_parameters_khr)(d, params, &raw const update) };
    assert_eq!(r, vk::Result::ERROR_VALIDATION_FAILED_EXT);
    let update_messages = take_messages();
    if vulkan.validated {
        for (messages, vuid) in [
            (
                &template_messages,
                "VUID-VkVideoSessionParametersCreateInfoKHR-videoSession-10278",
            ),
            (
                &missing_messages,
                "VUID-VkVideoSessionParametersCreateInfoKHR-videoSession-10279",
            ),
            (
                &update_messages,
                "VUID-vkUpdateVideoSessionParametersKHR-videoSessionParameters-10281",
            ),
        ] {
            assert!(
                messages.len() == 1 && messages[0].starts_with(vuid),
                "the layer reports {vuid}, only: {messages:#?}"
            );
        }
    }

    // 6. Images (the input shared by both families, two references) and buffers.
    let families = [COMPUTE_FAMILY, ENCODE_FAMILY];
    let make_image = |usage: vk::ImageUsageFlags, shared: bool| {
        let mut list = vk::VideoProfileListInfoKHR::default().profiles(&list_profiles);
        let mut info = vk::ImageCreateInfo::default()
            .image_type(vk::ImageType::TYPE_2D)
            .format(nv12)
            .extent(vk::Extent3D {
                width: W,
                height: H,
                depth: 1,
            })
            .mip_levels(1)
            .array_layers(1)
            .samples(vk::SampleCountFlags::TYPE_1)
            .tiling(vk::ImageTiling::OPTIMAL)
            .usage(usage)
            .initial_layout(vk::ImageLayout::UNDEFINED)
            .push_next(&mut list);
        if shared {
            info = info
                .sharing_mode(vk::SharingMode::CONCURRENT)
                .queue_family_indices(&families);
        }
        // SAFETY: a well-formed create info, then its memory bound once.
        unsafe {
            let image = device.create_image(&info, None).unwrap();
            let mem = allocate(
                device.get_image_memory_requirements(image),
                vk::MemoryPropertyFlags::DEVICE_LOCAL,
            );
            device.bind_image_memory(image, mem, 0).unwrap();
            let view = device
                .create_image_view(
                    &vk::ImageViewCreateInfo::default()
                        .image(image)
                        .view_type(vk::ImageViewType::TYPE_2D)
                        .format(nv12)
                        .subresource_range(color_range()),
                    None,
                )
                .unwrap();
            (image, mem, view)
        }
    };
    let input = make_image(
        vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR | vk::ImageUsageFlags::TRANSFER_DST,
        true,
    );
    let dpb = [
        make_image(vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR, false),
        make_image(vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR, false),
    ];
    let make_buffer = |size: u64, usage: vk::BufferUsageFlags, video: bool| {
        let mut list = vk::VideoProfileListInfoKHR::default().profiles(&list_profiles);
        let mut info = vk::BufferCreateInfo::default().size(size).usage(usage);
        if video {
            info = info.push_next(&mut list);
        }
        // SAFETY: a well-formed create info; host-visible memory mapped once.
        unsafe {
            let buffer = device.create_buffer(&info, None).unwrap();
            let memory = allocate(
                device.get_buffer_memory_requirements(buffer),
                vk::MemoryPropertyFlags::HOST_VISIBLE | vk::MemoryPropertyFlags::HOST_COHERENT,
            );
            device.bind_buffer_memory(buffer, memory, 0).unwrap();
            let ptr = device
                .map_memory(memory, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
                .unwrap()
                .cast::<u8>();
            Buffer {
                buffer,
                memory,
                ptr,
            }
        }
    };
    let luma_bytes = u64::from(W * H);
    let upload = make_buffer(
        luma_bytes * 3 / 2,
        vk::BufferUsageFlags::TRANSFER_SRC,
        false,
    );
    let bitstream_bytes = u64::from(QUERIES) * SLOT_BYTES;
    let bitstream = make_buffer(
        bitstream_bytes,
        vk::BufferUsageFlags::VIDEO_ENCODE_DST_KHR,
        true,
    );

    // Feedback queries: offset, bytes written, overrides (and the status when read).
    let (query_profile, mut query_av1) = av1_profile(MAIN);
    let mut query_profile = query_profile.push_next(&mut query_av1);
    let mut feedback_info = vk::QueryPoolVideoEncodeFeedbackCreateInfoKHR::default()
        .encode_feedback_flags(
            vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BUFFER_OFFSET
                | vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BYTES_WRITTEN
                | vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_HAS_OVERRIDES,
        );
    // SAFETY: a well-formed create info.
    let queries = unsafe {
        device.create_query_pool(
            &vk::QueryPoolCreateInfo::default()
                .query_type(vk::QueryType::VIDEO_ENCODE_FEEDBACK_KHR)
                .query_count(QUERIES)
                .push_next(&mut feedback_info)
                .push_next(&mut query_profile),
            None,
        )
    }
    .unwrap();

    // Command pools, one command buffer each, a fence.
    let make_pool = |family: u32| {
        // SAFETY: a well-formed create info.
        unsafe {
            device.create_command_pool(
                &vk::CommandPoolCreateInfo::default()
                    .queue_family_index(family)
                    .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER),
                None,
            )
        }
        .unwrap()
    };
    let (compute_pool, encode_pool) = (make_pool(COMPUTE_FAMILY), make_pool(ENCODE_FAMILY));
    let one_buffer = |pool: vk::CommandPool| {
        // SAFETY: a well-formed allocate info.
        unsafe {
            device.allocate_command_buffers(
                &vk::CommandBufferAllocateInfo::default()
                    .command_pool(pool)
                    .level(vk::CommandBufferLevel::PRIMARY)
                    .command_buffer_count(1),
            )
        }
        .unwrap()[0]
    };
    let (compute_cb, encode_cb) = (one_buffer(compute_pool), one_buffer(encode_pool));
    // SAFETY: a well-formed create info; both families were created with one queue.
    let (fence, compute_queue, encode_queue) = unsafe {
        (
            device
                .create_fence(&vk::FenceCreateInfo::default(), None)
                .unwrap(),
            device.get_device_queue(COMPUTE_FAMILY, 0),
            device.get_device_queue(ENCODE_FAMILY, 0),
        )
    };
    let begin = |cb: vk::CommandBuffer| {
        // SAFETY: a command buffer that is initial or (resettable) executed.
        unsafe {
            device.begin_command_buffer(
                cb,
                &vk::CommandBufferBeginInfo::default()
                    .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT),
            )
        }
        .unwrap();
    };
    let barrier = |cb: vk::CommandBuffer, b: &[vk::ImageMemoryBarrier2<'_>]| {
        // SAFETY: a recording command buffer, well-formed barriers.
        unsafe {
            device
                .cmd_pipeline_barrier2(cb, &vk::DependencyInfo::default().image_memory_barriers(b))
        };
    };
    let layout = |image: vk::Image,
                  (old, new): (vk::ImageLayout, vk::ImageLayout),
                  (src, dst): (vk::PipelineStageFlags2, vk::PipelineStageFlags2),
                  access: vk::AccessFlags2| {
        vk::ImageMemoryBarrier2::default()
            .src_stage_mask(src)
            .dst_stage_mask(dst)
            .dst_access_mask(access)
            .old_layout(old)
            .new_layout(new)
            .image(image)
            .subresource_range(color_range())
    };
    let run = |queue: vk::Queue, cb: vk::CommandBuffer| {
        let cbs = [vk::CommandBufferSubmitInfo::default().command_buffer(cb)];
        let info = vk::SubmitInfo2::default().command_buffer_infos(&cbs);
        // SAFETY: an executable command buffer, a live unsignalled fence.
        unsafe {
            device.queue_submit2(queue, &[info], fence).unwrap();
            device
                .wait_for_fences(&[fence], true, 5_000_000_000)
                .unwrap();
            device.reset_fences(&[fence]).unwrap();
        }
    };
    let upload_picture = |f: u32| {
        let (luma, chroma) = pattern(W as usize, H as usize, f as usize);
        // SAFETY: the mapping holds the whole NV12 picture.
        unsafe {
            std::ptr::copy_nonoverlapping(luma.as_ptr(), upload.ptr, luma.len());
            std::ptr::copy_nonoverlapping(
                chroma.as_ptr(),
                upload.ptr.add(luma.len()),
                chroma.len(),
            );
        }
        begin(compute_cb);
        barrier(
            compute_cb,
            &[layout(
                input.0,
                (
                    vk::ImageLayout::UNDEFINED,
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                ),
                (vk::PipelineStageFlags2::NONE, vk::PipelineStageFlags2::COPY),
                vk::AccessFlags2::TRANSFER_WRITE,
            )],
        );
        let plane = |aspect, offset, width, height| vk::BufferImageCopy {
            buffer_offset: offset,
            buffer_row_length: 0,
            buffer_image_height: 0,
            image_subresource: vk::ImageSubresourceLayers {
                aspect_mask: aspect,
                mip_level: 0,
                base_array_layer: 0,
                layer_count: 1,
            },
            image_offset: vk::Offset3D::default(),
            image_extent: vk::Extent3D {
                width,
                height,
                depth: 1,
            },
        };
        // SAFETY: a recording command buffer; regions inside both objects.
        unsafe {
            device.cmd_copy_buffer_to_image(
                compute_cb,
                upload.buffer,
                input.0,
                vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                &[
                    plane(vk::ImageAspectFlags::PLANE_0, 0, W, H),
                    plane(vk::ImageAspectFlags::PLANE_1, luma_bytes, W / 2, H / 2),
                ],
            );
        }
        let mut to_encode = layout(
            input.0,
            (
                vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                vk::ImageLayout::VIDEO_ENCODE_SRC_KHR,
            ),
            (vk::PipelineStageFlags2::COPY, vk::PipelineStageFlags2::NONE),
            vk::AccessFlags2::NONE,
        );
        to_encode.src_access_mask = vk::AccessFlags2::TRANSFER_WRITE;
        // Released to the encode family, which acquires it before the encode (the driver
        // refuses an encode of an image another family owns).
        to_encode.src_queue_family_index = COMPUTE_FAMILY;
        to_encode.dst_queue_family_index = ENCODE_FAMILY;
        barrier(compute_cb, &[to_encode]);
        // SAFETY: a recording command buffer.
        unsafe { device.end_command_buffer(compute_cb) }.unwrap();
        run(compute_queue, compute_cb);
        (luma, chroma)
    };
    let resource = |view: vk::ImageView, (width, height): (u32, u32)| {
        vk::VideoPictureResourceInfoKHR::default()
            .coded_extent(vk::Extent2D { width, height })
            .image_view_binding(view)
    };
    // Rate control DISABLED: constant quantizer indices.
    let disabled = vk::VideoEncodeRateControlInfoKHR::default()
        .rate_control_mode(vk::VideoEncodeRateControlModeFlagsKHR::DISABLED);

    // 7. The pictures.
    let frames = frames();
    // The order hint each of the eight reference frames holds (the decoder's RefOrderHint).
    let mut vbi_order_hint = [0u8; 8];
    let mut stream = Vec::new();
    let mut tus = Vec::new();
    for (f, frame) in frames.iter().enumerate() {
        let fu = u32::try_from(f).unwrap();
        let picture = upload_picture(fu);
        let slot = i32::try_from(f % 2).unwrap();
        let previous = (!frame.key).then(|| (i32::try_from((f + 1) % 2).unwrap(), frames[f - 1]));
        let setup_resource = resource(dpb[f % 2].2, frame.extent);
        let src_resource = resource(input.2, frame.extent);
        let ref_resources =
            previous.map(|(s, p)| resource(dpb[usize::try_from(s).unwrap()].2, p.extent));

        let setup_std = reference_info(frame);
        let previous_std = previous.map(|(_, p)| reference_info(&p));
        let mut setup_av1 =
            av1::VideoEncodeAV1DpbSlotInfoKHR::default().std_reference_info(&setup_std);
        let mut begin_ref_av1 = previous_std
            .as_ref()
            .map(|r| av1::VideoEncodeAV1DpbSlotInfoKHR::default().std_reference_info(r));
        let mut ref_av1 = previous_std
            .as_ref()
            .map(|r| av1::VideoEncodeAV1DpbSlotInfoKHR::default().std_reference_info(r));
        let mut begin_slots = Vec::new();
        if let (Some((s, _)), Some(r), Some(av1_info)) =
            (previous, ref_resources.as_ref(), begin_ref_av1.as_mut())
        {
            begin_slots.push(
                vk::VideoReferenceSlotInfoKHR::default()
                    .slot_index(s)
                    .picture_resource(r)
                    .push_next(av1_info),
            );
        }
        begin_slots.push(
            vk::VideoReferenceSlotInfoKHR::default()
                .slot_index(-1)
                .picture_resource(&setup_resource),
        );
        let mut begin_rate = disabled;
        let mut begin_info = vk::VideoBeginCodingInfoKHR::default()
            .video_session(session)
            .video_session_parameters(params)
            .reference_slots(&begin_slots);
        if f > 0 {
            begin_info = begin_info.push_next(&mut begin_rate);
        }

        let quantization = native::StdVideoAV1Quantization {
            base_q_idx: u8::try_from(frame.q_index).unwrap(),
            ..zeroed()
        };
        let loop_filter: native::StdVideoAV1LoopFilter = zeroed();
        let cdef: native::StdVideoAV1CDEF = zeroed();
        let mut tile_info: native::StdVideoAV1TileInfo = zeroed();
        tile_info.flags.set_uniform_tile_spacing_flag(1);
        tile_info.TileCols = 1;
        tile_info.TileRows = 1;
        let mut flags = PicFlags::SHOW_FRAME;
        if !frame.key {
            flags = flags | PicFlags::SHOWABLE_FRAME;
        }
        if frame.extent != (W, H) {
            flags = flags | PicFlags::FRAME_SIZE_OVERRIDE_FLAG;
        }
        let last_vbi = (f + 1) % 2;
        let std_picture = StdVideoEncodeAV1PictureInfo {
            flags,
            frame_type: reference_info(frame).frame_type,
            order_hint: frame.order_hint,
            primary_ref_frame: if frame.key {
                av1::STD_VIDEO_AV1_PRIMARY_REF_NONE
            } else {
                0
            },
            refresh_frame_flags: frame.refresh,
            TxMode: native::StdVideoAV1TxMode_STD_VIDEO_AV1_TX_MODE_SELECT,
            ref_order_hint: vbi_order_hint,
            // Every reference name uses the reference frame the previous picture refreshed.
            ref_frame_idx: [i8::try_from(last_vbi).unwrap(); 7],
            pTileInfo: if f == 1 {
                &raw const tile_info
            } else {
                std::ptr::null()
            },
            pQuantization: &raw const quantization,
            pLoopFilter: &raw const loop_filter,
            pCDEF: &raw const cdef,
            ..Default::default()
        };
        let mut names = [-1; 7];
        if let Some((s, _)) = previous {
            names[0] = s; // LAST_FRAME
        }
        let mut picture_info = av1::VideoEncodeAV1PictureInfoKHR {
            prediction_mode: if frame.key {
                Mode::INTRA_ONLY
            } else {
                Mode::SINGLE_REFERENCE
            },
            rate_control_group: if frame.key {
                Group::INTRA
            } else {
                Group::PREDICTIVE
            },
            constant_q_index: frame.q_index,
            reference_name_slot_indices: names,
            ..Default::default()
        }
        .std_picture_info(&std_picture);
        let setup = vk::VideoReferenceSlotInfoKHR::default()
            .slot_index(slot)
            .picture_resource(&setup_resource)
            .push_next(&mut setup_av1);
        let mut refs = Vec::new();
        if let (Some((s, _)), Some(r), Some(av1_info)) =
            (previous, ref_resources.as_ref(), ref_av1.as_mut())
        {
            refs.push(
                vk::VideoReferenceSlotInfoKHR::default()
                    .slot_index(s)
                    .picture_resource(r)
                    .push_next(av1_info),
            );
        }
        let offset = u64::from(fu) * SLOT_BYTES;
        let encode_info = vk::VideoEncodeInfoKHR::default()
            .dst_buffer(bitstream.buffer)
            .dst_buffer_offset(offset)
            .dst_buffer_range(SLOT_BYTES)
            .src_picture_resource(src_resource)
            .setup_reference_slot(&setup)
            .reference_slots(&refs)
            .push_next(&mut picture_info);
        let mut control_rate = disabled;
        let mut control_quality = vk::VideoEncodeQualityLevelInfoKHR::default().quality_level(0);
        let control = vk::VideoCodingControlInfoKHR::default()
            .flags(
                vk::VideoCodingControlFlagsKHR::RESET
                    | vk::VideoCodingControlFlagsKHR::ENCODE_RATE_CONTROL
                    | vk::VideoCodingControlFlagsKHR::ENCODE_QUALITY_LEVEL,
            )
            .push_next(&mut control_rate)
            .push_next(&mut control_quality);

        begin(encode_cb);
        if f == 0 {
            let init = |image| {
                layout(
                    image,
                    (
                        vk::ImageLayout::UNDEFINED,
                        vk::ImageLayout::VIDEO_ENCODE_DPB_KHR,
                    ),
                    (
                        vk::PipelineStageFlags2::NONE,
                        vk::PipelineStageFlags2::VIDEO_ENCODE_KHR,
                    ),
                    vk::AccessFlags2::VIDEO_ENCODE_READ_KHR
                        | vk::AccessFlags2::VIDEO_ENCODE_WRITE_KHR,
                )
            };
            barrier(encode_cb, &[init(dpb[0].0), init(dpb[1].0)]);
        }
        // The acquire half of the upload's ownership transfer.
        let mut acquire = layout(
            input.0,
            (
                vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                vk::ImageLayout::VIDEO_ENCODE_SRC_KHR,
            ),
            (
                vk::PipelineStageFlags2::NONE,
                vk::PipelineStageFlags2::VIDEO_ENCODE_KHR,
            ),
            vk::AccessFlags2::VIDEO_ENCODE_READ_KHR,
        );
        acquire.src_queue_family_index = COMPUTE_FAMILY;
        acquire.dst_queue_family_index = ENCODE_FAMILY;
        barrier(encode_cb, &[acquire]);
        // SAFETY: a recording command buffer on the encode family; every structure well formed
        // and alive through the calls.
        unsafe {
            device.cmd_reset_query_pool(encode_cb, queries, fu, 1);
            (vq.fp().cmd_begin_video_coding_khr)(encode_cb, &raw const begin_info);
            if f == 0 {
                (vq.fp().cmd_control_video_coding_khr)(encode_cb, &raw const control);
            }
            device.cmd_begin_query(encode_cb, queries, fu, vk::QueryControlFlags::empty());
            (veq.fp().cmd_encode_video_khr)(encode_cb, &raw const encode_info);
            device.cmd_end_query(encode_cb, queries, fu);
            (vq.fp().cmd_end_video_coding_khr)(encode_cb, &vk::VideoEndCodingInfoKHR::default());
            device.end_command_buffer(encode_cb).unwrap();
        }
        run(encode_queue, encode_cb);

        // The feedback: offset 0, the OBU's length, no overrides, COMPLETE.
        let mut result = [[0u64; 4]; 1];
        // SAFETY: one query of four 64-bit values.
        unsafe {
            device.get_query_pool_results(
                queries,
                fu,
                &mut result,
                vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WITH_STATUS_KHR,
            )
        }
        .unwrap();
        let [offset, written, overrides, status] = result[0];
        assert_eq!((offset, overrides, status), (0, 0, 1), "picture {f}");
        // SAFETY: the bitstream mapping holds QUERIES * SLOT_BYTES bytes.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                bitstream
                    .ptr
                    .add(usize::try_from(offset + u64::from(fu) * SLOT_BYTES).unwrap()),
                usize::try_from(written).unwrap(),
            )
        }
        .to_vec();
        let all: Vec<_> = obu::obus(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 1, "picture {f}: one OBU");
        assert_eq!(all[0].obu_type, obu::obu_type::FRAME, "picture {f}");
        assert_eq!(all[0].raw.len(), bytes.len());
        // The tile: the checksum of the picture given (its coded extent), tile 0 of 1.
        let (luma, chroma) = corner(&picture, frame.extent);
        let mut tile = fnv1a64(&[&luma, &chroma]).to_le_bytes().to_vec();
        tile.extend([0, 0, 1, 0]);
        tile.extend_from_slice(b"GSAV");
        assert!(
            all[0].payload.ends_with(&tile),
            "picture {f}: the tile carries the input's checksum"
        );
        let mut tu = obu::TEMPORAL_DELIMITER.to_vec();
        if frame.key {
            tu.extend_from_slice(&header_obu);
        }
        tu.extend_from_slice(&bytes);
        tus.push(tu);
        for (i, hint) in vbi_order_hint.iter_mut().enumerate() {
            if frame.refresh >> i & 1 == 1 {
                *hint = frame.order_hint;
            }
        }
    }
    let clean = take_messages();
    assert!(
        clean.is_empty(),
        "the validation layer reported on correct use:\n{}",
        clean.join("\n")
    );

    // 8. The stream through FFmpeg's header tracer (IVF; the probe limited to the first packet:
    // the tiles are not decodable, so a decoder must not be asked for the pixel format).
    stream.extend(
        ivf::IvfHeader {
            fourcc: *b"AV01",
            width: u16::try_from(W).unwrap(),
            height: u16::try_from(H).unwrap(),
            timebase_den: 30,
            timebase_num: 1,
            frame_count: FRAMES,
        }
        .to_bytes(),
    );
    for (pts, tu) in tus.iter().enumerate() {
        stream.extend(ivf::frame_header(
            u32::try_from(tu.len()).unwrap(),
            i64::try_from(pts).unwrap(),
        ));
        stream.extend_from_slice(tu);
    }
    let path = dir.join("av1.ivf");
    std::fs::write(&path, &stream).unwrap();
    if std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_err()
    {
        skip("no ffmpeg on PATH (the independent AV1 header reader)");
    } else {
        let out = ffmpeg(
            "info",
            &[
                "-probesize",
                "32",
                "-analyzeduration",
                "0",
                "-i",
                path.to_str().unwrap(),
                "-c:v",
                "copy",
                "-bsf:v",
                "trace_headers",
                "-f",
                "null",
                "-",
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "ffmpeg trace_headers: {stderr}");
        // (The trace's own lines name error_resilient_mode.)
        let complaints: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.starts_with("[trace_headers"))
            .filter(|l| l.to_lowercase().contains("error"))
            .collect();
        assert!(complaints.is_empty(), "ffmpeg trace_headers: {stderr}");
        let trace = trace_elements(&stderr);
        let key_type = |k: bool| i64::from(!k);
        assert_eq!(
            values(&trace, "frame_type"),
            frames.iter().map(|f| key_type(f.key)).collect::<Vec<_>>()
        );
        assert_eq!(
            values(&trace, "order_hint"),
            frames
                .iter()
                .map(|f| i64::from(f.order_hint))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            values(&trace, "base_q_idx"),
            frames
                .iter()
                .map(|f| i64::from(f.q_index))
                .collect::<Vec<_>>()
        );
        // Written for the inter frames only (a shown key frame refreshes all eight).
        assert_eq!(
            values(&trace, "refresh_frame_flags"),
            frames
                .iter()
                .filter(|f| !f.key)
                .map(|f| i64::from(f.refresh))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            values(&trace, "ref_frame_idx[0]"),
            [0, 1],
            "the reference frame the previous picture refreshed"
        );
        assert_eq!(values(&trace, "frame_size_override_flag"), [0, 0, 0, 1]);
        assert_eq!(
            values(&trace, "frame_width_minus_1"),
            [i64::from(SMALL.0 - 1)]
        );
        assert_eq!(
            values(&trace, "frame_height_minus_1"),
            [i64::from(SMALL.1 - 1)]
        );
        let max_w = values(&trace, "max_frame_width_minus_1");
        assert!(!max_w.is_empty() && max_w.iter().all(|v| *v == i64::from(W - 1)));
        let max_h = values(&trace, "max_frame_height_minus_1");
        assert!(!max_h.is_empty() && max_h.iter().all(|v| *v == i64::from(H - 1)));
        let levels = values(&trace, "seq_level_idx[0]");
        assert!(!levels.is_empty() && levels.iter().all(|v| *v == i64::from(LEVEL)));
    }

    // 9. Encoding misuse, each in its own submission: no AV1 picture information (refused when
    // recorded); a constantQIndex under the profile's minimum; a reference to a slot a reset
    // emptied (both refused when run, their queries' status ERROR).
    let key = frames[0];
    let key_std = reference_info(&key);
    let key_picture = StdVideoEncodeAV1PictureInfo {
        flags: PicFlags::SHOW_FRAME,
        frame_type: key_std.frame_type,
        primary_ref_frame: av1::STD_VIDEO_AV1_PRIMARY_REF_NONE,
        refresh_frame_flags: 0xff,
        TxMode: native::StdVideoAV1TxMode_STD_VIDEO_AV1_TX_MODE_SELECT,
        ..Default::default()
    };
    let full = resource(dpb[0].2, (W, H));
    let src_full = resource(input.2, (W, H));
    let encode_scope = |query: u32,
                        slots: &[vk::VideoReferenceSlotInfoKHR<'_>],
                        info: &vk::VideoEncodeInfoKHR<'_>,
                        reset_first: bool|
     -> Result<(), vk::Result> {
        let mut begin_rate = disabled;
        let begin_info = vk::VideoBeginCodingInfoKHR::default()
            .video_session(session)
            .video_session_parameters(params)
            .reference_slots(slots)
            .push_next(&mut begin_rate);
        let mut control_rate = disabled;
        let control = vk::VideoCodingControlInfoKHR::default()
            .flags(
                vk::VideoCodingControlFlagsKHR::RESET
                    | vk::VideoCodingControlFlagsKHR::ENCODE_RATE_CONTROL,
            )
            .push_next(&mut control_rate);
        let mut empty_rate = disabled;
        let empty_begin = vk::VideoBeginCodingInfoKHR::default()
            .video_session(session)
            .video_session_parameters(params)
            .push_next(&mut empty_rate);
        // SAFETY: a resettable command buffer re-recorded; the structures outlive the calls.
        unsafe {
            device
                .reset_command_buffer(encode_cb, vk::CommandBufferResetFlags::empty())
                .unwrap();
        }
        begin(encode_cb);
        // SAFETY: a recording command buffer on the encode family.
        unsafe {
            device.cmd_reset_query_pool(encode_cb, queries, query, 1);
            if reset_first {
                (vq.fp().cmd_begin_video_coding_khr)(encode_cb, &raw const empty_begin);
                (vq.fp().cmd_control_video_coding_khr)(encode_cb, &raw const control);
                (vq.fp().cmd_end_video_coding_khr)(
                    encode_cb,
                    &vk::VideoEndCodingInfoKHR::default(),
                );
            }
            (vq.fp().cmd_begin_video_coding_khr)(encode_cb, &raw const begin_info);
            device.cmd_begin_query(encode_cb, queries, query, vk::QueryControlFlags::empty());
            (veq.fp().cmd_encode_video_khr)(encode_cb, std::ptr::from_ref(info));
            device.cmd_end_query(encode_cb, queries, query);
            (vq.fp().cmd_end_video_coding_khr)(encode_cb, &vk::VideoEndCodingInfoKHR::default());
            device.end_command_buffer(encode_cb)?;
        }
        run(encode_queue, encode_cb);
        Ok(())
    };
    let status = |query: u32| {
        let mut s = [[0i64; 4]; 1];
        // SAFETY: one query of four 64-bit values.
        unsafe {
            device.get_query_pool_results(
                queries,
                query,
                &mut s,
                vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WITH_STATUS_KHR,
            )
        }
        .unwrap();
        s[0]
    };
    let key_slots = [vk::VideoReferenceSlotInfoKHR::default()
        .slot_index(-1)
        .picture_resource(&full)];

    // a. No VkVideoEncodeAV1PictureInfoKHR.
    let mut setup_av1 = av1::VideoEncodeAV1DpbSlotInfoKHR::default().std_reference_info(&key_std);
    let setup = vk::VideoReferenceSlotInfoKHR::default()
        .slot_index(0)
        .picture_resource(&full)
        .push_next(&mut setup_av1);
    let bare = vk::VideoEncodeInfoKHR::default()
        .dst_buffer(bitstream.buffer)
        .dst_buffer_offset(u64::from(FRAMES) * SLOT_BYTES)
        .dst_buffer_range(SLOT_BYTES)
        .src_picture_resource(src_full)
        .setup_reference_slot(&setup);
    assert_eq!(
        encode_scope(FRAMES, &key_slots, &bare, false),
        Err(vk::Result::ERROR_VALIDATION_FAILED_EXT)
    );
    let no_info_messages = take_messages();

    // b. constantQIndex 0 with rate control DISABLED (the profile's minimum is 1).
    let mut low_q = av1::VideoEncodeAV1PictureInfoKHR {
        constant_q_index: 0,
        ..Default::default()
    }
    .std_picture_info(&key_picture);
    let low_q_info = bare.push_next(&mut low_q);
    encode_scope(FRAMES + 1, &key_slots, &low_q_info, false).unwrap();
    assert_eq!(
        status(FRAMES + 1),
        [0, 0, 0, -1],
        "VK_QUERY_RESULT_STATUS_ERROR_KHR"
    );
    let low_q_messages = take_messages();

    // c. After a reset, an inter frame predicting from slot 0, which the reset emptied.
    let inter = frames[1];
    let inter_std_picture = StdVideoEncodeAV1PictureInfo {
        flags: PicFlags::SHOW_FRAME | PicFlags::SHOWABLE_FRAME,
        frame_type: reference_info(&inter).frame_type,
        order_hint: 1,
        primary_ref_frame: av1::STD_VIDEO_AV1_PRIMARY_REF_NONE,
        refresh_frame_flags: 0x02,
        TxMode: native::StdVideoAV1TxMode_STD_VIDEO_AV1_TX_MODE_SELECT,
        ..Default::default()
    };
    let mut stale = av1::VideoEncodeAV1PictureInfoKHR {
        prediction_mode: Mode::SINGLE_REFERENCE,
        rate_control_group: Group::PREDICTIVE,
        constant_q_index: 80,
        reference_name_slot_indices: [0, -1, -1, -1, -1, -1, -1],
        ..Default::default()
    }
    .std_picture_info(&inter_std_picture);
    let second = resource(dpb[1].2, (W, H));
    let inter_std = reference_info(&inter);
    let mut stale_setup_av1 =
        av1::VideoEncodeAV1DpbSlotInfoKHR::default().std_reference_info(&inter_std);
    let stale_setup = vk::VideoReferenceSlotInfoKHR::default()
        .slot_index(1)
        .picture_resource(&second)
        .push_next(&mut stale_setup_av1);
    let mut stale_ref_av1 =
        av1::VideoEncodeAV1DpbSlotInfoKHR::default().std_reference_info(&key_std);
    let stale_refs = [vk::VideoReferenceSlotInfoKHR::default()
        .slot_index(0)
        .picture_resource(&full)
        .push_next(&mut stale_ref_av1)];
    let mut stale_begin_ref_av1 =
        av1::VideoEncodeAV1DpbSlotInfoKHR::default().std_reference_info(&key_std);
    let stale_slots = [
        vk::VideoReferenceSlotInfoKHR::default()
            .slot_index(0)
            .picture_resource(&full)
            .push_next(&mut stale_begin_ref_av1),
        vk::VideoReferenceSlotInfoKHR::default()
            .slot_index(-1)
            .picture_resource(&second),
    ];
    let stale_info = vk::VideoEncodeInfoKHR::default()
        .dst_buffer(bitstream.buffer)
        .dst_buffer_offset(u64::from(FRAMES + 2) * SLOT_BYTES)
        .dst_buffer_range(SLOT_BYTES)
        .src_picture_resource(src_full)
        .setup_reference_slot(&stale_setup)
        .reference_slots(&stale_refs)
        .push_next(&mut stale);
    encode_scope(FRAMES + 2, &stale_slots, &stale_info, true).unwrap();
    assert_eq!(
        status(FRAMES + 2),
        [0, 0, 0, -1],
        "VK_QUERY_RESULT_STATUS_ERROR_KHR"
    );
    let stale_messages = take_messages();
    if vulkan.validated {
        for (messages, vuid) in [
            (&no_info_messages, "VUID-vkCmdEncodeVideoKHR-pNext-10317"),
            (
                &low_q_messages,
                "VUID-vkCmdEncodeVideoKHR-constantQIndex-10321",
            ),
            (
                &stale_messages,
                "VUID-vkCmdBeginVideoCodingKHR-slotIndex-07239",
            ),
        ] {
            assert!(
                messages.len() == 1 && messages[0].starts_with(vuid),
                "the layer reports {vuid}, only: {messages:#?}"
            );
        }
    }

    // SAFETY: everything made above, destroyed once, children first.
    unsafe {
        device.destroy_query_pool(queries, None);
        device.destroy_fence(fence, None);
        device.destroy_command_pool(compute_pool, None);
        device.destroy_command_pool(encode_pool, None);
        for b in [&upload, &bitstream] {
            device.unmap_memory(b.memory);
            device.destroy_buffer(b.buffer, None);
            device.free_memory(b.memory, None);
        }
        for (image, mem, view) in [input, dpb[0], dpb[1]] {
            device.destroy_image_view(view, None);
            device.destroy_image(image, None);
            device.free_memory(mem, None);
        }
        (vq.fp().destroy_video_session_parameters_khr)(d, params, std::ptr::null());
        (vq.fp().destroy_video_session_khr)(d, session, std::ptr::null());
        for m in memories {
            device.free_memory(m, None);
        }
        device.destroy_device(None);
        vulkan.destroy();
    }
    let late = take_messages();
    assert!(late.is_empty(), "{}", late.join("\n"));

    // The driver's log: exactly the misuses failed, with their reasons; nothing leaked.
    let calls = log::read(&log_path).unwrap();
    let failed: Vec<String> = calls
        .iter()
        .filter(|c| !c.name.ends_with("ProcAddr"))
        .filter(|c| !["", "SUCCESS", "found", "INCOMPLETE"].contains(&c.result.as_str()))
        .map(|c| format!("{} {} -> {}", c.name, c.detail, c.result))
        .collect();
    let expected = [
        (
            "vkGetPhysicalDeviceVideoCapabilitiesKHR",
            "AV1 stdProfile 1",
        ),
        (
            "vkCreateVideoSessionKHR",
            "without the videoEncodeAV1 feature",
        ),
        ("vkCreateVideoSessionKHR", "10270"),
        ("vkCreateVideoSessionParametersKHR", "10278"),
        ("vkCreateVideoSessionParametersKHR", "10279"),
        ("vkUpdateVideoSessionParametersKHR", "10281"),
        ("vkCmdEncodeVideoKHR", "10317"),
        ("vkEndCommandBuffer", "10317"),
        ("execute", "10321"),
        ("execute", "reference slot 0 holds no picture"),
    ];
    assert_eq!(failed.len(), expected.len(), "{failed:#?}");
    for (line, (name, why)) in failed.iter().zip(expected) {
        assert!(
            line.starts_with(name) && line.contains(why),
            "expected {name} … {why}: {failed:#?}"
        );
    }
    assert!(
        calls
            .iter()
            .any(|c| c.name == "vkDestroyDevice" && c.detail.is_empty()),
        "no objects leaked"
    );
}

/// The whole colour aspect of a one-level, one-layer image.
fn color_range() -> vk::ImageSubresourceRange {
    vk::ImageSubresourceRange {
        aspect_mask: vk::ImageAspectFlags::COLOR,
        base_mip_level: 0,
        level_count: 1,
        base_array_layer: 0,
        layer_count: 1,
    }
}
