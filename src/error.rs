//! The crate's top-level error, and the stable numeric codes the C ABI returns.
//!
//! Every layer's error converts into [`Error`], so `?` works across layers: most by a variant
//! of their own; capture errors as the source errors they are ([`SourceError::Capture`]), NVENC
//! and FFmpeg errors as the encoder errors they are ([`EncodeError`] wraps both).

use crate::bitstream::BitstreamError;
use crate::config::ConfigError;
use crate::control::ControlError;
use crate::cuda::CudaError;
use crate::encode::nvenc::NvencError;
use crate::encode::EncodeError;
use crate::format::SizeError;
use crate::frame::{GpuFrameError, ImageError};
use crate::hdr::HdrParseError;
use crate::output::path::SameFileError;
use crate::output::replay::ReplayError;
use crate::output::SinkError;
#[cfg(feature = "software")]
use crate::recorder::RecorderError;
use crate::session::SessionError;
use crate::source::capture::CaptureError;
use crate::source::SourceError;
use crate::units::UnitError;

/// Any GhostStream error. Each layer has its own enum; this one wraps them so that applications
/// can use `?` across layers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An invalid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// An encoder failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A session call failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// An output failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// A bitstream could not be parsed.
    #[error(transparent)]
    Bitstream(#[from] BitstreamError),
    /// An image could not be built.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A GPU call failed.
    #[error(transparent)]
    Gpu(#[from] crate::gpu::GpuError),
    /// A GPU frame's description was refused.
    #[error(transparent)]
    GpuFrame(#[from] GpuFrameError),
    /// A CUDA call failed (the NVENC path's hand-off from Vulkan).
    #[error(transparent)]
    Cuda(#[from] CudaError),
    /// The replay buffer refused a request or could not save.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The control socket could not be served, or a request was refused.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// A value as typed (a duration, a bitrate, a size) could not be read.
    #[error(transparent)]
    Unit(#[from] UnitError),
    /// A frame size out of range for its format.
    #[error(transparent)]
    Size(#[from] SizeError),
    /// HDR metadata as typed could not be read.
    #[error(transparent)]
    Hdr(#[from] HdrParseError),
    #[cfg(feature = "software")]
    /// A recording failed or refused a control.
    #[error(transparent)]
    Recorder(#[from] RecorderError),
    /// An output path that is an input or another output.
    #[error(transparent)]
    SameFile(#[from] SameFileError),
}

impl From<CaptureError> for Error {
    fn from(e: CaptureError) -> Self {
        Error::Source(SourceError::Capture(e))
    }
}

impl From<NvencError> for Error {
    fn from(e: NvencError) -> Self {
        Error::Encode(EncodeError::from(e))
    }
}

#[cfg(feature = "software")]
impl From<crate::ffmpeg::FfmpegError> for Error {
    fn from(e: crate::ffmpeg::FfmpegError) -> Self {
        Error::Encode(EncodeError::from(e))
    }
}

/// Stable error codes: the negative numbers the C ABI returns. Never renumbered; new codes are
/// added at the end (and to [`ErrorCode::ALL`], which the C ABI's tests hold its constants to).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
#[non_exhaustive]
pub enum ErrorCode {
    /// An invalid configuration value.
    InvalidConfig = -1,
    /// Input that could not be read or parsed.
    BadInput = -2,
    /// No backend can run the request here.
    Unavailable = -3,
    /// The encoder failed.
    Encoder = -4,
    /// An output could not be written.
    Output = -5,
    /// A call in the wrong state (after flush or close).
    State = -6,
    /// A frame that does not match the session.
    FrameMismatch = -7,
    /// An internal failure (a panic or a dead thread).
    Internal = -8,
    /// The GPU failed, or a required GPU is missing.
    Gpu = -9,
    /// Something waited for did not happen in time (a GPU frame's semaphore never signalled,
    /// the GPU did not finish).
    Timeout = -10,
}

impl ErrorCode {
    /// Every code, in the order of their numbers.
    pub const ALL: [ErrorCode; 10] = [
        ErrorCode::InvalidConfig,
        ErrorCode::BadInput,
        ErrorCode::Unavailable,
        ErrorCode::Encoder,
        ErrorCode::Output,
        ErrorCode::State,
        ErrorCode::FrameMismatch,
        ErrorCode::Internal,
        ErrorCode::Gpu,
        ErrorCode::Timeout,
    ];

    /// The code's name in the C ABI, after `GS_ERR_` (`INVALID_CONFIG` for
    /// `GS_ERR_INVALID_CONFIG`).
    pub const fn c_name(self) -> &'static str {
        match self {
            ErrorCode::InvalidConfig => "INVALID_CONFIG",
            ErrorCode::BadInput => "BAD_INPUT",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Encoder => "ENCODER",
            ErrorCode::Output => "OUTPUT",
            ErrorCode::State => "STATE",
            ErrorCode::FrameMismatch => "FRAME_MISMATCH",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::Gpu => "GPU",
            ErrorCode::Timeout => "TIMEOUT",
        }
    }
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Config(_) => ErrorCode::InvalidConfig,
            Error::Source(_) | Error::Bitstream(_) | Error::Image(_) => ErrorCode::BadInput,
            Error::Encode(e) => encode_code(e),
            Error::Sink(_) => ErrorCode::Output,
            Error::Gpu(e) => gpu_code(e),
            Error::GpuFrame(_) | Error::Cuda(_) => ErrorCode::Gpu,
            Error::Replay(e) => replay_code(e),
            Error::Control(e) => control_code(e),
            Error::Unit(_) | Error::Size(_) | Error::SameFile(_) | Error::Hdr(_) => {
                ErrorCode::InvalidConfig
            }
            Error::Session(e) => session_code(e),
            #[cfg(feature = "software")]
            Error::Recorder(e) => recorder_code(e),
        }
    }
}

fn session_code(e: &SessionError) -> ErrorCode {
    match e {
        SessionError::Config(_) => ErrorCode::InvalidConfig,
        SessionError::Encode(e) => encode_code(e),
        SessionError::FrameSize { .. }
        | SessionError::FrameFormat { .. }
        | SessionError::NonMonotonicPts { .. }
        | SessionError::TimestampRange { .. }
        | SessionError::GpuFrameRejected { .. } => ErrorCode::FrameMismatch,
        SessionError::Flushed | SessionError::Closed => ErrorCode::State,
        SessionError::WorkerFailed(_) => ErrorCode::Internal,
        SessionError::Gpu(e) => gpu_code(e),
    }
}

#[cfg(feature = "software")]
fn recorder_code(e: &RecorderError) -> ErrorCode {
    match e {
        RecorderError::Source(_) | RecorderError::NoFrames { .. } => ErrorCode::BadInput,
        RecorderError::Config(_)
        | RecorderError::SamePath(_)
        | RecorderError::NoOutput
        | RecorderError::StdoutTwice { .. }
        | RecorderError::ReplayDir { .. }
        | RecorderError::NoVideosFolder
        | RecorderError::LimitTooShort { .. } => ErrorCode::InvalidConfig,
        RecorderError::CreateFolder { .. } => ErrorCode::Output,
        RecorderError::Session(e) => session_code(e),
        RecorderError::Sink(_) | RecorderError::Stats { .. } => ErrorCode::Output,
        RecorderError::Replay(e) => replay_code(e),
        RecorderError::Control(e) => control_code(e),
        RecorderError::NoReplay | RecorderError::Ended | RecorderError::QueueFull { .. } => {
            ErrorCode::State
        }
        RecorderError::Busy { .. } => ErrorCode::Timeout,
        RecorderError::Thread { .. } => ErrorCode::Internal,
    }
}

fn encode_code(e: &EncodeError) -> ErrorCode {
    match e {
        EncodeError::Unavailable { .. }
        | EncodeError::NoBackend { .. }
        | EncodeError::Unsupported { .. } => ErrorCode::Unavailable,
        EncodeError::UnsupportedInput { .. } => ErrorCode::FrameMismatch,
        EncodeError::Hardware { .. } => ErrorCode::Encoder,
        #[cfg(feature = "software")]
        EncodeError::Ffmpeg(e) => ffmpeg_code(e),
    }
}

#[cfg(feature = "software")]
fn ffmpeg_code(e: &crate::ffmpeg::FfmpegError) -> ErrorCode {
    use crate::ffmpeg::FfmpegError;
    match e {
        FfmpegError::EncoderNotFound { .. } => ErrorCode::Unavailable,
        FfmpegError::UnsupportedInput { .. } => ErrorCode::FrameMismatch,
        _ => ErrorCode::Encoder,
    }
}

fn replay_code(e: &ReplayError) -> ErrorCode {
    match e {
        ReplayError::EmptyLimits { .. } | ReplayError::Format { .. } => ErrorCode::InvalidConfig,
        ReplayError::Empty => ErrorCode::State,
        ReplayError::SaverGone { .. }
        | ReplayError::Sink(_)
        | ReplayError::Unsaved { .. }
        | ReplayError::NoFreeName { .. } => ErrorCode::Output,
    }
}

fn control_code(e: &ControlError) -> ErrorCode {
    match e {
        ControlError::Bind { .. } => ErrorCode::Output,
        ControlError::Deadline { .. } | ControlError::Timeout { .. } => ErrorCode::Timeout,
        ControlError::NoServer { .. }
        | ControlError::Stale { .. }
        | ControlError::Connect { .. }
        | ControlError::Connection { .. }
        | ControlError::NoAnswer { .. } => ErrorCode::Unavailable,
        ControlError::Busy { .. } => ErrorCode::State,
        _ => ErrorCode::BadInput,
    }
}

fn gpu_code(e: &crate::gpu::GpuError) -> ErrorCode {
    match e {
        crate::gpu::GpuError::Timeout { .. } | crate::gpu::GpuError::FrameNotReady { .. } => {
            ErrorCode::Timeout
        }
        _ => ErrorCode::Gpu,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::GpuError;

    #[test]
    fn all_lists_every_code_once_in_order_of_number() {
        let numbers: Vec<i32> = ErrorCode::ALL.iter().map(|c| *c as i32).collect();
        assert_eq!(numbers, (1..=10).map(|n| -n).collect::<Vec<_>>());
        let names: std::collections::BTreeSet<&str> =
            ErrorCode::ALL.iter().map(|c| c.c_name()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len(), "{names:?}");
    }

    #[test]
    fn every_layer_converts_with_its_code() {
        let unit = crate::units::parse_duration("ten").unwrap_err();
        assert_eq!(Error::from(unit).code(), ErrorCode::InvalidConfig);
        let size = crate::PixelFormat::I420.check_size(3, 3).unwrap_err();
        assert_eq!(Error::from(size).code(), ErrorCode::InvalidConfig);
        let hdr = "1000".parse::<crate::hdr::ContentLightLevel>().unwrap_err();
        assert_eq!(Error::from(hdr).code(), ErrorCode::InvalidConfig);
        let replay = ReplayError::Empty;
        assert_eq!(Error::from(replay).code(), ErrorCode::State);
        let control = crate::control::parse_request(b"save 1e20").unwrap_err();
        assert_eq!(Error::from(control).code(), ErrorCode::BadInput);
        let capture = CaptureError::CompositorTimeout {
            socket: "wayland-9".into(),
            step: "a test".into(),
            waited_ms: 5,
        };
        let e = Error::from(capture);
        assert!(
            matches!(&e, Error::Source(SourceError::Capture(_))),
            "{e:?}"
        );
        assert_eq!(e.code(), ErrorCode::BadInput);
    }

    #[test]
    fn gpu_timeouts_have_their_own_code() {
        let timeout = GpuError::Timeout {
            what: "a GPU frame's wait semaphore",
            timeout_ms: 5,
        };
        assert_eq!(Error::from(timeout.clone()).code(), ErrorCode::Timeout);
        assert_eq!(
            Error::from(SessionError::Gpu(timeout)).code(),
            ErrorCode::Timeout
        );
        let missing = GpuError::MissingExtension {
            extension: "VK_KHR_external_memory_fd".into(),
            needed_for: "exporting memory",
            device: "test".into(),
        };
        assert_eq!(Error::from(missing).code(), ErrorCode::Gpu);
        let not_ready = GpuError::FrameNotReady {
            semaphore: 0x1234,
            value: 7,
            timeout_ms: 300,
        };
        let text = not_ready.to_string();
        assert!(
            text.contains("0x1234") && text.contains("value 7"),
            "{text}"
        );
        assert_eq!(Error::from(not_ready).code(), ErrorCode::Timeout);
        assert_eq!(ErrorCode::Timeout as i32, -10);
    }
}
