//! GhostStream's Vulkan Video encoder (`ghoststream::gpu::video::encoder`) on the test driver:
//! a 300-picture H.264 session and a 300-picture H.265 session, pictures uploaded on the compute
//! queue, handed to the encode queue, encoded as IDR and P pictures (the driver writes PCM
//! blocks, so what it encodes is exactly what it was given), with a forced IDR and rate changes
//! (CBR → VBR → constant QP) on the way; each stream (the driver's parameter sets before each
//! IDR) is decoded by FFmpeg and compared with the input pictures byte for byte. A 300-frame AV1
//! session runs the same plan; its frames are not real tiles (the driver's AV1 is structural), so
//! its stream is read by GhostStream's OBU walker and by FFmpeg's header tracer instead: a
//! temporal delimiter per frame, the sequence header before each key frame, and each frame
//! header's type, order hint and size as encoded. H.264 and H.265 run once more with two B
//! pictures between P pictures (302 pictures): the coding order, FFmpeg's picture types and
//! the decoded pictures in display order are checked. Under the 1.4 validation layer (as `make
//! test` runs it) the layer must stay silent.
//!
//! One test in this binary: the environment names the driver before any Vulkan call.

mod common;

use std::process::Command;

use common::engine::picture;
use common::skip;
use ghoststream::bitstream::obu;
use ghoststream::gpu::video::av1_sequence::Av1Parameters;
use ghoststream::gpu::video::encoder::{EncoderOptions, PictureInput, VideoEncoder, VideoRate};
use ghoststream::gpu::video::h264::H264Parameters;
use ghoststream::gpu::video::h265::H265Parameters;
use ghoststream::gpu::video::session::SessionParameters;
use ghoststream::gpu::video::PictureKind;
use ghoststream::gpu::video::VideoStream;
use ghoststream::gpu::GpuContext;
use ghoststream::{ColorDescription, Rational};
use ghoststream::{RateControl, Tuning};

#[test]
fn h264_and_h265_sessions_on_the_test_driver_decode_to_exactly_the_input() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent decoder)");
        return;
    }
    let Some((driver, ctx, validated)) = common::engine::driver_context() else {
        return;
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
        bit_depth: ghoststream::BitDepth::Eight,
    };
    let h264 = H264Parameters::new(&stream).unwrap();
    let h265 = H265Parameters::new(&stream).unwrap();
    for (params, name) in [
        (SessionParameters::H264(&h264), "h264"),
        (SessionParameters::H265(&h265), "hevc"),
    ] {
        session(&ctx, params, name, rate, &driver.dir, validated);
    }
    // The same streams with B pictures.
    let (mut h264, mut h265) = (h264, h265);
    h264.allow_b_frames();
    h265.allow_b_frames();
    for (params, name) in [
        (SessionParameters::H264(&h264), "h264"),
        (SessionParameters::H265(&h265), "hevc"),
    ] {
        b_session(&ctx, params, name, rate, &driver.dir, validated);
    }
    // AV1 at 320x180: the driver's AV1 encode starts at 192x128 (NVIDIA-modelled).
    let av1 = Av1Parameters::new(&VideoStream {
        width: 320,
        height: 180,
        ..stream
    })
    .unwrap();
    av1_session(&ctx, &av1, rate, &driver.dir, validated);
}

/// The 300 frames of [`session`]'s plan, encoded, as AV1: the stream (temporal units as the
/// backend writes them) and whether each frame is a key frame.
fn encode_av1(
    ctx: &std::sync::Arc<GpuContext>,
    params: &Av1Parameters,
    rate: VideoRate,
    frames: usize,
) -> (Vec<Vec<u8>>, Vec<bool>) {
    let (w, h) = (320usize, 180usize);
    let mut encoder = VideoEncoder::new(ctx, SessionParameters::Av1(params), rate)
        .expect("the AV1 encoder opens");
    assert_eq!(
        encoder.coded_size(),
        (320, 180),
        "AV1 codes the frame's own size"
    );
    let header = encoder.parameter_sets().to_vec();
    let mut stream = Vec::new();
    let mut keys = Vec::new();
    for (data, idr, _) in run_plan(&mut encoder, (w, h), frames, rate, 120) {
        let mut unit = vec![0x12, 0x00];
        if idr {
            unit.extend_from_slice(&header);
        }
        unit.extend_from_slice(&data);
        stream.push(unit);
        keys.push(idr);
    }
    (stream, keys)
}

/// The plan's live rate changes before picture `n`: VBR from 100, constant QP `qp` from 200.
fn change_rate(encoder: &mut VideoEncoder, n: usize, rate: VideoRate, qp: u32) {
    let control = match n {
        100 => RateControl::Vbr {
            target: 2_000_000,
            max: 3_000_000,
        },
        200 => RateControl::Cqp { qp },
        _ => return,
    };
    encoder
        .set_rate(VideoRate { control, ..rate })
        .expect("the device takes the change");
}

/// NV12 picture `p` of `(w, h)` as the encoder takes it.
fn input(p: &[u8], (w, h): (usize, usize)) -> PictureInput<'_> {
    PictureInput {
        luma: &p[..w * h],
        luma_stride: w,
        chroma: &p[w * h..],
        chroma_stride: w,
        width: u32::try_from(w).unwrap(),
        height: u32::try_from(h).unwrap(),
    }
}

/// The plan every session here runs on `encoder`: `frames` pictures of `size`, VBR from
/// picture 100, constant QP `qp` from 200 (live changes, recorded in the next coding scope, no
/// IDR), a forced IDR at 280 (after H.264's frame_num and AV1's order hint have wrapped at
/// 256). Each picture's bytes as the driver wrote them, whether it is an IDR, and its input.
fn run_plan(
    encoder: &mut VideoEncoder,
    (w, h): (usize, usize),
    frames: usize,
    rate: VideoRate,
    qp: u32,
) -> Vec<(Vec<u8>, bool, Vec<u8>)> {
    let mut out = Vec::with_capacity(frames);
    for n in 0..frames {
        change_rate(encoder, n, rate, qp);
        let p = picture(n, w, h);
        let input = input(&p, (w, h));
        let encoded = encoder
            .encode(input, n == 280)
            .expect("the picture encodes");
        assert!(!encoded.data.is_empty(), "frame {n} wrote no bytes");
        out.push((encoded.data, encoded.idr, p));
    }
    out
}

/// A 300-frame AV1 session: validation, then the stream's structure by two readers.
fn av1_session(
    ctx: &std::sync::Arc<GpuContext>,
    params: &Av1Parameters,
    rate: VideoRate,
    dir: &tempfile::TempDir,
    validated: bool,
) {
    let frames = 300;
    let (temporal_units, keys) = encode_av1(ctx, params, rate, frames);
    let stream = temporal_units.concat();
    let want: Vec<bool> = (0..frames).map(|n| n == 0 || n == 280).collect();
    assert_eq!(keys, want, "av1: key frames at the start and where forced");
    if validated {
        let messages = ctx.take_validation_messages();
        assert!(
            messages.is_empty(),
            "validation layer 1.4 (av1):\n{}",
            messages.join("\n")
        );
    }

    // GhostStream's walker: per frame a delimiter, a header before key frames, then the
    // driver's frame OBU(s).
    let mut units = 0;
    let mut headers = 0;
    let mut frame_obus = 0;
    for o in obu::obus(&stream) {
        let o = o.expect("the stream is whole OBUs");
        match o.obu_type {
            2 => units += 1,
            1 => {
                headers += 1;
                let seq = obu::parse_sequence_header(o.payload).expect("the header parses");
                assert_eq!((seq.profile, seq.max_width, seq.max_height), (0, 320, 180));
                assert_eq!(
                    (seq.bit_depth(), seq.subsampling_x, seq.subsampling_y),
                    (8, true, true)
                );
                assert_eq!(
                    (
                        seq.color_primaries,
                        seq.transfer_characteristics,
                        seq.matrix_coefficients
                    ),
                    (1, 1, 1),
                    "BT.709 as the stream asked"
                );
            }
            // OBU_FRAME, or OBU_FRAME_HEADER + OBU_TILE_GROUP.
            6 | 3 => frame_obus += 1,
            4 => {}
            other => panic!("unexpected OBU type {other} in the stream"),
        }
    }
    assert_eq!((units, headers, frame_obus), (frames, 2, frames));

    // FFmpeg's reading of every frame header.
    // In IVF, whose header gives the frame size: FFmpeg then needs no decoder to set up the
    // stream (the driver's tiles are placeholders; a decoder refuses them).
    let path = dir.path().join("stream.ivf");
    let mut ivf = ghoststream::bitstream::ivf::IvfHeader {
        fourcc: *b"AV01",
        width: 320,
        height: 180,
        timebase_den: 30,
        timebase_num: 1,
        frame_count: u32::try_from(temporal_units.len()).unwrap(),
    }
    .to_bytes()
    .to_vec();
    for (n, unit) in temporal_units.iter().enumerate() {
        let pts = i64::try_from(n).unwrap();
        ivf.extend_from_slice(&ghoststream::bitstream::ivf::frame_header(
            u32::try_from(unit.len()).unwrap(),
            pts,
        ));
        ivf.extend_from_slice(unit);
    }
    std::fs::write(&path, &ivf).unwrap();
    let run = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "info"])
        .args(["-probesize", "32", "-analyzeduration", "0", "-i"])
        .arg(&path)
        .args(["-c:v", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "trace_headers reads the AV1 stream:\n{log}"
    );
    let values = |name: &str| -> Vec<u64> {
        log.lines()
            .filter_map(|l| {
                let rest = l.split_once(&format!(" {name} "))?.1;
                rest.rsplit_once('=')?.1.trim().parse().ok()
            })
            .collect()
    };
    let types = values("frame_type");
    assert_eq!(types.len(), frames, "one frame header per frame:\n{log}");
    for (n, t) in types.iter().enumerate() {
        assert_eq!(
            *t,
            u64::from(!want[n]),
            "frame {n}: KEY_FRAME (0) or INTER_FRAME (1)"
        );
    }
    let hints = values("order_hint");
    let since_key = |n: usize| if n >= 280 { n - 280 } else { n };
    let expected: Vec<u64> = (0..frames).map(|n| (since_key(n) % 256) as u64).collect();
    assert_eq!(
        hints, expected,
        "order hints count frames since the key frame, modulo 256"
    );
    let q = values("base_q_idx");
    assert_eq!(q.len(), frames);
    assert!(
        q[200..].iter().all(|&q| q == 120),
        "constant QP 120 from frame 200: {q:?}"
    );
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
    let mut encoder = VideoEncoder::new(ctx, params, rate).expect("the encoder opens");
    assert_eq!(encoder.coded_size(), (208, 128));
    // The driver offers storage on encode input images: they are planar images, which the CPU
    // path copies into as into plain ones.
    assert!(
        encoder.direct_inputs().is_some(),
        "{name}: planar input images"
    );
    let frames = 300;
    let mut stream = Vec::new();
    let mut idrs = Vec::new();
    let mut inputs = Vec::new();
    for (data, idr, input) in run_plan(&mut encoder, (w, h), frames, rate, 30) {
        if idr {
            stream.extend_from_slice(encoder.parameter_sets());
        }
        idrs.push(idr);
        stream.extend_from_slice(&data);
        inputs.push(input);
    }
    let want: Vec<bool> = (0..frames).map(|n| n == 0 || n == 280).collect();
    assert_eq!(
        idrs, want,
        "{name}: IDR at the start and where forced, nowhere else"
    );
    // A live change past the level the parameter sets were made for is refused, by name.
    let level = params.level_max_bitrate().expect("the level's bitrate");
    let e = encoder
        .set_rate(VideoRate {
            control: RateControl::Cbr { bitrate: level + 1 },
            ..rate
        })
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("encode at {} bit/s", level + 1))
            && e.contains(&format!("level allows {level} bit/s")),
        "{name}: {e}"
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

    decode_exactly(dir, name, &stream, &inputs, (w, h));
}

/// Decodes `stream` (Annex-B, FFmpeg's demuxer `name`) with FFmpeg and compares each frame, in
/// display order, with `inputs` (NV12 pictures of `size`) byte for byte.
fn decode_exactly(
    dir: &tempfile::TempDir,
    name: &str,
    stream: &[u8],
    inputs: &[Vec<u8>],
    (w, h): (usize, usize),
) {
    let path = dir.path().join(format!("stream.{name}"));
    std::fs::write(&path, stream).unwrap();
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
    let frames = inputs.len();
    assert_eq!(decoded.len(), frames * size, "{frames} decoded frames");
    for (n, (got, want)) in decoded.chunks(size).zip(inputs).enumerate() {
        if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
            panic!(
                "{name}: decoded frame {n} differs from its input at byte {i}: {} vs {}",
                got[i], want[i]
            );
        }
    }
}

/// A session with two B pictures between P pictures (as `--tune hq` codes where the device
/// offers them), 302 pictures submitted in display order with the plan's rate changes and a
/// forced IDR at 281 (one picture then waits for a later one: it is coded as a P picture
/// first), the last two coded at the flush. Checks the coding order, the picture types FFmpeg
/// reads, the layer's silence, and the decoded pictures, in display order, against the input.
fn b_session(
    ctx: &std::sync::Arc<GpuContext>,
    params: SessionParameters<'_>,
    name: &str,
    rate: VideoRate,
    dir: &tempfile::TempDir,
    validated: bool,
) {
    let (w, h) = (200usize, 120usize);
    let options = EncoderOptions {
        tuning: Tuning::HighQuality,
        b_frames: 2,
        ..EncoderOptions::default()
    };
    let mut encoder = VideoEncoder::with_options(ctx, params, rate, options)
        .expect("the B-picture encoder opens");
    let frames = 302;
    let mut coded = Vec::new();
    let mut inputs = Vec::new();
    let mut take = |p: ghoststream::gpu::video::encoder::EncodedPicture| {
        assert!(
            !p.data.is_empty(),
            "{name}: picture {} wrote no bytes",
            p.tag
        );
        coded.push(p);
    };
    for n in 0..frames {
        change_rate(&mut encoder, n, rate, 30);
        let p = picture(n, w, h);
        let input = input(&p, (w, h));
        encoder
            .submit(input, n == 281, i64::try_from(n).unwrap())
            .expect("the picture is taken");
        inputs.push(p);
        assert!(
            encoder.pending() <= 4,
            "{name}: at most the two B pictures, their P picture and one more pending, not {}",
            encoder.pending()
        );
        while let Some(p) = encoder.receive(false).expect("a picture reads back") {
            take(p);
        }
    }
    encoder.flush().expect("the held pictures are coded");
    while let Some(p) = encoder.receive(true).expect("a picture reads back") {
        take(p);
    }
    assert_eq!(encoder.pending(), 0);
    let tags: Vec<i64> = coded.iter().map(|p| p.tag).collect();
    let kinds: String = coded
        .iter()
        .map(|p| match p.kind {
            PictureKind::Idr => 'I',
            PictureKind::P => 'P',
            PictureKind::B => 'B',
        })
        .collect();
    assert_eq!(tags.len(), frames, "{name}: every picture comes back once");
    assert_eq!(
        (&tags[..7], &kinds[..7]),
        (&[0, 3, 1, 2, 6, 4, 5][..], "IPBBPBB"),
        "{name}: each P picture before the two B pictures it follows in display order"
    );
    let at = tags.iter().position(|&t| t == 279).unwrap();
    assert_eq!(
        (&tags[at..at + 6], &kinds[at..at + 6]),
        (&[279, 277, 278, 280, 281, 284][..], "PBBPIP"),
        "{name}: the picture waiting at the forced IDR is coded first, as a P picture"
    );
    assert_eq!(
        (&tags[frames - 5..], &kinds[frames - 5..]),
        (&[299, 297, 298, 301, 300][..], "PBBPB"),
        "{name}: the flush codes the last of the held pictures as a P picture"
    );
    let mut stream = Vec::new();
    for p in &coded {
        if p.idr {
            stream.extend_from_slice(encoder.parameter_sets());
        }
        stream.extend_from_slice(&p.data);
    }
    drop(encoder);
    if validated {
        let messages = ctx.take_validation_messages();
        assert!(
            messages.is_empty(),
            "validation layer 1.4 ({name}, B pictures):\n{}",
            messages.join("\n")
        );
    }
    let name_b = format!("{name}-b");
    decode_exactly(dir, name, &stream, &inputs, (w, h));

    // The picture types in display order, as FFmpeg's decoder reports them.
    let path = dir.path().join(format!("stream.{name_b}"));
    std::fs::write(&path, &stream).unwrap();
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-f", name, "-i"])
        .arg(&path)
        .args(["-show_entries", "frame=pict_type", "-of", "csv=p=0"])
        .output()
        .expect("ffprobe runs");
    let types: String = String::from_utf8_lossy(&probe.stdout)
        .lines()
        .map(|l| l.trim().chars().next().unwrap_or('?'))
        .collect();
    let mut by_display: Vec<(i64, char)> = tags
        .iter()
        .zip(kinds.chars())
        .map(|(&t, k)| (t, k))
        .collect();
    by_display.sort_unstable();
    let want: String = by_display.iter().map(|&(_, k)| k).collect();
    assert_eq!(
        types, want,
        "{name}: FFmpeg reads each picture's type as coded"
    );
}
