# shellcheck shell=bash
# Sourced by the .ci/get-*.sh scripts that take packages from another Debian suite (trixie, sid,
# bookworm-backports) into a private directory DIR: apt runs on a state of its own under DIR/apt
# (its own sources list, package lists and cache, no lock on the system's), the packages are
# downloaded into DIR/debs and only unpacked (dpkg-deb -x), never installed or configured; the
# system's apt sources, state and packages are left as they are. The archive is the one this
# system's apt sources already name (no host name is written here).
#
#   ds_init NAME DIR SUITE     set DIR/apt up for SUITE of that archive and fetch its package
#                              lists; NAME starts every message (sets ds_mirror and ds_apt, the
#                              apt-get/apt-cache options)
#   ds_version PACKAGE         print PACKAGE's version in SUITE; fails, saying so, when absent
#   ds_download PACKAGE...     download PACKAGE/SUITE... into DIR/debs (the .debs of an earlier
#                              run removed first)
#   ds_unpack ROOT             unpack every .deb in DIR/debs into ROOT
#   ds_multiarch               print the host's multiarch triplet (x86_64-linux-gnu)
# Every failure prints NAME: why, on stderr, and exits (ds_version returns 1: call it as
# `v=$(ds_version p) || exit 1`).

# The Debian archive this system already uses, without a trailing slash: its apt sources' deb822
# `URIs:` in sources.list.d/*.sources, or one-line `deb URI SUITE ...` entries of a Debian suite;
# never the security archive.
ds_find_mirror() {
  local mirror
  mirror=$(
    { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true
      grep -hsE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true; } |
      awk '$1 == "URIs:" {print $2} $1 == "deb" && $3 ~ /^(bookworm|trixie|sid|unstable)/ {print $2}' |
      grep -v -- '-security' | head -1 || true
  )
  echo "${mirror%/}"
}

ds_init() {
  ds_name=$1 ds_dir=$2 ds_suite=$3
  mkdir -p "$ds_dir/apt/lists/partial" "$ds_dir/apt/cache/archives/partial" "$ds_dir/debs"
  ds_mirror=$(ds_find_mirror)
  [ -n "$ds_mirror" ] || { echo "$ds_name: no Debian archive in this system's apt sources" >&2; exit 1; }
  echo "deb $ds_mirror $ds_suite main" > "$ds_dir/apt/sources.list"
  ds_apt=(-o Dir::Etc::SourceList="$ds_dir/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o Dir::State::Lists="$ds_dir/apt/lists" -o Dir::Cache="$ds_dir/apt/cache"
          -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)")
  apt-get "${ds_apt[@]}" update -qq
}

ds_version() {
  local v
  v=$(apt-cache "${ds_apt[@]}" show "$1/$ds_suite" 2>/dev/null | sed -n 's/^Version: //p' | head -1)
  [ -n "$v" ] || { echo "$ds_name: package $1 is not in $ds_suite at $ds_mirror" >&2; return 1; }
  echo "$v"
}

ds_download() {
  rm -f "$ds_dir"/debs/*.deb
  (cd "$ds_dir/debs" && apt-get "${ds_apt[@]}" download "${@/%//$ds_suite}")
}

ds_unpack() {
  local deb
  mkdir -p "$1"
  for deb in "$ds_dir"/debs/*.deb; do dpkg-deb -x "$deb" "$1"; done
}

ds_multiarch() {
  dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu
}
