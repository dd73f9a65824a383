//! The encode session: open, submit frames, receive packets, flush, close.
//!
//! # Threads and queues
//! A session runs its encoder on one worker thread. [`Session::submit`] puts the frame on a
//! bounded input queue of `queue_depth` frames and returns; the worker takes frames in order,
//! encodes them and puts packets on the output queue, which [`Session::try_receive`] and
//! [`Session::receive_timeout`] read.
//!
//! # Back-pressure
//! When the input queue is full, `submit` follows [`Backpressure`]:
//! - `Block`: it waits until the worker takes a frame. Nothing is lost; the caller slows down.
//! - `DropOldest`: the oldest frame still waiting is dropped and reported on the output queue as
//!   a [`SessionOutput::Dropped`] (its [`FrameStats`] with `dropped` set), and counted in
//!   [`SessionStats::dropped`]. The caller never waits.
//!
//! The output queue is not bounded: receive packets as they come (each is one compressed
//! frame, tens of kilobytes), or they accumulate.
//!
//! # Timestamps
//! Frames carry nanosecond timestamps, strictly increasing. The encoder sees a constant frame
//! rate clock (one tick a frame); every packet gets back the exact timestamps of its frame.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;

use crate::codec::Codec;
use crate::config::{Backpressure, ConfigError, GpuChoice, SessionConfig};
use crate::encode::{
    open_backend_with, BackendFactory, BackendReport, EncodeError, EncodedUnit, EncoderBackend,
    Feed, LiveControls, OpenedBackend, BACKENDS,
};
use crate::format::PixelFormat;
use crate::frame::{Frame, FrameImage};
use crate::gpu::{ConvertRing, GpuContext, GpuError, GpuOptions, Handoff, RingFrame, Submitted};
use crate::packet::{FrameStats, Packet, PacketFraming};
use crate::time::{Span, Timestamp};

/// What comes out of a session.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionOutput {
    /// An encoded packet.
    Packet(Packet),
    /// A frame dropped by back-pressure, never encoded.
    Dropped(FrameStats),
}

/// Running counts of a session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Frames accepted by `submit`.
    pub submitted: u64,
    /// Packets produced.
    pub packets: u64,
    /// Frames dropped by back-pressure.
    pub dropped: u64,
    /// Bytes of all packets.
    pub bytes: u64,
}

/// The largest magnitude of a frame timestamp or duration, in nanoseconds (2^62, about 146
/// years): far beyond any clock's reading, and small enough that differences and sums of two of
/// them never overflow.
pub const MAX_TIMESTAMP: i64 = 1 << 62;

/// Why a session call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The encoder failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The GPU failed (or a required GPU is missing).
    #[error(transparent)]
    Gpu(#[from] GpuError),
    /// A frame of another size than the session's.
    #[error("frame is {got_width}x{got_height}, but the session encodes {width}x{height} (scaling arrives with the GPU path; resize the input)")]
    FrameSize {
        /// Session width.
        width: u32,
        /// Session height.
        height: u32,
        /// Frame width.
        got_width: u32,
        /// Frame height.
        got_height: u32,
    },
    /// A frame of another format than the session was opened for.
    #[error("frame is {got}, but the session was opened for {expected} input (set SessionConfig::input_format)")]
    FrameFormat {
        /// The session's input format.
        expected: PixelFormat,
        /// The frame's.
        got: PixelFormat,
    },
    /// A timestamp not after the previous frame's.
    #[error("frame timestamp {got} ns is not after the previous frame's {previous} ns (timestamps must increase)")]
    NonMonotonicPts {
        /// The previous frame's timestamp.
        previous: i64,
        /// This frame's.
        got: i64,
    },
    /// A timestamp or duration so far from zero that arithmetic on it could overflow.
    #[error("frame {what} {got} ns is out of range: timestamps and durations are at most ±{max} ns (about 146 years) from the clock's zero; give CLOCK_MONOTONIC or stream time")]
    TimestampRange {
        /// "timestamp" or "duration".
        what: &'static str,
        /// The value given.
        got: i64,
        /// The bound.
        max: i64,
    },
    /// A GPU frame given to a session that does not process frames on a GPU.
    #[error("a GPU frame was submitted, but {reason}")]
    GpuFrameRejected {
        /// Why the session cannot take it, and the fix.
        reason: String,
    },
    /// `submit` after `flush`.
    #[error("the session was flushed: no more frames can be submitted (open a new session)")]
    Flushed,
    /// A call after `close`.
    #[error("the session is closed")]
    Closed,
    /// The worker thread died (a panic inside the encoder).
    #[error("the encoder thread stopped unexpectedly: {0}")]
    WorkerFailed(String),
}

// `Finish` is queued once a session; boxing every frame to shrink it would cost an allocation
// per frame.
#[allow(clippy::large_enum_variant)]
enum Job {
    Frame(Frame, FrameStats),
    Control(Control),
    Finish,
}

/// A live control, applied between the frames it was queued between.
enum Control {
    Keyframe,
    /// The timestamp of the picture a client lost.
    Invalidate(Timestamp),
    Reconfigure(Box<SessionConfig>),
}

#[derive(Default)]
struct State {
    input: VecDeque<Job>,
    /// Frames among `input` (controls do not count against the queue depth).
    queued_frames: usize,
    output: VecDeque<SessionOutput>,
    error: Option<SessionError>,
    finished: bool,
    worker_done: bool,
    closing: bool,
    stats: SessionStats,
}

struct Shared {
    state: Mutex<State>,
    input_changed: Condvar,
    output_changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked while holding it; the state is
        // plain data that stays consistent between statements, so keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Open,
    Flushed,
    Closed,
}

/// An encode session. See the module documentation for threads, queues and back-pressure.
pub struct Session {
    config: SessionConfig,
    report: BackendReport,
    controls: LiveControls,
    processing: String,
    gpu: Option<Arc<GpuContext>>,
    /// Opened on the caller's context ([`Session::open_on`]): the one case that takes
    /// [`crate::gpu::GpuFrame`]s.
    on_context: bool,
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
    next_frame_number: u64,
    last_pts: Option<i64>,
    phase: Phase,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("config", &self.config)
            .field("report", &self.report)
            .finish()
    }
}

impl Session {
    /// Validates `config` and opens the backend it asks for, on a Vulkan device of its own
    /// when `config.gpu` asks for one and the input is RGB.
    pub fn open(config: SessionConfig) -> Result<Self, SessionError> {
        Self::open_with(config, None, BACKENDS)
    }

    /// As [`Session::open`], processing frames on `ctx`: an embedding application's device
    /// ([`GpuContext::from_host`]) or one shared between sessions. The only way to open a session
    /// that takes [`crate::gpu::GpuFrame`]s, since their images must belong to the session's
    /// device. `config.gpu` stays [`GpuChoice::Auto`] (the context is the choice).
    pub fn open_on(config: SessionConfig, ctx: Arc<GpuContext>) -> Result<Self, SessionError> {
        Self::open_with(config, Some(ctx), BACKENDS)
    }

    /// As [`Session::open`] (or [`Session::open_on`] when `ctx` is given), choosing the backend
    /// among `backends` instead of [`BACKENDS`]: for an encoder of the caller's own, or a test
    /// double. The flow is one way: the GPU context, then the backend opened for it, then the
    /// GPU ring built for what the backend answered it takes ([`crate::encode::InputPlan`]).
    pub fn open_with(
        config: SessionConfig,
        ctx: Option<Arc<GpuContext>>,
        backends: &[&dyn BackendFactory],
    ) -> Result<Self, SessionError> {
        config.validate()?;
        let on_context = ctx.is_some();
        if on_context && config.gpu != GpuChoice::Auto {
            return Err(ConfigError::Conflict {
                field: "gpu",
                value: gpu_choice_name(&config.gpu).into(),
                reason: "a session opened on a context processes frames on it; leave gpu at auto"
                    .into(),
            }
            .into());
        }
        let (opened, report, plan) = open_processing(&config, ctx, backends)?;
        Ok(Self::start(
            config,
            opened.backend,
            report,
            plan,
            on_context,
        ))
    }

    /// Opens a session on a backend the caller built (another encoder, or a test double).
    /// Frames go to it as they are submitted, with no processing. A backend that reads its
    /// frames from Vulkan memory ([`EncoderBackend::take_gpu_handoff`]) is opened through its
    /// factory with [`Session::open_with`] instead.
    pub fn with_backend(
        config: SessionConfig,
        mut backend: Box<dyn EncoderBackend>,
    ) -> Result<Self, SessionError> {
        config.validate()?;
        if backend.take_gpu_handoff().is_some() {
            return Err(SessionError::GpuFrameRejected {
                reason: "the backend offers a Vulkan hand-off, but a caller-built backend is fed frames as submitted; open it through a BackendFactory with Session::open_with on the context the hand-off was made on".into(),
            });
        }
        let report = BackendReport {
            chosen: backend.kind(),
            description: backend.describe(),
            passed_over: Vec::new(),
        };
        let plan = Plan {
            ring: None,
            description: "none".into(),
            gpu: None,
        };
        Ok(Self::start(config, backend, report, plan, false))
    }

    fn start(
        config: SessionConfig,
        backend: Box<dyn EncoderBackend>,
        report: BackendReport,
        plan: Plan,
        on_context: bool,
    ) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            input_changed: Condvar::new(),
            output_changed: Condvar::new(),
        });
        let worker_shared = Arc::clone(&shared);
        let worker_config = config.clone();
        let controls = backend.controls();
        let ring = plan.ring;
        let worker = std::thread::Builder::new()
            .name("ghoststream-encode".into())
            .spawn(move || run_worker(worker_shared, backend, worker_config, ring))
            .ok();
        if worker.is_none() {
            let mut st = shared.lock();
            st.error = Some(SessionError::WorkerFailed(
                "could not start the encoder thread".into(),
            ));
            st.worker_done = true;
        }
        tracing::info!(
            backend = %report.description,
            processing = %plan.description,
            codec = %config.codec,
            "session open"
        );
        Self {
            config,
            report,
            controls,
            processing: plan.description,
            gpu: plan.gpu,
            on_context,
            shared,
            worker,
            next_frame_number: 0,
            last_pts: None,
            phase: Phase::Open,
        }
    }

    /// The session's configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The backend chosen and the ones passed over, with reasons.
    pub fn backend_report(&self) -> &BackendReport {
        &self.report
    }

    /// How frames are processed before the encoder ("GPU: ... converts bgra8 to nv12", "CPU:
    /// ...", or "none").
    pub fn processing_description(&self) -> &str {
        &self.processing
    }

    /// The Vulkan context the session processes frames on, if any (to read its validation
    /// messages, or share it).
    pub fn gpu_context(&self) -> Option<&Arc<GpuContext>> {
        self.gpu.as_ref()
    }

    /// Running counts.
    pub fn stats(&self) -> SessionStats {
        self.shared.lock().stats
    }

    /// Queues a frame for encoding. Follows the back-pressure policy when the queue is full.
    pub fn submit(&mut self, frame: Frame) -> Result<(), SessionError> {
        match self.phase {
            Phase::Open => {}
            Phase::Flushed => return Err(SessionError::Flushed),
            Phase::Closed => return Err(SessionError::Closed),
        }
        let (w, h) = (frame.image.width(), frame.image.height());
        let (want_w, want_h) = self
            .config
            .processing
            .input_size
            .unwrap_or((self.config.width, self.config.height));
        if (w, h) != (want_w, want_h) {
            return Err(SessionError::FrameSize {
                width: want_w,
                height: want_h,
                got_width: w,
                got_height: h,
            });
        }
        match &frame.image {
            FrameImage::Gpu(_) => self.check_gpu_frames_accepted()?,
            // A DMA-BUF is imported into whichever device the session runs its ring on.
            FrameImage::DmaBuf(_) if self.gpu.is_none() => {
                return Err(SessionError::GpuFrameRejected {
                    reason: format!(
                        "a DMA-BUF frame needs the GPU path, and the session's GPU choice is {} (or its input is YUV); open it with the GPU required (--gpu require) for RGB input",
                        gpu_choice_name(&self.config.gpu)
                    ),
                })
            }
            _ => {}
        }
        if frame.image.format() != self.config.input_format {
            return Err(SessionError::FrameFormat {
                expected: self.config.input_format,
                got: frame.image.format(),
            });
        }
        // Bounded timestamps keep every difference, sum and rescale downstream (muxers, IVF,
        // statistics) inside i64.
        let duration = frame.duration.map(Span::as_nanos);
        for (what, value, lowest) in [
            ("timestamp", Some(frame.pts.as_nanos()), -MAX_TIMESTAMP),
            ("duration", duration, 1),
        ] {
            if let Some(got) = value.filter(|v| !(lowest..=MAX_TIMESTAMP).contains(v)) {
                return Err(SessionError::TimestampRange {
                    what,
                    got,
                    max: MAX_TIMESTAMP,
                });
            }
        }
        if let Some(prev) = self.last_pts {
            if frame.pts.as_nanos() <= prev {
                return Err(SessionError::NonMonotonicPts {
                    previous: prev,
                    got: frame.pts.as_nanos(),
                });
            }
        }
        let stats = FrameStats {
            frame_number: self.next_frame_number,
            pts: frame.pts,
            duration: frame
                .duration
                .unwrap_or(Span::from_nanos(self.config.frame_duration_nanos())),
            capture_time: frame.capture_time,
            arrival_time: frame.arrival_time,
            submit_time: Timestamp::now(),
            cpu_copy_bytes: frame.capture_copy_bytes,
            ..FrameStats::default()
        };
        let depth = self.config.queue_depth as usize;
        let mut st = self.shared.lock();
        loop {
            if let Some(e) = &st.error {
                return Err(e.clone());
            }
            if st.queued_frames < depth {
                break;
            }
            match self.config.backpressure {
                Backpressure::Block => {
                    st = self
                        .shared
                        .input_changed
                        .wait(st)
                        .unwrap_or_else(|e| e.into_inner());
                }
                Backpressure::DropOldest => {
                    // The oldest frame goes; controls queued around it stay.
                    let oldest = st.input.iter().position(|j| matches!(j, Job::Frame(..)));
                    if let Some(Job::Frame(_, mut dropped)) =
                        oldest.and_then(|i| st.input.remove(i))
                    {
                        st.queued_frames -= 1;
                        dropped.dropped = true;
                        st.stats.dropped += 1;
                        tracing::debug!(
                            frame = dropped.frame_number,
                            "frame dropped by back-pressure"
                        );
                        st.output.push_back(SessionOutput::Dropped(dropped));
                        self.shared.output_changed.notify_all();
                    }
                }
            }
        }
        st.input.push_back(Job::Frame(frame, stats));
        st.queued_frames += 1;
        st.stats.submitted += 1;
        drop(st);
        self.shared.input_changed.notify_all();
        self.next_frame_number += 1;
        self.last_pts = Some(stats.pts.as_nanos());
        Ok(())
    }

    /// The live controls the session's backend honours.
    pub fn controls(&self) -> LiveControls {
        self.controls
    }

    /// Makes the next frame submitted after this call a keyframe (IDR with parameter sets):
    /// for a viewer that joined, or a decoder that must restart. Fails with
    /// [`EncodeError::Unsupported`] when the backend cannot (see [`Session::controls`]).
    pub fn request_keyframe(&mut self) -> Result<(), SessionError> {
        self.control(
            self.controls.force_keyframe,
            "forced keyframes",
            Control::Keyframe,
        )
    }

    /// A streaming client lost the packet of the frame with timestamp `lost`: the encoder stops
    /// referencing that picture and what came after it, so the client recovers with no
    /// keyframe. Applied before the next frame submitted after this call; a timestamp the
    /// session no longer remembers (more than 512 frames back) is ignored with a warning.
    pub fn invalidate(&mut self, lost: Timestamp) -> Result<(), SessionError> {
        let invalidate = self.controls.invalidate;
        self.control(
            invalidate,
            "reference invalidation",
            Control::Invalidate(lost),
        )
    }

    /// Changes the bitrate (and VBV) and frame rate of the running stream, with no new keyframe
    /// and no new session, from the next frame submitted after this call. The values are
    /// checked as [`SessionConfig::validate`] checks them.
    pub fn reconfigure(
        &mut self,
        rate_control: crate::config::RateControl,
        vbv_buffer_bits: Option<u64>,
        frame_rate: crate::time::Rational,
    ) -> Result<(), SessionError> {
        let mut next = self.config.clone();
        next.rate_control = rate_control;
        next.vbv_buffer_bits = vbv_buffer_bits;
        next.frame_rate = frame_rate;
        next.validate()?;
        let change = Control::Reconfigure(Box::new(next.clone()));
        self.control(self.controls.reconfigure, "a live rate change", change)?;
        self.config = next;
        Ok(())
    }

    /// Queues a live control for the worker, behind the frames already submitted.
    fn control(
        &mut self,
        honoured: bool,
        what: &str,
        control: Control,
    ) -> Result<(), SessionError> {
        match self.phase {
            Phase::Open => {}
            Phase::Flushed => return Err(SessionError::Flushed),
            Phase::Closed => return Err(SessionError::Closed),
        }
        if !honoured {
            return Err(SessionError::Encode(EncodeError::Unsupported {
                encoder: self.report.description.clone(),
                what: what.into(),
                fix: "use a backend that has it (NVENC has every live control; the software encoders force keyframes) or open a new session".into(),
            }));
        }
        let mut st = self.shared.lock();
        if let Some(e) = &st.error {
            return Err(e.clone());
        }
        st.input.push_back(Job::Control(control));
        drop(st);
        self.shared.input_changed.notify_all();
        Ok(())
    }

    /// GPU frames need the session's GPU ring on the device their images belong to, which only
    /// a session opened on that context ([`Session::open_on`]) has.
    fn check_gpu_frames_accepted(&self) -> Result<(), SessionError> {
        let reason = match (self.on_context, &self.gpu) {
            (true, Some(_)) => return Ok(()),
            (true, None) => {
                "the session has no GPU ring (YUV input); open it for RGB input".into()
            }
            (false, _) => format!(
                "the session's GPU choice is {}; open it with Session::open_on on the context that owns the frame's image",
                gpu_choice_name(&self.config.gpu)
            ),
        };
        Err(SessionError::GpuFrameRejected { reason })
    }

    /// The next output if one is ready.
    pub fn try_receive(&mut self) -> Result<Option<SessionOutput>, SessionError> {
        self.receive_timeout(Duration::ZERO)
    }

    /// The next output, waiting up to `timeout` for one. `Ok(None)` when none came in time, or
    /// when the session was flushed and everything has been received.
    pub fn receive_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<SessionOutput>, SessionError> {
        if self.phase == Phase::Closed {
            return Err(SessionError::Closed);
        }
        let deadline = std::time::Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            if let Some(out) = st.output.pop_front() {
                return Ok(Some(out));
            }
            if let Some(e) = &st.error {
                return Err(e.clone());
            }
            if st.finished || st.worker_done {
                return Ok(None);
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            st = self
                .shared
                .output_changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Ends the input, waits for the encoder to drain, and returns every remaining output.
    /// After this, `submit` fails with [`SessionError::Flushed`].
    pub fn flush(&mut self) -> Result<Vec<SessionOutput>, SessionError> {
        match self.phase {
            Phase::Closed => return Err(SessionError::Closed),
            Phase::Flushed => {}
            Phase::Open => {
                self.shared.lock().input.push_back(Job::Finish);
                self.shared.input_changed.notify_all();
                self.phase = Phase::Flushed;
            }
        }
        let mut out = Vec::new();
        let mut st = self.shared.lock();
        loop {
            out.extend(st.output.drain(..));
            if let Some(e) = &st.error {
                return Err(e.clone());
            }
            if st.finished || st.worker_done {
                out.extend(st.output.drain(..));
                return Ok(out);
            }
            st = self
                .shared
                .output_changed
                .wait(st)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Flushes (if not yet flushed), stops the worker and returns the remaining outputs. Every
    /// later call fails with [`SessionError::Closed`].
    pub fn close(&mut self) -> Result<Vec<SessionOutput>, SessionError> {
        if self.phase == Phase::Closed {
            return Err(SessionError::Closed);
        }
        let result = self.flush();
        self.stop_worker();
        self.phase = Phase::Closed;
        let joined = self.shared.lock().error.clone();
        match (result, joined) {
            (Err(e), _) | (Ok(_), Some(e)) => Err(e),
            (Ok(out), None) => Ok(out),
        }
    }

    fn stop_worker(&mut self) {
        self.shared.lock().closing = true;
        self.shared.input_changed.notify_all();
        if let Some(handle) = self.worker.take() {
            if handle.join().is_err() {
                let mut st = self.shared.lock();
                st.error
                    .get_or_insert(SessionError::WorkerFailed("the encoder panicked".into()));
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop_worker();
    }
}

/// Frames in flight on the GPU between conversion and the encoder.
const GPU_FRAMES_IN_FLIGHT: usize = 3;

/// How a session's frames reach the encoder.
struct Plan {
    ring: Option<ConvertRing<FrameStats>>,
    description: String,
    gpu: Option<Arc<GpuContext>>,
}

/// `Off`, `Auto` or `Require`, for messages.
fn gpu_choice_name(choice: &GpuChoice) -> &'static str {
    match choice {
        GpuChoice::Off => "Off",
        GpuChoice::Auto => "Auto",
        GpuChoice::Require(_) => "Require",
    }
}

/// Where RGB input is converted: on a Vulkan context (the caller's `ctx`, or one the session
/// creates; `GpuChoice::Auto` falls back to the CPU when there is none, or only a CPU-emulated
/// one for a plain conversion; `Require` and a processing chain fail), or by the backend's CPU
/// converter. Then the backend is opened for
/// that, and the GPU ring built for what it answers it takes.
fn open_processing(
    config: &SessionConfig,
    ctx: Option<Arc<GpuContext>>,
    backends: &[&dyn BackendFactory],
) -> Result<(OpenedBackend, BackendReport, Plan), SessionError> {
    let input = config.input_format;
    let on_cpu = |description: String| -> Result<_, SessionError> {
        let (opened, report) = open_backend_with(backends, config, Feed::Cpu(input))?;
        if opened.input.handoff.is_some() {
            return Err(SessionError::GpuFrameRejected {
                reason: "the backend offers a Vulkan hand-off, but the session processes no frames on a GPU (YUV input, or the GPU is off)".into(),
            });
        }
        let plan = Plan {
            ring: None,
            description,
            gpu: None,
        };
        Ok((opened, report, plan))
    };
    if !input.is_rgb() && !config.processing.is_active() {
        return on_cpu("none: YUV frames go to the encoder as they are".into());
    }
    // Operations beyond the conversion, and float input, exist only on the GPU.
    let required = ctx.is_some()
        || matches!(config.gpu, GpuChoice::Require(_))
        || config.processing.is_active()
        || input == PixelFormat::Rgba16f;
    let fallback = |e: GpuError| {
        if required {
            return Err(SessionError::Gpu(e));
        }
        tracing::info!(reason = %e, "no GPU for RGB conversion; converting on the CPU");
        on_cpu(format!("CPU: libswscale converts RGB to YUV (no GPU: {e})"))
    };
    let ctx = match (ctx, &config.gpu) {
        (Some(ctx), _) => ctx,
        (None, GpuChoice::Off) => {
            return on_cpu("CPU: libswscale converts RGB to YUV (GPU off)".into())
        }
        // The conversion alone is cheaper on the CPU than on a CPU-emulated Vulkan device, so
        // Auto takes one (lavapipe) only for work that exists only on the GPU.
        (None, GpuChoice::Auto) if !required => {
            match GpuContext::new_skipping_cpu_devices(&GpuOptions::default()) {
                Ok(ctx) => ctx,
                Err(e) => return fallback(e),
            }
        }
        (None, GpuChoice::Auto) => match GpuContext::new(&GpuOptions::default()) {
            Ok(ctx) => ctx,
            Err(e) => return fallback(e),
        },
        (None, GpuChoice::Require(options)) => GpuContext::new(options)?,
    };
    let (opened, report) = open_backend_with(backends, config, Feed::Gpu(&ctx))?;
    let output = opened.input.format;
    let spec = config.process_spec(output)?;
    let handoff = opened.input.handoff.clone();
    let handed = handoff.as_ref().map(|h| match h {
        Handoff::Buffers(b) => format!(
            "handed to the encoder in place through {} buffers (no copy)",
            b.buffers.len()
        ),
        Handoff::Images(i) => format!(
            "written straight into the encoder's {} input images (no hand-off)",
            i.images.len()
        ),
    });
    let ring = match handoff {
        Some(h) => ConvertRing::for_handoff(&ctx, input, &spec, h, GPU_FRAMES_IN_FLIGHT),
        None => ConvertRing::new(&ctx, input, &spec, GPU_FRAMES_IN_FLIGHT),
    };
    let ring = match ring {
        Ok(ring) => ring,
        Err(e) => {
            // The backend was opened for the GPU's output; the CPU path opens it anew.
            drop(opened);
            return fallback(e);
        }
    };
    let mut description = format!(
        "GPU: {} {} {input} to {output}{}",
        ctx.device_info().name,
        if spec.is_convert_only() {
            "converts"
        } else {
            "processes"
        },
        describe_ops(&spec)
    );
    if let Some(handed) = handed {
        description.push_str("; ");
        description.push_str(&handed);
    }
    let plan = Plan {
        ring: Some(ring),
        description,
        gpu: Some(ctx),
    };
    Ok((opened, report, plan))
}

/// The operations of a processing chain beyond the conversion, for the session's description.
fn describe_ops(spec: &crate::processing::pipeline::ProcessSpec) -> String {
    let mut ops = Vec::new();
    if (spec.input_width, spec.input_height) != (spec.output_width, spec.output_height) {
        ops.push(format!(
            "scaled from {}x{} ({}, {} into {})",
            spec.input_width,
            spec.input_height,
            spec.filter,
            spec.fit,
            spec.rect()
        ));
    }
    if let Some(t) = &spec.tonemap {
        ops.push(format!("tone mapped from {} with BT.2390", t.source));
    }
    if spec.sharpen > 0.0 {
        ops.push(format!("sharpened {}", spec.sharpen));
    }
    if ops.is_empty() {
        String::new()
    } else {
        format!(": {}", ops.join(", "))
    }
}

/// Marks the worker done (and wakes every waiter) however the worker ends, panics included.
struct WorkerDone(Arc<Shared>);

impl Drop for WorkerDone {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.worker_done = true;
        if std::thread::panicking() {
            st.error
                .get_or_insert(SessionError::WorkerFailed("the encoder panicked".into()));
        }
        drop(st);
        self.0.input_changed.notify_all();
        self.0.output_changed.notify_all();
    }
}

/// Turns encoder ticks back into the frames' own timestamps.
struct Timeline {
    codec: Codec,
    frame_ns: i64,
    pending: VecDeque<(i64, FrameStats)>,
    pts_by_tick: VecDeque<(i64, i64)>,
    first_pts: Option<i64>,
    last_dts: Option<i64>,
}

impl Timeline {
    const KEEP: usize = 512;

    fn sent(&mut self, tick: i64, stats: FrameStats) {
        self.first_pts.get_or_insert(stats.pts.as_nanos());
        self.pending.push_back((tick, stats));
        self.pts_by_tick.push_back((tick, stats.pts.as_nanos()));
        if self.pts_by_tick.len() > Self::KEEP {
            self.pts_by_tick.pop_front();
        }
    }

    /// Records the GPU time of frame `frame_number`'s pass, when its packet is not out yet.
    fn gpu_time(&mut self, frame_number: u64, gpu: Option<crate::gpu::GpuTime>) {
        if let Some((_, stats)) = self
            .pending
            .iter_mut()
            .find(|(_, s)| s.frame_number == frame_number)
        {
            set_gpu_time(stats, gpu);
        }
    }

    /// The encoder tick of the frame with timestamp `pts`, if it is among the last
    /// [`Self::KEEP`].
    fn tick_of(&self, pts: Timestamp) -> Option<i64> {
        self.pts_by_tick
            .iter()
            .find(|(_, ns)| *ns == pts.as_nanos())
            .map(|(tick, _)| *tick)
    }

    fn packet(&mut self, unit: EncodedUnit) -> Option<Packet> {
        let idx = self.pending.iter().position(|(t, _)| *t == unit.pts)?;
        let (_, mut stats) = self.pending.remove(idx)?;
        stats.packet_ready_time = Some(Timestamp::now());
        if let Some(gpu) = unit.gpu_time {
            stats.encode_gpu_time = Some(Span::from_nanos(round_ns(gpu.duration_ns)));
            stats.encode_gpu_start = gpu.start;
            stats.encode_gpu_end = gpu.end;
        }
        let pts = stats.pts.as_nanos();
        let mapped = self
            .pts_by_tick
            .iter()
            .find(|(t, _)| *t == unit.dts)
            .map(|(_, ns)| *ns);
        let mut dts = mapped
            .unwrap_or_else(|| self.first_pts.unwrap_or(pts) + unit.dts * self.frame_ns)
            .min(pts);
        if let Some(last) = self.last_dts {
            if dts <= last {
                dts = last + 1;
            }
        }
        self.last_dts = Some(dts);
        Some(Packet {
            data: Bytes::from(unit.data),
            codec: self.codec,
            framing: match self.codec {
                Codec::Av1 => PacketFraming::Obu,
                Codec::H264 | Codec::Hevc => PacketFraming::AnnexB,
            },
            pts: stats.pts,
            dts: Timestamp::from_nanos(dts),
            duration: stats.duration,
            keyframe: unit.keyframe,
            frame_number: stats.frame_number,
            stats,
        })
    }
}

/// The encoder side of the worker: hands frames to the backend in order and drains packets.
struct Encoding<'a> {
    backend: Box<dyn EncoderBackend>,
    timeline: Timeline,
    tick: i64,
    shared: &'a Shared,
}

impl Encoding<'_> {
    fn encode(&mut self, frame: Frame, mut stats: FrameStats) -> Result<(), EncodeError> {
        stats.encode_start_time = Some(Timestamp::now());
        self.timeline.sent(self.tick, stats);
        let r = self.backend.encode(frame, self.tick);
        self.tick += 1;
        r.and_then(|()| drain(&mut *self.backend, &mut self.timeline, self.shared))
    }

    /// Hands the encoder a frame the GPU ring wrote into its hand-off buffer `frame`, then
    /// records the GPU time of every pass that has completed.
    fn encode_handed_off(
        &mut self,
        frame: crate::gpu::HandedOff,
        mut stats: FrameStats,
        ring: &mut ConvertRing<FrameStats>,
    ) -> Result<(), SessionError> {
        stats.encode_start_time = Some(Timestamp::now());
        self.timeline.sent(self.tick, stats);
        let r = self.backend.encode_handed_off(frame, self.tick);
        self.tick += 1;
        r?;
        self.record_gpu_times(ring)?;
        Ok(drain(&mut *self.backend, &mut self.timeline, self.shared)?)
    }

    /// Takes the GPU times of the hand-off passes that have completed.
    fn record_gpu_times(&mut self, ring: &mut ConvertRing<FrameStats>) -> Result<(), SessionError> {
        for (stats, ns) in ring.take_finished()? {
            self.timeline.gpu_time(stats.frame_number, ns);
        }
        Ok(())
    }

    /// Applies a live control at its place between frames.
    fn control(&mut self, control: Control) -> Result<(), EncodeError> {
        match control {
            Control::Keyframe => self.backend.force_keyframe(),
            Control::Invalidate(pts) => match self.timeline.tick_of(pts) {
                Some(tick) => self.backend.invalidate(tick),
                None => {
                    tracing::warn!(
                        pts = pts.as_nanos(),
                        "invalidation of a frame the session no longer remembers; ignored"
                    );
                    Ok(())
                }
            },
            Control::Reconfigure(config) => {
                self.backend.reconfigure(&config)?;
                self.timeline.frame_ns = config.frame_duration_nanos();
                Ok(())
            }
        }
    }

    fn encode_converted(
        &mut self,
        c: crate::gpu::Converted<FrameStats>,
    ) -> Result<(), EncodeError> {
        let mut stats = c.tag;
        set_gpu_time(&mut stats, c.gpu);
        stats.cpu_copy_bytes += c.cpu_bytes;
        self.encode(Frame::from_cpu(c.image, stats.pts), stats)
    }

    /// Hands the encoder every frame whose GPU pass has completed, oldest first, without
    /// waiting for the others.
    fn encode_completed(&mut self, ring: &mut ConvertRing<FrameStats>) -> Result<(), SessionError> {
        while let Some(done) = ring.try_collect()? {
            self.encode_converted(done)?;
        }
        Ok(())
    }

    /// Waits for the oldest GPU pass in flight and hands its frame to the encoder, then every
    /// other one that has completed meanwhile.
    fn encode_oldest(&mut self, ring: &mut ConvertRing<FrameStats>) -> Result<(), SessionError> {
        if let Some(done) = ring.wait_oldest()? {
            self.encode_converted(done)?;
        }
        if ring.hands_off() {
            self.record_gpu_times(ring)
        } else {
            self.encode_completed(ring)
        }
    }
}

fn run_worker(
    shared: Arc<Shared>,
    backend: Box<dyn EncoderBackend>,
    config: SessionConfig,
    mut ring: Option<ConvertRing<FrameStats>>,
) {
    let _done = WorkerDone(Arc::clone(&shared));
    let wait_ns = u64::from(config.frame_wait_timeout_ms) * 1_000_000;
    let timeline = Timeline {
        codec: config.codec,
        frame_ns: config.frame_duration_nanos(),
        pending: VecDeque::new(),
        pts_by_tick: VecDeque::new(),
        first_pts: None,
        last_dts: None,
    };
    let mut enc = Encoding {
        backend,
        timeline,
        tick: 0,
        shared: &shared,
    };
    loop {
        // A read-back ring's frame goes to the encoder as soon as its pass is done: with no
        // next frame queued, the worker waits for the oldest pass in flight rather than for
        // more frames. Frames queued behind each other are still submitted before the older
        // ones complete (several in flight), and each completed one is taken after every
        // submit.
        let awaiting_gpu = |ring: &Option<ConvertRing<FrameStats>>| {
            ring.as_ref()
                .is_some_and(|r| !r.hands_off() && r.in_flight() > 0)
        };
        let job = {
            let mut st = shared.lock();
            loop {
                if let Some(job) = st.input.pop_front() {
                    if matches!(job, Job::Frame(..)) {
                        st.queued_frames -= 1;
                    }
                    break Some(job);
                }
                if awaiting_gpu(&ring) {
                    break None;
                }
                if st.closing {
                    return;
                }
                st = shared
                    .input_changed
                    .wait(st)
                    .unwrap_or_else(|e| e.into_inner());
            }
        };
        let Some(job) = job else {
            if let Some(r) = ring.as_mut() {
                if let Err(e) = enc.encode_oldest(r) {
                    tracing::error!(error = %e, "encoder failed");
                    shared.lock().error = Some(e);
                    return;
                }
            }
            continue;
        };
        shared.input_changed.notify_all();
        let result: Result<(), SessionError> = match (job, ring.as_mut()) {
            (Job::Frame(frame, mut stats), Some(r)) => {
                let input = match &frame.image {
                    FrameImage::Cpu(image) => RingFrame::Cpu(image),
                    FrameImage::Gpu(frame) => RingFrame::Gpu {
                        frame,
                        wait_timeout_ns: wait_ns,
                    },
                    FrameImage::DmaBuf(frame) => RingFrame::DmaBuf(frame),
                };
                match r.submit(input, stats) {
                    Ok(Submitted::Pending) => enc.encode_completed(r),
                    Ok(Submitted::Converted(done)) => enc
                        .encode_converted(done)
                        .map_err(SessionError::from)
                        .and_then(|()| enc.encode_completed(r)),
                    Ok(Submitted::HandedOff(h)) => {
                        stats.cpu_copy_bytes += r.last_upload_bytes();
                        enc.encode_handed_off(h, stats, r)
                    }
                    Err(e) => Err(e.into()),
                }
            }
            (Job::Frame(frame, stats), None) => {
                enc.encode(frame, stats).map_err(SessionError::from)
            }
            (Job::Control(control), r) => (|| -> Result<(), SessionError> {
                // The frames submitted before the control reach the encoder before it.
                if let Some(r) = r.filter(|r| !r.hands_off()) {
                    while r.in_flight() > 0 {
                        enc.encode_oldest(r)?;
                    }
                }
                Ok(enc.control(control)?)
            })(),
            (Job::Finish, r) => (|| -> Result<(), SessionError> {
                if let Some(r) = r {
                    for done in r.flush()? {
                        enc.encode_converted(done)?;
                    }
                    if r.hands_off() {
                        enc.record_gpu_times(r)?;
                    }
                }
                enc.backend.finish()?;
                drain(&mut *enc.backend, &mut enc.timeline, &shared)?;
                shared.lock().finished = true;
                shared.output_changed.notify_all();
                Ok(())
            })(),
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "encoder failed");
            shared.lock().error = Some(e);
            return;
        }
    }
}

fn drain(
    backend: &mut dyn EncoderBackend,
    timeline: &mut Timeline,
    shared: &Shared,
) -> Result<(), EncodeError> {
    while let Some(unit) = backend.receive()? {
        let Some(packet) = timeline.packet(unit) else {
            tracing::warn!("encoder returned a packet for a frame it was never given; dropped");
            continue;
        };
        let mut st = shared.lock();
        st.stats.packets += 1;
        st.stats.bytes += packet.data.len() as u64;
        st.output.push_back(SessionOutput::Packet(packet));
        drop(st);
        shared.output_changed.notify_all();
    }
    Ok(())
}

/// Puts a GPU pass's duration and, where the device maps its clock, its start and end into a
/// frame's statistics.
fn set_gpu_time(stats: &mut FrameStats, gpu: Option<crate::gpu::GpuTime>) {
    stats.gpu_time = gpu.map(|g| Span::from_nanos(round_ns(g.duration_ns)));
    stats.gpu_start = gpu.and_then(|g| g.start);
    stats.gpu_end = gpu.and_then(|g| g.end);
}

/// A GPU duration in nanoseconds (an `f64` from timestamp queries), rounded.
#[expect(
    clippy::cast_possible_truncation,
    reason = "a pass's GPU time (milliseconds) is far inside i64 ns; `as` saturates"
)]
fn round_ns(ns: f64) -> i64 {
    ns.round() as i64
}
