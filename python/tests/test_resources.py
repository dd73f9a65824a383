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


def free_counting_rate(counter):
    """How fast `counter` counts while this thread waits without the GIL (counts a second)."""
    c0, t0 = counter.count, time.monotonic()
    time.sleep(0.25)
    return (counter.count - c0) / (time.monotonic() - t0)


def test_other_python_threads_run_while_submit_and_flush_block():
    # HEVC at the slowest preset, no lookahead (tune="ll": each frame encoded as it comes), on
    # one thread: 720p takes from under 80 ms to over 1 s a frame as the machine is loaded. A
    # frame's encode is timed, and the work sized by it so that the blocking submits and the
    # flush each wait about two seconds, certainly well over the 0.4 s asserted.
    width, height = 1280, 720
    frames = [gradient_i420(width, height, i) for i in range(4)]
    counter = Counter()
    counter.start()
    try:
        free_rate = free_counting_rate(counter)
        # A queue of one frame: once the encoder is busy, each submit waits for a frame's encode.
        with ghoststream.Session("hevc", width, height, 30, encoder="software", preset="p7",
                                 tune="ll", queue_depth=1, backpressure="block", threads=1) as s:
            # The first frame takes the encoder's start-up too (several times a frame's
            # encode): the second is timed.
            s.submit(frames[0])
            assert s.receive(timeout=120) is not None
            t0 = time.monotonic()
            s.submit(frames[1])
            assert s.receive(timeout=120) is not None
            per_frame = time.monotonic() - t0
            count = min(24, max(4, math.ceil(2.0 / per_frame) + 2))
            blocked = []
            for i in range(count):
                c0, t0 = counter.count, time.monotonic()
                s.submit(frames[(i + 1) % len(frames)])
                waited, counted = time.monotonic() - t0, counter.count - c0
                if waited > 0.05:
                    blocked.append((waited, counted))
        # Flush with as many frames queued (a queue deep enough that no submit waits): flush
        # waits for all their encodes.
        with ghoststream.Session("hevc", width, height, 30, encoder="software", preset="p7",
                                 tune="ll", queue_depth=32, backpressure="block", threads=1) as s:
            for i in range(count):
                s.submit(frames[i % len(frames)])
            c0, t0 = counter.count, time.monotonic()
            assert len(s.flush()) == count
            flush_wait, flush_count = time.monotonic() - t0, counter.count - c0
    finally:
        counter.running = False
        counter.join()
    submit_wait = sum(w for w, _ in blocked)
    submit_count = sum(c for _, c in blocked)
    print(f"free rate {free_rate:.0f}/s; second frame {per_frame:.3f} s; {len(blocked)} of {count} "
          f"submits blocked {submit_wait:.3f} s in all, {submit_count} counts "
          f"({submit_count / (free_rate * submit_wait):.0%} of the free rate); flush {flush_wait:.3f} s, "
          f"{flush_count} counts ({flush_count / (free_rate * flush_wait):.0%})")
    # The encoder takes frames in bursts: not every submit waits, but together they do.
    assert submit_wait > 0.4, (
        f"the submits blocked {submit_wait:.3f} s in all ({blocked}): too little to tell")
    assert flush_wait > 0.4, f"the flush took {flush_wait:.3f} s: too short to tell"
    # Holding the GIL, a blocked call lets the counter run only in the switch intervals (5 ms
    # each) at its edges however long it waits: 60 000 to 200 000 counts a call where 6.8
    # million/s ran free, under a sixth of a 80 ms wait, the shortest a frame took here.
    # Released, the counter runs most of the time: at least a quarter of its free rate over
    # the submits' waits, and over the flush's.
    assert submit_count > 0.25 * free_rate * submit_wait, (
        f"the submits blocked {submit_wait:.3f} s while the other thread counted {submit_count} "
        f"(free rate {free_rate:.0f}/s): {blocked}")
    assert flush_count > 0.25 * free_rate * flush_wait, (
        f"the flush took {flush_wait:.3f} s while the other thread counted {flush_count} "
        f"(free rate {free_rate:.0f}/s)")


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
        free_rate = free_counting_rate(counter)
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
