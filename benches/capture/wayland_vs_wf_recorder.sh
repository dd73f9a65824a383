#!/usr/bin/env bash
# Capture benchmark: a headless sway at SIZE (default 1920x1080) whose screen changes every
# frame (weston's simple-shm client animating), recorded for DURATION seconds (default 30) at 60 fps by
# `ghoststream record` and then by wf-recorder, one after the other in this same run, both to
# H.264 with x264 ultrafast. Prints frames delivered, dropped, CPU time per frame (user+sys of
# the recording process) and GhostStream's capture-to-packet latency.
#
#   bash benches/capture/wayland_vs_wf_recorder.sh          # needs sway, weston, wf-recorder
#   SIZE=1280x720 DURATION=30 bash benches/capture/wayland_vs_wf_recorder.sh
#
# Runs as an ordinary user; as root, sway and the client run as nobody.
set -euo pipefail
DURATION=${DURATION:-30}
FPS=60
SIZE=${SIZE:-1920x1080}
root=$(cd "$(dirname "$0")/../.." && pwd)
tool=${GHOSTSTREAM:-$root/target/release/ghoststream}
[ -x "$tool" ] || (cd "$root" && cargo build --release -q -p ghoststream-tools)
for p in sway weston-presentation-shm wf-recorder ffprobe /usr/bin/time; do
  command -v "$p" >/dev/null || { echo "missing $p (apt-get install sway weston wf-recorder ffmpeg time)" >&2; exit 1; }
done

dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
as_user=()
if [ "$(id -u)" -eq 0 ]; then chown nobody "$dir"; as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi
printf 'xwayland disable\ndefault_border none\noutput HEADLESS-1 resolution %s bg #202020 solid_color\n' "$SIZE" > "$dir/config"
env WLR_BACKENDS=headless WLR_RENDERER=pixman WLR_LIBINPUT_NO_DEVICES=1 XDG_RUNTIME_DIR="$dir" HOME="$dir" \
  "${as_user[@]}" sway -c "$dir/config" >"$dir/sway.log" 2>&1 &
for _ in $(seq 100); do [ -S "$dir/wayland-1" ] && break; sleep 0.1; done
env XDG_RUNTIME_DIR="$dir" WAYLAND_DISPLAY=wayland-1 "${as_user[@]}" weston-presentation-shm -f >/dev/null 2>&1 &
sleep 1
export XDG_RUNTIME_DIR=$dir WAYLAND_DISPLAY=wayland-1

count() { ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$1"; }
cpu_ms() { awk '/User time/ {u=$4} /System time/ {s=$4} END {printf "%.0f", (u+s)*1000}' "$1"; }

echo "== ghoststream record, ${DURATION} s at ${SIZE} ${FPS} fps"
/usr/bin/time -v -o "$dir/gs.time" "$tool" record --source wayland --fps $FPS --seconds "$DURATION" \
  --codec h264 --encoder software --preset p1 -o "$dir/gs.h264" 2>"$dir/gs.err" || { cat "$dir/gs.err"; exit 1; }
gs_frames=$(count "$dir/gs.h264"); gs_cpu=$(cpu_ms "$dir/gs.time")
grep -E '^(capture:|median ms by stage)' "$dir/gs.err" || true

echo "== wf-recorder, ${DURATION} s"
/usr/bin/time -v -o "$dir/wf.time" wf-recorder -o HEADLESS-1 -c libx264 -p preset=ultrafast -f "$dir/wf.mp4" \
  >"$dir/wf.log" 2>&1 &
wf=$!
sleep "$DURATION"
kill -INT "$(pgrep -P $wf wf-recorder || echo $wf)" 2>/dev/null || true
wait $wf || true
wf_frames=$(count "$dir/wf.mp4"); wf_cpu=$(cpu_ms "$dir/wf.time")

want=$((DURATION * FPS))
printf '\n%-22s %10s %10s %14s\n' tool frames "of $want" "CPU ms/frame"
printf '%-22s %10s %10s %14.2f\n' "ghoststream record" "$gs_frames" "$want" "$(echo "$gs_cpu / $gs_frames" | bc -l)"
printf '%-22s %10s %10s %14.2f\n' "wf-recorder" "$wf_frames" "$want" "$(echo "$wf_cpu / $wf_frames" | bc -l)"
echo "CPU time: ghoststream ${gs_cpu} ms, wf-recorder ${wf_cpu} ms (user+sys, /usr/bin/time)"
