//! RGB to YUV (4:2:0 or 4:4:4) in one compute pass: `shaders/rgb_to_yuv420.comp`.
//!
//! This first version uploads an RGBA/BGRA frame from CPU memory into a sampled image, converts
//! it into a pitch-linear buffer (the layout NVENC and the CPU encoders take), and reads the
//! result back, timing the dispatch with GPU timestamps. Resources are made per run; the session
//! path that keeps them in flight comes with the next increment.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use ash::vk;
use gpu_allocator::MemoryLocation;

use super::commands::{
    buffer_barrier, command_buffers, queue_has_timestamps, read_duration_at, record_readback,
    record_upload, submit_and_wait,
};
use super::pipeline::{write_descriptors, ComputePipeline, Descriptor};
use super::resources::{nearest_sampler, GpuBuffer, GpuImage};
use super::{GpuContext, GpuError};
use crate::format::PixelFormat;
use crate::processing::convert::{
    range_scale, rgb_to_ycbcr_rows, ChromaSiting, ConvertSpec, YuvLayout,
};

pub(crate) static SPIRV: &[u8] = include_bytes!("../../shaders/spirv/rgb_to_yuv420.spv");
/// The same conversion reading packed 8-bit pixels from a storage buffer.
static BUFFER_SPIRV: &[u8] = include_bytes!("../../shaders/spirv/rgb8_buffer_to_yuv.spv");
/// The buffer input's other layouts ([`BufferPass`]), same results.
static TUNED_BUFFER_SPIRV: &[u8] =
    include_bytes!("../../shaders/spirv/rgb8_buffer_to_yuv_tuned.spv");

/// How the buffer-input pass ([`ConvertInput::Rgb8Buffer`]) lays its work out on the GPU. Every
/// layout gives the same output; they exist to be timed side by side on a device
/// (`benches/gpu_convert.rs` prints a row for each), and [`RgbToYuv420::use_buffer_pass`]
/// picks one. The image input has one layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BufferPass {
    /// `shaders/rgb8_buffer_to_yuv.comp`: workgroups of 16x8 invocations, each converting 4x2
    /// pixels (one 16-byte load a row, plus one 4-byte load a row of the column to the left for
    /// left-sited 4:2:0 chroma).
    Tiles,
    /// `shaders/rgb8_buffer_to_yuv_tuned.comp` in 32x4 workgroups of 4x2-pixel invocations: a
    /// 32-lane subgroup is one line of 128 pixels, so a load instruction reads 512 contiguous
    /// bytes of one row and a luma store writes 128 (the layout of the plain CUDA kernel). What
    /// the library uses: the fastest on the H100 (1.07x the tiles at 4K), and within the
    /// reference there as on lavapipe.
    #[default]
    Lines,
    /// [`BufferPass::Lines`] with the left column of left-sited chroma taken from the
    /// neighbouring invocation through shared memory instead of a second load a row.
    LinesSharedLeft,
    /// 32x4 workgroups of invocations converting two 4x2-pixel blocks 128 pixels apart (8x2
    /// pixels, four 16-byte loads issued before any arithmetic: twice the bytes in flight a
    /// thread; each load and store instruction still contiguous), left column loaded.
    Wide8,
    /// [`BufferPass::Wide8`] with the left column shared as in [`BufferPass::LinesSharedLeft`].
    Wide8SharedLeft,
    // A layout that made bytes floats by bit operations (the byte in the mantissa of 2^23,
    // then 2^23 subtracted) was timed and removed: slower on the H100 (25.0 against 21.7 µs
    // at 4K), and the NVIDIA driver folded the subtraction into the weights, so 1.5% of P010
    // samples came out a code off the reference.
}

impl BufferPass {
    /// Every layout, [`BufferPass::Tiles`] first.
    pub const ALL: [BufferPass; 5] = [
        BufferPass::Tiles,
        BufferPass::Lines,
        BufferPass::LinesSharedLeft,
        BufferPass::Wide8,
        BufferPass::Wide8SharedLeft,
    ];

    /// A short name for tables: the workgroup shape and what each invocation does.
    pub fn name(self) -> &'static str {
        match self {
            BufferPass::Tiles => "tiles 16x8, 4x2 px",
            BufferPass::Lines => "lines 32x4, 4x2 px",
            BufferPass::LinesSharedLeft => "lines 32x4, 4x2 px, shared left",
            BufferPass::Wide8 => "lines 32x4, 8x2 px",
            BufferPass::Wide8SharedLeft => "lines 32x4, 8x2 px, shared left",
        }
    }

    /// The tuned shader's constants 3.. (blocks per invocation, shared left column, workgroup
    /// width and height), or None for the default shader.
    /// The workgroup width is even (I420 pairs neighbours) and the workgroup has at most the
    /// shader's MAX_INVOCATIONS (128).
    fn constants(self) -> Option<[u32; 4]> {
        match self {
            BufferPass::Tiles => None,
            BufferPass::Lines => Some([1, 0, 32, 4]),
            BufferPass::LinesSharedLeft => Some([1, 1, 32, 4]),
            BufferPass::Wide8 => Some([2, 0, 32, 4]),
            BufferPass::Wide8SharedLeft => Some([2, 1, 32, 4]),
        }
    }

    /// Pixels a workgroup covers across and down.
    fn tile(self) -> (u32, u32) {
        match self.constants() {
            None => (64, 16),
            Some([blocks, _, x, y]) => (4 * x * blocks, 2 * y),
        }
    }

    /// Workgroups of a `width` x `height` conversion.
    fn groups(self, width: u32, height: u32) -> (u32, u32) {
        let (tx, ty) = self.tile();
        (width.div_ceil(tx), height.div_ceil(ty))
    }

    /// Position in [`BufferPass::ALL`].
    fn index(self) -> u32 {
        match self {
            BufferPass::Tiles => 0,
            BufferPass::Lines => 1,
            BufferPass::LinesSharedLeft => 2,
            BufferPass::Wide8 => 3,
            BufferPass::Wide8SharedLeft => 4,
        }
    }
}

/// Where the conversion reads its RGB frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ConvertInput {
    /// A sampled image: any RGB format the GPU path takes, any tiling.
    #[default]
    Image,
    /// Packed 8-bit pixels (`Rgba8` or `Bgra8`) in a storage buffer, rows `pitch` bytes apart
    /// (a multiple of 4; a multiple of 16 lets the shader read 4 pixels in one load).
    Rgb8Buffer {
        /// The byte order is B, G, R, A (otherwise R, G, B, A).
        bgra: bool,
        /// Bytes from one row to the next.
        pitch: u32,
    },
}

impl ConvertInput {
    /// The buffer input for a `format` frame `width` pixels wide with rows padded to a
    /// multiple of `align` bytes (a power of two, at least 4), or None for a format it does
    /// not read.
    pub fn rgb8_buffer(format: PixelFormat, width: u32, align: u32) -> Option<Self> {
        let bgra = match format {
            PixelFormat::Bgra8 => true,
            PixelFormat::Rgba8 => false,
            _ => return None,
        };
        let align = align.max(4).next_power_of_two();
        let pitch = width.checked_mul(4)?.checked_next_multiple_of(align)?;
        Some(Self::Rgb8Buffer { bgra, pitch })
    }

    /// Whether a frame `height` rows tall fits one storage-buffer binding of the device (an
    /// image always does).
    pub(crate) fn fits(self, ctx: &GpuContext, height: u32) -> bool {
        match self {
            Self::Image => true,
            Self::Rgb8Buffer { pitch, .. } => {
                // SAFETY: a plain query on a valid physical device.
                let limits =
                    unsafe { ctx.instance.get_physical_device_properties(ctx.physical) }.limits;
                u64::from(pitch) * u64::from(height) <= u64::from(limits.max_storage_buffer_range)
            }
        }
    }

    /// The push constant word that tells the buffer shader the pitch (in words) and byte order.
    fn word(self) -> u32 {
        match self {
            Self::Image => 0,
            Self::Rgb8Buffer { bgra, pitch } => (pitch / 4) | (u32::from(bgra) << 31),
        }
    }
}

/// Push constants, laid out as the shader's `Params` block (std430-compatible: vec4s, uvec4s).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct Params {
    y_coef: [f32; 4],
    cb_coef: [f32; 4],
    cr_coef: [f32; 4],
    dims: [u32; 4],
    planes: [u32; 4],
    depth: [u32; 4],
}

impl Params {
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PARAMS_BYTES as usize);
        for v in self.y_coef.iter().chain(&self.cb_coef).chain(&self.cr_coef) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in self.dims.iter().chain(&self.planes).chain(&self.depth) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }
}

/// The shader's specialization constants for one output: chroma layout (0 4:2:0 interleaved,
/// 1 4:2:0 planar, 2 4:4:4), siting (0 left, 1 centre) and 2-byte samples (0/1). The shader's
/// defaults (3, 2, 2) read them from the push constants instead.
fn variant(layout: &YuvLayout, siting: ChromaSiting) -> [u32; 3] {
    let chroma = if !layout.subsampled() {
        2
    } else {
        u32::from(layout.planar())
    };
    // 4:4:4 has no chroma filter: one pipeline for both sitings.
    let siting = if chroma == 2 { 0 } else { siting as u32 };
    [chroma, siting, u32::from(layout.bytes_per_sample == 2)]
}

/// Index of a [`variant`] in [`RgbToYuv420`]'s cache: 12 slots for the image input, then 12 per
/// [`BufferPass`] of the buffer input.
fn variant_index(v: [u32; 3], input: ConvertInput, pass: BufferPass) -> usize {
    let kind = match input {
        ConvertInput::Image => 0,
        ConvertInput::Rgb8Buffer { .. } => 1 + pass.index(),
    };
    (kind * 12 + v[0] * 4 + v[1] * 2 + v[2]) as usize
}

/// Pipelines specialized per input kind (and buffer layout) and output, one cache slot per
/// [`variant_index`].
const VARIANTS: usize = 12 * (1 + BufferPass::ALL.len());
/// `RgbToYuv420::selected` when no specialized pipeline was prepared.
const NONE_SELECTED: usize = usize::MAX;

/// Workgroups of a `width` x `height` conversion: 16x8 invocations of 4x2 pixels, 64x16 pixels
/// a workgroup.
pub(crate) fn dispatch_groups(width: u32, height: u32) -> (u32, u32) {
    (width.div_ceil(64), height.div_ceil(16))
}

/// The result of one conversion.
#[derive(Clone, Debug)]
pub struct ConvertRun {
    /// The converted frame in its pitch-linear layout.
    pub output: Vec<u8>,
    /// The layout of `output`.
    pub layout: YuvLayout,
    /// GPU time of the dispatch in nanoseconds, where the queue has timestamps.
    pub gpu_ns: Option<f64>,
}

/// The RGB to YUV (4:2:0 or 4:4:4) converter.
pub struct RgbToYuv420 {
    pub(super) ctx: Arc<GpuContext>,
    /// The pipeline for every output (layout choices read from the push constants).
    pub(super) pipe: ComputePipeline,
    /// Pipelines specialized per output, built on first use.
    variants: Box<[OnceLock<ComputePipeline>; VARIANTS]>,
    /// The variant [`RgbToYuv420::params_bytes`] last prepared, for [`RgbToYuv420::pipeline`]
    /// (`NONE_SELECTED` when none was).
    selected: AtomicUsize,
    /// [`RgbToYuv420::run`] uses `pipe` rather than a specialized pipeline.
    general: bool,
    /// Rows of an 8-bit input are read from a storage buffer padded to this many bytes by
    /// [`RgbToYuv420::run`] and the benchmark (None: from a sampled image).
    buffer_rows: Option<u32>,
    /// The layout of the buffer-input pass.
    buffer_pass: BufferPass,
    pub(super) sampler: vk::Sampler,
    descriptor_pool: vk::DescriptorPool,
    set: vk::DescriptorSet,
    command_pool: vk::CommandPool,
    pub(super) cmd: vk::CommandBuffer,
    pub(super) fence: vk::Fence,
    queries: vk::QueryPool,
    pub(super) timestamps: bool,
}

/// Bytes of [`Params`] as pushed.
const PARAMS_BYTES: u32 = 96;

/// The descriptor types of the conversion's set: the input, the output.
const BINDINGS: [vk::DescriptorType; 2] = [
    vk::DescriptorType::COMBINED_IMAGE_SAMPLER,
    vk::DescriptorType::STORAGE_BUFFER,
];
/// The same for the buffer input.
const BUFFER_BINDINGS: [vk::DescriptorType; 2] = [
    vk::DescriptorType::STORAGE_BUFFER,
    vk::DescriptorType::STORAGE_BUFFER,
];

/// How long a run may take before it is a timeout error.
const RUN_TIMEOUT_NS: u64 = 10_000_000_000;

impl RgbToYuv420 {
    /// Builds the pipeline on `ctx`.
    pub fn new(ctx: &Arc<GpuContext>) -> Result<Self, GpuError> {
        let d = &ctx.device;
        let pipe = ComputePipeline::new(ctx, SPIRV, &BINDINGS, PARAMS_BYTES)?;
        let mut this = Self {
            ctx: Arc::clone(ctx),
            pipe,
            variants: Box::new(std::array::from_fn(|_| OnceLock::new())),
            selected: AtomicUsize::new(NONE_SELECTED),
            general: false,
            buffer_rows: None,
            buffer_pass: BufferPass::default(),
            sampler: vk::Sampler::null(),
            descriptor_pool: vk::DescriptorPool::null(),
            set: vk::DescriptorSet::null(),
            command_pool: vk::CommandPool::null(),
            cmd: vk::CommandBuffer::null(),
            fence: vk::Fence::null(),
            queries: vk::QueryPool::null(),
            timestamps: false,
        };
        // SAFETY: valid device; every create info lives for its call; objects are stored in
        // `this`, whose Drop destroys whatever was created if a later step fails.
        unsafe {
            this.sampler = nearest_sampler(ctx)?;
            let (pool, sets) = this.pipe.descriptor_sets(1)?;
            this.descriptor_pool = pool;
            this.set = sets[0];
            let (pool, cmds) = command_buffers(ctx, 1)?;
            this.command_pool = pool;
            this.cmd = cmds[0];
            this.fence = d
                .create_fence(&vk::FenceCreateInfo::default(), None)
                .map_err(GpuError::vk("vkCreateFence"))?;
            this.timestamps = queue_has_timestamps(ctx);
            if this.timestamps {
                this.queries = d
                    .create_query_pool(
                        &vk::QueryPoolCreateInfo::default()
                            .query_type(vk::QueryType::TIMESTAMP)
                            .query_count(2),
                        None,
                    )
                    .map_err(GpuError::vk("vkCreateQueryPool"))?;
            }
        }
        Ok(this)
    }

    /// Makes [`RgbToYuv420::run`] use the one pipeline for every output (layout read from the
    /// push constants, as the benchmark harness times it) instead of the one specialized for
    /// the output; both give the same results.
    pub fn use_general_pipeline(&mut self, general: bool) {
        self.general = general;
    }

    /// Makes [`RgbToYuv420::run`] and the benchmark read an `Rgba8` or `Bgra8` frame from a
    /// storage buffer whose rows are padded to a multiple of `row_align` bytes (4 or more),
    /// instead of from a sampled image (None). Other formats are still read from an image.
    pub fn use_buffer_input(&mut self, row_align: Option<u32>) {
        self.buffer_rows = row_align;
    }

    /// Makes [`RgbToYuv420::run`] and the benchmark convert a buffer input with the `pass`
    /// layout (the default is [`BufferPass::Lines`]); the output is the same with every one.
    pub fn use_buffer_pass(&mut self, pass: BufferPass) {
        self.buffer_pass = pass;
    }

    /// The layout [`RgbToYuv420::use_buffer_pass`] chose.
    pub fn buffer_pass(&self) -> BufferPass {
        self.buffer_pass
    }

    /// Workgroups of a `width` x `height` conversion from `input`.
    pub(super) fn groups_for(&self, input: ConvertInput, width: u32, height: u32) -> (u32, u32) {
        match input {
            ConvertInput::Image => dispatch_groups(width, height),
            ConvertInput::Rgb8Buffer { .. } => self.buffer_pass.groups(width, height),
        }
    }

    /// The input [`RgbToYuv420::run`] and the benchmark use for a `format` frame `width` wide.
    pub(super) fn input_for(&self, format: PixelFormat, width: u32, height: u32) -> ConvertInput {
        self.buffer_rows
            .and_then(|align| ConvertInput::rgb8_buffer(format, width, align))
            .filter(|input| input.fits(&self.ctx, height))
            .unwrap_or(ConvertInput::Image)
    }

    /// Converts one frame of tightly packed `input` pixels (`Rgba8`, `Bgra8`, `Rgb10a2` or
    /// `Rgba16f`) to `spec` (4:2:0 or 4:4:4), with the pipeline specialized for that output.
    /// The output buffer is first filled with `poison` bytes, so a byte the shader fails to
    /// write shows up.
    pub fn run(
        &mut self,
        input: &[u8],
        input_format: PixelFormat,
        width: u32,
        height: u32,
        spec: &ConvertSpec,
        poison: u8,
    ) -> Result<ConvertRun, GpuError> {
        let vk_format = super::conv::input_format(input_format)?;
        check_request(&self.ctx, spec.output, width, height)?;
        let expected = input_format.frame_bytes(width, height);
        if input.len() != expected {
            return Err(GpuError::Invalid {
                what: format!("input of {} bytes", input.len()),
                reason: format!("a {width}x{height} {input_format} frame has {expected} bytes"),
            });
        }
        let layout = YuvLayout::new(spec.output, width, height);
        let ctx = Arc::clone(&self.ctx);
        let source = self.input_for(input_format, width, height);
        let row = input_format.frame_bytes(width, 1);
        let (pitch, upload_usage) = match source {
            ConvertInput::Image => (row, vk::BufferUsageFlags::TRANSFER_SRC),
            ConvertInput::Rgb8Buffer { pitch, .. } => {
                (pitch as usize, vk::BufferUsageFlags::STORAGE_BUFFER)
            }
        };
        let mut upload = GpuBuffer::new(
            &ctx,
            "upload",
            (pitch * height as usize) as u64,
            upload_usage,
            MemoryLocation::CpuToGpu,
        )?;
        let staging = upload.mapped_mut().ok_or(GpuError::Allocation {
            what: "upload".into(),
            reason: "not host-visible".into(),
        })?;
        for (dst, src) in staging.chunks_mut(pitch).zip(input.chunks(row)) {
            dst[..row].copy_from_slice(src);
        }
        let image = match source {
            ConvertInput::Image => Some(GpuImage::new(
                &ctx,
                "input",
                vk_format,
                width,
                height,
                vk::ImageUsageFlags::SAMPLED | vk::ImageUsageFlags::TRANSFER_DST,
            )?),
            ConvertInput::Rgb8Buffer { .. } => None,
        };
        let output = GpuBuffer::new(
            &ctx,
            "output",
            u64::from(layout.size),
            vk::BufferUsageFlags::STORAGE_BUFFER
                | vk::BufferUsageFlags::TRANSFER_SRC
                | vk::BufferUsageFlags::TRANSFER_DST,
            MemoryLocation::GpuOnly,
        )?;
        let readback = GpuBuffer::new(
            &ctx,
            "readback",
            u64::from(layout.size),
            vk::BufferUsageFlags::TRANSFER_DST,
            MemoryLocation::GpuToCpu,
        )?;

        let params = self.params(width, height, spec, &layout, source);
        let groups = self.groups_for(source, width, height);
        let pipe = match source {
            ConvertInput::Image if self.general => &self.pipe,
            _ => self.specialized(&layout, spec.siting, source)?,
        };

        let d = &ctx.device;
        let poison_word = u32::from_ne_bytes([poison; 4]);
        // The image input's set is the converter's own; the buffer input's comes from a pool
        // of its pipeline's layout made for this run.
        let buffer_sets = match source {
            ConvertInput::Image => None,
            ConvertInput::Rgb8Buffer { .. } => Some(pipe.descriptor_sets(1)?),
        };
        let descriptors = match &image {
            Some(image) => [
                Descriptor::SampledImage(self.sampler, image.view),
                Descriptor::StorageBuffer(output.buffer),
            ],
            None => [
                Descriptor::StorageBuffer(upload.buffer),
                Descriptor::StorageBuffer(output.buffer),
            ],
        };
        let cmd_set = buffer_sets.as_ref().map_or(self.set, |(_, sets)| sets[0]);
        // SAFETY: the set is not in use: every earlier submission was waited for.
        unsafe { write_descriptors(d, cmd_set, &descriptors) };
        let (timestamps, queries) = (self.timestamps, self.queries);
        let result = self.submit_and_wait(|cmd| {
            // SAFETY: every handle recorded here lives until submit_and_wait has waited for the
            // fence; the barriers order upload -> sampling, fill -> shader writes, shader
            // writes -> copy -> host read (host writes to the upload buffer are visible to the
            // submission without a barrier).
            unsafe {
                d.cmd_fill_buffer(cmd, output.buffer, 0, vk::WHOLE_SIZE, poison_word);
                if let Some(image) = &image {
                    record_upload(d, cmd, upload.buffer, image.image, width, height);
                }
                buffer_barrier(
                    d,
                    cmd,
                    output.buffer,
                    vk::AccessFlags::TRANSFER_WRITE,
                    vk::AccessFlags::SHADER_WRITE,
                    vk::PipelineStageFlags::TRANSFER,
                    vk::PipelineStageFlags::COMPUTE_SHADER,
                );
                if timestamps {
                    d.cmd_reset_query_pool(cmd, queries, 0, 2);
                    d.cmd_write_timestamp(cmd, vk::PipelineStageFlags::TOP_OF_PIPE, queries, 0);
                }
                pipe.record_dispatch(d, cmd, cmd_set, &params.bytes(), groups);
                if timestamps {
                    d.cmd_write_timestamp(cmd, vk::PipelineStageFlags::BOTTOM_OF_PIPE, queries, 1);
                }
                record_readback(
                    d,
                    cmd,
                    output.buffer,
                    readback.buffer,
                    u64::from(layout.size),
                );
            }
        });
        if let Some((pool, _)) = buffer_sets {
            if !matches!(result, Err(GpuError::Timeout { .. })) {
                // SAFETY: the submission that used the set was waited for (or never made).
                unsafe { d.destroy_descriptor_pool(pool, None) };
            }
        }
        result?;
        let gpu_ns = if timestamps {
            Some(read_duration_at(&ctx, queries, 0)?)
        } else {
            None
        };
        let output_bytes = readback
            .mapped()
            .ok_or(GpuError::Allocation {
                what: "readback".into(),
                reason: "not host-visible".into(),
            })?
            .to_vec();
        Ok(ConvertRun {
            output: output_bytes,
            layout,
            gpu_ns,
        })
    }
}

impl Drop for RgbToYuv420 {
    fn drop(&mut self) {
        let d = &self.ctx.device;
        // SAFETY: every run waited for its fence, so nothing is in flight; null handles (from a
        // failed construction) are ignored by the destroy calls.
        unsafe {
            d.destroy_query_pool(self.queries, None);
            d.destroy_fence(self.fence, None);
            d.destroy_command_pool(self.command_pool, None);
            d.destroy_descriptor_pool(self.descriptor_pool, None);
            d.destroy_sampler(self.sampler, None);
        }
    }
}

impl RgbToYuv420 {
    /// A descriptor pool with `sets` sets of the conversion pipeline's layout.
    pub(crate) fn descriptor_sets(
        &self,
        sets: u32,
    ) -> Result<(vk::DescriptorPool, Vec<vk::DescriptorSet>), GpuError> {
        self.pipe.descriptor_sets(sets)
    }

    /// The (nearest, clamp-to-edge) sampler the pipeline reads its input with.
    pub(crate) fn sampler(&self) -> vk::Sampler {
        self.sampler
    }

    /// The conversion's compute pipeline: the one specialized for the output of the last
    /// [`RgbToYuv420::params_bytes`] call, or the pipeline for every output (whose push
    /// constants carry the layout too) when none was prepared.
    pub(crate) fn pipeline(&self) -> &ComputePipeline {
        self.variants
            .get(self.selected.load(Ordering::Relaxed))
            .and_then(OnceLock::get)
            .unwrap_or(&self.pipe)
    }

    /// The push constants for a frame, as bytes; also prepares the pipeline specialized for
    /// this output, which [`RgbToYuv420::pipeline`] then returns (where it cannot be built,
    /// the pipeline for every output is used, with the same results).
    pub(crate) fn params_bytes(
        &self,
        width: u32,
        height: u32,
        spec: &ConvertSpec,
        layout: &YuvLayout,
        input: ConvertInput,
    ) -> Vec<u8> {
        match self.specialized(layout, spec.siting, input) {
            Ok(_) => self.selected.store(
                variant_index(variant(layout, spec.siting), input, self.buffer_pass),
                Ordering::Relaxed,
            ),
            Err(e) if input != ConvertInput::Image => {
                // No general pipeline reads a buffer: the caller must not dispatch this.
                tracing::error!("conversion: no pipeline for the buffer input ({e})");
                self.selected.store(NONE_SELECTED, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!("conversion: no specialized pipeline ({e}); using the general one");
                self.selected.store(NONE_SELECTED, Ordering::Relaxed);
            }
        }
        self.params(width, height, spec, layout, input).bytes()
    }

    /// The pipeline specialized for `input`, `layout` and `siting` and the push constants of a
    /// `width` x `height` frame, without changing which pipeline [`RgbToYuv420::pipeline`]
    /// returns (a ring that reads CPU uploads from a buffer and GPU frames from images keeps
    /// both).
    pub(crate) fn pipeline_for(
        &self,
        width: u32,
        height: u32,
        spec: &ConvertSpec,
        layout: &YuvLayout,
        input: ConvertInput,
    ) -> Result<(&ComputePipeline, Vec<u8>), GpuError> {
        let pipe = self.specialized(layout, spec.siting, input)?;
        Ok((
            pipe,
            self.params(width, height, spec, layout, input).bytes(),
        ))
    }

    /// The pipeline specialized for `layout` and `siting`, built on first use.
    pub(super) fn specialized(
        &self,
        layout: &YuvLayout,
        siting: ChromaSiting,
        input: ConvertInput,
    ) -> Result<&ComputePipeline, GpuError> {
        let v = variant(layout, siting);
        let cell = &self.variants[variant_index(v, input, self.buffer_pass)];
        if cell.get().is_none() {
            let mut constants = v.to_vec();
            let (spirv, bindings) = match input {
                ConvertInput::Image => (SPIRV, &BINDINGS),
                ConvertInput::Rgb8Buffer { .. } => match self.buffer_pass.constants() {
                    None => (BUFFER_SPIRV, &BUFFER_BINDINGS),
                    Some(tuned) => {
                        constants.extend_from_slice(&tuned);
                        (TUNED_BUFFER_SPIRV, &BUFFER_BINDINGS)
                    }
                },
            };
            let pipe =
                ComputePipeline::specialized(&self.ctx, spirv, bindings, PARAMS_BYTES, &constants)?;
            // Another thread may have built it meanwhile: either pipeline is the same.
            let _ = cell.set(pipe);
        }
        cell.get().ok_or_else(|| GpuError::Invalid {
            what: "specialized conversion pipeline".into(),
            reason: "its cache slot is empty after it was built".into(),
        })
    }

    fn params(
        &self,
        width: u32,
        height: u32,
        spec: &ConvertSpec,
        layout: &YuvLayout,
        input: ConvertInput,
    ) -> Params {
        let rows = rgb_to_ycbcr_rows(spec.matrix);
        let (bits, shift) = layout.depth();
        let (ys, yo, cs, co) = range_scale(spec.range, bits);
        // The chroma filter's weights: the shader sums 8 (left sited: [1 2 1] across, 2 rows),
        // 4 (centre: 2x2) or 1 (4:4:4) pixels.
        let chroma_weight = match (layout.subsampled(), spec.siting) {
            (false, _) => 1.0,
            (true, ChromaSiting::Left) => 0.125,
            (true, ChromaSiting::Centre) => 0.25,
        };
        let f = super::shader_f32;
        let v4 = |r: [f64; 3], scale: f64, offset: f64| {
            [
                f(r[0] * scale),
                f(r[1] * scale),
                f(r[2] * scale),
                f(offset + 0.5),
            ]
        };
        let v = variant(layout, spec.siting);
        Params {
            y_coef: v4(rows[0], ys, yo),
            cb_coef: v4(rows[1], cs * chroma_weight, co),
            cr_coef: v4(rows[2], cs * chroma_weight, co),
            dims: [
                width,
                height,
                layout.luma_pitch / 4,
                layout.chroma_offset / 4,
            ],
            planes: [layout.chroma_pitch / 4, layout.v_offset / 4, v[1], v[0]],
            depth: [(1 << bits) - 1, shift, v[2], input.word()],
        }
    }

    /// Records with `record` into the command buffer, submits it and waits for it.
    pub(super) fn submit_and_wait(
        &self,
        record: impl FnOnce(vk::CommandBuffer),
    ) -> Result<(), GpuError> {
        // SAFETY: the command buffer is not in flight (every submission is waited for), and
        // what `record` records lives until the wait.
        unsafe {
            submit_and_wait(
                &self.ctx,
                self.cmd,
                self.fence,
                RUN_TIMEOUT_NS,
                "a conversion",
                record,
            )
        }
    }

    #[cfg(any(feature = "test-support", feature = "bench"))]
    pub(super) fn wait_fence(&self) -> Result<(), GpuError> {
        super::commands::wait_and_reset(&self.ctx, self.fence, RUN_TIMEOUT_NS, "a conversion")
    }
}

/// Checks that a frame in `layout` fits one storage-buffer binding of the device.
fn check_storage_range(
    limits: &vk::PhysicalDeviceLimits,
    layout: &YuvLayout,
) -> Result<(), GpuError> {
    if layout.size > limits.max_storage_buffer_range {
        return Err(GpuError::Unsupported {
            what: format!(
                "write a {}x{} {} frame",
                layout.width, layout.height, layout.format
            ),
            reason: format!(
                "it is {} bytes, over the device's maxStorageBufferRange of {}; use a smaller size or a format with fewer bits",
                layout.size, limits.max_storage_buffer_range
            ),
        });
    }
    Ok(())
}

/// Checks an output format and frame size against the operation and the device.
pub(crate) fn check_request(
    ctx: &GpuContext,
    output: PixelFormat,
    width: u32,
    height: u32,
) -> Result<(), GpuError> {
    if !crate::processing::convert::GPU_OUTPUTS.contains(&output) {
        return Err(GpuError::Unsupported {
            what: format!("convert to {output}"),
            reason: "this operation writes nv12, p010, i420, i420p10, i444, i444p10 or i444p16"
                .into(),
        });
    }
    output
        .check_size(width, height)
        .map_err(|e| GpuError::Invalid {
            what: format!("size {width}x{height}"),
            reason: e.to_string(),
        })?;
    // SAFETY: a plain query on a valid physical device.
    let limits = unsafe { ctx.instance.get_physical_device_properties(ctx.physical) }.limits;
    check_device_limits(
        &limits,
        &[(width, height)],
        &YuvLayout::new(output, width, height),
    )
}

/// Checks frame sizes against the device's largest 2D image, and an output layout against
/// its largest storage-buffer binding.
pub(crate) fn check_device_limits(
    limits: &vk::PhysicalDeviceLimits,
    sizes: &[(u32, u32)],
    output: &YuvLayout,
) -> Result<(), GpuError> {
    for &(w, h) in sizes {
        if w.max(h) > limits.max_image_dimension2_d {
            return Err(GpuError::Invalid {
                what: format!("size {w}x{h}"),
                reason: format!(
                    "the device's largest 2D image is {0}x{0}",
                    limits.max_image_dimension2_d
                ),
            });
        }
    }
    check_storage_range(limits, output)
}
