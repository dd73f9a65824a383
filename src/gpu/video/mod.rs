//! Vulkan Video encode (VK_KHR_video_encode_queue): what the devices can encode, the codec types
//! the `ash` release in use lacks (AV1 encode), and (in later increments) the sessions that
//! encode the processing pass's output in place.

pub(crate) mod av1;
pub mod caps;
pub mod encoder;
pub mod h264;
pub mod h265;
pub mod session;
