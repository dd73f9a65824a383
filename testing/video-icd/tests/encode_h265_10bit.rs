//! A Main 10 H.265 session on the test driver through the real Vulkan loader (and Khronos'
//! validation layer when it knows video encode): the capability queries (Main 10 at 10 bits
//! answered, a 10-bit profile naming Main refused with the spec's cause, as are Main 10 at 8
//! bits and unequal depths), P010 as the encode input and reference format, a 160x90 session
//! with Main 10 parameter sets read back, three P010 pictures of a pattern over all ten bits
//! uploaded on the compute family, handed to the encode family and encoded as an IDR and two P
//! pictures (two DPB slots in turn) with feedback queries; FFmpeg decodes the parameter sets
//! and the three pictures as yuv420p10le to exactly the input samples and its header tracer
//! reads 10-bit sample and PCM depths.
//!
//! One test in this binary: the loader reads `VK_DRIVER_FILES` when it first scans.

use std::process::Command;

use ash::vk;
use ash::vk::native;
use ghoststream_video_icd::h265;
use ghoststream_video_icd::{log, COMPUTE_FAMILY, ENCODE_FAMILY};

mod common;
use common::ffmpeg::{decode_and_compare_as, pattern10, push_yuv420p10, trace_headers};
use common::vulkan::{memory_type, take_messages, Instance};
use common::{install_driver, skip};

/// The picture: over the H.265 capabilities' minimum coded extent (144x48), and not a
/// multiple of 16 high (the driver codes 160x96 and the SPS crops it).
const W: u32 = 160;
const H: u32 = 90;
const FRAMES: u32 = 3;
/// Where each picture's bitstream goes in the bitstream buffer.
const SLOT_BYTES: u64 = 64 * 1024;
const P010: vk::Format = vk::Format::G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16;
const MAIN_10: u32 = native::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN_10;
const MAIN: u32 = native::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN;

/// All-zero std structure (the std flag structures have no `Default`).
fn zeroed<T: Copy>() -> T {
    // SAFETY: used only for the std video structures, plain integers and NULL pointers, for
    // which all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

/// An H.265 encode profile of `idc` with `luma` and `chroma` bit depths (chain them with
/// `push_next`).
fn h265_profile(
    idc: u32,
    luma: vk::VideoComponentBitDepthFlagsKHR,
    chroma: vk::VideoComponentBitDepthFlagsKHR,
) -> (
    vk::VideoProfileInfoKHR<'static>,
    vk::VideoEncodeH265ProfileInfoKHR<'static>,
) {
    (
        vk::VideoProfileInfoKHR::default()
            .video_codec_operation(vk::VideoCodecOperationFlagsKHR::ENCODE_H265)
            .chroma_subsampling(vk::VideoChromaSubsamplingFlagsKHR::TYPE_420)
            .luma_bit_depth(luma)
            .chroma_bit_depth(chroma),
        vk::VideoEncodeH265ProfileInfoKHR::default().std_profile_idc(idc),
    )
}

fn main10() -> (
    vk::VideoProfileInfoKHR<'static>,
    vk::VideoEncodeH265ProfileInfoKHR<'static>,
) {
    let ten = vk::VideoComponentBitDepthFlagsKHR::TYPE_10;
    h265_profile(MAIN_10, ten, ten)
}

struct Buffer {
    buffer: vk::Buffer,
    memory: vk::DeviceMemory,
    ptr: *mut u8,
}

/// The std H.265 structures of picture `n` (an IDR at 0, then P pictures, each naming the
/// picture before in its one-entry short-term set and list 0), kept together so that the
/// pointers between them stay valid.
struct Picture {
    info: native::StdVideoEncodeH265PictureInfo,
    slice: native::StdVideoEncodeH265SliceSegmentHeader,
    lists: native::StdVideoEncodeH265ReferenceListsInfo,
    rps: native::StdVideoH265ShortTermRefPicSet,
    setup: native::StdVideoEncodeH265ReferenceInfo,
    reference: native::StdVideoEncodeH265ReferenceInfo,
}

impl Picture {
    fn new(n: u32) -> Box<Self> {
        let idr = n == 0;
        let kind = |idr: bool| {
            if idr {
                native::StdVideoH265PictureType_STD_VIDEO_H265_PICTURE_TYPE_IDR
            } else {
                native::StdVideoH265PictureType_STD_VIDEO_H265_PICTURE_TYPE_P
            }
        };
        let poc = |n: u32| i32::try_from(n).unwrap();
        let mut flags: native::StdVideoEncodeH265PictureInfoFlags = zeroed();
        flags.set_is_reference(1);
        flags.set_IrapPicFlag(u32::from(idr));
        flags.set_pic_output_flag(1);
        let mut slice_flags: native::StdVideoEncodeH265SliceSegmentHeaderFlags = zeroed();
        slice_flags.set_first_slice_segment_in_pic_flag(1);
        let mut lists: native::StdVideoEncodeH265ReferenceListsInfo = zeroed();
        lists.RefPicList0 = [0xff; 15];
        lists.RefPicList1 = [0xff; 15];
        lists.RefPicList0[0] = u8::try_from(1 - n % 2).unwrap();
        let mut p = Box::new(Self {
            info: native::StdVideoEncodeH265PictureInfo {
                flags,
                pic_type: kind(idr),
                PicOrderCntVal: poc(n),
                ..zeroed()
            },
            slice: native::StdVideoEncodeH265SliceSegmentHeader {
                flags: slice_flags,
                slice_type: if idr {
                    native::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_I
                } else {
                    native::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_P
                },
                MaxNumMergeCand: 5,
                ..zeroed()
            },
            lists,
            rps: h265::std_st_rps(1),
            setup: native::StdVideoEncodeH265ReferenceInfo {
                pic_type: kind(idr),
                PicOrderCntVal: poc(n),
                ..zeroed()
            },
            reference: native::StdVideoEncodeH265ReferenceInfo {
                pic_type: kind(n == 1),
                PicOrderCntVal: poc(n.saturating_sub(1)),
                ..zeroed()
            },
        });
        if !idr {
            p.info.pRefLists = &raw const p.lists;
            p.info.pShortTermRefPicSet = &raw const p.rps;
        }
        p
    }
}

/// The result of `vkGetPhysicalDeviceVideoCapabilitiesKHR` for `profile` and the std header
/// it names.
fn capabilities(
    vq: &ash::khr::video_queue::Instance,
    pd: vk::PhysicalDevice,
    (profile, mut h265_profile): (
        vk::VideoProfileInfoKHR<'static>,
        vk::VideoEncodeH265ProfileInfoKHR<'static>,
    ),
) -> (vk::Result, vk::ExtensionProperties) {
    let profile = profile.push_next(&mut h265_profile);
    let mut h265_caps = vk::VideoEncodeH265CapabilitiesKHR::default();
    let mut encode_caps = vk::VideoEncodeCapabilitiesKHR::default();
    let mut caps = vk::VideoCapabilitiesKHR::default()
        .push_next(&mut encode_caps)
        .push_next(&mut h265_caps);
    // SAFETY: a well-formed profile and output chain (all live through the call).
    let r = unsafe {
        (vq.fp().get_physical_device_video_capabilities_khr)(pd, &raw const profile, &raw mut caps)
    };
    (r, caps.std_header_version)
}

/// The formats `vkGetPhysicalDeviceVideoFormatPropertiesKHR` gives for the Main 10 profile
/// and `usage`.
fn video_formats(
    vq: &ash::khr::video_queue::Instance,
    pd: vk::PhysicalDevice,
    usage: vk::ImageUsageFlags,
) -> Vec<(vk::Format, vk::ImageUsageFlags)> {
    let (profile, mut h265_profile) = main10();
    let profiles = [profile.push_next(&mut h265_profile)];
    let mut list = vk::VideoProfileListInfoKHR::default().profiles(&profiles);
    let info = vk::PhysicalDeviceVideoFormatInfoKHR::default()
        .image_usage(usage)
        .push_next(&mut list);
    let f = vq.fp().get_physical_device_video_format_properties_khr;
    let mut count = 0;
    // SAFETY: a count query, then an array of that size.
    unsafe { f(pd, &raw const info, &raw mut count, std::ptr::null_mut()) }
        .result()
        .unwrap();
    let mut out = vec![vk::VideoFormatPropertiesKHR::default(); count as usize];
    // SAFETY: as above.
    unsafe { f(pd, &raw const info, &raw mut count, out.as_mut_ptr()) }
        .result()
        .unwrap();
    out.iter()
        .map(|p| (p.format, p.image_usage_flags))
        .collect()
}

#[test]
fn main_10_pictures_encode_from_p010_and_decode_to_exactly_the_ten_bit_input() {
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        skip("no ffmpeg on PATH (the independent H.265 decoder)");
        return;
    }
    let Some(driver) = install_driver() else {
        return;
    };
    let log_path = driver.log.clone();
    let Some(vulkan) = Instance::new() else {
        return;
    };
    let instance = &vulkan.instance;
    let pd = vulkan.physical_device();
    let vqi = ash::khr::video_queue::Instance::new(&vulkan.entry, instance);

    // Capabilities: Main 10 at 10 bits answered; Main at 10 bits refused as a codec-specific
    // parameter the format cannot have (H.265 A.3.2: Main is 8-bit), and so is Main 10 at 8
    // bits (this device takes Main 10 at 10 bits only); unequal depths as a format refusal.
    let (r, std_header) = capabilities(&vqi, pd, main10());
    assert_eq!(r, vk::Result::SUCCESS);
    let (b8, b10) = (
        vk::VideoComponentBitDepthFlagsKHR::TYPE_8,
        vk::VideoComponentBitDepthFlagsKHR::TYPE_10,
    );
    for (idc, luma, chroma, expected) in [
        (
            MAIN,
            b10,
            b10,
            vk::Result::ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR,
        ),
        (
            MAIN_10,
            b8,
            b8,
            vk::Result::ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR,
        ),
        (
            MAIN_10,
            b10,
            b8,
            vk::Result::ERROR_VIDEO_PROFILE_FORMAT_NOT_SUPPORTED_KHR,
        ),
    ] {
        let (r, _) = capabilities(&vqi, pd, h265_profile(idc, luma, chroma));
        assert_eq!(r, expected, "idc {idc} luma {luma:?} chroma {chroma:?}");
    }
    // P010 for input (written by transfers or through plane views) and reference pictures.
    assert_eq!(
        video_formats(&vqi, pd, vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR),
        [(
            P010,
            vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR
                | vk::ImageUsageFlags::TRANSFER_SRC
                | vk::ImageUsageFlags::TRANSFER_DST
                | vk::ImageUsageFlags::STORAGE
        )]
    );
    assert_eq!(
        video_formats(&vqi, pd, vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR),
        [(P010, vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR)]
    );
    // SAFETY: a plain query.
    let features = unsafe { instance.get_physical_device_format_properties(pd, P010) };
    assert!(features.optimal_tiling_features.contains(
        vk::FormatFeatureFlags::VIDEO_ENCODE_INPUT_KHR
            | vk::FormatFeatureFlags::VIDEO_ENCODE_DPB_KHR
            | vk::FormatFeatureFlags::TRANSFER_DST
    ));

    let ext_names = [
        ash::khr::video_queue::NAME.as_ptr(),
        ash::khr::video_encode_queue::NAME.as_ptr(),
        ash::khr::video_encode_h265::NAME.as_ptr(),
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

    // The session: P010 pictures and references, 160x90, two DPB slots, one active reference.
    let (profile, mut h265_profile) = main10();
    let profile = profile.push_next(&mut h265_profile);
    let mut h265_session = vk::VideoEncodeH265SessionCreateInfoKHR::default();
    let info = vk::VideoSessionCreateInfoKHR::default()
        .queue_family_index(ENCODE_FAMILY)
        .video_profile(&profile)
        .picture_format(P010)
        .max_coded_extent(vk::Extent2D {
            width: W,
            height: H,
        })
        .reference_picture_format(P010)
        .max_dpb_slots(2)
        .max_active_reference_pictures(1)
        .std_header_version(&std_header)
        .push_next(&mut h265_session);
    let mut session = vk::VideoSessionKHR::null();
    // SAFETY: a well-formed create info.
    unsafe {
        (vq.fp().create_video_session_khr)(d, &raw const info, std::ptr::null(), &raw mut session)
    }
    .result()
    .expect("vkCreateVideoSessionKHR Main 10");
    let mut count = 0;
    // SAFETY: a count query, then the array of that size.
    unsafe {
        (vq.fp().get_video_session_memory_requirements_khr)(
            d,
            session,
            &raw mut count,
            std::ptr::null_mut(),
        )
    }
    .result()
    .unwrap();
    let mut reqs = vec![vk::VideoSessionMemoryRequirementsKHR::default(); count as usize];
    // SAFETY: as above.
    unsafe {
        (vq.fp().get_video_session_memory_requirements_khr)(
            d,
            session,
            &raw mut count,
            reqs.as_mut_ptr(),
        )
    }
    .result()
    .unwrap();
    let memories: Vec<_> = reqs
        .iter()
        .map(|r| allocate(r.memory_requirements, vk::MemoryPropertyFlags::DEVICE_LOCAL))
        .collect();
    let binds: Vec<_> = reqs
        .iter()
        .zip(&memories)
        .map(|(r, m)| {
            vk::BindVideoSessionMemoryInfoKHR::default()
                .memory_bind_index(r.memory_bind_index)
                .memory(*m)
                .memory_size(r.memory_requirements.size)
        })
        .collect();
    // SAFETY: each binding once.
    unsafe {
        (vq.fp().bind_video_session_memory_khr)(
            d,
            session,
            u32::try_from(binds.len()).unwrap(),
            binds.as_ptr(),
        )
    }
    .result()
    .unwrap();

    // Parameters: Main 10 level 4.1, 10-bit luma and chroma, 32x32 CTBs of 8x8 CBs (which
    // the driver overrides to 16x16 PCM coding units), 160x96 cropped to 160x90, POC lsb of 8
    // bits, short-term sets inline.
    let ptl = h265::std_ptl(
        MAIN_10,
        native::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_4_1,
    );
    let dpb = h265::one_reference_dpb();
    let vps_flags = h265::single_layer_vps_flags();
    let vps = native::StdVideoH265VideoParameterSet {
        pDecPicBufMgr: &raw const dpb,
        pProfileTierLevel: &raw const ptl,
        ..h265::std_vps(vps_flags)
    };
    let mut sps_flags = h265::no_sps_flags();
    sps_flags.set_sps_temporal_id_nesting_flag(1);
    sps_flags.set_sps_sub_layer_ordering_info_present_flag(1);
    sps_flags.set_amp_enabled_flag(1);
    sps_flags.set_sample_adaptive_offset_enabled_flag(1);
    sps_flags.set_strong_intra_smoothing_enabled_flag(1);
    sps_flags.set_conformance_window_flag(1);
    let sps = native::StdVideoH265SequenceParameterSet {
        chroma_format_idc: native::StdVideoH265ChromaFormatIdc_STD_VIDEO_H265_CHROMA_FORMAT_IDC_420,
        pic_width_in_luma_samples: W,
        pic_height_in_luma_samples: H.next_multiple_of(8),
        conf_win_bottom_offset: (H.next_multiple_of(8) - H) / 2,
        bit_depth_luma_minus8: 2,
        bit_depth_chroma_minus8: 2,
        log2_max_pic_order_cnt_lsb_minus4: 4,
        log2_diff_max_min_luma_coding_block_size: 2,
        log2_diff_max_min_luma_transform_block_size: 3,
        max_transform_hierarchy_depth_inter: 2,
        max_transform_hierarchy_depth_intra: 2,
        pProfileTierLevel: &raw const ptl,
        pDecPicBufMgr: &raw const dpb,
        ..h265::std_sps(sps_flags)
    };
    let mut pps_flags = h265::no_pps_flags();
    pps_flags.set_pps_loop_filter_across_slices_enabled_flag(1);
    pps_flags.set_deblocking_filter_control_present_flag(1);
    let pps = h265::std_pps(pps_flags);
    let (vpss, spss, ppss) = ([vps], [sps], [pps]);
    let add = vk::VideoEncodeH265SessionParametersAddInfoKHR::default()
        .std_vp_ss(&vpss)
        .std_sp_ss(&spss)
        .std_pp_ss(&ppss);
    let mut h265_params = vk::VideoEncodeH265SessionParametersCreateInfoKHR::default()
        .max_std_vps_count(1)
        .max_std_sps_count(1)
        .max_std_pps_count(1)
        .parameters_add_info(&add);
    let params_info = vk::VideoSessionParametersCreateInfoKHR::default()
        .video_session(session)
        .push_next(&mut h265_params);
    let mut params = vk::VideoSessionParametersKHR::null();
    // SAFETY: a well-formed create info.
    unsafe {
        (vq.fp().create_video_session_parameters_khr)(
            d,
            &raw const params_info,
            std::ptr::null(),
            &raw mut params,
        )
    }
    .result()
    .expect("vkCreateVideoSessionParametersKHR Main 10");

    // The parameter sets as the driver wrote them: the SPS overridden (PCM), 10-bit.
    let mut h265_get = vk::VideoEncodeH265SessionParametersGetInfoKHR::default()
        .write_std_vps(true)
        .write_std_sps(true)
        .write_std_pps(true);
    let get_info = vk::VideoEncodeSessionParametersGetInfoKHR::default()
        .video_session_parameters(params)
        .push_next(&mut h265_get);
    let mut h265_feedback = vk::VideoEncodeH265SessionParametersFeedbackInfoKHR::default();
    let mut feedback =
        vk::VideoEncodeSessionParametersFeedbackInfoKHR::default().push_next(&mut h265_feedback);
    let get = veq.fp().get_encoded_video_session_parameters_khr;
    let mut size = 0usize;
    // SAFETY: a size query with well-formed structures.
    unsafe {
        get(
            d,
            &raw const get_info,
            std::ptr::null_mut(),
            &raw mut size,
            std::ptr::null_mut(),
        )
    }
    .result()
    .unwrap();
    let mut header_bytes = vec![0u8; size];
    // SAFETY: `header_bytes` holds `size` bytes.
    unsafe {
        get(
            d,
            &raw const get_info,
            &raw mut feedback,
            &raw mut size,
            header_bytes.as_mut_ptr().cast(),
        )
    }
    .result()
    .unwrap();
    assert_eq!(
        (
            feedback.has_overrides,
            h265_feedback.has_std_vps_overrides,
            h265_feedback.has_std_sps_overrides,
        ),
        (vk::TRUE, vk::FALSE, vk::TRUE)
    );

    // Images: one P010 input per picture (transfer targets), two P010 references.
    let (list_profile, mut list_h265) = main10();
    let list_profiles = [list_profile.push_next(&mut list_h265)];
    let make_image = |usage: vk::ImageUsageFlags| {
        let mut list = vk::VideoProfileListInfoKHR::default().profiles(&list_profiles);
        let info = vk::ImageCreateInfo::default()
            .image_type(vk::ImageType::TYPE_2D)
            .format(P010)
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
        // SAFETY: a well-formed create info, then its memory bound once and a view of it.
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
                        .format(P010)
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
    let inputs: Vec<_> = (0..FRAMES)
        .map(|_| {
            make_image(
                vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR | vk::ImageUsageFlags::TRANSFER_DST,
            )
        })
        .collect();
    let references = [
        make_image(vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR),
        make_image(vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR),
    ];

    // Buffers: the upload (three P010 pictures) and the bitstream (a slot per picture).
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
    let (w, h) = (W as usize, H as usize);
    let luma_bytes = u64::from(W * H * 2);
    let picture_bytes = luma_bytes * 3 / 2;
    let upload = make_buffer(
        picture_bytes * u64::from(FRAMES),
        vk::BufferUsageFlags::TRANSFER_SRC,
        false,
    );
    let bitstream = make_buffer(
        SLOT_BYTES * u64::from(FRAMES),
        vk::BufferUsageFlags::VIDEO_ENCODE_DST_KHR,
        true,
    );
    let mut expected = Vec::new();
    for f in 0..FRAMES {
        let (luma, chroma) = pattern10(w, h, f as usize);
        assert_eq!(
            (luma.len() as u64, chroma.len() as u64),
            (luma_bytes, luma_bytes / 2)
        );
        let at = usize::try_from(picture_bytes * u64::from(f)).unwrap();
        // SAFETY: the mapping holds FRAMES pictures of picture_bytes each.
        unsafe {
            std::ptr::copy_nonoverlapping(luma.as_ptr(), upload.ptr.add(at), luma.len());
            std::ptr::copy_nonoverlapping(
                chroma.as_ptr(),
                upload.ptr.add(at + luma.len()),
                chroma.len(),
            );
        }
        push_yuv420p10(&mut expected, (&luma, &chroma), w, W, H);
    }
    // SAFETY: the bitstream mapping holds FRAMES slots.
    unsafe {
        std::ptr::write_bytes(
            bitstream.ptr,
            0,
            usize::try_from(SLOT_BYTES * u64::from(FRAMES)).unwrap(),
        );
    }

    // The feedback queries: offset and bytes written, one per picture.
    let (qp, mut qh) = main10();
    let mut query_feedback = vk::QueryPoolVideoEncodeFeedbackCreateInfoKHR::default()
        .encode_feedback_flags(
            vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BUFFER_OFFSET
                | vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BYTES_WRITTEN,
        );
    let mut query_profile = qp.push_next(&mut qh);
    let query_info = vk::QueryPoolCreateInfo::default()
        .query_type(vk::QueryType::VIDEO_ENCODE_FEEDBACK_KHR)
        .query_count(FRAMES)
        .push_next(&mut query_feedback)
        .push_next(&mut query_profile);
    // SAFETY: a well-formed create info.
    let queries = unsafe { device.create_query_pool(&query_info, None) }.unwrap();

    // Command buffers, a timeline semaphore and a fence.
    let make_pool = |family: u32| {
        // SAFETY: a well-formed create info.
        unsafe {
            device.create_command_pool(
                &vk::CommandPoolCreateInfo::default().queue_family_index(family),
                None,
            )
        }
        .unwrap()
    };
    let (compute_pool, encode_pool) = (make_pool(COMPUTE_FAMILY), make_pool(ENCODE_FAMILY));
    let command_buffer = |pool: vk::CommandPool| {
        // SAFETY: a well-formed allocate info.
        let cb = unsafe {
            device.allocate_command_buffers(
                &vk::CommandBufferAllocateInfo::default()
                    .command_pool(pool)
                    .level(vk::CommandBufferLevel::PRIMARY)
                    .command_buffer_count(1),
            )
        }
        .unwrap()[0];
        // SAFETY: a command buffer in the initial state.
        unsafe {
            device.begin_command_buffer(
                cb,
                &vk::CommandBufferBeginInfo::default()
                    .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT),
            )
        }
        .unwrap();
        cb
    };
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
    let ownership = |image: vk::Image, acquire: bool| {
        let b = vk::ImageMemoryBarrier2::default()
            .old_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)
            .new_layout(vk::ImageLayout::VIDEO_ENCODE_SRC_KHR)
            .src_queue_family_index(COMPUTE_FAMILY)
            .dst_queue_family_index(ENCODE_FAMILY)
            .image(image)
            .subresource_range(color);
        if acquire {
            b.dst_stage_mask(vk::PipelineStageFlags2::VIDEO_ENCODE_KHR)
                .dst_access_mask(vk::AccessFlags2::VIDEO_ENCODE_READ_KHR)
        } else {
            b.src_stage_mask(vk::PipelineStageFlags2::COPY)
                .src_access_mask(vk::AccessFlags2::TRANSFER_WRITE)
        }
    };
    let submit = |queue: vk::Queue,
                  cb: vk::CommandBuffer,
                  wait: Option<vk::PipelineStageFlags2>,
                  signal: Option<vk::PipelineStageFlags2>,
                  fence: vk::Fence| {
        let semaphore = |stage| {
            vk::SemaphoreSubmitInfo::default()
                .semaphore(timeline)
                .value(1)
                .stage_mask(stage)
        };
        let waits: Vec<_> = wait.map(semaphore).into_iter().collect();
        let signals: Vec<_> = signal.map(semaphore).into_iter().collect();
        let cbs = [vk::CommandBufferSubmitInfo::default().command_buffer(cb)];
        let info = vk::SubmitInfo2::default()
            .wait_semaphore_infos(&waits)
            .command_buffer_infos(&cbs)
            .signal_semaphore_infos(&signals);
        // SAFETY: an executable command buffer, a live semaphore and fence.
        unsafe {
            device.end_command_buffer(cb).unwrap();
            device.queue_submit2(queue, &[info], fence).unwrap();
        }
    };

    // 1. Compute: upload the three pictures (luma words, then CbCr word pairs), release them.
    let cb = command_buffer(compute_pool);
    let to_transfer: Vec<_> = inputs
        .iter()
        .map(|i| {
            vk::ImageMemoryBarrier2::default()
                .dst_stage_mask(vk::PipelineStageFlags2::COPY)
                .dst_access_mask(vk::AccessFlags2::TRANSFER_WRITE)
                .old_layout(vk::ImageLayout::UNDEFINED)
                .new_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)
                .image(i.0)
                .subresource_range(color)
        })
        .collect();
    barrier(cb, &to_transfer);
    for (f, input) in inputs.iter().enumerate() {
        let base = picture_bytes * u64::try_from(f).unwrap();
        let region = |offset: u64, aspect: vk::ImageAspectFlags, (width, height): (u32, u32)| {
            vk::BufferImageCopy {
                buffer_offset: offset,
                buffer_row_length: 0,
                buffer_image_height: 0,
                image_subresource: vk::ImageSubresourceLayers {
                    aspect_mask: aspect,
                    mip_level: 0,
                    base_array_layer: 0,
                    layer_count: 1,
                },
                image_offset: vk::Offset3D::default(),
                image_extent: vk::Extent3D {
                    width,
                    height,
                    depth: 1,
                },
            }
        };
        let regions = [
            region(base, vk::ImageAspectFlags::PLANE_0, (W, H)),
            region(
                base + luma_bytes,
                vk::ImageAspectFlags::PLANE_1,
                (W / 2, H / 2),
            ),
        ];
        // SAFETY: a recording command buffer; regions inside both objects.
        unsafe {
            device.cmd_copy_buffer_to_image(
                cb,
                upload.buffer,
                input.0,
                vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                &regions,
            );
        }
    }
    let release: Vec<_> = inputs.iter().map(|i| ownership(i.0, false)).collect();
    barrier(cb, &release);
    submit(
        compute_queue,
        cb,
        None,
        Some(vk::PipelineStageFlags2::ALL_COMMANDS),
        vk::Fence::null(),
    );

    // 2. Encode: acquire, then an IDR into slot 0 and P pictures into slots 1, 0, each
    // naming the slot before; one coding scope per picture, the first one resetting.
    let cb = command_buffer(encode_pool);
    let mut acquire: Vec<_> = inputs.iter().map(|i| ownership(i.0, true)).collect();
    acquire.extend(references.iter().map(|r| {
        vk::ImageMemoryBarrier2::default()
            .dst_stage_mask(vk::PipelineStageFlags2::VIDEO_ENCODE_KHR)
            .dst_access_mask(
                vk::AccessFlags2::VIDEO_ENCODE_READ_KHR | vk::AccessFlags2::VIDEO_ENCODE_WRITE_KHR,
            )
            .old_layout(vk::ImageLayout::UNDEFINED)
            .new_layout(vk::ImageLayout::VIDEO_ENCODE_DPB_KHR)
            .image(r.0)
            .subresource_range(color)
    }));
    barrier(cb, &acquire);
    // SAFETY: a recording command buffer outside a coding scope.
    unsafe { device.cmd_reset_query_pool(cb, queries, 0, FRAMES) };
    let resource = |view: vk::ImageView| {
        vk::VideoPictureResourceInfoKHR::default()
            .coded_extent(vk::Extent2D {
                width: W,
                height: H,
            })
            .image_view_binding(view)
    };
    let pictures: Vec<_> = (0..FRAMES).map(Picture::new).collect();
    for (n, p) in (0..FRAMES).zip(&pictures) {
        let idr = n == 0;
        let (setup_slot, reference_slot) = ((n % 2) as usize, (1 - n % 2) as usize);
        let setup_resource = resource(references[setup_slot].2);
        let reference_resource = resource(references[reference_slot].2);
        // The scope binds the picture set up (not an active slot yet: index -1) and the
        // one read.
        let bound = [
            vk::VideoReferenceSlotInfoKHR::default()
                .slot_index(-1)
                .picture_resource(&setup_resource),
            vk::VideoReferenceSlotInfoKHR::default()
                .slot_index(i32::try_from(reference_slot).unwrap())
                .picture_resource(&reference_resource),
        ];
        let begin = vk::VideoBeginCodingInfoKHR::default()
            .video_session(session)
            .video_session_parameters(params)
            .reference_slots(if idr { &bound[..1] } else { &bound[..] });
        let control =
            vk::VideoCodingControlInfoKHR::default().flags(vk::VideoCodingControlFlagsKHR::RESET);
        let slices = [vk::VideoEncodeH265NaluSliceSegmentInfoKHR::default()
            .std_slice_segment_header(&p.slice)];
        let mut h265_picture = vk::VideoEncodeH265PictureInfoKHR::default()
            .nalu_slice_segment_entries(&slices)
            .std_picture_info(&p.info);
        let mut setup_dpb =
            vk::VideoEncodeH265DpbSlotInfoKHR::default().std_reference_info(&p.setup);
        let setup = vk::VideoReferenceSlotInfoKHR::default()
            .slot_index(i32::try_from(setup_slot).unwrap())
            .picture_resource(&setup_resource)
            .push_next(&mut setup_dpb);
        let mut reference_dpb =
            vk::VideoEncodeH265DpbSlotInfoKHR::default().std_reference_info(&p.reference);
        let read = [vk::VideoReferenceSlotInfoKHR::default()
            .slot_index(i32::try_from(reference_slot).unwrap())
            .picture_resource(&reference_resource)
            .push_next(&mut reference_dpb)];
        let mut encode = vk::VideoEncodeInfoKHR::default()
            .dst_buffer(bitstream.buffer)
            .dst_buffer_offset(SLOT_BYTES * u64::from(n))
            .dst_buffer_range(SLOT_BYTES)
            .src_picture_resource(resource(inputs[n as usize].2))
            .setup_reference_slot(&setup)
            .push_next(&mut h265_picture);
        if !idr {
            encode = encode.reference_slots(&read);
        }
        // SAFETY: a recording command buffer on the encode family; every structure well
        // formed and alive through the calls.
        unsafe {
            (vq.fp().cmd_begin_video_coding_khr)(cb, &raw const begin);
            if idr {
                (vq.fp().cmd_control_video_coding_khr)(cb, &raw const control);
            }
            device.cmd_begin_query(cb, queries, n, vk::QueryControlFlags::empty());
            (veq.fp().cmd_encode_video_khr)(cb, &raw const encode);
            device.cmd_end_query(cb, queries, n);
            (vq.fp().cmd_end_video_coding_khr)(cb, &vk::VideoEndCodingInfoKHR::default());
        }
    }
    submit(
        encode_queue,
        cb,
        Some(vk::PipelineStageFlags2::VIDEO_ENCODE_KHR),
        None,
        fence,
    );
    // SAFETY: a live fence.
    unsafe { device.wait_for_fences(&[fence], true, 5_000_000_000) }.unwrap();

    // The feedback: each picture at its slot's start, complete.
    let mut results = [[0u64; 3]; FRAMES as usize];
    // SAFETY: FRAMES queries of 3 64-bit values.
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
    let mut stream = header_bytes.clone();
    // SAFETY: the bitstream mapping holds FRAMES slots.
    let out = unsafe {
        std::slice::from_raw_parts(
            bitstream.ptr,
            usize::try_from(SLOT_BYTES * u64::from(FRAMES)).unwrap(),
        )
    };
    for (n, [offset, bytes, status]) in results.iter().enumerate() {
        assert_eq!((*offset, *status), (0, 1), "picture {n}: {results:?}");
        // Sixty 16x16 coding units of 480 PCM bytes each, and the headers.
        assert!(*bytes > 60 * 480 && *bytes < SLOT_BYTES, "{results:?}");
        let at = usize::try_from(SLOT_BYTES).unwrap() * n;
        let picture = &out[at..at + usize::try_from(*bytes).unwrap()];
        let nal_type = if n == 0 { 19 } else { 1 };
        assert_eq!(picture[..6], [0, 0, 0, 1, nal_type << 1, 1], "picture {n}");
        stream.extend_from_slice(picture);
    }
    let messages = take_messages();
    assert!(
        messages.is_empty(),
        "the validation layer reported on correct use:\n{}",
        messages.join("\n")
    );

    // FFmpeg decodes exactly the ten-bit input, and reads 10-bit sample and PCM depths.
    let dir = tempfile::tempdir().unwrap();
    let input = decode_and_compare_as(
        dir.path(),
        "h265",
        &stream,
        (W, H),
        FRAMES as usize,
        &expected,
        "yuv420p10le",
    );
    let traced = trace_headers("info", &input);
    let stderr = String::from_utf8_lossy(&traced.stderr);
    assert!(traced.status.success(), "{stderr}");
    let value = |name: &str| -> Vec<String> {
        stderr
            .lines()
            .filter(|l| l.split_whitespace().any(|t| t == name))
            .filter_map(|l| l.rsplit('=').next().map(|v| v.trim().to_string()))
            .collect()
    };
    for (name, v) in [
        ("general_profile_idc", "2"),
        ("bit_depth_luma_minus8", "2"),
        ("bit_depth_chroma_minus8", "2"),
        ("pcm_enabled_flag", "1"),
        ("pcm_sample_bit_depth_luma_minus1", "9"),
        ("pcm_sample_bit_depth_chroma_minus1", "9"),
    ] {
        let got = value(name);
        assert!(
            !got.is_empty() && got.iter().all(|g| g == v),
            "{name}: {got:?}, expected {v}:\n{stderr}"
        );
    }

    // SAFETY: everything made above, destroyed once, children first.
    unsafe {
        device.destroy_query_pool(queries, None);
        device.destroy_fence(fence, None);
        device.destroy_semaphore(timeline, None);
        device.destroy_command_pool(compute_pool, None);
        device.destroy_command_pool(encode_pool, None);
        for b in [&upload, &bitstream] {
            device.unmap_memory(b.memory);
            device.destroy_buffer(b.buffer, None);
            device.free_memory(b.memory, None);
        }
        for (image, mem, view) in inputs.iter().chain(&references) {
            device.destroy_image_view(*view, None);
            device.destroy_image(*image, None);
            device.free_memory(*mem, None);
        }
        (vq.fp().destroy_video_session_parameters_khr)(d, params, std::ptr::null());
        (vq.fp().destroy_video_session_khr)(d, session, std::ptr::null());
        for m in memories {
            device.free_memory(m, None);
        }
        device.destroy_device(None);
        vulkan.destroy();
    }
    let late = take_messages();
    assert!(late.is_empty(), "{}", late.join("\n"));

    // The driver's log: the three encodes ran on P010 pictures, nothing failed or leaked.
    let calls = log::read(&log_path).unwrap();
    let encodes: Vec<_> = calls
        .iter()
        .filter(|c| c.name == "execute" && c.detail.starts_with("vkCmdEncodeVideoKHR"))
        .map(|c| (c.detail.clone(), c.result.clone()))
        .collect();
    assert_eq!(encodes.len(), 3, "{encodes:#?}");
    for (n, (detail, result)) in encodes.iter().enumerate() {
        assert_eq!(result, "SUCCESS", "{detail}");
        assert!(
            detail.starts_with(&format!("vkCmdEncodeVideoKHR poc={n} ")),
            "{detail}"
        );
    }
    let failed: Vec<_> = calls
        .iter()
        .filter(|c| !c.name.ends_with("ProcAddr"))
        .filter(|c| !["", "SUCCESS", "found", "INCOMPLETE"].contains(&c.result.as_str()))
        .map(|c| format!("{} {} -> {}", c.name, c.detail, c.result))
        .collect();
    // The three refused capability queries, nothing else.
    assert_eq!(failed.len(), 3, "{failed:#?}");
    assert!(
        failed
            .iter()
            .all(|f| f.starts_with("vkGetPhysicalDeviceVideoCapabilitiesKHR")),
        "{failed:#?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.name == "vkDestroyDevice" && c.detail.is_empty()),
        "no objects leaked"
    );
}
