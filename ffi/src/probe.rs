//! What this machine can do: each encode path, GPU engine and capture method, available or not
//! and why.

use std::ffi::{c_char, CString};

use ghoststream::probe::{probe, ProbeEntry};

use crate::handles;
use crate::options::codec_value;
use crate::result::{c_string, guarded, Failure, GS_ERR_INVALID_CONFIG, GS_OK};
use crate::structs::{size_of_struct, write_out, OutputStruct};

/// One path of a probe, for `gs_probe_entry`. Set `size` before the call. The strings live as
/// long as the probe.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GsProbeEntry {
    /// `sizeof(GsProbeEntry)`, set by the caller.
    pub size: u32,
    /// `GS_CODEC_*` for encode paths, -1 for others.
    pub codec: i32,
    /// "encode", "gpu" or "capture".
    pub category: *const c_char,
    /// The path's name ("software", "nvenc", "vulkan-video", a device, "pipewire"...).
    pub name: *const c_char,
    /// What it uses when available; why not when not.
    pub detail: *const c_char,
    /// 1 when the path can run here.
    pub available: i32,
}

impl OutputStruct for GsProbeEntry {
    const NAME: &'static str = "GsProbeEntry";
    /// ABI 0.2's 40 bytes, its first version.
    const FIRST_SIZE: u32 = 40;
}

struct Entry {
    codec: i32,
    category: CString,
    name: CString,
    detail: CString,
    available: bool,
}

/// The result of one probe (opaque).
pub struct GsProbe {
    entries: Vec<Entry>,
}

impl From<ProbeEntry> for Entry {
    fn from(e: ProbeEntry) -> Self {
        Self {
            codec: e.codec.map_or(-1, codec_value),
            category: c_string(e.category),
            name: c_string(&e.name),
            detail: c_string(&e.detail),
            available: e.available,
        }
    }
}

/// Probes every encode path (NVENC, Vulkan Video, software for each codec), the Vulkan devices
/// and the capture methods, and stores the result in `*out` (destroy it with
/// `gs_probe_destroy`). Takes up to a few seconds (it opens devices). Any thread.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn gs_probe_create(out: *mut *mut GsProbe) -> i32 {
    guarded(|| {
        // SAFETY: contract of this function.
        unsafe { handles::clear_out(out)? };
        let entries = probe().into_iter().map(Entry::from).collect();
        let handle = handles::publish(GsProbe { entries });
        // SAFETY: checked non-null and writable above.
        unsafe { out.write(handle) };
        Ok(GS_OK)
    })
}

/// How many entries the probe has (0 for NULL or a dead handle).
///
/// # Safety
/// `probe` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_probe_count(probe: *const GsProbe) -> usize {
    handles::read(probe, 0, |p| p.entries.len())
}

/// Fills `entry` (whose `size` the caller set) with entry `index` (0 to count − 1; beyond is
/// `GS_ERR_INVALID_CONFIG`). Any thread.
///
/// # Safety
/// `probe` is NULL or a pointer this library returned; `entry` is NULL or writable for its
/// declared size.
#[no_mangle]
pub unsafe extern "C" fn gs_probe_entry(
    probe: *mut GsProbe,
    index: usize,
    entry: *mut GsProbeEntry,
) -> i32 {
    handles::with(probe, "probe", |p| {
        let count = p.entries.len();
        let e = p.entries.get(index).ok_or_else(|| {
            Failure::new(
                GS_ERR_INVALID_CONFIG,
                format!("index {index} is past the probe's {count} entries"),
            )
        })?;
        let value = GsProbeEntry {
            size: size_of_struct::<GsProbeEntry>(),
            codec: e.codec,
            category: e.category.as_ptr(),
            name: e.name.as_ptr(),
            detail: e.detail.as_ptr(),
            available: i32::from(e.available),
        };
        // SAFETY: contract of this function.
        unsafe { write_out(entry, "entry", value)? };
        Ok(GS_OK)
    })
}

/// Frees the probe and its strings. NULL and handles that are not live are ignored. Any
/// thread (a call in progress on the probe finishes first, on another thread).
///
/// # Safety
/// `probe` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_probe_destroy(probe: *mut GsProbe) {
    handles::destroy(probe);
}
