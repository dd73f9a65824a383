//! Where encoded packets go: raw bitstream files, crash-safe containers, live network streams
//! and the in-memory replay buffer, with the rules that protect the paths they write.
//!
//! - [`format`](OutputFormat): the file formats and what each carries;
//! - [`BitstreamSink`] (`raw`): Annex-B, length-prefixed, OBU and IVF files;
//! - [`ContainerSink`] (`container`, feature `software`): Matroska, MP4, MPEG-TS through FFmpeg;
//! - [`FileSink`] (`file`): either kind, staged until its first packet;
//! - [`live`] (feature `software`): RTMP and SRT streaming;
//! - [`replay`]: the replay buffer and its saver;
//! - [`path`]: standard output, streams, and the same-file refusal.
//!
//! Outputs take [`Packet`](crate::Packet)s; they never reach back into the session or the
//! encoders.

#[cfg(feature = "software")]
mod container;
mod error;
mod file;
mod format;
#[cfg(feature = "software")]
pub mod live;
#[cfg(feature = "software")]
mod muxed;
pub mod path;
mod raw;
pub mod replay;

#[cfg(feature = "software")]
pub use container::{open_container, ContainerSink};
pub use error::{SinkError, SinkSummary};
pub use file::{open_file_sink, FileSink};
pub use format::{BitstreamFormat, ContainerFormat, ContainerOptions, OutputFormat};
pub use raw::{configuration_record, open_sink, BitstreamSink};
