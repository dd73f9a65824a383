//! The fused processing pass (scale, tone map, sharpen, convert) against the float64 reference
//! of the chain, through the pipelined stream the session uses, with the validation layer on.
//!
//! Without a Vulkan device the tests print why and skip, unless GHOSTSTREAM_REQUIRE_GPU is set.

mod gpu_common;

use std::sync::Arc;

use ghoststream::gpu::{ConvertRing, GpuContext, GpuError};
use ghoststream::processing::convert::{
    normalized_rgb, yuv_to_rgb, ChromaSiting, ConvertSpec, YuvLayout, GPU_OUTPUTS, GPU_YUV_INPUTS,
};
use ghoststream::processing::pipeline::{reference_process, ProcessSpec};
use ghoststream::processing::scale::{Fit, ScaleFilter};
use ghoststream::processing::tonemap::{pq_inverse_eotf, PeakSource, ToneMapSpec};
use ghoststream::{ColorMatrix, ColorRange, CpuImage, PixelFormat, TransferFunction};
use gpu_common::{assert_validation_silent, compare, context, Rng};

/// A random frame of `format`: any byte pattern for the integer formats; for RGBA16F, halves
/// from 0 to 1.25 (so the clamp at 1.0 is exercised too).
fn random_frame(rng: &mut Rng, format: PixelFormat, w: u32, h: u32) -> Vec<u8> {
    let mut bytes = vec![0u8; format.frame_bytes(w, h)];
    if format == PixelFormat::Rgba16f {
        for half in bytes.chunks_exact_mut(2) {
            let v = u16::try_from(rng.below(0x3d01)).unwrap(); // 0x3d00 = 1.25
            half.copy_from_slice(&v.to_le_bytes());
        }
    } else {
        rng.fill(&mut bytes);
    }
    bytes
}

/// A frame of tightly packed planes (`bytes`) as an image.
fn image(format: PixelFormat, w: u32, h: u32, bytes: &[u8]) -> CpuImage {
    let mut img = CpuImage::new(format, w, h, None).unwrap();
    let mut at = 0;
    for (plane, geometry) in format.planes(w, h).iter().enumerate() {
        let row = geometry.row_bytes();
        for y in 0..geometry.height {
            img.row_mut(plane, y).copy_from_slice(&bytes[at..at + row]);
            at += row;
        }
    }
    assert_eq!(at, bytes.len());
    img
}

/// The source RGB of a frame as the reference reads it (YUV input in the output's matrix and
/// range).
fn source_rgb(format: PixelFormat, spec: &ProcessSpec, input: &[u8]) -> Vec<[f64; 3]> {
    if GPU_YUV_INPUTS.contains(&format) {
        let (w, h) = (spec.input_width, spec.input_height);
        yuv_to_rgb(input, format, w, h, spec.convert.matrix, spec.convert.range).unwrap()
    } else {
        normalized_rgb(input, format).unwrap()
    }
}

/// How a test's CPU frames reach the pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    /// As the library sends them: packed 8-bit RGB straight from the upload buffer where the
    /// plan allows (the buffer pass, `process_buffer.comp`), else through an image.
    Auto,
    /// Always copied into an image and sampled (the tile pass, `process.comp`; what
    /// application and DMA-BUF frames take).
    Image,
}

/// Runs `frames` through a stream for `spec` (outputs poisoned with `poison`) and returns the
/// output bytes of each.
fn run(
    ctx: &Arc<GpuContext>,
    format: PixelFormat,
    spec: &ProcessSpec,
    frames: &[Vec<u8>],
    poison: u8,
) -> Vec<Vec<u8>> {
    run_by(ctx, format, spec, frames, poison, Route::Auto)
}

/// [`run`] by `route`.
fn run_by(
    ctx: &Arc<GpuContext>,
    format: PixelFormat,
    spec: &ProcessSpec,
    frames: &[Vec<u8>],
    poison: u8,
    route: Route,
) -> Vec<Vec<u8>> {
    let mut stream: ConvertRing<usize> = match route {
        Route::Auto => ConvertRing::new(ctx, format, spec, 2),
        Route::Image => ConvertRing::image_uploads(ctx, format, spec, 2),
    }
    .expect("the stream opens");
    stream.poison_outputs(poison);
    let mut out = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let img = image(format, spec.input_width, spec.input_height, f);
        if let Some(c) = stream.submit((&img).into(), i).expect("submit").converted() {
            out.push(c.image.data().to_vec());
        }
    }
    for c in stream.flush().expect("flush") {
        out.push(c.image.data().to_vec());
    }
    out
}

/// Processes one frame twice (poison 0x00 and 0xFF) and holds every sample to the reference.
///
/// The bounds: conversion and scaling, at most one code value off and (up to 10 bits) fewer
/// than 0.5% of samples differing at all — float32 and float64 part only next to a rounding
/// boundary. Tone mapping runs PQ through powers of up to 78.8 (the PQ exponent), where the
/// float32 `pow` of the GPU (exp2/log2, with an absolute log2 error of 2^-21 allowed by
/// Vulkan) loses precision: at most one code off, fewer than 4% of samples differing (seen:
/// under 1% on lavapipe, 2.9% on the H200's driver). Sharpening after tone mapping amplifies a
/// difference by up to (1 + 4w) / (1 - 4w), 3.7 at full strength: there two codes, and fewer
/// than 6% of samples differing (seen: 4.02% on the H200, HLG through Lanczos-3 with
/// sharpening 0.7, GHOSTSTREAM_SEED=1795520745066557534). At 16 bits float32 itself
/// moves more samples by one code; the code bound still holds.
fn check(ctx: &Arc<GpuContext>, format: PixelFormat, spec: &ProcessSpec, input: &[u8], peak: f64) {
    let rgb = source_rgb(format, spec, input);
    let layout = YuvLayout::new(spec.convert.output, spec.output_width, spec.output_height);
    let mut expected = vec![0u8; layout.size as usize];
    reference_process(&rgb, spec, peak, &layout, &mut expected);
    let tone = spec.tonemap.is_some();
    // YUV input with tone mapping: two codes. Random 4:4:4 chroma makes every pixel a fully
    // saturated, often clipped colour; after the gamut matrix one channel sits near 0, where
    // the output curve's slope is unbounded and float32's cancellation error becomes a code or
    // two (seen: in about one run of five, one sample of a 9 360-sample plane two codes off,
    // I444 input, bilinear 2x up; 4:2:0 input, whose chroma is shared by 2x2 pixels, not seen).
    let yuv_tone = tone && GPU_YUV_INPUTS.contains(&format);
    let tolerance = if tone && (spec.sharpen > 0.0 || yuv_tone) {
        2
    } else {
        1
    };
    // Sharpening alone amplifies float32's rounding too: 10 of 1254 samples (0.8%) one code
    // off, P010 input sharpened 0.5 into I420 (GHOSTSTREAM_SEED=1796427205772753094, lavapipe).
    let per_mille = match (tone, spec.sharpen > 0.0) {
        (true, true) => 60,
        (true, false) => 40,
        (false, true) => 20,
        (false, false) => 5,
    };
    // Packed 8-bit RGB through the fused pass: both passes, the buffer one and the image one.
    let both = matches!(format, PixelFormat::Rgba8 | PixelFormat::Bgra8) && !spec.is_convert_only();
    let routes: &[Route] = if both {
        &[Route::Auto, Route::Image]
    } else {
        &[Route::Auto]
    };
    for &route in routes {
        for poison in [0x00u8, 0xff] {
            let got = run_by(ctx, format, spec, &[input.to_vec()], poison, route);
            let label = format!("{format} {spec:?} {route:?} poison {poison:#x}");
            let (differing, total) = compare(&layout, &got[0], &expected, tolerance, &label);
            if layout.depth().0 <= 10 {
                assert!(
                    differing * 1000 <= (total * per_mille).max(1000),
                    "{label}: {differing} of {total} samples differ"
                );
            }
        }
    }
}

fn convert(
    output: PixelFormat,
    matrix: ColorMatrix,
    range: ColorRange,
    siting: ChromaSiting,
) -> ConvertSpec {
    ConvertSpec {
        matrix,
        range,
        siting,
        output,
    }
}

const OUTPUTS: [PixelFormat; 7] = GPU_OUTPUTS;
const INPUTS: [PixelFormat; 4] = [
    PixelFormat::Rgba8,
    PixelFormat::Bgra8,
    PixelFormat::Rgb10a2,
    PixelFormat::Rgba16f,
];

fn even(v: u32) -> u32 {
    (v + 1) & !1
}

/// Conversion alone to every output (4:4:4 ones through the fused pass), every input format,
/// every matrix, range and siting, at sizes that are odd (4:4:4), 1x1, and not multiples of
/// the 16x16 tile.
#[test]
fn conversion_to_every_output_matches_the_reference() {
    let Some(ctx) = context() else { return };
    let mut rng = Rng::new();
    for output in OUTPUTS {
        let sizes: &[(u32, u32)] = if output.needs_even_size() {
            &[(2, 2), (34, 18), (130, 66)]
        } else {
            &[(1, 1), (7, 5), (33, 17), (129, 65)]
        };
        for &(w, h) in sizes {
            for format in INPUTS {
                let matrix = [
                    ColorMatrix::Bt601,
                    ColorMatrix::Bt709,
                    ColorMatrix::Bt2020Ncl,
                ][usize::try_from(rng.below(3)).unwrap()];
                let range =
                    [ColorRange::Limited, ColorRange::Full][usize::try_from(rng.below(2)).unwrap()];
                let siting = [ChromaSiting::Left, ChromaSiting::Centre]
                    [usize::try_from(rng.below(2)).unwrap()];
                let spec = ProcessSpec::convert_only(w, h, convert(output, matrix, range, siting));
                let input = random_frame(&mut rng, format, w, h);
                check(&ctx, format, &spec, &input, 100.0);
            }
        }
    }
    assert_validation_silent(&ctx);
}

/// Scaling with each kernel, up and down (to 4x), stretched and letterboxed, with and without
/// sharpening, into 4:2:0 and 4:4:4.
#[test]
fn scaling_and_sharpening_match_the_reference() {
    let Some(ctx) = context() else { return };
    let mut rng = Rng::new();
    let cases: &[(u32, u32, u32, u32)] = &[
        (64, 36, 128, 72),  // 2x up, same shape
        (37, 23, 100, 60),  // odd source, up, letterbox or stretch
        (200, 120, 50, 30), // 4x down
        (130, 66, 48, 48),  // down into a square
        (1, 1, 18, 10),     // a single pixel filling a frame
        (96, 54, 96, 54),   // same size, sharpening only
    ];
    let filters = [
        ScaleFilter::Bilinear,
        ScaleFilter::Bicubic,
        ScaleFilter::Lanczos3,
        ScaleFilter::Area,
    ];
    for &(iw, ih, ow, oh) in cases {
        for filter in filters {
            for fit in [Fit::Stretch, Fit::Letterbox] {
                let output = OUTPUTS[usize::try_from(rng.below(OUTPUTS.len() as u64)).unwrap()];
                let (ow, oh) = if output.needs_even_size() {
                    (even(ow), even(oh))
                } else {
                    (ow, oh)
                };
                let format = INPUTS[usize::try_from(rng.below(INPUTS.len() as u64)).unwrap()];
                let sharpen = [0.0, 0.5, 1.0][usize::try_from(rng.below(3)).unwrap()];
                let spec = ProcessSpec {
                    input_width: iw,
                    input_height: ih,
                    output_width: ow,
                    output_height: oh,
                    filter,
                    fit,
                    tonemap: None,
                    sharpen,
                    convert: convert(
                        output,
                        ColorMatrix::Bt709,
                        ColorRange::Limited,
                        ChromaSiting::Left,
                    ),
                };
                let input = random_frame(&mut rng, format, iw, ih);
                check(&ctx, format, &spec, &input, 100.0);
            }
        }
    }
    assert_validation_silent(&ctx);
}

/// Source size, output size, kernel, fit, output format, chroma siting.
type BufferCase = (
    u32,
    u32,
    u32,
    u32,
    ScaleFilter,
    Fit,
    PixelFormat,
    ChromaSiting,
);

/// Packed 8-bit RGB read from the upload buffer (`process_buffer.comp`) and through an image:
/// the plans the buffer pass specialises (integer ratios with 16-byte loads: bilinear and
/// bicubic 2:1, bilinear 3:1), and the ones it reads tap by tap (other ratios, Lanczos-3
/// upscaling, widths not a multiple of 4, letterbox edges), tone mapped (metadata and measured
/// peak) or not, into 4:2:0 interleaved and planar (2-byte samples), 4:4:4, left and centre
/// siting. (Plans of more than 64 taps a pixel run the image pass: the other tests.)
#[test]
fn buffer_pass_matches_the_reference() {
    let Some(ctx) = context() else { return };
    let mut rng = Rng::new();
    let pq = |peak| Some(hdr(TransferFunction::Pq, peak));
    let measured = PeakSource::Measured {
        first_frame: 1000.0,
    };
    let cases: &[BufferCase] = &[
        (
            128,
            72,
            64,
            36,
            ScaleFilter::Bilinear,
            Fit::Stretch,
            PixelFormat::Nv12,
            ChromaSiting::Left,
        ),
        (
            128,
            72,
            64,
            36,
            ScaleFilter::Bicubic,
            Fit::Stretch,
            PixelFormat::P010,
            ChromaSiting::Centre,
        ),
        (
            192,
            108,
            64,
            36,
            ScaleFilter::Bilinear,
            Fit::Stretch,
            PixelFormat::I444,
            ChromaSiting::Left,
        ),
        (
            128,
            72,
            64,
            36,
            ScaleFilter::Area,
            Fit::Letterbox,
            PixelFormat::Nv12,
            ChromaSiting::Left,
        ),
        (
            132,
            70,
            66,
            36,
            ScaleFilter::Bilinear,
            Fit::Stretch,
            PixelFormat::Nv12,
            ChromaSiting::Left,
        ),
        (
            100,
            60,
            64,
            48,
            ScaleFilter::Bicubic,
            Fit::Letterbox,
            PixelFormat::I420P10,
            ChromaSiting::Left,
        ),
        (
            40,
            24,
            84,
            48,
            ScaleFilter::Lanczos3,
            Fit::Letterbox,
            PixelFormat::Nv12,
            ChromaSiting::Centre,
        ),
        (
            64,
            36,
            64,
            36,
            ScaleFilter::Bilinear,
            Fit::Stretch,
            PixelFormat::I444P10,
            ChromaSiting::Left,
        ),
    ];
    for (i, &(iw, ih, ow, oh, filter, fit, output, siting)) in cases.iter().enumerate() {
        for (tonemap, peak) in [
            (None, 100.0),
            (pq(PeakSource::Metadata(1000.0)), 1000.0),
            (pq(measured), 1000.0),
        ] {
            let format = [PixelFormat::Bgra8, PixelFormat::Rgba8][i % 2];
            let spec = ProcessSpec {
                input_width: iw,
                input_height: ih,
                output_width: ow,
                output_height: oh,
                filter,
                fit,
                tonemap,
                sharpen: 0.0,
                convert: convert(output, ColorMatrix::Bt709, ColorRange::Limited, siting),
            };
            let input = random_frame(&mut rng, format, iw, ih);
            check(&ctx, format, &spec, &input, peak);
        }
    }
    assert_validation_silent(&ctx);
}

/// YUV input (NV12, I420, P010, I444: random codes, out-of-range ones included) scaled up and
/// down with each kernel, letterboxed, sharpened and tone mapped, into 4:2:0 and 4:4:4: the
/// source tile and the direct path (a 4x downscale with Lanczos-3 does not fit the tile).
#[test]
fn yuv_input_is_scaled_tone_mapped_and_sharpened() {
    let Some(ctx) = context() else { return };
    let mut rng = Rng::new();
    let cases: &[(u32, u32, u32, u32, ScaleFilter)] = &[
        (64, 36, 130, 72, ScaleFilter::Bilinear),
        (130, 66, 64, 32, ScaleFilter::Lanczos3),
        (200, 120, 50, 30, ScaleFilter::Lanczos3),
        (38, 22, 38, 22, ScaleFilter::Bicubic),
        (2, 2, 18, 10, ScaleFilter::Bicubic),
    ];
    for format in GPU_YUV_INPUTS {
        for (n, &(iw, ih, ow, oh, filter)) in cases.iter().enumerate() {
            // Tone mapping (every other case; PQ, the metadata peak) is held to the reference
            // at 8 bits, as in tone_mapping_matches_the_reference.
            let tone = n % 2 == 0;
            let outputs: &[PixelFormat] = if tone {
                &[PixelFormat::Nv12, PixelFormat::I420, PixelFormat::I444]
            } else {
                &OUTPUTS
            };
            let output = outputs[usize::try_from(rng.below(outputs.len() as u64)).unwrap()];
            let matrix = [ColorMatrix::Bt709, ColorMatrix::Bt2020Ncl][n % 2];
            let range =
                [ColorRange::Limited, ColorRange::Full][usize::try_from(rng.below(2)).unwrap()];
            let sharpen = [0.0, 0.5][n % 2];
            let tonemap = tone.then(|| hdr(TransferFunction::Pq, PeakSource::Metadata(1000.0)));
            let spec = ProcessSpec {
                input_width: iw,
                input_height: ih,
                output_width: ow,
                output_height: oh,
                filter,
                fit: Fit::Letterbox,
                tonemap,
                sharpen,
                convert: convert(output, matrix, range, ChromaSiting::Left),
            };
            let input = random_frame(&mut rng, format, iw, ih);
            check(&ctx, format, &spec, &input, 1000.0);
        }
    }
    assert_validation_silent(&ctx);
}

fn hdr(source: TransferFunction, peak: PeakSource) -> ToneMapSpec {
    ToneMapSpec {
        source,
        peak,
        ..ToneMapSpec::hdr10_to_sdr(1000.0)
    }
}

/// PQ (several metadata peaks) and HLG to SDR, alone and fused with scaling and sharpening,
/// with BT.709 and sRGB output curves.
#[test]
fn tone_mapping_matches_the_reference() {
    let Some(ctx) = context() else { return };
    let mut rng = Rng::new();
    let tones = [
        (
            hdr(TransferFunction::Pq, PeakSource::Metadata(1000.0)),
            1000.0,
        ),
        (
            hdr(TransferFunction::Pq, PeakSource::Metadata(4000.0)),
            4000.0,
        ),
        (hdr(TransferFunction::Pq, PeakSource::Metadata(80.0)), 80.0),
        (
            hdr(TransferFunction::Hlg, PeakSource::Metadata(1000.0)),
            1000.0,
        ),
    ];
    for (i, (tone, peak)) in tones.into_iter().enumerate() {
        for srgb in [false, true] {
            let mut tone = tone;
            if srgb {
                tone.output_transfer = TransferFunction::Srgb;
            }
            let format = [PixelFormat::Rgb10a2, PixelFormat::Rgba16f][i % 2];
            let (iw, ih, ow, oh) = if srgb {
                (48, 30, 48, 30)
            } else {
                (96, 54, 64, 36)
            };
            let spec = ProcessSpec {
                input_width: iw,
                input_height: ih,
                output_width: ow,
                output_height: oh,
                filter: ScaleFilter::Lanczos3,
                fit: Fit::Letterbox,
                tonemap: Some(tone),
                sharpen: if srgb { 0.0 } else { 0.7 },
                convert: convert(
                    PixelFormat::Nv12,
                    ColorMatrix::Bt709,
                    ColorRange::Limited,
                    ChromaSiting::Left,
                ),
            };
            let input = random_frame(&mut rng, format, iw, ih);
            check(&ctx, format, &spec, &input, peak);
        }
    }
    assert_validation_silent(&ctx);
}

/// PQ white at 1000 nits with a 1000-nit peak is SDR white (Y 235, chroma 128 in BT.709
/// limited range); HDR passthrough keeps PQ codes: a BT.2020 grey at PQ 1000 nits (signal
/// 0.75183, RGB10A2 code 769 = 0.75171) becomes 10-bit Y = 64 + 876 x 0.75171 = 722.5 -> 722.
#[test]
fn published_hdr_values() {
    let Some(ctx) = context() else { return };
    let pq1000 = pq_inverse_eotf(0.1);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a PQ signal in [0, 1] as a 10-bit code"
    )]
    let code = (pq1000 * 1023.0).round() as u32; // RGB10A2 code of the PQ signal
    let word = code | (code << 10) | (code << 20) | (3 << 30);
    let input: Vec<u8> = (0..16 * 16).flat_map(|_| word.to_le_bytes()).collect();
    let sdr = ProcessSpec {
        tonemap: Some(hdr(TransferFunction::Pq, PeakSource::Metadata(1000.0))),
        ..ProcessSpec::convert_only(
            16,
            16,
            convert(
                PixelFormat::Nv12,
                ColorMatrix::Bt709,
                ColorRange::Limited,
                ChromaSiting::Left,
            ),
        )
    };
    let out = &run(
        &ctx,
        PixelFormat::Rgb10a2,
        &sdr,
        std::slice::from_ref(&input),
        0xaa,
    )[0];
    let layout = YuvLayout::new(PixelFormat::Nv12, 16, 16);
    let c = layout.chroma_offset as usize;
    // The RGB10A2 code rounds the signal to 769/1023 (998 nits): still white.
    assert_eq!((out[0], out[c], out[c + 1]), (235, 128, 128));
    let pass = ProcessSpec {
        sharpen: 0.0,
        ..ProcessSpec::convert_only(
            16,
            16,
            convert(
                PixelFormat::I444P10,
                ColorMatrix::Bt2020Ncl,
                ColorRange::Limited,
                ChromaSiting::Left,
            ),
        )
    };
    let out = &run(&ctx, PixelFormat::Rgb10a2, &pass, &[input], 0xaa)[0];
    let y = u16::from_le_bytes([out[0], out[1]]);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a limited-range 10-bit code, 64..=940"
    )]
    let want = (64.0 + 876.0 * f64::from(code) / 1023.0).round() as u16;
    assert_eq!((code, y, want), (769, 722, 722));
    assert_validation_silent(&ctx);
}

/// With the peak measured, each frame is mapped with the previous frame's largest channel:
/// the first with the configured first-frame peak, the second with what the first measured.
#[test]
fn measured_peak_comes_from_the_previous_frame() {
    let Some(ctx) = context() else { return };
    let mut rng = Rng::new();
    let (w, h) = (40, 24);
    let spec = ProcessSpec {
        tonemap: Some(hdr(
            TransferFunction::Pq,
            PeakSource::Measured {
                first_frame: 4000.0,
            },
        )),
        ..ProcessSpec::convert_only(
            w,
            h,
            convert(
                PixelFormat::Nv12,
                ColorMatrix::Bt709,
                ColorRange::Limited,
                ChromaSiting::Left,
            ),
        )
    };
    // Frame 0 peaks at signal 0.70 (about 620 nits), frame 1 is brighter.
    let frame = |rng: &mut Rng, top: u64| -> Vec<u8> {
        (0..w * h)
            .flat_map(|_| {
                let mut c = || u32::try_from(rng.below(top) & 0x3ff).unwrap();
                let word = c() | (c() << 10) | (c() << 20);
                word.to_le_bytes()
            })
            .collect()
    };
    let f0 = frame(&mut rng, 717);
    let f1 = frame(&mut rng, 1024);
    let got = run(
        &ctx,
        PixelFormat::Rgb10a2,
        &spec,
        &[f0.clone(), f1.clone()],
        0,
    );
    let rgb0 = normalized_rgb(&f0, PixelFormat::Rgb10a2).unwrap();
    let rgb1 = normalized_rgb(&f1, PixelFormat::Rgb10a2).unwrap();
    let max0 = rgb0.iter().flatten().fold(0.0f64, |a, &v| a.max(v));
    let tone = spec.tonemap.unwrap();
    let layout = YuvLayout::new(PixelFormat::Nv12, w, h);
    for (i, (rgb, peak)) in [
        (&rgb0, tone.source_peak(None)),
        (&rgb1, tone.source_peak(Some(max0))),
    ]
    .into_iter()
    .enumerate()
    {
        let mut expected = vec![0u8; layout.size as usize];
        reference_process(rgb, &spec, peak, &layout, &mut expected);
        compare(
            &layout,
            &got[i],
            &expected,
            1,
            &format!("frame {i}, peak {peak:.1} nits"),
        );
    }
    // The two peaks differ enough to matter: mapping frame 1 with the first-frame peak would
    // not match.
    let mut wrong = vec![0u8; layout.size as usize];
    reference_process(&rgb1, &spec, 4000.0, &layout, &mut wrong);
    assert_ne!(got[1], wrong);
    assert_validation_silent(&ctx);
}

/// The largest picture the codecs allow, in 4:4:4 at 16 bits (214 MB: where the device's
/// storage-buffer range is smaller, as lavapipe's 128 MiB, a typed error naming the limit, and
/// 8-bit 4:4:4 instead), and downscaled 4x with the widest kernel (the tile's row budget at
/// its limit).
#[test]
fn the_largest_frames() {
    let Some(ctx) = context() else { return };
    let mut rng = Rng::new();
    let format = PixelFormat::Bgra8;
    let input = random_frame(&mut rng, format, 8192, 4352);
    let full = |output| {
        ProcessSpec::convert_only(
            8192,
            4352,
            convert(
                output,
                ColorMatrix::Bt2020Ncl,
                ColorRange::Full,
                ChromaSiting::Left,
            ),
        )
    };
    match ConvertRing::<()>::new(&ctx, format, &full(PixelFormat::I444P16), 1) {
        Ok(stream) => {
            drop(stream);
            check(&ctx, format, &full(PixelFormat::I444P16), &input, 100.0);
        }
        Err(e) => {
            assert!(
                matches!(e, GpuError::Unsupported { .. })
                    && e.to_string().contains("maxStorageBufferRange"),
                "{e}"
            );
            eprintln!("i444p16 at 8192x4352 refused as it should be here: {e}");
            check(&ctx, format, &full(PixelFormat::I444), &input, 100.0);
        }
    }
    let down = ProcessSpec {
        output_width: 2048,
        output_height: 1088,
        filter: ScaleFilter::Lanczos3,
        fit: Fit::Stretch,
        ..ProcessSpec::convert_only(
            8192,
            4352,
            convert(
                PixelFormat::Nv12,
                ColorMatrix::Bt709,
                ColorRange::Limited,
                ChromaSiting::Left,
            ),
        )
    };
    check(&ctx, format, &down, &input, 100.0);
    assert_validation_silent(&ctx);
}

/// Plans the pass cannot run are typed errors naming the value.
#[test]
fn bad_plans_are_typed_errors() {
    let Some(ctx) = context() else { return };
    let base = ProcessSpec::convert_only(
        64,
        64,
        convert(
            PixelFormat::Nv12,
            ColorMatrix::Bt709,
            ColorRange::Limited,
            ChromaSiting::Left,
        ),
    );
    let open = |spec: &ProcessSpec, format| {
        ConvertRing::<()>::new(&ctx, format, spec, 2)
            .err()
            .expect("refused")
    };
    let e = open(
        &ProcessSpec {
            output_width: 10,
            output_height: 10,
            ..base
        },
        PixelFormat::Bgra8,
    );
    assert!(
        matches!(e, GpuError::Invalid { .. }) && e.to_string().contains("64 to 10"),
        "{e}"
    );
    let e = open(
        &ProcessSpec {
            sharpen: 2.0,
            ..base
        },
        PixelFormat::Bgra8,
    );
    assert!(e.to_string().contains("sharpening strength 2"), "{e}");
    let mut tone = hdr(TransferFunction::Pq, PeakSource::Metadata(1000.0));
    tone.output_transfer = TransferFunction::Pq;
    let e = open(
        &ProcessSpec {
            tonemap: Some(tone),
            ..base
        },
        PixelFormat::Bgra8,
    );
    assert!(e.to_string().contains("passthrough"), "{e}");
    tone = hdr(TransferFunction::Pq, PeakSource::Metadata(0.5));
    let e = open(
        &ProcessSpec {
            tonemap: Some(tone),
            ..base
        },
        PixelFormat::Bgra8,
    );
    assert!(e.to_string().contains("0.5 nits"), "{e}");
    let e = open(
        &ProcessSpec {
            output_width: 63,
            output_height: 64,
            ..base
        },
        PixelFormat::Bgra8,
    );
    assert!(e.to_string().contains("63"), "{e}");
    let e = open(&base, PixelFormat::I420P10);
    assert!(
        matches!(e, GpuError::Unsupported { .. }) && e.to_string().contains("i420p10"),
        "{e}"
    );
    // A frame of the wrong size for the stream.
    let mut stream: ConvertRing<()> = ConvertRing::new(&ctx, PixelFormat::Bgra8, &base, 2).unwrap();
    let e = stream
        .submit(
            (&CpuImage::new(PixelFormat::Bgra8, 32, 64, None).unwrap()).into(),
            (),
        )
        .unwrap_err();
    assert!(e.to_string().contains("32x64"), "{e}");
    assert_validation_silent(&ctx);
}
