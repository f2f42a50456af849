#!/usr/bin/env bash
# Restores a dump made by backup.sh into the compose stack's database, replacing its content.
# Usage: scripts/restore.sh backup-file
set -euo pipefail
file=${1:?usage: restore.sh BACKUP.dump}
[[ -s "$file" ]] || { echo "$file is missing or empty" >&2; exit 1; }
docker compose stop backend
docker compose exec -T postgres sh -c 'pg_restore -U "$POSTGRES_USER" -d "$POSTGRES_DB" --clean --if-exists --no-owner' < "$file"
docker compose start backend
echo "restored $file"
