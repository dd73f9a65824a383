//! Frames that are already on the GPU: a Vulkan image an application rendered or imported,
//! with the timeline-semaphore points that order GhostStream's reads against its writes.
//!
//! Plain data: the handles are `ash`'s `Copy` handle types, checked for what can be checked
//! without a device (null, size, layout, format). This module calls no Vulkan function; the
//! Vulkan layer (`crate::gpu`) is what reads the image and waits on and signals the points.

use ash::vk;

use crate::format::PixelFormat;

/// A GPU frame description that cannot be right whatever the device.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GpuFrameError {
    /// A value out of its range (a null handle, an empty size, an undefined layout).
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The value, as the caller gave it.
        what: String,
        /// Why it is refused, and what to pass instead.
        reason: String,
    },
    /// A pixel format the GPU pass does not read.
    #[error(
        "cannot process {format} input on the GPU: the GPU takes rgba8, bgra8, rgb10a2 or rgba16f"
    )]
    Format {
        /// The format.
        format: PixelFormat,
    },
}

/// A timeline semaphore and a value on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimelinePoint {
    /// A timeline semaphore (`VK_SEMAPHORE_TYPE_TIMELINE`) of the session's device.
    pub semaphore: vk::Semaphore,
    /// The value.
    pub value: u64,
}

/// A frame in a Vulkan image of the session's device.
///
/// GhostStream waits for [`wait`](Self::wait) (if any) before reading the image, moves it from
/// [`layout`](Self::layout) to `SHADER_READ_ONLY_OPTIMAL` for its compute pass and back to
/// `layout` afterwards, and signals [`release`](Self::release) (if any) once it has read it:
/// from then on the application may write the image again.
///
/// The wait happens on the CPU first, bounded by the session's `frame_wait_timeout_ms`, so that
/// a semaphore that is never signalled becomes a [`crate::gpu::GpuError::FrameNotReady`] rather than a queue
/// stuck forever; the submission then waits on the (already reached) value too, which is what
/// makes the application's writes visible to the pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpuFrame {
    image: vk::Image,
    format: PixelFormat,
    width: u32,
    height: u32,
    layout: vk::ImageLayout,
    owner_family: Option<u32>,
    wait: Option<TimelinePoint>,
    release: Option<TimelinePoint>,
}

impl GpuFrame {
    /// A frame in `image`, which holds `format` pixels (RGBA8, BGRA8, RGB10A2 or RGBA16F: the
    /// image's `VkFormat` is the matching `R8G8B8A8_UNORM`, `B8G8R8A8_UNORM`,
    /// `A2B10G10R10_UNORM_PACK32` or `R16G16B16A16_SFLOAT`) in `layout`.
    ///
    /// # Safety
    /// `image` must be a 2D, single-level, single-sample image of the device the frame is
    /// submitted to (its session's, or its `ConvertRing`'s), created with
    /// `VK_IMAGE_USAGE_SAMPLED_BIT`, of exactly `width` x `height`, usable by that device's
    /// queue family in use (the same family, or `VK_SHARING_MODE_CONCURRENT`), and alive and
    /// unwritten until the frame is released (its `release` point is signalled, or the session
    /// or ring has been flushed).
    pub unsafe fn new(
        image: vk::Image,
        format: PixelFormat,
        width: u32,
        height: u32,
        layout: vk::ImageLayout,
    ) -> Result<Self, GpuFrameError> {
        if !format.is_rgb() {
            return Err(GpuFrameError::Format { format });
        }
        if image == vk::Image::null() {
            return Err(GpuFrameError::Invalid {
                what: "GPU frame image".into(),
                reason: "the handle is VK_NULL_HANDLE".into(),
            });
        }
        if width == 0 || height == 0 {
            return Err(GpuFrameError::Invalid {
                what: format!("GPU frame size {width}x{height}"),
                reason: "both sides must be at least 1".into(),
            });
        }
        if matches!(
            layout,
            vk::ImageLayout::UNDEFINED | vk::ImageLayout::PREINITIALIZED
        ) {
            return Err(GpuFrameError::Invalid {
                what: format!("GPU frame layout {layout:?}"),
                reason: "an image in this layout holds no defined picture; pass the layout the application left it in (e.g. GENERAL, TRANSFER_DST_OPTIMAL, SHADER_READ_ONLY_OPTIMAL)".into(),
            });
        }
        Ok(Self {
            image,
            format,
            width,
            height,
            layout,
            owner_family: None,
            wait: None,
            release: None,
        })
    }

    /// A frame of an image GhostStream imported itself (checked on import) whose memory
    /// belongs to a producer outside this device's queues: owned by `owner_family`
    /// (`VK_QUEUE_FAMILY_FOREIGN_EXT` or `VK_QUEUE_FAMILY_EXTERNAL`) in `GENERAL` between reads.
    pub(crate) fn foreign(
        image: vk::Image,
        format: PixelFormat,
        width: u32,
        height: u32,
        owner_family: u32,
    ) -> Self {
        Self {
            image,
            format,
            width,
            height,
            layout: vk::ImageLayout::GENERAL,
            owner_family: Some(owner_family),
            wait: None,
            release: None,
        }
    }

    /// Read the image only once `point` is reached (the application signals it when its
    /// writes are submitted).
    ///
    /// # Safety
    /// `point.semaphore` must be a timeline semaphore (`VK_SEMAPHORE_TYPE_TIMELINE`) of the
    /// device the frame is submitted to (its session's, or its `ConvertRing`'s), alive until
    /// the frame has been read (its release point is signalled, or the session or ring has been
    /// flushed); the reader waits on it.
    pub unsafe fn wait_for(mut self, point: TimelinePoint) -> Self {
        self.wait = Some(point);
        self
    }

    /// Signal `point` once the session no longer reads the image.
    ///
    /// # Safety
    /// `point.semaphore` must be a timeline semaphore of the device the frame is submitted to
    /// (its session's, or its `ConvertRing`'s), alive until it is signalled (or the session or
    /// ring has been flushed), and `point.value` greater than any value it is signalled to
    /// before; the reader signals it.
    pub unsafe fn release_to(mut self, point: TimelinePoint) -> Self {
        self.release = Some(point);
        self
    }

    /// The image.
    pub fn image(&self) -> vk::Image {
        self.image
    }

    /// Its pixel format.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The layout the image is in when submitted.
    pub fn layout(&self) -> vk::ImageLayout {
        self.layout
    }

    /// The queue family that owns the image between reads when it is not this device's (an
    /// imported DMA-BUF): each read acquires it from that family and releases it back.
    pub fn owner_family(&self) -> Option<u32> {
        self.owner_family
    }

    /// The point waited for before reading.
    pub fn wait(&self) -> Option<TimelinePoint> {
        self.wait
    }

    /// The point signalled after reading.
    pub fn release(&self) -> Option<TimelinePoint> {
        self.release
    }
}
