//! Timestamps in nanoseconds of `CLOCK_MONOTONIC`, and exact rational time-base conversion.
//!
//! Every timestamp that crosses the public API is a [`Timestamp`]: signed nanoseconds on the
//! monotonic clock (the clock that compositors, PipeWire and Vulkan's calibrated timestamps use on
//! Linux). Containers and bitstream formats want other time bases (1/90000, 1/1000, the frame
//! rate): [`Rational::rescale`] converts between them with 128-bit intermediate arithmetic and
//! round-half-away-from-zero, so that no conversion drifts over a long recording.

use std::fmt;

/// Nanoseconds per second.
pub const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// A point in time in nanoseconds of `CLOCK_MONOTONIC` (or a presentation time on that clock).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current time of `CLOCK_MONOTONIC`.
    pub fn now() -> Self {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        Self(t.tv_sec * NANOS_PER_SECOND + t.tv_nsec)
    }

    /// A timestamp from nanoseconds.
    pub const fn from_nanos(ns: i64) -> Self {
        Self(ns)
    }

    /// The timestamp in nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// The signed distance `self - earlier`.
    pub const fn since(self, earlier: Timestamp) -> Span {
        Span(self.0 - earlier.0)
    }

    /// This timestamp moved by `span`.
    pub const fn add(self, span: Span) -> Timestamp {
        Timestamp(self.0 + span.0)
    }
}

/// A signed length of time in nanoseconds (a frame duration, a latency).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(pub i64);

impl Span {
    /// A span from nanoseconds.
    pub const fn from_nanos(ns: i64) -> Self {
        Self(ns)
    }

    /// The span in nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// The span in (fractional) milliseconds, for display.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3} ms", self.as_millis_f64())
    }
}

/// A rational number `num/den` with a positive denominator: a time base or a frame rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rational {
    /// Numerator.
    pub num: i64,
    /// Denominator (positive).
    pub den: i64,
}

impl Rational {
    /// The nanosecond time base, 1/1 000 000 000.
    pub const NANOS: Rational = Rational::new(1, NANOS_PER_SECOND);

    /// A rational `num/den`. The denominator must be positive for the conversions to be exact;
    /// [`crate::SessionConfig::validate`] checks frame rates that come from users.
    pub const fn new(num: i64, den: i64) -> Self {
        Self { num, den }
    }

    /// The reciprocal `den/num` (a frame rate's frame duration as a time base).
    pub const fn invert(self) -> Self {
        Self {
            num: self.den,
            den: self.num,
        }
    }

    /// The value in lowest terms as two unsigned 32-bit terms (what an IVF header's time base
    /// and NVENC's frame-rate fields hold), or `None` when it is not positive or a term needs
    /// more than 32 bits. A validated [`crate::SessionConfig`]'s frame rate always has them.
    pub fn as_u32_terms(self) -> Option<(u32, u32)> {
        let r = self.reduced();
        if r.num <= 0 || r.den <= 0 {
            return None;
        }
        Some((u32::try_from(r.num).ok()?, u32::try_from(r.den).ok()?))
    }

    /// The same value in lowest terms (the sign on the numerator); `0/0` stays as it is.
    pub fn reduced(self) -> Self {
        let (mut a, mut b) = (self.num.unsigned_abs(), self.den.unsigned_abs());
        while b != 0 {
            (a, b) = (b, a % b);
        }
        if a <= 1 {
            return self;
        }
        // `a` divides both terms, so each quotient fits back into i64.
        #[expect(
            clippy::cast_possible_wrap,
            reason = "a <= 2^63; 2^63 only for i64::MIN / i64::MIN, which its wrap still divides exactly"
        )]
        let (num, den) = (self.num / a as i64, self.den / a as i64);
        if den < 0 {
            Self::new(num.saturating_neg(), den.saturating_neg())
        } else {
            Self::new(num, den)
        }
    }

    /// True when both parts are positive.
    pub const fn is_positive(self) -> bool {
        self.num > 0 && self.den > 0
    }

    /// The value as a float, for display and estimates only.
    pub fn as_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// Converts `value` counted in time base `self` into time base `to`, rounding to the nearest
    /// tick (halves away from zero). Exact for every `i64` input whose result fits in `i64`;
    /// saturates otherwise.
    ///
    /// `value * self.num * to.den / (self.den * to.num)`, computed in 128 bits.
    pub fn rescale(self, value: i64, to: Rational) -> i64 {
        let num = i128::from(value) * i128::from(self.num) * i128::from(to.den);
        let den = i128::from(self.den) * i128::from(to.num);
        if den == 0 {
            return if num >= 0 { i64::MAX } else { i64::MIN };
        }
        let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
        let q = if num >= 0 {
            (num + den / 2) / den
        } else {
            -((-num + den / 2) / den)
        };
        i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX })
    }

    /// The duration in nanoseconds of `frames` frames at this frame rate (`self` read as frames
    /// per second), rounded to the nearest nanosecond.
    pub fn frames_to_nanos(self, frames: i64) -> i64 {
        self.invert().rescale(frames, Rational::NANOS)
    }
}

impl fmt::Display for Rational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u32_terms_are_the_reduced_positive_ones() {
        assert_eq!(Rational::new(60, 2).as_u32_terms(), Some((30, 1)));
        assert_eq!(Rational::new(30, -1).as_u32_terms(), None);
        assert_eq!(Rational::new(0, 1).as_u32_terms(), None);
        assert_eq!(Rational::new(1 << 32, 1).as_u32_terms(), None);
        assert_eq!(
            Rational::new(u32::MAX.into(), 1).as_u32_terms(),
            Some((u32::MAX, 1))
        );
    }

    #[test]
    fn reduced_fractions() {
        assert_eq!(
            Rational::new(60000, 2002).reduced(),
            Rational::new(30000, 1001)
        );
        assert_eq!(Rational::new(50, 2).reduced(), Rational::new(25, 1));
        assert_eq!(Rational::new(3, -6).reduced(), Rational::new(-1, 2));
        assert_eq!(Rational::new(0, 0).reduced(), Rational::new(0, 0));
        assert_eq!(
            Rational::new(i64::MIN, i64::MIN).reduced(),
            Rational::new(1, 1)
        );
    }

    #[test]
    fn rescale_ns_to_90khz_is_exact_and_rounds_to_nearest() {
        let tb90k = Rational::new(1, 90_000);
        assert_eq!(Rational::NANOS.rescale(1_000_000_000, tb90k), 90_000);
        // 1/60 s = 16_666_666.67 ns -> 1500 ticks exactly when rounding.
        assert_eq!(Rational::NANOS.rescale(16_666_667, tb90k), 1500);
        // Halves round away from zero.
        assert_eq!(Rational::new(1, 2).rescale(1, Rational::new(1, 1)), 1);
        assert_eq!(Rational::new(1, 2).rescale(-1, Rational::new(1, 1)), -1);
    }

    #[test]
    fn frame_rate_ntsc_does_not_drift_over_a_day() {
        let fps = Rational::new(30_000, 1001);
        let frames_per_day = 30_000 * 86_400 / 1001;
        let ns = fps.frames_to_nanos(frames_per_day);
        // Exact value: frames * 1001 / 30000 seconds.
        let exact =
            i64::try_from(i128::from(frames_per_day) * 1001 * 1_000_000_000 / 30_000).unwrap();
        assert!((ns - exact).abs() <= 1, "{ns} vs {exact}");
        // And back.
        let back = Rational::NANOS.rescale(ns, fps.invert());
        assert_eq!(back, frames_per_day);
    }

    #[test]
    fn rescale_saturates_instead_of_wrapping() {
        let r = Rational::new(1, 1).rescale(i64::MAX, Rational::NANOS);
        assert_eq!(r, i64::MAX);
    }

    #[test]
    fn monotonic_clock_moves_forward() {
        let a = Timestamp::now();
        let b = Timestamp::now();
        assert!(b >= a);
        assert!(a.as_nanos() > 0);
    }
}
