//! Engines: a Vulkan device GhostStream processes frames on, its own or the host
//! application's, shared by the sessions opened on it.

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::{Arc, Mutex, MutexGuard};

use ghoststream::gpu::ash::vk::{self, Handle as _};
use ghoststream::gpu::{DeviceSelector, GpuContext, GpuOptions, HostVulkan};

use crate::handles;
use crate::result::{
    c_string, guarded, Failure, GS_ERR_INVALID_CONFIG, GS_ERR_NULL, GS_ERR_STATE, GS_OK,
};
use crate::structs::{read_in, size_of_struct, write_out, OutputStruct};

/// A plain function pointer, as `vkGetInstanceProcAddr` is passed (cast it to this type).
pub type GsVoidFunction = Option<unsafe extern "C" fn()>;

/// How `gs_engine_create` picks and sets up its own Vulkan device. Initialise with
/// `gs_engine_options_defaults()`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GsEngineOptions {
    /// `sizeof(GsEngineOptions)`.
    pub size: u32,
    /// The device at this index of Vulkan's enumeration (0 to count − 1; beyond is
    /// `GS_ERR_GPU` naming the devices seen); -1 for the best (discrete first); any other
    /// negative value is `GS_ERR_INVALID_CONFIG`.
    pub device_index: i32,
    /// The first device whose name contains this text (case-insensitive); NULL for any.
    /// Borrowed for the call only.
    pub device_name: *const c_char,
    /// 1 turns on the Khronos validation layer and collects its messages (read them with
    /// `gs_engine_validation_messages`); fails when the layer is not installed.
    pub validation: i32,
}

/// The Vulkan objects of a host application, for `gs_engine_create_vulkan`. Dispatchable
/// handles (`VkInstance`, `VkPhysicalDevice`, `VkDevice`) are passed as pointers, so this
/// header needs no `vulkan.h`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GsVulkanHost {
    /// `sizeof(GsVulkanHost)`.
    pub size: u32,
    /// A queue family of `device` with compute support.
    pub queue_family: u32,
    /// The application's `vkGetInstanceProcAddr`, cast to `GsVoidFunction`.
    pub get_instance_proc_addr: GsVoidFunction,
    /// The `VkInstance`, created for Vulkan 1.3 or newer.
    pub instance: *mut c_void,
    /// The `VkPhysicalDevice` the device was made from.
    pub physical_device: *mut c_void,
    /// The `VkDevice`, created with the Vulkan 1.2 `timelineSemaphore` feature.
    pub device: *mut c_void,
    /// The queue's index within `queue_family`.
    pub queue_index: u32,
    /// How many names `extensions` holds.
    pub extension_count: u32,
    /// The device extensions the application enabled (GhostStream uses only these); borrowed
    /// for the call only. May be NULL when `extension_count` is 0.
    pub extensions: *const *const c_char,
}

/// What an engine's device is, with its raw Vulkan handles (so that an application can make
/// images on GhostStream's own device). Set `size` before `gs_engine_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GsEngineInfo {
    /// `sizeof(GsEngineInfo)`, set by the caller.
    pub size: u32,
    /// The device's Vulkan version, as `VK_MAKE_API_VERSION(0, major, minor, patch)`.
    pub api_version: u32,
    /// The device's name; lives as long as the engine.
    pub name: *const c_char,
    /// The driver's name and version; lives as long as the engine.
    pub driver: *const c_char,
    /// "discrete", "integrated", "virtual", "cpu" or "other"; lives as long as the engine.
    pub kind: *const c_char,
    /// The device UUID (the bytes CUDA reports for the same GPU).
    pub device_uuid: [u8; 16],
    /// Nanoseconds per GPU timestamp tick.
    pub timestamp_period_ns: f64,
    /// The `VkInstance`.
    pub instance: *mut c_void,
    /// The `VkPhysicalDevice`.
    pub physical_device: *mut c_void,
    /// The `VkDevice`.
    pub device: *mut c_void,
    /// The `VkQueue` GhostStream submits to.
    pub queue: *mut c_void,
    /// That queue's family.
    pub queue_family: u32,
    /// 1 when GPU timestamps map onto `CLOCK_MONOTONIC` (frame stats carry GPU start/end).
    pub maps_gpu_time: i32,
}

impl OutputStruct for GsEngineInfo {
    const NAME: &'static str = "GsEngineInfo";
    /// ABI 0.2's 96 bytes, its first version.
    const FIRST_SIZE: u32 = 96;
}

/// A Vulkan device and the objects GhostStream made on it (opaque).
pub struct GsEngine {
    ctx: Arc<GpuContext>,
    name: CString,
    driver: CString,
    kind: CString,
}

impl GsEngine {
    fn new(ctx: Arc<GpuContext>) -> Self {
        let info = ctx.device_info();
        Self {
            name: c_string(&info.name),
            driver: c_string(&info.driver),
            kind: c_string(&info.kind),
            ctx,
        }
    }

    pub(crate) fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }
}

/// Fills `options` with defaults (the best device, no validation) and its `size`. Any thread;
/// NULL is ignored.
///
/// # Safety
/// `options` is NULL or points at writable memory for a `GsEngineOptions`.
#[no_mangle]
pub unsafe extern "C" fn gs_engine_options_defaults(options: *mut GsEngineOptions) {
    if options.is_null() {
        return;
    }
    let defaults = GsEngineOptions {
        size: size_of_struct::<GsEngineOptions>(),
        device_index: -1,
        device_name: std::ptr::null(),
        validation: 0,
    };
    // SAFETY: non-null and writable for a GsEngineOptions (contract).
    unsafe { options.write_unaligned(defaults) };
}

/// Creates an engine on a Vulkan device of its own and stores it in `*out` (NULL on failure,
/// with the detail in `gs_last_error()`). Destroy it with `gs_engine_destroy`. Any thread.
///
/// # Safety
/// `options` is NULL or a readable `GsEngineOptions` of its declared size whose `device_name`
/// is NULL or a NUL-terminated string; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn gs_engine_create(
    options: *const GsEngineOptions,
    out: *mut *mut GsEngine,
) -> i32 {
    guarded(|| {
        // SAFETY: contract of this function.
        unsafe { handles::clear_out(out)? };
        // SAFETY: contract of this function.
        let o = unsafe { read_in(options, "options", "GsEngineOptions")? };
        if o.device_index < -1 {
            return Err(Failure::new(
                GS_ERR_INVALID_CONFIG,
                format!(
                    "options.device_index {} is not a device: use -1 for the best device, or 0 to the device count - 1",
                    o.device_index
                ),
            ));
        }
        let device = if !o.device_name.is_null() {
            // SAFETY: a NUL-terminated string (contract), read during the call only.
            let name = unsafe { CStr::from_ptr(o.device_name) };
            DeviceSelector::Name(name.to_string_lossy().into_owned())
        } else if let Ok(index) = usize::try_from(o.device_index) {
            DeviceSelector::Index(index)
        } else {
            DeviceSelector::Auto
        };
        let ctx = GpuContext::new(&GpuOptions {
            device,
            validation: o.validation != 0,
        })?;
        let engine = handles::publish(GsEngine::new(ctx));
        // SAFETY: checked non-null and writable above.
        unsafe { out.write(engine) };
        Ok(GS_OK)
    })
}

/// Creates an engine on the host application's Vulkan instance, device and queue, and stores
/// it in `*out`. GhostStream makes and destroys only its own objects on them. Any thread.
///
/// The application's submissions to the same queue must not overlap GhostStream's: take
/// `gs_engine_queue_lock` around them (or give GhostStream a queue nobody else uses).
///
/// # Safety
/// `host` is NULL or a readable `GsVulkanHost` of its declared size whose handles are valid,
/// belong together and outlive the engine and every session opened on it; `extensions` holds
/// `extension_count` NUL-terminated names; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn gs_engine_create_vulkan(
    host: *const GsVulkanHost,
    out: *mut *mut GsEngine,
) -> i32 {
    guarded(|| {
        // SAFETY: contract of this function.
        unsafe { handles::clear_out(out)? };
        // SAFETY: contract of this function.
        let h = unsafe { read_in(host, "host", "GsVulkanHost")? };
        let Some(gipa) = h.get_instance_proc_addr else {
            return Err(Failure::null("host.get_instance_proc_addr"));
        };
        for (what, p) in [
            ("host.instance", h.instance),
            ("host.physical_device", h.physical_device),
            ("host.device", h.device),
        ] {
            if p.is_null() {
                return Err(Failure::new(GS_ERR_NULL, format!("`{what}` is NULL")));
            }
        }
        if h.extension_count > 0 && h.extensions.is_null() {
            return Err(Failure::new(
                GS_ERR_NULL,
                format!(
                    "`host.extensions` is NULL but host.extension_count is {}",
                    h.extension_count
                ),
            ));
        }
        let mut extensions = Vec::with_capacity(h.extension_count as usize);
        for i in 0..h.extension_count as usize {
            // SAFETY: `extensions` holds `extension_count` pointers (contract).
            let name = unsafe { *h.extensions.add(i) };
            if name.is_null() {
                return Err(Failure::new(
                    GS_ERR_NULL,
                    format!("host.extensions[{i}] is NULL"),
                ));
            }
            // SAFETY: a NUL-terminated string (contract).
            extensions.push(
                unsafe { CStr::from_ptr(name) }
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        // SAFETY: the caller passes vkGetInstanceProcAddr cast to a plain function pointer;
        // casting it back gives the function it is (extern "system" is the C convention on
        // the platforms this library builds for).
        let gipa: vk::PFN_vkGetInstanceProcAddr = unsafe { std::mem::transmute(gipa) };
        let host = HostVulkan {
            get_instance_proc_addr: gipa,
            instance: vk::Instance::from_raw(h.instance as u64),
            physical_device: vk::PhysicalDevice::from_raw(h.physical_device as u64),
            device: vk::Device::from_raw(h.device as u64),
            queue_family: h.queue_family,
            queue_index: h.queue_index,
            enabled_extensions: extensions,
            queue_lock: None,
        };
        // SAFETY: the handles are valid, belong together and outlive the engine (contract of
        // this function, which restates from_host's).
        let ctx = unsafe { GpuContext::from_host(host)? };
        let engine = handles::publish(GsEngine::new(ctx));
        // SAFETY: checked non-null and writable above.
        unsafe { out.write(engine) };
        Ok(GS_OK)
    })
}

/// Destroys the engine. Sessions opened on it keep the device until they are destroyed too.
/// NULL and handles that are not live are ignored. Any thread, also while other threads call
/// on the engine: they finish on it, and it is freed when the last of them returns.
///
/// # Safety
/// `engine` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_engine_destroy(engine: *mut GsEngine) {
    handles::destroy(engine);
}

/// Fills `info` (whose `size` the caller set) with what the engine's device is. The strings
/// live as long as the engine. Any thread.
///
/// # Safety
/// `engine` is NULL or a pointer this library returned; `info` is NULL or writable for its
/// declared size.
#[no_mangle]
pub unsafe extern "C" fn gs_engine_info(engine: *mut GsEngine, info: *mut GsEngineInfo) -> i32 {
    handles::with(engine, "engine", |e| {
        let d = e.ctx.device_info();
        let (instance, physical, device, queue, family) = e.ctx.raw_handles();
        let (major, minor, patch) = d.api_version;
        let value = GsEngineInfo {
            size: size_of_struct::<GsEngineInfo>(),
            api_version: vk::make_api_version(0, major, minor, patch),
            name: e.name.as_ptr(),
            driver: e.driver.as_ptr(),
            kind: e.kind.as_ptr(),
            device_uuid: d.device_uuid,
            timestamp_period_ns: d.timestamp_period_ns,
            instance: instance.as_raw() as *mut c_void,
            physical_device: physical.as_raw() as *mut c_void,
            device: device.as_raw() as *mut c_void,
            queue: queue.as_raw() as *mut c_void,
            queue_family: family,
            maps_gpu_time: i32::from(e.ctx.maps_gpu_time()),
        };
        // SAFETY: contract of this function.
        unsafe { write_out(info, "info", value)? };
        Ok(GS_OK)
    })
}

/// Takes the validation layer's messages collected so far (engines created with
/// `validation = 1`): writes them, one per line, NUL-terminated and cut to `capacity` bytes,
/// into `buffer` (which may be NULL when `capacity` is 0), and returns how many there were
/// (0 when the device was silent), or a negative error. Any thread.
///
/// # Safety
/// `engine` is NULL or a pointer this library returned; `buffer` is NULL or writable for
/// `capacity` bytes.
#[no_mangle]
pub unsafe extern "C" fn gs_engine_validation_messages(
    engine: *mut GsEngine,
    buffer: *mut c_char,
    capacity: usize,
) -> i32 {
    handles::with(engine, "engine", |e| {
        if buffer.is_null() && capacity > 0 {
            return Err(Failure::new(
                GS_ERR_NULL,
                format!("`buffer` is NULL but capacity is {capacity}"),
            ));
        }
        let messages = e.ctx.take_validation_messages();
        if capacity > 0 {
            let text = messages.join("\n");
            let n = text.len().min(capacity - 1);
            // SAFETY: `buffer` is writable for `capacity` bytes (contract); n + 1 <= capacity.
            unsafe {
                std::ptr::copy_nonoverlapping(text.as_ptr(), buffer.cast::<u8>(), n);
                buffer.add(n).write(0);
            }
        }
        Ok(i32::try_from(messages.len()).unwrap_or(i32::MAX))
    })
}

/// A queue lock held by this thread: the engine's address, the lock (kept alive by a leaked
/// reference count until released) and the guard.
struct HeldLock {
    engine: usize,
    lock: *const Mutex<()>,
    guard: Option<MutexGuard<'static, ()>>,
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        drop(self.guard.take());
        // SAFETY: `lock` came from Arc::into_raw in gs_engine_queue_lock; this gives back the
        // one reference count taken there, after the guard borrowing it is gone.
        drop(unsafe { Arc::from_raw(self.lock) });
    }
}

thread_local! {
    static HELD: RefCell<Vec<HeldLock>> = const { RefCell::new(Vec::new()) };
}

/// Takes the lock GhostStream holds around every use of the engine's queue, for an
/// application that submits to the same queue: lock, `vkQueueSubmit`, unlock. Blocks while
/// GhostStream submits. Not recursive: a second lock on the same thread is `GS_ERR_STATE`.
/// Unlock on the same thread.
///
/// # Safety
/// `engine` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_engine_queue_lock(engine: *mut GsEngine) -> i32 {
    handles::with(engine, "engine", |e| {
        let key = engine as usize;
        if HELD.with(|h| h.borrow().iter().any(|l| l.engine == key)) {
            return Err(Failure::new(
                GS_ERR_STATE,
                "this thread already holds the engine's queue lock; unlock it first",
            ));
        }
        let lock = Arc::into_raw(e.ctx.queue_lock());
        // SAFETY: the reference count taken by into_raw keeps the mutex alive until the
        // HeldLock that owns it is dropped, which drops the guard first.
        let mutex: &'static Mutex<()> = unsafe { &*lock };
        let guard = mutex.lock().unwrap_or_else(|p| p.into_inner());
        HELD.with(|h| {
            h.borrow_mut().push(HeldLock {
                engine: key,
                lock,
                guard: Some(guard),
            })
        });
        Ok(GS_OK)
    })
}

/// Releases the queue lock this thread took with `gs_engine_queue_lock`; `GS_ERR_STATE` when
/// it holds none.
///
/// # Safety
/// `engine` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_engine_queue_unlock(engine: *mut GsEngine) -> i32 {
    handles::with(engine, "engine", |_| {
        let key = engine as usize;
        let held = HELD.with(|h| {
            let mut h = h.borrow_mut();
            let at = h.iter().position(|l| l.engine == key)?;
            Some(h.remove(at))
        });
        match held {
            Some(lock) => {
                drop(lock);
                Ok(GS_OK)
            }
            None => Err(Failure::new(
                GS_ERR_STATE,
                "this thread does not hold the engine's queue lock",
            )),
        }
    })
}

/// The detail of the engine's last failure (empty if none); valid until its next failing call
/// or its destruction. NULL or a dead handle gives a static explanation.
///
/// # Safety
/// `engine` is NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn gs_engine_last_error(engine: *const GsEngine) -> *const c_char {
    handles::last_error_of(engine, c"not a live engine")
}
