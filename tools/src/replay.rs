//! `record --replay 30s`: keeps the last stretch of the recording in memory and saves it to a
//! file when asked — on SIGUSR1, or on a `save [SECONDS]` line sent to the control socket
//! (`--control PATH`), which answers `saved PATH` (or `error: ...`) once the file is written.
//! Saves run on the library's saving thread; the encoder never waits for them.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ghoststream::replay::{PendingSave, ReplayBuffer, ReplayLimits, ReplaySaver};
use ghoststream::sink::OutputFormat;
use ghoststream::{Packet, SessionConfig};

/// A save being written, and the control connection waiting for its answer.
struct Pending {
    save: PendingSave,
    reply: Option<UnixStream>,
}

/// The replay buffer of a recording, with its triggers and its saves.
pub struct ReplayRecorder {
    buffer: ReplayBuffer,
    saver: ReplaySaver,
    dir: PathBuf,
    format: OutputFormat,
    signal: Arc<AtomicBool>,
    control: Option<(UnixListener, PathBuf)>,
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
            Some(path) => {
                let listener = UnixListener::bind(&path).map_err(|e| {
                    format!(
                        "cannot open the control socket {}: {e} (remove a stale one, or pick another path)",
                        path.display()
                    )
                })?;
                listener
                    .set_nonblocking(true)
                    .map_err(|e| format!("control socket {}: {e}", path.display()))?;
                Some((listener, path))
            }
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
    /// lines to print.
    pub fn poll(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.signal.swap(false, Ordering::Relaxed) {
            lines.extend(self.start_save(None, None));
        }
        let mut requests = Vec::new();
        if let Some((listener, _)) = &self.control {
            while let Ok((stream, _)) = listener.accept() {
                requests.push(stream);
            }
        }
        for stream in requests {
            lines.extend(self.control_request(stream));
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

    fn control_request(&mut self, stream: UnixStream) -> Option<String> {
        // A client has a second to say what it wants; the recording is not held up longer.
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut line = String::new();
        let mut reader = BufReader::new(&stream);
        let _ = reader.read_line(&mut line);
        let mut words = line.split_whitespace();
        let answer = match (words.next(), words.next()) {
            (Some("save"), None) => return self.start_save(None, Some(stream)),
            (Some("save"), Some(secs)) => match secs.parse::<f64>() {
                Ok(s) if s.is_finite() && s > 0.0 => {
                    return self.start_save(Some(Duration::from_secs_f64(s)), Some(stream))
                }
                _ => format!("error: save takes a positive number of seconds, not {secs:?}\n"),
            },
            _ => format!(
                "error: unknown command {:?}; the control socket takes `save` or `save SECONDS`\n",
                line.trim()
            ),
        };
        let mut stream = stream;
        let _ = stream.write_all(answer.as_bytes());
        None
    }

    fn start_save(&mut self, last: Option<Duration>, reply: Option<UnixStream>) -> Option<String> {
        let clip = match self.buffer.clip(last) {
            Ok(c) => c,
            Err(e) => {
                let message = format!("replay not saved: {e}");
                if let Some(mut r) = reply {
                    let _ = writeln!(r, "error: {e}");
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

    /// Waits for the saves still being written; lines to print.
    pub fn finish(mut self) -> Vec<String> {
        let mut lines = self.poll();
        for p in self.pending.drain(..) {
            let path = p.save.path().to_path_buf();
            let outcome = p.save.wait();
            lines.push(report_path(&path, outcome, p.reply));
        }
        if let Some((_, path)) = &self.control {
            let _ = std::fs::remove_file(path);
        }
        lines
    }
}

fn report(
    save: &PendingSave,
    outcome: Result<ghoststream::sink::SinkSummary, ghoststream::replay::ReplayError>,
    reply: Option<UnixStream>,
) -> String {
    report_path(save.path(), outcome, reply)
}

fn report_path(
    path: &Path,
    outcome: Result<ghoststream::sink::SinkSummary, ghoststream::replay::ReplayError>,
    reply: Option<UnixStream>,
) -> String {
    let (line, answer) = match outcome {
        Ok(s) => (
            format!(
                "replay saved: {} ({} frames, {} bytes)",
                path.display(),
                s.packets,
                s.bytes
            ),
            format!("saved {}\n", path.display()),
        ),
        Err(e) => (format!("replay not saved: {e}"), format!("error: {e}\n")),
    };
    if let Some(mut r) = reply {
        let _ = r.write_all(answer.as_bytes());
    }
    line
}
