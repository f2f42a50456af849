#!/usr/bin/env bash
# The frontend's API types come from the backend's OpenAPI schema:
#   npm run gen:api    writes openapi.json (scripts/export_openapi.py) and src/generated/api-schema.d.ts
#   npm run check:api  regenerates both into a temporary directory and fails when the committed ones differ
# PYTHON defaults to the repository's .venv, as the Makefile's.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-../.venv/bin/python}"
SCHEMA=openapi.json
TYPES=src/generated/api-schema.d.ts

generate() { # generate <openapi.json> <types.d.ts>
  "$PYTHON" ../scripts/export_openapi.py --out "$1"
  npx --no-install openapi-typescript "$1" --output "$2" >/dev/null
}

case "${1:-}" in
  gen)
    generate "$SCHEMA" "$TYPES"
    echo "wrote frontend/$SCHEMA and frontend/$TYPES"
    ;;
  check)
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    generate "$tmp/openapi.json" "$tmp/api-schema.d.ts"
    stale=0
    cmp -s "$tmp/openapi.json" "$SCHEMA" || { echo "frontend/$SCHEMA does not match the backend's routes." >&2; stale=1; }
    cmp -s "$tmp/api-schema.d.ts" "$TYPES" || { echo "frontend/$TYPES is not what openapi-typescript generates from the backend's schema." >&2; stale=1; }
    if [ "$stale" -ne 0 ]; then
      echo "The frontend's API types are stale: run 'cd frontend && npm run gen:api' and commit the result." >&2
      exit 1
    fi
    echo "frontend/$SCHEMA and frontend/$TYPES match the backend"
    ;;
  *)
    echo "usage: $0 gen|check" >&2
    exit 2
    ;;
esac
