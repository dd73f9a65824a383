//! The STAND-IN's codecs and capabilities: one NVIDIA GPU generation a process, Ada (GeForce
//! RTX 40 / L4 / L40 class, the default) or Blackwell (GeForce RTX 50 class; environment
//! `GHOSTSTREAM_NVENC_STANDIN_GPU=blackwell`), as `nvEncGetEncodeGUIDs` and `nvEncGetEncodeCaps`
//! report them.
//!
//! Where each value comes from:
//! - codecs, largest size, 10-bit, B-frames and lossless per codec: NVIDIA's NVENC Application
//!   Note (Video Codec SDK 12.1), table "NVENC hardware capabilities", Ada column (H.264 up
//!   to 4096x4096, 8-bit, lossless; HEVC up to 8192x8192, 10-bit, lossless; AV1 up to
//!   8192x8192, 10-bit, no lossless; B-frames in all three);
//! - engines: 2, the figure of the AD102/AD103 GeForce parts in NVIDIA's public video
//!   encode/decode support matrix (L40 has 3); split-frame encoding needs 2 or more;
//! - lookahead, intra refresh, reference-picture invalidation, dynamic bitrate change, custom
//!   VBV size, temporal AQ: listed as supported for Turing and later in the same note;
//! - smallest sizes (145x49 H.264, 129x33 HEVC, 192x128 AV1), most B-frames (4 H.264, 5 HEVC,
//!   7 AV1), engines (2 Ada, 3 Blackwell) and 10-bit H.264 (Blackwell only): not in the public
//!   matrix; the values NVIDIA's own `nvEncGetEncodeCaps` gave on a GeForce RTX 4080 (Ada) and
//!   an RTX 5090 (Blackwell) in capability reports published by a public encoder project
//!   (driver 526.98 and 572.75). 4:2:2 input (Blackwell) has no capability in the 12.1 header
//!   the stand-in follows, so it is not offered.
//!
//! Capabilities not listed answer 0 (not modelled).

use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

/// A codec the stand-in encodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// H.264.
    H264,
    /// HEVC.
    Hevc,
    /// AV1.
    Av1,
}

impl Codec {
    /// The codec of an encode GUID.
    pub fn from_guid(g: &nv::GUID) -> Option<Self> {
        [
            (nv::NV_ENC_CODEC_H264_GUID, Codec::H264),
            (nv::NV_ENC_CODEC_HEVC_GUID, Codec::Hevc),
            (nv::NV_ENC_CODEC_AV1_GUID, Codec::Av1),
        ]
        .into_iter()
        .find(|(guid, _)| guid_eq(guid, g))
        .map(|(_, c)| c)
    }

    /// Whether `g` is a profile GUID of this codec (or the autoselect one).
    pub fn has_profile(self, g: &nv::GUID) -> bool {
        let profiles: &[nv::GUID] = match self {
            Codec::H264 => &[
                nv::NV_ENC_H264_PROFILE_BASELINE_GUID,
                nv::NV_ENC_H264_PROFILE_MAIN_GUID,
                nv::NV_ENC_H264_PROFILE_HIGH_GUID,
                nv::NV_ENC_H264_PROFILE_HIGH_444_GUID,
                nv::NV_ENC_H264_PROFILE_STEREO_GUID,
                nv::NV_ENC_H264_PROFILE_PROGRESSIVE_HIGH_GUID,
                nv::NV_ENC_H264_PROFILE_CONSTRAINED_HIGH_GUID,
            ],
            Codec::Hevc => &[
                nv::NV_ENC_HEVC_PROFILE_MAIN_GUID,
                nv::NV_ENC_HEVC_PROFILE_MAIN10_GUID,
                nv::NV_ENC_HEVC_PROFILE_FREXT_GUID,
            ],
            Codec::Av1 => &[nv::NV_ENC_AV1_PROFILE_MAIN_GUID],
        };
        guid_eq(g, &nv::NV_ENC_CODEC_PROFILE_AUTOSELECT_GUID)
            || profiles.iter().any(|p| guid_eq(p, g))
    }
}

/// The encode GUIDs reported, in order.
pub fn codecs() -> [nv::GUID; 3] {
    [
        nv::NV_ENC_CODEC_H264_GUID,
        nv::NV_ENC_CODEC_HEVC_GUID,
        nv::NV_ENC_CODEC_AV1_GUID,
    ]
}

/// Whether `g` is one of the P1 … P7 preset GUIDs.
pub fn is_preset(g: &nv::GUID) -> bool {
    [
        nv::NV_ENC_PRESET_P1_GUID,
        nv::NV_ENC_PRESET_P2_GUID,
        nv::NV_ENC_PRESET_P3_GUID,
        nv::NV_ENC_PRESET_P4_GUID,
        nv::NV_ENC_PRESET_P5_GUID,
        nv::NV_ENC_PRESET_P6_GUID,
        nv::NV_ENC_PRESET_P7_GUID,
    ]
    .iter()
    .any(|p| guid_eq(p, g))
}

/// GUID equality (the bindings' GUID has no `PartialEq`).
pub fn guid_eq(a: &nv::GUID, b: &nv::GUID) -> bool {
    (a.Data1, a.Data2, a.Data3, a.Data4) == (b.Data1, b.Data2, b.Data3, b.Data4)
}

/// An NVIDIA GPU generation whose capabilities the stand-in reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generation {
    /// Ada Lovelace (GeForce RTX 40, L4, L40).
    Ada,
    /// Blackwell (GeForce RTX 50).
    Blackwell,
}

impl Generation {
    /// The generation of this process: `GHOSTSTREAM_NVENC_STANDIN_GPU` (`ada`, `blackwell`),
    /// Ada when unset or unknown.
    pub fn current() -> Generation {
        static CHOSEN: std::sync::OnceLock<Generation> = std::sync::OnceLock::new();
        *CHOSEN.get_or_init(
            || match std::env::var("GHOSTSTREAM_NVENC_STANDIN_GPU").as_deref() {
                Ok("blackwell") => Generation::Blackwell,
                _ => Generation::Ada,
            },
        )
    }
}

/// The value of capability `cap` (an `NV_ENC_CAPS` number) for `codec` on this process's
/// generation ([`Generation::current`]).
pub fn value(codec: Codec, cap: u32) -> i32 {
    value_on(Generation::current(), codec, cap)
}

/// The value of capability `cap` for `codec` on `generation`.
pub fn value_on(generation: Generation, codec: Codec, cap: u32) -> i32 {
    use nv::NV_ENC_CAPS as C;
    let blackwell = generation == Generation::Blackwell;
    let is = |c: C| cap == c as u32;
    let (h264, hevc, av1) = (
        codec == Codec::H264,
        codec == Codec::Hevc,
        codec == Codec::Av1,
    );
    if is(C::NV_ENC_CAPS_WIDTH_MAX) || is(C::NV_ENC_CAPS_HEIGHT_MAX) {
        return if h264 { 4096 } else { 8192 };
    }
    if is(C::NV_ENC_CAPS_WIDTH_MIN) {
        return if h264 {
            145
        } else if hevc {
            129
        } else {
            192
        };
    }
    if is(C::NV_ENC_CAPS_HEIGHT_MIN) {
        return if h264 {
            49
        } else if hevc {
            33
        } else {
            128
        };
    }
    if is(C::NV_ENC_CAPS_NUM_MAX_BFRAMES) {
        return if h264 {
            4
        } else if hevc {
            5
        } else {
            7
        };
    }
    if is(C::NV_ENC_CAPS_SUPPORT_10BIT_ENCODE) {
        return i32::from(hevc || av1 || blackwell);
    }
    if is(C::NV_ENC_CAPS_SUPPORT_LOSSLESS_ENCODE) || is(C::NV_ENC_CAPS_SUPPORT_YUV444_ENCODE) {
        return i32::from(h264 || hevc);
    }
    if is(C::NV_ENC_CAPS_NUM_ENCODER_ENGINES) {
        return if blackwell { 3 } else { 2 };
    }
    if is(C::NV_ENC_CAPS_SUPPORTED_RATECONTROL_MODES) {
        // CONSTQP (0) is always there; VBR and CBR as bits.
        return 0x1 | 0x2;
    }
    if is(C::NV_ENC_CAPS_SUPPORT_SAO) {
        return i32::from(hevc);
    }
    if is(C::NV_ENC_CAPS_SUPPORT_CABAC) {
        return i32::from(h264);
    }
    if [
        C::NV_ENC_CAPS_SUPPORT_LOOKAHEAD,
        C::NV_ENC_CAPS_SUPPORT_INTRA_REFRESH,
        C::NV_ENC_CAPS_SUPPORT_REF_PIC_INVALIDATION,
        C::NV_ENC_CAPS_SUPPORT_DYN_BITRATE_CHANGE,
        C::NV_ENC_CAPS_SUPPORT_DYN_RES_CHANGE,
        C::NV_ENC_CAPS_SUPPORT_CUSTOM_VBV_BUF_SIZE,
        C::NV_ENC_CAPS_SUPPORT_TEMPORAL_AQ,
        C::NV_ENC_CAPS_SUPPORT_QPELMV,
        C::NV_ENC_CAPS_SUPPORT_BFRAME_REF_MODE,
    ]
    .into_iter()
    .any(is)
    {
        return 1;
    }
    0
}
