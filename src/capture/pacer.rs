//! Constant-frame-rate pacing of a capture: one frame per tick of the target rate. When the
//! screen did not change during a tick, the last frame is repeated; when it changed more than
//! once, the newest frame is kept and the others are counted as dropped.

use std::time::{Duration, Instant};

use super::{CaptureError, WaylandCapture};
use crate::frame::Frame;
use crate::source::{FrameSource, SourceError, SourceInfo};
use crate::time::{Rational, Timestamp};

/// How long the first frame may take (a screen that never changes still sends its first frame
/// at once: the compositor answers the first request without waiting for damage).
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// Counts of what pacing did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacingStats {
    /// Frames emitted.
    pub emitted: u64,
    /// Ticks with no new frame, filled with the previous one.
    pub repeated: u64,
    /// Captured frames replaced by a newer one within the same tick.
    pub dropped: u64,
}

/// A capture paced to a constant frame rate.
pub struct PacedCapture {
    capture: WaylandCapture,
    rate: Rational,
    period: Duration,
    next_tick: Option<Instant>,
    stats: PacingStats,
}

impl std::fmt::Debug for PacedCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacedCapture")
            .field("rate", &self.rate)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl PacedCapture {
    /// Paces `capture` to `rate` frames a second (positive).
    pub fn new(capture: WaylandCapture, rate: Rational) -> Result<Self, CaptureError> {
        if !rate.is_positive() {
            return Err(CaptureError::BadRate { rate });
        }
        let period = Duration::from_secs_f64(1.0 / rate.as_f64());
        Ok(Self {
            capture,
            rate,
            period,
            next_tick: None,
            stats: PacingStats::default(),
        })
    }

    /// What pacing has done so far.
    pub fn stats(&self) -> PacingStats {
        self.stats
    }

    /// The paced frame of the next tick.
    fn tick(&mut self) -> Result<Frame, CaptureError> {
        let deadline = match self.next_tick {
            Some(t) => t,
            // The first frame starts the clock.
            None => Instant::now() + FIRST_FRAME_TIMEOUT,
        };
        // Only the newest frame of the tick is read out of shared memory; an idle tick reads
        // the last one again (a repeat). One copy per emitted frame, none for dropped ones.
        let mut arrived = 0u64;
        while self.capture.wait_frame_before(deadline)?.is_some() {
            arrived += 1;
            if self.next_tick.is_none() {
                break;
            }
        }
        let Some((image, presented)) = self.capture.last_image()? else {
            return Err(CaptureError::Timeout {
                output: self.capture.output_name().to_string(),
                waited_ms: FIRST_FRAME_TIMEOUT.as_millis() as u64,
            });
        };
        self.stats.dropped += arrived.saturating_sub(1);
        if arrived == 0 {
            self.stats.repeated += 1;
        }
        let tick_start = *self.next_tick.get_or_insert_with(Instant::now);
        self.next_tick = Some(tick_start + self.period);
        let n = self.stats.emitted as i64;
        let pts = self
            .rate
            .invert()
            .rescale(n, Rational::new(1, 1_000_000_000));
        self.stats.emitted += 1;
        let mut frame = Frame::from_cpu(image, Timestamp::from_nanos(pts));
        frame.capture_time = Some(presented);
        Ok(frame)
    }
}

impl FrameSource for PacedCapture {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            frame_rate: self.rate,
            ..self.capture.info()
        }
    }

    /// The next tick's frame: waits until the tick, never longer.
    fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        Ok(Some(self.tick()?))
    }
}
