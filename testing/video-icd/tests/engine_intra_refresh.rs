//! Intra refresh (VK_KHR_video_encode_intra_refresh) through GhostStream's encoder on the
//! driver's RADV table (Mesa 25.3's answer: block, block-row and block-column refresh, cycles
//! of up to 256 pictures, one active reference): for H.264, H.265 and AV1, a 300-picture
//! session refreshing over 30 pictures, with a bitrate change at picture 100 and a forced IDR at
//! 150. The driver's log must show the session made in block-row mode and every picture but the
//! two IDRs flagged with its place in the cycle (0, 1, … 29, 0, … restarting after each IDR),
//! its one reference carrying the regions the cycle has not refreshed yet (the cycle less the
//! index; none named at index 0). FFmpeg decodes the H.264 and H.265 streams to exactly the
//! input. Under a validation layer that knows the extension (1.4.321 or newer: Debian sid's,
//! through .ci/with-vvl-sid, with GHOSTSTREAM_REQUIRE_VVL_SID=1 making its absence a failure)
//! the layer must stay silent; an older layer (trixie's 1.4.309 rejects the extension's
//! structures as unknown) is left off, saying so.
//!
//! One test in this binary: the table is named before any Vulkan call.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::skip;
use ghoststream::gpu::video::av1_sequence::Av1Parameters;
use ghoststream::gpu::video::caps::encode_support_tuned;
use ghoststream::gpu::video::encoder::{EncoderOptions, IntraRefresh, VideoEncoder, VideoRate};
use ghoststream::gpu::video::h264::H264Parameters;
use ghoststream::gpu::video::h265::H265Parameters;
use ghoststream::gpu::video::intra_refresh::VideoEncodeIntraRefreshModeFlagsKHR as Mode;
use ghoststream::gpu::video::session::SessionParameters;
use ghoststream::gpu::GpuContext;
use ghoststream::{BitDepth, Codec, RateControl, Rational, Tuning};
use ghoststream_video_icd::log;

/// The picture size (above RADV's smallest coded extents; not a multiple of 16 in height).
const SIZE: (usize, usize) = (400, 228);
/// Pictures a cycle takes.
const CYCLE: u32 = 30;
/// Pictures a session codes.
const PICTURES: usize = 300;
/// The forced IDR.
const FORCED_IDR: usize = 150;
/// The first layer release that knows VK_KHR_video_encode_intra_refresh.
const LAYER_WITH_INTRA_REFRESH: u32 = ash::vk::make_api_version(0, 1, 4, 321);

#[test]
fn intra_refresh_cycles_through_every_picture_and_decodes_to_exactly_the_input() {
    std::env::set_var(ghoststream_video_icd::caps::TABLE_ENV, "radv");
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent decoder)");
        return;
    }
    let layer = common::engine::layer_version();
    let validated = layer.is_some_and(|v| v >= LAYER_WITH_INTRA_REFRESH);
    let version = |v: u32| {
        format!(
            "{}.{}.{}",
            ash::vk::api_version_major(v),
            ash::vk::api_version_minor(v),
            ash::vk::api_version_patch(v)
        )
    };
    if !validated {
        let found = layer.map_or("none".into(), version);
        assert!(
            std::env::var_os("GHOSTSTREAM_REQUIRE_VVL_SID").is_none(),
            "GHOSTSTREAM_REQUIRE_VVL_SID is set but the validation layer is {found} (1.4.321 or newer knows intra refresh)"
        );
        eprintln!(
            "validation layer {found} predates VK_KHR_video_encode_intra_refresh: it stays off (the driver's own checks run); run through .ci/with-vvl-sid for the layer's"
        );
    }
    let Some((driver, ctx, validated)) = common::engine::driver_context_validated(validated) else {
        return;
    };
    eprintln!(
        "validation layer {} on: {validated}",
        layer.map_or("none".into(), version)
    );
    let stream = common::engine::stream(SIZE);
    let h264 = H264Parameters::new(&stream).unwrap();
    let h265 = H265Parameters::new(&stream).unwrap();
    let av1 = Av1Parameters::new(&stream).unwrap();
    for (params, name) in [
        (SessionParameters::H264(&h264), "h264"),
        (SessionParameters::H265(&h265), "hevc"),
        (SessionParameters::Av1(&av1), "av1"),
    ] {
        let before = log::read(&driver.log).map_or(0, |c| c.len());
        let (stream, inputs) = session(&ctx, params, validated);
        let calls = log::read(&driver.log).unwrap();
        check_log(&calls[before..], name);
        let size = (
            u32::try_from(SIZE.0).unwrap(),
            u32::try_from(SIZE.1).unwrap(),
        );
        if name != "av1" {
            let sub = driver.dir.path().join(name);
            std::fs::create_dir_all(&sub).unwrap();
            common::ffmpeg::decode_and_compare_as(
                &sub,
                name,
                &stream,
                size,
                PICTURES,
                &inputs.concat(),
                "nv12",
            );
        }
        eprintln!("{name}: {PICTURES} pictures, {} bytes", stream.len());
    }
}

/// A 300-picture session refreshing over [`CYCLE`] pictures: CBR, a lower bitrate from 100, an
/// IDR forced at [`FORCED_IDR`]; the stream (parameter sets before each IDR, AV1's temporal
/// delimiters) and the input pictures.
fn session(
    ctx: &Arc<GpuContext>,
    params: SessionParameters<'_>,
    validated: bool,
) -> (Vec<u8>, Vec<Vec<u8>>) {
    let codec = params.codec();
    let support = encode_support_tuned(ctx, codec, BitDepth::Eight, Tuning::UltraLowLatency)
        .expect("the table encodes the codec");
    let limits = support
        .limits
        .intra_refresh
        .expect("the RADV table offers intra refresh");
    assert_eq!(
        (limits.max_cycle, limits.max_active_references),
        (256, 1),
        "{codec}: RADV's limits"
    );
    let mode = limits.preferred_mode().expect("a block mode");
    assert_eq!(mode, Mode::BLOCK_ROW_BASED, "rows first");
    let rate = VideoRate {
        control: RateControl::Cbr { bitrate: 4_000_000 },
        frame_rate: Rational::new(30, 1),
        buffer_ms: 1000,
        quality_level: 0,
    };
    let options = EncoderOptions {
        tuning: Tuning::UltraLowLatency,
        b_frames: 0,
        intra_refresh: Some(IntraRefresh { mode, cycle: CYCLE }),
    };
    let mut encoder =
        VideoEncoder::with_options(ctx, params, rate, options).expect("the encoder opens");
    let header = encoder.parameter_sets().to_vec();
    let mut stream = Vec::new();
    let mut inputs = Vec::new();
    let mut indices = Vec::new();
    for n in 0..PICTURES {
        if n == 100 {
            encoder
                .set_rate(VideoRate {
                    control: RateControl::Cbr { bitrate: 2_000_000 },
                    ..rate
                })
                .expect("the device takes the change");
        }
        let p = common::engine::picture(n, SIZE.0, SIZE.1);
        let input = common::engine::input(&p, SIZE);
        let e = encoder
            .encode(input, n == FORCED_IDR)
            .expect("the picture encodes");
        assert_eq!(e.idr, n == 0 || n == FORCED_IDR, "{codec}: picture {n}");
        if codec == Codec::Av1 {
            stream.extend_from_slice(&[0x12, 0x00]);
        }
        if e.idr {
            stream.extend_from_slice(&header);
        }
        stream.extend_from_slice(&e.data);
        indices.push(e.refresh_index);
        inputs.push(p);
    }
    drop(encoder);
    common::engine::silent(ctx, validated, &codec.to_string());
    assert_eq!(indices, expected_indices(), "{codec}: the pictures' places");
    (stream, inputs)
}

/// Each picture's place in its cycle: none for the IDRs, 0, 1, … after each.
fn expected_indices() -> Vec<Option<u32>> {
    let mut since = 0u32;
    (0..PICTURES)
        .map(|n| {
            if n == 0 || n == FORCED_IDR {
                since = 0;
                None
            } else {
                since += 1;
                Some((since - 1) % CYCLE)
            }
        })
        .collect()
}

/// The driver's record of one session: made in block-row mode (0x4), and each encode's flags,
/// place and dirty regions as the cycle asks.
fn check_log(calls: &[log::Call], name: &str) {
    let sessions: Vec<_> = calls
        .iter()
        .filter(|c| c.name == "vkCreateVideoSessionKHR")
        .collect();
    assert_eq!(sessions.len(), 1, "{name}: one session");
    assert!(
        sessions[0].detail.contains("refresh_mode=0x4") && sessions[0].result == "SUCCESS",
        "{name}: {:?}",
        sessions[0]
    );
    let encodes: Vec<_> = calls
        .iter()
        .filter(|c| c.name == "vkCmdEncodeVideoKHR")
        .collect();
    assert_eq!(encodes.len(), PICTURES, "{name}: every picture recorded");
    for (n, (call, index)) in encodes.iter().zip(expected_indices()).enumerate() {
        assert_eq!(call.result, "SUCCESS", "{name}: picture {n}: {call:?}");
        let want = match index {
            None => None,
            Some(0) => Some(format!("flags=0x4 intra_refresh=0/{CYCLE} dirty=[None]")),
            Some(i) => Some(format!(
                "flags=0x4 intra_refresh={i}/{CYCLE} dirty=[Some({})]",
                CYCLE - i
            )),
        };
        match want {
            None => assert!(
                !call.detail.contains("intra_refresh="),
                "{name}: IDR {n} refreshes: {}",
                call.detail
            ),
            Some(w) => assert!(
                call.detail.ends_with(&w),
                "{name}: picture {n}: want {w:?} in {}",
                call.detail
            ),
        }
    }
    let executed = calls
        .iter()
        .filter(|c| c.name == "execute" && c.detail.starts_with("vkCmdEncodeVideoKHR"))
        .collect::<Vec<_>>();
    assert!(
        executed.iter().all(|c| c.result == "SUCCESS"),
        "{name}: every encode ran"
    );
}
