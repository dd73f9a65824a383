#!/usr/bin/env bash
# Installs the ghoststream tool beside the library: the binary in PREFIX/bin, its shell
# completions (bash, zsh, fish) and man pages (ghoststream.1 and one per subcommand) under
# PREFIX/share, all generated from the binary's own command-line definitions. With DESTDIR
# set, everything goes below it (a staging root for a package), PREFIX unchanged.
# Usage: tools/install.sh PREFIX [BINARY]   (BINARY: the built tool, default
# target/release/ghoststream; `make install PREFIX=...` builds it first)
set -euo pipefail
prefix=${1:?usage: install.sh PREFIX [BINARY]}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${2:-${CARGO_TARGET_DIR:-$root/target}/release/ghoststream}
[ -x "$bin" ] || { echo "install: $bin is missing (build with: cargo build --release -p ghoststream-tools)" >&2; exit 1; }
case $prefix in /*) ;; *) prefix=$(pwd)/$prefix ;; esac
dest=${DESTDIR:-}$prefix
staged=$(mktemp -d)
trap 'rm -rf "$staged"' EXIT
"$bin" generate completions bash > "$staged/ghoststream.bash"
"$bin" generate completions zsh > "$staged/_ghoststream"
"$bin" generate completions fish > "$staged/ghoststream.fish"
mkdir "$staged/man"
"$bin" generate man "$staged/man" 2>/dev/null
install -d "$dest/bin" "$dest/share/bash-completion/completions" "$dest/share/zsh/site-functions" \
  "$dest/share/fish/vendor_completions.d" "$dest/share/man/man1"
install -m 0755 "$bin" "$dest/bin/ghoststream"
install -m 0644 "$staged/ghoststream.bash" "$dest/share/bash-completion/completions/ghoststream"
install -m 0644 "$staged/_ghoststream" "$dest/share/zsh/site-functions/_ghoststream"
install -m 0644 "$staged/ghoststream.fish" "$dest/share/fish/vendor_completions.d/ghoststream.fish"
install -m 0644 "$staged"/man/*.1 "$dest/share/man/man1/"
echo "install: ghoststream, its bash/zsh/fish completions and $(ls "$staged/man" | wc -l) man pages in $dest"
