//! Reading the caller's NVENC structures without trusting them: a field is located by address
//! (never read as a typed value), so an enumeration member holding a number outside the
//! header's enumeration is read as that number and refused, not turned into undefined
//! behaviour in the STAND-IN.

/// The size of the value behind a raw pointer (of a field), without reading it.
pub(crate) fn size_of_pointee<F>(_: *const F) -> usize {
    std::mem::size_of::<F>()
}

/// `(offset, size)` of a field path of `$T`, without a value of `$T`. The path may pass through
/// unions (every member at offset 0) and nested structures.
macro_rules! field {
    ($T:ty, $($f:ident).+) => {{
        let u = std::mem::MaybeUninit::<$T>::uninit();
        let p = u.as_ptr();
        // SAFETY: only the field's address is computed (inside the allocation); nothing is
        // read. (Inside an `unsafe` block of the caller the block is redundant, hence the allow.)
        #[allow(unused_unsafe)]
        let f = unsafe { std::ptr::addr_of!((*p).$($f).+) };
        (
            (f as usize) - (p as usize),
            $crate::raw::size_of_pointee(f),
        )
    }};
}
pub(crate) use field;

/// A structure the caller passed: its bytes, copied once (so that a racing writer cannot change
/// what was checked).
pub(crate) struct Bytes(Vec<u8>);

impl Bytes {
    /// Copies the `T` at `p`.
    ///
    /// # Safety
    /// `p` points at `size_of::<T>()` readable bytes.
    pub(crate) unsafe fn copy<T>(p: *const T) -> Self {
        let len = std::mem::size_of::<T>();
        // SAFETY: the caller's contract.
        Self(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) }.to_vec())
    }

    /// A `u32` field.
    pub(crate) fn u32(&self, (offset, size): (usize, usize)) -> u32 {
        debug_assert_eq!(size, 4);
        u32::from_ne_bytes(self.0[offset..offset + 4].try_into().expect("4 bytes"))
    }

    /// An `i32` field.
    pub(crate) fn i32(&self, at: (usize, usize)) -> i32 {
        i32::from_ne_bytes(self.u32(at).to_ne_bytes())
    }

    /// A `u64` field.
    pub(crate) fn u64(&self, (offset, size): (usize, usize)) -> u64 {
        debug_assert_eq!(size, 8);
        u64::from_ne_bytes(self.0[offset..offset + 8].try_into().expect("8 bytes"))
    }

    /// A pointer field, as a number.
    pub(crate) fn ptr(&self, at: (usize, usize)) -> usize {
        usize::try_from(self.u64(at)).expect("64-bit pointers")
    }

    /// A field's bytes.
    pub(crate) fn bytes(&self, (offset, size): (usize, usize)) -> &[u8] {
        &self.0[offset..offset + size]
    }

    /// Whether a field is all zero bytes.
    pub(crate) fn zero(&self, at: (usize, usize)) -> bool {
        self.bytes(at).iter().all(|b| *b == 0)
    }

    /// A GUID field.
    pub(crate) fn guid(
        &self,
        (offset, _): (usize, usize),
    ) -> nvidia_video_codec_sdk::sys::nvEncodeAPI::GUID {
        let b = &self.0[offset..offset + 16];
        nvidia_video_codec_sdk::sys::nvEncodeAPI::GUID {
            Data1: u32::from_ne_bytes(b[0..4].try_into().expect("4")),
            Data2: u16::from_ne_bytes(b[4..6].try_into().expect("2")),
            Data3: u16::from_ne_bytes(b[6..8].try_into().expect("2")),
            Data4: b[8..16].try_into().expect("8"),
        }
    }

    /// The copied bytes from `at`'s offset for `len` bytes (a nested structure).
    pub(crate) fn sub(&self, (offset, size): (usize, usize)) -> Bytes {
        Bytes(self.0[offset..offset + size].to_vec())
    }
}

/// Writes `value` into the field `at` of the structure at `p`.
///
/// # Safety
/// `p` points at a writable structure containing the field, and `V` is the field's type or one
/// of its size that the field may hold.
pub(crate) unsafe fn write<T, V>(p: *mut T, (offset, size): (usize, usize), value: V) {
    debug_assert_eq!(size, std::mem::size_of::<V>());
    // SAFETY: the caller's contract.
    unsafe {
        p.cast::<u8>()
            .add(offset)
            .cast::<V>()
            .write_unaligned(value)
    };
}
