//! Images and image views: the NV12 (and P010) encode-input and reference pictures and the
//! single-plane formats a pass writes them through, laid out linearly in host memory plane by
//! plane, so that the encoder (and a test) can read each plane's rows.

use ash::vk;

use crate::video::{self, Profile};

/// Row pitch alignment of every plane.
pub const ROW_ALIGNMENT: u64 = 256;
/// Alignment of each plane's offset, of each array layer and of the image's memory.
pub const IMAGE_ALIGNMENT: u64 = 4096;

/// What `vkCreateImage` is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRequest {
    /// `imageType`.
    pub kind: vk::ImageType,
    /// `format`.
    pub format: vk::Format,
    /// `extent` (width, height, depth).
    pub extent: (u32, u32, u32),
    /// `mipLevels`.
    pub mip_levels: u32,
    /// `arrayLayers`.
    pub array_layers: u32,
    /// `samples`.
    pub samples: vk::SampleCountFlags,
    /// `tiling`.
    pub tiling: vk::ImageTiling,
    /// `usage`.
    pub usage: vk::ImageUsageFlags,
    /// `flags`.
    pub flags: vk::ImageCreateFlags,
    /// The profiles of a chained `VkVideoProfileListInfoKHR` (empty without one).
    pub profiles: Vec<Profile>,
}

/// One plane of one array layer in the image's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plane {
    /// Byte offset from the start of the image's binding.
    pub offset: u64,
    /// Bytes between rows.
    pub row_pitch: u64,
    /// Width and height in texels of the plane.
    pub size: (u32, u32),
    /// Bytes per texel.
    pub texel_bytes: u32,
}

/// Where an image's texels lie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The planes of layer 0 (other layers follow at `layer_pitch` strides).
    pub planes: Vec<Plane>,
    /// Bytes from one array layer to the next.
    pub layer_pitch: u64,
    /// The memory the image needs.
    pub size: u64,
}

/// Where an image (exclusive sharing) stands between queue families and layouts, as the
/// barriers executed so far moved it: the driver runs each submission when it is made, so a
/// release has run before its acquire is executed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ownership {
    /// The family that owns it: the one that last acquired it, or that moved it out of
    /// `UNDEFINED` (`None`: unused, or released and not acquired yet).
    pub family: Option<u32>,
    /// A release not acquired yet: (destination family, old layout, new layout).
    pub released: Option<(u32, vk::ImageLayout, vk::ImageLayout)>,
    /// The layout of the last transition (`UNDEFINED` at creation).
    pub layout: vk::ImageLayout,
}

impl Default for Ownership {
    fn default() -> Self {
        Self {
            family: None,
            released: None,
            layout: vk::ImageLayout::UNDEFINED,
        }
    }
}

/// The words a log line gives an image barrier's families and layouts.
fn transition_words(old: vk::ImageLayout, new: vk::ImageLayout) -> String {
    format!("layout={}->{}", old.as_raw(), new.as_raw())
}

impl Ownership {
    /// Runs one image barrier of a command buffer executing on `family` (`src` and `dst` as
    /// given, `QUEUE_FAMILY_IGNORED` where none): a layout transition on the owning family
    /// (or out of `UNDEFINED`, discarding the contents, on any), a release (on `src`) or an
    /// acquire (on `dst`, matching the release's families and layouts). The words of the
    /// ownership transfer's log line, `None` for a transition within one family.
    pub fn barrier(
        &mut self,
        family: u32,
        (old, new): (vk::ImageLayout, vk::ImageLayout),
        (src, dst): (u32, u32),
    ) -> Result<Option<String>, String> {
        let ignored = vk::QUEUE_FAMILY_IGNORED;
        let transfer = src != dst && src != ignored && dst != ignored;
        let discards = old == vk::ImageLayout::UNDEFINED;
        if !transfer {
            if !discards {
                if let Some((to, _, _)) = self.released {
                    return Err(format!(
                        "a layout transition on family {family} of an image released to family {to} and not acquired"
                    ));
                }
                if let Some(owner) = self.family.filter(|&f| f != family) {
                    return Err(format!(
                        "a layout transition keeping the contents on family {family} of an image family {owner} owns (no ownership transfer)"
                    ));
                }
            }
            if discards {
                self.released = None;
            }
            self.family = Some(family);
            self.layout = new;
            return Ok(None);
        }
        if family == src {
            if let Some(owner) = self.family.filter(|&f| f != src && !discards) {
                return Err(format!(
                    "a release from family {src} of an image family {owner} owns"
                ));
            }
            self.family = None;
            self.released = Some((dst, old, new));
            self.layout = new;
            return Ok(Some(format!(
                "release family={src} to={dst} {}",
                transition_words(old, new)
            )));
        }
        if family == dst {
            if self.released != Some((dst, old, new)) {
                return Err(format!(
                    "an acquire on family {dst} from family {src} ({}) with no matching release (pending: {:?})",
                    transition_words(old, new),
                    self.released
                ));
            }
            self.family = Some(dst);
            self.released = None;
            return Ok(Some(format!(
                "acquire family={dst} from={src} {}",
                transition_words(old, new)
            )));
        }
        Err(format!(
            "an ownership transfer from family {src} to {dst} executed on family {family}"
        ))
    }

    /// Checks that a command on `family` may read the image in one of `layouts`.
    pub fn check_use(&self, family: u32, layouts: &[vk::ImageLayout]) -> Result<(), String> {
        if let Some((to, _, _)) = self.released {
            return Err(format!(
                "the image was released to family {to} and not acquired (read on family {family})"
            ));
        }
        if let Some(owner) = self.family.filter(|&f| f != family) {
            return Err(format!(
                "the image is owned by family {owner}, read on family {family} (no ownership transfer)"
            ));
        }
        if !layouts.contains(&self.layout) {
            return Err(format!(
                "the image is in layout {:?}, read in {layouts:?}",
                self.layout
            ));
        }
        Ok(())
    }
}

/// The planes of a format: (bytes per texel, horizontal and vertical subsampling) each, or
/// `None` for a format the driver does not have.
pub fn planes_of(format: vk::Format) -> Option<&'static [(u32, u32, u32)]> {
    Some(match format {
        vk::Format::G8_B8R8_2PLANE_420_UNORM => &[(1, 1, 1), (2, 2, 2)],
        vk::Format::G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16 => &[(2, 1, 1), (4, 2, 2)],
        vk::Format::R8_UNORM => &[(1, 1, 1)],
        vk::Format::R8G8_UNORM | vk::Format::R16_UNORM => &[(2, 1, 1)],
        vk::Format::R16G16_UNORM | vk::Format::R8G8B8A8_UNORM | vk::Format::B8G8R8A8_UNORM => {
            &[(4, 1, 1)]
        }
        _ => return None,
    })
}

/// The single-plane format each plane of a multi-planar format is viewed as.
pub fn plane_format(format: vk::Format, plane: usize) -> Option<vk::Format> {
    let formats: &[vk::Format] = match format {
        vk::Format::G8_B8R8_2PLANE_420_UNORM => &[vk::Format::R8_UNORM, vk::Format::R8G8_UNORM],
        vk::Format::G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16 => &[
            vk::Format::R10X6_UNORM_PACK16,
            vk::Format::R10X6G10X6_UNORM_2PACK16,
        ],
        _ => &[],
    };
    formats.get(plane).copied()
}

fn align(n: u64, a: u64) -> u64 {
    n.div_ceil(a) * a
}

/// Checks a create info and lays the image out.
pub fn layout(r: &ImageRequest) -> Result<Layout, String> {
    let Some(planes) = planes_of(r.format) else {
        return Err(format!("ERROR_FORMAT_NOT_SUPPORTED format {:?}", r.format));
    };
    let (w, h, d) = r.extent;
    if r.kind != vk::ImageType::TYPE_2D || d != 1 || w == 0 || h == 0 {
        return Err(format!(
            "imageType {:?} extent {w}x{h}x{d}: the device makes 2D images of depth 1",
            r.kind
        ));
    }
    if r.mip_levels != 1 || r.array_layers == 0 || r.samples != vk::SampleCountFlags::TYPE_1 {
        return Err(format!(
            "mipLevels {} arrayLayers {} samples {:?}: one level, at least one layer, one sample",
            r.mip_levels, r.array_layers, r.samples
        ));
    }
    let video_usage = r.usage.intersects(
        vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR | vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR,
    );
    if video_usage {
        let Some(first) = r.profiles.first() else {
            return Err(format!(
                "usage {:#x} has video-encode bits but the chain has no VkVideoProfileListInfoKHR with a profile",
                r.usage.as_raw()
            ));
        };
        let format = video::picture_format(first);
        if r.format != format {
            return Err(format!(
                "format {:?}: the listed profile's pictures are {format:?}",
                r.format
            ));
        }
    }
    if planes.len() > 1 && (w % 2 != 0 || h % 2 != 0) {
        return Err(format!("a 4:2:0 image of odd extent {w}x{h}"));
    }
    let mut offset = 0;
    let mut out = Vec::new();
    for &(bytes, sx, sy) in planes {
        let size = (w / sx, h / sy);
        let row_pitch = align(u64::from(size.0) * u64::from(bytes), ROW_ALIGNMENT);
        out.push(Plane {
            offset,
            row_pitch,
            size,
            texel_bytes: bytes,
        });
        offset = align(offset + row_pitch * u64::from(size.1), IMAGE_ALIGNMENT);
    }
    Ok(Layout {
        planes: out,
        layer_pitch: offset,
        size: offset * u64::from(r.array_layers),
    })
}

/// Checks a view of an image created with `image`: the same format, or (with
/// `MUTABLE_FORMAT`) one plane of a multi-planar image as a format compatible with the
/// plane's (its plane format, or another single-plane format of the same texel size, which
/// is the same compatibility class among the driver's formats: R16_UNORM on P010's luma,
/// R16G16_UNORM on its chroma, as a pass writing 10-bit samples uses).
pub fn check_view(
    image: &ImageRequest,
    format: vk::Format,
    aspect: vk::ImageAspectFlags,
    layers: (u32, u32),
) -> Result<(), String> {
    let (base, count) = layers;
    let count = if count == vk::REMAINING_ARRAY_LAYERS {
        image.array_layers.saturating_sub(base)
    } else {
        count
    };
    if count == 0 || base.saturating_add(count) > image.array_layers {
        return Err(format!(
            "layers {base}+{count} of an image with {}",
            image.array_layers
        ));
    }
    let plane = [
        vk::ImageAspectFlags::PLANE_0,
        vk::ImageAspectFlags::PLANE_1,
        vk::ImageAspectFlags::PLANE_2,
    ]
    .iter()
    .position(|p| *p == aspect);
    if format == image.format && (aspect == vk::ImageAspectFlags::COLOR || plane.is_none()) {
        return Ok(());
    }
    if let Some(i) = plane {
        let texel = |f: vk::Format| match planes_of(f) {
            Some(&[(bytes, 1, 1)]) => Some(bytes),
            _ => None,
        };
        let compatible = plane_format(image.format, i).is_some_and(|p| {
            p == format
                || texel(format).is_some_and(|t| {
                    planes_of(image.format)
                        .and_then(|planes| planes.get(i))
                        .map(|pl| pl.0)
                        == Some(t)
                })
        });
        if compatible && image.flags.contains(vk::ImageCreateFlags::MUTABLE_FORMAT) {
            return Ok(());
        }
    }
    Err(format!(
        "a {format:?} view of aspect {:#x} of a {:?} image (flags {:#x}): views are the image's format, or a plane's format on a MUTABLE_FORMAT image",
        aspect.as_raw(),
        image.format,
        image.flags.as_raw()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nv12(usage: vk::ImageUsageFlags, profiles: Vec<Profile>) -> ImageRequest {
        ImageRequest {
            kind: vk::ImageType::TYPE_2D,
            format: vk::Format::G8_B8R8_2PLANE_420_UNORM,
            extent: (1920, 1088, 1),
            mip_levels: 1,
            array_layers: 1,
            samples: vk::SampleCountFlags::TYPE_1,
            tiling: vk::ImageTiling::OPTIMAL,
            usage,
            flags: vk::ImageCreateFlags::MUTABLE_FORMAT | vk::ImageCreateFlags::EXTENDED_USAGE,
            profiles,
        }
    }

    fn high() -> Profile {
        Profile {
            operation: vk::VideoCodecOperationFlagsKHR::ENCODE_H264,
            chroma: vk::VideoChromaSubsamplingFlagsKHR::TYPE_420,
            luma: vk::VideoComponentBitDepthFlagsKHR::TYPE_8,
            chroma_depth: vk::VideoComponentBitDepthFlagsKHR::TYPE_8,
            std_profile_idc: Some(100),
        }
    }

    #[test]
    fn nv12_lays_out_luma_then_interleaved_chroma() {
        let l = layout(&nv12(
            vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR,
            vec![high()],
        ))
        .unwrap();
        // Rows of 1920 bytes padded to 2048; 2048 * 1088 is a multiple of 4096.
        assert_eq!(l.planes[0].row_pitch, 2048);
        assert_eq!(l.planes[0].size, (1920, 1088));
        assert_eq!(l.planes[1].offset, 2_228_224);
        assert_eq!(
            (l.planes[1].row_pitch, l.planes[1].size),
            (2048, (960, 544))
        );
        assert_eq!(l.size, 2_228_224 + 1_114_112);
    }

    #[test]
    fn video_usage_needs_a_profile_list_of_the_same_format() {
        assert!(
            layout(&nv12(vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR, vec![]))
                .unwrap_err()
                .contains("no VkVideoProfileListInfoKHR")
        );
        let mut r = nv12(vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR, vec![high()]);
        r.format = vk::Format::R8_UNORM;
        assert!(layout(&r).unwrap_err().contains("pictures are"));
    }

    fn p010(usage: vk::ImageUsageFlags, profiles: Vec<Profile>) -> ImageRequest {
        ImageRequest {
            format: vk::Format::G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16,
            extent: (64, 48, 1),
            ..nv12(usage, profiles)
        }
    }

    fn main10() -> Profile {
        Profile {
            operation: vk::VideoCodecOperationFlagsKHR::ENCODE_H265,
            luma: vk::VideoComponentBitDepthFlagsKHR::TYPE_10,
            chroma_depth: vk::VideoComponentBitDepthFlagsKHR::TYPE_10,
            std_profile_idc: Some(2),
            ..high()
        }
    }

    #[test]
    fn p010_lays_out_two_byte_luma_then_four_byte_chroma_pairs() {
        let l = layout(&p010(
            vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR,
            vec![main10()],
        ))
        .unwrap();
        // 64 luma words: 128 bytes, padded to 256; 48 rows are 12288 bytes (3 pages). 32 CbCr
        // pairs of 4 bytes: 128 bytes, padded to 256, 24 rows.
        assert_eq!(
            l.planes,
            [
                Plane {
                    offset: 0,
                    row_pitch: 256,
                    size: (64, 48),
                    texel_bytes: 2
                },
                Plane {
                    offset: 12288,
                    row_pitch: 256,
                    size: (32, 24),
                    texel_bytes: 4
                }
            ]
        );
        assert_eq!(l.size, 12288 + 8192);
        // A 10-bit profile's pictures are P010, not NV12 (and an 8-bit profile's not P010).
        let mut r = p010(vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR, vec![main10()]);
        r.format = vk::Format::G8_B8R8_2PLANE_420_UNORM;
        assert_eq!(
            layout(&r).unwrap_err(),
            "format G8_B8R8_2PLANE_420_UNORM: the listed profile's pictures are G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16"
        );
        let r = p010(vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR, vec![high()]);
        assert!(layout(&r).unwrap_err().contains("pictures are G8_B8R8"));
    }

    #[test]
    fn p010_planes_take_views_of_their_compatibility_class() {
        let r = p010(vk::ImageUsageFlags::STORAGE, vec![]);
        let (p0, p1) = (vk::ImageAspectFlags::PLANE_0, vk::ImageAspectFlags::PLANE_1);
        for (format, aspect) in [
            (vk::Format::R10X6_UNORM_PACK16, p0),
            (vk::Format::R16_UNORM, p0),
            (vk::Format::R10X6G10X6_UNORM_2PACK16, p1),
            (vk::Format::R16G16_UNORM, p1),
        ] {
            assert_eq!(check_view(&r, format, aspect, (0, 1)), Ok(()), "{format:?}");
        }
        for (format, aspect) in [
            (vk::Format::R8_UNORM, p0),
            (vk::Format::R16G16_UNORM, p0),
            (vk::Format::R16_UNORM, p1),
        ] {
            assert!(
                check_view(&r, format, aspect, (0, 1)).is_err(),
                "{format:?}"
            );
        }
    }

    #[test]
    fn ownership_moves_by_a_release_and_its_matching_acquire() {
        let (general, src) = (
            vk::ImageLayout::GENERAL,
            vk::ImageLayout::VIDEO_ENCODE_SRC_KHR,
        );
        let undefined = vk::ImageLayout::UNDEFINED;
        let ignored = vk::QUEUE_FAMILY_IGNORED;
        let mut o = Ownership::default();
        // Out of UNDEFINED on the compute family (0): it owns the image.
        assert_eq!(
            o.barrier(0, (undefined, general), (ignored, ignored)),
            Ok(None)
        );
        assert_eq!(o.family, Some(0));
        // Read on the encode family (1) without a transfer: refused.
        assert!(o
            .check_use(1, &[general])
            .unwrap_err()
            .contains("owned by family 0"));
        // The release on 0, then the acquire on 1.
        assert_eq!(
            o.barrier(0, (general, src), (0, 1)).unwrap().unwrap(),
            "release family=0 to=1 layout=1->1000299001"
        );
        assert!(o.check_use(1, &[src]).unwrap_err().contains("not acquired"));
        // An acquire with other layouts does not match the release.
        assert!(o
            .barrier(1, (vk::ImageLayout::TRANSFER_DST_OPTIMAL, src), (0, 1))
            .unwrap_err()
            .contains("no matching release"));
        assert_eq!(
            o.barrier(1, (general, src), (0, 1)).unwrap().unwrap(),
            "acquire family=1 from=0 layout=1->1000299001"
        );
        assert_eq!(o.check_use(1, &[src]), Ok(()));
        assert!(o.check_use(1, &[general]).unwrap_err().contains("layout"));
        // A transfer between two families executed on a third is refused; discarding the
        // contents takes the image on any family.
        assert!(o.barrier(2, (src, general), (0, 1)).is_err());
        assert_eq!(
            o.barrier(0, (undefined, general), (ignored, ignored)),
            Ok(None)
        );
        assert_eq!(o.family, Some(0));
    }

    #[test]
    fn plane_views_need_a_mutable_image() {
        let mut r = nv12(vk::ImageUsageFlags::STORAGE, vec![]);
        let p1 = vk::ImageAspectFlags::PLANE_1;
        assert!(check_view(&r, vk::Format::R8G8_UNORM, p1, (0, 1)).is_ok());
        assert!(check_view(&r, vk::Format::R8_UNORM, p1, (0, 1)).is_err());
        assert!(check_view(&r, r.format, vk::ImageAspectFlags::COLOR, (0, 2)).is_err());
        r.flags = vk::ImageCreateFlags::empty();
        assert!(check_view(&r, vk::Format::R8G8_UNORM, p1, (0, 1)).is_err());
    }
}
