//! CPU time: this process's CPU clock, and a child's user + system time from `wait4` (the one
//! `unsafe` call of the bench, a thin wrapper).

use std::time::{Duration, Instant};

/// This process's CPU time (every thread, user and system), seconds.
pub(super) fn process_cpu_s() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// The calling thread's CPU time, seconds.
pub(super) fn thread_cpu_s() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// How a child ended and the CPU it used.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct ChildEnd {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// User plus system CPU time of the child (and its waited-for descendants), seconds.
    pub cpu_s: f64,
}

/// Waits for child `pid` (polling every 5 ms) up to `timeout`, then kills it; returns how it
/// ended and its rusage. The child must not have been waited for by anything else.
pub(super) fn wait_child(pid: u32, timeout: Duration) -> Result<ChildEnd, String> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| format!("process id {pid} out of range"))?;
    let deadline = Instant::now() + timeout;
    let mut killed = false;
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: a plain all-zero rusage is a valid value of the C struct.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `status` and `usage` are valid, writable and live across the call; `pid` is
        // our own child, not yet reaped.
        let r = unsafe { libc::wait4(pid, &raw mut status, libc::WNOHANG, &raw mut usage) };
        if r == pid {
            let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
            let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
            return Ok(ChildEnd {
                code,
                cpu_s: tv(usage.ru_utime) + tv(usage.ru_stime),
            });
        }
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("waiting for process {pid}: {e}"));
        }
        if Instant::now() >= deadline && !killed {
            // SAFETY: sending a signal to our own unreaped child (its pid cannot be reused).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
