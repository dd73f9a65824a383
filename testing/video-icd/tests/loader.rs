//! The test driver through the real Vulkan loader: the manifest, the interface negotiation,
//! the device's queue families and video capabilities as an application sees them, memory
//! that maps, and GhostStream's own context creation with the validation layer on.
//!
//! One test in this binary: the loader reads `VK_DRIVER_FILES` when it first scans for
//! drivers, so the environment is set before any Vulkan call and never changes.

use ash::vk;
use ghoststream::gpu::{DeviceSelector, GpuContext, GpuOptions};
use ghoststream_video_icd::{caps, log, COMPUTE_FAMILY, ENCODE_FAMILY};

mod common;
use common::vulkan::{h264_capabilities, h264_high};
use common::{install_driver, skip};

#[test]
fn the_loader_finds_the_driver_and_ghoststream_creates_its_context_on_it() {
    // Before any Vulkan call, and the only test of this binary.
    let Some(driver) = install_driver() else {
        return;
    };
    let log_path = driver.log.clone();

    // SAFETY: loading the system's Vulkan loader.
    let entry = match unsafe { ash::Entry::load() } {
        Ok(e) => e,
        Err(e) => {
            skip(&format!("no Vulkan loader ({e})"));
            return;
        }
    };
    let table = caps::active();
    let app = vk::ApplicationInfo::default().api_version(vk::API_VERSION_1_3);
    // SAFETY: a plain instance with no layers or extensions.
    let instance = unsafe {
        entry.create_instance(
            &vk::InstanceCreateInfo::default().application_info(&app),
            None,
        )
    }
    .expect("vkCreateInstance through the loader");
    // SAFETY: plain queries on the instance's devices.
    let devices = unsafe { instance.enumerate_physical_devices() }.unwrap();
    assert_eq!(
        devices.len(),
        1,
        "the loader sees only the test driver's device"
    );
    let pd = devices[0];
    // SAFETY: as above.
    let props = unsafe { instance.get_physical_device_properties(pd) };
    assert_eq!(
        props.device_name_as_c_str().unwrap().to_str().unwrap(),
        table.name
    );
    assert_eq!(
        (props.vendor_id, props.device_id),
        (table.vendor_id, table.device_id)
    );
    assert_eq!(props.api_version, table.api_version);

    // Queue families with their video properties, through vkGetPhysicalDeviceQueueFamilyProperties2.
    let mut video_props = [vk::QueueFamilyVideoPropertiesKHR::default(); 2];
    {
        let mut families: Vec<_> = video_props
            .iter_mut()
            .map(|v| vk::QueueFamilyProperties2::default().push_next(v))
            .collect();
        // SAFETY: as above.
        let n = unsafe { instance.get_physical_device_queue_family_properties2_len(pd) };
        assert_eq!(n, 2);
        // SAFETY: `families` has room for all of them.
        unsafe { instance.get_physical_device_queue_family_properties2(pd, &mut families) };
        let compute = families[COMPUTE_FAMILY as usize].queue_family_properties;
        let encode = families[ENCODE_FAMILY as usize].queue_family_properties;
        assert_eq!(
            compute.queue_flags,
            vk::QueueFlags::COMPUTE | vk::QueueFlags::TRANSFER
        );
        assert_eq!(encode.queue_flags, vk::QueueFlags::VIDEO_ENCODE_KHR);
        assert_eq!((compute.queue_count, encode.queue_count), (1, 1));
    }
    assert_eq!(
        video_props[0].video_codec_operations,
        vk::VideoCodecOperationFlagsKHR::NONE
    );
    assert_eq!(
        video_props[1].video_codec_operations,
        vk::VideoCodecOperationFlagsKHR::ENCODE_H264
            | vk::VideoCodecOperationFlagsKHR::ENCODE_H265
            | caps::CODEC_OPERATION_ENCODE_AV1
    );

    // SAFETY: as above.
    let extensions = unsafe { instance.enumerate_device_extension_properties(pd) }.unwrap();
    let names: Vec<_> = extensions
        .iter()
        .map(|e| {
            e.extension_name_as_c_str()
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "VK_KHR_video_queue",
            "VK_KHR_video_encode_queue",
            "VK_KHR_video_encode_h264",
            "VK_KHR_video_encode_h265",
            "VK_KHR_video_encode_av1"
        ]
    );

    // H.264 High encode capabilities through the loader: exactly the table's values.
    let video_queue = ash::khr::video_queue::Instance::new(&entry, &instance);
    let (video_caps, encode_caps, h264_caps) = h264_capabilities(&entry, &instance, pd);
    let v = table.h264_video;
    assert_eq!(video_caps.flags, v.flags);
    assert_eq!(
        video_caps.min_bitstream_buffer_offset_alignment,
        v.min_bitstream_buffer_offset_alignment
    );
    assert_eq!(
        video_caps.min_bitstream_buffer_size_alignment,
        v.min_bitstream_buffer_size_alignment
    );
    assert_eq!(
        (
            video_caps.max_coded_extent.width,
            video_caps.max_coded_extent.height
        ),
        v.max_coded_extent
    );
    assert_eq!(
        (
            video_caps.min_coded_extent.width,
            video_caps.min_coded_extent.height
        ),
        v.min_coded_extent
    );
    assert_eq!(
        (
            video_caps.max_dpb_slots,
            video_caps.max_active_reference_pictures
        ),
        (v.max_dpb_slots, v.max_active_reference_pictures)
    );
    assert_eq!(
        video_caps
            .std_header_version
            .extension_name_as_c_str()
            .unwrap()
            .to_str()
            .unwrap(),
        caps::STD_H264_ENCODE_NAME
    );
    assert_eq!(
        video_caps.std_header_version.spec_version,
        caps::STD_VERSION_1_0_0
    );
    let e = table.h264_encode;
    assert_eq!(
        (
            encode_caps.rate_control_modes,
            encode_caps.max_quality_levels,
            encode_caps.max_bitrate,
            encode_caps.supported_encode_feedback_flags
        ),
        (
            e.rate_control_modes,
            e.max_quality_levels,
            e.max_bitrate,
            e.supported_encode_feedback_flags
        )
    );
    let h = table.h264;
    assert_eq!(
        (
            h264_caps.max_level_idc,
            h264_caps.max_slice_count,
            h264_caps.max_p_picture_l0_reference_count,
            h264_caps.min_qp,
            h264_caps.max_qp,
            h264_caps.flags
        ),
        (
            h.max_level_idc,
            h.max_slice_count,
            h.max_p_picture_l0_reference_count,
            h.min_qp,
            h.max_qp,
            h.flags
        )
    );

    // A 4:4:4 profile is refused with the code the spec gives for it.
    let (profile444, mut h264_444) = h264_high();
    let profile444 = profile444
        .chroma_subsampling(vk::VideoChromaSubsamplingFlagsKHR::TYPE_444)
        .push_next(&mut h264_444);
    let mut h264_caps2 = vk::VideoEncodeH264CapabilitiesKHR::default();
    let mut encode_caps2 = vk::VideoEncodeCapabilitiesKHR::default();
    let mut caps2 = vk::VideoCapabilitiesKHR::default()
        .push_next(&mut encode_caps2)
        .push_next(&mut h264_caps2);
    // SAFETY: as above.
    let r = unsafe {
        (video_queue.fp().get_physical_device_video_capabilities_khr)(
            pd,
            &raw const profile444,
            &raw mut caps2,
        )
    };
    assert_eq!(r, vk::Result::ERROR_VIDEO_PROFILE_FORMAT_NOT_SUPPORTED_KHR);

    // Encode input pictures are NV12.
    let (profile, mut h264_profile) = h264_high();
    let profiles = [profile.push_next(&mut h264_profile)];
    let mut list = vk::VideoProfileListInfoKHR::default().profiles(&profiles);
    let format_info = vk::PhysicalDeviceVideoFormatInfoKHR::default()
        .image_usage(vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR)
        .push_next(&mut list);
    let mut count = 0;
    let get_formats = video_queue
        .fp()
        .get_physical_device_video_format_properties_khr;
    // SAFETY: a count query with a well-formed info chain.
    unsafe {
        get_formats(
            pd,
            &raw const format_info,
            &raw mut count,
            std::ptr::null_mut(),
        )
    }
    .result()
    .unwrap();
    let mut formats = vec![vk::VideoFormatPropertiesKHR::default(); count as usize];
    // SAFETY: `formats` holds `count` structures.
    unsafe {
        get_formats(
            pd,
            &raw const format_info,
            &raw mut count,
            formats.as_mut_ptr(),
        )
    }
    .result()
    .unwrap();
    assert_eq!(formats.len(), 1);
    assert_eq!(formats[0].format, vk::Format::G8_B8R8_2PLANE_420_UNORM);
    assert!(formats[0]
        .image_usage_flags
        .contains(vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR));

    // A device with both families; a buffer in host-visible memory maps to real memory.
    let priorities = [1.0f32];
    let queues = [
        vk::DeviceQueueCreateInfo::default()
            .queue_family_index(COMPUTE_FAMILY)
            .queue_priorities(&priorities),
        vk::DeviceQueueCreateInfo::default()
            .queue_family_index(ENCODE_FAMILY)
            .queue_priorities(&priorities),
    ];
    let ext_names = [
        ash::khr::video_queue::NAME.as_ptr(),
        ash::khr::video_encode_queue::NAME.as_ptr(),
        ash::khr::video_encode_h264::NAME.as_ptr(),
    ];
    let mut sync2 = vk::PhysicalDeviceVulkan13Features::default().synchronization2(true);
    let device_info = vk::DeviceCreateInfo::default()
        .queue_create_infos(&queues)
        .enabled_extension_names(&ext_names)
        .push_next(&mut sync2);
    // SAFETY: the create info is well formed.
    let device = unsafe { instance.create_device(pd, &device_info, None) }.expect("vkCreateDevice");
    // SAFETY: both families were asked for at creation.
    let (q0, q1) = unsafe {
        (
            device.get_device_queue(COMPUTE_FAMILY, 0),
            device.get_device_queue(ENCODE_FAMILY, 0),
        )
    };
    assert_ne!(q0, q1);
    // SAFETY: the buffer and memory are made, used and freed on this thread, in order.
    unsafe {
        let buffer = device
            .create_buffer(
                &vk::BufferCreateInfo::default()
                    .size(1000)
                    .usage(vk::BufferUsageFlags::VIDEO_ENCODE_DST_KHR),
                None,
            )
            .unwrap();
        let req = device.get_buffer_memory_requirements(buffer);
        assert_eq!((req.size, req.alignment), (1024, 256));
        let host = ghoststream_video_icd::MEMORY_TYPES
            .iter()
            .position(|f| {
                f.contains(
                    vk::MemoryPropertyFlags::HOST_VISIBLE | vk::MemoryPropertyFlags::HOST_COHERENT,
                )
            })
            .unwrap();
        let memory = device
            .allocate_memory(
                &vk::MemoryAllocateInfo::default()
                    .allocation_size(req.size)
                    .memory_type_index(u32::try_from(host).unwrap()),
                None,
            )
            .unwrap();
        device.bind_buffer_memory(buffer, memory, 0).unwrap();
        let p = device
            .map_memory(memory, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
            .unwrap()
            .cast::<u8>();
        let bytes: Vec<u8> = (0..=255).cycle().take(1024).collect();
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        device.unmap_memory(memory);
        let p = device
            .map_memory(memory, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
            .unwrap()
            .cast::<u8>();
        assert_eq!(std::slice::from_raw_parts(p, 1024), &bytes[..]);
        device.unmap_memory(memory);
        device.destroy_buffer(buffer, None);
        device.free_memory(memory, None);
        device.destroy_device(None);
        instance.destroy_instance(None);
    }

    // GhostStream's own device setup, with the validation layer.
    let ctx = match GpuContext::new(&GpuOptions {
        device: DeviceSelector::Name("GhostStream test driver".into()),
        validation: true,
    }) {
        Ok(c) => c,
        Err(e) => {
            let calls = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<_> = calls.lines().rev().take(40).collect();
            if e.to_string().contains("VK_LAYER_KHRONOS_validation") {
                skip(&format!("no validation layer ({e})"));
                return;
            }
            panic!(
                "GpuContext::new on the test driver: {e}\nlast calls:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    };
    let info = ctx.device_info();
    assert_eq!(info.name, table.name);
    assert_eq!(info.kind, "discrete");
    assert_eq!(info.device_uuid, table.device_uuid);
    assert_eq!(
        info.driver,
        format!("{} {}", table.driver_name, table.driver_info)
    );
    context_has_the_encode_queue(&ctx);
    let messages = ctx.take_validation_messages();
    drop(ctx);
    // Debian 12's layer (1.3.239) predates the video-encode codec extensions and says so for
    // each one enabled; the run under layer 1.4 (GHOSTSTREAM_REQUIRE_VVL14, `make test`) takes
    // no message at all.
    let strict = std::env::var_os("GHOSTSTREAM_REQUIRE_VVL14").is_some();
    let messages: Vec<_> = messages
        .into_iter()
        .filter(|m| {
            strict
                || !(m.contains("is not supported by this layer")
                    // The AV1-encode feature structure (VK_KHR_video_encode_av1, newer than
                    // that layer) in the device's create chain.
                    || m.contains("unknown VkStructureType (1000513004)"))
        })
        .collect();
    assert!(
        messages.is_empty(),
        "validation layer reported:\n{}",
        messages.join("\n")
    );

    // The log: the interface was negotiated, the calls are there, and none of the entry points
    // GhostStream and this test called was missing.
    let calls = log::read(&log_path).unwrap();
    let mut answered: Vec<String> = calls
        .iter()
        .filter(|c| !c.name.ends_with("ProcAddr"))
        .map(|c| c.name.clone())
        .collect();
    answered.sort();
    answered.dedup();
    let missing: Vec<_> = calls
        .iter()
        .filter(|c| c.name.ends_with("ProcAddr") && c.result == "null")
        .map(|c| c.detail.as_str())
        .collect();
    eprintln!(
        "{} calls into the driver; entry points called: {}; asked for but not implemented: {}",
        calls.len(),
        answered.join(" "),
        missing.len()
    );
    if let Some(copy) = std::env::var_os("GHOSTSTREAM_ICD_LOG_COPY") {
        std::fs::copy(&log_path, copy).unwrap();
    }
    let negotiated = calls
        .iter()
        .find(|c| c.name == "vk_icdNegotiateLoaderICDInterfaceVersion")
        .expect("negotiation logged");
    assert_eq!(negotiated.result, "SUCCESS");
    assert!(negotiated.detail.contains("agreed="), "{negotiated:?}");
    let count = |name: &str| calls.iter().filter(|c| c.name == name).count();
    assert_eq!(
        count("vkCreateInstance"),
        2,
        "this test's instance and GhostStream's"
    );
    assert_eq!(count("vkCreateDevice"), 2);
    assert_eq!(count("vkDestroyDevice"), 2);
    assert_eq!(count("vkDestroyInstance"), 2);
    assert_eq!(count("vkMapMemory"), 2);
    let caps_calls: Vec<_> = calls
        .iter()
        .filter(|c| c.name == "vkGetPhysicalDeviceVideoCapabilitiesKHR")
        .map(|c| c.result.as_str())
        .collect();
    assert_eq!(
        caps_calls,
        ["SUCCESS", "ERROR_VIDEO_PROFILE_FORMAT_NOT_SUPPORTED_KHR"]
    );
    // Apart from the deliberate 4:4:4 refusal, every call succeeded.
    let failed: Vec<_> = calls
        .iter()
        .filter(|c| !c.name.ends_with("ProcAddr"))
        .filter(|c| !["", "SUCCESS", "found"].contains(&c.result.as_str()))
        .map(|c| format!("{} {} -> {}", c.name, c.detail, c.result))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert!(failed[0].contains("chroma=0x8"), "{failed:#?}");
    probe_reports_the_drivers_encode_capabilities();
}

/// A context on the driver creates its video-encode queue too, with the extensions it needs.
fn context_has_the_encode_queue(ctx: &GpuContext) {
    let (family, operations) = ctx.video_encode_family().expect("an encode queue");
    assert_eq!(family, ENCODE_FAMILY);
    assert!(operations.contains(vk::VideoCodecOperationFlagsKHR::ENCODE_H264));
    assert!(operations.contains(vk::VideoCodecOperationFlagsKHR::ENCODE_H265));
    for ext in [
        "VK_KHR_video_queue",
        "VK_KHR_video_encode_queue",
        "VK_KHR_video_encode_h264",
        "VK_KHR_video_encode_h265",
    ] {
        assert!(ctx.has_extension(ext), "{ext} enabled");
    }
}

/// GhostStream's own probe of Vulkan Video encode (what `ghoststream probe` prints) finds the
/// driver's encode family and reports the table's H.264 and H.265 capabilities; AV1, which the
/// driver does not offer, is refused with the extension named.
fn probe_reports_the_drivers_encode_capabilities() {
    use ghoststream::gpu::video::caps::encode_support;
    use ghoststream::Codec;
    let table = caps::active();
    let h264 = encode_support(Codec::H264).expect("the driver encodes H.264");
    assert_eq!(h264.device, table.name);
    assert_eq!(h264.profile, "H.264 High");
    assert_eq!(h264.queue_family, ENCODE_FAMILY);
    assert_eq!(h264.max_coded_extent, table.h264_video.max_coded_extent);
    assert_eq!(h264.min_coded_extent, table.h264_video.min_coded_extent);
    assert_eq!(h264.max_dpb_slots, table.h264_video.max_dpb_slots);
    assert_eq!(
        h264.max_active_references,
        table.h264_video.max_active_reference_pictures
    );
    assert_eq!(h264.rate_control, ["cbr", "vbr", "disabled"]);
    assert_eq!(h264.quality_levels, table.h264_encode.max_quality_levels);
    let h265 = encode_support(Codec::Hevc).expect("the driver encodes H.265");
    assert_eq!(h265.profile, "H.265 Main");
    assert_eq!(h265.max_coded_extent, table.h265_video.max_coded_extent);
    let av1 = encode_support(Codec::Av1).expect("the driver encodes AV1");
    assert_eq!(av1.profile, "AV1 Main");
    assert_eq!(av1.min_coded_extent, table.av1_video.min_coded_extent);
    assert_eq!(av1.max_coded_extent, table.av1_video.max_coded_extent);
    assert_eq!(av1.limits.max_level_idc, table.av1.max_level);
}
