//! Video sessions and their parameters objects: the create info checked against the
//! profile's capabilities, the session's memory bindings, and the parameter sets a parameters
//! object holds and writes back (H.264 and H.265 NAL units, the AV1 sequence header OBU).

use std::collections::BTreeMap;

use ash::vk;

use crate::av1::{StdVideoEncodeAV1DecoderModelInfo, StdVideoEncodeAV1OperatingPointInfo};
use crate::av1_obu::Sequence;
use crate::caps::DeviceTable;
use crate::command::Plain;
use crate::h264::{Pps, Sps};
use crate::h265;
use crate::video::{self, Profile, ProfileCaps, Refusal};

/// What `vkCreateVideoSessionKHR` is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRequest {
    /// `queueFamilyIndex`.
    pub queue_family: u32,
    /// `flags`.
    pub flags: vk::VideoSessionCreateFlagsKHR,
    /// `pVideoProfile`.
    pub profile: Profile,
    /// `pictureFormat`.
    pub picture_format: vk::Format,
    /// `maxCodedExtent` (width, height).
    pub max_coded_extent: (u32, u32),
    /// `referencePictureFormat`.
    pub reference_picture_format: vk::Format,
    /// `maxDpbSlots`.
    pub max_dpb_slots: u32,
    /// `maxActiveReferencePictures`.
    pub max_active_reference_pictures: u32,
    /// `pStdHeaderVersion`: its name and version.
    pub std_header: (String, u32),
    /// `VkVideoEncodeH264SessionCreateInfoKHR`: `maxLevelIdc` when `useMaxLevelIdc` is set.
    pub h264_max_level: Option<u32>,
    /// `VkVideoEncodeAV1SessionCreateInfoKHR`: `maxLevel` when `useMaxLevel` is set.
    pub av1_max_level: Option<u32>,
    /// `VkVideoEncodeSessionIntraRefreshCreateInfoKHR::intraRefreshMode` (raw; 0, NONE, when
    /// not chained).
    pub intra_refresh_mode: u32,
}

/// Bind index of the session's working memory (reconstruction and motion search state).
pub const BIND_WORKING: u32 = 0;
/// Bind index of the per-DPB-slot metadata (motion vectors of each reference picture).
pub const BIND_DPB_METADATA: u32 = 1;
/// Alignment of both bindings.
pub const SESSION_MEMORY_ALIGNMENT: u64 = 4096;

/// A live video session.
#[derive(Clone, Debug)]
pub struct Session {
    /// What it was created with.
    pub request: SessionRequest,
    /// The capabilities of its profile.
    pub caps: ProfileCaps,
    /// Memory bound per bind index: (memory, offset).
    pub bound: BTreeMap<u32, (u64, u64)>,
    /// What executed video coding commands did to it.
    pub coding: crate::command::CodingState,
    /// The profile's intra refresh capabilities, where the device has the extension.
    pub intra_refresh: Option<crate::caps::IntraRefreshCaps>,
}

fn invalid(vuid: &str, text: String) -> Refusal {
    (
        vk::Result::ERROR_VALIDATION_FAILED_EXT,
        format!("{text} ({vuid})"),
    )
}

/// Checks a create info in the spec's order: the profile (its own error codes), the std header
/// version (`VK_ERROR_VIDEO_STD_VERSION_NOT_SUPPORTED_KHR`), then the valid-usage rules
/// against the capabilities, each refused as `VK_ERROR_VALIDATION_FAILED` naming its VUID.
pub fn check(
    table: &DeviceTable,
    queue_family_ops: Option<vk::VideoCodecOperationFlagsKHR>,
    r: &SessionRequest,
) -> Result<ProfileCaps, Refusal> {
    let caps = video::check(table, &r.profile)?;
    let (name, version) = caps.std_header;
    if r.std_header.0 != name || r.std_header.1 > version {
        return Err((
            vk::Result::ERROR_VIDEO_STD_VERSION_NOT_SUPPORTED_KHR,
            format!(
                "std header {} version {:#x}: the profile's is {name} version {version:#x}",
                r.std_header.0, r.std_header.1
            ),
        ));
    }
    if !queue_family_ops.is_some_and(|ops| ops.contains(r.profile.operation)) {
        return Err(invalid(
            "the spec's valid usage of queueFamilyIndex",
            format!(
                "queue family {} does not do {:?}",
                r.queue_family, r.profile.operation
            ),
        ));
    }
    let allowed = vk::VideoSessionCreateFlagsKHR::ALLOW_ENCODE_PARAMETER_OPTIMIZATIONS;
    if !allowed.contains(r.flags) {
        return Err(invalid(
            "VUID-VkVideoSessionCreateInfoKHR-flags-parameter",
            format!(
                "flags {:#x}: the device takes ALLOW_ENCODE_PARAMETER_OPTIMIZATIONS only",
                r.flags.as_raw()
            ),
        ));
    }
    let v = caps.video;
    let (w, h) = r.max_coded_extent;
    let (min, max) = (v.min_coded_extent, v.max_coded_extent);
    if w < min.0 || h < min.1 || w > max.0 || h > max.1 {
        return Err(invalid(
            "VUID-VkVideoSessionCreateInfoKHR-maxCodedExtent-04851",
            format!(
                "maxCodedExtent {w}x{h} is outside the profile's {}x{} to {}x{}",
                min.0, min.1, max.0, max.1
            ),
        ));
    }
    if r.max_dpb_slots > v.max_dpb_slots {
        return Err(invalid(
            "VUID-VkVideoSessionCreateInfoKHR-maxDpbSlots-04847",
            format!(
                "maxDpbSlots {} is over the profile's {}",
                r.max_dpb_slots, v.max_dpb_slots
            ),
        ));
    }
    if r.max_active_reference_pictures > v.max_active_reference_pictures {
        return Err(invalid(
            "VUID-VkVideoSessionCreateInfoKHR-maxActiveReferencePictures-04849",
            format!(
                "maxActiveReferencePictures {} is over the profile's {}",
                r.max_active_reference_pictures, v.max_active_reference_pictures
            ),
        ));
    }
    if (r.max_dpb_slots == 0) != (r.max_active_reference_pictures == 0) {
        return Err(invalid(
            "the spec's valid usage of maxDpbSlots",
            format!(
                "maxDpbSlots {} with maxActiveReferencePictures {}: both or neither are 0",
                r.max_dpb_slots, r.max_active_reference_pictures
            ),
        ));
    }
    let format = video::picture_format(&r.profile);
    if r.picture_format != format {
        return Err(invalid(
            "the spec's valid usage of pictureFormat",
            format!(
                "pictureFormat {:?}: the profile encodes from {format:?}",
                r.picture_format
            ),
        ));
    }
    if r.max_dpb_slots > 0 && r.reference_picture_format != format {
        return Err(invalid(
            "the spec's valid usage of referencePictureFormat",
            format!(
                "referencePictureFormat {:?}: the profile keeps references in {format:?}",
                r.reference_picture_format
            ),
        ));
    }
    if let (Some(level), video::CodecCaps::Av1(av1)) = (r.av1_max_level, caps.codec) {
        if level > av1.max_level {
            return Err(invalid(
                "VUID-VkVideoSessionCreateInfoKHR-pVideoProfile-10270",
                format!(
                    "VkVideoEncodeAV1SessionCreateInfoKHR::maxLevel {level} is over the profile's {}",
                    av1.max_level
                ),
            ));
        }
    }
    Ok(caps)
}

impl Session {
    /// The AV1 level the session's bitstreams keep to (`StdVideoAV1Level`, which numbers the
    /// levels as `seq_level_idx` does): `maxLevel` of its create info, else the profile's.
    pub fn av1_level(&self) -> Option<u32> {
        match self.caps.codec {
            video::CodecCaps::Av1(av1) => Some(self.request.av1_max_level.unwrap_or(av1.max_level)),
            _ => None,
        }
    }
}

/// The size of the working memory: 256 bytes per macroblock of the largest picture.
fn macroblocks((w, h): (u32, u32)) -> u64 {
    u64::from(w.div_ceil(16)) * u64::from(h.div_ceil(16))
}

/// `vkGetVideoSessionMemoryRequirementsKHR`: the working memory (any memory type) and, with
/// reference pictures, the DPB metadata (64 bytes per macroblock per slot, host-visible types
/// only: the driver's encoder reads it on the host).
pub fn memory_requirements(r: &SessionRequest) -> Vec<(u32, vk::MemoryRequirements)> {
    let align = |n: u64| n.div_ceil(SESSION_MEMORY_ALIGNMENT) * SESSION_MEMORY_ALIGNMENT;
    let all = (1u32 << crate::driver::MEMORY_TYPES.len()) - 1;
    let host = crate::driver::MEMORY_TYPES
        .iter()
        .enumerate()
        .filter(|(_, f)| f.contains(vk::MemoryPropertyFlags::HOST_VISIBLE))
        .fold(0u32, |bits, (i, _)| bits | (1 << i));
    let mbs = macroblocks(r.max_coded_extent);
    let mut out = vec![(
        BIND_WORKING,
        vk::MemoryRequirements {
            size: align(mbs * 256),
            alignment: SESSION_MEMORY_ALIGNMENT,
            memory_type_bits: all,
        },
    )];
    if r.max_dpb_slots > 0 {
        out.push((
            BIND_DPB_METADATA,
            vk::MemoryRequirements {
                size: align(mbs * 64 * u64::from(r.max_dpb_slots)),
                alignment: SESSION_MEMORY_ALIGNMENT,
                memory_type_bits: host,
            },
        ));
    }
    out
}

/// One `VkBindVideoSessionMemoryInfoKHR`, with the memory's size and type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bind {
    /// `memoryBindIndex`.
    pub index: u32,
    /// The memory handle.
    pub memory: u64,
    /// `memoryOffset`.
    pub offset: u64,
    /// `memorySize`.
    pub size: u64,
    /// The allocation's size.
    pub memory_size: u64,
    /// The allocation's memory type.
    pub memory_type: usize,
}

impl Session {
    /// `vkBindVideoSessionMemoryKHR` for one binding.
    pub fn bind(&mut self, b: &Bind) -> Result<(), String> {
        let reqs = memory_requirements(&self.request);
        let Some((_, req)) = reqs.iter().find(|(i, _)| *i == b.index) else {
            return Err(format!(
                "memoryBindIndex {} is not one the session's requirements list",
                b.index
            ));
        };
        if self.bound.contains_key(&b.index) {
            return Err(format!("memoryBindIndex {} is already bound", b.index));
        }
        if req.memory_type_bits & (1 << b.memory_type) == 0 {
            return Err(format!(
                "memory type {} is not in memoryTypeBits {:#b} of bind index {}",
                b.memory_type, req.memory_type_bits, b.index
            ));
        }
        if b.offset % req.alignment != 0 {
            return Err(format!(
                "memoryOffset {} is not a multiple of {}",
                b.offset, req.alignment
            ));
        }
        if b.size != req.size {
            return Err(format!(
                "memorySize {} for bind index {}: the requirement is {}",
                b.size, b.index, req.size
            ));
        }
        if b.offset.saturating_add(b.size) > b.memory_size {
            return Err(format!(
                "memoryOffset {} + memorySize {} is past the {}-byte allocation (VUID-VkBindVideoSessionMemoryInfoKHR-memorySize-07202)",
                b.offset, b.size, b.memory_size
            ));
        }
        self.bound.insert(b.index, (b.memory, b.offset));
        Ok(())
    }
}

/// The H.264 parameter sets one parameters object holds.
#[derive(Clone, Debug, Default)]
pub struct H264Params {
    /// SPSs by `seq_parameter_set_id`.
    pub sps: BTreeMap<u8, Sps>,
    /// PPSs by (`seq_parameter_set_id`, `pic_parameter_set_id`).
    pub pps: BTreeMap<(u8, u8), Pps>,
    /// `maxStdSPSCount`.
    pub max_sps: u32,
    /// `maxStdPPSCount`.
    pub max_pps: u32,
    /// The last `updateSequenceCount` applied (0 after creation).
    pub update_sequence: u32,
}

/// Whether the written VPS, SPS and PPS differ from the application's.
pub type Overrides = (bool, bool, bool);

/// The parameter sets of one codec.
#[derive(Clone, Debug)]
pub enum CodecParams {
    /// H.264 SPSs and PPSs.
    H264(H264Params),
    /// H.265 VPSs, SPSs and PPSs.
    H265(H265Params),
    /// The AV1 sequence header.
    Av1(Av1Params),
}

/// The one AV1 sequence header a parameters object holds (AV1 parameters objects take no
/// template and no update).
#[derive(Clone, Debug)]
pub struct Av1Params {
    /// The header, with its color configuration, timing information, decoder model and
    /// operating points.
    pub(crate) sequence: Sequence,
}

/// What a `VkVideoEncodeAV1SessionParametersCreateInfoKHR` gives, copied.
#[derive(Clone, Debug)]
pub struct Av1Add {
    /// `*pStdSequenceHeader`, its pointers NULL.
    pub(crate) header: Plain<ash::vk::native::StdVideoAV1SequenceHeader>,
    /// `*pColorConfig`.
    pub(crate) color: Option<ash::vk::native::StdVideoAV1ColorConfig>,
    /// `*pTimingInfo`.
    pub(crate) timing: Option<ash::vk::native::StdVideoAV1TimingInfo>,
    /// `*pStdDecoderModelInfo`.
    pub(crate) decoder_model: Option<StdVideoEncodeAV1DecoderModelInfo>,
    /// `pStdOperatingPoints[0 .. stdOperatingPointCount]`.
    pub(crate) operating_points: Vec<StdVideoEncodeAV1OperatingPointInfo>,
}

impl Av1Params {
    /// A new object for a session at `level` whose profile has room for `max_operating_points`.
    pub(crate) fn create(
        add: &Av1Add,
        level: u32,
        max_operating_points: u32,
    ) -> Result<Self, String> {
        if count(add.operating_points.len()) > max_operating_points {
            return Err(format!(
                "stdOperatingPointCount {}: the profile has {max_operating_points} (VUID-VkVideoSessionParametersCreateInfoKHR-videoSession-10280)",
                add.operating_points.len()
            ));
        }
        let level = u8::try_from(level).map_err(|_| format!("AV1 level {level}"))?;
        Ok(Self {
            sequence: Sequence::new(
                &add.header.0,
                add.color.as_ref(),
                add.timing.as_ref(),
                add.decoder_model.as_ref(),
                &add.operating_points,
                level,
            )?,
        })
    }
}

/// A live parameters object.
#[derive(Clone, Debug)]
pub struct Parameters {
    /// The session it was created for.
    pub session: u64,
    /// Its parameter sets.
    pub sets: CodecParams,
}

/// What a create or update call adds, per codec.
#[derive(Clone, Debug)]
pub enum Add {
    /// H.264 sets.
    H264(H264Add),
    /// H.265 sets.
    H265(H265Add),
    /// The AV1 sequence header.
    Av1(Box<Av1Add>),
}

/// What `vkGetEncodedVideoSessionParametersKHR` asks for, per codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Get {
    /// (writeStdSPS, writeStdPPS, stdSPSId, stdPPSId).
    H264(bool, bool, u8, u8),
    /// (writeStdVPS, writeStdSPS, writeStdPPS), (stdVPSId, stdSPSId, stdPPSId).
    H265((bool, bool, bool), (u8, u8, u8)),
    /// The AV1 sequence header (no codec structure in the chain).
    Av1,
}

impl CodecParams {
    /// The sets of a new object: `capacity` is (VPS, SPS, PPS) (the VPS count unused for
    /// H.264); a template of another codec is refused.
    pub fn create(
        template: Option<&CodecParams>,
        capacity: (u32, u32, u32),
        add: &Add,
    ) -> Result<Self, String> {
        match (template, add) {
            (None, Add::H264(a)) => Ok(Self::H264(H264Params::create(
                None, capacity.1, capacity.2, a,
            )?)),
            (Some(Self::H264(t)), Add::H264(a)) => Ok(Self::H264(H264Params::create(
                Some(t),
                capacity.1,
                capacity.2,
                a,
            )?)),
            (None, Add::H265(a)) => Ok(Self::H265(H265Params::create(None, capacity, a)?)),
            (Some(Self::H265(t)), Add::H265(a)) => {
                Ok(Self::H265(H265Params::create(Some(t), capacity, a)?))
            }
            (_, Add::Av1(_)) => Err(
                "AV1 parameters are created with the session's level (Driver::create_parameters)"
                    .into(),
            ),
            _ => Err("the template holds another codec's parameter sets".into()),
        }
    }

    /// `vkUpdateVideoSessionParametersKHR`.
    pub fn update(&mut self, sequence: u32, add: &Add) -> Result<(), String> {
        match (self, add) {
            (Self::H264(p), Add::H264(a)) => p.update(sequence, a),
            (Self::H265(p), Add::H265(a)) => p.update(sequence, a),
            (Self::Av1(_), _) => Err(
                "an AV1 parameters object cannot be updated: create a new one (VUID-vkUpdateVideoSessionParametersKHR-videoSessionParameters-10281)"
                    .into(),
            ),
            _ => Err("the update adds another codec's parameter sets".into()),
        }
    }

    /// `vkGetEncodedVideoSessionParametersKHR`.
    pub fn encoded(&self, get: Get) -> Result<Vec<u8>, String> {
        match (self, get) {
            (Self::H264(p), Get::H264(s, q, si, qi)) => p.encoded(s, q, si, qi),
            (Self::H265(p), Get::H265(w, ids)) => p.encoded(w, ids),
            (Self::Av1(p), Get::Av1) => Ok(p.sequence.obu()),
            _ => Err("the get info is for another codec".into()),
        }
    }

    /// Whether the written VPS, SPS and PPS that `get` asks for differ from the application's
    /// (the encode feedback's hasStd*Overrides; hasOverrides is any of them). Sets that are not
    /// asked for, or not there, count as not overridden.
    pub fn overrides(&self, get: Get) -> Overrides {
        match (self, get) {
            (Self::H264(p), Get::H264(_, write_pps, sps_id, pps_id)) => (
                false,
                false,
                write_pps && p.pps.get(&(sps_id, pps_id)).is_some_and(Pps::overrides),
            ),
            (Self::H265(p), Get::H265((_, write_sps, write_pps), (v, s, q))) => (
                false,
                write_sps && p.sps.get(&(v, s)).is_some_and(|x| x.overrides),
                write_pps && p.pps.get(&(v, s, q)).is_some_and(|x| x.overrides),
            ),
            _ => (false, false, false),
        }
    }
}

/// The H.265 parameter sets one parameters object holds, as NAL units with their ids.
#[derive(Clone, Debug, Default)]
pub struct H265Params {
    /// VPSs by id.
    pub vps: BTreeMap<u8, h265::Vps>,
    /// SPSs by (VPS id, SPS id).
    pub sps: BTreeMap<(u8, u8), h265::Sps>,
    /// PPSs by (VPS id, SPS id, PPS id).
    pub pps: BTreeMap<(u8, u8, u8), h265::Pps>,
    /// `maxStdVPSCount`, `maxStdSPSCount`, `maxStdPPSCount`.
    pub capacity: (u32, u32, u32),
    /// The last `updateSequenceCount` applied.
    pub update_sequence: u32,
}

/// The H.265 parameter sets of a create or update call.
#[derive(Clone, Debug, Default)]
pub struct H265Add {
    /// The VPSs.
    pub vps: Vec<h265::Vps>,
    /// The SPSs.
    pub sps: Vec<h265::Sps>,
    /// The PPSs.
    pub pps: Vec<h265::Pps>,
}

impl H265Params {
    fn insert(&mut self, add: &H265Add) {
        for v in &add.vps {
            self.vps.insert(v.id, v.clone());
        }
        for s in &add.sps {
            self.sps.insert((s.vps_id, s.id), s.clone());
        }
        for p in &add.pps {
            self.pps.insert((p.vps_id, p.sps_id, p.id), p.clone());
        }
    }

    fn over(&self, extra: (usize, usize, usize)) -> Option<String> {
        let counts = (
            self.vps.len() + extra.0,
            self.sps.len() + extra.1,
            self.pps.len() + extra.2,
        );
        let (v, s, p) = self.capacity;
        (count(counts.0) > v || count(counts.1) > s || count(counts.2) > p).then(|| {
            format!(
                "{} VPS, {} SPS and {} PPS entries for a capacity of {v}, {s} and {p}",
                counts.0, counts.1, counts.2
            )
        })
    }

    /// A new object's sets: the template's, then the added ones.
    pub fn create(
        template: Option<&H265Params>,
        capacity: (u32, u32, u32),
        add: &H265Add,
    ) -> Result<Self, String> {
        let mut p = template.cloned().unwrap_or_default();
        p.capacity = capacity;
        p.update_sequence = 0;
        p.insert(add);
        match p.over((0, 0, 0)) {
            Some(e) => Err(e),
            None => Ok(p),
        }
    }

    /// `vkUpdateVideoSessionParametersKHR`: new keys only, the sequence count one more.
    pub fn update(&mut self, sequence: u32, add: &H265Add) -> Result<(), String> {
        if sequence != self.update_sequence.wrapping_add(1) {
            return Err(format!(
                "updateSequenceCount {sequence}: the next is {} (VUID-vkUpdateVideoSessionParametersKHR-pUpdateInfo-07215)",
                self.update_sequence.wrapping_add(1)
            ));
        }
        let clash = add.vps.iter().any(|v| self.vps.contains_key(&v.id))
            || add
                .sps
                .iter()
                .any(|s| self.sps.contains_key(&(s.vps_id, s.id)))
            || add
                .pps
                .iter()
                .any(|p| self.pps.contains_key(&(p.vps_id, p.sps_id, p.id)));
        if clash {
            return Err(
                "the update adds a VPS, SPS or PPS whose ids are already in the object".into(),
            );
        }
        if let Some(e) = self.over((add.vps.len(), add.sps.len(), add.pps.len())) {
            return Err(format!("ERROR_TOO_MANY_OBJECTS {e}"));
        }
        self.insert(add);
        self.update_sequence = sequence;
        Ok(())
    }

    /// `vkGetEncodedVideoSessionParametersKHR`: the VPS, SPS and PPS asked for, in that order.
    pub fn encoded(
        &self,
        (write_vps, write_sps, write_pps): (bool, bool, bool),
        (vps_id, sps_id, pps_id): (u8, u8, u8),
    ) -> Result<Vec<u8>, String> {
        if !write_vps && !write_sps && !write_pps {
            return Err("none of writeStdVPS, writeStdSPS and writeStdPPS is set".into());
        }
        let mut out = Vec::new();
        if write_vps {
            let v = self
                .vps
                .get(&vps_id)
                .ok_or_else(|| format!("no VPS {vps_id} in the object"))?;
            out.extend_from_slice(&v.nal);
        }
        if write_sps {
            let s = self
                .sps
                .get(&(vps_id, sps_id))
                .ok_or_else(|| format!("no SPS {sps_id} of VPS {vps_id} in the object"))?;
            out.extend_from_slice(&s.nal);
        }
        if write_pps {
            let p = self.pps.get(&(vps_id, sps_id, pps_id)).ok_or_else(|| {
                format!("no PPS {pps_id} of SPS {sps_id} of VPS {vps_id} in the object")
            })?;
            out.extend_from_slice(&p.nal);
        }
        Ok(out)
    }
}

/// The parameter sets of a create or update call.
#[derive(Clone, Debug, Default)]
pub struct H264Add {
    /// The SPSs.
    pub sps: Vec<Sps>,
    /// The PPSs.
    pub pps: Vec<Pps>,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl H264Params {
    /// A new object's sets: the template's, then the added ones (replacing the template's
    /// entries with the same keys).
    pub fn create(
        template: Option<&H264Params>,
        max_sps: u32,
        max_pps: u32,
        add: &H264Add,
    ) -> Result<Self, String> {
        let mut p = template.cloned().unwrap_or_default();
        p.max_sps = max_sps;
        p.max_pps = max_pps;
        p.update_sequence = 0;
        for s in &add.sps {
            p.sps.insert(s.id, s.clone());
        }
        for q in &add.pps {
            p.pps.insert((q.sps_id, q.id), *q);
        }
        if count(p.sps.len()) > max_sps || count(p.pps.len()) > max_pps {
            return Err(format!(
                "{} SPS and {} PPS entries for a capacity of {max_sps} and {max_pps}",
                p.sps.len(),
                p.pps.len()
            ));
        }
        Ok(p)
    }

    /// `vkUpdateVideoSessionParametersKHR`: new keys only, the sequence count one more than the
    /// last.
    pub fn update(&mut self, sequence: u32, add: &H264Add) -> Result<(), String> {
        if sequence != self.update_sequence.wrapping_add(1) {
            return Err(format!(
                "updateSequenceCount {sequence}: the next is {} (VUID-vkUpdateVideoSessionParametersKHR-pUpdateInfo-07215)",
                self.update_sequence.wrapping_add(1)
            ));
        }
        if let Some(s) = add.sps.iter().find(|s| self.sps.contains_key(&s.id)) {
            return Err(format!("SPS {} is already in the object", s.id));
        }
        if let Some(q) = add
            .pps
            .iter()
            .find(|q| self.pps.contains_key(&(q.sps_id, q.id)))
        {
            return Err(format!(
                "PPS {} of SPS {} is already in the object",
                q.id, q.sps_id
            ));
        }
        let sps = self.sps.len() + add.sps.len();
        let pps = self.pps.len() + add.pps.len();
        if count(sps) > self.max_sps || count(pps) > self.max_pps {
            return Err(format!(
                "ERROR_TOO_MANY_OBJECTS {sps} SPS and {pps} PPS entries for a capacity of {} and {}",
                self.max_sps, self.max_pps
            ));
        }
        for s in &add.sps {
            self.sps.insert(s.id, s.clone());
        }
        for q in &add.pps {
            self.pps.insert((q.sps_id, q.id), *q);
        }
        self.update_sequence = sequence;
        Ok(())
    }

    /// `vkGetEncodedVideoSessionParametersKHR`: the SPS (when asked) then the PPS (when asked),
    /// as Annex-B NAL units. The driver overrides nothing.
    pub fn encoded(
        &self,
        write_sps: bool,
        write_pps: bool,
        sps_id: u8,
        pps_id: u8,
    ) -> Result<Vec<u8>, String> {
        if !write_sps && !write_pps {
            return Err(
                "neither writeStdSPS nor writeStdPPS is set (VUID-VkVideoEncodeH264SessionParametersGetInfoKHR-writeStdSPS-08279)"
                    .into(),
            );
        }
        let mut out = Vec::new();
        if write_sps {
            let s = self
                .sps
                .get(&sps_id)
                .ok_or_else(|| format!("no SPS {sps_id} in the object"))?;
            out.extend(s.nal());
        }
        if write_pps {
            let p = self
                .pps
                .get(&(sps_id, pps_id))
                .ok_or_else(|| format!("no PPS {pps_id} of SPS {sps_id} in the object"))?;
            out.extend(p.nal());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::{self, NVIDIA_RTX_4090};
    use ash::vk::native;

    fn request() -> SessionRequest {
        SessionRequest {
            queue_family: 1,
            flags: vk::VideoSessionCreateFlagsKHR::empty(),
            profile: Profile {
                operation: vk::VideoCodecOperationFlagsKHR::ENCODE_H264,
                chroma: vk::VideoChromaSubsamplingFlagsKHR::TYPE_420,
                luma: vk::VideoComponentBitDepthFlagsKHR::TYPE_8,
                chroma_depth: vk::VideoComponentBitDepthFlagsKHR::TYPE_8,
                std_profile_idc: Some(100),
            },
            picture_format: vk::Format::G8_B8R8_2PLANE_420_UNORM,
            max_coded_extent: (1920, 1088),
            reference_picture_format: vk::Format::G8_B8R8_2PLANE_420_UNORM,
            max_dpb_slots: 17,
            max_active_reference_pictures: 16,
            std_header: (caps::STD_H264_ENCODE_NAME.into(), caps::STD_VERSION_1_0_0),
            h264_max_level: None,
            av1_max_level: None,
            intra_refresh_mode: 0,
        }
    }

    fn ops() -> Option<vk::VideoCodecOperationFlagsKHR> {
        Some(NVIDIA_RTX_4090.encode_operations)
    }

    #[test]
    fn a_session_within_the_capabilities_is_accepted_and_each_limit_refused() {
        let t = &NVIDIA_RTX_4090;
        assert!(check(t, ops(), &request()).is_ok());
        let refused = |f: &dyn Fn(&mut SessionRequest), family_ops| {
            let mut r = request();
            f(&mut r);
            check(t, family_ops, &r).unwrap_err()
        };
        let e = refused(&|r| r.max_coded_extent = (4112, 1088), ops());
        assert_eq!(e.0, vk::Result::ERROR_VALIDATION_FAILED_EXT);
        assert_eq!(e.1, "maxCodedExtent 4112x1088 is outside the profile's 32x32 to 4096x4096 (VUID-VkVideoSessionCreateInfoKHR-maxCodedExtent-04851)");
        let e = refused(&|r| r.std_header.1 = caps::STD_VERSION_1_0_0 + 1, ops());
        assert_eq!(e.0, vk::Result::ERROR_VIDEO_STD_VERSION_NOT_SUPPORTED_KHR);
        let e = refused(&|r| r.profile.std_profile_idc = Some(244), ops());
        assert_eq!(e.0, vk::Result::ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR);
        assert!(refused(&|r| r.max_dpb_slots = 18, ops())
            .1
            .contains("04847"));
        assert!(refused(&|r| r.max_active_reference_pictures = 17, ops())
            .1
            .contains("04849"));
        assert!(refused(&|r| r.max_active_reference_pictures = 0, ops())
            .1
            .contains("both or neither"));
        assert!(refused(&|r| r.picture_format = vk::Format::R8_UNORM, ops())
            .1
            .contains("encodes from"));
        assert!(
            refused(&|_| {}, Some(vk::VideoCodecOperationFlagsKHR::NONE))
                .1
                .contains("does not do")
        );
    }

    #[test]
    fn memory_requirements_and_bindings() {
        let mut s = Session {
            request: request(),
            caps: check(&NVIDIA_RTX_4090, ops(), &request()).unwrap(),
            bound: BTreeMap::new(),
            coding: Default::default(),
            intra_refresh: None,
        };
        let reqs = memory_requirements(&s.request);
        // 120x68 macroblocks: 8160 * 256 bytes (a multiple of 4096); 8160 * 64 * 17 for the
        // DPB metadata, rounded up to 4096.
        assert_eq!(reqs[0].1.size, 2_088_960);
        assert_eq!(reqs[1].1.size, 8_880_128);
        assert_eq!(reqs[1].1.memory_type_bits, 0b110);
        let bind = Bind {
            index: 1,
            memory: 7,
            offset: 0,
            size: reqs[1].1.size,
            memory_size: 1 << 24,
            memory_type: 0,
        };
        assert!(s.bind(&bind).unwrap_err().contains("memoryTypeBits"));
        assert!(s
            .bind(&Bind {
                memory_type: 1,
                offset: 100,
                ..bind
            })
            .unwrap_err()
            .contains("not a multiple of 4096"));
        s.bind(&Bind {
            memory_type: 1,
            ..bind
        })
        .unwrap();
        assert!(s
            .bind(&Bind {
                memory_type: 1,
                ..bind
            })
            .unwrap_err()
            .contains("already bound"));
        assert!(s
            .bind(&Bind { index: 2, ..bind })
            .unwrap_err()
            .contains("memoryBindIndex 2"));
    }

    fn sps(id: u8) -> Sps {
        let std = native::StdVideoH264SequenceParameterSet {
            seq_parameter_set_id: id,
            profile_idc: 100,
            chroma_format_idc: 1,
            ..crate::h264::std_sps(crate::h264::no_sps_flags())
        };
        Sps::from_std(&std, &[], None).unwrap()
    }

    fn pps(sps_id: u8, id: u8) -> Pps {
        Pps::from_std(&native::StdVideoH264PictureParameterSet {
            seq_parameter_set_id: sps_id,
            pic_parameter_set_id: id,
            ..crate::h264::std_pps(crate::h264::no_pps_flags())
        })
        .unwrap()
    }

    #[test]
    fn parameters_are_created_updated_and_written_in_order() {
        let add = H264Add {
            sps: vec![sps(0)],
            pps: vec![pps(0, 0)],
        };
        let mut p = H264Params::create(None, 2, 2, &add).unwrap();
        let both = p.encoded(true, true, 0, 0).unwrap();
        let mut expected = sps(0).nal();
        expected.extend(pps(0, 0).nal());
        assert_eq!(both, expected);
        assert_eq!(p.encoded(false, true, 0, 0).unwrap(), pps(0, 0).nal());
        assert!(p
            .encoded(true, false, 1, 0)
            .unwrap_err()
            .contains("no SPS 1"));
        assert!(p
            .update(2, &H264Add::default())
            .unwrap_err()
            .contains("07215"));
        assert!(p.update(1, &add).unwrap_err().contains("SPS 0 is already"));
        let more = H264Add {
            sps: vec![sps(1)],
            pps: vec![pps(1, 0), pps(1, 1)],
        };
        assert!(p
            .update(1, &more)
            .unwrap_err()
            .starts_with("ERROR_TOO_MANY_OBJECTS"));
        let one = H264Add {
            sps: vec![sps(1)],
            pps: vec![pps(1, 3)],
        };
        p.update(1, &one).unwrap();
        assert_eq!(p.encoded(true, true, 1, 3).unwrap().len(), expected.len());
        let from_template = H264Params::create(Some(&p), 4, 4, &H264Add::default()).unwrap();
        assert_eq!(from_template.sps.len(), 2);
        assert!(H264Params::create(None, 0, 1, &add).is_err());
    }
}
