//! A Vulkan Video encode session (H.264, H.265 or AV1) on a context's video-encode queue: the
//! session with its memory bound, the session parameters made from [`H264Parameters`],
//! [`H265Parameters`] or [`Av1Parameters`], and the parameter sets as the driver encodes them
//! (`vkGetEncodedVideoSessionParametersKHR`: the (VPS,) SPS and PPS NAL units, or the AV1
//! sequence header OBU, the stream starts with).
//!
//! [`super::encoder`] records the encodes with it.

use std::ffi::c_char;
use std::sync::Arc;

use ash::vk;

use gpu_allocator::MemoryLocation;

use super::av1::{self, VideoEncodeAV1ProfileInfoKHR, VideoEncodeAV1SessionCreateInfoKHR};
use super::av1_sequence::Av1Parameters;
use super::caps::{direct_input_format, picture_format, picture_formats, usage_info};
use super::h264::H264Parameters;
use super::h265::H265Parameters;
use super::intra_refresh::{
    VideoEncodeIntraRefreshModeFlagsKHR, VideoEncodeSessionIntraRefreshCreateInfoKHR,
};
use crate::codec::Codec;
use crate::config::{BitDepth, Tuning};
use crate::format::PixelFormat;
use crate::gpu::resources::{GpuBuffer, GpuImage};
use crate::gpu::{GpuContext, GpuError, PictureConsumer, PlanarImage};

/// The std header a session of `codec` is made against, as the driver names it.
fn std_header_name(codec: Codec) -> &'static [u8] {
    match codec {
        Codec::Hevc => b"VK_STD_vulkan_video_codec_h265_encode",
        Codec::Av1 => av1::STD_VULKAN_VIDEO_CODEC_AV1_ENCODE_EXTENSION_NAME.to_bytes(),
        Codec::H264 => b"VK_STD_vulkan_video_codec_h264_encode",
    }
}
/// The std headers' version 1.0.0 (`VK_MAKE_VIDEO_STD_VERSION(1, 0, 0)`).
const ENCODE_STD_VERSION: u32 = 1 << 22;
/// The std header description a session of `codec` names.
fn std_header(codec: Codec) -> vk::ExtensionProperties {
    let mut name = [0 as c_char; vk::MAX_EXTENSION_NAME_SIZE];
    for (dst, &src) in name.iter_mut().zip(std_header_name(codec)) {
        *dst = c_char::from_ne_bytes([src]);
    }
    vk::ExtensionProperties {
        extension_name: name,
        spec_version: ENCODE_STD_VERSION,
    }
}

/// The parameter sets a session is made with: which codec, and its profile.
#[derive(Clone, Copy, Debug)]
pub enum SessionParameters<'a> {
    /// H.264 (High, 8-bit 4:2:0).
    H264(&'a H264Parameters),
    /// H.265 (Main, 8-bit 4:2:0).
    H265(&'a H265Parameters),
    /// AV1 (Main, 8-bit 4:2:0).
    Av1(&'a Av1Parameters),
}

/// What a session is made for beyond its stream: the driver's quality level (its presets:
/// higher is slower and better) and the use, which the profile's usage hints and tuning mode
/// give the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeHints {
    /// The quality level the session parameters are made for (below the device's
    /// `maxQualityLevels`).
    pub quality_level: u32,
    /// What the stream is for: recording (high quality, lossless) or streaming (low and ultra-low
    /// latency).
    pub tuning: Tuning,
    /// B pictures between two reference pictures (0: none, every picture an IDR or a P). With
    /// B pictures the session keeps three DPB slots (the two reference pictures a B picture
    /// reads, and one for its own reconstruction) and two active references.
    pub b_frames: u32,
    /// The intra refresh mode the session is made with
    /// (`VkVideoEncodeSessionIntraRefreshCreateInfoKHR`): one mode the device offers
    /// ([`IntraRefreshLimits::preferred_mode`](super::caps::IntraRefreshLimits::preferred_mode)),
    /// or `NONE` (the default: no intra refresh, nothing chained).
    pub intra_refresh: VideoEncodeIntraRefreshModeFlagsKHR,
}

impl Default for EncodeHints {
    /// Level 0 (the driver's fastest), low latency.
    fn default() -> Self {
        Self {
            quality_level: 0,
            tuning: Tuning::LowLatency,
            b_frames: 0,
            intra_refresh: VideoEncodeIntraRefreshModeFlagsKHR::NONE,
        }
    }
}

impl EncodeHints {
    /// DPB slots the session keeps: the reference picture and the one being set up, plus a
    /// slot for the reconstruction of B pictures (which are not references) when there are any.
    pub fn dpb_slots(self) -> u32 {
        if self.b_frames > 0 {
            3
        } else {
            2
        }
    }

    /// References one picture reads at most: one (a P picture), two with B pictures (one
    /// before it and one after it in display order).
    pub fn active_references(self) -> u32 {
        if self.b_frames > 0 {
            2
        } else {
            1
        }
    }

    /// The usage hints and tuning mode of `VkVideoEncodeUsageInfoKHR`.
    pub(crate) fn usage(self) -> vk::VideoEncodeUsageInfoKHR<'static> {
        usage_info(self.tuning)
    }
}

impl SessionParameters<'_> {
    /// Whether the parameter sets allow pictures out of display order (B pictures): H.264
    /// with POC type 0 and two reference frames, H.265 with a reordering DPB; AV1 always (its
    /// sequence header enables order hints, and a frame coded ahead stays hidden until shown).
    pub fn reorders(&self) -> bool {
        match self {
            Self::H264(p) => p.reorders(),
            Self::H265(p) => p.reorders(),
            Self::Av1(_) => true,
        }
    }

    /// The highest bitrate the parameters' level allows, bits a second (`None`: not known).
    pub fn level_max_bitrate(&self) -> Option<u64> {
        match self {
            Self::H264(p) => p.level_max_bitrate(),
            Self::H265(p) => p.level_max_bitrate(),
            Self::Av1(p) => p.level_max_bitrate(),
        }
    }

    /// The codec.
    pub fn codec(&self) -> Codec {
        match self {
            Self::H264(_) => Codec::H264,
            Self::H265(_) => Codec::Hevc,
            Self::Av1(_) => Codec::Av1,
        }
    }

    /// Bits a sample the parameters describe: 8 or 10, anything else an error naming it.
    pub fn depth(&self) -> Result<BitDepth, GpuError> {
        let bits = match self {
            Self::H264(p) => u32::from(p.sps.bit_depth_luma_minus8) + 8,
            Self::H265(p) => u32::from(p.sps.bit_depth_luma_minus8) + 8,
            Self::Av1(p) => u32::from(p.color.BitDepth),
        };
        match bits {
            8 => Ok(BitDepth::Eight),
            10 if !matches!(self, Self::H264(_)) => Ok(BitDepth::Ten),
            _ => Err(GpuError::Invalid {
                what: format!("{}-bit {} parameters", bits, self.codec()),
                reason: "GhostStream's Vulkan Video sessions take 8 bits, or 10 for H.265 and AV1"
                    .into(),
            }),
        }
    }
}

/// A session's video profile: the codec and its profile idc (8-bit 4:2:0 in both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Profile {
    H264(ash::vk::native::StdVideoH264ProfileIdc),
    H265(ash::vk::native::StdVideoH265ProfileIdc),
    Av1(ash::vk::native::StdVideoAV1Profile),
}

/// The codec-specific halves of a [`vk::VideoProfileInfoKHR`], kept where the profile info
/// points at them.
#[derive(Default)]
pub(super) struct ProfileParts {
    h264: vk::VideoEncodeH264ProfileInfoKHR<'static>,
    h265: vk::VideoEncodeH265ProfileInfoKHR<'static>,
    av1: VideoEncodeAV1ProfileInfoKHR<'static>,
    usage: vk::VideoEncodeUsageInfoKHR<'static>,
}

impl Profile {
    /// The codec.
    pub(super) fn codec(self) -> Codec {
        match self {
            Self::H264(_) => Codec::H264,
            Self::H265(_) => Codec::Hevc,
            Self::Av1(_) => Codec::Av1,
        }
    }
}

/// One encode input image: a plain one, which a copy fills, or (where the device offers storage
/// on encode input images and the context stores into images of any format) a [`PlanarImage`],
/// which a copy fills too or a processing pass writes straight into.
pub(crate) enum InputImage {
    /// `VIDEO_ENCODE_SRC | TRANSFER_DST`.
    Plain(GpuImage),
    /// `VIDEO_ENCODE_SRC | TRANSFER_DST | STORAGE`, made `MUTABLE_FORMAT | EXTENDED_USAGE` with a
    /// storage view of each plane, released to the encode family in `VIDEO_ENCODE_SRC_KHR` after
    /// each pass.
    Planar(Arc<PlanarImage>),
}

impl InputImage {
    /// The image.
    pub(crate) fn image(&self) -> vk::Image {
        match self {
            Self::Plain(i) => i.image,
            Self::Planar(p) => p.image(),
        }
    }

    /// The view of the whole image in its own format (the encode's source picture resource).
    pub(crate) fn view(&self) -> vk::ImageView {
        match self {
            Self::Plain(i) => i.view,
            Self::Planar(p) => p.view(),
        }
    }
}

/// The pictures and buffers a session's frames need: one encode input picture per frame in
/// flight (filled by a copy from the CPU upload or the processing pass's output, or written
/// by the pass itself where the images are [`PlanarImage`]s), the decoded
/// picture buffer's slots (two reference pictures, and a third for B pictures' reconstruction
/// when the session has B pictures), and a host-visible bitstream buffer holding one region per
/// frame in flight, which the driver writes the frames into.
pub struct EncodePictures {
    /// The encode input pictures, one per frame in flight (all plain or all planar).
    pub(crate) inputs: Vec<InputImage>,
    /// The decoded picture buffer's images: one per slot where the device takes separate
    /// reference images, else one image with a layer per slot.
    pub(crate) dpb: Vec<GpuImage>,
    /// The decoded picture buffer's slots: where each one's reference picture lives.
    pub(crate) references: Vec<DpbSlot>,
    /// Where the encoded frames are written (host-visible): region `i` (of `region` bytes,
    /// from `i * region`) is input `i`'s.
    pub(crate) bitstream: GpuBuffer,
    /// Bytes of one frame's region of `bitstream`.
    pub(crate) region: u64,
}

/// Where one DPB slot's reference picture lives: an image (of [`EncodePictures`]' DPB images),
/// the view a picture resource binds, and the array layer of that view it names
/// (`VkVideoPictureResourceInfoKHR::baseArrayLayer`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DpbSlot {
    /// The image holding the slot's picture.
    pub(crate) image: vk::Image,
    /// The view picture resources bind (`2D`, or `2D_ARRAY` over every layer).
    pub(crate) view: vk::ImageView,
    /// The slot's layer of `image` (and of `view`).
    pub(crate) layer: u32,
}

impl std::fmt::Debug for EncodePictures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodePictures")
            .field("inputs", &self.inputs.len())
            .field("direct", &self.direct())
            .field("references", &self.references.len())
            .field("dpb_images", &self.dpb.len())
            .field("region_bytes", &self.region)
            .finish_non_exhaustive()
    }
}

impl EncodePictures {
    /// The first encode input image (NV12 or P010, `VIDEO_ENCODE_SRC | TRANSFER_DST`, and
    /// `STORAGE` where [`Self::direct`]).
    pub fn input_image(&self) -> vk::Image {
        self.inputs[0].image()
    }

    /// The encode input images, one per frame in flight.
    pub fn input_images(&self) -> Vec<vk::Image> {
        self.inputs.iter().map(InputImage::image).collect()
    }

    /// The input images are [`PlanarImage`]s a pass may write straight into.
    pub fn direct(&self) -> bool {
        matches!(self.inputs.first(), Some(InputImage::Planar(_)))
    }

    /// The input images as [`PlanarImage`]s, when they are (see [`Self::direct`]).
    pub fn planar_inputs(&self) -> Option<Vec<Arc<PlanarImage>>> {
        self.inputs
            .iter()
            .map(|i| match i {
                InputImage::Planar(p) => Some(Arc::clone(p)),
                InputImage::Plain(_) => None,
            })
            .collect()
    }

    /// The reference picture images (`VIDEO_ENCODE_DPB`), one per DPB slot: distinct images
    /// where the device takes separate reference images, else the one image whose layers the
    /// slots are (see [`Self::reference_layers`]).
    pub fn reference_images(&self) -> Vec<vk::Image> {
        self.references.iter().map(|s| s.image).collect()
    }

    /// Each DPB slot's array layer of its image: all 0 with separate reference images, `0..n`
    /// with one layered image.
    pub fn reference_layers(&self) -> Vec<u32> {
        self.references.iter().map(|s| s.layer).collect()
    }

    /// Bytes of one frame's bitstream region.
    pub fn bitstream_size(&self) -> u64 {
        self.region
    }

    /// Bytes of bitstream room for one coded `width` x `height` 4:2:0 frame: its raw size (an
    /// incompressible picture coded as PCM takes about that) plus room for headers.
    pub fn bitstream_bytes(width: u32, height: u32) -> u64 {
        u64::from(width) * u64::from(height) * 3 / 2 + 64 * 1024
    }
}

/// Regions of the bitstream buffer start at multiples of this: above any
/// `minBitstreamBufferOffsetAlignment` a driver reports (powers of two, at most a page in the
/// drivers' public capability reports).
const BITSTREAM_REGION_ALIGNMENT: u64 = 4096;

/// An encode session with its parameters.
pub struct EncodeSession {
    ctx: Arc<GpuContext>,
    pub(super) queue: ash::khr::video_queue::Device,
    pub(super) encode: ash::khr::video_encode_queue::Device,
    pub(super) session: vk::VideoSessionKHR,
    pub(super) parameters: vk::VideoSessionParametersKHR,
    memory: Vec<vk::DeviceMemory>,
    /// The coded picture size (whole macroblocks, or whole minimum coding blocks).
    pub(super) extent: vk::Extent2D,
    /// The codec and profile.
    pub(super) profile: Profile,
    /// The quality level and use it was made for.
    pub(super) hints: EncodeHints,
    /// Bits a sample.
    pub(super) depth: BitDepth,
}

impl std::fmt::Debug for EncodeSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodeSession")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl EncodeSession {
    /// A session for `params`' pictures on `ctx`'s video-encode queue (one reference picture,
    /// two DPB slots), its memory bound and its parameters made, with the default
    /// [`EncodeHints`].
    pub fn new(ctx: &Arc<GpuContext>, params: SessionParameters<'_>) -> Result<Self, GpuError> {
        Self::with_hints(ctx, params, EncodeHints::default())
    }

    /// As [`Self::new`], for `hints`' quality level and use.
    pub fn with_hints(
        ctx: &Arc<GpuContext>,
        params: SessionParameters<'_>,
        hints: EncodeHints,
    ) -> Result<Self, GpuError> {
        let depth = params.depth()?;
        let (profile, extent, operation, name) = match params {
            SessionParameters::H264(p) => (
                Profile::H264(p.sps.profile_idc),
                vk::Extent2D {
                    width: (p.sps.pic_width_in_mbs_minus1 + 1) * 16,
                    height: (p.sps.pic_height_in_map_units_minus1 + 1) * 16,
                },
                vk::VideoCodecOperationFlagsKHR::ENCODE_H264,
                "H.264",
            ),
            SessionParameters::H265(p) => (
                Profile::H265(p.profile_tier_level.general_profile_idc),
                vk::Extent2D {
                    width: p.sps.pic_width_in_luma_samples,
                    height: p.sps.pic_height_in_luma_samples,
                },
                vk::VideoCodecOperationFlagsKHR::ENCODE_H265,
                "H.265",
            ),
            SessionParameters::Av1(p) => (
                Profile::Av1(p.sequence.seq_profile),
                vk::Extent2D {
                    width: p.width(),
                    height: p.height(),
                },
                av1::VIDEO_CODEC_OPERATION_ENCODE_AV1,
                "AV1",
            ),
        };
        let (family, operations) =
            ctx.video_encode_family()
                .ok_or_else(|| GpuError::Unsupported {
                    what: format!("{name} encode with Vulkan Video"),
                    reason: format!(
                        "{} has no video-encode queue (VK_KHR_video_encode_queue)",
                        ctx.device_info().name
                    ),
                })?;
        if !operations.contains(operation) {
            return Err(GpuError::Unsupported {
                what: format!("{name} encode with Vulkan Video"),
                reason: format!(
                    "{}'s video-encode queue does not encode {name}",
                    ctx.device_info().name
                ),
            });
        }
        let d = &ctx.device;
        let queue = ash::khr::video_queue::Device::new(&ctx.instance, d);
        let encode = ash::khr::video_encode_queue::Device::new(&ctx.instance, d);
        let mut this = Self {
            ctx: Arc::clone(ctx),
            queue,
            encode,
            session: vk::VideoSessionKHR::null(),
            parameters: vk::VideoSessionParametersKHR::null(),
            memory: Vec::new(),
            extent,
            profile,
            hints,
            depth,
        };
        let mut parts = ProfileParts::default();
        let profile_info = this.profile_info(&mut parts);
        let header = std_header(profile.codec());
        // AV1: the session is made for the level the sequence header names, no higher.
        let mut av1_session = match params {
            SessionParameters::Av1(p) => Some(VideoEncodeAV1SessionCreateInfoKHR {
                use_max_level: vk::TRUE,
                max_level: ash::vk::native::StdVideoAV1Level::from(p.level_idx),
                ..Default::default()
            }),
            _ => None,
        };
        let info = vk::VideoSessionCreateInfoKHR::default()
            .queue_family_index(family)
            .video_profile(&profile_info)
            .picture_format(picture_format(depth))
            .max_coded_extent(extent)
            .reference_picture_format(picture_format(depth))
            .max_dpb_slots(hints.dpb_slots())
            .max_active_reference_pictures(hints.active_references())
            .std_header_version(&header);
        let info = match av1_session.as_mut() {
            Some(av1) => info.push_next(av1),
            None => info,
        };
        let mut refresh = VideoEncodeSessionIntraRefreshCreateInfoKHR {
            intra_refresh_mode: hints.intra_refresh,
            ..Default::default()
        };
        let info = if hints.intra_refresh == VideoEncodeIntraRefreshModeFlagsKHR::NONE {
            info
        } else {
            info.push_next(&mut refresh)
        };
        let fp = this.queue.fp().clone();
        // SAFETY: the create info and its chain live for the call; the function was loaded from
        // this device; the session is destroyed in Drop.
        let result = unsafe {
            (fp.create_video_session_khr)(
                d.handle(),
                &raw const info,
                std::ptr::null(),
                &raw mut this.session,
            )
        };
        result
            .result()
            .map_err(GpuError::vk("vkCreateVideoSessionKHR"))?;
        this.bind_memory()?;
        let mut quality =
            vk::VideoEncodeQualityLevelInfoKHR::default().quality_level(hints.quality_level);
        let create = vk::VideoSessionParametersCreateInfoKHR::default()
            .video_session(this.session)
            .push_next(&mut quality);
        let (h264_add, h265_add) = match params {
            SessionParameters::H264(p) => (Some(p.add_info()), None),
            SessionParameters::H265(p) => (None, Some(p.add_info())),
            SessionParameters::Av1(_) => (None, None),
        };
        let mut av1_create = match params {
            SessionParameters::Av1(p) => Some(p.create_info()),
            _ => None,
        };
        let mut h264_create = h264_add.as_ref().map(|add| {
            vk::VideoEncodeH264SessionParametersCreateInfoKHR::default()
                .max_std_sps_count(1)
                .max_std_pps_count(1)
                .parameters_add_info(add)
        });
        let mut h265_create = h265_add.as_ref().map(|add| {
            vk::VideoEncodeH265SessionParametersCreateInfoKHR::default()
                .max_std_vps_count(1)
                .max_std_sps_count(1)
                .max_std_pps_count(1)
                .parameters_add_info(add)
        });
        let create = match (
            h264_create.as_mut(),
            h265_create.as_mut(),
            av1_create.as_mut(),
        ) {
            (Some(c), _, _) => create.push_next(c),
            (_, Some(c), _) => create.push_next(c),
            (_, _, Some(c)) => create.push_next(c),
            _ => create,
        };
        // SAFETY: as above; the parameter sets (and what the SPS points at) live in `params`
        // for the call.
        let result = unsafe {
            (fp.create_video_session_parameters_khr)(
                d.handle(),
                &raw const create,
                std::ptr::null(),
                &raw mut this.parameters,
            )
        };
        result
            .result()
            .map_err(GpuError::vk("vkCreateVideoSessionParametersKHR"))?;
        Ok(this)
    }

    /// Allocates and binds the memory the session asks for (device-local where it may be).
    fn bind_memory(&mut self) -> Result<(), GpuError> {
        let d = &self.ctx.device;
        let fp = self.queue.fp();
        let mut count = 0u32;
        // SAFETY: a count query on the live session.
        let result = unsafe {
            (fp.get_video_session_memory_requirements_khr)(
                d.handle(),
                self.session,
                &raw mut count,
                std::ptr::null_mut(),
            )
        };
        result
            .result()
            .map_err(GpuError::vk("vkGetVideoSessionMemoryRequirementsKHR"))?;
        let mut requirements =
            vec![vk::VideoSessionMemoryRequirementsKHR::default(); count as usize];
        // SAFETY: `requirements` has room for `count` entries.
        let result = unsafe {
            (fp.get_video_session_memory_requirements_khr)(
                d.handle(),
                self.session,
                &raw mut count,
                requirements.as_mut_ptr(),
            )
        };
        result
            .result()
            .map_err(GpuError::vk("vkGetVideoSessionMemoryRequirementsKHR"))?;
        requirements.truncate(count as usize);
        // SAFETY: a plain query on the context's physical device.
        let types = unsafe {
            self.ctx
                .instance
                .get_physical_device_memory_properties(self.ctx.physical)
        };
        let mut binds = Vec::new();
        for r in &requirements {
            let req = r.memory_requirements;
            let pick = |want: vk::MemoryPropertyFlags| {
                (0..types.memory_type_count).find(|&i| {
                    req.memory_type_bits & (1 << i) != 0
                        && types.memory_types[i as usize].property_flags.contains(want)
                })
            };
            let index = pick(vk::MemoryPropertyFlags::DEVICE_LOCAL)
                .or_else(|| pick(vk::MemoryPropertyFlags::empty()))
                .ok_or_else(|| GpuError::Allocation {
                    what: format!("video session memory (bind index {})", r.memory_bind_index),
                    reason: format!("no memory type in mask {:#x}", req.memory_type_bits),
                })?;
            let alloc = vk::MemoryAllocateInfo::default()
                .allocation_size(req.size)
                .memory_type_index(index);
            // SAFETY: a plain allocation on the live device, freed in Drop.
            let memory = unsafe { d.allocate_memory(&alloc, None) }
                .map_err(GpuError::vk("vkAllocateMemory"))?;
            self.memory.push(memory);
            binds.push(
                vk::BindVideoSessionMemoryInfoKHR::default()
                    .memory_bind_index(r.memory_bind_index)
                    .memory(memory)
                    .memory_offset(0)
                    .memory_size(req.size),
            );
        }
        if binds.is_empty() {
            return Ok(());
        }
        // SAFETY: each bind names memory allocated above for its own bind index.
        let result = unsafe {
            (fp.bind_video_session_memory_khr)(
                d.handle(),
                self.session,
                u32::try_from(binds.len()).unwrap_or(u32::MAX),
                binds.as_ptr(),
            )
        };
        result
            .result()
            .map_err(GpuError::vk("vkBindVideoSessionMemoryKHR"))
    }

    /// The pictures and bitstream buffer one frame in flight needs, made for this session's
    /// profile and size.
    pub fn pictures(&self) -> Result<EncodePictures, GpuError> {
        self.pictures_in((1, 1), 1)
    }

    /// The pictures and bitstream regions of `frames` frames in flight (and the session's DPB
    /// slots), the images made in whole multiples of `granularity` (the device's picture access
    /// and encode input granularities). The input images are [`PlanarImage`]s (a pass may write
    /// them) where the context stores into images of any format
    /// ([`GpuContext::image_stores`]) and the device offers the picture format for encode input
    /// with STORAGE and `MUTABLE_FORMAT | EXTENDED_USAGE` (asked with exactly the usage they
    /// are made with); plain images otherwise.
    pub fn pictures_in(
        &self,
        granularity: (u32, u32),
        frames: usize,
    ) -> Result<EncodePictures, GpuError> {
        let round = |n: u32, g: u32| n.div_ceil(g.max(1)).saturating_mul(g.max(1));
        let (w, h) = (
            round(self.extent.width, granularity.0),
            round(self.extent.height, granularity.1),
        );
        // The device must offer the picture format for both uses (the answer names what it
        // offers instead).
        let formats = picture_formats(
            &self.ctx,
            self.profile.codec(),
            self.depth,
            self.hints.tuning,
        )?;
        let mut parts = ProfileParts::default();
        let profiles = [self.profile_info(&mut parts)];
        let mut list = vk::VideoProfileListInfoKHR::default().profiles(&profiles);
        let frames = frames.max(1);
        let encode_family = self.ctx.video_encode_family().map(|(f, _)| f);
        let direct = match encode_family {
            Some(family) if self.ctx.image_stores() => direct_input_format(
                &self.ctx,
                self.profile.codec(),
                self.depth,
                self.hints.tuning,
            )
            .filter(|c| c.format == formats.input.format)
            .map(|_| PictureConsumer {
                family,
                layout: vk::ImageLayout::VIDEO_ENCODE_SRC_KHR,
            }),
            _ => None,
        };
        let picture = match self.depth {
            BitDepth::Ten => PixelFormat::P010,
            BitDepth::Eight => PixelFormat::Nv12,
        };
        let usage = vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR | vk::ImageUsageFlags::TRANSFER_DST;
        let inputs = (0..frames)
            .map(|i| {
                let name = format!("encode input {i}");
                match direct {
                    // STORAGE and the view flags are added by the planar image.
                    Some(consumer) => PlanarImage::with_profiles(
                        &self.ctx,
                        &name,
                        picture,
                        (w, h),
                        usage,
                        Some(&mut list),
                        consumer,
                    )
                    .map(|p| InputImage::Planar(Arc::new(p))),
                    None => GpuImage::for_video(
                        &self.ctx,
                        &name,
                        formats.input.format,
                        (w, h),
                        usage,
                        Some(&mut list),
                    )
                    .map(InputImage::Plain),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        // A device without SEPARATE_REFERENCE_IMAGES needs every reference picture of the
        // session in one image (VUID-VkVideoBeginCodingInfoKHR-flags-07244): one image with a
        // layer per slot, each slot's picture resource naming its layer of the array view.
        let slots = self.hints.dpb_slots();
        let dpb = if formats.separate_reference_images {
            (0..slots)
                .map(|i| {
                    GpuImage::for_video(
                        &self.ctx,
                        &format!("reference picture {i}"),
                        formats.dpb.format,
                        (w, h),
                        vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR,
                        Some(&mut list),
                    )
                })
                .collect::<Result<Vec<_>, _>>()?
        } else {
            self.check_dpb_layers(formats.dpb.format, slots, &mut list)?;
            vec![GpuImage::layered_for_video(
                &self.ctx,
                "reference pictures",
                formats.dpb.format,
                (w, h),
                slots,
                vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR,
                Some(&mut list),
            )?]
        };
        let references = (0..slots)
            .map(|i| {
                let (image, layer) = if formats.separate_reference_images {
                    (&dpb[i as usize], 0)
                } else {
                    (&dpb[0], i)
                };
                DpbSlot {
                    image: image.image,
                    view: image.view,
                    layer,
                }
            })
            .collect();
        // PCM-like worst cases take the raw size: twice as many bytes at 10 bits.
        let region = (EncodePictures::bitstream_bytes(w, h)
            * if self.depth == BitDepth::Ten { 2 } else { 1 })
        .next_multiple_of(BITSTREAM_REGION_ALIGNMENT);
        let bitstream = GpuBuffer::for_video(
            &self.ctx,
            "bitstream",
            region * frames as u64,
            vk::BufferUsageFlags::VIDEO_ENCODE_DST_KHR,
            MemoryLocation::GpuToCpu,
            Some(&mut list),
        )?;
        Ok(EncodePictures {
            inputs,
            dpb,
            references,
            bitstream,
            region,
        })
    }

    /// Checks that the device makes `format` reference pictures (`VIDEO_ENCODE_DPB`, optimal
    /// tiling, for the profiles in `list`) with `layers` array layers
    /// (`VkImageFormatProperties::maxArrayLayers`, VUID-VkImageCreateInfo-arrayLayers-02256):
    /// the layered DPB of a device without separate reference images. The error names the
    /// device and its limit.
    fn check_dpb_layers(
        &self,
        format: vk::Format,
        layers: u32,
        list: &mut vk::VideoProfileListInfoKHR<'_>,
    ) -> Result<(), GpuError> {
        let info = vk::PhysicalDeviceImageFormatInfo2::default()
            .format(format)
            .ty(vk::ImageType::TYPE_2D)
            .tiling(vk::ImageTiling::OPTIMAL)
            .usage(vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR)
            .push_next(list);
        let mut props = vk::ImageFormatProperties2::default();
        // SAFETY: a valid physical device; the info's chain (the profile list) outlives the call.
        let result = unsafe {
            self.ctx
                .instance
                .get_physical_device_image_format_properties2(self.ctx.physical, &info, &mut props)
        };
        let what = || format!("make a {layers}-layer decoded picture buffer image");
        let device = &self.ctx.device_info().name;
        result.map_err(|e| GpuError::Unsupported {
            what: what(),
            reason: format!("{device} refuses {format:?} reference pictures ({e:?})"),
        })?;
        let max = props.image_format_properties.max_array_layers;
        if max < layers {
            return Err(GpuError::Unsupported {
                what: what(),
                reason: format!(
                    "{device} keeps reference pictures in one image (no VK_VIDEO_CAPABILITY_SEPARATE_REFERENCE_IMAGES_BIT_KHR) and makes {format:?} reference pictures with at most {max} array layers"
                ),
            });
        }
        Ok(())
    }

    /// The session's profile as its pictures, bitstream buffers and queries name it (the codec's
    /// profile and the usage hints), its parts living in `parts`.
    pub(super) fn profile_info<'p>(
        &self,
        parts: &'p mut ProfileParts,
    ) -> vk::VideoProfileInfoKHR<'p> {
        parts.usage = self.hints.usage();
        let ProfileParts {
            h264,
            h265,
            av1,
            usage,
        } = parts;
        let bits = super::caps::component_depth(self.depth);
        let info = vk::VideoProfileInfoKHR::default()
            .chroma_subsampling(vk::VideoChromaSubsamplingFlagsKHR::TYPE_420)
            .luma_bit_depth(bits)
            .chroma_bit_depth(bits)
            .push_next(usage);
        match self.profile {
            Profile::H264(idc) => {
                *h264 = h264.std_profile_idc(idc);
                info.video_codec_operation(vk::VideoCodecOperationFlagsKHR::ENCODE_H264)
                    .push_next(h264)
            }
            Profile::H265(idc) => {
                *h265 = h265.std_profile_idc(idc);
                info.video_codec_operation(vk::VideoCodecOperationFlagsKHR::ENCODE_H265)
                    .push_next(h265)
            }
            Profile::Av1(profile) => {
                av1.std_profile = profile;
                info.video_codec_operation(av1::VIDEO_CODEC_OPERATION_ENCODE_AV1)
                    .push_next(av1)
            }
        }
    }

    /// The (VPS,) SPS and PPS as the driver encodes them (Annex-B NAL units), or the AV1
    /// sequence header OBU: the start of the stream.
    pub fn encoded_parameters(&self) -> Result<Vec<u8>, GpuError> {
        let d = &self.ctx.device;
        let fp = self.encode.fp();
        let mut h264_get = vk::VideoEncodeH264SessionParametersGetInfoKHR::default()
            .write_std_sps(true)
            .write_std_pps(true)
            .std_sps_id(0)
            .std_pps_id(0);
        let mut h265_get = vk::VideoEncodeH265SessionParametersGetInfoKHR::default()
            .write_std_vps(true)
            .write_std_sps(true)
            .write_std_pps(true)
            .std_vps_id(0)
            .std_sps_id(0)
            .std_pps_id(0);
        let get = vk::VideoEncodeSessionParametersGetInfoKHR::default()
            .video_session_parameters(self.parameters);
        // AV1 parameters hold one sequence header: nothing to choose.
        let get = match self.profile {
            Profile::H264(_) => get.push_next(&mut h264_get),
            Profile::H265(_) => get.push_next(&mut h265_get),
            Profile::Av1(_) => get,
        };
        let mut size = 0usize;
        // SAFETY: a size query with a null data pointer, as the specification allows.
        let result = unsafe {
            (fp.get_encoded_video_session_parameters_khr)(
                d.handle(),
                &raw const get,
                std::ptr::null_mut(),
                &raw mut size,
                std::ptr::null_mut(),
            )
        };
        result
            .result()
            .map_err(GpuError::vk("vkGetEncodedVideoSessionParametersKHR"))?;
        let mut data = vec![0u8; size];
        // SAFETY: `data` holds `size` bytes.
        let result = unsafe {
            (fp.get_encoded_video_session_parameters_khr)(
                d.handle(),
                &raw const get,
                std::ptr::null_mut(),
                &raw mut size,
                data.as_mut_ptr().cast(),
            )
        };
        result
            .result()
            .map_err(GpuError::vk("vkGetEncodedVideoSessionParametersKHR"))?;
        data.truncate(size);
        Ok(data)
    }
}

impl Drop for EncodeSession {
    fn drop(&mut self) {
        let d = &self.ctx.device;
        let fp = self.queue.fp();
        // SAFETY: the encoder that records with the session waits for its last submission
        // before dropping it; the null handles of a failed construction are skipped.
        unsafe {
            if self.parameters != vk::VideoSessionParametersKHR::null() {
                (fp.destroy_video_session_parameters_khr)(
                    d.handle(),
                    self.parameters,
                    std::ptr::null(),
                );
            }
            if self.session != vk::VideoSessionKHR::null() {
                (fp.destroy_video_session_khr)(d.handle(), self.session, std::ptr::null());
            }
            for m in self.memory.drain(..) {
                d.free_memory(m, None);
            }
        }
    }
}
