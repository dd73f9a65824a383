//! PipeWire DMA-BUF capture: GhostStream's test node sends its pattern in DMA-BUF buffers
//! (memfds typed `SPA_DATA_DmaBuf`: this machine has no /dev/dri, PipeWire 0.3.65 does not
//! check an fd's kind, and Mesa 25's lavapipe imports a memfd as it would a udmabuf), negotiated
//! in two steps as a compositor does (modifiers left to fixate, then one fixed). The frames
//! come out of the capture as DMA-BUF frames, are imported into Mesa 25's lavapipe (validation
//! on) and converted there: within one code of the float64 reference of the exact pattern, with
//! no CPU copy before the read-back. A producer whose modifiers the consumer does not take
//! falls back to shared memory; a consumer that imports nothing gets shared memory too.
//!
//! One test: it points the Vulkan loader at Mesa 25 through the environment, which must not
//! change while another test thread reads it.
#![cfg(feature = "pipewire")]

#[cfg(feature = "software")]
mod common;
mod gpu_common;
mod pipewire_env;
mod unprivileged;

use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ghoststream::capture::{
    test_node_frame_number, test_node_pixel, CaptureError, LiveCapture, PipeWireCapture,
    PipeWireOptions, TestNodeBuffers,
};
use ghoststream::gpu::{ConvertRing, GpuContext, RingFrame, DRM_FORMAT_MOD_LINEAR};
use ghoststream::processing::convert::normalized_rgb;
use ghoststream::processing::pipeline::reference_process;
use ghoststream::{DmaBufFrame, FrameImage, PixelFormat, Rational};
use gpu_common::compare;
use pipewire_env::{check_pattern, PrivatePipeWire};

const W: u32 = 320;
const H: u32 = 180;

fn open(env: &PrivatePipeWire, name: &str, gpu: Option<Arc<GpuContext>>) -> PipeWireCapture {
    // The pointer metadata is asked for where a GPU draws it (the DMA-BUF path).
    let cursor = gpu.is_some();
    PipeWireCapture::open(PipeWireOptions {
        node: Some(name.parse().unwrap()),
        remote: Some(env.connection()),
        negotiation_timeout: Duration::from_secs(10),
        cursor,
        gpu,
    })
    .unwrap_or_else(|e| panic!("capture opens: {e}\n{}", env.log("pipewire.log")))
}

/// The newest frame as the capture holds it, after waiting up to 5 s for a new one.
fn next_frame(capture: &mut PipeWireCapture) -> FrameImage {
    capture
        .wait_frame_before(Instant::now() + Duration::from_secs(5))
        .expect("no capture error")
        .expect("a frame within 5 s");
    while capture
        .wait_frame_before(Instant::now())
        .expect("no capture error")
        .is_some()
    {}
    capture
        .last_frame_image()
        .expect("no capture error")
        .expect("a frame")
        .0
}

/// The pixels of a DMA-BUF frame, read through its fd (a memfd here), checked against the
/// test node's pattern; returns them packed.
fn pattern_in(frame: &DmaBufFrame) -> Vec<u8> {
    let layout = frame.layout();
    let (w, h) = (layout.width, layout.height);
    let file = std::fs::File::from(frame.fd().try_clone_to_owned().unwrap());
    let row = w as usize * 4;
    let mut pixels = vec![0u8; row * h as usize];
    for y in 0..h as usize {
        file.read_exact_at(
            &mut pixels[y * row..][..row],
            layout.offset + y as u64 * layout.stride,
        )
        .unwrap();
    }
    let n = test_node_frame_number(&pixels[..4]);
    for (i, px) in pixels.chunks_exact(4).enumerate() {
        let i = u32::try_from(i).unwrap();
        let (x, y) = (i % w, i / w);
        assert_eq!(px, test_node_pixel(n, x, y), "frame {n} pixel ({x},{y})");
    }
    pixels
}

/// GhostStream's test node `name` (W x H at 60 fps) sending DMA-BUF buffers with
/// `modifiers`, and shared memory too with `shm_fallback`.
fn dmabuf_node(
    env: &PrivatePipeWire,
    name: &str,
    modifiers: Vec<u64>,
    shm_fallback: bool,
) -> ghoststream::capture::PipeWireTestNode {
    ghoststream::capture::PipeWireTestNode::start_with(
        name,
        (W, H),
        Rational::new(60, 1),
        Some(env.connection()),
        TestNodeBuffers::DmaBuf {
            modifiers,
            shm_fallback,
        },
    )
    .unwrap_or_else(|e| panic!("test node {name} starts: {e}\n{}", env.log("pipewire.log")))
}

/// Blends `pointer` into packed BGRx `pixels` (W x H) as 8-bit straight alpha, the way a CPU
/// capture draws it; returns how many pixels it covered.
fn blend_pointer(pixels: &mut [u8], pointer: &ghoststream::PointerOverlay) -> usize {
    let mut drawn = 0;
    for py in 0..pointer.height {
        for px in 0..pointer.width {
            let x = i64::from(pointer.left) + i64::from(px);
            let y = i64::from(pointer.top) + i64::from(py);
            if !(0..i64::from(W)).contains(&x) || !(0..i64::from(H)).contains(&y) {
                continue;
            }
            let texel = usize::try_from(py * pointer.width + px).unwrap() * 4;
            let src = &pointer.rgba[texel..][..4];
            let a = u32::from(src[3]);
            if a == 0 {
                continue;
            }
            drawn += 1;
            let at = usize::try_from(y * i64::from(W) + x).unwrap() * 4;
            let dst = &mut pixels[at..][..4];
            // BGRx: the picture's R, G, B go to bytes 2, 1, 0.
            for (c, i) in [(0usize, 2usize), (1, 1), (2, 0)] {
                let v = (u32::from(src[c]) * a + u32::from(dst[i]) * (255 - a) + 127) / 255;
                dst[i] = u8::try_from(v).unwrap();
            }
        }
    }
    drawn
}

/// A decoded I420 frame (tight planes) against the reference in `layout`: every sample within
/// one code; inside the pointer's rectangle (2 pixels around it) luma within two, chroma not
/// compared: the pointer's 4:2:0 blend is in YCbCr over each 2x2 block, and this session's
/// chroma is left-sited, whose filter reaches across blocks (the centre-sited pointer check
/// above compares it).
#[cfg(feature = "software")]
fn check_decoded(
    got: &[u8],
    want: &[u8],
    layout: &ghoststream::processing::convert::YuvLayout,
    pointer: Option<&ghoststream::PointerOverlay>,
    n: usize,
) {
    let (w, h) = (W as usize, H as usize);
    let inside = |x: usize, y: usize, scale: usize| {
        pointer.is_some_and(|p| {
            let (x, y) = (
                i64::try_from(x * scale).unwrap(),
                i64::try_from(y * scale).unwrap(),
            );
            let (l, t) = (i64::from(p.left) - 2, i64::from(p.top) - 2);
            x >= l && y >= t && x < l + i64::from(p.width) + 4 && y < t + i64::from(p.height) + 4
        })
    };
    let chroma = (layout.chroma_offset as usize, layout.v_offset as usize);
    let planes = [
        (0, w, h, 0usize, layout.luma_pitch as usize, 1usize),
        (
            w * h,
            w / 2,
            h / 2,
            chroma.0,
            layout.chroma_pitch as usize,
            2,
        ),
        (
            w * h * 5 / 4,
            w / 2,
            h / 2,
            chroma.1,
            layout.chroma_pitch as usize,
            2,
        ),
    ];
    for (plane, &(tight, pw, ph, offset, pitch, scale)) in planes.iter().enumerate() {
        for y in 0..ph {
            for x in 0..pw {
                let g = i32::from(got[tight + y * pw + x]);
                let e = i32::from(want[offset + y * pitch + x]);
                let bound = match (inside(x, y, scale), plane) {
                    (false, _) => 1,
                    (true, 0) => 2,
                    (true, _) => continue,
                };
                assert!(
                    (g - e).abs() <= bound,
                    "decoded frame {n}, plane {plane} ({x},{y}): {g}, reference {e}"
                );
            }
        }
    }
}

#[test]
fn dma_buf_frames_are_converted_on_the_gpu_with_no_cpu_copy_and_fall_back_to_shared_memory() {
    let Some(ctx) = gpu_common::mesa25() else {
        return;
    };
    let Some(env) = PrivatePipeWire::start() else {
        return;
    };

    // 1. DMA-BUF end to end: two-step negotiation, import, conversion.
    let node = dmabuf_node(&env, "gs-dmabuf", vec![DRM_FORMAT_MOD_LINEAR], true);
    let mut capture = open(&env, "gs-dmabuf", Some(Arc::clone(&ctx)));
    let info = capture.info();
    assert_eq!((info.width, info.height), (W, H));
    let (spec, layout) = gpu_common::bt709_nv12(W, H);
    let mut ring: ConvertRing<u64> = ConvertRing::new(&ctx, PixelFormat::Bgra8, &spec, 2).unwrap();
    ring.poison_outputs(0x5A);
    let mut expected = Vec::new();
    let mut results = Vec::new();
    for n in 0..6u64 {
        let FrameImage::DmaBuf(frame) = next_frame(&mut capture) else {
            panic!("frame {n} is not a DMA-BUF frame")
        };
        let l = frame.layout();
        assert_eq!(
            (l.format, l.width, l.height, l.modifier, l.stride),
            (
                PixelFormat::Bgra8,
                W,
                H,
                DRM_FORMAT_MOD_LINEAR,
                u64::from(W) * 4
            )
        );
        // While the frame is held its buffer is not given back: its pixels stay put (the ring
        // holds its own clone until its pass is done).
        let pixels = pattern_in(&frame);
        expected.push(gpu_common::Reference::of(
            &pixels,
            PixelFormat::Bgra8,
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
    assert_eq!(results.len(), 6);
    for c in &results {
        expected[usize::try_from(c.tag).unwrap()]
            .check(c.image.data(), &format!("dma-buf frame {}", c.tag));
        assert_eq!(
            c.cpu_bytes,
            u64::from(layout.size),
            "frame {}: the read-back only, no upload",
            c.tag
        );
    }
    // Frames keep flowing: every buffer went back once its pass was done.
    let mut generation = None;
    for _ in 0..10 {
        let FrameImage::DmaBuf(frame) = next_frame(&mut capture) else {
            panic!("not a DMA-BUF frame")
        };
        generation = Some(frame.key().generation);
    }
    gpu_common::assert_validation_silent(&ctx);

    // A resize renegotiates: DMA-BUF frames of the new size in new buffers (a new generation
    // for the import cache), and the CPU can still read one out (the fallback a frame of
    // another size takes in the pacer).
    node.resize(256, 144);
    let deadline = Instant::now() + Duration::from_secs(5);
    let resized = loop {
        assert!(Instant::now() < deadline, "no 256x144 frame within 5 s");
        if let FrameImage::DmaBuf(frame) = next_frame(&mut capture) {
            if frame.width() == 256 {
                break frame;
            }
        }
    };
    assert_eq!(resized.height(), 144);
    assert!(resized.key().generation > generation.unwrap());
    pattern_in(&resized);
    drop(resized);
    let (image, _) = capture.last_image().unwrap().expect("a frame read out");
    assert_eq!((image.width(), image.height()), (256, 144));
    check_pattern(&image);
    node.resize(W, H);
    let deadline = Instant::now() + Duration::from_secs(5);
    while next_frame(&mut capture).width() != W {
        assert!(Instant::now() < deadline, "no {W}x{H} frame within 5 s");
    }

    // The pointer the node sends as metadata rides on the DMA-BUF frames and is drawn on the
    // GPU over the converted output: against the pattern with the pointer blended on the CPU
    // (8-bit straight alpha, independent code here) and converted by the float64 reference,
    // every sample within 2 codes, for NV12, I420, P010 (centre-sited: the blend's chroma
    // block is the filter's) and I444.
    node.show_pointer();
    for output in [
        PixelFormat::Nv12,
        PixelFormat::I420,
        PixelFormat::P010,
        PixelFormat::I444,
    ] {
        let mut spec = ghoststream::processing::pipeline::ProcessSpec::convert_only(
            W,
            H,
            ghoststream::processing::convert::ConvertSpec {
                siting: ghoststream::processing::convert::ChromaSiting::Centre,
                output,
                ..spec.convert
            },
        );
        spec.convert.output = output;
        let layout = ghoststream::processing::convert::YuvLayout::new(output, W, H);
        let mut ring: ConvertRing<u64> =
            ConvertRing::new(&ctx, PixelFormat::Bgra8, &spec, 2).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let frame = loop {
            assert!(
                Instant::now() < deadline,
                "no frame with a pointer within 5 s"
            );
            if let FrameImage::DmaBuf(f) = next_frame(&mut capture) {
                if f.pointer().is_some() {
                    break f;
                }
            }
        };
        let pointer = frame.pointer().unwrap().clone();
        let mut pixels = pattern_in(&frame);
        let drawn = blend_pointer(&mut pixels, &pointer);
        assert!(
            drawn >= 32,
            "the pointer covers {drawn} pixels of the frame"
        );
        let mut want = vec![0u8; layout.size as usize];
        reference_process(
            &normalized_rgb(&pixels, PixelFormat::Bgra8).unwrap(),
            &spec,
            100.0,
            &layout,
            &mut want,
        );
        let mut got: Vec<_> = ring
            .submit(RingFrame::DmaBuf(&frame), 0)
            .unwrap()
            .converted()
            .into_iter()
            .collect();
        got.extend(ring.flush().unwrap());
        drop(frame);
        let (differing, total) = compare(&layout, got[0].image.data(), &want, 2, "pointer frame");
        eprintln!("pointer over {output}: {differing} of {total} samples off by one or two codes");
    }
    gpu_common::assert_validation_silent(&ctx);
    #[cfg(feature = "software")]
    {
        // Through the pacer and a session on the same device into lossless x264: the stats
        // count the read-back the software encoder needs and no other CPU copy, and ffmpeg's
        // decode equals the float64 reference of each frame's pattern (read from its buffer)
        // within one code, the pointer's rectangle within two.
        use ghoststream::capture::PacedCapture;
        use ghoststream::source::FrameSource;
        let mut paced = PacedCapture::new(capture, Rational::new(30, 1)).unwrap();
        let mut cfg = common::config(ghoststream::Codec::H264, W, H, 30);
        cfg.input_format = PixelFormat::Bgra8;
        cfg.tuning = ghoststream::Tuning::Lossless;
        cfg.rate_control = ghoststream::RateControl::Cqp { qp: 0 };
        let spec = cfg.process_spec(PixelFormat::I420).unwrap();
        let i420 = ghoststream::processing::convert::YuvLayout::new(PixelFormat::I420, W, H);
        let mut session = ghoststream::Session::open_on(cfg.clone(), Arc::clone(&ctx)).unwrap();
        let mut expected = Vec::new();
        for _ in 0..5 {
            let frame = paced.next_frame().unwrap().expect("a paced frame");
            let FrameImage::DmaBuf(dmabuf) = &frame.image else {
                panic!("{:?}", frame.image)
            };
            let mut pixels = pattern_in(dmabuf);
            let pointer = dmabuf.pointer().cloned();
            if let Some(p) = &pointer {
                blend_pointer(&mut pixels, p);
            }
            let mut want = vec![0u8; i420.size as usize];
            reference_process(
                &normalized_rgb(&pixels, PixelFormat::Bgra8).unwrap(),
                &spec,
                100.0,
                &i420,
                &mut want,
            );
            expected.push((want, pointer));
            session.submit(frame).unwrap();
        }
        let outputs = session.close().unwrap();
        let packets: Vec<_> = outputs
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
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dmabuf.h264");
        common::write(
            &packets,
            &path,
            ghoststream::output::BitstreamFormat::AnnexB,
            &cfg,
        );
        let decoded = common::decode_raw(&path, "yuv420p");
        let frame_bytes = (W * H * 3 / 2) as usize;
        assert_eq!(decoded.len(), 5 * frame_bytes);
        for (n, (got, (want, pointer))) in decoded.chunks(frame_bytes).zip(&expected).enumerate() {
            check_decoded(got, want, &i420, pointer.as_ref(), n);
        }
        gpu_common::assert_validation_silent(&ctx);
    }
    #[cfg(not(feature = "software"))]
    drop(capture);

    // 2. Modifiers that do not overlap: the consumer falls back to shared memory.
    // I915_FORMAT_MOD_X_TILED: lavapipe imports LINEAR only.
    let _tiled = dmabuf_node(&env, "gs-dmabuf-tiled", vec![0x0100_0000_0000_0001], true);
    let mut capture = open(&env, "gs-dmabuf-tiled", Some(Arc::clone(&ctx)));
    for _ in 0..3 {
        let FrameImage::Cpu(image) = next_frame(&mut capture) else {
            panic!("not a shared-memory frame")
        };
        check_pattern(&image);
    }
    drop(capture);

    // 3. A consumer with no GPU against a producer that also offers shared memory.
    let mut capture = open(&env, "gs-dmabuf", None);
    let FrameImage::Cpu(image) = next_frame(&mut capture) else {
        panic!("not a shared-memory frame")
    };
    check_pattern(&image);

    // 4. A producer that sends only DMA-BUF, to a consumer that cannot import it: a typed
    // error naming both sides' formats, as soon as the link fails (not at the timeout).
    let _dmabuf_only = dmabuf_node(&env, "gs-dmabuf-only", vec![DRM_FORMAT_MOD_LINEAR], false);
    let started = Instant::now();
    let e = PipeWireCapture::open(PipeWireOptions {
        node: Some("gs-dmabuf-only".parse().unwrap()),
        remote: Some(env.connection()),
        negotiation_timeout: Duration::from_secs(20),
        cursor: false,
        gpu: None,
    })
    .unwrap_err();
    let waited = started.elapsed();
    let text = e.to_string();
    assert!(
        matches!(&e, CaptureError::NoCommonFormat { producer, consumer, .. }
            if producer.contains("BGRx as DMA-BUF (modifiers 0x0)")
                && consumer.starts_with("BGRx/BGRA/RGBx/RGBA/xBGR_210LE/ABGR_210LE in shared memory")),
        "{e:?}"
    );
    assert!(text.contains("--gpu require"), "{text}");
    assert!(waited < Duration::from_secs(5), "the error took {waited:?}");
}
