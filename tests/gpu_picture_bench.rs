//! `ConvertRing::benchmark_pass` on the two ways a Vulkan Video encoder takes the pass's
//! frames (what `ghoststream bench --gpu-passes` reports): the pass writing straight into
//! picture images, and the pass writing hand-off buffers, with their copy into a picture image
//! timed apart. On Mesa 25's lavapipe (fetched by .ci/get-mesa25-lavapipe.sh into a private
//! directory; Mesa 22.3's lavapipe points every plane view of a multi-planar image at its
//! first plane) with Khronos' validation layer; with GHOSTSTREAM_PICTURE_DEVICE=default on the
//! default device, as tests/gpu_picture.rs. Lavapipe's figures say nothing about a GPU: this
//! checks that the benchmark runs, answers positive medians, keeps the hand-off's protocol
//! (the ring hands frames over where the benchmark left it) and records nothing the
//! validation layer objects to.

mod gpu_common;

use std::sync::Arc;

use ghoststream::gpu::ash::vk;
use ghoststream::gpu::{
    ConvertRing, ExportableBuffer, ExportableTimeline, GpuContext, GpuHandoff, Handoff,
    ImageHandoff, PictureConsumer, PlanarImage, RingFrame,
};
use ghoststream::processing::convert::YuvLayout;
use ghoststream::PixelFormat;
use gpu_common::{assert_validation_silent, compare, pictures, read_back, Rng};

const WAIT_NS: u64 = 5_000_000_000;

/// Two unshared timelines at 0: `ready` and `released`.
fn timelines(ctx: &Arc<GpuContext>) -> [Arc<ExportableTimeline>; 2] {
    [0, 0].map(|v| Arc::new(ExportableTimeline::unshared(ctx, v).unwrap()))
}

/// Each kind of ring, NV12 and P010, more slots than hand-off targets (so that the warm-up
/// frames wait for targets the benchmark releases): the pass into picture images answers its
/// GPU and CPU medians and no copy; the buffer path (reading the frame through an image, as
/// the image ring does, and as the session builds it) answers its copy's too, each positive,
/// with the bytes each moves. After the benchmark each ring hands the next frame over (value
/// slots + 1, its target reused) with the picture the read-back ring writes (within one code:
/// the passes are compiled apart). A read-back ring answers no copy.
#[test]
fn the_pass_into_picture_images_and_the_buffer_path_with_its_copy_are_timed() {
    // GHOSTSTREAM_PICTURE_DEVICE=default: the default device instead (the lent NVIDIA GPU).
    let ctx = if std::env::var("GHOSTSTREAM_PICTURE_DEVICE").as_deref() == Ok("default") {
        gpu_common::context()
    } else {
        gpu_common::mesa25()
    };
    let Some(ctx) = ctx else {
        return;
    };
    if !ctx.image_stores() {
        gpu_common::skip(&format!(
            "{} has no shaderStorageImageWriteWithoutFormat",
            ctx.device_info().name
        ));
        return;
    }
    // Rows of 256 bytes or more a multiple of it: a downloaded image's tightly packed planes
    // are laid out as the buffer's pitched ones.
    let (w, h) = (256u32, 144u32);
    let (slots, targets, iterations) = (4usize, 2usize, 6usize);
    let mut rng = Rng::new();
    let pictures = pictures(&mut rng, w, h, 1);
    let consumer = PictureConsumer {
        family: ctx.queue_family(),
        layout: vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
    };
    for format in [PixelFormat::Nv12, PixelFormat::P010] {
        let (mut spec, _) = gpu_common::bt709_nv12(w, h);
        spec.convert.output = format;
        let layout = YuvLayout::new(format, w, h);
        let picture = u64::from(
            (w * h + 2 * layout.chroma_width * layout.chroma_height) * layout.bytes_per_sample,
        );
        let expected = &read_back(&ctx, &spec, &pictures, layout.size as usize)[0];
        let images = || {
            let [ready, released] = timelines(&ctx);
            let usage = vk::ImageUsageFlags::TRANSFER_SRC;
            Handoff::Images(ImageHandoff {
                images: (0..targets)
                    .map(|_| {
                        Arc::new(PlanarImage::new(&ctx, format, (w, h), usage, consumer).unwrap())
                    })
                    .collect(),
                ready,
                released,
            })
        };
        let buffers = || {
            let [ready, released] = timelines(&ctx);
            let size = u64::from(layout.size);
            Handoff::Buffers(GpuHandoff {
                buffers: (0..targets)
                    .map(|_| Arc::new(ExportableBuffer::unshared(&ctx, size).unwrap()))
                    .collect(),
                ready,
                released,
            })
        };
        for (what, handoff, image_uploads) in [
            ("picture images", images(), true),
            ("buffers, image input", buffers(), true),
            ("buffers, as the session builds the ring", buffers(), false),
        ] {
            let label = format!("{format} into {what}");
            let mut ring = if image_uploads {
                ConvertRing::<usize>::for_handoff_image_uploads(
                    &ctx,
                    PixelFormat::Bgra8,
                    &spec,
                    handoff.clone(),
                    slots,
                )
            } else {
                ConvertRing::for_handoff(&ctx, PixelFormat::Bgra8, &spec, handoff.clone(), slots)
            }
            .unwrap();
            let t = ring
                .benchmark_pass(iterations)
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            eprintln!("{label}: {t:?} (lavapipe: the figures mean nothing)");
            assert!(t.gpu_ns > 0.0 && t.record_submit_ns > 0.0, "{label}: {t:?}");
            assert_eq!(t.bytes, u64::from(w * h * 4) + picture, "{label}");
            match &handoff {
                Handoff::Images(_) => assert_eq!(t.copy, None, "{label}"),
                Handoff::Buffers(_) => {
                    let c = t.copy.unwrap_or_else(|| panic!("{label}: no copy timed"));
                    assert!(c.gpu_ns > 0.0 && c.record_submit_ns > 0.0, "{label}: {c:?}");
                    assert_eq!(c.bytes, 2 * picture, "{label}");
                }
            }

            // The hand-off goes on: frame `slots` into target slots mod targets, whose
            // previous frame the benchmark released.
            let f = ring
                .submit(RingFrame::Cpu(&pictures[0]), 0)
                .unwrap()
                .handed_off()
                .expect("a hand-off ring hands frames off");
            assert_eq!((f.target, f.value), (slots % targets, slots as u64 + 1));
            let (got, released) = match &handoff {
                Handoff::Images(i) => {
                    i.ready.wait(f.value, WAIT_NS).unwrap();
                    (i.images[f.target].download().unwrap(), &i.released)
                }
                Handoff::Buffers(b) => {
                    b.ready.wait(f.value, WAIT_NS).unwrap();
                    let len = u64::from(layout.size);
                    (b.buffers[f.target].download(len).unwrap(), &b.released)
                }
            };
            assert_eq!(got.len(), expected.len(), "{label}");
            let (differing, total) = compare(&layout, &got, expected, 1, &label);
            eprintln!("{label}: {differing} of {total} samples one code off the read-back ring");
            released.signal(f.value).unwrap();
            ring.flush().unwrap();
        }

        let mut ring = ConvertRing::<usize>::new(&ctx, PixelFormat::Bgra8, &spec, slots).unwrap();
        let t = ring.benchmark_pass(iterations).unwrap();
        assert!(
            t.gpu_ns > 0.0 && t.copy.is_none(),
            "{format} read-back: {t:?}"
        );
    }
    assert_validation_silent(&ctx);
}
