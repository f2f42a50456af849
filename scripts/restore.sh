#!/usr/bin/env bash
# Restores an archive made by scripts/backup.sh into a store, and its key where the backend reads it.
#
# Usage: scripts/restore.sh [--force] [--data-dir DIR] [--env-file FILE] [--compose] ARCHIVE
#
# Which store: as backup.sh chooses (DATABASE_URL, else the embedded store under --data-dir,
# made when there is none, else --compose). The backend must be stopped (compose: this script
# stops it and starts it again); a store that already has users or audit events is refused
# unless --force, which replaces its content. The restore runs in one transaction: on any
# error the store is left as it was.
#
# The key (secrets.env of the archive) goes where the backend will read it: the env file when
# it sets ENCRYPTION_KEY (always so for compose), else <data dir>/secrets.json (merged: the
# embedded store's own password stays). A replaced file is kept beside it as
# <name>.before-restore-<time>. An ENCRYPTION_KEY set in this shell's environment to another key
# is refused before anything is restored: it would win over both. The backend migrates a
# backup of an older release to the current schema when it starts; a backup of a newer release
# (a schema revision this checkout does not know) is refused (exit 6).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=${PYTHON:-$here/.venv/bin/python}
archive="" data_dir="" env_file="$here/.env" mode="" force=0

absolute() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }
loud() { printf '\n!!! %s\n\n' "$*" >&2; }

while (($#)); do
    case $1 in
        --force) force=1; shift ;;
        --data-dir) data_dir=$(absolute "${2:?--data-dir needs a directory}"); shift 2 ;;
        --env-file) env_file=$(absolute "${2:?--env-file needs a file}"); shift 2 ;;
        --compose) mode=compose; shift ;;
        -h | --help) sed -n '2,/^set -/{/^set -/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        -*) echo "unknown option: $1 (see --help)" >&2; exit 64 ;;
        *) archive=$(absolute "$1"); shift ;;
    esac
done
[[ -n "$archive" ]] || { echo "usage: restore.sh [--force] [--data-dir DIR] [--compose] ARCHIVE" >&2; exit 64; }
[[ -s "$archive" ]] || { echo "$archive is missing or empty" >&2; exit 1; }
if [[ -z "$mode" && ! -x "$py" ]] && command -v docker >/dev/null 2>&1; then
    mode=compose
    echo "no $py: restoring into the compose stack" >&2
fi

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/sextant-restore.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xf "$archive" -C "$work"
[[ -f "$work/manifest.txt" && -s "$work/store.dump" ]] || { echo "$archive is not a backup.sh archive" >&2; exit 1; }
want=$(sed -n 's/^dump_sha256=//p' "$work/manifest.txt")
[[ "$(sha256sum "$work/store.dump" | cut -d' ' -f1)" == "$want" ]] || { echo "store.dump does not match its checksum" >&2; exit 1; }
echo "restoring $(sed -n 's/^source=//p' "$work/manifest.txt") backup of $(sed -n 's/^created=//p' "$work/manifest.txt")" >&2
has_key=0
[[ -f "$work/secrets.env" ]] && grep -q '^ENCRYPTION_KEY=.' "$work/secrets.env" && has_key=1

restore_flags=(--clean --if-exists --no-owner --no-acl --single-transaction --exit-on-error)

# Writes ENCRYPTION_KEY and JWT_SECRET of $2 into the env file $1 (values never on a command line).
set_env_keys() {
    local file=$1 from=$2 copy
    copy="$file.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
    cp "$file" "$copy" && chmod 600 "$copy"
    awk 'NR == FNR { n = index($0, "="); if (n) v[substr($0, 1, n - 1)] = substr($0, n + 1); next }
         { n = index($0, "="); k = n ? substr($0, 1, n - 1) : "" }
         (k in v) { print k "=" v[k]; done[k] = 1; next }
         { print }
         END { for (k in v) if (!(k in done)) print k "=" v[k] }' "$from" "$file" >"$file.partial"
    chmod 600 "$file.partial" && mv "$file.partial" "$file"
    echo "wrote the backup's keys into $file (the old file: $copy)" >&2
}

if [[ "$mode" == compose ]]; then
    cd "$here"
    [[ -f "$env_file" ]] || { echo "$env_file is missing: the stack needs it" >&2; exit 1; }
    docker compose stop backend
    if ((!force)); then
        # shellcheck disable=SC2016  # expanded by the container's shell
        # The same test as store_tool.py's (scripts/lib/store_used.sql): rows in users or audit_events.
        used=$( { cat "$here/scripts/lib/store_used.sql"; echo "SELECT pg_temp.sextant_used();"; } |
            docker compose exec -T postgres sh -c 'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAq -v ON_ERROR_STOP=1')
        if [[ "$used" == t ]]; then
            echo "the store is not empty (it has users or audit events): --force replaces its content" >&2
            docker compose start backend
            exit 5
        fi
    fi
    # shellcheck disable=SC2016  # expanded by the container's shell
    docker compose exec -T postgres sh -c "pg_restore -U \"\$POSTGRES_USER\" -d \"\$POSTGRES_DB\" ${restore_flags[*]}" \
        <"$work/store.dump"
    ((has_key)) && set_env_keys "$env_file" "$work/secrets.env"
    docker compose up -d backend
else
    tool=("$py" "$here/scripts/store_tool.py" --env-file "$env_file")
    [[ -n "$data_dir" ]] && tool+=(--data-dir "$data_dir")
    where=$("${tool[@]}" where)
    read -r _ bindir <<<"$where"
    # The backend can migrate an older schema forward, never a newer one back.
    schema=$("$bindir/pg_restore" -a -t alembic_version -f - "$work/store.dump" | sed -n '/^COPY /{n;p;}')
    "${tool[@]}" check-schema "$schema"
    ((has_key)) && "${tool[@]}" secrets-in --check "$work/secrets.env"
    checks=(--create --alone --refuse-non-empty)
    ((force)) && checks+=(--force)
    # shellcheck disable=SC2016  # PGDATABASE comes from the environment store_tool.py sets
    "${tool[@]}" exec "${checks[@]}" -- \
        sh -c 'exec pg_restore -d "$PGDATABASE" "$@"' pg_restore "${restore_flags[@]}" "$work/store.dump"
    ((has_key)) && "${tool[@]}" secrets-in "$work/secrets.env"
fi

echo "restored $archive" >&2
if ((!has_key)); then
    loud "THIS BACKUP HOLDS NO ENCRYPTION_KEY: the restored connections decrypt only with the key of the store" \
        "it came from; put that key in ENCRYPTION_KEY (.env) or secrets.json before starting the backend"
    exit 2
fi
[[ "$mode" == compose ]] || echo "start the backend on it (make run); it migrates an older backup on start" >&2
