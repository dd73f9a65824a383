//! Small walkers and writers for the bitstreams GhostStream produces.
//!
//! They are used by the sinks (to convert framing and build configuration records) and by the
//! tests (to check what was written, independently of any decoder).

pub mod avc;
pub mod bits;
pub mod hevc;
pub mod ivf;
pub mod nal;
pub mod obu;
pub mod sei;

/// A bitstream that could not be walked or parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BitstreamError {
    /// The data ends inside a structure.
    #[error("truncated {what}: {needed} more bits needed at bit {at}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bits needed.
        needed: usize,
        /// Bit position where reading stopped.
        at: usize,
    },
    /// The data breaks the syntax.
    #[error("invalid bitstream: {what}")]
    Invalid {
        /// What is wrong.
        what: String,
    },
    /// A configuration record needs parameter sets the data does not have.
    #[error("no {what} found: a configuration record needs the first keyframe's headers")]
    MissingParameterSets {
        /// Which set is missing.
        what: &'static str,
    },
}
