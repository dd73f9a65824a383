//! The Zig interface (zig/ghoststream.zig): its own tests, and a test generated from the
//! recorded ABI layout (tests/abi_layout.txt: every size, offset and constant of its
//! declarations), run against the freshly built library with a Zig toolchain from the
//! `ziglang` wheel (see `.ci/setup`); the files they write are then decoded by ffmpeg.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::process::Command;

use support::{check, crate_dir, library_dir, soname_dir, zig, zig_layout_test};

#[test]
fn the_zig_tests_pass_and_their_files_decode() {
    let Some(zig) = zig() else { return };
    let lib = library_dir();
    let dir = tempfile::tempdir().unwrap();
    let run_dir = soname_dir(&lib, dir.path());
    // The generated test imports ghoststream.zig, whose own tests run with it.
    std::fs::copy(
        crate_dir().join("zig/ghoststream.zig"),
        dir.path().join("ghoststream.zig"),
    )
    .unwrap();
    let root = dir.path().join("layout_test.zig");
    std::fs::write(&root, zig_layout_test()).unwrap();
    let run = Command::new(zig)
        .arg("test")
        .arg(&root)
        .args(["-lc", "-lghoststream", "-L"])
        .arg(&lib)
        .current_dir(dir.path())
        .env("LD_LIBRARY_PATH", &run_dir)
        .env("ZIG_GLOBAL_CACHE_DIR", dir.path().join("zig-cache"))
        .env("ZIG_LOCAL_CACHE_DIR", dir.path().join("zig-cache"))
        .env("SVT_LOG", "1")
        .output()
        .unwrap();
    check("zig test ghoststream.zig", &run);
    // 45 frames of the pattern at 160x96 in Matroska; the replay save kept all of them.
    let frames = common::probe_frames(&dir.path().join("zig-test.mkv"));
    assert_eq!(frames.len(), 45);
    assert_eq!(
        frames.iter().filter(|f| f.key).count(),
        3,
        "a key frame every 15 frames"
    );
    assert_eq!(
        common::probe_frames(&dir.path().join("zig-replay.h264")).len(),
        45
    );
    // The recorder's 45 frames of the pattern, and the replay saved after at least 20 (from
    // the key frame every 15 that covers the buffer: all of them, the first).
    let recorded = common::probe_frames(&dir.path().join("zig-recorder.mkv"));
    assert_eq!(recorded.len(), 45);
    assert_eq!((recorded[0].width, recorded[0].height), (160, 96));
    let replay = common::probe_frames(&dir.path().join("zig-recorder-replay.mkv"));
    assert!(
        replay.len() >= 20 && replay[0].key,
        "{} frames",
        replay.len()
    );
}
