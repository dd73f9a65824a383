//! The physical device's properties, limits, features and formats, filled from its table.
//!
//! Fill functions write every member except `sType` and `pNext`, so that they can fill the
//! caller's structures in place, chain and all.

use std::ffi::c_char;

use ash::vk;

use crate::caps::DeviceTable;

/// Copies `text` into a fixed C string array, cut to fit with its terminating NUL.
pub fn copy_str<const N: usize>(dst: &mut [c_char; N], text: &str) {
    dst.fill(0);
    for (d, b) in dst.iter_mut().zip(text.bytes().take(N.saturating_sub(1))) {
        *d = c_char::from_ne_bytes([b]);
    }
}

/// The limits (values modelled on the same reports as the table; the driver runs no shaders
/// yet, so only the memory and queue limits are exercised).
pub fn limits(table: &DeviceTable) -> vk::PhysicalDeviceLimits {
    vk::PhysicalDeviceLimits {
        max_image_dimension1_d: 32768,
        max_image_dimension2_d: 32768,
        max_image_dimension3_d: 16384,
        max_image_dimension_cube: 32768,
        max_image_array_layers: 2048,
        max_texel_buffer_elements: 134_217_728,
        max_uniform_buffer_range: 65536,
        max_storage_buffer_range: u32::MAX,
        max_push_constants_size: 256,
        max_memory_allocation_count: 4096,
        max_sampler_allocation_count: 4000,
        buffer_image_granularity: table.buffer_image_granularity,
        sparse_address_space_size: 0,
        max_bound_descriptor_sets: 32,
        max_per_stage_descriptor_samplers: 1_048_576,
        max_per_stage_descriptor_uniform_buffers: 1_048_576,
        max_per_stage_descriptor_storage_buffers: 1_048_576,
        max_per_stage_descriptor_sampled_images: 1_048_576,
        max_per_stage_descriptor_storage_images: 1_048_576,
        max_per_stage_descriptor_input_attachments: 1_048_576,
        max_per_stage_resources: u32::MAX,
        max_descriptor_set_samplers: 1_048_576,
        max_descriptor_set_uniform_buffers: 1_048_576,
        max_descriptor_set_uniform_buffers_dynamic: 15,
        max_descriptor_set_storage_buffers: 1_048_576,
        max_descriptor_set_storage_buffers_dynamic: 16,
        max_descriptor_set_sampled_images: 1_048_576,
        max_descriptor_set_storage_images: 1_048_576,
        max_descriptor_set_input_attachments: 1_048_576,
        max_compute_shared_memory_size: 49152,
        max_compute_work_group_count: [2_147_483_647, 65535, 65535],
        max_compute_work_group_invocations: 1024,
        max_compute_work_group_size: [1024, 1024, 64],
        max_sampler_lod_bias: 15.0,
        max_sampler_anisotropy: 16.0,
        max_viewports: 16,
        max_viewport_dimensions: [32768, 32768],
        viewport_bounds_range: [-65536.0, 65536.0],
        min_memory_map_alignment: table.min_memory_map_alignment,
        min_texel_buffer_offset_alignment: 16,
        min_uniform_buffer_offset_alignment: 64,
        min_storage_buffer_offset_alignment: 16,
        timestamp_compute_and_graphics: vk::TRUE,
        timestamp_period: table.timestamp_period,
        discrete_queue_priorities: 2,
        optimal_buffer_copy_offset_alignment: 1,
        optimal_buffer_copy_row_pitch_alignment: 1,
        non_coherent_atom_size: table.non_coherent_atom_size,
        ..Default::default()
    }
}

/// `vkGetPhysicalDeviceProperties`.
pub fn properties(table: &DeviceTable) -> vk::PhysicalDeviceProperties {
    let mut p = vk::PhysicalDeviceProperties {
        api_version: table.api_version,
        driver_version: table.driver_version,
        vendor_id: table.vendor_id,
        device_id: table.device_id,
        device_type: table.device_type,
        pipeline_cache_uuid: table.device_uuid,
        limits: limits(table),
        ..Default::default()
    };
    copy_str(&mut p.device_name, table.name);
    p
}

/// `VkPhysicalDeviceDriverProperties`.
pub fn fill_driver(p: &mut vk::PhysicalDeviceDriverProperties<'_>, table: &DeviceTable) {
    p.driver_id = table.driver_id;
    copy_str(&mut p.driver_name, table.driver_name);
    copy_str(&mut p.driver_info, table.driver_info);
    // Not conformance-tested: 0.0.0.0 (LDP_DRIVER_5).
    p.conformance_version = vk::ConformanceVersion::default();
}

/// `VkPhysicalDeviceIDProperties`.
pub fn fill_id(p: &mut vk::PhysicalDeviceIDProperties<'_>, table: &DeviceTable) {
    p.device_uuid = table.device_uuid;
    p.driver_uuid = table.driver_uuid;
    p.device_luid = [0; 8];
    p.device_node_mask = 0;
    p.device_luid_valid = vk::FALSE;
}

/// `VkPhysicalDeviceVulkan11Properties`.
pub fn fill_vulkan11(p: &mut vk::PhysicalDeviceVulkan11Properties<'_>, table: &DeviceTable) {
    p.device_uuid = table.device_uuid;
    p.driver_uuid = table.driver_uuid;
    p.device_luid = [0; 8];
    p.device_node_mask = 0;
    p.device_luid_valid = vk::FALSE;
    p.subgroup_size = 32;
    p.subgroup_supported_stages = vk::ShaderStageFlags::COMPUTE;
    p.subgroup_supported_operations = vk::SubgroupFeatureFlags::BASIC;
    p.subgroup_quad_operations_in_all_stages = vk::FALSE;
    p.point_clipping_behavior = vk::PointClippingBehavior::ALL_CLIP_PLANES;
    p.max_multiview_view_count = 6;
    p.max_multiview_instance_index = 134_217_727;
    p.protected_no_fault = vk::FALSE;
    p.max_per_set_descriptors = u32::MAX;
    p.max_memory_allocation_size = table.heap_size;
}

/// `VkPhysicalDeviceVulkan12Properties`.
pub fn fill_vulkan12(p: &mut vk::PhysicalDeviceVulkan12Properties<'_>, table: &DeviceTable) {
    p.driver_id = table.driver_id;
    copy_str(&mut p.driver_name, table.driver_name);
    copy_str(&mut p.driver_info, table.driver_info);
    p.conformance_version = vk::ConformanceVersion::default();
    p.max_timeline_semaphore_value_difference = u64::MAX;
    p.framebuffer_integer_color_sample_counts = vk::SampleCountFlags::TYPE_1;
}

/// `VkPhysicalDeviceVulkan13Properties`.
pub fn fill_vulkan13(p: &mut vk::PhysicalDeviceVulkan13Properties<'_>, table: &DeviceTable) {
    p.min_subgroup_size = 32;
    p.max_subgroup_size = 32;
    p.max_compute_workgroup_subgroups = 32;
    p.required_subgroup_size_stages = vk::ShaderStageFlags::COMPUTE;
    p.max_buffer_size = table.heap_size;
}

/// `VkPhysicalDeviceTimelineSemaphoreProperties`.
pub fn fill_timeline(p: &mut vk::PhysicalDeviceTimelineSemaphoreProperties<'_>) {
    p.max_timeline_semaphore_value_difference = u64::MAX;
}

/// `VkPhysicalDeviceMaintenance3Properties`.
pub fn fill_maintenance3(
    p: &mut vk::PhysicalDeviceMaintenance3Properties<'_>,
    table: &DeviceTable,
) {
    p.max_per_set_descriptors = u32::MAX;
    p.max_memory_allocation_size = table.heap_size;
}

/// `VkPhysicalDeviceMaintenance4Properties`.
pub fn fill_maintenance4(
    p: &mut vk::PhysicalDeviceMaintenance4Properties<'_>,
    table: &DeviceTable,
) {
    p.max_buffer_size = table.heap_size;
}

/// `VkPhysicalDeviceSubgroupProperties` (the Vulkan 1.1 subgroup members, as in
/// [`fill_vulkan11`]).
pub fn fill_subgroup(p: &mut vk::PhysicalDeviceSubgroupProperties<'_>) {
    p.subgroup_size = 32;
    p.supported_stages = vk::ShaderStageFlags::COMPUTE;
    p.supported_operations = vk::SubgroupFeatureFlags::BASIC;
    p.quad_operations_in_all_stages = vk::FALSE;
}

/// `VkPhysicalDeviceMultiviewProperties` (as in [`fill_vulkan11`]).
pub fn fill_multiview(p: &mut vk::PhysicalDeviceMultiviewProperties<'_>) {
    p.max_multiview_view_count = 6;
    p.max_multiview_instance_index = 134_217_727;
}

/// `VkPhysicalDeviceSubgroupSizeControlProperties` (as in [`fill_vulkan13`]).
pub fn fill_subgroup_size_control(p: &mut vk::PhysicalDeviceSubgroupSizeControlProperties<'_>) {
    p.min_subgroup_size = 32;
    p.max_subgroup_size = 32;
    p.max_compute_workgroup_subgroups = 32;
    p.required_subgroup_size_stages = vk::ShaderStageFlags::COMPUTE;
}

/// `VkPhysicalDeviceInlineUniformBlockProperties`: the Vulkan 1.3 minimums.
pub fn fill_inline_uniform_block(p: &mut vk::PhysicalDeviceInlineUniformBlockProperties<'_>) {
    p.max_inline_uniform_block_size = 256;
    p.max_per_stage_descriptor_inline_uniform_blocks = 4;
    p.max_per_stage_descriptor_update_after_bind_inline_uniform_blocks = 4;
    p.max_descriptor_set_inline_uniform_blocks = 4;
    p.max_descriptor_set_update_after_bind_inline_uniform_blocks = 4;
}

/// `VkPhysicalDeviceTexelBufferAlignmentProperties`: the `minTexelBufferOffsetAlignment` of the
/// limits for every case.
pub fn fill_texel_buffer_alignment(p: &mut vk::PhysicalDeviceTexelBufferAlignmentProperties<'_>) {
    p.storage_texel_buffer_offset_alignment_bytes = 16;
    p.storage_texel_buffer_offset_single_texel_alignment = vk::FALSE;
    p.uniform_texel_buffer_offset_alignment_bytes = 16;
    p.uniform_texel_buffer_offset_single_texel_alignment = vk::FALSE;
}

/// `VkPhysicalDeviceFeatures`: none of the Vulkan 1.0 optional features (the driver runs no
/// shaders yet) except `robustBufferAccess`, which every device has, and
/// `shaderStorageImage{Read,Write}WithoutFormat`, which NVIDIA's drivers report (GhostStream
/// enables them to write encode input pictures through plane views).
pub fn features10() -> vk::PhysicalDeviceFeatures {
    vk::PhysicalDeviceFeatures {
        robust_buffer_access: vk::TRUE,
        // Stores into storage images whose format the shader leaves unnamed (a pass writing an
        // encode input picture's planes through R8/R8G8 or R16/R16G16 views). Source: NVIDIA's
        // Vulkan drivers report it on every GPU generation in the public hardware database
        // (vulkan.gpuinfo.org, feature "shaderStorageImageWriteWithoutFormat"); not checked
        // against one report from here (the database could not be reached).
        shader_storage_image_write_without_format: vk::TRUE,
        // Loads of the same (the pointer drawn over those planes): reported by the same
        // drivers, with the same caveat.
        shader_storage_image_read_without_format: vk::TRUE,
        ..Default::default()
    }
}

/// `VkPhysicalDeviceVulkan11Features`: Y'CbCr conversion (the multi-planar video formats).
pub fn fill_features11(f: &mut vk::PhysicalDeviceVulkan11Features<'_>) {
    let next = f.p_next;
    *f = vk::PhysicalDeviceVulkan11Features {
        p_next: next,
        sampler_ycbcr_conversion: vk::TRUE,
        ..Default::default()
    };
}

/// `VkPhysicalDeviceVulkan12Features`: timeline semaphores (GhostStream's context asks for them).
pub fn fill_features12(f: &mut vk::PhysicalDeviceVulkan12Features<'_>) {
    let next = f.p_next;
    *f = vk::PhysicalDeviceVulkan12Features {
        p_next: next,
        timeline_semaphore: vk::TRUE,
        ..Default::default()
    };
}

/// `VkPhysicalDeviceVulkan13Features`: synchronization2 (VK_KHR_video_queue needs it).
pub fn fill_features13(f: &mut vk::PhysicalDeviceVulkan13Features<'_>) {
    let next = f.p_next;
    *f = vk::PhysicalDeviceVulkan13Features {
        p_next: next,
        synchronization2: vk::TRUE,
        ..Default::default()
    };
}

/// `VkPhysicalDeviceTimelineSemaphoreFeatures`.
pub fn fill_timeline_features(f: &mut vk::PhysicalDeviceTimelineSemaphoreFeatures<'_>) {
    f.timeline_semaphore = vk::TRUE;
}

/// `VkPhysicalDeviceSynchronization2Features`.
pub fn fill_sync2_features(f: &mut vk::PhysicalDeviceSynchronization2Features<'_>) {
    f.synchronization2 = vk::TRUE;
}

/// `VkPhysicalDeviceVideoEncodeAV1FeaturesKHR`: `videoEncodeAV1`.
pub(crate) fn fill_av1_features(f: &mut crate::av1::PhysicalDeviceVideoEncodeAV1FeaturesKHR<'_>) {
    f.video_encode_av1 = vk::TRUE;
}

/// `VkPhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR`: `videoEncodeIntraRefresh`, on where
/// `table` has intra refresh.
pub(crate) fn fill_intra_refresh_features(
    f: &mut crate::intra_refresh::PhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR,
    table: &crate::caps::DeviceTable,
) {
    f.video_encode_intra_refresh = vk::Bool32::from(table.intra_refresh.is_some());
}

/// `VkPhysicalDeviceSamplerYcbcrConversionFeatures`.
pub fn fill_ycbcr_features(f: &mut vk::PhysicalDeviceSamplerYcbcrConversionFeatures<'_>) {
    f.sampler_ycbcr_conversion = vk::TRUE;
}

/// `vkGetPhysicalDeviceFormatProperties`: the video formats and the plane formats a pass
/// writes them through; any other format has no features.
pub fn format_properties(format: vk::Format) -> vk::FormatProperties {
    let transfer = vk::FormatFeatureFlags::TRANSFER_SRC | vk::FormatFeatureFlags::TRANSFER_DST;
    let optimal = match format {
        vk::Format::G8_B8R8_2PLANE_420_UNORM
        | vk::Format::G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16 => {
            transfer
                | vk::FormatFeatureFlags::VIDEO_ENCODE_INPUT_KHR
                | vk::FormatFeatureFlags::VIDEO_ENCODE_DPB_KHR
                | vk::FormatFeatureFlags::MIDPOINT_CHROMA_SAMPLES
                | vk::FormatFeatureFlags::COSITED_CHROMA_SAMPLES
        }
        vk::Format::R8_UNORM
        | vk::Format::R8G8_UNORM
        | vk::Format::R16_UNORM
        | vk::Format::R16G16_UNORM
        | vk::Format::R8G8B8A8_UNORM
        | vk::Format::B8G8R8A8_UNORM => {
            transfer | vk::FormatFeatureFlags::STORAGE_IMAGE | vk::FormatFeatureFlags::SAMPLED_IMAGE
        }
        _ => vk::FormatFeatureFlags::empty(),
    };
    vk::FormatProperties {
        linear_tiling_features: vk::FormatFeatureFlags::empty(),
        optimal_tiling_features: optimal,
        buffer_features: vk::FormatFeatureFlags::empty(),
    }
}

/// `vkGetPhysicalDeviceImageFormatProperties`: 2D optimal-tiling images of the formats above,
/// for the usages their features allow (storage on a multi-planar video format only through
/// per-plane views, i.e. with `EXTENDED_USAGE`).
pub fn image_format_properties(
    table: &DeviceTable,
    format: vk::Format,
    kind: vk::ImageType,
    tiling: vk::ImageTiling,
    usage: vk::ImageUsageFlags,
    flags: vk::ImageCreateFlags,
) -> Result<vk::ImageFormatProperties, vk::Result> {
    let features = format_properties(format).optimal_tiling_features;
    if kind != vk::ImageType::TYPE_2D || tiling != vk::ImageTiling::OPTIMAL || features.is_empty() {
        return Err(vk::Result::ERROR_FORMAT_NOT_SUPPORTED);
    }
    let planar = features.contains(vk::FormatFeatureFlags::VIDEO_ENCODE_INPUT_KHR);
    let extended = flags.contains(vk::ImageCreateFlags::EXTENDED_USAGE);
    let needs = [
        (
            vk::ImageUsageFlags::TRANSFER_SRC,
            vk::FormatFeatureFlags::TRANSFER_SRC,
        ),
        (
            vk::ImageUsageFlags::TRANSFER_DST,
            vk::FormatFeatureFlags::TRANSFER_DST,
        ),
        (
            vk::ImageUsageFlags::SAMPLED,
            vk::FormatFeatureFlags::SAMPLED_IMAGE,
        ),
        (
            vk::ImageUsageFlags::STORAGE,
            vk::FormatFeatureFlags::STORAGE_IMAGE,
        ),
        (
            vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR,
            vk::FormatFeatureFlags::VIDEO_ENCODE_INPUT_KHR,
        ),
        (
            vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR,
            vk::FormatFeatureFlags::VIDEO_ENCODE_DPB_KHR,
        ),
    ];
    let mut left = usage;
    for (u, f) in needs {
        if !usage.contains(u) {
            continue;
        }
        let storage_through_views = u == vk::ImageUsageFlags::STORAGE && planar && extended;
        if !features.contains(f) && !storage_through_views {
            return Err(vk::Result::ERROR_FORMAT_NOT_SUPPORTED);
        }
        left &= !u;
    }
    if !left.is_empty() {
        return Err(vk::Result::ERROR_FORMAT_NOT_SUPPORTED);
    }
    Ok(vk::ImageFormatProperties {
        max_extent: vk::Extent3D {
            width: 16384,
            height: 16384,
            depth: 1,
        },
        max_mip_levels: if planar { 1 } else { 15 },
        // A multi-planar picture is one layer, except a reference picture: a device without
        // separate reference images keeps a session's DPB as layers of one image.
        max_array_layers: if planar && !usage.contains(vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR) {
            1
        } else {
            2048
        },
        sample_counts: vk::SampleCountFlags::TYPE_1,
        max_resource_size: table.heap_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::NVIDIA_RTX_4090;
    use std::ffi::CStr;

    #[test]
    fn strings_are_cut_to_fit_with_their_nul() {
        let mut a: [c_char; 4] = [1; 4];
        copy_str(&mut a, "abcdef");
        let bytes: Vec<u8> = a.iter().map(|c| c.to_ne_bytes()[0]).collect();
        assert_eq!(
            CStr::from_bytes_until_nul(&bytes).unwrap().to_bytes(),
            b"abc"
        );
    }

    #[test]
    fn properties_come_from_the_table() {
        let p = properties(&NVIDIA_RTX_4090);
        assert_eq!(p.vendor_id, 0x10de);
        assert_eq!(
            p.device_name_as_c_str().unwrap().to_str().unwrap(),
            NVIDIA_RTX_4090.name
        );
        assert_eq!(p.api_version, NVIDIA_RTX_4090.api_version);
        let mut f = vk::PhysicalDeviceVulkan12Features::default();
        fill_features12(&mut f);
        assert_eq!(
            f.s_type,
            vk::StructureType::PHYSICAL_DEVICE_VULKAN_1_2_FEATURES
        );
        assert_eq!(f.timeline_semaphore, vk::TRUE);
        assert_eq!(f.buffer_device_address, vk::FALSE);
    }

    #[test]
    fn nv12_images_take_video_usage_and_storage_only_through_plane_views() {
        let t = &NVIDIA_RTX_4090;
        let nv12 = vk::Format::G8_B8R8_2PLANE_420_UNORM;
        let img = |usage, flags| {
            image_format_properties(
                t,
                nv12,
                vk::ImageType::TYPE_2D,
                vk::ImageTiling::OPTIMAL,
                usage,
                flags,
            )
        };
        let src = vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR | vk::ImageUsageFlags::STORAGE;
        assert_eq!(
            img(src, vk::ImageCreateFlags::empty()).unwrap_err(),
            vk::Result::ERROR_FORMAT_NOT_SUPPORTED
        );
        let ok = img(
            src,
            vk::ImageCreateFlags::EXTENDED_USAGE | vk::ImageCreateFlags::MUTABLE_FORMAT,
        )
        .unwrap();
        assert_eq!((ok.max_mip_levels, ok.max_array_layers), (1, 1));
        // Reference pictures may be layers of one image (a layered DPB).
        let dpb = img(
            vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR,
            vk::ImageCreateFlags::empty(),
        )
        .unwrap();
        assert!(dpb.max_array_layers >= 16, "{dpb:?}");
        assert_eq!(
            img(
                vk::ImageUsageFlags::COLOR_ATTACHMENT,
                vk::ImageCreateFlags::empty()
            )
            .unwrap_err(),
            vk::Result::ERROR_FORMAT_NOT_SUPPORTED
        );
    }
}
