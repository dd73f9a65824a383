//! `ghoststream encode`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use ghoststream::capture::{PacedCapture, WaylandCapture, WaylandOptions};
use ghoststream::gpu::{DeviceSelector, GpuOptions};
use ghoststream::hdr::{ContentLightLevel, HdrMetadata, MasteringDisplay};
use ghoststream::output::replay::ReplayLimits;
use ghoststream::output::{open_file_sink, BitstreamFormat, OutputFormat};
use ghoststream::processing::scale::{Fit, ScaleFilter};
use ghoststream::processing::tonemap::PeakSource;
use ghoststream::source::{FrameSource, RawReader, SourceInfo, TestPattern, Y4mReader};
use ghoststream::units;
use ghoststream::{
    BackendChoice, Backpressure, BitDepth, Codec, ColorMatrix, ColorPrimaries, ColorRange,
    GpuChoice, KeyframeInterval, PixelFormat, Preset, RateControl, RateControlMode, Rational,
    Session, SessionConfig, SessionOutput, SplitFrame, ToneMapInput, TransferFunction, Tuning,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::one_line;

pub const EXAMPLES: &str = "Examples:
  # five seconds of the animated test pattern to AV1 in IVF (play with: ffplay demo.ivf)
  ghoststream encode --codec av1 --seconds 5 -o demo.ivf

  # a Y4M file to H.264 Annex-B at 6 Mbit/s CBR, low latency, a keyframe every 60 frames
  ghoststream encode -i input.y4m --codec h264 --rc cbr --bitrate 6M --keyint 60 -o out.h264

  # Y4M from a pipe to HEVC at constant QP 28, best quality preset, 10-bit
  ffmpeg -i in.mkv -f yuv4mpegpipe -pix_fmt yuv420p10le - | \\
      ghoststream encode -i - --codec hevc --rc cqp --qp 28 --preset p7 --tune hq --bit-depth 10 \\
      -o out.h265

  # raw NV12 frames of 1920x1080 at 60 fps
  ghoststream encode -i frames.nv12 --raw-format nv12 --size 1920x1080 --fps 60 --codec h264 \\
      -o out.h264

  # raw BGRA frames (a compositor's format), converted to YUV on the GPU (or the CPU without one)
  ghoststream encode -i frames.bgra --raw-format bgra8 --size 1920x1080 --fps 60 --codec hevc \\
      -o out.h265

  # 4K BGRA scaled to 720p on the GPU (Lanczos-3, black bars if the shape differs), sharpened
  ghoststream encode -i frames.bgra --raw-format bgra8 --size 3840x2160 --scale 1280x720 \\
      --sharpen 0.4 -o out.ivf

  # HDR10 HEVC with its mastering display and content light level in the stream
  ghoststream encode -i hdr.y4m --codec hevc --bit-depth 10 --transfer pq --primaries bt2020 \\
      --matrix bt2020 --master-display bt2020-1000 --max-cll 1000,400 -o hdr.h265

  # game streaming: NVENC, ultra low latency, no keyframes after the first, intra refresh
  ghoststream encode --encoder nvenc --codec hevc --tune ull --keyint infinite --intra-refresh 60 \\
      -o live.h265

  # HDR10 (10-bit RGB, PQ, BT.2020) tone mapped to SDR BT.709 with the BT.2390 curve
  ghoststream encode -i hdr.rgb10a2 --raw-format rgb10a2 --size 3840x2160 --scale 1920x1080 \\
      --tonemap bt2390 --hdr-peak 1000 --codec hevc -o sdr.h265";

#[derive(Args, Debug)]
pub struct EncodeArgs {
    /// What to encode or record (`encode` and `record` each describe their own inputs).
    #[arg(short, long, visible_alias = "source", default_value = "testsrc")]
    pub input: String,

    /// Wayland: the compositor's socket (default $WAYLAND_DISPLAY).
    ///
    /// A name in $XDG_RUNTIME_DIR or a path.
    #[arg(long, value_name = "SOCKET")]
    display: Option<String>,

    /// Wayland: capture only this part of the output.
    ///
    /// X,Y,WIDTHxHEIGHT in the output's coordinates, as `slurp` prints it:
    /// --region "$(slurp)".
    #[arg(long, value_name = "X,Y,WxH", allow_hyphen_values = true)]
    region: Option<ghoststream::capture::Region>,

    /// Leave the cursor out of the frames (Wayland and portal).
    #[arg(long)]
    no_cursor: bool,

    /// Portal: the file that keeps the granted screen, so it is picked once.
    ///
    /// The portal's restore token is kept there; default
    /// $XDG_STATE_HOME/ghoststream/portal-restore-token (~/.local/state/...). Delete it to be
    /// asked again.
    #[arg(long, value_name = "FILE")]
    portal_token: Option<PathBuf>,

    /// Output file, or - for standard output.
    ///
    /// Its extension picks the format unless --format is given: .mkv, .mp4 or .ts for a
    /// crash-safe container (a killed recording plays up to its last second); .ivf or .obu for
    /// raw AV1; .h264/.h265 (Annex-B) or .avcc/.hvcc (length-prefixed) for H.264/HEVC.
    ///
    /// `-` writes to standard output (Matroska unless --format says otherwise), for a pipe:
    /// `-o - | ffplay -`.
    ///
    /// An existing file is not replaced unless -y is given; even then it is replaced only
    /// once the first packet is written, so a run that fails leaves it as it was.
    #[arg(short, long, value_name = "FILE", required_unless_present_any = ["replay", "stream"])]
    output: Option<PathBuf>,

    /// Also stream live to URL (rtmp:// or srt://).
    ///
    /// rtmp://host/app/key (H.264) or srt://host:port (H.264, HEVC). A server that goes away
    /// is reconnected; at most --stream-buffer of video waits for it.
    #[arg(long, value_name = "URL")]
    stream: Option<String>,

    /// The most video held for a slow or absent server.
    ///
    /// Older GOPs are dropped (and counted) to make room.
    #[arg(long, value_name = "DURATION", default_value = "4s", value_parser = parse_duration, allow_hyphen_values = true)]
    stream_buffer: Duration,

    /// Keep the last DURATION of video in memory, to save on demand.
    ///
    /// 30s, 2m. A save writes it to a new file in --replay-dir: on SIGUSR1, or on `save [SECONDS]` sent
    /// to --control; each save prints the file's path. With -o, the whole recording is
    /// written too.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    replay: Option<Duration>,

    /// The replay buffer's memory limit (512M, 2G).
    ///
    /// In bytes, with a k, M or G suffix; the oldest video goes first.
    #[arg(long, value_name = "BYTES", default_value = "512M", value_parser = parse_bytes, allow_hyphen_values = true)]
    replay_bytes: u64,

    /// Where replay saves go.
    ///
    /// Each save gets a file name of its own: an existing file is never replaced.
    #[arg(long, value_name = "DIR", default_value = ".")]
    replay_dir: PathBuf,

    /// Replay saves' format: mkv, mp4 or ts.
    ///
    /// Or a raw bitstream format: annexb, length-prefixed, obu, ivf.
    #[arg(long, value_name = "FORMAT", default_value = "mkv")]
    replay_format: OutputFormat,

    /// A Unix socket that saves the replay on request.
    ///
    /// It takes `save` or `save SECONDS` (one line) and answers `saved PATH` once the replay
    /// file is written.
    #[arg(long, value_name = "PATH", requires = "replay")]
    control: Option<PathBuf>,

    /// Set for `record`: the test pattern then runs live (at its frame rate, until stopped or
    /// --seconds/--frames), as a capture would.
    #[arg(skip)]
    pub live: bool,

    /// Output format, when the file name's extension does not say it.
    ///
    /// mkv, mp4 or ts (containers); annexb or length-prefixed (H.264, HEVC); obu or ivf (AV1).
    #[arg(long, value_name = "FORMAT")]
    format: Option<OutputFormat>,

    /// Replace an existing output or stats file (as ffmpeg's -y).
    ///
    /// Without it, a run whose -o or --stats file exists stops before encoding and leaves the
    /// file as it was. Standard output, devices such as /dev/null and FIFOs are always
    /// written. Replay saves never replace a file: each gets a name of its own.
    #[arg(short = 'y', long)]
    pub overwrite: bool,

    /// Per-frame statistics as JSON lines to FILE (- for standard output).
    ///
    /// One line per frame (frame, pts_ns, duration_ns, capture_ns, submit_ns,
    /// encode_start_ns, packet_ready_ns — CLOCK_MONOTONIC — gpu_ns, bytes, keyframe, dropped),
    /// then a summary line: fps, bitrate, drops, latency median and p99. `--stats -` cannot go
    /// with `-o -`.
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,

    /// Codec: av1, hevc or h264.
    #[arg(short, long, default_value = "av1")]
    codec: Codec,

    /// Encoder backend: auto, nvenc, vulkan or software.
    #[arg(long, default_value = "auto")]
    encoder: BackendChoice,

    /// Frame size of the test pattern or of raw input.
    ///
    /// WIDTHxHEIGHT. Files carry their own and a capture has its output's; --scale resizes.
    #[arg(long, value_name = "WxH", value_parser = parse_size, allow_hyphen_values = true)]
    size: Option<(u32, u32)>,

    /// Frame rate: 60, 29.97 or 30000/1001.
    ///
    /// Of the test pattern (default 30) and raw input, and the rate a capture is paced at
    /// (default 60); a Y4M file carries its own. 1 to 1000 frames per second; SVT-AV1 takes at
    /// most 240.
    #[arg(long, value_name = "RATE", value_parser = parse_rate, allow_hyphen_values = true)]
    fps: Option<Rational>,

    /// Pixel format of raw input or of the test pattern.
    ///
    /// Raw input: nv12, p010, i420, i420p10, i444, bgra8, rgba8, ... The test pattern: i420,
    /// nv12, i420p10, p010, i444.
    #[arg(long, value_name = "FORMAT")]
    raw_format: Option<PixelFormat>,

    /// Stop after N frames.
    ///
    /// 1 to 10000000000; not with --seconds.
    #[arg(long, value_name = "N", conflicts_with = "seconds", allow_hyphen_values = true,
          value_parser = clap::value_parser!(u64).range(1..=MAX_FRAMES))]
    frames: Option<u64>,

    /// Stop after this much video: 10, 90s, 1.5m, 2h.
    ///
    /// `encode` of the test pattern defaults to 5 s; `record` runs until stopped.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, allow_hyphen_values = true)]
    seconds: Option<Duration>,

    /// Rate control: cbr, vbr or cqp.
    #[arg(long, default_value = "cbr")]
    rc: RateControlMode,

    /// Target bitrate for cbr/vbr in bits per second: 6M, 6000k.
    ///
    /// Default: scaled from 8 Mbit/s at 1080p60.
    #[arg(long, value_parser = parse_bitrate, allow_hyphen_values = true)]
    bitrate: Option<u64>,

    /// Peak bitrate for vbr (default: twice the target).
    #[arg(long, value_name = "RATE", value_parser = parse_bitrate, allow_hyphen_values = true)]
    max_bitrate: Option<u64>,

    /// Quantizer for cqp: 0-51 for h264/hevc, 0-255 for av1.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    qp: Option<u32>,

    /// VBV buffer in bits (optional k/M suffix).
    ///
    /// Default: 2 s (hq), 1 s (ll), one frame (ull).
    #[arg(long, value_name = "BITS", value_parser = parse_bitrate, allow_hyphen_values = true)]
    vbv: Option<u64>,

    /// Keyframe interval in frames, or `infinite`. Default: two seconds.
    #[arg(long, allow_hyphen_values = true)]
    keyint: Option<KeyframeInterval>,

    /// Speed/quality preset, p1 (fastest) to p7 (best).
    ///
    /// Each encoder maps it onto its own presets (docs/ENCODERS.md). x264's preset names
    /// (veryfast, slow, ...) are answered with the level that runs them.
    #[arg(long, default_value = "p4")]
    preset: Preset,

    /// Tuning: hq, ll, ull (ultra low latency) or lossless.
    ///
    /// hq: high quality (B-frames, lookahead); ll: low latency; ull: ultra low latency (a VBV of
    /// one frame); lossless needs --rc cqp --qp 0 (H.264 and HEVC).
    #[arg(long, default_value = "ll")]
    tune: Tuning,

    /// Refresh the picture gradually over N frames instead of with keyframes.
    ///
    /// Needs --keyint infinite and --tune ll or ull: a decoder that joins or loses a packet
    /// recovers within N frames.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    intra_refresh: Option<u32>,

    /// HDR10 mastering display: bt2020-1000, p3-1000, or x265's notation.
    ///
    /// Written into HEVC/AV1 streams. x265's notation is G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min) in
    /// 0.00002 and 0.0001 cd/m² units. Needs --transfer pq --bit-depth 10.
    #[arg(long, value_name = "DISPLAY")]
    master_display: Option<MasteringDisplay>,

    /// HDR10 content light level MaxCLL,MaxFALL in cd/m².
    ///
    /// Needs --master-display.
    #[arg(long, value_name = "CLL,FALL", requires = "master_display")]
    max_cll: Option<ContentLightLevel>,

    /// NVENC split-frame encoding: auto, off, 2 or 3.
    ///
    /// Each frame is split across NVENC's engines (HEVC and AV1).
    #[arg(long, value_name = "MODE", default_value = "auto")]
    split_frame: SplitFrame,

    /// Encoded bit depth: 8 or 10.
    #[arg(long, value_name = "BITS", default_value = "8")]
    bit_depth: BitDepth,

    /// Colour matrix: bt601, bt709 or bt2020.
    #[arg(long, default_value = "bt709")]
    matrix: ColorMatrix,

    /// Colour range: limited or full.
    #[arg(long, default_value = "limited")]
    range: ColorRange,

    /// Transfer function: srgb, bt709, pq, hlg.
    #[arg(long, default_value = "bt709")]
    transfer: TransferFunction,

    /// Colour primaries: bt709, bt2020, p3, ...
    ///
    /// bt709, bt601-625, bt601-525, bt2020 or p3.
    #[arg(long, default_value = "bt709")]
    primaries: ColorPrimaries,

    /// Frames that may wait for the encoder.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4,
        allow_hyphen_values = true
    )]
    queue: u32,

    /// When the queue is full: block or drop-oldest.
    ///
    /// block loses nothing; drop-oldest stays real time (the dropped frames are counted).
    #[arg(long, value_name = "POLICY", default_value = "block")]
    backpressure: Backpressure,

    /// Encoder threads (0: the encoder's choice).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_hyphen_values = true
    )]
    threads: u32,

    /// Use the GPU for RGB input: auto, off or require.
    ///
    /// It converts RGB to YUV, and scales, sharpens and tone maps.
    ///
    /// auto: a Vulkan device when there is one, else the CPU. off: the CPU. require[:NAME]: a
    /// Vulkan device, optionally the first whose name contains NAME; fail if none.
    #[arg(long, value_name = "WHERE", default_value = "auto", value_parser = parse_gpu)]
    gpu: GpuChoice,

    /// Scale to WxH on the GPU before encoding.
    ///
    /// RGB input; the encoded size. The picture keeps its aspect ratio inside black bars
    /// unless --fit stretch.
    #[arg(long, value_name = "WxH", value_parser = parse_size, allow_hyphen_values = true)]
    scale: Option<(u32, u32)>,

    /// Scaling kernel: bilinear, bicubic or lanczos.
    ///
    /// bicubic is Catmull-Rom, lanczos is Lanczos-3. Each widens when downscaling, so nothing
    /// aliases.
    #[arg(long, value_name = "FILTER", default_value = "lanczos")]
    scale_filter: ScaleFilter,

    /// Aspect ratio change: letterbox or stretch.
    ///
    /// letterbox keeps the picture's shape inside black bars; stretch fills the frame.
    #[arg(long, default_value = "letterbox")]
    fit: Fit,

    /// Tone map HDR input to SDR with this curve: bt2390.
    ///
    /// bt2390 is the ITU-R BT.2390 EETF. The output is BT.709 SDR (--transfer bt709 or srgb,
    /// --primaries bt709).
    #[arg(long, value_name = "CURVE", value_parser = parse_tonemap)]
    tonemap: Option<ToneCurve>,

    /// The HDR input's transfer for --tonemap: pq or hlg.
    ///
    /// pq: HDR10 (SMPTE ST 2084); hlg: hybrid log-gamma.
    #[arg(long, value_name = "TRANSFER", default_value = "pq")]
    input_transfer: TransferFunction,

    /// Source peak for --tonemap: nits, or measure.
    ///
    /// Nits: the stream's MaxCLL or mastering peak. measure: each frame is mapped with the
    /// brightest pixel of the frame before it.
    #[arg(long, value_name = "NITS", default_value = "1000", value_parser = parse_peak, allow_hyphen_values = true)]
    hdr_peak: PeakSource,

    /// Contrast-adaptive sharpening strength, 0 (off) to 1.
    #[arg(
        long,
        value_name = "STRENGTH",
        default_value_t = 0.0,
        allow_hyphen_values = true
    )]
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

#[cfg(feature = "pipewire")]
fn open_pipewire(
    node: Option<&str>,
    fps: Option<Rational>,
) -> Result<Box<dyn FrameSource>, String> {
    use ghoststream::capture::{PipeWireCapture, PipeWireOptions};
    let options = PipeWireOptions {
        node: node.map(str::parse).transpose()?,
        ..PipeWireOptions::default()
    };
    let capture = PipeWireCapture::open(options).map_err(|e| one_line(&e))?;
    let rate = fps.unwrap_or(Rational::new(60, 1));
    Ok(Box::new(
        PacedCapture::new(capture, rate).map_err(|e| one_line(&e))?,
    ))
}

#[cfg(feature = "portal")]
fn open_portal(args: &EncodeArgs, fps: Option<Rational>) -> Result<Box<dyn FrameSource>, String> {
    use ghoststream::capture::{LiveCapture, PortalCapture, PortalOptions, RestoreTokenFile};
    let store = args
        .portal_token
        .clone()
        .map(RestoreTokenFile::new)
        .or_else(RestoreTokenFile::default_location);
    let restore_token = store.as_ref().and_then(RestoreTokenFile::load);
    let restoring = restore_token.is_some();
    if !restoring {
        eprintln!("waiting for the desktop portal: pick the screen to record in its dialog");
    }
    let capture = PortalCapture::open(PortalOptions {
        restore_token,
        cursor: !args.no_cursor,
        ..PortalOptions::default()
    })
    .map_err(|e| one_line(&e))?;
    match (store, capture.restore_token()) {
        (Some(store), Some(token)) => match store.save(token) {
            Ok(()) => eprintln!(
                "portal: {} granted{}; the grant is kept in {}",
                capture.name(),
                if restoring { " again" } else { "" },
                store.path().display()
            ),
            Err(e) => eprintln!(
                "warning: {} (the portal will ask again next time)",
                one_line(&e)
            ),
        },
        _ => eprintln!(
            "portal: {} granted (this portal keeps no grant: it will ask again next time)",
            capture.name()
        ),
    }
    let rate = fps.unwrap_or(Rational::new(60, 1));
    Ok(Box::new(
        PacedCapture::new(capture, rate).map_err(|e| one_line(&e))?,
    ))
}

#[cfg(not(feature = "portal"))]
fn open_portal(_: &EncodeArgs, _: Option<Rational>) -> Result<Box<dyn FrameSource>, String> {
    Err("this build of ghoststream has no portal capture (built without the `portal` feature); rebuild with default features".into())
}

#[cfg(not(feature = "pipewire"))]
fn open_pipewire(_: Option<&str>, _: Option<Rational>) -> Result<Box<dyn FrameSource>, String> {
    Err("this build of ghoststream has no PipeWire capture (built without the `pipewire` feature); rebuild with default features".into())
}

fn open_source(args: &EncodeArgs) -> Result<Box<dyn FrameSource>, String> {
    let (fps, size) = (args.fps, args.size);
    let describe = |e: ghoststream::source::SourceError| one_line(&e);
    if let Some(output) = args
        .input
        .strip_prefix("wayland")
        .filter(|rest| rest.is_empty() || rest.starts_with(':'))
    {
        if size.is_some() {
            return Err("--size does not apply to a capture (the output's size is used; --scale resizes it)".into());
        }
        let options = WaylandOptions {
            display: args.display.clone(),
            output: output.strip_prefix(':').map(str::to_string),
            region: args.region,
            cursor: !args.no_cursor,
            damage: true,
            ..WaylandOptions::default()
        };
        let capture = WaylandCapture::open(options).map_err(|e| one_line(&e))?;
        let rate = fps.unwrap_or(Rational::new(60, 1));
        return Ok(Box::new(
            PacedCapture::new(capture, rate).map_err(|e| one_line(&e))?,
        ));
    }
    if let Some(node) = args
        .input
        .strip_prefix("pipewire")
        .filter(|rest| rest.is_empty() || rest.starts_with(':'))
    {
        if size.is_some() || args.display.is_some() || args.region.is_some() || args.no_cursor {
            return Err("--size, --display, --region and --no-cursor do not apply to a PipeWire capture (the node's size is used; --scale resizes it)".into());
        }
        return open_pipewire(node.strip_prefix(':'), fps);
    }
    if args.input == "portal" {
        if size.is_some() || args.display.is_some() || args.region.is_some() {
            return Err("--size, --display and --region do not apply to a portal capture (the granted screen's size is used; --scale resizes it)".into());
        }
        return open_portal(args, fps);
    }
    if args.portal_token.is_some() {
        return Err(format!(
            "--portal-token applies to --source portal, not to input {:?}",
            args.input
        ));
    }
    if args.display.is_some() || args.region.is_some() || args.no_cursor {
        return Err(format!(
            "--display, --region and --no-cursor apply to a Wayland capture (--source wayland[:OUTPUT]), not to input {:?}",
            args.input
        ));
    }
    if args.input == "testsrc" {
        let (w, h) = size.unwrap_or((1280, 720));
        let fps = fps.unwrap_or(Rational::new(30, 1));
        // `encode` makes 5 s by default; `record` runs until stopped.
        let frames = match frame_limit(args, fps)? {
            Some(n) => Some(n),
            None if args.live => None,
            None => Some(frames_in(Duration::from_secs(5), fps)),
        };
        let format = args.raw_format.unwrap_or(match args.bit_depth {
            BitDepth::Eight => PixelFormat::I420,
            BitDepth::Ten => PixelFormat::I420P10,
            other => return Err(format!("the test pattern has no format for {other:?}")),
        });
        return Ok(Box::new(
            TestPattern::new(format, w, h, fps, frames).map_err(describe)?,
        ));
    }
    if let Some(format) = args.raw_format {
        let (width, height) = size.ok_or("raw input needs --size WIDTHxHEIGHT")?;
        let frame_rate = fps.unwrap_or(Rational::new(30, 1));
        let info = SourceInfo {
            format,
            width,
            height,
            frame_rate,
        };
        return Ok(Box::new(
            RawReader::open(&args.input, info).map_err(describe)?,
        ));
    }
    if size.is_some() || fps.is_some() {
        return Err("--size and --fps apply to testsrc and raw input; a Y4M file carries its own (--scale resizes RGB input)".into());
    }
    Ok(Box::new(Y4mReader::open(&args.input).map_err(describe)?))
}

fn build_config(args: &EncodeArgs, info: SourceInfo) -> Result<SessionConfig, String> {
    let (width, height) = args.scale.unwrap_or((info.width, info.height));
    let mut c = SessionConfig::new(args.codec, width, height, info.frame_rate);
    c.input_format = info.format;
    if (width, height) != (info.width, info.height) {
        c.processing.input_size = Some((info.width, info.height));
    }
    c.processing.scale_filter = args.scale_filter;
    c.processing.fit = args.fit;
    c.processing.sharpen = args.sharpen;
    c.processing.tonemap = args.tonemap.map(|ToneCurve::Bt2390| ToneMapInput {
        transfer: args.input_transfer,
        peak: args.hdr_peak,
    });
    c.backend = args.encoder;
    let default_bitrate = match c.rate_control {
        RateControl::Cbr { bitrate } => bitrate,
        _ => 8_000_000,
    };
    let bitrate = match args.rc {
        RateControlMode::Cqp => args.bitrate,
        _ => Some(args.bitrate.unwrap_or(default_bitrate)),
    };
    c.rate_control = RateControl::from_parts(args.rc, bitrate, args.max_bitrate, args.qp)
        .map_err(|e| e.to_string())?;
    c.vbv_buffer_bits = args.vbv;
    if let Some(k) = args.keyint {
        c.keyframe_interval = k;
    }
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
    c.validate().map_err(|e| e.to_string())?;
    Ok(c)
}

/// The frames in `duration` of video at `fps`, rounded to the nearest.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a non-negative product far below 2^64 (366 days at 1000 fps at most)"
)]
fn frames_in(duration: Duration, fps: Rational) -> u64 {
    // Both are bounded (366 days, 1000 fps): the product fits easily.
    (duration.as_secs_f64() * fps.as_f64()).round() as u64
}

/// --frames, or --seconds as a frame count at `fps`; a duration shorter than one frame is an
/// error (it would encode nothing).
fn frame_limit(args: &EncodeArgs, fps: Rational) -> Result<Option<u64>, String> {
    if let Some(n) = args.frames {
        return Ok(Some(n));
    }
    let Some(seconds) = args.seconds else {
        return Ok(None);
    };
    match frames_in(seconds, fps) {
        0 => Err(format!(
            "--seconds {:?} is less than one frame at {} fps: nothing would be encoded",
            seconds,
            fps.as_f64()
        )),
        n => Ok(Some(n)),
    }
}

/// The file inputs of a run (not the test pattern or a capture), for the same-file check.
fn input_path(args: &EncodeArgs) -> Option<&std::path::Path> {
    let live = ["testsrc", "wayland", "pipewire", "portal"];
    let is_live = live.iter().any(|l| {
        args.input
            .strip_prefix(l)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
    });
    (!is_live).then(|| std::path::Path::new(&args.input))
}

/// Refuses a run in which an output (-o, --stats) is an input (the file read, the portal's
/// token file) or another output.
fn check_paths(args: &EncodeArgs) -> Result<(), String> {
    use ghoststream::output::path::{check_distinct, is_stdout, NamedPath};
    use std::path::Path;
    if args.output.as_deref().is_some_and(is_stdout) && args.stats.as_deref().is_some_and(is_stdout)
    {
        return Err("-o - and --stats - both write to standard output: send one of them elsewhere (e.g. --stats stats.jsonl)".into());
    }
    let named: [(&'static str, Option<&Path>, bool); 5] = [
        ("input", input_path(args), false),
        ("portal token file", args.portal_token.as_deref(), false),
        ("output", args.output.as_deref(), true),
        ("stats file", args.stats.as_deref(), true),
        ("control socket", args.control.as_deref(), true),
    ];
    let paths: Vec<NamedPath> = named
        .into_iter()
        .filter_map(|(role, path, output)| path.map(|path| NamedPath { role, path, output }))
        .collect();
    check_distinct(&paths).map_err(|e| one_line(&e))
}

/// Refuses an output or stats file that already exists unless -y was given (nothing is
/// encoded, the file is left as it was).
fn check_overwrite(args: &EncodeArgs) -> Result<(), String> {
    for path in [&args.output, &args.stats].into_iter().flatten() {
        ghoststream::output::path::check_overwrite(path, args.overwrite)
            .map_err(|e| format!("{} (-y)", one_line(&e)))?;
    }
    Ok(())
}

pub fn run(args: EncodeArgs) -> Result<(), String> {
    // Everything is checked and opened before the output file is created; the file itself is
    // staged until its first packet, so a run that fails leaves any earlier file at the path
    // as it was (and no empty file).
    let format = match (&args.output, args.format) {
        (_, Some(f)) => Some(f),
        (Some(path), None) if ghoststream::output::path::is_stdout(path) => Some(
            OutputFormat::Container(ghoststream::output::ContainerFormat::Matroska),
        ),
        (Some(path), None) => Some(OutputFormat::from_path(path).ok_or_else(|| {
            one_line(&ghoststream::output::SinkError::UnknownExtension { path: path.clone() })
        })?),
        (None, None) => None,
    };
    check_paths(&args)?;
    check_overwrite(&args)?;
    let mut source = open_source(&args)?;
    let info = source.info();
    let config = build_config(&args, info)?;
    let limit = frame_limit(&args, info.frame_rate)?;
    let replay = match args.replay {
        Some(duration) => Some(crate::replay::ReplayRecorder::start(
            ReplayLimits {
                duration,
                bytes: usize::try_from(args.replay_bytes).unwrap_or(usize::MAX),
            },
            &config,
            args.replay_dir.clone(),
            args.replay_format,
            args.control.clone(),
        )?),
        None => None,
    };
    let stream = match &args.stream {
        Some(url) => Some(
            ghoststream::output::live::open_live(
                url,
                &config,
                ghoststream::output::live::LiveOptions {
                    buffer: args.stream_buffer,
                    ..Default::default()
                },
            )
            .map_err(|e| one_line(&e))?,
        ),
        None => None,
    };
    let file = match (&args.output, format) {
        (Some(path), Some(format)) => {
            Some(open_file_sink(path, format, &config).map_err(|e| one_line(&e))?)
        }
        _ => None,
    };
    let mut outputs = crate::outputs::Outputs {
        file,
        replay,
        stream,
    };
    // On any failure from here until the first packet, dropping `outputs` deletes the staged
    // file and leaves the path as it was.
    let mut session = Session::open(config.clone()).map_err(|e| one_line(&e))?;
    // SIGINT/SIGTERM end the recording cleanly: the session is flushed and every file is
    // finished, as at the end of the input.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| format!("cannot listen for signal {signal}: {e}"))?;
    }
    let mut stats = match &args.stats {
        Some(path) => Some(crate::stats::StatsFile::create(path)?),
        None => None,
    };
    let report = session.backend_report().clone();
    let processing = session.processing_description().to_string();
    for (kind, why) in &report.passed_over {
        tracing::info!("{kind} passed over: {why}");
    }

    let total = source.remaining().or(args.frames);
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let bar = match limit.or(total) {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} frames {per_sec} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    };

    let started = Instant::now();
    let mut written = 0u64;
    // Packets and drops out of the session, whether or not an output then failed.
    let mut produced = 0u64;
    let mut encoded_bytes = 0u64;
    let mut dropped = 0u64;
    let live = std::cell::RefCell::new(crate::live::LiveStatus::default());
    let mut consume =
        |out: SessionOutput, outputs: &mut crate::outputs::Outputs| -> Result<(), String> {
            produced += 1;
            match out {
                SessionOutput::Packet(p) => {
                    live.borrow_mut().packet(&p.stats);
                    outputs.packet(&p)?;
                    encoded_bytes += p.data.len() as u64;
                    if let Some(s) = stats.as_mut() {
                        s.write(&p.stats, p.data.len(), p.keyframe)?;
                    }
                    written += 1;
                    bar.set_position(written);
                }
                SessionOutput::Dropped(st) => {
                    if let Some(s) = stats.as_mut() {
                        s.write(&st, 0, false)?;
                    }
                    dropped += 1
                }
                // Outputs this tool does not report yet are counted as produced only.
                _ => {}
            }
            Ok(())
        };
    let mut submitted = 0u64;
    let mut input_error = None;
    let run = (|| -> Result<(), String> {
        // An input that fails part way (a truncated file) still gets everything before the
        // failure encoded and written; its error is reported after that.
        // `record --source testsrc` runs at the pattern's frame rate, as a capture would.
        let realtime = (args.live && args.input == "testsrc").then_some(info.frame_rate);
        let period = Duration::from_nanos(
            u64::try_from(info.frame_rate.invert().rescale(1, Rational::NANOS)).unwrap_or(0),
        );
        while limit.is_none_or(|l| submitted < l) && !stop.load(Ordering::Relaxed) {
            if realtime.is_some() {
                let due = u32::try_from(submitted)
                    .ok()
                    .and_then(|n| period.checked_mul(n))
                    .and_then(|d| started.checked_add(d));
                if let Some(due) = due {
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                }
            }
            let frame = match source.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    input_error = Some(one_line(&e));
                    break;
                }
            };
            session.submit(frame).map_err(|e| one_line(&e))?;
            submitted += 1;
            while let Some(out) = session.try_receive().map_err(|e| one_line(&e))? {
                consume(out, &mut outputs)?;
            }
            for line in outputs.poll() {
                bar.println(&line);
                if bar.is_hidden() {
                    eprintln!("{line}");
                }
            }
            if let Some(pacing) = source.pacing() {
                if submitted % 10 == 0 {
                    bar.set_message(live.borrow().line(pacing, started.elapsed()));
                }
            }
        }
        for out in session.close().map_err(|e| one_line(&e))? {
            consume(out, &mut outputs)?;
        }
        Ok(())
    })();
    bar.finish_and_clear();
    if produced == 0 {
        // Nothing to keep: the staged file goes (the path keeps what it had), and so does the
        // stats file this run created.
        outputs.abandon();
        if let Some(s) = stats.take() {
            s.discard();
        }
        run?;
        let why = match &input_error {
            Some(e) => format!("the input failed before its first frame: {e}"),
            None => format!("input {:?} has no frames", args.input),
        };
        return Err(format!(
            "no frames were encoded: {why}; no file was written"
        ));
    }
    // Whatever happened, the file holds only whole packets; finish it so that what was
    // encoded stays playable, then report the first error. Replay saves asked for are written.
    let (summary, lines) = outputs.finish();
    for line in lines {
        eprintln!("{line}");
    }
    run?;
    if let Some(e) = input_error {
        return Err(format!(
            "{e} (the {submitted} frames before it were encoded and written)"
        ));
    }
    let summary = summary.transpose()?;
    if let Some(s) = stats.take() {
        s.finish()?;
    }
    if !args.quiet {
        let secs = started.elapsed().as_secs_f64();
        let video_secs = written as f64 / info.frame_rate.as_f64();
        let mbps = if video_secs > 0.0 {
            encoded_bytes as f64 * 8.0 / video_secs / 1e6
        } else {
            0.0
        };
        let target = match (&summary, &args.stream) {
            (Some(s), _) if ghoststream::output::path::is_stdout(&s.path) => {
                "wrote standard output".to_string()
            }
            (Some(s), _) => format!("wrote {}", s.path.display()),
            (None, Some(url)) => format!("streamed to {url}"),
            (None, None) => "encoded into the replay buffer".into(),
        };
        eprintln!(
            "{target}: {} frames of {}x{} {} ({:.2} Mbit/s), {:.1} fps, {}; processing: {}{}",
            written,
            config.width,
            config.height,
            config.codec,
            mbps,
            written as f64 / secs.max(1e-9),
            report.description,
            processing,
            if dropped > 0 {
                format!(", {dropped} frames dropped")
            } else {
                String::new()
            }
        );
        if let Some(pacing) = source.pacing() {
            eprintln!("capture: {}", live.borrow().summary(pacing));
        }
        if let Some(summary) = &summary {
            if let Some(rec) = &summary.record_path {
                eprintln!("configuration record: {}", rec.display());
            }
            let streamed = ghoststream::output::path::is_unseekable(&summary.path);
            if !streamed && format != Some(OutputFormat::Bitstream(BitstreamFormat::LengthPrefixed))
            {
                eprintln!("play it with: ffplay {}", summary.path.display());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_counts_from_durations() {
        assert_eq!(frames_in(Duration::from_secs(5), Rational::new(30, 1)), 150);
        assert_eq!(frames_in(Duration::from_millis(1), Rational::new(30, 1)), 0);
        assert_eq!(
            frames_in(Duration::from_secs(366 * 86_400), Rational::new(1000, 1)),
            31_622_400_000
        );
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1920x1080").unwrap(), (1920, 1080));
        assert!(parse_size("1920").unwrap_err().contains("WIDTHxHEIGHT"));
    }
}
