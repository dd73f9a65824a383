//! What the GPU's NVENC can do per codec (`nvEncGetEncodeCaps`), for `ghoststream probe`.

use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

use super::params::codec_guid;
use super::{NvencError, NvencSession};
use crate::codec::Codec;

/// The capabilities GhostStream reports and checks for one codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeCaps {
    /// Largest width.
    pub max_width: i32,
    /// Largest height.
    pub max_height: i32,
    /// 10-bit encoding.
    pub ten_bit: bool,
    /// Most B-frames between references (0: none).
    pub max_b_frames: i32,
    /// Lookahead.
    pub lookahead: bool,
    /// Lossless encoding.
    pub lossless: bool,
    /// Intra refresh.
    pub intra_refresh: bool,
    /// Reference-picture invalidation.
    pub ref_invalidation: bool,
    /// Bitrate change without a new session.
    pub dynamic_bitrate: bool,
    /// NVENC engines on the GPU (split-frame encoding needs two or more).
    pub engines: i32,
}

impl EncodeCaps {
    /// The capabilities of `codec`, or `None` when the GPU does not encode it.
    pub fn query(session: &NvencSession, codec: Codec) -> Result<Option<Self>, NvencError> {
        let guid = codec_guid(codec);
        if !session.codecs()?.contains(&guid) {
            return Ok(None);
        }
        use nv::NV_ENC_CAPS as C;
        let cap = |c| session.cap(guid, c);
        Ok(Some(Self {
            max_width: cap(C::NV_ENC_CAPS_WIDTH_MAX)?,
            max_height: cap(C::NV_ENC_CAPS_HEIGHT_MAX)?,
            ten_bit: cap(C::NV_ENC_CAPS_SUPPORT_10BIT_ENCODE)? != 0,
            max_b_frames: cap(C::NV_ENC_CAPS_NUM_MAX_BFRAMES)?,
            lookahead: cap(C::NV_ENC_CAPS_SUPPORT_LOOKAHEAD)? != 0,
            lossless: cap(C::NV_ENC_CAPS_SUPPORT_LOSSLESS_ENCODE)? != 0,
            intra_refresh: cap(C::NV_ENC_CAPS_SUPPORT_INTRA_REFRESH)? != 0,
            ref_invalidation: cap(C::NV_ENC_CAPS_SUPPORT_REF_PIC_INVALIDATION)? != 0,
            dynamic_bitrate: cap(C::NV_ENC_CAPS_SUPPORT_DYN_BITRATE_CHANGE)? != 0,
            engines: cap(C::NV_ENC_CAPS_NUM_ENCODER_ENGINES)?,
        }))
    }

    /// Split-frame encoding: two or more engines, HEVC or AV1.
    pub fn split_frame(&self, codec: Codec) -> bool {
        self.engines > 1 && codec != Codec::H264
    }

    /// One line for `probe`.
    pub fn describe(&self, codec: Codec) -> String {
        let yes = |b: bool| if b { "yes" } else { "no" };
        format!(
            "up to {}x{}, 10-bit {}, B-frames {}, lookahead {}, lossless {}, intra refresh {}, reference invalidation {}, live bitrate change {}, engines {}, split-frame {}",
            self.max_width,
            self.max_height,
            yes(self.ten_bit),
            self.max_b_frames,
            yes(self.lookahead),
            yes(self.lossless),
            yes(self.intra_refresh),
            yes(self.ref_invalidation),
            yes(self.dynamic_bitrate),
            self.engines,
            yes(self.split_frame(codec))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_frame_needs_two_engines_and_not_h264() {
        let mut c = EncodeCaps {
            max_width: 8192,
            max_height: 8192,
            ten_bit: true,
            max_b_frames: 4,
            lookahead: true,
            lossless: true,
            intra_refresh: true,
            ref_invalidation: true,
            dynamic_bitrate: true,
            engines: 2,
        };
        assert!(c.split_frame(Codec::Av1) && c.split_frame(Codec::Hevc));
        assert!(!c.split_frame(Codec::H264));
        c.engines = 1;
        assert!(!c.split_frame(Codec::Hevc));
        assert_eq!(
            c.describe(Codec::Hevc),
            "up to 8192x8192, 10-bit yes, B-frames 4, lookahead yes, lossless yes, intra refresh yes, reference invalidation yes, live bitrate change yes, engines 1, split-frame no"
        );
    }
}
