//! Capture through `ext-image-copy-capture-v1` with `ext-image-capture-source-v1`: an output,
//! or a window found by its `app_id` in `ext-foreign-toplevel-list-v1`, into shared memory.
//!
//! A session announces the buffer it takes (size, `wl_shm` formats; DMA-BUF formats are
//! logged, not used yet); each frame attaches one of two alternating buffers and asks for the
//! copy, and the next request goes out as soon as a frame is ready, as on the wlr-screencopy
//! path. After the first frame the compositor answers only when the source changed (damage),
//! so an idle window costs nothing. The cursor is painted in by the compositor when
//! [`WaylandOptions::cursor`] asks (`paint_cursors`). Timestamps are the compositor's
//! presentation times (`CLOCK_MONOTONIC`).
//!
//! A source that goes away (the window closed, the output unplugged, the session stopped) is
//! [`CaptureError::WindowGone`] or [`CaptureError::OutputGone`]; a buffer the compositor
//! refuses is [`CaptureError::BufferRefused`]; every wait is bounded by
//! [`WaylandOptions::round_trip_timeout`] as on the wlr-screencopy path.

use std::sync::Arc;
use std::time::Instant;

use wayland_client::protocol::wl_pointer::WlPointer;
use wayland_client::protocol::wl_seat::WlSeat;
use wayland_client::protocol::wl_shm::WlShm;
use wayland_protocols::wp::linux_dmabuf::zv1::client::zwp_linux_dmabuf_v1::ZwpLinuxDmabufV1;
use wayland_client::{Connection, Dispatch, EventQueue, Proxy, QueueHandle, WEnum};
use wayland_protocols::ext::foreign_toplevel_list::v1::client::ext_foreign_toplevel_handle_v1::{
    self, ExtForeignToplevelHandleV1,
};
use wayland_protocols::ext::foreign_toplevel_list::v1::client::ext_foreign_toplevel_list_v1::{
    self, ExtForeignToplevelListV1,
};
use wayland_protocols::ext::image_capture_source::v1::client::ext_foreign_toplevel_image_capture_source_manager_v1::ExtForeignToplevelImageCaptureSourceManagerV1;
use wayland_protocols::ext::image_capture_source::v1::client::ext_image_capture_source_v1::ExtImageCaptureSourceV1;
use wayland_protocols::ext::image_capture_source::v1::client::ext_output_image_capture_source_manager_v1::ExtOutputImageCaptureSourceManagerV1;
use wayland_protocols::ext::image_copy_capture::v1::client::ext_image_copy_capture_cursor_session_v1::{
    self, ExtImageCopyCaptureCursorSessionV1,
};
use wayland_protocols::ext::image_copy_capture::v1::client::ext_image_copy_capture_frame_v1::{
    self, ExtImageCopyCaptureFrameV1, FailureReason,
};
use wayland_protocols::ext::image_copy_capture::v1::client::ext_image_copy_capture_manager_v1::{
    ExtImageCopyCaptureManagerV1, Options,
};
use wayland_protocols::ext::image_copy_capture::v1::client::ext_image_copy_capture_session_v1::{
    self, ExtImageCopyCaptureSessionV1,
};

use super::{
    dispatch_until, gone, make_target, pixel_format, read_out, refresh_rate, BufferSpec, Link,
    Liveness, Peer, Region, State, Target, WaylandOptions,
};
use crate::format::PixelFormat;
use crate::frame::{BufferPool, CpuImage};
use crate::source::capture::CaptureError;
use crate::source::SourceInfo;
use crate::time::{Rational, Timestamp};

/// The global that tells a compositor offers this protocol.
pub(super) const MANAGER: &str = "ext_image_copy_capture_manager_v1";

/// The buffer a session takes, as of one `done`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Constraints {
    size: Option<(u32, u32)>,
    shm_formats: Vec<u32>,
    /// DMA-BUF formats (DRM fourcc) with their modifiers.
    dmabuf_formats: Vec<(u32, Vec<u64>)>,
}

/// What the compositor said about the frame in flight.
#[derive(Debug, Default)]
struct FrameEvents {
    presented: Option<Timestamp>,
    arrived: Option<Timestamp>,
    ready: bool,
    failed: Option<WEnum<FailureReason>>,
    y_invert: bool,
    damage: Vec<Region>,
}

/// One window the compositor lists.
#[derive(Debug)]
struct Toplevel {
    handle: ExtForeignToplevelHandleV1,
    app_id: Option<String>,
    title: Option<String>,
    closed: bool,
}

/// What one capture session and its frame in flight have said.
#[derive(Debug, Default)]
struct SessionEvents {
    /// Constraints announced since the last `done`.
    pending: Constraints,
    /// The constraints as of the last `done`.
    constraints: Option<Constraints>,
    /// How many `done`s came.
    generation: u64,
    stopped: bool,
    frame: FrameEvents,
}

/// Where the pointer is, from the cursor session.
#[derive(Clone, Copy, Debug, Default)]
struct PointerEvents {
    /// The cursor is over the captured area.
    inside: bool,
    /// The hotspot's position in the main buffer.
    position: (i32, i32),
    /// The hotspot in the cursor image, as announced (effective at the next cursor frame).
    hotspot_pending: (i32, i32),
}

/// Which session an object belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// The source's pixels.
    Main,
    /// The pointer's image (a cursor session).
    Cursor,
}

/// What the ext-image-copy-capture objects have said (part of the shared event state).
#[derive(Debug, Default)]
pub(super) struct CopyEvents {
    main: SessionEvents,
    cursor: SessionEvents,
    pointer: PointerEvents,
    toplevels: Vec<Toplevel>,
}

impl CopyEvents {
    fn session(&mut self, role: Role) -> &mut SessionEvents {
        match role {
            Role::Main => &mut self.main,
            Role::Cursor => &mut self.cursor,
        }
    }
}

/// What a capture takes.
#[derive(Debug)]
enum Captured {
    Output { global: u32 },
    Window { handle: ExtForeignToplevelHandleV1 },
}

/// A capture through ext-image-copy-capture.
pub(super) struct ImageCopy {
    queue: EventQueue<State>,
    state: State,
    peer: Peer,
    live: Liveness,
    shm: WlShm,
    session: ExtImageCopyCaptureSessionV1,
    source: ExtImageCaptureSourceV1,
    manager: ExtImageCopyCaptureManagerV1,
    /// Kept bound so that the window's `closed` event arrives.
    list: Option<ExtForeignToplevelListV1>,
    captured: Captured,
    /// For messages: `output NAME` or `window APP_ID`.
    name: String,
    /// The output name or the window's app_id (for the errors saying it went away).
    label: String,
    region: Option<Region>,
    targets: [Option<Target>; 2],
    filling: usize,
    /// The constraints generation the buffer in flight was made for.
    filled_for: u64,
    delivered: Option<(usize, Timestamp, Timestamp)>,
    in_flight: Option<ExtImageCopyCaptureFrameV1>,
    info: SourceInfo,
    pool: Arc<BufferPool>,
    /// The pointer through a cursor session, drawn here.
    cursor: Option<CursorCapture>,
    /// DMA-BUF buffers, when asked for and offered.
    dmabuf: Option<ZwpLinuxDmabufV1>,
    /// The compositor refused a DMA-BUF buffer: shared memory from then on.
    dmabuf_refused: bool,
    /// DMA-BUF buffers out of rotation while handed-on frames hold them.
    held: Vec<Target>,
    /// Keys for the DMA-BUF buffers made.
    keys: super::dmabuf::Keys,
}

/// A cursor session: the pointer's image, captured into its own small buffer.
struct CursorCapture {
    seat: WlSeat,
    pointer: WlPointer,
    pointer_session: ExtImageCopyCaptureCursorSessionV1,
    session: ExtImageCopyCaptureSessionV1,
    target: Option<Target>,
    in_flight: Option<ExtImageCopyCaptureFrameV1>,
    /// The constraints generation the buffer in flight was made for.
    filled_for: u64,
    image: Option<CursorImage>,
    /// The session stopped or refused its buffer: no cursor is drawn any more.
    off: bool,
    /// Counts changes of the image or position: a change makes a frame.
    changes: u64,
    /// `changes` as of the last frame returned.
    shown: u64,
    /// The position drawn last, to notice moves.
    position: Option<(i32, i32)>,
}

impl Drop for CursorCapture {
    fn drop(&mut self) {
        if let Some(f) = self.in_flight.take() {
            f.destroy();
        }
        self.target = None;
        self.session.destroy();
        self.pointer_session.destroy();
        if self.pointer.version() >= 3 {
            self.pointer.release();
        }
        if self.seat.version() >= 5 {
            self.seat.release();
        }
    }
}

/// The pointer's image: premultiplied 8-bit pixels in `format`'s byte order, rows packed.
#[derive(Debug)]
struct CursorImage {
    width: u32,
    format: PixelFormat,
    pixels: Vec<u8>,
    hotspot: (i32, i32),
}

impl CursorImage {
    /// The pointer as the GPU draws it: straight-alpha RGBA, its top-left corner where the
    /// hotspot at `position` puts it.
    fn overlay(&self, position: (i32, i32)) -> crate::frame::PointerOverlay {
        let rgba: Vec<u8> = self
            .pixels
            .chunks_exact(4)
            .flat_map(|px| {
                let (r, b) = match self.format {
                    PixelFormat::Rgba8 => (px[0], px[2]),
                    _ => (px[2], px[0]),
                };
                let a = px[3];
                let straight = |c: u8| {
                    if a == 0 {
                        0
                    } else {
                        u8::try_from((u32::from(c) * 255 + u32::from(a) / 2) / u32::from(a))
                            .unwrap_or(u8::MAX)
                    }
                };
                [straight(r), straight(px[1]), straight(b), a]
            })
            .collect();
        let width = self.width;
        let height = u32::try_from(self.pixels.len() / 4)
            .unwrap_or(0)
            .checked_div(width)
            .unwrap_or(0);
        crate::frame::PointerOverlay {
            left: position.0.saturating_sub(self.hotspot.0),
            top: position.1.saturating_sub(self.hotspot.1),
            width,
            height,
            rgba: rgba.into(),
        }
    }

    /// Draws the cursor (premultiplied alpha, "over") into `image` with its hotspot at
    /// `position`, in the coordinates of the buffer `region` was cut from.
    fn draw(&self, image: &mut CpuImage, position: (i32, i32), region: Option<Region>) {
        let (rx, ry) = region.map_or((0, 0), |r| (i64::from(r.x), i64::from(r.y)));
        let swap = match (self.format, image.format()) {
            (a, b) if a == b => false,
            (PixelFormat::Bgra8, PixelFormat::Rgba8) | (PixelFormat::Rgba8, PixelFormat::Bgra8) => {
                true
            }
            (cursor, frame) => {
                tracing::debug!(%cursor, %frame, "the cursor is not drawn into frames of this format");
                return;
            }
        };
        let left = i64::from(position.0) - i64::from(self.hotspot.0) - rx;
        let top = i64::from(position.1) - i64::from(self.hotspot.1) - ry;
        let (width, height) = (i64::from(image.width()), i64::from(image.height()));
        let row_len = self.width as usize * 4;
        for (cy, src_row) in self.pixels.chunks_exact(row_len).enumerate() {
            let y = top + i64::try_from(cy).unwrap_or(i64::MAX);
            if y < 0 || y >= height {
                continue;
            }
            let Ok(y) = u32::try_from(y) else { continue };
            let row = image.row_mut(0, y);
            for (cx, px) in src_row.chunks_exact(4).enumerate() {
                let x = left + i64::try_from(cx).unwrap_or(i64::MAX);
                if x < 0 || x >= width {
                    continue;
                }
                let Ok(x) = usize::try_from(x) else { continue };
                let mut src = [px[0], px[1], px[2], px[3]];
                if swap {
                    src.swap(0, 2);
                }
                let keep = 255 - u32::from(src[3]);
                for (d, s) in row[x * 4..x * 4 + 4].iter_mut().zip(src) {
                    let blended = u32::from(s) + (u32::from(*d) * keep + 127) / 255;
                    *d = u8::try_from(blended.min(255)).unwrap_or(u8::MAX);
                }
            }
        }
    }
}

impl ImageCopy {
    /// Finds the source (output or window), opens a session, reads its buffer constraints
    /// and asks for the first frame.
    pub(super) fn open(mut link: Link, options: WaylandOptions) -> Result<Self, CaptureError> {
        let qh = link.queue.handle();
        let missing = |protocol: &'static str| {
            CaptureError::ProtocolMissing {
            protocol,
            fix: "this capture path needs a compositor with ext-image-copy-capture-v1; on a wlroots compositor without it use wlr-screencopy (the default when it is missing), elsewhere the portal",
        }
        };
        let (name, _) = link.find(MANAGER).ok_or(missing(MANAGER))?;
        let manager: ExtImageCopyCaptureManagerV1 = link.registry.bind(name, 1, &qh, ());
        let shm = link.bind_shm()?;
        let dmabuf = link.bind_dmabuf(options.dmabuf);
        let mut rate = Rational::new(60, 1);
        let (source, captured, label, list) = match &options.window {
            None => {
                let interface = ExtOutputImageCaptureSourceManagerV1::interface().name;
                let (name, _) = link
                    .find(interface)
                    .ok_or(missing("ext_output_image_capture_source_manager_v1"))?;
                let sources: ExtOutputImageCaptureSourceManagerV1 =
                    link.registry.bind(name, 1, &qh, ());
                let chosen = link.choose_output(options.output.as_deref(), options.region)?;
                rate = refresh_rate(chosen.mode.2);
                let source = sources.create_source(&chosen.proxy, &qh, ());
                sources.destroy();
                let captured = Captured::Output {
                    global: chosen.global,
                };
                (source, captured, chosen.name, None)
            }
            Some(app_id) => {
                let interface = ExtForeignToplevelListV1::interface().name;
                let (name, _) = link
                    .find(interface)
                    .ok_or(missing("ext_foreign_toplevel_list_v1"))?;
                let list: ExtForeignToplevelListV1 = link.registry.bind(name, 1, &qh, ());
                let interface = ExtForeignToplevelImageCaptureSourceManagerV1::interface().name;
                let (name, _) = link.find(interface).ok_or(missing(
                    "ext_foreign_toplevel_image_capture_source_manager_v1",
                ))?;
                let sources: ExtForeignToplevelImageCaptureSourceManagerV1 =
                    link.registry.bind(name, 1, &qh, ());
                link.peer.roundtrip(
                    &mut link.queue,
                    &mut link.state,
                    "the list of windows (ext_foreign_toplevel_list_v1, then wl_display.sync)",
                )?;
                let open: Vec<&Toplevel> = link
                    .state
                    .copy
                    .toplevels
                    .iter()
                    .filter(|t| !t.closed)
                    .collect();
                let Some(found) = open.iter().find(|t| t.app_id.as_deref() == Some(app_id)) else {
                    let listed: Vec<String> = open
                        .iter()
                        .map(|t| {
                            format!(
                                "{:?} ({:?})",
                                t.app_id.as_deref().unwrap_or(""),
                                t.title.as_deref().unwrap_or("")
                            )
                        })
                        .collect();
                    return Err(CaptureError::WindowNotFound {
                        app_id: app_id.clone(),
                        available: if listed.is_empty() {
                            "no windows".into()
                        } else {
                            listed.join(", ")
                        },
                    });
                };
                let handle = found.handle.clone();
                let source = sources.create_source(&handle, &qh, ());
                sources.destroy();
                (
                    source,
                    Captured::Window { handle },
                    app_id.clone(),
                    Some(list),
                )
            }
        };
        let separate_cursor = options.cursor && options.cursor_session;
        let flags = if options.cursor && !separate_cursor {
            Options::PaintCursors
        } else {
            Options::empty()
        };
        let session = manager.create_session(&source, flags, &qh, Role::Main);
        let cursor = if separate_cursor {
            let (name, version) =
                link.find(WlSeat::interface().name)
                    .ok_or(CaptureError::ProtocolMissing {
                        protocol: "wl_seat (a cursor session follows a seat's pointer)",
                        fix: "turn the cursor session off to have the compositor paint the cursor",
                    })?;
            let seat: WlSeat = link.registry.bind(name, version.min(5), &qh, ());
            let pointer = seat.get_pointer(&qh, ());
            let pointer_session = manager.create_pointer_cursor_session(&source, &pointer, &qh, ());
            let session = pointer_session.get_capture_session(&qh, Role::Cursor);
            Some(CursorCapture {
                seat,
                pointer,
                pointer_session,
                session,
                target: None,
                in_flight: None,
                filled_for: 0,
                image: None,
                off: false,
                changes: 0,
                shown: 0,
                position: None,
            })
        } else {
            None
        };
        let name = match captured {
            Captured::Output { .. } => format!("output {label}"),
            Captured::Window { .. } => format!("window {label}"),
        };
        let mut capture = Self {
            queue: link.queue,
            state: link.state,
            peer: link.peer,
            live: Liveness::new(),
            shm,
            session,
            source,
            manager,
            list,
            captured,
            name,
            label,
            region: options.region,
            targets: [None, None],
            filling: 0,
            filled_for: 0,
            delivered: None,
            in_flight: None,
            info: SourceInfo {
                format: PixelFormat::Bgra8,
                width: 0,
                height: 0,
                frame_rate: rate,
            },
            pool: BufferPool::new(),
            cursor,
            dmabuf,
            dmabuf_refused: false,
            held: Vec::new(),
            keys: super::dmabuf::Keys::default(),
        };
        let what = capture.name.clone();
        capture.peer.wait_for(
            &mut capture.queue,
            &mut capture.state,
            || format!("the buffer constraints of the capture session for {what} (ext_image_copy_capture_session_v1.done)"),
            |s| s.copy.main.generation > 0 || s.copy.main.stopped,
        )?;
        capture.check_source()?;
        let (spec, _) = capture.spec()?;
        if let Some(r) = capture.region {
            if u64::from(r.x) + u64::from(r.width) > u64::from(spec.width)
                || u64::from(r.y) + u64::from(r.height) > u64::from(spec.height)
            {
                return Err(CaptureError::BadRegion {
                    region: r,
                    output: capture.name.clone(),
                    width: spec.width,
                    height: spec.height,
                });
            }
        }
        let (width, height) = capture
            .region
            .map_or((spec.width, spec.height), |r| (r.width, r.height));
        capture.info.width = width;
        capture.info.height = height;
        capture.info.format = pixel_format(spec.format)?;
        capture.request()?;
        tracing::info!(
            source = %capture.name,
            width,
            height,
            format = %capture.info.format,
            "Wayland capture open (ext-image-copy-capture)"
        );
        Ok(capture)
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// The output's name, or `window APP_ID`.
    pub(super) fn output_name(&self) -> &str {
        match self.captured {
            Captured::Output { .. } => &self.label,
            Captured::Window { .. } => &self.name,
        }
    }

    pub(super) fn info(&self) -> SourceInfo {
        self.info
    }

    pub(super) fn last_arrival(&self) -> Option<Timestamp> {
        self.delivered.map(|(_, _, arrived)| arrived)
    }

    /// The error for a source that went away.
    fn source_gone(&self) -> CaptureError {
        match self.captured {
            Captured::Output { .. } => CaptureError::OutputGone {
                name: self.label.clone(),
            },
            Captured::Window { .. } => CaptureError::WindowGone {
                app_id: self.label.clone(),
            },
        }
    }

    /// Fails when the session stopped, the window closed or the output's global was removed.
    fn check_source(&self) -> Result<(), CaptureError> {
        let gone = self.state.copy.main.stopped
            || match &self.captured {
                Captured::Output { global } => self.state.removed.contains(global),
                Captured::Window { handle } => self
                    .state
                    .copy
                    .toplevels
                    .iter()
                    .any(|t| t.handle == *handle && t.closed),
            };
        if gone {
            Err(self.source_gone())
        } else {
            Ok(())
        }
    }

    /// The buffer the session's latest constraints ask for, and whether it is a DMA-BUF: their
    /// size, rows packed, the first DMA-BUF format with the LINEAR modifier GhostStream takes
    /// (when DMA-BUF buffers are on and none was refused), else the first `wl_shm` format it
    /// takes.
    fn spec(&self) -> Result<(BufferSpec, bool), CaptureError> {
        let constraints = self.state.copy.main.constraints.clone().unwrap_or_default();
        let (width, height) = constraints.size.ok_or_else(|| CaptureError::BadBuffer {
            source_name: format!("the compositor ({})", self.name),
            reason: "its buffer constraints give no buffer_size".into(),
        })?;
        let dmabuf_format = constraints
            .dmabuf_formats
            .iter()
            .filter(|_| self.dmabuf.is_some() && !self.dmabuf_refused)
            .map(|(fourcc, modifiers)| (super::dmabuf::shm_format(*fourcc), modifiers))
            .find(|(code, modifiers)| {
                modifiers.contains(&super::dmabuf::LINEAR) && pixel_format(*code).is_ok()
            })
            .map(|(code, _)| code);
        let shm_format = constraints
            .shm_formats
            .iter()
            .copied()
            .find(|&f| pixel_format(f).is_ok());
        let format = dmabuf_format
            .or(shm_format)
            .ok_or(CaptureError::UnsupportedFormat {
                format: constraints.shm_formats.first().copied().unwrap_or(0),
            })?;
        let spec = BufferSpec {
            format,
            width,
            height,
            stride: width.saturating_mul(4),
        };
        spec.check().map_err(|reason| CaptureError::BadBuffer {
            source_name: format!("the compositor ({})", self.name),
            reason,
        })?;
        Ok((spec, dmabuf_format.is_some()))
    }

    /// Attaches a buffer for the session's constraints (the one not holding the last frame
    /// delivered) to a new frame and asks for the copy.
    fn request(&mut self) -> Result<(), CaptureError> {
        let qh = self.queue.handle();
        self.state.copy.main.frame = FrameEvents::default();
        let (spec, in_dmabuf) = self.spec()?;
        let index = match self.delivered {
            Some((last, _, _)) => 1 - last,
            None => 0,
        };
        super::free_slot(&mut self.targets, index, &mut self.held);
        let target = match (self.targets[index].take(), self.dmabuf.as_ref()) {
            (Some(t), _) if t.spec == spec && t.dmabuf == in_dmabuf => t,
            (_, Some(linux_dmabuf)) if in_dmabuf => match super::dmabuf::make_target(
                linux_dmabuf,
                &mut self.queue,
                &mut self.state,
                &self.peer,
                spec,
                &mut self.keys,
            )? {
                Some(t) => t,
                None => {
                    self.dmabuf_refused = true;
                    let (spec, _) = self.spec()?;
                    make_target(&self.shm, spec, &qh)?
                }
            },
            _ => make_target(&self.shm, spec, &qh)?,
        };
        let frame = self.session.create_frame(&qh, Role::Main);
        frame.attach_buffer(&target.buffer);
        // Both buffers alternate, so each copy must fill the whole buffer.
        frame.damage_buffer(
            0,
            0,
            i32::try_from(spec.width).unwrap_or(i32::MAX),
            i32::try_from(spec.height).unwrap_or(i32::MAX),
        );
        frame.capture();
        self.targets[index] = Some(target);
        self.filling = index;
        self.filled_for = self.state.copy.main.generation;
        self.queue.flush().map_err(gone)?;
        self.in_flight = Some(frame);
        Ok(())
    }

    /// As [`super::WaylandCapture::wait_frame_before`].
    pub(super) fn wait_frame_before(
        &mut self,
        deadline: Instant,
    ) -> Result<Option<Timestamp>, CaptureError> {
        if self.in_flight.is_none() {
            self.request()?;
        }
        // A refusal right after the compositor announced new constraints (a resize) is
        // retried once with a buffer made for them.
        let mut retried = false;
        loop {
            self.check_source()?;
            self.service_cursor()?;
            if let Some(reason) = self.state.copy.main.frame.failed {
                if let Some(f) = self.in_flight.take() {
                    f.destroy();
                }
                let in_dmabuf = self.targets[self.filling]
                    .as_ref()
                    .is_some_and(|t| t.dmabuf);
                match reason {
                    WEnum::Value(FailureReason::Stopped) => return Err(self.source_gone()),
                    _ if in_dmabuf && !self.dmabuf_refused => {
                        tracing::info!(source = %self.name, ?reason, "the compositor failed a copy into a DMA-BUF buffer; capturing into shared memory");
                        self.dmabuf_refused = true;
                        self.request()?;
                        continue;
                    }
                    WEnum::Value(FailureReason::BufferConstraints)
                        if !retried && self.state.copy.main.generation > self.filled_for =>
                    {
                        retried = true;
                        self.request()?;
                        continue;
                    }
                    _ => return Err(self.refused(reason)),
                }
            }
            if self.state.copy.main.frame.ready {
                let events = &self.state.copy.main.frame;
                let arrived = events.arrived.unwrap_or_else(Timestamp::now);
                let presented = events.presented.unwrap_or(arrived);
                if let Some(t) = self.targets[self.filling].as_mut() {
                    t.y_invert = events.y_invert;
                }
                self.delivered = Some((self.filling, presented, arrived));
                if let Some(c) = self.cursor.as_mut() {
                    c.shown = c.changes;
                }
                if let Some(f) = self.in_flight.take() {
                    f.destroy();
                }
                self.request()?;
                return Ok(Some(presented));
            }
            if let (Some(c), Some((index, _, _))) = (self.cursor.as_mut(), self.delivered) {
                if c.changes != c.shown {
                    // Only the pointer changed: the last frame again, with the cursor moved.
                    c.shown = c.changes;
                    let now = Timestamp::now();
                    self.delivered = Some((index, now, now));
                    return Ok(Some(now));
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            let name = &self.name;
            let wake = self
                .live
                .check(&mut self.peer, &self.queue, self.state.synced, || {
                    format!("a frame of {name}")
                })?
                .min(deadline);
            if dispatch_until(&mut self.queue, &mut self.state, wake)? {
                self.live.last_heard = Instant::now();
            }
        }
    }

    /// The error for a frame the compositor failed with `reason`.
    fn refused(&self, reason: WEnum<FailureReason>) -> CaptureError {
        let buffer = self.targets[self.filling]
            .as_ref()
            .map(|t| {
                format!(
                    "a {}x{} wl_shm buffer of format {:#010x}",
                    t.spec.width, t.spec.height, t.spec.format
                )
            })
            .unwrap_or_else(|| "the buffer".into());
        let reason = match reason {
            WEnum::Value(FailureReason::BufferConstraints) => format!(
                "buffer_constraints: {buffer} does not meet the constraints the compositor announced"
            ),
            WEnum::Value(FailureReason::Unknown) => {
                format!("unknown (the compositor gave no reason for refusing {buffer})")
            }
            WEnum::Value(other) => format!("{other:?} ({buffer})"),
            WEnum::Unknown(code) => format!("failure reason {code} ({buffer})"),
        };
        CaptureError::BufferRefused {
            what: self.name.clone(),
            reason,
        }
    }

    /// As [`super::WaylandCapture::last_dmabuf`].
    pub(super) fn last_dmabuf(&self) -> Option<(crate::gpu::DmaBuf<'_>, Timestamp)> {
        let (index, presented, _) = self.delivered?;
        Some((self.targets[index].as_ref()?.as_dmabuf()?, presented))
    }

    /// The last frame as it lies in its DMA-BUF, the pointer from the cursor session riding
    /// along for the GPU to draw; `None` when it is in shared memory or must be cut or turned.
    pub(super) fn last_frame_dmabuf(&self) -> Option<(crate::frame::FrameImage, Timestamp)> {
        let (index, presented, _) = self.delivered?;
        let target = self.targets[index].as_ref()?;
        let pointer = self.state.copy.pointer;
        let overlay = self
            .cursor
            .as_ref()
            .filter(|c| !c.off && pointer.inside)
            .and_then(|c| c.image.as_ref())
            .map(|image| image.overlay(pointer.position));
        Some((super::handed_on(target, self.region, overlay)?, presented))
    }

    /// As [`super::WaylandCapture::last_image`].
    pub(super) fn last_image(&self) -> Result<Option<(CpuImage, Timestamp)>, CaptureError> {
        let Some((index, presented, _)) = self.delivered else {
            return Ok(None);
        };
        let target = self.targets[index]
            .as_ref()
            .ok_or_else(|| self.source_gone())?;
        let mut image = read_out(target, &self.pool, self.region)?;
        let pointer = self.state.copy.pointer;
        if let Some(cursor) = self.cursor.as_ref().filter(|c| !c.off) {
            if let (Some(bitmap), true) = (cursor.image.as_ref(), pointer.inside) {
                bitmap.draw(&mut image, pointer.position, self.region);
            }
        }
        Ok(Some((image, presented)))
    }

    /// Keeps the cursor session going: reads a cursor image that is ready, asks for the next,
    /// and counts moves of the pointer. A cursor session that stops or refuses its buffer turns
    /// the cursor off (logged); the capture goes on.
    fn service_cursor(&mut self) -> Result<(), CaptureError> {
        let Some(cursor) = self.cursor.as_mut() else {
            return Ok(());
        };
        if cursor.off {
            return Ok(());
        }
        let pointer = self.state.copy.pointer;
        let position = pointer.inside.then_some(pointer.position);
        if position != cursor.position {
            cursor.position = position;
            cursor.changes += 1;
        }
        let events = &mut self.state.copy.cursor;
        if events.stopped {
            tracing::info!(
                "the compositor stopped the cursor session; frames go on without the cursor"
            );
            cursor.off = true;
            cursor.changes += 1;
            return Ok(());
        }
        if let Some(reason) = events.frame.failed.take() {
            if let Some(f) = cursor.in_flight.take() {
                f.destroy();
            }
            let resized = matches!(reason, WEnum::Value(FailureReason::BufferConstraints))
                && events.generation > cursor.filled_for;
            if !resized {
                tracing::warn!(
                    ?reason,
                    "the compositor refused the cursor buffer; frames go on without the cursor"
                );
                cursor.off = true;
                cursor.changes += 1;
                return Ok(());
            }
        }
        if events.frame.ready {
            events.frame.ready = false;
            if let (Some(target), Some(f)) = (cursor.target.as_ref(), cursor.in_flight.take()) {
                f.destroy();
                let spec = target.spec;
                let row = spec.width as usize * 4;
                let bytes = target.memory.bytes();
                let mut pixels = Vec::with_capacity(row * spec.height as usize);
                for y in 0..spec.height as usize {
                    let start = y * spec.stride as usize;
                    pixels.extend_from_slice(&bytes[start..start + row]);
                }
                cursor.image = Some(CursorImage {
                    width: spec.width,
                    format: pixel_format(spec.format)?,
                    pixels,
                    hotspot: pointer.hotspot_pending,
                });
                cursor.changes += 1;
            }
        }
        let Some(constraints) = events.constraints.clone() else {
            return Ok(());
        };
        if cursor.in_flight.is_some() {
            return Ok(());
        }
        let (width, height) = constraints.size.unwrap_or((0, 0));
        let format = constraints
            .shm_formats
            .iter()
            .copied()
            .find(|&f| matches!(pixel_format(f), Ok(PixelFormat::Bgra8 | PixelFormat::Rgba8)));
        let Some(format) = format.filter(|_| width > 0 && height > 0) else {
            tracing::warn!(?constraints, "the cursor session offers no buffer GhostStream reads; frames go on without the cursor");
            cursor.off = true;
            return Ok(());
        };
        let spec = BufferSpec {
            format,
            width,
            height,
            stride: width.saturating_mul(4),
        };
        spec.check().map_err(|reason| CaptureError::BadBuffer {
            source_name: "the compositor (cursor session)".into(),
            reason,
        })?;
        let qh = self.queue.handle();
        let target = match cursor.target.take() {
            Some(t) if t.spec == spec => t,
            _ => make_target(&self.shm, spec, &qh)?,
        };
        events.frame = FrameEvents::default();
        let frame = cursor.session.create_frame(&qh, Role::Cursor);
        frame.attach_buffer(&target.buffer);
        frame.damage_buffer(
            0,
            0,
            i32::try_from(width).unwrap_or(i32::MAX),
            i32::try_from(height).unwrap_or(i32::MAX),
        );
        frame.capture();
        cursor.target = Some(target);
        cursor.filled_for = events.generation;
        cursor.in_flight = Some(frame);
        self.queue.flush().map_err(gone)?;
        Ok(())
    }
}

impl Drop for ImageCopy {
    fn drop(&mut self) {
        if let Some(f) = self.in_flight.take() {
            f.destroy();
        }
        self.cursor = None;
        self.targets = [None, None];
        self.session.destroy();
        self.source.destroy();
        self.manager.destroy();
        if let Some(list) = self.list.take() {
            list.destroy();
        }
        let _ = self.queue.flush();
    }
}

impl Dispatch<ExtImageCopyCaptureSessionV1, Role> for State {
    fn event(
        state: &mut Self,
        _: &ExtImageCopyCaptureSessionV1,
        event: ext_image_copy_capture_session_v1::Event,
        role: &Role,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        use ext_image_copy_capture_session_v1::Event;
        let copy = state.copy.session(*role);
        match event {
            Event::BufferSize { width, height } => copy.pending.size = Some((width, height)),
            Event::ShmFormat { format } => copy.pending.shm_formats.push(match format {
                WEnum::Value(f) => f as u32,
                WEnum::Unknown(v) => v,
            }),
            Event::DmabufFormat { format, modifiers } => copy
                .pending
                .dmabuf_formats
                .push((format, super::dmabuf::modifiers(&modifiers))),
            Event::Done => {
                copy.constraints = Some(std::mem::take(&mut copy.pending));
                copy.generation = copy.generation.saturating_add(1);
            }
            Event::Stopped => copy.stopped = true,
            _ => {}
        }
    }
}

impl Dispatch<ExtImageCopyCaptureFrameV1, Role> for State {
    fn event(
        state: &mut Self,
        _: &ExtImageCopyCaptureFrameV1,
        event: ext_image_copy_capture_frame_v1::Event,
        role: &Role,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        use ext_image_copy_capture_frame_v1::Event;
        let frame = &mut state.copy.session(*role).frame;
        match event {
            Event::Transform { transform } => {
                frame.y_invert = matches!(
                    transform,
                    WEnum::Value(wayland_client::protocol::wl_output::Transform::Flipped180)
                );
            }
            Event::Damage {
                x,
                y,
                width,
                height,
            } => frame.damage.push(Region {
                x: x.max(0).unsigned_abs(),
                y: y.max(0).unsigned_abs(),
                width: width.max(0).unsigned_abs(),
                height: height.max(0).unsigned_abs(),
            }),
            Event::PresentationTime {
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
                frame.presented = Some(Timestamp::from_nanos(nanos));
            }
            Event::Ready => {
                frame.ready = true;
                frame.arrived = Some(Timestamp::now());
            }
            Event::Failed { reason } => frame.failed = Some(reason),
            _ => {}
        }
    }
}

impl Dispatch<ExtForeignToplevelListV1, ()> for State {
    fn event(
        state: &mut Self,
        _: &ExtForeignToplevelListV1,
        event: ext_foreign_toplevel_list_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let ext_foreign_toplevel_list_v1::Event::Toplevel { toplevel } = event {
            state.copy.toplevels.push(Toplevel {
                handle: toplevel,
                app_id: None,
                title: None,
                closed: false,
            });
        }
    }

    wayland_client::event_created_child!(State, ExtForeignToplevelListV1, [
        ext_foreign_toplevel_list_v1::EVT_TOPLEVEL_OPCODE => (ExtForeignToplevelHandleV1, ()),
    ]);
}

impl Dispatch<ExtForeignToplevelHandleV1, ()> for State {
    fn event(
        state: &mut Self,
        handle: &ExtForeignToplevelHandleV1,
        event: ext_foreign_toplevel_handle_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        use ext_foreign_toplevel_handle_v1::Event;
        let Some(toplevel) = state
            .copy
            .toplevels
            .iter_mut()
            .find(|t| t.handle == *handle)
        else {
            return;
        };
        match event {
            Event::AppId { app_id } => toplevel.app_id = Some(app_id),
            Event::Title { title } => toplevel.title = Some(title),
            Event::Closed => toplevel.closed = true,
            _ => {}
        }
    }
}

impl Dispatch<ExtImageCopyCaptureCursorSessionV1, ()> for State {
    fn event(
        state: &mut Self,
        _: &ExtImageCopyCaptureCursorSessionV1,
        event: ext_image_copy_capture_cursor_session_v1::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        use ext_image_copy_capture_cursor_session_v1::Event;
        let pointer = &mut state.copy.pointer;
        match event {
            Event::Enter => pointer.inside = true,
            Event::Leave => pointer.inside = false,
            Event::Position { x, y } => pointer.position = (x, y),
            Event::Hotspot { x, y } => pointer.hotspot_pending = (x, y),
            _ => {}
        }
    }
}

wayland_client::delegate_noop!(State: ignore WlSeat);
wayland_client::delegate_noop!(State: ignore WlPointer);
wayland_client::delegate_noop!(State: ExtImageCopyCaptureManagerV1);
wayland_client::delegate_noop!(State: ExtOutputImageCaptureSourceManagerV1);
wayland_client::delegate_noop!(State: ExtForeignToplevelImageCaptureSourceManagerV1);
wayland_client::delegate_noop!(State: ExtImageCaptureSourceV1);
