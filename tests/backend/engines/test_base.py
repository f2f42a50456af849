"""The one coercion of driver values to JSON (engines/base.py), on psycopg and BSON values alike."""

from __future__ import annotations

import asyncio
import decimal
import json
from typing import Any

import pytest
from bson import Code, Decimal128, Int64, ObjectId

from backend.engines.base import QueryLimits, json_value
from backend.engines.mongo.schema import bson_type
from backend.engines.postgres.runner import PostgresQueryRunner


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (decimal.Decimal("19.99"), 19.99),
        (decimal.Decimal("12.50"), 12.5),
        (decimal.Decimal("42"), 42),
        (Decimal128("10"), 10),
        (Int64(7), 7),
        (1.5, 1.5),
        ("text", "text"),
        ({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}),
    ],
)
def test_ordinary_numbers_and_documents_stay_as_they_are(value: Any, expected: Any) -> None:
    assert json_value(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (decimal.Decimal("1E+400"), "1E+400"),
        (decimal.Decimal("9007199254740993"), "9007199254740993"),
        (decimal.Decimal("1E-400"), "1E-400"),
        (decimal.Decimal("NaN"), "NaN"),
        (float("inf"), "inf"),
    ],
)
def test_numbers_a_double_cannot_hold_are_kept_as_text(value: Any, expected: str) -> None:
    """Review of issue 12: 10::numeric ^ 400 came back as float('inf'), which JSON cannot write."""
    assert json_value(value) == expected
    json.dumps(json_value(value), allow_nan=False)


def test_bson_decimal_past_a_double_is_text() -> None:
    out = json_value(Decimal128("1E+6144"))
    assert isinstance(out, str) and out.endswith("E+6144")


def test_deep_documents_end_in_text_not_a_recursion_error() -> None:
    deep: Any = 1
    for _ in range(3000):
        deep = [deep]
    out = json_value(deep)
    json.dumps(out, allow_nan=False)
    for _ in range(10):
        out = out[0]
    assert isinstance(out, list)


def test_strings_are_cut_only_when_asked() -> None:
    assert json_value({"s": "x" * 50}, max_chars=10) == {"s": "x" * 10}
    assert json_value("x" * 50) == "x" * 50
    assert json_value(ObjectId("0123456789ab0123456789ab"), max_chars=5) == "01234"


def test_bson_code_is_javascript_not_a_string() -> None:
    assert bson_type(Code("x", {"a": 1})) == "javascript"
    assert bson_type("x") == "string"


def test_runner_returns_huge_and_deep_values_as_json(sakila_url: str) -> None:
    sql = "SELECT 10::numeric ^ 400 AS big, (repeat('[', 600) || repeat(']', 600))::jsonb AS deep"
    result = asyncio.run(PostgresQueryRunner().run(sakila_url, sql, QueryLimits()))
    json.dumps(result.rows, allow_nan=False)
    assert isinstance(result.rows[0][0], str) and result.rows[0][0].startswith("1")
