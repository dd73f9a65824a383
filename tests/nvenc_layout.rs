//! The NVENC structures GhostStream fills have the layout and version numbers of NVIDIA's own
//! header: a C program compiled against the official `nvEncodeAPI.h` (shipped in the
//! nvidia-video-codec-sdk crate's sources) prints `sizeof`, `offsetof` and the `_VER` macros,
//! and each is compared with what the Rust bindings say. Runs on CI (needs only a C compiler);
//! a bindings mistake shows up here, not as a driver error on someone's GPU. The C program and
//! the comparison are tests/vk_layout's, shared with the Vulkan layout tests.

// Only the C program and the comparison are used here, not the Vulkan field lists.
#[allow(dead_code, unused_macros)]
mod vk_layout;

use std::mem::{offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;

use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;
use vk_layout::{int, Check};

/// The official header, found through cargo's own view of the dependency graph.
fn header() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = String::from_utf8(out.stdout).unwrap();
    let key = "nvidia-video-codec-sdk-0.4.0/Cargo.toml";
    let end = json
        .find(key)
        .expect("the nvidia-video-codec-sdk package in cargo metadata")
        + key.len();
    let start = json[..end].rfind('"').unwrap() + 1;
    let manifest = PathBuf::from(&json[start..end]);
    let h = manifest
        .parent()
        .unwrap()
        .join("src/sys/headers/nvEncodeAPI.h");
    assert!(h.is_file(), "no header at {}", h.display());
    h
}

macro_rules! size {
    ($list:ident, $ty:ident) => {
        int(
            &mut $list,
            format!("sizeof({})", stringify!($ty)),
            size_of::<nv::$ty>(),
        );
    };
}

macro_rules! offsets {
    ($list:ident, $ty:ident, [$($field:ident),+ $(,)?]) => {
        size!($list, $ty);
        $(
            int(
                &mut $list,
                format!("offsetof({}, {})", stringify!($ty), stringify!($field)),
                offset_of!(nv::$ty, $field),
            );
        )+
    };
}

macro_rules! versions {
    ($list:ident, [$($ver:ident),+ $(,)?]) => {
        $( int(&mut $list, stringify!($ver).to_string(), nv::$ver); )+
    };
}

fn checks() -> Vec<Check> {
    let mut v = Vec::new();
    offsets!(
        v,
        NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS,
        [deviceType, device, apiVersion]
    );
    offsets!(
        v,
        NV_ENC_INITIALIZE_PARAMS,
        [
            encodeGUID,
            presetGUID,
            encodeWidth,
            encodeHeight,
            darWidth,
            frameRateNum,
            frameRateDen,
            enableEncodeAsync,
            enablePTD,
            privDataSize,
            privData,
            encodeConfig,
            maxEncodeWidth,
            maxEncodeHeight,
            tuningInfo,
            bufferFormat,
            numStateBuffers,
        ]
    );
    offsets!(
        v,
        NV_ENC_CONFIG,
        [
            profileGUID,
            gopLength,
            frameIntervalP,
            monoChromeEncoding,
            frameFieldMode,
            rcParams,
            encodeCodecConfig
        ]
    );
    offsets!(
        v,
        NV_ENC_RC_PARAMS,
        [
            rateControlMode,
            constQP,
            averageBitRate,
            maxBitRate,
            vbvBufferSize,
            vbvInitialDelay,
            minQP,
            maxQP,
            initialRCQP,
            targetQuality,
            lookaheadDepth,
            lowDelayKeyFrameScale,
            qpMapMode,
            multiPass,
        ]
    );
    offsets!(
        v,
        NV_ENC_CONFIG_H264,
        [
            level,
            idrPeriod,
            intraRefreshPeriod,
            intraRefreshCnt,
            maxNumRefFrames,
            h264VUIParameters,
            chromaFormatIDC
        ]
    );
    offsets!(
        v,
        NV_ENC_CONFIG_H264_VUI_PARAMETERS,
        [
            videoSignalTypePresentFlag,
            videoFormat,
            videoFullRangeFlag,
            colourDescriptionPresentFlag,
            colourPrimaries,
            transferCharacteristics,
            colourMatrix
        ]
    );
    offsets!(
        v,
        NV_ENC_CONFIG_HEVC,
        [
            level,
            tier,
            idrPeriod,
            intraRefreshPeriod,
            intraRefreshCnt,
            hevcVUIParameters
        ]
    );
    offsets!(
        v,
        NV_ENC_CONFIG_AV1,
        [
            idrPeriod,
            intraRefreshPeriod,
            intraRefreshCnt,
            colorPrimaries,
            transferCharacteristics,
            matrixCoefficients,
            colorRange
        ]
    );
    size!(v, NV_ENC_CODEC_CONFIG);
    offsets!(v, NV_ENC_PRESET_CONFIG, [presetCfg]);
    offsets!(v, NV_ENC_RECONFIGURE_PARAMS, [reInitEncodeParams]);
    offsets!(
        v,
        NV_ENC_PIC_PARAMS,
        [
            inputWidth,
            inputHeight,
            inputPitch,
            encodePicFlags,
            frameIdx,
            inputTimeStamp,
            inputDuration,
            inputBuffer,
            outputBitstream,
            completionEvent,
            bufferFmt,
            pictureStruct,
            pictureType,
            codecPicParams,
        ]
    );
    offsets!(
        v,
        NV_ENC_PIC_PARAMS_H264,
        [seiPayloadArrayCnt, seiPayloadArray]
    );
    offsets!(
        v,
        NV_ENC_PIC_PARAMS_HEVC,
        [seiPayloadArrayCnt, seiPayloadArray]
    );
    offsets!(
        v,
        NV_ENC_PIC_PARAMS_AV1,
        [obuPayloadArrayCnt, obuPayloadArray]
    );
    offsets!(v, NV_ENC_SEI_PAYLOAD, [payloadSize, payloadType, payload]);
    offsets!(
        v,
        NV_ENC_LOCK_BITSTREAM,
        [
            outputBitstream,
            frameIdx,
            bitstreamSizeInBytes,
            outputTimeStamp,
            outputDuration,
            bitstreamBufferPtr,
            pictureType
        ]
    );
    offsets!(
        v,
        NV_ENC_REGISTER_RESOURCE,
        [
            resourceType,
            width,
            height,
            pitch,
            resourceToRegister,
            registeredResource,
            bufferFormat,
            bufferUsage
        ]
    );
    offsets!(
        v,
        NV_ENC_MAP_INPUT_RESOURCE,
        [registeredResource, mappedResource, mappedBufferFmt]
    );
    offsets!(v, NV_ENC_CREATE_BITSTREAM_BUFFER, [bitstreamBuffer]);
    offsets!(v, NV_ENC_CAPS_PARAM, [capsToQuery]);
    offsets!(
        v,
        NV_ENCODE_API_FUNCTION_LIST,
        [
            nvEncOpenEncodeSession,
            nvEncGetEncodeCaps,
            nvEncGetEncodePresetConfigEx,
            nvEncInitializeEncoder,
            nvEncCreateBitstreamBuffer,
            nvEncDestroyBitstreamBuffer,
            nvEncEncodePicture,
            nvEncLockBitstream,
            nvEncUnlockBitstream,
            nvEncMapInputResource,
            nvEncUnmapInputResource,
            nvEncDestroyEncoder,
            nvEncInvalidateRefFrames,
            nvEncOpenEncodeSessionEx,
            nvEncRegisterResource,
            nvEncUnregisterResource,
            nvEncReconfigureEncoder,
            nvEncGetLastErrorString,
            nvEncSetIOCudaStreams,
        ]
    );
    versions!(
        v,
        [
            NVENCAPI_VERSION,
            NV_ENCODE_API_FUNCTION_LIST_VER,
            NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER,
            NV_ENC_INITIALIZE_PARAMS_VER,
            NV_ENC_CONFIG_VER,
            NV_ENC_RC_PARAMS_VER,
            NV_ENC_PRESET_CONFIG_VER,
            NV_ENC_RECONFIGURE_PARAMS_VER,
            NV_ENC_PIC_PARAMS_VER,
            NV_ENC_LOCK_BITSTREAM_VER,
            NV_ENC_REGISTER_RESOURCE_VER,
            NV_ENC_MAP_INPUT_RESOURCE_VER,
            NV_ENC_CREATE_BITSTREAM_BUFFER_VER,
            NV_ENC_CAPS_PARAM_VER,
            NVENC_INFINITE_GOPLENGTH,
            NV_ENC_LOCK_INPUT_BUFFER_VER,
        ]
    );
    v
}

#[test]
fn bindings_match_the_official_header() {
    let checks = checks();
    let header = header();
    let values = vk_layout::c_values_of(header.parent().unwrap(), "nvEncodeAPI.h", &checks);
    let wrong = vk_layout::mismatches(&checks, &values);
    eprintln!(
        "{} sizes, offsets and versions compared with {}",
        checks.len(),
        header.display()
    );
    assert!(wrong.is_empty(), "layout differs:\n{}", wrong.join("\n"));
}
