//! Sessions: open, flush, receive packets, live controls, last error, destroy.

use std::collections::VecDeque;
use std::ffi::{c_char, CString};
use std::sync::{Arc, Mutex, MutexGuard};

use ghoststream::output::replay::ReplayBuffer;
use ghoststream::stats::StatsCollector;
use ghoststream::{
    BufferPool, PixelFormat, RateControl, Rational, Session, SessionConfig, SessionOutput,
    Timestamp,
};

use crate::dmabuf_imports::DmaBufImports;
use crate::frames::Timeline;
use crate::handles::{self, Live};
use crate::options::{config, read_session_options, GsSessionOptions};
use crate::packet::GsPacket;
use crate::result::{
    c_string, guarded, Failure, Outcome, GS_AGAIN, GS_EOF, GS_ERR_INVALID_CONFIG, GS_OK,
};

/// `gs_session_controls` bit: `gs_session_request_keyframe` works.
pub const GS_CONTROL_KEYFRAME: u32 = 1;
/// `gs_session_controls` bit: `gs_session_invalidate` works.
pub const GS_CONTROL_INVALIDATE: u32 = 2;
/// `gs_session_controls` bit: `gs_session_set_bitrate` works.
pub const GS_CONTROL_RECONFIGURE: u32 = 4;

/// An encode session (opaque).
pub struct GsSession {
    /// What the calls change; calls on one session from several threads take turns here.
    state: Mutex<SessionState>,
    /// The format frames must have (fixed for the session's life).
    pub(crate) input_format: PixelFormat,
    /// The size frames must have: the input size, or the encoded size.
    pub(crate) input_size: (u32, u32),
    /// `GS_CONTROL_*` bits.
    controls: u32,
    backend: CString,
}

impl GsSession {
    /// The state, locked (a panic while it was held leaves plain data: keep going).
    pub(crate) fn lock(&self) -> MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The session's configuration as it stands (waits for a call in progress on it).
    pub(crate) fn config(&self) -> SessionConfig {
        self.lock().config.clone()
    }
}

/// The part of a session its calls change, behind the session's lock.
pub(crate) struct SessionState {
    // Declared first so it is dropped (its worker joined) before the imported images below,
    // which the worker may still be reading.
    pub(crate) session: Session,
    pub(crate) config: SessionConfig,
    pub(crate) pool: Arc<BufferPool>,
    /// Outputs taken from the session at flush, handed out by `gs_session_receive`.
    pub(crate) flushed: Option<VecDeque<SessionOutput>>,
    /// The number the next frame submitted gets.
    pub(crate) next_frame: u64,
    /// DMA-BUF imports, kept while a frame reads them and reused for the same buffer.
    pub(crate) imports: DmaBufImports,
    pub(crate) replay: Option<ReplayBuffer>,
    pub(crate) stats: StatsCollector,
    /// The timestamps accepted so far (their span and total duration are bounded).
    pub(crate) timeline: Timeline,
}

impl SessionState {
    /// Fails when the session was flushed.
    pub(crate) fn check_open(&self) -> Result<(), Failure> {
        if self.flushed.is_some() {
            return Err(Failure::new(
                crate::result::GS_ERR_STATE,
                "the session was flushed: no more frames or controls",
            ));
        }
        Ok(())
    }
}

/// Opens a session and stores its handle in `*out` (NULL on failure, with the detail in
/// `gs_last_error()`). The caller destroys it with `gs_session_destroy`. Any thread.
///
/// # Safety
/// `options` is NULL or a readable `GsSessionOptions` of its declared size (ABI 0.2's or
/// larger); `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn gs_session_create(
    options: *const GsSessionOptions,
    out: *mut *mut GsSession,
) -> i32 {
    guarded(|| {
        // SAFETY: contract of this function.
        unsafe { handles::clear_out(out)? };
        // SAFETY: contract of this function.
        let o = unsafe { read_session_options(options, "options")? };
        let (config, engine) = config(&o)?;
        let session = match engine {
            Some(ctx) => Session::open_on(config.clone(), ctx)?,
            None => Session::open(config.clone())?,
        };
        let backend = c_string(&session.backend_report().description);
        let c = session.controls();
        let controls = (u32::from(c.force_keyframe) * GS_CONTROL_KEYFRAME)
            | (u32::from(c.invalidate) * GS_CONTROL_INVALIDATE)
            | (u32::from(c.reconfigure) * GS_CONTROL_RECONFIGURE);
        let handle = handles::publish(GsSession {
            input_format: config.input_format,
            input_size: config
                .processing
                .input_size
                .unwrap_or((config.width, config.height)),
            controls,
            backend,
            state: Mutex::new(SessionState {
                session,
                config,
                pool: BufferPool::new(),
                flushed: None,
                next_frame: 0,
                imports: DmaBufImports::default(),
                replay: None,
                stats: StatsCollector::default(),
                timeline: Timeline::default(),
            }),
        });
        // SAFETY: checked non-null and writable above.
        unsafe { out.write(handle) };
        Ok(GS_OK)
    })
}

/// Closes the session and frees it, waiting for frames in flight; packets already received
/// stay valid until released. NULL and handles that are not live are ignored. Any thread, also
/// while other threads call on the session: the handle is dead at once (calls that begin
/// later get `GS_ERR_BAD_HANDLE`) and this returns without waiting for them; the session is
/// closed and freed when the last call in progress returns, and a submit or flush in progress
/// then returns `GS_ERR_BAD_HANDLE` (its frame or packets went with the session).
///
/// # Safety
/// `session` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_session_destroy(session: *mut GsSession) {
    handles::destroy(session);
}

/// Ends the input: the encoder is drained (this waits for it); the remaining packets come
/// from `gs_session_receive`, then `GS_EOF`. A second flush does nothing. Every input buffer
/// may be reused once this returns. Any thread (calls on one session take turns).
///
/// # Safety
/// `session` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_session_flush(session: *mut GsSession) -> i32 {
    with_session(session, |live, s| {
        if s.flushed.is_some() {
            return Ok(GS_OK);
        }
        let outputs = s.session.close()?;
        s.flushed = Some(outputs.into());
        s.imports.clear();
        if live.destroyed() {
            return Err(handles::destroyed_failure(
                "session",
                "during this flush: its packets went with it",
            ));
        }
        Ok(GS_OK)
    })
}

/// Takes the next packet into `*out` (GS_OK), or says there is none yet (GS_AGAIN) or no more
/// (GS_EOF, after a flush). The caller owns the packet and releases it with
/// `gs_packet_release`. Frames dropped by back-pressure are counted in the stats and skipped.
/// Once a packet of frame N is received, the input buffers of frames 0..=N may be reused.
/// Any thread (calls on one session take turns).
///
/// # Safety
/// `session` is NULL or a pointer this library returned; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn gs_session_receive(
    session: *mut GsSession,
    out: *mut *mut GsPacket,
) -> i32 {
    // NULL in `*out` on every failure, a dead session's included.
    if !out.is_null() {
        // SAFETY: non-null and writable (contract of this function).
        unsafe { out.write(std::ptr::null_mut()) };
    }
    with_session(session, |_, s| {
        // SAFETY: contract of this function.
        unsafe { handles::clear_out(out)? };
        loop {
            let next = match s.flushed.as_mut() {
                Some(queue) => match queue.pop_front() {
                    Some(o) => Some(o),
                    None => return Ok(GS_EOF),
                },
                None => s.session.try_receive()?,
            };
            match next {
                None => return Ok(GS_AGAIN),
                Some(SessionOutput::Dropped(stats)) => {
                    s.stats.record(&stats, 0, false);
                    s.imports.frames_done(stats.frame_number);
                }
                Some(SessionOutput::Packet(packet)) => {
                    s.stats
                        .record(&packet.stats, packet.data.len(), packet.keyframe);
                    s.imports.frames_done(packet.frame_number);
                    if let Some(replay) = s.replay.as_mut() {
                        replay.push(packet.clone());
                    }
                    let handle = handles::publish(GsPacket { packet });
                    // SAFETY: checked non-null and writable above.
                    unsafe { out.write(handle) };
                    return Ok(GS_OK);
                }
                // Outputs this version of the C ABI has no type for are skipped.
                Some(_) => {}
            }
        }
    })
}

/// Makes the next frame submitted a key frame (with parameter sets), for a viewer that joined.
/// `GS_ERR_UNAVAILABLE` when the backend cannot (see `gs_session_controls`). Any thread (calls on one
/// session take turns).
///
/// # Safety
/// `session` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_session_request_keyframe(session: *mut GsSession) -> i32 {
    with_open_session(session, |_, s| {
        s.session.request_keyframe()?;
        Ok(GS_OK)
    })
}

/// A client lost the packet of the frame with presentation time `lost_pts_ns`: the encoder
/// stops referencing it, so the client recovers with no key frame. `GS_ERR_UNAVAILABLE` when
/// the backend cannot. Any thread (calls on one session take turns).
///
/// # Safety
/// `session` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_session_invalidate(session: *mut GsSession, lost_pts_ns: i64) -> i32 {
    with_open_session(session, |_, s| {
        s.session.invalidate(Timestamp::from_nanos(lost_pts_ns))?;
        Ok(GS_OK)
    })
}

/// Changes the bitrate of the running stream from the next frame, with no key frame: the
/// CBR rate, or the VBR average and peak (`max_bitrate` 0 for twice `bitrate`). A CQP or CQ session
/// is `GS_ERR_INVALID_CONFIG`; a backend that cannot is `GS_ERR_UNAVAILABLE`. Any thread (calls on one
/// session take turns).
///
/// # Safety
/// `session` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_session_set_bitrate(
    session: *mut GsSession,
    bitrate: u64,
    max_bitrate: u64,
) -> i32 {
    with_open_session(session, |_, s| {
        let config = s.session.config();
        let rate_control = match config.rate_control {
            RateControl::Cbr { .. } => RateControl::Cbr { bitrate },
            RateControl::Vbr { .. } => RateControl::Vbr {
                target: bitrate,
                max: if max_bitrate == 0 {
                    bitrate.saturating_mul(2)
                } else {
                    max_bitrate
                },
            },
            RateControl::Cqp { qp } => {
                return Err(Failure::new(
                    GS_ERR_INVALID_CONFIG,
                    format!("the session is constant-QP (qp {qp}): it has no bitrate to change"),
                ))
            }
            other => {
                return Err(Failure::new(
                    GS_ERR_INVALID_CONFIG,
                    format!("the session's rate control ({other:?}) has no bitrate to change"),
                ))
            }
        };
        let (vbv, rate): (Option<u64>, Rational) = (config.vbv_buffer_bits, config.frame_rate);
        s.session.reconfigure(rate_control, vbv, rate)?;
        s.config = s.session.config().clone();
        Ok(GS_OK)
    })
}

/// The live controls the session's backend honours: `GS_CONTROL_*` bits (0 for NULL or a
/// dead handle).
///
/// # Safety
/// `session` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_session_controls(session: *const GsSession) -> u32 {
    handles::read(session, 0, |s| s.controls)
}

/// The encoder the session runs on, in words (e.g. "x264 through libavcodec"); lives as long
/// as the session. NULL or a dead handle gives a static explanation.
///
/// # Safety
/// `session` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_session_backend(session: *const GsSession) -> *const c_char {
    handles::read(session, c"not a live session".as_ptr(), |s| {
        s.backend.as_ptr()
    })
}

/// The detail of the session's last failure (empty if none). Valid until the session's next
/// failing call or its destruction. NULL or a dead handle gives a static explanation.
///
/// # Safety
/// `session` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_session_last_error(session: *const GsSession) -> *const c_char {
    handles::last_error_of(session, c"not a live session")
}

/// Runs `body` on a live session with its state locked: calls on one session from several
/// threads take turns, and one that waited for its turn while another thread destroyed the
/// session is `GS_ERR_BAD_HANDLE`.
pub(crate) fn with_session(
    session: *const GsSession,
    body: impl FnOnce(&Live<GsSession>, &mut SessionState) -> Outcome,
) -> i32 {
    handles::with(session, "session", |live| {
        let mut state = live.lock();
        if live.destroyed() {
            return Err(handles::destroyed_failure(
                "session",
                "while this call waited for another call on it to return",
            ));
        }
        body(live, &mut state)
    })
}

/// Runs `body` as `with_session` does, on a session whose input is still open.
pub(crate) fn with_open_session(
    session: *const GsSession,
    body: impl FnOnce(&Live<GsSession>, &mut SessionState) -> Outcome,
) -> i32 {
    with_session(session, |live, s| {
        s.check_open()?;
        body(live, s)
    })
}
