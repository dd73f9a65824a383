#!/usr/bin/env bash
# Fetches Debian trixie's Khronos validation layer (vulkan-validationlayers 1.4.x, the first
# releases that check video encode: AV1 encode from 1.4.303) into a private directory, with the
# trixie libc6, libstdc++6 and libgcc-s1 it is built against (it needs glibc >= 2.38 and
# libstdc++ from GCC 14; Debian 12 has 2.36 and GCC 12). The system's layer (1.3.239) stays the
# default; .ci/with-vvl-trixie runs one program with this one, through trixie's dynamic loader.
# It writes a layer manifest whose library_path names the private .so.
# Usage: get-vulkan-validation-trixie.sh [DIR]   (default ~/.cache/ghoststream/vvl-trixie)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/debian-suite.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib/vvl-layer.sh"
dir=${1:-$HOME/.cache/ghoststream/vvl-trixie}
root=$dir/root
[ -f "$dir/ready" ] && [ -f "$dir/layer/VkLayer_khronos_validation.json" ] &&
  { echo "vvl-trixie: ready ($(cat "$dir/ready"), $dir)"; exit 0; }
ds_init vvl-trixie "$dir" trixie
packages=(vulkan-validationlayers libc6 libstdc++6 libgcc-s1)
for p in "${packages[@]}"; do
  v=$(ds_version "$p") || exit 1
  [ "$p" = vulkan-validationlayers ] && layer_version=$v
done
# 1.4.303 is the first layer release that knows the AV1 encode structures.
if ! dpkg --compare-versions "$layer_version" ge 1.4.303; then
  echo "vvl-trixie: trixie's vulkan-validationlayers is $layer_version, not >= 1.4.303" >&2; exit 1
fi
rm -rf "$root" "$dir/layer" "$dir/lib"
mkdir -p "$dir/lib"
ds_download "${packages[@]}"
ds_unpack "$root"
multiarch=$(ds_multiarch)
tlib=$root/usr/lib/$multiarch
so=$tlib/libVkLayer_khronos_validation.so
manifest=$root/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json
for f in "$tlib/ld-linux-x86-64.so.2" "$tlib/libc.so.6" "$tlib/libstdc++.so.6" "$tlib/libgcc_s.so.1" \
         "$so" "$manifest"; do
  [ -e "$f" ] || { echo "vvl-trixie: $f missing after unpacking" >&2; exit 1; }
done
# The directory put first on the loader's library path: the C and C++ runtimes alone (glibc's
# libraries must come from the same release as the dynamic loader), so that everything else
# (libvulkan, lavapipe, libLLVM, FFmpeg) still resolves to the system's libraries.
for f in "$tlib"/lib*.so.* "$tlib"/ld-linux-x86-64.so.2; do
  case $(basename "$f") in libVkLayer_*) continue ;; esac
  ln -s "$f" "$dir/lib/"
done
# Every library the layer needs resolves inside that directory or the system's, none missing.
vvl_check_resolves vvl-trixie "$tlib/ld-linux-x86-64.so.2" "$dir/lib" "$so"
# The manifest, with library_path naming the private .so.
api=$(vvl_write_manifest vvl-trixie "$manifest" "$so" "$dir") || exit 1
glibc=$("$tlib/ld-linux-x86-64.so.2" --version | sed -n '1s/.*version \([0-9.]*\)\.$/\1/p')
echo "layer $layer_version (api $api), glibc $glibc" > "$dir/ready"
echo "vvl-trixie: validation layer $layer_version (api $api) and glibc $glibc unpacked in $root"
