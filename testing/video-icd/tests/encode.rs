//! Recording and submitting H.264 encodes on the test driver through the real Vulkan loader
//! (and Khronos' validation layer when it knows video encode): a 64x48 NV12 picture uploaded
//! on the compute family with vkCmdCopyBufferToImage, handed to the encode family (queue
//! family ownership transfer + timeline semaphore), encoded as an IDR and a P picture with
//! encode feedback queries, handed back and read back byte for byte; then a misuse (an encode
//! on a session that was never reset) that the driver reports.
//!
//! One test in this binary: the loader reads `VK_DRIVER_FILES` when it first scans.

use ash::vk;
use ash::vk::native;
use ghoststream_video_icd::h264::{no_pps_flags, no_sps_flags, std_pps, std_sps};
use ghoststream_video_icd::h264_pcm::{encode_picture, Nv12Picture};
use ghoststream_video_icd::{log, COMPUTE_FAMILY, ENCODE_FAMILY};

mod common;
use common::install_driver;
use common::vulkan::{h264_capabilities, h264_high, memory_type, take_messages, Instance};

const W: u32 = 64;
const H: u32 = 48;
/// Where each picture's bitstream goes in the bitstream buffer.
const SLOT_BYTES: u64 = 32 * 1024;

/// The test picture: a luma gradient with a checkerboard of 8x8 squares over it, chroma
/// gradients the other way.
fn picture() -> (Vec<u8>, Vec<u8>) {
    let mut luma = Vec::new();
    for y in 0..H {
        for x in 0..W {
            let checker = if (x / 8 + y / 8) % 2 == 0 { 0 } else { 64 };
            luma.push(u8::try_from((x * 2 + y + checker) % 256).unwrap());
        }
    }
    let mut chroma = Vec::new();
    for y in 0..H / 2 {
        for x in 0..W / 2 {
            chroma.push(u8::try_from(128 + x - y).unwrap());
            chroma.push(u8::try_from(255 - x * 3 - y).unwrap());
        }
    }
    (luma, chroma)
}

/// All-zero std structure (the std flag structures have no `Default`).
fn zeroed<T: Copy>() -> T {
    // SAFETY: used only for the std video structures, plain integers and NULL pointers, for
    // which all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

struct Buffer {
    buffer: vk::Buffer,
    memory: vk::DeviceMemory,
    ptr: *mut u8,
}

#[test]
fn an_nv12_picture_uploads_encodes_as_idr_and_p_and_reads_back() {
    let Some(driver) = install_driver() else {
        return;
    };
    let log_path = driver.log.clone();
    // GHOSTSTREAM_KEEP_ICD_LOG keeps the log (and its directory) after a failure.
    let _dir = if std::env::var_os("GHOSTSTREAM_KEEP_ICD_LOG").is_some() {
        eprintln!("driver log: {}", log_path.display());
        let _ = driver.dir.keep();
        None
    } else {
        Some(driver.dir)
    };
    let Some(vulkan) = Instance::new() else {
        return;
    };
    let instance = &vulkan.instance;
    let pd = vulkan.physical_device();
    let std_header = h264_capabilities(&vulkan.entry, instance, pd)
        .0
        .std_header_version;

    let ext_names = [
        ash::khr::video_queue::NAME.as_ptr(),
        ash::khr::video_encode_queue::NAME.as_ptr(),
        ash::khr::video_encode_h264::NAME.as_ptr(),
    ];
    let device = vulkan.compute_and_encode_device(pd, &ext_names, true);
    let vq = ash::khr::video_queue::Device::new(instance, &device);
    let veq = ash::khr::video_encode_queue::Device::new(instance, &device);
    let d = device.handle();
    // SAFETY: both families were created with one queue.
    let (compute_queue, encode_queue) = unsafe {
        (
            device.get_device_queue(COMPUTE_FAMILY, 0),
            device.get_device_queue(ENCODE_FAMILY, 0),
        )
    };

    let allocate = |req: vk::MemoryRequirements, flags: vk::MemoryPropertyFlags| {
        // SAFETY: a well-formed allocation.
        unsafe {
            device.allocate_memory(
                &vk::MemoryAllocateInfo::default()
                    .allocation_size(req.size)
                    .memory_type_index(memory_type(req.memory_type_bits, flags)),
                None,
            )
        }
        .unwrap()
    };

    // Sessions: 64x48, two DPB slots, one active reference; memory bound.
    let make_session = || {
        let (profile, mut h264_profile) = h264_high();
        let profile = profile.push_next(&mut h264_profile);
        let mut h264_session = vk::VideoEncodeH264SessionCreateInfoKHR::default();
        let info = vk::VideoSessionCreateInfoKHR::default()
            .queue_family_index(ENCODE_FAMILY)
            .video_profile(&profile)
            .picture_format(vk::Format::G8_B8R8_2PLANE_420_UNORM)
            .max_coded_extent(vk::Extent2D {
                width: W,
                height: H,
            })
            .reference_picture_format(vk::Format::G8_B8R8_2PLANE_420_UNORM)
            .max_dpb_slots(2)
            .max_active_reference_pictures(1)
            .std_header_version(&std_header)
            .push_next(&mut h264_session);
        let mut s = vk::VideoSessionKHR::null();
        // SAFETY: a well-formed create info.
        unsafe {
            (vq.fp().create_video_session_khr)(d, &raw const info, std::ptr::null(), &raw mut s)
        }
        .result()
        .unwrap();
        let mut count = 0;
        // SAFETY: a count query, then the array of that size.
        unsafe {
            (vq.fp().get_video_session_memory_requirements_khr)(
                d,
                s,
                &raw mut count,
                std::ptr::null_mut(),
            )
            .result()
            .unwrap();
        }
        let mut reqs = vec![vk::VideoSessionMemoryRequirementsKHR::default(); count as usize];
        // SAFETY: as above.
        unsafe {
            (vq.fp().get_video_session_memory_requirements_khr)(
                d,
                s,
                &raw mut count,
                reqs.as_mut_ptr(),
            )
            .result()
            .unwrap();
        }
        let mut memories = Vec::new();
        let binds: Vec<_> = reqs
            .iter()
            .map(|r| {
                let m = allocate(r.memory_requirements, vk::MemoryPropertyFlags::DEVICE_LOCAL);
                memories.push(m);
                vk::BindVideoSessionMemoryInfoKHR::default()
                    .memory_bind_index(r.memory_bind_index)
                    .memory(m)
                    .memory_size(r.memory_requirements.size)
            })
            .collect();
        // SAFETY: each binding once.
        unsafe {
            (vq.fp().bind_video_session_memory_khr)(
                d,
                s,
                u32::try_from(binds.len()).unwrap(),
                binds.as_ptr(),
            )
        }
        .result()
        .unwrap();
        (s, memories)
    };
    let (session, mut memories) = make_session();

    // Parameters: High, 4x3 macroblocks, POC type 0, one reference.
    let mut sps_flags = no_sps_flags();
    sps_flags.set_frame_mbs_only_flag(1);
    sps_flags.set_direct_8x8_inference_flag(1);
    let sps = native::StdVideoH264SequenceParameterSet {
        profile_idc: native::StdVideoH264ProfileIdc_STD_VIDEO_H264_PROFILE_IDC_HIGH,
        level_idc: native::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_3_0,
        chroma_format_idc: native::StdVideoH264ChromaFormatIdc_STD_VIDEO_H264_CHROMA_FORMAT_IDC_420,
        log2_max_frame_num_minus4: 0,
        pic_order_cnt_type: native::StdVideoH264PocType_STD_VIDEO_H264_POC_TYPE_0,
        log2_max_pic_order_cnt_lsb_minus4: 2,
        max_num_ref_frames: 1,
        pic_width_in_mbs_minus1: W / 16 - 1,
        pic_height_in_map_units_minus1: H / 16 - 1,
        ..std_sps(sps_flags)
    };
    let pps = std_pps(no_pps_flags());
    let make_parameters = |session: vk::VideoSessionKHR| {
        let spss = [sps];
        let ppss = [pps];
        let add = vk::VideoEncodeH264SessionParametersAddInfoKHR::default()
            .std_sp_ss(&spss)
            .std_pp_ss(&ppss);
        let mut h264_params = vk::VideoEncodeH264SessionParametersCreateInfoKHR::default()
            .max_std_sps_count(1)
            .max_std_pps_count(1)
            .parameters_add_info(&add);
        let info = vk::VideoSessionParametersCreateInfoKHR::default()
            .video_session(session)
            .push_next(&mut h264_params);
        let mut p = vk::VideoSessionParametersKHR::null();
        // SAFETY: a well-formed create info.
        unsafe {
            (vq.fp().create_video_session_parameters_khr)(
                d,
                &raw const info,
                std::ptr::null(),
                &raw mut p,
            )
        }
        .result()
        .unwrap();
        p
    };
    let params = make_parameters(session);

    // Images: the encode input (also a transfer target and source) and two DPB pictures.
    let (list_profile, mut list_h264) = h264_high();
    let list_profiles = [list_profile.push_next(&mut list_h264)];
    let make_image = |usage: vk::ImageUsageFlags| {
        let mut list = vk::VideoProfileListInfoKHR::default().profiles(&list_profiles);
        let info = vk::ImageCreateInfo::default()
            .image_type(vk::ImageType::TYPE_2D)
            .format(vk::Format::G8_B8R8_2PLANE_420_UNORM)
            .extent(vk::Extent3D {
                width: W,
                height: H,
                depth: 1,
            })
            .mip_levels(1)
            .array_layers(1)
            .samples(vk::SampleCountFlags::TYPE_1)
            .tiling(vk::ImageTiling::OPTIMAL)
            .usage(usage)
            .initial_layout(vk::ImageLayout::UNDEFINED)
            .push_next(&mut list);
        // SAFETY: a well-formed create info, then its memory bound once.
        unsafe {
            let image = device.create_image(&info, None).unwrap();
            let mem = allocate(
                device.get_image_memory_requirements(image),
                vk::MemoryPropertyFlags::DEVICE_LOCAL,
            );
            device.bind_image_memory(image, mem, 0).unwrap();
            let view = device
                .create_image_view(
                    &vk::ImageViewCreateInfo::default()
                        .image(image)
                        .view_type(vk::ImageViewType::TYPE_2D)
                        .format(vk::Format::G8_B8R8_2PLANE_420_UNORM)
                        .subresource_range(vk::ImageSubresourceRange {
                            aspect_mask: vk::ImageAspectFlags::COLOR,
                            base_mip_level: 0,
                            level_count: 1,
                            base_array_layer: 0,
                            layer_count: 1,
                        }),
                    None,
                )
                .unwrap();
            (image, mem, view)
        }
    };
    let input = make_image(
        vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR
            | vk::ImageUsageFlags::TRANSFER_DST
            | vk::ImageUsageFlags::TRANSFER_SRC,
    );
    let dpb = [
        make_image(vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR),
        make_image(vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR),
    ];

    // Buffers: upload, bitstream (two pictures' room), readback.
    let make_buffer = |size: u64, usage: vk::BufferUsageFlags, video: bool| {
        let mut list = vk::VideoProfileListInfoKHR::default().profiles(&list_profiles);
        let mut info = vk::BufferCreateInfo::default().size(size).usage(usage);
        if video {
            info = info.push_next(&mut list);
        }
        // SAFETY: a well-formed create info; host-visible memory mapped once.
        unsafe {
            let buffer = device.create_buffer(&info, None).unwrap();
            let memory = allocate(
                device.get_buffer_memory_requirements(buffer),
                vk::MemoryPropertyFlags::HOST_VISIBLE | vk::MemoryPropertyFlags::HOST_COHERENT,
            );
            device.bind_buffer_memory(buffer, memory, 0).unwrap();
            let ptr = device
                .map_memory(memory, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
                .unwrap()
                .cast::<u8>();
            Buffer {
                buffer,
                memory,
                ptr,
            }
        }
    };
    let luma_bytes = u64::from(W * H);
    let nv12_bytes = luma_bytes * 3 / 2;
    let upload = make_buffer(nv12_bytes, vk::BufferUsageFlags::TRANSFER_SRC, false);
    let readback = make_buffer(nv12_bytes, vk::BufferUsageFlags::TRANSFER_DST, false);
    let bitstream = make_buffer(
        2 * SLOT_BYTES,
        vk::BufferUsageFlags::VIDEO_ENCODE_DST_KHR,
        true,
    );
    let (luma, chroma) = picture();
    // SAFETY: the mapping holds nv12_bytes bytes; the readback is filled with a marker.
    unsafe {
        std::ptr::copy_nonoverlapping(luma.as_ptr(), upload.ptr, luma.len());
        std::ptr::copy_nonoverlapping(chroma.as_ptr(), upload.ptr.add(luma.len()), chroma.len());
        std::ptr::write_bytes(readback.ptr, 0xaa, usize::try_from(nv12_bytes).unwrap());
        std::ptr::write_bytes(bitstream.ptr, 0, usize::try_from(2 * SLOT_BYTES).unwrap());
    }

    // The feedback query pool: offset, bytes written (and the status, asked for when read).
    let make_query_pool = || {
        let (profile, mut h264_profile) = h264_high();
        let mut feedback = vk::QueryPoolVideoEncodeFeedbackCreateInfoKHR::default()
            .encode_feedback_flags(
                vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BUFFER_OFFSET
                    | vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BYTES_WRITTEN,
            );
        let mut profile = profile.push_next(&mut h264_profile);
        let info = vk::QueryPoolCreateInfo::default()
            .query_type(vk::QueryType::VIDEO_ENCODE_FEEDBACK_KHR)
            .query_count(2)
            .push_next(&mut feedback)
            .push_next(&mut profile);
        // SAFETY: a well-formed create info.
        unsafe { device.create_query_pool(&info, None) }.unwrap()
    };
    let queries = make_query_pool();

    // Command pools and buffers, a timeline semaphore and fences.
    let make_pool = |family: u32| {
        // SAFETY: a well-formed create info.
        unsafe {
            device.create_command_pool(
                &vk::CommandPoolCreateInfo::default()
                    .queue_family_index(family)
                    .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER),
                None,
            )
        }
        .unwrap()
    };
    let (compute_pool, encode_pool) = (make_pool(COMPUTE_FAMILY), make_pool(ENCODE_FAMILY));
    let buffers = |pool: vk::CommandPool, n: u32| {
        // SAFETY: a well-formed allocate info.
        unsafe {
            device.allocate_command_buffers(
                &vk::CommandBufferAllocateInfo::default()
                    .command_pool(pool)
                    .level(vk::CommandBufferLevel::PRIMARY)
                    .command_buffer_count(n),
            )
        }
        .unwrap()
    };
    let compute_cbs = buffers(compute_pool, 2);
    let encode_cbs = buffers(encode_pool, 2);
    let mut timeline_info = vk::SemaphoreTypeCreateInfo::default()
        .semaphore_type(vk::SemaphoreType::TIMELINE)
        .initial_value(0);
    // SAFETY: well-formed create infos.
    let (timeline, fence) = unsafe {
        (
            device
                .create_semaphore(
                    &vk::SemaphoreCreateInfo::default().push_next(&mut timeline_info),
                    None,
                )
                .unwrap(),
            device
                .create_fence(&vk::FenceCreateInfo::default(), None)
                .unwrap(),
        )
    };
    let begin = |cb: vk::CommandBuffer| {
        // SAFETY: a command buffer in the initial state.
        unsafe {
            device.begin_command_buffer(
                cb,
                &vk::CommandBufferBeginInfo::default()
                    .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT),
            )
        }
        .unwrap();
    };
    let color = vk::ImageSubresourceRange {
        aspect_mask: vk::ImageAspectFlags::COLOR,
        base_mip_level: 0,
        level_count: 1,
        base_array_layer: 0,
        layer_count: 1,
    };
    let barrier = |cb: vk::CommandBuffer, b: &[vk::ImageMemoryBarrier2<'_>]| {
        // SAFETY: a recording command buffer, well-formed barriers.
        unsafe {
            device
                .cmd_pipeline_barrier2(cb, &vk::DependencyInfo::default().image_memory_barriers(b))
        };
    };
    let planes = |aspect_offsets: bool| {
        let _ = aspect_offsets;
        [
            vk::BufferImageCopy {
                buffer_offset: 0,
                buffer_row_length: 0,
                buffer_image_height: 0,
                image_subresource: vk::ImageSubresourceLayers {
                    aspect_mask: vk::ImageAspectFlags::PLANE_0,
                    mip_level: 0,
                    base_array_layer: 0,
                    layer_count: 1,
                },
                image_offset: vk::Offset3D::default(),
                image_extent: vk::Extent3D {
                    width: W,
                    height: H,
                    depth: 1,
                },
            },
            vk::BufferImageCopy {
                buffer_offset: luma_bytes,
                buffer_row_length: 0,
                buffer_image_height: 0,
                image_subresource: vk::ImageSubresourceLayers {
                    aspect_mask: vk::ImageAspectFlags::PLANE_1,
                    mip_level: 0,
                    base_array_layer: 0,
                    layer_count: 1,
                },
                image_offset: vk::Offset3D::default(),
                image_extent: vk::Extent3D {
                    width: W / 2,
                    height: H / 2,
                    depth: 1,
                },
            },
        ]
    };
    let submit = |queue: vk::Queue,
                  cb: vk::CommandBuffer,
                  wait: Option<(u64, vk::PipelineStageFlags2)>,
                  signal: Option<(u64, vk::PipelineStageFlags2)>,
                  fence: vk::Fence| {
        let waits: Vec<_> = wait
            .map(|(v, stage)| {
                vk::SemaphoreSubmitInfo::default()
                    .semaphore(timeline)
                    .value(v)
                    .stage_mask(stage)
            })
            .into_iter()
            .collect();
        let signals: Vec<_> = signal
            .map(|(v, stage)| {
                vk::SemaphoreSubmitInfo::default()
                    .semaphore(timeline)
                    .value(v)
                    .stage_mask(stage)
            })
            .into_iter()
            .collect();
        let cbs = [vk::CommandBufferSubmitInfo::default().command_buffer(cb)];
        let info = vk::SubmitInfo2::default()
            .wait_semaphore_infos(&waits)
            .command_buffer_infos(&cbs)
            .signal_semaphore_infos(&signals);
        // SAFETY: executable command buffers, live semaphore and fence.
        unsafe { device.queue_submit2(queue, &[info], fence) }.unwrap();
    };

    // 1. Compute: upload, then release the input image to the encode family.
    let cb = compute_cbs[0];
    begin(cb);
    barrier(
        cb,
        &[vk::ImageMemoryBarrier2::default()
            .src_stage_mask(vk::PipelineStageFlags2::NONE)
            .dst_stage_mask(vk::PipelineStageFlags2::COPY)
            .dst_access_mask(vk::AccessFlags2::TRANSFER_WRITE)
            .old_layout(vk::ImageLayout::UNDEFINED)
            .new_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)
            .image(input.0)
            .subresource_range(color)],
    );
    // SAFETY: a recording command buffer; regions inside both objects.
    unsafe {
        device.cmd_copy_buffer_to_image(
            cb,
            upload.buffer,
            input.0,
            vk::ImageLayout::TRANSFER_DST_OPTIMAL,
            &planes(true),
        );
    }
    barrier(
        cb,
        &[vk::ImageMemoryBarrier2::default()
            .src_stage_mask(vk::PipelineStageFlags2::COPY)
            .src_access_mask(vk::AccessFlags2::TRANSFER_WRITE)
            .dst_stage_mask(vk::PipelineStageFlags2::NONE)
            .old_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)
            .new_layout(vk::ImageLayout::VIDEO_ENCODE_SRC_KHR)
            .src_queue_family_index(COMPUTE_FAMILY)
            .dst_queue_family_index(ENCODE_FAMILY)
            .image(input.0)
            .subresource_range(color)],
    );
    // SAFETY: a recording command buffer.
    unsafe { device.end_command_buffer(cb) }.unwrap();
    submit(
        compute_queue,
        cb,
        None,
        Some((1, vk::PipelineStageFlags2::ALL_COMMANDS)),
        vk::Fence::null(),
    );

    // 2. Encode: acquire, IDR into slot 0, P (referencing slot 0) into slot 1, release back.
    let cb = encode_cbs[0];
    begin(cb);
    let acquire_input = vk::ImageMemoryBarrier2::default()
        .src_stage_mask(vk::PipelineStageFlags2::NONE)
        .dst_stage_mask(vk::PipelineStageFlags2::VIDEO_ENCODE_KHR)
        .dst_access_mask(vk::AccessFlags2::VIDEO_ENCODE_READ_KHR)
        .old_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)
        .new_layout(vk::ImageLayout::VIDEO_ENCODE_SRC_KHR)
        .src_queue_family_index(COMPUTE_FAMILY)
        .dst_queue_family_index(ENCODE_FAMILY)
        .image(input.0)
        .subresource_range(color);
    let dpb_init = |image: vk::Image| {
        vk::ImageMemoryBarrier2::default()
            .src_stage_mask(vk::PipelineStageFlags2::NONE)
            .dst_stage_mask(vk::PipelineStageFlags2::VIDEO_ENCODE_KHR)
            .dst_access_mask(
                vk::AccessFlags2::VIDEO_ENCODE_READ_KHR | vk::AccessFlags2::VIDEO_ENCODE_WRITE_KHR,
            )
            .old_layout(vk::ImageLayout::UNDEFINED)
            .new_layout(vk::ImageLayout::VIDEO_ENCODE_DPB_KHR)
            .image(image)
            .subresource_range(color)
    };
    barrier(cb, &[acquire_input, dpb_init(dpb[0].0), dpb_init(dpb[1].0)]);
    // SAFETY: a recording command buffer outside a coding scope.
    unsafe { device.cmd_reset_query_pool(cb, queries, 0, 2) };

    let resource = |view: vk::ImageView| {
        vk::VideoPictureResourceInfoKHR::default()
            .coded_extent(vk::Extent2D {
                width: W,
                height: H,
            })
            .image_view_binding(view)
    };
    let src_resource = resource(input.2);
    let dpb_resources = [resource(dpb[0].2), resource(dpb[1].2)];
    let ref_info = |frame_num: u32, poc: i32, kind: native::StdVideoH264PictureType| {
        native::StdVideoEncodeH264ReferenceInfo {
            primary_pic_type: kind,
            FrameNum: frame_num,
            PicOrderCnt: poc,
            ..zeroed()
        }
    };
    let idr_ref = ref_info(
        0,
        0,
        native::StdVideoH264PictureType_STD_VIDEO_H264_PICTURE_TYPE_IDR,
    );
    let p_ref = ref_info(
        1,
        2,
        native::StdVideoH264PictureType_STD_VIDEO_H264_PICTURE_TYPE_P,
    );
    let mut idr_dpb = vk::VideoEncodeH264DpbSlotInfoKHR::default().std_reference_info(&idr_ref);
    let mut idr_dpb2 = vk::VideoEncodeH264DpbSlotInfoKHR::default().std_reference_info(&idr_ref);
    let mut p_dpb = vk::VideoEncodeH264DpbSlotInfoKHR::default().std_reference_info(&p_ref);

    let rate_layers = [vk::VideoEncodeRateControlLayerInfoKHR::default()
        .average_bitrate(2_000_000)
        .max_bitrate(2_000_000)
        .frame_rate_numerator(30)
        .frame_rate_denominator(1)];
    let rate = vk::VideoEncodeRateControlInfoKHR::default()
        .rate_control_mode(vk::VideoEncodeRateControlModeFlagsKHR::CBR)
        .layers(&rate_layers)
        .virtual_buffer_size_in_ms(1000)
        .initial_virtual_buffer_size_in_ms(500);

    // Scope 1: reset + rate control + quality level, then the IDR.
    let begin_slots = [vk::VideoReferenceSlotInfoKHR::default()
        .slot_index(-1)
        .picture_resource(&dpb_resources[0])];
    let begin_info = vk::VideoBeginCodingInfoKHR::default()
        .video_session(session)
        .video_session_parameters(params)
        .reference_slots(&begin_slots);
    let mut control_rate = rate;
    let mut quality = vk::VideoEncodeQualityLevelInfoKHR::default().quality_level(0);
    let control = vk::VideoCodingControlInfoKHR::default()
        .flags(
            vk::VideoCodingControlFlagsKHR::RESET
                | vk::VideoCodingControlFlagsKHR::ENCODE_RATE_CONTROL
                | vk::VideoCodingControlFlagsKHR::ENCODE_QUALITY_LEVEL,
        )
        .push_next(&mut control_rate)
        .push_next(&mut quality);
    let mut idr_flags: native::StdVideoEncodeH264PictureInfoFlags = zeroed();
    idr_flags.set_IdrPicFlag(1);
    idr_flags.set_is_reference(1);
    let mut lists: native::StdVideoEncodeH264ReferenceListsInfo = zeroed();
    lists.RefPicList0 = [0xff; 32];
    lists.RefPicList1 = [0xff; 32];
    let idr_lists = lists;
    let idr_std = native::StdVideoEncodeH264PictureInfo {
        flags: idr_flags,
        primary_pic_type: native::StdVideoH264PictureType_STD_VIDEO_H264_PICTURE_TYPE_IDR,
        pRefLists: &raw const idr_lists,
        ..zeroed()
    };
    let i_slice = native::StdVideoEncodeH264SliceHeader {
        slice_type: native::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_I,
        ..zeroed()
    };
    let i_slices = [vk::VideoEncodeH264NaluSliceInfoKHR::default().std_slice_header(&i_slice)];
    let mut idr_h264 = vk::VideoEncodeH264PictureInfoKHR::default()
        .nalu_slice_entries(&i_slices)
        .std_picture_info(&idr_std);
    let idr_setup = vk::VideoReferenceSlotInfoKHR::default()
        .slot_index(0)
        .picture_resource(&dpb_resources[0])
        .push_next(&mut idr_dpb);
    let idr_encode = vk::VideoEncodeInfoKHR::default()
        .dst_buffer(bitstream.buffer)
        .dst_buffer_offset(0)
        .dst_buffer_range(SLOT_BYTES)
        .src_picture_resource(src_resource)
        .setup_reference_slot(&idr_setup)
        .push_next(&mut idr_h264);
    // SAFETY: a recording command buffer on the encode family; every structure well formed.
    unsafe {
        (vq.fp().cmd_begin_video_coding_khr)(cb, &raw const begin_info);
        (vq.fp().cmd_control_video_coding_khr)(cb, &raw const control);
        device.cmd_begin_query(cb, queries, 0, vk::QueryControlFlags::empty());
        (veq.fp().cmd_encode_video_khr)(cb, &raw const idr_encode);
        device.cmd_end_query(cb, queries, 0);
        (vq.fp().cmd_end_video_coding_khr)(cb, &vk::VideoEndCodingInfoKHR::default());
    }

    // Scope 2: the P picture (the rate control state restated in the begin info).
    let p_begin_slots = [
        vk::VideoReferenceSlotInfoKHR::default()
            .slot_index(0)
            .picture_resource(&dpb_resources[0])
            .push_next(&mut idr_dpb2),
        vk::VideoReferenceSlotInfoKHR::default()
            .slot_index(-1)
            .picture_resource(&dpb_resources[1]),
    ];
    let mut begin_rate = rate;
    let p_begin_info = vk::VideoBeginCodingInfoKHR::default()
        .video_session(session)
        .video_session_parameters(params)
        .reference_slots(&p_begin_slots)
        .push_next(&mut begin_rate);
    let mut p_flags: native::StdVideoEncodeH264PictureInfoFlags = zeroed();
    p_flags.set_is_reference(1);
    let mut p_lists = lists;
    p_lists.RefPicList0[0] = 0;
    let p_std = native::StdVideoEncodeH264PictureInfo {
        flags: p_flags,
        primary_pic_type: native::StdVideoH264PictureType_STD_VIDEO_H264_PICTURE_TYPE_P,
        frame_num: 1,
        PicOrderCnt: 2,
        pRefLists: &raw const p_lists,
        ..zeroed()
    };
    let p_slice = native::StdVideoEncodeH264SliceHeader {
        slice_type: native::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_P,
        ..zeroed()
    };
    let p_slices = [vk::VideoEncodeH264NaluSliceInfoKHR::default().std_slice_header(&p_slice)];
    let mut p_h264 = vk::VideoEncodeH264PictureInfoKHR::default()
        .nalu_slice_entries(&p_slices)
        .std_picture_info(&p_std);
    let mut idr_dpb3 = vk::VideoEncodeH264DpbSlotInfoKHR::default().std_reference_info(&idr_ref);
    let p_refs = [vk::VideoReferenceSlotInfoKHR::default()
        .slot_index(0)
        .picture_resource(&dpb_resources[0])
        .push_next(&mut idr_dpb3)];
    let p_setup = vk::VideoReferenceSlotInfoKHR::default()
        .slot_index(1)
        .picture_resource(&dpb_resources[1])
        .push_next(&mut p_dpb);
    let p_encode = vk::VideoEncodeInfoKHR::default()
        .dst_buffer(bitstream.buffer)
        .dst_buffer_offset(SLOT_BYTES)
        .dst_buffer_range(SLOT_BYTES)
        .src_picture_resource(src_resource)
        .setup_reference_slot(&p_setup)
        .reference_slots(&p_refs)
        .push_next(&mut p_h264);
    // SAFETY: as above.
    unsafe {
        (vq.fp().cmd_begin_video_coding_khr)(cb, &raw const p_begin_info);
        device.cmd_begin_query(cb, queries, 1, vk::QueryControlFlags::empty());
        (veq.fp().cmd_encode_video_khr)(cb, &raw const p_encode);
        device.cmd_end_query(cb, queries, 1);
        (vq.fp().cmd_end_video_coding_khr)(cb, &vk::VideoEndCodingInfoKHR::default());
    }
    let release_input = vk::ImageMemoryBarrier2::default()
        .src_stage_mask(vk::PipelineStageFlags2::VIDEO_ENCODE_KHR)
        .src_access_mask(vk::AccessFlags2::VIDEO_ENCODE_READ_KHR)
        .dst_stage_mask(vk::PipelineStageFlags2::NONE)
        .old_layout(vk::ImageLayout::VIDEO_ENCODE_SRC_KHR)
        .new_layout(vk::ImageLayout::TRANSFER_SRC_OPTIMAL)
        .src_queue_family_index(ENCODE_FAMILY)
        .dst_queue_family_index(COMPUTE_FAMILY)
        .image(input.0)
        .subresource_range(color);
    barrier(cb, &[release_input]);
    // SAFETY: a recording command buffer.
    unsafe { device.end_command_buffer(cb) }.unwrap();
    submit(
        encode_queue,
        cb,
        Some((1, vk::PipelineStageFlags2::VIDEO_ENCODE_KHR)),
        Some((2, vk::PipelineStageFlags2::ALL_COMMANDS)),
        vk::Fence::null(),
    );

    // 3. Compute: acquire the input back and read it out.
    let cb = compute_cbs[1];
    begin(cb);
    barrier(
        cb,
        &[vk::ImageMemoryBarrier2::default()
            .src_stage_mask(vk::PipelineStageFlags2::NONE)
            .dst_stage_mask(vk::PipelineStageFlags2::COPY)
            .dst_access_mask(vk::AccessFlags2::TRANSFER_READ)
            .old_layout(vk::ImageLayout::VIDEO_ENCODE_SRC_KHR)
            .new_layout(vk::ImageLayout::TRANSFER_SRC_OPTIMAL)
            .src_queue_family_index(ENCODE_FAMILY)
            .dst_queue_family_index(COMPUTE_FAMILY)
            .image(input.0)
            .subresource_range(color)],
    );
    // SAFETY: a recording command buffer; regions inside both objects.
    unsafe {
        device.cmd_copy_image_to_buffer(
            cb,
            input.0,
            vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
            readback.buffer,
            &planes(false),
        );
        device.end_command_buffer(cb).unwrap();
    }
    submit(
        compute_queue,
        cb,
        Some((2, vk::PipelineStageFlags2::COPY)),
        None,
        fence,
    );
    // SAFETY: a live fence.
    unsafe { device.wait_for_fences(&[fence], true, 5_000_000_000) }.unwrap();
    // SAFETY: a live semaphore.
    let counter = unsafe { device.get_semaphore_counter_value(timeline) }.unwrap();
    assert_eq!(counter, 2);

    // The feedback: offset 0 and the writer's length for each picture, status COMPLETE.
    let mut results = [[0u64; 3]; 2];
    // SAFETY: 2 queries of 3 64-bit values.
    unsafe {
        device.get_query_pool_results(
            queries,
            0,
            &mut results,
            vk::QueryResultFlags::TYPE_64
                | vk::QueryResultFlags::WAIT
                | vk::QueryResultFlags::WITH_STATUS_KHR,
        )
    }
    .unwrap();
    let mut results32 = [[0u32; 3]; 2];
    // SAFETY: the same in 32 bits.
    unsafe {
        device.get_query_pool_results(
            queries,
            0,
            &mut results32,
            vk::QueryResultFlags::WITH_STATUS_KHR,
        )
    }
    .unwrap();
    let sps_pps = (sps, pps);
    let source = Nv12Picture {
        luma: &luma,
        luma_stride: W as usize,
        chroma: &chroma,
        chroma_stride: W as usize,
        width: W,
        height: H,
    };
    let expect_idr = encode_picture(&sps_pps.0, &sps_pps.1, &idr_std, &i_slice, &source);
    let expect_p = encode_picture(&sps_pps.0, &sps_pps.1, &p_std, &p_slice, &source);
    let (n0, n1) = (expect_idr.len() as u64, expect_p.len() as u64);
    assert_eq!(results, [[0, n0, 1], [0, n1, 1]]);
    assert_eq!(
        results32.map(|q| q.map(u64::from)),
        [[0, n0, 1], [0, n1, 1]],
        "32-bit results"
    );
    // SAFETY: the bitstream mapping holds 2 * SLOT_BYTES bytes.
    let stream = unsafe {
        std::slice::from_raw_parts(bitstream.ptr, usize::try_from(2 * SLOT_BYTES).unwrap())
    };
    assert_eq!(&stream[..expect_idr.len()], expect_idr.as_slice());
    let p_at = usize::try_from(SLOT_BYTES).unwrap();
    assert_eq!(&stream[p_at..p_at + expect_p.len()], expect_p.as_slice());
    // SAFETY: the readback mapping holds nv12_bytes bytes.
    let back =
        unsafe { std::slice::from_raw_parts(readback.ptr, usize::try_from(nv12_bytes).unwrap()) };
    assert_eq!(&back[..luma.len()], luma.as_slice(), "luma read back");
    assert_eq!(&back[luma.len()..], chroma.as_slice(), "chroma read back");
    let clean = take_messages();
    assert!(
        clean.is_empty(),
        "the validation layer reported on correct use:\n{}",
        clean.join("\n")
    );

    // Misuse: a session never reset, encoded into: the driver logs it and reports ERROR.
    let (session2, memories2) = make_session();
    memories.extend(memories2);
    let params2 = make_parameters(session2);
    let queries2 = make_query_pool();
    let cb = encode_cbs[1];
    begin(cb);
    barrier(
        cb,
        &[vk::ImageMemoryBarrier2::default()
            .src_stage_mask(vk::PipelineStageFlags2::NONE)
            .dst_stage_mask(vk::PipelineStageFlags2::VIDEO_ENCODE_KHR)
            .dst_access_mask(vk::AccessFlags2::VIDEO_ENCODE_READ_KHR)
            .old_layout(vk::ImageLayout::UNDEFINED)
            .new_layout(vk::ImageLayout::VIDEO_ENCODE_SRC_KHR)
            .image(input.0)
            .subresource_range(color)],
    );
    let misuse_begin = vk::VideoBeginCodingInfoKHR::default()
        .video_session(session2)
        .video_session_parameters(params2)
        .reference_slots(&begin_slots);
    let mut idr_h264b = vk::VideoEncodeH264PictureInfoKHR::default()
        .nalu_slice_entries(&i_slices)
        .std_picture_info(&idr_std);
    let misuse_encode = vk::VideoEncodeInfoKHR::default()
        .dst_buffer(bitstream.buffer)
        .dst_buffer_offset(0)
        .dst_buffer_range(SLOT_BYTES)
        .src_picture_resource(src_resource)
        .setup_reference_slot(&idr_setup)
        .push_next(&mut idr_h264b);
    // SAFETY: a recording command buffer; deliberate misuse of a valid session (not reset).
    unsafe {
        device.cmd_reset_query_pool(cb, queries2, 0, 1);
        (vq.fp().cmd_begin_video_coding_khr)(cb, &raw const misuse_begin);
        device.cmd_begin_query(cb, queries2, 0, vk::QueryControlFlags::empty());
        (veq.fp().cmd_encode_video_khr)(cb, &raw const misuse_encode);
        device.cmd_end_query(cb, queries2, 0);
        (vq.fp().cmd_end_video_coding_khr)(cb, &vk::VideoEndCodingInfoKHR::default());
        device.end_command_buffer(cb).unwrap();
        device.reset_fences(&[fence]).unwrap();
    }
    submit(encode_queue, cb, None, None, fence);
    // SAFETY: a live fence.
    unsafe { device.wait_for_fences(&[fence], true, 5_000_000_000) }.unwrap();
    let mut status = [[0i64; 3]; 1];
    // SAFETY: one query of 3 64-bit values.
    unsafe {
        device.get_query_pool_results(
            queries2,
            0,
            &mut status,
            vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WITH_STATUS_KHR,
        )
    }
    .unwrap();
    assert_eq!(status, [[0, 0, -1]], "VK_QUERY_RESULT_STATUS_ERROR_KHR");
    let misuse_messages = take_messages();
    if vulkan.validated {
        assert!(
            !misuse_messages.is_empty()
                && misuse_messages
                    .iter()
                    .all(|m| m.starts_with("VUID-vkCmdEncodeVideoKHR-None-07012")),
            "the layer on an encode on a session never reset: {misuse_messages:#?}"
        );
    }

    // SAFETY: everything made above, destroyed once, children first.
    unsafe {
        device.destroy_query_pool(queries, None);
        device.destroy_query_pool(queries2, None);
        device.destroy_fence(fence, None);
        device.destroy_semaphore(timeline, None);
        device.destroy_command_pool(compute_pool, None);
        device.destroy_command_pool(encode_pool, None);
        for b in [&upload, &readback, &bitstream] {
            device.unmap_memory(b.memory);
            device.destroy_buffer(b.buffer, None);
            device.free_memory(b.memory, None);
        }
        for (image, mem, view) in [input, dpb[0], dpb[1]] {
            device.destroy_image_view(view, None);
            device.destroy_image(image, None);
            device.free_memory(mem, None);
        }
        for (p, s) in [(params, session), (params2, session2)] {
            (vq.fp().destroy_video_session_parameters_khr)(d, p, std::ptr::null());
            (vq.fp().destroy_video_session_khr)(d, s, std::ptr::null());
        }
        for m in memories {
            device.free_memory(m, None);
        }
        device.destroy_device(None);
        vulkan.destroy();
    }
    let late = take_messages();
    assert!(late.is_empty(), "{}", late.join("\n"));

    // The driver's log: the calls in order, the misuse reported, nothing leaked.
    let calls = log::read(&log_path).unwrap();
    let order: Vec<String> = calls
        .iter()
        .filter(|c| {
            c.name.starts_with("vkCmd")
                || c.name.starts_with("vkQueueSubmit")
                || c.name == "execute"
        })
        .map(|c| {
            if c.name == "execute" {
                format!(
                    "execute {}",
                    c.detail.split_whitespace().next().unwrap_or("")
                )
            } else {
                c.name.clone()
            }
        })
        .collect();
    let expected = [
        // Recording and running the upload.
        "vkCmdPipelineBarrier2",
        "vkCmdCopyBufferToImage",
        "vkCmdPipelineBarrier2",
        "execute vkCmdCopyBufferToImage",
        "vkQueueSubmit2",
        // The encodes.
        "vkCmdPipelineBarrier2",
        "vkCmdResetQueryPool",
        "vkCmdBeginVideoCodingKHR",
        "vkCmdControlVideoCodingKHR",
        "vkCmdBeginQuery",
        "vkCmdEncodeVideoKHR",
        "vkCmdEndQuery",
        "vkCmdEndVideoCodingKHR",
        "vkCmdBeginVideoCodingKHR",
        "vkCmdBeginQuery",
        "vkCmdEncodeVideoKHR",
        "vkCmdEndQuery",
        "vkCmdEndVideoCodingKHR",
        "vkCmdPipelineBarrier2",
        "execute vkCmdResetQueryPool",
        "execute vkCmdBeginVideoCodingKHR",
        "execute vkCmdControlVideoCodingKHR",
        "execute vkCmdBeginQuery",
        "execute vkCmdEncodeVideoKHR",
        "execute vkCmdEndQuery",
        "execute vkCmdEndVideoCodingKHR",
        "execute vkCmdBeginVideoCodingKHR",
        "execute vkCmdBeginQuery",
        "execute vkCmdEncodeVideoKHR",
        "execute vkCmdEndQuery",
        "execute vkCmdEndVideoCodingKHR",
        "vkQueueSubmit2",
        // The readback.
        "vkCmdPipelineBarrier2",
        "vkCmdCopyImageToBuffer",
        "execute vkCmdCopyImageToBuffer",
        "vkQueueSubmit2",
        "vkQueueSubmit2", // The fence.
        // The misuse.
        "vkCmdPipelineBarrier2",
        "vkCmdResetQueryPool",
        "vkCmdBeginVideoCodingKHR",
        "vkCmdBeginQuery",
        "vkCmdEncodeVideoKHR",
        "vkCmdEndQuery",
        "vkCmdEndVideoCodingKHR",
        "execute vkCmdResetQueryPool",
        "execute vkCmdBeginVideoCodingKHR",
        "execute vkCmdBeginQuery",
        "execute vkCmdEncodeVideoKHR",
        "execute vkCmdEndQuery",
        "execute vkCmdEndVideoCodingKHR",
        "vkQueueSubmit2",
        "vkQueueSubmit2",
    ];
    assert_eq!(order, expected);
    let failed: Vec<_> = calls
        .iter()
        .filter(|c| !c.name.ends_with("ProcAddr"))
        .filter(|c| !["", "SUCCESS", "found", "INCOMPLETE"].contains(&c.result.as_str()))
        .map(|c| format!("{} {} -> {}", c.name, c.detail, c.result))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert!(
        failed[0].starts_with("execute vkCmdEncodeVideoKHR (the video session was never reset"),
        "{failed:#?}"
    );
    let control = calls
        .iter()
        .find(|c| c.name == "execute" && c.detail.starts_with("vkCmdControlVideoCodingKHR"))
        .unwrap();
    assert_eq!(
        control.detail,
        "vkCmdControlVideoCodingKHR flags=0x7 rate_mode=0x2 layers=[(2000000, 2000000)] quality=0"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.name == "vkDestroyDevice" && c.detail.is_empty()),
        "no objects leaked"
    );
}
