//! The outputs' thread: every packet out of the session goes to each file, the replay buffer,
//! each live stream and the stats writer (its bytes shared, never copied per output); replay
//! saves and control-socket requests are served here too, so the encoding thread never waits
//! on a disk or a client.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Command, OutputSpec, RecorderError, RecorderEvent, SavedReplay, Shared, StreamState};
use crate::config::SessionConfig;
use crate::control::{ControlCall, ControlRequest, ControlServer};
use crate::output::live::{open_live, LiveSink};
use crate::output::replay::{check_format, PendingSave, ReplayBuffer, ReplaySaver};
use crate::output::{open_file_sink, FileSink, OutputFormat, SinkSummary};
use crate::packet::{FrameStats, Packet};
use crate::session::SessionOutput;
use crate::stats::{StatsCollector, StatsSummary, StatsWriter};

/// How often the thread looks at the control socket and the saves while no packet comes.
const TICK: Duration = Duration::from_millis(20);

/// How often the streams' and the replay buffer's figures are read (each read takes the
/// stream's lock and copies its URL and last error): not for every packet.
const FIGURES_EVERY: Duration = Duration::from_millis(100);

/// How long a live stream may take to send what it still holds when the recording ends.
const STREAM_DRAIN: Duration = Duration::from_secs(5);

/// What the encoding thread and the controls send the outputs' thread.
#[expect(
    clippy::large_enum_variant,
    reason = "nearly every message is a packet: boxing it would allocate once per packet to shrink the rare others"
)]
pub(super) enum ToOutputs {
    /// A packet or a dropped frame out of the session.
    Output(SessionOutput),
    /// Save the replay buffer's last `last` (all it holds when `None`) to `path` (a new file in
    /// the replay folder when `None`).
    Save {
        last: Option<Duration>,
        path: Option<PathBuf>,
        reply: mpsc::Sender<Result<SavedReplay, RecorderError>>,
    },
    /// The session is closed: finish everything.
    End,
}

/// Who waits for a save.
enum Waiter {
    Caller(mpsc::Sender<Result<SavedReplay, RecorderError>>),
    Socket(crate::control::ControlReply),
    Nobody,
}

struct Replay {
    buffer: ReplayBuffer,
    saver: ReplaySaver,
    dir: PathBuf,
    format: OutputFormat,
    pending: Vec<(PendingSave, Waiter)>,
    saves: u32,
}

struct Stream {
    sink: LiveSink,
    connected: bool,
    connections: u64,
    dropped: u64,
}

enum StatsOut {
    File {
        writer: StatsWriter<std::fs::File>,
        path: PathBuf,
        created: bool,
    },
    Stdout(StatsWriter<std::io::Stdout>),
}

/// Every output of one recording.
pub(super) struct Outputs {
    files: Vec<FileSink>,
    replay: Option<Replay>,
    streams: Vec<Stream>,
    stats: Option<StatsOut>,
    /// The run's figures when there is no stats writer (which keeps its own).
    collector: StatsCollector,
    control: Option<ControlServer>,
    /// Controls handed to the recording's thread, with the client waiting for each.
    commands: Vec<(
        mpsc::Receiver<Result<(), RecorderError>>,
        crate::control::ControlReply,
    )>,
    frame_rate: crate::time::Rational,
}

/// What the outputs did, when they are finished.
#[derive(Debug, Default)]
pub(super) struct Finished {
    pub files: Vec<SinkSummary>,
    pub streams: Vec<(String, crate::output::live::LiveStats)>,
    pub stats: Option<StatsSummary>,
    pub replay_saves: u32,
    /// Packets and drops out of the session.
    pub produced: u64,
}

/// Creates the stats file (or takes standard output for `-`).
fn open_stats(path: &Path) -> Result<StatsOut, RecorderError> {
    if crate::output::path::is_stdout(path) {
        return Ok(StatsOut::Stdout(StatsWriter::new(std::io::stdout())));
    }
    let existed = std::fs::symlink_metadata(path).is_ok();
    let file = std::fs::File::create(path).map_err(|source| RecorderError::Stats {
        path: path.to_path_buf(),
        source,
    })?;
    let regular = file.metadata().is_ok_and(|m| m.is_file());
    Ok(StatsOut::File {
        writer: StatsWriter::new(file),
        path: path.to_path_buf(),
        created: regular && !existed,
    })
}

impl Outputs {
    /// Opens every output for the session `config` describes: files (staged until their first
    /// packet), the replay buffer and its saving thread, live streams (connected), the stats
    /// writer. A failure gives up what was opened before it.
    pub(super) fn open(
        specs: &[OutputSpec],
        config: &SessionConfig,
        control: Option<ControlServer>,
        notify: &mut dyn FnMut(RecorderEvent),
    ) -> Result<Self, RecorderError> {
        let mut out = Outputs {
            files: Vec::new(),
            replay: None,
            streams: Vec::new(),
            stats: None,
            collector: StatsCollector::default(),
            control,
            commands: Vec::new(),
            frame_rate: config.frame_rate,
        };
        for spec in specs {
            let opened = out.open_one(spec, config, notify);
            if let Err(e) = opened {
                out.abandon();
                return Err(e);
            }
        }
        Ok(out)
    }

    fn open_one(
        &mut self,
        spec: &OutputSpec,
        config: &SessionConfig,
        notify: &mut dyn FnMut(RecorderEvent),
    ) -> Result<(), RecorderError> {
        match spec {
            OutputSpec::File { path, format, .. } => {
                let format = super::file_format(path, *format)?;
                self.files.push(open_file_sink(path, format, config)?);
            }
            OutputSpec::Replay {
                limits,
                dir,
                format,
            } => {
                check_format(*format, config.codec)?;
                let buffer = ReplayBuffer::new(*limits)?;
                let saver = ReplaySaver::start(config.clone())?;
                self.replay = Some(Replay {
                    buffer,
                    saver,
                    dir: dir.clone(),
                    format: *format,
                    pending: Vec::new(),
                    saves: 0,
                });
            }
            OutputSpec::Live { url, options } => {
                let sink = open_live(url, config, *options)?;
                notify(RecorderEvent::Stream {
                    url: url.clone(),
                    state: StreamState::Connected,
                });
                self.streams.push(Stream {
                    sink,
                    connected: true,
                    connections: 1,
                    dropped: 0,
                });
            }
            OutputSpec::Stats { path, .. } => self.stats = Some(open_stats(path)?),
        }
        Ok(())
    }

    /// Gives every output up: staged files are deleted (their paths keep what they had), a
    /// stats file this run created is deleted, streams are closed.
    pub(super) fn abandon(self) {
        for f in self.files {
            f.abandon();
        }
        for s in self.streams {
            s.sink.finish(Duration::from_secs(1));
        }
        if let Some(StatsOut::File {
            writer,
            path,
            created,
        }) = self.stats
        {
            drop(writer);
            if created {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    /// One packet to every output. A file that cannot be written is an error (streams and the
    /// replay buffer never fail a write: they drop and count).
    fn packet(&mut self, packet: &Packet) -> Result<(), RecorderError> {
        if let Some(r) = self.replay.as_mut() {
            r.buffer.push(packet.clone());
        }
        for s in &mut self.streams {
            s.sink.write(packet);
        }
        for f in &mut self.files {
            f.write(packet)?;
        }
        self.stats_line(&packet.stats, packet.data.len(), packet.keyframe)
    }

    fn stats_line(&mut self, s: &FrameStats, bytes: usize, key: bool) -> Result<(), RecorderError> {
        let written = match &mut self.stats {
            None => {
                self.collector.record(s, bytes, key);
                return Ok(());
            }
            Some(StatsOut::File { writer, .. }) => writer.write_frame(s, bytes, key),
            Some(StatsOut::Stdout(writer)) => writer.write_frame(s, bytes, key),
        };
        written.map_err(|source| self.stats_error(source))
    }

    fn stats_error(&self, source: std::io::Error) -> RecorderError {
        let path = match &self.stats {
            Some(StatsOut::File { path, .. }) => path.clone(),
            _ => PathBuf::from("-"),
        };
        RecorderError::Stats { path, source }
    }

    /// Starts a replay save.
    fn save(&mut self, last: Option<Duration>, path: Option<PathBuf>, waiter: Waiter) {
        let Some(r) = self.replay.as_mut() else {
            answer(waiter, Err(RecorderError::NoReplay));
            return;
        };
        let clip = match r.buffer.clip(last) {
            Ok(c) => c,
            Err(e) => return answer(waiter, Err(e.into())),
        };
        let pending = match path {
            Some(path) => r.saver.save(clip, path, r.format),
            // A new file named by the local time, its name reserved so that no other save
            // (in this process or another) takes it.
            None => match r
                .saver
                .save_in(clip, &r.dir, r.format, std::time::SystemTime::now())
            {
                Ok(p) => p,
                Err(e) => return answer(waiter, Err(e.into())),
            },
        };
        r.saves += 1;
        r.pending.push((pending, waiter));
    }

    /// Saves that ended: answered, and told as events.
    fn poll_saves(&mut self, events: &mut dyn FnMut(RecorderEvent)) {
        let Some(r) = self.replay.as_mut() else {
            return;
        };
        let mut still = Vec::new();
        for (save, waiter) in r.pending.drain(..) {
            match save.try_outcome() {
                None => still.push((save, waiter)),
                Some(outcome) => report_save(save.path(), outcome, waiter, events),
            }
        }
        r.pending = still;
    }

    /// Streams whose connection came or went since the last look.
    fn poll_streams(&mut self, events: &mut dyn FnMut(RecorderEvent)) {
        for s in &mut self.streams {
            let st = s.sink.stats();
            let url = s.sink.url().to_string();
            if st.connected != s.connected || st.connections != s.connections {
                let state = if st.connected {
                    StreamState::Connected
                } else {
                    StreamState::Reconnecting {
                        reason: st.last_error.clone().unwrap_or_default(),
                    }
                };
                events(RecorderEvent::Stream {
                    url: url.clone(),
                    state,
                });
            }
            if st.dropped > s.dropped {
                events(RecorderEvent::Stream {
                    url,
                    state: StreamState::Dropped {
                        packets: st.dropped - s.dropped,
                    },
                });
            }
            s.connected = st.connected;
            s.connections = st.connections;
            s.dropped = st.dropped;
        }
    }

    fn control_calls(&self) -> Vec<ControlCall> {
        let mut calls = Vec::new();
        if let Some(server) = &self.control {
            while let Some(call) = server.try_recv() {
                calls.push(call);
            }
        }
        calls
    }

    /// Finishes every output; the first file error is returned after all were finished.
    fn finish(mut self, events: &mut dyn FnMut(RecorderEvent)) -> Result<Finished, RecorderError> {
        drop(self.control.take());
        let mut done = Finished::default();
        let mut first_error = None;
        for f in std::mem::take(&mut self.files) {
            match f.finish() {
                Ok(s) => done.files.push(s),
                Err(e) => {
                    first_error.get_or_insert(RecorderError::from(e));
                }
            }
        }
        for s in std::mem::take(&mut self.streams) {
            let url = s.sink.url().to_string();
            done.streams.push((url, s.sink.finish(STREAM_DRAIN)));
        }
        if let Some(r) = self.replay.take() {
            done.replay_saves = r.saves;
            for (save, waiter) in r.pending {
                let path = save.path().to_path_buf();
                let outcome = save.wait();
                report_save(&path, outcome, waiter, events);
            }
        }
        let stats = match self.stats.take() {
            None => Ok(Some(self.collector.summary())),
            Some(StatsOut::File { writer, path, .. }) => writer
                .finish()
                .map(Some)
                .map_err(|source| RecorderError::Stats { path, source }),
            Some(StatsOut::Stdout(writer)) => {
                writer
                    .finish()
                    .map(Some)
                    .map_err(|source| RecorderError::Stats {
                        path: PathBuf::from("-"),
                        source,
                    })
            }
        };
        match stats {
            Ok(s) => done.stats = s,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(done),
        }
    }
}

fn answer(waiter: Waiter, outcome: Result<SavedReplay, RecorderError>) {
    match waiter {
        Waiter::Caller(tx) => {
            let _ = tx.send(outcome);
        }
        Waiter::Socket(reply) => match outcome {
            Ok(s) => reply.answer(&format!("saved {}", s.path.display())),
            Err(e) => reply.answer(&format!("error: {e}")),
        },
        Waiter::Nobody => {}
    }
}

fn report_save(
    path: &Path,
    outcome: Result<SinkSummary, crate::output::replay::ReplayError>,
    waiter: Waiter,
    events: &mut dyn FnMut(RecorderEvent),
) {
    let outcome = outcome
        .map(|s| SavedReplay {
            path: path.to_path_buf(),
            frames: s.packets,
            bytes: s.bytes,
        })
        .map_err(RecorderError::from);
    match &outcome {
        Ok(saved) => events(RecorderEvent::ReplaySaved(saved.clone())),
        Err(e) => events(RecorderEvent::ReplayFailed {
            message: e.to_string(),
        }),
    }
    answer(waiter, outcome);
}

/// The outputs' thread: takes the session's outputs until [`ToOutputs::End`] (or until the
/// encoding thread is gone), serving saves and the control socket meanwhile.
pub(super) fn serve(
    mut outputs: Outputs,
    incoming: mpsc::Receiver<ToOutputs>,
    shared: Arc<Shared>,
    mut events: impl FnMut(RecorderEvent),
) -> Result<Finished, RecorderError> {
    let mut produced = 0u64;
    let mut failure = None;
    let mut figures_read = Instant::now();
    loop {
        match incoming.recv_timeout(TICK) {
            Ok(ToOutputs::Output(out)) => {
                produced += 1;
                if failure.is_none() {
                    if let Err(e) = outputs.output(out, &shared) {
                        // A file that cannot be written ends the recording; what it holds stays
                        // whole and playable.
                        shared.stop.store(true, Ordering::Relaxed);
                        failure = Some(e);
                    }
                }
            }
            Ok(ToOutputs::Save { last, path, reply }) => {
                outputs.save(last, path, Waiter::Caller(reply));
            }
            Ok(ToOutputs::End) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if shared.save_signal.swap(false, Ordering::Relaxed) {
            outputs.save(None, None, Waiter::Nobody);
        }
        for call in outputs.control_calls() {
            serve_call(&mut outputs, call, &shared);
        }
        outputs.poll_commands();
        outputs.poll_saves(&mut events);
        if figures_read.elapsed() >= FIGURES_EVERY {
            figures_read = Instant::now();
            outputs.poll_streams(&mut events);
            shared.with_status(|s| {
                s.replay = outputs.replay.as_ref().map(|r| r.buffer.stats());
                s.streams = outputs
                    .streams
                    .iter()
                    .map(|st| (st.sink.url().to_string(), st.sink.stats()))
                    .collect();
            });
        }
    }
    if produced == 0 {
        outputs.abandon();
        return Ok(Finished::default());
    }
    let finished = outputs.finish(&mut events);
    match failure {
        Some(e) => Err(e),
        None => finished.map(|f| Finished { produced, ..f }),
    }
}

impl Outputs {
    fn output(&mut self, out: SessionOutput, shared: &Shared) -> Result<(), RecorderError> {
        match out {
            SessionOutput::Packet(p) => {
                self.packet(&p)?;
                shared.with_latencies(|l| l.add(&p.stats));
                let rate = self.frame_rate;
                shared.with_status(|s| {
                    s.packets += 1;
                    s.bytes += p.data.len() as u64;
                    s.video = frames_to_duration(s.packets, rate);
                });
                Ok(())
            }
            SessionOutput::Dropped(st) => {
                shared.with_status(|s| s.dropped += 1);
                self.stats_line(&st, 0, false)
            }
            #[allow(unreachable_patterns, reason = "SessionOutput may grow")]
            _ => Ok(()),
        }
    }
}

/// The video time of `frames` frames at `rate`.
pub(super) fn frames_to_duration(frames: u64, rate: crate::time::Rational) -> Duration {
    let ns = i64::try_from(frames)
        .ok()
        .map(|f| rate.invert().rescale(f, crate::time::Rational::NANOS))
        .unwrap_or(i64::MAX);
    Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
}

/// Serves one control-socket request: saves here, status from the shared figures, stop by
/// the flag, keyframe and bitrate through the recording's thread (answered when it has taken
/// them, without this thread waiting).
fn serve_call(outputs: &mut Outputs, call: ControlCall, shared: &Shared) {
    match call.request {
        ControlRequest::Save { last } => outputs.save(last, None, Waiter::Socket(call.reply)),
        ControlRequest::Status => call.reply.answer(&shared.snapshot().to_json()),
        ControlRequest::Stop => {
            shared.stop.store(true, Ordering::Relaxed);
            call.reply.answer("ok");
        }
        ControlRequest::Keyframe => outputs.command(shared, call.reply, Command::Keyframe),
        ControlRequest::Bitrate { bits_per_second } => {
            outputs.command(shared, call.reply, |reply| {
                Command::Bitrate(bits_per_second, reply)
            });
        }
        #[allow(unreachable_patterns, reason = "ControlRequest may grow")]
        other => call
            .reply
            .answer(&format!("error: this recording cannot answer {other:?}")),
    }
}

impl Outputs {
    /// Hands a control to the recording's thread; its answer goes to the client once taken.
    fn command(
        &mut self,
        shared: &Shared,
        reply: crate::control::ControlReply,
        make: impl FnOnce(mpsc::Sender<Result<(), RecorderError>>) -> Command,
    ) {
        let (tx, rx) = mpsc::channel();
        let sent = shared
            .commands
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(make(tx));
        match sent {
            Ok(()) => self.commands.push((rx, reply)),
            Err(_) => reply.answer(&format!("error: {}", RecorderError::Ended)),
        }
    }

    /// Answers the controls the recording's thread has taken.
    fn poll_commands(&mut self) {
        let mut still = Vec::new();
        for (rx, reply) in self.commands.drain(..) {
            match rx.try_recv() {
                Ok(Ok(())) => reply.answer("ok"),
                Ok(Err(e)) => reply.answer(&format!("error: {e}")),
                Err(mpsc::TryRecvError::Empty) => still.push((rx, reply)),
                Err(mpsc::TryRecvError::Disconnected) => {
                    reply.answer(&format!("error: {}", RecorderError::Ended));
                }
            }
        }
        self.commands = still;
    }
}
