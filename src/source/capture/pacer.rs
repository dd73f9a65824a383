//! Constant-frame-rate pacing of a capture: one frame per tick of the target rate, each emitted
//! as soon as it arrives. Timestamps stay on the constant grid, one period apart; what is kept
//! constant is the count of frames against the clock, not the moment each one is handed on.
//!
//! Tick n starts at `start + n * period`. Its frame may go out from one period before the
//! tick starts (so a source slightly out of phase with the grid, or a little faster, is passed
//! on at once instead of waiting for the tick), and must go out by the tick's end: with no new
//! frame by then, the last one is repeated. A frame that arrives earlier than that window
//! (the source runs faster than the rate) is held if the window opens within a quarter of a
//! period; otherwise it is dropped at once rather than made to wait, and the next arrival
//! fills the tick — unless none comes by the tick's start, when the dropped frame goes out
//! after all (it is the newest picture). Of several frames there together, only the newest goes out;
//! the others count as dropped.
//!
//! The output keeps the size the capture opened with: a frame of another size (an output mode
//! change, a PipeWire renegotiation) is placed at the top left, cropped or padded with black,
//! and counted as `refitted`; the recording goes on instead of failing mid-file.

use crate::source::PacingStats;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{CaptureError, LiveCapture};
use crate::frame::{BufferPool, CpuImage, Frame, FrameImage};
use crate::source::{FrameSource, SourceError, SourceInfo};
use crate::time::{Rational, Timestamp};

/// How long the first frame may take (a screen that never changes still sends its first frame
/// at once: the compositor answers the first request without waiting for damage).
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// The pacer's clock: `Instant::now` outside the unit tests.
type Clock = Box<dyn Fn() -> Instant + Send>;

/// A capture paced to a constant frame rate.
pub struct PacedCapture {
    capture: Box<dyn LiveCapture>,
    rate: Rational,
    pool: Arc<BufferPool>,
    period: Duration,
    /// When the tick of the next frame to emit starts (`None` before the first frame).
    tick_start: Option<Instant>,
    /// Frames that arrived since the last one emitted, not emitted yet.
    unsent: u64,
    /// The newest frame arrived too early for its tick and was counted as dropped; it goes
    /// out after all if nothing newer comes by the tick's start.
    skipped_newest: bool,
    stats: PacingStats,
    clock: Clock,
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
        Self::with_clock(capture, rate, Box::new(Instant::now))
    }

    fn with_clock(
        capture: impl LiveCapture + 'static,
        rate: Rational,
        clock: Clock,
    ) -> Result<Self, CaptureError> {
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
            tick_start: None,
            unsent: 0,
            skipped_newest: false,
            stats: PacingStats::default(),
            clock,
        })
    }

    /// What pacing has done so far.
    pub fn stats(&self) -> PacingStats {
        self.stats
    }

    /// The paced frame of the next tick: its first new frame as soon as it arrives, else the
    /// last one repeated at the tick's end.
    fn tick(&mut self) -> Result<Frame, CaptureError> {
        let arrived = match self.tick_start {
            None => self.first_arrival()?,
            Some(start) => self.arrivals(start)?,
        };
        // Only the newest frame is read out of shared memory; a repeat reads the last one
        // again. One copy per emitted frame, none for dropped ones.
        let Some((image, presented)) = self.capture.last_frame_image()? else {
            return Err(self.first_frame_timeout());
        };
        self.stats.dropped += arrived.saturating_sub(1);
        if arrived == 0 {
            self.stats.repeated += 1;
        }
        let tick_start = *self.tick_start.get_or_insert_with(|| (self.clock)());
        self.tick_start = Some(tick_start + self.period);
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
            // A frame of another size is fitted on the CPU (rare: a resized window).
            let image = match image {
                FrameImage::Cpu(image) => image,
                _ => match self.capture.last_image()? {
                    Some((image, _)) => image,
                    None => return Err(self.first_frame_timeout()),
                },
            };
            self.stats.refitted += 1;
            if self.stats.refitted == 1 {
                tracing::warn!(
                    from = %format!("{}x{}", info.width, info.height),
                    to = %format!("{}x{}", image.width(), image.height()),
                    "capture size changed; frames are cropped or padded to the first size"
                );
            }
            FrameImage::Cpu(fit(&image, info.width, info.height, &self.pool)?)
        };
        let mut frame = Frame {
            pts: Timestamp::from_nanos(pts),
            duration: None,
            capture_time: None,
            arrival_time: None,
            image,
        };
        // A repeat is no new picture: it has no capture time (its capture-to-packet latency
        // would measure how long the screen stayed still).
        frame.capture_time = (arrived > 0).then_some(presented);
        frame.arrival_time = (arrived > 0).then(|| self.capture.last_arrival()).flatten();
        Ok(frame)
    }
}

impl PacedCapture {
    /// The first frame starts the clock: waits for it (up to [`FIRST_FRAME_TIMEOUT`]) and
    /// takes it at once.
    fn first_arrival(&mut self) -> Result<u64, CaptureError> {
        let deadline = (self.clock)() + FIRST_FRAME_TIMEOUT;
        match self.capture.wait_frame_before(deadline)? {
            Some(_) => Ok(1),
            None => Err(self.first_frame_timeout()),
        }
    }

    /// The frames for the tick starting at `start` (see the module's rules): waits for the
    /// first arrival inside the tick's window, from one period before `start` to one period
    /// after it; holds one that comes less than a quarter period before the window opens and
    /// drops one that comes earlier. Frames already there when the caller comes late are all
    /// taken, without waiting. Returns how many arrived for this tick (0: a repeat).
    fn arrivals(&mut self, start: Instant) -> Result<u64, CaptureError> {
        let open = start.checked_sub(self.period).unwrap_or(start);
        let end = start + self.period;
        let hold = self.period / 4;
        loop {
            let now = (self.clock)();
            if self.unsent > 0 && now >= open {
                break;
            }
            if now >= end || (self.skipped_newest && now >= start) {
                // Nothing newer than a skipped frame by the tick's start: it goes out after
                // all (no longer counted as dropped). No frame at all by the tick's end: the
                // last one is repeated.
                if std::mem::take(&mut self.skipped_newest) {
                    self.stats.dropped -= 1;
                    self.unsent += 1;
                }
                break;
            }
            let deadline = match (self.unsent > 0, self.skipped_newest) {
                (true, _) => open,
                (false, true) => start,
                (false, false) => end,
            };
            if self.capture.wait_frame_before(deadline)?.is_none() {
                continue;
            }
            let now = (self.clock)();
            if now >= open || open.duration_since(now) <= hold {
                self.unsent += 1;
                self.skipped_newest = false;
            } else {
                // Too early for this tick: dropped now rather than held for longer than a
                // quarter period (the source runs faster than the rate).
                self.stats.dropped += 1 + std::mem::take(&mut self.unsent);
                self.skipped_newest = true;
            }
        }
        // Anything else already there (a caller that came late, or frames that arrived
        // together): the newest is the one read.
        while self.capture.wait_frame_before((self.clock)())?.is_some() {
            self.unsent += 1;
        }
        Ok(std::mem::take(&mut self.unsent))
    }

    fn first_frame_timeout(&self) -> CaptureError {
        CaptureError::Timeout {
            output: self.capture.name().to_string(),
            waited_ms: u64::try_from(FIRST_FRAME_TIMEOUT.as_millis()).unwrap_or(u64::MAX),
        }
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

    /// The next tick's frame: as soon as a new frame arrives in the tick, or at the tick's end
    /// (a repeat), never later.
    fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        Ok(Some(self.tick()?))
    }

    fn pacing(&self) -> Option<PacingStats> {
        Some(self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::PixelFormat;
    use crate::frame::FrameImage;
    use std::sync::Mutex;

    /// A shared fake clock: the capture moves it forward as it "waits".
    #[derive(Clone)]
    struct FakeClock(Arc<Mutex<Instant>>);

    impl FakeClock {
        fn now(&self) -> Instant {
            *self.0.lock().unwrap()
        }
        fn set(&self, t: Instant) {
            *self.0.lock().unwrap() = t;
        }
    }

    /// A capture whose frames arrive at scripted times (milliseconds from `base`); each
    /// frame's picture is its index in the script.
    struct ScriptedCapture {
        clock: FakeClock,
        base: Instant,
        arrivals: Vec<u64>,
        reported: usize,
    }

    impl ScriptedCapture {
        fn at(&self, ms: u64) -> Instant {
            self.base + Duration::from_millis(ms)
        }
    }

    impl LiveCapture for ScriptedCapture {
        fn name(&self) -> &str {
            "scripted"
        }

        fn info(&self) -> SourceInfo {
            SourceInfo {
                format: PixelFormat::Bgra8,
                width: 4,
                height: 2,
                frame_rate: Rational::new(60, 1),
            }
        }

        fn wait_frame_before(
            &mut self,
            deadline: Instant,
        ) -> Result<Option<Timestamp>, CaptureError> {
            let now = self.clock.now();
            match self.arrivals.get(self.reported).map(|&ms| self.at(ms)) {
                Some(t) if t <= now.max(deadline) => {
                    self.clock.set(now.max(t));
                    self.reported += 1;
                    Ok(Some(Timestamp::from_nanos(0)))
                }
                _ => {
                    self.clock.set(now.max(deadline));
                    Ok(None)
                }
            }
        }

        fn last_image(&self) -> Result<Option<(CpuImage, Timestamp)>, CaptureError> {
            let Some(newest) = self.reported.checked_sub(1) else {
                return Ok(None);
            };
            let mut image = CpuImage::new(PixelFormat::Bgra8, 4, 2, None).unwrap();
            image.row_mut(0, 0)[0] = u8::try_from(newest).unwrap();
            let ms = i64::try_from(self.arrivals[newest]).unwrap();
            Ok(Some((image, Timestamp::from_nanos(ms * 1_000_000))))
        }
    }

    /// One emitted frame: when (ms after the start), which picture, its pts (ms) and whether
    /// it has a capture time (a new picture, not a repeat).
    #[derive(Debug, PartialEq, Eq)]
    struct Emitted {
        at_ms: u128,
        picture: u8,
        pts_ms: i64,
        captured: bool,
    }

    /// Paces the script at 10 fps (ticks of 100 ms, the first starting at the first arrival)
    /// and returns `frames` emitted frames and the stats.
    fn pace(arrivals: &[u64], frames: usize) -> (Vec<Emitted>, PacingStats) {
        let base = Instant::now();
        let clock = FakeClock(Arc::new(Mutex::new(base)));
        let capture = ScriptedCapture {
            clock: clock.clone(),
            base,
            arrivals: arrivals.to_vec(),
            reported: 0,
        };
        let reader = clock.clone();
        let mut paced = PacedCapture::with_clock(
            capture,
            Rational::new(10, 1),
            Box::new(move || reader.now()),
        )
        .unwrap();
        let out = (0..frames)
            .map(|_| {
                let frame = paced.tick().unwrap();
                let FrameImage::Cpu(image) = &frame.image else {
                    panic!("a CPU frame")
                };
                Emitted {
                    at_ms: clock.now().duration_since(base).as_millis(),
                    picture: image.row(0, 0)[0],
                    pts_ms: frame.pts.as_nanos() / 1_000_000,
                    captured: frame.capture_time.is_some(),
                }
            })
            .collect();
        (out, paced.stats())
    }

    fn e(at_ms: u128, picture: u8, pts_ms: i64, captured: bool) -> Emitted {
        Emitted {
            at_ms,
            picture,
            pts_ms,
            captured,
        }
    }

    #[test]
    fn a_frame_arriving_early_in_a_tick_is_emitted_at_once() {
        // Ticks [0, 100), [100, 200), [200, 300): frames at 0, 120 and 230 go out as they
        // come, not at 100, 200 and 300.
        let (out, stats) = pace(&[0, 120, 230], 3);
        assert_eq!(
            out,
            [e(0, 0, 0, true), e(120, 1, 100, true), e(230, 2, 200, true)]
        );
        assert_eq!(
            stats,
            PacingStats {
                emitted: 3,
                repeated: 0,
                dropped: 0,
                refitted: 0
            }
        );
    }

    #[test]
    fn a_tick_without_a_new_frame_repeats_the_last_at_its_end() {
        // Nothing in [200, 300) and [300, 400): the frame of 150 is repeated at 300 and 400,
        // with no capture time; the frame of 450 goes out at once.
        let (out, stats) = pace(&[0, 150, 450], 5);
        assert_eq!(
            out,
            [
                e(0, 0, 0, true),
                e(150, 1, 100, true),
                e(300, 1, 200, false),
                e(400, 1, 300, false),
                e(450, 2, 400, true),
            ]
        );
        assert_eq!((stats.emitted, stats.repeated, stats.dropped), (5, 2, 0));
    }

    #[test]
    fn a_frame_goes_out_up_to_a_period_before_its_tick_and_earlier_ones_are_dropped_not_held() {
        // Tick n starts at 100n; its window is [100(n-1), 100(n+1)). 110 fills tick 1; 130 is
        // already in tick 2's window [100, 300) and goes out at once; 160 is 40 ms before
        // tick 3's window opens (more than a quarter period): dropped, not held; 250 fills
        // tick 3 as it comes.
        let (out, stats) = pace(&[0, 110, 130, 160, 250], 4);
        assert_eq!(
            out,
            [
                e(0, 0, 0, true),
                e(110, 1, 100, true),
                e(130, 2, 200, true),
                e(250, 4, 300, true),
            ]
        );
        assert_eq!((stats.emitted, stats.repeated, stats.dropped), (4, 0, 1));
    }

    #[test]
    fn a_frame_just_before_its_window_is_held_and_the_newest_of_those_held_goes() {
        // 80 and 85 come less than a quarter period (25 ms) before tick 2's window opens at
        // 100: held to 100, where the newer goes and the older counts as dropped.
        let (out, stats) = pace(&[0, 10, 80, 85], 3);
        assert_eq!(
            out,
            [e(0, 0, 0, true), e(10, 1, 100, true), e(100, 3, 200, true)]
        );
        assert_eq!((stats.emitted, stats.repeated, stats.dropped), (3, 0, 1));
    }

    #[test]
    fn a_dropped_early_frame_goes_out_at_its_ticks_start_when_nothing_newer_came() {
        // 50 is too early for tick 2 (window from 100): dropped, but nothing newer comes, so
        // it goes out at tick 2's start (200) as a new frame and is not counted as dropped.
        let (out, stats) = pace(&[0, 10, 50], 3);
        assert_eq!(
            out,
            [e(0, 0, 0, true), e(10, 1, 100, true), e(200, 2, 200, true)]
        );
        assert_eq!((stats.emitted, stats.repeated, stats.dropped), (3, 0, 0));
    }

    #[test]
    fn frames_that_arrived_together_count_all_but_the_newest_as_dropped() {
        // A burst at 140 (three frames at once) in tick [100, 200): the newest goes out at
        // 140, two are dropped; then nothing, so 200's tick repeats it at 300.
        let (out, stats) = pace(&[0, 140, 140, 140], 3);
        assert_eq!(
            out,
            [
                e(0, 0, 0, true),
                e(140, 3, 100, true),
                e(300, 3, 200, false)
            ]
        );
        assert_eq!((stats.emitted, stats.repeated, stats.dropped), (3, 1, 2));
    }

    #[test]
    fn with_no_first_frame_the_pacer_times_out() {
        let (clock, base) = {
            let base = Instant::now();
            (FakeClock(Arc::new(Mutex::new(base))), base)
        };
        let capture = ScriptedCapture {
            clock: clock.clone(),
            base,
            arrivals: Vec::new(),
            reported: 0,
        };
        let reader = clock.clone();
        let mut paced = PacedCapture::with_clock(
            capture,
            Rational::new(10, 1),
            Box::new(move || reader.now()),
        )
        .unwrap();
        match paced.tick() {
            Err(CaptureError::Timeout { output, waited_ms }) => {
                assert_eq!((output.as_str(), waited_ms), ("scripted", 10_000));
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
        assert_eq!(clock.now().duration_since(base), FIRST_FRAME_TIMEOUT);
    }
}
