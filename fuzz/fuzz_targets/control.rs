//! The control socket's request parser (`ghoststream::control::parse_request`) over arbitrary
//! lines (any bytes, as a client may send them): a request within bounds or a typed error,
//! never a panic (`save 1e20` panicked the recording). `bitrate RATE` goes through the
//! library's one bitrate parser and must give what it gives for the same text.
#![no_main]

use ghoststream::control::{parse_request, ControlRequest, MAX_SAVE};
use ghoststream::units::parse_bitrate;
use ghoststream::MAX_BITRATE;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_request(data) {
        Ok(ControlRequest::Save { last: Some(d) }) => {
            assert!(!d.is_zero() && d <= MAX_SAVE, "{d:?} from {data:?}")
        }
        Ok(ControlRequest::Bitrate { bits_per_second }) => {
            assert!(
                bits_per_second > 0 && bits_per_second <= MAX_BITRATE,
                "{bits_per_second} from {data:?}"
            );
            let text = std::str::from_utf8(data).unwrap();
            let rate = text
                .trim_matches(|c: char| c.is_ascii_whitespace())
                .strip_prefix("bitrate")
                .unwrap();
            assert_eq!(parse_bitrate(rate), Ok(bits_per_second), "{data:?}");
        }
        Ok(_) => {}
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
