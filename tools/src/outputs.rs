//! Where a recording's packets go: a file, a replay buffer and a live stream at once, each
//! given the same packet (its bytes shared, never copied per sink).

use std::time::Duration;

use ghoststream::output::live::LiveSink;
use ghoststream::output::{FileSink, SinkSummary};
use ghoststream::Packet;

use crate::replay::ReplayRecorder;

/// The sinks of one run.
#[derive(Default)]
pub struct Outputs {
    pub file: Option<FileSink>,
    pub replay: Option<ReplayRecorder>,
    pub stream: Option<LiveSink>,
}

impl Outputs {
    /// Hands `packet` to every sink; a file that cannot be written is an error (the stream and
    /// the replay buffer never fail a write: they drop and count).
    pub fn packet(&mut self, packet: &Packet) -> Result<(), String> {
        if let Some(r) = self.replay.as_mut() {
            r.push(packet);
        }
        if let Some(s) = self.stream.as_mut() {
            s.write(packet);
        }
        if let Some(f) = self.file.as_mut() {
            f.write(packet).map_err(|e| crate::one_line(&e))?;
        }
        Ok(())
    }

    /// Replay saves that ended (lines to print).
    pub fn poll(&mut self) -> Vec<String> {
        self.replay
            .as_mut()
            .map(ReplayRecorder::poll)
            .unwrap_or_default()
    }

    /// Ends a run that encoded nothing: the file is given up (a staged one deleted, so its path
    /// keeps what it had), the stream closed and the replay's control socket removed.
    pub fn abandon(self) {
        if let Some(f) = self.file {
            f.abandon();
        }
        if let Some(s) = self.stream {
            s.finish(Duration::from_secs(1));
        }
        if let Some(r) = self.replay {
            r.finish();
        }
    }

    /// Finishes every sink: the file's summary (or its error), and lines to print about the
    /// stream and the replay saves.
    pub fn finish(self) -> (Option<Result<SinkSummary, String>>, Vec<String>) {
        let summary = self
            .file
            .map(|f| f.finish().map_err(|e| crate::one_line(&e)));
        let mut lines = Vec::new();
        if let Some(s) = self.stream {
            let url = s.url().to_string();
            let stats = s.finish(Duration::from_secs(5));
            lines.push(format!(
                "stream {url}: {} packets sent, {} dropped, {} connection{}{}",
                stats.sent,
                stats.dropped,
                stats.connections,
                if stats.connections == 1 { "" } else { "s" },
                stats
                    .last_error
                    .map(|e| format!(" (last failure: {e})"))
                    .unwrap_or_default()
            ));
        }
        if let Some(r) = self.replay {
            lines.extend(r.finish());
        }
        (summary, lines)
    }
}
