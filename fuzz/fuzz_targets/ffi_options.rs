//! The C ABI's options struct (`GsSessionOptions`, as a C caller may fill it: any value in any
//! field) converted to a `SessionConfig` and checked, as `gs_session_create` does before it
//! opens anything: a config or a result code with a message, never a panic.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use ghoststream_ffi::{gs_session_options_defaults, session_config_from_options, GsSessionOptions};
use libfuzzer_sys::fuzz_target;

/// The struct's fields from the bytes; small enum values most of the time so that the
/// conversion reaches the later fields.
#[derive(Debug, Arbitrary)]
struct Fields {
    mask: u32,
    codec: i32,
    width: u32,
    height: u32,
    fps_num: u32,
    fps_den: u32,
    input_format: i32,
    backend: i32,
    rate_control: i32,
    qp: u32,
    bitrate: u64,
    max_bitrate: u64,
    keyframe_interval: u32,
    preset: i32,
    tuning: i32,
    bit_depth: u32,
    queue_depth: u32,
    backpressure: i32,
    frame_wait_timeout_ms: u32,
    threads: u32,
    input_width: u32,
    input_height: u32,
    gpu: i32,
    sharpen: f32,
    quality: u32,
}

fuzz_target!(|data: &[u8]| {
    let Ok(f) = Fields::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    let mut o = std::mem::MaybeUninit::<GsSessionOptions>::zeroed();
    // SAFETY: `o` is writable memory for one GsSessionOptions.
    unsafe { gs_session_options_defaults(o.as_mut_ptr()) };
    // SAFETY: filled by gs_session_options_defaults above.
    let mut o = unsafe { o.assume_init() };
    // Each bit of `mask` replaces one default with the fuzzed value, so that most runs change
    // a few fields of a valid struct and some change all of them.
    let m = |bit: u32| f.mask & (1 << bit) != 0;
    macro_rules! set {
        ($($bit:literal $field:ident),+ $(,)?) => { $(if m($bit) { o.$field = f.$field; })+ };
    }
    set!(0 codec, 1 width, 2 height, 3 fps_num, 4 fps_den, 5 input_format, 6 backend,
        7 rate_control, 8 qp, 9 bitrate, 10 max_bitrate, 11 keyframe_interval, 12 preset,
        13 tuning, 14 bit_depth, 15 queue_depth, 16 backpressure, 17 frame_wait_timeout_ms,
        18 threads, 19 input_width, 20 input_height, 21 gpu, 22 sharpen, 23 quality);
    // The engine stays NULL: a pointer that is not a live engine is a separate, handle check.
    match session_config_from_options(&o) {
        Ok(config) => config.validate().expect("a converted config is valid"),
        Err((code, message)) => assert!(code < 0 && !message.is_empty(), "{code} {message}"),
    }
});
