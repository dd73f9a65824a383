//! Screen capture: frames from the desktop into the engine.
//!
//! - [`wayland`]: wlroots-style compositors (sway, Hyprland, river, labwc) through
//!   `wlr-screencopy-unstable-v1`, into shared memory (`wl_shm`); the output by name, a region,
//!   the cursor on or off, damage-driven so that an idle screen costs nothing.
//!
//! Every capture runs as an ordinary user: no root, no setcap, no CAP_SYS_ADMIN (no KMS).

pub mod pacer;
pub mod shm;
pub mod wayland;

pub use pacer::{PacedCapture, PacingStats};
pub use wayland::{Region, WaylandCapture, WaylandOptions};

/// Why capture failed. Each message names the value at fault and the fix.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// No compositor answered at the socket.
    #[error("cannot connect to the Wayland compositor at {display}: {reason} (is a compositor running, and are WAYLAND_DISPLAY and XDG_RUNTIME_DIR set?)")]
    NoCompositor {
        /// The socket tried.
        display: String,
        /// What failed.
        reason: String,
    },
    /// The compositor lacks a protocol this capture path needs.
    #[error("the compositor does not offer {protocol}: {fix}")]
    ProtocolMissing {
        /// The protocol's interface name.
        protocol: &'static str,
        /// What to use instead.
        fix: &'static str,
    },
    /// No output has the name asked for.
    #[error("no output named {name:?}; the compositor has {available}")]
    OutputNotFound {
        /// The name asked for.
        name: String,
        /// The outputs there are.
        available: String,
    },
    /// The output being captured went away (unplugged, disabled).
    #[error("output {name:?} was removed during capture")]
    OutputGone {
        /// The output.
        name: String,
    },
    /// The compositor closed the connection or broke the protocol.
    #[error("the compositor went away during capture: {reason}")]
    CompositorGone {
        /// What the connection reported.
        reason: String,
    },
    /// The compositor refused or abandoned a frame (`failed`).
    #[error("the compositor failed to copy a frame of output {output:?} (it may have been disabled or resized)")]
    FrameFailed {
        /// The output.
        output: String,
    },
    /// The compositor offered only pixel formats GhostStream does not take.
    #[error("the compositor offers the frame as wl_shm format {format:#010x}, which GhostStream does not take (it takes ARGB/XRGB/ABGR/XBGR 8888 and XBGR/ABGR 2101010)")]
    UnsupportedFormat {
        /// The `wl_shm` format code.
        format: u32,
    },
    /// A capture region outside the output, or empty.
    #[error("capture region {region} is not inside output {output:?} ({width}x{height}): give x,y,width,height inside it")]
    BadRegion {
        /// The region asked for.
        region: Region,
        /// The output.
        output: String,
        /// The output's width.
        width: u32,
        /// The output's height.
        height: u32,
    },
    /// No frame came within the time allowed.
    #[error("no frame from output {output:?} within {waited_ms} ms")]
    Timeout {
        /// The output.
        output: String,
        /// How long it waited.
        waited_ms: u64,
    },
    /// A pacing rate that is not positive.
    #[error("capture frame rate {rate} is not positive: give frames per second above zero")]
    BadRate {
        /// The rate given.
        rate: crate::time::Rational,
    },
    /// A system call failed.
    #[error("cannot create {what}: {source}")]
    Io {
        /// What was being made.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
