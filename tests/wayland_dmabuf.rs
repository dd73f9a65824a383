//! DMA-BUF capture buffers and wlr-screencopy v3 against the test compositor
//! (tests/wayland_server). There is no /dev/dri here, so the library's LINEAR DMA-BUFs are
//! memfds, which the test compositor writes through their fd as a GPU compositor would render
//! into them. Checked: the frame lands in the DMA-BUF pixel-exact and `last_dmabuf` describes
//! that buffer; a compositor that refuses the buffer (`zwp_linux_buffer_params_v1.failed`) gets
//! shared memory instead; without the option, shared memory only; wlr-screencopy (the fallback
//! protocol) gives exact pixels, damage and its cursor flag.

mod wayland_server;

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use ghoststream::capture::{LiveCapture, WaylandCapture, WaylandOptions, WaylandProtocol};
use ghoststream::{CpuImage, DmaBufFrame, FrameImage, PixelFormat, Timestamp};
use wayland_server::{pixel, Kind, Offers, TestServer, OUTPUT_SIZE};

const WAIT: Duration = Duration::from_secs(5);

fn options(server: &TestServer, protocol: WaylandProtocol, dmabuf: bool) -> WaylandOptions {
    WaylandOptions {
        display: Some(server.socket.clone()),
        cursor: false,
        dmabuf,
        protocol,
        round_trip_timeout: Duration::from_secs(2),
        ..WaylandOptions::default()
    }
}

fn next(capture: &mut WaylandCapture) -> (CpuImage, Timestamp) {
    capture
        .next_image_before(Instant::now() + WAIT)
        .unwrap()
        .expect("a frame within the wait")
}

/// The output's picture `content`, row by row (B, G, R, A).
fn picture(content: u32, cursor: bool) -> Vec<Vec<u8>> {
    let (w, h) = OUTPUT_SIZE;
    (0..h)
        .map(|y| {
            (0..w)
                .flat_map(|x| pixel(Kind::Output, content, cursor, x, y))
                .collect()
        })
        .collect()
}

fn rows(image: &CpuImage) -> Vec<Vec<u8>> {
    assert_eq!(image.format(), PixelFormat::Bgra8);
    (0..image.height())
        .map(|y| image.row(0, y)[..image.width() as usize * 4].to_vec())
        .collect()
}

/// The last frame's DMA-BUF, read through its fd: its rows, as the description says they lie.
fn dmabuf_rows(capture: &WaylandCapture) -> Vec<Vec<u8>> {
    let (buf, _) = capture.last_dmabuf().expect("the frame is in a DMA-BUF");
    assert_eq!(buf.format, PixelFormat::Bgra8);
    assert_eq!((buf.width, buf.height), OUTPUT_SIZE);
    assert_eq!(buf.modifier, 0, "LINEAR");
    assert!(buf.stride >= u64::from(buf.width) * 4);
    let fd = buf.fd.as_fd();
    (0..buf.height)
        .map(|y| {
            let mut row = vec![0; buf.width as usize * 4];
            let at = buf.offset + u64::from(y) * buf.stride;
            assert_eq!(rustix::io::pread(fd, &mut row, at).unwrap(), row.len());
            row
        })
        .collect()
}

#[test]
fn image_copy_frames_land_in_a_dmabuf_pixel_exact() {
    let server = TestServer::start();
    server.with(|s| s.offer_dmabuf = true);
    let mut capture =
        WaylandCapture::open(options(&server, WaylandProtocol::ImageCopy, true)).unwrap();
    let (image, presented) = next(&mut capture);
    assert_eq!(rows(&image), picture(0, false));
    assert_eq!(dmabuf_rows(&capture), picture(0, false));
    assert_eq!(capture.last_dmabuf().unwrap().1, presented);
    assert_eq!(server.with(|s| (s.frames_copied, s.dmabuf_copies)), (1, 1));
    server.with(|s| s.content = 2);
    let (image, _) = next(&mut capture);
    assert_eq!(rows(&image), picture(2, false));
    assert_eq!(dmabuf_rows(&capture), picture(2, false));
    assert_eq!(server.with(|s| (s.frames_copied, s.dmabuf_copies)), (2, 2));
}

#[test]
fn wlr_screencopy_v3_frames_land_in_a_dmabuf_pixel_exact() {
    let server = TestServer::start();
    server.with(|s| s.offer_dmabuf = true);
    let mut capture =
        WaylandCapture::open(options(&server, WaylandProtocol::Screencopy, true)).unwrap();
    assert_eq!(capture.protocol(), "wlr-screencopy");
    let (image, _) = next(&mut capture);
    assert_eq!(rows(&image), picture(0, false));
    assert_eq!(dmabuf_rows(&capture), picture(0, false));
    assert_eq!(server.with(|s| s.dmabuf_copies), 1);
}

#[test]
fn a_refused_dmabuf_falls_back_to_shared_memory() {
    for protocol in [WaylandProtocol::ImageCopy, WaylandProtocol::Screencopy] {
        let server = TestServer::start();
        server.with(|s| {
            s.offer_dmabuf = true;
            s.refuse_dmabuf = true;
        });
        let mut capture = WaylandCapture::open(options(&server, protocol, true)).unwrap();
        let (image, _) = next(&mut capture);
        assert_eq!(rows(&image), picture(0, false), "{protocol:?}");
        assert!(capture.last_dmabuf().is_none(), "{protocol:?}");
        assert_eq!(
            server.with(|s| (s.frames_copied, s.dmabuf_copies)),
            (1, 0),
            "{protocol:?}"
        );
    }
}

#[test]
fn without_the_option_frames_stay_in_shared_memory() {
    for protocol in [WaylandProtocol::ImageCopy, WaylandProtocol::Screencopy] {
        let server = TestServer::start();
        server.with(|s| s.offer_dmabuf = true);
        let mut capture = WaylandCapture::open(options(&server, protocol, false)).unwrap();
        let (image, _) = next(&mut capture);
        assert_eq!(rows(&image), picture(0, false), "{protocol:?}");
        assert!(capture.last_dmabuf().is_none());
        assert_eq!(server.with(|s| s.dmabuf_copies), 0, "{protocol:?}");
    }
}

#[test]
fn wlr_screencopy_is_the_fallback_with_exact_pixels_damage_and_the_cursor_flag() {
    let server = TestServer::start_offering(Offers {
        image_copy: false,
        screencopy: true,
    });
    let mut capture = WaylandCapture::open(WaylandOptions {
        cursor: true,
        ..options(&server, WaylandProtocol::Auto, false)
    })
    .unwrap();
    assert_eq!(capture.protocol(), "wlr-screencopy");
    assert_eq!(server.with(|s| s.overlay_cursor), Some(true));
    let (image, first) = next(&mut capture);
    assert_eq!(rows(&image), picture(0, true));
    let idle = capture
        .wait_frame_before(Instant::now() + Duration::from_millis(300))
        .unwrap();
    assert_eq!(idle, None, "an unchanged output sends no frame");
    assert_eq!(server.with(|s| s.frames_copied), 1);
    server.with(|s| s.content = 5);
    let (image, second) = next(&mut capture);
    assert_eq!(rows(&image), picture(5, true));
    assert!(second.as_nanos() > first.as_nanos());
}

/// A handed-on DMA-BUF frame's rows, read through its fd.
fn frame_rows(frame: &DmaBufFrame) -> Vec<Vec<u8>> {
    let l = frame.layout();
    (0..l.height)
        .map(|y| {
            let mut row = vec![0; l.width as usize * 4];
            let at = l.offset + u64::from(y) * l.stride;
            assert_eq!(
                rustix::io::pread(frame.fd(), &mut row, at).unwrap(),
                row.len()
            );
            row
        })
        .collect()
}

/// The next frame as the capture hands it on.
fn next_handed_on(capture: &mut WaylandCapture) -> FrameImage {
    capture
        .wait_frame_before(Instant::now() + WAIT)
        .unwrap()
        .expect("a frame within the wait");
    capture.last_frame_image().unwrap().unwrap().0
}

#[test]
fn dmabuf_frames_are_handed_on_as_they_lie_and_a_held_one_is_not_written_over() {
    let server = TestServer::start();
    server.with(|s| s.offer_dmabuf = true);
    let mut capture =
        WaylandCapture::open(options(&server, WaylandProtocol::ImageCopy, true)).unwrap();
    let FrameImage::DmaBuf(held) = next_handed_on(&mut capture) else {
        panic!("not a DMA-BUF frame")
    };
    let l = held.layout();
    assert_eq!(
        (l.format, l.width, l.height, l.modifier, l.offset, l.stride),
        (
            PixelFormat::Bgra8,
            OUTPUT_SIZE.0,
            OUTPUT_SIZE.1,
            0,
            0,
            u64::from(OUTPUT_SIZE.0) * 4
        )
    );
    assert_eq!(frame_rows(&held), picture(0, false));
    // Three more frames while the first is held: none of them lands in its buffer.
    let mut keys = vec![held.key()];
    for content in 1..=3 {
        server.with(|s| s.content = content);
        let FrameImage::DmaBuf(frame) = next_handed_on(&mut capture) else {
            panic!("not a DMA-BUF frame")
        };
        assert_eq!(frame_rows(&frame), picture(content, false));
        keys.push(frame.key());
    }
    assert_eq!(
        frame_rows(&held),
        picture(0, false),
        "the held frame kept its pixels"
    );
    assert!(!keys[1..].contains(&keys[0]), "{keys:?}");
    // Let go: the buffers rotate again, two of them.
    drop(held);
    let mut later = Vec::new();
    for content in 4..=9 {
        server.with(|s| s.content = content);
        let FrameImage::DmaBuf(frame) = next_handed_on(&mut capture) else {
            panic!("not a DMA-BUF frame")
        };
        assert_eq!(frame_rows(&frame), picture(content, false));
        later.push(frame.key());
    }
    later.sort_by_key(|k| k.index);
    later.dedup();
    assert_eq!(later.len(), 2, "{later:?}");
    assert!(later.iter().all(|k| k.generation == keys[0].generation));
    assert_eq!(server.with(|s| s.dmabuf_copies), 10);
}

#[test]
fn shared_memory_and_cut_frames_are_handed_on_as_cpu_images() {
    let server = TestServer::start();
    server.with(|s| s.offer_dmabuf = true);
    let mut capture =
        WaylandCapture::open(options(&server, WaylandProtocol::ImageCopy, false)).unwrap();
    assert!(matches!(next_handed_on(&mut capture), FrameImage::Cpu(_)));
    let mut capture = WaylandCapture::open(WaylandOptions {
        region: Some(ghoststream::capture::Region {
            x: 1,
            y: 2,
            width: 8,
            height: 4,
        }),
        ..options(&server, WaylandProtocol::ImageCopy, true)
    })
    .unwrap();
    match next_handed_on(&mut capture) {
        FrameImage::Cpu(image) => assert_eq!((image.width(), image.height()), (8, 4)),
        other => panic!("expected a CPU image, got {other:?}"),
    }
}

#[test]
fn the_cursor_sessions_pointer_rides_along_a_handed_on_frame_as_straight_alpha() {
    use wayland_server::{pointer_pixel, POINTER_HOTSPOT, POINTER_SIZE};
    let server = TestServer::start();
    server.with(|s| s.offer_dmabuf = true);
    let mut capture = WaylandCapture::open(WaylandOptions {
        cursor: true,
        cursor_session: true,
        ..options(&server, WaylandProtocol::ImageCopy, true)
    })
    .unwrap();
    // The pointer's image may come a frame after the screen's first.
    let deadline = Instant::now() + WAIT;
    let frame = loop {
        let FrameImage::DmaBuf(frame) = next_handed_on(&mut capture) else {
            panic!("not a DMA-BUF frame")
        };
        if frame.pointer().is_some() || Instant::now() > deadline {
            break frame;
        }
    };
    // The frame itself is the compositor's picture, without the pointer.
    assert_eq!(frame_rows(&frame), picture(0, false));
    let pointer = frame.pointer().expect("the pointer rides along");
    assert_eq!(
        (pointer.left, pointer.top, pointer.width, pointer.height),
        (
            20 - POINTER_HOTSPOT.0,
            10 - POINTER_HOTSPOT.1,
            POINTER_SIZE.0,
            POINTER_SIZE.1
        )
    );
    for y in 0..POINTER_SIZE.1 {
        for x in 0..POINTER_SIZE.0 {
            // Premultiplied B, G, R, A from the compositor; straight R, G, B, A for the GPU.
            let [b, g, r, a] = pointer_pixel(x, y);
            let straight = |c: u8| {
                u8::try_from((u32::from(c) * 255 + u32::from(a) / 2) / u32::from(a)).unwrap()
            };
            let at = (y * POINTER_SIZE.0 + x) as usize * 4;
            assert_eq!(
                &pointer.rgba[at..at + 4],
                [straight(r), straight(g), straight(b), a],
                "pointer pixel ({x}, {y})"
            );
        }
    }
}
