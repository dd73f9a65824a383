//! A private PipeWire for the capture tests: the `pipewire` daemon and the `wireplumber`
//! session manager (which links streams to the nodes they target), from Debian, started by the
//! test in its own runtime directory as an ordinary user (`nobody` when the tests run as root).
//! Clients reach it through a socket connected here and handed over as an fd, so no test
//! changes the process environment.
#![allow(dead_code)]

use super::unprivileged;

use ghoststream::capture::{test_node_frame_number, test_node_pixel, LiveCapture};
use ghoststream::{CpuImage, PixelFormat};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The frame number in `image`, after checking every pixel against the pattern.
pub fn check_pattern(image: &CpuImage) -> u64 {
    assert_eq!(image.format(), PixelFormat::Bgra8);
    let n = test_node_frame_number(&image.row(0, 0)[..4]);
    for y in 0..image.height() {
        for (x, px) in image.row(0, y)[..image.width() as usize * 4]
            .chunks_exact(4)
            .enumerate()
        {
            assert_eq!(
                px,
                test_node_pixel(n, u32::try_from(x).unwrap(), y),
                "frame {n} pixel ({x},{y}) of {}x{}",
                image.width(),
                image.height()
            );
        }
    }
    n
}

/// The next frame (image, time), failing after 5 s. Arrivals already queued are taken too
/// (a capture reports each arrival but only the newest frame is readable), so every call reads
/// a frame no earlier call read.
pub fn next(capture: &mut impl LiveCapture) -> (CpuImage, i64) {
    let mut t = capture
        .wait_frame_before(Instant::now() + Duration::from_secs(5))
        .expect("no capture error")
        .expect("a frame within 5 s");
    while let Some(later) = capture
        .wait_frame_before(Instant::now())
        .expect("no capture error")
    {
        t = later;
    }
    let (image, time) = capture
        .last_image()
        .unwrap()
        .expect("the frame is readable");
    assert_eq!(time, t);
    (image, time.as_nanos())
}

/// A running PipeWire daemon and session manager; both killed on drop.
pub struct PrivatePipeWire {
    daemon: Child,
    manager: Option<Child>,
    dir: tempfile::TempDir,
}

impl PrivatePipeWire {
    /// Starts the daemon and wireplumber. `None`, with the reason printed, when PipeWire is
    /// not installed (a failure under GHOSTSTREAM_REQUIRE_PIPEWIRE).
    pub fn start() -> Option<Self> {
        let missing = ["pipewire", "wireplumber", "dbus-run-session"]
            .into_iter()
            .find(|p| {
                Command::new(p)
                    .arg("--version")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_err()
            });
        if let Some(program) = missing {
            let why =
                format!("{program} is not installed (apt-get install pipewire wireplumber dbus)");
            assert!(
                std::env::var_os("GHOSTSTREAM_REQUIRE_PIPEWIRE").is_none(),
                "GHOSTSTREAM_REQUIRE_PIPEWIRE is set: {why}"
            );
            eprintln!("SKIPPED: {why}; set GHOSTSTREAM_REQUIRE_PIPEWIRE=1 to make this a failure");
            return None;
        }
        Some(Self::start_daemon(None))
    }

    /// Starts the private PipeWire 1.4 that `.ci/get-pipewire14.sh` unpacked into `root`
    /// (its `root/` tree) with the system's wireplumber as the session manager.
    pub fn start_pipewire14(root: &Path) -> Self {
        Self::start_daemon(Some(root))
    }

    fn start_daemon(private: Option<&Path>) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        // A daemon run as `nobody` cannot reach root's home: it gets the tree linked (or
        // copied) into its runtime directory.
        let private = private.map(|root| {
            if unprivileged::running_as_root() {
                let copy = dir.path().join("pipewire14");
                link_tree(root, &copy);
                copy
            } else {
                root.to_path_buf()
            }
        });
        let log = |name: &str| std::fs::File::create(dir.path().join(name)).unwrap();
        let spawn = |program: &str, args: &[&str], log_file: std::fs::File| {
            unprivileged::unprivileged(program, dir.path())
                .args(args)
                .env("XDG_RUNTIME_DIR", dir.path())
                .env("PIPEWIRE_RUNTIME_DIR", dir.path())
                .env("HOME", dir.path())
                .env("XDG_CONFIG_HOME", dir.path().join("config"))
                .env("XDG_STATE_HOME", dir.path().join("state"))
                .env_remove("DBUS_SESSION_BUS_ADDRESS")
                .env_remove("PIPEWIRE_REMOTE")
                // The system's PipeWire, even in a test re-executed against PipeWire 1.4.
                .env_remove("LD_LIBRARY_PATH")
                .env_remove("SPA_PLUGIN_DIR")
                .env_remove("PIPEWIRE_MODULE_DIR")
                .env_remove("PIPEWIRE_CONFIG_DIR")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .unwrap_or_else(|e| panic!("{program} starts: {e}"))
        };
        let daemon = match &private {
            None => spawn("pipewire", &[], log("pipewire.log")),
            Some(root) => {
                let program = root.join("usr/bin/pipewire");
                let mut command = unprivileged::unprivileged(program.to_str().unwrap(), dir.path());
                command
                    .envs(pipewire14_env(root))
                    .env("XDG_RUNTIME_DIR", dir.path())
                    .env("PIPEWIRE_RUNTIME_DIR", dir.path())
                    .env("HOME", dir.path())
                    .env_remove("DBUS_SESSION_BUS_ADDRESS")
                    .env_remove("PIPEWIRE_REMOTE")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log("pipewire.log"))
                    .spawn()
                    .unwrap_or_else(|e| panic!("{} starts: {e}", program.display()))
            }
        };
        let socket = dir.path().join("pipewire-0");
        let started = Instant::now();
        while UnixStream::connect(&socket).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "pipewire made no socket in 10 s; its log:\n{}",
                std::fs::read_to_string(dir.path().join("pipewire.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // wireplumber needs a session bus; it gets a private one that ends with it.
        let manager = Some(spawn(
            "dbus-run-session",
            &["--", "wireplumber"],
            log("wireplumber.log"),
        ));
        Self {
            daemon,
            manager,
            dir,
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("pipewire-0")
    }

    /// A new connection to the daemon, for `PipeWireOptions::remote`.
    pub fn connection(&self) -> OwnedFd {
        UnixStream::connect(self.socket())
            .expect("pipewire's socket")
            .into()
    }

    /// The runtime directory holding the daemon's socket (`PIPEWIRE_RUNTIME_DIR` for a child
    /// process that should use this daemon).
    pub fn runtime_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// A daemon's log, for failure messages.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// Publishes GhostStream's frame-numbered test node `name` of `size` at `fps` on this
    /// daemon.
    pub fn test_node(
        &self,
        name: &str,
        size: (u32, u32),
        fps: i64,
    ) -> ghoststream::capture::PipeWireTestNode {
        ghoststream::capture::PipeWireTestNode::start(
            name,
            size,
            ghoststream::Rational::new(fps, 1),
            Some(self.connection()),
        )
        .unwrap_or_else(|e| panic!("test node starts: {e}\n{}", self.log("pipewire.log")))
    }

    /// Kills the daemon with SIGKILL, as a crash would.
    pub fn kill_daemon(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

impl Drop for PrivatePipeWire {
    fn drop(&mut self) {
        // wireplumber leaves when its daemon goes, and dbus-run-session then ends its bus.
        self.kill_daemon();
        if let Some(mut m) = self.manager.take() {
            let deadline = Instant::now() + Duration::from_secs(2);
            while m.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = m.kill();
            let _ = m.wait();
        }
    }
}

/// Where `.ci/get-pipewire14.sh` unpacked PipeWire 1.4 (`$GHOSTSTREAM_PIPEWIRE14`, else
/// `~/.cache/ghoststream/pipewire14`); `None` when it has not.
pub fn pipewire14_root() -> Option<PathBuf> {
    let dir = std::env::var_os("GHOSTSTREAM_PIPEWIRE14")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/ghoststream/pipewire14")
        });
    let root = dir.join("root");
    (dir.join("ready").exists() && root.join("usr/bin/pipewire").exists()).then_some(root)
}

/// The environment that makes a process (the daemon, or a test re-executed) load PipeWire
/// 1.4 from `root`: its libpipewire, modules, SPA plugins and configuration.
pub fn pipewire14_env(root: &Path) -> Vec<(&'static str, PathBuf)> {
    let lib = ["x86_64-linux-gnu", "aarch64-linux-gnu"]
        .iter()
        .map(|triple| root.join("usr/lib").join(triple))
        .find(|p| p.join("libpipewire-0.3.so.0").exists())
        .unwrap_or_else(|| root.join("usr/lib/x86_64-linux-gnu"));
    vec![
        ("LD_LIBRARY_PATH", lib.clone()),
        ("SPA_PLUGIN_DIR", lib.join("spa-0.2")),
        ("PIPEWIRE_MODULE_DIR", lib.join("pipewire-0.3")),
        ("PIPEWIRE_CONFIG_DIR", root.join("usr/share/pipewire")),
    ]
}

/// Recreates the tree `from` at `to`: files hard-linked (copied across file systems),
/// symbolic links as they are.
fn link_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            link_tree(&src, &dst);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if std::fs::hard_link(&src, &dst).is_err() {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}
