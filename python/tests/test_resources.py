"""Memory over many sessions, and the GIL released while calls block."""

import math
import threading
import time

import numpy as np

import ghoststream
from conftest import gradient_i420


def rss_bytes():
    """This process's resident set size, from /proc."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


# 320x240 I420 frames of 115 KB: leaking the frames or packets of each session (8 frames, 8
# packets) would add about 1 MB per round, 150 MB over the loop; a leaked encoder far more.
LOOP_GROWTH_BOUND = 24 << 20


def test_a_long_create_encode_close_loop_does_not_grow_memory():
    frames = [gradient_i420(320, 240, i) for i in range(8)]

    def round_trip():
        with ghoststream.Session("h264", 320, 240, 30, encoder="software", preset="p1") as s:
            for f in frames:
                s.submit(f)
            assert len(s.flush()) == 8

    for _ in range(20):  # warm-up: allocator pools, libav's and the encoder's one-time tables
        round_trip()
    before = rss_bytes()
    for _ in range(150):
        round_trip()
    growth = rss_bytes() - before
    print(f"RSS growth over 150 sessions: {growth / 1e6:.2f} MB")
    assert growth < LOOP_GROWTH_BOUND, f"RSS grew {growth / 1e6:.1f} MB over 150 sessions"


class Counter(threading.Thread):
    """A Python thread that counts as fast as the GIL lets it."""

    def __init__(self):
        super().__init__(daemon=True)
        self.count = 0
        self.running = True

    def run(self):
        while self.running:
            self.count += 1


def test_other_python_threads_run_while_submit_and_flush_block():
    # HEVC at the slowest preset, no lookahead (tune="ll": each frame encoded as it comes), a
    # queue of one frame: submit waits on the full queue. 720p so that each encode takes well
    # over the 50 ms counted as blocking (at 640x480 some took 52 ms in CI).
    width, height = 1280, 720
    frames = [gradient_i420(width, height, i) for i in range(10)]
    counter = Counter()
    counter.start()
    try:
        with ghoststream.Session("hevc", width, height, 30, encoder="software", preset="p7",
                                 tune="ll", queue_depth=1, backpressure="block", threads=1) as s:
            blocked = []
            for f in frames:
                c0, t0 = counter.count, time.monotonic()
                s.submit(f)
                waited, counted = time.monotonic() - t0, counter.count - c0
                if waited > 0.05:
                    blocked.append((waited, counted))
        # Flush with work certainly left: a deeper queue takes six frames without blocking, so
        # flush waits for their encodes (after the blocking submits above, the last frames
        # could already be done by the time flush was called).
        with ghoststream.Session("hevc", width, height, 30, encoder="software", preset="p7",
                                 tune="ll", queue_depth=8, backpressure="block", threads=1) as s:
            for f in frames[:6]:
                s.submit(f)
            c0, t0 = counter.count, time.monotonic()
            s.flush()
            flush_wait, flush_count = time.monotonic() - t0, counter.count - c0
    finally:
        counter.running = False
        counter.join()
    print(f"submits that blocked: {[(round(w, 3), c) for w, c in blocked]}; flush {flush_wait:.3f} s, {flush_count} counts")
    assert blocked, "no submit waited: the queue never filled, so this test proves nothing"
    # Holding the GIL, a blocked call would let the counter advance by 0.
    for waited, counted in blocked:
        assert counted > 1000, f"a submit blocked {waited:.3f} s while the other thread counted {counted}"
    assert flush_wait > 0.05 and flush_count > 1000, (flush_wait, flush_count)


def test_other_python_threads_run_while_a_dropped_session_drains_its_queue():
    # A session dropped without close() encodes the frames still queued before it stops. 720p
    # HEVC at the slowest preset on one thread takes from under 80 ms to over 1 s a frame, as
    # the machine is loaded: the first frame's encode is timed, and enough frames queued behind
    # it to take about two seconds at that speed, so the drop certainly waits well over the
    # 0.4 s asserted without taking minutes on a loaded machine.
    width, height = 1280, 720
    frames = [gradient_i420(width, height, i) for i in range(4)]
    counter = Counter()
    counter.start()
    try:
        # How fast the other thread counts while this one waits without the GIL: the rate a
        # drop that releases the GIL should let it approach.
        c0, t0 = counter.count, time.monotonic()
        time.sleep(0.25)
        free_rate = (counter.count - c0) / (time.monotonic() - t0)
        s = ghoststream.Session("hevc", width, height, 30, encoder="software", preset="p7",
                                tune="ll", queue_depth=32, backpressure="block", threads=1)
        t0 = time.monotonic()
        s.submit(frames[0])
        assert s.receive(timeout=120) is not None
        per_frame = time.monotonic() - t0
        count = min(24, max(3, math.ceil(2.0 / per_frame) + 2))
        for i in range(count):
            s.submit(frames[(i + 1) % len(frames)])
        queued = s.stats["submitted"] - s.stats["packets"]
        c0, t0 = counter.count, time.monotonic()
        del s  # the last reference: the session is deallocated here, its engine drained
        drop_wait, drop_count = time.monotonic() - t0, counter.count - c0
    finally:
        counter.running = False
        counter.join()
    print(f"first frame {per_frame:.3f} s; drop with {queued} of {count} frames queued: "
          f"{drop_wait:.3f} s, {drop_count} counts; free rate {free_rate:.0f}/s")
    assert queued >= 3, f"only {queued} frames were still queued: the drop had little to wait for"
    assert drop_wait > 0.4, f"the drop took {drop_wait:.3f} s: too short to tell"
    # Holding the GIL, the drop would let the counter run only in the few switch intervals
    # (5 ms each) at its edges, however long it took: 62 000 counts over a 1.1 s drop where 6.8
    # million/s ran free, measured with the GIL held. Released, the counter runs most of the
    # time: at least a quarter of its free rate over the whole drop.
    assert drop_count > 0.25 * free_rate * drop_wait, (
        f"the drop took {drop_wait:.3f} s while the other thread counted {drop_count} "
        f"(free rate {free_rate:.0f}/s)")
