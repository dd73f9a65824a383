//! The session options struct, its defaults, and its translation into a `SessionConfig`; the
//! enums it uses.

use std::sync::Arc;

use ghoststream::gpu::GpuContext;
use ghoststream::{
    BackendChoice, BackendKind, Backpressure, BitDepth, Codec, GpuChoice, KeyframeInterval,
    PixelFormat, Preset, RateControl, Rational, SessionConfig, Tuning,
};

use crate::engine::GsEngine;
use crate::handles;
use crate::result::{Failure, GS_ERR_BAD_HANDLE, GS_ERR_INVALID_CONFIG};
use crate::structs::size_of_struct;

/// AV1.
pub const GS_CODEC_AV1: i32 = 0;
/// HEVC / H.265.
pub const GS_CODEC_HEVC: i32 = 1;
/// H.264 / AVC.
pub const GS_CODEC_H264: i32 = 2;

/// Constant bitrate (`bitrate`).
pub const GS_RC_CBR: i32 = 0;
/// Variable bitrate (`bitrate` average, `max_bitrate` peak).
pub const GS_RC_VBR: i32 = 1;
/// Constant quantizer (`qp`).
pub const GS_RC_CQP: i32 = 2;
/// Constant quality (`quality`): CRF on the software encoders, target quality on NVENC.
pub const GS_RC_CQ: i32 = 3;

/// 8-bit B, G, R, A in one plane (the usual compositor format).
pub const GS_FORMAT_BGRA8: i32 = 0;
/// 8-bit R, G, B, A in one plane.
pub const GS_FORMAT_RGBA8: i32 = 1;
/// 10-bit R, G, B and 2-bit A in 32 bits (`A2B10G10R10`).
pub const GS_FORMAT_RGB10A2: i32 = 2;
/// 16-bit float R, G, B, A.
pub const GS_FORMAT_RGBA16F: i32 = 3;
/// 8-bit 4:2:0: Y plane, interleaved UV plane.
pub const GS_FORMAT_NV12: i32 = 4;
/// 10-bit 4:2:0 in 16-bit words (high bits): Y plane, interleaved UV plane.
pub const GS_FORMAT_P010: i32 = 5;
/// 8-bit 4:2:0, three planes.
pub const GS_FORMAT_I420: i32 = 6;
/// 8-bit 4:4:4, three planes.
pub const GS_FORMAT_I444: i32 = 7;
/// 10-bit 4:2:0, three planes of 16-bit words (low bits).
pub const GS_FORMAT_I420P10: i32 = 8;
/// 10-bit 4:4:4, three planes of 16-bit words (low bits).
pub const GS_FORMAT_I444P10: i32 = 9;
/// 16-bit 4:4:4, three planes.
pub const GS_FORMAT_I444P16: i32 = 10;

/// The best encoder this machine has (NVENC, then Vulkan Video, then software).
pub const GS_BACKEND_AUTO: i32 = 0;
/// NVENC only (or an error saying why not).
pub const GS_BACKEND_NVENC: i32 = 1;
/// Vulkan Video encode only.
pub const GS_BACKEND_VULKAN_VIDEO: i32 = 2;
/// The software encoders only (SVT-AV1, x265, x264).
pub const GS_BACKEND_SOFTWARE: i32 = 3;

/// Best quality per bit: reordering and lookahead allowed (recording).
pub const GS_TUNING_HIGH_QUALITY: i32 = 0;
/// No reordering, one packet per frame (streaming).
pub const GS_TUNING_LOW_LATENCY: i32 = 1;
/// Low latency with a one-frame VBV (game streaming, remote desktop).
pub const GS_TUNING_ULTRA_LOW_LATENCY: i32 = 2;
/// Lossless (constant QP 0; not SVT-AV1).
pub const GS_TUNING_LOSSLESS: i32 = 3;

/// A full queue makes submit wait (never lose a frame).
pub const GS_BACKPRESSURE_BLOCK: i32 = 0;
/// A full queue drops the oldest waiting frame (never fall behind real time).
pub const GS_BACKPRESSURE_DROP_OLDEST: i32 = 1;

/// RGB input is converted on the best Vulkan device there is, else on the CPU.
pub const GS_GPU_AUTO: i32 = 0;
/// Never use a GPU.
pub const GS_GPU_OFF: i32 = 1;

/// `keyframe_interval` value: only the first frame is a key frame.
pub const GS_KEYFRAME_INFINITE: u32 = u32::MAX;

/// How to open a session. Initialise with `gs_session_options_defaults()`, then change fields;
/// a later minor version may add fields at the end (its `size` grows).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GsSessionOptions {
    /// `sizeof(GsSessionOptions)` as the caller was compiled with.
    pub size: u32,
    /// `GS_CODEC_*`.
    pub codec: i32,
    /// Encoded width in pixels.
    pub width: u32,
    /// Encoded height in pixels.
    pub height: u32,
    /// Frame rate numerator.
    pub fps_num: u32,
    /// Frame rate denominator.
    pub fps_den: u32,
    /// `GS_FORMAT_*` of the frames submitted (default I420).
    pub input_format: i32,
    /// `GS_BACKEND_*`.
    pub backend: i32,
    /// `GS_RC_*`.
    pub rate_control: i32,
    /// Quantizer for CQP (H.264/HEVC 0–51, AV1 0–255).
    pub qp: u32,
    /// Bits per second for CBR and VBR; 0 scales a default from the size and rate.
    pub bitrate: u64,
    /// VBR peak bits per second; 0 for twice `bitrate`.
    pub max_bitrate: u64,
    /// A key frame every this many frames; 0 for every two seconds, `GS_KEYFRAME_INFINITE`
    /// for the first frame only.
    pub keyframe_interval: u32,
    /// Speed/quality from 1 (fastest) to 7 (best).
    pub preset: i32,
    /// `GS_TUNING_*`.
    pub tuning: i32,
    /// Bits per sample of the stream: 8 or 10.
    pub bit_depth: u32,
    /// Frames in flight before back-pressure (1–64).
    pub queue_depth: u32,
    /// `GS_BACKPRESSURE_*`.
    pub backpressure: i32,
    /// How long a GPU frame's wait semaphore may take, in milliseconds.
    pub frame_wait_timeout_ms: u32,
    /// Encoder threads; 0 for automatic.
    pub threads: u32,
    /// Width of the submitted frames when it differs from `width` (the GPU scales); 0 for
    /// `width`.
    pub input_width: u32,
    /// Height of the submitted frames; 0 for `height`.
    pub input_height: u32,
    /// `GS_GPU_*`; ignored when `engine` is set.
    pub gpu: i32,
    /// Sharpening strength, 0 (off) to 1, applied on the GPU.
    pub sharpen: f32,
    /// An engine (`gs_engine_create*`) whose Vulkan device the session processes on; required
    /// for `gs_session_submit_vulkan` and `gs_session_submit_dmabuf`. Borrowed: the engine may
    /// be destroyed before the session (the session keeps the device alive).
    pub engine: *mut GsEngine,
    /// Quality for CQ, lower is better: H.264/HEVC 1–51, AV1 1–63 (NVENC 1–51).
    pub quality: u32,
}

/// Fills `options` with defaults and its `size`: H.264, 1280x720 at 30 fps, I420 input,
/// automatic backend, CBR at a bitrate scaled from the size and rate (`qp` 28 and `quality` 23
/// for the constant modes), a key frame every two seconds, preset 4, low-latency tuning, 8-bit,
/// a queue of 4 that blocks, no engine. Any
/// thread. NULL is ignored.
///
/// # Safety
/// `options` is NULL or points at writable memory for a `GsSessionOptions`.
#[no_mangle]
pub unsafe extern "C" fn gs_session_options_defaults(options: *mut GsSessionOptions) {
    if options.is_null() {
        return;
    }
    let c = SessionConfig::new(Codec::H264, 1280, 720, Rational::new(30, 1));
    let defaults = GsSessionOptions {
        size: size_of_struct::<GsSessionOptions>(),
        codec: GS_CODEC_H264,
        width: c.width,
        height: c.height,
        fps_num: 30,
        fps_den: 1,
        input_format: GS_FORMAT_I420,
        backend: GS_BACKEND_AUTO,
        rate_control: GS_RC_CBR,
        qp: 28,
        bitrate: 0,
        max_bitrate: 0,
        keyframe_interval: 0,
        preset: c.preset as i32,
        tuning: GS_TUNING_LOW_LATENCY,
        bit_depth: 8,
        queue_depth: c.queue_depth,
        backpressure: GS_BACKPRESSURE_BLOCK,
        frame_wait_timeout_ms: c.frame_wait_timeout_ms,
        threads: 0,
        input_width: 0,
        input_height: 0,
        gpu: GS_GPU_AUTO,
        sharpen: 0.0,
        engine: std::ptr::null_mut(),
        quality: 23,
    };
    // SAFETY: non-null and, by the contract, writable for a GsSessionOptions.
    unsafe { options.write_unaligned(defaults) };
}

pub(crate) fn codec(value: i32) -> Result<Codec, Failure> {
    match value {
        GS_CODEC_AV1 => Ok(Codec::Av1),
        GS_CODEC_HEVC => Ok(Codec::Hevc),
        GS_CODEC_H264 => Ok(Codec::H264),
        other => Err(Failure::bad_enum("codec", other, "GS_CODEC_*")),
    }
}

/// The `GS_CODEC_*` value of a codec; -1 (as for "no codec") for one this version of the C
/// ABI has no value for.
pub(crate) fn codec_value(codec: Codec) -> i32 {
    match codec {
        Codec::Av1 => GS_CODEC_AV1,
        Codec::Hevc => GS_CODEC_HEVC,
        Codec::H264 => GS_CODEC_H264,
        _ => -1,
    }
}

pub(crate) fn pixel_format(value: i32) -> Result<PixelFormat, Failure> {
    usize::try_from(value)
        .ok()
        .and_then(|i| PixelFormat::ALL.get(i).copied())
        .ok_or_else(|| Failure::bad_enum("pixel format", value, "GS_FORMAT_*"))
}

/// The session config `options` asks for, or the result code and message `gs_session_create`
/// fails with: the conversion and its checks alone, public (hidden) for the fuzz targets in
/// fuzz/. Not part of the C ABI.
#[doc(hidden)]
pub fn session_config_from_options(
    options: &GsSessionOptions,
) -> Result<SessionConfig, (i32, String)> {
    config(options)
        .map(|(config, _)| config)
        .map_err(|f| (f.code, f.message))
}

/// The session config `o` asks for (checked as the library checks it), and the engine's context
/// the session is opened on when `o.engine` is set.
pub(crate) fn config(
    o: &GsSessionOptions,
) -> Result<(SessionConfig, Option<Arc<GpuContext>>), Failure> {
    let codec = codec(o.codec)?;
    if o.fps_num == 0 || o.fps_den == 0 {
        return Err(Failure::new(
            GS_ERR_INVALID_CONFIG,
            format!("frame rate {}/{} must be positive", o.fps_num, o.fps_den),
        ));
    }
    let rate = Rational::new(i64::from(o.fps_num), i64::from(o.fps_den));
    let mut c = SessionConfig::new(codec, o.width, o.height, rate);
    c.input_format = pixel_format(o.input_format)?;
    c.backend = match o.backend {
        GS_BACKEND_AUTO => BackendChoice::Auto,
        GS_BACKEND_NVENC => BackendChoice::Only(BackendKind::Nvenc),
        GS_BACKEND_VULKAN_VIDEO => BackendChoice::Only(BackendKind::VulkanVideo),
        GS_BACKEND_SOFTWARE => BackendChoice::Only(BackendKind::Software),
        other => return Err(Failure::bad_enum("backend", other, "GS_BACKEND_*")),
    };
    let default_bitrate = c.rate_control.max_bitrate().unwrap_or(4_000_000);
    let bitrate = if o.bitrate == 0 {
        default_bitrate
    } else {
        o.bitrate
    };
    c.rate_control = match o.rate_control {
        GS_RC_CBR => RateControl::Cbr { bitrate },
        GS_RC_VBR => RateControl::Vbr {
            target: bitrate,
            max: if o.max_bitrate == 0 {
                bitrate.saturating_mul(2)
            } else {
                o.max_bitrate
            },
        },
        GS_RC_CQP => RateControl::Cqp { qp: o.qp },
        GS_RC_CQ => RateControl::Cq { quality: o.quality },
        other => return Err(Failure::bad_enum("rate control", other, "GS_RC_*")),
    };
    c.keyframe_interval = match o.keyframe_interval {
        0 => c.keyframe_interval,
        GS_KEYFRAME_INFINITE => KeyframeInterval::Infinite,
        n => KeyframeInterval::Frames(n),
    };
    c.preset = match o.preset {
        1 => Preset::P1,
        2 => Preset::P2,
        3 => Preset::P3,
        4 => Preset::P4,
        5 => Preset::P5,
        6 => Preset::P6,
        7 => Preset::P7,
        other => return Err(Failure::bad_enum("preset", other, "1..7")),
    };
    c.tuning = match o.tuning {
        GS_TUNING_HIGH_QUALITY => Tuning::HighQuality,
        GS_TUNING_LOW_LATENCY => Tuning::LowLatency,
        GS_TUNING_ULTRA_LOW_LATENCY => Tuning::UltraLowLatency,
        GS_TUNING_LOSSLESS => Tuning::Lossless,
        other => return Err(Failure::bad_enum("tuning", other, "GS_TUNING_*")),
    };
    c.bit_depth = match o.bit_depth {
        8 => BitDepth::Eight,
        10 => BitDepth::Ten,
        other => {
            return Err(Failure::new(
                GS_ERR_INVALID_CONFIG,
                format!("bit depth {other} is not 8 or 10"),
            ))
        }
    };
    c.queue_depth = o.queue_depth;
    c.backpressure = match o.backpressure {
        GS_BACKPRESSURE_BLOCK => Backpressure::Block,
        GS_BACKPRESSURE_DROP_OLDEST => Backpressure::DropOldest,
        other => {
            return Err(Failure::bad_enum(
                "backpressure",
                other,
                "GS_BACKPRESSURE_*",
            ))
        }
    };
    c.frame_wait_timeout_ms = o.frame_wait_timeout_ms;
    c.threads = o.threads;
    if o.input_width != 0 || o.input_height != 0 {
        let w = if o.input_width == 0 {
            o.width
        } else {
            o.input_width
        };
        let h = if o.input_height == 0 {
            o.height
        } else {
            o.input_height
        };
        c.processing.input_size = Some((w, h));
    }
    c.processing.sharpen = f64::from(o.sharpen);
    let engine = if o.engine.is_null() {
        c.gpu = match o.gpu {
            GS_GPU_AUTO => GpuChoice::Auto,
            GS_GPU_OFF => GpuChoice::Off,
            other => return Err(Failure::bad_enum("gpu", other, "GS_GPU_*")),
        };
        None
    } else {
        let ctx =
            handles::read(o.engine, None, |e| Some(e.context().clone())).ok_or_else(|| {
                Failure::new(
                    GS_ERR_BAD_HANDLE,
                    "options.engine is not a live engine (destroyed, or never created)",
                )
            })?;
        // The session is opened on the engine's context; its GPU choice stays Auto.
        Some(ctx)
    };
    c.validate()?;
    Ok((c, engine))
}
