//! GPU frames from an embedding application's own Vulkan device, through the stream the
//! session uses (no encoder: this runs where FFmpeg does not, such as the H200): random
//! pictures written into the application's images, read in place after their timeline point,
//! converted (plain pass) or processed (fused pass), and held to the float64 reference; every
//! release point signalled; the application's validation layer silent.

mod gpu_common;
mod host_vulkan;

use ghoststream::gpu::ash::vk;
use ghoststream::gpu::{ConvertRing, GpuContext, GpuFrame, RingFrame, TimelinePoint};
use ghoststream::processing::convert::{normalized_rgb, ChromaSiting, ConvertSpec, YuvLayout};
use ghoststream::processing::pipeline::{reference_process, ProcessSpec};
use ghoststream::processing::scale::{Fit, ScaleFilter};
use ghoststream::{ColorMatrix, ColorRange, PixelFormat};
use gpu_common::{compare, near_boundary_summary, Reference, Rng};
use host_vulkan::host_app;

#[test]
fn frames_in_the_applications_images_match_the_reference() {
    let Some(app) = host_app(&[]) else {
        return;
    };
    // SAFETY: the application's handles are valid and outlive the context (dropped first).
    let ctx = unsafe { GpuContext::from_host(app.host_vulkan(None)) }.unwrap();
    let lock = ctx.queue_lock();
    let mut rng = Rng::new();
    let convert = |output| ConvertSpec {
        matrix: ColorMatrix::Bt709,
        range: ColorRange::Limited,
        siting: ChromaSiting::Left,
        output,
    };
    let cases = [
        (
            PixelFormat::Bgra8,
            vk::Format::B8G8R8A8_UNORM,
            ProcessSpec::convert_only(102, 66, convert(PixelFormat::Nv12)),
        ),
        (
            PixelFormat::Rgb10a2,
            vk::Format::A2B10G10R10_UNORM_PACK32,
            ProcessSpec {
                input_width: 101,
                input_height: 67,
                output_width: 64,
                output_height: 36,
                filter: ScaleFilter::Lanczos3,
                fit: Fit::Letterbox,
                tonemap: None,
                sharpen: 0.5,
                convert: convert(PixelFormat::P010),
            },
        ),
    ];
    let ready = app.timeline(0);
    let released = app.timeline(0);
    let mut value = 0;
    for (format, vk_format, spec) in cases {
        let (w, h) = (spec.input_width, spec.input_height);
        let mut stream: ConvertRing<Vec<u8>> =
            ConvertRing::new(&ctx, format, &spec, 2).expect("stream");
        stream.poison_outputs(0xA5);
        let layout = YuvLayout::new(spec.convert.output, spec.output_width, spec.output_height);
        let mut results = Vec::new();
        for _ in 0..4 {
            value += 1;
            let mut pixels = vec![0u8; format.frame_bytes(w, h)];
            rng.fill(&mut pixels);
            let image = app.image(vk_format, w, h);
            app.upload(
                image,
                (w, h),
                &pixels,
                TimelinePoint {
                    semaphore: ready,
                    value,
                },
                &lock,
            );
            // SAFETY: a live sampled image of the context's device, w x h, same queue family,
            // not written again after its upload; `ready` and `released` are timeline
            // semaphores of that device, alive to the end of the test, signalled upwards.
            let frame = unsafe {
                GpuFrame::new(image, format, w, h, vk::ImageLayout::TRANSFER_DST_OPTIMAL)
                    .unwrap()
                    .wait_for(TimelinePoint {
                        semaphore: ready,
                        value,
                    })
                    .release_to(TimelinePoint {
                        semaphore: released,
                        value,
                    })
            };
            let frame = RingFrame::Gpu {
                frame: &frame,
                wait_timeout_ns: 1_000_000_000,
            };
            results.extend(stream.submit(frame, pixels).unwrap().converted());
        }
        results.extend(stream.flush().unwrap());
        assert_eq!(results.len(), 4);
        for c in results {
            let label = format!(
                "{format} to {} from the application's image",
                spec.convert.output
            );
            if spec.is_convert_only() {
                let near = Reference::of(&c.tag, format, &spec.convert, &layout)
                    .check(c.image.data(), &label);
                eprintln!("{label}: {}", near_boundary_summary(&near));
                continue;
            }
            // Resampling and sharpening in float32 (the fused pass) add error of their own
            // (as in tests/gpu_process.rs): a few more samples one code off, never more.
            let mut expected = vec![0u8; layout.size as usize];
            reference_process(
                &normalized_rgb(&c.tag, format).unwrap(),
                &spec,
                100.0,
                &layout,
                &mut expected,
            );
            let (differing, total) = compare(&layout, c.image.data(), &expected, 1, &label);
            eprintln!("{label}: {differing} of {total} samples one code off");
            assert!(
                differing * 200 <= total.max(200),
                "{label}: {differing} of {total} differ"
            );
        }
    }
    assert_eq!(app.value(released), value, "every frame was released");
    drop(ctx);
    app.assert_validation_silent();
}
