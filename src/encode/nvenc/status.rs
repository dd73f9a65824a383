//! NVENCSTATUS values: their names and what each means for a user, from the NVENC API header's
//! enumeration (SDK 12.1; the numbering has not changed since it was introduced).

/// `NV_ENC_SUCCESS`.
pub const SUCCESS: u32 = 0;
/// `NV_ENC_ERR_NO_ENCODE_DEVICE`: no encode-capable device.
pub const NO_ENCODE_DEVICE: u32 = 1;
/// `NV_ENC_ERR_UNSUPPORTED_DEVICE`: the device cannot encode (what a GPU without an NVENC
/// engine, such as the H200, returns).
pub const UNSUPPORTED_DEVICE: u32 = 2;
/// `NV_ENC_ERR_INVALID_VERSION`: a structure's version field is not one the driver accepts.
pub const INVALID_VERSION: u32 = 15;
/// `NV_ENC_ERR_NEED_MORE_INPUT`: not an error; the encoder buffers the frame (B-frames,
/// lookahead) and produces output later.
pub const NEED_MORE_INPUT: u32 = 17;

const NAMES: [(&str, &str); 27] = [
    ("NV_ENC_SUCCESS", "success"),
    (
        "NV_ENC_ERR_NO_ENCODE_DEVICE",
        "no encode-capable device was found",
    ),
    (
        "NV_ENC_ERR_UNSUPPORTED_DEVICE",
        "the device does not support encoding (no NVENC engine)",
    ),
    (
        "NV_ENC_ERR_INVALID_ENCODERDEVICE",
        "the encode device handle is invalid",
    ),
    ("NV_ENC_ERR_INVALID_DEVICE", "the device passed is invalid"),
    (
        "NV_ENC_ERR_DEVICE_NOT_EXIST",
        "the device no longer exists (removed or reset); reopen the session",
    ),
    ("NV_ENC_ERR_INVALID_PTR", "a pointer argument is invalid"),
    ("NV_ENC_ERR_INVALID_EVENT", "a completion event is invalid"),
    ("NV_ENC_ERR_INVALID_PARAM", "a parameter is invalid"),
    (
        "NV_ENC_ERR_INVALID_CALL",
        "the call is not valid in the encoder's state",
    ),
    ("NV_ENC_ERR_OUT_OF_MEMORY", "the encoder ran out of memory"),
    (
        "NV_ENC_ERR_ENCODER_NOT_INITIALIZED",
        "the encoder is not initialised",
    ),
    (
        "NV_ENC_ERR_UNSUPPORTED_PARAM",
        "a parameter is not supported by this GPU or driver",
    ),
    (
        "NV_ENC_ERR_LOCK_BUSY",
        "the bitstream lock is busy; try again",
    ),
    (
        "NV_ENC_ERR_NOT_ENOUGH_BUFFER",
        "the output buffer is too small",
    ),
    (
        "NV_ENC_ERR_INVALID_VERSION",
        "a structure version is not one the driver accepts (driver too old?)",
    ),
    ("NV_ENC_ERR_MAP_FAILED", "mapping the input resource failed"),
    (
        "NV_ENC_ERR_NEED_MORE_INPUT",
        "the encoder needs more input before it outputs",
    ),
    ("NV_ENC_ERR_ENCODER_BUSY", "the encoder is busy; try again"),
    (
        "NV_ENC_ERR_EVENT_NOT_REGISTERD",
        "the completion event was not registered",
    ),
    ("NV_ENC_ERR_GENERIC", "an unknown driver error"),
    (
        "NV_ENC_ERR_INCOMPATIBLE_CLIENT_KEY",
        "the client key is not accepted",
    ),
    (
        "NV_ENC_ERR_UNIMPLEMENTED",
        "the feature is not implemented by this driver",
    ),
    (
        "NV_ENC_ERR_RESOURCE_REGISTER_FAILED",
        "registering the resource failed",
    ),
    (
        "NV_ENC_ERR_RESOURCE_NOT_REGISTERED",
        "the resource is not registered",
    ),
    (
        "NV_ENC_ERR_RESOURCE_NOT_MAPPED",
        "the resource is not mapped",
    ),
    (
        "NV_ENC_ERR_NEED_MORE_OUTPUT",
        "the encoder needs another output buffer",
    ),
];

/// The status's name (`NV_ENC_ERR_...`), or `NVENCSTATUS <n>` for one this build does not
/// know (a newer driver's).
pub fn name(status: u32) -> String {
    NAMES.get(status as usize).map_or_else(
        || format!("NVENCSTATUS {status}"),
        |(n, _)| (*n).to_string(),
    )
}

/// What the status means.
pub fn meaning(status: u32) -> &'static str {
    NAMES
        .get(status as usize)
        .map_or("a status this build does not know", |(_, m)| m)
}

/// Whether the status says the GPU has no encoder engine (or no encode-capable device).
pub fn is_no_encoder(status: u32) -> bool {
    status == NO_ENCODE_DEVICE || status == UNSUPPORTED_DEVICE
}

#[cfg(test)]
mod tests {
    use super::*;
    use nvidia_video_codec_sdk::sys::nvEncodeAPI::NVENCSTATUS;

    /// The table follows the header's enumeration, value by value.
    #[test]
    fn names_follow_the_headers_numbering() {
        let pairs = [
            (NVENCSTATUS::NV_ENC_SUCCESS, "NV_ENC_SUCCESS"),
            (
                NVENCSTATUS::NV_ENC_ERR_NO_ENCODE_DEVICE,
                "NV_ENC_ERR_NO_ENCODE_DEVICE",
            ),
            (
                NVENCSTATUS::NV_ENC_ERR_UNSUPPORTED_DEVICE,
                "NV_ENC_ERR_UNSUPPORTED_DEVICE",
            ),
            (
                NVENCSTATUS::NV_ENC_ERR_INVALID_PARAM,
                "NV_ENC_ERR_INVALID_PARAM",
            ),
            (
                NVENCSTATUS::NV_ENC_ERR_INVALID_VERSION,
                "NV_ENC_ERR_INVALID_VERSION",
            ),
            (
                NVENCSTATUS::NV_ENC_ERR_NEED_MORE_INPUT,
                "NV_ENC_ERR_NEED_MORE_INPUT",
            ),
            (
                NVENCSTATUS::NV_ENC_ERR_NEED_MORE_OUTPUT,
                "NV_ENC_ERR_NEED_MORE_OUTPUT",
            ),
        ];
        for (status, expected) in pairs {
            assert_eq!(name(status as u32), expected);
        }
        assert_eq!(
            NO_ENCODE_DEVICE,
            NVENCSTATUS::NV_ENC_ERR_NO_ENCODE_DEVICE as u32
        );
        assert_eq!(
            UNSUPPORTED_DEVICE,
            NVENCSTATUS::NV_ENC_ERR_UNSUPPORTED_DEVICE as u32
        );
        assert_eq!(
            INVALID_VERSION,
            NVENCSTATUS::NV_ENC_ERR_INVALID_VERSION as u32
        );
        assert_eq!(
            NEED_MORE_INPUT,
            NVENCSTATUS::NV_ENC_ERR_NEED_MORE_INPUT as u32
        );
        assert_eq!(
            u32::try_from(NAMES.len()).unwrap(),
            NVENCSTATUS::NV_ENC_ERR_NEED_MORE_OUTPUT as u32 + 1
        );
        assert_eq!(name(99), "NVENCSTATUS 99");
        assert!(is_no_encoder(2) && is_no_encoder(1) && !is_no_encoder(15));
    }
}
