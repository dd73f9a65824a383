//! A pipelined RGB → YUV conversion ring for the session: a ring of slots, each with its own
//! upload buffer, image, output, read-back buffer, descriptor set, command buffer, fence and
//! timestamps, so that several frames are in flight and the CPU never waits on the frame it
//! just submitted.
//!
//! `submit` records and submits frame N into the next free slot; when the ring is full it first
//! collects the oldest slot's result (frame N - depth). A caller that wants each frame as soon
//! as its pass is done (a low-latency session) asks after every submit for the passes that
//! have completed ([`try_collect`](ConvertRing::try_collect), which does not wait) and, when it
//! has no next frame to submit, waits for the oldest ([`wait_oldest`](ConvertRing::wait_oldest));
//! the ring still lets several frames be in flight while more are queued. Results come out in
//! submission order.
//!
//! A ring built [`with_handoff`](ConvertRing::with_handoff) writes each frame into one of
//! the caller's exportable buffers instead, with no read-back: frame n's submission signals the
//! `ready` timeline to n + 1, and the next conversion into the same buffer waits on the GPU until
//! the consumer (CUDA, NVENC) has signalled `released` to that frame's n + 1. Frame n goes into
//! buffer n mod (number of buffers): the buffers are as many as the consumer holds at once (an
//! encoder with lookahead holds many), independent of the slots (frames in flight on the Vulkan
//! queue). The CPU never waits for the consumer; only when the consumer falls a whole ring of
//! buffers behind does a slot's fence hold the next submission back.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use ash::vk;
use gpu_allocator::MemoryLocation;

use super::commands::{
    begin_one_time, buffer_barrier, command_buffers, end_and_submit_synced, image_transfer_barrier,
    queue_has_timestamps, read_gpu_time_at, record_readback, record_upload, wait_and_reset,
    wait_timeline, GpuTime,
};
use super::conv::color_range;
use super::convert::{ConvertInput, RgbToYuv420};
use super::dmabuf::{DmaBuf, DmaBufImage};
use super::interop::{ExportableBuffer, ExportableTimeline};
#[cfg(any(feature = "test-support", feature = "bench"))]
use super::pass::FusedStages;
use super::pass::{PassOutput, ProcessingPass, ALL_STAGES};
use super::pipeline::{write_descriptors, Descriptor};
use super::planar::PlanarImage;
use super::pointer::PointerPass;
use super::resources::{GpuBuffer, GpuImage};
use super::{GpuContext, GpuError};
use crate::format::{PixelFormat, PlaneGeometry};
use crate::frame::{BufferPool, CpuImage, PlaneLayout};
use crate::frame::{DmaBufFrame, DmaBufKey, GpuFrame, PointerOverlay};
use crate::processing::convert::YuvLayout;
use crate::processing::pipeline::ProcessSpec;

/// The pass a ring runs: the plain conversion shader when only a 4:2:0 conversion is asked
/// for (it is the fastest), the fused pass otherwise.
enum Pass {
    Convert {
        conv: RgbToYuv420,
        params: Vec<u8>,
        groups: (u32, u32),
        /// CPU uploads read as a buffer (no copy into an image; on the H200 the buffer-input
        /// pass takes half the image-input one's time): straight from the staging buffer where
        /// the device reads host memory as its own (a CPU or integrated device), else from a
        /// device-local copy of it. The input description and that pipeline's push constants.
        upload_input: Option<Box<(ConvertInput, Vec<u8>)>>,
    },
    Process(Box<ProcessingPass>),
}

impl Pass {
    /// With `buffer_input`, CPU uploads are read from their buffer where the pass has a
    /// buffer-input pipeline for the plan; else they are copied into an image.
    fn new(
        ctx: &Arc<GpuContext>,
        input: PixelFormat,
        spec: &ProcessSpec,
        stages: u32,
        buffer_input: bool,
        image_output: bool,
    ) -> Result<Self, GpuError> {
        // Only the fused pass stores into picture images: a plain conversion takes it too then.
        if image_output || !spec.is_convert_only() || !input.is_rgb() {
            return Ok(Pass::Process(Box::new(ProcessingPass::new(
                ctx,
                spec,
                input,
                stages,
                buffer_input,
                image_output,
            )?)));
        }
        let (w, h) = (spec.output_width, spec.output_height);
        super::convert::check_request(ctx, spec.convert.output, w, h)?;
        let conv = RgbToYuv420::new(ctx)?;
        let layout = YuvLayout::new(spec.convert.output, w, h);
        let params = conv.params_bytes(w, h, &spec.convert, &layout, ConvertInput::Image);
        let upload_input = match ConvertInput::rgb8_buffer(input, w, 4) {
            Some(buffer)
                if buffer_input
                    && (w, h) == (spec.input_width, spec.input_height)
                    && buffer.fits(ctx, h) =>
            {
                let (_, bytes) = conv.pipeline_for(w, h, &spec.convert, &layout, buffer)?;
                Some(Box::new((buffer, bytes)))
            }
            _ => None,
        };
        Ok(Pass::Convert {
            conv,
            params,
            groups: (w.div_ceil(8).div_ceil(8), h.div_ceil(2).div_ceil(8)),
            upload_input,
        })
    }

    /// The pipeline and push constants a CPU upload is read with from its staging buffer, and
    /// `sets` descriptor sets of that pipeline's layout; `None` where uploads go through an
    /// image.
    fn upload_sets(
        &self,
        sets: u32,
        spec: &ProcessSpec,
    ) -> Result<Option<(vk::DescriptorPool, Vec<vk::DescriptorSet>)>, GpuError> {
        match self {
            Pass::Convert {
                conv,
                upload_input: Some(upload),
                ..
            } => {
                let (w, h) = (spec.output_width, spec.output_height);
                let layout = YuvLayout::new(spec.convert.output, w, h);
                let pipe = conv.specialized(&layout, spec.convert.siting, upload.0)?;
                pipe.descriptor_sets(sets).map(Some)
            }
            Pass::Process(p) => p.buffer_descriptor_sets(sets),
            Pass::Convert { .. } => Ok(None),
        }
    }

    /// The descriptors of an upload set that reads the upload in `input` and writes `output`.
    fn upload_descriptors(&self, input: vk::Buffer, output: vk::Buffer) -> Vec<Descriptor> {
        match self {
            Pass::Process(p) => p.buffer_descriptors(input, output),
            Pass::Convert { .. } => vec![
                Descriptor::StorageBuffer(input),
                Descriptor::StorageBuffer(output),
            ],
        }
    }

    fn descriptor_sets(
        &self,
        sets: u32,
    ) -> Result<(vk::DescriptorPool, Vec<vk::DescriptorSet>), GpuError> {
        match self {
            Pass::Convert { conv, .. } => conv.descriptor_sets(sets),
            Pass::Process(p) => p.descriptor_sets(sets),
        }
    }

    /// The descriptors of a set that reads `input` and writes `output` (plane views only for a
    /// fused pass made with `image_output`, which is the only pass an image ring builds).
    fn descriptors(&self, input: vk::ImageView, output: PassOutput) -> Vec<Descriptor> {
        match (self, output) {
            (Pass::Process(p), _) => p.descriptors(input, output),
            (Pass::Convert { conv, .. }, PassOutput::Buffer(output)) => vec![
                Descriptor::SampledImage(conv.sampler(), input),
                Descriptor::StorageBuffer(output),
            ],
            (Pass::Convert { conv, .. }, PassOutput::Planes(_)) => {
                vec![Descriptor::SampledImage(conv.sampler(), input)]
            }
        }
    }

    /// # Safety
    /// As [`ProcessingPass::record`].
    unsafe fn record(
        &self,
        d: &ash::Device,
        cmd: vk::CommandBuffer,
        set: vk::DescriptorSet,
        n: u64,
    ) {
        match self {
            Pass::Process(p) => {
                // SAFETY: forwarded from the caller.
                unsafe { p.record(cmd, set, n, false) }
            }
            Pass::Convert {
                conv,
                params,
                groups,
                ..
            } => {
                // SAFETY: forwarded from the caller; the pipeline lives as long as the pass.
                unsafe {
                    conv.pipeline()
                        .record_dispatch(d, cmd, set, params, *groups)
                }
            }
        }
    }
}

/// A read-back ring slot's own output: the buffer its pass writes, copied to a host-visible
/// one for the CPU.
struct OwnOutput {
    output: GpuBuffer,
    readback: GpuBuffer,
}

/// The most hand-off buffers a ring takes.
pub const MAX_HANDOFF_BUFFERS: usize = 64;

/// The buffers and timelines a ring hands its frames over with (see the module docs).
#[derive(Clone, Debug)]
pub struct GpuHandoff {
    /// The buffers frames are written into in rotation (1 to `MAX_HANDOFF_BUFFERS` (64)), each at
    /// least the layout's size: as many as the consumer may hold at once.
    pub buffers: Vec<Arc<ExportableBuffer>>,
    /// Set to n + 1 when frame n (counted from 0) is written.
    pub ready: Arc<ExportableTimeline>,
    /// Set to n + 1 by the consumer when it has finished reading frame n.
    pub released: Arc<ExportableTimeline>,
}

/// The picture images and timelines a ring hands its frames over with instead of buffers: the
/// pass writes each frame's planes straight into the next image (in rotation), then releases
/// the image to its [`PictureConsumer`](super::PictureConsumer) (queue family and layout).
/// Frame n (from 0) goes into image n mod images; the pass waits for `released` to reach n + 1 - images before writing it
/// (the consumer has finished with the frame before in that image) and signals `ready` = n + 1.
/// The images must be NV12 or P010 as the ring's output, each at least the output's size
/// (beyond it, the picture's last row and column are repeated).
#[derive(Clone, Debug)]
pub struct ImageHandoff {
    /// The images frames are written into in rotation (1 to 64, as for buffers).
    pub images: Vec<Arc<PlanarImage>>,
    /// Set to n + 1 when frame n (counted from 0) is written and released.
    pub ready: Arc<ExportableTimeline>,
    /// Set to n + 1 by the consumer when it has finished reading frame n.
    pub released: Arc<ExportableTimeline>,
}

/// A frame handed over: which buffer or image holds it and the timeline value of its use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandedOff {
    /// Index into [`GpuHandoff::buffers`] (or [`ImageHandoff::images`]).
    pub target: usize,
    /// The consumer waits for `ready` to reach this before reading, and signals `released` to
    /// it when done.
    pub value: u64,
}

struct Slot<T> {
    upload: GpuBuffer,
    /// Where a CPU upload is copied on the device before the buffer-input pass reads it (a
    /// device that does not read host memory as its own); `None` where the pass reads `upload`
    /// itself or uploads go through `image`.
    device_input: Option<GpuBuffer>,
    image: GpuImage,
    /// The view the slot's descriptor set reads: `image.view`, or the view of the application's
    /// image while a [`GpuFrame`] is in the slot (destroyed when the slot is collected).
    bound: vk::ImageView,
    /// What the slot's descriptor set writes: its own output, or the hand-off buffer (or the
    /// plane views of the hand-off image) of the frame in it.
    bound_output: PassOutput,
    /// `None` on a hand-off ring.
    own: Option<OwnOutput>,
    set: vk::DescriptorSet,
    /// The set a CPU upload is read through straight from `upload` (see `Pass::Convert`).
    upload_set: Option<vk::DescriptorSet>,
    /// The output `upload_set` is bound to.
    upload_bound_output: vk::Buffer,
    /// The frame in the slot is read from `upload` through `upload_set`.
    reads_upload: bool,
    cmd: vk::CommandBuffer,
    fence: vk::Fence,
    tag: Option<T>,
    /// Bytes the CPU copied into the slot's upload buffer for the frame in it (0 for a
    /// [`GpuFrame`]).
    uploaded: u64,
    /// A DMA-BUF frame in the slot: held (so its producer does not get the buffer back)
    /// until the slot is collected.
    lease: Option<DmaBufFrame>,
}

/// One converted frame: the image in CPU memory (pitch-linear planes), the caller's tag, and
/// the GPU time of the conversion when the queue has timestamps.
#[derive(Debug)]
pub struct Converted<T> {
    /// The converted frame.
    pub image: CpuImage,
    /// What the caller attached to the frame.
    pub tag: T,
    /// When the conversion pass ran on the GPU (where timed).
    pub gpu: Option<GpuTime>,
    /// Bytes the CPU copied for this frame: its upload into the staging buffer (none for a
    /// [`GpuFrame`]) and the read-back of the converted frame.
    pub cpu_bytes: u64,
}

/// A frame for [`ConvertRing::submit`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum RingFrame<'a> {
    /// In CPU memory: uploaded into the slot's own image.
    Cpu(&'a CpuImage),
    /// Already in a Vulkan image of the ring's device: no upload.
    Gpu {
        /// The frame.
        frame: &'a GpuFrame,
        /// How long the CPU waits for the frame's wait point before it is an error.
        wait_timeout_ns: u64,
    },
    /// In a producer's DMA-BUF: imported into the ring's device (once per buffer) and read
    /// there, with no upload; the frame's lease is held until its pass has completed.
    DmaBuf(&'a DmaBufFrame),
}

impl<'a> From<&'a CpuImage> for RingFrame<'a> {
    fn from(image: &'a CpuImage) -> Self {
        RingFrame::Cpu(image)
    }
}

/// What [`ConvertRing::submit`] answers.
#[derive(Debug)]
#[non_exhaustive]
pub enum Submitted<T> {
    /// A read-back ring that is filling: no result yet.
    Pending,
    /// A read-back ring's oldest frame, collected to make room.
    Converted(Converted<T>),
    /// A hand-off ring's frame: the buffer it goes into and its timeline value.
    HandedOff(HandedOff),
}

impl<T> Submitted<T> {
    /// The converted frame, if this is one.
    pub fn converted(self) -> Option<Converted<T>> {
        match self {
            Submitted::Converted(c) => Some(c),
            _ => None,
        }
    }

    /// The hand-off, if this is one.
    pub fn handed_off(&self) -> Option<HandedOff> {
        match self {
            Submitted::HandedOff(h) => Some(*h),
            _ => None,
        }
    }
}

#[cfg(any(feature = "test-support", feature = "bench"))]
/// GPU time of a ring's pass, measured by [`ConvertRing::benchmark_pass`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PassTiming {
    /// Median GPU time of one dispatch (timestamps), nanoseconds.
    pub gpu_ns: f64,
    /// Median CPU time to record and submit one frame, nanoseconds.
    pub record_submit_ns: f64,
    /// Fewest bytes the pass must move: the input frame read once, every output sample
    /// written once (no row padding).
    pub bytes: u64,
    /// A buffer hand-off ring's copy of the hand-off buffer into a picture image of the
    /// output's format and size (what a Vulkan Video encoder adds on the buffer path), timed
    /// apart; `None` for other rings.
    pub copy: Option<CopyTiming>,
}

#[cfg(any(feature = "test-support", feature = "bench"))]
/// GPU time of a buffer hand-off's copy into a picture image (`vkCmdCopyBufferToImage`),
/// measured by [`ConvertRing::benchmark_pass`] beside the pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CopyTiming {
    /// Median GPU time of one copy (timestamps), nanoseconds.
    pub gpu_ns: f64,
    /// Median CPU time to record and submit one copy, nanoseconds.
    pub record_submit_ns: f64,
    /// Bytes the copy moves: every picture sample read once and written once.
    pub bytes: u64,
}

#[cfg(any(feature = "test-support", feature = "bench"))]
impl PassTiming {
    /// Achieved bandwidth, GB/s.
    pub fn gbps(&self) -> f64 {
        self.bytes as f64 / self.gpu_ns
    }
}

/// The conversion ring.
pub struct ConvertRing<T> {
    ctx: Arc<GpuContext>,
    pass: Pass,
    input: PixelFormat,
    width: u32,
    height: u32,
    layout: YuvLayout,
    pool: vk::DescriptorPool,
    /// The pool of the slots' `upload_set`s (null where uploads go through images).
    upload_pool: vk::DescriptorPool,
    command_pool: vk::CommandPool,
    queries: vk::QueryPool,
    frames: u64,
    poison: Option<u8>,
    slots: Vec<Slot<T>>,
    in_flight: VecDeque<usize>,
    next: usize,
    buffers: Arc<BufferPool>,
    /// The hand-off buffers or images and timelines (a ring built with `with_handoff` or
    /// `with_image_handoff`).
    handoff: Option<Handoff>,
    /// Frames handed over so far.
    handed: u64,
    /// Bytes the CPU copied into an upload buffer for the frame submitted last.
    last_uploaded: u64,
    /// The input's planes (what one upload copies) and the size of the image they are
    /// uploaded into, worked out once instead of for every frame.
    input_planes: Vec<PlaneGeometry>,
    upload_extent: (u32, u32),
    /// Hand-off frames whose pass has completed, with its GPU time, not yet taken.
    finished: Vec<(T, Option<GpuTime>)>,
    /// DMA-BUF buffers imported, by key, for the current generation of the producer's buffers.
    imports: HashMap<DmaBufKey, DmaBufImage>,
    /// The generation `imports` belongs to.
    import_generation: u64,
    /// Imports of earlier generations, kept until no slot in flight may read them.
    retired_imports: Vec<DmaBufImage>,
    /// What the ring converts (the pointer pass is built from it).
    spec: ProcessSpec,
    /// Draws a DMA-BUF frame's pointer over the pass's output; made for the first such frame.
    pointer_pass: Option<PointerPass>,
}

/// How a ring's pass reads CPU uploads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Uploads {
    /// From their buffer where the pass can (straight from the staging buffer where the device
    /// reads host memory as its own, else from a device-local copy), else through an image.
    Auto,
    /// As `Auto`, always through a device-local copy (the discrete-GPU route, on any device).
    Copied,
    /// Through an image, always.
    Image,
}

/// How long collecting a slot may wait before it is a timeout error.
const WAIT_NS: u64 = 5_000_000_000;

impl<T> ConvertRing<T> {
    /// A ring processing frames of `input` (RGBA8, BGRA8, RGB10A2 or RGBA16F) as `spec`
    /// says, with `depth` frames in flight (1 to 8).
    pub fn new(
        ctx: &Arc<GpuContext>,
        input: PixelFormat,
        spec: &ProcessSpec,
        depth: usize,
    ) -> Result<Self, GpuError> {
        Self::own_outputs(ctx, input, spec, depth, Uploads::Auto, ALL_STAGES)
    }

    #[cfg(any(feature = "test-support", feature = "bench"))]
    /// As [`new`](Self::new), with the fused pass cut after `stages` (a benchmark's breakdown of
    /// its time: the output is not a picture unless every stage runs). A benchmark harness
    /// (feature `test-support`).
    pub fn with_fused_stages(
        ctx: &Arc<GpuContext>,
        input: PixelFormat,
        spec: &ProcessSpec,
        depth: usize,
        stages: FusedStages,
    ) -> Result<Self, GpuError> {
        Self::own_outputs(ctx, input, spec, depth, Uploads::Image, stages as u32)
    }

    #[cfg(feature = "test-support")]
    /// As [`new`](Self::new), CPU uploads read by the buffer-input pass copied into a
    /// device-local buffer first even on a device that reads host memory as its own (the
    /// discrete-GPU route, to test it on any device; feature `test-support`).
    pub fn copying_uploads(
        ctx: &Arc<GpuContext>,
        input: PixelFormat,
        spec: &ProcessSpec,
        depth: usize,
    ) -> Result<Self, GpuError> {
        Self::own_outputs(ctx, input, spec, depth, Uploads::Copied, ALL_STAGES)
    }

    #[cfg(any(feature = "test-support", feature = "bench"))]
    /// As [`new`](Self::new), CPU uploads copied into an image and sampled from it, as
    /// application and DMA-BUF frames are (the image pass, timed and tested beside the
    /// buffer pass; feature `test-support`).
    pub fn image_uploads(
        ctx: &Arc<GpuContext>,
        input: PixelFormat,
        spec: &ProcessSpec,
        depth: usize,
    ) -> Result<Self, GpuError> {
        Self::own_outputs(ctx, input, spec, depth, Uploads::Image, ALL_STAGES)
    }

    /// A ring that hands its frames to another API in `handoff`'s buffers (in rotation)
    /// instead of reading them back, with `depth` frames in flight on the queue (1 to 8); each
    /// [`submit`](Self::submit) answers [`Submitted::HandedOff`]. Every buffer must hold the
    /// layout's size. Before the ring is dropped, the consumer must have released every frame
    /// handed to it (or the owner signals `released` past the last one).
    pub fn with_handoff(
        ctx: &Arc<GpuContext>,
        input: PixelFormat,
        spec: &ProcessSpec,
        handoff: GpuHandoff,
        depth: usize,
    ) -> Result<Self, GpuError> {
        let handoff = Handoff::Buffers(handoff);
        Self::handing_off(ctx, input, spec, handoff, depth, Uploads::Auto)
    }

    /// As [`with_handoff`](Self::with_handoff), writing each frame's planes straight into the
    /// next of `handoff`'s picture images (see [`ImageHandoff`]): no buffer and no copy between
    /// the pass and the image's reader (an encoder's input image). Frames are processed by the
    /// fused pass (a plain conversion too), CPU uploads through an image; a DMA-BUF frame's
    /// pointer is drawn into the image's planes. Needs [`GpuContext::image_stores`].
    pub fn with_image_handoff(
        ctx: &Arc<GpuContext>,
        input: PixelFormat,
        spec: &ProcessSpec,
        handoff: ImageHandoff,
        depth: usize,
    ) -> Result<Self, GpuError> {
        let handoff = Handoff::Images(handoff);
        Self::handing_off(ctx, input, spec, handoff, depth, Uploads::Image)
    }

    #[cfg(any(feature = "test-support", feature = "bench"))]
    /// As [`for_handoff`](Self::for_handoff), CPU uploads copied into an image and sampled
    /// from it whatever the hand-off (an image hand-off's always are): the route capture and
    /// application frames take on both, so that [`benchmark_pass`](Self::benchmark_pass) on a
    /// ring of each kind compares where the pass writes, not how it reads (a benchmark
    /// harness, feature `test-support`).
    pub fn for_handoff_image_uploads(
        ctx: &Arc<GpuContext>,
        input: PixelFormat,
        spec: &ProcessSpec,
        handoff: Handoff,
        depth: usize,
    ) -> Result<Self, GpuError> {
        Self::handing_off(ctx, input, spec, handoff, depth, Uploads::Image)
    }

    /// A hand-off ring, its targets checked; an image hand-off's CPU uploads go through an
    /// image whatever `uploads` says (the fused pass into picture images reads no buffer).
    fn handing_off(
        ctx: &Arc<GpuContext>,
        input: PixelFormat,
        spec: &ProcessSpec,
        handoff: Handoff,
        depth: usize,
        uploads: Uploads,
    ) -> Result<Self, GpuError> {
        let uploads = match &handoff {
            Handoff::Buffers(buffers) => {
                let (w, h) = (spec.output_width, spec.output_height);
                check_handoff(ctx, buffers, &YuvLayout::new(spec.convert.output, w, h))?;
                uploads
            }
            Handoff::Images(images) => {
                check_image_handoff(ctx, images, spec)?;
                Uploads::Image
            }
        };
        let depth = depth.clamp(1, 8);
        Self::build(ctx, input, spec, depth, Some(handoff), uploads, ALL_STAGES)
    }

    /// A ring that reads its frames back (no hand-off), `depth` clamped to 1..=8.
    fn own_outputs(
        ctx: &Arc<GpuContext>,
        input: PixelFormat,
        spec: &ProcessSpec,
        depth: usize,
        uploads: Uploads,
        stages: u32,
    ) -> Result<Self, GpuError> {
        Self::build(ctx, input, spec, depth.clamp(1, 8), None, uploads, stages)
    }

    fn build(
        ctx: &Arc<GpuContext>,
        input: PixelFormat,
        spec: &ProcessSpec,
        depth: usize,
        handoff: Option<Handoff>,
        uploads: Uploads,
        stages: u32,
    ) -> Result<Self, GpuError> {
        let (width, height) = (spec.input_width, spec.input_height);
        let (vk_format, image_w, image_h) = super::conv::upload_image(input, width, height)?;
        let image_output = matches!(handoff, Some(Handoff::Images(_)));
        let pass = Pass::new(
            ctx,
            input,
            spec,
            stages,
            uploads != Uploads::Image,
            image_output,
        )?;
        let layout = YuvLayout::new(spec.convert.output, spec.output_width, spec.output_height);
        let d = &ctx.device;
        let mut this = Self {
            ctx: Arc::clone(ctx),
            pass,
            input,
            width,
            height,
            layout,
            frames: 0,
            poison: None,
            pool: vk::DescriptorPool::null(),
            upload_pool: vk::DescriptorPool::null(),
            command_pool: vk::CommandPool::null(),
            queries: vk::QueryPool::null(),
            slots: Vec::with_capacity(depth),
            in_flight: VecDeque::new(),
            next: 0,
            buffers: BufferPool::new(),
            handoff: None,
            handed: 0,
            last_uploaded: 0,
            input_planes: input.planes(width, height),
            upload_extent: (image_w, image_h),
            finished: Vec::new(),
            imports: HashMap::new(),
            import_generation: 0,
            retired_imports: Vec::new(),
            spec: *spec,
            pointer_pass: None,
        };
        let (pool, sets) = this.pass.descriptor_sets(super::vk_u32(depth))?;
        this.pool = pool;
        let upload_sets = match this.pass.upload_sets(super::vk_u32(depth), spec)? {
            Some((pool, sets)) => {
                this.upload_pool = pool;
                Some(sets)
            }
            None => None,
        };
        let (command_pool, cmds) = command_buffers(ctx, super::vk_u32(depth))?;
        this.command_pool = command_pool;
        // SAFETY: valid device; the create info lives for the call; Drop destroys the pool.
        unsafe {
            if queue_has_timestamps(ctx) {
                this.queries = d
                    .create_query_pool(
                        &vk::QueryPoolCreateInfo::default()
                            .query_type(vk::QueryType::TIMESTAMP)
                            .query_count(2 * super::vk_u32(depth)),
                        None,
                    )
                    .map_err(GpuError::vk("vkCreateQueryPool"))?;
            }
        }
        let in_bytes = input.frame_bytes(width, height) as u64;
        // A buffer-input pass on a device that does not read host memory as its own reads a
        // device-local copy of the upload.
        let shares_memory = matches!(ctx.device_info().kind.as_str(), "cpu" | "integrated");
        let copy_uploads = upload_sets.is_some() && (!shares_memory || uploads == Uploads::Copied);
        let storage = vk::BufferUsageFlags::STORAGE_BUFFER
            | vk::BufferUsageFlags::TRANSFER_SRC
            | vk::BufferUsageFlags::TRANSFER_DST;
        for i in 0..depth {
            let image_usage = vk::ImageUsageFlags::SAMPLED | vk::ImageUsageFlags::TRANSFER_DST;
            let image = GpuImage::new(ctx, "ring input", vk_format, image_w, image_h, image_usage)?;
            let upload_usage = if upload_sets.is_some() && !copy_uploads {
                vk::BufferUsageFlags::TRANSFER_SRC | vk::BufferUsageFlags::STORAGE_BUFFER
            } else {
                vk::BufferUsageFlags::TRANSFER_SRC
            };
            let device_input = if copy_uploads {
                Some(GpuBuffer::new(
                    ctx,
                    "ring input buffer",
                    in_bytes,
                    vk::BufferUsageFlags::STORAGE_BUFFER | vk::BufferUsageFlags::TRANSFER_DST,
                    MemoryLocation::GpuOnly,
                )?)
            } else {
                None
            };
            let upload = GpuBuffer::new(
                ctx,
                "ring upload",
                in_bytes,
                upload_usage,
                MemoryLocation::CpuToGpu,
            )?;
            let (own, output) = match &handoff {
                Some(h) => (None, h.output(i)),
                None => {
                    let own = OwnOutput {
                        output: GpuBuffer::new(
                            ctx,
                            "ring output",
                            u64::from(layout.size),
                            storage,
                            MemoryLocation::GpuOnly,
                        )?,
                        readback: GpuBuffer::new(
                            ctx,
                            "ring readback",
                            u64::from(layout.size),
                            vk::BufferUsageFlags::TRANSFER_DST,
                            MemoryLocation::GpuToCpu,
                        )?,
                    };
                    let output = PassOutput::Buffer(own.output.buffer);
                    (Some(own), output)
                }
            };
            // SAFETY: a plain fence on a valid device, destroyed in Drop.
            let fence = unsafe { d.create_fence(&vk::FenceCreateInfo::default(), None) }
                .map_err(GpuError::vk("vkCreateFence"))?;
            let descriptors = this.pass.descriptors(image.view, output);
            // SAFETY: the set is new; the view and buffer live as long as the slot.
            unsafe { write_descriptors(d, sets[i], &descriptors) };
            this.slots.push(Slot {
                upload,
                device_input,
                bound: image.view,
                bound_output: output,
                image,
                own,
                set: sets[i],
                upload_set: upload_sets.as_ref().map(|sets| sets[i]),
                upload_bound_output: vk::Buffer::null(),
                reads_upload: false,
                cmd: cmds[i],
                fence,
                tag: None,
                uploaded: 0,
                lease: None,
            });
        }
        this.handoff = handoff;
        Ok(this)
    }

    /// A ring handing its frames over as `handoff` says: [`with_handoff`](Self::with_handoff)
    /// or [`with_image_handoff`](Self::with_image_handoff).
    pub fn for_handoff(
        ctx: &Arc<GpuContext>,
        input: PixelFormat,
        spec: &ProcessSpec,
        handoff: Handoff,
        depth: usize,
    ) -> Result<Self, GpuError> {
        Self::handing_off(ctx, input, spec, handoff, depth, Uploads::Auto)
    }

    /// True for a ring built [`with_handoff`](Self::with_handoff).
    pub fn hands_off(&self) -> bool {
        self.handoff.is_some()
    }

    /// The layout of converted frames.
    pub fn layout(&self) -> &YuvLayout {
        &self.layout
    }

    #[cfg(feature = "test-support")]
    /// Fills each frame's output with `byte` before the pass writes it, so that a sample the
    /// pass fails to write shows up (a test fixture, feature `test-support`).
    pub fn poison_outputs(&mut self, byte: u8) {
        self.poison = Some(byte);
    }

    /// Submits one frame. A read-back ring first collects the oldest result when the ring is
    /// full ([`Submitted::Converted`]; [`Submitted::Pending`] while the ring fills); a hand-off
    /// ring converts into the next hand-off buffer and answers [`Submitted::HandedOff`]. A
    /// [`RingFrame::Gpu`] is converted with no upload, after a CPU wait for its wait point (see
    /// [`GpuFrame`]) that turns a never-signalled frame into an error.
    pub fn submit(&mut self, frame: RingFrame<'_>, tag: T) -> Result<Submitted<T>, GpuError> {
        match frame {
            RingFrame::Cpu(image) => {
                self.check_frame(image.format(), image.width(), image.height())?
            }
            RingFrame::Gpu {
                frame,
                wait_timeout_ns,
            } => {
                self.check_frame(frame.format(), frame.width(), frame.height())?;
                if let Some(point) = frame.wait() {
                    wait_timeline(&self.ctx, point, wait_timeout_ns)?;
                }
            }
            RingFrame::DmaBuf(frame) => {
                self.check_frame(frame.format(), frame.width(), frame.height())?;
                self.import(frame)?;
            }
        }
        let collected = if self.handoff.is_some() {
            self.retire_if_full()?;
            None
        } else {
            self.collect_if_full()?
        };
        match frame {
            RingFrame::Cpu(image) => self.enqueue_cpu(image, tag)?,
            RingFrame::Gpu { frame, .. } => self.enqueue_gpu(frame, tag, None)?,
            RingFrame::DmaBuf(frame) => {
                let imported = self.imports.get(&frame.key()).ok_or(GpuError::Invalid {
                    what: "DMA-BUF frame".into(),
                    reason: "its import is missing right after it was made".into(),
                })?;
                // SAFETY: the import stays in `imports` (or `retired_imports`) until no slot
                // in flight reads it.
                let gpu = unsafe { imported.frame() };
                let i = self.enqueue_gpu(&gpu, tag, frame.pointer())?;
                self.slots[i].lease = Some(frame.clone());
                i
            }
        };
        if self.handoff.is_some() {
            return Ok(Submitted::HandedOff(self.last_handed_off()));
        }
        Ok(collected.map_or(Submitted::Pending, Submitted::Converted))
    }

    /// The frame just handed over: frame n = `handed` - 1 went into buffer n mod buffers, and
    /// its timeline value is n + 1.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a remainder modulo a buffer count fits usize"
    )]
    fn last_handed_off(&self) -> HandedOff {
        let buffers = self.handoff.as_ref().map_or(1, Handoff::len) as u64;
        HandedOff {
            target: ((self.handed - 1) % buffers) as usize,
            value: self.handed,
        }
    }

    /// The buffer slot `i`'s next pass writes: its own output, or the hand-off buffer of the
    /// next frame handed over.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a remainder modulo a buffer count fits usize"
    )]
    fn next_output(&self, i: usize) -> PassOutput {
        match (&self.slots[i].own, &self.handoff) {
            (Some(own), _) => PassOutput::Buffer(own.output.buffer),
            (None, Some(h)) => h.output((self.handed % h.len() as u64) as usize),
            // A ring is built with one or the other; the slot's current binding stays.
            (None, None) => self.slots[i].bound_output,
        }
    }

    /// Hand-off rings: the frames whose pass has completed since the last call, oldest first,
    /// each with the GPU time of its pass when the queue has timestamps. Does not wait.
    pub fn take_finished(&mut self) -> Result<std::vec::Drain<'_, (T, Option<GpuTime>)>, GpuError> {
        while let Some(&i) = self.in_flight.front() {
            if !self.fence_done(i)? {
                break;
            }
            self.retire_oldest()?;
        }
        // Drained, not swapped for a new vector: its capacity is kept from frame to frame.
        Ok(self.finished.drain(..))
    }

    /// Bytes the CPU copied for the frame submitted last: its upload into a staging buffer
    /// (0 for a [`GpuFrame`]). A hand-off ring copies nothing else; a read-back ring's
    /// [`Converted::cpu_bytes`] adds the read-back.
    pub fn last_upload_bytes(&self) -> u64 {
        self.last_uploaded
    }

    /// Frames submitted whose result has not been collected yet (a hand-off ring: whose pass
    /// has not been seen complete).
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Read-back rings: the oldest frame in flight if its pass has completed, without waiting
    /// (a fence status query); `None` when nothing is in flight or the oldest is still running.
    /// Call it until it answers `None` to take every completed frame, in submission order. A
    /// hand-off ring answers `None` (its frames were handed over at submit; see
    /// [`take_finished`](Self::take_finished)).
    pub fn try_collect(&mut self) -> Result<Option<Converted<T>>, GpuError> {
        if self.handoff.is_some() {
            return Ok(None);
        }
        let Some(&i) = self.in_flight.front() else {
            return Ok(None);
        };
        if !self.fence_done(i)? {
            return Ok(None);
        }
        self.collect_oldest()
    }

    /// Read-back rings: waits (up to 5 s, then a timeout error) for the oldest frame in
    /// flight and returns it; `None` when nothing is in flight. A hand-off ring waits for its
    /// oldest submission (its tag and GPU time go to [`take_finished`](Self::take_finished))
    /// and answers `None`.
    pub fn wait_oldest(&mut self) -> Result<Option<Converted<T>>, GpuError> {
        if self.handoff.is_some() {
            self.retire_oldest()?;
            return Ok(None);
        }
        self.collect_oldest()
    }

    /// Whether slot `i`'s submission has completed (does not wait).
    fn fence_done(&self, i: usize) -> Result<bool, GpuError> {
        // SAFETY: the fence belongs to this device; a status query has no other requirement.
        unsafe { self.ctx.device.get_fence_status(self.slots[i].fence) }
            .map_err(GpuError::vk("vkGetFenceStatus"))
    }

    /// Records and submits a CPU frame into the next slot; returns the slot.
    fn enqueue_cpu(&mut self, frame: &CpuImage, tag: T) -> Result<usize, GpuError> {
        let i = self.take_slot();
        let uploaded = self.write_upload(i, frame)?;
        self.bind_upload(i);
        self.record_and_submit(i, None, None)?;
        self.slots[i].tag = Some(tag);
        self.slots[i].uploaded = uploaded;
        self.last_uploaded = uploaded;
        self.in_flight.push_back(i);
        Ok(i)
    }

    /// Records and submits an application image into the next slot; returns the slot.
    fn enqueue_gpu(
        &mut self,
        frame: &GpuFrame,
        tag: T,
        pointer: Option<&PointerOverlay>,
    ) -> Result<usize, GpuError> {
        let view_info = vk::ImageViewCreateInfo::default()
            .image(frame.image())
            .view_type(vk::ImageViewType::TYPE_2D)
            .format(super::conv::input_format(frame.format())?)
            .subresource_range(color_range());
        // SAFETY: GpuFrame::new's contract makes the image a live, sampled 2D image of this
        // device in this format; the view is destroyed when the slot is collected or dropped.
        let view = unsafe { self.ctx.device.create_image_view(&view_info, None) }
            .map_err(GpuError::vk("vkCreateImageView"))?;
        let i = self.take_slot();
        self.slots[i].reads_upload = false;
        self.bind_input(i, view);
        self.record_and_submit(i, Some(frame), pointer)?;
        self.slots[i].tag = Some(tag);
        self.slots[i].uploaded = 0;
        self.last_uploaded = 0;
        self.in_flight.push_back(i);
        Ok(i)
    }

    fn check_frame(&self, format: PixelFormat, width: u32, height: u32) -> Result<(), GpuError> {
        if format != self.input || (width, height) != (self.width, self.height) {
            return Err(GpuError::Invalid {
                what: format!("{format} {width}x{height} frame"),
                reason: format!(
                    "the ring converts {} {}x{}",
                    self.input, self.width, self.height
                ),
            });
        }
        Ok(())
    }

    fn collect_if_full(&mut self) -> Result<Option<Converted<T>>, GpuError> {
        if self.in_flight.len() == self.slots.len() {
            self.collect_oldest()
        } else {
            Ok(None)
        }
    }

    /// Hand-off rings: frees the oldest slot's command buffer when every slot is in flight.
    fn retire_if_full(&mut self) -> Result<(), GpuError> {
        if self.in_flight.len() == self.slots.len() {
            self.retire_oldest()?;
        }
        Ok(())
    }

    fn take_slot(&mut self) -> usize {
        let i = self.next;
        self.next = (self.next + 1) % self.slots.len();
        i
    }

    /// Makes slot `i` read the upload in its staging buffer: straight from the buffer through
    /// its upload set where the ring has one, else through its own image (after the copy
    /// `record_and_submit` records).
    fn bind_upload(&mut self, i: usize) {
        let output = self.next_output(i);
        let slot = &mut self.slots[i];
        // Upload sets write buffers (an image ring has none).
        let (Some(set), PassOutput::Buffer(buffer)) = (slot.upload_set, output) else {
            slot.reads_upload = false;
            let own_view = slot.image.view;
            self.bind_input(i, own_view);
            return;
        };
        if slot.upload_bound_output != buffer {
            let input = slot
                .device_input
                .as_ref()
                .map_or(slot.upload.buffer, |b| b.buffer);
            let descriptors = self.pass.upload_descriptors(input, buffer);
            // SAFETY: the slot is not in flight, so its upload set is not in use; both buffers
            // live until the slot is next collected.
            unsafe { write_descriptors(&self.ctx.device, set, &descriptors) };
            slot.upload_bound_output = buffer;
        }
        slot.bound_output = output;
        slot.reads_upload = true;
    }

    /// Points slot `i`'s descriptor set at `view` and the buffer its next pass writes (when it
    /// does not already).
    fn bind_input(&mut self, i: usize, view: vk::ImageView) {
        let output = self.next_output(i);
        if self.slots[i].bound == view && self.slots[i].bound_output == output {
            return;
        }
        if self.slots[i].bound != view {
            self.release_view(i);
        }
        let slot = &mut self.slots[i];
        let descriptors = self.pass.descriptors(view, output);
        // SAFETY: the slot is not in flight (collected before reuse), so its set is not in use;
        // the view and buffers live until the slot is next collected.
        unsafe { write_descriptors(&self.ctx.device, slot.set, &descriptors) };
        slot.bound = view;
        slot.bound_output = output;
    }

    #[cfg(any(feature = "test-support", feature = "bench"))]
    /// Times the ring's pass alone: after one frame per slot (so every input image holds a
    /// picture and is in its sampled layout), `iterations` dispatches over the slots in
    /// rotation, each in its own submission bracketed by timestamps and waited for, with no
    /// upload or read-back around it. Returns the medians. A benchmark harness (feature
    /// `test-support`).
    ///
    /// What each dispatch writes is the ring's: a read-back ring's own output buffer, a buffer
    /// hand-off's buffer, or an image hand-off's picture image through its plane views; each
    /// slot writes the target of the frame it took in the warm-up. For a picture image the
    /// submission also records, as every frame's does, the image's discard (to `GENERAL`)
    /// before the pass and its release to its [`PictureConsumer`](super::PictureConsumer)
    /// after it, outside the timestamps. A buffer hand-off ring also times, after each pass
    /// and in a submission of its own, the copy of that buffer into a picture image of the
    /// output's format and size ([`PassTiming::copy`]): `vkCmdCopyBufferToImage`, one region
    /// per plane, what a Vulkan Video encoder adds on the buffer path (less the regions that
    /// fill its input image's padding: this image is the output's size). Only the copy is
    /// between the timestamps; the barriers that make the buffer visible to it and move the
    /// image to `TRANSFER_DST_OPTIMAL` before it, and release the image after, are recorded
    /// outside them (a layout transition's own work, where a driver does any, may still fall
    /// inside: the first timestamp, at the top of the pipe, does not wait for it; the same
    /// holds for the discard before the pass). The copy's picture images are made here, one a
    /// slot, with storage usage as an encoder's direct input images have (its input images
    /// on the buffer path have none, which a driver may lay out otherwise).
    ///
    /// The hand-off's timelines: the warm-up frames are handed over as any frame is (each
    /// waits on the GPU for `released` where its target is reused, and signals `ready`), and
    /// the benchmark stands in for the consumer, signalling `released` to each from the CPU
    /// once its submission has completed; give it a hand-off no one else reads. The timed
    /// submissions hand nothing over: no semaphore waits or signals on them, so neither the
    /// consumer nor a timeline is in the figures, nor are the CPU upload, the input's copy
    /// into an image, a DMA-BUF frame's pointer or the encode.
    pub fn benchmark_pass(&mut self, iterations: usize) -> Result<PassTiming, GpuError> {
        use super::commands::{end_and_submit, median, read_duration_at};
        if self.queries == vk::QueryPool::null() {
            return Err(GpuError::Unsupported {
                what: "time dispatches".into(),
                reason: "the queue has no timestamps".into(),
            });
        }
        let mut blank = CpuImage::new(self.input, self.width, self.height, None).map_err(|e| {
            GpuError::Invalid {
                what: "benchmark frame".into(),
                reason: e.to_string(),
            }
        })?;
        // Not black: a pass's data-dependent paths (the tone curve above black, sharpening's
        // contrast) run as they would on a picture.
        for (i, b) in blank.data_mut().iter_mut().enumerate() {
            *b = u8::try_from((i * 7 + i / 4093) % 251).unwrap_or_default();
        }
        if !self.in_flight.is_empty() {
            return Err(GpuError::Invalid {
                what: "benchmark".into(),
                reason: "frames are still in flight; flush first".into(),
            });
        }
        // A buffer hand-off's copy targets: picture images of the output, one a slot.
        let copy_targets = match &self.handoff {
            Some(Handoff::Buffers(_)) => (0..self.slots.len())
                .map(|_| {
                    let l = &self.layout;
                    let usage = vk::ImageUsageFlags::TRANSFER_DST;
                    let consumer = super::PictureConsumer {
                        family: self.ctx.queue_family,
                        layout: vk::ImageLayout::TRANSFER_DST_OPTIMAL,
                    };
                    PlanarImage::new(&self.ctx, l.format, (l.width, l.height), usage, consumer)
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => Vec::new(),
        };
        // The frame (hand-off rings: whose target) each slot's set writes.
        let mut frame_of = vec![0u64; self.slots.len()];
        for _ in 0..self.slots.len() {
            let i = self.take_slot();
            self.write_upload(i, &blank)?;
            self.bind_upload(i);
            frame_of[i] = self.handed;
            self.record_and_submit(i, None, None)?;
            wait_and_reset(&self.ctx, self.slots[i].fence, WAIT_NS, "a benchmark frame")?;
            // The consumer's part: the frame just handed over is released.
            if let Some(released) = self.handoff.as_ref().map(Handoff::released) {
                if released.value()? < self.handed {
                    released.signal(self.handed)?;
                }
            }
        }
        let ctx = Arc::clone(&self.ctx);
        let d = &ctx.device;
        // GPU and CPU times of the passes, and of the copies.
        let mut times = [(Vec::new(), Vec::new()), (Vec::new(), Vec::new())];
        for n in 0..iterations {
            let i = n % self.slots.len();
            let (cmd, fence) = (self.slots[i].cmd, self.slots[i].fence);
            let q = 2 * super::vk_u32(i);
            let handoff = self.handoff.as_ref();
            let picture = handoff.and_then(|h| h.image(frame_of[i]));
            let copied = handoff
                .and_then(|h| h.buffer(frame_of[i]))
                .zip(copy_targets.get(i));
            // The pass; then, on the buffer path, the copy: each its own submission.
            let submissions = if copied.is_some() { 2 } else { 1 };
            for copying in [false, true].into_iter().take(submissions) {
                let started = std::time::Instant::now();
                // SAFETY: the slot is idle (every submission here is waited for before the
                // next); what is recorded lives as long as the ring (the copy targets until
                // the end of this function, after the last wait).
                unsafe {
                    begin_one_time(d, cmd)?;
                    match copied.filter(|_| copying) {
                        Some((buffer, image)) => {
                            self.record_timed_copy(d, i, buffer.buffer(), image);
                        }
                        None => {
                            if let Some(image) = picture {
                                discard_picture(d, cmd, image);
                            }
                            self.record_timed_pass(d, i);
                            if let Some(image) = picture {
                                release_picture(&ctx, cmd, image, PASS_STORES);
                            }
                        }
                    }
                    end_and_submit(&ctx, cmd, fence)?;
                }
                let recorded = started.elapsed().as_nanos() as f64;
                wait_and_reset(&ctx, fence, WAIT_NS, "a benchmark dispatch")?;
                let (gpu, cpu) = &mut times[usize::from(copying)];
                gpu.push(read_duration_at(&ctx, self.queries, q)?);
                cpu.push(recorded);
            }
            self.frames += 1;
        }
        let l = &self.layout;
        let samples = u64::from(l.width) * u64::from(l.height)
            + 2 * u64::from(l.chroma_width) * u64::from(l.chroma_height);
        let picture = samples * u64::from(l.bytes_per_sample);
        let [(gpu, cpu), (copy_gpu, copy_cpu)] = times;
        Ok(PassTiming {
            gpu_ns: median(gpu),
            record_submit_ns: median(cpu),
            bytes: self.input.frame_bytes(self.width, self.height) as u64 + picture,
            copy: (!copy_gpu.is_empty()).then(|| CopyTiming {
                gpu_ns: median(copy_gpu),
                record_submit_ns: median(copy_cpu),
                bytes: 2 * picture,
            }),
        })
    }

    #[cfg(any(feature = "test-support", feature = "bench"))]
    /// Records the copy of `buffer` (a frame in the ring's layout) into picture image `image`
    /// of the output's format and size, one region per plane, between slot `i`'s timestamps:
    /// a Vulkan Video encoder's copy of a hand-off buffer into its input image
    /// (src/gpu/video/encoder.rs), less the padding regions. Before it, the pass's writes made
    /// visible to the copy and the image's earlier contents discarded (to
    /// `TRANSFER_DST_OPTIMAL`); after it, the image released to its reader.
    ///
    /// # Safety
    /// Slot `i`'s command buffer is recording and not in flight; the buffer and image belong
    /// to the ring's device and live until the submission is done.
    unsafe fn record_timed_copy(
        &self,
        d: &ash::Device,
        i: usize,
        buffer: vk::Buffer,
        image: &PlanarImage,
    ) {
        let cmd = self.slots[i].cmd;
        let l = &self.layout;
        let bps = l.bytes_per_sample;
        // Rows in texels: a luma sample, a CbCr pair.
        let regions = [
            super::conv::whole_plane(vk::ImageAspectFlags::PLANE_0, l.width, l.height)
                .buffer_row_length(l.luma_pitch / bps),
            super::conv::whole_plane(
                vk::ImageAspectFlags::PLANE_1,
                l.chroma_width,
                l.chroma_height,
            )
            .buffer_offset(u64::from(l.chroma_offset))
            .buffer_row_length(l.chroma_pitch / (2 * bps)),
        ];
        let dst = vk::ImageLayout::TRANSFER_DST_OPTIMAL;
        let transfer = vk::PipelineStageFlags::TRANSFER;
        // SAFETY: forwarded from the caller.
        unsafe {
            buffer_barrier(
                d,
                cmd,
                buffer,
                vk::AccessFlags::SHADER_WRITE,
                vk::AccessFlags::TRANSFER_READ,
                vk::PipelineStageFlags::COMPUTE_SHADER,
                transfer,
            );
            image_transfer_barrier(
                d,
                cmd,
                image.image(),
                (vk::ImageLayout::UNDEFINED, dst),
                (vk::AccessFlags::empty(), vk::AccessFlags::TRANSFER_WRITE),
                (vk::PipelineStageFlags::TOP_OF_PIPE, transfer),
                (vk::QUEUE_FAMILY_IGNORED, vk::QUEUE_FAMILY_IGNORED),
            );
            self.record_timed(d, i, || {
                d.cmd_copy_buffer_to_image(cmd, buffer, image.image(), dst, &regions);
            });
            let written = (dst, vk::AccessFlags::TRANSFER_WRITE, transfer);
            release_picture(&self.ctx, cmd, image, written);
        }
    }

    /// Waits for every frame in flight and returns them in order.
    /// A hand-off ring waits for its submissions and returns nothing (the frames are the
    /// consumer's; their tags and GPU times come from [`take_finished`](Self::take_finished)).
    pub fn flush(&mut self) -> Result<Vec<Converted<T>>, GpuError> {
        if self.handoff.is_some() {
            while self.retire_oldest()?.is_some() {}
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        while let Some(c) = self.collect_oldest()? {
            out.push(c);
        }
        Ok(out)
    }

    /// One copy from the frame's rows into slot `i`'s staging buffer (strides may differ);
    /// returns the bytes copied.
    fn write_upload(&mut self, i: usize, frame: &CpuImage) -> Result<u64, GpuError> {
        let dst = self.slots[i]
            .upload
            .mapped_mut()
            .ok_or(GpuError::Allocation {
                what: "ring upload".into(),
                reason: "not host-visible".into(),
            })?;
        // Every plane's rows, tightly packed one after another.
        let mut at = 0;
        for (plane, geometry) in self.input_planes.iter().enumerate() {
            let row = geometry.row_bytes();
            for y in 0..geometry.height {
                dst[at..at + row].copy_from_slice(frame.row(plane, y));
                at += row;
            }
        }
        Ok(at as u64)
    }

    /// Records what `record` records into slot `i`'s command buffer between the slot's two
    /// timestamps, when the queue has them.
    ///
    /// # Safety
    /// Slot `i`'s command buffer is recording and not in flight.
    unsafe fn record_timed(&self, d: &ash::Device, i: usize, record: impl FnOnce()) {
        let cmd = self.slots[i].cmd;
        let q = 2 * super::vk_u32(i);
        let timed = self.queries != vk::QueryPool::null();
        // SAFETY: forwarded from the caller; the query pool lives as long as `self`.
        unsafe {
            if timed {
                d.cmd_reset_query_pool(cmd, self.queries, q, 2);
                let top = vk::PipelineStageFlags::TOP_OF_PIPE;
                d.cmd_write_timestamp(cmd, top, self.queries, q);
            }
            record();
            if timed {
                let bottom = vk::PipelineStageFlags::BOTTOM_OF_PIPE;
                d.cmd_write_timestamp(cmd, bottom, self.queries, q + 1);
            }
        }
    }

    /// Records the pass for slot `i`, between the slot's two timestamps when the queue has them.
    ///
    /// # Safety
    /// Slot `i`'s command buffer is recording and not in flight.
    unsafe fn record_timed_pass(&self, d: &ash::Device, i: usize) {
        let slot = &self.slots[i];
        // SAFETY: forwarded from the caller; the pass lives as long as `self`.
        unsafe {
            self.record_timed(d, i, || {
                match (&self.pass, slot.upload_set.filter(|_| slot.reads_upload)) {
                    (
                        Pass::Convert {
                            conv,
                            upload_input: Some(upload),
                            ..
                        },
                        Some(set),
                    ) => {
                        let (input, params) = &**upload;
                        let siting = self.spec.convert.siting;
                        // The buffer pass's own workgroup shape (its layout's), not the image
                        // pass's.
                        let groups = conv.groups_for(*input, self.layout.width, self.layout.height);
                        // The pipeline was built when the pass was made (this finds it cached; the
                        // push constants were worked out then too).
                        if let Ok(pipe) = conv.specialized(&self.layout, siting, *input) {
                            pipe.record_dispatch(d, slot.cmd, set, params, groups);
                        }
                    }
                    (Pass::Process(p), Some(set)) => p.record(slot.cmd, set, self.frames, true),
                    _ => self.pass.record(d, slot.cmd, slot.set, self.frames),
                }
            });
        }
    }

    /// Records and submits slot `i`: the upload of its staging buffer into its own image, or,
    /// for a [`GpuFrame`], the application's image moved to the sampled layout and back around
    /// the pass, with the frame's wait and release points on the submission.
    fn record_and_submit(
        &mut self,
        i: usize,
        gpu: Option<&GpuFrame>,
        pointer: Option<&PointerOverlay>,
    ) -> Result<(), GpuError> {
        if pointer.is_some() && self.pointer_pass.is_none() {
            let images = matches!(self.handoff, Some(Handoff::Images(_)));
            self.pointer_pass = Some(PointerPass::new(
                &self.ctx,
                self.slots.len(),
                &self.spec,
                images,
            )?);
        }
        let mut pointer_pass = self.pointer_pass.take();
        let result = self.record_and_submit_with(i, gpu, pointer.zip(pointer_pass.as_mut()));
        self.pointer_pass = pointer_pass;
        result
    }

    fn record_and_submit_with(
        &mut self,
        i: usize,
        gpu: Option<&GpuFrame>,
        pointer: Option<(&PointerOverlay, &mut PointerPass)>,
    ) -> Result<(), GpuError> {
        let ctx = Arc::clone(&self.ctx);
        let d = &ctx.device;
        let slot = &self.slots[i];
        let (w, h) = self.upload_extent;
        let read = vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL;
        let compute = vk::PipelineStageFlags::COMPUTE_SHADER;
        // SAFETY: the slot's command buffer and fence are not in flight (collected before reuse);
        // every handle recorded belongs to the slot or the ring and lives until it is
        // collected; an application image is live and of this device (GpuFrame::new's contract).
        unsafe {
            begin_one_time(d, slot.cmd)?;
            match gpu {
                // Read as a buffer: straight from the staging buffer (the host's writes before
                // the submission are visible to it), or from its device-local copy.
                None if slot.reads_upload => {
                    if let Some(input) = &slot.device_input {
                        let region =
                            [vk::BufferCopy::default().size(input.size.min(slot.upload.size))];
                        d.cmd_copy_buffer(slot.cmd, slot.upload.buffer, input.buffer, &region);
                        buffer_barrier(
                            d,
                            slot.cmd,
                            input.buffer,
                            vk::AccessFlags::TRANSFER_WRITE,
                            vk::AccessFlags::SHADER_READ,
                            vk::PipelineStageFlags::TRANSFER,
                            vk::PipelineStageFlags::COMPUTE_SHADER,
                        );
                    }
                }
                None => record_upload(d, slot.cmd, slot.upload.buffer, slot.image.image, w, h),
                // The submission's wait (at the compute stage) orders the application's writes
                // before this transition and makes them visible; a foreign owner's image is
                // acquired from its queue family.
                Some(f) if f.layout() != read || f.owner_family().is_some() => {
                    image_transfer_barrier(
                        d,
                        slot.cmd,
                        f.image(),
                        (f.layout(), read),
                        (vk::AccessFlags::empty(), vk::AccessFlags::SHADER_READ),
                        (compute, compute),
                        f.owner_family().map_or(
                            (vk::QUEUE_FAMILY_IGNORED, vk::QUEUE_FAMILY_IGNORED),
                            |owner| (owner, ctx.queue_family),
                        ),
                    )
                }
                Some(_) => {}
            }
            // A picture image's previous frame is discarded (its reader released it: the
            // submission waits for that at the compute stage, which this barrier follows).
            let target = self.handoff.as_ref().and_then(|h| h.image(self.handed));
            if let Some(image) = target {
                discard_picture(d, slot.cmd, image);
            }
            // A multi-planar image cannot be cleared; the padding check of its tests reads past
            // the picture instead.
            if let (Some(byte), PassOutput::Buffer(output)) = (self.poison, slot.bound_output) {
                let word = u32::from_ne_bytes([byte; 4]);
                d.cmd_fill_buffer(slot.cmd, output, 0, vk::WHOLE_SIZE, word);
                buffer_barrier(
                    d,
                    slot.cmd,
                    output,
                    vk::AccessFlags::TRANSFER_WRITE,
                    vk::AccessFlags::SHADER_WRITE,
                    vk::PipelineStageFlags::TRANSFER,
                    compute,
                );
            }
            self.record_timed_pass(d, i);
            if let Some((overlay, pass)) = pointer {
                pass.record(slot.cmd, i, slot.bound_output, overlay)?;
            }
            // Released to its reader, in its layout.
            if let Some(image) = target {
                release_picture(&ctx, slot.cmd, image, PASS_STORES);
            }
            if let Some(f) = gpu.filter(|f| f.layout() != read || f.owner_family().is_some()) {
                // Back to the application's layout (and a foreign owner's queue family); the
                // release signal at the end of the submission covers it.
                image_transfer_barrier(
                    d,
                    slot.cmd,
                    f.image(),
                    (read, f.layout()),
                    (vk::AccessFlags::empty(), vk::AccessFlags::empty()),
                    (compute, vk::PipelineStageFlags::BOTTOM_OF_PIPE),
                    f.owner_family().map_or(
                        (vk::QUEUE_FAMILY_IGNORED, vk::QUEUE_FAMILY_IGNORED),
                        |owner| (ctx.queue_family, owner),
                    ),
                );
            }
            if let Some(OwnOutput { output, readback }) = &slot.own {
                record_readback(
                    d,
                    slot.cmd,
                    output.buffer,
                    readback.buffer,
                    u64::from(self.layout.size),
                );
            }
            let (wait, release) = gpu.map_or((None, None), |f| (f.wait(), f.release()));
            // A hand-off frame n waits until the consumer released the buffer's previous frame
            // (n - buffers) and signals ready = n + 1. The queue's end-of-submission signal
            // makes the shader's writes available to the importing API.
            let (reuse, ready) = match &self.handoff {
                Some(h) => {
                    let n = self.handed;
                    let buffers = h.len() as u64;
                    let reuse = (n >= buffers).then(|| h.released().point(n + 1 - buffers));
                    (reuse, Some(h.ready().point(n + 1)))
                }
                None => (None, None),
            };
            end_and_submit_synced(&ctx, slot.cmd, slot.fence, [wait, reuse], [release, ready])?;
        }
        self.frames += 1;
        if self.handoff.is_some() {
            self.handed += 1;
        }
        Ok(())
    }

    /// Imports `frame`'s buffer unless it already is. A new generation of buffers (the
    /// producer renegotiated) retires every earlier import; retired imports are destroyed once
    /// no slot is in flight.
    fn import(&mut self, frame: &DmaBufFrame) -> Result<(), GpuError> {
        let key = frame.key();
        if key.generation != self.import_generation {
            self.retired_imports
                .extend(self.imports.drain().map(|(_, v)| v));
            self.import_generation = key.generation;
        }
        if self.imports.contains_key(&key) {
            return Ok(());
        }
        let layout = frame.layout();
        let image = DmaBufImage::import(&self.ctx, &DmaBuf::new(frame.fd(), layout))?;
        tracing::debug!(?key, ?layout, "DMA-BUF imported");
        self.imports.insert(key, image);
        Ok(())
    }

    /// Destroys slot `i`'s application-image view, if it has one, once the slot is idle.
    fn release_view(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        if slot.bound != slot.image.view && slot.bound != vk::ImageView::null() {
            // SAFETY: the slot's submission has completed (its fence was waited for, or the
            // ring is being dropped after waiting), so nothing uses the view.
            unsafe { self.ctx.device.destroy_image_view(slot.bound, None) };
            slot.bound = vk::ImageView::null();
        }
    }

    /// Waits for the oldest slot's submission, frees its application view, and returns the
    /// slot with the pass's GPU time.
    fn retire_oldest(&mut self) -> Result<Option<(usize, Option<GpuTime>)>, GpuError> {
        let Some(i) = self.in_flight.pop_front() else {
            return Ok(None);
        };
        wait_and_reset(
            &self.ctx,
            self.slots[i].fence,
            WAIT_NS,
            "a frame's conversion",
        )?;
        self.release_view(i);
        // Its pass is done: the producer may have the buffer back.
        self.slots[i].lease = None;
        if self.in_flight.is_empty() {
            self.retired_imports.clear();
        }
        let gpu = if self.queries != vk::QueryPool::null() {
            Some(read_gpu_time_at(
                &self.ctx,
                self.queries,
                2 * super::vk_u32(i),
            )?)
        } else {
            None
        };
        if self.handoff.is_some() {
            if let Some(tag) = self.slots[i].tag.take() {
                self.finished.push((tag, gpu));
            }
        }
        Ok(Some((i, gpu)))
    }

    fn collect_oldest(&mut self) -> Result<Option<Converted<T>>, GpuError> {
        let Some((i, gpu)) = self.retire_oldest()? else {
            return Ok(None);
        };
        let slot = &mut self.slots[i];
        let Some(OwnOutput { readback, .. }) = &slot.own else {
            return Err(GpuError::Invalid {
                what: "collect".into(),
                reason: "a hand-off ring has nothing to read back".into(),
            });
        };
        let bytes = readback.mapped().ok_or(GpuError::Allocation {
            what: "ring readback".into(),
            reason: "not host-visible".into(),
        })?;
        let mut buffer = self.buffers.take(bytes.len());
        buffer.as_mut_slice().copy_from_slice(bytes);
        let read_back = bytes.len() as u64;
        let l = &self.layout;
        let mut planes = vec![PlaneLayout {
            offset: 0,
            stride: l.luma_pitch as usize,
        }];
        planes.push(PlaneLayout {
            offset: l.chroma_offset as usize,
            stride: l.chroma_pitch as usize,
        });
        if l.planar() {
            planes.push(PlaneLayout {
                offset: l.v_offset as usize,
                stride: l.chroma_pitch as usize,
            });
        }
        let image =
            CpuImage::from_buffer(l.format, l.width, l.height, planes, buffer).map_err(|e| {
                GpuError::Invalid {
                    what: "converted frame".into(),
                    reason: e.to_string(),
                }
            })?;
        let tag = slot.tag.take().ok_or(GpuError::Invalid {
            what: "slot".into(),
            reason: "no frame in it".into(),
        })?;
        let cpu_bytes = slot.uploaded + read_back;
        Ok(Some(Converted {
            image,
            tag,
            gpu,
            cpu_bytes,
        }))
    }
}

/// How a ring hands its frames over: through buffers in the ring's layout (read in place by
/// another API, or copied by the reader), or straight into the reader's picture images.
#[derive(Clone, Debug)]
pub enum Handoff {
    /// Buffers and timelines ([`ConvertRing::with_handoff`]).
    Buffers(GpuHandoff),
    /// Picture images and timelines ([`ConvertRing::with_image_handoff`]).
    Images(ImageHandoff),
}

impl Handoff {
    /// Buffers or images in the rotation.
    pub fn len(&self) -> usize {
        match self {
            Handoff::Buffers(h) => h.buffers.len(),
            Handoff::Images(h) => h.images.len(),
        }
    }

    /// True for a hand-off of no buffers or images (which no ring takes).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn ready(&self) -> &ExportableTimeline {
        match self {
            Handoff::Buffers(h) => &h.ready,
            Handoff::Images(h) => &h.ready,
        }
    }

    fn released(&self) -> &ExportableTimeline {
        match self {
            Handoff::Buffers(h) => &h.released,
            Handoff::Images(h) => &h.released,
        }
    }

    /// What the pass writes for target `i`.
    fn output(&self, i: usize) -> PassOutput {
        match self {
            Handoff::Buffers(h) => PassOutput::Buffer(h.buffers[i % h.buffers.len()].buffer()),
            Handoff::Images(h) => PassOutput::Planes(h.images[i % h.images.len()].planes()),
        }
    }

    #[cfg(any(feature = "test-support", feature = "bench"))]
    /// The buffer frame `n` (from 0) is written into, for a buffer hand-off.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a remainder modulo a buffer count fits usize"
    )]
    fn buffer(&self, n: u64) -> Option<&ExportableBuffer> {
        match self {
            Handoff::Buffers(h) => Some(&h.buffers[(n % h.buffers.len() as u64) as usize]),
            Handoff::Images(_) => None,
        }
    }

    /// The picture image frame `n` (from 0) is written into, for an image hand-off.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a remainder modulo an image count fits usize"
    )]
    fn image(&self, n: u64) -> Option<&PlanarImage> {
        match self {
            Handoff::Buffers(_) => None,
            Handoff::Images(h) => Some(&h.images[(n % h.images.len() as u64) as usize]),
        }
    }
}

/// What both kinds of hand-off must be: 1 to [`MAX_HANDOFF_BUFFERS`] targets (`kind`: buffers
/// or images), which (`contexts`) and both timelines belong to `ctx` (their handles are bound
/// and signalled there: another device's would be undefined behaviour, not an error).
fn check_targets<'a>(
    ctx: &Arc<GpuContext>,
    kind: &str,
    contexts: impl ExactSizeIterator<Item = &'a Arc<GpuContext>>,
    timelines: [&'a ExportableTimeline; 2],
) -> Result<(), GpuError> {
    let count = contexts.len();
    let mut all = contexts.chain(timelines.map(ExportableTimeline::context));
    if all.any(|c| !Arc::ptr_eq(c, ctx)) {
        return Err(GpuError::Invalid {
            what: format!("hand-off {kind} and timelines"),
            reason: format!(
                "they must be created on the ring's own context ({}); one belongs to another",
                ctx.device_info().name
            ),
        });
    }
    if !(1..=MAX_HANDOFF_BUFFERS).contains(&count) {
        return Err(GpuError::Invalid {
            what: format!("hand-off with {count} {kind}"),
            reason: format!(
                "as many {kind} as the consumer holds at once: 1 to {MAX_HANDOFF_BUFFERS}"
            ),
        });
    }
    Ok(())
}

/// An image hand-off's images: as [`check_targets`] says, of the spec's output format (NV12 or
/// P010), each at least the output's size.
fn check_image_handoff(
    ctx: &Arc<GpuContext>,
    handoff: &ImageHandoff,
    spec: &ProcessSpec,
) -> Result<(), GpuError> {
    let timelines = [&*handoff.ready, &*handoff.released];
    check_targets(
        ctx,
        "images",
        handoff.images.iter().map(|i| i.context()),
        timelines,
    )?;
    let (format, w, h) = (spec.convert.output, spec.output_width, spec.output_height);
    if let Some(bad) = handoff.images.iter().find(|i| {
        let (iw, ih) = i.extent();
        i.format() != format || iw < w || ih < h
    }) {
        let (iw, ih) = bad.extent();
        return Err(GpuError::Invalid {
            what: format!("a {} {iw}x{ih} hand-off image", bad.format()),
            reason: format!(
                "the pass writes {format} {w}x{h}: give images of that format, at least that size"
            ),
        });
    }
    Ok(())
}

/// A hand-off's buffers: as [`check_targets`] says, each holding a frame of `layout`.
fn check_handoff(
    ctx: &Arc<GpuContext>,
    handoff: &GpuHandoff,
    layout: &YuvLayout,
) -> Result<(), GpuError> {
    let timelines = [&*handoff.ready, &*handoff.released];
    check_targets(
        ctx,
        "buffers",
        handoff.buffers.iter().map(|b| b.context()),
        timelines,
    )?;
    if let Some(small) = handoff
        .buffers
        .iter()
        .find(|b| b.size() < u64::from(layout.size))
    {
        return Err(GpuError::Invalid {
            what: format!("hand-off buffer of {} bytes", small.size()),
            reason: format!(
                "a {} {}x{} frame needs {} bytes",
                layout.format, layout.width, layout.height, layout.size
            ),
        });
    }
    Ok(())
}

/// A pass's stores into a picture image: its layout, access and stage.
const PASS_STORES: (vk::ImageLayout, vk::AccessFlags, vk::PipelineStageFlags) = (
    vk::ImageLayout::GENERAL,
    vk::AccessFlags::SHADER_WRITE,
    vk::PipelineStageFlags::COMPUTE_SHADER,
);

/// Records the discard of picture image `image`'s previous frame before a pass stores into
/// it (to GENERAL). Its reader released it: a frame's submission waits for that at the
/// compute stage, which this barrier follows.
///
/// # Safety
/// `cmd` is recording; the image belongs to its device and lives until the submission is done.
unsafe fn discard_picture(d: &ash::Device, cmd: vk::CommandBuffer, image: &PlanarImage) {
    let compute = vk::PipelineStageFlags::COMPUTE_SHADER;
    // SAFETY: forwarded from the caller.
    unsafe {
        image_transfer_barrier(
            d,
            cmd,
            image.image(),
            (vk::ImageLayout::UNDEFINED, vk::ImageLayout::GENERAL),
            (vk::AccessFlags::empty(), vk::AccessFlags::SHADER_WRITE),
            (compute, compute),
            (vk::QUEUE_FAMILY_IGNORED, vk::QUEUE_FAMILY_IGNORED),
        );
    }
}

/// Records picture image `image`'s release to its reader after `(layout, access, stage)`
/// wrote it (a pass's stores, a copy): in the reader's layout, an ownership transfer where
/// the reader's queue family is not `ctx`'s.
///
/// # Safety
/// As [`discard_picture`].
unsafe fn release_picture(
    ctx: &GpuContext,
    cmd: vk::CommandBuffer,
    image: &PlanarImage,
    (layout, access, stage): (vk::ImageLayout, vk::AccessFlags, vk::PipelineStageFlags),
) {
    let consumer = image.consumer();
    let families = if consumer.family == ctx.queue_family {
        (vk::QUEUE_FAMILY_IGNORED, vk::QUEUE_FAMILY_IGNORED)
    } else {
        (ctx.queue_family, consumer.family)
    };
    // SAFETY: forwarded from the caller.
    unsafe {
        image_transfer_barrier(
            &ctx.device,
            cmd,
            image.image(),
            (layout, consumer.layout),
            (access, vk::AccessFlags::empty()),
            (stage, vk::PipelineStageFlags::BOTTOM_OF_PIPE),
            families,
        );
    }
}

impl<T> Drop for ConvertRing<T> {
    fn drop(&mut self) {
        let d = &self.ctx.device;
        // SAFETY: wait for every slot in flight, then destroy what the ring created; the
        // slots' buffers and images are dropped after this (fields drop after Drop::drop).
        unsafe {
            let fences: Vec<vk::Fence> = self
                .in_flight
                .iter()
                .map(|&i| self.slots[i].fence)
                .collect();
            if !fences.is_empty() {
                let _ = d.wait_for_fences(&fences, true, WAIT_NS);
            }
            for s in &self.slots {
                if s.bound != s.image.view && s.bound != vk::ImageView::null() {
                    d.destroy_image_view(s.bound, None);
                }
            }
            for s in &self.slots {
                d.destroy_fence(s.fence, None);
            }
            d.destroy_query_pool(self.queries, None);
            d.destroy_command_pool(self.command_pool, None);
            d.destroy_descriptor_pool(self.pool, None);
            d.destroy_descriptor_pool(self.upload_pool, None);
        }
    }
}
