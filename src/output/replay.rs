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
//! - **Named by local date and time, never overwriting.** [`ReplaySaver::save_in`] saves into a
//!   folder under a name such as `Replay_2026-12-04_15-30-12.mkv` ([`replay_file_name`]), `_2`,
//!   `_3`... added when that name is taken ([`reserve_replay_path`]); the folder defaults to
//!   the user's videos folder ([`default_replay_dir`]).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

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
    /// Every name [`reserve_replay_path`] tries for one second is taken.
    #[error("{} and {tried} more replay files named after the same second are already in {}: move some out, or pick another folder", name, dir.display())]
    NoFreeName {
        /// The folder.
        dir: PathBuf,
        /// The first name tried.
        name: String,
        /// How many numbered names (`_2`...) were tried after it.
        tried: u32,
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
/// A file `reserved` for this save ([`reserve_replay_path`]) is this save's own.
fn save_whole(
    clip: &ReplayClip,
    path: &std::path::Path,
    format: OutputFormat,
    config: &SessionConfig,
    reserved: bool,
) -> Result<SinkSummary, ReplayError> {
    let existed = !reserved && std::fs::symlink_metadata(path).is_ok();
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
    /// The file was made empty for this save ([`reserve_replay_path`]): a failed save removes it.
    reserved: bool,
    done: mpsc::Sender<Result<SinkSummary, ReplayError>>,
}

/// Writes clips to files on its own thread, in the order asked.
#[derive(Debug)]
pub struct ReplaySaver {
    jobs: Option<mpsc::Sender<SaveJob>>,
    thread: Option<JoinHandle<()>>,
    /// The session's codec (a bitstream file's extension depends on it).
    codec: Codec,
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
        let codec = config.codec;
        let (jobs, receiver) = mpsc::channel::<SaveJob>();
        let thread = std::thread::Builder::new()
            .name("ghoststream-replay-saver".into())
            .spawn(move || {
                for job in receiver {
                    let outcome =
                        save_whole(&job.clip, &job.path, job.format, &config, job.reserved);
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
            codec,
        })
    }

    /// Queues `clip` to be written to `path`; returns at once.
    pub fn save(&self, clip: ReplayClip, path: PathBuf, format: OutputFormat) -> PendingSave {
        self.queue(clip, path, format, false)
    }

    /// Queues `clip` to be written into the folder `dir` under a new name for the local time
    /// `when` ([`reserve_replay_path`]: `Replay_2026-12-04_15-30-12.mkv`, or `..._2.mkv` when
    /// that is taken); returns at once. The file is created (empty) before this returns, so a
    /// later save never takes the same name, and is removed if the save fails. Fails only
    /// when no name can be created in `dir`.
    pub fn save_in(
        &self,
        clip: ReplayClip,
        dir: &Path,
        format: OutputFormat,
        when: SystemTime,
    ) -> Result<PendingSave, ReplayError> {
        let path = reserve_replay_path(dir, format, self.codec, when)?;
        Ok(self.queue(clip, path, format, true))
    }

    fn queue(
        &self,
        clip: ReplayClip,
        path: PathBuf,
        format: OutputFormat,
        reserved: bool,
    ) -> PendingSave {
        let (done, receiver) = mpsc::channel();
        let job = SaveJob {
            clip,
            path: path.clone(),
            format,
            reserved,
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

/// A moment in local time, to the second, as a replay file's name shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LocalTime {
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

/// `when` in the local time zone (as `localtime_r(3)` reads it: `TZ`, else `/etc/localtime`);
/// `None` for a time it cannot represent (a year past `i32`).
fn local_time(when: SystemTime) -> Option<LocalTime> {
    let seconds = match when.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).ok()?,
        // Before 1970: the whole second at or before it.
        Err(e) => {
            let before = e.duration();
            let whole = i64::try_from(before.as_secs()).ok()?;
            let whole = whole.checked_add(i64::from(before.subsec_nanos() > 0))?;
            whole.checked_neg()?
        }
    };
    let t = libc::time_t::try_from(seconds).ok()?;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::uninit();
    // SAFETY: `t` and `tm` are live locals; localtime_r reads `t` and writes only `tm`, whose
    // fields are all plain integers (and a pointer to libc's static zone name, not used), and
    // returns null, leaving `tm` unread, when it cannot represent the time. It is thread-safe;
    // like every libc call that reads the time zone, it relies on no thread calling setenv(3)
    // at the same time (std::env::set_var's documented hazard).
    let tm = unsafe {
        if libc::localtime_r(&raw const t, tm.as_mut_ptr()).is_null() {
            return None;
        }
        tm.assume_init()
    };
    Some(LocalTime {
        year: tm.tm_year.checked_add(1900)?,
        month: u8::try_from(tm.tm_mon.checked_add(1)?).ok()?,
        day: u8::try_from(tm.tm_mday).ok()?,
        hour: u8::try_from(tm.tm_hour).ok()?,
        minute: u8::try_from(tm.tm_min).ok()?,
        second: u8::try_from(tm.tm_sec).ok()?,
    })
}

/// The extension of a `format` file of `codec` (`mkv`; `h264` for Annex-B H.264).
fn file_extension(format: OutputFormat, codec: Codec) -> &'static str {
    match format {
        OutputFormat::Bitstream(f) => f.extension(codec),
        OutputFormat::Container(f) => f.name(),
    }
}

/// `Replay_YYYY-MM-DD_HH-MM-SS` (`Replay` without a time), `_N` after it from the second on.
fn name_at(time: Option<LocalTime>, number: u32, extension: &str) -> String {
    let mut name = String::from("Replay");
    if let Some(t) = time {
        name.push_str(&format!(
            "_{:04}-{:02}-{:02}_{:02}-{:02}-{:02}",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        ));
    }
    if number > 1 {
        name.push_str(&format!("_{number}"));
    }
    name.push('.');
    name.push_str(extension);
    name
}

/// The name of a replay file of `codec` saved as `format` at `when`, in local time:
/// `Replay_2026-12-04_15-30-12.mkv` (`Replay_..._15-30-12.h264` for Annex-B H.264). A time
/// the local calendar cannot show (a year past `i32`) gives `Replay.mkv`.
pub fn replay_file_name(format: OutputFormat, codec: Codec, when: SystemTime) -> String {
    name_at(local_time(when), 1, file_extension(format, codec))
}

/// How many numbered names (`_2`, `_3`...) [`reserve_replay_path`] tries after the first.
const MAX_NAME_NUMBER: u32 = 999;

/// A new file in `dir` for a replay of `codec` saved as `format` at `when`: the first of
/// [`replay_file_name`], then `Replay_..._2.mkv`, `_3`... that does not exist yet. The file is
/// created, empty (`O_EXCL`: nothing already there is ever opened or overwritten, even by
/// another process saving into the same folder in the same second), so that no other save
/// takes the name before this one writes it; the caller writes it or removes it
/// ([`ReplaySaver::save_in`] does both).
pub fn reserve_replay_path(
    dir: &Path,
    format: OutputFormat,
    codec: Codec,
    when: SystemTime,
) -> Result<PathBuf, ReplayError> {
    let time = local_time(when);
    let extension = file_extension(format, codec);
    for number in 1..=MAX_NAME_NUMBER + 1 {
        let path = dir.join(name_at(time, number, extension));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => return Err(ReplayError::Sink(SinkError::Create { path, source })),
        }
    }
    Err(ReplayError::NoFreeName {
        dir: dir.to_path_buf(),
        name: name_at(time, 1, extension),
        tried: MAX_NAME_NUMBER,
    })
}

/// The folder replays are saved into unless told otherwise: the user's videos folder,
/// `XDG_VIDEOS_DIR` in `$XDG_CONFIG_HOME/user-dirs.dirs` (`~/.config/user-dirs.dirs` without
/// `XDG_CONFIG_HOME`), else `$HOME/Videos`. `None` without an absolute `$HOME`. The folder may
/// not exist yet: the caller creates it, or says so.
pub fn default_replay_dir() -> Option<PathBuf> {
    let absolute = |name| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let home = absolute("HOME")?;
    let config = absolute("XDG_CONFIG_HOME").unwrap_or_else(|| home.join(".config"));
    Some(replay_dir_in(&home, &config))
}

/// [`default_replay_dir`] for a given home and configuration folder.
fn replay_dir_in(home: &Path, config: &Path) -> PathBuf {
    std::fs::read_to_string(config.join("user-dirs.dirs"))
        .ok()
        .and_then(|text| videos_dir(&text, home))
        .unwrap_or_else(|| home.join("Videos"))
}

/// `XDG_VIDEOS_DIR` in the text of a `user-dirs.dirs` file (shell assignments, the last one
/// counting): `"$HOME/Videos"` (relative to `home`) or `"/an/absolute/path"`, with `\`
/// escaping the next character. Anything else (another variable, a relative path) is ignored.
fn videos_dir(text: &str, home: &Path) -> Option<PathBuf> {
    text.lines()
        .filter_map(|line| {
            let value = line.trim().strip_prefix("XDG_VIDEOS_DIR=")?;
            user_dir(value, home)
        })
        .next_back()
}

/// One `user-dirs.dirs` value (see [`videos_dir`]).
fn user_dir(value: &str, home: &Path) -> Option<PathBuf> {
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    let mut text = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        text.push(if c == '\\' { chars.next()? } else { c });
    }
    if let Some(rest) = text.strip_prefix("$HOME") {
        return match rest.trim_start_matches('/') {
            "" => Some(home.to_path_buf()),
            // `$HOMEWORK` is another variable, not a folder in the home.
            below if rest.starts_with('/') => Some(home.join(below)),
            _ => None,
        };
    }
    let path = PathBuf::from(text);
    path.is_absolute().then_some(path)
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
        // A save into a name reserved for it removes that file when it fails.
        let e = saver
            .save_in(
                b.clip(None).unwrap(),
                &dir,
                OutputFormat::Bitstream(BitstreamFormat::AnnexB),
                SystemTime::now(),
            )
            .unwrap()
            .wait()
            .unwrap_err();
        assert!(matches!(e, ReplayError::Unsaved { .. }), "{e:?}");
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

    /// The local time `date(1)` shows for `seconds` since 1970, as a replay name shows it.
    fn date_at(seconds: i64) -> String {
        let out = std::process::Command::new("date")
            .arg("-d")
            .arg(format!("@{seconds}"))
            .arg("+%Y-%m-%d_%H-%M-%S")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    const MKV: OutputFormat = OutputFormat::Container(ContainerFormat::Matroska);
    const ANNEXB: OutputFormat = OutputFormat::Bitstream(BitstreamFormat::AnnexB);

    #[test]
    fn replay_names_show_the_local_date_and_time() {
        let t = LocalTime {
            year: 2026,
            month: 12,
            day: 4,
            hour: 15,
            minute: 30,
            second: 12,
        };
        assert_eq!(name_at(Some(t), 1, "mkv"), "Replay_2026-12-04_15-30-12.mkv");
        assert_eq!(
            name_at(Some(t), 2, "mkv"),
            "Replay_2026-12-04_15-30-12_2.mkv"
        );
        let early = LocalTime {
            year: 987,
            month: 1,
            day: 2,
            hour: 3,
            minute: 4,
            second: 5,
        };
        assert_eq!(
            name_at(Some(early), 1, "h264"),
            "Replay_0987-01-02_03-04-05.h264"
        );
        assert_eq!(name_at(None, 1, "mkv"), "Replay.mkv");
        assert_eq!(name_at(None, 3, "mkv"), "Replay_3.mkv");
        // The time is the local one, as date(1) shows it here (whatever the zone), before 1970
        // too (the whole second at or before the moment).
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_398_212);
        assert_eq!(
            replay_file_name(MKV, Codec::H264, when),
            format!("Replay_{}.mkv", date_at(1_796_398_212))
        );
        let before = SystemTime::UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(
            replay_file_name(MKV, Codec::Av1, before),
            format!("Replay_{}.mkv", date_at(-2))
        );
        // The extension is the file's: a bitstream's depends on the codec.
        let name = replay_file_name(ANNEXB, Codec::Hevc, when);
        assert!(
            name.ends_with(&format!("{}.h265", date_at(1_796_398_212))),
            "{name}"
        );
        assert!(replay_file_name(ANNEXB, Codec::H264, when).ends_with(".h264"));
        // A time no calendar here can show.
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(i64::MAX).unwrap());
        assert_eq!(replay_file_name(MKV, Codec::H264, far), "Replay.mkv");
    }

    #[test]
    fn a_taken_name_gets_a_number_and_nothing_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_398_212);
        let base = format!("Replay_{}", date_at(1_796_398_212));
        // A file already there keeps its bytes.
        std::fs::write(dir.path().join(format!("{base}.mkv")), b"keep me").unwrap();
        let second = reserve_replay_path(dir.path(), MKV, Codec::H264, when).unwrap();
        assert_eq!(second, dir.path().join(format!("{base}_2.mkv")));
        assert_eq!(std::fs::read(&second).unwrap(), b"");
        assert_eq!(
            std::fs::read(dir.path().join(format!("{base}.mkv"))).unwrap(),
            b"keep me"
        );
        // Reserved, so the next save in the same second takes the next number.
        let third = reserve_replay_path(dir.path(), MKV, Codec::H264, when).unwrap();
        assert_eq!(third, dir.path().join(format!("{base}_3.mkv")));
        // A dangling symbolic link is taken too, and never followed.
        let target = dir.path().join("elsewhere.mkv");
        std::os::unix::fs::symlink(&target, dir.path().join(format!("{base}_4.mkv"))).unwrap();
        let fifth = reserve_replay_path(dir.path(), MKV, Codec::H264, when).unwrap();
        assert_eq!(fifth, dir.path().join(format!("{base}_5.mkv")));
        assert!(!target.exists());
        // Another format is another name.
        let other = reserve_replay_path(dir.path(), ANNEXB, Codec::H264, when).unwrap();
        assert_eq!(other, dir.path().join(format!("{base}.h264")));
        // Every number taken: an error naming the folder, nothing overwritten.
        for _ in 6..=MAX_NAME_NUMBER + 1 {
            reserve_replay_path(dir.path(), MKV, Codec::H264, when).unwrap();
        }
        let e = reserve_replay_path(dir.path(), MKV, Codec::H264, when).unwrap_err();
        assert!(
            matches!(e, ReplayError::NoFreeName { tried: 999, .. }),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "{base}.mkv and 999 more replay files named after the same second are already in {}: move some out, or pick another folder",
                dir.path().display()
            )
        );
        // A folder that is not there: the OS error, naming the file.
        let missing = dir.path().join("no-such-folder");
        let e = reserve_replay_path(&missing, MKV, Codec::H264, when).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "cannot create {}/{base}.mkv: No such file or directory",
                missing.display()
            )),
            "{e}"
        );
    }

    #[test]
    fn two_saves_in_one_second_get_two_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = buffer(10, 1 << 20);
        for n in 0..10 {
            let mut data = vec![0x55u8; 100];
            data[..5].copy_from_slice(&[0, 0, 0, 1, if n == 0 { 0x65 } else { 0x41 }]);
            b.push(crate::packet::test_packet(
                n,
                n == 0,
                Bytes::from(data),
                FRAME,
            ));
        }
        let config = SessionConfig::new(Codec::H264, 64, 64, crate::time::Rational::new(30, 1));
        let saver = ReplaySaver::start(config).unwrap();
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_398_212);
        let first = saver
            .save_in(b.clip(None).unwrap(), dir.path(), ANNEXB, when)
            .unwrap();
        let second = saver
            .save_in(b.clip(None).unwrap(), dir.path(), ANNEXB, when)
            .unwrap();
        let base = format!("Replay_{}", date_at(1_796_398_212));
        assert_eq!(first.path(), dir.path().join(format!("{base}.h264")));
        assert_eq!(second.path(), dir.path().join(format!("{base}_2.h264")));
        let (a, b) = (first.path().to_path_buf(), second.path().to_path_buf());
        assert_eq!(first.wait().unwrap().packets, 10);
        assert_eq!(second.wait().unwrap().packets, 10);
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        assert_eq!(std::fs::metadata(&a).unwrap().len(), 1000);
    }

    #[test]
    fn the_videos_folder_comes_from_user_dirs() {
        let home = Path::new("/home/ana");
        let text = "# This file is written by xdg-user-dirs-update\n\
                    XDG_DESKTOP_DIR=\"$HOME/Desktop\"\n\
                    XDG_VIDEOS_DIR=\"$HOME/Vidéos\"\n";
        assert_eq!(
            videos_dir(text, home),
            Some(PathBuf::from("/home/ana/Vidéos"))
        );
        for (value, expected) in [
            ("\"$HOME/Videos\"", Some("/home/ana/Videos")),
            ("\"/srv/clips\"", Some("/srv/clips")),
            (
                "\"$HOME/My\\ \\\"Clips\\\"\"",
                Some("/home/ana/My \"Clips\""),
            ),
            ("\"$HOME/\"", Some("/home/ana")),
            ("\"$HOME\"", Some("/home/ana")),
            ("$HOME/Unquoted", Some("/home/ana/Unquoted")),
            ("\"$HOMEWORK/x\"", None),
            ("\"relative/path\"", None),
            ("\"\"", None),
            ("\"$HOME/trailing\\\"", None),
        ] {
            let text = format!("XDG_VIDEOS_DIR={value}\n");
            assert_eq!(
                videos_dir(&text, home),
                expected.map(PathBuf::from),
                "{value}"
            );
        }
        // The last assignment counts; comments and other keys do not.
        let text = "XDG_VIDEOS_DIR=\"/a\"\n#XDG_VIDEOS_DIR=\"/b\"\n  XDG_VIDEOS_DIR=\"/c\"\r\nXDG_MUSIC_DIR=\"/d\"\n";
        assert_eq!(videos_dir(text, home), Some(PathBuf::from("/c")));
        assert_eq!(videos_dir("XDG_MUSIC_DIR=\"/d\"\n", home), None);

        // From a file; without it, or without the key: $HOME/Videos.
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::create_dir(&config).unwrap();
        assert_eq!(replay_dir_in(home, &config), home.join("Videos"));
        std::fs::write(config.join("user-dirs.dirs"), "XDG_MUSIC_DIR=\"$HOME/M\"\n").unwrap();
        assert_eq!(replay_dir_in(home, &config), home.join("Videos"));
        std::fs::write(
            config.join("user-dirs.dirs"),
            "XDG_VIDEOS_DIR=\"$HOME/Films\"\n",
        )
        .unwrap();
        assert_eq!(replay_dir_in(home, &config), home.join("Films"));
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
