//! Benchmarks encode paths side by side (the engine of `ghoststream bench`, feature `bench`).
//!
//! [`run`] encodes one deterministic input (the moving test pattern, or a Y4M file) through each
//! encode path asked for (software x264, x265 and SVT-AV1 at chosen presets; NVENC and Vulkan
//! Video where [`crate::probe`] finds them, otherwise listed with the reason) at each size, and
//! measures for each: throughput (fps), per-frame latency from `submit` to the packet (median and
//! p99, frames sent one at a time), CPU time per frame (the process's CPU clock around the run),
//! bitrate, and quality (PSNR and SSIM of the luma plane against the source, the packets decoded
//! by the `ffmpeg` program). Optionally it runs another tool's command line on the same input
//! ([`BenchConfig::compare`]) and times the GPU passes against a device copy of the same bytes
//! ([`BenchConfig::gpu_passes`], with the harness of `src/gpu/bench.rs`).
//!
//! The [`BenchReport`] it returns writes itself as JSON, a Markdown table and SVG charts
//! ([`BenchReport::write_to`]); docs/BENCH.md documents every field. Progress goes to the
//! caller's closure; the library prints nothing.

mod chart;
mod compare;
mod encode;
mod error;
mod gpu;
mod input;
mod quality;
mod report;
mod rusage;

use std::path::PathBuf;

pub use error::BenchError;
pub use input::BenchInput;

use crate::codec::Codec;
use crate::config::{BackendKind, GpuChoice, Preset};
use crate::time::Rational;

/// One encode path: an encoder backend, a codec and a preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EncodePath {
    /// The backend.
    pub backend: BackendKind,
    /// The codec.
    pub codec: Codec,
    /// The preset (P1 fastest .. P7 best).
    pub preset: Preset,
}

/// The encoder names [`EncodePath::parse`] takes, with the backend and codec of each.
const ENCODERS: &[(&str, BackendKind, Codec)] = &[
    ("x264", BackendKind::Software, Codec::H264),
    ("x265", BackendKind::Software, Codec::Hevc),
    ("svt-av1", BackendKind::Software, Codec::Av1),
    ("nvenc-h264", BackendKind::Nvenc, Codec::H264),
    ("nvenc-hevc", BackendKind::Nvenc, Codec::Hevc),
    ("nvenc-av1", BackendKind::Nvenc, Codec::Av1),
    ("vulkan-h264", BackendKind::VulkanVideo, Codec::H264),
    ("vulkan-hevc", BackendKind::VulkanVideo, Codec::Hevc),
    ("vulkan-av1", BackendKind::VulkanVideo, Codec::Av1),
];

impl EncodePath {
    /// A path.
    pub const fn new(backend: BackendKind, codec: Codec, preset: Preset) -> Self {
        Self {
            backend,
            codec,
            preset,
        }
    }

    /// Parses `ENCODER[:PRESET]`: ENCODER one of x264, x265, svt-av1, nvenc-h264, nvenc-hevc,
    /// nvenc-av1, vulkan-h264, vulkan-hevc, vulkan-av1; PRESET p1..p7 (default p4).
    pub fn parse(value: &str) -> Result<Self, BenchError> {
        let unknown = || BenchError::UnknownPath {
            value: value.into(),
            known: ENCODERS.iter().map(|e| e.0).collect::<Vec<_>>().join(", "),
        };
        let (name, preset) = match value.split_once(':') {
            Some((n, p)) => (n, p.parse::<Preset>().map_err(|_| unknown())?),
            None => (value, Preset::P4),
        };
        let name = name.trim().to_ascii_lowercase();
        let name = if name == "av1" || name == "svtav1" {
            "svt-av1".to_string()
        } else {
            name
        };
        let &(_, backend, codec) = ENCODERS.iter().find(|e| e.0 == name).ok_or_else(unknown)?;
        Ok(Self::new(backend, codec, preset))
    }

    /// The encoder's name as [`parse`](Self::parse) takes it (x264, nvenc-hevc, ...).
    pub fn encoder_name(&self) -> &'static str {
        ENCODERS
            .iter()
            .find(|e| e.1 == self.backend && e.2 == self.codec)
            .map_or("?", |e| e.0)
    }

    /// The label in tables and charts: the encoder and its own preset name where it has one
    /// (`x264 veryfast`, `svt-av1 preset 10`, `nvenc-h264 p4`).
    pub fn label(&self) -> String {
        format!("{} {}", self.encoder_name(), self.preset_label())
    }

    /// The preset as the encoder names it.
    pub fn preset_label(&self) -> String {
        #[cfg(feature = "software")]
        if self.backend == BackendKind::Software {
            let name = crate::encode::software::preset_name(self.codec, self.preset);
            return match self.codec {
                Codec::Av1 => format!("preset {name}"),
                _ => name,
            };
        }
        self.preset.name().to_string()
    }

    /// The default set: x264 at P2 and P4, x265 and SVT-AV1 at P2, and NVENC and Vulkan Video
    /// for each codec at P4 (reported as not available where the probe finds none).
    pub fn defaults() -> Vec<Self> {
        let mut v = vec![
            Self::new(BackendKind::Software, Codec::H264, Preset::P2),
            Self::new(BackendKind::Software, Codec::H264, Preset::P4),
            Self::new(BackendKind::Software, Codec::Hevc, Preset::P2),
            Self::new(BackendKind::Software, Codec::Av1, Preset::P2),
        ];
        for backend in [BackendKind::Nvenc, BackendKind::VulkanVideo] {
            for codec in [Codec::H264, Codec::Hevc, Codec::Av1] {
                v.push(Self::new(backend, codec, Preset::P4));
            }
        }
        v
    }

    /// The `--quick` set: x264 at P1 and SVT-AV1 at P1, both fast.
    pub fn quick() -> Vec<Self> {
        vec![
            Self::new(BackendKind::Software, Codec::H264, Preset::P1),
            Self::new(BackendKind::Software, Codec::Av1, Preset::P1),
        ]
    }
}

/// Parses a frame size: `WxH`, or `720p`, `1080p`, `1440p`, `4k`/`2160p`.
pub fn parse_size(value: &str) -> Result<(u32, u32), BenchError> {
    let bad = |reason: &str| BenchError::BadSize {
        value: value.into(),
        reason: reason.into(),
    };
    let v = value.trim().to_ascii_lowercase();
    let named = match v.as_str() {
        "360p" => Some((640, 360)),
        "480p" => Some((854, 480)),
        "720p" => Some((1280, 720)),
        "1080p" => Some((1920, 1080)),
        "1440p" => Some((2560, 1440)),
        "4k" | "2160p" => Some((3840, 2160)),
        _ => None,
    };
    let (w, h) = match named {
        Some(s) => s,
        None => {
            let (w, h) = v
                .split_once('x')
                .ok_or_else(|| bad("expected WIDTHxHEIGHT (1280x720) or 720p, 1080p, 1440p, 4k"))?;
            let n = |s: &str| {
                s.trim()
                    .parse::<u32>()
                    .map_err(|_| bad("width and height are whole numbers (1280x720)"))
            };
            (n(w)?, n(h)?)
        }
    };
    if w < 64 || h < 64 || w > 8192 || h > 8192 {
        return Err(bad(
            "each side must be 64 to 8192 pixels (every encoder here takes that range)",
        ));
    }
    if w % 2 != 0 || h % 2 != 0 {
        return Err(bad("width and height must be even (the frames are 4:2:0)"));
    }
    Ok((w, h))
}

/// What to measure: see [`run`].
#[derive(Clone, Debug, PartialEq)]
pub struct BenchConfig {
    /// The encode paths, in order (empty: none; see [`EncodePath::defaults`]).
    pub paths: Vec<EncodePath>,
    /// Frame sizes of the generated input (ignored for a Y4M input, which has its own).
    pub sizes: Vec<(u32, u32)>,
    /// A Y4M file to encode instead of the test pattern (8-bit 4:2:0).
    pub input: Option<PathBuf>,
    /// Frames encoded for throughput, CPU, bitrate and quality.
    pub frames: u32,
    /// Frames sent one at a time for latency (at most `frames`).
    pub latency_frames: u32,
    /// The nominal frame rate (rate control and bitrate figures).
    pub frame_rate: Rational,
    /// Bitrate in bits per second; `None`: the session default for the size (8 Mbit/s at 1080p60,
    /// scaled by pixels per second).
    pub bitrate: Option<u64>,
    /// Other tools' command lines run on the same input through `sh -c`, with placeholders
    /// filled in: `{input}` (the input as a Y4M file), `{output}` (a `.mkv` file in the work
    /// folder for the command to write), `{width}`, `{height}`, `{fps}` (`60/1`), `{frames}`.
    pub compare: Vec<String>,
    /// Time the GPU passes against a device copy of the same bytes.
    pub gpu_passes: bool,
    /// Sizes of the GPU conversion benchmark (BGRA -> NV12); the fused pass is timed at 4K -> 1080p
    /// when 4K is among them.
    pub gpu_sizes: Vec<(u32, u32)>,
    /// Timed dispatches per GPU pass.
    pub gpu_iterations: usize,
    /// Compute PSNR and SSIM (needs the `ffmpeg` program to decode).
    pub quality: bool,
    /// Give the encode paths BGRA8 frames (as screen capture does) instead of I420: the session
    /// converts them, on the GPU as [`gpu`](Self::gpu) says. Making each BGRA frame (on the CPU,
    /// before it is submitted) is left out of the wall and CPU times.
    pub rgb: bool,
    /// Where sessions process RGB frames (with [`rgb`](Self::rgb)).
    pub gpu: GpuChoice,
    /// Where the encoded streams and the comparison's files go while the bench runs.
    pub work_dir: PathBuf,
}

impl BenchConfig {
    /// The full run: [`EncodePath::defaults`] at 720p and 1080p, 120 frames at 60 fps, 60 of them
    /// for latency; GPU passes off.
    pub fn full(work_dir: PathBuf) -> Self {
        Self {
            paths: EncodePath::defaults(),
            sizes: vec![(1280, 720), (1920, 1080)],
            input: None,
            frames: 120,
            latency_frames: 60,
            frame_rate: Rational::new(60, 1),
            bitrate: None,
            compare: Vec::new(),
            gpu_passes: false,
            gpu_sizes: vec![(1920, 1080), (3840, 2160)],
            gpu_iterations: 100,
            quality: true,
            rgb: false,
            gpu: GpuChoice::Auto,
            work_dir,
        }
    }

    /// The `--quick` run, a few seconds: [`EncodePath::quick`] at 320x180, 20 frames (10 for
    /// latency); GPU passes (when asked for) at 320x180, 20 iterations.
    pub fn quick(work_dir: PathBuf) -> Self {
        Self {
            paths: EncodePath::quick(),
            sizes: vec![(320, 180)],
            frames: 20,
            latency_frames: 10,
            // The pattern's noise needs more than the size's default (250 kbit/s) for a
            // picture worth measuring.
            bitrate: Some(2_000_000),
            gpu_sizes: vec![(320, 180)],
            gpu_iterations: 20,
            ..Self::full(work_dir)
        }
    }

    fn validate(&self) -> Result<(), BenchError> {
        let bad = |what, value: String, reason: &str| BenchError::BadSetting {
            what,
            value,
            reason: reason.into(),
        };
        if !(1..=100_000).contains(&self.frames) {
            return Err(bad(
                "frames",
                self.frames.to_string(),
                "give 1 to 100000 (--frames)",
            ));
        }
        if self.latency_frames > self.frames {
            return Err(bad(
                "latency frames",
                self.latency_frames.to_string(),
                "at most --frames",
            ));
        }
        let fps = self.frame_rate.as_f64();
        if !(1.0..=1000.0).contains(&fps) {
            return Err(bad(
                "frame rate",
                format!("{fps}"),
                "give 1 to 1000 (--fps)",
            ));
        }
        if let Some(b) = self.bitrate {
            if !(crate::config::MIN_BITRATE..=crate::config::MAX_BITRATE).contains(&b) {
                return Err(bad(
                    "bitrate",
                    b.to_string(),
                    "give 1k to 2G bits per second (--bitrate 6M)",
                ));
            }
        }
        for command in &self.compare {
            compare::check(command)?;
        }
        if self.gpu_passes && !(1..=100_000).contains(&self.gpu_iterations) {
            return Err(bad(
                "GPU iterations",
                self.gpu_iterations.to_string(),
                "give 1 to 100000 (--gpu-iterations)",
            ));
        }
        Ok(())
    }
}

/// What [`run`] reports while it works, for a progress display.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Progress {
    /// Step `index` (from 1) of `total` starts: an encode path or a comparison at a size.
    Step {
        /// This step, from 1.
        index: usize,
        /// Steps in all.
        total: usize,
        /// The path's or command's label.
        label: String,
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// Frames it encodes.
        frames: u32,
    },
    /// A phase within the step: "throughput", "latency", "quality (decoding)", ...
    Phase {
        /// The phase.
        phase: &'static str,
        /// Frames done in it.
        done: u32,
        /// Frames in it; 0 when not counted in frames.
        of: u32,
    },
    /// A path is not available here, with the reason.
    Unavailable {
        /// The path's label.
        label: String,
        /// Why.
        reason: String,
    },
    /// A step failed; the bench goes on with the next.
    Failed {
        /// The path's or command's label.
        label: String,
        /// The error.
        reason: String,
    },
    /// A GPU pass is being timed.
    GpuPass {
        /// Which.
        name: String,
    },
}

/// Per-frame latency, `submit` to packet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latency {
    /// Median, milliseconds.
    pub median_ms: f64,
    /// 99th percentile (nearest rank), milliseconds.
    pub p99_ms: f64,
    /// Frames measured.
    pub frames: u32,
    /// True: each frame was sent after the previous one's packet came out (the encoder's own
    /// time). False: the encoder held frames back, so they were sent at the nominal frame rate
    /// and the figures include the frames it holds.
    pub serial: bool,
}

/// PSNR and SSIM of the luma plane against the source.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quality {
    /// PSNR over all frames (from the mean squared error of every luma sample), dB; 100 when
    /// identical.
    pub psnr_db: f64,
    /// Mean SSIM (8x8 windows, step 4) over all frames, 0..1.
    pub ssim: f64,
    /// Frames compared.
    pub frames: u32,
}

/// GPU work of a path that processes frames on the GPU.
#[derive(Clone, Debug, PartialEq)]
pub struct GpuUse {
    /// The session's processing description (device and pass).
    pub processing: String,
    /// Median GPU time of a frame's pass in the session (timestamps), ms; `None` when the
    /// device gives no timestamps.
    pub frame_pass_ms: Option<f64>,
    /// The conversion harness at this size: BGRA -> NV12, µs.
    pub convert_us: Option<f64>,
    /// A device copy of the same bytes in the same run, µs.
    pub copy_us: Option<f64>,
}

/// Where a result row came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    /// A GhostStream encode path.
    Encode,
    /// Another tool's command line (`--compare`).
    Compare,
}

/// One row of the report: a path (or a comparison command) at a size.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchResult {
    /// Encode path or command.
    pub kind: RowKind,
    /// The label in tables and charts.
    pub label: String,
    /// The encoder (x264, nvenc-hevc, ...); `None` for a comparison.
    pub encoder: Option<String>,
    /// The backend's own description (library, version, options); the command line for a
    /// comparison.
    pub detail: String,
    /// The codec; `None` for a comparison.
    pub codec: Option<Codec>,
    /// The preset as the encoder names it; `None` for a comparison.
    pub preset: Option<String>,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Frames encoded in the throughput run.
    pub frames: u32,
    /// Frames per second of the throughput run (all frames queued as fast as taken), from the
    /// first submit to the last packet (for a comparison: the command's wall time).
    pub fps: f64,
    /// Wall time of the throughput run, seconds.
    pub wall_s: f64,
    /// Per-frame latency; `None` for a comparison (not measurable from outside).
    pub latency: Option<Latency>,
    /// CPU time per frame, ms (process CPU clock; a comparison: its child's rusage).
    pub cpu_ms_per_frame: f64,
    /// Bytes of the encoded stream.
    pub bytes: u64,
    /// Bitrate at the nominal frame rate, kbit/s.
    pub bitrate_kbps: f64,
    /// Quality; `None` with [`quality_note`](Self::quality_note) saying why.
    pub quality: Option<Quality>,
    /// Why quality is missing, or a remark about it.
    pub quality_note: Option<String>,
    /// GPU work; `None` with [`gpu_note`](Self::gpu_note) saying why.
    pub gpu: Option<GpuUse>,
    /// Why there is no GPU figure.
    pub gpu_note: Option<String>,
}

/// A path the bench could not run here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable {
    /// The path's label.
    pub label: String,
    /// Why (the probe's or the session's reason, with its fix).
    pub reason: String,
}

/// One GPU pass timed against copies of the same byte count.
#[derive(Clone, Debug, PartialEq)]
pub struct GpuPassResult {
    /// The pass.
    pub name: String,
    /// Input size and format.
    pub input: String,
    /// Output size and format.
    pub output: String,
    /// Fewest bytes the pass must move (read once, written once).
    pub bytes: u64,
    /// Median GPU time of the pass, µs.
    pub gpu_us: f64,
    /// Median GPU time of `vkCmdCopyBuffer` moving the same bytes, µs (the conversion's own
    /// run; for the other passes, their bytes at the copy's bandwidth in the conversion run of
    /// the same input size).
    pub copy_us: Option<f64>,
    /// Median GPU time of a compute-shader copy of the same bytes, µs.
    pub shader_copy_us: Option<f64>,
    /// Median CPU time to record and submit one pass, µs.
    pub record_submit_us: f64,
}

/// The GPU pass section.
#[derive(Clone, Debug, PartialEq)]
pub struct GpuPasses {
    /// The Vulkan device (name, kind, driver); or why there is none.
    pub device: String,
    /// Timed dispatches per pass.
    pub iterations: usize,
    /// The passes timed.
    pub passes: Vec<GpuPassResult>,
    /// Passes that failed, with the reason.
    pub failed: Vec<(String, String)>,
}

/// The machine the bench ran on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    /// Logical CPUs available to the process.
    pub cpus: usize,
    /// The CPU model (from /proc/cpuinfo), or "unknown".
    pub cpu_model: String,
    /// The kernel release (from /proc/sys/kernel/osrelease), or "unknown".
    pub kernel: String,
}

/// Everything [`run`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchReport {
    /// GhostStream's version.
    pub version: String,
    /// When the run started, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub started_utc: String,
    /// The machine.
    pub machine: Machine,
    /// The input.
    pub input: input::InputInfo,
    /// How quality was computed: the decoder used, or why it was not.
    pub quality_method: String,
    /// One row per path (or comparison) and size.
    pub results: Vec<BenchResult>,
    /// Paths not available here.
    pub unavailable: Vec<Unavailable>,
    /// The GPU pass section, when asked for.
    pub gpu_passes: Option<GpuPasses>,
}

pub use input::InputInfo;
pub use report::SCHEMA_VERSION;

/// Now, UTC, as `YYYY-MM-DDTHH:MM:SSZ` (the report's `started_utc`; the tool's default folder).
pub fn utc_now() -> String {
    report::utc_now()
}

/// Runs the benchmark `config` describes, reporting progress to `progress`. A path that cannot
/// run here is listed in [`BenchReport::unavailable`]; a path or comparison that fails while
/// running is too, with the error. Errors: a setting out of range, a comparison without its
/// placeholders, an unreadable input, an unwritable work folder, nothing to measure.
pub fn run(
    config: &BenchConfig,
    progress: &mut dyn FnMut(&Progress),
) -> Result<BenchReport, BenchError> {
    config.validate()?;
    let started_utc = report::utc_now();
    std::fs::create_dir_all(&config.work_dir).map_err(|e| BenchError::Write {
        path: config.work_dir.clone(),
        reason: e.to_string(),
    })?;
    let decoder = if config.quality {
        quality::Decoder::find()
    } else {
        Err("not asked for (--no-quality)".to_string())
    };
    let quality_method = match &decoder {
        Ok(d) => d.describe(),
        Err(why) => format!("none: {why}"),
    };

    // A file input is read first: a mistake in it is reported before anything runs.
    let file_input = match &config.input {
        Some(file) => Some(BenchInput::from_y4m(file, config.frames)?),
        None => None,
    };
    // Which paths can run: the probe's answer for each backend and codec.
    let mut unavailable = Vec::new();
    let mut runnable = Vec::new();
    for path in &config.paths {
        match encode::available(path) {
            Ok(()) => runnable.push(*path),
            Err(reason) => {
                progress(&Progress::Unavailable {
                    label: path.label(),
                    reason: reason.clone(),
                });
                unavailable.push(Unavailable {
                    label: path.label(),
                    reason,
                });
            }
        }
    }
    let encodes = !runnable.is_empty() || !config.compare.is_empty();
    // One input at a time (made when its turn comes): a file's, or the pattern at each size.
    let sizes: Vec<Option<(u32, u32)>> = match (&file_input, encodes) {
        (_, false) => Vec::new(),
        (Some(_), true) => vec![None],
        (None, true) => config.sizes.iter().copied().map(Some).collect(),
    };
    let mut file_input = file_input;
    let total = sizes.len() * (runnable.len() + config.compare.len());
    let mut index = 0;
    let mut results = Vec::new();
    let mut input_info = None;
    let mut gpu_ctx = gpu::Lazy::default();
    for size in sizes {
        let input = match (size, file_input.take()) {
            (Some((w, h)), _) => BenchInput::pattern(w, h, config.frame_rate, config.frames)?,
            (None, Some(input)) => input,
            (None, None) => break,
        };
        input_info.get_or_insert_with(|| InputInfo {
            rgb: config.rgb,
            ..input.info()
        });
        let input = &input;
        for path in &runnable {
            index += 1;
            progress(&Progress::Step {
                index,
                total,
                label: path.label(),
                width: input.width(),
                height: input.height(),
                frames: input.frames(),
            });
            match encode::measure(
                path,
                input,
                config,
                decoder.as_ref().ok(),
                &mut gpu_ctx,
                progress,
            ) {
                Ok(r) => results.push(r),
                Err(reason) => {
                    progress(&Progress::Failed {
                        label: path.label(),
                        reason: reason.clone(),
                    });
                    unavailable.push(Unavailable {
                        label: format!("{} {}x{}", path.label(), input.width(), input.height()),
                        reason,
                    });
                }
            }
        }
        for (i, command) in config.compare.iter().enumerate() {
            index += 1;
            progress(&Progress::Step {
                index,
                total,
                label: command.clone(),
                width: input.width(),
                height: input.height(),
                frames: input.frames(),
            });
            match compare::measure(command, i, input, config, decoder.as_ref().ok(), progress) {
                Ok(r) => results.push(r),
                Err(e) => {
                    progress(&Progress::Failed {
                        label: command.clone(),
                        reason: e.to_string(),
                    });
                    unavailable.push(Unavailable {
                        label: format!("{command} {}x{}", input.width(), input.height()),
                        reason: e.to_string(),
                    });
                }
            }
        }
    }
    let gpu_passes = if config.gpu_passes {
        Some(gpu::passes(config, &mut gpu_ctx, progress))
    } else {
        None
    };
    Ok(BenchReport {
        version: env!("CARGO_PKG_VERSION").into(),
        started_utc,
        machine: Machine::this(),
        input: input_info.unwrap_or_else(|| InputInfo::none(config)),
        quality_method,
        results,
        unavailable,
        gpu_passes,
    })
}

impl Machine {
    /// This machine's CPU count, CPU model and kernel release.
    pub fn this() -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        Self {
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model,
            kernel,
        }
    }
}

/// The median and the 99th percentile (nearest rank) of `values`; `None` when empty.
pub fn median_p99(values: &[f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    // Nearest rank: the smallest value with at least 99% of the values at or below it.
    let rank = (0.99 * v.len() as f64).ceil();
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "1 <= rank <= len, a small positive whole number"
    )]
    let p99 = v[(rank as usize).clamp(1, v.len()) - 1];
    Some((median, p99))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_with_presets_and_name_the_fix() {
        assert_eq!(
            EncodePath::parse("x264:p2").unwrap(),
            EncodePath::new(BackendKind::Software, Codec::H264, Preset::P2)
        );
        assert_eq!(
            EncodePath::parse("AV1").unwrap(),
            EncodePath::new(BackendKind::Software, Codec::Av1, Preset::P4)
        );
        assert_eq!(
            EncodePath::parse("nvenc-hevc:p7").unwrap(),
            EncodePath::new(BackendKind::Nvenc, Codec::Hevc, Preset::P7)
        );
        let e = EncodePath::parse("x266").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown encode path 'x266': expected ENCODER[:PRESET] with ENCODER one of x264, x265, svt-av1, nvenc-h264, nvenc-hevc, nvenc-av1, vulkan-h264, vulkan-hevc, vulkan-av1 and PRESET p1..p7 (for example x264:p2)"
        );
        assert!(EncodePath::parse("x264:fast").is_err());
    }

    #[test]
    fn sizes_parse_and_refuse_with_the_reason() {
        assert_eq!(parse_size("720p").unwrap(), (1280, 720));
        assert_eq!(parse_size("4K").unwrap(), (3840, 2160));
        assert_eq!(parse_size("320x180").unwrap(), (320, 180));
        assert_eq!(
            parse_size("321x180").unwrap_err().to_string(),
            "frame size '321x180': width and height must be even (the frames are 4:2:0)"
        );
        assert_eq!(
            parse_size("big").unwrap_err().to_string(),
            "frame size 'big': expected WIDTHxHEIGHT (1280x720) or 720p, 1080p, 1440p, 4k"
        );
        assert!(parse_size("32x32").is_err());
    }

    #[test]
    fn median_and_p99_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(median_p99(&v), Some((50.5, 99.0)));
        assert_eq!(median_p99(&[3.0, 1.0, 2.0]), Some((2.0, 3.0)));
        assert_eq!(median_p99(&[]), None);
    }

    #[test]
    fn settings_out_of_range_are_refused_by_name() {
        let mut c = BenchConfig::quick(std::env::temp_dir());
        c.latency_frames = 50;
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "latency frames 50: at most --frames"
        );
        c.latency_frames = 0;
        c.frames = 0;
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "frames 0: give 1 to 100000 (--frames)"
        );
    }
}
