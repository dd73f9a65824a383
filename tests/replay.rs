//! The replay buffer fed by a real encoder: a 30 s buffer over two minutes of H.264, clips
//! saved to Matroska at several moments (two at once, one while another is being written),
//! each checked by ffprobe/ffmpeg for its length, its first key frame and a clean decode.
#![cfg(feature = "software")]

mod common;

use std::time::Duration;

use ghoststream::output::replay::{ReplayBuffer, ReplayLimits, ReplaySaver};
use ghoststream::output::ContainerFormat;
use ghoststream::output::OutputFormat;
use ghoststream::source::{FrameSource, TestPattern};
use ghoststream::{Codec, Session, SessionOutput};

/// (frames, first frame is key, clean decode) of a saved clip.
fn probe(path: &std::path::Path) -> (usize, bool) {
    let frames = common::probe_frames(path);
    (frames.len(), frames.first().is_some_and(|f| f.key))
}

#[test]
fn a_30_s_buffer_over_two_minutes_saves_clips_that_start_on_a_key_frame_and_decode() {
    let mut config = common::config(Codec::H264, 160, 96, 30);
    config.keyframe_interval = ghoststream::KeyframeInterval::Frames(60); // a GOP every 2 s
    let limit_bytes = 64 << 20;
    let mut buffer = ReplayBuffer::new(ReplayLimits {
        duration: Duration::from_secs(30),
        bytes: limit_bytes,
    })
    .unwrap();
    let saver = ReplaySaver::start(config.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let format = OutputFormat::Container(ContainerFormat::Matroska);

    let total = 120 * 30;
    let mut source = TestPattern::new(
        config.input_format,
        config.width,
        config.height,
        config.frame_rate,
        Some(total),
    )
    .unwrap();
    let mut session = Session::open(config.clone()).unwrap();
    let mut pending = Vec::new();
    let mut received = 0u64;
    let mut peak = 0usize;
    let mut on_packet = |out: SessionOutput, buffer: &mut ReplayBuffer, pending: &mut Vec<_>| {
        let SessionOutput::Packet(p) = out else {
            panic!("no frame is dropped with blocking back-pressure")
        };
        buffer.push(p);
        received += 1;
        peak = peak.max(buffer.stats().bytes);
        // Saves at 40 s (two in a row), 80 s, and at the end.
        if [1200, 2400].contains(&received) {
            for k in 0..(if received == 1200 { 2 } else { 1 }) {
                let clip = buffer.clip(None).unwrap();
                let path = dir.path().join(format!("at{received}-{k}.mkv"));
                pending.push((saver.save(clip, path, format), 30.0));
            }
        }
        if received == 2400 {
            // And a 10 s clip, asked for while the previous save may still be running.
            let clip = buffer.clip(Some(Duration::from_secs(10))).unwrap();
            let path = dir.path().join("at2400-short.mkv");
            pending.push((saver.save(clip, path, format), 10.0));
        }
    };
    while let Some(frame) = source.next_frame().unwrap() {
        session.submit(frame).unwrap();
        while let Some(out) = session.try_receive().unwrap() {
            on_packet(out, &mut buffer, &mut pending);
        }
    }
    for out in session.close().unwrap() {
        on_packet(out, &mut buffer, &mut pending);
    }
    assert_eq!(received, total);
    let stats = buffer.stats();
    eprintln!("buffer at the end: {stats:?}; peak {peak} bytes");
    assert!(peak <= limit_bytes);
    assert!(
        stats.duration >= Duration::from_secs(30) && stats.duration <= Duration::from_secs(32),
        "{stats:?}"
    );
    assert!(stats.evicted_gops >= 40, "{stats:?}");
    let last = buffer.clip(None).unwrap();
    pending.push((saver.save(last, dir.path().join("end.mkv"), format), 30.0));

    for (save, seconds) in pending {
        let path = save.path().to_path_buf();
        let summary = save
            .wait()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (frames, key_first) = probe(&path);
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a few seconds of 30 fps frames"
        )]
        let want = (seconds * 30.0) as usize;
        eprintln!(
            "{}: {frames} frames, {} bytes",
            path.display(),
            summary.bytes
        );
        assert!(
            key_first,
            "{}: the clip starts on a key frame",
            path.display()
        );
        // The right duration within one GOP (60 frames).
        assert!(
            frames >= want && frames <= want + 60,
            "{}: {frames} frames for a {seconds} s clip",
            path.display()
        );
        common::decode_raw(&path, "yuv420p");
    }
}

#[test]
fn the_byte_bound_holds_under_a_real_stream() {
    let mut config = common::config(Codec::H264, 160, 96, 30);
    config.keyframe_interval = ghoststream::KeyframeInterval::Frames(30);
    let bound = 150_000;
    let mut buffer = ReplayBuffer::new(ReplayLimits {
        duration: Duration::from_secs(3600),
        bytes: bound,
    })
    .unwrap();
    let encoded = common::encode_pattern(&config, 600);
    let largest = encoded.packets.iter().map(|p| p.data.len()).max().unwrap();
    for p in encoded.packets {
        buffer.push(p);
        assert!(buffer.stats().bytes <= bound, "{:?}", buffer.stats());
    }
    let s = buffer.stats();
    assert!(
        s.bytes + largest * 30 >= bound,
        "the buffer stays nearly full: {s:?}"
    );
    assert!(buffer.clip(None).unwrap().packets()[0].keyframe);
}
