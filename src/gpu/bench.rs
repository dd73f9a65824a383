//! The conversion pass's benchmark harness (feature `test-support`): [`RgbToYuv420::benchmark`]
//! times the pass on resources that stay in place against a buffer copy and a compute-shader
//! copy of the same bytes in the same run (docs/PERFORMANCE.md quotes it). Not part of the
//! supported API.

use std::sync::Arc;

use ash::vk;
use gpu_allocator::MemoryLocation;

use super::commands::{begin_one_time, end_and_submit, median, read_durations, record_upload};
use super::convert::{ConvertInput, RgbToYuv420};
use super::pipeline::{write_descriptors, ComputePipeline, Descriptor};
use super::resources::{GpuBuffer, GpuImage};
use super::{GpuContext, GpuError};
use crate::format::PixelFormat;
use crate::processing::convert::{ConvertSpec, YuvLayout};

/// The word-copy shader: the device's practical bandwidth ceiling.
static COPY_SPIRV: &[u8] = include_bytes!("../../shaders/spirv/copy_words.spv");

/// Figures from [`RgbToYuv420::benchmark`]. A benchmark harness (feature `test-support`).
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
    /// A benchmark harness (feature `test-support`).
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
        // The input is read from a sampled image or, with `use_buffer_input`, a storage buffer.
        let source = self.input_for(PixelFormat::Bgra8, width, height);
        let mut images = Vec::new();
        let mut input_buffers = Vec::new();
        let mut outputs = Vec::new();
        let mut copy_src = Vec::new();
        let mut copy_dst = Vec::new();
        for i in 0..rotation {
            let usage = vk::BufferUsageFlags::STORAGE_BUFFER
                | vk::BufferUsageFlags::TRANSFER_SRC
                | vk::BufferUsageFlags::TRANSFER_DST;
            match source {
                ConvertInput::Image => images.push(GpuImage::new(
                    &ctx,
                    "bench input",
                    vk::Format::B8G8R8A8_UNORM,
                    width,
                    height,
                    vk::ImageUsageFlags::SAMPLED | vk::ImageUsageFlags::TRANSFER_DST,
                )?),
                ConvertInput::Rgb8Buffer { pitch, .. } => input_buffers.push(GpuBuffer::new(
                    &ctx,
                    "bench input",
                    u64::from(pitch) * u64::from(height),
                    usage,
                    MemoryLocation::GpuOnly,
                )?),
            }
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
        let set_source = match source {
            ConvertInput::Image => Ok(&self.pipe),
            ConvertInput::Rgb8Buffer { .. } => self.specialized(&layout, spec.siting, source),
        };
        let (pool, sets) =
            match set_source.and_then(|pipe| pipe.descriptor_sets(super::vk_u32(rotation))) {
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
                let input = match source {
                    ConvertInput::Image => Descriptor::SampledImage(self.sampler, images[i].view),
                    ConvertInput::Rgb8Buffer { .. } => {
                        Descriptor::StorageBuffer(input_buffers[i].buffer)
                    }
                };
                let descriptors = [input, Descriptor::StorageBuffer(outputs[i].buffer)];
                // SAFETY: the sets are new and unused; the image views and buffers live to the end.
                unsafe { write_descriptors(d, *set, &descriptors) };
            }
            let params = self.params_bytes(width, height, spec, &layout, source);
            let groups = self.groups_for(source, width, height);

            // Upload every input once and move it to the sampling layout.
            self.submit_and_wait(|cmd| {
                for img in &images {
                    // SAFETY: recording into our command buffer; the upload buffer and images
                    // outlive the wait in submit_and_wait.
                    unsafe {
                        record_upload(d, cmd, upload.buffer, img.image, width, height);
                    }
                }
                for buffer in &input_buffers {
                    let size = in_bytes.min(buffer.size);
                    // SAFETY: as above; the copy's size fits both buffers.
                    unsafe {
                        d.cmd_copy_buffer(
                            cmd,
                            upload.buffer,
                            buffer.buffer,
                            &[vk::BufferCopy::default().size(size)],
                        );
                    }
                }
                if !input_buffers.is_empty() {
                    let copied = vk::MemoryBarrier::default()
                        .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
                        .dst_access_mask(vk::AccessFlags::SHADER_READ);
                    // SAFETY: a barrier in our recording command buffer.
                    unsafe {
                        d.cmd_pipeline_barrier(
                            cmd,
                            vk::PipelineStageFlags::TRANSFER,
                            vk::PipelineStageFlags::COMPUTE_SHADER,
                            vk::DependencyFlags::empty(),
                            &[copied],
                            &[],
                            &[],
                        );
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
                    // The pipeline specialized for this output, as the ring dispatches it.
                    0 => Some((this.pipeline(), &sets[..], &params[..], groups)),
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
                    self.pipeline()
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
