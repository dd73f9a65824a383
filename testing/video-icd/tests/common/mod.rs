//! What the driver's loader tests share: finding the built driver library, and skipping.

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
