//! The driver's H.264 PCM encoder against FFmpeg, an independent decoder: the library's own
//! parameter sets (High profile, POC type 2, VUI, cropping) written by the driver, then an IDR
//! and two P pictures of distinct NV12 patterns, decode to exactly the input samples (cropped
//! as the SPS says), three frames, and FFmpeg's header tracer reads the stream without error.

mod common;

use std::path::Path;
use std::process::Command;

use ash::vk::native;
use common::ffmpeg::{decode_and_compare, pattern, push_yuv420p, trace_headers};
use common::skip;
use ghoststream::gpu::video::h264::H264Parameters;
use ghoststream::gpu::video::VideoStream;
use ghoststream::{ColorDescription, Rational};
use ghoststream_video_icd::h264::{Pps, Sps, Vui};
use ghoststream_video_icd::h264_pcm::{encode_picture, Nv12Picture};

fn picture_info(frame: u32) -> native::StdVideoEncodeH264PictureInfo {
    let mut flags = native::StdVideoEncodeH264PictureInfoFlags {
        _bitfield_align_1: [],
        _bitfield_1: native::__BindgenBitfieldUnit::new([0; 4]),
    };
    flags.set_IdrPicFlag(u32::from(frame == 0));
    flags.set_is_reference(1);
    native::StdVideoEncodeH264PictureInfo {
        flags,
        seq_parameter_set_id: 0,
        pic_parameter_set_id: 0,
        idr_pic_id: 0,
        primary_pic_type: if frame == 0 {
            native::StdVideoH264PictureType_STD_VIDEO_H264_PICTURE_TYPE_IDR
        } else {
            native::StdVideoH264PictureType_STD_VIDEO_H264_PICTURE_TYPE_P
        },
        frame_num: frame,
        PicOrderCnt: i32::try_from(2 * frame).unwrap(),
        temporal_id: 0,
        reserved1: [0; 3],
        pRefLists: std::ptr::null(),
    }
}

fn slice_info(frame: u32) -> native::StdVideoEncodeH264SliceHeader {
    native::StdVideoEncodeH264SliceHeader {
        flags: native::StdVideoEncodeH264SliceHeaderFlags {
            _bitfield_align_1: [],
            _bitfield_1: native::__BindgenBitfieldUnit::new([0; 4]),
        },
        first_mb_in_slice: 0,
        slice_type: if frame == 0 {
            native::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_I
        } else {
            native::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_P
        },
        slice_alpha_c0_offset_div2: 0,
        slice_beta_offset_div2: 0,
        slice_qp_delta: 0,
        reserved1: 0,
        cabac_init_idc: 0,
        disable_deblocking_filter_idc: 0,
        pWeightTable: std::ptr::null(),
    }
}

/// Encodes three frames of `width`x`height` with the library's parameter sets, decodes them
/// with FFmpeg and compares every sample.
fn round_trip(dir: &Path, width: u32, height: u32) {
    let params = H264Parameters::new(&VideoStream {
        width,
        height,
        frame_rate: Rational::new(30, 1),
        max_bitrate: 8_000_000,
        color: ColorDescription::BT709,
        bit_depth: ghoststream::BitDepth::Eight,
    })
    .unwrap();
    // CABAC asked for, as the library does for High profile; the driver writes CAVLC.
    assert_eq!(params.pps.flags.entropy_coding_mode_flag(), 1);
    let sps = Sps::from_std(
        &params.sps,
        &[],
        Some(Vui::from_std(&params.vui, None).unwrap()),
    )
    .unwrap();
    let pps = Pps::from_std(&params.pps).unwrap();
    assert!(pps.overrides());
    assert_eq!(sps.cropped_size(), (width, height));
    let (cw, ch) = (width.div_ceil(16) * 16, height.div_ceil(16) * 16);
    let (w, h) = (cw as usize, ch as usize);

    let mut stream = sps.nal();
    stream.extend(pps.nal());
    let mut expected = Vec::new();
    let mut emulation_bytes = 0;
    for frame in 0..3u32 {
        let (luma, chroma) = pattern(w, h, frame as usize);
        let au = encode_picture(
            &params.sps,
            &params.pps,
            &picture_info(frame),
            &slice_info(frame),
            &Nv12Picture {
                luma: &luma,
                luma_stride: w,
                chroma: &chroma,
                chroma_stride: w,
                width: cw,
                height: ch,
            },
        );
        assert_eq!(
            au[..5],
            [0, 0, 0, 1, if frame == 0 { 0x65 } else { 0x41 }],
            "frame {frame}: start code, nal_ref_idc, type"
        );
        emulation_bytes += au.windows(3).filter(|b| *b == [0, 0, 3]).count();
        stream.extend(au);
        push_yuv420p(&mut expected, (&luma, &chroma), w, width, height);
    }
    assert!(
        emulation_bytes > 0,
        "the pattern exercises emulation prevention"
    );
    let input = decode_and_compare(dir, "h264", &stream, (width, height), 3, &expected);
    let out = trace_headers("error", &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "ffmpeg trace_headers: {stderr}"
    );
}

#[test]
fn pcm_pictures_decode_with_ffmpeg_to_exactly_the_input() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent H.264 decoder)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    round_trip(dir.path(), 64, 48);
    round_trip(dir.path(), 1920, 1080);
}
