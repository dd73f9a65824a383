//! `ghoststream.Recorder` and `ghoststream.Event` with one subclass per kind of event: the
//! library's Recorder (any source to a file, a replay buffer, live streams and a stats file at
//! once) with its controls and events.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ghoststream::output::SinkSummary;
use ghoststream::recorder::{
    Limit, OutputSpec, Recorder, RecorderControls, RecorderEvent, RecorderOptions, RecorderSummary,
    StreamState, DEFAULT_REPLAY_BYTES,
};
use ghoststream::source::SourceSpec;
use ghoststream::ErrorCode;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::error::{blocking, engine, Failure};
use crate::options;

/// One thing that happened in a recording, in order. ``kind`` says which:
///
/// - ``"started"``: ``source``, ``encoder`` and ``message`` (how frames are processed);
/// - ``"notice"``: ``message``;
/// - ``"replay_saved"``: ``path``, ``frames``, ``bytes``; ``"replay_failed"``: ``message``;
/// - ``"stream_connected"``, ``"stream_reconnecting"`` (``message``: why),
///   ``"stream_dropped"`` (``packets`` dropped): ``url``;
/// - ``"falling_behind"``: ``behind`` (seconds);
/// - ``"source_lost"``: ``message``;
/// - ``"finished"``: ``ok``; ``frames``, ``packets``, ``bytes`` when ok, ``message`` when not.
///   Always the last event.
///
/// Attributes a kind does not have are ``None``. Each kind has its own subclass
/// (``StartedEvent``, ``NoticeEvent``, ``ReplaySavedEvent``, ``ReplayFailedEvent``,
/// ``StreamConnectedEvent``, ``StreamReconnectingEvent``, ``StreamDroppedEvent``,
/// ``FallingBehindEvent``, ``SourceLostEvent``, ``FinishedEvent``), so
/// ``isinstance(event, ghoststream.FinishedEvent)`` or a ``match`` on the class works as well as
/// ``event.kind == "finished"``; a kind newer than this module comes as a plain ``Event``.
#[pyclass(frozen, subclass, module = "ghoststream._native", name = "Event")]
#[derive(Default)]
pub(crate) struct PyEvent {
    /// What happened.
    #[pyo3(get)]
    kind: &'static str,
    /// A message: the notice, the reason, the error.
    #[pyo3(get)]
    message: Option<String>,
    /// The replay file saved.
    #[pyo3(get)]
    path: Option<String>,
    /// Frames (a replay saved, a finished recording).
    #[pyo3(get)]
    frames: Option<u64>,
    /// Packets (a finished recording; packets a stream dropped).
    #[pyo3(get)]
    packets: Option<u64>,
    /// Bytes (a replay saved, a finished recording).
    #[pyo3(get)]
    bytes: Option<u64>,
    /// The stream's URL.
    #[pyo3(get)]
    url: Option<String>,
    /// How far behind real time, in seconds.
    #[pyo3(get)]
    behind: Option<f64>,
    /// The source, as opened.
    #[pyo3(get)]
    source: Option<String>,
    /// The encoder chosen.
    #[pyo3(get)]
    encoder: Option<String>,
    /// Whether the recording finished without an error.
    #[pyo3(get)]
    ok: Option<bool>,
}

impl PyEvent {
    fn from_event(event: RecorderEvent) -> Self {
        let of = |kind| PyEvent {
            kind,
            ..PyEvent::default()
        };
        match event {
            RecorderEvent::Notice(message) => PyEvent {
                message: Some(message),
                ..of("notice")
            },
            RecorderEvent::Started(s) => PyEvent {
                source: Some(s.source.clone()),
                encoder: Some(s.encoder.clone()),
                message: Some(s.processing.clone()),
                ..of("started")
            },
            RecorderEvent::ReplaySaved(saved) => PyEvent {
                path: Some(saved.path.display().to_string()),
                frames: Some(saved.frames),
                bytes: Some(saved.bytes),
                ..of("replay_saved")
            },
            RecorderEvent::ReplayFailed { message } => PyEvent {
                message: Some(message),
                ..of("replay_failed")
            },
            RecorderEvent::Stream { url, state } => match state {
                StreamState::Connected => PyEvent {
                    url: Some(url),
                    ..of("stream_connected")
                },
                StreamState::Reconnecting { reason } => PyEvent {
                    url: Some(url),
                    message: Some(reason),
                    ..of("stream_reconnecting")
                },
                StreamState::Dropped { packets } => PyEvent {
                    url: Some(url),
                    packets: Some(packets),
                    ..of("stream_dropped")
                },
                other => PyEvent {
                    url: Some(url),
                    message: Some(format!("{other:?}")),
                    ..of("stream")
                },
            },
            RecorderEvent::FallingBehind { behind } => PyEvent {
                behind: Some(behind.as_secs_f64()),
                ..of("falling_behind")
            },
            RecorderEvent::SourceLost { message } => PyEvent {
                message: Some(message),
                ..of("source_lost")
            },
            RecorderEvent::Finished(Ok(summary)) => PyEvent {
                ok: Some(true),
                frames: Some(summary.frames),
                packets: Some(summary.packets),
                bytes: Some(summary.bytes),
                ..of("finished")
            },
            RecorderEvent::Finished(Err(message)) => PyEvent {
                ok: Some(false),
                message: Some(message),
                ..of("finished")
            },
            other => PyEvent {
                message: Some(format!("{other:?}")),
                ..of("other")
            },
        }
    }
}

/// One subclass of `Event` per kind: `$kind` => `$class` (the Python name), with its docstring;
/// and [`event_object`], which makes the one of an event's kind.
macro_rules! event_kinds {
    ($($rust:ident, $kind:literal => $class:literal, $doc:literal;)*) => {
        $(
            #[doc = $doc]
            #[pyclass(frozen, extends = PyEvent, module = "ghoststream._native", name = $class)]
            pub(crate) struct $rust;
        )*

        /// `event` as an object of its kind's class (`Event` itself for a kind without one).
        fn event_object(py: Python<'_>, event: PyEvent) -> PyResult<Py<PyAny>> {
            let kind = event.kind;
            let init = PyClassInitializer::from(event);
            Ok(match kind {
                $($kind => Py::new(py, init.add_subclass($rust))?.into_any(),)*
                _ => Py::new(py, init)?.into_any(),
            })
        }

        /// Adds every kind's class to the module.
        pub(crate) fn add_event_classes(m: &Bound<'_, PyModule>) -> PyResult<()> {
            m.add_class::<PyEvent>()?;
            $(m.add_class::<$rust>()?;)*
            Ok(())
        }
    };
}

event_kinds! {
    StartedEvent, "started" => "StartedEvent",
        "Frames flow (kind \"started\"): ``source`` (as opened), ``encoder`` (the one chosen) and ``message`` (how frames are processed).";
    NoticeEvent, "notice" => "NoticeEvent",
        "Something a person may need to know while the source opens (kind \"notice\"): ``message``.";
    ReplaySavedEvent, "replay_saved" => "ReplaySavedEvent",
        "A replay was saved (kind \"replay_saved\"): ``path``, ``frames``, ``bytes``.";
    ReplayFailedEvent, "replay_failed" => "ReplayFailedEvent",
        "A replay save failed (kind \"replay_failed\"): ``message`` says why.";
    StreamConnectedEvent, "stream_connected" => "StreamConnectedEvent",
        "A live stream connected, the first time or again (kind \"stream_connected\"): ``url``.";
    StreamReconnectingEvent, "stream_reconnecting" => "StreamReconnectingEvent",
        "A live stream lost its connection and is making it again (kind \"stream_reconnecting\"): ``url``, ``message`` (why it was lost).";
    StreamDroppedEvent, "stream_dropped" => "StreamDroppedEvent",
        "A live stream dropped packets, the server slow or away (kind \"stream_dropped\"): ``url``, ``packets`` (dropped since the last event).";
    FallingBehindEvent, "falling_behind" => "FallingBehindEvent",
        "A live source's encode runs behind real time, told again every few seconds while it lasts (kind \"falling_behind\"): ``behind`` (seconds).";
    SourceLostEvent, "source_lost" => "SourceLostEvent",
        "The source failed or went away; the recording finishes what it has (kind \"source_lost\"): ``message``.";
    FinishedEvent, "finished" => "FinishedEvent",
        "The recording is over, always the last event (kind \"finished\"): ``ok``; ``frames``, ``packets`` and ``bytes`` when ok, ``message`` (the error) when not.";
}

#[pymethods]
impl PyEvent {
    fn __repr__(slf: &Bound<'_, Self>) -> String {
        let class = slf
            .get_type()
            .name()
            .map_or_else(|_| "Event".into(), |n| n.to_string());
        let this = slf.get();
        let mut parts = vec![format!("kind='{}'", this.kind)];
        let mut add = |name: &str, value: Option<String>| {
            if let Some(v) = value {
                parts.push(format!("{name}={v}"));
            }
        };
        add("path", this.path.as_ref().map(|p| format!("'{p}'")));
        add("url", this.url.as_ref().map(|p| format!("'{p}'")));
        add("frames", this.frames.map(|v| v.to_string()));
        add("packets", this.packets.map(|v| v.to_string()));
        add("bytes", this.bytes.map(|v| v.to_string()));
        add("behind", this.behind.map(|v| format!("{v:.3}")));
        add("encoder", this.encoder.as_ref().map(|p| format!("'{p}'")));
        add(
            "ok",
            this.ok.map(|v| if v { "True" } else { "False" }.into()),
        );
        add("message", this.message.as_ref().map(|p| format!("{p:?}")));
        format!("{class}({})", parts.join(", "))
    }
}

/// A recording: a source to any set of outputs at once, on the library's own threads.
///
/// ``Recorder(source="testsrc", output="out.mkv", *, codec=None, replay="30s", ...)`` starts
/// at once. ``source`` is ``"testsrc"`` (the animated test pattern), ``"screen"``,
/// ``"wayland[:OUTPUT]"``, ``"pipewire[:NODE]"``, ``"portal"``, or a file path (Y4M). Outputs:
/// ``output`` (a file; the format from its extension: .mkv, .mp4, .ts, .h264, .ivf...),
/// ``replay`` (keep the last N seconds in memory for ``save_replay()``; saved into
/// ``replay_dir``, by default ``~/Videos``), ``stream`` (one or more ``srt://`` or ``rtmp://``
/// URLs) and ``stats`` (per-frame statistics as JSON lines). At least one is needed.
///
/// The controls (``save_replay``, ``request_keyframe``, ``set_bitrate``, ``stop``) may be
/// called from any thread; ``events()``/``next_event()`` give what happened, in order. As a
/// context manager, leaving the block stops the recording and waits for its files to be
/// finished. Calls that wait release the GIL.
#[pyclass(frozen, module = "ghoststream._native", name = "Recorder")]
pub(crate) struct PyRecorder {
    recorder: Mutex<Recorder>,
    controls: RecorderControls,
    /// The recording's outcome, once waited for.
    outcome: Mutex<Option<Result<RecorderSummary, (ErrorCode, String)>>>,
    /// True once the `finished` event was handed out: no event comes after it.
    finished: AtomicBool,
}

impl Drop for PyRecorder {
    /// A recording dropped while running is stopped and its files finished, as the library's
    /// Recorder does when dropped, but with the GIL released while its thread ends, so that
    /// other Python threads run meanwhile.
    fn drop(&mut self) {
        let PyRecorder {
            recorder, controls, ..
        } = self;
        let recorder = recorder.get_mut().unwrap_or_else(PoisonError::into_inner);
        // A Python object is deallocated with the GIL held: attach only names that thread.
        Python::attach(|py| {
            py.detach(|| {
                controls.stop();
                // The outcome was either kept by wait()/stop() already (then this returns at
                // once) or is not wanted any more.
                let _ = recorder.wait();
            })
        });
    }
}

/// How long one wait for an event lasts before Python's signal handlers get a turn.
const EVENT_SLICE: Duration = Duration::from_millis(100);

/// The seconds to wait for `what`, from a Python timeout (`None`: as long as it takes).
fn timeout_of(what: &str, timeout: Option<f64>) -> Result<Option<Duration>, Failure> {
    match timeout {
        None => Ok(None),
        Some(t) if t.is_finite() && t >= 0.0 => Ok(Some(Duration::from_secs_f64(t.min(1e9)))),
        Some(t) => Err(Failure::config(format!(
            "invalid {what} {t}: expected seconds, 0 or more, or None"
        ))),
    }
}

impl PyRecorder {
    fn lock(&self) -> MutexGuard<'_, Recorder> {
        self.recorder.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next event within `timeout` (`None`: until one comes or the recording is over).
    fn next(
        &self,
        py: Python<'_>,
        timeout: Option<Duration>,
    ) -> Result<Option<Py<PyAny>>, Failure> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if self.finished.load(Ordering::Acquire) {
                return Ok(None);
            }
            let slice = deadline.map_or(EVENT_SLICE, |d| {
                d.saturating_duration_since(Instant::now()).min(EVENT_SLICE)
            });
            let asked = Instant::now();
            let event = blocking(py, || Ok(self.lock().next_event(slice)))?;
            if let Some(e) = event {
                if matches!(e, RecorderEvent::Finished(_)) {
                    self.finished.store(true, Ordering::Release);
                }
                return Ok(Some(event_object(py, PyEvent::from_event(e))?));
            }
            // No event and no wait: the recording thread is gone and its events with it.
            let gone = !slice.is_zero() && asked.elapsed() < slice / 2;
            if gone || deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
            py.check_signals()?;
        }
    }

    /// Waits for the recording's thread and keeps its outcome.
    fn finish(&self, py: Python<'_>) -> Result<RecorderSummary, Failure> {
        let outcome = blocking(py, || {
            let mut kept = self.outcome.lock().unwrap_or_else(|p| p.into_inner());
            if kept.is_none() {
                let result = self.lock().wait().map_err(|e| {
                    let e = ghoststream::Error::from(e);
                    (e.code(), e.to_string())
                });
                *kept = Some(result);
            }
            Ok(kept.clone())
        })?;
        match outcome {
            Some(Ok(summary)) => Ok(summary),
            Some(Err((code, message))) => Err(Failure::new(code, message)),
            None => Err(Failure::new(
                ErrorCode::Internal,
                "the recording left no outcome",
            )),
        }
    }
}

/// One file the recording wrote, as a dict.
fn file_dict<'py>(py: Python<'py>, f: &SinkSummary) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("path", f.path.display().to_string())?;
    d.set_item("packets", f.packets)?;
    d.set_item("bytes", f.bytes)?;
    Ok(d)
}

/// A recording's summary, as a dict.
fn summary_dict<'py>(py: Python<'py>, s: &RecorderSummary) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("frames", s.frames)?;
    d.set_item("packets", s.packets)?;
    d.set_item("bytes", s.bytes)?;
    d.set_item("dropped", s.dropped)?;
    d.set_item("video", s.video.as_secs_f64())?;
    d.set_item("elapsed", s.elapsed.as_secs_f64())?;
    let files = PyList::empty(py);
    for f in &s.files {
        files.append(file_dict(py, f)?)?;
    }
    d.set_item("files", files)?;
    let streams = PyList::empty(py);
    for (url, stats) in &s.streams {
        let st = PyDict::new(py);
        st.set_item("url", url)?;
        st.set_item("sent", stats.sent)?;
        st.set_item("dropped", stats.dropped)?;
        st.set_item("connections", stats.connections)?;
        streams.append(st)?;
    }
    d.set_item("streams", streams)?;
    d.set_item("replay_saves", s.replay_saves)?;
    d.set_item("source_lost", s.source_lost.clone())?;
    d.set_item(
        "encoder",
        s.started.as_ref().map(|started| started.encoder.clone()),
    )?;
    Ok(d)
}

/// One URL or a sequence of them.
fn urls(value: &Bound<'_, PyAny>) -> Result<Vec<String>, Failure> {
    if value.is_instance_of::<PyString>() {
        return Ok(vec![value.extract()?]);
    }
    value.extract::<Vec<String>>().map_err(|_| {
        Failure::config(format!(
            "invalid stream {}: expected a URL (\"srt://host:port\") or a list of them",
            value.repr().map_or_else(|_| "?".into(), |r| r.to_string())
        ))
    })
}

#[pymethods]
impl PyRecorder {
    #[new]
    #[pyo3(signature = (source="testsrc", output=None, *, codec=None, replay=None, replay_dir=None, replay_bytes=None, stream=None, stats=None, size=None, fps=None, rc=None, bitrate=None, max_bitrate=None, qp=None, quality=None, keyint=None, preset=None, tune=None, encoder="auto", frames=None, seconds=None, realtime=None, overwrite=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        source: &str,
        output: Option<&Bound<'_, PyAny>>,
        codec: Option<&str>,
        replay: Option<&Bound<'_, PyAny>>,
        replay_dir: Option<&Bound<'_, PyAny>>,
        replay_bytes: Option<usize>,
        stream: Option<&Bound<'_, PyAny>>,
        stats: Option<&Bound<'_, PyAny>>,
        size: Option<&Bound<'_, PyAny>>,
        fps: Option<&Bound<'_, PyAny>>,
        rc: Option<&str>,
        bitrate: Option<&Bound<'_, PyAny>>,
        max_bitrate: Option<&Bound<'_, PyAny>>,
        qp: Option<&Bound<'_, PyAny>>,
        quality: Option<&Bound<'_, PyAny>>,
        keyint: Option<&Bound<'_, PyAny>>,
        preset: Option<&Bound<'_, PyAny>>,
        tune: Option<&str>,
        encoder: &str,
        frames: Option<u64>,
        seconds: Option<&Bound<'_, PyAny>>,
        realtime: Option<bool>,
        overwrite: bool,
    ) -> Result<Self, Failure> {
        let spec: SourceSpec = source.parse().map_err(engine)?;
        let mut outputs = Vec::new();
        if let Some(o) = output {
            outputs.push(OutputSpec::File {
                path: options::path("output", o)?,
                format: None,
                overwrite,
            });
        }
        if let Some(r) = replay {
            let duration = options::duration("replay", r)?;
            let dir = match replay_dir {
                Some(d) => options::path("replay_dir", d)?,
                None => ghoststream::recorder::default_replay_folder().map_err(engine)?,
            };
            outputs.push(OutputSpec::replay(
                duration,
                replay_bytes.unwrap_or(DEFAULT_REPLAY_BYTES),
                dir,
            ));
        } else if replay_dir.is_some() || replay_bytes.is_some() {
            return Err(Failure::config(
                "replay_dir and replay_bytes need replay (the seconds to keep, e.g. replay=\"30s\")",
            ));
        }
        if let Some(s) = stream {
            outputs.extend(urls(s)?.into_iter().map(OutputSpec::live));
        }
        if let Some(s) = stats {
            outputs.push(OutputSpec::Stats {
                path: options::path("stats", s)?,
                overwrite,
            });
        }
        let realtime = realtime.unwrap_or(spec == SourceSpec::TestPattern);
        let mut o = RecorderOptions::new(spec, outputs);
        o.source_options.realtime = realtime;
        if let Some(s) = size {
            o.source_options.size = Some(options::size(s)?);
        }
        if let Some(f) = fps {
            o.source_options.frame_rate = Some(options::frame_rate(f)?);
        }
        o.codec = codec.map(options::codec).transpose()?;
        let rate = options::Rate::read(rc, bitrate, max_bitrate, qp, quality)?;
        o.rate.mode = rate.mode();
        o.rate.bitrate = rate.bitrate;
        o.rate.max_bitrate = rate.max_bitrate;
        o.rate.qp = rate.qp;
        o.rate.quality = rate.quality;
        o.keyframe_interval = keyint.map(options::keyint).transpose()?;
        o.preset = preset.map(options::preset).transpose()?;
        if let Some(t) = tune {
            o.session.tuning = options::tuning(t)?;
        }
        o.session.backend = options::encoder(encoder)?;
        o.limit = match (frames, seconds) {
            (Some(_), Some(_)) => {
                return Err(Failure::config(
                    "frames and seconds both limit the recording: give one",
                ))
            }
            (Some(n), None) => Some(Limit::Frames(n)),
            (None, Some(s)) => Some(Limit::Duration(options::duration("seconds", s)?)),
            (None, None) => None,
        };
        let recorder = blocking(py, || Recorder::start(o).map_err(engine))?;
        Ok(PyRecorder {
            controls: recorder.controls(),
            recorder: Mutex::new(recorder),
            outcome: Mutex::new(None),
            finished: AtomicBool::new(false),
        })
    }

    /// save_replay(seconds=None, path=None, timeout=30.0)
    /// --
    ///
    /// Saves the replay buffer (the last ``seconds`` of it, from the key frame that covers
    /// them; all of it by default) without stopping or stalling the recording, and returns the
    /// saved file's path. ``path`` names the file (by default a new name in ``replay_dir``).
    /// Callable from any thread; waits up to ``timeout`` seconds with the GIL released.
    #[pyo3(signature = (seconds=None, path=None, timeout=30.0))]
    fn save_replay(
        &self,
        py: Python<'_>,
        seconds: Option<&Bound<'_, PyAny>>,
        path: Option<&Bound<'_, PyAny>>,
        timeout: f64,
    ) -> Result<String, Failure> {
        let last = seconds
            .map(|s| options::duration("seconds", s))
            .transpose()?;
        let path = path.map(|p| options::path("path", p)).transpose()?;
        let wait = timeout_of("timeout", Some(timeout))?.unwrap_or_default();
        let saved = blocking(py, || {
            let save = match path {
                Some(p) => self.controls.save_replay_to(p, last),
                None => self.controls.save_replay(last),
            }
            .map_err(engine)?;
            save.wait(wait).map_err(engine)
        })?;
        Ok(saved.path.display().to_string())
    }

    /// request_keyframe()
    /// --
    ///
    /// Makes the next frame encoded a keyframe. Callable from any thread.
    fn request_keyframe(&self, py: Python<'_>) -> Result<(), Failure> {
        blocking(py, || self.controls.request_keyframe().map_err(engine))
    }

    /// set_bitrate(bitrate)
    /// --
    ///
    /// Changes the bitrate of the running encode (bits per second as an int, or "6M"), where the
    /// encoder can (NVENC); others raise ``UnavailableError``. Callable from any thread.
    fn set_bitrate(&self, py: Python<'_>, bitrate: &Bound<'_, PyAny>) -> Result<(), Failure> {
        let bits = options::bitrate("bitrate", bitrate)?;
        blocking(py, || self.controls.set_bitrate(bits).map_err(engine))
    }

    /// stop(wait=True)
    /// --
    ///
    /// Stops the recording; its files are finished cleanly. With ``wait`` (the default) it
    /// waits, the GIL released, until they are, and returns the summary (a dict: frames,
    /// packets, bytes, dropped, video and elapsed seconds, files, streams, replay_saves...);
    /// a recording that failed raises its error here. Callable from any thread.
    #[pyo3(signature = (wait=true))]
    fn stop<'py>(
        &self,
        py: Python<'py>,
        wait: bool,
    ) -> Result<Option<Bound<'py, PyDict>>, Failure> {
        self.controls.stop();
        if !wait {
            return Ok(None);
        }
        self.wait(py).map(Some)
    }

    /// wait()
    /// --
    ///
    /// Waits (GIL released) until the recording ends on its own (its source ended, or a frame
    /// or time limit) or is stopped, and returns the summary as ``stop()`` does.
    fn wait<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyDict>, Failure> {
        let summary = self.finish(py)?;
        Ok(summary_dict(py, &summary)?)
    }

    /// next_event(timeout=None)
    /// --
    ///
    /// The next event, waiting up to ``timeout`` seconds (``None``: until one comes), the GIL
    /// released. ``None`` when none came in time, or after the ``finished`` event.
    #[pyo3(signature = (timeout=None))]
    fn next_event(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
    ) -> Result<Option<Py<PyAny>>, Failure> {
        let t = timeout_of("timeout", timeout)?;
        self.next(py, t)
    }

    /// events(timeout=0.0)
    /// --
    ///
    /// The events that happened since the last call, in order (a list): waits up to
    /// ``timeout`` seconds for the first one, then takes every one already there.
    #[pyo3(signature = (timeout=0.0))]
    fn events(&self, py: Python<'_>, timeout: f64) -> Result<Vec<Py<PyAny>>, Failure> {
        let t = timeout_of("timeout", Some(timeout))?;
        let mut out = Vec::new();
        if let Some(first) = self.next(py, t)? {
            out.push(first);
            while let Some(e) = self.next(py, Some(Duration::ZERO))? {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// status()
    /// --
    ///
    /// The recording now, as a dict: started, submitted, packets, bytes, dropped, video and
    /// elapsed (seconds), behind (seconds behind real time), and json (the library's status
    /// line, with the replay buffer's and streams' state).
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.controls.status();
        let d = PyDict::new(py);
        d.set_item("started", s.started)?;
        d.set_item("submitted", s.submitted)?;
        d.set_item("packets", s.packets)?;
        d.set_item("bytes", s.bytes)?;
        d.set_item("dropped", s.dropped)?;
        d.set_item("video", s.video.as_secs_f64())?;
        d.set_item("elapsed", s.elapsed.as_secs_f64())?;
        d.set_item("behind", s.behind.as_secs_f64())?;
        d.set_item("json", s.to_json())?;
        Ok(d)
    }

    /// True once stop() was called or the recording is ending.
    #[getter]
    fn stopping(&self) -> bool {
        self.controls.is_stopping()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Stops the recording and waits for its files; its error is raised unless the block
    /// already raised.
    #[pyo3(signature = (*exc))]
    fn __exit__(&self, py: Python<'_>, exc: &Bound<'_, PyTuple>) -> Result<bool, Failure> {
        let raising = exc.get_item(0).is_ok_and(|t| !t.is_none());
        self.controls.stop();
        match self.finish(py) {
            Err(e) if raising => {
                tracing::debug!(error = ?e, "stopping a recording after an exception");
                Ok(false)
            }
            Err(e) => Err(e),
            Ok(_) => Ok(false),
        }
    }
}
