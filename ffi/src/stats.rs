//! A session's running totals and latencies.

use crate::result::GS_OK;
use crate::session::{with_session, GsSession};
use crate::structs::{size_of_struct, write_out, OutputStruct};

/// A session's totals so far, for `gs_session_stats`. Set `size` before the call.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct GsSessionStats {
    /// `sizeof(GsSessionStats)`, set by the caller.
    pub size: u32,
    /// 1 when the latencies run from capture (frames carried capture times), 0 from submit.
    pub latency_from_capture: i32,
    /// Frames accepted by submit.
    pub submitted: u64,
    /// Packets received.
    pub packets: u64,
    /// Frames dropped by back-pressure.
    pub dropped: u64,
    /// Key frames among the packets received.
    pub keyframes: u64,
    /// Bytes of the packets received.
    pub bytes: u64,
    /// Media time the received packets cover, in seconds.
    pub media_seconds: f64,
    /// Wall time from the first submit to the last packet, in seconds.
    pub wall_seconds: f64,
    /// Packets per second of wall time.
    pub fps: f64,
    /// Bits per second of media time.
    pub bitrate: f64,
    /// Median latency in nanoseconds (0 before the first packet).
    pub latency_median_ns: i64,
    /// 99th-percentile latency in nanoseconds.
    pub latency_p99_ns: i64,
}

impl OutputStruct for GsSessionStats {
    const NAME: &'static str = "GsSessionStats";
    /// ABI 0.2's 96 bytes, its first version.
    const FIRST_SIZE: u32 = 96;
}

/// Fills `stats` (whose `size` the caller set) with the session's totals: what was submitted,
/// and what `gs_session_receive` has handed out. Any thread (calls on one session take turns).
///
/// # Safety
/// `session` is NULL or a pointer this library returned; `stats` is NULL or writable for its
/// declared size.
#[no_mangle]
pub unsafe extern "C" fn gs_session_stats(
    session: *mut GsSession,
    stats: *mut GsSessionStats,
) -> i32 {
    with_session(session, |_, s| {
        let sum = s.stats.summary();
        let value = GsSessionStats {
            size: size_of_struct::<GsSessionStats>(),
            latency_from_capture: i32::from(sum.latency_from_capture),
            submitted: s.session.stats().submitted,
            packets: sum.frames,
            dropped: sum.dropped,
            keyframes: sum.keyframes,
            bytes: sum.bytes,
            media_seconds: sum.media_seconds,
            wall_seconds: sum.wall_seconds,
            fps: sum.fps,
            bitrate: sum.bitrate,
            latency_median_ns: sum.latency_median.map_or(0, |l| l.as_nanos()),
            latency_p99_ns: sum.latency_p99.map_or(0, |l| l.as_nanos()),
        };
        // SAFETY: contract of this function.
        unsafe { write_out(stats, "stats", value)? };
        Ok(GS_OK)
    })
}
