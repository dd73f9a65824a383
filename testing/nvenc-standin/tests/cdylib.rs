//! The built STAND-IN library opened as the backend opens NVIDIA's (by the name
//! `libnvidia-encode.so.1`, through a link in a directory of its own): both exported symbols,
//! the version, every table entry the backend takes, and its log file, whose first line says
//! it is a stand-in. Without libcuda (CI) a session cannot open: the driver's CUDA is what the
//! cdylib uses, and its refusal names the context.

use std::ffi::{c_void, CStr};
use std::path::PathBuf;

use ghoststream_nvenc_standin::{log, status as st, LIBRARY_FILE};
use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

/// A log line without its ` [N us]` timing.
fn untimed(line: &str) -> String {
    match (line.find(" ["), line.find(" us]")) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &line[..a], &line[b + 4..]),
        _ => line.to_string(),
    }
}

fn library() -> Option<PathBuf> {
    // Under a dynamic-loader runner (.ci/with-vvl-trixie) the executable is the loader; argv[0]
    // still names the test binary.
    let argv0 = std::env::args_os().next().map(PathBuf::from);
    [std::env::current_exe().ok(), argv0]
        .into_iter()
        .flatten()
        .filter_map(|exe| Some(exe.parent()?.join(LIBRARY_FILE)))
        .find(|lib| lib.exists())
}

#[test]
fn the_cdylib_stands_in_for_libnvidia_encode() {
    let Some(built) = library() else {
        panic!("no {LIBRARY_FILE} beside the test binary");
    };
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("libnvidia-encode.so.1");
    std::os::unix::fs::symlink(&built, &link).unwrap();
    let log_path = dir.path().join("standin.log");
    std::env::set_var(log::LOG_ENV, &log_path);
    std::env::remove_var(ghoststream_nvenc_standin::fault::FAULT_ENV);

    type MaxVersion = unsafe extern "C" fn(*mut u32) -> u32;
    type CreateInstance = unsafe extern "C" fn(*mut nv::NV_ENCODE_API_FUNCTION_LIST) -> u32;
    // SAFETY: the stand-in's library; its initialisers have no preconditions.
    let lib = unsafe { libloading::Library::new(&link) }.unwrap();
    // SAFETY: the symbols have these signatures (src/ffi.rs).
    let (max, create) = unsafe {
        let max: libloading::Symbol<MaxVersion> =
            lib.get(b"NvEncodeAPIGetMaxSupportedVersion\0").unwrap();
        let create: libloading::Symbol<CreateInstance> =
            lib.get(b"NvEncodeAPICreateInstance\0").unwrap();
        (*max, *create)
    };
    let mut version = 0;
    // SAFETY: one u32 to write.
    assert_eq!(unsafe { max(&raw mut version) }, st::SUCCESS);
    assert_eq!(version, (12 << 4) | 1, "12.1");
    let mut list = nv::NV_ENCODE_API_FUNCTION_LIST {
        version: nv::NV_ENCODE_API_FUNCTION_LIST_VER,
        ..Default::default()
    };
    // SAFETY: a zeroed table with its version.
    assert_eq!(unsafe { create(&raw mut list) }, st::SUCCESS);
    // Every entry the backend's loader takes (src/encode/nvenc/loader.rs).
    let taken = [
        list.nvEncOpenEncodeSessionEx.is_some(),
        list.nvEncDestroyEncoder.is_some(),
        list.nvEncGetLastErrorString.is_some(),
        list.nvEncGetEncodeGUIDCount.is_some(),
        list.nvEncGetEncodeGUIDs.is_some(),
        list.nvEncGetEncodeCaps.is_some(),
        list.nvEncGetEncodePresetConfigEx.is_some(),
        list.nvEncInitializeEncoder.is_some(),
        list.nvEncReconfigureEncoder.is_some(),
        list.nvEncCreateBitstreamBuffer.is_some(),
        list.nvEncDestroyBitstreamBuffer.is_some(),
        list.nvEncEncodePicture.is_some(),
        list.nvEncLockBitstream.is_some(),
        list.nvEncUnlockBitstream.is_some(),
        list.nvEncMapInputResource.is_some(),
        list.nvEncUnmapInputResource.is_some(),
        list.nvEncRegisterResource.is_some(),
        list.nvEncUnregisterResource.is_some(),
        list.nvEncInvalidateRefFrames.is_some(),
        list.nvEncSetIOCudaStreams.is_some(),
    ];
    assert!(taken.iter().all(|t| *t), "{taken:?}");
    assert!(
        list.nvEncOpenEncodeSession.is_none(),
        "the old open is not modelled"
    );

    // A NULL context is refused before CUDA is asked anything about it.
    let mut p = nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS {
        version: nv::NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER,
        deviceType: nv::NV_ENC_DEVICE_TYPE::NV_ENC_DEVICE_TYPE_CUDA,
        apiVersion: nv::NVENCAPI_VERSION,
        ..Default::default()
    };
    let mut enc: *mut c_void = std::ptr::null_mut();
    // SAFETY: valid pointers.
    let s = unsafe { (list.nvEncOpenEncodeSessionEx.unwrap())(&raw mut p, &raw mut enc) } as u32;
    assert_eq!(s, st::INVALID_DEVICE);
    // SAFETY: the handle returned with the failure; NUL-terminated text.
    let text = unsafe { CStr::from_ptr((list.nvEncGetLastErrorString.unwrap())(enc)) }
        .to_string_lossy()
        .into_owned();
    assert!(
        text.contains("device 0x0 is not a valid CUcontext"),
        "{text}"
    );
    // SAFETY: the handle returned with the failure, destroyed once.
    let destroyed = unsafe { (list.nvEncDestroyEncoder.unwrap())(enc) } as u32;
    assert_eq!(destroyed, st::SUCCESS);

    let written = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<String> = written.lines().map(untimed).collect();
    assert!(lines[0].starts_with(log::HEADER), "{written}");
    assert!(
        lines[1].contains("NvEncodeAPIGetMaxSupportedVersion -> NV_ENC_SUCCESS (0): 0xc1 (12.1)"),
        "{written}"
    );
    assert!(
        lines[2].contains("NvEncodeAPICreateInstance -> NV_ENC_SUCCESS (0)"),
        "{written}"
    );
    assert!(
        lines[3].starts_with("VIOLATION ") && lines[3].contains("nvEncOpenEncodeSessionEx -> NV_ENC_ERR_INVALID_DEVICE (4): device 0x0 is not a valid CUcontext"),
        "{written}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .contains("nvEncDestroyEncoder -> NV_ENC_SUCCESS"),
        "{written}"
    );
    // The rlib linked into this test saw none of it: the cdylib has its own state.
    assert!(log::records(enc).is_empty());
}
