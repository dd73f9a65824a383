#!/usr/bin/env bash
# Fetches Mesa 25's lavapipe from bookworm-backports into a private directory (the system's
# Mesa 22.3 stays the default driver) and writes an ICD manifest for it. Only the DMA-BUF test
# (tests/gpu_dmabuf.rs) loads it: Mesa 22.3's lavapipe has no VK_EXT_external_memory_dma_buf.
# Usage: get-mesa25-lavapipe.sh [DIR]   (default ~/.cache/ghoststream/mesa25)
set -euo pipefail
dir=${1:-$HOME/.cache/ghoststream/mesa25}
[ -f "$dir/lvp.json" ] && { echo "mesa25: ready ($dir/lvp.json)"; exit 0; }
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs" "$dir/root"
# The Debian archive this system already uses (its apt sources: deb822 `URIs:` in
# sources.list.d/*.sources, or one-line `deb URI bookworm ...` entries), for bookworm-backports.
mirror=$(
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true
    grep -hsE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true; } |
    awk '$1 == "URIs:" {print $2} $1 == "deb" && $3 ~ /^bookworm/ {print $2}' |
    grep -v -- '-security' | head -1 || true
)
[ -n "$mirror" ] || { echo "mesa25: no Debian archive in this system's apt sources" >&2; exit 1; }
echo "deb ${mirror%/} bookworm-backports main" > "$dir/apt/sources.list"
opts=(-o Dir::Etc::SourceList="$dir/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$dir/apt/lists" -o Dir::Cache="$dir/apt/cache" -o Debug::NoLocking=1
      -o APT::Sandbox::User="$(id -un)")
apt-get "${opts[@]}" update -qq
(cd "$dir/debs" && apt-get "${opts[@]}" download mesa-vulkan-drivers/bookworm-backports)
dpkg-deb -x "$dir"/debs/mesa-vulkan-drivers_*.deb "$dir/root"
lib=$(find "$dir/root" -name libvulkan_lvp.so | head -1)
cat > "$dir/lvp.json" <<JSON
{ "file_format_version": "1.0.0", "ICD": { "library_path": "$lib", "api_version": "1.4.305" } }
JSON
echo "mesa25: lavapipe $(basename "$dir"/debs/mesa-vulkan-drivers_*.deb) unpacked; ICD $dir/lvp.json"
