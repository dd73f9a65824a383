"""Type stubs for ghoststream: the native classes (ghoststream._native) and the exceptions."""

import os
from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple, Union

from ghoststream._errors import (
    BadInputError as BadInputError,
    ConfigError as ConfigError,
    EncoderError as EncoderError,
    Error as Error,
    FrameMismatchError as FrameMismatchError,
    GpuError as GpuError,
    InternalError as InternalError,
    OutputError as OutputError,
    StateError as StateError,
    TimeoutError as TimeoutError,
    UnavailableError as UnavailableError,
)

__version__: str

_Path = Union[str, "os.PathLike[str]"]
_Rate = Union[int, float, str]
_Bits = Union[int, str]
_Seconds = Union[int, float, str]

def probe() -> List[Dict[str, Any]]:
    """Every encode path, the GPU engine and each capture method, available or not and why:
    dicts with keys category, path, codec, available, reason."""

class Packet:
    """One encoded frame with its timestamps (ns) and the frame's statistics.

    Zero-copy: a Packet has the buffer protocol, so ``memoryview(packet)``,
    ``numpy.frombuffer(packet, numpy.uint8)`` and ``numpy.asarray(packet)`` read the engine's own
    bytes (read-only; the view keeps the packet alive). ``packet.data`` and ``bytes(packet)`` are
    a ``bytes`` copy, made on first use and kept. Packets come from a Session only."""

    @property
    def data(self) -> bytes:
        """The encoded bytes (Annex B for H.264/HEVC, OBUs for AV1), as a copy made on first
        access; ``memoryview(packet)`` reads them without one."""
    codec: str
    pts: int
    """Presentation time, ns."""
    dts: int
    """Decode time, ns (never after pts)."""
    duration: int
    keyframe: bool
    """True for a random access point (IDR, AV1 key frame)."""
    frame_number: int
    submit_time: int
    encode_start_time: Optional[int]
    packet_ready_time: Optional[int]
    encode_latency: Optional[int]
    """packet_ready_time - submit_time, ns."""
    capture_time: Optional[int]
    gpu_time: Optional[int]
    encode_gpu_time: Optional[int]
    cpu_copy_bytes: int
    def __len__(self) -> int: ...
    def __bytes__(self) -> bytes: ...
    def __buffer__(self, flags: int, /) -> memoryview:
        """The encoded bytes, read-only, without a copy (the buffer protocol; any CPython >= 3.9,
        this method's name is only how typing spells it)."""

class Session:
    """An encode session: frames in (any buffer), packets out, optionally to a file."""

    def __init__(
        self,
        codec: str,
        width: int,
        height: int,
        fps: Optional[_Rate] = None,
        *,
        input_format: str = "i420",
        bitrate: Optional[_Bits] = None,
        max_bitrate: Optional[_Bits] = None,
        rc: Optional[str] = None,
        qp: Optional[int] = None,
        quality: Optional[int] = None,
        keyint: Optional[Union[int, str]] = None,
        preset: Optional[Union[int, str]] = None,
        tune: Optional[str] = None,
        encoder: str = "auto",
        queue_depth: Optional[int] = None,
        backpressure: Optional[str] = None,
        threads: Optional[int] = None,
        gpu: Optional[str] = None,
        output: Optional[_Path] = None,
        output_format: Optional[str] = None,
        overwrite: bool = False,
    ) -> None: ...
    def submit(self, frame: Any, pts_ns: Optional[int] = None) -> None:
        """Queues one frame (any object with the buffer protocol: a NumPy array of any strides
        or order, bytes, bytearray, memoryview; exactly frame_bytes bytes in input_format, its
        elements taken in C order). Copied once, straight into the engine's frame, with the GIL
        held; then waits with the GIL released while the queue is full."""
    def receive(self, timeout: Optional[float] = None) -> Optional[Packet]:
        """The next packet, waiting up to timeout seconds (None: until one comes)."""
    def packets(self) -> List[Packet]:
        """Every packet ready now."""
    def flush(self) -> List[Packet]:
        """Ends the input and returns every packet not yet handed out."""
    def request_keyframe(self) -> None:
        """Makes the next frame submitted a keyframe."""
    def close(self) -> List[Packet]:
        """Flushes, stops the encoder, finishes the output file."""
    def __enter__(self) -> "Session": ...
    def __exit__(self, *exc: Any) -> bool: ...
    @property
    def codec(self) -> str: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def input_format(self) -> str: ...
    @property
    def frame_bytes(self) -> int: ...
    @property
    def fps(self) -> Tuple[int, int]: ...
    @property
    def encoder(self) -> str: ...
    @property
    def processing(self) -> str: ...
    @property
    def output(self) -> Optional[str]: ...
    @property
    def closed(self) -> bool: ...
    @property
    def stats(self) -> Dict[str, int]: ...

class Event:
    """One thing that happened in a recording; kind says which (started, notice, replay_saved,
    replay_failed, stream_connected, stream_reconnecting, stream_dropped, falling_behind,
    source_lost, finished), and so does its class: one subclass per kind. Attributes a kind
    does not have are None."""

    kind: str
    message: Optional[str]
    path: Optional[str]
    frames: Optional[int]
    packets: Optional[int]
    bytes: Optional[int]
    url: Optional[str]
    behind: Optional[float]
    source: Optional[str]
    encoder: Optional[str]
    ok: Optional[bool]

class StartedEvent(Event):
    """Frames flow: source, encoder, and message (how frames are processed)."""

    kind: Literal["started"]
    source: str
    encoder: str
    message: str

class NoticeEvent(Event):
    """Something a person may need to know while the source opens."""

    kind: Literal["notice"]
    message: str

class ReplaySavedEvent(Event):
    """A replay was saved."""

    kind: Literal["replay_saved"]
    path: str
    frames: int
    bytes: int

class ReplayFailedEvent(Event):
    """A replay save failed; message says why."""

    kind: Literal["replay_failed"]
    message: str

class StreamConnectedEvent(Event):
    """A live stream connected (the first time or again)."""

    kind: Literal["stream_connected"]
    url: str

class StreamReconnectingEvent(Event):
    """A live stream lost its connection (message: why) and is making it again."""

    kind: Literal["stream_reconnecting"]
    url: str
    message: str

class StreamDroppedEvent(Event):
    """A live stream dropped packets (since the last event)."""

    kind: Literal["stream_dropped"]
    url: str
    packets: int

class FallingBehindEvent(Event):
    """A live source's encode runs behind real time by behind seconds."""

    kind: Literal["falling_behind"]
    behind: float

class SourceLostEvent(Event):
    """The source failed or went away; the recording finishes what it has."""

    kind: Literal["source_lost"]
    message: str

class FinishedEvent(Event):
    """The recording is over (always the last event): ok; frames, packets and bytes when ok,
    message (the error) when not."""

    kind: Literal["finished"]
    ok: bool

class Recorder:
    """A source to a file, a replay buffer, live streams and a stats file at once."""

    def __init__(
        self,
        source: str = "testsrc",
        output: Optional[_Path] = None,
        *,
        codec: Optional[str] = None,
        replay: Optional[_Seconds] = None,
        replay_dir: Optional[_Path] = None,
        replay_bytes: Optional[int] = None,
        stream: Optional[Union[str, Sequence[str]]] = None,
        stats: Optional[_Path] = None,
        size: Optional[Union[Tuple[int, int], str]] = None,
        fps: Optional[_Rate] = None,
        rc: Optional[str] = None,
        bitrate: Optional[_Bits] = None,
        max_bitrate: Optional[_Bits] = None,
        qp: Optional[int] = None,
        quality: Optional[int] = None,
        keyint: Optional[Union[int, str]] = None,
        preset: Optional[Union[int, str]] = None,
        tune: Optional[str] = None,
        encoder: str = "auto",
        frames: Optional[int] = None,
        seconds: Optional[_Seconds] = None,
        realtime: Optional[bool] = None,
        overwrite: bool = False,
    ) -> None: ...
    def save_replay(
        self, seconds: Optional[_Seconds] = None, path: Optional[_Path] = None, timeout: float = 30.0
    ) -> str:
        """Saves the replay buffer (the last seconds of it) and returns the file's path."""
    def request_keyframe(self) -> None: ...
    def set_bitrate(self, bitrate: _Bits) -> None: ...
    def stop(self, wait: bool = True) -> Optional[Dict[str, Any]]:
        """Stops the recording; with wait, returns its summary once the files are finished."""
    def wait(self) -> Dict[str, Any]:
        """Waits for the recording to end and returns its summary."""
    def next_event(self, timeout: Optional[float] = None) -> Optional[Event]: ...
    def events(self, timeout: float = 0.0) -> List[Event]: ...
    def status(self) -> Dict[str, Any]: ...
    @property
    def stopping(self) -> bool: ...
    def __enter__(self) -> "Recorder": ...
    def __exit__(self, *exc: Any) -> bool: ...
