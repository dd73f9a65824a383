//! H.264 and H.265 writers for GhostStream's test drivers: parameter sets from Vulkan's std
//! structures and pictures of uncoded (PCM) macroblocks or coding units, which any decoder turns
//! back into exactly the input samples.
//!
//! Shared by the test Vulkan driver (testing/video-icd, whose "encoder" they are) and the NVENC
//! stand-in (testing/nvenc-standin). The modules keep the driver's wording: "the driver" in
//! their documentation and messages is whichever test driver writes the stream.

pub mod h264;
pub mod h264_pcm;
pub mod h265;
pub mod h265_pcm;
