//! Pixel formats and the size rules of each.
//!
//! A [`PixelFormat`] says how one frame is laid out in memory: how many planes, the subsampling of
//! each, and the bytes per sample. The same description serves CPU buffers and Vulkan images (the
//! Vulkan formats are mapped in one place, the GPU layer's `conv` module).

use std::fmt;
use std::str::FromStr;

/// The layout of one frame in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum PixelFormat {
    /// 8-bit B, G, R, A packed in one plane (the usual compositor format).
    Bgra8 = 0,
    /// 8-bit R, G, B, A packed in one plane.
    Rgba8 = 1,
    /// 10-bit R, G, B and 2-bit A packed little-endian in 32 bits (`A2B10G10R10`).
    Rgb10a2 = 2,
    /// 16-bit float R, G, B, A (scRGB / HDR render targets).
    Rgba16f = 3,
    /// 8-bit 4:2:0: a Y plane and an interleaved UV plane.
    Nv12 = 4,
    /// 10-bit 4:2:0 in 16-bit words, samples in the high bits: Y plane and interleaved UV plane.
    P010 = 5,
    /// 8-bit 4:2:0, three planes (Y, U, V).
    I420 = 6,
    /// 8-bit 4:4:4, three planes.
    I444 = 7,
    /// 10-bit 4:2:0, three planes of little-endian 16-bit words, samples in the low bits.
    I420P10 = 8,
    /// 10-bit 4:4:4, three planes of little-endian 16-bit words, samples in the low bits.
    I444P10 = 9,
    /// 16-bit 4:4:4, three planes of little-endian 16-bit words.
    I444P16 = 10,
}

/// How the chroma of a YUV format is subsampled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChromaSubsampling {
    /// Half width, half height.
    Cs420,
    /// Full resolution.
    Cs444,
}

/// One plane's geometry, in samples and bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaneGeometry {
    /// Width in pixels of this plane (an interleaved UV plane counts UV pairs).
    pub width: u32,
    /// Height in rows.
    pub height: u32,
    /// Bytes of one pixel of this plane (2 for NV12's UV pairs, 4 for P010's).
    pub bytes_per_pixel: u32,
}

impl PlaneGeometry {
    /// The bytes of one tightly packed row.
    pub fn row_bytes(&self) -> usize {
        self.width as usize * self.bytes_per_pixel as usize
    }
}

impl PixelFormat {
    /// Every format, in declaration order.
    pub const ALL: [PixelFormat; 11] = [
        PixelFormat::Bgra8,
        PixelFormat::Rgba8,
        PixelFormat::Rgb10a2,
        PixelFormat::Rgba16f,
        PixelFormat::Nv12,
        PixelFormat::P010,
        PixelFormat::I420,
        PixelFormat::I444,
        PixelFormat::I420P10,
        PixelFormat::I444P10,
        PixelFormat::I444P16,
    ];

    /// The short lower-case name used on the command line (`nv12`, `i420p10`).
    pub const fn name(self) -> &'static str {
        match self {
            PixelFormat::Bgra8 => "bgra8",
            PixelFormat::Rgba8 => "rgba8",
            PixelFormat::Rgb10a2 => "rgb10a2",
            PixelFormat::Rgba16f => "rgba16f",
            PixelFormat::Nv12 => "nv12",
            PixelFormat::P010 => "p010",
            PixelFormat::I420 => "i420",
            PixelFormat::I444 => "i444",
            PixelFormat::I420P10 => "i420p10",
            PixelFormat::I444P10 => "i444p10",
            PixelFormat::I444P16 => "i444p16",
        }
    }

    /// True for the packed RGB formats.
    pub const fn is_rgb(self) -> bool {
        matches!(
            self,
            PixelFormat::Bgra8 | PixelFormat::Rgba8 | PixelFormat::Rgb10a2 | PixelFormat::Rgba16f
        )
    }

    /// The chroma subsampling of a YUV format; `None` for RGB.
    pub const fn subsampling(self) -> Option<ChromaSubsampling> {
        match self {
            PixelFormat::Nv12 | PixelFormat::P010 | PixelFormat::I420 | PixelFormat::I420P10 => {
                Some(ChromaSubsampling::Cs420)
            }
            PixelFormat::I444 | PixelFormat::I444P10 | PixelFormat::I444P16 => {
                Some(ChromaSubsampling::Cs444)
            }
            _ => None,
        }
    }

    /// Significant bits per sample (8, 10 or 16).
    pub const fn bit_depth(self) -> u32 {
        match self {
            PixelFormat::Bgra8
            | PixelFormat::Rgba8
            | PixelFormat::Nv12
            | PixelFormat::I420
            | PixelFormat::I444 => 8,
            PixelFormat::Rgb10a2
            | PixelFormat::P010
            | PixelFormat::I420P10
            | PixelFormat::I444P10 => 10,
            PixelFormat::Rgba16f | PixelFormat::I444P16 => 16,
        }
    }

    /// The number of planes.
    pub const fn plane_count(self) -> usize {
        match self {
            PixelFormat::Bgra8
            | PixelFormat::Rgba8
            | PixelFormat::Rgb10a2
            | PixelFormat::Rgba16f => 1,
            PixelFormat::Nv12 | PixelFormat::P010 => 2,
            _ => 3,
        }
    }

    /// True when width and height must be even (every 4:2:0 format).
    pub const fn needs_even_size(self) -> bool {
        matches!(self.subsampling(), Some(ChromaSubsampling::Cs420))
    }

    /// The geometry of each plane of a `width` x `height` frame. Sizes must satisfy
    /// [`PixelFormat::check_size`].
    pub fn planes(self, width: u32, height: u32) -> Vec<PlaneGeometry> {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        let g = |width, height, bytes_per_pixel| PlaneGeometry {
            width,
            height,
            bytes_per_pixel,
        };
        match self {
            PixelFormat::Bgra8 | PixelFormat::Rgba8 | PixelFormat::Rgb10a2 => {
                vec![g(width, height, 4)]
            }
            PixelFormat::Rgba16f => vec![g(width, height, 8)],
            PixelFormat::Nv12 => vec![g(width, height, 1), g(cw, ch, 2)],
            PixelFormat::P010 => vec![g(width, height, 2), g(cw, ch, 4)],
            PixelFormat::I420 => vec![g(width, height, 1), g(cw, ch, 1), g(cw, ch, 1)],
            PixelFormat::I420P10 => vec![g(width, height, 2), g(cw, ch, 2), g(cw, ch, 2)],
            PixelFormat::I444 => vec![g(width, height, 1); 3],
            PixelFormat::I444P10 | PixelFormat::I444P16 => vec![g(width, height, 2); 3],
        }
    }

    /// The bytes of one tightly packed frame.
    pub fn frame_bytes(self, width: u32, height: u32) -> usize {
        self.planes(width, height)
            .iter()
            .map(|p| p.row_bytes() * p.height as usize)
            .sum()
    }

    /// Checks a frame size against this format's rules: non-zero, at most
    /// [`MAX_DIMENSION`], and even for 4:2:0.
    pub fn check_size(self, width: u32, height: u32) -> Result<(), SizeError> {
        if width == 0 || height == 0 {
            return Err(SizeError::Zero { width, height });
        }
        if width > MAX_DIMENSION || height > MAX_DIMENSION {
            return Err(SizeError::TooLarge {
                width,
                height,
                max: MAX_DIMENSION,
            });
        }
        let samples = u64::from(width) * u64::from(height);
        if samples > MAX_FRAME_SAMPLES {
            return Err(SizeError::TooManySamples {
                width,
                height,
                samples,
                max: MAX_FRAME_SAMPLES,
            });
        }
        if self.needs_even_size() && (width % 2 != 0 || height % 2 != 0) {
            return Err(SizeError::Odd {
                width,
                height,
                format: self,
            });
        }
        Ok(())
    }
}

/// The largest width or height of any frame GhostStream handles (AV1's and Vulkan's common limit).
pub const MAX_DIMENSION: u32 = 16384;

/// The most samples a frame may have: the largest picture any of the codecs takes at its highest
/// level (H.264 6.2, HEVC 6.2 and AV1 6.3 all allow 35 651 584, 8192x4352). Sources check it
/// before they allocate anything.
pub const MAX_FRAME_SAMPLES: u64 = 35_651_584;

/// Why a frame size is not allowed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SizeError {
    /// A zero width or height.
    #[error("frame size {width}x{height} has a zero dimension (both must be at least 1)")]
    Zero {
        /// The width given.
        width: u32,
        /// The height given.
        height: u32,
    },
    /// An odd width or height for a 4:2:0 format.
    #[error(
        "frame size {width}x{height} is odd, but {format} is 4:2:0 and needs even width and height"
    )]
    Odd {
        /// The width given.
        width: u32,
        /// The height given.
        height: u32,
        /// The format that needs even sizes.
        format: PixelFormat,
    },
    /// More samples than any codec takes.
    #[error("frame size {width}x{height} has {samples} samples, more than the {max} any codec takes (8192x4352 is one such size)")]
    TooManySamples {
        /// The width given.
        width: u32,
        /// The height given.
        height: u32,
        /// width x height.
        samples: u64,
        /// The limit.
        max: u64,
    },
    /// Larger than the limit.
    #[error("frame size {width}x{height} is larger than {max}x{max}")]
    TooLarge {
        /// The width given.
        width: u32,
        /// The height given.
        height: u32,
        /// The limit.
        max: u32,
    },
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PixelFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        PixelFormat::ALL
            .into_iter()
            .find(|f| f.name() == lower)
            .ok_or_else(|| {
                let names: Vec<_> = PixelFormat::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown pixel format '{s}' (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_bytes_match_known_layouts() {
        assert_eq!(
            PixelFormat::I420.frame_bytes(1920, 1080),
            1920 * 1080 * 3 / 2
        );
        assert_eq!(
            PixelFormat::Nv12.frame_bytes(1920, 1080),
            1920 * 1080 * 3 / 2
        );
        assert_eq!(PixelFormat::P010.frame_bytes(1920, 1080), 1920 * 1080 * 3);
        assert_eq!(PixelFormat::I444P10.frame_bytes(16, 8), 16 * 8 * 2 * 3);
        assert_eq!(PixelFormat::Bgra8.frame_bytes(3, 3), 36);
        // RGB and 4:4:4 allow odd sizes; the chroma of 4:2:0 rounds up.
        assert_eq!(PixelFormat::I444.frame_bytes(3, 3), 27);
    }

    #[test]
    fn size_rules_name_the_bad_value() {
        let e = PixelFormat::Nv12.check_size(1921, 1080).unwrap_err();
        assert_eq!(
            e,
            SizeError::Odd {
                width: 1921,
                height: 1080,
                format: PixelFormat::Nv12
            }
        );
        assert!(e.to_string().contains("1921x1080"));
        assert!(PixelFormat::I444.check_size(1921, 1081).is_ok());
        assert!(matches!(
            PixelFormat::I420.check_size(0, 2),
            Err(SizeError::Zero { .. })
        ));
        assert!(matches!(
            PixelFormat::I420.check_size(16386, 2),
            Err(SizeError::TooLarge { .. })
        ));
    }

    #[test]
    fn names_round_trip() {
        for f in PixelFormat::ALL {
            assert_eq!(f.name().parse::<PixelFormat>().unwrap(), f);
        }
        assert!("yuv411"
            .parse::<PixelFormat>()
            .unwrap_err()
            .contains("nv12"));
    }
}
