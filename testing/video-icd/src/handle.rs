//! Dispatchable handles (`VkInstance`, `VkPhysicalDevice`, `VkDevice`, `VkQueue`): each is the
//! address of a slot the loader owns, holding `ICD_LOADER_MAGIC` until the loader writes its
//! dispatch table pointer there. The driver never reads a slot after creating it; it finds an
//! object's state by the handle's value.

use std::ptr::NonNull;
use std::sync::atomic::AtomicUsize;

/// The value a driver puts in a dispatchable object's first pointer-sized field
/// (`ICD_LOADER_MAGIC` in the loader's `vk_icd.h`); the loader checks it, then overwrites it.
pub const ICD_LOADER_MAGIC: usize = 0x01CD_C0DE;

/// The loader's pointer-sized field at the start of every dispatchable object.
#[repr(C)]
struct LoaderSlot {
    loader_data: AtomicUsize,
}

/// A dispatchable object's slot, owned by the driver's state for that object.
#[derive(Debug)]
pub struct Dispatchable {
    slot: NonNull<LoaderSlot>,
}

// SAFETY: the pointer owns its allocation (made in `new`, freed once in `drop`), and the only
// field behind it is atomic, so the slot may be moved to and shared with any thread.
unsafe impl Send for Dispatchable {}
// SAFETY: as above; `&Dispatchable` gives only atomic reads of the slot.
unsafe impl Sync for Dispatchable {}

impl Dispatchable {
    /// A new slot holding `ICD_LOADER_MAGIC`.
    pub fn new() -> Self {
        let slot = Box::leak(Box::new(LoaderSlot {
            loader_data: AtomicUsize::new(ICD_LOADER_MAGIC),
        }));
        Self {
            slot: NonNull::from(slot),
        }
    }

    /// The handle's value: the slot's address, exposed for the loader to dereference.
    pub fn raw(&self) -> u64 {
        let address = self.slot.as_ptr().expose_provenance();
        u64::try_from(address).unwrap_or(0)
    }

    #[cfg(test)]
    /// True while the slot still holds `ICD_LOADER_MAGIC` (before the loader wrote to it).
    pub fn holds_magic(&self) -> bool {
        // SAFETY: the slot is alive while `self` is (freed only in drop).
        let slot = unsafe { self.slot.as_ref() };
        slot.loader_data.load(std::sync::atomic::Ordering::Relaxed) == ICD_LOADER_MAGIC
    }
}

impl Default for Dispatchable {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Dispatchable {
    fn drop(&mut self) {
        // SAFETY: the slot was made by Box::leak in `new` and is freed here, once; the loader
        // no longer uses a handle once its object is destroyed.
        drop(unsafe { Box::from_raw(self.slot.as_ptr()) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_slot_holds_the_magic_at_its_handle_address() {
        let d = Dispatchable::new();
        assert!(d.holds_magic());
        assert_ne!(d.raw(), 0);
        assert_ne!(d.raw(), Dispatchable::new().raw());
    }
}
