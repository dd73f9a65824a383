# shellcheck shell=bash
# Sourced by .ci/get-vulkan-validation-{trixie,sid}.sh: the steps that make an unpacked Khronos
# validation layer usable from its private directory DIR (see .ci/with-vvl-trixie).
#
#   vvl_check_resolves NAME LOADER LIBDIR SO
#       every library SO needs, at every symbol version it needs, resolves through LOADER with
#       LIBDIR first on its library path and the system's libraries after it (the loader
#       reports a missing version on stderr without failing, so both streams are read)
#   vvl_write_manifest NAME MANIFEST SO DIR
#       writes DIR/layer/VkLayer_khronos_validation.json: the package's MANIFEST with its
#       library_path naming SO (Debian's names a bare soname); prints the layer's api_version
# NAME starts every message; a failure prints NAME: why, on stderr, and exits.

vvl_check_resolves() {
  local resolved
  resolved=$("$2" --library-path "$3" --list "$4" 2>&1)
  if grep -q 'not found' <<<"$resolved"; then
    echo "$1: the layer's libraries do not all resolve:" >&2; echo "$resolved" >&2; exit 1
  fi
}

vvl_write_manifest() {
  local out=$4/layer/VkLayer_khronos_validation.json
  mkdir -p "$4/layer"
  sed "s|\"library_path\": *\"[^\"]*\"|\"library_path\": \"$3\"|" "$2" > "$out"
  grep -q "\"library_path\": \"$3\"" "$out" ||
    { echo "$1: could not set library_path in the layer manifest" >&2; exit 1; }
  sed -n 's/.*"api_version": *"\([0-9.]*\)".*/\1/p' "$out" | head -1
}
