//! The driver's H.264 "encoder": one picture written as a CAVLC slice of I_PCM macroblocks
//! (ITU-T H.264 sections 7.3.3, 7.3.4 and 7.3.5), which any decoder turns back into exactly
//! the input samples.
//!
//! The slice header follows the application's SPS, PPS, picture and slice parameters; the
//! macroblocks carry the picture's samples uncoded, so the output shows that the data flow
//! (the picture the application wrote, the parameter sets it chose) reached the encoder. The
//! slices are CAVLC whatever the PPS asks: the written PPS says so ([`crate::h264::Pps::nal`]).
//! Frame pictures only (frame_mbs_only_flag 1, or field_pic_flag 0 without MBAFF), 4:2:0,
//! 8 bits.

use ash::vk::native;

use crate::h264::{nal_unit, BitWriter};

/// A picture in NV12: an 8-bit luma plane and an interleaved CbCr plane at half width and
/// height. `width` and `height` are the coded size (whole macroblocks).
#[derive(Clone, Copy, Debug)]
pub struct Nv12Picture<'a> {
    /// The luma plane, `height` rows of `luma_stride` bytes (the last may be just `width`).
    pub luma: &'a [u8],
    /// Bytes from one luma row to the next.
    pub luma_stride: usize,
    /// The chroma plane, `height / 2` rows of `width / 2` Cb, Cr pairs.
    pub chroma: &'a [u8],
    /// Bytes from one chroma row to the next.
    pub chroma_stride: usize,
    /// Coded width in pixels, a multiple of 16.
    pub width: u32,
    /// Coded height in pixels, a multiple of 16.
    pub height: u32,
}

impl Nv12Picture<'_> {
    /// Why [`encode_picture`] cannot take this picture (a size not of whole macroblocks, or a
    /// plane shorter than its rows), `None` when it can.
    pub fn problem(&self) -> Option<String> {
        let (w, h) = (self.width as usize, self.height as usize);
        if w == 0 || h == 0 || w % 16 != 0 || h % 16 != 0 {
            return Some(format!(
                "a coded picture of {w}x{h}: both sides must be non-zero multiples of 16"
            ));
        }
        let need = |stride: usize, rows: usize| stride * (rows - 1) + w;
        if self.luma_stride < w || self.luma.len() < need(self.luma_stride, h) {
            return Some(format!(
                "the luma plane has {} bytes with stride {} but {w}x{h} needs a stride ≥ {w} and {} bytes",
                self.luma.len(),
                self.luma_stride,
                need(self.luma_stride.max(w), h)
            ));
        }
        if self.chroma_stride < w || self.chroma.len() < need(self.chroma_stride, h / 2) {
            return Some(format!(
                "the chroma plane has {} bytes with stride {} but {w}x{} of CbCr pairs needs a stride ≥ {w} and {} bytes",
                self.chroma.len(),
                self.chroma_stride,
                h / 2,
                need(self.chroma_stride.max(w), h / 2)
            ));
        }
        None
    }
}

/// `mb_type` of I_PCM in an I slice (Table 7-11); P and B slices number their own types
/// first (5 and 23 of them, Tables 7-13 and 7-14).
const I_PCM: u32 = 25;

/// The `nal_ref_idc` of a picture: 3 for an IDR picture, 2 for another reference picture, 0
/// for a picture no other refers to.
pub fn nal_ref_idc(picture: &native::StdVideoEncodeH264PictureInfo) -> u8 {
    if picture.flags.IdrPicFlag() != 0 {
        3
    } else if picture.flags.is_reference() != 0 {
        2
    } else {
        0
    }
}

/// The slice of `picture`: one Annex-B NAL unit (type 5 for an IDR picture, else 1) holding
/// a slice header from the parameters and every macroblock of `source` as I_PCM. `source`
/// must pass [`Nv12Picture::problem`] (this panics on planes shorter than the size says).
pub fn encode_picture(
    sps: &native::StdVideoH264SequenceParameterSet,
    pps: &native::StdVideoH264PictureParameterSet,
    picture: &native::StdVideoEncodeH264PictureInfo,
    slice: &native::StdVideoEncodeH264SliceHeader,
    source: &Nv12Picture<'_>,
) -> Vec<u8> {
    let ref_idc = nal_ref_idc(picture);
    let mut w = BitWriter::default();
    slice_header(&mut w, sps, pps, picture, slice, ref_idc);
    let mb_type = match slice.slice_type {
        native::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_I => I_PCM,
        native::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_B => 23 + I_PCM,
        _ => 5 + I_PCM,
    };
    let intra = slice.slice_type == native::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_I;
    let (mbs_w, mbs_h) = (source.width as usize / 16, source.height as usize / 16);
    let mut chroma = [0u8; 128];
    for my in 0..mbs_h {
        for mx in 0..mbs_w {
            if !intra {
                w.ue(0); // mb_skip_run
            }
            w.ue(mb_type);
            w.align_with_zeros(); // pcm_alignment_zero_bit
            for y in 0..16 {
                let start = (my * 16 + y) * source.luma_stride + mx * 16;
                w.bytes(&source.luma[start..start + 16]);
            }
            // Cb's 8x8 block, then Cr's, each in raster order.
            for y in 0..8 {
                let row = &source.chroma[(my * 8 + y) * source.chroma_stride + mx * 16..][..16];
                for x in 0..8 {
                    chroma[y * 8 + x] = row[2 * x];
                    chroma[64 + y * 8 + x] = row[2 * x + 1];
                }
            }
            w.bytes(&chroma);
        }
    }
    let nal_type = if picture.flags.IdrPicFlag() != 0 {
        5
    } else {
        1
    };
    // rbsp_slice_trailing_bits: rbsp_trailing_bits (no cabac_zero_words in CAVLC).
    nal_unit(ref_idc, nal_type, &w.finish())
}

/// `slice_header()` (section 7.3.3) of a slice starting at macroblock 0, as CAVLC.
pub fn slice_header(
    w: &mut BitWriter,
    sps: &native::StdVideoH264SequenceParameterSet,
    pps: &native::StdVideoH264PictureParameterSet,
    picture: &native::StdVideoEncodeH264PictureInfo,
    slice: &native::StdVideoEncodeH264SliceHeader,
    nal_ref_idc: u8,
) {
    let (sf, pf) = (&sps.flags, &pps.flags);
    let idr = picture.flags.IdrPicFlag() != 0;
    let slice_type = slice.slice_type;
    let p = slice_type == native::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_P;
    let b = slice_type == native::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_B;
    w.ue(0); // first_mb_in_slice
             // StdVideoH264SliceType's P, B, I are the syntax's 0, 1, 2.
    w.ue(slice_type.min(2));
    w.ue(u32::from(picture.pic_parameter_set_id));
    if sf.separate_colour_plane_flag() != 0 {
        w.u(2, 0); // colour_plane_id
    }
    let frame_num_bits = u32::from(sps.log2_max_frame_num_minus4) + 4;
    w.u(
        frame_num_bits,
        picture.frame_num & ((1 << frame_num_bits) - 1),
    );
    if sf.frame_mbs_only_flag() == 0 {
        w.bit(false); // field_pic_flag: frame pictures
    }
    if idr {
        w.ue(u32::from(picture.idr_pic_id));
    }
    match sps.pic_order_cnt_type {
        0 => {
            let lsb_bits = u32::from(sps.log2_max_pic_order_cnt_lsb_minus4) + 4;
            let lsb = picture.PicOrderCnt.rem_euclid(1 << lsb_bits);
            w.u(lsb_bits, u32::try_from(lsb).unwrap_or(0));
            if pf.bottom_field_pic_order_in_frame_present_flag() != 0 {
                w.se(0); // delta_pic_order_cnt_bottom
            }
        }
        1 if sf.delta_pic_order_always_zero_flag() == 0 => {
            w.se(0); // delta_pic_order_cnt[0]
            if pf.bottom_field_pic_order_in_frame_present_flag() != 0 {
                w.se(0); // delta_pic_order_cnt[1]
            }
        }
        _ => {}
    }
    if pf.redundant_pic_cnt_present_flag() != 0 {
        w.ue(0); // redundant_pic_cnt
    }
    if b {
        w.bit(slice.flags.direct_spatial_mv_pred_flag() != 0);
    }
    // The active reference counts: the override's, else the PPS's defaults.
    let mut active = (
        u32::from(pps.num_ref_idx_l0_default_active_minus1),
        u32::from(pps.num_ref_idx_l1_default_active_minus1),
    );
    if p || b {
        let overridden = slice.flags.num_ref_idx_active_override_flag() != 0;
        w.bit(overridden);
        if overridden {
            if let Some(lists) = ref_lists(picture) {
                active = (
                    u32::from(lists.num_ref_idx_l0_active_minus1),
                    u32::from(lists.num_ref_idx_l1_active_minus1),
                );
            }
            w.ue(active.0);
            if b {
                w.ue(active.1);
            }
        }
        w.bit(false); // ref_pic_list_modification_flag_l0
        if b {
            w.bit(false); // ref_pic_list_modification_flag_l1
        }
    }
    if (pf.weighted_pred_flag() != 0 && p) || (pps.weighted_bipred_idc == 1 && b) {
        // pred_weight_table(): default weights (PCM predicts nothing).
        let chroma = sps.chroma_format_idc != 0 && sf.separate_colour_plane_flag() == 0;
        w.ue(0); // luma_log2_weight_denom
        if chroma {
            w.ue(0); // chroma_log2_weight_denom
        }
        let lists = if b {
            vec![active.0, active.1]
        } else {
            vec![active.0]
        };
        for minus1 in lists {
            for _ in 0..=minus1 {
                w.bit(false); // luma_weight_lX_flag
                if chroma {
                    w.bit(false); // chroma_weight_lX_flag
                }
            }
        }
    }
    if nal_ref_idc != 0 {
        // dec_ref_pic_marking()
        if idr {
            w.bit(picture.flags.no_output_of_prior_pics_flag() != 0);
            w.bit(picture.flags.long_term_reference_flag() != 0);
        } else {
            w.bit(false); // adaptive_ref_pic_marking_mode_flag: the sliding window
        }
    }
    // No cabac_init_idc: the slices are CAVLC whatever the PPS says (the written PPS says 0).
    w.se(i32::from(slice.slice_qp_delta));
    if pf.deblocking_filter_control_present_flag() != 0 {
        // disable_deblocking_filter_idc 1: no filtering, so the PCM samples stay exact
        // whatever the chroma QP offsets (no slice_alpha/beta offsets follow a 1).
        w.ue(1);
    }
}

/// The reference lists `picture.pRefLists` points to, `None` for NULL.
fn ref_lists(
    picture: &native::StdVideoEncodeH264PictureInfo,
) -> Option<&native::StdVideoEncodeH264ReferenceListsInfo> {
    // SAFETY: pRefLists is NULL or points at a StdVideoEncodeH264ReferenceListsInfo the
    // application keeps alive for the vkCmdEncodeVideoKHR call that reads it (Vulkan's valid
    // usage of VkVideoEncodeH264PictureInfoKHR); this borrow does not outlive `picture`.
    unsafe { picture.pRefLists.as_ref() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h264::{no_pps_flags, no_sps_flags, std_pps, std_sps};

    /// Bytes from a string of '0' and '1' (spaces ignored), the last byte padded with zeros.
    fn from_bits(s: &str) -> Vec<u8> {
        let bits: Vec<bool> = s.chars().filter(|c| *c != ' ').map(|c| c == '1').collect();
        bits.chunks(8)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0u8, |acc, (i, &b)| acc | (u8::from(b) << (7 - i)))
            })
            .collect()
    }

    fn picture_info(idr: bool, frame_num: u32, poc: i32) -> native::StdVideoEncodeH264PictureInfo {
        let mut flags = native::StdVideoEncodeH264PictureInfoFlags {
            _bitfield_align_1: [],
            _bitfield_1: native::__BindgenBitfieldUnit::new([0; 4]),
        };
        flags.set_IdrPicFlag(u32::from(idr));
        flags.set_is_reference(1);
        native::StdVideoEncodeH264PictureInfo {
            flags,
            seq_parameter_set_id: 0,
            pic_parameter_set_id: 0,
            idr_pic_id: 0,
            primary_pic_type: if idr {
                native::StdVideoH264PictureType_STD_VIDEO_H264_PICTURE_TYPE_IDR
            } else {
                native::StdVideoH264PictureType_STD_VIDEO_H264_PICTURE_TYPE_P
            },
            frame_num,
            PicOrderCnt: poc,
            temporal_id: 0,
            reserved1: [0; 3],
            pRefLists: std::ptr::null(),
        }
    }

    fn slice_info(slice_type: u32, qp_delta: i8) -> native::StdVideoEncodeH264SliceHeader {
        native::StdVideoEncodeH264SliceHeader {
            flags: native::StdVideoEncodeH264SliceHeaderFlags {
                _bitfield_align_1: [],
                _bitfield_1: native::__BindgenBitfieldUnit::new([0; 4]),
            },
            first_mb_in_slice: 0,
            slice_type,
            slice_alpha_c0_offset_div2: 0,
            slice_beta_offset_div2: 0,
            slice_qp_delta: qp_delta,
            reserved1: 0,
            cabac_init_idc: 0,
            disable_deblocking_filter_idc: 0,
            pWeightTable: std::ptr::null(),
        }
    }

    /// The library's choices: frame_mbs_only, POC type 2, 8 frame_num bits; CABAC and
    /// deblocking control in the PPS.
    fn params() -> (
        native::StdVideoH264SequenceParameterSet,
        native::StdVideoH264PictureParameterSet,
    ) {
        let mut sf = no_sps_flags();
        sf.set_frame_mbs_only_flag(1);
        let sps = native::StdVideoH264SequenceParameterSet {
            log2_max_frame_num_minus4: 4,
            pic_order_cnt_type: 2,
            ..std_sps(sf)
        };
        let mut pf = no_pps_flags();
        pf.set_entropy_coding_mode_flag(1);
        pf.set_deblocking_filter_control_present_flag(1);
        (sps, std_pps(pf))
    }

    const I: u32 = native::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_I;
    const P: u32 = native::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_P;

    #[test]
    fn an_idr_slice_header_has_the_hand_computed_bits() {
        let (sps, pps) = params();
        let mut w = BitWriter::default();
        slice_header(
            &mut w,
            &sps,
            &pps,
            &picture_info(true, 0, 0),
            &slice_info(I, 0),
            3,
        );
        // first_mb ue(0) 1, slice_type ue(2) 011, pps ue(0) 1, frame_num u(8) 00000000,
        // idr_pic_id ue(0) 1, no_output_of_prior_pics 0, long_term 0, slice_qp_delta se(0) 1,
        // disable_deblocking_filter_idc ue(1) 010; then the stop bit.
        assert_eq!(w.finish(), from_bits("1 011 1 00000000 1 0 0 1 010 1"));
    }

    #[test]
    fn a_p_slice_header_has_the_hand_computed_bits() {
        let (mut sps, pps) = params();
        // POC type 0 with 6 lsb bits: PicOrderCnt 70 is written as 70 mod 64 = 6.
        sps.pic_order_cnt_type = 0;
        sps.log2_max_pic_order_cnt_lsb_minus4 = 2;
        let mut slice = slice_info(P, -3);
        slice.flags.set_num_ref_idx_active_override_flag(1);
        let mut w = BitWriter::default();
        // frame_num 257 wraps to 1 in 8 bits.
        slice_header(&mut w, &sps, &pps, &picture_info(false, 257, 70), &slice, 2);
        // 1 | ue(0) 1 | 1 | 00000001 | lsb 000110 | override 1, l0 minus1 ue(0) 1 |
        // modification_l0 0 | adaptive 0 | se(-3) = ue(6) 00111 | ue(1) 010 | stop 1
        assert_eq!(
            w.finish(),
            from_bits("1 1 1 00000001 000110 1 1 0 0 00111 010 1")
        );
    }

    #[test]
    fn a_macroblock_is_the_mb_type_then_the_aligned_samples() {
        let (sps, pps) = params();
        let luma: Vec<u8> = (0..=255).collect();
        // Cb = 1000 + i, Cr = 2000 + i (mod 256), interleaved.
        let chroma: Vec<u8> = (0..64u8)
            .flat_map(|i| [i.wrapping_add(0xe8), i.wrapping_add(0xd0)])
            .collect();
        let source = Nv12Picture {
            luma: &luma,
            luma_stride: 16,
            chroma: &chroma,
            chroma_stride: 16,
            width: 16,
            height: 16,
        };
        assert_eq!(source.problem(), None);
        let au = encode_picture(
            &sps,
            &pps,
            &picture_info(true, 0, 0),
            &slice_info(I, 0),
            &source,
        );
        let mut header = BitWriter::default();
        slice_header(
            &mut header,
            &sps,
            &pps,
            &picture_info(true, 0, 0),
            &slice_info(I, 0),
            3,
        );
        header.ue(25); // 0000 11010
        header.align_with_zeros();
        header.bytes(&luma);
        header.bytes(&chroma.iter().step_by(2).copied().collect::<Vec<_>>());
        header.bytes(
            &chroma
                .iter()
                .skip(1)
                .step_by(2)
                .copied()
                .collect::<Vec<_>>(),
        );
        // Header (20 bits) + mb_type (9 bits) = 29 bits, 3 zero bits to the boundary.
        let rbsp = header.finish();
        assert_eq!(
            rbsp[..4],
            from_bits("1011 1000 0000 0100 1010 0000 1101 0000")[..]
        );
        assert_eq!(rbsp.len(), 4 + 384 + 1);
        // Start code, nal_ref_idc 3 / type 5, then the RBSP with 03 inserted after 00 00.
        assert_eq!(au[..5], [0, 0, 0, 1, 0x65]);
        assert_eq!(au[5..9], rbsp[..4]);
        assert_eq!(
            au[9..13],
            [0, 1, 2, 3],
            "no 00 00 before luma 0: nothing inserted"
        );
        assert_eq!(au.len(), 5 + rbsp.len());

        // A P slice: mb_skip_run ue(0) 1, then mb_type ue(30) 0000 11111.
        let p = encode_picture(
            &sps,
            &pps,
            &picture_info(false, 1, 2),
            &slice_info(P, 0),
            &source,
        );
        assert_eq!(p[4], 0x41, "nal_ref_idc 2, type 1");
        // 1 1 1 00000001 0 0 0 1 010 (18 bits) | 1 | 000011111 | 0000 to the boundary
        assert_eq!(
            p[5..9],
            from_bits("111 00000001 000 1 010 1 000011111 0000")[..]
        );
    }

    #[test]
    fn zero_runs_in_the_samples_get_emulation_prevention() {
        let (sps, pps) = params();
        let luma = vec![0u8; 256];
        let chroma = vec![1u8; 128];
        let source = Nv12Picture {
            luma: &luma,
            luma_stride: 16,
            chroma: &chroma,
            chroma_stride: 16,
            width: 16,
            height: 16,
        };
        let au = encode_picture(
            &sps,
            &pps,
            &picture_info(true, 0, 0),
            &slice_info(I, 0),
            &source,
        );
        // 256 zeros: 00 00 then 03 before every further pair's first zero, and before the
        // first chroma 01.
        let body = &au[9..];
        assert_eq!(body[..6], [0, 0, 3, 0, 0, 3]);
        let inserted = 256 / 2 - 1 + 1;
        assert_eq!(au.len(), 9 + 256 + 128 + 1 + inserted);
        assert_eq!(au[au.len() - 130..au.len() - 128], [3, 1]);
    }

    #[test]
    fn a_short_plane_is_named() {
        let luma = [0u8; 255];
        let chroma = [0u8; 128];
        let source = Nv12Picture {
            luma: &luma,
            luma_stride: 16,
            chroma: &chroma,
            chroma_stride: 16,
            width: 16,
            height: 16,
        };
        assert_eq!(
            source.problem().unwrap(),
            "the luma plane has 255 bytes with stride 16 but 16x16 needs a stride ≥ 16 and 256 bytes"
        );
        let odd = Nv12Picture {
            width: 24,
            ..source
        };
        assert!(odd.problem().unwrap().contains("24x16"));
    }
}
