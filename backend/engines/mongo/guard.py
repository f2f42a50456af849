"""The MongoDB guard: only find/aggregate, only allowed stages, only this database.

``parse_mongo_query`` turns what the LLM wrote (``{"collection", "pipeline"}`` or a find
with ``filter``/``projection``/``sort``/``limit``/``skip``) into one aggregation pipeline.
``check_pipeline`` refuses anything outside the stage allow-list (``$out``, ``$merge``,
server-admin stages...), the operators that run JavaScript or write (``$where``,
``$function``, ``$accumulator``) anywhere in the tree, and ``$lookup``/``$graphLookup``/
``$unionWith`` into another database or an unknown collection, joins and ``$facet`` nested
more than ``MAX_NESTING`` levels deep, more than ``MAX_STAGES`` stages in one pipeline or
``MAX_TOTAL_STAGES`` in all, and the amplifiers capped in ``mongo_costs`` (``$sample``,
``$densify``, ``$graphLookup``, ``$bucketAuto``, regular expressions, ``$range``...); and it
names field paths the inferred schema does not know.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from backend.engines.base import QueryRefusedError
from backend.engines.mongo.guard_costs import check_expression_costs, check_stage_costs
from backend.schemas.schema_snapshot import SchemaSnapshot

ALLOWED_STAGES = {
    "$match", "$project", "$addFields", "$set", "$unset", "$group", "$sort", "$limit", "$skip", "$unwind",
    "$lookup", "$graphLookup", "$unionWith", "$count", "$facet", "$sortByCount", "$bucket", "$bucketAuto",
    "$replaceRoot", "$replaceWith", "$sample", "$setWindowFields", "$densify", "$fill", "$redact",
}  # fmt: skip
FORBIDDEN_OPERATORS = {"$where", "$function", "$accumulator", "$out", "$merge", "$eval", "$code"}
# After these stages documents no longer have the collection's fields.
RESHAPING_STAGES = {
    "$group", "$project", "$replaceRoot", "$replaceWith", "$facet", "$bucket", "$bucketAuto", "$count",
    "$sortByCount", "$unionWith", "$setWindowFields", "$redact",
}  # fmt: skip
MAX_STAGES = 40
MAX_TOTAL_STAGES = 100  # across the pipeline and all its sub-pipelines
MAX_DEPTH = 40
# Stages that run (sub-)pipelines or joins per input document: each level multiplies the work,
# so a self-$lookup inside a self-$lookup inside ... is refused past this many levels.
NESTING_STAGES = ("$lookup", "$graphLookup", "$unionWith", "$facet")
MAX_NESTING = 2


@dataclass(frozen=True)
class MongoQuery:
    database: str
    collection: str
    pipeline: list[dict[str, Any]]

    def to_text(self) -> str:
        # database.collection: on a connection spanning databases the bare name can be ambiguous.
        return json.dumps(
            {"collection": f"{self.database}.{self.collection}", "pipeline": self.pipeline}, separators=(", ", ": ")
        )


def collections_by_database(snapshot: SchemaSnapshot) -> dict[str, dict[str, set[str]]]:
    """database -> collection -> the first segments of its field paths."""
    out: dict[str, dict[str, set[str]]] = {}
    for obj in snapshot.objects:
        out.setdefault(obj.schema_name, {})[obj.name] = {c.name.split(".")[0] for c in obj.columns} | {"_id"}
    return out


def parse_mongo_query(text: str, snapshot: SchemaSnapshot) -> MongoQuery:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise QueryRefusedError(f"The query is not valid JSON: {exc}") from exc
    except RecursionError:  # "[[[[..." within the size limit: refused, not a 500 without an audit event
        raise QueryRefusedError("The query is nested too deeply") from None
    if not isinstance(data, dict):
        raise QueryRefusedError('The query must be a JSON object with "collection" and "pipeline"')
    name = data.get("collection")
    if not isinstance(name, str) or not name:
        raise QueryRefusedError('The query names no "collection"')
    known = collections_by_database(snapshot)
    prefix, _, rest = name.partition(".")
    if rest and rest in known.get(prefix, {}):
        database, collection = prefix, rest
    else:
        matches = [db for db, colls in known.items() if name in colls]
        if not matches:
            raise QueryRefusedError(f'Collection "{name}" does not exist in this database')
        if len(matches) > 1:
            raise QueryRefusedError(f'Collection "{name}" exists in several databases; write "database.{name}"')
        database, collection = matches[0], name
    if "pipeline" in data:
        pipeline = data["pipeline"]
        if not isinstance(pipeline, list) or not all(isinstance(s, dict) for s in pipeline):
            raise QueryRefusedError('"pipeline" must be a list of stages')
    else:
        pipeline = []
        for key, stage in (("filter", "$match"), ("sort", "$sort"), ("skip", "$skip"), ("limit", "$limit"),
                           ("projection", "$project")):  # fmt: skip
            if data.get(key) not in (None, {}, []):
                pipeline.append({stage: data[key]})
    return MongoQuery(database=database, collection=collection, pipeline=pipeline)


def _walk_operators(value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise QueryRefusedError("The query is nested too deeply")
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and key.lower() in FORBIDDEN_OPERATORS:
                raise QueryRefusedError(f"{key} is not allowed: it runs JavaScript or writes data")
            _walk_operators(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _walk_operators(item, depth + 1)


def _check_stages(pipeline: list[Any], database: str, known: dict[str, dict[str, set[str]]], depth: int) -> int:
    """Refuse what a pipeline at sub-pipeline ``depth`` may not hold; return its stage count, sub-pipelines included."""
    if len(pipeline) > MAX_STAGES:
        raise QueryRefusedError(f"At most {MAX_STAGES} stages are allowed")
    total = len(pipeline)
    for stage in pipeline:
        if not isinstance(stage, dict) or len(stage) != 1:
            raise QueryRefusedError("Each stage is an object with exactly one $operator")
        (name, spec), = stage.items()  # fmt: skip
        if name not in ALLOWED_STAGES:
            raise QueryRefusedError(f"Stage {name} is not allowed")
        if name in NESTING_STAGES and depth >= MAX_NESTING:
            raise QueryRefusedError(
                f"{name} is nested too deeply: joins, unions and $facet may be nested at most {MAX_NESTING} levels"
            )
        check_stage_costs(name, spec)
        if name in ("$lookup", "$graphLookup", "$unionWith"):
            target = spec if name == "$unionWith" and isinstance(spec, str) else None
            if isinstance(spec, dict):
                target = spec.get("from") if name != "$unionWith" else spec.get("coll")
                if "db" in spec or isinstance(target, dict):
                    raise QueryRefusedError(f"{name} into another database is not allowed")
                if isinstance(spec.get("pipeline"), list):
                    total += _check_stages(spec["pipeline"], database, known, depth + 1)
            if target is not None and (not isinstance(target, str) or target not in known.get(database, {})):
                raise QueryRefusedError(f'{name} reads "{target}", which is not a collection of this database')
        if name == "$facet" and isinstance(spec, dict):
            for sub in spec.values():
                if not isinstance(sub, list):
                    raise QueryRefusedError("Each $facet branch is a pipeline")
                total += _check_stages(sub, database, known, depth + 1)
    return total


def _paths_in_filter(value: Any) -> list[str]:
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("$and", "$or", "$nor") and isinstance(item, list):
                for part in item:
                    out.extend(_paths_in_filter(part))
            elif not str(key).startswith("$"):
                out.append(str(key))
    return out


def field_problems(query: MongoQuery, snapshot: SchemaSnapshot) -> list[str]:
    """Field paths of the leading stages that the inferred schema does not know."""
    fields = set(collections_by_database(snapshot)[query.database][query.collection])
    if fields == {"_id"}:
        return []  # an empty collection: nothing to check against
    problems: list[str] = []
    for stage in query.pipeline:
        (name, spec), = stage.items()  # fmt: skip
        if name in RESHAPING_STAGES and name != "$project":
            break
        paths: list[str] = []
        if name == "$match":
            paths = _paths_in_filter(spec)
        elif name == "$sort" and isinstance(spec, dict):
            paths = [str(k) for k in spec]
        elif name == "$project" and isinstance(spec, dict):
            # Only inclusions and exclusions name existing fields; other keys are computed outputs.
            paths = [str(k) for k, v in spec.items() if isinstance(v, bool | int) and not str(k).startswith("$")]
        for path in paths:
            if path.split(".")[0] not in fields:
                problems.append(f'Field "{path}" does not exist in collection {query.database}.{query.collection}')
        if name in ("$addFields", "$set") and isinstance(spec, dict):
            fields |= {str(k).split(".")[0] for k in spec}
        elif name == "$lookup" and isinstance(spec, dict) and isinstance(spec.get("as"), str):
            fields.add(spec["as"].split(".")[0])
        elif name == "$project":
            break
    return sorted(set(problems))


def check_pipeline(query: MongoQuery, snapshot: SchemaSnapshot) -> list[str]:
    """Raise ``QueryRefusedError`` for anything outside the allow-lists or over a cap; return schema
    problems (repairable). The walk bounding nesting depth runs first, so the others may recurse."""
    _walk_operators(query.pipeline)
    if _check_stages(query.pipeline, query.database, collections_by_database(snapshot), 0) > MAX_TOTAL_STAGES:
        raise QueryRefusedError(f"At most {MAX_TOTAL_STAGES} stages are allowed, sub-pipelines included")
    check_expression_costs(query.pipeline)
    return field_problems(query, snapshot)


def used_collections(query: MongoQuery) -> list[str]:
    """``database.collection`` of the collection ``query`` starts from and of every one it
    joins or unions (``$lookup``, ``$graphLookup``, ``$unionWith``, nested pipelines too), in
    order of first mention."""
    used = [f"{query.database}.{query.collection}"]

    def visit(pipeline: Any) -> None:
        if not isinstance(pipeline, list):
            return
        for stage in pipeline:
            if not isinstance(stage, dict):
                continue
            for name, spec in stage.items():
                target = spec if name == "$unionWith" and isinstance(spec, str) else None
                if isinstance(spec, dict):
                    # Only stages that hold pipelines: a "pipeline" key elsewhere is a field or a literal.
                    if name in ("$lookup", "$graphLookup"):
                        target = spec.get("from")
                    elif name == "$unionWith":
                        target = spec.get("coll")
                    if name in ("$lookup", "$unionWith"):
                        visit(spec.get("pipeline"))
                    if name == "$facet":
                        for branch in spec.values():
                            visit(branch)
                if isinstance(target, str) and f"{query.database}.{target}" not in used:
                    used.append(f"{query.database}.{target}")

    visit(query.pipeline)
    return used
