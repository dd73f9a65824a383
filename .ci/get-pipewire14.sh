#!/usr/bin/env bash
# Fetches PipeWire 1.4 from bookworm-backports into a private directory (the system's PipeWire
# 0.3.65 stays the one everything else uses): the daemon, libpipewire-0.3, its modules and the
# SPA plugins, and their configuration. Only the explicit-sync test (tests/pipewire_sync.rs)
# runs them: PipeWire 0.3.65 has no SPA_META_SyncTimeline. The session manager stays the
# system's wireplumber (a client of the daemon, any version talks to it).
# Usage: get-pipewire14.sh [DIR]   (default ~/.cache/ghoststream/pipewire14)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/debian-suite.sh"
dir=${1:-$HOME/.cache/ghoststream/pipewire14}
root=$dir/root
[ -x "$root/usr/bin/pipewire" ] && [ -f "$dir/ready" ] && { echo "pipewire14: ready ($dir)"; exit 0; }
ds_init pipewire14 "$dir" bookworm-backports
packages=(pipewire-bin libpipewire-0.3-0 libpipewire-0.3-modules libpipewire-0.3-common
          libspa-0.2-modules)
ds_download "${packages[@]}"
ds_unpack "$root"
lib=$root/usr/lib/$(ds_multiarch)
for f in "$root/usr/bin/pipewire" "$lib/libpipewire-0.3.so.0" "$lib/spa-0.2/support/libspa-support.so" \
         "$lib/pipewire-0.3/libpipewire-module-client-node.so" "$root/usr/share/pipewire/pipewire.conf"; do
  [ -e "$f" ] || { echo "pipewire14: $f missing after unpacking" >&2; exit 1; }
done
version=$(LD_LIBRARY_PATH=$lib "$root/usr/bin/pipewire" --version | sed -n 's/^Linked with libpipewire //p')
case $version in 1.[2-9].* | [2-9].*) ;; *) echo "pipewire14: unpacked libpipewire is '$version', not >= 1.2" >&2; exit 1 ;; esac
echo "$version" > "$dir/ready"
echo "pipewire14: PipeWire $version unpacked in $root"
