//! A shared-memory buffer for `wl_shm`: an anonymous memfd, mapped once, that the compositor
//! copies frames into.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{ftruncate, memfd_create, MemfdFlags};
use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};

use crate::source::capture::CaptureError;

/// An anonymous file of `len` bytes mapped read/write into this process.
pub struct ShmBuffer {
    fd: OwnedFd,
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is owned by this value and only reached through &self/&mut self.
unsafe impl Send for ShmBuffer {}

impl std::fmt::Debug for ShmBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShmBuffer").field("len", &self.len).finish()
    }
}

impl ShmBuffer {
    /// A new buffer of `len` bytes (at least one).
    pub fn new(len: usize) -> Result<Self, CaptureError> {
        let failed = |op: &'static str| {
            move |e: rustix::io::Errno| CaptureError::Io {
                what: format!("a {len}-byte shared-memory buffer ({op})"),
                source: e.into(),
            }
        };
        let len = len.max(1);
        let fd = memfd_create("ghoststream-capture", MemfdFlags::CLOEXEC)
            .map_err(failed("memfd_create"))?;
        ftruncate(&fd, len as u64).map_err(failed("ftruncate"))?;
        // SAFETY: a fresh shared mapping of a file we own and just sized to `len`; nothing else
        // in this process maps it, and it is unmapped exactly once, in Drop.
        let ptr = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                &fd,
                0,
            )
        }
        .map_err(failed("mmap"))?;
        Ok(Self {
            fd,
            ptr: ptr.cast(),
            len,
        })
    }

    /// The bytes. Read only when the compositor has finished writing (after `ready`).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is `len` bytes, readable, alive as long as `self`; the compositor
        // writes it only between a copy request and its `ready`, and callers read after that.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl AsFd for ShmBuffer {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for ShmBuffer {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once; no slice of it outlives `self`.
        let _ = unsafe { munmap(self.ptr.cast(), self.len) };
    }
}
