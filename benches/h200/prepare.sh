#!/usr/bin/env bash
# Builds, here, everything benches/h200/run.sh runs on the H200 (nothing is built there):
# the Vulkan loader .debs in .gl and the test and benchmark executables in .h200.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d .gl ] || bash ../shared/tools/get-vulkan-loader.sh .gl
mkdir -p .h200
tests=(gpu_convert gpu_process gpu_embed gpu_interop gpu_handoff gpu_picture cuda_handoff nvenc_driver nvenc_standin)
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done
cargo test -p ghoststream --release --no-default-features --lib "${args[@]}" --no-run --message-format=json 2>/dev/null |
  python3 -c '
import json, shutil, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        kind = m["target"]["kind"]
        if kind == ["test"]:
            shutil.copy(m["executable"], ".h200/%s_test" % m["target"]["name"])
        elif "lib" in kind:
            shutil.copy(m["executable"], ".h200/lib_test")
'
cargo bench -p ghoststream --no-default-features --bench gpu_convert --no-run --message-format=json 2>/dev/null |
  python3 -c '
import json, shutil, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["bench"]:
        shutil.copy(m["executable"], ".h200/gpu_convert_bench")
'
# The tool without FFmpeg (no encoders there): `ghoststream bench --gpu-passes` runs from it.
cargo build -p ghoststream-tools --release --no-default-features --message-format=json 2>/dev/null |
  python3 -c '
import json, shutil, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "ghoststream":
        shutil.copy(m["executable"], ".h200/ghoststream")
'
# The NVENC STAND-IN (testing/nvenc-standin), under the name the backend loads, first on
# LD_LIBRARY_PATH there: a copy, not a link (links travel as links).
cargo build -p ghoststream-nvenc-standin --release --message-format=json 2>/dev/null |
  python3 -c '
import json, os, shutil, sys
os.makedirs(".h200/standin", exist_ok=True)
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "ghoststream_nvenc_standin":
        for f in m["filenames"]:
            if f.endswith(".so"):
                shutil.copy(f, ".h200/standin/libnvidia-encode.so.1")
'
# Debug info is not needed there and would take the carried tree past its size limit.
find .h200 -type f -exec strip {} +
ls -la .h200 .h200/standin
