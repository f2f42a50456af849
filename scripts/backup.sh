#!/usr/bin/env bash
# Dumps the appliance database of the compose stack (custom format, compressed).
# Usage: scripts/backup.sh [backup-file]
set -euo pipefail
out=${1:-sextant-backup-$(date -u +%Y%m%dT%H%M%SZ).dump}
docker compose exec -T postgres sh -c 'pg_dump -U "$POSTGRES_USER" -d "$POSTGRES_DB" -Fc' > "$out"
[[ -s "$out" ]] || { echo "the dump is empty" >&2; exit 1; }
echo "wrote $out; keep .env with it: its ENCRYPTION_KEY decrypts the stored connections"
