//! The driver's H.264 PCM encoder against FFmpeg, an independent decoder: the library's own
//! parameter sets (High profile, POC type 2, VUI, cropping) written by the driver, then an IDR
//! and two P pictures of distinct NV12 patterns, decode to exactly the input samples (cropped
//! as the SPS says), three frames, and FFmpeg's header tracer reads the stream without error.

mod common;

use std::path::Path;
use std::process::Command;

use ash::vk::native;
use common::skip;
use ghoststream::gpu::video::h264::H264Parameters;
use ghoststream::gpu::video::VideoStream;
use ghoststream::{ColorDescription, Rational};
use ghoststream_video_icd::h264::{Pps, Sps, Vui};
use ghoststream_video_icd::h264_pcm::{encode_picture, Nv12Picture};

/// An NV12 picture of `w`x`h` for frame `f`: values that differ from frame to frame, with
/// rows of 0 and 1 samples so that the slice data needs emulation prevention.
fn pattern(w: usize, h: usize, f: usize) -> (Vec<u8>, Vec<u8>) {
    let sample = |x: usize, y: usize, a: usize, b: usize| -> u8 {
        if y % 7 == 3 {
            u8::from(x % 3 == 2)
        } else {
            u8::try_from((x * a + y * b + f * 37) % 256).unwrap()
        }
    };
    let luma = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| sample(x, y, 5, 11))
        .collect();
    let chroma = (0..h / 2)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| {
            if x % 2 == 0 {
                sample(x / 2, y, 3, 17)
            } else {
                sample(x / 2, y, 13, 7).wrapping_add(90)
            }
        })
        .collect();
    (luma, chroma)
}

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

fn ffmpeg(args: &[&str]) -> std::process::Output {
    Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-v", "error"])
        .args(args)
        .output()
        .expect("ffmpeg runs")
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
        // What the decoder outputs: the cropped picture as yuv420p.
        let (vw, vh) = (width as usize, height as usize);
        for y in 0..vh {
            expected.extend_from_slice(&luma[y * w..y * w + vw]);
        }
        for plane in 0..2 {
            for y in 0..vh / 2 {
                expected.extend((0..vw / 2).map(|x| chroma[y * w + 2 * x + plane]));
            }
        }
    }
    assert!(
        emulation_bytes > 0,
        "the pattern exercises emulation prevention"
    );
    let input = dir.join(format!("pcm-{width}x{height}.h264"));
    std::fs::write(&input, &stream).unwrap();
    let input = input.to_str().unwrap();

    let output = dir.join(format!("pcm-{width}x{height}.yuv"));
    let out = ffmpeg(&[
        "-i",
        input,
        "-fps_mode",
        "passthrough",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        output.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "ffmpeg decode: {stderr}"
    );
    let decoded = std::fs::read(&output).unwrap();
    let frame_bytes = expected.len() / 3;
    assert_eq!(
        decoded.len() / frame_bytes,
        3,
        "{width}x{height}: three frames decoded"
    );
    assert_eq!(decoded.len(), expected.len());
    if let Some(i) = decoded.iter().zip(&expected).position(|(a, b)| a != b) {
        panic!(
            "{width}x{height}: byte {i} (frame {}, offset {}) decoded as {} but {} was encoded",
            i / frame_bytes,
            i % frame_bytes,
            decoded[i],
            expected[i]
        );
    }

    let out = ffmpeg(&[
        "-i",
        input,
        "-c:v",
        "copy",
        "-bsf:v",
        "trace_headers",
        "-f",
        "null",
        "-",
    ]);
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
