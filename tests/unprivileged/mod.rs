//! Running the tests' helper daemons (sway, PipeWire) as an ordinary user: when the tests run
//! as root, the daemon runs as `nobody` through `setpriv`, in a runtime directory it owns
//! (sway refuses root, and nothing in GhostStream needs privileges, so none are given).
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// The uid/gid daemons run as when the tests run as root.
pub const NOBODY: u32 = 65534;

/// Whether the tests run as root.
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A command for `program` that runs as an ordinary user: as is when the tests are not root,
/// else as `nobody` (with `dir`, its runtime directory, given to `nobody`).
pub fn unprivileged(program: &str, dir: &Path) -> Command {
    if !running_as_root() {
        return Command::new(program);
    }
    chown_tree(dir);
    let mut c = Command::new("setpriv");
    c.args([
        &format!("--reuid={NOBODY}"),
        &format!("--regid={NOBODY}"),
        "--clear-groups",
        program,
    ]);
    c
}

/// Gives `path` and the entries directly in it to `nobody`.
fn chown_tree(path: &Path) {
    let chown = |p: &Path| {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; chown has no other preconditions.
        assert_eq!(unsafe { libc::chown(c.as_ptr(), NOBODY, NOBODY) }, 0);
    };
    chown(path);
    for entry in std::fs::read_dir(path).unwrap() {
        chown(&entry.unwrap().path());
    }
}
