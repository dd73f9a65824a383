//! Frames in a producer's DMA-BUF: a compositor's or PipeWire's buffer handed to the session
//! as it is, to be imported into the session's Vulkan device and read there — never mapped
//! or copied by the CPU.
//!
//! Plain data: the buffer's fd (a duplicate GhostStream owns), its layout, a key that lets the
//! reader import each buffer once, and a lease that gives the buffer back to its producer when
//! the last holder of the frame lets go (after the GPU has read it). This module calls no
//! Vulkan function; `crate::gpu` imports and reads the buffer. A frame with explicit sync also
//! carries the producer's DRM syncobj timeline points ([`ExplicitSync`]).

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
    /// The producer's explicit synchronization, when both sides negotiated it.
    sync: Option<ExplicitSync>,
    /// Held, not read: the buffer goes back to its producer when the last clone drops.
    _lease: Arc<dyn Lease>,
    pointer: Option<PointerOverlay>,
}

/// A point on a DRM syncobj timeline: the syncobj (GhostStream's duplicate of the producer's
/// fd) and the 64-bit point on it.
#[derive(Clone, Debug)]
pub struct SyncPoint {
    fd: Arc<OwnedFd>,
    point: u64,
}

impl SyncPoint {
    /// The point `point` on the timeline syncobj `fd`.
    pub fn new(fd: Arc<OwnedFd>, point: u64) -> Self {
        Self { fd, point }
    }

    /// The syncobj's fd (a DRM syncobj; import it with `DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE` or
    /// as a Vulkan timeline semaphore).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The point on the timeline.
    pub fn point(&self) -> u64 {
        self.point
    }
}

/// Explicit synchronization of a DMA-BUF frame (PipeWire's `SPA_META_SyncTimeline`): the
/// producer signals `acquire` when its writes are done (read the buffer only after it), and
/// waits for `release` before it writes the buffer again. Whoever holds the last clone of the
/// frame has finished reading it; the release guard given at construction signals `release`
/// when that clone goes.
#[derive(Clone, Debug)]
pub struct ExplicitSync {
    acquire: SyncPoint,
    release: SyncPoint,
    /// Held, not read: signals the release point when the last clone drops.
    _release_guard: Arc<dyn Lease>,
}

impl ExplicitSync {
    /// The producer's `acquire` and `release` points; `release_guard` goes with every clone
    /// and signals `release` when the last one is dropped.
    pub fn new(acquire: SyncPoint, release: SyncPoint, release_guard: Arc<dyn Lease>) -> Self {
        Self {
            acquire,
            release,
            _release_guard: release_guard,
        }
    }

    /// The point to wait for before reading the frame.
    pub fn acquire(&self) -> &SyncPoint {
        &self.acquire
    }

    /// The point signaled once the frame is no longer read.
    pub fn release(&self) -> &SyncPoint {
        &self.release
    }
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
            sync: None,
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

    /// The frame with the producer's explicit synchronization (its acquire point is to be
    /// waited for before the buffer is read).
    pub fn with_explicit_sync(mut self, sync: ExplicitSync) -> Self {
        self.sync = Some(sync);
        self
    }

    /// The producer's explicit synchronization; `None`: implicit (the kernel orders the
    /// accesses to the DMA-BUF).
    pub fn explicit_sync(&self) -> Option<&ExplicitSync> {
        self.sync.as_ref()
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
