//! The thin unsafe layer that lets the CPU read a LINEAR DMA-BUF frame when it must: a
//! capture asked for its frame in CPU memory (no GPU session, or a frame of another size to
//! fit). The fd is mapped read-only for the read and bracketed by `DMA_BUF_IOCTL_SYNC`
//! (start/end of a CPU read), which a real dma-buf needs for coherent reads; a memfd stand-in
//! answers ENOTTY, which is ignored.

use std::os::fd::BorrowedFd;

/// `DMA_BUF_IOCTL_SYNC`: `_IOW('b', 0, struct dma_buf_sync)` with an 8-byte argument.
const DMA_BUF_IOCTL_SYNC: libc::c_ulong = 0x4008_6200;
/// `DMA_BUF_SYNC_READ`.
const SYNC_READ: u64 = 1;
/// `DMA_BUF_SYNC_START`.
const SYNC_START: u64 = 0;
/// `DMA_BUF_SYNC_END`.
const SYNC_END: u64 = 1 << 2;

/// A read-only mapping of the first `len` bytes of a DMA-BUF, unmapped on drop.
pub(crate) struct MappedDmaBuf<'fd> {
    fd: BorrowedFd<'fd>,
    map: *mut std::ffi::c_void,
    len: usize,
}

impl<'fd> MappedDmaBuf<'fd> {
    /// Maps `len` bytes of `fd` for reading and starts a CPU read.
    pub(crate) fn map(fd: BorrowedFd<'fd>, len: usize) -> std::io::Result<Self> {
        // SAFETY: a new shared read-only mapping of an fd we borrow for the mapping's life;
        // nothing else in this process aliases it as mutable.
        let map = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::READ,
                rustix::mm::MapFlags::SHARED,
                fd,
                0,
            )
        }?;
        let this = Self { fd, map, len };
        this.sync(SYNC_START | SYNC_READ);
        Ok(this)
    }

    fn sync(&self, flags: u64) {
        use std::os::fd::AsRawFd;
        let mut arg = flags;
        // SAFETY: the ioctl reads one u64 from `arg`, which outlives the call; an fd that is
        // not a dma-buf answers ENOTTY, which changes nothing.
        let _ = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                DMA_BUF_IOCTL_SYNC,
                std::ptr::from_mut(&mut arg),
            )
        };
    }

    /// The mapped bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping holds `len` readable bytes until `self` is dropped.
        unsafe { std::slice::from_raw_parts(self.map.cast::<u8>(), self.len) }
    }
}

impl Drop for MappedDmaBuf<'_> {
    fn drop(&mut self) {
        self.sync(SYNC_END | SYNC_READ);
        // SAFETY: the mapping made in `map`, unmapped once; no borrow of `bytes` outlives self.
        let _ = unsafe { rustix::mm::munmap(self.map, self.len) };
    }
}
