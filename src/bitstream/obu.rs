//! AV1 OBUs: the low-overhead bitstream walker, the sequence header, and the `av1C` record
//! (AV1 Codec ISO Media File Format Binding, section 2.3).

use super::bits::BitReader;
use super::BitstreamError;

/// OBU types (AV1 specification 6.2.2).
pub mod obu_type {
    /// Sequence header.
    pub const SEQUENCE_HEADER: u8 = 1;
    /// Temporal delimiter.
    pub const TEMPORAL_DELIMITER: u8 = 2;
    /// Frame header.
    pub const FRAME_HEADER: u8 = 3;
    /// Tile group.
    pub const TILE_GROUP: u8 = 4;
    /// Metadata.
    pub const METADATA: u8 = 5;
    /// Frame (header and tile group).
    pub const FRAME: u8 = 6;
    /// Padding.
    pub const PADDING: u8 = 15;
}

/// The temporal delimiter OBU with an empty payload: `obu_type` 2, `obu_has_size_field`, size 0.
pub const TEMPORAL_DELIMITER: [u8; 2] = [0x12, 0x00];

/// One OBU of a low-overhead stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Obu<'a> {
    /// `obu_type`.
    pub obu_type: u8,
    /// `temporal_id` (0 without an extension header).
    pub temporal_id: u8,
    /// `spatial_id` (0 without an extension header).
    pub spatial_id: u8,
    /// The whole OBU: header, size field and payload.
    pub raw: &'a [u8],
    /// The payload.
    pub payload: &'a [u8],
}

/// Reads a `leb128()` value at the start of `data`; returns the value and its length in bytes.
pub fn read_leb128(data: &[u8]) -> Result<(u64, usize), BitstreamError> {
    let mut value = 0u64;
    for i in 0..8 {
        let b = *data.get(i).ok_or(BitstreamError::Truncated {
            what: "leb128",
            needed: 8,
            at: i * 8,
        })?;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(BitstreamError::Invalid {
        what: "leb128 longer than 8 bytes".into(),
    })
}

/// Appends `value` as `leb128()` (7 bits a byte, least significant first).
pub fn write_leb128(mut value: u64, out: &mut Vec<u8>) {
    loop {
        let byte = u8::try_from(value & 0x7f).unwrap_or(0);
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Iterates over the OBUs of a low-overhead bitstream (every OBU must have a size field).
pub fn obus(data: &[u8]) -> impl Iterator<Item = Result<Obu<'_>, BitstreamError>> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= data.len() {
            return None;
        }
        let r = parse_one(&data[pos..]);
        match r {
            Ok((obu, len)) => {
                pos += len;
                Some(Ok(obu))
            }
            Err(e) => {
                pos = data.len();
                Some(Err(e))
            }
        }
    })
}

fn parse_one(data: &[u8]) -> Result<(Obu<'_>, usize), BitstreamError> {
    let h = data[0];
    if h & 0x80 != 0 {
        return Err(BitstreamError::Invalid {
            what: "OBU with obu_forbidden_bit set".into(),
        });
    }
    let obu_type = (h >> 3) & 0xf;
    let has_extension = h & 0x04 != 0;
    let has_size = h & 0x02 != 0;
    if !has_size {
        return Err(BitstreamError::Invalid {
            what: format!("OBU type {obu_type} has no size field (not a low-overhead stream)"),
        });
    }
    let mut pos = 1;
    let (mut temporal_id, mut spatial_id) = (0, 0);
    if has_extension {
        let e = *data.get(1).ok_or(BitstreamError::Truncated {
            what: "OBU extension",
            needed: 8,
            at: 8,
        })?;
        temporal_id = e >> 5;
        spatial_id = (e >> 3) & 3;
        pos = 2;
    }
    let (size, n) = read_leb128(&data[pos..])?;
    pos += n;
    let end = pos
        .checked_add(usize::try_from(size).unwrap_or(usize::MAX))
        .filter(|&e| e <= data.len())
        .ok_or(BitstreamError::Truncated {
            what: "OBU payload",
            needed: usize::try_from(size)
                .unwrap_or(usize::MAX)
                .saturating_mul(8),
            at: pos * 8,
        })?;
    Ok((
        Obu {
            obu_type,
            temporal_id,
            spatial_id,
            raw: &data[..end],
            payload: &data[pos..end],
        },
        end,
    ))
}

/// The fields of a sequence header that the `av1C` record and the tests need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceHeader {
    /// `seq_profile`.
    pub profile: u8,
    /// `seq_level_idx[0]`.
    pub level_idx0: u8,
    /// `seq_tier[0]`.
    pub tier0: bool,
    /// `high_bitdepth`.
    pub high_bitdepth: bool,
    /// `twelve_bit`.
    pub twelve_bit: bool,
    /// `mono_chrome`.
    pub monochrome: bool,
    /// `subsampling_x`.
    pub subsampling_x: bool,
    /// `subsampling_y`.
    pub subsampling_y: bool,
    /// `chroma_sample_position`.
    pub chroma_sample_position: u8,
    /// `max_frame_width_minus_1 + 1`.
    pub max_width: u32,
    /// `max_frame_height_minus_1 + 1`.
    pub max_height: u32,
    /// `color_primaries` (2 = unspecified when no colour description is present).
    pub color_primaries: u8,
    /// `transfer_characteristics`.
    pub transfer_characteristics: u8,
    /// `matrix_coefficients`.
    pub matrix_coefficients: u8,
    /// `color_range` (true = full).
    pub full_range: bool,
}

impl SequenceHeader {
    /// Bits per sample: 8, 10 or 12.
    pub fn bit_depth(&self) -> u32 {
        match (self.high_bitdepth, self.twelve_bit) {
            (false, _) => 8,
            (true, false) => 10,
            (true, true) => 12,
        }
    }
}

/// Parses a sequence header OBU's payload (AV1 specification 5.5).
pub fn parse_sequence_header(payload: &[u8]) -> Result<SequenceHeader, BitstreamError> {
    let mut r = BitReader::new(payload);
    let profile = r.u8(3)?;
    let _still_picture = r.flag()?;
    let reduced = r.flag()?;
    let (mut level_idx0, mut tier0) = (0u8, false);
    if reduced {
        level_idx0 = r.u8(5)?;
    } else {
        let timing_info_present = r.flag()?;
        let mut decoder_model_info_present = false;
        let mut buffer_delay_length = 0;
        if timing_info_present {
            r.skip(64)?; // num_units_in_display_tick, time_scale
            if r.flag()? {
                r.uvlc()?; // num_ticks_per_picture_minus_1
            }
            decoder_model_info_present = r.flag()?;
            if decoder_model_info_present {
                buffer_delay_length = r.u32(5)? + 1;
                r.skip(32 + 5 + 5)?;
            }
        }
        let initial_display_delay_present = r.flag()?;
        let op_count = r.u32(5)? + 1;
        for i in 0..op_count {
            r.skip(12)?; // operating_point_idc
            let level = r.u8(5)?;
            let tier = if level > 7 { r.flag()? } else { false };
            if i == 0 {
                level_idx0 = level;
                tier0 = tier;
            }
            if decoder_model_info_present && r.flag()? {
                r.skip(2 * buffer_delay_length as usize + 1)?;
            }
            if initial_display_delay_present && r.flag()? {
                r.skip(4)?;
            }
        }
    }
    let width_bits = r.u32(4)? + 1;
    let height_bits = r.u32(4)? + 1;
    let max_width = r.u32(width_bits)? + 1;
    let max_height = r.u32(height_bits)? + 1;
    if !reduced && r.flag()? {
        r.skip(4 + 3)?; // frame id lengths
    }
    r.skip(3)?; // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
    if !reduced {
        r.skip(4)?; // interintra, masked compound, warped motion, dual filter
        let order_hint = r.flag()?;
        if order_hint {
            r.skip(2)?; // jnt_comp, ref_frame_mvs
        }
        let force_screen_content_tools = if r.flag()? { 2 } else { r.u32(1)? };
        if force_screen_content_tools > 0 && !r.flag()? {
            r.skip(1)?; // seq_force_integer_mv
        }
        if order_hint {
            r.skip(3)?;
        }
    }
    r.skip(3)?; // superres, cdef, restoration
                // color_config()
    let high_bitdepth = r.flag()?;
    let twelve_bit = profile == 2 && high_bitdepth && r.flag()?;
    let monochrome = profile != 1 && r.flag()?;
    let (mut color_primaries, mut transfer_characteristics, mut matrix_coefficients) = (2, 2, 2);
    if r.flag()? {
        color_primaries = r.u8(8)?;
        transfer_characteristics = r.u8(8)?;
        matrix_coefficients = r.u8(8)?;
    }
    let (full_range, subsampling_x, subsampling_y, mut chroma_sample_position);
    chroma_sample_position = 0;
    if monochrome {
        full_range = r.flag()?;
        subsampling_x = true;
        subsampling_y = true;
    } else if color_primaries == 1 && transfer_characteristics == 13 && matrix_coefficients == 0 {
        full_range = true;
        subsampling_x = false;
        subsampling_y = false;
    } else {
        full_range = r.flag()?;
        match profile {
            0 => {
                subsampling_x = true;
                subsampling_y = true;
            }
            1 => {
                subsampling_x = false;
                subsampling_y = false;
            }
            _ => {
                if twelve_bit {
                    subsampling_x = r.flag()?;
                    subsampling_y = subsampling_x && r.flag()?;
                } else {
                    subsampling_x = true;
                    subsampling_y = false;
                }
            }
        }
        if subsampling_x && subsampling_y {
            chroma_sample_position = r.u8(2)?;
        }
    }
    Ok(SequenceHeader {
        profile,
        level_idx0,
        tier0,
        high_bitdepth,
        twelve_bit,
        monochrome,
        subsampling_x,
        subsampling_y,
        chroma_sample_position,
        max_width,
        max_height,
        color_primaries,
        transfer_characteristics,
        matrix_coefficients,
        full_range,
    })
}

/// Finds the first sequence header OBU in a temporal unit; returns the whole OBU and its parse.
pub fn find_sequence_header(tu: &[u8]) -> Result<Option<(&[u8], SequenceHeader)>, BitstreamError> {
    for obu in obus(tu) {
        let obu = obu?;
        if obu.obu_type == obu_type::SEQUENCE_HEADER {
            return Ok(Some((obu.raw, parse_sequence_header(obu.payload)?)));
        }
    }
    Ok(None)
}

/// Builds an `av1C` record from the temporal unit that carries the sequence header (the first
/// keyframe's); the sequence header OBU is appended as `configOBUs`.
pub fn av1c_record(tu: &[u8]) -> Result<Vec<u8>, BitstreamError> {
    let (raw, sh) = find_sequence_header(tu)?.ok_or(BitstreamError::MissingParameterSets {
        what: "AV1 sequence header OBU",
    })?;
    let mut out = vec![
        0x81,
        (sh.profile << 5) | (sh.level_idx0 & 0x1f),
        (u8::from(sh.tier0) << 7)
            | (u8::from(sh.high_bitdepth) << 6)
            | (u8::from(sh.twelve_bit) << 5)
            | (u8::from(sh.monochrome) << 4)
            | (u8::from(sh.subsampling_x) << 3)
            | (u8::from(sh.subsampling_y) << 2)
            | (sh.chroma_sample_position & 3),
        0, // no initial_presentation_delay
    ];
    out.extend_from_slice(raw);
    Ok(out)
}

/// True when the temporal unit begins with a temporal delimiter OBU.
pub fn starts_with_temporal_delimiter(tu: &[u8]) -> bool {
    matches!(obus(tu).next(), Some(Ok(o)) if o.obu_type == obu_type::TEMPORAL_DELIMITER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_reads_multi_byte_values() {
        assert_eq!(read_leb128(&[0x05]).unwrap(), (5, 1));
        assert_eq!(read_leb128(&[0xe5, 0x8e, 0x26]).unwrap(), (624_485, 3));
        assert!(read_leb128(&[0x80]).is_err());
    }

    #[test]
    fn walker_reads_headers_and_rejects_truncation() {
        let data = [0x12, 0x00, 0x32, 0x02, 0xaa, 0xbb];
        let v: Vec<Obu> = obus(&data).map(Result::unwrap).collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].obu_type, obu_type::TEMPORAL_DELIMITER);
        assert_eq!(v[1].obu_type, obu_type::FRAME);
        assert_eq!(v[1].payload, &[0xaa, 0xbb]);
        assert!(starts_with_temporal_delimiter(&data));
        assert!(obus(&data[..5]).any(|o| o.is_err()));
        assert!(obus(&[0x30]).any(|o| o.is_err()), "no size field");
    }

    #[test]
    fn reduced_still_picture_header_parses() {
        // seq_profile 0, still 1, reduced 1, level 8 (01000); width/height bits 16; 1920x1080;
        // then flags and a colour config with no description, limited range, csp 0.
        let mut bits = String::from("000110100011111111");
        bits += &format!("{:016b}{:016b}", 1919, 1079);
        bits += "000"; // sb128, filter intra, edge
        bits += "000"; // superres, cdef, restoration
        bits += "0" /* high bd */;
        bits += "0" /* mono */;
        bits += "0" /* no colour description */;
        bits += "0" /* limited */;
        bits += "00" /* csp */;
        bits += "0" /* separate uv */;
        while bits.len() % 8 != 0 {
            bits.push('0');
        }
        let bytes: Vec<u8> = bits
            .as_bytes()
            .chunks(8)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap())
            .collect();
        let sh = parse_sequence_header(&bytes).unwrap();
        assert_eq!(
            (sh.max_width, sh.max_height, sh.level_idx0),
            (1920, 1080, 8)
        );
        assert_eq!(sh.bit_depth(), 8);
        assert!(sh.subsampling_x && sh.subsampling_y && !sh.full_range);
    }
}
