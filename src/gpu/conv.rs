//! Mappings between GhostStream's types and Vulkan's, in one pure module: no device, no
//! `unsafe`, no calls; every other module of the Vulkan layer takes its formats, ranks and
//! regions from here.

use ash::vk;

use super::GpuError;
use crate::format::PixelFormat;

/// The Vulkan format sampled for an RGB input format.
pub(crate) fn input_format(format: PixelFormat) -> Result<vk::Format, GpuError> {
    match format {
        PixelFormat::Rgba8 => Ok(vk::Format::R8G8B8A8_UNORM),
        PixelFormat::Bgra8 => Ok(vk::Format::B8G8R8A8_UNORM),
        PixelFormat::Rgb10a2 => Ok(vk::Format::A2B10G10R10_UNORM_PACK32),
        PixelFormat::Rgba16f => Ok(vk::Format::R16G16B16A16_SFLOAT),
        other => Err(GpuError::Unsupported {
            what: format!("process {other} input"),
            reason: "the GPU takes rgba8, bgra8, rgb10a2 or rgba16f".into(),
        }),
    }
}

/// The image a CPU frame of `format` is uploaded into for processing: its Vulkan format and
/// extent. RGB formats are sampled as themselves; the YUV inputs the processing pass reads
/// (NV12, I420, P010, I444) go in as their tightly packed planes stacked in one
/// single-channel image as wide as the picture (R8, R16 for P010).
pub(crate) fn upload_image(
    format: PixelFormat,
    width: u32,
    height: u32,
) -> Result<(vk::Format, u32, u32), GpuError> {
    let stacked = |rows: u32| {
        height.checked_add(rows).ok_or(GpuError::Invalid {
            what: format!("size {width}x{height}"),
            reason: "too tall to stack its planes in one image".into(),
        })
    };
    match format {
        PixelFormat::Nv12 | PixelFormat::I420 | PixelFormat::P010 => {
            if width % 2 != 0 || height % 2 != 0 {
                return Err(GpuError::Invalid {
                    what: format!("{format} input of {width}x{height}"),
                    reason: "4:2:0 input has an even width and height".into(),
                });
            }
            let vk_format = if format == PixelFormat::P010 {
                vk::Format::R16_UNORM
            } else {
                vk::Format::R8_UNORM
            };
            Ok((vk_format, width, stacked(height / 2)?))
        }
        PixelFormat::I444 => Ok((vk::Format::R8_UNORM, width, stacked(2 * height)?)),
        other => Ok((input_format(other)?, width, height)),
    }
}

/// A device type's rank for automatic choice (lower is preferred) and its name.
pub(crate) fn kind_rank(t: vk::PhysicalDeviceType) -> (u32, &'static str) {
    match t {
        vk::PhysicalDeviceType::DISCRETE_GPU => (0, "discrete"),
        vk::PhysicalDeviceType::INTEGRATED_GPU => (1, "integrated"),
        vk::PhysicalDeviceType::VIRTUAL_GPU => (2, "virtual"),
        vk::PhysicalDeviceType::CPU => (3, "cpu"),
        _ => (4, "other"),
    }
}

/// The copy region of a whole single-level colour image.
pub(crate) fn whole_image(width: u32, height: u32) -> vk::BufferImageCopy {
    whole_plane(vk::ImageAspectFlags::COLOR, width, height)
}

/// The copy region of the whole `aspect` (a colour image, or one plane of a multi-planar one)
/// of a single-level image, `width` x `height` texels, from the buffer's start.
pub(crate) fn whole_plane(
    aspect: vk::ImageAspectFlags,
    width: u32,
    height: u32,
) -> vk::BufferImageCopy {
    vk::BufferImageCopy::default()
        .image_subresource(vk::ImageSubresourceLayers {
            aspect_mask: aspect,
            mip_level: 0,
            base_array_layer: 0,
            layer_count: 1,
        })
        .image_extent(vk::Extent3D {
            width,
            height,
            depth: 1,
        })
}

/// The whole colour subresource of a single-level, single-layer image.
pub(crate) fn color_range() -> vk::ImageSubresourceRange {
    vk::ImageSubresourceRange {
        aspect_mask: vk::ImageAspectFlags::COLOR,
        base_mip_level: 0,
        level_count: 1,
        base_array_layer: 0,
        layer_count: 1,
    }
}
