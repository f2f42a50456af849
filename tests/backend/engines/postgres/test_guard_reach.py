"""The security review's reproductions, each on a database that really contains the object.

The hostile database defines the functions, operator, cast, types and shadowing table the
review used, and every one of them writes a row into ``public.log`` through dblink (a
separate connection, so a READ ONLY transaction and its rollback cannot undo it). The
guard must refuse each statement, and the runner alone (as if the guard were bypassed)
must not reach any of them: after every case ``public.log`` is still empty.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from backend.engines.base import QueryExecutionError, QueryLimits, QueryRefusedError
from backend.engines.postgres.connector import PostgresConnector
from backend.engines.postgres.guard_names import guard_sql
from backend.engines.postgres.runner import PostgresQueryRunner
from backend.engines.postgres.schema_index import SchemaIndex
from tests.conftest import USER_PG_ADMIN

LIMITS = QueryLimits(statement_timeout_ms=5_000, lock_timeout_ms=500, idle_timeout_ms=5_000)


def hostile_setup(admin_url: str) -> str:
    """SQL that builds the review's objects; each one logs its call through dblink."""
    params = {k: v for k, v in psycopg.conninfo.conninfo_to_dict(admin_url).items() if k != "dbname"}
    conninfo = " ".join(f"{k}={v}" for k, v in params.items()).replace("'", "''")
    return f"""
    CREATE EXTENSION dblink;
    CREATE EXTENSION citext;
    CREATE TABLE member (id int, email citext);
    INSERT INTO member VALUES (1, 'Ann@Example.com');
    CREATE TABLE log (what text);
    CREATE TABLE actor (actor_id int PRIMARY KEY, first_name text, last_name text);
    INSERT INTO actor VALUES (1, 'PENELOPE', 'GUINESS');
    CREATE FUNCTION note(what text) RETURNS text LANGUAGE plpgsql SECURITY DEFINER AS $f$
    BEGIN
      PERFORM public.dblink_exec('{conninfo}'::text || ' dbname=' || current_database(),
                          format('INSERT INTO public.log VALUES (%L)', what));
      RETURN what;
    END $f$;
    CREATE FUNCTION full_name(a actor) RETURNS text LANGUAGE sql AS $f$ SELECT public.note('full_name') $f$;
    CREATE FUNCTION upper(x int) RETURNS text LANGUAGE sql AS $f$ SELECT public.note('upper') $f$;
    CREATE FUNCTION lower(x actor) RETURNS text LANGUAGE sql AS $f$ SELECT public.note('lower') $f$;
    CREATE SCHEMA myschema;
    CREATE FUNCTION myschema.age(x text) RETURNS text LANGUAGE sql AS $f$ SELECT public.note('age') $f$;
    CREATE FUNCTION evil_op(a int, b int) RETURNS int LANGUAGE sql AS $f$ SELECT length(public.note('op')) $f$;
    CREATE OPERATOR public.### (LEFTARG = int, RIGHTARG = int, FUNCTION = evil_op);
    CREATE FUNCTION evil_op_text(a int, b text) RETURNS int LANGUAGE sql AS $f$ SELECT length(public.note('plus')) $f$;
    CREATE OPERATOR public.+ (LEFTARG = int, RIGHTARG = text, FUNCTION = evil_op_text);
    CREATE TYPE evil_type AS (x int);
    CREATE FUNCTION evil_cast(x int) RETURNS evil_type LANGUAGE sql AS $f$
      SELECT ROW(length(public.note('cast')))::evil_type $f$;
    CREATE CAST (int AS evil_type) WITH FUNCTION evil_cast(int);
    CREATE DOMAIN evil_domain AS int CHECK (length(public.note('domain')) > 0);
    CREATE TYPE mood AS ENUM ('sad', 'happy');
    CREATE TABLE diary (id int, feeling mood);
    INSERT INTO diary VALUES (1, 'happy'), (2, 'sad');
    CREATE TABLE public.pg_settings (name text, setting text);
    INSERT INTO public.pg_settings VALUES ('mine', 'only');
    """


@pytest.fixture(scope="module")
def hostile() -> Iterator[tuple[str, SchemaIndex]]:
    """(url, SchemaIndex) of a database holding the review's objects; dropped afterwards."""
    name = "sextant_hostile"
    with psycopg.connect(USER_PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = USER_PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(hostile_setup(USER_PG_ADMIN).encode())
    snapshot = asyncio.run(PostgresConnector(url).introspect())
    yield url, SchemaIndex(snapshot)
    with psycopg.connect(USER_PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def logged(url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT what FROM public.log")]


def test_the_fixture_really_calls_its_functions(hostile: Any) -> None:
    """Without Sextant in between, each object runs and logs: the test below can fail."""
    url, _ = hostile
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT upper(1), (a).full_name, myschema.age('x'), 1 OPERATOR(public.###) 2 FROM actor a")
        conn.execute("SELECT CAST(1 AS evil_type)")
        calls = [r[0] for r in conn.execute("SELECT what FROM public.log ORDER BY 1")]
        conn.execute("TRUNCATE public.log")
    assert calls == ["age", "cast", "full_name", "op", "upper"]


# The review's cases: refused by the guard, and harmless even when sent to the runner directly.
REVIEW_CASES = {
    "SELECT 1 OPERATOR(public.###) 2": "OPERATOR",
    "SELECT CAST(1 AS evil_type)": "not a built-in type|composite",
    "SELECT 1::public.evil_type": "composite",
    "SELECT 2::evil_domain": "domain",
    "SELECT myschema.age('x')": "Schema-qualified",
    "SELECT (a).full_name FROM actor a": "Attribute notation",
    "SELECT upper(1)": "also defined by this database",
    "SELECT upper(first_name) FROM actor": "also defined by this database",
    "SELECT lower(a.first_name) FROM actor a": "also defined by this database",
    "SELECT * FROM pg_settings": "system catalog",
    "SELECT name, setting FROM pg_settings WHERE name = 'data_directory'": "system catalog",
}


@pytest.mark.parametrize("sql", REVIEW_CASES)
def test_the_guard_refuses_what_would_reach_user_code(sql: str, hostile: Any) -> None:
    _, index = hostile
    with pytest.raises(QueryRefusedError, match=REVIEW_CASES[sql]):
        guard_sql(sql, index)


# Statements the runner gets without the guard, written as an LLM would: the pinned
# search_path makes PostgreSQL resolve names in pg_catalog only.
UNGUARDED = [
    "SELECT upper(1)",
    "SELECT (a).full_name FROM public.actor a",
    "SELECT a.full_name FROM public.actor a",
    "SELECT 1 + 'x'::text",
    "SELECT CAST(1 AS evil_type)",
    "SELECT 2::evil_domain",
    "SELECT lower(a) FROM public.actor a",
]


def test_the_runner_alone_resolves_nothing_of_the_database(hostile: Any) -> None:
    url, _ = hostile
    runner = PostgresQueryRunner()
    for sql in UNGUARDED:
        with pytest.raises(QueryExecutionError, match="does not exist"):
            asyncio.run(runner.run(url, sql, LIMITS))
    assert logged(url) == []


def test_system_catalogs_resolve_to_pg_catalog_and_user_tables_stay_readable(hostile: Any) -> None:
    url, index = hostile
    sql, problems = guard_sql("SELECT name, setting FROM public.pg_settings", index)
    assert problems == [] and "public.pg_settings" in sql
    result = asyncio.run(PostgresQueryRunner().run(url, sql, LIMITS))
    assert result.rows == [["mine", "only"]]


def test_enum_casts_pass_and_are_qualified(hostile: Any) -> None:
    url, index = hostile
    sql, problems = guard_sql("SELECT id FROM diary WHERE feeling = 'happy'::mood ORDER BY id", index)
    assert problems == [] and "public" in sql and "mood" in sql
    assert asyncio.run(PostgresQueryRunner().run(url, sql, LIMITS)).rows == [[1]]
    assert logged(url) == []


def test_extension_functions_are_not_mistaken_for_user_code(hostile: Any) -> None:
    """citext overloads lower/upper/strpos in public; an extension is the owner's vetted code and
    PostgreSQL cannot find it under the pinned search_path, so such names stay allowed."""
    url, index = hostile
    assert "strpos" not in index.functions and "citext_eq" not in index.functions
    sql, problems = guard_sql("SELECT id, strpos(email, '@') AS at, length(email) FROM member", index)
    assert problems == []
    assert asyncio.run(PostgresQueryRunner().run(url, sql, LIMITS)).rows == [[1, 4, 15]]


def test_indexing_records_the_databases_own_routines(hostile: Any) -> None:
    _, index = hostile
    assert not {"dblink_exec", "citext_eq", "strpos", "regexp_replace"} & index.functions
    assert {"upper", "lower", "full_name", "age", "note", "evil_cast"} <= index.functions
    assert index.types["public.evil_type"] == "composite" and index.types["public.mood"] == "enum"
    assert index.types["public.evil_domain"] == "domain"
    assert any(c.target == "public.evil_type" and c.source == "integer" for c in index.casts)
    assert "pg_settings" in index.catalog


# ---- the lexer: standard_conforming_strings=off on the database -----------------------------

LEXER_TRICKS = [
    "SELECT 'a\\', ' , pg_sleep(3) AS x -- '",
    "SELECT 'a\\', ' , pg_read_file($$/etc/hostname$$) AS x -- '",
    "SELECT 'a\\', ' , set_config($$statement_timeout$$, $$0$$, false) AS x -- '",
    "SELECT 'a\\', ' , pg_terminate_backend(pg_backend_pid()) AS x -- '",
    "SELECT 'a\\', ' , public.note($$dblink$$) AS x -- '",
    "SELECT $$a\\$$, ' , public.note($$dollar$$) AS x -- '",
]


@pytest.fixture
def lax_strings_db(hostile: Any) -> Iterator[str]:
    url, _ = hostile
    with psycopg.connect(USER_PG_ADMIN, autocommit=True) as conn:
        conn.execute("ALTER DATABASE sextant_hostile SET standard_conforming_strings = off")
        conn.execute("ALTER DATABASE sextant_hostile SET backslash_quote = on")
    yield url
    with psycopg.connect(USER_PG_ADMIN, autocommit=True) as conn:
        conn.execute("ALTER DATABASE sextant_hostile RESET standard_conforming_strings")
        conn.execute("ALTER DATABASE sextant_hostile RESET backslash_quote")


def test_the_database_setting_really_changes_the_lexer(lax_strings_db: str) -> None:
    with psycopg.connect(lax_strings_db, autocommit=True) as conn:
        row = conn.execute("SELECT 'a\\', ' , 'b' AS x -- '").fetchone()
    assert row == ("a', ", "b")  # PostgreSQL itself reads the review's trick as one string


@pytest.mark.parametrize("sql", LEXER_TRICKS)
def test_no_lexer_trick_runs_a_function(sql: str, lax_strings_db: str, hostile: Any) -> None:
    _, index = hostile
    checked, problems = guard_sql(sql, index)
    assert problems == []
    started = time.monotonic()
    result = asyncio.run(PostgresQueryRunner().run(lax_strings_db, checked, LIMITS))
    assert time.monotonic() - started < 2.5
    assert result.row_count == 1 and result.rows[0][0] == "a\\" and result.rows[0][1].startswith(" , ")
    assert logged(lax_strings_db) == []
