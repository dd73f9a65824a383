//! The Y4M reader over arbitrary bytes: the header, then up to a few frames. Any input gives
//! frames or a typed error, never a panic, an overflow or an unbounded allocation.
#![no_main]

use ghoststream::source::{FrameSource, Y4mReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = Y4mReader::new(std::io::Cursor::new(data.to_vec()), "fuzz input") else {
        return;
    };
    let info = reader.info();
    assert!(info.frame_rate.is_positive(), "{info:?}");
    // A valid header may declare frames of up to 204 MiB (8192x4352 4:4:4 16-bit): allowed,
    // but too slow to allocate on every run; the header's parse is what is fuzzed then.
    if info.format.frame_bytes(info.width, info.height) > 1 << 22 {
        return;
    }
    let mut last = None;
    for _ in 0..4 {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                // Timestamps start at 0 and never go back. (They may repeat: at a rate above
                // 10^9 fps a frame is shorter than the nanosecond they count in, and at one
                // frame in years they saturate. Such rates are refused by SessionConfig's
                // 1 to 1000 fps; the reader only has to stay sound.)
                assert!(last.is_none_or(|t| frame.pts >= t) && frame.pts.as_nanos() >= 0);
                last = Some(frame.pts);
            }
            Ok(None) | Err(_) => break,
        }
    }
});
