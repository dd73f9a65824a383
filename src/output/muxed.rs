//! One video stream going into a libavformat muxer: the header written at the first key frame
//! (with the codec record built from it), packets checked and put in the muxer's framing,
//! timestamps counted from the first packet in the stream's time base. Shared by the file
//! writer ([`super::ContainerSink`]) and the network sinks ([`super::live`]).

use std::os::raw::c_int;

use super::raw::{check_obus, configuration_record};
use crate::bitstream::{nal, BitstreamError};
use crate::codec::Codec;
use crate::ffmpeg::mux::{Muxer, TrackParams};
use crate::packet::Packet;
use crate::time::Rational;

/// How a muxer wants its packets.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// H.264/HEVC as length-prefixed NAL units with the record as extradata (Matroska, MP4,
    /// FLV), rather than an Annex-B byte stream (MPEG-TS).
    pub length_prefixed: bool,
    /// The muxer's private options, given with the header.
    pub options: Vec<(&'static str, String)>,
}

/// Why a packet did not go in.
#[derive(Debug)]
pub(crate) enum MuxFailure {
    /// The packet breaks its framing (nothing was written).
    Malformed(BitstreamError),
    /// The header could not be written.
    Header(crate::ffmpeg::FfmpegError),
    /// The muxer or its I/O failed (an AVERROR).
    Io(c_int),
}

/// A stream into a muxer.
#[derive(Debug)]
pub(crate) struct MuxedTrack {
    muxer: Muxer,
    layout: Layout,
    params: TrackParams,
    header_written: bool,
    time_base: Rational,
    /// The first packet's decode time (ns): timestamps count from it.
    origin: Option<i64>,
    last_dts: Option<i64>,
    scratch: Vec<u8>,
    /// Packets before the first key frame, left out.
    pub skipped_before_keyframe: u64,
}

impl MuxedTrack {
    /// A stream into `muxer` (created, not yet with a header).
    pub fn new(muxer: Muxer, layout: Layout, params: TrackParams) -> Self {
        Self {
            muxer,
            layout,
            time_base: params.frame_rate.invert(),
            params,
            header_written: false,
            origin: None,
            last_dts: None,
            scratch: Vec::new(),
            skipped_before_keyframe: 0,
        }
    }

    /// The codec the stream carries.
    pub fn codec(&self) -> Codec {
        self.params.codec
    }

    /// Writes `packet`; `Ok(false)` when it was left out (before the first key frame).
    pub fn write(&mut self, packet: &Packet) -> Result<bool, MuxFailure> {
        if !self.header_written {
            if !packet.keyframe {
                self.skipped_before_keyframe += 1;
                return Ok(false);
            }
            self.write_header(packet)?;
        }
        self.scratch.clear();
        let data: &[u8] = match packet.codec {
            Codec::H264 | Codec::Hevc => {
                nal::validate_annexb(&packet.data).map_err(MuxFailure::Malformed)?;
                if self.layout.length_prefixed {
                    nal::annexb_to_length_prefixed(&packet.data, &mut self.scratch)
                        .map_err(MuxFailure::Malformed)?;
                    &self.scratch
                } else {
                    &packet.data
                }
            }
            Codec::Av1 => {
                check_obus(&packet.data).map_err(MuxFailure::Malformed)?;
                &packet.data
            }
        };
        let origin = *self.origin.get_or_insert(packet.dts.as_nanos());
        let tb = self.time_base;
        // Saturating: a packet built by hand may carry any i64 (sessions bound theirs).
        let mut dts = Rational::NANOS.rescale(packet.dts.as_nanos().saturating_sub(origin), tb);
        if let Some(last) = self.last_dts {
            dts = dts.max(last.saturating_add(1));
        }
        let pts = Rational::NANOS
            .rescale(packet.pts.as_nanos().saturating_sub(origin), tb)
            .max(dts);
        let duration = Rational::NANOS
            .rescale(packet.duration.as_nanos(), tb)
            .max(1);
        self.muxer
            .write(data, pts, dts, duration, packet.keyframe)
            .map_err(MuxFailure::Io)?;
        self.last_dts = Some(dts);
        Ok(true)
    }

    fn write_header(&mut self, first: &Packet) -> Result<(), MuxFailure> {
        if self.layout.length_prefixed {
            self.params.extradata = configuration_record(first).map_err(MuxFailure::Malformed)?;
        }
        self.muxer
            .write_header(&self.params, &self.layout.options)
            .map_err(MuxFailure::Header)?;
        self.time_base = self.muxer.time_base();
        self.header_written = true;
        Ok(())
    }

    /// Writes the trailer (when a header was written) and closes the output.
    pub fn finish(&mut self) -> Result<(), c_int> {
        self.muxer.finish()
    }
}
