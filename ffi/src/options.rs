//! The session options struct, its defaults, and its translation into a `SessionConfig`; the
//! enums it uses.

use std::sync::Arc;

use ghoststream::gpu::GpuContext;
use ghoststream::hdr::{Chromaticity, ContentLightLevel, HdrMetadata, MasteringDisplay};
use ghoststream::processing::scale::{Fit, ScaleFilter};
use ghoststream::processing::tonemap::PeakSource;
use ghoststream::{
    BackendChoice, BackendKind, Backpressure, BitDepth, Codec, ColorMatrix, ColorPrimaries,
    ColorRange, GpuChoice, KeyframeInterval, PixelFormat, Preset, RateControl, RateControlMode,
    Rational, SessionConfig, ToneMapInput, TransferFunction, Tuning,
};

use crate::engine::GsEngine;
use crate::handles;
use crate::result::{Failure, GS_ERR_BAD_HANDLE, GS_ERR_INVALID_CONFIG};
use crate::structs::{init_prefix, read_versioned, size_of_struct};

/// `codec` value for a recorder: the library's choice for the job (see `gs_recorder_create`).
/// A session (`gs_session_create`) needs a codec named.
pub const GS_CODEC_DEFAULT: i32 = -1;

/// `preset` value for a recorder: the library's choice (4, or for a live source on a software
/// encoder the fastest that keeps real time). A session needs 1 to 7.
pub const GS_PRESET_DEFAULT: i32 = 0;
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
/// `rate_control` value for a recorder: the library's choice for the job. A session needs a
/// mode named.
pub const GS_RC_DEFAULT: i32 = -1;
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

/// `color_matrix`: ITU-R BT.601 (SD).
pub const GS_MATRIX_BT601: i32 = 0;
/// `color_matrix`: ITU-R BT.709 (HD; the default).
pub const GS_MATRIX_BT709: i32 = 1;
/// `color_matrix`: ITU-R BT.2020 non-constant luminance (UHD, HDR10).
pub const GS_MATRIX_BT2020_NCL: i32 = 2;

/// `color_range`: limited ("TV": Y 16..235 at 8 bits; the default).
pub const GS_RANGE_LIMITED: i32 = 0;
/// `color_range`: full ("PC": 0..255 at 8 bits).
pub const GS_RANGE_FULL: i32 = 1;

/// `color_transfer`, `tonemap_transfer`: IEC 61966-2-1 sRGB.
pub const GS_TRANSFER_SRGB: i32 = 0;
/// `color_transfer`: ITU-R BT.709 (also BT.601 and BT.2020 SDR; the default).
pub const GS_TRANSFER_BT709: i32 = 1;
/// `color_transfer`, `tonemap_transfer`: SMPTE ST 2084 PQ (HDR10).
pub const GS_TRANSFER_PQ: i32 = 2;
/// `color_transfer`, `tonemap_transfer`: ARIB STD-B67 hybrid log-gamma.
pub const GS_TRANSFER_HLG: i32 = 3;

/// `color_primaries`: ITU-R BT.709 / sRGB (the default).
pub const GS_PRIMARIES_BT709: i32 = 0;
/// `color_primaries`: ITU-R BT.601 625 lines (EBU, PAL).
pub const GS_PRIMARIES_BT601_PAL: i32 = 1;
/// `color_primaries`: ITU-R BT.601 525 lines (SMPTE 170M, NTSC).
pub const GS_PRIMARIES_BT601_NTSC: i32 = 2;
/// `color_primaries`: ITU-R BT.2020.
pub const GS_PRIMARIES_BT2020: i32 = 3;
/// `color_primaries`: SMPTE EG 432-1 (Display P3).
pub const GS_PRIMARIES_DISPLAY_P3: i32 = 4;

/// `scale_filter`: the tent filter (bilinear up, area-like down).
pub const GS_SCALE_BILINEAR: i32 = 0;
/// `scale_filter`: Catmull-Rom bicubic.
pub const GS_SCALE_BICUBIC: i32 = 1;
/// `scale_filter`: Lanczos-3 (the default).
pub const GS_SCALE_LANCZOS: i32 = 2;
/// `scale_filter`: area averaging (FFmpeg's `area`): the cheapest downscale, no ringing.
pub const GS_SCALE_AREA: i32 = 3;

/// `fit`: fill the frame, changing the aspect ratio.
pub const GS_FIT_STRETCH: i32 = 0;
/// `fit`: keep the aspect ratio inside black bars (the default).
pub const GS_FIT_LETTERBOX: i32 = 1;

/// `tonemap`: none (the default).
pub const GS_TONEMAP_NONE: i32 = 0;
/// `tonemap`: HDR input to SDR BT.709 with the ITU-R BT.2390 EETF.
pub const GS_TONEMAP_BT2390: i32 = 1;

/// How to open a session. Initialise with `gs_session_options_defaults()`, then change fields;
/// a later minor version may add fields at the end (its `size` grows). A struct from an older
/// header (a smaller `size`, at least ABI 0.2's 112 bytes) is read with the defaults for the
/// fields it lacks.
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
    /// Speed/quality from 1 (fastest) to 7 (best); for a recorder also `GS_PRESET_DEFAULT`.
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
    // ABI 0.3: the colour description, HDR10 metadata, VBV, intra refresh and processing.
    /// `GS_MATRIX_*` of the encoded YUV.
    pub color_matrix: i32,
    /// `GS_RANGE_*`.
    pub color_range: i32,
    /// `GS_TRANSFER_*` written into the stream (`GS_TRANSFER_PQ` for HDR10, with 10 bits).
    pub color_transfer: i32,
    /// `GS_PRIMARIES_*`.
    pub color_primaries: i32,
    /// HDR10 mastering display (SMPTE ST 2086): the red, green and blue primaries as x, y
    /// pairs (`{rx, ry, gx, gy, bx, by}`) in units of 0.00002 (50000 = 1.0).
    pub hdr_primaries: [u16; 6],
    /// The mastering display's white point x, y in units of 0.00002 (D65: 15635, 16450).
    pub hdr_white_point: [u16; 2],
    /// The mastering display's peak luminance in 0.0001 cd/m² (10000000 = 1000 nits); 0 (the
    /// default) writes no HDR10 metadata, and every other `hdr_` field must then be 0.
    pub hdr_max_luminance: u32,
    /// The mastering display's black level in 0.0001 cd/m² (50 = 0.005 nits).
    pub hdr_min_luminance: u32,
    /// Content light level: MaxCLL in cd/m²; with `hdr_max_fall`, both 0 (the default) for
    /// none. Needs the mastering display.
    pub hdr_max_cll: u16,
    /// Content light level: MaxFALL in cd/m².
    pub hdr_max_fall: u16,
    /// Gradual intra refresh instead of key frames: an intra column sweeps the picture every
    /// this many frames (needs `GS_KEYFRAME_INFINITE` and a low-latency tuning); 0: off.
    pub intra_refresh_frames: u32,
    /// VBV / HRD buffer in bits; 0: from the tuning (not with CQP).
    pub vbv_buffer_bits: u64,
    /// `GS_SCALE_*`: the kernel when the input size differs from the encoded size.
    pub scale_filter: i32,
    /// `GS_FIT_*`: when the aspect ratios differ.
    pub fit: i32,
    /// `GS_TONEMAP_*`: tone map HDR RGB input to SDR BT.709 on the GPU.
    pub tonemap: i32,
    /// The transfer of the HDR input tone mapping reads: `GS_TRANSFER_PQ` (the default) or
    /// `GS_TRANSFER_HLG`.
    pub tonemap_transfer: i32,
    /// The input's peak in nits (1 to 10000; default 1000): from its metadata (MaxCLL or the
    /// mastering peak), or for the first frame when `tonemap_measure_peak` is set.
    pub tonemap_peak_nits: f32,
    /// 1: each frame is mapped with the brightest pixel of the frame before it.
    pub tonemap_measure_peak: i32,
    /// Quality for `GS_RC_CQ`, lower is better: H.264/HEVC 1–51, AV1 1–63 (NVENC 1–51);
    /// default 23.
    pub quality: u32,
}

/// The size of `GsSessionOptions` in ABI 0.2, the first installed one: the smallest `size`
/// accepted.
pub(crate) const SESSION_OPTIONS_V0_2: u32 = 112;

/// This version's defaults: H.264, 1280x720 at 30 fps, I420 input, automatic backend, CBR at
/// a bitrate scaled from the size and rate, a key frame every two seconds, preset 4,
/// low-latency tuning, 8-bit BT.709 limited range, no HDR metadata, a queue of 4 that blocks,
/// no engine, Lanczos scaling into letterbox bars, no tone mapping.
pub(crate) fn session_defaults() -> GsSessionOptions {
    let c = SessionConfig::new(Codec::H264, 1280, 720, Rational::new(30, 1));
    GsSessionOptions {
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
        color_matrix: GS_MATRIX_BT709,
        color_range: GS_RANGE_LIMITED,
        color_transfer: GS_TRANSFER_BT709,
        color_primaries: GS_PRIMARIES_BT709,
        hdr_primaries: [0; 6],
        hdr_white_point: [0; 2],
        hdr_max_luminance: 0,
        hdr_min_luminance: 0,
        hdr_max_cll: 0,
        hdr_max_fall: 0,
        intra_refresh_frames: 0,
        vbv_buffer_bits: 0,
        scale_filter: GS_SCALE_LANCZOS,
        fit: GS_FIT_LETTERBOX,
        tonemap: GS_TONEMAP_NONE,
        tonemap_transfer: GS_TRANSFER_PQ,
        tonemap_peak_nits: 1000.0,
        tonemap_measure_peak: 0,
        quality: 23,
    }
}

/// Fills the first `size` bytes of `options` with the defaults (see
/// `gs_session_options_defaults`) and sets its `size` to `size`, or to this version's
/// `sizeof(GsSessionOptions)` when `size` is larger (a newer header's struct: its newer fields
/// are left as they are). `GS_ERR_STRUCT_SIZE` below ABI 0.2's 112 bytes. Any thread.
///
/// # Safety
/// `options` is NULL or writable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn gs_session_options_init(options: *mut GsSessionOptions, size: u32) -> i32 {
    // SAFETY: contract of this function.
    unsafe {
        init_prefix(
            options,
            size,
            SESSION_OPTIONS_V0_2,
            "GsSessionOptions",
            session_defaults(),
        )
    }
}

/// Fills an ABI 0.2 `GsSessionOptions` (its first 112 bytes) with the defaults and sets its
/// `size` to 112: the function programs built against ABI 0.2 call. Programs built against
/// this header call `gs_session_options_init(options, sizeof *options)` through the macro of
/// the same name, which fills every field. Any thread. NULL is ignored.
///
/// # Safety
/// `options` is NULL or points at writable memory for ABI 0.2's `GsSessionOptions`.
#[no_mangle]
pub unsafe extern "C" fn gs_session_options_defaults(options: *mut GsSessionOptions) {
    if options.is_null() {
        return;
    }
    // SAFETY: writable for ABI 0.2's struct (contract); the size is ABI 0.2's.
    let _ = unsafe { gs_session_options_init(options, SESSION_OPTIONS_V0_2) };
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
    if o.codec == GS_CODEC_DEFAULT {
        return Err(Failure::new(
            GS_ERR_INVALID_CONFIG,
            "codec GS_CODEC_DEFAULT is for recorders: a session needs a GS_CODEC_* named",
        ));
    }
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
    let default_bitrate = c.rate_control.max_bitrate().unwrap_or(4_000_000);
    let bitrate = if o.bitrate == 0 {
        default_bitrate
    } else {
        o.bitrate
    };
    c.rate_control = match rate_mode(o.rate_control)? {
        None => {
            return Err(Failure::new(
                GS_ERR_INVALID_CONFIG,
                "rate control GS_RC_DEFAULT is for recorders: a session needs a GS_RC_* named",
            ))
        }
        Some(RateControlMode::Cbr) => RateControl::Cbr { bitrate },
        Some(RateControlMode::Vbr) => RateControl::Vbr {
            target: bitrate,
            max: if o.max_bitrate == 0 {
                bitrate.saturating_mul(2)
            } else {
                o.max_bitrate
            },
        },
        Some(RateControlMode::Cq) => RateControl::Cq { quality: o.quality },
        Some(_) => RateControl::Cqp { qp: o.qp },
    };
    if let Some(k) = keyframe_interval(o.keyframe_interval) {
        c.keyframe_interval = k;
    }
    encode_settings(o, &mut c)?;
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
    let engine = if o.engine.is_null() {
        c.gpu = gpu_choice(o.gpu)?;
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

/// The rate-control mode `value` names; `None` for `GS_RC_DEFAULT`.
pub(crate) fn rate_mode(value: i32) -> Result<Option<RateControlMode>, Failure> {
    match value {
        GS_RC_DEFAULT => Ok(None),
        GS_RC_CBR => Ok(Some(RateControlMode::Cbr)),
        GS_RC_VBR => Ok(Some(RateControlMode::Vbr)),
        GS_RC_CQP => Ok(Some(RateControlMode::Cqp)),
        GS_RC_CQ => Ok(Some(RateControlMode::Cq)),
        other => Err(Failure::bad_enum("rate control", other, "GS_RC_*")),
    }
}

/// The key frame interval `value` names; `None` for 0 (the default).
pub(crate) fn keyframe_interval(value: u32) -> Option<KeyframeInterval> {
    match value {
        0 => None,
        GS_KEYFRAME_INFINITE => Some(KeyframeInterval::Infinite),
        n => Some(KeyframeInterval::Frames(n)),
    }
}

/// The GPU choice `value` names.
pub(crate) fn gpu_choice(value: i32) -> Result<GpuChoice, Failure> {
    match value {
        GS_GPU_AUTO => Ok(GpuChoice::Auto),
        GS_GPU_OFF => Ok(GpuChoice::Off),
        other => Err(Failure::bad_enum("gpu", other, "GS_GPU_*")),
    }
}

/// Sets the fields of `c` that sessions and recorders read alike: backend, preset, tuning,
/// bit depth, queue, colour, HDR10 metadata, VBV, intra refresh and the GPU processing (all
/// but the input size). Not checked together here: `SessionConfig::validate` does that.
pub(crate) fn encode_settings(o: &GsSessionOptions, c: &mut SessionConfig) -> Result<(), Failure> {
    c.backend = match o.backend {
        GS_BACKEND_AUTO => BackendChoice::Auto,
        GS_BACKEND_NVENC => BackendChoice::Only(BackendKind::Nvenc),
        GS_BACKEND_VULKAN_VIDEO => BackendChoice::Only(BackendKind::VulkanVideo),
        GS_BACKEND_SOFTWARE => BackendChoice::Only(BackendKind::Software),
        other => return Err(Failure::bad_enum("backend", other, "GS_BACKEND_*")),
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
    c.color.matrix = match o.color_matrix {
        GS_MATRIX_BT601 => ColorMatrix::Bt601,
        GS_MATRIX_BT709 => ColorMatrix::Bt709,
        GS_MATRIX_BT2020_NCL => ColorMatrix::Bt2020Ncl,
        other => return Err(Failure::bad_enum("color_matrix", other, "GS_MATRIX_*")),
    };
    c.color.range = match o.color_range {
        GS_RANGE_LIMITED => ColorRange::Limited,
        GS_RANGE_FULL => ColorRange::Full,
        other => return Err(Failure::bad_enum("color_range", other, "GS_RANGE_*")),
    };
    c.color.transfer = transfer(o.color_transfer, "color_transfer")?;
    c.color.primaries = match o.color_primaries {
        GS_PRIMARIES_BT709 => ColorPrimaries::Bt709,
        GS_PRIMARIES_BT601_PAL => ColorPrimaries::Bt601Pal,
        GS_PRIMARIES_BT601_NTSC => ColorPrimaries::Bt601Ntsc,
        GS_PRIMARIES_BT2020 => ColorPrimaries::Bt2020,
        GS_PRIMARIES_DISPLAY_P3 => ColorPrimaries::DisplayP3,
        other => {
            return Err(Failure::bad_enum(
                "color_primaries",
                other,
                "GS_PRIMARIES_*",
            ))
        }
    };
    c.hdr_metadata = hdr_metadata(o)?;
    c.intra_refresh_frames = (o.intra_refresh_frames != 0).then_some(o.intra_refresh_frames);
    c.vbv_buffer_bits = (o.vbv_buffer_bits != 0).then_some(o.vbv_buffer_bits);
    c.processing.scale_filter = match o.scale_filter {
        GS_SCALE_BILINEAR => ScaleFilter::Bilinear,
        GS_SCALE_BICUBIC => ScaleFilter::Bicubic,
        GS_SCALE_LANCZOS => ScaleFilter::Lanczos3,
        GS_SCALE_AREA => ScaleFilter::Area,
        other => return Err(Failure::bad_enum("scale_filter", other, "GS_SCALE_*")),
    };
    c.processing.fit = match o.fit {
        GS_FIT_STRETCH => Fit::Stretch,
        GS_FIT_LETTERBOX => Fit::Letterbox,
        other => return Err(Failure::bad_enum("fit", other, "GS_FIT_*")),
    };
    c.processing.tonemap = match o.tonemap {
        GS_TONEMAP_NONE => None,
        GS_TONEMAP_BT2390 => {
            let nits = f64::from(o.tonemap_peak_nits);
            Some(ToneMapInput {
                transfer: transfer(o.tonemap_transfer, "tonemap_transfer")?,
                peak: match o.tonemap_measure_peak {
                    0 => PeakSource::Metadata(nits),
                    1 => PeakSource::Measured { first_frame: nits },
                    other => {
                        return Err(Failure::new(
                            GS_ERR_INVALID_CONFIG,
                            format!("tonemap_measure_peak {other} is not 0 or 1"),
                        ))
                    }
                },
            })
        }
        other => return Err(Failure::bad_enum("tonemap", other, "GS_TONEMAP_*")),
    };
    c.processing.sharpen = f64::from(o.sharpen);
    Ok(())
}

fn transfer(value: i32, what: &str) -> Result<TransferFunction, Failure> {
    match value {
        GS_TRANSFER_SRGB => Ok(TransferFunction::Srgb),
        GS_TRANSFER_BT709 => Ok(TransferFunction::Bt709),
        GS_TRANSFER_PQ => Ok(TransferFunction::Pq),
        GS_TRANSFER_HLG => Ok(TransferFunction::Hlg),
        other => Err(Failure::bad_enum(what, other, "GS_TRANSFER_*")),
    }
}

/// The HDR10 metadata the `hdr_` fields give: none when all are 0; the mastering display
/// (its peak set) and, when either is set, the content light level.
fn hdr_metadata(o: &GsSessionOptions) -> Result<Option<HdrMetadata>, Failure> {
    let p = o.hdr_primaries;
    let w = o.hdr_white_point;
    let light = (o.hdr_max_cll != 0 || o.hdr_max_fall != 0).then_some(ContentLightLevel {
        max_cll: o.hdr_max_cll,
        max_fall: o.hdr_max_fall,
    });
    if o.hdr_max_luminance == 0 {
        let others_set =
            p.iter().chain(&w).any(|&v| v != 0) || o.hdr_min_luminance != 0 || light.is_some();
        if others_set {
            return Err(Failure::new(
                GS_ERR_INVALID_CONFIG,
                "hdr_max_luminance is 0 (no HDR10 metadata) but other hdr_ fields are set: give the mastering display's peak luminance too (10000000 for 1000 nits), or set every hdr_ field to 0",
            ));
        }
        return Ok(None);
    }
    let xy = |x: u16, y: u16| Chromaticity { x, y };
    Ok(Some(HdrMetadata {
        display: MasteringDisplay {
            red: xy(p[0], p[1]),
            green: xy(p[2], p[3]),
            blue: xy(p[4], p[5]),
            white: xy(w[0], w[1]),
            max_luminance: o.hdr_max_luminance,
            min_luminance: o.hdr_min_luminance,
        },
        light,
    }))
}

/// Reads a caller's `GsSessionOptions` of any size from ABI 0.2's on: the fields an older
/// header lacks take their defaults.
///
/// # Safety
/// `options` is NULL or a readable struct of its declared size.
pub(crate) unsafe fn read_session_options(
    options: *const GsSessionOptions,
    what: &str,
) -> Result<GsSessionOptions, Failure> {
    // SAFETY: contract of this function.
    unsafe {
        read_versioned(
            options,
            SESSION_OPTIONS_V0_2,
            what,
            "GsSessionOptions",
            session_defaults(),
        )
    }
}
