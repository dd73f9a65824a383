"""Read a per-frame stats file (JSON lines) into a table.

    python stats_table.py run.jsonl

Stats files come from ``ghoststream.Recorder(..., stats="run.jsonl")`` or
``ghoststream encode ... --stats run.jsonl``: one JSON object per frame, then a ``{"summary": ...}``
line. This prints each frame's stage times in milliseconds and the summary; with pandas
installed it also builds a DataFrame (``frames_dataframe``). Without an argument it records two
seconds of the test pattern first and reads that.
"""

import json
import os
import sys
import tempfile

import ghoststream

COLUMNS = ["frame", "keyframe", "bytes", "submit_to_encode_ms", "encode_ms", "submit_to_packet_ms", "dropped"]


def ms(later, earlier):
    """Milliseconds between two nanosecond times, or None when either is unknown."""
    return None if later is None or earlier is None else (later - earlier) / 1e6


def read_stats(path):
    """The rows (one dict a frame, with the stage times in ms) and the summary of a stats file."""
    rows, summary = [], None
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if "summary" in record:
                summary = record["summary"]
                continue
            rows.append({
                "frame": record["frame"],
                "keyframe": record["keyframe"],
                "bytes": record["bytes"],
                "submit_to_encode_ms": ms(record["encode_start_ns"], record["submit_ns"]),
                "encode_ms": ms(record["packet_ready_ns"], record["encode_start_ns"]),
                "submit_to_packet_ms": ms(record["packet_ready_ns"], record["submit_ns"]),
                "dropped": record["dropped"],
            })
    return rows, summary


def frames_dataframe(rows):
    """The rows as a pandas DataFrame indexed by frame number (pandas is optional)."""
    import pandas  # noqa: PLC0415 - optional

    return pandas.DataFrame(rows, columns=COLUMNS).set_index("frame")


def print_table(rows, limit=20):
    def cell(v):
        return "-" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)

    widths = [max(len(c), 8) for c in COLUMNS]
    print("  ".join(c.rjust(w) for c, w in zip(COLUMNS, widths)))
    for row in rows[:limit]:
        print("  ".join(cell(row[c]).rjust(w) for c, w in zip(COLUMNS, widths)))
    if len(rows) > limit:
        print(f"... {len(rows) - limit} more frames")


def main():
    if len(sys.argv) > 1:
        path = sys.argv[1]
    else:
        path = os.path.join(tempfile.mkdtemp(), "run.jsonl")
        out = os.path.join(os.path.dirname(path), "run.mkv")
        ghoststream.Recorder("testsrc", out, stats=path, codec="h264", size=(320, 180), seconds=2).wait()
        print(f"recorded {out} with stats {path}")
    rows, summary = read_stats(path)
    print_table(rows)
    if summary:
        print("summary:", ", ".join(f"{k}={v}" for k, v in summary.items()))
    try:
        print(frames_dataframe(rows).describe())
    except ImportError:
        pass


if __name__ == "__main__":
    main()
