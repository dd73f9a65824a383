//! The software encoders (SVT-AV1, x265, x264) through libavcodec.
//!
//! [`software_params`] maps a [`SessionConfig`] onto the encoder's settings. It is a pure
//! function, unit-tested field by field; [`SoftwareEncoder`] opens the encoder with them and
//! feeds it frames without copying (or, when the frame's format is not one the encoder takes,
//! through one libswscale conversion).

use std::sync::Arc;

use super::{EncodeError, EncodedUnit, EncoderBackend, LiveControls};
use crate::codec::Codec;
use crate::config::{
    BackendKind, BitDepth, KeyframeInterval, Preset, RateControl, SessionConfig, Tuning,
};
use crate::ffmpeg::codec::{
    encoder_pixel_formats, has_encoder, AvEncoder, AvEncoderParams, AvPicture, AvScaler,
};
use crate::format::PixelFormat;
use crate::frame::{BufferPool, CpuImage, Frame, FrameImage};

/// The libavcodec encoder used for each codec.
pub const fn encoder_name(codec: Codec) -> &'static str {
    match codec {
        Codec::Av1 => "libsvtav1",
        Codec::Hevc => "libx265",
        Codec::H264 => "libx264",
    }
}

/// x264/x265 preset names for P1..P7.
const X26X_PRESETS: [&str; 7] = [
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
];
/// SVT-AV1 presets (0 slowest .. 13 fastest) for P1..P7.
const SVT_PRESETS: [u32; 7] = [12, 11, 10, 9, 8, 7, 5];

/// The preset of the software encoder for `preset`.
pub fn preset_name(codec: Codec, preset: Preset) -> String {
    let i = preset as usize - 1;
    match codec {
        Codec::Av1 => SVT_PRESETS[i].to_string(),
        Codec::Hevc | Codec::H264 => X26X_PRESETS[i].to_string(),
    }
}

/// AV1 `base_q_idx` (0-255) to SVT-AV1's quantizer (1-63): SVT maps its qp to qindex as 4 x qp
/// (63 to 255), so the inverse is qindex / 4, rounded, kept within 1..63.
pub fn svt_qp(qindex: u32) -> u32 {
    ((qindex + 2) / 4).clamp(1, 63)
}

/// The format the encoder will be fed for a frame of `input` format.
///
/// Frames already in a format the encoder takes at the configured depth go in as they are;
/// everything else is converted once to planar 4:2:0 at the configured depth.
pub fn choose_encoder_input(
    input: PixelFormat,
    depth: BitDepth,
    accepted: &[PixelFormat],
) -> Result<PixelFormat, EncodeError> {
    let depth_bits = depth as u32;
    let is_420 = matches!(
        input.subsampling(),
        Some(crate::format::ChromaSubsampling::Cs420)
    );
    if is_420 && input.bit_depth() == depth_bits && accepted.contains(&input) {
        return Ok(input);
    }
    let target = match depth {
        BitDepth::Eight => PixelFormat::I420,
        BitDepth::Ten => PixelFormat::I420P10,
    };
    if accepted.contains(&target) {
        Ok(target)
    } else {
        Err(EncodeError::UnsupportedInput {
            format: input,
            reason: format!(
                "the encoder takes none of the {depth_bits}-bit 4:2:0 formats (it takes: {})",
                accepted
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }
}

/// Maps a validated config onto libavcodec settings for the software encoder of its codec, for
/// frames of `input_format`. `accepted` is the encoder's list of pixel formats.
#[expect(
    clippy::cast_possible_wrap,
    reason = "validate() bounds bitrates (2 Gbit/s), threads (256) and keyframe intervals (2^20)"
)]
pub fn software_params(
    config: &SessionConfig,
    input_format: PixelFormat,
    accepted: &[PixelFormat],
) -> Result<AvEncoderParams, EncodeError> {
    let encoder = encoder_name(config.codec);
    let encoder_input = choose_encoder_input(input_format, config.bit_depth, accepted)?;
    let low_latency = config.tuning != Tuning::HighQuality;
    let mut p = AvEncoderParams {
        encoder,
        width: config.width,
        height: config.height,
        input_format: encoder_input,
        // Reduced: validation guarantees the reduced terms fit libavcodec's 32-bit fields.
        time_base: config.frame_rate.reduced().invert(),
        frame_rate: config.frame_rate.reduced(),
        bit_rate: 0,
        rc_max_rate: 0,
        rc_buffer_size: 0,
        gop_size: -1,
        keyint_min: -1,
        max_b_frames: if low_latency { 0 } else { -1 },
        closed_gop: true,
        threads: config.threads as i32,
        color: config.color,
        options: Vec::new(),
    };
    let vbv = i64::try_from(config.effective_vbv_bits().unwrap_or(0)).unwrap_or(i64::MAX);
    match config.rate_control {
        RateControl::Cbr { bitrate } => {
            p.bit_rate = bitrate as i64;
            p.rc_max_rate = bitrate as i64;
            p.rc_buffer_size = vbv;
        }
        RateControl::Vbr { target, max } => {
            p.bit_rate = target as i64;
            p.rc_max_rate = max as i64;
            p.rc_buffer_size = vbv;
        }
        RateControl::Cqp { .. } | RateControl::Cq { .. } => {}
    }
    if let KeyframeInterval::Frames(n) = config.keyframe_interval {
        p.gop_size = n as i32;
        p.keyint_min = n as i32;
    }
    let preset = preset_name(config.codec, config.preset);
    let opt = |k: &str, v: String| (k.to_string(), v);
    match config.codec {
        Codec::H264 | Codec::Hevc => {
            p.options.push(opt("preset", preset));
            // A keyframe the session forces is an IDR, not an open I picture.
            p.options.push(opt("forced-idr", "1".into()));
            if low_latency {
                p.options.push(opt("tune", "zerolatency".into()));
            }
            let keyint = match config.keyframe_interval {
                KeyframeInterval::Frames(n) => format!("keyint={n}:min-keyint={n}"),
                KeyframeInterval::Infinite if config.codec == Codec::H264 => {
                    "keyint=infinite".into()
                }
                KeyframeInterval::Infinite => "keyint=-1".into(),
            };
            let keyint = match config.intra_refresh_frames {
                // x264 and x265 sweep the refresh column over `keyint` frames and then never
                // insert a keyframe.
                Some(n) => format!("keyint={n}:min-keyint={n}:intra-refresh=1"),
                None => keyint,
            };
            let mut params = vec![keyint, "scenecut=0".to_string()];
            match config.rate_control {
                RateControl::Cqp { qp } => p.options.push(opt("qp", qp.to_string())),
                // x264 and x265 write it into the stream's settings SEI as `crf=N.0`.
                RateControl::Cq { quality } => p.options.push(opt("crf", quality.to_string())),
                RateControl::Cbr { .. } | RateControl::Vbr { .. } => {}
            }
            if config.codec == Codec::H264 {
                if matches!(config.rate_control, RateControl::Cbr { .. }) {
                    params.push("nal-hrd=cbr".into());
                }
                p.options.push(opt("x264-params", params.join(":")));
            } else {
                params.push("open-gop=0".into());
                if low_latency {
                    // FFmpeg maps thread_count onto x265's frame threads, and each frame thread
                    // holds a frame back: one frame thread keeps one packet out per frame in.
                    params.push("frame-threads=1".into());
                }
                if matches!(config.rate_control, RateControl::Cbr { .. }) {
                    params.push("strict-cbr=1".into());
                }
                if config.tuning == Tuning::Lossless {
                    params.push("lossless=1".into());
                }
                if let Some(hdr) = &config.hdr_metadata {
                    params.push(format!("master-display={}", hdr.display));
                    if let Some(light) = hdr.light {
                        params.push(format!("max-cll={light}"));
                    }
                }
                params.push("log-level=error".into());
                p.options.push(opt("x265-params", params.join(":")));
            }
        }
        Codec::Av1 => {
            let refuse = |what: &str, fix: &str| EncodeError::Unsupported {
                encoder: encoder.into(),
                what: what.into(),
                fix: fix.into(),
            };
            if config.tuning == Tuning::Lossless {
                return Err(refuse(
                    "lossless tuning",
                    "use --codec hevc or h264 for lossless, or NVENC",
                ));
            }
            if config.intra_refresh_frames.is_some() {
                return Err(refuse(
                    "intra refresh",
                    "use periodic keyframes, or --codec h264 or hevc",
                ));
            }
            svt_limits(config)?;
            p.options.push(opt("preset", preset));
            let mut params = Vec::new();
            // SVT-AV1 runs CBR only with its low-delay prediction structure.
            let low_delay = low_latency || matches!(config.rate_control, RateControl::Cbr { .. });
            params.push(format!("pred-struct={}", if low_delay { 1 } else { 2 }));
            if low_latency {
                params.push("lookahead=0".into());
            }
            if config.keyframe_interval == KeyframeInterval::Infinite {
                params.push("keyint=-1".into());
            }
            params.push("scd=0".into());
            // FFmpeg 5.1's wrapper copies rc_max_rate into SVT's max_bit_rate, which SVT-AV1
            // 1.4 accepts only for capped CRF; so rate control goes through SVT's own keys.
            let (bit_rate, max_rate) = (p.bit_rate, p.rc_max_rate);
            p.bit_rate = 0;
            p.rc_max_rate = 0;
            p.rc_buffer_size = 0;
            match config.rate_control {
                RateControl::Cqp { qp } => p.options.push(opt("qp", svt_qp(qp).to_string())),
                // FFmpeg's wrapper sets SVT-AV1's CRF mode (rate control 0 with adaptive
                // quantization) with the quality as its qp.
                RateControl::Cq { quality } => p.options.push(opt("crf", quality.to_string())),
                RateControl::Cbr { .. } => {
                    params.push(format!("rc=2:tbr={}", kbps(bit_rate)));
                    params.push(format!("buf-sz={}", (vbv * 1000 / bit_rate.max(1)).max(1)));
                }
                RateControl::Vbr { .. } => {
                    // SVT-AV1 1.4's VBR has no peak rate; it bounds overshoot in percent of the
                    // target instead, which is set from max / target.
                    let over = ((max_rate - bit_rate) * 100 / bit_rate.max(1)).clamp(0, 100);
                    params.push(format!("rc=1:tbr={}:overshoot-pct={over}", kbps(bit_rate)));
                }
            }
            if let Some(hdr) = &config.hdr_metadata {
                params.push("enable-hdr=1".into());
                params.push(format!("mastering-display={}", hdr.svt_mastering_display()));
                if let Some(light) = hdr.light {
                    params.push(format!("content-light={light}"));
                }
            }
            p.options.push(opt("svtav1-params", params.join(":")));
        }
    }
    Ok(p)
}

/// What SVT-AV1 (1.4, Debian 12's) refuses at open with only "bad parameter": pictures under
/// 64x64, more than 240 frames a second, a target over 100 000 kbit/s. Measured here with
/// `ffmpeg -c:v libsvtav1` at each bound and one step past it.
pub const SVT_MIN_SIZE: u32 = 64;
/// SVT-AV1's highest frame rate.
pub const SVT_MAX_FRAME_RATE: f64 = 240.0;
/// SVT-AV1's highest target bitrate, in bits per second.
pub const SVT_MAX_BITRATE: u64 = 100_000_000;

fn svt_limits(config: &SessionConfig) -> Result<(), EncodeError> {
    let refuse = |what: String, fix: &str| EncodeError::Unsupported {
        encoder: "libsvtav1".into(),
        what,
        fix: fix.into(),
    };
    if config.width < SVT_MIN_SIZE || config.height < SVT_MIN_SIZE {
        return Err(refuse(
            format!(
                "a {}x{} picture (it takes {SVT_MIN_SIZE}x{SVT_MIN_SIZE} and larger)",
                config.width, config.height
            ),
            "encode at 64x64 or larger (--scale), or use --codec hevc or h264",
        ));
    }
    if config.frame_rate.as_f64() > SVT_MAX_FRAME_RATE {
        return Err(refuse(
            format!(
                "{} frames per second (it takes at most {SVT_MAX_FRAME_RATE})",
                config.frame_rate
            ),
            "lower --fps to 240 or less, or use --codec hevc or h264",
        ));
    }
    let target = match config.rate_control {
        RateControl::Cbr { bitrate } => Some(bitrate),
        RateControl::Vbr { target, .. } => Some(target),
        RateControl::Cqp { .. } | RateControl::Cq { .. } => None,
    };
    if let Some(bits) = target.filter(|&b| b > SVT_MAX_BITRATE) {
        return Err(refuse(
            format!("a target of {bits} bits per second (it takes at most {SVT_MAX_BITRATE})"),
            "lower --bitrate to 100M or less, or use --rc cqp",
        ));
    }
    Ok(())
}

fn kbps(bits_per_second: i64) -> i64 {
    (bits_per_second + 500) / 1000
}

/// Why the software encoder for `codec` cannot run here, or `None` when it can.
pub fn unavailable_reason(codec: Codec) -> Option<String> {
    let name = encoder_name(codec);
    (!has_encoder(name)).then(|| {
        format!(
            "libavcodec on this machine has no {name} encoder (install an FFmpeg built with it)"
        )
    })
}

/// A software encoder session.
pub struct SoftwareEncoder {
    encoder: AvEncoder,
    scaler: Option<AvScaler>,
    pool: Arc<BufferPool>,
    width: u32,
    height: u32,
    /// The next picture is sent as a forced keyframe.
    force_keyframe: bool,
    /// x264 and x265 honour a forced keyframe; SVT-AV1 does not (a key picture type at an
    /// arbitrary frame is not supported by the library: AOMediaCodec/SVT-AV1 issue 2076).
    keyframes_on_request: bool,
}

/// SVT-AV1 prints a banner and its whole configuration to the process's stderr at every open
/// unless `SVT_LOG` says otherwise; it reads the variable in each encoder's init. A library must
/// not write into its host's stderr, so unless the host chose a level, errors only (`SVT_LOG=1`)
/// is set once, before the first SVT-AV1 encoder opens. The variable is only ever added, never
/// changed or removed, and the host's own choice is kept.
fn quiet_svt_av1() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("SVT_LOG").is_none() {
            std::env::set_var("SVT_LOG", "1");
            tracing::debug!("SVT_LOG=1 set: SVT-AV1 logs errors only");
        }
    });
}

impl SoftwareEncoder {
    /// Opens the encoder for `config` and frames of `input_format`.
    pub fn open(config: &SessionConfig, input_format: PixelFormat) -> Result<Self, EncodeError> {
        if let Some(reason) = unavailable_reason(config.codec) {
            return Err(EncodeError::Unavailable {
                backend: BackendKind::Software,
                reason,
            });
        }
        let accepted = encoder_pixel_formats(encoder_name(config.codec));
        let params = software_params(config, input_format, &accepted)?;
        tracing::debug!(?params, "opening software encoder");
        if config.codec == Codec::Av1 {
            quiet_svt_av1();
        }
        let encoder = AvEncoder::open(&params)?;
        let scaler = if params.input_format != input_format {
            Some(AvScaler::new(
                input_format,
                params.input_format,
                config.width,
                config.height,
                config.color,
            )?)
        } else {
            None
        };
        Ok(Self {
            encoder,
            scaler,
            pool: BufferPool::new(),
            width: config.width,
            height: config.height,
            force_keyframe: false,
            keyframes_on_request: config.codec != Codec::Av1,
        })
    }
}

impl EncoderBackend for SoftwareEncoder {
    fn kind(&self) -> BackendKind {
        BackendKind::Software
    }

    fn describe(&self) -> String {
        format!("software ({} through libavcodec)", self.encoder.name())
    }

    fn encode(&mut self, frame: Frame, encoder_pts: i64) -> Result<(), EncodeError> {
        let image = match frame.image {
            FrameImage::Cpu(image) => image,
            other => {
                return Err(EncodeError::UnsupportedInput {
                    format: other.format(),
                    reason: "the software encoders read CPU frames; GPU frames reach them through the session's GPU ring".into(),
                })
            }
        };
        let image = match &mut self.scaler {
            Some(scaler) => {
                let to = self.encoder.input_format();
                let mut out = CpuImage::new(to, self.width, self.height, Some(&self.pool))
                    .map_err(|e| EncodeError::UnsupportedInput {
                        format: to,
                        reason: e.to_string(),
                    })?;
                scaler.convert(&image, &mut out)?;
                out
            }
            None => image,
        };
        let mut picture = AvPicture::wrap(image, encoder_pts)?;
        if std::mem::take(&mut self.force_keyframe) {
            picture.force_keyframe();
        }
        self.encoder.send(Some(&picture)).map_err(EncodeError::from)
    }

    fn controls(&self) -> LiveControls {
        LiveControls {
            force_keyframe: self.keyframes_on_request,
            ..LiveControls::default()
        }
    }

    /// The next picture goes to libavcodec as an I picture, which x264 and x265 (with
    /// `forced-idr`) code as an IDR.
    fn force_keyframe(&mut self) -> Result<(), EncodeError> {
        if !self.keyframes_on_request {
            return Err(self.unsupported("forced keyframes"));
        }
        self.force_keyframe = true;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), EncodeError> {
        self.encoder.send(None).map_err(EncodeError::from)
    }

    fn receive(&mut self) -> Result<Option<EncodedUnit>, EncodeError> {
        Ok(self.encoder.receive()?.map(|p| EncodedUnit {
            data: p.data,
            pts: p.pts,
            dts: p.dts,
            keyframe: p.keyframe,
            gpu_time: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RateControl;
    use crate::time::Rational;

    const X264_FORMATS: [PixelFormat; 5] = [
        PixelFormat::I420,
        PixelFormat::I444,
        PixelFormat::Nv12,
        PixelFormat::I420P10,
        PixelFormat::I444P10,
    ];
    const SVT_FORMATS: [PixelFormat; 2] = [PixelFormat::I420, PixelFormat::I420P10];

    fn cfg(codec: Codec) -> SessionConfig {
        SessionConfig::new(codec, 1280, 720, Rational::new(60, 1))
    }

    fn option<'a>(p: &'a AvEncoderParams, k: &str) -> Option<&'a str> {
        p.options
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn svt_av1_bounds_are_refused_by_value() {
        let ok = cfg(Codec::Av1);
        software_params(&ok, PixelFormat::I420, &X264_FORMATS).unwrap();
        let mut small = cfg(Codec::Av1);
        small.width = 62;
        small.height = 64;
        let mut fast = cfg(Codec::Av1);
        fast.frame_rate = Rational::new(241, 1);
        let mut rich = cfg(Codec::Av1);
        rich.rate_control = RateControl::Cbr {
            bitrate: 100_000_001,
        };
        for (c, needle) in [(small, "62x64"), (fast, "241/1"), (rich, "100000001")] {
            let e = software_params(&c, PixelFormat::I420, &X264_FORMATS).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        }
        let mut edge = cfg(Codec::Av1);
        edge.width = 64;
        edge.height = 64;
        edge.frame_rate = Rational::new(240, 1);
        edge.rate_control = RateControl::Cbr {
            bitrate: 100_000_000,
        };
        software_params(&edge, PixelFormat::I420, &X264_FORMATS).unwrap();
    }

    #[test]
    fn x264_low_latency_cbr() {
        let mut c = cfg(Codec::H264);
        c.rate_control = RateControl::Cbr { bitrate: 6_000_000 };
        c.keyframe_interval = KeyframeInterval::Frames(30);
        let p = software_params(&c, PixelFormat::Nv12, &X264_FORMATS).unwrap();
        assert_eq!(p.encoder, "libx264");
        assert_eq!(
            p.input_format,
            PixelFormat::Nv12,
            "x264 takes NV12 as it is"
        );
        assert_eq!(
            (p.bit_rate, p.rc_max_rate, p.rc_buffer_size),
            (6_000_000, 6_000_000, 6_000_000)
        );
        assert_eq!((p.gop_size, p.keyint_min, p.max_b_frames), (30, 30, 0));
        assert_eq!(p.time_base, Rational::new(1, 60));
        assert_eq!(option(&p, "preset"), Some("faster"));
        assert_eq!(option(&p, "tune"), Some("zerolatency"));
        assert_eq!(
            option(&p, "x264-params"),
            Some("keyint=30:min-keyint=30:scenecut=0:nal-hrd=cbr")
        );
        assert!(p.closed_gop);
    }

    #[test]
    fn x264_high_quality_vbr_keeps_b_frames_and_two_second_vbv() {
        let mut c = cfg(Codec::H264);
        c.tuning = Tuning::HighQuality;
        c.rate_control = RateControl::Vbr {
            target: 4_000_000,
            max: 8_000_000,
        };
        c.preset = Preset::P7;
        let p = software_params(&c, PixelFormat::I420, &X264_FORMATS).unwrap();
        assert_eq!(p.max_b_frames, -1);
        assert_eq!(option(&p, "tune"), None);
        assert_eq!(option(&p, "preset"), Some("slow"));
        assert_eq!(
            (p.bit_rate, p.rc_max_rate, p.rc_buffer_size),
            (4_000_000, 8_000_000, 16_000_000)
        );
    }

    #[test]
    fn x264_cqp_and_infinite_gop() {
        let mut c = cfg(Codec::H264);
        c.rate_control = RateControl::Cqp { qp: 23 };
        c.keyframe_interval = KeyframeInterval::Infinite;
        let p = software_params(&c, PixelFormat::I420, &X264_FORMATS).unwrap();
        assert_eq!((p.bit_rate, p.rc_max_rate, p.rc_buffer_size), (0, 0, 0));
        assert_eq!(option(&p, "qp"), Some("23"));
        assert_eq!(p.gop_size, -1);
        assert_eq!(
            option(&p, "x264-params"),
            Some("keyint=infinite:scenecut=0")
        );
    }

    #[test]
    fn constant_quality_is_crf_on_every_codec_with_no_rates() {
        for (codec, formats) in [
            (Codec::H264, &X264_FORMATS[..]),
            (Codec::Hevc, &X264_FORMATS[..]),
            (Codec::Av1, &SVT_FORMATS[..]),
        ] {
            let mut c = cfg(codec);
            c.rate_control = RateControl::Cq { quality: 30 };
            let p = software_params(&c, PixelFormat::I420, formats).unwrap();
            assert_eq!(option(&p, "crf"), Some("30"), "{codec}");
            assert_eq!(option(&p, "qp"), None, "{codec}");
            assert_eq!(
                (p.bit_rate, p.rc_max_rate, p.rc_buffer_size),
                (0, 0, 0),
                "{codec}"
            );
        }
        let mut c = cfg(Codec::H264);
        c.rate_control = RateControl::Cq { quality: 30 };
        let p = software_params(&c, PixelFormat::I420, &X264_FORMATS).unwrap();
        assert_eq!(
            option(&p, "x264-params"),
            Some("keyint=120:min-keyint=120:scenecut=0"),
            "no CBR HRD"
        );
        c.codec = Codec::Av1;
        let p = software_params(&c, PixelFormat::I420, &SVT_FORMATS).unwrap();
        assert_eq!(
            option(&p, "svtav1-params"),
            Some("pred-struct=1:lookahead=0:scd=0"),
            "no rc= key: the crf option picks SVT-AV1's CRF mode"
        );
    }

    #[test]
    fn x265_ull_ten_bit() {
        let mut c = cfg(Codec::Hevc);
        c.tuning = Tuning::UltraLowLatency;
        c.bit_depth = BitDepth::Ten;
        c.rate_control = RateControl::Cbr { bitrate: 6_000_000 };
        c.preset = Preset::P1;
        let hevc_formats = [PixelFormat::I420, PixelFormat::I420P10, PixelFormat::I444];
        let p = software_params(&c, PixelFormat::P010, &hevc_formats).unwrap();
        assert_eq!(p.encoder, "libx265");
        assert_eq!(
            p.input_format,
            PixelFormat::I420P10,
            "P010 is converted to planar 10-bit"
        );
        assert_eq!(p.rc_buffer_size, 100_000, "one frame of 6 Mbit/s at 60 fps");
        assert_eq!(option(&p, "preset"), Some("ultrafast"));
        assert_eq!(option(&p, "tune"), Some("zerolatency"));
        assert_eq!(
            option(&p, "x265-params"),
            Some("keyint=120:min-keyint=120:scenecut=0:open-gop=0:frame-threads=1:strict-cbr=1:log-level=error")
        );
    }

    #[test]
    fn svt_mapping() {
        let mut c = cfg(Codec::Av1);
        c.tuning = Tuning::HighQuality;
        c.rate_control = RateControl::Cqp { qp: 128 };
        let p = software_params(&c, PixelFormat::I420, &SVT_FORMATS).unwrap();
        assert_eq!(p.encoder, "libsvtav1");
        assert_eq!(option(&p, "preset"), Some("9"));
        assert_eq!(option(&p, "qp"), Some("32"));
        assert_eq!(option(&p, "svtav1-params"), Some("pred-struct=2:scd=0"));
        assert_eq!(p.gop_size, 120);
        // CBR forces SVT-AV1's low-delay structure even for high quality.
        c.rate_control = RateControl::Cbr { bitrate: 5_000_000 };
        let p = software_params(&c, PixelFormat::I420, &SVT_FORMATS).unwrap();
        assert_eq!(
            option(&p, "svtav1-params"),
            Some("pred-struct=1:scd=0:rc=2:tbr=5000:buf-sz=2000")
        );
        assert_eq!((p.bit_rate, p.rc_max_rate, p.rc_buffer_size), (0, 0, 0));
        c.rate_control = RateControl::Vbr {
            target: 4_000_000,
            max: 6_000_000,
        };
        let p = software_params(&c, PixelFormat::I420, &SVT_FORMATS).unwrap();
        assert_eq!(
            option(&p, "svtav1-params"),
            Some("pred-struct=2:scd=0:rc=1:tbr=4000:overshoot-pct=50")
        );
        c.rate_control = RateControl::Cbr { bitrate: 5_000_000 };
        c.tuning = Tuning::LowLatency;
        c.keyframe_interval = KeyframeInterval::Infinite;
        let p = software_params(&c, PixelFormat::Nv12, &SVT_FORMATS).unwrap();
        assert_eq!(
            p.input_format,
            PixelFormat::I420,
            "SVT-AV1 takes no NV12: converted"
        );
        assert_eq!(
            option(&p, "svtav1-params"),
            Some("pred-struct=1:lookahead=0:keyint=-1:scd=0:rc=2:tbr=5000:buf-sz=1000")
        );
    }

    #[test]
    fn svt_qp_mapping_is_monotonic_and_bounded() {
        assert_eq!(svt_qp(0), 1);
        assert_eq!(svt_qp(255), 63);
        assert_eq!(svt_qp(100), 25);
        for q in 1..=255 {
            assert!(svt_qp(q) >= svt_qp(q - 1));
        }
    }

    #[test]
    fn ten_bit_where_the_encoder_has_none_is_refused() {
        // An encoder that lists only 8-bit formats (as NVENC's H.264 on pre-Blackwell GPUs does).
        let eight_bit_only = [PixelFormat::I420, PixelFormat::Nv12];
        let e =
            choose_encoder_input(PixelFormat::I420P10, BitDepth::Ten, &eight_bit_only).unwrap_err();
        assert!(matches!(
            e,
            EncodeError::UnsupportedInput {
                format: PixelFormat::I420P10,
                ..
            }
        ));
        assert!(e.to_string().contains("10-bit"), "{e}");
    }

    #[test]
    fn presets_cover_p1_to_p7() {
        let names: Vec<String> = [Preset::P1, Preset::P4, Preset::P7]
            .iter()
            .map(|&p| preset_name(Codec::H264, p))
            .collect();
        assert_eq!(names, ["ultrafast", "faster", "slow"]);
        assert_eq!(preset_name(Codec::Av1, Preset::P1), "12");
        assert_eq!(preset_name(Codec::Av1, Preset::P7), "5");
    }

    #[test]
    fn lossless_intra_refresh_and_hdr10_reach_the_encoder_params() {
        let mut c = cfg(Codec::Hevc);
        c.tuning = Tuning::Lossless;
        c.rate_control = RateControl::Cqp { qp: 0 };
        let p = software_params(&c, PixelFormat::I420, &SVT_FORMATS).unwrap();
        assert!(option(&p, "x265-params").unwrap().contains(":lossless=1"));

        let mut c = cfg(Codec::H264);
        c.keyframe_interval = KeyframeInterval::Infinite;
        c.intra_refresh_frames = Some(45);
        let p = software_params(&c, PixelFormat::I420, &X264_FORMATS).unwrap();
        assert_eq!(
            option(&p, "x264-params"),
            Some("keyint=45:min-keyint=45:intra-refresh=1:scenecut=0:nal-hrd=cbr")
        );

        let hdr = crate::hdr::HdrMetadata {
            display: crate::hdr::MasteringDisplay::BT2020_1000_NITS,
            light: Some(crate::hdr::ContentLightLevel {
                max_cll: 1000,
                max_fall: 400,
            }),
        };
        let mut c = cfg(Codec::Hevc);
        c.bit_depth = crate::config::BitDepth::Ten;
        c.color = crate::color::ColorDescription::HDR10;
        c.hdr_metadata = Some(hdr);
        let p = software_params(&c, PixelFormat::I420P10, &SVT_FORMATS).unwrap();
        assert!(option(&p, "x265-params").unwrap().ends_with(
            ":master-display=G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(10000000,50):max-cll=1000,400:log-level=error"
        ));
        c.codec = Codec::Av1;
        let p = software_params(&c, PixelFormat::I420P10, &SVT_FORMATS).unwrap();
        assert!(option(&p, "svtav1-params").unwrap().ends_with(
            ":enable-hdr=1:mastering-display=G(0.17000,0.79700)B(0.13100,0.04600)R(0.70800,0.29200)WP(0.31270,0.32900)L(1000.0000,0.0050):content-light=1000,400"
        ));
    }

    #[test]
    fn svt_av1_refuses_lossless_and_intra_refresh_by_name() {
        let mut c = cfg(Codec::Av1);
        c.tuning = Tuning::Lossless;
        c.rate_control = RateControl::Cqp { qp: 0 };
        let e = software_params(&c, PixelFormat::I420, &SVT_FORMATS).unwrap_err();
        assert!(
            matches!(&e, EncodeError::Unsupported { what, .. } if what == "lossless tuning"),
            "{e}"
        );
        let mut c = cfg(Codec::Av1);
        c.keyframe_interval = KeyframeInterval::Infinite;
        c.intra_refresh_frames = Some(30);
        let e = software_params(&c, PixelFormat::I420, &SVT_FORMATS).unwrap_err();
        assert!(
            e.to_string().contains("libsvtav1 cannot do intra refresh"),
            "{e}"
        );
    }
}
