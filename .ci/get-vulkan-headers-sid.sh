#!/usr/bin/env bash
# Fetches Debian sid's Vulkan headers (libvulkan-dev) into a private directory, for the
# intra-refresh layout test (tests/vulkan_intra_refresh_layout.rs) alone: trixie's 1.4.309 predates
# VK_KHR_video_encode_intra_refresh. Nothing is installed system-wide; the package is only
# unpacked, never configured.
# Usage: get-vulkan-headers-sid.sh [DIR]   (default ~/.cache/ghoststream/vulkan-headers-sid)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/debian-suite.sh"
dir=${1:-$HOME/.cache/ghoststream/vulkan-headers-sid}
root=$dir/root
inc=$root/usr/include
[ -f "$dir/ready" ] && grep -qs 'VK_KHR_video_encode_intra_refresh' "$inc/vulkan/vulkan_core.h" &&
  { echo "vulkan-headers-sid: ready ($(cat "$dir/ready"), $inc)"; exit 0; }
ds_init vulkan-headers-sid "$dir" sid
version=$(ds_version libvulkan-dev) || exit 1
# 1.4.321 is the first header release with VK_KHR_video_encode_intra_refresh (1.4.320 has none).
if ! dpkg --compare-versions "$version" ge 1.4.321; then
  echo "vulkan-headers-sid: sid's libvulkan-dev is $version, not >= 1.4.321" >&2; exit 1
fi
rm -rf "$root"
ds_download libvulkan-dev
ds_unpack "$root"
[ -f "$inc/vulkan/vulkan_core.h" ] ||
  { echo "vulkan-headers-sid: $inc/vulkan/vulkan_core.h missing after unpacking" >&2; exit 1; }
grep -q '^#define VK_KHR_video_encode_intra_refresh 1' "$inc/vulkan/vulkan_core.h" ||
  { echo "vulkan-headers-sid: $inc/vulkan/vulkan_core.h has no VK_KHR_video_encode_intra_refresh" >&2; exit 1; }
header=$(sed -n 's/^#define VK_HEADER_VERSION \([0-9]*\)$/\1/p' "$inc/vulkan/vulkan_core.h")
echo "libvulkan-dev $version (VK_HEADER_VERSION $header)" > "$dir/ready"
echo "vulkan-headers-sid: libvulkan-dev $version unpacked; headers in $inc"
