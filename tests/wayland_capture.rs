//! Wayland capture against a real compositor: a headless sway (Debian's sway 1.7, wlroots
//! 0.15: wlr-screencopy v3, shm buffers with the pixman renderer) started by each test as an
//! ordinary user. Pixels are compared exactly with the colour sway paints; faults (a compositor
//! killed mid-capture, an unknown output, a region outside the output) are typed errors.

mod common;
#[path = "sway/pattern_window.rs"]
mod pattern_window;
mod sway;
mod unprivileged;

use std::time::{Duration, Instant};

use ghoststream::capture::{CaptureError, PacedCapture, Region, WaylandCapture, WaylandOptions};
use ghoststream::source::FrameSource;
use ghoststream::{Frame, FrameImage, PixelFormat, Rational};
use pattern_window::PatternWindow;
use sway::HeadlessSway;

fn options(sway: &HeadlessSway) -> WaylandOptions {
    WaylandOptions {
        display: Some(sway.socket.clone()),
        cursor: false,
        damage: false,
        ..WaylandOptions::default()
    }
}

/// The frame's pixels as (B, G, R) triples, row by row.
fn bgr(frame: &Frame) -> Vec<[u8; 3]> {
    let FrameImage::Cpu(image) = &frame.image else {
        panic!("Wayland shm capture gives CPU frames")
    };
    assert_eq!(image.format(), PixelFormat::Bgra8);
    let mut out = Vec::new();
    for y in 0..image.height() {
        for px in image.row(0, y)[..4 * image.width() as usize].chunks(4) {
            out.push([px[0], px[1], px[2]]);
        }
    }
    out
}

/// Frames until one whose first pixel is `want` (swaybg paints the background shortly after
/// sway starts), up to five seconds.
fn first_frame_showing(capture: &mut WaylandCapture, want: [u8; 3]) -> Frame {
    first_frame_where(capture, |pixels| {
        (pixels[0] != want).then(|| format!("the first pixel is {:?}, not {want:?}", pixels[0]))
    })
}

/// Frames until `mismatch` (which says what is wrong with a frame's BGR pixels, or `None`)
/// accepts one, up to five seconds.
fn first_frame_where(
    capture: &mut WaylandCapture,
    mismatch: impl Fn(&[[u8; 3]]) -> Option<String>,
) -> Frame {
    let started = Instant::now();
    loop {
        let frame = capture
            .next_frame_before(Instant::now() + Duration::from_secs(2))
            .unwrap()
            .expect("a frame within 2 s with damage off");
        let Some(wrong) = mismatch(&bgr(&frame)) else {
            return frame;
        };
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no frame showed what was expected in 5 s: {wrong}"
        );
    }
}

#[test]
fn a_solid_output_is_captured_exactly_with_compositor_timestamps() {
    let Some(sway) = HeadlessSway::start(320, 192, "#336699") else {
        return;
    };
    let mut capture = WaylandCapture::open(options(&sway)).unwrap();
    assert_eq!(capture.output_name(), "HEADLESS-1");
    let info = capture.info();
    assert_eq!(
        (info.width, info.height, info.format),
        (320, 192, PixelFormat::Bgra8)
    );
    let want = [0x99, 0x66, 0x33];
    let first = first_frame_showing(&mut capture, want);
    let pixels = bgr(&first);
    assert_eq!(pixels.len(), 320 * 192);
    let off = pixels.iter().filter(|p| **p != want).count();
    assert_eq!(off, 0, "every pixel is the background colour exactly");
    // Presentation times from the compositor: CLOCK_MONOTONIC, increasing, near now.
    let mut last = first
        .capture_time
        .expect("the compositor's presentation time");
    let now = ghoststream::Timestamp::now();
    assert!((now.as_nanos() - last.as_nanos()).abs() < 5_000_000_000);
    for _ in 0..5 {
        let f = capture.next_frame().unwrap().unwrap();
        let t = f.capture_time.unwrap();
        assert!(
            t > last,
            "presentation times increase: {t:?} after {last:?}"
        );
        assert!(f.pts > first.pts);
        last = t;
    }
}

#[test]
fn regions_and_outputs_are_chosen_or_refused_by_name() {
    let Some(sway) = HeadlessSway::start(320, 192, "#102030") else {
        return;
    };
    let region = Region {
        x: 16,
        y: 8,
        width: 128,
        height: 64,
    };
    let mut capture = WaylandCapture::open(WaylandOptions {
        output: Some("HEADLESS-1".into()),
        region: Some(region),
        ..options(&sway)
    })
    .unwrap();
    let frame = first_frame_showing(&mut capture, [0x30, 0x20, 0x10]);
    assert_eq!((frame.image.width(), frame.image.height()), (128, 64));
    assert!(bgr(&frame).iter().all(|p| *p == [0x30, 0x20, 0x10]));

    match WaylandCapture::open(WaylandOptions {
        output: Some("DP-7".into()),
        ..options(&sway)
    }) {
        Err(e @ CaptureError::OutputNotFound { .. }) => {
            let m = e.to_string();
            assert!(m.contains("\"DP-7\"") && m.contains("HEADLESS-1"), "{m}");
        }
        other => panic!("expected OutputNotFound, got {other:?}"),
    }
    match WaylandCapture::open(WaylandOptions {
        region: Some(Region {
            x: 300,
            y: 0,
            width: 64,
            height: 64,
        }),
        ..options(&sway)
    }) {
        Err(e @ CaptureError::BadRegion { .. }) => {
            let m = e.to_string();
            assert!(m.contains("300,0 64x64") && m.contains("320x192"), "{m}");
        }
        other => panic!("expected BadRegion, got {other:?}"),
    }
}

#[test]
fn a_compositor_killed_mid_capture_is_a_typed_error_within_100_ms() {
    let Some(mut sway) = HeadlessSway::start(256, 128, "#000000") else {
        return;
    };
    let mut capture = WaylandCapture::open(options(&sway)).unwrap();
    capture.next_frame().unwrap().unwrap();
    sway.kill();
    let killed = Instant::now();
    let result = loop {
        match capture.next_frame_before(Instant::now() + Duration::from_secs(2)) {
            Ok(Some(_)) => continue, // a frame already on its way
            other => break other,
        }
    };
    let waited = killed.elapsed();
    match result {
        Err(e @ CaptureError::CompositorGone { .. }) => {
            eprintln!("after SIGKILL: {e} ({} µs)", waited.as_micros())
        }
        other => panic!("expected CompositorGone, got {other:?}"),
    }
    assert!(waited < Duration::from_millis(100), "took {waited:?}");
}

/// Sway 1.7's headless backend with the pixman renderer cannot disable an output ("Failed to
/// commit output") and has no `unplug`, so an output cannot be removed here; what it can do is
/// change an output's mode mid-capture, which the capture follows with new buffers and the
/// pacer fits to the first size.
#[test]
fn an_output_resized_mid_capture_is_followed_and_paced_frames_keep_the_first_size() {
    let Some(sway) = HeadlessSway::start(256, 128, "#203040") else {
        return;
    };
    let capture = WaylandCapture::open(options(&sway)).unwrap();
    let mut paced = PacedCapture::new(capture, Rational::new(30, 1)).unwrap();
    let first = paced.next_frame().unwrap().unwrap();
    assert_eq!((first.image.width(), first.image.height()), (256, 128));
    // When the frame reached this process: after the compositor presented it, before now.
    let presented = first.capture_time.expect("a presentation time");
    let arrived = first.arrival_time.expect("an arrival time");
    assert!(
        presented <= arrived && arrived <= ghoststream::Timestamp::now(),
        "presented {presented:?}, arrived {arrived:?}"
    );
    let resized = sway.swaymsg(&["output", "HEADLESS-1", "mode", "128x64"]);
    assert!(resized.status.success(), "{resized:?}");
    let started = Instant::now();
    while paced.stats().refitted == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no 128x64 frame within 5 s"
        );
        let frame = paced.next_frame().unwrap().unwrap();
        assert_eq!((frame.image.width(), frame.image.height()), (256, 128));
        if paced.stats().refitted > 0 {
            // The 128x64 picture at the top left, black beyond it.
            let px = bgr(&frame);
            assert_eq!(px[0], [0x40, 0x30, 0x20]);
            assert_eq!(px[63 * 256 + 127], [0x40, 0x30, 0x20]);
            assert_eq!(px[64 * 256 + 128], [0, 0, 0]);
            assert_eq!(px[10 * 256 + 200], [0, 0, 0]);
        }
    }
}

#[test]
fn no_compositor_names_the_socket_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("wayland-9");
    match WaylandCapture::open(WaylandOptions {
        display: Some(socket.to_string_lossy().into_owned()),
        ..WaylandOptions::default()
    }) {
        Err(e @ CaptureError::NoCompositor { .. }) => {
            let m = e.to_string();
            assert!(
                m.contains("wayland-9") && m.contains("WAYLAND_DISPLAY"),
                "{m}"
            );
        }
        other => panic!("expected NoCompositor, got {other:?}"),
    }
}

/// The test window's picture: ramps in red and green, and a 16-pixel checker of ±24 added to
/// all three channels. The checker's hard edges are in brightness only (an equal change of R,
/// G and B leaves Cb and Cr alone), so 4:2:0 encoding keeps them.
fn pattern(x: u32, y: u32, w: u32, h: u32) -> [u8; 3] {
    let checker: i32 = if (x / 16 + y / 16) % 2 == 0 { -24 } else { 24 };
    let r = 28 + i32::try_from(x * 200 / (w - 1)).unwrap() + checker;
    let g = 28 + i32::try_from(y * 200 / (h - 1)).unwrap() + checker;
    let b = 128 + checker;
    // 4..=252 each.
    [r, g, b].map(|c| u8::try_from(c).unwrap())
}

/// A client's window, not just sway's own background: every captured pixel equals what the
/// client drew (shm path), and the frames encoded with H.264 decode (ffmpeg) to within PSNR
/// 40 dB of the drawn pattern.
#[test]
fn a_pattern_window_is_captured_exactly_and_decodes_close_to_it_after_encoding() {
    let (w, h) = (320u32, 192u32);
    let Some(sway) = HeadlessSway::start(w, h, "#000000") else {
        return;
    };
    let _window = PatternWindow::show(&sway.socket, pattern);
    let want: Vec<[u8; 3]> = (0..h)
        .flat_map(|y| {
            (0..w).map(move |x| {
                let [r, g, b] = pattern(x, y, w, h);
                [b, g, r]
            })
        })
        .collect();
    let mut capture = WaylandCapture::open(options(&sway)).unwrap();
    first_frame_where(&mut capture, |got| {
        let off = got.iter().zip(&want).filter(|(a, b)| a != b).count();
        (off > 0).then(|| format!("{off} of {} pixels differ from the pattern", want.len()))
    });

    let mut config = common::config(ghoststream::Codec::H264, w, h, 30);
    config.input_format = PixelFormat::Bgra8;
    config.rate_control = ghoststream::RateControl::Cqp { qp: 12 };
    let mut session = ghoststream::Session::open(config.clone()).unwrap();
    let mut outputs = Vec::new();
    for _ in 0..10 {
        let frame = capture.next_frame().unwrap().expect("a frame");
        assert_eq!(bgr(&frame), want, "every frame shows the pattern");
        session.submit(frame).unwrap();
        while let Some(o) = session.try_receive().unwrap() {
            outputs.push(o);
        }
    }
    outputs.extend(session.close().unwrap());
    let encoded = common::split(outputs);
    assert_eq!(encoded.packets.len(), 10);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("window.h264");
    let format = ghoststream::output::BitstreamFormat::default_for(config.codec);
    common::write(&encoded.packets, &path, format, &config);
    let decoded = common::decode_raw(&path, "rgb24");
    let rgb: Vec<u8> = want.iter().flat_map(|&[b, g, r]| [r, g, b]).collect();
    assert_eq!(decoded.len(), rgb.len() * 10, "10 decoded frames");
    for (i, picture) in decoded.chunks(rgb.len()).enumerate() {
        let psnr = common::psnr8(picture, &rgb);
        eprintln!("frame {i}: PSNR {psnr:.1} dB against the drawn pattern");
        assert!(psnr >= 40.0, "frame {i}: PSNR {psnr:.1} dB");
    }
}

/// Sends `signal` (`STOP`, `CONT`) to sway.
fn signal_sway(sway: &HeadlessSway, signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(sway.pid().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} failed");
}

#[test]
fn a_compositor_that_stops_answering_is_a_timeout_naming_the_socket_never_a_hang() {
    let Some(sway) = HeadlessSway::start(160, 96, "#204060") else {
        return;
    };
    let timeout = Duration::from_millis(500);
    let open = |sway: &HeadlessSway| {
        WaylandCapture::open(WaylandOptions {
            damage: true,
            round_trip_timeout: timeout,
            ..options(sway)
        })
    };
    let expect_timeout = |result: Result<Option<Frame>, CaptureError>, step: &str| match result {
        Err(e @ CaptureError::CompositorTimeout { .. }) => {
            let m = e.to_string();
            assert!(
                m.starts_with(&format!(
                    "the Wayland compositor at {} did not answer {step}",
                    sway.socket
                )),
                "{m}"
            );
        }
        other => panic!("expected a CompositorTimeout at {step}, got {other:?}"),
    };
    // Stopped mid-capture (damage on: silence looks like an idle screen until the compositor
    // fails to answer a sync).
    let mut capture = open(&sway).unwrap();
    capture
        .next_frame_before(Instant::now() + Duration::from_secs(2))
        .unwrap()
        .expect("a first frame within 2 s");
    // An idle screen, three timeouts long, is no error: the compositor answers the syncs.
    let idle = Instant::now();
    while idle.elapsed() < 3 * timeout {
        if let Err(e) = capture.next_frame_before(Instant::now() + Duration::from_millis(100)) {
            panic!("an idle, answering compositor failed the capture: {e}");
        }
    }
    signal_sway(&sway, "STOP");
    let started = Instant::now();
    let result = loop {
        match capture.next_frame_before(Instant::now() + Duration::from_millis(100)) {
            Ok(_) if started.elapsed() < Duration::from_secs(5) => continue,
            other => break other,
        }
    };
    expect_timeout(result, "a liveness check (wl_display.sync)");
    // Two timeouts at most: silence, then the unanswered sync.
    assert!(
        started.elapsed() < 2 * timeout + Duration::from_millis(600),
        "took {:?}",
        started.elapsed()
    );
    drop(capture);
    // Stopped before opening: the first round trip times out.
    let started = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    let socket = sway.socket.clone();
    std::thread::spawn(move || {
        let _ = tx.send(WaylandCapture::open(WaylandOptions {
            display: Some(socket),
            round_trip_timeout: timeout,
            ..WaylandOptions::default()
        }));
    });
    let result = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("open returned within 5 s");
    signal_sway(&sway, "CONT");
    expect_timeout(result.map(|_| None), "the list of globals");
    assert!(started.elapsed() < timeout + Duration::from_millis(600));
}
