//! The entry points of command buffers, queries, synchronisation and submission: each turns
//! the caller's pointers into owned, checked values for `command`, `query`, `sync` and logs
//! the call, as `ffi` does for the rest.

use std::ffi::c_void;
use std::time::Duration;

use ash::vk;
use ash::vk::native;
use ash::vk::Handle;

use crate::av1;
use crate::command::{
    check_buffer_copy, check_copy, check_video_family, Av1Picture, Av1Reference, CodecPicture,
    Command, CommandBuffer, Control, Encode, H264Picture, H265Picture, ImageBarrier, Picture,
    Plain, RateControl, RefLists, Slot,
};
use crate::driver::{self, Device, Driver};
use crate::ffi::{array, code, finish, handle_of, in_chain, read, s_type, write};
use crate::intra_refresh;
use crate::log::record;
use crate::query::QueryPoolRequest;
use crate::sync::Batch;

/// How long a wait the application made unbounded may last before the driver calls the device
/// lost: submissions run at once, so only another thread can still signal.
const UNBOUNDED_WAIT: Duration = Duration::from_secs(60);

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

/// `CLOCK_MONOTONIC` in nanoseconds (the timestamps' clock; `timestampPeriod` is 1).
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; clock 1 is Linux's CLOCK_MONOTONIC.
    let r = unsafe { clock_gettime(1, &raw mut ts) };
    if r != 0 {
        return 0;
    }
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

/// The first node of type `ty` in an input chain.
///
/// # Safety
/// `first` is NULL or the start of a valid input chain; `T` is the structure `ty` names.
unsafe fn chained<'a, T>(first: *const c_void, ty: vk::StructureType) -> Option<&'a T> {
    // SAFETY: the caller's contract.
    unsafe { in_chain(first) }
        .into_iter()
        // SAFETY: each node is a valid chain structure; its sType says it is a `T`.
        .find(|n| unsafe { s_type(*n) } == ty)
        .map(|n| unsafe { &*n.cast::<T>() })
}

fn timeout(ns: u64) -> Duration {
    if ns == u64::MAX {
        UNBOUNDED_WAIT
    } else {
        Duration::from_nanos(ns)
    }
}

/// Logs a create call and, on success, writes the new handle to `out`.
///
/// # Safety
/// `out` is a writable handle pointer.
unsafe fn created<H: Handle>(
    name: &str,
    detail: &str,
    r: Result<u64, String>,
    out: *mut H,
) -> vk::Result {
    code(finish(name, detail, r).map(|h| {
        // SAFETY: the caller's contract.
        unsafe { write(out, H::from_raw(h)) };
    }))
}

/// Logs a destroy call: `name NULL` for a null handle (nothing to do), else `destroy`'s answer
/// with the handle as `what=`.
fn destroyed<H: Handle>(
    name: &str,
    what: &str,
    h: H,
    destroy: impl FnOnce(&mut Driver, u64) -> Result<(), String>,
) {
    let raw = h.as_raw();
    if raw == 0 {
        record(&format!("{name} NULL"));
        return;
    }
    let r = destroy(&mut driver::lock(), raw);
    let _ = finish(name, &format!("{what}={raw:#x}"), r);
}

/// Waits (bounded by `timeout_ns`, see [`timeout`]) until `done` holds, after refusing the
/// call with the first error `check` finds; logs and returns SUCCESS, TIMEOUT, or
/// ERROR_DEVICE_LOST when an unbounded wait ran out.
fn wait(
    name: &str,
    detail: &str,
    timeout_ns: u64,
    check: impl FnOnce(&Driver) -> Option<String>,
    done: impl FnMut(&Driver) -> bool,
) -> vk::Result {
    let guard = driver::lock();
    if let Some(e) = check(&guard) {
        drop(guard);
        return code(finish::<()>(name, detail, Err(e)));
    }
    let (guard, ok) = driver::wait_until(guard, timeout(timeout_ns), done);
    drop(guard);
    let r = match (ok, timeout_ns) {
        (true, _) => vk::Result::SUCCESS,
        (false, u64::MAX) => vk::Result::ERROR_DEVICE_LOST,
        (false, _) => vk::Result::TIMEOUT,
    };
    record(&format!("{name} {detail} -> {r:?}"));
    r
}

// ---------------------------------------------------------------------------------------------
// Command pools and buffers.

pub(crate) unsafe extern "system" fn create_command_pool(
    device: vk::Device,
    info: *const vk::CommandPoolCreateInfo<'_>,
    _allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::CommandPool,
) -> vk::Result {
    // SAFETY: the caller passes a valid create info.
    let Some(info) = (unsafe { read(info) }) else {
        return vk::Result::ERROR_VALIDATION_FAILED_EXT;
    };
    let detail = format!(
        "family={} flags={:#x}",
        info.queue_family_index,
        info.flags.as_raw()
    );
    let r =
        driver::lock().create_command_pool(handle_of(device), info.queue_family_index, info.flags);
    // SAFETY: the caller passes a writable handle pointer.
    unsafe { created("vkCreateCommandPool", &detail, r, out) }
}

pub(crate) unsafe extern "system" fn destroy_command_pool(
    device: vk::Device,
    pool: vk::CommandPool,
    _allocator: *const vk::AllocationCallbacks<'_>,
) {
    destroyed("vkDestroyCommandPool", "pool", pool, |d, h| {
        d.destroy_command_pool(handle_of(device), h)
    });
}

pub(crate) unsafe extern "system" fn reset_command_pool(
    device: vk::Device,
    pool: vk::CommandPool,
    _flags: vk::CommandPoolResetFlags,
) -> vk::Result {
    let r = driver::lock().reset_command_pool(handle_of(device), pool.as_raw());
    code(finish(
        "vkResetCommandPool",
        &format!("pool={:#x}", pool.as_raw()),
        r,
    ))
}

pub(crate) unsafe extern "system" fn allocate_command_buffers(
    device: vk::Device,
    info: *const vk::CommandBufferAllocateInfo<'_>,
    out: *mut vk::CommandBuffer,
) -> vk::Result {
    // SAFETY: the caller passes a valid allocate info.
    let Some(info) = (unsafe { read(info) }) else {
        return vk::Result::ERROR_VALIDATION_FAILED_EXT;
    };
    let detail = format!(
        "pool={:#x} count={}",
        info.command_pool.as_raw(),
        info.command_buffer_count
    );
    let r = driver::lock().allocate_command_buffers(
        handle_of(device),
        info.command_pool.as_raw(),
        info.level,
        info.command_buffer_count,
    );
    code(finish("vkAllocateCommandBuffers", &detail, r).map(|list| {
        for (i, h) in list.into_iter().enumerate() {
            // SAFETY: pCommandBuffers holds commandBufferCount writable handles.
            unsafe { write(out.add(i), vk::CommandBuffer::from_raw(h)) };
        }
    }))
}

pub(crate) unsafe extern "system" fn free_command_buffers(
    device: vk::Device,
    pool: vk::CommandPool,
    count: u32,
    buffers: *const vk::CommandBuffer,
) {
    // SAFETY: pCommandBuffers holds commandBufferCount handles.
    let list: Vec<u64> = unsafe { array(buffers, count) }
        .iter()
        .map(|b| b.as_raw())
        .collect();
    let r = driver::lock().free_command_buffers(handle_of(device), pool.as_raw(), &list);
    let _ = finish(
        "vkFreeCommandBuffers",
        &format!("pool={:#x} count={count}", pool.as_raw()),
        r,
    );
}

pub(crate) unsafe extern "system" fn begin_command_buffer(
    cb: vk::CommandBuffer,
    info: *const vk::CommandBufferBeginInfo<'_>,
) -> vk::Result {
    // SAFETY: the caller passes a valid begin info.
    let flags = unsafe { read(info) }.map_or(vk::CommandBufferUsageFlags::empty(), |i| i.flags);
    let r = driver::lock().begin_command_buffer(handle_of(cb), flags);
    code(finish(
        "vkBeginCommandBuffer",
        &format!("flags={:#x}", flags.as_raw()),
        r,
    ))
}

pub(crate) unsafe extern "system" fn end_command_buffer(cb: vk::CommandBuffer) -> vk::Result {
    let r = driver::lock().end_command_buffer(handle_of(cb));
    match r {
        Ok(n) => {
            record(&format!("vkEndCommandBuffer commands={n} -> SUCCESS"));
            vk::Result::SUCCESS
        }
        Err(e) => code(finish::<()>("vkEndCommandBuffer", "", Err(e))),
    }
}

pub(crate) unsafe extern "system" fn reset_command_buffer(
    cb: vk::CommandBuffer,
    _flags: vk::CommandBufferResetFlags,
) -> vk::Result {
    let r = driver::lock().reset_command_buffer(handle_of(cb));
    code(finish("vkResetCommandBuffer", "", r))
}

/// Records one command, logging `name detail -> SUCCESS` or the refusal.
fn record_cmd(
    name: &str,
    cb: vk::CommandBuffer,
    detail: &str,
    command: Command,
    check: impl FnOnce(&Device, &CommandBuffer) -> Result<(), String>,
) {
    let r = driver::lock().record(handle_of(cb), command, check);
    let _ = finish(name, detail, r);
}

// ---------------------------------------------------------------------------------------------
// Barriers and copies.

/// An image barrier's (image, old layout, new layout, source family, destination family), for
/// both `VkImageMemoryBarrier` and `VkImageMemoryBarrier2`.
macro_rules! image_barrier {
    ($b:expr) => {
        (
            $b.image.as_raw(),
            $b.old_layout.as_raw(),
            $b.new_layout.as_raw(),
            $b.src_queue_family_index,
            $b.dst_queue_family_index,
        )
    };
}

/// The image barriers a barrier command runs.
fn barriers(b: &[(u64, i32, i32, u32, u32)]) -> Vec<ImageBarrier> {
    b.iter()
        .map(|&(image, old, new, src_family, dst_family)| ImageBarrier {
            image,
            old: vk::ImageLayout::from_raw(old),
            new: vk::ImageLayout::from_raw(new),
            src_family,
            dst_family,
        })
        .collect()
}

fn image_barrier_words(b: &[(u64, i32, i32, u32, u32)]) -> String {
    b.iter()
        .map(|(image, old, new, src, dst)| {
            let fam = |f: u32| {
                if f == vk::QUEUE_FAMILY_IGNORED {
                    "-".to_string()
                } else {
                    f.to_string()
                }
            };
            format!("{image:#x}:{old}->{new}:{}->{}", fam(*src), fam(*dst))
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) unsafe extern "system" fn cmd_pipeline_barrier(
    cb: vk::CommandBuffer,
    _src: vk::PipelineStageFlags,
    _dst: vk::PipelineStageFlags,
    _dependency: vk::DependencyFlags,
    memory_count: u32,
    _memory: *const vk::MemoryBarrier<'_>,
    buffer_count: u32,
    _buffers: *const vk::BufferMemoryBarrier<'_>,
    image_count: u32,
    images: *const vk::ImageMemoryBarrier<'_>,
) {
    // SAFETY: pImageMemoryBarriers holds imageMemoryBarrierCount structures.
    let list: Vec<_> = unsafe { array(images, image_count) }
        .iter()
        .map(|b| image_barrier!(b))
        .collect();
    let detail = format!(
        "memory={memory_count} buffers={buffer_count} images={image_count} [{}]",
        image_barrier_words(&list)
    );
    record_cmd(
        "vkCmdPipelineBarrier",
        cb,
        &detail,
        Command::Barrier(barriers(&list)),
        |_, _| Ok(()),
    );
}

pub(crate) unsafe extern "system" fn cmd_pipeline_barrier2(
    cb: vk::CommandBuffer,
    info: *const vk::DependencyInfo<'_>,
) {
    // SAFETY: the caller passes a valid dependency info.
    let Some(info) = (unsafe { read(info) }) else {
        record("vkCmdPipelineBarrier2 pDependencyInfo=NULL -> ERROR_VALIDATION_FAILED_EXT");
        return;
    };
    // SAFETY: the arrays hold their counts of structures.
    let list: Vec<_> = unsafe {
        array(
            info.p_image_memory_barriers,
            info.image_memory_barrier_count,
        )
    }
    .iter()
    .map(|b| image_barrier!(b))
    .collect();
    let detail = format!(
        "memory={} buffers={} images={} [{}]",
        info.memory_barrier_count,
        info.buffer_memory_barrier_count,
        info.image_memory_barrier_count,
        image_barrier_words(&list)
    );
    record_cmd(
        "vkCmdPipelineBarrier2",
        cb,
        &detail,
        Command::Barrier(barriers(&list)),
        |_, _| Ok(()),
    );
}

fn copy_detail(
    buffer: u64,
    image: u64,
    layout: vk::ImageLayout,
    r: &[vk::BufferImageCopy],
) -> String {
    let regions = r
        .iter()
        .map(|r| {
            format!(
                "{:#x}@{}:{}x{}",
                r.image_subresource.aspect_mask.as_raw(),
                r.buffer_offset,
                r.image_extent.width,
                r.image_extent.height
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "buffer={buffer:#x} image={image:#x} layout={} regions=[{regions}]",
        layout.as_raw()
    )
}

/// Records a copy between `buffer` and `image`, into the image when `to_image` (which also
/// picks the transfer layout the image may be in), else out of it.
fn copy(
    name: &str,
    cb: vk::CommandBuffer,
    to_image: bool,
    buffer: u64,
    image: u64,
    layout: vk::ImageLayout,
    regions: Vec<vk::BufferImageCopy>,
) {
    let detail = copy_detail(buffer, image, layout, &regions);
    let checked = regions.clone();
    let (command, which, transfer) = if to_image {
        (
            Command::CopyBufferToImage {
                buffer,
                image,
                regions,
            },
            "dstImageLayout",
            vk::ImageLayout::TRANSFER_DST_OPTIMAL,
        )
    } else {
        (
            Command::CopyImageToBuffer {
                image,
                buffer,
                regions,
            },
            "srcImageLayout",
            vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
        )
    };
    record_cmd(name, cb, &detail, command, move |d, b| {
        if ![
            transfer,
            vk::ImageLayout::GENERAL,
            vk::ImageLayout::SHARED_PRESENT_KHR,
        ]
        .contains(&layout)
        {
            return Err(format!("{which} {layout:?}: {transfer:?} or GENERAL"));
        }
        check_copy(d, b, buffer, image, &checked)
    });
}

pub(crate) unsafe extern "system" fn cmd_copy_buffer(
    cb: vk::CommandBuffer,
    src: vk::Buffer,
    dst: vk::Buffer,
    count: u32,
    regions: *const vk::BufferCopy,
) {
    // SAFETY: pRegions holds regionCount structures.
    let regions = unsafe { array(regions, count) }.to_vec();
    let (src, dst) = (src.as_raw(), dst.as_raw());
    let detail = format!(
        "src={src:#x} dst={dst:#x} regions=[{}]",
        regions
            .iter()
            .map(|r| format!("{}+{}->{}", r.src_offset, r.size, r.dst_offset))
            .collect::<Vec<_>>()
            .join(",")
    );
    let checked = regions.clone();
    record_cmd(
        "vkCmdCopyBuffer",
        cb,
        &detail,
        Command::CopyBuffer { src, dst, regions },
        move |d, b| check_buffer_copy(d, b, src, dst, &checked),
    );
}

pub(crate) unsafe extern "system" fn cmd_copy_buffer_to_image(
    cb: vk::CommandBuffer,
    buffer: vk::Buffer,
    image: vk::Image,
    layout: vk::ImageLayout,
    count: u32,
    regions: *const vk::BufferImageCopy,
) {
    // SAFETY: pRegions holds regionCount structures.
    let regions = unsafe { array(regions, count) }.to_vec();
    copy(
        "vkCmdCopyBufferToImage",
        cb,
        true,
        buffer.as_raw(),
        image.as_raw(),
        layout,
        regions,
    );
}

pub(crate) unsafe extern "system" fn cmd_copy_image_to_buffer(
    cb: vk::CommandBuffer,
    image: vk::Image,
    layout: vk::ImageLayout,
    buffer: vk::Buffer,
    count: u32,
    regions: *const vk::BufferImageCopy,
) {
    // SAFETY: pRegions holds regionCount structures.
    let regions = unsafe { array(regions, count) }.to_vec();
    copy(
        "vkCmdCopyImageToBuffer",
        cb,
        false,
        buffer.as_raw(),
        image.as_raw(),
        layout,
        regions,
    );
}

fn region1(r: &vk::BufferImageCopy2<'_>) -> vk::BufferImageCopy {
    vk::BufferImageCopy {
        buffer_offset: r.buffer_offset,
        buffer_row_length: r.buffer_row_length,
        buffer_image_height: r.buffer_image_height,
        image_subresource: r.image_subresource,
        image_offset: r.image_offset,
        image_extent: r.image_extent,
    }
}

pub(crate) unsafe extern "system" fn cmd_copy_buffer_to_image2(
    cb: vk::CommandBuffer,
    info: *const vk::CopyBufferToImageInfo2<'_>,
) {
    // SAFETY: the caller passes a valid copy info whose regions array holds regionCount.
    let Some(info) = (unsafe { read(info) }) else {
        return;
    };
    // SAFETY: as above.
    let regions = unsafe { array(info.p_regions, info.region_count) }
        .iter()
        .map(region1)
        .collect();
    copy(
        "vkCmdCopyBufferToImage2",
        cb,
        true,
        info.src_buffer.as_raw(),
        info.dst_image.as_raw(),
        info.dst_image_layout,
        regions,
    );
}

pub(crate) unsafe extern "system" fn cmd_copy_image_to_buffer2(
    cb: vk::CommandBuffer,
    info: *const vk::CopyImageToBufferInfo2<'_>,
) {
    // SAFETY: the caller passes a valid copy info whose regions array holds regionCount.
    let Some(info) = (unsafe { read(info) }) else {
        return;
    };
    // SAFETY: as above.
    let regions = unsafe { array(info.p_regions, info.region_count) }
        .iter()
        .map(region1)
        .collect();
    copy(
        "vkCmdCopyImageToBuffer2",
        cb,
        false,
        info.dst_buffer.as_raw(),
        info.src_image.as_raw(),
        info.src_image_layout,
        regions,
    );
}

// ---------------------------------------------------------------------------------------------
// Queries.

fn check_query(d: &Device, pool: u64, first: u32, count: u32) -> Result<vk::QueryType, String> {
    let p = d
        .query_pools
        .get(&pool)
        .ok_or_else(|| format!("unknown query pool {pool:#x}"))?;
    let n = p.queries.len();
    if usize::try_from(u64::from(first) + u64::from(count)).map_or(true, |end| end > n) {
        return Err(format!("queries {first}+{count} of a pool of {n}"));
    }
    Ok(p.kind)
}

pub(crate) unsafe extern "system" fn cmd_reset_query_pool(
    cb: vk::CommandBuffer,
    pool: vk::QueryPool,
    first: u32,
    count: u32,
) {
    let pool = pool.as_raw();
    record_cmd(
        "vkCmdResetQueryPool",
        cb,
        &format!("pool={pool:#x} first={first} count={count}"),
        Command::ResetQueries { pool, first, count },
        |d, b| {
            if b.coding.is_some() {
                return Err(
                    "inside a video coding scope (VUID-vkCmdResetQueryPool-videocoding)".into(),
                );
            }
            check_query(d, pool, first, count).map(|_| ())
        },
    );
}

pub(crate) unsafe extern "system" fn cmd_begin_query(
    cb: vk::CommandBuffer,
    pool: vk::QueryPool,
    query: u32,
    flags: vk::QueryControlFlags,
) {
    let pool = pool.as_raw();
    record_cmd(
        "vkCmdBeginQuery",
        cb,
        &format!("pool={pool:#x} query={query}"),
        Command::BeginQuery { pool, query },
        |d, b| {
            if !flags.is_empty() {
                return Err(format!("flags {:#x}: no precise queries", flags.as_raw()));
            }
            let kind = check_query(d, pool, query, 1)?;
            if matches!(
                kind,
                vk::QueryType::VIDEO_ENCODE_FEEDBACK_KHR | vk::QueryType::RESULT_STATUS_ONLY_KHR
            ) && b.coding.is_none()
            {
                return Err("a video query begun outside a video coding scope".into());
            }
            if kind == vk::QueryType::TIMESTAMP {
                return Err("a TIMESTAMP query is written with vkCmdWriteTimestamp".into());
            }
            Ok(())
        },
    );
}

pub(crate) unsafe extern "system" fn cmd_end_query(
    cb: vk::CommandBuffer,
    pool: vk::QueryPool,
    query: u32,
) {
    let pool = pool.as_raw();
    record_cmd(
        "vkCmdEndQuery",
        cb,
        &format!("pool={pool:#x} query={query}"),
        Command::EndQuery { pool, query },
        |d, b| {
            let begun = b.commands.iter().rev().find_map(|c| match c {
                Command::BeginQuery { pool: p, query: q } => Some((*p, *q)),
                Command::EndQuery { .. } => Some((0, u32::MAX)),
                _ => None,
            });
            if begun != Some((pool, query)) {
                return Err(format!(
                    "query {query} of pool {pool:#x} is not active in this command buffer"
                ));
            }
            check_query(d, pool, query, 1).map(|_| ())
        },
    );
}

fn write_timestamp(name: &str, cb: vk::CommandBuffer, pool: u64, query: u32) {
    record_cmd(
        name,
        cb,
        &format!("pool={pool:#x} query={query}"),
        Command::Timestamp { pool, query },
        |d, _| match check_query(d, pool, query, 1)? {
            vk::QueryType::TIMESTAMP => Ok(()),
            k => Err(format!("a {k:?} pool: timestamps go to TIMESTAMP pools")),
        },
    );
}

pub(crate) unsafe extern "system" fn cmd_write_timestamp(
    cb: vk::CommandBuffer,
    _stage: vk::PipelineStageFlags,
    pool: vk::QueryPool,
    query: u32,
) {
    write_timestamp("vkCmdWriteTimestamp", cb, pool.as_raw(), query);
}

pub(crate) unsafe extern "system" fn cmd_write_timestamp2(
    cb: vk::CommandBuffer,
    _stage: vk::PipelineStageFlags2,
    pool: vk::QueryPool,
    query: u32,
) {
    write_timestamp("vkCmdWriteTimestamp2", cb, pool.as_raw(), query);
}

pub(crate) unsafe extern "system" fn create_query_pool(
    device: vk::Device,
    info: *const vk::QueryPoolCreateInfo<'_>,
    _allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::QueryPool,
) -> vk::Result {
    // SAFETY: the caller passes a valid create info.
    let Some(info) = (unsafe { read(info) }) else {
        return vk::Result::ERROR_VALIDATION_FAILED_EXT;
    };
    // SAFETY: the chain is valid; each sType names its structure.
    let feedback = unsafe {
        chained::<vk::QueryPoolVideoEncodeFeedbackCreateInfoKHR<'_>>(
            info.p_next,
            vk::StructureType::QUERY_POOL_VIDEO_ENCODE_FEEDBACK_CREATE_INFO_KHR,
        )
    }
    .map(|f| f.encode_feedback_flags);
    // SAFETY: as above.
    let has_profile = unsafe {
        chained::<vk::VideoProfileInfoKHR<'_>>(
            info.p_next,
            vk::StructureType::VIDEO_PROFILE_INFO_KHR,
        )
    }
    .is_some();
    let request = QueryPoolRequest {
        kind: info.query_type,
        count: info.query_count,
        feedback,
        has_profile,
    };
    let detail = format!(
        "type={} count={} feedback={:#x}",
        info.query_type.as_raw(),
        info.query_count,
        feedback.map_or(0, |f| f.as_raw())
    );
    let r = driver::lock().create_query_pool(handle_of(device), &request);
    // SAFETY: the caller passes a writable handle pointer.
    unsafe { created("vkCreateQueryPool", &detail, r, out) }
}

pub(crate) unsafe extern "system" fn destroy_query_pool(
    device: vk::Device,
    pool: vk::QueryPool,
    _allocator: *const vk::AllocationCallbacks<'_>,
) {
    destroyed("vkDestroyQueryPool", "pool", pool, |d, h| {
        d.destroy_query_pool(handle_of(device), h)
    });
}

pub(crate) unsafe extern "system" fn reset_query_pool(
    device: vk::Device,
    pool: vk::QueryPool,
    first: u32,
    count: u32,
) {
    let r = driver::lock().reset_query_pool(handle_of(device), pool.as_raw(), first, count);
    let _ = finish(
        "vkResetQueryPool",
        &format!("pool={:#x} first={first} count={count}", pool.as_raw()),
        r,
    );
}

pub(crate) unsafe extern "system" fn get_query_pool_results(
    device: vk::Device,
    pool: vk::QueryPool,
    first: u32,
    count: u32,
    data_size: usize,
    data: *mut c_void,
    stride: vk::DeviceSize,
    flags: vk::QueryResultFlags,
) -> vk::Result {
    let (dev, p) = (handle_of(device), pool.as_raw());
    let detail = format!(
        "pool={p:#x} first={first} count={count} size={data_size} stride={stride} flags={:#x}",
        flags.as_raw()
    );
    let mut guard = driver::lock();
    if let Err(e) = guard.query_results(dev, p, first, count, flags) {
        drop(guard);
        return code(finish::<()>("vkGetQueryPoolResults", &detail, Err(e)));
    }
    if flags.contains(vk::QueryResultFlags::WAIT) {
        let (g, ok) = driver::wait_until(guard, UNBOUNDED_WAIT, |d| {
            d.queries_available(dev, p, first, count)
        });
        guard = g;
        if !ok {
            let r: Result<(), String> = Err(format!(
                "ERROR_DEVICE_LOST WAIT_BIT on queries no submission made available within {} s",
                UNBOUNDED_WAIT.as_secs()
            ));
            return code(finish("vkGetQueryPoolResults", &detail, r));
        }
    }
    let values = guard.query_values(dev, p);
    let r = guard.query_results(dev, p, first, count, flags);
    drop(guard);
    let wide = flags.contains(vk::QueryResultFlags::TYPE_64);
    let size: u64 = if wide { 8 } else { 4 };
    let r = r.and_then(|results| {
        let per = values.unwrap_or(0)
            + usize::from(flags.contains(vk::QueryResultFlags::WITH_STATUS_KHR))
            + usize::from(flags.contains(vk::QueryResultFlags::WITH_AVAILABILITY));
        let per = u64::try_from(per).unwrap_or(0);
        if stride % size != 0 {
            return Err(format!("stride {stride} is not a multiple of {size}"));
        }
        let need = u64::from(count.saturating_sub(1)) * stride + per * size;
        if u64::try_from(data_size).unwrap_or(0) < need || data.is_null() {
            return Err(format!(
                "dataSize {data_size}: the results need {need} bytes"
            ));
        }
        let mut ready = true;
        for (i, q) in results.iter().enumerate() {
            let base = u64::try_from(i).unwrap_or(0) * stride;
            let elements: Vec<i64> = match q {
                Some(e) => {
                    let mut e = e.clone();
                    if flags.contains(vk::QueryResultFlags::WITH_AVAILABILITY) {
                        e.push(1);
                    }
                    e
                }
                None => {
                    ready = false;
                    // Unavailable: only the availability (0) or the status (NOT_READY) is
                    // written, in the last element.
                    if flags.intersects(
                        vk::QueryResultFlags::WITH_AVAILABILITY
                            | vk::QueryResultFlags::WITH_STATUS_KHR,
                    ) {
                        let mut e = vec![i64::MIN; usize::try_from(per).unwrap_or(1) - 1];
                        e.push(0);
                        e
                    } else {
                        Vec::new()
                    }
                }
            };
            for (j, v) in elements.iter().enumerate() {
                if *v == i64::MIN {
                    continue;
                }
                let at = usize::try_from(base + u64::try_from(j).unwrap_or(0) * size)
                    .map_err(|e| e.to_string())?;
                // SAFETY: `at + size` is inside the caller's dataSize bytes (checked above).
                unsafe {
                    let dst = data.cast::<u8>().add(at);
                    if wide {
                        dst.cast::<i64>().write_unaligned(*v);
                    } else {
                        #[expect(
                            clippy::cast_possible_truncation,
                            reason = "32-bit results are the low bits, as the spec asks"
                        )]
                        dst.cast::<i32>().write_unaligned(*v as i32);
                    }
                }
            }
        }
        Ok(ready)
    });
    match r {
        Ok(true) => {
            record(&format!("vkGetQueryPoolResults {detail} -> SUCCESS"));
            vk::Result::SUCCESS
        }
        Ok(false) => {
            record(&format!("vkGetQueryPoolResults {detail} -> NOT_READY"));
            vk::Result::NOT_READY
        }
        Err(e) => code(finish::<()>("vkGetQueryPoolResults", &detail, Err(e))),
    }
}

// ---------------------------------------------------------------------------------------------
// Video coding.

/// A picture resource.
fn picture(p: &vk::VideoPictureResourceInfoKHR<'_>) -> Picture {
    Picture {
        offset: (p.coded_offset.x, p.coded_offset.y),
        extent: (p.coded_extent.width, p.coded_extent.height),
        base_layer: p.base_array_layer,
        view: p.image_view_binding.as_raw(),
    }
}

/// A reference slot and its picture.
///
/// # Safety
/// `s` is a valid slot info whose picture pointer is NULL or valid.
unsafe fn slot(s: &vk::VideoReferenceSlotInfoKHR<'_>) -> Slot {
    // SAFETY: the caller's contract: the slot's chain and the std pointers in it are valid.
    let av1 = unsafe {
        chained::<av1::VideoEncodeAV1DpbSlotInfoKHR<'_>>(
            s.p_next,
            av1::structure_type::VIDEO_ENCODE_AV1_DPB_SLOT_INFO_KHR,
        )
        .and_then(|d| read(d.p_std_reference_info))
        .map(|r| Av1Reference {
            flags: r.flags.as_raw(),
            ref_frame_id: r.RefFrameId,
            frame_type: r.frame_type,
            order_hint: r.OrderHint,
            layer: read(r.pExtensionHeader).map(|e| (e.temporal_id, e.spatial_id)),
        })
    };
    // SAFETY: the caller's contract.
    let dirty_regions = unsafe {
        chained::<intra_refresh::VideoReferenceIntraRefreshInfoKHR>(
            s.p_next,
            intra_refresh::structure_type::VIDEO_REFERENCE_INTRA_REFRESH_INFO_KHR,
        )
    }
    .map(|r| r.dirty_intra_refresh_regions);
    Slot {
        index: s.slot_index,
        // SAFETY: the caller's contract.
        picture: unsafe { read(s.p_picture_resource) }.map(picture),
        av1,
        dirty_regions,
    }
}

fn check_picture(d: &Device, p: &Picture, what: &str) -> Result<(), String> {
    let v = d
        .views
        .get(&p.view)
        .ok_or_else(|| format!("{what}: unknown image view {:#x}", p.view))?;
    if p.base_layer >= v.layer_count {
        return Err(format!(
            "{what}: baseArrayLayer {} of a view of {} layers",
            p.base_layer, v.layer_count
        ));
    }
    Ok(())
}

pub(crate) unsafe extern "system" fn cmd_begin_video_coding(
    cb: vk::CommandBuffer,
    info: *const vk::VideoBeginCodingInfoKHR<'_>,
) {
    // SAFETY: the caller passes a valid begin info.
    let Some(info) = (unsafe { read(info) }) else {
        return;
    };
    // SAFETY: pReferenceSlots holds referenceSlotCount valid slots.
    let slots: Vec<Slot> = unsafe { array(info.p_reference_slots, info.reference_slot_count) }
        .iter()
        // SAFETY: each slot is valid.
        .map(|s| unsafe { slot(s) })
        .collect();
    let session = info.video_session.as_raw();
    let parameters = info.video_session_parameters.as_raw();
    let detail = format!(
        "session={session:#x} parameters={parameters:#x} slots=[{}]",
        slots
            .iter()
            .map(|s| format!("{}{}", s.index, if s.picture.is_some() { "" } else { ":-" }))
            .collect::<Vec<_>>()
            .join(",")
    );
    let checked = slots.clone();
    record_cmd(
        "vkCmdBeginVideoCodingKHR",
        cb,
        &detail,
        Command::BeginCoding {
            session,
            parameters,
            slots,
        },
        move |d, b| {
            check_video_family(d, b)?;
            if b.coding.is_some() {
                return Err("a video coding scope is already open".into());
            }
            let s = d
                .sessions
                .get(&session)
                .ok_or_else(|| format!("unknown video session {session:#x}"))?;
            let missing: Vec<u32> = crate::session::memory_requirements(&s.request)
                .iter()
                .map(|(i, _)| *i)
                .filter(|i| !s.bound.contains_key(i))
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "the session's memory bind indices {missing:?} are unbound (VUID-vkCmdBeginVideoCodingKHR-videoSession-07237)"
                ));
            }
            if s.request.queue_family != b.family {
                return Err(format!(
                    "the session was created for family {}, the command buffer is of family {}",
                    s.request.queue_family, b.family
                ));
            }
            if parameters == 0
                && s.request.profile.operation == crate::caps::CODEC_OPERATION_ENCODE_AV1
            {
                return Err("an AV1 session's coding scope without session parameters (VUID-VkVideoBeginCodingInfoKHR-videoSession-10283)".into());
            }
            if parameters != 0 {
                let p = d
                    .parameters
                    .get(&parameters)
                    .ok_or_else(|| format!("unknown session parameters {parameters:#x}"))?;
                if p.session != session {
                    return Err("the parameters were created for another session".into());
                }
            }
            // Without SEPARATE_REFERENCE_IMAGES for the profile (Mesa RADV's encode before VCN
            // 5), every bound picture must be a view of one image (its layers, one a slot).
            let separate = crate::video::check(crate::caps::active(), &s.request.profile)
                .is_ok_and(|c| {
                    c.video
                        .flags
                        .contains(vk::VideoCapabilityFlagsKHR::SEPARATE_REFERENCE_IMAGES)
                });
            let bound: Vec<_> = checked
                .iter()
                .filter_map(|sl| sl.picture.as_ref())
                .filter_map(|p| {
                    d.views.get(&p.view).map(|v| {
                        let layer = v.base_layer.saturating_add(p.base_layer);
                        (v.image, layer, p.offset, p.extent)
                    })
                })
                .collect();
            crate::command::check_bound_pictures(separate, &bound)?;
            let max = s.request.max_dpb_slots;
            for sl in &checked {
                if u32::try_from(sl.index).map_or(true, |i| i >= max) && sl.index >= 0 {
                    return Err(format!(
                        "slot {} of a session with {max} DPB slots",
                        sl.index
                    ));
                }
                if let Some(p) = &sl.picture {
                    check_picture(d, p, "reference slot")?;
                }
            }
            Ok(())
        },
    );
}

pub(crate) unsafe extern "system" fn cmd_control_video_coding(
    cb: vk::CommandBuffer,
    info: *const vk::VideoCodingControlInfoKHR<'_>,
) {
    // SAFETY: the caller passes a valid control info.
    let Some(info) = (unsafe { read(info) }) else {
        return;
    };
    let flags = info.flags;
    let mut av1_structure = None;
    let rate = if flags.contains(vk::VideoCodingControlFlagsKHR::ENCODE_RATE_CONTROL) {
        // SAFETY: the chain is valid.
        av1_structure = unsafe {
            chained::<av1::VideoEncodeAV1RateControlInfoKHR<'_>>(
                info.p_next,
                av1::structure_type::VIDEO_ENCODE_AV1_RATE_CONTROL_INFO_KHR,
            )
        }
        .map(|a| crate::av1_enc::Av1RateStructure {
            flags: a.flags.as_raw(),
            gop_frame_count: a.gop_frame_count,
            key_frame_period: a.key_frame_period,
            consecutive_bipredictive_frame_count: a.consecutive_bipredictive_frame_count,
            temporal_layer_count: a.temporal_layer_count,
        });
        // SAFETY: the chain is valid.
        unsafe {
            chained::<vk::VideoEncodeRateControlInfoKHR<'_>>(
                info.p_next,
                vk::StructureType::VIDEO_ENCODE_RATE_CONTROL_INFO_KHR,
            )
        }
        .map(|r| {
            // SAFETY: pLayers holds layerCount valid layers, each with a valid chain.
            let layers = unsafe { array(r.p_layers, r.layer_count) };
            let q_bounds: Vec<_> = layers
                .iter()
                .map(|l| {
                    // SAFETY: as above.
                    unsafe {
                        chained::<av1::VideoEncodeAV1RateControlLayerInfoKHR<'_>>(
                            l.p_next,
                            av1::structure_type::VIDEO_ENCODE_AV1_RATE_CONTROL_LAYER_INFO_KHR,
                        )
                    }
                    .map_or((None, None), |a| {
                        let q = |x: av1::VideoEncodeAV1QIndexKHR| {
                            [
                                x.intra_q_index,
                                x.predictive_q_index,
                                x.bipredictive_q_index,
                            ]
                        };
                        (
                            (a.use_min_q_index != vk::FALSE).then(|| q(a.min_q_index)),
                            (a.use_max_q_index != vk::FALSE).then(|| q(a.max_q_index)),
                        )
                    })
                })
                .collect();
            (
                RateControl {
                    mode: r.rate_control_mode,
                    layers: layers
                        .iter()
                        .map(|l| (l.average_bitrate, l.max_bitrate))
                        .collect(),
                    av1_q_index: q_bounds.first().copied().unwrap_or((None, None)),
                },
                q_bounds,
            )
        })
    } else {
        None
    };
    let (rate, av1_q_bounds) = match rate {
        Some((r, q)) => (Some(r), q),
        None => (None, Vec::new()),
    };
    let quality = if flags.contains(vk::VideoCodingControlFlagsKHR::ENCODE_QUALITY_LEVEL) {
        // SAFETY: the chain is valid.
        unsafe {
            chained::<vk::VideoEncodeQualityLevelInfoKHR<'_>>(
                info.p_next,
                vk::StructureType::VIDEO_ENCODE_QUALITY_LEVEL_INFO_KHR,
            )
        }
        .map(|q| q.quality_level)
    } else {
        None
    };
    let detail = format!(
        "flags={:#x} rate={:?} quality={quality:?}",
        flags.as_raw(),
        rate.as_ref().map(|r| (r.mode.as_raw(), r.layers.clone()))
    );
    let control = Control {
        flags,
        rate: rate.clone(),
        quality,
    };
    record_cmd(
        "vkCmdControlVideoCodingKHR",
        cb,
        &detail,
        Command::Control(control),
        move |d, b| {
            check_video_family(d, b)?;
            if b.coding.is_none() {
                return Err("outside a video coding scope".into());
            }
            if flags.is_empty() {
                return Err("flags is 0".into());
            }
            let session_caps = b.coding.and_then(|c| d.sessions.get(&c)).map(|s| s.caps);
            let caps = session_caps.map_or(d.table.h264_encode, |c| c.encode);
            let caps = &caps;
            if flags.contains(vk::VideoCodingControlFlagsKHR::ENCODE_RATE_CONTROL) {
                let Some(r) = &rate else {
                    return Err(
                        "ENCODE_RATE_CONTROL without VkVideoEncodeRateControlInfoKHR in pNext"
                            .into(),
                    );
                };
                let default = vk::VideoEncodeRateControlModeFlagsKHR::DEFAULT;
                if r.mode != default && !caps.rate_control_modes.contains(r.mode) {
                    return Err(format!(
                        "rateControlMode {:#x}: the device has {:#x}",
                        r.mode.as_raw(),
                        caps.rate_control_modes.as_raw()
                    ));
                }
                if r.layers.len() > usize::try_from(caps.max_rate_control_layers).unwrap_or(0) {
                    return Err(format!("{} rate control layers", r.layers.len()));
                }
                for (avg, max) in &r.layers {
                    if *max > caps.max_bitrate || avg > max {
                        return Err(format!("a layer's average {avg} / max {max} bitrate"));
                    }
                    if r.mode == vk::VideoEncodeRateControlModeFlagsKHR::CBR && avg != max {
                        return Err(format!("CBR with average {avg} != max {max}"));
                    }
                }
                if let Some(crate::video::CodecCaps::Av1(av1)) = session_caps.map(|c| c.codec) {
                    crate::av1_enc::check_rate_control(
                        &av1,
                        av1_structure,
                        r.layers.len(),
                        &av1_q_bounds,
                    )?;
                }
            }
            if flags.contains(vk::VideoCodingControlFlagsKHR::ENCODE_QUALITY_LEVEL) {
                match quality {
                    None => {
                        return Err(
                            "ENCODE_QUALITY_LEVEL without VkVideoEncodeQualityLevelInfoKHR".into(),
                        )
                    }
                    Some(q) if q >= caps.max_quality_levels => {
                        return Err(format!("qualityLevel {q} of {}", caps.max_quality_levels))
                    }
                    Some(_) => {}
                }
            }
            Ok(())
        },
    );
}

/// The H.264 picture of an encode info's chain, deep-copied.
///
/// # Safety
/// `first` is NULL or a valid input chain whose std pointers are valid.
unsafe fn h264_picture(first: *const c_void) -> Result<H264Picture, String> {
    // SAFETY: the caller's contract.
    let info = unsafe {
        chained::<vk::VideoEncodeH264PictureInfoKHR<'_>>(
            first,
            vk::StructureType::VIDEO_ENCODE_H264_PICTURE_INFO_KHR,
        )
    }
    .ok_or("no VkVideoEncodeH264PictureInfoKHR in pNext")?;
    // SAFETY: pStdPictureInfo is valid.
    let mut pic = *unsafe { read(info.p_std_picture_info) }.ok_or("pStdPictureInfo is NULL")?;
    // SAFETY: pRefLists is NULL or valid.
    let lists = unsafe { read(pic.pRefLists) }.map(|l| {
        let mut plain = *l;
        // SAFETY: each array holds its count of entries.
        let (mod0, mod1, marking) = unsafe {
            (
                array(l.pRefList0ModOperations, u32::from(l.refList0ModOpCount)).to_vec(),
                array(l.pRefList1ModOperations, u32::from(l.refList1ModOpCount)).to_vec(),
                array(
                    l.pRefPicMarkingOperations,
                    u32::from(l.refPicMarkingOpCount),
                )
                .to_vec(),
            )
        };
        plain.pRefList0ModOperations = std::ptr::null();
        plain.pRefList1ModOperations = std::ptr::null();
        plain.pRefPicMarkingOperations = std::ptr::null();
        RefLists {
            lists: Plain(plain),
            mod0,
            mod1,
            marking,
        }
    });
    pic.pRefLists = std::ptr::null();
    let mut slices = Vec::new();
    // SAFETY: pNaluSliceEntries holds naluSliceEntryCount entries.
    for s in unsafe { array(info.p_nalu_slice_entries, info.nalu_slice_entry_count) } {
        // SAFETY: pStdSliceHeader is valid.
        let mut h = *unsafe { read(s.p_std_slice_header) }.ok_or("a NULL pStdSliceHeader")?;
        // SAFETY: pWeightTable is NULL or valid.
        let weights: Option<native::StdVideoEncodeH264WeightTable> =
            unsafe { read(h.pWeightTable) }.copied();
        h.pWeightTable = std::ptr::null();
        slices.push((Plain(h), weights));
    }
    if slices.is_empty() {
        return Err("naluSliceEntryCount is 0".into());
    }
    Ok(H264Picture {
        picture: Plain(pic),
        lists,
        slices,
    })
}

/// The H.265 picture of an encode info's chain, deep-copied.
///
/// # Safety
/// `first` is NULL or a valid input chain whose std pointers are valid.
unsafe fn h265_picture(first: *const c_void) -> Result<H265Picture, String> {
    // SAFETY: the caller's contract.
    let info = unsafe {
        chained::<vk::VideoEncodeH265PictureInfoKHR<'_>>(
            first,
            vk::StructureType::VIDEO_ENCODE_H265_PICTURE_INFO_KHR,
        )
    }
    .ok_or("no VkVideoEncodeH264PictureInfoKHR or VkVideoEncodeH265PictureInfoKHR in pNext")?;
    // SAFETY: pStdPictureInfo is valid.
    let mut pic = *unsafe { read(info.p_std_picture_info) }.ok_or("pStdPictureInfo is NULL")?;
    // SAFETY: each pointer is NULL or valid; none of the three structures holds a pointer.
    let (lists, short_term, long_term) = unsafe {
        (
            read(pic.pRefLists).copied(),
            read(pic.pShortTermRefPicSet).copied(),
            read(pic.pLongTermRefPics).copied(),
        )
    };
    pic.pRefLists = std::ptr::null();
    pic.pShortTermRefPicSet = std::ptr::null();
    pic.pLongTermRefPics = std::ptr::null();
    let mut slices = Vec::new();
    // SAFETY: pNaluSliceSegmentEntries holds naluSliceSegmentEntryCount entries.
    for s in unsafe {
        array(
            info.p_nalu_slice_segment_entries,
            info.nalu_slice_segment_entry_count,
        )
    } {
        // SAFETY: pStdSliceSegmentHeader is valid.
        let mut h = *unsafe { read(s.p_std_slice_segment_header) }
            .ok_or("a NULL pStdSliceSegmentHeader")?;
        h.pWeightTable = std::ptr::null();
        slices.push(Plain(h));
    }
    if slices.is_empty() {
        return Err("naluSliceSegmentEntryCount is 0".into());
    }
    Ok(H265Picture {
        picture: Plain(pic),
        lists,
        short_term,
        long_term,
        slices,
    })
}

/// The AV1 picture of an encode info's chain, deep-copied (`operating_points` entries of
/// `pBufferRemovalTimes`, the bound parameters' count), or `None` without
/// `VkVideoEncodeAV1PictureInfoKHR`.
///
/// # Safety
/// `first` is NULL or a valid input chain whose std pointers are valid.
unsafe fn av1_picture(
    first: *const c_void,
    operating_points: usize,
) -> Option<Result<Av1Picture, String>> {
    // SAFETY: the caller's contract.
    let info = unsafe {
        chained::<av1::VideoEncodeAV1PictureInfoKHR<'_>>(
            first,
            av1::structure_type::VIDEO_ENCODE_AV1_PICTURE_INFO_KHR,
        )
    }?;
    // SAFETY: pStdPictureInfo is NULL or valid.
    let Some(pic) = (unsafe { read(info.p_std_picture_info) }) else {
        return Some(Err("pStdPictureInfo is NULL (VUID-VkVideoEncodeAV1PictureInfoKHR-pStdPictureInfo-parameter)".into()));
    };
    let mut plain = *pic;
    let removal = if pic
        .flags
        .contains(av1::StdVideoEncodeAV1PictureInfoFlags::BUFFER_REMOVAL_TIME_PRESENT_FLAG)
    {
        // SAFETY: with the flag set, pBufferRemovalTimes holds one entry per operating point.
        unsafe {
            array(
                pic.pBufferRemovalTimes,
                u32::try_from(operating_points).unwrap_or(0),
            )
        }
        .to_vec()
    } else {
        Vec::new()
    };
    // SAFETY: each pointer is NULL or valid; the tile info's arrays are not kept (the driver
    // spaces tiles uniformly).
    let picture = unsafe {
        Av1Picture {
            prediction_mode: info.prediction_mode.as_raw(),
            rate_control_group: info.rate_control_group.as_raw(),
            constant_q_index: info.constant_q_index,
            reference_name_slot_indices: info.reference_name_slot_indices,
            primary_reference_cdf_only: info.primary_reference_cdf_only != vk::FALSE,
            generate_obu_extension_header: info.generate_obu_extension_header != vk::FALSE,
            tile_info: read(pic.pTileInfo).map(|t| {
                let mut t = *t;
                t.pMiColStarts = std::ptr::null();
                t.pMiRowStarts = std::ptr::null();
                t.pWidthInSbsMinus1 = std::ptr::null();
                t.pHeightInSbsMinus1 = std::ptr::null();
                Plain(t)
            }),
            quantization: read(pic.pQuantization).copied(),
            segmentation: !pic.pSegmentation.is_null(),
            loop_filter: read(pic.pLoopFilter).copied(),
            cdef: read(pic.pCDEF).copied(),
            loop_restoration: read(pic.pLoopRestoration).copied(),
            global_motion: read(pic.pGlobalMotion).copied(),
            layer: read(pic.pExtensionHeader).map(|e| (e.temporal_id, e.spatial_id)),
            buffer_removal_times: removal,
            picture: {
                plain.pTileInfo = std::ptr::null();
                plain.pQuantization = std::ptr::null();
                plain.pSegmentation = std::ptr::null();
                plain.pLoopFilter = std::ptr::null();
                plain.pCDEF = std::ptr::null();
                plain.pLoopRestoration = std::ptr::null();
                plain.pGlobalMotion = std::ptr::null();
                plain.pExtensionHeader = std::ptr::null();
                plain.pBufferRemovalTimes = std::ptr::null();
                Plain(plain)
            },
        }
    };
    Some(Ok(picture))
}

/// The intra-refresh valid usage of `vkCmdEncodeVideoKHR` (VUID-vkCmdEncodeVideoKHR-*-10837 …
/// 10846) for `encode` in session `s`: the refresh flag only in a session made with a mode, and
/// with its info chained; a cycle of 2 up to the profile's longest (or 0); an index within it;
/// references within the refreshing limit; dirty regions only on refreshing pictures, and then
/// exactly the cycle less the index; one slice where regions follow partitions.
fn check_intra_refresh(s: &crate::session::Session, encode: &Encode) -> Result<(), String> {
    let refreshing = encode.flags & intra_refresh::VIDEO_ENCODE_INTRA_REFRESH.as_raw() != 0;
    let mode = s.request.intra_refresh_mode;
    let caps = s.intra_refresh;
    if refreshing && mode == 0 {
        return Err("VK_VIDEO_ENCODE_INTRA_REFRESH_BIT_KHR in a session made without an intra refresh mode (VUID-vkCmdEncodeVideoKHR-pEncodeInfo-10837)".into());
    }
    if let Some((cycle, index)) = encode.intra_refresh {
        let longest = caps.map_or(0, |c| c.max_cycle_duration);
        if cycle != 0 && !(2..=longest).contains(&cycle) {
            return Err(format!(
                "intraRefreshCycleDuration {cycle}: 0 or 2 to {longest} (VUID-vkCmdEncodeVideoKHR-pNext-10844)"
            ));
        }
        if refreshing && cycle == 0 {
            return Err("intraRefreshCycleDuration 0 on a refreshing picture (VUID-vkCmdEncodeVideoKHR-pEncodeInfo-10840)".into());
        }
        if refreshing && index >= cycle {
            return Err(format!(
                "intraRefreshIndex {index} of a {cycle}-picture cycle (VUID-vkCmdEncodeVideoKHR-pEncodeInfo-10841)"
            ));
        }
    } else if refreshing {
        return Err("VK_VIDEO_ENCODE_INTRA_REFRESH_BIT_KHR without VkVideoEncodeIntraRefreshInfoKHR (VUID-vkCmdEncodeVideoKHR-pEncodeInfo-10839)".into());
    }
    if refreshing {
        let most = caps.map_or(0, |c| c.max_active_reference_pictures);
        if encode.references.len() > usize::try_from(most).unwrap_or(0) {
            return Err(format!(
                "{} active references on a refreshing picture; the profile allows {most} (VUID-vkCmdEncodeVideoKHR-pEncodeInfo-10838)",
                encode.references.len()
            ));
        }
        let slices = match &encode.codec {
            CodecPicture::H264(p) => p.slices.len(),
            CodecPicture::H265(p) => p.slices.len(),
            CodecPicture::Av1(_) => 1,
        };
        let per_partition = mode
            == intra_refresh::VideoEncodeIntraRefreshModeFlagsKHR::PER_PICTURE_PARTITION.as_raw();
        let independent = caps.is_some_and(|c| c.partition_independent_regions);
        if !per_partition && !independent && slices != 1 {
            return Err(format!(
                "{slices} slices on a picture refreshed by blocks where regions follow partitions (VUID-vkCmdEncodeVideoKHR-pEncodeInfo-10845)"
            ));
        }
    }
    for r in &encode.references {
        let dirty = r.dirty_regions.unwrap_or(0);
        if dirty == 0 {
            continue;
        }
        if !refreshing {
            return Err(format!(
                "reference slot {} names {dirty} dirty regions on a picture coded without intra refresh (VUID-vkCmdEncodeVideoKHR-pNext-10842)",
                r.index
            ));
        }
        let (cycle, index) = encode.intra_refresh.unwrap_or_default();
        if dirty != cycle.saturating_sub(index) {
            return Err(format!(
                "reference slot {} names {dirty} dirty regions; a picture at index {index} of a {cycle}-picture cycle must name {} (VUID-vkCmdEncodeVideoKHR-pNext-10843)",
                r.index,
                cycle.saturating_sub(index)
            ));
        }
    }
    Ok(())
}

/// The codec picture of an encode info's chain: AV1's, else H.264's, else H.265's.
///
/// # Safety
/// As [`h264_picture`].
unsafe fn codec_picture(
    first: *const c_void,
    operating_points: usize,
) -> Result<CodecPicture, String> {
    // SAFETY: the caller's contract.
    if let Some(p) = unsafe { av1_picture(first, operating_points) } {
        return p.map(|p| CodecPicture::Av1(Box::new(p)));
    }
    // SAFETY: the caller's contract.
    match unsafe { h264_picture(first) } {
        Err(e) if e.starts_with("no VkVideoEncodeH264PictureInfoKHR") => {
            // SAFETY: the caller's contract.
            unsafe { h265_picture(first) }.map(CodecPicture::H265)
        }
        r => r.map(CodecPicture::H264),
    }
}

pub(crate) unsafe extern "system" fn cmd_encode_video(
    cb: vk::CommandBuffer,
    info: *const vk::VideoEncodeInfoKHR<'_>,
) {
    // SAFETY: the caller passes a valid encode info.
    let Some(info) = (unsafe { read(info) }) else {
        return;
    };
    let operating_points = driver::lock().av1_operating_points(handle_of(cb));
    // SAFETY: the chain and its std structures are valid.
    let codec = unsafe { codec_picture(info.p_next, operating_points) };
    // SAFETY: the setup slot is NULL or valid; the reference slots array holds its count.
    let (setup, references) = unsafe {
        (
            read(info.p_setup_reference_slot).map(|s| slot(s)),
            array(info.p_reference_slots, info.reference_slot_count)
                .iter()
                .map(|s| slot(s))
                .collect::<Vec<_>>(),
        )
    };
    let src = picture(&info.src_picture_resource);
    // SAFETY: the chain is valid.
    let intra_refresh = unsafe {
        chained::<intra_refresh::VideoEncodeIntraRefreshInfoKHR>(
            info.p_next,
            intra_refresh::structure_type::VIDEO_ENCODE_INTRA_REFRESH_INFO_KHR,
        )
    }
    .map(|r| (r.intra_refresh_cycle_duration, r.intra_refresh_index));
    let refresh_detail = match intra_refresh {
        Some((cycle, index)) => format!(
            " flags={:#x} intra_refresh={index}/{cycle} dirty={:?}",
            info.flags.as_raw(),
            references
                .iter()
                .map(|s| s.dirty_regions)
                .collect::<Vec<_>>()
        ),
        None if !info.flags.is_empty() => format!(" flags={:#x}", info.flags.as_raw()),
        None => String::new(),
    };
    let detail = format!(
        "dst={:#x}+{}:{} src={:#x}:{}x{} setup={:?} refs={:?} {}{refresh_detail}",
        info.dst_buffer.as_raw(),
        info.dst_buffer_offset,
        info.dst_buffer_range,
        src.view,
        src.extent.0,
        src.extent.1,
        setup.map(|s| s.index),
        references.iter().map(|s| s.index).collect::<Vec<_>>(),
        match &codec {
            Ok(p) => p.describe(),
            Err(e) => e.clone(),
        }
    );
    let codec = match codec {
        Ok(c) => c,
        Err(why) => {
            let _ = finish::<()>(
                "vkCmdEncodeVideoKHR",
                &detail,
                driver::lock().record(handle_of(cb), Command::Barrier(Vec::new()), |d, b| {
                    let av1 = b.coding.and_then(|c| d.sessions.get(&c)).is_some_and(|s| {
                        s.request.profile.operation == crate::caps::CODEC_OPERATION_ENCODE_AV1
                    });
                    Err(if av1 && why.starts_with("no VkVideoEncodeH264") {
                        "no VkVideoEncodeAV1PictureInfoKHR in pNext of an AV1 session's encode (VUID-vkCmdEncodeVideoKHR-pNext-10317)".to_string()
                    } else {
                        format!("the codec picture info is missing or incomplete: {why}")
                    })
                }),
            );
            return;
        }
    };
    let encode = Encode {
        dst_buffer: info.dst_buffer.as_raw(),
        dst_offset: info.dst_buffer_offset,
        dst_range: info.dst_buffer_range,
        src,
        setup,
        references: references.clone(),
        codec,
        flags: info.flags.as_raw(),
        intra_refresh,
    };
    let checked = encode.clone();
    record_cmd(
        "vkCmdEncodeVideoKHR",
        cb,
        &detail,
        Command::Encode(Box::new(encode)),
        move |d, b| {
            check_video_family(d, b)?;
            let Some(session) = b.coding else {
                return Err("outside a video coding scope".into());
            };
            let s = d
                .sessions
                .get(&session)
                .ok_or("the session was destroyed")?;
            let buf = d
                .buffers
                .get(&checked.dst_buffer)
                .ok_or_else(|| format!("unknown dstBuffer {:#x}", checked.dst_buffer))?;
            let align = s.caps.video.min_bitstream_buffer_offset_alignment;
            if checked.dst_offset % align != 0
                || checked.dst_range % s.caps.video.min_bitstream_buffer_size_alignment != 0
                || checked.dst_range == 0
                || checked.dst_offset.saturating_add(checked.dst_range) > buf.size
            {
                return Err(format!(
                    "dstBufferOffset {} / dstBufferRange {} (alignment {align}) in a {}-byte buffer",
                    checked.dst_offset, checked.dst_range, buf.size
                ));
            }
            check_picture(d, &checked.src, "srcPictureResource")?;
            check_intra_refresh(s, &checked)?;
            let op = s.request.profile.operation;
            match (&checked.codec, s.caps.codec) {
                (CodecPicture::Av1(p), crate::video::CodecCaps::Av1(av1)) => {
                    crate::av1_enc::check_encode(&av1, &checked, p)?;
                }
                (CodecPicture::H264(_), crate::video::CodecCaps::H264(_))
                | (CodecPicture::H265(_), crate::video::CodecCaps::H265(_)) => {}
                (CodecPicture::Av1(_), _) => {
                    return Err(format!(
                        "a VkVideoEncodeAV1PictureInfoKHR for a session of {op:?}"
                    ))
                }
                (_, crate::video::CodecCaps::Av1(_)) => {
                    return Err("no VkVideoEncodeAV1PictureInfoKHR in pNext of an AV1 session's encode (VUID-vkCmdEncodeVideoKHR-pNext-10317)".into())
                }
                _ => {
                    return Err(format!(
                        "the picture info is not of the session's codec {op:?}"
                    ))
                }
            }
            let (w, h) = checked.src.extent;
            let max = s.request.max_coded_extent;
            if w == 0 || h == 0 || w > max.0 || h > max.1 {
                return Err(format!(
                    "codedExtent {w}x{h} outside the session's {}x{}",
                    max.0, max.1
                ));
            }
            let begun: Vec<Slot> = b
                .commands
                .iter()
                .rev()
                .find_map(|c| match c {
                    Command::BeginCoding { slots, .. } => Some(slots.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for r in &checked.references {
                if !begun.iter().any(|s| s.index == r.index && r.index >= 0) {
                    return Err(format!(
                        "reference slot {} was not named in vkCmdBeginVideoCodingKHR (VUID-vkCmdEncodeVideoKHR-slotIndex-07525)",
                        r.index
                    ));
                }
            }
            if checked.setup.is_none() && s.request.max_dpb_slots > 0 {
                return Err(
                    "pSetupReferenceSlot is NULL on a session with DPB slots (VUID-vkCmdEncodeVideoKHR-pEncodeInfo-08377)"
                        .into(),
                );
            }
            if let Some(setup) = &checked.setup {
                if setup.picture.is_none() || !begun.iter().any(|s| s.picture == setup.picture) {
                    return Err(format!(
                        "the setup slot {}'s picture was not bound by vkCmdBeginVideoCodingKHR (VUID-vkCmdEncodeVideoKHR-pEncodeInfo-08377)",
                        setup.index
                    ));
                }
            }
            for r in checked.references.iter().chain(&checked.setup) {
                if let Some(p) = &r.picture {
                    check_picture(d, p, "reference slot")?;
                }
            }
            Ok(())
        },
    );
}

pub(crate) unsafe extern "system" fn cmd_end_video_coding(
    cb: vk::CommandBuffer,
    _info: *const vk::VideoEndCodingInfoKHR<'_>,
) {
    record_cmd(
        "vkCmdEndVideoCodingKHR",
        cb,
        "",
        Command::EndCoding,
        |d, b| {
            check_video_family(d, b)?;
            if b.coding.is_none() {
                return Err("no video coding scope to end".into());
            }
            if b.commands.iter().rev().find_map(|c| match c {
                Command::BeginQuery { .. } => Some(true),
                Command::EndQuery { .. } | Command::BeginCoding { .. } => Some(false),
                _ => None,
            }) == Some(true)
            {
                return Err("a query is still active".into());
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Fences and semaphores.

pub(crate) unsafe extern "system" fn create_fence(
    device: vk::Device,
    info: *const vk::FenceCreateInfo<'_>,
    _allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Fence,
) -> vk::Result {
    // SAFETY: the caller passes a valid create info.
    let Some(info) = (unsafe { read(info) }) else {
        return vk::Result::ERROR_VALIDATION_FAILED_EXT;
    };
    let signaled = info.flags.contains(vk::FenceCreateFlags::SIGNALED);
    let r = driver::lock().create_fence(handle_of(device), signaled);
    // SAFETY: the caller passes a writable handle pointer.
    unsafe { created("vkCreateFence", &format!("signaled={signaled}"), r, out) }
}

pub(crate) unsafe extern "system" fn destroy_fence(
    device: vk::Device,
    fence: vk::Fence,
    _allocator: *const vk::AllocationCallbacks<'_>,
) {
    destroyed("vkDestroyFence", "fence", fence, |d, h| {
        d.destroy_fence(handle_of(device), h)
    });
}

pub(crate) unsafe extern "system" fn reset_fences(
    device: vk::Device,
    count: u32,
    fences: *const vk::Fence,
) -> vk::Result {
    // SAFETY: pFences holds fenceCount handles.
    let list: Vec<u64> = unsafe { array(fences, count) }
        .iter()
        .map(|f| f.as_raw())
        .collect();
    let r = driver::lock().reset_fences(handle_of(device), &list);
    code(finish("vkResetFences", &format!("count={count}"), r))
}

pub(crate) unsafe extern "system" fn get_fence_status(
    device: vk::Device,
    fence: vk::Fence,
) -> vk::Result {
    let r = driver::lock().fence_status(handle_of(device), fence.as_raw());
    match finish(
        "vkGetFenceStatus",
        &format!("fence={:#x}", fence.as_raw()),
        r,
    ) {
        Ok(true) => vk::Result::SUCCESS,
        Ok(false) => vk::Result::NOT_READY,
        Err(e) => e,
    }
}

pub(crate) unsafe extern "system" fn wait_for_fences(
    device: vk::Device,
    count: u32,
    fences: *const vk::Fence,
    wait_all: vk::Bool32,
    timeout_ns: u64,
) -> vk::Result {
    // SAFETY: pFences holds fenceCount handles.
    let list: Vec<u64> = unsafe { array(fences, count) }
        .iter()
        .map(|f| f.as_raw())
        .collect();
    let dev = handle_of(device);
    wait(
        "vkWaitForFences",
        &format!("count={count} all={wait_all} timeout={timeout_ns}"),
        timeout_ns,
        |d| list.iter().find_map(|f| d.fence_status(dev, *f).err()),
        |d| {
            let mut s = list.iter().map(|f| d.fence_status(dev, *f) == Ok(true));
            if wait_all != vk::FALSE {
                s.all(|x| x)
            } else {
                s.any(|x| x)
            }
        },
    )
}

pub(crate) unsafe extern "system" fn create_semaphore(
    device: vk::Device,
    info: *const vk::SemaphoreCreateInfo<'_>,
    _allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Semaphore,
) -> vk::Result {
    // SAFETY: the caller passes a valid create info.
    let Some(info) = (unsafe { read(info) }) else {
        return vk::Result::ERROR_VALIDATION_FAILED_EXT;
    };
    // SAFETY: the chain is valid.
    let kind = unsafe {
        chained::<vk::SemaphoreTypeCreateInfo<'_>>(
            info.p_next,
            vk::StructureType::SEMAPHORE_TYPE_CREATE_INFO,
        )
    };
    let timeline = kind
        .filter(|k| k.semaphore_type == vk::SemaphoreType::TIMELINE)
        .map(|k| k.initial_value);
    let detail = match timeline {
        Some(v) => format!("timeline initial={v}"),
        None => "binary".to_string(),
    };
    let r = driver::lock().create_semaphore(handle_of(device), timeline);
    // SAFETY: the caller passes a writable handle pointer.
    unsafe { created("vkCreateSemaphore", &detail, r, out) }
}

pub(crate) unsafe extern "system" fn destroy_semaphore(
    device: vk::Device,
    s: vk::Semaphore,
    _allocator: *const vk::AllocationCallbacks<'_>,
) {
    destroyed("vkDestroySemaphore", "semaphore", s, |d, h| {
        d.destroy_semaphore(handle_of(device), h)
    });
}

pub(crate) unsafe extern "system" fn get_semaphore_counter_value(
    device: vk::Device,
    s: vk::Semaphore,
    out: *mut u64,
) -> vk::Result {
    let r = driver::lock().semaphore_value(handle_of(device), s.as_raw());
    let detail = format!("semaphore={:#x}", s.as_raw());
    code(finish("vkGetSemaphoreCounterValue", &detail, r).map(|v| {
        // SAFETY: the caller passes a writable pointer.
        unsafe { write(out, v) };
    }))
}

pub(crate) unsafe extern "system" fn signal_semaphore(
    device: vk::Device,
    info: *const vk::SemaphoreSignalInfo<'_>,
) -> vk::Result {
    // SAFETY: the caller passes a valid signal info.
    let Some(info) = (unsafe { read(info) }) else {
        return vk::Result::ERROR_VALIDATION_FAILED_EXT;
    };
    let r = driver::lock().signal_semaphore(handle_of(device), info.semaphore.as_raw(), info.value);
    code(finish(
        "vkSignalSemaphore",
        &format!(
            "semaphore={:#x} value={}",
            info.semaphore.as_raw(),
            info.value
        ),
        r,
    ))
}

pub(crate) unsafe extern "system" fn wait_semaphores(
    device: vk::Device,
    info: *const vk::SemaphoreWaitInfo<'_>,
    timeout_ns: u64,
) -> vk::Result {
    // SAFETY: the caller passes a valid wait info.
    let Some(info) = (unsafe { read(info) }) else {
        return vk::Result::ERROR_VALIDATION_FAILED_EXT;
    };
    // SAFETY: the arrays hold semaphoreCount entries.
    let (sems, values) = unsafe {
        (
            array(info.p_semaphores, info.semaphore_count),
            array(info.p_values, info.semaphore_count),
        )
    };
    let waits: Vec<(u64, u64)> = sems
        .iter()
        .zip(values)
        .map(|(s, v)| (s.as_raw(), *v))
        .collect();
    let any = info.flags.contains(vk::SemaphoreWaitFlags::ANY);
    let dev = handle_of(device);
    wait(
        "vkWaitSemaphores",
        &format!("waits={waits:?} any={any} timeout={timeout_ns}"),
        timeout_ns,
        |d| {
            waits
                .iter()
                .find_map(|(s, _)| d.semaphore_value(dev, *s).err())
        },
        |d| {
            let mut s = waits
                .iter()
                .map(|(s, v)| d.semaphore_value(dev, *s).is_ok_and(|c| c >= *v));
            if any {
                s.any(|x| x)
            } else {
                s.all(|x| x)
            }
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Submission.

fn submit(name: &str, queue: vk::Queue, batches: &[Batch], fence: vk::Fence) -> vk::Result {
    let q = handle_of(queue);
    let mut guard = driver::lock();
    let Some((device, family)) = guard.queue_info(q) else {
        drop(guard);
        return code(finish::<()>(name, "", Err(format!("unknown queue {q:#x}"))));
    };
    if fence != vk::Fence::null() {
        match guard.fence_status(device, fence.as_raw()) {
            Ok(false) => {}
            Ok(true) => {
                drop(guard);
                return code(finish::<()>(
                    name,
                    "",
                    Err("the fence is already signaled (VUID-vkQueueSubmit-fence-00063)".into()),
                ));
            }
            Err(e) => {
                drop(guard);
                return code(finish::<()>(name, "", Err(e)));
            }
        }
    }
    for (i, b) in batches.iter().enumerate() {
        let (g, ok) = driver::wait_until(guard, Duration::from_secs(5), |d| {
            d.waits_ready(device, &b.waits)
        });
        guard = g;
        let r = if ok {
            guard.submit_batch(q, b)
        } else {
            Err(format!(
                "ERROR_DEVICE_LOST batch {i}: its semaphore waits were not signalled within 5 s (the driver runs each submission at once)"
            ))
        };
        if let Err(e) = finish(name, &format!("batch={i} family={family}"), r) {
            return e;
        }
    }
    if batches.is_empty() {
        record(&format!("{name} batch=none family={family} -> SUCCESS"));
    }
    let r = if fence == vk::Fence::null() {
        Ok(())
    } else {
        guard.signal_fence(device, fence.as_raw())
    };
    drop(guard);
    if fence != vk::Fence::null() {
        if let Err(e) = finish(name, &format!("signal fence={:#x}", fence.as_raw()), r) {
            return e;
        }
    }
    vk::Result::SUCCESS
}

pub(crate) unsafe extern "system" fn queue_submit(
    queue: vk::Queue,
    count: u32,
    submits: *const vk::SubmitInfo<'_>,
    fence: vk::Fence,
) -> vk::Result {
    let mut batches = Vec::new();
    // SAFETY: pSubmits holds submitCount valid structures, each with valid arrays and chain.
    for s in unsafe { array(submits, count) } {
        // SAFETY: as above.
        let timeline = unsafe {
            chained::<vk::TimelineSemaphoreSubmitInfo<'_>>(
                s.p_next,
                vk::StructureType::TIMELINE_SEMAPHORE_SUBMIT_INFO,
            )
        };
        // SAFETY: as above.
        let (wait_values, signal_values) = unsafe {
            timeline.map_or((&[][..], &[][..]), |t| {
                (
                    array(t.p_wait_semaphore_values, t.wait_semaphore_value_count),
                    array(t.p_signal_semaphore_values, t.signal_semaphore_value_count),
                )
            })
        };
        // SAFETY: as above.
        let (waits, cbs, signals) = unsafe {
            (
                array(s.p_wait_semaphores, s.wait_semaphore_count),
                array(s.p_command_buffers, s.command_buffer_count),
                array(s.p_signal_semaphores, s.signal_semaphore_count),
            )
        };
        let value = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(1);
        batches.push(Batch {
            waits: waits
                .iter()
                .enumerate()
                .map(|(i, w)| (w.as_raw(), value(wait_values, i)))
                .collect(),
            command_buffers: cbs.iter().map(|c| c.as_raw()).collect(),
            signals: signals
                .iter()
                .enumerate()
                .map(|(i, w)| (w.as_raw(), value(signal_values, i)))
                .collect(),
        });
    }
    submit("vkQueueSubmit", queue, &batches, fence)
}

pub(crate) unsafe extern "system" fn queue_submit2(
    queue: vk::Queue,
    count: u32,
    submits: *const vk::SubmitInfo2<'_>,
    fence: vk::Fence,
) -> vk::Result {
    let mut batches = Vec::new();
    // SAFETY: pSubmits holds submitCount valid structures, each with valid arrays.
    for s in unsafe { array(submits, count) } {
        // SAFETY: as above.
        let (waits, cbs, signals) = unsafe {
            (
                array(s.p_wait_semaphore_infos, s.wait_semaphore_info_count),
                array(s.p_command_buffer_infos, s.command_buffer_info_count),
                array(s.p_signal_semaphore_infos, s.signal_semaphore_info_count),
            )
        };
        batches.push(Batch {
            waits: waits
                .iter()
                .map(|w| (w.semaphore.as_raw(), w.value))
                .collect(),
            command_buffers: cbs.iter().map(|c| c.command_buffer.as_raw()).collect(),
            signals: signals
                .iter()
                .map(|w| (w.semaphore.as_raw(), w.value))
                .collect(),
        });
    }
    submit("vkQueueSubmit2", queue, &batches, fence)
}
