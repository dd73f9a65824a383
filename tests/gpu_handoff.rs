//! The Vulkan side of the zero-copy hand-off, on lavapipe with validation on: frames written in
//! rotation into hand-off buffers (more buffers than frames in flight, as an encoder holding
//! pictures for reordering has), and a session whose backend reads them in place. The consumer
//! here is a test double on the same Vulkan device (lavapipe has no CUDA and cannot export
//! timelines), which waits on `ready`, reads the buffer and signals `released` exactly as NVENC's
//! CUDA stream does on the H200 (tests/cuda_handoff.rs). Its bytes must equal the read-back
//! path's, frame for frame: a buffer reused too early shows up as a mismatch. And the Vulkan
//! Video backend, which would read the hand-off on this device, refuses a device without a
//! video-encode queue by name.

mod gpu_common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use ghoststream::encode::{
    BackendFactory, EncodeError, EncodedUnit, EncoderBackend, Feed, InputPlan, OpenedBackend,
};
use ghoststream::gpu::{
    ConvertRing, ExportableBuffer, ExportableTimeline, GpuContext, GpuError, GpuHandoff, HandedOff,
    Handoff, RingFrame,
};
use ghoststream::{
    BackendKind, Codec, CpuImage, Frame, PixelFormat, Rational, Session, SessionConfig,
    SessionOutput, Timestamp,
};
use gpu_common::{assert_validation_silent, compare, pictures, read_back, Reference, Rng};

const WAIT_NS: u64 = 5_000_000_000;

/// `count` buffers of `size` bytes and two unshared timelines on `ctx`.
fn handoff(ctx: &Arc<GpuContext>, count: usize, size: u64) -> GpuHandoff {
    GpuHandoff {
        buffers: (0..count)
            .map(|_| Arc::new(ExportableBuffer::new(ctx, size).unwrap()))
            .collect(),
        ready: Arc::new(ExportableTimeline::unshared(ctx, 0).unwrap()),
        released: Arc::new(ExportableTimeline::unshared(ctx, 0).unwrap()),
    }
}

/// Reads handed-over frames in place, `hold` frames behind the producer (as an encoder holding
/// pictures for lookahead does), and returns each frame's bytes as its "packet".
struct VulkanReader {
    handoff: GpuHandoff,
    size: u64,
    hold: usize,
    held: VecDeque<(HandedOff, i64)>,
    out: VecDeque<EncodedUnit>,
}

impl VulkanReader {
    fn new(handoff: GpuHandoff, size: u64, hold: usize) -> Self {
        Self {
            handoff,
            size,
            hold,
            held: VecDeque::new(),
            out: VecDeque::new(),
        }
    }

    fn consume_oldest(&mut self) -> Result<(), EncodeError> {
        let Some((frame, pts)) = self.held.pop_front() else {
            return Ok(());
        };
        let failed = |e: GpuError| EncodeError::Hardware {
            backend: BackendKind::Software,
            message: e.to_string(),
        };
        self.handoff
            .ready
            .wait(frame.value, WAIT_NS)
            .map_err(failed)?;
        let data = self.handoff.buffers[frame.target]
            .download(self.size)
            .map_err(failed)?;
        self.handoff.released.signal(frame.value).map_err(failed)?;
        self.out.push_back(EncodedUnit {
            data,
            pts,
            dts: pts,
            keyframe: true,
            gpu_time: None,
        });
        Ok(())
    }
}

impl EncoderBackend for VulkanReader {
    fn kind(&self) -> BackendKind {
        BackendKind::Software
    }

    fn describe(&self) -> String {
        "a test reader of hand-off buffers".into()
    }

    fn encode(&mut self, _: Frame, _: i64) -> Result<(), EncodeError> {
        panic!("a hand-off backend was given a CPU frame")
    }

    fn encode_handed_off(&mut self, frame: HandedOff, encoder_pts: i64) -> Result<(), EncodeError> {
        self.held.push_back((frame, encoder_pts));
        while self.held.len() > self.hold {
            self.consume_oldest()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), EncodeError> {
        while !self.held.is_empty() {
            self.consume_oldest()?;
        }
        Ok(())
    }

    fn receive(&mut self) -> Result<Option<EncodedUnit>, EncodeError> {
        Ok(self.out.pop_front())
    }
}

#[test]
fn frames_rotate_through_more_buffers_than_slots_and_match_the_read_back_path() {
    let Some(ctx) = gpu_common::context() else {
        return;
    };
    let (w, h, frames, slots, buffers, hold) = (320u32, 192u32, 40usize, 3usize, 5usize, 3usize);
    let (spec, layout) = gpu_common::bt709_nv12(w, h);
    let size = layout.size as usize;
    let mut rng = Rng::new();
    let pictures = pictures(&mut rng, w, h, 7);
    let expected = read_back(&ctx, &spec, &pictures, size);

    let shared = handoff(&ctx, buffers, size as u64);
    let mut stream: ConvertRing<usize> =
        ConvertRing::with_handoff(&ctx, PixelFormat::Bgra8, &spec, shared.clone(), slots).unwrap();
    assert!(stream.hands_off());
    stream.poison_outputs(0xA5);
    let mut held: VecDeque<(HandedOff, usize)> = VecDeque::new();
    let mut finished = Vec::new();
    // Every sample exactly as the read-back path wrote it (row padding aside: the poison fill
    // stays there): a sample not yet written shows as 0xA5, another frame's as its value.
    let consume = |(f, k): (HandedOff, usize)| {
        shared.ready.wait(f.value, WAIT_NS).unwrap();
        let got = shared.buffers[f.target].download(size as u64).unwrap();
        compare(
            &layout,
            &got,
            &expected[k],
            0,
            &format!("frame {}", f.value - 1),
        );
        shared.released.signal(f.value).unwrap();
    };
    for n in 0..frames {
        let h = stream
            .submit(RingFrame::Cpu(&pictures[n % pictures.len()]), n)
            .unwrap()
            .handed_off()
            .expect("a hand-off stream hands frames off");
        assert_eq!(
            h.target,
            n % buffers,
            "frame {n} goes into buffer n mod {buffers}"
        );
        assert_eq!(h.value, n as u64 + 1);
        held.push_back((h, n % pictures.len()));
        while held.len() > hold {
            consume(held.pop_front().unwrap());
        }
        finished.extend(stream.take_finished().unwrap());
    }
    held.into_iter().for_each(consume);
    assert!(
        stream.flush().unwrap().is_empty(),
        "a hand-off stream reads nothing back"
    );
    finished.extend(stream.take_finished().unwrap());
    let tags: Vec<usize> = finished.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        tags,
        (0..frames).collect::<Vec<_>>(),
        "every frame finishes, in order"
    );
    assert_eq!(shared.ready.value().unwrap(), frames as u64);
    assert_eq!(shared.released.value().unwrap(), frames as u64);
    drop(stream);
    assert_validation_silent(&ctx);
}

#[test]
fn cpu_uploads_match_the_reference_read_in_place_or_copied_on_the_device() {
    // The ring's two buffer-input routes for CPU frames: the pass reading the staging buffer
    // (lavapipe's default: the device reads host memory as its own) and reading a device-local
    // copy of it (a discrete GPU's default, the H200's; forced here). Every sample the float64
    // reference's but next to a rounding boundary (gpu_common::Reference::check), both routes.
    let Some(ctx) = gpu_common::context() else {
        return;
    };
    let (w, h) = (130u32, 66u32);
    let (spec, layout) = gpu_common::bt709_nv12(w, h);
    let mut rng = Rng::new();
    let frames = pictures(&mut rng, w, h, 5);
    for copying in [false, true] {
        let mut ring: ConvertRing<usize> = if copying {
            ConvertRing::copying_uploads(&ctx, PixelFormat::Bgra8, &spec, 2).unwrap()
        } else {
            ConvertRing::new(&ctx, PixelFormat::Bgra8, &spec, 2).unwrap()
        };
        let mut done = Vec::new();
        for (k, p) in frames.iter().enumerate() {
            done.extend(ring.submit(p.into(), k).unwrap().converted());
        }
        done.extend(ring.flush().unwrap());
        done.sort_by_key(|c| c.tag);
        assert_eq!(done.len(), frames.len());
        for (c, p) in done.iter().zip(&frames) {
            let want = Reference::of(p.data(), PixelFormat::Bgra8, &spec.convert, &layout);
            let label = format!("frame {} (copied on the device: {copying})", c.tag);
            want.check(c.image.data(), &label);
        }
    }
    assert_validation_silent(&ctx);
}

#[test]
fn the_vulkan_video_backend_on_a_gpu_without_an_encode_queue_is_refused_naming_it() {
    // Lavapipe here, the H200 in benches/h200/run.sh: neither has a video-encode queue. The
    // session's GPU pass would hand its frames to the encoder on this context; the backend
    // refuses before any of it is made, naming the device and what it lacks.
    let Some(ctx) = gpu_common::context() else {
        return;
    };
    let name = ctx.device_info().name.clone();
    println!("device: {name}");
    assert!(
        ctx.video_encode_family().is_none(),
        "{name} has no encode queue"
    );
    for codec in [Codec::H264, Codec::Hevc, Codec::Av1] {
        let mut config = SessionConfig::new(codec, 1920, 1080, Rational::new(60, 1));
        config.backend = ghoststream::BackendChoice::Only(BackendKind::VulkanVideo);
        let Err(e) = ghoststream::encode::open_backend(&config, Feed::Gpu(&ctx)) else {
            panic!("{codec}: a backend opened on {name}");
        };
        let text = e.to_string();
        println!("{codec}: {text}");
        assert!(
            text.contains(&name) && text.contains("no video-encode queue"),
            "{codec}: {text}"
        );
        let why = ghoststream::gpu::video::caps::encode_support_on(&ctx, codec).unwrap_err();
        assert!(
            why.contains(&name) && why.contains("VK_KHR_video_encode_queue"),
            "{codec}: {why}"
        );
    }
}

#[test]
fn hand_off_buffer_counts_and_sizes_outside_the_limits_are_typed_errors() {
    let Some(ctx) = gpu_common::context() else {
        return;
    };
    let (spec, layout) = gpu_common::bt709_nv12(64, 32);
    let make = |h: GpuHandoff| {
        ConvertRing::<()>::with_handoff(&ctx, PixelFormat::Bgra8, &spec, h, 3).map(drop)
    };
    let mut none = handoff(&ctx, 1, u64::from(layout.size));
    none.buffers.clear();
    match make(none) {
        Err(GpuError::Invalid { what, reason }) => {
            assert_eq!(what, "hand-off with 0 buffers");
            assert!(reason.contains("1 to 64"), "{reason}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let mut many = handoff(&ctx, 1, u64::from(layout.size));
    many.buffers = vec![Arc::clone(&many.buffers[0]); 65];
    assert!(
        matches!(make(many), Err(GpuError::Invalid { what, .. }) if what == "hand-off with 65 buffers")
    );
    match make(handoff(&ctx, 2, u64::from(layout.size) - 1)) {
        Err(GpuError::Invalid { what, reason }) => {
            assert_eq!(
                what,
                format!("hand-off buffer of {} bytes", layout.size - 1)
            );
            assert!(
                reason.contains(&format!("needs {} bytes", layout.size)),
                "{reason}"
            );
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    // Buffers and timelines of another context (here another device of the same GPU) are
    // refused by value: their handles would be bound and signalled on the wrong device.
    let other = gpu_common::context().unwrap();
    match make(handoff(&other, 2, u64::from(layout.size))) {
        Err(GpuError::Invalid { what, reason }) => {
            assert_eq!(what, "hand-off buffers and timelines");
            assert!(reason.contains("own context"), "{reason}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let unshared = ExportableTimeline::unshared(&ctx, 0).unwrap();
    match unshared.export_fd() {
        Err(GpuError::Unsupported { reason, .. }) => {
            assert!(reason.contains("ExportableTimeline::new"), "{reason}")
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert_validation_silent(&ctx);
}

/// Opens the reader once, for a session on a GPU, taking NV12 through its hand-off buffers.
struct ReaderFactory(Mutex<Option<VulkanReader>>);

impl BackendFactory for ReaderFactory {
    fn kind(&self) -> BackendKind {
        BackendKind::Software
    }

    fn probe(&self, _: Codec) -> Result<String, String> {
        Ok("a test reader".into())
    }

    fn open(&self, _: &SessionConfig, feed: Feed<'_>) -> Result<OpenedBackend, EncodeError> {
        assert!(
            matches!(feed, Feed::Gpu(_)),
            "the session converts on the GPU"
        );
        let reader = self.0.lock().unwrap().take().expect("opened once");
        let handoff = Some(Handoff::Buffers(reader.handoff.clone()));
        Ok(OpenedBackend {
            backend: Box::new(reader),
            input: InputPlan {
                format: PixelFormat::Nv12,
                handoff,
            },
        })
    }
}

#[test]
fn a_session_hands_converted_frames_to_a_backend_that_reads_them_in_place() {
    let Some(ctx) = gpu_common::context() else {
        return;
    };
    let (w, h, frames) = (320u32, 192u32, 24u64);
    let mut config = SessionConfig::new(Codec::H264, w, h, Rational::new(30, 1));
    config.input_format = PixelFormat::Bgra8;
    let spec = config.process_spec(PixelFormat::Nv12).unwrap();
    let layout = ghoststream::processing::convert::YuvLayout::new(spec.convert.output, w, h);
    let mut rng = Rng::new();
    let pictures = pictures(&mut rng, w, h, 5);
    let expected = read_back(&ctx, &spec, &pictures, layout.size as usize);

    let reader = VulkanReader::new(
        handoff(&ctx, 6, u64::from(layout.size)),
        u64::from(layout.size),
        4,
    );
    let factory = ReaderFactory(Mutex::new(Some(reader)));
    let mut session = Session::open_with(config, Some(Arc::clone(&ctx)), &[&factory]).unwrap();
    assert!(
        session
            .processing_description()
            .contains("handed to the encoder in place through 6 buffers"),
        "{}",
        session.processing_description()
    );
    let frame_ns = 1_000_000_000 / 30;
    for n in 0..frames {
        let source = &pictures[usize::try_from(n).unwrap() % pictures.len()];
        let mut image = CpuImage::new(PixelFormat::Bgra8, w, h, None).unwrap();
        image.data_mut().copy_from_slice(source.data());
        let pts = Timestamp::from_nanos(5_000 + i64::try_from(n).unwrap() * frame_ns);
        session.submit(Frame::from_cpu(image, pts)).unwrap();
    }
    let outputs = session.close().unwrap();
    let packets: Vec<_> = outputs
        .into_iter()
        .map(|o| match o {
            SessionOutput::Packet(p) => p,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(packets.len(), usize::try_from(frames).unwrap());
    let mut timed = 0;
    for (n, p) in packets.iter().enumerate() {
        assert_eq!(p.frame_number, n as u64);
        assert_eq!(
            p.pts.as_nanos(),
            5_000 + i64::try_from(n).unwrap() * frame_ns
        );
        compare(
            &layout,
            &p.data,
            &expected[n % pictures.len()],
            0,
            &format!("frame {n}"),
        );
        timed += usize::from(p.stats.gpu_time.is_some());
        if p.stats.gpu_time.is_some() && ctx.maps_gpu_time() {
            gpu_common::check_gpu_span(&p.stats);
        }
    }
    eprintln!(
        "GPU clock mapped onto CLOCK_MONOTONIC: {}",
        if ctx.maps_gpu_time() { "yes" } else { "no" }
    );
    eprintln!("{timed} of {frames} packets carry the pass's GPU time");
    assert!(
        timed * 2 >= usize::try_from(frames).unwrap(),
        "GPU times reach the frames' stats"
    );
    assert_validation_silent(&ctx);
}
