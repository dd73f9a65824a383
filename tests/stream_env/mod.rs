//! Stream servers on loopback for the streaming tests, started by each test: nginx with
//! Debian's RTMP module (as the test's own user), recording every
//! stream it receives to FLV files; and `srt-live-transmit` (srt-tools, as `nobody` when the
//! tests run as root) listening for SRT and
//! writing the MPEG-TS it receives to a file. Both can be stopped and started again on the
//! same port, as a server that goes away and comes back.
#![allow(dead_code)]

use super::unprivileged;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// Prints why a server cannot run here and returns `true` (a failure under
/// GHOSTSTREAM_REQUIRE_STREAMING).
fn missing(what: &str) -> bool {
    let why = format!("{what} (apt-get install nginx-core libnginx-mod-rtmp srt-tools)");
    assert!(
        std::env::var_os("GHOSTSTREAM_REQUIRE_STREAMING").is_none(),
        "GHOSTSTREAM_REQUIRE_STREAMING is set: {why}"
    );
    eprintln!("SKIPPED: {why}; set GHOSTSTREAM_REQUIRE_STREAMING=1 to make this a failure");
    true
}

/// A free TCP port on loopback (also used for SRT's UDP: nothing else binds it here).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// nginx serving RTMP at `rtmp://127.0.0.1:PORT/live/KEY`, recording to `recordings()`.
pub struct RtmpServer {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// Its port.
    pub port: u16,
}

impl RtmpServer {
    /// Starts nginx; `None` when nginx or its RTMP module is missing.
    pub fn start() -> Option<Self> {
        if !Path::new(RTMP_MODULE).exists() || Command::new("nginx").arg("-v").output().is_err() {
            missing("nginx with the RTMP module is not installed");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rec")).unwrap();
        let mut server = Self {
            child: None,
            port: free_port(),
            dir,
        };
        server.restart();
        Some(server)
    }

    /// The stream URL for `key`.
    pub fn url(&self, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{key}", self.port)
    }

    /// Starts nginx again (after [`Self::kill`]) on the same port.
    pub fn restart(&mut self) {
        let d = self.dir.path();
        std::fs::write(
            d.join("nginx.conf"),
            format!(
                "daemon off;\nmaster_process off;\nworker_processes 1;\npid {pid};\nerror_log {log} info;\nload_module {RTMP_MODULE};\nevents {{ worker_connections 64; }}\nrtmp {{ server {{ listen 127.0.0.1:{port}; application live {{ live on; record all; record_path {rec}; record_unique on; }} }} }}\n",
                pid = d.join("nginx.pid").display(),
                log = d.join("error.log").display(),
                rec = d.join("rec").display(),
                port = self.port,
            ),
        )
        .unwrap();
        // As the test's own user: Debian's nginx opens its compiled-in
        // /var/log/nginx/access.log at start, which `nobody` may not write.
        let child = Command::new("nginx")
            .arg("-p")
            .arg(d)
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .arg("-e")
            .arg(d.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        self.child = Some(child);
        wait_for_port(self.port, &d.join("error.log"));
    }

    /// Kills nginx with SIGKILL (the server vanishes).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The FLV files recorded so far, oldest first.
    pub fn recordings(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("rec"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    }

    /// nginx's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for RtmpServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn wait_for_port(port: u16, log: &Path) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nothing listens on {port} after 10 s:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `srt-live-transmit` listening on `srt://127.0.0.1:PORT`, writing what it receives to one
/// file per start.
pub struct SrtServer {
    child: Option<Child>,
    dir: tempfile::TempDir,
    starts: u32,
    /// Its UDP port.
    pub port: u16,
}

impl SrtServer {
    /// Starts the listener; `None` when srt-tools is missing.
    pub fn start() -> Option<Self> {
        if Command::new("srt-live-transmit")
            .arg("-version")
            .output()
            .is_err()
        {
            missing("srt-live-transmit is not installed");
            return None;
        }
        let mut server = Self {
            child: None,
            dir: tempfile::tempdir().unwrap(),
            starts: 0,
            port: free_port(),
        };
        server.restart();
        Some(server)
    }

    /// The stream URL.
    pub fn url(&self) -> String {
        format!("srt://127.0.0.1:{}", self.port)
    }

    /// Starts listening again (after [`Self::kill`]), into a new file.
    pub fn restart(&mut self) {
        self.starts += 1;
        let out = std::fs::File::create(self.file(self.starts)).unwrap();
        let d = self.dir.path();
        let child = unprivileged::unprivileged("srt-live-transmit", d)
            .args(["-q", "-a:no"])
            .arg(format!("srt://:{}?mode=listener", self.port))
            .arg("file://con")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .expect("srt-live-transmit starts");
        self.child = Some(child);
        // UDP: no connect to wait on; give it a moment to bind.
        std::thread::sleep(Duration::from_millis(300));
    }

    /// The file the `n`th start writes (from 1).
    pub fn file(&self, n: u32) -> PathBuf {
        self.dir.path().join(format!("received-{n}.ts"))
    }

    /// Waits up to `limit` for the listener to leave on its own (it does when the caller
    /// disconnects, writing out what it holds), then kills it.
    pub fn stop(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        if let Some(c) = self.child.as_mut() {
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill();
    }

    /// Kills the listener with SIGKILL (the server vanishes).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for SrtServer {
    fn drop(&mut self) {
        self.kill();
    }
}
