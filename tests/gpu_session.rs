//! RGB frames through a session: converted on the GPU (lavapipe in CI, validation on), encoded
//! by the software encoders, decoded by ffmpeg and compared with the float64 reference of the
//! conversion. Also the CPU fallback when the GPU is turned off.

mod common;
mod gpu_common;
mod host_vulkan;

use common::*;
use ghoststream::gpu::ash::vk;
use ghoststream::gpu::{DeviceSelector, GpuContext, GpuOptions};
use ghoststream::gpu::{GpuError, GpuFrame, TimelinePoint};
use ghoststream::output::BitstreamFormat;
use ghoststream::processing::convert::{normalized_rgb, YuvLayout};
use ghoststream::processing::pipeline::reference_process;
use ghoststream::processing::scale::{Fit, ScaleFilter};
use ghoststream::processing::tonemap::PeakSource;
use ghoststream::{
    BitDepth, Codec, CpuImage, Frame, GpuChoice, PixelFormat, Processing, RateControl, Session,
    SessionConfig, SessionError, Timestamp, ToneMapInput, TransferFunction,
};
use host_vulkan::{host_app, HostApp};

const W: u32 = 320;
const H: u32 = 192;
const FRAMES: u64 = 12;

fn gpu_available() -> bool {
    match GpuContext::new(&GpuOptions {
        device: DeviceSelector::Auto,
        validation: true,
    }) {
        Ok(_) => true,
        Err(e) if std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_some() => {
            panic!("GHOSTSTREAM_REQUIRE_GPU is set: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: no Vulkan device with validation ({e})");
            false
        }
    }
}

/// A smooth, moving RGB picture (gradients and a box), packed as `format`.
fn rgb_frame(format: PixelFormat, (w, h): (u32, u32), n: u64) -> CpuImage {
    let mut img = CpuImage::new(format, w, h, None).unwrap();
    for y in 0..h {
        let row = img.row_mut(0, y);
        for x in 0..w {
            let inside = (u64::from(x) + 200 - 7 * n) % 200 < 60 && (40..120).contains(&y);
            let (r, g, b) = if inside {
                (0.9, 0.8, 0.2)
            } else {
                (
                    f64::from(x) / f64::from(w),
                    f64::from(y) / f64::from(h),
                    0.5 + 0.4 * (f64::from(x + y) / 60.0 + n as f64 / 5.0).sin(),
                )
            };
            let px = match format {
                PixelFormat::Rgb10a2 => {
                    #[expect(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "v in [0, 1] as a 10-bit code"
                    )]
                    let q = |v: f64| (v * 1023.0).round() as u32;
                    (q(r) | (q(g) << 10) | (q(b) << 20) | (3 << 30)).to_le_bytes()
                }
                PixelFormat::Bgra8 => {
                    #[expect(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "v in [0, 1] as an 8-bit code"
                    )]
                    let q = |v: f64| (v * 255.0).round() as u8;
                    [q(b), q(g), q(r), 255]
                }
                _ => {
                    #[expect(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "v in [0, 1] as an 8-bit code"
                    )]
                    let q = |v: f64| (v * 255.0).round() as u8;
                    [q(r), q(g), q(b), 255]
                }
            };
            row[4 * x as usize..4 * x as usize + 4].copy_from_slice(&px);
        }
    }
    img
}

/// The size of the frames a config takes.
fn input_size(cfg: &SessionConfig) -> (u32, u32) {
    cfg.processing.input_size.unwrap_or((cfg.width, cfg.height))
}

/// The reference processing of frame `n` (the float64 chain: scaling, tone mapping,
/// sharpening when the config asks, and the conversion), tightly packed as planar 4:2:0 (what
/// ffmpeg's raw yuv420p / yuv420p10le output is).
fn reference_planar(format: PixelFormat, n: u64, cfg: &SessionConfig) -> Vec<u8> {
    let out_format = if cfg.bit_depth == BitDepth::Ten {
        PixelFormat::I420P10
    } else {
        PixelFormat::I420
    };
    let layout = YuvLayout::new(out_format, W, H);
    let spec = cfg.process_spec(out_format).unwrap();
    let peak = spec.tonemap.map_or(100.0, |t| t.source_peak(None));
    let img = rgb_frame(format, input_size(cfg), n);
    let mut buf = vec![0u8; layout.size as usize];
    reference_process(
        &normalized_rgb(img.data(), format).unwrap(),
        &spec,
        peak,
        &layout,
        &mut buf,
    );
    let bps = layout.bytes_per_sample as usize;
    let mut tight = Vec::new();
    for (offset, rows, row_bytes, pitch) in [
        (0, H, W as usize * bps, layout.luma_pitch),
        (
            layout.chroma_offset,
            H / 2,
            (W / 2) as usize * bps,
            layout.chroma_pitch,
        ),
        (
            layout.v_offset,
            H / 2,
            (W / 2) as usize * bps,
            layout.chroma_pitch,
        ),
    ] {
        for y in 0..rows {
            let start = (offset + y * pitch) as usize;
            tight.extend_from_slice(&buf[start..start + row_bytes]);
        }
    }
    tight
}

fn run(
    codec: Codec,
    format: PixelFormat,
    depth: BitDepth,
    gpu: GpuChoice,
    qp: u32,
) -> (f64, bool, String) {
    run_with(codec, format, depth, gpu, qp, Processing::default())
}

fn run_with(
    codec: Codec,
    format: PixelFormat,
    depth: BitDepth,
    gpu: GpuChoice,
    qp: u32,
    processing: Processing,
) -> (f64, bool, String) {
    let mut cfg = config(codec, W, H, 30);
    cfg.input_format = format;
    cfg.processing = processing;
    cfg.bit_depth = depth;
    cfg.rate_control = RateControl::Cqp { qp };
    cfg.gpu = gpu;
    let mut session = Session::open(cfg.clone()).expect("session opens");
    let processing = session.processing_description().to_string();
    let mut out = Vec::new();
    for n in 0..FRAMES {
        let frame = Frame::from_cpu(
            rgb_frame(format, input_size(&cfg), n),
            Timestamp::from_nanos(i64::try_from(n).unwrap() * 33_333_333),
        );
        session.submit(frame).unwrap();
        while let Some(o) = session.try_receive().unwrap() {
            out.push(o);
        }
    }
    out.extend(session.close().unwrap());
    let maps_gpu_time = session.gpu_context().is_some_and(|ctx| {
        // A device with the extension must map its clock (lavapipe and NVIDIA both can).
        let has = ctx.has_extension("VK_EXT_calibrated_timestamps");
        assert_eq!(ctx.maps_gpu_time(), has, "{}", ctx.device_info().name);
        has
    });
    if let Some(ctx) = session.gpu_context() {
        let messages = ctx.take_validation_messages();
        assert!(
            messages.is_empty(),
            "validation layer reported:\n{}",
            messages.join("\n")
        );
    }
    let enc = split(out);
    assert_eq!(enc.packets.len() as u64, FRAMES);
    let all_timed = enc
        .packets
        .iter()
        .all(|p| p.stats.gpu_time.is_some_and(|t| t.as_nanos() > 0));
    if maps_gpu_time && all_timed {
        enc.packets
            .iter()
            .for_each(|p| gpu_common::check_gpu_span(&p.stats));
    }
    let dir = tempfile::tempdir().unwrap();
    let format_out = BitstreamFormat::default_for(codec);
    let path = dir
        .path()
        .join(format!("g.{}", format_out.extension(codec)));
    write(&enc.packets, &path, format_out, &cfg);
    let ten = depth == BitDepth::Ten;
    let decoded = decode_raw(&path, if ten { "yuv420p10le" } else { "yuv420p" });
    let reference: Vec<u8> = (0..FRAMES)
        .flat_map(|n| reference_planar(format, n, &cfg))
        .collect();
    let psnr = if ten {
        psnr10(&decoded, &reference)
    } else {
        psnr8(&decoded, &reference)
    };
    (psnr, all_timed, processing)
}

#[test]
fn rgb_frames_are_converted_on_the_gpu_encoded_and_decode_to_the_reference() {
    if !gpu_available() {
        return;
    }
    let gpu = GpuChoice::Require(GpuOptions {
        device: DeviceSelector::Auto,
        validation: true,
    });
    for (codec, format, depth, qp) in [
        (Codec::H264, PixelFormat::Bgra8, BitDepth::Eight, 8),
        (Codec::Hevc, PixelFormat::Rgba8, BitDepth::Eight, 8),
        (Codec::Av1, PixelFormat::Rgb10a2, BitDepth::Ten, 24),
    ] {
        let (psnr, all_timed, processing) = run(codec, format, depth, gpu.clone(), qp);
        eprintln!(
            "{codec} from {format}: {processing}; PSNR against the float64 reference {psnr:.2} dB"
        );
        assert!(processing.starts_with("GPU:"), "{processing}");
        assert!(
            all_timed,
            "{codec}: a packet has no GPU time in its FrameStats"
        );
        assert!(
            psnr >= 40.0,
            "{codec} from {format}: PSNR {psnr:.2} dB against the reference"
        );
    }
}

/// The fused pass in the session: 4:3 input letterboxed into the 5:3 output with Lanczos-3,
/// sharpened, and (HEVC case) PQ tone mapped to SDR; decoded by ffmpeg and compared with the
/// float64 chain.
#[test]
fn scaled_sharpened_and_tone_mapped_frames_decode_to_the_reference() {
    if !gpu_available() {
        return;
    }
    let gpu = GpuChoice::Require(GpuOptions {
        device: DeviceSelector::Auto,
        validation: true,
    });
    for (codec, format, tonemap) in [
        (Codec::H264, PixelFormat::Bgra8, None),
        (
            Codec::Hevc,
            PixelFormat::Rgb10a2,
            Some(ToneMapInput {
                transfer: TransferFunction::Pq,
                peak: PeakSource::Metadata(1000.0),
            }),
        ),
    ] {
        let processing = Processing {
            input_size: Some((400, 300)),
            scale_filter: ScaleFilter::Lanczos3,
            fit: Fit::Letterbox,
            tonemap,
            sharpen: 0.5,
        };
        let (psnr, all_timed, description) =
            run_with(codec, format, BitDepth::Eight, gpu.clone(), 8, processing);
        eprintln!(
            "{codec} from {format}: {description}; PSNR against the float64 chain {psnr:.2} dB"
        );
        assert!(description.contains("scaled from 400x300"), "{description}");
        assert!(all_timed);
        assert!(
            psnr >= 40.0,
            "{codec}: PSNR {psnr:.2} dB against the reference"
        );
    }
}

#[test]
fn with_the_gpu_off_rgb_is_converted_on_the_cpu() {
    let (psnr, all_timed, processing) = run(
        Codec::H264,
        PixelFormat::Bgra8,
        BitDepth::Eight,
        GpuChoice::Off,
        8,
    );
    eprintln!("CPU path: {processing}; PSNR against the GPU path's reference {psnr:.2} dB");
    assert!(processing.starts_with("CPU:"), "{processing}");
    assert!(!all_timed, "the CPU path reported GPU time");
    // libswscale filters chroma differently from our reference; the pictures still agree.
    assert!(psnr >= 30.0, "PSNR {psnr:.2} dB");
}

#[test]
fn a_required_gpu_that_is_missing_fails_to_open() {
    let mut cfg = config(Codec::H264, W, H, 30);
    cfg.input_format = PixelFormat::Bgra8;
    cfg.gpu = GpuChoice::Require(GpuOptions {
        device: DeviceSelector::Name("no-such-gpu-9000".into()),
        validation: false,
    });
    let e = Session::open(cfg).unwrap_err();
    assert!(matches!(e, ghoststream::SessionError::Gpu(_)), "{e}");
    assert!(e.to_string().contains("no-such-gpu-9000"), "{e}");
}

/// A session on the application's own device (`GpuContext::from_host`), sharing its queue.
fn embedded_session(
    app: &HostApp,
    cfg: &mut SessionConfig,
) -> (Session, std::sync::Arc<GpuContext>) {
    // SAFETY: the application's handles are valid, belong together, have timeline semaphores
    // enabled, and outlive the context (the test drops the session and context before `app`).
    let ctx = unsafe { GpuContext::from_host(app.host_vulkan(None)) }
        .expect("context on the host's device");
    cfg.input_format = PixelFormat::Bgra8;
    (
        Session::open_on(cfg.clone(), ctx.clone()).expect("session opens"),
        ctx,
    )
}

/// The application's W x H BGRA8 image, left in TRANSFER_DST_OPTIMAL by its upload, as a frame.
fn uploaded_frame(image: vk::Image) -> GpuFrame {
    // SAFETY: every caller passes a live sampled image of the session's device (HostApp::image),
    // W x H, same queue family, not written again by the application after its upload.
    unsafe {
        GpuFrame::new(
            image,
            PixelFormat::Bgra8,
            W,
            H,
            vk::ImageLayout::TRANSFER_DST_OPTIMAL,
        )
    }
    .unwrap()
}

/// The embedding path end to end: the application renders (uploads) each frame into its own
/// image on its own device and signals a timeline semaphore; the session, created on that
/// device and sharing its queue, waits for the value, reads the image in place, signals the
/// release value, and the packets decode (ffmpeg) to the float64 reference.
#[test]
fn an_embedding_applications_vulkan_images_are_encoded_and_decode_to_the_reference() {
    let Some(app) = host_app(&[]) else {
        return;
    };
    let mut cfg = config(Codec::H264, W, H, 30);
    cfg.rate_control = RateControl::Cqp { qp: 8 };
    let (mut session, ctx) = embedded_session(&app, &mut cfg);
    let lock = ctx.queue_lock();
    let ready = app.timeline(0);
    let released = app.timeline(0);
    let mut out = Vec::new();
    for n in 0..FRAMES {
        let image = app.image(vk::Format::B8G8R8A8_UNORM, W, H);
        // SAFETY: both are timeline semaphores of the session's device, alive to the end of
        // the test; `released` is signalled to increasing values.
        let frame = unsafe {
            uploaded_frame(image)
                .wait_for(TimelinePoint {
                    semaphore: ready,
                    value: n + 1,
                })
                .release_to(TimelinePoint {
                    semaphore: released,
                    value: n + 1,
                })
        };
        // Submitted before the application has drawn it: the session must wait for `ready`.
        session
            .submit(Frame::from_gpu(
                frame,
                Timestamp::from_nanos(i64::try_from(n).unwrap() * 33_333_333),
            ))
            .unwrap();
        let pixels = rgb_frame(PixelFormat::Bgra8, (W, H), n);
        app.upload(
            image,
            (W, H),
            pixels.data(),
            TimelinePoint {
                semaphore: ready,
                value: n + 1,
            },
            &lock,
        );
        while let Some(o) = session.try_receive().unwrap() {
            out.push(o);
        }
    }
    out.extend(session.close().unwrap());
    assert_eq!(
        app.value(released),
        FRAMES,
        "every frame was released to the application"
    );
    drop(session);
    drop(ctx);
    app.assert_validation_silent();
    let enc = split(out);
    assert_eq!(enc.packets.len() as u64, FRAMES);
    assert!(enc.packets.iter().all(|p| p.stats.gpu_time.is_some()));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("embedded.h264");
    write(
        &enc.packets,
        &path,
        BitstreamFormat::default_for(Codec::H264),
        &cfg,
    );
    let decoded = decode_raw(&path, "yuv420p");
    let reference: Vec<u8> = (0..FRAMES)
        .flat_map(|n| reference_planar(PixelFormat::Bgra8, n, &cfg))
        .collect();
    let psnr = psnr8(&decoded, &reference);
    eprintln!("embedded-device frames: PSNR against the float64 reference {psnr:.2} dB");
    assert!(psnr >= 40.0, "PSNR {psnr:.2} dB");
}

/// A frame whose wait value is never signalled ends in a typed timeout within the configured
/// time, not a hang; nothing was submitted for it, so the device stays usable.
#[test]
fn a_gpu_frame_whose_semaphore_is_never_signalled_is_a_timeout_error() {
    let Some(app) = host_app(&[]) else {
        return;
    };
    let mut cfg = config(Codec::H264, W, H, 30);
    cfg.frame_wait_timeout_ms = 300;
    let (mut session, ctx) = embedded_session(&app, &mut cfg);
    let image = app.image(vk::Format::B8G8R8A8_UNORM, W, H);
    let drawn = app.timeline(0);
    let pixels = rgb_frame(PixelFormat::Bgra8, (W, H), 0);
    app.upload(
        image,
        (W, H),
        pixels.data(),
        TimelinePoint {
            semaphore: drawn,
            value: 1,
        },
        &ctx.queue_lock(),
    );
    let never = app.timeline(0);
    // SAFETY: a timeline semaphore of the session's device, alive to the end of the test.
    let frame = unsafe {
        uploaded_frame(image).wait_for(TimelinePoint {
            semaphore: never,
            value: 1,
        })
    };
    let started = std::time::Instant::now();
    session
        .submit(Frame::from_gpu(frame, Timestamp::from_nanos(0)))
        .unwrap();
    let e = session.close().unwrap_err();
    let waited = started.elapsed();
    eprintln!("after {waited:?}: {e}");
    assert!(
        matches!(
            e,
            SessionError::Gpu(GpuError::FrameNotReady {
                value: 1,
                timeout_ms: 300,
                ..
            })
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("did not reach value 1"), "{e}");
    assert_eq!(
        ghoststream::Error::from(e).code(),
        ghoststream::ErrorCode::Timeout
    );
    assert!(
        waited >= std::time::Duration::from_millis(300),
        "{waited:?}"
    );
    assert!(waited < std::time::Duration::from_secs(30), "{waited:?}");
    drop(session);
    drop(ctx);
    app.assert_validation_silent();
}

/// GPU frames a session cannot take are typed errors at `submit` or at construction.
#[test]
fn gpu_frames_that_do_not_fit_are_typed_errors() {
    let Some(app) = host_app(&[]) else {
        return;
    };
    let image = app.image(vk::Format::B8G8R8A8_UNORM, W, H);
    let layout = vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL;
    // Every GpuFrame::new below gets a live sampled image of the application's device: the
    // failing constructions never use it, the accepted ones are rejected by the session before
    // any GPU work.
    // SAFETY: as above (a live sampled image, never used by a failing construction).
    let e = unsafe { GpuFrame::new(image, PixelFormat::Bgra8, W, H, vk::ImageLayout::UNDEFINED) }
        .unwrap_err();
    assert!(e.to_string().contains("UNDEFINED"), "{e}");
    // SAFETY: as above (a live sampled image, never used by a failing construction).
    let e = unsafe { GpuFrame::new(image, PixelFormat::I420, W, H, layout) }.unwrap_err();
    assert!(e.to_string().contains("i420"), "{e}");
    // SAFETY: as above (a live sampled image, never used by a failing construction).
    let e = unsafe { GpuFrame::new(image, PixelFormat::Bgra8, 0, H, layout) }.unwrap_err();
    assert!(e.to_string().contains("0x192"), "{e}");
    // SAFETY: as above (a live sampled image, never used by a failing construction).
    let e =
        unsafe { GpuFrame::new(vk::Image::null(), PixelFormat::Bgra8, W, H, layout) }.unwrap_err();
    assert!(e.to_string().contains("VK_NULL_HANDLE"), "{e}");
    // SAFETY: as above; the sessions it goes to reject it before any GPU work.
    let frame = || unsafe { GpuFrame::new(image, PixelFormat::Bgra8, W, H, layout) }.unwrap();

    // A session with its own device (GpuChoice::Require) cannot read another device's image.
    let mut cfg = config(Codec::H264, W, H, 30);
    cfg.input_format = PixelFormat::Bgra8;
    cfg.gpu = GpuChoice::Require(GpuOptions::default());
    let mut own = Session::open(cfg).unwrap();
    let e = own
        .submit(Frame::from_gpu(frame(), Timestamp::from_nanos(0)))
        .unwrap_err();
    assert!(matches!(e, SessionError::GpuFrameRejected { .. }), "{e:?}");
    assert!(e.to_string().contains("Session::open_on"), "{e}");
    // A CPU-only session neither.
    let mut cfg = config(Codec::H264, W, H, 30);
    cfg.input_format = PixelFormat::Bgra8;
    cfg.gpu = GpuChoice::Off;
    let mut cpu = Session::open(cfg).unwrap();
    let e = cpu
        .submit(Frame::from_gpu(frame(), Timestamp::from_nanos(0)))
        .unwrap_err();
    assert!(e.to_string().contains("Off"), "{e}");

    // The embedded session checks size and format like for CPU frames.
    let mut cfg = config(Codec::H264, W, H, 30);
    let (mut session, ctx) = embedded_session(&app, &mut cfg);
    // SAFETY: as above; the embedded session rejects it (size, format) before any GPU work.
    let small = unsafe { GpuFrame::new(image, PixelFormat::Bgra8, W / 2, H, layout) }.unwrap();
    let e = session
        .submit(Frame::from_gpu(small, Timestamp::from_nanos(0)))
        .unwrap_err();
    assert!(
        matches!(e, SessionError::FrameSize { got_width: 160, .. }),
        "{e:?}"
    );
    // SAFETY: as above; the embedded session rejects it (size, format) before any GPU work.
    let rgba = unsafe { GpuFrame::new(image, PixelFormat::Rgba8, W, H, layout) }.unwrap();
    let e = session
        .submit(Frame::from_gpu(rgba, Timestamp::from_nanos(0)))
        .unwrap_err();
    assert!(matches!(e, SessionError::FrameFormat { .. }), "{e:?}");
    assert!(session.close().unwrap().is_empty());
    drop(session);
    drop(ctx);
    app.assert_validation_silent();
}

/// A GPU session on lavapipe (validation on) encoding `format` frames at W x H with x264 in
/// its low-latency tuning (one packet out for each frame in, no lookahead).
fn low_latency_session(format: PixelFormat) -> Session {
    let mut cfg = config(Codec::H264, W, H, 30);
    cfg.input_format = format;
    cfg.rate_control = RateControl::Cqp { qp: 20 };
    cfg.gpu = GpuChoice::Require(GpuOptions {
        device: DeviceSelector::Auto,
        validation: true,
    });
    let session = Session::open(cfg).expect("session opens");
    assert!(
        session.processing_description().starts_with("GPU:"),
        "{}",
        session.processing_description()
    );
    session
}

/// Frame `n` of the moving picture, captured "now".
fn captured_frame(n: u64) -> Frame {
    let mut frame = Frame::from_cpu(
        rgb_frame(PixelFormat::Bgra8, (W, H), n),
        Timestamp::from_nanos(i64::try_from(n).unwrap() * 33_333_333),
    );
    frame.capture_time = Some(Timestamp::now());
    frame
}

/// The next output within 10 s, which must be frame `n`'s packet: a frame reaches the encoder
/// when its GPU pass is done, not when newer frames push it out of the ring.
fn packet_of(session: &mut Session, n: u64) -> ghoststream::Packet {
    match session.receive_timeout(std::time::Duration::from_secs(10)) {
        Ok(Some(ghoststream::SessionOutput::Packet(p))) => {
            assert_eq!(p.frame_number, n, "packets come in submission order");
            p
        }
        Ok(None) => panic!(
            "frame {n}'s packet did not come within 10 s with no further frame submitted (the frame waits in the GPU ring for newer ones)"
        ),
        other => panic!("frame {n}: expected its packet, got {other:?}"),
    }
}

#[test]
fn one_frame_submitted_alone_comes_out_as_a_packet_with_no_further_submit() {
    if !gpu_available() {
        return;
    }
    let mut session = low_latency_session(PixelFormat::Bgra8);
    session.submit(captured_frame(0)).unwrap();
    let p = packet_of(&mut session, 0);
    assert!(p.keyframe);
    assert!(session.close().unwrap().is_empty());
    gpu_common::assert_validation_silent(session.gpu_context().unwrap());
}

#[test]
fn each_frames_packet_comes_before_the_next_frame_is_submitted() {
    if !gpu_available() {
        return;
    }
    let mut session = low_latency_session(PixelFormat::Bgra8);
    for n in 0..8 {
        session.submit(captured_frame(n)).unwrap();
        packet_of(&mut session, n);
    }
    assert!(session.close().unwrap().is_empty());
    gpu_common::assert_validation_silent(session.gpu_context().unwrap());
}

/// `GpuChoice::Auto` converts on a hardware Vulkan device, but passes over a CPU-emulated one
/// (lavapipe here) for the plain conversion: libswscale does it for less CPU. Asked for
/// (`Require`), or for processing only the GPU path has, the CPU-emulated device is taken.
#[test]
fn auto_passes_over_a_cpu_emulated_device_for_the_conversion_unless_asked() {
    if !gpu_available() {
        return;
    }
    let best = GpuContext::new(&GpuOptions::default()).unwrap();
    let only_cpu = best.device_info().kind == "cpu";
    let open = |gpu: GpuChoice, sharpen: f64| {
        let mut cfg = config(Codec::H264, W, H, 30);
        cfg.input_format = PixelFormat::Bgra8;
        cfg.gpu = gpu;
        cfg.processing.sharpen = sharpen;
        Session::open(cfg).expect("session opens")
    };
    let auto = open(GpuChoice::Auto, 0.0);
    let processing = auto.processing_description();
    eprintln!("auto: {processing}");
    if only_cpu {
        assert!(
            processing.starts_with("CPU: libswscale")
                && processing.contains("CPU-emulated")
                && processing.contains(&best.device_info().name),
            "{processing}"
        );
        assert!(auto.gpu_context().is_none());
    } else {
        assert!(processing.starts_with("GPU:"), "{processing}");
    }
    let required = open(
        GpuChoice::Require(GpuOptions {
            device: DeviceSelector::Auto,
            validation: true,
        }),
        0.0,
    );
    assert!(
        required.processing_description().starts_with("GPU:"),
        "{}",
        required.processing_description()
    );
    let sharpened = open(GpuChoice::Auto, 0.5);
    assert!(
        sharpened.processing_description().starts_with("GPU:")
            && sharpened.processing_description().contains("sharpened"),
        "{}",
        sharpened.processing_description()
    );
}

/// Each frame's path through a lavapipe session, in its stats line: capture, submit, GPU pass
/// start and end (the device maps its clock), encode start and packet, in that order; and the
/// bytes the CPU copied (the BGRA upload and the NV12 read-back). The summary breaks the
/// latency down by stage.
#[test]
fn a_frames_stages_are_in_its_stats_line_in_path_order() {
    if !gpu_available() {
        return;
    }
    let mut session = low_latency_session(PixelFormat::Bgra8);
    let maps = session.gpu_context().unwrap().maps_gpu_time();
    let nv12 = u64::from(YuvLayout::new(PixelFormat::Nv12, W, H).size);
    let mut collector = ghoststream::stats::StatsCollector::default();
    for n in 0..6 {
        session.submit(captured_frame(n)).unwrap();
        let p = packet_of(&mut session, n);
        assert_eq!(
            p.stats.cpu_copy_bytes,
            u64::from(W * H * 4) + nv12,
            "frame {n}: the upload and the read-back"
        );
        let mut line = String::new();
        ghoststream::stats::frame_json(&mut line, &p.stats, p.data.len(), p.keyframe);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let field = |key: &str| {
            v.get(key)
                .unwrap_or_else(|| panic!("no {key} in {line}"))
                .as_i64()
                .unwrap_or_else(|| panic!("{key} is not a number in {line}"))
        };
        assert_eq!(
            v["cpu_copy_bytes"].as_u64(),
            Some(p.stats.cpu_copy_bytes),
            "{line}"
        );
        let mut path = vec!["capture_ns", "submit_ns"];
        if maps {
            path.extend(["gpu_start_ns", "gpu_end_ns"]);
        } else {
            eprintln!("the device does not map its clock: GPU start/end are null");
        }
        path.extend(["encode_start_ns", "packet_ready_ns"]);
        for pair in path.windows(2) {
            assert!(
                field(pair[0]) <= field(pair[1]),
                "frame {n}: {} after {}: {line}",
                pair[0],
                pair[1]
            );
        }
        collector.record(&p.stats, p.data.len(), p.keyframe);
    }
    assert!(session.close().unwrap().is_empty());
    let summary = collector.summary();
    let mut line = String::new();
    ghoststream::stats::summary_json(&mut line, &summary);
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let stages = &v["summary"]["stage_median_ms"];
    let mut want = vec!["capture_to_submit", "encode"];
    if maps {
        want.extend(["submit_to_gpu_start", "gpu", "gpu_end_to_encode_start"]);
    }
    for key in want {
        assert!(stages[key].as_f64().is_some(), "no {key} median: {line}");
    }
    assert_eq!(
        v["summary"]["cpu_copy_bytes_per_frame"].as_u64(),
        Some(u64::from(W * H * 4) + nv12),
        "{line}"
    );
}

/// The ring's low-latency calls: `try_collect` hands back a completed pass without waiting
/// (and nothing while none is in flight), `wait_oldest` waits for the oldest; results come in
/// submission order, each with the bytes the CPU copied for it.
#[test]
fn the_ring_hands_back_each_completed_pass_without_newer_frames() {
    use ghoststream::gpu::{ConvertRing, Submitted};
    let Some(ctx) = gpu_common::context() else {
        return;
    };
    let (spec, layout) = gpu_common::bt709_nv12(W, H);
    let mut ring: ConvertRing<u64> = ConvertRing::new(&ctx, PixelFormat::Bgra8, &spec, 3).unwrap();
    let copied = u64::from(W * H * 4) + u64::from(layout.size);
    assert!(ring.try_collect().unwrap().is_none());
    assert!(ring.wait_oldest().unwrap().is_none());
    let frames: Vec<CpuImage> = (0..3)
        .map(|n| rgb_frame(PixelFormat::Bgra8, (W, H), n))
        .collect();
    // One frame alone comes back, with no other submitted.
    assert!(matches!(
        ring.submit((&frames[0]).into(), 0).unwrap(),
        Submitted::Pending
    ));
    assert_eq!(ring.in_flight(), 1);
    let c = ring.wait_oldest().unwrap().expect("frame 0");
    assert_eq!((c.tag, c.cpu_bytes), (0, copied));
    assert_eq!(ring.in_flight(), 0);
    // Two in flight: polled until both have completed (bounded), oldest first.
    ring.submit((&frames[1]).into(), 1).unwrap();
    ring.submit((&frames[2]).into(), 2).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut tags = Vec::new();
    while tags.len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "passes not done in 10 s: {tags:?}"
        );
        match ring.try_collect().unwrap() {
            Some(c) => {
                assert_eq!(c.cpu_bytes, copied);
                tags.push(c.tag);
            }
            None => std::thread::sleep(std::time::Duration::from_millis(1)),
        }
    }
    assert_eq!(tags, [1, 2]);
    assert_eq!(ring.in_flight(), 0);
    drop(ring);
    gpu_common::assert_validation_silent(&ctx);
}
