//! DMA-BUF import: a compositor's or PipeWire's buffer becomes a Vulkan image without a copy
//! (VK_EXT_external_memory_dma_buf), and a [`GpuFrame`] the session reads in place.
//!
//! Single-plane RGB buffers are imported in two ways:
//! - the LINEAR layout (DRM format modifier 0), which every producer can be asked for: the image
//!   is `VK_IMAGE_TILING_LINEAR`, and the producer's stride must equal the driver's row pitch for
//!   that width (checked; a typed error names both);
//! - any other modifier through VK_EXT_image_drm_format_modifier: the modifier must be one the
//!   device lists for the format with sampling support and one memory plane (compressed
//!   layouts with a metadata plane are refused by name), the image is created with
//!   `VK_IMAGE_TILING_DRM_FORMAT_MODIFIER_EXT` and the producer's offset and stride as its
//!   explicit plane layout. Without the extension a tiled buffer is a
//!   [`GpuError::MissingExtension`]. No reachable driver has both DMA-BUF extensions (Mesa 25's
//!   lavapipe has only the first, the H200's driver neither), so this path is written to the
//!   specification and unexercised; docs/HARDWARE.md says so.
//!
//! Each read is a queue-family ownership transfer: acquired from the producer's side
//! (`VK_QUEUE_FAMILY_FOREIGN_EXT` when the device has VK_EXT_queue_family_foreign, else
//! `VK_QUEUE_FAMILY_EXTERNAL`) in `GENERAL`, released back to it in `GENERAL` — what keeps the
//! producer's pixels defined (an image that is merely transitioned from `UNDEFINED` may lose
//! them).
//!
//! Synchronisation is the producer's: a buffer is handed over after its writes are complete
//! (Wayland screencopy's `ready`, PipeWire's buffer dequeue), so the frame has no wait point.

use std::io::{Seek, SeekFrom};
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd};
use std::sync::Arc;

use ash::vk;

use super::{GpuContext, GpuError};
use crate::format::PixelFormat;
use crate::frame::{DmaBufLayout, GpuFrame};

/// The LINEAR DRM format modifier.
pub const DRM_FORMAT_MOD_LINEAR: u64 = 0;

const DMA_BUF: vk::ExternalMemoryHandleTypeFlags = vk::ExternalMemoryHandleTypeFlags::DMA_BUF_EXT;

/// A single-plane DMA-BUF as a producer describes it.
#[derive(Clone, Copy, Debug)]
pub struct DmaBuf<'fd> {
    /// The buffer's fd (borrowed: GhostStream imports a duplicate).
    pub fd: BorrowedFd<'fd>,
    /// The pixel format (RGBA8, BGRA8, RGB10A2 or RGBA16F).
    pub format: PixelFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The DRM format modifier: [`DRM_FORMAT_MOD_LINEAR`], or a tiled layout the device lists
    /// for the format (needs VK_EXT_image_drm_format_modifier).
    pub modifier: u64,
    /// Byte offset of the first row (of the first tile row, for a tiled layout) in the buffer.
    pub offset: u64,
    /// Bytes from one row (one tile row, for a tiled layout) to the next, as the producer
    /// reports it.
    pub stride: u64,
}

impl<'fd> DmaBuf<'fd> {
    /// The buffer in `fd` laid out as a frame's [`DmaBufLayout`] says.
    pub fn new(fd: BorrowedFd<'fd>, layout: DmaBufLayout) -> Self {
        Self {
            fd,
            format: layout.format,
            width: layout.width,
            height: layout.height,
            modifier: layout.modifier,
            offset: layout.offset,
            stride: layout.stride,
        }
    }
}

/// One DRM format modifier a device lists for a format (VK_EXT_image_drm_format_modifier).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DrmModifier {
    /// The modifier's value (vendor in the top byte; 0 is LINEAR).
    pub modifier: u64,
    /// Memory planes an image with it has (more than one: compression metadata).
    pub planes: u32,
    /// Whether images with it can be sampled (what the processing pass does).
    pub sampled: bool,
}

impl DrmModifier {
    /// Whether [`DmaBufImage::import`] takes buffers with this modifier (given the DMA-BUF
    /// extension): sampled, one memory plane.
    pub fn importable(&self) -> bool {
        self.sampled && self.planes == 1
    }
}

/// A DMA-BUF imported as a Vulkan image of the context's device.
pub struct DmaBufImage {
    ctx: Arc<GpuContext>,
    image: vk::Image,
    memory: vk::DeviceMemory,
    format: PixelFormat,
    width: u32,
    height: u32,
    foreign_family: u32,
}

impl std::fmt::Debug for DmaBufImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DmaBufImage")
            .field("format", &self.format)
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

impl DmaBufImage {
    /// Imports `buf`. Every mismatch is a typed error naming the value: a device without the
    /// extension, a format that is not an input format, a zero size, a stride shorter than a
    /// row, a buffer too small for its rows, a tiled modifier, a stride the driver cannot use
    /// for a linear image, an offset it cannot bind at.
    pub fn import(ctx: &Arc<GpuContext>, buf: &DmaBuf<'_>) -> Result<Self, GpuError> {
        ctx.require_extension(
            ash::ext::external_memory_dma_buf::NAME,
            "importing DMA-BUF frames (Wayland and PipeWire capture)",
        )?;
        let vk_format = super::conv::input_format(buf.format)?;
        let (w, h) = (buf.width, buf.height);
        let invalid = |what: String, reason: String| GpuError::Invalid { what, reason };
        if w == 0 || h == 0 {
            return Err(invalid(
                format!("DMA-BUF size {w}x{h}"),
                "both sides must be at least 1".into(),
            ));
        }
        let row = u64::from(w) * u64::from(buf.format.planes(1, 1)[0].bytes_per_pixel);
        if buf.stride < row {
            return Err(invalid(
                format!("DMA-BUF stride {}", buf.stride),
                format!("a {w}-pixel {} row needs {row} bytes", buf.format),
            ));
        }
        let tiled = buf.modifier != DRM_FORMAT_MOD_LINEAR;
        if tiled {
            ctx.require_extension(
                ash::ext::image_drm_format_modifier::NAME,
                "importing a tiled DMA-BUF (a modifier other than LINEAR; or ask the producer for LINEAR)",
            )?;
            check_modifier(
                buf.modifier,
                buf.format,
                &modifier_properties(ctx, vk_format),
            )?;
            check_importable(ctx, vk_format, buf)?;
        }
        let fd = buf
            .fd
            .try_clone_to_owned()
            .map_err(|e| invalid(format!("DMA-BUF fd {}", buf.fd.as_raw_fd()), e.to_string()))?;
        let mut file = std::fs::File::from(fd);
        let size = file
            .seek(SeekFrom::End(0))
            .map_err(|e| invalid(format!("DMA-BUF fd {}", buf.fd.as_raw_fd()), e.to_string()))?;
        // Checked: offset and stride come from the producer.
        let needed = buf
            .stride
            .checked_mul(u64::from(h) - 1)
            .and_then(|n| n.checked_add(buf.offset))
            .and_then(|n| n.checked_add(row));
        if needed.is_none_or(|n| n > size) {
            return Err(invalid(
                format!("DMA-BUF of {size} bytes"),
                format!(
                    "{w}x{h} rows at stride {} from offset {} need {} bytes",
                    buf.stride,
                    buf.offset,
                    needed.map_or("more than 2^64".to_string(), |n| n.to_string())
                ),
            ));
        }
        let fd = std::os::fd::OwnedFd::from(file);

        let d = &ctx.device;
        let mut external = vk::ExternalMemoryImageCreateInfo::default().handle_types(DMA_BUF);
        let plane = [vk::SubresourceLayout {
            offset: buf.offset,
            size: 0,
            row_pitch: buf.stride,
            array_pitch: 0,
            depth_pitch: 0,
        }];
        let mut explicit = vk::ImageDrmFormatModifierExplicitCreateInfoEXT::default()
            .drm_format_modifier(buf.modifier)
            .plane_layouts(&plane);
        let mut info = vk::ImageCreateInfo::default()
            .image_type(vk::ImageType::TYPE_2D)
            .format(vk_format)
            .extent(vk::Extent3D {
                width: w,
                height: h,
                depth: 1,
            })
            .mip_levels(1)
            .array_layers(1)
            .samples(vk::SampleCountFlags::TYPE_1)
            .tiling(vk::ImageTiling::LINEAR)
            .usage(vk::ImageUsageFlags::SAMPLED)
            .sharing_mode(vk::SharingMode::EXCLUSIVE)
            .initial_layout(vk::ImageLayout::UNDEFINED)
            .push_next(&mut external);
        if tiled {
            info = info
                .tiling(vk::ImageTiling::DRM_FORMAT_MODIFIER_EXT)
                .push_next(&mut explicit);
        }
        // SAFETY: a valid device and create info; destroyed on every failure below or in Drop.
        let image =
            unsafe { d.create_image(&info, None) }.map_err(GpuError::vk("vkCreateImage"))?;
        let destroy = || {
            // SAFETY: the image is unused (and unbound or bound to memory freed after it).
            unsafe { d.destroy_image(image, None) }
        };
        // SAFETY: the image was created on this device.
        let requirements = unsafe { d.get_image_memory_requirements(image) };
        // A linear image is bound at the producer's offset (its layout starts at 0); a modifier
        // image carries the offset in its explicit plane layout and is bound at 0.
        let bind_offset = if tiled { 0 } else { buf.offset };
        if !tiled {
            // SAFETY: a linear image of this device; subresource 0 exists.
            let layout = unsafe {
                d.get_image_subresource_layout(
                    image,
                    vk::ImageSubresource {
                        aspect_mask: vk::ImageAspectFlags::COLOR,
                        mip_level: 0,
                        array_layer: 0,
                    },
                )
            };
            if layout.row_pitch != buf.stride || layout.offset != 0 {
                destroy();
                return Err(GpuError::Unsupported {
                    what: format!("import a {w}x{h} linear DMA-BUF with stride {}", buf.stride),
                    reason: format!(
                        "the driver lays that image out at a row pitch of {} bytes (offset {}); ask the producer for that stride",
                        layout.row_pitch, layout.offset
                    ),
                });
            }
        }
        if bind_offset % requirements.alignment.max(1) != 0
            || bind_offset
                .checked_add(requirements.size)
                .is_none_or(|end| end > size)
        {
            destroy();
            return Err(GpuError::Unsupported {
                what: format!("bind a DMA-BUF image at offset {}", buf.offset),
                reason: format!(
                    "the driver needs {} bytes aligned to {} within the {size}-byte buffer",
                    requirements.size, requirements.alignment
                ),
            });
        }
        let loader = ash::khr::external_memory_fd::Device::new(&ctx.instance, d);
        let mut fd_props = vk::MemoryFdPropertiesKHR::default();
        // SAFETY: a valid dma-buf fd (it was sized above) and an enabled extension.
        let props =
            unsafe { loader.get_memory_fd_properties(DMA_BUF, fd.as_raw_fd(), &mut fd_props) };
        let type_bits = fd_props.memory_type_bits & requirements.memory_type_bits;
        if let Err(e) = props {
            destroy();
            return Err(GpuError::vk("vkGetMemoryFdPropertiesKHR")(e));
        }
        let Some(type_index) = (0..32).find(|i| type_bits & (1 << i) != 0) else {
            destroy();
            return Err(GpuError::Unsupported {
                what: "import this DMA-BUF for a sampled image".into(),
                reason: format!(
                    "no memory type is both the fd's ({:#x}) and the image's ({:#x})",
                    fd_props.memory_type_bits, requirements.memory_type_bits
                ),
            });
        };
        let mut import = vk::ImportMemoryFdInfoKHR::default()
            .handle_type(DMA_BUF)
            .fd(fd.as_raw_fd());
        let allocate = vk::MemoryAllocateInfo::default()
            .allocation_size(size)
            .memory_type_index(type_index)
            .push_next(&mut import);
        // SAFETY: the chain names a valid dma-buf fd; on success Vulkan owns that fd.
        let memory = match unsafe { d.allocate_memory(&allocate, None) } {
            Ok(m) => {
                // The import took the fd over: forget our handle without closing it.
                let _ = fd.into_raw_fd();
                m
            }
            Err(e) => {
                destroy();
                return Err(GpuError::Allocation {
                    what: format!("DMA-BUF import of {size} bytes"),
                    reason: format!("vkAllocateMemory: {e:?}"),
                });
            }
        };
        let this = Self {
            ctx: Arc::clone(ctx),
            image,
            memory,
            format: buf.format,
            width: w,
            height: h,
            foreign_family: if ctx.has_extension("VK_EXT_queue_family_foreign") {
                vk::QUEUE_FAMILY_FOREIGN_EXT
            } else {
                vk::QUEUE_FAMILY_EXTERNAL
            },
        };
        // SAFETY: the memory holds bind_offset + requirements.size bytes at the required
        // alignment (checked above) and is bound once.
        unsafe { d.bind_image_memory(image, memory, bind_offset) }
            .map_err(GpuError::vk("vkBindImageMemory"))?;
        Ok(this)
    }

    /// The DRM format modifiers the device lists for `format` images. Needs
    /// VK_EXT_image_drm_format_modifier (else [`GpuError::MissingExtension`]); capture offers the
    /// [`DrmModifier::importable`] ones to the producer in its format negotiation.
    pub fn modifiers(ctx: &GpuContext, format: PixelFormat) -> Result<Vec<DrmModifier>, GpuError> {
        ctx.require_extension(
            ash::ext::image_drm_format_modifier::NAME,
            "listing the DMA-BUF layouts (DRM format modifiers) the device reads",
        )?;
        let vk_format = super::conv::input_format(format)?;
        Ok(modifier_properties(ctx, vk_format)
            .iter()
            .map(|m| DrmModifier {
                modifier: m.drm_format_modifier,
                planes: m.drm_format_modifier_plane_count,
                sampled: m
                    .drm_format_modifier_tiling_features
                    .contains(vk::FormatFeatureFlags::SAMPLED_IMAGE),
            })
            .collect())
    }

    /// The image as a frame for a session on this context (`Session::open_on`): acquired from
    /// the producer in `GENERAL` and released back to it in `GENERAL` around the read.
    /// Producer writes between frames are the producer's to order (it hands the buffer over
    /// when its writes are done).
    ///
    /// # Safety
    /// This `DmaBufImage` must outlive the session's use of the frame (until the session is
    /// flushed, or its stream has returned the frame).
    pub unsafe fn frame(&self) -> GpuFrame {
        GpuFrame::foreign(
            self.image,
            self.format,
            self.width,
            self.height,
            self.foreign_family,
        )
    }
}

/// The DRM format modifiers [`DmaBufImage::import`] takes for `format` buffers on this
/// device, in order of preference: none without VK_EXT_external_memory_dma_buf (or for a
/// format the GPU path does not read); the device's importable tiled layouts (with
/// VK_EXT_image_drm_format_modifier) and then LINEAR, which every producer can write.
pub fn importable_modifiers(ctx: &GpuContext, format: PixelFormat) -> Vec<u64> {
    if !ctx.has_extension("VK_EXT_external_memory_dma_buf")
        || super::conv::input_format(format).is_err()
    {
        return Vec::new();
    }
    let mut list: Vec<u64> = DmaBufImage::modifiers(ctx, format)
        .map(|mods| {
            mods.iter()
                .filter(|m| m.importable() && m.modifier != DRM_FORMAT_MOD_LINEAR)
                .map(|m| m.modifier)
                .collect()
        })
        .unwrap_or_default();
    list.push(DRM_FORMAT_MOD_LINEAR);
    list
}

/// The DRM format modifiers the device lists for `format` (VK_EXT_image_drm_format_modifier).
fn modifier_properties(
    ctx: &GpuContext,
    format: vk::Format,
) -> Vec<vk::DrmFormatModifierPropertiesEXT> {
    let mut count = vk::DrmFormatModifierPropertiesListEXT::default();
    let mut props = vk::FormatProperties2::default().push_next(&mut count);
    // SAFETY: a valid physical device of this instance; the chain asks for the count only.
    unsafe {
        ctx.instance
            .get_physical_device_format_properties2(ctx.physical, format, &mut props)
    };
    let n = count.drm_format_modifier_count as usize;
    let mut list = vec![vk::DrmFormatModifierPropertiesEXT::default(); n];
    let mut filled =
        vk::DrmFormatModifierPropertiesListEXT::default().drm_format_modifier_properties(&mut list);
    let mut props = vk::FormatProperties2::default().push_next(&mut filled);
    // SAFETY: as above; the list has room for the count the driver reported.
    unsafe {
        ctx.instance
            .get_physical_device_format_properties2(ctx.physical, format, &mut props)
    };
    let written = filled.drm_format_modifier_count as usize;
    list.truncate(written);
    list
}

/// Whether a tiled buffer with `modifier` can be imported as `format`, given the device's list
/// for that format: the modifier must be listed, allow sampling, and have one memory plane
/// (layouts with a compression-metadata plane are not imported).
fn check_modifier(
    modifier: u64,
    format: PixelFormat,
    listed: &[vk::DrmFormatModifierPropertiesEXT],
) -> Result<(), GpuError> {
    let what = || format!("import {format} DMA-BUF modifier {modifier:#x}");
    let Some(entry) = listed.iter().find(|m| m.drm_format_modifier == modifier) else {
        let known: Vec<String> = listed
            .iter()
            .map(|m| format!("{:#x}", m.drm_format_modifier))
            .collect();
        return Err(GpuError::Unsupported {
            what: what(),
            reason: format!(
                "the device lists {} for {format}; ask the producer for one of them (or LINEAR)",
                if known.is_empty() {
                    "no modifiers".to_string()
                } else {
                    known.join(", ")
                }
            ),
        });
    };
    if !entry
        .drm_format_modifier_tiling_features
        .contains(vk::FormatFeatureFlags::SAMPLED_IMAGE)
    {
        return Err(GpuError::Unsupported {
            what: what(),
            reason:
                "the device cannot sample images with that modifier; ask the producer for LINEAR"
                    .into(),
        });
    }
    if entry.drm_format_modifier_plane_count != 1 {
        return Err(GpuError::Unsupported {
            what: what(),
            reason: format!(
                "that layout has {} memory planes (a compression-metadata plane); GhostStream imports one-plane buffers: ask the producer for a modifier without compression",
                entry.drm_format_modifier_plane_count
            ),
        });
    }
    Ok(())
}

/// Whether the device imports a sampled `buf.width` x `buf.height` image with `buf.modifier`
/// from a DMA-BUF (vkGetPhysicalDeviceImageFormatProperties2 with the modifier and handle type).
fn check_importable(
    ctx: &GpuContext,
    format: vk::Format,
    buf: &DmaBuf<'_>,
) -> Result<(), GpuError> {
    let mut modifier_info = vk::PhysicalDeviceImageDrmFormatModifierInfoEXT::default()
        .drm_format_modifier(buf.modifier)
        .sharing_mode(vk::SharingMode::EXCLUSIVE);
    let mut external_info =
        vk::PhysicalDeviceExternalImageFormatInfo::default().handle_type(DMA_BUF);
    let info = vk::PhysicalDeviceImageFormatInfo2::default()
        .format(format)
        .ty(vk::ImageType::TYPE_2D)
        .tiling(vk::ImageTiling::DRM_FORMAT_MODIFIER_EXT)
        .usage(vk::ImageUsageFlags::SAMPLED)
        .push_next(&mut modifier_info)
        .push_next(&mut external_info);
    let mut external = vk::ExternalImageFormatProperties::default();
    let mut props = vk::ImageFormatProperties2::default().push_next(&mut external);
    let what = || {
        format!(
            "import a {}x{} {} DMA-BUF with modifier {:#x}",
            buf.width, buf.height, buf.format, buf.modifier
        )
    };
    // SAFETY: a valid physical device; every chained structure outlives the call.
    let result = unsafe {
        ctx.instance
            .get_physical_device_image_format_properties2(ctx.physical, &info, &mut props)
    };
    if let Err(e) = result {
        return Err(GpuError::Unsupported {
            what: what(),
            reason: format!("the driver refuses that image ({e:?}); ask the producer for LINEAR"),
        });
    }
    let max = props.image_format_properties.max_extent;
    let importable = external
        .external_memory_properties
        .external_memory_features
        .contains(vk::ExternalMemoryFeatureFlags::IMPORTABLE);
    if !importable || buf.width > max.width || buf.height > max.height {
        return Err(GpuError::Unsupported {
            what: what(),
            reason: format!(
                "the driver imports such images up to {}x{} (importable: {importable})",
                max.width, max.height
            ),
        });
    }
    Ok(())
}

impl Drop for DmaBufImage {
    fn drop(&mut self) {
        // SAFETY: the owner waited for every frame read from the image (the session was flushed
        // or its stream dropped); the image goes before its memory.
        unsafe {
            self.ctx.device.destroy_image(self.image, None);
            self.ctx.device.free_memory(self.memory, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(
        modifier: u64,
        planes: u32,
        features: vk::FormatFeatureFlags,
    ) -> vk::DrmFormatModifierPropertiesEXT {
        vk::DrmFormatModifierPropertiesEXT {
            drm_format_modifier: modifier,
            drm_format_modifier_plane_count: planes,
            drm_format_modifier_tiling_features: features,
        }
    }

    const X_TILED: u64 = 0x0100_0000_0000_0001;
    const SAMPLED: vk::FormatFeatureFlags = vk::FormatFeatureFlags::SAMPLED_IMAGE;

    #[test]
    fn a_listed_sampled_one_plane_modifier_is_accepted() {
        let list = [listed(0, 1, SAMPLED), listed(X_TILED, 1, SAMPLED)];
        assert!(check_modifier(X_TILED, PixelFormat::Bgra8, &list).is_ok());
    }

    #[test]
    fn an_unlisted_modifier_names_the_listed_ones() {
        let list = [listed(0, 1, SAMPLED), listed(X_TILED, 1, SAMPLED)];
        let e = check_modifier(0x0100_0000_0000_0002, PixelFormat::Bgra8, &list).unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, GpuError::Unsupported { .. }), "{e:?}");
        assert!(text.contains("0x100000000000002"), "{text}");
        assert!(text.contains("0x0, 0x100000000000001"), "{text}");
        let e = check_modifier(X_TILED, PixelFormat::Rgba8, &[]).unwrap_err();
        assert!(e.to_string().contains("no modifiers"), "{e}");
    }

    #[test]
    fn compressed_and_unsampled_layouts_are_refused_by_name() {
        let list = [listed(X_TILED, 2, SAMPLED)];
        let e = check_modifier(X_TILED, PixelFormat::Bgra8, &list).unwrap_err();
        assert!(e.to_string().contains("2 memory planes"), "{e}");
        let list = [listed(X_TILED, 1, vk::FormatFeatureFlags::TRANSFER_SRC)];
        let e = check_modifier(X_TILED, PixelFormat::Bgra8, &list).unwrap_err();
        assert!(e.to_string().contains("cannot sample"), "{e}");
    }
}
