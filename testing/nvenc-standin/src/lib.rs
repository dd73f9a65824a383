//! A STAND-IN for NVIDIA's `libnvidia-encode.so.1`, for GhostStream's tests: NVENC's API with
//! every call checked against the SDK 12.1 header and NVIDIA's programming guide, on a machine
//! whose GPU has no encoder engine (or no GPU at all).
//!
//! It is not NVIDIA's encoder and says so everywhere (its log's first line, its last-error
//! strings' context, its streams): it proves that a caller keeps NVENC's rules and hands over
//! the right pixels, not how NVENC compresses or performs. `tools/nvenc-check.sh` stays the
//! check on real hardware.
//!
//! - [`ffi`]: the two exported symbols; the function table they fill ([`api`]'s calls).
//! - [`api`]: the rule checks and the session state machine; each violation returns the
//!   header's status and is recorded ([`log`]).
//! - [`stream`]: what is written per picture (H.264 and HEVC PCM streams that decode to exactly
//!   the input; AV1 placeholder OBUs).
//! - [`cuda`]: reading the registered device memory (the driver's CUDA, or host memory in
//!   the unit tests); [`caps`]: the modelled GPU; [`fault`]: injected faults.
//!
//! Loaded in place of the driver's library: build the cdylib, link
//! `libghoststream_nvenc_standin.so` as `libnvidia-encode.so.1` in a directory put first on
//! `LD_LIBRARY_PATH`, and name a log file in `GHOSTSTREAM_NVENC_STANDIN_LOG`.

pub mod api;
pub mod caps;
pub mod cuda;
pub mod fault;
pub mod ffi;
pub mod log;
mod raw;
pub mod status;
pub mod stream;

/// The file name cargo gives the cdylib.
pub const LIBRARY_FILE: &str = "libghoststream_nvenc_standin.so";
