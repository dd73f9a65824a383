//! Encodes NV12 (P010) pictures with an H.264, H.265 or AV1 [`EncodeSession`], several in
//! flight: each picture is copied into one of the encoder's input images on the compute queue,
//! handed to the video-encode queue (a queue-family ownership transfer and a semaphore), and
//! encoded there into its own region of the bitstream buffer, with its own encode feedback
//! query; the CPU waits only when every input image is taken, or when it asks for a picture.
//!
//! The coding plan: an IDR picture (AV1: a key frame) first and whenever asked; then P
//! pictures, each reading the reference picture before it; with B pictures
//! ([`EncoderOptions::b_frames`]), up to that many pictures wait in their input images for the
//! next P picture, which is coded first (AV1: hidden, shown after them by
//! [`EncodedPicture::show_existing`]), and are then coded in display order, each reading the P
//! picture before it and the one after it. Two DPB slots hold the
//! reference pictures in turn; a third takes B pictures' reconstructions (which nothing reads).
//! Pictures come back in coding order, each with the caller's tag.
//!
//! A picture comes from CPU memory (copied into a staging buffer first) or, with no copy on
//! the CPU, from a hand-off buffer the processing pass wrote on the same device
//! ([`VideoEncoder::submit_handed_off`]): the copy into the encode input image waits on the GPU
//! for the pass's timeline value and releases the buffer (the same value on the consumer's
//! timeline) as soon as it has run, before the encode.
//!
//! Where the device offers storage on encode input images (and the context stores into images
//! of any format), the input images are [`PlanarImage`]s ([`VideoEncoder::direct_inputs`]) and
//! a pass may write a picture straight into one ([`VideoEncoder::submit_written`]): no copy at
//! all. The pass releases the image to the encode family (GENERAL to `VIDEO_ENCODE_SRC_KHR`)
//! and signals its `ready` value; the encode's submission waits for that value, its command
//! buffer acquires the image, and the encoder signals the consumer's `released` timeline once
//! the encode of every picture up to that value has been submitted (the signal covers the
//! encodes before it on the queue).
//!
//! Rate control (CBR, VBR, constant QP) and the quality level are set by the first
//! `vkCmdControlVideoCodingKHR` (with the session reset) and again whenever they change; every
//! later coding scope names them as the current state, as the specification requires.

use std::collections::VecDeque;
use std::sync::Arc;

use ash::vk;
use gpu_allocator::MemoryLocation;

use super::av1::{
    VideoEncodeAV1DpbSlotInfoKHR, VideoEncodeAV1PictureInfoKHR, VideoEncodeAV1PredictionModeKHR,
    VideoEncodeAV1RateControlGroupKHR,
};
use super::caps::{encode_support_tuned, EncodeSupport};
use super::intra_refresh::{
    VideoEncodeIntraRefreshInfoKHR, VideoEncodeIntraRefreshModeFlagsKHR,
    VideoReferenceIntraRefreshInfoKHR, VIDEO_ENCODE_INTRA_REFRESH,
};
use super::picture::{
    Av1Picture, H264Picture, H265Picture, PictureKind, PictureOrder, ReferencePicture,
};
use super::session::{
    EncodeHints, EncodePictures, EncodeSession, Profile, ProfileParts, SessionParameters,
};
use crate::config::{BitDepth, RateControl, Tuning};
use crate::format::PixelFormat;
use crate::frame::TimelinePoint;
use crate::gpu::commands::{
    begin_one_time, command_buffers_on, read_gpu_time_at, wait_and_reset, GpuTime,
};
use crate::gpu::conv::{color_range, whole_plane};
use crate::gpu::resources::GpuBuffer;
use crate::gpu::{ExportableBuffer, ExportableTimeline, GpuContext, GpuError, PlanarImage};
use crate::processing::convert::YuvLayout;
use crate::time::Rational;

/// How long one picture may take on the GPU before the encode is reported stuck.
const TIMEOUT_NS: u64 = 5_000_000_000;

/// The rate the encoder aims at, as it goes into `VkVideoEncodeRateControlInfoKHR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VideoRate {
    /// The mode and its figures. Constant quality has no Vulkan Video mode: it is coded as
    /// constant QP at the same value (H.264's and H.265's scales match; AV1's 1-63 quality is
    /// four times that q index, SVT-AV1's mapping).
    pub control: RateControl,
    /// Frames a second.
    pub frame_rate: Rational,
    /// Length of the rate-control buffer, in milliseconds.
    pub buffer_ms: u32,
    /// The driver's quality level (0: its fastest).
    pub quality_level: u32,
}

/// A 4:2:0 picture in CPU memory, two planes: the luma plane and the interleaved CbCr plane,
/// each with its row stride in bytes. NV12 for an 8-bit session; P010 for a 10-bit one (16-bit
/// little-endian samples, the 10 bits in the high bits).
#[derive(Clone, Copy, Debug)]
pub struct PictureInput<'a> {
    /// The luma rows.
    pub luma: &'a [u8],
    /// Bytes from one luma row to the next.
    pub luma_stride: usize,
    /// The CbCr rows (half the height).
    pub chroma: &'a [u8],
    /// Bytes from one CbCr row to the next.
    pub chroma_stride: usize,
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
}

/// An NV12 (P010 at 10 bits) picture a pass on the encoder's device wrote into a hand-off buffer: the buffer, its
/// layout, and the timeline value the pass signals on `ready` when it is written; the encoder
/// signals the same value on `released` once it has copied it (the buffer may be written again).
#[derive(Clone, Copy, Debug)]
pub struct HandoffPicture<'a> {
    /// The buffer holding the picture.
    pub buffer: &'a ExportableBuffer,
    /// Its layout (NV12, or P010 for a 10-bit session).
    pub layout: &'a YuvLayout,
    /// Reaches `value` when the picture is written.
    pub ready: &'a ExportableTimeline,
    /// Set to `value` by the encoder when it has read the picture.
    pub released: &'a ExportableTimeline,
    /// The timeline value of this picture.
    pub value: u64,
}

/// A picture a pass on the encoder's device wrote straight into one of its input images
/// ([`VideoEncoder::direct_inputs`]) and released to the encode family: the image (GENERAL to
/// `VIDEO_ENCODE_SRC_KHR`, from the context's compute family to its video-encode family, or a
/// plain layout transition where one family does both), and the timeline value the pass signals
/// on `ready` when it is written. The encoder signals `released` to `value` once the encodes of
/// this picture and of every earlier one (lower values) have been submitted: the image may be
/// written again after that.
#[derive(Clone, Copy, Debug)]
pub struct WrittenPicture<'a> {
    /// Index into [`VideoEncoder::direct_inputs`].
    pub image: usize,
    /// Reaches `value` when the picture is written and released.
    pub ready: &'a ExportableTimeline,
    /// Signalled by the encoder on the encode queue: to `value` (or a later picture's value)
    /// once it no longer needs this picture and every earlier one.
    pub released: &'a ExportableTimeline,
    /// The timeline value of this picture: above every value given before on `released`.
    pub value: u64,
    /// Width of the picture in pixels (even, at most the coded width). The coded picture
    /// around it (up to [`VideoEncoder::coded_size`]) is encoded as the pass left it.
    pub width: u32,
    /// Height in pixels (even, at most the coded height).
    pub height: u32,
}

/// A written picture's own wait: the pass's `ready` value.
#[derive(Clone, Copy, Debug)]
struct Written {
    ready: TimelinePoint,
    value: u64,
}

/// The `released` timeline of the written pictures: the highest value taken and the highest
/// signalled.
#[derive(Clone, Copy, Debug)]
struct Release {
    semaphore: vk::Semaphore,
    taken: u64,
    signalled: u64,
}

/// How a picture gets into its input image.
enum Input<'a> {
    /// A copy on the compute queue.
    Copy(&'a Source),
    /// Written there by a pass.
    Written(Written),
}

/// Where the copy into the encode input image reads from, and the hand-off's timelines.
#[derive(Clone)]
struct Source {
    buffer: vk::Buffer,
    regions: Vec<vk::BufferImageCopy>,
    /// Waited for before the copy, and signalled after it.
    handoff: Option<(TimelinePoint, TimelinePoint)>,
}

/// One encoded picture.
#[derive(Debug)]
pub struct EncodedPicture {
    /// The picture's slice NAL units (Annex-B), or its frame OBUs, as the driver wrote them.
    pub data: Vec<u8>,
    /// An IDR picture (an AV1 key frame).
    pub idr: bool,
    /// IDR, P or B.
    pub kind: PictureKind,
    /// The value the picture was submitted with (its presentation time, say).
    pub tag: i64,
    /// When the encode ran on the GPU (timestamps around its coding scope), where the
    /// video-encode queue has timestamps.
    pub gpu_time: Option<GpuTime>,
    /// The picture's place in its intra-refresh cycle (`intraRefreshIndex`, from 0), where the
    /// encoder refreshes; `None` for IDR pictures and without intra refresh.
    pub refresh_index: Option<u32>,
    /// Shown when decoded. False only for an AV1 frame coded ahead of the B frames before it in
    /// display order: its OBUs go into the temporal unit of the next frame out, and it is shown
    /// later (see [`Self::show_existing`]).
    pub shown: bool,
    /// On the last AV1 B frame before a hidden frame: that frame, to be shown next with a
    /// frame header of `show_existing_frame` 1 in a temporal unit of its own.
    pub show_existing: Option<ShowExisting>,
}

/// An AV1 frame coded hidden, to be shown with `show_existing_frame`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShowExisting {
    /// The decoder's reference frame slot holding it (`frame_to_show_map_idx`).
    pub frame_slot: u8,
    /// The value it was submitted with (its presentation time).
    pub tag: i64,
}

impl ShowExisting {
    /// The frame header OBU (type 3, with its size field) that shows the frame:
    /// `show_existing_frame` 1 and `frame_to_show_map_idx`, then the trailing bits. Sequence
    /// headers of GhostStream have no decoder model and no frame ids, so nothing else follows.
    pub fn obu(&self) -> [u8; 3] {
        [
            (3 << 3) | 0x02,
            1,
            0x80 | ((self.frame_slot & 7) << 4) | 0x08,
        ]
    }
}

/// How an encoder codes beyond its rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderOptions {
    /// The session's use (usage hints and tuning mode).
    pub tuning: Tuning,
    /// B pictures between two P pictures (H.264 and H.265 parameters must allow them:
    /// `allow_b_frames`; AV1 codes them with bidirectional compound prediction). 0: pictures
    /// are coded in display order.
    pub b_frames: u32,
    /// Intra refresh instead of periodic IDR pictures (VK_KHR_video_encode_intra_refresh):
    /// every picture after an IDR takes its turn in back-to-back cycles. `None`: off.
    pub intra_refresh: Option<IntraRefresh>,
}

impl Default for EncoderOptions {
    /// Low latency, no B pictures, no intra refresh.
    fn default() -> Self {
        Self {
            tuning: Tuning::LowLatency,
            b_frames: 0,
            intra_refresh: None,
        }
    }
}

/// An intra-refresh plan: the mode the session is made with and the cycle's length. Each
/// picture after an IDR codes one region of the picture as intra (the `index`-th of `cycle`
/// regions, in the mode's order), so `cycle` pictures refresh the whole picture without a key
/// frame's size; refreshed regions are told not to predict from regions of the previous
/// picture that the cycle has not refreshed yet (`dirtyIntraRefreshRegions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntraRefresh {
    /// One mode the device offers (see
    /// [`IntraRefreshLimits::preferred_mode`](super::caps::IntraRefreshLimits::preferred_mode)).
    pub mode: VideoEncodeIntraRefreshModeFlagsKHR,
    /// Pictures in a cycle (2 up to the device's `maxIntraRefreshCycleDuration`).
    pub cycle: u32,
}

/// One input image's resources, from the upload of a picture into it to the read-back of its
/// encode.
struct Frame {
    /// The CPU picture's staging buffer (made at the first CPU picture).
    staging: Option<GpuBuffer>,
    upload_cmd: vk::CommandBuffer,
    encode_cmd: vk::CommandBuffer,
    /// Signalled by the upload, waited for by the encode.
    uploaded: vk::Semaphore,
    upload_done: vk::Fence,
    done: vk::Fence,
    /// Submitted and not yet waited for: the upload's and the encode's fences.
    in_flight: [bool; 2],
    /// Holds a picture (uploaded, waiting to be coded, or being coded).
    busy: bool,
    /// The picture was written into the input image by a pass (no upload).
    written: Option<Written>,
}

/// A picture uploaded and waiting for the reference picture after it (a B picture to be).
#[derive(Clone, Copy, Debug)]
struct Held {
    frame: usize,
    display: u32,
    tag: i64,
}

/// A picture submitted to the encode queue.
#[derive(Clone, Copy, Debug)]
struct Coded {
    frame: usize,
    kind: PictureKind,
    tag: i64,
    /// Its intra-refresh index (see [`EncodedPicture::refresh_index`]).
    refresh_index: Option<u32>,
    /// See [`EncodedPicture::shown`].
    shown: bool,
    /// See [`EncodedPicture::show_existing`].
    show_existing: Option<ShowExisting>,
}

/// An H.264, H.265 or AV1 encoder on a context's video-encode queue.
pub struct VideoEncoder {
    ctx: Arc<GpuContext>,
    // Declared before the session: dropped first (their images and buffers outlive no use).
    pictures: EncodePictures,
    frames: Vec<Frame>,
    session: EncodeSession,
    encode_family: u32,
    /// The encode queue is the compute queue (one family does both): no ownership transfer.
    one_queue: bool,
    upload_pool: vk::CommandPool,
    encode_pool: vk::CommandPool,
    /// One encode feedback query per frame.
    feedback: vk::QueryPool,
    /// Two timestamps around each frame's encode, where the encode queue family writes them.
    timestamps: Option<vk::QueryPool>,
    rate: VideoRate,
    /// What the device offers for the codec: the rate and the encodes are checked against it.
    support: EncodeSupport,
    /// The rate the session's state holds (`None` before its first control command, which
    /// resets it).
    applied: Option<VideoRate>,
    /// Each DPB image has been moved to the DPB layout.
    dpb_ready: Vec<bool>,
    /// The reference picture each DPB slot holds.
    dpb: Vec<Option<ReferencePicture>>,
    /// The slot of the last reference picture coded (0 or 1).
    last_reference: usize,
    /// H.264 `frame_num` of the last reference picture coded.
    last_frame_num: u32,
    /// The next picture's display position since the IDR.
    next_display: u32,
    /// B pictures between two P pictures.
    b_frames: u32,
    /// Pictures waiting for the next P picture, in display order.
    held: VecDeque<Held>,
    /// Pictures on the encode queue, in coding order.
    coded: VecDeque<Coded>,
    /// Pictures read back while waiting for a free input image, not yet received.
    finished: VecDeque<Result<EncodedPicture, GpuError>>,
    /// The next picture must be an IDR (none coded yet, or one was lost).
    need_idr: bool,
    idr_id: u16,
    /// The stream's `MaxFrameNum` (2^(log2_max_frame_num_minus4 + 4)).
    max_frame_num: u32,
    /// The highest bitrate the stream's level allows (a live change above it is refused).
    level_max_bitrate: Option<u64>,
    /// The ids of the VPS (H.265), SPS and PPS the pictures name.
    ids: (u8, u8, u8),
    /// Why the encoder stopped: a submission failed or did not finish, so its command buffers
    /// may still be in use and its session state is unknown.
    broken: Option<String>,
    parameter_sets: Vec<u8>,
    /// The written pictures' `released` timeline (none before the first).
    release: Option<Release>,
    /// The intra-refresh plan, where the stream refreshes.
    intra_refresh: Option<IntraRefresh>,
    /// The intra-refresh index of the next non-IDR picture (0 after an IDR).
    refresh_next: u32,
    /// An AV1 frame coded hidden and not shown yet.
    hidden_anchor: Option<ShowExisting>,
}

impl std::fmt::Debug for VideoEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoEncoder")
            .field("extent", &self.session.extent)
            .field("rate", &self.rate)
            .field("b_frames", &self.b_frames)
            .finish_non_exhaustive()
    }
}

/// The Vulkan rate-control mode for `control` (constant quality as constant QP).
fn rate_mode(control: RateControl) -> vk::VideoEncodeRateControlModeFlagsKHR {
    match control {
        RateControl::Cbr { .. } => vk::VideoEncodeRateControlModeFlagsKHR::CBR,
        RateControl::Vbr { .. } => vk::VideoEncodeRateControlModeFlagsKHR::VBR,
        RateControl::Cqp { .. } | RateControl::Cq { .. } => {
            vk::VideoEncodeRateControlModeFlagsKHR::DISABLED
        }
    }
}

impl VideoEncoder {
    /// An encoder for `params`' pictures (H.264 or H.265) at `rate`, on `ctx`'s video-encode
    /// queue.
    pub fn new(
        ctx: &Arc<GpuContext>,
        params: SessionParameters<'_>,
        rate: VideoRate,
    ) -> Result<Self, GpuError> {
        Self::with_options(ctx, params, rate, EncoderOptions::default())
    }

    /// As [`Self::new`], the session's usage hints and tuning mode given by `tuning` (the
    /// quality level is `rate`'s).
    pub fn with_tuning(
        ctx: &Arc<GpuContext>,
        params: SessionParameters<'_>,
        rate: VideoRate,
        tuning: Tuning,
    ) -> Result<Self, GpuError> {
        let options = EncoderOptions {
            tuning,
            ..EncoderOptions::default()
        };
        Self::with_options(ctx, params, rate, options)
    }

    /// As [`Self::new`], with `options` (the tuning, B pictures).
    pub fn with_options(
        ctx: &Arc<GpuContext>,
        params: SessionParameters<'_>,
        rate: VideoRate,
        options: EncoderOptions,
    ) -> Result<Self, GpuError> {
        let hints = EncodeHints {
            quality_level: rate.quality_level,
            tuning: options.tuning,
            b_frames: options.b_frames,
            intra_refresh: options
                .intra_refresh
                .map_or(VideoEncodeIntraRefreshModeFlagsKHR::NONE, |r| r.mode),
        };
        // What the device offers for this profile decides before anything is made: the quality
        // level, and AV1's level against the device's highest.
        let codec = params.codec();
        let support = encode_support_tuned(ctx, codec, params.depth()?, options.tuning).map_err(
            |reason| GpuError::Unsupported {
                what: format!("{codec} encode with Vulkan Video"),
                reason,
            },
        )?;
        if rate.quality_level >= support.quality_levels.max(1) {
            return Err(GpuError::Invalid {
                what: format!("quality level {}", rate.quality_level),
                reason: format!(
                    "{} offers levels 0 to {}",
                    support.device,
                    support.quality_levels.max(1) - 1
                ),
            });
        }
        if let SessionParameters::Av1(p) = params {
            if u32::from(p.level_idx) > support.limits.max_level_idc {
                return Err(GpuError::Unsupported {
                    what: format!("AV1 level {} (seq_level_idx {})", p.level, p.level_idx),
                    reason: format!(
                        "{} encodes up to seq_level_idx {}",
                        support.device, support.limits.max_level_idc
                    ),
                });
            }
        }
        if options.b_frames > 0 {
            check_b_frames(&params, &support, options.b_frames)?;
        }
        if let Some(refresh) = options.intra_refresh {
            check_intra_refresh(codec, &support, refresh, options.b_frames)?;
        }
        let session = EncodeSession::with_hints(ctx, params, hints)?;
        let (ids, max_frame_num) = match params {
            SessionParameters::H264(p) => (
                (0, p.sps.seq_parameter_set_id, p.pps.pic_parameter_set_id),
                // H.264 allows 0..=12 here.
                1 << (p.sps.log2_max_frame_num_minus4.min(12) + 4),
            ),
            SessionParameters::H265(p) => (
                (
                    p.vps.vps_video_parameter_set_id,
                    p.sps.sps_seq_parameter_set_id,
                    p.pps.pps_pic_parameter_set_id,
                ),
                1 << 16,
            ),
            // AV1 has no parameter set ids; its order hints wrap by themselves.
            SessionParameters::Av1(_) => ((0, 0, 0), 1 << 16),
        };
        let (encode_family, _) = ctx
            .video_encode_family()
            .expect("the session was made on the video-encode family");
        // The B pictures waiting, the P picture after them, and one more in flight.
        let frame_count = usize::try_from(options.b_frames)
            .unwrap_or(usize::MAX)
            .saturating_add(2)
            .min(18);
        let pictures = session.pictures_in(support.limits.picture_granularity, frame_count)?;
        let parameter_sets = session.encoded_parameters()?;
        let count = u32::try_from(frame_count).unwrap_or(u32::MAX);
        let (upload_pool, upload) = command_buffers_on(ctx, ctx.queue_family, count)?;
        let dpb_slots = pictures.references.len();
        let mut this = Self {
            ctx: Arc::clone(ctx),
            pictures,
            frames: Vec::with_capacity(frame_count),
            session,
            encode_family,
            one_queue: encode_family == ctx.queue_family,
            upload_pool,
            encode_pool: vk::CommandPool::null(),
            feedback: vk::QueryPool::null(),
            timestamps: None,
            rate,
            support,
            applied: None,
            dpb_ready: vec![false; dpb_slots],
            dpb: vec![None; dpb_slots],
            last_reference: 0,
            last_frame_num: 0,
            next_display: 0,
            b_frames: options.b_frames,
            held: VecDeque::new(),
            coded: VecDeque::new(),
            finished: VecDeque::new(),
            need_idr: true,
            idr_id: 0,
            max_frame_num,
            level_max_bitrate: params.level_max_bitrate(),
            ids,
            broken: None,
            parameter_sets,
            release: None,
            intra_refresh: options.intra_refresh,
            refresh_next: 0,
            hidden_anchor: None,
        };
        let (encode_pool, encode) = command_buffers_on(ctx, encode_family, count)?;
        this.encode_pool = encode_pool;
        let d = &ctx.device;
        for (upload_cmd, encode_cmd) in upload.into_iter().zip(encode) {
            let mut frame = Frame {
                staging: None,
                upload_cmd,
                encode_cmd,
                uploaded: vk::Semaphore::null(),
                upload_done: vk::Fence::null(),
                done: vk::Fence::null(),
                in_flight: [false; 2],
                busy: false,
                written: None,
            };
            // SAFETY: valid device and create infos; a frame's objects are destroyed in Drop
            // (the frame is pushed before anything else can fail).
            let made = unsafe {
                d.create_semaphore(&vk::SemaphoreCreateInfo::default(), None)
                    .map(|s| frame.uploaded = s)
                    .and_then(|()| d.create_fence(&vk::FenceCreateInfo::default(), None))
                    .map(|f| frame.done = f)
                    .and_then(|()| d.create_fence(&vk::FenceCreateInfo::default(), None))
                    .map(|f| frame.upload_done = f)
            };
            this.frames.push(frame);
            made.map_err(GpuError::vk("vkCreateSemaphore/vkCreateFence"))?;
        }
        let mut parts = ProfileParts::default();
        let profile = this.session.profile_info(&mut parts);
        let mut feedback = vk::QueryPoolVideoEncodeFeedbackCreateInfoKHR::default()
            .encode_feedback_flags(
                vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BUFFER_OFFSET
                    | vk::VideoEncodeFeedbackFlagsKHR::BITSTREAM_BYTES_WRITTEN,
            );
        let mut profile = profile;
        let info = vk::QueryPoolCreateInfo::default()
            .query_type(vk::QueryType::VIDEO_ENCODE_FEEDBACK_KHR)
            .query_count(count)
            .push_next(&mut feedback)
            .push_next(&mut profile);
        // SAFETY: valid device and create infos; each object is destroyed in Drop.
        unsafe {
            this.feedback = d
                .create_query_pool(&info, None)
                .map_err(GpuError::vk("vkCreateQueryPool"))?;
            let families = ctx
                .instance
                .get_physical_device_queue_family_properties(ctx.physical);
            let has_timestamps = families
                .get(encode_family as usize)
                .is_some_and(|f| f.timestamp_valid_bits > 0);
            if has_timestamps {
                let info = vk::QueryPoolCreateInfo::default()
                    .query_type(vk::QueryType::TIMESTAMP)
                    .query_count(2 * count);
                this.timestamps = Some(
                    d.create_query_pool(&info, None)
                        .map_err(GpuError::vk("vkCreateQueryPool"))?,
                );
            }
        }
        Ok(this)
    }

    /// The parameter sets as the driver wrote them (Annex-B: H.264's SPS and PPS, H.265's VPS,
    /// SPS and PPS; AV1's sequence header OBU): what an IDR picture (a key frame) follows.
    pub fn parameter_sets(&self) -> &[u8] {
        &self.parameter_sets
    }

    /// The coded picture size (whole macroblocks) the input must fill.
    pub fn coded_size(&self) -> (u32, u32) {
        (self.session.extent.width, self.session.extent.height)
    }

    /// B pictures between two P pictures (0: coded in display order).
    pub fn b_frames(&self) -> u32 {
        self.b_frames
    }

    /// Pictures submitted and not yet received: waiting for a later picture (B pictures to
    /// be), on the GPU, or read back.
    pub fn pending(&self) -> usize {
        self.held.len() + self.coded.len() + self.finished.len()
    }

    /// Pictures on the encode queue or read back, not yet received.
    pub fn in_flight(&self) -> usize {
        self.coded.len() + self.finished.len()
    }

    /// Changes the rate from the next picture on (no IDR), when the device takes it: a mode
    /// it offers, a bitrate up to its ceiling, the quality level the session was made with.
    pub fn set_rate(&mut self, rate: VideoRate) -> Result<(), GpuError> {
        let refuse = |what: String, reason: String| Err(GpuError::Unsupported { what, reason });
        let mode = rate_mode(rate.control);
        let offered = self.support.rate_control.iter().any(|m| {
            *m == match mode {
                vk::VideoEncodeRateControlModeFlagsKHR::CBR => "cbr",
                vk::VideoEncodeRateControlModeFlagsKHR::VBR => "vbr",
                _ => "disabled",
            }
        });
        if !offered {
            return refuse(
                format!("switch to {:?} rate control", rate.control),
                format!(
                    "{} offers {}",
                    self.support.device,
                    self.support.rate_control.join("/")
                ),
            );
        }
        let bitrate = match rate.control {
            RateControl::Cbr { bitrate } => bitrate,
            RateControl::Vbr { max, .. } => max,
            _ => 0,
        };
        let ceiling = self.support.limits.max_bitrate;
        if ceiling > 0 && bitrate > ceiling {
            return refuse(
                format!("encode at {bitrate} bit/s"),
                format!(
                    "{}'s rate control stops at {ceiling} bit/s",
                    self.support.device
                ),
            );
        }
        if let Some(level) = self.level_max_bitrate.filter(|&l| bitrate > l) {
            return refuse(
                format!("encode at {bitrate} bit/s"),
                format!(
                    "the stream's level allows {level} bit/s (its parameter sets were made for the first rate): open a new encoder with the higher rate"
                ),
            );
        }
        if rate.quality_level != self.rate.quality_level {
            return refuse(
                format!("change the quality level to {}", rate.quality_level),
                "the session's parameters were made for its first level: open a new encoder".into(),
            );
        }
        self.rate = rate;
        Ok(())
    }

    /// A frame's bitstream range: its region rounded down to the device's size alignment.
    fn bitstream_range(&self) -> u64 {
        let align = self.support.limits.bitstream_size_alignment.max(1);
        self.pictures.region / align * align
    }

    /// Bytes a sample: 1 (NV12) or 2 (P010).
    fn sample_bytes(&self) -> usize {
        match self.session.depth {
            BitDepth::Ten => 2,
            BitDepth::Eight => 1,
        }
    }

    /// The two-plane format the session's pictures come in.
    pub fn input_format(&self) -> PixelFormat {
        match self.session.depth {
            BitDepth::Ten => PixelFormat::P010,
            BitDepth::Eight => PixelFormat::Nv12,
        }
    }

    /// The input images a pass may write pictures straight into ([`Self::submit_written`]), one
    /// per picture in flight, each released by the pass to the encode family in
    /// `VIDEO_ENCODE_SRC_KHR` ([`PlanarImage::consumer`]). `None` where they are plain images
    /// (the device offers no storage on encode input images, or the context does not store
    /// into images of any format): pictures then come by a copy.
    pub fn direct_inputs(&self) -> Option<Vec<Arc<PlanarImage>>> {
        self.pictures.planar_inputs()
    }

    /// The input images' handles, in [`Self::direct_inputs`]' order (for an application that
    /// records its own writes into them).
    pub fn input_images(&self) -> Vec<vk::Image> {
        self.pictures.input_images()
    }

    /// Encodes one picture and returns it: [`Self::submit`] and [`Self::receive`] waiting,
    /// for an encoder without B pictures (which codes each picture as it comes) whose earlier
    /// pictures were all received.
    pub fn encode(
        &mut self,
        picture: PictureInput<'_>,
        idr: bool,
    ) -> Result<EncodedPicture, GpuError> {
        self.check_one_at_a_time()?;
        self.submit(picture, idr, 0)?;
        self.receive_submitted()
    }

    /// Encodes the picture in a hand-off buffer and returns it, as [`Self::encode`] does
    /// ([`Self::submit_handed_off`] and [`Self::receive`] waiting).
    pub fn encode_handed_off(
        &mut self,
        picture: HandoffPicture<'_>,
        idr: bool,
    ) -> Result<EncodedPicture, GpuError> {
        self.check_one_at_a_time()?;
        self.submit_handed_off(picture, idr, 0)?;
        self.receive_submitted()
    }

    /// [`Self::encode`]'s condition: no B pictures, nothing submitted and not received.
    fn check_one_at_a_time(&self) -> Result<(), GpuError> {
        if self.b_frames > 0 || self.pending() > 0 {
            return Err(GpuError::Invalid {
                what: format!(
                    "a one-picture encode with {} B pictures and {} pictures not received",
                    self.b_frames,
                    self.pending()
                ),
                reason: "pictures come back out of step here: use submit and receive".into(),
            });
        }
        Ok(())
    }

    /// The one picture just submitted, waited for.
    fn receive_submitted(&mut self) -> Result<EncodedPicture, GpuError> {
        self.receive(true)?.ok_or_else(|| GpuError::Invalid {
            what: "the picture just submitted".into(),
            reason: "it was not coded".into(),
        })
    }

    /// Submits one NV12 (P010 at 10 bits) picture (at most the coded size; the rest of the
    /// coded picture repeats its last row and column), as an IDR picture when `idr` is set or
    /// the stream has none yet; it comes back from [`Self::receive`] with `tag`. Waits only
    /// when every input image holds a picture (for the oldest one on the GPU).
    pub fn submit(
        &mut self,
        picture: PictureInput<'_>,
        idr: bool,
        tag: i64,
    ) -> Result<(), GpuError> {
        let (cw, ch) = self.coded_size();
        let (width, height) = (picture.width, picture.height);
        if width == 0 || height == 0 || width > cw || height > ch || width % 2 + height % 2 != 0 {
            return Err(GpuError::Invalid {
                what: format!("a {width}x{height} picture"),
                reason: format!("the session codes {cw}x{ch}: give even sizes up to it"),
            });
        }
        let (w, h) = (width as usize, height as usize);
        let row = w * self.sample_bytes();
        let fits = |plane: &[u8], stride: usize, rows: usize| {
            stride >= row
                && (rows - 1)
                    .checked_mul(stride)
                    .and_then(|n| n.checked_add(row))
                    .is_some_and(|end| end <= plane.len())
        };
        if !fits(picture.luma, picture.luma_stride, h)
            || !fits(picture.chroma, picture.chroma_stride, h / 2)
        {
            return Err(GpuError::Invalid {
                what: format!(
                    "{} planes of {} and {} bytes (strides {} and {})",
                    self.input_format(),
                    picture.luma.len(),
                    picture.chroma.len(),
                    picture.luma_stride,
                    picture.chroma_stride
                ),
                reason: format!("a {width}x{height} picture's rows do not fit them"),
            });
        }
        self.check_running()?;
        let frame = self.free_frame()?;
        let staging = self.stage(frame, &picture)?;
        let (w, h) = self.coded_size();
        let source = Source {
            buffer: staging,
            regions: vec![
                whole_plane(vk::ImageAspectFlags::PLANE_0, w, h),
                whole_plane(vk::ImageAspectFlags::PLANE_1, w / 2, h / 2)
                    .buffer_offset(u64::from(w) * u64::from(h) * self.sample_bytes() as u64),
            ],
            handoff: None,
        };
        self.take(frame, Input::Copy(&source), idr, tag)
    }

    /// Submits the NV12 (P010) picture a pass on this encoder's device wrote into a hand-off
    /// buffer (at most the coded size; the rest of the coded picture is left as the input image
    /// held it): the copy into the encode input image waits on the GPU for `picture.ready` to
    /// reach `picture.value`, and `picture.released` is set to it once the copy has run (before
    /// the encode, so a B picture to be does not hold the buffer). No CPU copy.
    pub fn submit_handed_off(
        &mut self,
        picture: HandoffPicture<'_>,
        idr: bool,
        tag: i64,
    ) -> Result<(), GpuError> {
        let layout = picture.layout;
        let (cw, ch) = self.coded_size();
        let invalid = |what: String, reason: String| Err(GpuError::Invalid { what, reason });
        if layout.format != self.input_format() {
            return invalid(
                format!("a hand-off of {}", layout.format),
                format!("the session takes {}", self.input_format()),
            );
        }
        // Texels of one sample (luma) and of a CbCr pair, in bytes.
        let texel = u32::try_from(self.sample_bytes()).unwrap_or(1);
        let (width, height) = (layout.width, layout.height);
        if width == 0 || height == 0 || width > cw || height > ch || width % 2 + height % 2 != 0 {
            return invalid(
                format!("a {width}x{height} hand-off picture"),
                format!("the session codes {cw}x{ch}: give even sizes up to it"),
            );
        }
        let row = width * texel;
        // Both planes' last bytes inside the buffer, the luma rows before the chroma plane.
        let end = |offset: u32, pitch: u32, rows: u32| {
            u64::from(pitch)
                .checked_mul(u64::from(rows - 1))
                .and_then(|n| n.checked_add(u64::from(offset) + u64::from(row)))
        };
        let luma_end = end(0, layout.luma_pitch, height);
        let chroma_end = end(layout.chroma_offset, layout.chroma_pitch, height / 2);
        let inside = luma_end.is_some_and(|e| e <= u64::from(layout.chroma_offset))
            && chroma_end.is_some_and(|e| e <= picture.buffer.size());
        if !inside
            || u64::from(layout.size) > picture.buffer.size()
            || layout.luma_pitch < row
            || layout.chroma_pitch < row
            || layout.luma_pitch % texel != 0
            || layout.chroma_pitch % (2 * texel) + layout.chroma_offset % (2 * texel) != 0
        {
            return invalid(
                format!(
                    "a hand-off layout of {} bytes (pitches {} and {}, chroma at {})",
                    layout.size, layout.luma_pitch, layout.chroma_pitch, layout.chroma_offset
                ),
                format!(
                    "the {}-byte buffer must hold both planes (luma before chroma), with whole-texel pitches of at least {row} bytes",
                    picture.buffer.size()
                ),
            );
        }
        let ours = |ctx: &Arc<GpuContext>| Arc::ptr_eq(ctx, &self.ctx);
        if !ours(picture.buffer.context())
            || !ours(picture.ready.context())
            || !ours(picture.released.context())
        {
            return invalid(
                "a hand-off from another Vulkan context".into(),
                "the buffer and both timelines must be made on the encoder's context".into(),
            );
        }
        self.check_running()?;
        let source = Source {
            buffer: picture.buffer.buffer(),
            // The picture, then its last row and column repeated into the coded picture's
            // padding (as the CPU path does), so the encoder spends no bits on undefined
            // samples that are cropped away.
            regions: [
                PlaneCopy {
                    aspect: vk::ImageAspectFlags::PLANE_0,
                    size: (width, height),
                    coded: (cw, ch),
                    offset: 0,
                    pitch: layout.luma_pitch,
                    texel,
                },
                // Rows of CbCr texels (two samples each).
                PlaneCopy {
                    aspect: vk::ImageAspectFlags::PLANE_1,
                    size: (width / 2, height / 2),
                    coded: (cw / 2, ch / 2),
                    offset: layout.chroma_offset,
                    pitch: layout.chroma_pitch,
                    texel: 2 * texel,
                },
            ]
            .iter()
            .flat_map(PlaneCopy::regions)
            .collect(),
            handoff: Some((
                picture.ready.point(picture.value),
                picture.released.point(picture.value),
            )),
        };
        let frame = self.free_frame()?;
        self.take(frame, Input::Copy(&source), idr, tag)
    }

    /// Submits the picture a pass wrote straight into input image `picture.image` (see
    /// [`WrittenPicture`]), as an IDR picture when `idr` is set or the stream has none yet; it
    /// comes back from [`Self::receive`] with `tag`. No copy: the encode's submission waits on
    /// the GPU for `picture.ready` to reach `picture.value` and acquires the image from the
    /// compute family; `picture.released` is signalled on the encode queue once this picture's
    /// encode and those of every picture given before it have been submitted (with B pictures,
    /// a picture held for the P picture after it is released after its own encode, so the
    /// value signalled is the highest one below every picture still held). Waits while the
    /// image still holds an earlier picture (for its encode). Errors: an image index outside
    /// [`Self::direct_inputs`] (or plain input images), timelines of another context, a size
    /// outside the coded size, or a value not above the last one on the same `released`.
    pub fn submit_written(
        &mut self,
        picture: WrittenPicture<'_>,
        idr: bool,
        tag: i64,
    ) -> Result<(), GpuError> {
        let invalid = |what: String, reason: String| Err(GpuError::Invalid { what, reason });
        let count = self.pictures.inputs.len();
        let index = picture.image;
        if !self.pictures.direct() {
            return invalid(
                format!("a picture written into input image {index}"),
                "the encoder's input images are plain (no storage on this device's encode input images): copy pictures in".into(),
            );
        }
        if index >= count {
            return invalid(
                format!("input image {index} of {count}"),
                format!("the encoder has input images 0 to {}", count - 1),
            );
        }
        let (cw, ch) = self.coded_size();
        let (width, height) = (picture.width, picture.height);
        if width == 0 || height == 0 || width > cw || height > ch || width % 2 + height % 2 != 0 {
            return invalid(
                format!("a {width}x{height} written picture"),
                format!("the session codes {cw}x{ch}: give even sizes up to it"),
            );
        }
        let ours = |ctx: &Arc<GpuContext>| Arc::ptr_eq(ctx, &self.ctx);
        if !ours(picture.ready.context()) || !ours(picture.released.context()) {
            return invalid(
                "a written picture's timelines from another Vulkan context".into(),
                "both timelines must be made on the encoder's context".into(),
            );
        }
        let semaphore = picture.released.point(0).semaphore;
        let release = match self.release {
            Some(r) if r.semaphore == semaphore => {
                if picture.value <= r.taken {
                    return invalid(
                        format!("timeline value {}", picture.value),
                        format!(
                            "values on a released timeline grow: {} was given before",
                            r.taken
                        ),
                    );
                }
                r
            }
            Some(r) if r.signalled < r.taken => {
                return invalid(
                    "a written picture on another released timeline".into(),
                    format!(
                        "pictures up to value {} of the previous one are not released yet: flush first",
                        r.taken
                    ),
                );
            }
            _ => {
                let start = picture.released.value()?;
                if picture.value <= start {
                    return invalid(
                        format!("timeline value {}", picture.value),
                        format!("the released timeline is at {start} already"),
                    );
                }
                Release {
                    semaphore,
                    taken: start,
                    signalled: start,
                }
            }
        };
        self.check_running()?;
        self.wait_for_frame(index)?;
        self.release = Some(Release {
            taken: picture.value,
            ..release
        });
        let written = Written {
            ready: picture.ready.point(picture.value),
            value: picture.value,
        };
        self.take(index, Input::Written(written), idr, tag)
    }

    /// Waits until `frame`'s input image holds no picture: one held for a later picture is
    /// coded first (the held pictures end as at a flush), one on the GPU is waited for (and
    /// the pictures before it kept for [`Self::receive`]).
    fn wait_for_frame(&mut self, frame: usize) -> Result<(), GpuError> {
        if self.held.iter().any(|h| h.frame == frame) {
            self.flush()?;
        }
        while self.frames[frame].busy {
            let Some(oldest) = self.coded.pop_front() else {
                return Err(GpuError::Invalid {
                    what: format!("input image {frame}"),
                    reason: "it holds a picture that is not on the GPU".into(),
                });
            };
            let done = self.collect(oldest);
            if let Err(e) = &done {
                if self.broken.is_some() {
                    return Err(e.clone());
                }
            }
            self.finished.push_back(done);
        }
        Ok(())
    }

    /// Codes the pictures waiting for a later one (B pictures to be): the last as a P picture,
    /// the others as B pictures before it. Call at the end of the stream, then
    /// [`Self::receive`] until it gives `None`.
    pub fn flush(&mut self) -> Result<(), GpuError> {
        self.check_running()?;
        let Some(last) = self.held.pop_back() else {
            return Ok(());
        };
        self.code(last.frame, PictureKind::P, last.display, last.tag)?;
        self.code_held()
    }

    /// The next picture in coding order: one read back already, else the oldest on the GPU
    /// when it has finished (or, with `wait`, once it has). `None`: nothing is on the GPU
    /// (pictures held for a later one come after [`Self::flush`] or the next P picture).
    pub fn receive(&mut self, wait: bool) -> Result<Option<EncodedPicture>, GpuError> {
        if let Some(done) = self.finished.pop_front() {
            return done.map(Some);
        }
        let Some(oldest) = self.coded.front().copied() else {
            return Ok(None);
        };
        if !wait {
            // SAFETY: the fence belongs to this device.
            let signalled = unsafe {
                self.ctx
                    .device
                    .get_fence_status(self.frames[oldest.frame].done)
            }
            .map_err(GpuError::vk("vkGetFenceStatus"))?;
            if !signalled {
                return Ok(None);
            }
        }
        self.coded.pop_front();
        self.collect(oldest).map(Some)
    }

    /// Stops with an error if an earlier submission failed.
    fn check_running(&self) -> Result<(), GpuError> {
        match &self.broken {
            Some(why) => Err(GpuError::Invalid {
                what: "an encode after a failed one".into(),
                reason: format!("the encoder stopped ({why}): open a new one"),
            }),
            None => Ok(()),
        }
    }

    /// A frame whose input image is free, waiting for the oldest picture on the GPU (and
    /// keeping it for [`Self::receive`]) when none is.
    fn free_frame(&mut self) -> Result<usize, GpuError> {
        loop {
            if let Some(free) = self.frames.iter().position(|f| !f.busy) {
                return Ok(free);
            }
            let Some(oldest) = self.coded.pop_front() else {
                return Err(GpuError::Invalid {
                    what: format!("{} input images all held", self.frames.len()),
                    reason: "no picture is on the GPU to wait for".into(),
                });
            };
            let done = self.collect(oldest);
            if let Err(e) = &done {
                if self.broken.is_some() {
                    return Err(e.clone());
                }
            }
            self.finished.push_back(done);
        }
    }

    /// Uploads a picture into `frame`'s input image (or takes the one a pass wrote there) and
    /// codes it, or holds it for the next P picture.
    fn take(
        &mut self,
        frame: usize,
        input: Input<'_>,
        idr: bool,
        tag: i64,
    ) -> Result<(), GpuError> {
        self.frames[frame].busy = true;
        match input {
            Input::Copy(source) => {
                self.frames[frame].written = None;
                if let Err(e) = self.upload(frame, source) {
                    self.frames[frame].busy = self.frames[frame].in_flight[0];
                    self.broken = Some(e.to_string());
                    return Err(e);
                }
            }
            Input::Written(w) => self.frames[frame].written = Some(w),
        }
        // An IDR also before the display counts could overflow the order counts (2^30
        // pictures: 207 days at 60 fps with no keyframe).
        if idr || self.need_idr || self.next_display >= 1 << 30 {
            // The pictures held for a later one are coded first, ending the previous GOP.
            self.flush()?;
            self.next_display = 1;
            return self.code(frame, PictureKind::Idr, 0, tag);
        }
        let display = self.next_display;
        self.next_display += 1;
        if self.held.len() < usize::try_from(self.b_frames).unwrap_or(usize::MAX) {
            self.held.push_back(Held {
                frame,
                display,
                tag,
            });
            return Ok(());
        }
        self.code(frame, PictureKind::P, display, tag)?;
        self.code_held()
    }

    /// Codes every held picture as a B picture, in display order.
    fn code_held(&mut self) -> Result<(), GpuError> {
        while let Some(h) = self.held.pop_front() {
            self.code(h.frame, PictureKind::B, h.display, h.tag)?;
        }
        Ok(())
    }

    /// Copies the picture into `frame`'s staging buffer at the coded size, repeating the last
    /// row and column into the padding; the buffer.
    fn stage(&mut self, frame: usize, picture: &PictureInput<'_>) -> Result<vk::Buffer, GpuError> {
        let (w, h) = (picture.width as usize, picture.height as usize);
        let sample = self.sample_bytes();
        let (cw, ch) = (
            self.session.extent.width as usize,
            self.session.extent.height as usize,
        );
        if self.frames[frame].staging.is_none() {
            let (w, h) = self.coded_size();
            let bytes = u64::from(w) * u64::from(h) * 3 / 2 * sample as u64;
            self.frames[frame].staging = Some(GpuBuffer::new(
                &self.ctx,
                "encode upload",
                bytes,
                vk::BufferUsageFlags::TRANSFER_SRC,
                MemoryLocation::CpuToGpu,
            )?);
        }
        let staging = self.frames[frame].staging.as_mut().expect("made above");
        let buffer = staging.buffer;
        let bytes = staging.mapped_mut().ok_or_else(|| GpuError::Invalid {
            what: "the encode upload buffer".into(),
            reason: "it is not mapped".into(),
        })?;
        let (luma, chroma) = bytes.split_at_mut(cw * ch * sample);
        let plane = |data, stride, w, h| Plane { data, stride, w, h };
        fill_plane(
            luma,
            cw,
            ch,
            plane(picture.luma, picture.luma_stride, w, h),
            sample,
        );
        fill_plane(
            chroma,
            cw / 2,
            ch / 2,
            plane(picture.chroma, picture.chroma_stride, w / 2, h / 2),
            2 * sample,
        );
        Ok(buffer)
    }

    /// Records and submits the copy of `source` into `frame`'s input image, released to the
    /// encode family (for a hand-off: after waiting for the pass's value, releasing the buffer
    /// after).
    fn upload(&mut self, frame: usize, source: &Source) -> Result<(), GpuError> {
        let d = &self.ctx.device;
        let cmd = self.frames[frame].upload_cmd;
        // SAFETY: the command buffer comes from a pool made with RESET_COMMAND_BUFFER, and its
        // last submission finished (the frame was free: its fences were waited for).
        unsafe {
            begin_one_time(d, cmd)?;
            self.record_upload(frame, source);
            d.end_command_buffer(cmd)
                .map_err(GpuError::vk("vkEndCommandBuffer"))?;
        }
        let f = &self.frames[frame];
        let cmds = [cmd];
        let (ready, released) = source.handoff.unzip();
        let waits: Vec<vk::Semaphore> = ready.iter().map(|p| p.semaphore).collect();
        let wait_values: Vec<u64> = ready.iter().map(|p| p.value).collect();
        let stages = [vk::PipelineStageFlags::TRANSFER];
        let mut signals = vec![f.uploaded];
        let mut signal_values = vec![0];
        if let Some(p) = released {
            signals.push(p.semaphore);
            signal_values.push(p.value);
        }
        let mut timeline = vk::TimelineSemaphoreSubmitInfo::default()
            .wait_semaphore_values(&wait_values)
            .signal_semaphore_values(&signal_values);
        let submit = vk::SubmitInfo::default()
            .command_buffers(&cmds)
            .wait_semaphores(&waits)
            .wait_dst_stage_mask(&stages[..waits.len()])
            .signal_semaphores(&signals);
        let submit = if source.handoff.is_some() {
            submit.push_next(&mut timeline)
        } else {
            submit
        };
        let fence = f.upload_done;
        // SAFETY: the command buffer is recorded and not in flight; the queue is used under its
        // lock.
        unsafe {
            let (_guard, queue) = self.ctx.lock_queue()?;
            d.queue_submit(queue, &[submit], fence)
                .map_err(GpuError::vk("vkQueueSubmit"))?;
        }
        self.frames[frame].in_flight[0] = true;
        Ok(())
    }

    /// The upload: staging or hand-off buffer → `frame`'s input image, released to the encode
    /// family.
    ///
    /// # Safety
    /// The frame's upload command buffer is recording; `source.buffer` lives until the upload's
    /// fence.
    unsafe fn record_upload(&self, frame: usize, source: &Source) {
        let d = &self.ctx.device;
        let cmd = self.frames[frame].upload_cmd;
        let image = self.pictures.inputs[frame].image();
        let to_transfer = vk::ImageMemoryBarrier::default()
            .src_access_mask(vk::AccessFlags::empty())
            .dst_access_mask(vk::AccessFlags::TRANSFER_WRITE)
            .old_layout(vk::ImageLayout::UNDEFINED)
            .new_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)
            .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
            .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
            .image(image)
            .subresource_range(color_range());
        let release = vk::ImageMemoryBarrier::default()
            .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
            .dst_access_mask(vk::AccessFlags::empty())
            .old_layout(vk::ImageLayout::TRANSFER_DST_OPTIMAL)
            .new_layout(vk::ImageLayout::VIDEO_ENCODE_SRC_KHR)
            .src_queue_family_index(self.transfer_families().0)
            .dst_queue_family_index(self.transfer_families().1)
            .image(image)
            .subresource_range(color_range());
        // SAFETY: forwarded from the caller; the image and buffer live until the fence.
        unsafe {
            d.cmd_pipeline_barrier(
                cmd,
                vk::PipelineStageFlags::TOP_OF_PIPE,
                vk::PipelineStageFlags::TRANSFER,
                vk::DependencyFlags::empty(),
                &[],
                &[],
                &[to_transfer],
            );
            d.cmd_copy_buffer_to_image(
                cmd,
                source.buffer,
                image,
                vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                &source.regions,
            );
            d.cmd_pipeline_barrier(
                cmd,
                vk::PipelineStageFlags::TRANSFER,
                vk::PipelineStageFlags::BOTTOM_OF_PIPE,
                vk::DependencyFlags::empty(),
                &[],
                &[],
                &[release],
            );
        }
    }

    /// Codes the picture in `frame`'s input image as `kind` at display position `display`:
    /// records its coding scope, submits it on the encode queue (after the upload) and updates
    /// the DPB's bookkeeping.
    fn code(
        &mut self,
        frame: usize,
        kind: PictureKind,
        display: u32,
        tag: i64,
    ) -> Result<(), GpuError> {
        let missing = |what: &str| GpuError::Invalid {
            what: format!("a {kind:?} picture at display position {display}"),
            reason: format!("the DPB holds no {what} reference picture"),
        };
        let (before, after, setup) = match kind {
            PictureKind::Idr => (None, None, 0),
            PictureKind::P => (
                Some(self.dpb[self.last_reference].ok_or_else(|| missing("earlier"))?),
                None,
                1 - self.last_reference,
            ),
            PictureKind::B => (
                Some(self.dpb[1 - self.last_reference].ok_or_else(|| missing("earlier"))?),
                Some(self.dpb[self.last_reference].ok_or_else(|| missing("later"))?),
                2,
            ),
        };
        let frame_num = match kind {
            PictureKind::Idr => 0,
            _ => (self.last_frame_num + 1) % self.max_frame_num.max(1),
        };
        // AV1 codes the P picture after B pictures ahead of them, hidden, and shows it after
        // the last of them (`show_existing_frame`); H.264 and H.265 reorder by POC instead.
        let av1 = matches!(self.session.profile, Profile::Av1(_));
        let shown = !(av1 && kind == PictureKind::P && !self.held.is_empty());
        let held_display = |slot: usize| self.dpb.get(slot).copied().flatten().map(|r| r.display);
        let order = PictureOrder {
            kind,
            display,
            frame_num,
            idr_id: self.idr_id,
            before,
            after,
            ids: self.ids,
            slot: u8::try_from(setup).unwrap_or(0),
            shown,
            held: [held_display(0), held_display(1)],
        };
        // The last B picture before a hidden AV1 frame shows it after itself.
        let show_existing = match (kind, self.held.is_empty(), self.hidden_anchor) {
            (PictureKind::B, true, Some(anchor)) => Some(anchor),
            _ => None,
        };
        // Every picture but an IDR takes its turn in the intra-refresh cycle (B pictures are
        // refused with intra refresh: they would need the profile's B-picture or compound
        // refresh capability).
        let refresh = match (self.intra_refresh, kind) {
            (Some(plan), PictureKind::P) => Some((plan.cycle, self.refresh_next)),
            _ => None,
        };
        let d = &self.ctx.device;
        let cmd = self.frames[frame].encode_cmd;
        let recorded = (|| {
            // SAFETY: the command buffer comes from a pool made with RESET_COMMAND_BUFFER, and
            // its last submission finished (the frame was free).
            unsafe {
                begin_one_time(d, cmd)?;
                self.record_encode(frame, &order, setup, refresh);
                d.end_command_buffer(cmd)
                    .map_err(GpuError::vk("vkEndCommandBuffer"))
            }
        })()
        .and_then(|()| self.submit_encode(frame));
        if let Err(e) = recorded {
            // The command buffers may be in flight, the DPB layouts and the session state
            // unknown: nothing more is recorded with them.
            self.broken = Some(e.to_string());
            return Err(e);
        }
        self.dpb_ready.iter_mut().for_each(|r| *r = true);
        self.applied = Some(self.rate);
        self.coded.push_back(Coded {
            frame,
            kind,
            tag,
            refresh_index: refresh.map(|(_, index)| index),
            shown,
            show_existing,
        });
        if !shown {
            self.hidden_anchor = Some(ShowExisting {
                frame_slot: u8::try_from(setup).unwrap_or(0),
                tag,
            });
        } else if show_existing.is_some() {
            self.hidden_anchor = None;
        }
        if let Some((cycle, index)) = refresh {
            self.refresh_next = (index + 1) % cycle.max(1);
        }
        if kind == PictureKind::Idr {
            self.refresh_next = 0;
            self.dpb.iter_mut().for_each(|s| *s = None);
            self.idr_id = self.idr_id.wrapping_add(1);
            self.need_idr = false;
        }
        if order.is_reference() {
            self.dpb[setup] = Some(ReferencePicture {
                slot: u8::try_from(setup).unwrap_or(0),
                display,
                frame_num,
                idr: kind == PictureKind::Idr,
            });
            self.last_reference = setup;
            self.last_frame_num = frame_num;
        }
        Ok(())
    }

    /// The encode of `frame`'s uploaded picture at `order`, in one coding scope, its
    /// reconstruction set up in DPB slot `setup`; with `refresh` (the cycle's length and the
    /// picture's index in it) coded with intra refresh.
    ///
    /// # Safety
    /// The frame's encode command buffer is recording.
    unsafe fn record_encode(
        &self,
        frame: usize,
        order: &PictureOrder,
        setup_slot: usize,
        refresh: Option<(u32, u32)>,
    ) {
        let cmd = self.frames[frame].encode_cmd;
        let (w, h) = self.coded_size();
        let extent = vk::Extent2D {
            width: w,
            height: h,
        };
        // Synchronization 1 has no video access bits: the memory ones cover the encode's.
        let barrier = |image, layer, old, new, src_family, dst_family| {
            vk::ImageMemoryBarrier::default()
                .src_access_mask(vk::AccessFlags::empty())
                .dst_access_mask(vk::AccessFlags::MEMORY_READ | vk::AccessFlags::MEMORY_WRITE)
                .old_layout(old)
                .new_layout(new)
                .src_queue_family_index(src_family)
                .dst_queue_family_index(dst_family)
                .image(image)
                .subresource_range(vk::ImageSubresourceRange {
                    base_array_layer: layer,
                    ..color_range()
                })
        };
        // The acquire half of the upload's (or the pass's) ownership transfer, matching its
        // release: from TRANSFER_DST_OPTIMAL after a copy, from GENERAL after a pass that wrote
        // the image. None when one queue does both: the release already moved the image to the
        // encode layout.
        let mut barriers = Vec::with_capacity(4);
        if !self.one_queue {
            let old = if self.frames[frame].written.is_some() {
                vk::ImageLayout::GENERAL
            } else {
                vk::ImageLayout::TRANSFER_DST_OPTIMAL
            };
            barriers.push(barrier(
                self.pictures.inputs[frame].image(),
                0,
                old,
                vk::ImageLayout::VIDEO_ENCODE_SRC_KHR,
                self.ctx.queue_family,
                self.encode_family,
            ));
        }
        for (i, ready) in self.dpb_ready.iter().enumerate() {
            if !*ready {
                // The slot's own layer (one image's layers where the slots share one).
                barriers.push(barrier(
                    self.pictures.references[i].image,
                    self.pictures.references[i].layer,
                    vk::ImageLayout::UNDEFINED,
                    vk::ImageLayout::VIDEO_ENCODE_DPB_KHR,
                    vk::QUEUE_FAMILY_IGNORED,
                    vk::QUEUE_FAMILY_IGNORED,
                ));
            }
        }
        let resource = |slot: usize| {
            vk::VideoPictureResourceInfoKHR::default()
                .coded_extent(extent)
                .base_array_layer(self.pictures.references[slot].layer)
                .image_view_binding(self.pictures.references[slot].view)
        };
        let slot_index = |i: usize| i32::try_from(i).unwrap_or(0);
        let reference_slots: Vec<usize> = order.references().map(|r| usize::from(r.slot)).collect();
        let reference_resources: Vec<_> = reference_slots.iter().map(|&s| resource(s)).collect();
        let setup_resource = resource(setup_slot);
        let source = vk::VideoPictureResourceInfoKHR::default()
            .coded_extent(extent)
            .image_view_binding(self.pictures.inputs[frame].view());

        // The coding scope binds the references read and the picture being set up (not yet
        // an active slot: index -1).
        let mut bound: Vec<vk::VideoReferenceSlotInfoKHR<'_>> = reference_slots
            .iter()
            .zip(&reference_resources)
            .map(|(&s, r)| {
                vk::VideoReferenceSlotInfoKHR::default()
                    .slot_index(slot_index(s))
                    .picture_resource(r)
            })
            .collect();
        bound.push(
            vk::VideoReferenceSlotInfoKHR::default()
                .slot_index(-1)
                .picture_resource(&setup_resource),
        );

        // The coding scope names the rate the session's state holds; its control command,
        // when the rate is new, sets the one asked for.
        let (state_layers, state_rate) = self.applied.map(RateInfo::of).unzip();
        let (new_layers, new_rate) = RateInfo::of(self.rate);
        let mut begin_rate = state_rate.map(|r| r.info(state_layers.as_deref().unwrap_or(&[])));
        let mut begin = vk::VideoBeginCodingInfoKHR::default()
            .video_session(self.session.session)
            .video_session_parameters(self.session.parameters)
            .reference_slots(&bound);
        if let Some(rate) = begin_rate.as_mut() {
            begin = begin.push_next(rate);
        }
        let mut control_rate = new_rate.info(&new_layers);
        let mut quality =
            vk::VideoEncodeQualityLevelInfoKHR::default().quality_level(self.rate.quality_level);
        let mut control_flags = vk::VideoCodingControlFlagsKHR::ENCODE_RATE_CONTROL
            | vk::VideoCodingControlFlagsKHR::ENCODE_QUALITY_LEVEL;
        if self.applied.is_none() {
            control_flags |= vk::VideoCodingControlFlagsKHR::RESET;
        }
        let control_needed = self.applied != Some(self.rate);
        let control = vk::VideoCodingControlInfoKHR::default()
            .flags(control_flags)
            .push_next(&mut control_rate)
            .push_next(&mut quality);

        let av1 = matches!(self.session.profile, Profile::Av1(_));
        let constant_qp = match self.rate.control {
            RateControl::Cqp { qp: q } | RateControl::Cq { quality: q } => {
                let (min, max) = self.support.limits.qp_range;
                let q = match self.rate.control {
                    RateControl::Cq { .. } if av1 => q.saturating_mul(4),
                    _ => q,
                };
                i32::try_from(q)
                    .unwrap_or(i32::MAX)
                    .clamp(min, max.max(min))
            }
            _ => 0,
        };
        let frame_u64 = frame as u64;
        // Intra refresh: the picture's place in the cycle, and how many regions of the picture
        // it predicts from (the one before it) the cycle has not refreshed yet: all but the
        // `index` refreshed by the pictures before it in this cycle. The first picture of a
        // cycle names none dirty (its reference ended the last cycle, or is the IDR).
        let mut refresh_info = refresh.map(|(cycle, index)| VideoEncodeIntraRefreshInfoKHR {
            intra_refresh_cycle_duration: cycle,
            intra_refresh_index: index,
            ..Default::default()
        });
        let mut dirty = refresh
            .filter(|&(_, index)| index > 0)
            .map(|(cycle, index)| VideoReferenceIntraRefreshInfoKHR {
                dirty_intra_refresh_regions: cycle - index,
                ..Default::default()
            });
        let encode = vk::VideoEncodeInfoKHR::default()
            .dst_buffer(self.pictures.bitstream.buffer)
            .dst_buffer_offset(frame_u64 * self.pictures.region)
            .dst_buffer_range(self.bitstream_range())
            .src_picture_resource(source);
        let encode = match refresh_info.as_mut() {
            Some(info) => encode.flags(VIDEO_ENCODE_INTRA_REFRESH).push_next(info),
            None => encode,
        };
        let setup = vk::VideoReferenceSlotInfoKHR::default()
            .slot_index(slot_index(setup_slot))
            .picture_resource(&setup_resource);
        let mut references: Vec<_> = reference_slots
            .iter()
            .zip(&reference_resources)
            .map(|(&s, r)| {
                vk::VideoReferenceSlotInfoKHR::default()
                    .slot_index(slot_index(s))
                    .picture_resource(r)
            })
            .collect();
        // The one reference of a refreshing picture is the picture before it.
        if let (Some(dirty), Some(first)) = (dirty.as_mut(), references.first_mut()) {
            *first = first.push_next(dirty);
        }
        let coding = Coding {
            cmd,
            frame: u32::try_from(frame).unwrap_or(0),
            barriers: &barriers,
            begin: &begin,
            control: control_needed.then_some(&control),
        };
        let slots = Slots {
            encode,
            setup,
            references,
        };
        // The codec's half: its picture info, and its DPB infos on the slots.
        match self.session.profile {
            Profile::H264(_) => {
                let std = H264Picture::new(order);
                let slices = [vk::VideoEncodeH264NaluSliceInfoKHR::default()
                    .constant_qp(constant_qp)
                    .std_slice_header(&std.slice)];
                let mut picture = vk::VideoEncodeH264PictureInfoKHR::default()
                    .nalu_slice_entries(&slices)
                    .std_picture_info(&std.picture);
                let dpb =
                    |info| vk::VideoEncodeH264DpbSlotInfoKHR::default().std_reference_info(info);
                // SAFETY: forwarded from the caller.
                unsafe {
                    self.record_picture(
                        &coding,
                        slots,
                        &mut picture,
                        (&std.setup, &std.references),
                        dpb,
                    );
                }
            }
            Profile::H265(_) => {
                let std = H265Picture::new(order);
                let slices = [vk::VideoEncodeH265NaluSliceSegmentInfoKHR::default()
                    .constant_qp(constant_qp)
                    .std_slice_segment_header(&std.slice)];
                let mut picture = vk::VideoEncodeH265PictureInfoKHR::default()
                    .nalu_slice_segment_entries(&slices)
                    .std_picture_info(&std.picture);
                let dpb =
                    |info| vk::VideoEncodeH265DpbSlotInfoKHR::default().std_reference_info(info);
                // SAFETY: forwarded from the caller.
                unsafe {
                    self.record_picture(
                        &coding,
                        slots,
                        &mut picture,
                        (&std.setup, &std.references),
                        dpb,
                    );
                }
            }
            Profile::Av1(_) => {
                // The quantizer of the frame header: the constant one, or a middle value the
                // rate control replaces.
                let q_index = if rate_mode(self.rate.control)
                    == vk::VideoEncodeRateControlModeFlagsKHR::DISABLED
                {
                    u8::try_from(constant_qp.max(0)).unwrap_or(u8::MAX)
                } else {
                    128
                };
                let std = Av1Picture::new(order, q_index, (w, h));
                // LAST (index 0) names the frame before, ALTREF (index 6) the frame after (a B
                // frame's); a key frame names none.
                let mut names = [-1i32; 7];
                if let Some(r) = order.before {
                    names[0] = i32::from(r.slot);
                }
                if let Some(r) = order.after {
                    names[6] = i32::from(r.slot);
                }
                let (prediction_mode, rate_control_group) = match order.kind {
                    PictureKind::Idr => (
                        VideoEncodeAV1PredictionModeKHR::INTRA_ONLY,
                        VideoEncodeAV1RateControlGroupKHR::INTRA,
                    ),
                    PictureKind::P => (
                        VideoEncodeAV1PredictionModeKHR::SINGLE_REFERENCE,
                        VideoEncodeAV1RateControlGroupKHR::PREDICTIVE,
                    ),
                    PictureKind::B => (
                        VideoEncodeAV1PredictionModeKHR::BIDIRECTIONAL_COMPOUND,
                        VideoEncodeAV1RateControlGroupKHR::BIPREDICTIVE,
                    ),
                };
                let mut picture = VideoEncodeAV1PictureInfoKHR {
                    prediction_mode,
                    rate_control_group,
                    constant_q_index: u32::try_from(constant_qp).unwrap_or(0),
                    reference_name_slot_indices: names,
                    ..Default::default()
                }
                .std_picture_info(&std.picture);
                let dpb = |info| VideoEncodeAV1DpbSlotInfoKHR::default().std_reference_info(info);
                // SAFETY: forwarded from the caller.
                unsafe {
                    self.record_picture(
                        &coding,
                        slots,
                        &mut picture,
                        (&std.setup, &std.references),
                        dpb,
                    );
                }
            }
        }
    }

    /// Records one picture's coding scope: `picture` (the codec's picture info) chained to the
    /// encode info, the codec's DPB info (`dpb` of each std reference info in `infos`: the
    /// picture set up, then those read, in order) chained to the setup and reference slots.
    ///
    /// # Safety
    /// As [`Self::record_coding`].
    unsafe fn record_picture<'s, P, S, D>(
        &self,
        coding: &Coding<'_>,
        slots: Slots<'_>,
        picture: &mut P,
        (setup_info, reference_infos): (&'s S, &'s [S]),
        dpb: impl Fn(&'s S) -> D,
    ) where
        P: vk::ExtendsVideoEncodeInfoKHR,
        D: vk::ExtendsVideoReferenceSlotInfoKHR,
    {
        let mut setup_dpb = dpb(setup_info);
        let mut reference_dpb: Vec<D> = reference_infos.iter().map(&dpb).collect();
        let setup = slots.setup.push_next(&mut setup_dpb);
        let references: Vec<_> = slots
            .references
            .into_iter()
            .zip(reference_dpb.iter_mut())
            .map(|(slot, dpb)| slot.push_next(dpb))
            .collect();
        let encode = slots.encode.setup_reference_slot(&setup).push_next(picture);
        let encode = if references.is_empty() {
            encode
        } else {
            encode.reference_slots(&references)
        };
        // SAFETY: forwarded from the caller.
        unsafe { self.record_coding(coding, &encode) };
    }

    /// Records one coding scope: the barriers (and a memory dependency on the encodes
    /// submitted before, whose DPB pictures this one reads or overwrites), the frame's
    /// feedback query's reset, the scope with its control command when the rate is new, and
    /// the encode inside the query.
    ///
    /// # Safety
    /// `coding.cmd` is recording; every handle the infos name lives until the fence signals.
    unsafe fn record_coding(&self, coding: &Coding<'_>, encode: &vk::VideoEncodeInfoKHR<'_>) {
        let d = &self.ctx.device;
        let cmd = coding.cmd;
        let query = coding.frame;
        let queue = self.session.queue.fp();
        let encode_fp = self.session.encode.fp();
        let earlier = vk::MemoryBarrier::default()
            .src_access_mask(vk::AccessFlags::MEMORY_WRITE)
            .dst_access_mask(vk::AccessFlags::MEMORY_READ | vk::AccessFlags::MEMORY_WRITE);
        // SAFETY: forwarded from the caller; every info lives for its call.
        unsafe {
            d.cmd_pipeline_barrier(
                cmd,
                vk::PipelineStageFlags::ALL_COMMANDS,
                vk::PipelineStageFlags::ALL_COMMANDS,
                vk::DependencyFlags::empty(),
                &[earlier],
                &[],
                coding.barriers,
            );
            d.cmd_reset_query_pool(cmd, self.feedback, query, 1);
            if let Some(pool) = self.timestamps {
                d.cmd_reset_query_pool(cmd, pool, 2 * query, 2);
                d.cmd_write_timestamp(cmd, vk::PipelineStageFlags::TOP_OF_PIPE, pool, 2 * query);
            }
            (queue.cmd_begin_video_coding_khr)(cmd, coding.begin);
            if let Some(control) = coding.control {
                (queue.cmd_control_video_coding_khr)(cmd, control);
            }
            d.cmd_begin_query(cmd, self.feedback, query, vk::QueryControlFlags::empty());
            (encode_fp.cmd_encode_video_khr)(cmd, encode);
            d.cmd_end_query(cmd, self.feedback, query);
            let end = vk::VideoEndCodingInfoKHR::default();
            (queue.cmd_end_video_coding_khr)(cmd, &raw const end);
            if let Some(pool) = self.timestamps {
                d.cmd_write_timestamp(
                    cmd,
                    vk::PipelineStageFlags::BOTTOM_OF_PIPE,
                    pool,
                    2 * query + 1,
                );
            }
            // The bitstream is read on the host after the fence: make the encode's writes
            // visible to it.
            let to_host = vk::BufferMemoryBarrier::default()
                .src_access_mask(vk::AccessFlags::MEMORY_WRITE)
                .dst_access_mask(vk::AccessFlags::HOST_READ)
                .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                .buffer(self.pictures.bitstream.buffer)
                .offset(u64::from(query) * self.pictures.region)
                .size(self.pictures.region);
            d.cmd_pipeline_barrier(
                cmd,
                vk::PipelineStageFlags::ALL_COMMANDS,
                vk::PipelineStageFlags::HOST,
                vk::DependencyFlags::empty(),
                &[],
                &[to_host],
                &[],
            );
        }
    }

    /// The queue families of the upload's ownership transfer: compute → encode, or none
    /// (ignored) when one queue does both.
    fn transfer_families(&self) -> (u32, u32) {
        if self.one_queue {
            (vk::QUEUE_FAMILY_IGNORED, vk::QUEUE_FAMILY_IGNORED)
        } else {
            (self.ctx.queue_family, self.encode_family)
        }
    }

    /// The `released` value the encode of `frame` may signal: the highest value below every
    /// written picture not yet submitted for encode (held for a later picture, or being taken)
    /// other than `frame`'s, or the highest value taken when there is none; `None` when that is
    /// not above the value signalled already.
    fn releasable(&self, frame: usize) -> Option<(vk::Semaphore, u64)> {
        let r = self.release?;
        let waiting = self
            .frames
            .iter()
            .enumerate()
            .filter(|&(i, f)| i != frame && f.busy && !f.in_flight[1])
            .filter_map(|(_, f)| f.written.map(|w| w.value))
            .min();
        let value = waiting.map_or(r.taken, |v| v - 1);
        (value > r.signalled).then_some((r.semaphore, value))
    }

    /// Submits `frame`'s encode on the video-encode queue, waiting for its upload (or for the
    /// pass that wrote it), and signalling the written pictures' `released` value when it grows.
    fn submit_encode(&mut self, frame: usize) -> Result<(), GpuError> {
        let d = &self.ctx.device;
        let release = self.releasable(frame);
        let f = &self.frames[frame];
        let cmds = [f.encode_cmd];
        let (waits, wait_values) = match f.written {
            Some(w) => ([w.ready.semaphore], [w.ready.value]),
            None => ([f.uploaded], [0]),
        };
        let stages = [vk::PipelineStageFlags::ALL_COMMANDS];
        let (signals, signal_values) = release.unzip();
        let signals: Vec<vk::Semaphore> = signals.into_iter().collect();
        let signal_values: Vec<u64> = signal_values.into_iter().collect();
        let mut timeline = vk::TimelineSemaphoreSubmitInfo::default()
            .wait_semaphore_values(&wait_values)
            .signal_semaphore_values(&signal_values);
        let submit = vk::SubmitInfo::default()
            .command_buffers(&cmds)
            .wait_semaphores(&waits)
            .wait_dst_stage_mask(&stages)
            .signal_semaphores(&signals);
        let submit = if f.written.is_some() || release.is_some() {
            submit.push_next(&mut timeline)
        } else {
            submit
        };
        let fence = f.done;
        // SAFETY: the command buffer is recorded and not in flight; the queue is used under its
        // lock.
        unsafe {
            let Some((_guard, queue)) = self.ctx.lock_video_queue()? else {
                return Err(GpuError::Invalid {
                    what: "the video-encode queue".into(),
                    reason: "the context has none".into(),
                });
            };
            d.queue_submit(queue, &[submit], fence)
                .map_err(GpuError::vk("vkQueueSubmit"))?;
        }
        self.frames[frame].in_flight[1] = true;
        if let (Some(r), Some((_, value))) = (self.release.as_mut(), release) {
            r.signalled = value;
        }
        Ok(())
    }

    /// Waits for a coded picture's encode and upload, reads its bytes and frees its frame.
    fn collect(&mut self, coded: Coded) -> Result<EncodedPicture, GpuError> {
        let frame = coded.frame;
        let waited = wait_and_reset(
            &self.ctx,
            self.frames[frame].done,
            TIMEOUT_NS,
            "a Vulkan Video encode",
        )
        .and_then(|()| {
            self.frames[frame].in_flight[1] = false;
            // A picture a pass wrote had no upload.
            if !self.frames[frame].in_flight[0] {
                return Ok(());
            }
            wait_and_reset(
                &self.ctx,
                self.frames[frame].upload_done,
                TIMEOUT_NS,
                "an encode input upload",
            )
        });
        if let Err(e) = waited {
            self.broken = Some(e.to_string());
            return Err(e);
        }
        self.frames[frame].in_flight[0] = false;
        self.frames[frame].busy = false;
        let picture = self.read_feedback(coded);
        if picture.is_err() {
            // The picture is not in the stream: the next one must not reference it.
            self.need_idr = true;
        }
        picture
    }

    /// A coded picture's bytes, as its feedback query places them in its frame's region.
    fn read_feedback(&self, coded: Coded) -> Result<EncodedPicture, GpuError> {
        let d = &self.ctx.device;
        let query = u32::try_from(coded.frame).unwrap_or(0);
        // Offset, bytes written, status.
        let mut results = [[0u32; 3]; 1];
        // SAFETY: the query was ended in the submission the fence covered; `results` holds
        // one query's three 32-bit values.
        unsafe {
            d.get_query_pool_results(
                self.feedback,
                query,
                &mut results,
                vk::QueryResultFlags::WITH_STATUS_KHR | vk::QueryResultFlags::WAIT,
            )
        }
        .map_err(GpuError::vk("vkGetQueryPoolResults"))?;
        let [offset, written, status] = results[0];
        let status = i32::from_ne_bytes(status.to_ne_bytes());
        if status != vk::QueryResultStatusKHR::COMPLETE.as_raw() {
            return Err(GpuError::Invalid {
                what: format!("the encode's result status {status}"),
                reason: if status
                    == vk::QueryResultStatusKHR::INSUFFICIENTSTREAM_BUFFER_RANGE.as_raw()
                {
                    format!(
                        "the picture did not fit its {}-byte bitstream region",
                        self.bitstream_range()
                    )
                } else {
                    "the driver reported the encode as not complete".into()
                },
            });
        }
        let bytes = self
            .pictures
            .bitstream
            .mapped()
            .ok_or_else(|| GpuError::Invalid {
                what: "the bitstream buffer".into(),
                reason: "it is not mapped".into(),
            })?;
        // The offset is relative to the encode's dstBufferOffset (the frame's region).
        let base = coded.frame as u64 * self.pictures.region;
        let range = self.bitstream_range();
        let (start, end) = (u64::from(offset), u64::from(offset) + u64::from(written));
        let data = (end <= range)
            .then(|| {
                let at = |n: u64| usize::try_from(base + n).ok();
                bytes.get(at(start)?..at(end)?)
            })
            .flatten()
            .ok_or_else(|| GpuError::Invalid {
                what: format!("feedback offset {offset} and size {written}"),
                reason: format!("the picture's bitstream region holds {range} bytes"),
            })?;
        // A timestamp that cannot be read loses the statistic, not the picture.
        let gpu_time = self.timestamps.and_then(|pool| {
            read_gpu_time_at(&self.ctx, pool, 2 * query)
                .inspect_err(|e| tracing::debug!(error = %e, "no encode GPU time for this picture"))
                .ok()
        });
        Ok(EncodedPicture {
            data: data.to_vec(),
            idr: coded.kind == PictureKind::Idr,
            kind: coded.kind,
            tag: coded.tag,
            gpu_time,
            refresh_index: coded.refresh_index,
            shown: coded.shown,
            show_existing: coded.show_existing,
        })
    }
}

/// Whether `params` and the device allow `b_frames` B pictures: parameters made for them
/// (H.264, H.265; AV1's always are), and a device that codes B pictures with one reference on
/// each side (AV1: bidirectional compound prediction from LAST and ALTREF).
fn check_b_frames(
    params: &SessionParameters<'_>,
    support: &EncodeSupport,
    b_frames: u32,
) -> Result<(), GpuError> {
    let codec = params.codec();
    if !params.reorders() {
        return Err(GpuError::Invalid {
            what: format!("{b_frames} B pictures with {codec} parameters made without reordering"),
            reason: "make the parameters with allow_b_frames()".into(),
        });
    }
    if b_frames > 16 {
        return Err(GpuError::Invalid {
            what: format!("{b_frames} B pictures in a row"),
            reason: "16 at most (each waits in its own input image)".into(),
        });
    }
    let limits = &support.limits;
    if support.max_dpb_slots < 3 || support.max_active_references < 2 || !limits.b_pictures() {
        return Err(GpuError::Unsupported {
            what: format!("{codec} B pictures"),
            reason: format!(
                "{} offers {} DPB slots, {} active references and {} B pictures: B pictures need 3 slots, 2 references, one on each side",
                support.device,
                support.max_dpb_slots,
                support.max_active_references,
                if limits.b_pictures() { "" } else { "no" }
            ),
        });
    }
    Ok(())
}

/// Whether the device refreshes as `refresh` asks: intra refresh offered for the profile
/// (the extension and its feature), the plan's mode among those offered, its cycle within the
/// device's, one active reference within what refreshing pictures may use, and no B pictures
/// (GhostStream refreshes only in low-latency streams).
fn check_intra_refresh(
    codec: crate::codec::Codec,
    support: &EncodeSupport,
    refresh: IntraRefresh,
    b_frames: u32,
) -> Result<(), GpuError> {
    let what = format!("{codec} intra refresh over {} pictures", refresh.cycle);
    let unsupported = |reason: String| GpuError::Unsupported {
        what: what.clone(),
        reason,
    };
    let Some(limits) = support.limits.intra_refresh else {
        return Err(unsupported(format!(
            "{} offers no intra refresh for {} (VK_KHR_video_encode_intra_refresh with its videoEncodeIntraRefresh feature)",
            support.device, support.profile
        )));
    };
    if !limits.modes.contains(refresh.mode) || refresh.mode.as_raw().count_ones() != 1 {
        return Err(unsupported(format!(
            "{} offers the modes {:#x}, not {:#x}",
            support.device,
            limits.modes.as_raw(),
            refresh.mode.as_raw()
        )));
    }
    if refresh.cycle < 2 || refresh.cycle > limits.max_cycle {
        return Err(unsupported(format!(
            "{} refreshes over 2 to {} pictures",
            support.device, limits.max_cycle
        )));
    }
    if limits.max_active_references < 1 {
        return Err(unsupported(format!(
            "{} lets a refreshing picture use no reference picture",
            support.device
        )));
    }
    if b_frames > 0 {
        return Err(GpuError::Invalid {
            what,
            reason: format!("with {b_frames} B pictures: GhostStream refreshes low-latency streams only (no B pictures)"),
        });
    }
    Ok(())
}

/// The codec-neutral part of one coding scope: the command buffer, the frame (its query
/// indices and bitstream region), the barriers before it, the scope's begin info and its
/// control command (when the rate is new).
struct Coding<'a> {
    cmd: vk::CommandBuffer,
    frame: u32,
    barriers: &'a [vk::ImageMemoryBarrier<'a>],
    begin: &'a vk::VideoBeginCodingInfoKHR<'a>,
    control: Option<&'a vk::VideoCodingControlInfoKHR<'a>>,
}

/// A picture's encode info and the slot infos of the picture it sets up and of those it
/// reads, before the codec's halves are chained to them.
struct Slots<'a> {
    encode: vk::VideoEncodeInfoKHR<'a>,
    setup: vk::VideoReferenceSlotInfoKHR<'a>,
    references: Vec<vk::VideoReferenceSlotInfoKHR<'a>>,
}

/// A rate as `VkVideoEncodeRateControlInfoKHR` gives it (its one layer kept apart, for the
/// info to point at).
#[derive(Clone, Copy)]
struct RateInfo {
    mode: vk::VideoEncodeRateControlModeFlagsKHR,
    buffer_ms: u32,
}

impl RateInfo {
    /// `rate`'s one layer (none for constant QP) and its mode.
    fn of(rate: VideoRate) -> (Vec<vk::VideoEncodeRateControlLayerInfoKHR<'static>>, Self) {
        let mode = rate_mode(rate.control);
        let layer = |average, max| {
            vk::VideoEncodeRateControlLayerInfoKHR::default()
                .average_bitrate(average)
                .max_bitrate(max)
                .frame_rate_numerator(u32::try_from(rate.frame_rate.num).unwrap_or(60))
                .frame_rate_denominator(u32::try_from(rate.frame_rate.den).unwrap_or(1))
        };
        let layers = match rate.control {
            RateControl::Cbr { bitrate } => vec![layer(bitrate, bitrate)],
            RateControl::Vbr { target, max } => vec![layer(target, max)],
            _ => Vec::new(),
        };
        (
            layers,
            Self {
                mode,
                buffer_ms: rate.buffer_ms,
            },
        )
    }

    fn info<'a>(
        self,
        layers: &'a [vk::VideoEncodeRateControlLayerInfoKHR<'static>],
    ) -> vk::VideoEncodeRateControlInfoKHR<'a> {
        let info = vk::VideoEncodeRateControlInfoKHR::default().rate_control_mode(self.mode);
        if layers.is_empty() {
            return info;
        }
        info.layers(layers)
            .virtual_buffer_size_in_ms(self.buffer_ms)
            .initial_virtual_buffer_size_in_ms(self.buffer_ms / 2)
    }
}

/// One plane of a hand-off buffer, copied into the encode input image.
struct PlaneCopy {
    aspect: vk::ImageAspectFlags,
    /// The plane's size in texels.
    size: (u32, u32),
    /// The coded picture's plane size in texels (at least `size`).
    coded: (u32, u32),
    /// Where the plane starts in the buffer, bytes.
    offset: u32,
    /// Bytes from one row to the next (a whole number of texels).
    pitch: u32,
    /// Bytes a texel.
    texel: u32,
}

impl PlaneCopy {
    /// The copy regions: the plane, each padding row from its last row, each padding column
    /// from its last column, and the padding corner from its last texel.
    fn regions(&self) -> Vec<vk::BufferImageCopy> {
        let (w, h) = self.size;
        let (cw, ch) = self.coded;
        let row = u64::from(self.pitch);
        let at = |x: u32, y: u32| {
            u64::from(self.offset) + u64::from(y) * row + u64::from(x) * u64::from(self.texel)
        };
        let region = |from: u64, (x, y): (u32, u32), (width, height): (u32, u32)| {
            let offset = vk::Offset3D {
                x: i32::try_from(x).unwrap_or(i32::MAX),
                y: i32::try_from(y).unwrap_or(i32::MAX),
                z: 0,
            };
            whole_plane(self.aspect, width, height)
                .buffer_offset(from)
                .buffer_row_length(self.pitch / self.texel.max(1))
                .image_offset(offset)
        };
        let mut regions = vec![region(at(0, 0), (0, 0), (w, h))];
        let (last_x, last_y) = (w.saturating_sub(1), h.saturating_sub(1));
        regions.extend((h..ch).map(|y| region(at(0, last_y), (0, y), (w, 1))));
        regions.extend((w..cw).map(|x| region(at(last_x, 0), (x, 0), (1, h))));
        for y in h..ch {
            regions.extend((w..cw).map(|x| region(at(last_x, last_y), (x, y), (1, 1))));
        }
        regions
    }
}

/// A source plane: `w` x `h` samples, rows `stride` bytes apart.
struct Plane<'a> {
    data: &'a [u8],
    stride: usize,
    w: usize,
    h: usize,
}

/// Writes `src`'s samples of `pixel` bytes into a tight `cw` x `ch` plane, repeating the last
/// column and row into the padding.
fn fill_plane(dst: &mut [u8], cw: usize, ch: usize, src: Plane<'_>, pixel: usize) {
    let (row, src_row, w) = (cw * pixel, src.w * pixel, src.w);
    for y in 0..ch {
        let from = &src.data[y.min(src.h - 1) * src.stride..][..src_row];
        let to = &mut dst[y * row..][..row];
        to[..src_row].copy_from_slice(from);
        let last = &from[src_row - pixel..];
        for x in w..cw {
            to[x * pixel..][..pixel].copy_from_slice(last);
        }
    }
}

impl Drop for VideoEncoder {
    fn drop(&mut self) {
        let d = &self.ctx.device;
        // SAFETY: every submission still pending is waited for here, bounded; the objects are
        // destroyed once, after.
        unsafe {
            for f in &self.frames {
                for (fence, pending) in [f.upload_done, f.done].into_iter().zip(f.in_flight) {
                    if pending {
                        let _ = d.wait_for_fences(&[fence], true, TIMEOUT_NS);
                    }
                }
            }
            for f in &self.frames {
                d.destroy_fence(f.upload_done, None);
                d.destroy_fence(f.done, None);
                d.destroy_semaphore(f.uploaded, None);
            }
            d.destroy_query_pool(self.feedback, None);
            if let Some(pool) = self.timestamps {
                d.destroy_query_pool(pool, None);
            }
            d.destroy_command_pool(self.encode_pool, None);
            d.destroy_command_pool(self.upload_pool, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{fill_plane, Plane, ShowExisting};

    #[test]
    fn show_existing_frame_headers_name_their_slot_and_end_with_the_trailing_bits() {
        let show = |frame_slot| ShowExisting { frame_slot, tag: 0 }.obu();
        // OBU_FRAME_HEADER with a size field, 1 byte: show_existing_frame 1, the slot's 3
        // bits, then the trailing 1 and 0s.
        assert_eq!(show(1), [0x1A, 1, 0b1001_1000]);
        assert_eq!(show(0), [0x1A, 1, 0b1000_1000]);
        assert_eq!(show(7), [0x1A, 1, 0b1111_1000]);
    }

    #[test]
    fn the_padding_repeats_the_last_row_and_column() {
        // Rows 4 bytes apart, 3 samples used.
        let src = [1u8, 2, 3, 99, 4, 5, 6];
        let mut dst = [0u8; 16];
        let plane = Plane {
            data: &src,
            stride: 4,
            w: 3,
            h: 2,
        };
        fill_plane(&mut dst, 4, 4, plane, 1);
        assert_eq!(dst, [1, 2, 3, 3, 4, 5, 6, 6, 4, 5, 6, 6, 4, 5, 6, 6]);
        let uv = [1u8, 2, 3, 4];
        let mut dst = [0u8; 8];
        let plane = Plane {
            data: &uv,
            stride: 2,
            w: 1,
            h: 2,
        };
        fill_plane(&mut dst, 2, 2, plane, 2);
        assert_eq!(dst, [1, 2, 1, 2, 3, 4, 3, 4]);
    }
}
