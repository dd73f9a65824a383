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
    begin_one_time, buffer_barrier, command_buffers, end_and_submit, median, queue_has_timestamps,
    read_duration_at, read_durations, record_readback, record_upload, submit_and_wait,
    wait_and_reset,
};
use super::pipeline::{write_descriptors, ComputePipeline, Descriptor};
use super::resources::{nearest_sampler, GpuBuffer, GpuImage};
use super::{GpuContext, GpuError};
use crate::format::PixelFormat;
use crate::process::convert::{range_scale, rgb_to_ycbcr_rows, ConvertSpec, YuvLayout};

pub(crate) static SPIRV: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rgb_to_yuv420.spv"));
pub(crate) static COPY_SPIRV: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/copy_words.spv"));

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
    ctx: Arc<GpuContext>,
    pipe: ComputePipeline,
    sampler: vk::Sampler,
    descriptor_pool: vk::DescriptorPool,
    set: vk::DescriptorSet,
    command_pool: vk::CommandPool,
    cmd: vk::CommandBuffer,
    fence: vk::Fence,
    queries: vk::QueryPool,
    timestamps: bool,
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
        let vk_format = self::input_format(input_format)?;
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

/// Figures from [`RgbToYuv420::benchmark`].
#[derive(Clone, Debug, PartialEq)]
pub struct ConvertBenchmark {
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Median GPU time of one conversion, nanoseconds.
    pub convert_ns: f64,
    /// Median GPU time of `vkCmdCopyBuffer` moving the same bytes, nanoseconds.
    pub copy_ns: f64,
    /// Median GPU time of a compute-shader copy (16 bytes a thread) moving the same bytes:
    /// the device's practical bandwidth ceiling, nanoseconds.
    pub shader_copy_ns: f64,
    /// Fewest bytes a conversion must move: the RGB frame read once, the 4:2:0 frame written once.
    pub bytes: u64,
    /// Median CPU time to record and submit one frame's commands, nanoseconds.
    pub record_submit_ns: f64,
}

impl ConvertBenchmark {
    /// Achieved conversion bandwidth, bytes read plus written, in GB/s.
    pub fn convert_gbps(&self) -> f64 {
        self.bytes as f64 / self.convert_ns
    }

    /// The buffer copy's bandwidth, GB/s.
    pub fn copy_gbps(&self) -> f64 {
        self.bytes as f64 / self.copy_ns
    }

    /// Conversion bandwidth as a fraction of the `vkCmdCopyBuffer` copy's.
    pub fn fraction_of_copy(&self) -> f64 {
        self.copy_ns / self.convert_ns
    }

    /// The compute-shader copy's bandwidth, GB/s.
    pub fn shader_copy_gbps(&self) -> f64 {
        self.bytes as f64 / self.shader_copy_ns
    }

    /// Conversion bandwidth as a fraction of the compute-shader copy's.
    pub fn fraction_of_shader_copy(&self) -> f64 {
        self.shader_copy_ns / self.convert_ns
    }
}

impl RgbToYuv420 {
    /// Times BGRA8 to `spec` at `width` x `height` on resources that stay in place: `rotation`
    /// input images and output buffers used in turn (so a cache smaller than their sum cannot
    /// hold the working set), `iterations` dispatches each timed with GPU timestamps and
    /// separated by barriers, against buffer copies of the same byte count in the same run.
    pub fn benchmark(
        &mut self,
        width: u32,
        height: u32,
        spec: &ConvertSpec,
        rotation: usize,
        iterations: usize,
    ) -> Result<ConvertBenchmark, GpuError> {
        if !self.timestamps {
            return Err(GpuError::Unsupported {
                what: "time dispatches".into(),
                reason: "the queue has no timestamps".into(),
            });
        }
        let ctx = Arc::clone(&self.ctx);
        let d = &ctx.device;
        let layout = YuvLayout::new(spec.output, width, height);
        let in_bytes = u64::from(width) * u64::from(height) * 4;
        let out_bytes = u64::from(layout.bytes_per_sample)
            * (u64::from(width) * u64::from(height)
                + 2 * (u64::from(width.div_ceil(2)) * u64::from(height.div_ceil(2))));
        let bytes = in_bytes + out_bytes;
        let copy_size = bytes / 2;
        let rotation = rotation.max(1);

        // Inputs: random bytes uploaded once into each image.
        let mut upload = GpuBuffer::new(
            &ctx,
            "bench upload",
            in_bytes,
            vk::BufferUsageFlags::TRANSFER_SRC,
            MemoryLocation::CpuToGpu,
        )?;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for chunk in upload
            .mapped_mut()
            .ok_or(GpuError::Allocation {
                what: "upload".into(),
                reason: "not host-visible".into(),
            })?
            .chunks_mut(8)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        let mut images = Vec::new();
        let mut outputs = Vec::new();
        let mut copy_src = Vec::new();
        let mut copy_dst = Vec::new();
        for i in 0..rotation {
            images.push(GpuImage::new(
                &ctx,
                "bench input",
                vk::Format::B8G8R8A8_UNORM,
                width,
                height,
                vk::ImageUsageFlags::SAMPLED | vk::ImageUsageFlags::TRANSFER_DST,
            )?);
            let usage = vk::BufferUsageFlags::STORAGE_BUFFER
                | vk::BufferUsageFlags::TRANSFER_SRC
                | vk::BufferUsageFlags::TRANSFER_DST;
            outputs.push(GpuBuffer::new(
                &ctx,
                "bench output",
                u64::from(layout.size),
                usage,
                MemoryLocation::GpuOnly,
            )?);
            copy_src.push(GpuBuffer::new(
                &ctx,
                &format!("copy src {i}"),
                copy_size,
                usage,
                MemoryLocation::GpuOnly,
            )?);
            copy_dst.push(GpuBuffer::new(
                &ctx,
                &format!("copy dst {i}"),
                copy_size,
                usage,
                MemoryLocation::GpuOnly,
            )?);
        }
        let query_count = 2 * super::vk_u32(iterations);
        // SAFETY: plain object creation on a valid device; destroyed at the end of this function
        // after the queue is idle.
        let queries = unsafe {
            d.create_query_pool(
                &vk::QueryPoolCreateInfo::default()
                    .query_type(vk::QueryType::TIMESTAMP)
                    .query_count(query_count),
                None,
            )
        }
        .map_err(GpuError::vk("vkCreateQueryPool"))?;
        let (pool, sets) = match self.pipe.descriptor_sets(super::vk_u32(rotation)) {
            Ok(v) => v,
            Err(e) => {
                // SAFETY: the query pool was never used.
                unsafe { d.destroy_query_pool(queries, None) };
                return Err(e);
            }
        };
        let copy = ShaderCopy::new(&ctx, rotation)?;
        let result = (|| -> Result<ConvertBenchmark, GpuError> {
            let copy_sets = copy.bind(&copy_src, &copy_dst)?;
            for (i, set) in sets.iter().enumerate() {
                let descriptors = [
                    Descriptor::SampledImage(self.sampler, images[i].view),
                    Descriptor::StorageBuffer(outputs[i].buffer),
                ];
                // SAFETY: the sets are new and unused; the image views and buffers live to the end.
                unsafe { write_descriptors(d, *set, &descriptors) };
            }
            let params = self.params(width, height, spec, &layout).bytes();
            let groups = (
                width.div_ceil(8).div_ceil(8),
                height.div_ceil(2).div_ceil(8),
            );

            // Upload every input once and move it to the sampling layout.
            self.submit_and_wait(|cmd| {
                for img in &images {
                    // SAFETY: recording into our command buffer; the upload buffer and images
                    // outlive the wait in submit_and_wait.
                    unsafe {
                        record_upload(d, cmd, upload.buffer, img.image, width, height);
                    }
                }
            })?;

            let full_barrier = vk::MemoryBarrier::default()
                .src_access_mask(vk::AccessFlags::SHADER_WRITE | vk::AccessFlags::TRANSFER_WRITE)
                .dst_access_mask(
                    vk::AccessFlags::SHADER_WRITE
                        | vk::AccessFlags::TRANSFER_WRITE
                        | vk::AccessFlags::TRANSFER_READ,
                );
            let all = vk::PipelineStageFlags::COMPUTE_SHADER | vk::PipelineStageFlags::TRANSFER;
            let copy_words = u32::try_from(copy_size / 16).map_err(|_| GpuError::Invalid {
                what: format!("copy size {copy_size}"),
                reason: "the benchmark copies at most 64 GiB (2^32 words of 16 bytes)".into(),
            })?;
            let copy_groups = copy_words.div_ceil(256).min(65_535);
            let copy_push = copy_words.to_le_bytes();
            // 0: conversion, 1: vkCmdCopyBuffer, 2: shader copy.
            let time = |this: &Self, what: u32| -> Result<Vec<f64>, GpuError> {
                // The compute cases: pipeline, one set per rotated input, push constants, groups.
                let dispatch = match what {
                    0 => Some((&this.pipe, &sets[..], &params[..], groups)),
                    2 => Some((&copy.pipe, &copy_sets[..], &copy_push[..], (copy_groups, 1))),
                    _ => None,
                };
                this.submit_and_wait(|cmd| {
                    // SAFETY: recording into our command buffer with objects that outlive the wait.
                    unsafe {
                        d.cmd_reset_query_pool(cmd, queries, 0, query_count);
                        if let Some((pipe, _, push, _)) = dispatch {
                            d.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::COMPUTE, pipe.pipeline);
                            d.cmd_push_constants(
                                cmd,
                                pipe.layout,
                                vk::ShaderStageFlags::COMPUTE,
                                0,
                                push,
                            );
                        }
                        for i in 0..iterations {
                            let k = i % rotation;
                            d.cmd_pipeline_barrier(
                                cmd,
                                all,
                                all,
                                vk::DependencyFlags::empty(),
                                &[full_barrier],
                                &[],
                                &[],
                            );
                            d.cmd_write_timestamp(
                                cmd,
                                vk::PipelineStageFlags::TOP_OF_PIPE,
                                queries,
                                2 * super::vk_u32(i),
                            );
                            match dispatch {
                                Some((pipe, sets, _, (x, y))) => {
                                    d.cmd_bind_descriptor_sets(
                                        cmd,
                                        vk::PipelineBindPoint::COMPUTE,
                                        pipe.layout,
                                        0,
                                        &[sets[k]],
                                        &[],
                                    );
                                    d.cmd_dispatch(cmd, x, y, 1);
                                }
                                None => d.cmd_copy_buffer(
                                    cmd,
                                    copy_src[k].buffer,
                                    copy_dst[k].buffer,
                                    &[vk::BufferCopy {
                                        src_offset: 0,
                                        dst_offset: 0,
                                        size: copy_size,
                                    }],
                                ),
                            }
                            d.cmd_write_timestamp(
                                cmd,
                                vk::PipelineStageFlags::BOTTOM_OF_PIPE,
                                queries,
                                2 * super::vk_u32(i) + 1,
                            );
                        }
                    }
                })?;
                // The first pass over the rotation warms up; keep the rest.
                Ok(read_durations(&ctx, queries, iterations)?.split_off(rotation.min(iterations)))
            };
            time(self, 0)?; // warm-up run
            let convert_ns = median(time(self, 0)?);
            let copy_ns = median(time(self, 1)?);
            let shader_copy_ns = median(time(self, 2)?);

            // CPU cost of recording and submitting one frame's conversion (the wait excluded).
            let mut cpu = Vec::new();
            for i in 0..iterations.min(200) {
                let k = i % rotation;
                let start = std::time::Instant::now();
                // SAFETY: as above; the previous submission was waited for before re-recording.
                unsafe {
                    begin_one_time(d, self.cmd)?;
                    d.cmd_pipeline_barrier(
                        self.cmd,
                        all,
                        all,
                        vk::DependencyFlags::empty(),
                        &[full_barrier],
                        &[],
                        &[],
                    );
                    self.pipe
                        .record_dispatch(d, self.cmd, sets[k], &params, groups);
                    end_and_submit(&ctx, self.cmd, self.fence)?;
                }
                cpu.push(start.elapsed().as_nanos() as f64);
                self.wait_fence()?;
            }
            Ok(ConvertBenchmark {
                width,
                height,
                convert_ns,
                copy_ns,
                shader_copy_ns,
                bytes,
                record_submit_ns: median(cpu),
            })
        })();
        if matches!(result, Err(GpuError::Timeout { .. })) {
            // A submission is still in flight: leak what it uses rather than destroy it in use
            // (the device may be an application's, so no vkDeviceWaitIdle).
            tracing::error!("a benchmark submission did not finish; its pools are leaked");
            return result;
        }
        // SAFETY: every submission above was waited for (or failed before submitting).
        unsafe {
            d.destroy_query_pool(queries, None);
            d.destroy_descriptor_pool(pool, None);
        }
        result
    }

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
    fn submit_and_wait(&self, record: impl FnOnce(vk::CommandBuffer)) -> Result<(), GpuError> {
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

    fn wait_fence(&self) -> Result<(), GpuError> {
        wait_and_reset(&self.ctx, self.fence, RUN_TIMEOUT_NS, "a conversion")
    }
}

/// The Vulkan format sampled for an RGB input format.
pub(crate) fn input_format(format: PixelFormat) -> Result<vk::Format, GpuError> {
    match format {
        PixelFormat::Rgba8 => Ok(vk::Format::R8G8B8A8_UNORM),
        PixelFormat::Bgra8 => Ok(vk::Format::B8G8R8A8_UNORM),
        PixelFormat::Rgb10a2 => Ok(vk::Format::A2B10G10R10_UNORM_PACK32),
        PixelFormat::Rgba16f => Ok(vk::Format::R16G16B16A16_SFLOAT),
        other => Err(GpuError::Unsupported {
            what: format!("process {other} input"),
            reason: "the GPU takes rgba8, bgra8, rgb10a2 or rgba16f".into(),
        }),
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

/// The compute-shader copy used as the bandwidth ceiling: `shaders/copy_words.comp`.
struct ShaderCopy {
    ctx: Arc<GpuContext>,
    pipe: ComputePipeline,
    pool: vk::DescriptorPool,
    sets: Vec<vk::DescriptorSet>,
}

impl ShaderCopy {
    fn new(ctx: &Arc<GpuContext>, sets: usize) -> Result<Self, GpuError> {
        let storage = vk::DescriptorType::STORAGE_BUFFER;
        let pipe = ComputePipeline::new(ctx, COPY_SPIRV, &[storage, storage], 4)?;
        let (pool, sets) = pipe.descriptor_sets(super::vk_u32(sets))?;
        Ok(Self {
            ctx: Arc::clone(ctx),
            pipe,
            pool,
            sets,
        })
    }

    /// Points set i at the pair (src[i], dst[i]) and returns the sets.
    fn bind(
        &self,
        src: &[GpuBuffer],
        dst: &[GpuBuffer],
    ) -> Result<Vec<vk::DescriptorSet>, GpuError> {
        for (i, set) in self.sets.iter().enumerate() {
            let descriptors = [
                Descriptor::StorageBuffer(src[i].buffer),
                Descriptor::StorageBuffer(dst[i].buffer),
            ];
            // SAFETY: the sets are unused; the buffers outlive every use of them.
            unsafe { write_descriptors(&self.ctx.device, *set, &descriptors) };
        }
        Ok(self.sets.clone())
    }
}

impl Drop for ShaderCopy {
    fn drop(&mut self) {
        let d = &self.ctx.device;
        // SAFETY: the benchmark waited for the device to go idle before dropping this.
        unsafe { d.destroy_descriptor_pool(self.pool, None) };
    }
}
