//! The stable C ABI of GhostStream (`ffi/include/ghoststream.h`, generated from these modules
//! by cbindgen).
//!
//! Rules every function keeps:
//! - a Rust panic never crosses the boundary: it becomes `GS_ERR_INTERNAL`;
//! - a NULL pointer, a wrong struct size, an out-of-range enum value or a handle that was
//!   destroyed (or never created, or is of another type) is an error code, never undefined
//!   behaviour: live handles are kept in a registry and every call checks its handle there,
//!   holding a reference to it for the call, so that a destroy on another thread never frees
//!   what a call in progress uses;
//! - a frame is checked against the session (format, size, strides, timestamps) before any of
//!   the caller's memory is read;
//! - every fallible call returns an `int32_t` result; the detail is in the handle's
//!   `gs_*_last_error()` and in `gs_last_error()` (per thread).

mod dmabuf_imports;
mod engine;
mod frames;
mod handles;
mod options;
mod output;
mod packet;
mod probe;
mod recorder;
mod replay;
mod result;
mod session;
mod stats;
mod structs;

pub use engine::*;
pub use frames::*;
pub use options::*;
pub use output::*;
pub use packet::*;
pub use probe::*;
pub use recorder::*;
pub use replay::*;
pub use result::*;
pub use session::*;
pub use stats::*;

/// The ABI's major version: changes only with an incompatible change (and the soname).
pub const GS_VERSION_MAJOR: i32 = 0;
/// The minor version: additions only.
pub const GS_VERSION_MINOR: i32 = 4;
/// The patch version.
pub const GS_VERSION_PATCH: i32 = 0;

/// The version as `MAJOR << 16 | MINOR << 8 | PATCH`. Any thread.
#[no_mangle]
pub extern "C" fn gs_version() -> i32 {
    GS_VERSION_MAJOR << 16 | GS_VERSION_MINOR << 8 | GS_VERSION_PATCH
}
