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

/// What a buffer's metadata says about its frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct BufferMeta {
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
            stride: chunk.stride.max(0) as usize,
            corrupted: chunk.flags & spa_sys::SPA_CHUNK_FLAG_CORRUPTED as i32 != 0,
        })
    }

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
        let bytes =
            unsafe { std::slice::from_raw_parts_mut(data.data as *mut u8, data.maxsize as usize) };
        let (size, stride) = write(bytes);
        // SAFETY: `chunk` was checked non-null and belongs to this plane.
        let chunk = unsafe { &mut *data.chunk };
        chunk.offset = 0;
        chunk.size = size as u32;
        chunk.stride = stride as i32;
        chunk.flags = 0;
        true
    }

    /// Writes the header metadata (a producer's timestamp and frame number), when the
    /// consumer asked for it.
    pub fn set_header(&mut self, pts: i64, seq: u64) {
        let Some(spa) = self.spa() else { return };
        if spa.metas.is_null() {
            return;
        }
        // SAFETY: `metas` points at `n_metas` entries.
        let metas = unsafe { std::slice::from_raw_parts(spa.metas, spa.n_metas as usize) };
        for m in metas {
            if m.type_ == spa_sys::SPA_META_Header
                && !m.data.is_null()
                && m.size as usize >= std::mem::size_of::<spa_sys::spa_meta_header>()
            {
                // SAFETY: a header meta of at least the header's size, owned by this side
                // while the buffer is dequeued.
                let h = unsafe { &mut *(m.data as *mut spa_sys::spa_meta_header) };
                h.pts = pts;
                h.seq = seq;
                h.flags = 0;
                h.dts_offset = 0;
            }
        }
    }

    /// The buffer's header and damage metadata.
    pub fn meta(&self) -> BufferMeta {
        let mut meta = BufferMeta::default();
        let Some(spa) = self.spa() else {
            return meta;
        };
        if spa.metas.is_null() {
            return meta;
        }
        // SAFETY: `metas` points at `n_metas` spa_meta entries.
        let metas = unsafe { std::slice::from_raw_parts(spa.metas, spa.n_metas as usize) };
        for m in metas {
            if m.data.is_null() {
                continue;
            }
            match m.type_ {
                spa_sys::SPA_META_Header
                    if m.size as usize >= std::mem::size_of::<spa_sys::spa_meta_header>() =>
                {
                    // SAFETY: a header meta of at least the header's size.
                    let h = unsafe { &*(m.data as *const spa_sys::spa_meta_header) };
                    meta.pts = (h.pts > 0).then_some(h.pts);
                    meta.seq = Some(h.seq);
                    meta.corrupted |= h.flags & spa_sys::SPA_META_HEADER_FLAG_CORRUPTED != 0;
                }
                spa_sys::SPA_META_VideoDamage => {
                    let n = m.size as usize / std::mem::size_of::<spa_sys::spa_meta_region>();
                    // SAFETY: the damage meta is an array of `size / sizeof` regions.
                    let regions = unsafe {
                        std::slice::from_raw_parts(m.data as *const spa_sys::spa_meta_region, n)
                    };
                    // The list ends at the first empty region when shorter than the array.
                    let listed = regions
                        .iter()
                        .take_while(|r| r.region.size.width > 0 && r.region.size.height > 0)
                        .count();
                    meta.damage_regions = Some(listed as u32);
                }
                _ => {}
            }
        }
        meta
    }
}
