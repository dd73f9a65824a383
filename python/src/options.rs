//! Python keyword values to the library's configuration types. Every value that cannot be read
//! is a `ConfigError` naming it; what the library validates (ranges, combinations) it names
//! itself.

use std::path::PathBuf;
use std::str::FromStr;

use ghoststream::{BackendChoice, KeyframeEvery, Preset, RateControlMode, Tuning};
use ghoststream::{Codec, PixelFormat, Rational};
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt, PyString};

use crate::error::{engine, Failure};

/// A value parsed by one of the library's `FromStr`s that answer with a message.
pub(crate) fn named<T: FromStr<Err = String>>(value: &str) -> Result<T, Failure> {
    value.parse::<T>().map_err(Failure::config)
}

/// `repr()` of a Python value, for messages.
fn shown(value: &Bound<'_, PyAny>) -> String {
    value
        .repr()
        .map_or_else(|_| "<unprintable>".into(), |r| r.to_string())
}

/// A codec by name: `h264`/`avc`, `hevc`/`h265`, `av1`.
pub(crate) fn codec(value: &str) -> Result<Codec, Failure> {
    named(value)
}

/// A pixel format by name (`i420`, `nv12`, `bgra8`...; `bgra` is taken for `bgra8`, `rgba` for
/// `rgba8`).
pub(crate) fn pixel_format(value: &str) -> Result<PixelFormat, Failure> {
    let lower = value.to_ascii_lowercase();
    let name = match lower.as_str() {
        "bgra" => "bgra8",
        "rgba" => "rgba8",
        other => other,
    };
    named(name).map_err(|_| {
        Failure::config(format!(
            "invalid input_format '{value}': expected one of {}",
            PixelFormat::ALL
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// A frame rate: an int (`60`), a float (`29.97`, the NTSC rates exact) or a string (`"60"`,
/// `"30000/1001"`).
pub(crate) fn frame_rate(value: &Bound<'_, PyAny>) -> Result<Rational, Failure> {
    if value.is_instance_of::<PyString>() {
        let s: String = value.extract()?;
        return ghoststream::units::parse_rate(&s).map_err(engine);
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(n) = value.extract::<i64>() {
            if n > 0 {
                return Ok(Rational::new(n, 1));
            }
        }
        return Err(Failure::config(format!(
            "invalid fps {}: expected a positive frame rate (60, 29.97 or \"30000/1001\")",
            shown(value)
        )));
    }
    if value.is_instance_of::<PyFloat>() {
        let f: f64 = value.extract()?;
        return ghoststream::units::parse_rate(&f.to_string())
            .map_err(|e| Failure::config(format!("invalid fps {}: {e}", shown(value))));
    }
    Err(Failure::config(format!(
        "invalid fps {}: expected an int, a float or a string such as \"30000/1001\"",
        shown(value)
    )))
}

/// A bitrate in bits per second: an int, or a string with its unit (`"6M"`, `"6000k"`).
pub(crate) fn bitrate(what: &str, value: &Bound<'_, PyAny>) -> Result<u64, Failure> {
    if value.is_instance_of::<PyString>() {
        let s: String = value.extract()?;
        return ghoststream::units::parse_bitrate(&s).map_err(engine);
    }
    match value.extract::<u64>() {
        Ok(bits) if value.is_instance_of::<PyInt>() => Ok(bits),
        _ => Err(Failure::config(format!(
            "invalid {what} {}: expected bits per second as a positive int (6_000_000) or a string with its unit (\"6M\")",
            shown(value)
        ))),
    }
}

/// A whole number in `u32` for `what`.
pub(crate) fn count(what: &str, value: &Bound<'_, PyAny>) -> Result<u32, Failure> {
    match value.extract::<u32>() {
        Ok(n) if value.is_instance_of::<PyInt>() => Ok(n),
        _ => Err(Failure::config(format!(
            "invalid {what} {}: expected a whole number from 0 to {}",
            shown(value),
            u32::MAX
        ))),
    }
}

/// A keyframe spacing: an int (frames), or a string (`"2s"`, `"60"`, `"never"`).
pub(crate) fn keyint(value: &Bound<'_, PyAny>) -> Result<KeyframeEvery, Failure> {
    if value.is_instance_of::<PyString>() {
        let s: String = value.extract()?;
        return KeyframeEvery::from_str(&s).map_err(engine);
    }
    count("keyint", value).map(KeyframeEvery::Frames)
}

/// A preset: `"p1"`..`"p7"` or 1..7.
pub(crate) fn preset(value: &Bound<'_, PyAny>) -> Result<Preset, Failure> {
    if value.is_instance_of::<PyInt>() {
        let n = value.extract::<i64>().unwrap_or(0);
        return named(&format!("p{n}"));
    }
    let s: String = value.extract().map_err(|_| {
        Failure::config(format!(
            "invalid preset {}: expected \"p1\" (fastest) to \"p7\" (best), or 1 to 7",
            shown(value)
        ))
    })?;
    named(&s)
}

/// A tuning: `"hq"`, `"ll"`, `"ull"`, `"lossless"`.
pub(crate) fn tuning(value: &str) -> Result<Tuning, Failure> {
    named(value)
}

/// A rate-control mode: `"cbr"`, `"vbr"`, `"cqp"`, `"cq"`.
pub(crate) fn rc_mode(value: &str) -> Result<RateControlMode, Failure> {
    named(value)
}

/// The encoder: `"auto"`, `"software"`, `"nvenc"`, `"vulkan"`.
pub(crate) fn encoder(value: &str) -> Result<BackendChoice, Failure> {
    named(value)
}

/// A duration in seconds: a number, or a string with its unit (`"30s"`, `"1.5m"`).
pub(crate) fn duration(
    what: &str,
    value: &Bound<'_, PyAny>,
) -> Result<std::time::Duration, Failure> {
    let text = if value.is_instance_of::<PyString>() {
        value.extract::<String>()?
    } else if value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>() {
        let f: f64 = value.extract()?;
        format!("{f}")
    } else {
        return Err(Failure::config(format!(
            "invalid {what} {}: expected seconds (30, 1.5) or a string with its unit (\"30s\", \"500ms\")",
            shown(value)
        )));
    };
    ghoststream::units::parse_duration(&text)
        .map_err(|e| Failure::config(format!("invalid {what} {}: {e}", shown(value))))
}

/// A frame size: `(width, height)` or `"WIDTHxHEIGHT"`.
pub(crate) fn size(value: &Bound<'_, PyAny>) -> Result<(u32, u32), Failure> {
    if value.is_instance_of::<PyString>() {
        let s: String = value.extract()?;
        return ghoststream::units::parse_size(&s).map_err(engine);
    }
    value.extract::<(u32, u32)>().map_err(|_| {
        Failure::config(format!(
            "invalid size {}: expected (width, height) or \"WIDTHxHEIGHT\"",
            shown(value)
        ))
    })
}

/// A path: a `str` or any `os.PathLike`.
pub(crate) fn path(what: &str, value: &Bound<'_, PyAny>) -> Result<PathBuf, Failure> {
    value.extract::<PathBuf>().map_err(|_| {
        Failure::config(format!(
            "invalid {what} {}: expected a path (str or os.PathLike)",
            shown(value)
        ))
    })
}

/// Rate-control keywords as given.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Rate {
    /// `rc`, when given.
    pub(crate) mode: Option<RateControlMode>,
    /// `bitrate`.
    pub(crate) bitrate: Option<u64>,
    /// `max_bitrate`.
    pub(crate) max_bitrate: Option<u64>,
    /// `qp`.
    pub(crate) qp: Option<u32>,
    /// `quality`.
    pub(crate) quality: Option<u32>,
}

impl Rate {
    /// The keywords read: `rc` by name, the bitrates as ints or strings, `qp` and `quality` as ints.
    pub(crate) fn read(
        rc: Option<&str>,
        bitrate_value: Option<&Bound<'_, PyAny>>,
        max_bitrate: Option<&Bound<'_, PyAny>>,
        qp: Option<&Bound<'_, PyAny>>,
        quality: Option<&Bound<'_, PyAny>>,
    ) -> Result<Self, Failure> {
        Ok(Rate {
            mode: rc.map(rc_mode).transpose()?,
            bitrate: bitrate_value.map(|v| bitrate("bitrate", v)).transpose()?,
            max_bitrate: max_bitrate.map(|v| bitrate("max_bitrate", v)).transpose()?,
            qp: qp.map(|v| count("qp", v)).transpose()?,
            quality: quality.map(|v| count("quality", v)).transpose()?,
        })
    }

    /// The mode asked for, or the one the values given imply (a bitrate: CBR, or VBR with a
    /// ceiling; a QP: CQP; a quality: CQ). `None` when nothing was given.
    pub(crate) fn mode(&self) -> Option<RateControlMode> {
        self.mode.or(match self {
            Rate { qp: Some(_), .. } => Some(RateControlMode::Cqp),
            Rate {
                quality: Some(_), ..
            } => Some(RateControlMode::Cq),
            Rate {
                max_bitrate: Some(_),
                ..
            } => Some(RateControlMode::Vbr),
            Rate {
                bitrate: Some(_), ..
            } => Some(RateControlMode::Cbr),
            _ => None,
        })
    }

    /// The session's rate control, when any rate keyword was given.
    pub(crate) fn rate_control(&self) -> Result<Option<ghoststream::RateControl>, Failure> {
        let Some(mode) = self.mode() else {
            return Ok(None);
        };
        ghoststream::RateControl::from_parts(
            mode,
            self.bitrate,
            self.max_bitrate,
            self.qp,
            self.quality,
        )
        .map(Some)
        .map_err(engine)
    }
}
