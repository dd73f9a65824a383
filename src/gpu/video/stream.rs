//! What a stream's parameter sets describe, whatever the codec: the picture size, the rate, the
//! highest bitrate (which the level must allow) and the colour description the VUI carries.

use crate::color::ColorDescription;
use crate::config::BitDepth;
use crate::time::Rational;

/// What a stream's parameter sets describe (H.264's and H.265's alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VideoStream {
    /// Picture width in pixels (even).
    pub width: u32,
    /// Picture height in pixels (even).
    pub height: u32,
    /// Frames a second.
    pub frame_rate: Rational,
    /// The highest bitrate the stream may reach, bits a second (the level must allow it).
    pub max_bitrate: u64,
    /// The colour description the VUI carries.
    pub color: ColorDescription,
    /// Bits a sample: 8, or 10 (H.265 Main 10, AV1 Main at 10 bits; H.264 takes 8 only).
    pub bit_depth: BitDepth,
}
