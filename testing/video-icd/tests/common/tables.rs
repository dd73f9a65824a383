//! GhostStream's Vulkan Video encoder on one of the driver's capability tables (chosen by
//! `GHOSTSTREAM_ICD_TABLE` before any Vulkan call): 300-picture H.264 and H.265 sessions whose
//! streams FFmpeg decodes to exactly the input, and a 300-frame AV1 session (where the table
//! encodes AV1) read back by GhostStream's OBU walker; under the 1.4 validation layer where it
//! is on, the layer must stay silent. Each session runs the rate changes the table offers
//! (CBR, then VBR from picture 100, then constant QP from 200, where it offers all three;
//! constant QP throughout where it offers only that) and a forced IDR at 280.

use std::process::Command;
use std::sync::Arc;

use ghoststream::bitstream::obu;
use ghoststream::gpu::video::av1_sequence::Av1Parameters;
use ghoststream::gpu::video::caps::encode_support_tuned;
use ghoststream::gpu::video::encoder::{EncoderOptions, VideoEncoder, VideoRate};
use ghoststream::gpu::video::h264::H264Parameters;
use ghoststream::gpu::video::h265::H265Parameters;
use ghoststream::gpu::video::session::SessionParameters;
use ghoststream::gpu::GpuContext;
use ghoststream::{BitDepth, Codec, RateControl, Rational};

use super::skip;

/// The picture size: above both Mesa drivers' smallest coded extents (RADV on RDNA4: 384x128
/// for H.265), and not a multiple of 16 in height, so cropping is exercised.
const SIZE: (usize, usize) = (400, 228);

/// What a table's run did, per session: codec, pictures, stream bytes.
pub type Report = Vec<(&'static str, usize, usize)>;

/// Runs the sessions on table `table` (`nvidia`, `radv`, `anv`). Call it first thing in the
/// only test of its binary. `None` after [`skip`].
pub fn run(table: &str) -> Option<Report> {
    std::env::set_var(ghoststream_video_icd::caps::TABLE_ENV, table);
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent decoder)");
        return None;
    }
    let (driver, ctx, validated) = super::engine::driver_context()?;
    let want = ghoststream_video_icd::caps::by_name(table).expect("a table of the driver");
    let stream = super::engine::stream(SIZE);
    let mut report = Vec::new();
    let h264 = H264Parameters::new(&stream).unwrap();
    let mut h265 = H265Parameters::new(&stream).unwrap();
    let support = |codec| {
        encode_support_tuned(
            &ctx,
            codec,
            BitDepth::Eight,
            EncoderOptions::default().tuning,
        )
        .expect("the table encodes the codec")
    };
    let h264_support = support(Codec::H264);
    assert_eq!(h264_support.device, want.name, "the table's device");
    let h265_support = support(Codec::Hevc);
    h265.check_limits(&h265_support.limits)
        .expect("the H.265 sets fit the table");
    for (params, name, support) in [
        (SessionParameters::H264(&h264), "h264", &h264_support),
        (SessionParameters::H265(&h265), "hevc", &h265_support),
    ] {
        let direct = want
            .encode_input_create_flags
            .contains(ash::vk::ImageCreateFlags::EXTENDED_USAGE);
        let bytes = session(
            &ctx,
            params,
            name,
            (&support.rate_control, direct),
            &driver.dir,
            validated,
        );
        report.push((name, 300, bytes));
    }
    let av1_op = ghoststream_video_icd::caps::CODEC_OPERATION_ENCODE_AV1;
    if want.encode_operations.contains(av1_op) {
        let mut av1 = Av1Parameters::new(&stream).unwrap();
        let av1_support = support(Codec::Av1);
        av1.check_limits(&av1_support.limits)
            .expect("the AV1 sequence fits the table");
        let bytes = av1_session(&ctx, &av1, &av1_support.rate_control, validated);
        report.push(("av1", 300, bytes));
    }
    Some(report)
}

/// The first rate of a table offering `modes`, and the changes of the plan: CBR, VBR from 100,
/// constant QP `qp` from 200 where all three are offered; constant QP throughout otherwise.
fn plan(modes: &[&str], n: usize, qp: u32) -> Option<RateControl> {
    let all = ["cbr", "vbr", "disabled"].iter().all(|m| modes.contains(m));
    match (all, n) {
        (true, 0) => Some(RateControl::Cbr { bitrate: 4_000_000 }),
        (true, 100) => Some(RateControl::Vbr {
            target: 2_000_000,
            max: 3_000_000,
        }),
        (true, 200) | (false, 0) => Some(RateControl::Cqp { qp }),
        _ => None,
    }
}

/// The 300 pictures of the plan on `encoder`: each picture's bytes, whether it is an IDR, and
/// its input.
fn run_plan(
    encoder: &mut VideoEncoder,
    rate: VideoRate,
    modes: &[&str],
    qp: u32,
) -> Vec<(Vec<u8>, bool, Vec<u8>)> {
    (0..300)
        .map(|n| {
            if n > 0 {
                if let Some(control) = plan(modes, n, qp) {
                    encoder
                        .set_rate(VideoRate { control, ..rate })
                        .expect("the device takes the change");
                }
            }
            let p = super::engine::picture(n, SIZE.0, SIZE.1);
            let input = super::engine::input(&p, SIZE);
            let e = encoder
                .encode(input, n == 280)
                .expect("the picture encodes");
            assert!(!e.data.is_empty(), "picture {n} wrote no bytes");
            (e.data, e.idr, p)
        })
        .collect()
}

/// A 300-picture H.264 or H.265 session at the rates `modes` allow, its input pictures planar
/// images (`direct`) or plain ones, decoded by FFmpeg and compared byte for byte; the stream's
/// size.
fn session(
    ctx: &Arc<GpuContext>,
    params: SessionParameters<'_>,
    name: &str,
    (modes, direct): (&[&str], bool),
    dir: &tempfile::TempDir,
    validated: bool,
) -> usize {
    let rate = VideoRate {
        control: plan(modes, 0, 30).expect("a first rate"),
        frame_rate: Rational::new(30, 1),
        buffer_ms: 1000,
        quality_level: 0,
    };
    let mut encoder = VideoEncoder::new(ctx, params, rate).expect("the encoder opens");
    // Planar input images a pass may write where the table's format answer allows plane
    // views (MUTABLE_FORMAT | EXTENDED_USAGE), plain ones copied into otherwise (ANV).
    assert_eq!(
        encoder.direct_inputs().is_some(),
        direct,
        "{name}: direct inputs as the table's format answer allows"
    );
    let mut stream = Vec::new();
    let mut idrs = Vec::new();
    let mut inputs = Vec::new();
    for (data, idr, input) in run_plan(&mut encoder, rate, modes, 30) {
        if idr {
            stream.extend_from_slice(encoder.parameter_sets());
        }
        idrs.push(idr);
        stream.extend_from_slice(&data);
        inputs.push(input);
    }
    let want: Vec<bool> = (0..300).map(|n| n == 0 || n == 280).collect();
    assert_eq!(idrs, want, "{name}: IDR at the start and where forced");
    drop(encoder);
    super::engine::silent(ctx, validated, name);

    // The shared check: FFmpeg decodes silently, 300 frames, every byte as written.
    let size = (
        u32::try_from(SIZE.0).unwrap(),
        u32::try_from(SIZE.1).unwrap(),
    );
    let expected = inputs.concat();
    let sub = dir.path().join(name);
    std::fs::create_dir_all(&sub).unwrap();
    super::ffmpeg::decode_and_compare_as(&sub, name, &stream, size, 300, &expected, "nv12");
    stream.len()
}

/// A 300-frame AV1 session: key frames where asked, one temporal delimiter and one frame OBU
/// per frame, a sequence header before each key frame; the stream's size.
fn av1_session(
    ctx: &Arc<GpuContext>,
    params: &Av1Parameters,
    modes: &[&str],
    validated: bool,
) -> usize {
    let rate = VideoRate {
        control: plan(modes, 0, 120).expect("a first rate"),
        frame_rate: Rational::new(30, 1),
        buffer_ms: 1000,
        quality_level: 0,
    };
    let mut encoder = VideoEncoder::new(ctx, SessionParameters::Av1(params), rate)
        .expect("the AV1 encoder opens");
    let header = encoder.parameter_sets().to_vec();
    let mut stream = Vec::new();
    let mut keys = Vec::new();
    for (data, key, _) in run_plan(&mut encoder, rate, modes, 120) {
        stream.extend_from_slice(&[0x12, 0x00]);
        if key {
            stream.extend_from_slice(&header);
        }
        stream.extend_from_slice(&data);
        keys.push(key);
    }
    drop(encoder);
    super::engine::silent(ctx, validated, "av1");
    let want: Vec<bool> = (0..300).map(|n| n == 0 || n == 280).collect();
    assert_eq!(keys, want, "av1: key frames at the start and where forced");
    let (mut units, mut headers, mut frames) = (0, 0, 0);
    for o in obu::obus(&stream) {
        match o.expect("whole OBUs").obu_type {
            2 => units += 1,
            1 => headers += 1,
            6 | 3 => frames += 1,
            4 => {}
            other => panic!("unexpected OBU type {other}"),
        }
    }
    assert_eq!((units, headers, frames), (300, 2, 300));
    stream.len()
}
