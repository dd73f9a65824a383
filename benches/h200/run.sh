#!/usr/bin/env bash
# Runs on the lent H200 (device tool); builds there only the peers (benches/h200/peers.cu, with its
# nvcc). Prepare the rest here first:
#   bash ../shared/tools/get-vulkan-loader.sh .gl          # Vulkan loader + validation layer .debs
#   cargo test  --release --no-default-features --lib --test gpu_convert --test gpu_process \
#               --test gpu_embed --test gpu_interop --test gpu_handoff --test gpu_picture --test cuda_handoff --test nvenc_driver --no-run
#   cargo bench           --no-default-features --bench gpu_convert --no-run
#   copy the executables to .h200/<name>_test, .h200/lib_test and .h200/gpu_convert_bench
#   (benches/h200/prepare.sh does all of this, and builds the NVENC stand-in into .h200/standin)
# then run with carry [".gl", ".h200"]:  bash benches/h200/run.sh
# Writes everything under $OUT (or ./out/h200 outside the device tool).
set -u
out=${OUT:-out/h200}
mkdir -p "$out"
. benches/h200/setup.sh

echo "== GPU conversion tests with VK_LAYER_KHRONOS_validation on the real driver"
# The SPIR-V checks (glslc, spirv-val: not on that machine) are tests/shaders.rs, run in CI.
GHOSTSTREAM_REQUIRE_GPU=1 .h200/gpu_convert_test --test-threads 1 --nocapture \
  > "$out/validation.txt" 2>&1
echo "tests exit code: $?" | tee -a "$out/validation.txt"
grep -E "^device:|^test |test result|reported" "$out/validation.txt" | sort | uniq -c

echo "== Fused processing tests (scale, tone map, sharpen, 4:4:4) with validation on the real driver"
GHOSTSTREAM_REQUIRE_GPU=1 .h200/gpu_process_test --test-threads 4 --nocapture \
  > "$out/validation_process.txt" 2>&1
echo "tests exit code: $?" | tee -a "$out/validation_process.txt"
grep -E "^device:|^test |test result|reported|refused" "$out/validation_process.txt" | sort | uniq -c

echo "== Frames in an embedding application's own images; memory and timelines exported as fds; the hand-off rotation and a session reading it in place"
for t in gpu_embed gpu_interop gpu_handoff; do
  GHOSTSTREAM_REQUIRE_GPU=1 .h200/${t}_test --test-threads 1 --nocapture > "$out/$t.txt" 2>&1
  echo "tests exit code: $?" | tee -a "$out/$t.txt"
  grep -E "^device:|^test |test result|reported|SKIPPED|samples|video-encode queue" "$out/$t.txt" | sort | uniq -c
done

echo "== The pass writing straight into NV12/P010 picture images (an encoder's input images, no video usage: no encode queue here)"
GHOSTSTREAM_REQUIRE_GPU=1 GHOSTSTREAM_PICTURE_DEVICE=default .h200/gpu_picture_test --test-threads 1 --nocapture \
  > "$out/gpu_picture.txt" 2>&1
echo "tests exit code: $?" | tee -a "$out/gpu_picture.txt"
grep -E "^device:|^test |test result|reported|SKIPPED|code off|panicked" "$out/gpu_picture.txt"

echo "== Vulkan -> CUDA hand-off (imported memory and timelines), NVENC against the real driver"
GHOSTSTREAM_REQUIRE_GPU=1 GHOSTSTREAM_REQUIRE_CUDA=1 .h200/cuda_handoff_test --test-threads 1 --nocapture \
  > "$out/cuda_handoff.txt" 2>&1
echo "tests exit code: $?" | tee -a "$out/cuda_handoff.txt"
grep -E "^device:|^CUDA|^test |test result|reported|SKIPPED|hand-off|host signal|panicked" "$out/cuda_handoff.txt"
{
  GHOSTSTREAM_REQUIRE_NVENC_LIBRARY=1 .h200/nvenc_driver_test --nocapture 2>&1
  echo "tests exit code: $?"
  .h200/lib_test --nocapture nvenc:: cuda:: dmabuf:: 2>&1
  echo "tests exit code: $?"
  GHOSTSTREAM_REQUIRE_CUDA=1 .h200/lib_test --nocapture --exact \
    cuda::stream::tests::an_upload_from_pinned_memory_is_done_when_it_returns 2>&1
  echo "tests exit code: $?"
} > "$out/nvenc.txt"
grep -E "^driver|^NVENC|^CUDA|^--encoder|^test |test result|SKIPPED|panicked|exit code" "$out/nvenc.txt"
# Every structure the backend builds, given to the driver with no session: its own run, since
# a driver that does not guard a null handle would take the test binary down with it.
.h200/lib_test --nocapture --ignored driver_probe > "$out/nvenc_structures.txt" 2>&1
echo "tests exit code: $?" | tee -a "$out/nvenc_structures.txt"
grep -E "^NV_ENC|test result|panicked" "$out/nvenc_structures.txt"

bash benches/h200/standin.sh "$out"

echo "== BGRA8 -> NV12 against a buffer copy of the same bytes; the fused pass's operations"
GHOSTSTREAM_BENCH_ITERATIONS=${ITERATIONS:-400} .h200/gpu_convert_bench 2>&1 | tee "$out/bench.txt"

echo "== Vulkan Video encode on the real driver: what probe says of each codec (a decode-only GPU: no video-encode queue, named)"
.h200/ghoststream probe 2>&1 | tee "$out/probe.txt" | grep -E "^encode +vulkan|^gpu" || true

echo "== ghoststream bench --gpu-passes: the report and charts from the tool itself"
.h200/ghoststream bench --gpu-passes --gpu-iterations "${ITERATIONS:-400}" --out "$out/bench" 2>&1 | tail -40

echo "== The peers in the same run: NPP, plain CUDA kernels and a device copy of the same bytes (benches/h200/peers.cu, compiled here)"
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
if "$nvcc" -O3 -arch=sm_90 -o "$out/peers" benches/h200/peers.cu -lnppicc -lnppig -lnppc > "$out/peers_build.txt" 2>&1; then
  ITERATIONS=${ITERATIONS:-400} "$out/peers" "$out" 2>&1 | tee "$out/peers.txt"
  rm -f "$out/peers"
else
  echo "nvcc failed:"; cat "$out/peers_build.txt"
fi

# The device tool brings back only a few files: everything goes back as one archive.
if [ -n "${OUT:-}" ]; then
  tar czf /tmp/h200-run.tgz -C "$out" . && rm -rf "${out:?}"/* && mv /tmp/h200-run.tgz "$out/"
fi
