//! The Vulkan Video backend fed in place (`encode_handed_off`), on the test driver: opened on a
//! context with a video-encode queue whose encode input pictures cannot be storage images (the
//! driver told so by GHOSTSTREAM_ICD_PLAIN_INPUTS=1: the pass could not write them), the backend
//! offers hand-off buffers and timelines in the pass's NV12 layout (256-byte rows); each frame is written into the next buffer (here by a
//! transfer, standing in for the session's processing pass, which the test driver cannot run:
//! it has no shader execution), its `ready` value is signalled, and the backend copies it into
//! the encode input image on the GPU, releases the buffer (its `released` value) and encodes
//! it. The H.264 stream decodes with FFmpeg to exactly the frames written; under the 1.4
//! validation layer the layer stays silent. Misuse (a buffer index outside the hand-off) is a
//! typed error. The default preset reaches the driver as quality level 3 of its 7. Each unit carries the encode's GPU time (the driver's encode family writes
//! timestamps).
//!
//! One test in this binary: the environment names the driver before any Vulkan call.

mod common;

use std::process::Command;

use common::skip;
use ghoststream::encode::{open_backend, Feed};
use ghoststream::gpu::{HandedOff, Handoff};
use ghoststream::processing::convert::YuvLayout;
use ghoststream::{BackendChoice, BackendKind, Codec, PixelFormat, Rational, SessionConfig};

/// Frame `n`, `w` x `h`, as tight NV12 (what the decoder gives back) and in `layout`.
#[expect(
    clippy::cast_possible_truncation,
    reason = "every sample is reduced modulo 220 or 200 and offset below 256"
)]
fn frame(n: usize, w: usize, h: usize, layout: &YuvLayout) -> (Vec<u8>, Vec<u8>) {
    let mut tight = vec![0u8; w * h * 3 / 2];
    let mut laid = vec![0u8; layout.size as usize];
    let (pitch, chroma_pitch) = (layout.luma_pitch as usize, layout.chroma_pitch as usize);
    let chroma_offset = layout.chroma_offset as usize;
    for y in 0..h {
        for x in 0..w {
            let v = ((x * 3 + y * 5 + n * 17) % 220 + 16) as u8;
            tight[y * w + x] = v;
            laid[y * pitch + x] = v;
        }
    }
    for y in 0..h / 2 {
        for x in 0..w / 2 {
            let (u, v) = (
                ((x * 7 + n * 29) % 200 + 28) as u8,
                ((y * 11 + n * 13) % 200 + 28) as u8,
            );
            tight[w * h + y * w + 2 * x] = u;
            tight[w * h + y * w + 2 * x + 1] = v;
            laid[chroma_offset + y * chroma_pitch + 2 * x] = u;
            laid[chroma_offset + y * chroma_pitch + 2 * x + 1] = v;
        }
    }
    (tight, laid)
}

#[test]
fn frames_handed_over_on_the_device_encode_to_exactly_what_was_written() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent decoder)");
        return;
    }
    // Before any Vulkan call: the driver reads it when the format query comes.
    std::env::set_var("GHOSTSTREAM_ICD_PLAIN_INPUTS", "1");
    let Some((driver, ctx, validated)) = common::engine::driver_context() else {
        return;
    };
    let (w, h, frames) = (200usize, 120usize, 40usize);
    let mut config = SessionConfig::new(Codec::H264, 200, 120, Rational::new(30, 1));
    config.backend = BackendChoice::Only(BackendKind::VulkanVideo);
    let (mut opened, _) =
        open_backend(&config, Feed::Gpu(&ctx)).expect("the Vulkan backend opens on the context");
    let Some(Handoff::Buffers(handoff)) = opened.input.handoff.clone() else {
        panic!("on a context with an encode queue whose inputs are plain images, the backend takes frames in place through buffers");
    };
    assert_eq!(opened.input.format, PixelFormat::Nv12);
    let layout = YuvLayout::new(PixelFormat::Nv12, 200, 120);
    assert!(handoff.buffers.len() >= 2, "room for the pass to run ahead");
    let backend = &mut opened.backend;

    let mut inputs = Vec::new();
    let mut stream = Vec::new();
    let mut keys = Vec::new();
    for n in 0..frames {
        let value = n as u64 + 1;
        let pts = i64::try_from(n).unwrap();
        let buffer = n % handoff.buffers.len();
        // The buffer is free again once the frame that used it was released.
        if n >= handoff.buffers.len() {
            assert!(handoff.released.value().unwrap() >= value - handoff.buffers.len() as u64);
        }
        let (tight, laid) = frame(n, w, h, &layout);
        handoff.buffers[buffer].upload(&laid).unwrap();
        handoff.ready.signal(value).unwrap();
        if n == 25 {
            backend.force_keyframe().unwrap();
        }
        backend
            .encode_handed_off(
                HandedOff {
                    target: buffer,
                    value,
                },
                pts,
            )
            .expect("the handed-over frame encodes");
        assert_eq!(
            handoff.released.value().unwrap(),
            value,
            "frame {n}'s buffer is released once copied"
        );
        while let Some(unit) = backend.receive().unwrap() {
            assert_eq!(unit.pts, pts);
            // The driver's encode family writes timestamps: each unit says when it ran.
            let gpu = unit.gpu_time.expect("the encode's GPU time");
            assert!(gpu.duration_ns > 0.0, "frame {n}: {gpu:?}");
            keys.push(unit.keyframe);
            stream.extend_from_slice(&unit.data);
        }
        inputs.push(tight);
    }
    let want: Vec<bool> = (0..frames).map(|n| n == 0 || n == 25).collect();
    assert_eq!(keys, want, "IDR at the start and where forced");

    // A buffer the hand-off does not have is refused, naming it.
    let e = backend
        .encode_handed_off(
            HandedOff {
                target: 7,
                value: frames as u64 + 1,
            },
            i64::try_from(frames).unwrap(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("hand-off buffer 7 of 3"), "{e}");
    drop(opened);

    // A layout whose planes do not fit the buffer (or overlap) is refused before any copy is
    // recorded: the hand-off's fields are public, the GPU must never read past the buffer.
    {
        use ghoststream::gpu::video::encoder::{HandoffPicture, VideoEncoder, VideoRate};
        use ghoststream::gpu::video::h264::H264Parameters;
        use ghoststream::gpu::video::session::SessionParameters;
        use ghoststream::gpu::video::VideoStream;
        use ghoststream::gpu::{ExportableBuffer, ExportableTimeline};
        let params = H264Parameters::new(&VideoStream {
            width: 200,
            height: 120,
            frame_rate: Rational::new(30, 1),
            max_bitrate: 4_000_000,
            color: ghoststream::ColorDescription::BT709,
            bit_depth: ghoststream::BitDepth::Eight,
        })
        .unwrap();
        let rate = VideoRate {
            control: ghoststream::RateControl::Cbr { bitrate: 4_000_000 },
            frame_rate: Rational::new(30, 1),
            buffer_ms: 1000,
            quality_level: 0,
        };
        let mut encoder = VideoEncoder::new(&ctx, SessionParameters::H264(&params), rate).unwrap();
        let buffer = ExportableBuffer::unshared(&ctx, u64::from(layout.size)).unwrap();
        let (ready, released) = (
            ExportableTimeline::unshared(&ctx, 0).unwrap(),
            ExportableTimeline::unshared(&ctx, 0).unwrap(),
        );
        for bad in [
            YuvLayout {
                chroma_offset: layout.size - layout.chroma_pitch,
                ..layout
            },
            YuvLayout {
                chroma_offset: layout.luma_pitch * 60,
                ..layout
            },
        ] {
            let e = encoder
                .encode_handed_off(
                    HandoffPicture {
                        buffer: &buffer,
                        layout: &bad,
                        ready: &ready,
                        released: &released,
                        value: 1,
                    },
                    false,
                )
                .unwrap_err()
                .to_string();
            assert!(e.contains("must hold both planes"), "{e}");
        }
        assert_eq!(released.value().unwrap(), 0, "nothing was submitted");
        // A quality level the device does not have is refused by name before a session is made.
        let e = VideoEncoder::new(
            &ctx,
            SessionParameters::H264(&params),
            VideoRate {
                quality_level: 7,
                ..rate
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("quality level 7") && e.contains("levels 0 to 6"),
            "{e}"
        );
    }
    drop(handoff);
    if validated {
        let messages = ctx.take_validation_messages();
        assert!(
            messages.is_empty(),
            "validation layer 1.4:\n{}",
            messages.join("\n")
        );
    }

    // The default preset (P4) on the driver's 7 quality levels is level 3: the session
    // parameters are made for it and the first control command sets it.
    let calls = ghoststream_video_icd::log::read(&driver.log).unwrap();
    assert!(
        calls
            .iter()
            .any(|c| c.name == "vkCreateVideoSessionParametersKHR"
                && c.detail.contains("quality=Some(3)")),
        "session parameters made for quality level 3"
    );
    assert!(
        calls.iter().any(|c| c.name == "execute"
            && c.detail.starts_with("vkCmdControlVideoCodingKHR")
            && c.detail.contains("quality=3")),
        "the control command sets quality level 3"
    );

    let path = driver.dir.path().join("handoff.h264");
    std::fs::write(&path, &stream).unwrap();
    let out = driver.dir.path().join("handoff.nv12");
    let run = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-f",
            "h264",
            "-i",
        ])
        .arg(&path)
        .args(["-f", "rawvideo", "-pix_fmt", "nv12", "-y"])
        .arg(&out)
        .output()
        .expect("ffmpeg runs");
    assert!(
        run.status.success() && run.stderr.is_empty(),
        "ffmpeg decodes the stream without complaint: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let decoded = std::fs::read(&out).unwrap();
    let size = w * h * 3 / 2;
    assert_eq!(decoded.len(), frames * size, "{frames} decoded frames");
    for (n, (got, want)) in decoded.chunks(size).zip(&inputs).enumerate() {
        if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
            panic!(
                "decoded frame {n} differs from what was handed over at byte {i}: {} vs {}",
                got[i], want[i]
            );
        }
    }

    // The coded picture (208x128) past the crop: its padding repeats the last row and column
    // of what was handed over (copied on the GPU), as FFmpeg shows with the crop ignored.
    let (cw, ch) = (208usize, 128usize);
    let uncropped = driver.dir.path().join("handoff-coded.nv12");
    let run = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-flags2",
            "+ignorecrop",
        ])
        .args(["-f", "h264", "-i"])
        .arg(&path)
        .args(["-f", "rawvideo", "-pix_fmt", "nv12", "-y"])
        .arg(&uncropped)
        .output()
        .expect("ffmpeg runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let coded = std::fs::read(&uncropped).unwrap();
    let coded_size = cw * ch * 3 / 2;
    assert_eq!(coded.len(), frames * coded_size, "{frames} coded pictures");
    for (n, (got, input)) in coded.chunks(coded_size).zip(&inputs).enumerate() {
        let luma = |x: usize, y: usize| input[y.min(h - 1) * w + x.min(w - 1)];
        let chroma = |x: usize, y: usize, c: usize| {
            input[w * h + y.min(h / 2 - 1) * w + 2 * x.min(w / 2 - 1) + c]
        };
        for y in 0..ch {
            for x in 0..cw {
                assert_eq!(got[y * cw + x], luma(x, y), "frame {n}: luma ({x}, {y})");
            }
        }
        for y in 0..ch / 2 {
            for x in 0..cw / 2 {
                for c in 0..2 {
                    assert_eq!(
                        got[cw * ch + y * cw + 2 * x + c],
                        chroma(x, y, c),
                        "frame {n}: chroma ({x}, {y}) component {c}"
                    );
                }
            }
        }
    }
}
