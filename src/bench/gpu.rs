//! The GPU pass section: the conversion pass (BGRA8 -> NV12) against `vkCmdCopyBuffer` and a
//! compute-shader copy of the same bytes in the same run, then the fused pass's I444 output and
//! its scale + tone map, each beside the copy time of its own byte count (the harness of
//! `src/gpu/bench.rs` and [`ConvertRing::benchmark_pass`]); then the two ways a Vulkan Video
//! encoder takes the pass's NV12 and P010 frames: the pass writing straight into its picture
//! image, and the pass writing a buffer that the encoder copies into the image (the copy
//! also on a row of its own).

use std::sync::Arc;

use super::{BenchConfig, GpuPassResult, GpuPasses, Progress};
use crate::color::{ColorMatrix, ColorRange};
use crate::config::{DeviceSelector, GpuOptions};
use crate::format::PixelFormat;
use crate::gpu::ash::vk;
use crate::gpu::{
    ConvertBenchmark, ConvertRing, ExportableBuffer, ExportableTimeline, GpuContext, GpuHandoff,
    Handoff, ImageHandoff, PassTiming, PictureConsumer, PlanarImage, RgbToYuv420,
};
use crate::processing::convert::{ChromaSiting, ConvertSpec, YuvLayout};
use crate::processing::pipeline::ProcessSpec;
use crate::processing::scale::{Fit, ScaleFilter};
use crate::processing::tonemap::{PeakSource, ToneMapSpec};

/// The Vulkan context, made on first use (`GHOSTSTREAM_GPU=<name part>` picks a device).
#[derive(Default)]
pub(super) struct Lazy(Option<Result<Arc<GpuContext>, String>>);

impl Lazy {
    /// The context, or why there is none.
    pub(super) fn get(&mut self) -> Result<Arc<GpuContext>, String> {
        self.0
            .get_or_insert_with(|| {
                let device = std::env::var("GHOSTSTREAM_GPU")
                    .map(DeviceSelector::Name)
                    .unwrap_or_default();
                GpuContext::new(&GpuOptions {
                    device,
                    validation: false,
                })
                .map_err(|e| e.to_string())
            })
            .clone()
    }
}

const NV12: ConvertSpec = ConvertSpec {
    matrix: ColorMatrix::Bt709,
    range: ColorRange::Limited,
    siting: ChromaSiting::Left,
    output: PixelFormat::Nv12,
};

/// The conversion pass at `width` x `height` against copies of the same bytes, reading its
/// input from a sampled image or (`buffer_input`) a storage buffer.
pub(super) fn convert_vs_copy(
    ctx: &Arc<GpuContext>,
    width: u32,
    height: u32,
    iterations: usize,
    buffer_input: bool,
) -> Result<ConvertBenchmark, String> {
    let mut conv = RgbToYuv420::new(ctx).map_err(|e| e.to_string())?;
    conv.use_buffer_input(buffer_input.then_some(16));
    // Four frames in rotation: 4 x 33 MB at 4K is well past a 50 MB L2.
    conv.benchmark(width, height, &NV12, 4, iterations)
        .map_err(|e| e.to_string())
}

fn us(ns: f64) -> f64 {
    ns / 1e3
}

/// Frames in flight in the benchmarked rings, and hand-off targets (one a slot).
const DEPTH: usize = 4;

/// The conversion of BGRA8 frames as `spec` says (NV12 or P010), timed by
/// [`ConvertRing::benchmark_pass`] in a ring handing its frames over as a Vulkan Video encoder
/// takes them: straight into picture images of the output's size (`images`; what the encoder
/// offers where the device lets a pass store into them), else into device-local buffers,
/// whose copy into a picture image is timed too. Each ring runs the pass it runs in a session:
/// the fused pass (the one that stores into picture images) or the plain conversion pass.
/// Both read the frame through an image (the route capture and application frames take on
/// both), so that they differ only in where, and so how, the pass writes; the images have no
/// video usage (no encode session here), and are released in `GENERAL` to the ring's own
/// queue family instead of the encode family.
fn into_encoder(
    ctx: &Arc<GpuContext>,
    spec: &ProcessSpec,
    images: bool,
    iterations: usize,
) -> Result<PassTiming, String> {
    let s = |e: crate::gpu::GpuError| e.to_string();
    if images && !ctx.image_stores() {
        return Err(format!(
            "{} has no shaderStorageImageWriteWithoutFormat: the pass cannot store into a picture image's planes (an encoder takes buffers there)",
            ctx.device_info().name
        ));
    }
    let (format, w, h) = (spec.convert.output, spec.output_width, spec.output_height);
    let ready = Arc::new(ExportableTimeline::unshared(ctx, 0).map_err(s)?);
    let released = Arc::new(ExportableTimeline::unshared(ctx, 0).map_err(s)?);
    let handoff = if images {
        let consumer = PictureConsumer {
            family: ctx.queue_family(),
            layout: vk::ImageLayout::GENERAL,
        };
        let usage = vk::ImageUsageFlags::empty();
        Handoff::Images(ImageHandoff {
            images: (0..DEPTH)
                .map(|_| PlanarImage::new(ctx, format, (w, h), usage, consumer).map(Arc::new))
                .collect::<Result<_, _>>()
                .map_err(s)?,
            ready,
            released,
        })
    } else {
        let size = u64::from(YuvLayout::new(format, w, h).size);
        Handoff::Buffers(GpuHandoff {
            buffers: (0..DEPTH)
                .map(|_| ExportableBuffer::unshared(ctx, size).map(Arc::new))
                .collect::<Result<_, _>>()
                .map_err(s)?,
            ready,
            released,
        })
    };
    ConvertRing::<()>::for_handoff_image_uploads(ctx, PixelFormat::Bgra8, spec, handoff, DEPTH)
        .and_then(|mut ring| ring.benchmark_pass(iterations))
        .map_err(s)
}

/// Times every pass; a pass that fails is listed with its error.
pub(super) fn passes(
    config: &BenchConfig,
    gpu: &mut Lazy,
    progress: &mut dyn FnMut(&Progress),
) -> GpuPasses {
    let iterations = config.gpu_iterations;
    let ctx = match gpu.get() {
        Ok(c) => c,
        Err(e) => {
            return GpuPasses {
                device: format!("none: {e}"),
                iterations,
                passes: Vec::new(),
                failed: Vec::new(),
            }
        }
    };
    let info = ctx.device_info().clone();
    let device = format!(
        "{} ({}), Vulkan {}.{}.{}, driver {}",
        info.name,
        info.kind,
        info.api_version.0,
        info.api_version.1,
        info.api_version.2,
        info.driver.trim()
    );
    let mut passes = Vec::new();
    let mut failed = Vec::new();
    for &(w, h) in &config.gpu_sizes {
        // Copy bandwidths (bytes per ns) at this size, for the other passes' floors.
        let mut copy_bw = None;
        for buffer_input in [false, true] {
            let name = if buffer_input {
                "convert BGRA8 -> NV12 (conversion pass, buffer input)"
            } else {
                "convert BGRA8 -> NV12 (conversion pass)"
            }
            .to_string();
            progress(&Progress::GpuPass {
                name: format!("{name} {w}x{h}"),
            });
            match convert_vs_copy(&ctx, w, h, iterations, buffer_input) {
                Ok(b) => {
                    copy_bw = copy_bw.or(Some((b.copy_gbps(), b.shader_copy_gbps())));
                    passes.push(GpuPassResult {
                        name,
                        input: format!("{w}x{h} bgra8"),
                        output: format!("{w}x{h} nv12"),
                        bytes: b.bytes,
                        gpu_us: us(b.convert_ns),
                        copy_us: Some(us(b.copy_ns)),
                        shader_copy_us: Some(us(b.shader_copy_ns)),
                        record_submit_us: us(b.record_submit_ns),
                    });
                }
                Err(e) => failed.push((format!("{name} {w}x{h}"), e)),
            }
        }
        let tone = ToneMapSpec {
            peak: PeakSource::Measured {
                first_frame: 1000.0,
            },
            ..ToneMapSpec::hdr10_to_sdr(1000.0)
        };
        let (ow, oh) = ((w / 2) & !1, (h / 2) & !1);
        let same = ProcessSpec::convert_only(w, h, NV12);
        let mut ring_passes: Vec<(String, ProcessSpec, bool)> = vec![(
            "convert BGRA8 -> I444 (conversion pass)".into(),
            ProcessSpec::convert_only(
                w,
                h,
                ConvertSpec {
                    output: PixelFormat::I444,
                    ..NV12
                },
            ),
            false,
        )];
        // The fused pass reading the frame from its upload buffer (what CPU frames take) and
        // from an image (what capture and application frames take).
        // Area at 2:1 is the plain CUDA peer's 2x2 box: the like-for-like row.
        for filter in [
            ScaleFilter::Area,
            ScaleFilter::Bilinear,
            ScaleFilter::Lanczos3,
        ] {
            for (route, image) in [("buffer", false), ("image", true)] {
                ring_passes.push((
                    format!(
                        "fused: scale 2x down ({filter}) + BT.2390 tone map -> NV12, {route} input"
                    ),
                    ProcessSpec {
                        output_width: ow,
                        output_height: oh,
                        filter,
                        fit: Fit::Letterbox,
                        tonemap: Some(tone),
                        sharpen: 0.0,
                        ..same
                    },
                    image,
                ));
            }
        }
        for (name, spec, image) in ring_passes {
            progress(&Progress::GpuPass {
                name: format!("{name} {w}x{h}"),
            });
            let ring = if image {
                ConvertRing::<()>::image_uploads(&ctx, PixelFormat::Bgra8, &spec, 4)
            } else {
                ConvertRing::<()>::new(&ctx, PixelFormat::Bgra8, &spec, 4)
            };
            let result = ring.and_then(|mut ring| ring.benchmark_pass(iterations));
            match result {
                Ok(t) => passes.push(GpuPassResult {
                    name,
                    input: format!("{w}x{h} bgra8"),
                    output: format!(
                        "{}x{} {}",
                        spec.output_width, spec.output_height, spec.convert.output
                    ),
                    bytes: t.bytes,
                    gpu_us: us(t.gpu_ns),
                    copy_us: copy_bw.map(|(c, _)| us(t.bytes as f64 / c)),
                    shader_copy_us: copy_bw.map(|(_, s)| us(t.bytes as f64 / s)),
                    record_submit_us: us(t.record_submit_ns),
                }),
                Err(e) => failed.push((format!("{name} {w}x{h}"), e.to_string())),
            }
        }
        // What a Vulkan Video encoder takes. Against the job's own bytes (the frame read once,
        // the picture written once) both ways: the buffer path's extra traffic is its cost.
        let floors = |bytes: u64| match copy_bw {
            Some((c, s)) => (Some(us(bytes as f64 / c)), Some(us(bytes as f64 / s))),
            None => (None, None),
        };
        for (format, label) in [(PixelFormat::Nv12, "NV12"), (PixelFormat::P010, "P010")] {
            let spec = ProcessSpec::convert_only(
                w,
                h,
                ConvertSpec {
                    output: format,
                    ..NV12
                },
            );
            let input = format!("{w}x{h} bgra8");
            let output = format!("{w}x{h} {format}");
            for images in [true, false] {
                let into = if images {
                    "into the encoder's picture image (direct)"
                } else {
                    "into a buffer + copy into the picture image"
                };
                let name = format!("convert BGRA8 -> {label} {into}, image input");
                progress(&Progress::GpuPass {
                    name: format!("{name} {w}x{h}"),
                });
                let t = match into_encoder(&ctx, &spec, images, iterations) {
                    Ok(t) => t,
                    Err(e) => {
                        failed.push((format!("{name} {w}x{h}"), e));
                        continue;
                    }
                };
                let (copy_us, shader_copy_us) = floors(t.bytes);
                passes.push(GpuPassResult {
                    name,
                    input: input.clone(),
                    output: output.clone(),
                    bytes: t.bytes,
                    gpu_us: us(t.gpu_ns + t.copy.map_or(0.0, |c| c.gpu_ns)),
                    copy_us,
                    shader_copy_us,
                    record_submit_us: us(t.record_submit_ns),
                });
                if let Some(c) = t.copy {
                    let (copy_us, shader_copy_us) = floors(c.bytes);
                    passes.push(GpuPassResult {
                        name: format!(
                            "copy {label} buffer -> picture image ({}), the row above's copy",
                            "vkCmdCopyBufferToImage"
                        ),
                        input: format!("{w}x{h} {format} buffer"),
                        output: output.clone(),
                        bytes: c.bytes,
                        gpu_us: us(c.gpu_ns),
                        copy_us,
                        shader_copy_us,
                        record_submit_us: us(c.record_submit_ns),
                    });
                }
            }
        }
    }
    GpuPasses {
        device,
        iterations,
        passes,
        failed,
    }
}
