//! The raw-frame reader: a format, size and rate decoded from the first bytes (any values,
//! as a command line could give them), then frames from the rest.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use ghoststream::source::{FrameSource, RawReader, SourceInfo};
use ghoststream::{PixelFormat, Rational};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Params {
    format: u8,
    /// Small sizes most of the time (so that frames are read), any u32 sometimes.
    width: Size,
    height: Size,
    num: i64,
    den: i64,
}

#[derive(Debug, Arbitrary)]
enum Size {
    Small(u8),
    Any(u32),
}

impl Size {
    fn get(&self) -> u32 {
        match *self {
            Size::Small(v) => u32::from(v),
            Size::Any(v) => v,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(p) = Params::arbitrary(&mut u) else {
        return;
    };
    let format = PixelFormat::ALL[usize::from(p.format) % PixelFormat::ALL.len()];
    let info = SourceInfo {
        format,
        width: p.width.get(),
        height: p.height.get(),
        frame_rate: Rational::new(p.num, p.den),
    };
    let rest = u.take_rest().to_vec();
    let Ok(mut reader) = RawReader::new(std::io::Cursor::new(rest), "fuzz input", info) else {
        return;
    };
    assert!(info.frame_rate.is_positive());
    if format.frame_bytes(info.width, info.height) > 1 << 22 {
        return;
    }
    for _ in 0..4 {
        match reader.next_frame() {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
});
