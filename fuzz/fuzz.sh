#!/usr/bin/env bash
# Builds and runs the fuzz targets with libFuzzer (the libfuzzer-sys crate) on the STABLE
# toolchain: the coverage instrumentation is LLVM's SanitizerCoverage pass, which stable rustc
# runs through -Cpasses/-Cllvm-args (no -Z flag, no cargo-fuzz). Debug assertions and overflow
# checks are on, so an arithmetic overflow is a crash.
#
#   fuzz/fuzz.sh build                 build every target
#   fuzz/fuzz.sh run TARGET [ARGS...]  run one target on its corpus (libFuzzer arguments after)
#   fuzz/fuzz.sh smoke [SECONDS]       build, then run every target SECONDS (default 5) each
#   fuzz/fuzz.sh list                  the targets
#
# FUZZ_FEATURES: cargo features of fuzz/Cargo.toml to turn on (targets of code still to land).
# FUZZ_TARGET_DIR: the cargo target directory, apart from the main one since the flags differ
# (default ~/.cache/ghoststream/fuzz-target, kept between checkouts so that only the
# workspace's own crates are rebuilt for a new one).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ghoststream/fuzz-target}
triple=$(rustc -vV | sed -n 's/^host: //p')
# The target triple is given explicitly so that these flags reach only the fuzzed code, not
# build scripts or proc macros.
export RUSTFLAGS="${RUSTFLAGS:-} -Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks -Cforce-frame-pointers"
bin_dir=$CARGO_TARGET_DIR/$triple/release
# The targets built: a target whose `required-features` are off is not (fuzz/Cargo.toml).
targets() {
  sed -n 's/^name = "\(.*\)"$/\1/p' "$here/Cargo.toml" | grep -v '^ghoststream-fuzz$' |
    while read -r t; do if [ -x "$bin_dir/$t" ]; then echo "$t"; fi; done
}

# Not --locked: when the workspace gains a dependency, fuzz/Cargo.lock takes it in (versions
# already there stay as they are).
build() {
  (cd "$here" && cargo build --release --target "$triple" --bins ${FUZZ_FEATURES:+--features "$FUZZ_FEATURES"})
}

# One target: its checked-in seeds (read only) and a scratch corpus it grows; crashes go to
# artifacts/TARGET/.
run() {
  local t=$1; shift
  local work=$here/corpus-work/$t art=$here/artifacts/$t
  mkdir -p "$work" "$art" "$here/corpus/$t"
  local dict=()
  [ -f "$here/dict/$t.dict" ] && dict=(-dict="$here/dict/$t.dict")
  # A private scratch directory (targets that need a file write there), in memory when it can.
  local scratch rc=0
  scratch=$(mktemp -d -p "$( [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")" ghoststream-fuzz.XXXXXX)
  TMPDIR=$scratch "$bin_dir/$t" -artifact_prefix="$art/" -rss_limit_mb=2048 -max_len=65536 \
    "${dict[@]}" "$@" "$work" "$here/corpus/$t" || rc=$?
  rm -rf "$scratch"
  return $rc
}

case ${1:-} in
  build) build ;;
  list) targets ;;
  run) shift; run "$@" ;;
  smoke)
    secs=${2:-5}
    build
    for t in $(targets); do
      log=$(mktemp)
      if run "$t" -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
        echo "fuzz $t: ${runs:-?} inputs in ${secs}s, ${cov:-cov: ?}, no crash"
        rm -f "$log"
      else
        tail -n 40 "$log" >&2
        echo "fuzz $t: FAILED (the input is in fuzz/artifacts/$t/; see fuzz/README.md)" >&2
        rm -f "$log"
        exit 1
      fi
    done ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
