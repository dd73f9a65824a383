//! Live handles: every pointer GhostStream hands out is recorded with its type, and every call
//! checks its handle here before touching it, so a destroyed, foreign or mistyped pointer is
//! `GS_ERR_BAD_HANDLE` instead of undefined behaviour.

use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::sync::{Mutex, MutexGuard};

use crate::result::{c_string, Failure, Outcome, GS_ERR_BAD_HANDLE, GS_ERR_NULL, GS_OK};

/// The types of handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Engine,
    Session,
    Packet,
    Writer,
    Probe,
}

static LIVE: Mutex<Option<HashMap<usize, Kind>>> = Mutex::new(None);

fn live() -> MutexGuard<'static, Option<HashMap<usize, Kind>>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// A value handed to C behind a pointer.
pub(crate) trait Handle: Sized {
    const KIND: Kind;
    /// Where a failing call on this handle keeps its detail (None: only the thread's).
    fn last_error(&mut self) -> Option<&mut CString> {
        None
    }
    /// The detail kept by `last_error`, to read.
    fn last_error_text(&self) -> Option<&CString> {
        None
    }
}

/// Implements [`Handle`] for a type whose `last_error: CString` field keeps its failures' detail.
macro_rules! handle_with_last_error {
    ($type:ty, $kind:expr) => {
        impl $crate::handles::Handle for $type {
            const KIND: $crate::handles::Kind = $kind;
            fn last_error(&mut self) -> Option<&mut std::ffi::CString> {
                Some(&mut self.last_error)
            }
            fn last_error_text(&self) -> Option<&std::ffi::CString> {
                Some(&self.last_error)
            }
        }
    };
}
pub(crate) use handle_with_last_error;

/// Boxes `value`, records it, and gives its pointer.
pub(crate) fn publish<T: Handle>(value: T) -> *mut T {
    let p = Box::into_raw(Box::new(value));
    live()
        .get_or_insert_with(HashMap::new)
        .insert(p as usize, T::KIND);
    p
}

/// Whether `p` is a live handle of type `T`.
pub(crate) fn is_live<T: Handle>(p: *const T) -> bool {
    !p.is_null() && live().as_ref().and_then(|m| m.get(&(p as usize))) == Some(&T::KIND)
}

/// Takes a live handle back (to free it); `None` for NULL or anything not live.
pub(crate) fn reclaim<T: Handle>(p: *mut T) -> Option<Box<T>> {
    let mut guard = live();
    let map = guard.as_mut()?;
    if p.is_null() || map.get(&(p as usize)) != Some(&T::KIND) {
        return None;
    }
    map.remove(&(p as usize));
    // SAFETY: the pointer was made by Box::into_raw in `publish` with this type (the recorded
    // kind says so) and has just left the registry, so it is freed exactly once.
    Some(unsafe { Box::from_raw(p) })
}

/// Runs `body` on a live handle, keeping a failure's detail in the handle as well.
pub(crate) fn with<T: Handle>(p: *mut T, what: &str, body: impl FnOnce(&mut T) -> Outcome) -> i32 {
    crate::result::guarded(|| {
        if p.is_null() {
            return Err(Failure::new(GS_ERR_NULL, format!("the {what} is NULL")));
        }
        if !is_live(p) {
            return Err(Failure::new(
                GS_ERR_BAD_HANDLE,
                format!(
                    "the {what} is not live (destroyed, never created, or another type of handle)"
                ),
            ));
        }
        // SAFETY: live in the registry with this type, so it points at a T from `publish` that
        // has not been freed; the ABI allows one thread per handle at a time.
        let handle = unsafe { &mut *p };
        let outcome = body(handle);
        if let (Err(f), Some(slot)) = (&outcome, handle.last_error()) {
            *slot = c_string(&f.message);
        }
        outcome
    })
}

/// Reads a live handle without changing it; `dead` for NULL or anything not live.
pub(crate) fn read<T: Handle, R>(p: *const T, dead: R, body: impl FnOnce(&T) -> R) -> R {
    if !is_live(p) {
        return dead;
    }
    // SAFETY: as in `with`; only a shared reference is made.
    body(unsafe { &*p })
}

/// Frees a handle; NULL and handles that are not live are ignored.
pub(crate) fn destroy<T: Handle>(p: *mut T) {
    let _ = crate::result::guarded(|| {
        drop(reclaim(p));
        Ok(GS_OK)
    });
}

/// The handle's last-error string, or `dead` for NULL or anything not live.
pub(crate) fn last_error_of<T: Handle>(p: *const T, dead: &'static CStr) -> *const c_char {
    read(p, dead.as_ptr(), |h| {
        h.last_error_text().map_or(dead.as_ptr(), |s| s.as_ptr())
    })
}

/// Writes NULL to `out` first, so that it is NULL on every failure.
///
/// # Safety
/// `out` is NULL or writable.
pub(crate) unsafe fn clear_out<T>(out: *mut *mut T) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::null("out"));
    }
    // SAFETY: non-null and writable (contract).
    unsafe { out.write(std::ptr::null_mut()) };
    Ok(())
}
