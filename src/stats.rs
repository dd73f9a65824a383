//! Per-frame statistics as JSON lines, and a run's summary (frame rate, latency median and
//! p99, drops, bitrate), in fixed memory.
//!
//! [`StatsCollector`] folds [`FrameStats`] into a summary; its latency percentiles come from a
//! log-spaced histogram (32 buckets per doubling, so within 2.2 % of the true value) rather
//! than a list of every latency, so an all-day session costs the same few kilobytes as a
//! short one. [`StatsWriter`] writes one JSON object per frame and the summary at the end,
//! each line in one `write` call, so a reader tailing the file (or a crash) sees whole lines.

use std::fmt::Write as _;
use std::io::Write;

use crate::packet::FrameStats;
use crate::time::{Span, Timestamp};

/// Latency histogram: bucket `k` holds values in [2^(k/32), 2^((k+1)/32)) nanoseconds.
const BUCKETS_PER_DOUBLING: f64 = 32.0;
/// Enough buckets for 2^40 ns (about 18 minutes).
const BUCKETS: usize = 40 * 32;

/// A fixed-size histogram of latencies for percentiles.
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    counts: Vec<u64>,
    total: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
        }
    }
}

impl LatencyHistogram {
    /// Counts one latency.
    pub fn add(&mut self, latency: Span) {
        let ns = latency.as_nanos().max(1) as f64;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "ns >= 1, so the log is >= 0; `as` saturates and the index is capped below"
        )]
        let k = (ns.log2() * BUCKETS_PER_DOUBLING) as usize;
        self.counts[k.min(BUCKETS - 1)] += 1;
        self.total += 1;
    }

    /// Latencies counted.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// True before the first latency.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The `q` quantile (0.5 for the median, 0.99 for p99), `None` when empty: the geometric
    /// middle of the bucket holding it.
    pub fn quantile(&self, q: f64) -> Option<Span> {
        if self.total == 0 {
            return None;
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "q in [0, 1] times the count: a count, at most `total`"
        )]
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (k, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let middle = ((k as f64 + 0.5) / BUCKETS_PER_DOUBLING).exp2();
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "a bucket's middle is at most 2^64 ns; `as` saturates"
                )]
                return Some(Span::from_nanos(middle.round() as i64));
            }
        }
        None
    }
}

/// What a run produced, from its frames' statistics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatsSummary {
    /// Frames encoded (packets).
    pub frames: u64,
    /// Frames dropped by back-pressure.
    pub dropped: u64,
    /// Key frames among the packets.
    pub keyframes: u64,
    /// Bytes of encoded data.
    pub bytes: u64,
    /// Media time covered by the packets.
    pub media_seconds: f64,
    /// Wall time from the first submit to the last packet.
    pub wall_seconds: f64,
    /// Packets per second of wall time.
    pub fps: f64,
    /// Encoded bits per second of media time.
    pub bitrate: f64,
    /// Median latency: capture to packet where captures were timed, else submit to packet.
    pub latency_median: Option<Span>,
    /// 99th-percentile latency, as the median.
    pub latency_p99: Option<Span>,
    /// True when the latencies are capture-to-packet, false when submit-to-packet.
    pub latency_from_capture: bool,
    /// Median time of each stage between capture and packet.
    pub stages: StageMedians,
    /// Bytes the CPU copied per encoded frame between host memory and the GPU (uploads and
    /// read-backs), on average.
    pub cpu_copy_bytes_per_frame: f64,
}

/// The median time of each stage of a frame's path, over the frames that had it (`None` where
/// none did). The stages follow the frame's timestamps in [`FrameStats`]: capture, submit, GPU
/// pass start and end (where the device maps its clock), encode start, packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageMedians {
    /// Capture to `submit` (the compositor, the pacer and the caller).
    pub capture_to_submit: Option<Span>,
    /// Capture to the frame reaching this process, for captures that know when it arrived:
    /// the compositor's or producer's own time.
    pub capture_to_arrival: Option<Span>,
    /// Arrival here to `submit`: reading the frame out of the capture's buffer and pacing.
    pub arrival_to_submit: Option<Span>,
    /// `submit` to the start of the GPU pass (the session's queue, the upload).
    pub submit_to_gpu_start: Option<Span>,
    /// The GPU pass, start to end.
    pub gpu: Option<Span>,
    /// End of the GPU pass to the encoder being handed the frame (the read-back, the wait
    /// for the pass to be seen complete).
    pub gpu_end_to_encode_start: Option<Span>,
    /// `submit` to the encoder being handed the frame, for frames without GPU start/end
    /// (processed on the CPU, or a device that does not map its clock).
    pub submit_to_encode_start: Option<Span>,
    /// The encoder: handed the frame to its packet.
    pub encode: Option<Span>,
    /// Arrival here to the encoder being handed the frame, per frame: the latency GhostStream
    /// itself adds (capture-to-packet less the compositor's and the encoder's time).
    pub added: Option<Span>,
    /// 99th percentile of `added`.
    pub added_p99: Option<Span>,
}

impl StageMedians {
    /// The stages as (JSON key, median) pairs, in path order.
    pub fn named(&self) -> [(&'static str, Option<Span>); 9] {
        [
            ("capture_to_submit", self.capture_to_submit),
            ("capture_to_arrival", self.capture_to_arrival),
            ("arrival_to_submit", self.arrival_to_submit),
            ("submit_to_gpu_start", self.submit_to_gpu_start),
            ("gpu", self.gpu),
            ("gpu_end_to_encode_start", self.gpu_end_to_encode_start),
            ("submit_to_encode_start", self.submit_to_encode_start),
            ("encode", self.encode),
            ("added", self.added),
        ]
    }
}

/// A histogram for each stage of [`StageMedians`].
#[derive(Clone, Debug, Default)]
struct StageHistograms {
    capture_to_submit: LatencyHistogram,
    capture_to_arrival: LatencyHistogram,
    arrival_to_submit: LatencyHistogram,
    added: LatencyHistogram,
    submit_to_gpu_start: LatencyHistogram,
    gpu: LatencyHistogram,
    gpu_end_to_encode_start: LatencyHistogram,
    submit_to_encode_start: LatencyHistogram,
    encode: LatencyHistogram,
}

impl StageHistograms {
    /// Counts the stages of an encoded frame. A stage whose end reads before its start (the
    /// GPU clock's calibration is within microseconds, not exact) counts as zero.
    fn add(&mut self, s: &FrameStats) {
        let span =
            |from: Timestamp, to: Timestamp| Span::from_nanos(to.since(from).as_nanos().max(0));
        if let Some(capture) = s.capture_time {
            self.capture_to_submit.add(span(capture, s.submit_time));
            if let Some(arrival) = s.arrival_time {
                self.capture_to_arrival.add(span(capture, arrival));
                self.arrival_to_submit.add(span(arrival, s.submit_time));
                if let Some(encode) = s.encode_start_time {
                    self.added.add(span(arrival, encode));
                }
            }
        }
        match (s.gpu_start, s.gpu_end, s.encode_start_time) {
            (Some(start), Some(end), Some(encode)) => {
                self.submit_to_gpu_start.add(span(s.submit_time, start));
                self.gpu.add(span(start, end));
                self.gpu_end_to_encode_start.add(span(end, encode));
            }
            (_, _, Some(encode)) => {
                if let Some(gpu) = s.gpu_time {
                    self.gpu.add(gpu);
                }
                self.submit_to_encode_start.add(span(s.submit_time, encode));
            }
            _ => {}
        }
        if let (Some(encode), Some(ready)) = (s.encode_start_time, s.packet_ready_time) {
            self.encode.add(span(encode, ready));
        }
    }

    fn medians(&self) -> StageMedians {
        StageMedians {
            capture_to_submit: self.capture_to_submit.quantile(0.5),
            capture_to_arrival: self.capture_to_arrival.quantile(0.5),
            arrival_to_submit: self.arrival_to_submit.quantile(0.5),
            added: self.added.quantile(0.5),
            added_p99: self.added.quantile(0.99),
            submit_to_gpu_start: self.submit_to_gpu_start.quantile(0.5),
            gpu: self.gpu.quantile(0.5),
            gpu_end_to_encode_start: self.gpu_end_to_encode_start.quantile(0.5),
            submit_to_encode_start: self.submit_to_encode_start.quantile(0.5),
            encode: self.encode.quantile(0.5),
        }
    }
}

/// Folds frame statistics into a [`StatsSummary`].
#[derive(Clone, Debug, Default)]
pub struct StatsCollector {
    frames: u64,
    dropped: u64,
    keyframes: u64,
    bytes: u64,
    media: i64,
    first_submit: Option<Timestamp>,
    last_ready: Option<Timestamp>,
    from_capture: LatencyHistogram,
    from_submit: LatencyHistogram,
    stages: StageHistograms,
    cpu_copy_bytes: u64,
}

impl StatsCollector {
    /// Counts one frame: a packet of `bytes` (a key frame or not), or a dropped frame.
    pub fn record(&mut self, stats: &FrameStats, bytes: usize, keyframe: bool) {
        self.first_submit = Some(match self.first_submit {
            Some(t) if t <= stats.submit_time => t,
            _ => stats.submit_time,
        });
        if stats.dropped {
            self.dropped += 1;
            return;
        }
        self.frames += 1;
        self.keyframes += u64::from(keyframe);
        self.bytes += bytes as u64;
        self.media = self.media.saturating_add(stats.duration.as_nanos());
        if let Some(ready) = stats.packet_ready_time {
            self.last_ready = Some(self.last_ready.map_or(ready, |t| t.max(ready)));
        }
        if let Some(l) = stats.capture_to_packet_latency() {
            self.from_capture.add(l);
        }
        if let Some(l) = stats.encode_latency() {
            self.from_submit.add(l);
        }
        self.stages.add(stats);
        self.cpu_copy_bytes = self.cpu_copy_bytes.saturating_add(stats.cpu_copy_bytes);
    }

    /// The summary so far.
    pub fn summary(&self) -> StatsSummary {
        let wall = match (self.first_submit, self.last_ready) {
            (Some(a), Some(b)) => b.since(a).as_nanos().max(0) as f64 / 1e9,
            _ => 0.0,
        };
        let media = self.media as f64 / 1e9;
        let from_capture = !self.from_capture.is_empty();
        let latencies = if from_capture {
            &self.from_capture
        } else {
            &self.from_submit
        };
        StatsSummary {
            frames: self.frames,
            dropped: self.dropped,
            keyframes: self.keyframes,
            bytes: self.bytes,
            media_seconds: media,
            wall_seconds: wall,
            fps: if wall > 0.0 {
                self.frames as f64 / wall
            } else {
                0.0
            },
            bitrate: if media > 0.0 {
                self.bytes as f64 * 8.0 / media
            } else {
                0.0
            },
            latency_median: latencies.quantile(0.5),
            latency_p99: latencies.quantile(0.99),
            latency_from_capture: from_capture,
            stages: self.stages.medians(),
            cpu_copy_bytes_per_frame: if self.frames > 0 {
                self.cpu_copy_bytes as f64 / self.frames as f64
            } else {
                0.0
            },
        }
    }
}

/// Writes per-frame JSON lines and, at the end, the summary line.
#[derive(Debug)]
pub struct StatsWriter<W: Write> {
    out: W,
    line: String,
    collector: StatsCollector,
}

impl<W: Write> StatsWriter<W> {
    /// A writer over `out` (a file opened for writing; unbuffered is right, as each line is
    /// written in one call).
    pub fn new(out: W) -> Self {
        Self {
            out,
            line: String::with_capacity(320),
            collector: StatsCollector::default(),
        }
    }

    /// Writes one frame's line and counts it.
    pub fn write_frame(
        &mut self,
        stats: &FrameStats,
        bytes: usize,
        keyframe: bool,
    ) -> std::io::Result<()> {
        self.collector.record(stats, bytes, keyframe);
        self.line.clear();
        frame_json(&mut self.line, stats, bytes, keyframe);
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())
    }

    /// What has been counted so far.
    pub fn collector(&self) -> &StatsCollector {
        &self.collector
    }

    /// Writes the summary line, flushes, and returns the summary.
    pub fn finish(mut self) -> std::io::Result<StatsSummary> {
        let summary = self.collector.summary();
        self.line.clear();
        summary_json(&mut self.line, &summary);
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())?;
        self.out.flush()?;
        Ok(summary)
    }
}

fn time_field(out: &mut String, key: &str, t: Option<Timestamp>) {
    match t {
        Some(t) => write!(out, ",\"{key}\":{}", t.as_nanos()),
        None => write!(out, ",\"{key}\":null"),
    }
    .expect("writing to a String");
}

/// One frame as a JSON object (no newline). Times are `CLOCK_MONOTONIC` nanoseconds.
pub fn frame_json(out: &mut String, s: &FrameStats, bytes: usize, keyframe: bool) {
    let _ = write!(
        out,
        "{{\"frame\":{},\"pts_ns\":{},\"duration_ns\":{}",
        s.frame_number,
        s.pts.as_nanos(),
        s.duration.as_nanos()
    );
    time_field(out, "capture_ns", s.capture_time);
    time_field(out, "arrival_ns", s.arrival_time);
    time_field(out, "submit_ns", Some(s.submit_time));
    time_field(out, "encode_start_ns", s.encode_start_time);
    time_field(out, "packet_ready_ns", s.packet_ready_time);
    match s.gpu_time {
        Some(g) => write!(out, ",\"gpu_ns\":{}", g.as_nanos()),
        None => write!(out, ",\"gpu_ns\":null"),
    }
    .expect("writing to a String");
    time_field(out, "gpu_start_ns", s.gpu_start);
    time_field(out, "gpu_end_ns", s.gpu_end);
    match s.encode_gpu_time {
        Some(g) => write!(out, ",\"encode_gpu_ns\":{}", g.as_nanos()),
        None => write!(out, ",\"encode_gpu_ns\":null"),
    }
    .expect("writing to a String");
    time_field(out, "encode_gpu_start_ns", s.encode_gpu_start);
    time_field(out, "encode_gpu_end_ns", s.encode_gpu_end);
    let _ = write!(
        out,
        ",\"cpu_copy_bytes\":{},\"bytes\":{bytes},\"keyframe\":{keyframe},\"dropped\":{}}}",
        s.cpu_copy_bytes, s.dropped
    );
}

/// The summary as `{"summary":{...}}` (no newline).
pub fn summary_json(out: &mut String, s: &StatsSummary) {
    let ms = |l: Option<Span>| match l {
        Some(l) => format!("{:.3}", l.as_nanos() as f64 / 1e6),
        None => "null".into(),
    };
    let _ = write!(
        out,
        "{{\"summary\":{{\"frames\":{},\"dropped\":{},\"keyframes\":{},\"bytes\":{},\"media_seconds\":{:.6},\"wall_seconds\":{:.6},\"fps\":{:.3},\"bitrate_bps\":{:.0},\"latency\":\"{}\",\"latency_median_ms\":{},\"latency_p99_ms\":{}",
        s.frames,
        s.dropped,
        s.keyframes,
        s.bytes,
        s.media_seconds,
        s.wall_seconds,
        s.fps,
        s.bitrate,
        if s.latency_from_capture { "capture_to_packet" } else { "submit_to_packet" },
        ms(s.latency_median),
        ms(s.latency_p99),
    );
    out.push_str(",\"stage_median_ms\":{");
    for (i, (key, median)) in s.stages.named().into_iter().enumerate() {
        let _ = write!(
            out,
            "{}\"{key}\":{}",
            if i == 0 { "" } else { "," },
            ms(median)
        );
    }
    let _ = write!(
        out,
        "}},\"added_p99_ms\":{},\"cpu_copy_bytes_per_frame\":{:.0}}}}}",
        ms(s.stages.added_p99),
        s.cpu_copy_bytes_per_frame
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u64, submit_ms: i64, ready_ms: i64, dropped: bool) -> FrameStats {
        FrameStats {
            frame_number: n,
            pts: Timestamp::from_nanos(i64::try_from(n).unwrap() * 33_333_333),
            duration: Span::from_nanos(33_333_333),
            capture_time: None,
            arrival_time: None,
            submit_time: Timestamp::from_nanos(submit_ms * 1_000_000),
            encode_start_time: Some(Timestamp::from_nanos(submit_ms * 1_000_000 + 100)),
            packet_ready_time: (!dropped).then(|| Timestamp::from_nanos(ready_ms * 1_000_000)),
            gpu_time: None,
            gpu_start: None,
            gpu_end: None,
            encode_gpu_time: None,
            encode_gpu_start: None,
            encode_gpu_end: None,
            cpu_copy_bytes: 0,
            dropped,
        }
    }

    #[test]
    fn the_histogram_quantiles_are_within_its_bucket_width() {
        let mut h = LatencyHistogram::default();
        // 1..=1000 ms: the true median is 500 ms, p99 990 ms.
        for ms in 1..=1000 {
            h.add(Span::from_nanos(ms * 1_000_000));
        }
        let within = |got: Span, want: f64| {
            let got = got.as_nanos() as f64 / 1e6;
            assert!(
                (got - want).abs() / want < 0.022,
                "{got} ms against {want} ms"
            );
        };
        within(h.quantile(0.5).unwrap(), 500.0);
        within(h.quantile(0.99).unwrap(), 990.0);
        assert_eq!(LatencyHistogram::default().quantile(0.5), None);
    }

    #[test]
    fn lines_and_the_summary_are_json_with_every_field() {
        let mut w = StatsWriter::new(Vec::new());
        w.write_frame(&frame(0, 0, 10, false), 1000, true).unwrap();
        w.write_frame(&frame(1, 33, 43, false), 500, false).unwrap();
        w.write_frame(&frame(2, 66, 0, true), 0, false).unwrap();
        let out = std::mem::take(&mut w.out);
        let summary = w.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0],
            "{\"frame\":0,\"pts_ns\":0,\"duration_ns\":33333333,\"capture_ns\":null,\"arrival_ns\":null,\"submit_ns\":0,\"encode_start_ns\":100,\"packet_ready_ns\":10000000,\"gpu_ns\":null,\"gpu_start_ns\":null,\"gpu_end_ns\":null,\"encode_gpu_ns\":null,\"encode_gpu_start_ns\":null,\"encode_gpu_end_ns\":null,\"cpu_copy_bytes\":0,\"bytes\":1000,\"keyframe\":true,\"dropped\":false}"
        );
        assert!(lines[2].ends_with("\"packet_ready_ns\":null,\"gpu_ns\":null,\"gpu_start_ns\":null,\"gpu_end_ns\":null,\"encode_gpu_ns\":null,\"encode_gpu_start_ns\":null,\"encode_gpu_end_ns\":null,\"cpu_copy_bytes\":0,\"bytes\":0,\"keyframe\":false,\"dropped\":true}"));
        assert_eq!(
            (
                summary.frames,
                summary.dropped,
                summary.keyframes,
                summary.bytes
            ),
            (2, 1, 1, 1500)
        );
        assert!((summary.wall_seconds - 0.043).abs() < 1e-9);
        // 1500 bytes over two frames of 1/30 s.
        assert!((summary.bitrate - 180_000.0).abs() < 1.0);
        assert!(!summary.latency_from_capture);
        let median = summary.latency_median.unwrap().as_nanos() as f64 / 1e6;
        assert!((median - 10.0).abs() < 0.25, "{median}");
        let mut line = String::new();
        summary_json(&mut line, &summary);
        assert!(
            line.starts_with(
                "{\"summary\":{\"frames\":2,\"dropped\":1,\"keyframes\":1,\"bytes\":1500,"
            ),
            "{line}"
        );
        assert!(line.contains("\"latency\":\"submit_to_packet\""), "{line}");
        // CPU frames: no GPU stages; submit to encode start is 100 ns, the encoder 10 ms (10.084: the middle of its histogram bucket).
        assert!(
            line.ends_with(",\"stage_median_ms\":{\"capture_to_submit\":null,\"capture_to_arrival\":null,\"arrival_to_submit\":null,\"submit_to_gpu_start\":null,\"gpu\":null,\"gpu_end_to_encode_start\":null,\"submit_to_encode_start\":0.000,\"encode\":10.084,\"added\":null},\"added_p99_ms\":null,\"cpu_copy_bytes_per_frame\":0}}"),
            "{line}"
        );
    }

    #[test]
    fn the_summary_breaks_the_latency_down_by_stage() {
        let ms = |v: f64| {
            #[expect(clippy::cast_possible_truncation, reason = "test values in ms")]
            let ns = (v * 1e6) as i64;
            Timestamp::from_nanos(ns)
        };
        let mut c = StatsCollector::default();
        for n in 0..3u32 {
            let base = f64::from(n) * 16.0;
            c.record(
                &FrameStats {
                    frame_number: u64::from(n),
                    capture_time: Some(ms(base)),
                    arrival_time: Some(ms(base + 0.5)),
                    submit_time: ms(base + 2.0),
                    gpu_start: Some(ms(base + 3.0)),
                    gpu_end: Some(ms(base + 4.0)),
                    gpu_time: Some(Span::from_nanos(1_000_000)),
                    encode_start_time: Some(ms(base + 8.0)),
                    packet_ready_time: Some(ms(base + 16.0)),
                    cpu_copy_bytes: 1000 + u64::from(n),
                    ..FrameStats::default()
                },
                100,
                n == 0,
            );
        }
        let s = c.summary();
        let within = |got: Option<Span>, want_ms: f64| {
            let got = got.expect("a median").as_nanos() as f64 / 1e6;
            assert!(
                (got - want_ms).abs() / want_ms < 0.022,
                "{got} ms against {want_ms} ms"
            );
        };
        within(s.stages.capture_to_submit, 2.0);
        within(s.stages.capture_to_arrival, 0.5);
        within(s.stages.arrival_to_submit, 1.5);
        within(s.stages.added, 7.5);
        within(s.stages.added_p99, 7.5);
        within(s.stages.submit_to_gpu_start, 1.0);
        within(s.stages.gpu, 1.0);
        within(s.stages.gpu_end_to_encode_start, 4.0);
        within(s.stages.encode, 8.0);
        assert_eq!(s.stages.submit_to_encode_start, None);
        assert!((s.cpu_copy_bytes_per_frame - 1001.0).abs() < 1e-9);
        within(s.latency_median, 16.0);
        assert!(s.latency_from_capture);
        let mut line = String::new();
        summary_json(&mut line, &s);
        assert!(line.contains(",\"submit_to_encode_start\":null,"), "{line}");
        assert!(
            line.ends_with(
                ",\"added\":7.446},\"added_p99_ms\":7.446,\"cpu_copy_bytes_per_frame\":1001}}"
            ),
            "{line}"
        );
    }
}
