//! Session configuration and its validation.
//!
//! A [`SessionConfig`] says everything an encode session needs. [`SessionConfig::validate`]
//! rejects impossible combinations up front, with an error that names the field, the value it got
//! and the values it allows; a session cannot be opened from an invalid config.

use std::fmt;
use std::str::FromStr;

use crate::codec::Codec;
use crate::color::{ColorDescription, ColorPrimaries, TransferFunction};
use crate::format::PixelFormat;
use crate::hdr::HdrMetadata;
use crate::processing::convert::{ChromaSiting, ConvertSpec, GPU_YUV_INPUTS};
use crate::processing::pipeline::ProcessSpec;
use crate::processing::scale::{Fit, ScaleFilter};
use crate::processing::tonemap::{PeakSource, ToneMapSpec};
use crate::time::Rational;
use crate::units::parse_duration;

/// Rate control: how the encoder spends bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateControl {
    /// Constant bitrate, in bits per second.
    Cbr {
        /// Target and maximum rate.
        bitrate: u64,
    },
    /// Variable bitrate with a target and a ceiling, in bits per second.
    Vbr {
        /// Average rate aimed at.
        target: u64,
        /// Rate the VBV buffer drains at; never exceeded over a buffer's length.
        max: u64,
    },
    /// Constant quantizer on the codec's own scale (H.264/HEVC 0-51, AV1 0-255).
    Cqp {
        /// The quantizer.
        qp: u32,
    },
    /// Constant quality: the encoder varies the quantizer with the content to keep the
    /// perceived quality steady, and the bitrate follows (x264/x265 and SVT-AV1 CRF, NVENC's
    /// target quality). Lower is better; the range is the codec's ([`quality_range`]: 1-51
    /// for H.264/HEVC, 1-63 for AV1). The usual choice for recording to a file.
    Cq {
        /// The quality level.
        quality: u32,
    },
}

/// The constant-quality levels ([`RateControl::Cq`]) a codec takes: 1-51 for H.264 and HEVC
/// (x264/x265 CRF, NVENC target quality), 1-63 for AV1 (SVT-AV1 CRF). 0 is not taken: NVENC
/// reads a target quality of 0 as "automatic" and FFmpeg's SVT-AV1 wrapper reads CRF 0 as
/// unset; lossless has its own tuning ([`Tuning::Lossless`]).
pub const fn quality_range(codec: Codec) -> (u32, u32) {
    match codec {
        Codec::Av1 => (1, 63),
        Codec::Hevc | Codec::H264 => (1, 51),
    }
}

/// The rate-control modes by name, for building a [`RateControl`] from loose parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum RateControlMode {
    /// See [`RateControl::Cbr`].
    Cbr = 0,
    /// See [`RateControl::Vbr`].
    Vbr = 1,
    /// See [`RateControl::Cqp`].
    Cqp = 2,
    /// See [`RateControl::Cq`].
    Cq = 3,
}

impl RateControl {
    /// Builds a rate control from the loose values a command line or C caller gives, rejecting
    /// values that don't belong to the mode (a bitrate with CQP, a QP with CBR, a quality with
    /// anything but CQ).
    pub fn from_parts(
        mode: RateControlMode,
        bitrate: Option<u64>,
        max_bitrate: Option<u64>,
        qp: Option<u32>,
        quality: Option<u32>,
    ) -> Result<RateControl, ConfigError> {
        let conflict = |field: &'static str, value: String| ConfigError::Conflict {
            field,
            value,
            reason: format!("rate control {} does not take it", mode.name()),
        };
        let missing = |field: &'static str| ConfigError::Missing {
            field,
            reason: format!("rate control {} needs it", mode.name()),
        };
        // The values a mode does not take, each named with what it got.
        let refuse = |takes: &[&str]| -> Result<(), ConfigError> {
            let given = [
                ("bitrate", bitrate.map(|v| v.to_string())),
                ("max_bitrate", max_bitrate.map(|v| v.to_string())),
                ("qp", qp.map(|v| v.to_string())),
                ("quality", quality.map(|v| v.to_string())),
            ];
            match given
                .into_iter()
                .find(|(field, value)| value.is_some() && !takes.contains(field))
            {
                Some((field, Some(value))) => Err(conflict(field, value)),
                _ => Ok(()),
            }
        };
        match mode {
            RateControlMode::Cbr => {
                refuse(&["bitrate"])?;
                Ok(RateControl::Cbr {
                    bitrate: bitrate.ok_or_else(|| missing("bitrate"))?,
                })
            }
            RateControlMode::Vbr => {
                refuse(&["bitrate", "max_bitrate"])?;
                let target = bitrate.ok_or_else(|| missing("bitrate"))?;
                Ok(RateControl::Vbr {
                    target,
                    max: max_bitrate.unwrap_or(target.saturating_mul(2)),
                })
            }
            RateControlMode::Cqp => {
                refuse(&["qp"])?;
                Ok(RateControl::Cqp {
                    qp: qp.ok_or_else(|| missing("qp"))?,
                })
            }
            RateControlMode::Cq => {
                refuse(&["quality"])?;
                Ok(RateControl::Cq {
                    quality: quality.ok_or_else(|| missing("quality"))?,
                })
            }
        }
    }

    /// The mode of this rate control.
    pub const fn mode(&self) -> RateControlMode {
        match self {
            RateControl::Cbr { .. } => RateControlMode::Cbr,
            RateControl::Vbr { .. } => RateControlMode::Vbr,
            RateControl::Cqp { .. } => RateControlMode::Cqp,
            RateControl::Cq { .. } => RateControlMode::Cq,
        }
    }

    /// The peak rate in bits per second, where the mode has one.
    pub const fn max_bitrate(&self) -> Option<u64> {
        match *self {
            RateControl::Cbr { bitrate } => Some(bitrate),
            RateControl::Vbr { max, .. } => Some(max),
            RateControl::Cqp { .. } | RateControl::Cq { .. } => None,
        }
    }
}

/// How often a keyframe (IDR / AV1 key frame) starts a new closed GOP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyframeInterval {
    /// A keyframe every N frames, exactly (scene-cut keyframes are off).
    Frames(u32),
    /// Only the first frame is a keyframe (streaming with intra refresh or forced keyframes).
    Infinite,
}

/// Keyframe spacing as a person gives it: a frame count, a duration, or never. Turned into
/// the config's [`KeyframeInterval`] at a frame rate with [`KeyframeEvery::interval`].
///
/// Parsed from `60` (frames: a bare number is always a whole frame count), `2s`, `0.5s`,
/// `1.5m`, `500ms` (a duration, read by [`crate::units::parse_duration`]) and `never`,
/// `infinite`, `inf` or `off` (only the first frame is a keyframe).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyframeEvery {
    /// A keyframe every this many frames.
    Frames(u32),
    /// A keyframe every this much video, rounded to the nearest whole frame.
    Duration(std::time::Duration),
    /// Only the first frame is a keyframe.
    Never,
}

impl KeyframeEvery {
    /// The interval in frames at `frame_rate`. A duration shorter than one frame, a count of 0,
    /// more than [`MAX_KEYFRAME_INTERVAL`] frames, or a frame rate that is not positive is an
    /// error naming the value.
    pub fn interval(self, frame_rate: Rational) -> Result<KeyframeInterval, ConfigError> {
        let invalid = |expected: String| ConfigError::Invalid {
            field: "keyframe_interval",
            value: self.to_string(),
            expected,
        };
        let frames = match self {
            KeyframeEvery::Never => return Ok(KeyframeInterval::Infinite),
            KeyframeEvery::Frames(n) => f64::from(n),
            KeyframeEvery::Duration(d) => {
                if !frame_rate.is_positive() {
                    return Err(invalid(format!(
                        "a frame rate above 0 to count frames in (got {frame_rate})"
                    )));
                }
                let frames = d.as_secs_f64() * frame_rate.as_f64();
                if frames < 1.0 {
                    return Err(invalid(format!(
                        "at least one frame: one frame at {frame_rate} fps lasts {:.3} ms",
                        1000.0 / frame_rate.as_f64()
                    )));
                }
                frames.round()
            }
        };
        if !(1.0..=f64::from(MAX_KEYFRAME_INTERVAL)).contains(&frames) {
            return Err(invalid(format!(
                "1 to {MAX_KEYFRAME_INTERVAL} frames (this is {frames} at {frame_rate} fps), or never"
            )));
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a whole number checked to be in 1..=MAX_KEYFRAME_INTERVAL"
        )]
        let frames = frames as u32;
        Ok(KeyframeInterval::Frames(frames))
    }
}

impl FromStr for KeyframeEvery {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let invalid = |expected: &str| ConfigError::Invalid {
            field: "keyframe_interval",
            value: format!("'{s}'"),
            expected: expected.into(),
        };
        const EXPECTED: &str = "a whole number of frames (60), a duration (2s, 0.5s, 1.5m, 500ms) or never (also infinite, off)";
        if ["never", "infinite", "inf", "off"]
            .iter()
            .any(|w| t.eq_ignore_ascii_case(w))
        {
            return Ok(KeyframeEvery::Never);
        }
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            return t
                .parse::<u32>()
                .map(KeyframeEvery::Frames)
                .map_err(|_| invalid(EXPECTED));
        }
        // A duration must say its unit: a bare decimal (1.5) would read as seconds where a
        // whole bare number reads as frames.
        if !t.ends_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(invalid(
                "a whole frame count when bare (60), a duration with its unit (1.5s, 1.5m, 500ms), or never",
            ));
        }
        parse_duration(t)
            .map(KeyframeEvery::Duration)
            .map_err(|e| invalid(&format!("{EXPECTED} ({})", e.expected)))
    }
}

impl fmt::Display for KeyframeEvery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyframeEvery::Frames(n) => write!(f, "{n} frames"),
            KeyframeEvery::Duration(d) => write!(f, "{}s", d.as_secs_f64()),
            KeyframeEvery::Never => f.write_str("never"),
        }
    }
}

/// One speed/quality scale for every backend: P1 is the fastest, P7 the best. Each backend maps
/// it onto its own presets (see `docs/ENCODERS.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum Preset {
    /// Fastest.
    P1 = 1,
    /// Faster.
    P2 = 2,
    /// Fast.
    P3 = 3,
    /// Balanced (default).
    P4 = 4,
    /// Slower.
    P5 = 5,
    /// Better.
    P6 = 6,
    /// Best.
    P7 = 7,
}

/// What the encoder is tuned for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum Tuning {
    /// Best quality per bit: B-frames / reordering and lookahead allowed (recording).
    HighQuality = 0,
    /// No B-frames, no lookahead, one packet out for each frame in (streaming).
    LowLatency = 1,
    /// Low latency plus a VBV buffer of one frame, so no frame waits on the channel (game
    /// streaming, remote desktop).
    UltraLowLatency = 2,
    /// Mathematically lossless: the decoded frames equal the encoder's input exactly (editing,
    /// archival). Needs constant QP 0; NVENC (H.264, HEVC) and the software x264 and x265
    /// have it, SVT-AV1 does not.
    Lossless = 3,
}

impl Tuning {
    /// True for the tunings that never reorder frames (no B-frames, one packet per frame).
    pub const fn is_low_latency(self) -> bool {
        matches!(self, Tuning::LowLatency | Tuning::UltraLowLatency)
    }
}

/// Split-frame encoding: one frame cut into horizontal strips encoded at once on two or three
/// NVENC engines (GPUs with more than one engine, HEVC and AV1 only). Other backends have one
/// engine per frame and ignore it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum SplitFrame {
    /// The driver decides (it splits high resolutions at fast presets).
    #[default]
    Auto = 0,
    /// Never split: one engine per frame.
    Off = 1,
    /// Split across two engines.
    Two = 2,
    /// Split across three engines.
    Three = 3,
}

/// Bits per sample of the encoded stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum BitDepth {
    /// 8 bits (Main / High).
    Eight = 8,
    /// 10 bits (Main10 / High10 / AV1 Main 10-bit).
    Ten = 10,
}

/// What `submit` does when the in-flight queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Backpressure {
    /// Wait until the encoder takes a frame (recording: never lose a frame).
    Block = 0,
    /// Drop the oldest frame not yet given to the encoder, count it, and report it as a dropped
    /// [`crate::FrameStats`] (live capture: never fall behind real time).
    DropOldest = 1,
}

/// Which kind of encoder does the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum BackendKind {
    /// NVIDIA NVENC through CUDA (a later issue).
    Nvenc = 0,
    /// Vulkan Video encode (a later issue).
    VulkanVideo = 1,
    /// Software encoders through libavcodec: SVT-AV1, x265, x264.
    Software = 2,
}

/// The backend a session asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BackendChoice {
    /// The best path this machine has; the paths passed over, and why, are in
    /// [`crate::Session::backend_report`].
    Auto,
    /// Exactly this backend, or an error that says why not.
    Only(BackendKind),
}

/// Whether frames are processed on a Vulkan device the session creates. A session on a context
/// the caller already has (an embedding application's device, or one shared between sessions)
/// is opened with [`crate::Session::open_on`] instead, leaving this at `Auto`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum GpuChoice {
    /// Convert RGB input on the best hardware Vulkan device when there is one, else on the CPU
    /// (libswscale); a CPU-emulated device (lavapipe) is passed over for the conversion alone,
    /// which costs less on the CPU, and taken only for processing that exists on the GPU
    /// alone (scaling, tone mapping, sharpening, float input). YUV input goes to the GPU only
    /// to be scaled, tone mapped or sharpened.
    #[default]
    Auto,
    /// Never use a GPU: RGB input is converted on the CPU.
    Off,
    /// Use a Vulkan device chosen and set up by these options, or fail to open.
    Require(GpuOptions),
}

/// Which physical device to use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceSelector {
    /// The best: a discrete GPU, then integrated, then virtual, then a CPU implementation.
    #[default]
    Auto,
    /// The device at this index in Vulkan's enumeration.
    Index(usize),
    /// The first device whose name contains this text (case-insensitive).
    Name(String),
}

/// How to create a context.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GpuOptions {
    /// Which device.
    pub device: DeviceSelector,
    /// Turn on the Khronos validation layer and collect its messages (tests do).
    pub validation: bool,
}

/// GPU processing of RGB frames before they are encoded: scaling, HDR to SDR tone mapping and
/// sharpening, fused with the YUV conversion into one compute pass. The default does none of
/// them (the frames are only converted).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Processing {
    /// Size of the submitted frames when it differs from the encoded size (`width` x `height`
    /// of the config): they are scaled. `None`: frames come at the encoded size.
    pub input_size: Option<(u32, u32)>,
    /// The scaling kernel.
    pub scale_filter: ScaleFilter,
    /// Stretch or letterbox when the input's aspect ratio differs from the output's.
    pub fit: Fit,
    /// Tone map HDR input (BT.2020, PQ or HLG) to the config's SDR colour description with the
    /// BT.2390 EETF. `None`: no tone mapping (SDR input, or HDR passed through to an HDR
    /// encode).
    pub tonemap: Option<ToneMapInput>,
    /// Contrast-adaptive sharpening strength, 0 (off) to 1.
    pub sharpen: f64,
}

impl Processing {
    /// True when any operation beyond the conversion is asked for.
    pub fn is_active(&self) -> bool {
        self.input_size.is_some() || self.tonemap.is_some() || self.sharpen != 0.0
    }
}

/// The HDR input that tone mapping reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ToneMapInput {
    /// The input's transfer: `Pq` or `Hlg` (primaries BT.2020).
    pub transfer: TransferFunction,
    /// Where the source peak comes from (PQ); HLG uses its nominal 1000 nits.
    pub peak: PeakSource,
}

/// Everything an encode session needs.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionConfig {
    /// The codec.
    pub codec: Codec,
    /// The backend.
    pub backend: BackendChoice,
    /// Output width in pixels (even: the output is 4:2:0).
    pub width: u32,
    /// Output height in pixels (even).
    pub height: u32,
    /// The pixel format of the frames that will be submitted (CPU frames are converted once
    /// when the encoder takes another format).
    pub input_format: PixelFormat,
    /// Nominal frame rate in frames per second (for example 60/1 or 30000/1001).
    pub frame_rate: Rational,
    /// Rate control.
    pub rate_control: RateControl,
    /// VBV / HRD buffer size in bits; `None` picks one from the tuning (2 s for high quality,
    /// 1 s for low latency, one frame for ultra low latency). Not allowed with CQP or CQ.
    pub vbv_buffer_bits: Option<u64>,
    /// Keyframe interval.
    pub keyframe_interval: KeyframeInterval,
    /// Speed/quality preset.
    pub preset: Preset,
    /// Tuning.
    pub tuning: Tuning,
    /// Bit depth of the encoded stream.
    pub bit_depth: BitDepth,
    /// Colour description written into the stream.
    pub color: ColorDescription,
    /// HDR10 static metadata (mastering display, content light level) written into the stream;
    /// only with PQ transfer at 10 bits, for HEVC and AV1.
    pub hdr_metadata: Option<HdrMetadata>,
    /// Gradual intra refresh instead of keyframes: a column of intra blocks sweeps the picture
    /// once every this many frames, so a decoder that joins or loses a packet recovers without
    /// the bitrate spike of a keyframe. Needs an infinite keyframe interval and a low-latency
    /// tuning. `None`: off.
    pub intra_refresh_frames: Option<u32>,
    /// Split-frame encoding across NVENC engines.
    pub split_frame: SplitFrame,
    /// Frames that may wait between `submit` and the encoder (1 to 64).
    pub queue_depth: u32,
    /// How long the session waits for a GPU frame's wait semaphore before failing with a
    /// timeout (1 ms to 10 minutes).
    pub frame_wait_timeout_ms: u32,
    /// What `submit` does when that queue is full.
    pub backpressure: Backpressure,
    /// Encoder threads; 0 lets the encoder choose.
    pub threads: u32,
    /// Where frames are processed.
    pub gpu: GpuChoice,
    /// What is done to RGB frames on the GPU before encoding.
    pub processing: Processing,
}

/// The largest frame rate accepted (an encoder may take less: SVT-AV1 runs up to 240).
pub const MAX_FRAME_RATE: f64 = 1000.0;
/// The smallest frame rate accepted. Below one frame a second each frame's share of the bitrate
/// grows without bound (0.001 fps made x264 write 31 MB a frame) and x264 fails outright at
/// extreme rates; a slower timelapse is a 1 fps stream of fewer frames.
pub const MIN_FRAME_RATE: f64 = 1.0;
/// The smallest bitrate accepted, in bits per second: the software encoders take whole
/// kbit/s, and x264 refuses 0.
pub const MIN_BITRATE: u64 = 1_000;
/// The largest in-flight queue.
pub const MAX_QUEUE_DEPTH: u32 = 64;
/// The longest wait for a GPU frame's semaphore, in milliseconds (10 minutes).
pub const MAX_FRAME_WAIT_MS: u32 = 600_000;
/// The largest keyframe interval in frames.
pub const MAX_KEYFRAME_INTERVAL: u32 = 1 << 20;
/// The largest bitrate accepted, in bits per second (2 Gbit/s); defined beside the parsers
/// that read bitrates as typed.
pub use crate::units::MAX_BITRATE;

impl SessionConfig {
    /// A config with sane defaults for `codec` at `width` x `height` and `frame_rate`:
    /// I420 input, backend auto, CBR at a bitrate scaled from 8 Mbit/s at 1080p60, a keyframe every two
    /// seconds, preset P4, low-latency tuning, 8-bit BT.709, a queue of 4 that blocks.
    pub fn new(codec: Codec, width: u32, height: u32, frame_rate: Rational) -> Self {
        let pixels_per_second = f64::from(width) * f64::from(height) * frame_rate.as_f64().max(1.0);
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "clamped to 250 kbit/s..100 Mbit/s"
        )]
        let bitrate = (8_000_000.0 * pixels_per_second / (1920.0 * 1080.0 * 60.0))
            .clamp(250_000.0, 100_000_000.0) as u64;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "clamped to 1..=MAX_KEYFRAME_INTERVAL"
        )]
        let gop = (frame_rate.as_f64() * 2.0)
            .round()
            .clamp(1.0, f64::from(MAX_KEYFRAME_INTERVAL)) as u32;
        SessionConfig {
            codec,
            backend: BackendChoice::Auto,
            width,
            height,
            input_format: PixelFormat::I420,
            frame_rate,
            rate_control: RateControl::Cbr { bitrate },
            vbv_buffer_bits: None,
            keyframe_interval: KeyframeInterval::Frames(gop.max(1)),
            preset: Preset::P4,
            tuning: Tuning::LowLatency,
            bit_depth: BitDepth::Eight,
            color: ColorDescription::BT709,
            hdr_metadata: None,
            intra_refresh_frames: None,
            split_frame: SplitFrame::Auto,
            queue_depth: 4,
            frame_wait_timeout_ms: 1000,
            backpressure: Backpressure::Block,
            threads: 0,
            gpu: GpuChoice::Auto,
            processing: Processing::default(),
        }
    }

    /// The VBV buffer in bits that the encoder will use: the configured one, or the tuning's
    /// default. `None` for CQP and CQ.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a non-negative bit count; `as` saturates at u64::MAX, the bound wanted"
    )]
    pub fn effective_vbv_bits(&self) -> Option<u64> {
        let peak = self.rate_control.max_bitrate()?;
        if let Some(bits) = self.vbv_buffer_bits {
            return Some(bits);
        }
        let fps = self.frame_rate.as_f64().max(1e-9);
        Some(match self.tuning {
            Tuning::HighQuality => peak.saturating_mul(2),
            Tuning::LowLatency => peak,
            Tuning::UltraLowLatency => (peak as f64 / fps).ceil() as u64,
            Tuning::Lossless => return None,
        })
    }

    /// The duration of one frame in nanoseconds at the nominal frame rate.
    pub fn frame_duration_nanos(&self) -> i64 {
        self.frame_rate.frames_to_nanos(1)
    }

    /// Checks every field and every combination; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let limits = self.codec.limits();
        let invalid = |field: &'static str, value: String, expected: String| {
            Err(ConfigError::Invalid {
                field,
                value,
                expected,
            })
        };

        for (field, v, max) in [
            ("width", self.width, limits.max_width),
            ("height", self.height, limits.max_height),
        ] {
            if v == 0 || v % 2 != 0 || v > max {
                return invalid(
                    field,
                    v.to_string(),
                    format!(
                        "an even number from 2 to {max} for {} (the output is 4:2:0)",
                        self.codec
                    ),
                );
            }
        }
        let area = u64::from(self.width) * u64::from(self.height);
        if area > limits.max_luma_samples {
            return invalid(
                "width x height",
                format!("{}x{} ({area} samples)", self.width, self.height),
                format!(
                    "at most {} luma samples for {}",
                    limits.max_luma_samples, self.codec
                ),
            );
        }

        if self.input_format == PixelFormat::Rgba16f && self.gpu == GpuChoice::Off {
            return Err(ConfigError::Conflict {
                field: "input_format",
                value: self.input_format.to_string(),
                reason: "rgba16f is converted on the GPU only; turn the GPU on or submit rgba8, bgra8 or rgb10a2".into(),
            });
        }
        if let GpuChoice::Require(options) = &self.gpu {
            if !self.input_format.is_rgb() && !self.processing.is_active() {
                return Err(ConfigError::Conflict {
                    field: "gpu",
                    value: match &options.device {
                        DeviceSelector::Auto => "require".to_string(),
                        DeviceSelector::Index(i) => format!("require:#{i}"),
                        DeviceSelector::Name(n) => format!("require:{n}"),
                    },
                    reason: format!(
                        "{} frames go to the encoder as they are, with no GPU work to require; drop the GPU requirement (--gpu auto) or give RGB input (bgra8, rgba8, rgb10a2, rgba16f)",
                        self.input_format
                    ),
                });
            }
        }
        self.validate_processing()?;

        let fps = self.frame_rate;
        if !fps.is_positive() || !(MIN_FRAME_RATE..=MAX_FRAME_RATE).contains(&fps.as_f64()) {
            return invalid(
                "frame_rate",
                fps.to_string(),
                format!(
                    "a rate num/den from {MIN_FRAME_RATE} to {MAX_FRAME_RATE} frames per second"
                ),
            );
        }
        let reduced = fps.reduced();
        if reduced.num > i64::from(i32::MAX) || reduced.den > i64::from(i32::MAX) {
            return invalid(
                "frame_rate",
                fps.to_string(),
                format!(
                    "a fraction whose reduced terms ({reduced}) fit 32-bit fields: each at most {}",
                    i32::MAX
                ),
            );
        }

        let check_rate = |field: &'static str, v: u64| {
            if !(MIN_BITRATE..=MAX_BITRATE).contains(&v) {
                invalid(
                    field,
                    v.to_string(),
                    format!("{MIN_BITRATE} to {MAX_BITRATE} bits per second"),
                )
            } else {
                Ok(())
            }
        };
        match self.rate_control {
            RateControl::Cbr { bitrate } => check_rate("bitrate", bitrate)?,
            RateControl::Vbr { target, max } => {
                check_rate("bitrate", target)?;
                check_rate("max_bitrate", max)?;
                if max < target {
                    return invalid(
                        "max_bitrate",
                        max.to_string(),
                        format!("at least the target bitrate {target}"),
                    );
                }
            }
            RateControl::Cqp { qp } => {
                if qp > limits.max_qp {
                    return invalid(
                        "qp",
                        qp.to_string(),
                        format!("0 to {} for {}", limits.max_qp, self.codec),
                    );
                }
                if let Some(bits) = self.vbv_buffer_bits {
                    return Err(ConfigError::Conflict {
                        field: "vbv_buffer_bits",
                        value: bits.to_string(),
                        reason: "constant QP has no rate to buffer; use CBR or VBR".into(),
                    });
                }
            }
            RateControl::Cq { quality } => {
                let (low, high) = quality_range(self.codec);
                if !(low..=high).contains(&quality) {
                    return invalid(
                        "quality",
                        quality.to_string(),
                        format!(
                            "{low} to {high} for {} (lower is better; CRF on x264, x265 and SVT-AV1, target quality on NVENC)",
                            self.codec
                        ),
                    );
                }
                if let Some(bits) = self.vbv_buffer_bits {
                    return Err(ConfigError::Conflict {
                        field: "vbv_buffer_bits",
                        value: bits.to_string(),
                        reason: "constant quality has no rate to buffer; use CBR or VBR".into(),
                    });
                }
            }
        }
        if let (Some(bits), Some(peak)) = (self.vbv_buffer_bits, self.rate_control.max_bitrate()) {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a non-negative bit count; `as` saturates at u64::MAX, the bound wanted"
            )]
            let one_frame = (peak as f64 / fps.as_f64()).ceil() as u64;
            if bits < one_frame {
                return invalid(
                    "vbv_buffer_bits",
                    bits.to_string(),
                    format!("at least one frame at the peak rate ({one_frame} bits)"),
                );
            }
        }

        if let KeyframeInterval::Frames(n) = self.keyframe_interval {
            if n == 0 || n > MAX_KEYFRAME_INTERVAL {
                return invalid(
                    "keyframe_interval",
                    n.to_string(),
                    format!("1 to {MAX_KEYFRAME_INTERVAL} frames, or infinite"),
                );
            }
        }

        if self.color.transfer.is_hdr() && self.bit_depth != BitDepth::Ten {
            return Err(ConfigError::Conflict {
                field: "bit_depth",
                value: (self.bit_depth as u32).to_string(),
                reason: format!(
                    "transfer {} is HDR and needs bit_depth 10 (8-bit HDR bands visibly)",
                    self.color.transfer
                ),
            });
        }

        self.validate_stream_tools()?;

        if self.queue_depth == 0 || self.queue_depth > MAX_QUEUE_DEPTH {
            return invalid(
                "queue_depth",
                self.queue_depth.to_string(),
                format!("1 to {MAX_QUEUE_DEPTH} frames"),
            );
        }
        if self.frame_wait_timeout_ms == 0 || self.frame_wait_timeout_ms > MAX_FRAME_WAIT_MS {
            return invalid(
                "frame_wait_timeout_ms",
                self.frame_wait_timeout_ms.to_string(),
                format!("1 to {MAX_FRAME_WAIT_MS} milliseconds"),
            );
        }
        if self.threads > 256 {
            return invalid(
                "threads",
                self.threads.to_string(),
                "0 (auto) to 256".into(),
            );
        }
        Ok(())
    }
}

impl SessionConfig {
    /// Lossless, HDR10 metadata, intra refresh and split-frame: each against what it needs.
    fn validate_stream_tools(&self) -> Result<(), ConfigError> {
        let conflict = |field: &'static str, value: String, reason: String| {
            Err(ConfigError::Conflict {
                field,
                value,
                reason,
            })
        };
        if self.tuning == Tuning::Lossless && self.rate_control != (RateControl::Cqp { qp: 0 }) {
            return conflict(
                "tuning",
                "lossless".into(),
                format!(
                    "lossless needs constant QP 0, not rate control {}; use --rc cqp --qp 0",
                    self.rate_control.mode().name()
                ),
            );
        }
        if let Some(hdr) = &self.hdr_metadata {
            if let Some((what, value)) = hdr.display.out_of_range() {
                return Err(ConfigError::Invalid {
                    field: "hdr_metadata",
                    value: format!("{what} {value}"),
                    expected: "chromaticities 0 to 50000 (units of 0.00002) and a maximum luminance above the minimum (units of 0.0001 cd/m²)".into(),
                });
            }
            if self.color.transfer != TransferFunction::Pq || self.bit_depth != BitDepth::Ten {
                return conflict(
                    "hdr_metadata",
                    hdr.display.to_string(),
                    format!(
                        "HDR10 metadata describes a PQ stream at 10 bits, and this one is {} at {} bits; use --transfer pq --primaries bt2020 --matrix bt2020 --bit-depth 10",
                        self.color.transfer, self.bit_depth as u32
                    ),
                );
            }
            if self.codec == Codec::H264 {
                return conflict(
                    "hdr_metadata",
                    hdr.display.to_string(),
                    "HDR10 is written for HEVC and AV1 only; use --codec hevc or av1".into(),
                );
            }
        }
        if let Some(n) = self.intra_refresh_frames {
            if !(2..=MAX_KEYFRAME_INTERVAL).contains(&n) {
                return Err(ConfigError::Invalid {
                    field: "intra_refresh_frames",
                    value: n.to_string(),
                    expected: format!("2 to {MAX_KEYFRAME_INTERVAL} frames"),
                });
            }
            if self.keyframe_interval != KeyframeInterval::Infinite {
                return conflict(
                    "intra_refresh_frames",
                    n.to_string(),
                    "intra refresh replaces periodic keyframes; set the keyframe interval to infinite".into(),
                );
            }
            if !self.tuning.is_low_latency() {
                return conflict(
                    "intra_refresh_frames",
                    n.to_string(),
                    format!(
                        "intra refresh needs a low-latency tuning (no B-frames), not {}; use --tune ll or ull",
                        self.tuning
                    ),
                );
            }
        }
        if self.codec == Codec::H264
            && matches!(self.split_frame, SplitFrame::Two | SplitFrame::Three)
        {
            return conflict(
                "split_frame",
                self.split_frame.to_string(),
                "NVENC splits HEVC and AV1 frames only; use auto or off for H.264".into(),
            );
        }
        Ok(())
    }

    /// The whole GPU processing chain this config asks for (for RGB input), or why it cannot be
    /// built.
    pub fn process_spec(&self, output: PixelFormat) -> Result<ProcessSpec, ConfigError> {
        let p = &self.processing;
        let (iw, ih) = p.input_size.unwrap_or((self.width, self.height));
        let tonemap = p.tonemap.map(|t| ToneMapSpec {
            source: t.transfer,
            source_primaries: ColorPrimaries::Bt2020,
            output_primaries: self.color.primaries,
            output_transfer: self.color.transfer,
            peak: t.peak,
        });
        let spec = ProcessSpec {
            input_width: iw,
            input_height: ih,
            output_width: self.width,
            output_height: self.height,
            filter: p.scale_filter,
            fit: p.fit,
            tonemap,
            sharpen: p.sharpen,
            convert: ConvertSpec {
                matrix: self.color.matrix,
                range: self.color.range,
                siting: ChromaSiting::Left,
                output,
            },
        };
        spec.check().map_err(|reason| ConfigError::Conflict {
            field: "processing",
            value: describe_processing(p),
            reason,
        })?;
        Ok(spec)
    }

    fn validate_processing(&self) -> Result<(), ConfigError> {
        let p = &self.processing;
        if !p.is_active() {
            return Ok(());
        }
        let value = describe_processing(p);
        if !self.input_format.is_rgb() && !GPU_YUV_INPUTS.contains(&self.input_format) {
            return Err(ConfigError::Conflict {
                field: "processing",
                value,
                reason: format!(
                    "scaling, tone mapping and sharpening run on RGB input (bgra8, rgba8, rgb10a2, rgba16f) or nv12, i420, p010, i444, not {}",
                    self.input_format
                ),
            });
        }
        if self.gpu == GpuChoice::Off {
            return Err(ConfigError::Conflict {
                field: "processing",
                value,
                reason: "scaling, tone mapping and sharpening run on the GPU; turn the GPU on"
                    .into(),
            });
        }
        if let Some(t) = p.tonemap {
            if self.color.primaries != ColorPrimaries::Bt709 {
                return Err(ConfigError::Conflict {
                    field: "color.primaries",
                    value: self.color.primaries.to_string(),
                    reason: format!(
                        "tone mapping {} input writes SDR BT.709; set primaries bt709",
                        t.transfer
                    ),
                });
            }
        }
        // The encoder's own 4:2:0 format is chosen when the session opens; every one of them
        // (NV12, I420, P010, I420P10) passes the same checks.
        self.process_spec(PixelFormat::Nv12).map(|_| ())
    }
}

fn describe_processing(p: &Processing) -> String {
    let mut parts = Vec::new();
    if let Some((w, h)) = p.input_size {
        parts.push(format!(
            "scale from {w}x{h} ({}, {})",
            p.scale_filter, p.fit
        ));
    }
    if let Some(t) = p.tonemap {
        parts.push(format!("tone map {}", t.transfer));
    }
    if p.sharpen != 0.0 {
        parts.push(format!("sharpen {}", p.sharpen));
    }
    parts.join(", ")
}

/// Why a configuration was rejected. Each variant names the field and what it allows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A field outside its allowed values.
    #[error("invalid {field} {value}: expected {expected}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// The value it had.
        value: String,
        /// What it allows.
        expected: String,
    },
    /// A field that cannot go with the rest of the config.
    #[error("{field} {value} is not allowed here: {reason}")]
    Conflict {
        /// The field.
        field: &'static str,
        /// The value it had.
        value: String,
        /// Why it conflicts, and the fix.
        reason: String,
    },
    /// A field the rest of the config needs.
    #[error("{field} is missing: {reason}")]
    Missing {
        /// The field.
        field: &'static str,
        /// Why it is needed.
        reason: String,
    },
}

macro_rules! cli_names {
    ($ty:ident, $what:literal, [$($variant:ident => $name:literal),+ $(,)?]) => {
        impl $ty {
            /// The name used on the command line.
            pub const fn name(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.to_ascii_lowercase().as_str() {
                    $($name => Ok($ty::$variant),)+
                    _ => Err(format!(
                        concat!("unknown ", $what, " '{}' (expected one of: {})"),
                        s,
                        [$($name),+].join(", ")
                    )),
                }
            }
        }
    };
}

cli_names!(RateControlMode, "rate control", [Cbr => "cbr", Vbr => "vbr", Cqp => "cqp", Cq => "cq"]);
cli_names!(Tuning, "tuning", [HighQuality => "hq", LowLatency => "ll", UltraLowLatency => "ull", Lossless => "lossless"]);
cli_names!(SplitFrame, "split-frame mode", [Auto => "auto", Off => "off", Two => "2", Three => "3"]);
cli_names!(Backpressure, "back-pressure policy", [Block => "block", DropOldest => "drop-oldest"]);
cli_names!(BackendKind, "backend", [Nvenc => "nvenc", VulkanVideo => "vulkan", Software => "software"]);
cli_names!(Preset, "preset", [P1 => "p1", P2 => "p2", P3 => "p3", P4 => "p4", P5 => "p5", P6 => "p6", P7 => "p7"]);

impl FromStr for BackendChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(BackendChoice::Auto);
        }
        s.parse::<BackendKind>()
            .map(BackendChoice::Only)
            .map_err(|e| e.replace("(expected one of: ", "(expected one of: auto, "))
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendChoice::Auto => f.write_str("auto"),
            BackendChoice::Only(k) => k.fmt(f),
        }
    }
}

impl FromStr for KeyframeInterval {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("infinite") || s.eq_ignore_ascii_case("inf") {
            return Ok(KeyframeInterval::Infinite);
        }
        s.parse::<u32>().map(KeyframeInterval::Frames).map_err(|_| {
            format!("invalid keyframe interval '{s}' (expected a frame count or 'infinite')")
        })
    }
}

impl FromStr for BitDepth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "8" => Ok(BitDepth::Eight),
            "10" => Ok(BitDepth::Ten),
            _ => Err(format!("invalid bit depth '{s}' (expected 8 or 10)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::TransferFunction;
    use std::time::Duration;

    fn base() -> SessionConfig {
        SessionConfig::new(Codec::H264, 1920, 1080, Rational::new(60, 1))
    }

    #[test]
    fn defaults_are_valid_for_every_codec() {
        for codec in Codec::ALL {
            let c = SessionConfig::new(codec, 1280, 720, Rational::new(30, 1));
            c.validate().unwrap();
            assert_eq!(c.keyframe_interval, KeyframeInterval::Frames(60));
        }
    }

    #[test]
    fn cqp_with_a_bitrate_is_a_conflict_naming_the_bitrate() {
        let e =
            RateControl::from_parts(RateControlMode::Cqp, Some(5_000_000), None, Some(20), None)
                .unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::Conflict {
                    field: "bitrate",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("5000000"), "{e}");
    }

    #[test]
    fn cbr_with_a_qp_and_missing_parts_are_errors() {
        assert!(matches!(
            RateControl::from_parts(RateControlMode::Cbr, Some(1), None, Some(3), None),
            Err(ConfigError::Conflict { field: "qp", .. })
        ));
        assert!(matches!(
            RateControl::from_parts(RateControlMode::Cqp, None, None, None, None),
            Err(ConfigError::Missing { field: "qp", .. })
        ));
        assert_eq!(
            RateControl::from_parts(RateControlMode::Vbr, Some(4), None, None, None).unwrap(),
            RateControl::Vbr { target: 4, max: 8 }
        );
    }

    #[test]
    fn constant_quality_takes_only_a_quality() {
        assert_eq!(
            RateControl::from_parts(RateControlMode::Cq, None, None, None, Some(23)),
            Ok(RateControl::Cq { quality: 23 })
        );
        assert_eq!(
            RateControl::from_parts(RateControlMode::Cq, None, None, None, None),
            Err(ConfigError::Missing {
                field: "quality",
                reason: "rate control cq needs it".into()
            })
        );
        for (bitrate, max, qp, field, value) in [
            (Some(6_000_000), None, None, "bitrate", "6000000"),
            (None, Some(9_000_000), None, "max_bitrate", "9000000"),
            (None, None, Some(20), "qp", "20"),
        ] {
            let e = RateControl::from_parts(RateControlMode::Cq, bitrate, max, qp, Some(23))
                .unwrap_err();
            assert_eq!(
                e,
                ConfigError::Conflict {
                    field,
                    value: value.into(),
                    reason: "rate control cq does not take it".into()
                }
            );
        }
        for mode in [
            RateControlMode::Cbr,
            RateControlMode::Vbr,
            RateControlMode::Cqp,
        ] {
            let e = RateControl::from_parts(mode, Some(6_000_000), None, Some(20), Some(30))
                .unwrap_err();
            let field = if mode == RateControlMode::Cqp {
                "bitrate"
            } else {
                "qp"
            };
            assert!(
                matches!(&e, ConfigError::Conflict { field: f, .. } if *f == field),
                "{mode}: {e}"
            );
        }
        let e =
            RateControl::from_parts(RateControlMode::Cbr, Some(6_000_000), None, None, Some(30))
                .unwrap_err();
        assert_eq!(
            e.to_string(),
            "quality 30 is not allowed here: rate control cbr does not take it"
        );
        assert_eq!("cq".parse::<RateControlMode>(), Ok(RateControlMode::Cq));
        assert_eq!(RateControl::Cq { quality: 1 }.mode().name(), "cq");
        assert_eq!(RateControl::Cq { quality: 1 }.max_bitrate(), None);
    }

    #[test]
    fn constant_quality_range_follows_the_codec() {
        for (codec, high) in [(Codec::H264, 51), (Codec::Hevc, 51), (Codec::Av1, 63)] {
            let mut c = SessionConfig::new(codec, 1280, 720, Rational::new(30, 1));
            for ok in [1, high] {
                c.rate_control = RateControl::Cq { quality: ok };
                c.validate().unwrap();
            }
            for bad in [0, high + 1] {
                c.rate_control = RateControl::Cq { quality: bad };
                assert_eq!(
                    c.validate().unwrap_err().to_string(),
                    format!("invalid quality {bad}: expected 1 to {high} for {codec} (lower is better; CRF on x264, x265 and SVT-AV1, target quality on NVENC)")
                );
            }
            c.rate_control = RateControl::Cq { quality: 30 };
            assert_eq!(c.effective_vbv_bits(), None);
            c.vbv_buffer_bits = Some(1_000_000);
            assert_eq!(conflict_field(&c).0, "vbv_buffer_bits");
        }
    }

    #[test]
    fn keyframe_spacing_by_frames_duration_or_never() {
        let fps30 = Rational::new(30, 1);
        for (text, every, frames) in [
            ("60", KeyframeEvery::Frames(60), Some(60)),
            (
                "2s",
                KeyframeEvery::Duration(Duration::from_secs(2)),
                Some(60),
            ),
            (
                "0.5s",
                KeyframeEvery::Duration(Duration::from_millis(500)),
                Some(15),
            ),
            (
                "1.5m",
                KeyframeEvery::Duration(Duration::from_secs(90)),
                Some(2700),
            ),
            (
                "500ms",
                KeyframeEvery::Duration(Duration::from_millis(500)),
                Some(15),
            ),
            ("infinite", KeyframeEvery::Never, None),
            ("Never", KeyframeEvery::Never, None),
            ("off", KeyframeEvery::Never, None),
            ("inf", KeyframeEvery::Never, None),
        ] {
            let parsed: KeyframeEvery = text.parse().unwrap();
            assert_eq!(parsed, every, "{text}");
            let want = frames.map_or(KeyframeInterval::Infinite, KeyframeInterval::Frames);
            assert_eq!(parsed.interval(fps30), Ok(want), "{text}");
        }
        // At NTSC rates a duration rounds to the nearest frame: 2 s at 29.97 is 59.94 -> 60.
        let every: KeyframeEvery = "2s".parse().unwrap();
        assert_eq!(
            every.interval(Rational::new(30000, 1001)),
            Ok(KeyframeInterval::Frames(60))
        );
        for bad in [
            "",
            "1.5",
            "-2s",
            "2x",
            "0s",
            "fast",
            "60 frames",
            "4294967296",
        ] {
            let e = bad.parse::<KeyframeEvery>().unwrap_err();
            assert!(
                matches!(&e, ConfigError::Invalid { field: "keyframe_interval", value, .. } if *value == format!("'{bad}'")),
                "{bad}: {e}"
            );
        }
        assert!("1.5"
            .parse::<KeyframeEvery>()
            .unwrap_err()
            .to_string()
            .contains("a whole frame count when bare (60)"));
        // Shorter than a frame, zero frames, and more than the largest interval are errors
        // naming the value.
        let e = "10ms"
            .parse::<KeyframeEvery>()
            .unwrap()
            .interval(fps30)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid keyframe_interval 0.01s: expected at least one frame: one frame at 30/1 fps lasts 33.333 ms"
        );
        let e = KeyframeEvery::Frames(0).interval(fps30).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid keyframe_interval 0 frames: expected 1 to 1048576 frames"),
            "{e}"
        );
        let e = "10h"
            .parse::<KeyframeEvery>()
            .unwrap()
            .interval(fps30)
            .unwrap_err();
        assert!(e.to_string().contains("this is 1080000 at 30/1 fps"), "{e}");
        assert_eq!(
            KeyframeEvery::Frames(MAX_KEYFRAME_INTERVAL).interval(fps30),
            Ok(KeyframeInterval::Frames(MAX_KEYFRAME_INTERVAL))
        );
        assert!(KeyframeEvery::Duration(Duration::from_secs(1))
            .interval(Rational::new(0, 1))
            .is_err());
    }

    #[test]
    fn frame_rates_outside_what_encoders_run_are_invalid() {
        for (num, den) in [
            (1, 1_000_000_000),
            (1, 1000),
            (999, 1000),
            (1001, 1),
            (0, 1),
            (1, 0),
            (-30, 1),
            (30, -1),
            (i64::MAX, i64::MAX / 60),
        ] {
            let mut c = base();
            c.frame_rate = Rational::new(num, den);
            let e = c.validate().unwrap_err();
            assert!(
                matches!(
                    e,
                    ConfigError::Invalid {
                        field: "frame_rate",
                        ..
                    }
                ),
                "{num}/{den}: {e}"
            );
            assert!(e.to_string().contains(&format!("{num}/{den}")), "{e}");
        }
        // Reducible fractions whose terms are over 32 bits but whose value fits are taken.
        let mut c = base();
        c.frame_rate = Rational::new(60_000_000_000, 1_000_000_000);
        c.validate().unwrap();
        for (num, den) in [(1, 1), (30000, 1001), (1000, 1)] {
            c.frame_rate = Rational::new(num, den);
            c.validate().unwrap();
        }
    }

    #[test]
    fn requiring_a_gpu_for_yuv_input_is_a_conflict() {
        let mut c = base();
        c.input_format = PixelFormat::I420;
        c.gpu = GpuChoice::Require(GpuOptions {
            device: DeviceSelector::Name("NoSuchGpu".into()),
            validation: false,
        });
        let e = c.validate().unwrap_err();
        assert!(
            matches!(e, ConfigError::Conflict { field: "gpu", .. }),
            "{e}"
        );
        assert!(
            e.to_string().contains("NoSuchGpu") && e.to_string().contains("i420"),
            "{e}"
        );
        c.input_format = PixelFormat::Bgra8;
        c.validate().unwrap();
    }

    #[test]
    fn bitrates_under_a_kilobit_are_invalid() {
        let mut c = base();
        c.rate_control = RateControl::Cbr { bitrate: 999 };
        assert!(c.validate().unwrap_err().to_string().contains("999"));
        c.rate_control = RateControl::Cbr { bitrate: 1000 };
        c.validate().unwrap();
    }

    #[test]
    fn bitrate_zero_is_invalid() {
        let mut c = base();
        c.rate_control = RateControl::Cbr { bitrate: 0 };
        let e = c.validate().unwrap_err();
        assert_eq!(
            e,
            ConfigError::Invalid {
                field: "bitrate",
                value: "0".into(),
                expected: format!("{MIN_BITRATE} to {MAX_BITRATE} bits per second")
            }
        );
    }

    #[test]
    fn keyframe_interval_zero_is_invalid() {
        let mut c = base();
        c.keyframe_interval = KeyframeInterval::Frames(0);
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid {
                field: "keyframe_interval",
                ..
            })
        ));
    }

    #[test]
    fn sizes_are_checked_against_the_codec() {
        let mut c = base();
        c.width = 1921;
        assert!(c.validate().unwrap_err().to_string().contains("1921"));
        c.width = 0;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid { field: "width", .. })
        ));
        let mut av1 = SessionConfig::new(Codec::Av1, 1920, 8706, Rational::new(30, 1));
        assert!(av1.validate().unwrap_err().to_string().contains("8706"));
        av1.height = 8704;
        av1.width = 8192; // 8192 x 8704 is over AV1's MaxPicSize
        assert!(matches!(
            av1.validate(),
            Err(ConfigError::Invalid {
                field: "width x height",
                ..
            })
        ));
    }

    #[test]
    fn qp_range_follows_the_codec() {
        let mut c = base();
        c.rate_control = RateControl::Cqp { qp: 52 };
        assert!(c.validate().is_err());
        c.codec = Codec::Av1;
        c.validate().unwrap();
        c.rate_control = RateControl::Cqp { qp: 256 };
        assert!(c.validate().unwrap_err().to_string().contains("0 to 255"));
    }

    #[test]
    fn vbv_with_cqp_and_tiny_vbv_are_rejected() {
        let mut c = base();
        c.rate_control = RateControl::Cqp { qp: 20 };
        c.vbv_buffer_bits = Some(1_000_000);
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Conflict {
                field: "vbv_buffer_bits",
                ..
            })
        ));
        let mut c = base();
        c.rate_control = RateControl::Cbr { bitrate: 6_000_000 };
        c.vbv_buffer_bits = Some(99_999);
        assert!(c.validate().unwrap_err().to_string().contains("100000"));
    }

    #[test]
    fn vbr_max_below_target_is_invalid() {
        let mut c = base();
        c.rate_control = RateControl::Vbr {
            target: 10_000_000,
            max: 5_000_000,
        };
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid {
                field: "max_bitrate",
                ..
            })
        ));
    }

    #[test]
    fn hdr_needs_ten_bits() {
        let mut c = base();
        c.color.transfer = TransferFunction::Pq;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Conflict {
                field: "bit_depth",
                ..
            })
        ));
        c.bit_depth = BitDepth::Ten;
        c.validate().unwrap();
    }

    #[test]
    fn frame_rate_and_queue_are_bounded() {
        let mut c = base();
        c.frame_rate = Rational::new(0, 1);
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid {
                field: "frame_rate",
                ..
            })
        ));
        c.frame_rate = Rational::new(30, 0);
        assert!(c.validate().is_err());
        let mut c = base();
        c.queue_depth = 0;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid {
                field: "queue_depth",
                ..
            })
        ));
        for bad in [0, MAX_FRAME_WAIT_MS + 1] {
            let mut c = base();
            c.frame_wait_timeout_ms = bad;
            let e = c.validate().unwrap_err();
            assert!(
                matches!(
                    e,
                    ConfigError::Invalid {
                        field: "frame_wait_timeout_ms",
                        ..
                    }
                ),
                "{e}"
            );
            assert!(e.to_string().contains(&bad.to_string()), "{e}");
        }
    }

    #[test]
    fn ull_vbv_is_one_frame() {
        let mut c = base();
        c.tuning = Tuning::UltraLowLatency;
        c.rate_control = RateControl::Cbr { bitrate: 6_000_000 };
        assert_eq!(c.effective_vbv_bits(), Some(100_000));
        c.rate_control = RateControl::Cqp { qp: 30 };
        assert_eq!(c.effective_vbv_bits(), None);
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            "drop-oldest".parse::<Backpressure>().unwrap(),
            Backpressure::DropOldest
        );
        assert_eq!(
            "auto".parse::<BackendChoice>().unwrap(),
            BackendChoice::Auto
        );
        assert!("cuda"
            .parse::<BackendChoice>()
            .unwrap_err()
            .contains("auto, nvenc"));
        assert_eq!(
            "infinite".parse::<KeyframeInterval>().unwrap(),
            KeyframeInterval::Infinite
        );
        assert!("12".parse::<BitDepth>().is_err());
        assert_eq!("lossless".parse::<Tuning>().unwrap(), Tuning::Lossless);
        assert_eq!("3".parse::<SplitFrame>().unwrap(), SplitFrame::Three);
    }

    fn conflict_field(c: &SessionConfig) -> (&'static str, String) {
        match c.validate() {
            Err(ConfigError::Conflict { field, reason, .. }) => (field, reason),
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[test]
    fn lossless_needs_constant_qp_zero() {
        let mut c = base();
        c.tuning = Tuning::Lossless;
        let (field, reason) = conflict_field(&c);
        assert_eq!(field, "tuning");
        assert!(
            reason.contains("--qp 0") && reason.contains("cbr"),
            "{reason}"
        );
        c.rate_control = RateControl::Cqp { qp: 1 };
        assert_eq!(conflict_field(&c).0, "tuning");
        c.rate_control = RateControl::Cqp { qp: 0 };
        c.validate().unwrap();
    }

    fn hdr10(codec: Codec) -> SessionConfig {
        let mut c = SessionConfig::new(codec, 3840, 2160, Rational::new(60, 1));
        c.color = ColorDescription::HDR10;
        c.bit_depth = BitDepth::Ten;
        c.hdr_metadata = Some(HdrMetadata {
            display: crate::hdr::MasteringDisplay::BT2020_1000_NITS,
            light: None,
        });
        c
    }

    #[test]
    fn hdr_metadata_needs_pq_ten_bits_and_hevc_or_av1() {
        hdr10(Codec::Hevc).validate().unwrap();
        hdr10(Codec::Av1).validate().unwrap();
        let (field, reason) = conflict_field(&hdr10(Codec::H264));
        assert_eq!(field, "hdr_metadata");
        assert!(reason.contains("hevc or av1"), "{reason}");
        let mut c = hdr10(Codec::Hevc);
        c.color = ColorDescription::BT709;
        let (_, reason) = conflict_field(&c);
        assert!(reason.contains("bt709 at 10 bits"), "{reason}");
        let mut c = hdr10(Codec::Hevc);
        c.hdr_metadata.as_mut().unwrap().display.min_luminance = 20_000_000;
        match c.validate() {
            Err(ConfigError::Invalid { field, value, .. }) => {
                assert_eq!(field, "hdr_metadata");
                assert!(value.contains("min 20000000"), "{value}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn intra_refresh_needs_an_infinite_gop_and_low_latency() {
        let mut c = base();
        c.intra_refresh_frames = Some(60);
        let (field, reason) = conflict_field(&c);
        assert_eq!(field, "intra_refresh_frames");
        assert!(reason.contains("infinite"), "{reason}");
        c.keyframe_interval = KeyframeInterval::Infinite;
        c.validate().unwrap();
        c.tuning = Tuning::HighQuality;
        assert!(conflict_field(&c).1.contains("not hq"));
        c.tuning = Tuning::UltraLowLatency;
        c.intra_refresh_frames = Some(1);
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid {
                field: "intra_refresh_frames",
                ..
            })
        ));
    }

    #[test]
    fn forced_split_frame_is_not_for_h264() {
        let mut c = base();
        c.split_frame = SplitFrame::Two;
        assert_eq!(conflict_field(&c).0, "split_frame");
        c.codec = Codec::Hevc;
        c.validate().unwrap();
        c.codec = Codec::H264;
        c.split_frame = SplitFrame::Off;
        c.validate().unwrap();
    }
}
