//! Colour descriptions: matrix, range, transfer and primaries.
//!
//! Each enum carries its ITU-T H.273 code point ([`ColorMatrix::h273`] and friends), the number
//! that H.264/HEVC VUI, the AV1 sequence header's `color_config` and every container write.

use std::fmt;
use std::str::FromStr;

/// The YUV matrix coefficients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum ColorMatrix {
    /// ITU-R BT.601 (SD).
    Bt601 = 0,
    /// ITU-R BT.709 (HD).
    Bt709 = 1,
    /// ITU-R BT.2020 non-constant luminance (UHD, HDR10).
    Bt2020Ncl = 2,
}

/// Whether code values use the limited ("TV", 16-235) or full ("PC", 0-255) range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ColorRange {
    /// Limited range: Y 16..235, chroma 16..240 at 8 bits.
    Limited = 0,
    /// Full range: 0..255 at 8 bits.
    Full = 1,
}

/// The transfer characteristic (the curve from light to code value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum TransferFunction {
    /// IEC 61966-2-1 sRGB.
    Srgb = 0,
    /// ITU-R BT.709 (also BT.601 and BT.2020 SDR).
    Bt709 = 1,
    /// SMPTE ST 2084 perceptual quantizer (HDR10).
    Pq = 2,
    /// ARIB STD-B67 hybrid log-gamma.
    Hlg = 3,
}

/// The colour primaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum ColorPrimaries {
    /// ITU-R BT.709 / sRGB.
    Bt709 = 0,
    /// ITU-R BT.601 625-line (EBU / PAL).
    Bt601Pal = 1,
    /// ITU-R BT.601 525-line (SMPTE 170M / NTSC).
    Bt601Ntsc = 2,
    /// ITU-R BT.2020.
    Bt2020 = 3,
    /// SMPTE EG 432-1 (Display P3).
    DisplayP3 = 4,
}

impl ColorMatrix {
    /// The H.273 `MatrixCoefficients` code point.
    pub const fn h273(self) -> u8 {
        match self {
            ColorMatrix::Bt601 => 6,
            ColorMatrix::Bt709 => 1,
            ColorMatrix::Bt2020Ncl => 9,
        }
    }
}

impl TransferFunction {
    /// The H.273 `TransferCharacteristics` code point.
    pub const fn h273(self) -> u8 {
        match self {
            TransferFunction::Srgb => 13,
            TransferFunction::Bt709 => 1,
            TransferFunction::Pq => 16,
            TransferFunction::Hlg => 18,
        }
    }

    /// True for the HDR transfers (PQ, HLG), which need 10-bit encoding.
    pub const fn is_hdr(self) -> bool {
        matches!(self, TransferFunction::Pq | TransferFunction::Hlg)
    }
}

impl ColorPrimaries {
    /// The H.273 `ColourPrimaries` code point.
    pub const fn h273(self) -> u8 {
        match self {
            ColorPrimaries::Bt709 => 1,
            ColorPrimaries::Bt601Pal => 5,
            ColorPrimaries::Bt601Ntsc => 6,
            ColorPrimaries::Bt2020 => 9,
            ColorPrimaries::DisplayP3 => 12,
        }
    }
}

/// A full colour description of a video signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ColorDescription {
    /// YUV matrix.
    pub matrix: ColorMatrix,
    /// Code value range.
    pub range: ColorRange,
    /// Transfer characteristic.
    pub transfer: TransferFunction,
    /// Primaries.
    pub primaries: ColorPrimaries,
}

impl ColorDescription {
    /// BT.709 limited range: the description of nearly every SDR stream.
    pub const BT709: ColorDescription = ColorDescription {
        matrix: ColorMatrix::Bt709,
        range: ColorRange::Limited,
        transfer: TransferFunction::Bt709,
        primaries: ColorPrimaries::Bt709,
    };

    /// HDR10: BT.2020 primaries and matrix, PQ transfer, limited range.
    pub const HDR10: ColorDescription = ColorDescription {
        matrix: ColorMatrix::Bt2020Ncl,
        range: ColorRange::Limited,
        transfer: TransferFunction::Pq,
        primaries: ColorPrimaries::Bt2020,
    };
}

impl Default for ColorDescription {
    fn default() -> Self {
        Self::BT709
    }
}

macro_rules! named_enum {
    ($ty:ident, $what:literal, [$($variant:ident => $name:literal),+ $(,)?]) => {
        impl $ty {
            /// The lower-case name used on the command line.
            pub const fn name(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.to_ascii_lowercase().as_str() {
                    $($name => Ok($ty::$variant),)+
                    _ => Err(format!(
                        concat!("unknown ", $what, " '{}' (expected one of: {})"),
                        s,
                        [$($name),+].join(", ")
                    )),
                }
            }
        }
    };
}
pub(crate) use named_enum;

named_enum!(ColorMatrix, "colour matrix", [Bt601 => "bt601", Bt709 => "bt709", Bt2020Ncl => "bt2020"]);
named_enum!(ColorRange, "colour range", [Limited => "limited", Full => "full"]);
named_enum!(TransferFunction, "transfer function", [Srgb => "srgb", Bt709 => "bt709", Pq => "pq", Hlg => "hlg"]);
named_enum!(ColorPrimaries, "colour primaries", [
    Bt709 => "bt709", Bt601Pal => "bt601-625", Bt601Ntsc => "bt601-525", Bt2020 => "bt2020", DisplayP3 => "p3"
]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h273_code_points_are_the_published_ones() {
        assert_eq!(ColorMatrix::Bt709.h273(), 1);
        assert_eq!(ColorMatrix::Bt601.h273(), 6);
        assert_eq!(ColorMatrix::Bt2020Ncl.h273(), 9);
        assert_eq!(TransferFunction::Pq.h273(), 16);
        assert_eq!(TransferFunction::Hlg.h273(), 18);
        assert_eq!(ColorPrimaries::Bt2020.h273(), 9);
    }

    #[test]
    fn parse_rejects_unknown_with_the_choices() {
        assert_eq!(
            "PQ".parse::<TransferFunction>().unwrap(),
            TransferFunction::Pq
        );
        let e = "bt2100".parse::<ColorMatrix>().unwrap_err();
        assert!(e.contains("bt2100") && e.contains("bt709"), "{e}");
    }
}
