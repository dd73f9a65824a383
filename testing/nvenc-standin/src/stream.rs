//! What the STAND-IN writes for each picture: not NVENC's compression but a stream any decoder
//! turns back into exactly the input samples. H.264: SPS and PPS at each IDR, then a CAVLC
//! slice of I_PCM macroblocks; HEVC: VPS, SPS and PPS at each IDR, then a slice segment of PCM
//! coding units (8-bit Main from NV12, 10-bit Main 10 from P010); both written by the shared
//! PCM writers (testing/pcm-writer). AV1 (a later step): a temporal delimiter OBU and a padding
//! OBU naming the frame, a structurally valid low-overhead OBU sequence without a sequence
//! header, which no decoder decodes.

use ash::vk::native;
use ghoststream_pcm_writer::h264::{self, Pps as H264Pps, Sps as H264Sps};
use ghoststream_pcm_writer::h264_pcm::{self, Nv12Picture};
use ghoststream_pcm_writer::h265::{self, SpsParts};
use ghoststream_pcm_writer::h265_pcm::{self, P010Picture};

use crate::caps::Codec;

/// The input pixel layout, as registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// NV12: 8-bit luma, then interleaved CbCr at half height, rows of `pitch` bytes.
    Nv12,
    /// P010 (`NV_ENC_BUFFER_FORMAT_YUV420_10BIT`): as NV12 with 16-bit little-endian words,
    /// each sample in the top 10 bits.
    P010,
}

impl Layout {
    /// Bytes per luma sample.
    pub fn bytes_per_sample(self) -> u32 {
        match self {
            Layout::Nv12 => 1,
            Layout::P010 => 2,
        }
    }

    /// The bytes a frame of `height` rows of `pitch` bytes takes (luma, then chroma at half
    /// height).
    pub fn frame_bytes(self, pitch: u32, height: u32) -> u64 {
        u64::from(pitch) * (u64::from(height) + u64::from(height.div_ceil(2)))
    }
}

/// The per-stream state of a codec's writer.
#[derive(Debug)]
pub struct Writer {
    codec: Codec,
    layout: Layout,
    width: u32,
    height: u32,
    /// Pictures since the last IDR.
    since_idr: u32,
    idr_count: u32,
}

/// One input picture: the frame's bytes (luma rows of `pitch`, then the interleaved chroma
/// rows from `chroma_offset`: right after the registered resource's luma rows).
pub struct Input<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// Bytes per row.
    pub pitch: u32,
    /// Where the chroma rows start.
    pub chroma_offset: usize,
}

fn pad_planes(input: &Input<'_>, layout: Layout, w: u32, h: u32) -> (Vec<u8>, Vec<u8>, usize) {
    let bps = layout.bytes_per_sample() as usize;
    let (cw, ch) = (w.div_ceil(16) as usize * 16, h.div_ceil(16) as usize * 16);
    let row = cw * bps;
    let (w, h, pitch) = (w as usize, h as usize, input.pitch as usize);
    let mut luma = vec![0u8; row * ch];
    for y in 0..h {
        luma[y * row..][..w * bps].copy_from_slice(&input.bytes[y * pitch..][..w * bps]);
    }
    let chroma_base = input.chroma_offset;
    let cw_bytes = w.div_ceil(2) * 2 * bps;
    let mut chroma = vec![0u8; row * ch / 2];
    for y in 0..h.div_ceil(2) {
        chroma[y * row..][..cw_bytes]
            .copy_from_slice(&input.bytes[chroma_base + y * pitch..][..cw_bytes]);
    }
    (luma, chroma, row)
}

impl Writer {
    /// A writer for `codec` pictures of `width`x`height` in `layout`; an error for what the
    /// stand-in does not write.
    pub fn new(codec: Codec, layout: Layout, width: u32, height: u32) -> Result<Self, String> {
        if codec == Codec::H264 && layout == Layout::P010 {
            return Err("10-bit H.264".into());
        }
        Ok(Self {
            codec,
            layout,
            width,
            height,
            since_idr: 0,
            idr_count: 0,
        })
    }

    /// The input layout written.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The picture size written.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The picture's bytes (with parameter sets first when `idr`).
    pub fn picture(&mut self, input: &Input<'_>, idr: bool) -> Result<Vec<u8>, String> {
        if idr {
            self.since_idr = 0;
            self.idr_count = self.idr_count.wrapping_add(1);
        }
        let n = self.since_idr;
        let out = match self.codec {
            Codec::H264 => self.h264(input, idr, n),
            Codec::Hevc => self.hevc(input, idr, n),
            Codec::Av1 => Ok(self.av1(idr)),
        };
        self.since_idr = self.since_idr.wrapping_add(1);
        out
    }

    fn h264(&self, input: &Input<'_>, idr: bool, n: u32) -> Result<Vec<u8>, String> {
        let (w, h) = (self.width, self.height);
        let (cw, ch) = (w.div_ceil(16) * 16, h.div_ceil(16) * 16);
        let mut sf = h264::no_sps_flags();
        sf.set_frame_mbs_only_flag(1);
        sf.set_direct_8x8_inference_flag(1);
        sf.set_frame_cropping_flag(u32::from((cw, ch) != (w, h)));
        let sps = native::StdVideoH264SequenceParameterSet {
            profile_idc: native::StdVideoH264ProfileIdc_STD_VIDEO_H264_PROFILE_IDC_HIGH,
            // Level 5.1 (the std enumeration's index).
            level_idc: native::StdVideoH264LevelIdc_STD_VIDEO_H264_LEVEL_IDC_5_1,
            chroma_format_idc:
                native::StdVideoH264ChromaFormatIdc_STD_VIDEO_H264_CHROMA_FORMAT_IDC_420,
            log2_max_frame_num_minus4: 12,
            pic_order_cnt_type: native::StdVideoH264PocType_STD_VIDEO_H264_POC_TYPE_2,
            max_num_ref_frames: 1,
            pic_width_in_mbs_minus1: cw / 16 - 1,
            pic_height_in_map_units_minus1: ch / 16 - 1,
            // In 4:2:0 chroma sample units.
            frame_crop_right_offset: (cw - w) / 2,
            frame_crop_bottom_offset: (ch - h) / 2,
            ..h264::std_sps(sf)
        };
        let mut pf = h264::no_pps_flags();
        pf.set_deblocking_filter_control_present_flag(1);
        let pps = h264::std_pps(pf);
        let mut flags = native::StdVideoEncodeH264PictureInfoFlags {
            _bitfield_align_1: [],
            _bitfield_1: native::__BindgenBitfieldUnit::new([0; 4]),
        };
        flags.set_IdrPicFlag(u32::from(idr));
        flags.set_is_reference(1);
        let picture = native::StdVideoEncodeH264PictureInfo {
            flags,
            seq_parameter_set_id: 0,
            pic_parameter_set_id: 0,
            idr_pic_id: u16::try_from(self.idr_count % 2).unwrap_or(0),
            primary_pic_type: if idr {
                native::StdVideoH264PictureType_STD_VIDEO_H264_PICTURE_TYPE_IDR
            } else {
                native::StdVideoH264PictureType_STD_VIDEO_H264_PICTURE_TYPE_P
            },
            frame_num: n % (1 << 16),
            PicOrderCnt: 0,
            temporal_id: 0,
            reserved1: [0; 3],
            pRefLists: std::ptr::null(),
        };
        let slice = native::StdVideoEncodeH264SliceHeader {
            flags: native::StdVideoEncodeH264SliceHeaderFlags {
                _bitfield_align_1: [],
                _bitfield_1: native::__BindgenBitfieldUnit::new([0; 4]),
            },
            first_mb_in_slice: 0,
            slice_type: if idr {
                native::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_I
            } else {
                native::StdVideoH264SliceType_STD_VIDEO_H264_SLICE_TYPE_P
            },
            slice_alpha_c0_offset_div2: 0,
            slice_beta_offset_div2: 0,
            slice_qp_delta: 0,
            reserved1: 0,
            cabac_init_idc: 0,
            disable_deblocking_filter_idc: 1,
            pWeightTable: std::ptr::null(),
        };
        let (luma, chroma, stride) = pad_planes(input, self.layout, w, h);
        let source = Nv12Picture {
            luma: &luma,
            luma_stride: stride,
            chroma: &chroma,
            chroma_stride: stride,
            width: cw,
            height: ch,
        };
        if let Some(p) = source.problem() {
            return Err(p);
        }
        let mut out = Vec::new();
        if idr {
            out.extend(H264Sps::from_std(&sps, &[], None)?.nal());
            out.extend(H264Pps::from_std(&pps)?.nal());
        }
        out.extend(h264_pcm::encode_picture(
            &sps, &pps, &picture, &slice, &source,
        ));
        Ok(out)
    }

    fn hevc(&self, input: &Input<'_>, idr: bool, n: u32) -> Result<Vec<u8>, String> {
        let (w, h) = (self.width, self.height);
        let ten = self.layout == Layout::P010;
        let ptl = h265::std_ptl(
            if ten {
                native::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN_10
            } else {
                native::StdVideoH265ProfileIdc_STD_VIDEO_H265_PROFILE_IDC_MAIN
            },
            native::StdVideoH265LevelIdc_STD_VIDEO_H265_LEVEL_IDC_5_1,
        );
        let dpb = h265::one_reference_dpb();
        let vf = h265::single_layer_vps_flags();
        let vps = h265::vps(&h265::std_vps(vf), Some(&ptl), Some(&dpb), false)?;
        let mut sf = h265::no_sps_flags();
        sf.set_sps_temporal_id_nesting_flag(1);
        sf.set_sps_sub_layer_ordering_info_present_flag(1);
        let (cw, ch) = (w.div_ceil(8) * 8, h.div_ceil(8) * 8);
        if (cw, ch) != (w, h) {
            sf.set_conformance_window_flag(1);
        }
        let depth = if ten { 2 } else { 0 };
        let sps_std = native::StdVideoH265SequenceParameterSet {
            chroma_format_idc:
                native::StdVideoH265ChromaFormatIdc_STD_VIDEO_H265_CHROMA_FORMAT_IDC_420,
            pic_width_in_luma_samples: cw,
            pic_height_in_luma_samples: ch,
            log2_max_pic_order_cnt_lsb_minus4: 4,
            log2_min_luma_coding_block_size_minus3: 0,
            log2_diff_max_min_luma_coding_block_size: 1,
            log2_min_luma_transform_block_size_minus2: 0,
            log2_diff_max_min_luma_transform_block_size: 2,
            conf_win_right_offset: (cw - w) / 2,
            conf_win_bottom_offset: (ch - h) / 2,
            bit_depth_luma_minus8: depth,
            bit_depth_chroma_minus8: depth,
            ..h265::std_sps(sf)
        };
        let parts = SpsParts {
            ptl: Some(&ptl),
            dpb: Some(&dpb),
            ..Default::default()
        };
        let sps = h265::sps(&sps_std, &parts)?;
        let pps = h265::pps(&h265::std_pps(h265::no_pps_flags()))?;
        let rps = h265::std_st_rps(1);
        let mut flags = native::StdVideoEncodeH265PictureInfoFlags {
            _bitfield_align_1: [],
            _bitfield_1: native::__BindgenBitfieldUnit::new([0; 4]),
        };
        flags.set_is_reference(1);
        flags.set_IrapPicFlag(u32::from(idr));
        flags.set_pic_output_flag(1);
        let picture = native::StdVideoEncodeH265PictureInfo {
            flags,
            pic_type: if idr {
                native::StdVideoH265PictureType_STD_VIDEO_H265_PICTURE_TYPE_IDR
            } else {
                native::StdVideoH265PictureType_STD_VIDEO_H265_PICTURE_TYPE_P
            },
            sps_video_parameter_set_id: 0,
            pps_seq_parameter_set_id: 0,
            pps_pic_parameter_set_id: 0,
            short_term_ref_pic_set_idx: 0,
            PicOrderCntVal: i32::try_from(n % (1 << 30)).unwrap_or(0),
            TemporalId: 0,
            reserved1: [0; 7],
            pRefLists: std::ptr::null(),
            pShortTermRefPicSet: if idr {
                std::ptr::null()
            } else {
                std::ptr::from_ref(&rps)
            },
            pLongTermRefPics: std::ptr::null(),
        };
        let mut slice_flags = native::StdVideoEncodeH265SliceSegmentHeaderFlags {
            _bitfield_align_1: [],
            _bitfield_1: native::__BindgenBitfieldUnit::new([0; 4]),
        };
        slice_flags.set_first_slice_segment_in_pic_flag(1);
        let slice = native::StdVideoEncodeH265SliceSegmentHeader {
            flags: slice_flags,
            slice_type: if idr {
                native::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_I
            } else {
                native::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_P
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
        };
        let (luma, chroma, stride) = pad_planes(input, self.layout, w, h);
        let (width, height) = sps.size;
        let coded = if ten {
            h265_pcm::encode_picture(
                &sps,
                &pps,
                &picture,
                &slice,
                &P010Picture {
                    luma: &luma,
                    luma_stride: stride,
                    chroma: &chroma,
                    chroma_stride: stride,
                    width,
                    height,
                },
            )?
        } else {
            h265_pcm::encode_picture(
                &sps,
                &pps,
                &picture,
                &slice,
                &Nv12Picture {
                    luma: &luma,
                    luma_stride: stride,
                    chroma: &chroma,
                    chroma_stride: stride,
                    width,
                    height,
                },
            )?
        };
        let mut out = Vec::new();
        if idr {
            out.extend(&vps.nal);
            out.extend(&sps.nal);
            out.extend(&pps.nal);
        }
        out.extend(coded);
        Ok(out)
    }

    fn av1(&self, idr: bool) -> Vec<u8> {
        // OBU headers (AV1 section 5.3.1): type in bits 6..3, has_size_field bit 1.
        const TEMPORAL_DELIMITER: u8 = 2;
        const PADDING: u8 = 15;
        let obu = |kind: u8, payload: &[u8]| {
            let mut o = vec![(kind << 3) | 0b10];
            let mut len = payload.len();
            loop {
                let byte = u8::try_from(len & 0x7f).unwrap_or(0);
                len >>= 7;
                o.push(if len > 0 { byte | 0x80 } else { byte });
                if len == 0 {
                    break;
                }
            }
            o.extend_from_slice(payload);
            o
        };
        let text = format!(
            "GhostStream NVENC STAND-IN AV1 placeholder: {} picture {}",
            if idr { "key" } else { "inter" },
            self.since_idr
        );
        let mut out = obu(TEMPORAL_DELIMITER, &[]);
        out.extend(obu(PADDING, text.as_bytes()));
        out
    }
}
