//! The codecs GhostStream encodes and the size limits their specifications set.

use std::fmt;
use std::str::FromStr;

/// A video codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum Codec {
    /// AV1 (AOMedia Video 1).
    Av1 = 0,
    /// HEVC / H.265.
    Hevc = 1,
    /// AVC / H.264.
    H264 = 2,
}

/// The largest frame a codec's highest level allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodecLimits {
    /// Largest width in luma samples.
    pub max_width: u32,
    /// Largest height in luma samples.
    pub max_height: u32,
    /// Largest picture area in luma samples.
    pub max_luma_samples: u64,
    /// Largest quantizer of constant-QP mode on this codec's own scale.
    pub max_qp: u32,
}

impl Codec {
    /// Every codec.
    pub const ALL: [Codec; 3] = [Codec::Av1, Codec::Hevc, Codec::H264];

    /// The lower-case name used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Codec::Av1 => "av1",
            Codec::Hevc => "hevc",
            Codec::H264 => "h264",
        }
    }

    /// The size and quantizer limits of the codec's specification at its highest level.
    ///
    /// - H.264 level 6.2: at most 139 264 macroblocks a frame; each side at most
    ///   sqrt(8 x 139 264) = 1055 macroblocks, 16 880 samples, which GhostStream caps at 16384.
    /// - HEVC level 6.2: `MaxLumaPs` 35 651 584; each side at most sqrt(8 x MaxLumaPs) = 16 888.
    /// - AV1 level 6.3 (and 7.x): `MaxPicSize` 35 651 584, `MaxHSize` 16 384, `MaxVSize` 8 704.
    ///
    /// QP: H.264 and HEVC at 8 bits go from 0 to 51; AV1's `base_q_idx` from 0 to 255.
    pub const fn limits(self) -> CodecLimits {
        match self {
            Codec::H264 => CodecLimits {
                max_width: 16384,
                max_height: 16384,
                max_luma_samples: 139_264 * 256,
                max_qp: 51,
            },
            Codec::Hevc => CodecLimits {
                max_width: 16384,
                max_height: 16384,
                max_luma_samples: 35_651_584,
                max_qp: 51,
            },
            Codec::Av1 => CodecLimits {
                max_width: 16384,
                max_height: 8704,
                max_luma_samples: 35_651_584,
                max_qp: 255,
            },
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Codec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "av1" => Ok(Codec::Av1),
            "hevc" | "h265" => Ok(Codec::Hevc),
            "h264" | "avc" => Ok(Codec::H264),
            _ => Err(format!(
                "unknown codec '{s}' (expected one of: av1, hevc, h264)"
            )),
        }
    }
}
