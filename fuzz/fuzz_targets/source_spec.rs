//! Source names (`--source`, the C ABI's `source` string) over arbitrary text: a source that
//! prints back to the same text, or a typed error quoting at most 128 characters of it; never
//! a panic.
#![no_main]

use ghoststream::source::{SourceError, SourceSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match text.parse::<SourceSpec>() {
        Ok(spec) => {
            let printed = spec.to_string();
            // `portal:monitor` is the default pick and prints as `portal`.
            if text != "portal:monitor" {
                assert_eq!(printed, text, "the name prints back as given");
            }
            assert_eq!(printed.parse::<SourceSpec>().ok(), Some(spec));
        }
        Err(SourceError::BadSpec { spec, .. }) => {
            assert!(spec.chars().count() <= 128 && text.starts_with(&spec));
        }
        Err(e) => panic!("{text:?}: an error other than BadSpec: {e}"),
    }
});
