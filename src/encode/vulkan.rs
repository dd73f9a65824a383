//! The Vulkan Video backend (VK_KHR_video_encode_queue): H.264, H.265 and AV1 on any vendor's
//! device with a video-encode queue, through [`crate::gpu::video::encoder::VideoEncoder`]. Frames
//! come in CPU memory as NV12 or P010 (or I420 / I420P10, interleaved here) and are uploaded to
//! the encode input image on the device, or, opened on the session's GPU context, the session's
//! pass writes them into the encoder's input images (or hand-off buffers it copies from) on the
//! same device (no CPU copy, no read-back). Low-latency tunings code each picture as it arrives
//! (IDR or key frame, then P or inter frames referencing the one before) and wait for it, so
//! each unit comes back before the next frame is taken; with `--intra-refresh` (and a device
//! offering VK_KHR_video_encode_intra_refresh) those inter frames refresh the picture region by
//! region instead of periodic key frames. High quality (`--tune hq`) codes B pictures where the
//! device offers them, as many in a row as the driver prefers at the quality level, and keeps a
//! few pictures in flight on the GPU: H.264 and H.265 units in coding order with decode times
//! one frame behind; AV1 with bidirectional compound prediction (LAST and ALTREF), the frame
//! after the B frames coded ahead of them hidden, riding in the first B frame's temporal unit,
//! and shown after the last one by a `show_existing_frame` header. H.264 and H.265 units are
//! Annex-B, the parameter sets before each IDR; AV1 units are temporal units of low-overhead
//! OBUs, each led by a temporal delimiter, the sequence header before each key frame.

use std::collections::VecDeque;
use std::sync::Arc;

use super::registry::{BackendFactory, Feed, InputPlan, OpenedBackend};
use super::{EncodeError, EncodedUnit, EncoderBackend, LiveControls};
use crate::bitstream::sei::{recovery_point_payload, sei_nal, SeiSyntax, RECOVERY_POINT};
use crate::codec::Codec;
use crate::config::{BackendKind, BitDepth, DeviceSelector, GpuOptions, KeyframeInterval, Preset};
use crate::config::{RateControl, SessionConfig, Tuning};
use crate::format::PixelFormat;
use crate::frame::{Frame, FrameImage};
use crate::gpu::video::av1_sequence::Av1Parameters;
#[cfg(test)]
use crate::gpu::video::caps::EncodeLimits;
use crate::gpu::video::caps::{
    encode_support, encode_support_tuned, quality_level_properties, EncodeSupport,
};
use crate::gpu::video::encoder::WrittenPicture;
use crate::gpu::video::encoder::{
    EncodedPicture, EncoderOptions, HandoffPicture, IntraRefresh, PictureInput, VideoEncoder,
    VideoRate,
};
use crate::gpu::video::h264::H264Parameters;
use crate::gpu::video::h265::H265Parameters;
use crate::gpu::video::session::SessionParameters;
use crate::gpu::video::VideoStream;
use crate::gpu::{ExportableBuffer, ExportableTimeline, GpuContext, GpuError};
use crate::gpu::{GpuHandoff, HandedOff, Handoff, ImageHandoff};
use crate::processing::convert::YuvLayout;

/// Hand-off buffers: the encoder copies each picture out on the GPU before it encodes it, so
/// the pass may run this many frames ahead.
const HANDOFF_BUFFERS: usize = 3;

/// Pictures a high-quality session leaves on the GPU before it waits for the oldest (a
/// low-latency one waits for each picture).
const PICTURES_IN_FLIGHT: usize = 2;

/// An AV1 temporal delimiter OBU (type 2, with its size field: 0 bytes of payload).
const TEMPORAL_DELIMITER: [u8; 2] = [0x12, 0x00];

/// Vulkan Video encode ([`VulkanVideoEncoder`]) on the first device whose video-encode queue
/// encodes the codec.
pub(crate) struct VulkanVideoFactory;

impl BackendFactory for VulkanVideoFactory {
    fn kind(&self) -> BackendKind {
        BackendKind::VulkanVideo
    }

    fn probe(&self, codec: Codec) -> Result<String, String> {
        encode_support(codec).map(|support| support.to_string())
    }

    /// Takes NV12 or I420 frames in CPU memory (P010 or I420P10 at 10 bits). On a session's GPU
    /// it uses that context when it has a video-encode queue, and takes the pass's NV12 (P010)
    /// frames in place through hand-off
    /// buffers there; fed from the CPU it opens a context on the first device that encodes the
    /// codec.
    fn open(&self, config: &SessionConfig, feed: Feed<'_>) -> Result<OpenedBackend, EncodeError> {
        let unavailable = |reason: String| EncodeError::Unavailable {
            backend: BackendKind::VulkanVideo,
            reason,
        };
        // Two planes (what the encode input image holds), or three the backend interleaves.
        let (two_planes, three_planes) = match config.bit_depth {
            BitDepth::Ten => (PixelFormat::P010, PixelFormat::I420P10),
            BitDepth::Eight => (PixelFormat::Nv12, PixelFormat::I420),
        };
        let (ctx, format) = match feed {
            Feed::Gpu(ctx) if ctx.video_encode_family().is_some() => {
                let mut encoder = VulkanVideoEncoder::open(config, ctx)?;
                let handoff = encoder.offer_handoff(ctx).map_err(hardware)?;
                return Ok(OpenedBackend {
                    backend: Box::new(encoder),
                    input: InputPlan {
                        format: two_planes,
                        handoff: Some(handoff),
                    },
                });
            }
            Feed::Gpu(ctx) => {
                return Err(unavailable(format!(
                    "{} has no video-encode queue (VK_KHR_video_encode_queue)",
                    ctx.device_info().name
                )))
            }
            Feed::Cpu(given) if given != two_planes && given != three_planes => {
                return Err(EncodeError::UnsupportedInput {
                    format: given,
                    reason: format!(
                        "the Vulkan Video encoder takes {two_planes} or {three_planes} at {} bits",
                        config.bit_depth as u32
                    ),
                })
            }
            Feed::Cpu(given) => (encode_context(config.codec)?, given),
        };
        let encoder = VulkanVideoEncoder::open(config, &ctx)?;
        Ok(OpenedBackend {
            backend: Box::new(encoder),
            input: InputPlan {
                format,
                handoff: None,
            },
        })
    }
}

/// A context on the first device whose video-encode queue encodes `codec`.
fn encode_context(codec: Codec) -> Result<Arc<GpuContext>, EncodeError> {
    let support = encode_support(codec).map_err(|reason| EncodeError::Unavailable {
        backend: BackendKind::VulkanVideo,
        reason,
    })?;
    GpuContext::new(&GpuOptions {
        device: DeviceSelector::Name(support.device.clone()),
        validation: false,
    })
    .map_err(hardware)
}

/// A GPU error as this backend's.
fn hardware(e: GpuError) -> EncodeError {
    EncodeError::Hardware {
        backend: BackendKind::VulkanVideo,
        message: e.to_string(),
    }
}

/// The driver quality level for `preset` on a device with `levels` of them: P1 (fastest) the
/// lowest, P7 (best) the highest, the presets between spread evenly (Vulkan's levels are
/// ordered by quality: a higher one is slower and better).
fn quality_level(preset: Preset, levels: u32) -> u32 {
    let step = u64::from((preset as u32).saturating_sub(1));
    u32::try_from((step * u64::from(levels.saturating_sub(1)) + 3) / 6).unwrap_or(0)
}

/// The rate `config` asks for, as the encoder takes it, at quality level `quality_level`.
fn video_rate(config: &SessionConfig, quality_level: u32) -> VideoRate {
    let bitrate = match config.rate_control {
        RateControl::Cbr { bitrate } => bitrate,
        RateControl::Vbr { max, .. } => max,
        _ => 0,
    };
    let buffer_ms = match config.vbv_buffer_bits {
        Some(bits) if bitrate > 0 => {
            u32::try_from((bits.saturating_mul(1000) / bitrate).clamp(1, 60_000)).unwrap_or(1000)
        }
        _ => 1000,
    };
    VideoRate {
        control: config.rate_control,
        frame_rate: config.frame_rate,
        buffer_ms,
        quality_level,
    }
}

/// B pictures in a row for `config` on `ctx`'s device offering `support`, at quality level
/// `level`: none for low-latency and lossless tunings, or a device without B pictures (one
/// reference on each side, three DPB slots; for AV1 bidirectional compound prediction from
/// LAST and ALTREF); else as many as the driver prefers at the level
/// (`preferredConsecutiveBFrameCount`, at most 4: each waits in an input image).
fn b_frames(config: &SessionConfig, ctx: &GpuContext, support: &EncodeSupport, level: u32) -> u32 {
    let offered = support.limits.b_pictures()
        && support.max_dpb_slots >= 3
        && support.max_active_references >= 2;
    if config.tuning != Tuning::HighQuality || !offered {
        return 0;
    }
    match quality_level_properties(ctx, config.codec, config.bit_depth, config.tuning, level) {
        Ok(p) => p.consecutive_b_frames.min(4),
        Err(e) => {
            tracing::debug!(error = %e, "no quality level preferences: no B pictures");
            0
        }
    }
}

/// The intra-refresh plan for `config` on a device offering `support`: `None` without
/// `--intra-refresh`; else the mode GhostStream prefers of those offered and a cycle of the
/// frames asked for, or why the device cannot (no intra refresh, per-slice refresh only, a
/// cycle longer than its longest).
fn intra_refresh(
    config: &SessionConfig,
    support: &EncodeSupport,
) -> Result<Option<IntraRefresh>, EncodeError> {
    let Some(cycle) = config.intra_refresh_frames else {
        return Ok(None);
    };
    let unsupported = |fix: String| EncodeError::Unsupported {
        encoder: format!("Vulkan Video {} on {}", config.codec, support.device),
        what: format!("intra refresh over {cycle} frames (--intra-refresh {cycle})"),
        fix,
    };
    let Some(limits) = support.limits.intra_refresh else {
        return Err(unsupported(
            "the device offers no intra refresh (VK_KHR_video_encode_intra_refresh): drop --intra-refresh and set a keyframe interval (--keyint), or use --encoder nvenc or software".into(),
        ));
    };
    let Some(mode) = limits.preferred_mode() else {
        return Err(unsupported(
            "the device refreshes only slice by slice, which needs as many slices per picture as the cycle has frames, and GhostStream codes one slice: drop --intra-refresh or use --encoder nvenc or software".into(),
        ));
    };
    if cycle > limits.max_cycle {
        return Err(unsupported(format!(
            "the device refreshes over {} frames at most: ask for --intra-refresh {} or fewer",
            limits.max_cycle, limits.max_cycle
        )));
    }
    // The recovery point counts the cycle in the stream's own counters: H.264's frame_num
    // (recovery_frame_cnt below MaxFrameNum, 256 here) and H.265's POC LSBs (recovery_poc_cnt
    // below MaxPicOrderCntLsb / 2, 128 here).
    let longest = match config.codec {
        Codec::H264 => Some(256),
        Codec::Hevc => Some(128),
        Codec::Av1 => None,
    };
    if let Some(longest) = longest.filter(|&l| cycle > l) {
        return Err(unsupported(format!(
            "a {} recovery point reaches {longest} frames at most: ask for --intra-refresh {longest} or fewer",
            config.codec
        )));
    }
    Ok(Some(IntraRefresh { mode, cycle }))
}

/// The recovery point SEI NAL unit for the first picture of a cycle of `cycle` pictures: whole
/// pictures from the cycle's last picture on (`cycle − 1` pictures later).
fn recovery_point_sei(syntax: SeiSyntax, cycle: u32) -> Vec<u8> {
    sei_nal(
        syntax,
        &[(
            RECOVERY_POINT,
            recovery_point_payload(syntax, cycle.saturating_sub(1)),
        )],
    )
}

/// Whether `support` (the device's capabilities) covers `config`: its picture size (in whole
/// macroblocks) and its rate control mode.
fn check_support(config: &SessionConfig, support: &EncodeSupport) -> Result<(), EncodeError> {
    let unsupported = |what: String, fix: String| EncodeError::Unsupported {
        encoder: format!("Vulkan Video {} on {}", config.codec, support.device),
        what,
        fix,
    };
    // H.264 and H.265 code whole 16-sample blocks; AV1 codes the frame's own size.
    let coded = match config.codec {
        Codec::Av1 => (config.width, config.height),
        Codec::H264 | Codec::Hevc => (
            config.width.div_ceil(16) * 16,
            config.height.div_ceil(16) * 16,
        ),
    };
    let (min, max) = (support.min_coded_extent, support.max_coded_extent);
    if coded.0 < min.0 || coded.1 < min.1 || coded.0 > max.0 || coded.1 > max.1 {
        return Err(unsupported(
            format!(
                "a {}x{} picture (coded {}x{})",
                config.width, config.height, coded.0, coded.1
            ),
            format!(
                "the device encodes {}x{} to {}x{}: scale to a size in that range (--scale) or use --encoder software",
                min.0, min.1, max.0, max.1
            ),
        ));
    }
    let mode = match config.rate_control {
        RateControl::Cbr { .. } => "cbr",
        RateControl::Vbr { .. } => "vbr",
        RateControl::Cqp { .. } | RateControl::Cq { .. } => "disabled",
    };
    if !support.rate_control.contains(&mode) {
        let name = if mode == "disabled" {
            "constant QP"
        } else {
            mode
        };
        return Err(unsupported(
            format!("{name} rate control"),
            format!(
                "the device offers {}: pick one of those (--rc)",
                support.rate_control.join("/")
            ),
        ));
    }
    let limits = &support.limits;
    let bitrate = match config.rate_control {
        RateControl::Cbr { bitrate } => bitrate,
        RateControl::Vbr { max, .. } => max,
        _ => 0,
    };
    if limits.max_bitrate > 0 && bitrate > limits.max_bitrate {
        return Err(unsupported(
            format!("{bitrate} bit/s"),
            format!(
                "the device's rate control stops at {} bit/s: ask for less",
                limits.max_bitrate
            ),
        ));
    }
    // The plan: one reference picture, two DPB slots (two images, or two layers of one image
    // where the device keeps reference pictures in one), P pictures, the feedback's offset and
    // size, no GOP bookkeeping per scope.
    let needs = [
        (
            support.max_dpb_slots >= 2 && support.max_active_references >= 1,
            "two DPB slots and one active reference",
        ),
        (limits.p_references >= 1, "P pictures"),
        (
            limits.feedback,
            "encode feedback with the bitstream offset and size",
        ),
        (
            !limits.requires_gop_remaining_frames,
            "coding scopes without the remaining GOP counts (the device requires them)",
        ),
    ];
    if let Some((_, what)) = needs.iter().find(|(ok, _)| !ok) {
        return Err(unsupported(
            (*what).to_string(),
            "GhostStream's Vulkan Video encoder needs it and this device lacks it: use --encoder software"
                .into(),
        ));
    }
    Ok(())
}

/// Writes `row` from the planes' rows in `from`, sample by sample in turn (one plane: a copy;
/// two: U and V interleaved), each `sample` bytes; 2-byte samples (I420P10's 10 bits in the low
/// bits) move to P010's high bits.
fn interleave_row(row: &mut [u8], from: &[&[u8]], sample: usize) {
    for (i, out) in row.chunks_exact_mut(sample).enumerate() {
        let src = &from[i % from.len()][i / from.len() * sample..][..sample];
        if sample == 2 {
            let v = u16::from_le_bytes([src[0], src[1]]) << 6;
            out.copy_from_slice(&v.to_le_bytes());
        } else {
            out[0] = src[0];
        }
    }
}

/// The parameter sets made for a session, of either codec.
enum Parameters {
    H264(Box<H264Parameters>),
    H265(Box<H265Parameters>),
    Av1(Box<Av1Parameters>),
}

/// The Vulkan Video encoder backend.
pub struct VulkanVideoEncoder {
    encoder: VideoEncoder,
    codec: Codec,
    device: String,
    width: u32,
    height: u32,
    keyframe_every: Option<u64>,
    /// Pictures encoded.
    frames: u64,
    /// The next picture is an IDR (forced).
    force_idr: bool,
    /// Frames since the last IDR.
    since_idr: u64,
    /// I420 input interleaved to NV12 (reused).
    interleaved: Vec<u8>,
    ready: VecDeque<EncodedUnit>,
    /// The hand-off the session's pass writes frames through, when it was offered (the
    /// encoder's own input images, or buffers it copies from), and the pictures' layout.
    handoff: Option<(Handoff, YuvLayout)>,
    /// The driver quality level the preset maps to (fixed for the session).
    quality_level: u32,
    /// HDR10 metadata written after the parameter sets of each IDR (key frame): H.265's prefix
    /// SEI NAL unit, AV1's metadata OBUs; empty without metadata.
    hdr: Vec<u8>,
    /// Pictures left on the GPU before the backend waits (0: each picture is waited for).
    in_flight: usize,
    /// The presentation ticks submitted and not yet out, in display order: the k-th unit out
    /// (coding order) decodes at the k-th of them, less the reordering delay.
    submitted: VecDeque<i64>,
    /// Frames by which decoding runs ahead of display (1 with B pictures).
    reorder_delay: i64,
    /// AV1: the OBUs of a frame coded hidden ahead of B frames, written at the start of the next
    /// temporal unit (after its delimiter); empty otherwise.
    hidden: Vec<u8>,
    /// H.264/H.265 with intra refresh: what is written before the first picture of each cycle,
    /// after the parameter sets (a decoder may join there): H.265's HDR10 SEI where there is
    /// one, then the recovery point SEI (whole pictures from the cycle's last picture on); empty
    /// otherwise (AV1 has no such message: a decoder starts at a key frame).
    recovery_point: Vec<u8>,
}

impl std::fmt::Debug for VulkanVideoEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VulkanVideoEncoder")
            .field("device", &self.device)
            .field("size", &(self.width, self.height))
            .finish_non_exhaustive()
    }
}

impl VulkanVideoEncoder {
    /// An encoder for `config` on `ctx` (a context with a video-encode queue), checked first
    /// against what the device reports for the codec (picture size, rate control mode).
    pub fn open(config: &SessionConfig, ctx: &Arc<GpuContext>) -> Result<Self, EncodeError> {
        if config.codec == Codec::H264 && config.bit_depth == BitDepth::Ten {
            return Err(EncodeError::Unsupported {
                encoder: "Vulkan Video h264".into(),
                what: "10-bit H.264".into(),
                fix: "Vulkan Video encodes H.264 High at 8 bits: use --bit-depth 8, or --codec hevc or av1 for 10 bits".into(),
            });
        }
        let support = encode_support_tuned(ctx, config.codec, config.bit_depth, config.tuning)
            .map_err(|reason| EncodeError::Unavailable {
                backend: BackendKind::VulkanVideo,
                reason,
            })?;
        check_support(config, &support)?;
        let max_bitrate = match config.rate_control {
            RateControl::Cbr { bitrate } => bitrate,
            RateControl::Vbr { max, .. } => max,
            _ => 0,
        };
        let unsupported = |e: String| EncodeError::Unsupported {
            encoder: format!("Vulkan Video {}", config.codec),
            what: format!(
                "a {}x{} stream at {} fps",
                config.width, config.height, config.frame_rate
            ),
            fix: e,
        };
        let stream = VideoStream {
            width: config.width,
            height: config.height,
            frame_rate: config.frame_rate,
            max_bitrate,
            color: config.color,
            bit_depth: config.bit_depth,
        };
        let mut owned = match config.codec {
            Codec::Hevc => Parameters::H265(Box::new(
                H265Parameters::new(&stream).map_err(|e| unsupported(e.to_string()))?,
            )),
            Codec::Av1 => Parameters::Av1(Box::new(
                Av1Parameters::new(&stream).map_err(|e| unsupported(e.to_string()))?,
            )),
            Codec::H264 => Parameters::H264(Box::new(
                H264Parameters::new(&stream).map_err(|e| unsupported(e.to_string()))?,
            )),
        };
        let level_ok = match &mut owned {
            Parameters::H264(p) => p.sps.level_idc <= support.limits.max_level_idc,
            Parameters::H265(p) => p.check_limits(&support.limits).is_ok(),
            Parameters::Av1(p) => p.check_limits(&support.limits).is_ok(),
        };
        if !level_ok {
            let level = match &owned {
                Parameters::H264(p) => p.level,
                Parameters::H265(p) => p.level,
                Parameters::Av1(p) => p.level,
            };
            return Err(unsupported(format!(
                "level {level} (or the coding tools it needs): the device does not encode it"
            )));
        }
        let level = quality_level(config.preset, support.quality_levels);
        let b_frames = b_frames(config, ctx, &support, level);
        if b_frames > 0 {
            match &mut owned {
                Parameters::H264(p) => p.allow_b_frames(),
                Parameters::H265(p) => p.allow_b_frames(),
                Parameters::Av1(_) => {}
            }
        }
        let params = match &owned {
            Parameters::H264(p) => SessionParameters::H264(p),
            Parameters::H265(p) => SessionParameters::H265(p),
            Parameters::Av1(p) => SessionParameters::Av1(p),
        };
        if let RateControl::Cq { quality } = config.rate_control {
            tracing::info!(
                quality,
                "Vulkan Video has no constant-quality mode: coding at constant QP {quality}"
            );
        }
        let intra_refresh = intra_refresh(config, &support)?;
        let options = EncoderOptions {
            tuning: config.tuning,
            b_frames,
            intra_refresh,
        };
        let encoder = VideoEncoder::with_options(ctx, params, video_rate(config, level), options)
            .map_err(hardware)?;
        Ok(Self {
            encoder,
            codec: config.codec,
            device: ctx.device_info().name.clone(),
            width: config.width,
            height: config.height,
            keyframe_every: match config.keyframe_interval {
                KeyframeInterval::Frames(n) => Some(u64::from(n.max(1))),
                KeyframeInterval::Infinite => None,
            },
            frames: 0,
            force_idr: false,
            since_idr: 0,
            interleaved: Vec::new(),
            ready: VecDeque::new(),
            handoff: None,
            quality_level: level,
            hdr: match (&config.hdr_metadata, config.codec) {
                (Some(h), Codec::Hevc) => h.hevc_sei_nal(),
                (Some(h), Codec::Av1) => h.av1_metadata_obus(),
                _ => Vec::new(),
            },
            in_flight: if config.tuning.is_low_latency() {
                0
            } else {
                PICTURES_IN_FLIGHT
            },
            submitted: VecDeque::new(),
            // AV1's temporal units come out in display order (a frame coded ahead rides in the
            // next unit, hidden); H.264's and H.265's B pictures decode one frame late.
            reorder_delay: i64::from(b_frames > 0 && config.codec != Codec::Av1),
            hidden: Vec::new(),
            recovery_point: match (intra_refresh, config.codec) {
                (Some(r), Codec::H264) => recovery_point_sei(SeiSyntax::H264, r.cycle),
                // After the HDR10 SEI a joining decoder would otherwise only see at an IDR.
                (Some(r), Codec::Hevc) => {
                    let hdr = config.hdr_metadata.as_ref().map(|h| h.hevc_sei_nal());
                    [
                        hdr.unwrap_or_default(),
                        recovery_point_sei(SeiSyntax::H265, r.cycle),
                    ]
                    .concat()
                }
                _ => Vec::new(),
            },
        })
    }

    /// Makes the hand-off the session's pass writes NV12 (P010) frames through, on `ctx` (this
    /// encoder's context), with two timelines, none of them exported (the reader is this
    /// device's encode): the encoder's own input images where the pass can write them
    /// ([`VideoEncoder::direct_inputs`]: no copy at all), else three device-local buffers in
    /// the pass's layout, each copied into an input image on the GPU.
    pub fn offer_handoff(&mut self, ctx: &Arc<GpuContext>) -> Result<Handoff, GpuError> {
        let layout = YuvLayout::new(self.encoder.input_format(), self.width, self.height);
        let ready = Arc::new(ExportableTimeline::unshared(ctx, 0)?);
        let released = Arc::new(ExportableTimeline::unshared(ctx, 0)?);
        let handoff = match self.encoder.direct_inputs() {
            Some(images) => Handoff::Images(ImageHandoff {
                images,
                ready,
                released,
            }),
            None => Handoff::Buffers(GpuHandoff {
                buffers: (0..HANDOFF_BUFFERS)
                    .map(|_| ExportableBuffer::unshared(ctx, u64::from(layout.size)).map(Arc::new))
                    .collect::<Result<Vec<_>, _>>()?,
                ready,
                released,
            }),
        };
        self.handoff = Some((handoff.clone(), layout));
        Ok(handoff)
    }

    /// Whether the next picture is an IDR (the first, a forced one, or the interval's).
    fn next_is_idr(&self) -> bool {
        self.frames == 0
            || self.force_idr
            || self.keyframe_every.is_some_and(|n| self.since_idr >= n)
    }

    /// Counts a picture submitted (an IDR when `idr`; `pts` kept for its unit's decode time).
    fn count_submitted(&mut self, idr: bool, pts: i64) {
        self.frames += 1;
        self.force_idr = false;
        self.since_idr = if idr { 1 } else { self.since_idr + 1 };
        self.submitted.push_back(pts);
    }

    /// Takes the pictures the encoder has finished: waiting while more than `in_flight` are on
    /// the GPU (`0`: waits for all of them), then those already done.
    fn drain(&mut self, in_flight: usize) -> Result<(), EncodeError> {
        while self.encoder.in_flight() > in_flight {
            match self.encoder.receive(true).map_err(|e| self.lost(e))? {
                Some(p) => self.queue(p),
                None => break,
            }
        }
        while let Some(p) = self.encoder.receive(false).map_err(|e| self.lost(e))? {
            self.queue(p);
        }
        Ok(())
    }

    /// A picture the encoder could not deliver (`e`): its presentation time leaves the queue
    /// so that later units keep their own decode times, and an AV1 frame coded hidden ahead
    /// of it is dropped rather than carried into an unrelated unit (the encoder codes an IDR
    /// next, so no later frame needs it). A hidden frame whose last B frame is lost stays
    /// unshown: one frame fewer on display, until that IDR.
    fn lost(&mut self, e: GpuError) -> EncodeError {
        self.submitted.pop_front();
        self.hidden.clear();
        hardware(e)
    }

    /// Queues an encoded picture's unit: for AV1 a temporal delimiter first, the parameter
    /// sets (the sequence header) and the HDR10 metadata before an IDR (a key frame), the
    /// recovery point SEI before the first picture of an intra-refresh cycle (H.264, H.265);
    /// its decode time the oldest submitted presentation time less the reordering delay.
    fn queue(&mut self, encoded: EncodedPicture) {
        // An AV1 frame coded ahead of the B frames before it: no temporal unit of its own.
        if !encoded.shown {
            self.hidden = encoded.data;
            return;
        }
        // AV1: each temporal unit starts with its delimiter.
        let delimiter: &[u8] = match self.codec {
            Codec::Av1 => &TEMPORAL_DELIMITER,
            Codec::H264 | Codec::Hevc => &[],
        };
        let (parameter_sets, metadata) = if encoded.idr {
            (self.encoder.parameter_sets(), &self.hdr[..])
        } else if encoded.refresh_index == Some(0) && !self.recovery_point.is_empty() {
            // An H.264/H.265 decoder may join here: the parameter sets again, then the SEI.
            (self.encoder.parameter_sets(), &self.recovery_point[..])
        } else {
            (&[][..], &[][..])
        };
        let hidden = std::mem::take(&mut self.hidden);
        // Most units (H.264/H.265 P and B pictures) have nothing before the driver's bytes:
        // moved, not copied again.
        let data = if delimiter.is_empty()
            && parameter_sets.is_empty()
            && metadata.is_empty()
            && hidden.is_empty()
        {
            encoded.data
        } else {
            [delimiter, parameter_sets, metadata, &hidden, &encoded.data].concat()
        };
        let dts = self.submitted.pop_front().unwrap_or(encoded.tag) - self.reorder_delay;
        self.ready.push_back(EncodedUnit {
            data,
            pts: encoded.tag,
            dts,
            keyframe: encoded.idr,
            gpu_time: encoded.gpu_time,
        });
        // After the last B frame before it, the hidden frame is shown: a temporal unit of one
        // frame header (show_existing_frame).
        if let Some(show) = encoded.show_existing {
            let dts = self.submitted.pop_front().unwrap_or(show.tag);
            self.ready.push_back(EncodedUnit {
                data: [&TEMPORAL_DELIMITER[..], &show.obu()].concat(),
                pts: show.tag,
                dts,
                keyframe: false,
                gpu_time: None,
            });
        }
    }
}

impl EncoderBackend for VulkanVideoEncoder {
    fn kind(&self) -> BackendKind {
        BackendKind::VulkanVideo
    }

    fn describe(&self) -> String {
        format!("Vulkan Video {} on {}", self.codec, self.device)
    }

    fn encode(&mut self, frame: Frame, encoder_pts: i64) -> Result<(), EncodeError> {
        let idr = self.next_is_idr();
        let FrameImage::Cpu(image) = &frame.image else {
            return Err(EncodeError::UnsupportedInput {
                format: frame.image.format(),
                reason: "the Vulkan Video encoder takes frames in CPU memory here".into(),
            });
        };
        if (image.width(), image.height()) != (self.width, self.height) {
            return Err(EncodeError::UnsupportedInput {
                format: image.format(),
                reason: format!(
                    "a {}x{} frame in a {}x{} session",
                    image.width(),
                    image.height(),
                    self.width,
                    self.height
                ),
            });
        }
        let planes = image.plane_layouts();
        let data = image.data();
        let two_planes = self.encoder.input_format();
        let picture = match image.format() {
            f if f == two_planes => PictureInput {
                luma: &data[planes[0].offset..],
                luma_stride: planes[0].stride,
                chroma: &data[planes[1].offset..],
                chroma_stride: planes[1].stride,
                width: self.width,
                height: self.height,
            },
            PixelFormat::I420 | PixelFormat::I420P10 => {
                let ten = image.format() == PixelFormat::I420P10;
                if ten != (two_planes == PixelFormat::P010) {
                    return Err(EncodeError::UnsupportedInput {
                        format: image.format(),
                        reason: format!("this session takes {two_planes}"),
                    });
                }
                let sample = if ten { 2 } else { 1 };
                let (w, h) = (self.width as usize, self.height as usize);
                let row_bytes = w * sample;
                self.interleaved.resize(row_bytes * h * 3 / 2, 0);
                let (luma, chroma) = self.interleaved.split_at_mut(row_bytes * h);
                for (y, row) in (0..self.height).zip(luma.chunks_exact_mut(row_bytes)) {
                    interleave_row(row, &[image.row(0, y)], sample);
                }
                for (y, row) in (0..self.height / 2).zip(chroma.chunks_exact_mut(row_bytes)) {
                    interleave_row(row, &[image.row(1, y), image.row(2, y)], sample);
                }
                PictureInput {
                    luma,
                    luma_stride: row_bytes,
                    chroma,
                    chroma_stride: row_bytes,
                    width: self.width,
                    height: self.height,
                }
            }
            other => {
                return Err(EncodeError::UnsupportedInput {
                    format: other,
                    reason: format!("this session takes {two_planes}, or its three-plane form"),
                })
            }
        };
        self.encoder
            .submit(picture, idr, encoder_pts)
            .map_err(hardware)?;
        self.count_submitted(idr, encoder_pts);
        self.drain(self.in_flight)
    }

    /// The pass's frame in hand-off buffer `frame.target`: copied into the encode input image
    /// on the GPU once `ready` reaches `frame.value` (`released` is set to it after the copy),
    /// then encoded.
    fn encode_handed_off(&mut self, frame: HandedOff, encoder_pts: i64) -> Result<(), EncodeError> {
        let Some((handoff, layout)) = &self.handoff else {
            return Err(EncodeError::UnsupportedInput {
                format: PixelFormat::Nv12,
                reason: "this encoder was opened for CPU frames; open it on the session's GPU context to hand frames over".into(),
            });
        };
        let kind = match handoff {
            Handoff::Buffers(_) => "buffer",
            Handoff::Images(_) => "image",
        };
        let outside = || EncodeError::UnsupportedInput {
            format: layout.format,
            reason: format!("hand-off {kind} {} of {}", frame.target, handoff.len()),
        };
        let idr = self.next_is_idr();
        match handoff {
            Handoff::Buffers(h) => {
                let buffer = h.buffers.get(frame.target).ok_or_else(outside)?;
                let picture = HandoffPicture {
                    buffer,
                    layout,
                    ready: &h.ready,
                    released: &h.released,
                    value: frame.value,
                };
                self.encoder.submit_handed_off(picture, idr, encoder_pts)
            }
            Handoff::Images(h) => {
                if frame.target >= h.images.len() {
                    return Err(outside());
                }
                let picture = WrittenPicture {
                    image: frame.target,
                    ready: &h.ready,
                    released: &h.released,
                    value: frame.value,
                    width: layout.width,
                    height: layout.height,
                };
                self.encoder.submit_written(picture, idr, encoder_pts)
            }
        }
        .map_err(hardware)?;
        self.count_submitted(idr, encoder_pts);
        self.drain(self.in_flight)
    }

    /// Codes the pictures held for a later one (the last as a P picture) and waits for every
    /// picture on the GPU.
    fn finish(&mut self) -> Result<(), EncodeError> {
        self.encoder.flush().map_err(hardware)?;
        self.drain(0)
    }

    fn receive(&mut self) -> Result<Option<EncodedUnit>, EncodeError> {
        Ok(self.ready.pop_front())
    }

    fn controls(&self) -> LiveControls {
        LiveControls {
            force_keyframe: true,
            invalidate: false,
            reconfigure: true,
        }
    }

    fn force_keyframe(&mut self) -> Result<(), EncodeError> {
        self.force_idr = true;
        Ok(())
    }

    fn reconfigure(&mut self, config: &SessionConfig) -> Result<(), EncodeError> {
        self.encoder
            .set_rate(video_rate(config, self.quality_level))
            .map_err(|e| EncodeError::Unsupported {
                encoder: self.describe(),
                what: format!("the live change to {:?}", config.rate_control),
                fix: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Rational;

    fn support() -> EncodeSupport {
        EncodeSupport {
            device: "a test device".into(),
            profile: "H.264 High",
            max_coded_extent: (4096, 4096),
            min_coded_extent: (32, 32),
            max_dpb_slots: 17,
            max_active_references: 16,
            rate_control: vec!["cbr", "vbr"],
            quality_levels: 7,
            queue_family: 1,
            limits: EncodeLimits {
                max_bitrate: 800_000_000,
                qp_range: (0, 51),
                bitstream_size_alignment: 256,
                picture_granularity: (16, 16),
                separate_reference_images: true,
                p_references: 4,
                b_references: 4,
                l1_references: 1,
                requires_gop_remaining_frames: false,
                feedback: true,
                max_level_idc: 18,
                h265_ctb32_transforms: true,
                av1_superblock_128_only: false,
                ..EncodeLimits::default()
            },
        }
    }

    #[test]
    fn three_planes_interleave_into_two_and_10_bit_samples_move_to_the_high_bits() {
        let mut row = [0u8; 4];
        interleave_row(&mut row, &[&[1, 2], &[3, 4]], 1);
        assert_eq!(row, [1, 3, 2, 4]);
        interleave_row(&mut row, &[&[9, 8, 7, 6]], 1);
        assert_eq!(row, [9, 8, 7, 6]);
        // 10-bit 1023 and 1 (low bits, little-endian) -> 0xFFC0 and 0x0040.
        let mut row = [0u8; 4];
        interleave_row(&mut row, &[&[0xFF, 0x03], &[0x01, 0x00]], 2);
        assert_eq!(row, [0xC0, 0xFF, 0x40, 0x00]);
    }

    #[test]
    fn presets_spread_over_the_devices_quality_levels_fastest_lowest() {
        let all = [
            Preset::P1,
            Preset::P2,
            Preset::P3,
            Preset::P4,
            Preset::P5,
            Preset::P6,
            Preset::P7,
        ];
        let levels = |n| all.map(|p| quality_level(p, n));
        assert_eq!(levels(7), [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(levels(4), [0, 1, 1, 2, 2, 3, 3]);
        assert_eq!(levels(2), [0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(levels(1), [0; 7]);
        assert_eq!(levels(0), [0; 7], "a device reporting none gets level 0");
    }

    #[test]
    fn a_config_outside_the_devices_capabilities_is_refused_with_the_range() {
        let mut config = SessionConfig::new(Codec::H264, 1920, 1080, Rational::new(60, 1));
        config.rate_control = RateControl::Cbr { bitrate: 6_000_000 };
        assert_eq!(check_support(&config, &support()), Ok(()));
        config.width = 16;
        let e = check_support(&config, &support()).unwrap_err().to_string();
        assert!(
            e.contains("a 16x1080 picture (coded 16x1088)") && e.contains("32x32 to 4096x4096"),
            "{e}"
        );
        config.width = 4100;
        let e = check_support(&config, &support()).unwrap_err().to_string();
        assert!(e.contains("coded 4112x1088"), "{e}");
        config.width = 1920;
        config.rate_control = RateControl::Cqp { qp: 30 };
        let e = check_support(&config, &support()).unwrap_err().to_string();
        assert!(
            e.contains("constant QP rate control") && e.contains("offers cbr/vbr"),
            "{e}"
        );
        config.rate_control = RateControl::Cbr {
            bitrate: 900_000_000,
        };
        let e = check_support(&config, &support()).unwrap_err().to_string();
        assert!(e.contains("stops at 800000000 bit/s"), "{e}");
        config.rate_control = RateControl::Cbr { bitrate: 6_000_000 };
        let mut no_p = support();
        no_p.limits.p_references = 0;
        let e = check_support(&config, &no_p).unwrap_err().to_string();
        assert!(e.contains("cannot do P pictures"), "{e}");
        let mut gop = support();
        gop.limits.requires_gop_remaining_frames = true;
        let e = check_support(&config, &gop).unwrap_err().to_string();
        assert!(e.contains("remaining GOP counts"), "{e}");
        // Reference pictures kept in one image: the DPB's slots are its layers.
        let mut layered = support();
        layered.limits.separate_reference_images = false;
        check_support(&config, &layered).expect("a layered DPB");
    }

    #[test]
    fn intra_refresh_takes_rows_first_and_refuses_what_the_device_lacks_by_name() {
        use crate::gpu::video::caps::IntraRefreshLimits;
        use crate::gpu::video::intra_refresh::VideoEncodeIntraRefreshModeFlagsKHR as Mode;
        let mut config = SessionConfig::new(Codec::H264, 1280, 720, Rational::new(60, 1));
        assert_eq!(intra_refresh(&config, &support()).unwrap(), None);
        config.intra_refresh_frames = Some(30);
        let e = intra_refresh(&config, &support()).unwrap_err().to_string();
        assert!(
            e.contains("intra refresh over 30 frames (--intra-refresh 30)")
                && e.contains("a test device")
                && e.contains("offers no intra refresh"),
            "{e}"
        );
        let mut offered = support();
        let mut limits = IntraRefreshLimits {
            modes: Mode::BLOCK_BASED | Mode::BLOCK_ROW_BASED | Mode::BLOCK_COLUMN_BASED,
            max_cycle: 256,
            max_active_references: 1,
            partition_independent: true,
        };
        offered.limits.intra_refresh = Some(limits);
        assert_eq!(
            intra_refresh(&config, &offered).unwrap(),
            Some(IntraRefresh {
                mode: Mode::BLOCK_ROW_BASED,
                cycle: 30
            })
        );
        limits.modes = Mode::BLOCK_BASED | Mode::BLOCK_COLUMN_BASED;
        offered.limits.intra_refresh = Some(limits);
        assert_eq!(
            intra_refresh(&config, &offered).unwrap().map(|r| r.mode),
            Some(Mode::BLOCK_COLUMN_BASED)
        );
        limits.modes = Mode::PER_PICTURE_PARTITION;
        offered.limits.intra_refresh = Some(limits);
        let e = intra_refresh(&config, &offered).unwrap_err().to_string();
        assert!(e.contains("slice by slice"), "{e}");
        limits.modes = Mode::BLOCK_ROW_BASED;
        limits.max_cycle = 20;
        offered.limits.intra_refresh = Some(limits);
        let e = intra_refresh(&config, &offered).unwrap_err().to_string();
        assert!(
            e.contains("over 20 frames at most") && e.contains("--intra-refresh 20"),
            "{e}"
        );
        // The recovery point's counters: 256 frames for H.264, 128 for H.265, none for AV1.
        limits.max_cycle = 1000;
        offered.limits.intra_refresh = Some(limits);
        config.intra_refresh_frames = Some(256);
        assert!(intra_refresh(&config, &offered).is_ok());
        config.intra_refresh_frames = Some(257);
        let e = intra_refresh(&config, &offered).unwrap_err().to_string();
        assert!(e.contains("--intra-refresh 256 or fewer"), "{e}");
        config.codec = Codec::Hevc;
        config.intra_refresh_frames = Some(129);
        let e = intra_refresh(&config, &offered).unwrap_err().to_string();
        assert!(e.contains("--intra-refresh 128 or fewer"), "{e}");
        config.codec = Codec::Av1;
        config.intra_refresh_frames = Some(600);
        assert_eq!(
            intra_refresh(&config, &offered).unwrap().map(|r| r.cycle),
            Some(600)
        );
    }

    #[test]
    fn the_recovery_point_names_the_cycles_last_picture() {
        let h264 = recovery_point_sei(SeiSyntax::H264, 30);
        // Start code, SEI NAL, payload type 6, 2 bytes: ue(29) and the flags.
        assert_eq!(h264, [0, 0, 0, 1, 6, 6, 2, 0b0000_1111, 0b0000_0100, 0x80]);
        let h265 = recovery_point_sei(SeiSyntax::H265, 60);
        assert_eq!(&h265[..7], &[0, 0, 0, 1, 78, 1, 6]);
        assert_eq!(
            &h265[8..10],
            &crate::bitstream::sei::recovery_point_payload(SeiSyntax::H265, 59)[..]
        );
    }
}
