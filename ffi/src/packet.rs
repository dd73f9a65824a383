//! Packets handed to the caller, and each one's frame statistics.

use ghoststream::{FrameStats, Packet, Timestamp};

use crate::handles;
use crate::result::GS_OK;
use crate::structs::{size_of_struct, write_out, OutputStruct};

/// An encoded packet (opaque), owned by the caller until `gs_packet_release`.
pub struct GsPacket {
    pub(crate) packet: Packet,
}

/// Where one frame's time went, for `gs_packet_stats`. Times are `CLOCK_MONOTONIC`
/// nanoseconds; 0 when not measured. Set `size` before the call. ABI 0.4 added the fields
/// from `encode_gpu_time_ns` on; a caller built against an older header (88 bytes) gets the
/// fields before them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct GsFrameStats {
    /// `sizeof(GsFrameStats)`, set by the caller.
    pub size: u32,
    /// 1 when the frame was dropped by back-pressure (never for a packet's own stats).
    pub dropped: i32,
    /// The frame's number in submission order.
    pub frame_number: u64,
    /// Presentation time.
    pub pts_ns: i64,
    /// Display duration.
    pub duration_ns: i64,
    /// When the frame was captured (as the caller gave it).
    pub capture_time_ns: i64,
    /// When it was submitted.
    pub submit_time_ns: i64,
    /// When the encoder took it.
    pub encode_start_ns: i64,
    /// When its packet was ready.
    pub packet_ready_ns: i64,
    /// GPU time of its processing pass (duration).
    pub gpu_time_ns: i64,
    /// When the GPU pass started, mapped onto `CLOCK_MONOTONIC`.
    pub gpu_start_ns: i64,
    /// When the GPU pass ended.
    pub gpu_end_ns: i64,
    /// GPU time the encoder spent on the frame (duration), where it measured it (Vulkan
    /// Video: timestamps around the encode on the video-encode queue). ABI 0.4.
    pub encode_gpu_time_ns: i64,
    /// When the frame's encode started on the GPU, mapped onto `CLOCK_MONOTONIC`, where the
    /// device maps its clock. ABI 0.4.
    pub encode_gpu_start_ns: i64,
    /// When the frame's encode ended on the GPU, as `encode_gpu_start_ns`. ABI 0.4.
    pub encode_gpu_end_ns: i64,
    /// Bytes the CPU copied for the frame: a capture's read-out of the producer's shared
    /// memory, its upload into a staging buffer and the read-back of the converted frame. 0 on
    /// a zero-copy path (a DMA-BUF or GPU frame handed to the encoder in place); a software
    /// encoder's read-back counts. The copy a `gs_session_submit_cpu` (or `_i420`) makes of
    /// the caller's planes during the call is not counted. ABI 0.4.
    pub cpu_copy_bytes: u64,
}

/// The size of `GsFrameStats` in ABI 0.2 (its first version) and 0.3: up to `gpu_end_ns`.
const FRAME_STATS_V0_2: u32 = 88;

impl OutputStruct for GsFrameStats {
    const NAME: &'static str = "GsFrameStats";
    const FIRST_SIZE: u32 = FRAME_STATS_V0_2;
}

// ABI 0.4's fields begin where ABI 0.3's struct ended, so that an older struct is a prefix.
const _: () =
    assert!(std::mem::offset_of!(GsFrameStats, encode_gpu_time_ns) == FRAME_STATS_V0_2 as usize);

fn nanos(t: Option<Timestamp>) -> i64 {
    t.map_or(0, |t| t.as_nanos())
}

impl GsFrameStats {
    pub(crate) fn from_stats(s: &FrameStats) -> Self {
        Self {
            size: size_of_struct::<GsFrameStats>(),
            dropped: i32::from(s.dropped),
            frame_number: s.frame_number,
            pts_ns: s.pts.as_nanos(),
            duration_ns: s.duration.as_nanos(),
            capture_time_ns: nanos(s.capture_time),
            submit_time_ns: s.submit_time.as_nanos(),
            encode_start_ns: nanos(s.encode_start_time),
            packet_ready_ns: nanos(s.packet_ready_time),
            gpu_time_ns: s.gpu_time.map_or(0, |d| d.as_nanos()),
            gpu_start_ns: nanos(s.gpu_start),
            gpu_end_ns: nanos(s.gpu_end),
            encode_gpu_time_ns: s.encode_gpu_time.map_or(0, |d| d.as_nanos()),
            encode_gpu_start_ns: nanos(s.encode_gpu_start),
            encode_gpu_end_ns: nanos(s.encode_gpu_end),
            cpu_copy_bytes: s.cpu_copy_bytes,
        }
    }
}

/// The packet's bytes (Annex-B for H.264/HEVC, OBUs of one temporal unit for AV1), valid
/// until it is released; `*size` (when not NULL) receives their length. NULL (and size 0) for
/// NULL or a released packet. Any thread.
///
/// # Safety
/// `packet` is NULL or a pointer this library returned; `size` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn gs_packet_data(packet: *const GsPacket, size: *mut usize) -> *const u8 {
    let (data, len) = handles::read(packet, (std::ptr::null(), 0), |p| {
        (p.packet.data.as_ptr(), p.packet.data.len())
    });
    if !size.is_null() {
        // SAFETY: non-null and writable (contract).
        unsafe { size.write(len) };
    }
    data
}

/// The packet's presentation time in nanoseconds (0 for NULL or a released packet).
///
/// # Safety
/// `packet` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_packet_pts(packet: *const GsPacket) -> i64 {
    handles::read(packet, 0, |p| p.packet.pts.as_nanos())
}

/// The packet's decode time in nanoseconds (never after its pts; 0 for NULL or a released
/// packet).
///
/// # Safety
/// `packet` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_packet_dts(packet: *const GsPacket) -> i64 {
    handles::read(packet, 0, |p| p.packet.dts.as_nanos())
}

/// The packet's display duration in nanoseconds.
///
/// # Safety
/// `packet` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_packet_duration(packet: *const GsPacket) -> i64 {
    handles::read(packet, 0, |p| p.packet.duration.as_nanos())
}

/// 1 when the packet is a key frame (a decoder can start there), else 0.
///
/// # Safety
/// `packet` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_packet_is_keyframe(packet: *const GsPacket) -> i32 {
    handles::read(packet, 0, |p| i32::from(p.packet.keyframe))
}

/// The frame number (submission order) the packet encodes.
///
/// # Safety
/// `packet` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_packet_frame_number(packet: *const GsPacket) -> u64 {
    handles::read(packet, 0, |p| p.packet.frame_number)
}

/// Fills `stats` (whose `size` the caller set) with the packet's frame statistics: a `size`
/// from an older header (down to ABI 0.2's 88 bytes) gets the fields that header has, and
/// nothing past them is written; `stats->size` is then the bytes written.
/// `GS_ERR_STRUCT_SIZE` below 88. Any thread.
///
/// # Safety
/// `packet` is NULL or a pointer this library returned; `stats` is NULL or writable for its
/// declared size.
#[no_mangle]
pub unsafe extern "C" fn gs_packet_stats(packet: *mut GsPacket, stats: *mut GsFrameStats) -> i32 {
    handles::with(packet, "packet", |p| {
        let value = GsFrameStats::from_stats(&p.packet.stats);
        // SAFETY: contract of this function.
        unsafe { write_out(stats, "stats", value)? };
        Ok(GS_OK)
    })
}

/// Frees a packet. NULL and packets that are not live are ignored. Any thread, also while
/// other threads call accessors on the packet: calls that begin after it see a released
/// packet, and one in progress finishes on the packet, which is freed when the last of them
/// returns (but a pointer from `gs_packet_data` is dead once this returns).
///
/// # Safety
/// `packet` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_packet_release(packet: *mut GsPacket) {
    handles::destroy(packet);
}
