#!/usr/bin/env bash
# Fetches PipeWire 1.4 from bookworm-backports into a private directory (the system's PipeWire
# 0.3.65 stays the one everything else uses): the daemon, libpipewire-0.3, its modules and the
# SPA plugins, and their configuration. Only the explicit-sync test (tests/pipewire_sync.rs)
# runs them: PipeWire 0.3.65 has no SPA_META_SyncTimeline. The session manager stays the
# system's wireplumber (a client of the daemon, any version talks to it).
# Usage: get-pipewire14.sh [DIR]   (default ~/.cache/ghoststream/pipewire14)
set -euo pipefail
dir=${1:-$HOME/.cache/ghoststream/pipewire14}
root=$dir/root
[ -x "$root/usr/bin/pipewire" ] && [ -f "$dir/ready" ] && { echo "pipewire14: ready ($dir)"; exit 0; }
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs" "$root"
# The Debian archive this system already uses (its apt sources: deb822 `URIs:` in
# sources.list.d/*.sources, or one-line `deb URI bookworm ...` entries), for bookworm-backports.
mirror=$(
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true
    grep -hsE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true; } |
    awk '$1 == "URIs:" {print $2} $1 == "deb" && $3 ~ /^bookworm/ {print $2}' |
    grep -v -- '-security' | head -1 || true
)
[ -n "$mirror" ] || { echo "pipewire14: no Debian archive in this system's apt sources" >&2; exit 1; }
echo "deb ${mirror%/} bookworm-backports main" > "$dir/apt/sources.list"
opts=(-o Dir::Etc::SourceList="$dir/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$dir/apt/lists" -o Dir::Cache="$dir/apt/cache" -o Debug::NoLocking=1
      -o APT::Sandbox::User="$(id -un)")
apt-get "${opts[@]}" update -qq
packages=(pipewire-bin libpipewire-0.3-0 libpipewire-0.3-modules libpipewire-0.3-common
          libspa-0.2-modules)
rm -f "$dir"/debs/*.deb
(cd "$dir/debs" && apt-get "${opts[@]}" download "${packages[@]/%//bookworm-backports}")
for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
lib=$root/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for f in "$root/usr/bin/pipewire" "$lib/libpipewire-0.3.so.0" "$lib/spa-0.2/support/libspa-support.so" \
         "$lib/pipewire-0.3/libpipewire-module-client-node.so" "$root/usr/share/pipewire/pipewire.conf"; do
  [ -e "$f" ] || { echo "pipewire14: $f missing after unpacking" >&2; exit 1; }
done
version=$(LD_LIBRARY_PATH=$lib "$root/usr/bin/pipewire" --version | sed -n 's/^Linked with libpipewire //p')
case $version in 1.[2-9].* | [2-9].*) ;; *) echo "pipewire14: unpacked libpipewire is '$version', not >= 1.2" >&2; exit 1 ;; esac
echo "$version" > "$dir/ready"
echo "pipewire14: PipeWire $version unpacked in $root"
