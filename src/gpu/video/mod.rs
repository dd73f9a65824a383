//! Vulkan Video encode (VK_KHR_video_encode_queue): what the devices can encode, and (in later
//! increments) the sessions that encode the processing pass's output in place.

pub mod caps;
