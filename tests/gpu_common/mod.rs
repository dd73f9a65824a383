//! Helpers of the GPU tests: a validated context (or a printed skip), the validation check,
//! a seeded random source, and the plane-by-plane comparison against the float64 reference.
#![allow(dead_code)]

use std::sync::Arc;

use ghoststream::gpu::{DeviceSelector, GpuContext, GpuOptions};
use ghoststream::processing::convert::YuvLayout;

pub fn context() -> Option<Arc<GpuContext>> {
    match GpuContext::new(&GpuOptions {
        device: DeviceSelector::Auto,
        validation: true,
    }) {
        Ok(c) => {
            let i = c.device_info();
            eprintln!("device: {} ({}), driver {}", i.name, i.kind, i.driver);
            Some(c)
        }
        Err(e) if std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_some() => {
            panic!("GHOSTSTREAM_REQUIRE_GPU is set but no Vulkan device with validation: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: no Vulkan device with the validation layer ({e}); set GHOSTSTREAM_REQUIRE_GPU=1 to make this a failure");
            None
        }
    }
}

/// A check this device cannot run: says so (and why), or fails where a GPU is required.
pub fn skip(reason: &str) {
    if std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_some() {
        panic!("GHOSTSTREAM_REQUIRE_GPU is set but {reason}");
    }
    eprintln!("SKIPPED: {reason}; set GHOSTSTREAM_REQUIRE_GPU=1 to make this a failure");
}

pub fn assert_validation_silent(ctx: &GpuContext) {
    let messages = ctx.take_validation_messages();
    assert!(
        messages.is_empty(),
        "validation layer reported:\n{}",
        messages.join("\n")
    );
}

/// A small xorshift generator: fresh inputs each run, the seed printed so a failure can be
/// replayed with GHOSTSTREAM_SEED.
pub struct Rng(pub u64);

impl Rng {
    pub fn new() -> Self {
        let seed = std::env::var("GHOSTSTREAM_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| u64::try_from(d.as_nanos()).unwrap())
                    .unwrap_or(1)
            });
        eprintln!("random seed: GHOSTSTREAM_SEED={seed}");
        Rng(seed | 1)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            let b = self.0.to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
    }
}

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A random number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// (offset, pitch, samples per row, rows) of each plane of a layout.
pub fn planes(layout: &YuvLayout) -> Vec<(usize, usize, usize, usize)> {
    let l = layout;
    let (cw, ch) = (l.chroma_width as usize, l.chroma_height as usize);
    let mut planes = vec![(
        0,
        l.luma_pitch as usize,
        l.width as usize,
        l.height as usize,
    )];
    if l.planar() {
        planes.push((l.chroma_offset as usize, l.chroma_pitch as usize, cw, ch));
        planes.push((l.v_offset as usize, l.chroma_pitch as usize, cw, ch));
    } else {
        planes.push((
            l.chroma_offset as usize,
            l.chroma_pitch as usize,
            2 * cw,
            ch,
        ));
    }
    planes
}

/// Compares every picture sample of `got` with `expected` (both in `layout`): each within
/// `tolerance` code values, unused low bits (P010) zero. Returns (differing, total) samples.
pub fn compare(
    layout: &YuvLayout,
    got: &[u8],
    expected: &[u8],
    tolerance: u32,
    label: &str,
) -> (usize, usize) {
    let bps = layout.bytes_per_sample as usize;
    let (_, shift) = layout.depth();
    let sample = |buf: &[u8], i: usize| -> u32 {
        if bps == 2 {
            u32::from(u16::from_le_bytes([buf[i], buf[i + 1]]) >> shift)
        } else {
            u32::from(buf[i])
        }
    };
    let (mut differing, mut total) = (0usize, 0usize);
    for (pi, &(offset, pitch, samples, rows)) in planes(layout).iter().enumerate() {
        for y in 0..rows {
            for x in 0..samples {
                let i = offset + y * pitch + x * bps;
                let (g, want) = (sample(got, i), sample(expected, i));
                total += 1;
                differing += usize::from(g != want);
                if bps == 2 && shift > 0 {
                    let low = u16::from_le_bytes([got[i], got[i + 1]]) & ((1 << shift) - 1);
                    assert_eq!(
                        low, 0,
                        "{label}: unused low bits set at plane {pi} ({x},{y})"
                    );
                }
                assert!(
                    g.abs_diff(want) <= tolerance,
                    "{label}: plane {pi} ({x},{y}) is {g}, reference {want}"
                );
            }
        }
    }
    (differing, total)
}

/// As [`assert_validation_silent`], tolerating one known false positive of Khronos validation
/// layers up to about 1.3.283 (Debian ships 1.3.239): after a timeline semaphore is exported,
/// every `vkSignalSemaphore` on it is reported as VUID-VkSemaphoreSignalInfo-value-03259, the
/// layer taking the semaphore's earlier value for a pending signal
/// (KhronosGroup/Vulkan-ValidationLayers#8212, #8375, fixed later). Only messages of that VUID
/// naming one of `host_signals` (the values the test signalled from the host, with no GPU signal
/// pending on that semaphore) are tolerated; every other message fails.
pub fn assert_validation_silent_but_exported_host_signals(ctx: &GpuContext, host_signals: &[u64]) {
    let others: Vec<String> = ctx
        .take_validation_messages()
        .into_iter()
        .filter(|m| {
            !(m.contains("VUID-VkSemaphoreSignalInfo-value-03259")
                && host_signals
                    .iter()
                    .any(|v| m.contains(&format!("vkSignalSemaphore(): value ({v})"))))
        })
        .collect();
    assert!(
        others.is_empty(),
        "validation layer reported:\n{}",
        others.join("\n")
    );
}

/// The plain conversion most tests use: w x h RGB to BT.709 limited-range NV12, left-sited
/// chroma, and its output layout.
pub fn bt709_nv12(w: u32, h: u32) -> (ghoststream::processing::pipeline::ProcessSpec, YuvLayout) {
    use ghoststream::processing::convert::{ChromaSiting, ConvertSpec};
    use ghoststream::{ColorMatrix, ColorRange, PixelFormat};
    let spec = ghoststream::processing::pipeline::ProcessSpec::convert_only(
        w,
        h,
        ConvertSpec {
            matrix: ColorMatrix::Bt709,
            range: ColorRange::Limited,
            siting: ChromaSiting::Left,
            output: PixelFormat::Nv12,
        },
    );
    (spec, YuvLayout::new(PixelFormat::Nv12, w, h))
}

/// Checks a frame's GPU pass on `CLOCK_MONOTONIC` (where the device maps its clock): start and
/// end present, as far apart as the measured duration, after the frame was submitted and
/// before its packet was ready (within the calibration's error, allowed 1 ms).
pub fn check_gpu_span(s: &ghoststream::FrameStats) {
    let (Some(start), Some(end), Some(duration)) = (s.gpu_start, s.gpu_end, s.gpu_time) else {
        panic!("frame {}: GPU start/end missing: {s:?}", s.frame_number);
    };
    let span = end.since(start).as_nanos();
    assert!(
        (span - duration.as_nanos()).abs() <= 2_000,
        "frame {}: {span} ns between start and end, {duration:?} measured",
        s.frame_number
    );
    assert!(start.since(s.submit_time).as_nanos() > -1_000_000, "{s:?}");
    let ready = s.packet_ready_time.expect("a packet's ready time");
    assert!(ready.since(end).as_nanos() > -1_000_000, "{s:?}");
}

/// A context on Mesa 25's lavapipe (bookworm-backports, unpacked privately by
/// `.ci/get-mesa25-lavapipe.sh`; `GHOSTSTREAM_DMABUF_ICD` names another ICD manifest), the
/// driver with DMA-BUF import, with the validation layer on; `None` with the reason printed,
/// a failure under GHOSTSTREAM_REQUIRE_GPU. It points the Vulkan loader at that driver through
/// the environment: call it from the only test of its binary, before any other Vulkan call.
pub fn mesa25() -> Option<Arc<GpuContext>> {
    let icd = std::env::var("GHOSTSTREAM_DMABUF_ICD").unwrap_or_else(|_| {
        format!(
            "{}/.cache/ghoststream/mesa25/lvp.json",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let fail = |why: String| {
        assert!(
            std::env::var_os("GHOSTSTREAM_REQUIRE_GPU").is_none(),
            "GHOSTSTREAM_REQUIRE_GPU is set: {why}"
        );
        eprintln!("SKIPPED: {why}");
        None
    };
    if !std::path::Path::new(&icd).exists() {
        return fail(format!(
            "no Mesa 25 lavapipe at {icd} (run .ci/get-mesa25-lavapipe.sh)"
        ));
    }
    std::env::set_var("VK_DRIVER_FILES", &icd);
    std::env::set_var("VK_ICD_FILENAMES", &icd);
    match GpuContext::new(&GpuOptions {
        device: DeviceSelector::Auto,
        validation: true,
    }) {
        Ok(ctx) => {
            eprintln!(
                "device: {} ({})",
                ctx.device_info().name,
                ctx.device_info().driver
            );
            Some(ctx)
        }
        Err(e) => fail(format!("Mesa 25 lavapipe did not start: {e}")),
    }
}

/// The Vulkan context and the CUDA device of the same GPU, where both are (the H200): the
/// device's external memory and semaphore extensions, and CUDA. Elsewhere `None`, with the
/// reason printed; GHOSTSTREAM_REQUIRE_CUDA=1 makes a missing CUDA a failure.
pub fn cuda_context() -> Option<(Arc<GpuContext>, Arc<ghoststream::cuda::CudaDevice>)> {
    let require = std::env::var_os("GHOSTSTREAM_REQUIRE_CUDA").is_some();
    let ctx = context()?;
    for ext in ["VK_KHR_external_memory_fd", "VK_KHR_external_semaphore_fd"] {
        if !ctx.has_extension(ext) {
            assert!(
                !require,
                "GHOSTSTREAM_REQUIRE_CUDA is set but the device lacks {ext}"
            );
            eprintln!("SKIPPED: {} lacks {ext}", ctx.device_info().name);
            return None;
        }
    }
    match ghoststream::cuda::CudaDevice::for_vulkan(&ctx) {
        Ok(cuda) => {
            eprintln!(
                "CUDA device: {} (driver CUDA {})",
                cuda.name(),
                cuda.driver_version().unwrap_or(0)
            );
            Some((ctx, cuda))
        }
        Err(e) if require => panic!("GHOSTSTREAM_REQUIRE_CUDA is set but: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: {e}; set GHOSTSTREAM_REQUIRE_CUDA=1 to make this a failure");
            None
        }
    }
}

/// The median of `v` (0 for none).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// `count` random BGRA pictures of `w` x `h`.
pub fn pictures(rng: &mut Rng, w: u32, h: u32, count: usize) -> Vec<ghoststream::CpuImage> {
    use ghoststream::{CpuImage, PixelFormat};
    (0..count)
        .map(|_| {
            let mut image = CpuImage::new(PixelFormat::Bgra8, w, h, None).unwrap();
            rng.fill(image.data_mut());
            image
        })
        .collect()
}

/// What the read-back (buffer) path writes for each BGRA picture: the first `size` bytes of
/// each converted frame, in order.
pub fn read_back(
    ctx: &Arc<GpuContext>,
    spec: &ghoststream::processing::pipeline::ProcessSpec,
    pictures: &[ghoststream::CpuImage],
    size: usize,
) -> Vec<Vec<u8>> {
    use ghoststream::gpu::ConvertRing;
    use ghoststream::PixelFormat;
    let mut stream: ConvertRing<usize> =
        ConvertRing::new(ctx, PixelFormat::Bgra8, spec, 2).unwrap();
    let mut done = Vec::new();
    for (k, p) in pictures.iter().enumerate() {
        done.extend(stream.submit(p.into(), k).unwrap().converted());
    }
    done.extend(stream.flush().unwrap());
    done.sort_by_key(|c| c.tag);
    done.into_iter()
        .map(|c| c.image.data()[..size].to_vec())
        .collect()
}
