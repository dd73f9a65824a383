//! Encoded packets and the per-frame statistics that travel with them.

use bytes::Bytes;

use crate::codec::Codec;
use crate::time::{Span, Timestamp};

/// Per-frame metadata: where the time went between capture and packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameStats {
    /// The frame's number in submission order, from 0 (dropped frames keep theirs).
    pub frame_number: u64,
    /// Presentation time.
    pub pts: Timestamp,
    /// Display duration.
    pub duration: Span,
    /// When it was captured, when the source knew.
    pub capture_time: Option<Timestamp>,
    /// When the captured frame reached this process, when the source knew: capture to arrival
    /// is the compositor's or producer's time, arrival to packet GhostStream's and the
    /// encoder's.
    pub arrival_time: Option<Timestamp>,
    /// When `submit` was called.
    pub submit_time: Timestamp,
    /// When the encoder was handed the frame.
    pub encode_start_time: Option<Timestamp>,
    /// When its packet came out of the encoder.
    pub packet_ready_time: Option<Timestamp>,
    /// GPU time spent processing the frame, where a GPU path measured it.
    pub gpu_time: Option<Span>,
    /// When the frame's GPU pass started, on `CLOCK_MONOTONIC`, where the device maps its
    /// clock (VK_EXT_calibrated_timestamps).
    pub gpu_start: Option<Timestamp>,
    /// When the frame's GPU pass ended, as `gpu_start`.
    pub gpu_end: Option<Timestamp>,
    /// GPU time the encoder spent on the frame, where it measured it (Vulkan Video: timestamps
    /// around the encode on the video-encode queue).
    pub encode_gpu_time: Option<Span>,
    /// When the frame's encode started on the GPU, on `CLOCK_MONOTONIC`, where the device maps
    /// its clock.
    pub encode_gpu_start: Option<Timestamp>,
    /// When the frame's encode ended on the GPU, as `encode_gpu_start`.
    pub encode_gpu_end: Option<Timestamp>,
    /// Bytes the CPU copied for the frame: a capture's read-out of the producer's shared memory
    /// ([`crate::Frame::capture_copy_bytes`]), its upload into a staging buffer and the
    /// read-back of the converted frame. 0 on a zero-copy path (a DMA-BUF or GPU frame handed
    /// to the encoder in place); a software encoder's read-back counts.
    pub cpu_copy_bytes: u64,
    /// True when the frame was dropped by back-pressure and never encoded.
    pub dropped: bool,
}

impl FrameStats {
    /// Time from `submit` to the packet being ready (`None` for dropped frames).
    pub fn encode_latency(&self) -> Option<Span> {
        self.packet_ready_time.map(|t| t.since(self.submit_time))
    }

    /// Time from capture to the packet being ready, where the capture time is known.
    pub fn capture_to_packet_latency(&self) -> Option<Span> {
        Some(self.packet_ready_time?.since(self.capture_time?))
    }
}

/// How the bytes of a packet are framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PacketFraming {
    /// H.264/HEVC NAL units, each behind a start code (ITU-T H.264 / H.265 Annex B).
    AnnexB,
    /// AV1 OBUs in the low-overhead bitstream format (each OBU with `obu_has_size_field`),
    /// one temporal unit per packet.
    Obu,
}

/// One encoded access unit (H.264/HEVC) or temporal unit (AV1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The encoded bytes; cloning a packet shares them.
    pub data: Bytes,
    /// The codec.
    pub codec: Codec,
    /// The framing of `data`.
    pub framing: PacketFraming,
    /// Presentation time (the frame's own).
    pub pts: Timestamp,
    /// Decode time (equal to `pts` when frames are not reordered; never after `pts`).
    pub dts: Timestamp,
    /// Display duration.
    pub duration: Span,
    /// True for a random access point: IDR (H.264/HEVC) or a key frame with a sequence header
    /// (AV1). A decoder can start here.
    pub keyframe: bool,
    /// The frame's number in submission order.
    pub frame_number: u64,
    /// The frame's statistics.
    pub stats: FrameStats,
}

/// A packet for unit tests: frame `n` of an H.264 stream at `frame_ns` per frame, holding
/// `data`.
#[cfg(test)]
pub(crate) fn test_packet(n: u64, keyframe: bool, data: Bytes, frame_ns: i64) -> Packet {
    Packet {
        data,
        codec: Codec::H264,
        framing: PacketFraming::AnnexB,
        pts: Timestamp::from_nanos(i64::try_from(n).unwrap() * frame_ns),
        dts: Timestamp::from_nanos(i64::try_from(n).unwrap() * frame_ns),
        duration: Span::from_nanos(frame_ns),
        keyframe,
        frame_number: n,
        stats: FrameStats::default(),
    }
}
