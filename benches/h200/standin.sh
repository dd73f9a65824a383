#!/usr/bin/env bash
# The NVENC backend against the STAND-IN encoder library on the lent GPU, on its own or from
# run.sh: bash benches/h200/standin.sh OUT (alone, after `. benches/h200/setup.sh`, or as
# `out=$OUT; . benches/h200/setup.sh; bash benches/h200/standin.sh "$out"`). Needs .h200 from
# prepare.sh. Writes OUT/nvenc_standin.txt and OUT/standin/ (the call log's summary, the streams
# xz-compressed for check-standin.sh).
set -u
out=${1:?usage: standin.sh OUT}
echo "== NVENC backend end to end against the STAND-IN encoder library (testing/nvenc-standin: checks NVIDIA's rules, writes PCM; not NVIDIA's encoder)"
rm -rf /tmp/standin && mkdir -p /tmp/standin "$out/standin"
LD_LIBRARY_PATH="$PWD/.h200/standin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  GHOSTSTREAM_NVENC_STANDIN_LOG=/tmp/standin/calls.log GHOSTSTREAM_STANDIN_OUT=/tmp/standin \
  GHOSTSTREAM_REQUIRE_GPU=1 GHOSTSTREAM_REQUIRE_CUDA=1 \
  .h200/nvenc_standin_test --test-threads 1 --nocapture > "$out/nvenc_standin.txt" 2>&1
echo "tests exit code: $?" | tee -a "$out/nvenc_standin.txt"
grep -E "^STAND-IN|^test |test result|SKIPPED|panicked" "$out/nvenc_standin.txt"
{
  head -3 /tmp/standin/calls.log
  echo "lines: $(wc -l < /tmp/standin/calls.log)"
  for kind in call VIOLATION LIMITATION FAULT; do echo "$kind: $(grep -c "^$kind " /tmp/standin/calls.log)"; done
  grep -E "^(VIOLATION|LIMITATION|FAULT) " /tmp/standin/calls.log | head -40
  grep -E "nvEncReconfigureEncoder|IDR ts 1000 " /tmp/standin/calls.log | head -10
} > "$out/standin/calls-summary.txt" 2>&1
cat "$out/standin/calls-summary.txt" | head -30
# Injected faults, one a process (the stand-in reads its fault list once).
for fault in busy@5 oom@5 lost@5 need_more_input@5 no_encoder; do
  LD_LIBRARY_PATH="$PWD/.h200/standin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    GHOSTSTREAM_NVENC_STANDIN_LOG="/tmp/standin/fault-$fault.log" GHOSTSTREAM_NVENC_STANDIN_FAULT="$fault" \
    GHOSTSTREAM_REQUIRE_CUDA=1 .h200/nvenc_standin_test --exact injected_faults_give_the_documented_errors --nocapture \
    > "$out/standin/fault-$fault.txt" 2>&1
  echo "fault $fault: tests exit code $?" | tee -a "$out/standin/fault-$fault.txt"
  grep -E "^STAND-IN|panicked|test result" "$out/standin/fault-$fault.txt"
done
# The stand-in as a Blackwell GPU (three engines): split-frame over three engines accepted.
LD_LIBRARY_PATH="$PWD/.h200/standin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  GHOSTSTREAM_NVENC_STANDIN_LOG=/tmp/standin/blackwell.log GHOSTSTREAM_NVENC_STANDIN_GPU=blackwell \
  GHOSTSTREAM_REQUIRE_CUDA=1 .h200/nvenc_standin_test --exact split_frame_over_three_engines_needs_a_gpu_with_three --nocapture \
  > "$out/standin/blackwell.txt" 2>&1
echo "blackwell: tests exit code $?" | tee -a "$out/standin/blackwell.txt"
grep -E "^STAND-IN|panicked|test result" "$out/standin/blackwell.txt"
# The streams (PCM of 8 pictures in turn: xz finds the repeats) and the pass's own output, for
# benches/h200/check-standin.sh to decode here with FFmpeg.
for f in /tmp/standin/*.bin /tmp/standin/*.nv12 /tmp/standin/*.p010; do
  [ -e "$f" ] && xz -T0 -9 -c "$f" > "$out/standin/$(basename "$f").xz"
done
ls -la "$out/standin"

