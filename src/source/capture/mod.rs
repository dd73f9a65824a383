//! Screen capture: frames from the desktop into the engine.
//!
//! - [`wayland`]: Wayland compositors through `ext-image-copy-capture-v1` (outputs and windows
//!   by `app_id`) or `wlr-screencopy-unstable-v1` (wlroots-style compositors: sway, Hyprland,
//!   river, labwc), into shared memory (`wl_shm`); the output by name, a region, the cursor on
//!   or off, damage-driven so that an idle screen costs nothing.
//! - [`pipewire`] (feature `pipewire`): any PipeWire video node by id or name — the desktop
//!   portal's screen casts, cameras, applications — in shared memory, with the producer's
//!   timestamps; `pipewire::test_node` (feature `test-support`) publishes a frame-numbered pattern to test against.
//! - [`portal`] (feature `portal`): the desktop portal's ScreenCast (GNOME, KDE, wlroots through
//!   xdg-desktop-portal-wlr): the user grants a screen once (a restore token is kept), the
//!   stream arrives over the portal's PipeWire connection.
//! - [`pacer`]: constant frame rate over any of them ([`LiveCapture`]).
//!
//! Every capture runs as an ordinary user: no root, no setcap, no CAP_SYS_ADMIN (no KMS).

pub mod pacer;
#[cfg(feature = "pipewire")]
pub mod pipewire;
#[cfg(feature = "portal")]
pub mod portal;
pub mod wayland;

pub use crate::source::PacingStats;
pub use pacer::PacedCapture;
#[cfg(all(feature = "pipewire", feature = "test-support"))]
pub use pipewire::test_node::{
    test_node_frame_number, test_node_pixel, test_node_pointer_pixel, test_node_pointer_position,
    PipeWireTestNode, TestNodeBuffers, TEST_NODE_POINTER_HOTSPOT, TEST_NODE_POINTER_SIDE,
};
/// The PipeWire metadata readers, for the fuzz targets (feature `test-support`).
#[cfg(all(feature = "pipewire", feature = "test-support"))]
pub use pipewire::{parse_buffer_meta, parse_cursor_meta, BufferMeta, CursorBitmap, CursorUpdate};
#[cfg(feature = "pipewire")]
pub use pipewire::{NodeTarget, PipeWireCapture, PipeWireCounts, PipeWireOptions};
#[cfg(feature = "portal")]
pub use portal::{
    PortalCapture, PortalInfo, PortalOptions, PortalSession, PortalSources, PortalStream,
    RestoreTokenFile,
};
pub use wayland::{Region, WaylandCapture, WaylandOptions, WaylandProtocol};

use std::time::Instant;

use crate::frame::{CpuImage, FrameImage};
use crate::source::SourceInfo;
use crate::time::Timestamp;

/// A live capture the pacer drives: frames arrive on their own schedule, the newest is kept
/// readable until the next one replaces it.
pub trait LiveCapture: Send {
    /// What is captured, for messages (an output name, a PipeWire node).
    fn name(&self) -> &str;

    /// The format and size of the frames when the capture opened, and the rate the source
    /// announced.
    fn info(&self) -> SourceInfo;

    /// Waits until `deadline` for the next frame; returns its capture time, or `None` when none
    /// came in time (nothing changed on screen). Several frames that arrived since the last
    /// call are reported one by one without waiting; only the newest is readable.
    fn wait_frame_before(&mut self, deadline: Instant) -> Result<Option<Timestamp>, CaptureError>;

    /// The newest frame, read out of the capture's buffer, with its capture time; `None`
    /// before the first. Reading it again repeats it.
    fn last_image(&self) -> Result<Option<(CpuImage, Timestamp)>, CaptureError>;

    /// When the newest frame reached this process (`CLOCK_MONOTONIC`): the compositor's or
    /// producer's part of the latency ends there. `None` where the capture does not know.
    fn last_arrival(&self) -> Option<Timestamp> {
        None
    }

    /// The newest frame as the capture holds it: a producer's DMA-BUF stays one
    /// ([`FrameImage::DmaBuf`], nothing copied; the session imports it into its GPU), anything
    /// else is read out as [`last_image`](Self::last_image) does.
    fn last_frame_image(&self) -> Result<Option<(FrameImage, Timestamp)>, CaptureError> {
        Ok(self
            .last_image()?
            .map(|(image, time)| (FrameImage::Cpu(image), time)))
    }
}

/// Why capture failed. Each message names the value at fault and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// No window has the `app_id` asked for.
    #[error("no window with app_id {app_id:?}; the compositor lists {available}")]
    WindowNotFound {
        /// The `app_id` asked for.
        app_id: String,
        /// The windows there are, as `app_id ("title")`.
        available: String,
    },
    /// The window being captured was closed, or the compositor stopped its capture.
    #[error("window {app_id:?} went away during capture (it was closed, or the compositor stopped the capture)")]
    WindowGone {
        /// The window's `app_id`.
        app_id: String,
    },
    /// The compositor refused the buffer offered for a frame.
    #[error("the compositor refused the capture buffer for {what}: {reason} (a buffer made as the compositor described it was refused: try the other protocol with WaylandOptions::protocol, or report it to the compositor)")]
    BufferRefused {
        /// What was captured.
        what: String,
        /// The reason the compositor gave, with the buffer.
        reason: String,
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
    /// The compositor accepted the connection but did not answer one exchange in time (a hung
    /// or stopped compositor, or a socket that is not a Wayland compositor's).
    #[error("the Wayland compositor at {socket} did not answer {step} within {waited_ms} ms (it accepted the connection but does not respond: is it stopped or hung, and is this its socket? check WAYLAND_DISPLAY or --display)")]
    CompositorTimeout {
        /// The socket's path.
        socket: String,
        /// What was asked and not answered.
        step: String,
        /// How long it waited.
        waited_ms: u64,
    },
    /// No frame came within the time allowed.
    #[error("no frame from output {output:?} within {waited_ms} ms")]
    Timeout {
        /// The output.
        output: String,
        /// How long it waited.
        waited_ms: u64,
    },
    /// A pacing rate outside what the engine runs.
    #[error("capture frame rate {rate} is out of range: give 1 to 1000 frames per second")]
    BadRate {
        /// The rate given.
        rate: crate::time::Rational,
    },
    /// No PipeWire daemon answered.
    #[error("cannot connect to PipeWire: {reason} (is the pipewire daemon running for this user, with XDG_RUNTIME_DIR set, or PIPEWIRE_REMOTE naming its socket?)")]
    PipeWireUnavailable {
        /// What failed.
        reason: String,
    },
    /// The PipeWire socket accepted the connection but nothing answered in time (a hung
    /// daemon, or a socket that is not PipeWire's).
    #[error("PipeWire at {socket} did not answer {step} within {waited_ms} ms (the socket accepted the connection but nothing responds: is the daemon hung, and is this its socket? check PIPEWIRE_REMOTE and XDG_RUNTIME_DIR)")]
    PipeWireTimeout {
        /// The socket (a path, or the connection handed over by the portal).
        socket: String,
        /// What was asked and not answered.
        step: String,
        /// How long it waited.
        waited_ms: u64,
    },
    /// The PipeWire daemon closed the connection or reported an error on it.
    #[error("PipeWire went away during capture: {reason}")]
    PipeWireGone {
        /// What the daemon reported.
        reason: String,
    },
    /// No node with the id or name asked for.
    #[error("no PipeWire {node}; the graph has {available} (list them with `pw-cli ls Node`)")]
    NodeNotFound {
        /// The node asked for.
        node: String,
        /// The video source nodes there are.
        available: String,
    },
    /// The node being captured was removed (its producer stopped or crashed).
    #[error("PipeWire {node} was removed during capture (its producer stopped)")]
    NodeGone {
        /// The node.
        node: String,
    },
    /// The node and GhostStream have no format in common: the link between them failed to
    /// negotiate.
    #[error("PipeWire {node} and GhostStream share no format ({reason}): the node offers {producer}; GhostStream takes {consumer}. A node that sends only DMA-BUF needs a Vulkan device that imports DMA-BUF (VK_EXT_external_memory_dma_buf): record with --gpu require on such a device")]
    NoCommonFormat {
        /// The node.
        node: String,
        /// What PipeWire said of the link.
        reason: String,
        /// The formats the node offers, as read from its `EnumFormat` parameters.
        producer: String,
        /// The formats GhostStream offered.
        consumer: String,
    },
    /// The stream could not be set up or failed.
    #[error("the PipeWire capture stream failed: {reason}")]
    StreamFailed {
        /// What PipeWire reported.
        reason: String,
    },
    /// A producer's buffer does not hold the frame its format promises.
    #[error("{source_name} sent a bad buffer: {reason}")]
    BadBuffer {
        /// The source.
        source_name: String,
        /// What is wrong, with the sizes.
        reason: String,
    },
    /// No desktop portal with a ScreenCast backend answered.
    #[error("the desktop portal is not available: {reason} (install xdg-desktop-portal and the backend for your desktop — xdg-desktop-portal-gnome, -kde or -wlr — and run inside the desktop session; or use --source wayland / pipewire:NODE)")]
    PortalUnavailable {
        /// What failed, with the bus's own error.
        reason: String,
    },
    /// The user cancelled the portal's dialog (response 1).
    #[error("the screen-cast request was cancelled at {step} (the dialog was dismissed or sharing was refused); nothing was captured")]
    PortalDenied {
        /// The handshake step.
        step: &'static str,
    },
    /// The portal or its backend ended a step with an error.
    #[error("the desktop portal failed at {step}: {reason}")]
    PortalFailed {
        /// The handshake step.
        step: &'static str,
        /// What the portal reported.
        reason: String,
    },
    /// The portal did not answer a step in time (an unanswered dialog, a hung backend).
    #[error("the desktop portal did not answer {step} within {waited_ms} ms (an unanswered dialog or a hung backend)")]
    PortalTimeout {
        /// The handshake step.
        step: &'static str,
        /// How long it waited.
        waited_ms: u64,
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
