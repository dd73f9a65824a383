"""The package's surface: probe() as data, docstrings for help(), the stubs shipped."""

import importlib.resources
import pydoc

import ghoststream


def test_probe_lists_every_path_with_why_as_data():
    entries = ghoststream.probe()
    assert all(set(e) == {"category", "path", "codec", "available", "reason"} for e in entries)
    software = {e["codec"]: e for e in entries if e["category"] == "encode" and e["path"] == "software"}
    assert set(software) == {"h264", "hevc", "av1"}
    assert all(e["available"] and e["reason"] for e in software.values()), software
    nvenc = [e for e in entries if e["path"] == "nvenc"]
    assert len(nvenc) == 3 and all(isinstance(e["available"], bool) and e["reason"] for e in nvenc)
    assert {e["category"] for e in entries} == {"encode", "gpu", "capture"}


def test_help_shows_the_docstrings():
    text = pydoc.render_doc(ghoststream.Session, renderer=pydoc.plaintext)
    assert "buffer protocol" in text and "submit(frame, pts_ns=None)" in text
    assert "GIL" in ghoststream.Session.flush.__doc__
    assert "replay" in ghoststream.Recorder.__doc__ and "save_replay" in ghoststream.Recorder.__doc__
    assert "random access point" in ghoststream.Packet.keyframe.__doc__
    assert "finished" in ghoststream.Event.__doc__
    assert "memoryview(packet)" in ghoststream.Packet.__doc__ and "copy" in ghoststream.Packet.data.__doc__
    events = pydoc.render_doc(ghoststream.ReplaySavedEvent, renderer=pydoc.plaintext)
    assert "A replay was saved" in events and "Event" in events
    for name in ("StartedEvent", "FinishedEvent", "StreamDroppedEvent", "FallingBehindEvent"):
        cls = getattr(ghoststream, name)
        assert issubclass(cls, ghoststream.Event) and cls.__doc__ and name in ghoststream.__all__, name
    assert "stable" in ghoststream.Error.__doc__


def test_the_wheel_ships_type_stubs_and_py_typed():
    files = importlib.resources.files("ghoststream")
    assert files.joinpath("py.typed").is_file()
    stub = files.joinpath("__init__.pyi").read_text()
    for name in ("class Session", "class Packet", "class Recorder", "class Event", "def probe",
                 "class StartedEvent(Event)", "class FinishedEvent(Event)", "def __buffer__"):
        assert name in stub, name
