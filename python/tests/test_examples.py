"""The examples in python/examples run and do what they say."""

import pathlib
import subprocess
import sys

from conftest import probe_frames

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def run(*args, stdin=""):
    done = subprocess.run([sys.executable, *map(str, args)], input=stdin, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_encode_numpy_writes_three_seconds_that_decode(tmp_path):
    out = tmp_path / "gradient.mkv"
    text = run(EXAMPLES / "encode_numpy.py", out, "hevc")
    assert "90 packets (3 key frames)" in text, text
    frames = probe_frames(out)
    assert len(frames) == 90 and (frames[0]["width"], frames[0]["height"]) == (640, 360)


def test_stats_table_reads_a_recording_s_stats(tmp_path):
    text = run(EXAMPLES / "stats_table.py")
    lines = text.splitlines()
    header = next(i for i, l in enumerate(lines) if l.split()[:2] == ["frame", "keyframe"])
    first = lines[header + 1].split()
    assert first[:2] == ["0", "True"], lines[header + 1]
    assert "... 40 more frames" in text and "summary: frames=60" in text, text


def test_record_replay_saves_on_enter_and_stops_on_q(tmp_path):
    out = tmp_path / "rec.mkv"
    # Enter at once: the buffer has no key frame yet, which the example reports and survives.
    text = run(EXAMPLES / "record_replay.py", "testsrc", out, stdin="\nq\n")
    assert "not saved (StateError)" in text and "[finished]" in text, text
    assert probe_frames(out)
