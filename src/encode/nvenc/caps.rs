//! What the GPU's NVENC can do per codec (`nvEncGetEncodeCaps`): for `ghoststream probe`, and
//! checked against a session's config before the encoder is initialised, so that what the GPU
//! lacks is refused by name instead of reaching the driver.

use nvidia_video_codec_sdk::sys::nvEncodeAPI as nv;

use super::params::codec_guid;
use super::{NvencError, NvencSession};
use crate::codec::Codec;
use crate::config::{BitDepth, SessionConfig, SplitFrame, Tuning};

/// The capabilities GhostStream reports and checks for one codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeCaps {
    /// Largest width.
    pub max_width: i32,
    /// Largest height.
    pub max_height: i32,
    /// Smallest width.
    pub min_width: i32,
    /// Smallest height.
    pub min_height: i32,
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
            min_width: cap(C::NV_ENC_CAPS_WIDTH_MIN)?,
            min_height: cap(C::NV_ENC_CAPS_HEIGHT_MIN)?,
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

    /// What of `config` this GPU cannot encode, named with the fix: the picture size, 10 bits,
    /// lossless, intra refresh, and split-frame encoding forced over more engines than it has.
    pub fn check(&self, config: &SessionConfig) -> Result<(), NvencError> {
        let codec = config.codec;
        let refuse = |what: String, fix: String| Err(NvencError::Unsupported { what, fix });
        let (w, h) = (i64::from(config.width), i64::from(config.height));
        if w > i64::from(self.max_width)
            || h > i64::from(self.max_height)
            || w < i64::from(self.min_width)
            || h < i64::from(self.min_height)
        {
            return refuse(
                format!("{}x{} {codec} on this GPU", config.width, config.height),
                format!(
                    "its NVENC encodes {codec} from {}x{} to {}x{}; scale the picture into that range (--scale)",
                    self.min_width, self.min_height, self.max_width, self.max_height
                ),
            );
        }
        if config.bit_depth == BitDepth::Ten && !self.ten_bit {
            return refuse(
                format!("10-bit {codec} on this GPU"),
                "its NVENC encodes this codec at 8 bits only; use --bit-depth 8, or hevc / av1"
                    .into(),
            );
        }
        if config.tuning == Tuning::Lossless && !self.lossless {
            return refuse(
                format!("lossless {codec} on this GPU"),
                "its NVENC has no lossless mode for this codec; use another tuning or codec".into(),
            );
        }
        if config.intra_refresh_frames.is_some() && !self.intra_refresh {
            return refuse(
                format!("intra refresh for {codec} on this GPU"),
                "its NVENC has no intra refresh for this codec; use key frames (--keyint)".into(),
            );
        }
        let engines = match config.split_frame {
            SplitFrame::Two => 2,
            SplitFrame::Three => 3,
            SplitFrame::Auto | SplitFrame::Off => 0,
        };
        // H.264 is never split (the mode stays the driver's default there).
        if codec != Codec::H264 && engines > self.engines {
            return refuse(
                format!("split-frame encoding over {engines} engines"),
                format!(
                    "this GPU has {} NVENC engine(s); use --split-frame auto or off{}",
                    self.engines,
                    if self.engines >= 2 { " or two" } else { "" }
                ),
            );
        }
        Ok(())
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
            max_b_frames: 4,
            ..ada_hevc()
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

    fn ada_hevc() -> EncodeCaps {
        EncodeCaps {
            max_width: 8192,
            max_height: 8192,
            min_width: 129,
            min_height: 33,
            ten_bit: true,
            max_b_frames: 5,
            lookahead: true,
            lossless: true,
            intra_refresh: true,
            ref_invalidation: true,
            dynamic_bitrate: true,
            engines: 2,
        }
    }

    fn refusal(caps: &EncodeCaps, config: &SessionConfig) -> String {
        caps.check(config).unwrap_err().to_string()
    }

    #[test]
    fn what_the_gpu_lacks_is_refused_by_name_before_the_encoder_starts() {
        use crate::Rational;
        let caps = ada_hevc();
        let ok = SessionConfig::new(Codec::Hevc, 1920, 1080, Rational::new(60, 1));
        caps.check(&ok).unwrap();
        let mut c = ok.clone();
        c.width = 128;
        let e = refusal(&caps, &c);
        assert!(
            e.contains("128x1080 hevc") && e.contains("from 129x33 to 8192x8192"),
            "{e}"
        );
        c = ok.clone();
        c.height = 8194;
        assert!(refusal(&caps, &c).contains("1920x8194"));
        c = ok.clone();
        c.split_frame = SplitFrame::Three;
        let e = refusal(&caps, &c);
        assert!(
            e.contains("over 3 engines") && e.contains("has 2 NVENC engine(s)"),
            "{e}"
        );
        c.split_frame = SplitFrame::Two;
        caps.check(&c).unwrap();
        let mut two = ok.clone();
        two.split_frame = SplitFrame::Three;
        two.codec = Codec::H264;
        let mut h264 = caps;
        h264.max_width = 4096;
        h264.max_height = 4096;
        h264.check(&two).unwrap();
        let mut lacking = caps;
        lacking.ten_bit = false;
        lacking.lossless = false;
        lacking.intra_refresh = false;
        c = ok.clone();
        c.bit_depth = BitDepth::Ten;
        assert!(refusal(&lacking, &c).contains("10-bit hevc"));
        c = ok.clone();
        c.tuning = Tuning::Lossless;
        assert!(refusal(&lacking, &c).contains("lossless hevc"));
        c = ok;
        c.intra_refresh_frames = Some(30);
        assert!(refusal(&lacking, &c).contains("intra refresh"));
    }
}
