//! Running recorded commands on the CPU at submission: buffer/image copies as memcpys between
//! host-backed memory, queries, video coding control, H.264 / H.265 encodes through the PCM
//! writers and AV1 encodes as frame OBUs (a real frame header, tiles that carry a checksum of
//! the input picture).

use ash::vk;
use ash::vk::native;

use crate::command::{
    Av1Picture, Av1Reference, CodecPicture, Command, Control, Encode, H264Picture, H265Picture,
    ImageBarrier, Picture, Slot,
};
use crate::driver::Device;
use crate::h264::{Pps, Sps};
use crate::h264_pcm::{self, Nv12Picture};
use crate::h265_pcm::{self, P010Picture};
use crate::log::record;
use crate::query::Query;
use crate::session::{Av1Params, CodecParams, H264Params, H265Params, Session};

/// `VK_QUERY_RESULT_STATUS_INSUFFICIENT_BITSTREAM_BUFFER_RANGE_KHR`.
pub const STATUS_INSUFFICIENT_RANGE: i32 = -1_000_299_000;

/// One copy's rows: (memory, offset) of each side and the byte count.
pub(crate) struct CopyPlan {
    buffer_memory: u64,
    image_memory: u64,
    /// (offset in the buffer's memory, offset in the image's memory, bytes).
    rows: Vec<(u64, u64, usize)>,
}

fn usize_of(n: u64) -> Result<usize, String> {
    usize::try_from(n).map_err(|_| format!("{n} does not fit the host's address space"))
}

/// The plane an aspect of an image with `planes` planes names.
fn plane_index(aspect: vk::ImageAspectFlags, planes: usize) -> Result<usize, String> {
    match aspect {
        a if a == vk::ImageAspectFlags::COLOR && planes == 1 => Ok(0),
        a if a == vk::ImageAspectFlags::PLANE_0 && planes > 1 => Ok(0),
        a if a == vk::ImageAspectFlags::PLANE_1 && planes > 1 => Ok(1),
        a if a == vk::ImageAspectFlags::PLANE_2 && planes > 2 => Ok(2),
        a => Err(format!(
            "aspectMask {:#x} of an image with {planes} plane(s): COLOR for one plane, one PLANE_i bit for multi-planar images",
            a.as_raw()
        )),
    }
}

/// The rows of a copy: (source offset, destination offset, bytes), each in its memory.
type CopyRows = Vec<(u64, u64, usize)>;

/// Plans a buffer -> buffer copy, checking every region against both buffers: the source's
/// memory, the destination's, and (source offset, destination offset, bytes) in each.
pub(crate) fn buffer_copy_plan(
    d: &Device,
    src: u64,
    dst: u64,
    regions: &[vk::BufferCopy],
) -> Result<(u64, u64, CopyRows), String> {
    let bound = |b: u64| {
        let buf = d
            .buffers
            .get(&b)
            .ok_or_else(|| format!("unknown buffer {b:#x}"))?;
        let (memory, base) = buf
            .bound
            .ok_or_else(|| format!("buffer {b:#x} has no memory bound"))?;
        Ok::<_, String>((memory, base, buf.size))
    };
    let (src_memory, src_base, src_size) = bound(src)?;
    let (dst_memory, dst_base, dst_size) = bound(dst)?;
    if regions.is_empty() {
        return Err("regionCount is 0".into());
    }
    let mut rows = Vec::new();
    for (i, r) in regions.iter().enumerate() {
        let inside = |offset: u64, size: u64| offset.checked_add(r.size).is_some_and(|e| e <= size);
        if r.size == 0 || !inside(r.src_offset, src_size) || !inside(r.dst_offset, dst_size) {
            return Err(format!(
                "region {i} ({} bytes from {} to {}) is empty or outside the buffers ({src_size} and {dst_size} bytes)",
                r.size, r.src_offset, r.dst_offset
            ));
        }
        rows.push((
            src_base + r.src_offset,
            dst_base + r.dst_offset,
            usize_of(r.size)?,
        ));
    }
    Ok((src_memory, dst_memory, rows))
}

/// Plans a buffer <-> image copy, checking every region against both objects.
pub(crate) fn copy_plan(
    d: &Device,
    buffer: u64,
    image: u64,
    regions: &[vk::BufferImageCopy],
) -> Result<CopyPlan, String> {
    let buf = d
        .buffers
        .get(&buffer)
        .ok_or_else(|| format!("unknown buffer {buffer:#x}"))?;
    let (buffer_memory, buffer_base) = buf
        .bound
        .ok_or_else(|| format!("buffer {buffer:#x} has no memory bound"))?;
    let img = d
        .images
        .get(&image)
        .ok_or_else(|| format!("unknown image {image:#x}"))?;
    let (image_memory, image_base) = img
        .bound
        .ok_or_else(|| format!("image {image:#x} has no memory bound"))?;
    if regions.is_empty() {
        return Err("regionCount is 0".into());
    }
    let mut rows = Vec::new();
    for (i, r) in regions.iter().enumerate() {
        let s = r.image_subresource;
        let p = plane_index(s.aspect_mask, img.layout.planes.len())
            .map_err(|e| format!("region {i}: {e}"))?;
        let plane = img.layout.planes[p];
        let layers = if s.layer_count == vk::REMAINING_ARRAY_LAYERS {
            img.request.array_layers.saturating_sub(s.base_array_layer)
        } else {
            s.layer_count
        };
        if s.mip_level != 0
            || layers == 0
            || s.base_array_layer.saturating_add(layers) > img.request.array_layers
        {
            return Err(format!(
                "region {i}: mip level {} layers {}+{} of an image with one level and {} layers",
                s.mip_level, s.base_array_layer, layers, img.request.array_layers
            ));
        }
        let (o, e) = (r.image_offset, r.image_extent);
        let x = u32::try_from(o.x).map_err(|_| format!("region {i}: imageOffset.x {}", o.x))?;
        let y = u32::try_from(o.y).map_err(|_| format!("region {i}: imageOffset.y {}", o.y))?;
        if o.z != 0
            || e.depth != 1
            || e.width == 0
            || e.height == 0
            || x.saturating_add(e.width) > plane.size.0
            || y.saturating_add(e.height) > plane.size.1
        {
            return Err(format!(
                "region {i}: offset ({},{},{}) extent {}x{}x{} outside plane {p}'s {}x{} texels",
                o.x, o.y, o.z, e.width, e.height, e.depth, plane.size.0, plane.size.1
            ));
        }
        let row_len = if r.buffer_row_length == 0 {
            e.width
        } else {
            r.buffer_row_length
        };
        let image_height = if r.buffer_image_height == 0 {
            e.height
        } else {
            r.buffer_image_height
        };
        if row_len < e.width || image_height < e.height {
            return Err(format!(
                "region {i}: bufferRowLength {} / bufferImageHeight {} below the extent {}x{}",
                r.buffer_row_length, r.buffer_image_height, e.width, e.height
            ));
        }
        let texel = u64::from(plane.texel_bytes);
        if r.buffer_offset % texel != 0 {
            return Err(format!(
                "region {i}: bufferOffset {} is not a multiple of the plane's {texel}-byte texels",
                r.buffer_offset
            ));
        }
        let len = u64::from(e.width) * texel;
        for layer in 0..u64::from(layers) {
            for row in 0..u64::from(e.height) {
                let src = r.buffer_offset
                    + (layer * u64::from(image_height) + row) * u64::from(row_len) * texel;
                if src + len > buf.size {
                    return Err(format!(
                        "region {i}: buffer bytes {src}..{} past the buffer's {}",
                        src + len,
                        buf.size
                    ));
                }
                let dst = image_base
                    + img.layout.layer_pitch * (u64::from(s.base_array_layer) + layer)
                    + plane.offset
                    + (u64::from(y) + row) * plane.row_pitch
                    + u64::from(x) * texel;
                rows.push((buffer_base + src, dst, usize_of(len)?));
            }
        }
    }
    Ok(CopyPlan {
        buffer_memory,
        image_memory,
        rows,
    })
}

/// Copies rows from one memory object to another (or the same): (source offset, destination
/// offset, bytes) each.
fn move_rows(
    d: &mut Device,
    from: u64,
    to: u64,
    rows: impl Iterator<Item = (u64, u64, usize)> + Clone,
) -> Result<usize, String> {
    let src = d
        .memory
        .get(&from)
        .ok_or_else(|| format!("memory {from:#x} was freed"))?
        .bytes();
    let mut data = Vec::new();
    for (s, _, n) in rows.clone() {
        let s = usize_of(s)?;
        data.extend_from_slice(src.get(s..s + n).ok_or("a row outside the source memory")?);
    }
    let dst = d
        .memory
        .get_mut(&to)
        .ok_or_else(|| format!("memory {to:#x} was freed"))?
        .bytes_mut();
    let mut at = 0;
    for (_, t, n) in rows {
        let t = usize_of(t)?;
        dst.get_mut(t..t + n)
            .ok_or("a row outside the destination memory")?
            .copy_from_slice(&data[at..at + n]);
        at += n;
    }
    Ok(at)
}

/// One plane of a picture: (offset in memory, row pitch, texel bytes, size in texels).
type PlaneAt = (u64, u64, u32, (u32, u32));

/// The coding scope of an executing command buffer.
struct Scope {
    session: u64,
    parameters: u64,
    /// The queue family it runs on.
    family: u32,
}

/// Runs the image barriers of a barrier command on `family`: each ownership transfer is logged
/// (`ownership release image=... family=... to=... layout=old->new`, or `acquire ... from=...`),
/// as is a barrier the image's state does not allow (`-> ERROR`).
fn run_barriers(d: &mut Device, family: u32, barriers: &[ImageBarrier]) {
    for b in barriers {
        let r = match d.images.get_mut(&b.image) {
            Some(img) => {
                img.ownership
                    .barrier(family, (b.old, b.new), (b.src_family, b.dst_family))
            }
            None => Err("the image was destroyed".into()),
        };
        match r {
            Ok(Some(words)) => record(&format!(
                "ownership {} image={:#x} -> SUCCESS",
                words, b.image
            )),
            Ok(None) => {}
            Err(e) => record(&format!(
                "ownership image={:#x} family={family} ({e}) -> ERROR",
                b.image
            )),
        }
    }
}

/// Runs `commands` in order on a queue of `family`; each executed command is logged
/// (`execute <command> ...`), and each ownership transfer its barriers make (`ownership ...`).
pub(crate) fn run(d: &mut Device, family: u32, commands: &[Command]) {
    let mut scope: Option<Scope> = None;
    let mut active: Vec<(u64, u32)> = Vec::new();
    for c in commands {
        let (name, r) = match c {
            Command::Barrier(barriers) => {
                run_barriers(d, family, barriers);
                continue;
            }
            Command::CopyBuffer { src, dst, regions } => (
                "vkCmdCopyBuffer",
                buffer_copy_plan(d, *src, *dst, regions).and_then(|(from, to, rows)| {
                    move_rows(d, from, to, rows.into_iter()).map(|n| format!("bytes={n}"))
                }),
            ),
            Command::CopyBufferToImage {
                buffer,
                image,
                regions,
            } => (
                "vkCmdCopyBufferToImage",
                copy_plan(d, *buffer, *image, regions).and_then(|p| {
                    let rows = p.rows.iter().copied();
                    move_rows(d, p.buffer_memory, p.image_memory, rows)
                        .map(|n| format!("bytes={n}"))
                }),
            ),
            Command::CopyImageToBuffer {
                image,
                buffer,
                regions,
            } => (
                "vkCmdCopyImageToBuffer",
                copy_plan(d, *buffer, *image, regions).and_then(|p| {
                    let rows = p.rows.iter().map(|&(b, i, n)| (i, b, n));
                    move_rows(d, p.image_memory, p.buffer_memory, rows)
                        .map(|n| format!("bytes={n}"))
                }),
            ),
            Command::ResetQueries { pool, first, count } => (
                "vkCmdResetQueryPool",
                queries(d, *pool, *first, *count).map(|qs| {
                    qs.iter_mut().for_each(|q| *q = Query::default());
                    format!("first={first} count={count}")
                }),
            ),
            Command::BeginQuery { pool, query } => (
                "vkCmdBeginQuery",
                queries(d, *pool, *query, 1).map(|qs| {
                    qs[0] = Query::default();
                    active.push((*pool, *query));
                    format!("query={query}")
                }),
            ),
            Command::EndQuery { pool, query } => (
                "vkCmdEndQuery",
                queries(d, *pool, *query, 1).map(|qs| {
                    qs[0].available = true;
                    active.retain(|a| *a != (*pool, *query));
                    format!("query={query} status={}", qs[0].status)
                }),
            ),
            Command::Timestamp { pool, query } => (
                "vkCmdWriteTimestamp",
                queries(d, *pool, *query, 1).map(|qs| {
                    let now = crate::ffi_cmd::monotonic_ns();
                    qs[0] = Query {
                        available: true,
                        values: vec![now],
                        status: vk::QueryResultStatusKHR::COMPLETE.as_raw(),
                    };
                    format!("query={query}")
                }),
            ),
            Command::BeginCoding {
                session,
                parameters,
                slots,
            } => {
                scope = Some(Scope {
                    session: *session,
                    parameters: *parameters,
                    family,
                });
                ("vkCmdBeginVideoCodingKHR", begin_coding(d, *session, slots))
            }
            Command::Control(control) => (
                "vkCmdControlVideoCodingKHR",
                match &scope {
                    Some(s) => control_coding(d, s.session, control),
                    None => Err("no video coding scope".into()),
                },
            ),
            Command::Encode(e) => {
                let (status, written, overrides, r) = match &scope {
                    Some(s) => encode(d, s, e),
                    None => (
                        vk::QueryResultStatusKHR::ERROR.as_raw(),
                        0,
                        false,
                        Err("no video coding scope".into()),
                    ),
                };
                for &(pool, query) in &active {
                    if let Ok(qs) = queries(d, pool, query, 1) {
                        qs[0].status = status;
                        qs[0].values = vec![0, written, u64::from(overrides)];
                    }
                }
                ("vkCmdEncodeVideoKHR", r)
            }
            Command::EndCoding => {
                scope = None;
                ("vkCmdEndVideoCodingKHR", Ok(String::new()))
            }
        };
        match r {
            Ok(detail) => record(&format!("execute {name} {detail} -> SUCCESS")),
            Err(e) => record(&format!("execute {name} ({e}) -> ERROR")),
        }
    }
    crate::driver::notify();
}

fn queries(d: &mut Device, pool: u64, first: u32, count: u32) -> Result<&mut [Query], String> {
    let p = d
        .query_pools
        .get_mut(&pool)
        .ok_or_else(|| format!("query pool {pool:#x} was destroyed"))?;
    let (a, n) = (usize_of(u64::from(first))?, usize_of(u64::from(count))?);
    let len = p.queries.len();
    p.queries
        .get_mut(a..a.saturating_add(n))
        .ok_or_else(|| format!("queries {first}+{count} of a pool of {len}"))
}

fn begin_coding(d: &mut Device, session: u64, slots: &[Slot]) -> Result<String, String> {
    let s = d
        .sessions
        .get(&session)
        .ok_or_else(|| format!("video session {session:#x} was destroyed"))?;
    let reset = s.coding.reset;
    Ok(format!(
        "session={session:#x} slots={} reset_before={reset}",
        slots.len()
    ))
}

fn control_coding(d: &mut Device, session: u64, c: &Control) -> Result<String, String> {
    let s = d
        .sessions
        .get_mut(&session)
        .ok_or_else(|| format!("video session {session:#x} was destroyed"))?;
    let st = &mut s.coding;
    if c.flags.contains(vk::VideoCodingControlFlagsKHR::RESET) {
        *st = crate::command::CodingState {
            reset: true,
            ..Default::default()
        };
    }
    if let Some(rate) = &c.rate {
        st.rate = rate.clone();
    }
    if let Some(q) = c.quality {
        st.quality_level = q;
    }
    Ok(format!(
        "flags={:#x} rate_mode={:#x} layers={:?} quality={}",
        c.flags.as_raw(),
        st.rate.mode.as_raw(),
        st.rate.layers,
        st.quality_level
    ))
}

/// The image of a picture resource's view.
fn picture_image<'a>(d: &'a Device, p: &Picture) -> Result<&'a crate::driver::Image, String> {
    let view = d
        .views
        .get(&p.view)
        .ok_or_else(|| format!("image view {:#x} was destroyed", p.view))?;
    let img = d
        .images
        .get(&view.image)
        .ok_or_else(|| format!("image {:#x} was destroyed", view.image))?;
    let format = img.request.format;
    if format != vk::Format::G8_B8R8_2PLANE_420_UNORM && format != P010 {
        return Err(format!(
            "a {format:?} picture: the encoder reads NV12 (G8_B8R8_2PLANE_420_UNORM) and P010 (G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16)"
        ));
    }
    Ok(img)
}

/// P010: 10-bit 4:2:0, each sample in the top 10 bits of a 16-bit word.
const P010: vk::Format = vk::Format::G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16;

/// The format of a picture resource's image (NV12 or P010).
fn picture_format(d: &Device, p: &Picture) -> Result<vk::Format, String> {
    picture_image(d, p).map(|img| img.request.format)
}

/// Where a picture resource lives: (image, array layer of the image), the view's first layer
/// plus the resource's `baseArrayLayer`.
fn picture_at(d: &Device, p: &Picture) -> Result<(u64, u32), String> {
    let view = d
        .views
        .get(&p.view)
        .ok_or_else(|| format!("image view {:#x} was destroyed", p.view))?;
    if p.base_layer >= view.layer_count {
        return Err(format!(
            "baseArrayLayer {} of a view of {} layers",
            p.base_layer, view.layer_count
        ));
    }
    Ok((view.image, view.base_layer + p.base_layer))
}

/// The bytes of a picture resource: (memory, (plane offset, row pitch, texel bytes, size) per
/// plane) of the layer it names.
fn picture_planes(d: &Device, p: &Picture) -> Result<(u64, Vec<PlaneAt>), String> {
    let view = d
        .views
        .get(&p.view)
        .ok_or_else(|| format!("image view {:#x} was destroyed", p.view))?;
    if p.base_layer >= view.layer_count {
        return Err(format!(
            "baseArrayLayer {} of a view of {} layers",
            p.base_layer, view.layer_count
        ));
    }
    let img = picture_image(d, p)?;
    let (memory, base) = img.bound.ok_or("the picture's image has no memory")?;
    let layer = u64::from(view.base_layer + p.base_layer);
    let start = base + img.layout.layer_pitch * layer;
    Ok((
        memory,
        img.layout
            .planes
            .iter()
            .map(|pl| (start + pl.offset, pl.row_pitch, pl.texel_bytes, pl.size))
            .collect(),
    ))
}

/// The samples of `p` at `coded` (a multiple of 16 in each direction), edge-replicated
/// beyond the image: (luma, chroma), `coded.0` texels per luma row and `coded.0 / 2` per
/// chroma row (NV12: `coded.0` bytes per row each; P010: `2 * coded.0`).
fn read_picture(d: &Device, p: &Picture, coded: (u32, u32)) -> Result<(Vec<u8>, Vec<u8>), String> {
    let (memory, planes) = picture_planes(d, p)?;
    let bytes = d
        .memory
        .get(&memory)
        .ok_or("the picture's memory was freed")?
        .bytes();
    let (ox, oy) = (
        u32::try_from(p.offset.0).map_err(|_| "a negative codedOffset")?,
        u32::try_from(p.offset.1).map_err(|_| "a negative codedOffset")?,
    );
    let mut out = Vec::new();
    for (i, &(offset, pitch, texel, size)) in planes.iter().enumerate().take(2) {
        let sub = if i == 0 { 1 } else { 2 };
        let (w, h) = (coded.0 / sub, coded.1 / sub);
        let (x0, y0) = (ox / sub, oy / sub);
        if x0 >= size.0 || y0 >= size.1 {
            return Err(format!("codedOffset {ox},{oy} outside the picture"));
        }
        let tb = usize_of(u64::from(texel))?;
        let mut plane = Vec::with_capacity(usize_of(u64::from(w) * u64::from(h))? * tb);
        for y in 0..h {
            let sy = (y0 + y).min(size.1 - 1);
            for x in 0..w {
                let sx = (x0 + x).min(size.0 - 1);
                let at =
                    usize_of(offset + u64::from(sy) * pitch + u64::from(sx) * u64::from(texel))?;
                plane.extend_from_slice(bytes.get(at..at + tb).ok_or("a sample outside memory")?);
            }
        }
        out.push(plane);
    }
    let chroma = out.pop().ok_or("an NV12 image without its chroma plane")?;
    let luma = out.pop().ok_or("an NV12 image without its luma plane")?;
    Ok((luma, chroma))
}

/// Writes `luma`/`chroma` (rows of `coded.0` luma texels and `coded.0 / 2` chroma texels, as
/// [`read_picture`] gives them) into `p`'s image, clipped to it.
fn write_picture(
    d: &mut Device,
    p: &Picture,
    coded: (u32, u32),
    luma: &[u8],
    chroma: &[u8],
) -> Result<(), String> {
    let (memory, planes) = picture_planes(d, p)?;
    let mut rows = Vec::new();
    let mut src = Vec::new();
    for (i, &(offset, pitch, texel, size)) in planes.iter().enumerate().take(2) {
        let (data, sub) = if i == 0 { (luma, 1) } else { (chroma, 2) };
        let row = u64::from(coded.0 / sub) * u64::from(texel);
        let width = usize_of((u64::from(size.0) * u64::from(texel)).min(row))?;
        for y in 0..size.1.min(coded.1 / sub) {
            let s = usize_of(u64::from(y) * row)?;
            rows.push((src.len(), offset + u64::from(y) * pitch, width));
            src.extend_from_slice(data.get(s..s + width).ok_or("a short picture")?);
        }
    }
    let dst = d
        .memory
        .get_mut(&memory)
        .ok_or("the picture's memory was freed")?
        .bytes_mut();
    for (s, t, n) in rows {
        let t = usize_of(t)?;
        dst.get_mut(t..t + n)
            .ok_or("a row outside the picture's memory")?
            .copy_from_slice(&src[s..s + n]);
    }
    Ok(())
}

/// Calls `f` with the std SPS of `s` (its pointers at copies that live for the call).
fn with_std_sps<R>(s: &Sps, f: impl FnOnce(&native::StdVideoH264SequenceParameterSet) -> R) -> R {
    let hrd = s.vui.and_then(|v| v.hrd).map(|h| h.0);
    let vui = s.vui.map(|v| native::StdVideoH264SequenceParameterSetVui {
        flags: v.flags,
        aspect_ratio_idc: v.aspect_ratio_idc,
        sar_width: v.sar.0,
        sar_height: v.sar.1,
        video_format: v.video_format,
        colour_primaries: v.colour.0,
        transfer_characteristics: v.colour.1,
        matrix_coefficients: v.colour.2,
        num_units_in_tick: v.num_units_in_tick,
        time_scale: v.time_scale,
        max_num_reorder_frames: v.max_num_reorder_frames,
        max_dec_frame_buffering: v.max_dec_frame_buffering,
        chroma_sample_loc_type_top_field: v.chroma_loc.0,
        chroma_sample_loc_type_bottom_field: v.chroma_loc.1,
        reserved1: 0,
        pHrdParameters: hrd.as_ref().map_or(std::ptr::null(), std::ptr::from_ref),
    });
    let std = native::StdVideoH264SequenceParameterSet {
        flags: s.flags,
        profile_idc: s.profile_idc,
        level_idc: s.std_level,
        chroma_format_idc: s.chroma_format_idc,
        seq_parameter_set_id: s.id,
        bit_depth_luma_minus8: s.bit_depth_minus8.0,
        bit_depth_chroma_minus8: s.bit_depth_minus8.1,
        log2_max_frame_num_minus4: s.log2_max_frame_num_minus4,
        pic_order_cnt_type: s.pic_order_cnt_type,
        offset_for_non_ref_pic: s.offset_for_non_ref_pic,
        offset_for_top_to_bottom_field: s.offset_for_top_to_bottom_field,
        log2_max_pic_order_cnt_lsb_minus4: s.log2_max_pic_order_cnt_lsb_minus4,
        num_ref_frames_in_pic_order_cnt_cycle: u8::try_from(s.offset_for_ref_frame.len())
            .unwrap_or(u8::MAX),
        max_num_ref_frames: s.max_num_ref_frames,
        reserved1: 0,
        pic_width_in_mbs_minus1: s.pic_width_in_mbs_minus1,
        pic_height_in_map_units_minus1: s.pic_height_in_map_units_minus1,
        frame_crop_left_offset: s.crop[0],
        frame_crop_right_offset: s.crop[1],
        frame_crop_top_offset: s.crop[2],
        frame_crop_bottom_offset: s.crop[3],
        reserved2: 0,
        pOffsetForRefFrame: if s.offset_for_ref_frame.is_empty() {
            std::ptr::null()
        } else {
            s.offset_for_ref_frame.as_ptr()
        },
        pScalingLists: std::ptr::null(),
        pSequenceParameterSetVui: vui.as_ref().map_or(std::ptr::null(), std::ptr::from_ref),
    };
    f(&std)
}

fn std_pps(p: &Pps) -> native::StdVideoH264PictureParameterSet {
    native::StdVideoH264PictureParameterSet {
        flags: p.flags,
        seq_parameter_set_id: p.sps_id,
        pic_parameter_set_id: p.id,
        num_ref_idx_l0_default_active_minus1: p.num_ref_idx_default_active_minus1.0,
        num_ref_idx_l1_default_active_minus1: p.num_ref_idx_default_active_minus1.1,
        weighted_bipred_idc: p.weighted_bipred_idc,
        pic_init_qp_minus26: p.pic_init_qp_minus26,
        pic_init_qs_minus26: p.pic_init_qs_minus26,
        chroma_qp_index_offset: p.chroma_qp_index_offset,
        second_chroma_qp_index_offset: p.second_chroma_qp_index_offset,
        pScalingLists: std::ptr::null(),
    }
}

/// Runs one encode: (status, bytes written, whether the driver overrode the application's
/// parameters, the log's detail or the error).
fn encode(d: &mut Device, scope: &Scope, e: &Encode) -> (i32, u64, bool, Result<String, String>) {
    let error = vk::QueryResultStatusKHR::ERROR.as_raw();
    match encode_checked(d, scope, e) {
        Ok((status, n, overrides, detail)) => (status, n, overrides, Ok(detail)),
        Err(why) => (error, 0, false, Err(why)),
    }
}

fn encode_checked(
    d: &mut Device,
    scope: &Scope,
    e: &Encode,
) -> Result<(i32, u64, bool, String), String> {
    let session = d
        .sessions
        .get(&scope.session)
        .ok_or("the bound video session was destroyed")?;
    if !session.coding.reset {
        return Err(
            "the video session was never reset: record vkCmdControlVideoCodingKHR with RESET before its first encode (VUID-vkCmdBeginVideoCodingKHR-None-07008 territory)"
                .into(),
        );
    }
    for r in &e.references {
        // The picture resource must be the one the slot's picture was reconstructed into.
        let named = r.picture.as_ref().map(|p| picture_at(d, p)).transpose()?;
        session.coding.check_reference(r.index, named)?;
    }
    let view = d
        .views
        .get(&e.src.view)
        .ok_or("the source picture's view was destroyed")?;
    d.images
        .get(&view.image)
        .ok_or("the source picture's image was destroyed")?
        .ownership
        .check_use(
            scope.family,
            &[
                vk::ImageLayout::VIDEO_ENCODE_SRC_KHR,
                vk::ImageLayout::GENERAL,
            ],
        )
        .map_err(|e| format!("source picture: {e}"))?;
    let max = session.request.max_coded_extent;
    let (w, h) = e.src.extent;
    if w == 0 || h == 0 || w > max.0 || h > max.1 {
        return Err(format!(
            "codedExtent {w}x{h} outside the session's maximum {}x{}",
            max.0, max.1
        ));
    }
    let params = d
        .parameters
        .get(&scope.parameters)
        .ok_or("no (or a destroyed) session parameters object bound")?;
    let Encoded {
        out,
        coded,
        luma,
        chroma,
        detail,
        overrides,
        refresh,
        av1_setup,
    } = match (&params.sets, &e.codec) {
        (CodecParams::H264(sets), CodecPicture::H264(p)) => encode_h264(d, sets, p, e)?,
        (CodecParams::H265(sets), CodecPicture::H265(p)) => encode_h265(d, sets, p, e)?,
        (CodecParams::Av1(sets), CodecPicture::Av1(p)) => encode_av1(d, session, sets, p, e)?,
        (CodecParams::H264(_), _) => {
            return Err("the bound parameters are H.264 but the picture info is not".into())
        }
        (CodecParams::H265(_), _) => {
            return Err("the bound parameters are H.265 but the picture info is not".into())
        }
        (CodecParams::Av1(_), _) => {
            return Err("the bound parameters are AV1 but the picture info is not".into())
        }
    };
    let n = u64::try_from(out.len()).unwrap_or(u64::MAX);
    let buf = d
        .buffers
        .get(&e.dst_buffer)
        .ok_or("the bitstream buffer was destroyed")?;
    let (memory, base) = buf.bound.ok_or("the bitstream buffer has no memory")?;
    if e.dst_offset.saturating_add(e.dst_range) > buf.size {
        return Err(format!(
            "dstBufferOffset {} + dstBufferRange {} past the buffer's {} bytes",
            e.dst_offset, e.dst_range, buf.size
        ));
    }
    let detail = format!("{detail} coded={}x{} bytes={n}", coded.0, coded.1);
    if n > e.dst_range {
        return Ok((
            STATUS_INSUFFICIENT_RANGE,
            0,
            false,
            format!(
                "{detail} range={} status=INSUFFICIENT_BITSTREAM_BUFFER_RANGE",
                e.dst_range
            ),
        ));
    }
    let at = usize_of(base + e.dst_offset)?;
    d.memory
        .get_mut(&memory)
        .ok_or("the bitstream memory was freed")?
        .bytes_mut()
        .get_mut(at..at + out.len())
        .ok_or("the bitstream outside its memory")?
        .copy_from_slice(&out);
    if let Some(setup) = &e.setup {
        if refresh {
            if let Some(p) = &setup.picture {
                write_picture(d, p, coded, &luma, &chroma)?;
            }
        }
        let at = setup
            .picture
            .as_ref()
            .map(|p| picture_at(d, p))
            .transpose()?;
        // Reference picture setup activates the slot; an AV1 picture that refreshes no
        // reference frame invalidates it instead.
        if let Some(s) = d.sessions.get_mut(&scope.session) {
            s.coding.set_up(setup.index, at, refresh, av1_setup);
        }
    }
    if let Some(s) = d.sessions.get_mut(&scope.session) {
        s.coding.encoded += 1;
    }
    Ok((
        vk::QueryResultStatusKHR::COMPLETE.as_raw(),
        n,
        overrides,
        detail,
    ))
}

/// One encoded picture: the NAL unit(s), the coded size, the samples read (for the setup
/// slot's reconstructed picture) and the log's codec detail.
struct Encoded {
    out: Vec<u8>,
    coded: (u32, u32),
    luma: Vec<u8>,
    chroma: Vec<u8>,
    detail: String,
    /// Whether the driver did not follow all of the application's codec parameters.
    overrides: bool,
    /// Whether the setup slot (if any) is activated with the picture (else invalidated).
    refresh: bool,
    /// AV1: the setup slot's reference information.
    av1_setup: Option<Av1Reference>,
}

/// The source picture of `e` at `coded` (whole 16x16 blocks) as NV12 planes, checked.
fn read_source(d: &Device, e: &Encode, coded: (u32, u32)) -> Result<(Vec<u8>, Vec<u8>), String> {
    let (luma, chroma) = read_picture(d, &e.src, coded)?;
    match nv12(&luma, &chroma, coded)?.problem() {
        Some(problem) => Err(problem),
        None => Ok((luma, chroma)),
    }
}

/// Planes of `coded.0` bytes per row as an [`Nv12Picture`].
fn nv12<'a>(
    luma: &'a [u8],
    chroma: &'a [u8],
    coded: (u32, u32),
) -> Result<Nv12Picture<'a>, String> {
    let stride = usize_of(u64::from(coded.0))?;
    Ok(Nv12Picture {
        luma,
        luma_stride: stride,
        chroma,
        chroma_stride: stride,
        width: coded.0,
        height: coded.1,
    })
}

/// P010 planes of `2 * coded.0` bytes per row as a [`P010Picture`].
fn p010<'a>(
    luma: &'a [u8],
    chroma: &'a [u8],
    coded: (u32, u32),
) -> Result<P010Picture<'a>, String> {
    let stride = usize_of(2 * u64::from(coded.0))?;
    Ok(P010Picture {
        luma,
        luma_stride: stride,
        chroma,
        chroma_stride: stride,
        width: coded.0,
        height: coded.1,
    })
}

/// 16-bit little-endian words with their low 6 bits cleared.
fn ten_bits_only(mut words: Vec<u8>) -> Vec<u8> {
    for pair in words.chunks_exact_mut(2) {
        pair[0] &= 0xc0;
    }
    words
}

/// An H.264 picture through the PCM writer.
fn encode_h264(
    d: &Device,
    sets: &H264Params,
    p: &H264Picture,
    e: &Encode,
) -> Result<Encoded, String> {
    let pic = p.picture.0;
    let (w, h) = e.src.extent;
    let sps = sets
        .sps
        .get(&pic.seq_parameter_set_id)
        .ok_or_else(|| {
            format!(
                "no SPS {} in the bound parameters",
                pic.seq_parameter_set_id
            )
        })?
        .clone();
    let pps = *sets
        .pps
        .get(&(pic.seq_parameter_set_id, pic.pic_parameter_set_id))
        .ok_or_else(|| {
            format!(
                "no PPS {} of SPS {} in the bound parameters",
                pic.pic_parameter_set_id, pic.seq_parameter_set_id
            )
        })?;
    let coded = (w.div_ceil(16) * 16, h.div_ceil(16) * 16);
    let sps_size = (
        (sps.pic_width_in_mbs_minus1 + 1) * 16,
        (sps.pic_height_in_map_units_minus1 + 1) * 16,
    );
    if coded != sps_size {
        return Err(format!(
            "codedExtent {w}x{h} is {}x{} in macroblocks, the SPS's picture is {}x{}",
            coded.0, coded.1, sps_size.0, sps_size.1
        ));
    }
    let format = picture_format(d, &e.src)?;
    if format != vk::Format::G8_B8R8_2PLANE_420_UNORM {
        return Err(format!(
            "a {format:?} source picture: the H.264 encoder reads 8-bit NV12"
        ));
    }
    let (luma, chroma) = read_source(d, e, coded)?;
    let source = nv12(&luma, &chroma, coded)?;
    let (slice, weights) = p.slices.first().ok_or("no slice")?;
    let mut slice = slice.0;
    slice.pWeightTable = weights
        .as_ref()
        .map_or(std::ptr::null(), std::ptr::from_ref);
    let lists = p.lists.as_ref().map(|l| {
        let mut x = l.lists.0;
        x.pRefList0ModOperations = ptr_or_null(&l.mod0);
        x.pRefList1ModOperations = ptr_or_null(&l.mod1);
        x.pRefPicMarkingOperations = ptr_or_null(&l.marking);
        x
    });
    let mut picture = pic;
    picture.pRefLists = lists.as_ref().map_or(std::ptr::null(), std::ptr::from_ref);
    let std_pps = std_pps(&pps);
    let out = with_std_sps(&sps, |s| {
        h264_pcm::encode_picture(s, &std_pps, &picture, &slice, &source)
    });
    Ok(Encoded {
        out,
        coded,
        detail: format!(
            "frame_num={} poc={} idr={} slices={}",
            pic.frame_num,
            pic.PicOrderCnt,
            pic.flags.IdrPicFlag(),
            p.slices.len()
        ),
        luma,
        chroma,
        overrides: false,
        refresh: true,
        av1_setup: None,
    })
}

/// An H.265 picture through the PCM writer, with the SPS and PPS as the driver wrote them.
fn encode_h265(
    d: &Device,
    sets: &H265Params,
    p: &H265Picture,
    e: &Encode,
) -> Result<Encoded, String> {
    let pic = p.picture.0;
    let ids = (
        pic.sps_video_parameter_set_id,
        pic.pps_seq_parameter_set_id,
        pic.pps_pic_parameter_set_id,
    );
    let sps = sets
        .sps
        .get(&(ids.0, ids.1))
        .ok_or_else(|| format!("no SPS {} of VPS {} in the bound parameters", ids.1, ids.0))?;
    let pps = sets.pps.get(&ids).ok_or_else(|| {
        format!(
            "no PPS {} of SPS {} and VPS {} in the bound parameters",
            ids.2, ids.1, ids.0
        )
    })?;
    let (w, h) = e.src.extent;
    let coded = (w.div_ceil(16) * 16, h.div_ceil(16) * 16);
    if coded != sps.size {
        return Err(format!(
            "codedExtent {w}x{h} is {}x{} in 16x16 blocks, the written SPS's picture is {}x{}",
            coded.0, coded.1, sps.size.0, sps.size.1
        ));
    }
    let ten_bit = picture_format(d, &e.src)? == P010;
    let (luma, chroma) = read_picture(d, &e.src, coded)?;
    let slice = p.slices.first().ok_or("no slice segment")?.0;
    let mut picture = pic;
    picture.pRefLists = p
        .lists
        .as_ref()
        .map_or(std::ptr::null(), std::ptr::from_ref);
    picture.pShortTermRefPicSet = p
        .short_term
        .as_ref()
        .map_or(std::ptr::null(), std::ptr::from_ref);
    picture.pLongTermRefPics = p
        .long_term
        .as_ref()
        .map_or(std::ptr::null(), std::ptr::from_ref);
    let out = if ten_bit {
        h265_pcm::encode_picture(sps, pps, &picture, &slice, &p010(&luma, &chroma, coded)?)?
    } else {
        h265_pcm::encode_picture(sps, pps, &picture, &slice, &nv12(&luma, &chroma, coded)?)?
    };
    // The reconstructed picture is what a decoder outputs: 10-bit samples keep no low bits.
    let (luma, chroma) = if ten_bit {
        (ten_bits_only(luma), ten_bits_only(chroma))
    } else {
        (luma, chroma)
    };
    Ok(Encoded {
        out,
        coded,
        detail: format!(
            "poc={} pic_type={} slices={}",
            pic.PicOrderCntVal,
            pic.pic_type,
            p.slices.len()
        ),
        luma,
        chroma,
        overrides: false,
        refresh: true,
        av1_setup: None,
    })
}

/// FNV-1a (64 bits) of `parts` in order: the checksum an AV1 tile carries of the input picture.
pub(crate) fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// What an AV1 tile written by the driver holds: the FNV-1a checksum of the input picture's
/// luma then chroma samples (NV12, the coded extent rounded up to even, little-endian), the
/// tile's index and the tile count (16 bits each, little-endian), then `GSAV`.
pub(crate) fn av1_tile_data(checksum: u64, index: u32, count: u32) -> Vec<u8> {
    let mut t = checksum.to_le_bytes().to_vec();
    t.extend(u16::try_from(index).unwrap_or(u16::MAX).to_le_bytes());
    t.extend(u16::try_from(count).unwrap_or(u16::MAX).to_le_bytes());
    t.extend_from_slice(b"GSAV");
    t
}

/// An AV1 picture as one frame OBU: the quantizer index from the session's rate control, the
/// references checked against what their slots were set up with, the input picture read (and
/// kept for the setup slot's reconstructed picture).
fn encode_av1(
    d: &Device,
    session: &Session,
    sets: &Av1Params,
    p: &Av1Picture,
    e: &Encode,
) -> Result<Encoded, String> {
    let crate::video::CodecCaps::Av1(caps) = session.caps.codec else {
        return Err("AV1 parameters bound to a session of another codec".into());
    };
    let q = crate::av1_enc::q_index(&caps, &session.coding.rate, p)?;
    for r in &e.references {
        let known = session.coding.av1_references.get(&r.index);
        if let (Some(given), Some(known)) = (&r.av1, known) {
            if given != known {
                return Err(format!(
                    "reference slot {}'s AV1 reference information {given:?} is not what the slot was set up with ({known:?})",
                    r.index
                ));
            }
        }
    }
    let (w, h) = e.src.extent;
    let coded = (w.next_multiple_of(2), h.next_multiple_of(2));
    // AV1 codes any even size: the PCM writers' whole-macroblock rule does not apply.
    let (luma, chroma) = read_picture(d, &e.src, coded)?;
    let checksum = fnv1a64(&[&luma, &chroma]);
    // SAFETY: plain C structures of integers and integer arrays, for which all-zero is a valid
    // value: the defaults written when the application gives none (no quantizer deltas, no loop
    // filter, CDEF strength 0, no loop restoration).
    let defaults = unsafe {
        (
            std::mem::zeroed(),
            std::mem::zeroed(),
            std::mem::zeroed(),
            std::mem::zeroed(),
        )
    };
    let quantization = p.quantization.unwrap_or(defaults.0);
    let loop_filter = p.loop_filter.unwrap_or(defaults.1);
    let cdef = p.cdef.unwrap_or(defaults.2);
    let loop_restoration = p.loop_restoration.unwrap_or(defaults.3);
    let frame = crate::av1_obu::Frame {
        seq: &sets.sequence,
        pic: &p.picture.0,
        quantization,
        loop_filter,
        cdef,
        loop_restoration,
        gm_types: p.global_motion.map_or([0; 8], |g| g.GmType),
        layer: p.layer.unwrap_or((0, 0)),
        extension_header: p.generate_obu_extension_header,
        buffer_removal_times: &p.buffer_removal_times,
        extent: e.src.extent,
        base_q_idx: q,
        tiles: p.tile_info.as_ref().map(|t| {
            (
                (
                    t.0.flags.uniform_tile_spacing_flag() != 0,
                    u32::from(t.0.TileCols),
                    u32::from(t.0.TileRows),
                ),
                u32::from(t.0.context_update_tile_id),
            )
        }),
    };
    let written = crate::av1_obu::frame_obu(&frame, |i, n| av1_tile_data(checksum, i, n))?;
    let pic = &p.picture.0;
    Ok(Encoded {
        out: written.obu,
        coded,
        detail: format!(
            "frame_type={} order_hint={} refresh={:#04x} qindex={q} tiles={}x{} overrides={:?}",
            pic.frame_type,
            pic.order_hint,
            pic.refresh_frame_flags,
            written.tiles.count.0,
            written.tiles.count.1,
            written.overrides
        ),
        overrides: !written.overrides.is_empty(),
        refresh: pic.refresh_frame_flags != 0,
        av1_setup: e.setup.and_then(|s| s.av1),
        luma,
        chroma,
    })
}

fn ptr_or_null<T>(v: &[T]) -> *const T {
    if v.is_empty() {
        std::ptr::null()
    } else {
        v.as_ptr()
    }
}
