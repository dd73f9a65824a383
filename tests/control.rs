//! The control socket server (`ghoststream::control`): hostile clients (trickling, streaming,
//! silent, too many) never hold up the caller's thread or grow memory; every bad request gets
//! one `error: ...` line naming the value; the socket file is removed when the server goes, a
//! stale one is replaced, a live one or a path that is not a socket is refused and left alone.
//! Every wait is bounded. The client (`control::request`) against a server answering each
//! request kind, a stale socket, nothing at the path, something not a socket, a server that
//! never answers (bounded by its timeout) and one that answers too much.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

use ghoststream::control::{
    parse_request, request, ControlError, ControlOptions, ControlRequest, ControlServer,
    MAX_ANSWER_BYTES, MAX_CLIENTS, MAX_REQUEST_BYTES, REQUEST_DEADLINE,
};

fn server(path: &Path) -> ControlServer {
    ControlServer::bind(path, ControlOptions::default()).expect("the control socket binds")
}

/// Connects with a bounded read timeout (no test waits forever for an answer).
fn connect(path: &Path) -> UnixStream {
    let s = UnixStream::connect(path).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Everything the server sends until it closes (bounded by the read timeout).
fn read_answer(mut s: &UnixStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // The server closed with our unread bytes still queued: a reset after the answer.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "no answer: {e} (so far {:?})",
                String::from_utf8_lossy(&out)
            ),
        }
    }
    String::from_utf8(out).unwrap()
}

/// Waits (bounded) for the server to hand over a request.
fn wait_call(server: &ControlServer) -> ghoststream::control::ControlCall {
    let start = Instant::now();
    loop {
        if let Some(c) = server.try_recv() {
            return c;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no request arrived"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn err(line: &[u8]) -> String {
    parse_request(line).unwrap_err().to_string()
}

/// A `save` sent by a new client reaches the caller.
fn save_goes_through(server: &ControlServer, path: &Path) {
    let client = connect(path);
    (&client).write_all(b"save\n").unwrap();
    assert_eq!(
        wait_call(server).request,
        ControlRequest::Save { last: None }
    );
}

#[test]
fn requests_parse_and_every_bad_value_is_a_typed_error_naming_it() {
    assert_eq!(
        parse_request(b"save").unwrap(),
        ControlRequest::Save { last: None }
    );
    assert_eq!(
        parse_request(b"  save  \r\n").unwrap(),
        ControlRequest::Save { last: None }
    );
    assert_eq!(
        parse_request(b"save 30\n").unwrap(),
        ControlRequest::Save {
            last: Some(Duration::from_secs(30))
        }
    );
    assert_eq!(
        parse_request(b"save 1.5").unwrap(),
        ControlRequest::Save {
            last: Some(Duration::from_millis(1500))
        }
    );
    assert_eq!(
        parse_request(b"save 86400").unwrap(),
        ControlRequest::Save {
            last: Some(Duration::from_secs(86400))
        }
    );
    // The values that panicked or slipped through before.
    for value in [
        "1e20", "inf", "-inf", "infinity", "nan", "NaN", "-1", "0", "-0", "86401", "1e-300",
    ] {
        let line = format!("save {value}");
        assert_eq!(
            err(line.as_bytes()),
            format!("save takes a positive number of seconds up to 86400 (24 h), not \"{value}\""),
            "{line}"
        );
        assert!(matches!(
            parse_request(line.as_bytes()),
            Err(ControlError::SecondsOutOfRange { .. })
        ));
    }
    assert_eq!(
        err(b"save ten"),
        "save takes a positive number of seconds, not \"ten\" (for example `save 30`)"
    );
    assert_eq!(
        err(b"save 1 2"),
        "save takes one number of seconds, not \"1 2\""
    );
    assert_eq!(
        err(b"load 3"),
        "unknown command \"load\": the control socket takes `save [SECONDS]`, `status`, `stop`, `keyframe` or `bitrate RATE`"
    );
    assert_eq!(
        err(b"   \n"),
        "empty request: send `save [SECONDS]`, `status`, `stop`, `keyframe` or `bitrate RATE`"
    );
    assert_eq!(
        err(b"save \xff\xfe1"),
        "the request is not UTF-8 text (\"save \\xff\\xfe1\"): send `save [SECONDS]`, `status`, `stop`, `keyframe` or `bitrate RATE`"
    );
    // Quoted values are cut: an error stays one short line whatever the input.
    let long = format!("{}\n", "x".repeat(10_000));
    let e = err(long.as_bytes());
    assert!(e.len() < 200, "{e}");
    assert!(e.contains(&format!("\"{}...\"", "x".repeat(64))), "{e}");
    // A multi-byte command is quoted whole characters, never split.
    let e = err("é".repeat(100).as_bytes());
    assert!(e.contains(&format!("{}...", "é".repeat(64))), "{e}");
}

#[test]
fn status_stop_keyframe_and_bitrate_parse_and_their_bad_values_are_named() {
    assert_eq!(parse_request(b"status\n").unwrap(), ControlRequest::Status);
    assert_eq!(parse_request(b" stop \r\n").unwrap(), ControlRequest::Stop);
    assert_eq!(
        parse_request(b"keyframe").unwrap(),
        ControlRequest::Keyframe
    );
    for (line, bits) in [
        ("bitrate 6M", 6_000_000),
        ("bitrate 6000k\n", 6_000_000),
        ("bitrate 2.5Mbps", 2_500_000),
        // The rest of the line is the rate.
        ("bitrate 6 Mbit/s", 6_000_000),
        ("bitrate\t800k ", 800_000),
    ] {
        assert_eq!(
            parse_request(line.as_bytes()).unwrap(),
            ControlRequest::Bitrate {
                bits_per_second: bits
            },
            "{line:?}"
        );
    }
    assert_eq!(err(b"status now"), "status takes no argument, not \"now\"");
    assert_eq!(err(b"stop  -f  x"), "stop takes no argument, not \"-f  x\"");
    assert_eq!(err(b"keyframe 1"), "keyframe takes no argument, not \"1\"");
    assert!(matches!(
        parse_request(b"stop please"),
        Err(ControlError::UnexpectedArgument {
            command: "stop",
            ..
        })
    ));
    assert_eq!(
        err(b"bitrate"),
        "bitrate takes a rate in bits per second: `bitrate 6M`, `bitrate 6000k`"
    );
    assert_eq!(
        err(b"bitrate   \n"),
        "bitrate takes a rate in bits per second: `bitrate 6M`, `bitrate 6000k`"
    );
    // The rate's own error, from the one bitrate parser, naming the value.
    for value in ["fast", "0", "-6M", "99G", "nan", "6M 7M"] {
        let line = format!("bitrate {value}");
        let e = parse_request(line.as_bytes()).unwrap_err();
        let ControlError::Bitrate(unit) = &e else {
            panic!("{line}: {e:?}");
        };
        assert_eq!(unit.value, value);
        assert_eq!(
            e.to_string(),
            ghoststream::units::parse_bitrate(value)
                .unwrap_err()
                .to_string()
        );
        assert!(e.to_string().contains(&format!("'{value}'")), "{line}: {e}");
    }
    // A long rate is quoted cut, as every other value.
    let long = format!("bitrate {}", "9".repeat(200));
    let e = err(long.as_bytes());
    assert!(e.contains(&format!("'{}...'", "9".repeat(64))), "{e}");
    // Requests are lower case words.
    assert_eq!(
        err(b"STOP"),
        "unknown command \"STOP\": the control socket takes `save [SECONDS]`, `status`, `stop`, `keyframe` or `bitrate RATE`"
    );
}

#[test]
fn a_request_is_answered_through_its_reply() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let server = server(&path);
    assert_eq!(server.path(), path);
    let client = connect(&path);
    (&client).write_all(b"save 2\n").unwrap();
    let call = wait_call(&server);
    assert_eq!(
        call.request,
        ControlRequest::Save {
            last: Some(Duration::from_secs(2))
        }
    );
    call.reply.answer("saved /tmp/x.mkv");
    assert_eq!(read_answer(&client), "saved /tmp/x.mkv\n");

    // A request sent without a newline, the client closing its side, is a request too.
    let client = connect(&path);
    (&client).write_all(b"save").unwrap();
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let call = wait_call(&server);
    assert_eq!(call.request, ControlRequest::Save { last: None });
    // A reply dropped unanswered says so.
    drop(call);
    assert_eq!(
        read_answer(&client),
        "error: the request was not answered (the server stopped)\n"
    );
}

#[test]
fn a_bad_request_gets_one_error_line_and_the_server_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let server = server(&path);
    for (request, answer) in [
        (
            &b"save 1e20\n"[..],
            "error: save takes a positive number of seconds up to 86400 (24 h), not \"1e20\"\n",
        ),
        (
            b"save nan\n",
            "error: save takes a positive number of seconds up to 86400 (24 h), not \"nan\"\n",
        ),
        (
            b"\xc3\x28\n",
            "error: the request is not UTF-8 text (\"\\xc3(\"): send `save [SECONDS]`, `status`, `stop`, `keyframe` or `bitrate RATE`\n",
        ),
    ] {
        let client = connect(&path);
        (&client).write_all(request).unwrap();
        assert_eq!(read_answer(&client), answer);
    }
    assert!(server.try_recv().is_none());
    save_goes_through(&server, &path);
}

/// A client sending one byte every 100 ms: the caller's thread never waits for it, another
/// client's request goes through meanwhile, and the trickler is cut off at the deadline.
#[test]
fn a_trickling_client_does_not_hold_up_the_caller_or_other_clients() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let server = server(&path);
    let trickler = connect(&path);
    let writer = trickler.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        let mut w = &writer;
        for _ in 0..40 {
            if w.write_all(b"s").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let accepted = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    let other = connect(&path);
    (&other).write_all(b"save 1\n").unwrap();
    // The caller polls as a recording loop would; no call may take long.
    let mut slowest = Duration::ZERO;
    let mut got = None;
    while accepted.elapsed() < Duration::from_millis(1500) {
        let t = Instant::now();
        let c = server.try_recv();
        slowest = slowest.max(t.elapsed());
        if c.is_some() {
            got = c;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        slowest < Duration::from_millis(100),
        "try_recv took {slowest:?}"
    );
    let call = got.expect("the other client's request went through while the trickler trickled");
    assert_eq!(
        call.request,
        ControlRequest::Save {
            last: Some(Duration::from_secs(1))
        }
    );
    call.reply.answer("saved x");
    assert_eq!(read_answer(&other), "saved x\n");
    // The trickler is answered and closed at the deadline, not after its 4 s of bytes.
    let answer = read_answer(&trickler);
    let took = accepted.elapsed();
    assert_eq!(
        answer,
        "error: no complete request within 2s: send `save [SECONDS]`, `status`, `stop`, `keyframe` or `bitrate RATE` and a newline\n"
    );
    assert!(
        took >= REQUEST_DEADLINE - Duration::from_millis(100) && took < Duration::from_secs(5),
        "cut after {took:?}"
    );
    trickle.join().unwrap();
}

/// A client streaming 64 MiB without a newline: answered at the line limit and cut off; the
/// server stops reading, so the client cannot push more than the socket buffers hold.
#[test]
fn a_streaming_client_is_cut_at_the_line_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let server = server(&path);
    let client = connect(&path);
    client
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let writer = client.try_clone().unwrap();
    let stream = std::thread::spawn(move || {
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = 0usize;
        let mut w = &writer;
        while sent < 64 << 20 {
            match w.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        sent
    });
    let answer = read_answer(&client);
    assert_eq!(
        answer,
        format!("error: request longer than {MAX_REQUEST_BYTES} bytes\n")
    );
    let sent = stream.join().unwrap();
    assert!(
        sent < 8 << 20,
        "the server kept reading: the client pushed {sent} bytes"
    );
    // A line of exactly the limit is still a request (and an unknown one).
    let client = connect(&path);
    let line = format!("{}\n", "y".repeat(MAX_REQUEST_BYTES));
    (&client).write_all(line.as_bytes()).unwrap();
    assert!(read_answer(&client).starts_with("error: unknown command \"yyyy"));
    let client = connect(&path);
    let line = format!("{}\n", "y".repeat(MAX_REQUEST_BYTES + 1));
    (&client).write_all(line.as_bytes()).unwrap();
    assert_eq!(
        read_answer(&client),
        "error: request longer than 256 bytes\n"
    );
    drop(server);
}

/// A client that says nothing is answered and closed at the deadline.
#[test]
fn a_silent_client_is_closed_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let server = server(&path);
    let start = Instant::now();
    let client = connect(&path);
    (&client).write_all(b"sav").unwrap();
    let answer = read_answer(&client);
    let took = start.elapsed();
    assert_eq!(
        answer,
        "error: no complete request within 2s: send `save [SECONDS]`, `status`, `stop`, `keyframe` or `bitrate RATE` and a newline\n"
    );
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert!(server.try_recv().is_none());
}

/// At most MAX_CLIENTS connections at once, those waiting for their answer included; the
/// next is answered `busy` at once; a place frees when a reply is answered.
#[test]
fn extra_clients_are_told_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let server = server(&path);
    // One request handed over and not answered yet, the others silent.
    let waiting = connect(&path);
    (&waiting).write_all(b"save\n").unwrap();
    let call = wait_call(&server);
    let silent: Vec<UnixStream> = (1..MAX_CLIENTS).map(|_| connect(&path)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    let extra = connect(&path);
    assert_eq!(
        read_answer(&extra),
        "error: busy: 4 requests are already open; try again once one is answered\n"
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    call.reply.answer("saved y");
    assert_eq!(read_answer(&waiting), "saved y\n");
    // The place is free again.
    let next = connect(&path);
    (&next).write_all(b"save 3\n").unwrap();
    let call = wait_call(&server);
    assert_eq!(
        call.request,
        ControlRequest::Save {
            last: Some(Duration::from_secs(3))
        }
    );
    drop(silent);
}

#[test]
fn the_socket_file_is_removed_when_the_server_goes_even_in_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let s = server(&path);
    assert!(std::fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_socket());
    // A client in the middle of its request is told the socket is closing.
    let client = connect(&path);
    (&client).write_all(b"sa").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    drop(s);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(!path.exists());
    assert_eq!(
        read_answer(&client),
        "error: the control socket is closing\n"
    );
    // Unwinding drops it too (the recording thread panicking used to leave the file).
    let p = path.clone();
    let result = std::thread::spawn(move || {
        let _s = server(&p);
        panic!("the recording thread fails");
    })
    .join();
    assert!(result.is_err());
    assert!(!path.exists());
}

#[test]
fn a_stale_socket_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    // What a killed run leaves: a socket file nothing listens on.
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let server = server(&path);
    save_goes_through(&server, &path);
}

#[test]
fn a_live_socket_and_anything_not_a_socket_are_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let live = UnixListener::bind(&path).unwrap();
    let e = ControlServer::bind(&path, ControlOptions::default()).unwrap_err();
    assert!(matches!(e, ControlError::InUse { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "the control socket {} is in use: another program is listening on it (stop it, or pick another path)",
            path.display()
        )
    );
    // The live listener still has its socket.
    let _c = UnixStream::connect(&path).unwrap();
    drop(live);

    let file = dir.path().join("notes.txt");
    std::fs::write(&file, b"keep me").unwrap();
    let e = ControlServer::bind(&file, ControlOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{} exists and is not a socket; it is left alone: pick another path for the control socket",
            file.display()
        )
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    // A symbolic link (even to a stale socket) is not removed either.
    let stale = dir.path().join("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    let link = dir.path().join("link.sock");
    std::os::unix::fs::symlink(&stale, &link).unwrap();
    let e = ControlServer::bind(&link, ControlOptions::default()).unwrap_err();
    assert!(matches!(e, ControlError::NotASocket { .. }), "{e:?}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let d = dir.path().join("a-directory");
    std::fs::create_dir(&d).unwrap();
    assert!(matches!(
        ControlServer::bind(&d, ControlOptions::default()),
        Err(ControlError::NotASocket { .. })
    ));
    assert!(d.is_dir());
    // A directory that does not exist: the OS error, naming the path.
    let missing = dir.path().join("no/such/dir/c.sock");
    let e = ControlServer::bind(&missing, ControlOptions::default()).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "cannot open the control socket {}: No such file or directory",
            missing.display()
        )),
        "{e}"
    );
}

#[test]
fn limits_that_serve_nothing_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    for options in [
        ControlOptions {
            max_clients: 0,
            ..Default::default()
        },
        ControlOptions {
            max_request_bytes: 0,
            ..Default::default()
        },
        ControlOptions {
            deadline: Duration::ZERO,
            ..Default::default()
        },
        ControlOptions {
            deadline: Duration::MAX,
            ..Default::default()
        },
    ] {
        let e = ControlServer::bind(&path, options).unwrap_err();
        assert!(matches!(e, ControlError::Options { .. }), "{e:?}");
        assert!(!path.exists());
    }
}

const T: Duration = Duration::from_secs(5);

/// Answers every request `server` hands over the way a recorder does, until `count` have
/// been answered; gives back the requests seen.
fn answer_like_a_recorder(
    server: ControlServer,
    count: usize,
) -> std::thread::JoinHandle<Vec<ControlRequest>> {
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        while seen.len() < count {
            let call = wait_call(&server);
            let answer = match call.request {
                ControlRequest::Save { last: None } => "saved /tmp/x.mkv".to_string(),
                ControlRequest::Save { last: Some(d) } => format!("saved /tmp/last-{d:?}.mkv"),
                ControlRequest::Status => r#"{"frames":10,"state":"recording"}"#.to_string(),
                ControlRequest::Bitrate {
                    bits_per_second: 1_000,
                } => "error: 1000 bits per second is below this encoder's least".to_string(),
                _ => "ok".to_string(),
            };
            seen.push(call.request);
            call.reply.answer(&answer);
        }
        seen
    })
}

#[test]
fn the_client_gets_each_answer_from_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let serving = answer_like_a_recorder(server(&path), 7);
    assert_eq!(request(&path, "save", T).unwrap(), "saved /tmp/x.mkv");
    assert_eq!(
        request(&path, "save 2.5", T).unwrap(),
        "saved /tmp/last-2.5s.mkv"
    );
    assert_eq!(
        request(&path, "status", T).unwrap(),
        r#"{"frames":10,"state":"recording"}"#
    );
    assert_eq!(request(&path, "keyframe", T).unwrap(), "ok");
    assert_eq!(request(&path, "bitrate 6M", T).unwrap(), "ok");
    assert_eq!(request(&path, "stop", T).unwrap(), "ok");
    // An `error: ...` answer is a typed error carrying the server's words.
    let e = request(&path, "bitrate 1k", T).unwrap_err();
    assert!(matches!(e, ControlError::Server { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "1000 bits per second is below this encoder's least"
    );
    assert_eq!(
        serving.join().unwrap(),
        [
            ControlRequest::Save { last: None },
            ControlRequest::Save {
                last: Some(Duration::from_millis(2500))
            },
            ControlRequest::Status,
            ControlRequest::Keyframe,
            ControlRequest::Bitrate {
                bits_per_second: 6_000_000
            },
            ControlRequest::Stop,
            ControlRequest::Bitrate {
                bits_per_second: 1_000
            },
        ]
    );
}

#[test]
fn the_client_is_told_the_servers_parse_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let _server = server(&path);
    let e = request(&path, "save 1e20", T).unwrap_err();
    assert_eq!(
        e.to_string(),
        "save takes a positive number of seconds up to 86400 (24 h), not \"1e20\""
    );
    let e = request(&path, "pause", T).unwrap_err();
    assert!(
        matches!(&e, ControlError::Server { message } if message.starts_with("unknown command \"pause\"")),
        "{e:?}"
    );
    // A line that is not one request is refused before anything is sent.
    for line in ["save\nstop", "stop\r", &"x".repeat(MAX_REQUEST_BYTES + 1)] {
        let e = request(&path, line, T).unwrap_err();
        assert!(matches!(e, ControlError::InvalidRequest { .. }), "{e:?}");
    }
    assert_eq!(
        request(&path, "save\nstop", T).unwrap_err().to_string(),
        "a request is one line of at most 256 bytes, not \"save\\nstop\""
    );
}

#[test]
fn a_stale_socket_is_told_apart_from_nothing_and_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    // What a killed run leaves: a socket file nothing listens on.
    let stale = dir.path().join("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    let e = request(&stale, "status", T).unwrap_err();
    assert!(matches!(e, ControlError::Stale { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "no recorder is listening at {}: it is the control socket of a recording that was killed, and nothing is running there now (the next recording at that path replaces it)",
            stale.display()
        )
    );
    assert!(stale.exists(), "the client leaves the stale socket alone");
    // The next server at that path replaces it, and the client reaches that one.
    let serving = answer_like_a_recorder(server(&stale), 1);
    assert_eq!(request(&stale, "stop", T).unwrap(), "ok");
    serving.join().unwrap();

    let missing = dir.path().join("missing.sock");
    let e = request(&missing, "status", T).unwrap_err();
    assert!(matches!(e, ControlError::NoServer { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "no recorder is listening at {} (nothing is there): start a recording with its control socket at that path, or give the path of the one running",
            missing.display()
        )
    );
    // A file that is not a socket (connecting to it would also be refused): named as such.
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, b"keep me").unwrap();
    let e = request(&notes, "status", T).unwrap_err();
    assert!(matches!(e, ControlError::NotASocket { .. }), "{e:?}");
    assert_eq!(std::fs::read(&notes).unwrap(), b"keep me");
}

#[test]
fn a_server_that_never_answers_times_out_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    // Listens (so connecting works) but never accepts, reads or answers.
    let _listener = UnixListener::bind(&path).unwrap();
    let timeout = Duration::from_millis(300);
    let start = Instant::now();
    let e = request(&path, "save", timeout).unwrap_err();
    let took = start.elapsed();
    assert!(matches!(e, ControlError::Timeout { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "no answer to \"save\" from {} within 300ms: the recorder may be stalled; try again, or allow a longer timeout",
            path.display()
        )
    );
    assert!(took >= timeout && took < Duration::from_secs(3), "{took:?}");

    // A server that accepts and reads but answers only half a line, then stalls.
    let path = dir.path().join("half.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let stall = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"saved /tmp/pa").unwrap();
        std::thread::sleep(Duration::from_secs(1));
    });
    let start = Instant::now();
    let e = request(&path, "save", timeout).unwrap_err();
    assert!(matches!(e, ControlError::Timeout { .. }), "{e:?}");
    assert!(start.elapsed() < Duration::from_secs(3));
    stall.join().unwrap();
}

/// A server whose backlog is full (it does not accept): connecting would block forever; the
/// client waits only its timeout.
#[test]
fn a_full_backlog_is_waited_on_only_until_the_timeout() {
    use rustix::net::{AddressFamily, SocketAddrUnix, SocketType};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let listener = rustix::net::socket(AddressFamily::UNIX, SocketType::STREAM, None).unwrap();
    rustix::net::bind(&listener, &SocketAddrUnix::new(&path).unwrap()).unwrap();
    // Backlog 0: Linux queues one connection, the next finds the queue full.
    rustix::net::listen(&listener, 0).unwrap();
    let timeout = Duration::from_millis(300);
    for _ in 0..3 {
        let start = Instant::now();
        let e = request(&path, "status", timeout).unwrap_err();
        assert!(matches!(e, ControlError::Timeout { .. }), "{e:?}");
        let took = start.elapsed();
        assert!(took >= timeout && took < Duration::from_secs(3), "{took:?}");
    }
}

#[test]
fn a_server_that_closes_silently_or_answers_too_much_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let serving = std::thread::spawn(move || {
        // The first client: closed without a word.
        drop(listener.accept().unwrap());
        // The second: an endless answer without a newline.
        let (mut s, _) = listener.accept().unwrap();
        s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        let chunk = vec![b'z'; 64 * 1024];
        let mut sent = 0usize;
        while sent < 16 << 20 {
            match s.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        sent
    });
    let e = request(&path, "status", T).unwrap_err();
    assert!(matches!(e, ControlError::NoAnswer { .. }), "{e:?}");
    let e = request(&path, "status", T).unwrap_err();
    assert!(
        matches!(e, ControlError::AnswerTooLong { limit, .. } if limit == MAX_ANSWER_BYTES),
        "{e:?}"
    );
    let sent = serving.join().unwrap();
    assert!(sent < 8 << 20, "the client kept reading: {sent} bytes");
}

/// A server with every place taken answers `busy` at once; the client reports it.
#[test]
fn the_client_is_told_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let _server = server(&path);
    let silent: Vec<UnixStream> = (0..MAX_CLIENTS).map(|_| connect(&path)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    let e = request(&path, "status", T).unwrap_err();
    assert_eq!(
        e.to_string(),
        "busy: 4 requests are already open; try again once one is answered"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    drop(silent);
}

/// The control socket's folder is made (mode 0700) when it is missing, as
/// `$XDG_RUNTIME_DIR/ghoststream` is before the first recording.
#[test]
fn binding_creates_the_sockets_missing_folder_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ghoststream").join("control.sock");
    let serving = answer_like_a_recorder(server(&path), 1);
    let mode = std::fs::metadata(dir.path().join("ghoststream"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    assert_eq!(request(&path, "keyframe", T).unwrap(), "ok");
    serving.join().unwrap();
}
