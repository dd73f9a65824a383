#!/usr/bin/env bash
# Fetches Debian trixie's Vulkan headers (libvulkan-dev 1.4.x) into a private directory, for the
# AV1-encode layout test (tests/vulkan_av1_layout.rs) alone: Debian 12's libvulkan-dev 1.3.239
# predates VK_KHR_video_encode_av1 and its std-video header. Nothing is installed system-wide;
# the package is only unpacked, never configured.
# Usage: get-vulkan-headers-trixie.sh [DIR]   (default ~/.cache/ghoststream/vulkan-headers-trixie)
set -euo pipefail
dir=${1:-$HOME/.cache/ghoststream/vulkan-headers-trixie}
root=$dir/root
inc=$root/usr/include
[ -f "$dir/ready" ] && [ -f "$inc/vk_video/vulkan_video_codec_av1std_encode.h" ] &&
  { echo "vulkan-headers-trixie: ready ($(cat "$dir/ready"), $inc)"; exit 0; }
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs"
# The Debian archive this system already uses (its apt sources: deb822 `URIs:` in
# sources.list.d/*.sources, or one-line `deb URI bookworm ...` entries), for trixie.
mirror=$(
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true
    grep -hsE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true; } |
    awk '$1 == "URIs:" {print $2} $1 == "deb" && $3 ~ /^(bookworm|trixie)/ {print $2}' |
    grep -v -- '-security' | head -1 || true
)
[ -n "$mirror" ] || { echo "vulkan-headers-trixie: no Debian archive in this system's apt sources" >&2; exit 1; }
echo "deb ${mirror%/} trixie main" > "$dir/apt/sources.list"
opts=(-o Dir::Etc::SourceList="$dir/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$dir/apt/lists" -o Dir::Cache="$dir/apt/cache" -o Debug::NoLocking=1
      -o APT::Sandbox::User="$(id -un)")
apt-get "${opts[@]}" update -qq
version=$(apt-cache "${opts[@]}" show libvulkan-dev/trixie 2>/dev/null | sed -n 's/^Version: //p' | head -1)
[ -n "$version" ] || { echo "vulkan-headers-trixie: libvulkan-dev is not in trixie at ${mirror%/}" >&2; exit 1; }
# 1.3.290 is the first header release with VK_KHR_video_encode_av1.
if ! dpkg --compare-versions "$version" ge 1.3.290; then
  echo "vulkan-headers-trixie: trixie's libvulkan-dev is $version, not >= 1.3.290" >&2; exit 1
fi
rm -rf "$dir"/debs/*.deb "$root"
mkdir -p "$root"
(cd "$dir/debs" && apt-get "${opts[@]}" download libvulkan-dev/trixie)
dpkg-deb -x "$dir"/debs/libvulkan-dev_*.deb "$root"
for f in "$inc/vulkan/vulkan_core.h" "$inc/vk_video/vulkan_video_codec_av1std.h" \
         "$inc/vk_video/vulkan_video_codec_av1std_encode.h"; do
  [ -f "$f" ] || { echo "vulkan-headers-trixie: $f missing after unpacking" >&2; exit 1; }
done
grep -q 'VK_KHR_video_encode_av1' "$inc/vulkan/vulkan_core.h" ||
  { echo "vulkan-headers-trixie: $inc/vulkan/vulkan_core.h has no VK_KHR_video_encode_av1" >&2; exit 1; }
header=$(sed -n 's/^#define VK_HEADER_VERSION \([0-9]*\)$/\1/p' "$inc/vulkan/vulkan_core.h")
echo "libvulkan-dev $version (VK_HEADER_VERSION $header)" > "$dir/ready"
echo "vulkan-headers-trixie: libvulkan-dev $version unpacked; headers in $inc"
