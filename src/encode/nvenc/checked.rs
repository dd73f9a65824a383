//! Level 2 of NVENC, the checked calls: one function per driver entry point GhostStream uses,
//! taking the raw session handle and raw resource handles, returning the typed error.
//!
//! Crate-private, as cudarc's `result` layer is to its `sys`: it adds no ownership. Every
//! function that takes a raw handle or pointer is `unsafe` and says, under `# Safety`, what the
//! caller must guarantee; the status each call returns becomes `NvencError::Status` with the
//! session's last-error text. The safe types of [`super::session`] are built on these.

use std::ffi::{c_void, CStr};

use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

use super::{status, NvencApi, NvencError};

/// `Ok` for success, else the typed error for `call` with the session's last error.
///
/// # Safety
/// `encoder` is a session handle returned by the driver and not yet destroyed.
unsafe fn check(
    api: &NvencApi,
    encoder: *mut c_void,
    call: &'static str,
    s: u32,
) -> Result<(), NvencError> {
    if s == status::SUCCESS {
        return Ok(());
    }
    // SAFETY: the caller's contract.
    let text = unsafe { last_error(api, encoder) };
    Err(NvencError::status(call, s, Some(text)))
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

/// `nvEncOpenEncodeSessionEx` on a CUDA context: the session handle. A GPU without an encoder
/// engine is [`NvencError::NoEncoder`] naming `device_name`; a handle the driver returns with a
/// failure is destroyed here, after its last-error text is read.
///
/// # Safety
/// `context` is a live CUDA context, current on the calling thread, that outlives the session.
pub(crate) unsafe fn open_session(
    api: &NvencApi,
    context: *mut c_void,
    device_name: &str,
) -> Result<*mut c_void, NvencError> {
    let mut params = open_params(context);
    let mut encoder = std::ptr::null_mut();
    // SAFETY: a valid, versioned structure naming the caller's live context; the driver writes
    // the session handle.
    let s = unsafe { (api.open_session_ex)(&raw mut params, &raw mut encoder) };
    if s == status::SUCCESS {
        return Ok(encoder);
    }
    // On failure the API may still return a handle, which must be destroyed; its last error
    // string says more than the status.
    let last_error = (!encoder.is_null()).then(|| {
        // SAFETY: a handle the driver returned; destroyed right after.
        let text = unsafe { last_error(api, encoder) };
        // SAFETY: as above; destroyed once.
        unsafe { destroy_encoder(api, encoder) };
        text
    });
    tracing::debug!(status = s, "nvEncOpenEncodeSessionEx failed");
    if status::is_no_encoder(s) {
        return Err(NvencError::NoEncoder {
            device: device_name.into(),
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

/// `nvEncDestroyEncoder`. Its status is not reported: nothing can be done about it.
///
/// # Safety
/// `encoder` is a live session handle, destroyed once, with no call on it in flight and every
/// resource made from it already released; its CUDA context is current.
pub(crate) unsafe fn destroy_encoder(api: &NvencApi, encoder: *mut c_void) {
    // SAFETY: the caller's contract.
    unsafe { (api.destroy_encoder)(encoder) };
}

/// `nvEncGetLastErrorString`: the driver's last error text for the session.
///
/// # Safety
/// `encoder` is a session handle returned by the driver and not yet destroyed.
pub(crate) unsafe fn last_error(api: &NvencApi, encoder: *mut c_void) -> String {
    // SAFETY: the caller's contract; the driver returns a NUL-terminated string it owns, or
    // null.
    let p = unsafe { (api.get_last_error_string)(encoder) };
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-null and NUL-terminated (above).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// `nvEncGetEncodeGUIDCount` then `nvEncGetEncodeGUIDs`: the codecs the GPU encodes.
///
/// # Safety
/// `encoder` is a live session handle.
pub(crate) unsafe fn encode_guids(
    api: &NvencApi,
    encoder: *mut c_void,
) -> Result<Vec<nv::GUID>, NvencError> {
    let c = &api.calls;
    let mut count = 0u32;
    // SAFETY: a live session (the caller's contract); writes one u32.
    unsafe {
        check(
            api,
            encoder,
            "nvEncGetEncodeGUIDCount",
            (c.get_encode_guid_count)(encoder, &raw mut count),
        )
    }?;
    let mut guids = vec![nv::GUID::default(); count as usize];
    let mut written = 0u32;
    // SAFETY: the array has `count` elements, the size passed.
    unsafe {
        check(
            api,
            encoder,
            "nvEncGetEncodeGUIDs",
            (c.get_encode_guids)(encoder, guids.as_mut_ptr(), count, &raw mut written),
        )
    }?;
    guids.truncate(written as usize);
    Ok(guids)
}

/// `nvEncGetEncodeCaps`: one capability value of `codec`.
///
/// # Safety
/// `encoder` is a live session handle.
pub(crate) unsafe fn encode_cap(
    api: &NvencApi,
    encoder: *mut c_void,
    codec: nv::GUID,
    cap: nv::NV_ENC_CAPS,
) -> Result<i32, NvencError> {
    let mut param = nv::NV_ENC_CAPS_PARAM {
        version: nv::NV_ENC_CAPS_PARAM_VER,
        capsToQuery: cap,
        ..Default::default()
    };
    let mut value = 0i32;
    // SAFETY: a live session; a versioned parameter block and one i32 to write, alive for the
    // call.
    unsafe {
        check(
            api,
            encoder,
            "nvEncGetEncodeCaps",
            (api.calls.get_encode_caps)(encoder, codec, &raw mut param, &raw mut value),
        )
    }?;
    Ok(value)
}

/// `nvEncGetEncodePresetConfigEx`: the driver's configuration for a codec, preset and tuning.
///
/// # Safety
/// `encoder` is a live session handle.
pub(crate) unsafe fn preset_config(
    api: &NvencApi,
    encoder: *mut c_void,
    codec: nv::GUID,
    preset: nv::GUID,
    tuning: nv::NV_ENC_TUNING_INFO,
) -> Result<Box<nv::NV_ENC_CONFIG>, NvencError> {
    let mut preset_config = Box::new(nv::NV_ENC_PRESET_CONFIG {
        version: nv::NV_ENC_PRESET_CONFIG_VER,
        ..Default::default()
    });
    preset_config.presetCfg.version = nv::NV_ENC_CONFIG_VER;
    // SAFETY: a live session; versioned structures alive for the call; the driver fills
    // `presetCfg` with values of the header's enumerations.
    unsafe {
        check(
            api,
            encoder,
            "nvEncGetEncodePresetConfigEx",
            (api.calls.get_preset_config_ex)(
                encoder,
                codec,
                preset,
                tuning,
                &raw mut *preset_config,
            ),
        )
    }?;
    Ok(Box::new(preset_config.presetCfg))
}

/// `nvEncInitializeEncoder`.
///
/// # Safety
/// `encoder` is a live session handle, not yet initialised; `params.encodeConfig` points at a
/// live configuration, and every other pointer in `params` and in that configuration is null
/// or valid for the call.
pub(crate) unsafe fn initialize(
    api: &NvencApi,
    encoder: *mut c_void,
    params: &mut nv::NV_ENC_INITIALIZE_PARAMS,
) -> Result<(), NvencError> {
    // SAFETY: the caller's contract.
    unsafe {
        check(
            api,
            encoder,
            "nvEncInitializeEncoder",
            (api.calls.initialize_encoder)(encoder, params),
        )
    }
}

/// `nvEncReconfigureEncoder`.
///
/// # Safety
/// `encoder` is a live, initialised session handle; the pointers in `params` are as
/// [`initialize`] requires.
pub(crate) unsafe fn reconfigure(
    api: &NvencApi,
    encoder: *mut c_void,
    params: &mut nv::NV_ENC_RECONFIGURE_PARAMS,
) -> Result<(), NvencError> {
    // SAFETY: the caller's contract.
    unsafe {
        check(
            api,
            encoder,
            "nvEncReconfigureEncoder",
            (api.calls.reconfigure_encoder)(encoder, params),
        )
    }
}

/// `nvEncCreateBitstreamBuffer`: an output buffer owned by the driver.
///
/// # Safety
/// `encoder` is a live, initialised session handle.
pub(crate) unsafe fn create_bitstream_buffer(
    api: &NvencApi,
    encoder: *mut c_void,
) -> Result<*mut c_void, NvencError> {
    let mut params = nv::NV_ENC_CREATE_BITSTREAM_BUFFER {
        version: nv::NV_ENC_CREATE_BITSTREAM_BUFFER_VER,
        ..Default::default()
    };
    // SAFETY: a live session; a versioned structure alive for the call.
    unsafe {
        check(
            api,
            encoder,
            "nvEncCreateBitstreamBuffer",
            (api.calls.create_bitstream_buffer)(encoder, &raw mut params),
        )
    }?;
    Ok(params.bitstreamBuffer)
}

/// `nvEncDestroyBitstreamBuffer`.
///
/// # Safety
/// `buffer` came from [`create_bitstream_buffer`] on `encoder`, is destroyed once, and is
/// neither locked nor the output of a picture whose bitstream has not been locked.
pub(crate) unsafe fn destroy_bitstream_buffer(
    api: &NvencApi,
    encoder: *mut c_void,
    buffer: *mut c_void,
) -> Result<(), NvencError> {
    // SAFETY: the caller's contract.
    unsafe {
        check(
            api,
            encoder,
            "nvEncDestroyBitstreamBuffer",
            (api.calls.destroy_bitstream_buffer)(encoder, buffer),
        )
    }
}

/// `nvEncRegisterResource` for CUDA device memory holding NV12 or P010 frames: luma rows of
/// `pitch` bytes, chroma rows right after them.
///
/// # Safety
/// `encoder` is a live, initialised session handle whose CUDA context is current; `pointer` is
/// device memory of that context holding at least a whole frame of `width` x `height` at
/// `pitch` in `format`, alive until the registration is unregistered.
pub(crate) unsafe fn register_cuda(
    api: &NvencApi,
    encoder: *mut c_void,
    pointer: u64,
    (width, height, pitch): (u32, u32, u32),
    format: nv::NV_ENC_BUFFER_FORMAT,
) -> Result<*mut c_void, NvencError> {
    let mut params = nv::NV_ENC_REGISTER_RESOURCE {
        version: nv::NV_ENC_REGISTER_RESOURCE_VER,
        resourceType: nv::NV_ENC_INPUT_RESOURCE_TYPE::NV_ENC_INPUT_RESOURCE_TYPE_CUDADEVICEPTR,
        width,
        height,
        pitch,
        resourceToRegister: pointer as *mut c_void,
        bufferFormat: format,
        bufferUsage: nv::NV_ENC_BUFFER_USAGE::NV_ENC_INPUT_IMAGE,
        ..Default::default()
    };
    // SAFETY: the caller's contract; a versioned structure alive for the call.
    unsafe {
        check(
            api,
            encoder,
            "nvEncRegisterResource",
            (api.calls.register_resource)(encoder, &raw mut params),
        )
    }?;
    Ok(params.registeredResource)
}

/// `nvEncUnregisterResource`.
///
/// # Safety
/// `registered` came from [`register_cuda`] on `encoder`, is unregistered once, and is not
/// mapped.
pub(crate) unsafe fn unregister(
    api: &NvencApi,
    encoder: *mut c_void,
    registered: *mut c_void,
) -> Result<(), NvencError> {
    // SAFETY: the caller's contract.
    unsafe {
        check(
            api,
            encoder,
            "nvEncUnregisterResource",
            (api.calls.unregister_resource)(encoder, registered),
        )
    }
}

/// `nvEncMapInputResource`: the mapped input to name in a picture.
///
/// # Safety
/// `registered` came from [`register_cuda`] on `encoder` and is still registered.
pub(crate) unsafe fn map(
    api: &NvencApi,
    encoder: *mut c_void,
    registered: *mut c_void,
) -> Result<*mut c_void, NvencError> {
    let mut params = nv::NV_ENC_MAP_INPUT_RESOURCE {
        version: nv::NV_ENC_MAP_INPUT_RESOURCE_VER,
        registeredResource: registered,
        ..Default::default()
    };
    // SAFETY: the caller's contract; a versioned structure alive for the call.
    unsafe {
        check(
            api,
            encoder,
            "nvEncMapInputResource",
            (api.calls.map_input_resource)(encoder, &raw mut params),
        )
    }?;
    Ok(params.mappedResource)
}

/// `nvEncUnmapInputResource`.
///
/// # Safety
/// `mapped` came from [`map`] on `encoder`, is unmapped once, and the bitstream of any picture
/// that named it has been locked (or the picture was never submitted).
pub(crate) unsafe fn unmap(
    api: &NvencApi,
    encoder: *mut c_void,
    mapped: *mut c_void,
) -> Result<(), NvencError> {
    // SAFETY: the caller's contract.
    unsafe {
        check(
            api,
            encoder,
            "nvEncUnmapInputResource",
            (api.calls.unmap_input_resource)(encoder, mapped),
        )
    }
}

/// `nvEncEncodePicture`. `Ok(true)`: every picture submitted so far has output ready to lock;
/// `Ok(false)`: NV_ENC_ERR_NEED_MORE_INPUT (the encoder holds frames for reordering).
///
/// # Safety
/// `encoder` is a live, initialised session handle; every pointer in `pic` (mapped input,
/// bitstream buffer, SEI payloads) is null or valid for the call, and the input and output stay
/// alive until the picture's bitstream has been locked.
pub(crate) unsafe fn encode_picture(
    api: &NvencApi,
    encoder: *mut c_void,
    pic: &mut nv::NV_ENC_PIC_PARAMS,
) -> Result<bool, NvencError> {
    // SAFETY: the caller's contract.
    let s = unsafe { (api.calls.encode_picture)(encoder, pic) };
    if s == status::NEED_MORE_INPUT {
        return Ok(false);
    }
    // SAFETY: a live session (the caller's contract).
    unsafe { check(api, encoder, "nvEncEncodePicture", s) }.map(|()| true)
}

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

/// `nvEncLockBitstream` (waiting for the picture), a copy of its bytes, `nvEncUnlockBitstream`.
///
/// # Safety
/// `buffer` came from [`create_bitstream_buffer`] on `encoder` and is the output of a submitted
/// picture whose encode returned output ready; it is locked nowhere else.
pub(crate) unsafe fn lock_copy_unlock(
    api: &NvencApi,
    encoder: *mut c_void,
    buffer: *mut c_void,
) -> Result<LockedPicture, NvencError> {
    let mut lock = std::mem::MaybeUninit::<nv::NV_ENC_LOCK_BITSTREAM>::zeroed();
    let p = lock.as_mut_ptr();
    // SAFETY: `p` points at zeroed storage of the structure; fields are written and read
    // through raw pointers, never as a typed value, so a picture type outside the bindings'
    // enumeration is read as the number it is. The buffer is the caller's (contract above);
    // the driver's data pointer is valid for `bitstreamSizeInBytes` until the unlock.
    unsafe {
        std::ptr::addr_of_mut!((*p).version).write(nv::NV_ENC_LOCK_BITSTREAM_VER);
        std::ptr::addr_of_mut!((*p).outputBitstream).write(buffer);
        check(
            api,
            encoder,
            "nvEncLockBitstream",
            (api.calls.lock_bitstream)(encoder, p),
        )?;
        let data_ptr = std::ptr::addr_of!((*p).bitstreamBufferPtr).read();
        let len = std::ptr::addr_of!((*p).bitstreamSizeInBytes).read() as usize;
        let picture = LockedPicture {
            data: std::slice::from_raw_parts(data_ptr.cast::<u8>(), len).to_vec(),
            timestamp: std::ptr::addr_of!((*p).outputTimeStamp).read(),
            picture_type: std::ptr::addr_of!((*p).pictureType).cast::<u32>().read(),
            frame_index: std::ptr::addr_of!((*p).frameIdx).read(),
        };
        check(
            api,
            encoder,
            "nvEncUnlockBitstream",
            (api.calls.unlock_bitstream)(encoder, buffer),
        )?;
        Ok(picture)
    }
}

/// `nvEncInvalidateRefFrames`: pictures after this stop referencing the one submitted with
/// `timestamp`.
///
/// # Safety
/// `encoder` is a live, initialised session handle.
pub(crate) unsafe fn invalidate_ref_frames(
    api: &NvencApi,
    encoder: *mut c_void,
    timestamp: u64,
) -> Result<(), NvencError> {
    // SAFETY: the caller's contract; a plain value.
    unsafe {
        check(
            api,
            encoder,
            "nvEncInvalidateRefFrames",
            (api.calls.invalidate_ref_frames)(encoder, timestamp),
        )
    }
}

/// `nvEncSetIOCudaStreams`.
///
/// # Safety
/// `encoder` is a live, initialised session handle; `input` and `output` point at CUstream
/// handles of the session's context, and both pointers and streams outlive the session.
pub(crate) unsafe fn set_io_cuda_streams(
    api: &NvencApi,
    encoder: *mut c_void,
    input: *mut c_void,
    output: *mut c_void,
) -> Result<(), NvencError> {
    // SAFETY: the caller's contract.
    unsafe {
        check(
            api,
            encoder,
            "nvEncSetIOCudaStreams",
            (api.calls.set_io_cuda_streams)(encoder, input, output),
        )
    }
}
