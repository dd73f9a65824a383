//! H.264 parameter sets: the SPS and PPS an application gives as Vulkan's std structures,
//! held as owned values, and written as Annex-B NAL units (ITU-T H.264 sections 7.3.2.1.1,
//! 7.3.2.2 and E.1.1) by a small bitstream writer with exp-Golomb codes.

use ash::vk::native;

/// Writes bits most significant first, with the exp-Golomb codes of H.264 section 9.1.
#[derive(Default, Debug)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Bits already used in the last byte (0: the last byte is full, or there is none).
    used: u32,
}

impl BitWriter {
    /// One bit.
    pub fn bit(&mut self, b: bool) {
        if self.used == 0 {
            self.bytes.push(0);
        }
        if b {
            if let Some(last) = self.bytes.last_mut() {
                *last |= 0x80 >> self.used;
            }
        }
        self.used = (self.used + 1) % 8;
    }

    /// `u(n)`: the low `n` bits of `value`, `n` ≤ 32.
    pub fn u(&mut self, n: u32, value: u32) {
        for i in (0..n).rev() {
            self.bit((value >> i) & 1 == 1);
        }
    }

    /// `ue(v)`: unsigned exp-Golomb.
    pub fn ue(&mut self, value: u32) {
        let v = u64::from(value) + 1;
        let len = 64 - v.leading_zeros();
        for _ in 1..len {
            self.bit(false);
        }
        for i in (0..len).rev() {
            self.bit((v >> i) & 1 == 1);
        }
    }

    /// `se(v)`: signed exp-Golomb (k > 0 maps to 2k − 1, k ≤ 0 to −2k).
    pub fn se(&mut self, value: i32) {
        let k = i64::from(value);
        let mapped = if k > 0 { 2 * k - 1 } else { -2 * k };
        self.ue(u32::try_from(mapped).unwrap_or(u32::MAX));
    }

    /// Whether the next bit starts a byte (`byte_aligned()` of section 7.2).
    pub fn is_aligned(&self) -> bool {
        self.used == 0
    }

    /// Zero bits up to the next byte boundary (none when already there), as
    /// `pcm_alignment_zero_bit` and `alignment_zero_bit` are written.
    pub fn align_with_zeros(&mut self) {
        self.used = 0;
    }

    /// Whole bytes, each as `u(8)` (one copy when the writer is byte-aligned: PCM samples).
    pub fn bytes(&mut self, bytes: &[u8]) {
        if self.used == 0 {
            self.bytes.extend_from_slice(bytes);
        } else {
            for &b in bytes {
                self.u(8, u32::from(b));
            }
        }
    }

    /// `rbsp_trailing_bits()`: a one, then zeros to the byte boundary; the finished RBSP.
    pub fn finish(mut self) -> Vec<u8> {
        self.bit(true);
        self.used = 0;
        self.bytes
    }
}

/// A NAL unit in Annex-B form: the four-byte start code, the NAL unit header, then the RBSP
/// with an emulation prevention byte (0x03) wherever two zero bytes would be followed by a
/// byte ≤ 3 (H.264 section 7.4.1, H.265 section 7.4.2).
pub fn annex_b(header: &[u8], rbsp: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0, 1];
    out.extend_from_slice(header);
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    out
}

/// An H.264 NAL unit in Annex-B form with its one-byte header.
pub fn nal_unit(nal_ref_idc: u8, nal_unit_type: u8, rbsp: &[u8]) -> Vec<u8> {
    annex_b(&[((nal_ref_idc & 3) << 5) | (nal_unit_type & 31)], rbsp)
}

/// `StdVideoH264SpsFlags` with every flag 0 (bindgen gives the std structures no `Default`).
pub fn no_sps_flags() -> native::StdVideoH264SpsFlags {
    native::StdVideoH264SpsFlags {
        _bitfield_align_1: [],
        _bitfield_1: native::__BindgenBitfieldUnit::new([0; 2]),
        __bindgen_padding_0: 0,
    }
}

/// `StdVideoH264SpsVuiFlags` with every flag 0.
pub fn no_vui_flags() -> native::StdVideoH264SpsVuiFlags {
    native::StdVideoH264SpsVuiFlags {
        _bitfield_align_1: [],
        _bitfield_1: native::__BindgenBitfieldUnit::new([0; 2]),
        __bindgen_padding_0: 0,
    }
}

/// `StdVideoH264PpsFlags` with every flag 0.
pub fn no_pps_flags() -> native::StdVideoH264PpsFlags {
    native::StdVideoH264PpsFlags {
        _bitfield_align_1: [],
        _bitfield_1: native::__BindgenBitfieldUnit::new([0; 1]),
        __bindgen_padding_0: [0; 3],
    }
}

/// A `StdVideoH264SequenceParameterSet` of zeros (Baseline's 0 values, level 1.0, no
/// pointers), with `flags`.
pub fn std_sps(flags: native::StdVideoH264SpsFlags) -> native::StdVideoH264SequenceParameterSet {
    native::StdVideoH264SequenceParameterSet {
        flags,
        profile_idc: 0,
        level_idc: 0,
        chroma_format_idc: 0,
        seq_parameter_set_id: 0,
        bit_depth_luma_minus8: 0,
        bit_depth_chroma_minus8: 0,
        log2_max_frame_num_minus4: 0,
        pic_order_cnt_type: 0,
        offset_for_non_ref_pic: 0,
        offset_for_top_to_bottom_field: 0,
        log2_max_pic_order_cnt_lsb_minus4: 0,
        num_ref_frames_in_pic_order_cnt_cycle: 0,
        max_num_ref_frames: 0,
        reserved1: 0,
        pic_width_in_mbs_minus1: 0,
        pic_height_in_map_units_minus1: 0,
        frame_crop_left_offset: 0,
        frame_crop_right_offset: 0,
        frame_crop_top_offset: 0,
        frame_crop_bottom_offset: 0,
        reserved2: 0,
        pOffsetForRefFrame: std::ptr::null(),
        pScalingLists: std::ptr::null(),
        pSequenceParameterSetVui: std::ptr::null(),
    }
}

/// A `StdVideoH264PictureParameterSet` of zeros with `flags`.
pub fn std_pps(flags: native::StdVideoH264PpsFlags) -> native::StdVideoH264PictureParameterSet {
    native::StdVideoH264PictureParameterSet {
        flags,
        seq_parameter_set_id: 0,
        pic_parameter_set_id: 0,
        num_ref_idx_l0_default_active_minus1: 0,
        num_ref_idx_l1_default_active_minus1: 0,
        weighted_bipred_idc: 0,
        pic_init_qp_minus26: 0,
        pic_init_qs_minus26: 0,
        chroma_qp_index_offset: 0,
        second_chroma_qp_index_offset: 0,
        pScalingLists: std::ptr::null(),
    }
}

/// `level_idc` of each `StdVideoH264LevelIdc` value (1.0 … 6.2), in the enum's order.
const LEVELS: [u32; 19] = [
    10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52, 60, 61, 62,
];

/// The `level_idc` syntax value of a `StdVideoH264LevelIdc`, `None` for a value outside the enum.
pub fn level_idc(std_level: u32) -> Option<u32> {
    LEVELS.get(usize::try_from(std_level).ok()?).copied()
}

/// The profiles whose SPS carries the chroma format, bit depths and scaling-matrix flag
/// (section 7.3.2.1.1).
const HIGH_PROFILES: [u32; 13] = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135];

/// `hrd_parameters()` (section E.1.2).
#[derive(Clone, Copy, Debug)]
pub struct Hrd(pub native::StdVideoH264HrdParameters);

/// `vui_parameters()` (section E.1.1): the std structure's values, its HRD copied in.
#[derive(Clone, Copy, Debug)]
pub struct Vui {
    /// The presence flags and one-bit values.
    pub flags: native::StdVideoH264SpsVuiFlags,
    /// `aspect_ratio_idc` (255: extended SAR).
    pub aspect_ratio_idc: u32,
    /// `sar_width`, `sar_height`.
    pub sar: (u16, u16),
    /// `video_format`.
    pub video_format: u8,
    /// `colour_primaries`, `transfer_characteristics`, `matrix_coefficients`.
    pub colour: (u8, u8, u8),
    /// `num_units_in_tick`.
    pub num_units_in_tick: u32,
    /// `time_scale`.
    pub time_scale: u32,
    /// `max_num_reorder_frames`.
    pub max_num_reorder_frames: u8,
    /// `max_dec_frame_buffering`.
    pub max_dec_frame_buffering: u8,
    /// `chroma_sample_loc_type_top_field`, `…_bottom_field`.
    pub chroma_loc: (u8, u8),
    /// The HRD parameters both the NAL and VCL HRD flags refer to.
    pub hrd: Option<Hrd>,
}

impl Vui {
    /// The owned copy of a std VUI and the HRD its `pHrdParameters` points to.
    pub fn from_std(
        v: &native::StdVideoH264SequenceParameterSetVui,
        hrd: Option<&native::StdVideoH264HrdParameters>,
    ) -> Result<Self, String> {
        let needs_hrd = v.flags.nal_hrd_parameters_present_flag() != 0
            || v.flags.vcl_hrd_parameters_present_flag() != 0;
        if needs_hrd && hrd.is_none() {
            return Err("the VUI's HRD flags are set but pHrdParameters is NULL".into());
        }
        Ok(Self {
            flags: v.flags,
            aspect_ratio_idc: v.aspect_ratio_idc,
            sar: (v.sar_width, v.sar_height),
            video_format: v.video_format,
            colour: (
                v.colour_primaries,
                v.transfer_characteristics,
                v.matrix_coefficients,
            ),
            num_units_in_tick: v.num_units_in_tick,
            time_scale: v.time_scale,
            max_num_reorder_frames: v.max_num_reorder_frames,
            max_dec_frame_buffering: v.max_dec_frame_buffering,
            chroma_loc: (
                v.chroma_sample_loc_type_top_field,
                v.chroma_sample_loc_type_bottom_field,
            ),
            hrd: if needs_hrd {
                hrd.copied().map(Hrd)
            } else {
                None
            },
        })
    }
}

/// A sequence parameter set: `StdVideoH264SequenceParameterSet` with what its pointers point
/// to copied in.
#[derive(Clone, Debug)]
pub struct Sps {
    /// The one-bit syntax elements.
    pub flags: native::StdVideoH264SpsFlags,
    /// `profile_idc`.
    pub profile_idc: u32,
    /// `level_idc` as the std enum (`StdVideoH264LevelIdc`).
    pub std_level: u32,
    /// `chroma_format_idc`.
    pub chroma_format_idc: u32,
    /// `seq_parameter_set_id`.
    pub id: u8,
    /// `bit_depth_luma_minus8`, `bit_depth_chroma_minus8`.
    pub bit_depth_minus8: (u8, u8),
    /// `log2_max_frame_num_minus4`.
    pub log2_max_frame_num_minus4: u8,
    /// `pic_order_cnt_type`.
    pub pic_order_cnt_type: u32,
    /// `log2_max_pic_order_cnt_lsb_minus4`.
    pub log2_max_pic_order_cnt_lsb_minus4: u8,
    /// `offset_for_non_ref_pic`.
    pub offset_for_non_ref_pic: i32,
    /// `offset_for_top_to_bottom_field`.
    pub offset_for_top_to_bottom_field: i32,
    /// `offset_for_ref_frame[]` (`num_ref_frames_in_pic_order_cnt_cycle` of them).
    pub offset_for_ref_frame: Vec<i32>,
    /// `max_num_ref_frames`.
    pub max_num_ref_frames: u8,
    /// `pic_width_in_mbs_minus1`.
    pub pic_width_in_mbs_minus1: u32,
    /// `pic_height_in_map_units_minus1`.
    pub pic_height_in_map_units_minus1: u32,
    /// `frame_crop_left/right/top/bottom_offset`.
    pub crop: [u32; 4],
    /// `vui_parameters()`, when `vui_parameters_present_flag` is set.
    pub vui: Option<Vui>,
}

impl Sps {
    /// The owned copy of `s`; `offsets` is what `pOffsetForRefFrame` points to (empty for
    /// NULL) and `vui` what `pSequenceParameterSetVui` points to. Scaling matrices are refused:
    /// this driver does not write them yet.
    pub fn from_std(
        s: &native::StdVideoH264SequenceParameterSet,
        offsets: &[i32],
        vui: Option<Vui>,
    ) -> Result<Self, String> {
        let id = s.seq_parameter_set_id;
        if level_idc(s.level_idc).is_none() {
            return Err(format!(
                "SPS {id}: level_idc {} is not a StdVideoH264LevelIdc value (0 = 1.0 … 18 = 6.2)",
                s.level_idc
            ));
        }
        if s.flags.seq_scaling_matrix_present_flag() != 0 {
            return Err(format!(
                "SPS {id}: seq_scaling_matrix_present_flag is set; this driver writes flat scaling only (leave it 0)"
            ));
        }
        if s.pic_order_cnt_type > 2 {
            return Err(format!(
                "SPS {id}: pic_order_cnt_type {} (0, 1 or 2)",
                s.pic_order_cnt_type
            ));
        }
        if s.chroma_format_idc > 3 {
            return Err(format!(
                "SPS {id}: chroma_format_idc {} (0 … 3)",
                s.chroma_format_idc
            ));
        }
        let cycle = usize::from(s.num_ref_frames_in_pic_order_cnt_cycle);
        if s.pic_order_cnt_type == 1 && offsets.len() < cycle {
            return Err(format!(
                "SPS {id}: pic_order_cnt_type 1 with {cycle} offsets in the cycle, but pOffsetForRefFrame gives {}",
                offsets.len()
            ));
        }
        if s.flags.vui_parameters_present_flag() != 0 && vui.is_none() {
            return Err(format!(
                "SPS {id}: vui_parameters_present_flag is set but pSequenceParameterSetVui is NULL"
            ));
        }
        Ok(Self {
            flags: s.flags,
            profile_idc: s.profile_idc,
            std_level: s.level_idc,
            chroma_format_idc: s.chroma_format_idc,
            id,
            bit_depth_minus8: (s.bit_depth_luma_minus8, s.bit_depth_chroma_minus8),
            log2_max_frame_num_minus4: s.log2_max_frame_num_minus4,
            pic_order_cnt_type: s.pic_order_cnt_type,
            log2_max_pic_order_cnt_lsb_minus4: s.log2_max_pic_order_cnt_lsb_minus4,
            offset_for_non_ref_pic: s.offset_for_non_ref_pic,
            offset_for_top_to_bottom_field: s.offset_for_top_to_bottom_field,
            offset_for_ref_frame: if s.pic_order_cnt_type == 1 {
                offsets[..cycle].to_vec()
            } else {
                Vec::new()
            },
            max_num_ref_frames: s.max_num_ref_frames,
            pic_width_in_mbs_minus1: s.pic_width_in_mbs_minus1,
            pic_height_in_map_units_minus1: s.pic_height_in_map_units_minus1,
            crop: [
                s.frame_crop_left_offset,
                s.frame_crop_right_offset,
                s.frame_crop_top_offset,
                s.frame_crop_bottom_offset,
            ],
            vui: if s.flags.vui_parameters_present_flag() != 0 {
                vui
            } else {
                None
            },
        })
    }

    /// The NAL unit (type 7, `nal_ref_idc` 3).
    pub fn nal(&self) -> Vec<u8> {
        let f = &self.flags;
        let mut w = BitWriter::default();
        w.u(8, self.profile_idc);
        for flag in [
            f.constraint_set0_flag(),
            f.constraint_set1_flag(),
            f.constraint_set2_flag(),
            f.constraint_set3_flag(),
            f.constraint_set4_flag(),
            f.constraint_set5_flag(),
        ] {
            w.bit(flag != 0);
        }
        w.u(2, 0); // reserved_zero_2bits
        w.u(8, level_idc(self.std_level).unwrap_or(0));
        w.ue(u32::from(self.id));
        if HIGH_PROFILES.contains(&self.profile_idc) {
            w.ue(self.chroma_format_idc);
            if self.chroma_format_idc == 3 {
                w.bit(f.separate_colour_plane_flag() != 0);
            }
            w.ue(u32::from(self.bit_depth_minus8.0));
            w.ue(u32::from(self.bit_depth_minus8.1));
            w.bit(f.qpprime_y_zero_transform_bypass_flag() != 0);
            w.bit(false); // seq_scaling_matrix_present_flag (refused when set)
        }
        w.ue(u32::from(self.log2_max_frame_num_minus4));
        w.ue(self.pic_order_cnt_type);
        match self.pic_order_cnt_type {
            0 => w.ue(u32::from(self.log2_max_pic_order_cnt_lsb_minus4)),
            1 => {
                w.bit(f.delta_pic_order_always_zero_flag() != 0);
                w.se(self.offset_for_non_ref_pic);
                w.se(self.offset_for_top_to_bottom_field);
                w.ue(u32::try_from(self.offset_for_ref_frame.len()).unwrap_or(0));
                for &o in &self.offset_for_ref_frame {
                    w.se(o);
                }
            }
            _ => {}
        }
        w.ue(u32::from(self.max_num_ref_frames));
        w.bit(f.gaps_in_frame_num_value_allowed_flag() != 0);
        w.ue(self.pic_width_in_mbs_minus1);
        w.ue(self.pic_height_in_map_units_minus1);
        w.bit(f.frame_mbs_only_flag() != 0);
        if f.frame_mbs_only_flag() == 0 {
            w.bit(f.mb_adaptive_frame_field_flag() != 0);
        }
        w.bit(f.direct_8x8_inference_flag() != 0);
        w.bit(f.frame_cropping_flag() != 0);
        if f.frame_cropping_flag() != 0 {
            for c in self.crop {
                w.ue(c);
            }
        }
        w.bit(self.vui.is_some());
        if let Some(v) = &self.vui {
            write_vui(&mut w, v);
        }
        nal_unit(3, 7, &w.finish())
    }

    /// The picture's size in luma samples after cropping (4:2:0, progressive frames: crop
    /// units of 2×2), as a decoder reports it.
    pub fn cropped_size(&self) -> (u32, u32) {
        let frame_mbs_only = self.flags.frame_mbs_only_flag() != 0;
        let width = (self.pic_width_in_mbs_minus1 + 1) * 16;
        let height =
            (self.pic_height_in_map_units_minus1 + 1) * 16 * if frame_mbs_only { 1 } else { 2 };
        if self.flags.frame_cropping_flag() == 0 {
            return (width, height);
        }
        let (cx, cy) = match self.chroma_format_idc {
            1 => (2, 2),
            2 => (2, 1),
            _ => (1, 1),
        };
        let cy = cy * if frame_mbs_only { 1 } else { 2 };
        let [l, r, t, b] = self.crop;
        (
            width.saturating_sub(cx * (l + r)),
            height.saturating_sub(cy * (t + b)),
        )
    }
}

fn write_hrd(w: &mut BitWriter, h: &Hrd) {
    let h = &h.0;
    w.ue(u32::from(h.cpb_cnt_minus1));
    w.u(4, u32::from(h.bit_rate_scale));
    w.u(4, u32::from(h.cpb_size_scale));
    let count = (usize::from(h.cpb_cnt_minus1) + 1).min(32);
    for i in 0..count {
        w.ue(h.bit_rate_value_minus1[i]);
        w.ue(h.cpb_size_value_minus1[i]);
        w.bit(h.cbr_flag[i] != 0);
    }
    w.u(5, h.initial_cpb_removal_delay_length_minus1);
    w.u(5, h.cpb_removal_delay_length_minus1);
    w.u(5, h.dpb_output_delay_length_minus1);
    w.u(5, h.time_offset_length);
}

fn write_vui(w: &mut BitWriter, v: &Vui) {
    let f = &v.flags;
    w.bit(f.aspect_ratio_info_present_flag() != 0);
    if f.aspect_ratio_info_present_flag() != 0 {
        w.u(8, v.aspect_ratio_idc);
        if v.aspect_ratio_idc == 255 {
            w.u(16, u32::from(v.sar.0));
            w.u(16, u32::from(v.sar.1));
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
        w.bit(f.color_description_present_flag() != 0);
        if f.color_description_present_flag() != 0 {
            w.u(8, u32::from(v.colour.0));
            w.u(8, u32::from(v.colour.1));
            w.u(8, u32::from(v.colour.2));
        }
    }
    w.bit(f.chroma_loc_info_present_flag() != 0);
    if f.chroma_loc_info_present_flag() != 0 {
        w.ue(u32::from(v.chroma_loc.0));
        w.ue(u32::from(v.chroma_loc.1));
    }
    w.bit(f.timing_info_present_flag() != 0);
    if f.timing_info_present_flag() != 0 {
        w.u(32, v.num_units_in_tick);
        w.u(32, v.time_scale);
        w.bit(f.fixed_frame_rate_flag() != 0);
    }
    let nal = f.nal_hrd_parameters_present_flag() != 0;
    let vcl = f.vcl_hrd_parameters_present_flag() != 0;
    for present in [nal, vcl] {
        w.bit(present);
        if present {
            if let Some(h) = &v.hrd {
                write_hrd(w, h);
            }
        }
    }
    if nal || vcl {
        w.bit(false); // low_delay_hrd_flag: the std structure has none; pictures are timed
    }
    w.bit(false); // pic_struct_present_flag: no picture timing SEI
    w.bit(f.bitstream_restriction_flag() != 0);
    if f.bitstream_restriction_flag() != 0 {
        // The std structure carries only the two frame counts; the others are the values a
        // decoder infers when the restriction is absent (section E.2.1).
        w.bit(true); // motion_vectors_over_pic_boundaries_flag
        w.ue(2); // max_bytes_per_pic_denom
        w.ue(1); // max_bits_per_mb_denom
        w.ue(15); // log2_max_mv_length_horizontal
        w.ue(15); // log2_max_mv_length_vertical
        w.ue(u32::from(v.max_num_reorder_frames));
        w.ue(u32::from(v.max_dec_frame_buffering));
    }
}

/// A picture parameter set (`StdVideoH264PictureParameterSet`).
#[derive(Clone, Copy, Debug)]
pub struct Pps {
    /// The one-bit syntax elements.
    pub flags: native::StdVideoH264PpsFlags,
    /// `seq_parameter_set_id`.
    pub sps_id: u8,
    /// `pic_parameter_set_id`.
    pub id: u8,
    /// `num_ref_idx_l0_default_active_minus1`, `…_l1_…`.
    pub num_ref_idx_default_active_minus1: (u8, u8),
    /// `weighted_bipred_idc`.
    pub weighted_bipred_idc: u32,
    /// `pic_init_qp_minus26`.
    pub pic_init_qp_minus26: i8,
    /// `pic_init_qs_minus26`.
    pub pic_init_qs_minus26: i8,
    /// `chroma_qp_index_offset`.
    pub chroma_qp_index_offset: i8,
    /// `second_chroma_qp_index_offset`.
    pub second_chroma_qp_index_offset: i8,
}

impl Pps {
    /// The owned copy of `p` (scaling matrices refused, as for the SPS).
    pub fn from_std(p: &native::StdVideoH264PictureParameterSet) -> Result<Self, String> {
        if p.flags.pic_scaling_matrix_present_flag() != 0 {
            return Err(format!(
                "PPS {}: pic_scaling_matrix_present_flag is set; this driver writes flat scaling only (leave it 0)",
                p.pic_parameter_set_id
            ));
        }
        if p.weighted_bipred_idc > 2 {
            return Err(format!(
                "PPS {}: weighted_bipred_idc {} (0, 1 or 2)",
                p.pic_parameter_set_id, p.weighted_bipred_idc
            ));
        }
        Ok(Self {
            flags: p.flags,
            sps_id: p.seq_parameter_set_id,
            id: p.pic_parameter_set_id,
            num_ref_idx_default_active_minus1: (
                p.num_ref_idx_l0_default_active_minus1,
                p.num_ref_idx_l1_default_active_minus1,
            ),
            weighted_bipred_idc: p.weighted_bipred_idc,
            pic_init_qp_minus26: p.pic_init_qp_minus26,
            pic_init_qs_minus26: p.pic_init_qs_minus26,
            chroma_qp_index_offset: p.chroma_qp_index_offset,
            second_chroma_qp_index_offset: p.second_chroma_qp_index_offset,
        })
    }

    /// Whether the written PPS differs from the application's: CABAC
    /// (`entropy_coding_mode_flag` 1) is written as CAVLC (0), the only entropy coding this
    /// driver's encoder writes. What VkVideoEncodeSessionParametersFeedbackInfoKHR's
    /// hasOverrides reports.
    pub fn overrides(&self) -> bool {
        self.flags.entropy_coding_mode_flag() != 0
    }

    /// The NAL unit (type 8, `nal_ref_idc` 3). The elements after
    /// `redundant_pic_cnt_present_flag` (the High profiles' extension) are written when they
    /// differ from what a decoder infers without them.
    pub fn nal(&self) -> Vec<u8> {
        let f = &self.flags;
        let mut w = BitWriter::default();
        w.ue(u32::from(self.id));
        w.ue(u32::from(self.sps_id));
        // entropy_coding_mode_flag: always 0 (CAVLC). This driver's encoder writes CAVLC slices
        // only, so it overrides an application's CABAC, as real drivers may override
        // parameters; `overrides()` says so for the encode feedback's hasOverrides.
        w.bit(false);
        w.bit(f.bottom_field_pic_order_in_frame_present_flag() != 0);
        w.ue(0); // num_slice_groups_minus1
        w.ue(u32::from(self.num_ref_idx_default_active_minus1.0));
        w.ue(u32::from(self.num_ref_idx_default_active_minus1.1));
        w.bit(f.weighted_pred_flag() != 0);
        w.u(2, self.weighted_bipred_idc);
        w.se(i32::from(self.pic_init_qp_minus26));
        w.se(i32::from(self.pic_init_qs_minus26));
        w.se(i32::from(self.chroma_qp_index_offset));
        w.bit(f.deblocking_filter_control_present_flag() != 0);
        w.bit(f.constrained_intra_pred_flag() != 0);
        w.bit(f.redundant_pic_cnt_present_flag() != 0);
        let extension = f.transform_8x8_mode_flag() != 0
            || self.second_chroma_qp_index_offset != self.chroma_qp_index_offset;
        if extension {
            w.bit(f.transform_8x8_mode_flag() != 0);
            w.bit(false); // pic_scaling_matrix_present_flag (refused when set)
            w.se(i32::from(self.second_chroma_qp_index_offset));
        }
        nal_unit(3, 8, &w.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(f: impl FnOnce(&mut BitWriter)) -> Vec<u8> {
        let mut w = BitWriter::default();
        f(&mut w);
        w.finish()
    }

    #[test]
    fn exp_golomb_codes_match_the_specs_table() {
        // Table 9-2: 0 -> 1, 1 -> 010, 2 -> 011, 3 -> 00100; each then gets the stop bit 1.
        assert_eq!(bits(|w| w.ue(0)), [0b1100_0000]);
        assert_eq!(bits(|w| w.ue(1)), [0b0101_0000]);
        assert_eq!(bits(|w| w.ue(2)), [0b0111_0000]);
        assert_eq!(bits(|w| w.ue(3)), [0b0010_0100]);
        // Table 9-3: se 1 -> ue 1, -1 -> ue 2, 2 -> ue 3.
        assert_eq!(bits(|w| w.se(-1)), bits(|w| w.ue(2)));
        assert_eq!(bits(|w| w.se(2)), bits(|w| w.ue(3)));
        assert_eq!(bits(|w| w.u(12, 0xabc)), [0xab, 0xc8]);
        // The largest value: 32 zeros, then the 33 bits of 2^32, then the stop bit.
        assert_eq!(bits(|w| w.ue(u32::MAX)).len(), 9);
    }

    #[test]
    fn emulation_prevention_breaks_every_start_code_prefix() {
        assert_eq!(
            nal_unit(3, 7, &[0, 0, 1, 0, 0, 0, 0, 0, 4]),
            [0, 0, 0, 1, 0x67, 0, 0, 3, 1, 0, 0, 3, 0, 0, 3, 0, 4]
        );
        assert_eq!(nal_unit(0, 8, &[0, 0, 4]), [0, 0, 0, 1, 8, 0, 0, 4]);
    }

    #[test]
    fn level_values_follow_the_std_enum() {
        assert_eq!(
            level_idc(native::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_4_1),
            Some(41)
        );
        assert_eq!(
            level_idc(native::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_6_2),
            Some(62)
        );
        assert_eq!(level_idc(19), None);
    }

    #[test]
    fn a_high_profile_1080p_sps_has_the_known_bytes() {
        // High, level 4.0, 120x68 macroblocks cropped by 8 lines to 1080, POC type 0: the
        // bytes worked out by hand from section 7.3.2.1.1.
        let mut flags = no_sps_flags();
        flags.set_frame_mbs_only_flag(1);
        flags.set_direct_8x8_inference_flag(1);
        flags.set_frame_cropping_flag(1);
        let std = native::StdVideoH264SequenceParameterSet {
            flags,
            profile_idc: 100,
            level_idc: native::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_4_0,
            chroma_format_idc: 1,
            log2_max_frame_num_minus4: 0,
            pic_order_cnt_type: 0,
            log2_max_pic_order_cnt_lsb_minus4: 0,
            max_num_ref_frames: 1,
            pic_width_in_mbs_minus1: 119,
            pic_height_in_map_units_minus1: 67,
            frame_crop_bottom_offset: 4,
            ..std_sps(flags)
        };
        let sps = Sps::from_std(&std, &[], None).unwrap();
        assert_eq!(sps.cropped_size(), (1920, 1080));
        // 100, flags 0, level 40; ue(0) sps id, ue(1) chroma, ue(0) ue(0) depths, 0 0 flags,
        // ue(0) frame num, ue(0) poc type, ue(0) lsb, ue(1) refs, 0 gaps, ue(119), ue(67),
        // 1 frame_mbs_only, 1 direct8x8, 1 cropping, ue(0) ue(0) ue(0) ue(4), 0 vui, stop.
        let mut w = BitWriter::default();
        w.u(8, 100);
        w.u(8, 0);
        w.u(8, 40);
        for v in [0, 1, 0, 0] {
            w.ue(v);
        }
        w.u(2, 0);
        for v in [0, 0, 0, 1] {
            w.ue(v);
        }
        w.bit(false);
        w.ue(119);
        w.ue(67);
        w.u(3, 0b111);
        for v in [0, 0, 0, 4] {
            w.ue(v);
        }
        w.bit(false);
        let mut expected = vec![0, 0, 0, 1, 0x67];
        expected.extend(w.finish());
        assert_eq!(sps.nal(), expected);
        assert_eq!(
            &sps.nal()[..8],
            [0, 0, 0, 1, 0x67, 100, 0, 40],
            "header, profile, constraints, level"
        );
    }

    #[test]
    fn scaling_matrices_and_missing_pointers_are_refused_with_the_reason() {
        let mut flags = no_sps_flags();
        flags.set_seq_scaling_matrix_present_flag(1);
        let std = std_sps(flags);
        assert!(Sps::from_std(&std, &[], None)
            .unwrap_err()
            .contains("seq_scaling_matrix_present_flag"));
        let mut flags = no_sps_flags();
        flags.set_vui_parameters_present_flag(1);
        let std = std_sps(flags);
        assert!(Sps::from_std(&std, &[], None)
            .unwrap_err()
            .contains("pSequenceParameterSetVui is NULL"));
    }

    #[test]
    fn a_pps_writes_the_high_extension_only_when_needed() {
        let mut flags = no_pps_flags();
        flags.set_entropy_coding_mode_flag(1);
        flags.set_deblocking_filter_control_present_flag(1);
        let std = std_pps(flags);
        let pps = Pps::from_std(&std).unwrap();
        assert!(pps.overrides(), "CABAC is overridden");
        let plain = pps.nal();
        // CABAC asked for, CAVLC written (entropy_coding_mode_flag 0):
        // ue0 ue0 0 0 ue0 ue0 ue0 0 00 se0 se0 se0 1 0 0 stop: 1 1 0 0 1 1 1 0 | 0 0 1 1 1 1 0 0 | 1
        assert_eq!(
            plain,
            [0, 0, 0, 1, 0x68, 0b1100_1110, 0b0011_1100, 0b1000_0000]
        );
        flags.set_transform_8x8_mode_flag(1);
        let high = Pps::from_std(&native::StdVideoH264PictureParameterSet { flags, ..std })
            .unwrap()
            .nal();
        assert_eq!(
            high,
            [0, 0, 0, 1, 0x68, 0b1100_1110, 0b0011_1100, 0b1011_0000]
        );
        assert!(!Pps::from_std(&std_pps(no_pps_flags())).unwrap().overrides());
    }
}
