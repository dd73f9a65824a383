#!/usr/bin/env bash
# Fetches Debian trixie's Vulkan headers (libvulkan-dev 1.4.x) into a private directory, for the
# AV1-encode layout test (tests/vulkan_av1_layout.rs) alone: Debian 12's libvulkan-dev 1.3.239
# predates VK_KHR_video_encode_av1 and its std-video header. Nothing is installed system-wide;
# the package is only unpacked, never configured.
# Usage: get-vulkan-headers-trixie.sh [DIR]   (default ~/.cache/ghoststream/vulkan-headers-trixie)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/debian-suite.sh"
dir=${1:-$HOME/.cache/ghoststream/vulkan-headers-trixie}
root=$dir/root
inc=$root/usr/include
[ -f "$dir/ready" ] && [ -f "$inc/vk_video/vulkan_video_codec_av1std_encode.h" ] &&
  { echo "vulkan-headers-trixie: ready ($(cat "$dir/ready"), $inc)"; exit 0; }
ds_init vulkan-headers-trixie "$dir" trixie
version=$(ds_version libvulkan-dev) || exit 1
# 1.3.290 is the first header release with VK_KHR_video_encode_av1.
if ! dpkg --compare-versions "$version" ge 1.3.290; then
  echo "vulkan-headers-trixie: trixie's libvulkan-dev is $version, not >= 1.3.290" >&2; exit 1
fi
rm -rf "$root"
ds_download libvulkan-dev
ds_unpack "$root"
for f in "$inc/vulkan/vulkan_core.h" "$inc/vk_video/vulkan_video_codec_av1std.h" \
         "$inc/vk_video/vulkan_video_codec_av1std_encode.h"; do
  [ -f "$f" ] || { echo "vulkan-headers-trixie: $f missing after unpacking" >&2; exit 1; }
done
grep -q 'VK_KHR_video_encode_av1' "$inc/vulkan/vulkan_core.h" ||
  { echo "vulkan-headers-trixie: $inc/vulkan/vulkan_core.h has no VK_KHR_video_encode_av1" >&2; exit 1; }
header=$(sed -n 's/^#define VK_HEADER_VERSION \([0-9]*\)$/\1/p' "$inc/vulkan/vulkan_core.h")
echo "libvulkan-dev $version (VK_HEADER_VERSION $header)" > "$dir/ready"
echo "vulkan-headers-trixie: libvulkan-dev $version unpacked; headers in $inc"
