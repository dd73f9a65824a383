//! HDR10 static metadata (SMPTE ST 2086 mastering display, CTA-861.3 content light level) and
//! its encodings in each codec's stream.
//!
//! The values are kept in the integer units HEVC's SEI uses (chromaticity in 0.00002, luminance
//! in 0.0001 cd/m²), which is also the notation x265's `master-display` takes; the AV1 metadata
//! OBU's fixed-point units are derived from them.

use std::fmt;
use std::str::FromStr;

/// One CIE 1931 chromaticity in units of 0.00002 (50000 = 1.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Chromaticity {
    /// x, 0 to 50000.
    pub x: u16,
    /// y, 0 to 50000.
    pub y: u16,
}

/// The mastering display's colour volume (SMPTE ST 2086).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MasteringDisplay {
    /// Red primary.
    pub red: Chromaticity,
    /// Green primary.
    pub green: Chromaticity,
    /// Blue primary.
    pub blue: Chromaticity,
    /// White point.
    pub white: Chromaticity,
    /// Peak luminance in 0.0001 cd/m² (10000000 = 1000 nits).
    pub max_luminance: u32,
    /// Black level in 0.0001 cd/m² (50 = 0.005 nits).
    pub min_luminance: u32,
}

/// Content light level (CTA-861.3): the brightest pixel and the brightest frame average.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContentLightLevel {
    /// MaxCLL in cd/m².
    pub max_cll: u16,
    /// MaxFALL in cd/m².
    pub max_fall: u16,
}

/// HDR10 static metadata written into an HDR stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HdrMetadata {
    /// The mastering display.
    pub display: MasteringDisplay,
    /// The content light level; `None` when unknown (the stream then says nothing about it).
    pub light: Option<ContentLightLevel>,
}

/// Why HDR metadata text could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} '{value}': {expected}")]
pub struct HdrParseError {
    /// Which text ("mastering display", "content light level").
    pub what: &'static str,
    /// The text given.
    pub value: String,
    /// The expected form.
    pub expected: &'static str,
}

/// The largest chromaticity coordinate (1.0 in 0.00002 units).
pub const CHROMATICITY_ONE: u16 = 50_000;

impl MasteringDisplay {
    /// BT.2020 primaries, D65 white, 1000 to 0.0050 cd/m²: the most common HDR10 master.
    pub const BT2020_1000_NITS: MasteringDisplay = MasteringDisplay {
        red: Chromaticity { x: 35400, y: 14600 },
        green: Chromaticity { x: 8500, y: 39850 },
        blue: Chromaticity { x: 6550, y: 2300 },
        white: Chromaticity { x: 15635, y: 16450 },
        max_luminance: 10_000_000,
        min_luminance: 50,
    };

    /// Display P3 primaries, D65 white, 1000 to 0.0001 cd/m² (many HDR monitors).
    pub const P3_D65_1000_NITS: MasteringDisplay = MasteringDisplay {
        red: Chromaticity { x: 34000, y: 16000 },
        green: Chromaticity { x: 13250, y: 34500 },
        blue: Chromaticity { x: 7500, y: 3000 },
        white: Chromaticity { x: 15635, y: 16450 },
        max_luminance: 10_000_000,
        min_luminance: 1,
    };

    /// The first value out of range, with its name, or `None` when all are in range.
    pub fn out_of_range(&self) -> Option<(&'static str, String)> {
        for (name, c) in [
            ("red", self.red),
            ("green", self.green),
            ("blue", self.blue),
            ("white point", self.white),
        ] {
            if c.x > CHROMATICITY_ONE || c.y > CHROMATICITY_ONE {
                return Some((name, format!("({},{})", c.x, c.y)));
            }
        }
        if self.max_luminance == 0 || self.min_luminance >= self.max_luminance {
            return Some((
                "luminance",
                format!("max {} min {}", self.max_luminance, self.min_luminance),
            ));
        }
        None
    }
}

impl fmt::Display for MasteringDisplay {
    /// x265's `master-display` notation: `G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (g, b, r, w) = (self.green, self.blue, self.red, self.white);
        write!(
            f,
            "G({},{})B({},{})R({},{})WP({},{})L({},{})",
            g.x, g.y, b.x, b.y, r.x, r.y, w.x, w.y, self.max_luminance, self.min_luminance
        )
    }
}

impl FromStr for MasteringDisplay {
    type Err = HdrParseError;

    /// Reads `G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)` (chromaticity in 0.00002, luminance in
    /// 0.0001 cd/m²), or the names `bt2020-1000` and `p3-1000`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = || {
            HdrParseError {
            what: "mastering display",
            value: s.into(),
            expected: "G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min) in 0.00002 and 0.0001 cd/m² units, or bt2020-1000, or p3-1000",
        }
        };
        match s.to_ascii_lowercase().as_str() {
            "bt2020-1000" => return Ok(Self::BT2020_1000_NITS),
            "p3-1000" => return Ok(Self::P3_D65_1000_NITS),
            _ => {}
        }
        let mut rest = s.trim();
        let mut pair = |tag: &str| -> Option<(u64, u64)> {
            let after = rest.strip_prefix(tag)?.strip_prefix('(')?;
            let (inner, tail) = after.split_once(')')?;
            let (a, b) = inner.split_once(',')?;
            rest = tail;
            Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
        };
        let mut chroma = |tag: &str| -> Option<Chromaticity> {
            let (x, y) = pair(tag)?;
            Some(Chromaticity {
                x: u16::try_from(x).ok()?,
                y: u16::try_from(y).ok()?,
            })
        };
        let green = chroma("G").ok_or_else(error)?;
        let blue = chroma("B").ok_or_else(error)?;
        let red = chroma("R").ok_or_else(error)?;
        let white = chroma("WP").ok_or_else(error)?;
        let (max, min) = pair("L").ok_or_else(error)?;
        if !rest.is_empty() {
            return Err(error());
        }
        let display = MasteringDisplay {
            red,
            green,
            blue,
            white,
            max_luminance: u32::try_from(max).map_err(|_| error())?,
            min_luminance: u32::try_from(min).map_err(|_| error())?,
        };
        match display.out_of_range() {
            None => Ok(display),
            Some(_) => Err(error()),
        }
    }
}

impl FromStr for ContentLightLevel {
    type Err = HdrParseError;

    /// Reads `MaxCLL,MaxFALL` in cd/m² (`1000,400`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = || {
            HdrParseError {
            what: "content light level",
            value: s.into(),
            expected: "MaxCLL,MaxFALL in cd/m², each 0 to 65535, MaxFALL at most MaxCLL (for example 1000,400)",
        }
        };
        let (a, b) = s.split_once(',').ok_or_else(error)?;
        let max_cll: u16 = a.trim().parse().map_err(|_| error())?;
        let max_fall: u16 = b.trim().parse().map_err(|_| error())?;
        if max_fall > max_cll {
            return Err(error());
        }
        Ok(ContentLightLevel { max_cll, max_fall })
    }
}

impl fmt::Display for ContentLightLevel {
    /// `MaxCLL,MaxFALL`, as x265's `max-cll` and SVT-AV1's `content-light` take it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.max_cll, self.max_fall)
    }
}

/// HEVC SEI payload type of the mastering display colour volume (H.265 D.2.28).
pub const HEVC_SEI_MASTERING_DISPLAY: u32 = 137;
/// HEVC SEI payload type of the content light level information (H.265 D.2.35).
pub const HEVC_SEI_CONTENT_LIGHT_LEVEL: u32 = 144;
/// AV1 `metadata_type` of HDR content light level (AV1 6.7.3).
pub const AV1_METADATA_HDR_CLL: u32 = 1;
/// AV1 `metadata_type` of HDR mastering display colour volume (AV1 6.7.4).
pub const AV1_METADATA_HDR_MDCV: u32 = 2;

impl HdrMetadata {
    /// The HEVC SEI payloads (type, bytes), without the SEI NAL framing: the mastering display
    /// (primaries in green, blue, red order, 16-bit big-endian coordinates, 32-bit luminances),
    /// then the content light level when known.
    pub fn hevc_sei_payloads(&self) -> Vec<(u32, Vec<u8>)> {
        let d = &self.display;
        let mut mdcv = Vec::with_capacity(24);
        for c in [d.green, d.blue, d.red, d.white] {
            mdcv.extend_from_slice(&c.x.to_be_bytes());
            mdcv.extend_from_slice(&c.y.to_be_bytes());
        }
        mdcv.extend_from_slice(&d.max_luminance.to_be_bytes());
        mdcv.extend_from_slice(&d.min_luminance.to_be_bytes());
        let mut out = vec![(HEVC_SEI_MASTERING_DISPLAY, mdcv)];
        if let Some(l) = self.light {
            out.push((HEVC_SEI_CONTENT_LIGHT_LEVEL, light_bytes(l)));
        }
        out
    }

    /// The AV1 metadata OBU payloads (metadata_type, bytes after the type): the mastering
    /// display (primaries in red, green, blue order as 0.16 fixed point, maximum luminance 24.8,
    /// minimum 18.14), then the content light level when known.
    pub fn av1_metadata_payloads(&self) -> Vec<(u32, Vec<u8>)> {
        let d = &self.display;
        // 0.00002 units to 0.16 fixed point: v / 50000 * 65536.
        let fixed16 =
            |v: u16| u16::try_from((u64::from(v) * 65536 + 25_000) / 50_000).unwrap_or(u16::MAX);
        let mut mdcv = Vec::with_capacity(24);
        for c in [d.red, d.green, d.blue, d.white] {
            mdcv.extend_from_slice(&fixed16(c.x).to_be_bytes());
            mdcv.extend_from_slice(&fixed16(c.y).to_be_bytes());
        }
        // 0.0001 cd/m² to 24.8 (x256) and 18.14 (x16384) fixed point, rounded.
        let max = (u64::from(d.max_luminance) * 256 + 5_000) / 10_000;
        let min = (u64::from(d.min_luminance) * 16_384 + 5_000) / 10_000;
        mdcv.extend_from_slice(&u32::try_from(max).unwrap_or(u32::MAX).to_be_bytes());
        mdcv.extend_from_slice(&u32::try_from(min).unwrap_or(u32::MAX).to_be_bytes());
        let mut out = vec![(AV1_METADATA_HDR_MDCV, mdcv)];
        if let Some(l) = self.light {
            out.push((AV1_METADATA_HDR_CLL, light_bytes(l)));
        }
        out
    }

    /// The HEVC prefix SEI NAL unit (Annex-B, start code first) carrying
    /// [`hevc_sei_payloads`](Self::hevc_sei_payloads): written after the parameter sets of
    /// each IRAP picture by an encoder that does not write it itself.
    pub fn hevc_sei_nal(&self) -> Vec<u8> {
        use crate::bitstream::sei::{sei_nal, SeiSyntax};
        sei_nal(SeiSyntax::H265, &self.hevc_sei_payloads())
    }

    /// The AV1 metadata OBUs (`OBU_METADATA`, with their size fields) carrying
    /// [`av1_metadata_payloads`](Self::av1_metadata_payloads): placed after the sequence
    /// header of each key frame's temporal unit by an encoder that does not write them itself.
    pub fn av1_metadata_obus(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        for (kind, bytes) in self.av1_metadata_payloads() {
            let mut payload = Vec::with_capacity(bytes.len() + 2);
            crate::bitstream::obu::write_leb128(u64::from(kind), &mut payload);
            payload.extend_from_slice(&bytes);
            // trailing_bits(): the payload is whole bytes, so a byte with the stop bit.
            payload.push(0x80);
            // obu_type 5 (OBU_METADATA), obu_has_size_field 1.
            out.push((5 << 3) | 0x02);
            crate::bitstream::obu::write_leb128(payload.len() as u64, &mut out);
            out.extend_from_slice(&payload);
        }
        out
    }

    /// SVT-AV1's `mastering-display` value: `G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)` with the
    /// coordinates and luminances as decimals (its parser reads them as floats).
    pub fn svt_mastering_display(&self) -> String {
        let d = &self.display;
        let c = |v: u16| format!("{:.5}", f64::from(v) / 50_000.0);
        format!(
            "G({},{})B({},{})R({},{})WP({},{})L({:.4},{:.4})",
            c(d.green.x),
            c(d.green.y),
            c(d.blue.x),
            c(d.blue.y),
            c(d.red.x),
            c(d.red.y),
            c(d.white.x),
            c(d.white.y),
            f64::from(d.max_luminance) / 10_000.0,
            f64::from(d.min_luminance) / 10_000.0
        )
    }
}

/// MaxCLL then MaxFALL, 16-bit big-endian: the same bytes in HEVC's SEI and AV1's metadata.
fn light_bytes(l: ContentLightLevel) -> Vec<u8> {
    let mut v = l.max_cll.to_be_bytes().to_vec();
    v.extend_from_slice(&l.max_fall.to_be_bytes());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr10() -> HdrMetadata {
        HdrMetadata {
            display: MasteringDisplay::BT2020_1000_NITS,
            light: Some(ContentLightLevel {
                max_cll: 1000,
                max_fall: 400,
            }),
        }
    }

    #[test]
    fn x265_notation_round_trips() {
        let text = "G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(10000000,50)";
        let d: MasteringDisplay = text.parse().unwrap();
        assert_eq!(d, MasteringDisplay::BT2020_1000_NITS);
        assert_eq!(d.to_string(), text);
        assert_eq!("bt2020-1000".parse::<MasteringDisplay>().unwrap(), d);
    }

    #[test]
    fn bad_text_is_refused_with_the_value_and_the_form() {
        for bad in [
            "",
            "G(8500,39850)",
            "G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(50,10000000)",
            "G(60000,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(10000000,50)",
            "G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(10000000,50)x",
            "G(a,b)B(6550,2300)R(35400,14600)WP(15635,16450)L(10000000,50)",
        ] {
            let e = bad.parse::<MasteringDisplay>().unwrap_err();
            assert_eq!(e.value, bad);
            assert!(e.to_string().contains("WP(x,y)"), "{e}");
        }
        assert!("400,1000".parse::<ContentLightLevel>().is_err());
        assert!("1000".parse::<ContentLightLevel>().is_err());
        assert!("70000,10".parse::<ContentLightLevel>().is_err());
        assert_eq!(
            "1000, 400"
                .parse::<ContentLightLevel>()
                .unwrap()
                .to_string(),
            "1000,400"
        );
    }

    #[test]
    fn hevc_sei_bytes_follow_h265_d_2_28_and_d_2_35() {
        let p = hdr10().hevc_sei_payloads();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].0, 137);
        #[rustfmt::skip]
        let expected: [u8; 24] = [
            0x21, 0x34, 0x9B, 0xAA, // green 8500, 39850
            0x19, 0x96, 0x08, 0xFC, // blue 6550, 2300
            0x8A, 0x48, 0x39, 0x08, // red 35400, 14600
            0x3D, 0x13, 0x40, 0x42, // white 15635, 16450
            0x00, 0x98, 0x96, 0x80, // 10000000
            0x00, 0x00, 0x00, 0x32, // 50
        ];
        assert_eq!(p[0].1, expected);
        assert_eq!(p[1], (144, vec![0x03, 0xE8, 0x01, 0x90]));
    }

    #[test]
    fn the_hevc_sei_nal_is_a_prefix_sei_whose_rbsp_gives_back_the_payloads() {
        let nal = hdr10().hevc_sei_nal();
        assert_eq!(&nal[..6], &[0, 0, 0, 1, 0x4E, 0x01]);
        assert_eq!(crate::bitstream::nal::hevc_nal_type(&nal[4..]), 39);
        let rbsp = crate::bitstream::nal::unescape_rbsp(&nal[6..]);
        let p = hdr10().hevc_sei_payloads();
        let mut want = vec![137, 24];
        want.extend_from_slice(&p[0].1);
        want.extend_from_slice(&[144, 4]);
        want.extend_from_slice(&p[1].1);
        want.push(0x80);
        assert_eq!(rbsp, want);
        // The minimum luminance's 00 00 00 32 needs an emulation prevention byte.
        assert!(nal.windows(4).any(|w| w == [0, 0, 3, 0]), "{nal:02x?}");
    }

    #[test]
    fn the_av1_metadata_obus_walk_and_carry_the_payloads() {
        let obus = hdr10().av1_metadata_obus();
        let walked: Vec<_> = crate::bitstream::obu::obus(&obus)
            .map(|o| o.unwrap())
            .collect();
        assert_eq!(walked.len(), 2);
        for (o, (kind, bytes)) in walked.iter().zip(hdr10().av1_metadata_payloads()) {
            assert_eq!(o.obu_type, 5);
            assert_eq!(u32::from(o.payload[0]), kind);
            assert_eq!(&o.payload[1..o.payload.len() - 1], &bytes[..]);
            assert_eq!(o.payload.last(), Some(&0x80));
        }
    }

    #[test]
    fn av1_metadata_bytes_follow_av1_6_7_3_and_6_7_4() {
        let p = hdr10().av1_metadata_payloads();
        assert_eq!(p[0].0, 2);
        let word = |i: usize| u16::from_be_bytes([p[0].1[2 * i], p[0].1[2 * i + 1]]);
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "v / 50000 * 65536 for v <= 50000 is at most 65536; `as` saturates like the code under test"
        )]
        let reference = |v: u16| (f64::from(v) / 50_000.0 * 65_536.0).round() as u16;
        let d = MasteringDisplay::BT2020_1000_NITS;
        let order = [d.red, d.green, d.blue, d.white];
        for (i, c) in order.iter().enumerate() {
            assert_eq!(word(2 * i), reference(c.x), "x of chromaticity {i}");
            assert_eq!(word(2 * i + 1), reference(c.y), "y of chromaticity {i}");
        }
        assert_eq!(&p[0].1[16..20], &(1000u32 * 256).to_be_bytes());
        // 0.005 cd/m² * 16384 = 81.92 -> 82.
        assert_eq!(&p[0].1[20..24], &82u32.to_be_bytes());
        assert_eq!(p[1], (1, vec![0x03, 0xE8, 0x01, 0x90]));
        assert_eq!(
            HdrMetadata {
                light: None,
                ..hdr10()
            }
            .av1_metadata_payloads()
            .len(),
            1
        );
    }

    #[test]
    fn svt_notation_is_decimal() {
        assert_eq!(
            hdr10().svt_mastering_display(),
            "G(0.17000,0.79700)B(0.13100,0.04600)R(0.70800,0.29200)WP(0.31270,0.32900)L(1000.0000,0.0050)"
        );
    }
}
