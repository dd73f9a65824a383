//! Level 1 of NVENC, raw: opening libnvidia-encode at run time and filling its function table.

use std::ffi::c_void;
use std::sync::{Arc, OnceLock};

use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

use super::{status, NvencError};

/// An NVENC API version (major.minor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl ApiVersion {
    /// From `NvEncodeAPIGetMaxSupportedVersion`'s encoding: major in bits 4 and up, minor in
    /// the low four bits.
    pub fn from_packed(v: u32) -> Self {
        Self {
            major: v >> 4,
            minor: v & 0xf,
        }
    }
}

/// The API version this build's structures follow (the SDK header's).
pub const BUILD_API: ApiVersion = ApiVersion {
    major: nv::NVENCAPI_MAJOR_VERSION,
    minor: nv::NVENCAPI_MINOR_VERSION,
};

const LIBRARY: &str = "libnvidia-encode.so.1";

// The entry points GhostStream calls, typed to return the status as a plain u32: the bindings'
// enum return type would be undefined behaviour for a status value a newer driver adds.
type OpenSessionEx =
    unsafe extern "C" fn(*mut nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS, *mut *mut c_void) -> u32;
type DestroyEncoder = unsafe extern "C" fn(*mut c_void) -> u32;
type GetLastErrorString = unsafe extern "C" fn(*mut c_void) -> *const std::ffi::c_char;
type GetEncodeGuidCount = unsafe extern "C" fn(*mut c_void, *mut u32) -> u32;
type GetEncodeGuids = unsafe extern "C" fn(*mut c_void, *mut nv::GUID, u32, *mut u32) -> u32;
type GetEncodeCaps =
    unsafe extern "C" fn(*mut c_void, nv::GUID, *mut nv::NV_ENC_CAPS_PARAM, *mut i32) -> u32;
type GetPresetConfigEx = unsafe extern "C" fn(
    *mut c_void,
    nv::GUID,
    nv::GUID,
    nv::NV_ENC_TUNING_INFO,
    *mut nv::NV_ENC_PRESET_CONFIG,
) -> u32;
type InitializeEncoder =
    unsafe extern "C" fn(*mut c_void, *mut nv::NV_ENC_INITIALIZE_PARAMS) -> u32;
type ReconfigureEncoder =
    unsafe extern "C" fn(*mut c_void, *mut nv::NV_ENC_RECONFIGURE_PARAMS) -> u32;
type CreateBitstreamBuffer =
    unsafe extern "C" fn(*mut c_void, *mut nv::NV_ENC_CREATE_BITSTREAM_BUFFER) -> u32;
type WithHandle = unsafe extern "C" fn(*mut c_void, *mut c_void) -> u32;
type EncodePicture = unsafe extern "C" fn(*mut c_void, *mut nv::NV_ENC_PIC_PARAMS) -> u32;
type LockBitstream = unsafe extern "C" fn(*mut c_void, *mut nv::NV_ENC_LOCK_BITSTREAM) -> u32;
type MapInputResource =
    unsafe extern "C" fn(*mut c_void, *mut nv::NV_ENC_MAP_INPUT_RESOURCE) -> u32;
type RegisterResource = unsafe extern "C" fn(*mut c_void, *mut nv::NV_ENC_REGISTER_RESOURCE) -> u32;
type InvalidateRefFrames = unsafe extern "C" fn(*mut c_void, u64) -> u32;
type SetIoCudaStreams = unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_void) -> u32;

/// The session-level entry points, taken from the driver's function table.
pub(crate) struct Calls {
    pub(crate) get_encode_guid_count: GetEncodeGuidCount,
    pub(crate) get_encode_guids: GetEncodeGuids,
    pub(crate) get_encode_caps: GetEncodeCaps,
    pub(crate) get_preset_config_ex: GetPresetConfigEx,
    pub(crate) initialize_encoder: InitializeEncoder,
    pub(crate) reconfigure_encoder: ReconfigureEncoder,
    pub(crate) create_bitstream_buffer: CreateBitstreamBuffer,
    pub(crate) destroy_bitstream_buffer: WithHandle,
    pub(crate) encode_picture: EncodePicture,
    pub(crate) lock_bitstream: LockBitstream,
    pub(crate) unlock_bitstream: WithHandle,
    pub(crate) map_input_resource: MapInputResource,
    pub(crate) unmap_input_resource: WithHandle,
    pub(crate) register_resource: RegisterResource,
    pub(crate) unregister_resource: WithHandle,
    pub(crate) invalidate_ref_frames: InvalidateRefFrames,
    pub(crate) set_io_cuda_streams: SetIoCudaStreams,
}

/// The loaded library and the calls taken from its function table.
pub struct NvencApi {
    _library: libloading::Library,
    driver_api: ApiVersion,
    pub(crate) open_session_ex: OpenSessionEx,
    pub(crate) destroy_encoder: DestroyEncoder,
    pub(crate) get_last_error_string: GetLastErrorString,
    pub(crate) calls: Calls,
}

impl std::fmt::Debug for NvencApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NvencApi")
            .field("driver_api", &self.driver_api)
            .finish_non_exhaustive()
    }
}

/// Reinterprets a table entry as `F`, or says which one the driver left empty.
///
/// # Safety
/// `F` must be the entry's C signature with the status returned as `u32`.
unsafe fn entry<T: Copy, F: Copy>(value: Option<T>, name: &str) -> Result<F, NvencError> {
    let f = value.ok_or_else(|| NvencError::LibraryMissing {
        library: LIBRARY.into(),
        reason: format!("the driver's function table has no {name}; update the driver"),
    })?;
    debug_assert_eq!(std::mem::size_of::<T>(), std::mem::size_of::<F>());
    // SAFETY: both are function pointers of the same C signature (the caller's contract); the
    // only difference is a repr(u32) enum return read as u32, which has the same ABI.
    Ok(unsafe { std::mem::transmute_copy::<T, F>(&f) })
}

impl NvencApi {
    /// The process's NVENC library, loaded once: the driver's API version checked against
    /// [`BUILD_API`], the function table filled at this build's version.
    pub fn load() -> Result<Arc<Self>, NvencError> {
        static API: OnceLock<Result<Arc<NvencApi>, NvencError>> = OnceLock::new();
        API.get_or_init(|| Self::open().map(Arc::new)).clone()
    }

    fn open() -> Result<Self, NvencError> {
        let missing = |reason: String| NvencError::LibraryMissing {
            library: LIBRARY.into(),
            reason,
        };
        // SAFETY: loading the driver's library runs only its initialisers.
        let library = unsafe { libloading::Library::new(LIBRARY) }.map_err(|e| {
            let text = e.to_string();
            missing(format!(
                "{}; install the NVIDIA driver's encode library (Debian: libnvidia-encode1 from non-free)",
                text.strip_prefix(&format!("{LIBRARY}: ")).unwrap_or(&text)
            ))
        })?;
        type MaxVersion = unsafe extern "C" fn(*mut u32) -> u32;
        type CreateInstance = unsafe extern "C" fn(*mut nv::NV_ENCODE_API_FUNCTION_LIST) -> u32;
        // SAFETY: the symbols have these C signatures in every NVENC driver library.
        let (max_version, create_instance) = unsafe {
            let max: libloading::Symbol<MaxVersion> = library
                .get(b"NvEncodeAPIGetMaxSupportedVersion\0")
                .map_err(|e| missing(e.to_string()))?;
            let create: libloading::Symbol<CreateInstance> = library
                .get(b"NvEncodeAPICreateInstance\0")
                .map_err(|e| missing(e.to_string()))?;
            (*max, *create)
        };
        let mut packed = 0u32;
        // SAFETY: writes one u32.
        let s = unsafe { max_version(&raw mut packed) };
        if s != status::SUCCESS {
            return Err(NvencError::status(
                "NvEncodeAPIGetMaxSupportedVersion",
                s,
                None,
            ));
        }
        let driver_api = ApiVersion::from_packed(packed);
        if driver_api < BUILD_API {
            return Err(NvencError::DriverTooOld {
                driver: driver_api,
                needed: BUILD_API,
            });
        }
        let mut list = nv::NV_ENCODE_API_FUNCTION_LIST {
            version: nv::NV_ENCODE_API_FUNCTION_LIST_VER,
            ..Default::default()
        };
        // SAFETY: a zeroed table with its version set, as the API requires.
        let s = unsafe { create_instance(&raw mut list) };
        if s != status::SUCCESS {
            return Err(NvencError::status("NvEncodeAPICreateInstance", s, None));
        }
        // One table entry, named after its field (the driver's function name).
        macro_rules! take {
            ($field:ident) => {
                entry(list.$field, stringify!($field))?
            };
        }
        // SAFETY: each target type is the entry's C signature with a u32 status.
        let api = unsafe {
            Self {
                open_session_ex: take!(nvEncOpenEncodeSessionEx),
                destroy_encoder: take!(nvEncDestroyEncoder),
                get_last_error_string: take!(nvEncGetLastErrorString),
                calls: Calls {
                    get_encode_guid_count: take!(nvEncGetEncodeGUIDCount),
                    get_encode_guids: take!(nvEncGetEncodeGUIDs),
                    get_encode_caps: take!(nvEncGetEncodeCaps),
                    get_preset_config_ex: take!(nvEncGetEncodePresetConfigEx),
                    initialize_encoder: take!(nvEncInitializeEncoder),
                    reconfigure_encoder: take!(nvEncReconfigureEncoder),
                    create_bitstream_buffer: take!(nvEncCreateBitstreamBuffer),
                    destroy_bitstream_buffer: take!(nvEncDestroyBitstreamBuffer),
                    encode_picture: take!(nvEncEncodePicture),
                    lock_bitstream: take!(nvEncLockBitstream),
                    unlock_bitstream: take!(nvEncUnlockBitstream),
                    map_input_resource: take!(nvEncMapInputResource),
                    unmap_input_resource: take!(nvEncUnmapInputResource),
                    register_resource: take!(nvEncRegisterResource),
                    unregister_resource: take!(nvEncUnregisterResource),
                    invalidate_ref_frames: take!(nvEncInvalidateRefFrames),
                    set_io_cuda_streams: take!(nvEncSetIOCudaStreams),
                },
                driver_api,
                _library: library,
            }
        };
        tracing::debug!(driver_api = %driver_api, build_api = %BUILD_API, "NVENC library loaded");
        Ok(api)
    }

    /// The newest API version the driver offers.
    pub fn driver_api(&self) -> ApiVersion {
        self.driver_api
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_versions_unpack_as_the_header_packs_them() {
        assert_eq!(
            ApiVersion::from_packed(13 << 4),
            ApiVersion {
                major: 13,
                minor: 0
            }
        );
        assert_eq!(ApiVersion::from_packed((12 << 4) | 2).to_string(), "12.2");
        assert!(ApiVersion::from_packed(12 << 4) < BUILD_API);
        assert!(ApiVersion::from_packed(13 << 4) > BUILD_API);
        // NVENCAPI_VERSION packs major | minor << 24 into the structure versions.
        assert_eq!(
            nv::NVENCAPI_VERSION,
            BUILD_API.major | (BUILD_API.minor << 24)
        );
    }
}
