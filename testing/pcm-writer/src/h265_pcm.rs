//! The driver's H.265 "encoder": one picture written as a slice segment of PCM coding units
//! (ITU-T H.265 sections 7.3.6 and 7.3.8) with a CABAC arithmetic encoder (section 9.3), which
//! any decoder turns back into exactly the input samples.
//!
//! The parameter sets are the ones the driver wrote ([`crate::h265::pcm_sps`],
//! [`crate::h265::pcm_pps`]): 16x16 coding tree blocks that are each one 16x16 coding unit,
//! PCM enabled in 16x16 blocks and left unfiltered, the deblocking filter and SAO off. Each
//! coding unit is intra (`cu_skip_flag` 0 and `pred_mode_flag` 1 in P and B slices),
//! `PART_2Nx2N`, `pcm_flag` 1, then its samples at the picture's bit depth. 4:2:0, one slice
//! segment per picture, 8 bits (Main, from NV12) or 10 bits (Main 10, from P010: Vulkan's
//! `G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16`, each sample in the top 10 bits of a 16-bit
//! little-endian word).

use ash::vk::native;

use crate::h264::{annex_b, BitWriter};
use crate::h264_pcm::Nv12Picture;
use crate::h265::{st_ref_pic_set, std_st_rps, Pps, Sps};

/// A picture in P010 (`G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16`): a luma plane of 16-bit
/// little-endian words and an interleaved Cb, Cr plane of them at half width and height, each
/// sample in a word's top 10 bits (the low 6 bits are ignored). Strides are in bytes;
/// `width` and `height` are the coded size (whole 16x16 blocks).
#[derive(Clone, Copy, Debug)]
pub struct P010Picture<'a> {
    /// The luma plane, `height` rows of `luma_stride` bytes (the last may be just
    /// `2 * width`).
    pub luma: &'a [u8],
    /// Bytes from one luma row to the next.
    pub luma_stride: usize,
    /// The chroma plane, `height / 2` rows of `width / 2` Cb, Cr word pairs.
    pub chroma: &'a [u8],
    /// Bytes from one chroma row to the next.
    pub chroma_stride: usize,
    /// Coded width in pixels, a multiple of 16.
    pub width: u32,
    /// Coded height in pixels, a multiple of 16.
    pub height: u32,
}

impl P010Picture<'_> {
    /// Why [`encode_picture`] cannot take this picture (a size not of whole 16x16 blocks, or
    /// a plane shorter than its rows), `None` when it can.
    pub fn problem(&self) -> Option<String> {
        let (w, h) = (self.width as usize, self.height as usize);
        if w == 0 || h == 0 || w % 16 != 0 || h % 16 != 0 {
            return Some(format!(
                "a coded picture of {w}x{h}: both sides must be non-zero multiples of 16"
            ));
        }
        let row = 2 * w;
        let need = |stride: usize, rows: usize| stride * (rows - 1) + row;
        if self.luma_stride < row || self.luma.len() < need(self.luma_stride, h) {
            return Some(format!(
                "the 10-bit luma plane has {} bytes with stride {} but {w}x{h} needs a stride ≥ {row} and {} bytes",
                self.luma.len(),
                self.luma_stride,
                need(self.luma_stride.max(row), h)
            ));
        }
        if self.chroma_stride < row || self.chroma.len() < need(self.chroma_stride, h / 2) {
            return Some(format!(
                "the 10-bit chroma plane has {} bytes with stride {} but {}x{} of CbCr pairs needs a stride ≥ {row} and {} bytes",
                self.chroma.len(),
                self.chroma_stride,
                w / 2,
                h / 2,
                need(self.chroma_stride.max(row), h / 2)
            ));
        }
        None
    }

    /// The 10-bit sample in the word at byte `at` of `plane`.
    fn sample(plane: &[u8], at: usize) -> u32 {
        u32::from(u16::from_le_bytes([plane[at], plane[at + 1]]) >> 6)
    }
}

/// A source picture the PCM writer takes: its coded size, sample bit depth and the samples of
/// each 16x16 coding unit.
pub trait PcmSource {
    /// The coded width and height (whole 16x16 blocks when [`PcmSource::problem`] is `None`).
    fn size(&self) -> (u32, u32);
    /// Bits per sample, luma and chroma alike.
    fn bit_depth(&self) -> u8;
    /// Why the picture cannot be written, `None` when it can.
    fn problem(&self) -> Option<String>;
    /// Writes `pcm_sample()` of the coding unit whose top-left luma sample is at
    /// (`16 * cx`, `16 * cy`): 256 luma samples, then Cb's 8x8, then Cr's, each in raster
    /// order at [`PcmSource::bit_depth`] bits. `w` is byte-aligned before and after.
    fn write_cu(&self, w: &mut BitWriter, cx: usize, cy: usize);
}

impl PcmSource for Nv12Picture<'_> {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn bit_depth(&self) -> u8 {
        8
    }

    fn problem(&self) -> Option<String> {
        Nv12Picture::problem(self)
    }

    fn write_cu(&self, w: &mut BitWriter, cx: usize, cy: usize) {
        let mut samples = [0u8; 384];
        for y in 0..16 {
            let at = (cy * 16 + y) * self.luma_stride + cx * 16;
            samples[y * 16..][..16].copy_from_slice(&self.luma[at..at + 16]);
        }
        for y in 0..8 {
            let row = &self.chroma[(cy * 8 + y) * self.chroma_stride + cx * 16..][..16];
            for x in 0..8 {
                samples[256 + y * 8 + x] = row[2 * x];
                samples[320 + y * 8 + x] = row[2 * x + 1];
            }
        }
        w.bytes(&samples);
    }
}

impl PcmSource for P010Picture<'_> {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn bit_depth(&self) -> u8 {
        10
    }

    fn problem(&self) -> Option<String> {
        P010Picture::problem(self)
    }

    fn write_cu(&self, w: &mut BitWriter, cx: usize, cy: usize) {
        // 384 samples of 10 bits: 480 bytes, four samples to five bytes.
        let mut packed = [0u8; 480];
        let mut at = 0;
        let mut acc: u64 = 0;
        let mut push = |v: u32, n: &mut usize| {
            acc = (acc << 10) | u64::from(v);
            *n += 1;
            if *n % 4 == 0 {
                packed[at..at + 5].copy_from_slice(&acc.to_be_bytes()[3..]);
                at += 5;
                acc = 0;
            }
        };
        let mut n = 0;
        for y in 0..16 {
            let row = (cy * 16 + y) * self.luma_stride + cx * 32;
            for x in 0..16 {
                push(Self::sample(self.luma, row + 2 * x), &mut n);
            }
        }
        for component in 0..2 {
            for y in 0..8 {
                let row = (cy * 8 + y) * self.chroma_stride + cx * 32;
                for x in 0..8 {
                    push(
                        Self::sample(self.chroma, row + 4 * x + 2 * component),
                        &mut n,
                    );
                }
            }
        }
        w.bytes(&packed);
    }
}

/// `rangeTabLps[pStateIdx][qRangeIdx]` (Table 9-52).
const RANGE_TAB_LPS: [[u8; 4]; 64] = [
    [128, 176, 208, 240],
    [128, 167, 197, 227],
    [128, 158, 187, 216],
    [123, 150, 178, 205],
    [116, 142, 169, 195],
    [111, 135, 160, 185],
    [105, 128, 152, 175],
    [100, 122, 144, 166],
    [95, 116, 137, 158],
    [90, 110, 130, 150],
    [85, 104, 123, 142],
    [81, 99, 117, 135],
    [77, 94, 111, 128],
    [73, 89, 105, 122],
    [69, 85, 100, 116],
    [66, 80, 95, 110],
    [62, 76, 90, 104],
    [59, 72, 86, 99],
    [56, 69, 81, 94],
    [53, 65, 77, 89],
    [51, 62, 73, 85],
    [48, 59, 69, 80],
    [46, 56, 66, 76],
    [43, 53, 63, 72],
    [41, 50, 59, 69],
    [39, 48, 56, 65],
    [37, 45, 54, 62],
    [35, 43, 51, 59],
    [33, 41, 48, 56],
    [32, 39, 46, 53],
    [30, 37, 43, 50],
    [29, 35, 41, 48],
    [27, 33, 39, 45],
    [26, 31, 37, 43],
    [24, 30, 35, 41],
    [23, 28, 33, 39],
    [22, 27, 32, 37],
    [21, 26, 30, 35],
    [20, 24, 29, 33],
    [19, 23, 27, 31],
    [18, 22, 26, 30],
    [17, 21, 25, 28],
    [16, 20, 23, 27],
    [15, 19, 22, 25],
    [14, 18, 21, 24],
    [14, 17, 20, 23],
    [13, 16, 19, 22],
    [12, 15, 18, 21],
    [12, 14, 17, 20],
    [11, 14, 16, 19],
    [11, 13, 15, 18],
    [10, 12, 15, 17],
    [10, 12, 14, 16],
    [9, 11, 13, 15],
    [9, 11, 12, 14],
    [8, 10, 12, 14],
    [8, 9, 11, 13],
    [7, 9, 11, 12],
    [7, 9, 10, 12],
    [7, 8, 10, 11],
    [6, 8, 9, 11],
    [6, 7, 9, 10],
    [6, 7, 8, 9],
    [2, 2, 2, 2],
];

/// `transIdxLps[pStateIdx]` (Table 9-53); `transIdxMps` is `min(pStateIdx + 1, 62)` (63 stays).
const TRANS_IDX_LPS: [u8; 64] = [
    0, 0, 1, 2, 2, 4, 4, 5, 6, 7, 8, 9, 9, 11, 11, 12, 13, 13, 15, 15, 16, 16, 18, 18, 19, 19, 21,
    21, 22, 22, 23, 24, 24, 25, 26, 26, 27, 27, 28, 29, 29, 30, 30, 30, 31, 32, 32, 33, 33, 33, 34,
    34, 35, 35, 35, 36, 36, 36, 37, 37, 37, 38, 38, 63,
];

/// The next state after a most probable symbol.
fn trans_idx_mps(state: u8) -> u8 {
    match state {
        62 | 63 => state,
        s => s + 1,
    }
}

/// One context variable: `pStateIdx` and `valMps`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    /// `pStateIdx`, 0 … 62 (63 is the terminate state, never a context's).
    pub state: u8,
    /// `valMps`.
    pub mps: bool,
}

impl Context {
    /// The context of `init_value` at slice QP `qp` (section 9.3.2.2).
    pub fn new(init_value: u8, qp: i32) -> Self {
        let slope = i32::from(init_value >> 4);
        let offset = i32::from(init_value & 15);
        let m = slope * 5 - 45;
        let n = (offset << 3) - 16;
        let pre = (((m * qp.clamp(0, 51)) >> 4) + n).clamp(1, 126);
        let mps = pre > 63;
        let state = if mps { pre - 64 } else { 63 - pre };
        Self {
            state: u8::try_from(state).unwrap_or(0),
            mps,
        }
    }
}

/// The CABAC arithmetic encoder of section 9.3.5 (`ivlLow`, `ivlCurrRange`,
/// `firstBitFlag`, `bitsOutstanding`), writing into a [`BitWriter`].
#[derive(Debug)]
pub struct Cabac {
    w: BitWriter,
    low: u32,
    range: u32,
    first_bit: bool,
    outstanding: u32,
}

impl Cabac {
    /// `InitEncoder`, appending to `w` (which must be byte-aligned, as slice data and PCM
    /// samples end).
    pub fn new(w: BitWriter) -> Self {
        debug_assert!(w.is_aligned());
        Self {
            w,
            low: 0,
            range: 510,
            first_bit: true,
            outstanding: 0,
        }
    }

    /// `InitEncoder` again on the same output: after PCM samples (section 9.3.2.5).
    pub fn restart(&mut self) {
        self.low = 0;
        self.range = 510;
        self.first_bit = true;
        self.outstanding = 0;
    }

    /// `EncodeDecision`: `bin` with context `ctx`, which is updated.
    pub fn decision(&mut self, ctx: &mut Context, bin: bool) {
        let q = (self.range >> 6) & 3;
        let lps = u32::from(RANGE_TAB_LPS[usize::from(ctx.state)][q as usize]);
        self.range -= lps;
        if bin == ctx.mps {
            ctx.state = trans_idx_mps(ctx.state);
        } else {
            self.low += self.range;
            self.range = lps;
            if ctx.state == 0 {
                ctx.mps = !ctx.mps;
            }
            ctx.state = TRANS_IDX_LPS[usize::from(ctx.state)];
        }
        self.renorm();
    }

    /// `EncodeTerminate`: a 1 ends the arithmetic code (`EncodeFlush`, whose last bit is a
    /// 1: the `rbsp_stop_one_bit` after `end_of_slice_segment_flag`), leaving the writer
    /// where `pcm_alignment_zero_bit`s or the slice's alignment follow.
    pub fn terminate(&mut self, bin: bool) {
        self.range -= 2;
        if bin {
            self.low += self.range;
            // EncodeFlush.
            self.range = 2;
            self.renorm();
            self.put_bit((self.low >> 9) & 1 == 1);
            self.w.u(2, ((self.low >> 7) & 3) | 1);
        } else {
            self.renorm();
        }
    }

    /// The output, to write bits outside the arithmetic code (after a terminating 1 only).
    pub fn writer(&mut self) -> &mut BitWriter {
        &mut self.w
    }

    /// The output.
    pub fn into_writer(self) -> BitWriter {
        self.w
    }

    /// `RenormE`.
    fn renorm(&mut self) {
        while self.range < 256 {
            if self.low < 256 {
                self.put_bit(false);
            } else if self.low >= 512 {
                self.low -= 512;
                self.put_bit(true);
            } else {
                self.low -= 256;
                self.outstanding += 1;
            }
            self.range <<= 1;
            self.low <<= 1;
        }
    }

    /// `PutBit`.
    fn put_bit(&mut self, b: bool) {
        if self.first_bit {
            self.first_bit = false;
        } else {
            self.w.bit(b);
        }
        while self.outstanding > 0 {
            self.w.bit(!b);
            self.outstanding -= 1;
        }
    }
}

/// `initValue`s (Tables 9-11, 9-14 and 9-15) by `initType` 0, 1, 2: `cu_skip_flag` and
/// `pred_mode_flag` (none in I slices) and `part_mode`'s first bin, each at `ctxInc` 0 (a
/// coding unit's neighbours are never skipped here).
const SKIP_INIT: [u8; 3] = [0, 197, 197];
const PRED_MODE_INIT: [u8; 3] = [0, 149, 134];
const PART_MODE_INIT: [u8; 3] = [184, 154, 154];

/// NAL unit types (Table 7-1).
const TRAIL_R: u8 = 1;
const IDR_W_RADL: u8 = 19;

/// The slice segment of `picture`: one Annex-B NAL unit (IDR_W_RADL for an IDR picture, else
/// TRAIL_R) with a slice segment header from the written `sps`/`pps`, the picture and slice
/// parameters, then every 16x16 coding unit of `source` as PCM at the SPS's bit depth, which
/// must be the source's (8 bits from an [`Nv12Picture`], 10 from a [`P010Picture`]).
/// `picture`'s and `slice`'s pointers must be NULL or valid. An error names what cannot be
/// written.
pub fn encode_picture(
    sps: &Sps,
    pps: &Pps,
    picture: &native::StdVideoEncodeH265PictureInfo,
    slice: &native::StdVideoEncodeH265SliceSegmentHeader,
    source: &impl PcmSource,
) -> Result<Vec<u8>, String> {
    if let Some(problem) = source.problem() {
        return Err(problem);
    }
    let (width, height) = source.size();
    if (width, height) != sps.size {
        return Err(format!(
            "a {width}x{height} picture for SPS {} of {}x{}",
            sps.id, sps.size.0, sps.size.1
        ));
    }
    let s = sps.written.get();
    let depths = (s.bit_depth_luma_minus8, s.bit_depth_chroma_minus8);
    if s.chroma_format_idc != 1 || !matches!(depths, (0, 0) | (2, 2)) {
        return Err(format!(
            "SPS {}: chroma_format_idc {} with {}+8 / {}+8 bits; this encoder writes 4:2:0 (1) with 8 bits (Main) or 10 bits (Main 10), luma and chroma alike",
            sps.id, s.chroma_format_idc, depths.0, depths.1
        ));
    }
    let depth = depths.0 + 8;
    if depth != source.bit_depth() {
        return Err(format!(
            "SPS {} has {depth}-bit samples but the source picture is {}-bit ({}): the session's picture format and the SPS's bit depth must agree",
            sps.id,
            source.bit_depth(),
            if source.bit_depth() == 8 { "NV12" } else { "P010" }
        ));
    }
    // The written SPS's PCM sample depth is the picture's (crate::h265::pcm_sps).
    let pcm = (
        s.pcm_sample_bit_depth_luma_minus1,
        s.pcm_sample_bit_depth_chroma_minus1,
    );
    if s.flags.pcm_enabled_flag() == 0 || pcm != (depth - 1, depth - 1) {
        return Err(format!(
            "SPS {}: PCM samples of {}+1 / {}+1 bits (enabled: {}); this encoder writes them at the {depth}-bit sample depth",
            sps.id,
            pcm.0,
            pcm.1,
            s.flags.pcm_enabled_flag()
        ));
    }
    let idr = picture.pic_type == native::StdVideoH265PictureType_STD_VIDEO_H265_PICTURE_TYPE_IDR;
    let nal_type = if idr { IDR_W_RADL } else { TRAIL_R };
    let mut w = BitWriter::default();
    let header = slice_segment_header(&mut w, sps, pps, picture, slice, nal_type)?;
    // byte_alignment(): a one, then zeros.
    w.bit(true);
    w.align_with_zeros();

    let init_type = match (slice.slice_type, header.cabac_init_flag) {
        (native::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_I, _) => 0,
        (native::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_P, false)
        | (native::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_B, true) => 1,
        _ => 2,
    };
    let qp = header.slice_qp;
    let mut skip = Context::new(SKIP_INIT[init_type], qp);
    let mut pred_mode = Context::new(PRED_MODE_INIT[init_type], qp);
    let mut part_mode = Context::new(PART_MODE_INIT[init_type], qp);
    let mut cabac = Cabac::new(w);
    let (ctbs_w, ctbs_h) = (width as usize / 16, height as usize / 16);
    for cy in 0..ctbs_h {
        for cx in 0..ctbs_w {
            if init_type != 0 {
                cabac.decision(&mut skip, false); // cu_skip_flag
                cabac.decision(&mut pred_mode, true); // pred_mode_flag: MODE_INTRA
            }
            cabac.decision(&mut part_mode, true); // part_mode: PART_2Nx2N
            cabac.terminate(true); // pcm_flag
            let w = cabac.writer();
            w.align_with_zeros(); // pcm_alignment_zero_bit
            source.write_cu(w, cx, cy); // pcm_sample()
            cabac.restart();
            // end_of_slice_segment_flag; its 1 ends with the rbsp_stop_one_bit.
            cabac.terminate(cy + 1 == ctbs_h && cx + 1 == ctbs_w);
        }
    }
    let mut w = cabac.into_writer();
    w.align_with_zeros(); // rbsp_alignment_zero_bit
    let rbsp = finish_aligned(w);
    let tid = picture.TemporalId.min(6);
    Ok(annex_b(&[nal_type << 1, tid + 1], &rbsp))
}

/// The bytes of a writer that is already byte-aligned and whose stop bit was written.
fn finish_aligned(w: BitWriter) -> Vec<u8> {
    // `finish` adds a stop bit in a new byte; drop that byte again.
    let mut bytes = w.finish();
    bytes.pop();
    bytes
}

/// What the slice data needs from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderValues {
    /// `SliceQpY`.
    pub slice_qp: i32,
    /// `cabac_init_flag`.
    pub cabac_init_flag: bool,
}

/// `slice_segment_header()` (section 7.3.6.1) of the first slice segment of a picture, up
/// to (not including) `byte_alignment()`.
pub fn slice_segment_header(
    w: &mut BitWriter,
    sps: &Sps,
    pps: &Pps,
    picture: &native::StdVideoEncodeH265PictureInfo,
    slice: &native::StdVideoEncodeH265SliceSegmentHeader,
    nal_type: u8,
) -> Result<HeaderValues, String> {
    let (s, p) = (sps.written.get(), pps.written.get());
    let (sf, pf) = (&s.flags, &p.flags);
    if pf.tiles_enabled_flag() != 0 || pf.entropy_coding_sync_enabled_flag() != 0 {
        return Err(format!(
            "PPS {}: tiles or wavefronts need entry points this encoder does not write",
            pps.id
        ));
    }
    if sf.separate_colour_plane_flag() != 0 {
        return Err(format!("SPS {}: separate colour planes", sps.id));
    }
    let slice_type = slice.slice_type;
    let p_or_b = slice_type == native::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_P
        || slice_type == native::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_B;
    let b = slice_type == native::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_B;
    if slice_type > native::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_I {
        return Err(format!("slice_type {slice_type} (B 0, P 1, I 2)"));
    }
    w.bit(true); // first_slice_segment_in_pic_flag
    if (16..=23).contains(&nal_type) {
        w.bit(picture.flags.no_output_of_prior_pics_flag() != 0);
    }
    w.ue(u32::from(pps.id)); // slice_pic_parameter_set_id
    for _ in 0..p.num_extra_slice_header_bits {
        w.bit(false); // slice_reserved_flag
    }
    w.ue(slice_type);
    if pf.output_flag_present_flag() != 0 {
        w.bit(picture.flags.pic_output_flag() != 0);
    }
    let idr = nal_type == 19 || nal_type == 20;
    if !idr {
        let bits = u32::from(s.log2_max_pic_order_cnt_lsb_minus4) + 4;
        let lsb = picture.PicOrderCntVal.rem_euclid(1 << bits);
        w.u(bits, u32::try_from(lsb).unwrap_or(0));
        let from_sps = picture.flags.short_term_ref_pic_set_sps_flag() != 0;
        w.bit(from_sps);
        let count = s.num_short_term_ref_pic_sets;
        if from_sps {
            if picture.short_term_ref_pic_set_idx >= count {
                return Err(format!(
                    "short_term_ref_pic_set_idx {} of SPS {}'s {count} sets",
                    picture.short_term_ref_pic_set_idx, sps.id
                ));
            }
            if count > 1 {
                let bits = u32::from(count - 1).checked_ilog2().map_or(0, |l| l + 1);
                w.u(bits, u32::from(picture.short_term_ref_pic_set_idx));
            }
        } else {
            // SAFETY: pShortTermRefPicSet is NULL or points at a set the application keeps
            // alive for the encode (the caller's contract); the borrow ends in this call.
            let given = unsafe { picture.pShortTermRefPicSet.as_ref() };
            let default = std_st_rps(1);
            st_ref_pic_set(w, usize::from(count), given.unwrap_or(&default))?;
        }
        if sf.long_term_ref_pics_present_flag() != 0 {
            if s.num_long_term_ref_pics_sps > 0 {
                w.ue(0); // num_long_term_sps
            }
            w.ue(0); // num_long_term_pics
        }
        if sf.sps_temporal_mvp_enabled_flag() != 0 {
            w.bit(false); // slice_temporal_mvp_enabled_flag
        }
    }
    if sf.sample_adaptive_offset_enabled_flag() != 0 {
        w.bit(false); // slice_sao_luma_flag
        w.bit(false); // slice_sao_chroma_flag (ChromaArrayType 1)
    }
    let mut cabac_init_flag = false;
    if p_or_b {
        let overridden = slice.flags.num_ref_idx_active_override_flag() != 0;
        w.bit(overridden);
        if overridden {
            // SAFETY: pRefLists is NULL or points at lists the application keeps alive for
            // the encode (the caller's contract); the borrow ends in this call.
            let lists = unsafe { picture.pRefLists.as_ref() };
            let active = lists.map_or(
                (
                    p.num_ref_idx_l0_default_active_minus1,
                    p.num_ref_idx_l1_default_active_minus1,
                ),
                |l| {
                    (
                        l.num_ref_idx_l0_active_minus1,
                        l.num_ref_idx_l1_active_minus1,
                    )
                },
            );
            w.ue(u32::from(active.0.min(14)));
            if b {
                w.ue(u32::from(active.1.min(14)));
            }
        }
        // lists_modification_present_flag is 0 in the written PPS.
        if b {
            w.bit(slice.flags.mvd_l1_zero_flag() != 0);
        }
        if pf.cabac_init_present_flag() != 0 {
            cabac_init_flag = slice.flags.cabac_init_flag() != 0;
            w.bit(cabac_init_flag);
        }
        // No slice_temporal_mvp_enabled_flag (the written SPS has none), no weights (the
        // written PPS has none).
        let merge = slice.MaxNumMergeCand.clamp(1, 5);
        w.ue(u32::from(5 - merge)); // five_minus_max_num_merge_cand
    }
    w.se(i32::from(slice.slice_qp_delta));
    if pf.pps_slice_chroma_qp_offsets_present_flag() != 0 {
        w.se(i32::from(slice.slice_cb_qp_offset));
        w.se(i32::from(slice.slice_cr_qp_offset));
    }
    let mut deblocking_disabled = pf.pps_deblocking_filter_disabled_flag() != 0;
    if pf.deblocking_filter_override_enabled_flag() != 0 {
        // deblocking_filter_override_flag 1 with the filter disabled: PCM samples stay as
        // they are whatever the application's offsets.
        w.bit(true);
        w.bit(true); // slice_deblocking_filter_disabled_flag
        deblocking_disabled = true;
    }
    if pf.pps_loop_filter_across_slices_enabled_flag() != 0 && !deblocking_disabled {
        w.bit(slice.flags.slice_loop_filter_across_slices_enabled_flag() != 0);
    }
    if pf.slice_segment_header_extension_present_flag() != 0 {
        w.ue(0); // slice_segment_header_extension_length
    }
    Ok(HeaderValues {
        slice_qp: 26 + i32::from(p.init_qp_minus26) + i32::from(slice.slice_qp_delta),
        cabac_init_flag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bits of `w`'s output as a string of '0' and '1', `n` of them.
    fn bits(bytes: &[u8], n: usize) -> String {
        (0..n)
            .map(|i| {
                if bytes[i / 8] >> (7 - i % 8) & 1 == 1 {
                    '1'
                } else {
                    '0'
                }
            })
            .collect()
    }

    /// The arithmetic decoder of section 9.3.4.3, to read back what the encoder wrote.
    struct Decoder<'a> {
        data: &'a [u8],
        pos: usize,
        range: u32,
        offset: u32,
    }

    impl<'a> Decoder<'a> {
        fn new(data: &'a [u8], pos: usize) -> Self {
            let mut d = Self {
                data,
                pos,
                range: 510,
                offset: 0,
            };
            d.offset = d.read(9);
            d
        }
        fn read(&mut self, n: u32) -> u32 {
            let mut v = 0;
            for _ in 0..n {
                let bit = self
                    .data
                    .get(self.pos / 8)
                    .map_or(0, |b| u32::from(b >> (7 - self.pos % 8) & 1));
                v = v << 1 | bit;
                self.pos += 1;
            }
            v
        }
        fn renorm(&mut self) {
            while self.range < 256 {
                self.range <<= 1;
                self.offset = self.offset << 1 | self.read(1);
            }
        }
        fn decision(&mut self, ctx: &mut Context) -> bool {
            let q = (self.range >> 6) & 3;
            let lps = u32::from(RANGE_TAB_LPS[usize::from(ctx.state)][q as usize]);
            self.range -= lps;
            let bin = if self.offset >= self.range {
                self.offset -= self.range;
                self.range = lps;
                let bin = !ctx.mps;
                if ctx.state == 0 {
                    ctx.mps = !ctx.mps;
                }
                ctx.state = TRANS_IDX_LPS[usize::from(ctx.state)];
                bin
            } else {
                ctx.state = trans_idx_mps(ctx.state);
                ctx.mps
            };
            self.renorm();
            bin
        }
        fn terminate(&mut self) -> bool {
            self.range -= 2;
            if self.offset >= self.range {
                true
            } else {
                self.renorm();
                false
            }
        }
    }

    fn sets() -> (Sps, Pps) {
        sets_of_depth(0, 0)
    }

    /// Main (`minus8` 0) or Main 10 (2) parameter sets of a 16x16 picture (other depths with
    /// the Main 10 profile), luma and chroma depths given.
    fn sets_of_depth(minus8: u8, chroma_minus8: u8) -> (Sps, Pps) {
        let ptl = crate::h265::std_ptl(if minus8 == 0 { 1 } else { 2 }, 0);
        let dpb = crate::h265::one_reference_dpb();
        let mut sf = crate::h265::no_sps_flags();
        sf.set_sps_temporal_mvp_enabled_flag(1);
        sf.set_sample_adaptive_offset_enabled_flag(1);
        let sps = crate::h265::sps(
            &native::StdVideoH265SequenceParameterSet {
                chroma_format_idc: 1,
                pic_width_in_luma_samples: 16,
                pic_height_in_luma_samples: 16,
                log2_max_pic_order_cnt_lsb_minus4: 4,
                bit_depth_luma_minus8: minus8,
                bit_depth_chroma_minus8: chroma_minus8,
                ..crate::h265::std_sps(sf)
            },
            &crate::h265::SpsParts {
                ptl: Some(&ptl),
                dpb: Some(&dpb),
                ..Default::default()
            },
        )
        .unwrap();
        let pps = crate::h265::pps(&crate::h265::std_pps(crate::h265::no_pps_flags())).unwrap();
        (sps, pps)
    }

    fn picture(idr: bool, poc: i32) -> native::StdVideoEncodeH265PictureInfo {
        native::StdVideoEncodeH265PictureInfo {
            flags: native::StdVideoEncodeH265PictureInfoFlags {
                _bitfield_align_1: [],
                _bitfield_1: native::__BindgenBitfieldUnit::new([0; 4]),
            },
            pic_type: if idr {
                native::StdVideoH265PictureType_STD_VIDEO_H265_PICTURE_TYPE_IDR
            } else {
                native::StdVideoH265PictureType_STD_VIDEO_H265_PICTURE_TYPE_P
            },
            sps_video_parameter_set_id: 0,
            pps_seq_parameter_set_id: 0,
            pps_pic_parameter_set_id: 0,
            short_term_ref_pic_set_idx: 0,
            PicOrderCntVal: poc,
            TemporalId: 0,
            reserved1: [0; 7],
            pRefLists: std::ptr::null(),
            pShortTermRefPicSet: std::ptr::null(),
            pLongTermRefPics: std::ptr::null(),
        }
    }

    fn slice(slice_type: u32, qp_delta: i8) -> native::StdVideoEncodeH265SliceSegmentHeader {
        native::StdVideoEncodeH265SliceSegmentHeader {
            flags: native::StdVideoEncodeH265SliceSegmentHeaderFlags {
                _bitfield_align_1: [],
                _bitfield_1: native::__BindgenBitfieldUnit::new([0; 4]),
            },
            slice_type,
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
            slice_qp_delta: qp_delta,
            reserved1: 0,
            pWeightTable: std::ptr::null(),
        }
    }

    #[test]
    fn slice_segment_headers_have_the_hand_computed_bits() {
        let (sps, pps) = sets();
        assert!(sps.overrides && pps.overrides);
        let i = native::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_I;
        let p = native::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_P;
        let mut w = BitWriter::default();
        let v =
            slice_segment_header(&mut w, &sps, &pps, &picture(true, 0), &slice(i, 0), 19).unwrap();
        assert_eq!(
            v,
            HeaderValues {
                slice_qp: 26,
                cabac_init_flag: false
            }
        );
        // first_slice 1, no_output_of_prior_pics 0, pps ue(0) 1, slice_type ue(2) 011,
        // slice_qp_delta se(0) 1; no SAO flags (the written SPS has none); then the stop bit.
        assert_eq!(bits(&w.finish(), 8), "10101111");

        let mut w = BitWriter::default();
        // POC 261 in 8 bits is 5; the default inline set: one picture before, used.
        let v = slice_segment_header(&mut w, &sps, &pps, &picture(false, 261), &slice(p, -3), 1)
            .unwrap();
        assert_eq!(v.slice_qp, 23);
        // 1 | ue(0) 1 | ue(1) 010 | 00000101 | sps flag 0 | num_negative ue(1) 010,
        // num_positive ue(0) 1, delta_poc_s0_minus1 ue(0) 1, used 1 | no temporal MVP flag |
        // override 0 | five_minus_max_num_merge_cand ue(0) 1 | se(-3) = ue(6) 00111 | stop 1
        let out = w.finish();
        assert_eq!(bits(&out, 32), "11010000001010010111010011110000");
    }

    /// A 16x16 P010 picture: luma words `(v << 6) | 0x3f` (low bits set, to be ignored) with
    /// `v` = `luma(x, y)`, chroma pairs from `cb(x, y)` and `cr(x, y)`.
    fn p010_16x16(
        luma: impl Fn(usize, usize) -> u16,
        cb: impl Fn(usize, usize) -> u16,
        cr: impl Fn(usize, usize) -> u16,
    ) -> (Vec<u8>, Vec<u8>) {
        let word = |v: u16| ((v << 6) | 0x3f).to_le_bytes();
        let l = (0..16)
            .flat_map(|y| (0..16).map(move |x| (x, y)))
            .flat_map(|(x, y)| word(luma(x, y)))
            .collect();
        let c = (0..8)
            .flat_map(|y| (0..8).map(move |x| (x, y)))
            .flat_map(|(x, y)| [word(cb(x, y)), word(cr(x, y))].concat())
            .collect();
        (l, c)
    }

    #[test]
    fn p010_coding_units_pack_four_ten_bit_samples_in_five_bytes() {
        // The first four luma samples 0x3ff, 0x001, 0x200, 0x155: 11111111 | 11 000000 |
        // 0001 1000 | 000000 01 | 01010101 = ff c0 18 01 55.
        let first = [0x3ff, 0x001, 0x200, 0x155];
        let (l, c) = p010_16x16(
            |x, y| {
                if y == 0 && x < 4 {
                    first[x]
                } else {
                    u16::try_from((x * 37 + y * 91) % 1024).unwrap()
                }
            },
            |x, y| u16::try_from(1023 - x - 8 * y).unwrap(),
            |x, y| u16::try_from(3 + 4 * x + 32 * y).unwrap(),
        );
        let pic = P010Picture {
            luma: &l,
            luma_stride: 32,
            chroma: &c,
            chroma_stride: 32,
            width: 16,
            height: 16,
        };
        assert_eq!(pic.problem(), None);
        let mut w = BitWriter::default();
        pic.write_cu(&mut w, 0, 0);
        assert!(w.is_aligned());
        let out = finish_aligned({
            let mut w = w;
            w.bit(true); // a stop bit, so that finish_aligned's dropped byte is this one
            w.align_with_zeros();
            w
        });
        assert_eq!(out.len(), 481);
        assert_eq!(out[..5], [0xff, 0xc0, 0x18, 0x01, 0x55]);
        // Every sample read back at 10 bits: luma raster, then Cb's 8x8, then Cr's.
        let mut d = Decoder::new(&out, 0);
        d.pos = 0;
        let samples: Vec<u32> = (0..384).map(|_| d.read(10)).collect();
        let expected: Vec<u32> = (0..256)
            .map(|i| u32::from(u16::from_le_bytes([l[2 * i], l[2 * i + 1]]) >> 6))
            .chain((0..64).map(|i| u32::from(u16::from_le_bytes([c[4 * i], c[4 * i + 1]]) >> 6)))
            .chain(
                (0..64).map(|i| u32::from(u16::from_le_bytes([c[4 * i + 2], c[4 * i + 3]]) >> 6)),
            )
            .collect();
        assert_eq!(samples, expected);
        assert_eq!((samples[256], samples[320]), (1023, 3));
        // A short plane is named.
        let short = P010Picture {
            luma: &l[..500],
            ..pic
        };
        assert_eq!(
            short.problem().unwrap(),
            "the 10-bit luma plane has 500 bytes with stride 32 but 16x16 needs a stride ≥ 32 and 512 bytes"
        );
    }

    #[test]
    fn the_sps_bit_depth_and_the_sources_must_agree() {
        let i = native::StdVideoH265SliceType_STD_VIDEO_H265_SLICE_TYPE_I;
        let (l, c) = p010_16x16(|_, _| 512, |_, _| 100, |_, _| 900);
        let p010 = P010Picture {
            luma: &l,
            luma_stride: 32,
            chroma: &c,
            chroma_stride: 32,
            width: 16,
            height: 16,
        };
        let (l8, c8) = (vec![16u8; 256], vec![128u8; 128]);
        let nv12 = Nv12Picture {
            luma: &l8,
            luma_stride: 16,
            chroma: &c8,
            chroma_stride: 16,
            width: 16,
            height: 16,
        };
        let (sps10, pps10) = sets_of_depth(2, 2);
        let s = sps10.written.get();
        assert_eq!(
            (
                s.pcm_sample_bit_depth_luma_minus1,
                s.pcm_sample_bit_depth_chroma_minus1
            ),
            (9, 9)
        );
        let (idr, slice) = (picture(true, 0), slice(i, 0));
        let au = encode_picture(&sps10, &pps10, &idr, &slice, &p010).unwrap();
        // Header bytes, then one coding unit: bins, alignment, 480 PCM bytes, the end.
        assert_eq!(au[..6], [0, 0, 0, 1, 19 << 1, 1]);
        assert!(au.len() > 6 + 480, "{}", au.len());
        assert_eq!(
            encode_picture(&sps10, &pps10, &idr, &slice, &nv12).unwrap_err(),
            "SPS 0 has 10-bit samples but the source picture is 8-bit (NV12): the session's picture format and the SPS's bit depth must agree"
        );
        let (sps8, pps8) = sets();
        assert_eq!(
            encode_picture(&sps8, &pps8, &idr, &slice, &p010).unwrap_err(),
            "SPS 0 has 8-bit samples but the source picture is 10-bit (P010): the session's picture format and the SPS's bit depth must agree"
        );
        // 12 bits, and 10-bit luma with 8-bit chroma: refused by name.
        let (sps12, pps12) = sets_of_depth(4, 4);
        assert!(encode_picture(&sps12, &pps12, &idr, &slice, &p010)
            .unwrap_err()
            .ends_with("with 4+8 / 4+8 bits; this encoder writes 4:2:0 (1) with 8 bits (Main) or 10 bits (Main 10), luma and chroma alike"));
        let (mixed, pps_mixed) = sets_of_depth(2, 0);
        assert!(encode_picture(&mixed, &pps_mixed, &idr, &slice, &p010)
            .unwrap_err()
            .contains("with 2+8 / 0+8 bits"));
    }

    #[test]
    fn contexts_start_from_the_init_values_and_slice_qp() {
        // initValue 154 (part_mode, P) at QP 26: m = 9*5-45 = 0, n = (10<<3)-16 = 64 →
        // preCtxState 64: valMps 1, pStateIdx 0.
        assert_eq!(
            Context::new(154, 26),
            Context {
                state: 0,
                mps: true
            }
        );
        // 184 (part_mode, I) at QP 30: m = 11*5-45 = 10, n = 8*8-16 = 48;
        // (10*30)>>4 = 18 → 66: valMps 1, pStateIdx 2.
        assert_eq!(
            Context::new(184, 30),
            Context {
                state: 2,
                mps: true
            }
        );
        // 197 at QP 60 (clipped to 51): m = 12*5-45 = 15, n = 5*8-16 = 24;
        // (15*51)>>4 = 47 → 71: pStateIdx 7.
        assert_eq!(
            Context::new(197, 60),
            Context {
                state: 7,
                mps: true
            }
        );
        // 149 at QP 22: m = 9*5-45 = 0, n = 5*8-16 = 24 → 24: valMps 0, pStateIdx 39.
        assert_eq!(
            Context::new(149, 22),
            Context {
                state: 39,
                mps: false
            }
        );
        // The clip at 1: initValue 0 at QP 51: m = -45, n = -16 → 1: pStateIdx 62.
        assert_eq!(
            Context::new(0, 51),
            Context {
                state: 62,
                mps: false
            }
        );
    }

    #[test]
    fn a_terminate_after_init_flushes_the_hand_computed_nine_bits() {
        // ivlLow 508 after the 1; RenormE moves 7 outstanding bits; PutBit(0) is the
        // suppressed first bit, then the seven 1s, then ((0 >> 7) & 3) | 1 as two bits.
        let mut c = Cabac::new(BitWriter::default());
        c.terminate(true);
        let mut w = c.into_writer();
        w.align_with_zeros();
        assert_eq!(finish_aligned(w), [0b1111_1110, 0b1000_0000]);
    }

    #[test]
    fn a_decision_then_a_terminate_has_the_hand_computed_bits() {
        // State 0, MPS 0, bin 0: rLps = rangeTabLps[0][3] = 240, range 270, no renorm.
        // Terminate 1: range 268, low 268; RenormE: 1 outstanding, then four PutBit(0) (the
        // first suppressed, so "1 000"), two outstanding, then PutBit(0) "0 11" and "01".
        let mut ctx = Context {
            state: 0,
            mps: false,
        };
        let mut c = Cabac::new(BitWriter::default());
        c.decision(&mut ctx, false);
        assert_eq!(
            ctx,
            Context {
                state: 1,
                mps: false
            }
        );
        c.terminate(true);
        let out = finish_aligned({
            let mut w = c.into_writer();
            w.align_with_zeros();
            w
        });
        assert_eq!(bits(&out, 9), "100001101");
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn long_bin_sequences_decode_back_through_the_specs_decoder() {
        // A fixed pseudo-random sequence over three contexts with skewed statistics, then
        // terminate bins; the decoder of section 9.3.4.3 must read the same bins.
        let mut seed = 0x1234_5678_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let mut bins = Vec::new();
        for i in 0..5000 {
            let r = next();
            let ctx = (r % 3) as usize;
            let bin = match ctx {
                0 => r % 16 == 0,
                1 => r % 4 != 0,
                _ => r & 0x100 != 0,
            };
            bins.push((ctx, bin, i % 97 == 0));
        }
        let init = [
            Context::new(197, 30),
            Context::new(149, 30),
            Context::new(63, 30),
        ];
        let mut enc_ctx = init;
        let mut c = Cabac::new(BitWriter::default());
        for &(ctx, bin, term) in &bins {
            c.decision(&mut enc_ctx[ctx], bin);
            if term {
                c.terminate(false);
            }
        }
        c.terminate(true);
        let mut w = c.into_writer();
        w.align_with_zeros();
        let data = finish_aligned(w);
        let mut d = Decoder::new(&data, 0);
        let mut dec_ctx = init;
        for (i, &(ctx, bin, term)) in bins.iter().enumerate() {
            assert_eq!(d.decision(&mut dec_ctx[ctx]), bin, "bin {i}");
            if term {
                assert!(!d.terminate(), "terminate after bin {i}");
            }
        }
        assert!(d.terminate());
        assert_eq!(enc_ctx, dec_ctx);
        // The decoder has read up to the flush's final 1, the stop bit: only alignment
        // zeros follow.
        assert_eq!(d.pos.div_ceil(8), data.len());
        assert_eq!(data[(d.pos - 1) / 8] >> (7 - (d.pos - 1) % 8) & 1, 1);
    }

    #[test]
    fn after_a_terminating_one_the_decoder_stands_where_the_pcm_bytes_start() {
        // Bins, pcm_flag 1, alignment, two bytes, then a restarted engine: the decoder reads
        // the bytes at the next byte boundary after its position and restarts after them.
        let mut ctx = Context::new(154, 26);
        let mut c = Cabac::new(BitWriter::default());
        for bin in [true, true, false, true, true] {
            c.decision(&mut ctx, bin);
        }
        c.terminate(true);
        c.writer().align_with_zeros();
        c.writer().bytes(&[0xab, 0x00]);
        c.restart();
        let mut ctx2 = ctx;
        c.decision(&mut ctx2, false);
        c.terminate(true);
        let mut w = c.into_writer();
        w.align_with_zeros();
        let data = finish_aligned(w);

        let mut dctx = Context::new(154, 26);
        let mut d = Decoder::new(&data, 0);
        for bin in [true, true, false, true, true] {
            assert_eq!(d.decision(&mut dctx), bin);
        }
        assert!(d.terminate());
        let at = d.pos.div_ceil(8);
        assert_eq!(data[at..at + 2], [0xab, 0x00]);
        let mut d = Decoder::new(&data, (at + 2) * 8);
        assert!(!d.decision(&mut dctx));
        assert!(d.terminate());
    }
}
