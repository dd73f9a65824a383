//! The command line's value parsers (`ghoststream::units`, and `KeyframeEvery`, which reads its
//! durations through them) over arbitrary text: a value inside the documented bounds, or a
//! typed error naming the text received; never a panic (`Duration::from_secs_f64` on 1e20
//! panicked before these parsers existed).
#![no_main]

use ghoststream::units::{
    parse_bitrate, parse_buffer_bits, parse_bytes, parse_duration, parse_rate, parse_size,
    UnitError, MAX_BYTES, MAX_DURATION, MAX_RATE_TERM, MIN_BARE_BITS,
};
use ghoststream::{
    ConfigError, KeyframeEvery, KeyframeInterval, Rational, MAX_BITRATE, MAX_KEYFRAME_INTERVAL,
};
use libfuzzer_sys::fuzz_target;

fn check<T>(text: &str, r: Result<T, UnitError>, ok: impl FnOnce(&T) -> bool) {
    match r {
        Ok(v) => assert!(ok(&v), "{text:?} was accepted out of bounds"),
        Err(e) => assert_eq!(e.value, text, "the error names the text received"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check(text, parse_duration(text), |d| {
        !d.is_zero() && *d <= MAX_DURATION
    });
    for parsed in [parse_bitrate(text), parse_buffer_bits(text)] {
        // A bare number under MIN_BARE_BITS is refused with a likely reading (k or M added).
        if let Err(UnitError {
            did_you_mean: Some(meant),
            ..
        }) = &parsed
        {
            assert!(
                *meant == format!("{}k", text.trim()) || *meant == format!("{}M", text.trim()),
                "{text:?}: suggested {meant:?}"
            );
        }
        let bare =
            !text.trim().is_empty() && text.trim().bytes().all(|b| b.is_ascii_digit() || b == b'.');
        check(text, parsed, |b| {
            (1..=MAX_BITRATE).contains(b) && (!bare || *b >= MIN_BARE_BITS)
        });
    }
    match text.parse::<KeyframeEvery>() {
        Ok(every) => match every.interval(Rational::new(30000, 1001)) {
            Ok(KeyframeInterval::Frames(n)) => {
                assert!((1..=MAX_KEYFRAME_INTERVAL).contains(&n), "{text:?}: {n}")
            }
            Ok(_) => assert_eq!(every, KeyframeEvery::Never),
            Err(e) => assert!(!e.to_string().is_empty()),
        },
        Err(ConfigError::Invalid { value, .. }) => assert_eq!(value, format!("'{text}'")),
        Err(e) => panic!("{text:?}: {e:?}"),
    }
    check(text, parse_bytes(text), |b| (1..=MAX_BYTES).contains(b));
    check(text, parse_size(text), |&(w, h)| {
        (1..=65535).contains(&w) && (1..=65535).contains(&h)
    });
    check(text, parse_rate(text), |r| {
        r.is_positive() && r.num <= MAX_RATE_TERM && r.den <= MAX_RATE_TERM
    });
});
