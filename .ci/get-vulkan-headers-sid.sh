#!/usr/bin/env bash
# Fetches Debian sid's Vulkan headers (libvulkan-dev) into a private directory, for the
# intra-refresh layout test (tests/vulkan_intra_refresh_layout.rs) alone: trixie's 1.4.309 predates
# VK_KHR_video_encode_intra_refresh. Nothing is installed system-wide; the package is only
# unpacked, never configured.
# Usage: get-vulkan-headers-sid.sh [DIR]   (default ~/.cache/ghoststream/vulkan-headers-sid)
set -euo pipefail
dir=${1:-$HOME/.cache/ghoststream/vulkan-headers-sid}
root=$dir/root
inc=$root/usr/include
[ -f "$dir/ready" ] && grep -qs 'VK_KHR_video_encode_intra_refresh' "$inc/vulkan/vulkan_core.h" &&
  { echo "vulkan-headers-sid: ready ($(cat "$dir/ready"), $inc)"; exit 0; }
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs"
# The Debian archive this system already uses (its apt sources: deb822 `URIs:` in
# sources.list.d/*.sources, or one-line `deb URI bookworm ...` entries), for sid.
mirror=$(
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true
    grep -hsE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true; } |
    awk '$1 == "URIs:" {print $2} $1 == "deb" && $3 ~ /^(bookworm|trixie|sid|unstable)/ {print $2}' |
    grep -v -- '-security' | head -1 || true
)
[ -n "$mirror" ] || { echo "vulkan-headers-sid: no Debian archive in this system's apt sources" >&2; exit 1; }
echo "deb ${mirror%/} sid main" > "$dir/apt/sources.list"
opts=(-o Dir::Etc::SourceList="$dir/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$dir/apt/lists" -o Dir::Cache="$dir/apt/cache" -o Debug::NoLocking=1
      -o APT::Sandbox::User="$(id -un)")
apt-get "${opts[@]}" update -qq
version=$(apt-cache "${opts[@]}" show libvulkan-dev/sid 2>/dev/null | sed -n 's/^Version: //p' | head -1)
[ -n "$version" ] || { echo "vulkan-headers-sid: libvulkan-dev is not in sid at ${mirror%/}" >&2; exit 1; }
# 1.4.321 is the first header release with VK_KHR_video_encode_intra_refresh (1.4.320 has none).
if ! dpkg --compare-versions "$version" ge 1.4.321; then
  echo "vulkan-headers-sid: sid's libvulkan-dev is $version, not >= 1.4.321" >&2; exit 1
fi
rm -rf "$dir"/debs/*.deb "$root"
mkdir -p "$root"
(cd "$dir/debs" && apt-get "${opts[@]}" download libvulkan-dev/sid)
dpkg-deb -x "$dir"/debs/libvulkan-dev_*.deb "$root"
[ -f "$inc/vulkan/vulkan_core.h" ] ||
  { echo "vulkan-headers-sid: $inc/vulkan/vulkan_core.h missing after unpacking" >&2; exit 1; }
grep -q '^#define VK_KHR_video_encode_intra_refresh 1' "$inc/vulkan/vulkan_core.h" ||
  { echo "vulkan-headers-sid: $inc/vulkan/vulkan_core.h has no VK_KHR_video_encode_intra_refresh" >&2; exit 1; }
header=$(sed -n 's/^#define VK_HEADER_VERSION \([0-9]*\)$/\1/p' "$inc/vulkan/vulkan_core.h")
echo "libvulkan-dev $version (VK_HEADER_VERSION $header)" > "$dir/ready"
echo "vulkan-headers-sid: libvulkan-dev $version unpacked; headers in $inc"
