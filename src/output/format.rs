//! The output file formats: raw bitstreams (Annex-B, length-prefixed, OBU, IVF) and containers
//! (Matroska, MP4, MPEG-TS), what each can carry, and how each is named on the command line
//! and by file extension.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use crate::codec::Codec;

/// The framing of a bitstream file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BitstreamFormat {
    /// H.264/HEVC Annex-B byte stream (`.h264`, `.264`, `.h265`, `.265`, `.hevc`).
    AnnexB,
    /// H.264/HEVC NAL units behind 4-byte lengths (`.avcc`, `.hvcc`), record beside it.
    LengthPrefixed,
    /// AV1 low-overhead OBU stream (`.obu`), each temporal unit led by a temporal delimiter.
    Obu,
    /// AV1 in IVF (`.ivf`).
    Ivf,
}

impl BitstreamFormat {
    /// The format a file name's extension implies.
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "h264" | "264" | "avc" | "h265" | "265" | "hevc" => BitstreamFormat::AnnexB,
            "avcc" | "hvcc" => BitstreamFormat::LengthPrefixed,
            "obu" | "av1" => BitstreamFormat::Obu,
            "ivf" => BitstreamFormat::Ivf,
            _ => return None,
        })
    }

    /// The name used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            BitstreamFormat::AnnexB => "annexb",
            BitstreamFormat::LengthPrefixed => "length-prefixed",
            BitstreamFormat::Obu => "obu",
            BitstreamFormat::Ivf => "ivf",
        }
    }

    /// True when the format can carry `codec`.
    pub const fn carries(self, codec: Codec) -> bool {
        match self {
            BitstreamFormat::AnnexB | BitstreamFormat::LengthPrefixed => {
                matches!(codec, Codec::H264 | Codec::Hevc)
            }
            BitstreamFormat::Obu | BitstreamFormat::Ivf => matches!(codec, Codec::Av1),
        }
    }

    /// The usual extension for `codec` in this format.
    pub const fn extension(self, codec: Codec) -> &'static str {
        match (self, codec) {
            (BitstreamFormat::AnnexB, Codec::Hevc) => "h265",
            (BitstreamFormat::AnnexB, _) => "h264",
            (BitstreamFormat::LengthPrefixed, Codec::Hevc) => "hvcc",
            (BitstreamFormat::LengthPrefixed, _) => "avcc",
            (BitstreamFormat::Obu, _) => "obu",
            (BitstreamFormat::Ivf, _) => "ivf",
        }
    }

    /// The natural format for a codec: IVF for AV1, Annex-B otherwise.
    pub const fn default_for(codec: Codec) -> Self {
        match codec {
            Codec::Av1 => BitstreamFormat::Ivf,
            _ => BitstreamFormat::AnnexB,
        }
    }
}

impl fmt::Display for BitstreamFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BitstreamFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "annexb" | "annex-b" => Ok(BitstreamFormat::AnnexB),
            "length-prefixed" | "avcc" | "hvcc" => Ok(BitstreamFormat::LengthPrefixed),
            "obu" => Ok(BitstreamFormat::Obu),
            "ivf" => Ok(BitstreamFormat::Ivf),
            _ => Err(format!(
                "unknown output format '{s}' (expected one of: annexb, length-prefixed, obu, ivf)"
            )),
        }
    }
}

/// A container format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContainerFormat {
    /// Matroska (`.mkv`): H.264, HEVC, AV1.
    Matroska,
    /// Fragmented MP4 (`.mp4`): H.264, HEVC, AV1.
    Mp4,
    /// MPEG transport stream (`.ts`): H.264, HEVC (FFmpeg 5.1 has no AV1 in TS).
    MpegTs,
}

impl ContainerFormat {
    /// The format a file name's extension implies.
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "mkv" => Self::Matroska,
            "mp4" | "m4v" => Self::Mp4,
            "ts" | "m2ts" | "mts" => Self::MpegTs,
            _ => return None,
        })
    }

    /// The name used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Matroska => "mkv",
            Self::Mp4 => "mp4",
            Self::MpegTs => "ts",
        }
    }

    /// True when the format can carry `codec`.
    pub const fn carries(self, codec: Codec) -> bool {
        !matches!((self, codec), (Self::MpegTs, Codec::Av1))
    }

    #[cfg_attr(not(feature = "software"), allow(dead_code))]
    pub(crate) fn muxer(self) -> &'static str {
        match self {
            Self::Matroska => "matroska",
            Self::Mp4 => "mp4",
            Self::MpegTs => "mpegts",
        }
    }

    /// Whether packets go in as length-prefixed NAL units (with the record in the header)
    /// rather than as an Annex-B byte stream.
    #[cfg_attr(not(feature = "software"), allow(dead_code))]
    pub(crate) fn length_prefixed(self) -> bool {
        !matches!(self, Self::MpegTs)
    }
}

impl fmt::Display for ContainerFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ContainerFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "mkv" | "matroska" => Ok(Self::Matroska),
            "mp4" => Ok(Self::Mp4),
            "ts" | "mpegts" => Ok(Self::MpegTs),
            _ => Err(format!(
                "unknown container '{s}' (expected one of: mkv, mp4, ts)"
            )),
        }
    }
}

/// Any file output: a raw bitstream or a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OutputFormat {
    /// A raw bitstream file.
    Bitstream(BitstreamFormat),
    /// A container file (Matroska, MP4, MPEG-TS).
    Container(ContainerFormat),
}

impl OutputFormat {
    /// The format a file name's extension implies.
    pub fn from_path(path: &Path) -> Option<Self> {
        ContainerFormat::from_path(path)
            .map(Self::Container)
            .or_else(|| BitstreamFormat::from_path(path).map(Self::Bitstream))
    }

    /// The name used on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Bitstream(f) => f.name(),
            Self::Container(f) => f.name(),
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse()
            .map(Self::Container)
            .or_else(|_| s.parse().map(Self::Bitstream))
            .map_err(|_: String| {
                format!(
                    "unknown output format '{s}' (expected one of: mkv, mp4, ts, annexb, length-prefixed, obu, ivf)"
                )
            })
    }
}

/// How a container is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerOptions {
    /// The longest stretch a crash can lose: Matroska's cluster and MP4's fragment length.
    pub fragment: Duration,
}

impl Default for ContainerOptions {
    fn default() -> Self {
        Self {
            fragment: Duration::from_secs(1),
        }
    }
}
