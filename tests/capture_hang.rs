//! A capture service that accepts the connection and never answers (a hung or stopped
//! compositor or PipeWire daemon, or a socket that is some other program's) is a typed error
//! naming the socket and the step, within the timeout: never a hang. Each server here is a
//! Unix socket that accepts every connection and holds it without reading or writing a byte.
//! Every wait in these tests is bounded, so the old code (which waited forever) fails them.

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ghoststream::capture::{CaptureError, WaylandCapture, WaylandOptions};

/// A Unix socket that accepts connections and never answers them.
struct SilentServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl SilentServer {
    fn start(name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let listener = UnixListener::bind(&path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut held: Vec<UnixStream> = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((client, _)) => held.push(client),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5))
                        }
                        Err(e) => panic!("accept: {e}"),
                    }
                }
            })
        };
        Self {
            path,
            stop,
            thread: Some(thread),
            _dir: dir,
        }
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `f` on its own thread, waited for at most `limit` (a hang fails the test instead of
/// hanging it); its result and how long it took.
fn within<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> (T, Duration) {
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => (v, started.elapsed()),
        Err(_) => panic!("no answer within {limit:?}: it hangs"),
    }
}

fn open_wayland(display: &str, timeout: Option<Duration>) -> Result<WaylandCapture, CaptureError> {
    let mut options = WaylandOptions {
        display: Some(display.to_string()),
        ..WaylandOptions::default()
    };
    if let Some(t) = timeout {
        options.round_trip_timeout = t;
    }
    WaylandCapture::open(options)
}

/// Checks a `CompositorTimeout` for `socket` at a step containing `step`, waited at least
/// `at_least`; returns its message.
fn assert_compositor_timeout(
    result: Result<WaylandCapture, CaptureError>,
    socket: &str,
    step: &str,
    at_least: Duration,
) -> String {
    let e = match result {
        Err(e) => e,
        Ok(c) => panic!("expected a CompositorTimeout, the capture opened: {c:?}"),
    };
    let message = e.to_string();
    match &e {
        CaptureError::CompositorTimeout {
            socket: s,
            step: st,
            waited_ms,
        } => {
            assert_eq!(s, socket, "{message}");
            assert!(st.contains(step), "step {st:?} lacks {step:?}: {message}");
            assert!(
                *waited_ms >= u64::try_from(at_least.as_millis()).unwrap(),
                "waited {waited_ms} ms, less than {at_least:?}: {message}"
            );
        }
        other => panic!("expected a CompositorTimeout, got {other:?}: {message}"),
    }
    assert!(
        message.starts_with(&format!(
            "the Wayland compositor at {socket} did not answer {step}"
        )),
        "{message}"
    );
    assert!(!message.contains('\n'), "one line: {message}");
    message
}

#[test]
fn a_compositor_that_never_answers_fails_open_within_the_timeout_naming_the_socket() {
    let server = SilentServer::start("wayland-silent");
    let socket = server.path().to_string();
    let (result, took) = within(Duration::from_secs(10), move || {
        open_wayland(&socket, Some(Duration::from_millis(500)))
    });
    let message = assert_compositor_timeout(
        result,
        server.path(),
        "the list of globals",
        Duration::from_millis(500),
    );
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(2500),
        "took {took:?}: {message}"
    );
    assert!(
        message.contains("WAYLAND_DISPLAY"),
        "names the fix: {message}"
    );
}

#[test]
fn the_default_round_trip_timeout_is_five_seconds() {
    assert_eq!(
        WaylandOptions::default().round_trip_timeout,
        Duration::from_secs(5)
    );
    assert_eq!(
        ghoststream::capture::wayland::DEFAULT_ROUND_TRIP_TIMEOUT,
        Duration::from_secs(5)
    );
    let server = SilentServer::start("wayland-silent");
    let socket = server.path().to_string();
    let (result, took) = within(Duration::from_secs(15), move || open_wayland(&socket, None));
    assert_compositor_timeout(
        result,
        server.path(),
        "the list of globals",
        Duration::from_secs(5),
    );
    assert!(took < Duration::from_secs(8), "took {took:?}");
}

/// A listener that never accepts, its backlog full: a blocking connect would wait forever.
#[test]
fn a_compositor_whose_backlog_is_full_is_a_timeout_at_the_connection() {
    use rustix::net::{AddressFamily, SocketAddrUnix, SocketType};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wayland-full");
    let listener = rustix::net::socket(AddressFamily::UNIX, SocketType::STREAM, None).unwrap();
    let address = SocketAddrUnix::new(&path).unwrap();
    rustix::net::bind(&listener, &address).unwrap();
    // A backlog of 0 queues one connection; this one fills it.
    rustix::net::listen(&listener, 0).unwrap();
    let _queued = UnixStream::connect(&path).unwrap();
    let socket = path.to_str().unwrap().to_string();
    let (result, took) = within(Duration::from_secs(10), {
        let socket = socket.clone();
        move || open_wayland(&socket, Some(Duration::from_millis(300)))
    });
    assert_compositor_timeout(
        result,
        &socket,
        "the connection",
        Duration::from_millis(300),
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn a_socket_path_too_long_for_unix_sockets_is_a_typed_error_naming_it() {
    let long = format!("/tmp/{}", "w".repeat(200));
    let (result, _) = within(Duration::from_secs(5), {
        let long = long.clone();
        move || open_wayland(&long, Some(Duration::from_millis(300)))
    });
    match result {
        Err(e @ CaptureError::NoCompositor { .. }) => {
            assert!(e.to_string().contains(&long), "{e}")
        }
        other => panic!("expected NoCompositor, got {other:?}"),
    }
}

/// The environment the child below runs in; `None` in an ordinary test run.
const CHILD: &str = "GHOSTSTREAM_CAPTURE_HANG_CHILD";

/// Runs the test `name` of this binary in a child process with `env` (the probe reads
/// `WAYLAND_DISPLAY` and `PIPEWIRE_REMOTE`; the environment of this process is not touched),
/// killing it after `limit`; its exit status and output.
fn run_child(name: &str, env: &[(&str, &str)], limit: Duration) -> (bool, String) {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env_remove("WAYLAND_SOCKET")
        .env("SVT_LOG", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the child {name} did not finish within {limit:?}: it hangs\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    (
        status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn probe_answers_within_seconds_when_the_compositor_and_pipewire_never_answer() {
    let wayland = SilentServer::start("wayland-silent");
    let pipewire = SilentServer::start("pipewire-silent");
    let (ok, output) = run_child(
        "child_probe_against_silent_servers",
        &[
            ("WAYLAND_DISPLAY", wayland.path()),
            ("PIPEWIRE_REMOTE", pipewire.path()),
            ("GS_SILENT_WAYLAND", wayland.path()),
            ("GS_SILENT_PIPEWIRE", pipewire.path()),
        ],
        Duration::from_secs(60),
    );
    assert!(ok, "the child failed:\n{output}");
    assert!(output.contains("child checks passed"), "{output}");
}

/// Run by the test above in a child process, with the sockets in its environment.
#[test]
fn child_probe_against_silent_servers() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let wayland = std::env::var("GS_SILENT_WAYLAND").unwrap();
    #[cfg(feature = "pipewire")]
    let pipewire = std::env::var("GS_SILENT_PIPEWIRE").unwrap();
    let started = Instant::now();
    let entries = ghoststream::probe::probe();
    let took = started.elapsed();
    let entry = |name: &str| {
        entries
            .iter()
            .find(|e| e.category == "capture" && e.name == name)
            .unwrap_or_else(|| panic!("no capture entry {name}"))
    };
    let w = entry("wayland");
    assert!(!w.available);
    assert!(
        w.detail.starts_with(&format!(
            "the Wayland compositor at {wayland} did not answer the list of globals"
        )),
        "{}",
        w.detail
    );
    // Probe waits two seconds per service.
    assert!(w.detail.contains(" within 2"), "{}", w.detail);
    assert!(!entry("pipewire").available);
    #[cfg(feature = "pipewire")]
    assert_pipewire_timeout(&entry("pipewire").detail, &pipewire);
    // Two services of two seconds each, and the rest of the probe.
    assert!(took < Duration::from_secs(12), "probe took {took:?}");

    #[cfg(feature = "pipewire")]
    {
        use ghoststream::capture::{PipeWireCapture, PipeWireOptions};
        let started = Instant::now();
        let e =
            ghoststream::capture::pipewire::list_video_sources(None, Duration::from_millis(500))
                .unwrap_err();
        assert_pipewire_timeout(&e.to_string(), &pipewire);
        assert!(started.elapsed() < Duration::from_secs(3));
        let started = Instant::now();
        let e = PipeWireCapture::open(PipeWireOptions {
            negotiation_timeout: Duration::from_millis(800),
            ..PipeWireOptions::default()
        })
        .unwrap_err();
        assert!(
            matches!(&e, CaptureError::PipeWireTimeout { socket, waited_ms: 800, .. } if socket == &pipewire),
            "{e:?}"
        );
        assert_pipewire_timeout(&e.to_string(), &pipewire);
        assert!(started.elapsed() < Duration::from_secs(3));
    }
    for e in entries.iter().filter(|e| e.category == "capture") {
        println!("{}: {}", e.name, e.detail);
    }
    println!("child checks passed");
}

#[cfg(feature = "pipewire")]
fn assert_pipewire_timeout(message: &str, socket: &str) {
    assert!(
        message.starts_with(&format!(
            "PipeWire at {socket} did not answer the listing of its objects (pw_core sync) within "
        )),
        "{message}"
    );
    assert!(message.contains("PIPEWIRE_REMOTE"), "{message}");
}
