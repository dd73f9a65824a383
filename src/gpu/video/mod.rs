//! The Vulkan Video encode pieces: codec types the `ash` release in use lacks, and (later) the
//! encode backend built on them.

pub(crate) mod av1;
