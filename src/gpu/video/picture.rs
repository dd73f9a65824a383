//! The codec half of one picture's encode: the std structures (H.264, H.265 or AV1) that
//! describe an IDR (key frame) or a P (inter) picture of GhostStream's low-latency plan (one
//! reference, the picture before), boxed so that the pointers between them and the Vulkan
//! structures stay valid while they are recorded.

use ash::vk::native as std_video;

use super::av1::{
    StdVideoEncodeAV1PictureInfo, StdVideoEncodeAV1PictureInfoFlags as Av1Flags,
    StdVideoEncodeAV1ReferenceInfo, STD_VIDEO_AV1_PRIMARY_REF_NONE,
};

/// What a picture is in the coding plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PictureKind {
    /// An IDR picture (an AV1 key frame): no references, every earlier one dropped.
    Idr,
    /// A P picture: reads the reference picture before it; a reference itself.
    P,
    /// A B picture: reads the reference picture before it and the one after it in display
    /// order (coded before it); not a reference.
    B,
}

/// A coded reference picture in a DPB slot, as later pictures name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ReferencePicture {
    /// The DPB slot holding it.
    pub slot: u8,
    /// Its display position since its IDR.
    pub display: u32,
    /// Its H.264 `frame_num` (wrapped).
    pub frame_num: u32,
    /// It is the IDR picture (else a P picture).
    pub idr: bool,
}

/// Where a picture stands in the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PictureOrder {
    /// IDR, P or B.
    pub kind: PictureKind,
    /// Display position since the last IDR (0 for the IDR itself): H.264's POC is twice it,
    /// H.265's POC and AV1's order hint are it.
    pub display: u32,
    /// H.264's `frame_num` (wrapped at `MaxFrameNum`): one more than the last reference
    /// picture's in coding order.
    pub frame_num: u32,
    /// The IDR's `idr_pic_id` (H.264).
    pub idr_id: u16,
    /// The reference before it (P and B pictures).
    pub before: Option<ReferencePicture>,
    /// The reference after it in display order (B pictures).
    pub after: Option<ReferencePicture>,
    /// The parameter set ids: VPS (H.265), SPS, PPS.
    pub ids: (u8, u8, u8),
    /// The DPB slot its reconstruction is set up in (0 or 1 for reference pictures).
    pub slot: u8,
    /// Shown when decoded (false only for an AV1 frame coded ahead of the B pictures before
    /// it, shown later with `show_existing_frame`).
    pub shown: bool,
    /// The display positions of the reference pictures DPB slots 0 and 1 hold before this
    /// picture is coded (`None`: the slot holds none, or still the key frame).
    pub held: [Option<u32>; 2],
}

impl PictureOrder {
    /// The references read, in the order of the encode's reference slots: the one before, then
    /// the one after.
    pub fn references(&self) -> impl Iterator<Item = ReferencePicture> {
        self.before.into_iter().chain(self.after)
    }

    /// Whether later pictures may read this one.
    pub fn is_reference(&self) -> bool {
        self.kind != PictureKind::B
    }
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

/// H.264's picture order count of display position `display` (twice it, POC type 2's and the
/// plan's POC type 0 values alike).
fn h264_poc(display: u32) -> i32 {
    i32::try_from(display.saturating_mul(2)).unwrap_or(i32::MAX)
}

/// An H.264 picture: its picture info, its one slice, its reference lists, and the reference
/// infos of the picture it sets up and of those it reads (before, after).
pub(super) struct H264Picture {
    pub picture: std_video::StdVideoEncodeH264PictureInfo,
    pub slice: std_video::StdVideoEncodeH264SliceHeader,
    lists: std_video::StdVideoEncodeH264ReferenceListsInfo,
    pub setup: std_video::StdVideoEncodeH264ReferenceInfo,
    pub references: Vec<std_video::StdVideoEncodeH264ReferenceInfo>,
}

impl H264Picture {
    /// The picture at `order` (POC twice its display position).
    pub fn new(order: &PictureOrder) -> Box<Self> {
        let kind = |kind| match kind {
            PictureKind::Idr => std_video::StdVideoH264PictureType_STD_VIDEO_H264_PICTURE_TYPE_IDR,
            PictureKind::P => std_video::StdVideoH264PictureType_STD_VIDEO_H264_PICTURE_TYPE_P,
            PictureKind::B => std_video::StdVideoH264PictureType_STD_VIDEO_H264_PICTURE_TYPE_B,
        };
        let idr = order.kind == PictureKind::Idr;
        // SAFETY: plain C structures of the std headers.
        let (mut flags, mut slice_flags, mut lists, ref_flags): (
            std_video::StdVideoEncodeH264PictureInfoFlags,
            std_video::StdVideoEncodeH264SliceHeaderFlags,
            std_video::StdVideoEncodeH264ReferenceListsInfo,
            std_video::StdVideoEncodeH264ReferenceInfoFlags,
        ) = unsafe { (zeroed(), zeroed(), zeroed(), zeroed()) };
        flags.set_IdrPicFlag(u32::from(idr));
        flags.set_is_reference(u32::from(order.is_reference()));
        slice_flags.set_num_ref_idx_active_override_flag(0);
        // Spatial direct prediction, the usual choice (PCM-like drivers ignore it).
        slice_flags.set_direct_spatial_mv_pred_flag(u32::from(order.kind == PictureKind::B));
        lists.RefPicList0 = [NO_REFERENCE; 32];
        lists.RefPicList1 = [NO_REFERENCE; 32];
        if let Some(r) = order.before {
            lists.RefPicList0[0] = r.slot;
        }
        if let Some(r) = order.after {
            lists.RefPicList1[0] = r.slot;
        }
        let reference_info = |r: ReferencePicture| std_video::StdVideoEncodeH264ReferenceInfo {
            flags: ref_flags,
            primary_pic_type: kind(if r.idr {
                PictureKind::Idr
            } else {
                PictureKind::P
            }),
            FrameNum: r.frame_num,
            PicOrderCnt: h264_poc(r.display),
            long_term_pic_num: 0,
            long_term_frame_idx: 0,
            temporal_id: 0,
        };
        let mut this = Box::new(Self {
            picture: std_video::StdVideoEncodeH264PictureInfo {
                flags,
                seq_parameter_set_id: order.ids.1,
                pic_parameter_set_id: order.ids.2,
                idr_pic_id: order.idr_id,
                primary_pic_type: kind(order.kind),
                frame_num: order.frame_num,
                PicOrderCnt: h264_poc(order.display),
                temporal_id: 0,
                reserved1: [0; 3],
                pRefLists: std::ptr::null(),
            },
            slice: std_video::StdVideoEncodeH264SliceHeader {
                flags: slice_flags,
                first_mb_in_slice: 0,
                slice_type: match order.kind {
                    PictureKind::Idr => std_video::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_I,
                    PictureKind::P => std_video::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_P,
                    PictureKind::B => std_video::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_B,
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
                primary_pic_type: kind(order.kind),
                FrameNum: order.frame_num,
                PicOrderCnt: h264_poc(order.display),
                long_term_pic_num: 0,
                long_term_frame_idx: 0,
                temporal_id: 0,
            },
            references: order.references().map(reference_info).collect(),
        });
        if !idr {
            this.picture.pRefLists = &raw const this.lists;
        }
        this
    }
}

/// A display position as a signed count (POC, POC deltas).
fn signed(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// An H.265 picture: its picture info, its one slice segment, its reference lists and
/// short-term reference picture set, and the reference infos of the picture it sets up and of
/// those it reads (before, after).
pub(super) struct H265Picture {
    pub picture: std_video::StdVideoEncodeH265PictureInfo,
    pub slice: std_video::StdVideoEncodeH265SliceSegmentHeader,
    lists: std_video::StdVideoEncodeH265ReferenceListsInfo,
    rps: std_video::StdVideoH265ShortTermRefPicSet,
    pub setup: std_video::StdVideoEncodeH265ReferenceInfo,
    pub references: Vec<std_video::StdVideoEncodeH265ReferenceInfo>,
}

impl H265Picture {
    /// The picture at `order` (PicOrderCntVal: its display position since the IDR); its
    /// short-term set names exactly the pictures it reads (the one before; and the one after
    /// for a B picture), so every other picture leaves the DPB.
    pub fn new(order: &PictureOrder) -> Box<Self> {
        let kind = |kind| match kind {
            PictureKind::Idr => std_video::StdVideoH265PictureType_STD_VIDEO_H265_PICTURE_TYPE_IDR,
            PictureKind::P => std_video::StdVideoH265PictureType_STD_VIDEO_H265_PICTURE_TYPE_P,
            PictureKind::B => std_video::StdVideoH265PictureType_STD_VIDEO_H265_PICTURE_TYPE_B,
        };
        let idr = order.kind == PictureKind::Idr;
        // SAFETY: plain C structures of the std headers.
        let (mut flags, mut slice_flags, mut lists, mut rps, ref_flags): (
            std_video::StdVideoEncodeH265PictureInfoFlags,
            std_video::StdVideoEncodeH265SliceSegmentHeaderFlags,
            std_video::StdVideoEncodeH265ReferenceListsInfo,
            std_video::StdVideoH265ShortTermRefPicSet,
            std_video::StdVideoEncodeH265ReferenceInfoFlags,
        ) = unsafe { (zeroed(), zeroed(), zeroed(), zeroed(), zeroed()) };
        flags.set_is_reference(u32::from(order.is_reference()));
        flags.set_IrapPicFlag(u32::from(idr));
        flags.set_pic_output_flag(1);
        slice_flags.set_first_slice_segment_in_pic_flag(1);
        slice_flags.set_slice_loop_filter_across_slices_enabled_flag(1);
        lists.RefPicList0 = [NO_REFERENCE; 15];
        lists.RefPicList1 = [NO_REFERENCE; 15];
        if let Some(r) = order.before {
            lists.RefPicList0[0] = r.slot;
            // The picture before, used by this one.
            rps.num_negative_pics = 1;
            rps.delta_poc_s0_minus1[0] =
                u16::try_from(order.display.saturating_sub(r.display).max(1) - 1).unwrap_or(0);
            rps.used_by_curr_pic_s0_flag = 1;
        }
        if let Some(r) = order.after {
            lists.RefPicList1[0] = r.slot;
            // The picture after (coded before this one), used by this one.
            rps.num_positive_pics = 1;
            rps.delta_poc_s1_minus1[0] =
                u16::try_from(r.display.saturating_sub(order.display).max(1) - 1).unwrap_or(0);
            rps.used_by_curr_pic_s1_flag = 1;
        }
        let reference_info = |r: ReferencePicture| std_video::StdVideoEncodeH265ReferenceInfo {
            flags: ref_flags,
            pic_type: kind(if r.idr {
                PictureKind::Idr
            } else {
                PictureKind::P
            }),
            PicOrderCntVal: signed(r.display),
            TemporalId: 0,
        };
        let mut this = Box::new(Self {
            picture: std_video::StdVideoEncodeH265PictureInfo {
                flags,
                pic_type: kind(order.kind),
                sps_video_parameter_set_id: order.ids.0,
                pps_seq_parameter_set_id: order.ids.1,
                pps_pic_parameter_set_id: order.ids.2,
                short_term_ref_pic_set_idx: 0,
                PicOrderCntVal: signed(order.display),
                TemporalId: 0,
                reserved1: [0; 7],
                pRefLists: std::ptr::null(),
                pShortTermRefPicSet: std::ptr::null(),
                pLongTermRefPics: std::ptr::null(),
            },
            slice: std_video::StdVideoEncodeH265SliceSegmentHeader {
                flags: slice_flags,
                slice_type: match order.kind {
                    PictureKind::Idr => {
                        std_video::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_I
                    }
                    PictureKind::P => std_video::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_P,
                    PictureKind::B => std_video::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_B,
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
                pic_type: kind(order.kind),
                PicOrderCntVal: signed(order.display),
                TemporalId: 0,
            },
            references: order.references().map(reference_info).collect(),
        });
        if !idr {
            this.picture.pRefLists = &raw const this.lists;
            this.picture.pShortTermRefPicSet = &raw const this.rps;
        }
        this
    }
}

/// An AV1 frame: its picture info and quantizer, and the reference infos of the frame it sets
/// up and of the one it reads.
///
/// The reference plan: a key frame refreshes all eight reference frame slots; a P (inter)
/// frame refreshes the frame slot of its own DPB slot (0 or 1) and names the slot of the frame
/// before (LAST, the one reference a P frame uses) for all seven references; a B frame
/// refreshes none and names the frame before for LAST..GOLDEN and the frame after for
/// BWDREF..ALTREF (it predicts from LAST and ALTREF).
pub(super) struct Av1Picture {
    pub picture: StdVideoEncodeAV1PictureInfo,
    quantization: std_video::StdVideoAV1Quantization,
    /// Loop filter parameters (required by the std structure: levels 0, the specification's
    /// default reference deltas).
    loop_filter: std_video::StdVideoAV1LoopFilter,
    /// Global motion (required too): identity for every reference.
    global_motion: std_video::StdVideoAV1GlobalMotion,
    pub setup: StdVideoEncodeAV1ReferenceInfo,
    pub references: Vec<StdVideoEncodeAV1ReferenceInfo>,
}

impl Av1Picture {
    /// The frame at `order` (order hint: the frames since the key frame, modulo 2^8), coded at
    /// `q_index`, `size` being the frame's (and the render) size: a key frame, an inter frame
    /// predicting from the frame before (LAST), or, for `PictureKind::B`, a frame of
    /// bidirectional compound prediction between the frame before (LAST) and the one after
    /// (ALTREF, coded earlier, hidden until shown with `show_existing_frame`).
    ///
    /// The eight reference frames of the AV1 decoder follow the DPB: a reference frame is
    /// stored in the frame slot of the same index as its DPB slot (0 or 1), a key frame in all
    /// eight; B frames store none.
    pub fn new(order: &PictureOrder, q_index: u8, size: (u32, u32)) -> Box<Self> {
        let hint = |n: u32| u8::try_from(n % 256).unwrap_or(0);
        let n = order.display;
        let key_frame = order.kind == PictureKind::Idr;
        let (key, inter) = (
            std_video::StdVideoAV1FrameType_STD_VIDEO_AV1_FRAME_TYPE_KEY,
            std_video::StdVideoAV1FrameType_STD_VIDEO_AV1_FRAME_TYPE_INTER,
        );
        // A shown key frame is error resilient by definition (its header does not code it);
        // showable_frame is inferred as "not a key frame" for shown frames, and must be set
        // on a hidden frame shown later.
        let flags = if key_frame {
            Av1Flags::SHOW_FRAME | Av1Flags::ERROR_RESILIENT_MODE
        } else if order.shown {
            Av1Flags::SHOW_FRAME | Av1Flags::SHOWABLE_FRAME
        } else {
            Av1Flags::SHOWABLE_FRAME
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
        // Frame slots 0 and 1 hold what DPB slots 0 and 1 hold; the other six the key frame
        // (order hint 0).
        let mut ref_order_hint = [0u8; 8];
        ref_order_hint[0] = hint(order.held[0].unwrap_or(0));
        ref_order_hint[1] = hint(order.held[1].unwrap_or(0));
        // LAST, LAST2, LAST3 and GOLDEN name the frame before; BWDREF, ALTREF2 and ALTREF the
        // frame after where there is one (a B frame), else the frame before too.
        let before = order.before.map_or(0, |r| r.slot);
        let after = order.after.map_or(before, |r| r.slot);
        let ref_frame_idx = [before, before, before, before, after, after, after]
            .map(|slot| i8::try_from(slot).unwrap_or(0));
        let reference_info = |frame_type, order_hint| StdVideoEncodeAV1ReferenceInfo {
            frame_type,
            OrderHint: order_hint,
            ..Default::default()
        };
        let mut this = Box::new(Self {
            picture: StdVideoEncodeAV1PictureInfo {
                flags,
                frame_type: if key_frame { key } else { inter },
                order_hint: hint(n),
                primary_ref_frame: if key_frame {
                    STD_VIDEO_AV1_PRIMARY_REF_NONE
                } else {
                    // LAST's probabilities carry over.
                    0
                },
                refresh_frame_flags: match order.kind {
                    PictureKind::Idr => 0xFF,
                    PictureKind::P => 1 << (order.slot & 7),
                    PictureKind::B => 0,
                },
                render_width_minus_1: u16::try_from(size.0.saturating_sub(1)).unwrap_or(u16::MAX),
                render_height_minus_1: u16::try_from(size.1.saturating_sub(1))
                    .unwrap_or(u16::MAX),
                interpolation_filter:
                    std_video::StdVideoAV1InterpolationFilter_STD_VIDEO_AV1_INTERPOLATION_FILTER_EIGHTTAP,
                TxMode: std_video::StdVideoAV1TxMode_STD_VIDEO_AV1_TX_MODE_SELECT,
                ref_order_hint,
                ref_frame_idx,
                ..Default::default()
            },
            quantization,
            loop_filter,
            global_motion,
            setup: reference_info(if key_frame { key } else { inter }, hint(n)),
            references: order
                .references()
                .map(|r| reference_info(if r.idr { key } else { inter }, hint(r.display)))
                .collect(),
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

    /// A picture at display position `display`: an IDR at 0, else a P picture reading the one
    /// before it in slot 1 (frame_num wrapped at 256).
    fn order(idr: bool, display: u32) -> PictureOrder {
        let before = ReferencePicture {
            slot: 1,
            display: display.saturating_sub(1),
            frame_num: display.saturating_sub(1) % 256,
            idr: display <= 1,
        };
        PictureOrder {
            kind: if idr {
                PictureKind::Idr
            } else {
                PictureKind::P
            },
            display,
            frame_num: if idr { 0 } else { display % 256 },
            idr_id: 3,
            before: (!idr).then_some(before),
            after: None,
            ids: (0, 0, 0),
            slot: 0,
            shown: true,
            held: [None, (!idr).then_some(display.saturating_sub(1))],
        }
    }

    /// B picture at display 5 between the P picture at 3 (slot 0) and the one at 6 (slot 1,
    /// frame_num 2), coded after it.
    fn b_order() -> PictureOrder {
        let anchor = |slot, display, frame_num| ReferencePicture {
            slot,
            display,
            frame_num,
            idr: false,
        };
        PictureOrder {
            kind: PictureKind::B,
            display: 5,
            frame_num: 3,
            idr_id: 0,
            before: Some(anchor(0, 3, 1)),
            after: Some(anchor(1, 6, 2)),
            ids: (0, 0, 0),
            slot: 2,
            shown: true,
            held: [Some(3), Some(6)],
        }
    }

    #[test]
    fn an_h264_p_picture_reads_the_slot_before_and_counts_past_the_frame_num_wrap() {
        let p = H264Picture::new(&order(false, 257));
        assert_eq!((p.picture.frame_num, p.picture.PicOrderCnt), (1, 514));
        assert_eq!(
            (p.references[0].FrameNum, p.references[0].PicOrderCnt),
            (0, 512)
        );
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
        assert_eq!(p.references[0].PicOrderCntVal, 299);
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
    fn an_av1_inter_frame_refreshes_its_own_slot_reads_the_one_before_and_wraps_its_order_hint() {
        let p = Av1Picture::new(&order(false, 257), 120, (1920, 1080));
        assert_eq!(
            p.picture.frame_type,
            std_video::StdVideoAV1FrameType_STD_VIDEO_AV1_FRAME_TYPE_INTER
        );
        assert_eq!(
            (p.picture.order_hint, p.picture.refresh_frame_flags),
            (1, 0x01)
        );
        // Every name reads frame slot 1, where the frame before (DPB slot 1) is.
        assert_eq!(p.picture.ref_frame_idx, [1; 7]);
        assert_eq!(p.picture.ref_order_hint[..2], [0, 0]);
        assert_eq!((p.setup.OrderHint, p.references[0].OrderHint), (1, 0));
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

    #[test]
    fn an_h264_b_picture_reads_one_picture_each_side_and_is_no_reference() {
        let b = H264Picture::new(&b_order());
        assert_eq!(
            b.slice.slice_type,
            std_video::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_B
        );
        assert_eq!(
            (
                b.picture.frame_num,
                b.picture.PicOrderCnt,
                b.picture.flags.is_reference()
            ),
            (3, 10, 0)
        );
        assert_eq!(b.slice.flags.direct_spatial_mv_pred_flag(), 1);
        // SAFETY: set by `new` to the box's own lists, alive as long as `b`.
        let lists = unsafe { &*b.picture.pRefLists };
        assert_eq!((lists.RefPicList0[0], lists.RefPicList1[0]), (0, 1));
        assert_eq!(
            (lists.RefPicList0[1], lists.RefPicList1[1]),
            (NO_REFERENCE, NO_REFERENCE)
        );
        let refs: Vec<_> = b
            .references
            .iter()
            .map(|r| (r.FrameNum, r.PicOrderCnt))
            .collect();
        assert_eq!(refs, [(1, 6), (2, 12)]);
    }

    #[test]
    fn an_h265_b_pictures_short_term_set_keeps_exactly_its_two_references() {
        let b = H265Picture::new(&b_order());
        // SAFETY: set by `new` to the box's own set and lists, alive as long as `b`.
        let (rps, lists) = unsafe { (&*b.picture.pShortTermRefPicSet, &*b.picture.pRefLists) };
        // POC 5 reads POC 3 (delta -2) and POC 6 (delta +1).
        assert_eq!((rps.num_negative_pics, rps.num_positive_pics), (1, 1));
        assert_eq!(
            (rps.delta_poc_s0_minus1[0], rps.delta_poc_s1_minus1[0]),
            (1, 0)
        );
        assert_eq!(
            (rps.used_by_curr_pic_s0_flag, rps.used_by_curr_pic_s1_flag),
            (1, 1)
        );
        assert_eq!((lists.RefPicList0[0], lists.RefPicList1[0]), (0, 1));
        assert_eq!(
            (b.picture.pic_type, b.picture.flags.is_reference()),
            (
                std_video::StdVideoH265PictureType_STD_VIDEO_H265_PICTURE_TYPE_B,
                0
            )
        );
        let pocs: Vec<_> = b.references.iter().map(|r| r.PicOrderCntVal).collect();
        assert_eq!(pocs, [3, 6]);
    }

    #[test]
    fn an_av1_b_frame_reads_last_and_altref_and_a_hidden_anchor_stays_showable() {
        let b = Av1Picture::new(&b_order(), 100, (640, 360));
        // LAST..GOLDEN read frame slot 0 (the frame at 3), BWDREF..ALTREF slot 1 (at 6).
        assert_eq!(b.picture.ref_frame_idx, [0, 0, 0, 0, 1, 1, 1]);
        assert_eq!(b.picture.ref_order_hint[..3], [3, 6, 0]);
        assert_eq!(
            b.picture.refresh_frame_flags, 0,
            "a B frame is no reference"
        );
        assert_eq!(
            b.references.iter().map(|r| r.OrderHint).collect::<Vec<_>>(),
            [3, 6]
        );
        assert!(b.picture.flags.contains(Av1Flags::SHOW_FRAME));
        let mut anchor = order(false, 9);
        anchor.shown = false;
        anchor.slot = 1;
        let hidden = Av1Picture::new(&anchor, 100, (640, 360));
        assert!(!hidden.picture.flags.contains(Av1Flags::SHOW_FRAME));
        assert!(hidden.picture.flags.contains(Av1Flags::SHOWABLE_FRAME));
        assert_eq!(
            hidden.picture.refresh_frame_flags, 0b10,
            "stored in frame slot 1"
        );
    }
}
