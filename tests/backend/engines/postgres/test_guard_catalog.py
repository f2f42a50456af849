"""Every expression class sqlglot defines is allowed or refused on purpose.

A sqlglot release that adds, renames or moves a class fails here, before a user meets it:
the new class must be put into one set of ``sql_classes`` by a person.
"""

from __future__ import annotations

import inspect

import pytest
from sqlglot import exp

from backend.engines.base import QueryRefusedError
from backend.engines.postgres import guard_catalog as sql_classes
from backend.engines.postgres.guard import check_statement

SETS = {
    "OPERATORS": sql_classes.OPERATORS,
    "STRUCTURE": sql_classes.STRUCTURE,
    "CHECKED": sql_classes.CHECKED,
    "ALLOWED_TYPED_FUNCTIONS": sql_classes.ALLOWED_TYPED_FUNCTIONS,
    "REFUSED_FUNCTIONS": sql_classes.REFUSED_FUNCTIONS,
    "REFUSED_SYNTAX": sql_classes.REFUSED_SYNTAX,
}


def sqlglot_classes() -> dict[str, type]:
    return {c.__name__: c for c in vars(exp).values() if inspect.isclass(c) and issubclass(c, exp.Expr)}


def test_every_sqlglot_class_is_in_exactly_one_set() -> None:
    classes = sqlglot_classes()
    placed: dict[str, list[str]] = {}
    for set_name, names in SETS.items():
        for name in names:
            placed.setdefault(name, []).append(set_name)
    unplaced = sorted(set(classes) - set(placed))
    assert not unplaced, f"sqlglot classes the guard does not classify: {unplaced}"
    twice = {name: sets for name, sets in placed.items() if len(sets) > 1}
    assert not twice, f"classes in more than one set: {twice}"
    gone = sorted(set(placed) - set(classes))
    assert not gone, f"classified names sqlglot no longer defines: {gone}"


def test_function_sets_hold_functions_and_syntax_sets_do_not() -> None:
    classes = sqlglot_classes()
    assert all(issubclass(classes[n], exp.Func) for n in sql_classes.ALLOWED_TYPED_FUNCTIONS)
    assert all(issubclass(classes[n], exp.Func) for n in sql_classes.REFUSED_FUNCTIONS)
    assert not any(issubclass(classes[n], exp.Func) for n in sql_classes.REFUSED_SYNTAX)


def test_operators_that_sqlglot_calls_functions_are_operators_here() -> None:
    # The release that refused every AND: these are Func subclasses in sqlglot 30.
    for name in ("And", "Or", "Xor", "Collate", "Pow", "RegexpLike", "RegexpILike", "JSONExtract", "ArrayContains"):
        assert issubclass(sqlglot_classes()[name], exp.Func)
        assert name in sql_classes.OPERATORS


# One query per operator or connective class: each must pass layer 1.
OPERATOR_QUERIES = [
    "SELECT 1 WHERE 1 = 1 AND 2 = 2 OR NOT 3 = 4",
    "SELECT 'a' COLLATE \"C\" < 'b'",
    "SELECT 2 ^ 10, 7 % 3, 7 / 2, -1, 1 + 2 - 3 * 4",
    "SELECT 'abc' ~ 'b', 'abc' ~* 'B', 'abc' !~ 'z', 'abc' SIMILAR TO 'a%'",
    "SELECT 'a' LIKE 'a%', 'a' ILIKE 'A%', 'a!%' LIKE 'a!%%' ESCAPE '!'",
    "SELECT 1 IS DISTINCT FROM 2, 1 IS NOT DISTINCT FROM 1, NULL IS NULL, true IS TRUE",
    "SELECT 2 BETWEEN 1 AND 3, 2 IN (1, 2), 2 = ANY(ARRAY[1, 2]), 2 > ALL(ARRAY[0, 1])",
    "SELECT '{\"a\": {\"b\": 1}}'::jsonb -> 'a' ->> 'b', '{\"a\": 1}'::jsonb #> '{a}', '{\"a\": 1}'::jsonb #>> '{a}'",
    "SELECT '{\"a\": 1}'::jsonb @> '{\"a\": 1}', '{\"a\": 1}'::jsonb ? 'a', '{\"a\": 1}'::jsonb ?| ARRAY['a']",
    "SELECT ARRAY[1, 2] @> ARRAY[1], ARRAY[1] <@ ARRAY[1, 2], ARRAY[1] && ARRAY[1, 3], ARRAY[1] || 2",
    "SELECT 'a' || 'b', 5 & 3, 5 | 3, 5 # 3, ~5, 1 << 2, 8 >> 1",
    "SELECT now() AT TIME ZONE 'UTC'",
    "SELECT (DATE '2020-01-01', DATE '2020-02-01') OVERLAPS (DATE '2020-01-15', DATE '2020-03-01')",
    "SELECT EXISTS (SELECT 1), to_tsvector('a b') @@ to_tsquery('a')",
]  # fmt: skip


@pytest.mark.parametrize("sql", OPERATOR_QUERIES)
def test_operators_and_connectives_pass(sql: str) -> None:
    check_statement(sql)


REFUSED_SYNTAX_QUERIES = {
    "SELECT 1 OPERATOR(public.###) 2": "OPERATOR",
    "SELECT $1": "placeholders",
    "SELECT %s": "placeholders",
    "SELECT public.age('x')": "Schema-qualified function calls",
    "SELECT (a).full_name FROM actor a": "Attribute notation",
    "SELECT 'actor'::regclass": "(?i)regclass",
    "SELECT current_user": r"current_user\(\)",
    "SELECT pg_catalog.pg_sleep(1)": r"pg_sleep\(\)",
}


@pytest.mark.parametrize("sql", REFUSED_SYNTAX_QUERIES)
def test_syntax_that_could_reach_user_code_is_refused(sql: str) -> None:
    with pytest.raises(QueryRefusedError, match=REFUSED_SYNTAX_QUERIES[sql]):
        check_statement(sql)


def test_pg_catalog_qualified_builtins_pass() -> None:
    assert "pg_catalog.lower" in check_statement("SELECT pg_catalog.lower('A')").sql
