//! The replay buffer of a session: keep the last stretch of packets, save it on request.

use std::ffi::c_char;
use std::time::Duration;

use ghoststream::output::replay::{ReplayBuffer, ReplayLimits};

use crate::output::{output_format, path_arg};
use crate::result::{Failure, GS_ERR_STATE, GS_OK};
use crate::session::{with_session, GsSession};

/// Keeps the last `seconds_ms` milliseconds (at most `max_bytes` bytes) of the packets
/// `gs_session_receive` hands out, whole GOPs from a key frame, for `gs_session_replay_save`.
/// Calling it again changes the limits and empties the buffer. Any thread (calls on one session take turns).
///
/// # Safety
/// `session` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_session_replay_enable(
    session: *mut GsSession,
    seconds_ms: u64,
    max_bytes: u64,
) -> i32 {
    with_session(session, |_, s| {
        let buffer = ReplayBuffer::new(ReplayLimits {
            duration: Duration::from_millis(seconds_ms),
            bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
        })?;
        s.replay = Some(buffer);
        Ok(GS_OK)
    })
}

/// Writes the replay buffer's last `last_ms` milliseconds (0 for all it holds), starting at a
/// key frame, to `path` as `format` (`GS_OUTPUT_*`), and returns when the file is complete.
/// `GS_ERR_STATE` when replay is not enabled or no key frame has arrived yet. The buffer keeps
/// its packets. Any thread (calls on one session take turns).
///
/// # Safety
/// `session` is NULL or a pointer this library returned; `path` is NULL or a NUL-terminated
/// string.
#[no_mangle]
pub unsafe extern "C" fn gs_session_replay_save(
    session: *mut GsSession,
    path: *const c_char,
    format: i32,
    last_ms: u64,
) -> i32 {
    with_session(session, |_, s| {
        // SAFETY: contract of this function.
        let path = unsafe { path_arg(path, "path")? };
        let format = output_format(format, &path)?;
        let Some(buffer) = s.replay.as_ref() else {
            return Err(Failure::new(
                GS_ERR_STATE,
                "replay is not enabled on this session: call gs_session_replay_enable first",
            ));
        };
        let last = (last_ms > 0).then(|| Duration::from_millis(last_ms));
        let clip = buffer.clip(last)?;
        clip.save(&path, format, &s.config)?;
        Ok(GS_OK)
    })
}
