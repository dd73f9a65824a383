//! Memory and semaphores that leave the Vulkan device as file descriptors: opaque fds that
//! CUDA (`cuImportExternalMemory`, `cuImportExternalSemaphore`) or another Vulkan device on the
//! same GPU import without a copy.
//!
//! The memory is a dedicated allocation (not a block of the suballocator), because an exported
//! fd carries the whole `VkDeviceMemory`: the importer maps exactly one buffer's bytes.

use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Arc;

use ash::vk;

use super::commands::{download_once, upload_once};
use super::{GpuContext, GpuError};
use crate::frame::TimelinePoint;

const OPAQUE_FD: vk::ExternalMemoryHandleTypeFlags = vk::ExternalMemoryHandleTypeFlags::OPAQUE_FD;

/// What a hand-off buffer is used for: a shader's storage, and copies both ways.
const BUFFER_USAGE: vk::BufferUsageFlags = vk::BufferUsageFlags::from_raw(
    vk::BufferUsageFlags::STORAGE_BUFFER.as_raw()
        | vk::BufferUsageFlags::TRANSFER_SRC.as_raw()
        | vk::BufferUsageFlags::TRANSFER_DST.as_raw(),
);

/// A device-local buffer whose memory can be exported as an opaque fd (or, made with
/// [`ExportableBuffer::unshared`], one that stays on its device: a hand-off to another user of
/// the same device).
pub struct ExportableBuffer {
    ctx: Arc<GpuContext>,
    buffer: vk::Buffer,
    memory: vk::DeviceMemory,
    size: u64,
    allocation_size: u64,
    memory_type_index: u32,
    /// `None` for a buffer made with [`ExportableBuffer::unshared`].
    fd_loader: Option<ash::khr::external_memory_fd::Device>,
}

impl std::fmt::Debug for ExportableBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportableBuffer")
            .field("size", &self.size)
            .field("allocation_size", &self.allocation_size)
            .finish()
    }
}

impl ExportableBuffer {
    /// The context the object was created on.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// A buffer of `size` bytes (storage, transfer source and destination) in exportable
    /// device-local memory. Fails with [`GpuError::MissingExtension`] when the device lacks
    /// `VK_KHR_external_memory_fd`, and [`GpuError::Unsupported`] when its buffers cannot be
    /// exported as opaque fds.
    pub fn new(ctx: &Arc<GpuContext>, size: u64) -> Result<Self, GpuError> {
        ctx.require_extension(
            ash::khr::external_memory_fd::NAME,
            "exporting memory as an fd (CUDA interop)",
        )?;
        if size == 0 {
            return Err(GpuError::Invalid {
                what: "exportable buffer size 0".into(),
                reason: "a buffer holds at least one byte".into(),
            });
        }
        let usage = BUFFER_USAGE;
        let mut external = vk::ExternalBufferProperties::default();
        // SAFETY: a plain query on the context's physical device (core in Vulkan 1.1).
        unsafe {
            ctx.instance.get_physical_device_external_buffer_properties(
                ctx.physical,
                &vk::PhysicalDeviceExternalBufferInfo::default()
                    .usage(usage)
                    .handle_type(OPAQUE_FD),
                &mut external,
            )
        };
        let features = external.external_memory_properties.external_memory_features;
        if !features.contains(vk::ExternalMemoryFeatureFlags::EXPORTABLE) {
            return Err(GpuError::Unsupported {
                what: "export buffer memory as an opaque fd".into(),
                reason: format!("the driver reports external memory features {features:?}"),
            });
        }
        Self::allocate(ctx, size, true)
    }

    /// A buffer of `size` bytes like [`new`](Self::new)'s whose memory is not exportable: the
    /// hand-off buffers of a consumer on the same device (Vulkan Video encode), on any device.
    /// [`export_fd`](Self::export_fd) fails on it.
    pub fn unshared(ctx: &Arc<GpuContext>, size: u64) -> Result<Self, GpuError> {
        if size == 0 {
            return Err(GpuError::Invalid {
                what: "hand-off buffer size 0".into(),
                reason: "a buffer holds at least one byte".into(),
            });
        }
        Self::allocate(ctx, size, false)
    }

    /// The buffer and its dedicated device-local memory, exportable as an opaque fd when
    /// `export` is set.
    fn allocate(ctx: &Arc<GpuContext>, size: u64, export: bool) -> Result<Self, GpuError> {
        let usage = BUFFER_USAGE;
        let d = &ctx.device;
        let mut external_info =
            vk::ExternalMemoryBufferCreateInfo::default().handle_types(OPAQUE_FD);
        let info = vk::BufferCreateInfo::default()
            .size(size)
            .usage(usage)
            .sharing_mode(vk::SharingMode::EXCLUSIVE);
        let info = if export {
            info.push_next(&mut external_info)
        } else {
            info
        };
        // SAFETY: a valid device and create info.
        let buffer =
            unsafe { d.create_buffer(&info, None) }.map_err(GpuError::vk("vkCreateBuffer"))?;
        // SAFETY: the buffer was just created on this device.
        let requirements = unsafe { d.get_buffer_memory_requirements(buffer) };
        let memory_type_index = match device_local_type(ctx, requirements.memory_type_bits) {
            Some(i) => i,
            None => {
                // SAFETY: the buffer is unused and unbound.
                unsafe { d.destroy_buffer(buffer, None) };
                return Err(GpuError::Allocation {
                    what: "exportable buffer".into(),
                    reason: "no device-local memory type fits it".into(),
                });
            }
        };
        let mut dedicated = vk::MemoryDedicatedAllocateInfo::default().buffer(buffer);
        let mut export_info = vk::ExportMemoryAllocateInfo::default().handle_types(OPAQUE_FD);
        let allocate = vk::MemoryAllocateInfo::default()
            .allocation_size(requirements.size)
            .memory_type_index(memory_type_index)
            .push_next(&mut dedicated);
        let allocate = if export {
            allocate.push_next(&mut export_info)
        } else {
            allocate
        };
        // SAFETY: the chain is well formed; the memory is freed in Drop, after the buffer.
        let memory = match unsafe { d.allocate_memory(&allocate, None) } {
            Ok(m) => m,
            Err(e) => {
                // SAFETY: the buffer is unused and unbound.
                unsafe { d.destroy_buffer(buffer, None) };
                return Err(GpuError::Allocation {
                    what: format!("exportable buffer of {size} bytes"),
                    reason: format!("vkAllocateMemory: {e:?}"),
                });
            }
        };
        let this = Self {
            ctx: Arc::clone(ctx),
            buffer,
            memory,
            size,
            allocation_size: requirements.size,
            memory_type_index,
            fd_loader: export.then(|| ash::khr::external_memory_fd::Device::new(&ctx.instance, d)),
        };
        // SAFETY: the dedicated memory was made for this buffer and is bound once, at offset 0.
        unsafe { d.bind_buffer_memory(buffer, memory, 0) }
            .map_err(GpuError::vk("vkBindBufferMemory"))?;
        Ok(this)
    }

    /// A new opaque fd for the buffer's memory. The caller owns it (an importer such as CUDA
    /// takes it over on a successful import); the memory lives until both this buffer is
    /// dropped and every importer has released it.
    pub fn export_fd(&self) -> Result<OwnedFd, GpuError> {
        let Some(fd_loader) = &self.fd_loader else {
            return Err(GpuError::Invalid {
                what: "exporting an unshared hand-off buffer".into(),
                reason: "it was made for a consumer on the same device; make it with ExportableBuffer::new".into(),
            });
        };
        let info = vk::MemoryGetFdInfoKHR::default()
            .memory(self.memory)
            .handle_type(OPAQUE_FD);
        // SAFETY: the memory was allocated exportable as an opaque fd on this device.
        let fd =
            unsafe { fd_loader.get_memory_fd(&info) }.map_err(GpuError::vk("vkGetMemoryFdKHR"))?;
        // SAFETY: vkGetMemoryFdKHR returns a new fd that belongs to the caller.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// The buffer.
    pub fn buffer(&self) -> vk::Buffer {
        self.buffer
    }

    /// The bytes asked for.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The size of the exported memory object (at least [`size`](Self::size)): what an
    /// importer passes as the allocation size.
    pub fn allocation_size(&self) -> u64 {
        self.allocation_size
    }

    /// The memory type of the exported memory: a Vulkan importer must allocate with the same
    /// index.
    pub fn memory_type_index(&self) -> u32 {
        self.memory_type_index
    }

    /// Writes `bytes` at the start of the buffer through a staging buffer (one waited-for
    /// submission).
    pub fn upload(&self, bytes: &[u8]) -> Result<(), GpuError> {
        self.check_len(bytes.len() as u64)?;
        upload_once(&self.ctx, self.buffer, bytes)
    }

    /// Reads the first `len` bytes back through a staging buffer (one waited-for submission).
    pub fn download(&self, len: u64) -> Result<Vec<u8>, GpuError> {
        self.check_len(len)?;
        download_once(&self.ctx, self.buffer, len)
    }

    fn check_len(&self, len: u64) -> Result<(), GpuError> {
        if len == 0 || len > self.size {
            return Err(GpuError::Invalid {
                what: format!("transfer of {len} bytes"),
                reason: format!("the buffer holds {} bytes", self.size),
            });
        }
        Ok(())
    }
}

impl Drop for ExportableBuffer {
    fn drop(&mut self) {
        // SAFETY: the owner waited for every submission that used the buffer; importers hold
        // their own reference to the memory payload, so freeing our handle is always valid.
        unsafe {
            self.ctx.device.destroy_buffer(self.buffer, None);
            self.ctx.device.free_memory(self.memory, None);
        }
    }
}

/// The first device-local memory type among `bits`.
fn device_local_type(ctx: &GpuContext, bits: u32) -> Option<u32> {
    // SAFETY: a plain query on the context's physical device.
    let props = unsafe {
        ctx.instance
            .get_physical_device_memory_properties(ctx.physical)
    };
    (0..props.memory_type_count).find(|&i| {
        bits & (1 << i) != 0
            && props.memory_types[i as usize]
                .property_flags
                .contains(vk::MemoryPropertyFlags::DEVICE_LOCAL)
    })
}

/// A timeline semaphore that can be exported as an opaque fd (CUDA imports it as
/// `CU_EXTERNAL_SEMAPHORE_HANDLE_TYPE_TIMELINE_SEMAPHORE_FD`).
pub struct ExportableTimeline {
    ctx: Arc<GpuContext>,
    semaphore: vk::Semaphore,
    /// `None` for a timeline made with [`ExportableTimeline::unshared`].
    fd_loader: Option<ash::khr::external_semaphore_fd::Device>,
}

impl std::fmt::Debug for ExportableTimeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportableTimeline")
            .field("semaphore", &self.semaphore)
            .finish()
    }
}

impl ExportableTimeline {
    /// The context the object was created on.
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// A timeline semaphore starting at `initial`. Fails with [`GpuError::MissingExtension`]
    /// when the device lacks `VK_KHR_external_semaphore_fd`, and [`GpuError::Unsupported`] when
    /// its timeline semaphores cannot be exported as opaque fds.
    pub fn new(ctx: &Arc<GpuContext>, initial: u64) -> Result<Self, GpuError> {
        ctx.require_extension(
            ash::khr::external_semaphore_fd::NAME,
            "exporting a timeline semaphore as an fd (CUDA interop)",
        )?;
        let handle = vk::ExternalSemaphoreHandleTypeFlags::OPAQUE_FD;
        let mut query_type = vk::SemaphoreTypeCreateInfo::default()
            .semaphore_type(vk::SemaphoreType::TIMELINE)
            .initial_value(initial);
        let mut props = vk::ExternalSemaphoreProperties::default();
        // SAFETY: a plain query on the context's physical device (core in Vulkan 1.1).
        unsafe {
            ctx.instance
                .get_physical_device_external_semaphore_properties(
                    ctx.physical,
                    &vk::PhysicalDeviceExternalSemaphoreInfo::default()
                        .handle_type(handle)
                        .push_next(&mut query_type),
                    &mut props,
                )
        };
        let features = props.external_semaphore_features;
        if !features.contains(vk::ExternalSemaphoreFeatureFlags::EXPORTABLE) {
            return Err(GpuError::Unsupported {
                what: "export a timeline semaphore as an opaque fd".into(),
                reason: format!("the driver reports external semaphore features {features:?}"),
            });
        }
        let mut ty = vk::SemaphoreTypeCreateInfo::default()
            .semaphore_type(vk::SemaphoreType::TIMELINE)
            .initial_value(initial);
        let mut export = vk::ExportSemaphoreCreateInfo::default().handle_types(handle);
        let info = vk::SemaphoreCreateInfo::default()
            .push_next(&mut ty)
            .push_next(&mut export);
        // SAFETY: a valid device and chain; destroyed in Drop.
        let semaphore = unsafe { ctx.device.create_semaphore(&info, None) }
            .map_err(GpuError::vk("vkCreateSemaphore"))?;
        Ok(Self {
            ctx: Arc::clone(ctx),
            semaphore,
            fd_loader: Some(ash::khr::external_semaphore_fd::Device::new(
                &ctx.instance,
                &ctx.device,
            )),
        })
    }

    /// A timeline semaphore starting at `initial` that stays on this device: for a hand-off
    /// consumer that is another user of the same Vulkan device (Vulkan Video encode, or a test
    /// on a driver without `VK_KHR_external_semaphore_fd`). [`export_fd`](Self::export_fd)
    /// fails on it.
    pub fn unshared(ctx: &Arc<GpuContext>, initial: u64) -> Result<Self, GpuError> {
        let mut ty = vk::SemaphoreTypeCreateInfo::default()
            .semaphore_type(vk::SemaphoreType::TIMELINE)
            .initial_value(initial);
        let info = vk::SemaphoreCreateInfo::default().push_next(&mut ty);
        // SAFETY: a valid device and chain (the context enables the timeline semaphore
        // feature); destroyed in Drop.
        let semaphore = unsafe { ctx.device.create_semaphore(&info, None) }
            .map_err(GpuError::vk("vkCreateSemaphore"))?;
        Ok(Self {
            ctx: Arc::clone(ctx),
            semaphore,
            fd_loader: None,
        })
    }

    /// A new opaque fd for the semaphore; the caller owns it.
    pub fn export_fd(&self) -> Result<OwnedFd, GpuError> {
        let Some(fd_loader) = &self.fd_loader else {
            return Err(GpuError::Unsupported {
                what: "export this timeline semaphore".into(),
                reason: "it was made unshared; make it with ExportableTimeline::new".into(),
            });
        };
        let info = vk::SemaphoreGetFdInfoKHR::default()
            .semaphore(self.semaphore)
            .handle_type(vk::ExternalSemaphoreHandleTypeFlags::OPAQUE_FD);
        // SAFETY: the semaphore was created exportable as an opaque fd on this device.
        let fd = unsafe { fd_loader.get_semaphore_fd(&info) }
            .map_err(GpuError::vk("vkGetSemaphoreFdKHR"))?;
        // SAFETY: vkGetSemaphoreFdKHR returns a new fd that belongs to the caller.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// The point `value` on this semaphore (for [`super::GpuFrame`] waits and releases).
    pub fn point(&self, value: u64) -> TimelinePoint {
        TimelinePoint {
            semaphore: self.semaphore,
            value,
        }
    }

    /// The semaphore's current value.
    pub fn value(&self) -> Result<u64, GpuError> {
        // SAFETY: a timeline semaphore of this device.
        unsafe { self.ctx.device.get_semaphore_counter_value(self.semaphore) }
            .map_err(GpuError::vk("vkGetSemaphoreCounterValue"))
    }

    /// Waits on the CPU, up to `timeout_ns`, for the value to reach `value`; a timeout is a
    /// [`GpuError::FrameNotReady`].
    pub fn wait(&self, value: u64, timeout_ns: u64) -> Result<(), GpuError> {
        super::commands::wait_timeline(&self.ctx, self.point(value), timeout_ns)
    }

    /// Sets the value from the CPU (it must be greater than the current one).
    pub fn signal(&self, value: u64) -> Result<(), GpuError> {
        let current = self.value()?;
        if value <= current {
            return Err(GpuError::Invalid {
                what: format!("timeline value {value}"),
                reason: format!("the semaphore is already at {current}; signal a larger value"),
            });
        }
        let info = vk::SemaphoreSignalInfo::default()
            .semaphore(self.semaphore)
            .value(value);
        // SAFETY: a timeline semaphore of this device, and a value above its current one
        // (checked above; only GhostStream's owner signals it from the CPU).
        unsafe { self.ctx.device.signal_semaphore(&info) }
            .map_err(GpuError::vk("vkSignalSemaphore"))
    }
}

impl Drop for ExportableTimeline {
    fn drop(&mut self) {
        // SAFETY: the owner waited for every submission that used the semaphore.
        unsafe { self.ctx.device.destroy_semaphore(self.semaphore, None) };
    }
}
