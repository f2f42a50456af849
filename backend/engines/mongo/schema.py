"""Schema inference for MongoDB collections from a sample of documents.

Field paths follow MongoDB's dotted notation through nested documents and arrays of
documents (``items.price``). Each path records its BSON types with frequencies, whether
every sampled document has it, a few values when it is a low-cardinality string, and,
for ObjectId fields named like ``customer_id`` or ``authorId``, the collection they
probably reference.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bson import Binary, Code, Decimal128, ObjectId, Regex, Timestamp
from bson.int64 import Int64

from backend.components.chunker import identifier_words

MAX_DEPTH = 6
MAX_FIELDS = 300
# Keys that are data rather than field names (ids used as keys of a map-like object).
_ID_KEY = re.compile(r"^([0-9a-fA-F]{12,}|[0-9a-fA-F-]{32,36}|\d+)$")
_REF_NAME = re.compile(r"^(?P<stem>.+?)(_id|Id|_ids|Ids|_ref|Ref)$")


# In order: bool before int (a bool is an int), Int64 before int (an Int64 is an int),
# Code before str (Code is a str subclass).
BSON_TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (type(None), "null"),
    (bool, "bool"),
    (Int64, "long"),
    (int, "int"),
    (float, "double"),
    (Decimal128, "decimal"),
    (Code, "javascript"),
    (str, "string"),
    (ObjectId, "objectId"),
    (dt.datetime, "date"),
    (dict, "object"),
    (list, "array"),
    ((bytes, Binary), "binData"),
    (Timestamp, "timestamp"),
    (Regex, "regex"),
)


def bson_type(value: Any) -> str:
    """MongoDB's name for the type of ``value`` as pymongo decoded it."""
    for kind, name in BSON_TYPES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


@dataclass
class FieldStats:
    path: str
    present: int = 0
    types: Counter[str] = field(default_factory=Counter)
    element_types: set[str] = field(default_factory=set)
    strings: set[str] = field(default_factory=set)
    too_many_values: bool = False


@dataclass
class InferredCollection:
    sampled: int
    fields: dict[str, FieldStats]
    references: dict[str, str]


def _walk(
    doc: dict[str, Any], prefix: str, depth: int, seen: set[str], stats: dict[str, FieldStats], limit: int
) -> None:
    for key, value in doc.items():
        path = f"{prefix}{'*' if _ID_KEY.match(str(key)) else key}"
        if path not in stats and len(stats) >= MAX_FIELDS:
            continue
        entry = stats.setdefault(path, FieldStats(path))
        if path not in seen:
            seen.add(path)
            entry.present += 1
        values = value if isinstance(value, list) else [value]
        entry.types[bson_type(value)] += 1
        for item in values:
            if isinstance(value, list):
                entry.element_types.add(bson_type(item))
            if isinstance(item, str) and not entry.too_many_values:
                entry.strings.add(item[:200])
                if len(entry.strings) > limit:
                    entry.too_many_values = True
                    entry.strings.clear()
            if isinstance(item, dict) and depth < MAX_DEPTH:
                _walk(item, f"{path}.", depth + 1, seen, stats, limit)


def guess_reference(path: str, collections: list[str]) -> str | None:
    """``customer_id`` -> ``customers`` (or ``customer``) when such a collection exists."""
    leaf = path.rsplit(".", 1)[-1]
    match = _REF_NAME.match(leaf)
    if leaf == "_id" or match is None:
        return None
    stem = "_".join(identifier_words(match.group("stem")))
    candidates = {stem, f"{stem}s", f"{stem}es", stem.rstrip("y") + "ies", stem.replace("_", "")}
    for name in collections:
        if "_".join(identifier_words(name)) in candidates or name.lower() in candidates:
            return name
    return None


def infer(docs: list[dict[str, Any]], collections: list[str], distinct_limit: int) -> InferredCollection:
    stats: dict[str, FieldStats] = {}
    for doc in docs:
        _walk(doc, "", 0, set(), stats, distinct_limit)
    references: dict[str, str] = {}
    for path, entry in stats.items():
        if "objectId" in entry.types or "objectId" in entry.element_types:
            target = guess_reference(path, collections)
            if target:
                references[path] = target
    return InferredCollection(sampled=len(docs), fields=stats, references=references)


def describe_types(entry: FieldStats) -> str:
    """``string``, or ``int 80%, string 20%``; arrays show their element types (``array<string>``)."""
    counted = entry.types.most_common()
    total = sum(n for _, n in counted)
    parts = []
    for name, count in counted:
        label = f"array<{'|'.join(sorted(entry.element_types))}>" if name == "array" and entry.element_types else name
        parts.append(label if len(counted) == 1 else f"{label} {round(100 * count / total)}%")
    return ", ".join(parts)
