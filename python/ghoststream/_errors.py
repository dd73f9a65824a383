"""GhostStream's exceptions: one class per stable error code.

Every failure inside GhostStream is raised as one of these. Each carries ``code``, the stable
number the C ABI returns for the same failure (``GS_ERR_*`` in ghoststream.h), and a message
that names the value that was wrong and what is allowed.
"""

import builtins

__all__ = [
    "Error",
    "ConfigError",
    "BadInputError",
    "UnavailableError",
    "EncoderError",
    "OutputError",
    "StateError",
    "FrameMismatchError",
    "InternalError",
    "GpuError",
    "TimeoutError",
]


class Error(Exception):
    """Base class of every GhostStream error; ``code`` is its stable number (negative)."""

    #: The stable code of the class; an instance's ``code`` is its own.
    CODE = 0

    def __init__(self, message: str, code: "int | None" = None) -> None:
        super().__init__(message)
        self.code = type(self).CODE if code is None else code

    @property
    def message(self) -> str:
        """The message, naming the value."""
        return str(self.args[0]) if self.args else ""


class ConfigError(Error, ValueError):
    """An invalid configuration value (code -1, GS_ERR_INVALID_CONFIG): a bad codec name, an
    absurd frame rate, a bitrate out of range, an unknown option value."""

    CODE = -1


class BadInputError(Error, ValueError):
    """Input that could not be read or parsed (code -2, GS_ERR_BAD_INPUT): a source that does
    not exist, a file that is not video."""

    CODE = -2


class UnavailableError(Error):
    """No backend can run the request on this machine (code -3, GS_ERR_UNAVAILABLE); the
    message says why, and ``ghoststream.probe()`` lists what is available."""

    CODE = -3


class EncoderError(Error):
    """The encoder failed (code -4, GS_ERR_ENCODER)."""

    CODE = -4


class OutputError(Error):
    """An output could not be written (code -5, GS_ERR_OUTPUT): a file that exists (pass
    overwrite=True), a full disk, a folder that cannot be created."""

    CODE = -5


class StateError(Error, RuntimeError):
    """A call in the wrong state (code -6, GS_ERR_STATE): submit after flush, any call after
    close, a replay save on a recording without a replay buffer."""

    CODE = -6


class FrameMismatchError(Error, ValueError):
    """A frame that does not match the session (code -7, GS_ERR_FRAME_MISMATCH): the wrong
    number of bytes, an object without the buffer protocol, timestamps not increasing."""

    CODE = -7


class InternalError(Error, RuntimeError):
    """An internal failure (code -8, GS_ERR_INTERNAL): a panic or a dead thread inside
    GhostStream. Please report it."""

    CODE = -8


class GpuError(Error):
    """The GPU failed, or a required GPU is missing (code -9, GS_ERR_GPU)."""

    CODE = -9


class TimeoutError(Error, builtins.TimeoutError):
    """Something waited for did not happen in time (code -10, GS_ERR_TIMEOUT). Also a
    subclass of the built-in TimeoutError."""

    CODE = -10


# Shown as ghoststream.ConfigError (where they are imported from), not the private module.
for _cls in (
    Error,
    ConfigError,
    BadInputError,
    UnavailableError,
    EncoderError,
    OutputError,
    StateError,
    FrameMismatchError,
    InternalError,
    GpuError,
    TimeoutError,
):
    _cls.__module__ = "ghoststream"
del _cls
