//! GhostStream's Vulkan Video encoder fed straight into its input images
//! (`VideoEncoder::direct_inputs` and `submit_written`), on the test driver: the driver offers
//! storage on encode input images (with `MUTABLE_FORMAT | EXTENDED_USAGE`) and stores into
//! images of any format, so the encoder's input images are `PlanarImage`s. For each picture n,
//! image n mod N is written on the compute queue exactly as the processing ring does it: the
//! submission waits on the GPU for `released` >= n + 1 - N, moves the image out of UNDEFINED,
//! writes it, and releases it GENERAL → VIDEO_ENCODE_SRC_KHR from the compute family to the
//! encode family, signalling `ready` = n + 1. The write itself is a `vkCmdCopyBufferToImage`
//! per plane from a staging buffer, standing in for the processing pass's dispatch, which the
//! test driver cannot run (it executes no shaders): UNDEFINED → TRANSFER_DST, the copies,
//! TRANSFER_DST → GENERAL, then the ring's release. The encoder then takes the picture with no
//! copy of its own: its encode waits for `ready`, acquires the image and signals `released`.
//!
//! H.264 and H.265 run 300 pictures each with live rate changes (CBR → VBR → constant QP) and a
//! forced IDR; then both run 302 pictures with two B pictures between P pictures (`--tune hq`'s
//! plan), where `released` grows only over pictures whose encodes were all submitted. Each
//! stream decodes with FFmpeg to exactly the pictures written; under the 1.4 validation layer
//! (as `make test` runs it) the layer stays silent; the driver's log shows each picture's
//! release on the compute family and its acquire on the encode family, the encodes reading
//! images the encode family owns, and no copy into an input image but the stand-in pass's.
//! A 10-bit H.265 session (P010 pictures) decodes to exactly the 10 bits written too.
//! Misuse (an image index outside the inputs, a picture larger than the coded size, a value
//! that does not grow) is a typed error. Last, the backend the session opens
//! (`open_backend` on this context) offers these images as its hand-off (`Handoff::Images`), and
//! 40 pictures written into them go through `encode_handed_off` and decode exactly too.
//!
//! One test in this binary: the environment names the driver before any Vulkan call.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use ash::vk;
use common::engine::picture;
use common::ffmpeg::{decode_and_compare_as, push_yuv420p10};
use common::skip;
use ghoststream::gpu::video::encoder::{
    EncodedPicture, EncoderOptions, VideoEncoder, VideoRate, WrittenPicture,
};
use ghoststream::gpu::video::h264::H264Parameters;
use ghoststream::gpu::video::h265::H265Parameters;
use ghoststream::gpu::video::session::SessionParameters;
use ghoststream::gpu::video::{PictureKind, VideoStream};
use ghoststream::gpu::{ExportableBuffer, ExportableTimeline, GpuContext, GpuError};
use ghoststream::{ColorDescription, RateControl, Rational, Tuning};
use ghoststream_video_icd::{COMPUTE_FAMILY, ENCODE_FAMILY};

/// How long the stand-in pass waits for one of its own submissions.
const TIMEOUT_NS: u64 = 5_000_000_000;

/// One image's slot of the stand-in pass: its command buffer, its fence (the last submission
/// that used them) and its staging buffer.
struct Slot {
    cmd: vk::CommandBuffer,
    fence: vk::Fence,
    pending: bool,
    staging: ExportableBuffer,
}

/// The processing ring's side, with a transfer in place of the pass's dispatch (see the module
/// docs): it writes picture n into image n mod N on the context's compute queue.
struct Pass {
    device: ash::Device,
    queue: vk::Queue,
    lock: Arc<Mutex<()>>,
    pool: vk::CommandPool,
    slots: Vec<Slot>,
    images: Vec<vk::Image>,
}

impl Pass {
    /// A pass writing `images` (the encoder's inputs) of `(w, h)` NV12 pictures (P010 with
    /// two-byte samples: `sample` bytes) on `ctx`.
    fn new(
        ctx: &Arc<GpuContext>,
        images: Vec<vk::Image>,
        (w, h): (usize, usize),
        sample: usize,
    ) -> Self {
        let (instance, _, device, queue, family) = ctx.raw_handles();
        assert_eq!(family, COMPUTE_FAMILY);
        // SAFETY: loading the system's Vulkan loader (the context already did).
        let entry = unsafe { ash::Entry::load() }.expect("the Vulkan loader");
        // SAFETY: the context's live instance and device, loaded through the same loader.
        let (device, pool) = unsafe {
            let instance = ash::Instance::load(entry.static_fn(), instance);
            let device = ash::Device::load(instance.fp_v1_0(), device);
            let info = vk::CommandPoolCreateInfo::default()
                .queue_family_index(family)
                .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER);
            let pool = device.create_command_pool(&info, None).unwrap();
            (device, pool)
        };
        let count = u32::try_from(images.len()).unwrap();
        // SAFETY: a pool of this device.
        let cmds = unsafe {
            device.allocate_command_buffers(
                &vk::CommandBufferAllocateInfo::default()
                    .command_pool(pool)
                    .level(vk::CommandBufferLevel::PRIMARY)
                    .command_buffer_count(count),
            )
        }
        .unwrap();
        let slots = cmds
            .into_iter()
            .map(|cmd| Slot {
                cmd,
                // SAFETY: a plain create on the live device; destroyed in Drop.
                fence: unsafe { device.create_fence(&vk::FenceCreateInfo::default(), None) }
                    .unwrap(),
                pending: false,
                staging: ExportableBuffer::unshared(ctx, (w * h * 3 / 2 * sample) as u64).unwrap(),
            })
            .collect();
        Self {
            device,
            queue,
            lock: ctx.queue_lock(),
            pool,
            slots,
            images,
        }
    }

    /// Writes picture `n` (tight NV12 of `(w, h)`, or P010 where `sample` is 2) into image
    /// n mod N as the ring does (see the module docs), `ready` set to n + 1 when it is written
    /// and released.
    fn write(
        &mut self,
        n: usize,
        (p, sample): (&[u8], u64),
        (w, h): (u32, u32),
        ready: &ExportableTimeline,
        released: &ExportableTimeline,
    ) {
        let count = self.slots.len();
        let slot = &mut self.slots[n % count];
        let d = &self.device;
        if slot.pending {
            // SAFETY: the fence belongs to this device and was submitted.
            unsafe {
                d.wait_for_fences(&[slot.fence], true, TIMEOUT_NS).unwrap();
                d.reset_fences(&[slot.fence]).unwrap();
            }
            slot.pending = false;
        }
        slot.staging.upload(p).unwrap();
        let image = self.images[n % count];
        let range = vk::ImageSubresourceRange::default()
            .aspect_mask(vk::ImageAspectFlags::COLOR)
            .level_count(1)
            .layer_count(1);
        let barrier = |old, new, src_access, dst_access, families: (u32, u32)| {
            vk::ImageMemoryBarrier::default()
                .src_access_mask(src_access)
                .dst_access_mask(dst_access)
                .old_layout(old)
                .new_layout(new)
                .src_queue_family_index(families.0)
                .dst_queue_family_index(families.1)
                .image(image)
                .subresource_range(range)
        };
        let none = (vk::QUEUE_FAMILY_IGNORED, vk::QUEUE_FAMILY_IGNORED);
        let plane = |aspect, offset: u64, texels: u32, (pw, ph): (u32, u32)| {
            vk::BufferImageCopy::default()
                .buffer_offset(offset)
                .buffer_row_length(texels)
                .image_subresource(vk::ImageSubresourceLayers {
                    aspect_mask: aspect,
                    mip_level: 0,
                    base_array_layer: 0,
                    layer_count: 1,
                })
                .image_extent(vk::Extent3D {
                    width: pw,
                    height: ph,
                    depth: 1,
                })
        };
        let regions = [
            plane(vk::ImageAspectFlags::PLANE_0, 0, w, (w, h)),
            plane(
                vk::ImageAspectFlags::PLANE_1,
                u64::from(w) * u64::from(h) * sample,
                w / 2,
                (w / 2, h / 2),
            ),
        ];
        // SAFETY: the command buffer is not in flight (its fence was waited for); every
        // handle lives until the fence.
        unsafe {
            d.begin_command_buffer(
                slot.cmd,
                &vk::CommandBufferBeginInfo::default()
                    .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT),
            )
            .unwrap();
            // The ring's UNDEFINED → GENERAL, here through the transfer layout for the copy.
            d.cmd_pipeline_barrier(
                slot.cmd,
                vk::PipelineStageFlags::TOP_OF_PIPE,
                vk::PipelineStageFlags::TRANSFER,
                vk::DependencyFlags::empty(),
                &[],
                &[],
                &[barrier(
                    vk::ImageLayout::UNDEFINED,
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                    vk::AccessFlags::empty(),
                    vk::AccessFlags::TRANSFER_WRITE,
                    none,
                )],
            );
            d.cmd_copy_buffer_to_image(
                slot.cmd,
                slot.staging.buffer(),
                image,
                vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                &regions,
            );
            d.cmd_pipeline_barrier(
                slot.cmd,
                vk::PipelineStageFlags::TRANSFER,
                vk::PipelineStageFlags::COMPUTE_SHADER,
                vk::DependencyFlags::empty(),
                &[],
                &[],
                &[barrier(
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                    vk::ImageLayout::GENERAL,
                    vk::AccessFlags::TRANSFER_WRITE,
                    vk::AccessFlags::SHADER_WRITE,
                    none,
                )],
            );
            // The ring's release, exactly: GENERAL → the consumer's layout, compute → encode.
            d.cmd_pipeline_barrier(
                slot.cmd,
                vk::PipelineStageFlags::COMPUTE_SHADER,
                vk::PipelineStageFlags::BOTTOM_OF_PIPE,
                vk::DependencyFlags::empty(),
                &[],
                &[],
                &[barrier(
                    vk::ImageLayout::GENERAL,
                    vk::ImageLayout::VIDEO_ENCODE_SRC_KHR,
                    vk::AccessFlags::SHADER_WRITE,
                    vk::AccessFlags::empty(),
                    (COMPUTE_FAMILY, ENCODE_FAMILY),
                )],
            );
            d.end_command_buffer(slot.cmd).unwrap();
        }
        let value = n as u64 + 1;
        let free_from = value.saturating_sub(count as u64);
        let (waits, wait_values): (Vec<_>, Vec<_>) = if free_from > 0 {
            (vec![released.point(0).semaphore], vec![free_from])
        } else {
            (Vec::new(), Vec::new())
        };
        let stages = [vk::PipelineStageFlags::TOP_OF_PIPE];
        let signals = [ready.point(0).semaphore];
        let signal_values = [value];
        let mut timeline = vk::TimelineSemaphoreSubmitInfo::default()
            .wait_semaphore_values(&wait_values)
            .signal_semaphore_values(&signal_values);
        let cmds = [slot.cmd];
        let submit = vk::SubmitInfo::default()
            .wait_semaphores(&waits)
            .wait_dst_stage_mask(&stages[..waits.len()])
            .command_buffers(&cmds)
            .signal_semaphores(&signals)
            .push_next(&mut timeline);
        let _guard = self.lock.lock().unwrap();
        // SAFETY: the command buffer is recorded; the queue is used under the context's lock.
        unsafe { d.queue_submit(self.queue, &[submit], slot.fence) }.unwrap();
        slot.pending = true;
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        // SAFETY: each pending submission is waited for before its objects are destroyed.
        unsafe {
            for s in &self.slots {
                if s.pending {
                    let _ = self.device.wait_for_fences(&[s.fence], true, TIMEOUT_NS);
                }
                self.device.destroy_fence(s.fence, None);
            }
            self.device.destroy_command_pool(self.pool, None);
        }
    }
}

/// The plan's live rate changes before picture `n`: VBR from 100, constant QP 30 from 200.
fn change_rate(encoder: &mut VideoEncoder, n: usize, rate: VideoRate) {
    let control = match n {
        100 => RateControl::Vbr {
            target: 2_000_000,
            max: 3_000_000,
        },
        200 => RateControl::Cqp { qp: 30 },
        _ => return,
    };
    encoder
        .set_rate(VideoRate { control, ..rate })
        .expect("the device takes the change");
}

/// One session of `frames` pictures written straight into the encoder's input images, with
/// `b_frames` B pictures and a forced IDR at `idr_at`: coded, released, decoded and compared.
#[expect(
    clippy::too_many_arguments,
    reason = "a test session's parameters, named at the call"
)]
fn direct_session(
    ctx: &Arc<GpuContext>,
    params: SessionParameters<'_>,
    name: &str,
    rate: VideoRate,
    options: EncoderOptions,
    (frames, idr_at): (usize, usize),
    dir: &tempfile::TempDir,
    validated: bool,
) -> usize {
    let (w, h) = (200usize, 120usize);
    let size = (u32::try_from(w).unwrap(), u32::try_from(h).unwrap());
    let mut encoder =
        VideoEncoder::with_options(ctx, params, rate, options).expect("the encoder opens");
    assert_eq!(encoder.coded_size(), (208, 128));
    let inputs = encoder
        .direct_inputs()
        .expect("the driver offers storage on encode input images: they are planar");
    let count = inputs.len();
    assert_eq!(
        count,
        options.b_frames as usize + 2,
        "{name}: the B pictures waiting, their P picture and one more"
    );
    for image in &inputs {
        assert_eq!(image.format(), ghoststream::PixelFormat::Nv12);
        assert_eq!(
            (image.consumer().family, image.consumer().layout),
            (ENCODE_FAMILY, vk::ImageLayout::VIDEO_ENCODE_SRC_KHR),
            "{name}: released to the encode family for encoding"
        );
    }
    let handles = encoder.input_images();
    let mut pass = Pass::new(ctx, handles, (w, h), 1);
    let ready = ExportableTimeline::unshared(ctx, 0).unwrap();
    let released = ExportableTimeline::unshared(ctx, 0).unwrap();
    let b = u64::from(options.b_frames);

    let mut coded: Vec<EncodedPicture> = Vec::new();
    let mut written = Vec::new();
    for n in 0..frames {
        change_rate(&mut encoder, n, rate);
        let value = n as u64 + 1;
        let p = picture(n, w, h);
        pass.write(n, (&p, 1), size, &ready, &released);
        encoder
            .submit_written(
                WrittenPicture {
                    image: n % count,
                    ready: &ready,
                    released: &released,
                    value,
                    width: size.0,
                    height: size.1,
                },
                n == idr_at,
                i64::try_from(n).unwrap(),
            )
            .expect("the written picture is taken");
        written.push(p);
        // Released: every picture whose encode (and every earlier one's) is submitted; only
        // pictures held for a later P picture wait.
        let now = released.value().unwrap();
        if b == 0 {
            assert_eq!(
                now, value,
                "{name}: picture {n} is released by its own encode"
            );
        } else {
            assert!(
                now + b >= value && now <= value,
                "{name}: picture {n}: released {now}"
            );
        }
        while let Some(p) = encoder.receive(false).expect("a picture reads back") {
            coded.push(p);
        }
    }
    encoder.flush().expect("the held pictures are coded");
    while let Some(p) = encoder.receive(true).expect("a picture reads back") {
        coded.push(p);
    }
    assert_eq!(encoder.pending(), 0);
    assert_eq!(
        released.value().unwrap(),
        frames as u64,
        "{name}: every picture released after the flush"
    );
    assert!(coded.iter().all(|p| !p.data.is_empty()));

    let tags: Vec<i64> = coded.iter().map(|p| p.tag).collect();
    let kinds: String = coded
        .iter()
        .map(|p| match p.kind {
            PictureKind::Idr => 'I',
            PictureKind::P => 'P',
            PictureKind::B => 'B',
        })
        .collect();
    assert_eq!(tags.len(), frames, "{name}: every picture comes back once");
    if b == 0 {
        let want: Vec<i64> = (0..frames).map(|n| i64::try_from(n).unwrap()).collect();
        assert_eq!(tags, want, "{name}: coded in display order");
        let idrs: Vec<usize> = kinds.match_indices('I').map(|(i, _)| i).collect();
        assert_eq!(
            idrs,
            [0, idr_at],
            "{name}: IDR at the start and where forced"
        );
    } else {
        assert_eq!(
            (&tags[..7], &kinds[..7]),
            (&[0, 3, 1, 2, 6, 4, 5][..], "IPBBPBB"),
            "{name}: each P picture before the two B pictures it follows in display order"
        );
        assert_eq!(kinds.matches('I').count(), 2, "{name}: {kinds}");
    }

    let mut stream = Vec::new();
    for p in &coded {
        if p.idr {
            stream.extend_from_slice(encoder.parameter_sets());
        }
        stream.extend_from_slice(&p.data);
    }
    drop(pass);
    drop(encoder);
    drop(inputs);
    if validated {
        let messages = ctx.take_validation_messages();
        assert!(
            messages.is_empty(),
            "validation layer 1.4 ({name}, {} B pictures):\n{}",
            options.b_frames,
            messages.join("\n")
        );
    }
    let label = format!("{name}-direct-b{}", options.b_frames);
    let compared = decode_exactly(dir, name, &label, &stream, &written, (w, h));
    eprintln!(
        "{label}: {frames} pictures, {compared} decoded bytes equal to those written (validation layer 1.4 on: {validated}, silent)"
    );
    frames
}

/// The Vulkan Video backend opened as a session opens it, on this context: it offers its input
/// images as the hand-off, and 40 H.264 pictures written into them (the stand-in pass) and
/// given to `encode_handed_off` decode to exactly what was written. The pictures.
fn backend_session(ctx: &Arc<GpuContext>, dir: &tempfile::TempDir) -> usize {
    use ghoststream::encode::{open_backend, Feed};
    use ghoststream::gpu::{HandedOff, Handoff};
    use ghoststream::{BackendChoice, BackendKind, Codec, SessionConfig};
    let (w, h, frames) = (200usize, 120usize, 40usize);
    let mut config = SessionConfig::new(Codec::H264, 200, 120, Rational::new(30, 1));
    config.backend = BackendChoice::Only(BackendKind::VulkanVideo);
    let (mut opened, _) =
        open_backend(&config, Feed::Gpu(ctx)).expect("the Vulkan backend opens on the context");
    let Some(Handoff::Images(handoff)) = opened.input.handoff.clone() else {
        panic!("the backend offers its own input images where the pass can write them");
    };
    let handles = handoff.images.iter().map(|i| i.image()).collect();
    let count = handoff.images.len();
    let mut pass = Pass::new(ctx, handles, (w, h), 1);
    let backend = &mut opened.backend;
    let (mut written, mut stream) = (Vec::new(), Vec::new());
    for n in 0..frames {
        let p = picture(n, w, h);
        pass.write(n, (&p, 1), (200, 120), &handoff.ready, &handoff.released);
        let frame = HandedOff {
            target: n % count,
            value: n as u64 + 1,
        };
        backend
            .encode_handed_off(frame, i64::try_from(n).unwrap())
            .expect("the backend takes the picture written into its image");
        written.push(p);
        while let Some(unit) = backend.receive().unwrap() {
            stream.extend_from_slice(&unit.data);
        }
    }
    backend.finish().unwrap();
    while let Some(unit) = backend.receive().unwrap() {
        stream.extend_from_slice(&unit.data);
    }
    let e = backend
        .encode_handed_off(
            HandedOff {
                target: count,
                value: frames as u64 + 1,
            },
            0,
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("hand-off image {count} of {count}")),
        "{e}"
    );
    drop(pass);
    drop(opened);
    let compared = decode_exactly(
        dir,
        "h264",
        "h264-backend-images",
        &stream,
        &written,
        (w, h),
    );
    eprintln!("backend hand-off through its {count} input images: {frames} pictures, {compared} decoded bytes equal to those written");
    frames
}

/// A 10-bit H.265 (Main 10) session of 60 P010 pictures written straight into the encoder's
/// input images (planes written through R16 and R16G16 views in the ring), a forced IDR at
/// picture 30: decoded as yuv420p10le and compared with the 10 bits written. The pictures.
fn p010_session(ctx: &Arc<GpuContext>, stream: VideoStream, dir: &tempfile::TempDir) -> usize {
    let (w, h) = (200usize, 120usize);
    let size = (u32::try_from(w).unwrap(), u32::try_from(h).unwrap());
    let params = H265Parameters::new(&VideoStream {
        bit_depth: ghoststream::BitDepth::Ten,
        ..stream
    })
    .unwrap();
    let rate = VideoRate {
        control: RateControl::Cqp { qp: 30 },
        frame_rate: Rational::new(30, 1),
        buffer_ms: 1000,
        quality_level: 0,
    };
    let mut encoder = VideoEncoder::new(ctx, SessionParameters::H265(&params), rate)
        .expect("the Main 10 encoder opens");
    let inputs = encoder.direct_inputs().expect("planar P010 input images");
    assert!(inputs
        .iter()
        .all(|i| i.format() == ghoststream::PixelFormat::P010));
    let count = inputs.len();
    let mut pass = Pass::new(ctx, encoder.input_images(), (w, h), 2);
    let ready = ExportableTimeline::unshared(ctx, 0).unwrap();
    let released = ExportableTimeline::unshared(ctx, 0).unwrap();
    let frames = 60;
    let mut expected = Vec::new();
    let mut stream = Vec::new();
    for n in 0..frames {
        let (luma, chroma) = common::ffmpeg::pattern10(w, h, n);
        push_yuv420p10(&mut expected, (&luma, &chroma), w, size.0, size.1);
        let p = [luma, chroma].concat();
        pass.write(n, (&p, 2), size, &ready, &released);
        let value = n as u64 + 1;
        let coded = encoder
            .submit_written(
                WrittenPicture {
                    image: n % count,
                    ready: &ready,
                    released: &released,
                    value,
                    width: size.0,
                    height: size.1,
                },
                n == 30,
                i64::try_from(n).unwrap(),
            )
            .and_then(|()| encoder.receive(true))
            .expect("the written picture encodes")
            .expect("and comes back");
        assert_eq!(released.value().unwrap(), value);
        assert_eq!(coded.idr, n == 0 || n == 30, "picture {n}");
        if coded.idr {
            stream.extend_from_slice(encoder.parameter_sets());
        }
        stream.extend_from_slice(&coded.data);
    }
    drop(pass);
    drop(encoder);
    drop(inputs);
    decode_and_compare_as(
        dir.path(),
        "hevc",
        &stream,
        size,
        frames,
        &expected,
        "yuv420p10le",
    );
    eprintln!(
        "hevc-direct-p010: {frames} pictures, {} decoded bytes equal to the 10 bits written",
        expected.len()
    );
    frames
}

/// Decodes `stream` (Annex-B, named `.demuxer` so FFmpeg picks that demuxer) with FFmpeg
/// through the shared `decode_and_compare_as`, which compares each frame, in display order,
/// with `inputs` (NV12 pictures of `size`) byte for byte; the bytes compared.
fn decode_exactly(
    dir: &tempfile::TempDir,
    demuxer: &str,
    label: &str,
    stream: &[u8],
    inputs: &[Vec<u8>],
    (w, h): (usize, usize),
) -> usize {
    let expected = inputs.concat();
    let size = (u32::try_from(w).unwrap(), u32::try_from(h).unwrap());
    let sub = dir.path().join(label);
    std::fs::create_dir_all(&sub).unwrap();
    decode_and_compare_as(&sub, demuxer, stream, size, inputs.len(), &expected, "nv12");
    expected.len()
}

/// Misuse: an image index outside the inputs, a picture larger than the coded size and a value
/// that does not grow are refused by name, before anything is submitted.
fn misuse(ctx: &Arc<GpuContext>, params: SessionParameters<'_>, rate: VideoRate) {
    let mut encoder = VideoEncoder::new(ctx, params, rate).unwrap();
    let count = encoder.direct_inputs().unwrap().len();
    let ready = ExportableTimeline::unshared(ctx, 0).unwrap();
    let released = ExportableTimeline::unshared(ctx, 0).unwrap();
    let picture = |image, value, width| WrittenPicture {
        image,
        ready: &ready,
        released: &released,
        value,
        width,
        height: 120,
    };
    let invalid = |r: Result<(), GpuError>| match r {
        Err(e @ GpuError::Invalid { .. }) => e.to_string(),
        other => panic!("a typed refusal, not {other:?}"),
    };
    let e = invalid(encoder.submit_written(picture(count, 1, 200), false, 0));
    assert!(
        e.contains(&format!("input image {count} of {count}")),
        "{e}"
    );
    let e = invalid(encoder.submit_written(picture(0, 1, 210), false, 0));
    assert!(e.contains("210x120") && e.contains("208x128"), "{e}");
    let e = invalid(encoder.submit_written(picture(0, 0, 200), false, 0));
    assert!(e.contains("timeline value 0"), "{e}");
    assert_eq!(encoder.pending(), 0, "nothing was taken");
    assert_eq!(released.value().unwrap(), 0, "nothing was released");
}

#[test]
fn pictures_written_into_the_encoders_input_images_encode_to_exactly_what_was_written() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent decoder)");
        return;
    }
    let Some((driver, ctx, validated)) = common::engine::driver_context() else {
        return;
    };
    assert!(
        ctx.image_stores(),
        "the driver stores into images of any format"
    );
    let rate = VideoRate {
        control: RateControl::Cbr { bitrate: 4_000_000 },
        frame_rate: Rational::new(30, 1),
        buffer_ms: 1000,
        quality_level: 0,
    };
    let stream = VideoStream {
        width: 200,
        height: 120,
        frame_rate: Rational::new(30, 1),
        max_bitrate: 4_000_000,
        color: ColorDescription::BT709,
        bit_depth: ghoststream::BitDepth::Eight,
    };
    let mut h264 = H264Parameters::new(&stream).unwrap();
    let mut h265 = H265Parameters::new(&stream).unwrap();
    let mut sessions = Vec::new();
    let plain = EncoderOptions::default();
    for (params, name) in [
        (SessionParameters::H264(&h264), "h264"),
        (SessionParameters::H265(&h265), "hevc"),
    ] {
        sessions.push(direct_session(
            &ctx,
            params,
            name,
            rate,
            plain,
            (300, 280),
            &driver.dir,
            validated,
        ));
    }
    misuse(&ctx, SessionParameters::H264(&h264), rate);
    sessions.push(p010_session(&ctx, stream, &driver.dir));
    h264.allow_b_frames();
    h265.allow_b_frames();
    let hq = EncoderOptions {
        tuning: Tuning::HighQuality,
        b_frames: 2,
        ..EncoderOptions::default()
    };
    for (params, name) in [
        (SessionParameters::H264(&h264), "h264"),
        (SessionParameters::H265(&h265), "hevc"),
    ] {
        sessions.push(direct_session(
            &ctx,
            params,
            name,
            rate,
            hq,
            (302, 281),
            &driver.dir,
            validated,
        ));
    }
    sessions.push(backend_session(&ctx, &driver.dir));
    if validated {
        let messages = ctx.take_validation_messages();
        assert!(
            messages.is_empty(),
            "validation layer 1.4:\n{}",
            messages.join("\n")
        );
    }
    drop(ctx);

    // The driver's log (its own handles: the layer wraps the application's, so the lines are
    // counted, not matched by handle): per picture written, one release on the compute family
    // and one acquire on the encode family (GENERAL → VIDEO_ENCODE_SRC_KHR), one copy into an
    // image (the stand-in pass's) and one encode, which read an image the encode family owned
    // (the driver refuses an encode of an image not acquired, and a mismatched acquire); no
    // release out of TRANSFER_DST_OPTIMAL (the encoder's own copy path).
    let pictures: usize = sessions.iter().sum();
    let calls = ghoststream_video_icd::log::read(&driver.log).unwrap();
    let errors: Vec<String> = calls
        .iter()
        .filter(|c| c.result == "ERROR" || c.result.starts_with("ERROR_"))
        .filter(|c| c.name == "ownership" || c.name == "execute")
        .map(|c| format!("{} {}", c.name, c.detail))
        .collect();
    assert!(errors.is_empty(), "the driver refused: {errors:#?}");
    let layouts = format!(
        "layout={}->{}",
        vk::ImageLayout::GENERAL.as_raw(),
        vk::ImageLayout::VIDEO_ENCODE_SRC_KHR.as_raw()
    );
    let count = |name: &str, start: &str| {
        calls
            .iter()
            .filter(|c| c.name == name && c.detail.starts_with(start) && c.result == "SUCCESS")
            .count()
    };
    let releases = count(
        "ownership",
        &format!("release family={COMPUTE_FAMILY} to={ENCODE_FAMILY} {layouts} "),
    );
    let acquires = count(
        "ownership",
        &format!("acquire family={ENCODE_FAMILY} from={COMPUTE_FAMILY} {layouts} "),
    );
    let copy_releases = calls
        .iter()
        .filter(|c| {
            c.name == "ownership"
                && c.detail.contains(&format!(
                    "layout={}->",
                    vk::ImageLayout::TRANSFER_DST_OPTIMAL.as_raw()
                ))
        })
        .count();
    let copies = count("vkCmdCopyBufferToImage", "");
    let encodes = count("execute", "vkCmdEncodeVideoKHR");
    eprintln!(
        "driver log: {releases} releases on the compute family, {acquires} acquires on the encode family, {copies} copies into images, {encodes} encodes, {copy_releases} releases after an encoder copy"
    );
    assert_eq!(
        (releases, acquires, copies, encodes, copy_releases),
        (pictures, pictures, pictures, pictures, 0),
        "per picture: the pass's release, the encoder's acquire, the pass's copy, one encode; no encoder copy"
    );
}
