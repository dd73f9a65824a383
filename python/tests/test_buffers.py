"""The buffer protocol both ways: frames of any layout read in one copy, packets read in none."""

import gc
import tracemalloc

import numpy as np
import pytest

import ghoststream
from conftest import decode_i420, gradient_i420, psnr

W, H = 64, 48


def encode(frames, tmp_path, name):
    """`frames` (any buffers) encoded to H.264 at a high quality, decoded back by ffmpeg."""
    out = tmp_path / f"{name}.h264"
    with ghoststream.Session("h264", W, H, 30, qp=8, encoder="software", output=out) as s:
        for f in frames:
            s.submit(f)
    return decode_i420(out, W, H)


def test_frames_of_every_layout_encode_as_their_c_order_elements(tmp_path):
    source = [gradient_i420(W, H, i) for i in range(6)]
    # Every second column of a wider array: the last dimension strided (copied element by
    # element), the array neither C- nor F-contiguous.
    wide = np.zeros((H * 3 // 2, W * 2), np.uint8)
    wide[:, ::2] = source[0]
    every_second = wide[:, ::2]
    # A transposed array: the transpose of a C array is Fortran-ordered.
    transposed = np.ascontiguousarray(source[1].T).T
    fortran = np.asfortranarray(source[2])
    # Rows in reverse memory order: negative strides.
    flipped = np.ascontiguousarray(source[3][::-1])[::-1]
    # A memoryview of a bytearray, and a memoryview of a strided NumPy view.
    from_bytearray = memoryview(bytearray(source[4].tobytes()))
    padded = np.zeros((H * 3 // 2 + 7, W + 16), np.uint8)
    padded[3 : 3 + H * 3 // 2, 5 : 5 + W] = source[5]
    strided_view = memoryview(padded[3 : 3 + H * 3 // 2, 5 : 5 + W])
    layouts = [every_second, transposed, fortran, flipped, from_bytearray, strided_view]

    assert every_second.strides == (W * 2, 2)
    assert not every_second.flags["C_CONTIGUOUS"] and not every_second.flags["F_CONTIGUOUS"]
    assert transposed.flags["F_CONTIGUOUS"] and not transposed.flags["C_CONTIGUOUS"]
    assert fortran.flags["F_CONTIGUOUS"] and not fortran.flags["C_CONTIGUOUS"]
    assert flipped.strides[0] == -W
    assert not strided_view.c_contiguous

    decoded = encode(layouts, tmp_path, "layouts")
    assert len(decoded) == len(source)
    for i, (got, want) in enumerate(zip(decoded, source)):
        quality = psnr(got, want.reshape(-1))
        assert quality > 40, f"frame {i} ({type(layouts[i]).__name__}): PSNR {quality:.1f} dB"


def test_a_frame_of_the_wrong_size_names_its_shape_and_a_bad_buffer_its_type():
    with ghoststream.Session("h264", W, H, 30, encoder="software") as s:
        wide = np.zeros((H * 3 // 2, W * 2 + 2), np.uint8)
        with pytest.raises(ghoststream.FrameMismatchError, match=r"shape \(72, 65\), strides \(130, 2\)"):
            s.submit(wide[:, ::2])
        with pytest.raises(ghoststream.FrameMismatchError, match="type int has no buffer protocol"):
            s.submit(5)


def traced_peak_during(call):
    """The peak of Python-allocated memory (tracemalloc: bytes, bytearrays, NumPy arrays) while
    `call` runs, above what was allocated before it."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_a_large_frame_reaches_the_engine_without_an_intermediate_python_copy():
    # 1080p I420 frames of 3.1 MB: copying one through a Python object (memoryview.tobytes(),
    # numpy.ascontiguousarray) would show as a traced peak of at least that much.
    width, height = 1920, 1080
    frame = gradient_i420(width, height, 0)
    strided = np.zeros((height * 3 // 2, width * 2), np.uint8)[:, ::2]
    strided[...] = frame
    with ghoststream.Session("h264", width, height, 30, encoder="software", preset="p1",
                             queue_depth=4) as s:
        size = s.frame_bytes
        peaks = {
            "contiguous array": traced_peak_during(lambda: s.submit(frame)),
            "strided array": traced_peak_during(lambda: s.submit(strided)),
            "memoryview": traced_peak_during(lambda: s.submit(memoryview(frame))),
        }
        s.flush()
    print({k: v for k, v in peaks.items()}, f"frame {size} bytes")
    for kind, peak in peaks.items():
        assert peak < size // 20, f"{kind}: {peak} bytes traced during submit of a {size}-byte frame"


def packets_of(count=3):
    with ghoststream.Session("h264", W, H, 30, encoder="software") as s:
        for i in range(count):
            s.submit(gradient_i420(W, H, i))
        return s.flush()


def test_packets_export_the_engines_bytes_without_a_copy():
    packets = packets_of()
    assert len(packets) == 3
    for p in packets:
        view = memoryview(p)
        assert view.readonly and view.format == "B" and view.shape == (len(p),) and view.obj is p
        assert bytes(view) == p.data == bytes(p)
        array = np.frombuffer(p, np.uint8)
        assert not array.flags["WRITEABLE"]
        assert array.tobytes() == p.data
        # Every view reads the same memory: the packet's own, not a copy each.
        assert np.shares_memory(array, np.frombuffer(p, np.uint8))
        assert np.shares_memory(array, np.asarray(p))
        assert np.shares_memory(array, np.frombuffer(memoryview(p), np.uint8))
        # The bytes copy is another piece of memory, made once.
        assert not np.shares_memory(array, np.frombuffer(p.data, np.uint8))
        assert p.data is p.data
        with pytest.raises(TypeError, match="read-only"):
            view[0:1] = b"x"


def test_a_view_keeps_its_packet_and_bytes_alive():
    packets = packets_of()
    expected = [p.data for p in packets]
    views = [memoryview(p) for p in packets]
    arrays = [np.frombuffer(p, np.uint8) for p in packets]
    del packets
    gc.collect()
    # Churn the allocator so that freed memory would be reused.
    _ = [bytes(4096) for _ in range(1000)]
    _ = packets_of()
    assert [bytes(v) for v in views] == expected
    assert [a.tobytes() for a in arrays] == expected


def test_packets_cannot_be_made_from_python():
    with pytest.raises(ghoststream.StateError, match="come from a Session"):
        ghoststream.Packet(b"data")
