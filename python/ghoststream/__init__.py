"""GhostStream for Python: encode frames and record sources with the GhostStream engine.

- ``Session``: frames in (NumPy arrays, bytes, any buffer), ``Packet`` objects out, optionally
  written to a file (``output="out.mkv"``).
- ``Recorder``: a source (the test pattern, the screen, a PipeWire node, a file) to a file, a
  replay buffer, live streams and a stats file at once, with controls from any thread and events.
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
from ghoststream._native import Event, Packet, Recorder, Session, __version__, probe

__all__ = [
    "BadInputError",
    "ConfigError",
    "EncoderError",
    "Error",
    "Event",
    "FrameMismatchError",
    "GpuError",
    "InternalError",
    "OutputError",
    "Packet",
    "Recorder",
    "Session",
    "StateError",
    "TimeoutError",
    "UnavailableError",
    "__version__",
    "probe",
]
