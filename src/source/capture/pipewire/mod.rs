//! Capture from a PipeWire video node: a screen-cast stream from the desktop portal (GNOME,
//! KDE, wlroots through xdg-desktop-portal-wlr), a camera, or any `Video/Source` node, chosen
//! by id or name.
//!
//! The stream runs on its own thread (PipeWire's loop); frames reach the caller through a lock:
//! - the loop keeps the newest buffer *dequeued* (held) and queues the one it replaces back at
//!   once, so a producer is never starved and nothing is copied on the loop thread;
//! - the caller reads the held buffer's mapped pixels out once per frame it uses, under the
//!   lock (the only copy, as on the Wayland path), or takes a DMA-BUF frame with no copy; a
//!   frame replaced before it was read costs nothing;
//! - a renegotiated format (a window resized, an output mode change) arrives as new buffers of
//!   the new size: the held frame is read out before its buffer goes away, so the last frame
//!   stays available for repeats.
//!
//! Format negotiation offers BGRx/BGRA/RGBx/RGBA and the 10-bit xBGR/ABGR 2:10:10:10 layouts of
//! any size. Given a Vulkan device ([`PipeWireOptions::gpu`]) that imports DMA-BUF, DMA-BUF
//! buffers come first, in the DRM format modifiers the device imports (`MANDATORY`, left to
//! fixate where several); shared memory (MemFd or MemPtr) is always offered after them. A
//! modifier the producer leaves open is fixated to the first of its list the device imports
//! (or, with none, shared memory is asked for). A DMA-BUF frame is never mapped: it leaves as
//! [`FrameImage::DmaBuf`] with a lease that keeps the producer's buffer dequeued until the
//! last holder (the GPU pass) lets go, and the pointer from the cursor metadata rides on it
//! to be drawn on the GPU. A link that fails to negotiate is [`CaptureError::NoCommonFormat`],
//! naming both sides' formats, at once.
//!
//! Timestamps: the producer's `spa_meta_header.pts` (`CLOCK_MONOTONIC` for the portals and
//! GhostStream's own test node), else `CLOCK_MONOTONIC` at arrival.
//!
//! Faults are typed: no daemon ([`CaptureError::PipeWireUnavailable`]), no such node
//! ([`CaptureError::NodeNotFound`]), the node removed mid-stream
//! ([`CaptureError::NodeGone`]), the daemon gone ([`CaptureError::PipeWireGone`]).

mod buffer;
mod dmabuf_map;
mod params;
mod pointer;
pub mod sync;
#[cfg(feature = "test-support")]
pub mod test_node;

/// The PipeWire metadata readers, for the fuzz targets (feature `test-support`).
#[cfg(feature = "test-support")]
pub use buffer::{parse_buffer_meta, parse_cursor_meta, BufferMeta, CursorBitmap, CursorUpdate};

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pipewire as pw;
use pw::registry::GlobalObject;
use pw::spa::utils::dict::DictRef;
use pw::stream::{StreamFlags, StreamRef, StreamState};
use pw::types::ObjectType;

use super::{CaptureError, LiveCapture};
use crate::frame::{
    BufferPool, CpuImage, DmaBufFrame, DmaBufKey, DmaBufLayout, ExplicitSync, FrameImage, Lease,
};
use crate::gpu::GpuContext;
use crate::source::SourceInfo;
use crate::time::{Rational, Timestamp};
use buffer::{HeldBuffer, Memory, PlaneView};
use params::{unavailable, StreamFormat};
use pointer::Pointer;

/// Which node to capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeTarget {
    /// By its global id (as `pw-cli ls Node` or the portal gives it).
    Id(u32),
    /// By its `node.name`.
    Name(String),
}

impl std::fmt::Display for NodeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "node {id}"),
            Self::Name(name) => write!(f, "node {name:?}"),
        }
    }
}

impl std::str::FromStr for NodeTarget {
    type Err = String;

    /// Digits are an id, anything else a `node.name`.
    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("an empty PipeWire node: give its id (digits) or its node.name".into());
        }
        Ok(match s.parse::<u32>() {
            Ok(id) => Self::Id(id),
            Err(_) => Self::Name(s.to_string()),
        })
    }
}

/// How to open a PipeWire capture.
#[derive(Debug)]
pub struct PipeWireOptions {
    /// The node; `None` lets the session manager pick one.
    pub node: Option<NodeTarget>,
    /// A connection already opened to PipeWire (the portal's `OpenPipeWireRemote`); `None`
    /// connects to the user's daemon (`$PIPEWIRE_REMOTE`, else `pipewire-0` in
    /// `$XDG_RUNTIME_DIR`).
    pub remote: Option<OwnedFd>,
    /// How long opening waits for the format to be agreed.
    pub negotiation_timeout: Duration,
    /// Ask for the pointer as metadata (`SPA_META_Cursor`) and draw it into the frames. A
    /// producer that draws the pointer itself (a portal cast with the cursor embedded) sends
    /// none, and nothing is drawn.
    pub cursor: bool,
    /// The Vulkan device frames are to be read on. With one that imports DMA-BUF, the stream
    /// offers DMA-BUF buffers first (in the DRM format modifiers the device imports; shared
    /// memory stays offered as the fallback), and a DMA-BUF frame comes out of
    /// [`LiveCapture::last_frame_image`] as [`FrameImage::DmaBuf`]: never mapped or copied
    /// by the CPU. `None`: shared memory only.
    pub gpu: Option<Arc<GpuContext>>,
}

impl Default for PipeWireOptions {
    fn default() -> Self {
        Self {
            node: None,
            remote: None,
            negotiation_timeout: Duration::from_secs(5),
            cursor: true,
            gpu: None,
        }
    }
}

/// The DMA-BUF formats a capture offers: each SPA format the device imports, with the
/// modifiers it takes for it (preferred first).
type DmaBufOffer = Vec<(pw::spa::param::video::VideoFormat, Vec<u64>)>;

/// What the loop thread is told from outside it.
enum LoopMessage {
    /// Stop and drop the stream.
    Quit,
    /// A DMA-BUF frame's last holder let go: buffers kept for it may go back to the producer.
    Returned,
}

/// A DMA-BUF buffer's hold on the producer's buffer: while any frame made from it lives, the
/// loop keeps the buffer dequeued; the last one dropped tells the loop to queue it back.
struct PwLease {
    loop_: Mutex<pw::channel::Sender<LoopMessage>>,
}

impl std::fmt::Debug for PwLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PwLease")
    }
}

impl Lease for PwLease {}

impl Drop for PwLease {
    fn drop(&mut self) {
        if let Ok(loop_) = self.loop_.lock() {
            // The loop may be gone already (the capture closed): then so are its buffers.
            let _ = loop_.send(LoopMessage::Returned);
        }
    }
}

/// A DMA-BUF buffer of the current negotiation: GhostStream's duplicate of its fd and its
/// index for the import cache.
#[derive(Debug)]
struct DmaBufEntry {
    fd: Arc<OwnedFd>,
    index: u64,
}

/// A frame the loop holds for the caller.
#[derive(Debug)]
struct Held {
    buffer: HeldBuffer,
    format: StreamFormat,
    time: Timestamp,
    /// When the loop dequeued it.
    arrived: Timestamp,
    /// The lease of the DMA-BUF frames made from it (dead when none lives).
    lease: Weak<PwLease>,
    /// The producer's explicit sync (its release point is signaled when this and every frame
    /// made from it are gone).
    sync: Option<ExplicitSync>,
}

/// What a PipeWire capture has received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PipeWireCounts {
    /// Buffers that arrived (each a frame).
    pub arrived: u64,
    /// Frames the producer marked corrupted (skipped).
    pub corrupted: u64,
    /// Frames the producer numbered but never sent (gaps in `spa_meta_header.seq`).
    pub producer_skipped: u64,
    /// Buffers with no picture (an empty chunk), kept out of the frame count.
    pub empty: u64,
}

/// What the loop thread and the caller share.
#[derive(Debug, Default)]
struct State {
    /// The format agreed, once there is one.
    format: Option<StreamFormat>,
    /// The newest frame, still in its PipeWire buffer.
    held: Option<Held>,
    /// The newest frame read out because its buffer was removed (renegotiation).
    kept: Option<(CpuImage, StreamFormat, Timestamp)>,
    /// Frames arrived that `wait_frame_before` has not reported yet.
    pending: u64,
    /// What has been received.
    counts: PipeWireCounts,
    /// The producer's sequence number of the last buffer.
    last_seq: Option<u64>,
    /// The pointer the producer sent as metadata, drawn into frames read out.
    pointer: Pointer,
    /// The first failure; reported once, then `ended`.
    failure: Option<CaptureError>,
    /// The stream failed or was closed: nothing more will arrive.
    ended: bool,
    /// The daemon has answered a round trip (a core `done`): it is alive.
    answered: bool,
    /// DMA-BUF buffers replaced by newer frames while a frame made from them still lives:
    /// queued back when their lease dies.
    retired: Vec<(HeldBuffer, Weak<PwLease>)>,
    /// The current negotiation's DMA-BUF buffers, by their `pw_buffer` address.
    dmabufs: HashMap<usize, DmaBufEntry>,
    /// Bumped at each DMA-BUF negotiation (the import cache's generation).
    generation: u64,
    /// Indices given to DMA-BUF buffers so far.
    next_index: u64,
    /// The sender DMA-BUF leases use to reach the loop.
    lease_sender: Option<LoopSender>,
}

/// The loop's channel (its own type only for `Debug`).
#[derive(Clone)]
struct LoopSender(pw::channel::Sender<LoopMessage>);

impl std::fmt::Debug for LoopSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoopSender")
    }
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic on the loop thread poisons the lock; the state is still consistent (every
        // write is a single assignment), so it is used as is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a change until `deadline`; `None` once it has passed.
    fn wait_until<'a>(
        &self,
        state: MutexGuard<'a, State>,
        deadline: Instant,
    ) -> Option<MutexGuard<'a, State>> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        Some(
            self.changed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0,
        )
    }

    /// Records the first failure and wakes the caller.
    fn fail(&self, error: CaptureError) {
        let mut state = self.lock();
        if state.failure.is_none() && !state.ended {
            tracing::debug!(%error, "PipeWire capture failed");
            state.failure = Some(error);
        }
        drop(state);
        self.changed.notify_all();
    }
}

/// A capture of one PipeWire video node.
pub struct PipeWireCapture {
    shared: Arc<Shared>,
    quit: Option<pw::channel::Sender<LoopMessage>>,
    thread: Option<JoinHandle<()>>,
    label: String,
    info: SourceInfo,
    pool: Arc<BufferPool>,
}

impl std::fmt::Debug for PipeWireCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeWireCapture")
            .field("node", &self.label)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl PipeWireCapture {
    /// Connects, links to the node and waits until a format is agreed.
    pub fn open(options: PipeWireOptions) -> Result<Self, CaptureError> {
        let label = match &options.node {
            Some(n) => n.to_string(),
            None => "the default video node".into(),
        };
        let timeout = options.negotiation_timeout;
        let socket = socket_label(options.remote.is_some());
        let shared = Arc::new(Shared::default());
        let (quit, quit_rx) = pw::channel::channel::<LoopMessage>();
        shared.lock().lease_sender = Some(LoopSender(quit.clone()));
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("ghoststream-pipewire".into())
                .spawn(move || {
                    if let Err(e) = run_loop(options, &shared, quit_rx) {
                        shared.fail(e);
                    }
                    // Nothing more will arrive (a held buffer was already forgotten before
                    // the stream went, in `run_loop`).
                    shared.lock().ended = true;
                    shared.changed.notify_all();
                })
                .map_err(|source| CaptureError::Io {
                    what: "the PipeWire thread".into(),
                    source,
                })?
        };
        let mut capture = Self {
            shared,
            quit: Some(quit),
            thread: Some(thread),
            label,
            info: SourceInfo {
                format: crate::format::PixelFormat::Bgra8,
                width: 0,
                height: 0,
                frame_rate: Rational::new(0, 1),
            },
            pool: BufferPool::new(),
        };
        let deadline = Instant::now() + timeout;
        let format = {
            let mut state = capture.shared.lock();
            loop {
                if let Some(e) = state.failure.take() {
                    state.ended = true;
                    return Err(e);
                }
                if let Some(f) = state.format {
                    break f;
                }
                let answered = state.answered;
                state = capture.shared.wait_until(state, deadline).ok_or_else(|| {
                    let waited_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
                    if answered {
                        CaptureError::Timeout {
                            output: capture.label.clone(),
                            waited_ms,
                        }
                    } else {
                        // Not even the registry listing came back: the daemon, not the node.
                        CaptureError::PipeWireTimeout {
                            socket: socket.clone(),
                            step: "the listing of its objects (pw_core sync)".into(),
                            waited_ms,
                        }
                    }
                })?;
            }
        };
        capture.info = SourceInfo {
            format: format.format,
            width: format.width,
            height: format.height,
            frame_rate: format.rate,
        };
        tracing::info!(
            node = %capture.label,
            width = format.width,
            height = format.height,
            format = format.spa_name,
            "PipeWire capture open"
        );
        Ok(capture)
    }

    /// What has been received so far.
    pub fn counts(&self) -> PipeWireCounts {
        self.shared.lock().counts
    }

    fn read_out(&self, held: &Held, pointer: &Pointer) -> Result<CpuImage, CaptureError> {
        let plane = match held.buffer.memory() {
            Some(Memory::Mapped) => held.buffer.plane(),
            Some(Memory::DmaBuf) => {
                let mut image =
                    read_dmabuf(held, &self.pool).map_err(|reason| CaptureError::BadBuffer {
                        source_name: self.label.clone(),
                        reason,
                    })?;
                pointer.draw(&mut image);
                return Ok(image);
            }
            _ => None,
        };
        let plane = plane.ok_or_else(|| CaptureError::BadBuffer {
            source_name: self.label.clone(),
            reason: "a buffer without mapped data".into(),
        })?;
        let mut image = copy_plane(plane, &held.format, &self.pool).map_err(|reason| {
            CaptureError::BadBuffer {
                source_name: self.label.clone(),
                reason,
            }
        })?;
        pointer.draw(&mut image);
        Ok(image)
    }
}

impl LiveCapture for PipeWireCapture {
    fn name(&self) -> &str {
        &self.label
    }

    fn info(&self) -> SourceInfo {
        self.info
    }

    fn wait_frame_before(&mut self, deadline: Instant) -> Result<Option<Timestamp>, CaptureError> {
        let mut state = self.shared.lock();
        loop {
            if let Some(e) = state.failure.take() {
                state.ended = true;
                return Err(e);
            }
            if state.ended {
                return Err(CaptureError::NodeGone {
                    node: self.label.clone(),
                });
            }
            if state.pending > 0 {
                state.pending -= 1;
                let time = state
                    .held
                    .as_ref()
                    .map(|h| h.time)
                    .or(state.kept.as_ref().map(|k| k.2));
                return Ok(time);
            }
            match self.shared.wait_until(state, deadline) {
                Some(s) => state = s,
                None => return Ok(None),
            }
        }
    }

    fn last_image(&self) -> Result<Option<(CpuImage, Timestamp)>, CaptureError> {
        let state = self.shared.lock();
        if let Some(held) = &state.held {
            return Ok(Some((self.read_out(held, &state.pointer)?, held.time)));
        }
        let Some((image, format, time)) = &state.kept else {
            return Ok(None);
        };
        let plane = PlaneView {
            bytes: image.data(),
            offset: 0,
            size: image.data().len(),
            stride: 0,
            corrupted: false,
        };
        let mut copy =
            copy_plane(plane, format, &self.pool).map_err(|reason| CaptureError::BadBuffer {
                source_name: self.label.clone(),
                reason,
            })?;
        state.pointer.draw(&mut copy);
        Ok(Some((copy, *time)))
    }

    fn last_arrival(&self) -> Option<Timestamp> {
        self.shared.lock().held.as_ref().map(|h| h.arrived)
    }

    fn last_frame_image(&self) -> Result<Option<(FrameImage, Timestamp)>, CaptureError> {
        let mut guard = self.shared.lock();
        let state = &mut *guard;
        let Some(held) = state.held.as_mut() else {
            drop(guard);
            return Ok(self
                .last_image()?
                .map(|(image, time)| (FrameImage::Cpu(image), time)));
        };
        let Some(plane) = held.buffer.dmabuf_plane() else {
            drop(guard);
            return Ok(self
                .last_image()?
                .map(|(image, time)| (FrameImage::Cpu(image), time)));
        };
        let format = held.format;
        let modifier = format.modifier.unwrap_or(crate::gpu::DRM_FORMAT_MOD_LINEAR);
        let key = held.buffer.as_ptr() as usize;
        let entry = match state.dmabufs.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                // SAFETY: PipeWire's fd for a held buffer is open until the buffer is queued
                // back or removed, which needs the lock held here.
                let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(plane.fd) };
                let fd = borrowed
                    .try_clone_to_owned()
                    .map_err(|source| CaptureError::Io {
                        what: format!("a duplicate of DMA-BUF fd {}", plane.fd),
                        source,
                    })?;
                state.next_index += 1;
                v.insert(DmaBufEntry {
                    fd: Arc::new(fd),
                    index: state.next_index,
                })
            }
        };
        let lease = match held.lease.upgrade() {
            Some(lease) => lease,
            None => {
                let sender = state.lease_sender.clone().ok_or(CaptureError::NodeGone {
                    node: self.label.clone(),
                })?;
                let lease = Arc::new(PwLease {
                    loop_: Mutex::new(sender.0),
                });
                held.lease = Arc::downgrade(&lease);
                lease
            }
        };
        let mut frame = DmaBufFrame::new(
            Arc::clone(&entry.fd),
            DmaBufLayout {
                format: format.format,
                width: format.width,
                height: format.height,
                modifier,
                offset: plane.offset,
                stride: plane.stride,
            },
            DmaBufKey {
                generation: state.generation,
                index: entry.index,
            },
            lease,
        )
        .with_pointer(state.pointer.overlay());
        let time = held.time;
        if let Some(sync) = held.sync.clone() {
            frame = frame.with_explicit_sync(sync);
        }
        drop(guard);
        if let Some(sync) = frame.explicit_sync() {
            match sync::wait_acquire(sync, ACQUIRE_TIMEOUT) {
                Ok(()) => {}
                // Only a test negotiates without a render node.
                Err(sync::SyncError::NoRenderNode) => {}
                Err(e) => {
                    return Err(CaptureError::BadBuffer {
                        source_name: self.label.clone(),
                        reason: e.to_string(),
                    })
                }
            }
        }
        Ok(Some((FrameImage::DmaBuf(frame), time)))
    }
}

impl Drop for PipeWireCapture {
    fn drop(&mut self) {
        if let Some(quit) = self.quit.take() {
            let _ = quit.send(LoopMessage::Quit);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Copies a frame out of a mapped plane, checking its layout against the format (the chunk's
/// size must cover the rows; a stride of 0 means packed rows).
fn copy_plane(
    plane: PlaneView<'_>,
    format: &StreamFormat,
    pool: &Arc<BufferPool>,
) -> Result<CpuImage, String> {
    let row = format.width as usize * 4;
    let stride = if plane.stride == 0 { row } else { plane.stride };
    if stride < row {
        return Err(format!(
            "stride {stride} is shorter than a {}-pixel row of {} ({row} bytes)",
            format.width, format.spa_name
        ));
    }
    let needed = stride * (format.height as usize - 1) + row;
    let available = plane.bytes.len().saturating_sub(plane.offset);
    let in_chunk = plane.size.min(available);
    if needed > in_chunk {
        return Err(format!(
            "{in_chunk} bytes of frame data at offset {} for a {}x{} {} frame with stride {stride}, which needs {needed}",
            plane.offset, format.width, format.height, format.spa_name
        ));
    }
    let mut image = CpuImage::new(format.format, format.width, format.height, Some(pool))
        .map_err(|e| e.to_string())?;
    let data = &plane.bytes[plane.offset..];
    for y in 0..format.height {
        let start = y as usize * stride;
        image.row_mut(0, y)[..row].copy_from_slice(&data[start..start + row]);
    }
    Ok(image)
}

/// Reads a held DMA-BUF frame into CPU memory (a LINEAR buffer, mapped for the read): the
/// rare case of a frame wanted on the CPU (no GPU session; a resized frame to fit).
fn read_dmabuf(held: &Held, pool: &Arc<BufferPool>) -> Result<CpuImage, String> {
    let plane = held
        .buffer
        .dmabuf_plane()
        .ok_or("a DMA-BUF buffer without its plane")?;
    if let Some(m) = held
        .format
        .modifier
        .filter(|&m| m != crate::gpu::DRM_FORMAT_MOD_LINEAR)
    {
        return Err(format!(
            "its DMA-BUF has the tiled layout {m:#x}, which the CPU cannot read; record with the GPU (--gpu require)"
        ));
    }
    let rows = u64::from(held.format.height);
    let len =
        plane.offset + plane.stride * rows.saturating_sub(1) + u64::from(held.format.width) * 4;
    let len = usize::try_from(len).map_err(|_| format!("a DMA-BUF of {len} bytes"))?;
    // SAFETY: PipeWire's fd for a held buffer is open while the buffer is held, which the
    // caller's lock guarantees for this call.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(plane.fd) };
    let map = dmabuf_map::MappedDmaBuf::map(fd, len)
        .map_err(|e| format!("mapping its DMA-BUF ({len} bytes): {e}"))?;
    let view = PlaneView {
        bytes: map.bytes(),
        offset: usize::try_from(plane.offset).unwrap_or(usize::MAX),
        size: len,
        stride: usize::try_from(plane.stride).unwrap_or(0),
        corrupted: plane.corrupted,
    };
    copy_plane(view, &held.format, pool)
}

/// One `Video/Source`-like node seen in the registry.
#[derive(Clone, Debug)]
struct NodeEntry {
    name: String,
    class: String,
}

impl NodeEntry {
    /// The node a registry global announces; `None` for other objects.
    fn from_global(global: &GlobalObject<&DictRef>) -> Option<Self> {
        (global.type_ == ObjectType::Node).then(|| Self {
            name: prop(global.props, "node.name").unwrap_or_default(),
            class: prop(global.props, "media.class").unwrap_or_default(),
        })
    }
}

/// The video source nodes the daemon has (id, `node.name`, `media.class`), as
/// [`CaptureError::NodeNotFound`] lists them; a probe that opens no stream. `remote` as in
/// [`PipeWireOptions::remote`].
pub fn list_video_sources(
    remote: Option<OwnedFd>,
    timeout: Duration,
) -> Result<String, CaptureError> {
    let socket = socket_label(remote.is_some());
    let connection = params::connect(remote)?;
    let (core, main_loop) = (&connection.core, &connection.main_loop);
    let graph = Rc::new(RefCell::new(Graph::default()));
    let outcome: Rc<RefCell<Option<Result<(), CaptureError>>>> = Rc::default();
    let finish = {
        let outcome = Rc::clone(&outcome);
        let main_loop = main_loop.clone();
        move |result| {
            outcome.borrow_mut().get_or_insert(result);
            main_loop.quit();
        }
    };
    let _core_listener = core
        .add_listener_local()
        .error({
            let finish = finish.clone();
            move |id, _seq, res, message| {
                if id == 0 {
                    finish(Err(CaptureError::PipeWireGone {
                        reason: format!("{message} (error {res})"),
                    }));
                }
            }
        })
        .done({
            let finish = finish.clone();
            move |_, _| finish(Ok(()))
        })
        .register();
    let registry = core.get_registry().map_err(unavailable)?;
    let _registry_listener = registry
        .add_listener_local()
        .global({
            let graph = Rc::clone(&graph);
            move |global: &GlobalObject<&DictRef>| {
                if let Some(entry) = NodeEntry::from_global(global) {
                    graph.borrow_mut().nodes.insert(global.id, entry);
                }
            }
        })
        .register();
    core.sync(0).map_err(unavailable)?;
    let timer = main_loop.loop_().add_timer(move |_| {
        finish(Err(CaptureError::PipeWireTimeout {
            socket: socket.clone(),
            step: "the listing of its objects (pw_core sync)".into(),
            waited_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        }))
    });
    timer
        .update_timer(Some(timeout), None)
        .into_result()
        .map_err(|e| CaptureError::PipeWireUnavailable {
            reason: format!("arming the listing timer: {e}"),
        })?;
    main_loop.run();
    let result = outcome.borrow_mut().take();
    result.unwrap_or(Ok(()))?;
    let listed = graph.borrow().video_sources();
    Ok(listed)
}

/// The socket a connection goes to, for messages: the connection handed over (the portal's),
/// else `$PIPEWIRE_REMOTE` (a path, or a name in the runtime directory), else `pipewire-0` in
/// `$PIPEWIRE_RUNTIME_DIR` or `$XDG_RUNTIME_DIR`, as libpipewire looks for it.
fn socket_label(handed_over: bool) -> String {
    if handed_over {
        return "the connection the desktop portal handed over".into();
    }
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    let name = var("PIPEWIRE_REMOTE").unwrap_or_else(|| "pipewire-0".into());
    if name.starts_with('/') {
        return name;
    }
    match var("PIPEWIRE_RUNTIME_DIR").or_else(|| var("XDG_RUNTIME_DIR")) {
        Some(dir) => format!("{}/{name}", dir.trim_end_matches('/')),
        None => format!("{name} (no PIPEWIRE_RUNTIME_DIR or XDG_RUNTIME_DIR set)"),
    }
}

/// A link's ends as its global announces them.
#[derive(Clone, Copy, Debug)]
struct LinkEnds {
    output_node: u32,
    input_node: u32,
    output_port: Option<u32>,
}

/// The registry as the loop saw it: nodes and the links into the capture's node.
#[derive(Debug, Default)]
struct Graph {
    nodes: HashMap<u32, NodeEntry>,
    /// Link id → its ends: output node, input node, output port (when the link names it).
    links: HashMap<u32, LinkEnds>,
    /// The node the capture was last linked from.
    peer: Option<u32>,
}

impl Graph {
    fn find(&self, target: &NodeTarget) -> Option<u32> {
        match target {
            NodeTarget::Id(id) => self.nodes.contains_key(id).then_some(*id),
            NodeTarget::Name(name) => self
                .nodes
                .iter()
                .find(|(_, n)| &n.name == name)
                .map(|(id, _)| *id),
        }
    }

    fn video_sources(&self) -> String {
        let mut names: Vec<String> = self
            .nodes
            .iter()
            .filter(|(_, n)| {
                n.class.starts_with("Video/Source") || n.class.contains("Output/Video")
            })
            .map(|(id, n)| format!("{id} ({:?}, {})", n.name, n.class))
            .collect();
        names.sort();
        if names.is_empty() {
            "no video source nodes".into()
        } else {
            names.join(", ")
        }
    }
}

fn prop(props: Option<&DictRef>, key: &str) -> Option<String> {
    props.and_then(|p| p.get(key)).map(str::to_string)
}

/// Runs the PipeWire loop until the caller quits; errors before the loop runs are returned.
fn run_loop(
    options: PipeWireOptions,
    shared: &Arc<Shared>,
    quit: pw::channel::Receiver<LoopMessage>,
) -> Result<(), CaptureError> {
    let dmabuf_offer: Rc<DmaBufOffer> = Rc::new(match &options.gpu {
        Some(ctx) => params::ACCEPTED
            .iter()
            .filter_map(|&(spa, engine)| {
                let modifiers = crate::gpu::importable_modifiers(ctx, engine);
                (!modifiers.is_empty()).then_some((spa, modifiers))
            })
            .collect(),
        None => Vec::new(),
    });
    if options.gpu.is_some() && dmabuf_offer.is_empty() {
        tracing::info!(
            "PipeWire: the Vulkan device imports no DMA-BUF (VK_EXT_external_memory_dma_buf); asking for shared memory"
        );
    }
    let connection = params::connect(options.remote)?;
    let (core, main_loop) = (&connection.core, &connection.main_loop);

    let graph = Rc::new(RefCell::new(Graph::default()));
    let own_node = Rc::new(Cell::new(u32::MAX));
    let target = options.node.clone();
    let target_id = Rc::new(Cell::new(match target {
        Some(NodeTarget::Id(id)) => Some(id),
        _ => None,
    }));

    let _core_listener = core
        .add_listener_local()
        .error({
            let shared = Arc::clone(shared);
            move |id, _seq, res, message| {
                // An error on the core object (id 0) is the connection itself.
                if id == 0 {
                    shared.fail(CaptureError::PipeWireGone {
                        reason: format!("{message} (error {res})"),
                    });
                }
            }
        })
        .done({
            let shared = Arc::clone(shared);
            let graph = Rc::clone(&graph);
            let target = target.clone();
            let target_id = Rc::clone(&target_id);
            move |_, _| {
                {
                    let mut state = shared.lock();
                    if !state.answered {
                        state.answered = true;
                        drop(state);
                        shared.changed.notify_all();
                    }
                }
                // The registry has been listed: the node asked for must be in it.
                if let Some(t) = &target {
                    let graph = graph.borrow();
                    match graph.find(t) {
                        Some(id) => target_id.set(Some(id)),
                        None => shared.fail(CaptureError::NodeNotFound {
                            node: t.to_string(),
                            available: graph.video_sources(),
                        }),
                    }
                }
            }
        })
        .register();

    let registry = Rc::new(core.get_registry().map_err(unavailable)?);
    let label = target
        .as_ref()
        .map(|t| t.to_string())
        .unwrap_or_else(|| "the linked video node".into());
    let links = Rc::new(LinkWatch {
        failure: LinkFailure {
            shared: Arc::clone(shared),
            core: core.clone(),
            node: label.clone(),
            consumer: describe_offer(&dmabuf_offer),
        },
        registry: Rc::downgrade(&registry),
        seen: RefCell::default(),
        kept: RefCell::default(),
        report: RefCell::default(),
    });
    let _registry_listener = registry
        .add_listener_local()
        .global({
            let graph = Rc::clone(&graph);
            let own_node = Rc::clone(&own_node);
            let links = Rc::clone(&links);
            move |global: &GlobalObject<&DictRef>| {
                let mut graph = graph.borrow_mut();
                if let Some(entry) = NodeEntry::from_global(global) {
                    graph.nodes.insert(global.id, entry);
                } else if global.type_ == ObjectType::Link {
                    let id = |key| prop(global.props, key).and_then(|v| v.parse::<u32>().ok());
                    if let (Some(output_node), Some(input_node)) =
                        (id("link.output.node"), id("link.input.node"))
                    {
                        let ends = LinkEnds {
                            output_node,
                            input_node,
                            output_port: id("link.output.port"),
                        };
                        graph.links.insert(global.id, ends);
                        if input_node == own_node.get() {
                            graph.peer = Some(output_node);
                            links.watch(global.id, ends);
                        }
                    }
                }
            }
        })
        .global_remove({
            let graph = Rc::clone(&graph);
            let own_node = Rc::clone(&own_node);
            let target_id = Rc::clone(&target_id);
            let shared = Arc::clone(shared);
            let label = label.clone();
            move |id| {
                let mut graph = graph.borrow_mut();
                graph.links.remove(&id);
                if graph.nodes.remove(&id).is_none() {
                    return;
                }
                let ours = own_node.get();
                let linked = graph.peer == Some(id)
                    || graph
                        .links
                        .values()
                        .any(|l| l.output_node == id && l.input_node == ours);
                if linked || target_id.get() == Some(id) {
                    shared.fail(CaptureError::NodeGone {
                        node: label.clone(),
                    });
                }
            }
        })
        .register();
    core.sync(0).map_err(unavailable)?;

    let mut props = pw::properties::properties! {
        "media.type" => "Video",
        "media.category" => "Capture",
        "media.role" => "Screen",
        "node.name" => "ghoststream-capture",
        "node.dont-reconnect" => "true",
    };
    if let Some(NodeTarget::Name(name)) = &options.node {
        props.insert("target.object", name.as_str());
    }
    let stream =
        Rc::new(pw::stream::Stream::new(core, "ghoststream-capture", props).map_err(unavailable)?);
    let _stream_listener = stream
        .add_local_listener_with_user_data(())
        .state_changed({
            let shared = Arc::clone(shared);
            let own_node = Rc::clone(&own_node);
            let graph = Rc::clone(&graph);
            let links = Rc::clone(&links);
            move |stream: &StreamRef, _, old, new| {
                let id = stream.node_id();
                if id != own_node.replace(id) && id != u32::MAX {
                    // Links announced before the node's id was known.
                    let mut graph = graph.borrow_mut();
                    let into_us: Vec<(u32, LinkEnds)> = graph
                        .links
                        .iter()
                        .filter(|(_, l)| l.input_node == id)
                        .map(|(&link, &l)| (link, l))
                        .collect();
                    for (link, ends) in into_us {
                        graph.peer = Some(ends.output_node);
                        links.watch(link, ends);
                    }
                }
                match new {
                    StreamState::Error(reason) => {
                        shared.fail(CaptureError::StreamFailed { reason });
                    }
                    // Not our own disconnect (this listener is gone by then): the server
                    // destroyed the capture's node. A session manager does that when the
                    // node's link fails to negotiate, and may do it before the link's error
                    // state reaches this client.
                    StreamState::Unconnected if !matches!(old, StreamState::Unconnected) => {
                        let agreed = shared.lock().format.is_some();
                        if agreed
                            || !links.lost(
                                "the capture's node was removed before a format was agreed, \
                                 as a session manager does when its link fails to negotiate",
                            )
                        {
                            shared.fail(CaptureError::StreamFailed {
                                reason: "PipeWire disconnected the capture stream: its node \
                                         was destroyed"
                                    .into(),
                            });
                        }
                    }
                    _ => {}
                }
            }
        })
        .param_changed({
            let shared = Arc::clone(shared);
            let cursor = options.cursor;
            let offer = Rc::clone(&dmabuf_offer);
            move |stream: &StreamRef, _, id, param| {
                if id != pw::spa::param::ParamType::Format.as_raw() {
                    return;
                }
                let Some(param) = param else { return };
                on_format(stream, &shared, param, cursor, &offer);
            }
        })
        .remove_buffer({
            let shared = Arc::clone(shared);
            move |_stream: &StreamRef, _, raw| {
                let mut state = shared.lock();
                // A DMA-BUF frame still in use keeps its own duplicate of the fd.
                state.dmabufs.remove(&(raw as usize));
                state.retired.retain(|(b, _)| b.as_ptr() != raw);
                if state
                    .held
                    .as_ref()
                    .is_some_and(|h| h.buffer.as_ptr() == raw)
                {
                    // Keep the frame past its buffer (a format change): one copy, rarely.
                    let held = state.held.take().expect("checked above");
                    let image = match held.buffer.plane() {
                        Some(plane) => copy_plane(plane, &held.format, &BufferPool::new()),
                        None => read_dmabuf(&held, &BufferPool::new()),
                    };
                    if let Ok(image) = image {
                        state.kept = Some((image, held.format, held.time));
                    }
                }
            }
        })
        .process({
            let shared = Arc::clone(shared);
            let cursor = options.cursor;
            move |stream: &StreamRef, _| on_process(stream, &shared, cursor)
        })
        .register()
        .map_err(unavailable)?;

    let offer = offer_pods(&dmabuf_offer, None);
    let target = match &options.node {
        Some(NodeTarget::Id(id)) => Some(*id),
        _ => None,
    };
    params::connect_stream(
        &stream,
        pw::spa::utils::Direction::Input,
        target,
        StreamFlags::AUTOCONNECT | StreamFlags::MAP_BUFFERS,
        &offer,
        "the capture stream",
    )?;

    let _quit = quit.attach(main_loop.loop_(), {
        let main_loop = main_loop.clone();
        let shared = Arc::clone(shared);
        let stream = Rc::clone(&stream);
        move |message| match message {
            LoopMessage::Quit => main_loop.quit(),
            LoopMessage::Returned => {
                let returned = take_returned(&mut shared.lock());
                for buffer in returned {
                    buffer::queue_back(&stream, buffer);
                }
            }
        }
    });
    main_loop.run();
    // The stream and its buffers are dropped when this returns: forget the held buffer now,
    // under the lock, so that no reader can reach it afterwards.
    let mut state = shared.lock();
    state.held = None;
    state.retired.clear();
    state.dmabufs.clear();
    state.lease_sender = None;
    state.ended = true;
    Ok(())
}

/// How long a DMA-BUF frame's acquire point is waited for before the frame is refused.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// A dequeued buffer's explicit sync as owned values; `None` without it (or, logged, when its
/// syncobj fds cannot be duplicated).
fn take_sync(buffer: &HeldBuffer) -> Option<ExplicitSync> {
    let raw = buffer.sync_timeline()?;
    sync::take(raw)
        .inspect_err(|e| tracing::warn!(error = %e, "explicit sync: duplicating the syncobj fds"))
        .ok()
}

/// The formats a capture offers: DMA-BUF (each importable format with its modifiers; with
/// `fixed`, only that format and modifier) first, shared memory in every format last.
fn offer_pods(
    dmabuf: &DmaBufOffer,
    fixed: Option<(pw::spa::param::video::VideoFormat, u64)>,
) -> Vec<Vec<u8>> {
    let mut pods: Vec<Vec<u8>> = match fixed {
        Some((format, modifier)) => vec![params::enum_format_dmabuf(
            format,
            &[modifier],
            false,
            None,
            None,
        )],
        None => dmabuf
            .iter()
            .map(|(format, modifiers)| {
                params::enum_format_dmabuf(*format, modifiers, modifiers.len() > 1, None, None)
            })
            .collect(),
    };
    pods.push(params::enum_format(
        &params::ACCEPTED.map(|(spa, _)| spa),
        None,
        None,
    ));
    pods
}

/// What GhostStream offers, in words (for [`CaptureError::NoCommonFormat`]).
fn describe_offer(dmabuf: &DmaBufOffer) -> String {
    let shm: Vec<&str> = params::ACCEPTED
        .iter()
        .map(|(spa, _)| params::spa_name(*spa))
        .collect();
    let shm = format!("{} in shared memory", shm.join("/"));
    if dmabuf.is_empty() {
        return format!("{shm} (no DMA-BUF: no Vulkan device that imports it was given)");
    }
    let dmabuf: Vec<String> = dmabuf
        .iter()
        .map(|(spa, mods)| {
            let mods: Vec<String> = mods.iter().map(|m| format!("{m:#x}")).collect();
            format!("{} (modifiers {})", params::spa_name(*spa), mods.join(", "))
        })
        .collect();
    format!("{} as DMA-BUF, or {shm}", dmabuf.join(", "))
}

/// Turns a link to the capture that fails to negotiate into [`CaptureError::NoCommonFormat`]
/// (PipeWire itself only leaves the link in its error state, and the capture would wait for
/// a format until its timeout): the producer's output port is asked for its formats, and the
/// error is reported at the round trip after them (`pw_core_sync`), so it names both sides.
struct LinkFailure {
    shared: Arc<Shared>,
    core: pw::core::Core,
    node: String,
    consumer: String,
}

impl LinkFailure {
    /// Binds the link `link` and its producer's port; returns the report, which asks the port
    /// for its formats and fails the capture with `reason` at the round trip after them.
    fn watch(
        &self,
        registry: &pw::registry::Registry,
        link: u32,
        ends: LinkEnds,
        kept: &RefCell<Vec<Box<dyn std::any::Any>>>,
    ) -> Option<Report> {
        let global = |id, type_| GlobalObject {
            id,
            permissions: pw::permissions::PermissionFlags::R,
            type_,
            version: 3,
            props: None::<&DictRef>,
        };
        let proxy = registry
            .bind::<pw::link::Link, _>(&global(link, ObjectType::Link))
            .ok()?;
        // Bound now, while the link is there: a session manager may remove the link (and
        // the capture's node) right after it fails, and the port's formats are still asked
        // then.
        let port = ends
            .output_port
            .and_then(|id| {
                registry
                    .bind::<pw::port::Port, _>(&global(id, ObjectType::Port))
                    .ok()
            })
            .map(Rc::new);
        let formats: Rc<RefCell<Vec<String>>> = Rc::default();
        let port_listener = port.as_ref().map(|port| {
            port.add_listener_local()
                .param({
                    let formats = Rc::clone(&formats);
                    move |_, id, _, _, param| {
                        if id == pw::spa::param::ParamType::EnumFormat {
                            if let Some(pod) = param {
                                formats.borrow_mut().push(params::describe_enum_format(pod));
                            }
                        }
                    }
                })
                .register()
        });
        let reason: Rc<RefCell<Option<String>>> = Rc::default();
        let pending: Rc<Cell<Option<pw::spa::utils::result::AsyncSeq>>> = Rc::default();
        let done_listener = self
            .core
            .add_listener_local()
            .done({
                let shared = Arc::clone(&self.shared);
                let node = self.node.clone();
                let consumer = self.consumer.clone();
                let formats = Rc::clone(&formats);
                let reason = Rc::clone(&reason);
                let pending = Rc::clone(&pending);
                move |_, seq| {
                    if pending.get() != Some(seq) {
                        return;
                    }
                    pending.set(None);
                    let producer = formats.borrow().join("; ");
                    shared.fail(CaptureError::NoCommonFormat {
                        node: node.clone(),
                        reason: reason.borrow().clone().unwrap_or_default(),
                        producer: if producer.is_empty() {
                            "formats it did not list".into()
                        } else {
                            producer
                        },
                        consumer: consumer.clone(),
                    });
                }
            })
            .register();
        let report: Report = Rc::new({
            let port = port.clone();
            let core = self.core.clone();
            move |message: String| {
                if reason.borrow().is_some() {
                    return;
                }
                *reason.borrow_mut() = Some(message);
                if let Some(port) = &port {
                    port.enum_params(0, Some(pw::spa::param::ParamType::EnumFormat), 0, u32::MAX);
                }
                pending.set(core.sync(0).ok());
            }
        });
        let link_listener = proxy
            .add_listener_local()
            .info({
                let report = Rc::clone(&report);
                move |info| {
                    if let pw::link::LinkState::Error(message) = info.state() {
                        report(message.to_string());
                    }
                }
            })
            .register();
        kept.borrow_mut().push(Box::new((
            proxy,
            link_listener,
            port,
            port_listener,
            done_listener,
        )));
        Some(report)
    }
}

/// Reports a watched link's failure with a reason (see [`LinkFailure::watch`]).
type Report = Rc<dyn Fn(String)>;

/// The links into the capture's node, each watched for a failed negotiation
/// ([`LinkFailure`]).
struct LinkWatch {
    failure: LinkFailure,
    registry: std::rc::Weak<pw::registry::Registry>,
    /// The links already watched.
    seen: RefCell<HashSet<u32>>,
    /// Proxies and listeners made from inside callbacks, kept alive until the loop ends.
    kept: RefCell<Vec<Box<dyn std::any::Any>>>,
    /// The newest watched link's report.
    report: RefCell<Option<Report>>,
}

impl LinkWatch {
    fn watch(&self, link: u32, ends: LinkEnds) {
        if !self.seen.borrow_mut().insert(link) {
            return;
        }
        let Some(registry) = self.registry.upgrade() else {
            return;
        };
        if let Some(report) = self.failure.watch(&registry, link, ends, &self.kept) {
            *self.report.borrow_mut() = Some(report);
        }
    }

    /// The capture's node went away before a format was agreed: reports it, with `reason`,
    /// as the newest link's failure; false when no link into the node was seen.
    fn lost(&self, reason: &str) -> bool {
        let report = self.report.borrow().clone();
        report.map(|report| report(reason.to_string())).is_some()
    }
}

/// The buffers kept for DMA-BUF frames whose last frame has been dropped, taken out of the
/// state to be queued back.
fn take_returned(state: &mut State) -> Vec<HeldBuffer> {
    // Called for every buffer that arrives: nothing to allocate while nothing is kept.
    if state.retired.is_empty() {
        return Vec::new();
    }
    let (returned, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut state.retired)
        .into_iter()
        .partition(|(_, lease)| lease.strong_count() == 0);
    state.retired = kept;
    returned.into_iter().map(|(b, _)| b).collect()
}

/// The format was fixed: record it and ask for buffers (DMA-BUF for a format with a modifier,
/// else shared memory) and metadata. A DMA-BUF format whose modifier is still a choice is
/// fixated first: to the first of the producer's modifiers the device imports (the producer
/// then renegotiates with it), or, with none, to shared memory.
fn on_format(
    stream: &StreamRef,
    shared: &Shared,
    param: &pw::spa::pod::Pod,
    cursor: bool,
    dmabuf: &DmaBufOffer,
) {
    if let Ok(Some(params::Modifier::Choice(offered))) = params::negotiated_modifier(param) {
        let spa = pw::spa::param::video::VideoInfoRaw::new();
        let mut spa = spa;
        let format = spa.parse(param).ok().map(|_| spa.format());
        let ours = format.and_then(|f| dmabuf.iter().find(|(o, _)| *o == f));
        let pick = ours.and_then(|(_, mods)| offered.iter().find(|m| mods.contains(m)));
        let pods = match (format, pick) {
            (Some(format), Some(&modifier)) => {
                tracing::debug!(?format, modifier, "PipeWire: fixating the DMA-BUF modifier");
                offer_pods(dmabuf, Some((format, modifier)))
            }
            _ => {
                let ours: Vec<String> = ours
                    .map(|(_, m)| m.iter().map(|m| format!("{m:#x}")).collect())
                    .unwrap_or_default();
                tracing::info!(
                    producer = ?offered.iter().map(|m| format!("{m:#x}")).collect::<Vec<_>>(),
                    device = ?ours,
                    "PipeWire: no DMA-BUF modifier both sides take; asking for shared memory"
                );
                offer_pods(&Vec::new(), None)
            }
        };
        if let Err(e) = stream.update_params(&mut params::pods(&pods)) {
            shared.fail(CaptureError::StreamFailed {
                reason: format!("fixating the DMA-BUF modifier: {e}"),
            });
        }
        return;
    }
    match params::negotiated(param) {
        Ok(format) => {
            tracing::debug!(?format, "PipeWire format");
            let stride = format.width * 4;
            let mut params = Vec::new();
            if format.modifier.is_some() && sync::negotiate() {
                // Explicit sync: its layout (two more blocks for the syncobjs) applies when
                // the producer has the metadata too; the plain one below otherwise.
                params.push(params::dmabuf_buffers_synced());
                params.push(params::sync_timeline_meta());
            }
            params.push(if format.modifier.is_some() {
                params::dmabuf_buffers()
            } else {
                params::buffers(Some((stride * format.height, stride)))
            });
            params.extend(params::capture_metas());
            if cursor {
                params.push(params::cursor_meta());
            }
            if let Err(e) = stream.update_params(&mut params::pods(&params)) {
                shared.fail(CaptureError::StreamFailed {
                    reason: format!("asking for buffers: {e}"),
                });
                return;
            }
            let mut state = shared.lock();
            if format.modifier.is_some() {
                // New buffers come with this format: imports of the old ones are stale.
                state.generation += 1;
            }
            state.format = Some(format);
            drop(state);
            shared.changed.notify_all();
        }
        Err(refusal) => shared.fail(CaptureError::StreamFailed {
            reason: format!("the node's format was refused: {refusal:?}"),
        }),
    }
}

/// New buffers: keep the newest dequeued, queue every other one back; with `cursor`, follow
/// the pointer metadata (present whenever either side asked for it).
fn on_process(stream: &StreamRef, shared: &Shared, cursor_wanted: bool) {
    let mut newest: Option<HeldBuffer> = None;
    let mut skipped = 0u64;
    let mut cursor = None;
    while let Some(buffer) = buffer::dequeue(stream) {
        // Every buffer's pointer counts: a new picture may ride on one that is skipped.
        if cursor_wanted {
            cursor = pointer::merge(cursor, buffer.cursor());
        }
        if let Some(older) = newest.replace(buffer) {
            // Skipped unread: its release point is signaled at once.
            drop(take_sync(&older));
            buffer::queue_back(stream, older);
            skipped += 1;
        }
    }
    let Some(buffer) = newest else { return };
    let meta = buffer.meta();
    // The producer's explicit sync, if negotiated (dropped, and so released, with the buffer
    // when it is not kept below).
    let sync = take_sync(&buffer);
    let mut state = shared.lock();
    let Some(format) = state.format else {
        drop(state);
        buffer::queue_back(stream, buffer);
        return;
    };
    let pointer_moved = cursor.is_some();
    if let Some(update) = cursor {
        state.pointer.update(update);
    }
    state.counts.arrived += 1 + skipped;
    if let (Some(seq), Some(last)) = (meta.seq, state.last_seq) {
        state.counts.producer_skipped += seq.saturating_sub(last + 1 + skipped);
    }
    state.last_seq = meta.seq.or(state.last_seq);
    let plane = buffer.plane();
    if meta.corrupted || plane.is_some_and(|p| p.corrupted) {
        state.counts.corrupted += 1;
        drop(state);
        buffer::queue_back(stream, buffer);
        return;
    }
    // An empty chunk carries no picture (a producer that only moved the cursor): the frame
    // held stays the newest.
    if plane.is_some_and(|p| p.size == 0) {
        state.counts.empty += 1;
        // Only the pointer moved: the held picture is new again, as of now.
        if pointer_moved {
            let now = Timestamp::now();
            if let Some(held) = state.held.as_mut() {
                held.time = now;
                state.pending += 1;
            } else if let Some(kept) = state.kept.as_mut() {
                kept.2 = now;
                state.pending += 1;
            }
        }
        drop(state);
        buffer::queue_back(stream, buffer);
        shared.changed.notify_all();
        return;
    }
    let time = meta
        .pts
        .map(Timestamp::from_nanos)
        .unwrap_or_else(Timestamp::now);
    if let Some(old) = state.held.replace(Held {
        buffer,
        format,
        time,
        arrived: Timestamp::now(),
        lease: Weak::new(),
        sync,
    }) {
        if old.lease.strong_count() > 0 {
            // A frame made from it is still being read (the GPU pass): it goes back when
            // that frame is dropped.
            state.retired.push((old.buffer, old.lease));
        } else {
            buffer::queue_back(stream, old.buffer);
        }
    }
    for returned in take_returned(&mut state) {
        buffer::queue_back(stream, returned);
    }
    state.kept = None;
    state.pending += 1 + skipped;
    drop(state);
    shared.changed.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::PixelFormat;

    fn format(width: u32, height: u32) -> StreamFormat {
        StreamFormat {
            format: PixelFormat::Bgra8,
            spa_name: "BGRx",
            width,
            height,
            rate: Rational::new(60, 1),
            modifier: None,
        }
    }

    #[test]
    fn nodes_parse_as_ids_or_names() {
        assert_eq!("42".parse::<NodeTarget>(), Ok(NodeTarget::Id(42)));
        assert_eq!(
            "xdpw-screencast".parse::<NodeTarget>(),
            Ok(NodeTarget::Name("xdpw-screencast".into()))
        );
        assert!("".parse::<NodeTarget>().unwrap_err().contains("node.name"));
    }

    #[test]
    fn a_plane_with_padding_is_read_row_by_row() {
        // 3x2 BGRx with a 16-byte stride and an 8-byte offset.
        let mut bytes = vec![0u8; 8 + 16 * 2];
        for y in 0..2 {
            for x in 0..12 {
                bytes[8 + y * 16 + x] = u8::try_from(y * 100 + x).unwrap();
            }
        }
        let plane = PlaneView {
            bytes: &bytes,
            offset: 8,
            size: 32,
            stride: 16,
            corrupted: false,
        };
        let image = copy_plane(plane, &format(3, 2), &BufferPool::new()).unwrap();
        assert_eq!(image.row(0, 0)[..12], (0..12u8).collect::<Vec<_>>()[..]);
        assert_eq!(image.row(0, 1)[..12], (100..112u8).collect::<Vec<_>>()[..]);
    }

    #[test]
    fn a_plane_too_small_for_its_format_is_refused_with_the_sizes() {
        let bytes = vec![0u8; 100];
        let plane = PlaneView {
            bytes: &bytes,
            offset: 0,
            size: 100,
            stride: 0,
            corrupted: false,
        };
        let e = copy_plane(plane, &format(8, 4), &BufferPool::new()).unwrap_err();
        assert!(e.contains("100 bytes") && e.contains("needs 128"), "{e}");
        let plane = PlaneView { stride: 8, ..plane };
        let e = copy_plane(plane, &format(8, 4), &BufferPool::new()).unwrap_err();
        assert!(e.contains("stride 8"), "{e}");
    }
}
