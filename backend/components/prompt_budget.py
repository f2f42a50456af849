"""Keeping a prompt's schema text small: the columns of wide tables a question likely needs,
and a character budget over all objects.

A 300-column table would otherwise crowd every other table out of a small model's window;
its keys always stay (joins need them), then the columns whose name, comment or values share
a word with the question, then the rest in table order up to the limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from backend.components.lexical_index import name_terms, text_terms
from backend.schemas.schema_snapshot import ColumnInfo, ObjectInfo

# An object is never narrowed below this many columns to fit the budget.
MIN_COLUMNS = 5


def _key_columns(obj: ObjectInfo) -> set[str]:
    keys = set(obj.primary_key)
    for fk in obj.foreign_keys:
        keys.update(fk.columns)
    return keys


def _relevance(col: ColumnInfo, terms: set[str]) -> int:
    words = set(name_terms(col.name))
    if col.comment:
        words.update(text_terms(col.comment))
    for value in col.values or ():
        words.update(text_terms(value))
    return len(words & terms)


def focus_columns(obj: ObjectInfo, question: str, limit: int) -> ObjectInfo:
    """``obj`` itself when it has at most ``limit`` columns, else a copy with ``limit`` of them.

    Kept, in table order: every key column, then the columns that share most words with the
    question, then the first others. ``omitted_columns`` says how many were left out; samples
    keep only the kept columns.
    """
    if len(obj.columns) <= limit:
        return obj
    terms = set(text_terms(question))
    keys = _key_columns(obj)
    order = sorted(
        range(len(obj.columns)),
        key=lambda i: (obj.columns[i].name not in keys, -_relevance(obj.columns[i], terms), i),
    )
    chosen = sorted(order[: max(limit, len([c for c in obj.columns if c.name in keys]))])
    columns = [obj.columns[i] for i in chosen]
    names = {c.name for c in columns}
    samples = [{k: v for k, v in row.items() if k in names} for row in obj.samples]
    return obj.model_copy(
        update={"columns": columns, "samples": samples, "omitted_columns": len(obj.columns) - len(columns)}
    )


def fit_to_budget(
    objects: Sequence[ObjectInfo], render: Callable[[ObjectInfo], str], budget: int, question: str
) -> list[ObjectInfo]:
    """The objects, in order, whose rendered text fits in ``budget`` characters together.

    An object that does not fit is tried again with half its columns (keys and the
    question's columns first) before it is left out; the first object is always kept, at
    its narrowest, so a question never goes to the model without any schema.
    """
    kept: list[ObjectInfo] = []
    used = 0
    for obj in objects:
        candidate = obj
        size = len(render(candidate))
        while used + size > budget and len(candidate.columns) > MIN_COLUMNS:
            narrower = focus_columns(obj, question, max(MIN_COLUMNS, len(candidate.columns) // 2))
            if len(narrower.columns) >= len(candidate.columns):
                break  # only keys are left
            candidate = narrower
            size = len(render(candidate))
        if used + size <= budget or not kept:
            kept.append(candidate)
            used += size
    return kept
