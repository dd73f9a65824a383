//! AV1 OBUs as the driver writes them, from the AV1 specification's syntax (section 5): the
//! OBU framing (5.3: `obu_header()` with `obu_has_size_field` 1, the optional extension header,
//! `leb128()` size), the sequence header OBU (5.5) of a session parameters object's
//! `StdVideoAV1SequenceHeader`, and the frame OBU (5.10) of one encoded picture: the
//! uncompressed header (5.9) written from `StdVideoEncodeAV1PictureInfo` and the active sequence
//! header, `byte_alignment()`, and a tile group (5.11.1) of uniformly spaced tiles whose data
//! the caller gives (the driver's tiles are not decodable: they carry a checksum of the input
//! picture, which AV1's structural readers skip).

use ash::vk::native;

use crate::av1::{
    StdVideoEncodeAV1DecoderModelInfo, StdVideoEncodeAV1OperatingPointInfo,
    StdVideoEncodeAV1OperatingPointInfoFlags as OpFlags, StdVideoEncodeAV1PictureInfo,
    StdVideoEncodeAV1PictureInfoFlags as PicFlags, STD_VIDEO_AV1_NUM_REF_FRAMES,
    STD_VIDEO_AV1_REFS_PER_FRAME, STD_VIDEO_AV1_SELECT_INTEGER_MV,
    STD_VIDEO_AV1_SELECT_SCREEN_CONTENT_TOOLS,
};
use crate::command::Plain;

/// `OBU_SEQUENCE_HEADER`.
pub(crate) const OBU_SEQUENCE_HEADER: u8 = 1;
/// `OBU_FRAME`.
pub(crate) const OBU_FRAME: u8 = 6;

const KEY_FRAME: u32 = native::StdVideoAV1FrameType_STD_VIDEO_AV1_FRAME_TYPE_KEY;
const INTRA_ONLY_FRAME: u32 = native::StdVideoAV1FrameType_STD_VIDEO_AV1_FRAME_TYPE_INTRA_ONLY;
const SWITCH_FRAME: u32 = native::StdVideoAV1FrameType_STD_VIDEO_AV1_FRAME_TYPE_SWITCH;
/// `MAX_TILE_WIDTH`, `MAX_TILE_AREA`, `MAX_TILE_COLS`, `MAX_TILE_ROWS` (section 3).
const MAX_TILE_WIDTH: u32 = 4096;
const MAX_TILE_AREA: u32 = 4096 * 2304;
const MAX_TILE_COLS: u32 = 64;
const MAX_TILE_ROWS: u32 = 64;

/// Writes the AV1 descriptors of section 4.10, most significant bit first.
#[derive(Default, Debug)]
struct Bits {
    bytes: Vec<u8>,
    /// Bits used in the last byte (0: it is full, or there is none).
    used: u32,
}

impl Bits {
    fn bit(&mut self, b: bool) {
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

    fn flag(&mut self, b: bool) {
        self.bit(b);
    }

    /// `f(n)`: the low `n` bits of `value`, `n` ≤ 64.
    fn f(&mut self, n: u32, value: u64) {
        for i in (0..n).rev() {
            self.bit((value >> i) & 1 == 1);
        }
    }

    /// `su(n)`: `value` in `n` bits, two's complement.
    fn su(&mut self, n: u32, value: i32) {
        let bits = u64::from(u32::from_ne_bytes(value.to_ne_bytes())) & ((1u64 << n) - 1);
        self.f(n, bits);
    }

    /// `uvlc()`: `value + 1` preceded by as many zeros as it has bits after its leading one.
    fn uvlc(&mut self, value: u32) {
        let x = u64::from(value) + 1;
        let len = 64 - x.leading_zeros();
        self.f(len - 1, 0);
        self.f(len, x);
    }

    /// `le(n)`: `n` bytes, least significant first (the writer is byte-aligned).
    fn le(&mut self, n: u32, value: u64) {
        for i in 0..n {
            self.f(8, (value >> (8 * i)) & 0xff);
        }
    }

    /// `byte_alignment()`: zero bits to the next byte boundary.
    fn byte_alignment(&mut self) {
        self.used = 0;
    }

    /// `trailing_bits()` to the end of an OBU payload: a one, then zeros to the byte boundary.
    fn trailing_bits(&mut self) {
        self.bit(true);
        self.used = 0;
    }

    /// The bytes written (the writer is byte-aligned).
    fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// `leb128()` of `value` (section 4.10.5): seven bits per byte, least significant group first,
/// the top bit set on every byte but the last.
pub(crate) fn leb128(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let low = u8::try_from(value & 0x7f).unwrap_or(0);
        value >>= 7;
        if value == 0 {
            out.push(low);
            return out;
        }
        out.push(low | 0x80);
    }
}

/// One OBU (section 5.3): `obu_header()` with `obu_has_size_field` 1 and, when `extension` is
/// `Some((temporal_id, spatial_id))`, `obu_extension_header()`; then `obu_size` as `leb128()`
/// and the payload.
pub(crate) fn obu(obu_type: u8, extension: Option<(u8, u8)>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(obu_type & 0xf) << 3 | u8::from(extension.is_some()) << 2 | 1 << 1];
    if let Some((temporal_id, spatial_id)) = extension {
        out.push((temporal_id & 7) << 5 | (spatial_id & 3) << 3);
    }
    out.extend(leb128(u64::try_from(payload.len()).unwrap_or(u64::MAX)));
    out.extend_from_slice(payload);
    out
}

fn on(flag: u32) -> bool {
    flag != 0
}

/// The sequence header a session parameters object holds: the application's
/// `StdVideoAV1SequenceHeader` with what its pointers pointed to, the optional decoder model and
/// operating points, and the level of the one operating point written when none is given.
#[derive(Clone, Debug)]
pub(crate) struct Sequence {
    /// The std header, its pointers NULL.
    pub(crate) header: Plain<native::StdVideoAV1SequenceHeader>,
    /// `*pColorConfig`.
    pub(crate) color: native::StdVideoAV1ColorConfig,
    /// `*pTimingInfo`, when `timing_info_present_flag` is set.
    pub(crate) timing: Option<native::StdVideoAV1TimingInfo>,
    /// The decoder model information, when given with timing information.
    pub(crate) decoder_model: Option<StdVideoEncodeAV1DecoderModelInfo>,
    /// The operating points (none: one point, all layers, at [`Sequence::level`]).
    pub(crate) operating_points: Vec<StdVideoEncodeAV1OperatingPointInfo>,
    /// `seq_level_idx[0]` when no operating point is given: the session's level.
    pub(crate) level: u8,
}

fn fits(what: &str, value: u64, bits: u32) -> Result<(), String> {
    if value >> bits == 0 {
        Ok(())
    } else {
        Err(format!("{what} {value} does not fit its {bits} bits"))
    }
}

impl Sequence {
    /// Checks the application's sequence header against the syntax it is written with (field
    /// widths, the values a Main profile 4:2:0 header derives) and keeps it.
    pub(crate) fn new(
        header: &native::StdVideoAV1SequenceHeader,
        color: Option<&native::StdVideoAV1ColorConfig>,
        timing: Option<&native::StdVideoAV1TimingInfo>,
        decoder_model: Option<&StdVideoEncodeAV1DecoderModelInfo>,
        operating_points: &[StdVideoEncodeAV1OperatingPointInfo],
        level: u8,
    ) -> Result<Self, String> {
        let f = header.flags;
        if on(f.film_grain_params_present()) {
            return Err("film_grain_params_present is set (VUID-VkVideoEncodeAV1SessionParametersCreateInfoKHR-pStdSequenceHeader-10288)".into());
        }
        let color = *color.ok_or("pColorConfig is NULL: the sequence header's color_config()")?;
        let timing = if on(f.timing_info_present_flag()) {
            Some(*timing.ok_or("timing_info_present_flag is set but pTimingInfo is NULL")?)
        } else {
            None
        };
        if header.seq_profile != native::StdVideoAV1Profile_STD_VIDEO_AV1_PROFILE_MAIN {
            return Err(format!(
                "seq_profile {}: the session encodes Main (0)",
                header.seq_profile
            ));
        }
        let mono = on(color.flags.mono_chrome());
        let identity = color.color_primaries
            == native::StdVideoAV1ColorPrimaries_STD_VIDEO_AV1_COLOR_PRIMARIES_BT_709
            && color.transfer_characteristics
                == native::StdVideoAV1TransferCharacteristics_STD_VIDEO_AV1_TRANSFER_CHARACTERISTICS_SRGB
            && color.matrix_coefficients
                == native::StdVideoAV1MatrixCoefficients_STD_VIDEO_AV1_MATRIX_COEFFICIENTS_IDENTITY;
        if mono || identity || (color.subsampling_x, color.subsampling_y) != (1, 1) {
            return Err(format!(
                "color_config mono_chrome {} subsampling {},{} (sRGB identity: {identity}): Main 4:2:0 has two chroma planes subsampled both ways",
                u32::from(mono),
                color.subsampling_x,
                color.subsampling_y
            ));
        }
        if !matches!(color.BitDepth, 8 | 10) {
            return Err(format!(
                "BitDepth {}: Main has 8 and 10 bits",
                color.BitDepth
            ));
        }
        fits("color_primaries", u64::from(color.color_primaries), 8)?;
        fits(
            "transfer_characteristics",
            u64::from(color.transfer_characteristics),
            8,
        )?;
        fits(
            "matrix_coefficients",
            u64::from(color.matrix_coefficients),
            8,
        )?;
        fits(
            "chroma_sample_position",
            u64::from(color.chroma_sample_position),
            2,
        )?;
        fits(
            "frame_width_bits_minus_1",
            u64::from(header.frame_width_bits_minus_1),
            4,
        )?;
        fits(
            "frame_height_bits_minus_1",
            u64::from(header.frame_height_bits_minus_1),
            4,
        )?;
        fits(
            "max_frame_width_minus_1",
            u64::from(header.max_frame_width_minus_1),
            u32::from(header.frame_width_bits_minus_1) + 1,
        )?;
        fits(
            "max_frame_height_minus_1",
            u64::from(header.max_frame_height_minus_1),
            u32::from(header.frame_height_bits_minus_1) + 1,
        )?;
        fits(
            "order_hint_bits_minus_1",
            u64::from(header.order_hint_bits_minus_1),
            3,
        )?;
        fits(
            "delta_frame_id_length_minus_2",
            u64::from(header.delta_frame_id_length_minus_2),
            4,
        )?;
        fits(
            "additional_frame_id_length_minus_1",
            u64::from(header.additional_frame_id_length_minus_1),
            3,
        )?;
        if header.seq_force_screen_content_tools > STD_VIDEO_AV1_SELECT_SCREEN_CONTENT_TOOLS
            || header.seq_force_integer_mv > STD_VIDEO_AV1_SELECT_INTEGER_MV
        {
            return Err(format!(
                "seq_force_screen_content_tools {} / seq_force_integer_mv {}: 0, 1 or 2 (SELECT)",
                header.seq_force_screen_content_tools, header.seq_force_integer_mv
            ));
        }
        let reduced = on(f.reduced_still_picture_header());
        if reduced && !on(f.still_picture()) {
            return Err("reduced_still_picture_header without still_picture".into());
        }
        if reduced && (timing.is_some() || !operating_points.is_empty()) {
            return Err(
                "a reduced still picture header has no timing information or operating points"
                    .into(),
            );
        }
        let decoder_model = match (decoder_model, timing) {
            (Some(d), Some(_)) => {
                fits(
                    "buffer_delay_length_minus_1",
                    u64::from(d.buffer_delay_length_minus_1),
                    5,
                )?;
                fits(
                    "buffer_removal_time_length_minus_1",
                    u64::from(d.buffer_removal_time_length_minus_1),
                    5,
                )?;
                fits(
                    "frame_presentation_time_length_minus_1",
                    u64::from(d.frame_presentation_time_length_minus_1),
                    5,
                )?;
                Some(*d)
            }
            // Decoder model information amends timing information only.
            _ => None,
        };
        if operating_points.len() > 32 {
            return Err(format!(
                "{} operating points: the header has room for 32",
                operating_points.len()
            ));
        }
        for (i, op) in operating_points.iter().enumerate() {
            fits(
                &format!("operating point {i}'s operating_point_idc"),
                u64::from(op.operating_point_idc),
                12,
            )?;
            fits(
                &format!("operating point {i}'s seq_level_idx"),
                u64::from(op.seq_level_idx),
                5,
            )?;
            fits(
                &format!("operating point {i}'s initial_display_delay_minus_1"),
                u64::from(op.initial_display_delay_minus_1),
                4,
            )?;
            if let Some(d) = decoder_model {
                let n = u32::from(d.buffer_delay_length_minus_1) + 1;
                fits(
                    "decoder_buffer_delay",
                    u64::from(op.decoder_buffer_delay),
                    n,
                )?;
                fits(
                    "encoder_buffer_delay",
                    u64::from(op.encoder_buffer_delay),
                    n,
                )?;
            }
        }
        let mut plain = *header;
        plain.pColorConfig = std::ptr::null();
        plain.pTimingInfo = std::ptr::null();
        Ok(Self {
            header: Plain(plain),
            color,
            timing,
            decoder_model,
            operating_points: operating_points.to_vec(),
            level,
        })
    }

    fn flags(&self) -> native::StdVideoAV1SequenceHeaderFlags {
        self.header.0.flags
    }

    /// `reduced_still_picture_header`.
    pub(crate) fn reduced(&self) -> bool {
        on(self.flags().reduced_still_picture_header())
    }

    /// `OrderHintBits`.
    pub(crate) fn order_hint_bits(&self) -> u32 {
        if on(self.flags().enable_order_hint()) && !self.reduced() {
            u32::from(self.header.0.order_hint_bits_minus_1) + 1
        } else {
            0
        }
    }

    /// `decoder_model_info_present_flag`.
    pub(crate) fn decoder_model_present(&self) -> bool {
        self.decoder_model.is_some()
    }

    /// `equal_picture_interval` (0 without timing information).
    fn equal_picture_interval(&self) -> bool {
        self.timing
            .is_some_and(|t| on(t.flags.equal_picture_interval()))
    }

    /// (`max_frame_width_minus_1` + 1, `max_frame_height_minus_1` + 1).
    pub(crate) fn max_frame_size(&self) -> (u32, u32) {
        (
            u32::from(self.header.0.max_frame_width_minus_1) + 1,
            u32::from(self.header.0.max_frame_height_minus_1) + 1,
        )
    }

    /// The operating points written: the given ones, or one with every layer at the session's
    /// level.
    fn points(&self) -> Vec<StdVideoEncodeAV1OperatingPointInfo> {
        if self.operating_points.is_empty() {
            vec![StdVideoEncodeAV1OperatingPointInfo {
                seq_level_idx: self.level,
                ..Default::default()
            }]
        } else {
            self.operating_points.clone()
        }
    }

    /// The sequence header OBU (section 5.5), with trailing bits.
    pub(crate) fn obu(&self) -> Vec<u8> {
        let h = &self.header.0;
        let f = h.flags;
        let mut w = Bits::default();
        w.f(3, u64::from(h.seq_profile));
        w.flag(on(f.still_picture()));
        w.flag(self.reduced());
        if self.reduced() {
            w.f(5, u64::from(self.level));
        } else {
            w.flag(self.timing.is_some());
            if let Some(t) = &self.timing {
                w.f(32, u64::from(t.num_units_in_display_tick));
                w.f(32, u64::from(t.time_scale));
                w.flag(on(t.flags.equal_picture_interval()));
                if on(t.flags.equal_picture_interval()) {
                    w.uvlc(t.num_ticks_per_picture_minus_1);
                }
                w.flag(self.decoder_model_present());
                if let Some(d) = &self.decoder_model {
                    w.f(5, u64::from(d.buffer_delay_length_minus_1));
                    w.f(32, u64::from(d.num_units_in_decoding_tick));
                    w.f(5, u64::from(d.buffer_removal_time_length_minus_1));
                    w.f(5, u64::from(d.frame_presentation_time_length_minus_1));
                }
            }
            let initial_display_delay = on(f.initial_display_delay_present_flag());
            w.flag(initial_display_delay);
            let points = self.points();
            w.f(5, u64::try_from(points.len() - 1).unwrap_or(0));
            for op in &points {
                w.f(12, u64::from(op.operating_point_idc));
                w.f(5, u64::from(op.seq_level_idx));
                if op.seq_level_idx > 7 {
                    w.f(1, u64::from(op.seq_tier));
                }
                if let Some(d) = &self.decoder_model {
                    let present = op
                        .flags
                        .contains(OpFlags::DECODER_MODEL_PRESENT_FOR_THIS_OP);
                    w.flag(present);
                    if present {
                        let n = u32::from(d.buffer_delay_length_minus_1) + 1;
                        w.f(n, u64::from(op.decoder_buffer_delay));
                        w.f(n, u64::from(op.encoder_buffer_delay));
                        w.flag(op.flags.contains(OpFlags::LOW_DELAY_MODE_FLAG));
                    }
                }
                if initial_display_delay {
                    let present = op
                        .flags
                        .contains(OpFlags::INITIAL_DISPLAY_DELAY_PRESENT_FOR_THIS_OP);
                    w.flag(present);
                    if present {
                        w.f(4, u64::from(op.initial_display_delay_minus_1));
                    }
                }
            }
        }
        w.f(4, u64::from(h.frame_width_bits_minus_1));
        w.f(4, u64::from(h.frame_height_bits_minus_1));
        w.f(
            u32::from(h.frame_width_bits_minus_1) + 1,
            u64::from(h.max_frame_width_minus_1),
        );
        w.f(
            u32::from(h.frame_height_bits_minus_1) + 1,
            u64::from(h.max_frame_height_minus_1),
        );
        if !self.reduced() {
            w.flag(on(f.frame_id_numbers_present_flag()));
            if on(f.frame_id_numbers_present_flag()) {
                w.f(4, u64::from(h.delta_frame_id_length_minus_2));
                w.f(3, u64::from(h.additional_frame_id_length_minus_1));
            }
        }
        w.flag(on(f.use_128x128_superblock()));
        w.flag(on(f.enable_filter_intra()));
        w.flag(on(f.enable_intra_edge_filter()));
        if !self.reduced() {
            w.flag(on(f.enable_interintra_compound()));
            w.flag(on(f.enable_masked_compound()));
            w.flag(on(f.enable_warped_motion()));
            w.flag(on(f.enable_dual_filter()));
            let order_hint = on(f.enable_order_hint());
            w.flag(order_hint);
            if order_hint {
                w.flag(on(f.enable_jnt_comp()));
                w.flag(on(f.enable_ref_frame_mvs()));
            }
            let sct = h.seq_force_screen_content_tools;
            w.flag(sct == STD_VIDEO_AV1_SELECT_SCREEN_CONTENT_TOOLS);
            if sct != STD_VIDEO_AV1_SELECT_SCREEN_CONTENT_TOOLS {
                w.f(1, u64::from(sct));
            }
            if sct > 0 {
                let mv = h.seq_force_integer_mv;
                w.flag(mv == STD_VIDEO_AV1_SELECT_INTEGER_MV);
                if mv != STD_VIDEO_AV1_SELECT_INTEGER_MV {
                    w.f(1, u64::from(mv));
                }
            }
            if order_hint {
                w.f(3, u64::from(h.order_hint_bits_minus_1));
            }
        }
        w.flag(on(f.enable_superres()));
        w.flag(on(f.enable_cdef()));
        w.flag(on(f.enable_restoration()));
        self.color_config(&mut w);
        w.flag(false); // film_grain_params_present (10288 keeps it 0)
        w.trailing_bits();
        obu(OBU_SEQUENCE_HEADER, None, &w.into_bytes())
    }

    /// `color_config()` (section 5.5.2) for Main: `twelve_bit` and the subsampling bits are not
    /// written (profile 0 derives 4:2:0).
    fn color_config(&self, w: &mut Bits) {
        let c = &self.color;
        w.flag(c.BitDepth > 8);
        w.flag(on(c.flags.mono_chrome()));
        let described = on(c.flags.color_description_present_flag());
        w.flag(described);
        if described {
            w.f(8, u64::from(c.color_primaries));
            w.f(8, u64::from(c.transfer_characteristics));
            w.f(8, u64::from(c.matrix_coefficients));
        }
        w.flag(on(c.flags.color_range()));
        // subsampling_x && subsampling_y (Main 4:2:0): chroma_sample_position.
        w.f(2, u64::from(c.chroma_sample_position));
        w.flag(on(c.flags.separate_uv_delta_q()));
    }
}

/// `tile_log2(blkSize, target)` (section 5.9.16): the smallest k with `blkSize << k ≥ target`.
fn tile_log2(blk: u32, target: u32) -> u32 {
    let mut k = 0;
    while u64::from(blk) << k < u64::from(target) {
        k += 1;
    }
    k
}

/// The tile layout of a frame: uniform spacing (section 5.9.15) with the chosen exponents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tiles {
    /// `TileColsLog2`, `TileRowsLog2`.
    pub(crate) log2: (u32, u32),
    /// `TileCols`, `TileRows`.
    pub(crate) count: (u32, u32),
    min_cols_log2: u32,
    max_cols_log2: u32,
    min_rows_log2: u32,
    max_rows_log2: u32,
    /// Whether the application's tile request could not be followed exactly.
    pub(crate) overridden: bool,
}

/// What the application asks of the tiles (`StdVideoAV1TileInfo`): uniform spacing, columns,
/// rows.
pub(crate) type TileRequest = (bool, u32, u32);

impl Tiles {
    /// The uniform layout of a `mi_cols` x `mi_rows` frame of 64x64 (or 128x128) superblocks:
    /// the fewest tiles the AV1 limits allow, or the fewest uniform tiles that reach the
    /// requested counts (the request is overridden when uniform spacing cannot meet it).
    pub(crate) fn uniform(mi: (u32, u32), sb128: bool, request: Option<TileRequest>) -> Self {
        let (sb_shift, sb_size) = if sb128 { (5, 7) } else { (4, 6) };
        let sb_cols = (mi.0 + (1 << sb_shift) - 1) >> sb_shift;
        let sb_rows = (mi.1 + (1 << sb_shift) - 1) >> sb_shift;
        let max_tile_width_sb = MAX_TILE_WIDTH >> sb_size;
        let max_tile_area_sb = MAX_TILE_AREA >> (2 * sb_size);
        let min_cols_log2 = tile_log2(max_tile_width_sb, sb_cols);
        let max_cols_log2 = tile_log2(1, sb_cols.min(MAX_TILE_COLS));
        let max_rows_log2 = tile_log2(1, sb_rows.min(MAX_TILE_ROWS));
        let min_log2_tiles = min_cols_log2.max(tile_log2(max_tile_area_sb, sb_rows * sb_cols));
        let count = |sbs: u32, log2: u32| {
            let size = (sbs + (1 << log2) - 1) >> log2;
            sbs.div_ceil(size)
        };
        let pick = |sbs: u32, min: u32, max: u32, wanted: Option<u32>| match wanted {
            None => min,
            Some(n) => (min..=max).find(|&k| count(sbs, k) >= n).unwrap_or(max),
        };
        let cols_log2 = pick(
            sb_cols,
            min_cols_log2,
            max_cols_log2.max(min_cols_log2),
            request.map(|r| r.1),
        );
        let min_rows_log2 = min_log2_tiles.saturating_sub(cols_log2);
        let rows_log2 = pick(
            sb_rows,
            min_rows_log2,
            max_rows_log2.max(min_rows_log2),
            request.map(|r| r.2),
        );
        let counts = (count(sb_cols, cols_log2), count(sb_rows, rows_log2));
        let overridden = request.is_some_and(|(uniform, c, r)| !uniform || (c, r) != counts);
        Self {
            log2: (cols_log2, rows_log2),
            count: counts,
            min_cols_log2,
            max_cols_log2,
            min_rows_log2,
            max_rows_log2,
            overridden,
        }
    }

    /// `NumTiles`.
    pub(crate) fn num(&self) -> u32 {
        self.count.0 * self.count.1
    }
}

/// Everything a frame OBU is written from.
pub(crate) struct Frame<'a> {
    /// The active sequence header.
    pub(crate) seq: &'a Sequence,
    /// The std picture information (its pointers not used).
    pub(crate) pic: &'a StdVideoEncodeAV1PictureInfo,
    /// `*pQuantization` (its `base_q_idx` replaced by [`Frame::base_q_idx`]).
    pub(crate) quantization: native::StdVideoAV1Quantization,
    /// `*pLoopFilter`.
    pub(crate) loop_filter: native::StdVideoAV1LoopFilter,
    /// `*pCDEF`.
    pub(crate) cdef: native::StdVideoAV1CDEF,
    /// `*pLoopRestoration`.
    pub(crate) loop_restoration: native::StdVideoAV1LoopRestoration,
    /// `GmType` of each reference (identity is written for all).
    pub(crate) gm_types: [u8; STD_VIDEO_AV1_NUM_REF_FRAMES],
    /// `(temporal_id, spatial_id)` of the picture (from `pExtensionHeader`, else 0, 0).
    pub(crate) layer: (u8, u8),
    /// Whether to write the OBU extension header.
    pub(crate) extension_header: bool,
    /// `buffer_removal_time[]` per operating point.
    pub(crate) buffer_removal_times: &'a [u32],
    /// The coded extent of the input picture: the (upscaled) frame size.
    pub(crate) extent: (u32, u32),
    /// The quantizer index the rate control chose.
    pub(crate) base_q_idx: u8,
    /// The tile request of `pTileInfo` and its `context_update_tile_id`.
    pub(crate) tiles: Option<(TileRequest, u32)>,
}

/// A written frame OBU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FrameObu {
    /// The OBU.
    pub(crate) obu: Vec<u8>,
    /// The application's values the driver did not follow (empty: none).
    pub(crate) overrides: Vec<&'static str>,
    /// The tile layout written.
    pub(crate) tiles: Tiles,
}

fn level(what: &str, v: u32, max: u32) -> Result<(), String> {
    if v <= max {
        Ok(())
    } else {
        Err(format!("{what} {v} is over its maximum {max}"))
    }
}

fn signed7(what: &str, v: i8) -> Result<(), String> {
    if (-64..=63).contains(&v) {
        Ok(())
    } else {
        Err(format!("{what} {v} does not fit su(1+6)"))
    }
}

/// `read_delta_q()` written: `delta_coded`, then the value when not 0.
fn delta_q(w: &mut Bits, v: i8) {
    w.flag(v != 0);
    if v != 0 {
        w.su(7, i32::from(v));
    }
}

/// The frame OBU of one picture (section 5.10): its uncompressed header (5.9.2, with
/// `show_existing_frame` 0), `byte_alignment()`, then the tile group (5.11.1) whose tiles hold
/// `tile(index, count)` each. Values the header semantics forbid are refused with the reason.
pub(crate) fn frame_obu(
    fr: &Frame<'_>,
    tile: impl Fn(u32, u32) -> Vec<u8>,
) -> Result<FrameObu, String> {
    let seq = fr.seq;
    let sh = &seq.header.0;
    let sf = sh.flags;
    let p = fr.pic;
    let pf = p.flags;
    let mut overrides = Vec::new();
    let mut w = Bits::default();
    let frame_type = p.frame_type;
    if frame_type > SWITCH_FRAME {
        return Err(format!(
            "frame_type {frame_type}: KEY 0, INTER 1, INTRA_ONLY 2, SWITCH 3"
        ));
    }
    let intra = frame_type == KEY_FRAME || frame_type == INTRA_ONLY_FRAME;
    let show_frame = pf.contains(PicFlags::SHOW_FRAME);
    let reduced = seq.reduced();
    let id_len = u32::from(sh.additional_frame_id_length_minus_1)
        + u32::from(sh.delta_frame_id_length_minus_2)
        + 3;
    let frame_ids = on(sf.frame_id_numbers_present_flag());
    let order_hint_bits = seq.order_hint_bits();
    let all_frames = 0xffu8;

    // show_existing_frame .. error_resilient_mode
    let error_resilient;
    if reduced {
        if frame_type != KEY_FRAME || !show_frame {
            return Err("a reduced still picture header codes one shown KEY_FRAME".into());
        }
        error_resilient = true;
    } else {
        w.flag(false); // show_existing_frame
        w.f(2, u64::from(frame_type));
        w.flag(show_frame);
        if show_frame && seq.decoder_model_present() && !seq.equal_picture_interval() {
            let n = seq.decoder_model.map_or(1, |d| {
                u32::from(d.frame_presentation_time_length_minus_1) + 1
            });
            w.f(n, u64::from(p.frame_presentation_time));
        }
        if !show_frame {
            w.flag(pf.contains(PicFlags::SHOWABLE_FRAME));
        }
        if frame_type == SWITCH_FRAME || (frame_type == KEY_FRAME && show_frame) {
            error_resilient = true;
        } else {
            error_resilient = pf.contains(PicFlags::ERROR_RESILIENT_MODE);
            w.flag(error_resilient);
        }
    }
    let disable_cdf_update = pf.contains(PicFlags::DISABLE_CDF_UPDATE);
    w.flag(disable_cdf_update);
    let allow_sct =
        if sh.seq_force_screen_content_tools == STD_VIDEO_AV1_SELECT_SCREEN_CONTENT_TOOLS {
            let v = pf.contains(PicFlags::ALLOW_SCREEN_CONTENT_TOOLS);
            w.flag(v);
            v
        } else {
            sh.seq_force_screen_content_tools != 0
        };
    let mut force_integer_mv = if allow_sct {
        if sh.seq_force_integer_mv == STD_VIDEO_AV1_SELECT_INTEGER_MV {
            let v = pf.contains(PicFlags::FORCE_INTEGER_MV);
            w.flag(v);
            v
        } else {
            sh.seq_force_integer_mv != 0
        }
    } else {
        false
    };
    if intra {
        force_integer_mv = true;
    }
    if frame_ids {
        fits("current_frame_id", u64::from(p.current_frame_id), id_len)?;
        w.f(id_len, u64::from(p.current_frame_id));
    }
    let size_override = if frame_type == SWITCH_FRAME {
        true
    } else if reduced {
        false
    } else {
        let v = pf.contains(PicFlags::FRAME_SIZE_OVERRIDE_FLAG);
        w.flag(v);
        v
    };
    let max = seq.max_frame_size();
    let (width, height) = fr.extent;
    if width > max.0 || height > max.1 {
        return Err(format!(
            "codedExtent {width}x{height} is larger than the sequence header's maximum frame size {}x{}",
            max.0, max.1
        ));
    }
    if !size_override && (width, height) != max {
        return Err(format!(
            "codedExtent {width}x{height} is not the sequence header's frame size {}x{} and frame_size_override_flag is 0",
            max.0, max.1
        ));
    }
    fits("order_hint", u64::from(p.order_hint), order_hint_bits)?;
    w.f(order_hint_bits, u64::from(p.order_hint));
    if !(intra || error_resilient) {
        level("primary_ref_frame", u32::from(p.primary_ref_frame), 7)?;
        w.f(3, u64::from(p.primary_ref_frame));
    }
    if seq.decoder_model_present() {
        let present = pf.contains(PicFlags::BUFFER_REMOVAL_TIME_PRESENT_FLAG);
        w.flag(present);
        if present {
            let n = seq
                .decoder_model
                .map_or(1, |d| u32::from(d.buffer_removal_time_length_minus_1) + 1);
            for (op_num, op) in seq.points().iter().enumerate() {
                if !op
                    .flags
                    .contains(OpFlags::DECODER_MODEL_PRESENT_FOR_THIS_OP)
                {
                    continue;
                }
                let idc = op.operating_point_idc;
                let in_temporal = (idc >> fr.layer.0) & 1 == 1;
                let in_spatial = (idc >> (u32::from(fr.layer.1) + 8)) & 1 == 1;
                if idc == 0 || (in_temporal && in_spatial) {
                    let t = fr.buffer_removal_times.get(op_num).ok_or_else(|| {
                        format!("no buffer_removal_time for operating point {op_num}")
                    })?;
                    w.f(n, u64::from(*t));
                }
            }
        }
    }
    let refresh = if frame_type == SWITCH_FRAME || (frame_type == KEY_FRAME && show_frame) {
        if p.refresh_frame_flags != all_frames {
            return Err(format!(
                "refresh_frame_flags {:#04x}: a shown KEY_FRAME (and a SWITCH_FRAME) refreshes all eight reference frames (0xff)",
                p.refresh_frame_flags
            ));
        }
        all_frames
    } else {
        if frame_type == INTRA_ONLY_FRAME && p.refresh_frame_flags == all_frames {
            return Err(
                "refresh_frame_flags 0xff on an INTRA_ONLY_FRAME (AV1 section 6.8.2 forbids it)"
                    .into(),
            );
        }
        w.f(8, u64::from(p.refresh_frame_flags));
        p.refresh_frame_flags
    };
    if (!intra || refresh != all_frames) && error_resilient && on(sf.enable_order_hint()) {
        for h in p.ref_order_hint {
            fits("ref_order_hint", u64::from(h), order_hint_bits)?;
            w.f(order_hint_bits, u64::from(h));
        }
    }
    let superres = |w: &mut Bits| -> Result<(u32, bool), String> {
        let use_superres = on(sf.enable_superres()) && pf.contains(PicFlags::USE_SUPERRES);
        if on(sf.enable_superres()) {
            w.flag(use_superres);
        }
        let denom = if use_superres {
            level("coded_denom", u32::from(p.coded_denom), 7)?;
            w.f(3, u64::from(p.coded_denom));
            u32::from(p.coded_denom) + 9
        } else {
            8
        };
        // FrameWidth after superres_params(): the downscaled width.
        Ok(((width * 8 + denom / 2) / denom, use_superres))
    };
    let frame_size = |w: &mut Bits| -> Result<(u32, bool), String> {
        if size_override {
            w.f(
                u32::from(sh.frame_width_bits_minus_1) + 1,
                u64::from(width - 1),
            );
            w.f(
                u32::from(sh.frame_height_bits_minus_1) + 1,
                u64::from(height - 1),
            );
        }
        superres(w)
    };
    let render_size = |w: &mut Bits| {
        let different = pf.contains(PicFlags::RENDER_AND_FRAME_SIZE_DIFFERENT);
        w.flag(different);
        if different {
            w.f(16, u64::from(p.render_width_minus_1));
            w.f(16, u64::from(p.render_height_minus_1));
        }
    };
    let mut allow_intrabc = false;
    let coded_width;
    // frame_reference_mode() writes 0: single reference prediction.
    let reference_select = false;
    if intra {
        let (fw, _) = frame_size(&mut w)?;
        coded_width = fw;
        render_size(&mut w);
        if allow_sct && fw == width {
            allow_intrabc = pf.contains(PicFlags::ALLOW_INTRABC);
            w.flag(allow_intrabc);
        }
    } else {
        if on(sf.enable_order_hint()) {
            if pf.contains(PicFlags::FRAME_REFS_SHORT_SIGNALING) {
                overrides.push("frame_refs_short_signaling (every ref_frame_idx is written)");
            }
            w.flag(false); // frame_refs_short_signaling
        }
        for i in 0..STD_VIDEO_AV1_REFS_PER_FRAME {
            let idx = p.ref_frame_idx[i];
            let slot = u8::try_from(idx)
                .ok()
                .filter(|s| *s < 8)
                .ok_or_else(|| format!("ref_frame_idx[{i}] {idx}: a reference frame 0 to 7"))?;
            w.f(3, u64::from(slot));
            if frame_ids {
                let n = u32::from(sh.delta_frame_id_length_minus_2) + 2;
                fits(
                    "delta_frame_id_minus_1",
                    u64::from(p.delta_frame_id_minus_1[i]),
                    n,
                )?;
                w.f(n, u64::from(p.delta_frame_id_minus_1[i]));
            }
        }
        if size_override && !error_resilient {
            // frame_size_with_refs(): no found_ref, the size written out.
            for _ in 0..STD_VIDEO_AV1_REFS_PER_FRAME {
                w.flag(false);
            }
        }
        let (fw, _) = frame_size(&mut w)?;
        coded_width = fw;
        render_size(&mut w);
        if !force_integer_mv {
            w.flag(pf.contains(PicFlags::ALLOW_HIGH_PRECISION_MV));
        }
        let switchable = pf.contains(PicFlags::IS_FILTER_SWITCHABLE);
        w.flag(switchable);
        if !switchable {
            level("interpolation_filter", p.interpolation_filter, 3)?;
            w.f(2, u64::from(p.interpolation_filter));
        }
        w.flag(pf.contains(PicFlags::IS_MOTION_MODE_SWITCHABLE));
        if !error_resilient && on(sf.enable_ref_frame_mvs()) {
            w.flag(pf.contains(PicFlags::USE_REF_FRAME_MVS));
        }
    }
    if !(reduced || disable_cdf_update) {
        w.flag(pf.contains(PicFlags::DISABLE_FRAME_END_UPDATE_CDF));
    }

    // tile_info()
    let mi = (2 * coded_width.div_ceil(8), 2 * height.div_ceil(8));
    let sb128 = on(sf.use_128x128_superblock());
    let tiles = Tiles::uniform(mi, sb128, fr.tiles.map(|t| t.0));
    if tiles.overridden {
        overrides.push("the tile layout (uniform spacing, the fewest tiles reaching the counts)");
    }
    w.flag(true); // uniform_tile_spacing_flag
    for (log2, min, max) in [
        (tiles.log2.0, tiles.min_cols_log2, tiles.max_cols_log2),
        (tiles.log2.1, tiles.min_rows_log2, tiles.max_rows_log2),
    ] {
        for _ in min..log2 {
            w.flag(true); // increment_tile_*_log2
        }
        if log2 < max {
            w.flag(false);
        }
    }
    let payloads: Vec<Vec<u8>> = (0..tiles.num()).map(|i| tile(i, tiles.num())).collect();
    if payloads.iter().any(Vec::is_empty) {
        return Err("an empty tile".into());
    }
    let largest = payloads.iter().map(Vec::len).max().unwrap_or(1);
    let tile_size_bytes = (1..=4u32)
        .find(|&n| (largest - 1) >> (8 * n) == 0)
        .ok_or("a tile over 4 GiB")?;
    if tiles.log2.0 > 0 || tiles.log2.1 > 0 {
        let mut context = fr.tiles.map_or(0, |t| t.1);
        if context >= tiles.num() {
            overrides.push("context_update_tile_id (past the tiles written)");
            context = 0;
        }
        w.f(tiles.log2.0 + tiles.log2.1, u64::from(context));
        w.f(2, u64::from(tile_size_bytes - 1));
    }

    // quantization_params()
    let q = &fr.quantization;
    let planes = if on(seq.color.flags.mono_chrome()) {
        1
    } else {
        3
    };
    w.f(8, u64::from(fr.base_q_idx));
    for (name, v) in [
        ("DeltaQYDc", q.DeltaQYDc),
        ("DeltaQUDc", q.DeltaQUDc),
        ("DeltaQUAc", q.DeltaQUAc),
        ("DeltaQVDc", q.DeltaQVDc),
        ("DeltaQVAc", q.DeltaQVAc),
    ] {
        signed7(name, v)?;
    }
    delta_q(&mut w, q.DeltaQYDc);
    let separate_uv = on(seq.color.flags.separate_uv_delta_q());
    let mut diff_uv = false;
    if planes > 1 {
        if separate_uv {
            diff_uv = on(q.flags.diff_uv_delta());
            w.flag(diff_uv);
        }
        delta_q(&mut w, q.DeltaQUDc);
        delta_q(&mut w, q.DeltaQUAc);
        if diff_uv {
            delta_q(&mut w, q.DeltaQVDc);
            delta_q(&mut w, q.DeltaQVAc);
        }
    }
    let (v_dc, v_ac) = if diff_uv {
        (q.DeltaQVDc, q.DeltaQVAc)
    } else {
        (q.DeltaQUDc, q.DeltaQUAc)
    };
    let using_qmatrix = on(q.flags.using_qmatrix());
    w.flag(using_qmatrix);
    if using_qmatrix {
        level("qm_y", u32::from(q.qm_y), 15)?;
        level("qm_u", u32::from(q.qm_u), 15)?;
        level("qm_v", u32::from(q.qm_v), 15)?;
        w.f(4, u64::from(q.qm_y));
        w.f(4, u64::from(q.qm_u));
        if separate_uv {
            w.f(4, u64::from(q.qm_v));
        }
    }
    // segmentation_params(): segmentation is off (VUID-vkCmdEncodeVideoKHR-pStdPictureInfo-10349).
    w.flag(false);
    // delta_q_params(), delta_lf_params()
    let mut delta_q_present = false;
    if fr.base_q_idx > 0 {
        delta_q_present = pf.contains(PicFlags::DELTA_Q_PRESENT);
        w.flag(delta_q_present);
    }
    if delta_q_present {
        level("delta_q_res", u32::from(p.delta_q_res), 3)?;
        w.f(2, u64::from(p.delta_q_res));
        let mut delta_lf_present = false;
        if !allow_intrabc {
            delta_lf_present = pf.contains(PicFlags::DELTA_LF_PRESENT);
            w.flag(delta_lf_present);
        }
        if delta_lf_present {
            level("delta_lf_res", u32::from(p.delta_lf_res), 3)?;
            w.f(2, u64::from(p.delta_lf_res));
            w.flag(pf.contains(PicFlags::DELTA_LF_MULTI));
        }
    }
    let coded_lossless = fr.base_q_idx == 0
        && q.DeltaQYDc == 0
        && q.DeltaQUAc == 0
        && q.DeltaQUDc == 0
        && v_ac == 0
        && v_dc == 0;
    let all_lossless = coded_lossless && coded_width == width;
    // loop_filter_params()
    if !(coded_lossless || allow_intrabc) {
        let lf = &fr.loop_filter;
        for (i, l) in lf.loop_filter_level.iter().enumerate() {
            level(&format!("loop_filter_level[{i}]"), u32::from(*l), 63)?;
        }
        level(
            "loop_filter_sharpness",
            u32::from(lf.loop_filter_sharpness),
            7,
        )?;
        w.f(6, u64::from(lf.loop_filter_level[0]));
        w.f(6, u64::from(lf.loop_filter_level[1]));
        if planes > 1 && (lf.loop_filter_level[0] != 0 || lf.loop_filter_level[1] != 0) {
            w.f(6, u64::from(lf.loop_filter_level[2]));
            w.f(6, u64::from(lf.loop_filter_level[3]));
        }
        w.f(3, u64::from(lf.loop_filter_sharpness));
        let enabled = on(lf.flags.loop_filter_delta_enabled());
        w.flag(enabled);
        if enabled {
            let update = on(lf.flags.loop_filter_delta_update());
            w.flag(update);
            if update {
                for i in 0..8 {
                    let u = (lf.update_ref_delta >> i) & 1 == 1;
                    w.flag(u);
                    if u {
                        signed7("loop_filter_ref_deltas", lf.loop_filter_ref_deltas[i])?;
                        w.su(7, i32::from(lf.loop_filter_ref_deltas[i]));
                    }
                }
                for i in 0..2 {
                    let u = (lf.update_mode_delta >> i) & 1 == 1;
                    w.flag(u);
                    if u {
                        signed7("loop_filter_mode_deltas", lf.loop_filter_mode_deltas[i])?;
                        w.su(7, i32::from(lf.loop_filter_mode_deltas[i]));
                    }
                }
            }
        }
    }
    // cdef_params()
    if !(coded_lossless || allow_intrabc || !on(sf.enable_cdef())) {
        let c = &fr.cdef;
        level("cdef_damping_minus_3", u32::from(c.cdef_damping_minus_3), 3)?;
        level("cdef_bits", u32::from(c.cdef_bits), 3)?;
        w.f(2, u64::from(c.cdef_damping_minus_3));
        w.f(2, u64::from(c.cdef_bits));
        for i in 0..(1usize << c.cdef_bits) {
            level(
                "cdef_y_pri_strength",
                u32::from(c.cdef_y_pri_strength[i]),
                15,
            )?;
            level(
                "cdef_y_sec_strength",
                u32::from(c.cdef_y_sec_strength[i]),
                3,
            )?;
            w.f(4, u64::from(c.cdef_y_pri_strength[i]));
            w.f(2, u64::from(c.cdef_y_sec_strength[i]));
            if planes > 1 {
                level(
                    "cdef_uv_pri_strength",
                    u32::from(c.cdef_uv_pri_strength[i]),
                    15,
                )?;
                level(
                    "cdef_uv_sec_strength",
                    u32::from(c.cdef_uv_sec_strength[i]),
                    3,
                )?;
                w.f(4, u64::from(c.cdef_uv_pri_strength[i]));
                w.f(2, u64::from(c.cdef_uv_sec_strength[i]));
            }
        }
    }
    // lr_params()
    if !(all_lossless || allow_intrabc || !on(sf.enable_restoration())) {
        let lr = &fr.loop_restoration;
        let mut uses_lr = false;
        let mut uses_chroma_lr = false;
        for i in 0..planes {
            let t = lr.FrameRestorationType[i];
            // lr_type is the index of FrameRestorationType in Remap_Lr_Type
            // {NONE, SWITCHABLE, WIENER, SGRPROJ}; the std values are NONE 0, WIENER 1,
            // SGRPROJ 2, SWITCHABLE 3.
            let lr_type = match t {
                0 => 0,
                3 => 1,
                1 => 2,
                2 => 3,
                other => return Err(format!("FrameRestorationType[{i}] {other}")),
            };
            w.f(2, lr_type);
            if t != 0 {
                uses_lr = true;
                uses_chroma_lr |= i > 0;
            }
        }
        if uses_lr {
            // LoopRestorationSize[] holds log2(size) - 5: 1, 2, 3 for 64, 128, 256.
            let size0 = u32::from(lr.LoopRestorationSize[0]);
            if !(1..=3).contains(&size0) || (sb128 && size0 == 1) {
                return Err(format!("LoopRestorationSize[0] {size0}"));
            }
            let shift = size0 - 1;
            if sb128 {
                w.f(1, u64::from(shift - 1));
            } else {
                w.flag(shift > 0);
                if shift > 0 {
                    w.f(1, u64::from(shift - 1));
                }
            }
            if uses_chroma_lr {
                let uv_shift = size0.saturating_sub(u32::from(lr.LoopRestorationSize[1]));
                level("lr_uv_shift", uv_shift, 1)?;
                w.f(1, u64::from(uv_shift));
            }
        }
    }
    // read_tx_mode()
    if !coded_lossless {
        match p.TxMode {
            native::StdVideoAV1TxMode_STD_VIDEO_AV1_TX_MODE_SELECT => w.flag(true),
            native::StdVideoAV1TxMode_STD_VIDEO_AV1_TX_MODE_LARGEST => w.flag(false),
            other => {
                return Err(format!(
                    "TxMode {other}: a frame that is not lossless has TX_MODE_LARGEST (1) or TX_MODE_SELECT (2)"
                ))
            }
        }
    }
    // frame_reference_mode(): single reference prediction.
    if !intra {
        w.flag(reference_select);
    }
    // skip_mode_params(): with reference_select 0 skip mode is not allowed, nothing is written.
    if pf.contains(PicFlags::SKIP_MODE_PRESENT) {
        overrides.push("skip_mode_present (skip mode needs compound prediction)");
    }
    if !(intra || error_resilient || !on(sf.enable_warped_motion())) {
        w.flag(pf.contains(PicFlags::ALLOW_WARPED_MOTION));
    }
    w.flag(pf.contains(PicFlags::REDUCED_TX_SET));
    // global_motion_params(): identity for every reference.
    if !intra {
        if fr.gm_types[1..].iter().any(|t| *t != 0) {
            overrides.push("global motion (identity for every reference)");
        }
        for _ in 0..STD_VIDEO_AV1_REFS_PER_FRAME {
            w.flag(false); // is_global
        }
    }
    // film_grain_params(): film_grain_params_present is 0.
    w.byte_alignment();

    // tile_group_obu()
    if tiles.num() > 1 {
        w.flag(false); // tile_start_and_end_present_flag (0 in a frame OBU)
        w.byte_alignment();
    }
    let last = payloads.len() - 1;
    for (i, data) in payloads.iter().enumerate() {
        if i < last {
            w.le(tile_size_bytes, u64::try_from(data.len() - 1).unwrap_or(0));
        }
        for b in data {
            w.f(8, u64::from(*b));
        }
    }
    let extension = fr.extension_header.then_some(fr.layer);
    Ok(FrameObu {
        obu: obu(OBU_FRAME, extension, &w.into_bytes()),
        overrides,
        tiles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ghoststream::bitstream::obu::{obus, parse_sequence_header};

    #[test]
    fn leb128_and_obu_framing() {
        assert_eq!(leb128(0), [0]);
        assert_eq!(leb128(127), [0x7f]);
        assert_eq!(leb128(128), [0x80, 0x01]);
        assert_eq!(leb128(624_485), [0xe5, 0x8e, 0x26]);
        assert_eq!(obu(OBU_FRAME, None, &[0xaa]), [0x32, 0x01, 0xaa]);
        assert_eq!(obu(OBU_FRAME, Some((2, 1)), &[]), [0x36, 0x48, 0x00]);
    }

    #[test]
    fn descriptors() {
        let mut w = Bits::default();
        w.uvlc(0); // 1
        w.uvlc(2); // 011
        w.su(7, -1); // 1111111
        w.byte_alignment();
        w.le(2, 0x1234);
        assert_eq!(w.into_bytes(), [0b1011_1111, 0b1110_0000, 0x34, 0x12]);
    }

    fn color() -> native::StdVideoAV1ColorConfig {
        // SAFETY: a plain C structure of integers and bitfields; all-zero is valid.
        let mut c: native::StdVideoAV1ColorConfig = unsafe { std::mem::zeroed() };
        c.BitDepth = 8;
        c.subsampling_x = 1;
        c.subsampling_y = 1;
        c.flags.set_color_description_present_flag(1);
        c.color_primaries = 1;
        c.transfer_characteristics = 1;
        c.matrix_coefficients = 1;
        c
    }

    pub(crate) fn sequence(w: u16, h: u16) -> Sequence {
        // SAFETY: as above, with NULL pointers.
        let mut s: native::StdVideoAV1SequenceHeader = unsafe { std::mem::zeroed() };
        s.flags.set_enable_order_hint(1);
        s.flags.set_enable_cdef(1);
        s.order_hint_bits_minus_1 = 7;
        s.frame_width_bits_minus_1 = 15 - u8::try_from(w.leading_zeros()).unwrap();
        s.frame_height_bits_minus_1 = 15 - u8::try_from(h.leading_zeros()).unwrap();
        s.max_frame_width_minus_1 = w - 1;
        s.max_frame_height_minus_1 = h - 1;
        s.seq_force_screen_content_tools = STD_VIDEO_AV1_SELECT_SCREEN_CONTENT_TOOLS;
        s.seq_force_integer_mv = STD_VIDEO_AV1_SELECT_INTEGER_MV;
        Sequence::new(&s, Some(&color()), None, None, &[], 8).unwrap()
    }

    #[test]
    fn the_sequence_header_reads_back_with_the_library_walker() {
        let seq = sequence(1920, 1080);
        let bytes = seq.obu();
        let all: Vec<_> = obus(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].obu_type, OBU_SEQUENCE_HEADER);
        let sh = parse_sequence_header(all[0].payload).unwrap();
        assert_eq!((sh.profile, sh.level_idx0, sh.tier0), (0, 8, false));
        assert_eq!((sh.max_width, sh.max_height), (1920, 1080));
        assert_eq!(sh.bit_depth(), 8);
        assert!(sh.subsampling_x && sh.subsampling_y && !sh.monochrome);
        assert_eq!(
            (
                sh.color_primaries,
                sh.transfer_characteristics,
                sh.matrix_coefficients
            ),
            (1, 1, 1)
        );
    }

    #[test]
    fn sequence_headers_the_syntax_cannot_carry_are_refused() {
        // SAFETY: as above.
        let mut s: native::StdVideoAV1SequenceHeader = unsafe { std::mem::zeroed() };
        s.frame_width_bits_minus_1 = 7;
        s.max_frame_width_minus_1 = 1919;
        let e = Sequence::new(&s, Some(&color()), None, None, &[], 8).unwrap_err();
        assert_eq!(e, "max_frame_width_minus_1 1919 does not fit its 8 bits");
        s.frame_width_bits_minus_1 = 10;
        s.flags.set_film_grain_params_present(1);
        assert!(Sequence::new(&s, Some(&color()), None, None, &[], 8)
            .unwrap_err()
            .contains("10288"));
        s.flags.set_film_grain_params_present(0);
        assert!(Sequence::new(&s, None, None, None, &[], 8)
            .unwrap_err()
            .starts_with("pColorConfig is NULL"));
        let mut c = color();
        c.subsampling_y = 0;
        assert!(Sequence::new(&s, Some(&c), None, None, &[], 8)
            .unwrap_err()
            .contains("subsampled both ways"));
    }

    fn picture(
        frame_type: u32,
        order_hint: u8,
        refresh: u8,
        refs: i8,
    ) -> StdVideoEncodeAV1PictureInfo {
        StdVideoEncodeAV1PictureInfo {
            flags: PicFlags::SHOW_FRAME,
            frame_type,
            order_hint,
            primary_ref_frame: if frame_type == KEY_FRAME { 7 } else { 0 },
            refresh_frame_flags: refresh,
            TxMode: native::StdVideoAV1TxMode_STD_VIDEO_AV1_TX_MODE_SELECT,
            ref_frame_idx: [refs; 7],
            ..Default::default()
        }
    }

    fn frame<'a>(seq: &'a Sequence, pic: &'a StdVideoEncodeAV1PictureInfo) -> Frame<'a> {
        // SAFETY: plain C structures of integers; all-zero is valid.
        let (quantization, loop_filter, cdef, loop_restoration) = unsafe {
            (
                std::mem::zeroed(),
                std::mem::zeroed(),
                std::mem::zeroed(),
                std::mem::zeroed(),
            )
        };
        Frame {
            seq,
            pic,
            quantization,
            loop_filter,
            cdef,
            loop_restoration,
            gm_types: [0; 8],
            layer: (0, 0),
            extension_header: false,
            buffer_removal_times: &[],
            extent: seq.max_frame_size(),
            base_q_idx: 100,
            tiles: None,
        }
    }

    #[test]
    fn key_and_inter_frame_obus() {
        let seq = sequence(256, 144);
        let key = picture(KEY_FRAME, 0, 0xff, 0);
        let f = frame_obu(&frame(&seq, &key), |i, n| {
            vec![0xa0, u8::try_from(i).unwrap(), u8::try_from(n).unwrap()]
        })
        .unwrap();
        assert!(f.overrides.is_empty());
        assert_eq!(f.tiles.count, (1, 1));
        let all: Vec<_> = obus(&f.obu).collect::<Result<_, _>>().unwrap();
        assert_eq!((all.len(), all[0].obu_type), (1, OBU_FRAME));
        // show_existing_frame 0, frame_type 00, show_frame 1, disable_cdf_update 0,
        // allow_screen_content_tools 0, frame_size_override_flag 0, order_hint 0...
        assert_eq!(all[0].payload[0], 0b0001_0000);
        assert!(all[0].payload.ends_with(&[0xa0, 0, 1]));
        let inter = picture(1, 1, 0x02, 0);
        let f = frame_obu(&frame(&seq, &inter), |_, _| vec![1]).unwrap();
        // frame_type 01, show_frame 1, error_resilient_mode 0.
        assert_eq!(f.obu[2] >> 4, 0b0011);
        if let Some(dir) = std::env::var_os("GHOSTSTREAM_AV1_DUMP") {
            let mut s = vec![0x12, 0];
            s.extend(seq.obu());
            s.extend(
                frame_obu(&frame(&seq, &key), |_, _| vec![1; 16])
                    .unwrap()
                    .obu,
            );
            s.extend([0x12, 0]);
            s.extend(f.obu);
            std::fs::write(std::path::Path::new(&dir).join("unit.obu"), s).unwrap();
        }
        // A shown key frame refreshes every frame; a frame larger than the sequence is refused.
        let bad = picture(KEY_FRAME, 0, 0x01, 0);
        assert!(frame_obu(&frame(&seq, &bad), |_, _| vec![1])
            .unwrap_err()
            .contains("0xff"));
        let mut big = frame(&seq, &key);
        big.extent = (320, 144);
        assert!(frame_obu(&big, |_, _| vec![1])
            .unwrap_err()
            .contains("larger than"));
    }

    #[test]
    fn uniform_tiles_follow_the_av1_limits() {
        // 1920x1080: 30x17 superblocks, one tile.
        let t = Tiles::uniform((480, 270), false, None);
        assert_eq!((t.log2, t.count, t.overridden), ((0, 0), (1, 1), false));
        // 8192x1080: tiles are at most 4096 samples wide, so two columns at least.
        let t = Tiles::uniform((2048, 270), false, None);
        assert_eq!((t.log2, t.count), ((1, 0), (2, 1)));
        // 8192x4320: and at most 4096x2304 samples large, so four tiles.
        let t = Tiles::uniform((2048, 1080), false, None);
        assert_eq!((t.log2, t.count), ((1, 1), (2, 2)));
        // Four columns asked for, uniformly: met; three: four written, an override.
        let t = Tiles::uniform((480, 270), false, Some((true, 4, 1)));
        assert_eq!((t.count, t.overridden), ((4, 1), false));
        let t = Tiles::uniform((480, 270), false, Some((true, 3, 1)));
        assert_eq!((t.count, t.overridden), ((4, 1), true));
        let t = Tiles::uniform((480, 270), false, Some((false, 1, 1)));
        assert!(t.overridden);
    }
}
