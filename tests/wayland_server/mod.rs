//! A small Wayland compositor for the capture tests: it offers `wl_shm`, one `wl_output`, a
//! `wl_seat` with a pointer, `ext-image-capture-source-v1` (the output and one window listed by
//! `ext-foreign-toplevel-list-v1`), `ext-image-copy-capture-v1` (with cursor sessions),
//! `zwlr_screencopy_manager_v1` version 3 and `zwp_linux_dmabuf_v1`, and paints a known,
//! frame-numbered picture into the client's buffers, so that tests compare exact pixels.
//! A DMA-BUF here is any fd (the tests' are memfds: there is no GPU): the server writes its
//! pixels through the fd as it does a `wl_shm` pool's.
//!
//! It runs on its own thread, listening on a socket in its own temporary directory. The test
//! drives it through [`TestServer`]: change the picture (damage), close the window or remove
//! the output mid-capture, refuse buffers, or stop answering altogether.

#![allow(dead_code)]

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use wayland_protocols::ext::foreign_toplevel_list::v1::server::ext_foreign_toplevel_handle_v1::{
    self, ExtForeignToplevelHandleV1,
};
use wayland_protocols::ext::foreign_toplevel_list::v1::server::ext_foreign_toplevel_list_v1::{
    self, ExtForeignToplevelListV1,
};
use wayland_protocols::ext::image_capture_source::v1::server::ext_foreign_toplevel_image_capture_source_manager_v1::{
    self, ExtForeignToplevelImageCaptureSourceManagerV1,
};
use wayland_protocols::ext::image_capture_source::v1::server::ext_image_capture_source_v1::{
    self, ExtImageCaptureSourceV1,
};
use wayland_protocols::ext::image_capture_source::v1::server::ext_output_image_capture_source_manager_v1::{
    self, ExtOutputImageCaptureSourceManagerV1,
};
use wayland_protocols::ext::image_copy_capture::v1::server::ext_image_copy_capture_cursor_session_v1::{
    self, ExtImageCopyCaptureCursorSessionV1,
};
use wayland_protocols::ext::image_copy_capture::v1::server::ext_image_copy_capture_frame_v1::{
    self, ExtImageCopyCaptureFrameV1,
};
pub use wayland_protocols::ext::image_copy_capture::v1::server::ext_image_copy_capture_frame_v1::FailureReason;
use wayland_protocols::ext::image_copy_capture::v1::server::ext_image_copy_capture_manager_v1::{
    self, ExtImageCopyCaptureManagerV1,
};
use wayland_protocols::ext::image_copy_capture::v1::server::ext_image_copy_capture_session_v1::{
    self, ExtImageCopyCaptureSessionV1,
};
use wayland_protocols::wp::linux_dmabuf::zv1::server::zwp_linux_buffer_params_v1::{
    self, ZwpLinuxBufferParamsV1,
};
use wayland_protocols::wp::linux_dmabuf::zv1::server::zwp_linux_dmabuf_v1::{
    self, ZwpLinuxDmabufV1,
};
use wayland_protocols_wlr::screencopy::v1::server::zwlr_screencopy_frame_v1::{
    self, ZwlrScreencopyFrameV1,
};
use wayland_protocols_wlr::screencopy::v1::server::zwlr_screencopy_manager_v1::{
    self, ZwlrScreencopyManagerV1,
};
use wayland_server::backend::{ClientData, ClientId, DisconnectReason, GlobalId};
use wayland_server::protocol::wl_buffer::{self, WlBuffer};
use wayland_server::protocol::wl_output::{self, WlOutput};
use wayland_server::protocol::wl_pointer::{self, WlPointer};
use wayland_server::protocol::wl_seat::{self, WlSeat};
use wayland_server::protocol::wl_shm::{self, WlShm};
use wayland_server::protocol::wl_shm_pool::{self, WlShmPool};
use wayland_server::{
    Client, DataInit, Dispatch, Display, DisplayHandle, GlobalDispatch, ListeningSocket, New,
    Resource, WEnum,
};

/// The output's name and size.
pub const OUTPUT_NAME: &str = "TEST-1";
/// The output's size in pixels.
pub const OUTPUT_SIZE: (u32, u32) = (64, 48);
/// The window's size in pixels.
pub const WINDOW_SIZE: (u32, u32) = (40, 24);
/// The window's app_id and title.
pub const WINDOW_APP_ID: &str = "org.ghoststream.Pattern";
/// The window's title.
pub const WINDOW_TITLE: &str = "Pattern window";
/// Where the painted cursor's top-left corner is, and its side.
pub const CURSOR_AT: (u32, u32) = (8, 4);
/// The painted cursor's side in pixels.
pub const CURSOR_SIDE: u32 = 6;

/// DRM_FORMAT_XRGB8888 (`XR24`).
pub const DRM_XRGB8888: u32 = u32::from_le_bytes(*b"XR24");
/// DRM_FORMAT_ARGB8888 (`AR24`).
pub const DRM_ARGB8888: u32 = u32::from_le_bytes(*b"AR24");
/// The LINEAR DRM format modifier.
pub const LINEAR: u64 = 0;

/// The pointer's image size (a cursor session's buffer).
pub const POINTER_SIZE: (u32, u32) = (4, 4);
/// The pointer image's hotspot.
pub const POINTER_HOTSPOT: (i32, i32) = (1, 1);

/// The pointer image's pixel, premultiplied B, G, R, A: white, its last row half-transparent
/// red.
pub fn pointer_pixel(_x: u32, y: u32) -> [u8; 4] {
    if y == POINTER_SIZE.1 - 1 {
        [0, 0, 128, 128]
    } else {
        [255, 255, 255, 255]
    }
}

/// What is captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The output.
    Output,
    /// The window.
    Window,
    /// The pointer's image (a cursor session).
    Cursor,
}

impl Kind {
    /// The source's size.
    pub fn size(self) -> (u32, u32) {
        match self {
            Kind::Output => OUTPUT_SIZE,
            Kind::Window => WINDOW_SIZE,
            Kind::Cursor => POINTER_SIZE,
        }
    }
}

/// The picture's pixel at (x, y) of picture number `content`, as B, G, R, A bytes (what
/// XRGB8888/ARGB8888 hold in memory). The window's picture differs from the output's.
pub fn pixel(kind: Kind, content: u32, cursor: bool, x: u32, y: u32) -> [u8; 4] {
    let in_cursor = cursor
        && (CURSOR_AT.0..CURSOR_AT.0 + CURSOR_SIDE).contains(&x)
        && (CURSOR_AT.1..CURSOR_AT.1 + CURSOR_SIDE).contains(&y);
    if in_cursor {
        return [255, 255, 255, 255];
    }
    let low = |v: u32| u8::try_from(v & 0xff).unwrap();
    match kind {
        Kind::Output => [low(x * 3), low(y * 5), low(content * 17 + 1), 255],
        Kind::Window => [low(200 - x), low(content * 29 + 7), low(y * 7), 255],
        Kind::Cursor => pointer_pixel(x, y),
    }
}

/// What the tests set and read.
#[derive(Debug, Default)]
pub struct Shared {
    /// The picture's number: changing it damages the sources.
    pub content: u32,
    /// Stop answering anything.
    pub silent: bool,
    /// Fail every frame with this reason.
    pub refuse: Option<FailureReason>,
    /// Close the window now.
    pub close_window: bool,
    /// Remove the output now.
    pub remove_output: bool,
    /// Resize the window to this now (its sessions announce new constraints).
    pub resize_window: Option<(u32, u32)>,
    /// Whether the last session asked for `paint_cursors`.
    pub paint_cursors: Option<bool>,
    /// Frames copied into client buffers.
    pub frames_copied: u32,
    /// Captures waiting for damage or a decision.
    pub frames_waiting: usize,
    /// Where the pointer's hotspot is, in the output's (and the window's) pixels.
    pub pointer: (i32, i32),
    /// Cursor sessions opened.
    pub cursor_sessions: u32,
    /// Offer DMA-BUF buffers (XRGB8888, LINEAR): in image-copy sessions' constraints and as
    /// wlr-screencopy `linux_dmabuf` offers.
    pub offer_dmabuf: bool,
    /// Fail every `zwp_linux_buffer_params_v1.create` (a buffer the compositor cannot import).
    pub refuse_dmabuf: bool,
    /// Frames copied into DMA-BUF buffers (of `frames_copied`).
    pub dmabuf_copies: u32,
    /// Whether the last wlr-screencopy frame asked for the cursor (`overlay_cursor`).
    pub overlay_cursor: Option<bool>,
}

/// A running test server.
pub struct TestServer {
    /// The socket's absolute path (give it as the capture's display).
    pub socket: String,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

/// Which capture protocols a server offers.
#[derive(Clone, Copy, Debug)]
pub struct Offers {
    /// ext-image-copy-capture-v1 with its sources and the window list.
    pub image_copy: bool,
    /// zwlr_screencopy_manager_v1 version 3.
    pub screencopy: bool,
}

impl TestServer {
    /// Starts a server offering both capture protocols on its own socket.
    pub fn start() -> Self {
        Self::start_offering(Offers {
            image_copy: true,
            screencopy: true,
        })
    }

    /// Starts a server offering `offers` on its own socket.
    pub fn start_offering(offers: Offers) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wayland-test");
        let shared = Arc::new(Mutex::new(Shared {
            pointer: (20, 10),
            ..Shared::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let listener = ListeningSocket::bind_absolute(path.clone()).unwrap();
        let thread = {
            let (shared, stop) = (shared.clone(), stop.clone());
            std::thread::spawn(move || run(listener, shared, stop, offers))
        };
        Self {
            socket: path.display().to_string(),
            shared,
            stop,
            thread: Some(thread),
            _dir: dir,
        }
    }

    /// Changes what the tests set or reads what the server saw.
    pub fn with<T>(&self, f: impl FnOnce(&mut Shared) -> T) -> T {
        f(&mut self.shared.lock().unwrap())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct NoData;
impl ClientData for NoData {
    fn initialized(&self, _: ClientId) {}
    fn disconnected(&self, _: ClientId, _: DisconnectReason) {}
}

/// One capture session.
struct Session {
    resource: ExtImageCopyCaptureSessionV1,
    kind: Kind,
    paint_cursors: bool,
    stopped: bool,
    /// The picture number last copied.
    last: Option<u32>,
}

/// The compositor's state.
struct Server {
    shared: Arc<Mutex<Shared>>,
    output_global: Option<GlobalId>,
    window_open: bool,
    handles: Vec<ExtForeignToplevelHandleV1>,
    sessions: Vec<Session>,
    /// Frames the client asked to capture.
    frames: Vec<ExtImageCopyCaptureFrameV1>,
    /// Pointer cursor sessions with the position last sent.
    pointers: Vec<(ExtImageCopyCaptureCursorSessionV1, (i32, i32))>,
    /// wlr-screencopy copies waiting, with whether they wait for damage.
    screencopies: Vec<(ZwlrScreencopyFrameV1, WlBuffer, bool)>,
    /// The picture number the last wlr-screencopy copy held.
    screencopy_last: Option<u32>,
    /// The window's size now.
    window_size: (u32, u32),
}

fn run(
    listener: ListeningSocket,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    offers: Offers,
) {
    let mut display: Display<Server> = Display::new().unwrap();
    let dh = display.handle();
    dh.create_global::<Server, WlShm, ()>(1, ());
    let output_global = dh.create_global::<Server, WlOutput, ()>(4, ());
    if offers.image_copy {
        dh.create_global::<Server, ExtOutputImageCaptureSourceManagerV1, ()>(1, ());
        dh.create_global::<Server, ExtForeignToplevelImageCaptureSourceManagerV1, ()>(1, ());
        dh.create_global::<Server, ExtForeignToplevelListV1, ()>(1, ());
        dh.create_global::<Server, ExtImageCopyCaptureManagerV1, ()>(1, ());
    }
    dh.create_global::<Server, WlSeat, ()>(5, ());
    if offers.screencopy {
        dh.create_global::<Server, ZwlrScreencopyManagerV1, ()>(3, ());
    }
    dh.create_global::<Server, ZwpLinuxDmabufV1, ()>(3, ());
    let mut server = Server {
        shared,
        output_global: Some(output_global),
        window_open: true,
        handles: Vec::new(),
        sessions: Vec::new(),
        frames: Vec::new(),
        pointers: Vec::new(),
        screencopies: Vec::new(),
        screencopy_last: None,
        window_size: WINDOW_SIZE,
    };
    while !stop.load(Ordering::SeqCst) {
        if let Ok(Some(stream)) = listener.accept() {
            display
                .handle()
                .insert_client(stream, Arc::new(NoData))
                .unwrap();
        }
        if server.shared.lock().unwrap().silent {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        display.dispatch_clients(&mut server).unwrap();
        server.tick(&display.handle());
        let _ = display.flush_clients();
        std::thread::sleep(Duration::from_millis(2));
    }
}

impl Server {
    /// Applies what the test asked for and answers the captures that can be answered.
    fn tick(&mut self, dh: &DisplayHandle) {
        let (close, remove, refuse, content, pointer, resize) = {
            let mut s = self.shared.lock().unwrap();
            let r = (
                s.close_window,
                s.remove_output,
                s.refuse,
                s.content,
                s.pointer,
                s.resize_window.take(),
            );
            s.close_window = false;
            s.remove_output = false;
            r
        };
        if let Some((w, h)) = resize {
            self.window_size = (w, h);
            for s in self.sessions.iter_mut().filter(|s| s.kind == Kind::Window) {
                s.resource.buffer_size(w, h);
                s.resource.shm_format(wl_shm::Format::Xrgb8888);
                s.resource.done();
                s.last = None;
            }
        }
        if close && self.window_open {
            self.window_open = false;
            for h in self.handles.drain(..) {
                h.closed();
            }
            self.stop_sessions(Kind::Window);
        }
        if remove {
            if let Some(g) = self.output_global.take() {
                dh.remove_global::<Server>(g);
                self.stop_sessions(Kind::Output);
            }
        }
        self.pointers.retain(|(p, _)| p.is_alive());
        for (session, sent) in &mut self.pointers {
            if *sent != pointer {
                session.position(pointer.0, pointer.1);
                *sent = pointer;
            }
        }
        self.frames.retain(|f| f.is_alive());
        let frames = std::mem::take(&mut self.frames);
        for frame in frames {
            if !self.answer(&frame, refuse, content) {
                self.frames.push(frame);
            }
        }
        let copies = std::mem::take(&mut self.screencopies);
        for (frame, buffer, damage) in copies {
            if frame.is_alive() && !self.answer_screencopy(&frame, &buffer, damage, content) {
                self.screencopies.push((frame, buffer, damage));
            }
        }
        self.shared.lock().unwrap().frames_waiting = self.frames.len() + self.screencopies.len();
    }

    fn stop_sessions(&mut self, kind: Kind) {
        for s in self.sessions.iter_mut().filter(|s| s.kind == kind) {
            s.stopped = true;
            s.resource.stopped();
        }
    }

    /// Answers one capture; false when it waits for damage.
    fn answer(
        &mut self,
        frame: &ExtImageCopyCaptureFrameV1,
        refuse: Option<FailureReason>,
        content: u32,
    ) -> bool {
        let data = frame.data::<FrameData>().unwrap();
        let Some(session) = self
            .sessions
            .iter_mut()
            .find(|s| s.resource == data.session)
        else {
            frame.failed(FailureReason::Stopped);
            return true;
        };
        if session.stopped {
            frame.failed(FailureReason::Stopped);
            return true;
        }
        if let Some(reason) = refuse.filter(|_| session.kind != Kind::Cursor) {
            frame.failed(reason);
            return true;
        }
        // The pointer's image never changes: only its first capture is answered.
        let content = if session.kind == Kind::Cursor {
            0
        } else {
            content
        };
        let buffer = data.buffer.lock().unwrap().clone();
        let Some(target) = buffer.as_ref().and_then(|b| b.data::<BufferData>()) else {
            frame.failed(FailureReason::BufferConstraints);
            return true;
        };
        let (width, height) = match session.kind {
            Kind::Window => self.window_size,
            kind => kind.size(),
        };
        if !target.fits(width, height) {
            frame.failed(FailureReason::BufferConstraints);
            return true;
        }
        if session.last == Some(content) {
            return false;
        }
        let (kind, cursor) = (session.kind, session.paint_cursors);
        self.paint(target, kind, content, cursor);
        frame.transform(wl_output::Transform::Normal);
        let (w, h) = (
            i32::try_from(width).unwrap(),
            i32::try_from(height).unwrap(),
        );
        frame.damage(0, 0, w, h);
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        let secs = u64::try_from(now.tv_sec).unwrap();
        frame.presentation_time(
            u32::try_from(secs >> 32).unwrap(),
            u32::try_from(secs & 0xffff_ffff).unwrap(),
            u32::try_from(now.tv_nsec).unwrap(),
        );
        frame.ready();
        if let Some(session) = self
            .sessions
            .iter_mut()
            .find(|s| s.resource == data.session)
        {
            session.last = Some(content);
        }
        true
    }

    /// Paints picture `content` of `kind` into `target` and counts the copy.
    fn paint(&self, target: &BufferData, kind: Kind, content: u32, cursor: bool) {
        let (width, height) = (target.width, target.height);
        let mut row = Vec::with_capacity(width as usize * 4);
        for y in 0..height {
            row.clear();
            for x in 0..width {
                row.extend_from_slice(&pixel(kind, content, cursor, x, y));
            }
            let at = u64::from(target.offset) + u64::from(y) * u64::from(target.stride);
            rustix::io::pwrite(target.pool.fd.as_fd(), &row, at).unwrap();
        }
        let mut shared = self.shared.lock().unwrap();
        shared.frames_copied += 1;
        if matches!(target.format, Format::Drm(..)) {
            shared.dmabuf_copies += 1;
        }
    }

    /// Answers one wlr-screencopy copy; false when it waits for damage.
    fn answer_screencopy(
        &mut self,
        frame: &ZwlrScreencopyFrameV1,
        buffer: &WlBuffer,
        damage: bool,
        content: u32,
    ) -> bool {
        let overlay = *frame.data::<bool>().unwrap();
        let (width, height) = OUTPUT_SIZE;
        let target = buffer.data::<BufferData>();
        let Some(target) = target.filter(|t| t.fits(width, height)) else {
            frame.failed();
            return true;
        };
        if self.output_global.is_none() {
            frame.failed();
            return true;
        }
        if damage && self.screencopy_last == Some(content) {
            return false;
        }
        self.paint(target, Kind::Output, content, overlay);
        frame.flags(zwlr_screencopy_frame_v1::Flags::empty());
        if damage {
            frame.damage(0, 0, width, height);
        }
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        let secs = u64::try_from(now.tv_sec).unwrap();
        frame.ready(
            u32::try_from(secs >> 32).unwrap(),
            u32::try_from(secs & 0xffff_ffff).unwrap(),
            u32::try_from(now.tv_nsec).unwrap(),
        );
        self.screencopy_last = Some(content);
        true
    }
}

/// A `wl_shm_pool`'s memory.
struct Pool {
    fd: OwnedFd,
}

/// A buffer's pixel format.
#[derive(Clone, Copy, Debug)]
enum Format {
    Shm(WEnum<wl_shm::Format>),
    /// A DRM fourcc with its modifier.
    Drm(u32, u64),
}

/// A `wl_buffer`: a `wl_shm` pool's part, or a DMA-BUF's only plane.
struct BufferData {
    pool: Arc<Pool>,
    offset: u32,
    width: u32,
    height: u32,
    stride: u32,
    format: Format,
}

impl BufferData {
    /// Whether the buffer takes a `width`x`height` XRGB/ARGB 8888 (LINEAR) picture.
    fn fits(&self, width: u32, height: u32) -> bool {
        let format = match self.format {
            Format::Shm(f) => matches!(
                f,
                WEnum::Value(wl_shm::Format::Xrgb8888 | wl_shm::Format::Argb8888)
            ),
            Format::Drm(f, m) => (f == DRM_XRGB8888 || f == DRM_ARGB8888) && m == LINEAR,
        };
        format && self.width == width && self.height == height && self.stride >= width * 4
    }
}

/// A frame: its session and the buffer attached.
struct FrameData {
    session: ExtImageCopyCaptureSessionV1,
    buffer: Mutex<Option<WlBuffer>>,
}

impl GlobalDispatch<WlShm, ()> for Server {
    fn bind(
        _: &mut Self,
        _: &DisplayHandle,
        _: &Client,
        resource: New<WlShm>,
        _: &(),
        init: &mut DataInit<'_, Self>,
    ) {
        let shm = init.init(resource, ());
        shm.format(wl_shm::Format::Xrgb8888);
        shm.format(wl_shm::Format::Argb8888);
    }
}

impl Dispatch<WlShm, ()> for Server {
    fn request(
        _: &mut Self,
        _: &Client,
        _: &WlShm,
        request: wl_shm::Request,
        _: &(),
        _: &DisplayHandle,
        init: &mut DataInit<'_, Self>,
    ) {
        if let wl_shm::Request::CreatePool { id, fd, .. } = request {
            init.init(id, Arc::new(Pool { fd }));
        }
    }
}

impl Dispatch<WlShmPool, Arc<Pool>> for Server {
    fn request(
        _: &mut Self,
        _: &Client,
        _: &WlShmPool,
        request: wl_shm_pool::Request,
        pool: &Arc<Pool>,
        _: &DisplayHandle,
        init: &mut DataInit<'_, Self>,
    ) {
        if let wl_shm_pool::Request::CreateBuffer {
            id,
            offset,
            width,
            height,
            stride,
            format,
        } = request
        {
            let u = |v: i32| u32::try_from(v).unwrap();
            init.init(
                id,
                BufferData {
                    pool: pool.clone(),
                    offset: u(offset),
                    width: u(width),
                    height: u(height),
                    stride: u(stride),
                    format: Format::Shm(format),
                },
            );
        }
    }
}

impl Dispatch<WlBuffer, BufferData> for Server {
    fn request(
        _: &mut Self,
        _: &Client,
        _: &WlBuffer,
        _: wl_buffer::Request,
        _: &BufferData,
        _: &DisplayHandle,
        _: &mut DataInit<'_, Self>,
    ) {
    }
}

impl GlobalDispatch<WlOutput, ()> for Server {
    fn bind(
        _: &mut Self,
        _: &DisplayHandle,
        _: &Client,
        resource: New<WlOutput>,
        _: &(),
        init: &mut DataInit<'_, Self>,
    ) {
        let output = init.init(resource, ());
        let (w, h) = OUTPUT_SIZE;
        output.mode(
            wl_output::Mode::Current,
            i32::try_from(w).unwrap(),
            i32::try_from(h).unwrap(),
            60_000,
        );
        if output.version() >= 4 {
            output.name(OUTPUT_NAME.into());
        }
        if output.version() >= 2 {
            output.done();
        }
    }
}

impl Dispatch<WlOutput, ()> for Server {
    fn request(
        _: &mut Self,
        _: &Client,
        _: &WlOutput,
        _: wl_output::Request,
        _: &(),
        _: &DisplayHandle,
        _: &mut DataInit<'_, Self>,
    ) {
    }
}

impl GlobalDispatch<ExtForeignToplevelListV1, ()> for Server {
    fn bind(
        state: &mut Self,
        dh: &DisplayHandle,
        client: &Client,
        resource: New<ExtForeignToplevelListV1>,
        _: &(),
        init: &mut DataInit<'_, Self>,
    ) {
        let list = init.init(resource, ());
        if !state.window_open {
            return;
        }
        let handle = client
            .create_resource::<ExtForeignToplevelHandleV1, (), Server>(dh, 1, ())
            .unwrap();
        list.toplevel(&handle);
        handle.identifier("window-1".into());
        handle.title(WINDOW_TITLE.into());
        handle.app_id(WINDOW_APP_ID.into());
        handle.done();
        state.handles.push(handle);
    }
}

impl Dispatch<ExtForeignToplevelListV1, ()> for Server {
    fn request(
        _: &mut Self,
        _: &Client,
        list: &ExtForeignToplevelListV1,
        request: ext_foreign_toplevel_list_v1::Request,
        _: &(),
        _: &DisplayHandle,
        _: &mut DataInit<'_, Self>,
    ) {
        if let ext_foreign_toplevel_list_v1::Request::Stop = request {
            list.finished();
        }
    }
}

impl Dispatch<ExtForeignToplevelHandleV1, ()> for Server {
    fn request(
        _: &mut Self,
        _: &Client,
        _: &ExtForeignToplevelHandleV1,
        _: ext_foreign_toplevel_handle_v1::Request,
        _: &(),
        _: &DisplayHandle,
        _: &mut DataInit<'_, Self>,
    ) {
    }
}

impl GlobalDispatch<ExtOutputImageCaptureSourceManagerV1, ()> for Server {
    fn bind(
        _: &mut Self,
        _: &DisplayHandle,
        _: &Client,
        resource: New<ExtOutputImageCaptureSourceManagerV1>,
        _: &(),
        init: &mut DataInit<'_, Self>,
    ) {
        init.init(resource, ());
    }
}

impl Dispatch<ExtOutputImageCaptureSourceManagerV1, ()> for Server {
    fn request(
        _: &mut Self,
        _: &Client,
        _: &ExtOutputImageCaptureSourceManagerV1,
        request: ext_output_image_capture_source_manager_v1::Request,
        _: &(),
        _: &DisplayHandle,
        init: &mut DataInit<'_, Self>,
    ) {
        if let ext_output_image_capture_source_manager_v1::Request::CreateSource {
            source, ..
        } = request
        {
            init.init(source, Kind::Output);
        }
    }
}

impl GlobalDispatch<ExtForeignToplevelImageCaptureSourceManagerV1, ()> for Server {
    fn bind(
        _: &mut Self,
        _: &DisplayHandle,
        _: &Client,
        resource: New<ExtForeignToplevelImageCaptureSourceManagerV1>,
        _: &(),
        init: &mut DataInit<'_, Self>,
    ) {
        init.init(resource, ());
    }
}

impl Dispatch<ExtForeignToplevelImageCaptureSourceManagerV1, ()> for Server {
    fn request(
        _: &mut Self,
        _: &Client,
        _: &ExtForeignToplevelImageCaptureSourceManagerV1,
        request: ext_foreign_toplevel_image_capture_source_manager_v1::Request,
        _: &(),
        _: &DisplayHandle,
        init: &mut DataInit<'_, Self>,
    ) {
        if let ext_foreign_toplevel_image_capture_source_manager_v1::Request::CreateSource {
            source,
            ..
        } = request
        {
            init.init(source, Kind::Window);
        }
    }
}

impl Dispatch<ExtImageCaptureSourceV1, Kind> for Server {
    fn request(
        _: &mut Self,
        _: &Client,
        _: &ExtImageCaptureSourceV1,
        _: ext_image_capture_source_v1::Request,
        _: &Kind,
        _: &DisplayHandle,
        _: &mut DataInit<'_, Self>,
    ) {
    }
}

impl GlobalDispatch<ExtImageCopyCaptureManagerV1, ()> for Server {
    fn bind(
        _: &mut Self,
        _: &DisplayHandle,
        _: &Client,
        resource: New<ExtImageCopyCaptureManagerV1>,
        _: &(),
        init: &mut DataInit<'_, Self>,
    ) {
        init.init(resource, ());
    }
}

impl Dispatch<ExtImageCopyCaptureManagerV1, ()> for Server {
    fn request(
        state: &mut Self,
        _: &Client,
        _: &ExtImageCopyCaptureManagerV1,
        request: ext_image_copy_capture_manager_v1::Request,
        _: &(),
        _: &DisplayHandle,
        init: &mut DataInit<'_, Self>,
    ) {
        match request {
            ext_image_copy_capture_manager_v1::Request::CreateSession {
                session,
                source,
                options,
            } => {
                let kind = *source.data::<Kind>().unwrap();
                let paint_cursors = matches!(options, WEnum::Value(o) if o.contains(ext_image_copy_capture_manager_v1::Options::PaintCursors));
                state.shared.lock().unwrap().paint_cursors = Some(paint_cursors);
                let resource = init.init(session, ());
                let gone = match kind {
                    Kind::Output | Kind::Cursor => state.output_global.is_none(),
                    Kind::Window => !state.window_open,
                };
                if gone {
                    resource.stopped();
                } else {
                    let (w, h) = kind.size();
                    resource.buffer_size(w, h);
                    resource.shm_format(wl_shm::Format::Xrgb8888);
                    resource.shm_format(wl_shm::Format::Argb8888);
                    if state.shared.lock().unwrap().offer_dmabuf {
                        resource.dmabuf_device(0u64.to_ne_bytes().to_vec());
                        resource.dmabuf_format(DRM_XRGB8888, LINEAR.to_ne_bytes().to_vec());
                    }
                    resource.done();
                }
                state.sessions.push(Session {
                    resource,
                    kind,
                    paint_cursors,
                    stopped: gone,
                    last: None,
                });
            }
            ext_image_copy_capture_manager_v1::Request::CreatePointerCursorSession {
                session,
                ..
            } => {
                let resource = init.init(session, ());
                let at = state.shared.lock().unwrap().pointer;
                state.shared.lock().unwrap().cursor_sessions += 1;
                resource.enter();
                resource.position(at.0, at.1);
                resource.hotspot(POINTER_HOTSPOT.0, POINTER_HOTSPOT.1);
                state.pointers.push((resource, at));
            }
            _ => {}
        }
    }
}

impl Dispatch<ExtImageCopyCaptureCursorSessionV1, ()> for Server {
    fn request(
        state: &mut Self,
        _: &Client,
        _: &ExtImageCopyCaptureCursorSessionV1,
        request: ext_image_copy_capture_cursor_session_v1::Request,
        _: &(),
        _: &DisplayHandle,
        init: &mut DataInit<'_, Self>,
    ) {
        if let ext_image_copy_capture_cursor_session_v1::Request::GetCaptureSession { session } =
            request
        {
            let resource = init.init(session, ());
            let (w, h) = POINTER_SIZE;
            resource.buffer_size(w, h);
            resource.shm_format(wl_shm::Format::Argb8888);
            resource.done();
            state.sessions.push(Session {
                resource,
                kind: Kind::Cursor,
                paint_cursors: false,
                stopped: false,
                last: None,
            });
        }
    }
}

impl GlobalDispatch<WlSeat, ()> for Server {
    fn bind(
        _: &mut Self,
        _: &DisplayHandle,
        _: &Client,
        resource: New<WlSeat>,
        _: &(),
        init: &mut DataInit<'_, Self>,
    ) {
        let seat = init.init(resource, ());
        seat.capabilities(wl_seat::Capability::Pointer);
    }
}

impl Dispatch<WlSeat, ()> for Server {
    fn request(
        _: &mut Self,
        _: &Client,
        _: &WlSeat,
        request: wl_seat::Request,
        _: &(),
        _: &DisplayHandle,
        init: &mut DataInit<'_, Self>,
    ) {
        if let wl_seat::Request::GetPointer { id } = request {
            init.init(id, ());
        }
    }
}

impl Dispatch<WlPointer, ()> for Server {
    fn request(
        _: &mut Self,
        _: &Client,
        _: &WlPointer,
        _: wl_pointer::Request,
        _: &(),
        _: &DisplayHandle,
        _: &mut DataInit<'_, Self>,
    ) {
    }
}

impl Dispatch<ExtImageCopyCaptureSessionV1, ()> for Server {
    fn request(
        _: &mut Self,
        _: &Client,
        session: &ExtImageCopyCaptureSessionV1,
        request: ext_image_copy_capture_session_v1::Request,
        _: &(),
        _: &DisplayHandle,
        init: &mut DataInit<'_, Self>,
    ) {
        if let ext_image_copy_capture_session_v1::Request::CreateFrame { frame } = request {
            init.init(
                frame,
                FrameData {
                    session: session.clone(),
                    buffer: Mutex::new(None),
                },
            );
        }
    }

    fn destroyed(state: &mut Self, _: ClientId, session: &ExtImageCopyCaptureSessionV1, _: &()) {
        state.sessions.retain(|s| s.resource != *session);
    }
}

impl Dispatch<ExtImageCopyCaptureFrameV1, FrameData> for Server {
    fn request(
        state: &mut Self,
        _: &Client,
        frame: &ExtImageCopyCaptureFrameV1,
        request: ext_image_copy_capture_frame_v1::Request,
        data: &FrameData,
        _: &DisplayHandle,
        _: &mut DataInit<'_, Self>,
    ) {
        match request {
            ext_image_copy_capture_frame_v1::Request::AttachBuffer { buffer } => {
                *data.buffer.lock().unwrap() = Some(buffer);
            }
            ext_image_copy_capture_frame_v1::Request::Capture => state.frames.push(frame.clone()),
            _ => {}
        }
    }
}

impl GlobalDispatch<ZwlrScreencopyManagerV1, ()> for Server {
    fn bind(
        _: &mut Self,
        _: &DisplayHandle,
        _: &Client,
        resource: New<ZwlrScreencopyManagerV1>,
        _: &(),
        init: &mut DataInit<'_, Self>,
    ) {
        init.init(resource, ());
    }
}

impl Dispatch<ZwlrScreencopyManagerV1, ()> for Server {
    fn request(
        state: &mut Self,
        _: &Client,
        _: &ZwlrScreencopyManagerV1,
        request: zwlr_screencopy_manager_v1::Request,
        _: &(),
        _: &DisplayHandle,
        init: &mut DataInit<'_, Self>,
    ) {
        if let zwlr_screencopy_manager_v1::Request::CaptureOutputRegion { frame, .. } = request {
            // Regions are not painted here: refused.
            init.init(frame, false).failed();
            return;
        }
        if let zwlr_screencopy_manager_v1::Request::CaptureOutput {
            frame,
            overlay_cursor,
            ..
        } = request
        {
            let overlay = overlay_cursor != 0;
            let offer_dmabuf = {
                let mut shared = state.shared.lock().unwrap();
                shared.overlay_cursor = Some(overlay);
                shared.offer_dmabuf
            };
            let frame = init.init(frame, overlay);
            if state.output_global.is_none() {
                frame.failed();
                return;
            }
            let (w, h) = OUTPUT_SIZE;
            frame.buffer(wl_shm::Format::Xrgb8888, w, h, w * 4);
            if frame.version() >= 3 {
                if offer_dmabuf {
                    frame.linux_dmabuf(DRM_XRGB8888, w, h);
                }
                frame.buffer_done();
            }
        }
    }
}

impl Dispatch<ZwlrScreencopyFrameV1, bool> for Server {
    fn request(
        state: &mut Self,
        _: &Client,
        frame: &ZwlrScreencopyFrameV1,
        request: zwlr_screencopy_frame_v1::Request,
        _: &bool,
        _: &DisplayHandle,
        _: &mut DataInit<'_, Self>,
    ) {
        match request {
            zwlr_screencopy_frame_v1::Request::Copy { buffer } => {
                state.screencopies.push((frame.clone(), buffer, false));
            }
            zwlr_screencopy_frame_v1::Request::CopyWithDamage { buffer } => {
                state.screencopies.push((frame.clone(), buffer, true));
            }
            _ => {}
        }
    }
}

impl GlobalDispatch<ZwpLinuxDmabufV1, ()> for Server {
    fn bind(
        _: &mut Self,
        _: &DisplayHandle,
        _: &Client,
        resource: New<ZwpLinuxDmabufV1>,
        _: &(),
        init: &mut DataInit<'_, Self>,
    ) {
        let dmabuf = init.init(resource, ());
        for format in [DRM_XRGB8888, DRM_ARGB8888] {
            dmabuf.format(format);
            if dmabuf.version() >= 3 {
                dmabuf.modifier(format, 0, 0);
            }
        }
    }
}

impl Dispatch<ZwpLinuxDmabufV1, ()> for Server {
    fn request(
        _: &mut Self,
        _: &Client,
        _: &ZwpLinuxDmabufV1,
        request: zwp_linux_dmabuf_v1::Request,
        _: &(),
        _: &DisplayHandle,
        init: &mut DataInit<'_, Self>,
    ) {
        if let zwp_linux_dmabuf_v1::Request::CreateParams { params_id } = request {
            init.init(params_id, Mutex::new(None::<Plane>));
        }
    }
}

/// A DMA-BUF's plane as `add` gave it.
struct Plane {
    fd: OwnedFd,
    offset: u32,
    stride: u32,
    modifier: u64,
}

impl Dispatch<ZwpLinuxBufferParamsV1, Mutex<Option<Plane>>> for Server {
    fn request(
        state: &mut Self,
        client: &Client,
        params: &ZwpLinuxBufferParamsV1,
        request: zwp_linux_buffer_params_v1::Request,
        plane: &Mutex<Option<Plane>>,
        dh: &DisplayHandle,
        init: &mut DataInit<'_, Self>,
    ) {
        let buffer = |plane: Plane, width: i32, height: i32, format: u32| BufferData {
            pool: Arc::new(Pool { fd: plane.fd }),
            offset: plane.offset,
            width: u32::try_from(width).unwrap(),
            height: u32::try_from(height).unwrap(),
            stride: plane.stride,
            format: Format::Drm(format, plane.modifier),
        };
        match request {
            zwp_linux_buffer_params_v1::Request::Add {
                fd,
                offset,
                stride,
                modifier_hi,
                modifier_lo,
                ..
            } => {
                *plane.lock().unwrap() = Some(Plane {
                    fd,
                    offset,
                    stride,
                    modifier: u64::from(modifier_hi) << 32 | u64::from(modifier_lo),
                });
            }
            zwp_linux_buffer_params_v1::Request::Create {
                width,
                height,
                format,
                ..
            } => {
                let refuse = state.shared.lock().unwrap().refuse_dmabuf;
                match plane.lock().unwrap().take() {
                    Some(p) if !refuse => {
                        let data = buffer(p, width, height, format);
                        let wl = client
                            .create_resource::<WlBuffer, BufferData, Server>(dh, 1, data)
                            .unwrap();
                        params.created(&wl);
                    }
                    _ => params.failed(),
                }
            }
            zwp_linux_buffer_params_v1::Request::CreateImmed {
                buffer_id,
                width,
                height,
                format,
                ..
            } => {
                let p = plane.lock().unwrap().take().unwrap();
                init.init(buffer_id, buffer(p, width, height, format));
            }
            _ => {}
        }
    }
}
