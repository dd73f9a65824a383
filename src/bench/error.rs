//! Why a benchmark could not run: [`BenchError`], each message naming the value and the fix.

use std::path::PathBuf;

/// Why `ghoststream bench` (or [`super::run`]) could not run or could not write its report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// An encode path spelled in a way the bench does not know.
    #[error("unknown encode path '{value}': expected ENCODER[:PRESET] with ENCODER one of {known} and PRESET p1..p7 (for example x264:p2)")]
    UnknownPath {
        /// The value given.
        value: String,
        /// The encoders known.
        known: String,
    },
    /// A frame size the bench cannot use.
    #[error("frame size '{value}': {reason}")]
    BadSize {
        /// The value given.
        value: String,
        /// Why, with the fix.
        reason: String,
    },
    /// A setting out of range (frames, iterations, frame rate, bitrate).
    #[error("{what} {value}: {reason}")]
    BadSetting {
        /// The setting.
        what: &'static str,
        /// The value given.
        value: String,
        /// Why, with the fix.
        reason: String,
    },
    /// The input file could not be read, or is not 8-bit 4:2:0 Y4M.
    #[error("input {path}: {reason}")]
    Input {
        /// The file.
        path: PathBuf,
        /// Why, with the fix.
        reason: String,
    },
    /// A `--compare` command line the bench cannot run.
    #[error("compare command '{command}': {reason}")]
    Compare {
        /// The command line given.
        command: String,
        /// Why, with the fix.
        reason: String,
    },
    /// The output folder or a file in it could not be written.
    #[error("cannot write {path}: {reason} (pick another folder with --out DIR)")]
    Write {
        /// The path.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// A chart could not be drawn.
    #[error("chart {name}: {reason}")]
    Chart {
        /// The chart's file name.
        name: String,
        /// The plotting library's reason.
        reason: String,
    },
    /// Nothing to run: every path asked for is unavailable here and no comparison or GPU pass
    /// was asked for.
    #[error("nothing to measure: {reason}")]
    Nothing {
        /// Why, with the fix.
        reason: String,
    },
}
