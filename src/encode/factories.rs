//! The factories of NVENC and the software encoders, as
//! [`super::BACKENDS`] lists them: each backend's availability per codec and its open, glued onto
//! the backend's own types.

use std::sync::Arc;

use super::registry::{BackendFactory, Feed, InputPlan, OpenedBackend};
use super::{nvenc, EncodeError, EncoderBackend};
use crate::codec::Codec;
use crate::config::{BackendKind, SessionConfig};
use crate::gpu::{GpuContext, Handoff};

/// NVENC ([`nvenc::NvencEncoder`]): fed in place by the session's Vulkan pass when its memory
/// and timelines reach CUDA, otherwise fed frames uploaded from the CPU.
pub(crate) struct NvencFactory;

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

/// NVENC for each codec of [`Codec::ALL`], in that order: the capabilities the GPU reports (one
/// session queried for every codec, once per process), or why there are none.
fn nvenc_capabilities() -> &'static [Result<String, String>] {
    static CAPS: std::sync::OnceLock<Vec<Result<String, String>>> = std::sync::OnceLock::new();
    CAPS.get_or_init(|| {
        let unavailable = |reason: String| vec![Err(reason); Codec::ALL.len()];
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
                    Some(c) => Ok(format!("{device}: {}", c.describe(codec))),
                    None => Err(format!("{device}'s NVENC does not encode {codec}")),
                })
                .collect(),
            Err(e) => unavailable(e.to_string()),
        }
    })
}

impl BackendFactory for NvencFactory {
    fn kind(&self) -> BackendKind {
        BackendKind::Nvenc
    }

    fn probe(&self, codec: Codec) -> Result<String, String> {
        let i = Codec::ALL.iter().position(|&c| c == codec).unwrap_or(0);
        nvenc_capabilities()[i].clone()
    }

    /// NVENC takes the NV12/P010 its parameters choose: CPU frames only in that format; on a
    /// GPU it is fed in place ([`nvenc::NvencEncoder::open_for_vulkan`]) or, when that cannot be
    /// built, by upload (the reason is logged).
    fn open(&self, config: &SessionConfig, feed: Feed<'_>) -> Result<OpenedBackend, EncodeError> {
        if let Some(reason) = nvenc_unavailable() {
            return Err(EncodeError::Unavailable {
                backend: BackendKind::Nvenc,
                reason,
            });
        }
        let format = nvenc::params::NvencChoice::for_config(config)?.input_format;
        let mut encoder = match feed {
            Feed::Cpu(given) if given != format => {
                return Err(EncodeError::UnsupportedInput {
                    format: given,
                    reason: format!("NVENC is fed {format} for this config"),
                })
            }
            Feed::Cpu(_) => nvenc::NvencEncoder::open(config)?,
            Feed::Gpu(gpu) => open_nvenc_on(config, gpu)?,
        };
        let handoff = encoder.take_gpu_handoff().map(Handoff::Buffers);
        Ok(OpenedBackend {
            backend: Box::new(encoder),
            input: InputPlan { format, handoff },
        })
    }
}

/// NVENC fed in place by the Vulkan pass on `gpu` when its memory and timelines reach CUDA;
/// otherwise fed frames uploaded from the CPU (the reason is logged).
fn open_nvenc_on(
    config: &SessionConfig,
    gpu: &Arc<GpuContext>,
) -> Result<nvenc::NvencEncoder, EncodeError> {
    match nvenc::NvencEncoder::open_for_vulkan(config, gpu) {
        Ok(encoder) => return Ok(encoder),
        Err(e) => tracing::info!(
            reason = %e,
            "NVENC cannot read the Vulkan pass's memory in place; frames will be read back and uploaded"
        ),
    }
    Ok(nvenc::NvencEncoder::open(config)?)
}

/// The software encoders (SVT-AV1, x265, x264 through libavcodec), where this build has them.
pub(crate) struct SoftwareFactory;

/// Why a build without the `software` feature has no software encoders.
#[cfg(not(feature = "software"))]
const NO_SOFTWARE: &str =
    "this build has no software encoders (built without the `software` feature, so no FFmpeg)";

/// The YUV format a GPU pass writes for the software encoder: one it takes without another
/// conversion (NV12 for x264, I420 for x265 and SVT-AV1 at 8 bits; P010 or I420P10 at 10
/// bits), or NV12/P010 when it takes neither (it then converts once more itself).
#[cfg(feature = "software")]
fn software_gpu_format(config: &SessionConfig) -> crate::format::PixelFormat {
    use crate::format::PixelFormat;
    let accepted =
        crate::ffmpeg::codec::encoder_pixel_formats(super::software::encoder_name(config.codec));
    let wanted = if config.bit_depth == crate::config::BitDepth::Ten {
        [PixelFormat::P010, PixelFormat::I420P10]
    } else {
        [PixelFormat::Nv12, PixelFormat::I420]
    };
    wanted
        .into_iter()
        .find(|f| accepted.contains(f))
        .unwrap_or(wanted[0])
}

impl BackendFactory for SoftwareFactory {
    fn kind(&self) -> BackendKind {
        BackendKind::Software
    }

    #[cfg(feature = "software")]
    fn probe(&self, codec: Codec) -> Result<String, String> {
        if let Some(why) = super::software::unavailable_reason(codec) {
            return Err(why);
        }
        let name = super::software::encoder_name(codec);
        let ten = crate::ffmpeg::codec::encoder_pixel_formats(name)
            .contains(&crate::format::PixelFormat::I420P10);
        Ok(format!(
            "{name} through libavcodec; 8-bit{}",
            if ten { " and 10-bit" } else { " only" }
        ))
    }

    #[cfg(not(feature = "software"))]
    fn probe(&self, _: Codec) -> Result<String, String> {
        Err(NO_SOFTWARE.into())
    }

    #[cfg(feature = "software")]
    fn open(&self, config: &SessionConfig, feed: Feed<'_>) -> Result<OpenedBackend, EncodeError> {
        let format = match feed {
            Feed::Cpu(format) => format,
            Feed::Gpu(_) => software_gpu_format(config),
        };
        let backend: Box<dyn EncoderBackend> =
            Box::new(super::software::SoftwareEncoder::open(config, format)?);
        Ok(OpenedBackend {
            backend,
            input: InputPlan {
                format,
                handoff: None,
            },
        })
    }

    #[cfg(not(feature = "software"))]
    fn open(&self, _: &SessionConfig, _: Feed<'_>) -> Result<OpenedBackend, EncodeError> {
        Err(EncodeError::Unavailable {
            backend: BackendKind::Software,
            reason: NO_SOFTWARE.into(),
        })
    }
}
