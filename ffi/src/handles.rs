//! Live handles: every pointer GhostStream hands out is a key in a registry of reference-counted
//! objects, and every call checks its handle there before touching it, so that a destroyed,
//! foreign or mistyped pointer is `GS_ERR_BAD_HANDLE` instead of undefined behaviour.
//!
//! # Threads
//! A call takes a reference to the object (an `Arc` cloned under the registry's lock) and holds
//! it for the whole call; a destroy (or release) only takes the object out of the registry. The
//! object is freed when the last reference goes: at once when no call is using it, else when
//! the last call in progress returns. So a call racing a destroy on another thread either sees
//! the handle dead (`GS_ERR_BAD_HANDLE`, the documented defaults) or works on an object that is
//! still alive, never on freed memory. The pointer handed to C is only a key: the library never
//! dereferences it.

use std::any::Any;
use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::result::{c_string, Failure, Outcome, GS_ERR_BAD_HANDLE, GS_ERR_NULL, GS_OK};

/// A handle's object with what every handle has: its last failure's detail, and whether it
/// was destroyed while calls still held it.
pub(crate) struct Live<T> {
    value: T,
    last_error: Mutex<CString>,
    destroyed: AtomicBool,
}

impl<T> Deref for Live<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> Live<T> {
    /// True once the handle was destroyed (by another thread, while this call held it).
    pub fn destroyed(&self) -> bool {
        self.destroyed.load(Ordering::Acquire)
    }
}

/// A failure for a call that found its handle destroyed by another thread while it ran.
pub(crate) fn destroyed_failure(what: &str, during: &str) -> Failure {
    Failure::new(
        GS_ERR_BAD_HANDLE,
        format!("the {what} was destroyed by another thread {during}"),
    )
}

/// What a handle's object must be: shared by the threads that call on it.
pub(crate) trait Handle: Send + Sync + 'static {}
impl<T: Send + Sync + 'static> Handle for T {}

type Registry = HashMap<usize, Arc<dyn Any + Send + Sync>>;

static LIVE: Mutex<Option<Registry>> = Mutex::new(None);

fn live() -> MutexGuard<'static, Option<Registry>> {
    // A poisoned lock only means a panic elsewhere; the map itself is always consistent.
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Records `value` and gives the pointer that names it (its address, used only as a key).
pub(crate) fn publish<T: Handle>(value: T) -> *mut T {
    let object = Arc::new(Live {
        value,
        last_error: Mutex::new(CString::default()),
        destroyed: AtomicBool::new(false),
    });
    let p = Arc::as_ptr(&object) as *mut T;
    live()
        .get_or_insert_with(HashMap::new)
        .insert(p as usize, object);
    p
}

/// A reference to the live handle `p` of type `T`, held by the caller for its call; `None`
/// for NULL, anything never published, destroyed, or of another type.
pub(crate) fn get<T: Handle>(p: *const T) -> Option<Arc<Live<T>>> {
    if p.is_null() {
        return None;
    }
    let object = live().as_ref()?.get(&(p as usize))?.clone();
    object.downcast::<Live<T>>().ok()
}

/// Runs `body` on a live handle (held for the call), keeping a failure's detail in the handle
/// as well as in the thread's last error.
pub(crate) fn with<T: Handle>(
    p: *const T,
    what: &str,
    body: impl FnOnce(&Live<T>) -> Outcome,
) -> i32 {
    crate::result::guarded(|| {
        if p.is_null() {
            return Err(Failure::new(GS_ERR_NULL, format!("the {what} is NULL")));
        }
        let Some(handle) = get(p) else {
            return Err(Failure::new(
                GS_ERR_BAD_HANDLE,
                format!(
                    "the {what} is not live (destroyed, never created, or another type of handle)"
                ),
            ));
        };
        let outcome = body(&handle);
        if let Err(f) = &outcome {
            *handle.last_error.lock().unwrap_or_else(|p| p.into_inner()) = c_string(&f.message);
        }
        outcome
    })
}

/// Reads a live handle (held for the call); `dead` for NULL or anything not live.
pub(crate) fn read<T: Handle, R>(p: *const T, dead: R, body: impl FnOnce(&T) -> R) -> R {
    match get(p) {
        Some(handle) => body(&handle),
        None => dead,
    }
}

/// Takes a handle out of the registry; the object is freed now, or when the last call still
/// using it returns. NULL and handles that are not live (or of another type) are ignored.
pub(crate) fn destroy<T: Handle>(p: *const T) {
    let _ = crate::result::guarded(|| {
        let taken = {
            let mut guard = live();
            let Some(map) = guard.as_mut() else {
                return Ok(GS_OK);
            };
            let is_t = map
                .get(&(p as usize))
                .is_some_and(|o| o.as_ref().is::<Live<T>>());
            if p.is_null() || !is_t {
                return Ok(GS_OK);
            }
            map.remove(&(p as usize))
        };
        if let Some(object) = taken {
            if let Ok(handle) = object.downcast::<Live<T>>() {
                handle.destroyed.store(true, Ordering::Release);
                // Dropped here, outside the registry's lock: closing a session joins its
                // encoder thread, which must not hold up every other handle.
                drop(handle);
            }
        }
        Ok(GS_OK)
    });
}

/// The handle's last-error string, or `dead` for NULL or anything not live. The string stays
/// valid until the handle's next failing call or its destruction.
pub(crate) fn last_error_of<T: Handle>(p: *const T, dead: &'static CStr) -> *const c_char {
    match get(p) {
        Some(handle) => handle
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ptr(),
        None => dead.as_ptr(),
    }
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
