//! H.264 High and H.265 Main encode sessions on the test driver through the real Vulkan
//! loader, with Khronos' validation layer watching when it is one that knows the video-encode
//! structures (1.4.303 or newer; `.ci/with-vvl-trixie` runs it): the H.264 session at
//! 1920x1080 with the capabilities' DPB limits and its memory bound, session parameters from a
//! plausible SPS and PPS (one PPS added by an update), the encoded parameter sets read back and
//! decoded by FFmpeg (`-bsf:v trace_headers`: an independent H.264/H.265 syntax reader), the
//! same for an H.265 VPS/SPS/PPS, the highest quality level's preferences, the NV12 input and
//! reference images with their views, and two misuses the driver refuses (an extent over the
//! maximum, a std header from the future) with the layer's VUIDs for them.
//!
//! One test in this binary: the loader reads `VK_DRIVER_FILES` when it first scans for
//! drivers, so the environment is set before any Vulkan call and never changes.

use std::process::Command;

use ash::vk;
use ash::vk::native;
use ghoststream_video_icd::h264::{no_pps_flags, no_sps_flags, no_vui_flags, std_pps, std_sps};
use ghoststream_video_icd::h265;
use ghoststream_video_icd::{log, ENCODE_FAMILY};

mod common;
use common::ffmpeg::h265_bt709_vui;
use common::vulkan::{h264_capabilities, h264_high, memory_type, take_messages, Instance};
use common::{install_driver, skip};

/// An H.264 encode session's create info: NV12 pictures and references, `extent`, the DPB
/// limits (slots, active references) and the std header `header`.
fn session_info<'a>(
    profile: &'a vk::VideoProfileInfoKHR<'a>,
    extent: vk::Extent2D,
    header: &'a vk::ExtensionProperties,
    (slots, active): (u32, u32),
) -> vk::VideoSessionCreateInfoKHR<'a> {
    vk::VideoSessionCreateInfoKHR::default()
        .queue_family_index(ENCODE_FAMILY)
        .video_profile(profile)
        .picture_format(vk::Format::G8_B8R8_2PLANE_420_UNORM)
        .max_coded_extent(extent)
        .reference_picture_format(vk::Format::G8_B8R8_2PLANE_420_UNORM)
        .max_dpb_slots(slots)
        .max_active_reference_pictures(active)
        .std_header_version(header)
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

/// The values of `name` in the trace, in order.
fn values(trace: &[(String, i64)], name: &str) -> Vec<i64> {
    trace
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| *v)
        .collect()
}

/// The handles the H.265 part needs.
struct Vulkan<'a> {
    instance: &'a ash::khr::video_queue::Instance,
    pd: vk::PhysicalDevice,
    device: &'a ash::khr::video_queue::Device,
    encode: &'a ash::khr::video_encode_queue::Device,
    d: vk::Device,
}

/// An H.265 Main 1920x1080 session, parameters from a plausible VPS/SPS/PPS, the encoded sets
/// read back and checked with FFmpeg's trace; everything destroyed again.
fn h265_main_parameters_decode_with_ffmpeg(v: &Vulkan<'_>, dir: &std::path::Path) {
    let mut h265_profile = vk::VideoEncodeH265ProfileInfoKHR::default()
        .std_profile_idc(native::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN);
    let profile = vk::VideoProfileInfoKHR::default()
        .video_codec_operation(vk::VideoCodecOperationFlagsKHR::ENCODE_H265)
        .chroma_subsampling(vk::VideoChromaSubsamplingFlagsKHR::TYPE_420)
        .luma_bit_depth(vk::VideoComponentBitDepthFlagsKHR::TYPE_8)
        .chroma_bit_depth(vk::VideoComponentBitDepthFlagsKHR::TYPE_8)
        .push_next(&mut h265_profile);
    let mut h265_caps = vk::VideoEncodeH265CapabilitiesKHR::default();
    let mut encode_caps = vk::VideoEncodeCapabilitiesKHR::default();
    let mut caps = vk::VideoCapabilitiesKHR::default()
        .push_next(&mut encode_caps)
        .push_next(&mut h265_caps);
    // SAFETY: a well-formed profile and output chain.
    unsafe {
        (v.instance.fp().get_physical_device_video_capabilities_khr)(
            v.pd,
            &raw const profile,
            &raw mut caps,
        )
    }
    .result()
    .expect("H.265 Main capabilities");
    let header = caps.std_header_version;
    let mut h265_session = vk::VideoEncodeH265SessionCreateInfoKHR::default();
    let info = vk::VideoSessionCreateInfoKHR::default()
        .queue_family_index(ENCODE_FAMILY)
        .video_profile(&profile)
        .picture_format(vk::Format::G8_B8R8_2PLANE_420_UNORM)
        .max_coded_extent(vk::Extent2D {
            width: 1920,
            height: 1088,
        })
        .reference_picture_format(vk::Format::G8_B8R8_2PLANE_420_UNORM)
        .max_dpb_slots(caps.max_dpb_slots)
        .max_active_reference_pictures(caps.max_active_reference_pictures)
        .std_header_version(&header)
        .push_next(&mut h265_session);
    let mut session = vk::VideoSessionKHR::null();
    // SAFETY: a well-formed create info.
    unsafe {
        (v.device.fp().create_video_session_khr)(
            v.d,
            &raw const info,
            std::ptr::null(),
            &raw mut session,
        )
    }
    .result()
    .expect("vkCreateVideoSessionKHR H.265");

    let ptl = h265::std_ptl(
        native::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN,
        native::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_4_1,
    );
    let dpb = h265::one_reference_dpb();
    let mut vps_flags = h265::single_layer_vps_flags();
    vps_flags.set_vps_timing_info_present_flag(1);
    let vps = native::StdVideoH265VideoParameterSet {
        vps_num_units_in_tick: 1,
        vps_time_scale: 60,
        pDecPicBufMgr: &raw const dpb,
        pProfileTierLevel: &raw const ptl,
        ..h265::std_vps(vps_flags)
    };
    let rps = [h265::std_st_rps(1)];
    let vui = h265_bt709_vui(60);
    let mut sps_flags = h265::no_sps_flags();
    sps_flags.set_sps_temporal_id_nesting_flag(1);
    sps_flags.set_conformance_window_flag(1);
    sps_flags.set_sps_sub_layer_ordering_info_present_flag(1);
    sps_flags.set_amp_enabled_flag(1);
    sps_flags.set_sample_adaptive_offset_enabled_flag(1);
    sps_flags.set_sps_temporal_mvp_enabled_flag(1);
    sps_flags.set_strong_intra_smoothing_enabled_flag(1);
    sps_flags.set_vui_parameters_present_flag(1);
    let sps = native::StdVideoH265SequenceParameterSet {
        chroma_format_idc: native::StdVideoH265ChromaFormatIdc_STD_VIDEO_H265_CHROMA_FORMAT_IDC_420,
        pic_width_in_luma_samples: 1920,
        pic_height_in_luma_samples: 1088,
        log2_max_pic_order_cnt_lsb_minus4: 4,
        log2_diff_max_min_luma_coding_block_size: 2,
        log2_diff_max_min_luma_transform_block_size: 3,
        num_short_term_ref_pic_sets: 1,
        conf_win_bottom_offset: 4,
        pProfileTierLevel: &raw const ptl,
        pDecPicBufMgr: &raw const dpb,
        pShortTermRefPicSet: rps.as_ptr(),
        pSequenceParameterSetVui: &raw const vui,
        ..h265::std_sps(sps_flags)
    };
    let mut pps_flags = h265::no_pps_flags();
    pps_flags.set_cu_qp_delta_enabled_flag(1);
    pps_flags.set_pps_loop_filter_across_slices_enabled_flag(1);
    pps_flags.set_deblocking_filter_control_present_flag(1);
    let pps = native::StdVideoH265PictureParameterSet {
        init_qp_minus26: -2,
        pps_cb_qp_offset: 1,
        pps_cr_qp_offset: -1,
        pps_beta_offset_div2: -1,
        pps_tc_offset_div2: 2,
        ..h265::std_pps(pps_flags)
    };
    let (vpss, spss, ppss) = ([vps], [sps], [pps]);
    let add = vk::VideoEncodeH265SessionParametersAddInfoKHR::default()
        .std_vp_ss(&vpss)
        .std_sp_ss(&spss)
        .std_pp_ss(&ppss);
    let mut h265_params = vk::VideoEncodeH265SessionParametersCreateInfoKHR::default()
        .max_std_vps_count(1)
        .max_std_sps_count(1)
        .max_std_pps_count(1)
        .parameters_add_info(&add);
    let params_info = vk::VideoSessionParametersCreateInfoKHR::default()
        .video_session(session)
        .push_next(&mut h265_params);
    let mut params = vk::VideoSessionParametersKHR::null();
    // SAFETY: a well-formed create info.
    unsafe {
        (v.device.fp().create_video_session_parameters_khr)(
            v.d,
            &raw const params_info,
            std::ptr::null(),
            &raw mut params,
        )
    }
    .result()
    .expect("vkCreateVideoSessionParametersKHR H.265");

    let mut h265_get = vk::VideoEncodeH265SessionParametersGetInfoKHR::default()
        .write_std_vps(true)
        .write_std_sps(true)
        .write_std_pps(true);
    let get_info = vk::VideoEncodeSessionParametersGetInfoKHR::default()
        .video_session_parameters(params)
        .push_next(&mut h265_get);
    let mut h265_feedback = vk::VideoEncodeH265SessionParametersFeedbackInfoKHR {
        has_std_vps_overrides: vk::TRUE,
        has_std_sps_overrides: vk::TRUE,
        has_std_pps_overrides: vk::TRUE,
        ..Default::default()
    };
    let mut feedback =
        vk::VideoEncodeSessionParametersFeedbackInfoKHR::default().push_next(&mut h265_feedback);
    let f = v.encode.fp().get_encoded_video_session_parameters_khr;
    let mut size = 0usize;
    // SAFETY: a size query with well-formed structures.
    unsafe {
        f(
            v.d,
            &raw const get_info,
            std::ptr::null_mut(),
            &raw mut size,
            std::ptr::null_mut(),
        )
    }
    .result()
    .unwrap();
    let mut data = vec![0u8; size];
    // SAFETY: `data` holds `size` bytes.
    unsafe {
        f(
            v.d,
            &raw const get_info,
            &raw mut feedback,
            &raw mut size,
            data.as_mut_ptr().cast(),
        )
    }
    .result()
    .unwrap();
    assert_eq!(
        (
            feedback.has_overrides,
            h265_feedback.has_std_vps_overrides,
            h265_feedback.has_std_sps_overrides,
            h265_feedback.has_std_pps_overrides
        ),
        (vk::TRUE, vk::FALSE, vk::TRUE, vk::TRUE),
        "the SPS and PPS carry the PCM encoder's overrides, the VPS is as given"
    );
    assert_eq!(&data[..6], [0, 0, 0, 1, 0x40, 0x01], "a VPS NAL unit first");

    let stream = dir.join("parameters.h265");
    std::fs::write(&stream, &data).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "info", "-f", "hevc", "-i"])
        .arg(&stream)
        .args(["-c:v", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let trace = trace_elements(&stderr);
    let all = |name: &str| values(&trace, name);
    let one = |name: &str| {
        let v = all(name);
        assert_eq!(v.len(), 1, "{name} once in FFmpeg's trace:\n{stderr}");
        v[0]
    };
    assert!(!stderr.contains("Failed to read"), "{stderr}");
    assert_eq!(
        all("rbsp_stop_one_bit").len(),
        3,
        "VPS, SPS and PPS read to their ends:\n{stderr}"
    );
    assert_eq!(
        all("general_profile_idc"),
        [1, 1],
        "Main, in the VPS and the SPS"
    );
    assert_eq!(all("general_level_idc"), [123, 123], "level 4.1");
    let width = one("pic_width_in_luma_samples")
        - 2 * (one("conf_win_left_offset") + one("conf_win_right_offset"));
    let height = one("pic_height_in_luma_samples")
        - 2 * (one("conf_win_top_offset") + one("conf_win_bottom_offset"));
    assert_eq!((width, height), (1920, 1080), "the cropped picture size");
    assert_eq!(
        (
            one("log2_min_luma_coding_block_size_minus3"),
            one("log2_diff_max_min_luma_coding_block_size"),
            one("pcm_enabled_flag"),
        ),
        (1, 0, 1),
        "32x32 CTBs asked for, 16x16 PCM coding units written"
    );
    assert_eq!(one("num_short_term_ref_pic_sets"), 1);
    assert_eq!(all("num_negative_pics"), [1]);
    assert_eq!(
        (one("vui_num_units_in_tick"), one("vui_time_scale")),
        (1, 60)
    );
    assert_eq!(
        (one("vps_num_units_in_tick"), one("vps_time_scale")),
        (1, 60)
    );
    assert_eq!(one("colour_primaries"), 1);
    assert_eq!(one("init_qp_minus26"), -2);
    assert_eq!((one("pps_cb_qp_offset"), one("pps_cr_qp_offset")), (1, -1));
    // The deblocking filter is off in the written PPS, so its offsets are not there.
    assert_eq!(one("pps_deblocking_filter_disabled_flag"), 1);
    assert!(all("pps_beta_offset_div2").is_empty());

    // SAFETY: made above, destroyed once.
    unsafe {
        (v.device.fp().destroy_video_session_parameters_khr)(v.d, params, std::ptr::null());
        (v.device.fp().destroy_video_session_khr)(v.d, session, std::ptr::null());
    }
}

#[test]
fn h264_and_h265_sessions_bind_memory_and_their_parameter_sets_decode_with_ffmpeg() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent H.264 reader)");
        return;
    }
    // Before any Vulkan call, and the only test of this binary.
    let Some(driver) = install_driver() else {
        return;
    };
    let dir = &driver.dir;
    let log_path = driver.log.clone();

    let Some(vulkan) = Instance::new() else {
        return;
    };
    let (entry, instance, validated) = (&vulkan.entry, &vulkan.instance, vulkan.validated);
    let pd = vulkan.physical_device();

    // The capabilities the session is sized by.
    let (caps, encode_caps, _) = h264_capabilities(entry, instance, pd);
    let (max_dpb, max_active, std_header, max_extent) = (
        caps.max_dpb_slots,
        caps.max_active_reference_pictures,
        caps.std_header_version,
        caps.max_coded_extent,
    );

    // The preferences of the highest quality level (slow half: B frames).
    let quality_level = encode_caps.max_quality_levels - 1;
    let (profile, mut h264_profile) = h264_high();
    let profile = profile.push_next(&mut h264_profile);
    let quality_info = vk::PhysicalDeviceVideoEncodeQualityLevelInfoKHR::default()
        .video_profile(&profile)
        .quality_level(quality_level);
    let mut h264_quality = vk::VideoEncodeH264QualityLevelPropertiesKHR::default();
    let mut quality =
        vk::VideoEncodeQualityLevelPropertiesKHR::default().push_next(&mut h264_quality);
    let veq_instance = ash::khr::video_encode_queue::Instance::new(entry, instance);
    // SAFETY: well-formed input and output structures.
    unsafe {
        (veq_instance
            .fp()
            .get_physical_device_video_encode_quality_level_properties_khr)(
            pd,
            &raw const quality_info,
            &raw mut quality,
        )
    }
    .result()
    .expect("vkGetPhysicalDeviceVideoEncodeQualityLevelPropertiesKHR");
    assert_eq!(
        (
            quality.preferred_rate_control_mode,
            quality.preferred_rate_control_layer_count
        ),
        (vk::VideoEncodeRateControlModeFlagsKHR::VBR, 1)
    );
    assert_eq!(
        (
            h264_quality.preferred_consecutive_b_frame_count,
            h264_quality.preferred_max_l1_reference_count,
            h264_quality.preferred_std_entropy_coding_mode_flag
        ),
        (2, 1, vk::TRUE)
    );

    // The device: compute and encode queues (of the families an application has looked at).
    let ext_names = [
        ash::khr::video_queue::NAME.as_ptr(),
        ash::khr::video_encode_queue::NAME.as_ptr(),
        ash::khr::video_encode_h264::NAME.as_ptr(),
        ash::khr::video_encode_h265::NAME.as_ptr(),
    ];
    let device = vulkan.compute_and_encode_device(pd, &ext_names, false);
    let vq = ash::khr::video_queue::Device::new(instance, &device);
    let veq = ash::khr::video_encode_queue::Device::new(instance, &device);

    // The session: H.264 High, 1920x1080, the capabilities' DPB limits.
    let (profile, mut h264_profile) = h264_high();
    let profile = profile.push_next(&mut h264_profile);
    let mut h264_session = vk::VideoEncodeH264SessionCreateInfoKHR::default();
    let limits = (max_dpb, max_active);
    let extent = vk::Extent2D {
        width: 1920,
        height: 1080,
    };
    let info = session_info(&profile, extent, &std_header, limits).push_next(&mut h264_session);
    let d = device.handle();
    let create_session = |info: &vk::VideoSessionCreateInfoKHR<'_>| {
        let mut s = vk::VideoSessionKHR::null();
        // SAFETY: the create info is well formed (or deliberately invalid in one value the
        // driver checks); the handle is written only on success.
        unsafe { (vq.fp().create_video_session_khr)(d, info, std::ptr::null(), &raw mut s) }
            .result_with_success(s)
    };
    let session = create_session(&info).expect("vkCreateVideoSessionKHR");

    // Its memory: every binding in memory of a type it allows.
    let mut count = 0;
    // SAFETY: a count query on a valid session.
    unsafe {
        (vq.fp().get_video_session_memory_requirements_khr)(
            d,
            session,
            &raw mut count,
            std::ptr::null_mut(),
        )
    }
    .result()
    .unwrap();
    let mut reqs = vec![vk::VideoSessionMemoryRequirementsKHR::default(); count as usize];
    // SAFETY: `reqs` holds `count` structures.
    unsafe {
        (vq.fp().get_video_session_memory_requirements_khr)(
            d,
            session,
            &raw mut count,
            reqs.as_mut_ptr(),
        )
    }
    .result()
    .unwrap();
    let mut memories = Vec::new();
    let mut binds = Vec::new();
    for r in &reqs {
        let m = r.memory_requirements;
        let ty = memory_type(m.memory_type_bits, vk::MemoryPropertyFlags::DEVICE_LOCAL);
        // SAFETY: a well-formed allocation.
        let mem = unsafe {
            device.allocate_memory(
                &vk::MemoryAllocateInfo::default()
                    .allocation_size(m.size)
                    .memory_type_index(ty),
                None,
            )
        }
        .unwrap();
        memories.push(mem);
        binds.push(
            vk::BindVideoSessionMemoryInfoKHR::default()
                .memory_bind_index(r.memory_bind_index)
                .memory(mem)
                .memory_offset(0)
                .memory_size(m.size),
        );
    }
    assert_eq!(
        reqs.iter()
            .map(|r| (r.memory_bind_index, r.memory_requirements.size))
            .collect::<Vec<_>>(),
        // 120x68 macroblocks: 256 bytes each of working memory, 64 per DPB slot of metadata.
        [(0, 2_088_960), (1, 8_880_128)]
    );
    // SAFETY: each binding once, in memory that fits it.
    unsafe {
        (vq.fp().bind_video_session_memory_khr)(
            d,
            session,
            u32::try_from(binds.len()).unwrap(),
            binds.as_ptr(),
        )
    }
    .result()
    .expect("vkBindVideoSessionMemoryKHR");

    // Session parameters from a plausible 1080p High SPS (level 4.1, VUI with BT.709 colour,
    // 60 fps timing and a one-frame DPB) and PPS (CABAC, 8x8 transform).
    let mut sps_flags = no_sps_flags();
    sps_flags.set_frame_mbs_only_flag(1);
    sps_flags.set_direct_8x8_inference_flag(1);
    sps_flags.set_frame_cropping_flag(1);
    sps_flags.set_vui_parameters_present_flag(1);
    let mut vui_flags = no_vui_flags();
    vui_flags.set_video_signal_type_present_flag(1);
    vui_flags.set_color_description_present_flag(1);
    vui_flags.set_timing_info_present_flag(1);
    vui_flags.set_fixed_frame_rate_flag(1);
    vui_flags.set_bitstream_restriction_flag(1);
    let vui = native::StdVideoH264SequenceParameterSetVui {
        flags: vui_flags,
        aspect_ratio_idc: native::StdVideoH264AspectRatioIdc_STD_VIDEO_H264_ASPECT_RATIO_IDC_SQUARE,
        sar_width: 0,
        sar_height: 0,
        video_format: 5,
        colour_primaries: 1,
        transfer_characteristics: 1,
        matrix_coefficients: 1,
        num_units_in_tick: 1,
        time_scale: 120,
        max_num_reorder_frames: 0,
        max_dec_frame_buffering: 1,
        chroma_sample_loc_type_top_field: 0,
        chroma_sample_loc_type_bottom_field: 0,
        reserved1: 0,
        pHrdParameters: std::ptr::null(),
    };
    let sps = native::StdVideoH264SequenceParameterSet {
        profile_idc: native::StdVideoH264ProfileIdc_STD_VIDEO_H264_PROFILE_IDC_HIGH,
        level_idc: native::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_4_1,
        chroma_format_idc: native::StdVideoH264ChromaFormatIdc_STD_VIDEO_H264_CHROMA_FORMAT_IDC_420,
        seq_parameter_set_id: 0,
        log2_max_frame_num_minus4: 4,
        pic_order_cnt_type: native::StdVideoH264PocType_STD_VIDEO_H264_POC_TYPE_0,
        log2_max_pic_order_cnt_lsb_minus4: 4,
        max_num_ref_frames: 1,
        pic_width_in_mbs_minus1: 119,
        pic_height_in_map_units_minus1: 67,
        frame_crop_bottom_offset: 4,
        pSequenceParameterSetVui: &raw const vui,
        ..std_sps(sps_flags)
    };
    let mut pps_flags = no_pps_flags();
    pps_flags.set_entropy_coding_mode_flag(1);
    pps_flags.set_transform_8x8_mode_flag(1);
    pps_flags.set_deblocking_filter_control_present_flag(1);
    let pps = native::StdVideoH264PictureParameterSet {
        pic_init_qp_minus26: -4,
        ..std_pps(pps_flags)
    };
    let spss = [sps];
    let ppss = [pps];
    let add = vk::VideoEncodeH264SessionParametersAddInfoKHR::default()
        .std_sp_ss(&spss)
        .std_pp_ss(&ppss);
    let mut h264_params = vk::VideoEncodeH264SessionParametersCreateInfoKHR::default()
        .max_std_sps_count(1)
        .max_std_pps_count(2)
        .parameters_add_info(&add);
    let mut quality_choice =
        vk::VideoEncodeQualityLevelInfoKHR::default().quality_level(quality_level);
    let params_info = vk::VideoSessionParametersCreateInfoKHR::default()
        .video_session(session)
        .push_next(&mut h264_params)
        .push_next(&mut quality_choice);
    let mut params = vk::VideoSessionParametersKHR::null();
    // SAFETY: a well-formed create info.
    unsafe {
        (vq.fp().create_video_session_parameters_khr)(
            d,
            &raw const params_info,
            std::ptr::null(),
            &raw mut params,
        )
    }
    .result()
    .expect("vkCreateVideoSessionParametersKHR");
    // A second PPS (id 1: CAVLC, QP 30, chroma offsets -2/+2) added by an update.
    let mut pps1_flags = no_pps_flags();
    pps1_flags.set_deblocking_filter_control_present_flag(1);
    let pps1 = native::StdVideoH264PictureParameterSet {
        pic_parameter_set_id: 1,
        pic_init_qp_minus26: 4,
        chroma_qp_index_offset: -2,
        second_chroma_qp_index_offset: 2,
        ..std_pps(pps1_flags)
    };
    let ppss1 = [pps1];
    let mut add1 = vk::VideoEncodeH264SessionParametersAddInfoKHR::default().std_pp_ss(&ppss1);
    let update = vk::VideoSessionParametersUpdateInfoKHR::default()
        .update_sequence_count(1)
        .push_next(&mut add1);
    // SAFETY: a well-formed update, the first.
    unsafe { (vq.fp().update_video_session_parameters_khr)(d, params, &raw const update) }
        .result()
        .expect("vkUpdateVideoSessionParametersKHR");

    // The encoded SPS + PPS 0, then PPS 1 alone, with the feedback structures.
    let get = |write_sps: bool, pps_id: u32| {
        let mut h264_get = vk::VideoEncodeH264SessionParametersGetInfoKHR::default()
            .write_std_sps(write_sps)
            .write_std_pps(true)
            .std_sps_id(0)
            .std_pps_id(pps_id);
        let get_info = vk::VideoEncodeSessionParametersGetInfoKHR::default()
            .video_session_parameters(params)
            .push_next(&mut h264_get);
        let mut h264_feedback = vk::VideoEncodeH264SessionParametersFeedbackInfoKHR {
            has_std_sps_overrides: vk::TRUE,
            has_std_pps_overrides: vk::TRUE,
            ..Default::default()
        };
        let mut feedback = vk::VideoEncodeSessionParametersFeedbackInfoKHR {
            has_overrides: vk::TRUE,
            ..Default::default()
        }
        .push_next(&mut h264_feedback);
        let f = veq.fp().get_encoded_video_session_parameters_khr;
        let mut size = 0usize;
        // SAFETY: a size query with well-formed structures.
        unsafe {
            f(
                d,
                &raw const get_info,
                &raw mut feedback,
                &raw mut size,
                std::ptr::null_mut(),
            )
        }
        .result()
        .unwrap();
        // A buffer one byte short: nothing written, size 0, VK_INCOMPLETE.
        let mut short = vec![0xaau8; size - 1];
        let mut short_size = short.len();
        // SAFETY: `short` holds `short_size` bytes.
        let r = unsafe {
            f(
                d,
                &raw const get_info,
                std::ptr::null_mut(),
                &raw mut short_size,
                short.as_mut_ptr().cast(),
            )
        };
        assert_eq!((r, short_size), (vk::Result::INCOMPLETE, 0));
        assert!(short.iter().all(|&b| b == 0xaa));
        let mut data = vec![0u8; size];
        // SAFETY: `data` holds `size` bytes.
        unsafe {
            f(
                d,
                &raw const get_info,
                &raw mut feedback,
                &raw mut size,
                data.as_mut_ptr().cast(),
            )
        }
        .result()
        .unwrap();
        assert_eq!(size, data.len());
        let overrides = (
            feedback.has_overrides,
            h264_feedback.has_std_sps_overrides,
            h264_feedback.has_std_pps_overrides,
        );
        (data, overrides)
    };
    let (sps_pps0, overrides) = get(true, 0);
    // The PPS asks for CABAC; the driver writes CAVLC and says so.
    assert_eq!(overrides, (vk::TRUE, vk::FALSE, vk::TRUE));
    let (pps1_bytes, _) = get(false, 1);
    assert_eq!(&sps_pps0[..5], [0, 0, 0, 1, 0x67], "an SPS NAL unit first");
    assert_eq!(&pps1_bytes[..5], [0, 0, 0, 1, 0x68], "a PPS NAL unit alone");

    // FFmpeg reads them back: profile, level, size, VUI and both PPSs as given.
    let stream = dir.path().join("parameters.h264");
    std::fs::write(&stream, [sps_pps0.as_slice(), &pps1_bytes].concat()).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "info", "-f", "h264", "-i"])
        .arg(&stream)
        .args(["-c:v", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let trace = trace_elements(&stderr);
    let one = |name: &str| {
        let v = values(&trace, name);
        assert_eq!(v.len(), 1, "{name} once in FFmpeg's trace:\n{stderr}");
        v[0]
    };
    assert_eq!(
        stderr.matches("Sequence Parameter Set").count(),
        1,
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("Picture Parameter Set").count(),
        2,
        "{stderr}"
    );
    assert!(!stderr.contains("Failed to read"), "{stderr}");
    assert_eq!(one("profile_idc"), 100, "High");
    assert_eq!(one("level_idc"), 41, "level 4.1");
    let width = (one("pic_width_in_mbs_minus1") + 1) * 16
        - 2 * (one("frame_crop_left_offset") + one("frame_crop_right_offset"));
    let height = (one("pic_height_in_map_units_minus1") + 1) * 16
        - 2 * (one("frame_crop_top_offset") + one("frame_crop_bottom_offset"));
    assert_eq!((width, height), (1920, 1080), "the cropped picture size");
    assert_eq!(one("chroma_format_idc"), 1);
    assert_eq!(one("log2_max_frame_num_minus4"), 4);
    assert_eq!(one("log2_max_pic_order_cnt_lsb_minus4"), 4);
    assert_eq!(one("max_num_ref_frames"), 1);
    assert_eq!(
        (
            one("colour_primaries"),
            one("transfer_characteristics"),
            one("matrix_coefficients")
        ),
        (1, 1, 1)
    );
    assert_eq!((one("num_units_in_tick"), one("time_scale")), (1, 120));
    assert_eq!(one("max_dec_frame_buffering"), 1);
    assert_eq!(values(&trace, "pic_parameter_set_id"), [0, 1]);
    // PPS 0 asks for CABAC; the driver writes CAVLC (its PCM slices), an override.
    assert_eq!(values(&trace, "entropy_coding_mode_flag"), [0, 0]);
    assert_eq!(values(&trace, "pic_init_qp_minus26"), [-4, 4]);
    assert_eq!(values(&trace, "chroma_qp_index_offset"), [0, -2]);
    assert_eq!(values(&trace, "transform_8x8_mode_flag"), [1, 0]);
    assert_eq!(values(&trace, "second_chroma_qp_index_offset"), [0, 2]);
    assert_eq!(
        values(&trace, "rbsp_stop_one_bit").len(),
        3,
        "every unit read to its end"
    );

    // The same for H.265 Main: VPS, SPS and PPS through FFmpeg.
    let video_queue = ash::khr::video_queue::Instance::new(entry, instance);
    let h265 = Vulkan {
        instance: &video_queue,
        pd,
        device: &vq,
        encode: &veq,
        d,
    };
    h265_main_parameters_decode_with_ffmpeg(&h265, dir.path());

    // The NV12 encode input (written by a pass through plane views) and a reference picture.
    let (list_profile, mut list_h264) = h264_high();
    let list_profiles = [list_profile.push_next(&mut list_h264)];
    let mut list = vk::VideoProfileListInfoKHR::default().profiles(&list_profiles);
    let input_info = vk::ImageCreateInfo::default()
        .image_type(vk::ImageType::TYPE_2D)
        .format(vk::Format::G8_B8R8_2PLANE_420_UNORM)
        .extent(vk::Extent3D {
            width: 1920,
            height: 1080,
            depth: 1,
        })
        .mip_levels(1)
        .array_layers(1)
        .samples(vk::SampleCountFlags::TYPE_1)
        .tiling(vk::ImageTiling::OPTIMAL)
        .usage(
            vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR
                | vk::ImageUsageFlags::STORAGE
                | vk::ImageUsageFlags::TRANSFER_DST,
        )
        .flags(vk::ImageCreateFlags::MUTABLE_FORMAT | vk::ImageCreateFlags::EXTENDED_USAGE)
        .initial_layout(vk::ImageLayout::UNDEFINED)
        .push_next(&mut list);
    // SAFETY: a well-formed create info.
    let input = unsafe { device.create_image(&input_info, None) }.expect("vkCreateImage input");
    let (dpb_profile, mut dpb_h264) = h264_high();
    let dpb_profiles = [dpb_profile.push_next(&mut dpb_h264)];
    let mut dpb_list = vk::VideoProfileListInfoKHR::default().profiles(&dpb_profiles);
    let dpb_info = vk::ImageCreateInfo {
        usage: vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR,
        flags: vk::ImageCreateFlags::empty(),
        p_next: std::ptr::null(),
        ..input_info
    }
    .push_next(&mut dpb_list);
    // SAFETY: as above.
    let dpb = unsafe { device.create_image(&dpb_info, None) }.expect("vkCreateImage DPB");
    let mut image_memories = Vec::new();
    for image in [input, dpb] {
        let mut req = vk::MemoryRequirements2::default();
        // SAFETY: a valid image.
        unsafe {
            device.get_image_memory_requirements2(
                &vk::ImageMemoryRequirementsInfo2::default().image(image),
                &mut req,
            )
        };
        let m = req.memory_requirements;
        // Rows padded to 2048 bytes: 1080 luma rows, then 540 rows of interleaved chroma.
        assert_eq!(m.size, 2048 * 1080 + 2048 * 540);
        let ty = memory_type(
            m.memory_type_bits,
            vk::MemoryPropertyFlags::HOST_VISIBLE | vk::MemoryPropertyFlags::HOST_COHERENT,
        );
        // SAFETY: a well-formed allocation, bound once.
        let mem = unsafe {
            let mem = device
                .allocate_memory(
                    &vk::MemoryAllocateInfo::default()
                        .allocation_size(m.size)
                        .memory_type_index(ty),
                    None,
                )
                .unwrap();
            device
                .bind_image_memory2(&[vk::BindImageMemoryInfo::default()
                    .image(image)
                    .memory(mem)
                    .memory_offset(0)])
                .unwrap();
            mem
        };
        image_memories.push(mem);
    }
    let view = |image: vk::Image,
                format: vk::Format,
                aspect: vk::ImageAspectFlags,
                usage: vk::ImageUsageFlags| {
        let mut usage_info = vk::ImageViewUsageCreateInfo::default().usage(usage);
        let info = vk::ImageViewCreateInfo::default()
            .image(image)
            .view_type(vk::ImageViewType::TYPE_2D)
            .format(format)
            .subresource_range(vk::ImageSubresourceRange {
                aspect_mask: aspect,
                base_mip_level: 0,
                level_count: 1,
                base_array_layer: 0,
                layer_count: 1,
            })
            .push_next(&mut usage_info);
        // SAFETY: a well-formed create info of a bound image.
        unsafe { device.create_image_view(&info, None) }
    };
    let views = [
        view(
            input,
            vk::Format::G8_B8R8_2PLANE_420_UNORM,
            vk::ImageAspectFlags::COLOR,
            vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR,
        )
        .expect("the encode input's view"),
        view(
            input,
            vk::Format::R8_UNORM,
            vk::ImageAspectFlags::PLANE_0,
            vk::ImageUsageFlags::STORAGE,
        )
        .expect("the luma plane's storage view"),
        view(
            input,
            vk::Format::R8G8_UNORM,
            vk::ImageAspectFlags::PLANE_1,
            vk::ImageUsageFlags::STORAGE,
        )
        .expect("the chroma plane's storage view"),
        view(
            dpb,
            vk::Format::G8_B8R8_2PLANE_420_UNORM,
            vk::ImageAspectFlags::COLOR,
            vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR,
        )
        .expect("the reference picture's view"),
    ];
    let clean = take_messages();
    assert!(
        clean.is_empty(),
        "the validation layer reported on correct use:\n{}",
        clean.join("\n")
    );

    // Misuse 1: a coded extent over the profile's maximum.
    let too_wide = vk::Extent2D {
        width: max_extent.width + 16,
        height: 1080,
    };
    let mut h264_session2 = vk::VideoEncodeH264SessionCreateInfoKHR::default();
    let info = session_info(&profile, too_wide, &std_header, limits).push_next(&mut h264_session2);
    // A deliberately invalid create info: the layer reports it and lets it through.
    let r = create_session(&info);
    assert_eq!(r.err(), Some(vk::Result::ERROR_VALIDATION_FAILED_EXT));
    let extent_messages = take_messages();
    // Misuse 2: a std header version newer than the driver's.
    let mut future = std_header;
    future.spec_version += 1;
    let mut h264_session3 = vk::VideoEncodeH264SessionCreateInfoKHR::default();
    let info = session_info(&profile, extent, &future, limits).push_next(&mut h264_session3);
    let r = create_session(&info);
    assert_eq!(
        r.err(),
        Some(vk::Result::ERROR_VIDEO_STD_VERSION_NOT_SUPPORTED_KHR)
    );
    let header_messages = take_messages();
    if validated {
        let has = |m: &[String], vuid: &str| m.iter().any(|l| l.starts_with(vuid));
        assert!(
            has(
                &extent_messages,
                "VUID-VkVideoSessionCreateInfoKHR-maxCodedExtent-04851"
            ),
            "{extent_messages:#?}"
        );
        assert!(
            has(
                &header_messages,
                "VUID-VkVideoSessionCreateInfoKHR-pStdHeaderVersion-07191"
            ),
            "{header_messages:#?}"
        );
    }

    // SAFETY: everything made above, destroyed once, children first.
    unsafe {
        for v in views {
            device.destroy_image_view(v, None);
        }
        device.destroy_image(input, None);
        device.destroy_image(dpb, None);
        (vq.fp().destroy_video_session_parameters_khr)(d, params, std::ptr::null());
        (vq.fp().destroy_video_session_khr)(d, session, std::ptr::null());
        for m in memories.into_iter().chain(image_memories) {
            device.free_memory(m, None);
        }
        device.destroy_device(None);
        vulkan.destroy();
    }
    let late = take_messages();
    assert!(late.is_empty(), "{}", late.join("\n"));

    // The driver's log: the deliberate refusals, and nothing else failed or leaked.
    let calls = log::read(&log_path).unwrap();
    let failed: Vec<_> = calls
        .iter()
        .filter(|c| !c.name.ends_with("ProcAddr"))
        .filter(|c| !["", "SUCCESS", "found", "INCOMPLETE"].contains(&c.result.as_str()))
        .map(|c| format!("{} {} -> {}", c.name, c.detail, c.result))
        .collect();
    assert_eq!(failed.len(), 2, "{failed:#?}");
    assert!(
        failed[0].contains("maxCodedExtent 4112x1080"),
        "{failed:#?}"
    );
    assert!(
        failed[1].ends_with("ERROR_VIDEO_STD_VERSION_NOT_SUPPORTED_KHR"),
        "{failed:#?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.name == "vkDestroyDevice" && c.detail.is_empty()),
        "no objects leaked"
    );
    let missing = calls
        .iter()
        .filter(|c| c.name == "vkGetDeviceProcAddr" && c.result == "null")
        .count();
    eprintln!(
        "{} calls into the driver; validation {}; device entry points asked for but not implemented: {missing}",
        calls.len(),
        if validated { "on" } else { "off" }
    );
}
