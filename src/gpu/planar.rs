//! A two-plane 4:2:0 picture in one Vulkan image (NV12, or P010 at 10 bits) that a compute
//! pass writes plane by plane: the image is made with `MUTABLE_FORMAT | EXTENDED_USAGE`, and
//! each plane has a storage view of a single- or two-channel UNORM format of its sample size
//! (R8 and R8G8, R16 and R16G16), which is what a multi-planar format allows a storage image.
//! The image names who reads it after the pass ([`PictureConsumer`]): the pass releases it to
//! that queue family in that layout. An encoder's input images are made this way, so that the
//! processing pass writes straight into them.

use std::sync::Arc;

use ash::vk;

use super::resources::GpuImage;
use super::{GpuContext, GpuError};
use crate::format::PixelFormat;

/// The queue family that reads a [`PlanarImage`] after a pass wrote it, and the layout it
/// reads it in: the pass ends with the image released to it (a queue-family ownership
/// transfer where the family is not the pass's own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PictureConsumer {
    /// The reader's queue family.
    pub family: u32,
    /// The layout the reader takes the image in.
    pub layout: vk::ImageLayout,
}

/// An NV12 or P010 picture image with a storage view of each plane (see the module docs).
pub struct PlanarImage {
    image: GpuImage,
    /// Storage views of the luma and CbCr planes.
    planes: [vk::ImageView; 2],
    format: PixelFormat,
    extent: (u32, u32),
    consumer: PictureConsumer,
}

impl std::fmt::Debug for PlanarImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanarImage")
            .field("format", &self.format)
            .field("extent", &self.extent)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

/// The multi-planar Vulkan format of a 4:2:0 two-plane picture and its planes' view formats.
fn formats(format: PixelFormat) -> Result<(vk::Format, [vk::Format; 2]), GpuError> {
    match format {
        PixelFormat::Nv12 => Ok((
            vk::Format::G8_B8R8_2PLANE_420_UNORM,
            [vk::Format::R8_UNORM, vk::Format::R8G8_UNORM],
        )),
        PixelFormat::P010 => Ok((
            vk::Format::G10X6_B10X6R10X6_2PLANE_420_UNORM_3PACK16,
            [vk::Format::R16_UNORM, vk::Format::R16G16_UNORM],
        )),
        other => Err(GpuError::Invalid {
            what: format!("a {other} picture image"),
            reason: "picture images are NV12 or P010 (two planes, 4:2:0)".into(),
        }),
    }
}

impl PlanarImage {
    /// The Vulkan format of a `format` (NV12 or P010) picture image.
    pub fn vk_format(format: PixelFormat) -> Result<vk::Format, GpuError> {
        formats(format).map(|(f, _)| f)
    }

    /// A `format` (NV12 or P010) picture of `extent` (even sizes) on `ctx`, for `usage` beside
    /// the storage its plane views are made for (transfer, sampling: video usages are made by
    /// the encoder, which has the profiles they need), read after each pass by `consumer` (a
    /// queue family of the context: its compute family or its video-encode family).
    pub fn new(
        ctx: &Arc<GpuContext>,
        format: PixelFormat,
        extent: (u32, u32),
        usage: vk::ImageUsageFlags,
        consumer: PictureConsumer,
    ) -> Result<Self, GpuError> {
        let video = vk::ImageUsageFlags::VIDEO_ENCODE_SRC_KHR
            | vk::ImageUsageFlags::VIDEO_ENCODE_DPB_KHR
            | vk::ImageUsageFlags::VIDEO_DECODE_DST_KHR
            | vk::ImageUsageFlags::VIDEO_DECODE_SRC_KHR
            | vk::ImageUsageFlags::VIDEO_DECODE_DPB_KHR;
        if usage.intersects(video) {
            return Err(GpuError::Invalid {
                what: format!("a picture image for {usage:?}"),
                reason: "video usages need the session's profiles: the encoder makes its own input images".into(),
            });
        }
        let families = [
            Some(ctx.queue_family),
            ctx.video_encode_family().map(|(f, _)| f),
        ];
        if !families.contains(&Some(consumer.family)) {
            return Err(GpuError::Invalid {
                what: format!("queue family {} as a picture's reader", consumer.family),
                reason: format!(
                    "the context's queues are of families {}",
                    families
                        .iter()
                        .flatten()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            });
        }
        Self::with_profiles(ctx, "picture image", format, extent, usage, None, consumer)
    }

    /// As [`PlanarImage::new`], for any usage: a video one with the session's `profiles`.
    pub(crate) fn with_profiles(
        ctx: &Arc<GpuContext>,
        name: &str,
        format: PixelFormat,
        extent: (u32, u32),
        usage: vk::ImageUsageFlags,
        profiles: Option<&mut vk::VideoProfileListInfoKHR<'_>>,
        consumer: PictureConsumer,
    ) -> Result<Self, GpuError> {
        let (vk_format, plane_formats) = formats(format)?;
        let (w, h) = extent;
        if w == 0 || h == 0 || w % 2 + h % 2 != 0 {
            return Err(GpuError::Invalid {
                what: format!("a {w}x{h} {format} picture image"),
                reason: "4:2:0 pictures have even, non-zero sizes".into(),
            });
        }
        // SAFETY: plain queries on the context's physical device.
        let features = |f: vk::Format| unsafe {
            ctx.instance
                .get_physical_device_format_properties(ctx.physical, f)
                .optimal_tiling_features
        };
        let storage = vk::FormatFeatureFlags::STORAGE_IMAGE;
        let missing = if features(vk_format).is_empty() {
            Some(format!("{vk_format:?} images"))
        } else {
            plane_formats
                .iter()
                .find(|&&f| !features(f).contains(storage))
                .map(|f| format!("storage images of {f:?} (a plane's view)"))
        };
        if let Some(missing) = missing {
            return Err(GpuError::Unsupported {
                what: format!("make a {format} picture image for a pass to write"),
                reason: format!("{} has no {missing}", ctx.device_info().name),
            });
        }
        let image = GpuImage::create(
            ctx,
            name,
            vk_format,
            extent,
            usage | vk::ImageUsageFlags::STORAGE,
            vk::ImageCreateFlags::MUTABLE_FORMAT | vk::ImageCreateFlags::EXTENDED_USAGE,
            profiles,
        )?;
        let mut this = Self {
            image,
            planes: [vk::ImageView::null(); 2],
            format,
            extent,
            consumer,
        };
        let aspects = [vk::ImageAspectFlags::PLANE_0, vk::ImageAspectFlags::PLANE_1];
        for (i, (aspect, view_format)) in aspects.into_iter().zip(plane_formats).enumerate() {
            let mut usage =
                vk::ImageViewUsageCreateInfo::default().usage(vk::ImageUsageFlags::STORAGE);
            let info = vk::ImageViewCreateInfo::default()
                .image(this.image.image)
                .view_type(vk::ImageViewType::TYPE_2D)
                .format(view_format)
                .subresource_range(
                    vk::ImageSubresourceRange::default()
                        .aspect_mask(aspect)
                        .level_count(1)
                        .layer_count(1),
                )
                .push_next(&mut usage);
            // SAFETY: the image is bound and was made MUTABLE_FORMAT | EXTENDED_USAGE with
            // STORAGE; the view's format is of its plane's size class; Drop destroys it.
            this.planes[i] = unsafe { ctx.device.create_image_view(&info, None) }
                .map_err(GpuError::vk("vkCreateImageView (a picture plane)"))?;
        }
        Ok(this)
    }

    /// NV12 or P010.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Width and height in pixels.
    pub fn extent(&self) -> (u32, u32) {
        self.extent
    }

    /// Who reads the image after a pass.
    pub fn consumer(&self) -> PictureConsumer {
        self.consumer
    }

    /// The image (for an application recording its own work on it between the pass and its
    /// reader, as the tests' stand-in pass does).
    pub fn image(&self) -> vk::Image {
        self.image.image
    }

    /// The view of the whole image in its own format (for the image's other uses).
    pub(crate) fn view(&self) -> vk::ImageView {
        self.image.view
    }

    /// The storage views of the luma and CbCr planes.
    pub(crate) fn planes(&self) -> [vk::ImageView; 2] {
        self.planes
    }

    #[cfg(any(feature = "test-support", feature = "bench"))]
    /// The picture's samples, read back with one waited-for submission: the luma rows, then the
    /// CbCr rows, each tightly packed (NV12: 1 byte a sample; P010: 2, little-endian). The
    /// image must have TRANSFER_SRC usage, be released to the context's compute family in
    /// TRANSFER_SRC_OPTIMAL (its [`PictureConsumer`]) and not be written meanwhile (a test
    /// and benchmark harness, feature `test-support`).
    pub fn download(&self) -> Result<Vec<u8>, GpuError> {
        let ctx = self.context();
        let wanted = PictureConsumer {
            family: ctx.queue_family,
            layout: vk::ImageLayout::TRANSFER_SRC_OPTIMAL,
        };
        if self.consumer != wanted {
            return Err(GpuError::Invalid {
                what: format!("reading back a picture image read by {:?}", self.consumer),
                reason: "make it for the compute family in TRANSFER_SRC_OPTIMAL".into(),
            });
        }
        let (w, h) = self.extent;
        let bytes = if self.format == PixelFormat::P010 {
            2
        } else {
            1
        };
        let luma = u64::from(w) * u64::from(h) * bytes;
        let regions = [
            super::conv::whole_plane(vk::ImageAspectFlags::PLANE_0, w, h),
            super::conv::whole_plane(vk::ImageAspectFlags::PLANE_1, w / 2, h / 2)
                .buffer_offset(luma),
        ];
        // SAFETY: the image is this context's, released to its compute family in
        // TRANSFER_SRC_OPTIMAL (checked above; the ring leaves it so after each pass) and the
        // caller reads it only between frames.
        unsafe {
            super::commands::download_image_once(
                ctx,
                self.image(),
                wanted.layout,
                &regions,
                luma * 3 / 2,
            )
        }
    }

    /// The context the image belongs to.
    pub(crate) fn context(&self) -> &Arc<GpuContext> {
        self.image.context()
    }
}

impl Drop for PlanarImage {
    fn drop(&mut self) {
        let d = &self.image.context().device;
        for view in self.planes {
            if view != vk::ImageView::null() {
                // SAFETY: the owner waited for every submission that used the image; the
                // image itself is destroyed after this (its field drops after Drop::drop).
                unsafe { d.destroy_image_view(view, None) };
            }
        }
    }
}
