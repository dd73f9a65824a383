//! What can go wrong writing an output, and what a finished output wrote.

use std::path::PathBuf;

use super::format::{BitstreamFormat, ContainerFormat};
use crate::bitstream::BitstreamError;
use crate::codec::Codec;

/// Why a sink could not write.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The file could not be created.
    #[error("cannot create {}: {source}", path.display())]
    Create {
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A write failed; the file was cut back to its last whole packet.
    #[error("cannot write {} ({source}); the file keeps its first {kept_bytes} bytes, every packet in it whole", path.display())]
    Write {
        /// The path.
        path: PathBuf,
        /// Bytes of whole packets left in the file.
        kept_bytes: u64,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The output path holds a file and overwriting it was not allowed (see
    /// [`crate::output::path::check_overwrite`]).
    #[error("{} already exists and overwriting it was not allowed: choose another path, or allow overwriting to replace it", path.display())]
    Exists {
        /// The path.
        path: PathBuf,
    },
    /// The sink already failed; nothing more is written.
    #[error("{} is not written to after an earlier error", path.display())]
    AfterFailure {
        /// The path.
        path: PathBuf,
    },
    /// The format cannot carry the codec.
    #[error("{format} files cannot carry {codec} (use {} for {codec})", BitstreamFormat::default_for(*codec).extension(*codec))]
    FormatMismatch {
        /// The file format.
        format: BitstreamFormat,
        /// The codec.
        codec: Codec,
    },
    /// The container cannot carry the codec.
    #[error("{format} files cannot carry {codec} (use .mkv or .mp4 for {codec})")]
    ContainerMismatch {
        /// The container.
        format: ContainerFormat,
        /// The codec.
        codec: Codec,
    },
    /// A stream server could not be reached or refused the stream.
    #[error("cannot stream to {url}: {reason}")]
    Connect {
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The muxer refused (a header it cannot write, a bad option).
    #[error("cannot write {}: {reason}", path.display())]
    Mux {
        /// The path.
        path: PathBuf,
        /// What libavformat said.
        reason: String,
    },
    /// No format could be inferred from the file name.
    #[error("cannot tell the output format from {}: use .mkv, .mp4 or .ts for a container, .ivf or .obu for raw AV1, .h264/.h265 (Annex-B) or .avcc/.hvcc (length-prefixed)", path.display())]
    UnknownExtension {
        /// The path.
        path: PathBuf,
    },
    /// A frame rate the file's header cannot hold (IVF: a positive fraction of 32-bit terms).
    #[error("cannot write {}: its header cannot hold the frame rate {rate} (give a positive rate whose reduced terms fit 32 bits, e.g. 30/1 or 30000/1001)", path.display())]
    FrameRate {
        /// The path.
        path: PathBuf,
        /// The rate given.
        rate: crate::time::Rational,
    },
    /// A packet whose bytes break its framing.
    #[error("packet {frame} is malformed: {source}")]
    Malformed {
        /// Frame number of the packet.
        frame: u64,
        /// What is wrong.
        #[source]
        source: BitstreamError,
    },
}

/// What a finished sink wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkSummary {
    /// The stream file.
    pub path: PathBuf,
    /// Its configuration record file, if one was written.
    pub record_path: Option<PathBuf>,
    /// Packets written.
    pub packets: u64,
    /// Bytes in the stream file.
    pub bytes: u64,
}
