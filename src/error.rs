//! The crate's top-level error, and the stable numeric codes the C ABI will return.

use crate::bitstream::BitstreamError;
use crate::config::ConfigError;
use crate::encode::EncodeError;
use crate::frame::ImageError;
use crate::session::SessionError;
use crate::sink::SinkError;
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
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Config(_) => ErrorCode::InvalidConfig,
            Error::Source(_) | Error::Bitstream(_) | Error::Image(_) => ErrorCode::BadInput,
            Error::Encode(e) => encode_code(e),
            Error::Sink(_) => ErrorCode::Output,
            Error::Gpu(_) => ErrorCode::Gpu,
            Error::Session(e) => match e {
                SessionError::Config(_) => ErrorCode::InvalidConfig,
                SessionError::Encode(e) => encode_code(e),
                SessionError::FrameSize { .. }
                | SessionError::FrameFormat { .. }
                | SessionError::NonMonotonicPts { .. } => ErrorCode::FrameMismatch,
                SessionError::Flushed | SessionError::Closed => ErrorCode::State,
                SessionError::WorkerFailed(_) => ErrorCode::Internal,
                SessionError::Gpu(_) => ErrorCode::Gpu,
            },
        }
    }
}

fn encode_code(e: &EncodeError) -> ErrorCode {
    match e {
        EncodeError::Unavailable { .. }
        | EncodeError::NoBackend { .. }
        | EncodeError::EncoderNotFound { .. } => ErrorCode::Unavailable,
        EncodeError::UnsupportedInput { .. } => ErrorCode::FrameMismatch,
        EncodeError::UnknownOption { .. } | EncodeError::Libav { .. } => ErrorCode::Encoder,
    }
}
