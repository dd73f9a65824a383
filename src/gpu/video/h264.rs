//! The H.264 parameter sets a Vulkan Video encode session is created with: the sequence and
//! picture parameter sets (as the `StdVideoH264*` structures of VK_KHR_video_encode_h264) for a
//! stream of one picture size and rate, with the level chosen from the size, the rate and the
//! bitrate (ITU-T H.264 Table A-1), the picture cropped from whole macroblocks, and the VUI's
//! colour description and timing.
//!
//! The encode plan is low latency: I and P pictures only (one reference), picture order count
//! type 2 (output order is decode order), CABAC and the 8x8 transform (High profile).

use ash::vk;
use ash::vk::native as std_video;

use super::VideoStream;
use crate::color::ColorRange;
use crate::time::Rational;

/// One level's limits (ITU-T H.264 Table A-1): macroblocks a second, macroblocks a frame, and
/// the largest bitrate (kbit/s, for the Baseline/Main/Extended profiles; High allows 1.25x).
struct Level {
    idc: std_video::StdVideoH264LevelIdc,
    name: &'static str,
    max_mbps: u64,
    max_fs: u64,
    max_br_kbps: u64,
}

/// The levels, lowest first (1b, which needs the constraint flag, is left out).
const LEVELS: [Level; 18] = [
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_1_0,
        "1",
        1_485,
        99,
        64,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_1_1,
        "1.1",
        3_000,
        396,
        192,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_1_2,
        "1.2",
        6_000,
        396,
        384,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_1_3,
        "1.3",
        11_880,
        396,
        768,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_2_0,
        "2",
        11_880,
        396,
        2_000,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_2_1,
        "2.1",
        19_800,
        792,
        4_000,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_2_2,
        "2.2",
        20_250,
        1_620,
        4_000,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_3_0,
        "3",
        40_500,
        1_620,
        10_000,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_3_1,
        "3.1",
        108_000,
        3_600,
        14_000,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_3_2,
        "3.2",
        216_000,
        5_120,
        20_000,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_4_0,
        "4",
        245_760,
        8_192,
        20_000,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_4_1,
        "4.1",
        245_760,
        8_192,
        50_000,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_4_2,
        "4.2",
        522_240,
        8_704,
        50_000,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_5_0,
        "5",
        589_824,
        22_080,
        135_000,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_5_1,
        "5.1",
        983_040,
        36_864,
        240_000,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_5_2,
        "5.2",
        2_073_600,
        36_864,
        240_000,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_6_0,
        "6",
        4_177_920,
        139_264,
        240_000,
    ),
    level(
        std_video::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_6_1,
        "6.1",
        8_355_840,
        139_264,
        480_000,
    ),
];

const fn level(
    idc: std_video::StdVideoH264LevelIdc,
    name: &'static str,
    max_mbps: u64,
    max_fs: u64,
    max_br_kbps: u64,
) -> Level {
    Level {
        idc,
        name,
        max_mbps,
        max_fs,
        max_br_kbps,
    }
}

/// Why no parameter sets can describe a stream.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum H264ParamsError {
    /// A side that is zero, odd, or beyond H.264's largest level.
    #[error("an H.264 picture of {width}x{height} {reason}")]
    Size {
        /// Width asked for.
        width: u32,
        /// Height asked for.
        height: u32,
        /// What is wrong, with the limit.
        reason: String,
    },
    /// A rate no level allows with this size and bitrate.
    #[error("no H.264 level allows {what}: level 6.1 is the highest (Table A-1)")]
    NoLevel {
        /// The size, rate and bitrate asked for.
        what: String,
    },
    /// A sample depth these parameter sets (High profile) do not code.
    #[error("H.264 High codes 8-bit samples, not {bits}-bit: use --codec hevc or av1 for 10 bits")]
    Depth {
        /// The bits a sample asked for.
        bits: u32,
    },
}

/// The parameter sets of an H.264 stream: the SPS (with its VUI) and the PPS, as the Vulkan
/// Video std structures. The SPS points at the VUI inside this value: keep it in place (it is
/// boxed) while the structures are handed to Vulkan.
pub struct H264Parameters {
    /// The sequence parameter set (its `pSequenceParameterSetVui` points at `vui`).
    pub sps: std_video::StdVideoH264SequenceParameterSet,
    /// The picture parameter set.
    pub pps: std_video::StdVideoH264PictureParameterSet,
    /// The VUI the SPS points at.
    pub vui: Box<std_video::StdVideoH264SequenceParameterSetVui>,
    /// The level chosen, as written ("4.2").
    pub level: &'static str,
}

impl std::fmt::Debug for H264Parameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Parameters")
            .field("level", &self.level)
            .field("width_mbs", &(self.sps.pic_width_in_mbs_minus1 + 1))
            .field("height_mbs", &(self.sps.pic_height_in_map_units_minus1 + 1))
            .finish_non_exhaustive()
    }
}

/// The lowest level whose limits hold `frame_mbs` macroblocks a frame, `mbps` a second and
/// `kbps` of High-profile bitrate (1.25 times the table's figure, Table A-2's cpbBrVclFactor).
fn choose_level(frame_mbs: u64, mbps: u64, kbps: u64) -> Option<&'static Level> {
    LEVELS
        .iter()
        .find(|l| l.max_fs >= frame_mbs && l.max_mbps >= mbps && l.max_br_kbps * 5 / 4 >= kbps)
}

impl H264Parameters {
    /// The parameter sets for `stream`: High profile, 4:2:0, 8 bits, one reference, POC type 2.
    pub fn new(stream: &VideoStream) -> Result<Self, H264ParamsError> {
        if stream.bit_depth != crate::BitDepth::Eight {
            return Err(H264ParamsError::Depth {
                bits: stream.bit_depth as u32,
            });
        }
        let (w, h) = (stream.width, stream.height);
        let size_error = |reason: &str| H264ParamsError::Size {
            width: w,
            height: h,
            reason: reason.into(),
        };
        if w == 0 || h == 0 || w % 2 != 0 || h % 2 != 0 {
            return Err(size_error(
                "is not a 4:2:0 picture: both sides must be even and non-zero",
            ));
        }
        let (mbs_w, mbs_h) = (u64::from(w.div_ceil(16)), u64::from(h.div_ceil(16)));
        // A level's MaxFS also bounds each side: sqrt(8 * MaxFS) macroblocks (A.3.1 f, g).
        let frame_mbs = mbs_w * mbs_h;
        let rate = stream.frame_rate.as_f64().max(0.0);
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a non-negative rate times at most 139264 macroblocks is far below 2^53"
        )]
        let mbps = (frame_mbs as f64 * rate).ceil() as u64;
        let kbps = stream.max_bitrate.div_ceil(1000);
        let level = choose_level(frame_mbs, mbps, kbps)
            .filter(|l| {
                let side = (8 * l.max_fs).isqrt();
                mbs_w <= side && mbs_h <= side
            })
            .ok_or_else(|| H264ParamsError::NoLevel {
                what: format!(
                    "{w}x{h} ({frame_mbs} macroblocks) at {rate} fps ({mbps} macroblocks/s) and {kbps} kbit/s"
                ),
            })?;
        let as_u32 = |v: u64| u32::try_from(v).map_err(|_| size_error("is too large"));

        let mut flags = std_video::StdVideoH264SpsFlags {
            _bitfield_align_1: [],
            _bitfield_1: std_video::__BindgenBitfieldUnit::new([0; 2]),
            __bindgen_padding_0: 0,
        };
        flags.set_frame_mbs_only_flag(1);
        flags.set_direct_8x8_inference_flag(1);
        flags.set_vui_parameters_present_flag(1);
        // Cropping in 4:2:0 frame units of 2 pixels (CropUnitX = CropUnitY = 2).
        let (crop_right, crop_bottom) = (
            as_u32(mbs_w * 16 - u64::from(w))? / 2,
            as_u32(mbs_h * 16 - u64::from(h))? / 2,
        );
        if crop_right > 0 || crop_bottom > 0 {
            flags.set_frame_cropping_flag(1);
        }

        let mut vui_flags = std_video::StdVideoH264SpsVuiFlags {
            _bitfield_align_1: [],
            _bitfield_1: std_video::__BindgenBitfieldUnit::new([0; 2]),
            __bindgen_padding_0: 0,
        };
        vui_flags.set_video_signal_type_present_flag(1);
        vui_flags.set_color_description_present_flag(1);
        vui_flags.set_video_full_range_flag(u32::from(stream.color.range == ColorRange::Full));
        let timing = timing(stream.frame_rate);
        if timing.is_some() {
            vui_flags.set_timing_info_present_flag(1);
            vui_flags.set_fixed_frame_rate_flag(1);
        }
        vui_flags.set_bitstream_restriction_flag(1);
        let (num_units_in_tick, time_scale) = timing.unwrap_or((0, 0));
        let vui = Box::new(std_video::StdVideoH264SequenceParameterSetVui {
            flags: vui_flags,
            aspect_ratio_idc:
                std_video::StdVideoH264AspectRatioIdc_STD_VIDEO_H264_ASPECT_RATIO_IDC_UNSPECIFIED,
            sar_width: 0,
            sar_height: 0,
            // 5: unspecified video format.
            video_format: 5,
            colour_primaries: stream.color.primaries.h273(),
            transfer_characteristics: stream.color.transfer.h273(),
            matrix_coefficients: stream.color.matrix.h273(),
            num_units_in_tick,
            time_scale,
            // Output order is decode order; one reference picture is kept.
            max_num_reorder_frames: 0,
            max_dec_frame_buffering: 1,
            chroma_sample_loc_type_top_field: 0,
            chroma_sample_loc_type_bottom_field: 0,
            reserved1: 0,
            pHrdParameters: std::ptr::null(),
        });
        let sps = std_video::StdVideoH264SequenceParameterSet {
            flags,
            profile_idc: std_video::StdVideoH264ProfileIdc_STD_VIDEO_H264_PROFILE_IDC_HIGH,
            level_idc: level.idc,
            chroma_format_idc:
                std_video::StdVideoH264ChromaFormatIdc_STD_VIDEO_H264_CHROMA_FORMAT_IDC_420,
            seq_parameter_set_id: 0,
            bit_depth_luma_minus8: 0,
            bit_depth_chroma_minus8: 0,
            // frame_num counts 256 pictures before it wraps.
            log2_max_frame_num_minus4: 4,
            pic_order_cnt_type: std_video::StdVideoH264PocType_STD_VIDEO_H264_POC_TYPE_2,
            offset_for_non_ref_pic: 0,
            offset_for_top_to_bottom_field: 0,
            log2_max_pic_order_cnt_lsb_minus4: 0,
            num_ref_frames_in_pic_order_cnt_cycle: 0,
            max_num_ref_frames: 1,
            reserved1: 0,
            pic_width_in_mbs_minus1: as_u32(mbs_w - 1)?,
            pic_height_in_map_units_minus1: as_u32(mbs_h - 1)?,
            frame_crop_left_offset: 0,
            frame_crop_right_offset: crop_right,
            frame_crop_top_offset: 0,
            frame_crop_bottom_offset: crop_bottom,
            reserved2: 0,
            pOffsetForRefFrame: std::ptr::null(),
            pScalingLists: std::ptr::null(),
            pSequenceParameterSetVui: std::ptr::null(),
        };
        let mut pps_flags = std_video::StdVideoH264PpsFlags {
            _bitfield_align_1: [],
            _bitfield_1: std_video::__BindgenBitfieldUnit::new([0; 1]),
            __bindgen_padding_0: [0; 3],
        };
        pps_flags.set_entropy_coding_mode_flag(1);
        pps_flags.set_transform_8x8_mode_flag(1);
        pps_flags.set_deblocking_filter_control_present_flag(1);
        let pps = std_video::StdVideoH264PictureParameterSet {
            flags: pps_flags,
            seq_parameter_set_id: 0,
            pic_parameter_set_id: 0,
            num_ref_idx_l0_default_active_minus1: 0,
            num_ref_idx_l1_default_active_minus1: 0,
            weighted_bipred_idc:
                std_video::StdVideoH264WeightedBipredIdc_STD_VIDEO_H264_WEIGHTED_BIPRED_IDC_DEFAULT,
            pic_init_qp_minus26: 0,
            pic_init_qs_minus26: 0,
            chroma_qp_index_offset: 0,
            second_chroma_qp_index_offset: 0,
            pScalingLists: std::ptr::null(),
        };
        let mut this = Self {
            sps,
            pps,
            vui,
            level: level.name,
        };
        this.sps.pSequenceParameterSetVui = &raw const *this.vui;
        Ok(this)
    }

    /// The highest bitrate the SPS's level allows a High-profile stream, bits a second (Table
    /// A-1's MaxBR, times 1.25 for High: Table A-2's cpbBrVclFactor); `None` for a level idc
    /// outside the table.
    pub fn level_max_bitrate(&self) -> Option<u64> {
        LEVELS
            .iter()
            .find(|l| l.idc == self.sps.level_idc)
            .map(|l| l.max_br_kbps * 1250)
    }

    /// Lets the stream carry B pictures (pictures out of display order): picture order counts
    /// coded in the slices (POC type 0, 16-bit LSBs) instead of derived from frame_num, two
    /// reference frames (the pictures before and after a B picture), and the VUI's reordering
    /// of one frame with a DPB of two. The level's DPB holds at least four frames at its
    /// largest picture, so no level changes.
    pub fn allow_b_frames(&mut self) {
        self.sps.pic_order_cnt_type = std_video::StdVideoH264PocType_STD_VIDEO_H264_POC_TYPE_0;
        self.sps.log2_max_pic_order_cnt_lsb_minus4 = 12;
        self.sps.max_num_ref_frames = 2;
        self.vui.max_num_reorder_frames = 1;
        self.vui.max_dec_frame_buffering = 2;
    }

    /// Whether the sets allow B pictures ([`Self::allow_b_frames`]).
    pub fn reorders(&self) -> bool {
        self.sps.pic_order_cnt_type == std_video::StdVideoH264PocType_STD_VIDEO_H264_POC_TYPE_0
            && self.sps.max_num_ref_frames >= 2
            && self.vui.max_num_reorder_frames >= 1
    }

    /// The Vulkan session-parameters add-info naming these sets (one SPS, one PPS).
    pub fn add_info(&self) -> vk::VideoEncodeH264SessionParametersAddInfoKHR<'_> {
        vk::VideoEncodeH264SessionParametersAddInfoKHR::default()
            .std_sp_ss(std::slice::from_ref(&self.sps))
            .std_pp_ss(std::slice::from_ref(&self.pps))
    }
}

/// The VUI timing of `rate`: a tick is half a frame (a frame is two fields' worth of ticks),
/// so time_scale = 2 x numerator and num_units_in_tick = denominator; `None` for a rate with no
/// positive 32-bit terms.
fn timing(rate: Rational) -> Option<(u32, u32)> {
    let num = u32::try_from(rate.num).ok().filter(|&n| n > 0)?;
    let den = u32::try_from(rate.den).ok().filter(|&d| d > 0)?;
    Some((den, num.checked_mul(2)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::ColorDescription;

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

    #[test]
    fn the_level_is_the_lowest_that_holds_size_rate_and_bitrate() {
        let level = |w, h, fps, mbit| H264Parameters::new(&stream(w, h, fps, mbit)).unwrap().level;
        assert_eq!(level(1280, 720, 30, 8), "3.1");
        assert_eq!(level(1280, 720, 60, 8), "3.2");
        assert_eq!(level(1920, 1080, 30, 8), "4");
        assert_eq!(level(1920, 1080, 60, 12), "4.2");
        // 1080p30 at 40 Mbit/s needs level 4.1's 50 Mbit/s (x1.25 for High).
        assert_eq!(level(1920, 1080, 30, 40), "4.1");
        assert_eq!(level(3840, 2160, 30, 40), "5.1");
        assert_eq!(level(3840, 2160, 60, 40), "5.2");
        assert_eq!(level(7680, 4320, 30, 100), "6");
        // Level 4.1's MaxBR of 50 000 kbit/s, x1.25 for High.
        let p = H264Parameters::new(&stream(1920, 1080, 30, 40)).unwrap();
        assert_eq!(p.level_max_bitrate(), Some(62_500_000));
    }

    #[test]
    fn b_pictures_change_the_order_counts_and_the_dpb() {
        let mut p = H264Parameters::new(&stream(1920, 1080, 60, 12)).unwrap();
        assert!(!p.reorders());
        p.allow_b_frames();
        assert!(p.reorders());
        assert_eq!(
            (
                p.sps.pic_order_cnt_type,
                p.sps.log2_max_pic_order_cnt_lsb_minus4,
                p.sps.max_num_ref_frames
            ),
            (
                std_video::StdVideoH264PocType_STD_VIDEO_H264_POC_TYPE_0,
                12,
                2
            )
        );
        assert_eq!(
            (p.vui.max_num_reorder_frames, p.vui.max_dec_frame_buffering),
            (1, 2)
        );
    }

    #[test]
    fn sizes_are_whole_macroblocks_cropped_to_the_picture() {
        let p = H264Parameters::new(&stream(1920, 1080, 60, 12)).unwrap();
        assert_eq!(p.sps.pic_width_in_mbs_minus1, 119);
        assert_eq!(p.sps.pic_height_in_map_units_minus1, 67);
        // 1088 - 1080 = 8 rows, in units of 2.
        assert_eq!(p.sps.frame_crop_bottom_offset, 4);
        assert_eq!(p.sps.frame_crop_right_offset, 0);
        assert_eq!(p.sps.flags.frame_cropping_flag(), 1);
        let exact = H264Parameters::new(&stream(1280, 720, 30, 8)).unwrap();
        assert_eq!(exact.sps.flags.frame_cropping_flag(), 0);
        // The SPS points at its own VUI, which carries BT.709 and 60 fps.
        assert_eq!(p.sps.pSequenceParameterSetVui, &raw const *p.vui);
        assert_eq!(
            (
                p.vui.colour_primaries,
                p.vui.transfer_characteristics,
                p.vui.matrix_coefficients
            ),
            (1, 1, 1)
        );
        assert_eq!((p.vui.num_units_in_tick, p.vui.time_scale), (1, 120));
        assert_eq!(p.vui.flags.video_full_range_flag(), 0);
        assert_eq!(p.pps.flags.entropy_coding_mode_flag(), 1);
    }

    #[test]
    fn impossible_streams_are_typed_errors_naming_the_values() {
        let e = H264Parameters::new(&stream(1921, 1080, 30, 8)).unwrap_err();
        assert!(e.to_string().contains("1921x1080"), "{e}");
        let e = H264Parameters::new(&stream(16384, 16384, 60, 8)).unwrap_err();
        assert!(e.to_string().contains("16384x16384"), "{e}");
        let e = H264Parameters::new(&stream(1920, 1080, 60, 2_000)).unwrap_err();
        assert!(matches!(e, H264ParamsError::NoLevel { .. }), "{e}");
        let e = H264Parameters::new(&VideoStream {
            bit_depth: crate::BitDepth::Ten,
            ..stream(1280, 720, 30, 4)
        })
        .unwrap_err();
        assert_eq!(e, H264ParamsError::Depth { bits: 10 });
        assert!(e.to_string().contains("use --codec hevc or av1"), "{e}");
    }
}
