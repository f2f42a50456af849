"""Layer 1 (statement) and layer 4 (schema) of the guard, each on its own."""

from __future__ import annotations

import asyncio

import pytest

from backend.engines.base import QueryRefusedError
from backend.engines.postgres.connector import PostgresConnector
from backend.engines.postgres.guard import check_statement
from backend.engines.postgres.guard_names import check_schema, used_relations
from backend.engines.postgres.schema_index import SchemaIndex


@pytest.fixture(scope="module")
def sakila_index(sakila_url: str) -> SchemaIndex:
    return SchemaIndex(asyncio.run(PostgresConnector(sakila_url).introspect()))


@pytest.fixture(scope="module")
def odd_index(oddtypes_url: str) -> SchemaIndex:
    return SchemaIndex(asyncio.run(PostgresConnector(oddtypes_url).introspect()))


GOOD = [
    "SELECT c.first_name, count(*) FROM customer c JOIN rental r ON r.customer_id = c.customer_id GROUP BY 1",
    "WITH t AS (SELECT customer_id, sum(amount) AS total FROM payment GROUP BY 1) SELECT * FROM t ORDER BY total DESC",
    "SELECT title, rank() OVER (PARTITION BY rating ORDER BY length DESC) AS r FROM film",
    "SELECT date_trunc('month', rental_date) AS m, count(*) FROM rental GROUP BY m ORDER BY m",
    "SELECT name FROM category UNION SELECT name FROM language",
    "SELECT * FROM film WHERE film_id IN (SELECT film_id FROM inventory WHERE store_id = 1)",
    "SELECT extract(year FROM payment_date) AS y, round(avg(amount), 2) FROM payment GROUP BY 1",
    "SELECT f.title FROM film f WHERE NOT EXISTS (SELECT 1 FROM inventory i WHERE i.film_id = f.film_id)",
    "SELECT coalesce(email, 'none') AS e, lower(last_name) FROM customer LIMIT 5;",
    "SELECT string_agg(first_name, ', ') FROM actor WHERE last_name ILIKE 'a%'",
]


# Names resolved scope by scope: LATERAL, derived tables, CTE column lists, recursion, USING.
SCOPED = [
    "SELECT f.title, l.n FROM film f CROSS JOIN LATERAL (SELECT count(*) AS n FROM inventory i"
    " WHERE i.film_id = f.film_id) l",
    "SELECT s.k FROM (SELECT store_id AS k FROM store) s WHERE s.k > 1",
    "WITH t(a, b) AS (SELECT actor_id, first_name FROM actor) SELECT t.a, b FROM t",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT r.n + 1 FROM r WHERE r.n < 3) SELECT r.n FROM r",
    "SELECT first_name FROM actor UNION SELECT first_name FROM customer ORDER BY first_name",
    "SELECT c.first_name FROM customer c WHERE EXISTS (SELECT 1 FROM rental r WHERE r.customer_id = c.customer_id)",
    "SELECT * FROM film JOIN film_category USING (film_id) WHERE category_id = 1",
]


@pytest.mark.parametrize("sql", GOOD + SCOPED)
def test_everyday_queries_pass_both_layers(sql: str, sakila_index: SchemaIndex) -> None:
    checked = check_statement(sql)
    assert check_schema(checked, sakila_index) == []


def test_the_statement_that_runs_is_the_regenerated_one() -> None:
    checked = check_statement("SELECT 1 /* ; DROP TABLE actor */ -- trailing\n;")
    assert checked.sql == "SELECT 1"


def test_refusals_name_the_reason() -> None:
    cases = {
        "": "empty",
        "SELECT 1; SELECT 2": "Exactly one statement",
        "DELETE FROM actor": "Only SELECT",
        "SELECT * FROM actor FOR UPDATE": "Locking clauses",
        "SELECT pg_sleep(1)": r"pg_sleep\(\) is not allowed",
        "SELECT * INTO x FROM actor": "INTO is not allowed",
        "SELECT 1 FROM (": "does not parse",
        "SELECT '\x00'": "control characters",
    }
    for sql, reason in cases.items():
        with pytest.raises(QueryRefusedError, match=reason):
            check_statement(sql)


def test_schema_layer_names_unknown_tables_and_columns(sakila_index: SchemaIndex) -> None:
    def problems(sql: str) -> list[str]:
        return check_schema(check_statement(sql), sakila_index)

    assert problems("SELECT * FROM customers") == ['Table "customers" does not exist in this database']
    assert problems("SELECT c.full_name FROM customer c") == [
        'Column "full_name" does not exist in table public.customer'
    ]
    assert problems("SELECT full_name FROM customer") == ['Column "full_name" does not exist in public.customer']
    assert problems("SELECT amount AS a FROM payment ORDER BY a") == []
    assert problems("SELECT x FROM (SELECT 1 AS x) s") == []
    assert problems("SELECT * FROM public.nope") == ['Table "public.nope" does not exist in this database']


def test_schema_layer_follows_postgres_identifier_rules(odd_index: SchemaIndex) -> None:
    def problems(sql: str) -> list[str]:
        return check_schema(check_statement(sql), odd_index)

    assert problems('SELECT "fullName", tier FROM sales."Customer"') == []
    # Unquoted identifiers fold to lower case, so this names a column that does not exist.
    assert problems('SELECT fullName FROM sales."Customer"') != []
    assert problems("SELECT gross FROM sales.orders") == []
    assert problems("SELECT archived_at FROM archive.orders") == []
    assert problems("SELECT gross FROM archive.orders") == ['Column "gross" does not exist in archive.orders']
    assert problems("SELECT * FROM orders") != []  # two schemas have one, neither on the search path


# The report: the outer alias x was resolved to the table the CTE called x.
REUSED_ALIAS = (
    "WITH c AS (SELECT d.store_id, COUNT(x.inventory_id) AS n FROM inventory x JOIN store d"
    " ON d.store_id = x.store_id GROUP BY d.store_id) SELECT x.store_id, x.n FROM c x JOIN store d USING (store_id)"
)


def test_an_alias_reused_in_two_scopes_resolves_in_its_own(sakila_index: SchemaIndex) -> None:
    assert check_schema(check_statement(REUSED_ALIAS), sakila_index) == []
    wrong = REUSED_ALIAS.replace("SELECT x.store_id, x.n", "SELECT x.store_id, x.inventory_id")
    assert check_schema(check_statement(wrong), sakila_index) == ['Column "inventory_id" does not exist in x']


def test_a_cte_that_shadows_a_table_is_the_cte(sakila_index: SchemaIndex) -> None:
    sql = "WITH film AS (SELECT 1 AS nope) SELECT nope FROM film"
    assert check_schema(check_statement(sql), sakila_index) == []
    assert check_schema(check_statement("SELECT nope FROM film"), sakila_index) == [
        'Column "nope" does not exist in public.film'
    ]


def test_used_relations_are_the_tables_read_not_ctes_or_functions(sakila_index: SchemaIndex) -> None:
    sql = """
    WITH top AS (SELECT film_id FROM film_actor GROUP BY film_id ORDER BY count(*) DESC LIMIT 5)
    SELECT f.title, c.name FROM top JOIN film f USING (film_id)
    JOIN public.film_category fc ON fc.film_id = f.film_id JOIN category c ON c.category_id = fc.category_id
    CROSS JOIN generate_series(1, 2) AS g WHERE f.film_id IN (SELECT film_id FROM film)
    """
    assert used_relations(sql, sakila_index) == [
        "public.film_actor", "public.film", "public.film_category", "public.category"
    ]  # fmt: skip
    assert used_relations("SELECT 1", sakila_index) == []
    assert used_relations("SELECT * FROM nowhere", sakila_index) == []  # unknown names are not provenance
