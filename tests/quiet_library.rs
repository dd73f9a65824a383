//! A library prints nothing into its host's stderr: an AV1 encode through the library, in a
//! process whose environment does not set `SVT_LOG`, leaves stderr empty (SVT-AV1 printed its
//! banner and configuration there before the library quieted it).

mod common;

use std::process::Command;

/// Set in the child process that does the encoding.
const CHILD: &str = "GHOSTSTREAM_QUIET_CHILD";

#[test]
fn an_av1_encode_prints_nothing_to_stderr() {
    if std::env::var_os(CHILD).is_some() {
        let config = common::config(ghoststream::Codec::Av1, 128, 96, 30);
        let encoded = common::encode_pattern(&config, 3);
        assert_eq!(encoded.packets.len(), 3);
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "an_av1_encode_prints_nothing_to_stderr",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .env(CHILD, "1")
        .env_remove("SVT_LOG")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "{stdout}");
    assert!(!stderr.contains("Svt["), "SVT-AV1 printed:\n{stderr}");
    assert!(!stdout.contains("Svt["), "SVT-AV1 printed:\n{stdout}");
}
