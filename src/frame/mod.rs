//! Frames: an image plus its timestamps.
//!
//! A [`Frame`] holds its pixels in a [`FrameImage`]: CPU memory ([`CpuImage`]) or a Vulkan
//! image of the session's device ([`GpuFrame`]) or a producer's DMA-BUF that the session
//! imports into its device ([`DmaBufFrame`]). The enum is `#[non_exhaustive]`: more kinds of
//! memory (CUDA) may join.
//!
//! CPU buffers can come from a [`BufferPool`]: when the session is done with a frame, its buffer
//! goes back to the pool instead of to the allocator, so a steady stream allocates nothing.

mod dmabuf;
mod gpu;

pub use dmabuf::{DmaBufFrame, DmaBufKey, DmaBufLayout, Lease, PointerOverlay};
pub use gpu::{GpuFrame, GpuFrameError, TimelinePoint};

use std::sync::{Arc, Mutex};

use crate::format::{PixelFormat, SizeError};
use crate::time::{Span, Timestamp};

/// One plane's place in a [`CpuImage`]'s buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaneLayout {
    /// Byte offset of the plane's first row.
    pub offset: usize,
    /// Bytes from one row to the next (at least the row's packed size).
    pub stride: usize,
}

/// A recycling pool of frame buffers, shared by a source and the session that consumes it.
#[derive(Debug, Default)]
pub struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
}

impl BufferPool {
    /// Most buffers kept for reuse; more are freed.
    pub const MAX_FREE: usize = 16;

    /// A new, empty pool.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A buffer of `len` bytes (plus [`BUFFER_PADDING`]), reused from the pool when one is
    /// free. A reused buffer of the same size keeps its old contents (the caller overwrites
    /// every byte; clearing 3 MB a frame would be wasted work); a new one is zeroed.
    pub fn take(self: &Arc<Self>, len: usize) -> FrameBuffer {
        let reused = self.free.lock().ok().and_then(|mut free| free.pop());
        let mut data = reused.unwrap_or_default();
        if data.len() != len + BUFFER_PADDING {
            data.clear();
            data.resize(len + BUFFER_PADDING, 0);
        }
        FrameBuffer {
            data,
            len,
            pool: Some(Arc::clone(self)),
        }
    }

    /// Buffers waiting for reuse.
    pub fn free_count(&self) -> usize {
        self.free.lock().map(|f| f.len()).unwrap_or(0)
    }

    fn give_back(&self, data: Vec<u8>) {
        if let Ok(mut free) = self.free.lock() {
            if free.len() < Self::MAX_FREE {
                free.push(data);
            }
        }
    }
}

/// Zeroed bytes kept after every frame buffer, so that SIMD code in encoders may read a little
/// past the last row (libavcodec's `AV_INPUT_BUFFER_PADDING_SIZE`).
pub const BUFFER_PADDING: usize = 64;

/// The bytes of a CPU frame; returned to its [`BufferPool`] (if any) when dropped.
#[derive(Debug, Default)]
pub struct FrameBuffer {
    data: Vec<u8>,
    len: usize,
    pool: Option<Arc<BufferPool>>,
}

impl FrameBuffer {
    /// A buffer that belongs to no pool (padding is appended).
    pub fn from_vec(mut data: Vec<u8>) -> Self {
        let len = data.len();
        data.resize(len + BUFFER_PADDING, 0);
        Self {
            data,
            len,
            pool: None,
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.data[..self.len]
    }

    /// The bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.data[..self.len]
    }

    /// The length in bytes (padding not counted).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for FrameBuffer {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.give_back(std::mem::take(&mut self.data));
        }
    }
}

/// A frame in CPU memory.
#[derive(Debug)]
pub struct CpuImage {
    format: PixelFormat,
    width: u32,
    height: u32,
    planes: Vec<PlaneLayout>,
    buffer: FrameBuffer,
}

/// Why a CPU image could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The size breaks the format's rules.
    #[error(transparent)]
    Size(#[from] SizeError),
    /// The layout does not fit the buffer or the format.
    #[error("plane {plane} of a {width}x{height} {format} image: {reason}")]
    Layout {
        /// The format.
        format: PixelFormat,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// The plane index.
        plane: usize,
        /// What is wrong.
        reason: String,
    },
}

impl CpuImage {
    /// A tightly packed image, its buffer taken from `pool` (contents unspecified when reused)
    /// or freshly allocated (zeroed).
    pub fn new(
        format: PixelFormat,
        width: u32,
        height: u32,
        pool: Option<&Arc<BufferPool>>,
    ) -> Result<Self, ImageError> {
        format.check_size(width, height)?;
        let mut planes = Vec::with_capacity(format.plane_count());
        let mut offset = 0;
        for g in format.planes(width, height) {
            planes.push(PlaneLayout {
                offset,
                stride: g.row_bytes(),
            });
            offset += g.row_bytes() * g.height as usize;
        }
        let buffer = match pool {
            Some(p) => p.take(offset),
            None => FrameBuffer::from_vec(vec![0; offset]),
        };
        Ok(Self {
            format,
            width,
            height,
            planes,
            buffer,
        })
    }

    /// An image over an existing buffer with the given plane layouts, checked to fit.
    pub fn from_buffer(
        format: PixelFormat,
        width: u32,
        height: u32,
        planes: Vec<PlaneLayout>,
        buffer: FrameBuffer,
    ) -> Result<Self, ImageError> {
        format.check_size(width, height)?;
        let geometry = format.planes(width, height);
        let layout_err = |plane, reason: String| ImageError::Layout {
            format,
            width,
            height,
            plane,
            reason,
        };
        if planes.len() != geometry.len() {
            return Err(layout_err(
                planes.len(),
                format!(
                    "{} planes given, the format has {}",
                    planes.len(),
                    geometry.len()
                ),
            ));
        }
        for (i, (p, g)) in planes.iter().zip(&geometry).enumerate() {
            if p.stride < g.row_bytes() {
                return Err(layout_err(
                    i,
                    format!(
                        "stride {} is less than a row's {} bytes",
                        p.stride,
                        g.row_bytes()
                    ),
                ));
            }
            let end = (g.height as usize - 1)
                .checked_mul(p.stride)
                .and_then(|v| v.checked_add(p.offset))
                .and_then(|v| v.checked_add(g.row_bytes()));
            match end {
                Some(end) if end <= buffer.len() => {}
                _ => {
                    return Err(layout_err(
                        i,
                        format!("rows run past the end of the {}-byte buffer", buffer.len()),
                    ))
                }
            }
        }
        Ok(Self {
            format,
            width,
            height,
            planes,
            buffer,
        })
    }

    /// The pixel format.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The plane layouts.
    pub fn plane_layouts(&self) -> &[PlaneLayout] {
        &self.planes
    }

    /// The whole buffer.
    pub fn data(&self) -> &[u8] {
        self.buffer.as_slice()
    }

    /// The whole buffer, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut_slice()
    }

    /// The byte range of row `y` of plane `plane`, exactly a packed row long.
    fn row_range(&self, plane: usize, y: u32) -> std::ops::Range<usize> {
        let g = self.format.planes(self.width, self.height)[plane];
        let start = self.planes[plane].offset + y as usize * self.planes[plane].stride;
        start..start + g.row_bytes()
    }

    /// Row `y` of plane `plane`, exactly a packed row long.
    pub fn row(&self, plane: usize, y: u32) -> &[u8] {
        &self.buffer.as_slice()[self.row_range(plane, y)]
    }

    /// Row `y` of plane `plane`, writable.
    pub fn row_mut(&mut self, plane: usize, y: u32) -> &mut [u8] {
        let range = self.row_range(plane, y);
        &mut self.buffer.as_mut_slice()[range]
    }

    /// Takes the buffer out (for handing it to an encoder without a copy).
    pub fn into_buffer(self) -> FrameBuffer {
        self.buffer
    }
}

/// Where a frame's pixels live.
#[derive(Debug)]
#[non_exhaustive]
pub enum FrameImage {
    /// CPU memory.
    Cpu(CpuImage),
    /// A Vulkan image of the session's device.
    Gpu(GpuFrame),
    /// A producer's DMA-BUF, imported into the session's device and read there.
    DmaBuf(DmaBufFrame),
}

impl FrameImage {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        match self {
            FrameImage::Cpu(i) => i.width(),
            FrameImage::Gpu(g) => g.width(),
            FrameImage::DmaBuf(d) => d.width(),
        }
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        match self {
            FrameImage::Cpu(i) => i.height(),
            FrameImage::Gpu(g) => g.height(),
            FrameImage::DmaBuf(d) => d.height(),
        }
    }

    /// Pixel format.
    pub fn format(&self) -> PixelFormat {
        match self {
            FrameImage::Cpu(i) => i.format(),
            FrameImage::Gpu(g) => g.format(),
            FrameImage::DmaBuf(d) => d.format(),
        }
    }
}

/// A frame to encode: pixels and timestamps.
#[derive(Debug)]
pub struct Frame {
    /// Presentation time (nanoseconds, `CLOCK_MONOTONIC` or a stream clock starting anywhere).
    pub pts: Timestamp,
    /// How long the frame is shown; `None` means one nominal frame at the session's rate.
    pub duration: Option<Span>,
    /// When the frame was captured, if known (for capture-to-packet latency).
    pub capture_time: Option<Timestamp>,
    /// When the captured frame reached this process (`CLOCK_MONOTONIC`), if known: the time
    /// before it is the compositor's or producer's, the time after it GhostStream's.
    pub arrival_time: Option<Timestamp>,
    /// The pixels.
    pub image: FrameImage,
}

impl Frame {
    /// A CPU frame with the given presentation time.
    pub fn from_cpu(image: CpuImage, pts: Timestamp) -> Self {
        Self {
            pts,
            duration: None,
            capture_time: None,
            arrival_time: None,
            image: FrameImage::Cpu(image),
        }
    }

    /// A frame in a Vulkan image with the given presentation time.
    pub fn from_gpu(image: GpuFrame, pts: Timestamp) -> Self {
        Self {
            pts,
            duration: None,
            capture_time: None,
            arrival_time: None,
            image: FrameImage::Gpu(image),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_recycles_buffers() {
        let pool = BufferPool::new();
        let a = CpuImage::new(PixelFormat::I420, 64, 32, Some(&pool)).unwrap();
        let ptr = a.data().as_ptr();
        drop(a);
        assert_eq!(pool.free_count(), 1);
        let b = CpuImage::new(PixelFormat::I420, 64, 32, Some(&pool)).unwrap();
        assert_eq!(b.data().as_ptr(), ptr, "the buffer was reused");
        assert_eq!(pool.free_count(), 0);
    }

    #[test]
    fn from_buffer_rejects_layouts_that_do_not_fit() {
        let buf = FrameBuffer::from_vec(vec![0; 100]);
        let planes = vec![PlaneLayout {
            offset: 0,
            stride: 16,
        }];
        let e = CpuImage::from_buffer(PixelFormat::Bgra8, 4, 8, planes, buf).unwrap_err();
        assert!(e.to_string().contains("past the end"), "{e}");
        let buf = FrameBuffer::from_vec(vec![0; 128]);
        let planes = vec![PlaneLayout {
            offset: 0,
            stride: 8,
        }];
        let e = CpuImage::from_buffer(PixelFormat::Bgra8, 4, 8, planes, buf).unwrap_err();
        assert!(e.to_string().contains("stride 8"), "{e}");
    }

    #[test]
    fn rows_address_their_plane() {
        let mut img = CpuImage::new(PixelFormat::Nv12, 4, 2, None).unwrap();
        img.row_mut(1, 0).copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(&img.data()[8..12], &[1, 2, 3, 4]);
        assert_eq!(img.row(0, 1).len(), 4);
    }
}
