//! Values as people type them: durations (`90`, `1.5m`, `10s`), bitrates (`6M`, `6000k`,
//! `6Mbps`), byte counts (`512M`), frame sizes (`1920x1080`) and frame rates (`60`, `29.97`,
//! `30000/1001`).
//!
//! Every parser takes text from outside (a command line, a control socket, a binding) and
//! answers a value inside its stated bounds or a [`UnitError`] that names the text and what
//! would be accepted. None of them panics, rounds a huge number into a saturated one, or lets a
//! NaN or an infinity through; the fuzz targets in `fuzz/` hold them to that.

use std::time::Duration;

use crate::config::MAX_BITRATE;
use crate::time::Rational;

/// The longest duration any parser here accepts: 366 days. Longer recordings, replay buffers
/// and stream buffers are not meaningful, and `Duration` arithmetic stays far from overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// The largest byte count [`parse_bytes`] accepts: 1 TiB.
pub const MAX_BYTES: u64 = 1 << 40;

/// The largest numerator or denominator a frame rate may have once reduced: the encoders and
/// containers take them in 32-bit signed fields.
pub const MAX_RATE_TERM: i64 = i32::MAX as i64;

/// A value that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} '{value}': {expected}")]
pub struct UnitError {
    /// What was being read ("duration", "bitrate").
    pub what: &'static str,
    /// The text received, as given.
    pub value: String,
    /// What is accepted, with an example.
    pub expected: String,
}

fn error(what: &'static str, value: &str, expected: impl Into<String>) -> UnitError {
    UnitError {
        what,
        value: value.to_string(),
        expected: expected.into(),
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

/// A duration: a number of seconds (`90`, `1.5`), or with a unit: `ms`, `s`, `m`/`min`, `h`
/// (`250ms`, `10s`, `1.5m`, `2h`). Zero, negative, NaN, infinite and longer than
/// [`MAX_DURATION`] are refused.
pub fn parse_duration(s: &str) -> Result<Duration, UnitError> {
    let expected = || {
        format!(
            "give seconds (90, 10s), milliseconds (250ms), minutes (1.5m) or hours (2h), more than 0 and at most {} days",
            MAX_DURATION.as_secs() / 86_400
        )
    };
    let t = s.trim();
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

/// A bitrate in bits per second: `6M`, `6000k`, `6000000`, also `6Mbps`, `6Mb/s`, `6 Mbit/s`.
/// Zero and anything over the engine's [`MAX_BITRATE`] are refused.
pub fn parse_bitrate(s: &str) -> Result<u64, UnitError> {
    let expected = || {
        format!(
            "give bits per second with an optional k, M or G (6M, 6000k, 6Mbps), more than 0 and at most {}M",
            MAX_BITRATE / 1_000_000
        )
    };
    let mut t = s.trim();
    for unit in ["bit/s", "bits/s", "b/s", "bps", "bit"] {
        if let Some(rest) = t
            .strip_suffix(unit)
            .or_else(|| t.strip_suffix(&unit.to_ascii_uppercase()))
        {
            t = rest.trim_end();
            break;
        }
    }
    let v = scaled(t).ok_or_else(|| error("bitrate", s, expected()))?;
    let bits = v.round();
    if bits < 1.0 || bits > MAX_BITRATE as f64 {
        return Err(error("bitrate", s, expected()));
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked above: a whole number in 1..=MAX_BITRATE"
    )]
    let bits = bits as u64;
    Ok(bits)
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
        assert_eq!(parse_bitrate("6M").unwrap(), 6_000_000);
        assert_eq!(parse_bitrate("6000k").unwrap(), 6_000_000);
        assert_eq!(parse_bitrate("1.5M").unwrap(), 1_500_000);
        assert_eq!(parse_bitrate("6Mbps").unwrap(), 6_000_000);
        assert_eq!(parse_bitrate("6 Mbit/s").unwrap(), 6_000_000);
        assert_eq!(parse_bitrate("6Mb/s").unwrap(), 6_000_000);
        assert_eq!(parse_bitrate("2G").unwrap(), 2_000_000_000);
        for bad in [
            "0", "-6M", "1e300", "inf", "nan", "fast", "3G", "", "M", "0.4",
        ] {
            let e = parse_bitrate(bad).unwrap_err();
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
