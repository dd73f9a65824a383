//! ext-image-copy-capture-v1 against the test compositor (tests/wayland_server): exact pixels of
//! an output and of a window found by app_id, damage (an unchanged source sends no frame), the
//! cursor painted on request, presentation times, and the faults — a window closed or an output
//! removed mid-capture, a refused buffer, a compositor that stops answering — as typed errors
//! in bounded time.

mod wayland_server;

use std::time::{Duration, Instant};

use ghoststream::capture::{CaptureError, Region, WaylandCapture, WaylandOptions, WaylandProtocol};
use ghoststream::{CpuImage, PixelFormat, Timestamp};
use wayland_server::{
    pixel, pointer_pixel, FailureReason, Kind, Offers, TestServer, CURSOR_AT, OUTPUT_NAME,
    OUTPUT_SIZE, POINTER_HOTSPOT, POINTER_SIZE, WINDOW_APP_ID, WINDOW_SIZE,
};

/// The longest any one step may take here; the compositor answers in milliseconds.
const WAIT: Duration = Duration::from_secs(5);

fn options(server: &TestServer) -> WaylandOptions {
    WaylandOptions {
        display: Some(server.socket.clone()),
        cursor: false,
        round_trip_timeout: Duration::from_secs(2),
        ..WaylandOptions::default()
    }
}

fn window(server: &TestServer) -> WaylandOptions {
    WaylandOptions {
        window: Some(WINDOW_APP_ID.into()),
        ..options(server)
    }
}

/// The next image, which must come within [`WAIT`].
fn next(capture: &mut WaylandCapture) -> (CpuImage, Timestamp) {
    capture
        .next_image_before(Instant::now() + WAIT)
        .unwrap()
        .expect("a frame within the wait")
}

/// Asserts every pixel of `image` is the server's picture `content` of `kind` (offset by
/// `at` within it).
fn assert_picture(image: &CpuImage, kind: Kind, content: u32, cursor: bool, at: (u32, u32)) {
    assert_eq!(image.format(), PixelFormat::Bgra8);
    for y in 0..image.height() {
        let row = image.row(0, y);
        for x in 0..image.width() {
            let got = &row[x as usize * 4..x as usize * 4 + 4];
            let want = pixel(kind, content, cursor, x + at.0, y + at.1);
            assert_eq!(got, want, "pixel ({x}, {y}) of picture {content}");
        }
    }
}

#[test]
fn an_output_comes_pixel_exact_and_an_unchanged_one_sends_no_frame() {
    let server = TestServer::start();
    let mut capture = WaylandCapture::open(options(&server)).unwrap();
    assert_eq!(capture.protocol(), "ext-image-copy-capture");
    assert_eq!(
        capture.description(),
        format!("output {OUTPUT_NAME} (ext-image-copy-capture)")
    );
    let info = ghoststream::capture::LiveCapture::info(&capture);
    assert_eq!((info.width, info.height), OUTPUT_SIZE);
    assert_eq!(info.format, PixelFormat::Bgra8);

    let before = Timestamp::now();
    let (image, first) = next(&mut capture);
    assert_picture(&image, Kind::Output, 0, false, (0, 0));
    // The compositor's presentation time, on this machine's monotonic clock.
    assert!(
        first.as_nanos() >= before.as_nanos() - 1_000_000_000,
        "{first:?}"
    );
    assert!(first.as_nanos() <= Timestamp::now().as_nanos(), "{first:?}");

    // Nothing changed: no frame, and the compositor copied nothing more.
    let idle = capture
        .wait_frame_before(Instant::now() + Duration::from_millis(300))
        .unwrap();
    assert_eq!(idle, None);
    assert_eq!(server.with(|s| s.frames_copied), 1);
    assert_eq!(
        server.with(|s| s.frames_waiting),
        1,
        "the next capture waits for damage"
    );

    server.with(|s| s.content = 1);
    let (image, second) = next(&mut capture);
    assert_picture(&image, Kind::Output, 1, false, (0, 0));
    assert!(second.as_nanos() > first.as_nanos());
    assert_eq!(server.with(|s| s.frames_copied), 2);
    // The last frame stays readable while the next is in flight.
    let (again, t) = capture.last_image().unwrap().unwrap();
    assert_picture(&again, Kind::Output, 1, false, (0, 0));
    assert_eq!(t, second);
}

#[test]
fn a_region_is_cut_out_of_the_output() {
    let server = TestServer::start();
    let region = Region {
        x: 5,
        y: 3,
        width: 20,
        height: 10,
    };
    let mut capture = WaylandCapture::open(WaylandOptions {
        region: Some(region),
        ..options(&server)
    })
    .unwrap();
    let (image, _) = next(&mut capture);
    assert_eq!((image.width(), image.height()), (20, 10));
    assert_picture(&image, Kind::Output, 0, false, (5, 3));
}

#[test]
fn the_cursor_is_painted_by_the_compositor_only_when_asked() {
    let server = TestServer::start();
    let mut capture = WaylandCapture::open(WaylandOptions {
        cursor: true,
        ..options(&server)
    })
    .unwrap();
    assert_eq!(server.with(|s| s.paint_cursors), Some(true));
    let (image, _) = next(&mut capture);
    assert_picture(&image, Kind::Output, 0, true, (0, 0));
    let (x, y) = CURSOR_AT;
    assert_eq!(
        &image.row(0, y)[x as usize * 4..][..4],
        [255, 255, 255, 255]
    );
    drop(capture);

    let mut capture = WaylandCapture::open(options(&server)).unwrap();
    assert_eq!(server.with(|s| s.paint_cursors), Some(false));
    let (image, _) = next(&mut capture);
    assert_picture(&image, Kind::Output, 0, false, (0, 0));
    assert_ne!(
        &image.row(0, y)[x as usize * 4..][..4],
        [255, 255, 255, 255]
    );
}

#[test]
fn a_window_is_captured_by_its_app_id() {
    let server = TestServer::start();
    let mut capture = WaylandCapture::open(window(&server)).unwrap();
    assert_eq!(
        capture.description(),
        format!("window {WINDOW_APP_ID} (ext-image-copy-capture)")
    );
    let (image, _) = next(&mut capture);
    assert_eq!((image.width(), image.height()), WINDOW_SIZE);
    assert_picture(&image, Kind::Window, 0, false, (0, 0));
    server.with(|s| s.content = 3);
    let (image, _) = next(&mut capture);
    assert_picture(&image, Kind::Window, 3, false, (0, 0));
}

#[test]
fn a_resized_window_comes_at_its_new_size_after_the_refused_frame() {
    let server = TestServer::start();
    let mut capture = WaylandCapture::open(window(&server)).unwrap();
    let (image, _) = next(&mut capture);
    assert_eq!((image.width(), image.height()), WINDOW_SIZE);
    server.with(|s| {
        s.resize_window = Some((50, 30));
        s.content = 1;
    });
    // The copy in flight into the old size is refused (buffer_constraints) after the new
    // constraints: it is asked again into a buffer of the new size.
    let (image, _) = next(&mut capture);
    assert_eq!((image.width(), image.height()), (50, 30));
    assert_picture(&image, Kind::Window, 1, false, (0, 0));
}

#[test]
fn an_unknown_app_id_lists_the_windows_there_are() {
    let server = TestServer::start();
    let err = WaylandCapture::open(WaylandOptions {
        window: Some("org.example.Missing".into()),
        ..options(&server)
    })
    .unwrap_err();
    match &err {
        CaptureError::WindowNotFound { app_id, available } => {
            assert_eq!(app_id, "org.example.Missing");
            assert_eq!(
                available,
                "\"org.ghoststream.Pattern\" (\"Pattern window\")"
            );
        }
        other => panic!("expected WindowNotFound, got {other:?}"),
    }
    assert!(err.to_string().contains("org.example.Missing"), "{err}");
}

#[test]
fn a_window_closed_mid_capture_is_a_typed_error() {
    let server = TestServer::start();
    let mut capture = WaylandCapture::open(window(&server)).unwrap();
    next(&mut capture);
    server.with(|s| s.close_window = true);
    let started = Instant::now();
    match capture.wait_frame_before(Instant::now() + WAIT) {
        Err(CaptureError::WindowGone { app_id }) => assert_eq!(app_id, WINDOW_APP_ID),
        other => panic!("expected WindowGone, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn an_output_removed_mid_capture_is_a_typed_error() {
    let server = TestServer::start();
    let mut capture = WaylandCapture::open(options(&server)).unwrap();
    next(&mut capture);
    server.with(|s| s.remove_output = true);
    let started = Instant::now();
    match capture.wait_frame_before(Instant::now() + WAIT) {
        Err(CaptureError::OutputGone { name }) => assert_eq!(name, OUTPUT_NAME),
        other => panic!("expected OutputGone, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_refused_buffer_is_a_typed_error_with_the_reason() {
    for (reason, says) in [
        (
            FailureReason::BufferConstraints,
            "buffer_constraints: a 64x48 wl_shm buffer",
        ),
        (
            FailureReason::Unknown,
            "unknown (the compositor gave no reason",
        ),
    ] {
        let server = TestServer::start();
        server.with(|s| s.refuse = Some(reason));
        let mut capture = WaylandCapture::open(options(&server)).unwrap();
        let err = capture
            .wait_frame_before(Instant::now() + WAIT)
            .unwrap_err();
        match &err {
            CaptureError::BufferRefused { what, reason } => {
                assert_eq!(what, &format!("output {OUTPUT_NAME}"));
                assert!(reason.contains(says), "{reason}");
            }
            other => panic!("expected BufferRefused, got {other:?}"),
        }
    }
}

#[test]
fn a_compositor_that_never_answers_is_a_bounded_typed_error() {
    let server = TestServer::start();
    server.with(|s| s.silent = true);
    let started = Instant::now();
    let err = WaylandCapture::open(WaylandOptions {
        round_trip_timeout: Duration::from_millis(300),
        ..options(&server)
    })
    .unwrap_err();
    match &err {
        CaptureError::CompositorTimeout { socket, step, .. } => {
            assert_eq!(socket, &server.socket);
            assert!(step.contains("the list of globals"), "{step}");
        }
        other => panic!("expected CompositorTimeout, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_compositor_that_stops_answering_mid_capture_is_a_bounded_typed_error() {
    let server = TestServer::start();
    let mut capture = WaylandCapture::open(WaylandOptions {
        round_trip_timeout: Duration::from_millis(300),
        ..options(&server)
    })
    .unwrap();
    next(&mut capture);
    server.with(|s| s.silent = true);
    let started = Instant::now();
    match capture.wait_frame_before(Instant::now() + WAIT) {
        Err(CaptureError::CompositorTimeout { step, .. }) => {
            assert!(step.contains("liveness check"), "{step}");
            assert!(step.contains("a frame of output TEST-1"), "{step}");
        }
        other => panic!("expected CompositorTimeout, got {other:?}"),
    }
    // One quiet timeout, then one unanswered sync.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(550) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[test]
fn image_copy_is_chosen_over_screencopy_and_windows_need_it() {
    let server = TestServer::start();
    let capture = WaylandCapture::open(options(&server)).unwrap();
    assert_eq!(capture.protocol(), "ext-image-copy-capture");
    drop(capture);
    let capture = WaylandCapture::open(WaylandOptions {
        protocol: WaylandProtocol::Screencopy,
        ..options(&server)
    })
    .unwrap();
    assert_eq!(capture.protocol(), "wlr-screencopy");
    let err = WaylandCapture::open(WaylandOptions {
        protocol: WaylandProtocol::Screencopy,
        ..window(&server)
    })
    .unwrap_err();
    assert!(err.to_string().contains("window"), "{err}");

    let server = TestServer::start_offering(Offers {
        image_copy: false,
        screencopy: true,
    });
    let err = WaylandCapture::open(window(&server)).unwrap_err();
    assert!(
        matches!(
            err,
            CaptureError::ProtocolMissing {
                protocol: "ext_image_copy_capture_manager_v1",
                ..
            }
        ),
        "{err:?}"
    );
}

/// The output's picture `content` with the pointer image drawn over it (premultiplied
/// "over") with its hotspot at `pointer`, row by row.
fn with_pointer(content: u32, pointer: (i32, i32)) -> Vec<Vec<u8>> {
    let (w, h) = OUTPUT_SIZE;
    let left = pointer.0 - POINTER_HOTSPOT.0;
    let top = pointer.1 - POINTER_HOTSPOT.1;
    (0..h)
        .map(|y| {
            (0..w)
                .flat_map(|x| {
                    let mut px = pixel(Kind::Output, content, false, x, y);
                    let (cx, cy) = (
                        i64::from(x) - i64::from(left),
                        i64::from(y) - i64::from(top),
                    );
                    let inside = (0..i64::from(POINTER_SIZE.0)).contains(&cx)
                        && (0..i64::from(POINTER_SIZE.1)).contains(&cy);
                    if inside {
                        let src =
                            pointer_pixel(u32::try_from(cx).unwrap(), u32::try_from(cy).unwrap());
                        let keep = 255 - u32::from(src[3]);
                        for (d, s) in px.iter_mut().zip(src) {
                            *d = u8::try_from(u32::from(s) + (u32::from(*d) * keep + 127) / 255)
                                .unwrap();
                        }
                    }
                    px
                })
                .collect()
        })
        .collect()
}

fn rows(image: &CpuImage) -> Vec<Vec<u8>> {
    (0..image.height())
        .map(|y| image.row(0, y)[..image.width() as usize * 4].to_vec())
        .collect()
}

#[test]
fn a_cursor_session_draws_the_pointer_and_a_move_alone_makes_a_frame() {
    let server = TestServer::start();
    let mut capture = WaylandCapture::open(WaylandOptions {
        cursor: true,
        cursor_session: true,
        ..options(&server)
    })
    .unwrap();
    assert_eq!(
        server.with(|s| s.paint_cursors),
        Some(false),
        "the compositor does not paint it"
    );
    assert_eq!(server.with(|s| s.cursor_sessions), 1);
    // The pointer's image may come a frame after the screen's first.
    let want = with_pointer(0, (20, 10));
    let deadline = Instant::now() + WAIT;
    let mut got = Vec::new();
    while got != want {
        let Some((image, _)) = capture.next_image_before(deadline).unwrap() else {
            break;
        };
        got = rows(&image);
    }
    assert_eq!(got, want, "the picture with the pointer at (20, 10)");
    let copied = server.with(|s| s.frames_copied);

    // Half off the bottom-right corner: clipped; the screen is not copied again.
    server.with(|s| s.pointer = (62, 46));
    let moved = capture.wait_frame_before(Instant::now() + WAIT).unwrap();
    assert!(moved.is_some(), "a pointer move makes a frame");
    let (image, _) = capture.last_image().unwrap().unwrap();
    assert_eq!(rows(&image), with_pointer(0, (62, 46)));
    assert_eq!(server.with(|s| s.frames_copied), copied);
    // Then nothing changes: no frame.
    let idle = capture
        .wait_frame_before(Instant::now() + Duration::from_millis(200))
        .unwrap();
    assert_eq!(idle, None);
}

#[test]
fn the_source_spellings_open_the_output_and_the_window_by_app_id() {
    use ghoststream::source::{open_spec, SourceError, SourceOptions, SourceSpec};
    let server = TestServer::start();
    let mut o = SourceOptions::default();
    o.display = Some(server.socket.clone());
    o.no_cursor = true;
    let spec: SourceSpec = format!("wayland:window={WINDOW_APP_ID}").parse().unwrap();
    let mut opened = open_spec(&spec, &o, &mut |_| {}).unwrap();
    assert_eq!(
        opened.description,
        format!("wayland window {WINDOW_APP_ID} (ext-image-copy-capture)")
    );
    let info = opened.source.info();
    assert_eq!((info.width, info.height), WINDOW_SIZE);
    assert!(opened.source.next_frame().unwrap().is_some());
    drop(opened);

    let spec: SourceSpec = format!("wayland:{OUTPUT_NAME}").parse().unwrap();
    let opened = open_spec(&spec, &o, &mut |_| {}).unwrap();
    assert_eq!(
        opened.description,
        format!("wayland output {OUTPUT_NAME} (ext-image-copy-capture)")
    );
    drop(opened);

    let spec: SourceSpec = "wayland:window=org.example.Nope".parse().unwrap();
    let err = open_spec(&spec, &o, &mut |_| {}).unwrap_err();
    assert!(
        matches!(&err, SourceError::Capture(CaptureError::WindowNotFound { app_id, .. }) if app_id == "org.example.Nope"),
        "{err:?}"
    );
    assert!(err.to_string().contains(WINDOW_APP_ID), "{err}");
}
