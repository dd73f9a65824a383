//! Frame submission: CPU memory, a Vulkan image of the engine's device, or a DMA-BUF.

use std::os::fd::BorrowedFd;

use ghoststream::gpu::ash::vk::{self, Handle as _};
use ghoststream::gpu::{DmaBuf, GpuFrame, TimelinePoint};
use ghoststream::{CpuImage, Frame, PixelFormat, Span, Timestamp};

use crate::dmabuf_imports::ImportKey;
use crate::handles::{self, Live};
use crate::options::{pixel_format, GS_FORMAT_I420};
use crate::result::{Failure, GS_ERR_BAD_INPUT, GS_ERR_FRAME_MISMATCH, GS_ERR_NULL, GS_OK};
use crate::session::{with_open_session, GsSession, SessionState};
use crate::structs::read_in;

/// A frame in CPU memory. The pixels are copied before the submit returns.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GsCpuFrame {
    /// `sizeof(GsCpuFrame)`.
    pub size: u32,
    /// `GS_FORMAT_*`: the session's `input_format`.
    pub format: i32,
    /// Width in pixels: the session's input width. The format and size are checked against the
    /// session before any plane is read (`GS_ERR_FRAME_MISMATCH`).
    pub width: u32,
    /// Height in pixels: the session's input height.
    pub height: u32,
    /// The planes, as many as the format has (1 for RGB, 2 for NV12/P010, 3 for I420...);
    /// the rest are ignored. Each is read for `height` rows of its plane.
    pub planes: [*const u8; 4],
    /// Bytes from one row of each plane to the next (at least the row's width).
    pub strides: [u32; 4],
    /// Presentation time in nanoseconds; strictly increasing, within ±2^62, and at most 2^62 ns
    /// after the first frame's (with its duration): beyond is `GS_ERR_BAD_INPUT`.
    pub pts_ns: i64,
    /// Display duration in nanoseconds; 0 for one frame at the session's rate. Negative, or a
    /// total over the session's frames beyond 2^62 ns, is `GS_ERR_BAD_INPUT`.
    pub duration_ns: i64,
    /// When the frame was captured, on `CLOCK_MONOTONIC` in nanoseconds (0 to 2^62); 0 when
    /// unknown.
    pub capture_time_ns: i64,
}

/// A frame in a `VkImage` of the session's engine's device (the session must have been opened
/// with `engine` set). GhostStream waits for `wait_semaphore` to reach `wait_value` before
/// reading, and signals `release_semaphore` to `release_value` once it has read the image
/// (both timeline semaphores; 0 for none). Without a release semaphore, the image may be
/// written again once a packet of this or a later frame has been received, or after a flush.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GsVulkanFrame {
    /// `sizeof(GsVulkanFrame)`.
    pub size: u32,
    /// `GS_FORMAT_*`: RGBA8 (`VK_FORMAT_R8G8B8A8_UNORM`), BGRA8 (`B8G8R8A8_UNORM`), RGB10A2
    /// (`A2B10G10R10_UNORM_PACK32`) or RGBA16F (`R16G16B16A16_SFLOAT`).
    pub format: i32,
    /// Width in pixels: the session's input width (checked, with the format, before anything
    /// is imported or read: `GS_ERR_FRAME_MISMATCH`).
    pub width: u32,
    /// Height in pixels: the session's input height.
    pub height: u32,
    /// The `VkImage`: 2D, one level, one sample, `VK_IMAGE_USAGE_SAMPLED_BIT`, usable by the
    /// engine's queue family.
    pub image: u64,
    /// A timeline `VkSemaphore` to wait for, or 0.
    pub wait_semaphore: u64,
    /// The value to wait for.
    pub wait_value: u64,
    /// A timeline `VkSemaphore` to signal once the image is read, or 0.
    pub release_semaphore: u64,
    /// The value to signal.
    pub release_value: u64,
    /// Presentation time in nanoseconds; strictly increasing, within ±2^62, and at most 2^62 ns
    /// after the first frame's (with its duration): beyond is `GS_ERR_BAD_INPUT`.
    pub pts_ns: i64,
    /// Display duration in nanoseconds; 0 for one frame at the session's rate. Negative, or a
    /// total over the session's frames beyond 2^62 ns, is `GS_ERR_BAD_INPUT`.
    pub duration_ns: i64,
    /// Capture time on `CLOCK_MONOTONIC` in nanoseconds (0 to 2^62); 0 when unknown.
    pub capture_time_ns: i64,
    /// The `VkImageLayout` the image is in (and is left in), e.g. `VK_IMAGE_LAYOUT_GENERAL`.
    pub layout: i32,
}

/// A single-plane DMA-BUF (from a Wayland compositor, PipeWire or another device), imported
/// on the session's engine's device (which needs `VK_EXT_external_memory_dma_buf`).
/// GhostStream imports a duplicate of `fd` the first time it sees the buffer and reuses that
/// import when the same buffer comes again: the caller keeps its own fd and may close it after
/// the submit. The buffer may be written again once a packet of this or a later frame has
/// been received, or after a flush.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GsDmaBufFrame {
    /// `sizeof(GsDmaBufFrame)`.
    pub size: u32,
    /// `GS_FORMAT_*`: RGBA8, BGRA8, RGB10A2 or RGBA16F.
    pub format: i32,
    /// Width in pixels: the session's input width (checked, with the format, before anything
    /// is imported or read: `GS_ERR_FRAME_MISMATCH`).
    pub width: u32,
    /// Height in pixels: the session's input height.
    pub height: u32,
    /// The DRM format modifier (0 is LINEAR).
    pub modifier: u64,
    /// Byte offset of the first row in the buffer.
    pub offset: u64,
    /// Bytes from one row to the next.
    pub stride: u64,
    /// Presentation time in nanoseconds; strictly increasing, within ±2^62, and at most 2^62 ns
    /// after the first frame's (with its duration): beyond is `GS_ERR_BAD_INPUT`.
    pub pts_ns: i64,
    /// Display duration in nanoseconds; 0 for one frame at the session's rate. Negative, or a
    /// total over the session's frames beyond 2^62 ns, is `GS_ERR_BAD_INPUT`.
    pub duration_ns: i64,
    /// Capture time on `CLOCK_MONOTONIC` in nanoseconds (0 to 2^62); 0 when unknown.
    pub capture_time_ns: i64,
    /// The DMA-BUF file descriptor (borrowed for the call).
    pub fd: i32,
}

/// The largest timestamp magnitude, span and total duration a session accepts: the library's
/// bound (2^62 ns, about 146 years), checked here before any caller memory is read.
pub(crate) const MAX_TIME_NS: i64 = ghoststream::MAX_TIMESTAMP;

/// The timestamps a session has accepted: the first frame's, and the frames' total duration.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Timeline {
    first_pts: Option<i64>,
    total_duration: i64,
}

/// One frame's timing fields, checked against the session's timeline.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    pts_ns: i64,
    duration_ns: i64,
    capture_time_ns: i64,
    /// The timeline once the frame is accepted.
    next: Timeline,
}

impl Timeline {
    /// Checks a frame's timing fields (before anything else of the frame is read):
    /// `default_duration_ns` is the session's frame duration, used when `duration_ns` is 0.
    pub(crate) fn check(
        &self,
        pts_ns: i64,
        duration_ns: i64,
        capture_time_ns: i64,
        default_duration_ns: i64,
    ) -> Result<Timing, Failure> {
        let bad = |message: String| Err(Failure::new(GS_ERR_BAD_INPUT, message));
        if !(-MAX_TIME_NS..=MAX_TIME_NS).contains(&pts_ns) {
            return bad(format!(
                "frame.pts_ns {pts_ns} is beyond ±2^62 ns (±{MAX_TIME_NS}, about 146 years): use timestamps within it (CLOCK_MONOTONIC nanoseconds are)"
            ));
        }
        if !(0..=MAX_TIME_NS).contains(&duration_ns) {
            return bad(format!(
                "frame.duration_ns {duration_ns} is out of range (0 for one frame at the session's rate, else 1 to 2^62)"
            ));
        }
        if !(0..=MAX_TIME_NS).contains(&capture_time_ns) {
            return bad(format!(
                "frame.capture_time_ns {capture_time_ns} is not a CLOCK_MONOTONIC time (0 to 2^62 ns; 0 when unknown)"
            ));
        }
        let duration = if duration_ns > 0 {
            duration_ns
        } else {
            default_duration_ns.clamp(0, MAX_TIME_NS)
        };
        let first = self.first_pts.unwrap_or(pts_ns);
        let end = pts_ns
            .checked_sub(first)
            .and_then(|span| span.checked_add(duration))
            .filter(|end| *end <= MAX_TIME_NS);
        if end.is_none() {
            return bad(format!(
                "frame.pts_ns {pts_ns} with a duration of {duration} ns ends more than 2^62 ns ({MAX_TIME_NS}) after the first frame's pts {first}: a session's timestamps span at most 2^62 ns"
            ));
        }
        let total = self
            .total_duration
            .checked_add(duration)
            .filter(|t| *t <= MAX_TIME_NS);
        let Some(total) = total else {
            return bad(format!(
                "frame.duration_ns {duration_ns} takes the frames' total duration ({} ns so far) past 2^62 ns ({MAX_TIME_NS})",
                self.total_duration
            ));
        };
        Ok(Timing {
            pts_ns,
            duration_ns,
            capture_time_ns,
            next: Timeline {
                first_pts: Some(first),
                total_duration: total,
            },
        })
    }
}

impl Timing {
    /// The frame with these timestamps.
    fn frame(&self, image: FrameImageKind) -> Frame {
        let pts = Timestamp::from_nanos(self.pts_ns);
        let mut frame = match image {
            FrameImageKind::Cpu(image) => Frame::from_cpu(image, pts),
            FrameImageKind::Gpu(gpu) => Frame::from_gpu(gpu, pts),
        };
        if self.duration_ns > 0 {
            frame.duration = Some(Span::from_nanos(self.duration_ns));
        }
        if self.capture_time_ns != 0 {
            frame.capture_time = Some(Timestamp::from_nanos(self.capture_time_ns));
        }
        frame
    }
}

enum FrameImageKind {
    Cpu(CpuImage),
    Gpu(GpuFrame),
}

/// Checks a frame's format and size against the session's before any of its memory is read.
fn check_shape(
    s: &GsSession,
    format: i32,
    width: u32,
    height: u32,
) -> Result<PixelFormat, Failure> {
    let format = pixel_format(format)?;
    if format != s.input_format {
        return Err(Failure::new(
            GS_ERR_FRAME_MISMATCH,
            format!(
                "frame.format is {} but the session takes {} frames (its input_format): nothing was read",
                format.name(),
                s.input_format.name()
            ),
        ));
    }
    let (w, h) = s.input_size;
    if (width, height) != (w, h) {
        return Err(Failure::new(
            GS_ERR_FRAME_MISMATCH,
            format!(
                "frame is {width}x{height} but the session takes {w}x{h} frames (its input_width x input_height, or width x height): nothing was read"
            ),
        ));
    }
    Ok(format)
}

/// Checks the timestamps, hands the frame to the session, and numbers it; a session destroyed
/// by another thread meanwhile (while this submit waited for room in the queue) is
/// `GS_ERR_BAD_HANDLE`.
fn submit(
    live: &Live<GsSession>,
    s: &mut SessionState,
    timing: Timing,
    image: FrameImageKind,
) -> Result<u64, Failure> {
    s.session.submit(timing.frame(image))?;
    let number = s.next_frame;
    s.next_frame += 1;
    s.timeline = timing.next;
    if live.destroyed() {
        return Err(handles::destroyed_failure(
            "session",
            "during this submit: the frame went with it",
        ));
    }
    Ok(number)
}

/// The session's timeline check for a frame's timing fields.
fn timing(
    s: &SessionState,
    pts_ns: i64,
    duration_ns: i64,
    capture_time_ns: i64,
) -> Result<Timing, Failure> {
    s.timeline.check(
        pts_ns,
        duration_ns,
        capture_time_ns,
        s.config.frame_duration_nanos(),
    )
}

/// One plane to copy: its rows, the bytes of each, and where they are.
struct PlaneSource {
    src: *const u8,
    stride: usize,
    rows: u32,
    row_bytes: usize,
}

/// Checks every plane of a CPU frame of the session's format and size: present, a stride of at
/// least a row, and rows that fit the address space. Nothing is read.
fn check_planes(f: &GsCpuFrame, format: PixelFormat) -> Result<Vec<PlaneSource>, Failure> {
    let mut planes = Vec::with_capacity(format.plane_count());
    for (p, g) in format.planes(f.width, f.height).iter().enumerate() {
        let (src, stride) = (f.planes[p], f.strides[p] as usize);
        if src.is_null() {
            return Err(Failure::new(
                GS_ERR_NULL,
                format!(
                    "frame.planes[{p}] is NULL ({} has {} planes)",
                    format.name(),
                    format.plane_count()
                ),
            ));
        }
        let row_bytes = g.row_bytes();
        if stride < row_bytes {
            return Err(Failure::new(
                GS_ERR_BAD_INPUT,
                format!("frame.strides[{p}] is {stride}, shorter than a row of {row_bytes} bytes"),
            ));
        }
        let extent = stride
            .checked_mul(g.height.saturating_sub(1) as usize)
            .and_then(|e| e.checked_add(row_bytes))
            .filter(|e| *e <= isize::MAX as usize)
            .filter(|e| (src as usize).checked_add(*e).is_some());
        if extent.is_none() {
            return Err(Failure::new(
                GS_ERR_BAD_INPUT,
                format!(
                    "frame.strides[{p}] is {stride}: {} rows of it from frame.planes[{p}] {src:p} run past the end of the address space",
                    g.height
                ),
            ));
        }
        planes.push(PlaneSource {
            src,
            stride,
            rows: g.height,
            row_bytes,
        });
    }
    Ok(planes)
}

/// Copies a CPU frame, checked by `check_shape` and `check_planes`, into an image from the
/// session's pool.
///
/// # Safety
/// Each plane pointer is readable for its rows at its stride (the submit's contract).
unsafe fn copy_cpu_frame(
    s: &SessionState,
    f: &GsCpuFrame,
    format: PixelFormat,
    planes: &[PlaneSource],
) -> Result<CpuImage, Failure> {
    let mut image = CpuImage::new(format, f.width, f.height, Some(&s.pool))?;
    for (p, plane) in planes.iter().enumerate() {
        for row in 0..plane.rows {
            // SAFETY: the plane holds `rows` rows `stride` bytes apart (contract), their
            // extent fits the address space (checked); only the first `row_bytes` <= stride
            // bytes of each are read.
            let line = unsafe {
                std::slice::from_raw_parts(
                    plane.src.add(row as usize * plane.stride),
                    plane.row_bytes,
                )
            };
            image.row_mut(p, row)[..plane.row_bytes].copy_from_slice(line);
        }
    }
    Ok(image)
}

/// Submits a CPU frame: every field is checked against the session before its planes are read.
///
/// # Safety
/// As `gs_session_submit_cpu`.
unsafe fn submit_cpu(
    live: &Live<GsSession>,
    s: &mut SessionState,
    f: &GsCpuFrame,
) -> Result<u64, Failure> {
    let format = check_shape(live, f.format, f.width, f.height)?;
    let timing = timing(s, f.pts_ns, f.duration_ns, f.capture_time_ns)?;
    let planes = check_planes(f, format)?;
    // SAFETY: contract of this function.
    let image = unsafe { copy_cpu_frame(s, f, format, &planes)? };
    submit(live, s, timing, FrameImageKind::Cpu(image))
}

/// Submits a frame in CPU memory (copied before this returns). Frames are numbered 0, 1, 2...
/// in the order they are accepted. Any thread (calls on one session take turns).
///
/// # Safety
/// `session` is NULL or a pointer this library returned; `frame` is NULL or a readable
/// `GsCpuFrame` of its declared size whose plane pointers are readable as described there.
#[no_mangle]
pub unsafe extern "C" fn gs_session_submit_cpu(
    session: *mut GsSession,
    frame: *const GsCpuFrame,
) -> i32 {
    with_open_session(session, |live, s| {
        // SAFETY: contract of this function.
        let f = unsafe { read_in(frame, "frame", "GsCpuFrame")? };
        // SAFETY: contract of this function.
        unsafe { submit_cpu(live, s, &f)? };
        Ok(GS_OK)
    })
}

/// Submits one I420 frame of the session's input size: a shorthand for
/// `gs_session_submit_cpu` with three planes and their strides in bytes.
///
/// # Safety
/// As `gs_session_submit_cpu`: each plane is NULL or readable for its rows at its stride.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // One plane pointer and stride each: the C shape.
pub unsafe extern "C" fn gs_session_submit_i420(
    session: *mut GsSession,
    y: *const u8,
    y_stride: u32,
    u: *const u8,
    u_stride: u32,
    v: *const u8,
    v_stride: u32,
    pts_ns: i64,
) -> i32 {
    with_open_session(session, |live, s| {
        let (width, height) = live.input_size;
        let f = GsCpuFrame {
            size: crate::structs::size_of_struct::<GsCpuFrame>(),
            format: GS_FORMAT_I420,
            width,
            height,
            planes: [y, u, v, std::ptr::null()],
            strides: [y_stride, u_stride, v_stride, 0],
            pts_ns,
            duration_ns: 0,
            capture_time_ns: 0,
        };
        // SAFETY: contract of this function.
        unsafe { submit_cpu(live, s, &f)? };
        Ok(GS_OK)
    })
}

fn semaphore_point(handle: u64, value: u64) -> Option<TimelinePoint> {
    (handle != 0).then(|| TimelinePoint {
        semaphore: vk::Semaphore::from_raw(handle),
        value,
    })
}

/// Submits a frame in a Vulkan image of the session's engine's device (see `GsVulkanFrame`).
/// A session opened without an engine refuses it (`GS_ERR_FRAME_MISMATCH`). Any thread (calls on one
/// session take turns).
///
/// # Safety
/// `session` is NULL or a pointer this library returned; `frame` is NULL or a readable
/// `GsVulkanFrame` of its declared size whose image and semaphores are valid objects of the
/// engine's device that stay alive (and the image unwritten) as `GsVulkanFrame` describes.
#[no_mangle]
pub unsafe extern "C" fn gs_session_submit_vulkan(
    session: *mut GsSession,
    frame: *const GsVulkanFrame,
) -> i32 {
    with_open_session(session, |live, s| {
        // SAFETY: contract of this function.
        let f = unsafe { read_in(frame, "frame", "GsVulkanFrame")? };
        let format = check_shape(live, f.format, f.width, f.height)?;
        let timing = timing(s, f.pts_ns, f.duration_ns, f.capture_time_ns)?;
        // SAFETY: the image is a valid image of the session's device with the properties
        // GpuFrame::new needs, alive until released (contract of this function).
        let mut gpu = unsafe {
            GpuFrame::new(
                vk::Image::from_raw(f.image),
                format,
                f.width,
                f.height,
                vk::ImageLayout::from_raw(f.layout),
            )?
        };
        if let Some(point) = semaphore_point(f.wait_semaphore, f.wait_value) {
            // SAFETY: a timeline semaphore of the session's device, alive until the frame is
            // read (contract of this function).
            gpu = unsafe { gpu.wait_for(point) };
        }
        if let Some(point) = semaphore_point(f.release_semaphore, f.release_value) {
            // SAFETY: a timeline semaphore of the session's device, alive until signalled,
            // its value above earlier ones (contract of this function).
            gpu = unsafe { gpu.release_to(point) };
        }
        submit(live, s, timing, FrameImageKind::Gpu(gpu))?;
        Ok(GS_OK)
    })
}

/// Checks a DMA-BUF frame's rows (of the session's size): a stride of at least a row, and an
/// extent (offset + stride x (height - 1) + row) that fits 64 bits. The buffer's own size is
/// checked by the import.
fn check_dmabuf_rows(f: &GsDmaBufFrame, format: PixelFormat) -> Result<(), Failure> {
    let row = u64::from(f.width) * u64::from(format.planes(1, 1)[0].bytes_per_pixel);
    if f.stride < row {
        return Err(Failure::new(
            GS_ERR_BAD_INPUT,
            format!(
                "frame.stride {} is shorter than a row of {row} bytes ({} pixels of {})",
                f.stride,
                f.width,
                format.name()
            ),
        ));
    }
    let extent = f
        .stride
        .checked_mul(u64::from(f.height.saturating_sub(1)))
        .and_then(|e| e.checked_add(row))
        .and_then(|e| e.checked_add(f.offset));
    if extent.is_none() {
        return Err(Failure::new(
            GS_ERR_BAD_INPUT,
            format!(
                "frame.offset {} and frame.stride {} put {} rows past 2^64 bytes",
                f.offset, f.stride, f.height
            ),
        ));
    }
    Ok(())
}

/// Submits a DMA-BUF frame (see `GsDmaBufFrame`): imported on the engine's device (once per
/// buffer: a buffer submitted again reuses its import) and kept while a frame reads it. A session opened without an engine refuses it
/// (`GS_ERR_FRAME_MISMATCH`). Any thread (calls on one session take turns).
///
/// # Safety
/// `session` is NULL or a pointer this library returned; `frame` is NULL or a readable
/// `GsDmaBufFrame` of its declared size.
#[no_mangle]
pub unsafe extern "C" fn gs_session_submit_dmabuf(
    session: *mut GsSession,
    frame: *const GsDmaBufFrame,
) -> i32 {
    with_open_session(session, |live, s| {
        // SAFETY: contract of this function.
        let f = unsafe { read_in(frame, "frame", "GsDmaBufFrame")? };
        let format = pixel_format(f.format)?;
        if f.fd < 0 {
            return Err(Failure::new(
                GS_ERR_BAD_INPUT,
                format!("frame.fd {} is not a file descriptor", f.fd),
            ));
        }
        // SAFETY: fd is non-negative (BorrowedFd's invariant) and is used during this call
        // only: fstat, then the import's own duplicate; a number that is not open fails
        // cleanly with EBADF.
        let fd = unsafe { BorrowedFd::borrow_raw(f.fd) };
        let buf = DmaBuf {
            fd,
            format,
            width: f.width,
            height: f.height,
            modifier: f.modifier,
            offset: f.offset,
            stride: f.stride,
        };
        // Only the fd's metadata (fstat) is read before the frame is checked against the
        // session.
        let key = ImportKey::of(&buf).map_err(|e| {
            Failure::new(
                GS_ERR_BAD_INPUT,
                format!("frame.fd {} cannot be used: {e}", f.fd),
            )
        })?;
        check_shape(live, f.format, f.width, f.height)?;
        let timing = timing(s, f.pts_ns, f.duration_ns, f.capture_time_ns)?;
        check_dmabuf_rows(&f, format)?;
        let Some(ctx) = s.session.gpu_context().cloned() else {
            return Err(Failure::from(ghoststream::SessionError::GpuFrameRejected {
                reason: "the session has no engine: open it with options.engine set to import DMA-BUF frames".into(),
            }));
        };
        let import = s.imports.get_or_import(&ctx, &buf, key)?;
        // SAFETY: the import stays in `s.imports` while a frame that reads it has not come out
        // (received, dropped, or flushed), and the session is dropped before `imports`.
        let gpu = unsafe { import.frame() };
        let number = submit(live, s, timing, FrameImageKind::Gpu(gpu))?;
        s.imports.used_by(key, number);
        Ok(GS_OK)
    })
}
