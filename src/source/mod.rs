//! Frame sources: the animated test pattern, Y4M files, raw frames, and screen capture
//! ([`capture`]: Wayland, PipeWire, the desktop portal), which is a kind of source.

pub mod capture;
mod raw;
pub mod spec;
mod testsrc;
mod y4m;

pub use raw::RawReader;
pub use spec::{open as open_spec, OpenedSource, PortalPick, SourceOptions, SourceSpec};
#[cfg(feature = "test-support")]
pub use testsrc::read_frame_code;
pub use testsrc::{TestPattern, CODE_BITS, CODE_CELL};
pub use y4m::{Y4mReader, Y4mWriter};

use crate::format::{PixelFormat, SizeError};
use crate::frame::{Frame, ImageError};
use crate::time::Rational;

/// Counts of what constant-rate pacing did to a live source (repeats, drops, refits), for
/// status lines and summaries; [`capture::PacedCapture`] keeps them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacingStats {
    /// Frames emitted.
    pub emitted: u64,
    /// Ticks with no new frame, filled with the previous one.
    pub repeated: u64,
    /// Captured frames not emitted: replaced by a newer one before their tick, or arrived too
    /// early for it (the source runs faster than the rate).
    pub dropped: u64,
    /// Frames of another size than the capture opened with, fitted to it.
    pub refitted: u64,
}

/// What a source delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    /// Pixel format of every frame.
    pub format: PixelFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frame rate.
    pub frame_rate: Rational,
}

/// Something that produces frames in order.
pub trait FrameSource {
    /// What the frames are.
    fn info(&self) -> SourceInfo;

    /// The next frame, or `None` at the end. Timestamps start at 0 and advance by one frame at
    /// the source's rate.
    fn next_frame(&mut self) -> Result<Option<Frame>, SourceError>;

    /// Frames still to come, when known (for progress bars).
    fn remaining(&self) -> Option<u64> {
        None
    }

    /// What constant-rate pacing has done, for a live capture (for status lines).
    fn pacing(&self) -> Option<PacingStats> {
        None
    }
}

/// Why a source could not deliver a frame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Screen capture failed.
    #[error(transparent)]
    Capture(#[from] crate::source::capture::CaptureError),
    /// Reading failed.
    #[error("cannot read {what}: {source}")]
    Io {
        /// What was being read (a path, or "standard input").
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The Y4M stream does not start with `YUV4MPEG2 `.
    #[error("not a Y4M stream: it starts with {found:?}, expected \"YUV4MPEG2 \"")]
    Y4mBadMagic {
        /// The first bytes found.
        found: String,
    },
    /// A Y4M header or frame header line with no end.
    #[error("Y4M {what} line has no newline within {limit} bytes (truncated or not a Y4M stream)")]
    Y4mLineTooLong {
        /// Which line.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// A Y4M header without a needed field.
    #[error("Y4M header has no {field} field")]
    Y4mMissingField {
        /// The field letter and meaning, e.g. "W (width)".
        field: &'static str,
    },
    /// A Y4M header field that does not parse.
    #[error("Y4M header field {field} has an invalid value {value:?}: {expected}")]
    Y4mBadField {
        /// The field.
        field: &'static str,
        /// The value found.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// A Y4M chroma layout that GhostStream does not take.
    #[error("unsupported Y4M chroma C{value}: expected one of 420jpeg, 420mpeg2, 420paldv, 420, 420p10, 444, 444p10, 444p16")]
    UnsupportedChroma {
        /// The tag after `C`.
        value: String,
    },
    /// Interlaced Y4M input.
    #[error("unsupported Y4M interlacing I{value}: only progressive (Ip) input is taken")]
    UnsupportedInterlace {
        /// The tag after `I`.
        value: String,
    },
    /// A frame that does not begin with `FRAME`.
    #[error("Y4M frame {frame} does not begin with FRAME (found {found:?})")]
    Y4mBadFrameMarker {
        /// The frame index.
        frame: u64,
        /// What was there.
        found: String,
    },
    /// The input ends inside a frame.
    #[error("frame {frame} is truncated: {got} of {expected} bytes before the end of the input")]
    TruncatedFrame {
        /// The frame index.
        frame: u64,
        /// Bytes read.
        got: usize,
        /// Bytes a frame has.
        expected: usize,
    },
    /// A frame rate that is not a positive fraction.
    #[error("invalid frame rate {rate}: expected a positive rate num/den (for example 30/1 or 30000/1001)")]
    InvalidFrameRate {
        /// The rate given.
        rate: Rational,
    },
    /// A frame size the format does not allow.
    #[error(transparent)]
    Size(#[from] SizeError),
    /// A frame that could not be built.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A source name that does not parse.
    #[error("invalid source {spec:?}: {fix}")]
    BadSpec {
        /// The name given (the first 128 characters).
        spec: String,
        /// What is taken instead.
        fix: String,
    },
    /// An option given for a source it does not apply to.
    #[error("the {option} option does not apply to source {name}: {fix}")]
    DoesNotApply {
        /// The option.
        option: &'static str,
        /// The source, by name.
        name: String,
        /// Where it applies, or what to do instead.
        fix: String,
    },
    /// A source this build was made without.
    #[error("this build of GhostStream has no {what}: it was built without the `{feature}` feature (rebuild with default features)")]
    NotBuilt {
        /// The source kind.
        what: &'static str,
        /// The cargo feature that brings it.
        feature: &'static str,
    },
    /// A format the source cannot produce.
    #[error("the test pattern cannot produce {format}: use i420, nv12, i420p10, p010 or i444")]
    UnsupportedFormat {
        /// The format asked for.
        format: PixelFormat,
    },
}

/// Reads into `buf` until it is full or the input ends; returns the bytes read.
pub(crate) fn read_full(r: &mut dyn std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
