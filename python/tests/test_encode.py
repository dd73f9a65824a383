"""NumPy frames encoded to H.264, HEVC and AV1 by the software encoders, decoded by ffmpeg."""

import gc
import json
import subprocess

import numpy as np
import pytest

import ghoststream
from conftest import decode_i420, gradient_i420, probe_frames, psnr, require

WIDTH, HEIGHT, FPS, FRAMES, KEYINT = 160, 96, 25, 30, 10
FRAME_NS = 1_000_000_000 // FPS  # 40 ms, exact at 25 fps

# The codecs' raw-stream extensions, which the output writer reads the format from.
RAW = {"h264": "h264", "hevc": "h265", "av1": "ivf"}
# Constant-quality levels giving a similar, fair quality in each codec.
QUALITY = {"h264": 20, "hevc": 22, "av1": 30}


@pytest.mark.parametrize("codec", ["h264", "hevc", "av1"])
def test_gradient_frames_decode_to_the_source_with_their_timestamps_and_keyframes(tmp_path, codec):
    source = [gradient_i420(WIDTH, HEIGHT, i) for i in range(FRAMES)]
    mkv = tmp_path / "out.mkv"
    packets = []
    with ghoststream.Session(
        codec, WIDTH, HEIGHT, FPS, input_format="i420", rc="cq", quality=QUALITY[codec],
        keyint=KEYINT, encoder="software", output=mkv,
    ) as session:
        assert "software" in session.encoder
        assert session.frame_bytes == WIDTH * HEIGHT * 3 // 2
        for frame in source:
            session.submit(frame)
            packets += session.packets()
        packets += session.flush()
    assert session.closed

    # One packet per frame, in order, with the frame's own timestamps (low-latency tuning: no
    # reordering, so dts == pts) and a key frame exactly every KEYINT frames.
    assert [p.frame_number for p in packets] == list(range(FRAMES))
    assert [p.pts for p in packets] == [i * FRAME_NS for i in range(FRAMES)]
    assert [p.dts for p in packets] == [p.pts for p in packets]
    assert all(p.duration == FRAME_NS for p in packets)
    assert [p.frame_number for p in packets if p.keyframe] == list(range(0, FRAMES, KEYINT))
    assert all(p.codec == codec for p in packets)
    assert all(len(p) == len(p.data) == len(bytes(p)) > 0 for p in packets)
    assert all(p.encode_latency is not None and p.encode_latency >= 0 for p in packets)
    stats = session.stats
    assert stats["submitted"] == stats["packets"] == stats["output_packets"] == FRAMES
    assert stats["bytes"] == sum(len(p) for p in packets)

    # The packets' own bytes, written as the codec's raw stream, and the Matroska file the
    # session wrote, each decoded by ffmpeg against the source.
    raw = tmp_path / f"packets.{RAW[codec]}"
    if codec == "av1":
        # IVF needs its headers: let the library write it from the same settings.
        with ghoststream.Session(codec, WIDTH, HEIGHT, FPS, rc="cq", quality=QUALITY[codec],
                                 keyint=KEYINT, encoder="software", output=raw) as again:
            for frame in source:
                again.submit(frame)
    else:
        raw.write_bytes(b"".join(bytes(p) for p in packets))
    for path in (raw, mkv):
        decoded = decode_i420(path, WIDTH, HEIGHT)
        assert len(decoded) == FRAMES, f"{path.name}: {len(decoded)} frames decoded"
        luma = WIDTH * HEIGHT
        lowest = (float("inf"), float("inf"))
        for i, (got, want) in enumerate(zip(decoded, source)):
            want = want.reshape(-1)
            y, uv = psnr(got[:luma], want[:luma]), psnr(got[luma:], want[luma:])
            assert y > 38 and uv > 38, f"{path.name} frame {i}: PSNR Y {y:.1f} dB, UV {uv:.1f} dB"
            lowest = (min(lowest[0], y), min(lowest[1], uv))
        print(f"{codec} {path.name}: lowest PSNR Y {lowest[0]:.2f} dB, UV {lowest[1]:.2f} dB")
    # The container's key frames are the packets' key frames.
    frames = probe_frames(mkv)
    assert [i for i, f in enumerate(frames) if f["key_frame"] == 1] == list(range(0, FRAMES, KEYINT))


def test_given_timestamps_come_back_on_their_packets_and_buffers_of_any_kind_are_taken(tmp_path):
    base = 5_000_000_000
    pts = [base + i * 33_000_000 + (i % 3) * 1_000 for i in range(8)]
    frames = [gradient_i420(64, 64, i) for i in range(8)]
    # bytes, bytearray, memoryview, a non-contiguous NumPy view (copied in C order), an array.
    padded = np.zeros((96, 80), np.uint8)
    padded[:, :64] = frames[3]
    kinds = [frames[0].tobytes(), bytearray(frames[1].tobytes()), memoryview(frames[2]),
             padded[:, :64], frames[4], frames[5], frames[6], frames[7]]
    assert not kinds[3].flags["C_CONTIGUOUS"]
    out = tmp_path / "given.h264"
    with ghoststream.Session("h264", 64, 64, 30, qp=10, encoder="software", output=out) as s:
        for frame, t in zip(kinds, pts):
            s.submit(frame, pts_ns=t)
        # Without a timestamp, a frame follows the last one by one frame at 30 fps.
        s.submit(frames[0])
        packets = s.flush()
    assert [p.pts for p in packets] == pts + [pts[-1] + 33_333_333]
    decoded = decode_i420(out, 64, 64)
    assert len(decoded) == 9
    for i in range(8):
        assert psnr(decoded[i], frames[i].reshape(-1)) > 40, f"frame {i}"


def test_receive_waits_for_packets_and_ends_after_a_flush():
    with ghoststream.Session("h264", 64, 64, 30, encoder="software", tune="ull") as s:
        assert s.receive(timeout=0) is None
        s.submit(gradient_i420(64, 64, 0))
        first = s.receive(timeout=30)
        assert first is not None and first.frame_number == 0 and first.keyframe
        s.submit(gradient_i420(64, 64, 1))
        s.request_keyframe()
        s.submit(gradient_i420(64, 64, 2))
        rest = s.flush()
        assert [p.frame_number for p in rest] == [1, 2]
        assert [p.keyframe for p in rest] == [False, True], "the requested key frame lands on frame 2"
        assert s.receive() is None, "flushed and drained: None at once, not a wait"


def count_frames(path):
    """Frames ffprobe decodes in `path`'s video stream."""
    out = subprocess.run(
        [require("ffprobe"), "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_frames", "-of", "json", str(path)],
        check=True, capture_output=True, text=True)
    assert not out.stderr, f"ffprobe on {path}: {out.stderr}"
    return int(json.loads(out.stdout)["streams"][0]["nb_read_frames"])


@pytest.mark.parametrize("ext", ["mkv", "mp4", "ts", "h264"])
def test_a_session_dropped_unclosed_finishes_its_output_with_every_frame(tmp_path, ext):
    # 12 frames at 30 fps: under the muxers' 1 s cluster and fragment, so a file left unfinished
    # would hold none of them; and most never handed out, so only a drop that closes the session
    # writes them.
    out = tmp_path / f"dropped.{ext}"
    s = ghoststream.Session("h264", WIDTH, HEIGHT, 30, encoder="software", output=out)
    frames = [gradient_i420(WIDTH, HEIGHT, i) for i in range(12)]
    for f in frames[:4]:
        s.submit(f)
    assert s.receive(timeout=30) is not None  # one packet written as it is handed out
    for f in frames[4:]:
        s.submit(f)
    # Only a cycle keeps it: the garbage collector, not a reference count, deallocates it.
    cycle = [s]
    cycle.append(cycle)
    del s, cycle
    gc.collect()
    assert [p.name for p in tmp_path.iterdir()] == [out.name], "no staged file left behind"
    assert count_frames(out) == 12
    decoded = decode_i420(out, WIDTH, HEIGHT)
    assert len(decoded) == 12
    for i, (got, want) in enumerate(zip(decoded, frames)):
        assert psnr(got, want.reshape(-1)) > 30, f"frame {i}"
    # The trailer: Matroska's cues, MP4's mfra index at the end of the file.
    data = out.read_bytes()
    if ext == "mkv":
        assert b"\x1c\x53\xbb\x6b" in data, "no Cues: the Matroska file was not finished"
    if ext == "mp4":
        assert b"mfro" in data[-64:], "no mfra index: the MP4 file was not finished"
