//! What the FFmpeg round-trip tests share: the NV12 and P010 test patterns and the yuv420p /
//! yuv420p10le FFmpeg gives back for them, FFmpeg runs (decode and compare, header trace), and
//! the BT.709 H.265 VUI.

use std::path::Path;
use std::process::{Command, Output};

use ash::vk::native;
use ghoststream_video_icd::h265;

/// An NV12 picture of `w`x`h` for frame `f`: values that differ from frame to frame, with
/// rows of 0 and 1 samples so that the slice data needs emulation prevention.
pub fn pattern(w: usize, h: usize, f: usize) -> (Vec<u8>, Vec<u8>) {
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

/// Appends what the decoder outputs for an NV12 picture whose planes are `stride` samples
/// wide: the `width`x`height` picture, cropped, as yuv420p.
pub fn push_yuv420p(
    expected: &mut Vec<u8>,
    (luma, chroma): (&[u8], &[u8]),
    stride: usize,
    width: u32,
    height: u32,
) {
    let (vw, vh) = (width as usize, height as usize);
    for y in 0..vh {
        expected.extend_from_slice(&luma[y * stride..y * stride + vw]);
    }
    for plane in 0..2 {
        for y in 0..vh / 2 {
            expected.extend((0..vw / 2).map(|x| chroma[y * stride + 2 * x + plane]));
        }
    }
}

/// A P010 picture of `w`x`h` for frame `f` (16-bit little-endian words, luma then
/// interleaved Cb, Cr at half size): 10-bit values over the whole range (0 and 1023 among
/// them, most not multiples of 4, so an 8-bit path cannot pass; rows of zeros, so that the
/// slice data needs emulation prevention), each in a word's top 10 bits with the low 6 bits
/// set to junk that a reader must drop.
pub fn pattern10(w: usize, h: usize, f: usize) -> (Vec<u8>, Vec<u8>) {
    let word = |v: usize, x: usize| {
        let v = u16::try_from(v % 1024).unwrap();
        ((v << 6) | u16::try_from((x * 7 + f) % 64).unwrap()).to_le_bytes()
    };
    let sample = |x: usize, y: usize, a: usize, b: usize| match y % 5 {
        // Whole rows at the range's ends, and of zeros (which the slice data must escape).
        1 => 1023 * (x % 2),
        3 => 0,
        _ => x * a + y * b + f * 97 + 1,
    };
    let luma = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .flat_map(|(x, y)| word(sample(x, y, 13, 29), x))
        .collect();
    let chroma = (0..h / 2)
        .flat_map(|y| (0..w / 2).map(move |x| (x, y)))
        .flat_map(|(x, y)| {
            [
                word(sample(x, y, 7, 41), x),
                word(sample(x, y, 19, 3) + 300, x + 1),
            ]
            .concat()
        })
        .collect();
    (luma, chroma)
}

/// Appends what the decoder outputs as yuv420p10le for a P010 picture whose planes are
/// `stride` samples wide: the `width`x`height` picture, cropped, each sample a 16-bit
/// little-endian word holding the 10-bit value in its low bits.
pub fn push_yuv420p10(
    expected: &mut Vec<u8>,
    (luma, chroma): (&[u8], &[u8]),
    stride: usize,
    width: u32,
    height: u32,
) {
    let (vw, vh) = (width as usize, height as usize);
    let value = |plane: &[u8], i: usize| {
        (u16::from_le_bytes([plane[2 * i], plane[2 * i + 1]]) >> 6).to_le_bytes()
    };
    for y in 0..vh {
        expected.extend((0..vw).flat_map(|x| value(luma, y * stride + x)));
    }
    for plane in 0..2 {
        for y in 0..vh / 2 {
            expected.extend((0..vw / 2).flat_map(|x| value(chroma, y * stride + 2 * x + plane)));
        }
    }
}

/// FFmpeg with `args`, logging at `level`.
pub fn ffmpeg(level: &str, args: &[&str]) -> Output {
    Command::new("ffmpeg")
        .args(["-nostdin", "-nostats", "-hide_banner", "-v", level])
        .args(args)
        .output()
        .expect("ffmpeg runs")
}

/// Writes `stream` to `dir/pcm-WxH.ext`, decodes it with FFmpeg (silent, or it fails) and
/// checks that exactly `frames` frames come back, every byte equal to `expected` (yuv420p).
/// Returns the stream's path.
pub fn decode_and_compare(
    dir: &Path,
    ext: &str,
    stream: &[u8],
    size: (u32, u32),
    frames: usize,
    expected: &[u8],
) -> String {
    decode_and_compare_as(dir, ext, stream, size, frames, expected, "yuv420p")
}

/// [`decode_and_compare`] with FFmpeg's output in `pix_fmt` (yuv420p10le for 10 bits: every
/// sample a little-endian 16-bit word).
pub fn decode_and_compare_as(
    dir: &Path,
    ext: &str,
    stream: &[u8],
    (width, height): (u32, u32),
    frames: usize,
    expected: &[u8],
    pix_fmt: &str,
) -> String {
    let input = dir.join(format!("pcm-{width}x{height}-{pix_fmt}.{ext}"));
    std::fs::write(&input, stream).unwrap();
    let input = input.to_str().unwrap().to_string();

    let output = dir.join(format!("pcm-{width}x{height}-{pix_fmt}.yuv"));
    let out = ffmpeg(
        "error",
        &[
            "-i",
            &input,
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            pix_fmt,
            output.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "ffmpeg decode: {stderr}"
    );
    let decoded = std::fs::read(&output).unwrap();
    let frame_bytes = expected.len() / frames;
    assert_eq!(
        decoded.len() / frame_bytes,
        frames,
        "{width}x{height}: {frames} frames decoded"
    );
    assert_eq!(
        decoded.len(),
        expected.len(),
        "{width}x{height}: {frames} frames decoded"
    );
    if let Some(i) = decoded.iter().zip(expected).position(|(a, b)| a != b) {
        panic!(
            "{width}x{height}: byte {i} (frame {}, offset {}) decoded as {} but {} was encoded",
            i / frame_bytes,
            i % frame_bytes,
            decoded[i],
            expected[i]
        );
    }
    input
}

/// FFmpeg's header tracer (`-bsf:v trace_headers`, an independent syntax reader) over `input`,
/// logging at `level`.
pub fn trace_headers(level: &str, input: &str) -> Output {
    ffmpeg(
        level,
        &[
            "-i",
            input,
            "-c:v",
            "copy",
            "-bsf:v",
            "trace_headers",
            "-f",
            "null",
            "-",
        ],
    )
}

/// An H.265 VUI with BT.709 colour (video format 5, unspecified) and timing of one tick in
/// `time_scale`.
pub fn h265_bt709_vui(time_scale: u32) -> native::StdVideoH265SequenceParameterSetVui {
    let mut vui_flags = h265::no_vui_flags();
    vui_flags.set_video_signal_type_present_flag(1);
    vui_flags.set_colour_description_present_flag(1);
    vui_flags.set_vui_timing_info_present_flag(1);
    native::StdVideoH265SequenceParameterSetVui {
        flags: vui_flags,
        aspect_ratio_idc: 0,
        sar_width: 0,
        sar_height: 0,
        video_format: 5,
        colour_primaries: 1,
        transfer_characteristics: 1,
        matrix_coeffs: 1,
        chroma_sample_loc_type_top_field: 0,
        chroma_sample_loc_type_bottom_field: 0,
        reserved1: 0,
        reserved2: 0,
        def_disp_win_left_offset: 0,
        def_disp_win_right_offset: 0,
        def_disp_win_top_offset: 0,
        def_disp_win_bottom_offset: 0,
        vui_num_units_in_tick: 1,
        vui_time_scale: time_scale,
        vui_num_ticks_poc_diff_one_minus1: 0,
        min_spatial_segmentation_idc: 0,
        reserved3: 0,
        max_bytes_per_pic_denom: 0,
        max_bits_per_min_cu_denom: 0,
        log2_max_mv_length_horizontal: 0,
        log2_max_mv_length_vertical: 0,
        pHrdParameters: std::ptr::null(),
    }
}
