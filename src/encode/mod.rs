//! Encoder backends: the [`EncoderBackend`] trait the session drives, and the registry of
//! backend factories that opens one ([`open_backend`]) and that [`crate::probe`] walks.
//!
//! An [`EncoderBackend`] turns frames into encoded units. The session owns one and drives it on
//! its worker thread. Backends are opened through their [`BackendFactory`] in [`BACKENDS`]:
//! `auto` tries them in order of preference (NVENC, Vulkan Video, software) and records why each
//! one passed over was passed over, in a [`BackendReport`]. Opening answers with the backend's
//! [`InputPlan`] (the format it takes, and a GPU hand-off or none).

mod factories;
pub mod nvenc;
mod registry;
#[cfg(feature = "software")]
pub mod software;
pub mod vulkan;

pub use registry::{
    open_backend_with, BackendFactory, BackendReport, Feed, InputPlan, OpenedBackend,
};

use factories::{NvencFactory, SoftwareFactory};
use vulkan::VulkanVideoFactory;

/// Every backend this build has, in `auto`'s order of preference: NVENC, Vulkan Video,
/// software. A new encoder is its module with a [`BackendFactory`] plus one entry here.
pub static BACKENDS: &[&dyn BackendFactory] =
    &[&NvencFactory, &VulkanVideoFactory, &SoftwareFactory];

/// Opens the backend `config.backend` asks for among [`BACKENDS`], fed as `feed` says.
pub fn open_backend(
    config: &SessionConfig,
    feed: Feed<'_>,
) -> Result<(OpenedBackend, BackendReport), EncodeError> {
    open_backend_with(BACKENDS, config, feed)
}

use crate::codec::Codec;
use crate::config::{BackendKind, SessionConfig};
use crate::format::PixelFormat;
use crate::frame::Frame;
use crate::gpu::{GpuHandoff, HandedOff};

/// One encoded unit as a backend produces it, with timestamps in the backend's frame ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedUnit {
    /// The bytes (Annex-B for H.264/HEVC, low-overhead OBUs for AV1).
    pub data: Vec<u8>,
    /// Presentation tick (the `encoder_pts` the frame was sent with).
    pub pts: i64,
    /// Decode tick (may be below `pts`, and negative, when frames are reordered).
    pub dts: i64,
    /// A random access point.
    pub keyframe: bool,
    /// When the encoder ran on the GPU, where it measured it (Vulkan Video); `None` otherwise.
    pub gpu_time: Option<crate::gpu::GpuTime>,
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

    /// A backend opened on a Vulkan context that reads converted frames in place from Vulkan
    /// memory offers the buffers and timelines to write them through; its factory takes them
    /// once, as it opens it, into the [`InputPlan`], and the session then sends frames to
    /// [`encode_handed_off`](Self::encode_handed_off). The default offers none: frames come to
    /// [`encode`](Self::encode) in CPU memory.
    fn take_gpu_handoff(&mut self) -> Option<GpuHandoff> {
        None
    }

    /// Encodes the frame the session's Vulkan pass wrote into hand-off buffer (or picture image)
    /// `frame.target`: wait for the hand-off's `ready` timeline to reach `frame.value` before
    /// reading it, and signal `released` to the same value once done with it.
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
#[non_exhaustive]
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
