//! The STAND-IN's exported C entry points: `NvEncodeAPIGetMaxSupportedVersion` and
//! `NvEncodeAPICreateInstance`, which fills NVENC's function table with the session calls of
//! [`crate::api`]. Each entry takes enumerations and returns its status as plain `u32`s (the
//! same ABI as the header's enums), so that no value a caller passes is undefined behaviour
//! here.

use std::ffi::{c_char, c_void};

use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

use crate::api;
use crate::status::{INVALID_PARAM, INVALID_PTR, INVALID_VERSION, SUCCESS};

/// `NvEncodeAPIGetMaxSupportedVersion`: 12.1.
///
/// # Safety
/// `version` is NULL or points at a writable `u32`.
#[no_mangle]
pub unsafe extern "C" fn NvEncodeAPIGetMaxSupportedVersion(version: *mut u32) -> u32 {
    // SAFETY: the caller's contract.
    unsafe { api::max_supported_version(version) }
}

/// Reinterprets one of this file's entry points as the table's entry type.
///
/// # Safety
/// `F` and `T` are the same C signature up to `u32` standing for a C enumeration.
unsafe fn entry<F: Copy, T: Copy>(f: F) -> Option<T> {
    assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<T>());
    // SAFETY: the caller's contract: function pointers of one ABI.
    Some(unsafe { std::mem::transmute_copy::<F, T>(&f) })
}

/// `NvEncodeAPICreateInstance`: checks the table's version and fills the entries the stand-in
/// implements (the others stay NULL).
///
/// # Safety
/// `list` is NULL or points at a writable `NV_ENCODE_API_FUNCTION_LIST`.
#[no_mangle]
pub unsafe extern "C" fn NvEncodeAPICreateInstance(
    list: *mut nv::NV_ENCODE_API_FUNCTION_LIST,
) -> u32 {
    const CALL: &str = "NvEncodeAPICreateInstance";
    let fail = |status: u32, message: String| {
        crate::log::push(crate::log::Record {
            session: 0,
            call: CALL,
            status,
            kind: crate::log::Kind::Violation,
            message,
            micros: 0,
        });
        status
    };
    if list.is_null() {
        return fail(INVALID_PTR, "functionList is NULL".into());
    }
    // SAFETY: non-null; plain integer fields read through the pointer.
    let (version, reserved) = unsafe { ((*list).version, (*list).reserved) };
    if version != nv::NV_ENCODE_API_FUNCTION_LIST_VER {
        return fail(
            INVALID_VERSION,
            format!(
                "NV_ENCODE_API_FUNCTION_LIST::version is {version:#x}; the SDK 12.1 header's is {:#x}",
                nv::NV_ENCODE_API_FUNCTION_LIST_VER
            ),
        );
    }
    if reserved != 0 {
        return fail(
            INVALID_PARAM,
            "NV_ENCODE_API_FUNCTION_LIST::reserved is not 0".into(),
        );
    }
    // SAFETY: each entry below has the table entry's C signature with u32 for enumerations;
    // the table is the caller's, written field by field.
    unsafe {
        let l = &mut *list;
        l.nvEncOpenEncodeSessionEx = entry(
            open_session_ex
                as unsafe extern "C" fn(
                    *mut nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS,
                    *mut *mut c_void,
                ) -> u32,
        );
        l.nvEncDestroyEncoder = entry(destroy_encoder as unsafe extern "C" fn(*mut c_void) -> u32);
        l.nvEncGetLastErrorString =
            entry(get_last_error_string as unsafe extern "C" fn(*mut c_void) -> *const c_char);
        l.nvEncGetEncodeGUIDCount =
            entry(get_encode_guid_count as unsafe extern "C" fn(*mut c_void, *mut u32) -> u32);
        l.nvEncGetEncodeGUIDs = entry(
            get_encode_guids
                as unsafe extern "C" fn(*mut c_void, *mut nv::GUID, u32, *mut u32) -> u32,
        );
        l.nvEncGetEncodeCaps = entry(
            get_encode_caps
                as unsafe extern "C" fn(
                    *mut c_void,
                    nv::GUID,
                    *mut nv::NV_ENC_CAPS_PARAM,
                    *mut i32,
                ) -> u32,
        );
        l.nvEncGetEncodePresetConfigEx = entry(
            get_encode_preset_config_ex
                as unsafe extern "C" fn(
                    *mut c_void,
                    nv::GUID,
                    nv::GUID,
                    u32,
                    *mut nv::NV_ENC_PRESET_CONFIG,
                ) -> u32,
        );
        l.nvEncInitializeEncoder = entry(
            initialize_encoder
                as unsafe extern "C" fn(*mut c_void, *mut nv::NV_ENC_INITIALIZE_PARAMS) -> u32,
        );
        l.nvEncReconfigureEncoder = entry(
            reconfigure_encoder
                as unsafe extern "C" fn(*mut c_void, *mut nv::NV_ENC_RECONFIGURE_PARAMS) -> u32,
        );
        l.nvEncSetIOCudaStreams = entry(
            set_io_cuda_streams
                as unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_void) -> u32,
        );
        l.nvEncCreateBitstreamBuffer = entry(
            create_bitstream_buffer
                as unsafe extern "C" fn(
                    *mut c_void,
                    *mut nv::NV_ENC_CREATE_BITSTREAM_BUFFER,
                ) -> u32,
        );
        l.nvEncDestroyBitstreamBuffer = entry(
            destroy_bitstream_buffer as unsafe extern "C" fn(*mut c_void, *mut c_void) -> u32,
        );
        l.nvEncRegisterResource = entry(
            register_resource
                as unsafe extern "C" fn(*mut c_void, *mut nv::NV_ENC_REGISTER_RESOURCE) -> u32,
        );
        l.nvEncUnregisterResource =
            entry(unregister_resource as unsafe extern "C" fn(*mut c_void, *mut c_void) -> u32);
        l.nvEncMapInputResource = entry(
            map_input_resource
                as unsafe extern "C" fn(*mut c_void, *mut nv::NV_ENC_MAP_INPUT_RESOURCE) -> u32,
        );
        l.nvEncUnmapInputResource =
            entry(unmap_input_resource as unsafe extern "C" fn(*mut c_void, *mut c_void) -> u32);
        l.nvEncEncodePicture = entry(
            encode_picture as unsafe extern "C" fn(*mut c_void, *mut nv::NV_ENC_PIC_PARAMS) -> u32,
        );
        l.nvEncLockBitstream = entry(
            lock_bitstream
                as unsafe extern "C" fn(*mut c_void, *mut nv::NV_ENC_LOCK_BITSTREAM) -> u32,
        );
        l.nvEncUnlockBitstream =
            entry(unlock_bitstream as unsafe extern "C" fn(*mut c_void, *mut c_void) -> u32);
        l.nvEncInvalidateRefFrames =
            entry(invalidate_ref_frames as unsafe extern "C" fn(*mut c_void, u64) -> u32);
    }
    crate::log::push(crate::log::Record {
        session: 0,
        call: CALL,
        status: SUCCESS,
        kind: crate::log::Kind::Call,
        message: "a STAND-IN function table".into(),
        micros: 0,
    });
    SUCCESS
}

// The table's entries: thin forwards to `api`, whose functions carry the checks.

unsafe extern "C" fn open_session_ex(
    p: *mut nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS,
    e: *mut *mut c_void,
) -> u32 {
    // SAFETY: NVENC's contract for this entry (the header), which `api` checks where it can.
    unsafe { api::open_session_ex(p, e) }
}
unsafe extern "C" fn destroy_encoder(e: *mut c_void) -> u32 {
    // SAFETY: as above.
    unsafe { api::destroy_encoder(e) }
}
unsafe extern "C" fn get_last_error_string(e: *mut c_void) -> *const c_char {
    // SAFETY: as above.
    unsafe { api::last_error_string(e) }
}
unsafe extern "C" fn get_encode_guid_count(e: *mut c_void, n: *mut u32) -> u32 {
    // SAFETY: as above.
    unsafe { api::encode_guid_count(e, n) }
}
unsafe extern "C" fn get_encode_guids(
    e: *mut c_void,
    g: *mut nv::GUID,
    size: u32,
    n: *mut u32,
) -> u32 {
    // SAFETY: as above.
    unsafe { api::encode_guids(e, g, size, n) }
}
unsafe extern "C" fn get_encode_caps(
    e: *mut c_void,
    codec: nv::GUID,
    p: *mut nv::NV_ENC_CAPS_PARAM,
    v: *mut i32,
) -> u32 {
    // SAFETY: as above.
    unsafe { api::encode_caps(e, codec, p, v) }
}
unsafe extern "C" fn get_encode_preset_config_ex(
    e: *mut c_void,
    codec: nv::GUID,
    preset: nv::GUID,
    tuning: u32,
    p: *mut nv::NV_ENC_PRESET_CONFIG,
) -> u32 {
    // SAFETY: as above.
    unsafe { api::preset_config_ex(e, codec, preset, tuning, p) }
}
unsafe extern "C" fn initialize_encoder(
    e: *mut c_void,
    p: *mut nv::NV_ENC_INITIALIZE_PARAMS,
) -> u32 {
    // SAFETY: as above.
    unsafe { api::initialize_encoder(e, p) }
}
unsafe extern "C" fn reconfigure_encoder(
    e: *mut c_void,
    p: *mut nv::NV_ENC_RECONFIGURE_PARAMS,
) -> u32 {
    // SAFETY: as above.
    unsafe { api::reconfigure_encoder(e, p) }
}
unsafe extern "C" fn set_io_cuda_streams(e: *mut c_void, i: *mut c_void, o: *mut c_void) -> u32 {
    // SAFETY: as above.
    unsafe { api::set_io_cuda_streams(e, i, o) }
}
unsafe extern "C" fn create_bitstream_buffer(
    e: *mut c_void,
    p: *mut nv::NV_ENC_CREATE_BITSTREAM_BUFFER,
) -> u32 {
    // SAFETY: as above.
    unsafe { api::create_bitstream_buffer(e, p) }
}
unsafe extern "C" fn destroy_bitstream_buffer(e: *mut c_void, b: *mut c_void) -> u32 {
    // SAFETY: as above.
    unsafe { api::destroy_bitstream_buffer(e, b) }
}
unsafe extern "C" fn register_resource(
    e: *mut c_void,
    p: *mut nv::NV_ENC_REGISTER_RESOURCE,
) -> u32 {
    // SAFETY: as above.
    unsafe { api::register_resource(e, p) }
}
unsafe extern "C" fn unregister_resource(e: *mut c_void, r: *mut c_void) -> u32 {
    // SAFETY: as above.
    unsafe { api::unregister_resource(e, r) }
}
unsafe extern "C" fn map_input_resource(
    e: *mut c_void,
    p: *mut nv::NV_ENC_MAP_INPUT_RESOURCE,
) -> u32 {
    // SAFETY: as above.
    unsafe { api::map_input_resource(e, p) }
}
unsafe extern "C" fn unmap_input_resource(e: *mut c_void, m: *mut c_void) -> u32 {
    // SAFETY: as above.
    unsafe { api::unmap_input_resource(e, m) }
}
unsafe extern "C" fn encode_picture(e: *mut c_void, p: *mut nv::NV_ENC_PIC_PARAMS) -> u32 {
    // SAFETY: as above.
    unsafe { api::encode_picture(e, p) }
}
unsafe extern "C" fn lock_bitstream(e: *mut c_void, p: *mut nv::NV_ENC_LOCK_BITSTREAM) -> u32 {
    // SAFETY: as above.
    unsafe { api::lock_bitstream(e, p) }
}
unsafe extern "C" fn unlock_bitstream(e: *mut c_void, b: *mut c_void) -> u32 {
    // SAFETY: as above.
    unsafe { api::unlock_bitstream(e, b) }
}
unsafe extern "C" fn invalidate_ref_frames(e: *mut c_void, ts: u64) -> u32 {
    // SAFETY: as above.
    unsafe { api::invalidate_ref_frames(e, ts) }
}
