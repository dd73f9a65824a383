//! Structs that begin with their own size: how they are read from and written to the caller,
//! so that a struct from an older (smaller) or newer (larger) header is handled safely.

use std::mem::size_of;

use crate::result::{guarded, Failure, GS_ERR_NULL, GS_ERR_STRUCT_SIZE, GS_OK};

/// The caller's `size` field (the first `uint32_t` of every such struct).
///
/// # Safety
/// `p` is non-null and points at least at a readable `uint32_t`.
unsafe fn declared_size<T>(p: *const T) -> u32 {
    // SAFETY: the caller guarantees the first four bytes are readable; only they are read.
    unsafe { p.cast::<u32>().read_unaligned() }
}

fn check_size<T>(size: u32, what: &str, type_name: &str) -> Result<(), Failure> {
    if (size as usize) < size_of::<T>() {
        return Err(Failure::new(
            GS_ERR_STRUCT_SIZE,
            format!(
                "{what}.size is {size}, smaller than {type_name} ({}): set it to sizeof({type_name}) (the *_defaults functions do)",
                size_of::<T>()
            ),
        ));
    }
    Ok(())
}

/// Copies an input struct after checking its pointer and size; fields a newer header added
/// beyond this version's are ignored.
///
/// # Safety
/// `p` is NULL or points at a readable struct of at least its declared `size` bytes.
pub(crate) unsafe fn read_in<T: Copy>(
    p: *const T,
    what: &str,
    type_name: &str,
) -> Result<T, Failure> {
    if p.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-null; the caller guarantees a readable struct.
    check_size::<T>(unsafe { declared_size(p) }, what, type_name)?;
    // SAFETY: the caller's struct is at least as large as this version's (checked above).
    Ok(unsafe { p.read_unaligned() })
}

fn check_min_size(size: u32, min: u32, what: &str, type_name: &str) -> Result<(), Failure> {
    if size < min {
        return Err(Failure::new(
            GS_ERR_STRUCT_SIZE,
            format!(
                "{what}.size is {size}, smaller than the first version of {type_name} ({min}): set it to sizeof({type_name}) (the *_defaults functions do)"
            ),
        ));
    }
    Ok(())
}

/// Copies an input struct that grew over versions: the caller's first `size` bytes (at least
/// `min`, the first version's size) over `defaults`, so that the fields an older header lacks
/// keep their defaults; fields a newer header added beyond this version's are ignored.
///
/// # Safety
/// `p` is NULL or points at a readable struct of at least its declared `size` bytes; `T` is
/// plain data (any bytes are a valid value of each field).
pub(crate) unsafe fn read_versioned<T: Copy>(
    p: *const T,
    min: u32,
    what: &str,
    type_name: &str,
    defaults: T,
) -> Result<T, Failure> {
    if p.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-null; the caller guarantees a readable struct.
    let size = unsafe { declared_size(p) };
    check_min_size(size, min, what, type_name)?;
    let n = (size as usize).min(size_of::<T>());
    let mut value = defaults;
    // SAFETY: the caller's struct is readable for `size` >= n bytes; `value` is a T of
    // size_of::<T>() >= n bytes; plain data, so the mixed bytes are a valid T.
    unsafe {
        std::ptr::copy_nonoverlapping(
            p.cast::<u8>(),
            std::ptr::from_mut(&mut value).cast::<u8>(),
            n,
        );
    }
    Ok(value)
}

/// Writes the first `size` bytes of `value` (at least `min`, at most this version's size) to
/// an input struct being initialised, with its `size` field set to the bytes written.
///
/// # Safety
/// `p` is NULL or writable for `size` bytes; `T` begins with its `u32` size.
pub(crate) unsafe fn write_prefix<T: Copy>(
    p: *mut T,
    size: u32,
    min: u32,
    what: &str,
    type_name: &str,
    value: T,
) -> Result<(), Failure> {
    if p.is_null() {
        return Err(Failure::null(what));
    }
    check_min_size(size, min, what, type_name)?;
    let n = (size as usize).min(size_of::<T>());
    // SAFETY: `value` is a T of at least n bytes; `p` is writable for size >= n bytes
    // (contract); n >= min >= 4, so the size field is inside the copied bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(std::ptr::from_ref(&value).cast::<u8>(), p.cast::<u8>(), n);
        p.cast::<u32>()
            .write_unaligned(u32::try_from(n).unwrap_or(u32::MAX));
    }
    Ok(())
}

/// The body of a `gs_*_init(options, size)` function: [`write_prefix`] of `value` into
/// `options` (named `options` in messages), as a C status code.
///
/// # Safety
/// As [`write_prefix`].
pub(crate) unsafe fn init_prefix<T: Copy>(
    options: *mut T,
    size: u32,
    min: u32,
    type_name: &str,
    value: T,
) -> i32 {
    guarded(|| {
        // SAFETY: the caller's contract, passed on.
        unsafe { write_prefix(options, size, min, "options", type_name, value)? };
        Ok(GS_OK)
    })
}

/// A struct the library fills for the caller (`gs_packet_stats`, `gs_session_stats`, ...),
/// which may grow at its end in a later minor version.
pub(crate) trait OutputStruct: Copy {
    /// Its name in the header, for messages.
    const NAME: &'static str;
    /// Its size in the ABI version that introduced it: the smallest `size` a caller may set.
    /// A caller built against any version since has a struct at least this large, whose
    /// fields are a prefix of this version's.
    const FIRST_SIZE: u32;
}

/// Fills an output struct whose `size` the caller set, as the header's versioning rule says:
/// a `size` down to the struct's first version's gets the fields it has room for (the first
/// `size` bytes of `value`, the fields of the caller's header), never a byte past it; a
/// `size` larger than this version's gets this version's struct. The `size` field is then
/// the bytes written, so a caller built against a newer header learns which fields were
/// filled. A `size` smaller than the first version's is `GS_ERR_STRUCT_SIZE`, nothing
/// written.
///
/// # Safety
/// `p` is NULL or points at a struct writable for its declared `size` bytes (at least its
/// size field readable).
pub(crate) unsafe fn write_out<T: OutputStruct>(
    p: *mut T,
    what: &str,
    value: T,
) -> Result<(), Failure> {
    const {
        assert!(
            T::FIRST_SIZE as usize >= size_of::<u32>() && T::FIRST_SIZE as usize <= size_of::<T>(),
            "an output struct's first size holds its size field and is at most its size now"
        );
    }
    if p.is_null() {
        return Err(Failure::new(GS_ERR_NULL, format!("`{what}` is NULL")));
    }
    // SAFETY: non-null; the caller guarantees a struct whose size field was set.
    let size = unsafe { declared_size(p) };
    if size < T::FIRST_SIZE {
        return Err(Failure::new(
            GS_ERR_STRUCT_SIZE,
            format!(
                "{what}.size is {size}, smaller than the first version of {name} ({first}): set it to sizeof({name})",
                name = T::NAME,
                first = T::FIRST_SIZE
            ),
        ));
    }
    let n = (size as usize).min(size_of::<T>());
    // SAFETY: `value` is a T of size_of::<T>() >= n bytes; `p` is writable for size >= n bytes
    // (contract); n >= FIRST_SIZE >= 4 (checked above and at compile time), so the size field
    // is inside the bytes written; unaligned writes, as the caller's struct may be anywhere.
    unsafe {
        std::ptr::copy_nonoverlapping(std::ptr::from_ref(&value).cast::<u8>(), p.cast::<u8>(), n);
        p.cast::<u32>()
            .write_unaligned(u32::try_from(n).unwrap_or(u32::MAX));
    }
    Ok(())
}

/// The `size` value for this version of `T`.
#[expect(
    clippy::cast_possible_truncation,
    reason = "the ABI's structs are a few hundred bytes (`try_from` is not const)"
)]
pub(crate) const fn size_of_struct<T>() -> u32 {
    size_of::<T>() as u32
}
