//! The AV1 sequence header a Vulkan Video encode session is created with (as the
//! `StdVideoAV1SequenceHeader` of VK_KHR_video_encode_av1, with its colour configuration and one
//! operating point) for a stream of one picture size and rate, with the level chosen from the
//! size, the display rate and the bitrate (AV1 specification, Annex A.3, Main tier).
//!
//! The encode plan is the low-latency one of H.264 and H.265: a key frame, then inter frames each
//! predicted from the frame before (one reference, no reordering), Main profile (4:2:0, 8 or 10 bits),
//! 64x64 superblocks where the device codes them, order hints of 8 bits, no frame ids, no
//! superres, CDEF or loop restoration (the frame headers then carry none of their parameters).

use ash::vk::native as std_av1;

use super::av1::{StdVideoEncodeAV1OperatingPointInfo, STD_VIDEO_AV1_SELECT_INTEGER_MV};
use super::caps::EncodeLimits;
use super::VideoStream;
use crate::color::ColorRange;

/// One level's Main-tier limits (AV1 Annex A.3): luma samples a picture, the largest width and
/// height, luma samples a second shown, and the largest bitrate (kbit/s; MainMbps x 1000).
struct Level {
    /// `seq_level_idx` (and the `StdVideoAV1Level` value: the two numberings agree).
    idx: u8,
    name: &'static str,
    max_pic_size: u64,
    max_h_size: u32,
    max_v_size: u32,
    max_display_rate: u64,
    max_kbps: u64,
}

/// The defined levels, lowest first (2.2, 2.3, 3.2, 3.3, 4.2 and 4.3 are reserved).
const LEVELS: [Level; 14] = [
    level(0, "2.0", 147_456, 2048, 1152, 4_423_680, 1_500),
    level(1, "2.1", 278_784, 2816, 1584, 8_363_520, 3_000),
    level(4, "3.0", 665_856, 4352, 2448, 19_975_680, 6_000),
    level(5, "3.1", 1_065_024, 5504, 3096, 31_950_720, 10_000),
    level(8, "4.0", 2_359_296, 6144, 3456, 70_778_880, 12_000),
    level(9, "4.1", 2_359_296, 6144, 3456, 141_557_760, 20_000),
    level(12, "5.0", 8_912_896, 8192, 4352, 267_386_880, 30_000),
    level(13, "5.1", 8_912_896, 8192, 4352, 534_773_760, 40_000),
    level(14, "5.2", 8_912_896, 8192, 4352, 1_069_547_520, 60_000),
    level(15, "5.3", 8_912_896, 8192, 4352, 1_069_547_520, 60_000),
    level(16, "6.0", 35_651_584, 16384, 8704, 1_069_547_520, 60_000),
    level(17, "6.1", 35_651_584, 16384, 8704, 2_139_095_040, 100_000),
    level(18, "6.2", 35_651_584, 16384, 8704, 4_278_190_080, 160_000),
    level(19, "6.3", 35_651_584, 16384, 8704, 4_278_190_080, 160_000),
];

const fn level(
    idx: u8,
    name: &'static str,
    max_pic_size: u64,
    max_h_size: u32,
    max_v_size: u32,
    max_display_rate: u64,
    max_kbps: u64,
) -> Level {
    Level {
        idx,
        name,
        max_pic_size,
        max_h_size,
        max_v_size,
        max_display_rate,
        max_kbps,
    }
}

/// Why no sequence header can describe a stream, or a device cannot encode it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Av1ParamsError {
    /// A side that is zero, odd, or beyond AV1's largest frame.
    #[error("an AV1 picture of {width}x{height} {reason}")]
    Size {
        /// Width asked for.
        width: u32,
        /// Height asked for.
        height: u32,
        /// What is wrong, with the limit.
        reason: String,
    },
    /// A size, rate and bitrate no Main-tier level allows together.
    #[error(
        "no AV1 Main-tier level allows {what}: level 6.3 is the highest this encoder writes (Annex A.3); lower the frame rate or the bitrate"
    )]
    NoLevel {
        /// The size, rate and bitrate asked for.
        what: String,
    },
    /// The device's AV1 encode capabilities lack something this sequence header uses.
    #[error("the device's AV1 encoder {what}; this sequence header needs it")]
    Unsupported {
        /// What the capabilities lack, with the value they report.
        what: String,
    },
}

/// The sequence header of an AV1 stream, as the Vulkan Video std structures. The header points
/// at the colour configuration inside this value (boxed): keep it in place while the structures
/// are handed to Vulkan.
pub struct Av1Parameters {
    /// The sequence header (it points at `color`).
    pub sequence: std_av1::StdVideoAV1SequenceHeader,
    /// The colour configuration the header points at.
    pub color: Box<std_av1::StdVideoAV1ColorConfig>,
    /// The one operating point: every layer, the chosen level, Main tier.
    pub(crate) operating_points: [StdVideoEncodeAV1OperatingPointInfo; 1],
    /// The level chosen, as written ("4.1").
    pub level: &'static str,
    /// The level's `seq_level_idx` (also its `StdVideoAV1Level` value).
    pub level_idx: u8,
}

impl std::fmt::Debug for Av1Parameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Av1Parameters")
            .field("level", &self.level)
            .field("width", &self.width())
            .field("height", &self.height())
            .finish_non_exhaustive()
    }
}

/// A level's MaxHeaderRate (frame headers a second): 150 for levels 2.x and 3.x, 300 from 4.0.
fn max_header_rate(level: &Level) -> u64 {
    if level.idx < 8 {
        150
    } else {
        300
    }
}

/// The lowest level whose Main-tier limits hold a `width` x `height` picture, `rate` luma
/// samples a second, `fps` frames (one header each) a second and `bitrate` bits a second.
fn choose_level(
    width: u32,
    height: u32,
    rate: u64,
    fps: u64,
    bitrate: u64,
) -> Option<&'static Level> {
    LEVELS.iter().find(|l| {
        fps <= max_header_rate(l)
            && u64::from(width) * u64::from(height) <= l.max_pic_size
            && width <= l.max_h_size
            && height <= l.max_v_size
            && rate <= l.max_display_rate
            && bitrate <= l.max_kbps * 1000
    })
}

/// Bits needed to write `n` (at least 1).
fn bits_for(n: u32) -> u8 {
    u8::try_from(u32::BITS - n.leading_zeros())
        .unwrap_or(32)
        .max(1)
}

impl Av1Parameters {
    /// The sequence header for `stream`: Main profile, 4:2:0 at the stream's depth, the frame size exactly the
    /// picture's (AV1 codes any size), one operating point at the chosen level.
    pub fn new(stream: &VideoStream) -> Result<Self, Av1ParamsError> {
        let (w, h) = (stream.width, stream.height);
        let size_error = |reason: &str| Av1ParamsError::Size {
            width: w,
            height: h,
            reason: reason.into(),
        };
        if w == 0 || h == 0 || w % 2 != 0 || h % 2 != 0 {
            return Err(size_error(
                "is not a 4:2:0 picture: both sides must be even and non-zero",
            ));
        }
        if w > 65_536 || h > 65_536 {
            return Err(size_error(
                "is larger than AV1 codes: 65536 samples a side at most",
            ));
        }
        let samples = u64::from(w) * u64::from(h);
        let rate = stream.frame_rate;
        // Luma samples shown a second, rounded up; a rate without positive terms bounds nothing.
        let sample_rate = match (u128::try_from(rate.num), u128::try_from(rate.den)) {
            (Ok(num), Ok(den)) if num > 0 && den > 0 => {
                u64::try_from((u128::from(samples) * num).div_ceil(den)).unwrap_or(u64::MAX)
            }
            _ => 0,
        };
        // Frames a second, rounded up.
        let fps = match (u128::try_from(rate.num), u128::try_from(rate.den)) {
            (Ok(num), Ok(den)) if num > 0 && den > 0 => {
                u64::try_from(num.div_ceil(den)).unwrap_or(u64::MAX)
            }
            _ => 0,
        };
        let level = choose_level(w, h, sample_rate, fps, stream.max_bitrate).ok_or_else(|| {
            Av1ParamsError::NoLevel {
                what: format!(
                    "{w}x{h} at {}/{} fps ({sample_rate} luma samples/s) and {} kbit/s",
                    rate.num,
                    rate.den,
                    stream.max_bitrate.div_ceil(1000)
                ),
            }
        })?;

        let mut color_flags = std_av1::StdVideoAV1ColorConfigFlags {
            _bitfield_align_1: [],
            _bitfield_1: std_av1::__BindgenBitfieldUnit::new([0; 4]),
        };
        color_flags.set_color_description_present_flag(1);
        color_flags.set_color_range(u32::from(stream.color.range == ColorRange::Full));
        // The AV1 colour code points are those of ITU-T H.273, as H.264's and H.265's VUI.
        let color = Box::new(std_av1::StdVideoAV1ColorConfig {
            flags: color_flags,
            BitDepth: if stream.bit_depth == crate::BitDepth::Ten {
                10
            } else {
                8
            },
            subsampling_x: 1,
            subsampling_y: 1,
            reserved1: 0,
            color_primaries: u32::from(stream.color.primaries.h273()),
            transfer_characteristics: u32::from(stream.color.transfer.h273()),
            matrix_coefficients: u32::from(stream.color.matrix.h273()),
            chroma_sample_position:
                std_av1::StdVideoAV1ChromaSamplePosition_STD_VIDEO_AV1_CHROMA_SAMPLE_POSITION_UNKNOWN,
        });

        let mut flags = std_av1::StdVideoAV1SequenceHeaderFlags {
            _bitfield_align_1: [],
            _bitfield_1: std_av1::__BindgenBitfieldUnit::new([0; 4]),
        };
        flags.set_enable_order_hint(1);
        flags.set_enable_filter_intra(1);
        flags.set_enable_intra_edge_filter(1);
        let mut sequence = std_av1::StdVideoAV1SequenceHeader {
            flags,
            seq_profile: std_av1::StdVideoAV1Profile_STD_VIDEO_AV1_PROFILE_MAIN,
            frame_width_bits_minus_1: bits_for(w - 1) - 1,
            frame_height_bits_minus_1: bits_for(h - 1) - 1,
            max_frame_width_minus_1: u16::try_from(w - 1).unwrap_or(u16::MAX),
            max_frame_height_minus_1: u16::try_from(h - 1).unwrap_or(u16::MAX),
            delta_frame_id_length_minus_2: 0,
            additional_frame_id_length_minus_1: 0,
            // Order hints of 8 bits: a frame's distance to its references is a few frames (1,
            // or up to the B frames in a row plus one), far below 128.
            order_hint_bits_minus_1: 7,
            // With no screen content tools forced, integer motion vectors are chosen per frame.
            seq_force_integer_mv: STD_VIDEO_AV1_SELECT_INTEGER_MV,
            seq_force_screen_content_tools: 0,
            reserved1: [0; 5],
            pColorConfig: std::ptr::null(),
            pTimingInfo: std::ptr::null(),
        };
        sequence.pColorConfig = &raw const *color;
        let operating_points = [StdVideoEncodeAV1OperatingPointInfo {
            // 0: the one point holds every layer (the stream has one).
            operating_point_idc: 0,
            seq_level_idx: level.idx,
            seq_tier: 0,
            ..Default::default()
        }];
        Ok(Self {
            sequence,
            color,
            operating_points,
            level: level.name,
            level_idx: level.idx,
        })
    }

    /// The frame width the header allows (the session's coded width).
    pub fn width(&self) -> u32 {
        u32::from(self.sequence.max_frame_width_minus_1) + 1
    }

    /// The frame height the header allows (the session's coded height).
    pub fn height(&self) -> u32 {
        u32::from(self.sequence.max_frame_height_minus_1) + 1
    }

    /// The highest bitrate the level allows a Main-tier stream, bits a second (Annex A.3's
    /// MainMbps); `None` for a level outside the table.
    pub fn level_max_bitrate(&self) -> Option<u64> {
        LEVELS
            .iter()
            .find(|l| l.idx == self.level_idx)
            .map(|l| l.max_kbps * 1000)
    }

    /// Whether a device with `limits` encodes this stream: its highest level is at least the
    /// chosen one; a device that codes only 128x128 superblocks gets them in the header.
    pub fn check_limits(&mut self, limits: &EncodeLimits) -> Result<(), Av1ParamsError> {
        if u32::from(self.level_idx) > limits.max_level_idc {
            return Err(Av1ParamsError::Unsupported {
                what: format!(
                    "stops at seq_level_idx {} (this stream needs level {}, seq_level_idx {})",
                    limits.max_level_idc, self.level, self.level_idx
                ),
            });
        }
        self.sequence
            .flags
            .set_use_128x128_superblock(u32::from(limits.av1_superblock_128_only));
        Ok(())
    }

    /// The session parameters' create info: this header and its operating point.
    pub(crate) fn create_info(
        &self,
    ) -> super::av1::VideoEncodeAV1SessionParametersCreateInfoKHR<'_> {
        super::av1::VideoEncodeAV1SessionParametersCreateInfoKHR::default()
            .std_sequence_header(&self.sequence)
            .std_operating_points(&self.operating_points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::ColorDescription;
    use crate::time::Rational;

    fn stream(width: u32, height: u32, fps: i64, mbit: u64) -> VideoStream {
        VideoStream {
            width,
            height,
            frame_rate: Rational::new(fps, 1),
            max_bitrate: mbit * 1_000_000,
            color: ColorDescription::default(),
            bit_depth: crate::BitDepth::Eight,
        }
    }

    #[test]
    fn the_level_is_the_lowest_that_holds_size_rate_and_bitrate() {
        let level = |w, h, fps, mbit| Av1Parameters::new(&stream(w, h, fps, mbit)).unwrap().level;
        assert_eq!(level(640, 360, 30, 1), "2.1");
        assert_eq!(level(1280, 720, 30, 5), "3.1");
        assert_eq!(level(1920, 1080, 30, 10), "4.0");
        assert_eq!(level(1920, 1080, 60, 10), "4.1");
        // 1080p60's size and rate fit 4.1, its 25 Mbit/s does not (20 at most): 5.0.
        assert_eq!(level(1920, 1080, 60, 25), "5.0");
        // Level 5.0's MainMbps: 30 Mbit/s.
        let p = Av1Parameters::new(&stream(1920, 1080, 60, 25)).unwrap();
        assert_eq!(p.level_max_bitrate(), Some(30_000_000));
        assert_eq!(level(3840, 2160, 60, 40), "5.1");
        assert_eq!(level(7680, 4320, 30, 60), "6.0");
        // 240 small frames a second: 2.0's size and sample rate, but more than its 150 headers.
        assert_eq!(level(320, 180, 240, 1), "4.0");
        let e = Av1Parameters::new(&stream(320, 180, 301, 1)).unwrap_err();
        assert!(matches!(e, Av1ParamsError::NoLevel { .. }), "{e}");
    }

    #[test]
    fn the_header_codes_the_exact_frame_size_in_as_few_bits_as_it_needs() {
        let p = Av1Parameters::new(&stream(1920, 1080, 60, 10)).unwrap();
        let s = &p.sequence;
        assert_eq!(
            (s.max_frame_width_minus_1, s.max_frame_height_minus_1),
            (1919, 1079)
        );
        // 1919 needs 11 bits, 1079 needs 11.
        assert_eq!(
            (s.frame_width_bits_minus_1, s.frame_height_bits_minus_1),
            (10, 10)
        );
        assert_eq!((p.width(), p.height()), (1920, 1080));
        assert_eq!(s.flags.enable_order_hint(), 1);
        assert_eq!(s.order_hint_bits_minus_1, 7);
        // SAFETY: set by `new` to the box inside `p`, alive as long as `p`.
        let color = unsafe { &*s.pColorConfig };
        assert_eq!(
            (color.BitDepth, color.subsampling_x, color.subsampling_y),
            (8, 1, 1)
        );
        assert_eq!(color.color_primaries, 1, "BT.709 by default");
        assert_eq!(p.operating_points[0].seq_level_idx, 9);
        let tiny = Av1Parameters::new(&stream(2, 2, 30, 1)).unwrap();
        assert_eq!(tiny.sequence.frame_width_bits_minus_1, 0);
    }

    #[test]
    fn impossible_streams_and_devices_are_typed_errors_naming_the_values() {
        let e = Av1Parameters::new(&stream(1921, 1080, 30, 1)).unwrap_err();
        assert!(matches!(e, Av1ParamsError::Size { width: 1921, .. }), "{e}");
        let e = Av1Parameters::new(&stream(1920, 1080, 30, 500)).unwrap_err();
        assert!(matches!(e, Av1ParamsError::NoLevel { .. }), "{e}");
        assert!(e.to_string().contains("500000 kbit/s"), "{e}");
        let mut p = Av1Parameters::new(&stream(3840, 2160, 60, 40)).unwrap();
        let limits = EncodeLimits {
            max_level_idc: 12,
            ..EncodeLimits::default()
        };
        let e = p.check_limits(&limits).unwrap_err();
        assert!(e.to_string().contains("level 5.1, seq_level_idx 13"), "{e}");
        let limits = EncodeLimits {
            max_level_idc: 19,
            av1_superblock_128_only: true,
            ..EncodeLimits::default()
        };
        p.check_limits(&limits).unwrap();
        assert_eq!(p.sequence.flags.use_128x128_superblock(), 1);
    }
}
