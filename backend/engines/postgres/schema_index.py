"""What the SQL guard knows of one database: its tables and columns, and the functions,
casts and types it defines (``SchemaSnapshot.routines``), plus how names are written back."""

from __future__ import annotations

import re

from sqlglot import exp

from backend.schemas.schema_snapshot import SchemaSnapshot

# sqlglot type names -> PostgreSQL's format_type names, to match casts the database defines.
TYPE_NAMES = {
    "int": "integer", "bigint": "bigint", "smallint": "smallint", "text": "text", "varchar": "character varying",
    "char": "character", "decimal": "numeric", "double precision": "double precision", "real": "real",
    "boolean": "boolean", "date": "date", "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone", "time": "time without time zone", "interval": "interval",
    "json": "json", "jsonb": "jsonb", "uuid": "uuid", "bytea": "bytea",
}  # fmt: skip


# Lower-case words that must still be quoted as names (PostgreSQL's reserved key words).
RESERVED = frozenset(
    {
        "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case", "cast", "check",
        "collate", "column", "constraint", "create", "current_catalog", "current_date", "current_role", "current_time",
        "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except",
        "false", "fetch", "for", "foreign", "from", "grant", "group", "having", "in", "initially", "intersect", "into",
        "lateral", "leading", "limit", "localtime", "localtimestamp", "not", "null", "offset", "on", "only", "or",
        "order", "placing", "primary", "references", "returning", "select", "session_user", "some", "symmetric",
        "system_user", "table", "then", "to", "trailing", "true", "union", "unique", "user", "using", "variadic",
        "when", "where", "window", "with",
    }
)  # fmt: skip


def identifier(name: str) -> exp.Identifier:
    """A name as PostgreSQL must read it: quoted unless it is a plain lower-case word."""
    plain = re.fullmatch(r"[a-z_][a-z0-9_$]*", name) is not None and name not in RESERVED
    return exp.to_identifier(name, quoted=not plain)


class SchemaIndex:
    """What the index knows: tables by schema and name with their columns, and the
    database's own functions, casts and types."""

    def __init__(self, snapshot: SchemaSnapshot):
        self.columns: dict[tuple[str, str], set[str]] = {
            (o.schema_name, o.name): {c.name for c in o.columns} for o in snapshot.objects
        }
        self.by_name: dict[str, list[tuple[str, str]]] = {}
        for key in self.columns:
            self.by_name.setdefault(key[1], []).append(key)
        routines = snapshot.routines
        self.functions = set(routines.functions)
        self.casts = routines.casts
        self.types = routines.types
        # Types put into pg_catalog after initdb, which a built-in-looking name could reach.
        self.catalog_types = {k.split(".", 1)[1] for k in self.types if k.startswith("pg_catalog.")}
        self.catalog = set(routines.catalog_relations)
        self.hazards = list(routines.hazards)
        self.unsafe = dict(routines.unsafe_relations)

    def is_catalog(self, name: str) -> bool:
        """PostgreSQL finds ``pg_catalog`` relations before any user table of the same name."""
        return name in self.catalog if self.catalog else name.startswith("pg_")

    def resolve(self, schema: str | None, name: str) -> tuple[str, str] | None:
        if schema is not None:
            return (schema, name) if (schema, name) in self.columns else None
        candidates = self.by_name.get(name, [])
        for key in candidates:
            if key[0] == "public":
                return key
        return candidates[0] if len(candidates) == 1 else None
