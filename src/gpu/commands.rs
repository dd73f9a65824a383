//! Command recording and submission helpers shared by the GPU operations: one-time command
//! buffers, fenced submission, barriers, uploads, read-backs and timestamp read-out.

use ash::vk;

use super::conv::{color_range, whole_image};
use super::{GpuContext, GpuError};
use crate::frame::TimelinePoint;

/// A command pool on the context's queue family whose buffers can be reset one by one, and
/// `count` primary command buffers from it. The caller destroys the pool.
pub(crate) fn command_buffers(
    ctx: &GpuContext,
    count: u32,
) -> Result<(vk::CommandPool, Vec<vk::CommandBuffer>), GpuError> {
    command_buffers_on(ctx, ctx.queue_family, count)
}

/// As [`command_buffers`], on queue family `family` (one the device was created with).
pub(crate) fn command_buffers_on(
    ctx: &GpuContext,
    family: u32,
    count: u32,
) -> Result<(vk::CommandPool, Vec<vk::CommandBuffer>), GpuError> {
    let d = &ctx.device;
    // SAFETY: valid device; the create infos live for their calls; on failure the new pool is
    // destroyed before returning.
    unsafe {
        let pool = d
            .create_command_pool(
                &vk::CommandPoolCreateInfo::default()
                    .queue_family_index(family)
                    .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER),
                None,
            )
            .map_err(GpuError::vk("vkCreateCommandPool"))?;
        match d.allocate_command_buffers(
            &vk::CommandBufferAllocateInfo::default()
                .command_pool(pool)
                .level(vk::CommandBufferLevel::PRIMARY)
                .command_buffer_count(count),
        ) {
            Ok(v) => Ok((pool, v)),
            Err(e) => {
                d.destroy_command_pool(pool, None);
                Err(GpuError::vk("vkAllocateCommandBuffers")(e))
            }
        }
    }
}

/// Resets `cmd` and begins recording it for one submission.
///
/// # Safety
/// `cmd` must be a command buffer of `d`, from a pool created with `RESET_COMMAND_BUFFER`, and
/// not in flight.
pub(crate) unsafe fn begin_one_time(
    d: &ash::Device,
    cmd: vk::CommandBuffer,
) -> Result<(), GpuError> {
    // SAFETY: forwarded from the caller.
    unsafe {
        d.reset_command_buffer(cmd, vk::CommandBufferResetFlags::empty())
            .map_err(GpuError::vk("vkResetCommandBuffer"))?;
        d.begin_command_buffer(
            cmd,
            &vk::CommandBufferBeginInfo::default()
                .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT),
        )
        .map_err(GpuError::vk("vkBeginCommandBuffer"))
    }
}

/// Ends `cmd` and submits it on the context's queue, signalling `fence`.
///
/// # Safety
/// `cmd` must be a recording command buffer of the context's device whose every handle lives
/// until `fence` signals; `fence` must be unsignalled and not in use.
pub(crate) unsafe fn end_and_submit(
    ctx: &GpuContext,
    cmd: vk::CommandBuffer,
    fence: vk::Fence,
) -> Result<(), GpuError> {
    // SAFETY: forwarded from the caller.
    unsafe { end_and_submit_synced(ctx, cmd, fence, [None; 2], [None; 2]) }
}

/// As [`end_and_submit`], the submission also waiting (at the compute stage) for each `waits`
/// point and signalling each `signals` point when it completes (timeline-semaphore points;
/// `None` entries are skipped).
///
/// # Safety
/// As [`end_and_submit`]; the semaphores must be timeline semaphores of the context's device.
pub(crate) unsafe fn end_and_submit_synced(
    ctx: &GpuContext,
    cmd: vk::CommandBuffer,
    fence: vk::Fence,
    waits: [Option<TimelinePoint>; 2],
    signals: [Option<TimelinePoint>; 2],
) -> Result<(), GpuError> {
    let d = &ctx.device;
    // At most two points each way: fixed arrays filled from the front, no allocation per frame.
    fn pack(points: [Option<TimelinePoint>; 2]) -> ([vk::Semaphore; 2], [u64; 2], usize) {
        let mut semaphores = [vk::Semaphore::null(); 2];
        let mut values = [0; 2];
        let mut n = 0;
        for p in points.into_iter().flatten() {
            semaphores[n] = p.semaphore;
            values[n] = p.value;
            n += 1;
        }
        (semaphores, values, n)
    }
    let (wait_semaphores, wait_values, n_wait) = pack(waits);
    let (signal_semaphores, signal_values, n_signal) = pack(signals);
    let wait_stages = [vk::PipelineStageFlags::COMPUTE_SHADER; 2];
    let mut timeline = vk::TimelineSemaphoreSubmitInfo::default()
        .wait_semaphore_values(&wait_values[..n_wait])
        .signal_semaphore_values(&signal_values[..n_signal]);
    let cmds = [cmd];
    let mut submit = vk::SubmitInfo::default()
        .command_buffers(&cmds)
        .wait_semaphores(&wait_semaphores[..n_wait])
        .wait_dst_stage_mask(&wait_stages[..n_wait])
        .signal_semaphores(&signal_semaphores[..n_signal]);
    if n_wait + n_signal > 0 {
        submit = submit.push_next(&mut timeline);
    }
    // SAFETY: forwarded from the caller; the queue is used under its lock.
    unsafe {
        d.end_command_buffer(cmd)
            .map_err(GpuError::vk("vkEndCommandBuffer"))?;
        let (_guard, queue) = ctx.lock_queue()?;
        d.queue_submit(queue, &[submit], fence)
            .map_err(GpuError::vk("vkQueueSubmit"))
    }
}

/// Waits on the CPU, up to `timeout_ns`, until `point`'s semaphore reaches its value; a
/// timeout is a [`GpuError::FrameNotReady`].
pub(crate) fn wait_timeline(
    ctx: &GpuContext,
    point: TimelinePoint,
    timeout_ns: u64,
) -> Result<(), GpuError> {
    let semaphores = [point.semaphore];
    let values = [point.value];
    let info = vk::SemaphoreWaitInfo::default()
        .semaphores(&semaphores)
        .values(&values);
    // SAFETY: the caller's semaphore is a timeline semaphore of this device (GpuFrame::new's
    // contract); waiting has no other requirement.
    match unsafe { ctx.device.wait_semaphores(&info, timeout_ns) } {
        Ok(()) => Ok(()),
        Err(vk::Result::TIMEOUT) => Err(GpuError::FrameNotReady {
            semaphore: ash::vk::Handle::as_raw(point.semaphore),
            value: point.value,
            timeout_ms: timeout_ns / 1_000_000,
        }),
        Err(e) => Err(GpuError::vk("vkWaitSemaphores")(e)),
    }
}

/// Waits up to `timeout_ns` for `fence` and resets it; a timeout is a [`GpuError::Timeout`]
/// naming `what`.
pub(crate) fn wait_and_reset(
    ctx: &GpuContext,
    fence: vk::Fence,
    timeout_ns: u64,
    what: &'static str,
) -> Result<(), GpuError> {
    let d = &ctx.device;
    // SAFETY: the fence belongs to this device; waiting and resetting a signalled fence that no
    // pending submission uses is always valid.
    unsafe {
        match d.wait_for_fences(&[fence], true, timeout_ns) {
            Ok(()) => {}
            Err(vk::Result::TIMEOUT) => {
                return Err(GpuError::Timeout {
                    what,
                    timeout_ms: timeout_ns / 1_000_000,
                })
            }
            Err(e) => return Err(GpuError::vk("vkWaitForFences")(e)),
        }
        d.reset_fences(&[fence])
            .map_err(GpuError::vk("vkResetFences"))
    }
}

/// Records the read-back of the first `size` bytes of `output` (written by a compute shader
/// or a transfer) into the host-visible `readback`, made visible to the host.
///
/// # Safety
/// `cmd` must be a recording command buffer of `d`; both buffers must belong to `d` and live
/// until the commands have run.
pub(crate) unsafe fn record_readback(
    d: &ash::Device,
    cmd: vk::CommandBuffer,
    output: vk::Buffer,
    readback: vk::Buffer,
    size: u64,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        buffer_barrier(
            d,
            cmd,
            output,
            vk::AccessFlags::SHADER_WRITE | vk::AccessFlags::TRANSFER_WRITE,
            vk::AccessFlags::TRANSFER_READ,
            vk::PipelineStageFlags::COMPUTE_SHADER | vk::PipelineStageFlags::TRANSFER,
            vk::PipelineStageFlags::TRANSFER,
        );
        d.cmd_copy_buffer(
            cmd,
            output,
            readback,
            &[vk::BufferCopy {
                src_offset: 0,
                dst_offset: 0,
                size,
            }],
        );
        buffer_barrier(
            d,
            cmd,
            readback,
            vk::AccessFlags::TRANSFER_WRITE,
            vk::AccessFlags::HOST_READ,
            vk::PipelineStageFlags::TRANSFER,
            vk::PipelineStageFlags::HOST,
        );
    }
}

/// Records the upload of `src` into the whole of `image` (from any layout) and its move to
/// `SHADER_READ_ONLY_OPTIMAL` for the compute stage.
///
/// # Safety
/// `cmd` must be a command buffer of `d` in the recording state; `src` and `image` objects of
/// `d` that live until the commands have run; `src` must hold `width` x `height` texels.
pub(crate) unsafe fn record_upload(
    d: &ash::Device,
    cmd: vk::CommandBuffer,
    src: vk::Buffer,
    image: vk::Image,
    width: u32,
    height: u32,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        image_barrier(
            d,
            cmd,
            image,
            vk::ImageLayout::UNDEFINED,
            vk::ImageLayout::TRANSFER_DST_OPTIMAL,
            vk::AccessFlags::empty(),
            vk::AccessFlags::TRANSFER_WRITE,
            vk::PipelineStageFlags::TOP_OF_PIPE,
            vk::PipelineStageFlags::TRANSFER,
        );
        d.cmd_copy_buffer_to_image(
            cmd,
            src,
            image,
            vk::ImageLayout::TRANSFER_DST_OPTIMAL,
            &[whole_image(width, height)],
        );
        image_barrier(
            d,
            cmd,
            image,
            vk::ImageLayout::TRANSFER_DST_OPTIMAL,
            vk::ImageLayout::SHADER_READ_ONLY_OPTIMAL,
            vk::AccessFlags::TRANSFER_WRITE,
            vk::AccessFlags::SHADER_READ,
            vk::PipelineStageFlags::TRANSFER,
            vk::PipelineStageFlags::COMPUTE_SHADER,
        );
    }
}

#[cfg(any(feature = "test-support", feature = "bench"))]
/// Reads `pairs` pairs of timestamps (queries 2i and 2i+1) and returns each pair's duration in
/// nanoseconds. The submission that wrote them must have been waited for.
pub(crate) fn read_durations(
    ctx: &GpuContext,
    queries: vk::QueryPool,
    pairs: usize,
) -> Result<Vec<f64>, GpuError> {
    let mut ts = vec![0u64; 2 * pairs];
    query_results(ctx, queries, 0, &mut ts)?;
    Ok(ts.chunks(2).map(|p| pair_ns(ctx, p)).collect())
}

/// When a GPU pass ran: its duration, and its start and end on `CLOCK_MONOTONIC` where the
/// device maps its clock (VK_EXT_calibrated_timestamps).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GpuTime {
    /// Nanoseconds between the pass's two timestamps.
    pub duration_ns: f64,
    /// The pass's first timestamp on `CLOCK_MONOTONIC`.
    pub start: Option<crate::time::Timestamp>,
    /// The pass's last timestamp on `CLOCK_MONOTONIC`.
    pub end: Option<crate::time::Timestamp>,
}

/// One pass's [`GpuTime`] from queries `first` and `first + 1`, read without an allocation (it
/// runs once per frame). The submission must have been waited for.
pub(crate) fn read_gpu_time_at(
    ctx: &GpuContext,
    queries: vk::QueryPool,
    first: u32,
) -> Result<GpuTime, GpuError> {
    let mut ts = [0u64; 2];
    query_results(ctx, queries, first, &mut ts)?;
    Ok(GpuTime {
        duration_ns: pair_ns(ctx, &ts),
        start: ctx.gpu_time_to_monotonic(ts[0]),
        end: ctx.gpu_time_to_monotonic(ts[1]),
    })
}

/// The duration of one pair of timestamps (queries `first` and `first + 1`), nanoseconds, read
/// without an allocation (it runs once per frame). The submission must have been waited for.
pub(crate) fn read_duration_at(
    ctx: &GpuContext,
    queries: vk::QueryPool,
    first: u32,
) -> Result<f64, GpuError> {
    let mut ts = [0u64; 2];
    query_results(ctx, queries, first, &mut ts)?;
    Ok(pair_ns(ctx, &ts))
}

fn query_results(
    ctx: &GpuContext,
    queries: vk::QueryPool,
    first: u32,
    ts: &mut [u64],
) -> Result<(), GpuError> {
    // SAFETY: the caller waited for the submission that wrote these queries.
    unsafe {
        ctx.device.get_query_pool_results(
            queries,
            first,
            ts,
            vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WAIT,
        )
    }
    .map_err(GpuError::vk("vkGetQueryPoolResults"))
}

fn pair_ns(ctx: &GpuContext, pair: &[u64]) -> f64 {
    pair[1].saturating_sub(pair[0]) as f64 * ctx.device_info().timestamp_period_ns
}

/// Records a memory dependency on a whole buffer.
///
/// # Safety
/// `cmd` must be a command buffer of `d` in the recording state, and `buffer` a buffer of `d`.
pub(crate) unsafe fn buffer_barrier(
    d: &ash::Device,
    cmd: vk::CommandBuffer,
    buffer: vk::Buffer,
    src_access: vk::AccessFlags,
    dst_access: vk::AccessFlags,
    src_stage: vk::PipelineStageFlags,
    dst_stage: vk::PipelineStageFlags,
) {
    let barrier = vk::BufferMemoryBarrier::default()
        .src_access_mask(src_access)
        .dst_access_mask(dst_access)
        .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
        .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
        .buffer(buffer)
        .offset(0)
        .size(vk::WHOLE_SIZE);
    // SAFETY: the caller guarantees cmd is recording and buffer belongs to d.
    unsafe {
        d.cmd_pipeline_barrier(
            cmd,
            src_stage,
            dst_stage,
            vk::DependencyFlags::empty(),
            &[],
            &[barrier],
            &[],
        )
    };
}

/// Records a layout transition of a whole single-level colour image.
///
/// # Safety
/// `cmd` must be a command buffer of `d` in the recording state, and `image` an image of `d`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn image_barrier(
    d: &ash::Device,
    cmd: vk::CommandBuffer,
    image: vk::Image,
    old: vk::ImageLayout,
    new: vk::ImageLayout,
    src_access: vk::AccessFlags,
    dst_access: vk::AccessFlags,
    src_stage: vk::PipelineStageFlags,
    dst_stage: vk::PipelineStageFlags,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        image_transfer_barrier(
            d,
            cmd,
            image,
            (old, new),
            (src_access, dst_access),
            (src_stage, dst_stage),
            (vk::QUEUE_FAMILY_IGNORED, vk::QUEUE_FAMILY_IGNORED),
        )
    }
}

/// As [`image_barrier`], also moving ownership between the `(from, to)` queue families
/// (`QUEUE_FAMILY_IGNORED` twice for none): (old, new) layouts, (src, dst) access and stages.
///
/// # Safety
/// As [`image_barrier`].
pub(crate) unsafe fn image_transfer_barrier(
    d: &ash::Device,
    cmd: vk::CommandBuffer,
    image: vk::Image,
    (old, new): (vk::ImageLayout, vk::ImageLayout),
    (src_access, dst_access): (vk::AccessFlags, vk::AccessFlags),
    (src_stage, dst_stage): (vk::PipelineStageFlags, vk::PipelineStageFlags),
    (from, to): (u32, u32),
) {
    let barrier = vk::ImageMemoryBarrier::default()
        .src_access_mask(src_access)
        .dst_access_mask(dst_access)
        .old_layout(old)
        .new_layout(new)
        .src_queue_family_index(from)
        .dst_queue_family_index(to)
        .image(image)
        .subresource_range(color_range());
    // SAFETY: the caller guarantees cmd is recording and image belongs to d.
    unsafe {
        d.cmd_pipeline_barrier(
            cmd,
            src_stage,
            dst_stage,
            vk::DependencyFlags::empty(),
            &[],
            &[],
            &[barrier],
        )
    };
}

/// True when the context's queue family writes timestamps.
pub(crate) fn queue_has_timestamps(ctx: &GpuContext) -> bool {
    // SAFETY: a plain query on a valid physical device.
    let families = unsafe {
        ctx.instance
            .get_physical_device_queue_family_properties(ctx.physical)
    };
    families[ctx.queue_family as usize].timestamp_valid_bits > 0
}

/// Fills a device-local buffer with `bytes` through a staging buffer and one waited-for
/// submission (for tables written once, which the GPU then reads from its own memory rather
/// than across the bus).
pub(crate) fn upload_once(
    ctx: &std::sync::Arc<GpuContext>,
    dst: vk::Buffer,
    bytes: &[u8],
) -> Result<(), GpuError> {
    let mut staging = staging_buffer(
        ctx,
        bytes.len() as u64,
        vk::BufferUsageFlags::TRANSFER_SRC,
        gpu_allocator::MemoryLocation::CpuToGpu,
    )?;
    staging
        .mapped_mut()
        .ok_or(not_host_visible())?
        .copy_from_slice(bytes);
    // SAFETY: both buffers belong to the context's device and outlive the waited submission.
    unsafe {
        run_once(ctx, "an upload", |d, cmd| {
            let region = [vk::BufferCopy::default().size(bytes.len() as u64)];
            d.cmd_copy_buffer(cmd, staging.buffer, dst, &region);
            buffer_barrier(
                d,
                cmd,
                dst,
                vk::AccessFlags::TRANSFER_WRITE,
                vk::AccessFlags::SHADER_READ | vk::AccessFlags::UNIFORM_READ,
                vk::PipelineStageFlags::TRANSFER,
                vk::PipelineStageFlags::COMPUTE_SHADER,
            );
        })
    }
}

/// Reads the first `len` bytes of a device-local buffer through a staging buffer and one
/// waited-for submission.
pub(crate) fn download_once(
    ctx: &std::sync::Arc<GpuContext>,
    src: vk::Buffer,
    len: u64,
) -> Result<Vec<u8>, GpuError> {
    // SAFETY: the source buffer belongs to the context's device and outlives the wait.
    unsafe {
        read_through_staging(ctx, len, "a read-back", |d, cmd, staging| {
            record_readback(d, cmd, src, staging, len)
        })
    }
}

/// Reads `regions` of an image in `layout` into a staging buffer of `len` bytes with one
/// waited-for submission.
///
/// # Safety
/// `image` belongs to the context's device, is in `layout` (a transfer-source one) and owned
/// by the context's queue family, and no submission writes it until this returns.
#[cfg(any(feature = "test-support", feature = "bench"))]
pub(crate) unsafe fn download_image_once(
    ctx: &std::sync::Arc<GpuContext>,
    image: vk::Image,
    layout: vk::ImageLayout,
    regions: &[vk::BufferImageCopy],
    len: u64,
) -> Result<Vec<u8>, GpuError> {
    // SAFETY: forwarded from the caller.
    unsafe {
        read_through_staging(ctx, len, "an image read-back", |d, cmd, staging| {
            d.cmd_copy_image_to_buffer(cmd, image, layout, staging, regions);
            buffer_barrier(
                d,
                cmd,
                staging,
                vk::AccessFlags::TRANSFER_WRITE,
                vk::AccessFlags::HOST_READ,
                vk::PipelineStageFlags::TRANSFER,
                vk::PipelineStageFlags::HOST,
            );
        })
    }
}

/// `len` bytes a recorded copy writes into a host-visible staging buffer (`record` gets it),
/// read after one waited-for submission.
///
/// # Safety
/// As [`run_once`]: what `record` records is valid on the context's device and every handle
/// it uses lives until this returns.
unsafe fn read_through_staging(
    ctx: &std::sync::Arc<GpuContext>,
    len: u64,
    what: &'static str,
    record: impl FnOnce(&ash::Device, vk::CommandBuffer, vk::Buffer),
) -> Result<Vec<u8>, GpuError> {
    let staging = staging_buffer(
        ctx,
        len,
        vk::BufferUsageFlags::TRANSFER_DST,
        gpu_allocator::MemoryLocation::GpuToCpu,
    )?;
    // SAFETY: forwarded from the caller; the staging buffer outlives the waited submission.
    unsafe { run_once(ctx, what, |d, cmd| record(d, cmd, staging.buffer))? };
    Ok(staging.mapped().ok_or(not_host_visible())?.to_vec())
}

fn not_host_visible() -> GpuError {
    GpuError::Allocation {
        what: "staging".into(),
        reason: "not host-visible".into(),
    }
}

fn staging_buffer(
    ctx: &std::sync::Arc<GpuContext>,
    len: u64,
    usage: vk::BufferUsageFlags,
    location: gpu_allocator::MemoryLocation,
) -> Result<super::resources::GpuBuffer, GpuError> {
    super::resources::GpuBuffer::new(ctx, "staging", len, usage, location)
}

/// Begins `cmd`, lets `record` fill it, submits it signalling `fence`, and waits up to
/// `timeout_ns` for it (a timeout is a [`GpuError::Timeout`] naming `what`).
///
/// # Safety
/// As [`begin_one_time`] and [`end_and_submit`]: `cmd` and `fence` idle, and every handle
/// `record` uses alive until this returns.
pub(crate) unsafe fn submit_and_wait(
    ctx: &GpuContext,
    cmd: vk::CommandBuffer,
    fence: vk::Fence,
    timeout_ns: u64,
    what: &'static str,
    record: impl FnOnce(vk::CommandBuffer),
) -> Result<(), GpuError> {
    // SAFETY: forwarded from the caller.
    unsafe {
        begin_one_time(&ctx.device, cmd)?;
        record(cmd);
        end_and_submit(ctx, cmd, fence)?;
    }
    wait_and_reset(ctx, fence, timeout_ns, what)
}

/// Records `record` into a fresh command buffer, submits it and waits for it.
///
/// # Safety
/// What `record` records must be valid on the context's device, and every handle it uses
/// must live until this returns.
unsafe fn run_once(
    ctx: &GpuContext,
    what: &'static str,
    record: impl FnOnce(&ash::Device, vk::CommandBuffer),
) -> Result<(), GpuError> {
    let d = &ctx.device;
    let (pool, cmds) = command_buffers(ctx, 1)?;
    // SAFETY: the pool, command buffer and fence are new; they are destroyed once nothing of
    // theirs is in flight: after the wait, or when the submission never happened. The caller
    // vouches for the commands.
    unsafe {
        let fence = match d.create_fence(&vk::FenceCreateInfo::default(), None) {
            Ok(f) => f,
            Err(e) => {
                d.destroy_command_pool(pool, None);
                return Err(GpuError::vk("vkCreateFence")(e));
            }
        };
        let result = submit_and_wait(ctx, cmds[0], fence, 5_000_000_000, what, |cmd| {
            record(d, cmd)
        });
        if matches!(result, Err(GpuError::Timeout { .. })) {
            // Still in flight: leak the pool and fence rather than destroy them in use (the
            // device may be borrowed, so no vkDeviceWaitIdle).
            tracing::error!(
                what,
                "a one-time submission did not finish; its command pool is leaked"
            );
            return result;
        }
        d.destroy_fence(fence, None);
        d.destroy_command_pool(pool, None);
        result
    }
}

/// The median of timings (NaN for none).
#[cfg(any(feature = "test-support", feature = "bench"))]
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
