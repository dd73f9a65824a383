//! GPU time of BGRA8 to NV12 at 1080p, 1440p and 4K (and to P010 at 4K) against a buffer copy of the same bytes,
//! on resources in rotation, plus the CPU cost to record and submit one frame; then each
//! operation (4:4:4 conversion by the plain pass; tone mapping, sharpening, 2x downscaling by the fused pass) at
//! each size, the fused 4K BGRA -> 1080p NV12 with tone mapping, and 4K NV12/P010 input scaled
//! to 1080p, as a fraction of the same run's copy bandwidth at that size.
//!
//! At 1080p and 4K NV12 the buffer input is also timed with every other layout of its pass
//! (`BufferPass`: rows "buffer: <layout>"), and every layout with centre-sited chroma.
//!
//! Run: `cargo bench --bench gpu_convert` (any Vulkan 1.3 device; lavapipe gives CPU figures).
//! Device choice: GHOSTSTREAM_GPU=<name substring>. Figures for docs/PERFORMANCE.md come from
//! the H200 through `benches/h200/run.sh`.

use ghoststream::gpu::{
    BufferPass, ConvertBenchmark, ConvertRing, DeviceSelector, FusedStages, GpuContext, GpuError,
    GpuOptions, RgbToYuv420,
};
use ghoststream::processing::convert::{ChromaSiting, ConvertSpec};
use ghoststream::processing::pipeline::ProcessSpec;
use ghoststream::processing::scale::{Fit, ScaleFilter};
use ghoststream::processing::tonemap::{PeakSource, ToneMapSpec};
use ghoststream::{ColorMatrix, ColorRange, PixelFormat};

fn main() {
    let device = std::env::var("GHOSTSTREAM_GPU")
        .map(DeviceSelector::Name)
        .unwrap_or_default();
    let iterations: usize = std::env::var("GHOSTSTREAM_BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let ctx = match GpuContext::new(&GpuOptions {
        device,
        validation: false,
    }) {
        Ok(c) => c,
        Err(e) => {
            println!("SKIPPED: no Vulkan device: {e}");
            return;
        }
    };
    let info = ctx.device_info().clone();
    println!(
        "device: {} ({}), Vulkan {}.{}.{}, driver {}",
        info.name,
        info.kind,
        info.api_version.0,
        info.api_version.1,
        info.api_version.2,
        info.driver
    );
    let mut conv = RgbToYuv420::new(&ctx).expect("pipeline");
    let spec = ConvertSpec {
        matrix: ColorMatrix::Bt709,
        range: ColorRange::Limited,
        siting: ChromaSiting::Left,
        output: PixelFormat::Nv12,
    };
    println!("| size | input | bytes moved | convert | vkCmdCopyBuffer | shader copy | convert GB/s | vkCmdCopyBuffer GB/s | shader copy GB/s | convert / vkCmdCopyBuffer | convert / shader copy | CPU record+submit |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let p010 = ConvertSpec {
        output: PixelFormat::P010,
        ..spec
    };
    // Copy bandwidth (vkCmdCopyBuffer, shader copy) per frame height, for the second table.
    let mut copies: Vec<(u32, f64, f64)> = Vec::new();
    for (w, h, spec, buffer_rows) in [
        (1920, 1080, spec, None),
        (1920, 1080, spec, Some(16)),
        (2560, 1440, spec, None),
        (2560, 1440, spec, Some(16)),
        (3840, 2160, spec, None),
        (3840, 2160, spec, Some(16)),
        (3840, 2160, p010, None),
        (3840, 2160, p010, Some(16)),
    ] {
        // The frame read from a sampled image (a capture's or an application's), then from a
        // storage buffer (a CPU upload's).
        conv.use_buffer_input(buffer_rows);
        conv.use_buffer_pass(BufferPass::Tiles);
        let input = if buffer_rows.is_some() {
            "buffer"
        } else {
            "image"
        };
        // Four frames in rotation: 4 x 33 MB at 4K is well past a 50 MB L2.
        let result = conv.benchmark(w, h, &spec, 4, iterations);
        if let Ok(b) = &result {
            copies.push((h, b.copy_gbps(), b.shader_copy_gbps()));
        }
        row(w, h, &spec, input, &result);
        // Then, beside the buffer row at 1080p and 4K NV12, every other layout of the buffer
        // pass (BufferPass), and every layout with centre-sited chroma (a 2x2 box, as the plain
        // CUDA kernel filters: no column to the left), so the fastest can be picked from one
        // run.
        if buffer_rows.is_some() && spec.output == PixelFormat::Nv12 && h != 1440 {
            for (siting, label) in [
                (ChromaSiting::Left, ""),
                (ChromaSiting::Centre, ", centre siting"),
            ] {
                for pass in BufferPass::ALL {
                    if pass == BufferPass::Tiles && siting == ChromaSiting::Left {
                        continue; // the row above
                    }
                    conv.use_buffer_pass(pass);
                    let spec = ConvertSpec { siting, ..spec };
                    let result = conv.benchmark(w, h, &spec, 4, iterations);
                    row(
                        w,
                        h,
                        &spec,
                        &format!("buffer: {}{label}", pass.name()),
                        &result,
                    );
                }
            }
            conv.use_buffer_pass(BufferPass::Tiles);
        }
    }
    fused_table(&ctx, spec, &copies, iterations);
}

/// One row of the first table.
fn row(
    w: u32,
    h: u32,
    spec: &ConvertSpec,
    input: &str,
    result: &Result<ConvertBenchmark, GpuError>,
) {
    match result {
        Ok(b) => println!(
            "| {w}x{h} {} | {input} | {:.1} MB | {:.1} us | {:.1} us | {:.1} us | {:.0} | {:.0} | {:.0} | {:.1}% | {:.1}% | {:.1} us |",
            spec.output,
            b.bytes as f64 / 1e6,
            b.convert_ns / 1e3,
            b.copy_ns / 1e3,
            b.shader_copy_ns / 1e3,
            b.convert_gbps(),
            b.copy_gbps(),
            b.shader_copy_gbps(),
            100.0 * b.fraction_of_copy(),
            100.0 * b.fraction_of_shader_copy(),
            b.record_submit_ns / 1e3
        ),
        Err(e) => println!("| {w}x{h} | {input} | error: {e} |"),
    }
}

/// The fused pass, operation by operation, then all at once.
fn fused_table(
    ctx: &std::sync::Arc<GpuContext>,
    nv12: ConvertSpec,
    copies: &[(u32, f64, f64)],
    iterations: usize,
) {
    println!();
    println!("| operation | input | output | bytes moved | GPU time | GB/s | / vkCmdCopyBuffer | / shader copy | CPU record+submit |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let tone = |peak| ToneMapSpec {
        peak,
        ..ToneMapSpec::hdr10_to_sdr(1000.0)
    };
    let mut rows: Vec<(String, PixelFormat, ProcessSpec)> = Vec::new();
    for (w, h) in [(1920, 1080), (2560, 1440), (3840, 2160)] {
        let same = ProcessSpec::convert_only(w, h, nv12);
        // The plain conversion pass through the same harness: calibrates this table against
        // the first.
        rows.push((
            "convert to nv12 (plain pass)".into(),
            PixelFormat::Bgra8,
            same,
        ));
        rows.push((
            "convert to i444 (plain pass)".into(),
            PixelFormat::Bgra8,
            ProcessSpec::convert_only(
                w,
                h,
                ConvertSpec {
                    output: PixelFormat::I444,
                    ..nv12
                },
            ),
        ));
        rows.push((
            "tone map PQ (metadata peak)".into(),
            PixelFormat::Rgb10a2,
            ProcessSpec {
                tonemap: Some(tone(PeakSource::Metadata(1000.0))),
                ..same
            },
        ));
        rows.push((
            "sharpen 0.5".into(),
            PixelFormat::Bgra8,
            ProcessSpec {
                sharpen: 0.5,
                ..same
            },
        ));
        for filter in [
            ScaleFilter::Area,
            ScaleFilter::Bilinear,
            ScaleFilter::Lanczos3,
        ] {
            rows.push((
                format!("scale 2x down, {filter}"),
                PixelFormat::Bgra8,
                ProcessSpec {
                    output_width: w / 2,
                    output_height: h / 2,
                    filter,
                    fit: Fit::Stretch,
                    ..same
                },
            ));
        }
    }
    for filter in [
        ScaleFilter::Area,
        ScaleFilter::Bilinear,
        ScaleFilter::Bicubic,
        ScaleFilter::Lanczos3,
    ] {
        for sharpen in [0.0, 0.5] {
            rows.push((
                format!("fused: scale ({filter}) + tone map (measured peak) + sharpen {sharpen}"),
                PixelFormat::Bgra8,
                ProcessSpec {
                    input_width: 3840,
                    input_height: 2160,
                    output_width: 1920,
                    output_height: 1080,
                    filter,
                    fit: Fit::Letterbox,
                    tonemap: Some(tone(PeakSource::Measured {
                        first_frame: 1000.0,
                    })),
                    sharpen,
                    convert: nv12,
                },
            ));
        }
    }
    // YUV input (a Y4M file or a YUV capture): 4K NV12 and P010 into 1080p NV12.
    let yuv_scale = to_1080p(nv12);
    rows.push((
        "fused: scale (bilinear), yuv input".into(),
        PixelFormat::Nv12,
        yuv_scale,
    ));
    rows.push((
        "fused: scale (bilinear) + tone map (metadata peak), yuv input".into(),
        PixelFormat::P010,
        ProcessSpec {
            tonemap: Some(tone(PeakSource::Metadata(1000.0))),
            ..yuv_scale
        },
    ));
    // Packed 8-bit RGB through the fused pass twice: read from the upload buffer (the buffer
    // pass, what CPU frames take) and sampled from an image (the tile pass, what application
    // and DMA-BUF frames take). A plan the buffer pass does not run (sharpening) takes the
    // image in both rows.
    let mut routed = Vec::new();
    for (name, input, spec) in rows {
        if input == PixelFormat::Bgra8 && !spec.is_convert_only() {
            routed.push((format!("{name}, buffer input"), input, spec, false));
            routed.push((format!("{name}, image input"), input, spec, true));
        } else {
            routed.push((name, input, spec, false));
        }
    }
    for (name, input, spec, image) in routed {
        let ring = if image {
            ConvertRing::<()>::image_uploads(ctx, input, &spec, 4)
        } else {
            ConvertRing::<()>::new(ctx, input, &spec, 4)
        };
        let result = ring.and_then(|mut s| s.benchmark_pass(iterations));
        let (copy, shader) = copies
            .iter()
            .find(|c| c.0 == spec.input_height)
            .map_or((f64::NAN, f64::NAN), |c| (c.1, c.2));
        match result {
            Ok(t) => println!(
                "| {name} | {}x{} {input} | {}x{} {} | {:.1} MB | {:.1} us | {:.0} | {:.1}% | {:.1}% | {:.1} us |",
                spec.input_width,
                spec.input_height,
                spec.output_width,
                spec.output_height,
                spec.convert.output,
                t.bytes as f64 / 1e6,
                t.gpu_ns / 1e3,
                t.gbps(),
                100.0 * t.gbps() / copy,
                100.0 * t.gbps() / shader,
                t.record_submit_ns / 1e3
            ),
            Err(e) => println!("| {name} | error: {e} |"),
        }
    }
    fused_stages(ctx, nv12, &tone, iterations);
}

/// 4K scaled to 1080p (bilinear, letterboxed) into `nv12`, nothing else.
fn to_1080p(nv12: ConvertSpec) -> ProcessSpec {
    ProcessSpec {
        input_width: 3840,
        input_height: 2160,
        output_width: 1920,
        output_height: 1080,
        filter: ScaleFilter::Bilinear,
        fit: Fit::Letterbox,
        tonemap: None,
        sharpen: 0.0,
        convert: nv12,
    }
}

/// The fused 4K BGRA8 -> 1080p NV12 pass cut after each stage (`FusedStages`): what reading
/// and filtering the source across (H), filtering down and tone mapping (V) and the rest
/// (sharpening, conversion, stores) each cost.
fn fused_stages(
    ctx: &std::sync::Arc<GpuContext>,
    nv12: ConvertSpec,
    tone: &dyn Fn(PeakSource) -> ToneMapSpec,
    iterations: usize,
) {
    println!();
    println!("The fused pass stage by stage, 4K BGRA8 -> 1080p NV12 (GPU time, us; each column cut after the stage named):");
    println!("| plan | H (read the image, filter across) | H + V (filter down, tone map) | all (convert, store) |");
    println!("|---|---|---|---|");
    let base = to_1080p(nv12);
    let measured = || {
        Some(tone(PeakSource::Measured {
            first_frame: 1000.0,
        }))
    };
    let plans = [
        ("bilinear", base),
        (
            "bilinear + tone map (measured peak)",
            ProcessSpec {
                tonemap: measured(),
                ..base
            },
        ),
        (
            "lanczos-3 + tone map (measured peak)",
            ProcessSpec {
                filter: ScaleFilter::Lanczos3,
                tonemap: measured(),
                ..base
            },
        ),
    ];
    for (name, spec) in plans {
        let cells: Vec<String> = [
            FusedStages::Across,
            FusedStages::AcrossAndDown,
            FusedStages::All,
        ]
        .into_iter()
        .map(|stages| {
            ConvertRing::<()>::with_fused_stages(ctx, PixelFormat::Bgra8, &spec, 4, stages)
                .and_then(|mut s| s.benchmark_pass(iterations))
                .map_or_else(
                    |e| format!("error: {e}"),
                    |t| format!("{:.1}", t.gpu_ns / 1e3),
                )
        })
        .collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
}
