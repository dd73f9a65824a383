//! `ghoststream encode`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ghoststream::control::ControlError;
use ghoststream::hdr::{ContentLightLevel, HdrMetadata, MasteringDisplay};
use ghoststream::output::live::LiveOptions;
use ghoststream::output::replay::ReplayLimits;
use ghoststream::output::{BitstreamFormat, OutputFormat};
use ghoststream::processing::scale::{Fit, ScaleFilter};
use ghoststream::processing::tonemap::PeakSource;
use ghoststream::recorder::{
    default_replay_folder, Limit, OutputSpec, RateOptions, Recorder, RecorderError,
    RecorderOptions, RecorderSummary, DEFAULT_REPLAY_BYTES,
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
    #[arg(short, long, visible_alias = "source")]
    pub input: Option<String>,

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
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes, allow_hyphen_values = true)]
    replay_bytes: Option<u64>,

    /// Where replay saves go (default: your videos folder).
    ///
    /// XDG_VIDEOS_DIR from ~/.config/user-dirs.dirs, else ~/Videos (created if missing). Each
    /// save is named by the local date and time (Replay_2026-12-04_15-30-12.mkv): an existing
    /// file is never replaced.
    #[arg(long, value_name = "DIR")]
    replay_dir: Option<PathBuf>,

    /// Replay saves' format: mkv, mp4 or ts.
    ///
    /// Or a raw bitstream format: annexb, length-prefixed, obu, ivf.
    #[arg(long, value_name = "FORMAT", default_value = "mkv")]
    replay_format: OutputFormat,

    /// The socket `ghoststream save`, `status` and `stop` use.
    ///
    /// Default: $XDG_RUNTIME_DIR/ghoststream/control.sock. `ghoststream save [SECONDS]`, `status`, `stop`, `keyframe` and `bitrate RATE` talk to
    /// it (give them the same --control). A recording that finds the default socket held by
    /// another runs without one and says so; a socket left by a killed run is replaced.
    #[arg(long, value_name = "PATH")]
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
    ///
    /// Default: what the output file's extension names (.h264, .h265, .ivf), else for a
    /// capture one the encoder runs in real time (AV1 on NVENC or Vulkan Video, H.264 in
    /// software), else AV1.
    #[arg(short, long)]
    codec: Option<Codec>,

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

    /// Rate control: cbr, vbr, cqp or cq (constant quality).
    ///
    /// Default: what the values given imply (--bitrate: cbr, --max-bitrate: vbr, --qp: cqp,
    /// --quality: cq), else cbr when streaming (--stream) and cq for files and replays.
    #[arg(long)]
    rc: Option<RateControlMode>,

    /// Target bitrate for cbr/vbr in bits per second: 6M, 6000k, 6Mbps.
    ///
    /// k = 1000; a bare number under 50000 is refused (6000: did you mean 6000k?).
    /// Default: scaled from 8 Mbit/s at 1080p60.
    #[arg(long, value_parser = parse_bitrate, allow_hyphen_values = true)]
    bitrate: Option<u64>,

    /// Peak bitrate for vbr (default: twice the target).
    #[arg(long, value_name = "RATE", value_parser = parse_bitrate, allow_hyphen_values = true)]
    max_bitrate: Option<u64>,

    /// Quantizer for cqp: 0-51 for h264/hevc, 0-255 for av1.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    qp: Option<u32>,

    /// Quality for cq, lower is better: 1-51 (h264, hevc), 1-63 (av1).
    ///
    /// CRF on x264, x265 and SVT-AV1; target quality on NVENC (1-51).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    quality: Option<u32>,

    /// VBV buffer in bits (optional k/M suffix).
    ///
    /// A bare number under 50000 is refused as for --bitrate. Default: 2 s (hq), 1 s (ll), one
    /// frame (ull).
    #[arg(long, value_name = "BITS", value_parser = parse_buffer_bits, allow_hyphen_values = true)]
    vbv: Option<u64>,

    /// Keyframe interval: frames (60), a duration (2s, 0.5s, 1.5m) or never.
    ///
    /// Default: 2s.
    #[arg(long, allow_hyphen_values = true)]
    keyint: Option<KeyframeEvery>,

    /// Speed/quality preset, p1 (fastest) to p7 (best).
    ///
    /// Each encoder maps it onto its own presets (docs/ENCODERS.md). x264's preset names
    /// (veryfast, slow, ...) are answered with the level that runs them. Default: p4; for a
    /// capture on a software encoder, the fastest that keeps real time (p3 up to 1080p60, p1
    /// above).
    #[arg(long)]
    preset: Option<Preset>,

    /// Tuning: hq, ll, ull (ultra low latency) or lossless.
    ///
    /// hq: high quality (B-frames, lookahead); ll: low latency; ull: ultra low latency (a VBV of
    /// one frame); lossless needs --rc cqp --qp 0 (H.264 and HEVC).
    #[arg(long, default_value = "ll")]
    tune: Tuning,

    /// Refresh the picture gradually over N frames instead of with keyframes.
    ///
    /// Needs --keyint infinite and --tune ll or ull: a decoder that joins or loses a packet
    /// recovers within N frames. NVENC, x264 and Vulkan Video (where the driver offers
    /// VK_KHR_video_encode_intra_refresh) do it; H.264 and HEVC streams carry a recovery point
    /// at the start of each cycle.
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
    /// auto: a hardware Vulkan device when there is one, else the CPU (a CPU-emulated device
    /// such as lavapipe costs more than the CPU conversion; auto takes it only to scale,
    /// sharpen or tone map). off: the CPU. require[:NAME]: a Vulkan device, lavapipe included,
    /// optionally the first whose name contains NAME; fail if none.
    #[arg(long, value_name = "WHERE", default_value = "auto", value_parser = crate::args::parse_gpu)]
    gpu: GpuChoice,

    /// Scale to WxH on the GPU before encoding.
    ///
    /// RGB input, or nv12, i420, p010, i444 (a Y4M file, a YUV capture); the encoded size. The
    /// picture keeps its aspect ratio inside black bars
    /// unless --fit stretch.
    #[arg(long, value_name = "WxH", value_parser = parse_size, allow_hyphen_values = true)]
    scale: Option<(u32, u32)>,

    /// Kernel: lanczos, bicubic, bilinear or area.
    ///
    /// bicubic is Catmull-Rom, lanczos is Lanczos-3. Each widens when downscaling, so nothing
    /// aliases. area averages each output pixel's footprint (FFmpeg's `-sws_flags area`): the
    /// cheapest downscale, without ringing; blocky when upscaling.
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
            overwrite: args.overwrite,
        });
    }
    if let Some(duration) = args.replay {
        outputs.push(OutputSpec::Replay {
            limits: ReplayLimits {
                duration,
                bytes: args.replay_bytes.map_or(DEFAULT_REPLAY_BYTES, |b| {
                    usize::try_from(b).unwrap_or(usize::MAX)
                }),
            },
            dir: match &args.replay_dir {
                Some(dir) => dir.clone(),
                None => default_replay_folder()
                    .map_err(|e| format!("{} (--replay-dir DIR)", one_line(&e)))?,
            },
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
        outputs.push(OutputSpec::Stats {
            path: path.clone(),
            overwrite: args.overwrite,
        });
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
    o.preset = args.preset;
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
    o.control_socket = match &args.control {
        Some(path) => Some(path.clone()),
        None if args.live => ghoststream::control::default_socket_path(),
        None => None,
    };
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
    let recorder = start(recorder_options(&args)?, args.control.is_none())?;
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

/// Starts the recording; when the default control socket is held by another recording, this
/// one runs without a socket and says so.
fn start(options: RecorderOptions, default_socket: bool) -> Result<Recorder, String> {
    let fallback = default_socket.then(|| {
        let mut o = options.clone();
        o.control_socket = None;
        o
    });
    match (Recorder::start(options), fallback) {
        (Err(RecorderError::Control(ControlError::InUse { path })), Some(without)) => {
            eprintln!(
                "another recording holds the control socket {}: this one runs without one (give it --control PATH to have one)",
                path.display()
            );
            Recorder::start(without).map_err(|e| cli_message(&e))
        }
        (started, _) => started.map_err(|e| cli_message(&e)),
    }
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
    if let RecorderError::Sink(ghoststream::output::SinkError::Exists { .. }) = e {
        return format!("{} (-y)", one_line(e));
    }
    if let RecorderError::Replay(ghoststream::output::replay::ReplayError::Format {
        format, ..
    }) = e
    {
        return format!("--replay-format {format}: {}", one_line(e));
    }
    if let RecorderError::StdoutTwice { .. } = e {
        // Only -o and --stats can be standard output.
        return "-o - and --stats - both write to standard output: send one of them elsewhere (e.g. --stats stats.jsonl)".into();
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
        if let Some(stages) = summary.stats.as_ref().and_then(crate::live::stage_line) {
            eprintln!("{stages}");
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
