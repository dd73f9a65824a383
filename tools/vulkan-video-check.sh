#!/usr/bin/env bash
# For a user with a GPU whose Vulkan driver has a video-encode queue (VK_KHR_video_encode_queue
# with H.264/H.265/AV1: NVIDIA, AMD RADV, Intel ANV): encodes with each codec through
# `ghoststream encode --encoder vulkan`, decodes every result with ffmpeg, and checks frame
# counts, PSNR against the source, keyframe spacing and a constant-QP run; reports encode
# latency (submit to packet, from --stats) and throughput. Nothing here has run on real
# video-encode hardware yet (no reachable machine has one): please send the report it writes.
#
#   bash tools/vulkan-video-check.sh [WORKDIR]        # needs ffmpeg/ffprobe and the GPU's Vulkan driver
#   FRAMES=60 SIZE=1280x720 bash tools/vulkan-video-check.sh   # a shorter run
#   TEST_DRIVER=1 bash tools/vulkan-video-check.sh    # the same checks on GhostStream's test
#       driver (testing/video-icd: PCM output, so PSNR is infinite; its AV1 tiles are not real,
#       so AV1 is checked by packet counts there, not decoded) — to test this script itself
#
# Exit status: 0 when every check passed; the report (WORKDIR/report.txt) lists each check.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d /tmp/ghoststream-vulkan-video.XXXXXX)}
mkdir -p "$work"
report="$work/report.txt"
frames=${FRAMES:-300}
size=${SIZE:-1920x1080}
fps=60
min_psnr=35
failures=0

for tool in ffmpeg ffprobe python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed (apt-get install ffmpeg python3)"; exit 2; }
done
cargo build --release -q -p ghoststream-tools
target=${CARGO_TARGET_DIR:-target}
gs=$target/release/ghoststream
if [ "${TEST_DRIVER:-0}" = 1 ]; then
  cargo build --release -q -p ghoststream-video-icd
  lib=$(cd "$target" && pwd)/release/libghoststream_video_icd.so
  printf '{"file_format_version":"1.0.1","ICD":{"library_path":"%s","api_version":"1.3.277"}}\n' "$lib" >"$work/icd.json"
  export VK_DRIVER_FILES=$work/icd.json VK_ICD_FILENAMES=$work/icd.json
fi

. tools/check-common.sh

: >"$report"
say "GhostStream Vulkan Video check, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)${TEST_DRIVER:+ (TEST DRIVER: a stand-in, not hardware)}"
"$gs" probe 2>&1 | grep -E '^(encode +vulkan|gpu )' | tee -a "$report" || true

say "== source: ffmpeg testsrc2, $size at $fps fps, $frames frames"
ffmpeg -v error -y -f lavfi -i "testsrc2=size=$size:rate=$fps" -frames:v "$frames" -pix_fmt yuv420p "$work/src.y4m"

# The frames of an encoded file: decoded, or (AV1 on the test driver, whose tiles are
# placeholders) the container's packets.
frames_of() { # file, codec
  if [ "$2" = av1 ] && [ "${TEST_DRIVER:-0}" = 1 ]; then
    ffprobe -v error -count_packets -select_streams v:0 -show_entries stream=nb_read_packets -of csv=p=0 "$1"
  else count "$1"; fi
}
keyframes_of() { # file, codec
  if [ "$2" = av1 ] && [ "${TEST_DRIVER:-0}" = 1 ]; then
    ffprobe -v error -select_streams v:0 -show_entries packet=flags -of csv=p=0 "$1" | grep -c '^K' || true
  else ffprobe -v error -select_streams v:0 -show_entries frame=key_frame -of csv=p=0 "$1" | grep -c '^1' || true; fi
}
quality_of() { # file, codec -> PSNR, or why none
  if [ "$2" = av1 ] && [ "${TEST_DRIVER:-0}" = 1 ]; then echo "n/a (test driver: structural AV1)"; else psnr "$1" "$work/src.y4m"; fi
}

for codec in h264 hevc av1; do
  case $codec in h264) ext=h264 qp=24 ;; hevc) ext=h265 qp=24 ;; av1) ext=ivf qp=96 ;; esac
  out="$work/$codec.$ext"
  say "== $codec: CBR 20 Mbit/s, a keyframe every 120 frames"
  start=$(date +%s.%N)
  if "$gs" encode -y --encoder vulkan --codec $codec -i "$work/src.y4m" --rc cbr --bitrate 20M \
      --keyint 120 --stats "$work/$codec.jsonl" -o "$out" 2>"$work/$codec.log"; then
    took=$(python3 -c "import time; print('%.1f' % ($frames / (time.time() - $start)))")
    n=$(frames_of "$out" $codec); p=$(quality_of "$out" $codec); read -r med p95 < <(latency "$work/$codec.jsonl")
    say "  frames $n, PSNR $p dB, encode latency median ${med} µs, p95 ${p95} µs, ~$took frames/s end to end"
    check "$codec: $frames frames decode" test "$n" = "$frames"
    case $p in n/a*) ;; *)
      check "$codec: PSNR >= $min_psnr dB" python3 -c "import sys; sys.exit(0 if float('$p'.replace('inf','99')) >= $min_psnr else 1)" ;;
    esac
    keys=$(keyframes_of "$out" $codec)
    check "$codec: keyframe every 120 frames ($keys keyframes)" test "$keys" = $(((frames + 119) / 120))
  else
    say "FAIL  $codec: encode failed: $(tail -1 "$work/$codec.log")"; failures=$((failures + 1))
  fi
  out="$work/cqp.$ext"
  say "== $codec: constant QP $qp"
  if "$gs" encode -y --encoder vulkan --codec $codec -i "$work/src.y4m" --rc cqp --qp $qp -o "$out" 2>"$work/cqp-$codec.log"; then
    p=$(quality_of "$out" $codec); say "  PSNR $p dB, $(stat -c %s "$out") bytes"
    check "$codec CQP: $frames frames decode" test "$(frames_of "$out" $codec)" = "$frames"
  else
    say "FAIL  $codec CQP: $(tail -1 "$work/cqp-$codec.log")"; failures=$((failures + 1))
  fi
done

say "== $failures failed; report: $report"
[ "$failures" = 0 ]
