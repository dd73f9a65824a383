//! Raw bitstream file outputs: Annex-B, length-prefixed (AVCC/HVCC), AV1 OBU streams and IVF.
//!
//! Every sink is file-safe: each packet is written whole or not at all. A write that fails part
//! way (a full disk) is cut back to the end of the last whole packet before the error is
//! returned, and the sink refuses further writes, so the file always holds only complete
//! packets. [`BitstreamSink::finish`] fixes up headers (IVF's frame count) and syncs the file.
//!
//! Length-prefixed H.264/HEVC and OBU streams also get their configuration record (`avcC`,
//! `hvcC`, `av1C`) written beside the stream as `FILE.avcC` / `FILE.hvcC` / `FILE.av1C`, as soon
//! as the first keyframe has been written.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::error::{SinkError, SinkSummary};
use super::format::BitstreamFormat;
use crate::bitstream::{avc, hevc, ivf, nal, obu, BitstreamError};
use crate::codec::Codec;
use crate::config::SessionConfig;
use crate::packet::Packet;
use crate::time::Rational;

/// A bitstream file being written.
#[derive(Debug)]
pub struct BitstreamSink {
    file: File,
    pub(super) path: PathBuf,
    format: BitstreamFormat,
    codec: Codec,
    committed: u64,
    packets: u64,
    scratch: Vec<u8>,
    record_path: Option<PathBuf>,
    ivf_time_base: Rational,
    first_pts: Option<i64>,
    last_ivf_pts: Option<i64>,
    failed: bool,
    /// Only a regular file can be cut back after a failed write (not a device or a pipe).
    regular: bool,
}

/// Builds the configuration record (`avcC`, `hvcC` or `av1C`) from a keyframe packet.
pub fn configuration_record(packet: &Packet) -> Result<Vec<u8>, BitstreamError> {
    match packet.codec {
        Codec::H264 => avc::avcc_record(&packet.data),
        Codec::Hevc => hevc::hvcc_record(&packet.data),
        Codec::Av1 => obu::av1c_record(&packet.data),
    }
}

/// Opens a sink at `path` in `format` for the session `config` describes. Fails before anything
/// is encoded when the path cannot be written or the format cannot carry the codec.
pub fn open_sink(
    path: &Path,
    format: BitstreamFormat,
    config: &SessionConfig,
) -> Result<BitstreamSink, SinkError> {
    if !format.carries(config.codec) {
        return Err(SinkError::FormatMismatch {
            format,
            codec: config.codec,
        });
    }
    // IVF's header holds the frame rate in 32-bit terms: refused before the file is created.
    let ivf_rate = if format == BitstreamFormat::Ivf {
        let terms = config
            .frame_rate
            .as_u32_terms()
            .ok_or_else(|| SinkError::FrameRate {
                path: path.to_path_buf(),
                rate: config.frame_rate,
            })?;
        Some(terms)
    } else {
        None
    };
    let super::path::OutputFile { file, regular } =
        super::path::create(path).map_err(|source| SinkError::Create {
            path: path.to_path_buf(),
            source,
        })?;
    let mut sink = BitstreamSink {
        file,
        path: path.to_path_buf(),
        format,
        codec: config.codec,
        committed: 0,
        packets: 0,
        scratch: Vec::new(),
        record_path: None,
        ivf_time_base: config.frame_rate.invert(),
        first_pts: None,
        last_ivf_pts: None,
        failed: false,
        regular,
    };
    if let Some((rate_num, rate_den)) = ivf_rate {
        let header = ivf::IvfHeader {
            fourcc: *b"AV01",
            width: u16::try_from(config.width).unwrap_or(u16::MAX),
            height: u16::try_from(config.height).unwrap_or(u16::MAX),
            timebase_den: rate_num,
            timebase_num: rate_den,
            frame_count: 0,
        };
        sink.scratch.extend_from_slice(&header.to_bytes());
        sink.commit_scratch()?;
    }
    Ok(sink)
}

impl BitstreamSink {
    /// The path being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one packet, whole or not at all.
    pub fn write(&mut self, packet: &Packet) -> Result<(), SinkError> {
        if self.failed {
            return Err(SinkError::AfterFailure {
                path: self.path.clone(),
            });
        }
        if packet.codec != self.codec {
            return Err(SinkError::FormatMismatch {
                format: self.format,
                codec: packet.codec,
            });
        }
        let malformed = |source| SinkError::Malformed {
            frame: packet.frame_number,
            source,
        };
        self.scratch.clear();
        match self.format {
            BitstreamFormat::AnnexB => {
                nal::validate_annexb(&packet.data).map_err(malformed)?;
                self.scratch.extend_from_slice(&packet.data);
            }
            BitstreamFormat::LengthPrefixed => {
                nal::validate_annexb(&packet.data).map_err(malformed)?;
                nal::annexb_to_length_prefixed(&packet.data, &mut self.scratch)
                    .map_err(malformed)?;
            }
            BitstreamFormat::Obu => {
                if !obu::starts_with_temporal_delimiter(&packet.data) {
                    self.scratch.extend_from_slice(&obu::TEMPORAL_DELIMITER);
                }
                self.scratch.extend_from_slice(&packet.data);
                check_obus(&self.scratch).map_err(malformed)?;
            }
            BitstreamFormat::Ivf => {
                check_obus(&packet.data).map_err(malformed)?;
                let first = *self.first_pts.get_or_insert(packet.pts.as_nanos());
                // Saturating: a packet built by hand may carry any i64 (sessions bound theirs).
                let mut ticks = Rational::NANOS.rescale(
                    packet.pts.as_nanos().saturating_sub(first),
                    self.ivf_time_base,
                );
                if let Some(last) = self.last_ivf_pts {
                    ticks = ticks.max(last.saturating_add(1));
                }
                self.last_ivf_pts = Some(ticks);
                let size = u32::try_from(packet.data.len()).map_err(|_| {
                    malformed(BitstreamError::Invalid {
                        what: format!("packet of {} bytes", packet.data.len()),
                    })
                })?;
                self.scratch
                    .extend_from_slice(&ivf::frame_header(size, ticks));
                self.scratch.extend_from_slice(&packet.data);
            }
        }
        self.commit_scratch()?;
        self.packets += 1;
        // The record goes beside a regular file only (`-.avcC` or `/dev/null.avcC` would be
        // nonsense).
        if packet.keyframe
            && self.regular
            && self.record_path.is_none()
            && matches!(
                self.format,
                BitstreamFormat::LengthPrefixed | BitstreamFormat::Obu
            )
        {
            self.write_record(packet)?;
        }
        Ok(())
    }

    fn write_record(&mut self, packet: &Packet) -> Result<(), SinkError> {
        let record = configuration_record(packet).map_err(|source| SinkError::Malformed {
            frame: packet.frame_number,
            source,
        })?;
        let suffix = match self.codec {
            Codec::H264 => "avcC",
            Codec::Hevc => "hvcC",
            Codec::Av1 => "av1C",
        };
        let mut name = self.path.clone().into_os_string();
        name.push(".");
        name.push(suffix);
        let path = PathBuf::from(name);
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&record)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|source| {
            let _ = std::fs::remove_file(&tmp);
            SinkError::Write {
                path: path.clone(),
                kept_bytes: 0,
                source,
            }
        })?;
        self.record_path = Some(path);
        Ok(())
    }

    /// Appends the scratch buffer to the file; on failure, cuts the file back to the last whole
    /// packet and marks the sink failed.
    fn commit_scratch(&mut self) -> Result<(), SinkError> {
        match self.file.write_all(&self.scratch) {
            Ok(()) => {
                self.committed += self.scratch.len() as u64;
                Ok(())
            }
            Err(source) => {
                self.failed = true;
                if !self.regular {
                    return Err(SinkError::Write {
                        path: self.path.clone(),
                        kept_bytes: self.committed,
                        source,
                    });
                }
                let cut = self
                    .file
                    .set_len(self.committed)
                    .and_then(|()| self.file.seek(SeekFrom::End(0)));
                if let Err(e) = cut {
                    tracing::error!(path = %self.path.display(), error = %e, "could not cut the file back to its last whole packet");
                }
                Err(SinkError::Write {
                    path: self.path.clone(),
                    kept_bytes: self.committed,
                    source,
                })
            }
        }
    }

    /// Finishes the file: fixes headers, syncs, and says what was written.
    pub fn finish(mut self) -> Result<SinkSummary, SinkError> {
        if self.failed {
            return Err(SinkError::AfterFailure {
                path: self.path.clone(),
            });
        }
        let fail = |path: &Path, kept_bytes, source| SinkError::Write {
            path: path.to_path_buf(),
            kept_bytes,
            source,
        };
        // A stream (standard output, a pipe, a device) can be neither sought nor synced: its
        // IVF header keeps a frame count of 0, which every IVF reader takes as "unknown".
        if !self.regular {
            return Ok(self.summary());
        }
        if self.format == BitstreamFormat::Ivf {
            let count = u32::try_from(self.packets).unwrap_or(u32::MAX);
            let fix = (|| -> std::io::Result<()> {
                self.file.seek(SeekFrom::Start(ivf::FRAME_COUNT_OFFSET))?;
                self.file.write_all(&count.to_le_bytes())?;
                self.file.seek(SeekFrom::End(0))?;
                Ok(())
            })();
            fix.map_err(|e| fail(&self.path, self.committed, e))?;
        }
        self.file
            .sync_all()
            .map_err(|e| fail(&self.path, self.committed, e))?;
        Ok(self.summary())
    }

    fn summary(self) -> SinkSummary {
        SinkSummary {
            path: self.path,
            record_path: self.record_path,
            packets: self.packets,
            bytes: self.committed,
        }
    }
}

/// Checks that `data` is a run of well-formed OBUs.
pub(crate) fn check_obus(data: &[u8]) -> Result<(), BitstreamError> {
    for o in obu::obus(data) {
        o?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{FrameStats, PacketFraming};
    use crate::time::{Span, Timestamp};
    use bytes::Bytes;

    fn packet(codec: Codec, data: &[u8], n: u64) -> Packet {
        Packet {
            data: Bytes::copy_from_slice(data),
            codec,
            framing: if codec == Codec::Av1 {
                PacketFraming::Obu
            } else {
                PacketFraming::AnnexB
            },
            pts: Timestamp::from_nanos(i64::try_from(n).unwrap() * 33_333_333),
            dts: Timestamp::from_nanos(i64::try_from(n).unwrap() * 33_333_333),
            duration: Span::from_nanos(33_333_333),
            keyframe: false,
            frame_number: n,
            stats: FrameStats::default(),
        }
    }

    fn config(codec: Codec) -> SessionConfig {
        SessionConfig::new(codec, 64, 64, Rational::new(30, 1))
    }

    #[test]
    fn an_ivf_header_refuses_a_rate_it_cannot_hold_before_creating_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ivf");
        for rate in [
            Rational::new(0, 1),
            Rational::new(1 << 40, 1),
            Rational::new(-30, 1),
        ] {
            let mut c = config(Codec::Av1);
            c.frame_rate = rate;
            let e = open_sink(&path, BitstreamFormat::Ivf, &c).unwrap_err();
            assert!(matches!(e, SinkError::FrameRate { .. }), "{e:?}");
            assert!(e.to_string().contains(&rate.to_string()), "{e}");
            assert!(!path.exists(), "no file is left for {rate}");
        }
        // A rate that reduces into 32 bits is fine.
        let mut c = config(Codec::Av1);
        c.frame_rate = Rational::new(60_000 << 20, 1001 << 20);
        open_sink(&path, BitstreamFormat::Ivf, &c).unwrap();
    }

    #[test]
    fn full_disk_gives_a_typed_error_and_no_partial_packet() {
        // /dev/full fails every write with ENOSPC: a real full-disk error from the kernel.
        let mut sink = open_sink(
            Path::new("/dev/full"),
            BitstreamFormat::AnnexB,
            &config(Codec::H264),
        )
        .unwrap();
        let e = sink
            .write(&packet(Codec::H264, &[0, 0, 0, 1, 0x65, 0x88], 0))
            .unwrap_err();
        match &e {
            SinkError::Write {
                source,
                kept_bytes: 0,
                ..
            } => assert_eq!(source.raw_os_error(), Some(libc::ENOSPC)),
            other => panic!("unexpected {other}"),
        }
        assert!(e.to_string().contains("/dev/full"), "{e}");
        let again = sink
            .write(&packet(Codec::H264, &[0, 0, 0, 1, 0x65, 0x88], 1))
            .unwrap_err();
        assert!(matches!(again, SinkError::AfterFailure { .. }));
    }

    #[test]
    fn malformed_packets_never_reach_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.h264");
        let mut sink = open_sink(&path, BitstreamFormat::AnnexB, &config(Codec::H264)).unwrap();
        sink.write(&packet(Codec::H264, &[0, 0, 0, 1, 0x65, 0x88], 0))
            .unwrap();
        let e = sink
            .write(&packet(Codec::H264, &[0x65, 0x88], 1))
            .unwrap_err();
        assert!(matches!(e, SinkError::Malformed { frame: 1, .. }), "{e}");
        let summary = sink.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), [0, 0, 0, 1, 0x65, 0x88]);
        assert_eq!((summary.packets, summary.bytes), (1, 6));
    }

    #[test]
    fn obu_stream_gets_temporal_delimiters_and_ivf_counts_frames() {
        let dir = tempfile::tempdir().unwrap();
        let obu_path = dir.path().join("x.obu");
        let mut s = open_sink(&obu_path, BitstreamFormat::Obu, &config(Codec::Av1)).unwrap();
        s.write(&packet(Codec::Av1, &[0x32, 0x01, 0xaa], 0))
            .unwrap();
        s.write(&packet(Codec::Av1, &[0x12, 0x00, 0x32, 0x01, 0xbb], 1))
            .unwrap();
        s.finish().unwrap();
        assert_eq!(
            std::fs::read(&obu_path).unwrap(),
            [0x12, 0, 0x32, 1, 0xaa, 0x12, 0, 0x32, 1, 0xbb]
        );

        let ivf_path = dir.path().join("x.ivf");
        let mut s = open_sink(&ivf_path, BitstreamFormat::Ivf, &config(Codec::Av1)).unwrap();
        for n in 0..3 {
            s.write(&packet(Codec::Av1, &[0x12, 0x00], n)).unwrap();
        }
        s.finish().unwrap();
        let bytes = std::fs::read(&ivf_path).unwrap();
        let h = ivf::IvfHeader::parse(&bytes).unwrap();
        assert_eq!((h.frame_count, h.timebase_den, h.timebase_num), (3, 30, 1));
        let pts: Vec<i64> = ivf::frames(&bytes).unwrap().iter().map(|f| f.0).collect();
        assert_eq!(pts, [0, 1, 2]);
    }

    #[test]
    fn format_and_codec_must_agree() {
        let e = open_sink(
            Path::new("/tmp/never.ivf"),
            BitstreamFormat::Ivf,
            &config(Codec::H264),
        )
        .unwrap_err();
        assert!(e.to_string().contains("h264"), "{e}");
        assert_eq!(
            BitstreamFormat::from_path(Path::new("a.HEVC")),
            Some(BitstreamFormat::AnnexB)
        );
        assert_eq!(BitstreamFormat::from_path(Path::new("a.mp4")), None);
    }

    #[test]
    fn unwritable_path_fails_at_open() {
        let e = open_sink(
            Path::new("/nonexistent-dir/x.ivf"),
            BitstreamFormat::Ivf,
            &config(Codec::Av1),
        )
        .unwrap_err();
        assert!(matches!(e, SinkError::Create { .. }));
        assert!(e.to_string().contains("/nonexistent-dir/x.ivf"));
    }
}
