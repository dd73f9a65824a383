//! Capture from a wlroots-style compositor through `wlr-screencopy-unstable-v1` into shared
//! memory.
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

use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wayland_client::globals::{registry_queue_init, GlobalListContents};
use wayland_client::protocol::wl_buffer::WlBuffer;
use wayland_client::protocol::wl_output::{self, WlOutput};
use wayland_client::protocol::wl_registry::{self, WlRegistry};
use wayland_client::protocol::wl_shm::{self, WlShm};
use wayland_client::protocol::wl_shm_pool::WlShmPool;
use wayland_client::{Connection, Dispatch, EventQueue, Proxy, QueueHandle, WEnum};
use wayland_protocols_wlr::screencopy::v1::client::zwlr_screencopy_frame_v1::{
    self, ZwlrScreencopyFrameV1,
};
use wayland_protocols_wlr::screencopy::v1::client::zwlr_screencopy_manager_v1::ZwlrScreencopyManagerV1;

use super::shm::ShmBuffer;
use super::{CaptureError, LiveCapture};
use crate::format::PixelFormat;
use crate::frame::{BufferPool, CpuImage, Frame};
use crate::source::{FrameSource, SourceError, SourceInfo};
use crate::time::{Rational, Timestamp};

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
    /// A part of the output, in its pixels; `None` is the whole output.
    pub region: Option<Region>,
    /// Draw the cursor into the frames.
    pub cursor: bool,
    /// Ask only for frames with damage (changes); an idle screen then costs nothing.
    pub damage: bool,
}

impl Default for WaylandOptions {
    fn default() -> Self {
        Self {
            display: None,
            output: None,
            region: None,
            cursor: true,
            damage: true,
        }
    }
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

/// What the compositor has said about the frame in flight.
#[derive(Debug, Default)]
struct FrameEvents {
    shm: Option<BufferSpec>,
    buffer_done: bool,
    y_invert: bool,
    ready: Option<Timestamp>,
    failed: bool,
}

/// The event handlers' state.
#[derive(Debug, Default)]
struct State {
    outputs: Vec<OutputInfo>,
    removed: Vec<u32>,
    frame: FrameEvents,
}

/// A shared-memory buffer frames are copied into, with its `wl_buffer`.
struct Target {
    spec: BufferSpec,
    memory: ShmBuffer,
    pool: WlShmPool,
    buffer: WlBuffer,
    /// The frame in it is stored bottom row first.
    y_invert: bool,
}

impl Drop for Target {
    fn drop(&mut self) {
        self.buffer.destroy();
        self.pool.destroy();
    }
}

/// A capture of one output (or a region of it).
pub struct WaylandCapture {
    queue: EventQueue<State>,
    state: State,
    manager: ZwlrScreencopyManagerV1,
    manager_version: u32,
    shm: WlShm,
    output: WlOutput,
    output_global: u32,
    output_name: String,
    options: WaylandOptions,
    /// Two buffers used in turn: the compositor copies into one while the other keeps the
    /// last frame delivered, readable again for a repeat (see [`Self::repeat_last`]).
    targets: [Option<Target>; 2],
    /// The target the request in flight copies into.
    filling: usize,
    /// The target holding the last frame delivered, with its presentation time.
    delivered: Option<(usize, Timestamp)>,
    in_flight: Option<ZwlrScreencopyFrameV1>,
    info: SourceInfo,
    pool: Arc<BufferPool>,
    first: Option<Timestamp>,
}

impl std::fmt::Debug for WaylandCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaylandCapture")
            .field("output", &self.output_name)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
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
    /// Connects, finds the output and the screencopy protocol, and asks for the first frame.
    pub fn open(options: WaylandOptions) -> Result<Self, CaptureError> {
        let connection = connect(options.display.as_deref())?;
        let (globals, mut queue) =
            registry_queue_init::<State>(&connection).map_err(|e| CaptureError::NoCompositor {
                display: display_label(options.display.as_deref()),
                reason: e.to_string(),
            })?;
        let qh = queue.handle();
        let missing = |protocol, fix| move |_| CaptureError::ProtocolMissing { protocol, fix };
        let manager: ZwlrScreencopyManagerV1 = globals.bind(&qh, 1..=3, ()).map_err(missing(
            "zwlr_screencopy_manager_v1",
            "this capture path needs a wlroots-style compositor (sway, Hyprland, river, labwc); on GNOME or KDE capture through the portal",
        ))?;
        let shm: WlShm = globals.bind(&qh, 1..=1, ()).map_err(missing(
            "wl_shm",
            "every Wayland compositor has it; the compositor is broken",
        ))?;
        let mut state = State::default();
        for g in globals.contents().clone_list() {
            if g.interface == WlOutput::interface().name {
                let proxy: WlOutput =
                    globals
                        .registry()
                        .bind(g.name, g.version.min(4), &qh, g.name);
                state.outputs.push(OutputInfo {
                    global: g.name,
                    proxy,
                    name: None,
                    mode: None,
                });
            }
        }
        queue.roundtrip(&mut state).map_err(gone)?;
        let labels: Vec<String> = state
            .outputs
            .iter()
            .enumerate()
            .map(|(i, o)| o.name.clone().unwrap_or_else(|| format!("output {i}")))
            .collect();
        let index = match &options.output {
            None => (!state.outputs.is_empty()).then_some(0),
            Some(name) => labels.iter().position(|l| l == name),
        }
        .ok_or_else(|| CaptureError::OutputNotFound {
            name: options.output.clone().unwrap_or_default(),
            available: if labels.is_empty() {
                "no outputs".into()
            } else {
                labels.join(", ")
            },
        })?;
        let chosen = &state.outputs[index];
        let (output, output_global, output_name) =
            (chosen.proxy.clone(), chosen.global, labels[index].clone());
        let (mode_w, mode_h, refresh) = chosen.mode.unwrap_or((0, 0, 60_000));
        if let Some(r) = options.region {
            let inside = mode_w == 0
                || (r.x as u64 + r.width as u64 <= mode_w as u64
                    && r.y as u64 + r.height as u64 <= mode_h as u64);
            if !inside {
                return Err(CaptureError::BadRegion {
                    region: r,
                    output: output_name,
                    width: mode_w,
                    height: mode_h,
                });
            }
        }
        let frame_rate = if refresh > 0 {
            Rational::new(refresh as i64, 1000)
        } else {
            Rational::new(60, 1)
        };
        let manager_version = manager.version();
        let mut capture = Self {
            queue,
            state,
            manager,
            manager_version,
            shm,
            output,
            output_global,
            output_name,
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
            first: None,
        };
        // The first request also tells the frame's size and format.
        capture.request(Instant::now() + FRAME_TIMEOUT)?;
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

    /// The name of the output being captured.
    pub fn output_name(&self) -> &str {
        &self.output_name
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
        if self.in_flight.is_none() {
            self.request(deadline)?;
        }
        loop {
            self.check_output()?;
            if self.state.frame.failed {
                self.in_flight = None;
                return Err(CaptureError::FrameFailed {
                    output: self.output_name.clone(),
                });
            }
            if let Some(presented) = self.state.frame.ready {
                if let Some(t) = self.targets[self.filling].as_mut() {
                    t.y_invert = self.state.frame.y_invert;
                }
                self.delivered = Some((self.filling, presented));
                if let Some(f) = self.in_flight.take() {
                    f.destroy();
                }
                // The next copy goes in flight, into the other buffer, before this frame is
                // handed on.
                self.request(Instant::now() + FRAME_TIMEOUT)?;
                return Ok(Some(presented));
            }
            if !self.dispatch_until(deadline)? {
                return Ok(None);
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

    /// Sends a capture request, waits for the buffer it needs, (re)makes the buffer when the
    /// size or format changed, and sends the copy.
    fn request(&mut self, deadline: Instant) -> Result<(), CaptureError> {
        let qh = self.queue.handle();
        self.state.frame = FrameEvents::default();
        let cursor = self.options.cursor as i32;
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
        while !negotiated(&self.state.frame, self.manager_version) {
            self.check_output()?;
            if !self.dispatch_until(deadline)? {
                return Err(CaptureError::Timeout {
                    output: self.output_name.clone(),
                    waited_ms: FRAME_TIMEOUT.as_millis() as u64,
                });
            }
        }
        if self.state.frame.failed {
            return Err(CaptureError::FrameFailed {
                output: self.output_name.clone(),
            });
        }
        let spec = self.state.frame.shm.ok_or(CaptureError::ProtocolMissing {
            protocol: "a wl_shm buffer offer in zwlr_screencopy_frame_v1",
            fix: "the compositor offered only DMA-BUF; DMA-BUF capture is not built yet",
        })?;
        pixel_format(spec.format)?;
        // Into the buffer that does not hold the last frame delivered.
        let index = match self.delivered {
            Some((last, _)) => 1 - last,
            None => 0,
        };
        let target = match self.targets[index].take() {
            Some(t) if t.spec == spec => t,
            _ => self.make_target(spec, &qh)?,
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

    fn make_target(
        &self,
        spec: BufferSpec,
        qh: &QueueHandle<State>,
    ) -> Result<Target, CaptureError> {
        let len = spec.stride as usize * spec.height as usize;
        let memory = ShmBuffer::new(len)?;
        let pool = self
            .shm
            .create_pool(std::os::fd::AsFd::as_fd(&memory), len as i32, qh, ());
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
            pool,
            buffer,
            y_invert: false,
        })
    }

    /// The last frame that became ready, read out of its buffer (the compositor is copying
    /// into the other one), with its presentation time; `None` before the first frame. Reading
    /// it again repeats it.
    pub fn last_image(&self) -> Result<Option<(CpuImage, Timestamp)>, CaptureError> {
        match self.delivered {
            Some((index, presented)) => Ok(Some((self.read_out(index)?, presented))),
            None => Ok(None),
        }
    }

    /// Copies the frame in target `index` out of shared memory (flipping it if the compositor
    /// said it is upside down) into an image from the pool.
    fn read_out(&self, index: usize) -> Result<CpuImage, CaptureError> {
        let target = self.targets[index]
            .as_ref()
            .ok_or(CaptureError::FrameFailed {
                output: self.output_name.clone(),
            })?;
        let spec = target.spec;
        let format = pixel_format(spec.format)?;
        let mut image =
            CpuImage::new(format, spec.width, spec.height, Some(&self.pool)).map_err(|e| {
                CaptureError::Io {
                    what: format!("a {}x{} frame", spec.width, spec.height),
                    source: std::io::Error::other(e.to_string()),
                }
            })?;
        let bytes = target.memory.bytes();
        let row = spec.width as usize * 4;
        for y in 0..spec.height {
            let src_y = if target.y_invert {
                spec.height - 1 - y
            } else {
                y
            };
            let start = src_y as usize * spec.stride as usize;
            image.row_mut(0, y)[..row].copy_from_slice(&bytes[start..start + row]);
        }
        Ok(image)
    }

    /// Waits for events until `deadline` and dispatches them; false when none came in time.
    fn dispatch_until(&mut self, deadline: Instant) -> Result<bool, CaptureError> {
        self.queue.flush().map_err(gone)?;
        if self.queue.dispatch_pending(&mut self.state).map_err(gone)? > 0 {
            return Ok(true);
        }
        let Some(guard) = self.queue.prepare_read() else {
            self.queue.dispatch_pending(&mut self.state).map_err(gone)?;
            return Ok(true);
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let readable = {
            let fd = guard.connection_fd();
            let mut fds = [rustix::event::PollFd::new(
                &fd,
                rustix::event::PollFlags::IN,
            )];
            let timeout = rustix::event::Timespec {
                tv_sec: left.as_secs() as i64,
                tv_nsec: left.subsec_nanos() as i64,
            };
            match rustix::event::poll(&mut fds, Some(&timeout)) {
                Ok(n) => n > 0,
                Err(rustix::io::Errno::INTR) => false,
                Err(e) => return Err(gone(e)),
            }
        };
        if !readable {
            return Ok(Instant::now() < deadline);
        }
        guard.read().map_err(gone)?;
        self.queue.dispatch_pending(&mut self.state).map_err(gone)?;
        Ok(true)
    }
}

impl Drop for WaylandCapture {
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
        &self.output_name
    }

    fn info(&self) -> SourceInfo {
        self.info
    }

    fn wait_frame_before(&mut self, deadline: Instant) -> Result<Option<Timestamp>, CaptureError> {
        WaylandCapture::wait_frame_before(self, deadline)
    }

    fn last_image(&self) -> Result<Option<(CpuImage, Timestamp)>, CaptureError> {
        WaylandCapture::last_image(self)
    }
}

impl FrameSource for WaylandCapture {
    fn info(&self) -> SourceInfo {
        self.info
    }

    /// The next frame; waits as long as the screen stays unchanged (damage on), or fails with a
    /// timeout after five seconds without one (damage off).
    fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        loop {
            let deadline = Instant::now() + FRAME_TIMEOUT;
            match self.next_frame_before(deadline)? {
                Some(frame) => return Ok(Some(frame)),
                None if self.options.damage => continue,
                None => {
                    return Err(CaptureError::Timeout {
                        output: self.output_name.clone(),
                        waited_ms: FRAME_TIMEOUT.as_millis() as u64,
                    }
                    .into())
                }
            }
        }
    }
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

/// Connects to `display` (a socket name in `$XDG_RUNTIME_DIR`, or a path) or `$WAYLAND_DISPLAY`.
fn connect(display: Option<&str>) -> Result<Connection, CaptureError> {
    let failed = |reason: String| CaptureError::NoCompositor {
        display: display_label(display),
        reason,
    };
    let Some(name) = display else {
        return Connection::connect_to_env().map_err(|e| failed(e.to_string()));
    };
    let path = if name.starts_with('/') {
        PathBuf::from(name)
    } else {
        let dir = std::env::var_os("XDG_RUNTIME_DIR")
            .ok_or_else(|| failed("XDG_RUNTIME_DIR is not set".into()))?;
        PathBuf::from(dir).join(name)
    };
    let stream =
        UnixStream::connect(&path).map_err(|e| failed(format!("{}: {e}", path.display())))?;
    Connection::from_socket(stream).map_err(|e| failed(e.to_string()))
}

impl Dispatch<WlRegistry, GlobalListContents> for State {
    fn event(
        state: &mut Self,
        _: &WlRegistry,
        event: wl_registry::Event,
        _: &GlobalListContents,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let wl_registry::Event::GlobalRemove { name } = event {
            state.removed.push(name);
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
                    width.max(0) as u32,
                    height.max(0) as u32,
                    refresh.max(0) as u32,
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
                let secs = ((tv_sec_hi as u64) << 32 | tv_sec_lo as u64) as i64;
                frame.ready = Some(Timestamp::from_nanos(secs * 1_000_000_000 + tv_nsec as i64));
            }
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
