//! The replay buffer's costs for 30 s of 1080p60 at 12 Mbit/s (issue 6's benchmark):
//! - the per-packet cost of keeping a packet in the ring (amortised, with GOP eviction),
//! - the cost of taking a 30 s clip (pointer copies),
//! - the time from "save" to a finished, synced Matroska and MP4 file,
//! - the peak extra memory of a save (VmHWM after resetting it, minus VmRSS before).
//!
//! Packets: a real 1080p H.264 IDR and P frame from libx264 (so the files are valid), each
//! padded with a filler NAL unit (type 12) to the sizes a 12 Mbit/s stream has at 60 fps with
//! a key frame every 2 s (key frames 8x a P frame). Medians of 7 runs each.
//!
//! Run: `cargo bench --bench replay`

use std::time::{Duration, Instant};

use bytes::Bytes;
use ghoststream::output::replay::{ReplayBuffer, ReplayLimits};
use ghoststream::output::ContainerFormat;
use ghoststream::output::OutputFormat;
use ghoststream::source::{FrameSource, TestPattern};
use ghoststream::{
    BackendChoice, BackendKind, Codec, KeyframeInterval, Packet, Rational, Session, SessionConfig,
    SessionOutput, Span, Timestamp,
};

const FPS: i64 = 60;
const BITRATE: f64 = 12e6;
const GOP: i64 = 120;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Kilobytes of a `/proc/self/status` field.
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `packet` followed by a filler NAL unit so that the whole is `size` bytes.
fn padded(packet: &[u8], size: usize) -> Bytes {
    let mut v = packet.to_vec();
    let fill = size.saturating_sub(v.len() + 6).max(1);
    v.extend_from_slice(&[0, 0, 0, 1, 0x0c]);
    v.extend(std::iter::repeat_n(0xff, fill));
    v.push(0x80);
    Bytes::from(v)
}

fn main() {
    let mut config = SessionConfig::new(Codec::H264, 1920, 1080, Rational::new(FPS, 1));
    config.backend = BackendChoice::Only(BackendKind::Software);
    config.keyframe_interval = KeyframeInterval::Frames(u32::try_from(GOP).unwrap());
    let mut source =
        TestPattern::new(config.input_format, 1920, 1080, config.frame_rate, Some(2)).unwrap();
    let mut session = Session::open(config.clone()).unwrap();
    while let Some(f) = source.next_frame().unwrap() {
        session.submit(f).unwrap();
    }
    let real: Vec<Packet> = session
        .close()
        .unwrap()
        .into_iter()
        .filter_map(|o| match o {
            SessionOutput::Packet(p) => Some(p),
            _ => None,
        })
        .collect();
    let per_gop = BITRATE / 8.0 * GOP as f64 / FPS as f64;
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a packet size in bytes, positive and small"
    )]
    let p_size = (per_gop / (GOP as f64 - 1.0 + 8.0)) as usize;
    let k_size = p_size * 8;
    let key = padded(&real[0].data, k_size);
    let inter = padded(&real[1].data, p_size);
    let frame = 1_000_000_000 / FPS;
    let packet = |n: i64| {
        let keyframe = n % GOP == 0;
        Packet {
            data: if keyframe { key.clone() } else { inter.clone() },
            codec: Codec::H264,
            framing: ghoststream::PacketFraming::AnnexB,
            pts: Timestamp::from_nanos(n * frame),
            dts: Timestamp::from_nanos(n * frame),
            duration: Span::from_nanos(frame),
            keyframe,
            frame_number: u64::try_from(n).unwrap(),
            stats: Default::default(),
        }
    };
    let limits = ReplayLimits {
        duration: Duration::from_secs(30),
        bytes: 256 << 20,
    };

    // Per-packet cost over 5 minutes of packets (the ring is full after 30 s, then evicts).
    let total = 5 * 60 * FPS;
    let packets: Vec<Packet> = (0..total).map(packet).collect();
    let mut push_ns = Vec::new();
    for _ in 0..7 {
        let mut ring = ReplayBuffer::new(limits).unwrap();
        let batch = packets.clone();
        let t = Instant::now();
        for p in batch {
            ring.push(p);
        }
        push_ns.push(t.elapsed().as_nanos() as f64 / total as f64);
    }
    let mut ring = ReplayBuffer::new(limits).unwrap();
    for p in packets {
        ring.push(p);
    }
    let held = ring.stats();

    let mut clip_us = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let clip = ring.clip(None).unwrap();
        clip_us.push(t.elapsed().as_nanos() as f64 / 1e3);
        drop(clip);
    }

    let dir = tempfile::tempdir().unwrap();
    println!(
        "replay ring: {} packets, {:.1} MB, {:.2} s held (30 s asked; whole GOPs of {} frames)",
        held.packets,
        held.bytes as f64 / 1e6,
        held.duration.as_secs_f64(),
        GOP
    );
    println!(
        "push: median {:.0} ns per packet over {total} packets (7 runs); clip of 30 s: median {:.0} us",
        median(push_ns),
        median(clip_us)
    );
    for format in [ContainerFormat::Matroska, ContainerFormat::Mp4] {
        let mut save_ms = Vec::new();
        let mut extra_kb = Vec::new();
        for run in 0..7 {
            let path = dir.path().join(format!("save{run}.{}", format.name()));
            // Reset the peak-RSS mark, then save.
            std::fs::write("/proc/self/clear_refs", "5").unwrap();
            let before = status_kb("VmRSS:");
            let t = Instant::now();
            let clip = ring.clip(None).unwrap();
            let summary = clip
                .save(&path, OutputFormat::Container(format), &config)
                .unwrap();
            save_ms.push(t.elapsed().as_secs_f64() * 1e3);
            extra_kb.push(status_kb("VmHWM:").saturating_sub(before) as f64);
            assert_eq!(usize::try_from(summary.packets).unwrap(), held.packets);
            std::fs::remove_file(&path).unwrap();
        }
        let first = extra_kb[0];
        println!(
            "save 30 s to {}: median {:.1} ms to a finished, synced file; peak extra resident memory {:.2} MB on the first save, median {:.2} MB (later saves reuse freed memory)",
            format.name(),
            median(save_ms),
            first / 1e3,
            median(extra_kb) / 1e3
        );
    }
}
