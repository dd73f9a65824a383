//! The AV1 encode rules the driver checks: the valid usage of `vkCmdEncodeVideoKHR` with an
//! AV1 session (VUID-vkCmdEncodeVideoKHR-*-10317 … 10350 and those of
//! `VkVideoEncodeAV1PictureInfoKHR`) against the profile's capabilities, the AV1 rate control
//! structures' (VUID-VkVideoEncodeAV1RateControl*-10294 … 10304), and the quantizer index a
//! frame is coded with.

use ash::vk;
use ash::vk::native;

use crate::av1::{StdVideoEncodeAV1PictureInfoFlags as PicFlags, STD_VIDEO_AV1_PRIMARY_REF_NONE};
use crate::caps::{self, Av1Caps};
use crate::command::{Av1Picture, Encode, QIndexBounds, RateControl};

/// `VK_VIDEO_ENCODE_AV1_PREDICTION_MODE_*_KHR`.
const INTRA_ONLY: i32 = 0;
const SINGLE_REFERENCE: i32 = 1;
const UNIDIRECTIONAL_COMPOUND: i32 = 2;
const BIDIRECTIONAL_COMPOUND: i32 = 3;

fn vuid(text: String, id: &str) -> String {
    format!("{text} (VUID-{id})")
}

/// Checks an AV1 encode when it is recorded: the picture information against the profile's
/// capabilities, the reference names against the reference slots, the slots' AV1 reference
/// information.
pub(crate) fn check_encode(caps: &Av1Caps, e: &Encode, p: &Av1Picture) -> Result<(), String> {
    let pic = &p.picture.0;
    if !(INTRA_ONLY..=BIDIRECTIONAL_COMPOUND).contains(&p.prediction_mode) {
        return Err(vuid(
            format!("predictionMode {}", p.prediction_mode),
            "VkVideoEncodeAV1PictureInfoKHR-predictionMode-parameter",
        ));
    }
    if !(0..=2).contains(&p.rate_control_group) {
        return Err(vuid(
            format!("rateControlGroup {}", p.rate_control_group),
            "VkVideoEncodeAV1PictureInfoKHR-rateControlGroup-parameter",
        ));
    }
    if p.primary_reference_cdf_only
        && caps.flags & caps::AV1_CAPABILITY_PRIMARY_REFERENCE_CDF_ONLY == 0
    {
        return Err(vuid(
            "primaryReferenceCdfOnly without the profile's PRIMARY_REFERENCE_CDF_ONLY capability"
                .into(),
            "VkVideoEncodeAV1PictureInfoKHR-flags-10289",
        ));
    }
    if p.primary_reference_cdf_only && pic.primary_ref_frame >= STD_VIDEO_AV1_PRIMARY_REF_NONE {
        return Err(vuid(
            format!(
                "primaryReferenceCdfOnly with primary_ref_frame {}",
                pic.primary_ref_frame
            ),
            "VkVideoEncodeAV1PictureInfoKHR-primaryReferenceCdfOnly-10290",
        ));
    }
    if let Some(slot) = p
        .reference_name_slot_indices
        .get(usize::from(pic.primary_ref_frame))
    {
        if *slot < 0 {
            return Err(vuid(
                format!(
                    "primary_ref_frame {} names referenceNameSlotIndices[{}] = {slot}",
                    pic.primary_ref_frame, pic.primary_ref_frame
                ),
                "VkVideoEncodeAV1PictureInfoKHR-pStdPictureInfo-10291",
            ));
        }
    }
    if p.generate_obu_extension_header
        && caps.flags & caps::AV1_CAPABILITY_GENERATE_OBU_EXTENSION_HEADER == 0
    {
        return Err(vuid(
            "generateObuExtensionHeader without the profile's GENERATE_OBU_EXTENSION_HEADER capability".into(),
            "VkVideoEncodeAV1PictureInfoKHR-flags-10292",
        ));
    }
    if p.generate_obu_extension_header && p.layer.is_none() {
        return Err(vuid(
            "generateObuExtensionHeader with pStdPictureInfo->pExtensionHeader NULL".into(),
            "VkVideoEncodeAV1PictureInfoKHR-generateObuExtensionHeader-10293",
        ));
    }
    let frame_type = pic.frame_type;
    let intra_type = frame_type == native::StdVideoAV1FrameType_STD_VIDEO_AV1_FRAME_TYPE_KEY
        || frame_type == native::StdVideoAV1FrameType_STD_VIDEO_AV1_FRAME_TYPE_INTRA_ONLY;
    if (p.prediction_mode == INTRA_ONLY) != intra_type {
        let id = if p.prediction_mode == INTRA_ONLY {
            "vkCmdEncodeVideoKHR-predictionMode-10326"
        } else {
            "vkCmdEncodeVideoKHR-pStdPictureInfo-10327"
        };
        return Err(vuid(
            format!(
                "predictionMode {} with frame_type {frame_type}: KEY and INTRA_ONLY frames, and only they, use INTRA_ONLY prediction",
                p.prediction_mode
            ),
            id,
        ));
    }
    let offered = [
        (
            SINGLE_REFERENCE,
            caps.max_single_reference_count,
            "SINGLE_REFERENCE",
            "vkCmdEncodeVideoKHR-maxSingleReferenceCount-10328",
        ),
        (
            UNIDIRECTIONAL_COMPOUND,
            caps.max_unidirectional_compound_reference_count,
            "UNIDIRECTIONAL_COMPOUND",
            "vkCmdEncodeVideoKHR-maxUnidirectionalCompoundReferenceCount-10330",
        ),
        (
            BIDIRECTIONAL_COMPOUND,
            caps.max_bidirectional_compound_reference_count,
            "BIDIRECTIONAL_COMPOUND",
            "vkCmdEncodeVideoKHR-maxBidirectionalCompoundReferenceCount-10332",
        ),
    ];
    for (mode, count, name, id) in offered {
        if p.prediction_mode == mode && count == 0 {
            return Err(vuid(
                format!(
                    "predictionMode {name}: the profile offers none (its reference count is 0)"
                ),
                id,
            ));
        }
    }
    let cdf_only = p
        .primary_reference_cdf_only
        .then_some(usize::from(pic.primary_ref_frame));
    if p.prediction_mode == SINGLE_REFERENCE {
        let usable = p
            .reference_name_slot_indices
            .iter()
            .enumerate()
            .any(|(i, s)| {
                *s >= 0 && Some(i) != cdf_only && caps.single_reference_name_mask >> i & 1 == 1
            });
        if !usable {
            return Err(vuid(
                format!(
                    "SINGLE_REFERENCE prediction with referenceNameSlotIndices {:?}: no reference name of singleReferenceNameMask {:#x} names a slot",
                    p.reference_name_slot_indices, caps.single_reference_name_mask
                ),
                "vkCmdEncodeVideoKHR-predictionMode-10329",
            ));
        }
    }
    for (i, s) in p.reference_name_slot_indices.iter().enumerate() {
        if *s >= 0 && !e.references.iter().any(|r| r.index == *s) {
            return Err(vuid(
                format!(
                    "referenceNameSlotIndices[{i}] = {s} is not the slotIndex of a pReferenceSlots element ({:?})",
                    e.references.iter().map(|r| r.index).collect::<Vec<_>>()
                ),
                "vkCmdEncodeVideoKHR-referenceNameSlotIndices-10334",
            ));
        }
    }
    for r in &e.references {
        if !p.reference_name_slot_indices.contains(&r.index) {
            return Err(vuid(
                format!(
                    "reference slot {} is named by no element of referenceNameSlotIndices {:?}",
                    r.index, p.reference_name_slot_indices
                ),
                "vkCmdEncodeVideoKHR-slotIndex-10335",
            ));
        }
    }
    let layers_ok = |(t, s): (u8, u8)| {
        u32::from(t) < caps.max_temporal_layer_count && u32::from(s) < caps.max_spatial_layer_count
    };
    if let Some(layer) = p.layer {
        if !layers_ok(layer) {
            return Err(vuid(
                format!(
                    "pExtensionHeader temporal_id {} / spatial_id {}: the profile has {} temporal and {} spatial layers",
                    layer.0, layer.1, caps.max_temporal_layer_count, caps.max_spatial_layer_count
                ),
                "vkCmdEncodeVideoKHR-pExtensionHeader-10336",
            ));
        }
    }
    if let Some(setup) = &e.setup {
        let Some(r) = &setup.av1 else {
            return Err(vuid(
                format!(
                    "the setup slot {} has no VkVideoEncodeAV1DpbSlotInfoKHR",
                    setup.index
                ),
                "vkCmdEncodeVideoKHR-pEncodeInfo-10318",
            ));
        };
        if r.layer.is_some() != p.layer.is_some() {
            return Err(vuid(
                "the setup slot's and the picture's pExtensionHeader are not both NULL or both given".into(),
                "vkCmdEncodeVideoKHR-pEncodeInfo-10338",
            ));
        }
        if let (Some(a), Some(b)) = (r.layer, p.layer) {
            if a != b {
                return Err(vuid(
                    format!("the setup slot's layer ids {a:?} are not the picture's {b:?}"),
                    "vkCmdEncodeVideoKHR-pEncodeInfo-10339",
                ));
            }
        }
    }
    for r in &e.references {
        let Some(info) = &r.av1 else {
            return Err(vuid(
                format!(
                    "reference slot {} has no VkVideoEncodeAV1DpbSlotInfoKHR",
                    r.index
                ),
                "vkCmdEncodeVideoKHR-pNext-10319",
            ));
        };
        if let Some(layer) = info.layer {
            if !layers_ok(layer) {
                return Err(vuid(
                    format!("reference slot {}'s layer ids {layer:?}", r.index),
                    "vkCmdEncodeVideoKHR-pExtensionHeader-10341",
                ));
            }
        }
        if caps.flags & caps::AV1_CAPABILITY_MOTION_VECTOR_SCALING == 0 {
            if let Some(pic) = &r.picture {
                if pic.extent != e.src.extent {
                    return Err(vuid(
                        format!(
                            "reference slot {}'s codedExtent {:?} is not the input's {:?} and the profile has no motion vector scaling",
                            r.index, pic.extent, e.src.extent
                        ),
                        "vkCmdEncodeVideoKHR-flags-10325",
                    ));
                }
            }
        }
    }
    if caps.flags & caps::AV1_CAPABILITY_FRAME_SIZE_OVERRIDE == 0
        && pic.flags.contains(PicFlags::FRAME_SIZE_OVERRIDE_FLAG)
    {
        return Err(vuid(
            "frame_size_override_flag without the profile's FRAME_SIZE_OVERRIDE capability".into(),
            "vkCmdEncodeVideoKHR-flags-10322",
        ));
    }
    if let Some(t) = &p.tile_info {
        let t = &t.0;
        let (cols, rows) = (u32::from(t.TileCols), u32::from(t.TileRows));
        let (w, h) = e.src.extent;
        let checks = [
            (cols == 0, "TileCols is 0", "10343"),
            (rows == 0, "TileRows is 0", "10344"),
            (
                cols > caps.max_tiles.0,
                "TileCols is over maxTiles.width",
                "10345",
            ),
            (
                rows > caps.max_tiles.1,
                "TileRows is over maxTiles.height",
                "10346",
            ),
        ];
        for (bad, what, id) in checks {
            if bad {
                return Err(vuid(
                    format!(
                        "pTileInfo: {what} ({cols}x{rows} tiles, maxTiles {:?})",
                        caps.max_tiles
                    ),
                    &format!("vkCmdEncodeVideoKHR-pTileInfo-{id}"),
                ));
            }
        }
        let (tw, th) = (w.div_ceil(cols), h.div_ceil(rows));
        if !(caps.min_tile_size.0..=caps.max_tile_size.0).contains(&tw) {
            return Err(vuid(
                format!(
                    "pTileInfo: tiles {tw} wide, outside {:?} .. {:?}",
                    caps.min_tile_size, caps.max_tile_size
                ),
                "vkCmdEncodeVideoKHR-pTileInfo-10347",
            ));
        }
        if !(caps.min_tile_size.1..=caps.max_tile_size.1).contains(&th) {
            return Err(vuid(
                format!(
                    "pTileInfo: tiles {th} high, outside {:?} .. {:?}",
                    caps.min_tile_size, caps.max_tile_size
                ),
                "vkCmdEncodeVideoKHR-pTileInfo-10348",
            ));
        }
    }
    if pic.flags.contains(PicFlags::SEGMENTATION_ENABLED) {
        return Err(vuid(
            "segmentation_enabled is set".into(),
            "vkCmdEncodeVideoKHR-pStdPictureInfo-10349",
        ));
    }
    if p.segmentation {
        return Err(vuid(
            "pSegmentation is not NULL".into(),
            "vkCmdEncodeVideoKHR-pStdPictureInfo-10350",
        ));
    }
    Ok(())
}

/// What a `VkVideoEncodeAV1RateControlInfoKHR` says about the stream's structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Av1RateStructure {
    pub(crate) flags: u32,
    pub(crate) gop_frame_count: u32,
    pub(crate) key_frame_period: u32,
    pub(crate) consecutive_bipredictive_frame_count: u32,
    pub(crate) temporal_layer_count: u32,
}

/// Checks the AV1 structures of a rate control change: the GOP structure (10294 … 10299), the
/// layer count (VUID-VkVideoEncodeRateControlInfoKHR-videoCodecOperation-10351) and each
/// layer's quantizer index bounds (10300 … 10304).
pub(crate) fn check_rate_control(
    caps: &Av1Caps,
    structure: Option<Av1RateStructure>,
    layers: usize,
    bounds: &[QIndexBounds],
) -> Result<(), String> {
    if let Some(s) = structure {
        let (regular, flat, dyadic) = (s.flags & 1 != 0, s.flags & 4 != 0, s.flags & 8 != 0);
        if (flat || dyadic) && !regular {
            return Err(vuid(
                format!("VkVideoEncodeAV1RateControlInfoKHR::flags {:#x}: a reference pattern without REGULAR_GOP", s.flags),
                "VkVideoEncodeAV1RateControlInfoKHR-flags-10294",
            ));
        }
        if flat && dyadic {
            return Err(vuid(
                "both reference patterns, flat and dyadic".into(),
                "VkVideoEncodeAV1RateControlInfoKHR-flags-10295",
            ));
        }
        if regular && s.gop_frame_count == 0 {
            return Err(vuid(
                "REGULAR_GOP with gopFrameCount 0".into(),
                "VkVideoEncodeAV1RateControlInfoKHR-flags-10296",
            ));
        }
        if s.key_frame_period != 0 && s.key_frame_period < s.gop_frame_count {
            return Err(vuid(
                format!(
                    "keyFramePeriod {} below gopFrameCount {}",
                    s.key_frame_period, s.gop_frame_count
                ),
                "VkVideoEncodeAV1RateControlInfoKHR-keyFramePeriod-10297",
            ));
        }
        if s.consecutive_bipredictive_frame_count != 0
            && s.consecutive_bipredictive_frame_count >= s.gop_frame_count
        {
            return Err(vuid(
                format!(
                    "consecutiveBipredictiveFrameCount {} not below gopFrameCount {}",
                    s.consecutive_bipredictive_frame_count, s.gop_frame_count
                ),
                "VkVideoEncodeAV1RateControlInfoKHR-consecutiveBipredictiveFrameCount-10298",
            ));
        }
        if s.temporal_layer_count > caps.max_temporal_layer_count {
            return Err(vuid(
                format!(
                    "temporalLayerCount {} over the profile's {}",
                    s.temporal_layer_count, caps.max_temporal_layer_count
                ),
                "VkVideoEncodeAV1RateControlInfoKHR-temporalLayerCount-10299",
            ));
        }
        if layers > 1 && u32::try_from(layers).ok() != Some(s.temporal_layer_count) {
            return Err(vuid(
                format!(
                    "{layers} rate control layers for temporalLayerCount {}",
                    s.temporal_layer_count
                ),
                "VkVideoEncodeRateControlInfoKHR-videoCodecOperation-10351",
            ));
        }
    }
    let per_group = caps.flags & caps::AV1_CAPABILITY_PER_RATE_CONTROL_GROUP_MIN_MAX_Q_INDEX != 0;
    let range = caps.min_q_index..=caps.max_q_index;
    for (i, (min, max)) in bounds.iter().enumerate() {
        let checks = [
            (min, "minQIndex", "useMinQIndex-10300", "useMinQIndex-10301"),
            (max, "maxQIndex", "useMaxQIndex-10302", "useMaxQIndex-10303"),
        ];
        for (q, name, in_range, same) in checks {
            let Some(q) = q else { continue };
            if !q.iter().all(|v| range.contains(v)) {
                return Err(vuid(
                    format!("layer {i}: {name} {q:?} outside the profile's {range:?}"),
                    &format!("VkVideoEncodeAV1RateControlLayerInfoKHR-{in_range}"),
                ));
            }
            if !per_group && (q[0] != q[1] || q[1] != q[2]) {
                return Err(vuid(
                    format!("layer {i}: {name} {q:?} differs per group without PER_RATE_CONTROL_GROUP_MIN_MAX_Q_INDEX"),
                    &format!("VkVideoEncodeAV1RateControlLayerInfoKHR-{same}"),
                ));
            }
        }
        if let (Some(a), Some(b)) = (min, max) {
            if a.iter().zip(b).any(|(x, y)| x > y) {
                return Err(vuid(
                    format!("layer {i}: minQIndex {a:?} above maxQIndex {b:?}"),
                    "VkVideoEncodeAV1RateControlLayerInfoKHR-useMinQIndex-10304",
                ));
            }
        }
    }
    Ok(())
}

/// The quantizer index of a frame: `constantQIndex` with rate control DISABLED (within the
/// profile's range, VUID-vkCmdEncodeVideoKHR-constantQIndex-10321), else (where
/// `constantQIndex` must be 0, 10320) the driver's rate control model: a fixed index per rate
/// control group (intra 96, predictive 112, bipredictive 128), clamped to the layer's bounds
/// and the profile's range.
pub(crate) fn q_index(caps: &Av1Caps, rate: &RateControl, p: &Av1Picture) -> Result<u8, String> {
    let range = caps.min_q_index..=caps.max_q_index;
    let q = if rate.mode == vk::VideoEncodeRateControlModeFlagsKHR::DISABLED {
        if !range.contains(&p.constant_q_index) {
            return Err(vuid(
                format!(
                    "constantQIndex {} with rate control DISABLED is outside the profile's {range:?}",
                    p.constant_q_index
                ),
                "vkCmdEncodeVideoKHR-constantQIndex-10321",
            ));
        }
        p.constant_q_index
    } else {
        if p.constant_q_index != 0 {
            return Err(vuid(
                format!(
                    "constantQIndex {} with rate control mode {:#x}: it is 0 unless rate control is DISABLED",
                    p.constant_q_index,
                    rate.mode.as_raw()
                ),
                "vkCmdEncodeVideoKHR-constantQIndex-10320",
            ));
        }
        let group = usize::try_from(p.rate_control_group).unwrap_or(0).min(2);
        let mut q = [96, 112, 128][group];
        if let Some(min) = rate.av1_q_index.0 {
            q = q.max(min[group]);
        }
        if let Some(max) = rate.av1_q_index.1 {
            q = q.min(max[group]);
        }
        q.clamp(caps.min_q_index, caps.max_q_index)
    };
    u8::try_from(q).map_err(|_| format!("quantizer index {q}"))
}
