//! H.265 parameter sets: the VPS, SPS and PPS an application gives as Vulkan's std
//! structures, written as Annex-B NAL units (ITU-T H.265 sections 7.3.2.1 to 7.3.2.3, 7.3.3,
//! 7.3.7 and E.2.1) when they are added, with the values the encoder needs kept beside them.
//!
//! The SPS and PPS are written with the overrides this driver's PCM encoder
//! ([`crate::h265_pcm`]) needs (16x16 coding tree and coding blocks, PCM coding units at the
//! picture's bit depth (8 bits for Main, 10 for Main 10) unfiltered, no SAO, tiles, wavefronts, weighted prediction or temporal motion vectors;
//! see [`pcm_sps`] and [`pcm_pps`]); each keeps the values as written beside its NAL unit and
//! says whether they differ from the application's (`hasOverrides`).
//!
//! Not written yet, and refused with the reason: HRD parameters, scaling-list data,
//! inter-predicted short-term reference picture sets and the SPS/PPS extensions.

use ash::vk::native;

use crate::h264::{annex_b, BitWriter};

/// A std structure whose pointers are all NULL (what they pointed to is kept beside it), so
/// that it is plain data.
#[derive(Clone, Copy, Debug)]
pub struct Plain<T>(T);

impl<T> Plain<T> {
    /// The structure.
    pub fn get(&self) -> &T {
        &self.0
    }
}

// SAFETY: a `Plain` is only made by this module, with every pointer inside set to NULL, so it
// refers to nothing.
unsafe impl<T> Send for Plain<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Plain<T> {}

/// `StdVideoH265VpsFlags` with every flag 0 (bindgen gives the std structures no `Default`).
pub fn no_vps_flags() -> native::StdVideoH265VpsFlags {
    native::StdVideoH265VpsFlags {
        _bitfield_align_1: [],
        _bitfield_1: native::__BindgenBitfieldUnit::new([0; 1]),
        __bindgen_padding_0: [0; 3],
    }
}

/// A single-layer VPS's flags: temporal id nesting, and the sub-layer ordering info present.
pub fn single_layer_vps_flags() -> native::StdVideoH265VpsFlags {
    let mut flags = no_vps_flags();
    flags.set_vps_temporal_id_nesting_flag(1);
    flags.set_vps_sub_layer_ordering_info_present_flag(1);
    flags
}

/// A DPB of one reference picture and the one being decoded, nothing reordered, no latency
/// bound (`sps_max_dec_pic_buffering_minus1` 1 for the one sub-layer).
pub fn one_reference_dpb() -> native::StdVideoH265DecPicBufMgr {
    native::StdVideoH265DecPicBufMgr {
        max_latency_increase_plus1: [0; 7],
        max_dec_pic_buffering_minus1: [1, 0, 0, 0, 0, 0, 0],
        max_num_reorder_pics: [0; 7],
    }
}

/// `StdVideoH265SpsFlags` with every flag 0.
pub fn no_sps_flags() -> native::StdVideoH265SpsFlags {
    native::StdVideoH265SpsFlags {
        _bitfield_align_1: [],
        _bitfield_1: native::__BindgenBitfieldUnit::new([0; 4]),
    }
}

/// `StdVideoH265PpsFlags` with every flag 0.
pub fn no_pps_flags() -> native::StdVideoH265PpsFlags {
    native::StdVideoH265PpsFlags {
        _bitfield_align_1: [],
        _bitfield_1: native::__BindgenBitfieldUnit::new([0; 4]),
    }
}

/// `StdVideoH265SpsVuiFlags` with every flag 0.
pub fn no_vui_flags() -> native::StdVideoH265SpsVuiFlags {
    native::StdVideoH265SpsVuiFlags {
        _bitfield_align_1: [],
        _bitfield_1: native::__BindgenBitfieldUnit::new([0; 3]),
        __bindgen_padding_0: 0,
    }
}

/// A `StdVideoH265ProfileTierLevel` of `profile_idc` and `level` (the std enum), the
/// progressive and frame-only flags set.
pub fn std_ptl(profile_idc: u32, level: u32) -> native::StdVideoH265ProfileTierLevel {
    let mut flags = native::StdVideoH265ProfileTierLevelFlags {
        _bitfield_align_1: [],
        _bitfield_1: native::__BindgenBitfieldUnit::new([0; 1]),
        __bindgen_padding_0: [0; 3],
    };
    flags.set_general_progressive_source_flag(1);
    flags.set_general_frame_only_constraint_flag(1);
    native::StdVideoH265ProfileTierLevel {
        flags,
        general_profile_idc: profile_idc,
        general_level_idc: level,
    }
}

/// A `StdVideoH265ShortTermRefPicSet` with `negative` pictures before the current one, each
/// one picture apart and used by it, and none after.
pub fn std_st_rps(negative: u8) -> native::StdVideoH265ShortTermRefPicSet {
    native::StdVideoH265ShortTermRefPicSet {
        flags: native::StdVideoH265ShortTermRefPicSetFlags {
            _bitfield_align_1: [],
            _bitfield_1: native::__BindgenBitfieldUnit::new([0; 1]),
            __bindgen_padding_0: [0; 3],
        },
        delta_idx_minus1: 0,
        use_delta_flag: 0,
        abs_delta_rps_minus1: 0,
        used_by_curr_pic_flag: 0,
        used_by_curr_pic_s0_flag: (1u16 << negative.min(16)).wrapping_sub(1),
        used_by_curr_pic_s1_flag: 0,
        reserved1: 0,
        reserved2: 0,
        reserved3: 0,
        num_negative_pics: negative,
        num_positive_pics: 0,
        delta_poc_s0_minus1: [0; 16],
        delta_poc_s1_minus1: [0; 16],
    }
}

/// A `StdVideoH265VideoParameterSet` of zeros with `flags` and no pointers.
pub fn std_vps(flags: native::StdVideoH265VpsFlags) -> native::StdVideoH265VideoParameterSet {
    native::StdVideoH265VideoParameterSet {
        flags,
        vps_video_parameter_set_id: 0,
        vps_max_sub_layers_minus1: 0,
        reserved1: 0,
        reserved2: 0,
        vps_num_units_in_tick: 0,
        vps_time_scale: 0,
        vps_num_ticks_poc_diff_one_minus1: 0,
        reserved3: 0,
        pDecPicBufMgr: std::ptr::null(),
        pHrdParameters: std::ptr::null(),
        pProfileTierLevel: std::ptr::null(),
    }
}

/// A `StdVideoH265SequenceParameterSet` of zeros with `flags` and no pointers.
pub fn std_sps(flags: native::StdVideoH265SpsFlags) -> native::StdVideoH265SequenceParameterSet {
    native::StdVideoH265SequenceParameterSet {
        flags,
        chroma_format_idc: 0,
        pic_width_in_luma_samples: 0,
        pic_height_in_luma_samples: 0,
        sps_video_parameter_set_id: 0,
        sps_max_sub_layers_minus1: 0,
        sps_seq_parameter_set_id: 0,
        bit_depth_luma_minus8: 0,
        bit_depth_chroma_minus8: 0,
        log2_max_pic_order_cnt_lsb_minus4: 0,
        log2_min_luma_coding_block_size_minus3: 0,
        log2_diff_max_min_luma_coding_block_size: 0,
        log2_min_luma_transform_block_size_minus2: 0,
        log2_diff_max_min_luma_transform_block_size: 0,
        max_transform_hierarchy_depth_inter: 0,
        max_transform_hierarchy_depth_intra: 0,
        num_short_term_ref_pic_sets: 0,
        num_long_term_ref_pics_sps: 0,
        pcm_sample_bit_depth_luma_minus1: 0,
        pcm_sample_bit_depth_chroma_minus1: 0,
        log2_min_pcm_luma_coding_block_size_minus3: 0,
        log2_diff_max_min_pcm_luma_coding_block_size: 0,
        reserved1: 0,
        reserved2: 0,
        palette_max_size: 0,
        delta_palette_max_predictor_size: 0,
        motion_vector_resolution_control_idc: 0,
        sps_num_palette_predictor_initializers_minus1: 0,
        conf_win_left_offset: 0,
        conf_win_right_offset: 0,
        conf_win_top_offset: 0,
        conf_win_bottom_offset: 0,
        pProfileTierLevel: std::ptr::null(),
        pDecPicBufMgr: std::ptr::null(),
        pScalingLists: std::ptr::null(),
        pShortTermRefPicSet: std::ptr::null(),
        pLongTermRefPicsSps: std::ptr::null(),
        pSequenceParameterSetVui: std::ptr::null(),
        pPredictorPaletteEntries: std::ptr::null(),
    }
}

/// A `StdVideoH265PictureParameterSet` of zeros with `flags` and no pointers.
pub fn std_pps(flags: native::StdVideoH265PpsFlags) -> native::StdVideoH265PictureParameterSet {
    native::StdVideoH265PictureParameterSet {
        flags,
        pps_pic_parameter_set_id: 0,
        pps_seq_parameter_set_id: 0,
        sps_video_parameter_set_id: 0,
        num_extra_slice_header_bits: 0,
        num_ref_idx_l0_default_active_minus1: 0,
        num_ref_idx_l1_default_active_minus1: 0,
        init_qp_minus26: 0,
        diff_cu_qp_delta_depth: 0,
        pps_cb_qp_offset: 0,
        pps_cr_qp_offset: 0,
        pps_beta_offset_div2: 0,
        pps_tc_offset_div2: 0,
        log2_parallel_merge_level_minus2: 0,
        log2_max_transform_skip_block_size_minus2: 0,
        diff_cu_chroma_qp_offset_depth: 0,
        chroma_qp_offset_list_len_minus1: 0,
        cb_qp_offset_list: [0; 6],
        cr_qp_offset_list: [0; 6],
        log2_sao_offset_scale_luma: 0,
        log2_sao_offset_scale_chroma: 0,
        pps_act_y_qp_offset_plus5: 0,
        pps_act_cb_qp_offset_plus5: 0,
        pps_act_cr_qp_offset_plus3: 0,
        pps_num_palette_predictor_initializers: 0,
        luma_bit_depth_entry_minus8: 0,
        chroma_bit_depth_entry_minus8: 0,
        num_tile_columns_minus1: 0,
        num_tile_rows_minus1: 0,
        reserved1: 0,
        reserved2: 0,
        column_width_minus1: [0; 19],
        row_height_minus1: [0; 21],
        reserved3: 0,
        pScalingLists: std::ptr::null(),
        pPredictorPaletteEntries: std::ptr::null(),
    }
}

/// `general_level_idc` (30 × the level) of each `StdVideoH265LevelIdc` value, in its order.
const LEVELS: [u32; 13] = [30, 60, 63, 90, 93, 120, 123, 150, 153, 156, 180, 183, 186];

/// The `general_level_idc` syntax value of a `StdVideoH265LevelIdc`.
pub fn level_idc(std_level: u32) -> Option<u32> {
    LEVELS.get(usize::try_from(std_level).ok()?).copied()
}

/// NAL unit types (Table 7-1).
const VPS_NUT: u8 = 32;
const SPS_NUT: u8 = 33;
const PPS_NUT: u8 = 34;

/// A NAL unit of `nal_unit_type` with layer 0 and temporal id 0.
pub(crate) fn nal(nal_unit_type: u8, rbsp: &[u8]) -> Vec<u8> {
    annex_b(&[(nal_unit_type & 0x3f) << 1, 1], rbsp)
}

/// `profile_tier_level(1, max_sub_layers_minus1)`: the general profile, no sub-layer profiles
/// or levels.
fn profile_tier_level(
    w: &mut BitWriter,
    ptl: &native::StdVideoH265ProfileTierLevel,
    max_sub_layers_minus1: u8,
) -> Result<(), String> {
    let level = level_idc(ptl.general_level_idc).ok_or_else(|| {
        format!(
            "general_level_idc {} is not a StdVideoH265LevelIdc value (0 = 1.0 … 12 = 6.2)",
            ptl.general_level_idc
        )
    })?;
    let idc = ptl.general_profile_idc;
    if !(1..=31).contains(&idc) {
        return Err(format!("general_profile_idc {idc} (1 … 31)"));
    }
    let f = &ptl.flags;
    w.u(2, 0); // general_profile_space
    w.bit(f.general_tier_flag() != 0);
    w.u(5, idc);
    // general_profile_compatibility_flag[j]: the profile itself, and Main 10 for Main (a Main
    // stream is a Main 10 stream, section A.3.3).
    for j in 0..32 {
        w.bit(j == idc || (idc == 1 && j == 2));
    }
    w.bit(f.general_progressive_source_flag() != 0);
    w.bit(f.general_interlaced_source_flag() != 0);
    w.bit(f.general_non_packed_constraint_flag() != 0);
    w.bit(f.general_frame_only_constraint_flag() != 0);
    w.u(32, 0); // the 43 reserved (or constraint) bits of Main and Main 10 …
    w.u(11, 0);
    w.bit(false); // … and general_inbld_flag / reserved_zero_bit
    w.u(8, level);
    for _ in 0..max_sub_layers_minus1 {
        w.bit(false); // sub_layer_profile_present_flag
        w.bit(false); // sub_layer_level_present_flag
    }
    if max_sub_layers_minus1 > 0 {
        for _ in max_sub_layers_minus1..8 {
            w.u(2, 0); // reserved_zero_2bits
        }
    }
    Ok(())
}

/// The DPB size, reorder and latency entries of each sub-layer (or of the highest only).
fn sub_layer_ordering(
    w: &mut BitWriter,
    dpb: &native::StdVideoH265DecPicBufMgr,
    all: bool,
    max_sub_layers_minus1: u8,
) {
    let first = if all { 0 } else { max_sub_layers_minus1 };
    for i in usize::from(first)..=usize::from(max_sub_layers_minus1).min(6) {
        w.ue(u32::from(dpb.max_dec_pic_buffering_minus1[i]));
        w.ue(u32::from(dpb.max_num_reorder_pics[i]));
        w.ue(dpb.max_latency_increase_plus1[i]);
    }
}

/// A VPS as the driver keeps it: its id and its NAL unit.
#[derive(Clone, Debug)]
pub struct Vps {
    /// `vps_video_parameter_set_id`.
    pub id: u8,
    /// The NAL unit.
    pub nal: Vec<u8>,
}

/// Writes a VPS from the std structure and what its pointers point to.
pub fn vps(
    v: &native::StdVideoH265VideoParameterSet,
    ptl: Option<&native::StdVideoH265ProfileTierLevel>,
    dpb: Option<&native::StdVideoH265DecPicBufMgr>,
    has_hrd: bool,
) -> Result<Vps, String> {
    let id = v.vps_video_parameter_set_id;
    let (Some(ptl), Some(dpb)) = (ptl, dpb) else {
        return Err(format!(
            "VPS {id}: pProfileTierLevel and pDecPicBufMgr must not be NULL"
        ));
    };
    if has_hrd {
        return Err(format!(
            "VPS {id}: HRD parameters are not written by this driver yet (leave pHrdParameters NULL)"
        ));
    }
    if id > 15 || v.vps_max_sub_layers_minus1 > 6 {
        return Err(format!(
            "VPS {id}: vps_video_parameter_set_id 0 … 15 and vps_max_sub_layers_minus1 0 … 6 (got {})",
            v.vps_max_sub_layers_minus1
        ));
    }
    let f = &v.flags;
    let subs = v.vps_max_sub_layers_minus1;
    let mut w = BitWriter::default();
    w.u(4, u32::from(id));
    w.bit(true); // vps_base_layer_internal_flag
    w.bit(true); // vps_base_layer_available_flag
    w.u(6, 0); // vps_max_layers_minus1
    w.u(3, u32::from(subs));
    w.bit(f.vps_temporal_id_nesting_flag() != 0);
    w.u(16, 0xffff); // vps_reserved_0xffff_16bits
    profile_tier_level(&mut w, ptl, subs).map_err(|e| format!("VPS {id}: {e}"))?;
    let ordering = f.vps_sub_layer_ordering_info_present_flag() != 0;
    w.bit(ordering);
    sub_layer_ordering(&mut w, dpb, ordering, subs);
    w.u(6, 0); // vps_max_layer_id
    w.ue(0); // vps_num_layer_sets_minus1
    w.bit(f.vps_timing_info_present_flag() != 0);
    if f.vps_timing_info_present_flag() != 0 {
        w.u(32, v.vps_num_units_in_tick);
        w.u(32, v.vps_time_scale);
        w.bit(f.vps_poc_proportional_to_timing_flag() != 0);
        if f.vps_poc_proportional_to_timing_flag() != 0 {
            w.ue(v.vps_num_ticks_poc_diff_one_minus1);
        }
        w.ue(0); // vps_num_hrd_parameters
    }
    w.bit(false); // vps_extension_flag
    Ok(Vps {
        id,
        nal: nal(VPS_NUT, &w.finish()),
    })
}

/// What an SPS's pointers point to.
#[derive(Clone, Copy, Debug, Default)]
pub struct SpsParts<'a> {
    /// `pProfileTierLevel`.
    pub ptl: Option<&'a native::StdVideoH265ProfileTierLevel>,
    /// `pDecPicBufMgr`.
    pub dpb: Option<&'a native::StdVideoH265DecPicBufMgr>,
    /// `pShortTermRefPicSet` (`num_short_term_ref_pic_sets` of them).
    pub short_term: &'a [native::StdVideoH265ShortTermRefPicSet],
    /// `pLongTermRefPicsSps`.
    pub long_term: Option<&'a native::StdVideoH265LongTermRefPicsSps>,
    /// `pSequenceParameterSetVui`.
    pub vui: Option<&'a native::StdVideoH265SequenceParameterSetVui>,
    /// Whether the VUI's `pHrdParameters` is set.
    pub vui_has_hrd: bool,
}

/// An SPS as the driver keeps it: its ids, the picture size, the values as written and its NAL
/// unit.
#[derive(Clone, Debug)]
pub struct Sps {
    /// `sps_video_parameter_set_id`.
    pub vps_id: u8,
    /// `sps_seq_parameter_set_id`.
    pub id: u8,
    /// `pic_width_in_luma_samples`, `pic_height_in_luma_samples` as written (whole 16x16
    /// coding tree blocks).
    pub size: (u32, u32),
    /// The SPS as written: the application's with [`pcm_sps`]'s overrides, pointers NULL.
    pub written: Plain<native::StdVideoH265SequenceParameterSet>,
    /// The short-term reference picture sets (`num_short_term_ref_pic_sets` of them).
    pub short_term: Vec<native::StdVideoH265ShortTermRefPicSet>,
    /// Whether the written SPS differs from the application's.
    pub overrides: bool,
    /// The NAL unit.
    pub nal: Vec<u8>,
}

/// `st_ref_pic_set(index)` (section 7.3.7), also the slice segment header's own set.
pub(crate) fn st_ref_pic_set(
    w: &mut BitWriter,
    index: usize,
    s: &native::StdVideoH265ShortTermRefPicSet,
) -> Result<(), String> {
    if index != 0 {
        if s.flags.inter_ref_pic_set_prediction_flag() != 0 {
            return Err(format!(
                "short-term RPS {index}: inter_ref_pic_set_prediction_flag is not written by this driver yet"
            ));
        }
        w.bit(false);
    }
    let (neg, pos) = (
        usize::from(s.num_negative_pics),
        usize::from(s.num_positive_pics),
    );
    if neg > 16 || pos > 16 {
        return Err(format!(
            "short-term RPS {index}: {neg} negative and {pos} positive pictures (16 at most each)"
        ));
    }
    w.ue(u32::from(s.num_negative_pics));
    w.ue(u32::from(s.num_positive_pics));
    for i in 0..neg {
        w.ue(u32::from(s.delta_poc_s0_minus1[i]));
        w.bit(s.used_by_curr_pic_s0_flag >> i & 1 == 1);
    }
    for i in 0..pos {
        w.ue(u32::from(s.delta_poc_s1_minus1[i]));
        w.bit(s.used_by_curr_pic_s1_flag >> i & 1 == 1);
    }
    Ok(())
}

fn write_vui(w: &mut BitWriter, v: &native::StdVideoH265SequenceParameterSetVui) {
    let f = &v.flags;
    w.bit(f.aspect_ratio_info_present_flag() != 0);
    if f.aspect_ratio_info_present_flag() != 0 {
        w.u(8, v.aspect_ratio_idc);
        if v.aspect_ratio_idc == 255 {
            w.u(16, u32::from(v.sar_width));
            w.u(16, u32::from(v.sar_height));
        }
    }
    w.bit(f.overscan_info_present_flag() != 0);
    if f.overscan_info_present_flag() != 0 {
        w.bit(f.overscan_appropriate_flag() != 0);
    }
    w.bit(f.video_signal_type_present_flag() != 0);
    if f.video_signal_type_present_flag() != 0 {
        w.u(3, u32::from(v.video_format));
        w.bit(f.video_full_range_flag() != 0);
        w.bit(f.colour_description_present_flag() != 0);
        if f.colour_description_present_flag() != 0 {
            w.u(8, u32::from(v.colour_primaries));
            w.u(8, u32::from(v.transfer_characteristics));
            w.u(8, u32::from(v.matrix_coeffs));
        }
    }
    w.bit(f.chroma_loc_info_present_flag() != 0);
    if f.chroma_loc_info_present_flag() != 0 {
        w.ue(u32::from(v.chroma_sample_loc_type_top_field));
        w.ue(u32::from(v.chroma_sample_loc_type_bottom_field));
    }
    w.bit(f.neutral_chroma_indication_flag() != 0);
    w.bit(f.field_seq_flag() != 0);
    w.bit(f.frame_field_info_present_flag() != 0);
    w.bit(f.default_display_window_flag() != 0);
    if f.default_display_window_flag() != 0 {
        w.ue(u32::from(v.def_disp_win_left_offset));
        w.ue(u32::from(v.def_disp_win_right_offset));
        w.ue(u32::from(v.def_disp_win_top_offset));
        w.ue(u32::from(v.def_disp_win_bottom_offset));
    }
    w.bit(f.vui_timing_info_present_flag() != 0);
    if f.vui_timing_info_present_flag() != 0 {
        w.u(32, v.vui_num_units_in_tick);
        w.u(32, v.vui_time_scale);
        w.bit(f.vui_poc_proportional_to_timing_flag() != 0);
        if f.vui_poc_proportional_to_timing_flag() != 0 {
            w.ue(v.vui_num_ticks_poc_diff_one_minus1);
        }
        w.bit(false); // vui_hrd_parameters_present_flag (refused when set)
    }
    w.bit(f.bitstream_restriction_flag() != 0);
    if f.bitstream_restriction_flag() != 0 {
        w.bit(f.tiles_fixed_structure_flag() != 0);
        w.bit(f.motion_vectors_over_pic_boundaries_flag() != 0);
        w.bit(f.restricted_ref_pic_lists_flag() != 0);
        w.ue(u32::from(v.min_spatial_segmentation_idc));
        w.ue(u32::from(v.max_bytes_per_pic_denom));
        w.ue(u32::from(v.max_bits_per_min_cu_denom));
        w.ue(u32::from(v.log2_max_mv_length_horizontal));
        w.ue(u32::from(v.log2_max_mv_length_vertical));
    }
}

/// The SPS this driver writes for `s`: the coding tree and coding blocks 16x16 (so no
/// `split_cu_flag` is coded), the picture size rounded up to whole blocks (the difference
/// added to the conformance window, so the output keeps the application's size), transform
/// sizes and depths clipped to the 16x16 blocks, PCM on with samples of the picture's bit
/// depth in 16x16 blocks, unfiltered (`pcm_loop_filter_disabled_flag`), and no AMP, SAO or
/// temporal motion vector prediction. Everything else (profile, tier, level, VUI, POC bits,
/// reference picture sets) is the application's.
pub fn pcm_sps(
    s: &native::StdVideoH265SequenceParameterSet,
) -> native::StdVideoH265SequenceParameterSet {
    let mut o = *s;
    o.log2_min_luma_coding_block_size_minus3 = 1;
    o.log2_diff_max_min_luma_coding_block_size = 0;
    // MinTbLog2SizeY < MinCbLog2SizeY (4) and MaxTbLog2SizeY <= CtbLog2SizeY (4).
    let min_tb = (s.log2_min_luma_transform_block_size_minus2 + 2).min(3);
    let max_tb = (min_tb + s.log2_diff_max_min_luma_transform_block_size).clamp(min_tb, 4);
    o.log2_min_luma_transform_block_size_minus2 = min_tb - 2;
    o.log2_diff_max_min_luma_transform_block_size = max_tb - min_tb;
    o.max_transform_hierarchy_depth_inter = s.max_transform_hierarchy_depth_inter.min(4 - min_tb);
    o.max_transform_hierarchy_depth_intra = s.max_transform_hierarchy_depth_intra.min(4 - min_tb);
    // PcmBitDepth = BitDepth: 8 (minus1 7) for Main, 10 (minus1 9) for Main 10. (Bit depths
    // over 16 are refused when written, so the saturation never shows.)
    o.pcm_sample_bit_depth_luma_minus1 = s.bit_depth_luma_minus8.saturating_add(7);
    o.pcm_sample_bit_depth_chroma_minus1 = s.bit_depth_chroma_minus8.saturating_add(7);
    o.log2_min_pcm_luma_coding_block_size_minus3 = 1;
    o.log2_diff_max_min_pcm_luma_coding_block_size = 0;
    let f = &mut o.flags;
    f.set_pcm_enabled_flag(1);
    f.set_pcm_loop_filter_disabled_flag(1);
    f.set_amp_enabled_flag(0);
    f.set_sample_adaptive_offset_enabled_flag(0);
    f.set_sps_temporal_mvp_enabled_flag(0);
    // Whole 16x16 blocks: the added columns and rows are cropped (in chroma sample units).
    let (sub_w, sub_h) = match s.chroma_format_idc {
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    };
    let (w, h) = (s.pic_width_in_luma_samples, s.pic_height_in_luma_samples);
    let (w16, h16) = (w.div_ceil(16) * 16, h.div_ceil(16) * 16);
    if (w16, h16) != (w, h) {
        if o.flags.conformance_window_flag() == 0 {
            o.flags.set_conformance_window_flag(1);
            o.conf_win_left_offset = 0;
            o.conf_win_right_offset = 0;
            o.conf_win_top_offset = 0;
            o.conf_win_bottom_offset = 0;
        }
        o.pic_width_in_luma_samples = w16;
        o.pic_height_in_luma_samples = h16;
        o.conf_win_right_offset += (w16 - w) / sub_w;
        o.conf_win_bottom_offset += (h16 - h) / sub_h;
    }
    o
}

/// Writes an SPS from the std structure and what its pointers point to, with [`pcm_sps`]'s
/// overrides.
pub fn sps(s: &native::StdVideoH265SequenceParameterSet, p: &SpsParts<'_>) -> Result<Sps, String> {
    let given = write_sps(s, p)?;
    let mut written = pcm_sps(s);
    let nal = write_sps(&written, p)?;
    written.pProfileTierLevel = std::ptr::null();
    written.pDecPicBufMgr = std::ptr::null();
    written.pScalingLists = std::ptr::null();
    written.pShortTermRefPicSet = std::ptr::null();
    written.pLongTermRefPicsSps = std::ptr::null();
    written.pSequenceParameterSetVui = std::ptr::null();
    written.pPredictorPaletteEntries = std::ptr::null();
    Ok(Sps {
        vps_id: s.sps_video_parameter_set_id,
        id: s.sps_seq_parameter_set_id,
        size: (
            written.pic_width_in_luma_samples,
            written.pic_height_in_luma_samples,
        ),
        written: Plain(written),
        short_term: p.short_term[..usize::from(s.num_short_term_ref_pic_sets)].to_vec(),
        overrides: given != nal,
        nal,
    })
}

/// The SPS NAL unit of `s`, checked.
fn write_sps(
    s: &native::StdVideoH265SequenceParameterSet,
    p: &SpsParts<'_>,
) -> Result<Vec<u8>, String> {
    let id = s.sps_seq_parameter_set_id;
    let f = &s.flags;
    let (Some(ptl), Some(dpb)) = (p.ptl, p.dpb) else {
        return Err(format!(
            "SPS {id}: pProfileTierLevel and pDecPicBufMgr must not be NULL"
        ));
    };
    let unsupported = [
        (
            f.sps_scaling_list_data_present_flag(),
            "sps_scaling_list_data_present_flag",
        ),
        (f.sps_extension_present_flag(), "sps_extension_present_flag"),
    ];
    if let Some((_, name)) = unsupported.iter().find(|(v, _)| *v != 0) {
        return Err(format!(
            "SPS {id}: {name} is set; this driver does not write it yet"
        ));
    }
    if f.vui_parameters_present_flag() != 0 && p.vui.is_none() {
        return Err(format!(
            "SPS {id}: vui_parameters_present_flag is set but pSequenceParameterSetVui is NULL"
        ));
    }
    let hrd = p
        .vui
        .is_some_and(|v| v.flags.vui_hrd_parameters_present_flag() != 0);
    if hrd || p.vui_has_hrd {
        return Err(format!(
            "SPS {id}: VUI HRD parameters are not written by this driver yet"
        ));
    }
    let rps_count = usize::from(s.num_short_term_ref_pic_sets);
    if p.short_term.len() < rps_count || rps_count > 64 {
        return Err(format!(
            "SPS {id}: num_short_term_ref_pic_sets {rps_count} (64 at most) but pShortTermRefPicSet gives {}",
            p.short_term.len()
        ));
    }
    let lt_count = usize::from(s.num_long_term_ref_pics_sps);
    if f.long_term_ref_pics_present_flag() != 0
        && (lt_count > 32 || lt_count > 0 && p.long_term.is_none())
    {
        return Err(format!(
            "SPS {id}: num_long_term_ref_pics_sps {lt_count} (32 at most) needs pLongTermRefPicsSps"
        ));
    }
    if s.sps_video_parameter_set_id > 15 || id > 15 || s.sps_max_sub_layers_minus1 > 6 {
        return Err(format!(
            "SPS {id}: ids 0 … 15 and sps_max_sub_layers_minus1 0 … 6 (VPS {}, {} sub-layers minus 1)",
            s.sps_video_parameter_set_id, s.sps_max_sub_layers_minus1
        ));
    }
    // bit_depth_luma_minus8 and bit_depth_chroma_minus8: 0 … 8 (section 7.4.3.2.1); PCM
    // sample depths up to the sample depth (u(4) each).
    let depths = (s.bit_depth_luma_minus8, s.bit_depth_chroma_minus8);
    let pcm = (
        s.pcm_sample_bit_depth_luma_minus1,
        s.pcm_sample_bit_depth_chroma_minus1,
    );
    if depths.0 > 8
        || depths.1 > 8
        || (f.pcm_enabled_flag() != 0 && (pcm.0 > depths.0 + 7 || pcm.1 > depths.1 + 7))
    {
        return Err(format!(
            "SPS {id}: bit depths {}+8 / {}+8 (0 … 8 each) with PCM sample depths {}+1 / {}+1 (at most the sample depths)",
            depths.0, depths.1, pcm.0, pcm.1
        ));
    }
    let subs = s.sps_max_sub_layers_minus1;
    let mut w = BitWriter::default();
    w.u(4, u32::from(s.sps_video_parameter_set_id));
    w.u(3, u32::from(subs));
    w.bit(f.sps_temporal_id_nesting_flag() != 0);
    profile_tier_level(&mut w, ptl, subs).map_err(|e| format!("SPS {id}: {e}"))?;
    w.ue(u32::from(id));
    w.ue(s.chroma_format_idc);
    if s.chroma_format_idc == 3 {
        w.bit(f.separate_colour_plane_flag() != 0);
    }
    w.ue(s.pic_width_in_luma_samples);
    w.ue(s.pic_height_in_luma_samples);
    w.bit(f.conformance_window_flag() != 0);
    if f.conformance_window_flag() != 0 {
        w.ue(s.conf_win_left_offset);
        w.ue(s.conf_win_right_offset);
        w.ue(s.conf_win_top_offset);
        w.ue(s.conf_win_bottom_offset);
    }
    w.ue(u32::from(s.bit_depth_luma_minus8));
    w.ue(u32::from(s.bit_depth_chroma_minus8));
    w.ue(u32::from(s.log2_max_pic_order_cnt_lsb_minus4));
    let ordering = f.sps_sub_layer_ordering_info_present_flag() != 0;
    w.bit(ordering);
    sub_layer_ordering(&mut w, dpb, ordering, subs);
    w.ue(u32::from(s.log2_min_luma_coding_block_size_minus3));
    w.ue(u32::from(s.log2_diff_max_min_luma_coding_block_size));
    w.ue(u32::from(s.log2_min_luma_transform_block_size_minus2));
    w.ue(u32::from(s.log2_diff_max_min_luma_transform_block_size));
    w.ue(u32::from(s.max_transform_hierarchy_depth_inter));
    w.ue(u32::from(s.max_transform_hierarchy_depth_intra));
    w.bit(f.scaling_list_enabled_flag() != 0);
    if f.scaling_list_enabled_flag() != 0 {
        w.bit(false); // sps_scaling_list_data_present_flag (refused when set)
    }
    w.bit(f.amp_enabled_flag() != 0);
    w.bit(f.sample_adaptive_offset_enabled_flag() != 0);
    w.bit(f.pcm_enabled_flag() != 0);
    if f.pcm_enabled_flag() != 0 {
        w.u(4, u32::from(s.pcm_sample_bit_depth_luma_minus1));
        w.u(4, u32::from(s.pcm_sample_bit_depth_chroma_minus1));
        w.ue(u32::from(s.log2_min_pcm_luma_coding_block_size_minus3));
        w.ue(u32::from(s.log2_diff_max_min_pcm_luma_coding_block_size));
        w.bit(f.pcm_loop_filter_disabled_flag() != 0);
    }
    w.ue(u32::from(s.num_short_term_ref_pic_sets));
    for (i, rps) in p.short_term[..rps_count].iter().enumerate() {
        st_ref_pic_set(&mut w, i, rps).map_err(|e| format!("SPS {id}: {e}"))?;
    }
    w.bit(f.long_term_ref_pics_present_flag() != 0);
    if f.long_term_ref_pics_present_flag() != 0 {
        w.ue(u32::from(s.num_long_term_ref_pics_sps));
        let bits = u32::from(s.log2_max_pic_order_cnt_lsb_minus4) + 4;
        if let Some(lt) = p.long_term {
            for i in 0..lt_count {
                w.u(bits, lt.lt_ref_pic_poc_lsb_sps[i]);
                w.bit(lt.used_by_curr_pic_lt_sps_flag >> i & 1 == 1);
            }
        }
    }
    w.bit(f.sps_temporal_mvp_enabled_flag() != 0);
    w.bit(f.strong_intra_smoothing_enabled_flag() != 0);
    w.bit(f.vui_parameters_present_flag() != 0);
    if let (true, Some(v)) = (f.vui_parameters_present_flag() != 0, p.vui) {
        write_vui(&mut w, v);
    }
    w.bit(false); // sps_extension_present_flag (refused when set)
    Ok(nal(SPS_NUT, &w.finish()))
}

/// A PPS as the driver keeps it: its ids, the values as written and its NAL unit.
#[derive(Clone, Debug)]
pub struct Pps {
    /// The PPS as written: the application's with [`pcm_pps`]'s overrides, pointers NULL.
    pub written: Plain<native::StdVideoH265PictureParameterSet>,
    /// Whether the written PPS differs from the application's.
    pub overrides: bool,
    /// `sps_video_parameter_set_id`.
    pub vps_id: u8,
    /// `pps_seq_parameter_set_id`.
    pub sps_id: u8,
    /// `pps_pic_parameter_set_id`.
    pub id: u8,
    /// The NAL unit.
    pub nal: Vec<u8>,
}

/// The PPS this driver writes for `p`: no CU QP deltas, transquant bypass, sign data hiding,
/// tiles, wavefronts, weighted prediction or list modification, and the deblocking filter
/// off; everything else is the application's.
pub fn pcm_pps(
    p: &native::StdVideoH265PictureParameterSet,
) -> native::StdVideoH265PictureParameterSet {
    let mut o = *p;
    o.diff_cu_qp_delta_depth = 0;
    o.num_tile_columns_minus1 = 0;
    o.num_tile_rows_minus1 = 0;
    let f = &mut o.flags;
    f.set_cu_qp_delta_enabled_flag(0);
    f.set_transquant_bypass_enabled_flag(0);
    f.set_sign_data_hiding_enabled_flag(0);
    f.set_tiles_enabled_flag(0);
    f.set_entropy_coding_sync_enabled_flag(0);
    f.set_weighted_pred_flag(0);
    f.set_weighted_bipred_flag(0);
    f.set_lists_modification_present_flag(0);
    f.set_deblocking_filter_control_present_flag(1);
    f.set_deblocking_filter_override_enabled_flag(0);
    f.set_pps_deblocking_filter_disabled_flag(1);
    o
}

/// Writes a PPS from the std structure, with [`pcm_pps`]'s overrides.
pub fn pps(p: &native::StdVideoH265PictureParameterSet) -> Result<Pps, String> {
    let given = write_pps(p)?;
    let mut written = pcm_pps(p);
    let nal = write_pps(&written)?;
    written.pScalingLists = std::ptr::null();
    written.pPredictorPaletteEntries = std::ptr::null();
    Ok(Pps {
        vps_id: p.sps_video_parameter_set_id,
        sps_id: p.pps_seq_parameter_set_id,
        id: p.pps_pic_parameter_set_id,
        written: Plain(written),
        overrides: given != nal,
        nal,
    })
}

/// The PPS NAL unit of `p`, checked.
fn write_pps(p: &native::StdVideoH265PictureParameterSet) -> Result<Vec<u8>, String> {
    let id = p.pps_pic_parameter_set_id;
    let f = &p.flags;
    let unsupported = [
        (
            f.pps_scaling_list_data_present_flag(),
            "pps_scaling_list_data_present_flag",
        ),
        (f.pps_extension_present_flag(), "pps_extension_present_flag"),
    ];
    if let Some((_, name)) = unsupported.iter().find(|(v, _)| *v != 0) {
        return Err(format!(
            "PPS {id}: {name} is set; this driver does not write it yet"
        ));
    }
    if id > 63 || p.pps_seq_parameter_set_id > 15 {
        return Err(format!(
            "PPS {id}: pps_pic_parameter_set_id 0 … 63, pps_seq_parameter_set_id 0 … 15 (got {})",
            p.pps_seq_parameter_set_id
        ));
    }
    let mut w = BitWriter::default();
    w.ue(u32::from(id));
    w.ue(u32::from(p.pps_seq_parameter_set_id));
    w.bit(f.dependent_slice_segments_enabled_flag() != 0);
    w.bit(f.output_flag_present_flag() != 0);
    w.u(3, u32::from(p.num_extra_slice_header_bits));
    w.bit(f.sign_data_hiding_enabled_flag() != 0);
    w.bit(f.cabac_init_present_flag() != 0);
    w.ue(u32::from(p.num_ref_idx_l0_default_active_minus1));
    w.ue(u32::from(p.num_ref_idx_l1_default_active_minus1));
    w.se(i32::from(p.init_qp_minus26));
    w.bit(f.constrained_intra_pred_flag() != 0);
    w.bit(f.transform_skip_enabled_flag() != 0);
    w.bit(f.cu_qp_delta_enabled_flag() != 0);
    if f.cu_qp_delta_enabled_flag() != 0 {
        w.ue(u32::from(p.diff_cu_qp_delta_depth));
    }
    w.se(i32::from(p.pps_cb_qp_offset));
    w.se(i32::from(p.pps_cr_qp_offset));
    w.bit(f.pps_slice_chroma_qp_offsets_present_flag() != 0);
    w.bit(f.weighted_pred_flag() != 0);
    w.bit(f.weighted_bipred_flag() != 0);
    w.bit(f.transquant_bypass_enabled_flag() != 0);
    w.bit(f.tiles_enabled_flag() != 0);
    w.bit(f.entropy_coding_sync_enabled_flag() != 0);
    if f.tiles_enabled_flag() != 0 {
        let (cols, rows) = (
            usize::from(p.num_tile_columns_minus1),
            usize::from(p.num_tile_rows_minus1),
        );
        if cols >= p.column_width_minus1.len() || rows >= p.row_height_minus1.len() {
            return Err(format!(
                "PPS {id}: {cols}+1 tile columns and {rows}+1 rows (20 and 22 at most)"
            ));
        }
        w.ue(u32::from(p.num_tile_columns_minus1));
        w.ue(u32::from(p.num_tile_rows_minus1));
        w.bit(f.uniform_spacing_flag() != 0);
        if f.uniform_spacing_flag() == 0 {
            for c in &p.column_width_minus1[..cols] {
                w.ue(u32::from(*c));
            }
            for r in &p.row_height_minus1[..rows] {
                w.ue(u32::from(*r));
            }
        }
        w.bit(f.loop_filter_across_tiles_enabled_flag() != 0);
    }
    w.bit(f.pps_loop_filter_across_slices_enabled_flag() != 0);
    w.bit(f.deblocking_filter_control_present_flag() != 0);
    if f.deblocking_filter_control_present_flag() != 0 {
        w.bit(f.deblocking_filter_override_enabled_flag() != 0);
        w.bit(f.pps_deblocking_filter_disabled_flag() != 0);
        if f.pps_deblocking_filter_disabled_flag() == 0 {
            w.se(i32::from(p.pps_beta_offset_div2));
            w.se(i32::from(p.pps_tc_offset_div2));
        }
    }
    w.bit(false); // pps_scaling_list_data_present_flag (refused when set)
    w.bit(f.lists_modification_present_flag() != 0);
    w.ue(u32::from(p.log2_parallel_merge_level_minus2));
    w.bit(f.slice_segment_header_extension_present_flag() != 0);
    w.bit(false); // pps_extension_present_flag (refused when set)
    Ok(nal(PPS_NUT, &w.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_thirty_times_the_level() {
        assert_eq!(
            level_idc(native::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_4_1),
            Some(123)
        );
        assert_eq!(
            level_idc(native::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_6_2),
            Some(186)
        );
        assert_eq!(level_idc(13), None);
    }

    fn dpb() -> native::StdVideoH265DecPicBufMgr {
        one_reference_dpb()
    }

    #[test]
    fn a_main_vps_starts_with_its_fixed_fields() {
        let ptl = std_ptl(1, native::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_4_1);
        let mut flags = no_vps_flags();
        flags.set_vps_temporal_id_nesting_flag(1);
        let v = vps(&std_vps(flags), Some(&ptl), Some(&dpb()), false).unwrap();
        // id 0 (4 bits), base layer internal + available, 0 layers (6), 0 sub-layers (3),
        // nesting 1: 0000 11 000000 000 1; then 0xffff; then profile space 0, tier 0, idc 1.
        assert_eq!(
            v.nal[..11],
            [0, 0, 0, 1, 0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01]
        );
        // Compatibility flags 1 and 2, then progressive and frame-only; the third zero byte
        // gets an emulation prevention byte before it.
        assert_eq!(v.nal[11..17], [0x60, 0, 0, 3, 0, 0x90]);
        assert!(vps(&std_vps(flags), Some(&ptl), Some(&dpb()), true)
            .unwrap_err()
            .contains("HRD"));
        assert!(vps(&std_vps(flags), None, Some(&dpb()), false).is_err());
    }

    #[test]
    fn unsupported_sps_and_pps_syntax_is_refused_by_name() {
        let ptl = std_ptl(1, 0);
        let d = dpb();
        let parts = SpsParts {
            ptl: Some(&ptl),
            dpb: Some(&d),
            ..Default::default()
        };
        let mut flags = no_sps_flags();
        flags.set_sps_scaling_list_data_present_flag(1);
        assert!(sps(&std_sps(flags), &parts)
            .unwrap_err()
            .contains("sps_scaling_list_data_present_flag"));
        let mut s = std_sps(no_sps_flags());
        s.num_short_term_ref_pic_sets = 1;
        assert!(sps(&s, &parts)
            .unwrap_err()
            .contains("pShortTermRefPicSet gives 0"));
        let rps = [std_st_rps(1), {
            let mut r = std_st_rps(1);
            r.flags.set_inter_ref_pic_set_prediction_flag(1);
            r
        }];
        s.num_short_term_ref_pic_sets = 2;
        let parts = SpsParts {
            short_term: &rps,
            ..parts
        };
        assert!(sps(&s, &parts)
            .unwrap_err()
            .contains("inter_ref_pic_set_prediction_flag"));
        let mut pf = no_pps_flags();
        pf.set_pps_extension_present_flag(1);
        assert!(pps(&std_pps(pf))
            .unwrap_err()
            .contains("pps_extension_present_flag"));
    }

    #[test]
    fn a_main_10_sps_gets_ten_bit_pcm_and_other_depths_are_checked() {
        let ptl = std_ptl(
            native::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN_10,
            native::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_4_1,
        );
        let d = dpb();
        let parts = SpsParts {
            ptl: Some(&ptl),
            dpb: Some(&d),
            ..Default::default()
        };
        let s = native::StdVideoH265SequenceParameterSet {
            chroma_format_idc: 1,
            pic_width_in_luma_samples: 64,
            pic_height_in_luma_samples: 48,
            bit_depth_luma_minus8: 2,
            bit_depth_chroma_minus8: 2,
            ..std_sps(no_sps_flags())
        };
        let written = sps(&s, &parts).unwrap();
        let w = written.written.get();
        assert!(written.overrides);
        assert_eq!(
            (
                w.bit_depth_luma_minus8,
                w.bit_depth_chroma_minus8,
                w.flags.pcm_enabled_flag(),
                w.pcm_sample_bit_depth_luma_minus1,
                w.pcm_sample_bit_depth_chroma_minus1,
                w.log2_min_pcm_luma_coding_block_size_minus3,
                w.log2_diff_max_min_pcm_luma_coding_block_size,
                w.flags.pcm_loop_filter_disabled_flag(),
            ),
            (2, 2, 1, 9, 9, 1, 0, 1)
        );
        // general_profile_idc 2 with only compatibility flag 2 (a 10-bit stream is not Main).
        // The NAL: start code, header 42 01, sps_video_parameter_set_id 0 (4 bits),
        // sps_max_sub_layers_minus1 0 (3), nesting 0, then profile space 0, tier 0, idc 2.
        assert_eq!(written.nal[4..9], [0x42, 0x01, 0x00, 0x02, 0x20]);
        assert_eq!(written.nal[9..12], [0, 0, 0x03]);
        // Depths past the syntax's range, and PCM deeper than the samples, are refused.
        let e = sps(
            &native::StdVideoH265SequenceParameterSet {
                bit_depth_luma_minus8: 9,
                ..s
            },
            &parts,
        )
        .unwrap_err();
        assert_eq!(e, "SPS 0: bit depths 9+8 / 2+8 (0 … 8 each) with PCM sample depths 0+1 / 0+1 (at most the sample depths)");
        let mut deep_pcm = s;
        deep_pcm.flags.set_pcm_enabled_flag(1);
        deep_pcm.pcm_sample_bit_depth_luma_minus1 = 10;
        assert!(sps(&deep_pcm, &parts)
            .unwrap_err()
            .contains("PCM sample depths 10+1 / 0+1"));
    }

    #[test]
    fn nal_headers_carry_the_type_layer_0_and_temporal_id_0() {
        assert_eq!(nal(VPS_NUT, &[0x80]), [0, 0, 0, 1, 0x40, 0x01, 0x80]);
        assert_eq!(nal(SPS_NUT, &[0x80])[4..6], [0x42, 0x01]);
        assert_eq!(nal(PPS_NUT, &[0x80])[4..6], [0x44, 0x01]);
    }
}
