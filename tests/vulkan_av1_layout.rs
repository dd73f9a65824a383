//! The AV1-encode Vulkan types GhostStream defines itself (src/gpu/video/av1.rs; ash 0.38
//! predates them) have the layout and values of Khronos' own headers: a C program compiled
//! against the Vulkan 1.4 headers (Debian trixie's libvulkan-dev, unpacked privately by
//! .ci/get-vulkan-headers-trixie.sh) prints every struct's size and alignment, every field's
//! offset and size, every bitfield's bit, and every enum value and name, and each is compared
//! with what Rust says. The ash AV1 std types the encode path reuses are compared the same way,
//! and every checked struct's field list is compared with the header's, so a field can be
//! neither missed nor misplaced.
//!
//! Without the headers the test passes by skipping, saying why; with
//! `GHOSTSTREAM_REQUIRE_VK_HEADERS=1` (set by `make test`) their absence fails.

#[path = "../src/gpu/video/av1.rs"]
mod av1;
#[macro_use]
mod vk_layout;

use std::mem::size_of;

use ash::vk;
use ash::vk::native as std_av1;

use vk_layout::{int, Check, Covered};

/// A std structure (the C field names kept).
macro_rules! std_struct {
    ($list:ident, $covered:ident, $ty:ty, $cty:literal, [$($field:ident),+ $(,)?]) => {
        fields!($list, $covered, |s: &str| s.to_string(), $ty, $cty, [$($field),+])
    };
}

/// A bitfield word: its size, and for each named bit the word C makes with only that field
/// set to 1.
macro_rules! bits {
    ($list:ident, $covered:ident, $ty:ident, [$($bit:ident => $cfield:ident),+ $(,)?]) => {{
        let cty = stringify!($ty);
        int(&mut $list, format!("sizeof({cty})"), size_of::<av1::$ty>());
        let set = $covered.entry(cty).or_default();
        $(
            int(
                &mut $list,
                format!(
                    "({{ {cty} f; memset(&f, 0, sizeof f); f.{} = 1; uint32_t u; \
                     memcpy(&u, &f, sizeof u); u; }})",
                    stringify!($cfield)
                ),
                av1::$ty::$bit.as_raw(),
            );
            assert!(set.insert(stringify!($cfield).to_string()));
        )+
    }};
}

/// A bitfield word of ash's bindgen std types: for each named bit, the word its setter makes
/// from zero, against the word C makes with only that field set to 1.
macro_rules! ash_bits {
    ($list:ident, $covered:ident, $ty:ident, [$($setter:ident => $cfield:ident),+ $(,)?]) => {{
        let cty = stringify!($ty);
        let set = $covered.entry(cty).or_default();
        $(
            // SAFETY: the bindgen flag word is a plain 4-byte bitfield unit (the size is
            // checked against C below); every bit pattern is a valid value of it.
            let mut flags: std_av1::$ty = unsafe { std::mem::transmute::<u32, _>(0) };
            flags.$setter(1);
            // SAFETY: as above, read back as the 32-bit word C sees.
            let word: u32 = unsafe { std::mem::transmute(flags) };
            int(
                &mut $list,
                format!(
                    "({{ {cty} f; memset(&f, 0, sizeof f); f.{} = 1; uint32_t u; \
                     memcpy(&u, &f, sizeof u); u; }})",
                    stringify!($cfield)
                ),
                word,
            );
            assert!(set.insert(stringify!($cfield).to_string()));
        )+
    }};
}

fn checks() -> (Vec<Check>, Covered) {
    let mut v = Vec::new();
    let mut cov = Covered::new();

    // The Vulkan structures of VK_KHR_video_encode_av1.
    vk_struct!(
        v,
        cov,
        av1::VideoEncodeAV1QIndexKHR,
        "VkVideoEncodeAV1QIndexKHR",
        [intra_q_index, predictive_q_index, bipredictive_q_index]
    );
    vk_struct!(
        v,
        cov,
        av1::VideoEncodeAV1FrameSizeKHR,
        "VkVideoEncodeAV1FrameSizeKHR",
        [
            intra_frame_size,
            predictive_frame_size,
            bipredictive_frame_size
        ]
    );
    vk_struct!(
        v,
        cov,
        av1::PhysicalDeviceVideoEncodeAV1FeaturesKHR<'static>,
        "VkPhysicalDeviceVideoEncodeAV1FeaturesKHR",
        [s_type, p_next, video_encode_av1]
    );
    vk_struct!(
        v,
        cov,
        av1::VideoEncodeAV1CapabilitiesKHR<'static>,
        "VkVideoEncodeAV1CapabilitiesKHR",
        [
            s_type,
            p_next,
            flags,
            max_level,
            coded_picture_alignment,
            max_tiles,
            min_tile_size,
            max_tile_size,
            superblock_sizes,
            max_single_reference_count,
            single_reference_name_mask,
            max_unidirectional_compound_reference_count,
            max_unidirectional_compound_group1_reference_count,
            unidirectional_compound_reference_name_mask,
            max_bidirectional_compound_reference_count,
            max_bidirectional_compound_group1_reference_count,
            max_bidirectional_compound_group2_reference_count,
            bidirectional_compound_reference_name_mask,
            max_temporal_layer_count,
            max_spatial_layer_count,
            max_operating_points,
            min_q_index,
            max_q_index,
            prefers_gop_remaining_frames,
            requires_gop_remaining_frames,
            std_syntax_flags,
        ]
    );
    vk_struct!(
        v,
        cov,
        av1::VideoEncodeAV1QualityLevelPropertiesKHR<'static>,
        "VkVideoEncodeAV1QualityLevelPropertiesKHR",
        [
            s_type,
            p_next,
            preferred_rate_control_flags,
            preferred_gop_frame_count,
            preferred_key_frame_period,
            preferred_consecutive_bipredictive_frame_count,
            preferred_temporal_layer_count,
            preferred_constant_q_index,
            preferred_max_single_reference_count,
            preferred_single_reference_name_mask,
            preferred_max_unidirectional_compound_reference_count,
            preferred_max_unidirectional_compound_group1_reference_count,
            preferred_unidirectional_compound_reference_name_mask,
            preferred_max_bidirectional_compound_reference_count,
            preferred_max_bidirectional_compound_group1_reference_count,
            preferred_max_bidirectional_compound_group2_reference_count,
            preferred_bidirectional_compound_reference_name_mask,
        ]
    );
    vk_struct!(
        v,
        cov,
        av1::VideoEncodeAV1SessionCreateInfoKHR<'static>,
        "VkVideoEncodeAV1SessionCreateInfoKHR",
        [s_type, p_next, use_max_level, max_level]
    );
    vk_struct!(
        v,
        cov,
        av1::VideoEncodeAV1SessionParametersCreateInfoKHR<'static>,
        "VkVideoEncodeAV1SessionParametersCreateInfoKHR",
        [
            s_type,
            p_next,
            p_std_sequence_header,
            p_std_decoder_model_info,
            std_operating_point_count,
            p_std_operating_points,
        ]
    );
    vk_struct!(
        v,
        cov,
        av1::VideoEncodeAV1PictureInfoKHR<'static>,
        "VkVideoEncodeAV1PictureInfoKHR",
        [
            s_type,
            p_next,
            prediction_mode,
            rate_control_group,
            constant_q_index,
            p_std_picture_info,
            reference_name_slot_indices,
            primary_reference_cdf_only,
            generate_obu_extension_header,
        ]
    );
    vk_struct!(
        v,
        cov,
        av1::VideoEncodeAV1DpbSlotInfoKHR<'static>,
        "VkVideoEncodeAV1DpbSlotInfoKHR",
        [s_type, p_next, p_std_reference_info]
    );
    vk_struct!(
        v,
        cov,
        av1::VideoEncodeAV1ProfileInfoKHR<'static>,
        "VkVideoEncodeAV1ProfileInfoKHR",
        [s_type, p_next, std_profile]
    );
    vk_struct!(
        v,
        cov,
        av1::VideoEncodeAV1GopRemainingFrameInfoKHR<'static>,
        "VkVideoEncodeAV1GopRemainingFrameInfoKHR",
        [
            s_type,
            p_next,
            use_gop_remaining_frames,
            gop_remaining_intra,
            gop_remaining_predictive,
            gop_remaining_bipredictive,
        ]
    );
    vk_struct!(
        v,
        cov,
        av1::VideoEncodeAV1RateControlInfoKHR<'static>,
        "VkVideoEncodeAV1RateControlInfoKHR",
        [
            s_type,
            p_next,
            flags,
            gop_frame_count,
            key_frame_period,
            consecutive_bipredictive_frame_count,
            temporal_layer_count,
        ]
    );
    vk_struct!(
        v,
        cov,
        av1::VideoEncodeAV1RateControlLayerInfoKHR<'static>,
        "VkVideoEncodeAV1RateControlLayerInfoKHR",
        [
            s_type,
            p_next,
            use_min_q_index,
            min_q_index,
            use_max_q_index,
            max_q_index,
            use_max_frame_size,
            max_frame_size,
        ]
    );

    // The std encode structures defined here.
    std_struct!(
        v,
        cov,
        av1::StdVideoEncodeAV1DecoderModelInfo,
        "StdVideoEncodeAV1DecoderModelInfo",
        [
            buffer_delay_length_minus_1,
            buffer_removal_time_length_minus_1,
            frame_presentation_time_length_minus_1,
            reserved1,
            num_units_in_decoding_tick,
        ]
    );
    std_struct!(
        v,
        cov,
        av1::StdVideoEncodeAV1ExtensionHeader,
        "StdVideoEncodeAV1ExtensionHeader",
        [temporal_id, spatial_id]
    );
    std_struct!(
        v,
        cov,
        av1::StdVideoEncodeAV1OperatingPointInfo,
        "StdVideoEncodeAV1OperatingPointInfo",
        [
            flags,
            operating_point_idc,
            seq_level_idx,
            seq_tier,
            decoder_buffer_delay,
            encoder_buffer_delay,
            initial_display_delay_minus_1,
        ]
    );
    std_struct!(
        v,
        cov,
        av1::StdVideoEncodeAV1PictureInfo,
        "StdVideoEncodeAV1PictureInfo",
        [
            flags,
            frame_type,
            frame_presentation_time,
            current_frame_id,
            order_hint,
            primary_ref_frame,
            refresh_frame_flags,
            coded_denom,
            render_width_minus_1,
            render_height_minus_1,
            interpolation_filter,
            TxMode,
            delta_q_res,
            delta_lf_res,
            ref_order_hint,
            ref_frame_idx,
            reserved1,
            delta_frame_id_minus_1,
            pTileInfo,
            pQuantization,
            pSegmentation,
            pLoopFilter,
            pCDEF,
            pLoopRestoration,
            pGlobalMotion,
            pExtensionHeader,
            pBufferRemovalTimes,
        ]
    );
    std_struct!(
        v,
        cov,
        av1::StdVideoEncodeAV1ReferenceInfo,
        "StdVideoEncodeAV1ReferenceInfo",
        [
            flags,
            RefFrameId,
            frame_type,
            OrderHint,
            reserved1,
            pExtensionHeader
        ]
    );
    bits!(v, cov, StdVideoEncodeAV1OperatingPointInfoFlags, [
        DECODER_MODEL_PRESENT_FOR_THIS_OP => decoder_model_present_for_this_op,
        LOW_DELAY_MODE_FLAG => low_delay_mode_flag,
        INITIAL_DISPLAY_DELAY_PRESENT_FOR_THIS_OP => initial_display_delay_present_for_this_op,
    ]);
    bits!(v, cov, StdVideoEncodeAV1PictureInfoFlags, [
        ERROR_RESILIENT_MODE => error_resilient_mode,
        DISABLE_CDF_UPDATE => disable_cdf_update,
        USE_SUPERRES => use_superres,
        RENDER_AND_FRAME_SIZE_DIFFERENT => render_and_frame_size_different,
        ALLOW_SCREEN_CONTENT_TOOLS => allow_screen_content_tools,
        IS_FILTER_SWITCHABLE => is_filter_switchable,
        FORCE_INTEGER_MV => force_integer_mv,
        FRAME_SIZE_OVERRIDE_FLAG => frame_size_override_flag,
        BUFFER_REMOVAL_TIME_PRESENT_FLAG => buffer_removal_time_present_flag,
        ALLOW_INTRABC => allow_intrabc,
        FRAME_REFS_SHORT_SIGNALING => frame_refs_short_signaling,
        ALLOW_HIGH_PRECISION_MV => allow_high_precision_mv,
        IS_MOTION_MODE_SWITCHABLE => is_motion_mode_switchable,
        USE_REF_FRAME_MVS => use_ref_frame_mvs,
        DISABLE_FRAME_END_UPDATE_CDF => disable_frame_end_update_cdf,
        ALLOW_WARPED_MOTION => allow_warped_motion,
        REDUCED_TX_SET => reduced_tx_set,
        SKIP_MODE_PRESENT => skip_mode_present,
        DELTA_Q_PRESENT => delta_q_present,
        DELTA_LF_PRESENT => delta_lf_present,
        DELTA_LF_MULTI => delta_lf_multi,
        SEGMENTATION_ENABLED => segmentation_enabled,
        SEGMENTATION_UPDATE_MAP => segmentation_update_map,
        SEGMENTATION_TEMPORAL_UPDATE => segmentation_temporal_update,
        SEGMENTATION_UPDATE_DATA => segmentation_update_data,
        USES_LR => UsesLr,
        USES_CHROMA_LR => usesChromaLr,
        SHOW_FRAME => show_frame,
        SHOWABLE_FRAME => showable_frame,
    ]);
    bits!(v, cov, StdVideoEncodeAV1ReferenceInfoFlags, [
        DISABLE_FRAME_END_UPDATE_CDF => disable_frame_end_update_cdf,
        SEGMENTATION_ENABLED => segmentation_enabled,
    ]);

    // ash's AV1 std types (Vulkan 1.3.281) that the encode structures point to, against 1.4.
    std_struct!(
        v,
        cov,
        std_av1::StdVideoAV1SequenceHeader,
        "StdVideoAV1SequenceHeader",
        [
            flags,
            seq_profile,
            frame_width_bits_minus_1,
            frame_height_bits_minus_1,
            max_frame_width_minus_1,
            max_frame_height_minus_1,
            delta_frame_id_length_minus_2,
            additional_frame_id_length_minus_1,
            order_hint_bits_minus_1,
            seq_force_integer_mv,
            seq_force_screen_content_tools,
            reserved1,
            pColorConfig,
            pTimingInfo,
        ]
    );
    std_struct!(
        v,
        cov,
        std_av1::StdVideoAV1ColorConfig,
        "StdVideoAV1ColorConfig",
        [
            flags,
            BitDepth,
            subsampling_x,
            subsampling_y,
            reserved1,
            color_primaries,
            transfer_characteristics,
            matrix_coefficients,
            chroma_sample_position,
        ]
    );
    std_struct!(
        v,
        cov,
        std_av1::StdVideoAV1TimingInfo,
        "StdVideoAV1TimingInfo",
        [
            flags,
            num_units_in_display_tick,
            time_scale,
            num_ticks_per_picture_minus_1
        ]
    );
    std_struct!(
        v,
        cov,
        std_av1::StdVideoAV1TileInfo,
        "StdVideoAV1TileInfo",
        [
            flags,
            TileCols,
            TileRows,
            context_update_tile_id,
            tile_size_bytes_minus_1,
            reserved1,
            pMiColStarts,
            pMiRowStarts,
            pWidthInSbsMinus1,
            pHeightInSbsMinus1,
        ]
    );
    std_struct!(
        v,
        cov,
        std_av1::StdVideoAV1Quantization,
        "StdVideoAV1Quantization",
        [
            flags, base_q_idx, DeltaQYDc, DeltaQUDc, DeltaQUAc, DeltaQVDc, DeltaQVAc, qm_y, qm_u,
            qm_v,
        ]
    );
    std_struct!(
        v,
        cov,
        std_av1::StdVideoAV1Segmentation,
        "StdVideoAV1Segmentation",
        [FeatureEnabled, FeatureData]
    );
    std_struct!(
        v,
        cov,
        std_av1::StdVideoAV1LoopFilter,
        "StdVideoAV1LoopFilter",
        [
            flags,
            loop_filter_level,
            loop_filter_sharpness,
            update_ref_delta,
            loop_filter_ref_deltas,
            update_mode_delta,
            loop_filter_mode_deltas,
        ]
    );
    std_struct!(
        v,
        cov,
        std_av1::StdVideoAV1CDEF,
        "StdVideoAV1CDEF",
        [
            cdef_damping_minus_3,
            cdef_bits,
            cdef_y_pri_strength,
            cdef_y_sec_strength,
            cdef_uv_pri_strength,
            cdef_uv_sec_strength,
        ]
    );
    std_struct!(
        v,
        cov,
        std_av1::StdVideoAV1LoopRestoration,
        "StdVideoAV1LoopRestoration",
        [FrameRestorationType, LoopRestorationSize]
    );
    std_struct!(
        v,
        cov,
        std_av1::StdVideoAV1GlobalMotion,
        "StdVideoAV1GlobalMotion",
        [GmType, gm_params]
    );
    // The bits of the ash flag words the encode path sets (sequence header, colour config).
    ash_bits!(v, cov, StdVideoAV1SequenceHeaderFlags, [
        set_still_picture => still_picture,
        set_reduced_still_picture_header => reduced_still_picture_header,
        set_use_128x128_superblock => use_128x128_superblock,
        set_enable_filter_intra => enable_filter_intra,
        set_enable_intra_edge_filter => enable_intra_edge_filter,
        set_enable_interintra_compound => enable_interintra_compound,
        set_enable_masked_compound => enable_masked_compound,
        set_enable_warped_motion => enable_warped_motion,
        set_enable_dual_filter => enable_dual_filter,
        set_enable_order_hint => enable_order_hint,
        set_enable_jnt_comp => enable_jnt_comp,
        set_enable_ref_frame_mvs => enable_ref_frame_mvs,
        set_frame_id_numbers_present_flag => frame_id_numbers_present_flag,
        set_enable_superres => enable_superres,
        set_enable_cdef => enable_cdef,
        set_enable_restoration => enable_restoration,
        set_film_grain_params_present => film_grain_params_present,
        set_timing_info_present_flag => timing_info_present_flag,
        set_initial_display_delay_present_flag => initial_display_delay_present_flag,
    ]);
    ash_bits!(v, cov, StdVideoAV1ColorConfigFlags, [
        set_mono_chrome => mono_chrome,
        set_color_range => color_range,
        set_separate_uv_delta_q => separate_uv_delta_q,
        set_color_description_present_flag => color_description_present_flag,
    ]);
    for (c, rust) in [
        (
            "StdVideoAV1SequenceHeaderFlags",
            size_of::<std_av1::StdVideoAV1SequenceHeaderFlags>(),
        ),
        (
            "StdVideoAV1ColorConfigFlags",
            size_of::<std_av1::StdVideoAV1ColorConfigFlags>(),
        ),
        (
            "StdVideoAV1TimingInfoFlags",
            size_of::<std_av1::StdVideoAV1TimingInfoFlags>(),
        ),
        (
            "StdVideoAV1TileInfoFlags",
            size_of::<std_av1::StdVideoAV1TileInfoFlags>(),
        ),
        (
            "StdVideoAV1QuantizationFlags",
            size_of::<std_av1::StdVideoAV1QuantizationFlags>(),
        ),
        (
            "StdVideoAV1LoopFilterFlags",
            size_of::<std_av1::StdVideoAV1LoopFilterFlags>(),
        ),
    ] {
        int(&mut v, format!("sizeof({c})"), rust);
    }

    // Each structure's sType, through ash's TaggedStructure.
    fn tag<T: vk::TaggedStructure>() -> i32 {
        T::STRUCTURE_TYPE.as_raw()
    }
    values!(
        v,
        [
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_CAPABILITIES_KHR =
                tag::<av1::VideoEncodeAV1CapabilitiesKHR>(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_SESSION_PARAMETERS_CREATE_INFO_KHR =
                tag::<av1::VideoEncodeAV1SessionParametersCreateInfoKHR>(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_PICTURE_INFO_KHR =
                tag::<av1::VideoEncodeAV1PictureInfoKHR>(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_DPB_SLOT_INFO_KHR =
                tag::<av1::VideoEncodeAV1DpbSlotInfoKHR>(),
            VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VIDEO_ENCODE_AV1_FEATURES_KHR =
                tag::<av1::PhysicalDeviceVideoEncodeAV1FeaturesKHR>(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_PROFILE_INFO_KHR =
                tag::<av1::VideoEncodeAV1ProfileInfoKHR>(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_RATE_CONTROL_INFO_KHR =
                tag::<av1::VideoEncodeAV1RateControlInfoKHR>(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_RATE_CONTROL_LAYER_INFO_KHR =
                tag::<av1::VideoEncodeAV1RateControlLayerInfoKHR>(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_QUALITY_LEVEL_PROPERTIES_KHR =
                tag::<av1::VideoEncodeAV1QualityLevelPropertiesKHR>(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_SESSION_CREATE_INFO_KHR =
                tag::<av1::VideoEncodeAV1SessionCreateInfoKHR>(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_GOP_REMAINING_FRAME_INFO_KHR =
                tag::<av1::VideoEncodeAV1GopRemainingFrameInfoKHR>(),
        ]
    );
    // The named structure-type constants themselves (what code outside the structs uses).
    use av1::structure_type as st;
    values!(
        v,
        [
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_CAPABILITIES_KHR =
                st::VIDEO_ENCODE_AV1_CAPABILITIES_KHR.as_raw(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_SESSION_PARAMETERS_CREATE_INFO_KHR =
                st::VIDEO_ENCODE_AV1_SESSION_PARAMETERS_CREATE_INFO_KHR.as_raw(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_PICTURE_INFO_KHR =
                st::VIDEO_ENCODE_AV1_PICTURE_INFO_KHR.as_raw(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_DPB_SLOT_INFO_KHR =
                st::VIDEO_ENCODE_AV1_DPB_SLOT_INFO_KHR.as_raw(),
            VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VIDEO_ENCODE_AV1_FEATURES_KHR =
                st::PHYSICAL_DEVICE_VIDEO_ENCODE_AV1_FEATURES_KHR.as_raw(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_PROFILE_INFO_KHR =
                st::VIDEO_ENCODE_AV1_PROFILE_INFO_KHR.as_raw(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_RATE_CONTROL_INFO_KHR =
                st::VIDEO_ENCODE_AV1_RATE_CONTROL_INFO_KHR.as_raw(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_RATE_CONTROL_LAYER_INFO_KHR =
                st::VIDEO_ENCODE_AV1_RATE_CONTROL_LAYER_INFO_KHR.as_raw(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_QUALITY_LEVEL_PROPERTIES_KHR =
                st::VIDEO_ENCODE_AV1_QUALITY_LEVEL_PROPERTIES_KHR.as_raw(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_SESSION_CREATE_INFO_KHR =
                st::VIDEO_ENCODE_AV1_SESSION_CREATE_INFO_KHR.as_raw(),
            VK_STRUCTURE_TYPE_VIDEO_ENCODE_AV1_GOP_REMAINING_FRAME_INFO_KHR =
                st::VIDEO_ENCODE_AV1_GOP_REMAINING_FRAME_INFO_KHR.as_raw(),
        ]
    );

    // Versions, the codec operation, flag bits and enums.
    use av1::{
        VideoEncodeAV1CapabilityFlagsKHR as Cap, VideoEncodeAV1PredictionModeKHR as Mode,
        VideoEncodeAV1RateControlFlagsKHR as Rc, VideoEncodeAV1RateControlGroupKHR as Group,
        VideoEncodeAV1StdFlagsKHR as StdF, VideoEncodeAV1SuperblockSizeFlagsKHR as Sb,
    };
    values!(
        v,
        [
            VK_KHR_VIDEO_ENCODE_AV1_SPEC_VERSION = av1::KHR_VIDEO_ENCODE_AV1_SPEC_VERSION,
            VK_STD_VULKAN_VIDEO_CODEC_AV1_ENCODE_SPEC_VERSION =
                av1::STD_VULKAN_VIDEO_CODEC_AV1_ENCODE_SPEC_VERSION,
            VK_VIDEO_CODEC_OPERATION_ENCODE_AV1_BIT_KHR =
                av1::VIDEO_CODEC_OPERATION_ENCODE_AV1.as_raw(),
            VK_MAX_VIDEO_AV1_REFERENCES_PER_FRAME_KHR = vk::MAX_VIDEO_AV1_REFERENCES_PER_FRAME_KHR,
            VK_VIDEO_ENCODE_AV1_CAPABILITY_PER_RATE_CONTROL_GROUP_MIN_MAX_Q_INDEX_BIT_KHR =
                Cap::PER_RATE_CONTROL_GROUP_MIN_MAX_Q_INDEX.as_raw(),
            VK_VIDEO_ENCODE_AV1_CAPABILITY_GENERATE_OBU_EXTENSION_HEADER_BIT_KHR =
                Cap::GENERATE_OBU_EXTENSION_HEADER.as_raw(),
            VK_VIDEO_ENCODE_AV1_CAPABILITY_PRIMARY_REFERENCE_CDF_ONLY_BIT_KHR =
                Cap::PRIMARY_REFERENCE_CDF_ONLY.as_raw(),
            VK_VIDEO_ENCODE_AV1_CAPABILITY_FRAME_SIZE_OVERRIDE_BIT_KHR =
                Cap::FRAME_SIZE_OVERRIDE.as_raw(),
            VK_VIDEO_ENCODE_AV1_CAPABILITY_MOTION_VECTOR_SCALING_BIT_KHR =
                Cap::MOTION_VECTOR_SCALING.as_raw(),
            VK_VIDEO_ENCODE_AV1_STD_UNIFORM_TILE_SPACING_FLAG_SET_BIT_KHR =
                StdF::UNIFORM_TILE_SPACING_FLAG_SET.as_raw(),
            VK_VIDEO_ENCODE_AV1_STD_SKIP_MODE_PRESENT_UNSET_BIT_KHR =
                StdF::SKIP_MODE_PRESENT_UNSET.as_raw(),
            VK_VIDEO_ENCODE_AV1_STD_PRIMARY_REF_FRAME_BIT_KHR = StdF::PRIMARY_REF_FRAME.as_raw(),
            VK_VIDEO_ENCODE_AV1_STD_DELTA_Q_BIT_KHR = StdF::DELTA_Q.as_raw(),
            VK_VIDEO_ENCODE_AV1_SUPERBLOCK_SIZE_64_BIT_KHR = Sb::SIZE_64.as_raw(),
            VK_VIDEO_ENCODE_AV1_SUPERBLOCK_SIZE_128_BIT_KHR = Sb::SIZE_128.as_raw(),
            VK_VIDEO_ENCODE_AV1_RATE_CONTROL_REGULAR_GOP_BIT_KHR = Rc::REGULAR_GOP.as_raw(),
            VK_VIDEO_ENCODE_AV1_RATE_CONTROL_TEMPORAL_LAYER_PATTERN_DYADIC_BIT_KHR =
                Rc::TEMPORAL_LAYER_PATTERN_DYADIC.as_raw(),
            VK_VIDEO_ENCODE_AV1_RATE_CONTROL_REFERENCE_PATTERN_FLAT_BIT_KHR =
                Rc::REFERENCE_PATTERN_FLAT.as_raw(),
            VK_VIDEO_ENCODE_AV1_RATE_CONTROL_REFERENCE_PATTERN_DYADIC_BIT_KHR =
                Rc::REFERENCE_PATTERN_DYADIC.as_raw(),
            VK_VIDEO_ENCODE_AV1_PREDICTION_MODE_INTRA_ONLY_KHR = Mode::INTRA_ONLY.as_raw(),
            VK_VIDEO_ENCODE_AV1_PREDICTION_MODE_SINGLE_REFERENCE_KHR =
                Mode::SINGLE_REFERENCE.as_raw(),
            VK_VIDEO_ENCODE_AV1_PREDICTION_MODE_UNIDIRECTIONAL_COMPOUND_KHR =
                Mode::UNIDIRECTIONAL_COMPOUND.as_raw(),
            VK_VIDEO_ENCODE_AV1_PREDICTION_MODE_BIDIRECTIONAL_COMPOUND_KHR =
                Mode::BIDIRECTIONAL_COMPOUND.as_raw(),
            VK_VIDEO_ENCODE_AV1_RATE_CONTROL_GROUP_INTRA_KHR = Group::INTRA.as_raw(),
            VK_VIDEO_ENCODE_AV1_RATE_CONTROL_GROUP_PREDICTIVE_KHR = Group::PREDICTIVE.as_raw(),
            VK_VIDEO_ENCODE_AV1_RATE_CONTROL_GROUP_BIPREDICTIVE_KHR = Group::BIPREDICTIVE.as_raw(),
            STD_VIDEO_AV1_REFERENCE_NAME_INTRA_FRAME =
                av1::STD_VIDEO_AV1_REFERENCE_NAME_INTRA_FRAME,
            STD_VIDEO_AV1_REFERENCE_NAME_LAST_FRAME = av1::STD_VIDEO_AV1_REFERENCE_NAME_LAST_FRAME,
            STD_VIDEO_AV1_REFERENCE_NAME_LAST2_FRAME =
                av1::STD_VIDEO_AV1_REFERENCE_NAME_LAST2_FRAME,
            STD_VIDEO_AV1_REFERENCE_NAME_LAST3_FRAME =
                av1::STD_VIDEO_AV1_REFERENCE_NAME_LAST3_FRAME,
            STD_VIDEO_AV1_REFERENCE_NAME_GOLDEN_FRAME =
                av1::STD_VIDEO_AV1_REFERENCE_NAME_GOLDEN_FRAME,
            STD_VIDEO_AV1_REFERENCE_NAME_BWDREF_FRAME =
                av1::STD_VIDEO_AV1_REFERENCE_NAME_BWDREF_FRAME,
            STD_VIDEO_AV1_REFERENCE_NAME_ALTREF2_FRAME =
                av1::STD_VIDEO_AV1_REFERENCE_NAME_ALTREF2_FRAME,
            STD_VIDEO_AV1_REFERENCE_NAME_ALTREF_FRAME =
                av1::STD_VIDEO_AV1_REFERENCE_NAME_ALTREF_FRAME,
            STD_VIDEO_AV1_NUM_REF_FRAMES = av1::STD_VIDEO_AV1_NUM_REF_FRAMES,
            STD_VIDEO_AV1_REFS_PER_FRAME = av1::STD_VIDEO_AV1_REFS_PER_FRAME,
            STD_VIDEO_AV1_TOTAL_REFS_PER_FRAME = av1::STD_VIDEO_AV1_TOTAL_REFS_PER_FRAME,
            STD_VIDEO_AV1_PRIMARY_REF_NONE = av1::STD_VIDEO_AV1_PRIMARY_REF_NONE,
            STD_VIDEO_AV1_SELECT_INTEGER_MV = av1::STD_VIDEO_AV1_SELECT_INTEGER_MV,
            STD_VIDEO_AV1_SELECT_SCREEN_CONTENT_TOOLS =
                av1::STD_VIDEO_AV1_SELECT_SCREEN_CONTENT_TOOLS,
            STD_VIDEO_AV1_MAX_TILE_COLS = av1::STD_VIDEO_AV1_MAX_TILE_COLS,
            STD_VIDEO_AV1_MAX_TILE_ROWS = av1::STD_VIDEO_AV1_MAX_TILE_ROWS,
        ]
    );
    for (c, rust) in [
        ("VkVideoEncodeAV1PredictionModeKHR", size_of::<Mode>()),
        ("VkVideoEncodeAV1RateControlGroupKHR", size_of::<Group>()),
        ("VkVideoEncodeAV1CapabilityFlagsKHR", size_of::<Cap>()),
        (
            "StdVideoAV1ReferenceName",
            size_of::<av1::StdVideoAV1ReferenceName>(),
        ),
    ] {
        int(&mut v, format!("sizeof({c})"), rust);
    }
    for (c, rust) in [
        (
            "VK_KHR_VIDEO_ENCODE_AV1_EXTENSION_NAME",
            av1::KHR_VIDEO_ENCODE_AV1_NAME,
        ),
        (
            "VK_STD_VULKAN_VIDEO_CODEC_AV1_ENCODE_EXTENSION_NAME",
            av1::STD_VULKAN_VIDEO_CODEC_AV1_ENCODE_EXTENSION_NAME,
        ),
    ] {
        v.push(Check {
            c: c.to_string(),
            string: true,
            rust: rust.to_str().unwrap().to_string(),
        });
    }
    (v, cov)
}

#[test]
fn av1_encode_types_match_the_vulkan_headers() {
    let Some(include) = vk_layout::include_dir(
        "GHOSTSTREAM_VK_HEADERS",
        "vulkan-headers-trixie",
        "vk_video/vulkan_video_codec_av1std_encode.h",
        None,
        ".ci/get-vulkan-headers-trixie.sh",
    ) else {
        return;
    };
    let (checks, covered) = checks();

    // Every field of every checked struct is listed, in any order (offsets catch the order).
    vk_layout::assert_fields_covered(
        &include,
        &[
            "vulkan/vulkan_core.h",
            "vk_video/vulkan_video_codec_av1std.h",
            "vk_video/vulkan_video_codec_av1std_encode.h",
        ],
        &covered,
    );
    let values = vk_layout::c_values(&include, &checks);
    // The comparison itself can fail: one Rust offset moved by 4 is reported, alone.
    vk_layout::assert_probe_caught(
        &checks,
        &values,
        "offsetof(VkVideoEncodeAV1PictureInfoKHR, pStdPictureInfo)",
    );
    vk_layout::assert_all_match(&checks, &values, &include, &covered);
}

/// The structures chain onto ash's own through `push_next`, each carrying its sType from
/// `Default`, and the borrowing builders point where they were given.
#[test]
fn av1_encode_types_chain_with_ash() {
    let mut profile = av1::VideoEncodeAV1ProfileInfoKHR::default();
    let info = vk::VideoProfileInfoKHR::default()
        .video_codec_operation(av1::VIDEO_CODEC_OPERATION_ENCODE_AV1)
        .push_next(&mut profile);
    assert_eq!(info.p_next, std::ptr::from_ref(&profile).cast());
    assert_eq!(
        profile.s_type,
        av1::structure_type::VIDEO_ENCODE_AV1_PROFILE_INFO_KHR
    );

    let mut caps = av1::VideoEncodeAV1CapabilitiesKHR::default();
    let mut encode_caps = vk::VideoEncodeCapabilitiesKHR::default();
    let all = vk::VideoCapabilitiesKHR::default()
        .push_next(&mut caps)
        .push_next(&mut encode_caps);
    // push_next inserts at the head: the capabilities chain is encode → AV1.
    assert_eq!(all.p_next, std::ptr::from_mut(&mut encode_caps).cast());
    assert_eq!(encode_caps.p_next, std::ptr::from_mut(&mut caps).cast());
    assert_eq!(caps.s_type.as_raw(), 1_000_513_000);

    let std_info = av1::StdVideoEncodeAV1PictureInfo::default();
    assert_eq!(
        std_info.primary_ref_frame,
        av1::STD_VIDEO_AV1_PRIMARY_REF_NONE
    );
    let mut picture = av1::VideoEncodeAV1PictureInfoKHR::default().std_picture_info(&std_info);
    assert_eq!(picture.p_std_picture_info, std::ptr::from_ref(&std_info));
    assert_eq!(picture.reference_name_slot_indices, [-1; 7]);
    let encode = vk::VideoEncodeInfoKHR::default().push_next(&mut picture);
    assert_eq!(encode.p_next, std::ptr::from_ref(&picture).cast());

    let mut features = av1::PhysicalDeviceVideoEncodeAV1FeaturesKHR::default();
    let _ = vk::PhysicalDeviceFeatures2::default().push_next(&mut features);
    let _ = vk::DeviceCreateInfo::default().push_next(&mut features);
    let mut rc = av1::VideoEncodeAV1RateControlInfoKHR::default();
    let _ = vk::VideoCodingControlInfoKHR::default().push_next(&mut rc);
    let _ = vk::VideoBeginCodingInfoKHR::default().push_next(&mut rc);
    let mut layer = av1::VideoEncodeAV1RateControlLayerInfoKHR::default();
    let _ = vk::VideoEncodeRateControlLayerInfoKHR::default().push_next(&mut layer);
    let mut gop = av1::VideoEncodeAV1GopRemainingFrameInfoKHR::default();
    let _ = vk::VideoBeginCodingInfoKHR::default().push_next(&mut gop);
    let mut quality = av1::VideoEncodeAV1QualityLevelPropertiesKHR::default();
    let _ = vk::VideoEncodeQualityLevelPropertiesKHR::default().push_next(&mut quality);
    let mut session = av1::VideoEncodeAV1SessionCreateInfoKHR::default();
    let _ = vk::VideoSessionCreateInfoKHR::default().push_next(&mut session);

    let header: std_av1::StdVideoAV1SequenceHeader = empty_sequence_header();
    let points = [av1::StdVideoEncodeAV1OperatingPointInfo::default(); 2];
    let mut params = av1::VideoEncodeAV1SessionParametersCreateInfoKHR::default()
        .std_sequence_header(&header)
        .std_operating_points(&points);
    assert_eq!(params.std_operating_point_count, 2);
    assert_eq!(params.p_std_operating_points, points.as_ptr());
    let _ = vk::VideoSessionParametersCreateInfoKHR::default().push_next(&mut params);

    let reference = av1::StdVideoEncodeAV1ReferenceInfo::default();
    let mut slot = av1::VideoEncodeAV1DpbSlotInfoKHR::default().std_reference_info(&reference);
    let _ = vk::VideoReferenceSlotInfoKHR::default().push_next(&mut slot);
}

/// A sequence header with every field zero and both pointers null (ash's bindgen type has no
/// `Default`).
fn empty_sequence_header() -> std_av1::StdVideoAV1SequenceHeader {
    std_av1::StdVideoAV1SequenceHeader {
        // SAFETY: the flag word is a plain 4-byte bitfield unit; all bits zero is valid.
        flags: unsafe { std::mem::transmute::<u32, std_av1::StdVideoAV1SequenceHeaderFlags>(0) },
        seq_profile: std_av1::StdVideoAV1Profile_STD_VIDEO_AV1_PROFILE_MAIN,
        frame_width_bits_minus_1: 0,
        frame_height_bits_minus_1: 0,
        max_frame_width_minus_1: 0,
        max_frame_height_minus_1: 0,
        delta_frame_id_length_minus_2: 0,
        additional_frame_id_length_minus_1: 0,
        order_hint_bits_minus_1: 0,
        seq_force_integer_mv: 0,
        seq_force_screen_content_tools: 0,
        reserved1: [0; 5],
        pColorConfig: std::ptr::null(),
        pTimingInfo: std::ptr::null(),
    }
}
