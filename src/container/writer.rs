//! The container writer: a [`ContainerSink`] over libavformat (see the module above for what
//! it guarantees).

use std::fs::File;
use std::path::{Path, PathBuf};

use super::libavformat::{Muxer, StreamParams};
use super::{ContainerFormat, ContainerOptions};
use crate::bitstream::nal;
use crate::codec::Codec;
use crate::config::SessionConfig;
use crate::packet::Packet;
use crate::sink::{check_obus, configuration_record, SinkError, SinkSummary};
use crate::time::Rational;

/// A container file being written.
#[derive(Debug)]
pub struct ContainerSink {
    muxer: Muxer,
    /// A second handle on the file, to cut it back after a failed write.
    file: File,
    path: PathBuf,
    format: ContainerFormat,
    options: ContainerOptions,
    /// The header's contents, until the first key frame writes it.
    params: StreamParams,
    header_written: bool,
    time_base: Rational,
    /// The first packet's decode time (ns): timestamps in the file count from it.
    origin: Option<i64>,
    last_dts: Option<i64>,
    committed: u64,
    packets: u64,
    skipped_before_keyframe: u64,
    scratch: Vec<u8>,
    failed: bool,
}

/// Opens `path` as a `format` container for the session `config` describes. Fails before
/// anything is encoded when the path cannot be written or the format cannot carry the codec.
pub fn open_container(
    path: &Path,
    format: ContainerFormat,
    config: &SessionConfig,
    options: ContainerOptions,
) -> Result<ContainerSink, SinkError> {
    if !format.carries(config.codec) {
        return Err(SinkError::ContainerMismatch {
            format,
            codec: config.codec,
        });
    }
    if options.fragment.is_zero() {
        return Err(SinkError::Mux {
            path: path.to_path_buf(),
            reason: "a fragment length of 0: give a positive duration (1 s is the default)".into(),
        });
    }
    let muxer = Muxer::create(path, format.muxer()).map_err(|reason| SinkError::Create {
        path: path.to_path_buf(),
        source: std::io::Error::other(reason),
    })?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|source| SinkError::Create {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(ContainerSink {
        muxer,
        file,
        path: path.to_path_buf(),
        format,
        options,
        params: StreamParams {
            codec: config.codec,
            width: config.width,
            height: config.height,
            frame_rate: config.frame_rate,
            color: config.color,
            hdr: config.hdr_metadata,
            extradata: Vec::new(),
        },
        header_written: false,
        time_base: config.frame_rate.invert(),
        origin: None,
        last_dts: None,
        committed: 0,
        packets: 0,
        skipped_before_keyframe: 0,
        scratch: Vec::new(),
        failed: false,
    })
}

impl ContainerSink {
    /// The path being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The container format.
    pub fn format(&self) -> ContainerFormat {
        self.format
    }

    /// Packets that came before the first key frame and were left out (nothing can decode
    /// them).
    pub fn skipped_before_keyframe(&self) -> u64 {
        self.skipped_before_keyframe
    }

    /// Writes one packet. A packet before the first key frame is left out (counted); a
    /// malformed one is refused without touching the file.
    pub fn write(&mut self, packet: &Packet) -> Result<(), SinkError> {
        if self.failed {
            return Err(SinkError::AfterFailure {
                path: self.path.clone(),
            });
        }
        if packet.codec != self.params.codec {
            return Err(SinkError::ContainerMismatch {
                format: self.format,
                codec: packet.codec,
            });
        }
        let malformed = |source| SinkError::Malformed {
            frame: packet.frame_number,
            source,
        };
        if !self.header_written {
            if !packet.keyframe {
                self.skipped_before_keyframe += 1;
                tracing::warn!(
                    frame = packet.frame_number,
                    "a packet before the first key frame is left out of the container"
                );
                return Ok(());
            }
            self.write_header(packet)?;
        }
        self.scratch.clear();
        let data: &[u8] = match packet.codec {
            Codec::H264 | Codec::Hevc => {
                nal::validate_annexb(&packet.data).map_err(malformed)?;
                if self.format.length_prefixed() {
                    nal::annexb_to_length_prefixed(&packet.data, &mut self.scratch)
                        .map_err(malformed)?;
                    &self.scratch
                } else {
                    &packet.data
                }
            }
            Codec::Av1 => {
                check_obus(&packet.data).map_err(malformed)?;
                &packet.data
            }
        };
        let origin = *self.origin.get_or_insert(packet.dts.as_nanos());
        let tb = self.time_base;
        let mut dts = Rational::NANOS.rescale(packet.dts.as_nanos() - origin, tb);
        if let Some(last) = self.last_dts {
            dts = dts.max(last + 1);
        }
        let pts = Rational::NANOS
            .rescale(packet.pts.as_nanos() - origin, tb)
            .max(dts);
        let duration = Rational::NANOS
            .rescale(packet.duration.as_nanos(), tb)
            .max(1);
        let written = self.muxer.write(data, pts, dts, duration, packet.keyframe);
        self.settle(written)?;
        self.last_dts = Some(dts);
        self.packets += 1;
        Ok(())
    }

    fn write_header(&mut self, first: &Packet) -> Result<(), SinkError> {
        if self.format.length_prefixed() {
            self.params.extradata =
                configuration_record(first).map_err(|source| SinkError::Malformed {
                    frame: first.frame_number,
                    source,
                })?;
        }
        let fragment = self.options.fragment;
        let options: Vec<(&str, String)> = match self.format {
            ContainerFormat::Matroska => vec![(
                "cluster_time_limit",
                fragment.as_millis().max(1).to_string(),
            )],
            ContainerFormat::Mp4 => vec![
                (
                    "movflags",
                    "frag_keyframe+empty_moov+default_base_moof".to_string(),
                ),
                ("frag_duration", fragment.as_micros().max(1).to_string()),
            ],
            ContainerFormat::MpegTs => Vec::new(),
        };
        let header = self.muxer.write_header(&self.params, &options);
        if let Err(reason) = header {
            self.failed = true;
            self.cut_back();
            return Err(SinkError::Mux {
                path: self.path.clone(),
                reason: format!("writing the {} header: {reason}", self.format),
            });
        }
        self.time_base = self.muxer.time_base();
        self.header_written = true;
        self.settle(Ok(()))
    }

    /// After a muxer call: records the file's length as committed, or on failure cuts the
    /// file back to the last committed length and fails the sink.
    fn settle(&mut self, outcome: Result<(), std::os::raw::c_int>) -> Result<(), SinkError> {
        match outcome {
            Ok(()) => {
                self.committed = self
                    .file
                    .metadata()
                    .map(|m| m.len())
                    .unwrap_or(self.committed);
                Ok(())
            }
            Err(code) => {
                self.failed = true;
                self.cut_back();
                Err(SinkError::Write {
                    path: self.path.clone(),
                    kept_bytes: self.committed,
                    source: av_io_error(code),
                })
            }
        }
    }

    fn cut_back(&mut self) {
        if let Err(e) = self.file.set_len(self.committed) {
            tracing::error!(path = %self.path.display(), error = %e, "could not cut the container back to its last whole cluster");
        }
    }

    /// Writes the trailer (index, duration), syncs the file and says what was written.
    pub fn finish(mut self) -> Result<SinkSummary, SinkError> {
        if self.failed {
            return Err(SinkError::AfterFailure {
                path: self.path.clone(),
            });
        }
        let finished = self.muxer.finish();
        if let Err(code) = finished {
            self.failed = true;
            self.cut_back();
            return Err(SinkError::Write {
                path: self.path.clone(),
                kept_bytes: self.committed,
                source: av_io_error(code),
            });
        }
        let bytes = self.file.metadata().map(|m| m.len()).unwrap_or(0);
        self.file.sync_all().map_err(|source| SinkError::Write {
            path: self.path.clone(),
            kept_bytes: bytes,
            source,
        })?;
        Ok(SinkSummary {
            path: self.path.clone(),
            record_path: None,
            packets: self.packets,
            bytes,
        })
    }
}

/// A libav error code as an I/O error: the errno it wraps (ENOSPC for a full disk), or its
/// message.
fn av_io_error(code: std::os::raw::c_int) -> std::io::Error {
    let errno = -code;
    if (1..4096).contains(&errno) {
        std::io::Error::from_raw_os_error(errno)
    } else {
        std::io::Error::other(crate::encode::libav::error_string(code))
    }
}
