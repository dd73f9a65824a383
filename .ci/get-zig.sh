#!/usr/bin/env bash
# Fetches the Zig toolchain the Zig interface's tests use: the `ziglang` wheel from PyPI
# (pinned), unpacked into a private directory (no pip install, so Debian's externally managed
# Python is left alone). Prints nothing more once it is there.
# Usage: get-zig.sh [DIR]   (default ~/.cache/ghoststream/zig-VERSION); the binary is DIR/ziglang/zig
set -euo pipefail
version=0.17.1
dir=${1:-$HOME/.cache/ghoststream/zig-$version}
[ -x "$dir/ziglang/zig" ] && { echo "zig: ready ($dir/ziglang/zig)"; exit 0; }
mkdir -p "$dir/wheel"
python3 -m pip download --quiet --no-deps --only-binary :all: --dest "$dir/wheel" "ziglang==$version"
python3 -m zipfile -e "$dir"/wheel/ziglang-"$version"-*.whl "$dir"
chmod +x "$dir/ziglang/zig"   # zip extraction drops the mode
rm -rf "$dir/wheel"
echo "zig: $("$dir/ziglang/zig" version) unpacked at $dir/ziglang/zig"
