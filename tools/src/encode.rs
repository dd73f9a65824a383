//! `ghoststream encode`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ghoststream::gpu::{DeviceSelector, GpuOptions};
use ghoststream::hdr::{ContentLightLevel, HdrMetadata, MasteringDisplay};
use ghoststream::output::live::LiveOptions;
use ghoststream::output::replay::ReplayLimits;
use ghoststream::output::{BitstreamFormat, OutputFormat};
use ghoststream::processing::scale::{Fit, ScaleFilter};
use ghoststream::processing::tonemap::PeakSource;
use ghoststream::recorder::{
    Limit, OutputSpec, RateOptions, Recorder, RecorderError, RecorderOptions, RecorderSummary,
};
use ghoststream::source::SourceSpec;
use ghoststream::units;
use ghoststream::{
    BackendChoice, Backpressure, BitDepth, Codec, ColorMatrix, ColorPrimaries, ColorRange,
    GpuChoice, KeyframeEvery, PixelFormat, Preset, RateControlMode, Rational, SessionConfig,
    SplitFrame, ToneMapInput, TransferFunction, Tuning,
};

use crate::one_line;

pub const EXAMPLES: &str = "Examples:
  # five seconds of the animated test pattern to AV1 in IVF (play with: ffplay demo.ivf)
  ghoststream encode --codec av1 --seconds 5 -o demo.ivf

  # a Y4M file to H.264 Annex-B at 6 Mbit/s CBR, low latency, a keyframe every 60 frames
  ghoststream encode -i input.y4m --codec h264 --rc cbr --bitrate 6M --keyint 60 -o out.h264

  # Y4M from a pipe to HEVC at constant QP 28, best quality preset, 10-bit
  ffmpeg -i in.mkv -f yuv4mpegpipe -pix_fmt yuv420p10le - | \\
      ghoststream encode -i - --codec hevc --rc cqp --qp 28 --preset p7 --tune hq --bit-depth 10 -o out.h265

  # raw NV12 frames of 1920x1080 at 60 fps
  ghoststream encode -i frames.nv12 --raw-format nv12 --size 1920x1080 --fps 60 --codec h264 -o out.h264

  # raw BGRA frames (a compositor's format), converted to YUV on the GPU (or the CPU without one)
  ghoststream encode -i frames.bgra --raw-format bgra8 --size 1920x1080 --fps 60 --codec hevc -o out.h265

  # 4K BGRA scaled to 720p on the GPU (Lanczos-3, black bars if the shape differs), sharpened
  ghoststream encode -i frames.bgra --raw-format bgra8 --size 3840x2160 --scale 1280x720 --sharpen 0.4 -o out.ivf

  # HDR10 HEVC with its mastering display and content light level in the stream
  ghoststream encode -i hdr.y4m --codec hevc --bit-depth 10 --transfer pq --primaries bt2020 \\
      --matrix bt2020 --master-display bt2020-1000 --max-cll 1000,400 -o hdr.h265

  # game streaming: NVENC, ultra low latency, no keyframes after the first, intra refresh
  ghoststream encode --encoder nvenc --codec hevc --tune ull --keyint infinite --intra-refresh 60 -o live.h265

  # HDR10 (10-bit RGB, PQ, BT.2020) tone mapped to SDR BT.709 with the BT.2390 curve
  ghoststream encode -i hdr.rgb10a2 --raw-format rgb10a2 --size 3840x2160 --scale 1920x1080 \\
      --tonemap bt2390 --hdr-peak 1000 --codec hevc -o sdr.h265";

#[derive(Args, Debug)]
pub struct EncodeArgs {
    /// Input (`record` calls it --source): `screen` (`record`'s default: wlr-screencopy when the
    /// compositor offers it, else the desktop portal), `testsrc` (the animated test pattern,
    /// `encode`'s default), `wayland[:OUTPUT]` (a wlroots compositor's output, by name:
    /// HEADLESS-1, DP-1),
    /// `pipewire[:NODE]` (a PipeWire video node by id or node.name; without one, the session
    /// manager's choice), `portal` (the desktop portal's screen cast: GNOME, KDE, wlroots; the
    /// user picks a screen once, later runs reuse the grant), a .y4m file, `-` for Y4M on standard input, or a raw file with
    /// --raw-format.
    #[arg(short, long, visible_alias = "source")]
    pub input: Option<String>,

    /// Wayland: the compositor's socket (a name in $XDG_RUNTIME_DIR or a path); default
    /// $WAYLAND_DISPLAY.
    #[arg(long)]
    display: Option<String>,

    /// Wayland: capture only X,Y,WIDTHxHEIGHT of the output (as `slurp` prints it).
    #[arg(long, allow_hyphen_values = true)]
    region: Option<ghoststream::capture::Region>,

    /// Wayland and portal: leave the cursor out of the frames.
    #[arg(long)]
    no_cursor: bool,

    /// Portal: the file that keeps the portal's restore token, so the screen is picked once;
    /// default $XDG_STATE_HOME/ghoststream/portal-restore-token (~/.local/state/...). Delete
    /// it to be asked again.
    #[arg(long, value_name = "FILE")]
    portal_token: Option<PathBuf>,

    /// Output file. Its extension picks the format unless --format is given: .mkv, .mp4 or .ts
    /// for a crash-safe container (a killed recording plays up to its last second); .ivf or
    /// .obu for raw AV1; .h264/.h265 (Annex-B) or .avcc/.hvcc (length-prefixed) for H.264/HEVC.
    /// `-` writes to standard output (Matroska unless --format says otherwise), for a pipe:
    /// `-o - | ffplay -`. An existing file is replaced only once the first packet is written.
    #[arg(short, long, required_unless_present_any = ["replay", "stream"])]
    output: Option<PathBuf>,

    /// Also stream live to URL: rtmp://host/app/key (H.264) or srt://host:port (H.264, HEVC).
    /// A server that goes away is reconnected; at most --stream-buffer of video waits for it.
    #[arg(long, value_name = "URL")]
    stream: Option<String>,

    /// The most video queued for the stream server while it is slow or away (older GOPs are
    /// dropped and counted).
    #[arg(long, value_name = "DURATION", default_value = "4s", value_parser = parse_duration, allow_hyphen_values = true)]
    stream_buffer: Duration,

    /// Keep the last DURATION of the recording in memory (30s, 2m) and save it to a file in
    /// --replay-dir on SIGUSR1 or on `save [SECONDS]` sent to --control; each save prints the
    /// file's path. With -o, the whole recording is written too.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    replay: Option<Duration>,

    /// The most memory the replay buffer may hold, in bytes (k/M/G suffixes).
    #[arg(long, value_name = "BYTES", default_value = "512M", value_parser = parse_bytes, allow_hyphen_values = true)]
    replay_bytes: u64,

    /// Where replay saves go.
    #[arg(long, value_name = "DIR", default_value = ".")]
    replay_dir: PathBuf,

    /// Replay saves' format: mkv, mp4 or ts (or a raw bitstream format).
    #[arg(long, value_name = "FORMAT", default_value = "mkv")]
    replay_format: OutputFormat,

    /// A Unix socket that takes `save` or `save SECONDS` (one line) and answers `saved PATH`
    /// once the replay file is written.
    #[arg(long, value_name = "PATH", requires = "replay")]
    control: Option<PathBuf>,

    /// Set for `record`: the test pattern then runs live (at its frame rate, until stopped or
    /// --seconds/--frames), as a capture would.
    #[arg(skip)]
    pub live: bool,

    /// Output format: mkv, mp4, ts, annexb, length-prefixed, obu or ivf.
    #[arg(long)]
    format: Option<OutputFormat>,

    /// Per-frame statistics as JSON lines (frame, pts_ns, duration_ns, capture_ns, submit_ns,
    /// encode_start_ns, packet_ready_ns — CLOCK_MONOTONIC — gpu_ns, bytes, keyframe, dropped),
    /// then a summary line: fps, bitrate, drops, latency median and p99.
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,

    /// Codec: av1, hevc or h264. Default: what the output file's extension names (.h264,
    /// .h265, .ivf), else for a capture one the encoder runs in real time (AV1 on NVENC or
    /// Vulkan Video, H.264 in software), else AV1.
    #[arg(short, long)]
    codec: Option<Codec>,

    /// Encoder backend: auto, nvenc, vulkan or software.
    #[arg(long, default_value = "auto")]
    encoder: BackendChoice,

    /// Frame size WIDTHxHEIGHT for testsrc and raw input (files carry their own).
    #[arg(long, value_parser = parse_size, allow_hyphen_values = true)]
    size: Option<(u32, u32)>,

    /// Frame rate for testsrc and raw input: 60, 29.97, or num/den like 30000/1001 (1 to 1000
    /// frames per second; SVT-AV1 takes at most 240).
    #[arg(long, value_parser = parse_rate, allow_hyphen_values = true)]
    fps: Option<Rational>,

    /// Pixel format of raw input (nv12, p010, i420, i420p10, i444, bgra8, rgba8, ...), or of
    /// the test pattern (i420, nv12, i420p10, p010, i444).
    #[arg(long)]
    raw_format: Option<PixelFormat>,

    /// Stop after this many frames (1 to 10000000000).
    #[arg(long, conflicts_with = "seconds", allow_hyphen_values = true,
          value_parser = clap::value_parser!(u64).range(1..=MAX_FRAMES))]
    frames: Option<u64>,

    /// Stop after this much video: seconds (10, 10s), minutes (1.5m) or hours (2h). `encode`
    /// of the test pattern defaults to 5 s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    seconds: Option<Duration>,

    /// Rate control: cbr, vbr, cqp or cq (constant quality, with --quality). Default: what the
    /// values given imply (--bitrate: cbr, --max-bitrate: vbr, --qp: cqp, --quality: cq), else
    /// cbr when streaming (--stream) and cq for files and replays.
    #[arg(long)]
    rc: Option<RateControlMode>,

    /// Target bitrate for cbr/vbr: 6M, 6000k, 6Mbps (k = 1000). A bare number is bits per
    /// second and must be at least 50000 (6000 alone is refused: did you mean 6000k?).
    /// Default: scaled from 8 Mbit/s at 1080p60.
    #[arg(long, value_parser = parse_bitrate, allow_hyphen_values = true)]
    bitrate: Option<u64>,

    /// Peak bitrate for vbr (default: twice the target).
    #[arg(long, value_parser = parse_bitrate, allow_hyphen_values = true)]
    max_bitrate: Option<u64>,

    /// Quantizer for cqp: 0-51 for h264/hevc, 0-255 for av1.
    #[arg(long, allow_hyphen_values = true)]
    qp: Option<u32>,

    /// Quality for cq, lower is better: 1-51 for h264/hevc, 1-63 for av1 (CRF on x264, x265
    /// and SVT-AV1; target quality on NVENC, 1-51).
    #[arg(long, allow_hyphen_values = true)]
    quality: Option<u32>,

    /// VBV buffer in bits (optional k/M suffix; a bare number under 50000 is refused as for
    /// --bitrate). Default: 2 s (hq), 1 s (ll), one frame (ull).
    #[arg(long, value_parser = parse_buffer_bits, allow_hyphen_values = true)]
    vbv: Option<u64>,

    /// Keyframe interval: frames (60), a duration (2s, 0.5s, 1.5m) or never. Default: 2s.
    #[arg(long, allow_hyphen_values = true)]
    keyint: Option<KeyframeEvery>,

    /// Speed/quality preset, p1 (fastest) to p7 (best).
    #[arg(long, default_value = "p4")]
    preset: Preset,

    /// Tuning: hq (high quality), ll (low latency), ull (ultra low latency) or lossless
    /// (needs --rc cqp --qp 0; H.264 and HEVC).
    #[arg(long, default_value = "ll")]
    tune: Tuning,

    /// Gradual intra refresh every N frames instead of keyframes (needs --keyint infinite and
    /// --tune ll or ull): a decoder that joins or loses a packet recovers within N frames.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    intra_refresh: Option<u32>,

    /// HDR10 mastering display, written into HEVC/AV1 streams: G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)
    /// in 0.00002 and 0.0001 cd/m² units (x265's notation), or bt2020-1000 or p3-1000. Needs
    /// --transfer pq --bit-depth 10.
    #[arg(long)]
    master_display: Option<MasteringDisplay>,

    /// HDR10 content light level MaxCLL,MaxFALL in cd/m² (with --master-display).
    #[arg(long, requires = "master_display")]
    max_cll: Option<ContentLightLevel>,

    /// NVENC split-frame encoding across engines: auto, off, 2 or 3 (HEVC and AV1).
    #[arg(long, default_value = "auto")]
    split_frame: SplitFrame,

    /// Encoded bit depth: 8 or 10.
    #[arg(long, default_value = "8")]
    bit_depth: BitDepth,

    /// Colour matrix written into the stream: bt601, bt709, bt2020.
    #[arg(long, default_value = "bt709")]
    matrix: ColorMatrix,

    /// Colour range: limited or full.
    #[arg(long, default_value = "limited")]
    range: ColorRange,

    /// Transfer: srgb, bt709, pq, hlg.
    #[arg(long, default_value = "bt709")]
    transfer: TransferFunction,

    /// Primaries: bt709, bt601-625, bt601-525, bt2020, p3.
    #[arg(long, default_value = "bt709")]
    primaries: ColorPrimaries,

    /// Frames that may wait for the encoder.
    #[arg(long, default_value_t = 4, allow_hyphen_values = true)]
    queue: u32,

    /// When that queue is full: block (lose nothing) or drop-oldest (stay real time).
    #[arg(long, default_value = "block")]
    backpressure: Backpressure,

    /// Encoder threads (0: the encoder's choice).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    threads: u32,

    /// Where RGB input is converted to YUV: auto (a Vulkan device when there is one, else the
    /// CPU), off (the CPU), or require[:NAME] (a Vulkan device, optionally the first whose name
    /// contains NAME; fail if none).
    #[arg(long, default_value = "auto", value_parser = parse_gpu)]
    gpu: GpuChoice,

    /// Scale to WIDTHxHEIGHT on the GPU before encoding (RGB input; the encoded size). The
    /// picture keeps its aspect ratio inside black bars unless --fit stretch.
    #[arg(long, value_parser = parse_size, allow_hyphen_values = true)]
    scale: Option<(u32, u32)>,

    /// Scaling kernel: bilinear, bicubic (Catmull-Rom) or lanczos (Lanczos-3). Each widens
    /// when downscaling, so nothing aliases.
    #[arg(long, default_value = "lanczos")]
    scale_filter: ScaleFilter,

    /// When the aspect ratios differ: letterbox (black bars) or stretch.
    #[arg(long, default_value = "letterbox")]
    fit: Fit,

    /// Tone map HDR input to SDR with this curve: bt2390 (the ITU-R BT.2390 EETF). The output
    /// is BT.709 SDR (--transfer bt709 or srgb, --primaries bt709).
    #[arg(long, value_parser = parse_tonemap)]
    tonemap: Option<ToneCurve>,

    /// Transfer of the HDR input that --tonemap reads: pq (HDR10) or hlg.
    #[arg(long, default_value = "pq")]
    input_transfer: TransferFunction,

    /// Source peak for --tonemap: nits (the stream's MaxCLL or mastering peak), or `measure`
    /// (each frame is mapped with the brightest pixel of the frame before it).
    #[arg(long, default_value = "1000", value_parser = parse_peak, allow_hyphen_values = true)]
    hdr_peak: PeakSource,

    /// Contrast-adaptive sharpening strength, 0 (off) to 1.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    sharpen: f64,

    /// No progress bar or summary.
    #[arg(short, long)]
    quiet: bool,
}

/// A tone-mapping curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToneCurve {
    /// ITU-R BT.2390's EETF.
    Bt2390,
}

fn parse_tonemap(s: &str) -> Result<ToneCurve, String> {
    match s.to_ascii_lowercase().as_str() {
        "bt2390" | "bt.2390" => Ok(ToneCurve::Bt2390),
        _ => Err(format!(
            "unknown tone-mapping curve '{s}' (expected bt2390)"
        )),
    }
}

fn parse_peak(s: &str) -> Result<PeakSource, String> {
    if s == "measure" {
        return Ok(PeakSource::Measured {
            first_frame: 1000.0,
        });
    }
    match s.trim().parse::<f64>() {
        Ok(n) if (1.0..=10000.0).contains(&n) => Ok(PeakSource::Metadata(n)),
        _ => Err(format!(
            "invalid HDR peak '{s}' (expected nits from 1 to 10000, or measure)"
        )),
    }
}

/// The library's value parsers, with their errors as clap wants them.
fn parse_bitrate(s: &str) -> Result<u64, String> {
    units::parse_bitrate(s).map_err(|e| e.to_string())
}

fn parse_buffer_bits(s: &str) -> Result<u64, String> {
    units::parse_buffer_bits(s).map_err(|e| e.to_string())
}

fn parse_bytes(s: &str) -> Result<u64, String> {
    units::parse_bytes(s).map_err(|e| e.to_string())
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    units::parse_duration(s).map_err(|e| e.to_string())
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    units::parse_size(s).map_err(|e| e.to_string())
}

fn parse_rate(s: &str) -> Result<Rational, String> {
    units::parse_rate(s).map_err(|e| e.to_string())
}

/// The most frames --frames takes: more than five years at 60 fps.
const MAX_FRAMES: u64 = 10_000_000_000;

fn parse_gpu(s: &str) -> Result<GpuChoice, String> {
    match s.split_once(':') {
        None if s == "auto" => Ok(GpuChoice::Auto),
        None if s == "off" => Ok(GpuChoice::Off),
        None if s == "require" => Ok(GpuChoice::Require(GpuOptions::default())),
        Some(("require", name)) if !name.is_empty() => Ok(GpuChoice::Require(GpuOptions {
            device: DeviceSelector::Name(name.into()),
            validation: false,
        })),
        _ => Err(format!(
            "invalid GPU choice '{s}' (expected auto, off, require or require:NAME)"
        )),
    }
}

/// The recording `args` ask for. `encode` of the test pattern makes 5 s unless told;
/// `record` runs until stopped, and without --source records the screen.
fn recorder_options(args: &EncodeArgs) -> Result<RecorderOptions, String> {
    let source: SourceSpec = match &args.input {
        Some(name) => name.parse().map_err(|e| one_line(&e))?,
        None if args.live => SourceSpec::Screen,
        None => SourceSpec::TestPattern,
    };
    let mut outputs = Vec::new();
    if let Some(path) = &args.output {
        outputs.push(OutputSpec::File {
            path: path.clone(),
            format: args.format,
            overwrite: true,
        });
    }
    if let Some(duration) = args.replay {
        ghoststream::output::replay::check_format(
            args.replay_format,
            args.codec.unwrap_or(Codec::H264),
        )
        .map_err(|e| format!("--replay-format {}: {e}", args.replay_format))?;
        outputs.push(OutputSpec::Replay {
            limits: ReplayLimits {
                duration,
                bytes: usize::try_from(args.replay_bytes).unwrap_or(usize::MAX),
            },
            dir: args.replay_dir.clone(),
            format: args.replay_format,
        });
    }
    if let Some(url) = &args.stream {
        outputs.push(OutputSpec::Live {
            url: url.clone(),
            options: LiveOptions {
                buffer: args.stream_buffer,
                ..LiveOptions::default()
            },
        });
    }
    if let Some(path) = &args.stats {
        outputs.push(OutputSpec::stats(path));
    }
    let mut o = RecorderOptions::new(source, outputs);
    let s = &mut o.source_options;
    s.display.clone_from(&args.display);
    s.region = args.region;
    s.no_cursor = args.no_cursor;
    s.portal_token.clone_from(&args.portal_token);
    s.size = args.size;
    s.frame_rate = args.fps;
    s.format = args.raw_format;
    s.realtime = args.live && o.source == SourceSpec::TestPattern;
    o.session = session_settings(args);
    o.codec = args.codec;
    o.size = args.scale;
    let mut rate = RateOptions::default();
    rate.mode = args.rc;
    rate.quality = args.quality;
    rate.bitrate = args.bitrate;
    rate.max_bitrate = args.max_bitrate;
    rate.qp = args.qp;
    o.rate = rate;
    o.keyframe_interval = args.keyint;
    o.limit = match (args.frames, args.seconds) {
        (Some(n), _) => Some(Limit::Frames(n)),
        (None, Some(d)) => Some(Limit::Duration(d)),
        (None, None) if !args.live && o.source == SourceSpec::TestPattern => {
            Some(Limit::Duration(Duration::from_secs(5)))
        }
        (None, None) => None,
    };
    o.control_socket.clone_from(&args.control);
    Ok(o)
}

/// The encode settings the command line gives (size, rate, codec and rate control are the
/// recorder's to fill in).
fn session_settings(args: &EncodeArgs) -> SessionConfig {
    let mut c = SessionConfig::new(Codec::H264, 1280, 720, Rational::new(30, 1));
    c.processing.scale_filter = args.scale_filter;
    c.processing.fit = args.fit;
    c.processing.sharpen = args.sharpen;
    c.processing.tonemap = args.tonemap.map(|ToneCurve::Bt2390| ToneMapInput {
        transfer: args.input_transfer,
        peak: args.hdr_peak,
    });
    c.backend = args.encoder;
    c.vbv_buffer_bits = args.vbv;
    c.preset = args.preset;
    c.tuning = args.tune;
    c.intra_refresh_frames = args.intra_refresh;
    c.hdr_metadata = args.master_display.map(|display| HdrMetadata {
        display,
        light: args.max_cll,
    });
    c.split_frame = args.split_frame;
    c.bit_depth = args.bit_depth;
    c.color.matrix = args.matrix;
    c.color.range = args.range;
    c.color.transfer = args.transfer;
    c.color.primaries = args.primaries;
    c.queue_depth = args.queue;
    c.backpressure = args.backpressure;
    c.threads = args.threads;
    c.gpu = args.gpu.clone();
    c
}

pub fn run(args: EncodeArgs) -> Result<(), String> {
    let recorder = Recorder::start(recorder_options(&args)?).map_err(|e| cli_message(&e))?;
    let summary = crate::live::follow(recorder, &crate::live::Follow { quiet: args.quiet })
        .map_err(|f| match f {
            crate::live::Failure::Setup(m) => m,
            crate::live::Failure::Recorder(e) => cli_message(&e),
        })?;
    if let Some(lost) = &summary.source_lost {
        return Err(format!(
            "{lost} (the {} frames before it were encoded and written)",
            summary.frames
        ));
    }
    report(&summary, args.format, args.quiet);
    Ok(())
}

/// A recorder's error in the command line's words: options named by their flags.
fn cli_message(e: &RecorderError) -> String {
    use ghoststream::source::SourceError;
    if let RecorderError::Source(SourceError::DoesNotApply { option, name, fix }) = e {
        let flag = match *option {
            "size" => "--size",
            "format" => "--raw-format",
            "display" => "--display",
            "region" => "--region",
            "no cursor" => "--no-cursor",
            "portal token" => "--portal-token",
            "format without a size" => return "raw input needs --size WIDTHxHEIGHT".into(),
            "size or frame rate" => "--size and --fps",
            _ => return one_line(e),
        };
        return format!("{flag} does not apply to input {name:?}: {fix}");
    }
    if let RecorderError::Exists { path } = e {
        return format!(
            "{} already exists: pass -y to overwrite it, or choose another path",
            path.display()
        );
    }
    one_line(e)
}

/// The lines after a recording: what was written, the capture's figures, each stream's
/// figures (also with --quiet), how to play it.
fn report(summary: &RecorderSummary, format: Option<OutputFormat>, quiet: bool) {
    if !quiet {
        eprintln!("{}", crate::live::summary_line(summary));
        if let Some(pacing) = summary.pacing {
            eprintln!(
                "capture: {}",
                crate::live::capture_summary(pacing, summary.latency)
            );
        }
    }
    for (url, s) in &summary.streams {
        eprintln!(
            "stream {url}: {} packets sent, {} dropped, {} connection{}{}",
            s.sent,
            s.dropped,
            s.connections,
            if s.connections == 1 { "" } else { "s" },
            s.last_error
                .as_ref()
                .map(|e| format!(" (last failure: {e})"))
                .unwrap_or_default()
        );
    }
    if quiet {
        return;
    }
    for file in &summary.files {
        if let Some(rec) = &file.record_path {
            eprintln!("configuration record: {}", rec.display());
        }
        let streamed = ghoststream::output::path::is_unseekable(&file.path);
        if !streamed && format != Some(OutputFormat::Bitstream(BitstreamFormat::LengthPrefixed)) {
            eprintln!("play it with: ffplay {}", file.path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1920x1080").unwrap(), (1920, 1080));
        assert!(parse_size("1920").unwrap_err().contains("WIDTHxHEIGHT"));
    }
}
