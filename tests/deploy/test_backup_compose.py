"""backup.sh and restore.sh against the compose stack, without a Docker engine: a stand-in
``docker`` on PATH logs each call, serves a dump from the "container" and keeps what is piped to
pg_restore, so the scripts' own steps (what they run in which order, the archive, the key in
.env) are checked here; the commands inside the containers are checked only as text."""

from __future__ import annotations

import os
import stat
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAKE_DOCKER = r"""#!/usr/bin/env bash
printf '%s\n' "$*" >>"$FAKE_DOCKER_LOG"
case "$*" in
    *pg_dump*) printf 'PGDMP fake dump\n' ;;
    *psql*) cat >/dev/null; echo "$FAKE_STORE_USED" ;;
    *pg_restore*) cat >"$FAKE_RESTORED" ;;
esac
"""
KEY = "Zm9yIHRlc3RzIG9ubHksIG5vdCBhIHJlYWwga2V5ISE="
OTHER_KEY = "YW5vdGhlciBrZXksIG5vdCB0aGUgYmFja3VwJ3MhISE="


def _run(script: str, *args: str | Path, tmp: Path, used: str = "f") -> subprocess.CompletedProcess[str]:
    bin_dir = tmp / "bin"
    if not bin_dir.exists():
        bin_dir.mkdir()
        (bin_dir / "docker").write_text(FAKE_DOCKER)
        (bin_dir / "docker").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_DOCKER_LOG": str(tmp / "docker.log"),
        "FAKE_RESTORED": str(tmp / "restored.dump"),
        "FAKE_STORE_USED": used,
    }
    command = ["bash", str(ROOT / "scripts" / script), "--compose", *map(str, args)]
    return subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, timeout=60)


def _calls(tmp: Path) -> list[str]:
    log = tmp / "docker.log"
    calls = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return calls


def _read(tar: tarfile.TarFile, name: str) -> str:
    member = tar.extractfile(name)
    assert member is not None
    return member.read().decode()


def test_compose_backup_takes_the_dump_and_the_key_of_env(tmp_path: Path) -> None:
    env_file = tmp_path / "stack.env"
    env_file.write_text(f"POSTGRES_PASSWORD=db-secret\nENCRYPTION_KEY={KEY}\nJWT_SECRET=jwt-secret\n")
    backed = _run("backup.sh", "--env-file", env_file, "-o", tmp_path / "c.tar", tmp=tmp_path)
    assert backed.returncode == 0, backed.stderr
    assert _calls(tmp_path) == ['compose exec -T postgres sh -c pg_dump -U "$POSTGRES_USER" -d "$POSTGRES_DB" -Fc']
    assert stat.S_IMODE((tmp_path / "c.tar").stat().st_mode) == 0o600
    with tarfile.open(tmp_path / "c.tar") as tar:
        files = {member.name: _read(tar, member.name) for member in tar.getmembers()}
    assert files["store.dump"] == "PGDMP fake dump\n"
    assert files["secrets.env"] == f"ENCRYPTION_KEY={KEY}\nJWT_SECRET=jwt-secret\n"  # not the database password
    assert "source=compose" in files["manifest.txt"] and "key=included" in files["manifest.txt"]
    assert KEY not in backed.stdout + backed.stderr

    env_file.write_text("POSTGRES_PASSWORD=db-secret\n# ENCRYPTION_KEY=\n")
    keyless = _run("backup.sh", "--env-file", env_file, "-o", tmp_path / "k.tar", tmp=tmp_path)
    assert keyless.returncode == 2 and "ENCRYPTION_KEY WAS NOT FOUND" in keyless.stderr


def test_compose_restore_stops_checks_restores_writes_the_key_and_starts(tmp_path: Path) -> None:
    source_env = tmp_path / "source.env"
    source_env.write_text(f"ENCRYPTION_KEY={KEY}\nJWT_SECRET=jwt-secret\n")
    assert _run("backup.sh", "--env-file", source_env, "-o", tmp_path / "c.tar", tmp=tmp_path).returncode == 0
    _calls(tmp_path)
    target_env = tmp_path / "target.env"
    target_env.write_text(f"POSTGRES_PASSWORD=keep-me\nENCRYPTION_KEY={OTHER_KEY}\nJWT_SECRET=new\n")

    used = _run("restore.sh", "--env-file", target_env, tmp_path / "c.tar", tmp=tmp_path, used="t")
    assert used.returncode == 5 and "not empty" in used.stderr
    calls = _calls(tmp_path)
    assert calls[0] == "compose stop backend" and calls[-1] == "compose start backend"
    assert not any("pg_restore" in call for call in calls) and OTHER_KEY in target_env.read_text()

    restored = _run("restore.sh", "--env-file", target_env, tmp_path / "c.tar", tmp=tmp_path)
    assert restored.returncode == 0, restored.stderr
    calls = _calls(tmp_path)
    assert calls[0] == "compose stop backend" and "psql" in calls[1] and calls[-1] == "compose up -d backend"
    assert "pg_restore" in calls[2] and "--clean --if-exists --no-owner --no-acl --single-transaction" in calls[2]
    assert (tmp_path / "restored.dump").read_text() == "PGDMP fake dump\n"
    assert target_env.read_text() == f"POSTGRES_PASSWORD=keep-me\nENCRYPTION_KEY={KEY}\nJWT_SECRET=jwt-secret\n"
    assert stat.S_IMODE(target_env.stat().st_mode) == 0o600
    (kept,) = tmp_path.glob("target.env.before-restore-*")
    assert OTHER_KEY in kept.read_text()
    assert KEY not in restored.stdout + restored.stderr

    forced = _run("restore.sh", "--force", "--env-file", target_env, tmp_path / "c.tar", tmp=tmp_path, used="t")
    assert forced.returncode == 0 and not any("psql" in call for call in _calls(tmp_path))
