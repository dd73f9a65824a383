//! The C ABI's options struct (`GsSessionOptions`, as a C caller may fill it: any value in any
//! field, ABI 0.3's colour, HDR10, VBV, intra refresh and processing fields included) converted
//! to a `SessionConfig` and checked, as `gs_session_create` does before it opens anything, and
//! read as a recorder's encode settings, as `gs_recorder_create` does: a config or a result
//! code with a message, never a panic.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use ghoststream_ffi::{
    gs_session_options_init, recorder_settings_from_options, session_config_from_options,
    GsSessionOptions,
};
use libfuzzer_sys::fuzz_target;

/// The struct's fields from the bytes; small enum values most of the time so that the
/// conversion reaches the later fields.
#[derive(Debug, Arbitrary)]
struct Fields {
    mask: u64,
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
    color_matrix: i32,
    color_range: i32,
    color_transfer: i32,
    color_primaries: i32,
    hdr_primaries: [u16; 6],
    hdr_white_point: [u16; 2],
    hdr_max_luminance: u32,
    hdr_min_luminance: u32,
    hdr_max_cll: u16,
    hdr_max_fall: u16,
    intra_refresh_frames: u32,
    vbv_buffer_bits: u64,
    scale_filter: i32,
    fit: i32,
    tonemap: i32,
    tonemap_transfer: i32,
    tonemap_peak_nits: f32,
    tonemap_measure_peak: i32,
    quality: u32,
}

fuzz_target!(|data: &[u8]| {
    let Ok(f) = Fields::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    let mut o = std::mem::MaybeUninit::<GsSessionOptions>::zeroed();
    let size = u32::try_from(std::mem::size_of::<GsSessionOptions>()).unwrap();
    // SAFETY: `o` is writable memory for one GsSessionOptions of `size` bytes.
    assert_eq!(unsafe { gs_session_options_init(o.as_mut_ptr(), size) }, 0);
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
        18 threads, 19 input_width, 20 input_height, 21 gpu, 22 sharpen, 23 color_matrix,
        24 color_range, 25 color_transfer, 26 color_primaries, 27 hdr_primaries,
        28 hdr_white_point, 29 hdr_max_luminance, 30 hdr_min_luminance, 31 hdr_max_cll,
        32 hdr_max_fall, 33 intra_refresh_frames, 34 vbv_buffer_bits, 35 scale_filter, 36 fit,
        37 tonemap, 38 tonemap_transfer, 39 tonemap_peak_nits, 40 tonemap_measure_peak,
        41 quality);
    // The engine stays NULL: a pointer that is not a live engine is a separate, handle check.
    match session_config_from_options(&o) {
        Ok(config) => config.validate().expect("a converted config is valid"),
        Err((code, message)) => assert!(code < 0 && !message.is_empty(), "{code} {message}"),
    }
    // The same fields as a recorder's encode settings (its codec, size, rate and rate control
    // may also be "the library's choice").
    if let Err((code, message)) = recorder_settings_from_options(&o) {
        assert!(code < 0 && !message.is_empty(), "{code} {message}");
    }
});
