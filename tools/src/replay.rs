//! `record --replay 30s`: keeps the last stretch of the recording in memory and saves it to a
//! file when asked — on SIGUSR1, or on a `save [SECONDS]` line sent to the control socket
//! (`--control PATH`), which answers `saved PATH` (or `error: ...`) once the file is written.
//! Saves run on the library's saving thread; the encoder never waits for them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ghoststream::control::{ControlOptions, ControlReply, ControlRequest, ControlServer};
use ghoststream::output::replay::{PendingSave, ReplayBuffer, ReplayLimits, ReplaySaver};
use ghoststream::output::OutputFormat;
use ghoststream::{Packet, SessionConfig};

/// A save being written, and the control connection waiting for its answer.
struct Pending {
    save: PendingSave,
    reply: Option<ControlReply>,
}

/// The replay buffer of a recording, with its triggers and its saves.
pub struct ReplayRecorder {
    buffer: ReplayBuffer,
    saver: ReplaySaver,
    dir: PathBuf,
    format: OutputFormat,
    signal: Arc<AtomicBool>,
    /// Served on its own thread; the recording only takes the requests that parsed.
    control: Option<ControlServer>,
    pending: Vec<Pending>,
    saves: u32,
}

impl ReplayRecorder {
    /// A buffer of `limits` for the session `config`, saving `format` files into `dir`;
    /// listens for SIGUSR1 and, with `control`, on that socket path.
    pub fn start(
        limits: ReplayLimits,
        config: &SessionConfig,
        dir: PathBuf,
        format: OutputFormat,
        control: Option<PathBuf>,
    ) -> Result<Self, String> {
        let buffer = ReplayBuffer::new(limits).map_err(|e| e.to_string())?;
        ghoststream::output::replay::check_format(format, config.codec)
            .map_err(|e| format!("--replay-format {format}: {e}"))?;
        if !dir.is_dir() {
            return Err(format!(
                "--replay-dir {} is not a directory: create it or pick another",
                dir.display()
            ));
        }
        let signal = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&signal))
            .map_err(|e| format!("cannot listen for SIGUSR1: {e}"))?;
        let control = match control {
            Some(path) => Some(
                ControlServer::bind(&path, ControlOptions::default())
                    .map_err(|e| crate::one_line(&e))?,
            ),
            None => None,
        };
        let saver = ReplaySaver::start(config.clone()).map_err(|e| e.to_string())?;
        Ok(Self {
            buffer,
            saver,
            dir,
            format,
            signal,
            control,
            pending: Vec::new(),
            saves: 0,
        })
    }

    /// Keeps a packet (its bytes are shared, not copied).
    pub fn push(&mut self, packet: &Packet) {
        self.buffer.push(packet.clone());
    }

    /// Starts the saves asked for since the last call and reports those that ended, as
    /// lines to print. Never waits: control requests are read on the server's own thread.
    pub fn poll(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.signal.swap(false, Ordering::Relaxed) {
            lines.extend(self.start_save(None, None));
        }
        let mut calls = Vec::new();
        if let Some(server) = &self.control {
            while let Some(call) = server.try_recv() {
                calls.push(call);
            }
        }
        for call in calls {
            match call.request {
                ControlRequest::Save { last } => {
                    lines.extend(self.start_save(last, Some(call.reply)));
                }
                other => call
                    .reply
                    .answer(&format!("error: this recording cannot answer {other:?}")),
            }
        }
        let mut still = Vec::new();
        for p in self.pending.drain(..) {
            match p.save.try_outcome() {
                None => still.push(p),
                Some(outcome) => lines.push(report(&p.save, outcome, p.reply)),
            }
        }
        self.pending = still;
        lines
    }

    fn start_save(
        &mut self,
        last: Option<Duration>,
        reply: Option<ControlReply>,
    ) -> Option<String> {
        let clip = match self.buffer.clip(last) {
            Ok(c) => c,
            Err(e) => {
                let message = format!("replay not saved: {e}");
                if let Some(r) = reply {
                    r.answer(&format!("error: {e}"));
                }
                return Some(message);
            }
        };
        self.saves += 1;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let name = format!(
            "replay-{stamp}-{}-{}.{}",
            std::process::id(),
            self.saves,
            self.format.name()
        );
        let save = self.saver.save(clip, self.dir.join(name), self.format);
        self.pending.push(Pending { save, reply });
        None
    }

    /// Waits for the saves still being written; lines to print. The control socket stops
    /// taking requests first, and its file is removed.
    pub fn finish(mut self) -> Vec<String> {
        let mut lines = self.poll();
        drop(self.control.take());
        for p in self.pending.drain(..) {
            let path = p.save.path().to_path_buf();
            let outcome = p.save.wait();
            lines.push(report_path(&path, outcome, p.reply));
        }
        lines
    }
}

fn report(
    save: &PendingSave,
    outcome: Result<ghoststream::output::SinkSummary, ghoststream::output::replay::ReplayError>,
    reply: Option<ControlReply>,
) -> String {
    report_path(save.path(), outcome, reply)
}

fn report_path(
    path: &Path,
    outcome: Result<ghoststream::output::SinkSummary, ghoststream::output::replay::ReplayError>,
    reply: Option<ControlReply>,
) -> String {
    let (line, answer) = match outcome {
        Ok(s) => (
            format!(
                "replay saved: {} ({} frames, {} bytes)",
                path.display(),
                s.packets,
                s.bytes
            ),
            format!("saved {}", path.display()),
        ),
        Err(e) => (format!("replay not saved: {e}"), format!("error: {e}")),
    };
    if let Some(r) = reply {
        r.answer(&answer);
    }
    line
}
