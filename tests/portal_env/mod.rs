//! A private desktop portal for the portal tests: a D-Bus session bus of its own
//! (`dbus-daemon`), the real `xdg-desktop-portal` frontend from Debian, and a ScreenCast
//! backend behind it — either xdg-desktop-portal-wlr on a headless sway, or
//! `test_backend.py`, which grants a PipeWire node the test publishes.
//!
//! Bus, frontend and backend run as the test's own user: the frontend refuses callers whose
//! `/proc/PID/root` it cannot read, so it must be the caller's user. PipeWire and sway run as
//! `nobody` when the tests are root (their own harnesses).
#![allow(dead_code)]

use super::pipewire_env::PrivatePipeWire;
use super::session_bus;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FRONTEND: &str = "/usr/libexec/xdg-desktop-portal";
const WLR_BACKEND: &str = "/usr/libexec/xdg-desktop-portal-wlr";
const PYTHON: &str = "/usr/bin/python3";
const TEST_BACKEND_NAME: &str = "org.freedesktop.impl.portal.desktop.ghoststreamtest";

/// Which ScreenCast backend stands behind the frontend.
pub enum Backend<'a> {
    /// `test_backend.py`, granting `node_id`; `mode` is `grant`, `cancel` or `hang`.
    Test { node_id: u32, mode: &'a str },
    /// xdg-desktop-portal-wlr on the sway at `wayland_socket`, choosing `output` unattended.
    Wlr {
        wayland_socket: &'a str,
        output: &'a str,
    },
    /// None: the frontend finds no ScreenCast backend for the desktop.
    None,
}

/// A running bus, frontend and backend; all killed on drop.
pub struct PrivatePortal {
    children: Vec<Child>,
    dir: tempfile::TempDir,
    /// The bus address for `PortalOptions::bus_address` / `DBUS_SESSION_BUS_ADDRESS`.
    pub address: String,
}

/// Why the portal cannot run here, if it cannot.
fn missing(backend: &Backend) -> Option<String> {
    let mut need = vec![FRONTEND];
    match backend {
        Backend::Test { .. } => need.push(PYTHON),
        Backend::Wlr { .. } => need.push(WLR_BACKEND),
        Backend::None => {}
    }
    if let Some(p) = need.into_iter().find(|p| !Path::new(p).exists()) {
        return Some(format!("{p} is not installed"));
    }
    if Command::new("dbus-daemon")
        .arg("--version")
        .output()
        .is_err()
    {
        return Some("dbus-daemon is not installed".into());
    }
    if matches!(backend, Backend::Test { .. }) {
        let ok = Command::new(PYTHON)
            .args([
                "-c",
                "import dbus, dbus.mainloop.glib; from gi.repository import GLib",
            ])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Some("python3-dbus or python3-gi is not installed".into());
        }
    }
    None
}

impl PrivatePortal {
    /// Starts the bus, the backend and the frontend (in that order, each waited for). `None`,
    /// with the reason printed, when the portal packages are missing (a failure under
    /// GHOSTSTREAM_REQUIRE_PORTAL).
    pub fn start(pipewire: &PrivatePipeWire, backend: Backend) -> Option<Self> {
        if let Some(why) = missing(&backend) {
            let why = format!(
                "{why} (apt-get install xdg-desktop-portal xdg-desktop-portal-wlr dbus python3-dbus python3-gi)"
            );
            assert!(
                std::env::var_os("GHOSTSTREAM_REQUIRE_PORTAL").is_none(),
                "GHOSTSTREAM_REQUIRE_PORTAL is set: {why}"
            );
            eprintln!("SKIPPED: {why}; set GHOSTSTREAM_REQUIRE_PORTAL=1 to make this a failure");
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let address = session_bus::write_config(dir.path());
        let socket = dir.path().join("bus");
        let desktop = match backend {
            Backend::Test { .. } | Backend::None => "ghoststreamtest",
            Backend::Wlr { .. } => "sway",
        };
        let portals = dir.path().join("portals");
        std::fs::create_dir_all(&portals).unwrap();
        std::fs::write(
            portals.join("ghoststreamtest.portal"),
            format!("[portal]\nDBusName={TEST_BACKEND_NAME}\nInterfaces=org.freedesktop.impl.portal.ScreenCast;\nUseIn=ghoststreamtest\n"),
        )
        .unwrap();
        if let Ok(wlr) = std::fs::read_to_string("/usr/share/xdg-desktop-portal/portals/wlr.portal")
        {
            std::fs::write(portals.join("wlr.portal"), wlr).unwrap();
        }
        let config = dir.path().join("config");
        std::fs::create_dir_all(config.join("xdg-desktop-portal-wlr")).unwrap();
        if let Backend::Wlr { output, .. } = backend {
            std::fs::write(
                config.join("xdg-desktop-portal-wlr/config"),
                format!("[screencast]\nchooser_type=none\noutput_name={output}\n"),
            )
            .unwrap();
        }
        let mut portal = Self {
            children: Vec::new(),
            address,
            dir,
        };
        let env = |c: &mut Command, log: &str| {
            let d = portal.dir.path();
            c.env("DBUS_SESSION_BUS_ADDRESS", &portal.address)
                .env("XDG_RUNTIME_DIR", d)
                .env("HOME", d)
                .env("XDG_CONFIG_HOME", d.join("config"))
                .env("XDG_DATA_HOME", d.join("data"))
                .env("XDG_STATE_HOME", d.join("state"))
                .env("XDG_CURRENT_DESKTOP", desktop)
                .env("XDG_DESKTOP_PORTAL_DIR", &portals)
                .env("PIPEWIRE_RUNTIME_DIR", pipewire.runtime_dir())
                .env_remove("PIPEWIRE_REMOTE")
                .env_remove("WAYLAND_DISPLAY")
                .env_remove("DISPLAY")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(d.join(log)).unwrap());
        };

        let mut bus = Command::new("dbus-daemon");
        bus.arg("--nofork").arg(format!(
            "--config-file={}",
            portal.dir.path().join("bus.conf").display()
        ));
        env(&mut bus, "dbus.log");
        portal
            .children
            .push(bus.spawn().expect("dbus-daemon starts"));
        portal.wait_for("the bus socket", || socket.exists());

        let server = match backend {
            Backend::Test { node_id, mode } => {
                // Written out from the test binary, so the harness works from any crate's tests.
                let script = portal.dir.path().join("test_backend.py");
                std::fs::write(&script, include_str!("test_backend.py")).unwrap();
                let mut c = Command::new(PYTHON);
                c.arg(script)
                    .arg(node_id.to_string())
                    .arg(mode)
                    .arg(portal.backend_log_path());
                env(&mut c, "backend.log");
                Some((c, TEST_BACKEND_NAME))
            }
            Backend::Wlr { wayland_socket, .. } => {
                let mut c = Command::new(WLR_BACKEND);
                c.args(["-l", "DEBUG"]);
                env(&mut c, "backend.log");
                c.env("WAYLAND_DISPLAY", wayland_socket);
                Some((c, "org.freedesktop.impl.portal.desktop.wlr"))
            }
            Backend::None => None,
        };
        if let Some((mut server, name)) = server {
            portal
                .children
                .push(server.spawn().expect("the portal backend starts"));
            portal.wait_for(name, || portal.has_owner(name));
        }

        let mut frontend = Command::new(FRONTEND);
        frontend.args(["--replace", "--verbose"]);
        env(&mut frontend, "frontend.log");
        portal
            .children
            .push(frontend.spawn().expect("xdg-desktop-portal starts"));
        portal.wait_for("org.freedesktop.portal.Desktop", || {
            portal.has_owner("org.freedesktop.portal.Desktop")
        });
        Some(portal)
    }

    fn wait_for(&self, what: &str, ready: impl Fn() -> bool) {
        let started = Instant::now();
        while !ready() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{what} did not appear in 15 s; logs:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn has_owner(&self, name: &str) -> bool {
        Command::new("dbus-send")
            .arg(format!("--bus={}", self.address))
            .args([
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
            ])
            .arg(format!("string:{name}"))
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
    }

    fn backend_log_path(&self) -> PathBuf {
        self.dir.path().join("backend.jsonl")
    }

    /// What reached the test backend: one JSON object per line, in order.
    pub fn backend_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.backend_log_path())
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The daemons' logs, for failure messages.
    pub fn logs(&self) -> String {
        ["dbus.log", "backend.log", "frontend.log"]
            .iter()
            .map(|n| {
                format!(
                    "--- {n}\n{}",
                    std::fs::read_to_string(self.dir.path().join(n)).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A directory for the test's own files (token stores), removed with the portal.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PrivatePortal {
    fn drop(&mut self) {
        // Frontend first, then the backend, the bus last.
        for mut child in self.children.drain(..).rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
