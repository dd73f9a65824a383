//! Helpers shared by the integration tests: encoding through the library, and checking the
//! result with an independent decoder (Debian's ffmpeg/ffprobe).
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ghoststream::output::{open_sink, BitstreamFormat};
use ghoststream::source::{FrameSource, TestPattern};
use ghoststream::{
    BackendChoice, BackendKind, Codec, FrameStats, Packet, PixelFormat, Rational, Session,
    SessionConfig, SessionOutput,
};

/// A software-encoder config for tests: small, fast, deterministic.
pub fn config(codec: Codec, width: u32, height: u32, fps: i64) -> SessionConfig {
    let mut c = SessionConfig::new(codec, width, height, Rational::new(fps, 1));
    c.backend = BackendChoice::Only(BackendKind::Software);
    c.threads = 2;
    c
}

/// Everything a session produced.
pub struct Encoded {
    pub packets: Vec<Packet>,
    pub dropped: Vec<FrameStats>,
}

/// Encodes `frames` frames of the test pattern (in `config.input_format`) and collects the output.
pub fn encode_pattern(config: &SessionConfig, frames: u64) -> Encoded {
    let mut src = TestPattern::new(
        config.input_format,
        config.width,
        config.height,
        config.frame_rate,
        Some(frames),
    )
    .expect("test pattern");
    let mut session = Session::open(config.clone()).expect("session opens");
    let mut out = Vec::new();
    while let Some(frame) = src.next_frame().expect("frame") {
        session.submit(frame).expect("submit");
        while let Some(o) = session.try_receive().expect("receive") {
            out.push(o);
        }
    }
    out.extend(session.close().expect("close"));
    split(out)
}

/// The pattern encoded and written in the codec's default format to `name.<ext>` in a fresh
/// temporary directory (kept alive by the returned guard).
pub fn encode_to_file(
    config: &SessionConfig,
    frames: u64,
    name: &str,
) -> (Encoded, tempfile::TempDir, std::path::PathBuf) {
    let enc = encode_pattern(config, frames);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let format = BitstreamFormat::default_for(config.codec);
    let path = dir
        .path()
        .join(format!("{name}.{}", format.extension(config.codec)));
    write(&enc.packets, &path, format, config);
    (enc, dir, path)
}

pub fn split(outputs: Vec<SessionOutput>) -> Encoded {
    let mut packets = Vec::new();
    let mut dropped = Vec::new();
    for o in outputs {
        match o {
            SessionOutput::Packet(p) => packets.push(p),
            SessionOutput::Dropped(s) => dropped.push(s),
            other => panic!("a session output these tests do not know: {other:?}"),
        }
    }
    Encoded { packets, dropped }
}

/// The frame numbers of the packets flagged as keyframes.
pub fn keyframe_numbers(packets: &[Packet]) -> Vec<u64> {
    packets
        .iter()
        .filter(|p| p.keyframe)
        .map(|p| p.frame_number)
        .collect()
}

/// The indices of the frames ffprobe decodes as key frames from `path`.
pub fn decoded_keyframes(path: &Path) -> Vec<usize> {
    probe_frames(path)
        .iter()
        .enumerate()
        .filter(|(_, f)| f.key)
        .map(|(i, _)| i)
        .collect()
}

/// Writes packets to `path` in `format`.
pub fn write(packets: &[Packet], path: &Path, format: BitstreamFormat, config: &SessionConfig) {
    let mut sink = open_sink(path, format, config).expect("sink");
    for p in packets {
        sink.write(p).expect("write");
    }
    sink.finish().expect("finish");
}

/// One decoded frame as ffprobe reports it.
#[derive(Debug, Clone)]
pub struct ProbedFrame {
    pub key: bool,
    pub pict_type: String,
    pub width: u32,
    pub height: u32,
    pub pix_fmt: String,
}

fn demuxer_args(path: &Path) -> Vec<String> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("obu") => vec!["-f".into(), "obu".into()],
        Some("h264") => vec!["-f".into(), "h264".into()],
        Some("h265") | Some("hevc") => vec!["-f".into(), "hevc".into()],
        _ => vec![],
    }
}

/// Decodes every frame with ffprobe and returns what it saw, in display order.
pub fn probe_frames(path: &Path) -> Vec<ProbedFrame> {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(demuxer_args(path))
        .args(["-select_streams", "v:0", "-show_frames"])
        .args([
            "-show_entries",
            "frame=key_frame,pict_type,width,height,pix_fmt",
            "-of",
            "csv=p=0:nk=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs (apt-get install ffmpeg)");
    assert!(
        out.status.success(),
        "ffprobe failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "ffprobe reported errors: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut f = ProbedFrame {
                key: false,
                pict_type: String::new(),
                width: 0,
                height: 0,
                pix_fmt: String::new(),
            };
            for kv in l.split(',') {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                match k {
                    "key_frame" => f.key = v == "1",
                    "pict_type" => f.pict_type = v.to_string(),
                    "width" => f.width = v.parse().unwrap_or(0),
                    "height" => f.height = v.parse().unwrap_or(0),
                    "pix_fmt" => f.pix_fmt = v.to_string(),
                    _ => {}
                }
            }
            f
        })
        .collect()
}

/// Decodes the file to raw frames of `pix_fmt` (yuv420p or yuv420p10le) with ffmpeg, with
/// errors fatal (`-xerror`).
pub fn decode_raw(path: &Path, pix_fmt: &str) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-xerror"])
        .args(demuxer_args(path))
        .arg("-i")
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", pix_fmt, "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg failed to decode {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// PSNR in dB between two equally long 8-bit buffers.
pub fn psnr8(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len(), "compared buffers differ in length");
    let se: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    let mse = se / a.len() as f64;
    if mse == 0.0 {
        return 99.0;
    }
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// PSNR in dB between two equally long buffers of little-endian 10-bit samples.
pub fn psnr10(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len(), "compared buffers differ in length");
    let sample = |c: &[u8]| f64::from(u16::from_le_bytes([c[0], c[1]]));
    let se: f64 = a
        .chunks_exact(2)
        .zip(b.chunks_exact(2))
        .map(|(x, y)| (sample(x) - sample(y)).powi(2))
        .sum();
    let mse = se / (a.len() / 2) as f64;
    if mse == 0.0 {
        return 99.0;
    }
    10.0 * (1023.0f64 * 1023.0 / mse).log10()
}

/// The source frames of the test pattern, tightly packed, for comparison with decoded output.
pub fn pattern_frames(
    format: PixelFormat,
    width: u32,
    height: u32,
    fps: Rational,
    frames: u64,
) -> Vec<Vec<u8>> {
    let p = TestPattern::new(format, width, height, fps, None).expect("pattern");
    (0..frames)
        .map(|n| p.frame(n).expect("frame").data().to_vec())
        .collect()
}

/// Finds the first box of type `kind` anywhere in an ISO-BMFF (MP4) file, descending into the
/// containers on the way to a sample entry; returns its payload.
pub fn find_mp4_box<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    const CONTAINERS: [&[u8; 4]; 6] = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"];
    let mut pos = 0;
    while pos + 8 <= data.len() {
        let size = u32::from_be_bytes(data[pos..pos + 4].try_into().ok()?) as usize;
        let t: &[u8; 4] = data[pos + 4..pos + 8].try_into().ok()?;
        if size < 8 || pos + size > data.len() {
            return None;
        }
        let body = &data[pos + 8..pos + size];
        if t == kind {
            return Some(body);
        }
        if CONTAINERS.contains(&t) {
            let inner = if t == b"stsd" { &body[8..] } else { body };
            if let Some(found) = find_mp4_box(inner, kind) {
                return Some(found);
            }
        }
        // Visual sample entries (avc1/hev1/hvc1/av01): 78 bytes of fields, then boxes.
        if [b"avc1", b"hev1", b"hvc1", b"av01"].contains(&t) && body.len() > 78 {
            if let Some(found) = find_mp4_box(&body[78..], kind) {
                return Some(found);
            }
        }
        pos += size;
    }
    None
}

/// Remuxes a bitstream file into MP4 with ffmpeg (no re-encode) and returns the MP4's bytes.
pub fn remux_mp4(input: &Path, out: &Path) -> Vec<u8> {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(demuxer_args(input))
        .arg("-i")
        .arg(input)
        .args(["-c", "copy"])
        .arg(out)
        .status()
        .expect("ffmpeg runs");
    assert!(
        status.success(),
        "ffmpeg could not remux {}",
        input.display()
    );
    std::fs::read(out).expect("mp4 written")
}

/// A generous timeout for one packet from a software encoder on a slow CI machine.
pub const PACKET_TIMEOUT: Duration = Duration::from_secs(20);
