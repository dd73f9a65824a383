//! CUDA beside Vulkan: the GPU's CUDA device found by the Vulkan device's UUID, Vulkan memory
//! and timeline semaphores imported into it by fd, and a stream that waits on and signals those
//! semaphores — the zero-copy hand-off NVENC reads its input through.
//!
//! Loading, decided: CUDA comes through cudarc alone. cudarc's dynamic loading opens libcuda at
//! run time (nothing links it) and every CUDA call goes through its `sys` layer; even the
//! presence check, needed because cudarc's loader panics on a missing library, uses cudarc's
//! fallible loader (`sys::Lib::new`). `libloading` opens only NVENC's library
//! (`crate::encode::nvenc`), which cudarc does not cover. A machine without an NVIDIA driver gets
//! [`CudaError::DriverMissing`] naming the library, never a failure to start.
//!
//! Every call binds the device's primary context to the calling thread first, so the types can
//! be used from any thread (the CUDA driver API's contexts are per thread). Raw handles stay
//! inside the crate: the public functions take and return the safe types.
//!
//! Ownership: an imported buffer or semaphore keeps its Vulkan exporter alive (the fd is a
//! reference to the same memory, and CUDA takes the fd over on a successful import).

mod memory;
mod stream;

pub(crate) use memory::DeviceMemory;
pub use memory::{DeviceBuffer, ImportedBuffer, ImportedTimeline, PinnedBuffer};
pub use stream::{CudaEvent, CudaStream, RowCopy};

use std::ffi::CStr;
use std::sync::{Arc, OnceLock};

use cudarc::driver::sys;

use crate::gpu::GpuContext;

/// Why a CUDA step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CudaError {
    /// libcuda could not be loaded (no NVIDIA driver, or one too old for CUDA 12.2's entry
    /// points).
    #[error("CUDA is not available: {library}: {reason}")]
    DriverMissing {
        /// The library looked for.
        library: String,
        /// What the loader said, and the fix.
        reason: String,
    },
    /// No CUDA device has the Vulkan device's UUID (a different GPU, or a non-NVIDIA one).
    #[error(
        "no CUDA device is the Vulkan device {vulkan_device} (UUID {uuid}); CUDA devices: {found}"
    )]
    NoMatchingDevice {
        /// The Vulkan device's name.
        vulkan_device: String,
        /// Its UUID, hex.
        uuid: String,
        /// The CUDA devices seen, with their UUIDs.
        found: String,
    },
    /// A driver call failed.
    #[error("{call} failed: {name} ({code}): {message}")]
    Call {
        /// The CUDA function.
        call: &'static str,
        /// The CUresult.
        code: i32,
        /// Its name (CUDA_ERROR_...).
        name: String,
        /// The driver's description.
        message: String,
    },
    /// A value the caller passed is out of range.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The value.
        what: String,
        /// Why, and what is allowed.
        reason: String,
    },
}

/// The libraries tried, in order: the driver's runtime name, then the development link (both
/// among the names cudarc's loader tries).
const LIBRARIES: [&str; 2] = ["libcuda.so.1", "libcuda.so"];

/// Loads libcuda once per process through cudarc. cudarc's loader (`sys::culib`) panics when the
/// library is missing, so whether it is there is asked first of cudarc's fallible loader
/// (`sys::Lib::new`, which panics only when an entry point is missing: caught).
fn load() -> Result<(), CudaError> {
    static LOADED: OnceLock<Result<(), CudaError>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let too_old = || CudaError::DriverMissing {
                library: "libcuda.so.1".into(),
                reason:
                    "it lacks a CUDA 12.2 entry point; update the NVIDIA driver (R535 or newer)"
                        .into(),
            };
            let (mut reasons, mut lacks_entry_point) = (Vec::new(), false);
            // The probe's table is kept until cudarc's own is made, so the library is loaded
            // once, not unloaded and loaded again in between.
            let probe = LIBRARIES.iter().find_map(|name| {
                // SAFETY: loading libcuda runs only its initialisers, which have no
                // preconditions; a missing entry point panics inside cudarc, caught here.
                match std::panic::catch_unwind(|| unsafe { sys::Lib::new(name) }) {
                    Ok(Ok(lib)) => Some(lib),
                    Ok(Err(e)) => {
                        // dlerror's text already starts with the library's name.
                        reasons.push(e.to_string());
                        None
                    }
                    Err(_) => {
                        lacks_entry_point = true;
                        None
                    }
                }
            });
            let Some(probe) = probe else {
                if lacks_entry_point {
                    return Err(too_old());
                }
                return Err(CudaError::DriverMissing {
                    library: "libcuda".into(),
                    reason: format!(
                        "{}; install the NVIDIA driver (Debian: libcuda1 from non-free)",
                        reasons.join("; ")
                    ),
                });
            };
            // SAFETY: culib() only loads the library and resolves symbols; it panics when
            // neither is found (ruled out above, but caught all the same).
            let resolved = std::panic::catch_unwind(|| unsafe {
                sys::culib();
            });
            drop(probe);
            if resolved.is_err() {
                return Err(too_old());
            }
            // SAFETY: cuInit has no preconditions; flags must be 0.
            check("cuInit", unsafe { sys::cuInit(0) })
        })
        .clone()
}

/// A CUresult as a `Result`, with the driver's name and description of an error.
pub(crate) fn check(call: &'static str, result: sys::CUresult) -> Result<(), CudaError> {
    if result == sys::CUresult::CUDA_SUCCESS {
        return Ok(());
    }
    let text = |f: unsafe fn(sys::CUresult, *mut *const std::ffi::c_char) -> sys::CUresult| {
        let mut p: *const std::ffi::c_char = std::ptr::null();
        // SAFETY: the driver writes a pointer to a static string (or leaves it null).
        let ok = unsafe { f(result, &raw mut p) } == sys::CUresult::CUDA_SUCCESS;
        if ok && !p.is_null() {
            // SAFETY: a NUL-terminated static string owned by the driver.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        } else {
            "unknown".into()
        }
    };
    Err(CudaError::Call {
        call,
        code: result as i32,
        name: text(sys::cuGetErrorName),
        message: text(sys::cuGetErrorString),
    })
}

/// The CUDA side of a GPU: its device and retained primary context.
pub struct CudaDevice {
    device: sys::CUdevice,
    context: sys::CUcontext,
    name: String,
    ordinal: i32,
}

// SAFETY: a CUcontext may be bound and used on any thread (the driver API is thread safe);
// every method binds it to the calling thread before use.
unsafe impl Send for CudaDevice {}
// SAFETY: as above; the struct has no interior mutability of its own.
unsafe impl Sync for CudaDevice {}

impl std::fmt::Debug for CudaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaDevice")
            .field("name", &self.name)
            .field("ordinal", &self.ordinal)
            .finish()
    }
}

fn hex(uuid: &[u8; 16]) -> String {
    uuid.iter().map(|b| format!("{b:02x}")).collect()
}

impl CudaDevice {
    /// The CUDA device that is `gpu`'s Vulkan device (same UUID).
    pub fn for_vulkan(gpu: &GpuContext) -> Result<Arc<Self>, CudaError> {
        let info = gpu.device_info();
        Self::with_uuid(&info.device_uuid, &info.name)
    }

    /// The first CUDA device (ordinal 0), for paths with no Vulkan device of their own.
    pub fn first() -> Result<Arc<Self>, CudaError> {
        load()?;
        Self::open(0)
    }

    fn with_uuid(uuid: &[u8; 16], vulkan_name: &str) -> Result<Arc<Self>, CudaError> {
        load()?;
        let mut count = 0;
        // SAFETY: a plain query into a local.
        check("cuDeviceGetCount", unsafe {
            sys::cuDeviceGetCount(&raw mut count)
        })?;
        let mut seen = Vec::new();
        for ordinal in 0..count {
            let mut device = 0;
            let mut id = sys::CUuuid { bytes: [0; 16] };
            // SAFETY: ordinal < count; plain queries into locals.
            unsafe {
                check("cuDeviceGet", sys::cuDeviceGet(&raw mut device, ordinal))?;
                check("cuDeviceGetUuid", sys::cuDeviceGetUuid(&raw mut id, device))?;
            }
            let bytes: [u8; 16] = id.bytes.map(|b| b.to_ne_bytes()[0]);
            if &bytes == uuid {
                return Self::open(ordinal);
            }
            seen.push(format!("{ordinal}: {}", hex(&bytes)));
        }
        Err(CudaError::NoMatchingDevice {
            vulkan_device: vulkan_name.into(),
            uuid: hex(uuid),
            found: if seen.is_empty() {
                "none".into()
            } else {
                seen.join(", ")
            },
        })
    }

    fn open(ordinal: i32) -> Result<Arc<Self>, CudaError> {
        let mut device = 0;
        let mut context = std::ptr::null_mut();
        let mut name = [0 as std::ffi::c_char; 256];
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_possible_wrap,
            reason = "the buffer's length is 256"
        )]
        let name_len = name.len() as i32;
        // SAFETY: plain queries into locals; the primary context is released in Drop.
        unsafe {
            check("cuDeviceGet", sys::cuDeviceGet(&raw mut device, ordinal))?;
            check(
                "cuDeviceGetName",
                sys::cuDeviceGetName(name.as_mut_ptr(), name_len, device),
            )?;
            check(
                "cuDevicePrimaryCtxRetain",
                sys::cuDevicePrimaryCtxRetain(&raw mut context, device),
            )?;
        }
        // SAFETY: the driver wrote a NUL-terminated name into the array.
        let name = unsafe { CStr::from_ptr(name.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        tracing::debug!(%name, ordinal, "CUDA device opened");
        Ok(Arc::new(Self {
            device,
            context,
            name,
            ordinal,
        }))
    }

    /// Binds the device's context to the calling thread (cheap when it already is).
    pub(crate) fn bind(&self) -> Result<(), CudaError> {
        // SAFETY: the context is retained for the life of `self`.
        check("cuCtxSetCurrent", unsafe {
            sys::cuCtxSetCurrent(self.context)
        })
    }

    /// The device's name as CUDA reports it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CUDA context (the primary context, retained): what NVENC opens its session on.
    pub(crate) fn context(&self) -> sys::CUcontext {
        self.context
    }

    /// The driver's CUDA version (for example 13000 for 13.0).
    pub fn driver_version(&self) -> Result<i32, CudaError> {
        let mut v = 0;
        // SAFETY: a plain query into a local.
        check("cuDriverGetVersion", unsafe {
            sys::cuDriverGetVersion(&raw mut v)
        })?;
        Ok(v)
    }
}

impl Drop for CudaDevice {
    fn drop(&mut self) {
        // SAFETY: the primary context was retained once in `open`; every object made on it
        // (buffers, semaphores, streams) holds an Arc to this device and is gone by now.
        unsafe {
            sys::cuDevicePrimaryCtxRelease_v2(self.device);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where libcuda is missing (CI), cudarc's loader is asked first, so the answer is the typed
    /// error naming the library and the fix, not a panic; where it is present, a printed skip.
    #[test]
    fn a_missing_libcuda_is_the_typed_error_naming_it() {
        match CudaDevice::first() {
            Ok(device) => eprintln!("SKIPPED: libcuda is here ({})", device.name()),
            Err(e @ CudaError::DriverMissing { .. }) => {
                let text = e.to_string();
                assert!(
                    text.starts_with("CUDA is not available: libcuda: libcuda.so.1: ")
                        && text.contains("install the NVIDIA driver"),
                    "{text}"
                );
                assert_eq!(CudaDevice::first().unwrap_err(), e, "the answer is kept");
            }
            Err(other) => eprintln!("SKIPPED: libcuda is here: {other}"),
        }
    }
}
