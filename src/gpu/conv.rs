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
    vk::BufferImageCopy::default()
        .image_subresource(vk::ImageSubresourceLayers {
            aspect_mask: vk::ImageAspectFlags::COLOR,
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
