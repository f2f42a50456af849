"""The Mongo guard's cost caps: every amplifier refused for its own reason, every everyday
pipeline let through and run on the wire server with the right answer, and each cap checked
on both sides of its number."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from bson.regex import Regex

from backend.engines.base import QueryLimits, QueryRefusedError
from backend.engines.mongo import guard_costs as costs
from backend.engines.mongo.connector import MongoConnector
from backend.engines.mongo.guard import MAX_NESTING, MongoQuery, check_pipeline, parse_mongo_query
from backend.engines.mongo.runner import MongoQueryRunner
from backend.schemas.schema_snapshot import SchemaSnapshot
from tests.backend.adversarial_mongo import AMPLIFIERS
from tests.backend.everyday_mongo import EVERYDAY, Everyday, Samples, load_samples
from tests.conftest import mongo_db_url


@pytest.fixture(scope="module")
def shop(mongo_url: str) -> SchemaSnapshot:
    return asyncio.run(MongoConnector(mongo_db_url(mongo_url, "shop")).introspect())


@pytest.fixture(scope="module")
def samples_schema(mongo_url: str) -> SchemaSnapshot:
    return asyncio.run(MongoConnector(mongo_url).introspect())


@pytest.fixture(scope="module")
def samples() -> Samples:
    return load_samples()


def _check(pipeline: list[dict[str, Any]], snapshot: SchemaSnapshot, collection: str = "orders") -> list[str]:
    return check_pipeline(
        parse_mongo_query(json.dumps({"collection": collection, "pipeline": pipeline}), snapshot), snapshot
    )


def test_corpora_sizes() -> None:
    assert len(AMPLIFIERS) >= 20 and len(EVERYDAY) >= 20


@pytest.mark.parametrize("text", AMPLIFIERS)
def test_every_amplifier_is_refused_not_merely_repaired(text: str, shop: SchemaSnapshot) -> None:
    with pytest.raises(QueryRefusedError):
        check_pipeline(parse_mongo_query(text, shop), shop)


@pytest.mark.parametrize("case", EVERYDAY, ids=lambda c: json.dumps(c.query)[:90])
def test_everyday_pipelines_pass_and_give_the_right_answer(
    case: Everyday, samples_schema: SchemaSnapshot, samples: Samples, mongo_url: str
) -> None:
    query = parse_mongo_query(json.dumps(case.query), samples_schema)
    assert check_pipeline(query, samples_schema) == []
    if case.check is None:
        return  # the wire server lacks a feature this pipeline uses
    result = asyncio.run(MongoQueryRunner().run(mongo_url, query, QueryLimits(max_rows=1_000)))
    rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    assert not result.truncated
    assert case.check(rows, samples), rows[:10]


@pytest.mark.parametrize(
    ("stage", "ok", "too_much"),
    [
        ("$sample", {"size": costs.MAX_SAMPLE}, {"size": costs.MAX_SAMPLE + 1}),
        ("$bucketAuto", {"groupBy": "$total", "buckets": costs.MAX_BUCKETS}, {"groupBy": "$total", "buckets": 10**400}),
        ("$densify", {"field": "total", "range": {"step": 1, "bounds": [0, costs.MAX_DENSIFY_STEPS]}},
         {"field": "total", "range": {"step": 1, "bounds": [0, costs.MAX_DENSIFY_STEPS + 1]}}),
        ("$densify", {"field": "total", "partitionByFields": ["status"], "range": {"step": 2, "bounds": [0, 2_000]}},
         {"field": "total", "partitionByFields": ["status"], "range": {"step": 2, "bounds": [0, 2_002]}}),
        ("$densify", {"field": "placed_at", "range": {"step": 1, "unit": "day", "bounds": [
            {"$date": "2000-01-01T00:00:00Z"}, {"$date": "2020-01-01T00:00:00Z"}]}},
         {"field": "placed_at", "range": {"step": 1, "unit": "hour", "bounds": [
            {"$date": "2000-01-01T00:00:00Z"}, {"$date": "2020-01-01T00:00:00Z"}]}}),
        ("$densify", {"field": "placed_at", "range": {"step": 1, "unit": "month", "bounds": [
            {"$date": {"$numberLong": "0"}}, {"$date": "2700-01-01"}]}},
         {"field": "placed_at", "range": {"step": 1, "unit": "week", "bounds": [
            {"$date": {"$numberLong": "0"}}, {"$date": "2700-01-01"}]}}),
        ("$densify", {"field": "total", "range": {"step": 0.5, "bounds": [-10, 10]}},
         {"field": "total", "range": {"step": 0, "bounds": [-10, 10]}}),
        ("$graphLookup", {"from": "orders", "startWith": "$status", "connectFromField": "status",
                          "connectToField": "status", "as": "g", "maxDepth": costs.MAX_GRAPH_DEPTH},
         {"from": "orders", "startWith": "$status", "connectFromField": "status", "connectToField": "status",
          "as": "g", "maxDepth": costs.MAX_GRAPH_DEPTH + 1}),
    ],
)  # fmt: skip
def test_stage_caps_hold_at_their_number(stage: str, ok: Any, too_much: Any, shop: SchemaSnapshot) -> None:
    assert _check([{stage: ok}], shop) == []
    with pytest.raises(QueryRefusedError, match=re.escape(stage)):
        _check([{stage: too_much}], shop)


def test_densify_needs_explicit_literal_bounds(shop: SchemaSnapshot) -> None:
    for bounds, unit in (("full", None), ("partition", None), ([0, "$total"], None), ([0, 10], "day"),
                         (["2020-01-01", "2021-01-01"], "day"), ([0, 10], "fortnight")):  # fmt: skip
        rng: dict[str, Any] = {"step": 1, "bounds": bounds, **({"unit": unit} if unit else {})}
        with pytest.raises(QueryRefusedError, match=r"\$densify"):
            _check([{"$densify": {"field": "total", "range": rng}}], shop)
    assert _check([{"$fill": {"sortBy": {"placed_at": 1}, "output": {"total": {"method": "locf"}}}}], shop) == []


REFUSED_PATTERNS = [
    "(a+)+$",
    "^(a|aa)*$",
    "(\\w+\\s?)+$",
    "((ab)*)+",
    "(?:x+)*y",
    "([a-z]+)*!",
    "(a{1,3}){2,}",
    "(.*a){12}",
    "x" * (costs.MAX_REGEX_CHARS + 1),
    # Spellings that hide the repetition from a naive scan but not from PCRE.
    "(?x)(a+#)\n)+",
    "(?ix)abc",
    "(a+\\Q)\\E)+",
    "(a+)\\Q\\E+",
    "(a+)\\E*",
    "(a+)(?#note)+",
    "(a+){ 2,}",
    "(\\Qa\\E+)+",
    "[]a](b+)+",
    "[^]a](b+)+",
    "[a\\\\](b+)+",
]
ALLOWED_PATTERNS = [
    "^Eli",
    "@gmail\\.com$",
    "^(Mr|Mrs)\\.",
    "(a+)?b",
    "[(a+)+]",
    "\\(a+\\)+",
    "(?i)^abc",
    "(ab){3}",
    "^(\\d{3})-\\d+$",
    "a{2}(b+){1}",
    "^[A-Z][a-z]+ [A-Z]",
    "(a+) +",
    "\\Q(a+)+\\E",
    "x" * costs.MAX_REGEX_CHARS,
]


@pytest.mark.parametrize("pattern", REFUSED_PATTERNS)
def test_backtracking_and_long_patterns_are_refused(pattern: str) -> None:
    assert costs.regex_problem(pattern)


@pytest.mark.parametrize("pattern", ALLOWED_PATTERNS)
def test_ordinary_patterns_pass(pattern: str) -> None:
    assert costs.regex_problem(pattern) is None
    if "\\Q" not in pattern:  # Python's re has no \Q...\E
        re.compile(pattern)  # and they are real patterns


def test_every_regex_spelling_is_checked(shop: SchemaSnapshot) -> None:
    bad, good = "(a+)+$", "^pa"
    spellings: list[Callable[[str], dict[str, Any]]] = [
        lambda p: {"$match": {"status": {"$regex": p, "$options": "i"}}},
        lambda p: {"$match": {"status": {"$regex": {"$regularExpression": {"pattern": p, "options": ""}}}}},
        lambda p: {"$match": {"status": {"$in": [{"$regularExpression": {"pattern": p, "options": ""}}]}}},
        lambda p: {"$match": {"$expr": {"$regexMatch": {"input": "$status", "regex": p}}}},
        lambda p: {"$addFields": {"m": {"$regexFind": {"input": "$status", "regex": p, "options": "i"}}}},
        lambda p: {"$addFields": {"m": {"$regexFindAll": {"input": "$status", "regex": p}}}},
    ]
    for spell in spellings:
        assert _check([spell(good)], shop) == []
        with pytest.raises(QueryRefusedError, match="regular expression"):
            _check([spell(bad)], shop)
    for stage in (
        {"$match": {"status": {"$regex": good, "$options": "x"}}},
        {"$match": {"status": {"$regularExpression": {"pattern": good, "options": "ix"}}}},
        {"$addFields": {"m": {"$regexMatch": {"input": "$status", "regex": good, "options": "$status"}}}},
        {"$addFields": {"m": {"$regexFind": {"input": "$status", "regex": {"$concat": ["(a+", ")+"]}}}}},
    ):
        with pytest.raises(QueryRefusedError):
            _check([stage], shop)
    # What a driver hands over after decoding BSON: Regex and compiled patterns.
    for value in (Regex(good), re.compile(good)):
        check_pipeline(MongoQuery("shop", "orders", [{"$match": {"status": value}}]), shop)
    for value in (Regex(bad), re.compile(bad), Regex(good, "x"), Regex(good, re.X), re.compile(good, re.X)):
        with pytest.raises(QueryRefusedError):
            check_pipeline(MongoQuery("shop", "orders", [{"$match": {"status": value}}]), shop)


def _nest(stage: str, levels: int) -> list[dict[str, Any]]:
    """``levels`` of ``stage``, each inside the sub-pipeline of the one before."""
    inner: list[dict[str, Any]] = [{"$match": {"status": "paid"}}]
    for _ in range(levels):
        if stage == "$lookup":
            inner = [{"$lookup": {"from": "orders", "pipeline": inner, "as": "j"}}]
        elif stage == "$unionWith":
            inner = [{"$unionWith": {"coll": "orders", "pipeline": inner}}]
        else:
            inner = [{"$facet": {"f": inner}}]
    return inner


@pytest.mark.parametrize("stage", ["$lookup", "$unionWith", "$facet"])
def test_sub_pipelines_nest_at_most_max_nesting_levels(stage: str, shop: SchemaSnapshot) -> None:
    assert _check(_nest(stage, MAX_NESTING), shop) == []
    with pytest.raises(QueryRefusedError, match="nested too deeply"):
        _check(_nest(stage, MAX_NESTING + 1), shop)
    graph = {"from": "orders", "startWith": "$status", "connectFromField": "status", "connectToField": "status",
             "as": "g", "maxDepth": 1}  # fmt: skip
    with pytest.raises(QueryRefusedError, match="nested too deeply"):
        _check([{"$facet": {"f": [{"$facet": {"g": [{"$graphLookup": graph}]}}]}}], shop)
    assert _check([{"$facet": {"f": [{"$graphLookup": graph}]}}], shop) == []


@pytest.mark.parametrize(
    ("expression", "refused"),
    [
        ({"$range": [0, costs.MAX_RANGE]}, False),
        ({"$range": [0, costs.MAX_RANGE + 1]}, True),
        ({"$range": [costs.MAX_RANGE * 2, 0, -2]}, False),
        ({"$range": [0, 10**400]}, True),
        ({"$range": [0, 10, 0]}, True),
        ({"$range": [0, {"$size": "$items"}]}, False),
        ({"$range": [0, {"$multiply": [{"$size": "$items"}, 1000]}]}, True),
        ({"$map": {"input": {"$range": [0, 100]}, "in": {"$range": [0, 100]}}}, False),
        ({"$map": {"input": {"$range": [0, 100]}, "in": {"$range": [0, 101]}}}, True),
        ({"$reduce": {"input": "$items", "initialValue": "", "in": {"$concat": ["$$value", "$$this.sku"]}}}, False),
        ({"$reduce": {"input": "$items", "initialValue": 0, "in": {"$add": ["$$value", "$$this.qty"]}}}, False),
        ({"$reduce": {"input": "$items", "initialValue": [], "in": {"$concatArrays": ["$$value", ["$$this"]]}}}, False),
        ({"$reduce": {"input": "$items", "initialValue": [], "in": {"$reduce": {
            "input": "$$value", "initialValue": [], "in": {"$concatArrays": ["$$value", ["$$this"]]}}}}}, False),
        ({"$reduce": {"input": "$items", "initialValue": "", "in": {"$concat": ["$$value", "$$value.x"]}}}, True),
        ({"$reduce": {"input": "$items", "initialValue": "", "in": {"$let": {
            "vars": {"v": "$$value"}, "in": {"$concat": ["$$v", "$$v"]}}}}}, True),
        ({"$replaceAll": {"input": "$status", "find": "&", "replacement": " and "}}, False),
        ({"$replaceAll": {"input": "$status", "find": "-", "replacement": {"$literal": "$"}}}, False),
        ({"$replaceAll": {"input": "$status", "find": "-", "replacement": "$status"}}, True),
        ({"$replaceAll": {"input": "$status", "find": "ab", "replacement": "x" * 9}}, True),
        ({"$replaceOne": {"input": "$status", "find": "", "replacement": "$status"}}, False),
    ],
)  # fmt: skip
def test_expression_amplifiers(expression: dict[str, Any], refused: bool, shop: SchemaSnapshot) -> None:
    pipeline = [{"$project": {"x": expression}}]
    if refused:
        with pytest.raises(QueryRefusedError):
            _check(pipeline, shop)
    else:
        assert _check(pipeline, shop) == []
