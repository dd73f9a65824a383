//! The PipeWire buffer metadata readers (cursor, header, damage) over arbitrary bytes, as a
//! producer in another process could lay them out: every offset and size in them is checked.
#![no_main]

use ghoststream::capture::{parse_buffer_meta, parse_cursor_meta};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(update) = parse_cursor_meta(data) {
        if let Some(Some(bitmap)) = update.bitmap {
            assert!(bitmap.width >= 1 && bitmap.width <= 256 && bitmap.height <= 256);
            assert_eq!(
                bitmap.rgba.len(),
                bitmap.width as usize * bitmap.height as usize * 4
            );
        }
    }
    // The same bytes split into a header and a damage list.
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (header, damage) = data.split_at(split);
    let meta = parse_buffer_meta(Some(header), Some(damage));
    assert!(meta
        .damage_regions
        .is_some_and(|n| n as usize <= damage.len() / 16));
    let _ = parse_buffer_meta(None, Some(data));
    let _ = parse_buffer_meta(Some(data), None);
});
