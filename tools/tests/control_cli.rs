//! `record --control SOCK` against hostile clients, with the real binary: a client that
//! trickles bytes or streams megabytes never holds up the recording or SIGINT, `save 1e20` is
//! an `error: ...` answer and the recording goes on, a replay save on a full disk leaves no
//! file, and the socket path is handled safely (stale replaced, live or non-socket refused).
//! Every wait is bounded.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn tool() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ghoststream"));
    c.env("SVT_LOG", "1").env_remove("RUST_LOG");
    c
}

/// The live test pattern (30 fps, 160x96, H.264, a key frame a second) with a 10 s replay
/// buffer saved into `dir` and the control socket `sock`.
fn record_args(dir: &Path, sock: &Path) -> Vec<String> {
    let mut args: Vec<String> = [
        "record",
        "--source",
        "testsrc",
        "--size",
        "160x96",
        "--fps",
        "30",
        "--codec",
        "h264",
        "--keyint",
        "30",
        "--replay",
        "10s",
        "-q",
        "--replay-dir",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(dir.display().to_string());
    args.push("--control".into());
    args.push(sock.display().to_string());
    args
}

/// A recording that is killed if the test fails before it ends.
struct Recorder {
    child: Option<Child>,
}

impl Recorder {
    fn spawn(mut command: Command, sock: &Path) -> Self {
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the tool runs");
        let mut r = Self { child: Some(child) };
        let start = Instant::now();
        while UnixStream::connect(sock).is_err() {
            if let Some(status) = r.child.as_mut().unwrap().try_wait().unwrap() {
                let out = r.child.take().unwrap().wait_with_output().unwrap();
                panic!(
                    "the recorder ended ({status}): {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no control socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        r
    }

    fn pid(&self) -> i32 {
        libc::pid_t::try_from(self.child.as_ref().unwrap().id()).unwrap()
    }

    fn signal(&self, signal: i32) {
        // SAFETY: a signal to our own child, which has not been waited for.
        unsafe { libc::kill(self.pid(), signal) };
    }

    /// Waits at most `limit` for the recording to end; kills it and fails past that.
    fn wait(mut self, limit: Duration) -> (Output, Duration) {
        let start = Instant::now();
        let mut child = self.child.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = { stderr }.read_to_end(&mut text);
            text
        });
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let took = start.elapsed();
                let stderr = reader.join().unwrap();
                return (
                    Output {
                        status,
                        stdout: Vec::new(),
                        stderr,
                    },
                    took,
                );
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = reader.join().unwrap();
                panic!(
                    "the recorder did not end within {limit:?}: {}",
                    String::from_utf8_lossy(&stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Sends `request` and returns the answer (everything until the server closes; bounded).
fn ask(sock: &Path, request: &[u8]) -> String {
    let mut s = UnixStream::connect(sock).expect("connects to the control socket");
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("no answer to {request:?}: {e}"),
        }
    }
    String::from_utf8(out).unwrap()
}

/// Frames ffmpeg decodes from `path` without a single error.
fn clean_frames(path: &Path) -> usize {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-i"])
        .arg(path)
        .args(["-f", "null", "-", "-progress", "pipe:1", "-nostats"])
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("frame="))
        .next_back()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

fn saved_path(answer: &str) -> PathBuf {
    PathBuf::from(
        answer
            .strip_prefix("saved ")
            .unwrap_or_else(|| panic!("the control socket answered {answer:?}"))
            .trim_end(),
    )
}

fn rss_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Clients trickling a byte every 50 ms, one after another, while SIGINT arrives: the
/// recording stops at once and cleanly (exit 0, the socket removed, the file plays). Before,
/// the recording thread read the trickle itself and never got back to the stop flag.
#[test]
fn sigint_stops_the_recorder_while_a_client_trickles() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("c.sock");
    let file = dir.path().join("out.mkv");
    let mut command = tool();
    command
        .args(record_args(dir.path(), &sock))
        .arg("-o")
        .arg(&file);
    let recorder = Recorder::spawn(command, &sock);
    let trickling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = std::sync::Arc::clone(&trickling);
    let trickle_sock = sock.clone();
    let trickler = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        while flag.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline {
            let Ok(mut s) = UnixStream::connect(&trickle_sock) else {
                return;
            };
            while s.write_all(b"s").is_ok() && flag.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    });
    std::thread::sleep(Duration::from_millis(1500));
    recorder.signal(libc::SIGINT);
    let (out, took) = recorder.wait(Duration::from_secs(20));
    trickling.store(false, std::sync::atomic::Ordering::Relaxed);
    trickler.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        took < Duration::from_secs(5),
        "SIGINT took {took:?} to stop it"
    );
    assert!(!sock.exists(), "the control socket is removed");
    assert!(clean_frames(&file) >= 15, "{}", file.display());
}

/// A client streaming megabytes without a newline is cut at 256 bytes; the recorder's memory
/// does not grow, and a `save` from another client meanwhile is answered and plays.
#[test]
fn a_client_streaming_megabytes_does_not_touch_the_recorder() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("c.sock");
    let mut command = tool();
    command.args(record_args(dir.path(), &sock));
    let recorder = Recorder::spawn(command, &sock);
    std::thread::sleep(Duration::from_millis(1500));
    let before = rss_kib(recorder.pid());
    let stream_sock = sock.clone();
    let streamer = std::thread::spawn(move || {
        let mut total = 0usize;
        let mut answers = Vec::new();
        // Connection after connection, 64 MiB offered in all.
        while total < 64 << 20 {
            let mut s = UnixStream::connect(&stream_sock).unwrap();
            s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let chunk = vec![b'x'; 1 << 20];
            let mut sent = 0usize;
            while let Ok(n) = s.write(&chunk) {
                sent += n;
                if sent >= 16 << 20 {
                    break;
                }
            }
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            answers.push((sent, answer));
            total += 16 << 20;
        }
        answers
    });
    let saved = saved_path(&ask(&sock, b"save 1\n"));
    let answers = streamer.join().unwrap();
    for (sent, answer) in &answers {
        assert!(
            *sent < 4 << 20,
            "the recorder took {sent} bytes of one request"
        );
        assert_eq!(answer, "error: request longer than 256 bytes\n");
    }
    let after = rss_kib(recorder.pid());
    assert!(
        after < before + 16 * 1024,
        "the recorder grew from {before} KiB to {after} KiB"
    );
    recorder.signal(libc::SIGINT);
    let (out, _) = recorder.wait(Duration::from_secs(20));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(clean_frames(&saved) >= 30);
}

/// `save 1e20` (which panicked the recording and left the socket behind) and other bad values
/// are answered with one error line each; the recording goes on and a `save` then works.
#[test]
fn bad_save_values_are_answered_and_the_recording_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("c.sock");
    let mut command = tool();
    command.args(record_args(dir.path(), &sock));
    let recorder = Recorder::spawn(command, &sock);
    std::thread::sleep(Duration::from_millis(1500));
    for value in ["1e20", "inf", "nan", "-1"] {
        assert_eq!(
            ask(&sock, format!("save {value}\n").as_bytes()),
            format!(
                "error: save takes a positive number of seconds up to 86400 (24 h), not \"{value}\"\n"
            )
        );
    }
    assert_eq!(
        ask(&sock, b"save \xff\n"),
        "error: the request is not UTF-8 text (\"save \\xff\"): send `save [SECONDS]`, `status`, `stop`, `keyframe` or `bitrate RATE`\n"
    );
    let saved = saved_path(&ask(&sock, b"save\n"));
    recorder.signal(libc::SIGINT);
    let (out, _) = recorder.wait(Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!sock.exists(), "the control socket is removed");
    assert!(clean_frames(&saved) >= 30);
}

/// A replay save on a full disk (RLIMIT_FSIZE, SIGXFSZ ignored) is answered with the error
/// and leaves no header-only file; the recording goes on and ends cleanly.
#[test]
fn a_replay_save_on_a_full_disk_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let replays = dir.path().join("replays");
    std::fs::create_dir(&replays).unwrap();
    let sock = dir.path().join("c.sock");
    let script = format!(
        "trap '' XFSZ; ulimit -f 16; exec '{}' \"$@\"",
        env!("CARGO_BIN_EXE_ghoststream")
    );
    let mut command = Command::new("sh");
    command
        .env("SVT_LOG", "1")
        .env_remove("RUST_LOG")
        .args(["-c", &script, "sh"])
        .args(record_args(&replays, &sock));
    let recorder = Recorder::spawn(command, &sock);
    std::thread::sleep(Duration::from_millis(2500));
    let answer = ask(&sock, b"save\n");
    let prefix = format!(
        "error: cannot save the replay clip {}/Replay_",
        replays.display()
    );
    assert!(answer.starts_with(&prefix), "{answer}");
    assert!(
        answer.ends_with(".mkv (File too large (os error 27)); the incomplete file was removed\n"),
        "{answer}"
    );
    assert_eq!(std::fs::read_dir(&replays).unwrap().count(), 0);
    recorder.signal(libc::SIGINT);
    let (out, _) = recorder.wait(Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("replay not saved: cannot save the replay clip"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&replays).unwrap().count(), 0);
}

/// A replay format that cannot carry the codec is refused when the recording starts, not at
/// every save.
#[test]
fn a_replay_format_that_cannot_carry_the_codec_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("c.sock");
    let out = tool()
        .args(record_args(dir.path(), &sock))
        .args(["--replay-format", "ivf", "--frames", "3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: --replay-format ivf: replay clips of h264 cannot be saved as ivf: use one of mkv, mp4, ts, annexb, length-prefixed\n"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// A stale socket (left by a killed run) is replaced; a live one (another recorder) is
/// refused with one line and keeps working; a file that is not a socket is left alone.
#[test]
fn the_control_path_stale_live_or_not_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("c.sock");
    drop(UnixListener::bind(&sock).unwrap());
    let mut command = tool();
    command.args(record_args(dir.path(), &sock));
    let first = Recorder::spawn(command, &sock);
    let second = tool()
        .args(record_args(dir.path(), &sock))
        .args(["--frames", "3"])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&second.stderr),
        format!(
            "error: the control socket {} is in use: another program is listening on it (stop it, or pick another path)\n",
            sock.display()
        )
    );
    std::thread::sleep(Duration::from_millis(1500));
    let saved = saved_path(&ask(&sock, b"save\n"));
    first.signal(libc::SIGINT);
    let (out, _) = first.wait(Duration::from_secs(20));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(clean_frames(&saved) >= 30);

    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, b"keep me").unwrap();
    let refused = tool()
        .args(record_args(dir.path(), &notes))
        .args(["--frames", "3"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        format!(
            "error: {} exists and is not a socket; it is left alone: pick another path for the control socket\n",
            notes.display()
        )
    );
    assert_eq!(std::fs::read(&notes).unwrap(), b"keep me");
}

// `ghoststream save|status|stop|keyframe|bitrate` against a stand-in recorder: a control
// socket served in this process that answers as a recording does.

use ghoststream::control::{ControlOptions, ControlRequest, ControlServer};
use std::sync::{Arc, Mutex};

/// A control socket that answers like a recorder until dropped: `saved /tmp/x.mkv` (or
/// `saved /tmp/last-SECONDS.mkv`), `{"frames":10,...}` for status, `ok` for the rest, or
/// `answer` for every request when given; records the requests seen.
struct StandIn {
    seen: Arc<Mutex<Vec<ControlRequest>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StandIn {
    fn start(path: &Path, answer: Option<&str>) -> Self {
        let server = ControlServer::bind(path, ControlOptions::default()).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (seen2, stop2) = (Arc::clone(&seen), Arc::clone(&stop));
        let answer = answer.map(str::to_string);
        let thread = std::thread::spawn(move || {
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                let Some(call) = server.try_recv() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let text = answer.clone().unwrap_or_else(|| match call.request {
                    ControlRequest::Save { last: None } => "saved /tmp/x.mkv".into(),
                    ControlRequest::Save { last: Some(d) } => {
                        format!("saved /tmp/last-{}.mkv", d.as_secs_f64())
                    }
                    ControlRequest::Status => {
                        r#"{"frames":10,"replay":{"seconds":30},"source":"testsrc"}"#.into()
                    }
                    _ => "ok".into(),
                });
                seen2.lock().unwrap().push(call.request);
                call.reply.answer(&text);
            }
        });
        Self {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn seen(&self) -> Vec<ControlRequest> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs the tool with `args`, bounded (killed past 20 s).
fn run_tool(args: &[&str], env: &[(&str, &Path)]) -> (Option<i32>, String, String) {
    let mut command = tool();
    command.args(args).env_remove("XDG_RUNTIME_DIR");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("ghoststream {args:?} did not end within 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn save_status_stop_keyframe_and_bitrate_talk_to_a_running_recorder() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("c.sock");
    let s = sock.to_str().unwrap();
    let stand_in = StandIn::start(&sock, None);
    let ok = |args: &[&str], stdout: &str| {
        let (code, out, err) = run_tool(args, &[]);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (Some(0), stdout, ""),
            "{args:?}"
        );
    };
    ok(&["save", "--control", s], "/tmp/x.mkv\n");
    ok(&["save", "1.5m", "--control", s], "/tmp/last-90.mkv\n");
    ok(&["save", "--control", s, "2.5"], "/tmp/last-2.5.mkv\n");
    ok(
        &["status", "--control", s],
        "frames: 10\nreplay.seconds: 30\nsource: testsrc\n",
    );
    ok(
        &["status", "--json", "--control", s],
        "{\"frames\":10,\"replay\":{\"seconds\":30},\"source\":\"testsrc\"}\n",
    );
    ok(&["keyframe", "--control", s], "");
    ok(&["bitrate", "6M", "--control", s], "");
    ok(&["bitrate", "2500k", "--control", s, "--timeout", "2s"], "");
    ok(&["stop", "--control", s], "");
    assert_eq!(
        stand_in.seen(),
        [
            ControlRequest::Save { last: None },
            ControlRequest::Save {
                last: Some(Duration::from_secs(90))
            },
            ControlRequest::Save {
                last: Some(Duration::from_millis(2500))
            },
            ControlRequest::Status,
            ControlRequest::Status,
            ControlRequest::Keyframe,
            ControlRequest::Bitrate {
                bits_per_second: 6_000_000
            },
            ControlRequest::Bitrate {
                bits_per_second: 2_500_000
            },
            ControlRequest::Stop,
        ]
    );
}

/// Without --control, the socket is $XDG_RUNTIME_DIR/ghoststream/control.sock (its folder made
/// by the recorder's bind).
#[test]
fn the_default_control_socket_is_in_the_runtime_dir() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = [("XDG_RUNTIME_DIR", dir.path())];
    let sock = dir.path().join("ghoststream").join("control.sock");
    // Nothing running yet.
    let (code, out, err) = run_tool(&["stop"], &runtime);
    assert_eq!((code, out.as_str()), (Some(1), ""));
    assert_eq!(
        err,
        format!(
            "error: no recording is running (nothing at {}): start one with `ghoststream record`\n",
            sock.display()
        )
    );
    let stand_in = StandIn::start(&sock, None);
    let (code, out, err) = run_tool(&["save"], &runtime);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (Some(0), "/tmp/x.mkv\n", "")
    );
    assert_eq!(stand_in.seen(), [ControlRequest::Save { last: None }]);
    // Without XDG_RUNTIME_DIR there is no default: --control is asked for.
    let (code, _, err) = run_tool(&["status"], &[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: XDG_RUNTIME_DIR is not set, so there is no default control socket: give --control PATH (the --control given to `ghoststream record`)\n"
    );
}

/// A socket left by a killed recording is named as such, not as a connection error.
#[test]
fn a_stale_socket_says_a_recording_was_killed_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("c.sock");
    drop(UnixListener::bind(&sock).unwrap());
    for args in [
        vec!["save"],
        vec!["status"],
        vec!["stop"],
        vec!["keyframe"],
        vec!["bitrate", "6M"],
    ] {
        let mut full = args.clone();
        full.extend(["--control", sock.to_str().unwrap()]);
        let (code, out, err) = run_tool(&full, &[]);
        assert_eq!((code, out.as_str()), (Some(1), ""), "{args:?}");
        assert_eq!(
            err,
            format!(
                "error: no recording is running: {0} was left by a recording that was killed (the next `ghoststream record --control {0}` replaces it)\n",
                sock.display()
            ),
            "{args:?}"
        );
    }
    // Left for the next recording to replace.
    assert!(sock.exists());
    // Something that is not a socket is named too.
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, b"keep me").unwrap();
    let (code, _, err) = run_tool(&["status", "--control", notes.to_str().unwrap()], &[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        format!(
            "error: {} exists and is not a socket; it is left alone: pick another path for the control socket\n",
            notes.display()
        )
    );
}

/// The recording's `error: ...` answer is printed as its own line, exit 1.
#[test]
fn an_error_answer_is_printed_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("c.sock");
    let _stand_in = StandIn::start(
        &sock,
        Some("error: the replay buffer holds no key frame yet: nothing can be saved"),
    );
    let s = sock.to_str().unwrap();
    for args in [vec!["save", "--control", s], vec!["stop", "--control", s]] {
        let (code, out, err) = run_tool(&args, &[]);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (
                Some(1),
                "",
                "error: the replay buffer holds no key frame yet: nothing can be saved\n"
            ),
            "{args:?}"
        );
    }
    // An answer that is not the one expected is an error too, not a success.
    drop(_stand_in);
    let _stand_in = StandIn::start(&sock, Some("saved /tmp/y.mkv"));
    let (code, _, err) = run_tool(&["stop", "--control", s], &[]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "error: the recording answered \"saved /tmp/y.mkv\" to \"stop\", not \"ok\"\n"
    );
}

/// A recorder that never answers: the tool gives up at --timeout with one line.
#[test]
fn a_recorder_that_does_not_answer_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("c.sock");
    let _listener = UnixListener::bind(&sock).unwrap();
    let start = Instant::now();
    let (code, out, err) = run_tool(
        &[
            "stop",
            "--control",
            sock.to_str().unwrap(),
            "--timeout",
            "500ms",
        ],
        &[],
    );
    let took = start.elapsed();
    assert_eq!((code, out.as_str()), (Some(1), ""));
    assert_eq!(
        err,
        format!(
            "error: the recording at {} did not answer within 500ms: it may be stalled; try again, or give a longer --timeout\n",
            sock.display()
        )
    );
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(10),
        "{took:?}"
    );
}

/// Values are checked before anything is sent, by the library's parsers: exit 2, one line.
#[test]
fn bad_values_are_refused_before_asking() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("c.sock");
    let stand_in = StandIn::start(&sock, None);
    let s = sock.to_str().unwrap();
    for (args, named) in [
        (vec!["bitrate", "fast", "--control", s], "'fast'"),
        (vec!["save", "-1", "--control", s], "'-1'"),
        (vec!["save", "ten", "--control", s], "'ten'"),
        (vec!["stop", "--control", s, "--timeout", "0"], "'0'"),
    ] {
        let (code, out, err) = run_tool(&args, &[]);
        assert_eq!((code, out.as_str()), (Some(2), ""), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(named), "{args:?}: {err}");
    }
    assert_eq!(stand_in.seen(), []);
}

/// The whole loop a user runs, with no --control and no --replay-dir: `record --replay`
/// listens on the default socket in $XDG_RUNTIME_DIR and saves into ~/Videos; `status`,
/// `save`, `keyframe` and `stop` from "another terminal" find it; killed with SIGKILL, it
/// leaves a stale socket that `status` names and the next recording replaces.
#[test]
fn the_default_socket_and_videos_folder_serve_a_real_recording_and_survive_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("run");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&runtime).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    let sock = runtime.join("ghoststream/control.sock");
    let env: [(&str, &Path); 3] = [
        ("XDG_RUNTIME_DIR", &runtime),
        ("HOME", &home),
        ("XDG_CONFIG_HOME", &home),
    ];
    let start = |out: &Path| {
        let mut c = tool();
        c.args([
            "record", "-i", "testsrc", "--size", "160x96", "--fps", "30", "--codec", "h264",
            "--keyint", "1s", "--replay", "10s", "-q", "-o",
        ])
        .arg(out);
        for (k, v) in env {
            c.env(k, v);
        }
        Recorder::spawn(c, &sock)
    };
    let out = dir.path().join("rec.mkv");
    let recorder = start(&out);
    std::thread::sleep(Duration::from_millis(2500));

    let (code, json, err) = run_tool(&["status", "--json"], &env);
    assert_eq!(code, Some(0), "{err}");
    let status: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert!(status["packets"].as_u64().unwrap() > 30, "{status}");
    let (code, human, _) = run_tool(&["status"], &env);
    assert_eq!(code, Some(0));
    assert!(human.lines().any(|l| l.starts_with("packets: ")), "{human}");

    let (code, saved, err) = run_tool(&["save", "1"], &env);
    assert_eq!(code, Some(0), "{err}");
    let saved = PathBuf::from(saved.trim());
    assert_eq!(saved.parent().unwrap(), home.join("Videos"), "{saved:?}");
    let name = saved.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("Replay_") && name.ends_with(".mkv"),
        "{name}"
    );
    assert!(clean_frames(&saved) >= 30, "a second or more, whole GOPs");

    assert_eq!(run_tool(&["keyframe"], &env).0, Some(0));
    let (code, _, err) = run_tool(&["stop"], &env);
    assert_eq!(code, Some(0), "{err}");
    let (output, _) = recorder.wait(Duration::from_secs(20));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(clean_frames(&out) > 60);
    assert!(!sock.exists(), "the socket goes with the recording");
    let (code, _, err) = run_tool(&["status"], &env);
    assert_eq!(code, Some(1));
    assert!(err.contains("no recording"), "{err}");

    // Killed: the socket stays, and is called what it is; the next recording replaces it.
    let killed = start(&dir.path().join("killed.mkv"));
    killed.signal(libc::SIGKILL);
    let _ = killed.wait(Duration::from_secs(20));
    assert!(sock.exists());
    let (code, _, err) = run_tool(&["status"], &env);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("was left by a recording that was killed"),
        "{err}"
    );
    let again = start(&dir.path().join("again.mkv"));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(run_tool(&["stop"], &env).0, Some(0));
    let (output, _) = again.wait(Duration::from_secs(20));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
