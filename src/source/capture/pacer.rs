//! Constant-frame-rate pacing of a capture: one frame per tick of the target rate. When the
//! screen did not change during a tick, the last frame is repeated; when it changed more than
//! once, the newest frame is kept and the others are counted as dropped.
//!
//! The output keeps the size the capture opened with: a frame of another size (an output mode
//! change, a PipeWire renegotiation) is placed at the top left, cropped or padded with black,
//! and counted as `refitted`; the recording goes on instead of failing mid-file.

use crate::source::PacingStats;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{CaptureError, LiveCapture};
use crate::frame::{BufferPool, CpuImage, Frame};
use crate::source::{FrameSource, SourceError, SourceInfo};
use crate::time::{Rational, Timestamp};

/// How long the first frame may take (a screen that never changes still sends its first frame
/// at once: the compositor answers the first request without waiting for damage).
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// A capture paced to a constant frame rate.
pub struct PacedCapture {
    capture: Box<dyn LiveCapture>,
    rate: Rational,
    pool: Arc<BufferPool>,
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
    /// Paces `capture` to `rate` frames a second, from [`crate::MIN_FRAME_RATE`] to
    /// [`crate::MAX_FRAME_RATE`].
    pub fn new(capture: impl LiveCapture + 'static, rate: Rational) -> Result<Self, CaptureError> {
        let in_range = (crate::MIN_FRAME_RATE..=crate::MAX_FRAME_RATE).contains(&rate.as_f64());
        let period = (rate.is_positive() && in_range)
            .then(|| Duration::try_from_secs_f64(1.0 / rate.as_f64()).ok())
            .flatten()
            .ok_or(CaptureError::BadRate { rate })?;
        Ok(Self {
            capture: Box::new(capture),
            rate,
            pool: BufferPool::new(),
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
                output: self.capture.name().to_string(),
                waited_ms: u64::try_from(FIRST_FRAME_TIMEOUT.as_millis()).unwrap_or(u64::MAX),
            });
        };
        self.stats.dropped += arrived.saturating_sub(1);
        if arrived == 0 {
            self.stats.repeated += 1;
        }
        let tick_start = *self.next_tick.get_or_insert_with(Instant::now);
        self.next_tick = Some(tick_start + self.period);
        let n = i64::try_from(self.stats.emitted).unwrap_or(i64::MAX);
        let pts = self
            .rate
            .invert()
            .rescale(n, Rational::new(1, 1_000_000_000));
        self.stats.emitted += 1;
        let info = self.capture.info();
        let image = if (image.width(), image.height()) == (info.width, info.height) {
            image
        } else {
            self.stats.refitted += 1;
            if self.stats.refitted == 1 {
                tracing::warn!(
                    from = %format!("{}x{}", info.width, info.height),
                    to = %format!("{}x{}", image.width(), image.height()),
                    "capture size changed; frames are cropped or padded to the first size"
                );
            }
            fit(&image, info.width, info.height, &self.pool)?
        };
        let mut frame = Frame::from_cpu(image, Timestamp::from_nanos(pts));
        // A repeat is no new picture: it has no capture time (its capture-to-packet latency
        // would measure how long the screen stayed still).
        frame.capture_time = (arrived > 0).then_some(presented);
        Ok(frame)
    }
}

/// `image` (one packed plane) placed at the top left of a `width`x`height` black image.
fn fit(
    image: &CpuImage,
    width: u32,
    height: u32,
    pool: &Arc<BufferPool>,
) -> Result<CpuImage, CaptureError> {
    let format = image.format();
    let mut out =
        CpuImage::new(format, width, height, Some(pool)).map_err(|e| CaptureError::Io {
            what: format!("a {width}x{height} frame"),
            source: std::io::Error::other(e.to_string()),
        })?;
    let bytes_per_pixel = format.planes(1, 1)[0].row_bytes();
    let keep = image.width().min(width) as usize * bytes_per_pixel;
    for y in 0..height {
        let row = out.row_mut(0, y);
        if y < image.height() {
            row[..keep].copy_from_slice(&image.row(0, y)[..keep]);
            row[keep..].fill(0);
        } else {
            row.fill(0);
        }
    }
    Ok(out)
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

    fn pacing(&self) -> Option<PacingStats> {
        Some(self.stats)
    }
}
