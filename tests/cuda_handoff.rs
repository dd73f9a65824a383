//! The zero-copy hand-off from the Vulkan compute pass to CUDA (the path NVENC reads through):
//! frames converted into exportable Vulkan buffers are read by CUDA from the imported memory
//! after a GPU wait on the imported timeline, in a pipelined loop of thousands of frames, and
//! must equal what the Vulkan pass wrote bit for bit (a race shows up as a moving error). The
//! Vulkan pass itself is held to the float64 reference. Also measured: how long CUDA takes to
//! run past its wait once the timeline is signalled, and the CPU cost of the submit path.
//!
//! Needs an NVIDIA GPU with CUDA and Vulkan external memory (the lent H200); elsewhere (CI's
//! lavapipe has no CUDA) each test prints why it is skipped. GHOSTSTREAM_REQUIRE_CUDA=1 makes
//! a missing CUDA a failure.

mod gpu_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ghoststream::cuda::{CudaEvent, CudaStream, ImportedBuffer, ImportedTimeline, PinnedBuffer};
use ghoststream::gpu::{ConvertRing, ExportableBuffer, ExportableTimeline, GpuHandoff, RingFrame};
use ghoststream::{CpuImage, PixelFormat};
use gpu_common::{assert_validation_silent, Reference, Rng};

#[test]
fn converted_frames_reach_cuda_bit_for_bit_through_a_pipelined_handoff() {
    let Some((ctx, cuda)) = gpu_common::cuda_context() else {
        return;
    };
    let frames: u64 = std::env::var("GHOSTSTREAM_HANDOFF_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    // Three frames in flight on the Vulkan queue, five buffers in rotation (as an encoder that
    // holds pictures for reordering has more buffers than the queue has slots).
    let (w, h, depth, count, inputs) = (1280u32, 720u32, 3usize, 5usize, 4usize);
    let (spec, layout) = gpu_common::bt709_nv12(w, h);
    let mut rng = Rng::new();
    let pictures: Vec<CpuImage> = (0..inputs)
        .map(|_| {
            let mut image = CpuImage::new(PixelFormat::Bgra8, w, h, None).unwrap();
            rng.fill(image.data_mut());
            image
        })
        .collect();

    // What the Vulkan pass writes for each picture (read back the ordinary way), held to the
    // float64 reference.
    let mut readback: ConvertRing<usize> =
        ConvertRing::new(&ctx, PixelFormat::Bgra8, &spec, 2).unwrap();
    let mut written = vec![Vec::new(); inputs];
    let mut done = Vec::new();
    for (k, p) in pictures.iter().enumerate() {
        done.extend(readback.submit(p.into(), k).unwrap().converted());
    }
    done.extend(readback.flush().unwrap());
    drop(readback);
    for c in done {
        let bytes = &pictures[c.tag].data()[..PixelFormat::Bgra8.frame_bytes(w, h)];
        Reference::of(bytes, PixelFormat::Bgra8, &spec.convert, &layout)
            .check(c.image.data(), "vulkan pass");
        written[c.tag] = c.image.data()[..layout.size as usize].to_vec();
    }

    // The hand-off: exportable buffers and timelines, imported into CUDA once.
    let buffers: Vec<Arc<ExportableBuffer>> = (0..count)
        .map(|_| Arc::new(ExportableBuffer::new(&ctx, u64::from(layout.size)).unwrap()))
        .collect();
    let ready = Arc::new(ExportableTimeline::new(&ctx, 0).unwrap());
    let released = Arc::new(ExportableTimeline::new(&ctx, 0).unwrap());
    let imported: Vec<ImportedBuffer> = buffers
        .iter()
        .map(|b| ImportedBuffer::import(&cuda, b).unwrap())
        .collect();
    let cuda_ready = ImportedTimeline::import(&cuda, &ready).unwrap();
    let cuda_released = ImportedTimeline::import(&cuda, &released).unwrap();
    let stream = CudaStream::new(&cuda).unwrap();
    let mut pinned: Vec<PinnedBuffer> = (0..count)
        .map(|_| PinnedBuffer::new(&cuda, layout.size as usize).unwrap())
        .collect();
    let events: Vec<CudaEvent> = (0..count)
        .map(|_| CudaEvent::new(&cuda, false).unwrap())
        .collect();
    let mut held: Vec<Option<usize>> = vec![None; count]; // picture index in each pinned buffer
    let mut handoff: ConvertRing<u64> = ConvertRing::with_handoff(
        &ctx,
        PixelFormat::Bgra8,
        &spec,
        GpuHandoff {
            buffers: buffers.clone(),
            ready: Arc::clone(&ready),
            released: Arc::clone(&released),
        },
        depth,
    )
    .unwrap();

    let (mut mismatched, mut checked) = (0u64, 0u64);
    let mut check = |buffer: usize, held: &mut Vec<Option<usize>>, pinned: &[PinnedBuffer]| {
        if let Some(k) = held[buffer].take() {
            events[buffer].synchronize().unwrap();
            checked += 1;
            if pinned[buffer].as_slice() != written[k].as_slice() {
                mismatched += 1;
            }
        }
    };
    let (mut vulkan_ns, mut cuda_ns) = (Vec::new(), Vec::new());
    let started = Instant::now();
    for n in 0..frames {
        let k = usize::try_from(n % inputs as u64).unwrap();
        let t0 = Instant::now();
        let h = handoff
            .submit(RingFrame::Cpu(&pictures[k]), n)
            .unwrap()
            .handed_off()
            .expect("a hand-off stream hands frames off");
        let submit_ns = t0.elapsed().as_nanos() as f64;
        // The pinned buffer's previous frame is checked before the copy overwrites it.
        check(h.target, &mut held, &pinned);
        let t1 = Instant::now();
        stream.wait(&cuda_ready, h.value).unwrap();
        // SAFETY: `pinned[h.target]` is read only after `events[h.target]`, recorded after this
        // copy, has completed (`check`), and is dropped after the stream's final synchronise.
        unsafe { stream.copy_to_host(&imported[h.target], &mut pinned[h.target]) }.unwrap();
        stream.signal(&cuda_released, h.value).unwrap();
        stream.record(&events[h.target]).unwrap();
        vulkan_ns.push(submit_ns);
        cuda_ns.push(t1.elapsed().as_nanos() as f64);
        held[h.target] = Some(k);
    }
    for buffer in 0..count {
        check(buffer, &mut held, &pinned);
    }
    let elapsed = started.elapsed();
    handoff.flush().unwrap();
    stream.synchronize().unwrap();
    eprintln!(
        "hand-off: {checked} frames of {w}x{h} NV12 through {count} buffers ({depth} in flight on Vulkan) in {:.2} s ({:.0} fps); \
         {mismatched} differ from the Vulkan pass's bytes; CPU per frame, medians: Vulkan side {:.1} µs \
         (of which the test's CPU picture copied into the staging buffer is most), CUDA side (wait, copy, signal, event queued) {:.1} µs",
        elapsed.as_secs_f64(),
        checked as f64 / elapsed.as_secs_f64(),
        gpu_common::median(vulkan_ns) / 1000.0,
        gpu_common::median(cuda_ns) / 1000.0
    );
    assert_eq!(checked, frames);
    assert_eq!(
        mismatched, 0,
        "CUDA read bytes the Vulkan pass had not finished writing"
    );
    assert_eq!(
        released.value().unwrap(),
        frames,
        "CUDA released every frame"
    );
    assert_eq!(
        ready.value().unwrap(),
        frames,
        "Vulkan signalled every frame"
    );
    drop(handoff);
    assert_validation_silent(&ctx);
}

#[test]
fn cuda_runs_past_its_wait_soon_after_the_timeline_is_signalled() {
    let Some((ctx, cuda)) = gpu_common::cuda_context() else {
        return;
    };
    let timeline = Arc::new(ExportableTimeline::new(&ctx, 0).unwrap());
    let imported = ImportedTimeline::import(&cuda, &timeline).unwrap();
    let stream = CudaStream::new(&cuda).unwrap();
    let event = CudaEvent::new(&cuda, false).unwrap();
    let mut latency = Vec::new();
    for value in 1..=200u64 {
        stream.wait(&imported, value).unwrap();
        stream.record(&event).unwrap();
        std::thread::sleep(Duration::from_micros(500));
        assert!(
            !event.is_complete().unwrap(),
            "CUDA ran past an unsignalled wait"
        );
        let t0 = Instant::now();
        timeline.signal(value).unwrap();
        while !event.is_complete().unwrap() {
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "CUDA never saw value {value}"
            );
        }
        latency.push(t0.elapsed().as_nanos() as f64);
    }
    let mut sorted = latency.clone();
    sorted.sort_by(f64::total_cmp);
    eprintln!(
        "host signal of the Vulkan timeline to the CUDA stream past its wait (polled): median {:.1} µs, p90 {:.1} µs, max {:.1} µs over {} signals",
        gpu_common::median(latency) / 1000.0,
        sorted[sorted.len() * 9 / 10] / 1000.0,
        sorted[sorted.len() - 1] / 1000.0,
        sorted.len()
    );
    stream.synchronize().unwrap();
    let signalled: Vec<u64> = (1..=200).collect();
    gpu_common::assert_validation_silent_but_exported_host_signals(&ctx, &signalled);
}
