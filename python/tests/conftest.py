"""Shared helpers: known frames made with NumPy, ffmpeg/ffprobe as the independent decoder, PSNR."""

import json
import shutil
import subprocess

import numpy as np
import pytest


def require(tool):
    """The path of `tool`: the tests need ffmpeg and ffprobe (installed by .ci/setup)."""
    path = shutil.which(tool)
    assert path, f"{tool} is not installed: the Python tests decode with it (bash .ci/setup)"
    return path


def gradient_i420(width, height, index):
    """Frame `index` of a moving gradient in I420, as a (height * 3 // 2, width) uint8 array.

    Luma rises left to right and top to bottom and shifts 2 pixels a frame; the chroma planes are
    gradients across each other. Smooth, so an encoder at a fair quality keeps it well above 35 dB.
    """
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    luma = 16 + 219 * ((x + y + 2 * index) % (width + height)) / (width + height)
    cy, cx = np.mgrid[0 : height // 2, 0 : width // 2].astype(np.float64)
    u = 64 + 128 * cx / (width // 2)
    v = 64 + 128 * cy / (height // 2)
    planes = [luma.round().astype(np.uint8), u.round().astype(np.uint8), v.round().astype(np.uint8)]
    return np.concatenate([p.reshape(-1) for p in planes]).reshape(height * 3 // 2, width)


def decode_i420(path, width, height):
    """Every frame of `path` decoded by ffmpeg to I420, as a list of flat uint8 arrays."""
    out = subprocess.run(
        [require("ffmpeg"), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
        check=True,
        capture_output=True,
    ).stdout
    size = width * height * 3 // 2
    assert len(out) % size == 0, f"{len(out)} bytes decoded is not a whole number of {width}x{height} frames"
    data = np.frombuffer(out, dtype=np.uint8)
    return [data[i * size : (i + 1) * size] for i in range(len(out) // size)]


def psnr(a, b):
    """Peak signal-to-noise ratio of two uint8 arrays, in dB (inf when equal)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def probe_frames(path):
    """ffprobe's decoded frames of `path`'s video: a list of dicts with key_frame and pts_time."""
    out = subprocess.run(
        [require("ffprobe"), "-v", "error", "-select_streams", "v:0", "-show_frames",
         "-show_entries", "frame=key_frame,pts_time,width,height", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)["frames"]


@pytest.fixture
def frames_i420():
    """A function giving `count` gradient frames of `width` x `height`."""
    return lambda width, height, count: [gradient_i420(width, height, i) for i in range(count)]
