#!/usr/bin/env bash
# Installs the C ABI: the shared library (with its soname link), the static library, the
# header, the Zig interface and a pkg-config file, under PREFIX (below $DESTDIR when set: a
# staging root for a package; the pkg-config file still names PREFIX).
# Usage: ffi/install.sh PREFIX [BUILD_DIR]   (BUILD_DIR: where cargo put the libraries,
# default target/release; `make install PREFIX=...` builds them first)
set -euo pipefail
prefix=${1:?usage: install.sh PREFIX [BUILD_DIR]}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-${CARGO_TARGET_DIR:-$root/target}/release}
header=$root/ffi/include/ghoststream.h
for f in "$build/libghoststream.so" "$build/libghoststream.a" "$header"; do
  [ -f "$f" ] || { echo "install: $f is missing (build with: cargo build --release -p ghoststream-ffi)" >&2; exit 1; }
done
case $prefix in /*) ;; *) prefix=$(pwd)/$prefix ;; esac
dest=${DESTDIR:-}$prefix
# The ABI version, from the header: the file name carries all of it, the soname its major.
v() { sed -n "s/^#define GS_VERSION_$1 \([0-9]*\)$/\1/p" "$header"; }
major=$(v MAJOR) minor=$(v MINOR) patch=$(v PATCH)
version=$major.$minor.$patch
# What a static link needs besides the library (rustc's list for this build).
private=$(sed -n 's/^Libs.private: //p' "$root/ffi/static-libs.txt" 2>/dev/null || true)
install -d "$dest/lib/pkgconfig" "$dest/include" "$dest/share/ghoststream/zig"
install -m 0755 "$build/libghoststream.so" "$dest/lib/libghoststream.so.$version"
ln -sfn "libghoststream.so.$version" "$dest/lib/libghoststream.so.$major"
ln -sfn "libghoststream.so.$major" "$dest/lib/libghoststream.so"
install -m 0644 "$build/libghoststream.a" "$dest/lib/libghoststream.a"
install -m 0644 "$header" "$dest/include/ghoststream.h"
install -m 0644 "$root/ffi/zig/ghoststream.zig" "$dest/share/ghoststream/zig/ghoststream.zig"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" -e "s|@PRIVATE@|$private|" \
  "$root/ffi/ghoststream.pc.in" > "$dest/lib/pkgconfig/ghoststream.pc"
echo "install: libghoststream $version (soname libghoststream.so.$major) in $dest"
echo "install: build against it with: PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs ghoststream"
