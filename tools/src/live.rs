//! The live status line of a capture (`record`): frames per second, what pacing dropped and
//! repeated, and capture-to-packet latency over the last few seconds.

use std::collections::VecDeque;
use std::time::Duration;

use ghoststream::source::PacingStats;
use ghoststream::stats::LatencyHistogram;
use ghoststream::FrameStats;

/// Latencies kept for the rolling figures (about 5 s at 60 fps).
const WINDOW: usize = 300;

/// Capture-to-packet latencies of the packets written so far: the last few exactly, all of
/// them in a fixed-size histogram (an hour of recording costs no more than a minute).
#[derive(Debug, Default)]
pub struct LiveStatus {
    recent: VecDeque<i64>,
    all: LatencyHistogram,
}

impl LiveStatus {
    /// Notes a written packet's latency (frames without a capture time, such as repeats of an
    /// unchanged screen, have none).
    pub fn packet(&mut self, stats: &FrameStats) {
        let Some(latency) = stats.capture_to_packet_latency() else {
            return;
        };
        let ns = latency.0;
        if self.recent.len() == WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(ns);
        self.all.add(latency);
    }

    /// The status line: `59.9 fps · 0 dropped · 12 repeated · latency 18.2 ms median, 25.0 ms p99`.
    pub fn line(&self, pacing: PacingStats, elapsed: Duration) -> String {
        let fps = pacing.emitted as f64 / elapsed.as_secs_f64().max(1e-9);
        let mut recent: Vec<i64> = self.recent.iter().copied().collect();
        format!(
            "{fps:.1} fps · {} dropped · {} repeated · latency {}",
            pacing.dropped,
            pacing.repeated,
            latency_figures(&mut recent)
        )
    }

    /// The end-of-recording summary over every packet.
    pub fn summary(&self, pacing: PacingStats) -> String {
        let all = match (self.all.quantile(0.5), self.all.quantile(0.99)) {
            (Some(median), Some(p99)) => format!(
                "{:.1} ms median, {:.1} ms p99",
                median.as_nanos() as f64 / 1e6,
                p99.as_nanos() as f64 / 1e6
            ),
            _ => "n/a".into(),
        };
        format!(
            "{} frames at constant rate: {} captured frames dropped (newer one in the same tick), {} repeats of an unchanged screen{}; capture-to-packet latency {}",
            pacing.emitted,
            pacing.dropped,
            pacing.repeated,
            if pacing.refitted > 0 {
                format!(", {} frames fitted to the first size", pacing.refitted)
            } else {
                String::new()
            },
            all
        )
    }
}

/// "18.2 ms median, 25.0 ms p99", or "n/a" with no samples.
fn latency_figures(ns: &mut [i64]) -> String {
    if ns.is_empty() {
        return "n/a".into();
    }
    ns.sort_unstable();
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "q is in [0, 1], so the rounded index is in 0..len"
    )]
    let at = |q: f64| ns[((ns.len() - 1) as f64 * q).round() as usize] as f64 / 1e6;
    format!("{:.1} ms median, {:.1} ms p99", at(0.5), at(0.99))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_figures_are_the_median_and_p99() {
        let mut ns: Vec<i64> = (1..=100).map(|i| i * 1_000_000).collect();
        assert_eq!(latency_figures(&mut ns), "51.0 ms median, 99.0 ms p99");
        assert_eq!(latency_figures(&mut []), "n/a");
    }
}
