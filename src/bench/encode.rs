//! One encode path at one size: a throughput run (every frame queued as fast as the session
//! takes it: fps, CPU per frame, bitrate, and the stream for quality), then a latency run
//! (one frame at a time: `submit` to packet).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::input::BenchInput;
use super::quality::{self, Decoder};
use super::rusage::{process_cpu_s, thread_cpu_s};
use super::{
    gpu, median_p99, BenchConfig, BenchResult, EncodePath, GpuUse, Latency, Progress, RowKind,
};
use crate::codec::Codec;
use crate::config::{BackendChoice, RateControl, SessionConfig};
use crate::encode::BACKENDS;
use crate::format::PixelFormat;
use crate::frame::{CpuImage, Frame};
use crate::output::{open_sink, BitstreamFormat};
use crate::packet::Packet;
use crate::session::{Session, SessionOutput};
use crate::time::Timestamp;

/// The least the latency run waits for one frame's packet before it takes the encoder to hold
/// frames back (lookahead); the wait is also at least 20 times the throughput run's time per
/// frame.
const PACKET_WAIT: Duration = Duration::from_millis(250);

/// Whether `path` can run here: the backend's own probe for the codec.
pub(super) fn available(path: &EncodePath) -> Result<(), String> {
    let factory = BACKENDS
        .iter()
        .find(|f| f.kind() == path.backend)
        .ok_or_else(|| format!("this build has no {} backend", path.backend))?;
    factory.probe(path.codec).map(|_| ())
}

/// A run's frames, each made just before it is submitted (a copy of the I420 frame, or the
/// BGRA frame made from it), the time spent making them counted apart so that it can be left
/// out of the run's wall and CPU time. Holding one frame at a time keeps a long 4K run small.
struct Frames<'a> {
    input: &'a BenchInput,
    rgb: bool,
    making_wall_s: f64,
    making_cpu_s: f64,
}

impl<'a> Frames<'a> {
    fn new(input: &'a BenchInput, rgb: bool) -> Self {
        Self {
            input,
            rgb,
            making_wall_s: 0.0,
            making_cpu_s: 0.0,
        }
    }

    fn next(&mut self, n: usize) -> Result<CpuImage, String> {
        let (t0, c0) = (Instant::now(), thread_cpu_s());
        let img = if self.rgb {
            self.input.bgra(n).map_err(|e| e.to_string())?
        } else {
            self.input.copy(n).ok_or_else(|| format!("no frame {n}"))?
        };
        self.making_wall_s += t0.elapsed().as_secs_f64();
        self.making_cpu_s += thread_cpu_s() - c0;
        Ok(img)
    }
}

/// The session configuration of `path` for `input`.
fn session_config(path: &EncodePath, input: &BenchInput, config: &BenchConfig) -> SessionConfig {
    let mut cfg = SessionConfig::new(
        path.codec,
        input.width(),
        input.height(),
        input.frame_rate(),
    );
    cfg.backend = BackendChoice::Only(path.backend);
    cfg.preset = path.preset;
    if config.rgb {
        cfg.input_format = PixelFormat::Bgra8;
        cfg.gpu = config.gpu.clone();
    }
    if let Some(bitrate) = config.bitrate {
        cfg.rate_control = RateControl::Cbr { bitrate };
    }
    cfg
}

fn pts(input: &BenchInput, n: usize) -> Timestamp {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    Timestamp::from_nanos(input.frame_rate().frames_to_nanos(n))
}

/// Measures `path` on `input`. Errors are the session's, as text (the row is then listed as
/// unavailable with it).
pub(super) fn measure(
    path: &EncodePath,
    input: &BenchInput,
    config: &BenchConfig,
    decoder: Option<&Decoder>,
    gpu_ctx: &mut gpu::Lazy,
    progress: &mut dyn FnMut(&Progress),
) -> Result<BenchResult, String> {
    let cfg = session_config(path, input, config);
    let frames = input.frames();

    // Throughput: every frame queued as fast as the session takes it.
    let mut images = Frames::new(input, config.rgb);
    let mut session = Session::open(cfg.clone()).map_err(|e| e.to_string())?;
    let detail = session.backend_report().description.clone();
    let processing = session.processing_description().to_string();
    let uses_gpu = session.gpu_context().is_some();
    let mut packets: Vec<Packet> = Vec::with_capacity(frames as usize);
    let collect = |out: SessionOutput, packets: &mut Vec<Packet>| {
        if let SessionOutput::Packet(p) = out {
            packets.push(p);
        }
    };
    let step = (frames / 10).max(1);
    let cpu0 = process_cpu_s();
    let t0 = Instant::now();
    for i in 0..frames as usize {
        let img = images.next(i)?;
        session
            .submit(Frame::from_cpu(img, pts(input, i)))
            .map_err(|e| e.to_string())?;
        while let Some(out) = session.try_receive().map_err(|e| e.to_string())? {
            collect(out, &mut packets);
        }
        let done = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if done % step == 0 {
            progress(&Progress::Phase {
                phase: "throughput",
                done,
                of: frames,
            });
        }
    }
    for out in session.close().map_err(|e| e.to_string())? {
        collect(out, &mut packets);
    }
    let wall_s = t0.elapsed().as_secs_f64() - images.making_wall_s;
    let cpu_s = process_cpu_s() - cpu0 - images.making_cpu_s;
    drop(session);
    if packets.len() != frames as usize {
        return Err(format!(
            "the encoder gave {} packets for {frames} frames",
            packets.len()
        ));
    }
    let bytes: u64 = packets.iter().map(|p| p.data.len() as u64).sum();
    let duration_s = f64::from(frames) / input.frame_rate().as_f64();
    let gpu_times: Vec<f64> = packets
        .iter()
        .filter_map(|p| p.stats.gpu_time)
        .map(|t| t.as_millis_f64())
        .collect();

    // The stream, for quality (and for the user to look at).
    let (format, ext) = match path.codec {
        Codec::Av1 => (BitstreamFormat::Ivf, "ivf"),
        Codec::H264 => (BitstreamFormat::AnnexB, "h264"),
        Codec::Hevc => (BitstreamFormat::AnnexB, "hevc"),
    };
    let file: PathBuf = config.work_dir.join(format!(
        "{}-{}-{}x{}.{ext}",
        path.encoder_name(),
        path.preset.name(),
        input.width(),
        input.height()
    ));
    let mut sink = open_sink(&file, format, &cfg).map_err(|e| e.to_string())?;
    for p in &packets {
        sink.write(p).map_err(|e| e.to_string())?;
    }
    sink.finish().map_err(|e| e.to_string())?;
    drop(packets);

    let wait = PACKET_WAIT.max(Duration::from_secs_f64(20.0 * wall_s / f64::from(frames)));
    // A file with fewer frames than asked for gives what it has.
    let latency_frames = config.latency_frames.min(frames);
    let latency = latency_run(&cfg, input, latency_frames, wait, progress)?;

    let (quality, quality_note) = quality::measure(decoder, &file, input, progress);

    let (gpu, gpu_note) = if uses_gpu {
        let harness = gpu_ctx
            .get()
            .and_then(|ctx| gpu::convert_vs_copy(&ctx, input.width(), input.height(), 50, false));
        let (convert_us, copy_us, note) = match harness {
            Ok(b) => (Some(b.convert_ns / 1e3), Some(b.copy_ns / 1e3), None),
            Err(e) => (None, None, Some(format!("conversion harness: {e}"))),
        };
        (
            Some(GpuUse {
                processing,
                frame_pass_ms: median_p99(&gpu_times).map(|m| m.0),
                convert_us,
                copy_us,
            }),
            note,
        )
    } else {
        (
            None,
            Some(format!(
                "not used: the session's processing is '{processing}'{}",
                if config.rgb {
                    ""
                } else {
                    " (--rgb gives the sessions BGRA frames, as screen capture does)"
                }
            )),
        )
    };

    Ok(BenchResult {
        kind: RowKind::Encode,
        label: path.label(),
        encoder: Some(path.encoder_name().into()),
        detail,
        codec: Some(path.codec),
        preset: Some(path.preset_label()),
        width: input.width(),
        height: input.height(),
        frames,
        fps: f64::from(frames) / wall_s,
        wall_s,
        latency,
        cpu_ms_per_frame: cpu_s * 1e3 / f64::from(frames),
        bytes,
        bitrate_kbps: bytes as f64 * 8.0 / duration_s / 1e3,
        quality,
        quality_note,
        gpu,
        gpu_note,
    })
}

/// Sends `count` frames one at a time, each after the previous one's packet came out, and
/// returns the `submit` to packet latencies. `wait` bounds the wait for one packet: an encoder
/// that holds frames back (lookahead) gives none in time, and the run is made again with the
/// frames sent at the nominal rate without waiting ([`Latency::serial`] false), so the encoder's
/// own delay is in the figures.
fn latency_run(
    cfg: &SessionConfig,
    input: &BenchInput,
    count: u32,
    wait: Duration,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Option<Latency>, String> {
    if count == 0 {
        return Ok(None);
    }
    let latencies = match timed_frames(cfg, input, count, Some(wait), progress)? {
        Some(l) => (l, true),
        None => {
            let l = timed_frames(cfg, input, count, None, progress)?.unwrap_or_default();
            (l, false)
        }
    };
    Ok(median_p99(&latencies.0).map(|(median_ms, p99_ms)| Latency {
        median_ms,
        p99_ms,
        frames: u32::try_from(latencies.0.len()).unwrap_or(u32::MAX),
        serial: latencies.1,
    }))
}

/// One latency session: with `wait`, each frame after the previous packet (`None` when a packet
/// did not come within `wait`); without, frames at the nominal rate.
fn timed_frames(
    cfg: &SessionConfig,
    input: &BenchInput,
    count: u32,
    wait: Option<Duration>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Option<Vec<f64>>, String> {
    let mut session = Session::open(cfg.clone()).map_err(|e| e.to_string())?;
    let mut latencies = Vec::with_capacity(count as usize);
    let mut received = 0usize;
    let record = |out: SessionOutput, latencies: &mut Vec<f64>, received: &mut usize| {
        if let SessionOutput::Packet(p) = out {
            *received += 1;
            if let Some(l) = p.stats.encode_latency() {
                latencies.push(l.as_millis_f64());
            }
        }
    };
    let interval = Duration::from_secs_f64(1.0 / input.frame_rate().as_f64());
    let start = Instant::now();
    let mut images = Frames::new(input, cfg.input_format == PixelFormat::Bgra8);
    for i in 0..count as usize {
        let img = images.next(i)?;
        if wait.is_none() {
            // At the nominal rate: frame i at i intervals from the start.
            let due = start + interval.saturating_mul(u32::try_from(i).unwrap_or(u32::MAX));
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        session
            .submit(Frame::from_cpu(img, pts(input, i)))
            .map_err(|e| e.to_string())?;
        if let Some(wait) = wait {
            let deadline = Instant::now() + wait;
            while received <= i {
                let left = deadline.saturating_duration_since(Instant::now());
                match session.receive_timeout(left).map_err(|e| e.to_string())? {
                    Some(out) => record(out, &mut latencies, &mut received),
                    None => return Ok(None),
                }
            }
        }
        while let Some(out) = session.try_receive().map_err(|e| e.to_string())? {
            record(out, &mut latencies, &mut received);
        }
        let done = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if done % (count / 5).max(1) == 0 {
            progress(&Progress::Phase {
                phase: if wait.is_some() {
                    "latency"
                } else {
                    "latency (at the frame rate: the encoder holds frames back)"
                },
                done,
                of: count,
            });
        }
    }
    for out in session.close().map_err(|e| e.to_string())? {
        record(out, &mut latencies, &mut received);
    }
    Ok(Some(latencies))
}
