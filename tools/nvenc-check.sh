#!/usr/bin/env bash
# For a user with an NVENC GPU: encodes with each codec through `ghoststream encode --encoder
# nvenc`, decodes every result with ffmpeg, and checks frame counts, PSNR against the source,
# lossless round trips, HDR10 metadata and intra refresh; reports per-frame encode latency
# (submit to packet, from --stats) and throughput. Nothing here has run on real NVENC hardware
# yet (no reachable machine has an encoder engine): please send the report it writes.
#
#   bash tools/nvenc-check.sh [WORKDIR]        # needs ffmpeg/ffprobe and the NVIDIA driver
#   FRAMES=60 SIZE=1280x720 bash tools/nvenc-check.sh   # a shorter run
#
# Exit status: 0 when every check passed; the report (WORKDIR/report.txt) lists each check.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d /tmp/ghoststream-nvenc.XXXXXX)}
mkdir -p "$work"
report="$work/report.txt"
frames=${FRAMES:-300}
size=${SIZE:-1920x1080}
fps=60
min_psnr=35
failures=0
# ENCODER=software runs the same checks on the software path (to test this script itself)
encoder=${ENCODER:-nvenc}

for tool in ffmpeg ffprobe python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed (apt-get install ffmpeg python3)"; exit 2; }
done
cargo build --release -q -p ghoststream-tools
gs=target/release/ghoststream

. tools/check-common.sh

: >"$report"
say "GhostStream NVENC check, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/GPU: /' | tee -a "$report" || true
"$gs" probe 2>&1 | grep -i nvenc | tee -a "$report" || true

say "== sources: ffmpeg testsrc2, $size at $fps fps, $frames frames (8-bit and 10-bit)"
ffmpeg -v error -y -f lavfi -i "testsrc2=size=$size:rate=$fps" -frames:v $frames -pix_fmt yuv420p "$work/src8.y4m"
ffmpeg -v error -y -f lavfi -i "testsrc2=size=$size:rate=$fps" -frames:v $frames -pix_fmt yuv420p10le -strict -1 "$work/src10.y4m"

for codec in h264 hevc av1; do
  ext=$([ $codec = av1 ] && echo ivf || { [ $codec = h264 ] && echo h264 || echo h265; })
  out="$work/$codec.$ext"
  say "== $codec: CBR 20 Mbit/s, low latency"
  if "$gs" encode -y --encoder "$encoder" --codec $codec -i "$work/src8.y4m" --rc cbr --bitrate 20M \
      --tune ll --keyint 120 --stats "$work/$codec.jsonl" -o "$out" 2>"$work/$codec.log"; then
    say "  $(grep -o 'wrote.*' "$work/$codec.log" | head -1)"
    n=$(count "$out"); p=$(psnr "$out" "$work/src8.y4m"); read -r med p95 < <(latency "$work/$codec.jsonl")
    say "  decoded frames $n, PSNR $p dB, encode latency median ${med} µs, p95 ${p95} µs"
    check "$codec: $frames frames decode" test "$n" = $frames
    check "$codec: PSNR >= $min_psnr dB" python3 -c "import sys; sys.exit(0 if float('$p'.replace('inf','99')) >= $min_psnr else 1)"
    keys=$(ffprobe -v error -select_streams v:0 -show_entries frame=key_frame -of csv=p=0 "$out" | grep -c '^1' || true)
    check "$codec: keyframe every 120 frames ($keys keyframes)" test "$keys" = $(((frames + 119) / 120))
  else
    say "FAIL  $codec: encode failed: $(tail -1 "$work/$codec.log")"; failures=$((failures + 1))
  fi
done

for codec in h264 hevc; do
  ext=$([ $codec = h264 ] && echo h264 || echo h265)
  out="$work/lossless.$ext"
  say "== $codec lossless"
  if "$gs" encode -y --encoder "$encoder" --codec $codec -i "$work/src8.y4m" --tune lossless --rc cqp --qp 0 -o "$out" 2>"$work/lossless-$codec.log"; then
    a=$(ffmpeg -v error -i "$out" -f rawvideo -pix_fmt yuv420p - | md5sum | cut -d' ' -f1)
    b=$(ffmpeg -v error -i "$work/src8.y4m" -f rawvideo -pix_fmt yuv420p - | md5sum | cut -d' ' -f1)
    check "$codec lossless: decoded frames equal the source (md5 $a)" test "$a" = "$b"
  else
    say "FAIL  $codec lossless: $(tail -1 "$work/lossless-$codec.log")"; failures=$((failures + 1))
  fi
done

for codec in hevc av1; do
  ext=$([ $codec = av1 ] && echo ivf || echo h265)
  out="$work/hdr10.$ext"
  say "== $codec 10-bit HDR10"
  if "$gs" encode -y --encoder "$encoder" --codec $codec -i "$work/src10.y4m" --bit-depth 10 --transfer pq \
      --primaries bt2020 --matrix bt2020 --master-display bt2020-1000 --max-cll 1000,400 -o "$out" 2>"$work/hdr-$codec.log"; then
    side=$(ffprobe -v error -select_streams v:0 -show_frames -read_intervals %+#1 "$out")
    check "$codec HDR10: 10-bit decode" grep -q 'pix_fmt=yuv420p10le' <<<"$side"
    check "$codec HDR10: mastering display in the stream" grep -q 'Mastering display metadata' <<<"$side"
    check "$codec HDR10: MaxCLL 1000 in the stream" grep -q 'max_content=1000' <<<"$side"
    p=$(psnr "$out" "$work/src10.y4m"); say "  PSNR $p dB"
  else
    say "FAIL  $codec HDR10: $(tail -1 "$work/hdr-$codec.log")"; failures=$((failures + 1))
  fi
done

say "== hevc ultra low latency, infinite GOP, intra refresh every 60 frames"
out="$work/refresh.h265"
if "$gs" encode -y --encoder "$encoder" --codec hevc -i "$work/src8.y4m" --tune ull --keyint infinite \
    --intra-refresh 60 --stats "$work/refresh.jsonl" -o "$out" 2>"$work/refresh.log"; then
  keys=$(ffprobe -v error -select_streams v:0 -show_entries frame=key_frame -of csv=p=0 "$out" | grep -c '^1' || true)
  check "intra refresh: one keyframe in $frames frames ($keys)" test "$keys" = 1
  check "intra refresh: $frames frames decode" test "$(count "$out")" = $frames
  read -r med p95 < <(latency "$work/refresh.jsonl"); say "  encode latency median ${med} µs, p95 ${p95} µs"
else
  say "FAIL  intra refresh: $(tail -1 "$work/refresh.log")"; failures=$((failures + 1))
fi

say "== $failures failed; report: $report"
[ "$failures" = 0 ]
