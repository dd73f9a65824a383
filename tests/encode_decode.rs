//! Every codec's output decoded by ffmpeg: frame count, size, order, keyframes at the configured
//! interval, timestamps, and PSNR against the source.

mod common;

use common::*;
use ghoststream::bitstream::{nal, obu};
use ghoststream::output::{configuration_record, BitstreamFormat};
use ghoststream::source::{read_frame_code, FrameSource, TestPattern};
use ghoststream::{BitDepth, Codec, KeyframeInterval, PixelFormat, RateControl, Session, Tuning};

const W: u32 = 640;
const H: u32 = 360;
const FPS: i64 = 30;
const FRAMES: u64 = 60;
const KEYINT: u32 = 15;
/// Stated quality floor at a moderate bitrate (2.5 Mbit/s for 640x360 at 30 fps).
const MIN_PSNR_DB: f64 = 30.0;

fn check_codec(codec: Codec, format: BitstreamFormat, ext: &str, tuning: Tuning) {
    let mut cfg = config(codec, W, H, FPS);
    cfg.rate_control = RateControl::Cbr { bitrate: 2_500_000 };
    cfg.keyframe_interval = KeyframeInterval::Frames(KEYINT);
    cfg.tuning = tuning;
    let enc = encode_pattern(&cfg, FRAMES);
    assert!(enc.dropped.is_empty());
    assert_eq!(enc.packets.len() as u64, FRAMES, "one packet per frame");

    // Our packets: every frame exactly once, pts strictly increasing in display order,
    // dts strictly increasing in decode order and never after pts.
    let mut numbers: Vec<u64> = enc.packets.iter().map(|p| p.frame_number).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..FRAMES).collect::<Vec<_>>());
    for w in enc.packets.windows(2) {
        assert!(
            w[1].dts > w[0].dts,
            "dts not increasing: {:?} then {:?}",
            w[0].dts,
            w[1].dts
        );
    }
    for p in &enc.packets {
        assert!(p.dts <= p.pts, "dts after pts in frame {}", p.frame_number);
        assert_eq!(
            p.keyframe,
            p.frame_number % u64::from(KEYINT) == 0,
            "keyframe flag of frame {}",
            p.frame_number
        );
        assert!(p.stats.packet_ready_time >= p.stats.encode_start_time);
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("out.{ext}"));
    write(&enc.packets, &path, format, &cfg);

    let frames = probe_frames(&path);
    assert_eq!(frames.len() as u64, FRAMES, "decoded frame count");
    for (i, f) in frames.iter().enumerate() {
        assert_eq!((f.width, f.height), (W, H));
        assert_eq!(
            f.key,
            u32::try_from(i).unwrap() % KEYINT == 0,
            "decoder's keyframe flag at frame {i}: {f:?}"
        );
    }

    let decoded = decode_raw(&path, "yuv420p");
    let src = pattern_frames(PixelFormat::I420, W, H, cfg.frame_rate, FRAMES);
    let frame_bytes = (W * H * 3 / 2) as usize;
    assert_eq!(
        decoded.len(),
        frame_bytes * usize::try_from(FRAMES).unwrap()
    );
    let mut worst = f64::MAX;
    for (i, (dec, src)) in decoded.chunks(frame_bytes).zip(&src).enumerate() {
        assert_eq!(
            read_frame_code(dec, W as usize, W, H),
            Some(i as u64),
            "frame {i} is out of order"
        );
        worst = worst.min(psnr8(dec, src));
    }
    assert!(
        worst >= MIN_PSNR_DB,
        "{codec}: worst frame PSNR {worst:.2} dB < {MIN_PSNR_DB}"
    );
    eprintln!("{codec} {tuning}: worst-frame PSNR {worst:.2} dB");
}

#[test]
fn av1_ivf_decodes_with_exact_keyframes() {
    check_codec(Codec::Av1, BitstreamFormat::Ivf, "ivf", Tuning::LowLatency);
}

#[test]
fn av1_obu_stream_decodes() {
    check_codec(Codec::Av1, BitstreamFormat::Obu, "obu", Tuning::LowLatency);
}

#[test]
fn av1_high_quality_decodes_in_order() {
    check_codec(Codec::Av1, BitstreamFormat::Ivf, "ivf", Tuning::HighQuality);
}

#[test]
fn h264_annexb_decodes_with_exact_keyframes() {
    check_codec(
        Codec::H264,
        BitstreamFormat::AnnexB,
        "h264",
        Tuning::LowLatency,
    );
}

#[test]
fn h264_high_quality_with_b_frames_decodes_in_order() {
    check_codec(
        Codec::H264,
        BitstreamFormat::AnnexB,
        "h264",
        Tuning::HighQuality,
    );
}

#[test]
fn hevc_annexb_decodes_with_exact_keyframes() {
    check_codec(
        Codec::Hevc,
        BitstreamFormat::AnnexB,
        "h265",
        Tuning::LowLatency,
    );
}

#[test]
fn hevc_high_quality_with_b_frames_decodes_in_order() {
    check_codec(
        Codec::Hevc,
        BitstreamFormat::AnnexB,
        "h265",
        Tuning::HighQuality,
    );
}

fn check_ten_bit(codec: Codec) {
    let mut cfg = config(codec, 320, 192, FPS);
    cfg.bit_depth = BitDepth::Ten;
    cfg.input_format = PixelFormat::P010;
    cfg.rate_control = RateControl::Cbr { bitrate: 2_000_000 };
    let n = 10;
    let (_, _dir, path) = encode_to_file(&cfg, n, "ten");
    let frames = probe_frames(&path);
    assert_eq!(frames.len() as u64, n);
    assert!(
        frames.iter().all(|f| f.pix_fmt == "yuv420p10le"),
        "{codec}: {:?}",
        frames[0]
    );
    let decoded = decode_raw(&path, "yuv420p10le");
    let src = pattern_frames(PixelFormat::I420P10, 320, 192, cfg.frame_rate, n);
    let frame_bytes = 320 * 192 * 3;
    let worst = decoded
        .chunks(frame_bytes)
        .zip(&src)
        .map(|(d, s)| psnr10(d, s))
        .fold(f64::MAX, f64::min);
    assert!(
        worst >= MIN_PSNR_DB,
        "{codec} 10-bit: worst PSNR {worst:.2}"
    );
}

#[test]
fn ten_bit_av1_from_p010() {
    check_ten_bit(Codec::Av1);
}

#[test]
fn ten_bit_hevc_from_p010() {
    check_ten_bit(Codec::Hevc);
}

#[test]
fn ten_bit_h264_from_p010() {
    check_ten_bit(Codec::H264);
}

#[test]
fn infinite_gop_has_one_keyframe() {
    for codec in Codec::ALL {
        let mut cfg = config(codec, 320, 192, FPS);
        cfg.keyframe_interval = KeyframeInterval::Infinite;
        let (_, _dir, path) = encode_to_file(&cfg, 40, "inf");
        let keys = decoded_keyframes(&path);
        assert_eq!(keys, vec![0], "{codec}");
    }
}

/// A keyframe requested mid-stream lands on the next frame submitted, in the packet flags and
/// in what ffprobe decodes (x264 and x265 code it as an IDR). SVT-AV1 cannot place one at an
/// arbitrary frame, and the session says so.
#[test]
fn forced_keyframes_land_on_the_requested_frames() {
    let mut cfg = config(Codec::Av1, 320, 192, FPS);
    let mut session = Session::open(cfg.clone()).unwrap();
    assert!(!session.controls().force_keyframe);
    match session.request_keyframe() {
        Err(e) => assert!(e.to_string().contains("libsvtav1"), "{e}"),
        Ok(()) => panic!("SVT-AV1 cannot force a keyframe"),
    }
    for codec in [Codec::H264, Codec::Hevc] {
        cfg = config(codec, 320, 192, FPS);
        cfg.keyframe_interval = KeyframeInterval::Infinite;
        let mut src =
            TestPattern::new(cfg.input_format, 320, 192, cfg.frame_rate, Some(40)).unwrap();
        let mut session = Session::open(cfg.clone()).unwrap();
        assert!(session.controls().force_keyframe, "{codec}");
        let mut out = Vec::new();
        let mut n = 0;
        while let Some(frame) = src.next_frame().unwrap() {
            if n == 12 || n == 29 {
                session.request_keyframe().unwrap();
            }
            session.submit(frame).unwrap();
            n += 1;
            while let Some(o) = session.try_receive().unwrap() {
                out.push(o);
            }
        }
        out.extend(session.close().unwrap());
        let enc = split(out);
        let flagged = keyframe_numbers(&enc.packets);
        assert_eq!(flagged, [0, 12, 29], "{codec}: packet flags");
        let dir = tempfile::tempdir().unwrap();
        let format = BitstreamFormat::default_for(codec);
        let path = dir
            .path()
            .join(format!("forced.{}", format.extension(codec)));
        write(&enc.packets, &path, format, &cfg);
        let keys = decoded_keyframes(&path);
        assert_eq!(keys, [0, 12, 29], "{codec}: decoded key frames");
    }
}

/// A session closed (or dropped) before its first frame ends at once with no packets, for every
/// software encoder (SVT-AV1's library alone would wait forever for a packet).
#[test]
fn sessions_ended_before_their_first_frame_end_cleanly() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for codec in Codec::ALL {
            let cfg = config(codec, 320, 192, FPS);
            let mut closed = Session::open(cfg.clone()).unwrap();
            let outputs = closed.close().unwrap();
            assert!(outputs.is_empty(), "{codec}: {outputs:?}");
            drop(Session::open(cfg).unwrap());
            done.send(codec).unwrap();
        }
    });
    for codec in Codec::ALL {
        match finished.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(c) => assert_eq!(c, codec),
            Err(e) => panic!("{codec}: a session with no frames did not end within 60 s ({e})"),
        }
    }
}

/// The length-prefixed stream converts back to exactly the Annex-B bytes, and our avcC/hvcC
/// record equals the one ffmpeg's MP4 muxer builds from the same stream.
#[test]
fn length_prefixed_output_and_records_match_ffmpeg() {
    for (codec, ext, lp_ext, record) in [
        (Codec::H264, "h264", "avcc", b"avcC"),
        (Codec::Hevc, "h265", "hvcc", b"hvcC"),
    ] {
        let cfg = config(codec, 320, 192, FPS);
        let enc = encode_pattern(&cfg, 12);
        let dir = tempfile::tempdir().unwrap();
        let annexb = dir.path().join(format!("s.{ext}"));
        let lp = dir.path().join(format!("s.{lp_ext}"));
        write(&enc.packets, &annexb, BitstreamFormat::AnnexB, &cfg);
        write(&enc.packets, &lp, BitstreamFormat::LengthPrefixed, &cfg);

        let mut back = Vec::new();
        nal::length_prefixed_to_annexb(&std::fs::read(&lp).unwrap(), &mut back).unwrap();
        let mut expected = Vec::new();
        for p in &enc.packets {
            for n in nal::AnnexBNals::new(&p.data) {
                expected.extend_from_slice(&[0, 0, 0, 1]);
                expected.extend_from_slice(n);
            }
        }
        assert_eq!(
            back, expected,
            "{codec}: length-prefixed stream does not round-trip"
        );

        let ours = std::fs::read(format!(
            "{}.{}",
            lp.display(),
            std::str::from_utf8(record).unwrap()
        ))
        .unwrap();
        assert_eq!(ours, configuration_record(&enc.packets[0]).unwrap());
        let mp4 = remux_mp4(&annexb, &dir.path().join("s.mp4"));
        let theirs = find_mp4_box(&mp4, record).expect("ffmpeg wrote the record");
        if codec == Codec::H264 {
            assert_eq!(ours, theirs, "avcC differs from ffmpeg's");
        } else {
            // Same layout; ffmpeg keeps only the first VPS/SPS/PPS and may differ in
            // min_spatial_segmentation/parallelism (from VUI) — compare the fixed 22-byte head
            // except bytes 13..15, and the arrays' parameter sets.
            assert_eq!(
                ours[..13],
                theirs[..13],
                "hvcC profile/tier/level fields differ"
            );
            assert_eq!(
                ours[16..22],
                theirs[16..22],
                "hvcC chroma/depth/layers fields differ"
            );
            for nal in nal::AnnexBNals::new(&enc.packets[0].data)
                .filter(|n| (32..=34).contains(&nal::hevc_nal_type(n)))
            {
                assert!(
                    theirs.windows(nal.len()).any(|w| w == nal),
                    "ffmpeg's hvcC lacks a parameter set"
                );
                assert!(ours.windows(nal.len()).any(|w| w == nal));
            }
        }
    }
}

#[test]
fn av1c_record_matches_ffmpeg_and_sequence_header_matches_config() {
    let mut cfg = config(Codec::Av1, 320, 192, FPS);
    cfg.color = ghoststream::ColorDescription::BT709;
    let enc = encode_pattern(&cfg, 5);
    let (_, sh) = obu::find_sequence_header(&enc.packets[0].data)
        .unwrap()
        .expect("first packet has a sequence header");
    assert_eq!((sh.max_width, sh.max_height, sh.bit_depth()), (320, 192, 8));
    assert_eq!(
        (
            sh.color_primaries,
            sh.transfer_characteristics,
            sh.matrix_coefficients
        ),
        (1, 1, 1)
    );
    assert!(!sh.full_range);
    let dir = tempfile::tempdir().unwrap();
    let ivf = dir.path().join("a.ivf");
    write(&enc.packets, &ivf, BitstreamFormat::Ivf, &cfg);
    let mp4 = remux_mp4(&ivf, &dir.path().join("a.mp4"));
    let theirs = find_mp4_box(&mp4, b"av1C").expect("ffmpeg wrote av1C");
    let ours = configuration_record(&enc.packets[0]).unwrap();
    assert_eq!(ours[..4], theirs[..4], "av1C header fields differ");
}

/// Lossless tuning: ffmpeg's decode of x264's and x265's output equals the source exactly.
#[test]
fn lossless_h264_and_hevc_decode_to_the_source_bytes() {
    for codec in [Codec::H264, Codec::Hevc] {
        let mut cfg = config(codec, 320, 192, FPS);
        cfg.tuning = Tuning::Lossless;
        cfg.rate_control = RateControl::Cqp { qp: 0 };
        let n = 8;
        let (_, _dir, path) = encode_to_file(&cfg, n, "lossless");
        let decoded = decode_raw(&path, "yuv420p");
        let src = pattern_frames(PixelFormat::I420, 320, 192, cfg.frame_rate, n);
        assert_eq!(
            decoded.len(),
            src.iter().map(Vec::len).sum::<usize>(),
            "{codec}"
        );
        for (i, (d, s)) in decoded.chunks(src[0].len()).zip(&src).enumerate() {
            let differ = d.iter().zip(s).filter(|(a, b)| a != b).count();
            assert_eq!(differ, 0, "{codec} frame {i}: {differ} samples differ");
        }
    }
}

/// The first frame's side data as ffprobe reports it: `key=value` lines per side-data block.
fn first_frame_side_data(path: &std::path::Path) -> Vec<Vec<(String, String)>> {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_frames"])
        .args(["-read_intervals", "%+#1", "-of", "default"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut blocks = Vec::new();
    let mut current: Option<Vec<(String, String)>> = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        match line {
            "[SIDE_DATA]" => current = Some(Vec::new()),
            "[/SIDE_DATA]" => blocks.extend(current.take()),
            _ => {
                if let (Some(block), Some((k, v))) = (current.as_mut(), line.split_once('=')) {
                    block.push((k.to_string(), v.to_string()));
                }
            }
        }
    }
    blocks
}

/// A rational "a/b" (or a plain number) from ffprobe.
fn ratio(v: &str) -> f64 {
    match v.split_once('/') {
        Some((a, b)) => a.parse::<f64>().unwrap() / b.parse::<f64>().unwrap(),
        None => v.parse().unwrap(),
    }
}

/// HDR10 metadata written by x265 (SEI) and SVT-AV1 (metadata OBUs) reads back through ffmpeg's
/// decoders as the mastering display and content light level that were configured.
#[test]
fn hdr10_metadata_reads_back_through_ffprobe() {
    use ghoststream::hdr::{ContentLightLevel, HdrMetadata, MasteringDisplay};
    for codec in [Codec::Hevc, Codec::Av1] {
        let mut cfg = config(codec, 320, 192, FPS);
        cfg.bit_depth = BitDepth::Ten;
        cfg.input_format = PixelFormat::P010;
        cfg.color = ghoststream::ColorDescription::HDR10;
        cfg.hdr_metadata = Some(HdrMetadata {
            display: MasteringDisplay::BT2020_1000_NITS,
            light: Some(ContentLightLevel {
                max_cll: 1000,
                max_fall: 400,
            }),
        });
        let (_, _dir, path) = encode_to_file(&cfg, 3, "hdr");
        let blocks = first_frame_side_data(&path);
        let find = |kind: &str| {
            blocks
                .iter()
                .find(|b| b.iter().any(|(k, v)| k == "side_data_type" && v == kind))
                .unwrap_or_else(|| panic!("{codec}: no '{kind}' side data in {blocks:?}"))
        };
        let get = |b: &Vec<(String, String)>, key: &str| {
            ratio(&b.iter().find(|(k, _)| k == key).unwrap().1)
        };
        let mdcv = find("Mastering display metadata");
        // AV1 carries 0.16 fixed point: within half a unit of 1/65536 of the configured value.
        for (key, want) in [
            ("red_x", 0.708),
            ("red_y", 0.292),
            ("green_x", 0.170),
            ("green_y", 0.797),
            ("blue_x", 0.131),
            ("blue_y", 0.046),
            ("white_point_x", 0.3127),
            ("white_point_y", 0.3290),
        ] {
            let got = get(mdcv, key);
            assert!(
                (got - want).abs() < 1.0 / 65536.0,
                "{codec} {key}: {got} vs {want}"
            );
        }
        assert!(
            (get(mdcv, "max_luminance") - 1000.0).abs() < 1e-6,
            "{codec}"
        );
        assert!(
            (get(mdcv, "min_luminance") - 0.005).abs() < 1.0 / 16384.0,
            "{codec}"
        );
        let cll = find("Content light level metadata");
        assert_eq!(get(cll, "max_content"), 1000.0, "{codec}");
        assert_eq!(get(cll, "max_average"), 400.0, "{codec}");
    }
}
