//! The C ABI as C sees it: the checked-in header is what cbindgen generates now, and
//! `tests/abi.c` — every function, with NULLs, wrong sizes, bad enums and dead handles, and a
//! 30-frame encode — built with gcc -std=c11 -Wall -Wextra -Werror under AddressSanitizer
//! (leak checking on) and UndefinedBehaviorSanitizer, runs clean; ffmpeg decodes its output.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the C libraries from the current sources (`cargo test` builds only the crate's test
/// harness, not its cdylib) and returns the directory holding libghoststream.so: the test
/// binary's grandparent, the same target directory and profile.
fn library_dir() -> PathBuf {
    let build = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "ghoststream-ffi", "--lib"])
        .arg("--manifest-path")
        .arg(crate_dir().join("Cargo.toml"))
        .output()
        .expect("cargo runs");
    assert!(
        build.status.success(),
        "building libghoststream failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

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
fn the_c_test_program_passes_under_the_sanitizers_and_its_stream_decodes() {
    let lib = library_dir();
    assert!(
        lib.join("libghoststream.so").exists(),
        "no libghoststream.so in {}",
        lib.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("abi");
    let build = Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-O1"])
        .args(["-fsanitize=address,undefined", "-fno-sanitize-recover=all"])
        .arg("-I")
        .arg(crate_dir().join("include"))
        .arg(crate_dir().join("tests/abi.c"))
        .arg("-L")
        .arg(&lib)
        .arg("-lghoststream")
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("gcc runs");
    assert!(
        build.status.success(),
        "the C test does not build:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    // The executable asks for the soname, libghoststream.so.0, as an installed one would.
    std::os::unix::fs::symlink(
        lib.join("libghoststream.so"),
        dir.path().join("libghoststream.so.0"),
    )
    .unwrap();
    let stream = dir.path().join("abi.h264");
    let run = Command::new(&exe)
        .arg(&stream)
        .env("LD_LIBRARY_PATH", dir.path())
        .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        .env("SVT_LOG", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "the C test failed:\n{stderr}");
    assert!(
        String::from_utf8_lossy(&run.stdout).contains("abi: all checks held; 30 packets written"),
        "{stderr}"
    );
    assert_eq!(common::probe_frames(&stream).len(), 30);
}
