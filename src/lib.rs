//! GhostStream: a GPU video engine for Linux.
//!
//! Frames come in (from a capture source, a file, or an application), are processed, and are
//! encoded into packets that go to files, a replay buffer or the network, with the least
//! latency and no needless copies.
//!
//! This release has the foundation every path builds on: the [`Session`] API, the software
//! encoders (SVT-AV1, x265, x264 through libavcodec), outputs ([`output`]: raw bitstreams, containers, live streams, the replay buffer), and the
//! sources in [`source`]; the Vulkan compute engine ([`gpu`]: conversion, scaling, tone mapping,
//! sharpening, GPU frames, exportable memory, DMA-BUF import); and NVENC: the CUDA side of the
//! zero-copy hand-off ([`cuda`]) and the run-time-loaded NVENC encoder ([`encode::nvenc`], built to
//! NVIDIA's specification; no reachable GPU has an encoder engine, so it has run only up to the
//! session open). Capture slots in behind the same types.
//!
//! ```no_run
//! use ghoststream::{Codec, Rational, Session, SessionConfig, SessionOutput};
//! use ghoststream::source::{FrameSource, TestPattern};
//! use ghoststream::output::{open_sink, BitstreamFormat};
//!
//! let fps = Rational::new(30, 1);
//! let config = SessionConfig::new(Codec::Av1, 1280, 720, fps);
//! let mut source = TestPattern::new(config.input_format, 1280, 720, fps, Some(90))?;
//! let mut session = Session::open(config.clone())?;
//! let mut sink = open_sink("out.ivf".as_ref(), BitstreamFormat::Ivf, &config)?;
//! while let Some(frame) = source.next_frame()? {
//!     session.submit(frame)?;
//!     while let Some(out) = session.try_receive()? {
//!         if let SessionOutput::Packet(p) = out { sink.write(&p)?; }
//!     }
//! }
//! for out in session.close()? {
//!     if let SessionOutput::Packet(p) = out { sink.write(&p)?; }
//! }
//! sink.finish()?;
//! # Ok::<(), ghoststream::Error>(())
//! ```

#![deny(
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    missing_docs
)]

pub mod bitstream;
/// Screen capture; a kind of source ([`source::capture`]), re-exported here by its own name.
pub use source::capture;
mod codec;
mod color;
mod config;
pub mod control;
pub mod cuda;
pub mod encode;
mod error;
#[cfg(feature = "software")]
pub mod ffmpeg;
mod format;
mod frame;
pub mod gpu;
pub mod hdr;
pub mod output;
mod packet;
pub mod probe;
pub mod processing;
mod session;
pub mod source;
pub mod stats;
mod time;
pub mod units;

pub use codec::{Codec, CodecLimits};
pub use color::{ColorDescription, ColorMatrix, ColorPrimaries, ColorRange, TransferFunction};
pub use config::{
    BackendChoice, BackendKind, Backpressure, BitDepth, ConfigError, GpuChoice, KeyframeInterval,
    Preset, Processing, RateControl, RateControlMode, SessionConfig, SplitFrame, ToneMapInput,
    Tuning, MAX_BITRATE, MAX_FRAME_RATE, MAX_KEYFRAME_INTERVAL, MAX_QUEUE_DEPTH, MIN_BITRATE,
    MIN_FRAME_RATE,
};
pub use error::{Error, ErrorCode};
pub use format::{
    ChromaSubsampling, PixelFormat, PlaneGeometry, SizeError, MAX_DIMENSION, MAX_FRAME_SAMPLES,
};
pub use frame::{
    BufferPool, CpuImage, Frame, FrameBuffer, FrameImage, ImageError, PlaneLayout, BUFFER_PADDING,
};
pub use packet::{FrameStats, Packet, PacketFraming};
pub use session::{Session, SessionError, SessionOutput, SessionStats, MAX_TIMESTAMP};
pub use time::{Rational, Span, Timestamp, NANOS_PER_SECOND};
