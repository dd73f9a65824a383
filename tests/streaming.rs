//! Live streaming to real servers on loopback, started by each test: nginx's RTMP module
//! (recording what it receives) and srt-live-transmit (writing the MPEG-TS it receives). The
//! received streams are decoded by ffmpeg; servers are killed and started again mid-stream
//! and the stream must resume on a key frame, with the queue bounded and the losses counted.
#![cfg(feature = "software")]

mod common;
mod stream_env;
mod unprivileged;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ghoststream::output::live::{open_live, LiveOptions, LiveSink};
use ghoststream::{Codec, KeyframeInterval, Packet};
use stream_env::{RtmpServer, SrtServer};

fn packets(codec: Codec, frames: u64) -> Vec<Packet> {
    let mut config = common::config(codec, 160, 96, 30);
    config.keyframe_interval = KeyframeInterval::Frames(30);
    common::encode_pattern(&config, frames).packets
}

fn config(codec: Codec) -> ghoststream::SessionConfig {
    common::config(codec, 160, 96, 30)
}

/// Sends `packets` at 30 per second (a live source), checking the queue's bound.
fn send_live(sink: &mut LiveSink, packets: &[Packet], buffer: Duration) {
    let start = Instant::now();
    for (i, p) in packets.iter().enumerate() {
        let due = start + Duration::from_millis(i as u64 * 1000 / 30);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        sink.write(p);
        let queued = sink.stats().queued;
        assert!(
            queued as f64 <= buffer.as_secs_f64() * 30.0 + 31.0,
            "{queued} packets queued for a {buffer:?} buffer"
        );
    }
}

/// Sends `packets` live with an outage: the first 60, then the server is killed for the next
/// 30 (1 s) and started again for the rest.
fn send_through_an_outage(
    sink: &mut LiveSink,
    packets: &[Packet],
    buffer: Duration,
    mut kill: impl FnMut(),
    mut restart: impl FnMut(),
) {
    send_live(sink, &packets[..60], buffer);
    kill();
    send_live(sink, &packets[60..90], buffer);
    restart();
    send_live(sink, &packets[90..], buffer);
}

/// (frames decoded, first frame is a key frame) of a received stream, tolerating a cut end.
fn received(path: &Path) -> (usize, bool) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "quiet",
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=key_frame",
        ])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // One line per frame, its first field the key-frame flag (side data may follow).
    let keys: Vec<&str> = text
        .lines()
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split(',').next())
        .collect();
    (keys.len(), keys.first() == Some(&"1"))
}

#[test]
fn rtmp_to_nginx_is_received_whole_and_resumes_after_the_server_restarts() {
    let Some(server) = RtmpServer::start() else {
        return;
    };
    let all = packets(Codec::H264, 240);
    let options = LiveOptions {
        buffer: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
    };
    let mut sink = open_live(&server.url("gs"), &config(Codec::H264), options)
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    // The server vanishes for about a second and comes back on the same port.
    let server = std::cell::RefCell::new(server);
    send_through_an_outage(
        &mut sink,
        &all,
        options.buffer,
        || server.borrow_mut().kill(),
        || server.borrow_mut().restart(),
    );
    let server = server.into_inner();
    let stats = sink.finish(Duration::from_secs(5));
    eprintln!("{stats:?}");
    assert!(stats.connections >= 2, "reconnected: {stats:?}");
    assert_eq!(
        stats.sent + stats.dropped,
        240,
        "every packet sent or counted: {stats:?}"
    );
    assert!(
        stats.dropped >= 20,
        "the outage lost packets, and they are counted: {stats:?}"
    );
    // nginx finishes its recording when the publisher leaves.
    std::thread::sleep(Duration::from_millis(500));
    let recordings = server.recordings();
    assert_eq!(recordings.len(), 2, "{recordings:?}\n{}", server.log());
    let (before, before_key) = received(&recordings[0]);
    let (after, after_key) = received(&recordings[1]);
    eprintln!("received {before} frames before the restart, {after} after");
    assert!(
        before_key && after_key,
        "each recording starts on a key frame"
    );
    assert!(before >= 50, "{before} frames before the outage");
    assert!(after >= 120, "{after} frames after the restart");
    // What TCP had accepted when nginx was killed is lost without a trace: a few packets.
    let accounted = before as u64 + after as u64 + stats.dropped;
    assert!(
        (230..=240).contains(&accounted),
        "{accounted} of 240: {stats:?}"
    );
}

#[test]
fn srt_to_a_listener_decodes_and_resumes_after_the_listener_restarts() {
    for codec in [Codec::H264, Codec::Hevc] {
        let Some(server) = SrtServer::start() else {
            return;
        };
        // SRT notices a vanished listener only after about 5 s of silence (its peer-idle
        // timeout and expiry count), so the stream runs 10 s past the restart.
        let all = packets(codec, 450);
        let options = LiveOptions {
            buffer: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
        };
        let mut sink = open_live(&server.url(), &config(codec), options)
            .unwrap_or_else(|e| panic!("{codec}: {e}"));
        let listener = std::cell::RefCell::new(server);
        send_through_an_outage(
            &mut sink,
            &all,
            options.buffer,
            || listener.borrow_mut().kill(),
            || listener.borrow_mut().restart(),
        );
        let mut server = listener.into_inner();
        let stats = sink.finish(Duration::from_secs(5));
        eprintln!("{codec}: {stats:?}");
        server.stop(Duration::from_secs(5));
        let (before, before_key) = received(&server.file(1));
        let (after, after_key) = received(&server.file(2));
        eprintln!("{codec}: received {before} frames before the restart, {after} after");
        assert!(stats.connections >= 2, "{codec}: {stats:?}");
        // Packets handed to SRT before it noticed the listener gone count as sent: SRT cannot
        // say which of them arrived, so only the upper bound is exact.
        assert_eq!(stats.sent + stats.dropped, 450, "{codec}: {stats:?}");
        assert!(
            before as u64 + after as u64 + stats.dropped <= 450,
            "{codec}: {stats:?}"
        );
        assert!(
            before_key && after_key,
            "{codec}: each part starts on a key frame"
        );
        assert!(before >= 50, "{codec}: {before} frames before the outage");
        assert!(after >= 120, "{codec}: {after} frames after the restart");
    }
}

#[test]
fn an_unreachable_server_is_a_typed_error_not_a_hang() {
    let options = LiveOptions {
        buffer: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(1),
    };
    let closed = stream_env::free_port();
    for url in [
        format!("rtmp://127.0.0.1:{closed}/live/x"),
        format!("srt://127.0.0.1:{closed}"),
    ] {
        let started = Instant::now();
        let e = open_live(&url, &config(Codec::H264), options).unwrap_err();
        let took = started.elapsed();
        eprintln!("{url}: {e} after {took:?}");
        assert!(e.to_string().contains(&url), "{e}");
        assert!(took < Duration::from_secs(5), "{url}: {took:?}");
    }
}
