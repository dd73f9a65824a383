//! `ghoststream._native`: the Python package's native part, built by maturin as one abi3 wheel
//! (CPython 3.9 and newer). It wraps the Rust API directly (the session, the Recorder, the
//! probe, the outputs), not the C ABI; `ghoststream/__init__.py` re-exports it beside the
//! exception classes (`ghoststream/_errors.py`) that every error is raised as, by its stable
//! code.
//!
//! PyO3's safe API is used everywhere but in [`buffer`], the thin layer that declares the buffer
//! protocol (PyO3 offers it to abi3 wheels only from CPython 3.11): frames are read from any
//! exporter in one copy, and packets export their bytes without one. Calls that may block
//! release the GIL ([`error::blocking`]), and a panic inside one is raised as
//! `ghoststream.InternalError`.

use pyo3::prelude::*;

mod buffer;
mod error;
mod options;
mod probe;
mod recorder;
mod session;

/// The native module, imported as `ghoststream._native`.
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<session::PySession>()?;
    m.add("Packet", session::packet_type(m.py())?)?;
    m.add_class::<recorder::PyRecorder>()?;
    recorder::add_event_classes(m)?;
    m.add_function(wrap_pyfunction!(probe::probe, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
