#!/usr/bin/env bash
# Decodes, here, the NVENC STAND-IN streams an H200 run brought back (benches/h200/run.sh puts
# them in standin/ of its archive) with FFmpeg, and compares every frame with the Vulkan pass's
# own output for it (frame n is picture n mod 8). Usage: bash benches/h200/check-standin.sh DIR
# (DIR holding standin-*.bin.xz and standin-*expected.{nv12,p010}.xz). Prints one line per
# stream and exits non-zero when a frame differs or is missing.
set -euo pipefail
dir=${1:?usage: check-standin.sh DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in "$dir"/*.xz; do xz -dc "$f" > "$work/$(basename "${f%.xz}")"; done
status=0
check() { # stream demuxer expected-file pictures-in-turn [pixel format: nv12 or p010le]
  local stream=$1 demuxer=$2 expected=$3 turn=$4 pix=${5:-nv12}
  [ -e "$work/$stream" ] || { echo "$stream: missing"; status=1; return; }
  ffmpeg -hide_banner -nostdin -v error -f "$demuxer" -i "$work/$stream" \
    -f rawvideo -pix_fmt "$pix" -y "$work/$stream.yuv"
  python3 - "$work/$stream.yuv" "$work/$expected" "$turn" "$stream" "$pix" <<'PY' || status=1
import sys
decoded, expected, turn, name = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), int(sys.argv[3]), sys.argv[4]
size = 160 * 96 * 3 // 2 * (2 if sys.argv[5] == "p010le" else 1)
pictures = [expected[i * size:(i + 1) * size] for i in range(len(expected) // size)]
frames = len(decoded) // size
differ = [n for n in range(frames)
          if decoded[n * size:(n + 1) * size] != pictures[n % turn if turn else n]]
print(f"{name}: {frames} frames decoded by FFmpeg, {len(differ)} differ from the Vulkan pass's output"
      + (f" (first {differ[:5]})" if differ else ""))
sys.exit(1 if differ or frames == 0 else 0)
PY
}
check standin-h264.bin h264 standin-expected.nv12 8
check standin-hevc.bin hevc standin-expected.nv12 8
check standin-hevc-split2.bin hevc standin-expected.nv12 8
check standin-hevc-p010-hdr10.bin hevc standin-expected.p010 8 p010le
check standin-cpu-h264.bin h264 standin-cpu-expected.nv12 0
exit $status
