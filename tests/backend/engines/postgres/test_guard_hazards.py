"""The second review's findings, each on a database that really holds the object.

Every object logs its calls into ``public.log`` through dblink (so a rollback cannot hide
a call). Each case first shows that PostgreSQL itself runs the object on a plain query,
then that the guard refuses what would reach it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psycopg
import pytest

from backend.engines.base import QueryExecutionError, QueryLimits, QueryRefusedError
from backend.engines.postgres.connector import PostgresConnector
from backend.engines.postgres.guard_names import guard_sql
from backend.engines.postgres.runner import PostgresQueryRunner
from backend.engines.postgres.schema_index import SchemaIndex
from tests.backend.engines.postgres.test_guard_reach import hostile_setup
from tests.conftest import USER_PG_ADMIN

LOGGER = hostile_setup(USER_PG_ADMIN).split("CREATE FUNCTION full_name")[0]

# (setup after LOGGER, a plain query PostgreSQL runs the object in, the guard's refusal)
HAZARDS = {
    "implicit cast between built-in types": (
        "CREATE FUNCTION evil_int_text(x int) RETURNS text LANGUAGE sql AS $f$ SELECT public.note('cast') $f$;"
        " CREATE CAST (int AS text) WITH FUNCTION evil_int_text(int) AS IMPLICIT;",
        "SELECT lower(2)",
        "implicit casts that run its own functions",
    ),
    "cast to json": (
        "CREATE TYPE mood AS ENUM ('sad', 'happy');"
        " CREATE FUNCTION mood_json(m mood) RETURNS json LANGUAGE sql AS $f$ SELECT to_json(public.note('json')) $f$;"
        " CREATE CAST (mood AS json) WITH FUNCTION mood_json(mood);"
        " CREATE TABLE diary (feeling mood); INSERT INTO diary VALUES ('happy');",
        "SELECT to_json(feeling) FROM public.diary",
        "casts to json or text",
    ),
    "explicit cast of a built-in type to text": (
        "CREATE FUNCTION arr_text(a int[]) RETURNS text LANGUAGE sql AS $f$ SELECT public.note('arr') $f$;"
        " CREATE CAST (int[] AS text) WITH FUNCTION arr_text(int[]);"
        " CREATE TABLE arrays (a int[]); INSERT INTO arrays VALUES ('{1,2}');",
        "SELECT a::text FROM public.arrays",
        "casts to json or text",
    ),
    "operator in pg_catalog": (
        "CREATE FUNCTION evil_op(a int, b text) RETURNS int LANGUAGE sql AS $f$ SELECT length(public.note('op')) $f$;"
        " CREATE OPERATOR pg_catalog.+ (LEFTARG = int, RIGHTARG = text, FUNCTION = evil_op);",
        "SELECT 1 OPERATOR(pg_catalog.+) 'x'::text",
        "operators defined in pg_catalog",
    ),
    "operator class with its own support function": (
        "CREATE FUNCTION evil_cmp(a text, b text) RETURNS int LANGUAGE sql"
        " AS $f$ SELECT bttextcmp(a, b) + 0 * length(public.note('cmp')) $f$;"
        " CREATE OPERATOR CLASS evil_text_ops FOR TYPE text USING btree AS OPERATOR 1 <, OPERATOR 2 <=,"
        " OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >, FUNCTION 1 evil_cmp(text, text);"
        " CREATE TABLE named (name text); INSERT INTO named SELECT 'n' || g FROM generate_series(1, 50) g;",
        "CREATE INDEX ON public.named (name evil_text_ops); SET enable_seqscan = off;"
        " SELECT * FROM public.named WHERE name = 'n5'",
        "operator classes that run its own functions",
    ),
}


def logged(url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT what FROM public.log")]


@pytest.mark.parametrize("case", HAZARDS)
def test_a_database_with_a_hidden_hazard_runs_no_query(case: str, scratch_db: Callable[[str], str]) -> None:
    setup, trigger, refusal = HAZARDS[case]
    url = scratch_db(LOGGER + setup)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE public.log")
        conn.execute(trigger.encode())
    assert logged(url), "the hazard must really run code for this test to mean anything"
    index = SchemaIndex(asyncio.run(PostgresConnector(url).introspect()))
    assert any(refusal in h for h in index.hazards)
    with pytest.raises(QueryRefusedError, match=refusal):
        guard_sql("SELECT 1", index)


def test_functions_a_superuser_put_into_pg_catalog_are_recorded(scratch_db: Callable[[str], str]) -> None:
    url = scratch_db(
        LOGGER + "CREATE FUNCTION pg_catalog.levenshtein(a text, b text) RETURNS int LANGUAGE sql"
        " AS $f$ SELECT length(public.note('levenshtein')) $f$;"
        " CREATE FUNCTION pg_catalog.upper(x numeric) RETURNS text LANGUAGE sql AS $f$ SELECT public.note('up') $f$;"
        " CREATE FUNCTION information_schema.unnest(x int) RETURNS SETOF int LANGUAGE sql"
        " AS $f$ SELECT length(public.note('unnest')) $f$;"
    )
    index = SchemaIndex(asyncio.run(PostgresConnector(url).introspect()))
    assert {"levenshtein", "upper", "unnest"} <= index.functions
    for sql in ("SELECT levenshtein('a', 'b')", "SELECT upper(1.5)", "SELECT * FROM unnest(ARRAY[1])"):
        with pytest.raises(QueryRefusedError, match="also defined by this database"):
            guard_sql(sql, index)
    with pytest.raises(QueryRefusedError, match="Schema-qualified"):
        guard_sql("SELECT * FROM information_schema.unnest(1)", index)


# alias.name is PostgreSQL's call name(alias) when alias has no column called name.
ATTRIBUTE_CALLS = [
    "SELECT f.pg_read_file FROM unnest(ARRAY['/etc/hostname']) AS f",
    "SELECT f.pg_ls_dir FROM unnest(ARRAY['.']) f",
    "SELECT r.current_setting FROM regexp_split_to_table('data_directory', ',') r",
    "SELECT j.pg_read_file FROM jsonb_object_keys('{\"/etc/hostname\": 1}') j",
    "SELECT g.pg_sleep FROM generate_series(1, 1) g",
    "SELECT f.pg_terminate_backend FROM unnest(ARRAY[0]) f",
    "SELECT s.to_json FROM (SELECT * FROM actor) s",
    "SELECT a.first_name.pg_read_file FROM actor a",
    "SELECT l.pg_sleep FROM actor a CROSS JOIN LATERAL (SELECT a.actor_id * 0 AS z) l",
]
STILL_FINE = [
    "SELECT e.key, e.value FROM jsonb_each('{\"a\": 1}') e",
    "SELECT e.value, e.ordinality FROM jsonb_array_elements('[1, 2]') WITH ORDINALITY e",
    "SELECT g.g FROM generate_series(1, 3) g",
    "SELECT s.first_name FROM (SELECT * FROM actor) s",
    "SELECT t.x FROM jsonb_to_record('{\"x\": 1}') AS t(x int)",
]


@pytest.fixture(scope="module")
def sakila_index(sakila_url: str) -> SchemaIndex:
    return SchemaIndex(asyncio.run(PostgresConnector(sakila_url).introspect()))


@pytest.mark.parametrize("sql", ATTRIBUTE_CALLS)
def test_attribute_calls_through_an_alias_never_pass(sql: str, sakila_index: SchemaIndex) -> None:
    _, problems = guard_sql(sql, sakila_index)
    assert problems


@pytest.mark.parametrize("sql", STILL_FINE)
def test_columns_of_functions_in_from_still_resolve(sql: str, sakila_index: SchemaIndex) -> None:
    assert guard_sql(sql, sakila_index)[1] == []


UNSAFE_SETUP = """
CREATE TABLE t (id int, name text); INSERT INTO t VALUES (1, 'a');
CREATE FUNCTION evil_view(x int) RETURNS int LANGUAGE sql AS $f$ SELECT length(public.note('view')) $f$;
CREATE VIEW v AS SELECT id, evil_view(id) AS e FROM t;
CREATE VIEW vv AS SELECT id FROM v;
CREATE VIEW clean AS SELECT id, upper(name) AS name FROM t;
CREATE TABLE guarded (id int); INSERT INTO guarded VALUES (1);
CREATE FUNCTION evil_policy(x int) RETURNS boolean LANGUAGE sql AS $f$ SELECT length(public.note('rls')) > 0 $f$;
ALTER TABLE guarded ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON guarded FOR SELECT USING (evil_policy(id));
CREATE EXTENSION file_fdw;
CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
CREATE FOREIGN TABLE cmd (line text) SERVER files OPTIONS (program 'echo row');
"""


def test_relations_whose_reading_runs_user_code_are_refused_and_never_sampled(
    scratch_db: Callable[[str], str],
) -> None:
    url = scratch_db(LOGGER + UNSAFE_SETUP)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT * FROM public.vv")
    assert logged(url) == ["view"], "reading the view really runs the function"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE public.log")
    snapshot = asyncio.run(PostgresConnector(url).introspect())
    assert logged(url) == [], "indexing read no sample of an unsafe relation"
    index = SchemaIndex(snapshot)
    assert set(index.unsafe) == {"public.v", "public.vv", "public.guarded", "public.cmd"}
    for sql, reason in {
        "SELECT id, e FROM v": "view that calls evil_view",
        "SELECT id FROM vv": "reads public.v",
        "SELECT id FROM guarded": "row-level security policy",
        "SELECT line FROM cmd": "runs a program",
    }.items():
        with pytest.raises(QueryRefusedError, match=reason):
            guard_sql(sql, index)
    assert guard_sql("SELECT id, name FROM clean", index)[1] == []
    assert snapshot.by_name()["public.clean"].samples, "a view of built-ins alone is sampled as before"


def test_a_type_put_into_pg_catalog_under_a_name_sqlglot_knows_is_not_a_built_in(
    scratch_db: Callable[[str], str],
) -> None:
    url = scratch_db(
        LOGGER + "CREATE FUNCTION evil_check(x text) RETURNS boolean LANGUAGE sql"
        " AS $f$ SELECT length(public.note('check')) > 0 $f$;"
        " CREATE DOMAIN pg_catalog.decfloat AS text CHECK (public.evil_check(VALUE));"
        " CREATE TABLE t (name text); INSERT INTO t VALUES ('a');"
    )
    index = SchemaIndex(asyncio.run(PostgresConnector(url).introspect()))
    with pytest.raises(QueryRefusedError, match="defines a type of that name"):
        guard_sql("SELECT CAST(name AS decfloat) FROM t", index)
    assert guard_sql("SELECT CAST(name AS varchar(3)) FROM t", index)[1] == []


def test_a_hazard_created_after_indexing_stops_the_query_at_run_time(scratch_db: Callable[[str], str]) -> None:
    url = scratch_db(
        LOGGER + "CREATE TYPE pair AS (a int, b int); CREATE TABLE t (p pair); INSERT INTO t VALUES ((1, 2));"
    )
    index = SchemaIndex(asyncio.run(PostgresConnector(url).introspect()))
    sql, problems = guard_sql("SELECT p FROM t", index)
    assert problems == [] and asyncio.run(PostgresQueryRunner().run(url, sql, QueryLimits())).row_count == 1
    with psycopg.connect(url, autocommit=True) as conn:  # the type's owner may do this, no superuser needed
        conn.execute(
            "CREATE FUNCTION pair_text(x pair) RETURNS text LANGUAGE sql AS $f$ SELECT public.note('pair') $f$;"
            " CREATE CAST (pair AS text) WITH FUNCTION pair_text(pair);"
        )
    with pytest.raises(QueryExecutionError, match="now defines casts to json or text"):
        asyncio.run(PostgresQueryRunner().run(url, sql, QueryLimits()))
    assert logged(url) == []
