#!/usr/bin/env bash
# Fetches Debian sid's Khronos validation layer (vulkan-validationlayers 1.4.321 or newer, the
# first releases that know VK_KHR_video_encode_intra_refresh; trixie's 1.4.309 predates it) into
# a private directory; .ci/with-vvl-sid runs one program with it. Its C and C++ runtimes are
# trixie's, reused from .ci/get-vulkan-validation-trixie.sh's directory (that script runs first
# when it is not ready): DIR/lib is a link to its lib/, and the layer is checked to find every
# library and symbol version it needs there (1.4.363 asks for glibc >= 2.38 and GCC 14's
# libstdc++, trixie has 2.41 and 14.2). Nothing is installed system-wide; sid's package is only
# unpacked. It writes a layer manifest whose library_path names the private .so.
# Usage: get-vulkan-validation-sid.sh [DIR]   (default ~/.cache/ghoststream/vvl-sid)
# Environment: GHOSTSTREAM_VVL_TRIXIE, trixie's directory (default ~/.cache/ghoststream/vvl-trixie).
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
. "$here/lib/debian-suite.sh"
. "$here/lib/vvl-layer.sh"
dir=$(realpath -m -- "${1:-$HOME/.cache/ghoststream/vvl-sid}")
trixie=$(realpath -m -- "${GHOSTSTREAM_VVL_TRIXIE:-$HOME/.cache/ghoststream/vvl-trixie}")
root=$dir/root
[ -f "$dir/ready" ] && [ -f "$dir/layer/VkLayer_khronos_validation.json" ] &&
  [ -e "$dir/lib/ld-linux-x86-64.so.2" ] &&
  { echo "vvl-sid: ready ($(cat "$dir/ready"), $dir)"; exit 0; }
bash "$here/get-vulkan-validation-trixie.sh" "$trixie"
ds_init vvl-sid "$dir" sid
layer_version=$(ds_version vulkan-validationlayers) || exit 1
# 1.4.321 is the first Vulkan release with VK_KHR_video_encode_intra_refresh.
if ! dpkg --compare-versions "$layer_version" ge 1.4.321; then
  echo "vvl-sid: sid's vulkan-validationlayers is $layer_version, not >= 1.4.321" >&2; exit 1
fi
rm -rf "$root" "$dir/layer" "$dir/lib"
ds_download vulkan-validationlayers
ds_unpack "$root"
so=$root/usr/lib/$(ds_multiarch)/libVkLayer_khronos_validation.so
manifest=$root/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json
for f in "$so" "$manifest" "$trixie/lib/ld-linux-x86-64.so.2"; do
  [ -e "$f" ] || { echo "vvl-sid: $f missing" >&2; exit 1; }
done
# Trixie's runtimes, first on the loader's library path as for trixie's layer.
ln -s "$trixie/lib" "$dir/lib"
vvl_check_resolves vvl-sid "$dir/lib/ld-linux-x86-64.so.2" "$dir/lib" "$so"
api=$(vvl_write_manifest vvl-sid "$manifest" "$so" "$dir") || exit 1
glibc=$("$dir/lib/ld-linux-x86-64.so.2" --version | sed -n '1s/.*version \([0-9.]*\)\.$/\1/p')
echo "layer $layer_version (api $api), glibc $glibc (trixie's, $trixie/lib)" > "$dir/ready"
echo "vvl-sid: validation layer $layer_version (api $api) unpacked in $root, with trixie's glibc $glibc"
