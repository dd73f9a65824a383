//! The H.264 decoder configuration record (`avcC`, ISO/IEC 14496-15 5.3.3.1).

use super::bits::BitReader;
use super::nal::{h264, h264_nal_type, unescape_rbsp, AnnexBNals};
use super::BitstreamError;

/// The fields of an H.264 SPS that the `avcC` record repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvcSpsInfo {
    /// `profile_idc`.
    pub profile_idc: u8,
    /// The constraint flags byte (`constraint_set0_flag`..`reserved_zero_2bits`).
    pub constraint_flags: u8,
    /// `level_idc`.
    pub level_idc: u8,
    /// `chroma_format_idc` (1 = 4:2:0 when absent).
    pub chroma_format_idc: u32,
    /// Luma bit depth.
    pub bit_depth_luma: u32,
    /// Chroma bit depth.
    pub bit_depth_chroma: u32,
}

/// Profiles whose SPS carries `chroma_format_idc` and bit depths (H.264 7.3.2.1.1).
fn has_chroma_info(profile_idc: u8) -> bool {
    matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    )
}

/// `8 + minus8` for a bit depth field of the SPS, which H.264 allows from 0 to 6.
fn bit_depth(minus8: u32, field: &str) -> Result<u32, BitstreamError> {
    if minus8 > 6 {
        return Err(BitstreamError::Invalid {
            what: format!("H.264 SPS {field} {minus8} (expected 0 to 6)"),
        });
    }
    Ok(8 + minus8)
}

/// Reads the [`AvcSpsInfo`] of an SPS NAL unit (header byte included).
pub fn parse_sps(nal: &[u8]) -> Result<AvcSpsInfo, BitstreamError> {
    if h264_nal_type(nal) != h264::SPS || nal.len() < 4 {
        return Err(BitstreamError::Invalid {
            what: "not an H.264 SPS NAL unit".into(),
        });
    }
    let rbsp = unescape_rbsp(&nal[1..]);
    let mut r = BitReader::new(&rbsp);
    let profile_idc = r.u8(8)?;
    let constraint_flags = r.u8(8)?;
    let level_idc = r.u8(8)?;
    let _sps_id = r.ue()?;
    let (mut chroma_format_idc, mut bit_depth_luma, mut bit_depth_chroma) = (1, 8, 8);
    if has_chroma_info(profile_idc) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc > 3 {
            return Err(BitstreamError::Invalid {
                what: format!("H.264 SPS chroma_format_idc {chroma_format_idc} (expected 0 to 3)"),
            });
        }
        if chroma_format_idc == 3 {
            r.skip(1)?; // separate_colour_plane_flag
        }
        bit_depth_luma = bit_depth(r.ue()?, "bit_depth_luma_minus8")?;
        bit_depth_chroma = bit_depth(r.ue()?, "bit_depth_chroma_minus8")?;
    }
    Ok(AvcSpsInfo {
        profile_idc,
        constraint_flags,
        level_idc,
        chroma_format_idc,
        bit_depth_luma,
        bit_depth_chroma,
    })
}

/// Builds an `avcC` record from the SPS and PPS NAL units of an Annex-B access unit (normally
/// the first keyframe's). NAL lengths in the stream are 4 bytes (`lengthSizeMinusOne` = 3).
pub fn avcc_record(annexb: &[u8]) -> Result<Vec<u8>, BitstreamError> {
    let nals: Vec<&[u8]> = AnnexBNals::new(annexb).collect();
    let sps: Vec<&[u8]> = nals
        .iter()
        .copied()
        .filter(|n| h264_nal_type(n) == h264::SPS)
        .collect();
    let pps: Vec<&[u8]> = nals
        .iter()
        .copied()
        .filter(|n| h264_nal_type(n) == h264::PPS)
        .collect();
    let first = sps
        .first()
        .ok_or(BitstreamError::MissingParameterSets { what: "H.264 SPS" })?;
    if pps.is_empty() {
        return Err(BitstreamError::MissingParameterSets { what: "H.264 PPS" });
    }
    let (Ok(sps_count @ 0..=31), Ok(pps_count)) =
        (u8::try_from(sps.len()), u8::try_from(pps.len()))
    else {
        return Err(BitstreamError::Invalid {
            what: "too many parameter sets for avcC".into(),
        });
    };
    let info = parse_sps(first)?;
    let mut out = vec![
        1,
        info.profile_idc,
        info.constraint_flags,
        info.level_idc,
        0xfc | 3,
        0xe0 | sps_count,
    ];
    let push_set = |out: &mut Vec<u8>, nal: &[u8]| -> Result<(), BitstreamError> {
        let len = u16::try_from(nal.len()).map_err(|_| BitstreamError::Invalid {
            what: format!("parameter set of {} bytes", nal.len()),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(nal);
        Ok(())
    };
    for s in &sps {
        push_set(&mut out, s)?;
    }
    out.push(pps_count);
    for p in &pps {
        push_set(&mut out, p)?;
    }
    if has_chroma_info(info.profile_idc) {
        out.push(0xfc | (info.chroma_format_idc & 3) as u8);
        out.push(0xf8 | ((info.bit_depth_luma - 8) & 7) as u8);
        out.push(0xf8 | ((info.bit_depth_chroma - 8) & 7) as u8);
        out.push(0); // numOfSequenceParameterSetExt
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A Constrained Baseline SPS (profile 66, level 3.0, 640x480) written by hand.
    const SPS: [u8; 9] = [0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xf6, 0x40];
    const PPS: [u8; 4] = [0x68, 0xce, 0x3c, 0x80];

    #[test]
    fn record_repeats_the_sps_fields_and_sets() {
        let mut au = vec![0, 0, 0, 1];
        au.extend_from_slice(&SPS);
        au.extend_from_slice(&[0, 0, 0, 1]);
        au.extend_from_slice(&PPS);
        let rec = avcc_record(&au).unwrap();
        assert_eq!(&rec[..6], &[1, 0x42, 0xc0, 0x1e, 0xff, 0xe1]);
        assert_eq!(&rec[6..8], &[0, 9]);
        assert_eq!(&rec[8..17], &SPS);
        assert_eq!(&rec[17..20], &[1, 0, 4]);
        assert_eq!(&rec[20..], &PPS);
    }

    #[test]
    fn missing_sets_are_named() {
        let e = avcc_record(&[0, 0, 1, 0x65, 0x88]).unwrap_err();
        assert!(e.to_string().contains("SPS"), "{e}");
    }
}
