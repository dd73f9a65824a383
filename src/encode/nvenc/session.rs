//! An NVENC session on a CUDA context (named for NVENC: "session" alone is the engine's Session).

use std::ffi::{c_void, CStr};
use std::sync::Arc;

use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

use super::{status, NvencApi, NvencError};
use crate::cuda::CudaDevice;

/// An open encode session (`nvEncOpenNvencSessionEx` on a CUDA context), destroyed on drop.
pub struct NvencSession {
    api: Arc<NvencApi>,
    encoder: *mut c_void,
    device: Arc<CudaDevice>,
}

// SAFETY: an NVENC session may be used from any thread; its CUDA context is bound before each
// call that needs it.
unsafe impl Send for NvencSession {}
// SAFETY: NVIDIA's threading model has the encoder fed from one thread while another blocks in
// nvEncLockBitstream / unlocks and unmaps; `NvencEncoder` keeps to exactly that split (submit
// and setup calls on the owner's thread, lock/unlock/unmap on the output thread).
unsafe impl Sync for NvencSession {}

/// An encoded picture copied out of a locked bitstream buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPicture {
    /// The bitstream bytes.
    pub data: Vec<u8>,
    /// The input timestamp of the picture (what `inputTimeStamp` was).
    pub timestamp: u64,
    /// `NV_ENC_PIC_TYPE` as a number (3 = IDR).
    pub picture_type: u32,
    /// The encoder's frame index.
    pub frame_index: u32,
}

/// `NV_ENC_PIC_TYPE_IDR`.
pub const PICTURE_TYPE_IDR: u32 = 3;

impl std::fmt::Debug for NvencSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NvencSession")
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

impl NvencSession {
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
        tracing::debug!(status = s, "nvEncOpenNvencSessionEx failed");
        if status::is_no_encoder(s) {
            return Err(NvencError::NoEncoder {
                device: device.name().into(),
                status: s,
                name: status::name(s),
                last_error,
            });
        }
        Err(NvencError::status("nvEncOpenNvencSessionEx", s, last_error))
    }

    /// The driver's last error text for this session.
    pub fn last_error(&self) -> String {
        // SAFETY: the session is open.
        unsafe { last_error(&self.api, self.encoder) }
    }

    /// The CUDA device the session encodes on.
    pub fn device(&self) -> &Arc<CudaDevice> {
        &self.device
    }

    /// `Ok` for success, else the typed error for `call` with the session's last error.
    fn check(&self, call: &'static str, s: u32) -> Result<(), NvencError> {
        if s == status::SUCCESS {
            return Ok(());
        }
        Err(NvencError::status(call, s, Some(self.last_error())))
    }

    /// The codec GUIDs the GPU encodes.
    pub fn codecs(&self) -> Result<Vec<nv::GUID>, NvencError> {
        let c = &self.api.calls;
        let mut count = 0u32;
        // SAFETY: the session is open; writes one u32.
        self.check("nvEncGetEncodeGUIDCount", unsafe {
            (c.get_encode_guid_count)(self.encoder, &mut count)
        })?;
        let mut guids = vec![nv::GUID::default(); count as usize];
        let mut written = 0u32;
        // SAFETY: the array has `count` elements, the size passed.
        self.check("nvEncGetEncodeGUIDs", unsafe {
            (c.get_encode_guids)(self.encoder, guids.as_mut_ptr(), count, &mut written)
        })?;
        guids.truncate(written as usize);
        Ok(guids)
    }

    /// One capability value of `codec` (`NV_ENC_CAPS_*`).
    pub fn cap(&self, codec: nv::GUID, cap: nv::NV_ENC_CAPS) -> Result<i32, NvencError> {
        let mut param = nv::NV_ENC_CAPS_PARAM {
            version: nv::NV_ENC_CAPS_PARAM_VER,
            capsToQuery: cap,
            ..Default::default()
        };
        let mut value = 0i32;
        // SAFETY: a versioned parameter block and one i32 to write, alive for the call.
        self.check("nvEncGetEncodeCaps", unsafe {
            (self.api.calls.get_encode_caps)(self.encoder, codec, &mut param, &mut value)
        })?;
        Ok(value)
    }

    /// The driver's configuration for a codec, preset and tuning: the base that
    /// [`super::params::apply_config`] changes.
    pub fn preset_config(
        &self,
        codec: nv::GUID,
        preset: nv::GUID,
        tuning: nv::NV_ENC_TUNING_INFO,
    ) -> Result<Box<nv::NV_ENC_CONFIG>, NvencError> {
        let mut preset_config = Box::new(nv::NV_ENC_PRESET_CONFIG {
            version: nv::NV_ENC_PRESET_CONFIG_VER,
            ..Default::default()
        });
        preset_config.presetCfg.version = nv::NV_ENC_CONFIG_VER;
        // SAFETY: versioned structures alive for the call; the driver fills `presetCfg` with
        // values of the header's enumerations.
        self.check("nvEncGetEncodePresetConfigEx", unsafe {
            (self.api.calls.get_preset_config_ex)(
                self.encoder,
                codec,
                preset,
                tuning,
                &mut *preset_config,
            )
        })?;
        Ok(Box::new(preset_config.presetCfg))
    }

    /// Initialises the encoder (`params.encodeConfig` must point at a live configuration).
    pub fn initialize(&self, params: &mut nv::NV_ENC_INITIALIZE_PARAMS) -> Result<(), NvencError> {
        // SAFETY: a versioned structure whose configuration pointer the caller keeps alive.
        self.check("nvEncInitializeEncoder", unsafe {
            (self.api.calls.initialize_encoder)(self.encoder, params)
        })
    }

    /// Changes rate, frame rate or other dynamic settings without a new session.
    pub fn reconfigure(
        &self,
        params: &mut nv::NV_ENC_RECONFIGURE_PARAMS,
    ) -> Result<(), NvencError> {
        // SAFETY: as in `initialize`.
        self.check("nvEncReconfigureEncoder", unsafe {
            (self.api.calls.reconfigure_encoder)(self.encoder, params)
        })
    }

    /// A bitstream (output) buffer owned by the driver; destroy it with
    /// [`Self::destroy_bitstream_buffer`].
    pub fn create_bitstream_buffer(&self) -> Result<*mut c_void, NvencError> {
        let mut params = nv::NV_ENC_CREATE_BITSTREAM_BUFFER {
            version: nv::NV_ENC_CREATE_BITSTREAM_BUFFER_VER,
            ..Default::default()
        };
        // SAFETY: a versioned structure alive for the call.
        self.check("nvEncCreateBitstreamBuffer", unsafe {
            (self.api.calls.create_bitstream_buffer)(self.encoder, &mut params)
        })?;
        Ok(params.bitstreamBuffer)
    }

    /// Frees a bitstream buffer.
    ///
    /// # Safety
    /// `buffer` came from [`Self::create_bitstream_buffer`] and is neither locked nor queued.
    pub unsafe fn destroy_bitstream_buffer(&self, buffer: *mut c_void) {
        // SAFETY: the caller's contract.
        unsafe { (self.api.calls.destroy_bitstream_buffer)(self.encoder, buffer) };
    }

    /// Registers CUDA device memory holding NV12 or P010 frames of `layout` (luma rows of
    /// `luma_pitch` bytes, chroma rows right after them).
    pub fn register_cuda(
        &self,
        pointer: u64,
        layout: &crate::processing::convert::YuvLayout,
        format: nv::NV_ENC_BUFFER_FORMAT,
    ) -> Result<*mut c_void, NvencError> {
        let mut params = nv::NV_ENC_REGISTER_RESOURCE {
            version: nv::NV_ENC_REGISTER_RESOURCE_VER,
            resourceType: nv::NV_ENC_INPUT_RESOURCE_TYPE::NV_ENC_INPUT_RESOURCE_TYPE_CUDADEVICEPTR,
            width: layout.width,
            height: layout.height,
            pitch: layout.luma_pitch,
            resourceToRegister: pointer as *mut c_void,
            bufferFormat: format,
            bufferUsage: nv::NV_ENC_BUFFER_USAGE::NV_ENC_INPUT_IMAGE,
            ..Default::default()
        };
        self.device.bind()?;
        // SAFETY: a versioned structure naming device memory of at least `layout.size` bytes
        // (the caller's allocation), alive until unregistered.
        self.check("nvEncRegisterResource", unsafe {
            (self.api.calls.register_resource)(self.encoder, &mut params)
        })?;
        Ok(params.registeredResource)
    }

    /// Unregisters a resource.
    ///
    /// # Safety
    /// `registered` came from [`Self::register_cuda`] and is not mapped.
    pub unsafe fn unregister(&self, registered: *mut c_void) {
        // SAFETY: the caller's contract.
        unsafe { (self.api.calls.unregister_resource)(self.encoder, registered) };
    }

    /// Maps a registered resource for one encode; unmap it once its picture is out.
    pub fn map(&self, registered: *mut c_void) -> Result<*mut c_void, NvencError> {
        let mut params = nv::NV_ENC_MAP_INPUT_RESOURCE {
            version: nv::NV_ENC_MAP_INPUT_RESOURCE_VER,
            registeredResource: registered,
            ..Default::default()
        };
        // SAFETY: a versioned structure naming a registered resource.
        self.check("nvEncMapInputResource", unsafe {
            (self.api.calls.map_input_resource)(self.encoder, &mut params)
        })?;
        Ok(params.mappedResource)
    }

    /// Unmaps a mapped input.
    ///
    /// # Safety
    /// `mapped` came from [`Self::map`] and its picture's bitstream has been locked.
    pub unsafe fn unmap(&self, mapped: *mut c_void) -> Result<(), NvencError> {
        // SAFETY: the caller's contract.
        self.check("nvEncUnmapInputResource", unsafe {
            (self.api.calls.unmap_input_resource)(self.encoder, mapped)
        })
    }

    /// Submits a picture. `Ok(true)`: every picture submitted so far has output ready to
    /// lock; `Ok(false)`: NV_ENC_ERR_NEED_MORE_INPUT (the encoder holds frames for reordering).
    ///
    /// # Safety
    /// Every pointer in `pic` (input, output buffer, SEI payloads) is valid for the call, and
    /// the input and output stay alive until the picture's bitstream has been locked.
    pub unsafe fn encode(&self, pic: &mut nv::NV_ENC_PIC_PARAMS) -> Result<bool, NvencError> {
        // SAFETY: the caller's contract.
        let s = unsafe { (self.api.calls.encode_picture)(self.encoder, pic) };
        if s == status::NEED_MORE_INPUT {
            return Ok(false);
        }
        self.check("nvEncEncodePicture", s).map(|()| true)
    }

    /// Waits for a picture's output, copies it out and unlocks the buffer.
    ///
    /// # Safety
    /// `buffer` is a bitstream buffer of a submitted picture whose encode returned output
    /// ready, not locked elsewhere.
    pub unsafe fn lock_and_copy(&self, buffer: *mut c_void) -> Result<LockedPicture, NvencError> {
        let mut lock = std::mem::MaybeUninit::<nv::NV_ENC_LOCK_BITSTREAM>::zeroed();
        let p = lock.as_mut_ptr();
        // SAFETY: `p` points at zeroed storage of the structure; fields are written and read
        // through raw pointers, never as a typed value, so a picture type outside the
        // bindings' enumeration is read as the number it is.
        unsafe {
            std::ptr::addr_of_mut!((*p).version).write(nv::NV_ENC_LOCK_BITSTREAM_VER);
            std::ptr::addr_of_mut!((*p).outputBitstream).write(buffer);
            self.check(
                "nvEncLockBitstream",
                (self.api.calls.lock_bitstream)(self.encoder, p),
            )?;
            let data_ptr = std::ptr::addr_of!((*p).bitstreamBufferPtr).read();
            let len = std::ptr::addr_of!((*p).bitstreamSizeInBytes).read() as usize;
            let picture = LockedPicture {
                data: std::slice::from_raw_parts(data_ptr.cast::<u8>(), len).to_vec(),
                timestamp: std::ptr::addr_of!((*p).outputTimeStamp).read(),
                picture_type: std::ptr::addr_of!((*p).pictureType).cast::<u32>().read(),
                frame_index: std::ptr::addr_of!((*p).frameIdx).read(),
            };
            self.check(
                "nvEncUnlockBitstream",
                (self.api.calls.unlock_bitstream)(self.encoder, buffer),
            )?;
            Ok(picture)
        }
    }

    /// Tells the encoder that the picture submitted with `timestamp` was lost by a client: later
    /// pictures will not reference it (recovery without a keyframe).
    pub fn invalidate(&self, timestamp: u64) -> Result<(), NvencError> {
        // SAFETY: the session is initialised; a plain value.
        self.check("nvEncInvalidateRefFrames", unsafe {
            (self.api.calls.invalidate_ref_frames)(self.encoder, timestamp)
        })
    }

    /// Orders the encoder's input reads after `input`'s work and its output on `output`.
    ///
    /// # Safety
    /// Both point at CUstream handles of the session's context that outlive the session.
    pub unsafe fn set_io_streams(
        &self,
        input: *mut c_void,
        output: *mut c_void,
    ) -> Result<(), NvencError> {
        // SAFETY: the caller's contract.
        self.check("nvEncSetIOCudaStreams", unsafe {
            (self.api.calls.set_io_cuda_streams)(self.encoder, input, output)
        })
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

impl Drop for NvencSession {
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
