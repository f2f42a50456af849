# shellcheck shell=bash
# Manifest and checksum logic of the air-gap bundle, sourced by airgap-bundle.sh and
# airgap-install.sh (and by the tests, on small inputs).

# write_manifest DIR: SHA256SUMS over every file below DIR (sorted, relative paths).
write_manifest() {
    local dir=$1
    local sums
    sums=$(cd "$dir" && find . -type f ! -name SHA256SUMS -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
    printf '%s\n' "$sums" > "$dir/SHA256SUMS"
}

# verify_manifest DIR: fails unless every file is listed, present and unchanged.
verify_manifest() {
    local dir=$1
    [[ -s "$dir/SHA256SUMS" ]] || { echo "no SHA256SUMS in $dir" >&2; return 1; }
    (cd "$dir" && sha256sum --quiet --strict -c SHA256SUMS) || { echo "checksum mismatch in $dir" >&2; return 1; }
    local listed present
    listed=$(cd "$dir" && awk '{print $2}' SHA256SUMS | LC_ALL=C sort)
    present=$(cd "$dir" && find . -type f ! -name SHA256SUMS | LC_ALL=C sort)
    [[ "$listed" == "$present" ]] || { echo "files in $dir differ from SHA256SUMS" >&2; return 1; }
}

# images_of COMPOSE_FILE: the image names the stack runs (build results and pulled ones).
images_of() {
    grep -E '^\s+image:' "$1" | awk '{print $2}' | sed -E 's/\$\{SEXTANT_VERSION:-([^}]*)\}/\1/' | LC_ALL=C sort -u
}
