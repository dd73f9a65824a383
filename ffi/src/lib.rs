//! The stable C ABI of GhostStream (`ffi/include/ghoststream.h`, generated from this file by
//! cbindgen). First increment: version, result codes, a CPU-frame encode session and its
//! packets.
//!
//! Rules every function keeps:
//! - a Rust panic never crosses the boundary: it becomes `GS_ERR_INTERNAL`;
//! - a NULL pointer, a wrong struct size, an out-of-range enum value or a handle that was
//!   destroyed (or never created) is an error code, never undefined behaviour: live handles are
//!   kept in a registry and every call checks its handle there first;
//! - every fallible call returns an `int32_t` result; the detail is in
//!   `gs_session_last_error()` (per session) or `gs_last_error()` (per thread, for calls
//!   without a session).

use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard};

use ghoststream::{
    Codec, CpuImage, Frame, KeyframeInterval, Packet, PixelFormat, RateControl, Rational, Session,
    SessionConfig, SessionOutput, Timestamp,
};

/// The ABI's major version: changes only with an incompatible change (and the soname).
pub const GS_VERSION_MAJOR: i32 = 0;
/// The minor version: additions only.
pub const GS_VERSION_MINOR: i32 = 1;
/// The patch version.
pub const GS_VERSION_PATCH: i32 = 0;

/// Success.
pub const GS_OK: i32 = 0;
/// Nothing yet: call again (after submitting more, or later).
pub const GS_AGAIN: i32 = 1;
/// The end: the session was flushed and every packet has been received.
pub const GS_EOF: i32 = 2;
/// An invalid configuration value.
pub const GS_ERR_INVALID_CONFIG: i32 = -1;
/// Input that could not be read.
pub const GS_ERR_BAD_INPUT: i32 = -2;
/// No encoder can run the request here.
pub const GS_ERR_UNAVAILABLE: i32 = -3;
/// The encoder failed.
pub const GS_ERR_ENCODER: i32 = -4;
/// An output could not be written.
pub const GS_ERR_OUTPUT: i32 = -5;
/// A call in the wrong state (a submit after flush).
pub const GS_ERR_STATE: i32 = -6;
/// A frame that does not match the session.
pub const GS_ERR_FRAME_MISMATCH: i32 = -7;
/// An internal failure (a panic caught at the boundary, a dead thread).
pub const GS_ERR_INTERNAL: i32 = -8;
/// The GPU failed, or a required GPU is missing.
pub const GS_ERR_GPU: i32 = -9;
/// Something waited for did not happen in time.
pub const GS_ERR_TIMEOUT: i32 = -10;
/// A required pointer was NULL.
pub const GS_ERR_NULL: i32 = -20;
/// An option struct's `size` is smaller than any version of it.
pub const GS_ERR_STRUCT_SIZE: i32 = -21;
/// A handle that is not live (destroyed, released, or never created).
pub const GS_ERR_BAD_HANDLE: i32 = -22;
/// An enum value out of range.
pub const GS_ERR_BAD_ENUM: i32 = -23;

/// AV1.
pub const GS_CODEC_AV1: i32 = 0;
/// HEVC / H.265.
pub const GS_CODEC_HEVC: i32 = 1;
/// H.264 / AVC.
pub const GS_CODEC_H264: i32 = 2;

/// Constant bitrate (`bitrate`).
pub const GS_RC_CBR: i32 = 0;
/// Variable bitrate (`bitrate` average, twice that at most).
pub const GS_RC_VBR: i32 = 1;
/// Constant quantizer (`qp`).
pub const GS_RC_CQP: i32 = 2;

/// How to open a session. Initialise with `gs_session_options_defaults()`, then change fields.
/// `size` is set by that call; a later minor version may add fields at the end.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GsSessionOptions {
    /// `sizeof(GsSessionOptions)` as the caller was compiled with.
    pub size: u32,
    /// `GS_CODEC_*`.
    pub codec: i32,
    /// Picture width in pixels (even).
    pub width: u32,
    /// Picture height in pixels (even).
    pub height: u32,
    /// Frame rate numerator.
    pub fps_num: u32,
    /// Frame rate denominator.
    pub fps_den: u32,
    /// `GS_RC_*`.
    pub rate_control: i32,
    /// Bits per second for CBR and VBR.
    pub bitrate: u64,
    /// Quantizer for CQP (H.264/HEVC 0–51, AV1 0–255).
    pub qp: u32,
    /// A key frame every this many frames; 0 for the codec's default.
    pub keyframe_interval: u32,
    /// Encoder threads; 0 for automatic.
    pub threads: u32,
}

/// An encode session (opaque).
pub struct GsSession {
    session: Session,
    width: u32,
    height: u32,
    /// Outputs taken from the session at flush, handed out by `gs_session_receive`.
    flushed: Option<VecDeque<SessionOutput>>,
    last_error: CString,
}

/// An encoded packet (opaque), owned by the caller until `gs_packet_release`.
pub struct GsPacket {
    packet: Packet,
}

/// Live handles, by address: a call with any other pointer is `GS_ERR_BAD_HANDLE`.
static LIVE: Mutex<Option<HashSet<usize>>> = Mutex::new(None);

fn live() -> MutexGuard<'static, Option<HashSet<usize>>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

fn register(p: usize) {
    live().get_or_insert_with(HashSet::new).insert(p);
}

fn unregister(p: usize) -> bool {
    live().as_mut().is_some_and(|s| s.remove(&p))
}

fn is_live(p: usize) -> bool {
    live().as_ref().is_some_and(|s| s.contains(&p))
}

thread_local! {
    static THREAD_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_thread_error(message: &str) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    THREAD_ERROR.with(|e| *e.borrow_mut() = c);
}

/// Runs `body`, turning a panic into `GS_ERR_INTERNAL`.
fn guarded(body: impl FnOnce() -> i32) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(code) => code,
        Err(_) => {
            set_thread_error("internal error: a panic was caught at the C boundary");
            GS_ERR_INTERNAL
        }
    }
}

/// The version as `MAJOR << 16 | MINOR << 8 | PATCH`. Any thread.
#[no_mangle]
pub extern "C" fn gs_version() -> i32 {
    GS_VERSION_MAJOR << 16 | GS_VERSION_MINOR << 8 | GS_VERSION_PATCH
}

/// A static, NUL-terminated name for a result code (never NULL; unknown codes say so). Any
/// thread; the string lives forever.
#[no_mangle]
pub extern "C" fn gs_result_str(result: i32) -> *const c_char {
    let s: &'static CStr = match result {
        GS_OK => c"success",
        GS_AGAIN => c"nothing yet: call again",
        GS_EOF => c"end of stream",
        GS_ERR_INVALID_CONFIG => c"invalid configuration",
        GS_ERR_BAD_INPUT => c"bad input",
        GS_ERR_UNAVAILABLE => c"unavailable here",
        GS_ERR_ENCODER => c"encoder failure",
        GS_ERR_OUTPUT => c"output failure",
        GS_ERR_STATE => c"call in the wrong state",
        GS_ERR_FRAME_MISMATCH => c"frame does not match the session",
        GS_ERR_INTERNAL => c"internal error",
        GS_ERR_GPU => c"GPU failure",
        GS_ERR_TIMEOUT => c"timed out",
        GS_ERR_NULL => c"a required pointer was NULL",
        GS_ERR_STRUCT_SIZE => c"struct size too small",
        GS_ERR_BAD_HANDLE => c"not a live handle",
        GS_ERR_BAD_ENUM => c"enum value out of range",
        _ => c"unknown result code",
    };
    s.as_ptr()
}

/// The detail of the last failure on this thread of a call that has no session (or whose
/// session could not be used). Valid until the next failing call on this thread.
#[no_mangle]
pub extern "C" fn gs_last_error() -> *const c_char {
    THREAD_ERROR.with(|e| e.borrow().as_ptr())
}

/// Fills `options` with defaults (H.264, 1280x720, 30 fps, CBR 4 Mbit/s) and its `size`. Any
/// thread. NULL is ignored.
///
/// # Safety
/// Each pointer is NULL (reported as an error, or ignored where documented) or valid for the
/// reads and writes described above; handles that are not live are detected and refused.
#[no_mangle]
pub unsafe extern "C" fn gs_session_options_defaults(options: *mut GsSessionOptions) {
    if options.is_null() {
        return;
    }
    let defaults = GsSessionOptions {
        size: std::mem::size_of::<GsSessionOptions>() as u32,
        codec: GS_CODEC_H264,
        width: 1280,
        height: 720,
        fps_num: 30,
        fps_den: 1,
        rate_control: GS_RC_CBR,
        bitrate: 4_000_000,
        qp: 28,
        keyframe_interval: 0,
        threads: 0,
    };
    // SAFETY: `options` is non-null and, by this function's contract, points at writable
    // memory for a GsSessionOptions.
    unsafe { options.write(defaults) };
}

fn config(o: &GsSessionOptions) -> Result<SessionConfig, (i32, String)> {
    let codec = match o.codec {
        GS_CODEC_AV1 => Codec::Av1,
        GS_CODEC_HEVC => Codec::Hevc,
        GS_CODEC_H264 => Codec::H264,
        other => {
            return Err((
                GS_ERR_BAD_ENUM,
                format!("codec {other} is not a GS_CODEC_* value"),
            ))
        }
    };
    if o.fps_num == 0 || o.fps_den == 0 {
        return Err((
            GS_ERR_INVALID_CONFIG,
            format!("frame rate {}/{} must be positive", o.fps_num, o.fps_den),
        ));
    }
    let rate = Rational::new(o.fps_num as i64, o.fps_den as i64);
    let mut c = SessionConfig::new(codec, o.width, o.height, rate);
    c.input_format = PixelFormat::I420;
    c.rate_control = match o.rate_control {
        GS_RC_CBR => RateControl::Cbr { bitrate: o.bitrate },
        GS_RC_VBR => RateControl::Vbr {
            target: o.bitrate,
            max: o.bitrate.saturating_mul(2),
        },
        GS_RC_CQP => RateControl::Cqp { qp: o.qp },
        other => {
            return Err((
                GS_ERR_BAD_ENUM,
                format!("rate control {other} is not a GS_RC_* value"),
            ))
        }
    };
    if o.keyframe_interval > 0 {
        c.keyframe_interval = KeyframeInterval::Frames(o.keyframe_interval);
    }
    c.threads = o.threads;
    c.validate()
        .map_err(|e| (GS_ERR_INVALID_CONFIG, e.to_string()))?;
    Ok(c)
}

/// Opens a session (I420 frames in, packets out) and stores its handle in `*out`; `*out` is
/// NULL on failure, with the detail in `gs_last_error()`. The caller destroys it with
/// `gs_session_destroy`. Any thread.
///
/// # Safety
/// Each pointer is NULL (reported as an error, or ignored where documented) or valid for the
/// reads and writes described above; handles that are not live are detected and refused.
#[no_mangle]
pub unsafe extern "C" fn gs_session_create(
    options: *const GsSessionOptions,
    out: *mut *mut GsSession,
) -> i32 {
    guarded(|| {
        if out.is_null() {
            set_thread_error("gs_session_create: `out` is NULL");
            return GS_ERR_NULL;
        }
        // SAFETY: `out` is non-null and points at a writable pointer (contract).
        unsafe { out.write(std::ptr::null_mut()) };
        if options.is_null() {
            set_thread_error("gs_session_create: `options` is NULL");
            return GS_ERR_NULL;
        }
        // SAFETY: non-null; the first field is read alone before trusting the rest.
        let size = unsafe { std::ptr::addr_of!((*options).size).read_unaligned() };
        if (size as usize) < std::mem::size_of::<GsSessionOptions>() {
            set_thread_error(&format!(
                "gs_session_create: options.size {size} is smaller than GsSessionOptions ({}); initialise it with gs_session_options_defaults",
                std::mem::size_of::<GsSessionOptions>()
            ));
            return GS_ERR_STRUCT_SIZE;
        }
        // SAFETY: the caller's struct is at least as large as this version's (checked).
        let o = unsafe { options.read_unaligned() };
        let config = match config(&o) {
            Ok(c) => c,
            Err((code, message)) => {
                set_thread_error(&message);
                return code;
            }
        };
        match Session::open(config) {
            Ok(session) => {
                let handle = Box::into_raw(Box::new(GsSession {
                    session,
                    width: o.width,
                    height: o.height,
                    flushed: None,
                    last_error: CString::default(),
                }));
                register(handle as usize);
                // SAFETY: as above.
                unsafe { out.write(handle) };
                GS_OK
            }
            Err(e) => {
                let e = ghoststream::Error::from(e);
                set_thread_error(&e.to_string());
                e.code() as i32
            }
        }
    })
}

/// Closes the session and frees it; packets already received stay valid until released.
/// NULL and handles that are not live are ignored.
///
/// # Safety
/// Each pointer is NULL (reported as an error, or ignored where documented) or valid for the
/// reads and writes described above; handles that are not live are detected and refused.
#[no_mangle]
pub unsafe extern "C" fn gs_session_destroy(session: *mut GsSession) {
    let _ = guarded(|| {
        if session.is_null() || !unregister(session as usize) {
            return GS_OK;
        }
        // SAFETY: the pointer was made by Box::into_raw in gs_session_create and has just
        // been taken out of the registry, so it is freed exactly once.
        drop(unsafe { Box::from_raw(session) });
        GS_OK
    });
}

/// Runs `body` on a live session, recording its error message there.
fn with_session(
    session: *mut GsSession,
    body: impl FnOnce(&mut GsSession) -> Result<i32, (i32, String)>,
) -> i32 {
    guarded(|| {
        if session.is_null() {
            set_thread_error("the session is NULL");
            return GS_ERR_NULL;
        }
        if !is_live(session as usize) {
            set_thread_error("the session is not live (destroyed, or never created)");
            return GS_ERR_BAD_HANDLE;
        }
        // SAFETY: live in the registry, so it points at a GsSession from gs_session_create
        // that has not been destroyed; the ABI allows one thread per session at a time.
        let s = unsafe { &mut *session };
        match body(s) {
            Ok(code) => code,
            Err((code, message)) => {
                s.last_error = CString::new(message.replace('\0', " ")).unwrap_or_default();
                code
            }
        }
    })
}

fn session_error(e: ghoststream::SessionError) -> (i32, String) {
    let e = ghoststream::Error::from(e);
    (e.code() as i32, e.to_string())
}

/// Submits one I420 frame: `y`, `u`, `v` planes with their strides in bytes (the chroma planes
/// are half the width and height, rounded up), presentation time `pts_ns` in nanoseconds. The
/// pixels are copied before this returns. One thread per session at a time.
///
/// # Safety
/// Each pointer is NULL (reported as an error, or ignored where documented) or valid for the
/// reads and writes described above; handles that are not live are detected and refused.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // One plane pointer and stride each: the C shape.
pub unsafe extern "C" fn gs_session_submit_i420(
    session: *mut GsSession,
    y: *const u8,
    y_stride: u32,
    u: *const u8,
    u_stride: u32,
    v: *const u8,
    v_stride: u32,
    pts_ns: i64,
) -> i32 {
    with_session(session, |s| {
        if y.is_null() || u.is_null() || v.is_null() {
            return Err((GS_ERR_NULL, "a plane pointer is NULL".into()));
        }
        if s.flushed.is_some() {
            return Err((
                GS_ERR_STATE,
                "the session was flushed: no more frames".into(),
            ));
        }
        let mut image = CpuImage::new(PixelFormat::I420, s.width, s.height, None)
            .map_err(|e| (GS_ERR_BAD_INPUT, e.to_string()))?;
        let planes = [(y, y_stride), (u, u_stride), (v, v_stride)];
        for (p, (src, stride)) in planes.into_iter().enumerate() {
            let rows = if p == 0 {
                s.height
            } else {
                s.height.div_ceil(2)
            };
            let row_bytes = if p == 0 { s.width } else { s.width.div_ceil(2) } as usize;
            if (stride as usize) < row_bytes {
                return Err((
                    GS_ERR_BAD_INPUT,
                    format!(
                        "plane {p}: stride {stride} is shorter than a row of {row_bytes} bytes"
                    ),
                ));
            }
            for row in 0..rows {
                // SAFETY: the caller passes planes of `rows` rows of `stride` bytes (contract);
                // only `row_bytes` <= stride bytes of each row are read.
                let line = unsafe {
                    std::slice::from_raw_parts(src.add(row as usize * stride as usize), row_bytes)
                };
                image.row_mut(p, row)[..row_bytes].copy_from_slice(line);
            }
        }
        let frame = Frame::from_cpu(image, Timestamp::from_nanos(pts_ns));
        s.session.submit(frame).map_err(session_error)?;
        Ok(GS_OK)
    })
}

/// Ends the input: the encoder is drained; the remaining packets come from
/// `gs_session_receive`, then `GS_EOF`. One thread per session at a time.
///
/// # Safety
/// Each pointer is NULL (reported as an error, or ignored where documented) or valid for the
/// reads and writes described above; handles that are not live are detected and refused.
#[no_mangle]
pub unsafe extern "C" fn gs_session_flush(session: *mut GsSession) -> i32 {
    with_session(session, |s| {
        if s.flushed.is_some() {
            return Ok(GS_OK);
        }
        let outputs = s.session.close().map_err(session_error)?;
        s.flushed = Some(outputs.into());
        Ok(GS_OK)
    })
}

/// Takes the next packet into `*out` (GS_OK), or says there is none yet (GS_AGAIN) or no more
/// (GS_EOF, after a flush). The caller owns the packet and releases it with
/// `gs_packet_release`. Frames dropped by back-pressure are skipped. One thread per session
/// at a time.
///
/// # Safety
/// Each pointer is NULL (reported as an error, or ignored where documented) or valid for the
/// reads and writes described above; handles that are not live are detected and refused.
#[no_mangle]
pub unsafe extern "C" fn gs_session_receive(
    session: *mut GsSession,
    out: *mut *mut GsPacket,
) -> i32 {
    with_session(session, |s| {
        if out.is_null() {
            return Err((GS_ERR_NULL, "`out` is NULL".into()));
        }
        // SAFETY: non-null, writable (contract).
        unsafe { out.write(std::ptr::null_mut()) };
        loop {
            let next = match s.flushed.as_mut() {
                Some(queue) => match queue.pop_front() {
                    Some(o) => Some(o),
                    None => return Ok(GS_EOF),
                },
                None => s.session.try_receive().map_err(session_error)?,
            };
            match next {
                None => return Ok(GS_AGAIN),
                Some(SessionOutput::Dropped(_)) => continue,
                Some(SessionOutput::Packet(packet)) => {
                    let handle = Box::into_raw(Box::new(GsPacket { packet }));
                    register(handle as usize);
                    // SAFETY: as above.
                    unsafe { out.write(handle) };
                    return Ok(GS_OK);
                }
            }
        }
    })
}

/// The detail of the session's last failure (empty if none). Valid until the session's next
/// failing call or its destruction. NULL or a dead handle gives a static explanation.
///
/// # Safety
/// Each pointer is NULL (reported as an error, or ignored where documented) or valid for the
/// reads and writes described above; handles that are not live are detected and refused.
#[no_mangle]
pub unsafe extern "C" fn gs_session_last_error(session: *const GsSession) -> *const c_char {
    if session.is_null() || !is_live(session as usize) {
        return c"not a live session".as_ptr();
    }
    // SAFETY: live in the registry (see with_session).
    unsafe { (*session).last_error.as_ptr() }
}

/// Runs `read` on a live packet, or returns `dead` for NULL or a released packet.
fn with_packet<T>(packet: *const GsPacket, dead: T, read: impl FnOnce(&GsPacket) -> T) -> T {
    if packet.is_null() || !is_live(packet as usize) {
        return dead;
    }
    // SAFETY: live in the registry: a GsPacket from gs_session_receive not yet released.
    read(unsafe { &*packet })
}

/// The packet's bytes (Annex-B for H.264/HEVC, OBUs for AV1), valid until it is released;
/// `*size` receives their length. NULL for NULL or a released packet.
///
/// # Safety
/// Each pointer is NULL (reported as an error, or ignored where documented) or valid for the
/// reads and writes described above; handles that are not live are detected and refused.
#[no_mangle]
pub unsafe extern "C" fn gs_packet_data(packet: *const GsPacket, size: *mut usize) -> *const u8 {
    let (data, len) = with_packet(packet, (std::ptr::null(), 0), |p| {
        (p.packet.data.as_ptr(), p.packet.data.len())
    });
    if !size.is_null() {
        // SAFETY: non-null, writable (contract).
        unsafe { size.write(len) };
    }
    data
}

/// The packet's presentation time in nanoseconds (0 for NULL or a released packet).
///
/// # Safety
/// Each pointer is NULL (reported as an error, or ignored where documented) or valid for the
/// reads and writes described above; handles that are not live are detected and refused.
#[no_mangle]
pub unsafe extern "C" fn gs_packet_pts(packet: *const GsPacket) -> i64 {
    with_packet(packet, 0, |p| p.packet.pts.as_nanos())
}

/// 1 when the packet is a key frame (a decoder can start there), else 0.
///
/// # Safety
/// Each pointer is NULL (reported as an error, or ignored where documented) or valid for the
/// reads and writes described above; handles that are not live are detected and refused.
#[no_mangle]
pub unsafe extern "C" fn gs_packet_is_keyframe(packet: *const GsPacket) -> i32 {
    with_packet(packet, 0, |p| p.packet.keyframe as i32)
}

/// The frame number (submission order) the packet encodes.
///
/// # Safety
/// Each pointer is NULL (reported as an error, or ignored where documented) or valid for the
/// reads and writes described above; handles that are not live are detected and refused.
#[no_mangle]
pub unsafe extern "C" fn gs_packet_frame_number(packet: *const GsPacket) -> u64 {
    with_packet(packet, 0, |p| p.packet.frame_number)
}

/// Frees a packet. NULL and packets that are not live are ignored. Any thread.
///
/// # Safety
/// Each pointer is NULL (reported as an error, or ignored where documented) or valid for the
/// reads and writes described above; handles that are not live are detected and refused.
#[no_mangle]
pub unsafe extern "C" fn gs_packet_release(packet: *mut GsPacket) {
    let _ = guarded(|| {
        if packet.is_null() || !unregister(packet as usize) {
            return GS_OK;
        }
        // SAFETY: made by Box::into_raw in gs_session_receive, just taken out of the registry.
        drop(unsafe { Box::from_raw(packet) });
        GS_OK
    });
}
