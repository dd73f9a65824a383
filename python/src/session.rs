//! `ghoststream.Session` and `ghoststream.Packet`: frames in from any object with the buffer
//! protocol, packets out, optionally written to a file as they come.
//!
//! Copies: a frame is copied once, from the caller's buffer straight into the engine's pooled
//! [`CpuImage`], in C order whatever its strides, with the GIL held ([`crate::buffer::Buffer`]).
//! Taking the caller's memory without that copy (holding the buffer until the encoder consumed
//! it) is not worth it: `submit` returns while the frame waits in the encoder's queue, and the
//! common loop refills one array for every frame, so the caller would overwrite frames still
//! queued (or, for a `bytearray`, be unable to resize it). The one copy is what lets the call
//! return at once and the caller's memory stay the caller's. A packet's
//! bytes are the engine's own (`Bytes`, shared by reference count): the Packet exports them
//! through the buffer protocol without a copy, and makes a `bytes` copy only when `.data` or
//! `bytes(packet)` asks for one.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ghoststream::output::{open_file_sink, FileSink, OutputFormat, SinkSummary};
use ghoststream::{
    BufferPool, Codec, CpuImage, ErrorCode, Frame, PixelFormat, Rational, Session, SessionConfig,
    SessionError, SessionOutput, Timestamp,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyTuple, PyType};

use crate::buffer::{export_type, Buffer, Exported};
use crate::error::{blocking, engine, Failure};
use crate::options;

/// The docstring of `ghoststream.Packet` (the exporting class [`packet_type`] makes).
const PACKET_DOC: &std::ffi::CStr =
    c"One encoded frame: an access unit (H.264, HEVC) or a temporal unit (AV1), in Annex B or
OBU framing, with its timestamps and the frame's statistics.

The encoded bytes, without a copy: a Packet has the buffer protocol, so ``memoryview(packet)``,
``numpy.frombuffer(packet, numpy.uint8)`` and ``numpy.asarray(packet)`` read the engine's own
bytes (read-only), and the view keeps the packet, and so the bytes, alive. With a copy:
``bytes(packet)`` and ``packet.data`` (a ``bytes`` made on first use, then kept). ``len(packet)``
is their length.

Times are nanoseconds; the ``*_time`` attributes are on ``CLOCK_MONOTONIC``
(``time.monotonic_ns()``), ``None`` where unknown. Packets come from a Session (``receive()``,
``packets()``, ``flush()``, ``close()``); they cannot be made from Python.";

/// The fields of `ghoststream.Packet`, the class [`packet_type`] derives from it with the buffer
/// protocol added (PyO3 cannot declare `__getbuffer__` for an abi3 wheel before CPython 3.11;
/// see [`crate::buffer`]). Its instances are made by calling that class with a
/// [`PacketPayload`] ([`packet_object`]).
#[pyclass(frozen, subclass, module = "ghoststream._native", name = "_PacketBase")]
pub(crate) struct PyPacket {
    /// The engine's encoded bytes, exported without a copy; never replaced (frozen).
    bytes: Bytes,
    /// `bytes` copied into a Python `bytes`, made when first asked for.
    data: PyOnceLock<Py<PyBytes>>,
    /// The codec: "h264", "hevc" or "av1".
    #[pyo3(get)]
    codec: &'static str,
    /// Presentation time, ns (the frame's own).
    #[pyo3(get)]
    pts: i64,
    /// Decode time, ns (never after pts).
    #[pyo3(get)]
    dts: i64,
    /// Display duration, ns.
    #[pyo3(get)]
    duration: i64,
    /// True for a random access point (IDR, or an AV1 key frame with its sequence header).
    #[pyo3(get)]
    keyframe: bool,
    /// The frame's number in submission order, from 0.
    #[pyo3(get)]
    frame_number: u64,
    /// When submit() was called.
    #[pyo3(get)]
    submit_time: i64,
    /// When the encoder was handed the frame.
    #[pyo3(get)]
    encode_start_time: Option<i64>,
    /// When the packet came out of the encoder.
    #[pyo3(get)]
    packet_ready_time: Option<i64>,
    /// packet_ready_time - submit_time, ns.
    #[pyo3(get)]
    encode_latency: Option<i64>,
    /// When the frame was captured, when its source knew.
    #[pyo3(get)]
    capture_time: Option<i64>,
    /// GPU time spent processing the frame, ns, where a GPU path measured it.
    #[pyo3(get)]
    gpu_time: Option<i64>,
    /// GPU time the encoder spent on the frame, ns, where it measured it.
    #[pyo3(get)]
    encode_gpu_time: Option<i64>,
    /// Bytes the CPU copied for the frame on its way to the encoder.
    #[pyo3(get)]
    cpu_copy_bytes: u64,
}

impl Exported for PyPacket {
    fn exported(&self) -> &[u8] {
        &self.bytes
    }
}

/// A packet on its way into a new `ghoststream.Packet` object: the one argument its
/// constructor takes, taken out once.
#[pyclass(frozen, module = "ghoststream._native", name = "_PacketPayload")]
pub(crate) struct PacketPayload(Mutex<Option<PyPacket>>);

/// `ghoststream.Packet`: `_PacketBase` with the buffer protocol, made once.
static PACKET_TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The class `ghoststream.Packet`.
pub(crate) fn packet_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    PACKET_TYPE
        .get_or_try_init(py, || {
            export_type::<PyPacket>(py, c"ghoststream._native.Packet", PACKET_DOC)
        })
        .map(|t| t.bind(py))
}

/// `p` as a `ghoststream.Packet`, sharing its bytes.
fn packet_object(py: Python<'_>, p: &ghoststream::Packet) -> PyResult<Py<PyAny>> {
    let payload = Bound::new(py, PacketPayload(Mutex::new(Some(PyPacket::new(p)))))?;
    Ok(packet_type(py)?.call1((payload,))?.unbind())
}

impl PyPacket {
    /// A packet sharing `p`'s bytes (a reference count, not a copy).
    fn new(p: &ghoststream::Packet) -> Self {
        let nanos = |t: Timestamp| t.as_nanos();
        PyPacket {
            bytes: p.data.clone(),
            data: PyOnceLock::new(),
            codec: p.codec.name(),
            pts: p.pts.as_nanos(),
            dts: p.dts.as_nanos(),
            duration: p.duration.as_nanos(),
            keyframe: p.keyframe,
            frame_number: p.frame_number,
            submit_time: p.stats.submit_time.as_nanos(),
            encode_start_time: p.stats.encode_start_time.map(nanos),
            packet_ready_time: p.stats.packet_ready_time.map(nanos),
            encode_latency: p.stats.encode_latency().map(|s| s.as_nanos()),
            capture_time: p.stats.capture_time.map(nanos),
            gpu_time: p.stats.gpu_time.map(|s| s.as_nanos()),
            encode_gpu_time: p.stats.encode_gpu_time.map(|s| s.as_nanos()),
            cpu_copy_bytes: p.stats.cpu_copy_bytes,
        }
    }
}

#[pymethods]
impl PyPacket {
    /// Packets come from a Session: the constructor takes only the payload a session makes.
    #[new]
    fn new_from_payload(payload: &Bound<'_, PyAny>) -> Result<Self, Failure> {
        let taken = payload.cast::<PacketPayload>().ok().and_then(|p| {
            p.get()
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
        });
        taken.ok_or_else(|| {
            Failure::new(
                ErrorCode::State,
                "a Packet cannot be made from Python: packets come from a Session",
            )
        })
    }

    /// The encoded bytes as ``bytes`` (Annex B for H.264/HEVC, OBUs for AV1): a copy, made on
    /// first access and kept. ``memoryview(packet)`` reads them without one.
    #[getter]
    fn data(&self, py: Python<'_>) -> Py<PyBytes> {
        self.data
            .get_or_init(py, || PyBytes::new(py, &self.bytes).unbind())
            .clone_ref(py)
    }

    fn __len__(&self) -> usize {
        self.bytes.len()
    }

    fn __bytes__(&self, py: Python<'_>) -> Py<PyBytes> {
        self.data(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "Packet(frame_number={}, pts={}, dts={}, keyframe={}, codec='{}', {} bytes)",
            self.frame_number,
            self.pts,
            self.dts,
            if self.keyframe { "True" } else { "False" },
            self.codec,
            self.bytes.len()
        )
    }
}

/// What a session holds between calls: the library session and the file it writes.
struct Inner {
    /// The engine's session; taken only when the Python object is dropped.
    session: Option<Session>,
    sink: Option<FileSink>,
    /// What the finished file holds, once closed.
    summary: Option<SinkSummary>,
    flushed: bool,
    /// Frames submitted through this object.
    submitted: i64,
    /// The last frame's timestamp.
    last_pts: Option<i64>,
    /// True once a caller gave a timestamp: later frames without one follow the last.
    explicit_pts: bool,
    /// Frames dropped by back-pressure, as reported.
    dropped: u64,
}

impl Inner {
    /// The engine's session (gone only once the Python object is being dropped).
    fn session(&mut self) -> Result<&mut Session, Failure> {
        self.session
            .as_mut()
            .ok_or_else(|| engine(SessionError::Closed))
    }

    /// Writes each packet among `outputs` to the file (if any) and returns them; dropped
    /// frames are counted.
    fn take(&mut self, outputs: Vec<SessionOutput>) -> Result<Vec<ghoststream::Packet>, Failure> {
        let mut packets = Vec::with_capacity(outputs.len());
        for out in outputs {
            match out {
                SessionOutput::Packet(p) => {
                    if let Some(sink) = &mut self.sink {
                        sink.write(&p).map_err(engine)?;
                    }
                    packets.push(p);
                }
                SessionOutput::Dropped(stats) => {
                    tracing::debug!(frame = stats.frame_number, "frame dropped by back-pressure");
                    self.dropped += 1;
                }
                _ => {}
            }
        }
        Ok(packets)
    }
}

/// An encode session: frames in, packets out.
///
/// ``Session(codec, width, height, fps=30, *, input_format="i420", ...)`` opens the encoder
/// (``encoder="auto"`` picks the best this machine has). ``submit(frame)`` takes one frame in
/// ``input_format`` as any object with the buffer protocol (a NumPy array of any strides or
/// order, ``bytes``, ``bytearray``, ``memoryview``) of exactly ``frame_bytes`` bytes, copied
/// once into the engine's frame; ``receive()``,
/// ``packets()`` and ``flush()`` give ``Packet`` objects. With ``output="out.mp4"`` (``.mkv``,
/// ``.mp4``, ``.ts``, ``.h264``, ``.h265``, ``.ivf``, ``.obu``...) every packet handed out is
/// also written to that file, and ``close()`` finishes it (as does a session garbage-collected
/// unclosed). Use it as a context manager, or call
/// ``close()``.
///
/// Calls that wait (``submit`` on a full queue, ``receive``, ``flush``, ``close``) release the
/// GIL. Every failure raises a subclass of ``ghoststream.Error``.
#[pyclass(frozen, module = "ghoststream._native", name = "Session")]
pub(crate) struct PySession {
    inner: Mutex<Inner>,
    closed: AtomicBool,
    pool: Arc<BufferPool>,
    codec: Codec,
    width: u32,
    height: u32,
    format: PixelFormat,
    frame_bytes: usize,
    frame_rate: Rational,
    encoder: String,
    processing: String,
    output: Option<PathBuf>,
}

impl Drop for PySession {
    /// A session dropped without `close()` is closed as `close()` would close it, with the GIL
    /// released so that other Python threads run meanwhile: the frames still queued are
    /// encoded (seconds, for a deep queue of large frames) and, with an output, every packet
    /// not yet handed out is written and the file finished. Nothing is raised from a drop: a
    /// failure is logged (`tracing`).
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        let (session, sink) = (inner.session.take(), inner.sink.take());
        if session.is_none() && sink.is_none() {
            return;
        }
        // A Python object is deallocated with the GIL held: attach only names that thread.
        Python::attach(|py| py.detach(move || close_dropped(session, sink)));
    }
}

/// What `close()` does, for a session dropped without it: with an output, the session is
/// closed, the packets it still held written to the file and the file finished; without one
/// the session is dropped, which encodes its queued frames and lets their packets go.
fn close_dropped(session: Option<Session>, sink: Option<FileSink>) {
    let Some(mut sink) = sink else {
        drop(session);
        return;
    };
    let outputs = match session.map(|mut s| s.close()) {
        // Closed by close() already, which took the sink: not reached with one.
        None => Ok(Vec::new()),
        Some(closed) => closed,
    };
    let written = outputs.map_err(|e| e.to_string()).and_then(|outputs| {
        outputs.iter().try_for_each(|out| match out {
            SessionOutput::Packet(p) => sink.write(p).map_err(|e| e.to_string()),
            _ => Ok(()),
        })
    });
    match written {
        Ok(()) => {
            if let Err(e) = sink.finish() {
                tracing::warn!(error = %e, "could not finish the output of a dropped session");
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "closing a dropped session");
            // Whole packets already written stay; a file with none is not left behind.
            sink.abandon();
        }
    }
}

/// How long one wait inside `receive` lasts before Python's signal handlers get a turn.
const SIGNAL_SLICE: Duration = Duration::from_millis(100);

impl PySession {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock means a panic inside a call, already reported as InternalError; the
        // state is still consistent between statements.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_open(&self) -> Result<(), Failure> {
        if self.closed.load(Ordering::Acquire) {
            return Err(engine(SessionError::Closed));
        }
        Ok(())
    }

    /// Copies `frame`'s elements into `into`, in C order, after checking that they are exactly
    /// as many bytes and of a size the format's samples can be: one copy from the caller's
    /// memory, with the GIL held (so that no other thread resizes or frees it meanwhile), and
    /// no Python object made on the way.
    fn copy_frame(&self, frame: &Bound<'_, PyAny>, into: &mut [u8]) -> Result<(), Failure> {
        let expected = into.len();
        let mismatch = |got: String| {
            Failure::new(
                ErrorCode::FrameMismatch,
                format!(
                    "{got}, but a {}x{} {} frame is {expected} bytes",
                    self.width, self.height, self.format
                ),
            )
        };
        if let Ok(bytes) = frame.cast::<PyBytes>() {
            let b = bytes.as_bytes();
            if b.len() != expected {
                return Err(mismatch(format!("frame is {} bytes", b.len())));
            }
            into.copy_from_slice(b);
            return Ok(());
        }
        let type_name = || {
            frame
                .get_type()
                .name()
                .map_or_else(|_| "?".into(), |n| n.to_string())
        };
        let buffer = Buffer::get(frame).map_err(|e| {
            let why = if e.is_instance_of::<pyo3::exceptions::PyTypeError>(frame.py()) {
                "has no buffer protocol: pass a NumPy array, bytes, bytearray or memoryview"
                    .to_string()
            } else {
                format!("gave no buffer ({e})")
            };
            Failure::new(
                ErrorCode::FrameMismatch,
                format!("a frame of type {} {why}", type_name()),
            )
        })?;
        // As Python writes them: "shape (72, 65), strides (130, 2)"; strides only where the
        // layout is not C-contiguous (copied in C order all the same).
        let shape = match buffer.strides() {
            Some(strides) if !buffer.is_c_contiguous() => format!(
                "{}, strides {}",
                py_tuple(buffer.shape()),
                py_tuple(strides)
            ),
            _ => py_tuple(buffer.shape()),
        };
        let itemsize = buffer.itemsize();
        let sample = sample_bytes(self.format);
        if itemsize != 1 && itemsize != sample {
            return Err(mismatch(format!(
                "frame's items are {itemsize} bytes each (format '{}', shape {shape}; {} samples are {sample} bytes: use uint8{})",
                buffer.format(),
                self.format,
                if sample == 2 { " or uint16" } else { "" }
            )));
        }
        if buffer.len() != expected {
            return Err(mismatch(format!(
                "frame is {} bytes (shape {shape})",
                buffer.len()
            )));
        }
        buffer.copy_c_order(into)?;
        Ok(())
    }

    /// Packets as Python objects.
    fn to_python(py: Python<'_>, packets: &[ghoststream::Packet]) -> PyResult<Vec<Py<PyAny>>> {
        packets.iter().map(|p| packet_object(py, p)).collect()
    }
}

/// `values` as a Python tuple prints: "(48, 64)", "(5,)", "()".
fn py_tuple(values: &[isize]) -> String {
    match values {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            values
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Bytes in one sample of `format`'s planes.
fn sample_bytes(format: PixelFormat) -> usize {
    match format {
        PixelFormat::Rgb10a2 => 4,
        f if f.bit_depth() > 8 => 2,
        _ => 1,
    }
}

#[pymethods]
impl PySession {
    #[new]
    #[pyo3(signature = (codec, width, height, fps=None, *, input_format="i420", bitrate=None, max_bitrate=None, rc=None, qp=None, quality=None, keyint=None, preset=None, tune=None, encoder="auto", queue_depth=None, backpressure=None, threads=None, gpu=None, output=None, output_format=None, overwrite=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        codec: &str,
        width: &Bound<'_, PyAny>,
        height: &Bound<'_, PyAny>,
        fps: Option<&Bound<'_, PyAny>>,
        input_format: &str,
        bitrate: Option<&Bound<'_, PyAny>>,
        max_bitrate: Option<&Bound<'_, PyAny>>,
        rc: Option<&str>,
        qp: Option<&Bound<'_, PyAny>>,
        quality: Option<&Bound<'_, PyAny>>,
        keyint: Option<&Bound<'_, PyAny>>,
        preset: Option<&Bound<'_, PyAny>>,
        tune: Option<&str>,
        encoder: &str,
        queue_depth: Option<&Bound<'_, PyAny>>,
        backpressure: Option<&str>,
        threads: Option<&Bound<'_, PyAny>>,
        gpu: Option<&str>,
        output: Option<&Bound<'_, PyAny>>,
        output_format: Option<&str>,
        overwrite: bool,
    ) -> Result<Self, Failure> {
        let codec = options::codec(codec)?;
        let width = options::count("width", width)?;
        let height = options::count("height", height)?;
        let frame_rate = match fps {
            Some(v) => options::frame_rate(v)?,
            None => Rational::new(30, 1),
        };
        let mut config = SessionConfig::new(codec, width, height, frame_rate);
        config.input_format = options::pixel_format(input_format)?;
        if let Some(rate) =
            options::Rate::read(rc, bitrate, max_bitrate, qp, quality)?.rate_control()?
        {
            config.rate_control = rate;
        }
        if let Some(k) = keyint {
            config.keyframe_interval = options::keyint(k)?.interval(frame_rate).map_err(engine)?;
        }
        if let Some(p) = preset {
            config.preset = options::preset(p)?;
        }
        if let Some(t) = tune {
            config.tuning = options::tuning(t)?;
        }
        config.backend = options::encoder(encoder)?;
        if let Some(d) = queue_depth {
            config.queue_depth = options::count("queue_depth", d)?;
        }
        if let Some(b) = backpressure {
            config.backpressure = options::named(b)?;
        }
        if let Some(t) = threads {
            config.threads = options::count("threads", t)?;
        }
        if let Some(g) = gpu {
            config.gpu = match g.to_ascii_lowercase().as_str() {
                "auto" => ghoststream::GpuChoice::Auto,
                "off" => ghoststream::GpuChoice::Off,
                "require" => ghoststream::GpuChoice::Require(Default::default()),
                _ => {
                    return Err(Failure::config(format!(
                        "invalid gpu '{g}': expected auto, off or require"
                    )))
                }
            };
        }
        let output = output.map(|o| options::path("output", o)).transpose()?;
        let format = match (&output, output_format) {
            (_, Some(f)) => Some(options::named::<OutputFormat>(f)?),
            (Some(path), None) => Some(OutputFormat::from_path(path).ok_or_else(|| {
                Failure::config(format!(
                    "invalid output {}: its extension names no format (.mkv, .mp4, .ts, .h264, .h265, .ivf, .obu...); give output_format",
                    path.display()
                ))
            })?),
            (None, None) => None,
        };
        config.validate().map_err(engine)?;
        let frame_bytes = config.input_format.frame_bytes(width, height);
        let (session, sink) = blocking(py, || {
            if let Some(path) = &output {
                ghoststream::output::path::check_overwrite(path, overwrite).map_err(engine)?;
            }
            let session = Session::open(config).map_err(engine)?;
            let sink = match (&output, format) {
                (Some(path), Some(format)) => {
                    Some(open_file_sink(path, format, session.config()).map_err(engine)?)
                }
                _ => None,
            };
            Ok((session, sink))
        })?;
        Ok(PySession {
            encoder: session.backend_report().description.clone(),
            processing: session.processing_description().to_string(),
            codec,
            width,
            height,
            format: session.config().input_format,
            frame_bytes,
            frame_rate,
            output,
            inner: Mutex::new(Inner {
                session: Some(session),
                sink,
                summary: None,
                flushed: false,
                submitted: 0,
                last_pts: None,
                explicit_pts: false,
                dropped: 0,
            }),
            closed: AtomicBool::new(false),
            pool: BufferPool::new(),
        })
    }

    /// submit(frame, pts_ns=None)
    /// --
    ///
    /// Queues one frame for encoding. ``frame`` is any object with the buffer protocol holding
    /// exactly ``frame_bytes`` bytes in ``input_format`` (planes one after another, rows tightly
    /// packed: for i420 a ``(height * 3 // 2, width)`` uint8 array), its elements taken in C
    /// order whatever the array's strides (a slice, a transposed or Fortran-order array). It is
    /// copied once, straight into the engine's frame, with the GIL held; the caller may reuse
    /// it as soon as ``submit`` returns. ``pts_ns`` is its
    /// presentation time in nanoseconds, strictly increasing; by default frames follow each
    /// other at the session's frame rate from 0. With ``backpressure="block"`` (the default)
    /// it waits, the GIL released, while the encoder's queue is full.
    #[pyo3(signature = (frame, pts_ns=None))]
    fn submit(
        &self,
        py: Python<'_>,
        frame: &Bound<'_, PyAny>,
        pts_ns: Option<i64>,
    ) -> Result<(), Failure> {
        self.check_open()?;
        let mut image = CpuImage::new(self.format, self.width, self.height, Some(&self.pool))
            .map_err(engine)?;
        self.copy_frame(frame, image.data_mut())?;
        blocking(py, || {
            let mut inner = self.lock();
            let pts = match (pts_ns, inner.last_pts) {
                (Some(pts), _) => pts,
                (None, Some(last)) if inner.explicit_pts => {
                    last.saturating_add(self.frame_rate.frames_to_nanos(1))
                }
                (None, _) => self.frame_rate.frames_to_nanos(inner.submitted),
            };
            inner
                .session()?
                .submit(Frame::from_cpu(image, Timestamp::from_nanos(pts)))
                .map_err(engine)?;
            inner.submitted += 1;
            inner.last_pts = Some(pts);
            inner.explicit_pts |= pts_ns.is_some();
            Ok(())
        })
    }

    /// receive(timeout=None)
    /// --
    ///
    /// The next packet, waiting up to ``timeout`` seconds (``None``: until one comes) with the
    /// GIL released. ``None`` when none came in time, or when the session was flushed and
    /// every packet has been handed out.
    #[pyo3(signature = (timeout=None))]
    fn receive(&self, py: Python<'_>, timeout: Option<f64>) -> Result<Option<Py<PyAny>>, Failure> {
        self.check_open()?;
        let deadline = match timeout {
            None => None,
            Some(t) if t.is_finite() && t >= 0.0 => {
                Some(Instant::now() + Duration::from_secs_f64(t.min(1e9)))
            }
            Some(t) => {
                return Err(Failure::config(format!(
                    "invalid timeout {t}: expected seconds, 0 or more, or None"
                )))
            }
        };
        loop {
            let slice = deadline.map_or(SIGNAL_SLICE, |d| {
                d.saturating_duration_since(Instant::now())
                    .min(SIGNAL_SLICE)
            });
            let (got, flushed) = blocking(py, || {
                let mut inner = self.lock();
                loop {
                    match inner.session()?.receive_timeout(slice).map_err(engine)? {
                        Some(out) => {
                            let mut packets = inner.take(vec![out])?;
                            if let Some(p) = packets.pop() {
                                return Ok((Some(p), inner.flushed));
                            }
                            // A dropped frame: look again.
                        }
                        None => return Ok((None, inner.flushed)),
                    }
                }
            })?;
            if let Some(p) = got {
                return Ok(Some(packet_object(py, &p)?));
            }
            if flushed || deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
            py.check_signals()?;
        }
    }

    /// packets()
    /// --
    ///
    /// Every packet ready now, in order (a list, possibly empty); never waits for the encoder.
    fn packets(&self, py: Python<'_>) -> Result<Vec<Py<PyAny>>, Failure> {
        self.check_open()?;
        let packets = blocking(py, || {
            let mut inner = self.lock();
            let mut outputs = Vec::new();
            while let Some(out) = inner.session()?.try_receive().map_err(engine)? {
                outputs.push(out);
            }
            inner.take(outputs)
        })?;
        Ok(Self::to_python(py, &packets)?)
    }

    /// flush()
    /// --
    ///
    /// Ends the input, waits (GIL released) for the encoder to drain, and returns every packet
    /// not yet handed out. ``submit`` raises ``StateError`` afterwards.
    fn flush(&self, py: Python<'_>) -> Result<Vec<Py<PyAny>>, Failure> {
        self.check_open()?;
        let packets = blocking(py, || {
            let mut inner = self.lock();
            let outputs = inner.session()?.flush().map_err(engine)?;
            inner.flushed = true;
            inner.take(outputs)
        })?;
        Ok(Self::to_python(py, &packets)?)
    }

    /// request_keyframe()
    /// --
    ///
    /// Makes the next frame submitted a keyframe (IDR with parameter sets).
    fn request_keyframe(&self, py: Python<'_>) -> Result<(), Failure> {
        self.check_open()?;
        blocking(py, || {
            self.lock().session()?.request_keyframe().map_err(engine)
        })
    }

    /// close()
    /// --
    ///
    /// Flushes, stops the encoder and finishes the output file; returns the packets not yet
    /// handed out (already written to the output file, if any). Closing again does nothing and
    /// returns an empty list; any other call afterwards raises ``StateError``.
    fn close(&self, py: Python<'_>) -> Result<Vec<Py<PyAny>>, Failure> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(Vec::new());
        }
        let packets = blocking(py, || {
            let mut inner = self.lock();
            let outputs = inner.session()?.close().map_err(engine);
            let taken = outputs.and_then(|o| inner.take(o));
            let sink = inner.sink.take();
            match (taken, sink) {
                (Ok(packets), Some(sink)) => {
                    inner.summary = Some(sink.finish().map_err(engine)?);
                    Ok(packets)
                }
                (Ok(packets), None) => Ok(packets),
                (Err(e), sink) => {
                    // Whole packets already written stay; a file with none is not left behind.
                    if let Some(sink) = sink {
                        sink.abandon();
                    }
                    Err(e)
                }
            }
        })?;
        Ok(Self::to_python(py, &packets)?)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Closes the session; an error while closing is raised unless the block already raised.
    #[pyo3(signature = (*exc))]
    fn __exit__(&self, py: Python<'_>, exc: &Bound<'_, PyTuple>) -> Result<bool, Failure> {
        let raising = exc.get_item(0).is_ok_and(|t| !t.is_none());
        match self.close(py) {
            Err(e) if raising => {
                tracing::debug!(error = ?e, "closing a session after an exception");
                Ok(false)
            }
            Err(e) => Err(e),
            Ok(_) => Ok(false),
        }
    }

    /// The codec: "h264", "hevc" or "av1".
    #[getter]
    fn codec(&self) -> &'static str {
        self.codec.name()
    }

    /// Frame width in pixels.
    #[getter]
    fn width(&self) -> u32 {
        self.width
    }

    /// Frame height in pixels.
    #[getter]
    fn height(&self) -> u32 {
        self.height
    }

    /// The pixel format submit() takes ("i420", "nv12", "bgra8"...).
    #[getter]
    fn input_format(&self) -> &'static str {
        self.format.name()
    }

    /// Bytes of one frame in input_format.
    #[getter]
    fn frame_bytes(&self) -> usize {
        self.frame_bytes
    }

    /// The frame rate as (numerator, denominator).
    #[getter]
    fn fps(&self) -> (i64, i64) {
        (self.frame_rate.num, self.frame_rate.den)
    }

    /// The encoder chosen, described ("software: x264 ...").
    #[getter]
    fn encoder(&self) -> &str {
        &self.encoder
    }

    /// How frames are processed before the encoder ("none", "CPU: ...", "GPU: ...").
    #[getter]
    fn processing(&self) -> &str {
        &self.processing
    }

    /// The output file, if any.
    #[getter]
    fn output(&self) -> Option<PathBuf> {
        self.output.clone()
    }

    /// True once close() was called.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Running counts: submitted, packets, dropped, bytes; and once closed with an output,
    /// output_packets and output_bytes (what the file holds).
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (stats, summary, dropped) = py.detach(|| {
            let mut inner = self.lock();
            let stats = inner.session().map(|s| s.stats());
            (stats, inner.summary.clone(), inner.dropped)
        });
        let stats = stats?;
        let d = PyDict::new(py);
        d.set_item("submitted", stats.submitted)?;
        d.set_item("packets", stats.packets)?;
        d.set_item("dropped", stats.dropped.max(dropped))?;
        d.set_item("bytes", stats.bytes)?;
        if let Some(s) = summary {
            d.set_item("output_packets", s.packets)?;
            d.set_item("output_bytes", s.bytes)?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "Session(codec='{}', width={}, height={}, fps={}/{}, input_format='{}', encoder='{}'{})",
            self.codec.name(),
            self.width,
            self.height,
            self.frame_rate.num,
            self.frame_rate.den,
            self.format.name(),
            self.encoder,
            if self.closed() { ", closed" } else { "" }
        )
    }
}
