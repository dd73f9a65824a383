//! The entry points: `extern "system"` functions the loader calls, each converting its
//! pointers into checked Rust values, calling the safe logic (`driver`, `props`, `video`),
//! writing the results back and recording the call in the log. All of the crate's pointer
//! handling is here.

use std::ffi::{c_char, c_void, CStr};
use std::mem::offset_of;
use std::sync::LazyLock;

use ash::vk;
use ash::vk::Handle;

use crate::driver::{self, DeviceRequest, FeatureRequest, QueueRequest};
use crate::h264::{Pps, Sps, Vui};
use crate::h265::{self, SpsParts};
use crate::image::ImageRequest;
use crate::log::record;
use crate::session::{Add, Get, H264Add, H265Add, SessionRequest};
use crate::{av1, ffi_cmd, intra_refresh, props, video};

// ---------------------------------------------------------------------------------------------
// Pointer helpers. Each is `unsafe` with the contract the Vulkan spec gives the caller's pointer.

/// The structure behind `p`, or `None` for NULL.
///
/// # Safety
/// `p` is NULL or points to a valid, initialised `T` that lives for `'a`.
pub(crate) unsafe fn read<'a, T>(p: *const T) -> Option<&'a T> {
    // SAFETY: the caller's contract.
    unsafe { p.as_ref() }
}

/// The C string behind `p`.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string that lives for `'a`.
pub(crate) unsafe fn text<'a>(p: *const c_char) -> Option<&'a CStr> {
    // SAFETY: the caller's contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) })
}

/// Writes `value` to an out-parameter; false for NULL.
///
/// # Safety
/// `p` is NULL or valid for writing a `T`.
pub(crate) unsafe fn write<T>(p: *mut T, value: T) -> bool {
    if p.is_null() {
        return false;
    }
    // SAFETY: the caller's contract; `p` is not NULL.
    unsafe { p.write(value) };
    true
}

/// The nodes of an output `pNext` chain.
///
/// # Safety
/// `first` is NULL or the start of a chain of valid Vulkan output structures.
pub(crate) unsafe fn out_chain(first: *mut c_void) -> Vec<*mut vk::BaseOutStructure<'static>> {
    let mut nodes = Vec::new();
    let mut p = first.cast::<vk::BaseOutStructure<'static>>();
    while !p.is_null() && nodes.len() < 64 {
        nodes.push(p);
        // SAFETY: every node starts with sType and pNext (the caller's contract).
        p = unsafe { (*p).p_next };
    }
    nodes
}

/// The nodes of an input `pNext` chain.
///
/// # Safety
/// `first` is NULL or the start of a chain of valid Vulkan input structures.
pub(crate) unsafe fn in_chain(first: *const c_void) -> Vec<*const vk::BaseInStructure<'static>> {
    let mut nodes = Vec::new();
    let mut p = first.cast::<vk::BaseInStructure<'static>>();
    while !p.is_null() && nodes.len() < 64 {
        nodes.push(p);
        // SAFETY: every node starts with sType and pNext (the caller's contract).
        p = unsafe { (*p).p_next };
    }
    nodes
}

/// The `sType` of a chain node.
///
/// # Safety
/// `node` points to a valid Vulkan structure.
pub(crate) unsafe fn s_type<T>(node: *const T) -> vk::StructureType {
    // SAFETY: every Vulkan structure with a pNext starts with sType.
    unsafe { node.cast::<vk::StructureType>().read() }
}

/// Vulkan's two-call enumeration: with `out` NULL the count; otherwise up to `*count` items
/// filled in place by `fill(item, index)`, `*count` set to how many, INCOMPLETE when cut.
///
/// # Safety
/// `count` is valid for reading and writing; `out` is NULL or an array of `*count` valid `T`.
unsafe fn enumerate<T>(
    count: *mut u32,
    out: *mut T,
    total: usize,
    mut fill: impl FnMut(&mut T, usize),
) -> vk::Result {
    let total32 = u32::try_from(total).unwrap_or(u32::MAX);
    if count.is_null() {
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    }
    if out.is_null() {
        // SAFETY: count is valid (the caller's contract).
        unsafe { count.write(total32) };
        return vk::Result::SUCCESS;
    }
    // SAFETY: count is valid.
    let room = unsafe { count.read() };
    let n = room.min(total32);
    for i in 0..usize::try_from(n).unwrap_or(0) {
        // SAFETY: i < *count, so out + i is inside the caller's array of valid T.
        let item = unsafe { &mut *out.add(i) };
        fill(item, i);
    }
    // SAFETY: count is valid.
    unsafe { count.write(n) };
    if n < total32 {
        vk::Result::INCOMPLETE
    } else {
        vk::Result::SUCCESS
    }
}

/// A structure's `VkBool32` members from `first` (an offset) up to and including `last`.
///
/// # Safety
/// `p` points to a valid `T` whose members from offset `first` to `last` are all `VkBool32`.
unsafe fn bools<T>(p: *const T, first: usize, last: usize) -> Vec<bool> {
    let base = p.cast::<u8>();
    (first..=last)
        .step_by(4)
        // SAFETY: each offset is a VkBool32 member inside the T (the caller's contract).
        .map(|offset| unsafe { base.add(offset).cast::<vk::Bool32>().read() } != vk::FALSE)
        .collect()
}

/// Fills one output chain node with a `props` function, the node's type taken from it.
macro_rules! fill_node {
    ($node:expr, $f:path $(, $arg:expr)*) => {{
        // SAFETY: the match arm's sType says which structure the node is, and the caller's
        // chain is valid and writable.
        let s = unsafe { &mut *$node.cast() };
        $f(s $(, $arg)*)
    }};
}

pub(crate) fn handle_of<T: Handle>(h: T) -> u64 {
    h.as_raw()
}

// ---------------------------------------------------------------------------------------------
// The loader interface.

/// `vk_icdNegotiateLoaderICDInterfaceVersion`: agrees on the Loader and Driver Interface
/// version (at most 7).
///
/// # Safety
/// `version` is valid for reading and writing.
#[no_mangle]
pub unsafe extern "system" fn vk_icdNegotiateLoaderICDInterfaceVersion(
    version: *mut u32,
) -> vk::Result {
    // SAFETY: the loader passes a valid pointer.
    let Some(&asked) = (unsafe { read(version.cast_const()) }) else {
        record("vk_icdNegotiateLoaderICDInterfaceVersion -> ERROR_INITIALIZATION_FAILED");
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    };
    let agreed = driver::lock().negotiate(asked);
    // SAFETY: as above.
    unsafe { write(version, agreed) };
    record(&format!(
        "vk_icdNegotiateLoaderICDInterfaceVersion loader={asked} agreed={agreed} -> SUCCESS"
    ));
    vk::Result::SUCCESS
}

/// `vk_icdGetInstanceProcAddr`: global entry points (and the interface functions) for a NULL
/// instance, instance, physical-device and device entry points for a live one, NULL for
/// anything this driver does not implement.
///
/// # Safety
/// `name` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "system" fn vk_icdGetInstanceProcAddr(
    instance: vk::Instance,
    name: *const c_char,
) -> vk::PFN_vkVoidFunction {
    // SAFETY: the loader passes a NUL-terminated name.
    let name = unsafe { text(name) };
    let kinds: &[Kind] = if instance == vk::Instance::null() {
        &[Kind::Global, Kind::Interface]
    } else if driver::lock().physical_devices(handle_of(instance)).is_ok() {
        &[Kind::Instance, Kind::Physical, Kind::Device]
    } else {
        &[]
    };
    lookup("vk_icdGetInstanceProcAddr", name, kinds)
}

/// `vk_icdGetPhysicalDeviceProcAddr`: only entry points whose first parameter is a
/// `VkPhysicalDevice`.
///
/// # Safety
/// `name` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "system" fn vk_icdGetPhysicalDeviceProcAddr(
    _instance: vk::Instance,
    name: *const c_char,
) -> vk::PFN_vkVoidFunction {
    // SAFETY: the loader passes a NUL-terminated name.
    let name = unsafe { text(name) };
    lookup("vk_icdGetPhysicalDeviceProcAddr", name, &[Kind::Physical])
}

unsafe extern "system" fn get_instance_proc_addr(
    instance: vk::Instance,
    name: *const c_char,
) -> vk::PFN_vkVoidFunction {
    // SAFETY: same contract.
    unsafe { vk_icdGetInstanceProcAddr(instance, name) }
}

unsafe extern "system" fn get_device_proc_addr(
    device: vk::Device,
    name: *const c_char,
) -> vk::PFN_vkVoidFunction {
    // SAFETY: the caller passes a NUL-terminated name.
    let name = unsafe { text(name) };
    let live = driver::lock().device_table(handle_of(device)).is_some();
    lookup(
        "vkGetDeviceProcAddr",
        name,
        if live { &[Kind::Device] } else { &[] },
    )
}

fn lookup(via: &str, name: Option<&CStr>, kinds: &[Kind]) -> vk::PFN_vkVoidFunction {
    let name = name.and_then(|n| n.to_str().ok()).unwrap_or("");
    let found = ENTRY_POINTS
        .iter()
        .find(|e| e.name == name && kinds.contains(&e.kind))
        .map(|e| e.f);
    record(&format!(
        "{via} {name} -> {}",
        if found.is_some() { "found" } else { "null" }
    ));
    found
}

// ---------------------------------------------------------------------------------------------
// Global and instance entry points.

unsafe extern "system" fn enumerate_instance_version(version: *mut u32) -> vk::Result {
    let v = crate::caps::active().api_version;
    // SAFETY: the caller passes a writable pointer.
    let ok = unsafe { write(version, v) };
    let r = if ok {
        vk::Result::SUCCESS
    } else {
        vk::Result::ERROR_INITIALIZATION_FAILED
    };
    record(&format!("vkEnumerateInstanceVersion -> {r:?}"));
    r
}

unsafe extern "system" fn enumerate_instance_extension_properties(
    layer: *const c_char,
    count: *mut u32,
    out: *mut vk::ExtensionProperties,
) -> vk::Result {
    // The driver has no instance extensions (debug utils come from the validation layer).
    let r = if layer.is_null() {
        // SAFETY: the caller's count/array contract.
        unsafe { enumerate(count, out, 0, |_, _| {}) }
    } else {
        vk::Result::ERROR_LAYER_NOT_PRESENT
    };
    record(&format!("vkEnumerateInstanceExtensionProperties -> {r:?}"));
    r
}

unsafe extern "system" fn create_instance(
    info: *const vk::InstanceCreateInfo<'_>,
    _allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Instance,
) -> vk::Result {
    // SAFETY: the caller passes a valid create info.
    let Some(info) = (unsafe { read(info) }) else {
        record("vkCreateInstance pCreateInfo=NULL -> ERROR_INITIALIZATION_FAILED");
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    };
    // SAFETY: the application info is NULL or valid (part of the create info).
    let api = unsafe { read(info.p_application_info) }.map_or(0, |a| a.api_version);
    let count = usize::try_from(info.enabled_extension_count).unwrap_or(0);
    let mut extensions = Vec::new();
    for i in 0..count {
        // SAFETY: ppEnabledExtensionNames holds enabledExtensionCount valid strings.
        let name = unsafe { text(*info.pp_enabled_extension_names.add(i)) };
        extensions.push(
            name.map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    let detail = format!(
        "apiVersion={}.{}.{} extensions={}",
        vk::api_version_major(api),
        vk::api_version_minor(api),
        vk::api_version_patch(api),
        extensions.join(",")
    );
    let r = if let Some(e) = extensions.first() {
        // The loader passes only extensions the driver listed, and it lists none.
        record(&format!(
            "vkCreateInstance {detail} unknown extension {e} -> ERROR_EXTENSION_NOT_PRESENT"
        ));
        return vk::Result::ERROR_EXTENSION_NOT_PRESENT;
    } else {
        driver::lock().create_instance(api)
    };
    match r {
        Ok(h) => {
            // SAFETY: the caller passes a writable handle pointer.
            unsafe { write(out, vk::Instance::from_raw(h)) };
            record(&format!("vkCreateInstance {detail} -> SUCCESS"));
            vk::Result::SUCCESS
        }
        Err(e) => {
            record(&format!("vkCreateInstance {detail} -> {e:?}"));
            e
        }
    }
}

unsafe extern "system" fn destroy_instance(
    instance: vk::Instance,
    _allocator: *const vk::AllocationCallbacks<'_>,
) {
    let known =
        instance == vk::Instance::null() || driver::lock().destroy_instance(handle_of(instance));
    record(&format!(
        "vkDestroyInstance{}",
        if known { "" } else { " unknown handle" }
    ));
}

unsafe extern "system" fn enumerate_physical_devices(
    instance: vk::Instance,
    count: *mut u32,
    out: *mut vk::PhysicalDevice,
) -> vk::Result {
    let r = match driver::lock().physical_devices(handle_of(instance)) {
        // SAFETY: the caller's count/array contract.
        Ok(list) => unsafe {
            enumerate(count, out, list.len(), |item, i| {
                *item = vk::PhysicalDevice::from_raw(list[i])
            })
        },
        Err(e) => e,
    };
    record(&format!("vkEnumeratePhysicalDevices -> {r:?}"));
    r
}

/// The table of a physical device handle, logging `what` when the handle is unknown.
fn table_of(pd: vk::PhysicalDevice, what: &str) -> Option<&'static crate::caps::DeviceTable> {
    let t = driver::lock().table(handle_of(pd));
    if t.is_none() {
        record(&format!(
            "{what} unknown physical device -> ERROR_INITIALIZATION_FAILED"
        ));
    }
    t
}

unsafe extern "system" fn get_physical_device_properties(
    pd: vk::PhysicalDevice,
    out: *mut vk::PhysicalDeviceProperties,
) {
    let Some(t) = table_of(pd, "vkGetPhysicalDeviceProperties") else {
        return;
    };
    // SAFETY: the caller passes a writable structure.
    unsafe { write(out, props::properties(t)) };
    record("vkGetPhysicalDeviceProperties");
}

unsafe extern "system" fn get_physical_device_properties2(
    pd: vk::PhysicalDevice,
    out: *mut vk::PhysicalDeviceProperties2<'_>,
) {
    let Some(t) = table_of(pd, "vkGetPhysicalDeviceProperties2") else {
        return;
    };
    if out.is_null() {
        return;
    }
    // SAFETY: the caller passes a valid, writable structure.
    let p = unsafe { &mut *out };
    p.properties = props::properties(t);
    let mut filled = Vec::new();
    // SAFETY: the structure's chain is valid (the caller's contract).
    for node in unsafe { out_chain(p.p_next) } {
        // SAFETY: node is a valid chain structure.
        let st = unsafe { s_type(node) };
        match st {
            vk::StructureType::PHYSICAL_DEVICE_DRIVER_PROPERTIES => {
                fill_node!(node, props::fill_driver, t)
            }
            vk::StructureType::PHYSICAL_DEVICE_ID_PROPERTIES => {
                fill_node!(node, props::fill_id, t)
            }
            vk::StructureType::PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES => {
                fill_node!(node, props::fill_vulkan11, t)
            }
            vk::StructureType::PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES => {
                fill_node!(node, props::fill_vulkan12, t)
            }
            vk::StructureType::PHYSICAL_DEVICE_VULKAN_1_3_PROPERTIES => {
                fill_node!(node, props::fill_vulkan13, t)
            }
            vk::StructureType::PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_PROPERTIES => {
                fill_node!(node, props::fill_timeline)
            }
            vk::StructureType::PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES => {
                fill_node!(node, props::fill_maintenance3, t)
            }
            vk::StructureType::PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES => {
                fill_node!(node, props::fill_maintenance4, t)
            }
            vk::StructureType::PHYSICAL_DEVICE_SUBGROUP_PROPERTIES => {
                fill_node!(node, props::fill_subgroup)
            }
            vk::StructureType::PHYSICAL_DEVICE_MULTIVIEW_PROPERTIES => {
                fill_node!(node, props::fill_multiview)
            }
            vk::StructureType::PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES => {
                fill_node!(node, props::fill_subgroup_size_control)
            }
            vk::StructureType::PHYSICAL_DEVICE_INLINE_UNIFORM_BLOCK_PROPERTIES => {
                fill_node!(node, props::fill_inline_uniform_block)
            }
            vk::StructureType::PHYSICAL_DEVICE_TEXEL_BUFFER_ALIGNMENT_PROPERTIES => {
                fill_node!(node, props::fill_texel_buffer_alignment)
            }
            other => {
                filled.push(format!("unfilled={}", other.as_raw()));
                continue;
            }
        }
        filled.push(format!("{}", st.as_raw()));
    }
    record(&format!(
        "vkGetPhysicalDeviceProperties2 chain={}",
        filled.join(",")
    ));
}

unsafe extern "system" fn get_physical_device_features(
    pd: vk::PhysicalDevice,
    out: *mut vk::PhysicalDeviceFeatures,
) {
    if table_of(pd, "vkGetPhysicalDeviceFeatures").is_none() {
        return;
    }
    // SAFETY: the caller passes a writable structure.
    unsafe { write(out, props::features10()) };
    record("vkGetPhysicalDeviceFeatures");
}

unsafe extern "system" fn get_physical_device_features2(
    pd: vk::PhysicalDevice,
    out: *mut vk::PhysicalDeviceFeatures2<'_>,
) {
    let Some(t) = table_of(pd, "vkGetPhysicalDeviceFeatures2") else {
        return;
    };
    if out.is_null() {
        return;
    }
    // SAFETY: the caller passes a valid, writable structure.
    let f = unsafe { &mut *out };
    f.features = props::features10();
    let mut filled = Vec::new();
    // SAFETY: the structure's chain is valid.
    for node in unsafe { out_chain(f.p_next) } {
        // SAFETY: node is a valid chain structure.
        let st = unsafe { s_type(node) };
        match st {
            vk::StructureType::PHYSICAL_DEVICE_VULKAN_1_1_FEATURES => {
                fill_node!(node, props::fill_features11)
            }
            vk::StructureType::PHYSICAL_DEVICE_VULKAN_1_2_FEATURES => {
                fill_node!(node, props::fill_features12)
            }
            vk::StructureType::PHYSICAL_DEVICE_VULKAN_1_3_FEATURES => {
                fill_node!(node, props::fill_features13)
            }
            vk::StructureType::PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES => {
                fill_node!(node, props::fill_timeline_features)
            }
            vk::StructureType::PHYSICAL_DEVICE_SYNCHRONIZATION_2_FEATURES => {
                fill_node!(node, props::fill_sync2_features)
            }
            vk::StructureType::PHYSICAL_DEVICE_SAMPLER_YCBCR_CONVERSION_FEATURES => {
                fill_node!(node, props::fill_ycbcr_features)
            }
            av1::structure_type::PHYSICAL_DEVICE_VIDEO_ENCODE_AV1_FEATURES_KHR => {
                fill_node!(node, props::fill_av1_features)
            }
            intra_refresh::structure_type::PHYSICAL_DEVICE_VIDEO_ENCODE_INTRA_REFRESH_FEATURES_KHR => {
                fill_node!(node, props::fill_intra_refresh_features, t)
            }
            other => {
                filled.push(format!("unfilled={}", other.as_raw()));
                continue;
            }
        }
        filled.push(format!("{}", st.as_raw()));
    }
    record(&format!(
        "vkGetPhysicalDeviceFeatures2 chain={}",
        filled.join(",")
    ));
}

unsafe extern "system" fn get_physical_device_queue_family_properties(
    pd: vk::PhysicalDevice,
    count: *mut u32,
    out: *mut vk::QueueFamilyProperties,
) {
    let Some(t) = table_of(pd, "vkGetPhysicalDeviceQueueFamilyProperties") else {
        return;
    };
    let families = driver::queue_families(t);
    // SAFETY: the caller's count/array contract.
    let r = unsafe {
        enumerate(count, out, families.len(), |item, i| {
            *item = families[i].properties
        })
    };
    record(&format!(
        "vkGetPhysicalDeviceQueueFamilyProperties -> {r:?}"
    ));
}

unsafe extern "system" fn get_physical_device_queue_family_properties2(
    pd: vk::PhysicalDevice,
    count: *mut u32,
    out: *mut vk::QueueFamilyProperties2<'_>,
) {
    let Some(t) = table_of(pd, "vkGetPhysicalDeviceQueueFamilyProperties2") else {
        return;
    };
    let families = driver::queue_families(t);
    let mut chained = Vec::new();
    let fill = |item: &mut vk::QueueFamilyProperties2<'_>, i: usize| {
        let family = families[i];
        item.queue_family_properties = family.properties;
        // SAFETY: each array element's chain is valid (the caller's contract).
        for node in unsafe { out_chain(item.p_next) } {
            // SAFETY: node is a valid chain structure.
            match unsafe { s_type(node) } {
                vk::StructureType::QUEUE_FAMILY_VIDEO_PROPERTIES_KHR => {
                    // SAFETY: the sType says what the node is.
                    let v = unsafe { &mut *node.cast::<vk::QueueFamilyVideoPropertiesKHR<'_>>() };
                    v.video_codec_operations = family.video_operations;
                    chained.push(format!("{i}:video={:#x}", family.video_operations.as_raw()));
                }
                vk::StructureType::QUEUE_FAMILY_QUERY_RESULT_STATUS_PROPERTIES_KHR => {
                    // SAFETY: the sType says what the node is.
                    let q = unsafe {
                        &mut *node.cast::<vk::QueueFamilyQueryResultStatusPropertiesKHR<'_>>()
                    };
                    q.query_result_status_support = vk::Bool32::from(family.query_result_status);
                    chained.push(format!("{i}:result_status"));
                }
                other => chained.push(format!("{i}:unfilled={}", other.as_raw())),
            }
        }
    };
    // SAFETY: the caller's count/array contract.
    let r = unsafe { enumerate(count, out, families.len(), fill) };
    record(&format!(
        "vkGetPhysicalDeviceQueueFamilyProperties2 chain={} -> {r:?}",
        chained.join(",")
    ));
}

unsafe extern "system" fn get_physical_device_memory_properties(
    pd: vk::PhysicalDevice,
    out: *mut vk::PhysicalDeviceMemoryProperties,
) {
    let Some(t) = table_of(pd, "vkGetPhysicalDeviceMemoryProperties") else {
        return;
    };
    // SAFETY: the caller passes a writable structure.
    unsafe { write(out, driver::memory_properties(t)) };
    record("vkGetPhysicalDeviceMemoryProperties");
}

unsafe extern "system" fn get_physical_device_memory_properties2(
    pd: vk::PhysicalDevice,
    out: *mut vk::PhysicalDeviceMemoryProperties2<'_>,
) {
    let Some(t) = table_of(pd, "vkGetPhysicalDeviceMemoryProperties2") else {
        return;
    };
    // SAFETY: the caller passes a valid, writable structure.
    if let Some(p) = unsafe { out.as_mut() } {
        p.memory_properties = driver::memory_properties(t);
    }
    record("vkGetPhysicalDeviceMemoryProperties2");
}

unsafe extern "system" fn get_physical_device_format_properties(
    pd: vk::PhysicalDevice,
    format: vk::Format,
    out: *mut vk::FormatProperties,
) {
    if table_of(pd, "vkGetPhysicalDeviceFormatProperties").is_none() {
        return;
    }
    // SAFETY: the caller passes a writable structure.
    unsafe { write(out, props::format_properties(format)) };
    record(&format!(
        "vkGetPhysicalDeviceFormatProperties format={}",
        format.as_raw()
    ));
}

unsafe extern "system" fn get_physical_device_format_properties2(
    pd: vk::PhysicalDevice,
    format: vk::Format,
    out: *mut vk::FormatProperties2<'_>,
) {
    if table_of(pd, "vkGetPhysicalDeviceFormatProperties2").is_none() {
        return;
    }
    // SAFETY: the caller passes a valid, writable structure.
    if let Some(p) = unsafe { out.as_mut() } {
        p.format_properties = props::format_properties(format);
    }
    record(&format!(
        "vkGetPhysicalDeviceFormatProperties2 format={}",
        format.as_raw()
    ));
}

unsafe extern "system" fn get_physical_device_image_format_properties(
    pd: vk::PhysicalDevice,
    format: vk::Format,
    kind: vk::ImageType,
    tiling: vk::ImageTiling,
    usage: vk::ImageUsageFlags,
    flags: vk::ImageCreateFlags,
    out: *mut vk::ImageFormatProperties,
) -> vk::Result {
    const NAME: &str = "vkGetPhysicalDeviceImageFormatProperties";
    let Some(t) = table_of(pd, NAME) else {
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    };
    let detail = format!(
        "format={} usage={:#x} flags={:#x}",
        format.as_raw(),
        usage.as_raw(),
        flags.as_raw()
    );
    let r = match props::image_format_properties(t, format, kind, tiling, usage, flags) {
        Ok(p) => {
            // SAFETY: the caller passes a writable structure.
            unsafe { write(out, p) };
            vk::Result::SUCCESS
        }
        Err(e) => e,
    };
    record(&format!("{NAME} {detail} -> {r:?}"));
    r
}

unsafe extern "system" fn get_physical_device_image_format_properties2(
    pd: vk::PhysicalDevice,
    info: *const vk::PhysicalDeviceImageFormatInfo2<'_>,
    out: *mut vk::ImageFormatProperties2<'_>,
) -> vk::Result {
    const NAME: &str = "vkGetPhysicalDeviceImageFormatProperties2";
    let Some(t) = table_of(pd, NAME) else {
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    };
    // SAFETY: the caller passes valid structures.
    let (Some(i), Some(o)) = (unsafe { read(info) }, unsafe { out.as_mut() }) else {
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    };
    let detail = format!(
        "format={} usage={:#x} flags={:#x}",
        i.format.as_raw(),
        i.usage.as_raw(),
        i.flags.as_raw()
    );
    let r = match props::image_format_properties(t, i.format, i.ty, i.tiling, i.usage, i.flags) {
        Ok(p) => {
            o.image_format_properties = p;
            vk::Result::SUCCESS
        }
        Err(e) => e,
    };
    record(&format!("{NAME} {detail} -> {r:?}"));
    r
}

unsafe extern "system" fn get_physical_device_sparse_image_format_properties(
    pd: vk::PhysicalDevice,
    _format: vk::Format,
    _kind: vk::ImageType,
    _samples: vk::SampleCountFlags,
    _usage: vk::ImageUsageFlags,
    _tiling: vk::ImageTiling,
    count: *mut u32,
    out: *mut vk::SparseImageFormatProperties,
) {
    if table_of(pd, "vkGetPhysicalDeviceSparseImageFormatProperties").is_none() {
        return;
    }
    // No sparse images: always none.
    // SAFETY: the caller's count/array contract.
    let r = unsafe { enumerate(count, out, 0, |_, _| {}) };
    record(&format!(
        "vkGetPhysicalDeviceSparseImageFormatProperties -> {r:?}"
    ));
}

unsafe extern "system" fn get_physical_device_sparse_image_format_properties2(
    pd: vk::PhysicalDevice,
    _info: *const vk::PhysicalDeviceSparseImageFormatInfo2<'_>,
    count: *mut u32,
    out: *mut vk::SparseImageFormatProperties2<'_>,
) {
    if table_of(pd, "vkGetPhysicalDeviceSparseImageFormatProperties2").is_none() {
        return;
    }
    // SAFETY: the caller's count/array contract.
    let r = unsafe { enumerate(count, out, 0, |_, _| {}) };
    record(&format!(
        "vkGetPhysicalDeviceSparseImageFormatProperties2 -> {r:?}"
    ));
}

unsafe extern "system" fn enumerate_device_extension_properties(
    pd: vk::PhysicalDevice,
    layer: *const c_char,
    count: *mut u32,
    out: *mut vk::ExtensionProperties,
) -> vk::Result {
    let Some(t) = table_of(pd, "vkEnumerateDeviceExtensionProperties") else {
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    };
    let offered = driver::device_extensions(t);
    let r = if layer.is_null() {
        let fill = |item: &mut vk::ExtensionProperties, i: usize| {
            let (name, version) = offered[i];
            *item = vk::ExtensionProperties::default();
            props::copy_str(&mut item.extension_name, name.to_str().unwrap_or(""));
            item.spec_version = version;
        };
        // SAFETY: the caller's count/array contract.
        unsafe { enumerate(count, out, offered.len(), fill) }
    } else {
        vk::Result::ERROR_LAYER_NOT_PRESENT
    };
    record(&format!("vkEnumerateDeviceExtensionProperties -> {r:?}"));
    r
}

/// Reads one feature structure of a create-info chain against what the device has.
macro_rules! feature_request {
    ($node:expr, $ty:ty, $name:expr, $last:ident, $fill:expr) => {{
        let first = offset_of!($ty, p_next) + std::mem::size_of::<*const c_void>();
        let last = offset_of!($ty, $last);
        let mut have = <$ty>::default();
        $fill(&mut have);
        FeatureRequest {
            structure: $name,
            // SAFETY: the sType says the node is this structure, whose members from `first`
            // to `last` are all VkBool32.
            requested: unsafe { bools($node.cast::<$ty>(), first, last) },
            // SAFETY: as above, for a structure of our own.
            supported: unsafe { bools(&raw const have, first, last) },
        }
    }};
}

unsafe extern "system" fn create_device(
    pd: vk::PhysicalDevice,
    info: *const vk::DeviceCreateInfo<'_>,
    _allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Device,
) -> vk::Result {
    // SAFETY: the caller passes a valid create info.
    let Some(info) = (unsafe { read(info) }) else {
        record("vkCreateDevice pCreateInfo=NULL -> ERROR_INITIALIZATION_FAILED");
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    };
    let Some(table) = table_of(pd, "vkCreateDevice") else {
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    };
    let mut request = DeviceRequest::default();
    for i in 0..usize::try_from(info.queue_create_info_count).unwrap_or(0) {
        // SAFETY: pQueueCreateInfos holds queueCreateInfoCount valid structures.
        let q = unsafe { &*info.p_queue_create_infos.add(i) };
        request.queues.push(QueueRequest {
            family: q.queue_family_index,
            count: q.queue_count,
        });
    }
    for i in 0..usize::try_from(info.enabled_extension_count).unwrap_or(0) {
        // SAFETY: ppEnabledExtensionNames holds enabledExtensionCount valid strings.
        let name = unsafe { text(*info.pp_enabled_extension_names.add(i)) };
        request.extensions.push(
            name.map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    let features10_last = std::mem::size_of::<vk::PhysicalDeviceFeatures>() - 4;
    let features10_have = props::features10();
    // SAFETY: pEnabledFeatures is NULL or a valid VkPhysicalDeviceFeatures (all VkBool32).
    if let Some(f) = unsafe { read(info.p_enabled_features) } {
        request.features.push(FeatureRequest {
            structure: "VkPhysicalDeviceFeatures",
            // SAFETY: VkPhysicalDeviceFeatures consists of VkBool32 members only.
            requested: unsafe { bools(f, 0, features10_last) },
            // SAFETY: as above.
            supported: unsafe { bools(&raw const features10_have, 0, features10_last) },
        });
    }
    let mut ignored = Vec::new();
    // SAFETY: the create info's chain is valid.
    for node in unsafe { in_chain(info.p_next) } {
        // SAFETY: node is a valid chain structure.
        let f = match unsafe { s_type(node) } {
            vk::StructureType::PHYSICAL_DEVICE_FEATURES_2 => {
                let start = offset_of!(vk::PhysicalDeviceFeatures2<'_>, features);
                FeatureRequest {
                    structure: "VkPhysicalDeviceFeatures2",
                    // SAFETY: the sType says what the node is; its `features` member is all VkBool32.
                    requested: unsafe {
                        bools(
                            node.cast::<vk::PhysicalDeviceFeatures2<'_>>(),
                            start,
                            start + features10_last,
                        )
                    },
                    // SAFETY: as above, for our own structure.
                    supported: unsafe { bools(&raw const features10_have, 0, features10_last) },
                }
            }
            vk::StructureType::PHYSICAL_DEVICE_VULKAN_1_1_FEATURES => feature_request!(
                node,
                vk::PhysicalDeviceVulkan11Features<'_>,
                "VkPhysicalDeviceVulkan11Features",
                shader_draw_parameters,
                props::fill_features11
            ),
            vk::StructureType::PHYSICAL_DEVICE_VULKAN_1_2_FEATURES => feature_request!(
                node,
                vk::PhysicalDeviceVulkan12Features<'_>,
                "VkPhysicalDeviceVulkan12Features",
                subgroup_broadcast_dynamic_id,
                props::fill_features12
            ),
            vk::StructureType::PHYSICAL_DEVICE_VULKAN_1_3_FEATURES => feature_request!(
                node,
                vk::PhysicalDeviceVulkan13Features<'_>,
                "VkPhysicalDeviceVulkan13Features",
                maintenance4,
                props::fill_features13
            ),
            vk::StructureType::PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES => feature_request!(
                node,
                vk::PhysicalDeviceTimelineSemaphoreFeatures<'_>,
                "VkPhysicalDeviceTimelineSemaphoreFeatures",
                timeline_semaphore,
                props::fill_timeline_features
            ),
            vk::StructureType::PHYSICAL_DEVICE_SYNCHRONIZATION_2_FEATURES => feature_request!(
                node,
                vk::PhysicalDeviceSynchronization2Features<'_>,
                "VkPhysicalDeviceSynchronization2Features",
                synchronization2,
                props::fill_sync2_features
            ),
            vk::StructureType::PHYSICAL_DEVICE_SAMPLER_YCBCR_CONVERSION_FEATURES => {
                feature_request!(
                    node,
                    vk::PhysicalDeviceSamplerYcbcrConversionFeatures<'_>,
                    "VkPhysicalDeviceSamplerYcbcrConversionFeatures",
                    sampler_ycbcr_conversion,
                    props::fill_ycbcr_features
                )
            }
            av1::structure_type::PHYSICAL_DEVICE_VIDEO_ENCODE_AV1_FEATURES_KHR => {
                feature_request!(
                    node,
                    av1::PhysicalDeviceVideoEncodeAV1FeaturesKHR<'_>,
                    "VkPhysicalDeviceVideoEncodeAV1FeaturesKHR",
                    video_encode_av1,
                    props::fill_av1_features
                )
            }
            intra_refresh::structure_type::PHYSICAL_DEVICE_VIDEO_ENCODE_INTRA_REFRESH_FEATURES_KHR => {
                feature_request!(
                    node,
                    intra_refresh::PhysicalDeviceVideoEncodeIntraRefreshFeaturesKHR,
                    driver::INTRA_REFRESH_FEATURES,
                    video_encode_intra_refresh,
                    |f| props::fill_intra_refresh_features(f, table)
                )
            }
            // The loader's own structures (VK_STRUCTURE_TYPE_LOADER_DEVICE_CREATE_INFO).
            vk::StructureType::LOADER_DEVICE_CREATE_INFO => continue,
            other => {
                ignored.push(other.as_raw().to_string());
                continue;
            }
        };
        request.features.push(f);
    }
    let detail = format!(
        "queues={} extensions={} features={} ignored={}",
        request
            .queues
            .iter()
            .map(|q| format!("{}:{}", q.family, q.count))
            .collect::<Vec<_>>()
            .join(","),
        request.extensions.join(","),
        request
            .features
            .iter()
            .map(|f| f.structure)
            .collect::<Vec<_>>()
            .join(","),
        ignored.join(",")
    );
    match driver::lock().create_device(handle_of(pd), &request) {
        Ok(h) => {
            // SAFETY: the caller passes a writable handle pointer.
            unsafe { write(out, vk::Device::from_raw(h)) };
            record(&format!("vkCreateDevice {detail} -> SUCCESS"));
            vk::Result::SUCCESS
        }
        Err(reason) => {
            let r = if reason.starts_with("EXTENSION_NOT_PRESENT") {
                vk::Result::ERROR_EXTENSION_NOT_PRESENT
            } else if reason.starts_with("FEATURE_NOT_PRESENT") {
                vk::Result::ERROR_FEATURE_NOT_PRESENT
            } else {
                vk::Result::ERROR_INITIALIZATION_FAILED
            };
            record(&format!("vkCreateDevice {detail} ({reason}) -> {r:?}"));
            r
        }
    }
}

/// A video profile from the caller's structure and its chain.
///
/// # Safety
/// `p` is a valid `VkVideoProfileInfoKHR` with a valid chain.
pub(crate) unsafe fn profile(p: &vk::VideoProfileInfoKHR<'_>) -> video::Profile {
    let mut idc = None;
    // SAFETY: the profile's chain is valid (the caller's contract).
    for node in unsafe { in_chain(p.p_next) } {
        // SAFETY: node is a valid chain structure; each arm's sType says what it is.
        match unsafe { s_type(node) } {
            vk::StructureType::VIDEO_ENCODE_H264_PROFILE_INFO_KHR
                if p.video_codec_operation == vk::VideoCodecOperationFlagsKHR::ENCODE_H264 =>
            {
                // SAFETY: as above.
                idc = Some(
                    unsafe { &*node.cast::<vk::VideoEncodeH264ProfileInfoKHR<'_>>() }
                        .std_profile_idc,
                );
            }
            vk::StructureType::VIDEO_ENCODE_H265_PROFILE_INFO_KHR
                if p.video_codec_operation == vk::VideoCodecOperationFlagsKHR::ENCODE_H265 =>
            {
                // SAFETY: as above.
                idc = Some(
                    unsafe { &*node.cast::<vk::VideoEncodeH265ProfileInfoKHR<'_>>() }
                        .std_profile_idc,
                );
            }
            av1::structure_type::VIDEO_ENCODE_AV1_PROFILE_INFO_KHR
                if p.video_codec_operation == av1::VIDEO_CODEC_OPERATION_ENCODE_AV1 =>
            {
                // SAFETY: as above.
                idc = Some(
                    unsafe { &*node.cast::<av1::VideoEncodeAV1ProfileInfoKHR<'_>>() }.std_profile,
                );
            }
            _ => {}
        }
    }
    video::Profile {
        operation: p.video_codec_operation,
        chroma: p.chroma_subsampling,
        luma: p.luma_bit_depth,
        chroma_depth: p.chroma_bit_depth,
        std_profile_idc: idc,
    }
}

/// The `VkVideoEncodeUsageInfoKHR` of a profile's chain, for the log: its usage hints, content
/// hints and tuning mode as raw numbers (`usage=none` without one).
///
/// # Safety
/// `p` is a valid `VkVideoProfileInfoKHR` with a valid chain.
pub(crate) unsafe fn usage_detail(p: &vk::VideoProfileInfoKHR<'_>) -> String {
    // SAFETY: the profile's chain is valid (the caller's contract).
    for node in unsafe { in_chain(p.p_next) } {
        // SAFETY: node is a valid chain structure.
        if unsafe { s_type(node) } == vk::StructureType::VIDEO_ENCODE_USAGE_INFO_KHR {
            // SAFETY: the sType says what the node is.
            let u = unsafe { &*node.cast::<vk::VideoEncodeUsageInfoKHR<'_>>() };
            return format!(
                "usage={:#x}/{:#x}/{}",
                u.video_usage_hints.as_raw(),
                u.video_content_hints.as_raw(),
                u.tuning_mode.as_raw()
            );
        }
    }
    "usage=none".into()
}

unsafe extern "system" fn get_physical_device_video_capabilities(
    pd: vk::PhysicalDevice,
    profile_info: *const vk::VideoProfileInfoKHR<'_>,
    out: *mut vk::VideoCapabilitiesKHR<'_>,
) -> vk::Result {
    const NAME: &str = "vkGetPhysicalDeviceVideoCapabilitiesKHR";
    let Some(t) = table_of(pd, NAME) else {
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    };
    // SAFETY: the caller passes valid structures (or NULL, refused below).
    let (Some(p), Some(caps)) = (unsafe { read(profile_info) }, unsafe { out.as_mut() }) else {
        record(&format!(
            "{NAME} NULL argument -> ERROR_INITIALIZATION_FAILED"
        ));
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    };
    // SAFETY: the profile and its chain are valid.
    let profile = unsafe { profile(p) };
    let detail = format!(
        "op={:#x} chroma={:#x} depth={:#x}/{:#x} idc={:?} {}",
        profile.operation.as_raw(),
        profile.chroma.as_raw(),
        profile.luma.as_raw(),
        profile.chroma_depth.as_raw(),
        profile.std_profile_idc,
        // SAFETY: the profile and its chain are valid.
        unsafe { usage_detail(p) }
    );
    let found = match video::check(t, &profile) {
        Ok(c) => c,
        Err((r, reason)) => {
            record(&format!("{NAME} {detail} ({reason}) -> {r:?}"));
            return r;
        }
    };
    // SAFETY: the output structure's chain is valid.
    let nodes = unsafe { out_chain(caps.p_next) };
    let mut encode = None;
    let mut codec = None;
    let mut refresh = None;
    for node in nodes {
        // SAFETY: node is a valid chain structure.
        match unsafe { s_type(node) } {
            vk::StructureType::VIDEO_ENCODE_CAPABILITIES_KHR => encode = Some(node),
            intra_refresh::structure_type::VIDEO_ENCODE_INTRA_REFRESH_CAPABILITIES_KHR => {
                refresh = Some(node)
            }
            vk::StructureType::VIDEO_ENCODE_H264_CAPABILITIES_KHR
                if matches!(found.codec, video::CodecCaps::H264(_)) =>
            {
                codec = Some(node)
            }
            vk::StructureType::VIDEO_ENCODE_H265_CAPABILITIES_KHR
                if matches!(found.codec, video::CodecCaps::H265(_)) =>
            {
                codec = Some(node)
            }
            av1::structure_type::VIDEO_ENCODE_AV1_CAPABILITIES_KHR
                if matches!(found.codec, video::CodecCaps::Av1(_)) =>
            {
                codec = Some(node)
            }
            _ => {}
        }
    }
    let (Some(encode), Some(codec)) = (encode, codec) else {
        record(&format!("{NAME} {detail} (the chain lacks VkVideoEncodeCapabilitiesKHR or the codec's capabilities structure) -> ERROR_INITIALIZATION_FAILED"));
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    };
    // A driver without the extension leaves its structure as it is (as drivers do with any
    // structure they do not know; the validation layer chains it in its own queries).
    if let (Some(node), Some(r)) = (refresh, t.intra_refresh) {
        // SAFETY: the sType said this node is a VkVideoEncodeIntraRefreshCapabilitiesKHR.
        let c =
            unsafe { &mut *node.cast::<intra_refresh::VideoEncodeIntraRefreshCapabilitiesKHR>() };
        c.intra_refresh_modes =
            intra_refresh::VideoEncodeIntraRefreshModeFlagsKHR::from_raw(r.modes);
        c.max_intra_refresh_cycle_duration = r.max_cycle_duration;
        c.max_intra_refresh_active_reference_pictures = r.max_active_reference_pictures;
        c.partition_independent_intra_refresh_regions =
            vk::Bool32::from(r.partition_independent_regions);
        c.non_rectangular_intra_refresh_regions = vk::Bool32::from(r.non_rectangular_regions);
    }
    let v = found.video;
    caps.flags = v.flags;
    caps.min_bitstream_buffer_offset_alignment = v.min_bitstream_buffer_offset_alignment;
    caps.min_bitstream_buffer_size_alignment = v.min_bitstream_buffer_size_alignment;
    caps.picture_access_granularity = extent(v.picture_access_granularity);
    caps.min_coded_extent = extent(v.min_coded_extent);
    caps.max_coded_extent = extent(v.max_coded_extent);
    caps.max_dpb_slots = v.max_dpb_slots;
    caps.max_active_reference_pictures = v.max_active_reference_pictures;
    caps.std_header_version = vk::ExtensionProperties::default();
    props::copy_str(
        &mut caps.std_header_version.extension_name,
        found.std_header.0,
    );
    caps.std_header_version.spec_version = found.std_header.1;
    // SAFETY: the sType said this node is a VkVideoEncodeCapabilitiesKHR.
    let e = unsafe { &mut *encode.cast::<vk::VideoEncodeCapabilitiesKHR<'_>>() };
    let ec = found.encode;
    e.flags = ec.flags;
    e.rate_control_modes = ec.rate_control_modes;
    e.max_rate_control_layers = ec.max_rate_control_layers;
    e.max_bitrate = ec.max_bitrate;
    e.max_quality_levels = ec.max_quality_levels;
    e.encode_input_picture_granularity = extent(ec.encode_input_picture_granularity);
    e.supported_encode_feedback_flags = ec.supported_encode_feedback_flags;
    match found.codec {
        video::CodecCaps::H264(h) => {
            // SAFETY: the sType said this node is a VkVideoEncodeH264CapabilitiesKHR.
            let c = unsafe { &mut *codec.cast::<vk::VideoEncodeH264CapabilitiesKHR<'_>>() };
            c.flags = h.flags;
            c.max_level_idc = h.max_level_idc;
            c.max_slice_count = h.max_slice_count;
            c.max_p_picture_l0_reference_count = h.max_p_picture_l0_reference_count;
            c.max_b_picture_l0_reference_count = h.max_b_picture_l0_reference_count;
            c.max_l1_reference_count = h.max_l1_reference_count;
            c.max_temporal_layer_count = h.max_temporal_layer_count;
            c.expect_dyadic_temporal_layer_pattern =
                vk::Bool32::from(h.expect_dyadic_temporal_layer_pattern);
            c.min_qp = h.min_qp;
            c.max_qp = h.max_qp;
            c.prefers_gop_remaining_frames = vk::Bool32::from(h.prefers_gop_remaining_frames);
            c.requires_gop_remaining_frames = vk::Bool32::from(h.requires_gop_remaining_frames);
            c.std_syntax_flags = h.std_syntax_flags;
        }
        video::CodecCaps::H265(h) => {
            // SAFETY: the sType said this node is a VkVideoEncodeH265CapabilitiesKHR.
            let c = unsafe { &mut *codec.cast::<vk::VideoEncodeH265CapabilitiesKHR<'_>>() };
            c.flags = h.flags;
            c.max_level_idc = h.max_level_idc;
            c.max_slice_segment_count = h.max_slice_segment_count;
            c.max_tiles = extent(h.max_tiles);
            c.ctb_sizes = h.ctb_sizes;
            c.transform_block_sizes = h.transform_block_sizes;
            c.max_p_picture_l0_reference_count = h.max_p_picture_l0_reference_count;
            c.max_b_picture_l0_reference_count = h.max_b_picture_l0_reference_count;
            c.max_l1_reference_count = h.max_l1_reference_count;
            c.max_sub_layer_count = h.max_sub_layer_count;
            c.expect_dyadic_temporal_sub_layer_pattern =
                vk::Bool32::from(h.expect_dyadic_temporal_sub_layer_pattern);
            c.min_qp = h.min_qp;
            c.max_qp = h.max_qp;
            c.prefers_gop_remaining_frames = vk::Bool32::from(h.prefers_gop_remaining_frames);
            c.requires_gop_remaining_frames = vk::Bool32::from(h.requires_gop_remaining_frames);
            c.std_syntax_flags = h.std_syntax_flags;
        }
        video::CodecCaps::Av1(a) => {
            // SAFETY: the sType said this node is a VkVideoEncodeAV1CapabilitiesKHR.
            let c = unsafe { &mut *codec.cast::<av1::VideoEncodeAV1CapabilitiesKHR<'_>>() };
            c.flags = av1::VideoEncodeAV1CapabilityFlagsKHR::from_raw(a.flags);
            c.max_level = a.max_level;
            c.coded_picture_alignment = extent(a.coded_picture_alignment);
            c.max_tiles = extent(a.max_tiles);
            c.min_tile_size = extent(a.min_tile_size);
            c.max_tile_size = extent(a.max_tile_size);
            c.superblock_sizes =
                av1::VideoEncodeAV1SuperblockSizeFlagsKHR::from_raw(a.superblock_sizes);
            c.max_single_reference_count = a.max_single_reference_count;
            c.single_reference_name_mask = a.single_reference_name_mask;
            c.max_unidirectional_compound_reference_count =
                a.max_unidirectional_compound_reference_count;
            c.max_unidirectional_compound_group1_reference_count =
                a.max_unidirectional_compound_group1_reference_count;
            c.unidirectional_compound_reference_name_mask =
                a.unidirectional_compound_reference_name_mask;
            c.max_bidirectional_compound_reference_count =
                a.max_bidirectional_compound_reference_count;
            c.max_bidirectional_compound_group1_reference_count =
                a.max_bidirectional_compound_group1_reference_count;
            c.max_bidirectional_compound_group2_reference_count =
                a.max_bidirectional_compound_group2_reference_count;
            c.bidirectional_compound_reference_name_mask =
                a.bidirectional_compound_reference_name_mask;
            c.max_temporal_layer_count = a.max_temporal_layer_count;
            c.max_spatial_layer_count = a.max_spatial_layer_count;
            c.max_operating_points = a.max_operating_points;
            c.min_q_index = a.min_q_index;
            c.max_q_index = a.max_q_index;
            c.prefers_gop_remaining_frames = vk::Bool32::from(a.prefers_gop_remaining_frames);
            c.requires_gop_remaining_frames = vk::Bool32::from(a.requires_gop_remaining_frames);
            c.std_syntax_flags = av1::VideoEncodeAV1StdFlagsKHR::from_raw(a.std_syntax_flags);
        }
    }
    record(&format!("{NAME} {detail} -> SUCCESS"));
    vk::Result::SUCCESS
}

fn extent((width, height): (u32, u32)) -> vk::Extent2D {
    vk::Extent2D { width, height }
}

unsafe extern "system" fn get_physical_device_video_format_properties(
    pd: vk::PhysicalDevice,
    info: *const vk::PhysicalDeviceVideoFormatInfoKHR<'_>,
    count: *mut u32,
    out: *mut vk::VideoFormatPropertiesKHR<'_>,
) -> vk::Result {
    const NAME: &str = "vkGetPhysicalDeviceVideoFormatPropertiesKHR";
    let Some(t) = table_of(pd, NAME) else {
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    };
    // SAFETY: the caller passes a valid structure.
    let Some(info) = (unsafe { read(info) }) else {
        record(&format!(
            "{NAME} pVideoFormatInfo=NULL -> ERROR_INITIALIZATION_FAILED"
        ));
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    };
    let mut profiles = Vec::new();
    let mut usages = Vec::new();
    // SAFETY: the structure's chain is valid.
    for node in unsafe { in_chain(info.p_next) } {
        // SAFETY: node is a valid chain structure.
        if unsafe { s_type(node) } == vk::StructureType::VIDEO_PROFILE_LIST_INFO_KHR {
            // SAFETY: the sType says what the node is.
            let list = unsafe { &*node.cast::<vk::VideoProfileListInfoKHR<'_>>() };
            for i in 0..usize::try_from(list.profile_count).unwrap_or(0) {
                // SAFETY: pProfiles holds profileCount valid profiles, each with a valid chain.
                let p = unsafe { &*list.p_profiles.add(i) };
                // SAFETY: as above.
                profiles.push(unsafe { profile(p) });
                // SAFETY: as above.
                usages.push(unsafe { usage_detail(p) });
            }
        }
    }
    let detail = format!(
        "usage={:#x} profiles={} [{}]",
        info.image_usage.as_raw(),
        profiles.len(),
        usages.join(" ")
    );
    let found = match video::formats(t, info.image_usage, &profiles) {
        Ok(f) => f,
        Err((r, reason)) => {
            record(&format!("{NAME} {detail} ({reason}) -> {r:?}"));
            return r;
        }
    };
    let fill = |item: &mut vk::VideoFormatPropertiesKHR<'_>, i: usize| {
        let f = found[i];
        item.format = f.format;
        item.component_mapping = vk::ComponentMapping::default();
        item.image_create_flags = f.create_flags;
        item.image_type = vk::ImageType::TYPE_2D;
        item.image_tiling = vk::ImageTiling::OPTIMAL;
        item.image_usage_flags = f.usage;
    };
    // SAFETY: the caller's count/array contract.
    let r = unsafe { enumerate(count, out, found.len(), fill) };
    record(&format!("{NAME} {detail} -> {r:?}"));
    r
}

unsafe extern "system" fn get_physical_device_video_encode_quality_level_properties(
    pd: vk::PhysicalDevice,
    info: *const vk::PhysicalDeviceVideoEncodeQualityLevelInfoKHR<'_>,
    out: *mut vk::VideoEncodeQualityLevelPropertiesKHR<'_>,
) -> vk::Result {
    const NAME: &str = "vkGetPhysicalDeviceVideoEncodeQualityLevelPropertiesKHR";
    let Some(t) = table_of(pd, NAME) else {
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    };
    // SAFETY: the caller passes valid structures; the profile pointer is valid.
    let (Some(info), Some(props), Some(p)) =
        (unsafe { read(info) }, unsafe { out.as_mut() }, unsafe {
            info.as_ref().and_then(|i| read(i.p_video_profile))
        })
    else {
        record(&format!(
            "{NAME} NULL argument -> ERROR_VALIDATION_FAILED_EXT"
        ));
        return vk::Result::ERROR_VALIDATION_FAILED_EXT;
    };
    // SAFETY: the profile's chain is valid.
    let profile = unsafe { profile(p) };
    let detail = format!(
        "op={:#x} idc={:?} level={} {}",
        profile.operation.as_raw(),
        profile.std_profile_idc,
        info.quality_level,
        // SAFETY: the profile's chain is valid.
        unsafe { usage_detail(p) }
    );
    let (caps, q) = match video::quality_level(t, &profile, info.quality_level) {
        Ok(found) => found,
        Err((r, reason)) => {
            record(&format!("{NAME} {detail} ({reason}) -> {r:?}"));
            return r;
        }
    };
    props.preferred_rate_control_mode = q.rate_control_mode;
    props.preferred_rate_control_layer_count = q.rate_control_layers;
    let mut filled = Vec::new();
    // SAFETY: the output chain is valid.
    for node in unsafe { out_chain(props.p_next) } {
        // SAFETY: node is a valid chain structure; each arm's sType says what it is.
        match (unsafe { s_type(node) }, caps.codec) {
            (
                vk::StructureType::VIDEO_ENCODE_H264_QUALITY_LEVEL_PROPERTIES_KHR,
                video::CodecCaps::H264(_),
            ) => {
                // SAFETY: as above.
                let h = unsafe {
                    &mut *node.cast::<vk::VideoEncodeH264QualityLevelPropertiesKHR<'_>>()
                };
                h.preferred_rate_control_flags = vk::VideoEncodeH264RateControlFlagsKHR::REGULAR_GOP
                    | vk::VideoEncodeH264RateControlFlagsKHR::REFERENCE_PATTERN_FLAT;
                h.preferred_gop_frame_count = q.gop_frames;
                h.preferred_idr_period = q.idr_period;
                h.preferred_consecutive_b_frame_count = q.b_frames;
                h.preferred_temporal_layer_count = 1;
                h.preferred_constant_qp = vk::VideoEncodeH264QpKHR {
                    qp_i: q.constant_qp.0,
                    qp_p: q.constant_qp.1,
                    qp_b: q.constant_qp.2,
                };
                h.preferred_max_l0_reference_count = q.max_l0;
                h.preferred_max_l1_reference_count = q.max_l1;
                h.preferred_std_entropy_coding_mode_flag = vk::TRUE;
                filled.push("h264");
            }
            (
                vk::StructureType::VIDEO_ENCODE_H265_QUALITY_LEVEL_PROPERTIES_KHR,
                video::CodecCaps::H265(_),
            ) => {
                // SAFETY: as above.
                let h = unsafe {
                    &mut *node.cast::<vk::VideoEncodeH265QualityLevelPropertiesKHR<'_>>()
                };
                h.preferred_rate_control_flags = vk::VideoEncodeH265RateControlFlagsKHR::REGULAR_GOP
                    | vk::VideoEncodeH265RateControlFlagsKHR::REFERENCE_PATTERN_FLAT;
                h.preferred_gop_frame_count = q.gop_frames;
                h.preferred_idr_period = q.idr_period;
                h.preferred_consecutive_b_frame_count = q.b_frames;
                h.preferred_sub_layer_count = 1;
                h.preferred_constant_qp = vk::VideoEncodeH265QpKHR {
                    qp_i: q.constant_qp.0,
                    qp_p: q.constant_qp.1,
                    qp_b: q.constant_qp.2,
                };
                h.preferred_max_l0_reference_count = q.max_l0;
                h.preferred_max_l1_reference_count = q.max_l1;
                filled.push("h265");
            }
            (
                av1::structure_type::VIDEO_ENCODE_AV1_QUALITY_LEVEL_PROPERTIES_KHR,
                video::CodecCaps::Av1(caps),
            ) => {
                let a = video::av1_quality_level(&q, &caps);
                // SAFETY: as above.
                let p = unsafe {
                    &mut *node.cast::<av1::VideoEncodeAV1QualityLevelPropertiesKHR<'_>>()
                };
                p.preferred_rate_control_flags =
                    av1::VideoEncodeAV1RateControlFlagsKHR::from_raw(a.rate_control_flags);
                p.preferred_gop_frame_count = a.gop_frames;
                p.preferred_key_frame_period = a.key_frame_period;
                p.preferred_consecutive_bipredictive_frame_count = a.bipredictive_frames;
                p.preferred_temporal_layer_count = a.temporal_layers;
                p.preferred_constant_q_index = av1::VideoEncodeAV1QIndexKHR {
                    intra_q_index: a.constant_q_index.0,
                    predictive_q_index: a.constant_q_index.1,
                    bipredictive_q_index: a.constant_q_index.2,
                };
                p.preferred_max_single_reference_count = a.max_single_references;
                p.preferred_single_reference_name_mask = a.single_reference_name_mask;
                p.preferred_max_unidirectional_compound_reference_count = 0;
                p.preferred_max_unidirectional_compound_group1_reference_count = 0;
                p.preferred_unidirectional_compound_reference_name_mask = 0;
                p.preferred_max_bidirectional_compound_reference_count = 0;
                p.preferred_max_bidirectional_compound_group1_reference_count = 0;
                p.preferred_max_bidirectional_compound_group2_reference_count = 0;
                p.preferred_bidirectional_compound_reference_name_mask = 0;
                filled.push("av1");
            }
            _ => filled.push("unfilled"),
        }
    }
    record(&format!(
        "{NAME} {detail} chain={} -> SUCCESS",
        filled.join(",")
    ));
    vk::Result::SUCCESS
}

// ---------------------------------------------------------------------------------------------
// Device entry points.

unsafe extern "system" fn destroy_device(
    device: vk::Device,
    _allocator: *const vk::AllocationCallbacks<'_>,
) {
    if device == vk::Device::null() {
        record("vkDestroyDevice NULL");
        return;
    }
    match driver::lock().destroy_device(handle_of(device)) {
        Some(0) => record("vkDestroyDevice"),
        Some(n) => record(&format!("vkDestroyDevice leaked_objects={n}")),
        None => record("vkDestroyDevice unknown handle"),
    }
}

unsafe extern "system" fn get_device_queue(
    device: vk::Device,
    family: u32,
    index: u32,
    out: *mut vk::Queue,
) {
    let q = driver::lock().queue(handle_of(device), family, index);
    let detail = format!("family={family} index={index}");
    match q {
        Some(h) => {
            // SAFETY: the caller passes a writable handle pointer.
            unsafe { write(out, vk::Queue::from_raw(h)) };
            record(&format!("vkGetDeviceQueue {detail} -> found"));
        }
        None => record(&format!(
            "vkGetDeviceQueue {detail} (not created with the device) -> null"
        )),
    }
}

unsafe extern "system" fn get_device_queue2(
    device: vk::Device,
    info: *const vk::DeviceQueueInfo2<'_>,
    out: *mut vk::Queue,
) {
    // SAFETY: the caller passes a valid structure.
    let Some(info) = (unsafe { read(info) }) else {
        return;
    };
    let q = if info.flags.is_empty() {
        driver::lock().queue(handle_of(device), info.queue_family_index, info.queue_index)
    } else {
        None
    };
    let detail = format!(
        "family={} index={} flags={:#x}",
        info.queue_family_index,
        info.queue_index,
        info.flags.as_raw()
    );
    // SAFETY: the caller passes a writable handle pointer.
    unsafe { write(out, q.map_or(vk::Queue::null(), vk::Queue::from_raw)) };
    record(&format!(
        "vkGetDeviceQueue2 {detail} -> {}",
        if q.is_some() { "found" } else { "null" }
    ));
}

unsafe extern "system" fn device_wait_idle(device: vk::Device) -> vk::Result {
    // Nothing runs on the device yet: it is always idle.
    let r = if driver::lock().device_table(handle_of(device)).is_some() {
        vk::Result::SUCCESS
    } else {
        vk::Result::ERROR_DEVICE_LOST
    };
    record(&format!("vkDeviceWaitIdle -> {r:?}"));
    r
}

unsafe extern "system" fn queue_wait_idle(queue: vk::Queue) -> vk::Result {
    let r = if driver::lock().is_queue(handle_of(queue)) {
        vk::Result::SUCCESS
    } else {
        vk::Result::ERROR_DEVICE_LOST
    };
    record(&format!("vkQueueWaitIdle -> {r:?}"));
    r
}

/// Logs a device call's outcome and turns its error text into a `VkResult` (`ERROR_...`
/// prefixes name theirs; anything else is a misuse the spec leaves undefined, reported as
/// `VK_ERROR_VALIDATION_FAILED_EXT`).
pub(crate) fn finish<T>(what: &str, detail: &str, r: Result<T, String>) -> Result<T, vk::Result> {
    match r {
        Ok(v) => {
            record(&format!("{what} {detail} -> SUCCESS"));
            Ok(v)
        }
        Err(reason) => {
            let first = reason.split_whitespace().next().unwrap_or("");
            let code = NAMED_RESULTS
                .iter()
                .copied()
                .find(|r| format!("{r:?}") == first)
                .unwrap_or(vk::Result::ERROR_VALIDATION_FAILED_EXT);
            record(&format!("{what} {detail} ({reason}) -> {code:?}"));
            Err(code)
        }
    }
}

/// The results an error text may start with (by their names, as `{:?}` prints them).
const NAMED_RESULTS: [vk::Result; 13] = [
    vk::Result::ERROR_DEVICE_LOST,
    vk::Result::ERROR_OUT_OF_DEVICE_MEMORY,
    vk::Result::ERROR_OUT_OF_HOST_MEMORY,
    vk::Result::ERROR_MEMORY_MAP_FAILED,
    vk::Result::ERROR_INITIALIZATION_FAILED,
    vk::Result::ERROR_FORMAT_NOT_SUPPORTED,
    vk::Result::ERROR_TOO_MANY_OBJECTS,
    vk::Result::ERROR_IMAGE_USAGE_NOT_SUPPORTED_KHR,
    vk::Result::ERROR_VIDEO_PROFILE_OPERATION_NOT_SUPPORTED_KHR,
    vk::Result::ERROR_VIDEO_PROFILE_FORMAT_NOT_SUPPORTED_KHR,
    vk::Result::ERROR_VIDEO_PROFILE_CODEC_NOT_SUPPORTED_KHR,
    vk::Result::ERROR_VIDEO_STD_VERSION_NOT_SUPPORTED_KHR,
    vk::Result::ERROR_VALIDATION_FAILED_EXT,
];

pub(crate) fn code(r: Result<(), vk::Result>) -> vk::Result {
    r.err().unwrap_or(vk::Result::SUCCESS)
}

unsafe extern "system" fn allocate_memory(
    device: vk::Device,
    info: *const vk::MemoryAllocateInfo<'_>,
    _allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::DeviceMemory,
) -> vk::Result {
    // SAFETY: the caller passes a valid structure.
    let Some(info) = (unsafe { read(info) }) else {
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    };
    let detail = format!(
        "size={} type={}",
        info.allocation_size, info.memory_type_index
    );
    let r = driver::lock().allocate_memory(
        handle_of(device),
        info.allocation_size,
        info.memory_type_index,
    );
    code(finish("vkAllocateMemory", &detail, r).map(|h| {
        // SAFETY: the caller passes a writable handle pointer.
        unsafe { write(out, vk::DeviceMemory::from_raw(h)) };
    }))
}

unsafe extern "system" fn free_memory(
    device: vk::Device,
    memory: vk::DeviceMemory,
    _allocator: *const vk::AllocationCallbacks<'_>,
) {
    if memory == vk::DeviceMemory::null() {
        record("vkFreeMemory NULL");
        return;
    }
    let r = driver::lock().free_memory(handle_of(device), memory.as_raw());
    let _ = finish("vkFreeMemory", &format!("memory={:#x}", memory.as_raw()), r);
}

unsafe extern "system" fn map_memory(
    device: vk::Device,
    memory: vk::DeviceMemory,
    offset: vk::DeviceSize,
    size: vk::DeviceSize,
    _flags: vk::MemoryMapFlags,
    out: *mut *mut c_void,
) -> vk::Result {
    let detail = format!("memory={:#x} offset={offset} size={size}", memory.as_raw());
    let r = driver::lock().map_memory(handle_of(device), memory.as_raw(), offset, size);
    code(finish("vkMapMemory", &detail, r).map(|p| {
        // SAFETY: the caller passes a writable pointer; the address stays valid until the
        // memory is unmapped or freed (the backing never moves).
        unsafe { write(out, p.cast::<c_void>()) };
    }))
}

unsafe extern "system" fn unmap_memory(device: vk::Device, memory: vk::DeviceMemory) {
    let r = driver::lock().unmap_memory(handle_of(device), memory.as_raw());
    let _ = finish(
        "vkUnmapMemory",
        &format!("memory={:#x}", memory.as_raw()),
        r,
    );
}

unsafe extern "system" fn flush_mapped_memory_ranges(
    _device: vk::Device,
    count: u32,
    _ranges: *const vk::MappedMemoryRange<'_>,
) -> vk::Result {
    // Every host-visible type is coherent: nothing to flush.
    record(&format!(
        "vkFlushMappedMemoryRanges count={count} -> SUCCESS"
    ));
    vk::Result::SUCCESS
}

unsafe extern "system" fn invalidate_mapped_memory_ranges(
    _device: vk::Device,
    count: u32,
    _ranges: *const vk::MappedMemoryRange<'_>,
) -> vk::Result {
    record(&format!(
        "vkInvalidateMappedMemoryRanges count={count} -> SUCCESS"
    ));
    vk::Result::SUCCESS
}

unsafe extern "system" fn create_buffer(
    device: vk::Device,
    info: *const vk::BufferCreateInfo<'_>,
    _allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Buffer,
) -> vk::Result {
    // SAFETY: the caller passes a valid structure.
    let Some(info) = (unsafe { read(info) }) else {
        return vk::Result::ERROR_INITIALIZATION_FAILED;
    };
    let detail = format!("size={} usage={:#x}", info.size, info.usage.as_raw());
    let r = driver::lock().create_buffer(handle_of(device), info.size);
    code(finish("vkCreateBuffer", &detail, r).map(|h| {
        // SAFETY: the caller passes a writable handle pointer.
        unsafe { write(out, vk::Buffer::from_raw(h)) };
    }))
}

unsafe extern "system" fn destroy_buffer(
    device: vk::Device,
    buffer: vk::Buffer,
    _allocator: *const vk::AllocationCallbacks<'_>,
) {
    if buffer == vk::Buffer::null() {
        record("vkDestroyBuffer NULL");
        return;
    }
    let r = driver::lock().destroy_buffer(handle_of(device), buffer.as_raw());
    let _ = finish(
        "vkDestroyBuffer",
        &format!("buffer={:#x}", buffer.as_raw()),
        r,
    );
}

unsafe extern "system" fn get_buffer_memory_requirements(
    device: vk::Device,
    buffer: vk::Buffer,
    out: *mut vk::MemoryRequirements,
) {
    let r = driver::lock().buffer_requirements(handle_of(device), buffer.as_raw());
    if let Ok(req) = finish(
        "vkGetBufferMemoryRequirements",
        &format!("buffer={:#x}", buffer.as_raw()),
        r,
    ) {
        // SAFETY: the caller passes a writable structure.
        unsafe { write(out, req) };
    }
}

unsafe extern "system" fn get_buffer_memory_requirements2(
    device: vk::Device,
    info: *const vk::BufferMemoryRequirementsInfo2<'_>,
    out: *mut vk::MemoryRequirements2<'_>,
) {
    // SAFETY: the caller passes valid structures.
    let (Some(info), Some(out)) = (unsafe { read(info) }, unsafe { out.as_mut() }) else {
        return;
    };
    let r = driver::lock().buffer_requirements(handle_of(device), info.buffer.as_raw());
    if let Ok(req) = finish(
        "vkGetBufferMemoryRequirements2",
        &format!("buffer={:#x}", info.buffer.as_raw()),
        r,
    ) {
        out.memory_requirements = req;
        // SAFETY: the output chain is valid.
        for node in unsafe { out_chain(out.p_next) } {
            // SAFETY: node is a valid chain structure.
            if unsafe { s_type(node) } == vk::StructureType::MEMORY_DEDICATED_REQUIREMENTS {
                // SAFETY: the sType says what the node is.
                let d = unsafe { &mut *node.cast::<vk::MemoryDedicatedRequirements<'_>>() };
                d.prefers_dedicated_allocation = vk::FALSE;
                d.requires_dedicated_allocation = vk::FALSE;
            }
        }
    }
}

unsafe extern "system" fn bind_buffer_memory(
    device: vk::Device,
    buffer: vk::Buffer,
    memory: vk::DeviceMemory,
    offset: vk::DeviceSize,
) -> vk::Result {
    let detail = format!(
        "buffer={:#x} memory={:#x} offset={offset}",
        buffer.as_raw(),
        memory.as_raw()
    );
    let r = driver::lock().bind_buffer(handle_of(device), buffer.as_raw(), memory.as_raw(), offset);
    code(finish("vkBindBufferMemory", &detail, r))
}

unsafe extern "system" fn bind_buffer_memory2(
    device: vk::Device,
    count: u32,
    infos: *const vk::BindBufferMemoryInfo<'_>,
) -> vk::Result {
    for i in 0..usize::try_from(count).unwrap_or(0) {
        // SAFETY: pBindInfos holds bindInfoCount valid structures.
        let b = unsafe { &*infos.add(i) };
        let detail = format!(
            "buffer={:#x} memory={:#x} offset={}",
            b.buffer.as_raw(),
            b.memory.as_raw(),
            b.memory_offset
        );
        let r = driver::lock().bind_buffer(
            handle_of(device),
            b.buffer.as_raw(),
            b.memory.as_raw(),
            b.memory_offset,
        );
        if let Err(e) = finish("vkBindBufferMemory2", &detail, r) {
            return e;
        }
    }
    vk::Result::SUCCESS
}

// ---------------------------------------------------------------------------------------------
// Video sessions and their parameters.

/// The profiles of a `VkVideoProfileListInfoKHR` in an input chain.
///
/// # Safety
/// `first` is NULL or the start of a valid input chain.
unsafe fn listed_profiles(first: *const c_void) -> Vec<video::Profile> {
    let mut profiles = Vec::new();
    // SAFETY: the chain is valid (the caller's contract).
    for node in unsafe { in_chain(first) } {
        // SAFETY: node is a valid chain structure.
        if unsafe { s_type(node) } == vk::StructureType::VIDEO_PROFILE_LIST_INFO_KHR {
            // SAFETY: the sType says what the node is.
            let list = unsafe { &*node.cast::<vk::VideoProfileListInfoKHR<'_>>() };
            for i in 0..usize::try_from(list.profile_count).unwrap_or(0) {
                // SAFETY: pProfiles holds profileCount valid profiles, each with a valid chain.
                profiles.push(unsafe { profile(&*list.p_profiles.add(i)) });
            }
        }
    }
    profiles
}

/// `count` structures at `p` (none for NULL).
///
/// # Safety
/// `p` is NULL or points to `count` valid `T`s that live for `'a`.
pub(crate) unsafe fn array<'a, T>(p: *const T, count: u32) -> &'a [T] {
    let n = usize::try_from(count).unwrap_or(0);
    if p.is_null() || n == 0 {
        return &[];
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts(p, n) }
}

/// The SPSs and PPSs of a `VkVideoEncodeH264SessionParametersAddInfoKHR`, deep-copied.
///
/// # Safety
/// `add` is a valid add info whose arrays and the std structures' pointers are valid.
unsafe fn h264_add(
    add: &vk::VideoEncodeH264SessionParametersAddInfoKHR<'_>,
) -> Result<H264Add, String> {
    let mut out = H264Add::default();
    // SAFETY: pStdSPSs holds stdSPSCount structures.
    for s in unsafe { array(add.p_std_sp_ss, add.std_sps_count) } {
        let offsets = if s.pic_order_cnt_type == 1 {
            // SAFETY: with POC type 1, pOffsetForRefFrame holds the cycle's offsets.
            unsafe {
                array(
                    s.pOffsetForRefFrame,
                    u32::from(s.num_ref_frames_in_pic_order_cnt_cycle),
                )
            }
        } else {
            &[]
        };
        // SAFETY: pSequenceParameterSetVui is NULL or valid.
        let vui = match unsafe { read(s.pSequenceParameterSetVui) } {
            Some(v) => {
                // SAFETY: the VUI's pHrdParameters is NULL or valid.
                let hrd = unsafe { read(v.pHrdParameters) };
                Some(Vui::from_std(v, hrd)?)
            }
            None => None,
        };
        out.sps.push(Sps::from_std(s, offsets, vui)?);
    }
    // SAFETY: pStdPPSs holds stdPPSCount structures.
    for p in unsafe { array(add.p_std_pp_ss, add.std_pps_count) } {
        out.pps.push(Pps::from_std(p)?);
    }
    Ok(out)
}

/// The SPSs (and VPSs) and PPSs of a `VkVideoEncodeH265SessionParametersAddInfoKHR`, written
/// as NAL units.
///
/// # Safety
/// `add` is a valid add info whose arrays and the std structures' pointers are valid.
unsafe fn h265_add(
    add: &vk::VideoEncodeH265SessionParametersAddInfoKHR<'_>,
) -> Result<H265Add, String> {
    let mut out = H265Add::default();
    // SAFETY: pStdVPSs holds stdVPSCount structures, each with valid (or NULL) pointers.
    for v in unsafe { array(add.p_std_vp_ss, add.std_vps_count) } {
        // SAFETY: as above.
        let (ptl, dpb) = unsafe { (read(v.pProfileTierLevel), read(v.pDecPicBufMgr)) };
        out.vps
            .push(h265::vps(v, ptl, dpb, !v.pHrdParameters.is_null())?);
    }
    // SAFETY: pStdSPSs holds stdSPSCount structures, each with valid (or NULL) pointers.
    for sps in unsafe { array(add.p_std_sp_ss, add.std_sps_count) } {
        // SAFETY: as above; pShortTermRefPicSet holds num_short_term_ref_pic_sets entries.
        let parts = unsafe {
            let vui = read(sps.pSequenceParameterSetVui);
            SpsParts {
                ptl: read(sps.pProfileTierLevel),
                dpb: read(sps.pDecPicBufMgr),
                short_term: array(
                    sps.pShortTermRefPicSet,
                    u32::from(sps.num_short_term_ref_pic_sets),
                ),
                long_term: read(sps.pLongTermRefPicsSps),
                vui,
                vui_has_hrd: vui.is_some_and(|v| !v.pHrdParameters.is_null()),
            }
        };
        out.sps.push(h265::sps(sps, &parts)?);
    }
    // SAFETY: pStdPPSs holds stdPPSCount structures.
    for pps in unsafe { array(add.p_std_pp_ss, add.std_pps_count) } {
        out.pps.push(h265::pps(pps)?);
    }
    Ok(out)
}

/// The AV1 sequence header of a `VkVideoEncodeAV1SessionParametersCreateInfoKHR`, copied with
/// what its pointers point to.
///
/// # Safety
/// `c` is valid: its pointers are NULL or valid (the operating point array holds
/// `stdOperatingPointCount` entries), and so are the sequence header's.
unsafe fn av1_add(
    c: &av1::VideoEncodeAV1SessionParametersCreateInfoKHR<'_>,
) -> Result<crate::session::Av1Add, String> {
    // SAFETY: the caller's contract.
    let header = unsafe { read(c.p_std_sequence_header) }
        .ok_or("pStdSequenceHeader is NULL (VUID-VkVideoEncodeAV1SessionParametersCreateInfoKHR-pStdSequenceHeader-parameter)")?;
    let mut plain = *header;
    plain.pColorConfig = std::ptr::null();
    plain.pTimingInfo = std::ptr::null();
    // SAFETY: the caller's contract.
    Ok(unsafe {
        crate::session::Av1Add {
            header: crate::command::Plain(plain),
            color: read(header.pColorConfig).copied(),
            timing: read(header.pTimingInfo).copied(),
            decoder_model: read(c.p_std_decoder_model_info).copied(),
            operating_points: array(c.p_std_operating_points, c.std_operating_point_count).to_vec(),
        }
    })
}

/// The add info of an input chain (H.264 or H.265), if any.
///
/// # Safety
/// `first` is NULL or the start of a valid input chain.
unsafe fn chained_add(first: *const c_void) -> Result<Option<Add>, String> {
    let failed = |e: String| format!("ERROR_INITIALIZATION_FAILED {e}");
    // SAFETY: the chain is valid.
    for node in unsafe { in_chain(first) } {
        // SAFETY: node is a valid chain structure; each arm's sType says what it is, and
        // its arrays are valid.
        match unsafe { s_type(node) } {
            vk::StructureType::VIDEO_ENCODE_H264_SESSION_PARAMETERS_ADD_INFO_KHR => {
                // SAFETY: as above.
                let add =
                    unsafe { &*node.cast::<vk::VideoEncodeH264SessionParametersAddInfoKHR<'_>>() };
                // SAFETY: as above.
                return unsafe { h264_add(add) }
                    .map(|a| Some(Add::H264(a)))
                    .map_err(failed);
            }
            vk::StructureType::VIDEO_ENCODE_H265_SESSION_PARAMETERS_ADD_INFO_KHR => {
                // SAFETY: as above.
                let add =
                    unsafe { &*node.cast::<vk::VideoEncodeH265SessionParametersAddInfoKHR<'_>>() };
                // SAFETY: as above.
                return unsafe { h265_add(add) }
                    .map(|a| Some(Add::H265(a)))
                    .map_err(failed);
            }
            _ => {}
        }
    }
    Ok(None)
}

unsafe extern "system" fn create_video_session(
    device: vk::Device,
    info: *const vk::VideoSessionCreateInfoKHR<'_>,
    _allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::VideoSessionKHR,
) -> vk::Result {
    const NAME: &str = "vkCreateVideoSessionKHR";
    // SAFETY: the caller passes a valid create info; its profile and std header pointers are
    // valid (or NULL, refused).
    let (Some(info), Some(p), Some(header)) = (
        unsafe { read(info) },
        unsafe { info.as_ref().and_then(|i| read(i.p_video_profile)) },
        unsafe { info.as_ref().and_then(|i| read(i.p_std_header_version)) },
    ) else {
        record(&format!(
            "{NAME} NULL create info, profile or std header -> ERROR_VALIDATION_FAILED_EXT"
        ));
        return vk::Result::ERROR_VALIDATION_FAILED_EXT;
    };
    let mut h264_max_level = None;
    let mut av1_max_level = None;
    let mut intra_refresh_mode = 0;
    // SAFETY: the chain is valid.
    for node in unsafe { in_chain(info.p_next) } {
        // SAFETY: node is a valid chain structure; each arm's sType says what it is.
        match unsafe { s_type(node) } {
            vk::StructureType::VIDEO_ENCODE_H264_SESSION_CREATE_INFO_KHR => {
                // SAFETY: as above.
                let h = unsafe { &*node.cast::<vk::VideoEncodeH264SessionCreateInfoKHR<'_>>() };
                if h.use_max_level_idc != vk::FALSE {
                    h264_max_level = Some(h.max_level_idc);
                }
            }
            av1::structure_type::VIDEO_ENCODE_AV1_SESSION_CREATE_INFO_KHR => {
                // SAFETY: as above.
                let a = unsafe { &*node.cast::<av1::VideoEncodeAV1SessionCreateInfoKHR<'_>>() };
                if a.use_max_level != vk::FALSE {
                    av1_max_level = Some(a.max_level);
                }
            }
            intra_refresh::structure_type::VIDEO_ENCODE_SESSION_INTRA_REFRESH_CREATE_INFO_KHR => {
                // SAFETY: as above.
                let r = unsafe {
                    &*node.cast::<intra_refresh::VideoEncodeSessionIntraRefreshCreateInfoKHR>()
                };
                intra_refresh_mode = r.intra_refresh_mode.as_raw();
            }
            _ => {}
        }
    }
    let request = SessionRequest {
        queue_family: info.queue_family_index,
        flags: info.flags,
        // SAFETY: the profile's chain is valid.
        profile: unsafe { profile(p) },
        picture_format: info.picture_format,
        max_coded_extent: (info.max_coded_extent.width, info.max_coded_extent.height),
        reference_picture_format: info.reference_picture_format,
        max_dpb_slots: info.max_dpb_slots,
        max_active_reference_pictures: info.max_active_reference_pictures,
        std_header: (
            header
                .extension_name_as_c_str()
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or_default(),
            header.spec_version,
        ),
        h264_max_level,
        av1_max_level,
        intra_refresh_mode,
    };
    let detail = format!(
        "op={:#x} idc={:?} extent={}x{} dpb={} active={} family={} refresh_mode={:#x} {}",
        request.profile.operation.as_raw(),
        request.profile.std_profile_idc,
        request.max_coded_extent.0,
        request.max_coded_extent.1,
        request.max_dpb_slots,
        request.max_active_reference_pictures,
        request.queue_family,
        request.intra_refresh_mode,
        // SAFETY: the profile's chain is valid.
        unsafe { usage_detail(p) }
    );
    let r = driver::lock().create_session(handle_of(device), request);
    code(finish(NAME, &detail, r).map(|h| {
        // SAFETY: the caller passes a writable handle pointer.
        unsafe { write(out, vk::VideoSessionKHR::from_raw(h)) };
    }))
}

unsafe extern "system" fn destroy_video_session(
    device: vk::Device,
    session: vk::VideoSessionKHR,
    _allocator: *const vk::AllocationCallbacks<'_>,
) {
    if session == vk::VideoSessionKHR::null() {
        record("vkDestroyVideoSessionKHR NULL");
        return;
    }
    let r = driver::lock().destroy_session(handle_of(device), session.as_raw());
    let _ = finish(
        "vkDestroyVideoSessionKHR",
        &format!("session={:#x}", session.as_raw()),
        r,
    );
}

unsafe extern "system" fn get_video_session_memory_requirements(
    device: vk::Device,
    session: vk::VideoSessionKHR,
    count: *mut u32,
    out: *mut vk::VideoSessionMemoryRequirementsKHR<'_>,
) -> vk::Result {
    const NAME: &str = "vkGetVideoSessionMemoryRequirementsKHR";
    let detail = format!("session={:#x}", session.as_raw());
    let reqs = match finish(
        NAME,
        &detail,
        driver::lock().session_requirements(handle_of(device), session.as_raw()),
    ) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let fill = |item: &mut vk::VideoSessionMemoryRequirementsKHR<'_>, i: usize| {
        item.memory_bind_index = reqs[i].0;
        item.memory_requirements = reqs[i].1;
    };
    // SAFETY: the caller's count/array contract.
    let r = unsafe { enumerate(count, out, reqs.len(), fill) };
    record(&format!(
        "{NAME} {detail} bindings={} -> {r:?}",
        reqs.iter()
            .map(|(i, m)| format!("{i}:{}", m.size))
            .collect::<Vec<_>>()
            .join(",")
    ));
    r
}

unsafe extern "system" fn bind_video_session_memory(
    device: vk::Device,
    session: vk::VideoSessionKHR,
    count: u32,
    infos: *const vk::BindVideoSessionMemoryInfoKHR<'_>,
) -> vk::Result {
    // SAFETY: pBindSessionMemoryInfos holds bindSessionMemoryInfoCount valid structures.
    let binds: Vec<_> = unsafe { array(infos, count) }
        .iter()
        .map(|b| {
            (
                b.memory_bind_index,
                b.memory.as_raw(),
                b.memory_offset,
                b.memory_size,
            )
        })
        .collect();
    let detail = format!(
        "session={:#x} binds={}",
        session.as_raw(),
        binds
            .iter()
            .map(|(i, m, o, s)| format!("{i}:{m:#x}+{o}/{s}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let r = driver::lock().bind_session(handle_of(device), session.as_raw(), &binds);
    code(finish("vkBindVideoSessionMemoryKHR", &detail, r))
}

unsafe extern "system" fn create_video_session_parameters(
    device: vk::Device,
    info: *const vk::VideoSessionParametersCreateInfoKHR<'_>,
    _allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::VideoSessionParametersKHR,
) -> vk::Result {
    const NAME: &str = "vkCreateVideoSessionParametersKHR";
    // SAFETY: the caller passes a valid create info.
    let Some(info) = (unsafe { read(info) }) else {
        return vk::Result::ERROR_VALIDATION_FAILED_EXT;
    };
    let mut found: Option<(Capacity, Result<Add, String>)> = None;
    let mut quality = None;
    let failed = |e: String| format!("ERROR_INITIALIZATION_FAILED {e}");
    // SAFETY: the chain is valid.
    for node in unsafe { in_chain(info.p_next) } {
        // SAFETY: node is a valid chain structure; each arm's sType says what it is, and the
        // add info it points to (NULL or valid) has valid arrays.
        match unsafe { s_type(node) } {
            vk::StructureType::VIDEO_ENCODE_H264_SESSION_PARAMETERS_CREATE_INFO_KHR => {
                // SAFETY: as above.
                let c = unsafe {
                    &*node.cast::<vk::VideoEncodeH264SessionParametersCreateInfoKHR<'_>>()
                };
                // SAFETY: as above.
                let add = match unsafe { read(c.p_parameters_add_info) } {
                    // SAFETY: as above.
                    Some(a) => unsafe { h264_add(a) }.map_err(failed),
                    None => Ok(H264Add::default()),
                };
                found = Some((
                    (0, c.max_std_sps_count, c.max_std_pps_count),
                    add.map(Add::H264),
                ));
            }
            vk::StructureType::VIDEO_ENCODE_H265_SESSION_PARAMETERS_CREATE_INFO_KHR => {
                // SAFETY: as above.
                let c = unsafe {
                    &*node.cast::<vk::VideoEncodeH265SessionParametersCreateInfoKHR<'_>>()
                };
                // SAFETY: as above.
                let add = match unsafe { read(c.p_parameters_add_info) } {
                    // SAFETY: as above.
                    Some(a) => unsafe { h265_add(a) }.map_err(failed),
                    None => Ok(H265Add::default()),
                };
                found = Some((
                    (
                        c.max_std_vps_count,
                        c.max_std_sps_count,
                        c.max_std_pps_count,
                    ),
                    add.map(Add::H265),
                ));
            }
            av1::structure_type::VIDEO_ENCODE_AV1_SESSION_PARAMETERS_CREATE_INFO_KHR => {
                // SAFETY: as above.
                let c = unsafe {
                    &*node.cast::<av1::VideoEncodeAV1SessionParametersCreateInfoKHR<'_>>()
                };
                // SAFETY: as above: each pointer is NULL or valid, the array holds its count.
                found = Some((
                    (0, 1, 0),
                    unsafe { av1_add(c) }.map(|a| Add::Av1(Box::new(a))),
                ));
            }
            vk::StructureType::VIDEO_ENCODE_QUALITY_LEVEL_INFO_KHR => {
                // SAFETY: as above.
                quality = Some(
                    unsafe { &*node.cast::<vk::VideoEncodeQualityLevelInfoKHR<'_>>() }
                        .quality_level,
                );
            }
            _ => {}
        }
    }
    let template = info.video_session_parameters_template;
    let template = (template != vk::VideoSessionParametersKHR::null()).then(|| template.as_raw());
    let mut detail = format!(
        "session={:#x} template={template:?} quality={quality:?}",
        info.video_session.as_raw()
    );
    let r = match found {
        None => Err("the chain has no VkVideoEncodeH264/H265/AV1SessionParametersCreateInfoKHR (VUID-VkVideoSessionParametersCreateInfoKHR-videoSession-07210/07211/10279)".to_string()),
        Some((_, Err(e))) => Err(e),
        Some((capacity, Ok(add))) => {
            detail.push_str(&format!(" capacity={capacity:?} {}", add_counts(&add)));
            driver::lock().create_parameters(
                handle_of(device),
                info.video_session.as_raw(),
                template,
                capacity,
                &add,
            )
        }
    };
    code(finish(NAME, &detail, r).map(|h| {
        // SAFETY: the caller passes a writable handle pointer.
        unsafe { write(out, vk::VideoSessionParametersKHR::from_raw(h)) };
    }))
}

/// A parameters object's capacity: (VPS, SPS, PPS).
type Capacity = (u32, u32, u32);

/// The log's words for what an add info holds.
fn add_counts(add: &Add) -> String {
    match add {
        Add::H264(a) => format!("sps={} pps={}", a.sps.len(), a.pps.len()),
        Add::H265(a) => format!(
            "vps={} sps={} pps={}",
            a.vps.len(),
            a.sps.len(),
            a.pps.len()
        ),
        Add::Av1(a) => format!(
            "sequence_header={}x{} operating_points={}",
            u32::from(a.header.0.max_frame_width_minus_1) + 1,
            u32::from(a.header.0.max_frame_height_minus_1) + 1,
            a.operating_points.len()
        ),
    }
}

unsafe extern "system" fn update_video_session_parameters(
    device: vk::Device,
    parameters: vk::VideoSessionParametersKHR,
    info: *const vk::VideoSessionParametersUpdateInfoKHR<'_>,
) -> vk::Result {
    // SAFETY: the caller passes a valid update info.
    let Some(info) = (unsafe { read(info) }) else {
        return vk::Result::ERROR_VALIDATION_FAILED_EXT;
    };
    let detail = format!(
        "parameters={:#x} sequence={}",
        parameters.as_raw(),
        info.update_sequence_count
    );
    // SAFETY: the chain is valid.
    let r = unsafe { chained_add(info.p_next) }.and_then(|add| {
        driver::lock().update_parameters(
            handle_of(device),
            parameters.as_raw(),
            info.update_sequence_count,
            add.as_ref(),
        )
    });
    code(finish("vkUpdateVideoSessionParametersKHR", &detail, r))
}

unsafe extern "system" fn destroy_video_session_parameters(
    device: vk::Device,
    parameters: vk::VideoSessionParametersKHR,
    _allocator: *const vk::AllocationCallbacks<'_>,
) {
    if parameters == vk::VideoSessionParametersKHR::null() {
        record("vkDestroyVideoSessionParametersKHR NULL");
        return;
    }
    let r = driver::lock().destroy_parameters(handle_of(device), parameters.as_raw());
    let _ = finish(
        "vkDestroyVideoSessionParametersKHR",
        &format!("parameters={:#x}", parameters.as_raw()),
        r,
    );
}

unsafe extern "system" fn get_encoded_video_session_parameters(
    device: vk::Device,
    info: *const vk::VideoEncodeSessionParametersGetInfoKHR<'_>,
    feedback: *mut vk::VideoEncodeSessionParametersFeedbackInfoKHR<'_>,
    size: *mut usize,
    data: *mut c_void,
) -> vk::Result {
    const NAME: &str = "vkGetEncodedVideoSessionParametersKHR";
    // SAFETY: the caller passes a valid get info.
    let Some(info) = (unsafe { read(info) }) else {
        return vk::Result::ERROR_VALIDATION_FAILED_EXT;
    };
    let id = |v: u32| u8::try_from(v).unwrap_or(u8::MAX);
    let mut what = None;
    // SAFETY: the chain is valid.
    for node in unsafe { in_chain(info.p_next) } {
        // SAFETY: node is a valid chain structure; each arm's sType says what it is.
        match unsafe { s_type(node) } {
            vk::StructureType::VIDEO_ENCODE_H264_SESSION_PARAMETERS_GET_INFO_KHR => {
                // SAFETY: as above.
                let g =
                    unsafe { &*node.cast::<vk::VideoEncodeH264SessionParametersGetInfoKHR<'_>>() };
                what = Some(Get::H264(
                    g.write_std_sps != vk::FALSE,
                    g.write_std_pps != vk::FALSE,
                    id(g.std_sps_id),
                    id(g.std_pps_id),
                ));
            }
            vk::StructureType::VIDEO_ENCODE_H265_SESSION_PARAMETERS_GET_INFO_KHR => {
                // SAFETY: as above.
                let g =
                    unsafe { &*node.cast::<vk::VideoEncodeH265SessionParametersGetInfoKHR<'_>>() };
                what = Some(Get::H265(
                    (
                        g.write_std_vps != vk::FALSE,
                        g.write_std_sps != vk::FALSE,
                        g.write_std_pps != vk::FALSE,
                    ),
                    (id(g.std_vps_id), id(g.std_sps_id), id(g.std_pps_id)),
                ));
            }
            _ => {}
        }
    }
    let mut detail = format!(
        "parameters={:#x} what={what:?}",
        info.video_session_parameters.as_raw()
    );
    let r = driver::lock().encoded_parameters(
        handle_of(device),
        info.video_session_parameters.as_raw(),
        what,
    );
    let (bytes, (vps_over, sps_over, pps_over)) = match r {
        Ok(b) => b,
        Err(e) => return code(finish(NAME, &detail, Err::<(), _>(e))),
    };
    let bool32 = |b: bool| if b { vk::TRUE } else { vk::FALSE };
    // SAFETY: the feedback structure is NULL or valid and writable, with a valid chain.
    if let Some(f) = unsafe { feedback.as_mut() } {
        f.has_overrides = bool32(vps_over || sps_over || pps_over);
        // SAFETY: as above.
        for node in unsafe { out_chain(f.p_next) } {
            // SAFETY: node is a valid chain structure; each arm's sType says what it is.
            match unsafe { s_type(node) } {
                vk::StructureType::VIDEO_ENCODE_H264_SESSION_PARAMETERS_FEEDBACK_INFO_KHR => {
                    // SAFETY: as above.
                    let h = unsafe {
                        &mut *node.cast::<vk::VideoEncodeH264SessionParametersFeedbackInfoKHR<'_>>()
                    };
                    h.has_std_sps_overrides = bool32(sps_over);
                    h.has_std_pps_overrides = bool32(pps_over);
                }
                vk::StructureType::VIDEO_ENCODE_H265_SESSION_PARAMETERS_FEEDBACK_INFO_KHR => {
                    // SAFETY: as above.
                    let h = unsafe {
                        &mut *node.cast::<vk::VideoEncodeH265SessionParametersFeedbackInfoKHR<'_>>()
                    };
                    h.has_std_vps_overrides = bool32(vps_over);
                    h.has_std_sps_overrides = bool32(sps_over);
                    h.has_std_pps_overrides = bool32(pps_over);
                }
                _ => {}
            }
        }
        detail.push_str(&format!(
            " feedback overrides={vps_over},{sps_over},{pps_over}"
        ));
    }
    // SAFETY: pDataSize is valid for reading and writing.
    let Some(&room) = (unsafe { read(size.cast_const()) }) else {
        return vk::Result::ERROR_VALIDATION_FAILED_EXT;
    };
    let r = if data.is_null() {
        // SAFETY: as above.
        unsafe { write(size, bytes.len()) };
        vk::Result::SUCCESS
    } else if room < bytes.len() {
        // Nothing written, zero bytes reported (the spec's rule for a short buffer).
        // SAFETY: as above.
        unsafe { write(size, 0) };
        vk::Result::INCOMPLETE
    } else {
        // SAFETY: pData holds *pDataSize >= bytes.len() writable bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), data.cast::<u8>(), bytes.len()) };
        // SAFETY: as above.
        unsafe { write(size, bytes.len()) };
        vk::Result::SUCCESS
    };
    record(&format!(
        "{NAME} {detail} size={} room={room} -> {r:?}",
        bytes.len()
    ));
    r
}

// ---------------------------------------------------------------------------------------------
// Images.

unsafe extern "system" fn create_image(
    device: vk::Device,
    info: *const vk::ImageCreateInfo<'_>,
    _allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::Image,
) -> vk::Result {
    // SAFETY: the caller passes a valid create info.
    let Some(info) = (unsafe { read(info) }) else {
        return vk::Result::ERROR_VALIDATION_FAILED_EXT;
    };
    let request = ImageRequest {
        kind: info.image_type,
        format: info.format,
        extent: (info.extent.width, info.extent.height, info.extent.depth),
        mip_levels: info.mip_levels,
        array_layers: info.array_layers,
        samples: info.samples,
        tiling: info.tiling,
        usage: info.usage,
        flags: info.flags,
        // SAFETY: the chain is valid.
        profiles: unsafe { listed_profiles(info.p_next) },
    };
    let detail = format!(
        "format={} extent={}x{} layers={} usage={:#x} flags={:#x} profiles={}",
        info.format.as_raw(),
        info.extent.width,
        info.extent.height,
        info.array_layers,
        info.usage.as_raw(),
        info.flags.as_raw(),
        request.profiles.len()
    );
    let r = driver::lock().create_image(handle_of(device), request);
    code(finish("vkCreateImage", &detail, r).map(|h| {
        // SAFETY: the caller passes a writable handle pointer.
        unsafe { write(out, vk::Image::from_raw(h)) };
    }))
}

unsafe extern "system" fn destroy_image(
    device: vk::Device,
    image: vk::Image,
    _allocator: *const vk::AllocationCallbacks<'_>,
) {
    if image == vk::Image::null() {
        record("vkDestroyImage NULL");
        return;
    }
    let r = driver::lock().destroy_image(handle_of(device), image.as_raw());
    let _ = finish("vkDestroyImage", &format!("image={:#x}", image.as_raw()), r);
}

unsafe extern "system" fn get_image_memory_requirements(
    device: vk::Device,
    image: vk::Image,
    out: *mut vk::MemoryRequirements,
) {
    let r = driver::lock().image_requirements(handle_of(device), image.as_raw());
    if let Ok(req) = finish(
        "vkGetImageMemoryRequirements",
        &format!("image={:#x}", image.as_raw()),
        r,
    ) {
        // SAFETY: the caller passes a writable structure.
        unsafe { write(out, req) };
    }
}

unsafe extern "system" fn get_image_memory_requirements2(
    device: vk::Device,
    info: *const vk::ImageMemoryRequirementsInfo2<'_>,
    out: *mut vk::MemoryRequirements2<'_>,
) {
    // SAFETY: the caller passes valid structures.
    let (Some(info), Some(out)) = (unsafe { read(info) }, unsafe { out.as_mut() }) else {
        return;
    };
    // SAFETY: the chain is valid.
    let plane_query = unsafe { in_chain(info.p_next) }
        .into_iter()
        // SAFETY: each node is a valid chain structure.
        .any(|n| unsafe { s_type(n) } == vk::StructureType::IMAGE_PLANE_MEMORY_REQUIREMENTS_INFO);
    let r = if plane_query {
        Err("VkImagePlaneMemoryRequirementsInfo is for DISJOINT images, which this driver does not make".to_string())
    } else {
        driver::lock().image_requirements(handle_of(device), info.image.as_raw())
    };
    if let Ok(req) = finish(
        "vkGetImageMemoryRequirements2",
        &format!("image={:#x}", info.image.as_raw()),
        r,
    ) {
        out.memory_requirements = req;
        // SAFETY: the output chain is valid.
        for node in unsafe { out_chain(out.p_next) } {
            // SAFETY: node is a valid chain structure.
            if unsafe { s_type(node) } == vk::StructureType::MEMORY_DEDICATED_REQUIREMENTS {
                // SAFETY: the sType says what the node is.
                let d = unsafe { &mut *node.cast::<vk::MemoryDedicatedRequirements<'_>>() };
                d.prefers_dedicated_allocation = vk::FALSE;
                d.requires_dedicated_allocation = vk::FALSE;
            }
        }
    }
}

unsafe extern "system" fn bind_image_memory(
    device: vk::Device,
    image: vk::Image,
    memory: vk::DeviceMemory,
    offset: vk::DeviceSize,
) -> vk::Result {
    let detail = format!(
        "image={:#x} memory={:#x} offset={offset}",
        image.as_raw(),
        memory.as_raw()
    );
    let r = driver::lock().bind_image(handle_of(device), image.as_raw(), memory.as_raw(), offset);
    code(finish("vkBindImageMemory", &detail, r))
}

unsafe extern "system" fn bind_image_memory2(
    device: vk::Device,
    count: u32,
    infos: *const vk::BindImageMemoryInfo<'_>,
) -> vk::Result {
    // SAFETY: pBindInfos holds bindInfoCount valid structures.
    for b in unsafe { array(infos, count) } {
        let detail = format!(
            "image={:#x} memory={:#x} offset={}",
            b.image.as_raw(),
            b.memory.as_raw(),
            b.memory_offset
        );
        // SAFETY: the chain is valid.
        let plane = unsafe { in_chain(b.p_next) }
            .into_iter()
            // SAFETY: each node is a valid chain structure.
            .any(|n| unsafe { s_type(n) } == vk::StructureType::BIND_IMAGE_PLANE_MEMORY_INFO);
        let r = if plane {
            Err("VkBindImagePlaneMemoryInfo is for DISJOINT images, which this driver does not make".to_string())
        } else {
            driver::lock().bind_image(
                handle_of(device),
                b.image.as_raw(),
                b.memory.as_raw(),
                b.memory_offset,
            )
        };
        if let Err(e) = finish("vkBindImageMemory2", &detail, r) {
            return e;
        }
    }
    vk::Result::SUCCESS
}

unsafe extern "system" fn create_image_view(
    device: vk::Device,
    info: *const vk::ImageViewCreateInfo<'_>,
    _allocator: *const vk::AllocationCallbacks<'_>,
    out: *mut vk::ImageView,
) -> vk::Result {
    // SAFETY: the caller passes a valid create info.
    let Some(info) = (unsafe { read(info) }) else {
        return vk::Result::ERROR_VALIDATION_FAILED_EXT;
    };
    let range = info.subresource_range;
    let detail = format!(
        "image={:#x} format={} aspect={:#x} layers={}+{}",
        info.image.as_raw(),
        info.format.as_raw(),
        range.aspect_mask.as_raw(),
        range.base_array_layer,
        range.layer_count
    );
    let r = driver::lock().create_view(
        handle_of(device),
        info.image.as_raw(),
        (
            info.format,
            range.aspect_mask,
            range.base_array_layer,
            range.layer_count,
        ),
    );
    code(finish("vkCreateImageView", &detail, r).map(|h| {
        // SAFETY: the caller passes a writable handle pointer.
        unsafe { write(out, vk::ImageView::from_raw(h)) };
    }))
}

unsafe extern "system" fn destroy_image_view(
    device: vk::Device,
    view: vk::ImageView,
    _allocator: *const vk::AllocationCallbacks<'_>,
) {
    if view == vk::ImageView::null() {
        record("vkDestroyImageView NULL");
        return;
    }
    let r = driver::lock().destroy_view(handle_of(device), view.as_raw());
    let _ = finish(
        "vkDestroyImageView",
        &format!("view={:#x}", view.as_raw()),
        r,
    );
}

// ---------------------------------------------------------------------------------------------
// The table of entry points.

/// Which query returns an entry point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Loader–driver interface functions (interface version 7 asks for them by name).
    Interface,
    /// Global commands: no dispatchable first parameter.
    Global,
    /// Commands on a `VkInstance`.
    Instance,
    /// Commands on a `VkPhysicalDevice`.
    Physical,
    /// Commands on a `VkDevice`, `VkQueue` or `VkCommandBuffer`.
    Device,
}

/// One entry point.
pub(crate) struct Entry {
    /// Its Vulkan name.
    pub(crate) name: &'static str,
    /// Who returns it.
    pub(crate) kind: Kind,
    f: unsafe extern "system" fn(),
}

/// Builds the table; each function is first bound to ash's `PFN_` type for its name, so that a
/// signature that does not match the Vulkan command fails to compile.
macro_rules! entry_points {
    ($( $kind:ident $name:literal $f:path => $pfn:ty ; )*) => {
        vec![ $( {
            let f: $pfn = $f;
            Entry {
                name: $name,
                kind: Kind::$kind,
                // SAFETY: a function pointer turned into another function pointer type of the
                // same size; the loader turns it back into the type its name stands for
                // (checked above against ash's) before calling it.
                f: unsafe { std::mem::transmute::<$pfn, unsafe extern "system" fn()>(f) },
            }
        }, )* ]
    };
}

type Negotiate = unsafe extern "system" fn(*mut u32) -> vk::Result;

static ENTRY_POINTS: LazyLock<Vec<Entry>> = LazyLock::new(|| {
    entry_points![
        Interface "vk_icdNegotiateLoaderICDInterfaceVersion" vk_icdNegotiateLoaderICDInterfaceVersion => Negotiate;
        Interface "vk_icdGetPhysicalDeviceProcAddr" vk_icdGetPhysicalDeviceProcAddr => vk::PFN_vkGetInstanceProcAddr;
        Global "vkGetInstanceProcAddr" get_instance_proc_addr => vk::PFN_vkGetInstanceProcAddr;
        Instance "vkGetInstanceProcAddr" get_instance_proc_addr => vk::PFN_vkGetInstanceProcAddr;
        Global "vkCreateInstance" create_instance => vk::PFN_vkCreateInstance;
        Global "vkEnumerateInstanceExtensionProperties" enumerate_instance_extension_properties => vk::PFN_vkEnumerateInstanceExtensionProperties;
        Global "vkEnumerateInstanceVersion" enumerate_instance_version => vk::PFN_vkEnumerateInstanceVersion;
        Instance "vkDestroyInstance" destroy_instance => vk::PFN_vkDestroyInstance;
        Instance "vkEnumeratePhysicalDevices" enumerate_physical_devices => vk::PFN_vkEnumeratePhysicalDevices;
        Physical "vkGetPhysicalDeviceProperties" get_physical_device_properties => vk::PFN_vkGetPhysicalDeviceProperties;
        Physical "vkGetPhysicalDeviceProperties2" get_physical_device_properties2 => vk::PFN_vkGetPhysicalDeviceProperties2;
        Physical "vkGetPhysicalDeviceFeatures" get_physical_device_features => vk::PFN_vkGetPhysicalDeviceFeatures;
        Physical "vkGetPhysicalDeviceFeatures2" get_physical_device_features2 => vk::PFN_vkGetPhysicalDeviceFeatures2;
        Physical "vkGetPhysicalDeviceQueueFamilyProperties" get_physical_device_queue_family_properties => vk::PFN_vkGetPhysicalDeviceQueueFamilyProperties;
        Physical "vkGetPhysicalDeviceQueueFamilyProperties2" get_physical_device_queue_family_properties2 => vk::PFN_vkGetPhysicalDeviceQueueFamilyProperties2;
        Physical "vkGetPhysicalDeviceMemoryProperties" get_physical_device_memory_properties => vk::PFN_vkGetPhysicalDeviceMemoryProperties;
        Physical "vkGetPhysicalDeviceMemoryProperties2" get_physical_device_memory_properties2 => vk::PFN_vkGetPhysicalDeviceMemoryProperties2;
        Physical "vkGetPhysicalDeviceFormatProperties" get_physical_device_format_properties => vk::PFN_vkGetPhysicalDeviceFormatProperties;
        Physical "vkGetPhysicalDeviceFormatProperties2" get_physical_device_format_properties2 => vk::PFN_vkGetPhysicalDeviceFormatProperties2;
        Physical "vkGetPhysicalDeviceImageFormatProperties" get_physical_device_image_format_properties => vk::PFN_vkGetPhysicalDeviceImageFormatProperties;
        Physical "vkGetPhysicalDeviceImageFormatProperties2" get_physical_device_image_format_properties2 => vk::PFN_vkGetPhysicalDeviceImageFormatProperties2;
        Physical "vkGetPhysicalDeviceSparseImageFormatProperties" get_physical_device_sparse_image_format_properties => vk::PFN_vkGetPhysicalDeviceSparseImageFormatProperties;
        Physical "vkGetPhysicalDeviceSparseImageFormatProperties2" get_physical_device_sparse_image_format_properties2 => vk::PFN_vkGetPhysicalDeviceSparseImageFormatProperties2;
        Physical "vkEnumerateDeviceExtensionProperties" enumerate_device_extension_properties => vk::PFN_vkEnumerateDeviceExtensionProperties;
        Physical "vkCreateDevice" create_device => vk::PFN_vkCreateDevice;
        Physical "vkGetPhysicalDeviceVideoCapabilitiesKHR" get_physical_device_video_capabilities => vk::PFN_vkGetPhysicalDeviceVideoCapabilitiesKHR;
        Physical "vkGetPhysicalDeviceVideoFormatPropertiesKHR" get_physical_device_video_format_properties => vk::PFN_vkGetPhysicalDeviceVideoFormatPropertiesKHR;
        Physical "vkGetPhysicalDeviceVideoEncodeQualityLevelPropertiesKHR" get_physical_device_video_encode_quality_level_properties => vk::PFN_vkGetPhysicalDeviceVideoEncodeQualityLevelPropertiesKHR;
        Device "vkGetDeviceProcAddr" get_device_proc_addr => vk::PFN_vkGetDeviceProcAddr;
        Device "vkDestroyDevice" destroy_device => vk::PFN_vkDestroyDevice;
        Device "vkGetDeviceQueue" get_device_queue => vk::PFN_vkGetDeviceQueue;
        Device "vkGetDeviceQueue2" get_device_queue2 => vk::PFN_vkGetDeviceQueue2;
        Device "vkDeviceWaitIdle" device_wait_idle => vk::PFN_vkDeviceWaitIdle;
        Device "vkQueueWaitIdle" queue_wait_idle => vk::PFN_vkQueueWaitIdle;
        Device "vkAllocateMemory" allocate_memory => vk::PFN_vkAllocateMemory;
        Device "vkFreeMemory" free_memory => vk::PFN_vkFreeMemory;
        Device "vkMapMemory" map_memory => vk::PFN_vkMapMemory;
        Device "vkUnmapMemory" unmap_memory => vk::PFN_vkUnmapMemory;
        Device "vkFlushMappedMemoryRanges" flush_mapped_memory_ranges => vk::PFN_vkFlushMappedMemoryRanges;
        Device "vkInvalidateMappedMemoryRanges" invalidate_mapped_memory_ranges => vk::PFN_vkInvalidateMappedMemoryRanges;
        Device "vkCreateBuffer" create_buffer => vk::PFN_vkCreateBuffer;
        Device "vkDestroyBuffer" destroy_buffer => vk::PFN_vkDestroyBuffer;
        Device "vkGetBufferMemoryRequirements" get_buffer_memory_requirements => vk::PFN_vkGetBufferMemoryRequirements;
        Device "vkGetBufferMemoryRequirements2" get_buffer_memory_requirements2 => vk::PFN_vkGetBufferMemoryRequirements2;
        Device "vkBindBufferMemory" bind_buffer_memory => vk::PFN_vkBindBufferMemory;
        Device "vkBindBufferMemory2" bind_buffer_memory2 => vk::PFN_vkBindBufferMemory2;
        Device "vkCreateImage" create_image => vk::PFN_vkCreateImage;
        Device "vkDestroyImage" destroy_image => vk::PFN_vkDestroyImage;
        Device "vkGetImageMemoryRequirements" get_image_memory_requirements => vk::PFN_vkGetImageMemoryRequirements;
        Device "vkGetImageMemoryRequirements2" get_image_memory_requirements2 => vk::PFN_vkGetImageMemoryRequirements2;
        Device "vkBindImageMemory" bind_image_memory => vk::PFN_vkBindImageMemory;
        Device "vkBindImageMemory2" bind_image_memory2 => vk::PFN_vkBindImageMemory2;
        Device "vkCreateImageView" create_image_view => vk::PFN_vkCreateImageView;
        Device "vkDestroyImageView" destroy_image_view => vk::PFN_vkDestroyImageView;
        Device "vkCreateVideoSessionKHR" create_video_session => vk::PFN_vkCreateVideoSessionKHR;
        Device "vkDestroyVideoSessionKHR" destroy_video_session => vk::PFN_vkDestroyVideoSessionKHR;
        Device "vkGetVideoSessionMemoryRequirementsKHR" get_video_session_memory_requirements => vk::PFN_vkGetVideoSessionMemoryRequirementsKHR;
        Device "vkBindVideoSessionMemoryKHR" bind_video_session_memory => vk::PFN_vkBindVideoSessionMemoryKHR;
        Device "vkCreateVideoSessionParametersKHR" create_video_session_parameters => vk::PFN_vkCreateVideoSessionParametersKHR;
        Device "vkUpdateVideoSessionParametersKHR" update_video_session_parameters => vk::PFN_vkUpdateVideoSessionParametersKHR;
        Device "vkDestroyVideoSessionParametersKHR" destroy_video_session_parameters => vk::PFN_vkDestroyVideoSessionParametersKHR;
        Device "vkGetEncodedVideoSessionParametersKHR" get_encoded_video_session_parameters => vk::PFN_vkGetEncodedVideoSessionParametersKHR;
        Device "vkCreateCommandPool" ffi_cmd::create_command_pool => vk::PFN_vkCreateCommandPool;
        Device "vkDestroyCommandPool" ffi_cmd::destroy_command_pool => vk::PFN_vkDestroyCommandPool;
        Device "vkResetCommandPool" ffi_cmd::reset_command_pool => vk::PFN_vkResetCommandPool;
        Device "vkAllocateCommandBuffers" ffi_cmd::allocate_command_buffers => vk::PFN_vkAllocateCommandBuffers;
        Device "vkFreeCommandBuffers" ffi_cmd::free_command_buffers => vk::PFN_vkFreeCommandBuffers;
        Device "vkBeginCommandBuffer" ffi_cmd::begin_command_buffer => vk::PFN_vkBeginCommandBuffer;
        Device "vkEndCommandBuffer" ffi_cmd::end_command_buffer => vk::PFN_vkEndCommandBuffer;
        Device "vkResetCommandBuffer" ffi_cmd::reset_command_buffer => vk::PFN_vkResetCommandBuffer;
        Device "vkCmdPipelineBarrier" ffi_cmd::cmd_pipeline_barrier => vk::PFN_vkCmdPipelineBarrier;
        Device "vkCmdPipelineBarrier2" ffi_cmd::cmd_pipeline_barrier2 => vk::PFN_vkCmdPipelineBarrier2;
        Device "vkCmdCopyBuffer" ffi_cmd::cmd_copy_buffer => vk::PFN_vkCmdCopyBuffer;
        Device "vkCmdCopyBufferToImage" ffi_cmd::cmd_copy_buffer_to_image => vk::PFN_vkCmdCopyBufferToImage;
        Device "vkCmdCopyImageToBuffer" ffi_cmd::cmd_copy_image_to_buffer => vk::PFN_vkCmdCopyImageToBuffer;
        Device "vkCmdCopyBufferToImage2" ffi_cmd::cmd_copy_buffer_to_image2 => vk::PFN_vkCmdCopyBufferToImage2;
        Device "vkCmdCopyImageToBuffer2" ffi_cmd::cmd_copy_image_to_buffer2 => vk::PFN_vkCmdCopyImageToBuffer2;
        Device "vkCmdResetQueryPool" ffi_cmd::cmd_reset_query_pool => vk::PFN_vkCmdResetQueryPool;
        Device "vkCmdBeginQuery" ffi_cmd::cmd_begin_query => vk::PFN_vkCmdBeginQuery;
        Device "vkCmdEndQuery" ffi_cmd::cmd_end_query => vk::PFN_vkCmdEndQuery;
        Device "vkCmdWriteTimestamp" ffi_cmd::cmd_write_timestamp => vk::PFN_vkCmdWriteTimestamp;
        Device "vkCmdWriteTimestamp2" ffi_cmd::cmd_write_timestamp2 => vk::PFN_vkCmdWriteTimestamp2;
        Device "vkCmdBeginVideoCodingKHR" ffi_cmd::cmd_begin_video_coding => vk::PFN_vkCmdBeginVideoCodingKHR;
        Device "vkCmdControlVideoCodingKHR" ffi_cmd::cmd_control_video_coding => vk::PFN_vkCmdControlVideoCodingKHR;
        Device "vkCmdEncodeVideoKHR" ffi_cmd::cmd_encode_video => vk::PFN_vkCmdEncodeVideoKHR;
        Device "vkCmdEndVideoCodingKHR" ffi_cmd::cmd_end_video_coding => vk::PFN_vkCmdEndVideoCodingKHR;
        Device "vkCreateQueryPool" ffi_cmd::create_query_pool => vk::PFN_vkCreateQueryPool;
        Device "vkDestroyQueryPool" ffi_cmd::destroy_query_pool => vk::PFN_vkDestroyQueryPool;
        Device "vkResetQueryPool" ffi_cmd::reset_query_pool => vk::PFN_vkResetQueryPool;
        Device "vkGetQueryPoolResults" ffi_cmd::get_query_pool_results => vk::PFN_vkGetQueryPoolResults;
        Device "vkCreateFence" ffi_cmd::create_fence => vk::PFN_vkCreateFence;
        Device "vkDestroyFence" ffi_cmd::destroy_fence => vk::PFN_vkDestroyFence;
        Device "vkResetFences" ffi_cmd::reset_fences => vk::PFN_vkResetFences;
        Device "vkWaitForFences" ffi_cmd::wait_for_fences => vk::PFN_vkWaitForFences;
        Device "vkGetFenceStatus" ffi_cmd::get_fence_status => vk::PFN_vkGetFenceStatus;
        Device "vkCreateSemaphore" ffi_cmd::create_semaphore => vk::PFN_vkCreateSemaphore;
        Device "vkDestroySemaphore" ffi_cmd::destroy_semaphore => vk::PFN_vkDestroySemaphore;
        Device "vkWaitSemaphores" ffi_cmd::wait_semaphores => vk::PFN_vkWaitSemaphores;
        Device "vkSignalSemaphore" ffi_cmd::signal_semaphore => vk::PFN_vkSignalSemaphore;
        Device "vkGetSemaphoreCounterValue" ffi_cmd::get_semaphore_counter_value => vk::PFN_vkGetSemaphoreCounterValue;
        Device "vkQueueSubmit" ffi_cmd::queue_submit => vk::PFN_vkQueueSubmit;
        Device "vkQueueSubmit2" ffi_cmd::queue_submit2 => vk::PFN_vkQueueSubmit2;
    ]
});

/// The names of the implemented entry points (for the tests and the log's readers).
pub fn implemented() -> Vec<&'static str> {
    let mut names: Vec<_> = ENTRY_POINTS.iter().map(|e| e.name).collect();
    names.dedup();
    names
}
