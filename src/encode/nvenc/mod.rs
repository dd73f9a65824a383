//! NVENC: NVIDIA's hardware encoder, fed from Vulkan memory through CUDA with no copy.
//!
//! `libnvidia-encode.so.1` is opened at run time ([`NvencApi::load`]): nothing links it, so the
//! crate builds and runs on machines without an NVIDIA driver, where NVENC is simply an
//! unavailable backend with the reason. The structure layouts and version numbers come from
//! NVIDIA's SDK 12.1 header (through the `nvidia-video-codec-sdk` crate's bindings, used for
//! their types only); a driver whose API is older than 12.1 is refused by name.
//!
//! Three levels, as cudarc layers the CUDA driver (`sys` → `result` → safe types):
//! 1. raw, `loader`: the library and the driver's function table as loaded ([`NvencApi`]);
//! 2. checked, `checked` (crate-private): one `unsafe fn` per entry point, each taking raw
//!    handles under a `# Safety` contract and turning NVENCSTATUS into [`NvencError`];
//! 3. safe, `session`: [`NvencSession`], its two `Send` halves (the feeding thread's and the
//!    output thread's, NVIDIA's threading rule; the module says how) and the resources that
//!    release themselves on drop (registration, mapped input, bitstream buffer), which
//!    [`NvencEncoder`] is built on.
//!
//! Loading: NVENC's library is opened with `libloading` because cudarc has no NVENC; every
//! CUDA call, and the loading of libcuda itself, goes through cudarc ([`crate::cuda`] says why).
//!
//! Reached so far, and where (docs/HARDWARE.md has the record): the library loads, the driver's
//! API version is read, the function table is filled, and an NVENC session is opened on the
//! CUDA context of the GPU; on the lent H200 (no encoder engine) that open fails with the
//! driver's "unsupported device" status, which becomes [`NvencError::NoEncoder`]. Everything
//! after the open ([`NvencEncoder`]: preset configuration, initialise, register, map, encode,
//! lock, reconfigure) is built to the SDK 12.1 header and programming guide and has not run on
//! hardware; its parameters are unit-tested (`params`) and its structures' layouts checked
//! against NVIDIA's header (tests/nvenc_layout.rs).

pub(crate) mod caps;
mod checked;
mod encoder;
mod loader;
pub(crate) mod params;
mod session;
pub mod status;

pub use encoder::NvencEncoder;
pub use loader::{ApiVersion, NvencApi, BUILD_API};
pub use session::{NvencSession, PICTURE_TYPE_IDR};

use crate::cuda::CudaError;

/// Why an NVENC step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NvencError {
    /// libnvidia-encode could not be loaded, or lacks its entry points.
    #[error("NVENC is not available: {library}: {reason}")]
    LibraryMissing {
        /// The library looked for.
        library: String,
        /// What the loader said, and the fix.
        reason: String,
    },
    /// The driver's NVENC API is older than the one GhostStream is built against.
    #[error("the NVIDIA driver's NVENC API is {driver}, older than the {needed} GhostStream needs; update the driver (R530 or newer)")]
    DriverTooOld {
        /// What the driver offers.
        driver: ApiVersion,
        /// What this build needs.
        needed: ApiVersion,
    },
    /// The GPU has no NVENC engine (or no encode-capable device was found).
    #[error("{device} has no NVENC encoder engine: nvEncOpenEncodeSessionEx returned {name} ({status}){}", last_error.as_deref().map(|e| format!(": {e}")).unwrap_or_default())]
    NoEncoder {
        /// The GPU (CUDA's name for it).
        device: String,
        /// The status returned.
        status: u32,
        /// Its name.
        name: String,
        /// The driver's last-error string, when there was a session to ask.
        last_error: Option<String>,
    },
    /// An NVENC call returned an error status.
    #[error("{call} failed: {name} ({status}): {meaning}{}", last_error.as_deref().map(|e| format!("; driver says: {e}")).unwrap_or_default())]
    Status {
        /// The NVENC function.
        call: &'static str,
        /// The NVENCSTATUS.
        status: u32,
        /// Its name.
        name: String,
        /// What it means.
        meaning: &'static str,
        /// The driver's last-error string for the session (`nvEncGetLastErrorString`).
        last_error: Option<String>,
    },
    /// NVENC cannot do what the config asks (10-bit H.264, lossless AV1).
    #[error("NVENC cannot do {what}: {fix}")]
    Unsupported {
        /// What was asked.
        what: String,
        /// What to do instead.
        fix: String,
    },
    /// The CUDA side (context, import, stream) failed.
    #[error(transparent)]
    Cuda(#[from] CudaError),
    /// The Vulkan side of the hand-off (exportable buffers and timelines) failed.
    #[error(transparent)]
    Gpu(#[from] crate::gpu::GpuError),
}

impl NvencError {
    /// The error for `status` returned by `call`, with the session's last-error text.
    pub(crate) fn status(call: &'static str, status: u32, last_error: Option<String>) -> Self {
        NvencError::Status {
            call,
            status,
            name: status::name(status),
            meaning: status::meaning(status),
            last_error,
        }
    }
}
