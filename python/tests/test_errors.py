"""Bad input raises the exception class of its stable code, with the value in the message."""

import numpy as np
import pytest

import ghoststream


def test_every_class_carries_its_stable_code_and_is_an_error():
    codes = {
        ghoststream.ConfigError: -1, ghoststream.BadInputError: -2,
        ghoststream.UnavailableError: -3, ghoststream.EncoderError: -4,
        ghoststream.OutputError: -5, ghoststream.StateError: -6,
        ghoststream.FrameMismatchError: -7, ghoststream.InternalError: -8,
        ghoststream.GpuError: -9, ghoststream.TimeoutError: -10,
    }
    for cls, code in codes.items():
        assert issubclass(cls, ghoststream.Error) and cls.CODE == code
    assert issubclass(ghoststream.ConfigError, ValueError)
    assert issubclass(ghoststream.TimeoutError, TimeoutError)


def test_a_wrong_sized_array_names_both_sizes():
    with ghoststream.Session("h264", 64, 48, 30, encoder="software") as s:
        with pytest.raises(ghoststream.FrameMismatchError) as e:
            s.submit(np.zeros((48, 64), np.uint8))  # luma only: 3072 of 4608 bytes
        assert e.value.code == -7
        assert "3072 bytes" in str(e.value) and "4608 bytes" in str(e.value) and "(48, 64)" in str(e.value)
        with pytest.raises(ghoststream.FrameMismatchError, match="10 bytes"):
            s.submit(b"0123456789")
        with pytest.raises(ghoststream.FrameMismatchError, match="'f'"):
            s.submit(np.zeros((72, 16), np.float32))  # 4608 bytes, but float samples
        with pytest.raises(ghoststream.FrameMismatchError, match="type object"):
            s.submit(object())
        # The session is still usable after refused frames.
        s.submit(np.zeros((72, 64), np.uint8), pts_ns=1_000)
        with pytest.raises(ghoststream.FrameMismatchError, match="1000 ns") as e:
            s.submit(np.zeros((72, 64), np.uint8), pts_ns=500)
        assert "500 ns" in str(e.value)
        assert len(s.flush()) == 1


@pytest.mark.parametrize(
    "kwargs, cls, words",
    [
        (dict(codec="h263"), ghoststream.ConfigError, ["'h263'", "h264"]),
        (dict(fps=1_000_000), ghoststream.ConfigError, ["1000000", "1 to 1000"]),
        (dict(fps=0), ghoststream.ConfigError, ["fps 0"]),
        (dict(fps=float("nan")), ghoststream.ConfigError, ["nan"]),
        (dict(width=63), ghoststream.ConfigError, ["63"]),
        (dict(input_format="yuv9"), ghoststream.ConfigError, ["'yuv9'", "nv12"]),
        (dict(bitrate="6000"), ghoststream.ConfigError, ["6000k"]),
        (dict(bitrate=-5), ghoststream.ConfigError, ["-5"]),
        (dict(preset="p9"), ghoststream.ConfigError, ["'p9'"]),
        (dict(rc="cqp"), ghoststream.ConfigError, ["qp"]),
        (dict(keyint="2 parsecs"), ghoststream.ConfigError, ["2 parsecs"]),
        (dict(encoder="quantum"), ghoststream.ConfigError, ["'quantum'", "software"]),
        (dict(output="out.xyz"), ghoststream.ConfigError, ["out.xyz"]),
    ],
)
def test_bad_settings_raise_config_error_naming_the_value(kwargs, cls, words):
    args = dict(codec="h264", width=64, height=48, fps=30)
    args.update(kwargs)
    with pytest.raises(cls) as e:
        ghoststream.Session(args.pop("codec"), args.pop("width"), args.pop("height"), args.pop("fps"), **args)
    assert e.value.code == cls.CODE
    for w in words:
        assert w in str(e.value), f"{w!r} not in {e.value}"


def test_calls_after_flush_and_close_raise_state_error():
    s = ghoststream.Session("h264", 64, 48, 30, encoder="software")
    frame = np.zeros((72, 64), np.uint8)
    s.submit(frame)
    s.flush()
    with pytest.raises(ghoststream.StateError, match="flushed") as e:
        s.submit(frame)
    assert e.value.code == -6
    s.close()
    assert s.close() == [], "closing twice is harmless"
    for call in (lambda: s.submit(frame), s.flush, s.packets, s.receive, s.request_keyframe):
        with pytest.raises(ghoststream.StateError, match="closed"):
            call()


def test_an_existing_output_is_kept_unless_overwrite(tmp_path):
    out = tmp_path / "kept.h264"
    out.write_bytes(b"precious")
    with pytest.raises(ghoststream.OutputError) as e:
        ghoststream.Session("h264", 64, 48, 30, output=out)
    assert e.value.code == -5 and str(out) in str(e.value)
    assert out.read_bytes() == b"precious"
    with ghoststream.Session("h264", 64, 48, 30, output=out, overwrite=True) as s:
        s.submit(np.zeros((72, 64), np.uint8))
    assert out.read_bytes()[:4] == b"\0\0\0\1"


def test_an_unavailable_encoder_says_why():
    with pytest.raises(ghoststream.UnavailableError) as e:
        ghoststream.Session("av1", 32, 32, 30, encoder="software")  # SVT-AV1 takes 64x64 and up
    assert e.value.code == -3 and "32x32" in str(e.value)


def test_an_error_in_a_with_block_is_not_hidden_by_closing():
    with pytest.raises(KeyError):
        with ghoststream.Session("h264", 64, 48, 30) as s:
            s.submit(np.zeros((72, 64), np.uint8))
            raise KeyError("the caller's own")
    assert s.closed
