//! Opening libnvidia-encode at run time and filling NVENC's function table.

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

/// The loaded library and the calls taken from its function table.
pub struct NvencApi {
    _library: libloading::Library,
    driver_api: ApiVersion,
    pub(crate) open_session_ex: OpenSessionEx,
    pub(crate) destroy_encoder: DestroyEncoder,
    pub(crate) get_last_error_string: GetLastErrorString,
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
        let s = unsafe { max_version(&mut packed) };
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
        let s = unsafe { create_instance(&mut list) };
        if s != status::SUCCESS {
            return Err(NvencError::status("NvEncodeAPICreateInstance", s, None));
        }
        // SAFETY: each target type is the entry's C signature with a u32 status.
        let api = unsafe {
            Self {
                open_session_ex: entry(list.nvEncOpenEncodeSessionEx, "nvEncOpenEncodeSessionEx")?,
                destroy_encoder: entry(list.nvEncDestroyEncoder, "nvEncDestroyEncoder")?,
                get_last_error_string: entry(
                    list.nvEncGetLastErrorString,
                    "nvEncGetLastErrorString",
                )?,
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
