//! The control socket's request parser (`ghoststream::control::parse_request`) over arbitrary
//! lines: a request or a typed error, never a panic (`save 1e20` panicked the recording).
//!
//! Built with `--features control` until `ghoststream::control` is on main (fuzz/Cargo.toml).
#![no_main]

use ghoststream::control::parse_request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let _ = format!("{:?}", parse_request(line));
});
