//! Frame processing: the operations the GPU runs, each with its parameters computed on the CPU
//! and a float64 reference in plain Rust that the tests hold the shaders to.

pub mod convert;
pub mod pipeline;
pub mod scale;
pub mod sharpen;
pub mod tonemap;
