//! Recorders: the library's `Recorder` (a named source to files, a replay buffer, live streams
//! and a stats writer at once, on its own threads) through `gs_recorder_*`: options, create,
//! start, events, replay saves, keyframe, bitrate, stats, stop, destroy.

use std::ffi::{c_char, CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use ghoststream::capture::Region;
use ghoststream::output::live::LiveOptions;
use ghoststream::output::replay::ReplayLimits;
use ghoststream::output::{ContainerFormat, OutputFormat};
use ghoststream::recorder::{
    Limit, OutputSpec, RateOptions, Recorder, RecorderControls, RecorderError, RecorderEvent,
    RecorderOptions, RecorderStatus, RecorderSummary, StreamState,
};
use ghoststream::source::SourceSpec;
use ghoststream::{KeyframeEvery, KeyframeInterval, RateControlMode, Rational};

use crate::handles::{self, Live};
use crate::options::{
    codec, encode_settings, gpu_choice, keyframe_interval, pixel_format, rate_mode,
    read_session_options, session_defaults, GsSessionOptions, GS_CODEC_DEFAULT, GS_PRESET_DEFAULT,
    GS_RC_DEFAULT, SESSION_OPTIONS_V0_2,
};
use crate::output::{output_format, path_arg, GS_OUTPUT_AUTO, GS_OUTPUT_MKV};
use crate::result::{
    c_string, guarded, Failure, Outcome, GS_AGAIN, GS_EOF, GS_ERR_BUFFER_TOO_SMALL,
    GS_ERR_INVALID_CONFIG, GS_ERR_NULL, GS_ERR_STATE, GS_OK,
};
use crate::structs::{init_prefix, read_versioned, size_of_struct, write_out, OutputStruct};

/// `GsRecorderEvent.type`: something a person may need to know while the source opens (the
/// portal waits for them to pick a screen; which capture `screen` chose). `message`.
pub const GS_EVENT_NOTICE: i32 = 1;
/// Frames flow: `message` is the source, `detail` the encoder.
pub const GS_EVENT_STARTED: i32 = 2;
/// A replay was saved: `path`, `frames`, `bytes`.
pub const GS_EVENT_REPLAY_SAVED: i32 = 3;
/// A replay save failed: `message` says why.
pub const GS_EVENT_REPLAY_FAILED: i32 = 4;
/// A live stream connected (the first time or again): `path` is its URL.
pub const GS_EVENT_STREAM_CONNECTED: i32 = 5;
/// A live stream lost its connection and is making it again: `path` is its URL, `message`
/// why it was lost.
pub const GS_EVENT_STREAM_RECONNECTING: i32 = 6;
/// A live stream dropped packets (its server was slow or away): `path` is its URL, `frames`
/// the packets dropped since the last such event.
pub const GS_EVENT_STREAM_DROPPED: i32 = 7;
/// A live source's encode runs `behind_ns` behind real time (told again every few seconds
/// while it lasts).
pub const GS_EVENT_FALLING_BEHIND: i32 = 8;
/// The source failed or went away (`message`); the recording finishes what it has.
pub const GS_EVENT_SOURCE_LOST: i32 = 9;
/// The recording is over, the last event: `result` is `GS_OK` or the failure's code
/// (`message` its detail); `frames` and `bytes` what was encoded.
pub const GS_EVENT_FINISHED: i32 = 10;

/// The most stream URLs `streams` may list.
const MAX_STREAMS: usize = 64;

/// How to record: a source, the encode settings and the outputs. Initialise with
/// `gs_recorder_options_defaults()`, then change fields. Strings and the `session` struct are
/// read by `gs_recorder_create` (copied: they may be freed once it returns). A later minor
/// version may add fields at the end (its `size` grows).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GsRecorderOptions {
    /// `sizeof(GsRecorderOptions)` as the caller was compiled with.
    pub size: u32,
    /// Raw frames' `GS_FORMAT_*` for a file or standard input (which is then read as raw
    /// frames of `source_width` x `source_height`), or the test pattern's; -1 (the default):
    /// a Y4M file, the pattern's I420 (P010-like 10-bit with `bit_depth` 10).
    pub source_format: i32,
    /// The source, as the tool's `--source` takes it: `screen` (the compositor's own capture —
    /// ext-image-copy-capture or wlr-screencopy — when it offers one, else the desktop
    /// portal), `testsrc`, `wayland[:OUTPUT]`, `wayland:window=APP_ID`, `pipewire[:NODE]`,
    /// `portal[:monitor|window]`, a Y4M (or raw) file's path, or `-` for standard input. NULL
    /// (the default): `screen`.
    pub source: *const c_char,
    /// The test pattern's and raw frames' width; 0 (the default): the pattern's 1280. A
    /// capture or a Y4M file has its own size (scale with `session->width`).
    pub source_width: u32,
    /// The test pattern's and raw frames' height; 0: the pattern's 720.
    pub source_height: u32,
    /// The rate captures are paced to (default 60 fps) and the test pattern and raw frames are
    /// stamped with (default 30 fps): numerator; 0 (with `source_fps_den` 0) for the default.
    /// A Y4M file has its own.
    pub source_fps_num: u32,
    /// Its denominator.
    pub source_fps_den: u32,
    /// `wayland`: only this part of the output, `"X,Y,WIDTHxHEIGHT"`; NULL: all of it.
    pub region: *const c_char,
    /// `wayland`: the compositor's socket (a name in `$XDG_RUNTIME_DIR` or a path); NULL:
    /// `$WAYLAND_DISPLAY`.
    pub display: *const c_char,
    /// `portal`: the file keeping the portal's restore token (so that it does not ask again);
    /// NULL: `$XDG_STATE_HOME/ghoststream/portal-restore-token`.
    pub portal_token: *const c_char,
    /// 1: leave the cursor out of a capture.
    pub no_cursor: i32,
    /// 1: the test pattern emits its frames at its rate, as a capture would (a live source),
    /// instead of as fast as they encode.
    pub realtime: i32,
    /// The encode settings, initialised by `gs_recorder_session_defaults()` (not
    /// `gs_session_options_defaults()`): there, width, height and frame rate 0 are the
    /// source's (a size scales it on the GPU; a rate is the source's rate),
    /// `GS_CODEC_DEFAULT` and `GS_RC_DEFAULT` are the library's choice for the job, and
    /// `input_format`, `input_width` and `input_height` are not read (the source's); `engine`
    /// must be NULL. NULL (the default): every setting at the recorder's default.
    pub session: *const GsSessionOptions,
    /// Stop by itself after this many frames; 0: no frame limit.
    pub limit_frames: u64,
    /// Stop by itself after this much video, in milliseconds (whole frames at the source's
    /// rate); 0: no time limit. At most one of the two limits.
    pub limit_ms: u64,
    /// A file to record into (`-`: standard output); NULL: none.
    pub output: *const c_char,
    /// Its `GS_OUTPUT_*`; `GS_OUTPUT_AUTO` (the default): from its extension (Matroska for
    /// `-`).
    pub output_format: i32,
    /// 1: replace an existing `output` or `stats` file (the output only once its first packet
    /// is written); 0 (the default): an existing file is refused.
    pub overwrite: i32,
    /// Keep the last this many milliseconds in a replay buffer for `gs_recorder_save_replay`;
    /// 0 (the default): no replay buffer.
    pub replay_ms: u64,
    /// The most bytes the replay buffer holds; 0: 512 MiB.
    pub replay_max_bytes: u64,
    /// The folder replay saves go to, each a new file named by the local date and time; NULL:
    /// the user's videos folder (`XDG_VIDEOS_DIR`, else `~/Videos`), created if missing.
    pub replay_dir: *const c_char,
    /// The replay saves' `GS_OUTPUT_*`; `GS_OUTPUT_AUTO`: Matroska (the default).
    pub replay_format: i32,
    /// The most video queued for each stream's server while it is slow or away, in
    /// milliseconds; 0: 4 seconds.
    pub stream_buffer_ms: u32,
    /// Live streams (`rtmp://host/app/key`, `srt://host:port`), reconnected when they drop: a
    /// NULL-terminated array of URLs; NULL: none.
    pub streams: *const *const c_char,
    /// A file for per-frame statistics as JSON lines and a summary line (`-`: standard
    /// output); NULL: none.
    pub stats: *const c_char,
    /// A Unix socket that takes `save`, `save SECONDS`, `status` and `stop`; NULL: none.
    pub control_socket: *const c_char,
}

/// The size of `GsRecorderOptions` in ABI 0.3, its first version.
const RECORDER_OPTIONS_V0_3: u32 = 160;

/// One event of a recording, filled by `gs_recorder_poll_event` (set `size` before the call).
/// The strings belong to the recorder: valid until the next poll on it (from any thread) or
/// its destruction.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GsRecorderEvent {
    /// `sizeof(GsRecorderEvent)`, set by the caller.
    pub size: u32,
    /// `GS_EVENT_*`.
    pub kind: i32,
    /// What happened, in words (a line a program may print after the event's name); never
    /// NULL.
    pub message: *const c_char,
    /// `GS_EVENT_STARTED`: the encoder; NULL for the others.
    pub detail: *const c_char,
    /// `GS_EVENT_REPLAY_SAVED`: the file; the stream events: the stream's URL; else NULL.
    pub path: *const c_char,
    /// `GS_EVENT_REPLAY_SAVED`: frames in the file; `GS_EVENT_FINISHED`: frames encoded;
    /// `GS_EVENT_STREAM_DROPPED`: packets dropped; else 0.
    pub frames: u64,
    /// `GS_EVENT_REPLAY_SAVED`: the file's size; `GS_EVENT_FINISHED`: encoded bytes; else 0.
    pub bytes: u64,
    /// `GS_EVENT_FALLING_BEHIND`: how far behind real time, in nanoseconds; else 0.
    pub behind_ns: i64,
    /// `GS_EVENT_FINISHED`: `GS_OK`, or the failure's code; else `GS_OK`.
    pub result: i32,
}

impl OutputStruct for GsRecorderEvent {
    const NAME: &'static str = "GsRecorderEvent";
    /// ABI 0.3's 64 bytes, its first version.
    const FIRST_SIZE: u32 = 64;
}

/// A recording's figures so far, for `gs_recorder_stats` (set `size` before the call).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct GsRecorderStats {
    /// `sizeof(GsRecorderStats)`, set by the caller.
    pub size: u32,
    /// 1 once the source, outputs and session are open and frames flow.
    pub started: i32,
    /// Frames handed to the encoder.
    pub submitted: u64,
    /// Packets written to the outputs.
    pub packets: u64,
    /// Encoded bytes.
    pub bytes: u64,
    /// Frames dropped to stay in real time.
    pub dropped: u64,
    /// The frames the recording will make when known (a limit, a file's length); else 0.
    pub total: u64,
    /// Video time encoded, in seconds.
    pub video_seconds: f64,
    /// Wall-clock time since frames started, in seconds.
    pub elapsed_seconds: f64,
    /// How far a live source's encode runs behind real time, in seconds.
    pub behind_seconds: f64,
    /// Capture-to-packet latency over the whole recording: median, in nanoseconds (0: none
    /// yet).
    pub latency_median_ns: i64,
    /// The same, 99th percentile.
    pub latency_p99_ns: i64,
    /// Capture-to-packet latency over the last few seconds: median.
    pub recent_latency_median_ns: i64,
    /// The same, 99th percentile.
    pub recent_latency_p99_ns: i64,
    /// A paced capture: ticks with no new frame, filled with the previous one.
    pub pacing_repeated: u64,
    /// A paced capture: captured frames replaced by a newer one within the same tick.
    pub pacing_dropped: u64,
    /// The replay buffer's content, in seconds (0: none).
    pub replay_seconds: f64,
    /// The replay buffer's bytes.
    pub replay_bytes: u64,
    /// The replay buffer's packets.
    pub replay_packets: u64,
    /// Live streams.
    pub streams: u32,
    /// Live streams connected now.
    pub streams_connected: u32,
    /// Packets the streams' servers accepted, summed over the streams.
    pub stream_sent: u64,
    /// Packets the streams never sent, summed over the streams.
    pub stream_dropped: u64,
}

impl OutputStruct for GsRecorderStats {
    const NAME: &'static str = "GsRecorderStats";
    /// ABI 0.3's 168 bytes, its first version.
    const FIRST_SIZE: u32 = 168;
}

/// A recording (opaque).
pub struct GsRecorder {
    /// Calls that need the recorder itself (start, poll, stop) take turns here.
    state: Mutex<State>,
    /// The controls, once started: save, keyframe, bitrate, status and stop need no turn.
    controls: OnceLock<RecorderControls>,
}

struct State {
    run: Run,
    /// The outcome once known: `GS_OK` or the failure's code, and its detail.
    outcome: Option<(i32, String)>,
    /// The `GS_EVENT_FINISHED` event was handed out: later polls are `GS_EOF`.
    finished_told: bool,
    /// The strings of the last event handed out.
    message: CString,
    detail: Option<CString>,
    path: Option<CString>,
}

enum Run {
    /// Created; `gs_recorder_start` starts these options.
    Created(Box<RecorderOptions>),
    /// Started (and perhaps ended).
    Running(Recorder),
}

impl GsRecorder {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn controls(&self) -> Result<&RecorderControls, Failure> {
        self.controls.get().ok_or_else(not_started)
    }
}

fn not_started() -> Failure {
    Failure::new(
        GS_ERR_STATE,
        "the recorder was not started: call gs_recorder_start first",
    )
}

/// This version's recorder defaults: the screen, no outputs, no limit, every encode setting
/// the recorder's default.
fn recorder_defaults() -> GsRecorderOptions {
    GsRecorderOptions {
        size: size_of_struct::<GsRecorderOptions>(),
        source_format: -1,
        source: std::ptr::null(),
        source_width: 0,
        source_height: 0,
        source_fps_num: 0,
        source_fps_den: 0,
        region: std::ptr::null(),
        display: std::ptr::null(),
        portal_token: std::ptr::null(),
        no_cursor: 0,
        realtime: 0,
        session: std::ptr::null(),
        limit_frames: 0,
        limit_ms: 0,
        output: std::ptr::null(),
        output_format: GS_OUTPUT_AUTO,
        overwrite: 0,
        replay_ms: 0,
        replay_max_bytes: 0,
        replay_dir: std::ptr::null(),
        replay_format: GS_OUTPUT_AUTO,
        stream_buffer_ms: 0,
        streams: std::ptr::null(),
        stats: std::ptr::null(),
        control_socket: std::ptr::null(),
    }
}

/// The session options a recorder starts from: the source's size and rate (0), the library's
/// codec, preset and rate control for the job (`GS_CODEC_DEFAULT`, `GS_PRESET_DEFAULT`,
/// `GS_RC_DEFAULT`), the rest as `gs_session_options_defaults`.
fn recorder_session_defaults() -> GsSessionOptions {
    GsSessionOptions {
        codec: GS_CODEC_DEFAULT,
        preset: GS_PRESET_DEFAULT,
        width: 0,
        height: 0,
        fps_num: 0,
        fps_den: 0,
        rate_control: GS_RC_DEFAULT,
        ..session_defaults()
    }
}

/// Fills the first `size` bytes of `options` with the recorder defaults (no outputs: set at
/// least one; the source `screen`) and sets its `size` (to this version's
/// `sizeof(GsRecorderOptions)` when `size` is larger). Call it as
/// `gs_recorder_options_defaults(&options)` (a macro giving the size). Any thread.
///
/// # Safety
/// `options` is NULL or writable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn gs_recorder_options_init(
    options: *mut GsRecorderOptions,
    size: u32,
) -> i32 {
    // SAFETY: contract of this function.
    unsafe {
        init_prefix(
            options,
            size,
            RECORDER_OPTIONS_V0_3,
            "GsRecorderOptions",
            recorder_defaults(),
        )
    }
}

/// Fills the first `size` bytes of `options` with the encode settings a recorder starts from
/// (see `GsRecorderOptions.session`) and sets its `size`. Call it as
/// `gs_recorder_session_defaults(&session)` (a macro giving the size). Any thread.
///
/// # Safety
/// `options` is NULL or writable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn gs_recorder_session_options_init(
    options: *mut GsSessionOptions,
    size: u32,
) -> i32 {
    // SAFETY: contract of this function.
    unsafe {
        init_prefix(
            options,
            size,
            SESSION_OPTIONS_V0_2,
            "GsSessionOptions",
            recorder_session_defaults(),
        )
    }
}

/// A C string as text: NULL is `None`; an empty string or one that is not UTF-8 is refused.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn opt_text(p: *const c_char, what: &str) -> Result<Option<String>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: a NUL-terminated string (contract).
    let s = unsafe { CStr::from_ptr(p) };
    match s.to_str() {
        Ok("") => Err(Failure::new(
            GS_ERR_INVALID_CONFIG,
            format!("`{what}` is empty: give a value, or NULL for none"),
        )),
        Ok(t) => Ok(Some(t.to_string())),
        Err(_) => Err(Failure::new(
            GS_ERR_INVALID_CONFIG,
            format!(
                "`{what}` is not UTF-8: {}",
                String::from_utf8_lossy(s.to_bytes())
            ),
        )),
    }
}

/// A C string as a path (bytes as given): NULL is `None`; an empty string is refused.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn opt_path(p: *const c_char, what: &str) -> Result<Option<PathBuf>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: contract of this function.
    unsafe { path_arg(p, what) }.map(Some)
}

fn flag(value: i32, what: &str) -> Result<bool, Failure> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(Failure::new(
            GS_ERR_INVALID_CONFIG,
            format!("{what} {other} is not 0 or 1"),
        )),
    }
}

/// A width and height pair where 0 x 0 is "not given"; one of them 0 is refused.
fn pair(a: u32, b: u32, what: &str) -> Result<Option<(u32, u32)>, Failure> {
    match (a, b) {
        (0, 0) => Ok(None),
        (a, b) if a != 0 && b != 0 => Ok(Some((a, b))),
        _ => Err(Failure::new(
            GS_ERR_INVALID_CONFIG,
            format!("{what} {a}/{b}: give both, or 0 for both (the default)"),
        )),
    }
}

/// Applies a recorder's encode settings to `r`; returns the frame rate they name, if any.
fn apply_session(
    o: &GsSessionOptions,
    r: &mut RecorderOptions,
) -> Result<Option<Rational>, Failure> {
    if !o.engine.is_null() {
        return Err(Failure::new(
            GS_ERR_INVALID_CONFIG,
            "session->engine must be NULL for a recorder: it opens its own device",
        ));
    }
    if o.input_width != 0 || o.input_height != 0 {
        return Err(Failure::new(
            GS_ERR_INVALID_CONFIG,
            format!(
                "session->input_width/height {}x{}: a recorder's input is its source; set them to 0 (scale with width and height)",
                o.input_width, o.input_height
            ),
        ));
    }
    r.codec = match o.codec {
        GS_CODEC_DEFAULT => None,
        other => Some(codec(other)?),
    };
    r.size = pair(o.width, o.height, "session->width/height")?;
    let rate = pair(o.fps_num, o.fps_den, "session->fps_num/fps_den")?
        .map(|(n, d)| Rational::new(i64::from(n), i64::from(d)));
    let mode = rate_mode(o.rate_control)?;
    let mut rate_options = RateOptions::default();
    rate_options.mode = mode;
    rate_options.bitrate = (o.bitrate != 0).then_some(o.bitrate);
    rate_options.max_bitrate = (o.max_bitrate != 0).then_some(o.max_bitrate);
    rate_options.qp = (mode == Some(RateControlMode::Cqp)).then_some(o.qp);
    rate_options.quality = (mode == Some(RateControlMode::Cq)).then_some(o.quality);
    r.rate = rate_options;
    r.keyframe_interval = keyframe_interval(o.keyframe_interval).map(|k| match k {
        KeyframeInterval::Frames(n) => KeyframeEvery::Frames(n),
        _ => KeyframeEvery::Never,
    });
    // GS_PRESET_DEFAULT leaves the choice to the recorder; any other value is checked as a
    // session's is.
    let preset_default = o.preset == GS_PRESET_DEFAULT;
    let named = GsSessionOptions {
        preset: if preset_default { 4 } else { o.preset },
        ..*o
    };
    encode_settings(&named, &mut r.session)?;
    r.preset = (!preset_default).then_some(r.session.preset);
    r.session.gpu = gpu_choice(o.gpu)?;
    Ok(rate)
}

/// A recorder's encode settings from `options` (as `gs_recorder_create` reads
/// `GsRecorderOptions.session`), or the result code and message it fails with: public (hidden)
/// for the fuzz targets in fuzz/. Not part of the C ABI.
#[doc(hidden)]
pub fn recorder_settings_from_options(options: &GsSessionOptions) -> Result<(), (i32, String)> {
    let mut r = RecorderOptions::new(SourceSpec::TestPattern, Vec::new());
    apply_session(options, &mut r)
        .map(|_| ())
        .map_err(|f| (f.code, f.message))
}

/// The library's options from the caller's.
///
/// # Safety
/// Every pointer in `o` is NULL or valid as its field's documentation says.
unsafe fn recorder_options(o: &GsRecorderOptions) -> Result<RecorderOptions, Failure> {
    let source = if o.source.is_null() {
        SourceSpec::Screen
    } else {
        // SAFETY: a NUL-terminated string (contract).
        let bytes = unsafe { CStr::from_ptr(o.source) }.to_bytes();
        match std::str::from_utf8(bytes) {
            Ok(name) => name.parse::<SourceSpec>()?,
            // Only a path can be other than UTF-8.
            Err(_) => SourceSpec::File(PathBuf::from(OsStr::from_bytes(bytes))),
        }
    };
    let mut outputs = Vec::new();
    let overwrite_flag = flag(o.overwrite, "options.overwrite")?;
    // SAFETY: NULL or a NUL-terminated string (the field's contract).
    if let Some(path) = unsafe { opt_path(o.output, "options.output")? } {
        let format = match o.output_format {
            GS_OUTPUT_AUTO => None,
            other => Some(output_format(other, &path)?),
        };
        outputs.push(OutputSpec::File {
            path,
            format,
            overwrite: overwrite_flag,
        });
    }
    if o.replay_ms > 0 {
        // SAFETY: NULL or a NUL-terminated string (the field's contract).
        let dir = match unsafe { opt_path(o.replay_dir, "options.replay_dir")? } {
            Some(dir) => dir,
            None => ghoststream::recorder::default_replay_folder()?,
        };
        let format = match o.replay_format {
            GS_OUTPUT_AUTO | GS_OUTPUT_MKV => OutputFormat::Container(ContainerFormat::Matroska),
            other => output_format(other, &dir)?,
        };
        let bytes = match o.replay_max_bytes {
            0 => ghoststream::recorder::DEFAULT_REPLAY_BYTES,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        outputs.push(OutputSpec::Replay {
            limits: ReplayLimits {
                duration: Duration::from_millis(o.replay_ms),
                bytes,
            },
            dir,
            format,
        });
    }
    if !o.streams.is_null() {
        let mut live = LiveOptions::default();
        if o.stream_buffer_ms != 0 {
            live.buffer = Duration::from_millis(u64::from(o.stream_buffer_ms));
        }
        for i in 0.. {
            if i == MAX_STREAMS {
                return Err(Failure::new(
                    GS_ERR_INVALID_CONFIG,
                    format!("options.streams lists more than {MAX_STREAMS} URLs: end it with NULL"),
                ));
            }
            // SAFETY: a NULL-terminated array (contract): every element up to the NULL is
            // readable.
            let url = unsafe { *o.streams.add(i) };
            let what = format!("options.streams[{i}]");
            // SAFETY: a NUL-terminated string (the array's contract).
            let Some(url) = (unsafe { opt_text(url, &what)? }) else {
                break;
            };
            outputs.push(OutputSpec::Live { url, options: live });
        }
    }
    // SAFETY: NULL or a NUL-terminated string (the field's contract).
    if let Some(path) = unsafe { opt_path(o.stats, "options.stats")? } {
        outputs.push(OutputSpec::Stats {
            path,
            overwrite: overwrite_flag,
        });
    }

    let mut r = RecorderOptions::new(source, outputs);
    let s = &mut r.source_options;
    s.format = match o.source_format {
        -1 => None,
        other => Some(pixel_format(other)?),
    };
    s.size = pair(
        o.source_width,
        o.source_height,
        "options.source_width/height",
    )?;
    s.frame_rate = pair(
        o.source_fps_num,
        o.source_fps_den,
        "options.source_fps_num/den",
    )?
    .map(|(n, d)| Rational::new(i64::from(n), i64::from(d)));
    // SAFETY: NULL or a NUL-terminated string (the field's contract).
    let region = unsafe { opt_text(o.region, "options.region")? };
    s.region = match region {
        Some(text) => Some(
            text.parse::<Region>()
                .map_err(|e| Failure::new(GS_ERR_INVALID_CONFIG, e))?,
        ),
        None => None,
    };
    // SAFETY: as above.
    s.display = unsafe { opt_text(o.display, "options.display")? };
    // SAFETY: as above.
    s.portal_token = unsafe { opt_path(o.portal_token, "options.portal_token")? };
    s.no_cursor = flag(o.no_cursor, "options.no_cursor")?;
    s.realtime = flag(o.realtime, "options.realtime")?;
    if !o.session.is_null() {
        // SAFETY: a readable GsSessionOptions of its declared size (contract).
        let session = unsafe { read_session_options(o.session, "options.session")? };
        if let Some(rate) = apply_session(&session, &mut r)? {
            match r.source_options.frame_rate {
                Some(source) if source != rate => {
                    return Err(Failure::new(
                        GS_ERR_INVALID_CONFIG,
                        format!(
                            "session->fps {rate} differs from options.source_fps {source}: a recording's rate is its source's; give one of them"
                        ),
                    ))
                }
                _ => r.source_options.frame_rate = Some(rate),
            }
        }
    }
    r.limit = match (o.limit_frames, o.limit_ms) {
        (0, 0) => None,
        (n, 0) => Some(Limit::Frames(n)),
        (0, ms) => Some(Limit::Duration(Duration::from_millis(ms))),
        (n, ms) => {
            return Err(Failure::new(
                GS_ERR_INVALID_CONFIG,
                format!("options.limit_frames {n} and limit_ms {ms}: give at most one"),
            ))
        }
    };
    // SAFETY: NULL or a NUL-terminated string (the field's contract).
    r.control_socket = unsafe { opt_path(o.control_socket, "options.control_socket")? };
    Ok(r)
}

/// Checks `options` and makes a recorder of them in `*out` (NULL on failure, with the detail
/// in `gs_last_error()`); nothing is opened until `gs_recorder_start`. The options' strings
/// and session struct are copied. The caller destroys it with `gs_recorder_destroy`. Any
/// thread.
///
/// # Safety
/// `options` is NULL or a readable `GsRecorderOptions` of its declared size whose pointers are
/// NULL or valid as documented; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn gs_recorder_create(
    options: *const GsRecorderOptions,
    out: *mut *mut GsRecorder,
) -> i32 {
    guarded(|| {
        // SAFETY: contract of this function.
        unsafe { handles::clear_out(out)? };
        // SAFETY: contract of this function.
        let o = unsafe {
            read_versioned(
                options,
                RECORDER_OPTIONS_V0_3,
                "options",
                "GsRecorderOptions",
                recorder_defaults(),
            )?
        };
        // SAFETY: the pointers in `o` are valid (contract of this function).
        let options = unsafe { recorder_options(&o)? };
        let handle = handles::publish(GsRecorder {
            state: Mutex::new(State {
                run: Run::Created(Box::new(options)),
                outcome: None,
                finished_told: false,
                message: CString::default(),
                detail: None,
                path: None,
            }),
            controls: OnceLock::new(),
        });
        // SAFETY: checked non-null and writable above.
        unsafe { out.write(handle) };
        Ok(GS_OK)
    })
}

/// Starts recording on the recorder's own threads and returns at once. Mistakes that need no
/// source are refused here (no output; an existing `output` without `overwrite`; an unknown
/// extension; a replay folder that is not one; an output that is the input or another output;
/// a control socket in use): the recorder stays unstarted, and may be started again once the
/// cause is fixed. What fails later (the source, the encoder, an output) comes as the
/// `GS_EVENT_FINISHED` event and from `gs_recorder_stop`. A second start is `GS_ERR_STATE`. Any
/// thread.
///
/// # Safety
/// `recorder` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_recorder_start(recorder: *mut GsRecorder) -> i32 {
    with_state(recorder, |live, state| {
        let Run::Created(options) = &state.run else {
            return Err(Failure::new(
                GS_ERR_STATE,
                "the recorder was already started (a recorder records once)",
            ));
        };
        let started = Recorder::start(options.as_ref().clone())?;
        let _ = live.controls.set(started.controls());
        state.run = Run::Running(started);
        Ok(GS_OK)
    })
}

/// Takes the recording's next event into `*event` (whose `size` the caller set): `GS_OK`;
/// `GS_AGAIN` when none came within `timeout_ms` (0: only look); `GS_EOF` once
/// `GS_EVENT_FINISHED` was handed out. Events come in the order they happened, each once (to
/// whichever thread polls). The event's strings stay valid until the next poll on this
/// recorder or its destruction. Polls from several threads take turns; a poll waiting for an
/// event holds up `gs_recorder_stop` until it returns (a stop ends the recording, which ends
/// the wait). `GS_ERR_STATE` before `gs_recorder_start`. Any thread.
///
/// # Safety
/// `recorder` is NULL or a pointer this library returned; `event` is NULL or writable for its
/// declared size.
#[no_mangle]
pub unsafe extern "C" fn gs_recorder_poll_event(
    recorder: *mut GsRecorder,
    event: *mut GsRecorderEvent,
    timeout_ms: u32,
) -> i32 {
    with_state(recorder, |live, state| {
        // Checked before waiting, so that a bad struct fails at once.
        let blank = GsRecorderEvent {
            size: size_of_struct::<GsRecorderEvent>(),
            kind: 0,
            message: std::ptr::null(),
            detail: std::ptr::null(),
            path: std::ptr::null(),
            frames: 0,
            bytes: 0,
            behind_ns: 0,
            result: GS_OK,
        };
        // SAFETY: contract of this function.
        unsafe { write_out(event, "event", blank)? };
        let Run::Running(running) = &mut state.run else {
            return Err(not_started());
        };
        if state.finished_told {
            return Ok(GS_EOF);
        }
        let next = if timeout_ms == 0 {
            running.try_event()
        } else {
            running.next_event(Duration::from_millis(u64::from(timeout_ms)))
        };
        let Some(next) = next else {
            return Ok(GS_AGAIN);
        };
        let mut e = Converted::of(next);
        if e.kind == GS_EVENT_FINISHED {
            if state.outcome.is_none() {
                state.outcome = Some(outcome_of(running.wait()));
            }
            state.finished_told = true;
            if let Some((code, _)) = &state.outcome {
                e.result = *code;
            }
        }
        if live.destroyed() {
            return Err(handles::destroyed_failure(
                "recorder",
                "during this poll: its event went with it",
            ));
        }
        state.message = c_string(&e.message);
        state.detail = e.detail.as_deref().map(c_string);
        state.path = e.path.map(|p| {
            CString::new(p.into_iter().filter(|&b| b != 0).collect::<Vec<u8>>()).unwrap_or_default()
        });
        let filled = GsRecorderEvent {
            kind: e.kind,
            message: state.message.as_ptr(),
            detail: state
                .detail
                .as_ref()
                .map_or(std::ptr::null(), |s| s.as_ptr()),
            path: state.path.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            frames: e.frames,
            bytes: e.bytes,
            behind_ns: e.behind_ns,
            result: e.result,
            ..blank
        };
        // SAFETY: contract of this function (checked above).
        unsafe { write_out(event, "event", filled)? };
        Ok(GS_OK)
    })
}

/// An event in the C ABI's terms, before its strings are kept.
struct Converted {
    kind: i32,
    message: String,
    detail: Option<String>,
    path: Option<Vec<u8>>,
    frames: u64,
    bytes: u64,
    behind_ns: i64,
    result: i32,
}

impl Converted {
    fn of(e: RecorderEvent) -> Self {
        let mut c = Converted {
            kind: GS_EVENT_NOTICE,
            message: String::new(),
            detail: None,
            path: None,
            frames: 0,
            bytes: 0,
            behind_ns: 0,
            result: GS_OK,
        };
        match e {
            RecorderEvent::Notice(text) => c.message = text,
            RecorderEvent::Started(s) => {
                c.kind = GS_EVENT_STARTED;
                c.message = s.source;
                c.detail = Some(s.encoder);
            }
            RecorderEvent::ReplaySaved(s) => {
                c.kind = GS_EVENT_REPLAY_SAVED;
                c.message = format!(
                    "{} ({} frames, {} bytes)",
                    s.path.display(),
                    s.frames,
                    s.bytes
                );
                c.path = Some(s.path.into_os_string().into_encoded_bytes());
                c.frames = s.frames;
                c.bytes = s.bytes;
            }
            RecorderEvent::ReplayFailed { message } => {
                c.kind = GS_EVENT_REPLAY_FAILED;
                c.message = message;
            }
            RecorderEvent::Stream { url, state } => {
                match state {
                    StreamState::Connected => {
                        c.kind = GS_EVENT_STREAM_CONNECTED;
                        c.message.clone_from(&url);
                    }
                    StreamState::Reconnecting { reason } => {
                        c.kind = GS_EVENT_STREAM_RECONNECTING;
                        c.message = reason;
                    }
                    StreamState::Dropped { packets } => {
                        c.kind = GS_EVENT_STREAM_DROPPED;
                        c.message = format!("{url}: {packets} packets dropped");
                        c.frames = packets;
                    }
                    other => c.message = format!("{url}: {other:?}"),
                }
                c.path = Some(url.into_bytes());
            }
            RecorderEvent::FallingBehind { behind } => {
                c.kind = GS_EVENT_FALLING_BEHIND;
                c.message = format!(
                    "the encode runs {:.1} s behind real time",
                    behind.as_secs_f64()
                );
                c.behind_ns = i64::try_from(behind.as_nanos()).unwrap_or(i64::MAX);
            }
            RecorderEvent::SourceLost { message } => {
                c.kind = GS_EVENT_SOURCE_LOST;
                c.message = message;
            }
            RecorderEvent::Finished(outcome) => {
                c.kind = GS_EVENT_FINISHED;
                match outcome {
                    Ok(summary) => {
                        c.message = finished_line(&summary);
                        c.frames = summary.frames;
                        c.bytes = summary.bytes;
                    }
                    Err(text) => c.message = text,
                }
            }
            // Events this version of the C ABI has no type for are told as notices.
            other => c.message = format!("{other:?}"),
        }
        c
    }
}

fn finished_line(s: &RecorderSummary) -> String {
    format!(
        "{} frames, {} bytes, {:.2} s of video",
        s.frames,
        s.bytes,
        s.video.as_secs_f64()
    )
}

/// The outcome of a recording as a result code and its detail.
fn outcome_of(r: Result<RecorderSummary, RecorderError>) -> (i32, String) {
    match r {
        Ok(summary) => (GS_OK, finished_line(&summary)),
        Err(e) => {
            let f = Failure::from(e);
            (f.code, f.message)
        }
    }
}

/// Copies `bytes` and a NUL into `buffer` (`capacity` bytes), with the bytes needed (the NUL
/// included) in `*needed` when it is not NULL. A NULL buffer (capacity 0) asks for the size
/// only; a buffer too small is `GS_ERR_BUFFER_TOO_SMALL`, left holding an empty string.
///
/// # Safety
/// `buffer` is NULL or writable for `capacity` bytes; `needed` is NULL or writable.
unsafe fn copy_out(
    bytes: &[u8],
    buffer: *mut c_char,
    capacity: usize,
    needed: *mut usize,
    what: &str,
) -> Outcome {
    let n = bytes.len() + 1;
    if !needed.is_null() {
        // SAFETY: writable (contract).
        unsafe { needed.write(n) };
    }
    if buffer.is_null() {
        return Ok(GS_OK);
    }
    if capacity < n {
        if capacity > 0 {
            // SAFETY: writable for capacity >= 1 bytes (contract).
            unsafe { buffer.write(0) };
        }
        return Err(Failure::new(
            GS_ERR_BUFFER_TOO_SMALL,
            format!("{what} needs {n} bytes (with its NUL) but the buffer holds {capacity}"),
        ));
    }
    // SAFETY: writable for capacity >= n bytes (contract).
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buffer.cast::<u8>(), bytes.len());
        buffer.add(bytes.len()).write(0);
    }
    Ok(GS_OK)
}

/// Checks an output buffer's pointers before any work, and clears `*needed`.
///
/// # Safety
/// `needed` is NULL or writable.
unsafe fn check_buffer(buffer: *mut c_char, capacity: usize, needed: *mut usize) -> Outcome {
    if !needed.is_null() {
        // SAFETY: writable (contract).
        unsafe { needed.write(0) };
    }
    if buffer.is_null() && capacity > 0 {
        return Err(Failure::new(
            GS_ERR_NULL,
            format!("`buffer` is NULL but capacity is {capacity}"),
        ));
    }
    Ok(GS_OK)
}

/// The save's wait, with what the caller should know when it timed out.
fn waited(
    save: &ghoststream::recorder::ReplaySave,
    timeout_ms: u32,
) -> Result<ghoststream::recorder::SavedReplay, Failure> {
    save.wait(Duration::from_millis(u64::from(timeout_ms)))
        .map_err(|e| {
            let busy = matches!(e, RecorderError::Busy { .. });
            let mut f = Failure::from(e);
            if busy {
                f.message.push_str(
                    "; the save goes on: its outcome comes as GS_EVENT_REPLAY_SAVED or GS_EVENT_REPLAY_FAILED",
                );
            }
            f
        })
}

/// Saves the replay buffer's last `last_ms` milliseconds (0: all it holds), from a key frame,
/// to a new file in the replay folder, and waits up to `timeout_ms` for it to be written: then
/// `GS_OK`, with the file's path (NUL-terminated) in `path` (`capacity` bytes; NULL with
/// capacity 0 when it is not wanted) and the bytes it needs, its NUL included, in `*needed`
/// (NULL when not wanted). The save is also told as `GS_EVENT_REPLAY_SAVED`. `timeout_ms` 0:
/// returns `GS_AGAIN` at once and the outcome comes only as an event; a save that takes longer
/// is `GS_ERR_TIMEOUT` (it goes on; its event tells its end). `GS_ERR_BUFFER_TOO_SMALL`: the
/// file was written but its path did not fit (`*needed` says how much it takes; the event
/// carries it too). `GS_ERR_STATE`: no replay buffer, not started, or the recording has ended.
/// The recording goes on meanwhile. Any thread, also while other calls run.
///
/// # Safety
/// `recorder` is NULL or a pointer this library returned; `path` is NULL or writable for
/// `capacity` bytes; `needed` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn gs_recorder_save_replay(
    recorder: *mut GsRecorder,
    last_ms: u64,
    timeout_ms: u32,
    path: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> i32 {
    handles::with(recorder, "recorder", |live| {
        // SAFETY: contract of this function.
        unsafe { check_buffer(path, capacity, needed)? };
        let last = (last_ms > 0).then(|| Duration::from_millis(last_ms));
        let save = live.controls()?.save_replay(last)?;
        if timeout_ms == 0 {
            return Ok(GS_AGAIN);
        }
        let saved = waited(&save, timeout_ms)?;
        let bytes = saved.path.as_os_str().as_bytes();
        // SAFETY: contract of this function.
        unsafe { copy_out(bytes, path, capacity, needed, "the replay's path") }.map_err(|mut f| {
            f.message = format!("the replay was saved to a path that did not fit: {}; it is in its GS_EVENT_REPLAY_SAVED event too", f.message);
            f
        })
    })
}

/// As `gs_recorder_save_replay`, to `path` (a new file: its extension is not read, the
/// replay's format is used).
///
/// # Safety
/// `recorder` is NULL or a pointer this library returned; `path` is NULL or a NUL-terminated
/// string.
#[no_mangle]
pub unsafe extern "C" fn gs_recorder_save_replay_to(
    recorder: *mut GsRecorder,
    path: *const c_char,
    last_ms: u64,
    timeout_ms: u32,
) -> i32 {
    handles::with(recorder, "recorder", |live| {
        // SAFETY: contract of this function.
        let path = unsafe { path_arg(path, "path")? };
        let last = (last_ms > 0).then(|| Duration::from_millis(last_ms));
        let save = live.controls()?.save_replay_to(path, last)?;
        if timeout_ms == 0 {
            return Ok(GS_AGAIN);
        }
        waited(&save, timeout_ms)?;
        Ok(GS_OK)
    })
}

/// Makes the next frame a key frame (waits up to two seconds for the recording to take it:
/// `GS_ERR_TIMEOUT` past it). `GS_ERR_UNAVAILABLE` when the encoder cannot; `GS_ERR_STATE`
/// before the start or after the end. Any thread.
///
/// # Safety
/// `recorder` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_recorder_request_keyframe(recorder: *mut GsRecorder) -> i32 {
    handles::with(recorder, "recorder", |live| {
        live.controls()?.request_keyframe()?;
        Ok(GS_OK)
    })
}

/// Changes the bitrate from the next frame, with no key frame: the CBR rate, or the VBR
/// target (its peak kept in proportion). A mode with no bitrate is `GS_ERR_INVALID_CONFIG`; an
/// encoder that cannot change it live is the session's refusal (`GS_ERR_UNAVAILABLE`).
/// `GS_ERR_STATE` before the start or after the end. Any thread.
///
/// # Safety
/// `recorder` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_recorder_set_bitrate(recorder: *mut GsRecorder, bitrate: u64) -> i32 {
    handles::with(recorder, "recorder", |live| {
        live.controls()?.set_bitrate(bitrate)?;
        Ok(GS_OK)
    })
}

fn status_of(live: &GsRecorder) -> RecorderStatus {
    live.controls
        .get()
        .map(RecorderControls::status)
        .unwrap_or_default()
}

/// Fills `stats` (whose `size` the caller set) with the recording's figures so far (zeros
/// before the start; the last figures after the end). Any thread, also while other calls run.
///
/// # Safety
/// `recorder` is NULL or a pointer this library returned; `stats` is NULL or writable for its
/// declared size.
#[no_mangle]
pub unsafe extern "C" fn gs_recorder_stats(
    recorder: *mut GsRecorder,
    stats: *mut GsRecorderStats,
) -> i32 {
    handles::with(recorder, "recorder", |live| {
        let s = status_of(live);
        let ns = |span: Option<(ghoststream::Span, ghoststream::Span)>, which: usize| {
            span.map_or(0, |(median, p99)| if which == 0 { median.0 } else { p99.0 })
        };
        let pacing = s.pacing.unwrap_or_default();
        let value = GsRecorderStats {
            size: size_of_struct::<GsRecorderStats>(),
            started: i32::from(s.started),
            submitted: s.submitted,
            packets: s.packets,
            bytes: s.bytes,
            dropped: s.dropped,
            total: s.total.unwrap_or(0),
            video_seconds: s.video.as_secs_f64(),
            elapsed_seconds: s.elapsed.as_secs_f64(),
            behind_seconds: s.behind.as_secs_f64(),
            latency_median_ns: ns(s.latency, 0),
            latency_p99_ns: ns(s.latency, 1),
            recent_latency_median_ns: ns(s.recent_latency, 0),
            recent_latency_p99_ns: ns(s.recent_latency, 1),
            pacing_repeated: pacing.repeated,
            pacing_dropped: pacing.dropped,
            replay_seconds: s.replay.as_ref().map_or(0.0, |r| r.duration.as_secs_f64()),
            replay_bytes: s
                .replay
                .as_ref()
                .map_or(0, |r| u64::try_from(r.bytes).unwrap_or(u64::MAX)),
            replay_packets: s
                .replay
                .as_ref()
                .map_or(0, |r| u64::try_from(r.packets).unwrap_or(u64::MAX)),
            streams: u32::try_from(s.streams.len()).unwrap_or(u32::MAX),
            streams_connected: u32::try_from(s.streams.iter().filter(|(_, l)| l.connected).count())
                .unwrap_or(u32::MAX),
            stream_sent: s.streams.iter().map(|(_, l)| l.sent).sum(),
            stream_dropped: s.streams.iter().map(|(_, l)| l.dropped).sum(),
        };
        // SAFETY: contract of this function.
        unsafe { write_out(stats, "stats", value)? };
        Ok(GS_OK)
    })
}

/// Writes the recording's status as one line of JSON (what the control socket's `status`
/// answers: counts, timing, latency, replay and streams) into `buffer` (`capacity` bytes,
/// NUL-terminated), with the bytes it needs, its NUL included, in `*needed` (NULL when not
/// wanted). A NULL buffer (capacity 0) asks for the size only (GS_OK); a buffer too small is
/// `GS_ERR_BUFFER_TOO_SMALL` (left empty). Any thread, also while other calls run.
///
/// # Safety
/// `recorder` is NULL or a pointer this library returned; `buffer` is NULL or writable for
/// `capacity` bytes; `needed` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn gs_recorder_status_json(
    recorder: *mut GsRecorder,
    buffer: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> i32 {
    handles::with(recorder, "recorder", |live| {
        // SAFETY: contract of this function.
        unsafe { check_buffer(buffer, capacity, needed)? };
        let json = status_of(live).to_json();
        // SAFETY: contract of this function.
        unsafe { copy_out(json.as_bytes(), buffer, capacity, needed, "the status") }
    })
}

/// Stops the recording and waits for its end: the source is closed, the encoder flushed and
/// every file finished. Returns the recording's outcome: `GS_OK`, or the code of what failed
/// (detail in the last-error strings) — also when the recording had already ended by itself
/// (the limit, the end of the input). Events not yet polled stay pollable. Again later: the
/// same outcome. `GS_ERR_STATE` before `gs_recorder_start`. Any thread; it waits for a poll in
/// progress to return (which the stop hastens).
///
/// # Safety
/// `recorder` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_recorder_stop(recorder: *mut GsRecorder) -> i32 {
    handles::with(recorder, "recorder", |live| {
        if let Some(controls) = live.controls.get() {
            controls.stop();
        }
        let mut state = live.lock();
        let state = &mut *state;
        let Run::Running(running) = &mut state.run else {
            return Err(not_started());
        };
        let (code, message) = state
            .outcome
            .get_or_insert_with(|| outcome_of(running.wait()));
        if *code < 0 {
            return Err(Failure::new(*code, message.clone()));
        }
        Ok(GS_OK)
    })
}

/// Stops the recording if it runs (waiting for its files to be finished, unless another
/// thread's call still holds the recorder: then when that call returns) and frees the
/// recorder. NULL and handles that are not live are ignored. Any thread, also while other
/// threads call on it: calls that begin later get `GS_ERR_BAD_HANDLE`; a poll in progress
/// returns `GS_ERR_BAD_HANDLE` (its event went with the recorder).
///
/// # Safety
/// `recorder` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_recorder_destroy(recorder: *mut GsRecorder) {
    let _ = guarded(|| {
        // Stopped first, so that calls in progress (a poll waiting for events, a save) end
        // soon and the recording is finished when the last of them lets go.
        if let Some(live) = handles::get(recorder) {
            if let Some(controls) = live.controls.get() {
                controls.stop();
            }
        }
        Ok(GS_OK)
    });
    handles::destroy(recorder);
}

/// The detail of the recorder's last failure (empty if none). Valid until the recorder's next
/// failing call or its destruction. NULL or a dead handle gives a static explanation.
///
/// # Safety
/// `recorder` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_recorder_last_error(recorder: *const GsRecorder) -> *const c_char {
    handles::last_error_of(recorder, c"not a live recorder")
}

/// Runs `body` on a live recorder with its state locked (calls that need the recorder itself
/// take turns); one that waited for its turn while another thread destroyed the recorder is
/// `GS_ERR_BAD_HANDLE`.
fn with_state(
    recorder: *const GsRecorder,
    body: impl FnOnce(&Live<GsRecorder>, &mut State) -> Outcome,
) -> i32 {
    handles::with(recorder, "recorder", |live| {
        let mut state = live.lock();
        if live.destroyed() {
            return Err(handles::destroyed_failure(
                "recorder",
                "while this call waited for another call on it to return",
            ));
        }
        body(live, &mut state)
    })
}
