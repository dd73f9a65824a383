//! An NVENC encode session on a CUDA context.

use std::ffi::{c_void, CStr};
use std::sync::Arc;

use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

use super::{status, NvencApi, NvencError};
use crate::cuda::CudaDevice;

/// An open encode session (`nvEncOpenEncodeSessionEx` on a CUDA context), destroyed on drop.
pub struct EncodeSession {
    api: Arc<NvencApi>,
    encoder: *mut c_void,
    device: Arc<CudaDevice>,
}

// SAFETY: an NVENC session may be used from any thread, one call at a time; `&mut self`
// methods serialise calls, and the CUDA context is bound by the caller's device.
unsafe impl Send for EncodeSession {}

impl std::fmt::Debug for EncodeSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodeSession")
            .field("device", &self.device.name())
            .finish_non_exhaustive()
    }
}

/// The open-session parameters for a CUDA context, at this build's API version.
pub(crate) fn open_params(context: *mut c_void) -> nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS {
    nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS {
        version: nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER,
        deviceType: nv::NV_ENC_DEVICE_TYPE::NV_ENC_DEVICE_TYPE_CUDA,
        device: context,
        apiVersion: nv::NVENCAPI_VERSION,
        ..Default::default()
    }
}

impl EncodeSession {
    /// Opens a session on `device`'s CUDA context. A GPU without an NVENC engine is
    /// [`NvencError::NoEncoder`]; any other failure is [`NvencError::Status`].
    pub fn open(api: &Arc<NvencApi>, device: &Arc<CudaDevice>) -> Result<Self, NvencError> {
        device.bind()?;
        let mut params = open_params(device.context().cast());
        let mut encoder = std::ptr::null_mut();
        // SAFETY: the parameters are a valid, versioned structure naming a live CUDA context;
        // the driver writes the session handle.
        let s = unsafe { (api.open_session_ex)(&mut params, &mut encoder) };
        if s == status::SUCCESS {
            tracing::debug!(device = device.name(), "NVENC session opened");
            return Ok(Self {
                api: Arc::clone(api),
                encoder,
                device: Arc::clone(device),
            });
        }
        // On failure the API may still return a handle, which must be destroyed; its last
        // error string says more than the status.
        let last_error = (!encoder.is_null()).then(|| {
            // SAFETY: a handle the driver returned; destroyed right after.
            let text = unsafe { last_error(api, encoder) };
            // SAFETY: as above; destroyed once.
            unsafe { (api.destroy_encoder)(encoder) };
            text
        });
        tracing::debug!(status = s, "nvEncOpenEncodeSessionEx failed");
        if status::is_no_encoder(s) {
            return Err(NvencError::NoEncoder {
                device: device.name().into(),
                status: s,
                name: status::name(s),
                last_error,
            });
        }
        Err(NvencError::status(
            "nvEncOpenEncodeSessionEx",
            s,
            last_error,
        ))
    }

    /// The driver's last error text for this session.
    pub fn last_error(&self) -> String {
        // SAFETY: the session is open.
        unsafe { last_error(&self.api, self.encoder) }
    }
}

/// The session's last error string.
///
/// # Safety
/// `encoder` is a session handle returned by the driver and not yet destroyed.
unsafe fn last_error(api: &NvencApi, encoder: *mut c_void) -> String {
    // SAFETY: forwarded; the driver returns a NUL-terminated string it owns, or null.
    let p = unsafe { (api.get_last_error_string)(encoder) };
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-null and NUL-terminated (above).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

impl Drop for EncodeSession {
    fn drop(&mut self) {
        // SAFETY: the session is open and destroyed once; its context is bound first.
        unsafe {
            let _ = self.device.bind();
            (self.api.destroy_encoder)(self.encoder);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a machine with the NVIDIA driver (the H200): the driver checks the open-session
    /// structure's version before it looks for an encoder engine, so a corrupted version is
    /// NV_ENC_ERR_INVALID_VERSION while this build's version gets past that check (to success,
    /// or to the no-engine status). Without the driver, a printed skip.
    #[test]
    fn the_driver_accepts_this_builds_structure_versions() {
        let api = match NvencApi::load() {
            Ok(api) => api,
            Err(e) => {
                eprintln!("SKIPPED: {e}");
                return;
            }
        };
        let device = CudaDevice::first().expect("CUDA beside the NVENC library");
        device.bind().unwrap();
        let open = |version: u32| {
            let mut params = open_params(device.context().cast());
            params.version = version;
            let mut encoder = std::ptr::null_mut();
            // SAFETY: a valid structure apart from the version under test; any handle returned
            // is destroyed.
            let s = unsafe { (api.open_session_ex)(&mut params, &mut encoder) };
            if !encoder.is_null() {
                // SAFETY: a handle the driver returned, destroyed once.
                unsafe { (api.destroy_encoder)(encoder) };
            }
            s
        };
        let bad = open(nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER ^ (0xf << 16));
        let good = open(nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER);
        eprintln!(
            "driver API {}: corrupted version -> {} ({bad}); this build's version -> {} ({good})",
            api.driver_api(),
            status::name(bad),
            status::name(good)
        );
        assert_eq!(bad, status::INVALID_VERSION);
        assert!(
            good == status::SUCCESS || status::is_no_encoder(good),
            "{}",
            status::name(good)
        );
    }
}
