//! The library's Recorder with no binary involved: the test pattern recorded to Matroska, a
//! replay buffer and an SRT stream at once (every output decoded by ffprobe); a replay saved
//! and the recording stopped from other threads; events in order; a source that dies part
//! way; the mistakes refused before anything starts.
#![cfg(feature = "software")]

mod common;
mod stream_env;
mod unprivileged;

use std::path::Path;
use std::time::{Duration, Instant};

use ghoststream::recorder::{
    Limit, OutputSpec, Recorder, RecorderError, RecorderEvent, RecorderOptions, RecorderSummary,
    StreamState,
};
use ghoststream::source::SourceSpec;
use ghoststream::{Codec, KeyframeEvery, Rational};

/// A real-time test pattern of 160x96 at 30 fps, H.264, a keyframe a second.
fn live_pattern(outputs: Vec<OutputSpec>) -> RecorderOptions {
    let mut o = RecorderOptions::new(SourceSpec::TestPattern, outputs);
    o.source_options.size = Some((160, 96));
    o.source_options.frame_rate = Some(Rational::new(30, 1));
    o.source_options.realtime = true;
    o.codec = Some(Codec::H264);
    o.keyframe_interval = Some(KeyframeEvery::Frames(30));
    o
}

/// Every event until `Finished` (bounded: 60 s).
fn events_until_finished(r: &Recorder) -> Vec<RecorderEvent> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut events = Vec::new();
    while Instant::now() < deadline {
        if let Some(e) = r.next_event(Duration::from_millis(100)) {
            let last = matches!(e, RecorderEvent::Finished(_));
            events.push(e);
            if last {
                return events;
            }
        }
    }
    panic!("no Finished event within 60 s; got {events:?}");
}

/// The names of the events, in order, with repeats of stream drops folded.
fn kinds(events: &[RecorderEvent]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e {
            RecorderEvent::Notice(_) => "notice",
            RecorderEvent::Started(_) => "started",
            RecorderEvent::ReplaySaved(_) => "replay saved",
            RecorderEvent::ReplayFailed { .. } => "replay failed",
            RecorderEvent::Stream {
                state: StreamState::Connected,
                ..
            } => "stream connected",
            RecorderEvent::Stream { .. } => "stream other",
            RecorderEvent::FallingBehind { .. } => "behind",
            RecorderEvent::SourceLost { .. } => "source lost",
            RecorderEvent::Finished(_) => "finished",
            _ => "other",
        })
        .collect()
}

/// (frames decoded, first is a key frame).
fn decoded(path: &Path) -> (usize, bool) {
    let frames = common::probe_frames(path);
    (frames.len(), frames.first().is_some_and(|f| f.key))
}

#[test]
fn the_pattern_goes_to_matroska_a_replay_and_srt_at_once_with_controls_from_other_threads() {
    let Some(mut server) = stream_env::SrtServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mkv = dir.path().join("all.mkv");
    let replays = dir.path().join("replays");
    std::fs::create_dir(&replays).unwrap();
    let options = live_pattern(vec![
        OutputSpec::file(&mkv),
        OutputSpec::replay(Duration::from_secs(10), 64 << 20, &replays),
        OutputSpec::live(server.url()),
    ]);
    let mut recorder = Recorder::start(options).unwrap();
    let controls = recorder.controls();
    // Another thread saves the last second once two seconds are encoded, then stops the
    // recording a second later.
    let other = std::thread::spawn(move || {
        let wait_for = |packets: u64| {
            let deadline = Instant::now() + Duration::from_secs(30);
            while controls.status().packets < packets {
                assert!(Instant::now() < deadline, "{:?}", controls.status());
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        wait_for(60);
        let saved = controls
            .save_replay(Some(Duration::from_secs(1)))
            .unwrap()
            .wait(Duration::from_secs(30))
            .unwrap();
        wait_for(90);
        controls.stop();
        saved
    });
    let events = events_until_finished(&recorder);
    let saved = other.join().unwrap();
    let summary: RecorderSummary = recorder.wait().unwrap();

    let order = kinds(&events);
    assert_eq!(order.first(), Some(&"started"), "{order:?}");
    assert_eq!(order.get(1), Some(&"stream connected"), "{order:?}");
    assert_eq!(order.last(), Some(&"finished"), "{order:?}");
    let saved_at = order.iter().position(|k| *k == "replay saved").unwrap();
    assert!(saved_at > 1 && saved_at < order.len() - 1, "{order:?}");
    assert!(
        events
            .iter()
            .any(|e| e == &RecorderEvent::ReplaySaved(saved.clone())),
        "the event names the same file: {events:?}"
    );

    // A live source on the software encoder gets the preset that keeps real time.
    let started = summary.started.as_ref().unwrap();
    if started.encoder.contains("software") {
        assert_eq!(
            started.config.preset,
            ghoststream::Preset::P3,
            "{started:?}"
        );
    }
    // Stopped from the other thread between 90 frames and the end of the bounded wait.
    assert!(summary.packets >= 90, "{summary:?}");
    assert_eq!(summary.frames, summary.packets, "{summary:?}");
    assert_eq!(summary.files.len(), 1);
    let (frames, key) = decoded(&mkv);
    assert_eq!(frames as u64, summary.packets, "the file holds every frame");
    assert!(key);

    // The replay: from the key frame that covers the last second (keyframes every 30
    // frames), so between 30 and 60 frames, starting on a key frame.
    assert!(saved.path.starts_with(&replays), "{saved:?}");
    let (frames, key) = decoded(&saved.path);
    assert_eq!(frames as u64, saved.frames, "{saved:?}");
    assert!((30..=60).contains(&frames), "{frames} frames in {saved:?}");
    assert!(key, "the replay starts on a key frame");

    // The stream: srt-live-transmit leaves once the caller disconnects.
    server.stop(Duration::from_secs(5));
    let (streamed, key) = decoded(&server.file(1));
    let (url, stats) = &summary.streams[0];
    assert_eq!(url, &server.url());
    assert_eq!(stats.sent + stats.dropped, summary.packets, "{stats:?}");
    assert!(
        streamed >= 60,
        "{streamed} frames received over SRT: {stats:?}"
    );
    assert!(key);
}

/// A Y4M file of `frames` whole frames of 64x48 I420 and then half a frame.
fn truncated_y4m(path: &Path, frames: usize) {
    let frame = 64 * 48 * 3 / 2;
    let mut data = b"YUV4MPEG2 W64 H48 F30:1 Ip A1:1 C420jpeg\n".to_vec();
    for i in 0..frames {
        data.extend_from_slice(b"FRAME\n");
        data.extend(std::iter::repeat_n(
            u8::try_from(i * 20 % 256).unwrap(),
            frame,
        ));
    }
    data.extend_from_slice(b"FRAME\n");
    data.extend(std::iter::repeat_n(7u8, frame / 2));
    std::fs::write(path, data).unwrap();
}

#[test]
fn a_source_that_dies_part_way_is_told_and_leaves_a_playable_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cut.y4m");
    truncated_y4m(&input, 12);
    let out = dir.path().join("cut.mkv");
    let mut options = RecorderOptions::new(
        SourceSpec::File(input.clone()),
        vec![OutputSpec::file(&out)],
    );
    options.codec = Some(Codec::H264);
    let mut recorder = Recorder::start(options).unwrap();
    let events = events_until_finished(&recorder);
    let order = kinds(&events);
    assert_eq!(order, ["started", "source lost", "finished"], "{events:?}");
    let summary = recorder.wait().unwrap();
    let lost = summary.source_lost.as_deref().unwrap();
    assert!(lost.contains("frame 12 is truncated"), "{lost}");
    assert_eq!(summary.packets, 12);
    assert_eq!(decoded(&out), (12, true));
}

#[test]
fn a_recording_that_encodes_nothing_leaves_no_file_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("empty.y4m");
    truncated_y4m(&input, 0);
    let out = dir.path().join("none.mkv");
    let mut options = RecorderOptions::new(
        SourceSpec::File(input.clone()),
        vec![OutputSpec::file(&out)],
    );
    options.codec = Some(Codec::H264);
    let mut recorder = Recorder::start(options).unwrap();
    let e = recorder.wait().unwrap_err();
    assert!(matches!(e, RecorderError::NoFrames { .. }), "{e:?}");
    assert!(e.to_string().contains("before its first frame"), "{e}");
    assert!(!out.exists(), "no file is left behind");
}

#[test]
fn a_forced_keyframe_lands_and_an_unsupported_rate_change_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k.h264");
    let mut options = live_pattern(vec![OutputSpec::file(&out)]);
    options.keyframe_interval = Some(KeyframeEvery::Never);
    options.limit = Some(Limit::Frames(45));
    options.rate.bitrate = Some(500_000); // CBR: a rate the encoder could change
    let mut recorder = Recorder::start(options).unwrap();
    let controls = recorder.controls();
    let deadline = Instant::now() + Duration::from_secs(30);
    while controls.status().submitted < 20 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    controls.request_keyframe().unwrap();
    // x264 forces keyframes but has no live rate change: the session says so, typed.
    let e = controls.set_bitrate(2_000_000).unwrap_err();
    assert!(
        matches!(e, RecorderError::Session(_)),
        "{e:?} should be the session's refusal"
    );
    let summary = recorder.wait().unwrap();
    assert_eq!(
        summary.started.unwrap().config.rate_control,
        ghoststream::RateControl::Cbr { bitrate: 500_000 },
        "a bitrate alone implies CBR"
    );
    let keys = common::decoded_keyframes(&out);
    assert_eq!(
        keys.len(),
        2,
        "the first frame and the forced one: {keys:?}"
    );
    assert_eq!(keys[0], 0);
    assert!((20..45).contains(&keys[1]), "{keys:?}");
    // Once the recording is over, controls say so.
    assert!(matches!(
        controls.request_keyframe(),
        Err(RecorderError::Ended)
    ));
}

#[test]
fn mistakes_are_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("keep.mkv");
    std::fs::write(&existing, b"precious").unwrap();
    let start = |outputs| Recorder::start(RecorderOptions::new(SourceSpec::TestPattern, outputs));

    assert!(matches!(start(vec![]), Err(RecorderError::NoOutput)));
    let e = start(vec![OutputSpec::file(&existing)]).unwrap_err();
    assert!(
        matches!(
            e,
            RecorderError::Sink(ghoststream::output::SinkError::Exists { .. })
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("keep.mkv"), "{e}");
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");
    let e = start(vec![OutputSpec::file("-"), OutputSpec::stats("-")]).unwrap_err();
    assert!(matches!(e, RecorderError::StdoutTwice { .. }), "{e:?}");
    let e = start(vec![OutputSpec::replay(
        Duration::from_secs(5),
        1 << 20,
        &existing,
    )])
    .unwrap_err();
    assert!(matches!(e, RecorderError::ReplayDir { .. }), "{e:?}");
    let e = start(vec![OutputSpec::file(dir.path().join("x.unknown"))]).unwrap_err();
    assert!(matches!(e, RecorderError::Sink(_)), "{e:?}");
    let same = dir.path().join("same.y4m");
    std::fs::write(&same, b"").unwrap();
    let mut o = RecorderOptions::new(
        SourceSpec::File(same.clone()),
        vec![OutputSpec::File {
            path: same.clone(),
            format: Some(ghoststream::output::OutputFormat::Container(
                ghoststream::output::ContainerFormat::Matroska,
            )),
            overwrite: true,
        }],
    );
    o.codec = Some(Codec::H264);
    let e = Recorder::start(o).unwrap_err();
    assert!(matches!(e, RecorderError::SamePath(_)), "{e:?}");

    // A recording without a replay buffer refuses saves at once.
    let mut o = RecorderOptions::new(
        SourceSpec::TestPattern,
        vec![OutputSpec::file(dir.path().join("a.mkv"))],
    );
    o.limit = Some(Limit::Frames(3));
    o.source_options.size = Some((64, 64));
    let mut r = Recorder::start(o).unwrap();
    assert!(matches!(
        r.controls().save_replay(None),
        Err(RecorderError::NoReplay)
    ));
    assert_eq!(r.wait().unwrap().packets, 3);
}

#[test]
fn frames_pushed_by_the_host_are_recorded_and_a_full_queue_hands_the_frame_back() {
    use ghoststream::source::{FrameSource, TestPattern};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("host.mkv");
    let mut options = RecorderOptions::new(SourceSpec::Host, vec![OutputSpec::file(&out)]);
    options.source_options.size = Some((64, 64));
    options.source_options.format = Some(ghoststream::PixelFormat::I420);
    options.codec = Some(Codec::H264);
    options.session.queue_depth = 1;
    let mut recorder = Recorder::start(options).unwrap();
    let feeder = recorder.take_feeder().expect("a host source has a feeder");
    assert!(recorder.take_feeder().is_none(), "the feeder is taken once");
    let mut pattern = TestPattern::new(
        ghoststream::PixelFormat::I420,
        64,
        64,
        Rational::new(30, 1),
        Some(60),
    )
    .unwrap();
    let mut handed_back = 0;
    while let Some(mut frame) = pattern.next_frame().unwrap() {
        let pts = frame.pts;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match feeder.push(frame) {
                Ok(()) => break,
                Err(rejected) => {
                    assert!(
                        matches!(rejected.reason, RecorderError::QueueFull { depth: 1 }),
                        "{rejected}"
                    );
                    assert_eq!(rejected.frame.pts, pts, "the same frame comes back");
                    handed_back += 1;
                    frame = *rejected.frame;
                    assert!(Instant::now() < deadline);
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
    // Pushing takes microseconds and encoding a frame far longer, so with a queue of one the
    // host always finds it full at least once (the first push lands before the session is
    // even open): the hand-back path is exercised, not only allowed.
    assert!(handed_back > 0, "no push found the queue of one full");
    let late = feeder.clone();
    feeder.finish();
    drop(late);
    let summary = recorder.wait().unwrap();
    assert_eq!(summary.packets, 60);
    assert_eq!(decoded(&out), (60, true));
}

#[test]
fn a_host_source_needs_its_size_and_format() {
    let dir = tempfile::tempdir().unwrap();
    let options = RecorderOptions::new(
        SourceSpec::Host,
        vec![OutputSpec::file(dir.path().join("x.mkv"))],
    );
    let e = Recorder::start(options).unwrap_err();
    assert!(e.to_string().contains("size and pixel format"), "{e}");
}

#[test]
fn the_control_socket_answers_status_save_keyframe_bitrate_and_stop() {
    use ghoststream::control::request;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("sock/control.sock");
    let out = dir.path().join("c.mkv");
    let mut options = live_pattern(vec![
        OutputSpec::file(&out),
        OutputSpec::replay(Duration::from_secs(10), 64 << 20, dir.path()),
    ]);
    options.control_socket = Some(socket.clone());
    let mut recorder = Recorder::start(options).unwrap();
    let controls = recorder.controls();
    let deadline = Instant::now() + Duration::from_secs(30);
    while controls.status().packets < 40 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    let ask = |line: &str| request(&socket, line, Duration::from_secs(30));
    let status: serde_json::Value = serde_json::from_str(&ask("status").unwrap()).unwrap();
    assert!(status["packets"].as_u64().unwrap() >= 40, "{status}");
    assert_eq!(status["started"], true);
    assert!(
        status["replay"]["seconds"].as_f64().unwrap() > 0.9,
        "{status}"
    );
    assert_eq!(ask("keyframe").unwrap(), "ok");
    // The file's default is constant quality, which has no bitrate to change.
    let e = ask("bitrate 2M").unwrap_err();
    assert!(e.to_string().contains("cq"), "{e}");
    let saved = ask("save 1").unwrap();
    let path = Path::new(saved.strip_prefix("saved ").unwrap());
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("Replay_") && name.ends_with(".mkv"),
        "named by the local date and time: {name}"
    );
    assert!(decoded(path).1, "the save starts on a key frame");
    assert_eq!(ask("stop").unwrap(), "ok");
    let summary = recorder.wait().unwrap();
    assert_eq!(decoded(&out).0 as u64, summary.packets);
    assert_eq!(summary.replay_saves, 1);
    assert!(!socket.exists(), "the socket file goes with the recording");
}

#[test]
fn a_live_encode_that_cannot_keep_up_says_it_falls_behind() {
    // 720p at 240 fps, AV1 at its slowest preset, on a machine of a few cores: far slower than
    // real time, with the session blocking (losing nothing) rather than dropping.
    let dir = tempfile::tempdir().unwrap();
    let mut options = live_pattern(vec![OutputSpec::file(dir.path().join("slow.mkv"))]);
    options.source_options.size = Some((1280, 720));
    options.source_options.frame_rate = Some(Rational::new(240, 1));
    options.codec = Some(Codec::Av1);
    options.preset = Some(ghoststream::Preset::P7);
    let mut recorder = Recorder::start(options).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let behind = loop {
        assert!(
            Instant::now() < deadline,
            "no FallingBehind event within 30 s"
        );
        match recorder.next_event(Duration::from_millis(100)) {
            Some(RecorderEvent::FallingBehind { behind }) => break behind,
            Some(RecorderEvent::Finished(r)) => panic!("finished first: {r:?}"),
            _ => {}
        }
    };
    assert!(behind > Duration::from_millis(500), "{behind:?}");
    assert!(recorder.controls().status().behind >= behind);
    recorder.stop();
    recorder.wait().unwrap();
}
