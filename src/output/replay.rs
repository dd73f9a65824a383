//! The replay buffer: the last stretch of encoded packets, kept in memory so that "save the
//! last 30 seconds" needs no re-encoding and never stalls the encoder.
//!
//! - **Whole GOPs.** Packets are kept in groups that start at a key frame. Eviction drops the
//!   oldest group whole, so every clip starts on a key frame and decodes from its first packet.
//!   Packets that arrive before the first key frame cannot start a clip and are not kept.
//! - **Bounded twice.** By duration: the oldest group goes as soon as the groups after it still
//!   cover the duration asked for. By bytes: the oldest group goes while the total is over the
//!   bound. If the newest group alone outgrows the byte bound (a key-frame interval far longer
//!   than the buffer), it is dropped too and packets are not kept until the next key frame
//!   ([`ReplayStats::overflowed`] counts them): memory never exceeds the bound by more than one
//!   packet.
//! - **No copies.** A [`Packet`]'s bytes are shared ([`bytes::Bytes`]), so keeping a packet, and
//!   taking a [`ReplayClip`] of hundreds of them, copies pointers, not video. Pushing is
//!   amortised O(1); a clip is O(packets in it) pointer copies.
//! - **Saving off the encoder's thread.** [`ReplaySaver`] writes clips to container files on
//!   its own thread, one after another: a save asked for while another is being written waits
//!   its turn, and the encoder only ever pays for [`ReplayBuffer::clip`].

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::error::{SinkError, SinkSummary};
use super::format::{BitstreamFormat, ContainerFormat, OutputFormat};
use crate::codec::Codec;
use crate::config::SessionConfig;
use crate::packet::Packet;
use crate::time::Timestamp;

/// How much the buffer keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayLimits {
    /// The stretch of video to keep (the longest clip that can be saved).
    pub duration: Duration,
    /// The most bytes of packets to hold.
    pub bytes: usize,
}

/// Why a replay buffer could not be made or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A limit of zero.
    #[error("a replay buffer of {duration:?} and {bytes} bytes keeps nothing: give a positive duration and byte limit")]
    EmptyLimits {
        /// The duration given.
        duration: Duration,
        /// The byte limit given.
        bytes: usize,
    },
    /// Nothing to save yet (no key frame has arrived).
    #[error("the replay buffer holds no key frame yet: nothing can be saved")]
    Empty,
    /// The saving thread is gone (it panicked or was shut down).
    #[error("the replay saver has stopped; the clip for {} was not written", path.display())]
    SaverGone {
        /// The file the clip was meant for.
        path: PathBuf,
    },
    /// Writing the clip failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The format cannot carry the codec, so no clip could ever be saved.
    #[error("replay clips of {codec} cannot be saved as {format}: use one of {}", formats_for(*codec))]
    Format {
        /// The format asked for.
        format: OutputFormat,
        /// The session's codec.
        codec: Codec,
    },
    /// Writing the clip failed part way; the incomplete file was removed.
    #[error("cannot save the replay clip {} ({}); the incomplete file was removed", path.display(), cause(sink))]
    Unsaved {
        /// The file that was being written (now removed).
        path: PathBuf,
        /// What failed. What its message says about the file's remaining bytes no longer
        /// holds: the file is gone.
        sink: SinkError,
    },
}

/// Every file format a clip can be saved as.
const FORMATS: [OutputFormat; 7] = [
    OutputFormat::Container(ContainerFormat::Matroska),
    OutputFormat::Container(ContainerFormat::Mp4),
    OutputFormat::Container(ContainerFormat::MpegTs),
    OutputFormat::Bitstream(BitstreamFormat::AnnexB),
    OutputFormat::Bitstream(BitstreamFormat::LengthPrefixed),
    OutputFormat::Bitstream(BitstreamFormat::Obu),
    OutputFormat::Bitstream(BitstreamFormat::Ivf),
];

/// The formats that carry `codec`, as named on the command line.
fn formats_for(codec: Codec) -> String {
    FORMATS
        .iter()
        .filter(|f| carries(**f, codec))
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `format` can carry `codec`.
fn carries(format: OutputFormat, codec: Codec) -> bool {
    match format {
        OutputFormat::Bitstream(f) => f.carries(codec),
        OutputFormat::Container(f) => f.carries(codec),
    }
}

/// The cause of a failed write, without the sink's account of what the file keeps.
fn cause(e: &SinkError) -> String {
    match e {
        SinkError::Write { source, .. } | SinkError::Create { source, .. } => source.to_string(),
        SinkError::Mux { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// Checks that clips of `codec` can be saved as `format` ([`ReplayError::Format`] names both
/// and the formats that would do), so that a replay buffer whose every save would fail is
/// refused when it is set up.
pub fn check_format(format: OutputFormat, codec: Codec) -> Result<(), ReplayError> {
    if carries(format, codec) {
        Ok(())
    } else {
        Err(ReplayError::Format { format, codec })
    }
}

/// One group of packets starting at a key frame.
#[derive(Debug)]
struct Gop {
    packets: Vec<Packet>,
    bytes: usize,
}

impl Gop {
    fn start(&self) -> Timestamp {
        self.packets[0].pts
    }
}

/// What the buffer holds and has let go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Packets held.
    pub packets: usize,
    /// Bytes held.
    pub bytes: usize,
    /// Groups (each from a key frame) held.
    pub gops: usize,
    /// Media time held, from the oldest key frame to the end of the newest packet.
    pub duration: Duration,
    /// Groups evicted, oldest first, to stay within the limits.
    pub evicted_gops: u64,
    /// Packets not kept because no key frame had started their group.
    pub before_keyframe: u64,
    /// Packets not kept because their group alone outgrew the byte limit.
    pub overflowed: u64,
}

/// A ring of the newest encoded packets, in whole GOPs.
#[derive(Debug)]
pub struct ReplayBuffer {
    limits: ReplayLimits,
    gops: VecDeque<Gop>,
    bytes: usize,
    packets: usize,
    /// Dropping packets until the next key frame (the last group overflowed).
    skipping: bool,
    evicted_gops: u64,
    before_keyframe: u64,
    overflowed: u64,
}

impl ReplayBuffer {
    /// An empty buffer keeping up to `limits`.
    pub fn new(limits: ReplayLimits) -> Result<Self, ReplayError> {
        if limits.duration.is_zero() || limits.bytes == 0 {
            return Err(ReplayError::EmptyLimits {
                duration: limits.duration,
                bytes: limits.bytes,
            });
        }
        Ok(Self {
            limits,
            gops: VecDeque::new(),
            bytes: 0,
            packets: 0,
            skipping: false,
            evicted_gops: 0,
            before_keyframe: 0,
            overflowed: 0,
        })
    }

    /// The limits it keeps to.
    pub fn limits(&self) -> ReplayLimits {
        self.limits
    }

    /// Keeps `packet` (sharing its bytes) and lets the oldest groups go as the limits say.
    pub fn push(&mut self, packet: Packet) {
        let size = packet.data.len();
        if packet.keyframe {
            self.skipping = false;
            self.gops.push_back(Gop {
                packets: Vec::new(),
                bytes: 0,
            });
        } else if self.skipping {
            self.overflowed += 1;
            return;
        } else if self.gops.is_empty() {
            self.before_keyframe += 1;
            return;
        }
        let gop = self.gops.back_mut().expect("a group was started above");
        gop.packets.push(packet);
        gop.bytes += size;
        self.bytes += size;
        self.packets += 1;
        self.evict();
    }

    fn evict(&mut self) {
        let end = self.end();
        loop {
            let over_bytes = self.bytes > self.limits.bytes;
            let newer_cover = self
                .gops
                .get(1)
                .zip(end)
                .is_some_and(|(next, end)| span(next.start(), end) >= self.limits.duration);
            if !(over_bytes || newer_cover) {
                break;
            }
            if self.gops.len() == 1 {
                // The newest group alone is over the byte bound: let it go and keep nothing
                // until the next key frame.
                let gop = self.gops.pop_front().expect("one group");
                self.overflowed += gop.packets.len() as u64;
                self.forget(&gop);
                self.skipping = true;
                tracing::warn!(
                    bytes = self.limits.bytes,
                    "a key-frame interval outgrew the replay buffer's byte limit; \
                     nothing is kept until the next key frame"
                );
                break;
            }
            let gop = self.gops.pop_front().expect("two groups or more");
            self.evicted_gops += 1;
            self.forget(&gop);
        }
    }

    fn forget(&mut self, gop: &Gop) {
        self.bytes -= gop.bytes;
        self.packets -= gop.packets.len();
    }

    /// The end of the newest packet (its pts plus duration).
    fn end(&self) -> Option<Timestamp> {
        let last = self.gops.back()?.packets.last()?;
        Some(last.pts.add(last.duration))
    }

    /// What it holds now.
    pub fn stats(&self) -> ReplayStats {
        ReplayStats {
            packets: self.packets,
            bytes: self.bytes,
            gops: self.gops.len(),
            duration: match (self.gops.front(), self.end()) {
                (Some(first), Some(end)) => span(first.start(), end),
                _ => Duration::ZERO,
            },
            evicted_gops: self.evicted_gops,
            before_keyframe: self.before_keyframe,
            overflowed: self.overflowed,
        }
    }

    /// The packets of the last `last` of video (all that is held when `None` or when less is
    /// held), starting at the latest key frame that still covers it. Shares the packets'
    /// bytes; `Err(Empty)` before the first key frame.
    pub fn clip(&self, last: Option<Duration>) -> Result<ReplayClip, ReplayError> {
        let end = self.end().ok_or(ReplayError::Empty)?;
        let want = last.unwrap_or(self.limits.duration);
        // The newest group whose start still leaves `want` of video after it, else the oldest.
        let first = self
            .gops
            .iter()
            .rposition(|g| span(g.start(), end) >= want)
            .unwrap_or(0);
        let packets: Vec<Packet> = self
            .gops
            .iter()
            .skip(first)
            .flat_map(|g| g.packets.iter().cloned())
            .collect();
        Ok(ReplayClip { packets })
    }
}

fn span(from: Timestamp, to: Timestamp) -> Duration {
    Duration::from_nanos(u64::try_from(to.since(from).as_nanos()).unwrap_or(0))
}

/// Packets taken from a [`ReplayBuffer`], starting on a key frame.
#[derive(Clone, Debug)]
pub struct ReplayClip {
    packets: Vec<Packet>,
}

impl ReplayClip {
    /// The packets, in decode order.
    pub fn packets(&self) -> &[Packet] {
        &self.packets
    }

    /// Media time covered, from the first packet to the end of the last.
    pub fn duration(&self) -> Duration {
        match (self.packets.first(), self.packets.last()) {
            (Some(a), Some(b)) => span(a.pts, b.pts.add(b.duration)),
            _ => Duration::ZERO,
        }
    }

    /// Writes the clip to `path` as `format` (a container or a raw bitstream).
    pub fn save(
        &self,
        path: &std::path::Path,
        format: OutputFormat,
        config: &SessionConfig,
    ) -> Result<SinkSummary, SinkError> {
        let mut sink = super::file::open_file_sink(path, format, config)?;
        for p in &self.packets {
            if let Err(e) = sink.write(p) {
                drop(sink);
                return Err(e);
            }
        }
        sink.finish()
    }
}

/// Saves `clip` to `path`; a file this save created is removed if the save fails (a full
/// disk must not leave a header-only file that does not play).
fn save_whole(
    clip: &ReplayClip,
    path: &std::path::Path,
    format: OutputFormat,
    config: &SessionConfig,
) -> Result<SinkSummary, ReplayError> {
    let existed = std::fs::symlink_metadata(path).is_ok();
    let sink = match clip.save(path, format, config) {
        Ok(summary) => return Ok(summary),
        Err(e) => e,
    };
    if existed || std::fs::symlink_metadata(path).is_err() {
        // Not ours to remove, or nothing was created.
        return Err(ReplayError::Sink(sink));
    }
    match std::fs::remove_file(path) {
        Ok(()) => Err(ReplayError::Unsaved {
            path: path.to_path_buf(),
            sink,
        }),
        Err(e) => {
            tracing::warn!(
                "cannot remove the failed replay save {}: {e}",
                path.display()
            );
            Err(ReplayError::Sink(sink))
        }
    }
}

/// A save to make: the clip, where, and how to answer.
struct SaveJob {
    clip: ReplayClip,
    path: PathBuf,
    format: OutputFormat,
    done: mpsc::Sender<Result<SinkSummary, ReplayError>>,
}

/// Writes clips to files on its own thread, in the order asked.
#[derive(Debug)]
pub struct ReplaySaver {
    jobs: Option<mpsc::Sender<SaveJob>>,
    thread: Option<JoinHandle<()>>,
}

/// A save in progress: [`PendingSave::wait`] gives its outcome.
#[derive(Debug)]
pub struct PendingSave {
    path: PathBuf,
    done: mpsc::Receiver<Result<SinkSummary, ReplayError>>,
}

impl PendingSave {
    /// The file being written.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Waits for the file to be written (finished and synced).
    pub fn wait(self) -> Result<SinkSummary, ReplayError> {
        self.done
            .recv()
            .unwrap_or(Err(ReplayError::SaverGone { path: self.path }))
    }

    /// The outcome if the save has ended, without waiting.
    pub fn try_outcome(&self) -> Option<Result<SinkSummary, ReplayError>> {
        match self.done.try_recv() {
            Ok(r) => Some(r),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => Some(Err(ReplayError::SaverGone {
                path: self.path.clone(),
            })),
        }
    }
}

impl ReplaySaver {
    /// Starts the saving thread for clips of the session `config` describes.
    pub fn start(config: SessionConfig) -> Result<Self, ReplayError> {
        let (jobs, receiver) = mpsc::channel::<SaveJob>();
        let thread = std::thread::Builder::new()
            .name("ghoststream-replay-saver".into())
            .spawn(move || {
                for job in receiver {
                    let outcome = save_whole(&job.clip, &job.path, job.format, &config);
                    let _ = job.done.send(outcome);
                }
            })
            .map_err(|e| {
                ReplayError::Sink(SinkError::Create {
                    path: PathBuf::from("(replay saver thread)"),
                    source: e,
                })
            })?;
        Ok(Self {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Queues `clip` to be written to `path`; returns at once.
    pub fn save(&self, clip: ReplayClip, path: PathBuf, format: OutputFormat) -> PendingSave {
        let (done, receiver) = mpsc::channel();
        let job = SaveJob {
            clip,
            path: path.clone(),
            format,
            done,
        };
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(job);
        }
        PendingSave {
            path,
            done: receiver,
        }
    }
}

impl Drop for ReplaySaver {
    /// Finishes the saves already asked for, then stops.
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    const FRAME: i64 = 1_000_000_000 / 30;

    fn packet(n: u64, keyframe: bool, size: usize) -> Packet {
        crate::packet::test_packet(n, keyframe, Bytes::from(vec![0u8; size]), FRAME)
    }

    fn buffer(seconds: u64, bytes: usize) -> ReplayBuffer {
        ReplayBuffer::new(ReplayLimits {
            duration: Duration::from_secs(seconds),
            bytes,
        })
        .unwrap()
    }

    #[test]
    fn whole_gops_are_evicted_and_clips_start_on_a_key_frame() {
        let mut b = buffer(2, usize::MAX);
        // 10 s at 30 fps, a key frame every 15 frames (0.5 s).
        for n in 0..300 {
            b.push(packet(n, n % 15 == 0, 100));
        }
        let s = b.stats();
        // Kept: the fewest newest groups covering 2 s (4 groups), plus at most one more.
        assert!(s.duration >= Duration::from_secs(2), "{s:?}");
        assert!(s.duration < Duration::from_millis(2500), "{s:?}");
        assert_eq!(s.packets, s.gops * 15);
        let clip = b.clip(None).unwrap();
        assert!(clip.packets()[0].keyframe);
        assert_eq!(clip.packets().last().unwrap().frame_number, 299);
        assert!(clip.duration() >= Duration::from_secs(2));
        // A shorter clip starts at the latest key frame that still covers it.
        let short = b.clip(Some(Duration::from_millis(700))).unwrap();
        assert_eq!(short.packets()[0].frame_number, 270);
        assert_eq!(short.packets().len(), 30);
    }

    #[test]
    fn the_byte_limit_holds_and_an_oversized_gop_is_let_go() {
        let mut b = buffer(3600, 10_000);
        for n in 0..300 {
            b.push(packet(n, n % 30 == 0, 100));
            assert!(b.stats().bytes <= 10_000, "{:?}", b.stats());
        }
        assert!(b.clip(None).unwrap().packets()[0].keyframe);
        // One group of 30 x 400 bytes outgrows 10 000 bytes: it goes, and packets wait for
        // the next key frame.
        let mut big = buffer(3600, 10_000);
        for n in 0..40 {
            big.push(packet(n, n % 30 == 0, 400));
            assert!(big.stats().bytes <= 10_000);
        }
        let s = big.stats();
        assert_eq!((s.gops, s.packets), (1, 10), "{s:?}");
        assert!(s.overflowed >= 25, "{s:?}");
    }

    #[test]
    fn packets_before_the_first_key_frame_are_not_kept_and_an_empty_buffer_says_so() {
        let mut b = buffer(1, 1 << 20);
        assert!(matches!(b.clip(None), Err(ReplayError::Empty)));
        b.push(packet(0, false, 10));
        b.push(packet(1, false, 10));
        assert_eq!(b.stats().before_keyframe, 2);
        assert!(matches!(b.clip(None), Err(ReplayError::Empty)));
        b.push(packet(2, true, 10));
        assert_eq!(b.clip(None).unwrap().packets().len(), 1);
        let e = ReplayBuffer::new(ReplayLimits {
            duration: Duration::ZERO,
            bytes: 10,
        })
        .unwrap_err();
        assert!(e.to_string().contains("keeps nothing"), "{e}");
    }

    #[test]
    fn a_format_that_cannot_carry_the_codec_is_refused_up_front() {
        let ivf = OutputFormat::Bitstream(BitstreamFormat::Ivf);
        let e = check_format(ivf, Codec::H264).unwrap_err();
        assert!(
            matches!(e, ReplayError::Format { format, codec: Codec::H264 } if format == ivf),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "replay clips of h264 cannot be saved as ivf: use one of mkv, mp4, ts, annexb, length-prefixed"
        );
        let ts = OutputFormat::Container(ContainerFormat::MpegTs);
        assert_eq!(
            check_format(ts, Codec::Av1).unwrap_err().to_string(),
            "replay clips of av1 cannot be saved as ts: use one of mkv, mp4, obu, ivf"
        );
        for format in FORMATS {
            for codec in [Codec::H264, Codec::Hevc, Codec::Av1] {
                assert_eq!(check_format(format, codec).is_ok(), carries(format, codec));
            }
        }
        assert!(check_format(
            OutputFormat::Container(ContainerFormat::Matroska),
            Codec::Av1
        )
        .is_ok());
    }

    /// Set in the child process of the full-disk test: the directory to save into.
    const FULL_DISK_DIR: &str = "GHOSTSTREAM_TEST_FULL_DISK_DIR";

    /// The child of the test below (does nothing unless that test started it): saves a clip
    /// under a 512-byte file-size limit.
    #[test]
    fn full_disk_child() {
        let Some(dir) = std::env::var_os(FULL_DISK_DIR) else {
            return;
        };
        let dir = PathBuf::from(dir);
        let mut b = buffer(10, 1 << 20);
        for n in 0..30 {
            // An Annex-B access unit: a start code, an IDR or non-IDR slice header, filler.
            let mut data = vec![0x55u8; 1000];
            data[..5].copy_from_slice(&[0, 0, 0, 1, if n % 10 == 0 { 0x65 } else { 0x41 }]);
            b.push(crate::packet::test_packet(
                n,
                n % 10 == 0,
                Bytes::from(data),
                FRAME,
            ));
        }
        let config = SessionConfig::new(Codec::H264, 64, 64, crate::time::Rational::new(30, 1));
        let saver = ReplaySaver::start(config).unwrap();
        let path = dir.join("clip.h264");
        let e = saver
            .save(
                b.clip(None).unwrap(),
                path.clone(),
                OutputFormat::Bitstream(BitstreamFormat::AnnexB),
            )
            .wait()
            .unwrap_err();
        assert!(matches!(e, ReplayError::Unsaved { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "cannot save the replay clip {} (File too large (os error 27)); the incomplete file was removed",
                path.display()
            )
        );
        assert!(!path.exists());
        // A save over a file that was already there leaves it (it is not this save's to remove).
        let existing = dir.join("existing.h264");
        std::fs::write(&existing, b"").unwrap();
        let e = saver
            .save(
                b.clip(None).unwrap(),
                existing.clone(),
                OutputFormat::Bitstream(BitstreamFormat::AnnexB),
            )
            .wait()
            .unwrap_err();
        assert!(
            matches!(e, ReplayError::Sink(SinkError::Write { .. })),
            "{e:?}"
        );
        assert!(existing.exists());
        println!("child done");
    }

    /// A save on a full disk (RLIMIT_FSIZE with SIGXFSZ ignored, in a child process) fails
    /// with one error and leaves no file behind.
    #[test]
    fn a_failed_save_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            // 8 blocks of 512 bytes: the first packets are written whole (so the save's file is
            // at its path, no longer staged) and a later one fails.
            .arg("trap '' XFSZ; ulimit -f 8; exec \"$0\" --exact output::replay::tests::full_disk_child --nocapture --test-threads 1")
            .arg(&exe)
            .env(FULL_DISK_DIR, dir.path())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && text.contains("child done"),
            "{text}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("existing.h264")]);
    }

    #[test]
    fn a_clip_shares_the_packets_bytes() {
        let mut b = buffer(10, 1 << 20);
        let p = packet(0, true, 1000);
        let data = p.data.clone();
        b.push(p);
        let clip = b.clip(None).unwrap();
        assert_eq!(clip.packets()[0].data.as_ptr(), data.as_ptr());
    }
}
