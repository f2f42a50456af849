"""The extracted structure of a user database, stored as JSON and served by ``/schema``."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ColumnInfo(BaseModel):
    name: str
    type: str
    nullable: bool = True
    default: str | None = None
    generated: str | None = None
    comment: str | None = None
    values: list[str] | None = Field(default=None, description="Distinct values of a low-cardinality column")
    pii: str | None = Field(default=None, description="The kind of personal data the column holds, if any")
    note: str | None = Field(default=None, description="The owner's note on this column (connection_notes)")


class ForeignKeyInfo(BaseModel):
    """``columns`` of ``source`` reference ``ref_columns`` of ``target`` (both ``schema.table``)."""

    name: str
    source: str
    columns: list[str]
    target: str
    ref_columns: list[str]


class ObjectInfo(BaseModel):
    schema_name: str
    name: str
    kind: str = Field(
        description="table, view, materialized_view, partitioned_table, foreign_table (Postgres); collection, view"
    )
    comment: str | None = None
    row_estimate: int | None = None
    columns: list[ColumnInfo] = Field(default_factory=list)
    primary_key: list[str] = Field(default_factory=list)
    foreign_keys: list[ForeignKeyInfo] = Field(default_factory=list)
    referenced_by: list[ForeignKeyInfo] = Field(default_factory=list)
    samples: list[dict[str, str | None]] = Field(default_factory=list)
    partitions: list[str] = Field(default_factory=list)
    indexes: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="What introspection could not read of it")
    note: str | None = Field(default=None, description="The owner's note on this object (connection_notes)")
    omitted_columns: int = Field(
        default=0, description="Columns left out of this description to keep a prompt short (wide tables)"
    )

    @property
    def qualified_name(self) -> str:
        return f"{self.schema_name}.{self.name}"


class CastInfo(BaseModel):
    """A cast the database defines outside pg_catalog: ``source`` to ``target`` (``format_type`` names)."""

    source: str
    target: str
    context: str = Field(description="explicit, assignment or implicit")


class DatabaseRoutines(BaseModel):
    """What a query could reach besides tables: the database's own functions, operators,
    casts and types (everything outside pg_catalog and information_schema, extensions included),
    and the names of the system catalog relations, which PostgreSQL finds before any user table."""

    functions: list[str] = Field(default_factory=list, description="Lower-case names, any schema")
    operators: list[str] = Field(default_factory=list, description="Operator symbols")
    casts: list[CastInfo] = Field(default_factory=list)
    types: dict[str, str] = Field(
        default_factory=dict, description="schema.name -> enum, domain, composite, range, base, multirange"
    )
    catalog_relations: list[str] = Field(default_factory=list)
    unsafe_relations: dict[str, str] = Field(
        default_factory=dict, description="schema.name -> why reading it runs the database's own code"
    )
    hazards: list[str] = Field(
        default_factory=list,
        description="What PostgreSQL would run of the database's own inside any query; no query runs then",
    )


class SchemaSnapshot(BaseModel):
    kind: str
    server_version: str | None = None
    objects: list[ObjectInfo] = Field(default_factory=list)
    routines: DatabaseRoutines = Field(default_factory=DatabaseRoutines)
    note: str | None = Field(default=None, description="The owner's note on the whole connection (connection_notes)")

    def by_name(self) -> dict[str, ObjectInfo]:
        return {o.qualified_name: o for o in self.objects}
