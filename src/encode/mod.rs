//! Encoder backends, backend choice and the capability probe.
//!
//! An [`EncoderBackend`] turns frames into encoded units. The session owns one and drives it on
//! its worker thread. Backends are chosen by [`open_backend`]: `auto` tries the paths in order of
//! preference (NVENC, Vulkan Video, software) and records why each one passed over was passed
//! over, in a [`BackendReport`].

pub mod nvenc;
#[cfg(feature = "software")]
pub mod software;

use crate::codec::Codec;
use crate::config::{BackendChoice, BackendKind, SessionConfig};
use crate::format::PixelFormat;
use crate::frame::Frame;
use crate::gpu::{GpuContext, GpuHandoff, HandedOff};
use std::sync::Arc;

/// One encoded unit as a backend produces it, with timestamps in the backend's frame ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedUnit {
    /// The bytes (Annex-B for H.264/HEVC, low-overhead OBUs for AV1).
    pub data: Vec<u8>,
    /// Presentation tick (the `encoder_pts` the frame was sent with).
    pub pts: i64,
    /// Decode tick (may be below `pts`, and negative, when frames are reordered).
    pub dts: i64,
    /// A random access point.
    pub keyframe: bool,
}

/// An encoder the session can drive. Implement it to plug in another encoder; the session calls
/// it from one worker thread, never concurrently.
pub trait EncoderBackend: Send {
    /// Which kind of backend this is.
    fn kind(&self) -> BackendKind;

    /// A one-line description for logs and `probe` ("software (libx264 through libavcodec)").
    fn describe(&self) -> String;

    /// Encodes one frame. `encoder_pts` counts frames given to this encoder from 0; units come
    /// back with it as their `pts`.
    fn encode(&mut self, frame: Frame, encoder_pts: i64) -> Result<(), EncodeError>;

    /// Signals the end of input; the remaining units can then be received.
    fn finish(&mut self) -> Result<(), EncodeError>;

    /// The next unit, or `None` when the encoder needs more input or has finished.
    fn receive(&mut self) -> Result<Option<EncodedUnit>, EncodeError>;

    /// A backend that reads converted frames in place from Vulkan memory gives the session the
    /// buffers and timelines to write them through; the session takes it once, when it opens,
    /// and from then on sends frames to [`encode_handed_off`](Self::encode_handed_off). The
    /// default offers none: frames come to [`encode`](Self::encode) in CPU memory.
    fn take_gpu_handoff(&mut self) -> Option<GpuHandoff> {
        None
    }

    /// Encodes the frame the session's Vulkan pass wrote into hand-off buffer `frame.buffer`:
    /// wait for the hand-off's `ready` timeline to reach `frame.value` before reading it, and
    /// signal `released` to the same value once done with it.
    fn encode_handed_off(&mut self, frame: HandedOff, encoder_pts: i64) -> Result<(), EncodeError> {
        let _ = (frame, encoder_pts);
        Err(self.unsupported("frames handed over in Vulkan memory"))
    }

    /// The live controls this backend honours.
    fn controls(&self) -> LiveControls {
        LiveControls::default()
    }

    /// Makes the next frame an IDR/key frame with parameter sets (a viewer joined).
    fn force_keyframe(&mut self) -> Result<(), EncodeError> {
        Err(self.unsupported("forced keyframes"))
    }

    /// A client lost the picture sent with `encoder_pts`: later pictures stop referencing it
    /// and what came after it, so the client recovers without a keyframe.
    fn invalidate(&mut self, encoder_pts: i64) -> Result<(), EncodeError> {
        let _ = encoder_pts;
        Err(self.unsupported("reference invalidation"))
    }

    /// Changes rate control and frame rate in the running stream, with no new keyframe.
    fn reconfigure(&mut self, config: &SessionConfig) -> Result<(), EncodeError> {
        let _ = config;
        Err(self.unsupported("a live rate change"))
    }

    /// The error for a live control or input this backend lacks.
    fn unsupported(&self, what: &str) -> EncodeError {
        EncodeError::Unsupported {
            encoder: self.describe(),
            what: what.into(),
            fix: "use the NVENC backend, which has it, or open a new session".into(),
        }
    }
}

/// Which live controls a backend honours (see [`EncoderBackend::controls`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveControls {
    /// [`EncoderBackend::force_keyframe`].
    pub force_keyframe: bool,
    /// [`EncoderBackend::invalidate`].
    pub invalidate: bool,
    /// [`EncoderBackend::reconfigure`].
    pub reconfigure: bool,
}

impl LiveControls {
    /// Every live control.
    pub const ALL: Self = Self {
        force_keyframe: true,
        invalidate: true,
        reconfigure: true,
    };
}

/// Why an encoder could not be opened or could not encode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The backend cannot run on this machine.
    #[error("the {backend} backend is not available: {reason}")]
    Unavailable {
        /// The backend.
        backend: BackendKind,
        /// Why, and the fix.
        reason: String,
    },
    /// `auto` found no backend that can run.
    #[error("no encoder backend can run {codec} here: {reasons}")]
    NoBackend {
        /// The codec asked for.
        codec: Codec,
        /// Every backend tried, with its reason.
        reasons: String,
    },
    /// The encoder lacks a coding tool the config asks for.
    #[error("{encoder} cannot do {what}: {fix}")]
    Unsupported {
        /// The encoder.
        encoder: String,
        /// The tool ("lossless tuning", "intra refresh").
        what: String,
        /// What to do instead.
        fix: String,
    },
    /// A hardware encoder call failed (the message names the call, the status and the
    /// driver's own explanation).
    #[error("{backend}: {message}")]
    Hardware {
        /// The backend.
        backend: BackendKind,
        /// What failed.
        message: String,
    },
    /// The frame's format is one this encoder cannot take.
    #[error("cannot encode {format} frames: {reason}")]
    UnsupportedInput {
        /// The format.
        format: PixelFormat,
        /// Why.
        reason: String,
    },
    /// An FFmpeg call failed (the software encoders).
    #[cfg(feature = "software")]
    #[error(transparent)]
    Ffmpeg(#[from] crate::ffmpeg::FfmpegError),
}

/// Which backend a session runs on, and why the others were passed over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendReport {
    /// The backend chosen.
    pub chosen: BackendKind,
    /// Its description.
    pub description: String,
    /// Each backend passed over, with the reason.
    pub passed_over: Vec<(BackendKind, String)>,
}

/// The order `auto` tries backends in.
pub const AUTO_ORDER: [BackendKind; 3] = [
    BackendKind::Nvenc,
    BackendKind::VulkanVideo,
    BackendKind::Software,
];

/// How long `probe` waits for a capture service (the Wayland compositor, the PipeWire
/// daemon) to answer one exchange: a hung one is reported as such within seconds.
const PROBE_CAPTURE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The Wayland capture `probe` opens: `$WAYLAND_DISPLAY`'s first output, each exchange bounded
/// by [`PROBE_CAPTURE_TIMEOUT`].
fn probe_wayland_options() -> crate::source::capture::WaylandOptions {
    crate::source::capture::WaylandOptions {
        round_trip_timeout: PROBE_CAPTURE_TIMEOUT,
        ..Default::default()
    }
}

/// Whether a PipeWire daemon answers, with the video nodes it has.
#[cfg(feature = "pipewire")]
fn probe_pipewire() -> (bool, String) {
    match crate::source::capture::pipewire::list_video_sources(None, PROBE_CAPTURE_TIMEOUT) {
        Ok(nodes) => (
            true,
            format!("PipeWire answers; {nodes} (capture one with --source pipewire:NODE)"),
        ),
        Err(e) => (false, e.to_string()),
    }
}

#[cfg(not(feature = "pipewire"))]
fn probe_pipewire() -> (bool, String) {
    (
        false,
        "this build has no PipeWire capture (built without the `pipewire` feature)".into(),
    )
}

/// Whether the desktop portal answers with a ScreenCast backend, and what it offers.
#[cfg(feature = "portal")]
fn probe_portal() -> (bool, String) {
    match crate::source::capture::portal::probe(None) {
        Ok(info) if info.source_types != 0 => (
            true,
            format!(
                "ScreenCast version {}, source types {:#x} (1 monitor, 2 window), cursor modes {:#x}{}",
                info.version,
                info.source_types,
                info.cursor_modes,
                if info.version >= 4 { "; grants are kept (restore tokens)" } else { "; grants are not kept (version < 4)" }
            ),
        ),
        Ok(_) => (
            false,
            "the portal answers but its ScreenCast backend offers no sources: the backend for this desktop is missing or did not start".into(),
        ),
        Err(e) => (false, e.to_string()),
    }
}

#[cfg(not(feature = "portal"))]
fn probe_portal() -> (bool, String) {
    (
        false,
        "this build has no portal capture (built without the `portal` feature)".into(),
    )
}

/// Why the Vulkan Video backend cannot run here: it is specified in its own issue and not yet
/// built, and the reason says so rather than pretending to probe hardware.
const VULKAN_VIDEO_REASON: &str = "the Vulkan Video encode backend is not part of this build yet";

/// What stops NVENC here, probed once per process (library, driver API version, a CUDA device,
/// an encode session on it: a GPU without an encoder engine fails there), or `None` when a
/// session opens.
fn nvenc_unavailable() -> Option<String> {
    static REASON: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    REASON
        .get_or_init(|| {
            nvenc::NvencApi::load()
                .and_then(|api| {
                    let device = crate::cuda::CudaDevice::first()?;
                    nvenc::NvencSession::open(&api, &device).map(drop)
                })
                .err()
                .map(|e| e.to_string())
        })
        .clone()
}

/// True when `auto` or the config's choice would run NVENC (a session opens here and the
/// config allows it).
fn nvenc_preferred(config: &SessionConfig) -> bool {
    matches!(
        config.backend,
        BackendChoice::Auto | BackendChoice::Only(BackendKind::Nvenc)
    ) && nvenc_unavailable().is_none()
        && nvenc::params::NvencChoice::for_config(config).is_ok()
}

fn open_one(
    kind: BackendKind,
    config: &SessionConfig,
    input: PixelFormat,
    gpu: Option<&Arc<GpuContext>>,
) -> Result<Box<dyn EncoderBackend>, EncodeError> {
    match kind {
        BackendKind::Software => open_software(config, input),
        BackendKind::Nvenc => {
            if let Some(reason) = nvenc_unavailable() {
                return Err(EncodeError::Unavailable {
                    backend: kind,
                    reason,
                });
            }
            let wanted = nvenc::params::NvencChoice::for_config(config)?.input_format;
            if input != wanted {
                return Err(EncodeError::UnsupportedInput {
                    format: input,
                    reason: format!("NVENC is fed {wanted} for this config"),
                });
            }
            Ok(Box::new(open_nvenc(config, gpu)?))
        }
        BackendKind::VulkanVideo => Err(EncodeError::Unavailable {
            backend: kind,
            reason: VULKAN_VIDEO_REASON.into(),
        }),
    }
}

/// NVENC for `config`: fed in place by the Vulkan pass on `gpu` when there is one and its
/// memory and timelines reach CUDA; otherwise fed frames uploaded from the CPU (the reason is
/// logged).
fn open_nvenc(
    config: &SessionConfig,
    gpu: Option<&Arc<GpuContext>>,
) -> Result<nvenc::NvencEncoder, EncodeError> {
    if let Some(gpu) = gpu {
        match nvenc::NvencEncoder::open_for_vulkan(config, gpu) {
            Ok(encoder) => return Ok(encoder),
            Err(e) => tracing::info!(
                reason = %e,
                "NVENC cannot read the Vulkan pass's memory in place; frames will be read back and uploaded"
            ),
        }
    }
    Ok(nvenc::NvencEncoder::open(config)?)
}

/// The YUV format a GPU conversion should produce for this session's encoder: one the encoder
/// takes without another conversion (NV12 for x264, I420 for x265 and SVT-AV1 at 8 bits;
/// I420P10 at 10 bits), or NV12/P010 (what hardware encoders take) when no software encoder is
/// built in.
pub fn preferred_yuv_input(config: &SessionConfig) -> PixelFormat {
    let ten = config.bit_depth == crate::config::BitDepth::Ten;
    if nvenc_preferred(config) {
        return if ten {
            PixelFormat::P010
        } else {
            PixelFormat::Nv12
        };
    }
    #[cfg(feature = "software")]
    {
        let accepted =
            crate::ffmpeg::codec::encoder_pixel_formats(software::encoder_name(config.codec));
        let wanted = if ten {
            [PixelFormat::P010, PixelFormat::I420P10]
        } else {
            [PixelFormat::Nv12, PixelFormat::I420]
        };
        if let Some(f) = wanted.into_iter().find(|f| accepted.contains(f)) {
            return f;
        }
    }
    if ten {
        PixelFormat::P010
    } else {
        PixelFormat::Nv12
    }
}

/// Opens the backend `config.backend` asks for, for frames of `input` format. `gpu` is the
/// Vulkan context the session processes frames on, if any: a backend that can read the pass's
/// output in place there offers a hand-off ([`EncoderBackend::take_gpu_handoff`]).
pub fn open_backend(
    config: &SessionConfig,
    input: PixelFormat,
    gpu: Option<&Arc<GpuContext>>,
) -> Result<(Box<dyn EncoderBackend>, BackendReport), EncodeError> {
    match config.backend {
        BackendChoice::Only(kind) => {
            let backend = open_one(kind, config, input, gpu)?;
            let description = backend.describe();
            Ok((
                backend,
                BackendReport {
                    chosen: kind,
                    description,
                    passed_over: Vec::new(),
                },
            ))
        }
        BackendChoice::Auto => {
            let mut passed_over = Vec::new();
            for kind in AUTO_ORDER {
                match open_one(kind, config, input, gpu) {
                    Ok(backend) => {
                        let description = backend.describe();
                        for (k, why) in &passed_over {
                            tracing::info!(backend = %k, reason = %why, "backend passed over");
                        }
                        return Ok((
                            backend,
                            BackendReport {
                                chosen: kind,
                                description,
                                passed_over,
                            },
                        ));
                    }
                    Err(e) => passed_over.push((kind, e.to_string())),
                }
            }
            let reasons = passed_over
                .iter()
                .map(|(k, r)| format!("{k}: {r}"))
                .collect::<Vec<_>>()
                .join("; ");
            Err(EncodeError::NoBackend {
                codec: config.codec,
                reasons,
            })
        }
    }
}

/// One path in the probe: an encoder, a GPU engine or a capture method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeEntry {
    /// "encode", "gpu" or "capture".
    pub category: &'static str,
    /// The path's name ("software", "nvenc", "wayland").
    pub name: String,
    /// The codec, for encode paths.
    pub codec: Option<Codec>,
    /// True when the path can run here.
    pub available: bool,
    /// What it uses when available; why not when not.
    pub detail: String,
}

/// The software encoder for one codec: its name and bit depths, or why it cannot run.
#[cfg(feature = "software")]
fn software_probe(codec: Codec) -> (bool, String) {
    match software::unavailable_reason(codec) {
        None => {
            let name = software::encoder_name(codec);
            let ten =
                crate::ffmpeg::codec::encoder_pixel_formats(name).contains(&PixelFormat::I420P10);
            (
                true,
                format!(
                    "{name} through libavcodec; 8-bit{}",
                    if ten { " and 10-bit" } else { " only" }
                ),
            )
        }
        Some(why) => (false, why),
    }
}

#[cfg(not(feature = "software"))]
fn software_probe(_: Codec) -> (bool, String) {
    (false, NO_SOFTWARE.into())
}

/// Why a build without the `software` feature has no software encoders.
#[cfg(not(feature = "software"))]
const NO_SOFTWARE: &str =
    "this build has no software encoders (built without the `software` feature, so no FFmpeg)";

/// Opens the software encoder, where this build has one.
fn open_software(
    config: &SessionConfig,
    input: PixelFormat,
) -> Result<Box<dyn EncoderBackend>, EncodeError> {
    #[cfg(feature = "software")]
    return Ok(Box::new(software::SoftwareEncoder::open(config, input)?));
    #[cfg(not(feature = "software"))]
    {
        let _ = (config, input);
        Err(EncodeError::Unavailable {
            backend: BackendKind::Software,
            reason: NO_SOFTWARE.into(),
        })
    }
}

/// NVENC for each codec of [`Codec::ALL`], in that order: the capabilities the GPU reports
/// (one session queried for every codec), or why there are none.
fn nvenc_probe() -> Vec<(bool, String)> {
    let unavailable = |reason: String| vec![(false, reason); Codec::ALL.len()];
    if let Some(reason) = nvenc_unavailable() {
        return unavailable(reason);
    }
    let caps = nvenc::NvencApi::load().and_then(|api| {
        let device = crate::cuda::CudaDevice::first()?;
        let session = nvenc::NvencSession::open(&api, &device)?;
        let caps = Codec::ALL
            .iter()
            .map(|&codec| nvenc::caps::EncodeCaps::query(&session, codec))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((caps, device.name().to_string()))
    });
    match caps {
        Ok((caps, device)) => Codec::ALL
            .iter()
            .zip(caps)
            .map(|(&codec, c)| match c {
                Some(c) => (true, format!("{device}: {}", c.describe(codec))),
                None => (false, format!("{device}'s NVENC does not encode {codec}")),
            })
            .collect(),
        Err(e) => unavailable(e.to_string()),
    }
}

/// Every encode path, GPU engine and capture method, each available or not and why.
pub fn probe() -> Vec<ProbeEntry> {
    let mut out = Vec::new();
    let nvenc = nvenc_probe();
    for (c, codec) in Codec::ALL.into_iter().enumerate() {
        for kind in AUTO_ORDER {
            let (available, detail) = match kind {
                BackendKind::Software => software_probe(codec),
                BackendKind::Nvenc => nvenc[c].clone(),
                BackendKind::VulkanVideo => (false, VULKAN_VIDEO_REASON.into()),
            };
            out.push(ProbeEntry {
                category: "encode",
                name: kind.name().into(),
                codec: Some(codec),
                available,
                detail,
            });
        }
    }
    let (available, detail) = match crate::gpu::GpuContext::new(&crate::gpu::GpuOptions::default())
    {
        Ok(ctx) => {
            let i = ctx.device_info();
            let (a, b, c) = i.api_version;
            let yes_no = |e: &str| if ctx.has_extension(e) { "yes" } else { "no" };
            let modifiers = match crate::gpu::DmaBufImage::modifiers(&ctx, PixelFormat::Bgra8) {
                Ok(list) => format!(
                    "{} listed, {} one-plane sampled",
                    list.len(),
                    list.iter().filter(|m| m.importable()).count()
                ),
                Err(_) => "not listed (no VK_EXT_image_drm_format_modifier)".into(),
            };
            (
                true,
                format!(
                    "{} ({}), Vulkan {a}.{b}.{c}, driver {}: converts and processes RGB input for the encoders; memory export (CUDA) {}, semaphore export {}, DMA-BUF import {}, BGRA8 DRM modifiers {modifiers}",
                    i.name,
                    i.kind,
                    i.driver.trim(),
                    yes_no("VK_KHR_external_memory_fd"),
                    yes_no("VK_KHR_external_semaphore_fd"),
                    yes_no("VK_EXT_external_memory_dma_buf"),
                ),
            )
        }
        Err(e) => (false, e.to_string()),
    };
    out.push(ProbeEntry {
        category: "gpu",
        name: "vulkan".into(),
        codec: None,
        available,
        detail,
    });
    let (available, detail) =
        match crate::source::capture::WaylandCapture::open(probe_wayland_options()) {
            Ok(c) => {
                let info = crate::source::FrameSource::info(&c);
                (
                    true,
                    format!(
                        "wlr-screencopy into shared memory: output {} ({}x{} {})",
                        c.output_name(),
                        info.width,
                        info.height,
                        info.format
                    ),
                )
            }
            Err(e) => (false, e.to_string()),
        };
    out.push(ProbeEntry {
        category: "capture",
        name: "wayland".into(),
        codec: None,
        available,
        detail,
    });
    let (available, detail) = probe_pipewire();
    out.push(ProbeEntry {
        category: "capture",
        name: "pipewire".into(),
        codec: None,
        available,
        detail,
    });
    let (available, detail) = probe_portal();
    out.push(ProbeEntry {
        category: "capture",
        name: "portal".into(),
        codec: None,
        available,
        detail,
    });
    out
}
