"""Shared pieces of the benchmarks: real components started the way the tests start them."""

from __future__ import annotations

import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import psutil
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import load_samples as load_samples  # noqa: E402 - re-exported for the benches
from cryptography.fernet import Fernet  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from run import wait_healthy as wait_healthy  # noqa: E402 - re-exported for the benches

from backend.config import AuthSettings, CryptoSettings, DatabaseSettings, EmbeddingSettings, Settings  # noqa: E402
from backend.db.store import EmbeddedStore, migrate  # noqa: E402
from backend.main import create_app  # noqa: E402

USER_PG_ADMIN = os.environ.get("BENCH_USER_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values)


@contextmanager
def embedding_service(port: int | None = None) -> Iterator[str]:
    """The embedding service in its own process, as ``make run`` starts it (on ``port``, else a free one)."""
    port = port or free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "embedding_service.main:create_app", "--factory", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("embedding service did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def embedded_store() -> Iterator[str]:
    """A fresh embedded store (PostgreSQL 18 + pgvector) in a temporary directory, migrated."""
    with tempfile.TemporaryDirectory(prefix="sextant-bench-") as tmp:
        store = EmbeddedStore(Path(tmp), SecretStr(secrets.token_urlsafe(24)))
        url = store.start()
        try:
            migrate(url)
            yield url
        finally:
            store.stop()


def wide_schema_sql(tables: int, columns: int, rows: int, schemas: int = 1) -> str:
    """``tables`` tables of ``columns`` columns with a comment each, each but the first referencing
    the previous one; with ``schemas`` > 1 they are dealt round-robin into schemas ``s00``, ``s01``..."""
    kinds = ["text", "integer", "numeric(12,2)", "date", "boolean", "varchar(40)", "timestamptz", "bigint"]
    width = max(4, len(str(tables - 1)))

    def qualified(t: int) -> str:
        name = f"t{t:0{width}d}"
        return f"s{t % schemas:02d}.{name}" if schemas > 1 else name

    parts = [f"CREATE SCHEMA s{s:02d};" for s in range(schemas)] if schemas > 1 else []
    for t in range(tables):
        cols = ["id serial PRIMARY KEY"]
        if t:
            cols.append(f"t{t - 1:0{width}d}_id integer REFERENCES {qualified(t - 1)}(id)")
        while len(cols) < columns:
            i = len(cols)
            cols.append(f"attr_{i}_{kinds[i % len(kinds)].split('(')[0]} {kinds[i % len(kinds)]}")
        parts.append(f"CREATE TABLE {qualified(t)} ({', '.join(cols)});")
        parts.append(f"COMMENT ON TABLE {qualified(t)} IS 'generated table number {t}';")
        parts.append(f"INSERT INTO {qualified(t)} (id) SELECT g FROM generate_series(1, {rows}) g;")
    return "\n".join(parts)


def make_wide_database(tables: int = 1000, columns: int = 10, rows: int = 3, schemas: int = 1) -> str:
    """Create (once) a database with the generated wide schema on the user server; returns its URL."""
    name = f"sextant_bench_{tables}x{columns}" + (f"_{schemas}s" if schemas > 1 else "")
    url = load_samples.database_url(USER_PG_ADMIN, name)
    with psycopg.connect(USER_PG_ADMIN, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if found:
        return url
    with psycopg.connect(USER_PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    statements = wide_schema_sql(tables, columns, rows, schemas).split("\n")
    with psycopg.connect(url, autocommit=True) as conn:
        # A few hundred tables per transaction: one transaction for 10,000 runs out of lock slots.
        for start in range(0, len(statements), 1500):
            conn.execute("\n".join(statements[start : start + 1500]).encode())
        conn.execute("ANALYZE")
    return url


@contextmanager
def bench_app(**overrides: Any) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The real backend on a fresh embedded store and embedding service, with one logged-in user."""
    with embedded_store() as store_url, embedding_service() as embedding_url, tempfile.TemporaryDirectory() as tmp:
        values: dict[str, Any] = {
            "data_dir": Path(tmp),
            "database": DatabaseSettings(database_url=SecretStr(store_url), migrate_on_start=False),
            "auth": AuthSettings(jwt_secret=SecretStr("bench-" + "x" * 40)),
            "crypto": CryptoSettings(encryption_key=SecretStr(Fernet.generate_key().decode())),
            "embedding": EmbeddingSettings(embedding_url=embedding_url),
            **overrides,
        }
        with TestClient(create_app(Settings(**values))) as client:
            creds = {"email": "bench@example.com", "password": "bench-password"}
            client.post("/api/auth/register", json=creds).raise_for_status()
            token = client.post("/api/auth/login", json=creds).json()["access_token"]
            yield client, {"Authorization": f"Bearer {token}"}


def wait_synced(client: TestClient | httpx.Client, headers: dict[str, str], connection_id: str) -> dict[str, Any]:
    """Poll a connection's sync until it ends (through the test client or over HTTP); returns the final status."""
    while True:
        body: dict[str, Any] = client.get(f"/api/connections/{connection_id}/sync", headers=headers).json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.05)


@contextmanager
def scripted_ollama(script: Any) -> Iterator[str]:
    """The scripted Ollama-speaking server (tests/fake_ollama.py) on a free port; yields its URL."""
    import uvicorn

    from tests.fake_ollama import create_fake_ollama

    port = free_port()
    app = create_fake_ollama(lambda: script)
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", proxy_headers=False))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True


@contextmanager
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes started in the block are stopped at its end (SIGTERM, then SIGKILL)."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.terminate()
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def postgres_server(url: str) -> psutil.Process:
    """The PostgreSQL server of a libpq URL: by its socket's lock file, or the TCP port's listener."""
    parts = urlparse(url)
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    if socket_dir.startswith("/"):
        lock = next(Path(socket_dir).glob(".s.PGSQL.*.lock"))
        return psutil.Process(int(lock.read_text().split()[0]))
    port = parts.port or 5432
    listening = psutil.net_connections("tcp")
    return psutil.Process(next(c.pid for c in listening if c.status == "LISTEN" and c.laddr.port == port and c.pid))


def tree_cpu_seconds(process: psutil.Process) -> float:
    """CPU seconds of a process, its live children, and the children it has reaped (this process:
    its own only, as every other process of the bench is its child)."""
    try:
        times = process.cpu_times()
        if process.pid == os.getpid():
            return float(times.user + times.system)
        total = times.user + times.system + times.children_user + times.children_system
        children = process.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    for child in children:
        with suppress(psutil.NoSuchProcess):  # one that ended meanwhile is in the children_* fields
            total += sum(child.cpu_times()[:2])
    return float(total)
