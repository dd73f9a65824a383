//! Frames in a producer's DMA-BUF: a compositor's or PipeWire's buffer handed to the session
//! as it is, to be imported into the session's Vulkan device and read there — never mapped
//! or copied by the CPU.
//!
//! Plain data: the buffer's fd (a duplicate GhostStream owns), its layout, a key that lets the
//! reader import each buffer once, and a lease that gives the buffer back to its producer when
//! the last holder of the frame lets go (after the GPU has read it). This module calls no
//! Vulkan function; `crate::gpu` imports and reads the buffer.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use crate::format::PixelFormat;

/// Which buffer a frame is in, for the reader's import cache: the same key is the same memory
/// with the same layout. A producer's renegotiation (a new size, format or modifier) starts a
/// new `generation`, whose buffers replace every earlier one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DmaBufKey {
    /// Bumped each time the producer's buffers are replaced.
    pub generation: u64,
    /// The buffer within its generation.
    pub index: u64,
}

/// Something that hands a producer's buffer back when dropped (the last clone of a frame's
/// lease).
pub trait Lease: Send + Sync + std::fmt::Debug {}

/// A pointer to draw over a frame that the CPU never touches: its picture (straight-alpha
/// RGBA8, rows packed) and where its top-left corner lies in the frame (hot spot already
/// subtracted; it may hang over any edge). The GPU draws it after the frame's pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointerOverlay {
    /// Column of the picture's left edge in frame pixels.
    pub left: i32,
    /// Row of the picture's top edge in frame pixels.
    pub top: i32,
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// `width * height` RGBA pixels, straight alpha.
    pub rgba: Arc<[u8]>,
}

/// A frame in a single-plane DMA-BUF.
#[derive(Clone, Debug)]
pub struct DmaBufFrame {
    fd: Arc<OwnedFd>,
    format: PixelFormat,
    width: u32,
    height: u32,
    modifier: u64,
    offset: u64,
    stride: u64,
    key: DmaBufKey,
    /// Held, not read: the buffer goes back to its producer when the last clone drops.
    _lease: Arc<dyn Lease>,
    pointer: Option<PointerOverlay>,
}

/// The layout of a single-plane DMA-BUF frame, as its producer describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaBufLayout {
    /// Pixel format (RGBA8, BGRA8, RGB10A2 or RGBA16F).
    pub format: PixelFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The DRM format modifier (0: LINEAR).
    pub modifier: u64,
    /// Byte offset of the first row in the buffer.
    pub offset: u64,
    /// Bytes from one row to the next.
    pub stride: u64,
}

impl DmaBufFrame {
    /// A frame in `fd` laid out as `layout`; `lease` goes with every clone and gives the
    /// buffer back to its producer when the last one is dropped.
    pub fn new(
        fd: Arc<OwnedFd>,
        layout: DmaBufLayout,
        key: DmaBufKey,
        lease: Arc<dyn Lease>,
    ) -> Self {
        Self {
            fd,
            format: layout.format,
            width: layout.width,
            height: layout.height,
            modifier: layout.modifier,
            offset: layout.offset,
            stride: layout.stride,
            key,
            _lease: lease,
            pointer: None,
        }
    }

    /// The frame with `pointer` to draw over it (`None`: no pointer).
    pub fn with_pointer(mut self, pointer: Option<PointerOverlay>) -> Self {
        self.pointer = pointer.filter(|p| {
            p.width > 0 && p.height > 0 && p.rgba.len() == p.width as usize * p.height as usize * 4
        });
        self
    }

    /// The pointer drawn over the frame, if any.
    pub fn pointer(&self) -> Option<&PointerOverlay> {
        self.pointer.as_ref()
    }

    /// The buffer's fd (GhostStream's own duplicate).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Pixel format.
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

    /// The layout.
    pub fn layout(&self) -> DmaBufLayout {
        DmaBufLayout {
            format: self.format,
            width: self.width,
            height: self.height,
            modifier: self.modifier,
            offset: self.offset,
            stride: self.stride,
        }
    }

    /// The import-cache key.
    pub fn key(&self) -> DmaBufKey {
        self.key
    }
}
