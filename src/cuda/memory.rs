//! Vulkan memory and timeline semaphores imported into CUDA by opaque fd, and pinned host
//! memory for asynchronous read-back.

use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::sync::Arc;

use cudarc::driver::sys;

use super::{check, CudaDevice, CudaError};
use crate::gpu::{ExportableBuffer, ExportableTimeline, GpuError};

/// The fd Vulkan exported for `what`, or why there is none.
fn exported(fd: Result<OwnedFd, GpuError>, what: &str) -> Result<OwnedFd, CudaError> {
    fd.map_err(|e| CudaError::Invalid {
        what: format!("exported {what} fd"),
        reason: e.to_string(),
    })
}

/// CUDA device memory owned by a value, which others (NVENC's registration) may name by address
/// for as long as they hold the value.
///
/// # Safety
/// An implementor's [`device_pointer`](Self::device_pointer) is the start of device memory of
/// [`device`](Self::device)'s context, at least [`byte_len`](Self::byte_len) bytes long, that
/// stays allocated, and at that address, for as long as the value lives.
pub(crate) unsafe trait DeviceMemory {
    /// The device address.
    fn device_pointer(&self) -> sys::CUdeviceptr;
    /// Bytes from that address.
    fn byte_len(&self) -> u64;
    /// The device the memory lives on.
    fn device(&self) -> &Arc<CudaDevice>;
}

/// An [`ExportableBuffer`]'s memory as a CUDA device pointer: the same bytes, no copy.
pub struct ImportedBuffer {
    device: Arc<CudaDevice>,
    memory: sys::CUexternalMemory,
    pointer: sys::CUdeviceptr,
    size: u64,
    _source: Arc<ExportableBuffer>,
}

// SAFETY: the handles are plain driver handles, usable from any thread once the context is
// bound (every method binds it).
unsafe impl Send for ImportedBuffer {}
// SAFETY: as above; no interior mutability.
unsafe impl Sync for ImportedBuffer {}

impl std::fmt::Debug for ImportedBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedBuffer")
            .field("pointer", &format_args!("{:#x}", self.pointer))
            .field("size", &self.size)
            .finish()
    }
}

impl ImportedBuffer {
    /// Imports `buffer`'s memory (a dedicated allocation, exported as an opaque fd) and maps
    /// its `size()` bytes as a device pointer. The buffer stays alive as long as this does.
    pub fn import(
        device: &Arc<CudaDevice>,
        buffer: &Arc<ExportableBuffer>,
    ) -> Result<Self, CudaError> {
        device.bind()?;
        let fd = exported(buffer.export_fd(), "buffer")?;
        let desc = sys::CUDA_EXTERNAL_MEMORY_HANDLE_DESC {
            type_: sys::CUexternalMemoryHandleType::CU_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD,
            handle: sys::CUDA_EXTERNAL_MEMORY_HANDLE_DESC_st__bindgen_ty_1 { fd: fd.as_raw_fd() },
            // The whole VkDeviceMemory, as Vulkan allocated it (may exceed the buffer's size).
            size: buffer.allocation_size(),
            flags: sys::CUDA_EXTERNAL_MEMORY_DEDICATED,
            reserved: [0; 16],
        };
        let mut memory = std::ptr::null_mut();
        // SAFETY: the descriptor names a valid opaque fd of a dedicated allocation of
        // `allocation_size` bytes; on success the driver owns the fd.
        check("cuImportExternalMemory", unsafe {
            sys::cuImportExternalMemory(&raw mut memory, &raw const desc)
        })?;
        // The import took the fd over: forget our handle without closing it.
        let _ = fd.into_raw_fd();
        let mapped = sys::CUDA_EXTERNAL_MEMORY_BUFFER_DESC {
            offset: 0,
            size: buffer.size(),
            flags: 0,
            reserved: [0; 16],
        };
        let mut pointer = 0;
        // SAFETY: the range lies inside the imported allocation (size <= allocation_size).
        let mapped_ok = check("cuExternalMemoryGetMappedBuffer", unsafe {
            sys::cuExternalMemoryGetMappedBuffer(&raw mut pointer, memory, &raw const mapped)
        });
        if let Err(e) = mapped_ok {
            // SAFETY: the external memory was imported above and nothing is mapped from it.
            unsafe { sys::cuDestroyExternalMemory(memory) };
            return Err(e);
        }
        Ok(Self {
            device: Arc::clone(device),
            memory,
            pointer,
            size: buffer.size(),
            _source: Arc::clone(buffer),
        })
    }

    /// The device pointer (what NVENC registers as a CUDADEVICEPTR resource).
    pub(crate) fn pointer(&self) -> sys::CUdeviceptr {
        self.pointer
    }

    /// Bytes mapped.
    pub fn size(&self) -> u64 {
        self.size
    }
}

// SAFETY: the mapping made in `import` spans `size` bytes and is freed only in Drop.
unsafe impl DeviceMemory for ImportedBuffer {
    fn device_pointer(&self) -> sys::CUdeviceptr {
        self.pointer
    }
    fn byte_len(&self) -> u64 {
        self.size
    }
    fn device(&self) -> &Arc<CudaDevice> {
        &self.device
    }
}

impl Drop for ImportedBuffer {
    fn drop(&mut self) {
        // SAFETY: nothing uses the mapping once its owner drops it (streams that read it were
        // synchronised by their owners); the mapping is freed before the external memory.
        unsafe {
            if self.device.bind().is_ok() {
                sys::cuMemFree_v2(self.pointer);
                sys::cuDestroyExternalMemory(self.memory);
            }
        }
    }
}

/// An [`ExportableTimeline`] imported into CUDA: streams wait on and signal its values.
pub struct ImportedTimeline {
    device: Arc<CudaDevice>,
    semaphore: sys::CUexternalSemaphore,
    _source: Arc<ExportableTimeline>,
}

// SAFETY: a plain driver handle, used with the context bound.
unsafe impl Send for ImportedTimeline {}
// SAFETY: as above.
unsafe impl Sync for ImportedTimeline {}

impl std::fmt::Debug for ImportedTimeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedTimeline").finish_non_exhaustive()
    }
}

impl ImportedTimeline {
    /// Imports `timeline` (exported as an opaque fd) as a CUDA timeline semaphore.
    pub fn import(
        device: &Arc<CudaDevice>,
        timeline: &Arc<ExportableTimeline>,
    ) -> Result<Self, CudaError> {
        device.bind()?;
        let fd = exported(timeline.export_fd(), "timeline")?;
        let desc = sys::CUDA_EXTERNAL_SEMAPHORE_HANDLE_DESC {
            type_: sys::CUexternalSemaphoreHandleType::CU_EXTERNAL_SEMAPHORE_HANDLE_TYPE_TIMELINE_SEMAPHORE_FD,
            handle: sys::CUDA_EXTERNAL_SEMAPHORE_HANDLE_DESC_st__bindgen_ty_1 {
                fd: fd.as_raw_fd(),
            },
            flags: 0,
            reserved: [0; 16],
        };
        let mut semaphore = std::ptr::null_mut();
        // SAFETY: the descriptor names a valid timeline-semaphore fd; on success the driver owns
        // the fd.
        check("cuImportExternalSemaphore", unsafe {
            sys::cuImportExternalSemaphore(&raw mut semaphore, &raw const desc)
        })?;
        let _ = fd.into_raw_fd();
        Ok(Self {
            device: Arc::clone(device),
            semaphore,
            _source: Arc::clone(timeline),
        })
    }

    pub(crate) fn raw(&self) -> sys::CUexternalSemaphore {
        self.semaphore
    }
}

impl Drop for ImportedTimeline {
    fn drop(&mut self) {
        // SAFETY: streams that wait on or signal it were synchronised by their owners.
        unsafe {
            if self.device.bind().is_ok() {
                sys::cuDestroyExternalSemaphore(self.semaphore);
            }
        }
    }
}

/// Refuses an empty allocation by name (CUDA would fail it with a bare status).
fn at_least_one_byte(len: usize, what: &str) -> Result<(), CudaError> {
    if len == 0 {
        return Err(CudaError::Invalid {
            what: format!("{what} of 0 bytes"),
            reason: "at least one byte".into(),
        });
    }
    Ok(())
}

/// Page-locked host memory: the destination of asynchronous device-to-host copies.
pub struct PinnedBuffer {
    device: Arc<CudaDevice>,
    pointer: *mut std::ffi::c_void,
    len: usize,
}

// SAFETY: plain host memory owned by this value.
unsafe impl Send for PinnedBuffer {}

impl std::fmt::Debug for PinnedBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinnedBuffer")
            .field("len", &self.len)
            .finish()
    }
}

impl PinnedBuffer {
    /// `len` bytes of page-locked memory (at least 1).
    pub fn new(device: &Arc<CudaDevice>, len: usize) -> Result<Self, CudaError> {
        at_least_one_byte(len, "pinned buffer")?;
        device.bind()?;
        let mut pointer = std::ptr::null_mut();
        // SAFETY: a plain allocation into a local; freed in Drop.
        check("cuMemAllocHost", unsafe {
            sys::cuMemAllocHost_v2(&raw mut pointer, len)
        })?;
        Ok(Self {
            device: Arc::clone(device),
            pointer,
            len,
        })
    }

    /// The bytes. Only meaningful once the copies into them have completed (the stream was
    /// synchronised, or an event after them has completed).
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` bytes allocated in `new`, alive until Drop.
        unsafe { std::slice::from_raw_parts(self.pointer.cast(), self.len) }
    }

    pub(crate) fn raw(&self) -> *mut std::ffi::c_void {
        self.pointer
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty (never: at least one byte).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for PinnedBuffer {
    fn drop(&mut self) {
        // SAFETY: allocated by cuMemAllocHost in `new`; copies into it were synchronised by the
        // owner.
        unsafe {
            if self.device.bind().is_ok() {
                sys::cuMemFreeHost(self.pointer);
            }
        }
    }
}

/// Plain device memory (`cuMemAlloc`): the encoder's input slots when frames come from the CPU.
pub struct DeviceBuffer {
    device: Arc<CudaDevice>,
    pointer: sys::CUdeviceptr,
    len: usize,
}

// SAFETY: a device address owned by this value; the context is bound before each use.
unsafe impl Send for DeviceBuffer {}
// SAFETY: shared references only read the address.
unsafe impl Sync for DeviceBuffer {}

impl std::fmt::Debug for DeviceBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceBuffer")
            .field("len", &self.len)
            .finish()
    }
}

impl DeviceBuffer {
    /// `len` bytes of device memory (at least 1).
    pub fn new(device: &Arc<CudaDevice>, len: usize) -> Result<Self, CudaError> {
        at_least_one_byte(len, "device buffer")?;
        device.bind()?;
        let mut pointer = 0;
        // SAFETY: a plain allocation into a local; freed in Drop.
        check("cuMemAlloc", unsafe {
            sys::cuMemAlloc_v2(&raw mut pointer, len)
        })?;
        Ok(Self {
            device: Arc::clone(device),
            pointer,
            len,
        })
    }

    /// The device address.
    pub(crate) fn pointer(&self) -> sys::CUdeviceptr {
        self.pointer
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty (never: at least one byte).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

// SAFETY: `len` bytes allocated in `new`, freed only in Drop.
unsafe impl DeviceMemory for DeviceBuffer {
    fn device_pointer(&self) -> sys::CUdeviceptr {
        self.pointer
    }
    fn byte_len(&self) -> u64 {
        self.len as u64
    }
    fn device(&self) -> &Arc<CudaDevice> {
        &self.device
    }
}

impl Drop for DeviceBuffer {
    fn drop(&mut self) {
        // SAFETY: allocated in `new`; the owner has finished all work that uses it.
        unsafe {
            if self.device.bind().is_ok() {
                sys::cuMemFree_v2(self.pointer);
            }
        }
    }
}
