//! Vulkan Video encode (VK_KHR_video_encode_queue): what the devices can encode, the H.264 and
//! H.265 parameter sets and the AV1 sequence header, the encode session, the encoder that records pictures on the
//! video-encode queue, and the codec types the `ash` release in use lacks (AV1 encode).

pub(crate) mod av1;
pub mod av1_sequence;
pub mod caps;
pub mod encoder;
pub mod h264;
pub mod h265;
pub mod intra_refresh;
mod picture;
pub mod session;
mod stream;

pub use picture::PictureKind;
pub use stream::VideoStream;
