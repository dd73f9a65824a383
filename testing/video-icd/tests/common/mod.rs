//! What the driver's loader tests share: finding the built driver library, and skipping.
#![allow(dead_code)]

pub mod engine;
pub mod ffmpeg;
pub mod tables;
pub mod vulkan;

use std::path::PathBuf;

use ghoststream_video_icd::LIBRARY_FILE;

/// The driver library cargo built for this test: the crate's library target is built with
/// both its crate types (rlib and cdylib) before the test links the rlib, and both land in
/// `target/<profile>/deps/`, beside this test binary. (The copy in `target/<profile>/` is
/// refreshed only by a `cargo build` of the crate itself, so it may be stale.)
pub fn library() -> Option<PathBuf> {
    // Under a dynamic-loader runner (.ci/with-vvl-trixie) the process's executable is the
    // loader; argv[0] still names the test binary.
    let argv0 = std::env::args_os().next().map(PathBuf::from);
    [std::env::current_exe().ok(), argv0]
        .into_iter()
        .flatten()
        .filter_map(|exe| Some(exe.parent()?.join(LIBRARY_FILE)))
        .find(|lib| lib.exists())
}

/// Fails under GHOSTSTREAM_REQUIRE_GPU, otherwise prints why the test is skipped.
pub fn skip(reason: &str) {
    if std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_some() {
        panic!("GHOSTSTREAM_REQUIRE_GPU is set but {reason}");
    }
    eprintln!("SKIPPED: {reason}; set GHOSTSTREAM_REQUIRE_GPU=1 to make this a failure");
}

/// The driver installed for this process: its manifest written into a temporary directory
/// that names the built library, and the loader's environment pointing at it (with the call
/// log beside it). `None`, after [`skip`], without the library. Call it before any Vulkan call
/// from the only test of its binary: the loader reads the environment when it first scans.
pub struct InstalledDriver {
    /// The temporary directory (kept for the test's length).
    pub dir: tempfile::TempDir,
    /// The call log the driver writes (`GHOSTSTREAM_ICD_LOG`).
    pub log: PathBuf,
}

/// Installs the driver (see [`InstalledDriver`]).
pub fn install_driver() -> Option<InstalledDriver> {
    let Some(lib) = library() else {
        skip(&format!("no {LIBRARY_FILE} beside the test binary"));
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("ghoststream_video_icd.json");
    std::fs::write(&manifest, ghoststream_video_icd::manifest_json(&lib)).unwrap();
    let log = dir.path().join("calls.log");
    // The loader reads VK_DRIVER_FILES (VK_ICD_FILENAMES is its older name).
    std::env::set_var("VK_DRIVER_FILES", &manifest);
    std::env::set_var("VK_ICD_FILENAMES", &manifest);
    std::env::set_var(ghoststream_video_icd::log::LOG_ENV, &log);
    Some(InstalledDriver { dir, log })
}
