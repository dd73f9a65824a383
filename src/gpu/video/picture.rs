//! The codec half of one picture's encode: the std structures (H.264, H.265 or AV1) that
//! describe an IDR (key frame) or a P (inter) picture of GhostStream's low-latency plan (one
//! reference, the picture before), boxed so that the pointers between them and the Vulkan
//! structures stay valid while they are recorded.

use ash::vk::native as std_video;

use super::av1::{
    StdVideoEncodeAV1PictureInfo, StdVideoEncodeAV1PictureInfoFlags as Av1Flags,
    StdVideoEncodeAV1ReferenceInfo, STD_VIDEO_AV1_PRIMARY_REF_NONE,
};

/// Where a picture stands in the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PictureOrder {
    /// An IDR picture.
    pub idr: bool,
    /// Pictures since the last IDR (0 for the IDR itself).
    pub since_idr: u32,
    /// The IDR's `idr_pic_id` (H.264).
    pub idr_id: u16,
    /// H.264's `MaxFrameNum`.
    pub max_frame_num: u32,
    /// The DPB slot the reference picture (the one before) is in.
    pub reference_slot: u8,
    /// The parameter set ids: VPS (H.265), SPS, PPS.
    pub ids: (u8, u8, u8),
}

/// `STD_VIDEO_H264_NO_REFERENCE_PICTURE` / `STD_VIDEO_H265_NO_REFERENCE_PICTURE`: an unused
/// reference list entry.
const NO_REFERENCE: u8 = 0xFF;

/// A zeroed std structure.
///
/// # Safety
/// `T` must be a plain C structure (integers, bitfields, arrays and raw pointers) for which all
/// zeros is a valid value.
unsafe fn zeroed<T>() -> T {
    // SAFETY: forwarded from the caller.
    unsafe { std::mem::zeroed() }
}

/// An H.264 picture: its picture info, its one slice, its reference list, and the reference
/// infos of the picture it sets up and of the one it reads.
pub(super) struct H264Picture {
    pub picture: std_video::StdVideoEncodeH264PictureInfo,
    pub slice: std_video::StdVideoEncodeH264SliceHeader,
    lists: std_video::StdVideoEncodeH264ReferenceListsInfo,
    pub setup: std_video::StdVideoEncodeH264ReferenceInfo,
    pub reference: std_video::StdVideoEncodeH264ReferenceInfo,
}

impl H264Picture {
    /// The picture at `order` (POC type 2: twice the pictures since the IDR).
    pub fn new(order: &PictureOrder) -> Box<Self> {
        let n = order.since_idr;
        let poc = |n: u32| i32::try_from(n.saturating_mul(2)).unwrap_or(i32::MAX);
        let kind = |idr| {
            if idr {
                std_video::StdVideoH264PictureType_STD_VIDEO_H264_PICTURE_TYPE_IDR
            } else {
                std_video::StdVideoH264PictureType_STD_VIDEO_H264_PICTURE_TYPE_P
            }
        };
        // SAFETY: plain C structures of the std headers.
        let (mut flags, mut slice_flags, mut lists, ref_flags): (
            std_video::StdVideoEncodeH264PictureInfoFlags,
            std_video::StdVideoEncodeH264SliceHeaderFlags,
            std_video::StdVideoEncodeH264ReferenceListsInfo,
            std_video::StdVideoEncodeH264ReferenceInfoFlags,
        ) = unsafe { (zeroed(), zeroed(), zeroed(), zeroed()) };
        flags.set_IdrPicFlag(u32::from(order.idr));
        flags.set_is_reference(1);
        slice_flags.set_num_ref_idx_active_override_flag(0);
        lists.RefPicList0 = [NO_REFERENCE; 32];
        lists.RefPicList1 = [NO_REFERENCE; 32];
        lists.RefPicList0[0] = order.reference_slot;
        let mut this = Box::new(Self {
            picture: std_video::StdVideoEncodeH264PictureInfo {
                flags,
                seq_parameter_set_id: order.ids.1,
                pic_parameter_set_id: order.ids.2,
                idr_pic_id: order.idr_id,
                primary_pic_type: kind(order.idr),
                frame_num: n % order.max_frame_num,
                PicOrderCnt: poc(n),
                temporal_id: 0,
                reserved1: [0; 3],
                pRefLists: std::ptr::null(),
            },
            slice: std_video::StdVideoEncodeH264SliceHeader {
                flags: slice_flags,
                first_mb_in_slice: 0,
                slice_type: if order.idr {
                    std_video::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_I
                } else {
                    std_video::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_P
                },
                slice_alpha_c0_offset_div2: 0,
                slice_beta_offset_div2: 0,
                slice_qp_delta: 0,
                reserved1: 0,
                cabac_init_idc: std_video::StdVideoH264CabacInitIdc_STD_VIDEO_H264_CABAC_INIT_IDC_0,
                disable_deblocking_filter_idc:
                    std_video::StdVideoH264DisableDeblockingFilterIdc_STD_VIDEO_H264_DISABLE_DEBLOCKING_FILTER_IDC_DISABLED,
                pWeightTable: std::ptr::null(),
            },
            lists,
            setup: std_video::StdVideoEncodeH264ReferenceInfo {
                flags: ref_flags,
                primary_pic_type: kind(order.idr),
                FrameNum: n % order.max_frame_num,
                PicOrderCnt: poc(n),
                long_term_pic_num: 0,
                long_term_frame_idx: 0,
                temporal_id: 0,
            },
            reference: std_video::StdVideoEncodeH264ReferenceInfo {
                flags: ref_flags,
                primary_pic_type: kind(n <= 1),
                FrameNum: n.saturating_sub(1) % order.max_frame_num,
                PicOrderCnt: poc(n.saturating_sub(1)),
                long_term_pic_num: 0,
                long_term_frame_idx: 0,
                temporal_id: 0,
            },
        });
        if !order.idr {
            this.picture.pRefLists = &raw const this.lists;
        }
        this
    }
}

/// An H.265 picture: its picture info, its one slice segment, its reference lists and
/// short-term reference picture set, and the reference infos of the picture it sets up and of
/// the one it reads.
pub(super) struct H265Picture {
    pub picture: std_video::StdVideoEncodeH265PictureInfo,
    pub slice: std_video::StdVideoEncodeH265SliceSegmentHeader,
    lists: std_video::StdVideoEncodeH265ReferenceListsInfo,
    rps: std_video::StdVideoH265ShortTermRefPicSet,
    pub setup: std_video::StdVideoEncodeH265ReferenceInfo,
    pub reference: std_video::StdVideoEncodeH265ReferenceInfo,
}

impl H265Picture {
    /// The picture at `order` (PicOrderCntVal: the pictures since the IDR); a P picture's
    /// short-term set names the one picture before it.
    pub fn new(order: &PictureOrder) -> Box<Self> {
        let n = order.since_idr;
        let poc = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        let kind = |idr| {
            if idr {
                std_video::StdVideoH265PictureType_STD_VIDEO_H265_PICTURE_TYPE_IDR
            } else {
                std_video::StdVideoH265PictureType_STD_VIDEO_H265_PICTURE_TYPE_P
            }
        };
        // SAFETY: plain C structures of the std headers.
        let (mut flags, mut slice_flags, mut lists, mut rps, ref_flags): (
            std_video::StdVideoEncodeH265PictureInfoFlags,
            std_video::StdVideoEncodeH265SliceSegmentHeaderFlags,
            std_video::StdVideoEncodeH265ReferenceListsInfo,
            std_video::StdVideoH265ShortTermRefPicSet,
            std_video::StdVideoEncodeH265ReferenceInfoFlags,
        ) = unsafe { (zeroed(), zeroed(), zeroed(), zeroed(), zeroed()) };
        flags.set_is_reference(1);
        flags.set_IrapPicFlag(u32::from(order.idr));
        flags.set_pic_output_flag(1);
        slice_flags.set_first_slice_segment_in_pic_flag(1);
        slice_flags.set_slice_loop_filter_across_slices_enabled_flag(1);
        lists.RefPicList0 = [NO_REFERENCE; 15];
        lists.RefPicList1 = [NO_REFERENCE; 15];
        lists.RefPicList0[0] = order.reference_slot;
        // One picture before this one (delta POC -1), used by this picture.
        rps.num_negative_pics = 1;
        rps.delta_poc_s0_minus1[0] = 0;
        rps.used_by_curr_pic_s0_flag = 1;
        let mut this = Box::new(Self {
            picture: std_video::StdVideoEncodeH265PictureInfo {
                flags,
                pic_type: kind(order.idr),
                sps_video_parameter_set_id: order.ids.0,
                pps_seq_parameter_set_id: order.ids.1,
                pps_pic_parameter_set_id: order.ids.2,
                short_term_ref_pic_set_idx: 0,
                PicOrderCntVal: poc(n),
                TemporalId: 0,
                reserved1: [0; 7],
                pRefLists: std::ptr::null(),
                pShortTermRefPicSet: std::ptr::null(),
                pLongTermRefPics: std::ptr::null(),
            },
            slice: std_video::StdVideoEncodeH265SliceSegmentHeader {
                flags: slice_flags,
                slice_type: if order.idr {
                    std_video::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_I
                } else {
                    std_video::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_P
                },
                slice_segment_address: 0,
                collocated_ref_idx: 0,
                MaxNumMergeCand: 5,
                slice_cb_qp_offset: 0,
                slice_cr_qp_offset: 0,
                slice_beta_offset_div2: 0,
                slice_tc_offset_div2: 0,
                slice_act_y_qp_offset: 0,
                slice_act_cb_qp_offset: 0,
                slice_act_cr_qp_offset: 0,
                slice_qp_delta: 0,
                reserved1: 0,
                pWeightTable: std::ptr::null(),
            },
            lists,
            rps,
            setup: std_video::StdVideoEncodeH265ReferenceInfo {
                flags: ref_flags,
                pic_type: kind(order.idr),
                PicOrderCntVal: poc(n),
                TemporalId: 0,
            },
            reference: std_video::StdVideoEncodeH265ReferenceInfo {
                flags: ref_flags,
                pic_type: kind(n <= 1),
                PicOrderCntVal: poc(n.saturating_sub(1)),
                TemporalId: 0,
            },
        });
        if !order.idr {
            this.picture.pRefLists = &raw const this.lists;
            this.picture.pShortTermRefPicSet = &raw const this.rps;
        }
        this
    }
}

/// An AV1 frame: its picture info and quantizer, and the reference infos of the frame it sets
/// up and of the one it reads.
///
/// The reference plan: a key frame refreshes all eight reference frame slots; every inter
/// frame refreshes slot 0 and names it for all seven references, so slot 0 always holds the
/// frame before (the one in the DPB slot `reference_slot`) and LAST is the one reference used.
pub(super) struct Av1Picture {
    pub picture: StdVideoEncodeAV1PictureInfo,
    quantization: std_video::StdVideoAV1Quantization,
    /// Loop filter parameters (required by the std structure: levels 0, the specification's
    /// default reference deltas).
    loop_filter: std_video::StdVideoAV1LoopFilter,
    /// Global motion (required too): identity for every reference.
    global_motion: std_video::StdVideoAV1GlobalMotion,
    pub setup: StdVideoEncodeAV1ReferenceInfo,
    pub reference: StdVideoEncodeAV1ReferenceInfo,
}

impl Av1Picture {
    /// The frame at `order` (order hint: the frames since the key frame, modulo 2^8), coded at
    /// `q_index`, `size` being the frame's (and the render) size.
    pub fn new(order: &PictureOrder, q_index: u8, size: (u32, u32)) -> Box<Self> {
        let hint = |n: u32| u8::try_from(n % 256).unwrap_or(0);
        let n = order.since_idr;
        let (key, inter) = (
            std_video::StdVideoAV1FrameType_STD_VIDEO_AV1_FRAME_TYPE_KEY,
            std_video::StdVideoAV1FrameType_STD_VIDEO_AV1_FRAME_TYPE_INTER,
        );
        // A shown key frame is error resilient by definition (its header does not code it);
        // showable_frame is inferred as "not a key frame" for shown frames.
        let flags = if order.idr {
            Av1Flags::SHOW_FRAME | Av1Flags::ERROR_RESILIENT_MODE
        } else {
            Av1Flags::SHOW_FRAME | Av1Flags::SHOWABLE_FRAME
        };
        // SAFETY: a plain C structure of the std header.
        let mut quantization: std_video::StdVideoAV1Quantization = unsafe { zeroed() };
        // SAFETY: plain C structures of the std header.
        let (mut loop_filter, mut global_motion): (
            std_video::StdVideoAV1LoopFilter,
            std_video::StdVideoAV1GlobalMotion,
        ) = unsafe { (zeroed(), zeroed()) };
        // AV1 7.20's defaults: INTRA 1, LAST 0, LAST2 0, LAST3 0, GOLDEN -1, BWDREF 0, ALTREF2 -1,
        // ALTREF -1.
        loop_filter.loop_filter_ref_deltas = [1, 0, 0, 0, -1, 0, -1, -1];
        // IDENTITY (GmType 0) with the default parameters (1.0 on the diagonal, 16 fraction bits).
        global_motion.gm_params = [[0, 0, 1 << 16, 0, 0, 1 << 16]; 8];
        quantization.base_q_idx = q_index;
        // Slot 0 holds the frame before; the other seven the key frame (order hint 0).
        let mut ref_order_hint = [0u8; 8];
        ref_order_hint[0] = hint(n.saturating_sub(1));
        let reference_info = |frame_type, order_hint| StdVideoEncodeAV1ReferenceInfo {
            frame_type,
            OrderHint: order_hint,
            ..Default::default()
        };
        let mut this = Box::new(Self {
            picture: StdVideoEncodeAV1PictureInfo {
                flags,
                frame_type: if order.idr { key } else { inter },
                order_hint: hint(n),
                primary_ref_frame: if order.idr {
                    STD_VIDEO_AV1_PRIMARY_REF_NONE
                } else {
                    // LAST's probabilities carry over.
                    0
                },
                refresh_frame_flags: if order.idr { 0xFF } else { 0x01 },
                render_width_minus_1: u16::try_from(size.0.saturating_sub(1)).unwrap_or(u16::MAX),
                render_height_minus_1: u16::try_from(size.1.saturating_sub(1))
                    .unwrap_or(u16::MAX),
                interpolation_filter:
                    std_video::StdVideoAV1InterpolationFilter_STD_VIDEO_AV1_INTERPOLATION_FILTER_EIGHTTAP,
                TxMode: std_video::StdVideoAV1TxMode_STD_VIDEO_AV1_TX_MODE_SELECT,
                ref_order_hint,
                ref_frame_idx: [0; 7],
                ..Default::default()
            },
            quantization,
            loop_filter,
            global_motion,
            setup: reference_info(if order.idr { key } else { inter }, hint(n)),
            reference: reference_info(if n <= 1 { key } else { inter }, hint(n.saturating_sub(1))),
        });
        this.picture.pQuantization = &raw const this.quantization;
        this.picture.pLoopFilter = &raw const this.loop_filter;
        this.picture.pGlobalMotion = &raw const this.global_motion;
        this
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(idr: bool, since_idr: u32) -> PictureOrder {
        PictureOrder {
            idr,
            since_idr,
            idr_id: 3,
            max_frame_num: 256,
            reference_slot: 1,
            ids: (0, 0, 0),
        }
    }

    #[test]
    fn an_h264_p_picture_reads_the_slot_before_and_counts_past_the_frame_num_wrap() {
        let p = H264Picture::new(&order(false, 257));
        assert_eq!((p.picture.frame_num, p.picture.PicOrderCnt), (1, 514));
        assert_eq!((p.reference.FrameNum, p.reference.PicOrderCnt), (0, 512));
        // SAFETY: set by `new` to the box's own list, alive as long as `p`.
        let lists = unsafe { &*p.picture.pRefLists };
        assert_eq!(&lists.RefPicList0[..2], &[1, NO_REFERENCE]);
        let idr = H264Picture::new(&order(true, 0));
        assert!(idr.picture.pRefLists.is_null());
        assert_eq!(
            (idr.picture.flags.IdrPicFlag(), idr.picture.idr_pic_id),
            (1, 3)
        );
    }

    #[test]
    fn an_h265_p_picture_names_the_picture_before_in_its_short_term_set() {
        let p = H265Picture::new(&order(false, 300));
        assert_eq!(p.picture.PicOrderCntVal, 300);
        assert_eq!(p.reference.PicOrderCntVal, 299);
        // SAFETY: set by `new` to the box's own set and lists, alive as long as `p`.
        let (rps, lists) = unsafe { (&*p.picture.pShortTermRefPicSet, &*p.picture.pRefLists) };
        assert_eq!((rps.num_negative_pics, rps.num_positive_pics), (1, 0));
        assert_eq!(
            (rps.delta_poc_s0_minus1[0], rps.used_by_curr_pic_s0_flag),
            (0, 1)
        );
        assert_eq!(lists.RefPicList0[0], 1);
        let idr = H265Picture::new(&order(true, 0));
        assert!(idr.picture.pRefLists.is_null() && idr.picture.pShortTermRefPicSet.is_null());
        assert_eq!(idr.picture.flags.IrapPicFlag(), 1);
    }

    #[test]
    fn an_av1_inter_frame_refreshes_and_reads_slot_0_and_wraps_its_order_hint() {
        let p = Av1Picture::new(&order(false, 257), 120, (1920, 1080));
        assert_eq!(
            p.picture.frame_type,
            std_video::StdVideoAV1FrameType_STD_VIDEO_AV1_FRAME_TYPE_INTER
        );
        assert_eq!(
            (p.picture.order_hint, p.picture.refresh_frame_flags),
            (1, 0x01)
        );
        assert_eq!(p.picture.ref_frame_idx, [0; 7]);
        assert_eq!(p.picture.ref_order_hint[..2], [0, 0]);
        assert_eq!((p.setup.OrderHint, p.reference.OrderHint), (1, 0));
        assert_eq!(
            (
                p.picture.render_width_minus_1,
                p.picture.render_height_minus_1
            ),
            (1919, 1079)
        );
        assert_eq!(p.picture.primary_ref_frame, 0);
        // SAFETY: set by `new` to the box's own quantization, alive as long as `p`.
        assert_eq!(unsafe { (*p.picture.pQuantization).base_q_idx }, 120);
        // The std structure's required pointers are set: no deblocking, identity motion.
        // SAFETY: as above.
        let (lf, gm) = unsafe { (&*p.picture.pLoopFilter, &*p.picture.pGlobalMotion) };
        assert_eq!(
            (lf.loop_filter_level, lf.loop_filter_ref_deltas[4]),
            ([0; 4], -1)
        );
        assert_eq!((gm.GmType, gm.gm_params[1][2]), ([0; 8], 1 << 16));
        let key = Av1Picture::new(&order(true, 0), 120, (64, 64));
        assert_eq!(
            key.picture.frame_type,
            std_video::StdVideoAV1FrameType_STD_VIDEO_AV1_FRAME_TYPE_KEY
        );
        assert_eq!(key.picture.refresh_frame_flags, 0xFF);
        assert_eq!(
            key.picture.primary_ref_frame,
            STD_VIDEO_AV1_PRIMARY_REF_NONE
        );
        assert!(key
            .picture
            .flags
            .contains(Av1Flags::ERROR_RESILIENT_MODE | Av1Flags::SHOW_FRAME));
    }
}
