//! The H.265 parameter sets a Vulkan Video encode session is created with: the video, sequence
//! and picture parameter sets (as the `StdVideoH265*` structures of VK_KHR_video_encode_h265)
//! for a stream of one picture size and rate, with the level chosen from the size, the sample
//! rate and the bitrate (ITU-T H.265 Table A-8, Main tier), the picture cropped from whole
//! minimum coding blocks, and the VUI's colour description and timing.
//!
//! The encode plan is low latency, like the H.264 one: I and P pictures only (one reference, no
//! reordering), Main profile (8-bit 4:2:0; Main 10 for 10-bit streams; CABAC being H.265's only entropy coder), 32x32 coding
//! tree blocks over 8x8 minimum coding blocks, transforms of 4x4 to 32x32, AMP and SAO on, no
//! temporal motion vector prediction, and the short-term reference picture sets carried by the
//! slices rather than the SPS.

use ash::vk;
use ash::vk::native as std_video;

use super::caps::EncodeLimits;
use super::VideoStream;
use crate::color::ColorRange;
use crate::time::Rational;

/// One level's Main-tier limits (ITU-T H.265 Table A-8): luma samples a picture, luma samples a
/// second, and the largest bitrate (kbit/s; Main profile's cpbBrVclFactor is 1000, so the figure
/// is the VCL bitrate in thousands of bits a second).
struct Level {
    idc: std_video::StdVideoH265LevelIdc,
    name: &'static str,
    /// `general_level_idc` as the bitstream writes it: 30 times the level.
    syntax_idc: u8,
    max_luma_ps: u64,
    max_luma_sr: u64,
    max_br_kbps: u64,
}

/// The levels, lowest first (1 to 6.2, the range of `StdVideoH265LevelIdc`).
const LEVELS: [Level; 13] = [
    level(
        std_video::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_1_0,
        "1",
        30,
        36_864,
        552_960,
        128,
    ),
    level(
        std_video::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_2_0,
        "2",
        60,
        122_880,
        3_686_400,
        1_500,
    ),
    level(
        std_video::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_2_1,
        "2.1",
        63,
        245_760,
        7_372_800,
        3_000,
    ),
    level(
        std_video::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_3_0,
        "3",
        90,
        552_960,
        16_588_800,
        6_000,
    ),
    level(
        std_video::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_3_1,
        "3.1",
        93,
        983_040,
        33_177_600,
        10_000,
    ),
    level(
        std_video::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_4_0,
        "4",
        120,
        2_228_224,
        66_846_720,
        12_000,
    ),
    level(
        std_video::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_4_1,
        "4.1",
        123,
        2_228_224,
        133_693_440,
        20_000,
    ),
    level(
        std_video::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_5_0,
        "5",
        150,
        8_912_896,
        267_386_880,
        25_000,
    ),
    level(
        std_video::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_5_1,
        "5.1",
        153,
        8_912_896,
        534_773_760,
        40_000,
    ),
    level(
        std_video::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_5_2,
        "5.2",
        156,
        8_912_896,
        1_069_547_520,
        60_000,
    ),
    level(
        std_video::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_6_0,
        "6",
        180,
        35_651_584,
        1_069_547_520,
        60_000,
    ),
    level(
        std_video::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_6_1,
        "6.1",
        183,
        35_651_584,
        2_139_095_040,
        120_000,
    ),
    level(
        std_video::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_6_2,
        "6.2",
        186,
        35_651_584,
        4_278_190_080,
        240_000,
    ),
];

const fn level(
    idc: std_video::StdVideoH265LevelIdc,
    name: &'static str,
    syntax_idc: u8,
    max_luma_ps: u64,
    max_luma_sr: u64,
    max_br_kbps: u64,
) -> Level {
    Level {
        idc,
        name,
        syntax_idc,
        max_luma_ps,
        max_luma_sr,
        max_br_kbps,
    }
}

/// The most pictures a second any level allows (A.4.2: consecutive pictures are at least
/// fR = 1/300 s apart).
const MAX_PICTURE_RATE: u64 = 300;

/// The minimum coding block (8x8: `log2_min_luma_coding_block_size_minus3` = 0).
const MIN_CB: u32 = 8;

/// The coded picture is whole 16-sample units (a multiple of [`MIN_CB`], as the SPS requires),
/// cropped by the conformance window: the encode input and reference images then have the
/// same coded size as H.264's macroblocks give, and a driver that codes 16x16 blocks covers it.
const PICTURE_ALIGNMENT: u32 = 16;
const _: () = assert!(PICTURE_ALIGNMENT % MIN_CB == 0);

/// Why no parameter sets can describe a stream, or a device cannot encode them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum H265ParamsError {
    /// A side that is zero, odd, or beyond H.265's largest level.
    #[error("an H.265 picture of {width}x{height} {reason}")]
    Size {
        /// Width asked for.
        width: u32,
        /// Height asked for.
        height: u32,
        /// What is wrong, with the limit.
        reason: String,
    },
    /// A size, rate and bitrate no Main-tier level allows together.
    #[error(
        "no H.265 Main-tier level allows {what}: level 6.2 is the highest (Table A-8); lower the frame rate or the bitrate"
    )]
    NoLevel {
        /// The size, rate and bitrate asked for.
        what: String,
    },
    /// The device's H.265 encode capabilities lack something these parameter sets use.
    #[error("the device's H.265 encoder {what}; these parameter sets need it")]
    Unsupported {
        /// What the capabilities lack, with the value they report.
        what: String,
    },
}

/// The parameter sets of an H.265 stream: the VPS, the SPS (with its VUI) and the PPS, as the
/// Vulkan Video std structures. The VPS and SPS point at the profile/tier/level, the decoded
/// picture buffer sizes and the VUI inside this value: keep it in place (they are boxed) while
/// the structures are handed to Vulkan.
pub struct H265Parameters {
    /// The video parameter set (it points at `profile_tier_level` and `dec_pic_buf_mgr`).
    pub vps: std_video::StdVideoH265VideoParameterSet,
    /// The sequence parameter set (it points at `profile_tier_level`, `dec_pic_buf_mgr` and
    /// `vui`).
    pub sps: std_video::StdVideoH265SequenceParameterSet,
    /// The picture parameter set.
    pub pps: std_video::StdVideoH265PictureParameterSet,
    /// The profile (Main), tier (Main) and level the VPS and the SPS share.
    pub profile_tier_level: Box<std_video::StdVideoH265ProfileTierLevel>,
    /// The decoded picture buffer size, reordering and latency the VPS and the SPS share.
    pub dec_pic_buf_mgr: Box<std_video::StdVideoH265DecPicBufMgr>,
    /// The VUI the SPS points at.
    pub vui: Box<std_video::StdVideoH265SequenceParameterSetVui>,
    /// The level chosen, as written ("4.1").
    pub level: &'static str,
    /// The level's `general_level_idc` as the bitstream carries it (30 times the level).
    level_syntax_idc: u8,
}

impl std::fmt::Debug for H265Parameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H265Parameters")
            .field("level", &self.level)
            .field("width", &self.sps.pic_width_in_luma_samples)
            .field("height", &self.sps.pic_height_in_luma_samples)
            .finish_non_exhaustive()
    }
}

/// The lowest level whose Main-tier limits hold `(width, height)` coded luma samples, `rate`
/// luma samples a second and `bitrate` bits a second. A level's MaxLumaPs also bounds each side
/// to sqrt(8 x MaxLumaPs) (A.4.1).
fn choose_level(width: u64, height: u64, rate: u64, bitrate: u64) -> Option<&'static Level> {
    LEVELS.iter().find(|l| {
        let side = (8 * l.max_luma_ps).isqrt();
        width * height <= l.max_luma_ps
            && width <= side
            && height <= side
            && rate <= l.max_luma_sr
            && bitrate <= l.max_br_kbps * 1000
    })
}

impl H265Parameters {
    /// The parameter sets for `stream`: Main (or Main 10) profile and Main tier, 4:2:0, one reference,
    /// CTB 32, VPS/SPS/PPS ids 0.
    pub fn new(stream: &VideoStream) -> Result<Self, H265ParamsError> {
        let (w, h) = (stream.width, stream.height);
        let size_error = |reason: &str| H265ParamsError::Size {
            width: w,
            height: h,
            reason: reason.into(),
        };
        if w == 0 || h == 0 || w % 2 != 0 || h % 2 != 0 {
            return Err(size_error(
                "is not a 4:2:0 picture: both sides must be even and non-zero",
            ));
        }
        let coded_w = w
            .checked_next_multiple_of(PICTURE_ALIGNMENT)
            .ok_or_else(|| size_error("is too large"))?;
        let coded_h = h
            .checked_next_multiple_of(PICTURE_ALIGNMENT)
            .ok_or_else(|| size_error("is too large"))?;
        let samples = u64::from(coded_w) * u64::from(coded_h);
        let rate = stream.frame_rate;
        // Luma samples a second, rounded up; a rate without positive terms bounds nothing.
        let sample_rate = match (u128::try_from(rate.num), u128::try_from(rate.den)) {
            (Ok(num), Ok(den)) if num > 0 && den > 0 => {
                u64::try_from((u128::from(samples) * num).div_ceil(den)).unwrap_or(u64::MAX)
            }
            _ => 0,
        };
        let too_fast = u128::try_from(rate.num).unwrap_or(0)
            > u128::from(MAX_PICTURE_RATE) * u128::try_from(rate.den).unwrap_or(u128::MAX);
        let level = choose_level(
            u64::from(coded_w),
            u64::from(coded_h),
            sample_rate,
            stream.max_bitrate,
        )
        .filter(|_| !too_fast)
        .ok_or_else(|| H265ParamsError::NoLevel {
            what: format!(
                "{w}x{h} (coded {coded_w}x{coded_h}) at {}/{} fps ({sample_rate} luma samples/s, {MAX_PICTURE_RATE} pictures/s at most) and {} kbit/s",
                rate.num,
                rate.den,
                stream.max_bitrate.div_ceil(1000)
            ),
        })?;

        // Main 10 for 10-bit samples (the same level limits).
        let ten_bit = stream.bit_depth == crate::BitDepth::Ten;
        let mut ptl_flags = std_video::StdVideoH265ProfileTierLevelFlags {
            _bitfield_align_1: [],
            _bitfield_1: std_video::__BindgenBitfieldUnit::new([0; 1]),
            __bindgen_padding_0: [0; 3],
        };
        // Main tier (general_tier_flag 0), progressive frames.
        ptl_flags.set_general_progressive_source_flag(1);
        ptl_flags.set_general_frame_only_constraint_flag(1);
        let profile_tier_level = Box::new(std_video::StdVideoH265ProfileTierLevel {
            flags: ptl_flags,
            general_profile_idc: if ten_bit {
                std_video::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN_10
            } else {
                std_video::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN
            },
            general_level_idc: level.idc,
        });
        // One sub-layer: the current picture and one reference, output in decode order, no
        // latency bound (max_latency_increase_plus1 0).
        let dec_pic_buf_mgr = Box::new(std_video::StdVideoH265DecPicBufMgr {
            max_latency_increase_plus1: [0; 7],
            max_dec_pic_buffering_minus1: [1, 0, 0, 0, 0, 0, 0],
            max_num_reorder_pics: [0; 7],
        });

        let timing = timing(stream.frame_rate);
        let (num_units_in_tick, time_scale) = timing.unwrap_or((0, 0));
        let mut vui_flags = std_video::StdVideoH265SpsVuiFlags {
            _bitfield_align_1: [],
            _bitfield_1: std_video::__BindgenBitfieldUnit::new([0; 3]),
            __bindgen_padding_0: 0,
        };
        vui_flags.set_video_signal_type_present_flag(1);
        vui_flags.set_colour_description_present_flag(1);
        vui_flags.set_video_full_range_flag(u32::from(stream.color.range == ColorRange::Full));
        if timing.is_some() {
            vui_flags.set_vui_timing_info_present_flag(1);
        }
        let vui = Box::new(std_video::StdVideoH265SequenceParameterSetVui {
            flags: vui_flags,
            aspect_ratio_idc:
                std_video::StdVideoH265AspectRatioIdc_STD_VIDEO_H265_ASPECT_RATIO_IDC_UNSPECIFIED,
            sar_width: 0,
            sar_height: 0,
            // 5: unspecified video format.
            video_format: 5,
            colour_primaries: stream.color.primaries.h273(),
            transfer_characteristics: stream.color.transfer.h273(),
            matrix_coeffs: stream.color.matrix.h273(),
            chroma_sample_loc_type_top_field: 0,
            chroma_sample_loc_type_bottom_field: 0,
            reserved1: 0,
            reserved2: 0,
            def_disp_win_left_offset: 0,
            def_disp_win_right_offset: 0,
            def_disp_win_top_offset: 0,
            def_disp_win_bottom_offset: 0,
            vui_num_units_in_tick: num_units_in_tick,
            vui_time_scale: time_scale,
            vui_num_ticks_poc_diff_one_minus1: 0,
            min_spatial_segmentation_idc: 0,
            reserved3: 0,
            max_bytes_per_pic_denom: 0,
            max_bits_per_min_cu_denom: 0,
            log2_max_mv_length_horizontal: 0,
            log2_max_mv_length_vertical: 0,
            pHrdParameters: std::ptr::null(),
        });

        let mut vps_flags = std_video::StdVideoH265VpsFlags {
            _bitfield_align_1: [],
            _bitfield_1: std_video::__BindgenBitfieldUnit::new([0; 1]),
            __bindgen_padding_0: [0; 3],
        };
        // One sub-layer: temporal id nesting is required (7.4.3.1).
        vps_flags.set_vps_temporal_id_nesting_flag(1);
        vps_flags.set_vps_sub_layer_ordering_info_present_flag(1);
        if timing.is_some() {
            vps_flags.set_vps_timing_info_present_flag(1);
        }
        let vps = std_video::StdVideoH265VideoParameterSet {
            flags: vps_flags,
            vps_video_parameter_set_id: 0,
            vps_max_sub_layers_minus1: 0,
            reserved1: 0,
            reserved2: 0,
            vps_num_units_in_tick: num_units_in_tick,
            vps_time_scale: time_scale,
            vps_num_ticks_poc_diff_one_minus1: 0,
            reserved3: 0,
            pDecPicBufMgr: std::ptr::null(),
            pHrdParameters: std::ptr::null(),
            pProfileTierLevel: std::ptr::null(),
        };

        let mut sps_flags = std_video::StdVideoH265SpsFlags {
            _bitfield_align_1: [],
            _bitfield_1: std_video::__BindgenBitfieldUnit::new([0; 4]),
        };
        sps_flags.set_sps_temporal_id_nesting_flag(1);
        sps_flags.set_sps_sub_layer_ordering_info_present_flag(1);
        sps_flags.set_amp_enabled_flag(1);
        sps_flags.set_sample_adaptive_offset_enabled_flag(1);
        sps_flags.set_strong_intra_smoothing_enabled_flag(1);
        sps_flags.set_vui_parameters_present_flag(1);
        // Cropping in 4:2:0 chroma units of 2 luma samples (SubWidthC = SubHeightC = 2).
        let (crop_right, crop_bottom) = ((coded_w - w) / 2, (coded_h - h) / 2);
        if crop_right > 0 || crop_bottom > 0 {
            sps_flags.set_conformance_window_flag(1);
        }
        let sps = std_video::StdVideoH265SequenceParameterSet {
            flags: sps_flags,
            chroma_format_idc:
                std_video::StdVideoH265ChromaFormatIdc_STD_VIDEO_H265_CHROMA_FORMAT_IDC_420,
            pic_width_in_luma_samples: coded_w,
            pic_height_in_luma_samples: coded_h,
            sps_video_parameter_set_id: 0,
            sps_max_sub_layers_minus1: 0,
            sps_seq_parameter_set_id: 0,
            bit_depth_luma_minus8: if ten_bit { 2 } else { 0 },
            bit_depth_chroma_minus8: if ten_bit { 2 } else { 0 },
            // The picture order count's LSBs count 256 pictures before they wrap.
            log2_max_pic_order_cnt_lsb_minus4: 4,
            // Coding blocks of 8x8 to 32x32: the CTB is 32 (NVIDIA's encoders offer CTB 32 and
            // minimum CB 8; `check_limits` checks a device's CTB sizes, and moves to 64 where
            // the device offers only that).
            log2_min_luma_coding_block_size_minus3: 0,
            log2_diff_max_min_luma_coding_block_size: 2,
            // Transform blocks of 4x4 to 32x32, split at most twice below the coding block.
            log2_min_luma_transform_block_size_minus2: 0,
            log2_diff_max_min_luma_transform_block_size: 3,
            max_transform_hierarchy_depth_inter: 2,
            max_transform_hierarchy_depth_intra: 2,
            // The slices carry their own short-term reference picture set; no long-term ones.
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
            conf_win_right_offset: crop_right,
            conf_win_top_offset: 0,
            conf_win_bottom_offset: crop_bottom,
            pProfileTierLevel: std::ptr::null(),
            pDecPicBufMgr: std::ptr::null(),
            pScalingLists: std::ptr::null(),
            pShortTermRefPicSet: std::ptr::null(),
            pLongTermRefPicsSps: std::ptr::null(),
            pSequenceParameterSetVui: std::ptr::null(),
            pPredictorPaletteEntries: std::ptr::null(),
        };

        let mut pps_flags = std_video::StdVideoH265PpsFlags {
            _bitfield_align_1: [],
            _bitfield_1: std_video::__BindgenBitfieldUnit::new([0; 4]),
        };
        // Rate control changes the QP inside a picture.
        pps_flags.set_cu_qp_delta_enabled_flag(1);
        pps_flags.set_pps_loop_filter_across_slices_enabled_flag(1);
        pps_flags.set_deblocking_filter_control_present_flag(1);
        pps_flags.set_deblocking_filter_override_enabled_flag(1);
        let pps = std_video::StdVideoH265PictureParameterSet {
            flags: pps_flags,
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
        };

        let mut this = Self {
            vps,
            sps,
            pps,
            profile_tier_level,
            dec_pic_buf_mgr,
            vui,
            level: level.name,
            level_syntax_idc: level.syntax_idc,
        };
        this.vps.pProfileTierLevel = &raw const *this.profile_tier_level;
        this.vps.pDecPicBufMgr = &raw const *this.dec_pic_buf_mgr;
        this.sps.pProfileTierLevel = &raw const *this.profile_tier_level;
        this.sps.pDecPicBufMgr = &raw const *this.dec_pic_buf_mgr;
        this.sps.pSequenceParameterSetVui = &raw const *this.vui;
        Ok(this)
    }

    /// The level's `general_level_idc` as the bitstream carries it: 30 times the level (123 for
    /// 4.1). The std structure holds the `StdVideoH265LevelIdc` enumerant instead.
    pub fn general_level_idc(&self) -> u8 {
        self.level_syntax_idc
    }

    /// Whether a device's limits for H.265 Main take these sets: 32x32 coding tree blocks (or,
    /// where the device offers only 64x64 ones, as Mesa's RADV and ANV do, the sets are changed
    /// to 64x64: coding blocks of 8x8 to 64x64), every transform from 4x4 to 32x32, and the
    /// level.
    pub fn check_limits(&mut self, limits: &EncodeLimits) -> Result<(), H265ParamsError> {
        if limits.h265_ctb32_transforms {
            self.sps.log2_diff_max_min_luma_coding_block_size = 2;
        } else if limits.h265_ctb64_transforms {
            self.sps.log2_diff_max_min_luma_coding_block_size = 3;
        } else {
            return Err(H265ParamsError::Unsupported {
                what: "offers neither a 32x32 nor a 64x64 CTB, or lacks some of the 4x4 to 32x32 transforms".into(),
            });
        }
        if limits.max_level_idc < self.profile_tier_level.general_level_idc {
            return Err(H265ParamsError::Unsupported {
                what: format!(
                    "stops below level {} (maxLevelIdc {}, the StdVideoH265LevelIdc value)",
                    self.level, limits.max_level_idc
                ),
            });
        }
        Ok(())
    }

    /// The highest bitrate the level allows a Main-tier stream, bits a second (Table A-8's
    /// MaxBR; cpbBrVclFactor 1000); `None` for a level outside the table.
    pub fn level_max_bitrate(&self) -> Option<u64> {
        LEVELS
            .iter()
            .find(|l| l.syntax_idc == self.level_syntax_idc)
            .map(|l| l.max_br_kbps * 1000)
    }

    /// Lets the stream carry B pictures: a DPB of three pictures (the two references of a B
    /// picture and the picture being decoded) reordering one, in the VPS and the SPS alike. The
    /// level's DPB holds at least six pictures, so no level changes.
    pub fn allow_b_frames(&mut self) {
        self.dec_pic_buf_mgr.max_dec_pic_buffering_minus1[0] = 2;
        self.dec_pic_buf_mgr.max_num_reorder_pics[0] = 1;
    }

    /// Whether the sets allow B pictures ([`Self::allow_b_frames`]).
    pub fn reorders(&self) -> bool {
        self.dec_pic_buf_mgr.max_dec_pic_buffering_minus1[0] >= 2
            && self.dec_pic_buf_mgr.max_num_reorder_pics[0] >= 1
    }

    /// The Vulkan session-parameters add-info naming these sets (one VPS, one SPS, one PPS).
    pub fn add_info(&self) -> vk::VideoEncodeH265SessionParametersAddInfoKHR<'_> {
        vk::VideoEncodeH265SessionParametersAddInfoKHR::default()
            .std_vp_ss(std::slice::from_ref(&self.vps))
            .std_sp_ss(std::slice::from_ref(&self.sps))
            .std_pp_ss(std::slice::from_ref(&self.pps))
    }
}

/// The VUI (and VPS) timing of `rate`: in H.265 a tick is one picture (E.3.1, with
/// field_seq_flag 0), so num_units_in_tick = denominator and time_scale = numerator; `None` for
/// a rate with no positive 32-bit terms. (H.264's tick is half a frame, hence its factor 2.)
fn timing(rate: Rational) -> Option<(u32, u32)> {
    let num = u32::try_from(rate.num).ok().filter(|&n| n > 0)?;
    let den = u32::try_from(rate.den).ok().filter(|&d| d > 0)?;
    Some((den, num))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::ColorDescription;
    use crate::color::{ColorMatrix, ColorPrimaries, TransferFunction};

    fn stream(width: u32, height: u32, fps: i64, mbit: u64) -> VideoStream {
        VideoStream {
            width,
            height,
            frame_rate: Rational::new(fps, 1),
            max_bitrate: mbit * 1_000_000,
            color: ColorDescription::BT709,
            bit_depth: crate::BitDepth::Eight,
        }
    }

    fn params(width: u32, height: u32, fps: i64, mbit: u64) -> H265Parameters {
        H265Parameters::new(&stream(width, height, fps, mbit)).unwrap()
    }

    #[test]
    fn the_level_is_the_lowest_that_holds_size_sample_rate_and_bitrate() {
        let level = |w, h, fps, mbit| params(w, h, fps, mbit).level;
        assert_eq!(level(1280, 720, 30, 8), "3.1");
        // 720p60 is 55 M samples/s: past 3.1's 33 M.
        assert_eq!(level(1280, 720, 60, 8), "4");
        assert_eq!(level(1920, 1080, 30, 8), "4");
        assert_eq!(level(1920, 1080, 60, 12), "4.1");
        // 1080p30 at 15 Mbit/s needs 4.1's 20 Mbit/s (Main tier: level 4 stops at 12).
        assert_eq!(level(1920, 1080, 30, 15), "4.1");
        assert_eq!(level(3840, 2160, 30, 20), "5");
        assert_eq!(level(3840, 2160, 60, 40), "5.1");
        assert_eq!(level(3840, 2160, 60, 50), "5.2");
        assert_eq!(level(8192, 4320, 30, 60), "6");
        assert_eq!(level(8192, 4320, 60, 100), "6.1");
        assert_eq!(level(8192, 4320, 120, 100), "6.2");
        assert_eq!(level(8192, 4320, 60, 200), "6.2");
        let p = params(1920, 1080, 60, 12);
        assert_eq!(p.general_level_idc(), 123);
        assert_eq!(
            p.profile_tier_level.general_level_idc,
            std_video::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_4_1
        );
        assert_eq!(
            p.profile_tier_level.general_profile_idc,
            std_video::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN
        );
        assert_eq!(p.profile_tier_level.flags.general_tier_flag(), 0);
        assert_eq!(params(8192, 4320, 120, 100).general_level_idc(), 186);
        assert_eq!(params(176, 144, 15, 0).general_level_idc(), 30);
        // A fractional rate counts its samples exactly: 1080p at 60000/1001 is level 4.1.
        let ntsc = VideoStream {
            frame_rate: Rational::new(60_000, 1001),
            ..stream(1920, 1080, 60, 12)
        };
        assert_eq!(H265Parameters::new(&ntsc).unwrap().level, "4.1");
        // Level 4.1's Main-tier MaxBR: 20 000 kbit/s.
        assert_eq!(p.level_max_bitrate(), Some(20_000_000));
    }

    #[test]
    fn b_pictures_grow_the_dpb_and_reorder_one_picture() {
        let mut p = params(1920, 1080, 60, 12);
        assert!(!p.reorders());
        p.allow_b_frames();
        assert!(p.reorders());
        let d = &p.dec_pic_buf_mgr;
        assert_eq!(
            (d.max_dec_pic_buffering_minus1[0], d.max_num_reorder_pics[0]),
            (2, 1)
        );
    }

    #[test]
    fn impossible_streams_are_typed_errors_naming_the_values() {
        let e = H265Parameters::new(&stream(1921, 1080, 30, 8)).unwrap_err();
        assert_eq!(
            e,
            H265ParamsError::Size {
                width: 1921,
                height: 1080,
                reason: "is not a 4:2:0 picture: both sides must be even and non-zero".into()
            }
        );
        assert!(H265Parameters::new(&stream(0, 1080, 30, 8)).is_err());
        // Larger than level 6.2's 35.6 M samples.
        let e = H265Parameters::new(&stream(16384, 16384, 30, 8)).unwrap_err();
        assert!(matches!(e, H265ParamsError::NoLevel { .. }), "{e}");
        assert!(e.to_string().contains("16384x16384"), "{e}");
        // Within the sample count but wider than sqrt(8 x MaxLumaPs) = 16888.
        let e = H265Parameters::new(&stream(16896, 1080, 30, 8)).unwrap_err();
        assert!(e.to_string().contains("16896x1080"), "{e}");
        // Beyond 6.2's 4.28 G samples a second.
        let e = H265Parameters::new(&stream(8192, 4320, 240, 100)).unwrap_err();
        assert!(e.to_string().contains("at 240/1 fps"), "{e}");
        // Beyond 6.2's 240 Mbit/s.
        let e = H265Parameters::new(&stream(1920, 1080, 60, 241)).unwrap_err();
        assert!(e.to_string().contains("241000 kbit/s"), "{e}");
        // More than 300 pictures a second, even of a small picture.
        let e = H265Parameters::new(&stream(320, 240, 301, 1)).unwrap_err();
        assert!(e.to_string().contains("at 301/1 fps"), "{e}");
        assert_eq!(params(320, 240, 300, 1).level, "3.1");
    }

    #[test]
    fn sizes_are_whole_16_sample_units_cropped_to_the_picture() {
        let p = params(1920, 1072, 60, 12);
        assert_eq!(
            (
                p.sps.pic_width_in_luma_samples,
                p.sps.pic_height_in_luma_samples
            ),
            (1920, 1072)
        );
        assert_eq!(p.sps.flags.conformance_window_flag(), 0);
        assert_eq!(
            (p.sps.conf_win_right_offset, p.sps.conf_win_bottom_offset),
            (0, 0)
        );
        let hd = params(1920, 1080, 60, 12);
        assert_eq!(hd.sps.pic_height_in_luma_samples, 1088);
        assert_eq!(hd.sps.flags.conformance_window_flag(), 1);
        // Eight luma rows, in chroma units.
        assert_eq!(hd.sps.conf_win_bottom_offset, 4);
        let odd = params(1918, 1078, 60, 12);
        assert_eq!(
            (
                odd.sps.pic_width_in_luma_samples,
                odd.sps.pic_height_in_luma_samples
            ),
            (1920, 1088)
        );
        assert_eq!(odd.sps.flags.conformance_window_flag(), 1);
        // Two luma columns and ten rows, in chroma units.
        assert_eq!(
            (
                odd.sps.conf_win_left_offset,
                odd.sps.conf_win_right_offset,
                odd.sps.conf_win_top_offset,
                odd.sps.conf_win_bottom_offset
            ),
            (0, 1, 0, 5)
        );
        let small = params(642, 362, 30, 1);
        assert_eq!(
            (
                small.sps.pic_width_in_luma_samples,
                small.sps.pic_height_in_luma_samples,
                small.sps.conf_win_right_offset,
                small.sps.conf_win_bottom_offset
            ),
            (656, 368, 7, 3)
        );
    }

    #[test]
    fn a_10_bit_stream_is_main_10_with_10_bit_samples() {
        let p = H265Parameters::new(&VideoStream {
            bit_depth: crate::BitDepth::Ten,
            ..stream(1920, 1080, 60, 12)
        })
        .unwrap();
        assert_eq!(
            p.profile_tier_level.general_profile_idc,
            std_video::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN_10
        );
        assert_eq!(
            (p.sps.bit_depth_luma_minus8, p.sps.bit_depth_chroma_minus8),
            (2, 2)
        );
        assert_eq!(
            p.level,
            params(1920, 1080, 60, 12).level,
            "the same level limits"
        );
    }

    #[test]
    fn the_sps_describes_the_low_latency_main_plan() {
        let p = params(1920, 1080, 60, 12);
        let s = &p.sps;
        assert_eq!(
            s.chroma_format_idc,
            std_video::StdVideoH265ChromaFormatIdc_STD_VIDEO_H265_CHROMA_FORMAT_IDC_420
        );
        assert_eq!((s.bit_depth_luma_minus8, s.bit_depth_chroma_minus8), (0, 0));
        assert_eq!(
            (
                s.sps_video_parameter_set_id,
                s.sps_seq_parameter_set_id,
                s.sps_max_sub_layers_minus1
            ),
            (0, 0, 0)
        );
        assert_eq!(s.log2_max_pic_order_cnt_lsb_minus4, 4);
        assert_eq!(
            (
                s.log2_min_luma_coding_block_size_minus3,
                s.log2_diff_max_min_luma_coding_block_size,
                s.log2_min_luma_transform_block_size_minus2,
                s.log2_diff_max_min_luma_transform_block_size,
                s.max_transform_hierarchy_depth_inter,
                s.max_transform_hierarchy_depth_intra
            ),
            (0, 2, 0, 3, 2, 2)
        );
        assert_eq!(
            (s.num_short_term_ref_pic_sets, s.num_long_term_ref_pics_sps),
            (0, 0)
        );
        let f = &s.flags;
        assert_eq!(
            (
                f.sps_temporal_id_nesting_flag(),
                f.sps_sub_layer_ordering_info_present_flag(),
                f.amp_enabled_flag(),
                f.sample_adaptive_offset_enabled_flag(),
                f.strong_intra_smoothing_enabled_flag(),
                f.vui_parameters_present_flag()
            ),
            (1, 1, 1, 1, 1, 1)
        );
        assert_eq!(
            (
                f.sps_temporal_mvp_enabled_flag(),
                f.long_term_ref_pics_present_flag(),
                f.pcm_enabled_flag(),
                f.scaling_list_enabled_flag(),
                f.separate_colour_plane_flag(),
                f.sps_extension_present_flag()
            ),
            (0, 0, 0, 0, 0, 0)
        );
        let d = &p.dec_pic_buf_mgr;
        assert_eq!(
            (
                d.max_dec_pic_buffering_minus1[0],
                d.max_num_reorder_pics[0],
                d.max_latency_increase_plus1[0]
            ),
            (1, 0, 0)
        );
        // The VPS agrees with the SPS.
        let v = &p.vps;
        assert_eq!(
            (v.vps_video_parameter_set_id, v.vps_max_sub_layers_minus1),
            (0, 0)
        );
        assert_eq!(
            (
                v.flags.vps_temporal_id_nesting_flag(),
                v.flags.vps_sub_layer_ordering_info_present_flag(),
                v.flags.vps_timing_info_present_flag(),
                v.flags.vps_poc_proportional_to_timing_flag()
            ),
            (1, 1, 1, 0)
        );
        assert_eq!((v.vps_num_units_in_tick, v.vps_time_scale), (1, 60));
        assert!(v.pHrdParameters.is_null());
    }

    #[test]
    fn the_vui_carries_the_colour_description_and_the_picture_rate() {
        let p = params(1920, 1080, 60, 12);
        let v = &p.vui;
        assert_eq!(
            (
                v.colour_primaries,
                v.transfer_characteristics,
                v.matrix_coeffs,
                v.video_format
            ),
            (1, 1, 1, 5)
        );
        assert_eq!(
            (
                v.flags.video_signal_type_present_flag(),
                v.flags.colour_description_present_flag(),
                v.flags.video_full_range_flag(),
                v.flags.vui_timing_info_present_flag(),
                v.flags.vui_hrd_parameters_present_flag(),
                v.flags.bitstream_restriction_flag()
            ),
            (1, 1, 0, 1, 0, 0)
        );
        // H.265 ticks once a picture: a time scale of 60 and one unit a tick.
        assert_eq!((v.vui_num_units_in_tick, v.vui_time_scale), (1, 60));
        assert!(v.pHrdParameters.is_null());

        let hdr_full = VideoStream {
            frame_rate: Rational::new(60_000, 1001),
            color: ColorDescription {
                matrix: ColorMatrix::Bt2020Ncl,
                range: ColorRange::Full,
                transfer: TransferFunction::Pq,
                primaries: ColorPrimaries::Bt2020,
            },
            ..stream(3840, 2160, 60, 40)
        };
        let p = H265Parameters::new(&hdr_full).unwrap();
        assert_eq!(
            (
                p.vui.colour_primaries,
                p.vui.transfer_characteristics,
                p.vui.matrix_coeffs
            ),
            (9, 16, 9)
        );
        assert_eq!(p.vui.flags.video_full_range_flag(), 1);
        assert_eq!(
            (p.vui.vui_num_units_in_tick, p.vui.vui_time_scale),
            (1001, 60_000)
        );
        assert_eq!(
            (p.vps.vps_num_units_in_tick, p.vps.vps_time_scale),
            (1001, 60_000)
        );

        // A rate without positive terms leaves timing out of the VUI and the VPS.
        let untimed = VideoStream {
            frame_rate: Rational::new(0, 1),
            ..stream(1280, 720, 30, 8)
        };
        let p = H265Parameters::new(&untimed).unwrap();
        assert_eq!(p.vui.flags.vui_timing_info_present_flag(), 0);
        assert_eq!(p.vps.flags.vps_timing_info_present_flag(), 0);
        assert_eq!((p.vui.vui_num_units_in_tick, p.vui.vui_time_scale), (0, 0));
    }

    #[test]
    fn the_pps_enables_qp_deltas_and_deblocking_control_only() {
        let p = params(1920, 1080, 60, 12);
        let pps = &p.pps;
        assert_eq!(
            (
                pps.pps_pic_parameter_set_id,
                pps.pps_seq_parameter_set_id,
                pps.sps_video_parameter_set_id
            ),
            (0, 0, 0)
        );
        assert_eq!(
            (
                pps.init_qp_minus26,
                pps.diff_cu_qp_delta_depth,
                pps.num_ref_idx_l0_default_active_minus1,
                pps.num_tile_columns_minus1,
                pps.num_tile_rows_minus1
            ),
            (0, 0, 0, 0, 0)
        );
        let f = &pps.flags;
        assert_eq!(
            (
                f.cu_qp_delta_enabled_flag(),
                f.deblocking_filter_control_present_flag(),
                f.deblocking_filter_override_enabled_flag(),
                f.pps_loop_filter_across_slices_enabled_flag()
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(
            (
                f.pps_deblocking_filter_disabled_flag(),
                f.tiles_enabled_flag(),
                f.weighted_pred_flag(),
                f.weighted_bipred_flag(),
                f.sign_data_hiding_enabled_flag(),
                f.transquant_bypass_enabled_flag(),
                f.pps_scaling_list_data_present_flag(),
                f.pps_extension_present_flag()
            ),
            (0, 0, 0, 0, 0, 0, 0, 0)
        );
    }

    #[test]
    fn the_sets_point_at_the_structures_held_and_add_info_names_each_once() {
        let p = params(1280, 720, 30, 8);
        let ptl = &raw const *p.profile_tier_level;
        let dpb = &raw const *p.dec_pic_buf_mgr;
        assert_eq!(p.vps.pProfileTierLevel, ptl);
        assert_eq!(p.vps.pDecPicBufMgr, dpb);
        assert_eq!(p.sps.pProfileTierLevel, ptl);
        assert_eq!(p.sps.pDecPicBufMgr, dpb);
        assert_eq!(p.sps.pSequenceParameterSetVui, &raw const *p.vui);
        assert!(p.sps.pShortTermRefPicSet.is_null());
        assert!(p.sps.pLongTermRefPicsSps.is_null());
        assert!(p.sps.pScalingLists.is_null());
        // Moving the value keeps the boxed structures, and so the pointers, in place.
        let moved = Box::new(p);
        assert_eq!(moved.sps.pProfileTierLevel, ptl);
        let info = moved.add_info();
        assert_eq!(
            (info.std_vps_count, info.std_sps_count, info.std_pps_count),
            (1, 1, 1)
        );
        assert_eq!(info.p_std_vp_ss, &raw const moved.vps);
        assert_eq!(info.p_std_sp_ss, &raw const moved.sps);
        assert_eq!(info.p_std_pp_ss, &raw const moved.pps);
    }

    #[test]
    fn device_limits_are_checked_against_the_sets() {
        let mut p = params(1920, 1080, 60, 12);
        let limits = EncodeLimits {
            h265_ctb32_transforms: true,
            max_level_idc: std_video::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_6_2,
            ..EncodeLimits::default()
        };
        assert_eq!(p.check_limits(&limits), Ok(()));
        let no_32 = EncodeLimits {
            h265_ctb32_transforms: false,
            ..limits.clone()
        };
        let e = p.check_limits(&no_32).unwrap_err();
        assert!(e.to_string().contains("nor a 64x64 CTB"), "{e}");
        let only_64 = EncodeLimits {
            h265_ctb32_transforms: false,
            h265_ctb64_transforms: true,
            ..limits.clone()
        };
        assert_eq!(p.check_limits(&only_64), Ok(()));
        assert_eq!(p.sps.log2_diff_max_min_luma_coding_block_size, 3, "CTB 64");
        assert_eq!(p.check_limits(&limits), Ok(()));
        assert_eq!(p.sps.log2_diff_max_min_luma_coding_block_size, 2, "CTB 32");
        let level_4 = EncodeLimits {
            max_level_idc: std_video::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_4_0,
            ..limits
        };
        let e = p.check_limits(&level_4).unwrap_err();
        assert!(e.to_string().contains("below level 4.1"), "{e}");
    }
}
