//! Values as people type them: durations (`90`, `1.5m`, `10s`), bitrates (`6M`, `6000k`,
//! `6Mbps`; a bare `6000` is refused as far too low, with "did you mean 6000k?"), buffer
//! sizes in bits, byte counts (`512M`), frame sizes (`1920x1080`) and frame rates (`60`,
//! `29.97`, `30000/1001`).
//!
//! Every parser takes text from outside (a command line, a control socket, a binding) and
//! answers a value inside its stated bounds or a [`UnitError`] that names the text and what
//! would be accepted. None of them panics, rounds a huge number into a saturated one, or lets a
//! NaN or an infinity through; the fuzz targets in `fuzz/` hold them to that.

use std::time::Duration;

use crate::time::Rational;

/// The largest bitrate accepted, in bits per second (2 Gbit/s): by [`parse_bitrate`] and by
/// [`crate::SessionConfig::validate`].
pub const MAX_BITRATE: u64 = 2_000_000_000;

/// The longest duration any parser here accepts: 366 days. Longer recordings, replay buffers
/// and stream buffers are not meaningful, and `Duration` arithmetic stays far from overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// The largest byte count [`parse_bytes`] accepts: 1 TiB.
pub const MAX_BYTES: u64 = 1 << 40;

/// The largest numerator or denominator a frame rate may have once reduced: the encoders and
/// containers take them in 32-bit signed fields.
pub const MAX_RATE_TERM: i64 = i32::MAX as i64;

/// A value that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitError {
    /// What was being read ("duration", "bitrate").
    pub what: &'static str,
    /// The text received, as given.
    pub value: String,
    /// What is accepted, with an example; for a value that reads but is implausible (a bare
    /// bitrate under [`MIN_BARE_BITS`]), what it would mean as typed.
    pub expected: String,
    /// The value as it was most likely meant (`6000k` for a bare `6000` bitrate), when there
    /// is one likely reading.
    pub did_you_mean: Option<String>,
}

impl std::fmt::Display for UnitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.did_you_mean {
            Some(meant) => write!(
                f,
                "{} {} is {}: did you mean {meant}?",
                self.what, self.value, self.expected
            ),
            None => write!(
                f,
                "invalid {} '{}': {}",
                self.what, self.value, self.expected
            ),
        }
    }
}

impl std::error::Error for UnitError {}

fn error(what: &'static str, value: &str, expected: impl Into<String>) -> UnitError {
    UnitError {
        what,
        value: value.to_string(),
        expected: expected.into(),
        did_you_mean: None,
    }
}

/// A finite, non-negative decimal number (no sign, no hex, no `inf`/`nan`).
fn plain_number(s: &str) -> Option<f64> {
    let s = s.trim();
    let ok = !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_digit() || b == b'.' || b == b'e' || b == b'E' || b == b'+' || b == b'-'
        })
        && s.as_bytes()[0] != b'-'
        && s.as_bytes()[0] != b'+';
    if !ok {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
}

/// A duration: a number of seconds (`90`, `1.5`), or with a unit in any case: `ms`, `s`,
/// `m`/`min`, `h` (`500ms`, `10s`, `1.5m`, `2h`). Zero, negative, NaN, infinite and longer than
/// [`MAX_DURATION`] are refused.
pub fn parse_duration(s: &str) -> Result<Duration, UnitError> {
    let expected = || {
        format!(
            "give seconds (90, 10s), milliseconds (250ms), minutes (1.5m) or hours (2h), more than 0 and at most {} days",
            MAX_DURATION.as_secs() / 86_400
        )
    };
    let lower = s.trim().to_ascii_lowercase();
    let t = lower.as_str();
    let (number, scale) = [
        ("ms", 0.001),
        ("min", 60.0),
        ("s", 1.0),
        ("m", 60.0),
        ("h", 3600.0),
    ]
    .iter()
    .find_map(|(unit, scale)| t.strip_suffix(unit).map(|n| (n, *scale)))
    .unwrap_or((t, 1.0));
    let v = plain_number(number).ok_or_else(|| error("duration", s, expected()))?;
    let secs = v * scale;
    if secs <= 0.0 || secs > MAX_DURATION.as_secs_f64() {
        return Err(error("duration", s, expected()));
    }
    // Under a nanosecond rounds to zero, which is not "more than 0".
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| error("duration", s, expected()))
}

/// A number with an optional decimal multiplier suffix (`k`, `M`, `G`), any case.
fn scaled(s: &str) -> Option<f64> {
    let t = s.trim();
    let (num, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1e3),
        Some('m' | 'M') => (&t[..t.len() - 1], 1e6),
        Some('g' | 'G') => (&t[..t.len() - 1], 1e9),
        _ => (t, 1.0),
    };
    plain_number(num).map(|v| v * mult)
}

/// The smallest bit count [`parse_bitrate`] and [`parse_buffer_bits`] take as a bare number
/// (no `k`, `M`, `G` or unit): 50 000. Below it a bare number is almost always kilobits or
/// megabits typed without their suffix (`6000` for 6000k, `6` for 6M), which would record at
/// a few kbit/s; it is refused with the likely reading instead. With a suffix or unit
/// (`6000bps`, `20k`) any amount is taken as written.
pub const MIN_BARE_BITS: u64 = 50_000;

/// The number and multiplier of a bit count or rate as typed, and whether it was bare (no
/// multiplier and no unit). Units and multipliers are case-insensitive; `k` is 1000.
fn bits(s: &str, units: &[&str]) -> Option<(f64, bool)> {
    let lower = s.trim().to_ascii_lowercase();
    let mut t = lower.as_str();
    let mut bare = true;
    if let Some(rest) = units.iter().find_map(|u| t.strip_suffix(u)) {
        t = rest.trim_end();
        bare = false;
    }
    let (num, mult) = match t.as_bytes().last() {
        Some(b'k') => (&t[..t.len() - 1], 1e3),
        Some(b'm') => (&t[..t.len() - 1], 1e6),
        Some(b'g') => (&t[..t.len() - 1], 1e9),
        _ => (t, 1.0),
    };
    let bare = bare && mult == 1.0;
    plain_number(num).map(|v| (v * mult, bare))
}

/// Reads a count of bits as [`parse_bitrate`] and [`parse_buffer_bits`] describe, refusing a
/// bare number under [`MIN_BARE_BITS`] with its likely reading. `per` is the unit the number
/// is counted in (`bit/s`, `bit`).
fn parse_bits(
    s: &str,
    what: &'static str,
    per: &str,
    units: &[&str],
    expected: &dyn Fn() -> String,
) -> Result<u64, UnitError> {
    let (v, bare) = bits(s, units).ok_or_else(|| error(what, s, expected()))?;
    if bare && v > 0.0 && v < MIN_BARE_BITS as f64 {
        let number = s.trim();
        // Under 50 it reads as megabits (6 for 6M); otherwise as kilobits (6000 for 6000k).
        let meant = if v < 50.0 {
            format!("{number}M")
        } else {
            format!("{number}k")
        };
        let as_typed = if v < 1000.0 {
            format!("{number} {per}")
        } else {
            let kilo = format!("{:.3}", v / 1000.0);
            format!(
                "{} k{per}",
                kilo.trim_end_matches('0').trim_end_matches('.')
            )
        };
        return Err(UnitError {
            what,
            value: s.to_string(),
            expected: format!("{as_typed}, far too low"),
            did_you_mean: Some(meant),
        });
    }
    let bits = v.round();
    if bits < 1.0 || bits > MAX_BITRATE as f64 {
        return Err(error(what, s, expected()));
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked above: a whole number in 1..=MAX_BITRATE"
    )]
    let bits = bits as u64;
    Ok(bits)
}

/// A bitrate in bits per second: `6M`, `6000k`, `2.5M`, `6Mbps`, `6Mb/s`, `6000kbps`,
/// `6000kb/s`, `6 Mbit/s`, `6000000` (multipliers and units in any case; `k` is 1000). A bare
/// number under [`MIN_BARE_BITS`] is refused with its likely reading (`6000`: did you mean
/// `6000k`?; `6`: `6M`); zero and anything over [`MAX_BITRATE`] are refused.
pub fn parse_bitrate(s: &str) -> Result<u64, UnitError> {
    let expected = || {
        format!(
            "give bits per second with an optional k, M or G (6M, 6000k, 6Mbps), more than 0 and at most {}M",
            MAX_BITRATE / 1_000_000
        )
    };
    parse_bits(
        s,
        "bitrate",
        "bit/s",
        &["bits/s", "bit/s", "b/s", "bps", "bits", "bit"],
        &expected,
    )
}

/// A buffer size in bits (a VBV): `6M`, `500k`, `6Mbit`, `6000000`, read as [`parse_bitrate`]
/// reads a rate and under the same rule: a bare number under [`MIN_BARE_BITS`] is refused with
/// its likely reading, since a buffer of a few thousand bits holds less than a frame of any
/// useful stream. Zero and anything over [`MAX_BITRATE`] are refused.
pub fn parse_buffer_bits(s: &str) -> Result<u64, UnitError> {
    let expected = || {
        format!(
            "give bits with an optional k, M or G (6M, 500k), more than 0 and at most {}M",
            MAX_BITRATE / 1_000_000
        )
    };
    parse_bits(
        s,
        "buffer size",
        "bit",
        &["bits/s", "bit/s", "b/s", "bps", "bits", "bit", "b"],
        &expected,
    )
}

/// A byte count: `512M`, `2G`, `65536`, decimal multipliers (`k` = 1000); more than 0 and at most
/// [`MAX_BYTES`].
pub fn parse_bytes(s: &str) -> Result<u64, UnitError> {
    let expected = || {
        format!(
            "give bytes with an optional k, M or G (512M, 2G), more than 0 and at most {}G",
            MAX_BYTES / 1_000_000_000
        )
    };
    let t = s.trim();
    let t = t
        .strip_suffix('B')
        .or_else(|| t.strip_suffix('b'))
        .unwrap_or(t);
    let v = scaled(t).ok_or_else(|| error("byte count", s, expected()))?;
    let bytes = v.round();
    if bytes < 1.0 || bytes > MAX_BYTES as f64 {
        return Err(error("byte count", s, expected()));
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked above: a whole number in 1..=MAX_BYTES"
    )]
    let bytes = bytes as u64;
    Ok(bytes)
}

/// A frame size `WIDTHxHEIGHT` (`1920x1080`), each side from 1 to 65535. Whether a codec or
/// format takes it is the session's check.
pub fn parse_size(s: &str) -> Result<(u32, u32), UnitError> {
    let bad = || error("size", s, "expected WIDTHxHEIGHT, like 1920x1080");
    let (w, h) = s.trim().split_once(['x', 'X']).ok_or_else(bad)?;
    let side = |v: &str| -> Result<u32, UnitError> {
        let v = v.trim();
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        match v.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n),
            _ => Err(error(
                "size",
                s,
                "each side must be from 1 to 65535 pixels, like 1920x1080",
            )),
        }
    };
    Ok((side(w)?, side(h)?))
}

/// Greatest common divisor (both positive).
fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A frame rate: `60`, `29.97` (the NTSC rates 23.976, 29.97 and 59.94 become their exact
/// `/1001` fractions; other decimals are kept to 1/1000), or `NUM/DEN` (`30000/1001`). The result
/// is reduced, and both terms fit 32-bit fields ([`MAX_RATE_TERM`]). Zero, negative, NaN and
/// infinite rates are refused; whether an encoder runs the rate is the session's check.
pub fn parse_rate(s: &str) -> Result<Rational, UnitError> {
    let bad = || {
        error(
            "frame rate",
            s,
            "expected a positive rate: 60, 29.97 or 30000/1001",
        )
    };
    let t = s.trim();
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a decimal rate is checked to be at most MAX_RATE_TERM / 1000 before its casts"
    )]
    let (num, den) = if let Some((n, d)) = t.split_once('/') {
        let term = |v: &str| -> Result<i64, UnitError> {
            let v = v.trim();
            if v.is_empty() || v.len() > 18 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            v.parse::<i64>().map_err(|_| bad())
        };
        (term(n)?, term(d)?)
    } else {
        let v = plain_number(t).ok_or_else(bad)?;
        if v > MAX_RATE_TERM as f64 / 1000.0 {
            return Err(bad());
        }
        let ntsc = [
            (23.976, Rational::new(24000, 1001)),
            (29.97, Rational::new(30000, 1001)),
            (59.94, Rational::new(60000, 1001)),
        ];
        if let Some((_, r)) = ntsc.iter().find(|(a, _)| (v - a).abs() < 0.005) {
            return Ok(*r);
        }
        if v.fract() == 0.0 {
            (v as i64, 1)
        } else {
            ((v * 1000.0).round() as i64, 1000)
        }
    };
    if num <= 0 || den <= 0 {
        return Err(bad());
    }
    let g = gcd(num, den);
    let (num, den) = (num / g, den / g);
    if num > MAX_RATE_TERM || den > MAX_RATE_TERM {
        return Err(error(
            "frame rate",
            s,
            format!("its reduced terms {num}/{den} must each be at most {MAX_RATE_TERM}"),
        ));
    }
    Ok(Rational::new(num, den))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2min").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5M").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration(" 10S ").unwrap(), Duration::from_secs(10));
        for bad in [
            "0", "-5", "1e20", "1e300", "inf", "NaN", "nan", "", "s", "5x", "0x10", "1e20s",
            "367d", "-0", "+5",
        ] {
            let e = parse_duration(bad).unwrap_err();
            assert_eq!(e.value, bad, "{bad}");
            assert!(e.to_string().contains(&format!("'{bad}'")), "{e}");
        }
        assert!(parse_duration("366h").is_ok());
        assert!(parse_duration(&format!("{}", 367 * 86_400)).is_err());
    }

    #[test]
    fn bitrates() {
        for (text, bits) in [
            ("6M", 6_000_000),
            ("6m", 6_000_000),
            ("6000k", 6_000_000),
            ("6000K", 6_000_000),
            ("2.5M", 2_500_000),
            ("6Mbps", 6_000_000),
            ("6MBPS", 6_000_000),
            ("6Mb/s", 6_000_000),
            ("6000kbps", 6_000_000),
            ("6000kb/s", 6_000_000),
            ("6 Mbit/s", 6_000_000),
            ("6Mbits/s", 6_000_000),
            ("2G", 2_000_000_000),
            ("50000", 50_000),
            ("6000000", 6_000_000),
            // With a unit or multiplier, a small amount is taken as written.
            ("6000bps", 6_000),
            ("20k", 20_000),
        ] {
            assert_eq!(parse_bitrate(text), Ok(bits), "{text}");
        }
        for bad in [
            "0", "-6M", "1e300", "inf", "nan", "fast", "3G", "", "M", "6Mbpsx", "6 M M",
        ] {
            let e = parse_bitrate(bad).unwrap_err();
            assert_eq!((e.value.as_str(), &e.did_you_mean), (bad, &None));
            assert!(e.to_string().contains(&format!("'{bad}'")), "{e}");
        }
    }

    #[test]
    fn a_bare_bitrate_under_50k_is_refused_with_its_likely_reading() {
        for (text, meant, message) in [
            (
                "6000",
                "6000k",
                "bitrate 6000 is 6 kbit/s, far too low: did you mean 6000k?",
            ),
            (
                "49999",
                "49999k",
                "bitrate 49999 is 49.999 kbit/s, far too low: did you mean 49999k?",
            ),
            (
                "999",
                "999k",
                "bitrate 999 is 999 bit/s, far too low: did you mean 999k?",
            ),
            (
                "6",
                "6M",
                "bitrate 6 is 6 bit/s, far too low: did you mean 6M?",
            ),
            (
                "2.5",
                "2.5M",
                "bitrate 2.5 is 2.5 bit/s, far too low: did you mean 2.5M?",
            ),
            (
                "1500",
                "1500k",
                "bitrate 1500 is 1.5 kbit/s, far too low: did you mean 1500k?",
            ),
        ] {
            let e = parse_bitrate(text).unwrap_err();
            assert_eq!(e.to_string(), message);
            assert_eq!(
                (e.what, e.value.as_str(), e.did_you_mean.as_deref()),
                ("bitrate", text, Some(meant))
            );
        }
    }

    #[test]
    fn buffer_sizes_follow_the_bitrate_rule_in_bits() {
        assert_eq!(parse_buffer_bits("6M"), Ok(6_000_000));
        assert_eq!(parse_buffer_bits("500kbit"), Ok(500_000));
        assert_eq!(parse_buffer_bits("2Mb"), Ok(2_000_000));
        assert_eq!(parse_buffer_bits("100000"), Ok(100_000));
        let e = parse_buffer_bits("3000").unwrap_err();
        assert_eq!(
            e.to_string(),
            "buffer size 3000 is 3 kbit, far too low: did you mean 3000k?"
        );
        for bad in ["0", "-1", "3G", "x"] {
            let e = parse_buffer_bits(bad).unwrap_err();
            assert!(e.to_string().contains(&format!("'{bad}'")), "{e}");
        }
    }

    #[test]
    fn byte_counts() {
        assert_eq!(parse_bytes("512M").unwrap(), 512_000_000);
        assert_eq!(parse_bytes("64k").unwrap(), 64_000);
        assert_eq!(parse_bytes("2GB").unwrap(), 2_000_000_000);
        for bad in ["0", "-1", "1e300", "2T", "inf"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1920x1080").unwrap(), (1920, 1080));
        assert_eq!(parse_size("64X48").unwrap(), (64, 48));
        for bad in [
            "1920", "0x10", "-2x4", "70000x10", "axb", "x", "1920x", "+2x4",
        ] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("29.97").unwrap(), Rational::new(30000, 1001));
        assert_eq!(parse_rate("60").unwrap(), Rational::new(60, 1));
        assert_eq!(parse_rate("50/2").unwrap(), Rational::new(25, 1));
        assert_eq!(parse_rate("12.5").unwrap(), Rational::new(25, 2));
        assert_eq!(
            parse_rate("1/1000000000").unwrap(),
            Rational::new(1, 1_000_000_000)
        );
        for bad in [
            "-3",
            "0",
            "0/1",
            "1/0",
            "inf",
            "nan",
            "1e300",
            "4294967296/1",
            "1/-1",
            "",
            "30000/1001/2",
            "99999999999999999999/1",
        ] {
            let e = parse_rate(bad).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
