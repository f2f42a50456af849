#!/usr/bin/env bash
# Writes .env for the compose deployment with fresh random secrets, unless it exists.
# Usage: scripts/generate-env.sh [path/to/.env]
set -euo pipefail

target=${1:-.env}
if [[ -e "$target" ]]; then
    echo "$target exists; leaving it as it is" >&2
    exit 0
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

random() { head -c 48 /dev/urandom | base64 | tr -d '/+=\n' | head -c "$1"; }
# A Fernet key is 32 random bytes in urlsafe base64.
fernet() { head -c 32 /dev/urandom | base64 | tr '/+' '_-'; }

umask 077
{
    grep -v -E '^(#? ?)(JWT_SECRET|ENCRYPTION_KEY|POSTGRES_PASSWORD|GRAFANA_ADMIN_PASSWORD|SEXTANT_ENV)=' "$here/.env.example"
    echo "SEXTANT_ENV=production"
    echo "JWT_SECRET=$(random 48)"
    echo "ENCRYPTION_KEY=$(fernet)"
    echo "POSTGRES_PASSWORD=$(random 32)"
    echo "GRAFANA_ADMIN_PASSWORD=$(random 24)"
} > "$target"
echo "wrote $target with generated secrets (keep it: ENCRYPTION_KEY decrypts stored connections)"
