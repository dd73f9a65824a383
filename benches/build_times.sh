#!/usr/bin/env bash
# Build times of the workspace on this machine, for the crate-split decision (docs/DESIGN.md,
# "One crate or several"). Prints, for each case, the median of RUNS wall-clock seconds.
#
#   bash benches/build_times.sh [RUNS]        (default 3; dependencies must be built once first)
#
# Cases:
#  - "edit X": a one-line change inside a function body of file X, then `cargo build -p
#    ghoststream --lib` (the crate alone) and `cargo build --workspace` (plus the tool and the C
#    library that link it); the file is restored afterwards and rebuilt, untimed.
#  - "crate from scratch": `cargo clean -p ghoststream`, then `cargo build -p ghoststream --lib`
#    (all dependencies already built): what one crate costs to compile whole.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
target=${CARGO_TARGET_DIR:-target}
cargo build --workspace -q

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timed() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -1; }

edit_case() {
  local file=$1 from=$2 to=$3 lib=() all=()
  grep -q -- "$from" "$file" || { echo "no '$from' in $file" >&2; exit 1; }
  cp "$file" "$target/.build_times_backup"
  for _ in $(seq "$runs"); do
    sed -i "s/$from/$to/" "$file"
    lib+=("$(timed cargo build -q -p ghoststream --lib)")
    all+=("$(timed cargo build -q --workspace)")
    cp "$target/.build_times_backup" "$file"
    cargo build -q --workspace
  done
  printf 'edit %-22s lib %6ss  workspace %6ss\n' "$file" \
    "$(printf '%s\n' "${lib[@]}" | median)" "$(printf '%s\n' "${all[@]}" | median)"
}

echo "machine: $(nproc) cores; $(cargo --version)"
edit_case src/time.rs '"{:.3} ms"' '"{:.4} ms"'
edit_case src/output/raw.rs 'packet of {} bytes' 'packet of {} byte(s)'
edit_case src/gpu/convert.rs 'input of {} bytes' 'input of {} byte(s)'
edit_case src/encode/software.rs 'through libavcodec' 'via libavcodec'
scratch=()
for _ in $(seq "$runs"); do
  cargo clean -q -p ghoststream
  scratch+=("$(timed cargo build -q -p ghoststream --lib)")
done
printf 'crate from scratch            lib %6ss\n' "$(printf '%s\n' "${scratch[@]}" | median)"
cargo build -q --workspace
