//! GhostStream's own H.264 encode session (`ghoststream::gpu::video`) on the test driver through
//! the real loader: the context's video-encode queue, the session with its memory bound, the
//! session parameters made from the library's H.264 parameter sets, and the SPS/PPS the driver
//! encodes from them, read back by FFmpeg (an independent reader) and by the project's own SPS
//! parser: profile, level, size and cropping as the library chose them.
//!
//! One test in this binary: the environment names the driver before any Vulkan call.

mod common;

use std::process::Command;

use common::skip;
use ghoststream::gpu::video::h264::H264Parameters;
use ghoststream::gpu::video::session::{EncodeSession, SessionParameters};
use ghoststream::gpu::video::VideoStream;
use ghoststream::gpu::GpuContext;
use ghoststream::{ColorDescription, Rational};

#[test]
fn the_engines_h264_session_makes_parameter_sets_ffmpeg_reads_back() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent H.264 reader)");
        return;
    }
    // Before any Vulkan call, and the only test of this binary.
    let Some((driver, ctx, validated)) = common::engine::driver_context() else {
        return;
    };
    let dir = &driver.dir;
    let stream = VideoStream {
        width: 1920,
        height: 1080,
        frame_rate: Rational::new(60, 1),
        max_bitrate: 12_000_000,
        color: ColorDescription::BT709,
        bit_depth: ghoststream::BitDepth::Eight,
    };
    let params = H264Parameters::new(&stream).unwrap();
    assert_eq!(params.level, "4.2");
    let session =
        EncodeSession::new(&ctx, SessionParameters::H264(&params)).expect("the session is made");
    let bytes = session.encoded_parameters().expect("the parameter sets");
    // The pictures one frame in flight needs, made for the session's profile and size.
    let pictures = session.pictures().expect("the encode pictures");
    assert_ne!(pictures.input_image(), ash::vk::Image::null());
    let references = pictures.reference_images();
    assert_eq!(references.len(), 2, "two DPB slots without B pictures");
    assert!(references[0] != ash::vk::Image::null() && references[1] != references[0]);
    // The raw picture plus 64 KiB of headers, in whole pages.
    let region = (1920 * 1088 * 3 / 2 + 64 * 1024_u64).next_multiple_of(4096);
    assert_eq!(pictures.bitstream_size(), region);
    drop(pictures);
    drop(session);
    if validated {
        let messages = ctx.take_validation_messages();
        assert!(
            messages.is_empty(),
            "validation layer 1.4:\n{}",
            messages.join("\n")
        );
    }

    // The project's own SPS reader.
    let sps = ghoststream::bitstream::nal::AnnexBNals::new(&bytes)
        .find(|n| n.first().is_some_and(|b| b & 0x1f == 7))
        .expect("an SPS NAL unit");
    let info = ghoststream::bitstream::avc::parse_sps(sps).unwrap();
    assert_eq!((info.profile_idc, info.level_idc), (100, 42));

    // FFmpeg's own reading of the parameter sets (its trace_headers filter): profile, level,
    // size in macroblocks, cropping and the VUI's colour.
    let path = dir.path().join("parameters.h264");
    std::fs::write(&path, &bytes).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "info", "-f", "h264", "-i"])
        .arg(&path)
        .args(["-c:v", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let value = |name: &str| -> i64 {
        let found: Vec<i64> = stderr
            .lines()
            .filter(|l| l.starts_with("[trace_headers"))
            .filter(|l| l.split_whitespace().any(|w| w == name))
            .filter_map(|l| l.rsplit_once(" = ")?.1.trim().parse().ok())
            .collect();
        assert_eq!(found.len(), 1, "{name} once in FFmpeg's trace:\n{stderr}");
        found[0]
    };
    assert_eq!(value("profile_idc"), 100);
    assert_eq!(value("level_idc"), 42);
    assert_eq!(value("pic_width_in_mbs_minus1"), 119);
    assert_eq!(value("pic_height_in_map_units_minus1"), 67);
    assert_eq!(value("frame_crop_bottom_offset"), 4);
    assert_eq!(value("colour_primaries"), 1);
    // The library asks for CABAC; the driver writes CAVLC (its PCM slices), an override.
    assert_eq!(value("entropy_coding_mode_flag"), 0);

    h265_session_on(&ctx, dir.path(), validated);
}

/// The same for H.265: the library's VPS/SPS/PPS make a session on the driver, and the
/// parameter sets it encodes are read back by FFmpeg: Main profile, the level chosen, the
/// picture size and conformance window, the VUI's colour.
fn h265_session_on(ctx: &std::sync::Arc<GpuContext>, dir: &std::path::Path, validated: bool) {
    use ghoststream::gpu::video::h265::H265Parameters;
    let params = H265Parameters::new(&VideoStream {
        width: 1920,
        height: 1080,
        frame_rate: Rational::new(60, 1),
        max_bitrate: 12_000_000,
        color: ColorDescription::BT709,
        bit_depth: ghoststream::BitDepth::Eight,
    })
    .unwrap();
    let session = EncodeSession::new(ctx, SessionParameters::H265(&params))
        .expect("the H.265 session is made");
    let bytes = session.encoded_parameters().expect("the parameter sets");
    drop(session);
    if validated {
        let messages = ctx.take_validation_messages();
        assert!(
            messages.is_empty(),
            "validation layer 1.4 (H.265):\n{}",
            messages.join("\n")
        );
    }
    let path = dir.join("parameters.h265");
    std::fs::write(&path, &bytes).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "info", "-f", "hevc", "-i"])
        .arg(&path)
        .args(["-c:v", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Values as the SPS carries them (the VPS repeats the profile: take the SPS's, the last).
    let value = |name: &str| -> i64 {
        stderr
            .lines()
            .filter(|l| l.starts_with("[trace_headers"))
            .filter(|l| l.split_whitespace().any(|w| w == name))
            .filter_map(|l| l.rsplit_once(" = ")?.1.trim().parse().ok())
            .next_back()
            .unwrap_or_else(|| panic!("{name} in FFmpeg's trace:\n{stderr}"))
    };
    assert_eq!(value("general_profile_idc"), 1);
    assert_eq!(
        value("general_level_idc"),
        i64::from(params.general_level_idc())
    );
    assert_eq!(value("pic_width_in_luma_samples"), 1920);
    assert_eq!(value("pic_height_in_luma_samples"), 1088);
    assert_eq!(value("conf_win_bottom_offset"), 4);
    assert_eq!(value("colour_primaries"), 1);
    assert_eq!(value("matrix_coefficients"), 1);
}
