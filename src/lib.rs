//! GhostStream: a GPU video engine for Linux.
//!
//! Frames come in (from screen capture, a file, or an application's Vulkan images), are
//! processed on the GPU, and are encoded into packets that go to files, a replay buffer or the
//! network, with the least latency and no needless copies.
//!
//! The crate, layer by layer (imports point down only; docs/DESIGN.md has the picture and the
//! rule each layer obeys, and `tests/module_cycles.rs` fails on any import cycle):
//!
//! - **Core types**, no I/O and no `unsafe`: [`SessionConfig`] and its parts, [`PixelFormat`],
//!   [`Codec`], colour and HDR descriptions ([`hdr`]), time ([`Timestamp`], [`Rational`]),
//!   [`Frame`] (CPU images, and [`gpu::GpuFrame`]s as plain data), [`Packet`], [`units`] (values as
//!   people type them), [`bitstream`] (NAL/OBU walkers and configuration records) and
//!   [`processing`] (each GPU operation's parameters and its float64 reference).
//! - **Devices**, the thin `unsafe` layers with safe types on top: [`gpu`] (Vulkan through
//!   `ash`: the fused processing pass, exportable memory, DMA-BUF import, embedding in an
//!   application's device), [`cuda`] (memory and timelines imported from Vulkan), FFmpeg
//!   (private; its error is [`FfmpegError`]).
//! - **Sources and outputs**: [`source`] (test pattern, Y4M, raw frames, and screen capture in
//!   [`capture`]: wlroots screencopy, PipeWire, the desktop portal); [`output`] (raw bitstream
//!   files, crash-safe containers, RTMP/SRT streaming, the replay buffer).
//! - **Encoders**: [`encode`] (the backend trait and choice; the software encoders; NVENC in
//!   [`encode::nvenc`], built to NVIDIA's specification: no reachable GPU has an encoder
//!   engine, so it has run up to the session open).
//! - **The engine**: [`Session`] (open on a configuration, submit frames, receive packets), with
//!   [`stats`] and the [`control`] socket; `bench` (feature `bench`) measures encode paths and
//!   GPU passes side by side for `ghoststream bench`.
//!
//! Every layer has its own error enum; [`Error`] wraps them all, and [`ErrorCode`] gives each
//! the stable number the C ABI returns.
//!
//! ```no_run
//! use ghoststream::output::{open_sink, BitstreamFormat};
//! use ghoststream::source::{FrameSource, TestPattern};
//! use ghoststream::{Codec, Rational, Session, SessionConfig, SessionOutput};
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

#[cfg(feature = "bench")]
pub mod bench;
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
mod ffmpeg;
mod format;
mod frame;
pub mod gpu;
pub mod hdr;
pub mod output;
mod packet;
pub mod probe;
pub mod processing;
// The recorder's live streams are FFmpeg muxers.
#[cfg(feature = "software")]
pub mod recorder;
pub mod report;
mod session;
pub mod source;
pub mod stats;
mod time;
pub mod units;

pub use codec::{Codec, CodecLimits};
pub use color::{ColorDescription, ColorMatrix, ColorPrimaries, ColorRange, TransferFunction};
pub use config::{
    quality_range, BackendChoice, BackendKind, Backpressure, BitDepth, ConfigError, GpuChoice,
    KeyframeEvery, KeyframeInterval, Preset, Processing, RateControl, RateControlMode,
    SessionConfig, SplitFrame, ToneMapInput, Tuning, MAX_BITRATE, MAX_FRAME_RATE,
    MAX_KEYFRAME_INTERVAL, MAX_QUEUE_DEPTH, MIN_BITRATE, MIN_FRAME_RATE,
};
pub use error::{Error, ErrorCode};
#[cfg(feature = "software")]
pub use ffmpeg::FfmpegError;
pub use format::{
    ChromaSubsampling, PixelFormat, PlaneGeometry, SizeError, MAX_DIMENSION, MAX_FRAME_SAMPLES,
};
pub use frame::{
    BufferPool, CpuImage, DmaBufFrame, DmaBufKey, DmaBufLayout, Frame, FrameBuffer, FrameImage,
    ImageError, Lease, PlaneLayout, PointerOverlay, BUFFER_PADDING,
};
pub use packet::{FrameStats, Packet, PacketFraming};
pub use session::{Session, SessionError, SessionOutput, SessionStats, MAX_TIMESTAMP};
pub use time::{Rational, Span, Timestamp, NANOS_PER_SECOND};

/// The README's examples, compiled as doctests so that they stay true to the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
