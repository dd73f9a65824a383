#!/usr/bin/env python3
"""Side-by-side: `ghoststream encode` against `ffmpeg` on the same Y4M, same encoder, same settings.

For each codec at 1080p60 it runs the two commands alternately (so machine load hits both alike),
and reports the median frames per second and the median peak resident memory of each, and their
ratios. Run from the repository root after `cargo build --release`:

    python3 benches/encode_vs_ffmpeg.py [--runs 3] [--frames-scale 1.0] [--out out/bench]

The settings below are exactly what `ghoststream` passes to libavcodec for
`--preset p4 --tune ll --rc cbr --bitrate 8M --keyint 120` (see src/encode/software.rs and the
unit tests there), written out as ffmpeg options.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "target", "release", "ghoststream")
COLOR = ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv"]

CASES = [
    # codec, frames, output extension, ffmpeg demuxer/muxer, ffmpeg encoder options
    ("h264", 600, "h264", "h264", [
        "-c:v", "libx264", "-preset", "faster", "-tune", "zerolatency",
        "-b:v", "8M", "-maxrate", "8M", "-bufsize", "8M", "-g", "120", "-keyint_min", "120", "-bf", "0",
        "-flags", "+cgop", "-x264-params", "keyint=120:min-keyint=120:scenecut=0:nal-hrd=cbr"]),
    ("hevc", 120, "h265", "hevc", [
        "-c:v", "libx265", "-preset", "faster", "-tune", "zerolatency",
        "-b:v", "8M", "-maxrate", "8M", "-bufsize", "8M", "-g", "120", "-keyint_min", "120", "-bf", "0",
        "-flags", "+cgop",
        "-x265-params", "keyint=120:min-keyint=120:scenecut=0:open-gop=0:frame-threads=1:strict-cbr=1:log-level=error"]),
    ("av1", 240, "ivf", "ivf", [
        "-c:v", "libsvtav1", "-preset", "9", "-g", "120", "-keyint_min", "120", "-flags", "+cgop",
        "-svtav1-params", "pred-struct=1:lookahead=0:scd=0:rc=2:tbr=8000:buf-sz=1000"]),
]


def run(cmd):
    """Runs a command; returns (wall seconds, peak RSS in MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ, SVT_LOG="1"))
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs of each command (median reported)")
    ap.add_argument("--frames-scale", type=float, default=1.0, help="scale every case's frame count")
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "bench"), help="work folder")
    args = ap.parse_args()
    if not os.path.exists(TOOL):
        sys.exit("build first: cargo build --release")
    os.makedirs(args.out, exist_ok=True)
    max_frames = max(int(c[1] * args.frames_scale) for c in CASES)
    y4m = os.path.join(args.out, f"in_1080p60_{max_frames}.y4m")
    if not os.path.exists(y4m):
        print(f"making {y4m} ({max_frames} frames of ffmpeg testsrc2 with temporal noise)", flush=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=1920x1080:rate=60,noise=alls=12:allf=t+u",
                        "-frames:v", str(max_frames), "-pix_fmt", "yuv420p", y4m], check=True)
    rows = []
    for codec, frames, ext, fmt, ff_opts in CASES:
        frames = int(frames * args.frames_scale)
        ours_out = os.path.join(args.out, f"gs.{ext}")
        ff_out = os.path.join(args.out, f"ff.{ext}")
        ours = [TOOL, "encode", "-q", "-y", "-i", y4m, "--codec", codec, "--encoder", "software", "--preset", "p4",
                "--tune", "ll", "--rc", "cbr", "--bitrate", "8M", "--keyint", "120", "--frames", str(frames),
                "-o", ours_out]
        ff = ["ffmpeg", "-v", "error", "-y", "-i", y4m, "-frames:v", str(frames)] + ff_opts + COLOR + ["-f", fmt, ff_out]
        g_fps, g_mem, f_fps, f_mem = [], [], [], []
        for _ in range(args.runs):
            w, m = run(ours)
            g_fps.append(frames / w)
            g_mem.append(m)
            w, m = run(ff)
            f_fps.append(frames / w)
            f_mem.append(m)
        sizes = (os.path.getsize(ours_out), os.path.getsize(ff_out))
        row = (codec, frames, statistics.median(g_fps), statistics.median(f_fps),
               statistics.median(g_mem), statistics.median(f_mem), sizes)
        rows.append(row)
        print(f"{codec}: ghoststream {row[2]:.1f} fps {row[4]:.0f} MiB | ffmpeg {row[3]:.1f} fps {row[5]:.0f} MiB "
              f"| speed x{row[2] / row[3]:.2f} memory x{row[4] / row[5]:.2f} | bytes {sizes[0]} vs {sizes[1]}",
              flush=True)
    print()
    print("| codec | frames | ghoststream fps | ffmpeg fps | speed ratio | ghoststream peak RSS | ffmpeg peak RSS | memory ratio | output bytes (gs / ffmpeg) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for codec, frames, gf, ff, gm, fm, sizes in rows:
        print(f"| {codec} | {frames} | {gf:.1f} | {ff:.1f} | {gf / ff:.2f}x | {gm:.0f} MiB | {fm:.0f} MiB | {gm / fm:.2f}x "
              f"| {sizes[0]} / {sizes[1]} |")


if __name__ == "__main__":
    main()
