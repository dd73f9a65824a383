//! Errors as Python exceptions: every library error becomes the `ghoststream` exception class of
//! its stable code ([`ErrorCode`], the numbers the C ABI returns), carrying that code and the
//! library's message, which names the value.

use std::panic::AssertUnwindSafe;

use ghoststream::ErrorCode;
use pyo3::prelude::*;

/// Why a call failed: a GhostStream error with its stable code, or an exception Python raised.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A library error (or one of this module's own checks), with its code.
    Engine {
        /// The stable code.
        code: ErrorCode,
        /// The message, naming the value.
        message: String,
    },
    /// An exception raised while calling into Python.
    Python(PyErr),
}

impl Failure {
    /// A failure with `code` and `message`.
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Failure::Engine {
            code,
            message: message.into(),
        }
    }

    /// An invalid configuration value.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidConfig, message)
    }
}

/// Any library error, as the failure of its stable code.
pub(crate) fn engine<E: Into<ghoststream::Error>>(e: E) -> Failure {
    let e: ghoststream::Error = e.into();
    Failure::new(e.code(), e.to_string())
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Failure::Python(e)
    }
}

/// The class in `ghoststream._errors` that stands for `code`.
fn class_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidConfig => "ConfigError",
        ErrorCode::BadInput => "BadInputError",
        ErrorCode::Unavailable => "UnavailableError",
        ErrorCode::Encoder => "EncoderError",
        ErrorCode::Output => "OutputError",
        ErrorCode::State => "StateError",
        ErrorCode::FrameMismatch => "FrameMismatchError",
        ErrorCode::Internal => "InternalError",
        ErrorCode::Gpu => "GpuError",
        ErrorCode::Timeout => "TimeoutError",
        // A code newer than this module: the base class still carries its number.
        _ => "Error",
    }
}

impl From<Failure> for PyErr {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Python(e) => e,
            Failure::Engine { code, message } => Python::attach(|py| {
                let made = py
                    .import("ghoststream._errors")
                    .and_then(|m| m.getattr(class_name(code)))
                    .and_then(|class| class.call1((message, code as i32)));
                match made {
                    Ok(exception) => PyErr::from_value(exception),
                    Err(e) => e,
                }
            }),
        }
    }
}

/// Runs `f` with the GIL released, so that other Python threads run while it blocks; a panic
/// inside it becomes an `InternalError` instead of crossing into Python.
pub(crate) fn blocking<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T, Failure> + Send,
) -> Result<T, Failure> {
    py.detach(|| {
        std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic with no message".into());
            tracing::error!(panic = %what, "a GhostStream call panicked");
            Err(Failure::new(
                ErrorCode::Internal,
                format!("internal error (a panic inside GhostStream): {what}"),
            ))
        })
    })
}
