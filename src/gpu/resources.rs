//! Buffers and images with their memory, freed when dropped.

use std::sync::Arc;

use ash::vk;
use gpu_allocator::vulkan::{Allocation, AllocationCreateDesc, AllocationScheme};
use gpu_allocator::MemoryLocation;

use super::{GpuContext, GpuError};

/// Allocates memory for `requirements` at `location`.
fn allocate(
    ctx: &GpuContext,
    name: &str,
    requirements: vk::MemoryRequirements,
    location: MemoryLocation,
    linear: bool,
) -> Result<Allocation, GpuError> {
    let failed = |reason: String| GpuError::Allocation {
        what: name.into(),
        reason,
    };
    ctx.allocator
        .lock()
        .map_err(|_| failed("allocator lock poisoned".into()))?
        .allocate(&AllocationCreateDesc {
            name,
            requirements,
            location,
            linear,
            allocation_scheme: AllocationScheme::GpuAllocatorManaged,
        })
        .map_err(|e| failed(e.to_string()))
}

/// A buffer and its memory.
pub(crate) struct GpuBuffer {
    ctx: Arc<GpuContext>,
    pub(crate) buffer: vk::Buffer,
    allocation: Option<Allocation>,
    pub(crate) size: u64,
}

impl GpuBuffer {
    /// A buffer of `size` bytes for `usage`, in memory at `location`.
    pub(crate) fn new(
        ctx: &Arc<GpuContext>,
        name: &str,
        size: u64,
        usage: vk::BufferUsageFlags,
        location: MemoryLocation,
    ) -> Result<Self, GpuError> {
        Self::for_video(ctx, name, size, usage, location, None)
    }

    /// As [`GpuBuffer::new`], for the video profiles in `profiles` where the usage is a video
    /// one (a bitstream buffer: `VIDEO_ENCODE_DST`).
    pub(crate) fn for_video(
        ctx: &Arc<GpuContext>,
        name: &str,
        size: u64,
        usage: vk::BufferUsageFlags,
        location: MemoryLocation,
        profiles: Option<&mut vk::VideoProfileListInfoKHR<'_>>,
    ) -> Result<Self, GpuError> {
        let mut info = vk::BufferCreateInfo::default()
            .size(size.max(4))
            .usage(usage)
            .sharing_mode(vk::SharingMode::EXCLUSIVE);
        if let Some(list) = profiles {
            info = info.push_next(list);
        }
        // SAFETY: a valid device and create info.
        let buffer = unsafe { ctx.device.create_buffer(&info, None) }
            .map_err(GpuError::vk("vkCreateBuffer"))?;
        // SAFETY: buffer was just created on this device.
        let requirements = unsafe { ctx.device.get_buffer_memory_requirements(buffer) };
        let allocation = match allocate(ctx, name, requirements, location, true) {
            Ok(a) => a,
            Err(e) => {
                // SAFETY: the buffer is unused and unbound.
                unsafe { ctx.device.destroy_buffer(buffer, None) };
                return Err(e);
            }
        };
        // SAFETY: the allocation satisfies the buffer's requirements and is bound once.
        let bound = unsafe {
            ctx.device
                .bind_buffer_memory(buffer, allocation.memory(), allocation.offset())
        };
        let this = Self {
            ctx: Arc::clone(ctx),
            buffer,
            allocation: Some(allocation),
            size,
        };
        bound.map_err(GpuError::vk("vkBindBufferMemory"))?;
        Ok(this)
    }

    /// The mapped bytes of a host-visible buffer.
    pub(crate) fn mapped(&self) -> Option<&[u8]> {
        let size = usize::try_from(self.size).ok()?;
        self.allocation.as_ref()?.mapped_slice().map(|s| &s[..size])
    }

    /// The mapped bytes of a host-visible buffer, writable.
    pub(crate) fn mapped_mut(&mut self) -> Option<&mut [u8]> {
        let size = usize::try_from(self.size).ok()?;
        self.allocation
            .as_mut()?
            .mapped_slice_mut()
            .map(|s| &mut s[..size])
    }
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        // SAFETY: the owner waited for every submission that used the buffer before dropping it.
        unsafe { self.ctx.device.destroy_buffer(self.buffer, None) };
        if let (Some(a), Ok(mut alloc)) = (self.allocation.take(), self.ctx.allocator.lock()) {
            let _ = alloc.free(a);
        }
    }
}

/// A 2D image, its memory and a view.
pub(crate) struct GpuImage {
    ctx: Arc<GpuContext>,
    pub(crate) image: vk::Image,
    pub(crate) view: vk::ImageView,
    allocation: Option<Allocation>,
}

impl GpuImage {
    /// An optimal-tiling image of `format` for `usage`, in device memory.
    pub(crate) fn new(
        ctx: &Arc<GpuContext>,
        name: &str,
        format: vk::Format,
        width: u32,
        height: u32,
        usage: vk::ImageUsageFlags,
    ) -> Result<Self, GpuError> {
        Self::for_video(ctx, name, format, (width, height), usage, None)
    }

    /// As [`GpuImage::new`], for the video profiles in `profiles` where the usage is a video
    /// one (an encode input `VIDEO_ENCODE_SRC`, a reference picture `VIDEO_ENCODE_DPB`).
    pub(crate) fn for_video(
        ctx: &Arc<GpuContext>,
        name: &str,
        format: vk::Format,
        (width, height): (u32, u32),
        usage: vk::ImageUsageFlags,
        profiles: Option<&mut vk::VideoProfileListInfoKHR<'_>>,
    ) -> Result<Self, GpuError> {
        Self::create(
            ctx,
            name,
            format,
            (width, height),
            usage,
            vk::ImageCreateFlags::empty(),
            profiles,
        )
    }

    /// As [`GpuImage::for_video`], with `layers` array layers (at least one) and its view a
    /// `2D_ARRAY` one over all of them: the decoded picture buffer of a device that keeps every
    /// reference picture in one image, each slot a layer a picture resource names with
    /// `baseArrayLayer`.
    pub(crate) fn layered_for_video(
        ctx: &Arc<GpuContext>,
        name: &str,
        format: vk::Format,
        size: (u32, u32),
        layers: u32,
        usage: vk::ImageUsageFlags,
        profiles: Option<&mut vk::VideoProfileListInfoKHR<'_>>,
    ) -> Result<Self, GpuError> {
        Self::make(
            ctx,
            name,
            format,
            size,
            (usage, vk::ImageCreateFlags::empty()),
            layers.max(1),
            profiles,
        )
    }

    /// As [`GpuImage::for_video`], made with `flags`. With `EXTENDED_USAGE`, the image's own
    /// view is for `usage` less `STORAGE` (the usage its format may lack, which views of other
    /// formats carry: a picture's plane views).
    pub(crate) fn create(
        ctx: &Arc<GpuContext>,
        name: &str,
        format: vk::Format,
        (width, height): (u32, u32),
        usage: vk::ImageUsageFlags,
        flags: vk::ImageCreateFlags,
        profiles: Option<&mut vk::VideoProfileListInfoKHR<'_>>,
    ) -> Result<Self, GpuError> {
        Self::make(
            ctx,
            name,
            format,
            (width, height),
            (usage, flags),
            1,
            profiles,
        )
    }

    /// The image of [`GpuImage::create`] with `layers` array layers, its view over all of them
    /// (`2D` for one layer, `2D_ARRAY` for more).
    fn make(
        ctx: &Arc<GpuContext>,
        name: &str,
        format: vk::Format,
        (width, height): (u32, u32),
        (usage, flags): (vk::ImageUsageFlags, vk::ImageCreateFlags),
        layers: u32,
        profiles: Option<&mut vk::VideoProfileListInfoKHR<'_>>,
    ) -> Result<Self, GpuError> {
        let mut info = vk::ImageCreateInfo::default()
            .flags(flags)
            .image_type(vk::ImageType::TYPE_2D)
            .format(format)
            .extent(vk::Extent3D {
                width,
                height,
                depth: 1,
            })
            .mip_levels(1)
            .array_layers(layers)
            .samples(vk::SampleCountFlags::TYPE_1)
            .tiling(vk::ImageTiling::OPTIMAL)
            .usage(usage)
            .sharing_mode(vk::SharingMode::EXCLUSIVE)
            .initial_layout(vk::ImageLayout::UNDEFINED);
        if let Some(list) = profiles {
            info = info.push_next(list);
        }
        // SAFETY: valid device and create info.
        let image = unsafe { ctx.device.create_image(&info, None) }
            .map_err(GpuError::vk("vkCreateImage"))?;
        // SAFETY: image was created on this device.
        let requirements = unsafe { ctx.device.get_image_memory_requirements(image) };
        let allocation = match allocate(ctx, name, requirements, MemoryLocation::GpuOnly, false) {
            Ok(a) => a,
            Err(e) => {
                // SAFETY: unused, unbound image.
                unsafe { ctx.device.destroy_image(image, None) };
                return Err(e);
            }
        };
        let mut this = Self {
            ctx: Arc::clone(ctx),
            image,
            view: vk::ImageView::null(),
            allocation: Some(allocation),
        };
        let a = this.allocation.as_ref().expect("just set");
        // SAFETY: the allocation satisfies the image's requirements and is bound once.
        unsafe { ctx.device.bind_image_memory(image, a.memory(), a.offset()) }
            .map_err(GpuError::vk("vkBindImageMemory"))?;
        let mut view_usage =
            vk::ImageViewUsageCreateInfo::default().usage(usage & !vk::ImageUsageFlags::STORAGE);
        let mut view_info = vk::ImageViewCreateInfo::default()
            .image(image)
            .view_type(if layers > 1 {
                vk::ImageViewType::TYPE_2D_ARRAY
            } else {
                vk::ImageViewType::TYPE_2D
            })
            .format(format)
            .subresource_range(vk::ImageSubresourceRange {
                layer_count: layers,
                ..super::conv::color_range()
            });
        if flags.contains(vk::ImageCreateFlags::EXTENDED_USAGE) {
            view_info = view_info.push_next(&mut view_usage);
        }
        // SAFETY: the image is bound to memory and the view matches its format and range.
        this.view = unsafe { ctx.device.create_image_view(&view_info, None) }
            .map_err(GpuError::vk("vkCreateImageView"))?;
        Ok(this)
    }
}

impl GpuImage {
    /// The context the image belongs to.
    pub(crate) fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }
}

impl Drop for GpuImage {
    fn drop(&mut self) {
        // SAFETY: the owner waited for every submission that used the image before dropping it.
        unsafe {
            if self.view != vk::ImageView::null() {
                self.ctx.device.destroy_image_view(self.view, None);
            }
            self.ctx.device.destroy_image(self.image, None);
        }
        if let (Some(a), Ok(mut alloc)) = (self.allocation.take(), self.ctx.allocator.lock()) {
            let _ = alloc.free(a);
        }
    }
}

/// A sampler that reads texels as they are (nearest, clamp to edge): every shader here does
/// its own filtering with `texelFetch`.
pub(crate) fn nearest_sampler(ctx: &GpuContext) -> Result<vk::Sampler, GpuError> {
    let info = vk::SamplerCreateInfo::default()
        .mag_filter(vk::Filter::NEAREST)
        .min_filter(vk::Filter::NEAREST)
        .address_mode_u(vk::SamplerAddressMode::CLAMP_TO_EDGE)
        .address_mode_v(vk::SamplerAddressMode::CLAMP_TO_EDGE)
        .address_mode_w(vk::SamplerAddressMode::CLAMP_TO_EDGE);
    // SAFETY: a valid device and create info; the caller destroys the sampler.
    unsafe { ctx.device.create_sampler(&info, None) }.map_err(GpuError::vk("vkCreateSampler"))
}
