# Shared by tools/nvenc-check.sh and tools/vulkan-video-check.sh (sourced, not run): the report
# lines, one check, and the figures read from an encode (frame count, PSNR, latency).
# Expects $report (the report file) and $work (the work directory); counts failures in $failures.

say() { echo "$*" | tee -a "$report"; }
check() { # name, condition command...
  local name=$1; shift
  if "$@" >>"$work/log.txt" 2>&1; then say "PASS  $name"; else say "FAIL  $name"; failures=$((failures + 1)); fi
}
count() { ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$1"; }
psnr() { # decoded file, source y4m -> average PSNR (dB)
  ffmpeg -v info -i "$1" -i "$2" -lavfi "[0:v][1:v]psnr" -f null - 2>&1 | sed -n 's/.*PSNR.* average:\([0-9.inf]*\).*/\1/p' | tail -1
}
latency() { # --stats file (JSON lines) -> "median p95" of submit → packet, in µs
  python3 - "$1" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
v = sorted((r["packet_ready_ns"] - r["submit_ns"]) / 1000 for r in rows
           if r.get("packet_ready_ns") is not None and r.get("submit_ns") is not None)
print("%.0f %.0f" % (v[len(v) // 2], v[int(len(v) * 0.95)]) if v else "n/a n/a")
PY
}
