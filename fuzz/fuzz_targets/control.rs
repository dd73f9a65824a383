//! The control socket's request parser (`ghoststream::control::parse_request`) over arbitrary
//! lines (any bytes, as a client may send them): a request within bounds or a typed error,
//! never a panic (`save 1e20` panicked the recording).
#![no_main]

use ghoststream::control::{parse_request, ControlRequest, MAX_SAVE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_request(data) {
        Ok(ControlRequest::Save { last: Some(d) }) => {
            assert!(!d.is_zero() && d <= MAX_SAVE, "{d:?} from {data:?}")
        }
        Ok(_) => {}
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
