//! The thin unsafe layer over PipeWire's buffers: what a dequeued `pw_buffer` holds (its
//! mapped pixels, its chunk, its header and damage metadata), read once into safe values.
//!
//! A [`HeldBuffer`] is a buffer the capture has dequeued and not yet queued back. PipeWire
//! keeps its memory mapped until the buffer is queued back or removed, and both happen on the
//! capture's loop thread under the same lock the reader takes, so a view read under that lock
//! stays valid for as long as the lock is held.

use pipewire::spa::sys as spa_sys;
use pipewire::stream::StreamRef;
use pipewire::sys as pw_sys;

/// Takes the next filled buffer from `stream`, `None` when there is none.
pub(crate) fn dequeue(stream: &StreamRef) -> Option<HeldBuffer> {
    // SAFETY: dequeuing has no precondition beyond a live stream; the buffer is owned by
    // `HeldBuffer` until `queue_back` (or its removal) hands it back.
    HeldBuffer::new(unsafe { stream.dequeue_raw_buffer() })
}

/// Hands `buffer` back to `stream` for the producer to fill again.
pub(crate) fn queue_back(stream: &StreamRef, buffer: HeldBuffer) {
    // SAFETY: `buffer` was dequeued from this stream (only `dequeue` makes one) and is queued
    // back once: it is consumed here.
    unsafe { stream.queue_raw_buffer(buffer.as_ptr()) }
}

/// The pixels and layout of one dequeued buffer's first data plane.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PlaneView<'a> {
    /// The whole mapped region (`maxsize` bytes).
    pub bytes: &'a [u8],
    /// Where the frame starts in it.
    pub offset: usize,
    /// Bytes of frame data (from `offset`).
    pub size: usize,
    /// Bytes per row; 0 when the producer did not say.
    pub stride: usize,
    /// The producer marked the chunk corrupted.
    pub corrupted: bool,
}

/// The first data plane of a DMA-BUF buffer, as its chunk describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DmaBufPlane {
    /// PipeWire's fd for the buffer (borrowed: valid while the buffer is held).
    pub fd: i32,
    /// Where the frame starts.
    pub offset: u64,
    /// Bytes per row.
    pub stride: u64,
    /// Bytes of frame data (0: an empty chunk, no picture).
    pub size: u64,
    /// The producer marked the chunk corrupted.
    pub corrupted: bool,
}

/// What a buffer's metadata says about its frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BufferMeta {
    /// The producer's timestamp in nanoseconds (`spa_meta_header.pts`), when it gave one.
    pub pts: Option<i64>,
    /// The producer's frame counter (`spa_meta_header.seq`).
    pub seq: Option<u64>,
    /// The producer marked the frame corrupted (header or chunk flag).
    pub corrupted: bool,
    /// Rectangles of damage the producer listed (`SPA_META_VideoDamage`), `None` without the
    /// metadata.
    pub damage_regions: Option<u32>,
}

/// A pointer picture from the producer's cursor metadata, as straight RGBA bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CursorBitmap {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` RGBA pixels, rows packed.
    pub rgba: Vec<u8>,
}

/// What a buffer's `SPA_META_Cursor` says (only when its id is not 0, which means "no new
/// cursor data").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CursorUpdate {
    /// Where the pointer is, in frame pixels.
    pub position: (i32, i32),
    /// The pointer's hot spot inside its picture.
    pub hotspot: (i32, i32),
    /// `None`: no new picture (keep the last); `Some(None)`: the pointer is invisible;
    /// `Some(Some(b))`: a new picture.
    pub bitmap: Option<Option<CursorBitmap>>,
}

/// The largest pointer picture asked for and accepted (pixels a side).
pub(crate) const CURSOR_MAX_SIDE: u32 = 256;

/// Bytes of cursor metadata holding a `side`x`side` picture.
pub(crate) fn cursor_meta_size(side: u32) -> usize {
    std::mem::size_of::<spa_sys::spa_meta_cursor>()
        + std::mem::size_of::<spa_sys::spa_meta_bitmap>()
        + (side * side * 4) as usize
}

/// The RGBA byte order of a pointer picture in an SPA video format, `None` for formats that
/// are not 8-bit with alpha.
fn rgba_order(format: u32) -> Option<[usize; 4]> {
    // Index of R, G, B and A in each 4-byte pixel.
    match format {
        spa_sys::SPA_VIDEO_FORMAT_RGBA => Some([0, 1, 2, 3]),
        spa_sys::SPA_VIDEO_FORMAT_BGRA => Some([2, 1, 0, 3]),
        spa_sys::SPA_VIDEO_FORMAT_ARGB => Some([1, 2, 3, 0]),
        spa_sys::SPA_VIDEO_FORMAT_ABGR => Some([3, 2, 1, 0]),
        _ => None,
    }
}

/// How the buffer's memory reached this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Memory {
    /// Mapped shared memory (`MemFd`) or a pointer in the producer's address space shared
    /// with this one (`MemPtr`).
    Mapped,
    /// A DMA-BUF that PipeWire did not map.
    DmaBuf,
    /// Any other kind, by its SPA data type.
    Other(u32),
}

/// A buffer dequeued from the capture stream and not yet queued back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HeldBuffer(*mut pw_sys::pw_buffer);

// SAFETY: the pointer is only dereferenced under the capture's lock, and the buffer is only
// queued back or removed on the loop thread under that same lock (module documentation).
unsafe impl Send for HeldBuffer {}

impl HeldBuffer {
    /// Wraps a non-null buffer from `pw_stream_dequeue_buffer`.
    pub fn new(raw: *mut pw_sys::pw_buffer) -> Option<Self> {
        (!raw.is_null()).then_some(Self(raw))
    }

    /// The raw pointer, to queue it back or to compare with a removed one.
    pub fn as_ptr(&self) -> *mut pw_sys::pw_buffer {
        self.0
    }

    fn spa(&self) -> Option<&spa_sys::spa_buffer> {
        // SAFETY: `self.0` is a live pw_buffer (dequeued, not queued back or removed); its
        // `buffer` field is null or points at the spa_buffer PipeWire keeps for it.
        unsafe { (*self.0).buffer.as_ref() }
    }

    /// The first data plane's memory kind.
    pub fn memory(&self) -> Option<Memory> {
        let spa = self.spa()?;
        if spa.n_datas == 0 || spa.datas.is_null() {
            return None;
        }
        // SAFETY: `datas` points at `n_datas` (> 0) spa_data entries.
        let data = unsafe { &*spa.datas };
        Some(match data.type_ {
            spa_sys::SPA_DATA_MemFd | spa_sys::SPA_DATA_MemPtr => Memory::Mapped,
            spa_sys::SPA_DATA_DmaBuf if data.data.is_null() => Memory::DmaBuf,
            spa_sys::SPA_DATA_DmaBuf => Memory::Mapped,
            other => Memory::Other(other),
        })
    }

    /// The first data plane of a DMA-BUF buffer: its fd (PipeWire's, valid while the buffer
    /// is held), where the frame starts, its row pitch and size. `None` for other memory.
    pub fn dmabuf_plane(&self) -> Option<DmaBufPlane> {
        let spa = self.spa()?;
        if spa.n_datas == 0 || spa.datas.is_null() {
            return None;
        }
        // SAFETY: `datas` points at `n_datas` (> 0) spa_data entries.
        let data = unsafe { &*spa.datas };
        if data.type_ != spa_sys::SPA_DATA_DmaBuf || data.chunk.is_null() {
            return None;
        }
        // SAFETY: `chunk` was checked non-null and belongs to this data plane.
        let chunk = unsafe { &*data.chunk };
        Some(DmaBufPlane {
            fd: i32::try_from(data.fd).ok()?,
            offset: u64::from(chunk.offset),
            stride: u64::try_from(chunk.stride).ok()?,
            size: u64::from(chunk.size),
            corrupted: u32::from_ne_bytes(chunk.flags.to_ne_bytes())
                & spa_sys::SPA_CHUNK_FLAG_CORRUPTED
                != 0,
        })
    }

    /// The first data plane's mapped bytes and chunk, `None` when it is not mapped.
    pub fn plane(&self) -> Option<PlaneView<'_>> {
        let spa = self.spa()?;
        if spa.n_datas == 0 || spa.datas.is_null() {
            return None;
        }
        // SAFETY: as in `memory`.
        let data = unsafe { &*spa.datas };
        if data.data.is_null() || data.chunk.is_null() {
            return None;
        }
        // SAFETY: with MAP_BUFFERS, `data` is mapped for `maxsize` bytes until the buffer is
        // queued back or removed, which cannot happen while `self` is borrowed (module doc).
        let bytes =
            unsafe { std::slice::from_raw_parts(data.data as *const u8, data.maxsize as usize) };
        // SAFETY: `chunk` was checked non-null and belongs to this data plane.
        let chunk = unsafe { &*data.chunk };
        Some(PlaneView {
            bytes,
            offset: chunk.offset as usize,
            size: chunk.size as usize,
            stride: usize::try_from(chunk.stride).unwrap_or(0),
            corrupted: u32::from_ne_bytes(chunk.flags.to_ne_bytes())
                & spa_sys::SPA_CHUNK_FLAG_CORRUPTED
                != 0,
        })
    }

    #[cfg(feature = "test-support")]
    /// Fills the first data plane (a producer's buffer): `write` gets the mapped bytes and
    /// returns the frame's size and stride, which go into the chunk. False when the buffer is
    /// not mapped.
    pub fn fill(&mut self, write: impl FnOnce(&mut [u8]) -> (usize, usize)) -> bool {
        let Some(spa) = self.spa() else { return false };
        if spa.n_datas == 0 || spa.datas.is_null() {
            return false;
        }
        // SAFETY: `datas` points at `n_datas` (> 0) entries; the buffer is dequeued, so this
        // side owns its contents until it is queued back.
        let data = unsafe { &mut *spa.datas };
        if data.data.is_null() || data.chunk.is_null() {
            return false;
        }
        // SAFETY: mapped for `maxsize` bytes (MAP_BUFFERS) while the buffer is dequeued.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(data.data.cast::<u8>(), data.maxsize as usize)
        };
        let (size, stride) = write(bytes);
        // SAFETY: `chunk` was checked non-null and belongs to this plane.
        let chunk = unsafe { &mut *data.chunk };
        chunk.offset = 0;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_possible_wrap,
            reason = "the writer fills at most the mapped maxsize (a u32) bytes"
        )]
        let (size, stride) = (size as u32, stride as i32);
        chunk.size = size;
        chunk.stride = stride;
        chunk.flags = 0;
        true
    }

    #[cfg(feature = "test-support")]
    /// Writes the header metadata (a producer's timestamp and frame number), when the
    /// consumer asked for it.
    pub fn set_header(&mut self, pts: i64, seq: u64) {
        let size = std::mem::size_of::<spa_sys::spa_meta_header>();
        let Some(bytes) = self.meta_bytes_mut(spa_sys::SPA_META_Header, size) else {
            return;
        };
        let header = spa_sys::spa_meta_header {
            flags: 0,
            offset: 0,
            pts,
            dts_offset: 0,
            seq,
        };
        // SAFETY: at least a header's bytes (found above); written unaligned, as read.
        unsafe { std::ptr::write_unaligned(bytes.as_mut_ptr().cast(), header) };
    }

    /// Where the metadata entry of `kind` with at least `min` bytes lies, and its size.
    fn meta_region(&self, kind: u32, min: usize) -> Option<(*mut u8, usize)> {
        let spa = self.spa()?;
        if spa.metas.is_null() {
            return None;
        }
        // SAFETY: `metas` points at `n_metas` spa_meta entries.
        let metas = unsafe { std::slice::from_raw_parts(spa.metas, spa.n_metas as usize) };
        let m = metas
            .iter()
            .find(|m| m.type_ == kind && !m.data.is_null() && m.size as usize >= min)?;
        Some((m.data.cast::<u8>(), m.size as usize))
    }

    /// The metadata entry of `kind` with at least `min` bytes.
    fn meta_bytes(&self, kind: u32, min: usize) -> Option<&[u8]> {
        let (data, size) = self.meta_region(kind, min)?;
        // SAFETY: a meta's `data` holds `size` bytes for as long as the buffer is dequeued,
        // which outlives this borrow of `self` (module documentation).
        Some(unsafe { std::slice::from_raw_parts(data, size) })
    }

    #[cfg(feature = "test-support")]
    /// The metadata entry of `kind` with at least `min` bytes, to write (a producer's side).
    fn meta_bytes_mut(&mut self, kind: u32, min: usize) -> Option<&mut [u8]> {
        let (data, size) = self.meta_region(kind, min)?;
        // SAFETY: as in `meta_bytes`; the side holding the buffer dequeued is the only one
        // touching it, and `&mut self` makes this the only view.
        Some(unsafe { std::slice::from_raw_parts_mut(data, size) })
    }

    /// The pointer's position and picture from `SPA_META_Cursor`, `None` without new cursor
    /// data ([`parse_cursor_meta`] reads it).
    pub fn cursor(&self) -> Option<CursorUpdate> {
        let head = std::mem::size_of::<spa_sys::spa_meta_cursor>();
        parse_cursor_meta(self.meta_bytes(spa_sys::SPA_META_Cursor, head)?)
    }

    #[cfg(feature = "test-support")]
    /// Writes cursor metadata (a producer's pointer) when the consumer asked for it: the
    /// position, hot spot and an RGBA picture; `None` writes id 0 (no pointer data).
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_possible_wrap,
        reason = "offsets are the sizes of two small SPA structs; a cursor's side is at most CURSOR_MAX_SIDE"
    )]
    pub fn set_cursor(
        &mut self,
        position: (i32, i32),
        hotspot: (i32, i32),
        picture: Option<&CursorBitmap>,
    ) {
        let head = std::mem::size_of::<spa_sys::spa_meta_cursor>();
        let bitmap_head = std::mem::size_of::<spa_sys::spa_meta_bitmap>();
        let Some(picture) = picture else {
            if let Some(bytes) = self.meta_bytes_mut(spa_sys::SPA_META_Cursor, head) {
                bytes[..4].fill(0);
            }
            return;
        };
        let pixels = picture.rgba.len();
        let Some(bytes) =
            self.meta_bytes_mut(spa_sys::SPA_META_Cursor, head + bitmap_head + pixels)
        else {
            return;
        };
        let cursor = spa_sys::spa_meta_cursor {
            id: 1,
            flags: 0,
            position: spa_sys::spa_point {
                x: position.0,
                y: position.1,
            },
            hotspot: spa_sys::spa_point {
                x: hotspot.0,
                y: hotspot.1,
            },
            bitmap_offset: head as u32,
        };
        let bitmap = spa_sys::spa_meta_bitmap {
            format: spa_sys::SPA_VIDEO_FORMAT_RGBA,
            size: spa_sys::spa_rectangle {
                width: picture.width,
                height: picture.height,
            },
            stride: (picture.width * 4) as i32,
            offset: bitmap_head as u32,
        };
        // SAFETY: the metadata holds at least head + bitmap_head + pixels bytes (found above);
        // written unaligned, as the consumer reads it.
        unsafe {
            std::ptr::write_unaligned(bytes.as_mut_ptr().cast(), cursor);
            std::ptr::write_unaligned(bytes[head..].as_mut_ptr().cast(), bitmap);
        }
        bytes[head + bitmap_head..][..pixels].copy_from_slice(&picture.rgba);
    }

    /// The buffer's header and damage metadata ([`parse_buffer_meta`] reads them).
    pub fn meta(&self) -> BufferMeta {
        let header_size = std::mem::size_of::<spa_sys::spa_meta_header>();
        parse_buffer_meta(
            self.meta_bytes(spa_sys::SPA_META_Header, header_size),
            self.meta_bytes(spa_sys::SPA_META_VideoDamage, 0),
        )
    }
}

/// Reads `SPA_META_Cursor` metadata (the bytes PipeWire's producer wrote, of any length): the
/// pointer's position and picture, `None` without new cursor data. Every offset and size inside
/// the metadata is checked against its length. Public (hidden) for the fuzz targets.
#[doc(hidden)]
pub fn parse_cursor_meta(bytes: &[u8]) -> Option<CursorUpdate> {
    let head = std::mem::size_of::<spa_sys::spa_meta_cursor>();
    if bytes.len() < head {
        return None;
    }
    // SAFETY: at least `head` bytes; read unaligned, as the layout is the producer's (any bit
    // pattern is a valid spa_meta_cursor: integers only).
    let cursor: spa_sys::spa_meta_cursor =
        unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
    if cursor.id == 0 {
        return None;
    }
    let mut update = CursorUpdate {
        position: (cursor.position.x, cursor.position.y),
        hotspot: (cursor.hotspot.x, cursor.hotspot.y),
        bitmap: None,
    };
    let at = cursor.bitmap_offset as usize;
    let bitmap_head = std::mem::size_of::<spa_sys::spa_meta_bitmap>();
    if at < head || at.saturating_add(bitmap_head) > bytes.len() {
        return Some(update);
    }
    // SAFETY: `bitmap_head` bytes at `at` are inside the metadata (checked above).
    let bitmap: spa_sys::spa_meta_bitmap =
        unsafe { std::ptr::read_unaligned(bytes[at..].as_ptr().cast()) };
    if bitmap.format == 0 {
        return Some(update);
    }
    if bitmap.offset == 0 {
        update.bitmap = Some(None);
        return Some(update);
    }
    let (w, h) = (bitmap.size.width, bitmap.size.height);
    let order = rgba_order(bitmap.format);
    let stride = if bitmap.stride > 0 {
        bitmap.stride.unsigned_abs() as usize
    } else {
        w as usize * 4
    };
    let start = at.saturating_add(bitmap.offset as usize);
    let needed = stride
        .saturating_mul(h.saturating_sub(1) as usize)
        .saturating_add(w as usize * 4);
    let fits = w > 0
        && h > 0
        && w <= CURSOR_MAX_SIDE
        && h <= CURSOR_MAX_SIDE
        && stride >= w as usize * 4
        && start.saturating_add(needed) <= bytes.len();
    let (Some(order), true) = (order, fits) else {
        tracing::debug!(
            format = bitmap.format,
            w,
            h,
            "unusable cursor picture ignored"
        );
        return Some(update);
    };
    let mut rgba = Vec::with_capacity(w as usize * h as usize * 4);
    for y in 0..h as usize {
        for px in bytes[start + y * stride..][..w as usize * 4].chunks_exact(4) {
            rgba.extend(order.map(|i| px[i]));
        }
    }
    update.bitmap = Some(Some(CursorBitmap {
        width: w,
        height: h,
        rgba,
    }));
    Some(update)
}

/// Reads a buffer's `SPA_META_Header` and `SPA_META_VideoDamage` metadata (the producer's bytes,
/// of any length; `None` where the buffer has none). Public (hidden) for the fuzz targets.
#[doc(hidden)]
pub fn parse_buffer_meta(header: Option<&[u8]>, damage: Option<&[u8]>) -> BufferMeta {
    let mut meta = BufferMeta::default();
    let header_size = std::mem::size_of::<spa_sys::spa_meta_header>();
    if let Some(bytes) = header.filter(|b| b.len() >= header_size) {
        // SAFETY: at least a header's bytes; read unaligned, as the producer laid it out (any
        // bit pattern is a valid spa_meta_header: integers only).
        let h: spa_sys::spa_meta_header =
            unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
        meta.pts = (h.pts > 0).then_some(h.pts);
        meta.seq = Some(h.seq);
        meta.corrupted |= h.flags & spa_sys::SPA_META_HEADER_FLAG_CORRUPTED != 0;
    }
    if let Some(bytes) = damage {
        let region = std::mem::size_of::<spa_sys::spa_meta_region>();
        // The list ends at the first empty region when shorter than the array.
        let listed = bytes
            .chunks_exact(region)
            .map(|r| {
                // SAFETY: a whole region's bytes; read unaligned (integers only).
                unsafe { std::ptr::read_unaligned(r.as_ptr().cast::<spa_sys::spa_meta_region>()) }
            })
            .take_while(|r| r.region.size.width > 0 && r.region.size.height > 0)
            .count();
        meta.damage_regions = Some(u32::try_from(listed).unwrap_or(u32::MAX));
    }
    meta
}

/// Memory a producer allocated for one of its buffers (the test node's DMA-BUF mode): a memfd
/// mapped into this process, typed `SPA_DATA_DmaBuf` (the stand-in for a GPU buffer where no
/// /dev/dri exists) or `SPA_DATA_MemFd`. Unmapped and closed on drop.
#[cfg(feature = "test-support")]
#[derive(Debug)]
pub(crate) struct ProducerMemory {
    _fd: std::os::fd::OwnedFd,
    map: *mut std::ffi::c_void,
    len: usize,
}

// SAFETY: the mapping is owned by this value alone and only written through the buffer it
// was attached to, on the producer's loop thread.
#[cfg(feature = "test-support")]
unsafe impl Send for ProducerMemory {}

#[cfg(feature = "test-support")]
impl Drop for ProducerMemory {
    fn drop(&mut self) {
        // SAFETY: `map` is the mapping of `len` bytes made in `attach_memfd`, unmapped once.
        let _ = unsafe { rustix::mm::munmap(self.map, self.len) };
    }
}

/// Allocates a buffer's memory on the producer's side (`PW_STREAM_FLAG_ALLOC_BUFFERS`): a
/// memfd of `size` bytes, given to the first data plane as a DMA-BUF when the negotiated
/// types allow it, else as a MemFd. `None` when the buffer has no data plane or allows
/// neither type.
///
/// # Safety
/// `raw` is a buffer the stream has just handed to its `add_buffer` callback, not yet used.
#[cfg(feature = "test-support")]
pub(crate) unsafe fn attach_memfd(
    raw: *mut pw_sys::pw_buffer,
    size: usize,
) -> std::io::Result<Option<ProducerMemory>> {
    use std::os::fd::AsRawFd;
    // SAFETY: forwarded from the caller: `raw` is live; its spa_buffer and datas are PipeWire's.
    let Some(spa) = (unsafe { (*raw).buffer.as_mut() }) else {
        return Ok(None);
    };
    if spa.n_datas == 0 || spa.datas.is_null() {
        return Ok(None);
    }
    // SAFETY: `datas` points at `n_datas` (> 0) entries, ours to fill in add_buffer.
    let data = unsafe { &mut *spa.datas };
    // In add_buffer, the type field holds the negotiated types as a bit mask.
    let allowed = data.type_;
    let kind = if allowed & (1 << spa_sys::SPA_DATA_DmaBuf) != 0 {
        spa_sys::SPA_DATA_DmaBuf
    } else if allowed & (1 << spa_sys::SPA_DATA_MemFd) != 0 {
        spa_sys::SPA_DATA_MemFd
    } else {
        return Ok(None);
    };
    let fd = rustix::fs::memfd_create("ghoststream-test-node", rustix::fs::MemfdFlags::CLOEXEC)?;
    rustix::fs::ftruncate(&fd, size as u64)?;
    // SAFETY: a fresh shared mapping of the whole memfd, unmapped in ProducerMemory's Drop.
    let map = unsafe {
        rustix::mm::mmap(
            std::ptr::null_mut(),
            size,
            rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
            rustix::mm::MapFlags::SHARED,
            &fd,
            0,
        )
    }?;
    data.type_ = kind;
    data.flags = spa_sys::SPA_DATA_FLAG_READWRITE;
    data.fd = i64::from(fd.as_raw_fd());
    data.mapoffset = 0;
    data.maxsize = u32::try_from(size).map_err(|_| std::io::Error::other("buffer too large"))?;
    data.data = map;
    Ok(Some(ProducerMemory {
        _fd: fd,
        map,
        len: size,
    }))
}
