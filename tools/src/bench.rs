//! `ghoststream bench`: the command line of [`ghoststream::bench`], its progress on stderr and
//! the report's files.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use ghoststream::bench::{self, BenchConfig, EncodePath, Progress};
use ghoststream::units;
use ghoststream::GpuChoice;

pub const EXAMPLES: &str =
    "What it measures, for each encode path and size: fps (every frame queued), latency
from submit to packet (median, p99; frames sent one at a time), CPU time per frame, bitrate,
and luma PSNR/SSIM against the source (the streams decoded by ffmpeg when it is on PATH).
Paths this machine lacks (NVENC, Vulkan Video) are listed with the reason. It writes
bench.json, bench.md and SVG charts (fps, latency, quality per bitrate) into --out;
docs/BENCH.md explains every field.

Examples:
  # the default set (x264, x265, SVT-AV1; NVENC and Vulkan Video where present) at 720p, 1080p
  ghoststream bench

  # a few seconds: two fast paths on a small frame (what CI runs)
  ghoststream bench --quick --out /tmp/bench

  # chosen paths and sizes, more frames, a fixed bitrate
  ghoststream bench --path x264:p1,x264:p4,svt-av1:p2 --size 1080p --frames 300 --bitrate 6M

  # BGRA frames as screen capture gives them, converted on the GPU (the rows' GPU column)
  ghoststream bench --rgb --gpu require --path x264:p1 --size 720p

  # your own clip (8-bit 4:2:0 Y4M) instead of the moving test pattern
  ghoststream bench -i clip.y4m --path x265:p2

  # side by side with ffmpeg on the same input ({input}: a Y4M file; {output}: a .mkv to write)
  ghoststream bench --path x264:p2 --compare \\
      'ffmpeg -y -i {input} -c:v libx264 -preset superfast -tune zerolatency {output}'

  # only the GPU passes (BGRA->NV12 at 1080p and 4K, I444, fused scale + tone map, and the
  # pass into an encoder's NV12/P010 picture image against a buffer plus its copy) against a
  # device copy of the same bytes; pick the device with GHOSTSTREAM_GPU=<name part>
  ghoststream bench --gpu-passes

Timings depend on everything else the machine does: close other work, and compare rows of
one run rather than figures of different runs.";

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// A few seconds: x264 and SVT-AV1 at their fastest presets, 320x180, 20 frames.
    #[arg(long, help_heading = "What to run")]
    quick: bool,

    /// An encode path, ENCODER[:PRESET]: x264, x265, svt-av1, nvenc-h264, nvenc-hevc,
    /// nvenc-av1, vulkan-h264, vulkan-hevc, vulkan-av1; preset p1 (fastest) .. p7 (best),
    /// default p4. Repeat or separate with commas. Default: x264:p2, x264:p4, x265:p2,
    /// svt-av1:p2 and every NVENC and Vulkan Video codec at p4.
    #[arg(
        long = "path",
        value_name = "ENCODER[:PRESET]",
        value_delimiter = ',',
        help_heading = "What to run"
    )]
    paths: Vec<String>,

    /// Another tool's command line on the same input, run through sh: {input} is the input as
    /// a Y4M file, {output} a .mkv file for it to write; {width}, {height}, {fps}, {frames}
    /// are filled in too. Repeat for more.
    #[arg(long, value_name = "COMMAND", help_heading = "What to run")]
    compare: Vec<String>,

    /// Only time the GPU passes (BGRA->NV12, I444, fused scale + tone map, the pass into an
    /// encoder's picture image against a buffer plus its copy) against a device copy of the
    /// same bytes; no encodes.
    #[arg(long, help_heading = "What to run", conflicts_with_all = ["paths", "compare", "input"])]
    gpu_passes: bool,

    /// Time the GPU passes too, after the encodes.
    #[arg(long, help_heading = "What to run", conflicts_with = "gpu_passes")]
    with_gpu_passes: bool,

    /// A Y4M file (8-bit 4:2:0) to encode instead of the moving test pattern; its size and
    /// frame rate are used.
    #[arg(short, long, value_name = "FILE.y4m", help_heading = "Input")]
    input: Option<PathBuf>,

    /// Give the sessions BGRA8 frames, as screen capture does, instead of I420: they convert
    /// them to YUV (on the GPU as --gpu says), and rows show the GPU pass's time. Making the
    /// BGRA frames is left out of the timings.
    #[arg(long, help_heading = "Input")]
    rgb: bool,

    /// With --rgb, where the sessions convert: auto (a Vulkan device when there is one, else
    /// the CPU), off (the CPU), require or require:NAME (a Vulkan device; fail without one).
    #[arg(long, value_name = "WHERE", default_value = "auto", value_parser = crate::args::parse_gpu, requires = "rgb", help_heading = "Input")]
    gpu: GpuChoice,

    /// Frame size of the test pattern: WxH or 720p, 1080p, 1440p, 4k. Repeat for more.
    /// Default: 720p and 1080p.
    #[arg(
        long = "size",
        value_name = "WxH",
        value_delimiter = ',',
        help_heading = "Input",
        conflicts_with = "input"
    )]
    sizes: Vec<String>,

    /// Frames per throughput run (default 120; --quick 20).
    #[arg(long, help_heading = "Input")]
    frames: Option<u32>,

    /// Frames sent one at a time for latency (default 60; --quick 10; 0: no latency run).
    #[arg(long, help_heading = "Input")]
    latency_frames: Option<u32>,

    /// Frame rate of the test pattern (rate control and bitrate): 60, 29.97, 30000/1001.
    #[arg(long, default_value = "60", help_heading = "Input")]
    fps: String,

    /// Bitrate, CBR: 6M, 6000k (default: 8 Mbit/s at 1080p60, scaled by pixels per second).
    #[arg(long, help_heading = "Input")]
    bitrate: Option<String>,

    /// Sizes of the GPU conversion pass: WxH or 1080p, 4k (default 1080p and 4k; --quick 320x180).
    #[arg(
        long = "gpu-size",
        value_name = "WxH",
        value_delimiter = ',',
        help_heading = "GPU passes"
    )]
    gpu_sizes: Vec<String>,

    /// Timed dispatches per GPU pass (default 100; --quick 20).
    #[arg(long, help_heading = "GPU passes")]
    gpu_iterations: Option<usize>,

    /// Skip PSNR and SSIM (which decode every stream with ffmpeg).
    #[arg(long, help_heading = "Output")]
    no_quality: bool,

    /// The folder for bench.json, bench.md, the charts and (in streams/) the encoded files.
    /// Default: ghoststream-bench-DATE-TIME in the current folder.
    #[arg(long, short, value_name = "DIR", help_heading = "Output")]
    out: Option<PathBuf>,
}

/// Builds the library's configuration from the command line.
fn config(args: &BenchArgs, out: &std::path::Path) -> Result<BenchConfig, String> {
    let work = out.join("streams");
    let mut c = if args.quick {
        BenchConfig::quick(work)
    } else {
        BenchConfig::full(work)
    };
    if !args.paths.is_empty() {
        c.paths = args
            .paths
            .iter()
            .map(|p| EncodePath::parse(p))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
    }
    let sizes = |given: &[String]| -> Result<Vec<_>, String> {
        given
            .iter()
            .map(|s| bench::parse_size(s).map_err(|e| e.to_string()))
            .collect()
    };
    if !args.sizes.is_empty() {
        c.sizes = sizes(&args.sizes)?;
    }
    if !args.gpu_sizes.is_empty() {
        c.gpu_sizes = sizes(&args.gpu_sizes)?;
    }
    c.input.clone_from(&args.input);
    if let Some(f) = args.frames {
        c.frames = f;
        c.latency_frames = c.latency_frames.min(f);
    }
    if let Some(f) = args.latency_frames {
        c.latency_frames = f;
    }
    c.frame_rate = units::parse_rate(&args.fps).map_err(|e| e.to_string())?;
    if let Some(b) = &args.bitrate {
        c.bitrate = Some(units::parse_bitrate(b).map_err(|e| e.to_string())?);
    }
    if let Some(n) = args.gpu_iterations {
        c.gpu_iterations = n;
    }
    c.compare.clone_from(&args.compare);
    c.quality = !args.no_quality;
    c.rgb = args.rgb;
    c.gpu = args.gpu.clone();
    if args.gpu_passes {
        c.paths.clear();
        c.gpu_passes = true;
    }
    c.gpu_passes |= args.with_gpu_passes;
    Ok(c)
}

/// Progress on stderr: one line per step, the phase rewritten in place on a terminal.
struct Reporter {
    tty: bool,
    open_line: bool,
}

impl Reporter {
    fn show(&mut self, p: &Progress) {
        let mut err = std::io::stderr().lock();
        let end_line = |err: &mut std::io::StderrLock<'_>, open: &mut bool| {
            if *open {
                let _ = writeln!(err);
                *open = false;
            }
        };
        match p {
            Progress::Step {
                index,
                total,
                label,
                width,
                height,
                frames,
            } => {
                end_line(&mut err, &mut self.open_line);
                let _ = writeln!(
                    err,
                    "[{index}/{total}] {label} at {width}x{height}, {frames} frames"
                );
            }
            Progress::Phase {
                phase,
                done: _,
                of: 0,
            } => {
                end_line(&mut err, &mut self.open_line);
                let _ = writeln!(err, "      {phase}");
            }
            Progress::Phase { phase, done, of } => {
                if self.tty {
                    let _ = write!(err, "\r      {phase} {done}/{of}        ");
                    self.open_line = true;
                } else if done == of || *done == 0 {
                    let _ = writeln!(err, "      {phase} {done}/{of}");
                }
            }
            Progress::Unavailable { label, reason } => {
                end_line(&mut err, &mut self.open_line);
                let _ = writeln!(
                    err,
                    "not available here: {label}: {}",
                    reason.replace('\n', " ")
                );
            }
            Progress::Failed { label, reason } => {
                end_line(&mut err, &mut self.open_line);
                let _ = writeln!(err, "      failed: {label}: {}", reason.replace('\n', " "));
            }
            Progress::GpuPass { name } => {
                end_line(&mut err, &mut self.open_line);
                let _ = writeln!(err, "GPU pass: {name}");
            }
            _ => {}
        }
        let _ = err.flush();
    }
}

pub fn run(args: BenchArgs) -> Result<(), String> {
    let out = args.out.clone().unwrap_or_else(|| {
        // 2026-12-04T18:51:01Z -> ghoststream-bench-20261204-185101
        let stamp: String = bench::utc_now()
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == 'T')
            .collect();
        PathBuf::from(format!("ghoststream-bench-{}", stamp.replace('T', "-")))
    });
    let cfg = config(&args, &out)?;
    let mut reporter = Reporter {
        tty: std::io::stderr().is_terminal(),
        open_line: false,
    };
    let report = bench::run(&cfg, &mut |p| reporter.show(p)).map_err(|e| e.to_string())?;
    if reporter.open_line {
        eprintln!();
    }
    let files = report.write_to(&out).map_err(|e| e.to_string())?;
    println!("{}", report.to_markdown());
    println!("Written:");
    for f in files {
        println!("  {}", f.display());
    }
    if !report.results.is_empty() {
        println!("  {} (the encoded streams)", cfg.work_dir.display());
    }
    Ok(())
}
