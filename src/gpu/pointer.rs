//! The pointer drawn over a frame's converted output on the GPU (`shaders/pointer_blend.comp`):
//! for frames the CPU never touches (a producer's DMA-BUF read in place), the pointer the
//! producer sent as metadata is blended into the pass's YUV output, over its rectangle only,
//! right after the pass in the same submission.

use std::sync::Arc;

use ash::vk;
use gpu_allocator::MemoryLocation;

use super::commands::buffer_barrier;
use super::pass::PassOutput;
use super::pipeline::{write_descriptors, ComputePipeline, Descriptor};
use super::resources::GpuBuffer;
use super::{GpuContext, GpuError};
use crate::frame::PointerOverlay;
use crate::processing::convert::{range_scale, rgb_to_ycbcr_rows, YuvLayout};
use crate::processing::pipeline::ProcessSpec;

static SPIRV: &[u8] = include_bytes!("../../shaders/spirv/pointer_blend.spv");
/// The same blend into a picture image's plane views (`shaders/pointer_blend_image.comp`).
static IMAGE_SPIRV: &[u8] = include_bytes!("../../shaders/spirv/pointer_blend_image.spv");

/// The largest pointer picture drawn (pixels a side), as PipeWire's cursor metadata allows.
const MAX_SIDE: u32 = 256;
/// Bytes of push constants (7 vec4s).
const PARAMS_BYTES: u32 = 112;

/// The pointer pass of a ring: its pipeline, and per ring slot a host-visible buffer holding
/// the picture and a descriptor set (a slot's are only touched while the slot is idle).
pub(crate) struct PointerPass {
    ctx: Arc<GpuContext>,
    pipe: ComputePipeline,
    pool: vk::DescriptorPool,
    sets: Vec<vk::DescriptorSet>,
    pictures: Vec<GpuBuffer>,
    /// The picture each slot's buffer holds now (it is copied again only when it changes).
    uploaded: Vec<Option<Arc<[u8]>>>,
    /// The coefficients and layout words pushed with every dispatch (the placement follows).
    base: Vec<u8>,
    /// Input and output frame sizes.
    input: (u32, u32),
    output: (u32, u32),
    /// 2 for 4:2:0 outputs (a chroma block is 2x2 pixels), 1 for 4:4:4.
    block: u32,
}

impl PointerPass {
    /// The pass for a ring of `slots` slots converting as `spec` says, drawing into the pass's
    /// buffer or, with `image_output`, into a picture image's plane views (a 4:2:0 interleaved
    /// output: NV12, P010).
    pub(crate) fn new(
        ctx: &Arc<GpuContext>,
        slots: usize,
        spec: &ProcessSpec,
        image_output: bool,
    ) -> Result<Self, GpuError> {
        let storage = vk::DescriptorType::STORAGE_BUFFER;
        let plane = vk::DescriptorType::STORAGE_IMAGE;
        let pipe = if image_output {
            ComputePipeline::new(ctx, IMAGE_SPIRV, &[storage, plane, plane], PARAMS_BYTES)?
        } else {
            ComputePipeline::new(ctx, SPIRV, &[storage, storage], PARAMS_BYTES)?
        };
        let (pool, sets) = pipe.descriptor_sets(super::vk_u32(slots))?;
        let mut this = Self {
            ctx: Arc::clone(ctx),
            pipe,
            pool,
            sets,
            pictures: Vec::new(),
            uploaded: vec![None; slots],
            base: Vec::new(),
            input: (spec.input_width, spec.input_height),
            output: (spec.output_width, spec.output_height),
            block: 1,
        };
        for _ in 0..slots {
            this.pictures.push(GpuBuffer::new(
                ctx,
                "pointer picture",
                u64::from(MAX_SIDE * MAX_SIDE * 4),
                vk::BufferUsageFlags::STORAGE_BUFFER,
                MemoryLocation::CpuToGpu,
            )?);
        }
        let layout = YuvLayout::new(spec.convert.output, spec.output_width, spec.output_height);
        let (bits, shift) = layout.depth();
        let rows = rgb_to_ycbcr_rows(spec.convert.matrix);
        let (ys, yo, cs, co) = range_scale(spec.convert.range, bits);
        let f = super::shader_f32;
        let mut base = Vec::with_capacity(PARAMS_BYTES as usize);
        for (row, scale, offset) in [(rows[0], ys, yo), (rows[1], cs, co), (rows[2], cs, co)] {
            for v in [row[0] * scale, row[1] * scale, row[2] * scale, offset] {
                base.extend_from_slice(&f(v).to_le_bytes());
            }
        }
        let mode = if !layout.subsampled() {
            2
        } else {
            u32::from(layout.planar())
        };
        this.block = if mode == 2 { 1 } else { 2 };
        for v in [
            layout.width,
            layout.height,
            layout.luma_pitch,
            layout.chroma_offset,
            layout.chroma_pitch,
            layout.v_offset,
            mode | layout.bytes_per_sample << 8 | shift << 16,
            (1 << bits) - 1,
        ] {
            base.extend_from_slice(&v.to_le_bytes());
        }
        this.base = base;
        Ok(this)
    }

    /// Records the pointer drawn into `output` (slot `slot`'s pass wrote it earlier in the
    /// same command buffer; plane views only for a pass made with `image_output`, buffers
    /// only for one without); nothing when the pointer lies outside the frame or is larger
    /// than [`MAX_SIDE`].
    ///
    /// # Safety
    /// `cmd` is recording and slot `slot` is not in flight; `output` is what the slot's pass
    /// writes (plane views in GENERAL), alive until the submission completes.
    pub(crate) unsafe fn record(
        &mut self,
        cmd: vk::CommandBuffer,
        slot: usize,
        output: PassOutput,
        pointer: &PointerOverlay,
    ) -> Result<(), GpuError> {
        let (in_w, in_h) = self.input;
        let (out_w, out_h) = self.output;
        if pointer.width > MAX_SIDE || pointer.height > MAX_SIDE {
            tracing::debug!(
                width = pointer.width,
                height = pointer.height,
                "pointer picture larger than {MAX_SIDE} pixels a side: not drawn"
            );
            return Ok(());
        }
        // The pointer's rectangle in output pixels, clipped to the frame, in whole blocks.
        let sx = f64::from(in_w) / f64::from(out_w);
        let sy = f64::from(in_h) / f64::from(out_h);
        let to_out = |v: i64, s: f64, size: u32| (v as f64 / s).clamp(0.0, f64::from(size));
        let x0 = to_out(i64::from(pointer.left), sx, out_w).floor();
        let y0 = to_out(i64::from(pointer.top), sy, out_h).floor();
        let x1 = to_out(
            i64::from(pointer.left) + i64::from(pointer.width),
            sx,
            out_w,
        )
        .ceil();
        let y1 = to_out(
            i64::from(pointer.top) + i64::from(pointer.height),
            sy,
            out_h,
        )
        .ceil();
        if x1 <= x0 || y1 <= y0 {
            return Ok(());
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "clamped to 0..=the frame's side above"
        )]
        let (bx0, by0, bx1, by1) = (
            x0 as u32 / self.block,
            y0 as u32 / self.block,
            (x1 as u32).div_ceil(self.block),
            (y1 as u32).div_ceil(self.block),
        );
        // The picture changes rarely (a new cursor shape): copy it only then.
        if !self.uploaded[slot]
            .as_ref()
            .is_some_and(|u| Arc::ptr_eq(u, &pointer.rgba))
        {
            let bytes = pointer.rgba.len();
            self.pictures[slot]
                .mapped_mut()
                .ok_or(GpuError::Allocation {
                    what: "pointer picture".into(),
                    reason: "not host-visible".into(),
                })?[..bytes]
                .copy_from_slice(&pointer.rgba);
            self.uploaded[slot] = Some(Arc::clone(&pointer.rgba));
        }
        let d = &self.ctx.device;
        let picture = Descriptor::StorageBuffer(self.pictures[slot].buffer);
        let descriptors = match output {
            PassOutput::Buffer(b) => vec![picture, Descriptor::StorageBuffer(b)],
            PassOutput::Planes([luma, chroma]) => vec![
                picture,
                Descriptor::StorageImage(luma),
                Descriptor::StorageImage(chroma),
            ],
        };
        // SAFETY: the slot is idle (caller), so its set is not in use; both buffers live until
        // the submission completes.
        unsafe { write_descriptors(d, self.sets[slot], &descriptors) };
        // The push constants on the stack: the fixed part, then this frame's placement.
        let mut params = [0u8; PARAMS_BYTES as usize];
        let (fixed, placement) = params.split_at_mut(self.base.len());
        fixed.copy_from_slice(&self.base);
        let f = super::shader_f32;
        let words = [pointer.width, pointer.height, bx0, by0]
            .map(u32::to_le_bytes)
            .into_iter()
            .chain(
                [f64::from(pointer.left), f64::from(pointer.top), sx, sy]
                    .map(|v| f(v).to_le_bytes()),
            );
        for (chunk, word) in placement.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&word);
        }
        // SAFETY: recording into the caller's command buffer; the pass's writes to `output`
        // are made visible to this pass's reads and writes first.
        unsafe {
            let compute = vk::PipelineStageFlags::COMPUTE_SHADER;
            let (written, read_written) = (
                vk::AccessFlags::SHADER_WRITE,
                vk::AccessFlags::SHADER_READ | vk::AccessFlags::SHADER_WRITE,
            );
            match output {
                PassOutput::Buffer(b) => {
                    buffer_barrier(d, cmd, b, written, read_written, compute, compute);
                }
                // The planes stay in GENERAL: a memory dependency is all they need.
                PassOutput::Planes(_) => d.cmd_pipeline_barrier(
                    cmd,
                    compute,
                    compute,
                    vk::DependencyFlags::empty(),
                    &[vk::MemoryBarrier::default()
                        .src_access_mask(written)
                        .dst_access_mask(read_written)],
                    &[],
                    &[],
                ),
            }
            self.pipe.record_dispatch(
                d,
                cmd,
                self.sets[slot],
                &params,
                ((bx1 - bx0).div_ceil(8), (by1 - by0).div_ceil(8)),
            );
        }
        Ok(())
    }
}

impl Drop for PointerPass {
    fn drop(&mut self) {
        // SAFETY: the ring drops its pointer pass after waiting for every slot.
        unsafe { self.ctx.device.destroy_descriptor_pool(self.pool, None) };
    }
}
