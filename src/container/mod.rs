//! Container files that survive a crash: Matroska, fragmented MP4 and MPEG-TS through
//! libavformat (feature `software`, the same FFmpeg 5.1 libraries as the software encoders).
//!
//! **Crash safety.** Each format is written so that a process killed at any moment (SIGKILL,
//! power loss) leaves a file that plays up to its last complete cluster or fragment:
//! - Matroska: the segment is written with an unknown size and the muxer builds each cluster
//!   in memory and hands it to the file whole; a cluster is closed every
//!   [`ContainerOptions::fragment`] (1 s by default) and at key frames after that.
//! - MP4: fragmented (`empty_moov` + `frag_keyframe` + `default_base_moof`, a fragment at
//!   least every [`ContainerOptions::fragment`]): the `moov` holds no samples, each `moof` +
//!   `mdat` pair is self-contained.
//! - MPEG-TS: a stream of 188-byte packets, readable from any point.
//!
//! After every packet the muxer's I/O buffer is flushed, so what the muxer has finished is in
//! the kernel's hands (it survives the process; an `fsync` on [`ContainerSink::finish`] makes it
//! survive the machine). **A failed write** (a full disk) cuts the file back to its length after
//! the last successful packet — whole clusters and fragments only — and the sink refuses
//! further writes; the error says how many bytes were kept. **A clean finish** writes the
//! trailer: Matroska's cues, duration and segment size, MP4's `mfra` index.
//!
//! The header carries the codec configuration record (`avcC`, `hvcC`, `av1C`, built by
//! [`crate::sink::configuration_record`] from the first key frame, so the header is written
//! when that frame arrives), the frame rate, the colour description (matrix, range,
//! primaries, transfer, chroma siting) and HDR10 mastering-display and content-light metadata.

#[cfg(feature = "software")]
pub(crate) mod libavformat;

#[cfg(feature = "software")]
pub(crate) mod muxed;
#[cfg(feature = "software")]
pub(crate) mod writer;

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use crate::codec::Codec;
#[cfg(feature = "software")]
pub use writer::{open_container, ContainerSink};

/// A container format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
    fn muxer(self) -> &'static str {
        match self {
            Self::Matroska => "matroska",
            Self::Mp4 => "mp4",
            Self::MpegTs => "mpegts",
        }
    }

    /// Whether packets go in as length-prefixed NAL units (with the record in the header)
    /// rather than as an Annex-B byte stream.
    #[cfg_attr(not(feature = "software"), allow(dead_code))]
    fn length_prefixed(self) -> bool {
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
