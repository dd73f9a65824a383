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

use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ghoststream::gpu::ash::vk;
use ghoststream::gpu::{
    ConvertRing, ExportableTimeline, ImageHandoff, PictureConsumer, PlanarImage, RingFrame,
};
use ghoststream::processing::convert::YuvLayout;
use ghoststream::{DmaBufFrame, DmaBufKey, DmaBufLayout, Lease, PixelFormat, PointerOverlay};
use gpu_common::{assert_validation_silent, compare, pictures, read_back, Rng};

const WAIT_NS: u64 = 5_000_000_000;

/// One test at a time: each points the Vulkan loader at its driver through the environment
/// (`gpu_common::mesa25`), which no other thread may be reading meanwhile.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An image ring for `spec` writing BGRA frames into `images` picture images of `extent` for
/// `consumer`, `slots` frames in flight, and its hand-off; `None` (the skip printed) where the
/// device makes no such image.
fn image_ring(
    ctx: &Arc<ghoststream::gpu::GpuContext>,
    spec: &ghoststream::processing::pipeline::ProcessSpec,
    (images, slots): (usize, usize),
    extent: (u32, u32),
    consumer: PictureConsumer,
) -> Option<(ImageHandoff, ConvertRing<usize>)> {
    let format = spec.convert.output;
    let made: Result<Vec<_>, _> = (0..images)
        .map(|_| {
            let usage = vk::ImageUsageFlags::TRANSFER_SRC;
            PlanarImage::new(ctx, format, extent, usage, consumer).map(Arc::new)
        })
        .collect();
    let made = match made {
        Ok(m) => m,
        Err(e) => {
            gpu_common::skip(&format!(
                "{} makes no {format} picture image with storage plane views: {e}",
                ctx.device_info().name
            ));
            return None;
        }
    };
    let handoff = ImageHandoff {
        images: made,
        ready: Arc::new(ExportableTimeline::unshared(ctx, 0).unwrap()),
        released: Arc::new(ExportableTimeline::unshared(ctx, 0).unwrap()),
    };
    let ring =
        ConvertRing::with_image_handoff(ctx, PixelFormat::Bgra8, spec, handoff.clone(), slots)
            .unwrap();
    Some((handoff, ring))
}

/// The pass writing straight into picture images (what an encoder's input images are), more
/// images than frames in flight: every sample of each picture equals the buffer path's (the
/// read-back ring, held to the float64 reference in tests/gpu_process.rs), scaled, NV12 and
/// P010; the images are larger than the picture (an encoder's coded size), and their padding
/// repeats the picture's last column and row. A too-small image, a foreign format, an unknown
/// queue family and an odd size are typed errors.
#[test]
fn frames_written_straight_into_picture_images_match_the_buffer_path() {
    let _serial = one_at_a_time();
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
        let (spec, layout) = bicubic((iw, ih), (w, h), format);
        let expected = read_back(&ctx, &spec, &pictures, layout.size as usize);
        let (cw, ch) = (w + pad.0, h + pad.1);
        let Some((handoff, mut stream)) =
            image_ring(&ctx, &spec, (images, slots), (cw, ch), consumer)
        else {
            return;
        };
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
            let coded = (cw as usize, ch as usize);
            let laid = picture_of(&got, &layout, coded);
            let (padded, wrong_padding) = padding(&got, &layout, coded);
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
    .expect_err("an unknown queue family is refused");
    assert!(bad.to_string().contains("queue family 77"), "{bad}");
    let odd = PlanarImage::new(
        &ctx,
        PixelFormat::Nv12,
        (w + 1, h),
        vk::ImageUsageFlags::TRANSFER_SRC,
        consumer,
    )
    .expect_err("odd sizes are refused");
    assert!(odd.to_string().contains(&format!("{}x{h}", w + 1)), "{odd}");
    assert_validation_silent(&ctx);
}

/// BT.709 limited range, left-sited chroma, scaled bicubic from `input` to `output` in
/// `format`, and the output's layout.
fn bicubic(
    input: (u32, u32),
    output: (u32, u32),
    format: PixelFormat,
) -> (ghoststream::processing::pipeline::ProcessSpec, YuvLayout) {
    let (mut spec, _) = gpu_common::bt709_nv12(input.0, input.1);
    spec.output_width = output.0;
    spec.output_height = output.1;
    spec.filter = ghoststream::processing::scale::ScaleFilter::Bicubic;
    spec.convert.output = format;
    (spec, YuvLayout::new(format, output.0, output.1))
}

/// An anonymous memory file holding `bytes`: the stand-in dma-buf (tests/gpu_dmabuf.rs says
/// why Mesa 25's lavapipe imports it as one).
fn memfd(bytes: &[u8]) -> OwnedFd {
    extern "C" {
        fn memfd_create(name: *const std::ffi::c_char, flags: u32) -> i32;
    }
    // SAFETY: a NUL-terminated name and no flags; a negative result is checked.
    let raw = unsafe { memfd_create(c"ghoststream-test-dmabuf".as_ptr(), 0) };
    assert!(raw >= 0, "memfd_create failed");
    // SAFETY: a new fd this function owns.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(raw) });
    file.write_all(bytes).unwrap();
    file.into()
}

/// A lease that gives nothing back.
#[derive(Debug)]
struct Kept;
impl Lease for Kept {}

/// The two planes of a downloaded `coded`-size picture image of `layout`'s format (tightly
/// packed: luma, then interleaved chroma): (first byte, texels per row, rows, the picture's
/// texels per row, the picture's rows, bytes per texel).
fn image_planes(
    layout: &YuvLayout,
    coded: (usize, usize),
) -> [(usize, usize, usize, usize, usize, usize); 2] {
    let bps = layout.bytes_per_sample as usize;
    let (w, h) = (layout.width as usize, layout.height as usize);
    [
        (0, coded.0, coded.1, w, h, bps),
        (
            coded.0 * coded.1 * bps,
            coded.0 / 2,
            coded.1 / 2,
            w / 2,
            h / 2,
            2 * bps,
        ),
    ]
}

/// The picture of a downloaded `coded`-size picture image, laid out as the buffer path lays
/// it (its padding left out).
fn picture_of(got: &[u8], layout: &YuvLayout, coded: (usize, usize)) -> Vec<u8> {
    let mut laid = vec![0u8; layout.size as usize];
    let to = [
        (0, layout.luma_pitch),
        (layout.chroma_offset, layout.chroma_pitch),
    ];
    for ((start, tw, _, pw, ph, texel), (offset, pitch)) in
        image_planes(layout, coded).into_iter().zip(to)
    {
        for y in 0..ph {
            let to = offset as usize + y * pitch as usize;
            laid[to..to + pw * texel].copy_from_slice(&got[start + y * tw * texel..][..pw * texel]);
        }
    }
    laid
}

/// The padding of a downloaded `coded`-size picture image (its texels outside the picture):
/// how many texels, and how many of them do not repeat the picture's nearest edge texel.
fn padding(got: &[u8], layout: &YuvLayout, coded: (usize, usize)) -> (usize, usize) {
    let (mut padded, mut wrong) = (0usize, 0usize);
    for (start, tw, th, pw, ph, texel) in image_planes(layout, coded) {
        let at = |x: usize, y: usize| &got[start + (y * tw + x) * texel..][..texel];
        for y in 0..th {
            for x in (0..tw).filter(|&x| x >= pw || y >= ph) {
                padded += 1;
                wrong += usize::from(at(x, y) != at(x.min(pw - 1), y.min(ph - 1)));
            }
        }
    }
    (padded, wrong)
}

/// Samples of `with` unlike `without` (both in `layout`): [luma inside the pixel rectangle
/// `rect` ([x0, x1, y0, y1)), chroma whose 2x2 block meets it, any outside].
fn changed(layout: &YuvLayout, with: &[u8], without: &[u8], rect: [usize; 4]) -> [usize; 3] {
    let bps = layout.bytes_per_sample as usize;
    let mut n = [0; 3];
    for (pi, &(offset, pitch, samples, rows)) in gpu_common::planes(layout).iter().enumerate() {
        for y in 0..rows {
            for x in 0..samples {
                let i = offset + y * pitch + x * bps;
                if with[i..i + bps] != without[i..i + bps] {
                    let (px, py, side) = if pi == 0 {
                        (x, y, 1)
                    } else {
                        (x / 2 * 2, 2 * y, 2)
                    };
                    let meets =
                        px < rect[1] && px + side > rect[0] && py < rect[3] && py + side > rect[2];
                    n[if meets { pi.min(1) } else { 2 }] += 1;
                }
            }
        }
    }
    n
}

/// Where `p` lands in a `w` x `h` picture scaled from an `iw`-wide input (the same scale both
/// ways), as the pointer pass maps it: its output pixels and one around, in whole 2x2 blocks
/// ([x0, x1, y0, y1)), and the pixels under its opaque and under its transparent texels
/// (nearest; left out where a pixel's centre falls on a texel's edge, either side of which
/// a rounding may put it).
#[expect(clippy::type_complexity, reason = "a test helper's three answers")]
fn under_pointer(
    p: &PointerOverlay,
    iw: u32,
    (w, h): (u32, u32),
) -> ([usize; 4], Vec<(usize, usize)>, Vec<(usize, usize)>) {
    let (iw, w, h) = (i64::from(iw), i64::from(w), i64::from(h));
    let (left, top) = (i64::from(p.left), i64::from(p.top));
    let (pw, ph) = (i64::from(p.width), i64::from(p.height));
    let at = |v: i64, size: i64| usize::try_from(v.clamp(0, size)).unwrap();
    let lo = |v: i64, size| at((v * w).div_euclid(iw) - 1, size) / 2 * 2;
    let hi = |v: i64, size| at((v * w + iw - 1).div_euclid(iw) + 1, size).next_multiple_of(2);
    let rect = [lo(left, w), hi(left + pw, w), lo(top, h), hi(top + ph, h)];
    let (mut opaque, mut clear) = (Vec::new(), Vec::new());
    for y in 0..h {
        for x in 0..w {
            // The pixel's centre in texels, times 2w: (x + 1/2) iw / w - left.
            let (tx, ty) = (
                (2 * x + 1) * iw - 2 * w * left,
                (2 * y + 1) * iw - 2 * w * top,
            );
            let edge = |t: i64, side: i64| t <= 0 || t % (2 * w) == 0 || t / (2 * w) >= side;
            if edge(tx, pw) || edge(ty, ph) {
                continue;
            }
            let texel = at((ty / (2 * w)) * pw + tx / (2 * w), pw * ph);
            let pixel = (at(x, w), at(y, h));
            match p.rgba[texel * 4 + 3] {
                0 => clear.push(pixel),
                255 => opaque.push(pixel),
                _ => {}
            }
        }
    }
    (rect, opaque, clear)
}

/// DMA-BUF frames (a memfd on Mesa 25's lavapipe) carrying a pointer, written straight into
/// picture images larger than the picture, NV12 and P010, scaled: every sample equals the
/// read-back ring's within one code (rarely off). The pointer, partly off the frame's top and
/// right edges on one frame, well inside on another, absent on a third, changes the picture:
/// in both rings, against the same frame without it, luma under most of its opaque texels
/// and chroma in its rectangle, luma under its transparent texels not, nothing outside its
/// rectangle (one pixel around it, in whole 2x2 blocks).
#[test]
fn dma_buf_frames_with_a_pointer_drawn_into_picture_images_match_the_buffer_path() {
    let _serial = one_at_a_time();
    if std::env::var("GHOSTSTREAM_PICTURE_DEVICE").as_deref() == Ok("default") {
        eprintln!(
            "not run on the default device: the memfd stands in for a DMA-BUF on lavapipe only"
        );
        return;
    }
    let Some(ctx) = gpu_common::mesa25() else {
        return;
    };
    if !ctx.image_stores() {
        gpu_common::skip(&format!(
            "{} has no shaderStorageImageWriteWithoutFormat",
            ctx.device_info().name
        ));
        return;
    }
    let (iw, ih, w, h, coded) = (320u32, 192u32, 200u32, 120u32, (224u32, 136u32));
    assert_eq!(iw * h, ih * w, "the same scale both ways");
    let (slots, images) = (2usize, 3usize);
    let mut rng = Rng::new();
    let stride = u64::from(iw) * 4;
    let fds: Vec<Arc<OwnedFd>> = pictures(&mut rng, iw, ih, 2)
        .iter()
        .map(|p| Arc::new(memfd(p.data())))
        .collect();
    // A 24x20 picture: random colours, a fifth of its texels transparent, two fifths opaque.
    let (pw, ph) = (24u32, 20u32);
    let mut rgba = vec![0u8; (pw * ph * 4) as usize];
    rng.fill(&mut rgba);
    for (i, texel) in rgba.chunks_mut(4).enumerate() {
        texel[3] = [0, 255, 255, texel[3], texel[3]][i % 5];
    }
    let rgba: Arc<[u8]> = rgba.into();
    // Frame n: buffer n / 3 % 2; no pointer, one over the top and right edges, one inside.
    let places = [None, Some((310, -6)), Some((100, 70))]; // 10 columns of 24 in (iw = 320)
    let frames: Vec<DmaBufFrame> = (0..12)
        .map(|n| {
            let layout = DmaBufLayout {
                format: PixelFormat::Bgra8,
                width: iw,
                height: ih,
                modifier: 0,
                offset: 0,
                stride,
            };
            let index = (n / 3 % 2) as u64;
            let key = DmaBufKey {
                generation: 0,
                index,
            };
            let pointer = places[n % 3].map(|(left, top)| PointerOverlay {
                left,
                top,
                width: pw,
                height: ph,
                rgba: Arc::clone(&rgba),
            });
            DmaBufFrame::new(
                Arc::clone(&fds[index as usize]),
                layout,
                key,
                Arc::new(Kept),
            )
            .with_pointer(pointer)
        })
        .collect();
    let consumer = PictureConsumer {
        family: ctx.queue_family(),
        layout: vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
    };
    for format in [PixelFormat::Nv12, PixelFormat::P010] {
        let (spec, layout) = bicubic((iw, ih), (w, h), format);

        // (a) The read-back ring.
        let mut ring: ConvertRing<usize> =
            ConvertRing::new(&ctx, PixelFormat::Bgra8, &spec, slots).unwrap();
        let mut done = Vec::new();
        for (n, f) in frames.iter().enumerate() {
            done.extend(ring.submit(RingFrame::DmaBuf(f), n).unwrap().converted());
        }
        done.extend(ring.flush().unwrap());
        drop(ring);
        done.sort_by_key(|c| c.tag);
        let expected: Vec<Vec<u8>> = done
            .iter()
            .map(|c| c.image.data()[..layout.size as usize].to_vec())
            .collect();
        assert_eq!(expected.len(), frames.len());

        // (b) The image ring.
        let Some((handoff, mut ring)) = image_ring(&ctx, &spec, (images, slots), coded, consumer)
        else {
            return;
        };
        let (mut got, mut worst) = (Vec::new(), 0f64);
        for (n, f) in frames.iter().enumerate() {
            let handed = ring
                .submit(RingFrame::DmaBuf(f), n)
                .unwrap()
                .handed_off()
                .expect("an image hand-off ring hands frames off");
            handoff.ready.wait(handed.value, WAIT_NS).unwrap();
            let image = handoff.images[handed.target].download().unwrap();
            let laid = picture_of(&image, &layout, (coded.0 as usize, coded.1 as usize));
            handoff.released.signal(handed.value).unwrap();
            let _ = ring.take_finished().unwrap();
            let label = format!("{format} dma-buf frame {n} (pointer {:?})", places[n % 3]);
            let (differing, total) = compare(&layout, &laid, &expected[n], 1, &label);
            worst = worst.max(differing as f64 / total as f64);
            got.push(laid);
        }
        ring.flush().unwrap();
        drop(ring);
        eprintln!(
            "{format} dma-buf frames with a pointer: at most {:.4}% of samples one code off the buffer pass",
            worst * 100.0
        );
        assert!(
            worst < 0.001,
            "{format}: {:.4}% of samples one code off",
            worst * 100.0
        );

        // The pointer drawn, in both rings: against the same frame without it (n - n % 3).
        let bps = layout.bytes_per_sample as usize;
        for n in (0..frames.len()).filter(|n| n % 3 != 0) {
            let pointer = frames[n].pointer().expect("a pointer");
            let (rect, opaque, clear) = under_pointer(pointer, iw, (w, h));
            assert!(
                opaque.len() >= 10 && !clear.is_empty(),
                "{pointer:?}: {rect:?}"
            );
            for (ring, pictures) in [("image", &got), ("read-back", &expected)] {
                let (with, without) = (&pictures[n], &pictures[n - n % 3]);
                let [luma, chroma, outside] = changed(&layout, with, without, rect);
                let differs = |&(x, y): &(usize, usize)| {
                    let i = y * layout.luma_pitch as usize + x * bps;
                    with[i..i + bps] != without[i..i + bps]
                };
                let (under_opaque, under_clear) = (
                    opaque.iter().filter(|p| differs(p)).count(),
                    clear.iter().filter(|p| differs(p)).count(),
                );
                let what = format!(
                    "{format} {ring} ring, frame {n}, pointer at ({}, {}): {luma} luma and \
                     {chroma} chroma samples changed in its rectangle {rect:?}, {outside} outside; \
                     luma under {under_opaque} of {} pixels under opaque texels, {under_clear} of \
                     {} under transparent ones",
                    pointer.left,
                    pointer.top,
                    opaque.len(),
                    clear.len()
                );
                if n < 3 {
                    eprintln!("{what}");
                }
                assert!(outside == 0 && under_clear == 0, "{what}");
                assert!(under_opaque * 2 >= opaque.len() && chroma > 0, "{what}");
            }
        }
    }
    assert_validation_silent(&ctx);
}
