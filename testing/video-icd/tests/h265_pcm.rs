//! The driver's H.265 PCM encoder against FFmpeg, an independent decoder: parameter sets as a
//! library builds them (Main 8-bit or Main 10 10-bit 4:2:0, 32x32 coding tree blocks with 8x8
//! coding blocks, AMP, SAO, temporal motion vectors, sign data hiding, CU QP deltas,
//! deblocking, VUI, cropping) written by the driver with its PCM overrides, then an IDR and
//! two P pictures of distinct NV12 (or P010) patterns decode to exactly the input samples
//! (cropped as the SPS says), and FFmpeg's header tracer reads the stream without error and
//! sees the overrides (and, for Main 10, the 10-bit sample and PCM depths).

mod common;

use std::path::Path;
use std::process::Command;

use ash::vk::native;
use common::ffmpeg::{
    decode_and_compare_as, h265_bt709_vui, pattern, pattern10, push_yuv420p, push_yuv420p10,
    trace_headers,
};
use common::skip;
use ghoststream_video_icd::h264_pcm::Nv12Picture;
use ghoststream_video_icd::h265::{self, SpsParts};
use ghoststream_video_icd::h265_pcm::{encode_picture, P010Picture};

/// The picture info of frame `frame` (an IDR at 0, then P pictures one POC apart whose inline
/// short-term set, when `rps` is given, names the previous picture).
fn picture_info(
    frame: u32,
    rps: Option<&native::StdVideoH265ShortTermRefPicSet>,
) -> native::StdVideoEncodeH265PictureInfo {
    let mut flags = native::StdVideoEncodeH265PictureInfoFlags {
        _bitfield_align_1: [],
        _bitfield_1: native::__BindgenBitfieldUnit::new([0; 4]),
    };
    flags.set_is_reference(1);
    flags.set_IrapPicFlag(u32::from(frame == 0));
    flags.set_pic_output_flag(1);
    native::StdVideoEncodeH265PictureInfo {
        flags,
        pic_type: if frame == 0 {
            native::StdVideoH265PictureType_STD_VIDEO_H265_PICTURE_TYPE_IDR
        } else {
            native::StdVideoH265PictureType_STD_VIDEO_H265_PICTURE_TYPE_P
        },
        sps_video_parameter_set_id: 0,
        pps_seq_parameter_set_id: 0,
        pps_pic_parameter_set_id: 0,
        short_term_ref_pic_set_idx: 0,
        PicOrderCntVal: i32::try_from(frame).unwrap(),
        TemporalId: 0,
        reserved1: [0; 7],
        pRefLists: std::ptr::null(),
        pShortTermRefPicSet: rps.map_or(std::ptr::null(), std::ptr::from_ref),
        pLongTermRefPics: std::ptr::null(),
    }
}

fn slice_info(
    frame: u32,
    qp_delta: i8,
    cabac_init: bool,
) -> native::StdVideoEncodeH265SliceSegmentHeader {
    let mut flags = native::StdVideoEncodeH265SliceSegmentHeaderFlags {
        _bitfield_align_1: [],
        _bitfield_1: native::__BindgenBitfieldUnit::new([0; 4]),
    };
    flags.set_first_slice_segment_in_pic_flag(1);
    flags.set_cabac_init_flag(u32::from(cabac_init));
    flags.set_slice_sao_luma_flag(1);
    flags.set_slice_sao_chroma_flag(1);
    flags.set_slice_loop_filter_across_slices_enabled_flag(1);
    native::StdVideoEncodeH265SliceSegmentHeader {
        flags,
        slice_type: if frame == 0 {
            native::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_I
        } else {
            native::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_P
        },
        slice_segment_address: 0,
        collocated_ref_idx: 0,
        MaxNumMergeCand: 5,
        slice_cb_qp_offset: 0,
        slice_cr_qp_offset: 0,
        slice_beta_offset_div2: 0,
        slice_tc_offset_div2: 0,
        slice_act_y_qp_offset: 0,
        slice_act_cb_qp_offset: 0,
        slice_act_cr_qp_offset: 0,
        slice_qp_delta: qp_delta,
        reserved1: 0,
        pWeightTable: std::ptr::null(),
    }
}

/// What a library gives for a `width`x`height` Main (or, `ten_bit`, Main 10) stream: 32x32
/// coding tree blocks of 8x8 coding blocks, transforms 4 … 32, AMP, SAO, temporal MVP, strong
/// intra smoothing, a VUI with colour description, the picture a multiple of 8 cropped to the
/// size. Returns the driver's written VPS, SPS and PPS.
fn parameter_sets(
    width: u32,
    height: u32,
    init_qp_minus26: i8,
    cabac_init_present: bool,
    ten_bit: bool,
) -> (h265::Vps, h265::Sps, h265::Pps) {
    let ptl = h265::std_ptl(
        if ten_bit {
            native::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN_10
        } else {
            native::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN
        },
        native::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_5_1,
    );
    let dpb = h265::one_reference_dpb();
    let vf = h265::single_layer_vps_flags();
    let vps = h265::vps(&h265::std_vps(vf), Some(&ptl), Some(&dpb), false).unwrap();

    let mut sf = h265::no_sps_flags();
    sf.set_sps_temporal_id_nesting_flag(1);
    sf.set_sps_sub_layer_ordering_info_present_flag(1);
    sf.set_amp_enabled_flag(1);
    sf.set_sample_adaptive_offset_enabled_flag(1);
    sf.set_sps_temporal_mvp_enabled_flag(1);
    sf.set_strong_intra_smoothing_enabled_flag(1);
    sf.set_vui_parameters_present_flag(1);
    let (cw, ch) = (width.div_ceil(8) * 8, height.div_ceil(8) * 8);
    if (cw, ch) != (width, height) {
        sf.set_conformance_window_flag(1);
    }
    let sps_std = native::StdVideoH265SequenceParameterSet {
        chroma_format_idc: native::StdVideoH265ChromaFormatIdc_STD_VIDEO_H265_CHROMA_FORMAT_IDC_420,
        pic_width_in_luma_samples: cw,
        pic_height_in_luma_samples: ch,
        log2_max_pic_order_cnt_lsb_minus4: 4,
        log2_min_luma_coding_block_size_minus3: 0,
        log2_diff_max_min_luma_coding_block_size: 2,
        log2_min_luma_transform_block_size_minus2: 0,
        log2_diff_max_min_luma_transform_block_size: 3,
        max_transform_hierarchy_depth_inter: 3,
        max_transform_hierarchy_depth_intra: 3,
        conf_win_right_offset: (cw - width) / 2,
        conf_win_bottom_offset: (ch - height) / 2,
        bit_depth_luma_minus8: if ten_bit { 2 } else { 0 },
        bit_depth_chroma_minus8: if ten_bit { 2 } else { 0 },
        ..h265::std_sps(sf)
    };
    let vui = h265_bt709_vui(30);
    let parts = SpsParts {
        ptl: Some(&ptl),
        dpb: Some(&dpb),
        vui: Some(&vui),
        ..Default::default()
    };
    let sps = h265::sps(&sps_std, &parts).unwrap();

    let mut pf = h265::no_pps_flags();
    pf.set_sign_data_hiding_enabled_flag(1);
    pf.set_cu_qp_delta_enabled_flag(1);
    pf.set_cabac_init_present_flag(u32::from(cabac_init_present));
    pf.set_pps_loop_filter_across_slices_enabled_flag(1);
    pf.set_deblocking_filter_control_present_flag(1);
    pf.set_deblocking_filter_override_enabled_flag(1);
    pf.set_transform_skip_enabled_flag(1);
    let pps = h265::pps(&native::StdVideoH265PictureParameterSet {
        init_qp_minus26,
        diff_cu_qp_delta_depth: 1,
        ..h265::std_pps(pf)
    })
    .unwrap();
    (vps, sps, pps)
}

/// Encodes three frames (NV12, or P010 when `ten_bit`), decodes them with FFmpeg and compares
/// every sample.
fn round_trip(
    dir: &Path,
    (width, height): (u32, u32),
    init_qp_minus26: i8,
    cabac_init: bool,
    ten_bit: bool,
) {
    let (vps, sps, pps) = parameter_sets(width, height, init_qp_minus26, cabac_init, ten_bit);
    assert!(
        sps.overrides && pps.overrides,
        "the PCM overrides are reported"
    );
    let w16 = sps.written.get();
    assert_eq!(
        (
            w16.log2_min_luma_coding_block_size_minus3,
            w16.log2_diff_max_min_luma_coding_block_size,
            w16.flags.pcm_enabled_flag(),
            w16.flags.sample_adaptive_offset_enabled_flag()
        ),
        (1, 0, 1, 0)
    );
    let (cw, ch) = sps.size;
    assert_eq!((cw % 16, ch % 16), (0, 0));
    let (w, h) = (cw as usize, ch as usize);

    let mut stream = vps.nal.clone();
    stream.extend(&sps.nal);
    stream.extend(&pps.nal);
    let mut expected = Vec::new();
    let mut emulation_bytes = 0;
    let rps = h265::std_st_rps(1);
    for frame in 0..3u32 {
        let (luma, chroma) = if ten_bit {
            pattern10(w, h, frame as usize)
        } else {
            pattern(w, h, frame as usize)
        };
        // Frame 1 uses the driver's default set (NULL), frame 2 the application's.
        let picture = picture_info(frame, (frame == 2).then_some(&rps));
        let qp_delta = [0, -4, 9][frame as usize];
        let slice = slice_info(frame, qp_delta, cabac_init);
        let au = if ten_bit {
            let source = P010Picture {
                luma: &luma,
                luma_stride: 2 * w,
                chroma: &chroma,
                chroma_stride: 2 * w,
                width: cw,
                height: ch,
            };
            encode_picture(&sps, &pps, &picture, &slice, &source)
        } else {
            let source = Nv12Picture {
                luma: &luma,
                luma_stride: w,
                chroma: &chroma,
                chroma_stride: w,
                width: cw,
                height: ch,
            };
            encode_picture(&sps, &pps, &picture, &slice, &source)
        }
        .unwrap();
        assert_eq!(
            au[..6],
            [0, 0, 0, 1, if frame == 0 { 19 << 1 } else { 1 << 1 }, 1],
            "frame {frame}: start code, nal_unit_type, layer, temporal id"
        );
        emulation_bytes += au.windows(3).filter(|b| *b == [0, 0, 3]).count();
        stream.extend(au);
        if ten_bit {
            push_yuv420p10(&mut expected, (&luma, &chroma), w, width, height);
        } else {
            push_yuv420p(&mut expected, (&luma, &chroma), w, width, height);
        }
    }
    assert!(
        emulation_bytes > 0,
        "the pattern exercises emulation prevention"
    );
    let pix_fmt = if ten_bit { "yuv420p10le" } else { "yuv420p" };
    let input = decode_and_compare_as(dir, "h265", &stream, (width, height), 3, &expected, pix_fmt);
    let out = trace_headers("info", &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ffmpeg trace_headers: {stderr}");
    assert!(
        !stderr.to_lowercase().contains("error"),
        "ffmpeg trace_headers: {stderr}"
    );
    // The tracer's view of the overridden fields: "<bit position> <name> <bits> = <value>".
    let value = |name: &str| -> Vec<String> {
        stderr
            .lines()
            .filter(|l| l.split_whitespace().any(|t| t == name))
            .filter_map(|l| l.rsplit('=').next().map(|v| v.trim().to_string()))
            .collect()
    };
    // The parameter sets are traced twice (as extradata, then in the first packet).
    let all = |name: &str, v: &str, count: usize| {
        let got = value(name);
        assert!(
            got.len() == count && got.iter().all(|g| g == v),
            "{name}: {got:?}, expected {count} times {v}"
        );
    };
    all("pcm_enabled_flag", "1", 2);
    all("log2_min_luma_coding_block_size_minus3", "1", 2);
    all("log2_diff_max_min_luma_coding_block_size", "0", 2);
    all("pcm_loop_filter_disabled_flag", "1", 2);
    all("sample_adaptive_offset_enabled_flag", "0", 2);
    all("first_slice_segment_in_pic_flag", "1", 3);
    // The sample and PCM depths: 8 bits for Main, 10 for Main 10 (its profile in the VPS and
    // the SPS, each traced twice).
    let (depth_minus8, pcm_minus1, idc) = if ten_bit {
        ("2", "9", "2")
    } else {
        ("0", "7", "1")
    };
    all("bit_depth_luma_minus8", depth_minus8, 2);
    all("bit_depth_chroma_minus8", depth_minus8, 2);
    all("pcm_sample_bit_depth_luma_minus1", pcm_minus1, 2);
    all("pcm_sample_bit_depth_chroma_minus1", pcm_minus1, 2);
    all("general_profile_idc", idc, 4);
}

#[test]
fn pcm_pictures_decode_with_ffmpeg_to_exactly_the_input() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent H.265 decoder)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.keep();
    round_trip(&dir, (64, 48), 0, true, false);
    round_trip(&dir, (1920, 1080), -4, false, false);
    // Not a multiple of 16 (nor of 8): the driver rounds the coded size up and crops.
    round_trip(&dir, (40, 22), 6, false, false);
}

#[test]
fn main_10_pcm_pictures_decode_with_ffmpeg_to_exactly_the_ten_bit_input() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent H.265 decoder)");
        return;
    }
    // The pattern uses all ten bits: an 8-bit path (or one reading the words' low bits)
    // cannot give it back.
    let (luma, chroma) = pattern10(64, 48, 1);
    let values: Vec<u16> = luma
        .chunks(2)
        .chain(chroma.chunks(2))
        .map(|b| u16::from_le_bytes([b[0], b[1]]) >> 6)
        .collect();
    assert_eq!(values.iter().min(), Some(&0));
    assert_eq!(values.iter().max(), Some(&1023));
    assert!(values.iter().filter(|v| *v % 4 != 0).count() > values.len() / 2);
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.keep();
    round_trip(&dir, (64, 48), 0, true, true);
    round_trip(&dir, (1920, 1080), -4, false, true);
    round_trip(&dir, (40, 22), 6, false, true);
}
