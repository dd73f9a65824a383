//! The buffer protocol (PEP 3118) for an abi3 wheel built for CPython 3.9: the one module of
//! this crate with `unsafe`, each block with its `// SAFETY:` comment.
//!
//! # Why it is declared here
//!
//! PyO3 offers `PyBuffer` and `#[pymethods] __getbuffer__` only where the buffer API is in the
//! limited API, CPython 3.11 and newer (`pyo3-ffi`'s `pybuffer` module is `#[cfg(Py_3_11)]`, and
//! so is its `getbufferproc` trampoline). The API itself is older than the limited API:
//!
//! - `Py_buffer` (eleven fields, `buf` to `internal`), `PyObject_GetBuffer`, `PyBuffer_Release`
//!   and `PyBuffer_FillInfo` have had this layout and these signatures in every CPython since
//!   3.3, exported by every libpython (declared in `Include/cpython/object.h` and
//!   `Include/cpython/abstract.h` up to 3.10). CPython 3.11 (bpo-45459, GH-29991) moved them, as
//!   they were, into `Include/pybuffer.h` and into the limited API and stable ABI, whose header
//!   now says that "Py_buffer struct layout and size is now part of the stable abi3 [and] must
//!   not be changed in any way". So a module built against the 3.9 limited API and calling them
//!   links and runs on every CPython from 3.9 on: the symbols are there in 3.9 and 3.10 (outside
//!   the limited API, but exported), and frozen from 3.11.
//! - The `Py_bf_getbuffer` slot (number 1 in `typeslots.h`, "part of the stable ABI") is
//!   accepted by `PyType_FromSpec` since CPython 3.9 (bpo-40724, GH-20648: "Slots in
//!   PyBufferProcs may be set in the unlimited API"), and is in the limited API since 3.11.
//!   3.8 and older refuse it, which the wheel (CPython >= 3.9) never meets.
//!
//! Only CPython is supported (the wheel says so); PyPy's `Py_buffer` is larger.
//!
//! # What it gives
//!
//! - [`Buffer`]: a held buffer of any exporter (NumPy arrays, `bytes`, `bytearray`,
//!   `memoryview`, `array.array`...), released when dropped, and [`Buffer::copy_c_order`], one
//!   copy of its elements in C order into the caller's memory, whatever its strides.
//! - [`export_type`]: a subclass of a frozen `#[pyclass]` (`T: Exported`) whose instances export
//!   `T::exported()`'s bytes through the buffer protocol, read-only and without a copy; the
//!   view holds a reference to the object, which keeps the bytes alive.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::{PyBufferError, PyRuntimeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};
use pyo3::PyClass;

/// CPython's `Py_buffer`, exactly as `Include/pybuffer.h` (3.11+) and `Include/cpython/object.h`
/// (3.3 to 3.10) declare it.
#[repr(C)]
struct PyBufferView {
    buf: *mut c_void,
    /// An owned reference to the exporter (NULL for some exporters).
    obj: *mut ffi::PyObject,
    len: ffi::Py_ssize_t,
    itemsize: ffi::Py_ssize_t,
    readonly: c_int,
    ndim: c_int,
    format: *mut c_char,
    shape: *mut ffi::Py_ssize_t,
    strides: *mut ffi::Py_ssize_t,
    suboffsets: *mut ffi::Py_ssize_t,
    internal: *mut c_void,
}

/// `PyBUF_FORMAT`: the exporter fills in `format`.
const PYBUF_FORMAT: c_int = 0x0004;
/// `PyBUF_ND`: the exporter fills in `shape`.
const PYBUF_ND: c_int = 0x0008;
/// `PyBUF_STRIDES`: the exporter fills in `strides` (any layout, without suboffsets).
const PYBUF_STRIDES: c_int = 0x0010 | PYBUF_ND;
/// `PyBUF_RECORDS_RO`: shape, strides and format; read-only is fine (we only read).
const PYBUF_RECORDS_RO: c_int = PYBUF_STRIDES | PYBUF_FORMAT;

extern "C" {
    fn PyObject_GetBuffer(obj: *mut ffi::PyObject, view: *mut PyBufferView, flags: c_int) -> c_int;
    fn PyBuffer_Release(view: *mut PyBufferView);
    fn PyBuffer_FillInfo(
        view: *mut PyBufferView,
        obj: *mut ffi::PyObject,
        buf: *mut c_void,
        len: ffi::Py_ssize_t,
        readonly: c_int,
        flags: c_int,
    ) -> c_int;
}

/// A buffer held from an exporter, released (`PyBuffer_Release`) when dropped. While it is
/// held the exporter keeps its memory where it is: a `bytearray` cannot be resized, a NumPy
/// array's data stays (it may still be written by other code, as any buffer may; the copy is
/// made with the GIL held, so no Python code runs during it).
pub(crate) struct Buffer<'py> {
    /// Boxed: exporters may point `shape` and `strides` into the view itself
    /// (`PyBuffer_FillInfo` does), so it must not move while held.
    view: Box<PyBufferView>,
    _py: Python<'py>,
}

impl<'py> Buffer<'py> {
    /// The buffer of `obj` with its shape, strides and format (`PyBUF_RECORDS_RO`); the
    /// exporter's error (a `TypeError` when it has no buffer protocol, a `BufferError` when it
    /// cannot give strides without suboffsets) otherwise.
    pub(crate) fn get(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        let mut view = Box::new(PyBufferView {
            buf: std::ptr::null_mut(),
            obj: std::ptr::null_mut(),
            len: 0,
            itemsize: 0,
            readonly: 0,
            ndim: 0,
            format: std::ptr::null_mut(),
            shape: std::ptr::null_mut(),
            strides: std::ptr::null_mut(),
            suboffsets: std::ptr::null_mut(),
            internal: std::ptr::null_mut(),
        });
        // SAFETY: `obj` is a live object (a Bound, so the GIL is held) and `view` points to a
        // writable Py_buffer of the layout CPython expects (see the module's doc). On success
        // the view must be released exactly once, which Drop does; on failure it holds nothing.
        let rc = unsafe { PyObject_GetBuffer(obj.as_ptr(), &raw mut *view, PYBUF_RECORDS_RO) };
        if rc != 0 {
            return Err(PyErr::fetch(obj.py()));
        }
        let held = Buffer {
            view,
            _py: obj.py(),
        };
        if !held.view.suboffsets.is_null() {
            // PyBUF_RECORDS_RO asks for none; an exporter that sets them anyway is refused.
            return Err(PyBufferError::new_err(
                "the buffer has suboffsets (an indirect, PIL-style layout)",
            ));
        }
        if held.view.buf.is_null() && held.view.len != 0 {
            return Err(PyBufferError::new_err("the buffer has no memory"));
        }
        Ok(held)
    }

    /// Bytes of the whole buffer (every element, as if contiguous).
    pub(crate) fn len(&self) -> usize {
        usize::try_from(self.view.len).unwrap_or(0)
    }

    /// Bytes of one element.
    pub(crate) fn itemsize(&self) -> usize {
        usize::try_from(self.view.itemsize).unwrap_or(0)
    }

    /// The element format, in `struct` syntax ("B" when the exporter gives none).
    pub(crate) fn format(&self) -> String {
        if self.view.format.is_null() {
            return "B".into();
        }
        // SAFETY: a non-NULL `format` is a NUL-terminated string owned by the exporter, valid
        // while the view is held (the borrow of self).
        unsafe { CStr::from_ptr(self.view.format) }
            .to_string_lossy()
            .into_owned()
    }

    fn ndim(&self) -> usize {
        usize::try_from(self.view.ndim).unwrap_or(0)
    }

    /// The element counts per dimension (empty for a 0-dimensional buffer).
    pub(crate) fn shape(&self) -> &[ffi::Py_ssize_t] {
        if self.view.shape.is_null() || self.ndim() == 0 {
            return &[];
        }
        // SAFETY: with PyBUF_ND requested, a non-NULL `shape` points to `ndim` integers owned
        // by the exporter (or the boxed view), valid while the view is held.
        unsafe { std::slice::from_raw_parts(self.view.shape, self.ndim()) }
    }

    /// The byte step per dimension; `None` when the exporter gave none (C-contiguous).
    pub(crate) fn strides(&self) -> Option<&[ffi::Py_ssize_t]> {
        if self.view.strides.is_null() || self.ndim() == 0 {
            return None;
        }
        // SAFETY: as for `shape`: `ndim` integers valid while the view is held.
        Some(unsafe { std::slice::from_raw_parts(self.view.strides, self.ndim()) })
    }

    /// True when the elements lie one after another in C order.
    pub(crate) fn is_c_contiguous(&self) -> bool {
        let Some(strides) = self.strides() else {
            return true;
        };
        let mut step = self.view.itemsize;
        for (&n, &s) in self.shape().iter().zip(strides).rev() {
            if n > 1 && s != step {
                return false;
            }
            step = step.saturating_mul(n);
        }
        true
    }

    /// Copies every element, in C order (the last index fastest), into `into`, which must be
    /// exactly [`Buffer::len`] bytes; one copy, whatever the strides (row by row, or element
    /// by element when the last dimension is itself strided).
    pub(crate) fn copy_c_order(&self, into: &mut [u8]) -> PyResult<()> {
        if into.len() != self.len() {
            return Err(PyRuntimeError::new_err(format!(
                "a buffer of {} bytes copied into {} bytes",
                self.len(),
                into.len()
            )));
        }
        if into.is_empty() {
            return Ok(());
        }
        let base = self.view.buf.cast::<u8>().cast_const();
        if self.is_c_contiguous() {
            // SAFETY: a contiguous buffer is `len` readable bytes from `buf`, valid while the
            // view is held; `into` is `len` bytes of our own memory, so they cannot overlap.
            unsafe { std::ptr::copy_nonoverlapping(base, into.as_mut_ptr(), into.len()) };
            return Ok(());
        }
        let (shape, strides) = (self.shape(), self.strides().unwrap_or_default());
        let itemsize = self.itemsize();
        let dims = shape.len();
        let inner_n = usize::try_from(shape[dims - 1]).unwrap_or(0);
        let inner_stride = strides[dims - 1];
        let row_bytes = inner_n * itemsize;
        if row_bytes == 0 || into.len() % row_bytes != 0 {
            return Err(PyRuntimeError::new_err(format!(
                "a buffer of {} bytes in rows of {row_bytes}",
                into.len()
            )));
        }
        let contiguous_rows = inner_stride == self.view.itemsize;
        let mut index = vec![0isize; dims - 1];
        for row in into.chunks_exact_mut(row_bytes) {
            let offset: isize = index.iter().zip(strides).map(|(&i, &s)| i * s).sum();
            let start = base.wrapping_offset(offset);
            if contiguous_rows {
                // SAFETY: the exporter's contract: for every index within `shape`, `buf` plus
                // the sum of index times stride points to `itemsize` readable bytes, valid
                // while the view is held; with the last stride equal to the item size, a row
                // of the last dimension is `row_bytes` bytes from `start`. `row` is ours.
                unsafe { std::ptr::copy_nonoverlapping(start, row.as_mut_ptr(), row_bytes) };
            } else {
                for (j, item) in (0isize..).zip(row.chunks_exact_mut(itemsize)) {
                    let at = start.wrapping_offset(j * inner_stride);
                    // SAFETY: as above: element j of this row is `itemsize` readable bytes at
                    // `at`; `item` is `itemsize` bytes of our own memory.
                    unsafe { std::ptr::copy_nonoverlapping(at, item.as_mut_ptr(), itemsize) };
                }
            }
            // The next index of the outer dimensions, in C order.
            for d in (0..dims - 1).rev() {
                index[d] += 1;
                if index[d] < shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        Ok(())
    }
}

impl Drop for Buffer<'_> {
    fn drop(&mut self) {
        // SAFETY: the view was filled by a successful PyObject_GetBuffer and is released
        // exactly once, here, with the GIL held (`Python<'py>` lives as long as self).
        unsafe { PyBuffer_Release(&raw mut *self.view) };
    }
}

/// A frozen `#[pyclass]` whose bytes a subclass made by [`export_type`] exports.
pub(crate) trait Exported:
    PyClass<Frozen = pyo3::pyclass::boolean_struct::True> + Sync
{
    /// The bytes exported: they must not change or move while the object lives (a frozen
    /// class's immutable field).
    fn exported(&self) -> &[u8];
}

/// `bf_getbuffer` of [`export_type`]'s classes: a read-only, one-dimensional view of unsigned
/// bytes ("B") of `T::exported()`, holding a reference to `obj`.
///
/// # Safety
/// Called by CPython only, as the `bf_getbuffer` slot of a subclass of `T`: the GIL is held,
/// `obj` is a live instance and `view` is the caller's Py_buffer to fill.
unsafe extern "C" fn getbuffer<T: Exported>(
    obj: *mut ffi::PyObject,
    view: *mut PyBufferView,
    flags: c_int,
) -> c_int {
    // SAFETY: CPython calls a bf_getbuffer slot on an attached thread (the GIL held).
    let py = unsafe { Python::assume_attached() };
    let filled = catch_unwind(AssertUnwindSafe(|| -> PyResult<c_int> {
        // SAFETY: `obj` is a live object, borrowed for the duration of this call.
        let any = unsafe { Bound::from_borrowed_ptr(py, obj) };
        let instance = any.cast::<T>()?;
        let data = instance.get().exported();
        let len = ffi::Py_ssize_t::try_from(data.len())
            .map_err(|_| PyBufferError::new_err("the data is too large"))?;
        // SAFETY: `view` is CPython's to fill; `data` stays where it is, unchanged, while `obj`
        // lives (Exported's contract), and the view holds a reference to `obj` (FillInfo takes
        // one, PyBuffer_Release drops it). Read-only (1): a request for a writable view fails
        // with BufferError inside FillInfo. FillInfo never writes through `buf`.
        Ok(unsafe { PyBuffer_FillInfo(view, obj, data.as_ptr().cast_mut().cast(), len, 1, flags) })
    }));
    match filled {
        Ok(Ok(rc)) => rc,
        Ok(Err(e)) => {
            e.restore(py);
            -1
        }
        Err(_) => {
            PyRuntimeError::new_err("internal error (a panic while exporting a buffer)")
                .restore(py);
            -1
        }
    }
}

/// A new class `name` (module-qualified, e.g. `c"ghoststream._native.Packet"`) deriving from
/// `T`'s class and adding only the buffer protocol (`bf_getbuffer`, see [`getbuffer`]) and the
/// docstring `doc`. Its instances are made by calling it, which runs `T`'s `#[new]`.
pub(crate) fn export_type<T: Exported>(
    py: Python<'_>,
    name: &'static CStr,
    doc: &'static CStr,
) -> PyResult<Py<PyType>> {
    let base = py.get_type::<T>();
    // The base's instance size, given explicitly rather than left to inheritance.
    let basicsize: c_int = base.getattr("__basicsize__")?.extract()?;
    let getbuffer: unsafe extern "C" fn(*mut ffi::PyObject, *mut PyBufferView, c_int) -> c_int =
        getbuffer::<T>;
    let mut slots = [
        ffi::PyType_Slot {
            slot: ffi::Py_bf_getbuffer,
            pfunc: getbuffer as *mut c_void,
        },
        ffi::PyType_Slot {
            slot: ffi::Py_tp_doc,
            pfunc: doc.as_ptr().cast_mut().cast(),
        },
        ffi::PyType_Slot {
            slot: 0,
            pfunc: std::ptr::null_mut(),
        },
    ];
    let mut spec = ffi::PyType_Spec {
        name: name.as_ptr(),
        basicsize,
        itemsize: 0,
        flags: u32::try_from(ffi::Py_TPFLAGS_DEFAULT).unwrap_or_default(),
        slots: slots.as_mut_ptr(),
    };
    let bases = PyTuple::new(py, [base])?;
    // SAFETY: `spec` and its slots are valid for the call (CPython copies the slots and the
    // doc; `name` is 'static, as CPython may keep pointing into it); the slot functions have
    // the signatures of their slots; `bases` is a tuple of one type whose instances the new
    // type shares (the same basicsize, the base's tp_new and tp_dealloc, inherited).
    let made = unsafe { ffi::PyType_FromSpecWithBases(&raw mut spec, bases.as_ptr()) };
    // SAFETY: PyType_FromSpecWithBases returns a new reference, or NULL with an exception set
    // (which from_owned_ptr_or_err turns into the error).
    let made = unsafe { Bound::from_owned_ptr_or_err(py, made) }?;
    Ok(made.cast_into::<PyType>()?.unbind())
}
