//! GhostStream's NVENC backend end to end against a STAND-IN for NVIDIA's encoder library, on
//! a machine where everything else is real (the lent H200: real Vulkan, real CUDA, the real
//! Vulkan → CUDA hand-off; no encoder engine). The stand-in (`testing/nvenc-standin`, loaded
//! as `libnvidia-encode.so.1` through `LD_LIBRARY_PATH`) checks every call against NVIDIA's
//! header and programming guide, logs each call and each violation, reads each mapped picture
//! from the registered CUDA memory and writes it as PCM pictures, so the stream decodes to
//! exactly the pixels the backend handed over. It proves the backend keeps NVENC's rules and
//! moves the right pixels, not how NVENC compresses or performs.
//!
//! For H.264 and HEVC: frames converted by the Vulkan pass (BGRA → NV12) go through the
//! zero-copy hand-off into the backend (`NvencEncoder::open_for_vulkan`), a keyframe forced at
//! frame 1000 and the bitrate changed at frame 2000; the stand-in's log must show no
//! violation, the forced IDR on frame 1000 and the reconfiguration at picture 2000. The
//! streams and the pass's own output (read back the ordinary way) are written to
//! `GHOSTSTREAM_STANDIN_OUT` for `benches/h200/check-standin.sh` to decode with FFmpeg and
//! compare frame by frame (the lent machine has no FFmpeg). The CPU-fed path (NV12 frames
//! uploaded to CUDA) runs too.
//!
//! Needs CUDA and the stand-in: `GHOSTSTREAM_NVENC_STANDIN_LOG` set (and the stand-in first on
//! `LD_LIBRARY_PATH`, as benches/h200/run.sh does); elsewhere each test prints why it is
//! skipped.

mod gpu_common;

use std::path::PathBuf;
use std::time::Instant;

use std::sync::Arc;

use ghoststream::cuda::CudaDevice;
use ghoststream::encode::nvenc::NvencEncoder;
use ghoststream::encode::{EncodedUnit, EncoderBackend};
use ghoststream::gpu::{ConvertRing, GpuContext, RingFrame};
use ghoststream::hdr::{ContentLightLevel, HdrMetadata, MasteringDisplay};
use ghoststream::processing::convert::{ChromaSiting, ConvertSpec, YuvLayout};
use ghoststream::processing::pipeline::ProcessSpec;
use ghoststream::{
    BackendChoice, BackendKind, BitDepth, Codec, ColorDescription, ColorMatrix, ColorRange,
    CpuImage, Frame, KeyframeInterval, PixelFormat, RateControl, Rational, SessionConfig,
    SplitFrame, Timestamp,
};

/// The stand-in's log file and the folder the streams go to, or `None` (skipped, the reason
/// printed) where the stand-in is not in use.
fn standin() -> Option<(PathBuf, PathBuf)> {
    let Some(log) = std::env::var_os("GHOSTSTREAM_NVENC_STANDIN_LOG") else {
        eprintln!(
            "SKIPPED: GHOSTSTREAM_NVENC_STANDIN_LOG is not set (the NVENC stand-in is not loaded; benches/h200/run.sh runs this on the lent GPU)"
        );
        return None;
    };
    let out =
        std::env::var_os("GHOSTSTREAM_STANDIN_OUT").map_or_else(std::env::temp_dir, PathBuf::from);
    std::fs::create_dir_all(&out).unwrap();
    Some((PathBuf::from(log), out))
}

/// [`standin`] and the CUDA-capable Vulkan context the hand-off needs, or `None` (skipped, the
/// reason printed).
/// The CUDA device is kept with them for the test's length.
fn standin_with_gpu() -> Option<(PathBuf, PathBuf, Arc<GpuContext>, Arc<CudaDevice>)> {
    let (log, out) = standin()?;
    let (ctx, cuda) = gpu_common::cuda_context()?;
    Some((log, out, ctx, cuda))
}

/// Picture `k` of the input: smooth BGRA gradients (the PCM streams compress well), distinct
/// for each `k`.
#[expect(
    clippy::cast_possible_truncation,
    reason = "every channel is reduced modulo 256"
)]
fn picture(k: usize, w: u32, h: u32) -> CpuImage {
    let mut image = CpuImage::new(PixelFormat::Bgra8, w, h, None).unwrap();
    let row = image.plane_layouts()[0].stride;
    let data = image.data_mut();
    for y in 0..h as usize {
        for x in 0..w as usize {
            let p = &mut data[y * row + x * 4..][..4];
            p[0] = ((x * 2 + k * 37) % 256) as u8;
            p[1] = ((y * 3 + k * 11) % 256) as u8;
            p[2] = ((x + y + k * 23) % 256) as u8;
            p[3] = 255;
        }
    }
    image
}

/// `laid` (NV12 or P010 in `layout`) as tight rows, as a decoder gives them back.
fn tight(laid: &[u8], layout: &YuvLayout) -> Vec<u8> {
    let (row, h) = (
        (layout.width * layout.bytes_per_sample) as usize,
        layout.height as usize,
    );
    let mut out = Vec::with_capacity(row * h * 3 / 2);
    for y in 0..h {
        out.extend_from_slice(&laid[y * layout.luma_pitch as usize..][..row]);
    }
    let chroma = layout.chroma_offset as usize;
    for y in 0..h / 2 {
        out.extend_from_slice(&laid[chroma + y * layout.chroma_pitch as usize..][..row]);
    }
    out
}

/// CPU time (ns) run so far by this thread (`None`) or by the threads of this process whose
/// name starts with `prefix` (Linux cuts names to 15 bytes), from /proc's `schedstat`; `None`
/// where the kernel does not keep it.
fn thread_cpu_ns(prefix: Option<&str>) -> Option<u64> {
    let read = |path: PathBuf| -> Option<u64> {
        std::fs::read_to_string(path)
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    let Some(prefix) = prefix else {
        return read(PathBuf::from("/proc/thread-self/schedstat"));
    };
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end().starts_with(prefix) {
            total += read(task.path().join("schedstat"))?;
        }
    }
    Some(total)
}

/// The stand-in's log lines of this process (after its header).
fn log_lines(log: &PathBuf) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The stand-in's own time (µs) in its lines for `call`: the `[N us]` field.
fn standin_micros(lines: &[String], call: &str) -> Vec<f64> {
    lines
        .iter()
        .filter(|l| l.starts_with("call ") && l.contains(&format!(" {call} ")))
        .filter_map(|l| {
            let (_, rest) = l.split_once('[')?;
            rest.split_once(" us]")?.0.parse().ok()
        })
        .collect()
}

/// The backend's output thread ("ghoststream-nvenc-out") as /proc names it.
const OUTPUT_THREAD: &str = "ghoststream-nve";

/// One session through the hand-off: what it encodes and which live controls it issues.
struct Plan {
    codec: Codec,
    /// The stream's file: `standin-{name}.bin`.
    name: &'static str,
    frames: usize,
    /// NV12 (8 bits, BT.709) or P010 (10 bits, BT.2020 PQ tags and HDR10 metadata).
    format: PixelFormat,
    split: SplitFrame,
    /// A keyframe forced at frame 1000, picture 1490 invalidated at 1500, the bitrate halved at
    /// 2000.
    controls: bool,
}

/// The conversion the pass runs for `format`, and the output's layout.
fn spec_for(format: PixelFormat, w: u32, h: u32) -> (ProcessSpec, YuvLayout) {
    if format == PixelFormat::Nv12 {
        return gpu_common::bt709_nv12(w, h);
    }
    let spec = ProcessSpec::convert_only(
        w,
        h,
        ConvertSpec {
            matrix: ColorMatrix::Bt2020Ncl,
            range: ColorRange::Limited,
            siting: ChromaSiting::Left,
            output: format,
        },
    );
    (spec, YuvLayout::new(format, w, h))
}

/// What the Vulkan pass writes for each picture in `format`, read back the ordinary way (the
/// pixels the streams must decode to), as tight rows; also written to `file` in `out`.
fn pass_output(
    ctx: &Arc<GpuContext>,
    pictures: &[CpuImage],
    format: PixelFormat,
    out: &std::path::Path,
    file: &str,
) -> Vec<Vec<u8>> {
    let (w, h) = (pictures[0].width(), pictures[0].height());
    let (spec, layout) = spec_for(format, w, h);
    let mut readback: ConvertRing<usize> =
        ConvertRing::new(ctx, PixelFormat::Bgra8, &spec, 2).unwrap();
    let mut written = vec![Vec::new(); pictures.len()];
    let mut done = Vec::new();
    for (k, p) in pictures.iter().enumerate() {
        done.extend(readback.submit(p.into(), k).unwrap().converted());
    }
    done.extend(readback.flush().unwrap());
    for c in done {
        written[c.tag] = tight(c.image.data(), &layout);
    }
    std::fs::write(out.join(file), written.concat()).unwrap();
    written
}

/// The session's config for `plan`.
fn handoff_config(plan: &Plan, w: u32, h: u32) -> SessionConfig {
    let mut config = SessionConfig::new(plan.codec, w, h, Rational::new(60, 1));
    config.backend = BackendChoice::Only(BackendKind::Nvenc);
    config.rate_control = RateControl::Cbr { bitrate: 2_000_000 };
    config.keyframe_interval = KeyframeInterval::Infinite;
    config.split_frame = plan.split;
    if plan.format == PixelFormat::P010 {
        config.bit_depth = BitDepth::Ten;
        config.color = ColorDescription::HDR10;
        config.hdr_metadata = Some(HdrMetadata {
            display: MasteringDisplay::BT2020_1000_NITS,
            light: Some(ContentLightLevel {
                max_cll: 1000,
                max_fall: 400,
            }),
        });
    }
    config
}

/// Runs `plan` through the hand-off into the backend on the stand-in and checks what the
/// stand-in logged: no violation, the live controls on their frames.
fn handoff_session(
    ctx: &Arc<GpuContext>,
    log: &PathBuf,
    out: &std::path::Path,
    pictures: &[CpuImage],
    plan: &Plan,
) {
    let frames = plan.frames;
    let (w, h) = (pictures[0].width(), pictures[0].height());
    let (spec, _) = spec_for(plan.format, w, h);
    let config = handoff_config(plan, w, h);
    let before = log_lines(log).len();
    let mut backend = NvencEncoder::open_for_vulkan(&config, ctx)
        .unwrap_or_else(|e| panic!("{}: the backend opens on the stand-in: {e}", plan.name));
    let handoff = backend
        .take_gpu_handoff()
        .expect("an encoder opened for Vulkan offers its hand-off");
    let buffers = handoff.buffers.len();
    let mut ring: ConvertRing<usize> =
        ConvertRing::with_handoff(ctx, PixelFormat::Bgra8, &spec, handoff, 3).unwrap();
    let mut units: Vec<EncodedUnit> = Vec::with_capacity(frames);
    let (mut submit_ns, mut encode_ns) = (Vec::new(), Vec::new());
    let cpu_before = (thread_cpu_ns(None), thread_cpu_ns(Some(OUTPUT_THREAD)));
    let started = Instant::now();
    for n in 0..frames {
        let t0 = Instant::now();
        let handed = ring
            .submit(RingFrame::Cpu(&pictures[n % pictures.len()]), n)
            .unwrap()
            .handed_off()
            .expect("a hand-off ring hands frames off");
        let t1 = Instant::now();
        if plan.controls && n == 1000 {
            backend.force_keyframe().unwrap();
        }
        if plan.controls && n == 1500 {
            // A client lost picture 1490: later pictures stop referencing it.
            backend.invalidate(1490).unwrap();
        }
        if plan.controls && n == 2000 {
            let mut lower = config.clone();
            lower.rate_control = RateControl::Cbr { bitrate: 1_000_000 };
            backend.reconfigure(&lower).unwrap();
        }
        backend
            .encode_handed_off(handed, i64::try_from(n).unwrap())
            .unwrap_or_else(|e| panic!("{}: frame {n}: {e}", plan.name));
        encode_ns.push(t1.elapsed().as_nanos() as f64);
        submit_ns.push((t1 - t0).as_nanos() as f64);
        while let Some(unit) = backend.receive().unwrap() {
            units.push(unit);
        }
    }
    let cpu_after = (thread_cpu_ns(None), thread_cpu_ns(Some(OUTPUT_THREAD)));
    backend.finish().unwrap();
    while let Some(unit) = backend.receive().unwrap() {
        units.push(unit);
    }
    let elapsed = started.elapsed();
    let per_frame = |before: Option<u64>, after: Option<u64>| {
        before.zip(after).map_or_else(
            || "n/a".to_string(),
            |(b, a)| format!("{:.1} µs", (a - b) as f64 / frames as f64 / 1000.0),
        )
    };
    let thread_cpu = format!(
        "CPU per frame on the submitting thread {} (ring + backend), on the backend's output thread {} (locking, the stand-in's PCM writing included)",
        per_frame(cpu_before.0, cpu_after.0),
        per_frame(cpu_before.1, cpu_after.1)
    );
    ring.flush().unwrap();
    drop(ring);
    drop(backend);

    let name = plan.name;
    let pts: Vec<i64> = units.iter().map(|u| u.pts).collect();
    let want: Vec<i64> = (0..i64::try_from(frames).unwrap()).collect();
    assert_eq!(pts, want, "{name}: one unit per frame, in order");
    let keys: Vec<i64> = units.iter().filter(|u| u.keyframe).map(|u| u.pts).collect();
    let want_keys: &[i64] = if plan.controls { &[0, 1000] } else { &[0] };
    assert_eq!(
        keys, want_keys,
        "{name}: keyframes at the start and where forced"
    );
    let stream: Vec<u8> = units.iter().flat_map(|u| u.data.iter().copied()).collect();
    std::fs::write(out.join(format!("standin-{name}.bin")), &stream).unwrap();

    let lines = log_lines(log).split_off(before);
    let violations: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("VIOLATION"))
        .collect();
    let micros = standin_micros(&lines, "nvEncEncodePicture");
    eprintln!(
        "STAND-IN {name}: {frames} frames of {w}x{h} {:?} through {buffers} hand-off buffers in {:.2} s ({:.0} fps); \
         CPU per frame, medians: ring submit {:.1} µs, backend encode_handed_off {:.1} µs, of which the stand-in's own nvEncEncodePicture {:.1} µs; {thread_cpu}; {} stream bytes; {} violations",
        plan.format,
        elapsed.as_secs_f64(),
        frames as f64 / elapsed.as_secs_f64(),
        gpu_common::median(submit_ns) / 1000.0,
        gpu_common::median(encode_ns) / 1000.0,
        gpu_common::median(micros),
        stream.len(),
        violations.len()
    );
    assert!(
        violations.is_empty(),
        "{name}: the stand-in recorded violations:\n{}",
        violations
            .iter()
            .take(20)
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let init = lines
        .iter()
        .find(|l| l.contains("nvEncInitializeEncoder") && l.starts_with("call "))
        .unwrap_or_else(|| panic!("{name}: the stand-in logged the initialisation"));
    let split = format!("splitEncodeMode {}", params_split_mode(plan));
    assert!(init.contains(&split), "{name}: {split} asked: {init}");
    if plan.format == PixelFormat::P010 {
        assert!(
            lines
                .iter()
                .any(|l| l.contains("nvEncRegisterResource") && l.contains("P010")),
            "{name}: P010 inputs registered"
        );
    }
    if !plan.controls {
        return;
    }
    // The live controls landed between the frames they were issued between.
    let encode_of = |picture: usize| {
        lines
            .iter()
            .find(|l| {
                l.contains("nvEncEncodePicture") && l.contains(&format!("picture {picture} "))
            })
            .unwrap_or_else(|| panic!("{name}: the stand-in logged picture {picture}"))
    };
    assert!(
        encode_of(1000).contains(" IDR ts "),
        "{name}: frame 1000 coded as an IDR: {}",
        encode_of(1000)
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("nvEncReconfigureEncoder") && l.contains("at picture 2000:")),
        "{name}: the bitrate changed before picture 2000"
    );
    let ts_1490 = encode_of(1490)
        .split(" ts ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .expect("the picture's timestamp")
        .to_string();
    assert!(
        lines.iter().any(|l| l.contains("nvEncInvalidateRefFrames")
            && l.contains(&format!("timestamp {ts_1490} at picture 1500"))),
        "{name}: picture 1490 (timestamp {ts_1490}) invalidated before picture 1500"
    );
}

/// `NV_ENC_SPLIT_ENCODE_MODE` as the header numbers it, for the plan (H.264 always auto).
fn params_split_mode(plan: &Plan) -> u32 {
    if plan.codec == Codec::H264 {
        return 0;
    }
    match plan.split {
        SplitFrame::Auto => 0,
        SplitFrame::Off => 15,
        SplitFrame::Two => 2,
        SplitFrame::Three => 3,
    }
}

#[test]
fn the_nvenc_backend_through_the_vulkan_handoff_keeps_the_rules_and_the_pixels() {
    let Some((log, out, ctx, _cuda)) = standin_with_gpu() else {
        return;
    };
    let frames: usize = std::env::var("GHOSTSTREAM_STANDIN_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let (w, h, inputs) = (160u32, 96u32, 8usize);
    let pictures: Vec<CpuImage> = (0..inputs).map(|k| picture(k, w, h)).collect();
    pass_output(
        &ctx,
        &pictures,
        PixelFormat::Nv12,
        &out,
        "standin-expected.nv12",
    );
    pass_output(
        &ctx,
        &pictures,
        PixelFormat::P010,
        &out,
        "standin-expected.p010",
    );
    let plans = [
        Plan {
            codec: Codec::H264,
            name: "h264",
            frames,
            format: PixelFormat::Nv12,
            split: SplitFrame::Auto,
            controls: frames > 2000,
        },
        Plan {
            codec: Codec::Hevc,
            name: "hevc",
            frames,
            format: PixelFormat::Nv12,
            split: SplitFrame::Auto,
            controls: frames > 2000,
        },
        // Split-frame encoding over the stand-in's two engines.
        Plan {
            codec: Codec::Hevc,
            name: "hevc-split2",
            frames: 300,
            format: PixelFormat::Nv12,
            split: SplitFrame::Two,
            controls: false,
        },
        // 10 bits from the pass's P010, HDR10 tags and metadata.
        Plan {
            codec: Codec::Hevc,
            name: "hevc-p010-hdr10",
            frames: 300,
            format: PixelFormat::P010,
            split: SplitFrame::Auto,
            controls: false,
        },
    ];
    for plan in &plans {
        handoff_session(&ctx, &log, &out, &pictures, plan);
    }
    gpu_common::assert_validation_silent(&ctx);
}

/// The `q` quantile (0–1) of `v`, nearest rank.
fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a rank inside the vector"
    )]
    let rank = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Signal-to-packet latency through the hand-off, one H.264 frame at a time: from the moment
/// the Vulkan pass's `ready` signal is visible to the host (a second thread polls the
/// timeline) to the moment the backend hands out the packet (the stand-in has waited for the
/// signal on its CUDA stream, read the picture through CUDA and written it). The stand-in's
/// own time in `nvEncLockBitstream` (its PCM writing) is reported beside it, to be taken out.
#[test]
fn signal_to_packet_latency_through_the_handoff() {
    let Some((log, _out, ctx, _cuda)) = standin_with_gpu() else {
        return;
    };
    let (w, h, frames) = (160u32, 96u32, 300usize);
    let pictures: Vec<CpuImage> = (0..8).map(|k| picture(k, w, h)).collect();
    let plan = Plan {
        codec: Codec::H264,
        name: "h264-latency",
        frames,
        format: PixelFormat::Nv12,
        split: SplitFrame::Auto,
        controls: false,
    };
    let (spec, _) = spec_for(plan.format, w, h);
    let before = log_lines(&log).len();
    let mut backend = NvencEncoder::open_for_vulkan(&handoff_config(&plan, w, h), &ctx).unwrap();
    let handoff = backend.take_gpu_handoff().unwrap();
    let ready = Arc::clone(&handoff.ready);
    let mut ring: ConvertRing<usize> =
        ConvertRing::with_handoff(&ctx, PixelFormat::Bgra8, &spec, handoff, 3).unwrap();
    // The poller: when the host first sees `ready` at each value (frame n is value n + 1).
    let frames_u64 = u64::try_from(frames).unwrap();
    let poller = std::thread::spawn(move || {
        let mut seen = Vec::with_capacity(frames);
        let started = Instant::now();
        while (seen.len() as u64) < frames_u64 {
            let value = ready.value().unwrap();
            let now = Instant::now();
            while (seen.len() as u64) < value.min(frames_u64) {
                seen.push(now);
            }
            assert!(
                started.elapsed().as_secs() < 60,
                "the pass stopped signalling"
            );
            std::hint::spin_loop();
        }
        seen
    });
    let (mut submitted, mut packets) = (Vec::new(), Vec::new());
    for n in 0..frames {
        let t0 = Instant::now();
        let handed = ring
            .submit(RingFrame::Cpu(&pictures[n % pictures.len()]), n)
            .unwrap()
            .handed_off()
            .unwrap();
        backend
            .encode_handed_off(handed, i64::try_from(n).unwrap())
            .unwrap();
        let unit = loop {
            if let Some(unit) = backend.receive().unwrap() {
                break unit;
            }
            assert!(
                t0.elapsed().as_secs() < 5,
                "frame {n}: no packet 5 s after it was submitted"
            );
            std::hint::spin_loop();
        };
        packets.push(Instant::now());
        submitted.push(t0);
        assert_eq!(unit.pts, i64::try_from(n).unwrap(), "frame {n}'s packet");
    }
    let signalled = poller.join().unwrap();
    let micros = |a: Instant, b: Instant| b.saturating_duration_since(a).as_nanos() as f64 / 1000.0;
    let to_signal: Vec<f64> = submitted
        .iter()
        .zip(&signalled)
        .map(|(&t0, &s)| micros(t0, s))
        .collect();
    let to_packet: Vec<f64> = signalled
        .iter()
        .zip(&packets)
        .map(|(&s, &p)| micros(s, p))
        .collect();
    backend.finish().unwrap();
    drop(ring);
    drop(backend);
    let lines = log_lines(&log).split_off(before);
    assert!(
        !lines.iter().any(|l| l.starts_with("VIOLATION")),
        "the stand-in recorded violations"
    );
    let lock = standin_micros(&lines, "nvEncLockBitstream");
    let encode = standin_micros(&lines, "nvEncEncodePicture");
    eprintln!(
        "STAND-IN latency, {frames} frames of {w}x{h} one at a time: submit → pass signalled (host sees the timeline) median {:.1} / p99 {:.1} µs; \
         signalled → packet out of the backend median {:.1} / p99 {:.1} µs, of which the stand-in's own nvEncLockBitstream median {:.1} µs and nvEncEncodePicture {:.1} µs",
        gpu_common::median(to_signal.clone()),
        quantile(to_signal, 0.99),
        gpu_common::median(to_packet.clone()),
        quantile(to_packet, 0.99),
        gpu_common::median(lock),
        gpu_common::median(encode),
    );
}

#[test]
fn the_cpu_fed_nvenc_backend_keeps_the_rules_and_the_pixels() {
    let Some((log, out)) = standin() else {
        return;
    };
    if gpu_common::cuda_context().is_none() {
        return;
    }
    let (w, h, frames) = (160u32, 96u32, 300usize);
    let mut config = SessionConfig::new(Codec::H264, w, h, Rational::new(30, 1));
    config.backend = BackendChoice::Only(BackendKind::Nvenc);
    config.keyframe_interval = KeyframeInterval::Frames(100);
    let mut backend =
        NvencEncoder::open(&config).unwrap_or_else(|e| panic!("the CPU-fed backend opens: {e}"));
    let mut units = Vec::new();
    let mut inputs = Vec::new();
    for n in 0..frames {
        let mut image = CpuImage::new(PixelFormat::Nv12, w, h, None).unwrap();
        for (i, b) in image.data_mut().iter_mut().enumerate() {
            *b = u8::try_from((i * 7 + n * 13) % 220 + 16).unwrap();
        }
        let planes = image.plane_layouts();
        let mut tight_frame = Vec::new();
        for y in 0..h as usize {
            tight_frame.extend_from_slice(
                &image.data()[planes[0].offset + y * planes[0].stride..][..w as usize],
            );
        }
        for y in 0..h as usize / 2 {
            tight_frame.extend_from_slice(
                &image.data()[planes[1].offset + y * planes[1].stride..][..w as usize],
            );
        }
        inputs.push(tight_frame);
        backend
            .encode(
                Frame::from_cpu(
                    image,
                    Timestamp::from_nanos(i64::try_from(n).unwrap() * 33_333_333),
                ),
                i64::try_from(n).unwrap(),
            )
            .unwrap_or_else(|e| panic!("CPU frame {n}: {e}"));
        while let Some(unit) = backend.receive().unwrap() {
            units.push(unit);
        }
    }
    backend.finish().unwrap();
    while let Some(unit) = backend.receive().unwrap() {
        units.push(unit);
    }
    drop(backend);
    assert_eq!(units.len(), frames, "one unit per CPU frame");
    let keys: Vec<i64> = units.iter().filter(|u| u.keyframe).map(|u| u.pts).collect();
    assert_eq!(keys, [0, 100, 200], "keyframes every 100 frames");
    let stream: Vec<u8> = units.iter().flat_map(|u| u.data.iter().copied()).collect();
    std::fs::write(out.join("standin-cpu-h264.bin"), &stream).unwrap();

    // Intra refresh (low latency, no keyframes after the first): accepted without violation.
    let mut refresh = SessionConfig::new(Codec::Hevc, w, h, Rational::new(30, 1));
    refresh.backend = BackendChoice::Only(BackendKind::Nvenc);
    refresh.keyframe_interval = KeyframeInterval::Infinite;
    refresh.intra_refresh_frames = Some(30);
    let mut backend = NvencEncoder::open(&refresh)
        .unwrap_or_else(|e| panic!("the intra-refresh backend opens: {e}"));
    let mut refreshed = Vec::new();
    for n in 0..90_i64 {
        backend
            .encode(
                Frame::from_cpu(
                    CpuImage::new(PixelFormat::Nv12, w, h, None).unwrap(),
                    Timestamp::from_nanos(n * 33_333_333),
                ),
                n,
            )
            .unwrap_or_else(|e| panic!("intra refresh frame {n}: {e}"));
        while let Some(unit) = backend.receive().unwrap() {
            refreshed.push(unit);
        }
    }
    backend.finish().unwrap();
    while let Some(unit) = backend.receive().unwrap() {
        refreshed.push(unit);
    }
    drop(backend);
    let keys: Vec<i64> = refreshed
        .iter()
        .filter(|u| u.keyframe)
        .map(|u| u.pts)
        .collect();
    assert_eq!(
        (refreshed.len(), keys),
        (90, vec![0]),
        "intra refresh: one keyframe, then refresh waves"
    );

    // High quality at the slowest preset (B-frames, lookahead: more input slots held): every
    // picture out once, decode times rising.
    let mut hq = SessionConfig::new(Codec::H264, w, h, Rational::new(30, 1));
    hq.backend = BackendChoice::Only(BackendKind::Nvenc);
    hq.tuning = ghoststream::Tuning::HighQuality;
    hq.preset = ghoststream::Preset::P7;
    let mut backend =
        NvencEncoder::open(&hq).unwrap_or_else(|e| panic!("the high-quality backend opens: {e}"));
    let mut reordered = Vec::new();
    for n in 0..60 {
        backend
            .encode(cpu_frame(n), i64::try_from(n).unwrap())
            .unwrap_or_else(|e| panic!("high-quality frame {n}: {e}"));
        while let Some(unit) = backend.receive().unwrap() {
            reordered.push(unit);
        }
    }
    backend.finish().unwrap();
    while let Some(unit) = backend.receive().unwrap() {
        reordered.push(unit);
    }
    drop(backend);
    let mut pts: Vec<i64> = reordered.iter().map(|u| u.pts).collect();
    let dts: Vec<i64> = reordered.iter().map(|u| u.dts).collect();
    eprintln!(
        "STAND-IN high quality P7: pts in coding order {:?}",
        &pts[..pts.len().min(12)]
    );
    assert!(
        dts.windows(2).all(|d| d[1] > d[0]),
        "decode times rise: {dts:?}"
    );
    pts.sort_unstable();
    assert_eq!(pts, (0..60).collect::<Vec<_>>(), "every picture out once");

    // Dropped without `finish` (an error path, a session closed early): still flushed with
    // an end of stream before its resources go, so the stand-in sees no violation.
    let mut early = NvencEncoder::open(&config).unwrap();
    for n in 0..5 {
        early
            .encode(cpu_frame(n), i64::try_from(n).unwrap())
            .unwrap();
    }
    drop(early);
    std::fs::write(out.join("standin-cpu-expected.nv12"), inputs.concat()).unwrap();
    let violations: Vec<String> = log_lines(&log)
        .into_iter()
        .filter(|l| l.starts_with("VIOLATION"))
        .collect();
    assert!(
        violations.is_empty(),
        "the stand-in recorded violations on the CPU-fed path:\n{}",
        violations[..violations.len().min(20)].join("\n")
    );
}

/// Split-frame encoding forced over three engines: refused by name before the encoder starts
/// on the stand-in's default generation (Ada: two engines), accepted and run without violation
/// on Blackwell (three; benches/h200/standin.sh runs this again with
/// `GHOSTSTREAM_NVENC_STANDIN_GPU=blackwell`).
#[test]
fn split_frame_over_three_engines_needs_a_gpu_with_three() {
    let Some((log, _out)) = standin() else {
        return;
    };
    if gpu_common::cuda_context().is_none() {
        return;
    }
    let blackwell = std::env::var("GHOSTSTREAM_NVENC_STANDIN_GPU").as_deref() == Ok("blackwell");
    let mut config = SessionConfig::new(Codec::Hevc, 160, 96, Rational::new(30, 1));
    config.backend = BackendChoice::Only(BackendKind::Nvenc);
    config.split_frame = SplitFrame::Three;
    let before = log_lines(&log).len();
    let opened = NvencEncoder::open(&config);
    if !blackwell {
        let Err(e) = opened else {
            panic!("two engines cannot split in three");
        };
        let e = e.to_string();
        eprintln!("STAND-IN split-frame over 3 engines on Ada: {e}");
        assert!(
            e.contains("split-frame encoding over 3 engines") && e.contains("2 NVENC engine(s)"),
            "{e}"
        );
        return;
    }
    let mut backend = opened.unwrap_or_else(|e| panic!("three engines split in three: {e}"));
    let mut units = 0;
    for n in 0..30 {
        backend
            .encode(cpu_frame(n), i64::try_from(n).unwrap())
            .unwrap();
        while backend.receive().unwrap().is_some() {
            units += 1;
        }
    }
    backend.finish().unwrap();
    while backend.receive().unwrap().is_some() {
        units += 1;
    }
    drop(backend);
    let lines = log_lines(&log).split_off(before);
    let init = lines
        .iter()
        .find(|l| l.starts_with("call ") && l.contains("nvEncInitializeEncoder"))
        .expect("initialised");
    eprintln!("STAND-IN split-frame over 3 engines on Blackwell: {units} units; {init}");
    assert_eq!(units, 30);
    assert!(init.contains("splitEncodeMode 3"), "{init}");
    assert!(
        !lines.iter().any(|l| l.starts_with("VIOLATION")),
        "no violation"
    );
}

/// Frame `n` of the CPU-fed fault runs: 160x96 NV12.
fn cpu_frame(n: usize) -> Frame {
    let mut image = CpuImage::new(PixelFormat::Nv12, 160, 96, None).unwrap();
    for (i, b) in image.data_mut().iter_mut().enumerate() {
        *b = u8::try_from((i * 5 + n * 3) % 220 + 16).unwrap();
    }
    Frame::from_cpu(
        image,
        Timestamp::from_nanos(i64::try_from(n).unwrap() * 33_333_333),
    )
}

/// With `GHOSTSTREAM_NVENC_STANDIN_FAULT` set (one fault a process: benches/h200/standin.sh
/// runs this once per fault), the backend gives the documented error for it: the failing call
/// and NVIDIA's status by name; a lost device fails every later frame too; a held picture
/// (NEED_MORE_INPUT) is no error and still comes out; a GPU without an encoder engine is
/// `NoEncoder`, and `auto` passes NVENC over with that reason.
#[test]
fn injected_faults_give_the_documented_errors() {
    let Some(fault) = std::env::var("GHOSTSTREAM_NVENC_STANDIN_FAULT").ok() else {
        eprintln!(
            "SKIPPED: no GHOSTSTREAM_NVENC_STANDIN_FAULT (benches/h200/standin.sh sets one a run)"
        );
        return;
    };
    let Some((log, _out)) = standin() else {
        return;
    };
    let mut config = SessionConfig::new(Codec::H264, 160, 96, Rational::new(30, 1));
    config.backend = BackendChoice::Only(BackendKind::Nvenc);
    if fault == "no_encoder" {
        let e = NvencEncoder::open(&config).unwrap_err().to_string();
        eprintln!("STAND-IN fault {fault}: open -> {e}");
        assert!(
            e.contains("has no NVENC encoder engine")
                && e.contains("NV_ENC_ERR_UNSUPPORTED_DEVICE"),
            "{e}"
        );
        config.backend = BackendChoice::Auto;
        let passed = match ghoststream::encode::open_backend(
            &config,
            ghoststream::encode::Feed::Cpu(PixelFormat::Nv12),
        ) {
            Ok((_, report)) => format!("{report:?}"),
            Err(e) => e.to_string(),
        };
        eprintln!("STAND-IN fault {fault}: auto -> {passed}");
        assert!(
            passed.contains("has no NVENC encoder engine"),
            "auto names why NVENC was passed over: {passed}"
        );
        return;
    }
    let mut backend = NvencEncoder::open(&config).unwrap();
    let mut errors = Vec::new();
    let mut units = 0;
    for n in 0..12 {
        if let Err(e) = backend.encode(cpu_frame(n), i64::try_from(n).unwrap()) {
            errors.push((n, e.to_string()));
        }
        while let Ok(Some(_)) = backend.receive() {
            units += 1;
        }
    }
    let finished = backend.finish();
    while let Ok(Some(_)) = backend.receive() {
        units += 1;
    }
    drop(backend);
    eprintln!("STAND-IN fault {fault}: {units} units; errors {errors:?}; finish {finished:?}");
    // An injected error is a FAULT line; a held picture is logged on its call.
    let faults_logged = log_lines(&log)
        .iter()
        .filter(|l| l.starts_with("FAULT ") || l.contains("held (NEED_MORE_INPUT)"))
        .count();
    assert!(faults_logged >= 1, "the stand-in injected {fault}");
    let first = errors.first().map(|(n, e)| (*n, e.as_str()));
    match fault.as_str() {
        "busy@5" => {
            let (n, e) = first.expect("a busy encoder is an error");
            assert_eq!(n, 5, "{e}");
            assert!(
                e.contains("nvEncEncodePicture") && e.contains("NV_ENC_ERR_ENCODER_BUSY"),
                "{e}"
            );
        }
        "oom@5" => {
            let (n, e) = first.expect("an encoder out of memory is an error");
            assert_eq!(n, 5, "{e}");
            assert!(e.contains("NV_ENC_ERR_OUT_OF_MEMORY"), "{e}");
        }
        "lost@5" => {
            let (n, e) = first.expect("a lost device is an error");
            assert_eq!(n, 5, "{e}");
            assert!(e.contains("NV_ENC_ERR_DEVICE_NOT_EXIST"), "{e}");
            assert!(errors.iter().all(|(n, _)| *n >= 5), "{errors:?}");
            assert!(
                errors.len() >= 2,
                "every frame after a lost device fails too: {errors:?}"
            );
        }
        "need_more_input@5" => {
            assert!(errors.is_empty(), "a held picture is no error: {errors:?}");
            assert_eq!(units, 12, "the held picture comes out with the next one's");
        }
        other => panic!("no expectation written for fault {other}"),
    }
}
