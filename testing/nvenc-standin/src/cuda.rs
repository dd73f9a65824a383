//! How the STAND-IN reaches CUDA: a small trait ([`CudaAccess`]) with two implementations, the
//! driver's (libcuda.so.1 loaded at run time through cudarc, as the library's src/cuda/ does;
//! what the cdylib uses on a machine with the NVIDIA driver) and host memory posing as device
//! memory ([`HostCuda`], for the crate's unit tests on machines without CUDA).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::sys;

/// What the stand-in asks of CUDA. Handles and pointers are plain numbers: a `CUcontext`, a
/// `CUstream` and a `CUdeviceptr`.
pub trait CudaAccess: Send + Sync {
    /// `Ok` when `context` is a live CUDA context; the error says why not.
    fn check_context(&self, context: usize) -> Result<(), String>;
    /// The context `stream` belongs to.
    fn stream_context(&self, stream: usize) -> Result<usize, String>;
    /// The allocation holding `pointer` in `context`: its base and length in bytes.
    fn allocation(&self, context: usize, pointer: u64) -> Result<(u64, u64), String>;
    /// `Ok` when `len` bytes from `pointer` lie inside one allocation of `context`.
    fn check_range(&self, context: usize, pointer: u64, len: u64) -> Result<(), String> {
        let (base, size) = self.allocation(context, pointer)?;
        let room = base + size - pointer;
        if len > room {
            return Err(format!(
                "{len} bytes are needed from {pointer:#x}, but its allocation ends {room} bytes after it"
            ));
        }
        Ok(())
    }
    /// `len` bytes at `pointer`, read after the work queued on `stream` (0: the default
    /// stream) has finished.
    fn read(
        &self,
        context: usize,
        stream: usize,
        pointer: u64,
        len: usize,
    ) -> Result<Vec<u8>, String>;
    /// Starts copying `len` bytes at `pointer` to the host once the work queued on `stream`
    /// so far has finished, without waiting (as NVENC reads its input on the IO stream); the
    /// copy is waited for by [`PendingRead::wait`].
    fn start_read(
        &self,
        context: usize,
        stream: usize,
        pointer: u64,
        len: usize,
    ) -> Result<Box<dyn PendingRead>, String>;
    /// Frees what the stand-in keeps for `context` between calls (called as a session goes,
    /// before the application may destroy the context).
    fn forget_context(&self, context: usize) {
        let _ = context;
    }
}

/// A copy to the host in flight.
pub trait PendingRead: Send {
    /// Waits for the copy; its bytes.
    fn wait(self: Box<Self>) -> Result<Vec<u8>, String>;
}

/// A copy already done.
struct Done(Vec<u8>);

impl PendingRead for Done {
    fn wait(self: Box<Self>) -> Result<Vec<u8>, String> {
        Ok(self.0)
    }
}

static CUDA: OnceLock<Arc<dyn CudaAccess>> = OnceLock::new();

/// The CUDA the stand-in uses: the one installed by [`host_cuda`], else the driver's.
pub(crate) fn cuda() -> Arc<dyn CudaAccess> {
    Arc::clone(CUDA.get_or_init(|| Arc::new(DriverCuda)))
}

/// Host memory posing as CUDA for this process (installed on first use). Panics when the
/// driver's CUDA is already in use.
pub fn host_cuda() -> Arc<HostCuda> {
    static HOST: OnceLock<Arc<HostCuda>> = OnceLock::new();
    let host = HOST.get_or_init(|| Arc::new(HostCuda::default()));
    let installed = CUDA.get_or_init(|| Arc::clone(host) as Arc<dyn CudaAccess>);
    assert!(
        std::ptr::addr_eq(Arc::as_ptr(installed), Arc::as_ptr(host)),
        "the driver's CUDA is already in use in this process"
    );
    Arc::clone(host)
}

#[derive(Default)]
struct HostState {
    next: u64,
    contexts: HashSet<usize>,
    streams: HashMap<usize, usize>,
    /// Base address → (context, bytes).
    memory: BTreeMap<u64, (usize, Vec<u8>)>,
}

/// Contexts, streams and "device" allocations in host memory, for tests without a GPU.
#[derive(Default)]
pub struct HostCuda {
    state: Mutex<HostState>,
}

impl HostCuda {
    fn state(&self) -> std::sync::MutexGuard<'_, HostState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn handle(s: &mut HostState) -> u64 {
        s.next += 1;
        0xc0da_0000_0000 + s.next * 0x1_0000_0000
    }

    /// A new context.
    pub fn new_context(&self) -> usize {
        let mut s = self.state();
        let h = usize::try_from(Self::handle(&mut s)).expect("64-bit");
        s.contexts.insert(h);
        h
    }

    /// A new stream of `context`.
    pub fn new_stream(&self, context: usize) -> usize {
        let mut s = self.state();
        let h = usize::try_from(Self::handle(&mut s)).expect("64-bit");
        s.streams.insert(h, context);
        h
    }

    /// Destroys `context` (later checks of it fail).
    pub fn destroy_context(&self, context: usize) {
        self.state().contexts.remove(&context);
    }

    /// "Device" memory of `context` holding `bytes`; its device pointer.
    pub fn alloc(&self, context: usize, bytes: Vec<u8>) -> u64 {
        let mut s = self.state();
        let base = Self::handle(&mut s);
        s.memory.insert(base, (context, bytes));
        base
    }

    /// Overwrites the allocation at `base` with `bytes` (same length).
    pub fn write(&self, base: u64, bytes: &[u8]) {
        let mut s = self.state();
        let (_, mem) = s.memory.get_mut(&base).expect("an allocation");
        mem.copy_from_slice(bytes);
    }
}

impl CudaAccess for HostCuda {
    fn start_read(
        &self,
        context: usize,
        stream: usize,
        pointer: u64,
        len: usize,
    ) -> Result<Box<dyn PendingRead>, String> {
        // Host memory has no queue: the bytes are taken now.
        Ok(Box::new(Done(self.read(context, stream, pointer, len)?)))
    }

    fn check_context(&self, context: usize) -> Result<(), String> {
        if self.state().contexts.contains(&context) {
            Ok(())
        } else {
            Err(format!("{context:#x} is not a live CUDA context"))
        }
    }

    fn stream_context(&self, stream: usize) -> Result<usize, String> {
        self.state()
            .streams
            .get(&stream)
            .copied()
            .ok_or_else(|| format!("{stream:#x} is not a CUDA stream"))
    }

    fn allocation(&self, context: usize, pointer: u64) -> Result<(u64, u64), String> {
        let s = self.state();
        let (base, (ctx, mem)) = s
            .memory
            .range(..=pointer)
            .next_back()
            .ok_or_else(|| format!("{pointer:#x} is not device memory"))?;
        let len = mem.len() as u64;
        if pointer >= base + len {
            return Err(format!("{pointer:#x} is not device memory"));
        }
        if *ctx != context {
            return Err(format!(
                "{pointer:#x} is memory of context {ctx:#x}, not of the session's {context:#x}"
            ));
        }
        Ok((*base, len))
    }

    fn read(
        &self,
        context: usize,
        _stream: usize,
        pointer: u64,
        len: usize,
    ) -> Result<Vec<u8>, String> {
        let (base, size) = self.allocation(context, pointer)?;
        let start = usize::try_from(pointer - base).map_err(|e| e.to_string())?;
        if (start + len) as u64 > size {
            return Err(format!(
                "reading {len} bytes at {pointer:#x} passes the end of its {size}-byte allocation"
            ));
        }
        let s = self.state();
        Ok(s.memory[&base].1[start..start + len].to_vec())
    }
}

/// The NVIDIA driver's CUDA, loaded at run time through cudarc.
pub struct DriverCuda;

fn loaded() -> Result<(), String> {
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            // cudarc's own loader panics when libcuda is missing, so its fallible one is asked
            // first (as the library's src/cuda/ does); the probe is kept until the loader's
            // table exists, so the library is not unloaded in between.
            let probe = ["libcuda.so.1", "libcuda.so"].iter().find_map(|name| {
                // SAFETY: loading libcuda runs only its initialisers; a missing entry point
                // panics inside cudarc, caught here.
                std::panic::catch_unwind(|| unsafe { sys::Lib::new(name) })
                    .ok()
                    .and_then(Result::ok)
            });
            let Some(probe) = probe else {
                return Err("libcuda.so.1 (CUDA 12.2 or newer) could not be loaded".to_string());
            };
            // SAFETY: culib() loads libcuda and resolves its symbols (present: probed above);
            // a panic is caught all the same.
            let resolved = std::panic::catch_unwind(|| unsafe {
                sys::culib();
            });
            drop(probe);
            resolved.map_err(|_| "libcuda.so.1 lacks a CUDA 12.2 entry point".to_string())?;
            // SAFETY: no preconditions; the flags must be 0.
            check("cuInit", unsafe { sys::cuInit(0) })
        })
        .clone()
}

fn check(call: &str, r: sys::CUresult) -> Result<(), String> {
    if r == sys::CUresult::CUDA_SUCCESS {
        Ok(())
    } else {
        Err(format!("{call} returned {r:?}"))
    }
}

/// Runs `f` with `context` current on this thread.
fn with_context<T>(context: usize, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    loaded()?;
    // SAFETY: the caller's context handle; an invalid one is refused by the driver.
    check("cuCtxPushCurrent", unsafe {
        sys::cuCtxPushCurrent_v2(context as sys::CUcontext)
    })?;
    let out = f();
    let mut popped = std::ptr::null_mut();
    // SAFETY: pops the context pushed above.
    let _ = unsafe { sys::cuCtxPopCurrent_v2(&raw mut popped) };
    out
}

/// A copy into pinned host memory queued on a stream, with the event recorded after it.
struct DriverRead {
    context: usize,
    host: usize,
    len: usize,
    event: usize,
    /// The event and memory are released.
    released: bool,
}

/// The pinned memory and event of a finished read, kept for the next read of the same size in
/// the same context: `cuMemAllocHost` costs about a millisecond, which would swamp the
/// backend's own time in the stand-in's figures.
struct Spare {
    context: usize,
    host: usize,
    len: usize,
    event: usize,
}

/// Spares kept at most (the rest are freed).
const MAX_SPARES: usize = 16;

static SPARE: Mutex<Vec<Spare>> = Mutex::new(Vec::new());

/// Frees a read's event and pinned memory.
fn free_read(context: usize, host: usize, event: usize) {
    let _ = with_context(context, || {
        // SAFETY: an event and pinned memory of a finished read, freed once: no read and no
        // spare refers to them after.
        unsafe {
            sys::cuEventDestroy_v2(event as sys::CUevent);
            sys::cuMemFreeHost(host as *mut std::ffi::c_void);
        }
        Ok(())
    });
}

impl DriverRead {
    /// Gives the finished read's memory and event back (kept as a spare, or freed), once (by
    /// `wait` or on drop).
    fn release(&mut self) {
        if std::mem::replace(&mut self.released, true) {
            return;
        }
        let mut spares = SPARE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if spares.len() < MAX_SPARES {
            spares.push(Spare {
                context: self.context,
                host: self.host,
                len: self.len,
                event: self.event,
            });
            return;
        }
        drop(spares);
        free_read(self.context, self.host, self.event);
    }
}

impl PendingRead for DriverRead {
    fn wait(mut self: Box<Self>) -> Result<Vec<u8>, String> {
        let out = with_context(self.context, || {
            // SAFETY: the event recorded after the copy.
            check("cuEventSynchronize", unsafe {
                sys::cuEventSynchronize(self.event as sys::CUevent)
            })?;
            // SAFETY: the pinned memory holds `len` bytes, written by the finished copy.
            Ok(unsafe { std::slice::from_raw_parts(self.host as *const u8, self.len) }.to_vec())
        });
        self.release();
        out
    }
}

impl Drop for DriverRead {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        // Dropped unwaited (a session destroyed with pictures in flight): wait for the copy
        // before its memory goes.
        let _ = with_context(self.context, || {
            // SAFETY: the event recorded after the copy.
            check("cuEventSynchronize", unsafe {
                sys::cuEventSynchronize(self.event as sys::CUevent)
            })
        });
        self.release();
    }
}

impl CudaAccess for DriverCuda {
    fn forget_context(&self, context: usize) {
        let gone: Vec<Spare> = {
            let mut spares = SPARE
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let (gone, kept) = spares.drain(..).partition(|s| s.context == context);
            *spares = kept;
            gone
        };
        for s in gone {
            free_read(s.context, s.host, s.event);
        }
    }

    fn start_read(
        &self,
        context: usize,
        stream: usize,
        pointer: u64,
        len: usize,
    ) -> Result<Box<dyn PendingRead>, String> {
        with_context(context, || {
            let spare = {
                let mut spares = SPARE
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                spares
                    .iter()
                    .position(|s| s.context == context && s.len == len)
                    .map(|i| spares.swap_remove(i))
            };
            let (host, event) = if let Some(s) = spare {
                (s.host as *mut std::ffi::c_void, s.event as sys::CUevent)
            } else {
                let mut host = std::ptr::null_mut();
                // SAFETY: writes one pointer to `len` bytes of pinned memory.
                check("cuMemAllocHost", unsafe {
                    sys::cuMemAllocHost_v2(&raw mut host, len)
                })?;
                let mut event = std::ptr::null_mut();
                // SAFETY: writes one event handle; flags 0.
                if let Err(e) = check("cuEventCreate", unsafe {
                    sys::cuEventCreate(&raw mut event, 0)
                }) {
                    // SAFETY: allocated just above.
                    unsafe { sys::cuMemFreeHost(host) };
                    return Err(e);
                }
                (host, event)
            };
            let read = DriverRead {
                context,
                host: host as usize,
                len,
                event: event as usize,
                released: false,
            };
            // SAFETY: `host` holds `len` bytes until the read is released (after the event);
            // the stream is the session's (checked) or the default one.
            check("cuMemcpyDtoHAsync", unsafe {
                sys::cuMemcpyDtoHAsync_v2(host, pointer, len, stream as sys::CUstream)
            })?;
            // SAFETY: the event and stream above.
            check("cuEventRecord", unsafe {
                sys::cuEventRecord(event, stream as sys::CUstream)
            })?;
            Ok(Box::new(read) as Box<dyn PendingRead>)
        })
    }

    fn check_context(&self, context: usize) -> Result<(), String> {
        if context == 0 {
            return Err("the CUDA context is NULL".into());
        }
        loaded()?;
        let mut version = 0u32;
        // SAFETY: writes one integer; the driver checks the handle.
        check("cuCtxGetApiVersion", unsafe {
            sys::cuCtxGetApiVersion(context as sys::CUcontext, &raw mut version)
        })
    }

    fn stream_context(&self, stream: usize) -> Result<usize, String> {
        loaded()?;
        let mut ctx = std::ptr::null_mut();
        // SAFETY: writes one handle; the driver checks the stream.
        check("cuStreamGetCtx", unsafe {
            sys::cuStreamGetCtx(stream as sys::CUstream, &raw mut ctx)
        })?;
        Ok(ctx as usize)
    }

    fn allocation(&self, context: usize, pointer: u64) -> Result<(u64, u64), String> {
        with_context(context, || {
            let (mut base, mut size) = (0u64, 0usize);
            // SAFETY: writes a pointer and a size; the driver checks the address.
            check("cuMemGetAddressRange", unsafe {
                sys::cuMemGetAddressRange_v2(&raw mut base, &raw mut size, pointer)
            })?;
            Ok((base, size as u64))
        })
    }

    /// The allocation's range, or, where the driver gives none (memory imported from Vulkan
    /// may be such), a read of the range's last byte.
    fn check_range(&self, context: usize, pointer: u64, len: u64) -> Result<(), String> {
        match self.allocation(context, pointer) {
            Ok((base, size)) => {
                let room = base + size - pointer;
                if len > room {
                    return Err(format!(
                        "{len} bytes are needed from {pointer:#x}, but its allocation ends {room} bytes after it"
                    ));
                }
                Ok(())
            }
            Err(range) => self
                .read(context, 0, pointer + len.saturating_sub(1), 1)
                .map(drop)
                .map_err(|read| format!("{range}; reading the range's last byte: {read}")),
        }
    }

    fn read(
        &self,
        context: usize,
        stream: usize,
        pointer: u64,
        len: usize,
    ) -> Result<Vec<u8>, String> {
        with_context(context, || {
            // SAFETY: a stream of the session (checked when it was set) or the default one.
            check("cuStreamSynchronize", unsafe {
                sys::cuStreamSynchronize(stream as sys::CUstream)
            })?;
            let mut out = vec![0u8; len];
            // SAFETY: `out` has `len` bytes; the driver checks the device range.
            check("cuMemcpyDtoH", unsafe {
                sys::cuMemcpyDtoH_v2(out.as_mut_ptr().cast(), pointer, len)
            })?;
            Ok(out)
        })
    }
}
