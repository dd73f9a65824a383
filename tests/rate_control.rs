//! Rate control measured on real output: CBR hits its target, lower QP means higher quality,
//! VBR stays inside its VBV.

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
