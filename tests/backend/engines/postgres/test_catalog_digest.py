"""The catalog hash changes with the structure a re-index would read, and only with it."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import psycopg
import pytest
from psycopg import sql

from backend.engines.postgres.connector import PostgresConnector

BASE = """
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE author (author_id int PRIMARY KEY, name text NOT NULL, mood mood);
CREATE TABLE book (book_id int PRIMARY KEY, author_id int REFERENCES author, title text);
CREATE VIEW long_books AS SELECT book_id, title FROM book WHERE length(title) > 10;
COMMENT ON TABLE book IS 'books we own';
INSERT INTO author VALUES (1, 'Le Guin', 'ok');
INSERT INTO book VALUES (1, 1, 'The Dispossessed');
"""

# Each changes what introspection (or the SQL guard) would read.
STRUCTURAL = [
    "ALTER TABLE book ADD COLUMN pages int",
    "ALTER TABLE book ALTER COLUMN title SET NOT NULL",
    "ALTER TABLE author ALTER COLUMN name TYPE varchar(200)",
    "ALTER TABLE book ALTER COLUMN title SET DEFAULT 'untitled'",
    "ALTER TABLE book RENAME COLUMN title TO name",
    "ALTER TABLE book DROP COLUMN title CASCADE",
    "COMMENT ON COLUMN book.title IS 'as printed'",
    "COMMENT ON TABLE book IS 'books we lend'",
    "CREATE TABLE shelf (shelf_id int PRIMARY KEY)",
    "ALTER TABLE author RENAME TO writer",
    "CREATE SCHEMA archive; ALTER TABLE book SET SCHEMA archive",
    "ALTER TABLE book DROP CONSTRAINT book_author_id_fkey",
    "CREATE TABLE shelf (shelf_id int PRIMARY KEY); ALTER TABLE book ADD COLUMN shelf_id int REFERENCES shelf",
    "CREATE OR REPLACE VIEW long_books AS SELECT book_id, title FROM book WHERE length(title) > 20",
    "ALTER TYPE mood ADD VALUE 'glad'",
    "DROP VIEW long_books",
    "CREATE FUNCTION upper(int) RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE MATERIALIZED VIEW book_count AS SELECT count(*) FROM book",
]
# Rows, statistics and objects introspection does not list leave it alone.
NOT_STRUCTURAL = [
    "INSERT INTO book VALUES (2, 1, 'The Left Hand of Darkness')",
    "UPDATE author SET name = 'Ursula K. Le Guin'",
    "DELETE FROM book",
    "ANALYZE",
    "VACUUM book",
    "CREATE INDEX ON book (title)",
    "CREATE TEMP TABLE scratch (x int)",
    "CREATE SEQUENCE tickets",
]


async def _digest(url: str) -> str:
    return await PostgresConnector(url).catalog_hash()


@pytest.mark.parametrize("change", STRUCTURAL)
async def test_a_structural_change_changes_the_hash(scratch_db: Callable[[str], str], change: str) -> None:
    url = scratch_db(BASE)
    before = await _digest(url)
    assert await _digest(url) == before  # stable while nothing happens
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(change.encode())
    assert await _digest(url) != before


async def test_a_lost_privilege_changes_the_hash_of_that_role(scratch_db: Callable[[str], str]) -> None:
    url = scratch_db(BASE)
    role = f"sextant_reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT SELECT ON author, book TO {}").format(sql.Identifier(role)))
    as_role = url.replace("//postgres@", f"//{role}@", 1)
    try:
        before = await _digest(as_role)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("REVOKE SELECT ON book FROM {}").format(sql.Identifier(role)))
        assert await _digest(as_role) != before
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {0}; DROP ROLE {0}").format(sql.Identifier(role)))


@pytest.mark.parametrize("change", NOT_STRUCTURAL)
async def test_rows_and_statistics_leave_the_hash_alone(scratch_db: Callable[[str], str], change: str) -> None:
    url = scratch_db(BASE)
    before = await _digest(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(change.encode())
    assert await _digest(url) == before


async def test_the_hash_is_cheap_on_a_real_schema(sakila_url: str) -> None:
    digest = await _digest(sakila_url)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert await _digest(sakila_url) == digest
