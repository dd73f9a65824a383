//! The Vulkan layer (ash): the only place that calls Vulkan.
//!
//! [`GpuContext`] owns the instance, device, compute queue and allocator (or borrows an
//! application's); [`RgbToYuv420`] is the plain conversion pass and the fused processing pass
//! runs in the session's [`ConvertRing`]; exportable memory and timelines, DMA-BUF import and
//! the GPU clock complete it. Vulkan type mappings are in one pure module (`conv`). Every
//! `unsafe` block states the invariant it relies on.

#[cfg(any(feature = "test-support", feature = "bench"))]
mod bench;
mod clock;
mod commands;
mod context;
mod conv;
mod convert;
mod dmabuf;
mod interop;
mod pass;
mod pipeline;
mod planar;
mod pointer;
mod resources;
mod ring;
pub mod video;

pub use context::{DeviceInfo, GpuContext, HostVulkan, ValidationLog, OPTIONAL_DEVICE_EXTENSIONS};

/// How a context is chosen and set up: plain data of the configuration layer, named here too.
pub use crate::config::{DeviceSelector, GpuOptions};
pub use crate::frame::{GpuFrame, GpuFrameError, TimelinePoint};
/// The `ash` crate GhostStream is built with, for embedding applications to name the same
/// Vulkan types.
pub use ash;
#[cfg(any(feature = "test-support", feature = "bench"))]
pub use bench::ConvertBenchmark;
pub use commands::GpuTime;
pub use convert::{BufferPass, ConvertInput, ConvertRun, RgbToYuv420};
pub use dmabuf::{importable_modifiers, DmaBuf, DmaBufImage, DrmModifier, DRM_FORMAT_MOD_LINEAR};
pub use interop::{ExportableBuffer, ExportableTimeline};
#[cfg(any(feature = "test-support", feature = "bench"))]
pub use pass::FusedStages;
pub use planar::{PictureConsumer, PlanarImage};
pub use ring::{
    ConvertRing, Converted, GpuHandoff, HandedOff, Handoff, ImageHandoff, RingFrame, Submitted,
};
#[cfg(any(feature = "test-support", feature = "bench"))]
pub use ring::{CopyTiming, PassTiming};

use ash::vk;

/// Why a GPU call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// No Vulkan loader on this machine.
    #[error("Vulkan is not available: {reason} (install libvulkan1 and a driver, e.g. mesa-vulkan-drivers)")]
    NoVulkan {
        /// What the loader said.
        reason: String,
    },
    /// The device lacks an extension a path needs.
    #[error("{device} does not have {extension}, which {needed_for} needs (use a device or driver that has it, or a path that does not need it)")]
    MissingExtension {
        /// The extension.
        extension: String,
        /// The path that needs it.
        needed_for: &'static str,
        /// The device.
        device: String,
    },
    /// A layer the caller asked for is missing.
    #[error("Vulkan layer {layer} is not installed ({fix})")]
    MissingLayer {
        /// The layer.
        layer: &'static str,
        /// How to get it.
        fix: &'static str,
    },
    /// No device matched.
    #[error("no Vulkan 1.3 device with a compute queue matches {wanted} (devices seen: {seen})")]
    NoDevice {
        /// The selector.
        wanted: String,
        /// What was enumerated.
        seen: String,
    },
    /// A device lacks a format or feature an operation needs.
    #[error("the device cannot {what}: {reason}")]
    Unsupported {
        /// What was asked.
        what: String,
        /// Why not.
        reason: String,
    },
    /// A Vulkan call returned an error.
    #[error("{call} failed: {result:?}")]
    Vulkan {
        /// The call.
        call: &'static str,
        /// Its result.
        result: vk::Result,
    },
    /// Memory could not be allocated.
    #[error("cannot allocate GPU memory for {what}: {reason}")]
    Allocation {
        /// The resource.
        what: String,
        /// The allocator's message.
        reason: String,
    },
    /// The GPU did not finish in time.
    #[error("the GPU did not finish {what} within {timeout_ms} ms")]
    Timeout {
        /// What was waited for.
        what: &'static str,
        /// The limit.
        timeout_ms: u64,
    },
    /// A GPU frame's wait point was not reached in time.
    #[error("the GPU frame's wait semaphore {semaphore:#x} did not reach value {value} within {timeout_ms} ms: the application never signalled it (submit the work that signals it, or raise frame_wait_timeout_ms)")]
    FrameNotReady {
        /// The semaphore's raw handle.
        semaphore: u64,
        /// The value waited for.
        value: u64,
        /// The limit.
        timeout_ms: u64,
    },
    /// A request that does not fit the operation.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The value.
        what: String,
        /// Why.
        reason: String,
    },
}

impl GpuError {
    /// A mapper from `vk::Result` for `call`.
    pub(crate) fn vk(call: &'static str) -> impl Fn(vk::Result) -> GpuError {
        move |result| GpuError::Vulkan { call, result }
    }
}

/// `n` as the `u32` Vulkan counts and indices are. Every count this layer passes (ring slots,
/// descriptor sets and bindings, timestamp queries, queue families) is a small number the layer
/// chose itself, far below `u32::MAX`.
#[expect(
    clippy::cast_possible_truncation,
    reason = "small counts chosen by this layer (slots, bindings, queries, families)"
)]
pub(crate) const fn vk_u32(n: usize) -> u32 {
    debug_assert!(n <= u32::MAX as usize);
    n as u32
}

/// `x` as the `f32` the shaders' uniforms hold: rounding to the nearest `f32` is the intent
/// (coefficients, ranges and luminances are computed in `f64` for exactness, then stored).
#[expect(
    clippy::cast_possible_truncation,
    reason = "rounding an f64 coefficient to the shader's f32 is the intent"
)]
pub(crate) fn shader_f32(x: f64) -> f32 {
    x as f32
}
