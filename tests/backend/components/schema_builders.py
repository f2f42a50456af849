"""Small snapshots for the retrieval component tests, built the way connectors build them."""

from __future__ import annotations

from typing import Any

from backend.schemas.schema_snapshot import ColumnInfo, ForeignKeyInfo, ObjectInfo, SchemaSnapshot


def fk(source: str, column: str, target: str) -> ForeignKeyInfo:
    return ForeignKeyInfo(
        name=f"{source}_{column}_fkey", source=source, columns=[column], target=target, ref_columns=["id"]
    )


def table(qualified: str, columns: list[str], refs: dict[str, str] | None = None, **extra: Any) -> ObjectInfo:
    """A table ``schema.name`` with an ``id`` key, ``columns`` and foreign keys ``{column: target}``."""
    schema, name = qualified.split(".")
    refs = refs or {}
    cols = [ColumnInfo(name="id", type="integer", nullable=False)]
    cols += [ColumnInfo(name=c, type="integer" if c in refs else "text") for c in columns]
    return ObjectInfo(
        schema_name=schema,
        name=name,
        kind="table",
        columns=cols,
        primary_key=["id"],
        foreign_keys=[fk(qualified, c, t) for c, t in refs.items()],
        **extra,
    )


def snapshot(*objects: ObjectInfo) -> SchemaSnapshot:
    """The snapshot of ``objects`` with ``referenced_by`` filled in, as introspection leaves it."""
    by_name = {o.qualified_name: o for o in objects}
    for obj in objects:
        for key in obj.foreign_keys:
            if key.target in by_name:
                by_name[key.target].referenced_by.append(key)
    return SchemaSnapshot(kind="postgres", objects=list(objects))
