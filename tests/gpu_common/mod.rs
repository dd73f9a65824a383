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

/// Visits every picture sample of `got` and `expected` (both in `layout`), plane by plane, row
/// by row, as (plane, x, y, got, expected) in code values, checking that the unused low bits
/// (P010) are zero. Returns the number of samples, or the first failure (the sample named).
fn each_sample(
    layout: &YuvLayout,
    got: &[u8],
    expected: &[u8],
    mut visit: impl FnMut(usize, usize, usize, u32, u32) -> Result<(), String>,
) -> Result<usize, String> {
    let bps = layout.bytes_per_sample as usize;
    let (_, shift) = layout.depth();
    let sample = |buf: &[u8], i: usize| -> u32 {
        if bps == 2 {
            u32::from(u16::from_le_bytes([buf[i], buf[i + 1]]) >> shift)
        } else {
            u32::from(buf[i])
        }
    };
    let mut total = 0usize;
    for (pi, &(offset, pitch, samples, rows)) in planes(layout).iter().enumerate() {
        for y in 0..rows {
            for x in 0..samples {
                let i = offset + y * pitch + x * bps;
                total += 1;
                if bps == 2
                    && shift > 0
                    && u16::from_le_bytes([got[i], got[i + 1]]) & ((1 << shift) - 1) != 0
                {
                    return Err(format!("unused low bits set at plane {pi} ({x},{y})"));
                }
                visit(pi, x, y, sample(got, i), sample(expected, i))
                    .map_err(|why| format!("plane {pi} ({x},{y}) is {why}"))?;
            }
        }
    }
    Ok(total)
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
    let mut differing = 0usize;
    let total = each_sample(layout, got, expected, |_, _, _, g, want| {
        differing += usize::from(g != want);
        if g.abs_diff(want) <= tolerance {
            Ok(())
        } else {
            Err(format!("{g}, reference {want}"))
        }
    })
    .unwrap_or_else(|why| panic!("{label}: {why}"));
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

/// Float32's unit roundoff u = 2^-24: a correctly rounded float32 operation moves its result
/// by at most u times its magnitude.
const F32_UNIT_ROUNDOFF: f64 = f32::EPSILON as f64 / 2.0;

/// The most roundings (each of relative size u, as a bound) between the exact code value and
/// the one a conversion shader truncates (shaders/rgb_to_yuv.glsl and
/// rgb8_buffer_to_yuv_tuned.comp compute `dot(k.rgb, c) + k.w`), on its longest path (an
/// image, or the default buffer pass, into left-sited 4:2:0):
/// - 5: each channel read as float, `c / (2^b - 1)`, which Vulkan lets be 2.5 ulp off (its
///   precision of a division; unpackUnorm4x8 is `c / 255.0`), and an ulp is at most 2u of the
///   value;
/// - 7: the chroma filter's sum of up to 8 such values (all non-negative: the error is
///   relative to the sum), whatever order the compiler adds them in;
/// - 1: the weight (matrix row times range scale times filter weight) rounded to float32 on
///   the CPU;
/// - 1 for each product, 2 for the two additions of the 3-term dot product (relative to the
///   sum of the terms' magnitudes), 1 for adding the offset (relative to the result).
///
/// 17 in all. The tuned buffer pass reads its bytes as exact integers and sums them exactly,
/// but multiplies each weight by 1/255 in the shader (at most 5 for the division, 1 for the
/// product): 11 there. A fused multiply-add only skips a rounding. The offset
/// (16.5, 128.5, 512.5, 32768.5, ...) is exact in float32, and truncating a non-negative
/// float to an integer adds nothing.
const F32_ROUNDINGS: f64 = 17.0;

/// Float32's error bound for a code value whose terms add up to `magnitude` in absolute value
/// (see [`F32_ROUNDINGS`]): gamma_n = n u / (1 - n u), n = [`F32_ROUNDINGS`], the standard
/// bound of n roundings' relative error (second-order terms included), times the magnitude.
/// At 8 bits that is at most 4e-4 of a code (magnitude 383.5 for full-range chroma), at 10
/// bits 1.6e-3, at 16 bits 0.1 (magnitude 98303.5).
pub fn f32_error(magnitude: f64) -> f64 {
    let nu = F32_ROUNDINGS * F32_UNIT_ROUNDOFF;
    nu / (1.0 - nu) * magnitude
}

/// The reference's rounding of a code value `v` at `bits`: to nearest, halves up, clamped
/// (`code` in src/processing/convert.rs; the shaders truncate `v + 0.5` clamped alike).
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "clamped into 0..=2^bits - 1 (bits <= 16)"
)]
pub fn round_code(v: f64, bits: u32) -> u32 {
    (v + 0.5).floor().clamp(0.0, ((1u64 << bits) - 1) as f64) as u32
}

/// One picture sample of the float64 reference before rounding, as
/// `reference_rgb_to_yuv` computes it (the same operations in the same order): the code value
/// `v` (which rounds to the reference's sample) and the magnitude of the terms it adds up
/// (`|offset + 0.5| + scale * sum |weight * channel|`), which bounds float32's error.
/// `plane`, `x` and `y` index samples as [`planes`] does: plane 1 of NV12/P010 interleaves
/// Cb (even `x`) and Cr (odd `x`).
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    reason = "coordinates are clamped into, or index, the layout's u32 width and height"
)]
pub fn unrounded_sample(
    rgb: &[[f64; 3]],
    spec: &ghoststream::processing::convert::ConvertSpec,
    layout: &YuvLayout,
    (plane, x, y): (usize, usize, usize),
) -> (f64, f64) {
    use ghoststream::processing::convert::{range_scale, rgb_to_ycbcr_rows, ChromaSiting};
    let (w, h) = (i64::from(layout.width), i64::from(layout.height));
    let rows = rgb_to_ycbcr_rows(spec.matrix);
    let (bits, _) = layout.depth();
    let (ys, yo, cs, co) = range_scale(spec.range, bits);
    let at = |x: i64, y: i64| -> [f64; 3] {
        rgb[(y.clamp(0, h - 1) * w + x.clamp(0, w - 1)) as usize].map(|v| v.clamp(0.0, 1.0))
    };
    let dot = |k: &[f64; 3], v: [f64; 3]| k[0] * v[0] + k[1] * v[1] + k[2] * v[2];
    let magnitude = |offset: f64, scale: f64, k: &[f64; 3], v: [f64; 3]| -> f64 {
        (offset + 0.5).abs() + scale * dot(&k.map(f64::abs), v.map(f64::abs))
    };
    if plane == 0 {
        let p = at(x as i64, y as i64);
        return (yo + ys * dot(&rows[0], p), magnitude(yo, ys, &rows[0], p));
    }
    // Chroma: which component (1 Cb, 2 Cr) at which chroma position.
    let (cx, cy, component) = if layout.planar() {
        (x as i64, y as i64, plane)
    } else {
        ((x / 2) as i64, y as i64, 1 + x % 2)
    };
    let sub = layout.subsampled();
    let taps: &[(i64, f64)] = match (sub, spec.siting) {
        (false, _) => &[(0, 0.5)],
        (true, ChromaSiting::Left) => &[(-1, 0.125), (0, 0.25), (1, 0.125)],
        (true, ChromaSiting::Centre) => &[(0, 0.25), (1, 0.25)],
    };
    let step = if sub { 2 } else { 1 };
    let (cx0, y0, y1) = (step * cx, step * cy, step * cy + step - 1);
    let mut s = [0.0; 3];
    for &(dx, wgt) in taps {
        for yy in [y0, y1] {
            let v = at(cx0 + dx, yy);
            for c in 0..3 {
                s[c] += wgt * v[c];
            }
        }
    }
    let k = &rows[component];
    (co + cs * dot(k, s), magnitude(co, cs, k, s))
}

/// A sample one code off the reference, accepted because its float64 value lies within
/// float32's error of a rounding boundary: `distance` = |frac(v) - 0.5|, `bound` the error.
#[derive(Clone, Copy, Debug)]
pub struct NearBoundary {
    pub distance: f64,
    pub bound: f64,
}

/// Judges one sample the GPU wrote as `got` (a code value at `bits`) against the float64
/// value `v` before rounding, whose terms add up to `magnitude`: `Ok(None)` where it is the
/// reference's rounding; `Ok(Some(..))` where it is the neighbouring code across a rounding
/// boundary that `v` lies within float32's error of (the rounding of `v` plus or minus that
/// error: the other side of the boundary, never away from it); otherwise why not.
pub fn judge_sample(
    got: u32,
    v: f64,
    magnitude: f64,
    bits: u32,
) -> Result<Option<NearBoundary>, String> {
    let want = round_code(v, bits);
    if got == want {
        return Ok(None);
    }
    let bound = f32_error(magnitude);
    let distance = (v - v.floor() - 0.5).abs();
    if distance <= bound
        && (got == round_code(v - bound, bits) || got == round_code(v + bound, bits))
    {
        return Ok(Some(NearBoundary { distance, bound }));
    }
    Err(format!(
        "{got}, reference {want} (unrounded {v:.6}: {distance:.2e} from a rounding boundary, \
         float32's error there at most {bound:.2e})"
    ))
}

/// The float64 reference of one conversion (`reference_rgb_to_yuv`) with what it was made
/// from, to hold the GPU's conversion of the same picture to ([`Reference::check`]).
pub struct Reference {
    /// The RGB the conversion sees: normalised, `layout`'s width x height, row by row.
    pub rgb: Vec<[f64; 3]>,
    pub spec: ghoststream::processing::convert::ConvertSpec,
    pub layout: YuvLayout,
    /// The reference's frame, in `layout`.
    pub codes: Vec<u8>,
}

impl Reference {
    /// Converting `pixels` (tightly packed `format`, `layout`'s width x height) with `spec`.
    /// For a convert-only `ProcessSpec` this is `reference_process`'s frame (its resampling is
    /// one tap of 1, nothing else runs).
    pub fn of(
        pixels: &[u8],
        format: ghoststream::PixelFormat,
        spec: &ghoststream::processing::convert::ConvertSpec,
        layout: &YuvLayout,
    ) -> Self {
        let rgb = ghoststream::processing::convert::normalized_rgb(pixels, format)
            .expect("a format the reference reads");
        Self::of_rgb(rgb, spec, layout)
    }

    /// Converting normalised `rgb` (`layout`'s width x height) with `spec`.
    pub fn of_rgb(
        rgb: Vec<[f64; 3]>,
        spec: &ghoststream::processing::convert::ConvertSpec,
        layout: &YuvLayout,
    ) -> Self {
        let mut codes = vec![0u8; layout.size as usize];
        ghoststream::processing::convert::reference_rgb_to_yuv(&rgb, spec, layout, &mut codes);
        Self {
            rgb,
            spec: *spec,
            layout: *layout,
            codes,
        }
    }

    /// Holds `got`, the GPU's conversion, to the reference: every sample the reference's,
    /// except that a sample whose float64 value lies within float32's error of a rounding
    /// boundary ([`f32_error`]) may be the code on the other side of it; unused low bits
    /// (P010) zero. Anything else fails, naming the sample. Returns the samples accepted that
    /// way.
    pub fn check(&self, got: &[u8], label: &str) -> Vec<NearBoundary> {
        self.judge(got)
            .unwrap_or_else(|why| panic!("{label}: {why}"))
    }

    /// [`Reference::check`]'s judgement: the samples accepted next to a rounding boundary, or
    /// the first sample that fails and why.
    pub fn judge(&self, got: &[u8]) -> Result<Vec<NearBoundary>, String> {
        let (bits, _) = self.layout.depth();
        let mut near = Vec::new();
        each_sample(&self.layout, got, &self.codes, |pi, x, y, g, want| {
            if g == want {
                return Ok(());
            }
            let (v, magnitude) = unrounded_sample(&self.rgb, &self.spec, &self.layout, (pi, x, y));
            if round_code(v, bits) != want {
                return Err(format!(
                    "{g}, reference {want}, but the unrounded value {v} does not round to the reference's sample"
                ));
            }
            near.extend(judge_sample(g, v, magnitude, bits)?);
            Ok(())
        })?;
        Ok(near)
    }
}

/// Every matrix, range and siting converting to `output`.
pub fn all_specs(
    output: ghoststream::PixelFormat,
) -> Vec<ghoststream::processing::convert::ConvertSpec> {
    use ghoststream::processing::convert::{ChromaSiting, ConvertSpec};
    use ghoststream::{ColorMatrix, ColorRange};
    let mut v = Vec::new();
    for matrix in [
        ColorMatrix::Bt601,
        ColorMatrix::Bt709,
        ColorMatrix::Bt2020Ncl,
    ] {
        for range in [ColorRange::Limited, ColorRange::Full] {
            for siting in [ChromaSiting::Left, ChromaSiting::Centre] {
                v.push(ConvertSpec {
                    matrix,
                    range,
                    siting,
                    output,
                });
            }
        }
    }
    v
}

/// One line on the samples [`Reference::check`] accepted next to a rounding boundary: how
/// many, how many of them on an exact half (the float64 value within 1e-9 of it: the exact
/// value is a tie, float64 and float32 each round it their own way), and the one farthest from
/// its boundary relative to its bound.
pub fn near_boundary_summary(near: &[NearBoundary]) -> String {
    let Some(farthest) = near
        .iter()
        .max_by(|a, b| (a.distance / a.bound).total_cmp(&(b.distance / b.bound)))
    else {
        return "every sample the reference's".into();
    };
    let ties = near.iter().filter(|n| n.distance < 1e-9).count();
    format!(
        "{} samples one code off next to a rounding boundary, {ties} of them on an exact half; farthest {:.2e} from it ({:.1}% of float32's error bound there, {:.2e})",
        near.len(),
        farthest.distance,
        100.0 * farthest.distance / farthest.bound,
        farthest.bound
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ghoststream::processing::convert::{ChromaSiting, ConvertSpec, GPU_OUTPUTS};
    use ghoststream::{ColorMatrix, ColorRange, PixelFormat};

    /// A 2x2 I444 frame of grey `g` (BT.709, limited range) and its unrounded luma.
    fn grey(g: f64) -> (Reference, f64) {
        let spec = ConvertSpec {
            matrix: ColorMatrix::Bt709,
            range: ColorRange::Limited,
            siting: ChromaSiting::Left,
            output: PixelFormat::I444,
        };
        let layout = YuvLayout::new(PixelFormat::I444, 2, 2);
        let want = Reference::of_rgb(vec![[g; 3]; 4], &spec, &layout);
        let (v, _) = unrounded_sample(&want.rgb, &spec, &layout, (0, 0, 0));
        (want, v)
    }

    /// The reference's frame with its first luma sample `y`.
    fn with_first(want: &Reference, y: u8) -> Vec<u8> {
        let mut got = want.codes.clone();
        got[0] = y;
        got
    }

    #[test]
    fn the_unrounded_values_round_to_the_reference_in_every_layout() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for output in GPU_OUTPUTS {
            for spec in all_specs(output) {
                let mut input = vec![0u8; 6 * 4 * 4];
                rng.fill(&mut input);
                let layout = YuvLayout::new(output, 6, 4);
                let want = Reference::of(&input, PixelFormat::Bgra8, &spec, &layout);
                let (bits, _) = layout.depth();
                each_sample(&layout, &want.codes, &want.codes, |pi, x, y, _, code| {
                    let (v, m) = unrounded_sample(&want.rgb, &spec, &layout, (pi, x, y));
                    assert_eq!(round_code(v, bits), code, "{spec:?} plane {pi} ({x},{y})");
                    assert!(m >= v.abs() && m < 1.6 * f64::from(1u32 << bits), "{m}");
                    Ok(())
                })
                .unwrap();
                assert!(want.judge(&want.codes).unwrap().is_empty());
            }
        }
    }

    #[test]
    fn a_one_code_difference_far_from_a_rounding_boundary_fails() {
        // Black: Y 16.0 exactly, as far from a boundary as a value gets.
        let (want, v) = grey(0.0);
        assert_eq!((v, want.codes[0]), (16.0, 16));
        assert!(want.judge(&with_first(&want, 17)).is_err());
        // A hundredth of a code from the boundary is still far beyond float32's error there.
        let (want, v) = grey((100.49 - 16.0) / 219.0);
        assert!((v - 100.49).abs() < 1e-9 && want.codes[0] == 100, "{v}");
        assert!(want.judge(&with_first(&want, 101)).is_err());
        // At 16 bits float32's error reaches a tenth of a code (full-range chroma's magnitude,
        // 98303.5), no further: a fifth of a code from the boundary fails.
        assert!(judge_sample(40_001, 40_000.3, 98_303.5, 16).is_err());
        assert!(judge_sample(40_001, 40_000.45, 98_303.5, 16)
            .unwrap()
            .is_some());
    }

    #[test]
    fn a_one_code_difference_next_to_a_rounding_boundary_passes_towards_it_only() {
        let (want, v) = grey((100.5 - 1e-7 - 16.0) / 219.0);
        assert!((v - 100.5).abs() < 2e-7 && want.codes[0] == 100, "{v}");
        let near = want.judge(&with_first(&want, 101)).unwrap();
        assert_eq!(near.len(), 1);
        assert!(near[0].distance < 2e-7 && near[0].bound > 5e-5, "{near:?}");
        // Away from the boundary, or two codes off: never.
        assert!(want.judge(&with_first(&want, 99)).is_err());
        assert!(want.judge(&with_first(&want, 102)).is_err());
        // Just above the boundary the reference rounds up; the GPU may round down.
        let (want, _) = grey((100.5 + 1e-7 - 16.0) / 219.0);
        assert_eq!(want.codes[0], 101);
        assert_eq!(want.judge(&with_first(&want, 100)).unwrap().len(), 1);
        assert!(want.judge(&with_first(&want, 102)).is_err());
    }

    #[test]
    fn the_bound_is_a_few_ulps_of_the_terms() {
        // 17 roundings of 2^-24: at 8 bits well under a thousandth of a code.
        assert!((f32_error(383.5) - 17.0 * 383.5 / 16_777_216.0).abs() < 1e-9);
        assert!(f32_error(383.5) < 4e-4 && f32_error(98_303.5) < 0.1);
    }
}
