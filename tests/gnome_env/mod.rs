//! A private GNOME screen-cast stack for the capture tests: a D-Bus session bus of its own,
//! mutter 43 as a headless Wayland compositor with one virtual monitor (software rendering, no
//! /dev/dri, no Xwayland), xdg-desktop-portal-gnome as the ScreenCast backend and the real
//! xdg-desktop-portal frontend, with the user's grant written into the permission store
//! beforehand so that no dialog is shown.
//!
//! How the grant skips the dialog (xdg-desktop-portal 1.16, xdg-desktop-portal-gnome 43):
//! `SelectSources` with a `restore_token` makes the frontend look the token up in the
//! permission store's `screencast` table (the entry's id is the token, its permissions must
//! hold the caller's app id — `""` for an unsandboxed process — and its data is the backend's
//! restore data, `(suv)`); it hands that data to the backend as `restore_data`. The GNOME
//! backend accepts `("GNOME", 1, <(creation_time x, last_used_time x, a(id u, type u, v))>)`,
//! where a monitor stream (type 1) names its monitor by `vendor:product:serial` as mutter's
//! `org.gnome.Mutter.DisplayConfig.GetCurrentState` reports it; when that monitor exists it
//! starts the cast at once instead of opening its chooser. [`PrivateGnome::grant_monitor`]
//! writes such an entry through the permission store's D-Bus API, as the frontend itself does
//! after a granted session.
//!
//! Everything runs as the test's own user (the frontend refuses callers whose `/proc/PID/root`
//! it cannot read); PipeWire is the caller's [`PrivatePipeWire`]. mutter needs no
//! gnome-shell or gnome-settings-daemon for a monitor cast: it owns
//! `org.gnome.Mutter.ScreenCast`, `.RemoteDesktop` and `.DisplayConfig` itself; the backend's
//! window list (`org.gnome.Shell.Introspect`) and its dialog are what would need the shell,
//! and neither is used here.
#![allow(dead_code)]

use super::pipewire_env::PrivatePipeWire;
use super::session_bus;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::collections::HashMap;

use dbus::arg::{RefArg, Variant};
use dbus::blocking::Connection;

const MUTTER: &str = "/usr/bin/mutter";
const FRONTEND: &str = "/usr/libexec/xdg-desktop-portal";
const BACKEND: &str = "/usr/libexec/xdg-desktop-portal-gnome";
const PERMISSION_STORE: &str = "/usr/libexec/xdg-permission-store";
const GNOME_PORTAL: &str = "/usr/share/xdg-desktop-portal/portals/gnome.portal";
const BACKEND_NAME: &str = "org.freedesktop.impl.portal.desktop.gnome";
const STORE_NAME: &str = "org.freedesktop.impl.portal.PermissionStore";
const STORE_PATH: &str = "/org/freedesktop/impl/portal/PermissionStore";
/// How long each daemon may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running bus, mutter, backend and frontend; all killed on drop.
pub struct PrivateGnome {
    /// Bus, mutter, backend, frontend, in start order.
    children: Vec<(&'static str, Child)>,
    dir: tempfile::TempDir,
    /// The bus address for `PortalOptions::bus_address`.
    pub address: String,
    /// The absolute path of mutter's Wayland socket.
    pub wayland_socket: String,
}

/// A permission-store entry as `Lookup` returns it: each app's permissions, and the data.
type StoreEntry = (HashMap<String, Vec<String>>, Variant<Box<dyn RefArg>>);

/// The GNOME backend's restore data as the permission store holds it.
#[derive(Debug, PartialEq, Eq)]
pub struct StoredRestoreData {
    /// `GNOME`.
    pub provider: String,
    /// The backend's format version (1).
    pub version: u32,
    /// When the grant was last used (µs since the epoch); 0 as [`PrivateGnome::grant`] writes.
    pub last_used: i64,
    /// Each stream as `TYPE:WHAT` (`1:vendor:product:serial` for a monitor).
    pub streams: Vec<String>,
}

/// Whether `name` has an owner on the bus at `address`.
fn has_owner(address: &str, name: &str) -> bool {
    let Ok(bus) = Connection::new_address(address) else {
        return false;
    };
    bus.with_proxy(
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        Duration::from_secs(5),
    )
    .method_call("org.freedesktop.DBus", "NameHasOwner", (name,))
    .is_ok_and(|(has,): (bool,)| has)
}

/// Why the stack cannot run here, if it cannot.
fn missing() -> Option<String> {
    if let Some(p) = [MUTTER, FRONTEND, BACKEND, PERMISSION_STORE, GNOME_PORTAL]
        .into_iter()
        .find(|p| !Path::new(p).exists())
    {
        return Some(format!("{p} is not installed"));
    }
    if Command::new("dbus-daemon")
        .arg("--version")
        .output()
        .is_err()
    {
        return Some("dbus-daemon is not installed".into());
    }
    None
}

impl PrivateGnome {
    /// Starts the bus, mutter with one `width`x`height` virtual monitor, the GNOME backend and
    /// the frontend, each waited for (bounded). `None`, with the reason printed, when the
    /// packages are missing (a failure under GHOSTSTREAM_REQUIRE_GNOME).
    pub fn start(pipewire: &PrivatePipeWire, width: u32, height: u32) -> Option<Self> {
        if let Some(why) = missing() {
            let why = format!(
                "{why} (apt-get install mutter xdg-desktop-portal-gnome xdg-desktop-portal dbus)"
            );
            assert!(
                std::env::var_os("GHOSTSTREAM_REQUIRE_GNOME").is_none(),
                "GHOSTSTREAM_REQUIRE_GNOME is set: {why}"
            );
            eprintln!("SKIPPED: {why}; set GHOSTSTREAM_REQUIRE_GNOME=1 to make this a failure");
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let address = session_bus::write_config(dir.path());
        let socket = dir.path().join("bus");
        // Only the GNOME backend, so that the frontend activates no other (gtk, wlr).
        let portals = dir.path().join("portals");
        std::fs::create_dir_all(&portals).unwrap();
        std::fs::copy(GNOME_PORTAL, portals.join("gnome.portal")).unwrap();

        let wayland_socket = dir.path().join("wayland-0");
        let mut gnome = Self {
            children: Vec::new(),
            address,
            wayland_socket: wayland_socket.to_string_lossy().into_owned(),
            dir,
        };
        let d = gnome.dir.path().to_path_buf();
        let bus_address = gnome.address.clone();
        let env = |c: &mut Command, log: &str| {
            c.env("DBUS_SESSION_BUS_ADDRESS", &bus_address)
                .env("XDG_RUNTIME_DIR", &d)
                .env("HOME", &d)
                .env("XDG_CONFIG_HOME", d.join("config"))
                .env("XDG_DATA_HOME", d.join("data"))
                .env("XDG_STATE_HOME", d.join("state"))
                .env("XDG_CACHE_HOME", d.join("cache"))
                .env("XDG_CURRENT_DESKTOP", "GNOME")
                .env("XDG_SESSION_TYPE", "wayland")
                .env("XDG_DESKTOP_PORTAL_DIR", &portals)
                // Settings in memory: no dconf daemon, nothing read from the user's.
                .env("GSETTINGS_BACKEND", "memory")
                .env("PIPEWIRE_RUNTIME_DIR", pipewire.runtime_dir())
                .env_remove("PIPEWIRE_REMOTE")
                .env_remove("WAYLAND_DISPLAY")
                .env_remove("DISPLAY")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(d.join(log)).unwrap());
        };

        // The bus first: services it activates (the permission store) inherit its environment,
        // so their files land in the temporary directory too.
        let mut bus = Command::new("dbus-daemon");
        bus.arg("--nofork")
            .arg(format!("--config-file={}", d.join("bus.conf").display()));
        env(&mut bus, "dbus.log");
        gnome.spawn("dbus-daemon", bus);
        gnome.wait_for("the bus socket", || socket.exists());

        let mut mutter = Command::new(MUTTER);
        mutter
            .args(["--wayland", "--headless", "--no-x11", "--virtual-monitor"])
            .arg(format!("{width}x{height}"));
        env(&mut mutter, "mutter.log");
        gnome.spawn("mutter", mutter);
        gnome.wait_for("mutter's Wayland socket", || wayland_socket.exists());
        for name in [
            "org.gnome.Mutter.ScreenCast",
            "org.gnome.Mutter.DisplayConfig",
        ] {
            gnome.wait_for(name, || has_owner(&bus_address, name));
        }

        // A GTK 4 program: it needs a display (mutter's) even when it shows no dialog.
        let mut backend = Command::new(BACKEND);
        backend.arg("--verbose");
        env(&mut backend, "backend.log");
        backend.env("WAYLAND_DISPLAY", &wayland_socket);
        gnome.spawn("xdg-desktop-portal-gnome", backend);
        gnome.wait_for(BACKEND_NAME, || has_owner(&bus_address, BACKEND_NAME));

        let mut frontend = Command::new(FRONTEND);
        frontend.args(["--replace", "--verbose"]);
        env(&mut frontend, "frontend.log");
        gnome.spawn("xdg-desktop-portal", frontend);
        gnome.wait_for("org.freedesktop.portal.Desktop", || {
            has_owner(&bus_address, "org.freedesktop.portal.Desktop")
        });
        Some(gnome)
    }

    fn spawn(&mut self, name: &'static str, mut command: Command) {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{name} starts: {e}"));
        self.children.push((name, child));
    }

    /// Waits (bounded) for `ready`, failing with the logs when a daemon has exited or the
    /// time is up.
    fn wait_for(&mut self, what: &str, ready: impl Fn() -> bool) {
        let started = Instant::now();
        while !ready() {
            let exited = self
                .children
                .iter_mut()
                .find_map(|(name, child)| Some((*name, child.try_wait().ok()??)));
            if let Some((name, status)) = exited {
                panic!(
                    "{name} exited ({status}) while waiting for {what}; logs:\n{}",
                    self.logs()
                );
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "{what} did not appear in {START_TIMEOUT:?}; logs:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn connection(&self) -> Connection {
        Connection::new_address(&self.address).expect("the private bus")
    }

    /// The first monitor's `vendor:product:serial`, as mutter reports it (the GNOME backend's
    /// name for a monitor in its restore data).
    pub fn monitor_match_string(&self) -> String {
        let bus = self.connection();
        let call = dbus::Message::new_method_call(
            "org.gnome.Mutter.DisplayConfig",
            "/org/gnome/Mutter/DisplayConfig",
            "org.gnome.Mutter.DisplayConfig",
            "GetCurrentState",
        )
        .unwrap();
        let reply = bus
            .channel()
            .send_with_reply_and_block(call, Duration::from_secs(5))
            .expect("mutter's GetCurrentState");
        // (u serial, a((ssss) ids, modes, properties) monitors, logical monitors, properties)
        let mut args = reply.iter_init();
        args.next();
        let mut monitors = args.recurse(dbus::arg::ArgType::Array).expect("monitors");
        let mut monitor = monitors
            .recurse(dbus::arg::ArgType::Struct)
            .expect("a monitor");
        let (_connector, vendor, product, serial): (String, String, String, String) =
            monitor.read().expect("the monitor's ids");
        format!("{vendor}:{product}:{serial}")
    }

    /// Writes the user's grant of the first monitor to the application with `app_id` (`""`
    /// for an unsandboxed process) into the permission store, as the frontend does after a
    /// granted session kept with `persist_mode` 2, and returns its restore token.
    pub fn grant_monitor(&self, app_id: &str) -> String {
        self.grant(app_id, &self.monitor_match_string())
    }

    /// Writes a grant of the monitor named `match_string` (see
    /// [`Self::monitor_match_string`]) and returns its restore token.
    pub fn grant(&self, app_id: &str, match_string: &str) -> String {
        let token = std::fs::read_to_string("/proc/sys/kernel/random/uuid")
            .expect("a random UUID from the kernel")
            .trim()
            .to_string();
        let bus = self.connection();
        let store = bus.with_proxy(STORE_NAME, STORE_PATH, Duration::from_secs(10));
        let () = store
            .method_call(
                STORE_NAME,
                "SetPermission",
                ("screencast", true, &token, app_id, vec!["yes"]),
            )
            .unwrap_or_else(|e| panic!("the permission store takes the grant: {e}"));
        // The backend's restore data: one monitor stream (id 0, type 1) by its match string;
        // both times 0 (the backend only carries them over).
        let streams = vec![(0u32, 1u32, Variant(match_string.to_string()))];
        let restore_data = ("GNOME", 1u32, Variant((0i64, 0i64, streams)));
        let () = store
            .method_call(
                STORE_NAME,
                "SetValue",
                ("screencast", true, &token, Variant(restore_data)),
            )
            .unwrap_or_else(|e| panic!("the permission store takes the restore data: {e}"));
        token
    }

    /// The ids in the permission store's `screencast` table.
    pub fn stored_grants(&self) -> Vec<String> {
        let bus = self.connection();
        let store = bus.with_proxy(STORE_NAME, STORE_PATH, Duration::from_secs(10));
        store
            .method_call(STORE_NAME, "List", ("screencast",))
            .map(|(ids,): (Vec<String>,)| ids)
            .unwrap_or_default()
    }

    /// The grant stored under `token`: the applications it is granted to, and the backend's
    /// restore data. `None` when the store holds no such entry.
    pub fn stored_grant(&self, token: &str) -> Option<(Vec<String>, StoredRestoreData)> {
        let bus = self.connection();
        let store = bus.with_proxy(STORE_NAME, STORE_PATH, Duration::from_secs(10));
        let (apps, data): StoreEntry = store
            .method_call(STORE_NAME, "Lookup", ("screencast", token))
            .ok()?;
        let mut apps: Vec<String> = apps.into_keys().collect();
        apps.sort();
        // data (the variant's value): (s provider, u version, v (x created, x last used, a(u id, u type, v)))
        let mut outer = data.0.as_iter()?;
        let provider = outer.next()?.as_str()?.to_string();
        let version = u32::try_from(outer.next()?.as_u64()?).ok()?;
        let mut inner = outer.next()?.as_iter()?.next()?.as_iter()?;
        let _created = inner.next()?.as_i64()?;
        let last_used = inner.next()?.as_i64()?;
        let mut monitors = Vec::new();
        for stream in inner.next()?.as_iter()? {
            let mut fields = stream.as_iter()?;
            let (_id, kind) = (fields.next()?.as_u64()?, fields.next()?.as_u64()?);
            let value = fields.next()?.as_iter()?.next()?.as_str()?.to_string();
            monitors.push(format!("{kind}:{value}"));
        }
        Some((
            apps,
            StoredRestoreData {
                provider,
                version,
                last_used,
                streams: monitors,
            },
        ))
    }

    /// Kills mutter with SIGKILL, as a crash would, and reaps it.
    pub fn kill_mutter(&mut self) {
        if let Some((_, child)) = self.children.iter_mut().find(|(n, _)| *n == "mutter") {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The daemons' logs, for failure messages.
    pub fn logs(&self) -> String {
        ["dbus.log", "mutter.log", "backend.log", "frontend.log"]
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

    /// One daemon's log (`mutter.log`, `backend.log`, `frontend.log`, `dbus.log`).
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// The private runtime directory.
    pub fn runtime_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for PrivateGnome {
    fn drop(&mut self) {
        // Frontend first, then the backend and mutter, the bus last (which ends the services
        // it activated: they leave when their bus goes).
        for (_, mut child) in self.children.drain(..).rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
