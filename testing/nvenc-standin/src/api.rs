//! The STAND-IN's NVENC entry points: each checks its arguments and the session's state
//! against the SDK 12.1 header (nvEncodeAPI.h, shipped in the `nvidia-video-codec-sdk` crate)
//! and NVIDIA's programming guide, answers with the status the header names for the breach
//! (or NV_ENC_ERR_INVALID_CALL for a call out of order, where the header names none), keeps
//! the message for `nvEncGetLastErrorString`, and records call and violation ([`crate::log`]).
//!
//! The session's state machine: opened (queries only) → initialised (`nvEncInitializeEncoder`,
//! once) → IO streams (optional), bitstream buffers and registrations → per picture: map,
//! encode, lock and unlock in submission order, unmap (only once the picture's bitstream has
//! been locked) → end of stream → unregister, destroy buffers → destroy the session. A broken
//! rule leaves the state as it was, except `nvEncDestroyEncoder`, which always ends the
//! session (its live resources go with it) and reports what was left.

use std::collections::{HashMap, VecDeque};
use std::ffi::{c_char, c_void, CString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Instant;

use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

use crate::caps::{self, Codec};
use crate::cuda::{cuda, PendingRead};
use crate::fault::{self, Fault, Faults};
use crate::log::{self, Kind, Record};
use crate::raw::{field, write, Bytes};
use crate::status::{
    DEVICE_NOT_EXIST, ENCODER_BUSY, ENCODER_NOT_INITIALIZED, INVALID_CALL, INVALID_DEVICE,
    INVALID_ENCODERDEVICE, INVALID_PARAM, INVALID_PTR, INVALID_VERSION, NEED_MORE_INPUT,
    OUT_OF_MEMORY, RESOURCE_NOT_MAPPED, RESOURCE_NOT_REGISTERED, SUCCESS, UNIMPLEMENTED,
    UNSUPPORTED_DEVICE, UNSUPPORTED_PARAM,
};
use crate::stream::{Input, Layout, Writer};

/// Why a call was refused.
pub(crate) struct Refusal {
    status: u32,
    kind: Kind,
    message: String,
}

fn violation(status: u32, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        kind: Kind::Violation,
        message: message.into(),
    }
}

fn limitation(message: impl Into<String>) -> Refusal {
    Refusal {
        status: UNIMPLEMENTED,
        kind: Kind::Limitation,
        message: format!("{} (the stand-in does not model this)", message.into()),
    }
}

/// A call's success: the status (SUCCESS or NEED_MORE_INPUT) and what to log.
type Outcome = Result<(u32, String), Refusal>;

fn ok(detail: impl Into<String>) -> Outcome {
    Ok((SUCCESS, detail.into()))
}

/// Refuses unless the field holds the version the header defines.
fn version(b: &Bytes, at: (usize, usize), want: u32, name: &str) -> Result<(), Refusal> {
    let got = b.u32(at);
    if got == want {
        Ok(())
    } else {
        Err(violation(
            INVALID_VERSION,
            format!("{name} is {got:#x}; the SDK 12.1 header's version for it is {want:#x}"),
        ))
    }
}

/// Refuses unless every field named is zero (reserved: "must be set to 0"/NULL).
fn reserved(b: &Bytes, fields: &[((usize, usize), &str)]) -> Result<(), Refusal> {
    for (at, name) in fields {
        if !b.zero(*at) {
            return Err(violation(
                INVALID_PARAM,
                format!("{name} is not zero; the header says it is reserved and must be 0 (NULL)"),
            ));
        }
    }
    Ok(())
}

fn null_ptr(what: &str) -> Refusal {
    violation(INVALID_PTR, format!("{what} is NULL"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// `nvEncOpenEncodeSessionEx` failed: only the last error and destroy may follow.
    Failed,
    Opened,
    Initialized,
}

/// What `nvEncInitializeEncoder` (or a reconfiguration) set.
#[derive(Clone, Debug)]
struct Init {
    codec: Codec,
    preset: nv::GUID,
    width: u32,
    height: u32,
    max_width: u32,
    max_height: u32,
    asynchronous: u32,
    ptd: u32,
    gop: u32,
    idr_period: u32,
    frame_interval_p: i32,
    rate: String,
    /// `splitEncodeMode` (`NV_ENC_SPLIT_ENCODE_MODE`).
    split: u32,
}

struct Registration {
    pointer: u64,
    width: u32,
    height: u32,
    pitch: u32,
    format: u32,
    layout: Layout,
    mapped: Option<usize>,
}

struct Mapping {
    registration: usize,
    /// Pictures submitted with this input whose bitstream has not been locked yet.
    in_flight: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BufferState {
    Free,
    /// Its picture's encode returned NV_ENC_ERR_NEED_MORE_INPUT, and no later one success.
    Held,
    Ready,
    Locked,
}

/// A picture to write once its input has been read.
struct Job {
    read: Box<dyn PendingRead>,
    idr: bool,
    codec: Codec,
    spec: (Layout, u32, u32),
    pitch: u32,
    chroma_offset: usize,
}

struct Buffer {
    state: BufferState,
    /// The locked picture's bytes.
    data: Vec<u8>,
    /// The submitted picture, written at its lock.
    job: Option<Job>,
    timestamp: u64,
    duration: u64,
    picture_type: u32,
    frame_idx: u32,
    mapping: Option<usize>,
}

struct Session {
    context: usize,
    state: State,
    lost: bool,
    init: Option<Init>,
    writer: Option<Writer>,
    /// The input layout and size of the pictures submitted so far.
    spec: Option<(Layout, u32, u32)>,
    /// The pointers to CUstream handles given to `nvEncSetIOCudaStreams`.
    io_streams: Option<(usize, usize)>,
    registrations: HashMap<usize, Registration>,
    mappings: HashMap<usize, Mapping>,
    buffers: HashMap<usize, Buffer>,
    /// Buffers holding submitted pictures not yet locked, in submission order.
    order: VecDeque<usize>,
    /// `nvEncEncodePicture` calls with a picture (the fault index).
    attempts: u64,
    /// Pictures taken.
    pictures: u64,
    /// Pictures taken since the last end of stream.
    since_eos: u64,
    /// Pictures since the last IDR.
    since_idr: u64,
    force_idr: bool,
    /// A lock is between taking its picture and handing it back (outside the lock).
    locking: bool,
    /// The thread that locked this session's bitstreams so far: the guide's model is one
    /// worker thread locking every output buffer, in submission order.
    lock_thread: Option<std::thread::ThreadId>,
    faults: Faults,
    last_error: CString,
}

static SESSIONS: LazyLock<Mutex<HashMap<usize, Session>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn sessions() -> MutexGuard<'static, HashMap<usize, Session>> {
    SESSIONS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A new handle (session, registration, mapping or buffer), never reused in the process.
fn new_handle() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0x57a0_0000_0000);
    NEXT.fetch_add(0x10, Ordering::Relaxed) + 0x10
}

fn record(
    session: usize,
    call: &'static str,
    status: u32,
    kind: Kind,
    message: String,
    started: Instant,
) {
    log::push(Record {
        session,
        call,
        status,
        kind,
        message,
        micros: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    });
}

/// Logs the outcome (and the refusal's message for the last error string); the status.
fn finish(
    session: Option<&mut Session>,
    id: usize,
    call: &'static str,
    outcome: Outcome,
    started: Instant,
) -> u32 {
    match outcome {
        Ok((status, detail)) => {
            record(id, call, status, Kind::Call, detail, started);
            status
        }
        Err(r) => {
            if let Some(s) = session {
                s.last_error = CString::new(format!("{call}: {}", r.message)).unwrap_or_default();
            }
            record(id, call, r.status, r.kind, r.message, started);
            record(id, call, r.status, Kind::Call, String::new(), started);
            r.status
        }
    }
}

/// Runs `f` on the session named by `encoder` under the sessions' lock, after the checks
/// every session call makes. A refusal (no such session, a lost or failed one, or `f`'s) is
/// logged and becomes `Err(status)`; a success is left to the caller to log.
fn session_step<R>(
    call: &'static str,
    encoder: *mut c_void,
    started: Instant,
    f: impl FnOnce(&mut Session) -> Result<R, Refusal>,
) -> Result<R, u32> {
    let mut all = sessions();
    let id = encoder as usize;
    let Some(s) = all.get_mut(&id) else {
        return Err(finish(
            None,
            id,
            call,
            Err(violation(
                INVALID_ENCODERDEVICE,
                format!("{id:#x} is not a session this library opened (or it was destroyed)"),
            )),
            started,
        ));
    };
    let result = if s.lost {
        Err(Refusal {
            status: DEVICE_NOT_EXIST,
            kind: Kind::Fault,
            message: "the device was lost (injected fault); destroy the session".into(),
        })
    } else if s.state == State::Failed {
        Err(violation(
            INVALID_CALL,
            "the session failed to open: only nvEncGetLastErrorString and nvEncDestroyEncoder may follow",
        ))
    } else {
        f(s)
    };
    result.map_err(|r| finish(Some(s), id, call, Err(r), started))
}

/// Runs `f` on the session named by `encoder` (as [`session_step`]) and logs the outcome.
fn on_session(
    call: &'static str,
    encoder: *mut c_void,
    f: impl FnOnce(&mut Session) -> Outcome,
) -> u32 {
    let started = Instant::now();
    match session_step(call, encoder, started, f) {
        Ok(done) => finish(None, encoder as usize, call, Ok(done), started),
        Err(status) => status,
    }
}

fn initialized(s: &Session) -> Result<&Init, Refusal> {
    s.init.as_ref().ok_or_else(|| {
        violation(
            ENCODER_NOT_INITIALIZED,
            "the encoder is not initialised: call nvEncInitializeEncoder first",
        )
    })
}

// ----- entry points -------------------------------------------------------------------------

/// `NvEncodeAPIGetMaxSupportedVersion`: 12.1 (major in bits 4 and up, minor in the low 4).
pub(crate) unsafe fn max_supported_version(version: *mut u32) -> u32 {
    let started = Instant::now();
    let outcome = if version.is_null() {
        Err(null_ptr("version"))
    } else {
        let v = (nv::NVENCAPI_MAJOR_VERSION << 4) | nv::NVENCAPI_MINOR_VERSION;
        // SAFETY: non-null; the caller's u32.
        unsafe { version.write(v) };
        ok(format!("{v:#x} (12.1)"))
    };
    finish(
        None,
        0,
        "NvEncodeAPIGetMaxSupportedVersion",
        outcome,
        started,
    )
}

/// `nvEncOpenEncodeSessionEx`.
pub(crate) unsafe fn open_session_ex(
    params: *mut nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS,
    encoder: *mut *mut c_void,
) -> u32 {
    let started = Instant::now();
    const CALL: &str = "nvEncOpenEncodeSessionEx";
    if params.is_null() || encoder.is_null() {
        return finish(
            None,
            0,
            CALL,
            Err(null_ptr("openSessionExParams or encoder")),
            started,
        );
    }
    // SAFETY: non-null; the header's structure.
    let b = unsafe { Bytes::copy(params) };
    type T = nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS;
    let context = b.ptr(field!(T, device));
    let faults = fault::for_new_session();
    let check = || -> Result<(), Refusal> {
        version(
            &b,
            field!(T, version),
            nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER,
            "NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS::version",
        )?;
        let api = b.u32(field!(T, apiVersion));
        if api != nv::NVENCAPI_VERSION {
            return Err(violation(
                INVALID_VERSION,
                format!(
                    "apiVersion is {api:#x}; set NVENCAPI_VERSION ({:#x}) of the header built against",
                    nv::NVENCAPI_VERSION
                ),
            ));
        }
        reserved(
            &b,
            &[
                (field!(T, reserved), "reserved"),
                (field!(T, reserved1), "reserved1"),
                (field!(T, reserved2), "reserved2"),
            ],
        )?;
        let device_type = b.u32(field!(T, deviceType));
        if device_type != nv::NV_ENC_DEVICE_TYPE::NV_ENC_DEVICE_TYPE_CUDA as u32 {
            return Err(if device_type <= 2 {
                limitation(format!(
                    "deviceType {device_type}: only NV_ENC_DEVICE_TYPE_CUDA (1) sessions"
                ))
            } else {
                violation(
                    INVALID_PARAM,
                    format!("deviceType {device_type} is not an NV_ENC_DEVICE_TYPE"),
                )
            });
        }
        cuda().check_context(context).map_err(|e| {
            violation(
                INVALID_DEVICE,
                format!("device {context:#x} is not a valid CUcontext: {e}"),
            )
        })?;
        let faults = faults.as_ref().map_err(|e| Refusal {
            status: INVALID_PARAM,
            kind: Kind::Fault,
            message: format!("{}: {e}", fault::FAULT_ENV),
        })?;
        if faults.no_encoder {
            return Err(Refusal {
                status: UNSUPPORTED_DEVICE,
                kind: Kind::Fault,
                message: "no encoder engine (injected fault no_encoder)".into(),
            });
        }
        Ok(())
    };
    let result = check();
    let handle = new_handle();
    let mut session = Session {
        context,
        state: if result.is_ok() {
            State::Opened
        } else {
            State::Failed
        },
        lost: false,
        init: None,
        writer: None,
        spec: None,
        io_streams: None,
        registrations: HashMap::new(),
        mappings: HashMap::new(),
        buffers: HashMap::new(),
        order: VecDeque::new(),
        attempts: 0,
        pictures: 0,
        since_eos: 0,
        since_idr: 0,
        force_idr: false,
        locking: false,
        lock_thread: None,
        faults: faults.unwrap_or_default(),
        last_error: CString::default(),
    };
    // SAFETY: non-null (checked); the caller's handle slot. A failed open returns a handle
    // too: the header has the client destroy it.
    unsafe { encoder.write(handle as *mut c_void) };
    let status = finish(
        Some(&mut session),
        handle,
        CALL,
        result.map(|()| {
            (
                SUCCESS,
                format!("CUDA context {context:#x}; a STAND-IN session"),
            )
        }),
        started,
    );
    sessions().insert(handle, session);
    status
}

/// `nvEncDestroyEncoder`: always ends the session; reports what was left alive.
pub(crate) unsafe fn destroy_encoder(encoder: *mut c_void) -> u32 {
    let started = Instant::now();
    const CALL: &str = "nvEncDestroyEncoder";
    let id = encoder as usize;
    let Some(mut s) = sessions().remove(&id) else {
        return finish(
            None,
            id,
            CALL,
            Err(violation(
                INVALID_ENCODERDEVICE,
                format!("{id:#x} is not a session this library opened (or it was destroyed)"),
            )),
            started,
        );
    };
    let mut left = Vec::new();
    if !s.registrations.is_empty() {
        left.push(format!("{} registered resource(s)", s.registrations.len()));
    }
    if !s.mappings.is_empty() {
        left.push(format!("{} mapped input(s)", s.mappings.len()));
    }
    if !s.buffers.is_empty() {
        left.push(format!("{} bitstream buffer(s)", s.buffers.len()));
    }
    // After a lost device every call fails, so nothing could be released: no violation then.
    let outcome = if s.lost {
        ok(format!("a lost session ({} left alive)", left.join(", ")))
    } else if !left.is_empty() {
        Err(violation(
            INVALID_CALL,
            format!(
                "destroyed with {} alive; the header: free every input and output resource before destroying the encoder",
                left.join(", ")
            ),
        ))
    } else if s.since_eos > 0 {
        Err(violation(
            INVALID_CALL,
            format!(
                "destroyed without flushing: {} picture(s) since the last end-of-stream picture; the header: flush (an NV_ENC_PIC_FLAG_EOS picture) before freeing resources",
                s.since_eos
            ),
        ))
    } else {
        ok(format!("{} picture(s) encoded", s.pictures))
    };
    if !sessions().values().any(|other| other.context == s.context) {
        cuda().forget_context(s.context);
    }
    finish(Some(&mut s), id, CALL, outcome, started)
}

/// `nvEncGetLastErrorString`: the session's last refusal, valid until its next call.
pub(crate) unsafe fn last_error_string(encoder: *mut c_void) -> *const c_char {
    let all = sessions();
    match all.get(&(encoder as usize)) {
        Some(s) => s.last_error.as_ptr(),
        None => c"not a session of the NVENC STAND-IN".as_ptr(),
    }
}

/// `nvEncGetEncodeGUIDCount`.
pub(crate) unsafe fn encode_guid_count(encoder: *mut c_void, count: *mut u32) -> u32 {
    on_session("nvEncGetEncodeGUIDCount", encoder, |_| {
        if count.is_null() {
            return Err(null_ptr("encodeGUIDCount"));
        }
        // SAFETY: non-null; the caller's u32.
        unsafe { count.write(3) };
        ok("3 (H.264, HEVC, AV1)")
    })
}

/// `nvEncGetEncodeGUIDs`.
pub(crate) unsafe fn encode_guids(
    encoder: *mut c_void,
    guids: *mut nv::GUID,
    size: u32,
    count: *mut u32,
) -> u32 {
    on_session("nvEncGetEncodeGUIDs", encoder, |_| {
        if guids.is_null() || count.is_null() {
            return Err(null_ptr("GUIDs or GUIDCount"));
        }
        let all = caps::codecs();
        if (size as usize) < all.len() {
            return Err(violation(
                INVALID_PARAM,
                format!(
                    "guidArraySize {size} is smaller than the {} that nvEncGetEncodeGUIDCount gives",
                    all.len()
                ),
            ));
        }
        for (i, g) in all.iter().enumerate() {
            // SAFETY: `size` elements, at least `all.len()` (checked).
            unsafe { guids.add(i).write(*g) };
        }
        // SAFETY: non-null.
        unsafe { count.write(3) };
        ok("H.264, HEVC, AV1")
    })
}

/// `nvEncGetEncodeCaps`.
pub(crate) unsafe fn encode_caps(
    encoder: *mut c_void,
    codec: nv::GUID,
    param: *mut nv::NV_ENC_CAPS_PARAM,
    value: *mut i32,
) -> u32 {
    on_session("nvEncGetEncodeCaps", encoder, |_| {
        if param.is_null() || value.is_null() {
            return Err(null_ptr("capsParam or capsVal"));
        }
        // SAFETY: non-null; the header's structure.
        let b = unsafe { Bytes::copy(param) };
        type T = nv::NV_ENC_CAPS_PARAM;
        version(
            &b,
            field!(T, version),
            nv::NV_ENC_CAPS_PARAM_VER,
            "NV_ENC_CAPS_PARAM::version",
        )?;
        reserved(&b, &[(field!(T, reserved), "NV_ENC_CAPS_PARAM::reserved")])?;
        let cap = b.u32(field!(T, capsToQuery));
        if cap >= nv::NV_ENC_CAPS::NV_ENC_CAPS_EXPOSED_COUNT as u32 {
            return Err(violation(
                INVALID_PARAM,
                format!("capsToQuery {cap} is not an NV_ENC_CAPS member"),
            ));
        }
        let codec = Codec::from_guid(&codec)
            .ok_or_else(|| violation(INVALID_PARAM, "encodeGUID is not a codec GUID"))?;
        let v = caps::value(codec, cap);
        // SAFETY: non-null.
        unsafe { value.write(v) };
        ok(format!("{codec:?} cap {cap} = {v}"))
    })
}

/// `nvEncGetEncodePresetConfigEx`: a configuration of the stand-in's own defaults (not
/// NVIDIA's preset tables): GOP 250, IBBP for the high-quality and lossless tunings and IPPP
/// for the low-latency ones, VBR at 5 Mbit/s, 4:2:0, 8 bits.
pub(crate) unsafe fn preset_config_ex(
    encoder: *mut c_void,
    codec: nv::GUID,
    preset: nv::GUID,
    tuning: u32,
    config: *mut nv::NV_ENC_PRESET_CONFIG,
) -> u32 {
    on_session("nvEncGetEncodePresetConfigEx", encoder, |_| {
        if config.is_null() {
            return Err(null_ptr("presetConfig"));
        }
        // SAFETY: non-null; the header's structure.
        let b = unsafe { Bytes::copy(config) };
        type T = nv::NV_ENC_PRESET_CONFIG;
        version(
            &b,
            field!(T, version),
            nv::NV_ENC_PRESET_CONFIG_VER,
            "NV_ENC_PRESET_CONFIG::version",
        )?;
        version(
            &b,
            field!(T, presetCfg.version),
            nv::NV_ENC_CONFIG_VER,
            "NV_ENC_PRESET_CONFIG::presetCfg.version",
        )?;
        reserved(
            &b,
            &[
                (field!(T, reserved1), "NV_ENC_PRESET_CONFIG::reserved1"),
                (field!(T, reserved2), "NV_ENC_PRESET_CONFIG::reserved2"),
            ],
        )?;
        let c = Codec::from_guid(&codec)
            .ok_or_else(|| violation(INVALID_PARAM, "encodeGUID is not a codec GUID"))?;
        if !caps::is_preset(&preset) {
            return Err(violation(
                INVALID_PARAM,
                "presetGUID is not one of NV_ENC_PRESET_P1_GUID … P7",
            ));
        }
        let t = tuning_check(c, tuning)?;
        let cfg = default_config(c, t);
        // SAFETY: non-null; `presetCfg` is the caller's [out] member.
        unsafe { write(config, field!(T, presetCfg), cfg) };
        ok(format!("{c:?}, tuning {tuning}"))
    })
}

fn tuning_check(codec: Codec, tuning: u32) -> Result<u32, Refusal> {
    use nv::NV_ENC_TUNING_INFO as TI;
    if tuning == TI::NV_ENC_TUNING_INFO_UNDEFINED as u32
        || tuning >= TI::NV_ENC_TUNING_INFO_COUNT as u32
    {
        return Err(violation(
            INVALID_PARAM,
            format!("tuningInfo {tuning} is not a tuning (1 high quality … 4 lossless)"),
        ));
    }
    if codec == Codec::Av1 && tuning == TI::NV_ENC_TUNING_INFO_LOSSLESS as u32 {
        return Err(violation(
            UNSUPPORTED_PARAM,
            "lossless tuning for AV1 (NV_ENC_CAPS_SUPPORT_LOSSLESS_ENCODE is 0 for AV1)",
        ));
    }
    Ok(tuning)
}

/// The stand-in's preset configuration.
fn default_config(codec: Codec, tuning: u32) -> nv::NV_ENC_CONFIG {
    let mut cfg = std::mem::MaybeUninit::<nv::NV_ENC_CONFIG>::zeroed();
    let p = cfg.as_mut_ptr();
    let low_latency = tuning == 2 || tuning == 3;
    // SAFETY: writes into the zeroed structure; every enumeration but frameFieldMode has a
    // member 0, and frameFieldMode is set to FRAME below, so the value is valid.
    unsafe {
        write(p, field!(nv::NV_ENC_CONFIG, version), nv::NV_ENC_CONFIG_VER);
        write(
            p,
            field!(nv::NV_ENC_CONFIG, profileGUID),
            nv::NV_ENC_CODEC_PROFILE_AUTOSELECT_GUID,
        );
        write(p, field!(nv::NV_ENC_CONFIG, gopLength), 250u32);
        write(
            p,
            field!(nv::NV_ENC_CONFIG, frameIntervalP),
            if low_latency { 1i32 } else { 3 },
        );
        write(
            p,
            field!(nv::NV_ENC_CONFIG, frameFieldMode),
            nv::NV_ENC_PARAMS_FRAME_FIELD_MODE::NV_ENC_PARAMS_FRAME_FIELD_MODE_FRAME as u32,
        );
        write(
            p,
            field!(nv::NV_ENC_CONFIG, rcParams.version),
            nv::NV_ENC_RC_PARAMS_VER,
        );
        write(
            p,
            field!(nv::NV_ENC_CONFIG, rcParams.rateControlMode),
            nv::NV_ENC_PARAMS_RC_MODE::NV_ENC_PARAMS_RC_VBR as u32,
        );
        write(
            p,
            field!(nv::NV_ENC_CONFIG, rcParams.averageBitRate),
            5_000_000u32,
        );
        match codec {
            Codec::H264 => {
                write(
                    p,
                    field!(nv::NV_ENC_CONFIG, encodeCodecConfig.h264Config.idrPeriod),
                    250u32,
                );
                write(
                    p,
                    field!(
                        nv::NV_ENC_CONFIG,
                        encodeCodecConfig.h264Config.chromaFormatIDC
                    ),
                    1u32,
                );
            }
            Codec::Hevc => {
                write(
                    p,
                    field!(nv::NV_ENC_CONFIG, encodeCodecConfig.hevcConfig.idrPeriod),
                    250u32,
                );
                // chromaFormatIDC (bits 9-10) = 1.
                write(
                    p,
                    field!(nv::NV_ENC_CONFIG, encodeCodecConfig.hevcConfig._bitfield_1),
                    1u32 << 9,
                );
            }
            Codec::Av1 => {
                write(
                    p,
                    field!(nv::NV_ENC_CONFIG, encodeCodecConfig.av1Config.idrPeriod),
                    250u32,
                );
                // chromaFormatIDC (bits 7-8) = 1.
                write(
                    p,
                    field!(nv::NV_ENC_CONFIG, encodeCodecConfig.av1Config._bitfield_1),
                    1u32 << 7,
                );
            }
        }
        cfg.assume_init()
    }
}

/// Checks an `NV_ENC_INITIALIZE_PARAMS` (for initialise or reconfigure); what it sets.
fn check_init(b: &Bytes, name: &str, previous: Option<&Init>) -> Result<Init, Refusal> {
    type T = nv::NV_ENC_INITIALIZE_PARAMS;
    version(
        b,
        field!(T, version),
        nv::NV_ENC_INITIALIZE_PARAMS_VER,
        &format!("{name}::version"),
    )?;
    reserved(
        b,
        &[
            (field!(T, reserved), "NV_ENC_INITIALIZE_PARAMS::reserved"),
            (field!(T, reserved2), "NV_ENC_INITIALIZE_PARAMS::reserved2"),
            (
                field!(T, privDataSize),
                "NV_ENC_INITIALIZE_PARAMS::privDataSize",
            ),
            (field!(T, privData), "NV_ENC_INITIALIZE_PARAMS::privData"),
        ],
    )?;
    let bits = b.u32(field!(T, _bitfield_1));
    if bits >> 12 != 0 {
        return Err(violation(
            INVALID_PARAM,
            format!(
                "NV_ENC_INITIALIZE_PARAMS::reservedBitFields is {:#x}, not 0",
                bits >> 12
            ),
        ));
    }
    for (bit, what) in [
        (2, "enableExternalMEHints"),
        (3, "enableMEOnlyMode"),
        (9, "enableOutputInVidmem"),
        (10, "enableReconFrameOutput"),
        (11, "enableOutputStats"),
    ] {
        if bits & (1 << bit) != 0 {
            return Err(limitation(what));
        }
    }
    let codec = Codec::from_guid(&b.guid(field!(T, encodeGUID))).ok_or_else(|| {
        violation(
            INVALID_PARAM,
            "encodeGUID is not one of nvEncGetEncodeGUIDs' codecs",
        )
    })?;
    let preset = b.guid(field!(T, presetGUID));
    if !caps::is_preset(&preset) {
        return Err(violation(
            INVALID_PARAM,
            "presetGUID is not one of NV_ENC_PRESET_P1_GUID … P7",
        ));
    }
    let tuning = tuning_check(codec, b.u32(field!(T, tuningInfo)))?;
    let (width, height) = (
        b.u32(field!(T, encodeWidth)),
        b.u32(field!(T, encodeHeight)),
    );
    let cap = |c: nv::NV_ENC_CAPS| u32::try_from(caps::value(codec, c as u32)).unwrap_or(0);
    let (min_w, min_h, max_w, max_h) = (
        cap(nv::NV_ENC_CAPS::NV_ENC_CAPS_WIDTH_MIN),
        cap(nv::NV_ENC_CAPS::NV_ENC_CAPS_HEIGHT_MIN),
        cap(nv::NV_ENC_CAPS::NV_ENC_CAPS_WIDTH_MAX),
        cap(nv::NV_ENC_CAPS::NV_ENC_CAPS_HEIGHT_MAX),
    );
    if !(min_w..=max_w).contains(&width) || !(min_h..=max_h).contains(&height) {
        return Err(violation(
            INVALID_PARAM,
            format!(
                "encodeWidth x encodeHeight {width}x{height} outside {min_w}x{min_h} … {max_w}x{max_h} (nvEncGetEncodeCaps WIDTH/HEIGHT_MIN/MAX)"
            ),
        ));
    }
    let (num, den) = (
        b.u32(field!(T, frameRateNum)),
        b.u32(field!(T, frameRateDen)),
    );
    if num == 0 || den == 0 {
        return Err(violation(
            INVALID_PARAM,
            format!("frameRateNum/frameRateDen {num}/{den}: both must be set"),
        ));
    }
    let asynchronous = b.u32(field!(T, enableEncodeAsync));
    if asynchronous != 0 {
        return Err(violation(
            UNSUPPORTED_PARAM,
            "enableEncodeAsync 1: NV_ENC_CAPS_ASYNC_ENCODE_SUPPORT is 0 (asynchronous mode is Windows-only)",
        ));
    }
    let ptd = b.u32(field!(T, enablePTD));
    if ptd != 1 {
        return Err(limitation("enablePTD 0 (client picture-type decisions)"));
    }
    let split = (bits >> 5) & 0xf;
    if ![0, 1, 2, 3, 15].contains(&split) {
        return Err(violation(
            INVALID_PARAM,
            format!("splitEncodeMode {split} is not an NV_ENC_SPLIT_ENCODE_MODE"),
        ));
    }
    if codec == Codec::H264 && [1, 2, 3].contains(&split) {
        return Err(violation(
            UNSUPPORTED_PARAM,
            format!("splitEncodeMode {split} for H.264: split-frame encoding is HEVC and AV1 only"),
        ));
    }
    if split == 3 && cap(nv::NV_ENC_CAPS::NV_ENC_CAPS_NUM_ENCODER_ENGINES) < 3 {
        return Err(violation(
            UNSUPPORTED_PARAM,
            "NV_ENC_SPLIT_THREE_FORCED_MODE needs 3 engines; NV_ENC_CAPS_NUM_ENCODER_ENGINES is 2",
        ));
    }
    let (mw, mh) = (
        b.u32(field!(T, maxEncodeWidth)),
        b.u32(field!(T, maxEncodeHeight)),
    );
    if (mw != 0 && (mw < width || mw > max_w)) || (mh != 0 && (mh < height || mh > max_h)) {
        return Err(violation(
            INVALID_PARAM,
            format!("maxEncodeWidth x maxEncodeHeight {mw}x{mh} is below the encode size {width}x{height} or above the GPU's {max_w}x{max_h}"),
        ));
    }
    reserved(
        b,
        &[
            (
                field!(T, maxMEHintCountsPerBlock),
                "maxMEHintCountsPerBlock (no external ME hints)",
            ),
            (
                field!(T, numStateBuffers),
                "numStateBuffers (the stand-in keeps no encoder states)",
            ),
        ],
    )?;
    let config = b.ptr(field!(T, encodeConfig));
    let (gop, idr_period, frame_interval_p, rate) = if config == 0 {
        match previous {
            Some(p) if caps::guid_eq(&p.preset, &preset) => {
                (p.gop, p.idr_period, p.frame_interval_p, p.rate.clone())
            }
            _ => {
                let d = default_config(codec, tuning);
                (d.gopLength, d.gopLength, d.frameIntervalP, "preset".into())
            }
        }
    } else {
        // SAFETY: a non-null encodeConfig points at the caller's NV_ENC_CONFIG (the header).
        let c = unsafe { Bytes::copy(config as *const nv::NV_ENC_CONFIG) };
        check_config(&c, codec)?
    };
    if gop == nv::NVENC_INFINITE_GOPLENGTH && frame_interval_p != 1 {
        return Err(violation(
            INVALID_PARAM,
            format!("gopLength NVENC_INFINITE_GOPLENGTH with frameIntervalP {frame_interval_p}; the header: frameIntervalP should be 1"),
        ));
    }
    let b_frames = frame_interval_p - 1;
    if b_frames > caps::value(codec, nv::NV_ENC_CAPS::NV_ENC_CAPS_NUM_MAX_BFRAMES as u32) {
        return Err(violation(
            UNSUPPORTED_PARAM,
            format!(
                "frameIntervalP {frame_interval_p}: more B-frames than NV_ENC_CAPS_NUM_MAX_BFRAMES"
            ),
        ));
    }
    Ok(Init {
        codec,
        preset,
        width,
        height,
        max_width: mw,
        max_height: mh,
        asynchronous,
        ptd,
        gop,
        idr_period,
        frame_interval_p,
        rate,
        split,
    })
}

/// Checks an `NV_ENC_CONFIG`; its GOP length, IDR period, frameIntervalP and rate summary.
fn check_config(c: &Bytes, codec: Codec) -> Result<(u32, u32, i32, String), Refusal> {
    type C = nv::NV_ENC_CONFIG;
    version(
        c,
        field!(C, version),
        nv::NV_ENC_CONFIG_VER,
        "NV_ENC_CONFIG::version",
    )?;
    version(
        c,
        field!(C, rcParams.version),
        nv::NV_ENC_RC_PARAMS_VER,
        "NV_ENC_CONFIG::rcParams.version",
    )?;
    reserved(
        c,
        &[
            (field!(C, reserved), "NV_ENC_CONFIG::reserved"),
            (field!(C, reserved2), "NV_ENC_CONFIG::reserved2"),
            (field!(C, rcParams.reserved), "NV_ENC_RC_PARAMS::reserved"),
            (field!(C, rcParams.reserved2), "NV_ENC_RC_PARAMS::reserved2"),
        ],
    )?;
    if !codec.has_profile(&c.guid(field!(C, profileGUID))) {
        return Err(violation(
            INVALID_PARAM,
            format!("profileGUID is not a {codec:?} profile"),
        ));
    }
    let ffm = c.u32(field!(C, frameFieldMode));
    match ffm {
        1 => {}
        2 | 3 => return Err(limitation(format!("frameFieldMode {ffm} (field encoding)"))),
        _ => {
            return Err(violation(
                INVALID_PARAM,
                format!("frameFieldMode {ffm} is not an NV_ENC_PARAMS_FRAME_FIELD_MODE"),
            ))
        }
    }
    for (at, name, max) in [
        (field!(C, mvPrecision), "mvPrecision", 3),
        (
            field!(C, rcParams.rateControlMode),
            "rcParams.rateControlMode",
            2,
        ),
        (field!(C, rcParams.qpMapMode), "rcParams.qpMapMode", 3),
        (field!(C, rcParams.multiPass), "rcParams.multiPass", 2),
    ] {
        let v = c.u32(at);
        if v > max {
            return Err(violation(
                INVALID_PARAM,
                format!("NV_ENC_CONFIG::{name} {v} is outside its enumeration (0 … {max})"),
            ));
        }
    }
    let gop = c.u32(field!(C, gopLength));
    let fip = c.i32(field!(C, frameIntervalP));
    if fip < 0 {
        return Err(violation(
            INVALID_PARAM,
            format!("frameIntervalP {fip} (0: I only, 1: IPP, 2: IBP, 3: IBBP …)"),
        ));
    }
    let idr = match codec {
        Codec::H264 => {
            let chroma = c.u32(field!(C, encodeCodecConfig.h264Config.chromaFormatIDC));
            if chroma != 1 && chroma != 3 {
                return Err(violation(
                    INVALID_PARAM,
                    format!("h264Config.chromaFormatIDC {chroma}: 1 for 4:2:0, 3 for 4:4:4"),
                ));
            }
            reserved(
                c,
                &[
                    (
                        field!(C, encodeCodecConfig.h264Config.reserved1),
                        "NV_ENC_CONFIG_H264::reserved1",
                    ),
                    (
                        field!(C, encodeCodecConfig.h264Config.reserved2),
                        "NV_ENC_CONFIG_H264::reserved2",
                    ),
                ],
            )?;
            c.u32(field!(C, encodeCodecConfig.h264Config.idrPeriod))
        }
        Codec::Hevc => {
            let bits = c.u32(field!(C, encodeCodecConfig.hevcConfig._bitfield_1));
            let (chroma, depth) = ((bits >> 9) & 3, (bits >> 11) & 7);
            if (chroma != 1 && chroma != 3) || (depth != 0 && depth != 2) {
                return Err(violation(
                    INVALID_PARAM,
                    format!("hevcConfig.chromaFormatIDC {chroma} / pixelBitDepthMinus8 {depth}: 1 or 3, and 0 or 2"),
                ));
            }
            if bits >> 20 != 0 {
                return Err(violation(
                    INVALID_PARAM,
                    "NV_ENC_CONFIG_HEVC::reserved bit fields are not 0",
                ));
            }
            reserved(
                c,
                &[
                    (
                        field!(C, encodeCodecConfig.hevcConfig.reserved1),
                        "NV_ENC_CONFIG_HEVC::reserved1",
                    ),
                    (
                        field!(C, encodeCodecConfig.hevcConfig.reserved2),
                        "NV_ENC_CONFIG_HEVC::reserved2",
                    ),
                ],
            )?;
            c.u32(field!(C, encodeCodecConfig.hevcConfig.idrPeriod))
        }
        Codec::Av1 => {
            let bits = c.u32(field!(C, encodeCodecConfig.av1Config._bitfield_1));
            let (chroma, input, depth) = ((bits >> 7) & 3, (bits >> 12) & 7, (bits >> 15) & 7);
            if chroma != 1 || ![0, 2].contains(&input) || ![0, 2].contains(&depth) {
                return Err(violation(
                    INVALID_PARAM,
                    format!("av1Config.chromaFormatIDC {chroma} (1 only) / inputPixelBitDepthMinus8 {input} / pixelBitDepthMinus8 {depth} (0 or 2)"),
                ));
            }
            if bits >> 18 != 0 {
                return Err(violation(
                    INVALID_PARAM,
                    "NV_ENC_CONFIG_AV1::reserved bit fields are not 0",
                ));
            }
            let custom_tiles = bits & (1 << 10) != 0;
            let film_grain = bits & (1 << 11) != 0;
            let tiles = !c.zero(field!(C, encodeCodecConfig.av1Config.tileWidths))
                || !c.zero(field!(C, encodeCodecConfig.av1Config.tileHeights));
            if tiles && !custom_tiles {
                return Err(violation(
                    INVALID_PARAM,
                    "av1Config.tileWidths/tileHeights set without enableCustomTileConfig",
                ));
            }
            if !c.zero(field!(C, encodeCodecConfig.av1Config.filmGrainParams)) && !film_grain {
                return Err(violation(
                    INVALID_PARAM,
                    "av1Config.filmGrainParams set without enableFilmGrainParams",
                ));
            }
            reserved(
                c,
                &[
                    (
                        field!(C, encodeCodecConfig.av1Config.reserved1),
                        "NV_ENC_CONFIG_AV1::reserved1",
                    ),
                    (
                        field!(C, encodeCodecConfig.av1Config.reserved2),
                        "NV_ENC_CONFIG_AV1::reserved2",
                    ),
                ],
            )?;
            c.u32(field!(C, encodeCodecConfig.av1Config.idrPeriod))
        }
    };
    let rate = format!(
        "rc mode {} avg {} max {} vbv {} lookahead {} depth {}",
        c.u32(field!(C, rcParams.rateControlMode)),
        c.u32(field!(C, rcParams.averageBitRate)),
        c.u32(field!(C, rcParams.maxBitRate)),
        c.u32(field!(C, rcParams.vbvBufferSize)),
        (c.u32(field!(C, rcParams._bitfield_1)) >> 5) & 1,
        u16::from_ne_bytes(
            c.bytes(field!(C, rcParams.lookaheadDepth))
                .try_into()
                .expect("2")
        ),
    );
    Ok((gop, if idr == 0 { gop } else { idr }, fip, rate))
}

/// `nvEncInitializeEncoder`.
pub(crate) unsafe fn initialize_encoder(
    encoder: *mut c_void,
    params: *mut nv::NV_ENC_INITIALIZE_PARAMS,
) -> u32 {
    on_session("nvEncInitializeEncoder", encoder, |s| {
        if s.state == State::Initialized {
            return Err(violation(
                INVALID_CALL,
                "the encoder is already initialised",
            ));
        }
        if params.is_null() {
            return Err(null_ptr("createEncodeParams"));
        }
        // SAFETY: non-null; the header's structure.
        let b = unsafe { Bytes::copy(params) };
        let init = check_init(&b, "NV_ENC_INITIALIZE_PARAMS", None)?;
        let detail = format!(
            "{:?} {}x{} GOP {} IDR period {} frameIntervalP {} {} splitEncodeMode {}",
            init.codec,
            init.width,
            init.height,
            init.gop,
            init.idr_period,
            init.frame_interval_p,
            init.rate,
            init.split
        );
        s.init = Some(init);
        s.state = State::Initialized;
        ok(detail)
    })
}

/// `nvEncReconfigureEncoder`: only what the header lets change (not the codec, GOP
/// structure, sync/async mode, maximum size or picture-type decision; the size only within the
/// maximum set at initialisation).
pub(crate) unsafe fn reconfigure_encoder(
    encoder: *mut c_void,
    params: *mut nv::NV_ENC_RECONFIGURE_PARAMS,
) -> u32 {
    on_session("nvEncReconfigureEncoder", encoder, |s| {
        let was = initialized(s)?.clone();
        if params.is_null() {
            return Err(null_ptr("reInitEncodeParams"));
        }
        // SAFETY: non-null; the header's structure.
        let b = unsafe { Bytes::copy(params) };
        type R = nv::NV_ENC_RECONFIGURE_PARAMS;
        version(
            &b,
            field!(R, version),
            nv::NV_ENC_RECONFIGURE_PARAMS_VER,
            "NV_ENC_RECONFIGURE_PARAMS::version",
        )?;
        let bits = b.u32(field!(R, _bitfield_1));
        if bits >> 2 != 0 {
            return Err(violation(
                INVALID_PARAM,
                "NV_ENC_RECONFIGURE_PARAMS::reserved bit fields are not 0",
            ));
        }
        let new = check_init(
            &b.sub(field!(R, reInitEncodeParams)),
            "NV_ENC_RECONFIGURE_PARAMS::reInitEncodeParams",
            Some(&was),
        )?;
        let refuse = |what: String| {
            Err(violation(
                UNSUPPORTED_PARAM,
                format!("{what}; the header: this cannot change in NvEncReconfigureEncoder"),
            ))
        };
        if new.codec != was.codec {
            return refuse(format!("encodeGUID {:?} → {:?}", was.codec, new.codec));
        }
        if (new.gop, new.frame_interval_p) != (was.gop, was.frame_interval_p) {
            return refuse(format!(
                "GOP structure (gopLength {} → {}, frameIntervalP {} → {})",
                was.gop, new.gop, was.frame_interval_p, new.frame_interval_p
            ));
        }
        if new.asynchronous != was.asynchronous || new.ptd != was.ptd {
            return refuse("sync/async mode or enablePTD".into());
        }
        if (new.max_width, new.max_height) != (was.max_width, was.max_height) {
            return refuse(format!(
                "maxEncodeWidth x maxEncodeHeight {}x{} → {}x{}",
                was.max_width, was.max_height, new.max_width, new.max_height
            ));
        }
        if (new.width, new.height) != (was.width, was.height)
            && (new.width > was.max_width || new.height > was.max_height)
        {
            return refuse(format!(
                "the size {}x{} → {}x{} beyond maxEncodeWidth x maxEncodeHeight {}x{} (0: no resolution change)",
                was.width, was.height, new.width, new.height, was.max_width, was.max_height
            ));
        }
        let (reset, force_idr) = (bits & 1 != 0, bits & 2 != 0);
        s.force_idr |= reset || force_idr;
        let detail = format!(
            "at picture {}: {} resetEncoder {} forceIDR {}",
            s.pictures,
            new.rate,
            u8::from(reset),
            u8::from(force_idr)
        );
        s.init = Some(new);
        ok(detail)
    })
}

/// `nvEncSetIOCudaStreams`: the pointers are kept, and each picture reads the stream handle
/// through them (NVENC keeps the pointers, not the handles).
pub(crate) unsafe fn set_io_cuda_streams(
    encoder: *mut c_void,
    input: *mut c_void,
    output: *mut c_void,
) -> u32 {
    on_session("nvEncSetIOCudaStreams", encoder, |s| {
        initialized(s)?;
        if input.is_null() || output.is_null() {
            return Err(null_ptr("inputStream or outputStream"));
        }
        for (p, name) in [(input, "inputStream"), (output, "outputStream")] {
            // SAFETY: non-null; the header: a pointer to a CUstream.
            let stream = unsafe { p.cast::<usize>().read() };
            stream_of(s.context, stream, name)?;
        }
        s.io_streams = Some((input as usize, output as usize));
        ok(format!(
            "input stream at {input:p}, output stream at {output:p}"
        ))
    })
}

fn stream_of(context: usize, stream: usize, name: &str) -> Result<(), Refusal> {
    let owner = cuda()
        .stream_context(stream)
        .map_err(|e| violation(INVALID_PARAM, format!("{name} {stream:#x}: {e}")))?;
    if owner == context {
        Ok(())
    } else {
        Err(violation(
            INVALID_PARAM,
            format!("{name} {stream:#x} is a stream of context {owner:#x}, not of the session's {context:#x}"),
        ))
    }
}

/// `nvEncCreateBitstreamBuffer`.
pub(crate) unsafe fn create_bitstream_buffer(
    encoder: *mut c_void,
    params: *mut nv::NV_ENC_CREATE_BITSTREAM_BUFFER,
) -> u32 {
    on_session("nvEncCreateBitstreamBuffer", encoder, |s| {
        initialized(s)?;
        if params.is_null() {
            return Err(null_ptr("createBitstreamBufferParams"));
        }
        // SAFETY: non-null; the header's structure.
        let b = unsafe { Bytes::copy(params) };
        type T = nv::NV_ENC_CREATE_BITSTREAM_BUFFER;
        version(
            &b,
            field!(T, version),
            nv::NV_ENC_CREATE_BITSTREAM_BUFFER_VER,
            "NV_ENC_CREATE_BITSTREAM_BUFFER::version",
        )?;
        reserved(
            &b,
            &[
                (field!(T, size), "size (deprecated: do not use)"),
                (field!(T, memoryHeap), "memoryHeap (deprecated: do not use)"),
                (field!(T, reserved), "reserved"),
                (field!(T, reserved1), "reserved1"),
                (field!(T, reserved2), "reserved2"),
            ],
        )?;
        let h = new_handle();
        s.buffers.insert(
            h,
            Buffer {
                state: BufferState::Free,
                data: Vec::new(),
                job: None,
                timestamp: 0,
                duration: 0,
                picture_type: 0,
                frame_idx: 0,
                mapping: None,
            },
        );
        // SAFETY: non-null; the [out] members.
        unsafe {
            write(params, field!(T, bitstreamBuffer), h as *mut c_void);
            write(
                params,
                field!(T, bitstreamBufferPtr),
                std::ptr::null_mut::<c_void>(),
            );
        }
        ok(format!("buffer {h:#x}"))
    })
}

/// `nvEncDestroyBitstreamBuffer`.
pub(crate) unsafe fn destroy_bitstream_buffer(encoder: *mut c_void, buffer: *mut c_void) -> u32 {
    on_session("nvEncDestroyBitstreamBuffer", encoder, |s| {
        let h = buffer as usize;
        let state = s
            .buffers
            .get(&h)
            .ok_or_else(|| {
                violation(
                    INVALID_PARAM,
                    format!("{h:#x} is not a bitstream buffer of this session"),
                )
            })?
            .state;
        if state != BufferState::Free {
            return Err(violation(
                INVALID_CALL,
                format!("buffer {h:#x} is {state:?}: lock and unlock its picture's bitstream before destroying it"),
            ));
        }
        s.buffers.remove(&h);
        ok(format!("buffer {h:#x}"))
    })
}

/// The registered input formats the stand-in writes.
fn layout_of(format: u32) -> Result<Layout, Refusal> {
    use nv::NV_ENC_BUFFER_FORMAT as F;
    match format {
        f if f == F::NV_ENC_BUFFER_FORMAT_NV12 as u32 => Ok(Layout::Nv12),
        f if f == F::NV_ENC_BUFFER_FORMAT_YUV420_10BIT as u32 => Ok(Layout::P010),
        f if [
            F::NV_ENC_BUFFER_FORMAT_YV12,
            F::NV_ENC_BUFFER_FORMAT_IYUV,
            F::NV_ENC_BUFFER_FORMAT_YUV444,
            F::NV_ENC_BUFFER_FORMAT_YUV444_10BIT,
            F::NV_ENC_BUFFER_FORMAT_ARGB,
            F::NV_ENC_BUFFER_FORMAT_ARGB10,
            F::NV_ENC_BUFFER_FORMAT_AYUV,
            F::NV_ENC_BUFFER_FORMAT_ABGR,
            F::NV_ENC_BUFFER_FORMAT_ABGR10,
        ]
        .iter()
        .any(|g| *g as u32 == f) =>
        {
            Err(limitation(format!(
                "bufferFormat {f:#x} (NV12 and YUV420_10BIT only)"
            )))
        }
        f => Err(violation(
            INVALID_PARAM,
            format!("bufferFormat {f:#x} is not an input NV_ENC_BUFFER_FORMAT"),
        )),
    }
}

/// `nvEncRegisterResource`: CUDA device memory, checked against its allocation.
pub(crate) unsafe fn register_resource(
    encoder: *mut c_void,
    params: *mut nv::NV_ENC_REGISTER_RESOURCE,
) -> u32 {
    on_session("nvEncRegisterResource", encoder, |s| {
        let init = initialized(s)?.clone();
        if params.is_null() {
            return Err(null_ptr("registerResParams"));
        }
        // SAFETY: non-null; the header's structure.
        let b = unsafe { Bytes::copy(params) };
        type T = nv::NV_ENC_REGISTER_RESOURCE;
        version(
            &b,
            field!(T, version),
            nv::NV_ENC_REGISTER_RESOURCE_VER,
            "NV_ENC_REGISTER_RESOURCE::version",
        )?;
        reserved(
            &b,
            &[
                (field!(T, reserved1), "NV_ENC_REGISTER_RESOURCE::reserved1"),
                (field!(T, reserved2), "NV_ENC_REGISTER_RESOURCE::reserved2"),
                (field!(T, subResourceIndex), "subResourceIndex (0 for CUDA)"),
                (field!(T, pInputFencePoint), "pInputFencePoint (D3D12 only)"),
            ],
        )?;
        let kind = b.u32(field!(T, resourceType));
        use nv::NV_ENC_INPUT_RESOURCE_TYPE as RT;
        if kind == RT::NV_ENC_INPUT_RESOURCE_TYPE_CUDAARRAY as u32 {
            return Err(limitation("NV_ENC_INPUT_RESOURCE_TYPE_CUDAARRAY"));
        }
        if kind != RT::NV_ENC_INPUT_RESOURCE_TYPE_CUDADEVICEPTR as u32 {
            return Err(violation(
                INVALID_PARAM,
                format!("resourceType {kind}: a CUDA session registers CUDADEVICEPTR (1) or CUDAARRAY (2)"),
            ));
        }
        let usage = b.u32(field!(T, bufferUsage));
        if usage != nv::NV_ENC_BUFFER_USAGE::NV_ENC_INPUT_IMAGE as u32 {
            return Err(if [1, 2, 4].contains(&usage) {
                limitation(format!("bufferUsage {usage}"))
            } else {
                violation(
                    INVALID_PARAM,
                    format!("bufferUsage {usage} is not an NV_ENC_BUFFER_USAGE"),
                )
            });
        }
        let format = b.u32(field!(T, bufferFormat));
        let layout = layout_of(format)?;
        if init.codec == Codec::H264
            && layout == Layout::P010
            && caps::value(
                Codec::H264,
                nv::NV_ENC_CAPS::NV_ENC_CAPS_SUPPORT_10BIT_ENCODE as u32,
            ) == 0
        {
            return Err(violation(
                UNSUPPORTED_PARAM,
                "YUV420_10BIT input for H.264: NV_ENC_CAPS_SUPPORT_10BIT_ENCODE is 0 for H.264",
            ));
        }
        let (width, height, pitch) = (
            b.u32(field!(T, width)),
            b.u32(field!(T, height)),
            b.u32(field!(T, pitch)),
        );
        let (max_w, max_h) = if init.max_width == 0 {
            (init.width, init.height)
        } else {
            (init.max_width, init.max_height)
        };
        if width == 0 || height == 0 || width > max_w || height > max_h {
            return Err(violation(
                INVALID_PARAM,
                format!("width x height {width}x{height}: non-zero and at most the session's {max_w}x{max_h}"),
            ));
        }
        let row = width * layout.bytes_per_sample();
        if pitch % 4 != 0 || pitch < row {
            return Err(violation(
                INVALID_PARAM,
                format!("pitch {pitch}: a multiple of 4 (the header) and at least a row, {row} bytes of {width} {layout:?} samples"),
            ));
        }
        let pointer = b.u64(field!(T, resourceToRegister));
        if pointer == 0 {
            return Err(null_ptr("resourceToRegister"));
        }
        let need = layout.frame_bytes(pitch, height);
        cuda().check_range(s.context, pointer, need).map_err(|e| {
            violation(
                INVALID_PARAM,
                format!("resourceToRegister {pointer:#x} for a {width}x{height} {layout:?} frame at pitch {pitch}: {e}"),
            )
        })?;
        let h = new_handle();
        s.registrations.insert(
            h,
            Registration {
                pointer,
                width,
                height,
                pitch,
                format,
                layout,
                mapped: None,
            },
        );
        // SAFETY: non-null; the [out] member.
        unsafe { write(params, field!(T, registeredResource), h as *mut c_void) };
        ok(format!(
            "{h:#x}: {pointer:#x} {width}x{height} pitch {pitch} {layout:?}"
        ))
    })
}

/// `nvEncUnregisterResource`.
pub(crate) unsafe fn unregister_resource(encoder: *mut c_void, registered: *mut c_void) -> u32 {
    on_session("nvEncUnregisterResource", encoder, |s| {
        let h = registered as usize;
        let r = s.registrations.get(&h).ok_or_else(|| {
            violation(
                RESOURCE_NOT_REGISTERED,
                format!("{h:#x} is not a registered resource of this session"),
            )
        })?;
        if let Some(m) = r.mapped {
            return Err(violation(
                INVALID_CALL,
                format!("{h:#x} is still mapped (as {m:#x}): unmap it before unregistering"),
            ));
        }
        s.registrations.remove(&h);
        ok(format!("{h:#x}"))
    })
}

/// `nvEncMapInputResource`.
pub(crate) unsafe fn map_input_resource(
    encoder: *mut c_void,
    params: *mut nv::NV_ENC_MAP_INPUT_RESOURCE,
) -> u32 {
    on_session("nvEncMapInputResource", encoder, |s| {
        initialized(s)?;
        if params.is_null() {
            return Err(null_ptr("mapInputResParams"));
        }
        // SAFETY: non-null; the header's structure.
        let b = unsafe { Bytes::copy(params) };
        type T = nv::NV_ENC_MAP_INPUT_RESOURCE;
        version(
            &b,
            field!(T, version),
            nv::NV_ENC_MAP_INPUT_RESOURCE_VER,
            "NV_ENC_MAP_INPUT_RESOURCE::version",
        )?;
        reserved(
            &b,
            &[
                (
                    field!(T, subResourceIndex),
                    "subResourceIndex (deprecated: do not use)",
                ),
                (
                    field!(T, inputResource),
                    "inputResource (deprecated: do not use)",
                ),
                (field!(T, reserved1), "NV_ENC_MAP_INPUT_RESOURCE::reserved1"),
                (field!(T, reserved2), "NV_ENC_MAP_INPUT_RESOURCE::reserved2"),
            ],
        )?;
        let r = b.ptr(field!(T, registeredResource));
        let reg = s.registrations.get_mut(&r).ok_or_else(|| {
            violation(
                RESOURCE_NOT_REGISTERED,
                format!("registeredResource {r:#x} is not registered with this session"),
            )
        })?;
        if let Some(m) = reg.mapped {
            return Err(violation(
                INVALID_CALL,
                format!("{r:#x} is already mapped (as {m:#x}); unmap it first"),
            ));
        }
        let h = new_handle();
        reg.mapped = Some(h);
        let format = reg.format;
        s.mappings.insert(
            h,
            Mapping {
                registration: r,
                in_flight: 0,
            },
        );
        // SAFETY: non-null; the [out] members; the format is one `layout_of` accepted, a
        // member of NV_ENC_BUFFER_FORMAT.
        unsafe {
            write(params, field!(T, mappedResource), h as *mut c_void);
            write(params, field!(T, mappedBufferFmt), format);
        }
        ok(format!("{r:#x} as {h:#x}"))
    })
}

/// `nvEncUnmapInputResource`.
pub(crate) unsafe fn unmap_input_resource(encoder: *mut c_void, mapped: *mut c_void) -> u32 {
    on_session("nvEncUnmapInputResource", encoder, |s| {
        let h = mapped as usize;
        let m = s.mappings.get(&h).ok_or_else(|| {
            violation(
                RESOURCE_NOT_MAPPED,
                format!("{h:#x} is not a mapped input of this session"),
            )
        })?;
        if m.in_flight > 0 {
            return Err(violation(
                INVALID_CALL,
                format!(
                    "{h:#x} is input to {} picture(s) whose bitstream is not locked yet; the header: unmap after NvEncLockBitstream returns for the work that used it",
                    m.in_flight
                ),
            ));
        }
        let r = m.registration;
        s.mappings.remove(&h);
        if let Some(reg) = s.registrations.get_mut(&r) {
            reg.mapped = None;
        }
        ok(format!("{h:#x}"))
    })
}

/// The SEI/OBU payload array of a picture, checked: the payload types.
fn payloads(p: &Bytes, codec: Codec) -> Result<Vec<u32>, Refusal> {
    type P = nv::NV_ENC_PIC_PARAMS;
    let (count, array) = match codec {
        Codec::H264 => (
            p.u32(field!(P, codecPicParams.h264PicParams.seiPayloadArrayCnt)),
            p.ptr(field!(P, codecPicParams.h264PicParams.seiPayloadArray)),
        ),
        Codec::Hevc => (
            p.u32(field!(P, codecPicParams.hevcPicParams.seiPayloadArrayCnt)),
            p.ptr(field!(P, codecPicParams.hevcPicParams.seiPayloadArray)),
        ),
        Codec::Av1 => (
            p.u32(field!(P, codecPicParams.av1PicParams.obuPayloadArrayCnt)),
            p.ptr(field!(P, codecPicParams.av1PicParams.obuPayloadArray)),
        ),
    };
    if count == 0 {
        return Ok(Vec::new());
    }
    if array == 0 {
        return Err(null_ptr(&format!("the payload array of {count} entries")));
    }
    let mut types = Vec::new();
    for i in 0..count as usize {
        // SAFETY: the header: `count` NV_ENC_SEI_PAYLOAD entries at `array`.
        let e = unsafe { (array as *const nv::NV_ENC_SEI_PAYLOAD).add(i).read() };
        if e.payload.is_null() || e.payloadSize == 0 {
            return Err(violation(
                INVALID_PARAM,
                format!(
                    "payload {i} (type {}): {} bytes at {:p}",
                    e.payloadType, e.payloadSize, e.payload
                ),
            ));
        }
        types.push(e.payloadType);
    }
    Ok(types)
}

/// `nvEncEncodePicture`.
pub(crate) unsafe fn encode_picture(
    encoder: *mut c_void,
    params: *mut nv::NV_ENC_PIC_PARAMS,
) -> u32 {
    on_session("nvEncEncodePicture", encoder, |s| {
        let init = initialized(s)?.clone();
        if params.is_null() {
            return Err(null_ptr("encodePicParams"));
        }
        // SAFETY: non-null; the header's structure.
        let b = unsafe { Bytes::copy(params) };
        encode(s, &init, &b)
    })
}

fn encode(s: &mut Session, init: &Init, b: &Bytes) -> Outcome {
    type P = nv::NV_ENC_PIC_PARAMS;
    version(
        b,
        field!(P, version),
        nv::NV_ENC_PIC_PARAMS_VER,
        "NV_ENC_PIC_PARAMS::version",
    )?;
    let mut fields = vec![
        (field!(P, reserved1), "NV_ENC_PIC_PARAMS::reserved1"),
        (field!(P, reserved2), "NV_ENC_PIC_PARAMS::reserved2"),
        (field!(P, reserved3), "NV_ENC_PIC_PARAMS::reserved3"),
        (field!(P, reserved4), "NV_ENC_PIC_PARAMS::reserved4"),
        (
            field!(P, reservedBitFields),
            "NV_ENC_PIC_PARAMS::reservedBitFields",
        ),
        (
            field!(P, completionEvent),
            "completionEvent (synchronous mode)",
        ),
        (
            field!(P, meHintCountsPerBlock),
            "meHintCountsPerBlock (no external ME hints)",
        ),
        (
            field!(P, meExternalHints),
            "meExternalHints (no external ME hints)",
        ),
        (field!(P, alphaBuffer), "alphaBuffer (no alpha layer)"),
        (field!(P, meExternalSbHints), "meExternalSbHints"),
        (field!(P, meSbHintsCount), "meSbHintsCount"),
        (
            field!(P, stateBufferIdx),
            "stateBufferIdx (no state buffers)",
        ),
        (
            field!(P, outputReconBuffer),
            "outputReconBuffer (no recon output)",
        ),
    ];
    match init.codec {
        Codec::H264 => fields.extend([
            (
                field!(P, codecPicParams.h264PicParams.reserved),
                "NV_ENC_PIC_PARAMS_H264::reserved",
            ),
            (
                field!(P, codecPicParams.h264PicParams.reserved2),
                "NV_ENC_PIC_PARAMS_H264::reserved2",
            ),
            (
                field!(P, codecPicParams.h264PicParams.reserved3),
                "NV_ENC_PIC_PARAMS_H264::reserved3",
            ),
        ]),
        Codec::Hevc => fields.extend([
            (
                field!(P, codecPicParams.hevcPicParams.reserved),
                "NV_ENC_PIC_PARAMS_HEVC::reserved",
            ),
            (
                field!(P, codecPicParams.hevcPicParams.reserved2),
                "NV_ENC_PIC_PARAMS_HEVC::reserved2",
            ),
            (
                field!(P, codecPicParams.hevcPicParams.reserved3),
                "NV_ENC_PIC_PARAMS_HEVC::reserved3",
            ),
        ]),
        Codec::Av1 => fields.extend([
            (
                field!(P, codecPicParams.av1PicParams.reserved),
                "NV_ENC_PIC_PARAMS_AV1::reserved",
            ),
            (
                field!(P, codecPicParams.av1PicParams.reserved2),
                "NV_ENC_PIC_PARAMS_AV1::reserved2",
            ),
            (
                field!(P, codecPicParams.av1PicParams.reserved3),
                "NV_ENC_PIC_PARAMS_AV1::reserved3",
            ),
        ]),
    }
    reserved(b, &fields)?;
    let flags = b.u32(field!(P, encodePicFlags));
    if flags & !0x3f != 0 {
        return Err(violation(
            INVALID_PARAM,
            format!("encodePicFlags {flags:#x} has bits outside NV_ENC_PIC_FLAGS"),
        ));
    }
    use nv::NV_ENC_PIC_FLAGS as F;
    if flags & F::NV_ENC_PIC_FLAG_EOS as u32 != 0 {
        let mut released = 0;
        for h in &s.order {
            if let Some(buf) = s.buffers.get_mut(h) {
                if buf.state == BufferState::Held {
                    buf.state = BufferState::Ready;
                    released += 1;
                }
            }
        }
        s.since_eos = 0;
        return ok(format!(
            "end of stream after picture {}: {released} held picture(s) released",
            s.pictures
        ));
    }
    if flags
        & (F::NV_ENC_PIC_FLAG_DISABLE_ENC_STATE_ADVANCE as u32
            | F::NV_ENC_PIC_FLAG_OUTPUT_RECON_FRAME as u32)
        != 0
    {
        return Err(limitation(format!(
            "encodePicFlags {flags:#x} (state buffers, recon output)"
        )));
    }
    if !b.zero(field!(P, qpDeltaMap)) || !b.zero(field!(P, qpDeltaMapSize)) {
        return Err(limitation("qpDeltaMap"));
    }
    let input = b.ptr(field!(P, inputBuffer));
    let output = b.ptr(field!(P, outputBitstream));
    if input == 0 || output == 0 {
        return Err(null_ptr("inputBuffer or outputBitstream"));
    }
    let mapping = s.mappings.get(&input).ok_or_else(|| {
        violation(
            RESOURCE_NOT_MAPPED,
            format!("inputBuffer {input:#x} is not a mapped input of this session (map it with nvEncMapInputResource)"),
        )
    })?;
    let reg_handle = mapping.registration;
    let reg = &s.registrations[&reg_handle];
    let buffer = s.buffers.get(&output).ok_or_else(|| {
        violation(
            INVALID_PARAM,
            format!("outputBitstream {output:#x} is not a bitstream buffer of this session"),
        )
    })?;
    if buffer.state != BufferState::Free {
        return Err(violation(
            INVALID_CALL,
            format!("outputBitstream {output:#x} still holds a picture ({:?}): lock and unlock it first", buffer.state),
        ));
    }
    let (w, h, pitch) = (
        b.u32(field!(P, inputWidth)),
        b.u32(field!(P, inputHeight)),
        b.u32(field!(P, inputPitch)),
    );
    if (w, h) != (init.width, init.height) || w > reg.width || h > reg.height {
        return Err(violation(
            INVALID_PARAM,
            format!(
                "inputWidth x inputHeight {w}x{h}: the encode size is {}x{}, the registered resource {}x{}",
                init.width, init.height, reg.width, reg.height
            ),
        ));
    }
    if pitch != reg.pitch {
        return Err(violation(
            INVALID_PARAM,
            format!(
                "inputPitch {pitch} is not the registered resource's pitch {}",
                reg.pitch
            ),
        ));
    }
    let fmt = b.u32(field!(P, bufferFmt));
    if fmt != reg.format {
        return Err(violation(
            INVALID_PARAM,
            format!("bufferFmt {fmt:#x} is not the mapped input's {:#x} (NV_ENC_MAP_INPUT_RESOURCE::mappedBufferFmt)", reg.format),
        ));
    }
    let structure = b.u32(field!(P, pictureStruct));
    match structure {
        1 => {}
        2 | 3 => return Err(limitation(format!("pictureStruct {structure} (fields)"))),
        _ => {
            return Err(violation(
                INVALID_PARAM,
                format!("pictureStruct {structure} is not an NV_ENC_PIC_STRUCT"),
            ))
        }
    }
    let sei = payloads(b, init.codec)?;
    if s.faults.require_io_streams && s.io_streams.is_none() {
        return Err(violation(
            INVALID_CALL,
            "a picture before nvEncSetIOCudaStreams (required here: require_io_streams)",
        ));
    }
    // The IO stream, read through the pointer NVENC was given.
    let stream = match s.io_streams {
        Some((input_stream, _)) => {
            // SAFETY: the pointer given to nvEncSetIOCudaStreams, which the caller keeps valid
            // for the session (the header).
            let handle = unsafe { (input_stream as *const usize).read() };
            stream_of(
                s.context,
                handle,
                "the input stream given to nvEncSetIOCudaStreams",
            )?;
            handle
        }
        None => 0,
    };
    let index = s.attempts;
    s.attempts += 1;
    let fault = s.faults.at(index);
    let refuse_fault = |status: u32, what: &str| {
        Err(Refusal {
            status,
            kind: Kind::Fault,
            message: format!("{what} at picture {index} (injected fault)"),
        })
    };
    match fault {
        Some(Fault::Busy) => return refuse_fault(ENCODER_BUSY, "encoder busy"),
        Some(Fault::OutOfMemory) => return refuse_fault(OUT_OF_MEMORY, "out of memory"),
        Some(Fault::Lost) => {
            s.lost = true;
            return refuse_fault(DEVICE_NOT_EXIST, "device lost");
        }
        Some(Fault::NeedMoreInput) | None => {}
    }
    let (reg_pointer, reg_pitch, reg_height, layout) =
        (reg.pointer, reg.pitch, reg.height, reg.layout);
    // A new size (a reconfiguration within the maximum) starts a new stream: new parameter
    // sets at an IDR. Inputs of two formats in one session are not written.
    let spec = (layout, init.width, init.height);
    let mut resized = false;
    match s.spec {
        Some((was, ..)) if was != layout => {
            return Err(limitation(format!(
                "a {layout:?} input in a session whose pictures so far were {was:?}"
            )));
        }
        Some(was) => resized = was != spec,
        None => {
            Writer::new(init.codec, layout, init.width, init.height).map_err(limitation)?;
        }
    }
    let bytes = usize::try_from(layout.frame_bytes(reg_pitch, reg_height))
        .map_err(|e| violation(INVALID_PARAM, e.to_string()))?;
    // Queued on the IO stream, as NVENC reads its input: the picture is written when its
    // bitstream is locked.
    let read = cuda()
        .start_read(s.context, stream, reg_pointer, bytes)
        .map_err(|e| {
            violation(
                INVALID_PARAM,
                format!("reading the registered input {reg_pointer:#x}: {e}"),
            )
        })?;
    s.spec = Some(spec);
    let force_idr = flags & F::NV_ENC_PIC_FLAG_FORCEIDR as u32 != 0;
    let force_intra = flags & F::NV_ENC_PIC_FLAG_FORCEINTRA as u32 != 0;
    let period = u64::from(init.idr_period);
    let idr = s.pictures == 0
        || resized
        || force_idr
        || s.force_idr
        || init.frame_interval_p == 0
        || (init.idr_period != nv::NVENC_INFINITE_GOPLENGTH && period > 0 && s.since_idr >= period);
    let job = Job {
        read,
        idr,
        codec: init.codec,
        spec,
        pitch: reg_pitch,
        chroma_offset: reg_pitch as usize * reg_height as usize,
    };
    if idr {
        s.since_idr = 0;
        s.force_idr = false;
    }
    s.since_idr += 1;
    // B-frame reordering as the header's synchronous example: with frameIntervalP = k, the
    // k - 1 pictures after each reference are held (NEED_MORE_INPUT) until the next one.
    let reorder = u64::try_from(init.frame_interval_p.max(1) - 1).unwrap_or(0);
    let held = fault == Some(Fault::NeedMoreInput)
        || (!idr && reorder > 0 && (s.since_idr - 2) % (reorder + 1) < reorder);
    let picture_type = if idr {
        nv::NV_ENC_PIC_TYPE::NV_ENC_PIC_TYPE_IDR as u32
    } else if force_intra {
        nv::NV_ENC_PIC_TYPE::NV_ENC_PIC_TYPE_I as u32
    } else {
        nv::NV_ENC_PIC_TYPE::NV_ENC_PIC_TYPE_P as u32
    };
    let buf = s.buffers.get_mut(&output).expect("checked above");
    *buf = Buffer {
        state: if held {
            BufferState::Held
        } else {
            BufferState::Ready
        },
        data: Vec::new(),
        job: Some(job),
        timestamp: b.u64(field!(P, inputTimeStamp)),
        duration: b.u64(field!(P, inputDuration)),
        picture_type,
        frame_idx: b.u32(field!(P, frameIdx)),
        mapping: Some(input),
    };
    s.mappings.get_mut(&input).expect("checked above").in_flight += 1;
    s.order.push_back(output);
    s.pictures += 1;
    s.since_eos += 1;
    let detail = format!(
        "picture {index} {} ts {} flags {flags:#x}{}{}",
        match picture_type {
            3 => "IDR",
            2 => "I",
            _ => "P",
        },
        b.u64(field!(P, inputTimeStamp)),
        if sei.is_empty() {
            String::new()
        } else {
            format!(" payload types {sei:?}")
        },
        if held { " held (NEED_MORE_INPUT)" } else { "" }
    );
    if held {
        return Ok((NEED_MORE_INPUT, detail));
    }
    for h in &s.order {
        if let Some(b) = s.buffers.get_mut(h) {
            if b.state == BufferState::Held {
                b.state = BufferState::Ready;
            }
        }
    }
    ok(detail)
}

/// Waits for a picture's input and writes it with `writer` (made anew for a new layout or
/// size, the picture then being an IDR). Pictures are written in submission order: the lock
/// order.
fn write_picture(writer: &mut Option<Writer>, job: Job) -> Result<Vec<u8>, Refusal> {
    let pixels = job.read.wait().map_err(|e| {
        violation(
            INVALID_PARAM,
            format!("reading the picture's registered input: {e}"),
        )
    })?;
    let (layout, width, height) = job.spec;
    let w = match writer {
        Some(w) if w.layout() == layout && w.size() == (width, height) => w,
        _ => writer.insert(Writer::new(job.codec, layout, width, height).map_err(limitation)?),
    };
    w.picture(
        &Input {
            bytes: &pixels,
            pitch: job.pitch,
            chroma_offset: job.chroma_offset,
        },
        job.idr,
    )
    .map_err(limitation)
}

/// The checks of `nvEncLockBitstream` and the picture it takes out: the buffer, its picture
/// and the session's writer (lent for the write).
fn lock_begin(
    s: &mut Session,
    params: *mut nv::NV_ENC_LOCK_BITSTREAM,
) -> Result<(usize, Job, Option<Writer>), Refusal> {
    initialized(s)?;
    if params.is_null() {
        return Err(null_ptr("lockBitstreamBufferParams"));
    }
    // SAFETY: non-null; the header's structure.
    let b = unsafe { Bytes::copy(params) };
    type L = nv::NV_ENC_LOCK_BITSTREAM;
    version(
        &b,
        field!(L, version),
        nv::NV_ENC_LOCK_BITSTREAM_VER,
        "NV_ENC_LOCK_BITSTREAM::version",
    )?;
    if b.u32(field!(L, _bitfield_1)) >> 3 != 0 {
        return Err(violation(
            INVALID_PARAM,
            "NV_ENC_LOCK_BITSTREAM::reservedBitFields is not 0",
        ));
    }
    reserved(
        &b,
        &[
            (field!(L, reserved1), "NV_ENC_LOCK_BITSTREAM::reserved1"),
            (field!(L, reserved2), "NV_ENC_LOCK_BITSTREAM::reserved2"),
            (
                field!(L, reservedInternal),
                "NV_ENC_LOCK_BITSTREAM::reservedInternal",
            ),
        ],
    )?;
    let h = b.ptr(field!(L, outputBitstream));
    let state = s
        .buffers
        .get(&h)
        .ok_or_else(|| {
            violation(
                INVALID_PARAM,
                format!("outputBitstream {h:#x} is not a bitstream buffer of this session"),
            )
        })?
        .state;
    match state {
        BufferState::Free => {
            return Err(violation(
                INVALID_CALL,
                format!("buffer {h:#x} holds no submitted picture"),
            ))
        }
        BufferState::Held => {
            return Err(violation(
                INVALID_CALL,
                format!("buffer {h:#x}: its picture's nvEncEncodePicture returned NV_ENC_ERR_NEED_MORE_INPUT and no later call succeeded; the header: do not lock it before then"),
            ))
        }
        BufferState::Locked => {
            return Err(violation(
                INVALID_CALL,
                format!("buffer {h:#x} is already locked"),
            ))
        }
        BufferState::Ready => {}
    }
    if s.order.front() != Some(&h) {
        return Err(violation(
            INVALID_CALL,
            format!(
                "buffer {h:#x} locked out of order: {:#x} was submitted before it; the header: lock in submission order",
                s.order.front().copied().unwrap_or(0)
            ),
        ));
    }
    if s.locking {
        return Err(violation(
            INVALID_CALL,
            "a lock while another nvEncLockBitstream of this session is in progress (on another thread): output buffers are locked by one thread, in order",
        ));
    }
    let here = std::thread::current().id();
    if let Some(first) = s.lock_thread.filter(|t| *t != here) {
        return Err(violation(
            INVALID_CALL,
            format!("nvEncLockBitstream on thread {here:?}, while this session's bitstreams were locked on {first:?} until now: the guide's model is one worker thread that locks every output buffer, in submission order"),
        ));
    }
    s.lock_thread = Some(here);
    let buf = s.buffers.get_mut(&h).expect("checked above");
    let job = buf.job.take().expect("a ready buffer holds its picture");
    buf.state = BufferState::Locked;
    s.order.pop_front();
    s.locking = true;
    Ok((h, job, s.writer.take()))
}

/// `nvEncLockBitstream`: in submission order, only pictures whose output is ready. The wait
/// for the input's copy and the writing happen outside the sessions' lock, so other threads'
/// calls (the next picture's submission) go on meanwhile, as with NVENC.
pub(crate) unsafe fn lock_bitstream(
    encoder: *mut c_void,
    params: *mut nv::NV_ENC_LOCK_BITSTREAM,
) -> u32 {
    const CALL: &str = "nvEncLockBitstream";
    let started = Instant::now();
    let (h, job, mut writer) = match session_step(CALL, encoder, started, |s| lock_begin(s, params))
    {
        Ok(taken) => taken,
        Err(status) => return status,
    };
    let written = write_picture(&mut writer, job);
    let done = session_step(CALL, encoder, started, |s| {
        s.writer = writer;
        s.locking = false;
        let buf = s.buffers.get_mut(&h).expect("a locked buffer stays");
        if let Some(m) = buf.mapping.take() {
            if let Some(m) = s.mappings.get_mut(&m) {
                m.in_flight = m.in_flight.saturating_sub(1);
            }
        }
        buf.data = match written {
            Ok(data) => data,
            Err(r) => {
                buf.state = BufferState::Free;
                return Err(r);
            }
        };
        let len = u32::try_from(buf.data.len()).map_err(|_| limitation("a picture over 4 GiB"))?;
        type L = nv::NV_ENC_LOCK_BITSTREAM;
        // SAFETY: non-null (checked in `lock_begin`); the [out] members, written with values
        // of their types (the picture type a member of NV_ENC_PIC_TYPE, the structure FRAME).
        // The data pointer stays valid until the unlock (the buffer is not touched before).
        unsafe {
            write(
                params,
                field!(L, bitstreamBufferPtr),
                buf.data.as_mut_ptr().cast::<c_void>(),
            );
            write(params, field!(L, bitstreamSizeInBytes), len);
            write(params, field!(L, outputTimeStamp), buf.timestamp);
            write(params, field!(L, outputDuration), buf.duration);
            write(params, field!(L, pictureType), buf.picture_type);
            write(
                params,
                field!(L, pictureStruct),
                nv::NV_ENC_PIC_STRUCT::NV_ENC_PIC_STRUCT_FRAME as u32,
            );
            write(params, field!(L, frameIdx), buf.frame_idx);
            write(params, field!(L, frameIdxDisplay), buf.frame_idx);
            write(params, field!(L, hwEncodeStatus), 0u32);
            write(params, field!(L, numSlices), 1u32);
        }
        Ok((
            SUCCESS,
            format!(
                "buffer {h:#x}: {len} bytes, ts {}, type {}",
                buf.timestamp, buf.picture_type
            ),
        ))
    });
    match done {
        Ok(done) => finish(None, encoder as usize, CALL, Ok(done), started),
        Err(status) => status,
    }
}

/// `nvEncUnlockBitstream`.
pub(crate) unsafe fn unlock_bitstream(encoder: *mut c_void, buffer: *mut c_void) -> u32 {
    on_session("nvEncUnlockBitstream", encoder, |s| {
        let h = buffer as usize;
        let buf = s.buffers.get_mut(&h).ok_or_else(|| {
            violation(
                INVALID_PARAM,
                format!("{h:#x} is not a bitstream buffer of this session"),
            )
        })?;
        if buf.state != BufferState::Locked {
            return Err(violation(
                INVALID_CALL,
                format!("buffer {h:#x} is not locked ({:?})", buf.state),
            ));
        }
        buf.state = BufferState::Free;
        buf.data.clear();
        ok(format!("buffer {h:#x}"))
    })
}

/// `nvEncInvalidateRefFrames`: recorded with the picture count it arrived at.
pub(crate) unsafe fn invalidate_ref_frames(encoder: *mut c_void, timestamp: u64) -> u32 {
    on_session("nvEncInvalidateRefFrames", encoder, |s| {
        initialized(s)?;
        ok(format!("timestamp {timestamp} at picture {}", s.pictures))
    })
}

/// The session count, for tests.
pub fn live_sessions() -> usize {
    sessions().len()
}
