//! The command line's value parsers (`ghoststream::units`) over arbitrary text: a value or a
//! typed error naming it, never a panic (`Duration::from_secs_f64` on 1e20 panicked).
//!
//! Built with `--features units` until `ghoststream::units` is on main (fuzz/Cargo.toml).
#![no_main]

use ghoststream::units::{parse_bitrate, parse_duration, parse_rate, parse_size};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = format!("{:?}", parse_duration(text));
    let _ = format!("{:?}", parse_bitrate(text));
    let _ = format!("{:?}", parse_size(text));
    let _ = format!("{:?}", parse_rate(text));
});
