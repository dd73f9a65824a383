//! Following a running recording on the terminal: signals become controls (Ctrl+C and SIGTERM
//! stop it cleanly, SIGUSR1 saves the replay), events become lines, the status becomes a
//! progress bar (with an ETA when the length is known, the output's size, its bitrate, one
//! rate and, for a capture, what pacing did and the latency), and the summary a last line.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ghoststream::recorder::{
    Recorder, RecorderError, RecorderEvent, RecorderStatus, RecorderSummary, StreamState,
};
use ghoststream::source::PacingStats;
use ghoststream::stats::StatsSummary;
use ghoststream::Span;
use indicatif::{ProgressBar, ProgressStyle};

/// How the terminal is used.
pub struct Follow {
    /// No progress bar and no summary (events that need attention are still printed).
    pub quiet: bool,
}

/// Prints a line above the bar (or to stderr when there is none).
fn say(bar: &ProgressBar, line: &str) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// Follows `recorder` to its end; the summary, or the error.
pub fn follow(mut recorder: Recorder, how: &Follow) -> Result<RecorderSummary, Failure> {
    let stop = Arc::new(AtomicBool::new(false));
    let save = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| Failure::Setup(format!("cannot listen for signal {signal}: {e}")))?;
    }
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&save))
        .map_err(|e| Failure::Setup(format!("cannot listen for SIGUSR1: {e}")))?;
    let controls = recorder.controls();
    let bar = if how.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    };
    let mut capture = false;
    let mut stopping = false;
    loop {
        if stop.load(Ordering::Relaxed) && !stopping {
            stopping = true;
            controls.stop();
            say(&bar, "stopping: finishing the files");
        }
        if save.swap(false, Ordering::Relaxed) {
            controls.save_replay_later();
        }
        let Some(event) = recorder.next_event(Duration::from_millis(100)) else {
            show(&bar, &controls.status(), capture);
            continue;
        };
        match event {
            RecorderEvent::Notice(line) => say(&bar, &line),
            RecorderEvent::Started(s) => {
                capture = s.source.contains("wayland")
                    || s.source.contains("PipeWire")
                    || s.source.contains("portal");
                for (kind, why) in &s.passed_over {
                    tracing::info!("{kind} passed over: {why}");
                }
                tracing::info!("recording {} with {}", s.source, s.encoder);
                let status = controls.status();
                start_bar(&bar, status.total);
            }
            RecorderEvent::ReplaySaved(s) => say(
                &bar,
                &format!(
                    "replay saved: {} ({} frames, {} bytes)",
                    s.path.display(),
                    s.frames,
                    s.bytes
                ),
            ),
            RecorderEvent::ReplayFailed { message } => {
                say(&bar, &format!("replay not saved: {message}"));
            }
            RecorderEvent::Stream { url, state } => match state {
                StreamState::Connected => tracing::info!("stream {url} connected"),
                StreamState::Reconnecting { reason } => {
                    say(&bar, &format!("stream {url} lost ({reason}): reconnecting"));
                }
                StreamState::Dropped { packets } => {
                    tracing::info!("stream {url}: {packets} packets dropped");
                }
                _ => {}
            },
            RecorderEvent::FallingBehind { behind } => say(
                &bar,
                &format!(
                    "warning: the encode runs {:.1} s behind real time: frames will be dropped (try a faster --preset, a smaller --scale, or another --encoder)",
                    behind.as_secs_f64()
                ),
            ),
            RecorderEvent::SourceLost { .. } => {}
            RecorderEvent::Finished(_) => break,
            _ => {}
        }
    }
    bar.finish_and_clear();
    recorder.wait().map_err(Failure::Recorder)
}

/// Why following a recording failed.
pub enum Failure {
    /// The terminal side could not be set up.
    Setup(String),
    /// The recording failed.
    Recorder(RecorderError),
}

fn start_bar(bar: &ProgressBar, total: Option<u64>) {
    let template = match total {
        Some(n) => {
            bar.set_length(n);
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} frames · ETA {eta} · {msg}"
        }
        None => "{spinner} [{elapsed_precise}] {pos} frames · {msg}",
    };
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
}

fn show(bar: &ProgressBar, s: &RecorderStatus, capture: bool) {
    if !s.started {
        return;
    }
    bar.set_position(s.packets);
    let mut msg = format!(
        "{} · {} · {:.1} fps",
        size(s.bytes),
        bitrate(s.bytes, s.video),
        fps(s.submitted, s.elapsed)
    );
    if capture {
        if let Some(p) = s.pacing {
            msg.push_str(&format!(
                " · {} dropped · {} repeated · latency {}",
                p.dropped,
                p.repeated,
                latency(s.recent_latency)
            ));
        }
    }
    if s.dropped > 0 {
        msg.push_str(&format!(" · {} dropped by the encoder queue", s.dropped));
    }
    bar.set_message(msg);
}

/// `12.3 MB`.
fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} kB", b / 1e3)
    }
}

/// `6.02 Mbit/s` over `video` of encoded time.
fn bitrate(bytes: u64, video: Duration) -> String {
    let secs = video.as_secs_f64();
    if secs <= 0.0 {
        return "- Mbit/s".into();
    }
    format!("{:.2} Mbit/s", bytes as f64 * 8.0 / secs / 1e6)
}

fn fps(frames: u64, elapsed: Duration) -> f64 {
    frames as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// "18.2 ms median, 25.0 ms p99", or "n/a".
fn latency(l: Option<(Span, Span)>) -> String {
    match l {
        Some((median, p99)) => format!(
            "{:.1} ms median, {:.1} ms p99",
            median.0 as f64 / 1e6,
            p99.0 as f64 / 1e6
        ),
        None => "n/a".into(),
    }
}

/// The capture line of the summary.
pub fn capture_summary(pacing: PacingStats, l: Option<(Span, Span)>) -> String {
    format!(
        "{} frames at constant rate: {} captured frames dropped (to keep the rate), {} repeats of an unchanged screen{}; capture-to-packet latency {}",
        pacing.emitted,
        pacing.dropped,
        pacing.repeated,
        if pacing.refitted > 0 {
            format!(", {} frames fitted to the first size", pacing.refitted)
        } else {
            String::new()
        },
        latency(l)
    )
}

/// The latency broken down by stage, median milliseconds of each stage the frames went
/// through (the compositor's part apart where the capture knows when frames arrived), the
/// latency GhostStream itself adds, and the bytes the CPU copied to and from the GPU per
/// frame; `None` before the first packet.
pub fn stage_line(s: &StatsSummary) -> Option<String> {
    let st = &s.stages;
    let arrivals = st.capture_to_arrival.is_some();
    let stages: Vec<String> = [
        ("capture→submit", st.capture_to_submit.filter(|_| !arrivals)),
        ("compositor", st.capture_to_arrival),
        ("arrival→submit", st.arrival_to_submit),
        ("submit→GPU", st.submit_to_gpu_start),
        ("GPU pass", st.gpu),
        ("GPU→encoder", st.gpu_end_to_encode_start),
        ("submit→encoder", st.submit_to_encode_start),
        ("encoder", st.encode),
    ]
    .into_iter()
    .filter_map(|(name, median)| Some(format!("{name} {:.2}", median?.0 as f64 / 1e6)))
    .collect();
    if stages.is_empty() {
        return None;
    }
    let copied = if s.cpu_copy_bytes_per_frame > 0.0 {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a positive mean of u64 byte counts; `as` saturates"
        )]
        let bytes = s.cpu_copy_bytes_per_frame.round() as u64;
        format!("; CPU copies {} a frame", size(bytes))
    } else {
        String::new()
    };
    let added = match (st.added, st.added_p99) {
        (Some(median), Some(p99)) => format!(
            "; GhostStream adds {:.2} ms median, {:.2} ms p99",
            median.0 as f64 / 1e6,
            p99.0 as f64 / 1e6
        ),
        _ => String::new(),
    };
    Some(format!(
        "median ms by stage: {}{added}{copied}",
        stages.join(" · ")
    ))
}

/// The summary's first line: what was written, how much, how fast, with what.
pub fn summary_line(s: &RecorderSummary) -> String {
    let target = match (s.files.first(), s.streams.first()) {
        (Some(f), _) if ghoststream::output::path::is_stdout(&f.path) => {
            "wrote standard output".to_string()
        }
        (Some(f), _) => format!("wrote {}", f.path.display()),
        (None, Some((url, _))) => format!("streamed to {url}"),
        (None, None) => "encoded into the replay buffer".into(),
    };
    let Some(started) = &s.started else {
        return target;
    };
    let c = &started.config;
    format!(
        "{target}: {} frames of {}x{} {} ({}, {}), {:.1} fps, {}; processing: {}{}",
        s.packets,
        c.width,
        c.height,
        c.codec,
        size(s.bytes),
        bitrate(s.bytes, s.video),
        fps(s.frames, s.elapsed),
        started.encoder,
        started.processing,
        if s.dropped > 0 {
            format!(", {} frames dropped", s.dropped)
        } else {
            String::new()
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_people_write_them() {
        assert_eq!(size(12_345_678), "12.3 MB");
        assert_eq!(size(999), "1 kB");
        assert_eq!(bitrate(750_000, Duration::from_secs(1)), "6.00 Mbit/s");
        assert_eq!(bitrate(1, Duration::ZERO), "- Mbit/s");
        assert_eq!(
            latency(Some((Span(18_200_000), Span(25_000_000)))),
            "18.2 ms median, 25.0 ms p99"
        );
    }

    #[test]
    fn the_stage_line_names_each_stage_the_frames_went_through() {
        let mut c = ghoststream::stats::StatsCollector::default();
        assert_eq!(stage_line(&c.summary()), None);
        let t = |ms: i64| ghoststream::Timestamp::from_nanos(ms * 1_000_000);
        c.record(
            &ghoststream::FrameStats {
                capture_time: Some(t(10)),
                submit_time: t(12),
                gpu_start: Some(t(13)),
                gpu_end: Some(t(14)),
                gpu_time: Some(Span(1_000_000)),
                encode_start_time: Some(t(16)),
                packet_ready_time: Some(t(24)),
                cpu_copy_bytes: 11_404_800,
                ..Default::default()
            },
            1000,
            true,
        );
        assert_eq!(
            stage_line(&c.summary()).unwrap(),
            // Each median is the middle of its histogram bucket (within 2.2 %).
            "median ms by stage: capture→submit 1.99 · submit→GPU 0.99 · GPU pass 0.99 · GPU→encoder 1.99 · encoder 7.95; CPU copies 11.4 MB a frame"
        );
        // A capture that knows when frames arrived: the compositor's part apart, and what
        // GhostStream adds (arrival to encoder).
        let mut c = ghoststream::stats::StatsCollector::default();
        c.record(
            &ghoststream::FrameStats {
                capture_time: Some(t(10)),
                arrival_time: Some(t(13)),
                submit_time: t(14),
                encode_start_time: Some(t(15)),
                packet_ready_time: Some(t(20)),
                ..Default::default()
            },
            1000,
            true,
        );
        assert_eq!(
            stage_line(&c.summary()).unwrap(),
            "median ms by stage: compositor 3.00 · arrival→submit 0.99 · submit→encoder 0.99 · encoder 5.04; GhostStream adds 1.99 ms median, 1.99 ms p99"
        );
    }
}
