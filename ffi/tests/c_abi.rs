//! The C ABI as C sees it: the checked-in header is what cbindgen generates now, and
//! `tests/abi.c` — every function, with NULLs, wrong sizes, bad enums and dead handles, a
//! 30-frame CPU encode, a replay save and a 10-frame DMA-BUF encode on the engine's Vulkan
//! device — built with gcc -std=c11 -Wall -Wextra -Werror under AddressSanitizer (leak
//! checking on) and UndefinedBehaviorSanitizer, runs clean; ffmpeg decodes what it wrote.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::process::Command;

use support::{
    bt709_limited, build_c_test, check, check_flat_frames, crate_dir, library_dir, sanitized,
    soname_dir, SANITIZERS,
};

#[test]
fn the_checked_in_header_is_what_cbindgen_generates() {
    let config = cbindgen::Config::from_file(crate_dir().join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::generate_with_config(crate_dir(), config)
        .expect("cbindgen reads ffi/src")
        .write(&mut generated);
    let path = crate_dir().join("include/ghoststream.h");
    if std::env::var_os("GHOSTSTREAM_WRITE_HEADER").is_some() {
        std::fs::write(&path, &generated).unwrap();
        eprintln!("wrote {}", path.display());
    }
    let checked_in = std::fs::read(&path).unwrap();
    assert!(
        generated == checked_in,
        "ffi/include/ghoststream.h is stale: run `make header` and commit it"
    );
}

#[test]
fn the_c_test_program_passes_under_the_sanitizers_and_its_streams_decode() {
    let lib = library_dir();
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("abi");
    let flags: Vec<&str> = ["-O1"].into_iter().chain(SANITIZERS).collect();
    build_c_test("abi.c", &flags, &exe);
    let run_dir = soname_dir(&lib, dir.path());
    let (stream, replay, dmabuf) = (
        dir.path().join("abi.h264"),
        dir.path().join("replay.mkv"),
        dir.path().join("dmabuf.h264"),
    );
    let recordings = dir.path().join("recorder");
    std::fs::create_dir(&recordings).unwrap();
    let run = sanitized(
        Command::new(&exe).args([&stream, &replay, &dmabuf, &recordings]),
        &run_dir,
    );
    check("the C test", &run);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("abi: all checks held; cpu packets 30;"),
        "{stdout}"
    );
    assert!(stdout.contains("; recorder packets 45\n"), "{stdout}");
    assert_eq!(common::probe_frames(&stream).len(), 30);
    // The replay buffer held all 30 frames (one second, whole GOPs from frame 0).
    assert_eq!(common::probe_frames(&replay).len(), 30);
    check_recordings(&recordings);

    if stdout.contains("dmabuf packets -1") {
        assert!(
            std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_none(),
            "GHOSTSTREAM_REQUIRE_GPU is set but the DMA-BUF part was skipped: {stdout}"
        );
        eprintln!("SKIPPED the DMA-BUF part: {stdout}");
        return;
    }
    assert!(stdout.contains("dmabuf packets 10"), "{stdout}");
    // Ten frames of RGB (200, 60, 30), converted on the GPU: every plane's mean is the
    // float64 BT.709 value within 1.5 code values.
    let yuv = common::decode_raw(&dmabuf, "yuv420p");
    check_flat_frames(&yuv, 64, 48, 10, |_| bt709_limited(200.0, 60.0, 30.0));
}

/// What the recorder part of `abi.c` wrote: the whole recording; three replay saves, each from
/// a key frame (one named by the program, two by the time); the stats lines; and the file of a
/// recorder destroyed while it ran, finished.
fn check_recordings(dir: &std::path::Path) {
    let frames = common::probe_frames(&dir.join("rec.mkv"));
    assert_eq!(frames.len(), 45);
    assert_eq!((frames[0].width, frames[0].height), (160, 96));
    let keys: Vec<usize> = frames
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.key.then_some(i))
        .collect();
    assert!(keys.starts_with(&[0, 15]), "a key frame every 15: {keys:?}");
    let mut replays: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("Replay_") || name == "named.mkv"
        })
        .collect();
    replays.sort();
    assert_eq!(replays.len(), 3, "{replays:?}");
    for r in &replays {
        let frames = common::probe_frames(r);
        assert!(
            frames.len() >= 15 && frames[0].key,
            "{}: {} frames",
            r.display(),
            frames.len()
        );
    }
    let stats = std::fs::read_to_string(dir.join("rec.jsonl")).unwrap();
    assert_eq!(stats.lines().count(), 46, "a line per frame and a summary");
    let destroyed = common::probe_frames(&dir.join("destroyed.mkv"));
    assert!(
        destroyed.len() >= 5 && destroyed[0].key,
        "{}",
        destroyed.len()
    );
}
