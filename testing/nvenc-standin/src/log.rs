//! The STAND-IN's record of every call and every rule violation: in process for the crate's
//! own tests ([`records`], [`violations`]), and one line each in the file named by
//! `GHOSTSTREAM_NVENC_STANDIN_LOG` for a process that loaded the cdylib.

use std::ffi::c_void;
use std::io::Write;
use std::sync::Mutex;

/// The environment variable naming the log file (appended to; the first line written by a
/// process says it is a stand-in).
pub const LOG_ENV: &str = "GHOSTSTREAM_NVENC_STANDIN_LOG";

/// What a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A call and the status it returned.
    Call,
    /// A rule of NVIDIA's header or programming guide the caller broke.
    Violation,
    /// Something the rules allow but the stand-in does not do (it says so instead of guessing).
    Limitation,
    /// A fault injected on request (`GHOSTSTREAM_NVENC_STANDIN_FAULT`).
    Fault,
}

/// One record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The session handle the call named (0: none, or an invalid one).
    pub session: usize,
    /// The entry point (`nvEncEncodePicture`).
    pub call: &'static str,
    /// The status returned (`NVENCSTATUS` as a number).
    pub status: u32,
    /// What the record is.
    pub kind: Kind,
    /// What happened, naming the values received.
    pub message: String,
    /// The stand-in's own time in the call, in microseconds (its checks, its CUDA reads and
    /// its stream writing), to tell apart from the caller's time.
    pub micros: u64,
}

static RECORDS: Mutex<Vec<Record>> = Mutex::new(Vec::new());
static FILE: Mutex<Option<Option<std::fs::File>>> = Mutex::new(None);

/// The first line of every log file a process writes.
pub const HEADER: &str = "# GhostStream NVENC STAND-IN (not NVIDIA's libnvidia-encode): every call checked against the SDK 12.1 header and programming guide; streams are PCM, not NVENC's output";

fn thread() -> String {
    let t = std::thread::current();
    t.name()
        .map_or_else(|| format!("{:?}", t.id()), ToString::to_string)
}

/// Records `record` and writes its line to the log file, if one is named.
pub(crate) fn push(record: Record) {
    let line = format!(
        "{} session={:#x} thread={} {} -> {} ({}) [{} us]{}{}",
        match record.kind {
            Kind::Call => "call",
            Kind::Violation => "VIOLATION",
            Kind::Limitation => "LIMITATION",
            Kind::Fault => "FAULT",
        },
        record.session,
        thread(),
        record.call,
        crate::status::name(record.status),
        record.status,
        record.micros,
        if record.message.is_empty() { "" } else { ": " },
        record.message
    );
    {
        let mut file = FILE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let file = file.get_or_insert_with(|| {
            let path = std::env::var_os(LOG_ENV)?;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()?;
            let _ = writeln!(f, "{HEADER} (pid {})", std::process::id());
            Some(f)
        });
        if let Some(f) = file {
            let _ = writeln!(f, "{line}");
        }
    }
    RECORDS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(record);
}

/// Every record of the session `session` (a handle `nvEncOpenEncodeSessionEx` returned), in
/// order.
pub fn records(session: *mut c_void) -> Vec<Record> {
    let id = session as usize;
    RECORDS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter(|r| r.session == id)
        .cloned()
        .collect()
}

/// The violations recorded for `session`, in order.
pub fn violations(session: *mut c_void) -> Vec<Record> {
    records(session)
        .into_iter()
        .filter(|r| r.kind == Kind::Violation)
        .collect()
}
