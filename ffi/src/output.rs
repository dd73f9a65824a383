//! File outputs: a writer for a session's packets, and the output-format enum shared with the
//! replay save.

use std::ffi::{c_char, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use ghoststream::output::ContainerFormat;
use ghoststream::output::{BitstreamFormat, FileSink, OutputFormat};
use ghoststream::SessionConfig;

use crate::handles;
use crate::packet::GsPacket;
use crate::result::{
    guarded, Failure, GS_ERR_BAD_HANDLE, GS_ERR_INVALID_CONFIG, GS_ERR_STATE, GS_OK,
};
use crate::session::GsSession;

/// The format the file name's extension implies (.mkv, .mp4, .ts, .ivf, .obu, .h264, .hevc...).
pub const GS_OUTPUT_AUTO: i32 = 0;
/// H.264/HEVC Annex-B byte stream.
pub const GS_OUTPUT_ANNEXB: i32 = 1;
/// H.264/HEVC NAL units behind 4-byte lengths, with the configuration record beside the file.
pub const GS_OUTPUT_LENGTH_PREFIXED: i32 = 2;
/// AV1 low-overhead OBU stream.
pub const GS_OUTPUT_OBU: i32 = 3;
/// AV1 in IVF.
pub const GS_OUTPUT_IVF: i32 = 4;
/// Matroska (crash-safe: readable up to the last cluster if the writer dies).
pub const GS_OUTPUT_MKV: i32 = 5;
/// Fragmented MP4 (crash-safe: readable up to the last fragment).
pub const GS_OUTPUT_MP4: i32 = 6;
/// MPEG transport stream (H.264, HEVC).
pub const GS_OUTPUT_MPEGTS: i32 = 7;

/// The path a C string names (bytes as given: Linux paths need not be UTF-8).
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
pub(crate) unsafe fn path_arg(path: *const c_char, what: &str) -> Result<PathBuf, Failure> {
    if path.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: a NUL-terminated string (contract).
    let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
    if bytes.is_empty() {
        return Err(Failure::new(
            GS_ERR_INVALID_CONFIG,
            format!("`{what}` is empty"),
        ));
    }
    Ok(PathBuf::from(OsStr::from_bytes(bytes)))
}

/// The output format `value` names for `path`.
pub(crate) fn output_format(value: i32, path: &std::path::Path) -> Result<OutputFormat, Failure> {
    Ok(match value {
        GS_OUTPUT_AUTO => OutputFormat::from_path(path).ok_or_else(|| {
            Failure::new(
                GS_ERR_INVALID_CONFIG,
                format!(
                    "{} has no extension GhostStream knows (.mkv .mp4 .ts .ivf .obu .h264 .h265 .hevc .avcc .hvcc): name the format with a GS_OUTPUT_* value",
                    path.display()
                ),
            )
        })?,
        GS_OUTPUT_ANNEXB => OutputFormat::Bitstream(BitstreamFormat::AnnexB),
        GS_OUTPUT_LENGTH_PREFIXED => OutputFormat::Bitstream(BitstreamFormat::LengthPrefixed),
        GS_OUTPUT_OBU => OutputFormat::Bitstream(BitstreamFormat::Obu),
        GS_OUTPUT_IVF => OutputFormat::Bitstream(BitstreamFormat::Ivf),
        GS_OUTPUT_MKV => OutputFormat::Container(ContainerFormat::Matroska),
        GS_OUTPUT_MP4 => OutputFormat::Container(ContainerFormat::Mp4),
        GS_OUTPUT_MPEGTS => OutputFormat::Container(ContainerFormat::MpegTs),
        other => return Err(Failure::bad_enum("output format", other, "GS_OUTPUT_*")),
    })
}

/// A file being written with a session's packets (opaque).
pub struct GsWriter {
    /// The file; `None` once finished. Calls from several threads take turns here.
    sink: Mutex<Option<FileSink>>,
}

impl GsWriter {
    fn sink(&self) -> MutexGuard<'_, Option<FileSink>> {
        self.sink.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Opens `path` for the packets of `session` (its codec, size and rate) as `format`
/// (`GS_OUTPUT_*`) and stores the writer in `*out` (NULL on failure). Fails before anything
/// is written when the path cannot be created or the format cannot carry the codec. The
/// writer is independent of the session afterwards. Any thread.
///
/// # Safety
/// `session` is NULL or a pointer this library returned; `path` is NULL or a NUL-terminated
/// string; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn gs_writer_create(
    session: *const GsSession,
    path: *const c_char,
    format: i32,
    out: *mut *mut GsWriter,
) -> i32 {
    guarded(|| {
        // SAFETY: contract of this function.
        unsafe { handles::clear_out(out)? };
        if session.is_null() {
            return Err(Failure::null("session"));
        }
        let config: SessionConfig = handles::read(session, None, |s| Some(s.config()))
            .ok_or_else(|| Failure::new(GS_ERR_BAD_HANDLE, "the session is not live"))?;
        // SAFETY: contract of this function.
        let path = unsafe { path_arg(path, "path")? };
        let format = output_format(format, &path)?;
        let sink = ghoststream::output::open_file_sink(&path, format, &config)?;
        let writer = handles::publish(GsWriter {
            sink: Mutex::new(Some(sink)),
        });
        // SAFETY: checked non-null and writable above.
        unsafe { out.write(writer) };
        Ok(GS_OK)
    })
}

/// Writes one packet (the caller still owns and releases it). Any thread (calls on one writer take turns).
///
/// # Safety
/// `writer` and `packet` are NULL or pointers this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_writer_write(writer: *mut GsWriter, packet: *const GsPacket) -> i32 {
    handles::with(writer, "writer", |w| {
        let mut guard = w.sink();
        let Some(sink) = guard.as_mut() else {
            return Err(Failure::new(GS_ERR_STATE, "the writer was finished"));
        };
        if packet.is_null() {
            return Err(Failure::null("packet"));
        }
        let written = handles::read(packet, None, |p| Some(sink.write(&p.packet)))
            .ok_or_else(|| Failure::new(GS_ERR_BAD_HANDLE, "the packet is not live (released?)"))?;
        written?;
        Ok(GS_OK)
    })
}

/// Completes the file (trailer, index, sync to disk); the writer takes no more packets but
/// must still be destroyed. A second finish is `GS_ERR_STATE`. Any thread (calls on one writer take turns).
///
/// # Safety
/// `writer` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_writer_finish(writer: *mut GsWriter) -> i32 {
    handles::with(writer, "writer", |w| {
        let Some(sink) = w.sink().take() else {
            return Err(Failure::new(
                GS_ERR_STATE,
                "the writer was already finished",
            ));
        };
        sink.finish()?;
        Ok(GS_OK)
    })
}

/// Frees the writer; one not finished is finished as by `gs_writer_finish` (every packet
/// written stays in the file, with its trailer; a failure is only logged). NULL and handles
/// that are not live are ignored. Any thread, also while another thread writes: the file is
/// finished when the last call on it returns.
///
/// # Safety
/// `writer` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_writer_destroy(writer: *mut GsWriter) {
    handles::destroy(writer);
}

/// The detail of the writer's last failure (empty if none); NULL or a dead handle gives a
/// static explanation.
///
/// # Safety
/// `writer` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_writer_last_error(writer: *const GsWriter) -> *const c_char {
    handles::last_error_of(writer, c"not a live writer")
}
