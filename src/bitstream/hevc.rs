//! The HEVC decoder configuration record (`hvcC`, ISO/IEC 14496-15 8.3.3.1).

use super::bits::BitReader;
use super::nal::{hevc, hevc_nal_type, unescape_rbsp, AnnexBNals};
use super::BitstreamError;

/// The fields of an HEVC SPS that the `hvcC` record repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HevcSpsInfo {
    /// `general_profile_space`.
    pub profile_space: u8,
    /// `general_tier_flag`.
    pub tier: bool,
    /// `general_profile_idc`.
    pub profile_idc: u8,
    /// `general_profile_compatibility_flags`.
    pub compatibility_flags: u32,
    /// The 48 bits of `general_*_constraint_flags`.
    pub constraint_flags: u64,
    /// `general_level_idc`.
    pub level_idc: u8,
    /// `sps_max_sub_layers_minus1 + 1`.
    pub sub_layers: u8,
    /// `sps_temporal_id_nesting_flag`.
    pub temporal_id_nested: bool,
    /// `chroma_format_idc`.
    pub chroma_format_idc: u32,
    /// Width in luma samples.
    pub width: u32,
    /// Height in luma samples.
    pub height: u32,
    /// Luma bit depth.
    pub bit_depth_luma: u32,
    /// Chroma bit depth.
    pub bit_depth_chroma: u32,
}

/// `8 + minus8` for a bit depth field of the SPS, which HEVC allows from 0 to 8.
fn bit_depth(minus8: u32, field: &str) -> Result<u32, BitstreamError> {
    if minus8 > 8 {
        return Err(BitstreamError::Invalid {
            what: format!("HEVC SPS {field} {minus8} (expected 0 to 8)"),
        });
    }
    Ok(8 + minus8)
}

/// Reads the [`HevcSpsInfo`] of an SPS NAL unit (2-byte header included).
pub fn parse_sps(nal: &[u8]) -> Result<HevcSpsInfo, BitstreamError> {
    if hevc_nal_type(nal) != hevc::SPS || nal.len() < 16 {
        return Err(BitstreamError::Invalid {
            what: "not an HEVC SPS NAL unit".into(),
        });
    }
    let rbsp = unescape_rbsp(&nal[2..]);
    let mut r = BitReader::new(&rbsp);
    r.skip(4)?; // sps_video_parameter_set_id
    let max_sub_layers_minus1 = r.u8(3)?;
    let temporal_id_nested = r.flag()?;
    // profile_tier_level(1, sps_max_sub_layers_minus1), general part.
    let profile_space = r.u8(2)?;
    let tier = r.flag()?;
    let profile_idc = r.u8(5)?;
    let compatibility_flags = r.u32(32)?;
    let constraint_flags = r.bits(48)?;
    let level_idc = r.u8(8)?;
    let mut profile_present = [false; 8];
    let mut level_present = [false; 8];
    for i in 0..max_sub_layers_minus1 as usize {
        profile_present[i] = r.flag()?;
        level_present[i] = r.flag()?;
    }
    if max_sub_layers_minus1 > 0 {
        r.skip(2 * (8 - max_sub_layers_minus1 as usize))?;
    }
    for i in 0..max_sub_layers_minus1 as usize {
        if profile_present[i] {
            r.skip(88)?;
        }
        if level_present[i] {
            r.skip(8)?;
        }
    }
    let _sps_id = r.ue()?;
    let chroma_format_idc = r.ue()?;
    if chroma_format_idc > 3 {
        return Err(BitstreamError::Invalid {
            what: format!("HEVC SPS chroma_format_idc {chroma_format_idc} (expected 0 to 3)"),
        });
    }
    if chroma_format_idc == 3 {
        r.skip(1)?;
    }
    let mut width = r.ue()?;
    let mut height = r.ue()?;
    if r.flag()? {
        // Conformance window offsets, in chroma units; the window must leave a picture.
        let (sub_w, sub_h) = match chroma_format_idc {
            1 => (2, 2),
            2 => (2, 1),
            _ => (1, 1),
        };
        let (l, rt, t, b) = (r.ue()?, r.ue()?, r.ue()?, r.ue()?);
        let crop = |size: u32, sub: u32, a: u32, b: u32, axis: &str| {
            u64::from(sub)
                .checked_mul(u64::from(a) + u64::from(b))
                .and_then(|c| u64::from(size).checked_sub(c))
                .filter(|&left| left > 0)
                .and_then(|left| u32::try_from(left).ok())
                .ok_or_else(|| BitstreamError::Invalid {
                    what: format!(
                        "HEVC SPS conformance window of {a}+{b} chroma units crops the whole {axis} of {size} samples"
                    ),
                })
        };
        width = crop(width, sub_w, l, rt, "width")?;
        height = crop(height, sub_h, t, b, "height")?;
    }
    let bit_depth_luma = bit_depth(r.ue()?, "bit_depth_luma_minus8")?;
    let bit_depth_chroma = bit_depth(r.ue()?, "bit_depth_chroma_minus8")?;
    Ok(HevcSpsInfo {
        profile_space,
        tier,
        profile_idc,
        compatibility_flags,
        constraint_flags,
        level_idc,
        sub_layers: max_sub_layers_minus1 + 1,
        temporal_id_nested,
        chroma_format_idc,
        width,
        height,
        bit_depth_luma,
        bit_depth_chroma,
    })
}

/// Builds an `hvcC` record from the VPS, SPS and PPS of an Annex-B access unit. NAL lengths in
/// the stream are 4 bytes. `array_completeness` is 0: the stream repeats its parameter sets at
/// every keyframe. `min_spatial_segmentation_idc` and `parallelismType` are written as 0
/// (unknown), which every reader accepts.
pub fn hvcc_record(annexb: &[u8]) -> Result<Vec<u8>, BitstreamError> {
    let nals: Vec<&[u8]> = AnnexBNals::new(annexb).collect();
    let of_type = |t: u8| -> Vec<&[u8]> {
        nals.iter()
            .copied()
            .filter(|n| hevc_nal_type(n) == t)
            .collect()
    };
    let (vps, sps, pps) = (of_type(hevc::VPS), of_type(hevc::SPS), of_type(hevc::PPS));
    for (set, what) in [(&vps, "HEVC VPS"), (&sps, "HEVC SPS"), (&pps, "HEVC PPS")] {
        if set.is_empty() {
            return Err(BitstreamError::MissingParameterSets { what });
        }
    }
    let info = parse_sps(sps[0])?;
    let mut out = Vec::with_capacity(64);
    out.push(1);
    out.push((info.profile_space << 6) | (u8::from(info.tier) << 5) | info.profile_idc);
    out.extend_from_slice(&info.compatibility_flags.to_be_bytes());
    out.extend_from_slice(&info.constraint_flags.to_be_bytes()[2..]);
    out.push(info.level_idc);
    out.extend_from_slice(&[0xf0, 0x00]); // reserved + min_spatial_segmentation_idc = 0
    out.push(0xfc); // reserved + parallelismType = 0
    out.push(0xfc | (info.chroma_format_idc & 3) as u8);
    out.push(0xf8 | ((info.bit_depth_luma - 8) & 7) as u8);
    out.push(0xf8 | ((info.bit_depth_chroma - 8) & 7) as u8);
    out.extend_from_slice(&[0, 0]); // avgFrameRate: unspecified
    out.push(((info.sub_layers & 7) << 3) | (u8::from(info.temporal_id_nested) << 2) | 3);
    out.push(3);
    for (t, set) in [(hevc::VPS, &vps), (hevc::SPS, &sps), (hevc::PPS, &pps)] {
        out.push(t & 0x3f);
        let count = u16::try_from(set.len()).map_err(|_| BitstreamError::Invalid {
            what: format!(
                "{} parameter sets of one type (hvcC holds at most 65535)",
                set.len()
            ),
        })?;
        out.extend_from_slice(&count.to_be_bytes());
        for nal in set.iter() {
            let len = u16::try_from(nal.len()).map_err(|_| BitstreamError::Invalid {
                what: format!("parameter set of {} bytes", nal.len()),
            })?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(nal);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_vps_is_named() {
        let e = hvcc_record(&[0, 0, 1, 0x42, 0x01, 0x01]).unwrap_err();
        assert!(e.to_string().contains("VPS"), "{e}");
    }
}
