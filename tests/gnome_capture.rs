//! Capture from a real GNOME compositor through the real portal stack: mutter 43 headless
//! (one virtual monitor, software rendering, shared-memory PipeWire buffers as mutter offers
//! without a GPU), xdg-desktop-portal-gnome 43 behind the xdg-desktop-portal 1.16 frontend, on
//! a private session bus with a private PipeWire (tests/gnome_env).
//!
//! No dialog is answered: the user's grant is written into the permission store first, in the
//! layout the frontend itself keeps (tests/gnome_env says which), and the session brings its
//! restore token, so the GNOME backend restores the monitor instead of asking.
//!
//! Checked here: a Wayland client's known picture, fullscreen on mutter's monitor, arrives in
//! the frames pixel for pixel; the token the session hands back restores again; a token the
//! store does not hold brings the chooser, which nobody answers (a typed timeout, bounded);
//! mutter killed mid-capture is a typed error in bounded time.
#![cfg(feature = "portal")]

mod gnome_env;
#[path = "sway/pattern_window.rs"]
mod pattern_window;
mod pipewire_env;
mod session_bus;
mod unprivileged;

use std::time::{Duration, Instant};

use ghoststream::capture::{CaptureError, LiveCapture, PortalCapture, PortalOptions};
use ghoststream::{CpuImage, PixelFormat};
use gnome_env::PrivateGnome;
use pattern_window::PatternWindow;
use pipewire_env::PrivatePipeWire;

const WIDTH: u32 = 320;
const HEIGHT: u32 = 240;
/// What xdg-desktop-portal-gnome 43 logs when it creates its chooser for a caller that gave no
/// parent window (as GhostStream does): the dialog was opened.
const DIALOG_MARK: &str = "Failed to associate portal window with parent window";

/// The client's picture: red across, green down, blue in 16-pixel checks, so an offset, a flip,
/// a scale or a channel swap each shows.
fn pattern(x: u32, y: u32, w: u32, h: u32) -> [u8; 3] {
    let r = x * 255 / (w - 1);
    let g = y * 255 / (h - 1);
    let b = if (x / 16 + y / 16) % 2 == 0 { 40 } else { 200 };
    [r, g, b].map(|c| u8::try_from(c).unwrap())
}

fn options(gnome: &PrivateGnome, token: Option<String>) -> PortalOptions {
    PortalOptions {
        bus_address: Some(gnome.address.clone()),
        restore_token: token,
        answer_timeout: Duration::from_secs(10),
        negotiation_timeout: Duration::from_secs(10),
        ..PortalOptions::default()
    }
}

/// The pixels of `image` that differ from the pattern (B, G, R compared; the fourth byte is
/// mutter's `x` of BGRx, undefined), as a count and the first one.
fn mismatches(image: &CpuImage) -> (usize, Option<String>) {
    assert_eq!(image.format(), PixelFormat::Bgra8);
    assert_eq!((image.width(), image.height()), (WIDTH, HEIGHT));
    let mut count = 0;
    let mut first = None;
    for y in 0..HEIGHT {
        for (x, px) in image.row(0, y)[..WIDTH as usize * 4]
            .chunks_exact(4)
            .enumerate()
        {
            let [r, g, b] = pattern(u32::try_from(x).unwrap(), y, WIDTH, HEIGHT);
            if px[..3] != [b, g, r] {
                count += 1;
                first.get_or_insert_with(|| {
                    format!(
                        "({x},{y}) is BGR {:?}, the client drew {:?}",
                        &px[..3],
                        [b, g, r]
                    )
                });
            }
        }
    }
    (count, first)
}

/// Reads frames until one shows the client's picture exactly (mutter maps a window with a
/// short animation, so the first frames may show it on the way), failing after 10 s with the
/// last frame's differences.
fn wait_for_picture(capture: &mut PortalCapture, gnome: &PrivateGnome) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut frames = 0;
    let mut last = (usize::MAX, None);
    while Instant::now() < deadline {
        let arrived = capture
            .wait_frame_before(Instant::now() + Duration::from_millis(200))
            .unwrap_or_else(|e| panic!("no capture error: {e}\n{}", gnome.logs()));
        if arrived.is_none() {
            continue;
        }
        frames += 1;
        let (image, _) = capture
            .last_image()
            .unwrap()
            .expect("the frame is readable");
        last = mismatches(&image);
        if last.0 == 0 {
            return frames;
        }
    }
    panic!(
        "no frame of the {frames} read shows the client's picture in 10 s: the last differs in \
         {} pixels, first {:?}\n{}",
        last.0,
        last.1,
        gnome.logs()
    );
}

#[test]
fn a_client_on_mutter_is_captured_exactly_through_the_gnome_portal_without_a_dialog() {
    let Some(pipewire) = PrivatePipeWire::start() else {
        return;
    };
    let Some(gnome) = PrivateGnome::start(&pipewire, WIDTH, HEIGHT) else {
        return;
    };
    let _window = PatternWindow::show(&gnome.wayland_socket, pattern);

    let info = ghoststream::capture::portal::probe(Some(&gnome.address)).unwrap();
    // Version 4 (restore tokens); monitors and windows; hidden, embedded and metadata cursors.
    assert_eq!(
        (info.version, info.source_types, info.cursor_modes),
        (4, 3, 7)
    );
    let token = gnome.grant_monitor("");
    let monitor = format!("1:{}", gnome.monitor_match_string());
    let written = gnome.stored_grant(&token).expect("the grant is stored");
    assert_eq!(written.0, vec![String::new()]);
    assert_eq!(written.1.streams, vec![monitor.clone()]);
    let started = Instant::now();
    let mut capture = PortalCapture::open(options(&gnome, Some(token.clone())))
        .unwrap_or_else(|e| panic!("the stored grant opens the cast: {e}\n{}", gnome.logs()));
    // A dialog would have held Start until the answer timeout (a `PortalTimeout`); the logs
    // below show that none was created.
    eprintln!("the cast opened in {:?}", started.elapsed());
    let session = capture.session();
    assert_eq!(session.version(), 4);
    assert_eq!(session.streams().len(), 1);
    let stream = &session.streams()[0];
    assert_eq!(stream.source_type, Some(1), "{stream:?}");
    assert_eq!(stream.size, Some((320, 240)), "{stream:?}");
    assert_eq!(stream.position, Some((0, 0)), "{stream:?}");
    let info = capture.info();
    assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
    let frames = wait_for_picture(&mut capture, &gnome);
    eprintln!("the client's picture arrived exactly in frame {frames}");
    // The frontend swapped the token for the stored data, and the backend restored from it
    // without creating its dialog (which logs that it has no parent window to attach to).
    let frontend = gnome.log("frontend.log");
    assert!(
        frontend.contains("Replacing 'restore_token' with portal-specific data"),
        "{frontend}"
    );
    assert!(
        !gnome.log("backend.log").contains(DIALOG_MARK),
        "{}",
        gnome.logs()
    );

    // The session hands a token back; the frontend keeps the backend's own restore data under
    // it when the session closes, and that restores the same monitor without asking.
    let next_token = capture
        .restore_token()
        .expect("a version-4 portal returns a restore token")
        .to_string();
    drop(capture);
    // Closing the session stored the backend's own restore data under that token (the token
    // brought in was deleted when it was used; xdg-desktop-portal 1.16 keeps the same token
    // for a persistent grant).
    let (apps, kept) = gnome
        .stored_grant(&next_token)
        .unwrap_or_else(|| panic!("nothing stored under {next_token}\n{}", gnome.logs()));
    assert_eq!(apps, vec![String::new()]);
    assert_eq!(
        (kept.provider.as_str(), kept.version, kept.streams.clone()),
        ("GNOME", 1, vec![monitor])
    );
    assert!(kept.last_used > 0, "the backend's serialization: {kept:?}");
    assert_eq!(gnome.stored_grants(), vec![next_token.clone()]);
    eprintln!("first token {token}, returned {next_token}");
    let mut again =
        PortalCapture::open(options(&gnome, Some(next_token.clone()))).unwrap_or_else(|e| {
            panic!(
                "the returned token restores the cast: {e}\n{}",
                gnome.logs()
            )
        });
    assert!(
        !gnome.log("backend.log").contains(DIALOG_MARK),
        "{}",
        gnome.logs()
    );
    assert_eq!(
        gnome
            .log("frontend.log")
            .matches("Replacing 'restore_token'")
            .count(),
        2,
        "both sessions restored"
    );
    assert_eq!(again.session().streams()[0].source_type, Some(1));
    wait_for_picture(&mut again, &gnome);
    assert!(again.restore_token().is_some());
}

#[test]
fn a_token_the_permission_store_does_not_hold_brings_the_chooser_and_times_out_typed() {
    let Some(pipewire) = PrivatePipeWire::start() else {
        return;
    };
    let Some(gnome) = PrivateGnome::start(&pipewire, WIDTH, HEIGHT) else {
        return;
    };
    // A well-formed token nobody stored: the frontend drops it and the backend opens its
    // chooser on mutter's screen, which no one answers here.
    let stray = "0b9c5f6e-2d3a-4c1b-9e8f-7a6b5c4d3e2f".to_string();
    let started = Instant::now();
    let e = PortalCapture::open(PortalOptions {
        answer_timeout: Duration::from_millis(1500),
        ..options(&gnome, Some(stray))
    })
    .unwrap_err();
    assert!(
        matches!(
            e,
            CaptureError::PortalTimeout {
                step: "Start",
                waited_ms: 1500
            }
        ),
        "{e}\n{}",
        gnome.logs()
    );
    // The timeout, plus closing the session: bounded.
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(
        !gnome
            .log("frontend.log")
            .contains("Replacing 'restore_token'"),
        "{}",
        gnome.logs()
    );
    assert!(
        gnome.log("backend.log").contains(DIALOG_MARK),
        "the backend did not open its chooser\n{}",
        gnome.logs()
    );
}

#[test]
fn mutter_killed_mid_capture_is_a_typed_error_in_bounded_time() {
    let Some(pipewire) = PrivatePipeWire::start() else {
        return;
    };
    let Some(mut gnome) = PrivateGnome::start(&pipewire, WIDTH, HEIGHT) else {
        return;
    };
    let window = PatternWindow::show(&gnome.wayland_socket, pattern);
    let token = gnome.grant_monitor("");
    let mut capture = PortalCapture::open(options(&gnome, Some(token)))
        .unwrap_or_else(|e| panic!("the stored grant opens the cast: {e}\n{}", gnome.logs()));
    wait_for_picture(&mut capture, &gnome);
    let killed = Instant::now();
    gnome.kill_mutter();
    drop(window);
    let e = loop {
        match capture.wait_frame_before(Instant::now() + Duration::from_millis(100)) {
            Err(e) => break e,
            Ok(_) => assert!(
                killed.elapsed() < Duration::from_secs(5),
                "no error 5 s after mutter was killed\n{}",
                gnome.logs()
            ),
        }
    };
    eprintln!("after mutter was killed: {e} ({:?})", killed.elapsed());
    assert!(matches!(e, CaptureError::NodeGone { .. }), "{e}");
}
