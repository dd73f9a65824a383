//! A headless sway for the capture tests: started by the test itself (WLR_BACKENDS=headless,
//! the pixman renderer, no input devices, no Xwayland) in a private runtime directory, as an
//! ordinary user: when the tests run as root, sway runs as `nobody` through `setpriv` (sway
//! refuses to run as root, and nothing here needs privileges).
#![allow(dead_code)]

use super::unprivileged;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running headless sway; killed on drop.
pub struct HeadlessSway {
    child: Child,
    dir: tempfile::TempDir,
    /// The absolute path of its Wayland socket.
    pub socket: String,
}

impl HeadlessSway {
    /// Starts sway with one `width`x`height` output (HEADLESS-1) whose background is the solid
    /// colour `bg` (`#rrggbb`). `None`, with the reason printed, when sway is not installed
    /// (a failure under GHOSTSTREAM_REQUIRE_SWAY).
    pub fn start(width: u32, height: u32, bg: &str) -> Option<Self> {
        if Command::new("sway").arg("--version").output().is_err() {
            let why = "sway is not installed (apt-get install sway)";
            assert!(
                std::env::var_os("GHOSTSTREAM_REQUIRE_SWAY").is_none(),
                "GHOSTSTREAM_REQUIRE_SWAY is set: {why}"
            );
            eprintln!("SKIPPED: {why}; set GHOSTSTREAM_REQUIRE_SWAY=1 to make this a failure");
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            format!(
                "xwayland disable\ndefault_border none\noutput HEADLESS-1 resolution {width}x{height} bg {bg} solid_color\n"
            ),
        )
        .unwrap();
        let mut command = unprivileged::unprivileged("sway", dir.path());
        command
            .arg("-c")
            .arg(&config)
            .env("WLR_BACKENDS", "headless")
            .env("WLR_RENDERER", "pixman")
            .env("WLR_LIBINPUT_NO_DEVICES", "1")
            .env("XDG_RUNTIME_DIR", dir.path())
            .env("HOME", dir.path())
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("DISPLAY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("sway.log")).unwrap());
        let child = command.spawn().expect("sway starts");
        let socket = dir.path().join("wayland-1");
        let started = Instant::now();
        while !socket.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "sway made no socket in 10 s; its log:\n{}",
                std::fs::read_to_string(dir.path().join("sway.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Self {
            child,
            socket: socket.to_string_lossy().into_owned(),
            dir,
        })
    }

    /// The runtime directory (the socket's directory).
    pub fn runtime_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The process id (to kill it the hard way).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills sway with SIGKILL, as a crash would, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Runs `swaymsg` against this sway.
    pub fn swaymsg(&self, args: &[&str]) -> std::process::Output {
        let ipc = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().contains("sway-ipc"))
            .expect("sway's IPC socket");
        Command::new("swaymsg")
            .arg("-s")
            .arg(ipc)
            .args(args)
            .output()
            .expect("swaymsg runs")
    }
}

impl Drop for HeadlessSway {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The largest difference, in 8-bit codes on any channel, between the RGB24 pixels `rgb` and
/// `colour` (a screen filled with `colour`, encoded and decoded, is within a few codes).
pub fn worst_code_distance(rgb: &[u8], colour: [u8; 3]) -> i32 {
    rgb.chunks(3)
        .map(|p| {
            (0..3)
                .map(|c| (i32::from(p[c]) - i32::from(colour[c])).abs())
                .max()
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0)
}
