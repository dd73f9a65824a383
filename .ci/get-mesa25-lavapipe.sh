#!/usr/bin/env bash
# Fetches Mesa 25's lavapipe from bookworm-backports into a private directory (the system's
# Mesa 22.3 stays the default driver) and writes an ICD manifest for it. Only the DMA-BUF test
# (tests/gpu_dmabuf.rs) loads it: Mesa 22.3's lavapipe has no VK_EXT_external_memory_dma_buf.
# Usage: get-mesa25-lavapipe.sh [DIR]   (default ~/.cache/ghoststream/mesa25)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/debian-suite.sh"
dir=${1:-$HOME/.cache/ghoststream/mesa25}
[ -f "$dir/lvp.json" ] && { echo "mesa25: ready ($dir/lvp.json)"; exit 0; }
ds_init mesa25 "$dir" bookworm-backports
ds_download mesa-vulkan-drivers
ds_unpack "$dir/root"
lib=$(find "$dir/root" -name libvulkan_lvp.so | head -1)
cat > "$dir/lvp.json" <<JSON
{ "file_format_version": "1.0.0", "ICD": { "library_path": "$lib", "api_version": "1.4.305" } }
JSON
echo "mesa25: lavapipe $(basename "$dir"/debs/mesa-vulkan-drivers_*.deb) unpacked; ICD $dir/lvp.json"
