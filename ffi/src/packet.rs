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
/// nanoseconds; 0 when not measured. Set `size` before the call.
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
}

/// The size of `GsFrameStats` in ABI 0.2 (its first version) and 0.3: up to `gpu_end_ns`.
const FRAME_STATS_V0_2: u32 = 88;

impl OutputStruct for GsFrameStats {
    const NAME: &'static str = "GsFrameStats";
    const FIRST_SIZE: u32 = FRAME_STATS_V0_2;
}

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

/// Fills `stats` (whose `size` the caller set) with the packet's frame statistics. Any thread.
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
