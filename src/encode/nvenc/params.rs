//! From a [`SessionConfig`] to NVENC's initialisation structures.
//!
//! The programming guide's recipe: ask the driver for the preset's configuration
//! (`nvEncGetEncodePresetConfigEx` with codec, preset and tuning), change only what the session
//! config says, and initialise with it. [`NvencChoice::for_config`] picks the GUIDs and tuning,
//! [`apply_config`] makes the changes on the preset's `NV_ENC_CONFIG`, and
//! [`initialize_params`] fills `NV_ENC_INITIALIZE_PARAMS`. All three are pure functions, so the
//! mapping is tested field by field without a GPU (tests below).

use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

use super::NvencError;
use crate::codec::Codec;
use crate::color::{ColorDescription, ColorMatrix, ColorPrimaries, ColorRange, TransferFunction};
use crate::config::{
    BitDepth, KeyframeInterval, Preset, RateControl, SessionConfig, SplitFrame, Tuning,
};
use crate::format::PixelFormat;

/// The identifiers a session is opened with: codec, preset, profile, tuning and the input
/// buffer format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NvencChoice {
    /// The codec GUID.
    pub codec: nv::GUID,
    /// The preset GUID (P1 to P7).
    pub preset: nv::GUID,
    /// The profile GUID.
    pub profile: nv::GUID,
    /// The tuning.
    pub tuning: nv::NV_ENC_TUNING_INFO,
    /// The input buffers' format: NV12 at 8 bits, P010 (`YUV420_10BIT`) at 10.
    pub buffer_format: nv::NV_ENC_BUFFER_FORMAT,
    /// The YUV format GhostStream's conversion writes for it.
    pub input_format: PixelFormat,
}

/// The codec's GUID.
pub fn codec_guid(codec: Codec) -> nv::GUID {
    match codec {
        Codec::H264 => nv::NV_ENC_CODEC_H264_GUID,
        Codec::Hevc => nv::NV_ENC_CODEC_HEVC_GUID,
        Codec::Av1 => nv::NV_ENC_CODEC_AV1_GUID,
    }
}

/// The preset's GUID: GhostStream's P1-P7 are NVENC's P1-P7.
pub fn preset_guid(preset: Preset) -> nv::GUID {
    match preset {
        Preset::P1 => nv::NV_ENC_PRESET_P1_GUID,
        Preset::P2 => nv::NV_ENC_PRESET_P2_GUID,
        Preset::P3 => nv::NV_ENC_PRESET_P3_GUID,
        Preset::P4 => nv::NV_ENC_PRESET_P4_GUID,
        Preset::P5 => nv::NV_ENC_PRESET_P5_GUID,
        Preset::P6 => nv::NV_ENC_PRESET_P6_GUID,
        Preset::P7 => nv::NV_ENC_PRESET_P7_GUID,
    }
}

/// The tuning's NVENC value.
pub fn tuning_info(tuning: Tuning) -> nv::NV_ENC_TUNING_INFO {
    use nv::NV_ENC_TUNING_INFO as T;
    match tuning {
        Tuning::HighQuality => T::NV_ENC_TUNING_INFO_HIGH_QUALITY,
        Tuning::LowLatency => T::NV_ENC_TUNING_INFO_LOW_LATENCY,
        Tuning::UltraLowLatency => T::NV_ENC_TUNING_INFO_ULTRA_LOW_LATENCY,
        Tuning::Lossless => T::NV_ENC_TUNING_INFO_LOSSLESS,
    }
}

fn unsupported(what: impl Into<String>, fix: impl Into<String>) -> NvencError {
    NvencError::Unsupported {
        what: what.into(),
        fix: fix.into(),
    }
}

impl NvencChoice {
    /// The identifiers for `config`, or what NVENC (SDK 12.1 API) cannot do of it: 10-bit
    /// H.264 and lossless AV1.
    pub fn for_config(config: &SessionConfig) -> Result<Self, NvencError> {
        let ten = config.bit_depth == BitDepth::Ten;
        let profile = match (config.codec, ten, config.tuning) {
            (Codec::H264, true, _) => {
                return Err(unsupported(
                    "10-bit H.264",
                    "use --codec hevc or av1 for 10 bits",
                ))
            }
            (Codec::Av1, _, Tuning::Lossless) => {
                return Err(unsupported(
                    "lossless AV1",
                    "use --codec hevc or h264 for lossless",
                ))
            }
            // Lossless H.264 is coded with the transform bypass of High 4:4:4 Predictive.
            (Codec::H264, false, Tuning::Lossless) => nv::NV_ENC_H264_PROFILE_HIGH_444_GUID,
            (Codec::H264, false, _) => nv::NV_ENC_H264_PROFILE_HIGH_GUID,
            (Codec::Hevc, false, _) => nv::NV_ENC_HEVC_PROFILE_MAIN_GUID,
            (Codec::Hevc, true, _) => nv::NV_ENC_HEVC_PROFILE_MAIN10_GUID,
            (Codec::Av1, _, _) => nv::NV_ENC_AV1_PROFILE_MAIN_GUID,
        };
        let fps = config.frame_rate;
        if u32::try_from(fps.num).is_err() || u32::try_from(fps.den).is_err() {
            return Err(unsupported(
                format!("frame rate {fps}"),
                "NVENC takes a 32-bit numerator and denominator; give the rate in lowest terms",
            ));
        }
        let (buffer_format, input_format) = if ten {
            (
                nv::NV_ENC_BUFFER_FORMAT::NV_ENC_BUFFER_FORMAT_YUV420_10BIT,
                PixelFormat::P010,
            )
        } else {
            (
                nv::NV_ENC_BUFFER_FORMAT::NV_ENC_BUFFER_FORMAT_NV12,
                PixelFormat::Nv12,
            )
        };
        Ok(Self {
            codec: codec_guid(config.codec),
            preset: preset_guid(config.preset),
            profile,
            tuning: tuning_info(config.tuning),
            buffer_format,
            input_format,
        })
    }
}

/// NVENC's value for "no automatic keyframes".
pub const INFINITE_GOP: u32 = nv::NVENC_INFINITE_GOPLENGTH;

/// The keyframe period NVENC is given.
fn gop_length(config: &SessionConfig) -> u32 {
    match config.keyframe_interval {
        KeyframeInterval::Frames(n) => n,
        KeyframeInterval::Infinite => INFINITE_GOP,
    }
}

/// A rate or buffer size as NVENC's 32-bit field, or the error that names it.
fn bits32(field: &str, bits: u64) -> Result<u32, NvencError> {
    u32::try_from(bits).map_err(|_| {
        unsupported(
            format!("{field} {bits} bits"),
            format!("NVENC takes at most {} bits; lower it", u32::MAX),
        )
    })
}

/// The highest target quality NVENC takes (`NV_ENC_RC_PARAMS::targetQuality`: "range 0-51
/// with 0-automatic" in the SDK 12.1 header and the programming guide, for AV1 too; FFmpeg's
/// av1_nvenc lets 0-63 through, which NVIDIA does not document).
pub const NVENC_MAX_QUALITY: u8 = 51;

/// Sets the rate control of `rc` from the config (everything else stays the preset's).
pub fn apply_rate_control(
    config: &SessionConfig,
    rc: &mut nv::NV_ENC_RC_PARAMS,
) -> Result<(), NvencError> {
    use nv::NV_ENC_PARAMS_RC_MODE as M;
    rc.version = nv::NV_ENC_RC_PARAMS_VER;
    let vbv = config.effective_vbv_bits().unwrap_or(0);
    match config.rate_control {
        RateControl::Cbr { bitrate } => {
            rc.rateControlMode = M::NV_ENC_PARAMS_RC_CBR;
            rc.averageBitRate = bits32("bitrate", bitrate)?;
            rc.maxBitRate = rc.averageBitRate;
        }
        RateControl::Vbr { target, max } => {
            rc.rateControlMode = M::NV_ENC_PARAMS_RC_VBR;
            rc.averageBitRate = bits32("bitrate", target)?;
            rc.maxBitRate = bits32("max_bitrate", max)?;
        }
        RateControl::Cqp { qp } => {
            rc.rateControlMode = M::NV_ENC_PARAMS_RC_CONSTQP;
            rc.constQP = nv::NV_ENC_QP {
                qpInterP: qp,
                qpInterB: qp,
                qpIntra: qp,
            };
            rc.averageBitRate = 0;
            rc.maxBitRate = 0;
        }
        RateControl::Cq { quality } => {
            // The programming guide's target-quality mode: VBR with a target quality and no
            // average rate (and no peak: maxBitRate would cap it). The header gives the range
            // as 0-51 for every codec, 0 meaning automatic.
            let target = u8::try_from(quality)
                .ok()
                .filter(|q| (1..=NVENC_MAX_QUALITY).contains(q))
                .ok_or_else(|| {
                    unsupported(
                        format!("constant quality {quality}"),
                        format!(
                            "NVENC's target quality runs from 1 to {NVENC_MAX_QUALITY} for every codec (0 is automatic); give --quality {NVENC_MAX_QUALITY} or less, or use the software encoder"
                        ),
                    )
                })?;
            rc.rateControlMode = M::NV_ENC_PARAMS_RC_VBR;
            rc.averageBitRate = 0;
            rc.maxBitRate = 0;
            rc.targetQuality = target;
            rc.targetQualityLSB = 0;
        }
    }
    // The decoder starts with a full buffer: initial delay = buffer size.
    rc.vbvBufferSize = bits32("vbv_buffer_bits", vbv)?;
    rc.vbvInitialDelay = rc.vbvBufferSize;
    if config.tuning.is_low_latency() {
        // No lookahead, no reordering: the packet for frame n comes out before frame n+1 goes in.
        rc.set_enableLookahead(0);
        rc.lookaheadDepth = 0;
        rc.set_zeroReorderDelay(1);
    }
    Ok(())
}

fn vui_primaries(p: ColorPrimaries) -> nv::NV_ENC_VUI_COLOR_PRIMARIES {
    use nv::NV_ENC_VUI_COLOR_PRIMARIES as P;
    match p {
        ColorPrimaries::Bt709 => P::NV_ENC_VUI_COLOR_PRIMARIES_BT709,
        ColorPrimaries::Bt601Pal => P::NV_ENC_VUI_COLOR_PRIMARIES_BT470BG,
        ColorPrimaries::Bt601Ntsc => P::NV_ENC_VUI_COLOR_PRIMARIES_SMPTE170M,
        ColorPrimaries::Bt2020 => P::NV_ENC_VUI_COLOR_PRIMARIES_BT2020,
        ColorPrimaries::DisplayP3 => P::NV_ENC_VUI_COLOR_PRIMARIES_SMPTE432,
    }
}

fn vui_transfer(t: TransferFunction) -> nv::NV_ENC_VUI_TRANSFER_CHARACTERISTIC {
    use nv::NV_ENC_VUI_TRANSFER_CHARACTERISTIC as T;
    match t {
        TransferFunction::Srgb => T::NV_ENC_VUI_TRANSFER_CHARACTERISTIC_SRGB,
        TransferFunction::Bt709 => T::NV_ENC_VUI_TRANSFER_CHARACTERISTIC_BT709,
        TransferFunction::Pq => T::NV_ENC_VUI_TRANSFER_CHARACTERISTIC_SMPTE2084,
        TransferFunction::Hlg => T::NV_ENC_VUI_TRANSFER_CHARACTERISTIC_ARIB_STD_B67,
    }
}

fn vui_matrix(m: ColorMatrix) -> nv::NV_ENC_VUI_MATRIX_COEFFS {
    use nv::NV_ENC_VUI_MATRIX_COEFFS as M;
    match m {
        ColorMatrix::Bt601 => M::NV_ENC_VUI_MATRIX_COEFFS_SMPTE170M,
        ColorMatrix::Bt709 => M::NV_ENC_VUI_MATRIX_COEFFS_BT709,
        ColorMatrix::Bt2020Ncl => M::NV_ENC_VUI_MATRIX_COEFFS_BT2020_NCL,
    }
}

/// Writes the colour description into an H.264/HEVC VUI (the two share one layout).
fn apply_vui(color: &ColorDescription, vui: &mut nv::NV_ENC_CONFIG_H264_VUI_PARAMETERS) {
    vui.videoSignalTypePresentFlag = 1;
    vui.videoFormat = nv::NV_ENC_VUI_VIDEO_FORMAT::NV_ENC_VUI_VIDEO_FORMAT_UNSPECIFIED;
    vui.videoFullRangeFlag = u32::from(color.range == ColorRange::Full);
    vui.colourDescriptionPresentFlag = 1;
    vui.colourPrimaries = vui_primaries(color.primaries);
    vui.transferCharacteristics = vui_transfer(color.transfer);
    vui.colourMatrix = vui_matrix(color.matrix);
}

/// Changes the preset's configuration `cfg` (from `nvEncGetEncodePresetConfigEx`) to what
/// `config` asks for: profile, GOP, B-frames, rate control, bit depth, colour description,
/// intra refresh, and the codec's parameter sets repeated on every keyframe.
pub fn apply_config(
    config: &SessionConfig,
    choice: &NvencChoice,
    cfg: &mut nv::NV_ENC_CONFIG,
) -> Result<(), NvencError> {
    cfg.version = nv::NV_ENC_CONFIG_VER;
    cfg.profileGUID = choice.profile;
    cfg.frameFieldMode = nv::NV_ENC_PARAMS_FRAME_FIELD_MODE::NV_ENC_PARAMS_FRAME_FIELD_MODE_FRAME;
    let gop = gop_length(config);
    cfg.gopLength = gop;
    // frameIntervalP: 1 = IPPP. Low latency never reorders; an infinite GOP must be IPPP (the
    // header says so); otherwise the preset's B-frame pattern stays.
    if config.tuning.is_low_latency() || gop == INFINITE_GOP {
        cfg.frameIntervalP = 1;
    }
    apply_rate_control(config, &mut cfg.rcParams)?;
    let ten = config.bit_depth == BitDepth::Ten;
    let refresh = config.intra_refresh_frames;
    // The refresh wave takes period - 1 frames, so one wave ends before the next begins.
    let (refresh_on, refresh_period, refresh_count) = match refresh {
        Some(n) => (1, n, n - 1),
        None => (0, 0, 0),
    };
    match config.codec {
        Codec::H264 => {
            // SAFETY: the union member for the session's codec, the only one the driver reads.
            let h = unsafe { &mut cfg.encodeCodecConfig.h264Config };
            h.idrPeriod = gop;
            h.chromaFormatIDC = 1;
            h.set_repeatSPSPPS(1);
            h.set_enableIntraRefresh(refresh_on);
            h.intraRefreshPeriod = refresh_period;
            h.intraRefreshCnt = refresh_count;
            h.set_outputRecoveryPointSEI(refresh_on);
            h.set_qpPrimeYZeroTransformBypassFlag(u32::from(config.tuning == Tuning::Lossless));
            apply_vui(&config.color, &mut h.h264VUIParameters);
        }
        Codec::Hevc => {
            // SAFETY: the union member for the session's codec, the only one the driver reads.
            let h = unsafe { &mut cfg.encodeCodecConfig.hevcConfig };
            h.idrPeriod = gop;
            h.set_chromaFormatIDC(1);
            h.set_pixelBitDepthMinus8(if ten { 2 } else { 0 });
            h.set_repeatSPSPPS(1);
            h.set_enableIntraRefresh(refresh_on);
            h.intraRefreshPeriod = refresh_period;
            h.intraRefreshCnt = refresh_count;
            h.set_outputRecoveryPointSEI(refresh_on);
            // HEVC's VUI has the H.264 layout (the header defines one as the other).
            apply_vui(&config.color, &mut h.hevcVUIParameters);
        }
        Codec::Av1 => {
            // SAFETY: the union member for the session's codec, the only one the driver reads.
            let a = unsafe { &mut cfg.encodeCodecConfig.av1Config };
            a.idrPeriod = gop;
            a.set_chromaFormatIDC(1);
            let depth = if ten { 2 } else { 0 };
            a.set_inputPixelBitDepthMinus8(depth);
            a.set_pixelBitDepthMinus8(depth);
            // Low-overhead OBUs (what IVF, MP4 and the OBU sink carry), a sequence header on
            // every keyframe so each one starts a decodable stream.
            a.set_outputAnnexBFormat(0);
            a.set_disableSeqHdr(0);
            a.set_repeatSeqHdr(1);
            a.set_enableIntraRefresh(refresh_on);
            a.intraRefreshPeriod = refresh_period;
            a.intraRefreshCnt = refresh_count;
            a.colorPrimaries = vui_primaries(config.color.primaries);
            a.transferCharacteristics = vui_transfer(config.color.transfer);
            a.matrixCoefficients = vui_matrix(config.color.matrix);
            a.colorRange = u32::from(config.color.range == ColorRange::Full);
        }
    }
    Ok(())
}

/// NVENC's split-frame mode for the config (H.264 has none: always the driver's default).
pub fn split_mode(config: &SessionConfig) -> u32 {
    use nv::_NV_ENC_SPLIT_ENCODE_MODE as S;
    if config.codec == Codec::H264 {
        return S::NV_ENC_SPLIT_AUTO_MODE as u32;
    }
    (match config.split_frame {
        SplitFrame::Auto => S::NV_ENC_SPLIT_AUTO_MODE,
        SplitFrame::Off => S::NV_ENC_SPLIT_DISABLE_MODE,
        SplitFrame::Two => S::NV_ENC_SPLIT_TWO_FORCED_MODE,
        SplitFrame::Three => S::NV_ENC_SPLIT_THREE_FORCED_MODE,
    }) as u32
}

/// `NV_ENC_INITIALIZE_PARAMS` for `config`, pointing at `encode_config` (which must outlive
/// the initialise or reconfigure call it is passed to).
pub fn initialize_params(
    config: &SessionConfig,
    choice: &NvencChoice,
    encode_config: *mut nv::NV_ENC_CONFIG,
) -> nv::NV_ENC_INITIALIZE_PARAMS {
    // A validated config always has these; 0/1 would be refused by the driver, not truncated.
    let (rate_num, rate_den) = config.frame_rate.as_u32_terms().unwrap_or((0, 1));
    let mut p = nv::NV_ENC_INITIALIZE_PARAMS {
        version: nv::NV_ENC_INITIALIZE_PARAMS_VER,
        encodeGUID: choice.codec,
        presetGUID: choice.preset,
        encodeWidth: config.width,
        encodeHeight: config.height,
        // Square pixels.
        darWidth: config.width,
        darHeight: config.height,
        frameRateNum: rate_num,
        frameRateDen: rate_den,
        // Linux has no completion events: output is waited for in nvEncLockBitstream.
        enableEncodeAsync: 0,
        // The driver decides picture types (keyframes, B-frames) from the config.
        enablePTD: 1,
        encodeConfig: encode_config,
        maxEncodeWidth: config.width,
        maxEncodeHeight: config.height,
        tuningInfo: choice.tuning,
        ..Default::default()
    };
    p.set_splitEncodeMode(split_mode(config));
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hdr::{HdrMetadata, MasteringDisplay};
    use crate::time::Rational;
    use nv::NV_ENC_PARAMS_RC_MODE as M;

    fn cfg(codec: Codec) -> SessionConfig {
        SessionConfig::new(codec, 1920, 1080, Rational::new(60, 1))
    }

    /// What the driver's preset would hand back, reduced to what the mapping must override:
    /// B-frames on, lookahead on, a GOP of 250, the wrong profile.
    fn preset_like() -> nv::NV_ENC_CONFIG {
        let mut c = nv::NV_ENC_CONFIG {
            gopLength: 250,
            frameIntervalP: 3,
            ..Default::default()
        };
        c.rcParams.set_enableLookahead(1);
        c.rcParams.lookaheadDepth = 16;
        c.profileGUID = nv::NV_ENC_CODEC_PROFILE_AUTOSELECT_GUID;
        c
    }

    /// An AV1 configuration's colour code points: primaries, transfer, matrix, range.
    fn av1_colour(a: &nv::NV_ENC_CONFIG_AV1) -> (u32, u32, u32, u32) {
        (
            a.colorPrimaries as u32,
            a.transferCharacteristics as u32,
            a.matrixCoefficients as u32,
            a.colorRange,
        )
    }

    fn mapped(config: &SessionConfig) -> (NvencChoice, nv::NV_ENC_CONFIG) {
        config.validate().expect("a valid test config");
        let choice = NvencChoice::for_config(config).unwrap();
        let mut c = preset_like();
        apply_config(config, &choice, &mut c).unwrap();
        (choice, c)
    }

    #[test]
    fn guids_follow_codec_preset_and_tuning() {
        let presets = [
            (Preset::P1, nv::NV_ENC_PRESET_P1_GUID),
            (Preset::P2, nv::NV_ENC_PRESET_P2_GUID),
            (Preset::P3, nv::NV_ENC_PRESET_P3_GUID),
            (Preset::P4, nv::NV_ENC_PRESET_P4_GUID),
            (Preset::P5, nv::NV_ENC_PRESET_P5_GUID),
            (Preset::P6, nv::NV_ENC_PRESET_P6_GUID),
            (Preset::P7, nv::NV_ENC_PRESET_P7_GUID),
        ];
        let guids: std::collections::HashSet<_> =
            presets.iter().map(|(_, g)| format!("{g:?}")).collect();
        assert_eq!(guids.len(), 7, "seven distinct preset GUIDs");
        for (codec, guid) in [
            (Codec::H264, nv::NV_ENC_CODEC_H264_GUID),
            (Codec::Hevc, nv::NV_ENC_CODEC_HEVC_GUID),
            (Codec::Av1, nv::NV_ENC_CODEC_AV1_GUID),
        ] {
            for (preset, preset_guid) in presets {
                for (tuning, info) in [
                    (Tuning::HighQuality, 1),
                    (Tuning::LowLatency, 2),
                    (Tuning::UltraLowLatency, 3),
                ] {
                    let mut c = cfg(codec);
                    c.preset = preset;
                    c.tuning = tuning;
                    let choice = NvencChoice::for_config(&c).unwrap();
                    assert_eq!(choice.codec, guid);
                    assert_eq!(choice.preset, preset_guid);
                    assert_eq!(choice.tuning as u32, info, "tuning values of the header");
                    let init = initialize_params(&c, &choice, std::ptr::null_mut());
                    assert_eq!(init.encodeGUID, guid);
                    assert_eq!(init.presetGUID, preset_guid);
                    assert_eq!(init.tuningInfo as u32, info);
                }
            }
        }
        // The first preset GUID's published value: {FC0A8D3E-45F8-4CF8-80C7-298871590EBF}.
        let p1 = nv::NV_ENC_PRESET_P1_GUID;
        assert_eq!(
            (p1.Data1, p1.Data2, p1.Data3),
            (0xFC0A_8D3E, 0x45F8, 0x4CF8)
        );
    }

    #[test]
    fn initialize_params_carry_size_rate_and_synchronous_ptd() {
        let mut c = cfg(Codec::Hevc);
        c.frame_rate = Rational::new(30000, 1001);
        let choice = NvencChoice::for_config(&c).unwrap();
        let mut enc = preset_like();
        let init = initialize_params(&c, &choice, &raw mut enc);
        assert_eq!(init.version, nv::NV_ENC_INITIALIZE_PARAMS_VER);
        assert_eq!((init.encodeWidth, init.encodeHeight), (1920, 1080));
        assert_eq!((init.darWidth, init.darHeight), (1920, 1080));
        assert_eq!((init.maxEncodeWidth, init.maxEncodeHeight), (1920, 1080));
        assert_eq!((init.frameRateNum, init.frameRateDen), (30000, 1001));
        assert_eq!((init.enableEncodeAsync, init.enablePTD), (0, 1));
        assert_eq!(init.encodeConfig, &raw mut enc);
        assert_eq!(init.splitEncodeMode(), 0, "auto");
        assert_eq!(init.bufferFormat as u32, 0, "D3D12 only: left undefined");
    }

    #[test]
    fn split_frame_modes_are_the_headers_and_h264_stays_auto() {
        for (split, mode) in [
            (SplitFrame::Auto, 0),
            (SplitFrame::Off, 15),
            (SplitFrame::Two, 2),
            (SplitFrame::Three, 3),
        ] {
            let mut c = cfg(Codec::Av1);
            c.split_frame = split;
            let choice = NvencChoice::for_config(&c).unwrap();
            let init = initialize_params(&c, &choice, std::ptr::null_mut());
            assert_eq!(init.splitEncodeMode(), mode, "{split:?}");
        }
        let mut c = cfg(Codec::H264);
        c.split_frame = SplitFrame::Off;
        assert_eq!(split_mode(&c), 0);
    }

    #[test]
    fn cbr_low_latency_h264() {
        let mut c = cfg(Codec::H264);
        c.rate_control = RateControl::Cbr { bitrate: 6_000_000 };
        c.keyframe_interval = KeyframeInterval::Frames(120);
        let (choice, e) = mapped(&c);
        assert_eq!(choice.profile, nv::NV_ENC_H264_PROFILE_HIGH_GUID);
        assert_eq!(
            choice.buffer_format,
            nv::NV_ENC_BUFFER_FORMAT::NV_ENC_BUFFER_FORMAT_NV12
        );
        assert_eq!(choice.input_format, PixelFormat::Nv12);
        assert_eq!(e.version, nv::NV_ENC_CONFIG_VER);
        assert_eq!(e.profileGUID, nv::NV_ENC_H264_PROFILE_HIGH_GUID);
        assert_eq!((e.gopLength, e.frameIntervalP), (120, 1));
        let rc = &e.rcParams;
        assert_eq!(rc.version, nv::NV_ENC_RC_PARAMS_VER);
        assert_eq!(rc.rateControlMode, M::NV_ENC_PARAMS_RC_CBR);
        assert_eq!((rc.averageBitRate, rc.maxBitRate), (6_000_000, 6_000_000));
        // Low latency: a VBV of one second at the peak rate, the decoder starting full.
        assert_eq!(
            (rc.vbvBufferSize, rc.vbvInitialDelay),
            (6_000_000, 6_000_000)
        );
        assert_eq!(
            (
                rc.enableLookahead(),
                rc.lookaheadDepth,
                rc.zeroReorderDelay()
            ),
            (0, 0, 1)
        );
        // SAFETY: the H.264 member is the one written for an H.264 config.
        let h = unsafe { &e.encodeCodecConfig.h264Config };
        assert_eq!(h.idrPeriod, 120);
        assert_eq!((h.chromaFormatIDC, h.repeatSPSPPS()), (1, 1));
        assert_eq!((h.enableIntraRefresh(), h.outputRecoveryPointSEI()), (0, 0));
        assert_eq!(h.qpPrimeYZeroTransformBypassFlag(), 0);
        let v = &h.h264VUIParameters;
        assert_eq!(
            (
                v.videoSignalTypePresentFlag,
                v.videoFullRangeFlag,
                v.colourDescriptionPresentFlag
            ),
            (1, 0, 1)
        );
        assert_eq!(
            (
                v.colourPrimaries as u32,
                v.transferCharacteristics as u32,
                v.colourMatrix as u32
            ),
            (1, 1, 1),
            "BT.709 code points"
        );
    }

    #[test]
    fn ultra_low_latency_vbv_is_one_frame() {
        let mut c = cfg(Codec::Hevc);
        c.tuning = Tuning::UltraLowLatency;
        c.rate_control = RateControl::Cbr { bitrate: 6_000_000 };
        let (_, e) = mapped(&c);
        assert_eq!(e.rcParams.vbvBufferSize, 100_000);
        assert_eq!(e.frameIntervalP, 1);
    }

    #[test]
    fn vbr_high_quality_keeps_the_presets_b_frames_and_lookahead() {
        let mut c = cfg(Codec::Hevc);
        c.tuning = Tuning::HighQuality;
        c.rate_control = RateControl::Vbr {
            target: 8_000_000,
            max: 12_000_000,
        };
        c.vbv_buffer_bits = Some(9_000_000);
        let (_, e) = mapped(&c);
        assert_eq!(e.frameIntervalP, 3, "the preset's IBBP stays");
        let rc = &e.rcParams;
        assert_eq!(rc.rateControlMode, M::NV_ENC_PARAMS_RC_VBR);
        assert_eq!((rc.averageBitRate, rc.maxBitRate), (8_000_000, 12_000_000));
        assert_eq!(
            (rc.vbvBufferSize, rc.vbvInitialDelay),
            (9_000_000, 9_000_000)
        );
        assert_eq!((rc.enableLookahead(), rc.lookaheadDepth), (1, 16));
        assert_eq!(rc.zeroReorderDelay(), 0);
    }

    #[test]
    fn constant_qp_sets_all_three_qps_and_no_rates() {
        for (codec, qp) in [(Codec::H264, 23), (Codec::Hevc, 30), (Codec::Av1, 120)] {
            let mut c = cfg(codec);
            c.rate_control = RateControl::Cqp { qp };
            let (_, e) = mapped(&c);
            let rc = &e.rcParams;
            assert_eq!(rc.rateControlMode, M::NV_ENC_PARAMS_RC_CONSTQP);
            assert_eq!(
                (rc.constQP.qpInterP, rc.constQP.qpInterB, rc.constQP.qpIntra),
                (qp, qp, qp)
            );
            assert_eq!(
                (rc.averageBitRate, rc.maxBitRate, rc.vbvBufferSize),
                (0, 0, 0)
            );
        }
    }

    #[test]
    fn constant_quality_is_vbr_with_a_target_quality_and_no_rates() {
        for (codec, quality) in [(Codec::H264, 23), (Codec::Hevc, 51), (Codec::Av1, 1)] {
            let mut c = cfg(codec);
            c.rate_control = RateControl::Cq { quality };
            let (_, e) = mapped(&c);
            let rc = &e.rcParams;
            assert_eq!(rc.rateControlMode, M::NV_ENC_PARAMS_RC_VBR, "{codec}");
            assert_eq!(
                (u32::from(rc.targetQuality), rc.targetQualityLSB),
                (quality, 0),
                "{codec}"
            );
            assert_eq!(
                (
                    rc.averageBitRate,
                    rc.maxBitRate,
                    rc.vbvBufferSize,
                    rc.vbvInitialDelay
                ),
                (0, 0, 0, 0),
                "{codec}"
            );
        }
        // AV1 takes CRF up to 63 on SVT-AV1; NVENC's documented range stops at 51.
        let mut c = cfg(Codec::Av1);
        c.rate_control = RateControl::Cq { quality: 52 };
        c.validate().unwrap();
        let choice = NvencChoice::for_config(&c).unwrap();
        let e = apply_config(&c, &choice, &mut preset_like()).unwrap_err();
        assert!(
            matches!(&e, NvencError::Unsupported { what, .. } if what == "constant quality 52"),
            "{e}"
        );
        assert!(e.to_string().contains("1 to 51"), "{e}");
    }

    #[test]
    fn infinite_gop_with_intra_refresh_on_every_codec() {
        for codec in Codec::ALL {
            let mut c = cfg(codec);
            c.keyframe_interval = KeyframeInterval::Infinite;
            c.intra_refresh_frames = Some(60);
            let (_, e) = mapped(&c);
            assert_eq!((e.gopLength, e.frameIntervalP), (0xffff_ffff, 1));
            // SAFETY: each arm reads the member written for that codec.
            let (idr, on, period, count) = unsafe {
                match codec {
                    Codec::H264 => {
                        let h = &e.encodeCodecConfig.h264Config;
                        assert_eq!(h.outputRecoveryPointSEI(), 1);
                        (
                            h.idrPeriod,
                            h.enableIntraRefresh(),
                            h.intraRefreshPeriod,
                            h.intraRefreshCnt,
                        )
                    }
                    Codec::Hevc => {
                        let h = &e.encodeCodecConfig.hevcConfig;
                        assert_eq!(h.outputRecoveryPointSEI(), 1);
                        (
                            h.idrPeriod,
                            h.enableIntraRefresh(),
                            h.intraRefreshPeriod,
                            h.intraRefreshCnt,
                        )
                    }
                    Codec::Av1 => {
                        let a = &e.encodeCodecConfig.av1Config;
                        (
                            a.idrPeriod,
                            a.enableIntraRefresh(),
                            a.intraRefreshPeriod,
                            a.intraRefreshCnt,
                        )
                    }
                }
            };
            assert_eq!(
                (idr, on, period, count),
                (0xffff_ffff, 1, 60, 59),
                "{codec}"
            );
        }
    }

    #[test]
    fn infinite_gop_forces_ippp_even_in_high_quality() {
        let mut c = cfg(Codec::Av1);
        c.tuning = Tuning::HighQuality;
        c.keyframe_interval = KeyframeInterval::Infinite;
        let (_, e) = mapped(&c);
        assert_eq!(e.frameIntervalP, 1);
    }

    #[test]
    fn ten_bit_hdr10_hevc_and_av1() {
        for codec in [Codec::Hevc, Codec::Av1] {
            let mut c = cfg(codec);
            c.bit_depth = BitDepth::Ten;
            c.color = ColorDescription::HDR10;
            c.hdr_metadata = Some(HdrMetadata {
                display: MasteringDisplay::BT2020_1000_NITS,
                light: None,
            });
            let (choice, e) = mapped(&c);
            assert_eq!(
                choice.buffer_format,
                nv::NV_ENC_BUFFER_FORMAT::NV_ENC_BUFFER_FORMAT_YUV420_10BIT
            );
            assert_eq!(choice.input_format, PixelFormat::P010);
            if codec == Codec::Hevc {
                assert_eq!(e.profileGUID, nv::NV_ENC_HEVC_PROFILE_MAIN10_GUID);
                // SAFETY: the HEVC member is the one written.
                let h = unsafe { &e.encodeCodecConfig.hevcConfig };
                assert_eq!((h.pixelBitDepthMinus8(), h.chromaFormatIDC()), (2, 1));
                let v = &h.hevcVUIParameters;
                assert_eq!(
                    (
                        v.colourPrimaries as u32,
                        v.transferCharacteristics as u32,
                        v.colourMatrix as u32
                    ),
                    (9, 16, 9),
                    "BT.2020, PQ, BT.2020 NCL"
                );
            } else {
                assert_eq!(e.profileGUID, nv::NV_ENC_AV1_PROFILE_MAIN_GUID);
                // SAFETY: the AV1 member is the one written.
                let a = unsafe { &e.encodeCodecConfig.av1Config };
                assert_eq!(
                    (a.inputPixelBitDepthMinus8(), a.pixelBitDepthMinus8()),
                    (2, 2)
                );
                assert_eq!(
                    (a.outputAnnexBFormat(), a.disableSeqHdr(), a.repeatSeqHdr()),
                    (0, 0, 1)
                );
                assert_eq!(av1_colour(a), (9, 16, 9, 0));
            }
        }
    }

    #[test]
    fn full_range_srgb_and_p3_code_points() {
        let mut c = cfg(Codec::Av1);
        c.color = ColorDescription {
            matrix: ColorMatrix::Bt601,
            range: ColorRange::Full,
            transfer: TransferFunction::Srgb,
            primaries: ColorPrimaries::DisplayP3,
        };
        let (_, e) = mapped(&c);
        // SAFETY: the AV1 member is the one written.
        let a = unsafe { &e.encodeCodecConfig.av1Config };
        assert_eq!(av1_colour(a), (12, 13, 6, 1));
    }

    #[test]
    fn lossless_h264_uses_transform_bypass_and_hevc_main() {
        let mut c = cfg(Codec::H264);
        c.tuning = Tuning::Lossless;
        c.rate_control = RateControl::Cqp { qp: 0 };
        let (choice, e) = mapped(&c);
        assert_eq!(choice.tuning as u32, 4);
        assert_eq!(e.profileGUID, nv::NV_ENC_H264_PROFILE_HIGH_444_GUID);
        // SAFETY: the H.264 member is the one written.
        let h = unsafe { &e.encodeCodecConfig.h264Config };
        assert_eq!(h.qpPrimeYZeroTransformBypassFlag(), 1);
        assert_eq!(e.rcParams.constQP.qpIntra, 0);
        c.codec = Codec::Hevc;
        let (choice, _) = mapped(&c);
        assert_eq!(choice.profile, nv::NV_ENC_HEVC_PROFILE_MAIN_GUID);
    }

    #[test]
    fn what_nvenc_cannot_do_is_refused_by_name() {
        let mut c = cfg(Codec::H264);
        c.bit_depth = BitDepth::Ten;
        let e = NvencChoice::for_config(&c).unwrap_err();
        assert!(e.to_string().contains("10-bit H.264"), "{e}");
        let mut c = cfg(Codec::Av1);
        c.tuning = Tuning::Lossless;
        c.rate_control = RateControl::Cqp { qp: 0 };
        let e = NvencChoice::for_config(&c).unwrap_err();
        assert!(e.to_string().contains("lossless AV1"), "{e}");
        let mut c = cfg(Codec::Hevc);
        c.vbv_buffer_bits = Some(5_000_000_000);
        let choice = NvencChoice::for_config(&c).unwrap();
        let e = apply_config(&c, &choice, &mut preset_like()).unwrap_err();
        assert!(e.to_string().contains("vbv_buffer_bits 5000000000"), "{e}");
    }
}
