"""Load the public sample databases (../shared/data) into a PostgreSQL server, idempotently.

Used by the tests, the benchmarks and demos:
    python scripts/load_samples.py --url postgresql://postgres@127.0.0.1:5432/postgres [sakila chinook ...]
Each sample goes to its own database ``sextant_<name>``; a finished load is marked with a
database comment, so a second run skips it. Needs ``psql`` (the data files use COPY blocks).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
MARK = "sextant sample v1"

SAMPLES: dict[str, list[str]] = {
    "sakila": ["sakila/postgres-sakila-schema.sql", "sakila/postgres-sakila-insert-data-using-copy.sql"],
    "chinook": ["chinook/Chinook_PostgreSql.sql"],
    "northwind": ["northwind/northwind.sql"],
    "spider": ["spider/schemas.sql"],
}


def database_url(admin_url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{database}"))


def _chinook_without_create(path: Path) -> Path:
    """Chinook starts with DROP/CREATE DATABASE and ``\\c``: strip those for a database we made."""
    lines = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.upper().startswith(("DROP DATABASE", "CREATE DATABASE", "\\C "))
    ]
    tmp = Path(tempfile.mkstemp(suffix=".sql")[1])
    tmp.write_text("\n".join(lines), encoding="utf-8")
    return tmp


def load(admin_url: str, name: str, data_dir: Path = DEFAULT_DATA, force: bool = False) -> str:
    """Create ``sextant_<name>`` from the sample files unless already loaded; returns its URL."""
    database = f"sextant_{name}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if row is not None and row[0] == MARK and not force:
            return database_url(admin_url, database)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    url = database_url(admin_url, database)
    for rel in SAMPLES[name]:
        path = data_dir / rel
        if name == "chinook":
            path = _chinook_without_create(path)
        subprocess.run(
            ["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(path)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(database), sql.Literal(MARK)))
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--force", action="store_true")
    parser.add_argument("names", nargs="*", default=list(SAMPLES))
    args = parser.parse_args()
    for name in args.names:
        print(f"{name}: {load(args.url, name, args.data, args.force)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
