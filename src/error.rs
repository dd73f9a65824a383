//! The crate's top-level error, and the stable numeric codes the C ABI will return.

use crate::bitstream::BitstreamError;
use crate::config::ConfigError;
use crate::encode::EncodeError;
use crate::frame::{GpuFrameError, ImageError};
use crate::output::SinkError;
use crate::session::SessionError;
use crate::source::SourceError;

/// Any GhostStream error. Each layer has its own enum; this one wraps them so that applications
/// can use `?` across layers.
#[derive(Debug, thiserror::Error)]
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
}

/// Stable error codes: the negative numbers the C ABI returns. Never renumbered; new codes are
/// added at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
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

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Config(_) => ErrorCode::InvalidConfig,
            Error::Source(_) | Error::Bitstream(_) | Error::Image(_) => ErrorCode::BadInput,
            Error::Encode(e) => encode_code(e),
            Error::Sink(_) => ErrorCode::Output,
            Error::Gpu(e) => gpu_code(e),
            Error::GpuFrame(_) => ErrorCode::Gpu,
            Error::Session(e) => match e {
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
            },
        }
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
