#!/usr/bin/env bash
# Backs up the Sextant store and the key that decrypts its stored connections into one archive.
#
# Usage: scripts/backup.sh [-o FILE] [--data-dir DIR] [--env-file FILE] [--compose] [--no-key]
#
# Which store: DATABASE_URL when the environment or the env file (default: .env beside
# docker-compose.yml) sets it; else make run's embedded store under --data-dir (default
# SEXTANT_DATA_DIR, else ./data; relative to the checkout, as make run), running or stopped; --compose: the compose stack's postgres
# service (the default where there is no .venv but there is docker). The backend may keep
# running: pg_dump reads one consistent snapshot.
#
# The archive (a tar, mode 0600, default ./sextant-backup-<UTC time>.tar) holds manifest.txt,
# store.dump (pg_dump -Fc) and secrets.env (ENCRYPTION_KEY and JWT_SECRET, from the settings
# or the data directory's secrets.json). Without a key to be found it is written all the same,
# flagged key=NOT-INCLUDED, and this script says so on stderr and exits 2; --no-key leaves the
# key out on purpose (exit 0, still said). Keep the archive as secret as the key itself.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=${PYTHON:-$here/.venv/bin/python}
out="" data_dir="" env_file="$here/.env" mode="" with_key=1

absolute() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }
loud() { printf '\n!!! %s\n\n' "$*" >&2; }

while (($#)); do
    case $1 in
        -o | --output) out=$(absolute "${2:?-o needs a file}"); shift 2 ;;
        --data-dir) data_dir=$(absolute "${2:?--data-dir needs a directory}"); shift 2 ;;
        --env-file) env_file=$(absolute "${2:?--env-file needs a file}"); shift 2 ;;
        --compose) mode=compose; shift ;;
        --no-key) with_key=0; shift ;;
        -h | --help) sed -n '2,/^set -/{/^set -/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        -*) echo "unknown option: $1 (see --help)" >&2; exit 64 ;;
        *) out=$(absolute "$1"); shift ;;
    esac
done
out=${out:-$PWD/sextant-backup-$(date -u +%Y%m%dT%H%M%SZ).tar}
if [[ -z "$mode" && ! -x "$py" ]] && command -v docker >/dev/null 2>&1; then
    mode=compose
    echo "no $py: backing up the compose stack" >&2
fi

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/sextant-backup.XXXXXX")
trap 'rm -rf "$work"' EXIT

tool=("$py" "$here/scripts/store_tool.py" --env-file "$env_file")
[[ -n "$data_dir" ]] && tool+=(--data-dir "$data_dir")

key=included
schema=unknown
if [[ "$mode" == compose ]]; then
    source=compose
    dumper=pg_dump-in-the-postgres-container
    cd "$here"
    # shellcheck disable=SC2016  # expanded by the container's shell, from its own environment
    docker compose exec -T postgres sh -c 'pg_dump -U "$POSTGRES_USER" -d "$POSTGRES_DB" -Fc' >"$work/store.dump"
    if ((with_key)); then
        # The production backend of the stack takes its keys from .env only.
        grep -E '^(ENCRYPTION_KEY|JWT_SECRET)=.' "$env_file" >"$work/secrets.env" 2>/dev/null || true
        grep -q '^ENCRYPTION_KEY=' "$work/secrets.env" || { rm -f "$work/secrets.env"; key=NOT-INCLUDED; }
    fi
else
    where=$("${tool[@]}" where)
    read -r source bindir <<<"$where"
    dumper=$("$bindir/pg_dump" --version)
    "${tool[@]}" exec -- pg_dump -Fc -f "$work/store.dump"
    schema=$("$bindir/pg_restore" -a -t alembic_version -f - "$work/store.dump" | sed -n '/^COPY /{n;p;}')
    if ((with_key)); then
        status=0
        "${tool[@]}" secrets-out "$work/secrets.env" || status=$?
        ((status == 0)) || { ((status == 3)) && key=NOT-INCLUDED; } || exit "$status"
    fi
fi
((with_key)) || key=left-out

[[ -s "$work/store.dump" ]] || { echo "the dump is empty" >&2; exit 1; }
{
    echo "format=1"
    echo "created=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "source=$source"
    echo "dump_tool=$dumper"
    echo "dump_sha256=$(sha256sum "$work/store.dump" | cut -d' ' -f1)"
    echo "schema=${schema:-none}"
    echo "key=$key"
} >"$work/manifest.txt"
files=(manifest.txt store.dump)
[[ -f "$work/secrets.env" ]] && files+=(secrets.env)
tar -C "$work" -cf "$out.partial" "${files[@]}"
chmod 600 "$out.partial"
mv "$out.partial" "$out"

echo "wrote $out ($source store, $(du -h "$out" | cut -f1)); it holds ${files[*]}" >&2
case $key in
    included) echo "the archive holds ENCRYPTION_KEY: keep it as secret as the key itself" >&2 ;;
    left-out)
        loud "ENCRYPTION_KEY IS NOT IN THIS BACKUP (--no-key): keep the key safe elsewhere; without it the" \
            "stored connections cannot be decrypted after a restore" ;;
    *)
        loud "ENCRYPTION_KEY WAS NOT FOUND AND IS NOT IN THIS BACKUP: stored connections will not decrypt after a" \
            "restore unless you keep the key (ENCRYPTION_KEY of .env or the environment, or secrets.json) yourself"
        exit 2 ;;
esac
