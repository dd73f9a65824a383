//! A Wayland capture's DMA-BUF frame read by the GPU in place: the test compositor
//! (tests/wayland_server) copies its picture into the library's LINEAR DMA-BUF (a memfd: no
//! /dev/dri here), `last_dmabuf` is imported into Mesa 25's lavapipe (fetched by
//! .ci/get-mesa25-lavapipe.sh; this binary alone loads it) and converted to NV12, which matches
//! the float64 reference of the same frame read on the CPU within one code. Then as a session
//! takes them: handed on as DMA-BUF frames (`LiveCapture::last_frame_image`) and converted by
//! the ring with no upload, the CPU copying only the NV12 read-back. No CPU copy sits between
//! the compositor's write and the GPU's read.

#[cfg(feature = "software")]
mod common;
mod gpu_common;
mod wayland_server;

use std::time::{Duration, Instant};

use ghoststream::capture::LiveCapture;
use ghoststream::capture::{WaylandCapture, WaylandOptions, WaylandProtocol};
use ghoststream::gpu::{ConvertRing, DmaBufImage, RingFrame};
use ghoststream::{FrameImage, PixelFormat};
use wayland_server::{TestServer, OUTPUT_SIZE};

#[test]
fn a_captured_dmabuf_frame_is_converted_on_the_gpu_in_place() {
    let Some(ctx) = gpu_common::mesa25() else {
        return;
    };
    let server = TestServer::start();
    server.with(|s| {
        s.offer_dmabuf = true;
        s.content = 9;
    });
    let mut capture = WaylandCapture::open(WaylandOptions {
        display: Some(server.socket.clone()),
        cursor: false,
        dmabuf: true,
        protocol: WaylandProtocol::ImageCopy,
        round_trip_timeout: Duration::from_secs(2),
        ..WaylandOptions::default()
    })
    .unwrap();
    let (cpu, _) = capture
        .next_image_before(Instant::now() + Duration::from_secs(5))
        .unwrap()
        .expect("a frame");
    let (buf, _) = capture.last_dmabuf().expect("the frame is in a DMA-BUF");
    assert_eq!(server.with(|s| s.dmabuf_copies), 1);
    let image = DmaBufImage::import(&ctx, &buf).expect("import of the captured DMA-BUF");

    let (w, h) = OUTPUT_SIZE;
    let format = PixelFormat::Bgra8;
    let mut pixels = Vec::with_capacity(w as usize * h as usize * 4);
    for y in 0..h {
        pixels.extend_from_slice(&cpu.row(0, y)[..w as usize * 4]);
    }
    let (spec, layout) = gpu_common::bt709_nv12(w, h);
    let want = gpu_common::Reference::of(&pixels, format, &spec.convert, &layout);
    let mut stream: ConvertRing<u32> = ConvertRing::new(&ctx, format, &spec, 2).unwrap();
    stream.poison_outputs(0x5A);
    // SAFETY: `image` lives until after the flush below.
    let frame = unsafe { image.frame() };
    let mut results = Vec::new();
    results.extend(
        stream
            .submit(
                RingFrame::Gpu {
                    frame: &frame,
                    wait_timeout_ns: 1_000_000_000,
                },
                0,
            )
            .unwrap()
            .converted(),
    );
    results.extend(stream.flush().unwrap());
    assert_eq!(results.len(), 1);
    want.check(results[0].image.data(), "captured dma-buf frame");
    drop(stream);
    drop(image);

    // As the session takes them: handed on as DMA-BUF frames (LiveCapture::last_frame_image),
    // converted by the ring with no upload: the CPU copies only the NV12 read-back.
    let mut ring: ConvertRing<u32> = ConvertRing::new(&ctx, format, &spec, 2).unwrap();
    ring.poison_outputs(0x5A);
    let mut wanted = Vec::new();
    let mut results = Vec::new();
    for n in 0..4u32 {
        server.with(|s| s.content = 10 + n);
        capture
            .wait_frame_before(Instant::now() + Duration::from_secs(5))
            .unwrap()
            .expect("a frame");
        let (FrameImage::DmaBuf(frame), _) = capture.last_frame_image().unwrap().unwrap() else {
            panic!("frame {n} is not handed on as a DMA-BUF")
        };
        let l = frame.layout();
        let mut pixels = vec![0u8; w as usize * h as usize * 4];
        for (y, row) in pixels.chunks_exact_mut(w as usize * 4).enumerate() {
            let at = l.offset + u64::try_from(y).unwrap() * l.stride;
            rustix::io::pread(frame.fd(), row, at).unwrap();
        }
        assert_eq!(
            pixels[2],
            u8::try_from((10 + n) * 17 + 1).unwrap(),
            "frame {n}'s picture"
        );
        wanted.push(gpu_common::Reference::of(
            &pixels,
            format,
            &spec.convert,
            &layout,
        ));
        results.extend(
            ring.submit(RingFrame::DmaBuf(&frame), n)
                .unwrap()
                .converted(),
        );
    }
    results.extend(ring.flush().unwrap());
    assert_eq!(results.len(), 4);
    for c in &results {
        wanted[usize::try_from(c.tag).unwrap()]
            .check(c.image.data(), &format!("handed-on frame {}", c.tag));
        assert_eq!(
            c.cpu_bytes,
            u64::from(layout.size),
            "frame {}: the read-back only",
            c.tag
        );
    }
    assert_eq!(server.with(|s| s.dmabuf_copies), 5);
    drop(ring);
    gpu_common::assert_validation_silent(&ctx);
    #[cfg(feature = "software")]
    {
        // Through the pacer and a session on the same device into x264: the stats count the
        // NV12 read-back the software encoder needs, and no other CPU copy.
        use ghoststream::capture::PacedCapture;
        use ghoststream::source::FrameSource;
        let mut paced = PacedCapture::new(capture, ghoststream::Rational::new(30, 1)).unwrap();
        let mut cfg = common::config(ghoststream::Codec::H264, w, h, 30);
        cfg.input_format = PixelFormat::Bgra8;
        let mut session = ghoststream::Session::open_on(cfg, std::sync::Arc::clone(&ctx)).unwrap();
        for n in 0..5u32 {
            server.with(|s| s.content = 20 + n);
            let frame = paced.next_frame().unwrap().expect("a paced frame");
            assert!(
                matches!(frame.image, FrameImage::DmaBuf(_)),
                "{:?}",
                frame.image
            );
            session.submit(frame).unwrap();
        }
        let packets: Vec<_> = session
            .close()
            .unwrap()
            .into_iter()
            .filter_map(|o| match o {
                ghoststream::SessionOutput::Packet(p) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(packets.len(), 5);
        for p in &packets {
            assert_eq!(
                p.stats.cpu_copy_bytes,
                u64::from(layout.size),
                "frame {}: the encoder's read-back only",
                p.frame_number
            );
        }
        gpu_common::assert_validation_silent(&ctx);
    }
}
