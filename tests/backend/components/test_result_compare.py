"""The execution match an evaluation scores with: a must-match corpus and a must-mismatch corpus."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from backend.components.result_compare import Table, compare, expected_is_ordered

Case = tuple[str, Table, Table, bool]


def t(columns: list[str], *rows: list[Any]) -> Table:
    return Table(columns, [list(r) for r in rows])


MUST_MATCH: list[Case] = [
    ("identical", t(["a"], [1], [2]), t(["a"], [1], [2]), False),
    ("other row order without ORDER BY", t(["a", "b"], [1, "x"], [2, "y"]), t(["a", "b"], [2, "y"], [1, "x"]), False),
    ("columns swapped", t(["id", "name"], [1, "x"], [2, "y"]), t(["name", "id"], ["x", 1], ["y", 2]), False),
    ("columns swapped and renamed", t(["n", "t"], [3, "a"]), t(["title", "count"], ["a", 3]), True),
    ("1.0 vs 1", t(["n"], [1.0], [2]), t(["n"], [1], [2.0]), False),
    ("decimal text vs float in tolerance", t(["amt"], ["12345.670000001"]), t(["amt"], [12345.67]), False),
    ("decimal text vs int", t(["amt"], ["42.000"]), t(["amt"], [42]), False),
    ("float noise", t(["avg"], [4.199999999]), t(["avg"], [4.2]), False),
    ("float4 noise", t(["rate"], [4.199999809265137]), t(["rate"], ["4.20"]), False),
    ("duplicates as multisets", t(["a"], [1], [1], [2]), t(["a"], [2], [1], [1]), False),
    ("NULLs", t(["a", "b"], [None, 1], [2, None]), t(["b", "a"], [None, 2], [1, None]), False),
    ("ordered and in order", t(["a"], [3], [2], [1]), t(["x"], [3], [2], [1]), True),
    ("ordered, columns swapped", t(["a", "b"], [2, "x"], [1, "y"]), t(["b", "a"], ["x", 2], ["y", 1]), True),
    ("empty both", t(["a"]), t(["b"]), False),
    ("nested documents", t(["doc"], [{"k": 1, "l": [1.0, "z"]}]), t(["d"], [{"l": [1, "z"], "k": 1.0}]), False),
    (
        "same values in two columns",
        t(["a", "b"], [1, 1], [1, 2], [2, 1]),
        t(["b", "a"], [1, 1], [2, 1], [1, 2]),
        False,
    ),
    (
        "near-equal rows pair up",
        t(["x", "y"], [1.0, "a"], [1.0000001, "b"]),
        t(["x", "y"], [1.0000001, "a"], [1.0, "b"]),
        False,
    ),
]

MUST_MISMATCH: list[Case] = [
    ("a missing row", t(["a"], [1], [2], [3]), t(["a"], [1], [2]), False),
    ("a duplicate missing", t(["a"], [1], [1], [2]), t(["a"], [1], [2], [2]), False),
    ("different order with ORDER BY", t(["a"], [1], [2], [3]), t(["a"], [3], [2], [1]), True),
    ("a value off beyond tolerance", t(["amt"], [100.0]), t(["amt"], [100.01]), False),
    ("decimal text off", t(["amt"], ["12345.67"]), t(["amt"], [12345.68]), False),
    ("an extra column", t(["a"], [1], [2]), t(["a", "b"], [1, "x"], [2, "y"]), False),
    ("a column fewer", t(["a", "b"], [1, "x"]), t(["a"], [1]), False),
    ("different row counts, same values", t(["a"], [1]), t(["a"], [1], [1]), False),
    ("NULL is not 0", t(["a"], [None]), t(["a"], [0]), False),
    ("true is not 1", t(["a"], [True]), t(["a"], [1]), False),
    ("text is not a number it does not spell", t(["a"], ["1x"]), t(["a"], [1]), False),
    ("rows mixed across columns", t(["a", "b"], [1, "x"], [2, "y"]), t(["a", "b"], [1, "y"], [2, "x"]), False),
    ("empty vs one row", t(["a"]), t(["a"], [1]), False),
    ("nested documents differ", t(["doc"], [{"k": 1}]), t(["doc"], [{"k": 2}]), False),
]


@pytest.mark.parametrize(("name", "expected", "generated", "ordered"), MUST_MATCH, ids=[c[0] for c in MUST_MATCH])
def test_must_match(name: str, expected: Table, generated: Table, ordered: bool) -> None:
    result = compare(expected, generated, ordered)
    assert result.match, (name, result.reason)
    assert result.reason is None


@pytest.mark.parametrize(("name", "expected", "generated", "ordered"), MUST_MISMATCH, ids=[c[0] for c in MUST_MISMATCH])
def test_must_mismatch(name: str, expected: Table, generated: Table, ordered: bool) -> None:
    result = compare(expected, generated, ordered)
    assert not result.match, name
    assert result.reason


def test_the_diff_says_what_the_screen_shows() -> None:
    result = compare(
        t(["id", "name"], [1, "a"], [2, "b"], [3, "c"]), t(["name", "id"], ["a", 1], ["z", 9], ["c", 3]), False
    )
    assert not result.match and result.reason == "the rows differ"
    d = result.diff
    assert d["expected_columns"] == ["id", "name"] and d["generated_columns"] == ["name", "id"]
    assert d["expected_row_count"] == 3 and d["generated_row_count"] == 3
    assert d["only_expected"] == [[2, "b"]]
    assert d["only_generated"] == [[9, "z"]]  # in the expected columns' order
    json.dumps(d)  # stored as JSONB


def test_order_is_named_as_the_reason() -> None:
    result = compare(t(["a"], [1], [2]), t(["a"], [2], [1]), True)
    assert result.reason == "the rows are in another order"


def test_a_match_keeps_the_column_map() -> None:
    assert compare(t(["a", "b"], [1, "x"]), t(["b", "a"], ["x", 1]), False).diff["column_map"] == [1, 0]


def test_wide_results_with_identical_columns_stay_bounded() -> None:
    width = 12
    expected = Table([f"c{i}" for i in range(width)], [[0] * width for _ in range(3)])
    generated = Table([f"c{i}" for i in range(width)], [[0] * (width - 1) + [1] for _ in range(3)])
    started = time.perf_counter()
    assert not compare(expected, generated, False).match
    # Eleven interchangeable columns and no complete order: the search stops at its step budget
    # (it once took 80 s here); a generous bound, not a benchmark.
    assert time.perf_counter() - started < 10
    # Columns that can be ordered are still found, the swapped one included.
    swapped = Table(expected.columns, [[1] + [0] * (width - 1) for _ in range(3)])
    shifted = Table(expected.columns, [[0] * (width - 1) + [1] for _ in range(3)])
    assert compare(swapped, shifted, False).match


@pytest.mark.parametrize(
    ("language", "query", "ordered"),
    [
        ("sql", "SELECT title FROM film ORDER BY title", True),
        ("sql", "SELECT title FROM film", False),
        ("sql", "SELECT * FROM (SELECT title FROM film ORDER BY title) s", False),
        ("sql", "WITH x AS (SELECT 1 AS a ORDER BY 1) SELECT a FROM x", False),
        ("sql", "SELECT a FROM t UNION SELECT b FROM u ORDER BY 1", True),
        ("sql", "(SELECT title FROM film ORDER BY title LIMIT 3)", True),
        ("mongo", json.dumps({"collection": "c", "pipeline": [{"$sort": {"a": 1}}]}), True),
        ("mongo", json.dumps({"collection": "c", "pipeline": [{"$sort": {"a": 1}}, {"$group": {"_id": "$a"}}]}), False),
        (
            "mongo",
            json.dumps({"collection": "c", "pipeline": [{"$group": {"_id": "$a"}}, {"$sort": {"_id": 1}}]}),
            True,
        ),
        ("mongo", json.dumps({"collection": "c", "pipeline": [{"$sortByCount": "$a"}, {"$limit": 3}]}), True),
        ("mongo", json.dumps({"collection": "c", "pipeline": [{"$match": {"a": 1}}]}), False),
        ("mongo", json.dumps({"collection": "c", "filter": {"a": 1}, "sort": {"a": -1}}), True),
        ("mongo", json.dumps({"collection": "c", "filter": {"a": 1}}), False),
    ],
)
def test_expected_is_ordered(language: str, query: str, ordered: bool) -> None:
    assert expected_is_ordered(language, query) is ordered
