"""The Recorder: the test pattern to Matroska with a replay saved from another Python thread."""

import gc
import threading
import time

import pytest

import ghoststream
from conftest import probe_frames


# Every kind of event and its class.
KIND_CLASSES = {
    "started": ghoststream.StartedEvent,
    "notice": ghoststream.NoticeEvent,
    "replay_saved": ghoststream.ReplaySavedEvent,
    "replay_failed": ghoststream.ReplayFailedEvent,
    "stream_connected": ghoststream.StreamConnectedEvent,
    "stream_reconnecting": ghoststream.StreamReconnectingEvent,
    "stream_dropped": ghoststream.StreamDroppedEvent,
    "falling_behind": ghoststream.FallingBehindEvent,
    "source_lost": ghoststream.SourceLostEvent,
    "finished": ghoststream.FinishedEvent,
}


def wait_for_packets(recorder, packets, within=60):
    deadline = time.monotonic() + within
    while recorder.status()["packets"] < packets:
        assert time.monotonic() < deadline, recorder.status()
        time.sleep(0.01)


def test_the_pattern_to_matroska_with_a_replay_saved_from_another_thread(tmp_path):
    mkv = tmp_path / "rec.mkv"
    replays = tmp_path / "replays"
    replays.mkdir()
    saved = {}

    with ghoststream.Recorder("testsrc", mkv, codec="h264", replay="10s", replay_dir=replays,
                              size=(160, 96), fps=30, keyint=30, encoder="software") as rec:
        # Another thread saves the last second once two seconds are encoded, then stops the
        # recording a second later; this thread meanwhile waits for events, the GIL released.
        def other():
            try:
                wait_for_packets(rec, 60)
                saved["path"] = rec.save_replay(seconds=1)
                wait_for_packets(rec, 90)
                saved["summary"] = rec.stop()
            except BaseException as e:  # reported by the main thread
                saved["error"] = e

        thread = threading.Thread(target=other)
        thread.start()
        events = []
        deadline = time.monotonic() + 60
        while not events or events[-1].kind != "finished":
            assert time.monotonic() < deadline, events
            event = rec.next_event(timeout=1)
            if event is not None:
                events.append(event)
        thread.join()
    assert "error" not in saved, saved
    summary = saved["summary"]
    assert rec.wait() == summary, "the outcome is kept"

    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and "software" in events[0].encoder, events
    # Each event is an instance of its kind's class, in order, and still an Event with its kind.
    classes = [type(e) for e in events]
    assert classes[0] is ghoststream.StartedEvent and classes[-1] is ghoststream.FinishedEvent, classes
    assert classes.count(ghoststream.ReplaySavedEvent) == 1, classes
    assert classes.index(ghoststream.ReplaySavedEvent) == kinds.index("replay_saved"), classes
    assert all(isinstance(e, ghoststream.Event) and type(e) is KIND_CLASSES[e.kind] for e in events), events
    assert repr(events[-1]).startswith("FinishedEvent(kind='finished'"), repr(events[-1])
    assert kinds[-1] == "finished" and events[-1].ok, events
    assert kinds.count("replay_saved") == 1 and 0 < kinds.index("replay_saved") < len(kinds) - 1, kinds
    replay_event = events[kinds.index("replay_saved")]
    assert replay_event.path == saved["path"]
    assert events[-1].packets == summary["packets"] >= 90

    # The recording: every frame, decodable, starting on a key frame, a key frame every 30.
    frames = probe_frames(mkv)
    assert len(frames) == summary["packets"] == summary["frames"], (len(frames), summary)
    assert (frames[0]["width"], frames[0]["height"]) == (160, 96)
    assert [i for i, f in enumerate(frames) if f["key_frame"]] == list(range(0, len(frames), 30))
    assert summary["files"][0]["path"] == str(mkv)

    # The replay: from the key frame that covers the last second, so 30 to 60 frames.
    assert saved["path"].startswith(str(replays)) and saved["path"].endswith(".mkv")
    replay = probe_frames(saved["path"])
    assert len(replay) == replay_event.frames, (len(replay), replay_event)
    assert 30 <= len(replay) <= 60, len(replay)
    assert replay[0]["key_frame"] == 1


def test_recorder_mistakes_raise_their_classes(tmp_path):
    with pytest.raises(ghoststream.ConfigError, match="no output"):
        ghoststream.Recorder("testsrc")
    with pytest.raises(ghoststream.BadInputError, match='"wayland:"') as e:
        ghoststream.Recorder("wayland:", tmp_path / "x.mkv")
    assert e.value.code == -2
    # A source that fails once started: its error comes from wait(), and as the last event.
    missing = tmp_path / "missing.y4m"
    rec = ghoststream.Recorder(str(missing), tmp_path / "x.mkv")
    with pytest.raises(ghoststream.BadInputError, match=str(missing)):
        rec.wait()
    last = rec.events()[-1]
    assert last.kind == "finished" and last.ok is False and str(missing) in last.message
    assert isinstance(last, ghoststream.FinishedEvent) and last.frames is None
    assert not (tmp_path / "x.mkv").exists(), "nothing encoded, no file left"
    with pytest.raises(ghoststream.ConfigError, match="'ten'"):
        ghoststream.Recorder("testsrc", tmp_path / "x.mkv", replay="ten")
    rec = ghoststream.Recorder("testsrc", tmp_path / "y.mkv", size=(64, 64), frames=3, realtime=False)
    summary = rec.wait()
    assert summary["frames"] == 3
    with pytest.raises(ghoststream.StateError, match="no replay buffer"):
        rec.save_replay()
    events = rec.events()
    assert [type(e) for e in (events[0], events[-1])] == [ghoststream.StartedEvent, ghoststream.FinishedEvent], events
    assert events[-1].ok is True and events[-1].frames == 3, events[-1]
    assert rec.next_event(timeout=None) is None, "nothing comes after finished"


def test_a_recorder_dropped_while_recording_finishes_its_file(tmp_path):
    mkv = tmp_path / "dropped.mkv"
    rec = ghoststream.Recorder("testsrc", mkv, codec="h264", size=(160, 96), fps=30, keyint=30,
                               encoder="software", realtime=True, frames=3000)
    wait_for_packets(rec, 15)
    seen = rec.status()["packets"]
    # Only a cycle keeps it: the garbage collector, not a reference count, deallocates it.
    cycle = [rec]
    cycle.append(cycle)
    del rec, cycle
    gc.collect()
    assert [p.name for p in tmp_path.iterdir()] == [mkv.name], "no staged file left behind"
    frames = probe_frames(mkv)
    assert seen <= len(frames) < 3000, (seen, len(frames))
    assert frames[0]["key_frame"] == 1
    assert b"\x1c\x53\xbb\x6b" in mkv.read_bytes(), "no Cues: the Matroska file was not finished"
