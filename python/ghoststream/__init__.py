"""GhostStream for Python: encode frames and record sources with the GhostStream engine.

- ``Session``: frames in (NumPy arrays, bytes, any buffer; one copy into the engine), ``Packet``
  objects out (their bytes through the buffer protocol without a copy), optionally written to a
  file (``output="out.mkv"``).
- ``Recorder``: a source (the test pattern, the screen, a PipeWire node, a file) to a file, a
  replay buffer, live streams and a stats file at once, with controls from any thread and events
  (``Event``, with one subclass per kind: ``StartedEvent``, ``FinishedEvent``...).
- ``probe()``: what this machine can encode and capture with, and why not.
- ``Error`` and its subclasses, one per stable error code.

Calls that may block release the GIL.
"""

from ghoststream._errors import (
    BadInputError,
    ConfigError,
    EncoderError,
    Error,
    FrameMismatchError,
    GpuError,
    InternalError,
    OutputError,
    StateError,
    TimeoutError,
    UnavailableError,
)
from ghoststream._native import (
    Event,
    FallingBehindEvent,
    FinishedEvent,
    NoticeEvent,
    ReplayFailedEvent,
    ReplaySavedEvent,
    SourceLostEvent,
    StartedEvent,
    StreamConnectedEvent,
    StreamDroppedEvent,
    StreamReconnectingEvent,
    Packet,
    Recorder,
    Session,
    __version__,
    probe,
)

__all__ = [
    "BadInputError",
    "ConfigError",
    "EncoderError",
    "Error",
    "Event",
    "FallingBehindEvent",
    "FinishedEvent",
    "FrameMismatchError",
    "GpuError",
    "InternalError",
    "NoticeEvent",
    "OutputError",
    "Packet",
    "Recorder",
    "ReplayFailedEvent",
    "ReplaySavedEvent",
    "Session",
    "SourceLostEvent",
    "StartedEvent",
    "StateError",
    "StreamConnectedEvent",
    "StreamDroppedEvent",
    "StreamReconnectingEvent",
    "TimeoutError",
    "UnavailableError",
    "__version__",
    "probe",
]
