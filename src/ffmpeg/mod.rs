//! FFmpeg: every call into libavcodec, libswscale and libavformat (FFmpeg 5.1 and later) and
//! their `unsafe` is here, behind safe types: [`codec`] (the software encoders and the
//! scaler), [`mux`] (container and network muxers). Nothing else in the crate names
//! `ffmpeg_next::ffi`. Built with the `software` feature only.

pub(crate) mod codec;
pub(crate) mod mux;

use std::ffi::CStr;
use std::os::raw::c_int;

use ffmpeg_next::ffi as av;

use crate::format::PixelFormat;

/// Why an FFmpeg call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FfmpegError {
    /// libavcodec has no encoder of that name.
    #[error("libavcodec has no encoder named {name}")]
    EncoderNotFound {
        /// The name looked up.
        name: String,
    },
    /// A frame the encoder or scaler cannot take.
    #[error("cannot encode {format} frames: {reason}")]
    UnsupportedInput {
        /// The format.
        format: PixelFormat,
        /// Why.
        reason: String,
    },
    /// The encoder did not recognise an option GhostStream gave it (a version mismatch).
    #[error(
        "encoder {encoder} does not recognise option '{option}' (is the FFmpeg build too old?)"
    )]
    UnknownOption {
        /// The encoder.
        encoder: String,
        /// The option.
        option: String,
    },
    /// A muxer could not be set up or refused a stream (an unknown format, a URL it cannot open,
    /// a header it cannot write); the reason is libavformat's or names the value.
    #[error("{reason}")]
    Muxer {
        /// What failed.
        reason: String,
    },
    /// A libav* call failed.
    #[error("{encoder}: {op} failed: {message} (code {code})")]
    Call {
        /// The encoder or library.
        encoder: String,
        /// The call.
        op: &'static str,
        /// The AVERROR code.
        code: i32,
        /// libavutil's message for it.
        message: String,
    },
}

/// Silences libav*'s own log, once: the library reports through `tracing`
/// and typed errors, not through stderr noise.
pub(crate) fn quiet_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: av_log_set_level only stores an int in a global; no pointers are involved.
        unsafe { av::av_log_set_level(av::AV_LOG_QUIET) };
    });
}

/// The message libavutil gives for an error code.
pub(crate) fn error_string(code: c_int) -> String {
    let mut buf = [0 as std::os::raw::c_char; 128];
    // SAFETY: buf is a valid writable buffer of the length passed; av_strerror NUL-terminates it.
    let ok = unsafe { av::av_strerror(code, buf.as_mut_ptr(), buf.len()) } == 0;
    if !ok {
        return format!("libav error {code}");
    }
    // SAFETY: av_strerror wrote a NUL-terminated string into buf.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// A libav error code as an I/O error: the errno it wraps (ENOSPC for a full disk), or its
/// message.
pub(crate) fn av_io_error(code: c_int) -> std::io::Error {
    let errno = -code;
    if (1..4096).contains(&errno) {
        std::io::Error::from_raw_os_error(errno)
    } else {
        std::io::Error::other(error_string(code))
    }
}
