//! The C ABI under threads: `tests/threads.c` — packet accessors on six threads while another
//! releases the packet, flush against destroy (with a third thread receiving), destroy
//! while another thread is blocked in a submit by back-pressure, and a recorder destroyed while
//! other threads poll its events, save its replay, read its stats and stop it — built with gcc -std=c11
//! -Wall -Wextra -Werror twice and run, each run killed after a time limit (no hang passes):
//! under AddressSanitizer + UndefinedBehaviorSanitizer (leaks checked; freed memory is filled,
//! so that a read of a freed handle inside the library, which is not instrumented, shows as a
//! wrong value the program asserts), and under ThreadSanitizer.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{build_c_test, check, crate_dir, library_dir, run_bounded, soname_dir, SANITIZERS};

/// Each run's limit (the program's own alarm() is at 240 s).
const LIMIT: Duration = Duration::from_secs(300);

/// Builds tests/threads.c with `sanitizers` into `dir` and runs it with `env`; returns stdout.
fn build_and_run(dir: &Path, name: &str, sanitizers: &[&str], env: &[(&str, String)]) -> String {
    let lib = library_dir();
    let exe = dir.join(name);
    let flags: Vec<&str> = ["-O1", "-pthread"]
        .into_iter()
        .chain(sanitizers.iter().copied())
        .collect();
    build_c_test("threads.c", &flags, &exe);
    let run_dir = soname_dir(&lib, dir);
    let mut cmd = Command::new(&exe);
    cmd.env("LD_LIBRARY_PATH", &run_dir).env("SVT_LOG", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let run = run_bounded(&mut cmd, dir, name, LIMIT);
    check(name, &run);
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    eprintln!("{name}:\n{stdout}");
    assert!(stdout.contains("threads: all checks held"), "{stdout}");
    stdout
}

#[test]
fn concurrent_use_and_destroy_are_safe_under_address_sanitizer() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = build_and_run(
        dir.path(),
        "threads-asan",
        &SANITIZERS,
        &[
            (
                "ASAN_OPTIONS",
                "detect_leaks=1:abort_on_error=0:max_free_fill_size=1048576:free_fill_byte=170"
                    .into(),
            ),
            (
                "LSAN_OPTIONS",
                format!(
                    "suppressions={}",
                    crate_dir().join("tests/lsan.supp").display()
                ),
            ),
        ],
    );
    assert!(stdout.contains("accessors: 48 packets"), "{stdout}");
    assert!(stdout.contains("flush/destroy: 8 rounds"), "{stdout}");
    assert!(stdout.contains("recorder/destroy: 6 rounds"), "{stdout}");
    assert!(
        stdout.contains("that submit returned not a live handle"),
        "{stdout}"
    );
}

#[test]
fn concurrent_use_and_destroy_are_safe_under_thread_sanitizer() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = build_and_run(
        dir.path(),
        "threads-tsan",
        &["-fsanitize=thread"],
        // The library is Rust built without instrumentation: its locks are futexes TSan cannot
        // see, so its memory traffic through the interceptors (malloc, memcpy) would be
        // reported as races between threads its mutexes order. Interceptors called from
        // uninstrumented modules are ignored; the program's own accesses, its threads and
        // their synchronisation are checked.
        &[(
            "TSAN_OPTIONS",
            "halt_on_error=1:exitcode=66:ignore_noninstrumented_modules=1".into(),
        )],
    );
    assert!(stdout.contains("accessors: 48 packets"), "{stdout}");
    assert!(
        stdout.contains("that submit returned not a live handle"),
        "{stdout}"
    );
    assert!(stdout.contains("recorder/destroy: 6 rounds"), "{stdout}");
}
