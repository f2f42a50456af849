"""Property-based tests: random compositions of allowed and forbidden pieces never let a
forbidden piece through either guard, and the allowed compositions pass."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.engines.base import QueryRefusedError
from backend.engines.mongo.guard import check_pipeline, parse_mongo_query
from backend.engines.postgres.guard import check_statement
from backend.schemas.schema_snapshot import ColumnInfo, ObjectInfo, SchemaSnapshot

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ALLOWED_EXPR = ["amount", "count(*)", "lower(name)", "round(amount, 2)", "coalesce(name, 'x')",
                "date_trunc('month', paid_at)", "extract(year FROM paid_at)", "length(name)", "1 + 2",
                "CASE WHEN amount > 1 THEN 'big' ELSE 'small' END", "abs(amount)", "now()"]  # fmt: skip
FORBIDDEN_EXPR = ["pg_sleep(1)", "pg_read_file('/etc/passwd')", "set_config('a', 'b', false)", "nextval('s')",
                  "lo_import('/etc/passwd')", "dblink('x', 'y')", "pg_terminate_backend(1)", "txid_current()",
                  "pg_advisory_lock(1)", "current_setting('data_directory')", "query_to_xml('x', true, true, '')",
                  "pg_catalog.pg_sleep(1)", '"pg_sleep"(1)', "PG_SLEEP(1)"]  # fmt: skip
ALLOWED_SUFFIX = ["", " ORDER BY 1", " LIMIT 10", " GROUP BY 1", " OFFSET 5"]
FORBIDDEN_SUFFIX = [" FOR UPDATE", " FOR SHARE", "; DROP TABLE payments", "; DELETE FROM payments",
                    " FOR NO KEY UPDATE", ";COMMIT; DROP TABLE payments"]  # fmt: skip
FORBIDDEN_PREFIX = [
    "WITH d AS (DELETE FROM payments RETURNING *) ",
    "WITH u AS (UPDATE payments SET amount = 0 RETURNING *) ",
]


@st.composite
def sql_case(draw: st.DrawFn) -> tuple[str, bool]:
    forbidden = False
    exprs = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()) and draw(st.integers(0, 4)) == 0:
            exprs.append(draw(st.sampled_from(FORBIDDEN_EXPR)))
            forbidden = True
        else:
            exprs.append(draw(st.sampled_from(ALLOWED_EXPR)))
    where = draw(st.sampled_from(["", " WHERE amount > 0", " WHERE name LIKE 'a%'"]))
    if draw(st.integers(0, 5)) == 0:
        where = f" WHERE amount > (SELECT {draw(st.sampled_from(FORBIDDEN_EXPR))})"
        forbidden = True
    into = ""
    if draw(st.integers(0, 8)) == 0:
        into, forbidden = " INTO stolen", True
    suffix = draw(st.sampled_from(ALLOWED_SUFFIX))
    if draw(st.integers(0, 5)) == 0:
        suffix, forbidden = draw(st.sampled_from(FORBIDDEN_SUFFIX)), True
    prefix = ""
    if draw(st.integers(0, 6)) == 0:
        prefix, forbidden = draw(st.sampled_from(FORBIDDEN_PREFIX)), True
    body = f"SELECT {', '.join(exprs)}{into} FROM payments{where}{suffix}"
    if prefix:
        body = f"{prefix}SELECT * FROM ({body}) q" if ";" not in body else prefix + body
    return body, forbidden


@SETTINGS
@given(sql_case())
def test_sql_guard_never_lets_a_forbidden_piece_through(case: tuple[str, bool]) -> None:
    sql, forbidden = case
    try:
        check_statement(sql)
        refused = False
    except QueryRefusedError:
        refused = True
    assert refused == forbidden, sql


FIELDS = ("status", "total", "items", "items.sku", "customer_id")
SHOP = SchemaSnapshot(
    kind="mongodb",
    objects=[
        ObjectInfo(
            schema_name="shop",
            name=name,
            kind="collection",
            columns=[ColumnInfo(name=f, type="string") for f in FIELDS],
        )
        for name in ("orders", "customers")
    ],
)
ALLOWED_STAGES: list[dict[str, Any]] = [
    {"$match": {"status": "paid"}}, {"$sort": {"total": -1}}, {"$limit": 5}, {"$skip": 1},
    {"$unwind": "$items"}, {"$group": {"_id": "$status", "n": {"$sum": 1}}}, {"$count": "n"},
    {"$project": {"status": 1, "total": 1}}, {"$addFields": {"double": {"$multiply": ["$total", 2]}}},
    {"$lookup": {"from": "customers", "localField": "customer_id", "foreignField": "_id", "as": "c"}},
    {"$match": {"$or": [{"status": "new"}, {"total": {"$gt": 3}}]}},
    {"$sample": {"size": 10}}, {"$match": {"status": {"$regex": "^pa(id)?$", "$options": "i"}}},
    {"$bucketAuto": {"groupBy": "$total", "buckets": 5}},
    {"$densify": {"field": "total", "range": {"step": 10, "bounds": [0, 100]}}},
    {"$graphLookup": {"from": "orders", "startWith": "$customer_id", "connectFromField": "customer_id",
                      "connectToField": "_id", "as": "g", "maxDepth": 2}},
    {"$addFields": {"r": {"$map": {"input": {"$range": [0, 20]}, "in": {"$multiply": ["$$this", 2]}}}}},
]  # fmt: skip
FORBIDDEN_PIECES: list[dict[str, Any]] = [
    {"$out": "x"}, {"$merge": {"into": "x"}}, {"$match": {"$where": "true"}}, {"$currentOp": {}},
    {"$addFields": {"x": {"$function": {"body": "f", "args": [], "lang": "js"}}}},
    {"$group": {"_id": None, "x": {"$accumulator": {"init": "f"}}}}, {"$collStats": {}},
    {"$lookup": {"from": {"db": "admin", "coll": "system.users"}, "as": "u"}},
    {"$unionWith": {"db": "other", "coll": "x"}}, {"$lookup": {"from": "nowhere", "as": "u"}},
    # Amplifiers: the caps of mongo_costs.
    {"$sample": {"size": 10**9}}, {"$match": {"status": {"$regex": "(a+)+$"}}},
    {"$bucketAuto": {"groupBy": "$total", "buckets": 10**7}},
    {"$densify": {"field": "total", "range": {"step": 1, "bounds": "full"}}},
    {"$graphLookup": {"from": "orders", "startWith": "$a", "connectFromField": "a", "connectToField": "b", "as": "g"}},
    {"$addFields": {"r": {"$range": [0, 10**9]}}},
    {"$addFields": {"s": {"$reduce": {"input": "$items", "initialValue": "x",
                                      "in": {"$concat": ["$$value", "$$value"]}}}}},
]  # fmt: skip


@st.composite
def pipeline_case(draw: st.DrawFn) -> tuple[list[dict[str, Any]], bool]:
    stages = draw(st.lists(st.sampled_from(ALLOWED_STAGES), min_size=0, max_size=6))
    if draw(st.integers(0, 2)) != 0:
        return stages, False
    piece = draw(st.sampled_from(FORBIDDEN_PIECES))
    where = draw(st.sampled_from(["top", "facet", "lookup", "nested_facet"]))
    if where == "facet":
        piece = {"$facet": {"a": [*stages[:1], piece]}}
    elif where == "lookup":
        piece = {"$lookup": {"from": "customers", "pipeline": [piece], "as": "c"}}
    elif where == "nested_facet":
        piece = {"$facet": {"outer": [{"$facet": {"inner": [piece]}}]}}
    position = draw(st.integers(0, len(stages)))
    return [*stages[:position], piece, *stages[position:]], True


@SETTINGS
@given(pipeline_case())
def test_mongo_guard_never_lets_a_forbidden_piece_through(case: tuple[list[dict[str, Any]], bool]) -> None:
    pipeline, forbidden = case
    try:
        problems = check_pipeline(
            parse_mongo_query(json.dumps({"collection": "orders", "pipeline": pipeline}), SHOP), SHOP
        )
        refused = False
    except QueryRefusedError:
        refused, problems = True, []
    assert refused == forbidden, pipeline
    if not forbidden:
        assert problems == [], pipeline


NESTING = ["$lookup", "$unionWith", "$facet"]


@SETTINGS
@given(
    st.lists(st.sampled_from(NESTING), min_size=0, max_size=5), st.lists(st.sampled_from(ALLOWED_STAGES), max_size=3)
)
def test_mongo_sub_pipelines_nest_at_most_two_deep(kinds: list[str], tail: list[dict[str, Any]]) -> None:
    pipeline: list[dict[str, Any]] = list(tail)
    for kind in kinds:
        if kind == "$lookup":
            pipeline = [{"$lookup": {"from": "orders", "pipeline": pipeline, "as": "j"}}]
        elif kind == "$unionWith":
            pipeline = [{"$unionWith": {"coll": "customers", "pipeline": pipeline}}]
        else:
            pipeline = [{"$facet": {"f": pipeline}}]
    # The deepest level holding a join, union or $facet: the wrappers, plus one for a $lookup or
    # $graphLookup in the innermost stages.
    levels = len(kinds) + any(next(iter(stage)) in ("$lookup", "$graphLookup") for stage in tail)
    try:
        check_pipeline(parse_mongo_query(json.dumps({"collection": "orders", "pipeline": pipeline}), SHOP), SHOP)
        refused = False
    except QueryRefusedError:
        refused = True
    assert refused == (levels > 2), pipeline
