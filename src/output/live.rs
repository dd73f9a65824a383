//! Live streaming to RTMP and SRT servers through libavformat's protocols (feature
//! `software`): H.264 in FLV over RTMP (FFmpeg 5.1's FLV carries no HEVC or AV1), H.264 or
//! HEVC in MPEG-TS over SRT (caller mode, live transmission type, 1316-byte payloads).
//!
//! The encoder never waits on the network. [`LiveSink::write`] puts the packet (its bytes
//! shared, not copied) on a queue that a sending thread drains:
//! - **Bounded buffering.** The queue holds at most [`LiveOptions::buffer`] of video; past
//!   that, the oldest whole GOPs are dropped, so the server is sent a stream that still starts
//!   on a key frame, and memory stays bounded however long the server is away.
//! - **Reconnection.** When a write fails (the server went away: at once for RTMP's TCP,
//!   after about 5 s of silence for SRT, whose sender cannot tell a vanished listener from a
//!   slow one sooner; what it sent meanwhile is lost), the sending thread closes
//!   the connection and connects again, waiting 0.25 s, then twice as long each time up to
//!   4 s. A new connection starts at the newest key frame queued (the live edge, without a
//!   burst of stale video); what was skipped or lost is counted in [`LiveStats::dropped`].
//! - **Typed failures.** An unreachable server at [`open_live`] is a
//!   [`SinkError::Connect`] within [`LiveOptions::connect_timeout`], not a hang; the URL
//!   and protocol are checked before anything is sent.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::container::track_params;
use super::error::SinkError;
use super::muxed::{Layout, MuxFailure, MuxedTrack};
use crate::codec::Codec;
use crate::config::SessionConfig;
use crate::ffmpeg::mux::{Muxer, TrackParams};
use crate::packet::Packet;

/// The protocols a stream can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LiveProtocol {
    /// `rtmp://` or `rtmps://`: FLV, H.264.
    Rtmp,
    /// `srt://`: MPEG-TS, H.264 or HEVC.
    Srt,
}

impl LiveProtocol {
    /// The protocol of `url`, from its scheme.
    pub fn of(url: &str) -> Option<Self> {
        let scheme = url.split_once("://")?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "rtmp" | "rtmps" => Some(Self::Rtmp),
            "srt" => Some(Self::Srt),
            _ => None,
        }
    }

    /// True when the protocol's container carries `codec`.
    pub fn carries(self, codec: Codec) -> bool {
        match self {
            Self::Rtmp => codec == Codec::H264,
            Self::Srt => matches!(codec, Codec::H264 | Codec::Hevc),
        }
    }

    fn muxer(self) -> &'static str {
        match self {
            Self::Rtmp => "flv",
            Self::Srt => "mpegts",
        }
    }

    fn layout(self) -> Layout {
        match self {
            // A live FLV: no duration or file size to seek back and fix.
            Self::Rtmp => Layout {
                length_prefixed: true,
                options: vec![("flvflags", "no_duration_filesize".into())],
            },
            // No muxing delay: each packet leaves as soon as it is written.
            Self::Srt => Layout {
                length_prefixed: false,
                options: vec![("muxdelay", "0".into()), ("muxpreload", "0".into())],
            },
        }
    }

    /// The protocol's I/O options for low latency and bounded waits.
    fn io_options(self, timeout: Duration) -> Vec<(&'static str, String)> {
        let micros = timeout.as_micros().max(1).to_string();
        match self {
            // (Not `timeout`: for RTMP that option means "listen for a connection".)
            Self::Rtmp => vec![("rw_timeout", micros), ("tcp_nodelay", "1".into())],
            Self::Srt => vec![
                ("rw_timeout", micros),
                ("connect_timeout", timeout.as_millis().max(1).to_string()),
                ("transtype", "live".into()),
                ("mode", "caller".into()),
                ("pkt_size", "1316".into()),
                ("latency", "120000".into()),
                // On close, wait (up to 1 s) for what SRT still holds to be delivered.
                ("linger", "1".into()),
            ],
        }
    }
}

/// How a stream buffers and reconnects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveOptions {
    /// The most video queued for the server; older GOPs are dropped past it.
    pub buffer: Duration,
    /// How long a connection attempt, or a stalled write, may take.
    pub connect_timeout: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self {
            buffer: Duration::from_secs(4),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// What a stream has done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Whether a connection is up now.
    pub connected: bool,
    /// Connections made (the first included).
    pub connections: u64,
    /// Packets the server accepted.
    pub sent: u64,
    /// Packets never sent: dropped to bound the queue, lost with a connection, or skipped to
    /// restart at a key frame.
    pub dropped: u64,
    /// Packets waiting now.
    pub queued: usize,
    /// The last connection or write failure.
    pub last_error: Option<String>,
}

#[derive(Debug, Default)]
struct Queue {
    packets: VecDeque<Packet>,
    closing: bool,
    stats: LiveStats,
}

#[derive(Debug, Default)]
struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A live stream being sent.
#[derive(Debug)]
pub struct LiveSink {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    url: String,
    buffer: Duration,
}

/// Connects to `url` (`rtmp://host/app/key`, `srt://host:port`) and starts sending the
/// session's packets. An unreachable server is a [`SinkError::Connect`] within
/// `options.connect_timeout`.
pub fn open_live(
    url: &str,
    config: &SessionConfig,
    options: LiveOptions,
) -> Result<LiveSink, SinkError> {
    let protocol = LiveProtocol::of(url).ok_or_else(|| SinkError::Connect {
        url: url.to_string(),
        reason: "not a stream URL: use rtmp://host/app/key or srt://host:port".into(),
    })?;
    if !protocol.carries(config.codec) {
        return Err(SinkError::Connect {
            url: url.to_string(),
            reason: format!(
                "{protocol:?} here carries {}, not {} (FFmpeg 5.1's FLV has H.264 only; use srt:// for HEVC)",
                if protocol == LiveProtocol::Rtmp { "H.264" } else { "H.264 and HEVC" },
                config.codec
            ),
        });
    }
    if options.buffer.is_zero() || options.connect_timeout.is_zero() {
        return Err(SinkError::Connect {
            url: url.to_string(),
            reason: format!(
                "a buffer of {:?} and a connect timeout of {:?}: both must be positive",
                options.buffer, options.connect_timeout
            ),
        });
    }
    let params = track_params(config);
    let first = connect(url, protocol, &params, options)?;
    let shared = Arc::new(Shared::default());
    shared.lock().stats.connected = true;
    shared.lock().stats.connections = 1;
    let thread = {
        let shared = Arc::clone(&shared);
        let target = url.to_string();
        std::thread::Builder::new()
            .name("ghoststream-stream".into())
            .spawn(move || send_loop(&shared, &target, protocol, params, options, first))
            .map_err(|e| SinkError::Connect {
                url: url.to_string(),
                reason: format!("cannot start the sending thread: {e}"),
            })?
    };
    Ok(LiveSink {
        shared,
        thread: Some(thread),
        url: url.to_string(),
        buffer: options.buffer,
    })
}

fn connect(
    url: &str,
    protocol: LiveProtocol,
    params: &TrackParams,
    options: LiveOptions,
) -> Result<MuxedTrack, SinkError> {
    let muxer = Muxer::create(
        url,
        protocol.muxer(),
        &protocol.io_options(options.connect_timeout),
    )
    .map_err(|e| SinkError::Connect {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    Ok(MuxedTrack::new(muxer, protocol.layout(), params.clone()))
}

impl LiveSink {
    /// The URL being sent to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Queues a packet for the server; never waits on the network.
    pub fn write(&mut self, packet: &Packet) {
        let mut q = self.shared.lock();
        q.packets.push_back(packet.clone());
        trim(&mut q, self.buffer);
        drop(q);
        self.shared.wake.notify_one();
    }

    /// What the stream has done so far.
    pub fn stats(&self) -> LiveStats {
        let q = self.shared.lock();
        let mut stats = q.stats.clone();
        stats.queued = q.packets.len();
        stats
    }

    /// Sends what is queued (waiting up to `drain` for it to leave), closes the connection and
    /// says what was done.
    pub fn finish(mut self, drain: Duration) -> LiveStats {
        let deadline = Instant::now() + drain;
        {
            let mut q = self.shared.lock();
            while !q.packets.is_empty() && q.stats.connected && Instant::now() < deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                q = self
                    .shared
                    .wake
                    .wait_timeout(q, left.min(Duration::from_millis(50)))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            let unsent = q.packets.len() as u64;
            q.stats.dropped += unsent;
            q.packets.clear();
            q.closing = true;
        }
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.stats()
    }
}

impl Drop for LiveSink {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Drops the oldest GOPs while the queue holds more than `buffer` of video.
fn trim(q: &mut Queue, buffer: Duration) {
    let span = |q: &Queue| match (q.packets.front(), q.packets.back()) {
        (Some(a), Some(b)) => b.pts.since(a.pts).as_nanos(),
        _ => 0,
    };
    while span(q) > i64::try_from(buffer.as_nanos()).unwrap_or(i64::MAX) {
        // The oldest packet and everything up to the next key frame.
        q.packets.pop_front();
        q.stats.dropped += 1;
        while q.packets.front().is_some_and(|p| !p.keyframe) {
            q.packets.pop_front();
            q.stats.dropped += 1;
        }
    }
}

/// Drops packets ahead of the newest key frame queued: a new connection starts at the live
/// edge (what was queued before it would reach viewers late, and bursts it onto the link).
fn skip_to_keyframe(q: &mut Queue) {
    let newest = q
        .packets
        .iter()
        .rposition(|p| p.keyframe)
        .unwrap_or(q.packets.len());
    q.packets.drain(..newest);
    q.stats.dropped += newest as u64;
}

fn send_loop(
    shared: &Shared,
    url: &str,
    protocol: LiveProtocol,
    params: TrackParams,
    options: LiveOptions,
    first: MuxedTrack,
) {
    let mut stream = Some(first);
    let mut retry = Duration::from_millis(250);
    let mut next_attempt = Instant::now();
    loop {
        let packet = {
            let mut q = shared.lock();
            loop {
                if q.closing {
                    break None;
                }
                if stream.is_some() && !q.packets.is_empty() {
                    break q.packets.pop_front();
                }
                if stream.is_none() && Instant::now() >= next_attempt {
                    break None;
                }
                let wait = if stream.is_none() {
                    next_attempt.saturating_duration_since(Instant::now())
                } else {
                    Duration::from_millis(200)
                };
                q = shared
                    .wake
                    .wait_timeout(q, wait)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        };
        if shared.lock().closing {
            if let Some(mut s) = stream.take() {
                let _ = s.finish();
            }
            return;
        }
        let Some(packet) = packet else {
            // Time to connect again.
            match connect(url, protocol, &params, options) {
                Ok(s) => {
                    tracing::info!(url, "stream reconnected");
                    stream = Some(s);
                    retry = Duration::from_millis(250);
                    let mut q = shared.lock();
                    q.stats.connected = true;
                    q.stats.connections += 1;
                    skip_to_keyframe(&mut q);
                }
                Err(e) => {
                    shared.lock().stats.last_error = Some(e.to_string());
                    next_attempt = Instant::now() + retry;
                    retry = (retry * 2).min(Duration::from_secs(4));
                }
            }
            continue;
        };
        let Some(s) = stream.as_mut() else { continue };
        match s.write(&packet) {
            Ok(sent) => {
                let mut q = shared.lock();
                if sent {
                    q.stats.sent += 1;
                } else {
                    q.stats.dropped += 1;
                }
                drop(q);
                shared.wake.notify_all();
            }
            Err(failure) => {
                let reason = match failure {
                    MuxFailure::Io(code) => crate::ffmpeg::error_string(code),
                    MuxFailure::Header(r) => r.to_string(),
                    MuxFailure::Malformed(e) => e.to_string(),
                };
                tracing::warn!(url, reason, "stream write failed; reconnecting");
                stream = None;
                let mut q = shared.lock();
                q.stats.connected = false;
                q.stats.dropped += 1;
                q.stats.last_error = Some(reason);
                next_attempt = Instant::now() + retry;
                drop(q);
                shared.wake.notify_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(n: u64, keyframe: bool) -> Packet {
        let data = bytes::Bytes::from_static(&[0, 0, 0, 1, 0x65]);
        crate::packet::test_packet(n, keyframe, data, 100_000_000)
    }

    #[test]
    fn the_queue_keeps_its_bound_in_whole_gops() {
        let mut q = Queue::default();
        // 10 fps, a key frame every 5 packets, a 1 s bound.
        for n in 0..100 {
            q.packets.push_back(packet(n, n % 5 == 0));
            trim(&mut q, Duration::from_secs(1));
            let span = q.packets.back().unwrap().pts.since(q.packets[0].pts);
            assert!(span.as_nanos() <= 1_000_000_000);
            assert!(q.packets[0].keyframe, "the queue starts on a key frame");
        }
        assert_eq!(q.stats.dropped + q.packets.len() as u64, 100);
        let mut q = Queue::default();
        for n in 0..12 {
            q.packets.push_back(packet(n, n % 5 == 1));
        }
        skip_to_keyframe(&mut q);
        assert_eq!(q.packets[0].frame_number, 11);
        assert_eq!((q.packets.len(), q.stats.dropped), (1, 11));
    }

    #[test]
    fn urls_and_codecs_are_checked_before_connecting() {
        assert_eq!(LiveProtocol::of("RTMP://h/app/k"), Some(LiveProtocol::Rtmp));
        assert_eq!(LiveProtocol::of("srt://h:9000"), Some(LiveProtocol::Srt));
        assert_eq!(LiveProtocol::of("udp://h:9000"), None);
        let config = SessionConfig::new(Codec::Hevc, 64, 64, crate::time::Rational::new(30, 1));
        let e = open_live("rtmp://127.0.0.1/live/x", &config, LiveOptions::default()).unwrap_err();
        assert!(e.to_string().contains("use srt:// for HEVC"), "{e}");
        let e = open_live("http://example/x", &config, LiveOptions::default()).unwrap_err();
        assert!(e.to_string().contains("not a stream URL"), "{e}");
    }
}
