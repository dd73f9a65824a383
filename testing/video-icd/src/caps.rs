//! The capability tables: what the test driver's one physical device says it is and can do.
//!
//! One table per modelled driver. The values are those a real driver of that vendor reports,
//! so that GhostStream's choices (alignment, extents, DPB sizes, rate-control modes) are made
//! against realistic numbers; the test driver itself encodes nothing in hardware.

use ash::vk;

/// `VK_MAKE_VIDEO_STD_VERSION(1, 0, 0)`: the version of the H.264 and H.265 encode std headers.
pub const STD_VERSION_1_0_0: u32 = 1 << 22;

/// The name of the H.264 encode std header (`VK_STD_VULKAN_VIDEO_CODEC_H264_ENCODE_EXTENSION_NAME`).
pub const STD_H264_ENCODE_NAME: &str = "VK_STD_vulkan_video_codec_h264_encode";

/// The name of the H.265 encode std header (`VK_STD_VULKAN_VIDEO_CODEC_H265_ENCODE_EXTENSION_NAME`).
pub const STD_H265_ENCODE_NAME: &str = "VK_STD_vulkan_video_codec_h265_encode";

/// The name of the AV1 encode std header (`VK_STD_VULKAN_VIDEO_CODEC_AV1_ENCODE_EXTENSION_NAME`);
/// its version is [`STD_VERSION_1_0_0`] too.
pub const STD_AV1_ENCODE_NAME: &str = "VK_STD_vulkan_video_codec_av1_encode";

/// `VK_VIDEO_CODEC_OPERATION_ENCODE_AV1_BIT_KHR` (VK_KHR_video_encode_av1; ash 0.38 predates it).
pub const CODEC_OPERATION_ENCODE_AV1: vk::VideoCodecOperationFlagsKHR =
    vk::VideoCodecOperationFlagsKHR::from_raw(0x0004_0000);

/// `VkVideoCapabilitiesKHR` values common to one codec's encode profiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VideoCaps {
    /// `flags`.
    pub flags: vk::VideoCapabilityFlagsKHR,
    /// `minBitstreamBufferOffsetAlignment`.
    pub min_bitstream_buffer_offset_alignment: u64,
    /// `minBitstreamBufferSizeAlignment`.
    pub min_bitstream_buffer_size_alignment: u64,
    /// `pictureAccessGranularity` (width, height).
    pub picture_access_granularity: (u32, u32),
    /// `minCodedExtent` (width, height).
    pub min_coded_extent: (u32, u32),
    /// `maxCodedExtent` (width, height).
    pub max_coded_extent: (u32, u32),
    /// `maxDpbSlots`.
    pub max_dpb_slots: u32,
    /// `maxActiveReferencePictures`.
    pub max_active_reference_pictures: u32,
}

/// `VkVideoEncodeCapabilitiesKHR` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeCaps {
    /// `flags`.
    pub flags: vk::VideoEncodeCapabilityFlagsKHR,
    /// `rateControlModes`.
    pub rate_control_modes: vk::VideoEncodeRateControlModeFlagsKHR,
    /// `maxRateControlLayers`.
    pub max_rate_control_layers: u32,
    /// `maxBitrate` in bits per second.
    pub max_bitrate: u64,
    /// `maxQualityLevels`.
    pub max_quality_levels: u32,
    /// `encodeInputPictureGranularity` (width, height).
    pub encode_input_picture_granularity: (u32, u32),
    /// `supportedEncodeFeedbackFlags`.
    pub supported_encode_feedback_flags: vk::VideoEncodeFeedbackFlagsKHR,
}

/// `VkVideoEncodeH264CapabilitiesKHR` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct H264Caps {
    /// `flags`.
    pub flags: vk::VideoEncodeH264CapabilityFlagsKHR,
    /// `maxLevelIdc` (`StdVideoH264LevelIdc`).
    pub max_level_idc: u32,
    /// `maxSliceCount`.
    pub max_slice_count: u32,
    /// `maxPPictureL0ReferenceCount`.
    pub max_p_picture_l0_reference_count: u32,
    /// `maxBPictureL0ReferenceCount`.
    pub max_b_picture_l0_reference_count: u32,
    /// `maxL1ReferenceCount`.
    pub max_l1_reference_count: u32,
    /// `maxTemporalLayerCount`.
    pub max_temporal_layer_count: u32,
    /// `expectDyadicTemporalLayerPattern`.
    pub expect_dyadic_temporal_layer_pattern: bool,
    /// `minQp`.
    pub min_qp: i32,
    /// `maxQp`.
    pub max_qp: i32,
    /// `prefersGopRemainingFrames`.
    pub prefers_gop_remaining_frames: bool,
    /// `requiresGopRemainingFrames`.
    pub requires_gop_remaining_frames: bool,
    /// `stdSyntaxFlags`.
    pub std_syntax_flags: vk::VideoEncodeH264StdFlagsKHR,
}

/// `VkVideoEncodeH265CapabilitiesKHR` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct H265Caps {
    /// `flags`.
    pub flags: vk::VideoEncodeH265CapabilityFlagsKHR,
    /// `maxLevelIdc` (`StdVideoH265LevelIdc`).
    pub max_level_idc: u32,
    /// `maxSliceSegmentCount`.
    pub max_slice_segment_count: u32,
    /// `maxTiles` (columns, rows).
    pub max_tiles: (u32, u32),
    /// `ctbSizes`.
    pub ctb_sizes: vk::VideoEncodeH265CtbSizeFlagsKHR,
    /// `transformBlockSizes`.
    pub transform_block_sizes: vk::VideoEncodeH265TransformBlockSizeFlagsKHR,
    /// `maxPPictureL0ReferenceCount`.
    pub max_p_picture_l0_reference_count: u32,
    /// `maxBPictureL0ReferenceCount`.
    pub max_b_picture_l0_reference_count: u32,
    /// `maxL1ReferenceCount`.
    pub max_l1_reference_count: u32,
    /// `maxSubLayerCount`.
    pub max_sub_layer_count: u32,
    /// `expectDyadicTemporalSubLayerPattern`.
    pub expect_dyadic_temporal_sub_layer_pattern: bool,
    /// `minQp`.
    pub min_qp: i32,
    /// `maxQp`.
    pub max_qp: i32,
    /// `prefersGopRemainingFrames`.
    pub prefers_gop_remaining_frames: bool,
    /// `requiresGopRemainingFrames`.
    pub requires_gop_remaining_frames: bool,
    /// `stdSyntaxFlags`.
    pub std_syntax_flags: vk::VideoEncodeH265StdFlagsKHR,
}

/// `VkVideoEncodeAV1CapabilitiesKHR` values. The flag words are the raw bits of
/// `VkVideoEncodeAV1CapabilityFlagsKHR`, `VkVideoEncodeAV1SuperblockSizeFlagsKHR` and
/// `VkVideoEncodeAV1StdFlagsKHR` (ash 0.38 has none of them); reference name masks have bit `i`
/// for `STD_VIDEO_AV1_REFERENCE_NAME_LAST_FRAME + i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Av1Caps {
    /// `flags`.
    pub flags: u32,
    /// `maxLevel` (`StdVideoAV1Level`).
    pub max_level: u32,
    /// `codedPictureAlignment` (width, height).
    pub coded_picture_alignment: (u32, u32),
    /// `maxTiles` (columns, rows).
    pub max_tiles: (u32, u32),
    /// `minTileSize` (width, height).
    pub min_tile_size: (u32, u32),
    /// `maxTileSize` (width, height).
    pub max_tile_size: (u32, u32),
    /// `superblockSizes`.
    pub superblock_sizes: u32,
    /// `maxSingleReferenceCount`.
    pub max_single_reference_count: u32,
    /// `singleReferenceNameMask`.
    pub single_reference_name_mask: u32,
    /// `maxUnidirectionalCompoundReferenceCount`.
    pub max_unidirectional_compound_reference_count: u32,
    /// `maxUnidirectionalCompoundGroup1ReferenceCount`.
    pub max_unidirectional_compound_group1_reference_count: u32,
    /// `unidirectionalCompoundReferenceNameMask`.
    pub unidirectional_compound_reference_name_mask: u32,
    /// `maxBidirectionalCompoundReferenceCount`.
    pub max_bidirectional_compound_reference_count: u32,
    /// `maxBidirectionalCompoundGroup1ReferenceCount`.
    pub max_bidirectional_compound_group1_reference_count: u32,
    /// `maxBidirectionalCompoundGroup2ReferenceCount`.
    pub max_bidirectional_compound_group2_reference_count: u32,
    /// `bidirectionalCompoundReferenceNameMask`.
    pub bidirectional_compound_reference_name_mask: u32,
    /// `maxTemporalLayerCount`.
    pub max_temporal_layer_count: u32,
    /// `maxSpatialLayerCount`.
    pub max_spatial_layer_count: u32,
    /// `maxOperatingPoints`.
    pub max_operating_points: u32,
    /// `minQIndex`.
    pub min_q_index: u32,
    /// `maxQIndex`.
    pub max_q_index: u32,
    /// `prefersGopRemainingFrames`.
    pub prefers_gop_remaining_frames: bool,
    /// `requiresGopRemainingFrames`.
    pub requires_gop_remaining_frames: bool,
    /// `stdSyntaxFlags`.
    pub std_syntax_flags: u32,
}

/// `VK_VIDEO_ENCODE_AV1_CAPABILITY_PER_RATE_CONTROL_GROUP_MIN_MAX_Q_INDEX_BIT_KHR`.
pub const AV1_CAPABILITY_PER_RATE_CONTROL_GROUP_MIN_MAX_Q_INDEX: u32 = 0x1;
/// `VK_VIDEO_ENCODE_AV1_CAPABILITY_GENERATE_OBU_EXTENSION_HEADER_BIT_KHR`.
pub const AV1_CAPABILITY_GENERATE_OBU_EXTENSION_HEADER: u32 = 0x2;
/// `VK_VIDEO_ENCODE_AV1_CAPABILITY_PRIMARY_REFERENCE_CDF_ONLY_BIT_KHR`.
pub const AV1_CAPABILITY_PRIMARY_REFERENCE_CDF_ONLY: u32 = 0x4;
/// `VK_VIDEO_ENCODE_AV1_CAPABILITY_FRAME_SIZE_OVERRIDE_BIT_KHR`.
pub const AV1_CAPABILITY_FRAME_SIZE_OVERRIDE: u32 = 0x8;
/// `VK_VIDEO_ENCODE_AV1_CAPABILITY_MOTION_VECTOR_SCALING_BIT_KHR`.
pub const AV1_CAPABILITY_MOTION_VECTOR_SCALING: u32 = 0x10;
/// `VK_VIDEO_ENCODE_AV1_SUPERBLOCK_SIZE_64_BIT_KHR`.
pub const AV1_SUPERBLOCK_SIZE_64: u32 = 0x1;
/// `VK_VIDEO_ENCODE_AV1_SUPERBLOCK_SIZE_128_BIT_KHR`.
pub const AV1_SUPERBLOCK_SIZE_128: u32 = 0x2;
/// `VK_VIDEO_ENCODE_AV1_STD_UNIFORM_TILE_SPACING_FLAG_SET_BIT_KHR`.
pub const AV1_STD_UNIFORM_TILE_SPACING_FLAG_SET: u32 = 0x1;
/// `VK_VIDEO_ENCODE_AV1_STD_SKIP_MODE_PRESENT_UNSET_BIT_KHR`.
pub const AV1_STD_SKIP_MODE_PRESENT_UNSET: u32 = 0x2;
/// `VK_VIDEO_ENCODE_AV1_STD_PRIMARY_REF_FRAME_BIT_KHR`.
pub const AV1_STD_PRIMARY_REF_FRAME: u32 = 0x4;
/// `VK_VIDEO_ENCODE_AV1_STD_DELTA_Q_BIT_KHR`.
pub const AV1_STD_DELTA_Q: u32 = 0x8;

/// `VkVideoEncodeIntraRefreshCapabilitiesKHR` (one answer for every encode profile of a table),
/// for a table whose driver offers VK_KHR_video_encode_intra_refresh and its feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntraRefreshCaps {
    /// `intraRefreshModes` (`VkVideoEncodeIntraRefreshModeFlagBitsKHR` bits).
    pub modes: u32,
    /// `maxIntraRefreshCycleDuration`.
    pub max_cycle_duration: u32,
    /// `maxIntraRefreshActiveReferencePictures`.
    pub max_active_reference_pictures: u32,
    /// `partitionIndependentIntraRefreshRegions`.
    pub partition_independent_regions: bool,
    /// `nonRectangularIntraRefreshRegions`.
    pub non_rectangular_regions: bool,
}

/// Mesa RADV's intra refresh answer (`radv_GetPhysicalDeviceVideoCapabilitiesKHR` in
/// `src/amd/vulkan/radv_video.c`, read in the mirror bminor/mesa-mesa at commit
/// 1dda9d56cb0a82329a7834eee16d7fb8286f2a8c; RADV added the extension in Mesa 25.3): block,
/// block-row and block-column refresh, cycles of up to 256 pictures, one active reference,
/// regions independent of slices, rectangular regions only; the same for every encode profile
/// and VCN generation, with the `videoEncodeIntraRefresh` feature on.
pub const RADV_INTRA_REFRESH: IntraRefreshCaps = IntraRefreshCaps {
    modes: 0x2 | 0x4 | 0x8,
    max_cycle_duration: 256,
    max_active_reference_pictures: 1,
    partition_independent_regions: true,
    non_rectangular_regions: false,
};

/// Everything the driver reports about its one physical device.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DeviceTable {
    /// `deviceName`.
    pub name: &'static str,
    /// `vendorID` (the PCI vendor).
    pub vendor_id: u32,
    /// `deviceID` (the PCI device).
    pub device_id: u32,
    /// `deviceType`.
    pub device_type: vk::PhysicalDeviceType,
    /// `apiVersion`.
    pub api_version: u32,
    /// `driverVersion`, in the vendor's own encoding.
    pub driver_version: u32,
    /// `VkPhysicalDeviceDriverProperties::driverID`.
    pub driver_id: vk::DriverId,
    /// `driverName`.
    pub driver_name: &'static str,
    /// `driverInfo`.
    pub driver_info: &'static str,
    /// `deviceUUID` (also `pipelineCacheUUID`).
    pub device_uuid: [u8; 16],
    /// `driverUUID`.
    pub driver_uuid: [u8; 16],
    /// Size of the one memory heap (device-local, backed by host memory), in bytes: the
    /// driver refuses allocations beyond it.
    pub heap_size: u64,
    /// `limits.timestampPeriod`, in nanoseconds per tick.
    pub timestamp_period: f32,
    /// `limits.bufferImageGranularity`.
    pub buffer_image_granularity: u64,
    /// `limits.nonCoherentAtomSize`.
    pub non_coherent_atom_size: u64,
    /// `limits.minMemoryMapAlignment`; also the alignment of every allocation's host backing.
    pub min_memory_map_alignment: usize,
    /// Queue count of the compute + transfer family (family 0).
    pub compute_queue_count: u32,
    /// Queue count of the video-encode family (family 1).
    pub encode_queue_count: u32,
    /// The encode operations family 1 reports in `VkQueueFamilyVideoPropertiesKHR`.
    pub encode_operations: vk::VideoCodecOperationFlagsKHR,
    /// `imageCreateFlags` of the encode input pictures' `VkVideoFormatPropertiesKHR` (unless
    /// `GHOSTSTREAM_ICD_PLAIN_INPUTS=1` empties them): with `MUTABLE_FORMAT | EXTENDED_USAGE` a
    /// pass may write the pictures through plane views; without `EXTENDED_USAGE` it may not.
    pub encode_input_create_flags: vk::ImageCreateFlags,
    /// H.264 encode: `VkVideoCapabilitiesKHR`.
    pub h264_video: VideoCaps,
    /// H.264 encode: `VkVideoEncodeCapabilitiesKHR`.
    pub h264_encode: EncodeCaps,
    /// H.264 encode: `VkVideoEncodeH264CapabilitiesKHR`.
    pub h264: H264Caps,
    /// H.265 encode: `VkVideoCapabilitiesKHR`.
    pub h265_video: VideoCaps,
    /// H.265 encode: `VkVideoEncodeCapabilitiesKHR`.
    pub h265_encode: EncodeCaps,
    /// H.265 encode: `VkVideoEncodeH265CapabilitiesKHR`.
    pub h265: H265Caps,
    /// AV1 encode: `VkVideoCapabilitiesKHR`.
    pub av1_video: VideoCaps,
    /// AV1 encode: `VkVideoEncodeCapabilitiesKHR`.
    pub av1_encode: EncodeCaps,
    /// AV1 encode: `VkVideoEncodeAV1CapabilitiesKHR`.
    pub av1: Av1Caps,
    /// VK_KHR_video_encode_intra_refresh: listed (with its feature) and answered for every
    /// encode profile when `Some`; absent from the device when `None`.
    pub intra_refresh: Option<IntraRefreshCaps>,
}

/// NVIDIA's driver encodes versions as 10.8.8.6 bits (major.minor.sub.patch).
const fn nvidia_version(major: u32, minor: u32, sub: u32) -> u32 {
    (major << 22) | (minor << 14) | (sub << 6)
}

/// A GeForce RTX 4090 (AD102) on NVIDIA's 550 Linux driver.
///
/// Source of the values: modelled on the public Vulkan hardware database's reports for this GPU
/// and driver series (vulkan.gpuinfo.org, device "NVIDIA GeForce RTX 4090", driver 550.x on
/// Linux: its queue families, limits and the "Video" pages of the H.264 and H.265 encode
/// profiles). They have not yet been checked value by value against one report (the machine
/// that wrote this table could not reach the database): that check is an open item, and where
/// a report and this table disagree, the report wins. The PCI ids are facts: NVIDIA's PCI-SIG
/// vendor id (0x10de) and AD102's device id (0x2684). The name says that the device is this
/// driver's model, so that no log or report mistakes it for the GPU.
///
/// AV1 encode (VK_KHR_video_encode_av1, published after the 550.54 driver; the table keeps its
/// one driver version): the
/// `VkVideoCapabilitiesKHR` values are those an RTX 4080 (AD103, the same NVENC generation)
/// reported for its AV1 encode profile in a public log of the Khronos Vulkan-Video-Samples
/// encoder (issue KhronosGroup/Vulkan-Video-Samples#3: bitstream offset and size alignment 256,
/// picture access granularity 64x64, coded extents 192x128 to 8192x8192, 17 DPB slots, 7 active
/// references). No public report of an NVIDIA GPU's `VkVideoEncodeAV1CapabilitiesKHR` values
/// could be found from here, so those are this driver's model, not a report's: 64x64
/// superblocks, up to 64x64 uniform tiles of at most 4096 samples (the AV1 limits), level 6.2,
/// up to 4 temporal layers and operating points, quantizer indices 1 to 255 (no lossless), OBU
/// extension headers and frame size overrides, and single-reference prediction only: the driver
/// writes `reference_select` 0, so it offers no compound prediction. The same open item as above
/// applies: where a report and this table disagree, the report wins.
pub const NVIDIA_RTX_4090: DeviceTable = DeviceTable {
    name: "NVIDIA GeForce RTX 4090 (GhostStream test driver)",
    vendor_id: 0x10de,
    device_id: 0x2684,
    device_type: vk::PhysicalDeviceType::DISCRETE_GPU,
    api_version: vk::make_api_version(0, 1, 3, 277),
    driver_version: nvidia_version(550, 54, 14),
    driver_id: vk::DriverId::NVIDIA_PROPRIETARY,
    driver_name: "GhostStream test driver",
    driver_info: "modelled on NVIDIA 550.54.14",
    device_uuid: *b"GhostStreamICD01",
    driver_uuid: *b"GhostStreamICDdr",
    heap_size: 1 << 30,
    timestamp_period: 1.0,
    buffer_image_granularity: 1024,
    non_coherent_atom_size: 64,
    min_memory_map_alignment: 64,
    compute_queue_count: 1,
    encode_queue_count: 1,
    encode_operations: vk::VideoCodecOperationFlagsKHR::from_raw(
        vk::VideoCodecOperationFlagsKHR::ENCODE_H264.as_raw()
            | vk::VideoCodecOperationFlagsKHR::ENCODE_H265.as_raw()
            | CODEC_OPERATION_ENCODE_AV1.as_raw(),
    ),
    // No public report of NVIDIA's intra refresh answer was found from here (its Linux driver
    // offers the extension from 570.123.19 on, after the 550 series this table models): the
    // table lists no VK_KHR_video_encode_intra_refresh.
    intra_refresh: None,
    encode_input_create_flags: vk::ImageCreateFlags::from_raw(
        vk::ImageCreateFlags::MUTABLE_FORMAT.as_raw()
            | vk::ImageCreateFlags::EXTENDED_USAGE.as_raw(),
    ),
    h264_video: VideoCaps {
        flags: vk::VideoCapabilityFlagsKHR::SEPARATE_REFERENCE_IMAGES,
        min_bitstream_buffer_offset_alignment: 256,
        min_bitstream_buffer_size_alignment: 256,
        picture_access_granularity: (16, 16),
        min_coded_extent: (32, 32),
        max_coded_extent: (4096, 4096),
        max_dpb_slots: 17,
        max_active_reference_pictures: 16,
    },
    h264_encode: EncodeCaps {
        flags: vk::VideoEncodeCapabilityFlagsKHR::PRECEDING_EXTERNALLY_ENCODED_BYTES,
        rate_control_modes: vk::VideoEncodeRateControlModeFlagsKHR::from_raw(
            vk::VideoEncodeRateControlModeFlagsKHR::DISABLED.as_raw()
                | vk::VideoEncodeRateControlModeFlagsKHR::CBR.as_raw()
                | vk::VideoEncodeRateControlModeFlagsKHR::VBR.as_raw(),
        ),
        max_rate_control_layers: 1,
        max_bitrate: 800_000_000,
        max_quality_levels: 7,
        encode_input_picture_granularity: (16, 16),
        supported_encode_feedback_flags: vk::VideoEncodeFeedbackFlagsKHR::from_raw(
            vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BUFFER_OFFSET.as_raw()
                | vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BYTES_WRITTEN.as_raw()
                | vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_HAS_OVERRIDES.as_raw(),
        ),
    },
    h264: H264Caps {
        flags: vk::VideoEncodeH264CapabilityFlagsKHR::from_raw(
            vk::VideoEncodeH264CapabilityFlagsKHR::HRD_COMPLIANCE.as_raw()
                | vk::VideoEncodeH264CapabilityFlagsKHR::ROW_UNALIGNED_SLICE.as_raw()
                | vk::VideoEncodeH264CapabilityFlagsKHR::PER_PICTURE_TYPE_MIN_MAX_QP.as_raw(),
        ),
        max_level_idc: ash::vk::native::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_6_2,
        max_slice_count: 32,
        max_p_picture_l0_reference_count: 4,
        max_b_picture_l0_reference_count: 4,
        max_l1_reference_count: 1,
        max_temporal_layer_count: 4,
        expect_dyadic_temporal_layer_pattern: false,
        min_qp: 0,
        max_qp: 51,
        prefers_gop_remaining_frames: false,
        requires_gop_remaining_frames: false,
        std_syntax_flags: vk::VideoEncodeH264StdFlagsKHR::from_raw(
            vk::VideoEncodeH264StdFlagsKHR::TRANSFORM_8X8_MODE_FLAG_SET.as_raw()
                | vk::VideoEncodeH264StdFlagsKHR::ENTROPY_CODING_MODE_FLAG_SET.as_raw()
                | vk::VideoEncodeH264StdFlagsKHR::DIRECT_8X8_INFERENCE_FLAG_UNSET.as_raw(),
        ),
    },
    h265_video: VideoCaps {
        flags: vk::VideoCapabilityFlagsKHR::SEPARATE_REFERENCE_IMAGES,
        min_bitstream_buffer_offset_alignment: 256,
        min_bitstream_buffer_size_alignment: 256,
        picture_access_granularity: (32, 32),
        min_coded_extent: (144, 48),
        max_coded_extent: (8192, 8192),
        max_dpb_slots: 16,
        max_active_reference_pictures: 15,
    },
    h265_encode: EncodeCaps {
        flags: vk::VideoEncodeCapabilityFlagsKHR::PRECEDING_EXTERNALLY_ENCODED_BYTES,
        rate_control_modes: vk::VideoEncodeRateControlModeFlagsKHR::from_raw(
            vk::VideoEncodeRateControlModeFlagsKHR::DISABLED.as_raw()
                | vk::VideoEncodeRateControlModeFlagsKHR::CBR.as_raw()
                | vk::VideoEncodeRateControlModeFlagsKHR::VBR.as_raw(),
        ),
        max_rate_control_layers: 1,
        max_bitrate: 800_000_000,
        max_quality_levels: 7,
        encode_input_picture_granularity: (32, 32),
        supported_encode_feedback_flags: vk::VideoEncodeFeedbackFlagsKHR::from_raw(
            vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BUFFER_OFFSET.as_raw()
                | vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BYTES_WRITTEN.as_raw()
                | vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_HAS_OVERRIDES.as_raw(),
        ),
    },
    h265: H265Caps {
        flags: vk::VideoEncodeH265CapabilityFlagsKHR::from_raw(
            vk::VideoEncodeH265CapabilityFlagsKHR::HRD_COMPLIANCE.as_raw()
                | vk::VideoEncodeH265CapabilityFlagsKHR::PER_PICTURE_TYPE_MIN_MAX_QP.as_raw(),
        ),
        max_level_idc: ash::vk::native::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_6_2,
        max_slice_segment_count: 32,
        max_tiles: (1, 1),
        ctb_sizes: vk::VideoEncodeH265CtbSizeFlagsKHR::TYPE_32,
        transform_block_sizes: vk::VideoEncodeH265TransformBlockSizeFlagsKHR::from_raw(
            vk::VideoEncodeH265TransformBlockSizeFlagsKHR::TYPE_4.as_raw()
                | vk::VideoEncodeH265TransformBlockSizeFlagsKHR::TYPE_8.as_raw()
                | vk::VideoEncodeH265TransformBlockSizeFlagsKHR::TYPE_16.as_raw()
                | vk::VideoEncodeH265TransformBlockSizeFlagsKHR::TYPE_32.as_raw(),
        ),
        max_p_picture_l0_reference_count: 4,
        max_b_picture_l0_reference_count: 4,
        max_l1_reference_count: 1,
        max_sub_layer_count: 4,
        expect_dyadic_temporal_sub_layer_pattern: false,
        min_qp: 0,
        max_qp: 51,
        prefers_gop_remaining_frames: false,
        requires_gop_remaining_frames: false,
        std_syntax_flags: vk::VideoEncodeH265StdFlagsKHR::from_raw(
            vk::VideoEncodeH265StdFlagsKHR::TRANSFORM_SKIP_ENABLED_FLAG_SET.as_raw()
                | vk::VideoEncodeH265StdFlagsKHR::ENTROPY_CODING_SYNC_ENABLED_FLAG_SET.as_raw(),
        ),
    },
    av1_video: VideoCaps {
        flags: vk::VideoCapabilityFlagsKHR::SEPARATE_REFERENCE_IMAGES,
        min_bitstream_buffer_offset_alignment: 256,
        min_bitstream_buffer_size_alignment: 256,
        picture_access_granularity: (64, 64),
        min_coded_extent: (192, 128),
        max_coded_extent: (8192, 8192),
        max_dpb_slots: 17,
        max_active_reference_pictures: 7,
    },
    av1_encode: EncodeCaps {
        flags: vk::VideoEncodeCapabilityFlagsKHR::PRECEDING_EXTERNALLY_ENCODED_BYTES,
        rate_control_modes: vk::VideoEncodeRateControlModeFlagsKHR::from_raw(
            vk::VideoEncodeRateControlModeFlagsKHR::DISABLED.as_raw()
                | vk::VideoEncodeRateControlModeFlagsKHR::CBR.as_raw()
                | vk::VideoEncodeRateControlModeFlagsKHR::VBR.as_raw(),
        ),
        max_rate_control_layers: 1,
        max_bitrate: 800_000_000,
        max_quality_levels: 7,
        encode_input_picture_granularity: (64, 64),
        supported_encode_feedback_flags: vk::VideoEncodeFeedbackFlagsKHR::from_raw(
            vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BUFFER_OFFSET.as_raw()
                | vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BYTES_WRITTEN.as_raw()
                | vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_HAS_OVERRIDES.as_raw(),
        ),
    },
    av1: Av1Caps {
        flags: AV1_CAPABILITY_PER_RATE_CONTROL_GROUP_MIN_MAX_Q_INDEX
            | AV1_CAPABILITY_GENERATE_OBU_EXTENSION_HEADER
            | AV1_CAPABILITY_FRAME_SIZE_OVERRIDE,
        max_level: ash::vk::native::StdVideoAV1Level_STD_VIDEO_AV1_LEVEL_6_2,
        coded_picture_alignment: (8, 8),
        max_tiles: (64, 64),
        min_tile_size: (64, 64),
        max_tile_size: (4096, 4096),
        superblock_sizes: AV1_SUPERBLOCK_SIZE_64,
        max_single_reference_count: 4,
        single_reference_name_mask: 0b000_1111,
        max_unidirectional_compound_reference_count: 0,
        max_unidirectional_compound_group1_reference_count: 0,
        unidirectional_compound_reference_name_mask: 0,
        max_bidirectional_compound_reference_count: 0,
        max_bidirectional_compound_group1_reference_count: 0,
        max_bidirectional_compound_group2_reference_count: 0,
        bidirectional_compound_reference_name_mask: 0,
        max_temporal_layer_count: 4,
        max_spatial_layer_count: 1,
        max_operating_points: 4,
        min_q_index: 1,
        max_q_index: 255,
        prefers_gop_remaining_frames: false,
        requires_gop_remaining_frames: false,
        std_syntax_flags: AV1_STD_UNIFORM_TILE_SPACING_FLAG_SET
            | AV1_STD_SKIP_MODE_PRESENT_UNSET
            | AV1_STD_PRIMARY_REF_FRAME
            | AV1_STD_DELTA_Q,
    },
};

/// The bits of `VkVideoEncodeCapabilitiesKHR::rateControlModes`, built from raw values (a
/// `const` helper: ash's `|` is not `const`).
const fn rc_modes(bits: u32) -> vk::VideoEncodeRateControlModeFlagsKHR {
    vk::VideoEncodeRateControlModeFlagsKHR::from_raw(bits)
}

/// `BITSTREAM_BUFFER_OFFSET | BITSTREAM_BYTES_WRITTEN`: the feedback both Mesa drivers offer.
const MESA_FEEDBACK: vk::VideoEncodeFeedbackFlagsKHR = vk::VideoEncodeFeedbackFlagsKHR::from_raw(
    vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BUFFER_OFFSET.as_raw()
        | vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BYTES_WRITTEN.as_raw(),
);

/// Mesa encodes `driverVersion` as `VK_MAKE_VERSION(major, minor, patch)` of its release.
const fn mesa_version(major: u32, minor: u32, patch: u32) -> u32 {
    (major << 22) | (minor << 12) | patch
}

/// An AMD Radeon RX 7900 XTX (Navi 31, RDNA3, VCN 4.0.0) on Mesa's RADV.
///
/// Source of the video values: Mesa's `src/amd/vulkan/radv_video.c`,
/// `radv_GetPhysicalDeviceVideoCapabilitiesKHR` and `radv_GetPhysicalDeviceVideoFormatPropertiesKHR`,
/// read in the mirror bminor/mesa-mesa at commit 00145624637a5ada7f5f7afb0ae75157b3b08824 (Mesa
/// main, 2025), taking the branches of VCN 4 (`RADV_VIDEO_ENC_HW_4`, which
/// `radv_init_physical_device_encoder` in `radv_video_enc.c` gives VCN 4.0.x; the `>= HW_3`
/// branches apply, the `>= HW_5` ones and `SEPARATE_REFERENCE_IMAGES` (VCN 5 and later) do not);
/// `RADV_ENC_MAX_RATE_LAYER` (4) from `radv_video.h`. The largest coded extents come from the
/// kernel's VCN 4.0.0 encode table (Linux `drivers/gpu/drm/amd/amdgpu/soc21.c`,
/// `vcn_4_0_0_video_codecs_encode_array_vcn0`: H.264 4096x2304, HEVC 8192x4352, AV1 8192x4352),
/// which RADV reports as they are.
///
/// Not sourced, chosen here: `maxLevelIdc` (RADV reports the kernel's `max_level`, which that
/// kernel table gives as 0 for every encode codec, i.e. level 1.0, which no stream of the
/// engine's tests fits; whether Mesa's `ac_gpu_info` rewrites it was not found; this table
/// says 5.1 for H.264 and H.265); the quality levels (this commit says 2; other Mesa versions
/// say 4 on VCN 4: 2 is kept); the PCI device id 0x744c and Mesa version 25.1.0 (the commit's
/// release was not read); the API version and the device limits are the NVIDIA table's (not
/// video values). The H.265 and AV1 `stdSyntaxFlags` are as written there (H.265 names
/// `CONSTRAINED_INTRA_PRED_FLAG_SET` twice).
pub const AMD_RADV_RX_7900_XTX: DeviceTable = DeviceTable {
    name: "AMD Radeon RX 7900 XTX (RADV NAVI31) (GhostStream test driver)",
    vendor_id: 0x1002,
    device_id: 0x744c,
    driver_version: mesa_version(25, 1, 0),
    driver_id: vk::DriverId::MESA_RADV,
    driver_info: "modelled on Mesa RADV (radv_video.c at 00145624)",
    encode_operations: NVIDIA_RTX_4090.encode_operations,
    // radv_GetPhysicalDeviceVideoFormatPropertiesKHR: MUTABLE_FORMAT | EXTENDED_USAGE for
    // encode input (and decode output) pictures, the usage asked for echoed back.
    // Mesa 25.3's RADV (see RADV_INTRA_REFRESH); the RDNA4 table inherits it.
    intra_refresh: Some(RADV_INTRA_REFRESH),
    encode_input_create_flags: NVIDIA_RTX_4090.encode_input_create_flags,
    h264_video: VideoCaps {
        // VCN 4: no SEPARATE_REFERENCE_IMAGES for encode (VCN 5 and later only).
        flags: vk::VideoCapabilityFlagsKHR::empty(),
        min_bitstream_buffer_offset_alignment: 256,
        min_bitstream_buffer_size_alignment: 8,
        picture_access_granularity: (16, 16),
        min_coded_extent: (128, 128),
        max_coded_extent: (4096, 2304),
        max_dpb_slots: 17,
        // MAX2(maxPPictureL0ReferenceCount, maxBPictureL0ReferenceCount + maxL1ReferenceCount).
        max_active_reference_pictures: 2,
    },
    h264_encode: EncodeCaps {
        flags: vk::VideoEncodeCapabilityFlagsKHR::empty(),
        rate_control_modes: rc_modes(0x2 | 0x4 | 0x1),
        max_rate_control_layers: 4,
        max_bitrate: 1_000_000_000,
        max_quality_levels: 2,
        encode_input_picture_granularity: (16, 16),
        supported_encode_feedback_flags: MESA_FEEDBACK,
    },
    h264: H264Caps {
        flags: vk::VideoEncodeH264CapabilityFlagsKHR::from_raw(
            vk::VideoEncodeH264CapabilityFlagsKHR::HRD_COMPLIANCE.as_raw()
                | vk::VideoEncodeH264CapabilityFlagsKHR::PER_PICTURE_TYPE_MIN_MAX_QP.as_raw()
                | vk::VideoEncodeH264CapabilityFlagsKHR::ROW_UNALIGNED_SLICE.as_raw()
                | vk::VideoEncodeH264CapabilityFlagsKHR::B_FRAME_IN_L0_LIST.as_raw(),
        ),
        max_level_idc: ash::vk::native::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_5_1,
        max_slice_count: 128,
        max_p_picture_l0_reference_count: 1,
        max_b_picture_l0_reference_count: 1,
        max_l1_reference_count: 1,
        max_temporal_layer_count: 4,
        expect_dyadic_temporal_layer_pattern: false,
        min_qp: 0,
        max_qp: 51,
        prefers_gop_remaining_frames: false,
        requires_gop_remaining_frames: false,
        std_syntax_flags: vk::VideoEncodeH264StdFlagsKHR::from_raw(
            vk::VideoEncodeH264StdFlagsKHR::CONSTRAINED_INTRA_PRED_FLAG_SET.as_raw()
                | vk::VideoEncodeH264StdFlagsKHR::ENTROPY_CODING_MODE_FLAG_UNSET.as_raw()
                | vk::VideoEncodeH264StdFlagsKHR::ENTROPY_CODING_MODE_FLAG_SET.as_raw()
                | vk::VideoEncodeH264StdFlagsKHR::WEIGHTED_BIPRED_IDC_IMPLICIT.as_raw(),
        ),
    },
    h265_video: VideoCaps {
        flags: vk::VideoCapabilityFlagsKHR::empty(),
        min_bitstream_buffer_offset_alignment: 256,
        min_bitstream_buffer_size_alignment: 8,
        // Width VK_VIDEO_H265_CTU_MAX_WIDTH (64), height the macroblock's 16.
        picture_access_granularity: (64, 16),
        min_coded_extent: (130, 128),
        max_coded_extent: (8192, 4352),
        max_dpb_slots: 17,
        max_active_reference_pictures: 1,
    },
    h265_encode: EncodeCaps {
        flags: vk::VideoEncodeCapabilityFlagsKHR::empty(),
        rate_control_modes: rc_modes(0x2 | 0x4 | 0x1),
        max_rate_control_layers: 4,
        max_bitrate: 1_000_000_000,
        max_quality_levels: 2,
        encode_input_picture_granularity: (64, 16),
        supported_encode_feedback_flags: MESA_FEEDBACK,
    },
    h265: H265Caps {
        flags: vk::VideoEncodeH265CapabilityFlagsKHR::from_raw(
            vk::VideoEncodeH265CapabilityFlagsKHR::HRD_COMPLIANCE.as_raw()
                | vk::VideoEncodeH265CapabilityFlagsKHR::PER_PICTURE_TYPE_MIN_MAX_QP.as_raw()
                | vk::VideoEncodeH265CapabilityFlagsKHR::ROW_UNALIGNED_SLICE_SEGMENT.as_raw(),
        ),
        max_level_idc: ash::vk::native::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_5_1,
        max_slice_segment_count: 128,
        max_tiles: (1, 1),
        ctb_sizes: vk::VideoEncodeH265CtbSizeFlagsKHR::TYPE_64,
        transform_block_sizes: vk::VideoEncodeH265TransformBlockSizeFlagsKHR::from_raw(
            vk::VideoEncodeH265TransformBlockSizeFlagsKHR::TYPE_4.as_raw()
                | vk::VideoEncodeH265TransformBlockSizeFlagsKHR::TYPE_8.as_raw()
                | vk::VideoEncodeH265TransformBlockSizeFlagsKHR::TYPE_16.as_raw()
                | vk::VideoEncodeH265TransformBlockSizeFlagsKHR::TYPE_32.as_raw(),
        ),
        max_p_picture_l0_reference_count: 1,
        max_b_picture_l0_reference_count: 0,
        max_l1_reference_count: 0,
        max_sub_layer_count: 4,
        expect_dyadic_temporal_sub_layer_pattern: false,
        min_qp: 0,
        max_qp: 51,
        prefers_gop_remaining_frames: false,
        requires_gop_remaining_frames: false,
        std_syntax_flags: vk::VideoEncodeH265StdFlagsKHR::from_raw(
            vk::VideoEncodeH265StdFlagsKHR::CONSTRAINED_INTRA_PRED_FLAG_SET.as_raw()
                | vk::VideoEncodeH265StdFlagsKHR::DEBLOCKING_FILTER_OVERRIDE_ENABLED_FLAG_SET
                    .as_raw()
                | vk::VideoEncodeH265StdFlagsKHR::ENTROPY_CODING_SYNC_ENABLED_FLAG_SET.as_raw()
                | vk::VideoEncodeH265StdFlagsKHR::SAMPLE_ADAPTIVE_OFFSET_ENABLED_FLAG_SET.as_raw()
                | vk::VideoEncodeH265StdFlagsKHR::TRANSFORM_SKIP_ENABLED_FLAG_SET.as_raw()
                | vk::VideoEncodeH265StdFlagsKHR::TRANSFORM_SKIP_ENABLED_FLAG_UNSET.as_raw(),
        ),
    },
    av1_video: VideoCaps {
        flags: vk::VideoCapabilityFlagsKHR::empty(),
        min_bitstream_buffer_offset_alignment: 256,
        min_bitstream_buffer_size_alignment: 8,
        // = codedPictureAlignment on VCN 4.
        picture_access_granularity: (64, 16),
        min_coded_extent: (128, 128),
        max_coded_extent: (8192, 4352),
        max_dpb_slots: 9,
        max_active_reference_pictures: 7,
    },
    av1_encode: EncodeCaps {
        flags: vk::VideoEncodeCapabilityFlagsKHR::empty(),
        rate_control_modes: rc_modes(0x2 | 0x4 | 0x1),
        max_rate_control_layers: 4,
        max_bitrate: 1_000_000_000,
        max_quality_levels: 2,
        encode_input_picture_granularity: (64, 16),
        supported_encode_feedback_flags: MESA_FEEDBACK,
    },
    av1: Av1Caps {
        flags: AV1_CAPABILITY_PER_RATE_CONTROL_GROUP_MIN_MAX_Q_INDEX
            | AV1_CAPABILITY_GENERATE_OBU_EXTENSION_HEADER,
        max_level: ash::vk::native::StdVideoAV1Level_STD_VIDEO_AV1_LEVEL_6_0,
        coded_picture_alignment: (64, 16),
        max_tiles: (2, 16),
        min_tile_size: (64, 64),
        max_tile_size: (4096, 4096),
        superblock_sizes: AV1_SUPERBLOCK_SIZE_64,
        max_single_reference_count: 1,
        single_reference_name_mask: 0b000_0001,
        max_unidirectional_compound_reference_count: 0,
        max_unidirectional_compound_group1_reference_count: 0,
        unidirectional_compound_reference_name_mask: 0,
        max_bidirectional_compound_reference_count: 0,
        max_bidirectional_compound_group1_reference_count: 0,
        max_bidirectional_compound_group2_reference_count: 0,
        bidirectional_compound_reference_name_mask: 0,
        max_temporal_layer_count: 4,
        max_spatial_layer_count: 1,
        max_operating_points: 4,
        min_q_index: 1,
        max_q_index: 255,
        prefers_gop_remaining_frames: false,
        requires_gop_remaining_frames: false,
        std_syntax_flags: 0,
    },
    ..NVIDIA_RTX_4090
};

/// An AMD Radeon RX 9070 XT (Navi 48, RDNA4, VCN 5.0.0) on Mesa's RADV: the RADV table whose
/// encode offers separate reference images.
///
/// Source: the same `radv_video.c` (bminor/mesa-mesa at commit
/// 00145624637a5ada7f5f7afb0ae75157b3b08824) in its VCN 5 branches (`RADV_VIDEO_ENC_HW_5`:
/// `SEPARATE_REFERENCE_IMAGES`, the H.264 8x8 transform, smaller smallest extents, AV1's 8x2
/// coded picture alignment, compound references and std flags). The largest coded extents are
/// the kernel's VCN 5.0.0 encode table (the amdgpu patch "Add VCN5 encode and decode
/// capabilities support" to `drivers/gpu/drm/amd/amdgpu/soc24.c`,
/// `vcn_5_0_0_video_codecs_encode_array_vcn0`: H.264 3840x2160, HEVC and AV1 7680x4320, level
/// 0 again). Not sourced, chosen here: as for [`AMD_RADV_RX_7900_XTX`] (the levels, the
/// quality levels kept at this commit's 2, the PCI device id 0x7550 and the Mesa version).
pub const AMD_RADV_RX_9070_XT: DeviceTable = DeviceTable {
    name: "AMD Radeon RX 9070 XT (RADV NAVI48) (GhostStream test driver)",
    device_id: 0x7550,
    h264_video: VideoCaps {
        flags: vk::VideoCapabilityFlagsKHR::SEPARATE_REFERENCE_IMAGES,
        min_coded_extent: (96, 32),
        max_coded_extent: (3840, 2160),
        ..AMD_RADV_RX_7900_XTX.h264_video
    },
    h264: H264Caps {
        std_syntax_flags: vk::VideoEncodeH264StdFlagsKHR::from_raw(
            AMD_RADV_RX_7900_XTX.h264.std_syntax_flags.as_raw()
                | vk::VideoEncodeH264StdFlagsKHR::TRANSFORM_8X8_MODE_FLAG_SET.as_raw(),
        ),
        ..AMD_RADV_RX_7900_XTX.h264
    },
    h265_video: VideoCaps {
        flags: vk::VideoCapabilityFlagsKHR::SEPARATE_REFERENCE_IMAGES,
        min_coded_extent: (384, 128),
        max_coded_extent: (7680, 4320),
        ..AMD_RADV_RX_7900_XTX.h265_video
    },
    av1_video: VideoCaps {
        flags: vk::VideoCapabilityFlagsKHR::SEPARATE_REFERENCE_IMAGES,
        picture_access_granularity: (8, 2),
        min_coded_extent: (320, 128),
        max_coded_extent: (7680, 4320),
        ..AMD_RADV_RX_7900_XTX.av1_video
    },
    av1_encode: EncodeCaps {
        encode_input_picture_granularity: (8, 2),
        ..AMD_RADV_RX_7900_XTX.av1_encode
    },
    av1: Av1Caps {
        coded_picture_alignment: (8, 2),
        max_unidirectional_compound_reference_count: 2,
        max_unidirectional_compound_group1_reference_count: 2,
        // LAST and GOLDEN.
        unidirectional_compound_reference_name_mask: 0b000_1001,
        max_bidirectional_compound_reference_count: 2,
        max_bidirectional_compound_group1_reference_count: 1,
        max_bidirectional_compound_group2_reference_count: 1,
        // LAST and ALTREF.
        bidirectional_compound_reference_name_mask: 0b100_0001,
        std_syntax_flags: AV1_STD_SKIP_MODE_PRESENT_UNSET | AV1_STD_DELTA_Q,
        ..AMD_RADV_RX_7900_XTX.av1
    },
    ..AMD_RADV_RX_7900_XTX
};

/// An Intel Arc A770 (DG2-512, Xe-HPG, Gfx 12.5) on Mesa's ANV.
///
/// Source of the video values: Mesa's `src/intel/vulkan/anv_video.c`,
/// `anv_GetPhysicalDeviceVideoCapabilitiesKHR` and `anv_GetPhysicalDeviceVideoFormatPropertiesKHR`,
/// read in the mirror bminor/mesa-mesa at commit 0268f2163bbd5e5c37b6858683a02811565f14fc (Mesa
/// main, 2025). At that commit ANV encodes H.264 and H.265 only (no AV1 encode case), offers
/// rate control DEFAULT and DISABLED only (constant QP: no CBR or VBR), one quality level and
/// one rate-control layer; its `vkGetPhysicalDeviceVideoEncodeQualityLevelPropertiesKHR` is a
/// TODO that writes nothing (this driver keeps its own answer, see
/// [`crate::video::quality_level`]). It does not write `maxBitrate`: the caller's value stays
/// (0 after a zeroed chain), and this table says 0.
///
/// Not sourced, chosen here: `maxDpbSlots` and `maxActiveReferencePictures` are
/// `ANV_VIDEO_H264_MAX_NUM_REF_FRAME` and `ANV_VIDEO_H265_MAX_NUM_REF_FRAME` of `anv_private.h`,
/// whose value (16) was not read from there; the PCI device id 0x56a0 and Mesa version 25.1.0;
/// the API version and the device limits are the NVIDIA table's (not video values). Of ANV's
/// format answer, `imageCreateFlags` MUTABLE_FORMAT alone is modelled (so no pass writes the
/// encode input pictures through plane views: the engine copies into them); its second entry,
/// with DRM format modifier tiling, is not.
pub const INTEL_ANV_ARC_A770: DeviceTable = DeviceTable {
    name: "Intel(R) Arc(tm) A770 Graphics (DG2) (GhostStream test driver)",
    vendor_id: 0x8086,
    device_id: 0x56a0,
    device_type: vk::PhysicalDeviceType::DISCRETE_GPU,
    driver_version: mesa_version(25, 1, 0),
    driver_id: vk::DriverId::INTEL_OPEN_SOURCE_MESA,
    driver_info: "modelled on Mesa ANV (anv_video.c at 0268f216)",
    encode_operations: vk::VideoCodecOperationFlagsKHR::from_raw(
        vk::VideoCodecOperationFlagsKHR::ENCODE_H264.as_raw()
            | vk::VideoCodecOperationFlagsKHR::ENCODE_H265.as_raw(),
    ),
    // No VK_KHR_video_encode_intra_refresh (inherited: ANV's answer for it was not read).
    // anv_GetPhysicalDeviceVideoFormatPropertiesKHR: MUTABLE_FORMAT alone, for every use.
    encode_input_create_flags: vk::ImageCreateFlags::MUTABLE_FORMAT,
    h264_video: VideoCaps {
        flags: vk::VideoCapabilityFlagsKHR::SEPARATE_REFERENCE_IMAGES,
        min_bitstream_buffer_offset_alignment: 32,
        min_bitstream_buffer_size_alignment: 4096,
        picture_access_granularity: (16, 16),
        min_coded_extent: (16, 16),
        max_coded_extent: (4096, 4096),
        max_dpb_slots: 16,
        max_active_reference_pictures: 16,
    },
    h264_encode: EncodeCaps {
        flags: vk::VideoEncodeCapabilityFlagsKHR::empty(),
        // DEFAULT (0) | DISABLED.
        rate_control_modes: rc_modes(0x1),
        max_rate_control_layers: 1,
        max_bitrate: 0,
        max_quality_levels: 1,
        encode_input_picture_granularity: (32, 32),
        supported_encode_feedback_flags: MESA_FEEDBACK,
    },
    h264: H264Caps {
        flags: vk::VideoEncodeH264CapabilityFlagsKHR::from_raw(
            vk::VideoEncodeH264CapabilityFlagsKHR::HRD_COMPLIANCE.as_raw()
                | vk::VideoEncodeH264CapabilityFlagsKHR::PER_PICTURE_TYPE_MIN_MAX_QP.as_raw(),
        ),
        max_level_idc: ash::vk::native::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_5_1,
        max_slice_count: 1,
        max_p_picture_l0_reference_count: 8,
        max_b_picture_l0_reference_count: 8,
        max_l1_reference_count: 0,
        max_temporal_layer_count: 0,
        expect_dyadic_temporal_layer_pattern: false,
        min_qp: 10,
        max_qp: 51,
        prefers_gop_remaining_frames: false,
        requires_gop_remaining_frames: false,
        std_syntax_flags: vk::VideoEncodeH264StdFlagsKHR::from_raw(
            vk::VideoEncodeH264StdFlagsKHR::CONSTRAINED_INTRA_PRED_FLAG_SET.as_raw()
                | vk::VideoEncodeH264StdFlagsKHR::ENTROPY_CODING_MODE_FLAG_UNSET.as_raw()
                | vk::VideoEncodeH264StdFlagsKHR::ENTROPY_CODING_MODE_FLAG_SET.as_raw()
                | vk::VideoEncodeH264StdFlagsKHR::DEBLOCKING_FILTER_DISABLED.as_raw()
                | vk::VideoEncodeH264StdFlagsKHR::DEBLOCKING_FILTER_ENABLED.as_raw()
                | vk::VideoEncodeH264StdFlagsKHR::DEBLOCKING_FILTER_PARTIAL.as_raw()
                | vk::VideoEncodeH264StdFlagsKHR::TRANSFORM_8X8_MODE_FLAG_SET.as_raw()
                | vk::VideoEncodeH264StdFlagsKHR::CHROMA_QP_INDEX_OFFSET.as_raw()
                | vk::VideoEncodeH264StdFlagsKHR::SECOND_CHROMA_QP_INDEX_OFFSET.as_raw(),
        ),
    },
    h265_video: VideoCaps {
        flags: vk::VideoCapabilityFlagsKHR::SEPARATE_REFERENCE_IMAGES,
        min_bitstream_buffer_offset_alignment: 4096,
        min_bitstream_buffer_size_alignment: 4096,
        // ANV_MAX_H265_CTB_SIZE.
        picture_access_granularity: (64, 64),
        min_coded_extent: (64, 64),
        max_coded_extent: (4096, 4096),
        max_dpb_slots: 16,
        max_active_reference_pictures: 16,
    },
    h265_encode: EncodeCaps {
        flags: vk::VideoEncodeCapabilityFlagsKHR::empty(),
        rate_control_modes: rc_modes(0x1),
        max_rate_control_layers: 1,
        max_bitrate: 0,
        max_quality_levels: 1,
        encode_input_picture_granularity: (32, 32),
        supported_encode_feedback_flags: MESA_FEEDBACK,
    },
    h265: H265Caps {
        flags: vk::VideoEncodeH265CapabilityFlagsKHR::PER_PICTURE_TYPE_MIN_MAX_QP,
        max_level_idc: ash::vk::native::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_5_1,
        max_slice_segment_count: 128,
        max_tiles: (1, 1),
        ctb_sizes: vk::VideoEncodeH265CtbSizeFlagsKHR::TYPE_64,
        transform_block_sizes: vk::VideoEncodeH265TransformBlockSizeFlagsKHR::from_raw(
            vk::VideoEncodeH265TransformBlockSizeFlagsKHR::TYPE_4.as_raw()
                | vk::VideoEncodeH265TransformBlockSizeFlagsKHR::TYPE_8.as_raw()
                | vk::VideoEncodeH265TransformBlockSizeFlagsKHR::TYPE_16.as_raw()
                | vk::VideoEncodeH265TransformBlockSizeFlagsKHR::TYPE_32.as_raw(),
        ),
        max_p_picture_l0_reference_count: 8,
        max_b_picture_l0_reference_count: 8,
        max_l1_reference_count: 1,
        max_sub_layer_count: 1,
        expect_dyadic_temporal_sub_layer_pattern: false,
        min_qp: 10,
        max_qp: 51,
        prefers_gop_remaining_frames: false,
        requires_gop_remaining_frames: false,
        std_syntax_flags: vk::VideoEncodeH265StdFlagsKHR::from_raw(
            vk::VideoEncodeH265StdFlagsKHR::SAMPLE_ADAPTIVE_OFFSET_ENABLED_FLAG_SET.as_raw()
                | vk::VideoEncodeH265StdFlagsKHR::PCM_ENABLED_FLAG_SET.as_raw()
                | vk::VideoEncodeH265StdFlagsKHR::TRANSFORM_SKIP_ENABLED_FLAG_SET.as_raw()
                | vk::VideoEncodeH265StdFlagsKHR::CONSTRAINED_INTRA_PRED_FLAG_SET.as_raw(),
        ),
    },
    ..NVIDIA_RTX_4090
};

/// The environment variable that picks the table: `nvidia` (the default), `radv` (RDNA3),
/// `radv-rdna4` or `anv`.
pub const TABLE_ENV: &str = "GHOSTSTREAM_ICD_TABLE";

/// The table named `name` ([`TABLE_ENV`]'s values), `None` for another name.
pub fn by_name(name: &str) -> Option<&'static DeviceTable> {
    match name {
        "nvidia" => Some(&NVIDIA_RTX_4090),
        "radv" => Some(&AMD_RADV_RX_7900_XTX),
        "radv-rdna4" => Some(&AMD_RADV_RX_9070_XT),
        "anv" => Some(&INTEL_ANV_ARC_A770),
        _ => None,
    }
}

/// The table the driver uses: the one [`TABLE_ENV`] names when the process first asks (read
/// once), [`NVIDIA_RTX_4090`] when it is unset or names no table.
pub fn active() -> &'static DeviceTable {
    static ACTIVE: std::sync::OnceLock<&'static DeviceTable> = std::sync::OnceLock::new();
    ACTIVE.get_or_init(|| {
        std::env::var(TABLE_ENV)
            .ok()
            .and_then(|n| by_name(n.trim()))
            .unwrap_or(&NVIDIA_RTX_4090)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_picks_its_table_and_the_tables_differ_where_the_drivers_do() {
        assert_eq!(by_name("nvidia"), Some(&NVIDIA_RTX_4090));
        assert_eq!(by_name("radv"), Some(&AMD_RADV_RX_7900_XTX));
        assert_eq!(by_name("radv-rdna4"), Some(&AMD_RADV_RX_9070_XT));
        assert_eq!(by_name("anv"), Some(&INTEL_ANV_ARC_A770));
        assert_eq!(by_name("lavapipe"), None);
        let separate = vk::VideoCapabilityFlagsKHR::SEPARATE_REFERENCE_IMAGES;
        // RADV offers separate reference images for encode from VCN 5 on.
        assert!(!AMD_RADV_RX_7900_XTX.h264_video.flags.contains(separate));
        assert!(AMD_RADV_RX_9070_XT.h264_video.flags.contains(separate));
        // ANV encodes no AV1 and offers constant QP only.
        assert!(!INTEL_ANV_ARC_A770
            .encode_operations
            .contains(CODEC_OPERATION_ENCODE_AV1));
        assert_eq!(
            INTEL_ANV_ARC_A770.h264_encode.rate_control_modes,
            vk::VideoEncodeRateControlModeFlagsKHR::DISABLED
        );
        // Both Mesa drivers code H.265 in 64x64 CTBs only.
        for t in [
            &AMD_RADV_RX_7900_XTX,
            &AMD_RADV_RX_9070_XT,
            &INTEL_ANV_ARC_A770,
        ] {
            assert_eq!(
                t.h265.ctb_sizes,
                vk::VideoEncodeH265CtbSizeFlagsKHR::TYPE_64
            );
            assert!(!t.h264.requires_gop_remaining_frames && !t.h265.requires_gop_remaining_frames);
            assert!(t.name.ends_with("(GhostStream test driver)"));
        }
    }
}
