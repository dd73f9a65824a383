//! Container files that survive a crash: Matroska, fragmented MP4 and MPEG-TS through
//! libavformat (feature `software`, the same FFmpeg 5.1 libraries as the software encoders).
//!
//! **Crash safety.** Each format is written so that a process killed at any moment (SIGKILL,
//! power loss) leaves a file that plays up to its last complete cluster or fragment:
//! - Matroska: the segment is written with an unknown size and the muxer builds each cluster
//!   in memory and hands it to the file whole; a cluster is closed every
//!   [`ContainerOptions::fragment`] (1 s by default) and at key frames after that.
//! - MP4: fragmented (`empty_moov` + `frag_keyframe` + `default_base_moof`, a fragment at
//!   least every [`ContainerOptions::fragment`]): the `moov` holds no samples, each `moof` +
//!   `mdat` pair is self-contained.
//! - MPEG-TS: a stream of 188-byte packets, readable from any point.
//!
//! After every packet the muxer's I/O buffer is flushed, so what the muxer has finished is in
//! the kernel's hands (it survives the process; an `fsync` on [`ContainerSink::finish`] makes it
//! survive the machine). **A failed write** (a full disk) cuts the file back to its length after
//! the last successful packet — whole clusters and fragments only — and the sink refuses
//! further writes; the error says how many bytes were kept. **A clean finish** writes the
//! trailer: Matroska's cues, duration and segment size, MP4's `mfra` index.
//!
//! The header carries the codec configuration record (`avcC`, `hvcC`, `av1C`, built by
//! [`super::configuration_record`] from the first key frame, so the header is written
//! when that frame arrives), the frame rate, the colour description (matrix, range,
//! primaries, transfer, chroma siting) and HDR10 mastering-display and content-light metadata.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::error::{SinkError, SinkSummary};
use super::format::{ContainerFormat, ContainerOptions};
use super::muxed::{Layout, MuxFailure, MuxedTrack};
use crate::config::SessionConfig;
use crate::ffmpeg::mux::{Muxer, TrackParams};
use crate::packet::Packet;

/// A container file being written.
#[derive(Debug)]
pub struct ContainerSink {
    stream: MuxedTrack,
    /// A second handle on the file, to cut it back after a failed write; none for a stream
    /// (standard output, a pipe, a device), which can be neither cut back nor synced.
    file: Option<File>,
    /// Standard output's duplicate that the muxer's pipe protocol writes to.
    _pipe: Option<File>,
    path: PathBuf,
    format: ContainerFormat,
    committed: u64,
    packets: u64,
    failed: bool,
}

/// The muxer, framing and crash-safety options for `format`.
fn layout(format: ContainerFormat, options: ContainerOptions) -> Layout {
    let fragment = options.fragment;
    Layout {
        length_prefixed: format.length_prefixed(),
        options: match format {
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
        },
    }
}

/// The stream description a session's `config` gives a muxer.
pub(crate) fn track_params(config: &SessionConfig) -> TrackParams {
    TrackParams {
        codec: config.codec,
        width: config.width,
        height: config.height,
        frame_rate: config.frame_rate.reduced(),
        color: config.color,
        hdr: config.hdr_metadata,
        extradata: Vec::new(),
    }
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
    let create_error = |reason: crate::ffmpeg::FfmpegError| SinkError::Create {
        path: path.to_path_buf(),
        source: std::io::Error::other(reason.to_string()),
    };
    let (muxer, file, pipe) = if super::path::is_stdout(path) {
        // libavformat's pipe protocol on a duplicate of standard output (never sought). The
        // protocol writes to the descriptor without owning it: the sink keeps it open.
        use std::os::fd::AsRawFd;
        let out = super::path::create(path).map_err(|source| SinkError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        let url = format!("pipe:{}", out.file.as_raw_fd());
        let muxer = Muxer::create(&url, format.muxer(), &[]).map_err(create_error);
        (muxer, None, Some(out.file))
    } else {
        let url = path.to_str().ok_or_else(|| {
            create_error(crate::ffmpeg::FfmpegError::Muxer {
                reason: "the path is not UTF-8".into(),
            })
        })?;
        let muxer = Muxer::create(url, format.muxer(), &[]).map_err(create_error)?;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|source| SinkError::Create {
                path: path.to_path_buf(),
                source,
            })?;
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        (Ok(muxer), regular.then_some(file), None)
    };
    let muxer = muxer?;
    Ok(ContainerSink {
        stream: MuxedTrack::new(muxer, layout(format, options), track_params(config)),
        file,
        _pipe: pipe,
        path: path.to_path_buf(),
        format,
        committed: 0,
        packets: 0,
        failed: false,
    })
}

impl ContainerSink {
    /// The path being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Names `path` in messages and the summary (the file stays where it was opened).
    pub(crate) fn set_path(&mut self, path: &Path) {
        self.path = path.to_path_buf();
    }

    /// The container format.
    pub fn format(&self) -> ContainerFormat {
        self.format
    }

    /// Packets that came before the first key frame and were left out (nothing can decode
    /// them).
    pub fn skipped_before_keyframe(&self) -> u64 {
        self.stream.skipped_before_keyframe
    }

    /// Writes one packet. A packet before the first key frame is left out (counted); a
    /// malformed one is refused without touching the file.
    pub fn write(&mut self, packet: &Packet) -> Result<(), SinkError> {
        if self.failed {
            return Err(SinkError::AfterFailure {
                path: self.path.clone(),
            });
        }
        if packet.codec != self.stream.codec() {
            return Err(SinkError::ContainerMismatch {
                format: self.format,
                codec: packet.codec,
            });
        }
        match self.stream.write(packet) {
            Ok(true) => {
                self.packets += 1;
                self.committed = match &self.file {
                    Some(f) => f.metadata().map(|m| m.len()).unwrap_or(self.committed),
                    None => self.committed + packet.data.len() as u64,
                };
                Ok(())
            }
            Ok(false) => {
                tracing::warn!(
                    frame = packet.frame_number,
                    "a packet before the first key frame is left out of the container"
                );
                Ok(())
            }
            Err(MuxFailure::Malformed(source)) => Err(SinkError::Malformed {
                frame: packet.frame_number,
                source,
            }),
            Err(MuxFailure::Header(reason)) => {
                self.fail();
                Err(SinkError::Mux {
                    path: self.path.clone(),
                    reason: format!("writing the {} header: {reason}", self.format),
                })
            }
            Err(MuxFailure::Io(code)) => {
                self.fail();
                Err(self.write_error(code))
            }
        }
    }

    fn write_error(&self, code: std::os::raw::c_int) -> SinkError {
        SinkError::Write {
            path: self.path.clone(),
            kept_bytes: self.committed,
            source: crate::ffmpeg::av_io_error(code),
        }
    }

    /// Marks the sink failed and cuts the file back to its last whole packet.
    fn fail(&mut self) {
        self.failed = true;
        let Some(file) = &self.file else { return };
        if let Err(e) = file.set_len(self.committed) {
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
        if let Err(code) = self.stream.finish() {
            self.fail();
            return Err(self.write_error(code));
        }
        let bytes = match &self.file {
            Some(file) => {
                let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
                file.sync_all().map_err(|source| SinkError::Write {
                    path: self.path.clone(),
                    kept_bytes: bytes,
                    source,
                })?;
                bytes
            }
            None => self.committed,
        };
        Ok(SinkSummary {
            path: self.path.clone(),
            record_path: None,
            packets: self.packets,
            bytes,
        })
    }
}
