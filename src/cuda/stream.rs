//! A CUDA stream that orders work after Vulkan (waits on imported timeline values), before
//! Vulkan (signals them), and copies imported memory to the host; and events on it.

use std::sync::Arc;

use cudarc::driver::sys;

use super::{
    check, CudaDevice, CudaError, DeviceBuffer, ImportedBuffer, ImportedTimeline, PinnedBuffer,
};

/// The shape of a row-by-row copy: `rows` rows of `row_bytes` bytes, `src_pitch` apart in the
/// source and `dst_pitch` apart from `dst_offset` in the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowCopy {
    /// Bytes between source rows.
    pub src_pitch: usize,
    /// Where the first row goes in the destination.
    pub dst_offset: usize,
    /// Bytes between destination rows.
    pub dst_pitch: usize,
    /// Bytes copied per row.
    pub row_bytes: usize,
    /// Rows copied.
    pub rows: usize,
}

/// A non-blocking CUDA stream of one device.
pub struct CudaStream {
    device: Arc<CudaDevice>,
    stream: sys::CUstream,
}

// SAFETY: a plain driver handle; the context is bound before every use.
unsafe impl Send for CudaStream {}

impl std::fmt::Debug for CudaStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaStream").finish_non_exhaustive()
    }
}

impl CudaStream {
    /// A new stream that does not synchronise with the legacy default stream.
    pub fn new(device: &Arc<CudaDevice>) -> Result<Self, CudaError> {
        device.bind()?;
        let mut stream = std::ptr::null_mut();
        // SAFETY: a plain creation into a local; destroyed in Drop.
        check("cuStreamCreate", unsafe {
            sys::cuStreamCreate(
                &raw mut stream,
                sys::CUstream_flags::CU_STREAM_NON_BLOCKING as u32,
            )
        })?;
        Ok(Self {
            device: Arc::clone(device),
            stream,
        })
    }

    /// The raw stream (what NVENC is given with `nvEncSetIOCudaStreams`).
    pub(crate) fn raw(&self) -> sys::CUstream {
        self.stream
    }

    /// Work queued after this waits, on the GPU, until `timeline` reaches `value`.
    pub fn wait(&self, timeline: &ImportedTimeline, value: u64) -> Result<(), CudaError> {
        self.device.bind()?;
        // SAFETY: all-zero is a valid parameter block (no flags); the fence value is set below.
        let mut params: sys::CUDA_EXTERNAL_SEMAPHORE_WAIT_PARAMS = unsafe { std::mem::zeroed() };
        params.params.fence.value = value;
        let semaphores = [timeline.raw()];
        // SAFETY: one semaphore and one parameter block, both alive for the call.
        check("cuWaitExternalSemaphoresAsync", unsafe {
            sys::cuWaitExternalSemaphoresAsync(
                semaphores.as_ptr(),
                &raw const params,
                1,
                self.stream,
            )
        })
    }

    /// `timeline` is set to `value` once the work queued before this completes.
    pub fn signal(&self, timeline: &ImportedTimeline, value: u64) -> Result<(), CudaError> {
        self.device.bind()?;
        // SAFETY: all-zero is a valid parameter block; the fence value is set below.
        let mut params: sys::CUDA_EXTERNAL_SEMAPHORE_SIGNAL_PARAMS = unsafe { std::mem::zeroed() };
        params.params.fence.value = value;
        let semaphores = [timeline.raw()];
        // SAFETY: as in `wait`.
        check("cuSignalExternalSemaphoresAsync", unsafe {
            sys::cuSignalExternalSemaphoresAsync(
                semaphores.as_ptr(),
                &raw const params,
                1,
                self.stream,
            )
        })
    }

    /// Queues a copy of the first `dst.len()` bytes of `src` into `dst`.
    ///
    /// # Safety
    /// The GPU writes `dst` after this returns: it must not be read (`as_slice`) or dropped until
    /// the copy has completed (the stream synchronised, or an event recorded after this
    /// completed). The borrow ends at the return, so the type system cannot hold that.
    pub unsafe fn copy_to_host(
        &self,
        src: &ImportedBuffer,
        dst: &mut PinnedBuffer,
    ) -> Result<(), CudaError> {
        if dst.len() as u64 > src.size() {
            return Err(CudaError::Invalid {
                what: format!("copy of {} bytes", dst.len()),
                reason: format!("the imported buffer holds {} bytes", src.size()),
            });
        }
        self.device.bind()?;
        // SAFETY: both ranges are in bounds (checked); the destination is page-locked memory
        // that the caller neither reads nor frees until the copy completes (the contract).
        check("cuMemcpyDtoHAsync", unsafe {
            sys::cuMemcpyDtoHAsync_v2(dst.raw(), src.pointer(), dst.len(), self.stream)
        })
    }

    /// Copies `rows.rows` rows from host memory to `dst` (see [`RowCopy`]), ordered on this
    /// stream. `src` may be reused or freed as soon as this returns: from pageable memory the
    /// driver stages the rows before returning; from page-locked memory (a [`PinnedBuffer`]'s
    /// slice), which the driver would read later, this waits for the stream.
    pub fn upload_rows(
        &self,
        src: &[u8],
        dst: &DeviceBuffer,
        rows: RowCopy,
    ) -> Result<(), CudaError> {
        let RowCopy {
            src_pitch,
            dst_offset,
            dst_pitch,
            row_bytes,
            rows,
        } = rows;
        let last = rows.saturating_sub(1);
        // Checked: a pitch near usize::MAX must be refused, not wrap into a small bound.
        let span = |start: usize, pitch: usize| {
            if rows == 0 {
                Some(0)
            } else {
                pitch
                    .checked_mul(last)
                    .and_then(|v| v.checked_add(row_bytes))
                    .and_then(|v| v.checked_add(start))
            }
        };
        let (need_src, need_dst) = (span(0, src_pitch), span(dst_offset, dst_pitch));
        if row_bytes > src_pitch
            || row_bytes > dst_pitch
            || need_src.is_none_or(|n| n > src.len())
            || need_dst.is_none_or(|n| n > dst.len())
        {
            return Err(CudaError::Invalid {
                what: format!("upload of {rows} rows of {row_bytes} bytes"),
                reason: format!(
                    "the source holds {} bytes at pitch {src_pitch}, the destination {} bytes from {dst_offset} at pitch {dst_pitch}",
                    src.len(),
                    dst.len()
                ),
            });
        }
        self.device.bind()?;
        let copy = sys::CUDA_MEMCPY2D {
            srcXInBytes: 0,
            srcY: 0,
            srcMemoryType: sys::CUmemorytype::CU_MEMORYTYPE_HOST,
            srcHost: src.as_ptr().cast(),
            srcDevice: 0,
            srcArray: std::ptr::null_mut(),
            srcPitch: src_pitch,
            dstXInBytes: 0,
            dstY: 0,
            dstMemoryType: sys::CUmemorytype::CU_MEMORYTYPE_DEVICE,
            dstHost: std::ptr::null_mut(),
            dstDevice: dst.pointer() + dst_offset as u64,
            dstArray: std::ptr::null_mut(),
            dstPitch: dst_pitch,
            WidthInBytes: row_bytes,
            Height: rows,
        };
        let locked = page_locked(src);
        // SAFETY: both ranges are in bounds (checked above); pageable source memory is staged
        // before the call returns, page-locked memory is waited for below, so `src` is not
        // read after this function returns.
        check("cuMemcpy2DAsync", unsafe {
            sys::cuMemcpy2DAsync_v2(&raw const copy, self.stream)
        })?;
        if locked {
            // SAFETY: the stream belongs to this device's context, bound above.
            check("cuStreamSynchronize", unsafe {
                sys::cuStreamSynchronize(self.stream)
            })?;
        }
        Ok(())
    }

    /// Records `event` at this point of the stream.
    pub fn record(&self, event: &CudaEvent) -> Result<(), CudaError> {
        self.device.bind()?;
        // SAFETY: both handles belong to this device's context.
        check("cuEventRecord", unsafe {
            sys::cuEventRecord(event.event, self.stream)
        })
    }

    /// Blocks until everything queued has completed.
    pub fn synchronize(&self) -> Result<(), CudaError> {
        self.device.bind()?;
        // SAFETY: a valid stream.
        check("cuStreamSynchronize", unsafe {
            sys::cuStreamSynchronize(self.stream)
        })
    }
}

impl Drop for CudaStream {
    fn drop(&mut self) {
        // SAFETY: the stream is finished with (its work completes before destruction per CUDA's
        // rules: cuStreamDestroy returns at once and releases it when its work is done).
        unsafe {
            if self.device.bind().is_ok() {
                sys::cuStreamDestroy_v2(self.stream);
            }
        }
    }
}

/// A CUDA event: a point in a stream to poll, wait for, or time against another.
pub struct CudaEvent {
    device: Arc<CudaDevice>,
    event: sys::CUevent,
}

// SAFETY: a plain driver handle; the context is bound before every use.
unsafe impl Send for CudaEvent {}

impl std::fmt::Debug for CudaEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaEvent").finish_non_exhaustive()
    }
}

impl CudaEvent {
    /// A new event; `timed` events can be measured against each other (slightly costlier).
    pub fn new(device: &Arc<CudaDevice>, timed: bool) -> Result<Self, CudaError> {
        device.bind()?;
        let flags = if timed {
            sys::CUevent_flags::CU_EVENT_DEFAULT as u32
        } else {
            sys::CUevent_flags::CU_EVENT_DISABLE_TIMING as u32
        };
        let mut event = std::ptr::null_mut();
        // SAFETY: a plain creation into a local; destroyed in Drop.
        check("cuEventCreate", unsafe {
            sys::cuEventCreate(&raw mut event, flags)
        })?;
        Ok(Self {
            device: Arc::clone(device),
            event,
        })
    }

    /// Whether the work before the event's last record has completed (never blocks).
    pub fn is_complete(&self) -> Result<bool, CudaError> {
        self.device.bind()?;
        // SAFETY: a valid event.
        match unsafe { sys::cuEventQuery(self.event) } {
            sys::CUresult::CUDA_SUCCESS => Ok(true),
            sys::CUresult::CUDA_ERROR_NOT_READY => Ok(false),
            other => check("cuEventQuery", other).map(|()| false),
        }
    }

    /// Blocks until the event has completed.
    pub fn synchronize(&self) -> Result<(), CudaError> {
        self.device.bind()?;
        // SAFETY: a valid event.
        check("cuEventSynchronize", unsafe {
            sys::cuEventSynchronize(self.event)
        })
    }

    /// Milliseconds of GPU time from `start` to `self` (both timed and completed).
    pub fn elapsed_ms_since(&self, start: &CudaEvent) -> Result<f32, CudaError> {
        self.device.bind()?;
        let mut ms = 0.0f32;
        // SAFETY: both events belong to this context and have completed (the caller's
        // contract; the driver reports an error otherwise).
        check("cuEventElapsedTime", unsafe {
            sys::cuEventElapsedTime(&raw mut ms, start.event, self.event)
        })?;
        Ok(ms)
    }
}

impl Drop for CudaEvent {
    fn drop(&mut self) {
        // SAFETY: a valid event, destroyed once.
        unsafe {
            if self.device.bind().is_ok() {
                sys::cuEventDestroy_v2(self.event);
            }
        }
    }
}

/// True when `bytes` lie in page-locked host memory (allocated or registered with CUDA), which
/// the driver reads asynchronously during a copy rather than staging it first.
fn page_locked(bytes: &[u8]) -> bool {
    let mut kind = 0u32;
    // SAFETY: the query writes one `CUmemorytype` (a 32-bit value) into `kind`; any address may
    // be asked about (one CUDA does not know, such as pageable memory, is an error).
    let result = unsafe {
        sys::cuPointerGetAttribute(
            (&raw mut kind).cast(),
            sys::CUpointer_attribute::CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
            bytes.as_ptr() as sys::CUdeviceptr,
        )
    };
    result == sys::CUresult::CUDA_SUCCESS && kind == sys::CUmemorytype::CU_MEMORYTYPE_HOST as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `len` bytes of `src` back to host memory, synchronously.
    fn read_back(device: &CudaDevice, src: &DeviceBuffer, len: usize) -> Vec<u8> {
        device.bind().unwrap();
        let mut out = vec![0u8; len];
        // SAFETY: `out` has `len` writable bytes; `src` holds at least `len` bytes of device
        // memory; the copy is synchronous.
        check("cuMemcpyDtoH", unsafe {
            sys::cuMemcpyDtoH_v2(out.as_mut_ptr().cast(), src.pointer(), len)
        })
        .unwrap();
        out
    }

    /// An upload from page-locked memory (which the driver reads asynchronously) is complete
    /// when `upload_rows` returns: the pinned source is dropped at once and the device still
    /// holds the rows. Needs a CUDA device (the lent H200); skipped with the reason elsewhere.
    #[test]
    fn an_upload_from_pinned_memory_is_done_when_it_returns() {
        let device = match CudaDevice::first() {
            Ok(d) => d,
            Err(e) => {
                assert!(
                    std::env::var_os("GHOSTSTREAM_REQUIRE_CUDA").is_none(),
                    "GHOSTSTREAM_REQUIRE_CUDA is set but: {e}"
                );
                eprintln!("SKIPPED: {e}; set GHOSTSTREAM_REQUIRE_CUDA=1 to make this a failure");
                return;
            }
        };
        let (row, rows, pitch) = (1000usize, 300usize, 1024usize);
        let pattern: Vec<u8> = (0..pitch * rows)
            .map(|i| u8::try_from((i * 7 + i / pitch) % 251).unwrap())
            .collect();
        let copy = RowCopy {
            src_pitch: pitch,
            dst_offset: 0,
            dst_pitch: pitch,
            row_bytes: row,
            rows,
        };
        let stream = CudaStream::new(&device).unwrap();
        assert!(!page_locked(&pattern), "a Vec is pageable memory");
        // Pageable → device A; device A → pinned P (synchronously, through the driver).
        let a = DeviceBuffer::new(&device, pitch * rows).unwrap();
        stream.upload_rows(&pattern, &a, copy).unwrap();
        stream.synchronize().unwrap();
        let pinned = PinnedBuffer::new(&device, pitch * rows).unwrap();
        // SAFETY: `pinned` has pitch * rows writable bytes; `a` as many; synchronous copy.
        check("cuMemcpyDtoH", unsafe {
            sys::cuMemcpyDtoH_v2(pinned.raw(), a.pointer(), pitch * rows)
        })
        .unwrap();
        assert!(
            page_locked(pinned.as_slice()),
            "a PinnedBuffer is page-locked"
        );
        // Pinned P → device B, then P is freed at once.
        let b = DeviceBuffer::new(&device, pitch * rows).unwrap();
        stream.upload_rows(pinned.as_slice(), &b, copy).unwrap();
        drop(pinned);
        stream.synchronize().unwrap();
        let got = read_back(&device, &b, pitch * rows);
        for r in 0..rows {
            assert_eq!(
                got[r * pitch..r * pitch + row],
                pattern[r * pitch..r * pitch + row],
                "row {r}"
            );
        }
        eprintln!(
            "CUDA pinned upload: {rows} rows of {row} bytes intact after the source was freed"
        );
    }
}
