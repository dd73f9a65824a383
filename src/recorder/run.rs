//! The recording's thread: opens the source, the outputs and the session, then takes frames,
//! encodes them and hands what comes out to the outputs' thread until the input ends, the
//! limit is reached or a stop is asked for; then flushes, finishes and sums up.

use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::outputs::{frames_to_duration, Finished, Outputs, ToOutputs};
use super::{
    Command, Limit, OutputSpec, RateOptions, RecorderError, RecorderEvent, RecorderOptions,
    RecorderSummary, Shared, Started,
};
use crate::codec::Codec;
use crate::config::{
    BackendChoice, BackendKind, BitDepth, ConfigError, Preset, RateControl, RateControlMode,
    SessionConfig,
};
use crate::config::{GpuChoice, GpuOptions};
use crate::control::ControlServer;
use crate::format::PixelFormat;
use crate::gpu::GpuContext;
use crate::report::one_line;
use crate::session::Session;
use crate::session::SessionError;
use crate::source::{SourceInfo, SourceSpec};
use crate::time::Rational;

/// How far behind real time a live encode may run before it is told.
const BEHIND_WARNING: Duration = Duration::from_millis(500);

/// How often falling behind is told again while it lasts.
const BEHIND_REPEAT: Duration = Duration::from_secs(5);

/// What the recording's thread is given.
pub(super) struct Job {
    pub options: RecorderOptions,
    pub control: Option<ControlServer>,
    pub shared: Arc<Shared>,
    pub commands: mpsc::Receiver<Command>,
    pub to_outputs: mpsc::Sender<ToOutputs>,
    pub from_controls: mpsc::Receiver<ToOutputs>,
    pub events: mpsc::Sender<RecorderEvent>,
    /// For `SourceSpec::Host`: what the frames are, and where they come.
    pub host: Option<(SourceInfo, mpsc::Receiver<crate::frame::Frame>)>,
}

/// Runs a recording to its end; the last event is `Finished`.
pub(super) fn record(job: Job) -> Result<RecorderSummary, RecorderError> {
    let events = job.events.clone();
    let outcome = record_inner(job);
    let finished = match &outcome {
        Ok(summary) => Ok(Box::new(summary.clone())),
        Err(e) => Err(one_line(e)),
    };
    let _ = events.send(RecorderEvent::Finished(finished));
    outcome
}

fn record_inner(job: Job) -> Result<RecorderSummary, RecorderError> {
    let Job {
        mut options,
        control,
        shared,
        commands,
        to_outputs,
        from_controls,
        events,
        host,
    } = job;
    let send = |e: RecorderEvent| {
        let _ = events.send(e);
    };
    if options.source == SourceSpec::TestPattern
        && options.source_options.format.is_none()
        && options.session.bit_depth == BitDepth::Ten
    {
        options.source_options.format = Some(PixelFormat::I420P10);
    }
    // A PipeWire or portal capture reads its frames on the session's device when the GPU is
    // required, when `auto` finds a real GPU that imports DMA-BUF, or when the host gave its
    // own device: the producer is asked for DMA-BUF buffers that device imports, and no frame
    // is copied by the CPU before the encoder.
    let capture_gpu = match (&options.gpu_context, &options.source) {
        (Some(ctx), _) => Some(Arc::clone(ctx)),
        (None, SourceSpec::PipeWire { .. } | SourceSpec::Portal { .. } | SourceSpec::Screen)
            if host.is_none() =>
        {
            match &options.session.gpu {
                GpuChoice::Require(gpu) => Some(GpuContext::new(gpu).map_err(SessionError::from)?),
                GpuChoice::Auto => GpuContext::new_skipping_cpu_devices(&GpuOptions::default())
                    .ok()
                    .filter(|ctx| {
                        !crate::gpu::importable_modifiers(ctx, PixelFormat::Bgra8).is_empty()
                    }),
                GpuChoice::Off => None,
            }
        }
        _ => None,
    };
    let opened = match host {
        Some((info, frames)) => crate::source::OpenedSource {
            source: Box::new(super::feed::HostSource {
                info,
                frames,
                shared: Arc::clone(&shared),
            }),
            description: "frames pushed by the host".into(),
        },
        None => crate::source::spec::open_on(
            &options.source,
            &options.source_options,
            capture_gpu.as_ref(),
            &mut |m| send(RecorderEvent::Notice(m)),
        )?,
    };
    let mut source = opened.source;
    let info = source.info();
    let config = build_config(&options, info)?;
    let limit = frame_limit(options.limit, info.frame_rate)?;
    let mut held = Vec::new();
    let outputs = Outputs::open(&options.outputs, &config, control, &mut |e| held.push(e))?;
    // From here until the first packet, a failure gives the outputs up: staged files are
    // deleted and their paths keep what they had.
    let session = match &capture_gpu {
        Some(ctx) => Session::open_on(config.clone(), Arc::clone(ctx)),
        None => Session::open(config.clone()),
    };
    let mut session = match session {
        Ok(s) => s,
        Err(e) => {
            outputs.abandon();
            return Err(e.into());
        }
    };
    let report = session.backend_report();
    let started = Started {
        source: opened.description,
        encoder: report.description.clone(),
        processing: session.processing_description().to_string(),
        config: config.clone(),
        passed_over: report.passed_over.clone(),
    };
    send(RecorderEvent::Started(Box::new(started.clone())));
    for e in held {
        send(e);
    }
    let total = limit.or_else(|| source.remaining());
    shared.with_status(|s| {
        s.started = true;
        s.total = total;
    });

    let outputs_thread = {
        let shared = Arc::clone(&shared);
        let events = events.clone();
        std::thread::Builder::new()
            .name("gs-outputs".into())
            .spawn(move || {
                super::outputs::serve(outputs, from_controls, shared, move |e| {
                    let _ = events.send(e);
                })
            })
            .map_err(|source| RecorderError::Thread {
                what: "outputs",
                source,
            })?
    };

    let live = options.source.is_capture() || options.source_options.realtime;
    let rate = info.frame_rate;
    let mut submitted = 0u64;
    let mut first_frame: Option<Instant> = None;
    let mut told_behind: Option<Instant> = None;
    let mut source_lost = None;
    let forward = |out| {
        let _ = to_outputs.send(ToOutputs::Output(out));
    };
    let run = (|| -> Result<(), RecorderError> {
        while limit.is_none_or(|l| submitted < l) && !shared.stop.load(Ordering::Relaxed) {
            for command in commands.try_iter() {
                obey(command, &mut session);
            }
            let frame = match source.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    send(RecorderEvent::SourceLost {
                        message: one_line(&e),
                    });
                    source_lost = Some(e);
                    break;
                }
            };
            let first = *first_frame.get_or_insert_with(Instant::now);
            session.submit(frame)?;
            submitted += 1;
            while let Some(out) = session.try_receive()? {
                forward(out);
            }
            let elapsed = first.elapsed();
            let behind = if live {
                elapsed.saturating_sub(frames_to_duration(submitted - 1, rate))
            } else {
                Duration::ZERO
            };
            if behind > BEHIND_WARNING && told_behind.is_none_or(|t| t.elapsed() > BEHIND_REPEAT) {
                send(RecorderEvent::FallingBehind { behind });
                told_behind = Some(Instant::now());
            }
            let pacing = source.pacing();
            shared.with_status(|s| {
                s.submitted = submitted;
                s.elapsed = elapsed;
                s.behind = behind;
                s.pacing = pacing;
            });
        }
        for out in session.close()? {
            forward(out);
        }
        Ok(())
    })();
    // Controls asked for from now on are told the recording has ended.
    drop(commands);
    let _ = to_outputs.send(ToOutputs::End);
    let finished = outputs_thread.join().unwrap_or_else(|_| {
        Err(RecorderError::Thread {
            what: "outputs",
            source: std::io::Error::other("the outputs thread panicked"),
        })
    });
    run?;
    let finished: Finished = finished?;
    if finished.produced == 0 {
        let why = match &source_lost {
            Some(e) => format!("the input failed before its first frame: {}", one_line(e)),
            None => format!("input {} has no frames", options.source),
        };
        return Err(RecorderError::NoFrames { why });
    }
    let status = shared.snapshot();
    Ok(RecorderSummary {
        frames: submitted,
        packets: status.packets,
        bytes: status.bytes,
        dropped: status.dropped,
        video: status.video,
        elapsed: first_frame.map(|t| t.elapsed()).unwrap_or_default(),
        files: finished.files,
        streams: finished.streams,
        replay_saves: finished.replay_saves,
        stats: finished.stats,
        pacing: source.pacing(),
        latency: status.latency,
        source_lost: source_lost.map(|e| one_line(&e)),
        started: Some(started),
    })
}

/// Carries out a control on the session, answering the caller.
fn obey(command: Command, session: &mut Session) {
    match command {
        Command::Keyframe(reply) => {
            let _ = reply.send(session.request_keyframe().map_err(Into::into));
        }
        Command::Bitrate(bits, reply) => {
            let c = session.config();
            let rate_control = match c.rate_control {
                RateControl::Cbr { .. } => Ok(RateControl::Cbr { bitrate: bits }),
                RateControl::Vbr { target, max } => Ok(RateControl::Vbr {
                    target: bits,
                    max: scaled_peak(target, max, bits),
                }),
                other => Err(RecorderError::Config(ConfigError::Conflict {
                    field: "bitrate",
                    value: bits.to_string(),
                    reason: format!(
                        "the recording's rate control is {}, which has no bitrate",
                        other.mode().name()
                    ),
                })),
            };
            let (vbv, rate) = (c.vbv_buffer_bits, c.frame_rate);
            let outcome =
                rate_control.and_then(|rc| session.reconfigure(rc, vbv, rate).map_err(Into::into));
            let _ = reply.send(outcome);
        }
    }
}

/// The VBR peak for a new target, in the proportion the old peak had to the old target.
fn scaled_peak(target: u64, max: u64, new_target: u64) -> u64 {
    let ratio = u128::from(max) * 1000 / u128::from(target.max(1));
    u64::try_from(u128::from(new_target) * ratio / 1000).unwrap_or(u64::MAX)
}

/// The session's settings for a source that delivers `info`.
fn build_config(o: &RecorderOptions, info: SourceInfo) -> Result<SessionConfig, RecorderError> {
    let (width, height) = o.size.unwrap_or((info.width, info.height));
    let live = is_live(o);
    let hardware = live && (o.codec.is_none() || o.preset.is_none()) && hardware_av1(o);
    let codec = o.codec.unwrap_or_else(|| default_codec(o, hardware));
    let fresh = SessionConfig::new(codec, width, height, info.frame_rate);
    let mut c = o.session.clone();
    c.codec = codec;
    c.preset = o.preset.unwrap_or_else(|| {
        if live && !hardware {
            realtime_software_preset(width, height, info.frame_rate)
        } else {
            Preset::P4
        }
    });
    c.width = width;
    c.height = height;
    c.frame_rate = info.frame_rate;
    c.input_format = info.format;
    c.processing.input_size =
        ((width, height) != (info.width, info.height)).then_some((info.width, info.height));
    let streaming = o
        .outputs
        .iter()
        .any(|out| matches!(out, OutputSpec::Live { .. }));
    c.rate_control = rate_control(&o.rate, &fresh, streaming, c.vbv_buffer_bits.is_some())?;
    c.keyframe_interval = match o.keyframe_interval {
        Some(k) => k.interval(info.frame_rate)?,
        None => fresh.keyframe_interval,
    };
    c.validate()?;
    Ok(c)
}

/// The rate control from loose parts: the mode the values imply, else the job's (CBR for a
/// live stream, constant quality for files), with the size's default bitrate and the codec's
/// default quality where they are missing.
fn rate_control(
    r: &RateOptions,
    fresh: &SessionConfig,
    live: bool,
    vbv: bool,
) -> Result<RateControl, ConfigError> {
    let mode = r.mode.unwrap_or(if r.qp.is_some() {
        RateControlMode::Cqp
    } else if r.quality.is_some() {
        RateControlMode::Cq
    } else if r.max_bitrate.is_some() {
        RateControlMode::Vbr
    } else if r.bitrate.is_some() || live || vbv {
        RateControlMode::Cbr
    } else {
        RateControlMode::Cq
    });
    let default_bitrate = match fresh.rate_control {
        RateControl::Cbr { bitrate } => bitrate,
        _ => 8_000_000,
    };
    let bitrate = match mode {
        RateControlMode::Cbr | RateControlMode::Vbr => Some(r.bitrate.unwrap_or(default_bitrate)),
        _ => r.bitrate,
    };
    let quality = match mode {
        RateControlMode::Cq => Some(r.quality.unwrap_or(super::default_quality(fresh.codec))),
        _ => r.quality,
    };
    RateControl::from_parts(mode, bitrate, r.max_bitrate, r.qp, quality)
}

/// Whether frames come at the pace of the world: a capture, the real-time test pattern, or
/// frames the host pushes.
fn is_live(o: &RecorderOptions) -> bool {
    o.source.is_capture() || o.source_options.realtime || o.source == SourceSpec::Host
}

/// Whether the encoders the options allow include a hardware one that runs AV1 here.
fn hardware_av1(o: &RecorderOptions) -> bool {
    crate::encode::BACKENDS.iter().any(|f| {
        let allowed = match o.session.backend {
            BackendChoice::Auto => f.kind() != BackendKind::Software,
            BackendChoice::Only(kind) => kind == f.kind() && kind != BackendKind::Software,
        };
        allowed && f.probe(Codec::Av1).is_ok()
    })
}

/// The codec when none is given: the one an output file's extension names; else for a live
/// source one the encoder runs in real time at capture sizes (AV1 on a hardware encoder,
/// H.264 in software: SVT-AV1 runs 1080p60 at half real time on two cores, x264 at twice);
/// else AV1.
fn default_codec(o: &RecorderOptions, hardware: bool) -> Codec {
    let named = o.outputs.iter().find_map(|out| match out {
        OutputSpec::File { path, .. } => codec_of_extension(path),
        _ => None,
    });
    if let Some(codec) = named {
        return codec;
    }
    if !is_live(o) || hardware {
        Codec::Av1
    } else {
        Codec::H264
    }
}

/// The preset a live software encode keeps real time with: P3 up to 1080p60's pixel rate,
/// P1 above it.
fn realtime_software_preset(width: u32, height: u32, rate: Rational) -> Preset {
    let pixels_per_second = f64::from(width) * f64::from(height) * rate.as_f64();
    if pixels_per_second <= 1920.0 * 1080.0 * 60.0 {
        Preset::P3
    } else {
        Preset::P1
    }
}

/// The codec a bitstream file's extension names.
fn codec_of_extension(path: &std::path::Path) -> Option<Codec> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "h264" | "264" | "avc" | "avcc" => Some(Codec::H264),
        "h265" | "265" | "hevc" | "hvcc" => Some(Codec::Hevc),
        "ivf" | "obu" => Some(Codec::Av1),
        _ => None,
    }
}

/// The frame count a limit stands for at `fps`; a duration under one frame is an error.
fn frame_limit(limit: Option<Limit>, fps: Rational) -> Result<Option<u64>, RecorderError> {
    match limit {
        None => Ok(None),
        Some(Limit::Frames(n)) => Ok(Some(n)),
        Some(Limit::Duration(d)) => {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a non-negative product, saturating at u64::MAX"
            )]
            let frames = (d.as_secs_f64() * fps.as_f64()).round() as u64;
            match frames {
                0 => Err(RecorderError::LimitTooShort {
                    limit: d,
                    fps: fps.as_f64(),
                }),
                n => Ok(Some(n)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_frames() {
        let fps = Rational::new(30, 1);
        assert_eq!(
            frame_limit(Some(Limit::Duration(Duration::from_secs(5))), fps).unwrap(),
            Some(150)
        );
        assert!(matches!(
            frame_limit(Some(Limit::Duration(Duration::from_millis(1))), fps),
            Err(RecorderError::LimitTooShort { .. })
        ));
        assert_eq!(frame_limit(Some(Limit::Frames(7)), fps).unwrap(), Some(7));
    }

    #[test]
    fn live_software_presets_keep_real_time() {
        let fps60 = Rational::new(60, 1);
        assert_eq!(realtime_software_preset(1920, 1080, fps60), Preset::P3);
        assert_eq!(realtime_software_preset(2560, 1440, fps60), Preset::P1);
        assert_eq!(
            realtime_software_preset(3840, 2160, Rational::new(30, 1)),
            Preset::P1
        );
    }

    #[test]
    fn extensions_name_codecs() {
        assert_eq!(codec_of_extension("a.H264".as_ref()), Some(Codec::H264));
        assert_eq!(codec_of_extension("a.hevc".as_ref()), Some(Codec::Hevc));
        assert_eq!(codec_of_extension("a.ivf".as_ref()), Some(Codec::Av1));
        assert_eq!(codec_of_extension("a.mkv".as_ref()), None);
    }

    #[test]
    fn the_job_picks_the_rate_control() {
        let fresh = SessionConfig::new(Codec::H264, 1920, 1080, Rational::new(60, 1));
        let none = RateOptions::default();
        assert_eq!(
            rate_control(&none, &fresh, false, false).unwrap(),
            RateControl::Cq { quality: 23 },
            "a file: constant quality"
        );
        assert_eq!(
            rate_control(&none, &fresh, true, false).unwrap(),
            RateControl::Cbr { bitrate: 8_000_000 },
            "a live stream: CBR at the size's default"
        );
        let bitrate = RateOptions {
            bitrate: Some(6_000_000),
            ..RateOptions::default()
        };
        assert_eq!(
            rate_control(&bitrate, &fresh, false, false).unwrap(),
            RateControl::Cbr { bitrate: 6_000_000 },
            "a bitrate implies CBR"
        );
        let qp = RateOptions {
            qp: Some(30),
            ..RateOptions::default()
        };
        assert_eq!(
            rate_control(&qp, &fresh, true, false).unwrap(),
            RateControl::Cqp { qp: 30 }
        );
        assert_eq!(
            rate_control(&none, &fresh, false, true).unwrap(),
            RateControl::Cbr { bitrate: 8_000_000 },
            "a VBV buffer implies CBR"
        );
        let cqp_bitrate = RateOptions {
            mode: Some(RateControlMode::Cqp),
            bitrate: Some(1_000_000),
            ..RateOptions::default()
        };
        assert!(rate_control(&cqp_bitrate, &fresh, false, false).is_err());
    }

    #[test]
    fn vbr_peaks_keep_their_proportion() {
        assert_eq!(scaled_peak(4_000_000, 8_000_000, 3_000_000), 6_000_000);
        assert_eq!(scaled_peak(0, 8, 3), 24);
    }
}
