//! Capture from a Wayland compositor into shared memory (or LINEAR DMA-BUFs, on request:
//! [`WaylandOptions::dmabuf`]): through `ext-image-copy-capture-v1`
//! (outputs, and windows by `app_id`) when the compositor offers it, else through
//! `wlr-screencopy-unstable-v1` (outputs of wlroots-style compositors).
//!
//! The rest of this page describes the wlr-screencopy path; the image-copy path works the same
//! way (two buffers, one request in flight, every wait bounded) and is described in its module.
//!
//! One copy request is always in flight: as soon as a frame is ready its pixels are read out and
//! the next request (capture, buffer negotiation, copy) is sent before the frame is returned, so
//! the compositor copies the next frame while the caller encodes this one. Two shared-memory
//! buffers alternate, so the last frame delivered stays readable while the next is copied. Pacing by sleeping
//! before asking halves the frame rate; this never sleeps.
//!
//! With `damage` on (the default), the compositor answers a copy only when the output changed:
//! an idle screen costs no copies. A caller that needs a constant frame rate repeats the last
//! frame (`next_frame_before` returns `None` when nothing changed in time).
//!
//! Timestamps are the compositor's presentation times (`CLOCK_MONOTONIC`, from `ready`).
//!
//! Nothing waits on the compositor without a deadline: connecting, listing the globals,
//! describing the outputs and negotiating each frame's buffer each get
//! [`WaylandOptions::round_trip_timeout`], and while waiting for damage a compositor that has
//! been silent that long is asked for a `wl_display.sync`, which must come back as fast. A
//! compositor that accepts the connection and never answers is a
//! [`CaptureError::CompositorTimeout`] naming the socket and the step, never a hang.

mod dmabuf;
mod image_copy;
mod shm;

use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wayland_client::backend::WaylandError;
use wayland_client::protocol::wl_buffer::WlBuffer;
use wayland_client::protocol::wl_callback::{self, WlCallback};
use wayland_client::protocol::wl_display::WlDisplay;
use wayland_client::protocol::wl_output::{self, WlOutput};
use wayland_client::protocol::wl_registry::{self, WlRegistry};
use wayland_client::protocol::wl_shm::{self, WlShm};
use wayland_client::protocol::wl_shm_pool::WlShmPool;
use wayland_client::{Connection, Dispatch, EventQueue, Proxy, QueueHandle, WEnum};
use wayland_protocols::wp::linux_dmabuf::zv1::client::zwp_linux_dmabuf_v1::ZwpLinuxDmabufV1;
use wayland_protocols_wlr::screencopy::v1::client::zwlr_screencopy_frame_v1::{
    self, ZwlrScreencopyFrameV1,
};
use wayland_protocols_wlr::screencopy::v1::client::zwlr_screencopy_manager_v1::ZwlrScreencopyManagerV1;

use super::{CaptureError, LiveCapture};
use crate::format::PixelFormat;
use crate::frame::{BufferPool, CpuImage, Frame, FrameImage};
use crate::source::{FrameSource, SourceError, SourceInfo};
use crate::time::{Rational, Timestamp};
use shm::ShmBuffer;

/// A rectangle of an output, in its pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{} {}x{}", self.x, self.y, self.width, self.height)
    }
}

impl std::str::FromStr for Region {
    type Err = String;

    /// Parses `X,Y,WIDTHxHEIGHT` (as `slurp` prints it: `X,Y WIDTHxHEIGHT` works too).
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("region {s:?} is not X,Y,WIDTHxHEIGHT (for example 0,0,1280x720)");
        let (pos, size) = s.rsplit_once([',', ' ']).ok_or_else(bad)?;
        let (x, y) = pos.split_once(',').ok_or_else(bad)?;
        let (w, h) = size.split_once('x').ok_or_else(bad)?;
        let num = |v: &str| v.trim().parse::<u32>().map_err(|_| bad());
        let region = Region {
            x: num(x)?,
            y: num(y)?,
            width: num(w)?,
            height: num(h)?,
        };
        if region.width == 0 || region.height == 0 {
            return Err(format!(
                "region {s:?} is empty: width and height must be at least 1"
            ));
        }
        Ok(region)
    }
}

/// What to capture and how.
#[derive(Clone, Debug)]
pub struct WaylandOptions {
    /// The compositor's socket: a name in `$XDG_RUNTIME_DIR` or an absolute path; `None` uses
    /// `$WAYLAND_DISPLAY`.
    pub display: Option<String>,
    /// The output by name (`DP-1`, `HEADLESS-1`); `None` takes the first.
    pub output: Option<String>,
    /// A window by its `app_id` (from `ext-foreign-toplevel-list-v1`) instead of an output;
    /// needs `ext-image-copy-capture-v1`.
    pub window: Option<String>,
    /// Which capture protocol to use; default [`WaylandProtocol::Auto`].
    pub protocol: WaylandProtocol,
    /// A part of the output, in its pixels; `None` is the whole output.
    pub region: Option<Region>,
    /// Draw the cursor into the frames.
    pub cursor: bool,
    /// With the cursor on and ext-image-copy-capture: follow the pointer through a cursor
    /// session (its own image, position and hotspot, from the first `wl_seat`) and draw it into
    /// each frame here, instead of asking the compositor to paint it; a pointer that moves over
    /// an unchanged screen then makes a frame too. Default off.
    pub cursor_session: bool,
    /// Offer the compositor LINEAR DMA-BUF buffers (`zwp_linux_dmabuf_v1`) where it takes
    /// them for the frame (ext-image-copy-capture constraints, wlr-screencopy v3
    /// `linux_dmabuf` offers), made from memfds: a compositor that cannot import one answers
    /// so and the capture goes on in shared memory. Frames in one are described by
    /// [`WaylandCapture::last_dmabuf`] for a zero-copy import. Default off.
    pub dmabuf: bool,
    /// Ask only for frames with damage (changes); an idle screen then costs nothing. With
    /// `ext-image-copy-capture-v1` the compositor always waits for a change after the first
    /// frame, whatever this says.
    pub damage: bool,
    /// How long the compositor may take to answer one exchange: the connection, the list of
    /// globals, the outputs' descriptions, a frame's buffer offer, and a `wl_display.sync`
    /// sent after this long without any event while waiting for damage. Past it the capture
    /// fails with [`CaptureError::CompositorTimeout`]. Default
    /// [`DEFAULT_ROUND_TRIP_TIMEOUT`] (5 s).
    pub round_trip_timeout: Duration,
}

/// The Wayland capture protocol a [`WaylandCapture`] uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaylandProtocol {
    /// `ext-image-copy-capture-v1` when the compositor offers it, else `wlr-screencopy`.
    #[default]
    Auto,
    /// Only `ext-image-copy-capture-v1` (a typed error when the compositor lacks it).
    ImageCopy,
    /// Only `wlr-screencopy-unstable-v1` (outputs only).
    Screencopy,
}

/// The default [`WaylandOptions::round_trip_timeout`]: a compositor answers in milliseconds,
/// a loaded one in well under a second.
pub const DEFAULT_ROUND_TRIP_TIMEOUT: Duration = Duration::from_secs(5);

impl Default for WaylandOptions {
    fn default() -> Self {
        Self {
            display: None,
            output: None,
            window: None,
            protocol: WaylandProtocol::Auto,
            region: None,
            cursor: true,
            cursor_session: false,
            dmabuf: false,
            damage: true,
            round_trip_timeout: DEFAULT_ROUND_TRIP_TIMEOUT,
        }
    }
}

/// One global the registry announced.
#[derive(Debug)]
struct GlobalEntry {
    name: u32,
    interface: String,
    version: u32,
}

/// One `wl_output` as the compositor describes it.
#[derive(Debug)]
struct OutputInfo {
    global: u32,
    proxy: WlOutput,
    name: Option<String>,
    /// Current mode: width, height, refresh in mHz.
    mode: Option<(u32, u32, u32)>,
}

/// The buffer the compositor asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BufferSpec {
    format: u32,
    width: u32,
    height: u32,
    stride: u32,
}

impl BufferSpec {
    /// Whether the compositor's buffer description is one a frame can be read out of: rows
    /// of 4-byte pixels inside the stride, the whole buffer within a `wl_shm_pool`'s size.
    fn check(&self) -> Result<(), String> {
        let row = u64::from(self.width) * 4;
        let len = u64::from(self.stride) * u64::from(self.height);
        if self.width == 0 || self.height == 0 {
            Err(format!("a {}x{} buffer (empty)", self.width, self.height))
        } else if u64::from(self.stride) < row {
            Err(format!(
                "stride {} is shorter than a {}-pixel row ({row} bytes)",
                self.stride, self.width
            ))
        } else if len > i32::MAX as u64 {
            Err(format!(
                "a {}x{} buffer with stride {} ({len} bytes) is larger than a wl_shm pool can be ({} bytes)",
                self.width,
                self.height,
                self.stride,
                i32::MAX
            ))
        } else {
            Ok(())
        }
    }
}

/// What the compositor has said about the frame in flight.
#[derive(Debug, Default)]
struct FrameEvents {
    shm: Option<BufferSpec>,
    /// A `linux_dmabuf` offer: DRM fourcc, width, height.
    linux_dmabuf: Option<(u32, u32, u32)>,
    buffer_done: bool,
    y_invert: bool,
    ready: Option<Timestamp>,
    /// When `ready` reached this process.
    arrived: Option<Timestamp>,
    failed: bool,
}

/// The event handlers' state.
#[derive(Debug, Default)]
struct State {
    globals: Vec<GlobalEntry>,
    outputs: Vec<OutputInfo>,
    removed: Vec<u32>,
    frame: FrameEvents,
    /// What the ext-image-copy-capture objects have said.
    copy: image_copy::CopyEvents,
    /// The answer to the last DMA-BUF buffer offered.
    created: dmabuf::Created,
    /// The highest `wl_display.sync` serial answered.
    synced: u64,
}

/// A shared-memory buffer frames are copied into, with its `wl_buffer`.
struct Target {
    spec: BufferSpec,
    memory: ShmBuffer,
    /// The `wl_shm` pool, for a shared-memory buffer.
    pool: Option<WlShmPool>,
    buffer: WlBuffer,
    /// The frame in it is stored bottom row first.
    y_invert: bool,
    /// The buffer went to the compositor as a LINEAR DMA-BUF (`zwp_linux_dmabuf_v1`).
    dmabuf: bool,
    /// For a DMA-BUF: what frames handed on in it carry.
    shared: Option<dmabuf::Shared>,
}

impl Target {
    /// Whether a frame handed on in this buffer is still held (the compositor must not write
    /// into it then).
    fn leased(&self) -> bool {
        self.shared.as_ref().is_some_and(dmabuf::Shared::leased)
    }

    /// The buffer as a DMA-BUF for import, when it is one.
    fn as_dmabuf(&self) -> Option<crate::gpu::DmaBuf<'_>> {
        if !self.dmabuf {
            return None;
        }
        Some(crate::gpu::DmaBuf {
            fd: std::os::fd::AsFd::as_fd(&self.memory),
            format: pixel_format(self.spec.format).ok()?,
            width: self.spec.width,
            height: self.spec.height,
            modifier: dmabuf::LINEAR,
            offset: 0,
            stride: u64::from(self.spec.stride),
        })
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.buffer.destroy();
        if let Some(pool) = self.pool.take() {
            pool.destroy();
        }
    }
}

/// The compositor's end of the connection: its socket (for messages), how long one exchange
/// may take, and the syncs sent.
#[derive(Debug)]
struct Peer {
    socket: String,
    timeout: Duration,
    display: WlDisplay,
    syncs: u64,
}

impl Peer {
    /// Sends a `wl_display.sync`; its serial comes back in [`State::synced`] when answered.
    fn sync(&mut self, qh: &QueueHandle<State>) -> u64 {
        self.syncs = self.syncs.saturating_add(1);
        self.display.sync(qh, self.syncs);
        self.syncs
    }

    fn timed_out(&self, step: String, since: Instant) -> CaptureError {
        CaptureError::CompositorTimeout {
            socket: self.socket.clone(),
            step,
            waited_ms: u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Dispatches events until `done` holds, for at most [`Self::timeout`]; a
    /// [`CaptureError::CompositorTimeout`] naming `step` after that.
    fn wait_for(
        &self,
        queue: &mut EventQueue<State>,
        state: &mut State,
        step: impl FnOnce() -> String,
        done: impl Fn(&State) -> bool,
    ) -> Result<(), CaptureError> {
        let started = Instant::now();
        let deadline = after(started, self.timeout);
        loop {
            if done(state) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.timed_out(step(), started));
            }
            dispatch_until(queue, state, deadline)?;
        }
    }

    /// A round trip: everything sent so far has been handled and its events dispatched, within
    /// the timeout.
    fn roundtrip(
        &mut self,
        queue: &mut EventQueue<State>,
        state: &mut State,
        step: &str,
    ) -> Result<(), CaptureError> {
        let serial = self.sync(&queue.handle());
        self.wait_for(queue, state, || step.to_string(), |s| s.synced >= serial)
    }
}

/// `start + timeout`, or far ahead when that does not fit an `Instant`.
fn after(start: Instant, timeout: Duration) -> Instant {
    start
        .checked_add(timeout)
        .or_else(|| start.checked_add(Duration::from_secs(365 * 86_400)))
        .unwrap_or(start)
}

/// A capture of one output (or a region of it), or of one window.
pub struct WaylandCapture {
    backend: Backend,
    /// The first frame's presentation time: frames are timed from it.
    first: Option<Timestamp>,
}

/// The protocol a capture runs over.
enum Backend {
    Screencopy(Box<Screencopy>),
    ImageCopy(Box<image_copy::ImageCopy>),
}

impl std::fmt::Debug for WaylandCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaylandCapture")
            .field("source", &self.output_name())
            .field("protocol", &self.protocol())
            .field("info", &LiveCapture::info(self))
            .finish_non_exhaustive()
    }
}

/// A connection with the list of globals read: what both protocols start from.
struct Link {
    queue: EventQueue<State>,
    state: State,
    peer: Peer,
    registry: WlRegistry,
}

/// The output a capture takes, as the compositor describes it.
struct ChosenOutput {
    proxy: WlOutput,
    global: u32,
    name: String,
    /// Width, height, refresh in mHz (0x0 at 60 Hz when the compositor sent no mode).
    mode: (u32, u32, u32),
}

impl Link {
    /// Connects and lists the globals, within the round-trip timeout.
    fn open(options: &WaylandOptions) -> Result<Self, CaptureError> {
        let timeout = options.round_trip_timeout;
        let (connection, socket) = connect(options.display.as_deref(), timeout)?;
        let mut queue = connection.new_event_queue();
        let qh = queue.handle();
        let mut peer = Peer {
            socket,
            timeout,
            display: connection.display(),
            syncs: 0,
        };
        let mut state = State::default();
        let registry = connection.display().get_registry(&qh, ());
        peer.roundtrip(
            &mut queue,
            &mut state,
            "the list of globals (wl_display.get_registry, then wl_display.sync)",
        )?;
        Ok(Self {
            queue,
            state,
            peer,
            registry,
        })
    }

    /// The global offering `interface`, with its version.
    fn find(&self, interface: &str) -> Option<(u32, u32)> {
        self.state
            .globals
            .iter()
            .find(|g| g.interface == interface && g.version >= 1)
            .map(|g| (g.name, g.version))
    }

    /// Binds `zwp_linux_dmabuf_v1` (version 3 at most) when `wanted` and offered.
    fn bind_dmabuf(&self, wanted: bool) -> Option<ZwpLinuxDmabufV1> {
        let (name, version) = self
            .find(ZwpLinuxDmabufV1::interface().name)
            .filter(|_| wanted)?;
        Some(
            self.registry
                .bind(name, version.min(3), &self.queue.handle(), ()),
        )
    }

    /// Binds `wl_shm`.
    fn bind_shm(&self) -> Result<WlShm, CaptureError> {
        let (name, _) =
            self.find(WlShm::interface().name)
                .ok_or(CaptureError::ProtocolMissing {
                    protocol: "wl_shm",
                    fix: "every Wayland compositor has it; the compositor is broken",
                })?;
        Ok(self.registry.bind(name, 1, &self.queue.handle(), ()))
    }

    /// Binds every output, reads their names and modes, and picks the one `wanted` names (the
    /// first when `None`); checks `region` lies inside it.
    fn choose_output(
        &mut self,
        wanted: Option<&str>,
        region: Option<Region>,
    ) -> Result<ChosenOutput, CaptureError> {
        let qh = self.queue.handle();
        let announced: Vec<(u32, u32)> = self
            .state
            .globals
            .iter()
            .filter(|g| g.interface == WlOutput::interface().name && g.version >= 1)
            .map(|g| (g.name, g.version))
            .collect();
        for (name, version) in announced {
            let proxy: WlOutput = self.registry.bind(name, version.min(4), &qh, name);
            self.state.outputs.push(OutputInfo {
                global: name,
                proxy,
                name: None,
                mode: None,
            });
        }
        self.peer.roundtrip(
            &mut self.queue,
            &mut self.state,
            "the outputs' descriptions (wl_output name and mode, then wl_display.sync)",
        )?;
        let labels: Vec<String> = self
            .state
            .outputs
            .iter()
            .enumerate()
            .map(|(i, o)| o.name.clone().unwrap_or_else(|| format!("output {i}")))
            .collect();
        let index = match wanted {
            None => (!self.state.outputs.is_empty()).then_some(0),
            Some(name) => labels.iter().position(|l| l == name),
        }
        .ok_or_else(|| CaptureError::OutputNotFound {
            name: wanted.unwrap_or_default().to_string(),
            available: if labels.is_empty() {
                "no outputs".into()
            } else {
                labels.join(", ")
            },
        })?;
        let chosen = &self.state.outputs[index];
        let (mode_w, mode_h, refresh) = chosen.mode.unwrap_or((0, 0, 60_000));
        if let Some(r) = region {
            let inside = mode_w == 0
                || (u64::from(r.x) + u64::from(r.width) <= u64::from(mode_w)
                    && u64::from(r.y) + u64::from(r.height) <= u64::from(mode_h));
            if !inside {
                return Err(CaptureError::BadRegion {
                    region: r,
                    output: labels[index].clone(),
                    width: mode_w,
                    height: mode_h,
                });
            }
        }
        Ok(ChosenOutput {
            proxy: chosen.proxy.clone(),
            global: chosen.global,
            name: labels[index].clone(),
            mode: (mode_w, mode_h, refresh),
        })
    }
}

/// The frame rate an output's refresh (mHz) gives; 60 when unknown.
fn refresh_rate(refresh: u32) -> Rational {
    if refresh > 0 {
        Rational::new(i64::from(refresh), 1000)
    } else {
        Rational::new(60, 1)
    }
}

/// Tells a compositor that has gone quiet from an idle screen: after a whole timeout without a
/// word from it, a `wl_display.sync` is sent, which must come back within another.
#[derive(Debug)]
struct Liveness {
    /// When the compositor last sent anything.
    last_heard: Instant,
    /// A liveness `wl_display.sync` in flight: its serial and when it was sent.
    ping: Option<(u64, Instant)>,
}

impl Liveness {
    fn new() -> Self {
        Self {
            last_heard: Instant::now(),
            ping: None,
        }
    }

    /// While waiting for damage: fails when a liveness sync went unanswered for a whole
    /// timeout (a compositor that hangs mid-capture is otherwise indistinguishable from an idle
    /// screen), sends one after a timeout of silence. Returns when to check again.
    fn check(
        &mut self,
        peer: &mut Peer,
        queue: &EventQueue<State>,
        synced: u64,
        what: impl FnOnce() -> String,
    ) -> Result<Instant, CaptureError> {
        let now = Instant::now();
        if let Some((serial, sent)) = self.ping {
            if synced >= serial {
                self.ping = None;
                self.last_heard = now;
            } else if now >= after(sent, peer.timeout) {
                return Err(peer.timed_out(
                    format!(
                        "a liveness check (wl_display.sync) while waiting for {}",
                        what()
                    ),
                    sent,
                ));
            } else {
                return Ok(after(sent, peer.timeout));
            }
        }
        let quiet_until = after(self.last_heard, peer.timeout);
        if now < quiet_until {
            return Ok(quiet_until);
        }
        let serial = peer.sync(&queue.handle());
        self.ping = Some((serial, now));
        Ok(after(now, peer.timeout))
    }
}

/// A capture of one output (or a region of it) through wlr-screencopy.
struct Screencopy {
    queue: EventQueue<State>,
    state: State,
    peer: Peer,
    live: Liveness,
    manager: ZwlrScreencopyManagerV1,
    manager_version: u32,
    shm: WlShm,
    output: WlOutput,
    output_global: u32,
    output_name: String,
    options: WaylandOptions,
    /// Two buffers used in turn: the compositor copies into one while the other keeps the
    /// last frame delivered, readable again for a repeat (see [`Self::last_image`]).
    targets: [Option<Target>; 2],
    /// The target the request in flight copies into.
    filling: usize,
    /// The target holding the last frame delivered, with its presentation time and its arrival
    /// here.
    delivered: Option<(usize, Timestamp, Timestamp)>,
    in_flight: Option<ZwlrScreencopyFrameV1>,
    info: SourceInfo,
    pool: Arc<BufferPool>,
    /// DMA-BUF buffers, when asked for and offered.
    dmabuf: Option<ZwpLinuxDmabufV1>,
    /// The compositor refused a DMA-BUF buffer: shared memory from then on.
    dmabuf_refused: bool,
    /// DMA-BUF buffers out of rotation while handed-on frames hold them.
    held: Vec<Target>,
    /// Keys for the DMA-BUF buffers made.
    keys: dmabuf::Keys,
}

/// How long a frame may take before it is an error, when the caller gives no deadline and the
/// screen has changed (damage off): a compositor that never answers must not hang the caller.
const FRAME_TIMEOUT: Duration = Duration::from_secs(5);

fn gone(e: impl std::fmt::Display) -> CaptureError {
    CaptureError::CompositorGone {
        reason: e.to_string(),
    }
}

impl WaylandCapture {
    /// Connects, finds the output (or window) and a capture protocol — ext-image-copy-capture
    /// when the compositor offers it (unless [`WaylandOptions::protocol`] says otherwise), else
    /// wlr-screencopy — and asks for the first frame. Each step waits at most
    /// [`WaylandOptions::round_trip_timeout`] for the compositor.
    pub fn open(options: WaylandOptions) -> Result<Self, CaptureError> {
        let link = Link::open(&options)?;
        let image_copy = link.find(image_copy::MANAGER).is_some();
        let use_image_copy = match options.protocol {
            WaylandProtocol::ImageCopy => true,
            WaylandProtocol::Screencopy => false,
            WaylandProtocol::Auto => image_copy || options.window.is_some(),
        };
        if options.window.is_some() && !use_image_copy {
            return Err(CaptureError::ProtocolMissing {
                protocol: "ext_image_copy_capture_manager_v1 (wlr-screencopy captures outputs only)",
                fix: "capturing a window needs ext-image-copy-capture-v1; leave the protocol on auto or image-copy",
            });
        }
        let backend = if use_image_copy {
            Backend::ImageCopy(Box::new(image_copy::ImageCopy::open(link, options)?))
        } else {
            Backend::Screencopy(Box::new(Screencopy::open(link, options)?))
        };
        Ok(Self {
            backend,
            first: None,
        })
    }

    /// The protocol in use: `ext-image-copy-capture` or `wlr-screencopy`.
    pub fn protocol(&self) -> &'static str {
        match &self.backend {
            Backend::Screencopy(_) => "wlr-screencopy",
            Backend::ImageCopy(_) => "ext-image-copy-capture",
        }
    }

    /// The name of the output being captured (`window APP_ID` for a window).
    pub fn output_name(&self) -> &str {
        match &self.backend {
            Backend::Screencopy(c) => &c.output_name,
            Backend::ImageCopy(c) => c.output_name(),
        }
    }

    /// What is captured and how, for messages: `output DP-1 (wlr-screencopy)`,
    /// `window org.example.App (ext-image-copy-capture)`.
    pub fn description(&self) -> String {
        let what = match &self.backend {
            Backend::Screencopy(c) => format!("output {}", c.output_name),
            Backend::ImageCopy(c) => c.name().to_string(),
        };
        format!("{what} ({})", self.protocol())
    }

    /// The next frame, waiting until `deadline`; `Ok(None)` when none came in time (with damage
    /// on: nothing changed on screen).
    pub fn next_frame_before(&mut self, deadline: Instant) -> Result<Option<Frame>, CaptureError> {
        let Some((image, presented)) = self.next_image_before(deadline)? else {
            return Ok(None);
        };
        let first = *self.first.get_or_insert(presented);
        let mut frame = Frame::from_cpu(
            image,
            Timestamp::from_nanos(presented.as_nanos() - first.as_nanos()),
        );
        frame.capture_time = Some(presented);
        Ok(Some(frame))
    }

    /// As [`Self::next_frame_before`], the image with its presentation time.
    pub fn next_image_before(
        &mut self,
        deadline: Instant,
    ) -> Result<Option<(CpuImage, Timestamp)>, CaptureError> {
        match self.wait_frame_before(deadline)? {
            Some(_) => self.last_image(),
            None => Ok(None),
        }
    }

    /// Waits until `deadline` for the next frame to be ready in shared memory, without reading
    /// it out; returns its presentation time, or `None` when none came in time. The next copy
    /// is in flight (into the other buffer) when this returns a frame; read the frame with
    /// [`Self::last_image`]. A caller keeping only the newest of several frames reads one.
    pub fn wait_frame_before(
        &mut self,
        deadline: Instant,
    ) -> Result<Option<Timestamp>, CaptureError> {
        match &mut self.backend {
            Backend::Screencopy(c) => c.wait_frame_before(deadline),
            Backend::ImageCopy(c) => c.wait_frame_before(deadline),
        }
    }

    /// The last frame that became ready, read out of its buffer (the compositor is copying
    /// into the other one), with its presentation time; `None` before the first frame. Reading
    /// it again repeats it.
    pub fn last_image(&self) -> Result<Option<(CpuImage, Timestamp)>, CaptureError> {
        match &self.backend {
            Backend::Screencopy(c) => c.last_image(),
            Backend::ImageCopy(c) => c.last_image(),
        }
    }

    /// The last frame delivered as the DMA-BUF it lies in (the whole buffer: a region is not
    /// applied), with its presentation time; `None` when it is in shared memory (the
    /// compositor took no DMA-BUF, or [`WaylandOptions::dmabuf`] is off) or before the first
    /// frame. Valid until the next frame is waited for; import it with
    /// [`crate::gpu::DmaBufImage::import`].
    pub fn last_dmabuf(&self) -> Option<(crate::gpu::DmaBuf<'_>, Timestamp)> {
        match &self.backend {
            Backend::Screencopy(c) => {
                let (index, presented, _) = c.delivered?;
                Some((c.targets[index].as_ref()?.as_dmabuf()?, presented))
            }
            Backend::ImageCopy(c) => c.last_dmabuf(),
        }
    }

    /// Whether `next_frame` waits for a change indefinitely (damage on, or the image-copy
    /// protocol, which always waits for one).
    fn waits_for_damage(&self) -> bool {
        match &self.backend {
            Backend::Screencopy(c) => c.options.damage,
            Backend::ImageCopy(_) => true,
        }
    }
}

impl Screencopy {
    /// Finds the output and the screencopy protocol, and asks for the first frame.
    fn open(mut link: Link, options: WaylandOptions) -> Result<Self, CaptureError> {
        let qh = link.queue.handle();
        let (name, version) = link.find(ZwlrScreencopyManagerV1::interface().name).ok_or(
            CaptureError::ProtocolMissing {
                protocol: "zwlr_screencopy_manager_v1",
                fix: "this capture path needs a wlroots-style compositor (sway, Hyprland, river, labwc); on GNOME or KDE capture through the portal",
            },
        )?;
        let manager: ZwlrScreencopyManagerV1 = link.registry.bind(name, version.min(3), &qh, ());
        let shm = link.bind_shm()?;
        let dmabuf = link.bind_dmabuf(options.dmabuf);
        let chosen = link.choose_output(options.output.as_deref(), options.region)?;
        let frame_rate = refresh_rate(chosen.mode.2);
        let manager_version = manager.version();
        let mut capture = Self {
            queue: link.queue,
            state: link.state,
            peer: link.peer,
            live: Liveness::new(),
            manager,
            manager_version,
            shm,
            output: chosen.proxy,
            output_global: chosen.global,
            output_name: chosen.name,
            options,
            targets: [None, None],
            filling: 0,
            delivered: None,
            in_flight: None,
            info: SourceInfo {
                format: PixelFormat::Bgra8,
                width: 0,
                height: 0,
                frame_rate,
            },
            pool: BufferPool::new(),
            dmabuf,
            dmabuf_refused: false,
            held: Vec::new(),
            keys: dmabuf::Keys::default(),
        };
        // The first request also tells the frame's size and format.
        capture.request()?;
        let spec = capture.targets[capture.filling].as_ref().map(|t| t.spec);
        if let Some(spec) = spec {
            capture.info.width = spec.width;
            capture.info.height = spec.height;
            capture.info.format = pixel_format(spec.format)?;
        }
        tracing::info!(
            output = %capture.output_name,
            width = capture.info.width,
            height = capture.info.height,
            format = %capture.info.format,
            screencopy = capture.manager_version,
            "Wayland capture open"
        );
        Ok(capture)
    }

    fn wait_frame_before(&mut self, deadline: Instant) -> Result<Option<Timestamp>, CaptureError> {
        if self.in_flight.is_none() {
            self.request()?;
        }
        loop {
            self.check_output()?;
            if self.state.frame.failed {
                self.in_flight = None;
                let in_dmabuf = self.targets[self.filling]
                    .as_ref()
                    .is_some_and(|t| t.dmabuf);
                if in_dmabuf && !self.dmabuf_refused {
                    tracing::info!(output = %self.output_name, "the compositor failed a copy into a DMA-BUF buffer; capturing into shared memory");
                    self.dmabuf_refused = true;
                    self.request()?;
                    continue;
                }
                return Err(CaptureError::FrameFailed {
                    output: self.output_name.clone(),
                });
            }
            if let Some(presented) = self.state.frame.ready {
                if let Some(t) = self.targets[self.filling].as_mut() {
                    t.y_invert = self.state.frame.y_invert;
                }
                let arrived = self.state.frame.arrived.unwrap_or_else(Timestamp::now);
                self.delivered = Some((self.filling, presented, arrived));
                if let Some(f) = self.in_flight.take() {
                    f.destroy();
                }
                // The next copy goes in flight, into the other buffer, before this frame is
                // handed on.
                self.request()?;
                return Ok(Some(presented));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            let output = &self.output_name;
            let wake = self
                .live
                .check(&mut self.peer, &self.queue, self.state.synced, || {
                    format!("a frame of output {output:?}")
                })?
                .min(deadline);
            if dispatch_until(&mut self.queue, &mut self.state, wake)? {
                self.live.last_heard = Instant::now();
            }
        }
    }

    /// Fails when the captured output's global was removed.
    fn check_output(&self) -> Result<(), CaptureError> {
        if self.state.removed.contains(&self.output_global) {
            return Err(CaptureError::OutputGone {
                name: self.output_name.clone(),
            });
        }
        Ok(())
    }

    /// Sends a capture request, waits (at most the round-trip timeout) for the buffer it needs,
    /// (re)makes the buffer when the size or format changed, and sends the copy.
    #[expect(
        clippy::cast_possible_wrap,
        reason = "the region was checked to lie inside the output (BadRegion), whose size came as i32"
    )]
    fn request(&mut self) -> Result<(), CaptureError> {
        let qh = self.queue.handle();
        self.state.frame = FrameEvents::default();
        let cursor = i32::from(self.options.cursor);
        let frame = match self.options.region {
            None => self.manager.capture_output(cursor, &self.output, &qh, ()),
            Some(r) => self.manager.capture_output_region(
                cursor,
                &self.output,
                r.x as i32,
                r.y as i32,
                r.width as i32,
                r.height as i32,
                &qh,
                (),
            ),
        };
        // Version 3 ends the buffer offers with buffer_done; earlier versions offer one shm
        // buffer and expect the copy right after it.
        let negotiated = |f: &FrameEvents, version: u32| {
            f.failed || (f.shm.is_some() && (version < 3 || f.buffer_done))
        };
        let (version, output) = (self.manager_version, self.output_global);
        self.peer.wait_for(
            &mut self.queue,
            &mut self.state,
            || {
                format!(
                    "the buffer offer for a frame of output {:?} (zwlr_screencopy_frame_v1.buffer)",
                    self.output_name
                )
            },
            |s| negotiated(&s.frame, version) || s.removed.contains(&output),
        )?;
        self.live.last_heard = Instant::now();
        self.check_output()?;
        if self.state.frame.failed {
            return Err(CaptureError::FrameFailed {
                output: self.output_name.clone(),
            });
        }
        // Into the buffer that does not hold the last frame delivered.
        let index = match self.delivered {
            Some((last, _, _)) => 1 - last,
            None => 0,
        };
        let bad = |reason| CaptureError::BadBuffer {
            source_name: format!("the compositor (output {:?})", self.output_name),
            reason,
        };
        let dmabuf_spec = match (&self.dmabuf, self.state.frame.linux_dmabuf) {
            (Some(_), Some((fourcc, width, height))) if !self.dmabuf_refused => {
                let spec = BufferSpec {
                    format: dmabuf::shm_format(fourcc),
                    width,
                    height,
                    stride: width.saturating_mul(4),
                };
                (pixel_format(spec.format).is_ok() && spec.check().is_ok()).then_some(spec)
            }
            _ => None,
        };
        free_slot(&mut self.targets, index, &mut self.held);
        let mut reuse = self.targets[index].take();
        let mut target = None;
        if let (Some(spec), Some(linux_dmabuf)) = (dmabuf_spec, self.dmabuf.as_ref()) {
            target = match reuse.take() {
                Some(t) if t.dmabuf && t.spec == spec => Some(t),
                _ => {
                    let made = dmabuf::make_target(
                        linux_dmabuf,
                        &mut self.queue,
                        &mut self.state,
                        &self.peer,
                        spec,
                        &mut self.keys,
                    )?;
                    self.dmabuf_refused = made.is_none();
                    made
                }
            };
        }
        let target = match target {
            Some(t) => t,
            None => {
                let spec = self.state.frame.shm.ok_or(CaptureError::ProtocolMissing {
                    protocol: "a wl_shm buffer offer in zwlr_screencopy_frame_v1",
                    fix: "the compositor offered only DMA-BUF; turn the DMA-BUF option on (WaylandOptions::dmabuf)",
                })?;
                pixel_format(spec.format)?;
                spec.check().map_err(bad)?;
                match reuse {
                    Some(t) if !t.dmabuf && t.spec == spec => t,
                    _ => make_target(&self.shm, spec, &qh)?,
                }
            }
        };
        if self.options.damage && self.manager_version >= 2 {
            frame.copy_with_damage(&target.buffer);
        } else {
            frame.copy(&target.buffer);
        }
        self.targets[index] = Some(target);
        self.filling = index;
        self.queue.flush().map_err(gone)?;
        self.in_flight = Some(frame);
        Ok(())
    }

    /// The last frame that became ready, read out of its buffer (the compositor is copying
    /// into the other one), with its presentation time; `None` before the first frame. Reading
    /// it again repeats it.
    pub fn last_image(&self) -> Result<Option<(CpuImage, Timestamp)>, CaptureError> {
        match self.delivered {
            Some((index, presented, _)) => Ok(Some((self.read_out(index)?, presented))),
            None => Ok(None),
        }
    }

    fn read_out(&self, index: usize) -> Result<CpuImage, CaptureError> {
        let target = self.targets[index]
            .as_ref()
            .ok_or(CaptureError::FrameFailed {
                output: self.output_name.clone(),
            })?;
        read_out(target, &self.pool, None)
    }
}

/// A shared-memory buffer of `spec` with its pool and `wl_buffer`.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    reason = "the compositor's own buffer parameters go back to it as the protocol's int"
)]
fn make_target(
    shm: &WlShm,
    spec: BufferSpec,
    qh: &QueueHandle<State>,
) -> Result<Target, CaptureError> {
    let len = spec.stride as usize * spec.height as usize;
    let memory = ShmBuffer::new(len)?;
    let pool = shm.create_pool(std::os::fd::AsFd::as_fd(&memory), len as i32, qh, ());
    let format =
        wl_shm::Format::try_from(spec.format).map_err(|_| CaptureError::UnsupportedFormat {
            format: spec.format,
        })?;
    let buffer = pool.create_buffer(
        0,
        spec.width as i32,
        spec.height as i32,
        spec.stride as i32,
        format,
        qh,
        (),
    );
    Ok(Target {
        spec,
        memory,
        pool: Some(pool),
        buffer,
        y_invert: false,
        dmabuf: false,
        shared: None,
    })
}

/// Makes `slot` free for the compositor to write: a DMA-BUF buffer a handed-on frame still
/// holds moves to `held` (kept until the frame is let go, then dropped here), and the slot is
/// left empty for a new buffer.
fn free_slot(targets: &mut [Option<Target>; 2], slot: usize, held: &mut Vec<Target>) {
    held.retain(Target::leased);
    if let Some(t) = targets[slot].take_if(|t| t.leased()) {
        held.push(t);
    }
}

/// The frame in `target` as a [`FrameImage::DmaBuf`] (the whole buffer), when it is a
/// DMA-BUF and can go on as it lies: not upside down, no region to cut out.
fn handed_on(
    target: &Target,
    region: Option<Region>,
    pointer: Option<crate::frame::PointerOverlay>,
) -> Option<FrameImage> {
    if target.y_invert || region.is_some() {
        return None;
    }
    let buf = target.as_dmabuf()?;
    let shared = target.shared.as_ref()?;
    let frame = crate::frame::DmaBufFrame::new(
        Arc::clone(&shared.fd),
        crate::frame::DmaBufLayout {
            format: buf.format,
            width: buf.width,
            height: buf.height,
            modifier: buf.modifier,
            offset: buf.offset,
            stride: buf.stride,
        },
        shared.key,
        shared.lease(),
    )
    .with_pointer(pointer);
    Some(FrameImage::DmaBuf(frame))
}

/// Copies the frame in `target` out of shared memory (flipping it if the compositor said it
/// is upside down; only `region` of it when given) into an image from `pool`.
fn read_out(
    target: &Target,
    pool: &Arc<BufferPool>,
    region: Option<Region>,
) -> Result<CpuImage, CaptureError> {
    let spec = target.spec;
    let format = pixel_format(spec.format)?;
    let r = region.unwrap_or(Region {
        x: 0,
        y: 0,
        width: spec.width,
        height: spec.height,
    });
    if u64::from(r.x) + u64::from(r.width) > u64::from(spec.width)
        || u64::from(r.y) + u64::from(r.height) > u64::from(spec.height)
    {
        return Err(CaptureError::BadRegion {
            region: r,
            output: "the captured frame".into(),
            width: spec.width,
            height: spec.height,
        });
    }
    let mut image =
        CpuImage::new(format, r.width, r.height, Some(pool)).map_err(|e| CaptureError::Io {
            what: format!("a {}x{} frame", r.width, r.height),
            source: std::io::Error::other(e.to_string()),
        })?;
    let bytes = target.memory.bytes();
    let row = r.width as usize * 4;
    for y in 0..r.height {
        let src_y = if target.y_invert {
            spec.height - 1 - (r.y + y)
        } else {
            r.y + y
        };
        let start = src_y as usize * spec.stride as usize + r.x as usize * 4;
        image.row_mut(0, y)[..row].copy_from_slice(&bytes[start..start + row]);
    }
    Ok(image)
}

impl Drop for Screencopy {
    fn drop(&mut self) {
        if let Some(f) = self.in_flight.take() {
            f.destroy();
        }
        self.targets = [None, None];
        let _ = self.queue.flush();
    }
}

impl LiveCapture for WaylandCapture {
    fn name(&self) -> &str {
        self.output_name()
    }

    fn info(&self) -> SourceInfo {
        match &self.backend {
            Backend::Screencopy(c) => c.info,
            Backend::ImageCopy(c) => c.info(),
        }
    }

    fn wait_frame_before(&mut self, deadline: Instant) -> Result<Option<Timestamp>, CaptureError> {
        WaylandCapture::wait_frame_before(self, deadline)
    }

    fn last_image(&self) -> Result<Option<(CpuImage, Timestamp)>, CaptureError> {
        WaylandCapture::last_image(self)
    }

    fn last_frame_image(&self) -> Result<Option<(FrameImage, Timestamp)>, CaptureError> {
        let handed = match &self.backend {
            Backend::Screencopy(c) => c.delivered.and_then(|(index, presented, _)| {
                let target = c.targets[index].as_ref()?;
                Some((handed_on(target, c.options.region, None)?, presented))
            }),
            Backend::ImageCopy(c) => c.last_frame_dmabuf(),
        };
        match handed {
            Some(frame) => Ok(Some(frame)),
            None => Ok(self
                .last_image()?
                .map(|(image, time)| (FrameImage::Cpu(image), time))),
        }
    }

    fn last_arrival(&self) -> Option<Timestamp> {
        match &self.backend {
            Backend::Screencopy(c) => c.delivered.map(|(_, _, arrived)| arrived),
            Backend::ImageCopy(c) => c.last_arrival(),
        }
    }
}

impl FrameSource for WaylandCapture {
    fn info(&self) -> SourceInfo {
        LiveCapture::info(self)
    }

    /// The next frame; waits as long as the screen stays unchanged (damage on), or fails with a
    /// timeout after five seconds without one (damage off).
    fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        loop {
            let deadline = Instant::now() + FRAME_TIMEOUT;
            match self.next_frame_before(deadline)? {
                Some(frame) => return Ok(Some(frame)),
                None if self.waits_for_damage() => continue,
                None => {
                    return Err(CaptureError::Timeout {
                        output: self.output_name().to_string(),
                        waited_ms: u64::try_from(FRAME_TIMEOUT.as_millis()).unwrap_or(u64::MAX),
                    }
                    .into())
                }
            }
        }
    }
}

/// The one place that waits on the compositor: flushes what is queued, dispatches what has
/// arrived, else polls the connection until `deadline` and reads and dispatches. True when
/// anything came; false when nothing did by `deadline` (or a signal interrupted the wait).
fn dispatch_until(
    queue: &mut EventQueue<State>,
    state: &mut State,
    deadline: Instant,
) -> Result<bool, CaptureError> {
    // A full socket (a compositor that stopped reading) is no error yet: wait for it to drain
    // as for events, within the same deadline.
    let unsent = match queue.flush() {
        Ok(()) => false,
        Err(WaylandError::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => true,
        Err(e) => return Err(gone(e)),
    };
    if queue.dispatch_pending(state).map_err(gone)? > 0 {
        return Ok(true);
    }
    let Some(guard) = queue.prepare_read() else {
        return Ok(queue.dispatch_pending(state).map_err(gone)? > 0);
    };
    // Long deadlines are waited for an hour at a time (the caller loops).
    let left = deadline
        .saturating_duration_since(Instant::now())
        .min(Duration::from_secs(3600));
    let readable = {
        let fd = guard.connection_fd();
        let mut flags = rustix::event::PollFlags::IN;
        if unsent {
            flags |= rustix::event::PollFlags::OUT;
        }
        let mut fds = [rustix::event::PollFd::new(&fd, flags)];
        let timeout = rustix::event::Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => false,
            Ok(_) => fds[0].revents().intersects(
                rustix::event::PollFlags::IN
                    | rustix::event::PollFlags::HUP
                    | rustix::event::PollFlags::ERR,
            ),
            Err(e) => return Err(gone(e)),
        }
    };
    if !readable {
        // Nothing to read (time is up, or only the socket drained: the next call flushes).
        return Ok(false);
    }
    let read = match guard.read() {
        Ok(n) => n,
        // Only messages the connection handles itself (`wl_display.delete_id`) came: the
        // compositor is alive, nothing for the queue.
        Err(WaylandError::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(true),
        Err(e) => return Err(gone(e)),
    };
    let dispatched = queue.dispatch_pending(state).map_err(gone)?;
    Ok(read > 0 || dispatched > 0)
}

/// The engine's format for a `wl_shm` format code (little-endian words, so ARGB8888 is B, G,
/// R, A in memory).
fn pixel_format(code: u32) -> Result<PixelFormat, CaptureError> {
    use wl_shm::Format as F;
    match wl_shm::Format::try_from(code) {
        Ok(F::Argb8888 | F::Xrgb8888) => Ok(PixelFormat::Bgra8),
        Ok(F::Abgr8888 | F::Xbgr8888) => Ok(PixelFormat::Rgba8),
        Ok(F::Abgr2101010 | F::Xbgr2101010) => Ok(PixelFormat::Rgb10a2),
        _ => Err(CaptureError::UnsupportedFormat { format: code }),
    }
}

fn display_label(display: Option<&str>) -> String {
    display
        .map(str::to_string)
        .or_else(|| std::env::var("WAYLAND_DISPLAY").ok())
        .unwrap_or_else(|| "(WAYLAND_DISPLAY unset)".into())
}

/// Connects to `display` (a socket name in `$XDG_RUNTIME_DIR`, or a path), else the socket
/// `$WAYLAND_SOCKET` hands over, else `$WAYLAND_DISPLAY`; returns the connection and the socket
/// for messages. A socket whose backlog is full (a compositor that stopped accepting) is retried
/// until `timeout`, never waited on without a bound.
fn connect(display: Option<&str>, timeout: Duration) -> Result<(Connection, String), CaptureError> {
    let failed = |display: String, reason: String| CaptureError::NoCompositor { display, reason };
    let name = match display {
        Some(name) => name.to_string(),
        None => {
            if let Ok(fd) = std::env::var("WAYLAND_SOCKET") {
                let label = format!("the socket WAYLAND_SOCKET={fd} hands over");
                return Connection::connect_to_env()
                    .map(|c| (c, label.clone()))
                    .map_err(|e| failed(label, e.to_string()));
            }
            std::env::var("WAYLAND_DISPLAY")
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    failed(
                        display_label(None),
                        "WAYLAND_DISPLAY is not set (give --display or run inside the compositor's session)".into(),
                    )
                })?
        }
    };
    let path = if name.starts_with('/') {
        PathBuf::from(&name)
    } else {
        let dir = std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|d| !d.is_empty())
            .ok_or_else(|| failed(name.clone(), "XDG_RUNTIME_DIR is not set".into()))?;
        PathBuf::from(dir).join(&name)
    };
    let socket = path.display().to_string();
    let stream = connect_socket(&path, timeout).map_err(|e| match e {
        Connect::Failed(reason) => failed(socket.clone(), format!("{socket}: {reason}")),
        Connect::TimedOut(started) => CaptureError::CompositorTimeout {
            socket: socket.clone(),
            step: "the connection (its backlog stays full: the compositor does not accept)".into(),
            waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        },
    })?;
    let connection =
        Connection::from_socket(stream).map_err(|e| failed(socket.clone(), e.to_string()))?;
    Ok((connection, socket))
}

/// Why a socket did not connect.
enum Connect {
    Failed(rustix::io::Errno),
    /// The backlog stayed full from this instant until the timeout.
    TimedOut(Instant),
}

/// A non-blocking `connect` to the Unix socket at `path`, retried while the listener's backlog
/// is full (`EAGAIN`) until `timeout`; the stream is blocking again when returned.
fn connect_socket(path: &std::path::Path, timeout: Duration) -> Result<UnixStream, Connect> {
    use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
    let address = SocketAddrUnix::new(path).map_err(Connect::Failed)?;
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )
    .map_err(Connect::Failed)?;
    let started = Instant::now();
    let deadline = after(started, timeout);
    loop {
        match rustix::net::connect(&fd, &address) {
            Ok(()) => break,
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::AGAIN) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(rustix::io::Errno::AGAIN) => return Err(Connect::TimedOut(started)),
            Err(e) => return Err(Connect::Failed(e)),
        }
    }
    rustix::io::ioctl_fionbio(&fd, false).map_err(Connect::Failed)?;
    Ok(UnixStream::from(fd))
}

impl Dispatch<WlRegistry, ()> for State {
    fn event(
        state: &mut Self,
        _: &WlRegistry,
        event: wl_registry::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            wl_registry::Event::Global {
                name,
                interface,
                version,
            } => state.globals.push(GlobalEntry {
                name,
                interface,
                version,
            }),
            wl_registry::Event::GlobalRemove { name } => {
                state.globals.retain(|g| g.name != name);
                state.removed.push(name);
            }
            _ => {}
        }
    }
}

impl Dispatch<WlCallback, u64> for State {
    fn event(
        state: &mut Self,
        _: &WlCallback,
        event: wl_callback::Event,
        serial: &u64,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let wl_callback::Event::Done { .. } = event {
            state.synced = state.synced.max(*serial);
        }
    }
}

impl Dispatch<WlOutput, u32> for State {
    fn event(
        state: &mut Self,
        _: &WlOutput,
        event: wl_output::Event,
        global: &u32,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        let Some(output) = state.outputs.iter_mut().find(|o| o.global == *global) else {
            return;
        };
        match event {
            wl_output::Event::Name { name } => output.name = Some(name),
            wl_output::Event::Mode {
                flags: WEnum::Value(flags),
                width,
                height,
                refresh,
            } if flags.contains(wl_output::Mode::Current) => {
                output.mode = Some((
                    width.max(0).unsigned_abs(),
                    height.max(0).unsigned_abs(),
                    refresh.max(0).unsigned_abs(),
                ))
            }
            _ => {}
        }
    }
}

impl Dispatch<ZwlrScreencopyFrameV1, ()> for State {
    fn event(
        state: &mut Self,
        _: &ZwlrScreencopyFrameV1,
        event: zwlr_screencopy_frame_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        use zwlr_screencopy_frame_v1::Event;
        let frame = &mut state.frame;
        match event {
            Event::Buffer {
                format,
                width,
                height,
                stride,
            } => {
                let format = match format {
                    WEnum::Value(f) => f as u32,
                    WEnum::Unknown(v) => v,
                };
                frame.shm = Some(BufferSpec {
                    format,
                    width,
                    height,
                    stride,
                });
            }
            Event::Flags {
                flags: WEnum::Value(flags),
            } => frame.y_invert = flags.contains(zwlr_screencopy_frame_v1::Flags::YInvert),
            Event::Ready {
                tv_sec_hi,
                tv_sec_lo,
                tv_nsec,
            } => {
                // Checked: the compositor's numbers are outside data.
                let secs = i64::try_from(u64::from(tv_sec_hi) << 32 | u64::from(tv_sec_lo))
                    .unwrap_or(i64::MAX);
                let nanos = secs
                    .saturating_mul(1_000_000_000)
                    .saturating_add(i64::from(tv_nsec.min(999_999_999)));
                frame.ready = Some(Timestamp::from_nanos(nanos));
                frame.arrived = Some(Timestamp::now());
            }
            Event::LinuxDmabuf {
                format,
                width,
                height,
            } => frame.linux_dmabuf = Some((format, width, height)),
            Event::Failed => frame.failed = true,
            Event::BufferDone => frame.buffer_done = true,
            _ => {}
        }
    }
}

wayland_client::delegate_noop!(State: ignore WlShm);
wayland_client::delegate_noop!(State: WlShmPool);
wayland_client::delegate_noop!(State: ignore WlBuffer);
wayland_client::delegate_noop!(State: ZwlrScreencopyManagerV1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_parse_in_both_spellings_and_bad_ones_name_the_value() {
        let r: Region = "10,20,640x360".parse().unwrap();
        assert_eq!(
            r,
            Region {
                x: 10,
                y: 20,
                width: 640,
                height: 360
            }
        );
        assert_eq!("10,20 640x360".parse::<Region>().unwrap(), r);
        let e = "10,20,640".parse::<Region>().unwrap_err();
        assert!(
            e.contains("\"10,20,640\"") && e.contains("X,Y,WIDTHxHEIGHT"),
            "{e}"
        );
        let e = "0,0,0x10".parse::<Region>().unwrap_err();
        assert!(e.contains("empty"), "{e}");
    }

    #[test]
    fn a_buffer_offer_that_cannot_hold_its_rows_is_refused_with_the_sizes() {
        let spec = |width, height, stride| BufferSpec {
            format: wl_shm::Format::Xrgb8888 as u32,
            width,
            height,
            stride,
        };
        assert_eq!(spec(640, 360, 2560).check(), Ok(()));
        assert_eq!(spec(640, 360, 4096).check(), Ok(()));
        let e = spec(640, 360, 4).check().unwrap_err();
        assert_eq!(e, "stride 4 is shorter than a 640-pixel row (2560 bytes)");
        let e = spec(0, 360, 2560).check().unwrap_err();
        assert_eq!(e, "a 0x360 buffer (empty)");
        let e = spec(65535, 65535, 262140).check().unwrap_err();
        assert!(
            e.contains("17179344900 bytes") && e.contains("2147483647"),
            "{e}"
        );
    }

    #[test]
    fn shm_formats_map_to_the_engines_byte_orders() {
        let code = |f: wl_shm::Format| f as u32;
        assert_eq!(
            pixel_format(code(wl_shm::Format::Xrgb8888)).unwrap(),
            PixelFormat::Bgra8
        );
        assert_eq!(
            pixel_format(code(wl_shm::Format::Abgr8888)).unwrap(),
            PixelFormat::Rgba8
        );
        assert_eq!(
            pixel_format(code(wl_shm::Format::Xbgr2101010)).unwrap(),
            PixelFormat::Rgb10a2
        );
        match pixel_format(code(wl_shm::Format::Rgb565)) {
            Err(e @ CaptureError::UnsupportedFormat { .. }) => {
                assert!(e.to_string().contains("0x"), "{e}")
            }
            other => panic!("expected UnsupportedFormat, got {other:?}"),
        }
    }
}
