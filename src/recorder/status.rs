//! What a running recording has done so far, read from any thread: frames, bytes, drops,
//! pacing, how far behind real time it runs, and capture-to-packet latency.

use std::collections::VecDeque;
use std::time::Duration;

use crate::output::live::LiveStats;
use crate::output::replay::ReplayStats;
use crate::packet::FrameStats;
use crate::source::PacingStats;
use crate::stats::LatencyHistogram;
use crate::time::Span;

/// Latencies kept for the recent figures (about 5 s at 60 fps).
const WINDOW: usize = 300;

/// A snapshot of a recording.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct RecorderStatus {
    /// Whether the source, outputs and session are open and frames flow.
    pub started: bool,
    /// Frames handed to the encoder.
    pub submitted: u64,
    /// Packets written to the outputs.
    pub packets: u64,
    /// Encoded bytes.
    pub bytes: u64,
    /// Frames the session dropped to stay in real time.
    pub dropped: u64,
    /// The frames the recording will make, when known (a limit, or a file's length).
    pub total: Option<u64>,
    /// Video time encoded (packets at the frame rate).
    pub video: Duration,
    /// Wall-clock time since frames started.
    pub elapsed: Duration,
    /// How far a live source's encode runs behind real time (zero when it keeps up, or for a
    /// file, which has no real time).
    pub behind: Duration,
    /// What constant-rate pacing did, for a capture.
    pub pacing: Option<PacingStats>,
    /// Capture-to-packet latency over the last few seconds: median and 99th percentile.
    pub recent_latency: Option<(Span, Span)>,
    /// The same over the whole recording (from a fixed-size histogram).
    pub latency: Option<(Span, Span)>,
    /// The replay buffer's content, when there is one.
    pub replay: Option<ReplayStats>,
    /// Each live stream, by URL.
    pub streams: Vec<(String, LiveStats)>,
}

impl RecorderStatus {
    /// One line of JSON with the figures a client of the control socket reads (`status`).
    pub fn to_json(&self) -> String {
        use std::fmt::Write as _;
        let ms =
            |s: Span| Duration::from_nanos(u64::try_from(s.0).unwrap_or(0)).as_secs_f64() * 1e3;
        let mut o = format!(
            "{{\"started\":{},\"submitted\":{},\"packets\":{},\"bytes\":{},\"dropped\":{},\"video_seconds\":{:.3},\"elapsed_seconds\":{:.3},\"behind_seconds\":{:.3}",
            self.started,
            self.submitted,
            self.packets,
            self.bytes,
            self.dropped,
            self.video.as_secs_f64(),
            self.elapsed.as_secs_f64(),
            self.behind.as_secs_f64(),
        );
        // Writing to a String cannot fail.
        if let Some(t) = self.total {
            let _ = write!(o, ",\"total\":{t}");
        }
        if let Some(p) = self.pacing {
            let _ = write!(
                o,
                ",\"pacing\":{{\"emitted\":{},\"repeated\":{},\"dropped\":{},\"refitted\":{}}}",
                p.emitted, p.repeated, p.dropped, p.refitted
            );
        }
        if let Some((median, p99)) = self.latency {
            let _ = write!(
                o,
                ",\"latency_ms\":{{\"median\":{:.3},\"p99\":{:.3}}}",
                ms(median),
                ms(p99)
            );
        }
        if let Some(r) = &self.replay {
            let _ = write!(
                o,
                ",\"replay\":{{\"seconds\":{:.3},\"bytes\":{},\"packets\":{}}}",
                r.duration.as_secs_f64(),
                r.bytes,
                r.packets
            );
        }
        if !self.streams.is_empty() {
            o.push_str(",\"streams\":[");
            for (i, (url, s)) in self.streams.iter().enumerate() {
                let _ = write!(
                    o,
                    "{}{{\"url\":{},\"connected\":{},\"sent\":{},\"dropped\":{},\"connections\":{}}}",
                    if i > 0 { "," } else { "" },
                    json_string(url),
                    s.connected,
                    s.sent,
                    s.dropped,
                    s.connections
                );
            }
            o.push(']');
        }
        o.push('}');
        o
    }
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Capture-to-packet latencies: the last few exactly, all in a fixed-size histogram.
#[derive(Debug, Default)]
pub(crate) struct Latencies {
    recent: VecDeque<Span>,
    all: LatencyHistogram,
}

impl Latencies {
    /// Notes a written packet's latency (a repeated frame has no capture time, so none).
    pub(crate) fn add(&mut self, stats: &FrameStats) {
        let Some(latency) = stats.capture_to_packet_latency() else {
            return;
        };
        if self.recent.len() == WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(latency);
        self.all.add(latency);
    }

    /// Median and p99 of the recent window.
    pub(crate) fn recent(&self) -> Option<(Span, Span)> {
        let mut v: Vec<Span> = self.recent.iter().copied().collect();
        quantiles(&mut v)
    }

    /// Median and p99 of every packet.
    pub(crate) fn all(&self) -> Option<(Span, Span)> {
        Some((self.all.quantile(0.5)?, self.all.quantile(0.99)?))
    }
}

/// Median and p99 of `v` (nearest rank), `None` when empty.
fn quantiles(v: &mut [Span]) -> Option<(Span, Span)> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable_by_key(|s| s.0);
    let last = v.len() - 1;
    let at = |q: usize| v[(last * q + 50) / 100];
    Some((at(50), at(99)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_the_median_and_p99() {
        let mut v: Vec<Span> = (1..=100).map(|i| Span(i * 1_000_000)).collect();
        assert_eq!(
            quantiles(&mut v),
            Some((Span(51_000_000), Span(99_000_000)))
        );
        assert_eq!(quantiles(&mut []), None);
    }

    #[test]
    fn status_json_has_the_counts() {
        let s = RecorderStatus {
            packets: 7,
            bytes: 1234,
            total: Some(10),
            ..RecorderStatus::default()
        };
        let v: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(v["packets"], 7);
        assert_eq!(v["bytes"], 1234);
        assert_eq!(v["total"], 10);
        assert!(v.get("replay").is_none());
    }
}
