#!/usr/bin/env bash
# Fetches Debian trixie's Khronos validation layer (vulkan-validationlayers 1.4.x, the first
# releases that check video encode: AV1 encode from 1.4.303) into a private directory, with the
# trixie libc6, libstdc++6 and libgcc-s1 it is built against (it needs glibc >= 2.38 and
# libstdc++ from GCC 14; Debian 12 has 2.36 and GCC 12). The system's layer (1.3.239) stays the
# default; .ci/with-vvl-trixie runs one program with this one, through trixie's dynamic loader.
# It writes a layer manifest whose library_path names the private .so.
# Usage: get-vulkan-validation-trixie.sh [DIR]   (default ~/.cache/ghoststream/vvl-trixie)
set -euo pipefail
dir=${1:-$HOME/.cache/ghoststream/vvl-trixie}
root=$dir/root
[ -f "$dir/ready" ] && [ -f "$dir/layer/VkLayer_khronos_validation.json" ] &&
  { echo "vvl-trixie: ready ($(cat "$dir/ready"), $dir)"; exit 0; }
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs"
# The Debian archive this system already uses (its apt sources: deb822 `URIs:` in
# sources.list.d/*.sources, or one-line `deb URI bookworm ...` entries), for trixie.
mirror=$(
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true
    grep -hsE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true; } |
    awk '$1 == "URIs:" {print $2} $1 == "deb" && $3 ~ /^(bookworm|trixie)/ {print $2}' |
    grep -v -- '-security' | head -1 || true
)
[ -n "$mirror" ] || { echo "vvl-trixie: no Debian archive in this system's apt sources" >&2; exit 1; }
echo "deb ${mirror%/} trixie main" > "$dir/apt/sources.list"
opts=(-o Dir::Etc::SourceList="$dir/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$dir/apt/lists" -o Dir::Cache="$dir/apt/cache" -o Debug::NoLocking=1
      -o APT::Sandbox::User="$(id -un)")
apt-get "${opts[@]}" update -qq
packages=(vulkan-validationlayers libc6 libstdc++6 libgcc-s1)
for p in "${packages[@]}"; do
  v=$(apt-cache "${opts[@]}" show "$p/trixie" 2>/dev/null | sed -n 's/^Version: //p' | head -1)
  [ -n "$v" ] || { echo "vvl-trixie: package $p is not in trixie at ${mirror%/}" >&2; exit 1; }
  [ "$p" = vulkan-validationlayers ] && layer_version=$v
done
# 1.4.303 is the first layer release that knows the AV1 encode structures.
if ! dpkg --compare-versions "$layer_version" ge 1.4.303; then
  echo "vvl-trixie: trixie's vulkan-validationlayers is $layer_version, not >= 1.4.303" >&2; exit 1
fi
rm -rf "$dir"/debs/*.deb "$root" "$dir/layer" "$dir/lib"
mkdir -p "$root" "$dir/layer" "$dir/lib"
(cd "$dir/debs" && apt-get "${opts[@]}" download "${packages[@]/%//trixie}")
for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
tlib=$root/usr/lib/$multiarch
so=$tlib/libVkLayer_khronos_validation.so
for f in "$tlib/ld-linux-x86-64.so.2" "$tlib/libc.so.6" "$tlib/libstdc++.so.6" "$tlib/libgcc_s.so.1" \
         "$so" "$root/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json"; do
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
resolved=$("$tlib/ld-linux-x86-64.so.2" --library-path "$dir/lib" --list "$so")
if grep -q 'not found' <<<"$resolved"; then
  echo "vvl-trixie: the layer's libraries do not all resolve:" >&2; echo "$resolved" >&2; exit 1
fi
# The manifest, with library_path naming the private .so (Debian's names a bare soname).
sed "s|\"library_path\": *\"[^\"]*\"|\"library_path\": \"$so\"|" \
  "$root/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json" \
  > "$dir/layer/VkLayer_khronos_validation.json"
grep -q "\"library_path\": \"$so\"" "$dir/layer/VkLayer_khronos_validation.json" ||
  { echo "vvl-trixie: could not set library_path in the layer manifest" >&2; exit 1; }
api=$(sed -n 's/.*"api_version": *"\([0-9.]*\)".*/\1/p' "$dir/layer/VkLayer_khronos_validation.json" | head -1)
glibc=$("$tlib/ld-linux-x86-64.so.2" --version | sed -n '1s/.*version \([0-9.]*\)\.$/\1/p')
echo "layer $layer_version (api $api), glibc $glibc" > "$dir/ready"
echo "vvl-trixie: validation layer $layer_version (api $api) and glibc $glibc unpacked in $root"
