//! DMA-BUF import: a compositor's or PipeWire's buffer becomes a Vulkan image without a copy
//! (VK_EXT_external_memory_dma_buf), and a [`GpuFrame`] the session reads in place.
//!
//! This release imports single-plane RGB buffers with the LINEAR layout (DRM format modifier 0),
//! the layout every producer can be asked for: the image is `VK_IMAGE_TILING_LINEAR`, and the
//! producer's stride must equal the driver's row pitch for that width (checked; a typed error
//! names both). Each read is a queue-family ownership transfer: acquired from the producer's
//! side (`VK_QUEUE_FAMILY_FOREIGN_EXT` when the device has VK_EXT_queue_family_foreign, else
//! `VK_QUEUE_FAMILY_EXTERNAL`) in `GENERAL`, released back to it in `GENERAL` — what keeps the
//! producer's pixels defined (an image that is merely transitioned from `UNDEFINED` may lose
//! them). Tiled modifiers need VK_EXT_image_drm_format_modifier's explicit plane layouts:
//! without that extension they are a [`GpuError::MissingExtension`]; with it, not yet imported
//! here ([`GpuError::Unsupported`]), since no reachable driver has both extensions to test on.
//!
//! Synchronisation is the producer's: a buffer is handed over after its writes are complete
//! (Wayland screencopy's `ready`, PipeWire's buffer dequeue), so the frame has no wait point.

use std::io::{Seek, SeekFrom};
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd};
use std::sync::Arc;

use ash::vk;

use super::frame::GpuFrame;
use super::{GpuContext, GpuError};
use crate::format::PixelFormat;

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
    /// The DRM format modifier ([`DRM_FORMAT_MOD_LINEAR`] is imported).
    pub modifier: u64,
    /// Byte offset of the first row in the buffer.
    pub offset: u64,
    /// Bytes from one row to the next.
    pub stride: u64,
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
        let vk_format = super::convert::input_format(buf.format)?;
        let (w, h) = (buf.width, buf.height);
        let invalid = |what: String, reason: String| GpuError::Invalid { what, reason };
        if w == 0 || h == 0 {
            return Err(invalid(
                format!("DMA-BUF size {w}x{h}"),
                "both sides must be at least 1".into(),
            ));
        }
        let row = w as u64 * buf.format.planes(1, 1)[0].bytes_per_pixel as u64;
        if buf.stride < row {
            return Err(invalid(
                format!("DMA-BUF stride {}", buf.stride),
                format!("a {w}-pixel {} row needs {row} bytes", buf.format),
            ));
        }
        if buf.modifier != DRM_FORMAT_MOD_LINEAR {
            ctx.require_extension(
                ash::ext::image_drm_format_modifier::NAME,
                "importing a tiled DMA-BUF (a modifier other than LINEAR; or ask the producer for LINEAR)",
            )?;
            return Err(GpuError::Unsupported {
                what: format!("import DMA-BUF modifier {:#x}", buf.modifier),
                reason: "only LINEAR (0) buffers are imported in this release; ask the producer for LINEAR".into(),
            });
        }
        let fd = buf
            .fd
            .try_clone_to_owned()
            .map_err(|e| invalid(format!("DMA-BUF fd {}", buf.fd.as_raw_fd()), e.to_string()))?;
        let mut file = std::fs::File::from(fd);
        let size = file
            .seek(SeekFrom::End(0))
            .map_err(|e| invalid(format!("DMA-BUF fd {}", buf.fd.as_raw_fd()), e.to_string()))?;
        let needed = buf.offset + buf.stride * (h as u64 - 1) + row;
        if needed > size {
            return Err(invalid(
                format!("DMA-BUF of {size} bytes"),
                format!(
                    "{w}x{h} rows at stride {} from offset {} need {needed} bytes",
                    buf.stride, buf.offset
                ),
            ));
        }
        let fd = std::os::fd::OwnedFd::from(file);

        let d = &ctx.device;
        let mut external = vk::ExternalMemoryImageCreateInfo::default().handle_types(DMA_BUF);
        let info = vk::ImageCreateInfo::default()
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
        // SAFETY: a valid device and create info; destroyed on every failure below or in Drop.
        let image =
            unsafe { d.create_image(&info, None) }.map_err(GpuError::vk("vkCreateImage"))?;
        let destroy = || {
            // SAFETY: the image is unused (and unbound or bound to memory freed after it).
            unsafe { d.destroy_image(image, None) }
        };
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
        // SAFETY: the image was created on this device.
        let requirements = unsafe { d.get_image_memory_requirements(image) };
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
        if buf.offset % requirements.alignment.max(1) != 0 || buf.offset + requirements.size > size
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
        // SAFETY: the memory holds offset + requirements.size bytes at the required alignment
        // (checked above) and is bound once.
        unsafe { d.bind_image_memory(image, memory, buf.offset) }
            .map_err(GpuError::vk("vkBindImageMemory"))?;
        Ok(this)
    }

    /// The image as a frame for a session on this context (`GpuChoice::Shared`): acquired from
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
