#!/usr/bin/env bash
# Offline side: verifies the bundle's checksums, loads the images, places the model and
# starts the stack, with no network access at all.
# Usage: scripts/airgap-install.sh sextant-airgap.tar [install-dir]
set -euo pipefail
bundle_tar=${1:?usage: airgap-install.sh BUNDLE.tar [DIR]}
dest=${2:-/opt/sextant}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/bundle.sh
source "$here/scripts/lib/bundle.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -x -f "$bundle_tar" -C "$work"
verify_manifest "$work/bundle"
echo "checksums verified"

docker load -i "$work/bundle/images/images.tar"
mkdir -p "$dest"
cp -r "$work/bundle/stack/." "$dest/"
cd "$dest"
[[ -e .env ]] || bash scripts/generate-env.sh .env
model=$(cat "$work/bundle/models/MODEL")
sed -i "s/^OLLAMA_MODEL=.*/OLLAMA_MODEL=$model/" .env

docker volume create sextant_ollama >/dev/null
docker run --rm --network none -v sextant_ollama:/models -v "$work/bundle/models:/in:ro" alpine:3.20 \
    tar -C /models -xf /in/ollama-models.tar
docker compose up -d --no-build --pull never
echo "Sextant is starting: http://$(hostname -f 2>/dev/null || hostname)/"
