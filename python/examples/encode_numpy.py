"""Encode frames made with NumPy: a moving gradient to H.264 in Matroska (or another codec/file).

    python encode_numpy.py [OUTPUT] [CODEC]      # defaults: gradient.mkv h264

Each frame is an I420 image as one (height * 3 // 2, width) uint8 array: the Y plane, then U, then
V. Any object with the buffer protocol works (bytes, memoryview, a NumPy view).
"""

import sys

import numpy as np

import ghoststream

WIDTH, HEIGHT, FPS, SECONDS = 640, 360, 30, 3


def gradient(index):
    """Frame `index`: luma rising left to right, moving 4 pixels a frame; chroma gradients."""
    x = (np.arange(WIDTH) + 4 * index) % WIDTH
    luma = np.broadcast_to(16 + 219 * x / WIDTH, (HEIGHT, WIDTH))
    u = np.broadcast_to(np.linspace(64, 192, WIDTH // 2), (HEIGHT // 2, WIDTH // 2))
    v = np.broadcast_to(np.linspace(64, 192, HEIGHT // 2)[:, None], (HEIGHT // 2, WIDTH // 2))
    return np.concatenate([p.astype(np.uint8).reshape(-1) for p in (luma, u, v)]).reshape(-1, WIDTH)


def main():
    output = sys.argv[1] if len(sys.argv) > 1 else "gradient.mkv"
    codec = sys.argv[2] if len(sys.argv) > 2 else "h264"
    keyframes = 0
    with ghoststream.Session(codec, WIDTH, HEIGHT, FPS, input_format="i420", rc="cq", quality=23,
                             keyint="1s", output=output, overwrite=True) as session:
        print(f"encoding with {session.encoder}")
        for i in range(FPS * SECONDS):
            session.submit(gradient(i))
            for packet in session.packets():
                keyframes += packet.keyframe
        for packet in session.flush():
            keyframes += packet.keyframe
    stats = session.stats
    print(f"{stats['packets']} packets ({keyframes} key frames), {stats['output_bytes']} bytes in {output}")
    print(f"play it with: ffplay {output}")


if __name__ == "__main__":
    main()
