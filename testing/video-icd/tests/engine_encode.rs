//! GhostStream's Vulkan Video encoder (`ghoststream::gpu::video::encoder`) on the test driver:
//! a 300-picture H.264 session and a 300-picture H.265 session, pictures uploaded on the compute
//! queue, handed to the encode queue, encoded as IDR and P pictures (the driver writes PCM
//! blocks, so what it encodes is exactly what it was given), with a forced IDR and rate changes
//! (CBR → VBR → constant QP) on the way; each stream (the driver's parameter sets before each
//! IDR) is decoded by FFmpeg and compared with the input pictures byte for byte. Under the 1.4 validation layer (as `make test` runs it) the layer must stay silent.
//!
//! One test in this binary: the environment names the driver before any Vulkan call.

mod common;

use std::process::Command;

use common::{install_driver, skip};
use ghoststream::gpu::video::encoder::{Nv12Input, VideoEncoder, VideoRate};
use ghoststream::gpu::video::h264::H264Parameters;
use ghoststream::gpu::video::h265::H265Parameters;
use ghoststream::gpu::video::session::SessionParameters;
use ghoststream::gpu::video::VideoStream;
use ghoststream::gpu::{DeviceSelector, GpuContext, GpuOptions};
use ghoststream::RateControl;
use ghoststream::{ColorDescription, Rational};

/// Picture `n` of a `w` x `h` NV12 stream: gradients that move with `n`, distinct per frame.
#[expect(
    clippy::cast_possible_truncation,
    reason = "every sample is reduced modulo 220 or 200 and offset below 256"
)]
fn picture(n: usize, w: usize, h: usize) -> Vec<u8> {
    let mut p = vec![0u8; w * h * 3 / 2];
    for y in 0..h {
        for x in 0..w {
            p[y * w + x] = ((x * 3 + y * 5 + n * 17) % 220 + 16) as u8;
        }
    }
    for y in 0..h / 2 {
        for x in 0..w / 2 {
            p[w * h + y * w + 2 * x] = ((x * 7 + n * 29) % 200 + 28) as u8;
            p[w * h + y * w + 2 * x + 1] = ((y * 11 + n * 13) % 200 + 28) as u8;
        }
    }
    p
}

#[test]
fn h264_and_h265_sessions_on_the_test_driver_decode_to_exactly_the_input() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent decoder)");
        return;
    }
    let Some(driver) = install_driver() else {
        return;
    };
    let validated = std::env::var_os("GHOSTSTREAM_REQUIRE_VVL14").is_some();
    let ctx = match GpuContext::new(&GpuOptions {
        device: DeviceSelector::Name("GhostStream test driver".into()),
        validation: validated,
    }) {
        Ok(c) => c,
        Err(e) => {
            skip(&format!("no context on the test driver ({e})"));
            return;
        }
    };
    // 200x120: coded 208x128, so the cropping and the padding are exercised too.
    let (w32, h32) = (200u32, 120u32);
    let rate = VideoRate {
        control: RateControl::Cbr { bitrate: 4_000_000 },
        frame_rate: Rational::new(30, 1),
        buffer_ms: 1000,
        quality_level: 0,
    };
    let stream = VideoStream {
        width: w32,
        height: h32,
        frame_rate: Rational::new(30, 1),
        max_bitrate: 4_000_000,
        color: ColorDescription::BT709,
    };
    let h264 = H264Parameters::new(&stream).unwrap();
    let h265 = H265Parameters::new(&stream).unwrap();
    for (params, name) in [
        (SessionParameters::H264(&h264), "h264"),
        (SessionParameters::H265(&h265), "hevc"),
    ] {
        session(&ctx, params, name, rate, &driver.dir, validated);
    }
}

/// A 300-picture session of `params`' codec (FFmpeg's demuxer `name`) at `rate` and after:
/// encoded, checked for validation messages, decoded and compared with its input.
fn session(
    ctx: &std::sync::Arc<GpuContext>,
    params: SessionParameters<'_>,
    name: &str,
    rate: VideoRate,
    dir: &tempfile::TempDir,
    validated: bool,
) {
    let (w, h) = (200usize, 120usize);
    let (w32, h32) = (200u32, 120u32);
    let mut encoder = VideoEncoder::new(ctx, params, rate).expect("the encoder opens");
    assert_eq!(encoder.coded_size(), (208, 128));
    let frames = 300;
    let mut stream = Vec::new();
    let mut idrs = Vec::new();
    let mut inputs = Vec::new();
    for n in 0..frames {
        // Live rate changes: recorded in the next coding scope, no IDR.
        if n == 100 {
            encoder
                .set_rate(VideoRate {
                    control: RateControl::Vbr {
                        target: 2_000_000,
                        max: 3_000_000,
                    },
                    ..rate
                })
                .expect("the device takes VBR");
        }
        if n == 200 {
            encoder
                .set_rate(VideoRate {
                    control: RateControl::Cqp { qp: 30 },
                    ..rate
                })
                .expect("the device takes constant QP");
        }
        let p = picture(n, w, h);
        let input = Nv12Input {
            luma: &p[..w * h],
            luma_stride: w,
            chroma: &p[w * h..],
            chroma_stride: w,
            width: w32,
            height: h32,
        };
        // Frame 280 is a forced IDR (after frame_num has wrapped at 256).
        let encoded = encoder
            .encode(input, n == 280)
            .expect("the picture encodes");
        assert!(!encoded.data.is_empty(), "frame {n} wrote no bytes");
        if encoded.idr {
            stream.extend_from_slice(encoder.parameter_sets());
        }
        idrs.push(encoded.idr);
        stream.extend_from_slice(&encoded.data);
        inputs.push(p);
    }
    let want: Vec<bool> = (0..frames).map(|n| n == 0 || n == 280).collect();
    assert_eq!(
        idrs, want,
        "{name}: IDR at the start and where forced, nowhere else"
    );
    drop(encoder);
    if validated {
        let messages = ctx.take_validation_messages();
        assert!(
            messages.is_empty(),
            "validation layer 1.4 ({name}):\n{}",
            messages.join("\n")
        );
    }

    // The slices as FFmpeg sees them: I slices at the IDRs, P slices between.
    let path = dir.path().join(format!("stream.{name}"));
    std::fs::write(&path, &stream).unwrap();
    let out = dir.path().join(format!("{name}.nv12"));
    let run = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-f", name, "-i"])
        .arg(&path)
        .args(["-f", "rawvideo", "-pix_fmt", "nv12", "-y"])
        .arg(&out)
        .output()
        .expect("ffmpeg runs");
    assert!(
        run.status.success() && run.stderr.is_empty(),
        "ffmpeg decodes the {name} stream without complaint: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let decoded = std::fs::read(&out).unwrap();
    let size = w * h * 3 / 2;
    assert_eq!(decoded.len(), frames * size, "{frames} decoded frames");
    for (n, (got, want)) in decoded.chunks(size).zip(&inputs).enumerate() {
        if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
            panic!(
                "{name}: decoded frame {n} differs from its input at byte {i}: {} vs {}",
                got[i], want[i]
            );
        }
    }
}
