//! The STAND-IN's fault injection: `GHOSTSTREAM_NVENC_STANDIN_FAULT` (or, for the crate's own
//! tests, [`set_thread_faults`]) lists faults as `kind@N`, comma-separated, N counting a
//! session's `nvEncEncodePicture` calls that carry a picture from 0: `busy@N`
//! (NV_ENC_ERR_ENCODER_BUSY, the picture not taken), `oom@N` (NV_ENC_ERR_OUT_OF_MEMORY),
//! `lost@N` (NV_ENC_ERR_DEVICE_NOT_EXIST, and every later call on the session too),
//! `need_more_input@N` (NV_ENC_ERR_NEED_MORE_INPUT: the picture is held, as for B-frame
//! reordering, and its output comes with the next picture's). `no_encoder` (no `@N`) makes
//! `nvEncOpenEncodeSessionEx` answer NV_ENC_ERR_UNSUPPORTED_DEVICE, as on a GPU without an
//! encoder engine. `require_io_streams` (not a fault: a stricter check for a caller that
//! claims to set them, as GhostStream's backend does) makes a picture submitted before
//! `nvEncSetIOCudaStreams` a violation.

use std::cell::RefCell;

/// The environment variable holding the fault list.
pub const FAULT_ENV: &str = "GHOSTSTREAM_NVENC_STANDIN_FAULT";

/// One kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// NV_ENC_ERR_ENCODER_BUSY.
    Busy,
    /// NV_ENC_ERR_OUT_OF_MEMORY.
    OutOfMemory,
    /// NV_ENC_ERR_DEVICE_NOT_EXIST, and the session is lost.
    Lost,
    /// NV_ENC_ERR_NEED_MORE_INPUT.
    NeedMoreInput,
}

/// The faults asked for a session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// `(picture index, fault)`.
    pub at: Vec<(u64, Fault)>,
    /// Opening a session fails as on a GPU without an encoder engine.
    pub no_encoder: bool,
    /// A picture before `nvEncSetIOCudaStreams` is a violation.
    pub require_io_streams: bool,
}

impl Faults {
    /// Parses a fault list; an error names the entry it cannot read.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut faults = Faults::default();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "no_encoder" {
                faults.no_encoder = true;
                continue;
            }
            if entry == "require_io_streams" {
                faults.require_io_streams = true;
                continue;
            }
            let (kind, n) = entry.split_once('@').ok_or_else(|| {
                format!("fault {entry:?}: write kind@N (busy, oom, lost, need_more_input), no_encoder or require_io_streams")
            })?;
            let fault = match kind {
                "busy" => Fault::Busy,
                "oom" => Fault::OutOfMemory,
                "lost" => Fault::Lost,
                "need_more_input" => Fault::NeedMoreInput,
                _ => {
                    return Err(format!(
                        "fault {entry:?}: unknown kind {kind:?} (busy, oom, lost, need_more_input)"
                    ))
                }
            };
            let n = n
                .parse::<u64>()
                .map_err(|_| format!("fault {entry:?}: {n:?} is not a picture index"))?;
            faults.at.push((n, fault));
        }
        Ok(faults)
    }

    /// The fault for picture `n`, if any.
    pub fn at(&self, n: u64) -> Option<Fault> {
        self.at.iter().find(|(i, _)| *i == n).map(|(_, f)| *f)
    }
}

thread_local! {
    static THREAD_FAULTS: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// For tests in one process: sessions opened on this thread take `spec` instead of the
/// environment's list (`None`: the environment's again).
pub fn set_thread_faults(spec: Option<&str>) {
    THREAD_FAULTS.with(|f| *f.borrow_mut() = spec.map(str::to_string));
}

/// The fault list for a session opened now on this thread.
pub(crate) fn for_new_session() -> Result<Faults, String> {
    let spec = THREAD_FAULTS
        .with(|f| f.borrow().clone())
        .or_else(|| std::env::var(FAULT_ENV).ok())
        .unwrap_or_default();
    Faults::parse(&spec)
}
