//! The fused processing pass (`shaders/process.comp`): scale, tone map, sharpen and convert in
//! one dispatch. This module turns a [`ProcessSpec`] into the shader's parameter block and tap
//! tables, checks the plan against the device, and records the pass (with the peak
//! measurement's double buffer) into a caller's command buffer.
//!
//! Two pipelines read the same parameters and tables: the tile pass samples an image (any input
//! format, sharpening); the buffer pass (`shaders/process_buffer.comp`) reads packed RGBA8 /
//! BGRA8 from a storage buffer, 4x2 output pixels a lane in registers, and is built where the
//! plan allows ([`BufferPlan`]): the ring reads CPU uploads with it, without copying them into
//! an image.

use std::sync::Arc;

use ash::vk;
use gpu_allocator::MemoryLocation;

use super::commands::{buffer_barrier, upload_once};
use super::pipeline::{ComputePipeline, Descriptor};
use super::resources::{nearest_sampler, GpuBuffer};
use super::{GpuContext, GpuError};
use crate::color::TransferFunction;
use crate::format::PixelFormat;
use crate::processing::convert::{
    range_scale, rgb_to_ycbcr_rows, ycbcr_to_rgb_rows, ChromaSiting, YuvLayout,
};
use crate::processing::pipeline::ProcessSpec;
use crate::processing::scale::Taps;
use crate::processing::tonemap::{
    gamut_matrix, luminance_weights, pq_eotf, pq_inverse_eotf, PeakSource, HLG_GAMMA,
    HLG_PEAK_NITS, SDR_PEAK_NITS,
};

pub(crate) static SPIRV: &[u8] = include_bytes!("../../shaders/spirv/process.spv");
/// The same pass reading packed 8-bit RGB from a storage buffer (`shaders/process_buffer.comp`).
pub(crate) static BUFFER_SPIRV: &[u8] = include_bytes!("../../shaders/spirv/process_buffer.spv");
/// The fused pass storing into a picture's plane views (`shaders/process_image.comp`).
pub(crate) static IMAGE_SPIRV: &[u8] = include_bytes!("../../shaders/spirv/process_image.spv");

/// Output tile edge of one workgroup (the shader's `TILE`).
const TILE: u32 = 16;
/// Source rows one tile may filter (the shader's `MAX_HROWS`).
const MAX_HROWS: u32 = 96;
/// Fewest H rows the shader is built with: sharpening reuses H's memory for 16 x 17 values.
const MIN_HROWS: u32 = 15;

/// O columns of a tile (the shader's `OC`).
const OC: u32 = TILE + 3;
/// O rows of a tile (the shader's `OR`).
const OR: u32 = TILE + 2;
/// Shared memory the shader declares, bytes: H rows, O, the peak and the curve. (H
/// fetches the source from the image and the taps from their table: a source tile and staged
/// taps in workgroup memory measured 2-4x slower on the H200.)
const fn shared_bytes(rows: u32) -> u32 {
    3 * rows * OC * 4 + 3 * OR * OC * 4 + 4 + 16
}
/// Bytes of the shader's `Params` block (std140: twenty-one 16-byte vectors).
const PARAMS_BYTES: usize = 336;
/// Intervals of the PQ EOTF table (the shader's `PQ_STEPS`): linear interpolation between 4097
/// samples is within 0.05 of a code at 8 bits of the computed curve (0.2 at 10 bits), worst
/// next to black, and off by more than 0.01 code for 0.02% of signals.
const PQ_STEPS: u32 = 4096;
/// Whether PQ sources read the EOTF from the table rather than computing it: four table reads
/// (two words each, from a 16 KiB table) against four evaluations of two `pow` and a division
/// per output pixel. Flip to compare the two on a device.
const PQ_TABLE: bool = true;

/// Bytes of the push constants (read and write slot of the peak).
const PUSH_BYTES: u32 = 8;

/// Output pixels of one lane of the buffer pass (a 4x2 block), and lanes of its workgroup (16x8).
const BLOCK: (u32, u32) = (4, 2);
const BUFFER_LANES: (u32, u32) = (16, 8);
/// Source columns a block of the buffer pass may load as 16-byte words, at most (they are held
/// as registers); a wider span reads each tap's texel on its own.
const MAX_WINDOW: u32 = 32;
/// Source rows a block's two output rows may read in the buffer pass, at most; a plan reading
/// more runs the image pass.
const MAX_SPAN_Y: u32 = 32;
/// Taps a output pixel of the buffer pass may have (across times down), at most. Measured on
/// an H100 (docs/PERFORMANCE.md, issue 21): with 16 (bilinear, 2:1) the buffer pass took 0.68x
/// the image pass's time, with 64 (bicubic, 2:1) 0.82x, with 144 (Lanczos-3, 2:1) 1.1x at 4K
/// and 1.7x at 1080p (a lane's registers no longer hold its rows), so such plans run the image
/// pass.
const MAX_BUFFER_TAPS: usize = 64;

/// The shader's `STAGES` when every stage runs (what the library builds).
pub(crate) const ALL_STAGES: u32 = 3;

#[cfg(any(feature = "test-support", feature = "bench"))]
/// Where a benchmark cuts the fused pass short, to see what each stage costs
/// ([`super::ConvertRing::with_fused_stages`]; feature `test-support`). Only
/// [`FusedStages::All`] writes a picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum FusedStages {
    /// H alone: the source read from the image and filtered across into workgroup memory.
    Across = 1,
    /// H and V: filtered down as well, and tone mapped where the plan does.
    AcrossAndDown = 2,
    /// Every stage: sharpening, conversion and the stores too.
    All = 3,
}

/// Where the fused pass writes: a buffer in the layout of [`YuvLayout`], or a picture's plane
/// views (the storage views of a [`super::PlanarImage`]: luma, CbCr).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PassOutput {
    Buffer(vk::Buffer),
    Planes([vk::ImageView; 2]),
}

/// The fused pass, set up for one [`ProcessSpec`].
pub(crate) struct ProcessingPass {
    ctx: Arc<GpuContext>,
    pipe: ComputePipeline,
    sampler: vk::Sampler,
    params: GpuBuffer,
    taps: GpuBuffer,
    peak: GpuBuffer,
    measuring: bool,
    first_peak: u32,
    groups: (u32, u32),
    /// The buffer-input pipeline and its workgroup count, where the plan and input allow it
    /// ([`BufferPlan`]).
    buffer: Option<(ComputePipeline, (u32, u32))>,
}

impl ProcessingPass {
    /// Builds the pass for `spec` reading frames of `input`, or says why the device or the plan
    /// cannot run it. `input` is an RGB format sampled as itself, or one of
    /// [`crate::processing::convert::GPU_YUV_INPUTS`] as the image
    /// [`super::conv::upload_image`] describes (its matrix and range are the output's,
    /// `spec.convert`). `stages` is the shader's `STAGES` ([`ALL_STAGES`] but in benchmarks).
    /// With `buffer_input`, a second pipeline reads packed RGBA8/BGRA8 frames from a storage
    /// buffer where the plan allows ([`BufferPlan::of`]). With `image_output`, it stores into a
    /// picture's plane views instead of a buffer (NV12 or P010 output; no buffer input).
    pub(crate) fn new(
        ctx: &Arc<GpuContext>,
        spec: &ProcessSpec,
        input: PixelFormat,
        stages: u32,
        buffer_input: bool,
        image_output: bool,
    ) -> Result<Self, GpuError> {
        if image_output {
            check_image_output(ctx, spec, stages)?;
        }
        let input_mode = input_mode(input)?;
        spec.check().map_err(|reason| GpuError::Invalid {
            what: "processing".into(),
            reason,
        })?;
        // SAFETY: a plain query on a valid physical device.
        let limits = unsafe { ctx.instance.get_physical_device_properties(ctx.physical) }.limits;
        super::convert::check_device_limits(
            &limits,
            &[
                (spec.input_width, spec.input_height),
                (spec.output_width, spec.output_height),
            ],
            &YuvLayout::new(spec.convert.output, spec.output_width, spec.output_height),
        )?;
        let rect = spec.rect();
        let tx = Taps::new(spec.input_width, rect.width, spec.filter);
        let ty = Taps::new(spec.input_height, rect.height, spec.filter);
        let rows = tile_source_rows(spec, &ty);
        if rows > MAX_HROWS {
            return Err(GpuError::Unsupported {
                what: format!(
                    "scale {}x{} to {}x{} with {} in one pass",
                    spec.input_width, spec.input_height, rect.width, rect.height, spec.filter
                ),
                reason: format!(
                    "a tile would filter {rows} source rows, the shader holds {MAX_HROWS}; use a narrower filter or scale in two steps"
                ),
            });
        }
        let layout = YuvLayout::new(spec.convert.output, spec.output_width, spec.output_height);
        let modes = Modes::of(spec, &layout);
        let block = params_block(spec, &layout, &modes, &tx, &ty, input);
        let hrows = rows.max(MIN_HROWS);
        let shared = shared_bytes(hrows);
        // The modes are also specialization constants: what a spec does not use is compiled
        // out (fewer registers, more workgroups in flight).
        let constants = [
            modes.tone,
            u32::from(spec.sharpen > 0.0),
            modes.chroma,
            u32::from(layout.bytes_per_sample == 2),
            u32::from(modes.measure),
            hrows,
            input_mode,
            u32::from(modes.pq_table),
            super::vk_u32(tx.count),
            super::vk_u32(ty.count),
            stages,
        ];
        if limits.max_compute_shared_memory_size < shared {
            return Err(GpuError::Unsupported {
                what: "run the fused processing pass".into(),
                reason: format!(
                    "this plan needs {shared} bytes of workgroup memory, the device has {}",
                    limits.max_compute_shared_memory_size
                ),
            });
        }
        let (storage, uniform) = (
            vk::DescriptorType::STORAGE_BUFFER,
            vk::DescriptorType::UNIFORM_BUFFER,
        );
        let sampled = vk::DescriptorType::COMBINED_IMAGE_SAMPLER;
        let plane = vk::DescriptorType::STORAGE_IMAGE;
        let pipe = if image_output {
            ComputePipeline::specialized(
                ctx,
                IMAGE_SPIRV,
                &[sampled, plane, uniform, storage, storage, plane],
                PUSH_BYTES,
                &constants,
            )?
        } else {
            ComputePipeline::specialized(
                ctx,
                SPIRV,
                &[sampled, storage, uniform, storage, storage],
                PUSH_BYTES,
                &constants,
            )?
        };
        let plan = BufferPlan::of(spec, input, &layout, &tx, &ty)
            .filter(|_| buffer_input && !image_output && stages == ALL_STAGES)
            .filter(|plan| plan.fits(&limits, spec.input_height));
        let buffer = match plan {
            Some(plan) => {
                let mut all = constants.to_vec();
                all.extend(plan.constants());
                let pipe = ComputePipeline::specialized(
                    ctx,
                    BUFFER_SPIRV,
                    &[storage, storage, uniform, storage, storage],
                    PUSH_BYTES,
                    &all,
                )?;
                let groups = (
                    spec.output_width.div_ceil(BLOCK.0 * BUFFER_LANES.0),
                    spec.output_height.div_ceil(BLOCK.1 * BUFFER_LANES.1),
                );
                Some((pipe, groups))
            }
            None => None,
        };
        let mut table = tap_table(&tx, &ty);
        if modes.pq_table {
            table.extend(
                (0..=PQ_STEPS).map(|i| {
                    super::shader_f32(pq_eotf(f64::from(i) / f64::from(PQ_STEPS))).to_bits()
                }),
            );
        }
        // Parameters and taps live in device memory: read per pixel, they must not cross the bus.
        let device = MemoryLocation::GpuOnly;
        let dst = vk::BufferUsageFlags::TRANSFER_DST;
        let params = GpuBuffer::new(
            ctx,
            "process params",
            PARAMS_BYTES as u64,
            vk::BufferUsageFlags::UNIFORM_BUFFER | dst,
            device,
        )?;
        let taps = GpuBuffer::new(
            ctx,
            "process taps",
            table.len() as u64 * 4,
            vk::BufferUsageFlags::STORAGE_BUFFER | dst,
            device,
        )?;
        let peak = GpuBuffer::new(
            ctx,
            "process peak",
            8,
            vk::BufferUsageFlags::STORAGE_BUFFER | dst,
            device,
        )?;
        upload_once(ctx, params.buffer, &block)?;
        let bytes: Vec<u8> = table.iter().flat_map(|w| w.to_le_bytes()).collect();
        upload_once(ctx, taps.buffer, &bytes)?;
        let measuring = modes.measure;
        let first_peak = super::shader_f32(pq_inverse_eotf(modes.peak_nits / 10000.0)).to_bits();
        let sampler = nearest_sampler(ctx)?;
        Ok(Self {
            ctx: Arc::clone(ctx),
            pipe,
            sampler,
            params,
            taps,
            peak,
            measuring,
            first_peak,
            groups: (
                spec.output_width.div_ceil(TILE),
                spec.output_height.div_ceil(TILE),
            ),
            buffer,
        })
    }

    /// A descriptor pool with `sets` sets of the buffer-input pipeline's layout, where it was
    /// built.
    pub(crate) fn buffer_descriptor_sets(
        &self,
        sets: u32,
    ) -> Result<Option<(vk::DescriptorPool, Vec<vk::DescriptorSet>)>, GpuError> {
        self.buffer
            .as_ref()
            .map(|(pipe, _)| pipe.descriptor_sets(sets))
            .transpose()
    }

    /// The descriptors of a buffer-input set that reads packed RGB from `input` and writes
    /// `output`.
    pub(crate) fn buffer_descriptors(
        &self,
        input: vk::Buffer,
        output: vk::Buffer,
    ) -> Vec<Descriptor> {
        vec![
            Descriptor::StorageBuffer(input),
            Descriptor::StorageBuffer(output),
            Descriptor::UniformBuffer(self.params.buffer),
            Descriptor::StorageBuffer(self.taps.buffer),
            Descriptor::StorageBuffer(self.peak.buffer),
        ]
    }

    /// A descriptor pool with `sets` sets of the pass's layout.
    pub(crate) fn descriptor_sets(
        &self,
        sets: u32,
    ) -> Result<(vk::DescriptorPool, Vec<vk::DescriptorSet>), GpuError> {
        self.pipe.descriptor_sets(sets)
    }

    /// The descriptors of a set that reads `input` and writes `output` (a buffer, or plane views
    /// for a pass made with `image_output`).
    pub(crate) fn descriptors(&self, input: vk::ImageView, output: PassOutput) -> Vec<Descriptor> {
        let (first, planes) = match output {
            PassOutput::Buffer(b) => (Descriptor::StorageBuffer(b), None),
            PassOutput::Planes([luma, chroma]) => (
                Descriptor::StorageImage(luma),
                Some(Descriptor::StorageImage(chroma)),
            ),
        };
        let mut all = vec![
            Descriptor::SampledImage(self.sampler, input),
            first,
            Descriptor::UniformBuffer(self.params.buffer),
            Descriptor::StorageBuffer(self.taps.buffer),
            Descriptor::StorageBuffer(self.peak.buffer),
        ];
        all.extend(planes);
        all
    }

    /// Records frame `n` of the stream (frames must be recorded, and submitted, in order):
    /// the peak buffer's upkeep when measuring, then the dispatch of the image pipeline, or
    /// with `from_buffer` of the buffer-input one (where it was built).
    ///
    /// # Safety
    /// `cmd` is recording on the context's device; `set` was written with
    /// [`ProcessingPass::descriptors`] (with `from_buffer`,
    /// [`ProcessingPass::buffer_descriptors`] into a set of
    /// [`ProcessingPass::buffer_descriptor_sets`]) and is not in use by another pending
    /// submission.
    pub(crate) unsafe fn record(
        &self,
        cmd: vk::CommandBuffer,
        set: vk::DescriptorSet,
        n: u64,
        from_buffer: bool,
    ) {
        let d = &self.ctx.device;
        let write = (n % 2) as u32;
        let read = 1 - write;
        // SAFETY: forwarded from the caller; the peak buffer lives as long as `self`.
        unsafe {
            if self.measuring {
                let peak = self.peak.buffer;
                let shader = vk::AccessFlags::SHADER_READ | vk::AccessFlags::SHADER_WRITE;
                let (compute, transfer) = (
                    vk::PipelineStageFlags::COMPUTE_SHADER,
                    vk::PipelineStageFlags::TRANSFER,
                );
                // Earlier frames' reads and writes of the peak come before this frame's reset.
                let write_access = vk::AccessFlags::TRANSFER_WRITE;
                buffer_barrier(d, cmd, peak, shader, write_access, compute, transfer);
                if n == 0 {
                    d.cmd_fill_buffer(cmd, peak, 0, 8, self.first_peak);
                }
                d.cmd_fill_buffer(cmd, peak, 4 * u64::from(write), 4, 0);
                buffer_barrier(d, cmd, peak, write_access, shader, transfer, compute);
            }
            let mut push = [0u8; PUSH_BYTES as usize];
            push[..4].copy_from_slice(&read.to_le_bytes());
            push[4..].copy_from_slice(&write.to_le_bytes());
            match self.buffer.as_ref().filter(|_| from_buffer) {
                Some((pipe, groups)) => pipe.record_dispatch(d, cmd, set, &push, *groups),
                None => self.pipe.record_dispatch(d, cmd, set, &push, self.groups),
            }
        }
    }
}

impl Drop for ProcessingPass {
    fn drop(&mut self) {
        // SAFETY: the owner waits for its submissions before dropping the pass.
        unsafe { self.ctx.device.destroy_sampler(self.sampler, None) };
    }
}

/// The image-output pass's conditions: a two-plane 4:2:0 output (NV12, P010), the whole pass,
/// and stores of formats the shader does not name.
fn check_image_output(ctx: &GpuContext, spec: &ProcessSpec, stages: u32) -> Result<(), GpuError> {
    let output = spec.convert.output;
    if !matches!(output, PixelFormat::Nv12 | PixelFormat::P010) {
        return Err(GpuError::Unsupported {
            what: format!("the fused pass writing {output} into a picture image"),
            reason: "picture images are NV12 or P010".into(),
        });
    }
    if stages != ALL_STAGES {
        return Err(GpuError::Invalid {
            what: format!("a pass cut after stage {stages} into a picture image"),
            reason: "a picture image takes the whole pass".into(),
        });
    }
    if !ctx.image_stores() {
        return Err(GpuError::Unsupported {
            what: "the fused pass writing into a picture image".into(),
            reason: format!(
                "{} has shaderStorageImageReadWithoutFormat or ...WriteWithoutFormat off (or the device is the application's, whose features GhostStream does not know)",
                ctx.device_info().name
            ),
        });
    }
    Ok(())
}

/// How the buffer-input pass (`shaders/process_buffer.comp`) reads a plan's source: its
/// specialization constants 11 to 19.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BufferPlan {
    /// Bytes B, G, R, A (else R, G, B, A).
    bgra: bool,
    /// Source row pitch, pixels (the uploads' rows are tightly packed).
    pitch: u32,
    /// 16-byte loads covering a block's source columns (uniform taps only).
    span4: u32,
    /// Source rows a block's two output rows read, at most.
    span_y: u32,
    /// Blocks make the column left of theirs too (left-sited 4:2:0 chroma reads it).
    left: bool,
    /// One set of horizontal taps for every column, their starts `step_x` apart: the block's
    /// taps read registers the specialization fixes.
    uniform_x: bool,
    step_x: u32,
    /// A block's first column's first source column, less the 4-aligned start of its loads.
    phase_x: u32,
    /// Rows start 16-byte aligned.
    vec4: bool,
}

impl BufferPlan {
    /// The plan for `spec` reading `input` frames, or `None` where the buffer pass does not
    /// run it: an input other than RGBA8/BGRA8, sharpening, planar 4:2:0 with 1-byte samples,
    /// more taps a pixel than [`MAX_BUFFER_TAPS`] or more source rows a block than
    /// [`MAX_SPAN_Y`].
    fn of(
        spec: &ProcessSpec,
        input: PixelFormat,
        layout: &YuvLayout,
        tx: &Taps,
        ty: &Taps,
    ) -> Option<Self> {
        let bgra = match input {
            PixelFormat::Bgra8 => true,
            PixelFormat::Rgba8 => false,
            _ => return None,
        };
        let planar_bytes = layout.subsampled() && layout.planar() && layout.bytes_per_sample == 1;
        if spec.sharpen > 0.0 || planar_bytes || tx.count * ty.count > MAX_BUFFER_TAPS {
            return None;
        }
        let left = layout.subsampled() && spec.convert.siting == ChromaSiting::Left;
        let rect = spec.rect();
        let columns = BLOCK.0 + u32::from(left);
        let general = (false, 1, 0, 1);
        let (uniform_x, step_x, phase_x, span4) = match uniform_step(tx) {
            Some(step) => {
                // A block's first column is 4m - left in the output, 4m - left - rect.x in
                // the rectangle: its start modulo 4 is the same for every m.
                let lead = i64::from(u32::from(left) + rect.x);
                let first = i64::from(tx.start[0]);
                let phase =
                    u32::try_from((first - i64::from(step) * lead).rem_euclid(4)).unwrap_or(0);
                let span = u32::try_from(tx.count)
                    .ok()
                    .and_then(|taps| step.checked_mul(columns - 1)?.checked_add(phase + taps));
                match span {
                    Some(span) if span.div_ceil(4) * 4 <= MAX_WINDOW => {
                        (true, step, phase, span.div_ceil(4))
                    }
                    _ => general,
                }
            }
            None => general,
        };
        let span_y = block_source_rows(spec, ty);
        if span_y > MAX_SPAN_Y {
            return None;
        }
        Some(Self {
            bgra,
            pitch: spec.input_width,
            span4,
            span_y,
            left,
            uniform_x,
            step_x,
            phase_x,
            vec4: spec.input_width % 4 == 0,
        })
    }

    /// Whether one frame fits a storage-buffer binding of the device.
    fn fits(&self, limits: &vk::PhysicalDeviceLimits, height: u32) -> bool {
        u64::from(self.pitch) * 4 * u64::from(height) <= u64::from(limits.max_storage_buffer_range)
    }

    /// Specialization constants 11 to 19, in order.
    fn constants(&self) -> [u32; 9] {
        [
            u32::from(self.bgra),
            self.pitch,
            self.span4,
            self.span_y,
            u32::from(self.left),
            u32::from(self.uniform_x),
            self.step_x,
            self.phase_x,
            u32::from(self.vec4),
        ]
    }
}

/// The step between consecutive columns' first source columns when every column has the same
/// weights (as the shader reads them) and the starts step evenly; `None` otherwise.
fn uniform_step(t: &Taps) -> Option<u32> {
    let bits = |o: usize| -> Vec<u32> {
        t.of(o)
            .iter()
            .map(|&w| super::shader_f32(w).to_bits())
            .collect()
    };
    let first = bits(0);
    let step = match t.start.len() {
        0 => return None,
        1 => 1,
        _ => u32::try_from(t.start[1] - t.start[0]).ok()?,
    };
    let even = t
        .start
        .iter()
        .zip(0i64..)
        .all(|(&s, o)| i64::from(s) == i64::from(t.start[0]) + i64::from(step) * o);
    (even && (1..t.start.len()).all(|o| bits(o) == first)).then_some(step)
}

/// The most source rows the two output rows of one buffer-pass block read.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "rows inside the rectangle index its tap table; the counts are source rows (a u32 size)"
)]
fn block_source_rows(spec: &ProcessSpec, ty: &Taps) -> u32 {
    let rect = spec.rect();
    let h = spec.output_height;
    let inside = |y: u32| y >= rect.y && y < rect.y + rect.height;
    let count = i64::try_from(ty.count).unwrap_or(i64::MAX);
    let mut most = 0;
    for y0 in (0..h).step_by(BLOCK.1 as usize) {
        let y1 = (y0 + 1).min(h - 1);
        let rows = match (inside(y0), inside(y1)) {
            (true, true) => {
                let s = |y: u32| i64::from(ty.start[(y - rect.y) as usize]);
                s(y1) - s(y0) + count
            }
            (false, false) => 0,
            _ => count,
        };
        most = most.max(rows as u32);
    }
    most
}

/// The shader's `INPUT` for an input format: 0 RGB, 1 NV12, 2 I420, 3 P010, 4 I444.
fn input_mode(input: PixelFormat) -> Result<u32, GpuError> {
    Ok(match input {
        PixelFormat::Nv12 => 1,
        PixelFormat::I420 => 2,
        PixelFormat::P010 => 3,
        PixelFormat::I444 => 4,
        other => {
            super::conv::input_format(other)?;
            0
        }
    })
}

/// The most source rows any tile of the output filters (what the shader's H stage holds).
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    reason = "lo and hi are clamped into the rectangle's rows; rows counts source rows (a u32 size)"
)]
fn tile_source_rows(spec: &ProcessSpec, ty: &Taps) -> u32 {
    let rect = spec.rect();
    let h = i64::from(spec.output_height);
    let (ry, rh) = (i64::from(rect.y), i64::from(rect.height));
    let mut most = 0;
    for y0 in (0..h).step_by(TILE as usize) {
        let lo = (y0 - 1).clamp(0, h - 1).max(ry) - ry;
        let hi = (y0 + i64::from(TILE)).clamp(0, h - 1).min(ry + rh - 1) - ry;
        if lo <= hi {
            let rows = i64::from(ty.start[hi as usize]) + ty.count as i64
                - i64::from(ty.start[lo as usize]);
            most = most.max(rows as u32);
        }
    }
    most
}

/// The tap tables as the shader reads them: per output column of the rectangle, the first
/// source index then the weights (f32 bits); then the same per row.
fn tap_table(tx: &Taps, ty: &Taps) -> Vec<u32> {
    let mut out = Vec::new();
    for t in [tx, ty] {
        for (o, &start) in t.start.iter().enumerate() {
            // Its bits: the shader reads it back as a signed index (it may be negative).
            out.push(u32::from_ne_bytes(start.to_ne_bytes()));
            out.extend(t.of(o).iter().map(|&w| super::shader_f32(w).to_bits()));
        }
    }
    out
}

/// The plan's modes, as the shader's `Params.fmt.w`/`Params.mode` and specialization
/// constants take them.
struct Modes {
    /// Chroma layout: 0 4:2:0 interleaved, 1 4:2:0 planar, 2 4:4:4.
    chroma: u32,
    /// Tone mapping: 0 off, 1 PQ, 2 HLG.
    tone: u32,
    /// The peak is measured on the GPU (PQ only; HLG has its nominal peak).
    measure: bool,
    /// The SDR output uses the sRGB curve rather than BT.1886's inverse.
    srgb: bool,
    /// The metadata peak, or the first frame's when measured, in nits.
    peak_nits: f64,
    /// The PQ EOTF comes from the table after the tap tables.
    pq_table: bool,
}

impl Modes {
    fn of(spec: &ProcessSpec, layout: &YuvLayout) -> Self {
        let chroma = if !layout.subsampled() {
            2
        } else if layout.planar() {
            1
        } else {
            0
        };
        let Some(t) = spec.tonemap else {
            return Self {
                chroma,
                tone: 0,
                measure: false,
                srgb: false,
                peak_nits: 0.0,
                pq_table: false,
            };
        };
        let tone = if t.source == TransferFunction::Hlg {
            2
        } else {
            1
        };
        let (measured, peak_nits) = match t.peak {
            PeakSource::Metadata(n) => (false, n),
            PeakSource::Measured { first_frame } => (true, first_frame),
        };
        Self {
            chroma,
            tone,
            measure: measured && tone == 1,
            srgb: t.output_transfer == TransferFunction::Srgb,
            peak_nits,
            pq_table: PQ_TABLE && tone == 1,
        }
    }
}

/// The BT.2390 EETF's constants for the metadata (PQ) or nominal (HLG) peak, as the shader's
/// `Params.curve`: on, the source peak in PQ, max_lum, ks (a measured peak's are computed on
/// the GPU per frame).
fn eetf_params(spec: &ProcessSpec, modes: &Modes) -> [f64; 4] {
    if spec.tonemap.is_none() {
        return [0.0; 4];
    }
    let source_peak = if modes.tone == 2 {
        HLG_PEAK_NITS
    } else {
        modes.peak_nits
    };
    let sw = pq_inverse_eotf(source_peak / 10000.0);
    let max_lum = pq_inverse_eotf(SDR_PEAK_NITS / 10000.0) / sw;
    [
        f64::from(u8::from(source_peak > SDR_PEAK_NITS)),
        sw,
        max_lum,
        1.5 * max_lum - 0.5,
    ]
}

/// The shader's `Params` block.
fn params_block(
    spec: &ProcessSpec,
    layout: &YuvLayout,
    modes: &Modes,
    tx: &Taps,
    ty: &Taps,
    input: PixelFormat,
) -> Vec<u8> {
    let rows = rgb_to_ycbcr_rows(spec.convert.matrix);
    let (bits, shift) = layout.depth();
    let (ys, yo, cs, co) = range_scale(spec.convert.range, bits);
    let rect = spec.rect();
    let yuv = ycbcr_to_rgb_rows(spec.convert.matrix);
    let (in_ys, in_yo, in_cs, in_co) = range_scale(spec.convert.range, input.bit_depth().max(8));
    let (gamut, luma_src, luma_dst) = match spec.tonemap {
        Some(t) => (
            gamut_matrix(t.source_primaries, t.output_primaries),
            luminance_weights(t.source_primaries),
            luminance_weights(t.output_primaries),
        ),
        None => ([[0.0; 3]; 3], [0.0; 3], [0.0; 3]),
    };
    let mode = [
        spec.convert.siting as u32,
        modes.tone,
        u32::from(modes.measure),
        u32::from(modes.srgb),
    ];
    let g = super::shader_f32;
    let f = |r: [f64; 3], w: f64| [g(r[0]), g(r[1]), g(r[2]), g(w)];
    let floats_a = [
        f(rows[0], 0.0),
        f(rows[1], 0.0),
        f(rows[2], 0.0),
        [g(ys), g(yo), g(cs), g(co)],
    ];
    let uints = [
        [
            spec.output_width,
            spec.output_height,
            spec.input_width,
            spec.input_height,
        ],
        [rect.x, rect.y, rect.width, rect.height],
        [
            super::vk_u32(tx.count),
            super::vk_u32(ty.count),
            super::vk_u32(tx.start.len() * (tx.count + 1)),
            super::vk_u32(tx.start.len() * (tx.count + 1) + ty.start.len() * (ty.count + 1)),
        ],
        [
            layout.luma_pitch,
            layout.chroma_offset,
            layout.chroma_pitch,
            layout.v_offset,
        ],
        [bits, shift, layout.bytes_per_sample, modes.chroma],
        mode,
    ];
    let floats_b = [
        [
            g(modes.peak_nits),
            g(SDR_PEAK_NITS),
            g(HLG_GAMMA),
            g(spec.sharpen),
        ],
        f(gamut[0], 0.0),
        f(gamut[1], 0.0),
        f(gamut[2], 0.0),
        f(luma_src, 0.0),
        f(luma_dst, 0.0),
        eetf_params(spec, modes).map(g),
        f(yuv[0], 0.0),
        f(yuv[1], 0.0),
        f(yuv[2], 0.0),
        [g(1.0 / in_ys), g(in_yo), g(1.0 / in_cs), g(in_co)],
    ];
    let mut out = Vec::with_capacity(PARAMS_BYTES);
    for v in floats_a.iter().flatten() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in uints.iter().flatten() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in floats_b.iter().flatten() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    debug_assert_eq!(out.len(), PARAMS_BYTES);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::{ColorMatrix, ColorRange};
    use crate::processing::convert::{ChromaSiting, ConvertSpec};
    use crate::processing::scale::{Fit, ScaleFilter};

    fn rows(filter: ScaleFilter) -> u32 {
        let spec = ProcessSpec {
            input_width: 3840,
            input_height: 2160,
            output_width: 1920,
            output_height: 1080,
            filter,
            fit: Fit::Letterbox,
            tonemap: None,
            sharpen: 0.0,
            convert: ConvertSpec {
                matrix: ColorMatrix::Bt709,
                range: ColorRange::Limited,
                siting: ChromaSiting::Left,
                output: PixelFormat::Nv12,
            },
        };
        let rect = spec.rect();
        let ty = Taps::new(spec.input_height, rect.height, spec.filter);
        tile_source_rows(&spec, &ty)
    }

    /// A 4K -> 1080p tile filters what the taps say: 18 O rows 2 source rows apart plus the
    /// widened kernel (4 taps bilinear, 12 Lanczos-3), and the workgroup memory fits lavapipe's
    /// 32 KiB (and leaves several workgroups a multiprocessor on NVIDIA's 48 KiB).
    #[test]
    fn four_k_to_full_hd_tiles() {
        assert_eq!(rows(ScaleFilter::Bilinear), 2 * 17 + 4);
        assert_eq!(rows(ScaleFilter::Lanczos3), 2 * 17 + 12);
        assert_eq!(shared_bytes(38), 3 * 38 * 19 * 4 + 3 * 18 * 19 * 4 + 20);
        assert!(shared_bytes(rows(ScaleFilter::Lanczos3)) <= 32 * 1024);
    }
}
