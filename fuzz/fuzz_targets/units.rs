//! The command line's value parsers (`ghoststream::units`) over arbitrary text: a value inside
//! the documented bounds, or a typed error naming the text received; never a panic
//! (`Duration::from_secs_f64` on 1e20 panicked before these parsers existed).
#![no_main]

use ghoststream::units::{
    parse_bitrate, parse_bytes, parse_duration, parse_rate, parse_size, UnitError, MAX_BYTES,
    MAX_DURATION, MAX_RATE_TERM,
};
use ghoststream::MAX_BITRATE;
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
    check(text, parse_bitrate(text), |b| (1..=MAX_BITRATE).contains(b));
    check(text, parse_bytes(text), |b| (1..=MAX_BYTES).contains(b));
    check(text, parse_size(text), |&(w, h)| {
        (1..=65535).contains(&w) && (1..=65535).contains(&h)
    });
    check(text, parse_rate(text), |r| {
        r.is_positive() && r.num <= MAX_RATE_TERM && r.den <= MAX_RATE_TERM
    });
});
