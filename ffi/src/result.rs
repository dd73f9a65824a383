//! Result codes, their names, the per-thread error detail, and the guard that keeps panics on
//! the Rust side of the boundary.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

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
/// No encoder (or no device, or no live control) can run the request here.
pub const GS_ERR_UNAVAILABLE: i32 = -3;
/// The encoder failed.
pub const GS_ERR_ENCODER: i32 = -4;
/// An output could not be written.
pub const GS_ERR_OUTPUT: i32 = -5;
/// A call in the wrong state (a submit after flush, a replay save before any key frame).
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
/// A struct's `size` is smaller than any version of it.
pub const GS_ERR_STRUCT_SIZE: i32 = -21;
/// A handle that is not live (destroyed, released, never created, or of another type).
pub const GS_ERR_BAD_HANDLE: i32 = -22;
/// An enum value out of range.
pub const GS_ERR_BAD_ENUM: i32 = -23;
/// A caller's buffer too small for what the call returns (the bytes it needs are reported).
pub const GS_ERR_BUFFER_TOO_SMALL: i32 = -24;

/// A failed call: its result code and the detail for the last-error strings.
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn null(what: &str) -> Self {
        Self::new(GS_ERR_NULL, format!("`{what}` is NULL"))
    }

    pub fn bad_enum(what: &str, value: i32, family: &str) -> Self {
        Self::new(
            GS_ERR_BAD_ENUM,
            format!("{what} {value} is not a {family} value"),
        )
    }
}

impl<E: Into<ghoststream::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        let e: ghoststream::Error = e.into();
        Self::new(e.code() as i32, e.to_string())
    }
}

/// What a call returns: a non-negative result (GS_OK, GS_AGAIN, GS_EOF) or a failure.
pub(crate) type Outcome = Result<i32, Failure>;

thread_local! {
    static THREAD_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// A C string of `text`, with any NUL replaced (so it is never cut short or refused).
pub(crate) fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', " ")).unwrap_or_default()
}

pub(crate) fn set_thread_error(message: &str) {
    THREAD_ERROR.with(|e| *e.borrow_mut() = c_string(message));
}

/// Runs `body`, turning a panic into `GS_ERR_INTERNAL` and a failure into its code, with the
/// detail in this thread's last error (and `keep`, the handle's own, when given).
pub(crate) fn guarded(body: impl FnOnce() -> Outcome) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(code)) => code,
        Ok(Err(f)) => {
            set_thread_error(&f.message);
            f.code
        }
        Err(_) => {
            set_thread_error("internal error: a panic was caught at the C boundary");
            GS_ERR_INTERNAL
        }
    }
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
        GS_ERR_BUFFER_TOO_SMALL => c"buffer too small",
        _ => c"unknown result code",
    };
    s.as_ptr()
}

/// The detail of the last failure on this thread, whatever the call (the handle's own
/// `gs_*_last_error` keeps it too, for calls on a handle). Valid until the next failing call
/// on this thread. Any thread.
#[no_mangle]
pub extern "C" fn gs_last_error() -> *const c_char {
    THREAD_ERROR.with(|e| e.borrow().as_ptr())
}
