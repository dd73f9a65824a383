//! Rate control measured on real output: CBR hits its target, lower QP means higher quality,
//! VBR stays inside its VBV, constant quality is the encoders' CRF.

mod common;

use common::*;
use ghoststream::{Codec, Packet, PixelFormat, RateControl, Tuning};

const W: u32 = 640;
const H: u32 = 360;
const FPS: i64 = 30;

fn bitrate(packets: &[Packet], fps: f64) -> f64 {
    let bits: usize = packets.iter().map(|p| p.data.len() * 8).sum();
    bits as f64 / (packets.len() as f64 / fps)
}

/// CBR over 300 frames lands within 10% of the target, for each codec.
#[test]
fn cbr_over_300_frames_is_within_ten_percent() {
    for codec in Codec::ALL {
        let target = 1_500_000u64;
        let mut cfg = config(codec, W, H, FPS);
        cfg.rate_control = RateControl::Cbr { bitrate: target };
        let enc = encode_pattern(&cfg, 300);
        assert_eq!(enc.packets.len(), 300);
        let got = bitrate(&enc.packets, FPS as f64);
        let err = (got - target as f64) / target as f64;
        eprintln!(
            "{codec} CBR: target {target}, got {got:.0} ({:+.1}%)",
            err * 100.0
        );
        assert!(
            err.abs() <= 0.10,
            "{codec}: CBR {got:.0} bit/s is {:+.1}% off {target}",
            err * 100.0
        );
    }
}

fn decoded_psnr(codec: Codec, qp: u32) -> f64 {
    let mut cfg = config(codec, 320, 192, FPS);
    cfg.rate_control = RateControl::Cqp { qp };
    cfg.tuning = Tuning::LowLatency;
    let n = 20;
    let (_, _dir, path) = encode_to_file(&cfg, n, "q");
    let decoded = decode_raw(&path, "yuv420p");
    let src: Vec<u8> = pattern_frames(PixelFormat::I420, 320, 192, cfg.frame_rate, n).concat();
    psnr8(&decoded, &src)
}

/// A lower constant QP gives a higher PSNR, for each codec.
#[test]
fn lower_cqp_gives_higher_psnr() {
    for (codec, low, high) in [
        (Codec::H264, 18, 38),
        (Codec::Hevc, 18, 38),
        (Codec::Av1, 60, 200),
    ] {
        let (good, bad) = (decoded_psnr(codec, low), decoded_psnr(codec, high));
        eprintln!("{codec}: qp {low} -> {good:.2} dB, qp {high} -> {bad:.2} dB");
        assert!(
            good > bad + 3.0,
            "{codec}: qp {low} gave {good:.2} dB, qp {high} gave {bad:.2} dB"
        );
    }
}

/// The largest excess of any window of frames over what the VBV allows: the bits of frames
/// i..j against max_rate x (j - i) frame times + the buffer size. Positive means overflow.
fn worst_vbv_excess(packets: &[Packet], max_rate: f64, buffer_bits: f64, fps: f64) -> f64 {
    let mut sizes: Vec<(u64, f64)> = packets
        .iter()
        .map(|p| (p.frame_number, p.data.len() as f64 * 8.0))
        .collect();
    sizes.sort_by_key(|s| s.0);
    let mut worst = f64::MIN;
    for i in 0..sizes.len() {
        let mut bits = 0.0;
        for (j, s) in sizes.iter().enumerate().skip(i) {
            bits += s.1;
            let allowed = max_rate * (j - i + 1) as f64 / fps + buffer_bits;
            worst = worst.max(bits - allowed);
        }
    }
    worst
}

/// VBR never goes over its maximum by more than the buffer allows (x264 and x265 enforce a
/// VBV). SVT-AV1 1.4's VBR has no VBV; for it the average must stay under the maximum, and
/// docs/ENCODERS.md says so.
#[test]
fn vbr_stays_within_its_vbv() {
    for codec in Codec::ALL {
        let (target, max) = (1_000_000u64, 1_500_000u64);
        let mut cfg = config(codec, W, H, FPS);
        cfg.tuning = Tuning::HighQuality;
        cfg.rate_control = RateControl::Vbr { target, max };
        cfg.vbv_buffer_bits = Some(max);
        let enc = encode_pattern(&cfg, 150);
        let avg = bitrate(&enc.packets, FPS as f64);
        let excess = worst_vbv_excess(&enc.packets, max as f64, max as f64, FPS as f64);
        eprintln!(
            "{codec} VBR: average {avg:.0}, worst window excess over the VBV {excess:.0} bits"
        );
        match codec {
            Codec::Av1 => assert!(avg <= max as f64, "AV1 VBR average {avg:.0} over max {max}"),
            _ => assert!(excess <= 0.0, "{codec}: VBV overflow of {excess:.0} bits"),
        }
    }
}

/// Constant quality on the software encoders: x264 and x265 run CRF at the quality asked for
/// (they write their settings into the stream: `rc=crf` and `crf=N.0`), every frame decodes,
/// and on each codec a lower quality number gives a larger file and a higher PSNR from the
/// same input (SVT-AV1 writes no settings, so that is how its CRF is seen).
#[test]
fn constant_quality_is_crf_and_lower_numbers_spend_more_bits() {
    let n = 20;
    for (codec, good, bad) in [
        (Codec::H264, 18, 40),
        (Codec::Hevc, 18, 40),
        (Codec::Av1, 20, 55),
    ] {
        let mut sizes = Vec::new();
        let mut psnrs = Vec::new();
        for quality in [good, bad] {
            let mut cfg = config(codec, 320, 192, FPS);
            cfg.rate_control = RateControl::Cq { quality };
            let (enc, _dir, path) = encode_to_file(&cfg, n, "cq");
            assert_eq!(enc.packets.len(), 20);
            let stream = std::fs::read(&path).unwrap();
            let settings = String::from_utf8_lossy(&stream);
            if codec != Codec::Av1 {
                let crf = format!("crf={quality}.0");
                assert!(
                    settings.contains(&crf) && !settings.contains("rc=cbr"),
                    "{codec}: the encoder's settings SEI has no {crf}"
                );
            }
            let decoded = decode_raw(&path, "yuv420p");
            let src: Vec<u8> =
                pattern_frames(PixelFormat::I420, 320, 192, cfg.frame_rate, n).concat();
            assert_eq!(decoded.len(), src.len(), "{codec}: every frame decodes");
            sizes.push(stream.len());
            psnrs.push(psnr8(&decoded, &src));
        }
        eprintln!(
            "{codec}: cq {good} -> {} bytes, {:.2} dB; cq {bad} -> {} bytes, {:.2} dB",
            sizes[0], psnrs[0], sizes[1], psnrs[1]
        );
        assert!(
            sizes[0] > sizes[1] * 3 / 2,
            "{codec}: cq {good} wrote {} bytes, cq {bad} {}",
            sizes[0],
            sizes[1]
        );
        assert!(
            psnrs[0] > psnrs[1] + 3.0,
            "{codec}: cq {good} gave {:.2} dB, cq {bad} {:.2} dB",
            psnrs[0],
            psnrs[1]
        );
    }
}
