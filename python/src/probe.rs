//! `ghoststream.probe()`: every encode path, GPU engine and capture method, as data.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::{blocking, Failure};

/// probe()
/// --
///
/// Every encode path (each backend for each codec), the GPU engine and each capture method,
/// available here or not and why: a list of dicts with keys ``category`` ("encode", "gpu",
/// "capture"), ``path`` ("software", "nvenc", "vulkan", "wayland"...), ``codec`` ("h264",
/// "hevc", "av1", or None), ``available`` (bool) and ``reason`` (what it uses when available,
/// why not when not). Takes a few seconds at most (capture services are asked with a timeout);
/// the GIL is released meanwhile.
#[pyfunction]
pub(crate) fn probe(py: Python<'_>) -> Result<Vec<Bound<'_, PyDict>>, Failure> {
    let entries = blocking(py, || Ok(ghoststream::probe::probe()))?;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let d = PyDict::new(py);
        d.set_item("category", e.category)?;
        d.set_item("path", e.name)?;
        d.set_item("codec", e.codec.map(|c| c.name()))?;
        d.set_item("available", e.available)?;
        d.set_item("reason", e.detail)?;
        out.push(d);
    }
    Ok(out)
}
