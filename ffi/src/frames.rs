//! Frame submission: CPU memory, a Vulkan image of the engine's device, or a DMA-BUF.

use std::os::fd::BorrowedFd;

use ghoststream::gpu::ash::vk::{self, Handle as _};
use ghoststream::gpu::{DmaBuf, GpuFrame, TimelinePoint};
use ghoststream::{CpuImage, Frame, Span, Timestamp};

use crate::dmabuf_imports::ImportKey;
use crate::options::{pixel_format, GS_FORMAT_I420};
use crate::result::{Failure, GS_ERR_BAD_INPUT, GS_ERR_NULL, GS_OK};
use crate::session::{with_open_session, GsSession};
use crate::structs::read_in;

/// A frame in CPU memory. The pixels are copied before the submit returns.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GsCpuFrame {
    /// `sizeof(GsCpuFrame)`.
    pub size: u32,
    /// `GS_FORMAT_*`: the session's `input_format`.
    pub format: i32,
    /// Width in pixels: the session's input width.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The planes, as many as the format has (1 for RGB, 2 for NV12/P010, 3 for I420...);
    /// the rest are ignored. Each is read for `height` rows of its plane.
    pub planes: [*const u8; 4],
    /// Bytes from one row of each plane to the next (at least the row's width).
    pub strides: [u32; 4],
    /// Presentation time in nanoseconds; strictly increasing.
    pub pts_ns: i64,
    /// Display duration in nanoseconds; 0 for one frame at the session's rate.
    pub duration_ns: i64,
    /// When the frame was captured, on `CLOCK_MONOTONIC` in nanoseconds; 0 when unknown.
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
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
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
    /// Presentation time in nanoseconds; strictly increasing.
    pub pts_ns: i64,
    /// Display duration in nanoseconds; 0 for one frame at the session's rate.
    pub duration_ns: i64,
    /// Capture time on `CLOCK_MONOTONIC` in nanoseconds; 0 when unknown.
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
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The DRM format modifier (0 is LINEAR).
    pub modifier: u64,
    /// Byte offset of the first row in the buffer.
    pub offset: u64,
    /// Bytes from one row to the next.
    pub stride: u64,
    /// Presentation time in nanoseconds; strictly increasing.
    pub pts_ns: i64,
    /// Display duration in nanoseconds; 0 for one frame at the session's rate.
    pub duration_ns: i64,
    /// Capture time on `CLOCK_MONOTONIC` in nanoseconds; 0 when unknown.
    pub capture_time_ns: i64,
    /// The DMA-BUF file descriptor (borrowed for the call).
    pub fd: i32,
}

/// Sets the timing fields every frame kind has.
fn timed(mut frame: Frame, duration_ns: i64, capture_time_ns: i64) -> Frame {
    if duration_ns > 0 {
        frame.duration = Some(Span::from_nanos(duration_ns));
    }
    if capture_time_ns != 0 {
        frame.capture_time = Some(Timestamp::from_nanos(capture_time_ns));
    }
    frame
}

/// Hands a frame to the session and numbers it.
fn submit(s: &mut GsSession, frame: Frame) -> Result<u64, Failure> {
    s.session.submit(frame)?;
    let number = s.next_frame;
    s.next_frame += 1;
    Ok(number)
}

/// Copies a CPU frame into an image from the session's pool, checking every plane.
///
/// # Safety
/// Each plane pointer the format uses is NULL or readable for its rows at its stride.
unsafe fn copy_cpu_frame(s: &GsSession, f: &GsCpuFrame) -> Result<CpuImage, Failure> {
    let format = pixel_format(f.format)?;
    let mut image = CpuImage::new(format, f.width, f.height, Some(&s.pool))?;
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
        for row in 0..g.height {
            // SAFETY: the plane holds `g.height` rows `stride` bytes apart (contract); only
            // the first `row_bytes` <= stride bytes of each are read.
            let line =
                unsafe { std::slice::from_raw_parts(src.add(row as usize * stride), row_bytes) };
            image.row_mut(p, row)[..row_bytes].copy_from_slice(line);
        }
    }
    Ok(image)
}

/// Submits a frame in CPU memory (copied before this returns). Frames are numbered 0, 1, 2...
/// in the order they are accepted. One thread per session at a time.
///
/// # Safety
/// `session` is NULL or a pointer this library returned; `frame` is NULL or a readable
/// `GsCpuFrame` of its declared size whose plane pointers are readable as described there.
#[no_mangle]
pub unsafe extern "C" fn gs_session_submit_cpu(
    session: *mut GsSession,
    frame: *const GsCpuFrame,
) -> i32 {
    with_open_session(session, |s| {
        // SAFETY: contract of this function.
        let f = unsafe { read_in(frame, "frame", "GsCpuFrame")? };
        // SAFETY: contract of this function.
        let image = unsafe { copy_cpu_frame(s, &f)? };
        let frame = timed(
            Frame::from_cpu(image, Timestamp::from_nanos(f.pts_ns)),
            f.duration_ns,
            f.capture_time_ns,
        );
        submit(s, frame)?;
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
    with_open_session(session, |s| {
        let (width, height) = s
            .config
            .processing
            .input_size
            .unwrap_or((s.config.width, s.config.height));
        let f = GsCpuFrame {
            size: std::mem::size_of::<GsCpuFrame>() as u32,
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
        let image = unsafe { copy_cpu_frame(s, &f)? };
        submit(s, Frame::from_cpu(image, Timestamp::from_nanos(pts_ns)))?;
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
/// A session opened without an engine refuses it (`GS_ERR_FRAME_MISMATCH`). One thread per
/// session at a time.
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
    with_open_session(session, |s| {
        // SAFETY: contract of this function.
        let f = unsafe { read_in(frame, "frame", "GsVulkanFrame")? };
        let format = pixel_format(f.format)?;
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
            gpu = gpu.wait_for(point);
        }
        if let Some(point) = semaphore_point(f.release_semaphore, f.release_value) {
            gpu = gpu.release_to(point);
        }
        let frame = timed(
            Frame::from_gpu(gpu, Timestamp::from_nanos(f.pts_ns)),
            f.duration_ns,
            f.capture_time_ns,
        );
        submit(s, frame)?;
        Ok(GS_OK)
    })
}

/// Submits a DMA-BUF frame (see `GsDmaBufFrame`): imported on the engine's device (once per
/// buffer: a buffer submitted again reuses its import) and kept while a frame reads it. A session opened without an engine refuses it
/// (`GS_ERR_FRAME_MISMATCH`). One thread per session at a time.
///
/// # Safety
/// `session` is NULL or a pointer this library returned; `frame` is NULL or a readable
/// `GsDmaBufFrame` of its declared size.
#[no_mangle]
pub unsafe extern "C" fn gs_session_submit_dmabuf(
    session: *mut GsSession,
    frame: *const GsDmaBufFrame,
) -> i32 {
    with_open_session(session, |s| {
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
        let key = ImportKey::of(&buf).map_err(|e| {
            Failure::new(
                GS_ERR_BAD_INPUT,
                format!("frame.fd {} cannot be used: {e}", f.fd),
            )
        })?;
        let Some(ctx) = s.session.gpu_context().cloned() else {
            return Err(Failure::from(ghoststream::SessionError::GpuFrameRejected {
                reason: "the session has no engine: open it with options.engine set to import DMA-BUF frames".into(),
            }));
        };
        let import = s.imports.get_or_import(&ctx, &buf, key)?;
        // SAFETY: the import stays in `s.imports` while a frame that reads it has not come out
        // (received, dropped, or flushed), and the session is dropped before `imports`.
        let gpu = unsafe { import.frame() };
        let frame = timed(
            Frame::from_gpu(gpu, Timestamp::from_nanos(f.pts_ns)),
            f.duration_ns,
            f.capture_time_ns,
        );
        let number = submit(s, frame)?;
        s.imports.used_by(key, number);
        Ok(GS_OK)
    })
}
