//! RGB to NV12/I420 in one compute pass: `shaders/rgb_to_yuv420.comp`.
//!
//! This first version uploads an RGBA/BGRA frame from CPU memory into a sampled image, converts
//! it into a pitch-linear buffer (the layout NVENC and the CPU encoders take), and reads the
//! result back, timing the dispatch with GPU timestamps. Resources are made per run; the session
//! path that keeps them in flight comes with the next increment.

use std::sync::Arc;

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
use crate::processing::convert::{range_scale, rgb_to_ycbcr_rows, ConvertSpec, YuvLayout};

pub(crate) static SPIRV: &[u8] = include_bytes!("../../shaders/spirv/rgb_to_yuv420.spv");

/// Push constants, laid out as the shader's `Params` block (std430-compatible: vec4s, uvec4s).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct Params {
    y_coef: [f32; 4],
    cb_coef: [f32; 4],
    cr_coef: [f32; 4],
    range: [f32; 4],
    dims: [u32; 4],
    layout: [u32; 4],
    depth: [u32; 4],
}

impl Params {
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PARAMS_BYTES as usize);
        for v in self
            .y_coef
            .iter()
            .chain(&self.cb_coef)
            .chain(&self.cr_coef)
            .chain(&self.range)
        {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in self.dims.iter().chain(&self.layout).chain(&self.depth) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }
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

/// The RGB to 4:2:0 converter.
pub struct RgbToYuv420 {
    pub(super) ctx: Arc<GpuContext>,
    pub(super) pipe: ComputePipeline,
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
const PARAMS_BYTES: u32 = 112;

/// How long a run may take before it is a timeout error.
const RUN_TIMEOUT_NS: u64 = 10_000_000_000;

impl RgbToYuv420 {
    /// Builds the pipeline on `ctx`.
    pub fn new(ctx: &Arc<GpuContext>) -> Result<Self, GpuError> {
        let d = &ctx.device;
        let pipe = ComputePipeline::new(
            ctx,
            SPIRV,
            &[
                vk::DescriptorType::COMBINED_IMAGE_SAMPLER,
                vk::DescriptorType::STORAGE_BUFFER,
            ],
            PARAMS_BYTES,
        )?;
        let mut this = Self {
            ctx: Arc::clone(ctx),
            pipe,
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

    /// Converts one frame of tightly packed `input` pixels (`Rgba8` or `Bgra8`) to `spec`.
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
        let mut upload = GpuBuffer::new(
            &ctx,
            "upload",
            expected as u64,
            vk::BufferUsageFlags::TRANSFER_SRC,
            MemoryLocation::CpuToGpu,
        )?;
        upload
            .mapped_mut()
            .ok_or(GpuError::Allocation {
                what: "upload".into(),
                reason: "not host-visible".into(),
            })?
            .copy_from_slice(input);
        let image = GpuImage::new(
            &ctx,
            "input",
            vk_format,
            width,
            height,
            vk::ImageUsageFlags::SAMPLED | vk::ImageUsageFlags::TRANSFER_DST,
        )?;
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

        let params = self.params(width, height, spec, &layout);

        let d = &ctx.device;
        let poison_word = u32::from_ne_bytes([poison; 4]);
        let descriptors = [
            Descriptor::SampledImage(self.sampler, image.view),
            Descriptor::StorageBuffer(output.buffer),
        ];
        // SAFETY: the set is not in use: every earlier submission was waited for.
        unsafe { write_descriptors(d, self.set, &descriptors) };
        let (cmd_set, timestamps, queries) = (self.set, self.timestamps, self.queries);
        self.submit_and_wait(|cmd| {
            // SAFETY: every handle recorded here lives until submit_and_wait has waited for the
            // fence; the barriers order upload -> sampling, fill -> shader writes, shader
            // writes -> copy -> host read.
            unsafe {
                d.cmd_fill_buffer(cmd, output.buffer, 0, vk::WHOLE_SIZE, poison_word);
                record_upload(d, cmd, upload.buffer, image.image, width, height);
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
                self.pipe.record_dispatch(
                    d,
                    cmd,
                    cmd_set,
                    &params.bytes(),
                    (
                        width.div_ceil(8).div_ceil(8),
                        height.div_ceil(2).div_ceil(8),
                    ),
                );
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
        })?;
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

    /// The conversion's compute pipeline.
    pub(crate) fn pipeline(&self) -> &ComputePipeline {
        &self.pipe
    }

    /// The push constants for a frame, as bytes.
    pub(crate) fn params_bytes(
        &self,
        width: u32,
        height: u32,
        spec: &ConvertSpec,
        layout: &YuvLayout,
    ) -> Vec<u8> {
        self.params(width, height, spec, layout).bytes()
    }

    fn params(&self, width: u32, height: u32, spec: &ConvertSpec, layout: &YuvLayout) -> Params {
        let rows = rgb_to_ycbcr_rows(spec.matrix);
        let (bits, shift) = layout.depth();
        let (ys, yo, cs, co) = range_scale(spec.range, bits);
        let f = super::shader_f32;
        let v4 = |r: [f64; 3]| [f(r[0]), f(r[1]), f(r[2]), 0.0];
        Params {
            y_coef: v4(rows[0]),
            cb_coef: v4(rows[1]),
            cr_coef: v4(rows[2]),
            range: [f(ys), f(yo), f(cs), f(co)],
            dims: [width, height, layout.luma_pitch, layout.chroma_offset],
            layout: [
                layout.chroma_pitch,
                layout.v_offset,
                spec.siting as u32,
                u32::from(layout.planar()),
            ],
            depth: [bits, shift, layout.bytes_per_sample, 0],
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
    if !matches!(
        output,
        PixelFormat::Nv12 | PixelFormat::I420 | PixelFormat::P010 | PixelFormat::I420P10
    ) {
        return Err(GpuError::Unsupported {
            what: format!("convert to {output}"),
            reason: "this operation writes nv12, i420, p010 or i420p10 (4:4:4 comes next)".into(),
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
