//! The engine's main job in one object: a [`Recorder`] takes frames from any source, encodes
//! them and feeds any set of outputs at once, with controls callable from any thread and
//! events the host polls.
//!
//! - **Options** ([`RecorderOptions`]): a [`SourceSpec`] (`screen`, `testsrc`,
//!   `wayland:DP-1`, `pipewire:42`, `portal`, a file, `-`) with its [`SourceOptions`]; the
//!   session's settings ([`SessionConfig`], whose size, rate and input format come from the
//!   source); and the outputs ([`OutputSpec`]): files, a replay buffer, live streams, a stats
//!   writer — every packet goes to each, its bytes shared, never copied per output.
//! - **Threads**: [`Recorder::start`] checks the options and returns at once. The recording's
//!   own thread opens the source (a portal may wait minutes for a person to pick a screen),
//!   the outputs and the session, then captures and encodes; a second thread feeds the
//!   outputs, writes replay saves' requests to the saving thread and serves the control
//!   socket. The host's thread never waits on the encoder, a disk or a client.
//! - **Controls** ([`RecorderControls`], `Clone + Send + Sync`): save the replay (all of it or
//!   the last N seconds; the answer carries the file's path), force a keyframe, change the
//!   bitrate, stop (files finished cleanly), read the [`RecorderStatus`].
//! - **Events** ([`RecorderEvent`]), in order: notices while the source opens, `Started` (what
//!   the source and the encoder are), then replay saves, stream connections and losses,
//!   falling behind real time, a lost source, and last `Finished`. [`Recorder::wait`] gives the
//!   typed outcome.

mod error;
mod feed;
mod outputs;
mod run;
mod status;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use error::RecorderError;
pub use feed::{FrameFeeder, Rejected};
pub use status::RecorderStatus;

use crate::codec::Codec;
use crate::config::{KeyframeEvery, Preset, RateControlMode, SessionConfig};
use crate::control::{ControlOptions, ControlServer};
use crate::gpu::GpuContext;
use crate::output::live::{LiveOptions, LiveStats};
use crate::output::replay::ReplayLimits;
use crate::output::{ContainerFormat, OutputFormat, SinkError, SinkSummary};
use crate::source::{PacingStats, SourceOptions, SourceSpec};
use crate::stats::StatsSummary;
use crate::time::Span;

/// When a recording stops by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// After this many frames.
    Frames(u64),
    /// After this much video (rounded to whole frames at the source's rate).
    Duration(Duration),
}

/// The rate control as a command line or a C caller gives it: every `None` is the default for
/// the job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateOptions {
    /// The mode; `None`: the one the values given imply (a QP: CQP; a quality: CQ; a peak
    /// bitrate: VBR; a bitrate or a VBV buffer: CBR), else the default for the job: CBR when a
    /// live stream is among the outputs, constant quality for recordings to files and replays.
    pub mode: Option<RateControlMode>,
    /// Target bitrate for CBR and VBR; `None`: scaled from 8 Mbit/s at 1080p60 to the
    /// recording's size and rate.
    pub bitrate: Option<u64>,
    /// Peak bitrate for VBR; `None`: twice the target.
    pub max_bitrate: Option<u64>,
    /// Quantizer for CQP.
    pub qp: Option<u32>,
    /// Quality for CQ (lower is better); `None`: [`default_quality`] for the codec.
    pub quality: Option<u32>,
}

/// The most a replay buffer holds when no limit is given: 512 MiB.
pub const DEFAULT_REPLAY_BYTES: usize = 512 << 20;

/// The folder replay saves go to when none is given: the user's videos folder
/// ([`crate::output::replay::default_replay_dir`]), created if missing.
pub fn default_replay_folder() -> Result<PathBuf, RecorderError> {
    let dir = crate::output::replay::default_replay_dir().ok_or(RecorderError::NoVideosFolder)?;
    std::fs::create_dir_all(&dir).map_err(|source| RecorderError::CreateFolder {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

/// The constant quality a recording uses when none is given: each encoder's own customary
/// default (x264's CRF 23, x265's 28, SVT-AV1's 35), which NVENC's target quality reads on the
/// same scale.
pub const fn default_quality(codec: Codec) -> u32 {
    match codec {
        Codec::H264 => 23,
        Codec::Hevc => 28,
        Codec::Av1 => 35,
    }
}

/// One output of a recording.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum OutputSpec {
    /// A file (`-`: standard output), as a container or a raw bitstream.
    File {
        /// Where.
        path: PathBuf,
        /// The format; `None`: from the path's extension (Matroska for `-`).
        format: Option<OutputFormat>,
        /// Replace an existing file at the path (it is replaced only once the first packet is
        /// written); without it an existing file is refused.
        overwrite: bool,
    },
    /// The last stretch of the recording kept in memory, saved on request.
    Replay {
        /// How much it keeps.
        limits: ReplayLimits,
        /// Where saves go (each a new file named by the time).
        dir: PathBuf,
        /// The saves' format.
        format: OutputFormat,
    },
    /// A live stream (`rtmp://host/app/key`, `srt://host:port`), reconnected when it drops.
    Live {
        /// The server.
        url: String,
        /// Buffering and timeouts.
        options: LiveOptions,
    },
    /// Per-frame statistics as JSON lines and a summary line (`-`: standard output).
    Stats {
        /// Where.
        path: PathBuf,
        /// Replace an existing file at the path; without it an existing file is refused.
        overwrite: bool,
    },
}

impl OutputSpec {
    /// A file at `path` in the format its extension names, refused if it exists.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        OutputSpec::File {
            path: path.into(),
            format: None,
            overwrite: false,
        }
    }

    /// A replay buffer of the last `duration` (at most `bytes`; [`DEFAULT_REPLAY_BYTES`] is the
    /// usual), saved as Matroska into `dir` ([`default_replay_folder`] is the usual).
    pub fn replay(duration: Duration, bytes: usize, dir: impl Into<PathBuf>) -> Self {
        OutputSpec::Replay {
            limits: ReplayLimits { duration, bytes },
            dir: dir.into(),
            format: OutputFormat::Container(ContainerFormat::Matroska),
        }
    }

    /// A live stream to `url` with the default buffering.
    pub fn live(url: impl Into<String>) -> Self {
        OutputSpec::Live {
            url: url.into(),
            options: LiveOptions::default(),
        }
    }

    /// A stats writer, refused if its file exists.
    pub fn stats(path: impl Into<PathBuf>) -> Self {
        OutputSpec::Stats {
            path: path.into(),
            overwrite: false,
        }
    }

    /// What it is, for messages.
    fn describe(&self) -> String {
        match self {
            OutputSpec::File { path, .. } => format!("output {}", path.display()),
            OutputSpec::Replay { dir, .. } => format!("replay folder {}", dir.display()),
            OutputSpec::Live { url, .. } => format!("stream {url}"),
            OutputSpec::Stats { path, .. } => format!("stats file {}", path.display()),
        }
    }
}

/// Everything a recording needs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RecorderOptions {
    /// Where frames come from.
    pub source: SourceSpec,
    /// How the source is opened.
    pub source_options: SourceOptions,
    /// The encode settings. Its width, height, frame rate and input format are the source's
    /// (or [`size`](Self::size)); its codec, preset, rate control and keyframe interval are
    /// replaced by the fields below.
    pub session: SessionConfig,
    /// The codec; `None`: one the encoder runs in real time: AV1 on a hardware encoder, H.264
    /// in software for a live source (AV1 for a file), or what an output file's extension
    /// names (`.h264`, `.h265`, `.ivf`).
    pub codec: Option<Codec>,
    /// The speed/quality preset; `None`: P4, except for a live source on a software encoder,
    /// where it is the fastest that keeps real time with room to spare on a small machine:
    /// P3 (x264 `veryfast`, 2x real time at 1080p60 on two cores) up to 1080p60's pixel rate,
    /// P1 (`ultrafast`) above it (docs/PERFORMANCE.md).
    pub preset: Option<Preset>,
    /// The encoded size, scaled on the GPU; `None`: the source's.
    pub size: Option<(u32, u32)>,
    /// The rate control.
    pub rate: RateOptions,
    /// The keyframe interval, in frames or as a duration; `None`: two seconds.
    pub keyframe_interval: Option<KeyframeEvery>,
    /// When to stop by itself; `None`: at the end of the input, or when stopped.
    pub limit: Option<Limit>,
    /// Where packets go (at least one).
    pub outputs: Vec<OutputSpec>,
    /// A control socket taking `save`, `status`, `stop` ... (see [`crate::control`]).
    pub control_socket: Option<PathBuf>,
    /// The Vulkan context the session runs on ([`crate::Session::open_on`]): the host's own
    /// device, whose images it pushes as frames; `None`: as `session.gpu` says.
    pub gpu_context: Option<Arc<GpuContext>>,
}

impl RecorderOptions {
    /// A recording of `source` to `outputs` with every other setting at its default.
    pub fn new(source: SourceSpec, outputs: Vec<OutputSpec>) -> Self {
        Self {
            source,
            source_options: SourceOptions::default(),
            session: SessionConfig::new(
                Codec::H264,
                crate::source::spec::DEFAULT_PATTERN_SIZE.0,
                crate::source::spec::DEFAULT_PATTERN_SIZE.1,
                crate::source::spec::DEFAULT_FILE_RATE,
            ),
            codec: None,
            preset: None,
            size: None,
            rate: RateOptions::default(),
            keyframe_interval: None,
            limit: None,
            outputs,
            control_socket: None,
            gpu_context: None,
        }
    }
}

/// What a recording is, once it runs.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Started {
    /// The source: `wayland output DP-1 (wlr-screencopy)`, `testsrc`, a path.
    pub source: String,
    /// The encoder: its description (`NVENC AV1 on ...`, `x264`).
    pub encoder: String,
    /// What the frames go through before it (conversion, scaling, tone mapping).
    pub processing: String,
    /// The session's settings as opened.
    pub config: SessionConfig,
    /// Each encoder passed over, and why.
    pub passed_over: Vec<(crate::config::BackendKind, String)>,
}

/// A replay file written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedReplay {
    /// The file.
    pub path: PathBuf,
    /// Frames in it.
    pub frames: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// What happened to a live stream.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamState {
    /// Connected (the first time, or again).
    Connected,
    /// The connection was lost; it is being made again.
    Reconnecting {
        /// Why it was lost.
        reason: String,
    },
    /// Packets were dropped (the server was slow or away).
    Dropped {
        /// How many since the last event.
        packets: u64,
    },
}

/// Something the host may want to know, in the order it happened.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RecorderEvent {
    /// Something a person may need to know while the source opens (the portal waits for them
    /// to pick a screen; which capture `screen` chose; where a grant is kept).
    Notice(String),
    /// Frames flow.
    Started(Box<Started>),
    /// A replay was saved.
    ReplaySaved(SavedReplay),
    /// A replay save failed.
    ReplayFailed {
        /// Why.
        message: String,
    },
    /// A live stream's connection changed, or it dropped packets.
    Stream {
        /// The stream's URL.
        url: String,
        /// What happened.
        state: StreamState,
    },
    /// A live source's encode runs this far behind real time (told again every few seconds
    /// while it lasts).
    FallingBehind {
        /// How far.
        behind: Duration,
    },
    /// The source failed or went away; the recording finishes what it has.
    SourceLost {
        /// Why.
        message: String,
    },
    /// The recording is over: last event. On success the summary; on failure the error's text
    /// ([`Recorder::wait`] gives it typed).
    Finished(Result<Box<RecorderSummary>, String>),
}

/// What a recording did.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct RecorderSummary {
    /// Frames submitted to the encoder.
    pub frames: u64,
    /// Packets written.
    pub packets: u64,
    /// Encoded bytes.
    pub bytes: u64,
    /// Frames dropped to stay in real time.
    pub dropped: u64,
    /// Video time encoded.
    pub video: Duration,
    /// Wall-clock time the frames took.
    pub elapsed: Duration,
    /// Each file written.
    pub files: Vec<SinkSummary>,
    /// Each stream, with what it sent.
    pub streams: Vec<(String, LiveStats)>,
    /// Replay saves asked for.
    pub replay_saves: u32,
    /// The run's statistics summary (the stats writer's, when there is one), with the
    /// latency broken down by stage; `None` when the outputs failed to finish.
    pub stats: Option<StatsSummary>,
    /// What pacing did to a capture.
    pub pacing: Option<PacingStats>,
    /// Capture-to-packet latency, median and 99th percentile.
    pub latency: Option<(Span, Span)>,
    /// The source failed part way; everything before it was encoded and written.
    pub source_lost: Option<String>,
    /// What was recorded.
    pub started: Option<Started>,
}

/// A command for the recording's thread, answered.
pub(crate) enum Command {
    Keyframe(mpsc::Sender<Result<(), RecorderError>>),
    Bitrate(u64, mpsc::Sender<Result<(), RecorderError>>),
}

/// What the host's handles share with the recording's threads.
pub(crate) struct Shared {
    stop: AtomicBool,
    /// A save of the whole buffer was asked for by a means that cannot wait for the answer
    /// (a signal handler's flag, say).
    save_signal: AtomicBool,
    status: Mutex<RecorderStatus>,
    /// Capture-to-packet latencies, added by the outputs' thread.
    latencies: Mutex<status::Latencies>,
    commands: Mutex<mpsc::Sender<Command>>,
    to_outputs: Mutex<mpsc::Sender<outputs::ToOutputs>>,
    has_replay: bool,
}

impl Shared {
    fn with_status<R>(&self, f: impl FnOnce(&mut RecorderStatus) -> R) -> R {
        f(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn with_latencies<R>(&self, f: impl FnOnce(&mut status::Latencies) -> R) -> R {
        f(&mut self.latencies.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The status with its latency figures, which are computed here, when asked for, rather
    /// than for every packet.
    fn snapshot(&self) -> RecorderStatus {
        let mut s = self.with_status(|s| s.clone());
        self.with_latencies(|l| {
            s.recent_latency = l.recent();
            s.latency = l.all();
        });
        s
    }
}

/// How long a control waits for the recording's thread to take it.
const COMMAND_WAIT: Duration = Duration::from_secs(2);

/// The controls of a running recording, for any thread.
#[derive(Clone)]
pub struct RecorderControls {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RecorderControls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecorderControls").finish_non_exhaustive()
    }
}

/// A replay save under way.
#[derive(Debug)]
pub struct ReplaySave {
    answer: mpsc::Receiver<Result<SavedReplay, RecorderError>>,
}

impl ReplaySave {
    /// Waits up to `timeout` for the file to be written.
    pub fn wait(&self, timeout: Duration) -> Result<SavedReplay, RecorderError> {
        match self.answer.recv_timeout(timeout) {
            Ok(outcome) => outcome,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(RecorderError::Busy {
                waited_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(RecorderError::Ended),
        }
    }

    /// The outcome, if the save has ended.
    pub fn try_result(&self) -> Option<Result<SavedReplay, RecorderError>> {
        match self.answer.try_recv() {
            Ok(outcome) => Some(outcome),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => Some(Err(RecorderError::Ended)),
        }
    }
}

impl RecorderControls {
    /// Asks the recording to stop: the source is closed, the encoder flushed and every file
    /// finished. Returns at once; the `Finished` event (or [`Recorder::wait`]) tells the end.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }

    /// Whether a stop was asked for (by a control, or because an output failed).
    pub fn is_stopping(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
    }

    /// Saves the replay buffer's last `last` (all it holds when `None`) to a new file in the
    /// replay folder. Returns at once; the answer carries the path.
    pub fn save_replay(&self, last: Option<Duration>) -> Result<ReplaySave, RecorderError> {
        self.save(last, None)
    }

    /// As [`save_replay`](Self::save_replay), to `path` (its extension is not read: the
    /// replay output's format is used).
    pub fn save_replay_to(
        &self,
        path: impl Into<PathBuf>,
        last: Option<Duration>,
    ) -> Result<ReplaySave, RecorderError> {
        self.save(last, Some(path.into()))
    }

    fn save(
        &self,
        last: Option<Duration>,
        path: Option<PathBuf>,
    ) -> Result<ReplaySave, RecorderError> {
        if !self.shared.has_replay {
            return Err(RecorderError::NoReplay);
        }
        let (reply, answer) = mpsc::channel();
        let sent = self
            .shared
            .to_outputs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(outputs::ToOutputs::Save { last, path, reply });
        sent.map_err(|_| RecorderError::Ended)?;
        Ok(ReplaySave { answer })
    }

    /// Asks for a save of the whole buffer without waiting for anything, not even a lock:
    /// safe from a signal handler's flag. Its outcome comes as an event.
    pub fn save_replay_later(&self) {
        self.shared.save_signal.store(true, Ordering::Relaxed);
    }

    /// Makes the next frame a keyframe.
    pub fn request_keyframe(&self) -> Result<(), RecorderError> {
        self.command(Command::Keyframe)
    }

    /// Changes the bitrate (CBR: the rate; VBR: the target, the peak kept in proportion) from
    /// the next frame.
    pub fn set_bitrate(&self, bits_per_second: u64) -> Result<(), RecorderError> {
        self.command(|reply| Command::Bitrate(bits_per_second, reply))
    }

    fn command(
        &self,
        make: impl FnOnce(mpsc::Sender<Result<(), RecorderError>>) -> Command,
    ) -> Result<(), RecorderError> {
        let (reply, answer) = mpsc::channel();
        let sent = self
            .shared
            .commands
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(make(reply));
        sent.map_err(|_| RecorderError::Ended)?;
        match answer.recv_timeout(COMMAND_WAIT) {
            Ok(outcome) => outcome,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(RecorderError::Busy {
                waited_ms: u64::try_from(COMMAND_WAIT.as_millis()).unwrap_or(u64::MAX),
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(RecorderError::Ended),
        }
    }

    /// What the recording has done so far.
    pub fn status(&self) -> RecorderStatus {
        self.shared.snapshot()
    }
}

/// A running recording.
pub struct Recorder {
    controls: RecorderControls,
    feeder: Option<FrameFeeder>,
    events: mpsc::Receiver<RecorderEvent>,
    thread: Option<JoinHandle<Result<RecorderSummary, RecorderError>>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Recorder {
    /// Checks `options` and starts recording on the recorder's own threads; returns at once.
    /// Mistakes that need no source (no output, an output that is the input, an existing file
    /// without `overwrite`, an unknown extension, a replay folder that is not one, a control
    /// socket in use) are refused here; the rest come as the `Finished` event.
    pub fn start(options: RecorderOptions) -> Result<Recorder, RecorderError> {
        check(&options)?;
        let host = match options.source {
            SourceSpec::Host => Some(host_info(&options)?),
            _ => None,
        };
        let depth = usize::try_from(options.session.queue_depth.max(1)).unwrap_or(1);
        let (feeder, host) = match host {
            Some(info) => {
                let (feeder, frames) = feed::channel(depth);
                (Some(feeder), Some((info, frames)))
            }
            None => (None, None),
        };
        let control = match &options.control_socket {
            Some(path) => Some(ControlServer::bind(path, ControlOptions::default())?),
            None => None,
        };
        let (commands_tx, commands_rx) = mpsc::channel();
        let (outputs_tx, outputs_rx) = mpsc::channel();
        let (events_tx, events) = mpsc::channel();
        let has_replay = options
            .outputs
            .iter()
            .any(|o| matches!(o, OutputSpec::Replay { .. }));
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            save_signal: AtomicBool::new(false),
            status: Mutex::new(RecorderStatus::default()),
            latencies: Mutex::new(status::Latencies::default()),
            commands: Mutex::new(commands_tx),
            to_outputs: Mutex::new(outputs_tx.clone()),
            has_replay,
        });
        let job = run::Job {
            options,
            control,
            shared: Arc::clone(&shared),
            commands: commands_rx,
            to_outputs: outputs_tx,
            from_controls: outputs_rx,
            events: events_tx,
            host,
        };
        let thread = std::thread::Builder::new()
            .name("gs-recorder".into())
            .spawn(move || run::record(job))
            .map_err(|source| RecorderError::Thread {
                what: "recording",
                source,
            })?;
        Ok(Recorder {
            controls: RecorderControls { shared },
            feeder,
            events,
            thread: Some(thread),
        })
    }

    /// The feeder of a recording of `SourceSpec::Host`, once (`None` for another source, or
    /// once taken). The input ends when every clone of it is dropped.
    pub fn take_feeder(&mut self) -> Option<FrameFeeder> {
        self.feeder.take()
    }

    /// The controls, to hand to other threads.
    pub fn controls(&self) -> RecorderControls {
        self.controls.clone()
    }

    /// The next event if one is waiting.
    pub fn try_event(&self) -> Option<RecorderEvent> {
        self.events.try_recv().ok()
    }

    /// The next event, waiting up to `timeout`; `None` when none came (or after `Finished`).
    pub fn next_event(&self, timeout: Duration) -> Option<RecorderEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    /// Stops the recording (see [`RecorderControls::stop`]).
    pub fn stop(&self) {
        self.controls.stop();
    }

    /// Waits for the recording to end (at the end of its input, its limit, or a stop) and
    /// gives its outcome. Events not yet taken stay readable with [`try_event`](Self::try_event).
    pub fn wait(&mut self) -> Result<RecorderSummary, RecorderError> {
        match self.thread.take() {
            None => Err(RecorderError::Ended),
            Some(t) => t.join().unwrap_or_else(|_| {
                Err(RecorderError::Thread {
                    what: "recording",
                    source: std::io::Error::other("the recording thread panicked"),
                })
            }),
        }
    }
}

impl Drop for Recorder {
    /// A recording dropped while running is stopped and finished (files stay playable).
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.controls.stop();
            let _ = t.join();
        }
    }
}

/// What the host's frames are: the size and format the options give (both needed), at the
/// rate they give (30 fps when none).
fn host_info(options: &RecorderOptions) -> Result<crate::source::SourceInfo, RecorderError> {
    let o = &options.source_options;
    match (o.size, o.format) {
        (Some((width, height)), Some(format)) => Ok(crate::source::SourceInfo {
            format,
            width,
            height,
            frame_rate: o
                .frame_rate
                .unwrap_or(crate::source::spec::DEFAULT_FILE_RATE),
        }),
        _ => Err(RecorderError::Source(crate::source::SourceError::BadSpec {
            spec: "host".into(),
            fix: "frames pushed by the host need their size and pixel format in the source options"
                .into(),
        })),
    }
}

/// The format of a file output: the one given, Matroska for standard output, else the one
/// the extension names.
fn file_format(path: &Path, format: Option<OutputFormat>) -> Result<OutputFormat, SinkError> {
    match format {
        Some(f) => Ok(f),
        None if crate::output::path::is_stdout(path) => {
            Ok(OutputFormat::Container(ContainerFormat::Matroska))
        }
        None => OutputFormat::from_path(path).ok_or_else(|| SinkError::UnknownExtension {
            path: path.to_path_buf(),
        }),
    }
}

/// The checks that need no source.
fn check(options: &RecorderOptions) -> Result<(), RecorderError> {
    use crate::output::path::{check_distinct, check_overwrite, is_stdout, NamedPath};
    if options.outputs.is_empty() {
        return Err(RecorderError::NoOutput);
    }
    let mut stdout: Option<&OutputSpec> = None;
    let mut named = Vec::new();
    if let Some(p) = options.source.path() {
        named.push(NamedPath {
            role: "input",
            path: p,
            output: false,
        });
    }
    if let Some(p) = options.source_options.portal_token.as_deref() {
        named.push(NamedPath {
            role: "portal token file",
            path: p,
            output: false,
        });
    }
    for o in &options.outputs {
        let path = match o {
            OutputSpec::File { path, format, .. } => {
                file_format(path, *format)?;
                Some((path, "output"))
            }
            OutputSpec::Stats { path, .. } => Some((path, "stats file")),
            OutputSpec::Replay { dir, .. } => {
                if !dir.is_dir() {
                    return Err(RecorderError::ReplayDir { path: dir.clone() });
                }
                None
            }
            OutputSpec::Live { .. } => None,
        };
        if let Some((path, role)) = path {
            if is_stdout(path) {
                if let Some(first) = stdout {
                    return Err(RecorderError::StdoutTwice {
                        first: first.describe(),
                        second: o.describe(),
                    });
                }
                stdout = Some(o);
            }
            named.push(NamedPath {
                role,
                path,
                output: true,
            });
        }
    }
    if let Some(p) = options.control_socket.as_deref() {
        named.push(NamedPath {
            role: "control socket",
            path: p,
            output: true,
        });
    }
    check_distinct(&named)?;
    // Only once no output is an input: an existing file is kept unless leave was given.
    for o in &options.outputs {
        if let OutputSpec::File {
            path, overwrite, ..
        }
        | OutputSpec::Stats { path, overwrite } = o
        {
            check_overwrite(path, *overwrite)?;
        }
    }
    Ok(())
}
