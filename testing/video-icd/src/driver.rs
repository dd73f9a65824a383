//! The driver's state and its safe logic: instances, the physical device, devices, queues,
//! memory and buffers. The entry points (`ffi`) turn pointers into these functions' arguments
//! and their results back into Vulkan's out-parameters.

use std::collections::HashMap;
use std::sync::{Condvar, LazyLock, Mutex, MutexGuard};

use ash::vk;

use crate::caps::{self, DeviceTable};
use crate::command::{CommandBuffer, CommandPool};
use crate::handle::Dispatchable;
use crate::image::{self, ImageRequest, Layout, Ownership};
use crate::query::QueryPool;
use crate::session::{self, Add, Bind, CodecParams, Get, Parameters, Session, SessionRequest};
use crate::sync::{Fence, Semaphore};

/// The Loader and Driver Interface version this driver speaks at most (7: the interface
/// functions are also reachable through `vk_icdGetInstanceProcAddr`).
pub const MAX_INTERFACE_VERSION: u32 = 7;

/// The oldest interface version that lets a driver report Vulkan 1.1 or newer (LDP_DRIVER_7).
pub const MIN_INTERFACE_VERSION_FOR_1_1: u32 = 5;

/// The device extensions the physical device offers, with their spec versions.
pub const DEVICE_EXTENSIONS: [(&std::ffi::CStr, u32); 5] = [
    (
        ash::khr::video_queue::NAME,
        ash::khr::video_queue::SPEC_VERSION,
    ),
    (
        ash::khr::video_encode_queue::NAME,
        ash::khr::video_encode_queue::SPEC_VERSION,
    ),
    (
        ash::khr::video_encode_h264::NAME,
        ash::khr::video_encode_h264::SPEC_VERSION,
    ),
    (
        ash::khr::video_encode_h265::NAME,
        ash::khr::video_encode_h265::SPEC_VERSION,
    ),
    (
        crate::av1::KHR_VIDEO_ENCODE_AV1_NAME,
        crate::av1::KHR_VIDEO_ENCODE_AV1_SPEC_VERSION,
    ),
];

/// The device extensions a device modelled on `table` offers: [`DEVICE_EXTENSIONS`], and
/// VK_KHR_video_encode_intra_refresh where the table has intra refresh.
pub fn device_extensions(table: &DeviceTable) -> Vec<(&'static std::ffi::CStr, u32)> {
    let mut all = DEVICE_EXTENSIONS.to_vec();
    if table.intra_refresh.is_some() {
        all.push((
            crate::intra_refresh::KHR_VIDEO_ENCODE_INTRA_REFRESH_NAME,
            crate::intra_refresh::KHR_VIDEO_ENCODE_INTRA_REFRESH_SPEC_VERSION,
        ));
    }
    all
}

/// The name of `VkPhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR` in a [`FeatureRequest`].
pub const INTRA_REFRESH_FEATURES: &str = "VkPhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR";

/// The name of `VkPhysicalDeviceVideoEncodeAV1FeaturesKHR` in a [`FeatureRequest`].
pub const AV1_FEATURES: &str = "VkPhysicalDeviceVideoEncodeAV1FeaturesKHR";

/// Index of the compute + transfer queue family.
pub const COMPUTE_FAMILY: u32 = 0;
/// Index of the video-encode queue family.
pub const ENCODE_FAMILY: u32 = 1;

/// Memory types, all in heap 0 and all backed by host memory: device-local only,
/// device-local + host-visible + coherent, and the same cached.
pub const MEMORY_TYPES: [vk::MemoryPropertyFlags; 3] = [
    vk::MemoryPropertyFlags::DEVICE_LOCAL,
    vk::MemoryPropertyFlags::from_raw(
        vk::MemoryPropertyFlags::DEVICE_LOCAL.as_raw()
            | vk::MemoryPropertyFlags::HOST_VISIBLE.as_raw()
            | vk::MemoryPropertyFlags::HOST_COHERENT.as_raw(),
    ),
    vk::MemoryPropertyFlags::from_raw(
        vk::MemoryPropertyFlags::DEVICE_LOCAL.as_raw()
            | vk::MemoryPropertyFlags::HOST_VISIBLE.as_raw()
            | vk::MemoryPropertyFlags::HOST_COHERENT.as_raw()
            | vk::MemoryPropertyFlags::HOST_CACHED.as_raw(),
    ),
];

/// Alignment (and size granularity) of buffers: the bitstream alignment of the video tables.
pub const BUFFER_ALIGNMENT: u64 = 256;

/// Host backing of device memory: chunks aligned to `minMemoryMapAlignment`.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Chunk([u8; 64]);

const _: () =
    assert!(std::mem::align_of::<Chunk>() == caps::NVIDIA_RTX_4090.min_memory_map_alignment);

pub(crate) struct Memory {
    chunks: Vec<Chunk>,
    pub(crate) size: u64,
    type_index: usize,
    mapped: bool,
}

impl Memory {
    /// The allocation's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        let len = self.chunks.len() * std::mem::size_of::<Chunk>();
        // SAFETY: the chunks are plain bytes, contiguous in the Vec; `len` covers them all.
        unsafe { std::slice::from_raw_parts(self.chunks.as_ptr().cast::<u8>(), len) }
    }

    /// The allocation's bytes, writable.
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        let len = self.chunks.len() * std::mem::size_of::<Chunk>();
        // SAFETY: as in `bytes`, borrowed mutably through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.chunks.as_mut_ptr().cast::<u8>(), len) }
    }
}

pub(crate) struct Buffer {
    pub(crate) size: u64,
    /// (memory, offset) once bound.
    pub(crate) bound: Option<(u64, u64)>,
}

pub(crate) struct Image {
    pub(crate) request: ImageRequest,
    pub(crate) layout: Layout,
    /// (memory, offset) once bound.
    pub(crate) bound: Option<(u64, u64)>,
    /// Its layout and queue family as the barriers run so far left them.
    pub(crate) ownership: Ownership,
}

/// An image view: its image and the array layers and aspect it shows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View {
    pub(crate) image: u64,
    pub(crate) base_layer: u32,
    pub(crate) layer_count: u32,
}

struct Instance {
    /// Owned here: the slot lives as long as the object.
    _slot: Dispatchable,
    physical: Vec<u64>,
}

struct Physical {
    slot: Dispatchable,
    table: &'static DeviceTable,
}

pub(crate) struct Device {
    /// Owned here: the slot lives as long as the object.
    _slot: Dispatchable,
    pub(crate) table: &'static DeviceTable,
    /// (family, index) -> queue handle.
    queues: HashMap<(u32, u32), u64>,
    pub(crate) memory: HashMap<u64, Memory>,
    pub(crate) buffers: HashMap<u64, Buffer>,
    pub(crate) images: HashMap<u64, Image>,
    pub(crate) views: HashMap<u64, View>,
    pub(crate) sessions: HashMap<u64, Session>,
    pub(crate) parameters: HashMap<u64, Parameters>,
    pub(crate) command_pools: HashMap<u64, CommandPool>,
    pub(crate) fences: HashMap<u64, Fence>,
    pub(crate) semaphores: HashMap<u64, Semaphore>,
    pub(crate) query_pools: HashMap<u64, QueryPool>,
    /// The extensions the device was created with.
    pub(crate) extensions: Vec<String>,
    /// Whether `videoEncodeAV1` was enabled (VkPhysicalDeviceVideoEncodeAV1FeaturesKHR).
    pub(crate) av1_feature: bool,
    /// Whether `videoEncodeIntraRefresh` was enabled
    /// (VkPhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR).
    pub(crate) intra_refresh_feature: bool,
    allocated: u64,
}

pub(crate) struct Queue {
    /// Owned here: the slot lives as long as the object.
    _slot: Dispatchable,
    /// The device it belongs to.
    pub(crate) device: u64,
    /// Its family.
    pub(crate) family: u32,
}

/// Everything the driver holds.
#[derive(Default)]
pub struct Driver {
    interface_version: Option<u32>,
    instances: HashMap<u64, Instance>,
    physical: HashMap<u64, Physical>,
    pub(crate) devices: HashMap<u64, Device>,
    pub(crate) queues: HashMap<u64, Queue>,
    /// Command buffers by handle (dispatchable, like queues).
    pub(crate) command_buffers: HashMap<u64, CommandBuffer>,
    next_id: u64,
}

static DRIVER: LazyLock<Mutex<Driver>> = LazyLock::new(Mutex::default);

/// Woken whenever a fence, semaphore or query changes state (waiters hold [`DRIVER`]'s lock).
static CHANGED: Condvar = Condvar::new();

/// The driver's state, locked (a panic elsewhere does not make it unusable: the tests want
/// the rest of the log).
pub fn lock() -> MutexGuard<'static, Driver> {
    DRIVER.lock().unwrap_or_else(|p| p.into_inner())
}

/// Waits (the lock released meanwhile) until `done` holds or `timeout` passes; true when it
/// holds.
pub fn wait_until(
    mut guard: MutexGuard<'static, Driver>,
    timeout: std::time::Duration,
    mut done: impl FnMut(&Driver) -> bool,
) -> (MutexGuard<'static, Driver>, bool) {
    let deadline = std::time::Instant::now().checked_add(timeout);
    loop {
        if done(&guard) {
            return (guard, true);
        }
        let now = std::time::Instant::now();
        let left = match deadline {
            Some(d) if d <= now => return (guard, false),
            Some(d) => d - now,
            None => std::time::Duration::from_secs(1),
        };
        guard = CHANGED
            .wait_timeout(guard, left)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}

/// Wakes every waiter of [`wait_until`].
pub fn notify() {
    CHANGED.notify_all();
}

/// A queue family the caller asks for at device creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueRequest {
    /// The family index.
    pub family: u32,
    /// How many queues.
    pub count: u32,
}

/// One feature structure of a `VkDeviceCreateInfo` chain, as booleans in declaration order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureRequest {
    /// The structure's name.
    pub structure: &'static str,
    /// What the caller asked for.
    pub requested: Vec<bool>,
    /// What the device has.
    pub supported: Vec<bool>,
}

/// What `vkCreateDevice` is asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceRequest {
    /// The queues.
    pub queues: Vec<QueueRequest>,
    /// The extension names.
    pub extensions: Vec<String>,
    /// The feature structures found in the chain (and `pEnabledFeatures`).
    pub features: Vec<FeatureRequest>,
}

impl Driver {
    pub(crate) fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// `vk_icdNegotiateLoaderICDInterfaceVersion`: the version both sides speak.
    pub fn negotiate(&mut self, loader_version: u32) -> u32 {
        let version = loader_version.min(MAX_INTERFACE_VERSION);
        self.interface_version = Some(version);
        version
    }

    /// `vkCreateInstance` for an application asking for `api_version` (0: none given).
    pub fn create_instance(&mut self, api_version: u32) -> Result<u64, vk::Result> {
        // With an interface older than 5 the loader does not check the version: the driver must
        // refuse anything above 1.0 (LDP_DRIVER_9). No negotiation at all is a version 1 loader.
        let interface = self.interface_version.unwrap_or(1);
        if interface < MIN_INTERFACE_VERSION_FOR_1_1 && api_version > vk::API_VERSION_1_0 {
            return Err(vk::Result::ERROR_INCOMPATIBLE_DRIVER);
        }
        let instance = Dispatchable::new();
        let handle = instance.raw();
        let physical = Physical {
            slot: Dispatchable::new(),
            table: caps::active(),
        };
        let pd = physical.slot.raw();
        self.physical.insert(pd, physical);
        self.instances.insert(
            handle,
            Instance {
                _slot: instance,
                physical: vec![pd],
            },
        );
        Ok(handle)
    }

    /// `vkDestroyInstance`: the instance and its physical devices.
    pub fn destroy_instance(&mut self, instance: u64) -> bool {
        match self.instances.remove(&instance) {
            Some(i) => {
                for pd in i.physical {
                    self.physical.remove(&pd);
                }
                true
            }
            None => false,
        }
    }

    /// `vkEnumeratePhysicalDevices`.
    pub fn physical_devices(&self, instance: u64) -> Result<Vec<u64>, vk::Result> {
        self.instances
            .get(&instance)
            .map(|i| i.physical.clone())
            .ok_or(vk::Result::ERROR_INITIALIZATION_FAILED)
    }

    /// The capability table of a physical device.
    pub fn table(&self, physical: u64) -> Option<&'static DeviceTable> {
        self.physical.get(&physical).map(|p| p.table)
    }

    /// The capability table of a device.
    pub fn device_table(&self, device: u64) -> Option<&'static DeviceTable> {
        self.devices.get(&device).map(|d| d.table)
    }

    /// `vkCreateDevice`.
    pub fn create_device(&mut self, physical: u64, request: &DeviceRequest) -> Result<u64, String> {
        let table = self
            .table(physical)
            .ok_or_else(|| format!("unknown physical device {physical:#x}"))?;
        let families = queue_families(table);
        let mut seen = Vec::new();
        for q in &request.queues {
            let family = usize::try_from(q.family).unwrap_or(usize::MAX);
            let Some(props) = families.get(family) else {
                return Err(format!(
                    "queue family {} does not exist (the device has {})",
                    q.family,
                    families.len()
                ));
            };
            if q.count == 0 || q.count > props.properties.queue_count {
                return Err(format!(
                    "{} queues of family {} asked for; it has {}",
                    q.count, q.family, props.properties.queue_count
                ));
            }
            if seen.contains(&q.family) {
                return Err(format!("queue family {} asked for twice", q.family));
            }
            seen.push(q.family);
        }
        let offered = device_extensions(table);
        for e in &request.extensions {
            if !offered
                .iter()
                .any(|(name, _)| name.to_str().is_ok_and(|n| n == e))
            {
                return Err(format!("EXTENSION_NOT_PRESENT {e}"));
            }
        }
        for f in &request.features {
            if let Some(i) = f
                .requested
                .iter()
                .zip(f.supported.iter().chain(std::iter::repeat(&false)))
                .position(|(want, have)| *want && !*have)
            {
                return Err(format!(
                    "FEATURE_NOT_PRESENT {} member {i} (counting the VkBool32 members from 0)",
                    f.structure
                ));
            }
        }
        let device = Dispatchable::new();
        let handle = device.raw();
        let mut queues = HashMap::new();
        for q in &request.queues {
            for index in 0..q.count {
                let queue = Dispatchable::new();
                let qh = queue.raw();
                self.queues.insert(
                    qh,
                    Queue {
                        _slot: queue,
                        device: handle,
                        family: q.family,
                    },
                );
                queues.insert((q.family, index), qh);
            }
        }
        self.devices.insert(
            handle,
            Device {
                _slot: device,
                table,
                queues,
                memory: HashMap::new(),
                buffers: HashMap::new(),
                images: HashMap::new(),
                views: HashMap::new(),
                sessions: HashMap::new(),
                parameters: HashMap::new(),
                command_pools: HashMap::new(),
                fences: HashMap::new(),
                semaphores: HashMap::new(),
                query_pools: HashMap::new(),
                extensions: request.extensions.clone(),
                av1_feature: request
                    .features
                    .iter()
                    .any(|f| f.structure == AV1_FEATURES && f.requested.first() == Some(&true)),
                intra_refresh_feature: request.features.iter().any(|f| {
                    f.structure == INTRA_REFRESH_FEATURES && f.requested.first() == Some(&true)
                }),
                allocated: 0,
            },
        );
        Ok(handle)
    }

    /// `vkDestroyDevice`: the device, its queues and whatever memory and buffers it still had
    /// (counted in the return value: objects the application leaked).
    pub fn destroy_device(&mut self, device: u64) -> Option<usize> {
        let d = self.devices.remove(&device)?;
        for q in d.queues.values() {
            self.queues.remove(q);
        }
        self.command_buffers.retain(|_, b| b.device != device);
        Some(
            d.memory.len()
                + d.buffers.len()
                + d.images.len()
                + d.views.len()
                + d.sessions.len()
                + d.parameters.len()
                + d.command_pools.len()
                + d.fences.len()
                + d.semaphores.len()
                + d.query_pools.len(),
        )
    }

    /// `vkGetDeviceQueue`.
    pub fn queue(&self, device: u64, family: u32, index: u32) -> Option<u64> {
        self.devices
            .get(&device)?
            .queues
            .get(&(family, index))
            .copied()
    }

    /// True when `queue` is a live queue.
    pub fn is_queue(&self, queue: u64) -> bool {
        self.queues.contains_key(&queue)
    }

    /// The state of a device.
    pub(crate) fn devices_get(&self, device: u64) -> Option<&Device> {
        self.devices.get(&device)
    }

    pub(crate) fn device_mut(&mut self, device: u64) -> Result<&mut Device, String> {
        self.devices
            .get_mut(&device)
            .ok_or_else(|| format!("unknown device {device:#x}"))
    }

    /// `vkAllocateMemory`.
    pub fn allocate_memory(
        &mut self,
        device: u64,
        size: u64,
        type_index: u32,
    ) -> Result<u64, String> {
        let id = self.id();
        let d = self.device_mut(device)?;
        let type_index = usize::try_from(type_index).unwrap_or(usize::MAX);
        if type_index >= MEMORY_TYPES.len() {
            return Err(format!(
                "memory type {type_index} does not exist (the device has {})",
                MEMORY_TYPES.len()
            ));
        }
        if size == 0 {
            return Err("allocationSize is 0".into());
        }
        if d.allocated.saturating_add(size) > d.table.heap_size {
            return Err(format!(
                "ERROR_OUT_OF_DEVICE_MEMORY {size} bytes asked for, {} of the heap's {} in use",
                d.allocated, d.table.heap_size
            ));
        }
        let chunk = std::mem::size_of::<Chunk>() as u64;
        let count = usize::try_from(size.div_ceil(chunk))
            .map_err(|_| "ERROR_OUT_OF_HOST_MEMORY".to_string())?;
        let mut chunks = Vec::new();
        chunks
            .try_reserve_exact(count)
            .map_err(|_| "ERROR_OUT_OF_HOST_MEMORY".to_string())?;
        chunks.resize(count, Chunk([0; 64]));
        d.allocated += size;
        d.memory.insert(
            id,
            Memory {
                chunks,
                size,
                type_index,
                mapped: false,
            },
        );
        Ok(id)
    }

    /// `vkFreeMemory`.
    pub fn free_memory(&mut self, device: u64, memory: u64) -> Result<(), String> {
        let d = self.device_mut(device)?;
        let m = d
            .memory
            .remove(&memory)
            .ok_or_else(|| format!("unknown memory {memory:#x}"))?;
        d.allocated -= m.size;
        Ok(())
    }

    /// `vkMapMemory`: the host address of `offset` in the allocation.
    pub fn map_memory(
        &mut self,
        device: u64,
        memory: u64,
        offset: u64,
        size: u64,
    ) -> Result<*mut u8, String> {
        let d = self.device_mut(device)?;
        let m = d
            .memory
            .get_mut(&memory)
            .ok_or_else(|| format!("unknown memory {memory:#x}"))?;
        if !MEMORY_TYPES[m.type_index].contains(vk::MemoryPropertyFlags::HOST_VISIBLE) {
            return Err(format!(
                "ERROR_MEMORY_MAP_FAILED memory type {} is not host-visible",
                m.type_index
            ));
        }
        if m.mapped {
            return Err("ERROR_MEMORY_MAP_FAILED the memory is already mapped".into());
        }
        let end = if size == vk::WHOLE_SIZE {
            m.size
        } else {
            offset.saturating_add(size)
        };
        if offset >= m.size || end > m.size {
            return Err(format!(
                "ERROR_MEMORY_MAP_FAILED offset {offset} size {size} outside the {} bytes",
                m.size
            ));
        }
        let offset = usize::try_from(offset).map_err(|e| e.to_string())?;
        m.mapped = true;
        Ok(m.chunks.as_mut_ptr().cast::<u8>().wrapping_add(offset))
    }

    /// `vkUnmapMemory`.
    pub fn unmap_memory(&mut self, device: u64, memory: u64) -> Result<(), String> {
        let d = self.device_mut(device)?;
        let m = d
            .memory
            .get_mut(&memory)
            .ok_or_else(|| format!("unknown memory {memory:#x}"))?;
        if !m.mapped {
            return Err("the memory is not mapped".into());
        }
        m.mapped = false;
        Ok(())
    }

    /// `vkCreateBuffer`.
    pub fn create_buffer(&mut self, device: u64, size: u64) -> Result<u64, String> {
        let id = self.id();
        let d = self.device_mut(device)?;
        if size == 0 {
            return Err("size is 0".into());
        }
        d.buffers.insert(id, Buffer { size, bound: None });
        Ok(id)
    }

    /// `vkDestroyBuffer`.
    pub fn destroy_buffer(&mut self, device: u64, buffer: u64) -> Result<(), String> {
        self.device_mut(device)?
            .buffers
            .remove(&buffer)
            .map(|_| ())
            .ok_or_else(|| format!("unknown buffer {buffer:#x}"))
    }

    /// `vkGetBufferMemoryRequirements`.
    pub fn buffer_requirements(
        &mut self,
        device: u64,
        buffer: u64,
    ) -> Result<vk::MemoryRequirements, String> {
        let d = self.device_mut(device)?;
        let b = d
            .buffers
            .get(&buffer)
            .ok_or_else(|| format!("unknown buffer {buffer:#x}"))?;
        Ok(vk::MemoryRequirements {
            size: b.size.div_ceil(BUFFER_ALIGNMENT) * BUFFER_ALIGNMENT,
            alignment: BUFFER_ALIGNMENT,
            memory_type_bits: (1u32 << MEMORY_TYPES.len()) - 1,
        })
    }

    /// `vkBindBufferMemory`.
    pub fn bind_buffer(
        &mut self,
        device: u64,
        buffer: u64,
        memory: u64,
        offset: u64,
    ) -> Result<(), String> {
        let d = self.device_mut(device)?;
        let mem_size = d
            .memory
            .get(&memory)
            .map(|m| m.size)
            .ok_or_else(|| format!("unknown memory {memory:#x}"))?;
        let b = d
            .buffers
            .get_mut(&buffer)
            .ok_or_else(|| format!("unknown buffer {buffer:#x}"))?;
        if b.bound.is_some() {
            return Err("the buffer is already bound".into());
        }
        if offset % BUFFER_ALIGNMENT != 0 || offset.saturating_add(b.size) > mem_size {
            return Err(format!(
                "offset {offset} (alignment {BUFFER_ALIGNMENT}) with {} bytes does not fit the {mem_size}-byte memory",
                b.size
            ));
        }
        b.bound = Some((memory, offset));
        Ok(())
    }

    fn memory_of(d: &Device, memory: u64) -> Result<(u64, usize), String> {
        d.memory
            .get(&memory)
            .map(|m| (m.size, m.type_index))
            .ok_or_else(|| format!("unknown memory {memory:#x}"))
    }

    /// `vkCreateVideoSessionKHR`.
    pub fn create_session(&mut self, device: u64, r: SessionRequest) -> Result<u64, String> {
        let id = self.id();
        let d = self.device_mut(device)?;
        let family_ops = queue_families(d.table)
            .get(usize::try_from(r.queue_family).unwrap_or(usize::MAX))
            .map(|f| f.video_operations);
        if r.profile.operation == caps::CODEC_OPERATION_ENCODE_AV1 {
            let ext = crate::av1::KHR_VIDEO_ENCODE_AV1_NAME
                .to_str()
                .unwrap_or_default();
            if !d.extensions.iter().any(|e| e == ext) {
                return Err(format!(
                    "an AV1 encode session on a device created without {ext} (enable the extension, and videoEncodeAV1, at vkCreateDevice)"
                ));
            }
            if !d.av1_feature {
                return Err(
                    "an AV1 encode session on a device created without the videoEncodeAV1 feature (chain VkPhysicalDeviceVideoEncodeAV1FeaturesKHR with videoEncodeAV1 = VK_TRUE into VkDeviceCreateInfo) (VUID-VkVideoSessionCreateInfoKHR-pVideoProfile-10269)"
                        .into(),
                );
            }
        }
        if r.intra_refresh_mode != 0 {
            let ext = crate::intra_refresh::KHR_VIDEO_ENCODE_INTRA_REFRESH_NAME
                .to_str()
                .unwrap_or_default();
            if !d.extensions.iter().any(|e| e == ext) || !d.intra_refresh_feature {
                return Err(format!(
                    "intraRefreshMode {:#x} on a device created without {ext} and its videoEncodeIntraRefresh feature (enable both at vkCreateDevice)",
                    r.intra_refresh_mode
                ));
            }
            let modes = d.table.intra_refresh.map_or(0, |c| c.modes);
            if r.intra_refresh_mode.count_ones() != 1 || modes & r.intra_refresh_mode == 0 {
                return Err(format!(
                    "intraRefreshMode {:#x}: one of the profile's intraRefreshModes {modes:#x}",
                    r.intra_refresh_mode
                ));
            }
        }
        let caps = session::check(d.table, family_ops, &r)
            .map_err(|(code, why)| format!("{code:?} {why}"))?;
        d.sessions.insert(
            id,
            Session {
                request: r,
                caps,
                bound: Default::default(),
                coding: Default::default(),
                intra_refresh: d.table.intra_refresh,
            },
        );
        Ok(id)
    }

    /// `vkDestroyVideoSessionKHR`.
    pub fn destroy_session(&mut self, device: u64, s: u64) -> Result<(), String> {
        self.device_mut(device)?
            .sessions
            .remove(&s)
            .map(|_| ())
            .ok_or_else(|| format!("unknown video session {s:#x}"))
    }

    /// `vkGetVideoSessionMemoryRequirementsKHR`.
    pub fn session_requirements(
        &mut self,
        device: u64,
        s: u64,
    ) -> Result<Vec<(u32, vk::MemoryRequirements)>, String> {
        let d = self.device_mut(device)?;
        let s = d
            .sessions
            .get(&s)
            .ok_or_else(|| format!("unknown video session {s:#x}"))?;
        Ok(session::memory_requirements(&s.request))
    }

    /// `vkBindVideoSessionMemoryKHR`: (bind index, memory, offset, size) each.
    pub fn bind_session(
        &mut self,
        device: u64,
        s: u64,
        binds: &[(u32, u64, u64, u64)],
    ) -> Result<(), String> {
        let d = self.device_mut(device)?;
        let mut resolved = Vec::new();
        for &(index, memory, offset, size) in binds {
            let (memory_size, memory_type) = Self::memory_of(d, memory)?;
            resolved.push(Bind {
                index,
                memory,
                offset,
                size,
                memory_size,
                memory_type,
            });
        }
        let session = d
            .sessions
            .get_mut(&s)
            .ok_or_else(|| format!("unknown video session {s:#x}"))?;
        for b in &resolved {
            session.bind(b)?;
        }
        Ok(())
    }

    /// `vkCreateVideoSessionParametersKHR`: `capacity` is (VPS, SPS, PPS).
    pub fn create_parameters(
        &mut self,
        device: u64,
        s: u64,
        template: Option<u64>,
        capacity: (u32, u32, u32),
        add: &Add,
    ) -> Result<u64, String> {
        let id = self.id();
        let d = self.device_mut(device)?;
        let session = d
            .sessions
            .get(&s)
            .ok_or_else(|| format!("unknown video session {s:#x}"))?;
        let op = session.request.profile.operation;
        let codec_fits = match add {
            Add::H264(_) => op == vk::VideoCodecOperationFlagsKHR::ENCODE_H264,
            Add::H265(_) => op == vk::VideoCodecOperationFlagsKHR::ENCODE_H265,
            Add::Av1(_) => op == caps::CODEC_OPERATION_ENCODE_AV1,
        };
        if !codec_fits {
            return Err(format!(
                "the chain's parameter sets are not those of the session's codec {op:?}"
            ));
        }
        if let Add::Av1(a) = add {
            if template.is_some() {
                return Err("videoSessionParametersTemplate is not VK_NULL_HANDLE for an AV1 session (VUID-VkVideoSessionParametersCreateInfoKHR-videoSession-10278)".into());
            }
            let level = session.av1_level().unwrap_or(0);
            let max_points = match session.caps.codec {
                crate::video::CodecCaps::Av1(c) => c.max_operating_points,
                _ => 0,
            };
            let sets = CodecParams::Av1(session::Av1Params::create(a, level, max_points)?);
            d.parameters.insert(id, Parameters { session: s, sets });
            return Ok(id);
        }
        let template = match template {
            None => None,
            Some(t) => {
                let p = d
                    .parameters
                    .get(&t)
                    .ok_or_else(|| format!("unknown template parameters {t:#x}"))?;
                if p.session != s {
                    return Err(format!(
                        "the template {t:#x} was created for another session (VUID-VkVideoSessionParametersCreateInfoKHR-videoSessionParametersTemplate-04855)"
                    ));
                }
                Some(&p.sets)
            }
        };
        let sets = CodecParams::create(template, capacity, add)?;
        d.parameters.insert(id, Parameters { session: s, sets });
        Ok(id)
    }

    /// `vkUpdateVideoSessionParametersKHR`: `add` is the chain's add info, if any.
    pub fn update_parameters(
        &mut self,
        device: u64,
        p: u64,
        sequence: u32,
        add: Option<&Add>,
    ) -> Result<(), String> {
        let sets = &mut self
            .device_mut(device)?
            .parameters
            .get_mut(&p)
            .ok_or_else(|| format!("unknown session parameters {p:#x}"))?
            .sets;
        match (sets, add) {
            (sets @ CodecParams::Av1(_), _) => {
                sets.update(sequence, &Add::H264(Default::default()))
            }
            (_, None) => {
                Err("the chain has no VkVideoEncodeH264/H265SessionParametersAddInfoKHR".into())
            }
            (sets, Some(add)) => sets.update(sequence, add),
        }
    }

    /// `vkDestroyVideoSessionParametersKHR`.
    pub fn destroy_parameters(&mut self, device: u64, p: u64) -> Result<(), String> {
        self.device_mut(device)?
            .parameters
            .remove(&p)
            .map(|_| ())
            .ok_or_else(|| format!("unknown session parameters {p:#x}"))
    }

    /// `vkGetEncodedVideoSessionParametersKHR`: `get` is what the chain's codec structure asks
    /// for (none for AV1, whose one sequence header needs no choosing).
    /// The bytes and whether the VPS, SPS and PPS asked for were overridden.
    pub fn encoded_parameters(
        &mut self,
        device: u64,
        p: u64,
        get: Option<Get>,
    ) -> Result<(Vec<u8>, crate::session::Overrides), String> {
        let sets = &self
            .device_mut(device)?
            .parameters
            .get(&p)
            .ok_or_else(|| format!("unknown session parameters {p:#x}"))?
            .sets;
        let get = match (sets, get) {
            (CodecParams::Av1(_), None) => Get::Av1,
            (_, Some(g)) => g,
            (_, None) => {
                return Err(
                    "the chain has no VkVideoEncodeH264/H265SessionParametersGetInfoKHR (VUID-vkGetEncodedVideoSessionParametersKHR-pVideoSessionParametersInfo-08262/08265)"
                        .into(),
                )
            }
        };
        Ok((sets.encoded(get)?, sets.overrides(get)))
    }

    /// `vkCreateImage`.
    pub fn create_image(&mut self, device: u64, request: ImageRequest) -> Result<u64, String> {
        let id = self.id();
        let d = self.device_mut(device)?;
        let layout = image::layout(&request)?;
        d.images.insert(
            id,
            Image {
                request,
                layout,
                bound: None,
                ownership: Ownership::default(),
            },
        );
        Ok(id)
    }

    /// `vkDestroyImage`.
    pub fn destroy_image(&mut self, device: u64, i: u64) -> Result<(), String> {
        self.device_mut(device)?
            .images
            .remove(&i)
            .map(|_| ())
            .ok_or_else(|| format!("unknown image {i:#x}"))
    }

    /// `vkGetImageMemoryRequirements`: any memory type (all are host-backed).
    pub fn image_requirements(
        &mut self,
        device: u64,
        i: u64,
    ) -> Result<vk::MemoryRequirements, String> {
        let d = self.device_mut(device)?;
        let img = d
            .images
            .get(&i)
            .ok_or_else(|| format!("unknown image {i:#x}"))?;
        Ok(vk::MemoryRequirements {
            size: img.layout.size,
            alignment: image::IMAGE_ALIGNMENT,
            memory_type_bits: (1u32 << MEMORY_TYPES.len()) - 1,
        })
    }

    /// `vkBindImageMemory`.
    pub fn bind_image(
        &mut self,
        device: u64,
        i: u64,
        memory: u64,
        offset: u64,
    ) -> Result<(), String> {
        let d = self.device_mut(device)?;
        let (mem_size, _) = Self::memory_of(d, memory)?;
        let img = d
            .images
            .get_mut(&i)
            .ok_or_else(|| format!("unknown image {i:#x}"))?;
        if img.bound.is_some() {
            return Err("the image is already bound".into());
        }
        if offset % image::IMAGE_ALIGNMENT != 0 || offset.saturating_add(img.layout.size) > mem_size
        {
            return Err(format!(
                "offset {offset} (alignment {}) with {} bytes does not fit the {mem_size}-byte memory",
                image::IMAGE_ALIGNMENT,
                img.layout.size
            ));
        }
        img.bound = Some((memory, offset));
        Ok(())
    }

    /// `vkCreateImageView`: (format, aspect, base layer, layer count).
    pub fn create_view(
        &mut self,
        device: u64,
        i: u64,
        view: (vk::Format, vk::ImageAspectFlags, u32, u32),
    ) -> Result<u64, String> {
        let id = self.id();
        let d = self.device_mut(device)?;
        let img = d
            .images
            .get(&i)
            .ok_or_else(|| format!("unknown image {i:#x}"))?;
        if img.bound.is_none() {
            return Err("the image has no memory bound".into());
        }
        image::check_view(&img.request, view.0, view.1, (view.2, view.3))?;
        let layer_count = if view.3 == vk::REMAINING_ARRAY_LAYERS {
            img.request.array_layers.saturating_sub(view.2)
        } else {
            view.3
        };
        d.views.insert(
            id,
            View {
                image: i,
                base_layer: view.2,
                layer_count,
            },
        );
        Ok(id)
    }

    /// `vkDestroyImageView`.
    pub fn destroy_view(&mut self, device: u64, v: u64) -> Result<(), String> {
        self.device_mut(device)?
            .views
            .remove(&v)
            .map(|_| ())
            .ok_or_else(|| format!("unknown image view {v:#x}"))
    }
}

/// A queue family as `vkGetPhysicalDeviceQueueFamilyProperties2` reports it.
#[derive(Clone, Copy, Debug)]
pub struct Family {
    /// `VkQueueFamilyProperties`.
    pub properties: vk::QueueFamilyProperties,
    /// `VkQueueFamilyVideoPropertiesKHR::videoCodecOperations`.
    pub video_operations: vk::VideoCodecOperationFlagsKHR,
    /// `VkQueueFamilyQueryResultStatusPropertiesKHR::queryResultStatusSupport`.
    pub query_result_status: bool,
}

/// The queue families: compute + transfer, then video encode.
pub fn queue_families(table: &DeviceTable) -> [Family; 2] {
    [
        Family {
            properties: vk::QueueFamilyProperties {
                queue_flags: vk::QueueFlags::COMPUTE | vk::QueueFlags::TRANSFER,
                queue_count: table.compute_queue_count,
                timestamp_valid_bits: 64,
                min_image_transfer_granularity: vk::Extent3D {
                    width: 1,
                    height: 1,
                    depth: 1,
                },
            },
            video_operations: vk::VideoCodecOperationFlagsKHR::NONE,
            query_result_status: false,
        },
        Family {
            properties: vk::QueueFamilyProperties {
                queue_flags: vk::QueueFlags::VIDEO_ENCODE_KHR,
                queue_count: table.encode_queue_count,
                timestamp_valid_bits: 64,
                min_image_transfer_granularity: vk::Extent3D {
                    width: 1,
                    height: 1,
                    depth: 1,
                },
            },
            video_operations: table.encode_operations,
            query_result_status: true,
        },
    ]
}

/// `vkGetPhysicalDeviceMemoryProperties`: one device-local heap of `heap_size` bytes.
pub fn memory_properties(table: &DeviceTable) -> vk::PhysicalDeviceMemoryProperties {
    let mut p = vk::PhysicalDeviceMemoryProperties {
        memory_type_count: u32::try_from(MEMORY_TYPES.len()).unwrap_or(0),
        memory_heap_count: 1,
        ..Default::default()
    };
    for (slot, flags) in p.memory_types.iter_mut().zip(MEMORY_TYPES) {
        *slot = vk::MemoryType {
            property_flags: flags,
            heap_index: 0,
        };
    }
    p.memory_heaps[0] = vk::MemoryHeap {
        size: table.heap_size,
        flags: vk::MemoryHeapFlags::DEVICE_LOCAL,
    };
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn driver_with_device() -> (Driver, u64) {
        let mut d = Driver::default();
        d.negotiate(7);
        let i = d.create_instance(vk::API_VERSION_1_3).unwrap();
        let pd = d.physical_devices(i).unwrap()[0];
        let dev = d
            .create_device(
                pd,
                &DeviceRequest {
                    queues: vec![QueueRequest {
                        family: 0,
                        count: 1,
                    }],
                    ..Default::default()
                },
            )
            .unwrap();
        (d, dev)
    }

    #[test]
    fn an_old_loader_gets_no_vulkan_1_3_instance() {
        let mut d = Driver::default();
        assert_eq!(d.negotiate(4), 4);
        assert_eq!(
            d.create_instance(vk::API_VERSION_1_3),
            Err(vk::Result::ERROR_INCOMPATIBLE_DRIVER)
        );
        assert!(d.create_instance(vk::API_VERSION_1_0).is_ok());
        assert_eq!(d.negotiate(9), MAX_INTERFACE_VERSION);
    }

    #[test]
    fn device_creation_checks_families_extensions_and_features() {
        let mut d = Driver::default();
        d.negotiate(7);
        let i = d.create_instance(0).unwrap();
        let pd = d.physical_devices(i).unwrap()[0];
        let err = |r: &DeviceRequest, d: &mut Driver| d.create_device(pd, r).unwrap_err();
        let mut r = DeviceRequest {
            queues: vec![QueueRequest {
                family: 2,
                count: 1,
            }],
            ..Default::default()
        };
        assert_eq!(
            err(&r, &mut d),
            "queue family 2 does not exist (the device has 2)"
        );
        r.queues = vec![QueueRequest {
            family: 1,
            count: 2,
        }];
        assert_eq!(err(&r, &mut d), "2 queues of family 1 asked for; it has 1");
        r.queues = vec![QueueRequest {
            family: 1,
            count: 1,
        }];
        r.extensions = vec!["VK_KHR_external_memory_fd".into()];
        assert_eq!(
            err(&r, &mut d),
            "EXTENSION_NOT_PRESENT VK_KHR_external_memory_fd"
        );
        r.extensions = vec!["VK_KHR_video_encode_queue".into()];
        r.features = vec![FeatureRequest {
            structure: "VkPhysicalDeviceVulkan12Features",
            requested: vec![false, true],
            supported: vec![true, false],
        }];
        assert_eq!(
            err(&r, &mut d),
            "FEATURE_NOT_PRESENT VkPhysicalDeviceVulkan12Features member 1 (counting the VkBool32 members from 0)"
        );
        r.features[0].supported = vec![true, true];
        let dev = d.create_device(pd, &r).unwrap();
        assert!(d.queue(dev, 1, 0).is_some());
        assert!(d.queue(dev, 0, 0).is_none());
        assert_eq!(d.destroy_device(dev), Some(0));
        assert!(d.destroy_instance(i));
        assert!(d.physical.is_empty());
    }

    #[test]
    fn memory_maps_only_host_visible_types_within_bounds() {
        let (mut d, dev) = driver_with_device();
        let local = d.allocate_memory(dev, 1000, 0).unwrap();
        assert_eq!(
            d.map_memory(dev, local, 0, vk::WHOLE_SIZE).unwrap_err(),
            "ERROR_MEMORY_MAP_FAILED memory type 0 is not host-visible"
        );
        let host = d.allocate_memory(dev, 1000, 1).unwrap();
        let p = d.map_memory(dev, host, 0, vk::WHOLE_SIZE).unwrap();
        assert_eq!(p.addr() % 64, 0);
        assert!(d.map_memory(dev, host, 0, 10).is_err());
        d.unmap_memory(dev, host).unwrap();
        assert!(d.map_memory(dev, host, 990, 11).is_err());
        assert!(d.map_memory(dev, host, 990, 10).is_ok());
        assert!(d
            .allocate_memory(dev, 1 << 30, 1)
            .unwrap_err()
            .starts_with("ERROR_OUT_OF_DEVICE_MEMORY"));
        d.free_memory(dev, local).unwrap();
        d.free_memory(dev, host).unwrap();
        assert!(d.free_memory(dev, host).is_err());
    }

    #[test]
    fn buffers_bind_at_aligned_offsets_that_fit() {
        let (mut d, dev) = driver_with_device();
        let mem = d.allocate_memory(dev, 4096, 1).unwrap();
        let b = d.create_buffer(dev, 1000).unwrap();
        let req = d.buffer_requirements(dev, b).unwrap();
        assert_eq!(
            (req.size, req.alignment, req.memory_type_bits),
            (1024, 256, 0b111)
        );
        assert!(d.bind_buffer(dev, b, mem, 100).is_err());
        assert!(d.bind_buffer(dev, b, mem, 3328).is_err());
        d.bind_buffer(dev, b, mem, 3072).unwrap();
        assert!(d.bind_buffer(dev, b, mem, 0).is_err());
        d.destroy_buffer(dev, b).unwrap();
        assert_eq!(d.destroy_device(dev), Some(1));
    }
}
