//! The processing pass writing straight into picture images, as it writes an encoder's input
//! images (issue 23's "no hand-off at all"), on Mesa 25's lavapipe (fetched by
//! .ci/get-mesa25-lavapipe.sh into a private directory; this binary alone loads it: Mesa
//! 22.3's lavapipe points every plane view of a multi-planar image at its first plane) with
//! Khronos' validation layer. The same ring hands each frame to the next image in rotation
//! and releases it to the image's reader; the reader here is the test, which waits on
//! `ready`, reads the image back and signals `released`. With GHOSTSTREAM_PICTURE_DEVICE=default
//! it runs on the default device (benches/h200/run.sh does so on the lent NVIDIA GPU, which
//! has no video-encode queue: the images there have no video usage, the path up to the queue).

mod gpu_common;

use std::sync::Arc;

use ghoststream::gpu::ash::vk;
use ghoststream::gpu::{
    ConvertRing, ExportableTimeline, ImageHandoff, PictureConsumer, PlanarImage, RingFrame,
};
use ghoststream::processing::convert::YuvLayout;
use ghoststream::PixelFormat;
use gpu_common::{assert_validation_silent, compare, pictures, read_back, Rng};

const WAIT_NS: u64 = 5_000_000_000;

/// The pass writing straight into picture images (what an encoder's input images are), more
/// images than frames in flight: every sample of each picture equals the buffer path's (the
/// read-back ring, held to the float64 reference in tests/gpu_process.rs), scaled, NV12 and
/// P010; the images are larger than the picture (an encoder's coded size), and their padding
/// repeats the picture's last column and row. A too-small image, a foreign format and a frame
/// carrying a pointer are typed errors.
#[test]
fn frames_written_straight_into_picture_images_match_the_buffer_path() {
    use ghoststream::processing::scale::ScaleFilter;
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
    let (iw, ih, w, h, pad) = (320u32, 192u32, 200u32, 120u32, (24u32, 16u32));
    let (frames, slots, images) = (12usize, 2usize, 3usize);
    let mut rng = Rng::new();
    let pictures = pictures(&mut rng, iw, ih, 5);
    let consumer = PictureConsumer {
        family: ctx.queue_family(),
        layout: vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
    };
    for format in [PixelFormat::Nv12, PixelFormat::P010] {
        let (mut spec, _) = gpu_common::bt709_nv12(iw, ih);
        spec.output_width = w;
        spec.output_height = h;
        spec.filter = ScaleFilter::Bicubic;
        spec.convert.output = format;
        let layout = YuvLayout::new(format, w, h);
        let expected = read_back(&ctx, &spec, &pictures, layout.size as usize);
        let (cw, ch) = (w + pad.0, h + pad.1);
        let made: Result<Vec<_>, _> = (0..images)
            .map(|_| {
                PlanarImage::new(
                    &ctx,
                    format,
                    (cw, ch),
                    vk::ImageUsageFlags::TRANSFER_SRC,
                    consumer,
                )
                .map(Arc::new)
            })
            .collect();
        let made = match made {
            Ok(m) => m,
            Err(e) => {
                gpu_common::skip(&format!(
                    "{} makes no {format} picture image with storage plane views: {e}",
                    ctx.device_info().name
                ));
                return;
            }
        };
        let handoff = ImageHandoff {
            images: made,
            ready: Arc::new(ExportableTimeline::unshared(&ctx, 0).unwrap()),
            released: Arc::new(ExportableTimeline::unshared(&ctx, 0).unwrap()),
        };
        let mut stream: ConvertRing<usize> = ConvertRing::with_image_handoff(
            &ctx,
            PixelFormat::Bgra8,
            &spec,
            handoff.clone(),
            slots,
        )
        .unwrap();
        let bps = layout.bytes_per_sample as usize;
        let mut worst = 0f64;
        for n in 0..frames {
            let k = n % pictures.len();
            let f = stream
                .submit(RingFrame::Cpu(&pictures[k]), n)
                .unwrap()
                .handed_off()
                .expect("an image hand-off ring hands frames off");
            assert_eq!((f.target, f.value), (n % images, n as u64 + 1));
            handoff.ready.wait(f.value, WAIT_NS).unwrap();
            let got = handoff.images[f.target].download().unwrap();
            // Lay the image's picture out as the buffer path does, and check its padding.
            let mut laid = vec![0u8; layout.size as usize];
            let planes = [
                (
                    0usize,
                    layout.luma_pitch as usize,
                    cw as usize,
                    ch as usize,
                    w as usize,
                    h as usize,
                    bps,
                ),
                (
                    cw as usize * ch as usize * bps,
                    layout.chroma_pitch as usize,
                    cw as usize / 2,
                    ch as usize / 2,
                    w as usize / 2,
                    h as usize / 2,
                    2 * bps,
                ),
            ];
            let (mut padded, mut wrong_padding) = (0usize, 0usize);
            for (pi, &(start, pitch, tw, th, pw, ph, texel)) in planes.iter().enumerate() {
                let at = |x: usize, y: usize| start + (y * tw + x) * texel;
                let offset = if pi == 0 {
                    0
                } else {
                    layout.chroma_offset as usize
                };
                for y in 0..th {
                    for x in 0..tw {
                        let texel_bytes = &got[at(x, y)..at(x, y) + texel];
                        if x < pw && y < ph {
                            let to = offset + y * pitch + x * texel;
                            laid[to..to + texel].copy_from_slice(texel_bytes);
                        } else {
                            let edge = &got[at(x.min(pw - 1), y.min(ph - 1))..][..texel];
                            padded += 1;
                            wrong_padding += usize::from(texel_bytes != edge);
                        }
                    }
                }
            }
            // The image variant is compiled apart from the buffer one: a value that rounds on
            // a half may land one code apart (seen at 10 bits); never more.
            let (differing, total) = compare(
                &layout,
                &laid,
                &expected[k],
                1,
                &format!("{format} frame {n}"),
            );
            worst = worst.max(differing as f64 / total as f64);
            assert!(padded > 0);
            assert_eq!(
                wrong_padding, 0,
                "{format} frame {n}: {wrong_padding} of {padded} padding texels do not repeat the picture's edge"
            );
            handoff.released.signal(f.value).unwrap();
            let _ = stream.take_finished().unwrap();
        }
        stream.flush().unwrap();
        drop(stream);
        eprintln!(
            "{format}: at most {:.4}% of samples one code off the buffer pass",
            worst * 100.0
        );
        assert!(
            worst < 0.001,
            "{format}: {:.4}% of samples one code off",
            worst * 100.0
        );

        // Refusals, each naming the value.
        let small = PlanarImage::new(
            &ctx,
            format,
            (w - 2, h),
            vk::ImageUsageFlags::TRANSFER_SRC,
            consumer,
        )
        .unwrap();
        let other = if format == PixelFormat::Nv12 {
            PixelFormat::P010
        } else {
            PixelFormat::Nv12
        };
        let foreign = PlanarImage::new(
            &ctx,
            other,
            (w, h),
            vk::ImageUsageFlags::TRANSFER_SRC,
            consumer,
        )
        .unwrap();
        for (image, named) in [
            (small, format!("{format} {}x{h}", w - 2)),
            (foreign, format!("{other} {w}x{h}")),
        ] {
            let bad = ImageHandoff {
                images: vec![Arc::new(image)],
                ..handoff.clone()
            };
            let e =
                ConvertRing::<usize>::with_image_handoff(&ctx, PixelFormat::Bgra8, &spec, bad, 2)
                    .err()
                    .expect("refused");
            assert!(e.to_string().contains(&named), "{e}");
        }
    }
    let bad = PlanarImage::new(
        &ctx,
        PixelFormat::Nv12,
        (w, h),
        vk::ImageUsageFlags::TRANSFER_SRC,
        PictureConsumer {
            family: 77,
            layout: vk::ImageLayout::GENERAL,
        },
    )
    .err()
    .expect("an unknown queue family is refused");
    assert!(bad.to_string().contains("queue family 77"), "{bad}");
    let odd = PlanarImage::new(
        &ctx,
        PixelFormat::Nv12,
        (w + 1, h),
        vk::ImageUsageFlags::TRANSFER_SRC,
        consumer,
    )
    .err()
    .expect("odd sizes are refused");
    assert!(odd.to_string().contains(&format!("{}x{h}", w + 1)), "{odd}");
    assert_validation_silent(&ctx);
}
