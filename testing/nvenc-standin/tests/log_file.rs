//! The STAND-IN's log file (its own test binary: the file is chosen once per process): the
//! first line says it is a stand-in, then one line per call and per violation.

mod common;

use common::{st, Fmt, Session};
use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

/// A log line without its ` [N us]` timing.
fn untimed(line: &str) -> String {
    match (line.find(" ["), line.find(" us]")) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &line[..a], &line[b + 4..]),
        _ => line.to_string(),
    }
}

#[test]
fn the_log_file_names_the_stand_in_then_each_call_and_violation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nvenc.log");
    std::env::set_var(ghoststream_nvenc_standin::log::LOG_ENV, &path);
    let s = Session::open(nv::NV_ENC_CODEC_H264_GUID, 320, 240, Fmt::Nv12);
    assert_eq!(s.register(s.alloc_frame()).0, st::ENCODER_NOT_INITIALIZED);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<String> = text.lines().map(untimed).collect();
    assert!(
        lines[0].starts_with(ghoststream_nvenc_standin::log::HEADER),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("STAND-IN"));
    assert!(
        lines[1].starts_with("call session=0x0 ")
            && lines[1].contains("NvEncodeAPICreateInstance -> NV_ENC_SUCCESS (0)"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("nvEncOpenEncodeSessionEx -> NV_ENC_SUCCESS (0): CUDA context"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with("VIOLATION ")
            && lines[3].contains("nvEncRegisterResource -> NV_ENC_ERR_ENCODER_NOT_INITIALIZED (11): the encoder is not initialised"),
        "{}",
        lines[3]
    );
    assert!(
        lines[4].starts_with("call ")
            && lines[4]
                .contains("nvEncRegisterResource -> NV_ENC_ERR_ENCODER_NOT_INITIALIZED (11)")
    );
    assert_eq!(lines.len(), 5, "{text}");
}
