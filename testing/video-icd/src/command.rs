//! Command pools and command buffers: what `vkCmd*` records (owned copies of what the caller
//! passed), checked when it is recorded, and run in order on the CPU when a queue submits it.

use ash::vk;
use ash::vk::native;

use crate::driver::{Device, Driver};
use crate::handle::Dispatchable;

/// A command pool: its queue family and the command buffers allocated from it.
pub(crate) struct CommandPool {
    pub(crate) family: u32,
    pub(crate) flags: vk::CommandPoolCreateFlags,
    pub(crate) buffers: Vec<u64>,
}

/// A command buffer's lifecycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Initial,
    Recording,
    Executable,
    /// A one-time-submit buffer after its submission, or one a recorded command refused.
    Invalid,
}

/// A command buffer (a dispatchable handle).
pub(crate) struct CommandBuffer {
    /// Owned here: the slot lives as long as the object.
    _slot: Dispatchable,
    pub(crate) device: u64,
    pub(crate) pool: u64,
    pub(crate) family: u32,
    pub(crate) state: State,
    pub(crate) one_time: bool,
    pub(crate) commands: Vec<Command>,
    /// Why a recorded command was refused (the first reason ends the recording in error).
    pub(crate) error: Option<String>,
    /// The session of an open video coding scope.
    pub(crate) coding: Option<u64>,
}

/// A plain copy of a Vulkan std structure whose pointers were set to NULL (what they pointed
/// to is copied beside it).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plain<T>(pub(crate) T);

// SAFETY: every pointer inside a `Plain` is NULL (set so by whoever makes one), so the value is
// plain data.
unsafe impl<T> Send for Plain<T> {}

/// A `VkVideoPictureResourceInfoKHR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Picture {
    pub(crate) offset: (i32, i32),
    pub(crate) extent: (u32, u32),
    pub(crate) base_layer: u32,
    pub(crate) view: u64,
}

/// A `VkVideoReferenceSlotInfoKHR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) index: i32,
    pub(crate) picture: Option<Picture>,
    /// The chained `VkVideoEncodeAV1DpbSlotInfoKHR`'s reference information, if any.
    pub(crate) av1: Option<Av1Reference>,
    /// The chained `VkVideoReferenceIntraRefreshInfoKHR`'s `dirtyIntraRefreshRegions`, if any.
    pub(crate) dirty_regions: Option<u32>,
}

/// A `StdVideoEncodeAV1ReferenceInfo`: what an AV1 DPB slot's picture is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Av1Reference {
    /// `flags` (`disable_frame_end_update_cdf`, `segmentation_enabled`), raw.
    pub flags: u32,
    /// `RefFrameId`.
    pub ref_frame_id: u32,
    /// `frame_type`.
    pub frame_type: u32,
    /// `OrderHint`.
    pub order_hint: u8,
    /// `*pExtensionHeader` as (`temporal_id`, `spatial_id`), if given.
    pub layer: Option<(u8, u8)>,
}

/// AV1 quantizer index bounds per rate control group (intra, predictive, bipredictive): the
/// minimum and the maximum of a `VkVideoEncodeAV1RateControlLayerInfoKHR`, where used.
pub type QIndexBounds = (Option<[u32; 3]>, Option<[u32; 3]>);

/// The rate control a `VkVideoEncodeRateControlInfoKHR` sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateControl {
    /// `rateControlMode`.
    pub mode: vk::VideoEncodeRateControlModeFlagsKHR,
    /// (averageBitrate, maxBitrate) of each layer.
    pub layers: Vec<(u64, u64)>,
    /// AV1: the first layer's `VkVideoEncodeAV1RateControlLayerInfoKHR` quantizer index bounds
    /// (intra, predictive, bipredictive), minimum and maximum, where used.
    pub av1_q_index: QIndexBounds,
}

/// `vkCmdControlVideoCodingKHR`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Control {
    pub(crate) flags: vk::VideoCodingControlFlagsKHR,
    pub(crate) rate: Option<RateControl>,
    pub(crate) quality: Option<u32>,
}

/// The H.264 part of an encode: the std picture info, its reference lists and slice headers,
/// each with what its pointers pointed to.
#[derive(Clone, Debug)]
pub(crate) struct H264Picture {
    pub(crate) picture: Plain<native::StdVideoEncodeH264PictureInfo>,
    pub(crate) lists: Option<RefLists>,
    pub(crate) slices: Vec<(
        Plain<native::StdVideoEncodeH264SliceHeader>,
        Option<native::StdVideoEncodeH264WeightTable>,
    )>,
}

/// A `StdVideoEncodeH264ReferenceListsInfo` and its three arrays.
#[derive(Clone, Debug)]
pub(crate) struct RefLists {
    pub(crate) lists: Plain<native::StdVideoEncodeH264ReferenceListsInfo>,
    pub(crate) mod0: Vec<native::StdVideoEncodeH264RefListModEntry>,
    pub(crate) mod1: Vec<native::StdVideoEncodeH264RefListModEntry>,
    pub(crate) marking: Vec<native::StdVideoEncodeH264RefPicMarkingEntry>,
}

/// The H.265 part of an encode: the std picture info, what its pointers pointed to, and the
/// slice segment headers (their weight tables are not kept: the driver's PPS has no weighted
/// prediction).
#[derive(Clone, Debug)]
pub(crate) struct H265Picture {
    pub(crate) picture: Plain<native::StdVideoEncodeH265PictureInfo>,
    pub(crate) lists: Option<native::StdVideoEncodeH265ReferenceListsInfo>,
    pub(crate) short_term: Option<native::StdVideoH265ShortTermRefPicSet>,
    pub(crate) long_term: Option<native::StdVideoEncodeH265LongTermRefPics>,
    pub(crate) slices: Vec<Plain<native::StdVideoEncodeH265SliceSegmentHeader>>,
}

/// The AV1 part of an encode: `VkVideoEncodeAV1PictureInfoKHR` and its std picture
/// information with what the pointers pointed to.
#[derive(Clone, Debug)]
pub(crate) struct Av1Picture {
    pub(crate) prediction_mode: i32,
    pub(crate) rate_control_group: i32,
    pub(crate) constant_q_index: u32,
    pub(crate) reference_name_slot_indices: [i32; 7],
    pub(crate) primary_reference_cdf_only: bool,
    pub(crate) generate_obu_extension_header: bool,
    /// `*pStdPictureInfo`, its pointers NULL.
    pub(crate) picture: Plain<crate::av1::StdVideoEncodeAV1PictureInfo>,
    /// `*pTileInfo` (its pointers NULL) and its `context_update_tile_id`.
    pub(crate) tile_info: Option<Plain<native::StdVideoAV1TileInfo>>,
    pub(crate) quantization: Option<native::StdVideoAV1Quantization>,
    /// Whether `pSegmentation` was not NULL.
    pub(crate) segmentation: bool,
    pub(crate) loop_filter: Option<native::StdVideoAV1LoopFilter>,
    pub(crate) cdef: Option<native::StdVideoAV1CDEF>,
    pub(crate) loop_restoration: Option<native::StdVideoAV1LoopRestoration>,
    pub(crate) global_motion: Option<native::StdVideoAV1GlobalMotion>,
    /// `*pExtensionHeader` as (`temporal_id`, `spatial_id`).
    pub(crate) layer: Option<(u8, u8)>,
    /// `pBufferRemovalTimes[]`, one per operating point of the bound parameters.
    pub(crate) buffer_removal_times: Vec<u32>,
}

/// The codec part of an encode.
#[derive(Clone, Debug)]
pub(crate) enum CodecPicture {
    H264(H264Picture),
    H265(H265Picture),
    Av1(Box<Av1Picture>),
}

impl CodecPicture {
    /// The picture's order, type and slices for the log.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::H264(p) => format!(
                "frame_num={} poc={} idr={} slices={}",
                p.picture.0.frame_num,
                p.picture.0.PicOrderCnt,
                p.picture.0.flags.IdrPicFlag(),
                p.slices.len()
            ),
            Self::H265(p) => format!(
                "poc={} pic_type={} slices={}",
                p.picture.0.PicOrderCntVal,
                p.picture.0.pic_type,
                p.slices.len()
            ),
            Self::Av1(p) => format!(
                "frame_type={} order_hint={} refresh={:#04x} mode={} names={:?}",
                p.picture.0.frame_type,
                p.picture.0.order_hint,
                p.picture.0.refresh_frame_flags,
                p.prediction_mode,
                p.reference_name_slot_indices
            ),
        }
    }
}

/// `vkCmdEncodeVideoKHR`.
#[derive(Clone, Debug)]
pub(crate) struct Encode {
    pub(crate) dst_buffer: u64,
    pub(crate) dst_offset: u64,
    pub(crate) dst_range: u64,
    pub(crate) src: Picture,
    pub(crate) setup: Option<Slot>,
    pub(crate) references: Vec<Slot>,
    pub(crate) codec: CodecPicture,
    /// `flags` (`VkVideoEncodeFlagsKHR`, raw).
    pub(crate) flags: u32,
    /// The chained `VkVideoEncodeIntraRefreshInfoKHR`: (`intraRefreshCycleDuration`,
    /// `intraRefreshIndex`), if any.
    pub(crate) intra_refresh: Option<(u32, u32)>,
}

/// One image memory barrier: the image, its layout transition and its queue families (as
/// given: `QUEUE_FAMILY_IGNORED` where none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ImageBarrier {
    pub(crate) image: u64,
    pub(crate) old: vk::ImageLayout,
    pub(crate) new: vk::ImageLayout,
    pub(crate) src_family: u32,
    pub(crate) dst_family: u32,
}

/// A recorded command.
#[derive(Clone, Debug)]
pub(crate) enum Command {
    /// A pipeline barrier: its image barriers move images between layouts and queue families
    /// when it runs (memory and buffer barriers are recorded for the count only).
    Barrier(Vec<ImageBarrier>),
    CopyBuffer {
        src: u64,
        dst: u64,
        regions: Vec<vk::BufferCopy>,
    },
    CopyBufferToImage {
        buffer: u64,
        image: u64,
        regions: Vec<vk::BufferImageCopy>,
    },
    CopyImageToBuffer {
        image: u64,
        buffer: u64,
        regions: Vec<vk::BufferImageCopy>,
    },
    ResetQueries {
        pool: u64,
        first: u32,
        count: u32,
    },
    BeginQuery {
        pool: u64,
        query: u32,
    },
    EndQuery {
        pool: u64,
        query: u32,
    },
    Timestamp {
        pool: u64,
        query: u32,
    },
    BeginCoding {
        session: u64,
        parameters: u64,
        slots: Vec<Slot>,
    },
    Control(Control),
    Encode(Box<Encode>),
    EndCoding,
}

/// A session's coding state, changed by executed commands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodingState {
    /// A RESET control has run.
    pub reset: bool,
    /// The rate control the last ENCODE_RATE_CONTROL control set.
    pub rate: RateControl,
    /// The quality level the last ENCODE_QUALITY_LEVEL control set.
    pub quality_level: u32,
    /// DPB slots holding a reconstructed picture.
    pub active_slots: Vec<i32>,
    /// Where each active slot's reconstructed picture was written: (image, array layer of the
    /// image). A reference naming the slot must name that picture resource again (one image's
    /// layers being distinct pictures where the DPB is a layered image).
    pub slot_pictures: std::collections::BTreeMap<i32, (u64, u32)>,
    /// AV1: what each active slot's picture is (from its setup's reference information).
    pub av1_references: std::collections::BTreeMap<i32, Av1Reference>,
    /// Pictures encoded.
    pub encoded: u64,
}

/// Where a picture resource lives: (image, array layer of the image).
pub(crate) type PictureAt = (u64, u32);

/// A bound video picture resource as the specification tells them apart: (image, array layer
/// of the image, codedOffset, codedExtent).
pub(crate) type BoundPicture = (u64, u32, (i32, i32), (u32, u32));

impl CodingState {
    /// Checks a reference to slot `index` whose picture resource is `named`: the slot holds a
    /// picture, and `named` (when given) is where that picture was reconstructed, the same
    /// image and, in a layered DPB image, the same layer.
    pub(crate) fn check_reference(
        &self,
        index: i32,
        named: Option<PictureAt>,
    ) -> Result<(), String> {
        if !self.active_slots.contains(&index) {
            return Err(format!(
                "reference slot {index} holds no picture (active: {:?})",
                self.active_slots
            ));
        }
        if let (Some(named), Some(held)) = (named, self.slot_pictures.get(&index)) {
            if named != *held {
                return Err(format!(
                    "reference slot {index} names image {:#x} layer {}, and its picture was reconstructed into image {:#x} layer {}",
                    named.0, named.1, held.0, held.1
                ));
            }
        }
        Ok(())
    }

    /// Slot `index` set up with its picture resource at `at`: with `refresh`, the slot holds
    /// the new picture (and `av1`, its AV1 reference information), and any other slot whose
    /// picture lived in the same image layer holds none any more (overwritten); without, the
    /// slot is invalidated (an AV1 picture that refreshes no reference frame).
    pub(crate) fn set_up(
        &mut self,
        index: i32,
        at: Option<PictureAt>,
        refresh: bool,
        av1: Option<Av1Reference>,
    ) {
        self.forget(index);
        if !refresh {
            return;
        }
        if let Some(at) = at {
            let stale: Vec<i32> = self
                .slot_pictures
                .iter()
                .filter(|&(_, &p)| p == at)
                .map(|(&i, _)| i)
                .collect();
            for i in stale {
                self.forget(i);
            }
            self.slot_pictures.insert(index, at);
        }
        self.active_slots.push(index);
        if let Some(r) = av1 {
            self.av1_references.insert(index, r);
        }
    }

    /// Slot `index` holds no picture.
    fn forget(&mut self, index: i32) {
        self.active_slots.retain(|&i| i != index);
        self.av1_references.remove(&index);
        self.slot_pictures.remove(&index);
    }
}

/// Checks the picture resources a coding scope binds (each at (image, layer, codedOffset,
/// codedExtent)): from one image where the profile has no separate reference images
/// (VUID-VkVideoBeginCodingInfoKHR-flags-07244), and each one once
/// (VUID-VkVideoBeginCodingInfoKHR-pPictureResource-07238: two slots naming one layer of a
/// layered DPB image would share a picture).
pub(crate) fn check_bound_pictures(separate: bool, bound: &[BoundPicture]) -> Result<(), String> {
    let images: std::collections::BTreeSet<u64> = bound.iter().map(|b| b.0).collect();
    if !separate && images.len() > 1 {
        return Err(format!(
            "reference slots bound from {} images, and the profile has no VK_VIDEO_CAPABILITY_SEPARATE_REFERENCE_IMAGES_BIT_KHR (VUID-VkVideoBeginCodingInfoKHR-flags-07244)",
            images.len()
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for b in bound {
        if !seen.insert(b) {
            return Err(format!(
                "two reference slots bound to image {:#x} layer {} (VUID-VkVideoBeginCodingInfoKHR-pPictureResource-07238)",
                b.0, b.1
            ));
        }
    }
    Ok(())
}

impl Driver {
    /// `vkCreateCommandPool`.
    pub fn create_command_pool(
        &mut self,
        device: u64,
        family: u32,
        flags: vk::CommandPoolCreateFlags,
    ) -> Result<u64, String> {
        let id = self.id();
        let d = self.device_mut(device)?;
        let families = crate::driver::queue_families(d.table).len();
        if usize::try_from(family).map_or(true, |f| f >= families) {
            return Err(format!(
                "queueFamilyIndex {family}: the device has {families} families"
            ));
        }
        d.command_pools.insert(
            id,
            CommandPool {
                family,
                flags,
                buffers: Vec::new(),
            },
        );
        Ok(id)
    }

    /// `vkDestroyCommandPool`: the pool and its command buffers.
    pub fn destroy_command_pool(&mut self, device: u64, pool: u64) -> Result<(), String> {
        let p = self
            .device_mut(device)?
            .command_pools
            .remove(&pool)
            .ok_or_else(|| format!("unknown command pool {pool:#x}"))?;
        for b in p.buffers {
            self.command_buffers.remove(&b);
        }
        Ok(())
    }

    /// `vkResetCommandPool`: every buffer of the pool back to the initial state.
    pub fn reset_command_pool(&mut self, device: u64, pool: u64) -> Result<(), String> {
        let buffers = self
            .device_mut(device)?
            .command_pools
            .get(&pool)
            .ok_or_else(|| format!("unknown command pool {pool:#x}"))?
            .buffers
            .clone();
        for b in buffers {
            if let Some(cb) = self.command_buffers.get_mut(&b) {
                cb.reset();
            }
        }
        Ok(())
    }

    /// `vkAllocateCommandBuffers`: `count` primary buffers of `pool`.
    pub fn allocate_command_buffers(
        &mut self,
        device: u64,
        pool: u64,
        level: vk::CommandBufferLevel,
        count: u32,
    ) -> Result<Vec<u64>, String> {
        if level != vk::CommandBufferLevel::PRIMARY {
            return Err(format!(
                "level {level:?}: the driver records primary command buffers only"
            ));
        }
        let d = self.device_mut(device)?;
        let family = d
            .command_pools
            .get(&pool)
            .ok_or_else(|| format!("unknown command pool {pool:#x}"))?
            .family;
        let mut out = Vec::new();
        for _ in 0..count {
            let slot = Dispatchable::new();
            let h = slot.raw();
            self.command_buffers.insert(
                h,
                CommandBuffer {
                    _slot: slot,
                    device,
                    pool,
                    family,
                    state: State::Initial,
                    one_time: false,
                    commands: Vec::new(),
                    error: None,
                    coding: None,
                },
            );
            out.push(h);
        }
        if let Some(p) = self.device_mut(device)?.command_pools.get_mut(&pool) {
            p.buffers.extend(&out);
        }
        Ok(out)
    }

    /// `vkFreeCommandBuffers`.
    pub fn free_command_buffers(
        &mut self,
        device: u64,
        pool: u64,
        buffers: &[u64],
    ) -> Result<(), String> {
        let p = self
            .device_mut(device)?
            .command_pools
            .get_mut(&pool)
            .ok_or_else(|| format!("unknown command pool {pool:#x}"))?;
        for b in buffers.iter().filter(|b| **b != 0) {
            if !p.buffers.contains(b) {
                return Err(format!("command buffer {b:#x} is not from pool {pool:#x}"));
            }
        }
        p.buffers.retain(|b| !buffers.contains(b));
        for b in buffers {
            self.command_buffers.remove(b);
        }
        Ok(())
    }

    fn command_buffer(&mut self, cb: u64) -> Result<&mut CommandBuffer, String> {
        self.command_buffers
            .get_mut(&cb)
            .ok_or_else(|| format!("unknown command buffer {cb:#x}"))
    }

    /// `vkBeginCommandBuffer`.
    pub fn begin_command_buffer(
        &mut self,
        cb: u64,
        flags: vk::CommandBufferUsageFlags,
    ) -> Result<(), String> {
        let device = self.command_buffer(cb)?.device;
        let pool = self.command_buffer(cb)?.pool;
        let resettable = self
            .device_mut(device)?
            .command_pools
            .get(&pool)
            .is_some_and(|p| {
                p.flags
                    .contains(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER)
            });
        let b = self.command_buffer(cb)?;
        match b.state {
            State::Recording => {
                return Err("the command buffer is already recording".into());
            }
            State::Initial => {}
            _ if resettable => {}
            s => {
                return Err(format!(
                    "the command buffer is {s:?} and its pool lacks RESET_COMMAND_BUFFER (reset the pool)"
                ))
            }
        }
        b.reset();
        b.state = State::Recording;
        b.one_time = flags.contains(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT);
        Ok(())
    }

    /// `vkEndCommandBuffer`: the first refused command's reason, if any.
    pub fn end_command_buffer(&mut self, cb: u64) -> Result<usize, String> {
        let b = self.command_buffer(cb)?;
        if b.state != State::Recording {
            return Err(format!(
                "the command buffer is {:?}, not recording",
                b.state
            ));
        }
        if let Some(e) = b.error.take() {
            b.state = State::Invalid;
            return Err(format!("a recorded command was refused: {e}"));
        }
        if b.coding.is_some() {
            b.state = State::Invalid;
            return Err(
                "a video coding scope is still open (vkCmdEndVideoCodingKHR missing)".into(),
            );
        }
        b.state = State::Executable;
        Ok(b.commands.len())
    }

    /// `vkResetCommandBuffer`.
    pub fn reset_command_buffer(&mut self, cb: u64) -> Result<(), String> {
        let device = self.command_buffer(cb)?.device;
        let pool = self.command_buffer(cb)?.pool;
        let resettable = self
            .device_mut(device)?
            .command_pools
            .get(&pool)
            .is_some_and(|p| {
                p.flags
                    .contains(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER)
            });
        if !resettable {
            return Err(
                "the pool was created without RESET_COMMAND_BUFFER (VUID-vkResetCommandBuffer-commandBuffer-00046)"
                    .into(),
            );
        }
        self.command_buffer(cb)?.reset();
        Ok(())
    }

    /// The operating points of the AV1 parameters bound by the open coding scope of `cb` (0
    /// without one): how many `buffer_removal_time` entries an AV1 picture gives.
    pub(crate) fn av1_operating_points(&self, cb: u64) -> usize {
        let Some(b) = self.command_buffers.get(&cb) else {
            return 0;
        };
        let parameters = b.commands.iter().rev().find_map(|c| match c {
            Command::BeginCoding { parameters, .. } => Some(*parameters),
            _ => None,
        });
        match parameters
            .and_then(|p| self.devices_get(b.device)?.parameters.get(&p))
            .map(|p| &p.sets)
        {
            Some(crate::session::CodecParams::Av1(a)) => a.sequence.operating_points.len(),
            _ => 0,
        }
    }

    /// Records `command` after `check` accepts it against the device and the buffer; a refusal
    /// is kept and ends the recording in error (`vkCmd*` return nothing).
    pub(crate) fn record(
        &mut self,
        cb: u64,
        command: Command,
        check: impl FnOnce(&Device, &CommandBuffer) -> Result<(), String>,
    ) -> Result<(), String> {
        let b = self
            .command_buffers
            .get(&cb)
            .ok_or_else(|| format!("unknown command buffer {cb:#x}"))?;
        let result = if b.state == State::Recording {
            match self.devices_get(b.device) {
                Some(d) => check(d, b),
                None => Err("the command buffer's device is gone".into()),
            }
        } else {
            Err(format!(
                "the command buffer is {:?}, not recording",
                b.state
            ))
        };
        let b = self.command_buffer(cb)?;
        match result {
            Ok(()) => {
                match &command {
                    Command::BeginCoding { session, .. } => b.coding = Some(*session),
                    Command::EndCoding => b.coding = None,
                    _ => {}
                }
                b.commands.push(command);
                Ok(())
            }
            Err(e) => {
                if b.error.is_none() {
                    b.error = Some(e.clone());
                }
                Err(e)
            }
        }
    }
}

impl CommandBuffer {
    fn reset(&mut self) {
        self.state = State::Initial;
        self.commands.clear();
        self.error = None;
        self.coding = None;
    }
}

/// The queue flags of `family`.
pub(crate) fn family_flags(d: &Device, family: u32) -> vk::QueueFlags {
    crate::driver::queue_families(d.table)
        .get(usize::try_from(family).unwrap_or(usize::MAX))
        .map_or(vk::QueueFlags::empty(), |f| f.properties.queue_flags)
}

/// Checks a copy's command buffer and objects: a transfer-capable family, a bound buffer and
/// image, regions inside both.
pub(crate) fn check_copy(
    d: &Device,
    b: &CommandBuffer,
    buffer: u64,
    image: u64,
    regions: &[vk::BufferImageCopy],
) -> Result<(), String> {
    check_copy_family(d, b)?;
    crate::exec::copy_plan(d, buffer, image, regions).map(|_| ())
}

/// Checks a buffer-to-buffer copy: a transfer-capable family, both buffers bound, regions
/// inside both.
pub(crate) fn check_buffer_copy(
    d: &Device,
    b: &CommandBuffer,
    src: u64,
    dst: u64,
    regions: &[vk::BufferCopy],
) -> Result<(), String> {
    check_copy_family(d, b)?;
    crate::exec::buffer_copy_plan(d, src, dst, regions).map(|_| ())
}

/// A copy is recorded on a family that copies, outside a video coding scope.
fn check_copy_family(d: &Device, b: &CommandBuffer) -> Result<(), String> {
    if !family_flags(d, b.family)
        .intersects(vk::QueueFlags::TRANSFER | vk::QueueFlags::COMPUTE | vk::QueueFlags::GRAPHICS)
    {
        return Err(format!(
            "queue family {} has no transfer capability (copy on the compute family)",
            b.family
        ));
    }
    if b.coding.is_some() {
        return Err("a copy inside a video coding scope".into());
    }
    Ok(())
}

/// Checks a video coding command's command buffer: a family that encodes.
pub(crate) fn check_video_family(d: &Device, b: &CommandBuffer) -> Result<(), String> {
    if !family_flags(d, b.family).contains(vk::QueueFlags::VIDEO_ENCODE_KHR) {
        return Err(format!(
            "queue family {} does not encode video (record video coding on the encode family)",
            b.family
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_pictures_come_from_one_image_without_separate_reference_images_each_once() {
        let at = |image, layer| (image, layer, (0, 0), (416, 240));
        // Separate images: one a slot.
        assert!(check_bound_pictures(true, &[at(1, 0), at(2, 0)]).is_ok());
        // Without: several images are refused (07244), one image's layers are not.
        let e = check_bound_pictures(false, &[at(1, 0), at(2, 0)]).unwrap_err();
        assert!(e.contains("07244"), "{e}");
        assert!(check_bound_pictures(false, &[at(1, 0), at(1, 1), at(1, 2)]).is_ok());
        // One layer bound twice is one picture in two slots (07238).
        let e = check_bound_pictures(false, &[at(1, 1), at(1, 1)]).unwrap_err();
        assert!(e.contains("07238") && e.contains("layer 1"), "{e}");
    }

    #[test]
    fn a_reference_names_the_layer_its_picture_was_set_up_in() {
        let mut c = CodingState::default();
        c.set_up(0, Some((1, 0)), true, None);
        c.set_up(1, Some((1, 1)), true, None);
        assert!(c.check_reference(0, Some((1, 0))).is_ok());
        assert!(c.check_reference(1, Some((1, 1))).is_ok());
        let e = c.check_reference(1, Some((1, 0))).unwrap_err();
        assert!(e.contains("reconstructed into image 0x1 layer 1"), "{e}");
        // Slot 2 set up in layer 0 overwrites slot 0's picture: slot 0 holds none.
        c.set_up(2, Some((1, 0)), true, None);
        assert!(c.check_reference(0, Some((1, 0))).is_err());
        assert!(c.check_reference(2, Some((1, 0))).is_ok());
        // A setup that refreshes nothing invalidates its slot.
        c.set_up(1, Some((1, 1)), false, None);
        assert!(c.check_reference(1, Some((1, 1))).is_err());
        assert_eq!(c.active_slots, [2]);
    }
}
