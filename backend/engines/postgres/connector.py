"""``PostgresConnector``: test and introspect a user's PostgreSQL, always read-only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from backend.components.url_redaction import hide_password, url_problem
from backend.engines.base import ConnectorError, IntrospectOptions, ProgressCallback
from backend.engines.postgres.catalog_digest import catalog_digest
from backend.engines.postgres.relations import LISTED_RELATIONS
from backend.engines.postgres.routines import read_routines
from backend.engines.postgres.session import SessionConnectError, UnsafeSessionError, read_only_session
from backend.schemas.schema_snapshot import ColumnInfo, ForeignKeyInfo, ObjectInfo, SchemaSnapshot

logger = logging.getLogger(__name__)

RELKINDS = {
    "r": "table",
    "v": "view",
    "m": "materialized_view",
    "p": "partitioned_table",
    "f": "foreign_table",
}
GEOMETRIC_TYPES = {"geometry", "geography", "point", "polygon", "line", "lseg", "box", "path", "circle", "raster"}
# Rows counted for a table never analysed (reltuples = -1); bounded so a huge table costs little.
COUNT_CAP = 100_000

OBJECTS_SQL = f"""
SELECT c.oid, n.nspname AS schema_name, c.relname AS name, c.relkind,
       obj_description(c.oid, 'pg_class') AS comment, c.reltuples::bigint AS reltuples,
       has_table_privilege(c.oid, 'SELECT') AS can_select,
       (SELECT pn.nspname || '.' || p.relname FROM pg_inherits i
          JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
         WHERE i.inhrelid = c.oid AND p.relkind IN ('r', 'p') ORDER BY i.inhseqno LIMIT 1) AS partition_of
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE {LISTED_RELATIONS}
 ORDER BY n.nspname, c.relname
"""

COLUMNS_SQL = """
SELECT a.attrelid AS oid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS notnull, pg_get_expr(ad.adbin, ad.adrelid) AS default_expr,
       a.attgenerated AS generated, col_description(a.attrelid, a.attnum) AS comment,
       t.typname, t.typtype, t.typcategory, a.atttypid AS typid,
       (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e
         WHERE e.enumtypid = a.atttypid) AS enum_labels
  FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
 WHERE a.attrelid = ANY(%(oids)s) AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attrelid, a.attnum
"""

CONSTRAINTS_SQL = """
SELECT con.conname AS name, con.contype, con.conrelid AS oid,
       sn.nspname || '.' || s.relname AS source,
       tn.nspname || '.' || t.relname AS target,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord) AS columns,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord) AS ref_columns
  FROM pg_constraint con
  JOIN pg_class s ON s.oid = con.conrelid JOIN pg_namespace sn ON sn.oid = s.relnamespace
  LEFT JOIN pg_class t ON t.oid = con.confrelid LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
 WHERE con.contype IN ('p', 'f') AND con.conrelid = ANY(%(oids)s) AND con.conparentid = 0
 ORDER BY con.conname
"""


def validate_postgres_url(url: str) -> None:
    """Raise ``ConnectorError`` unless ``url`` is a well-formed PostgreSQL URL with a host.

    The message never holds a password of ``url``: a URL libpq and ``urlsplit`` could read
    differently is refused with a sentence of ``url_problem``, and the parsers' own messages
    (which quote what they could not read) are scrubbed.
    """
    problem = url_problem("postgres", url)
    if problem is not None:
        raise ConnectorError(problem)
    try:
        urlsplit(url).port  # noqa: B018 - property access validates the port
    except ValueError as exc:
        raise ConnectorError(f"Malformed connection URL: {hide_password(str(exc), url)}") from None
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except (psycopg.Error, UnicodeDecodeError) as exc:
        raise ConnectorError(f"Malformed connection URL: {hide_password(_first_line(str(exc)), url)}") from None
    if not info.get("host") and not info.get("hostaddr"):
        raise ConnectorError("The connection URL names no host")


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "unknown error"


class PostgresConnector:
    """Reads a PostgreSQL database through connections that are read-only by default."""

    kind = "postgres"

    def __init__(self, url: str, options: IntrospectOptions | None = None):
        validate_postgres_url(url)
        self._url = url
        self._options = options or IntrospectOptions()

    def _safe_error(self, exc: BaseException) -> str:
        return hide_password(_first_line(str(exc)), self._url)

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[psycopg.AsyncConnection[dict[str, Any]]]:
        try:
            async with read_only_session(self._url, self._options.session, "sextant", dict_row) as conn:
                yield conn
        except SessionConnectError as exc:
            raise ConnectorError(f"Could not connect: {self._safe_error(exc.__cause__ or exc)}") from exc.__cause__
        except UnsafeSessionError as exc:
            raise ConnectorError(f"Refused: {exc}") from exc

    async def test(self) -> str:
        async with self._connect() as conn:
            try:
                row = await (await conn.execute("SELECT current_setting('server_version') AS v")).fetchone()
            except psycopg.Error as exc:
                raise ConnectorError(self._safe_error(exc)) from exc
            assert row is not None
            return str(row["v"])

    async def introspect(self, progress: ProgressCallback | None = None) -> SchemaSnapshot:
        try:
            async with self._connect() as conn:
                return await self._introspect(conn, progress)
        except psycopg.Error as exc:
            raise ConnectorError(f"Introspection failed: {self._safe_error(exc)}") from exc

    async def catalog_hash(self) -> str:
        try:
            async with self._connect() as conn:
                return await catalog_digest(conn)
        except psycopg.Error as exc:
            raise ConnectorError(f"Could not read the catalog: {self._safe_error(exc)}") from exc

    async def _introspect(
        self, conn: psycopg.AsyncConnection[dict[str, Any]], progress: ProgressCallback | None
    ) -> SchemaSnapshot:
        version_row = await (await conn.execute("SELECT current_setting('server_version') AS v")).fetchone()
        rows = await (await conn.execute(OBJECTS_SQL)).fetchall()
        objects: dict[int, ObjectInfo] = {}
        readable: dict[int, bool] = {}
        present = {f"{r['schema_name']}.{r['name']}" for r in rows}
        parent_of = {f"{r['schema_name']}.{r['name']}": r["partition_of"] for r in rows if r["partition_of"] in present}
        for row in rows:
            qualified = f"{row['schema_name']}.{row['name']}"
            if qualified in parent_of:
                continue
            estimate = int(row["reltuples"]) if row["reltuples"] is not None and row["reltuples"] >= 0 else None
            objects[row["oid"]] = ObjectInfo(
                schema_name=row["schema_name"],
                name=row["name"],
                kind=RELKINDS[row["relkind"]],
                comment=row["comment"],
                row_estimate=estimate,
            )
            readable[row["oid"]] = bool(row["can_select"])
        by_name = {o.qualified_name: o for o in objects.values()}
        # Declarative partitions and old-style inheritance children alike: a query on the
        # root already reads their rows, so they are listed under it, not indexed apart.

        def root(name: str) -> str:
            while name in parent_of:
                name = parent_of[name]
            return name

        for child in sorted(parent_of):
            by_name[root(child)].partitions.append(child)

        oids = list(objects)
        col_meta: dict[int, list[dict[str, Any]]] = {oid: [] for oid in oids}
        for row in await (await conn.execute(COLUMNS_SQL, {"oids": oids})).fetchall():
            col_meta[row["oid"]].append(row)
            objects[row["oid"]].columns.append(
                ColumnInfo(
                    name=row["name"],
                    type=row["type"],
                    nullable=not row["notnull"],
                    default=None if row["generated"] else row["default_expr"],
                    generated=row["default_expr"] if row["generated"] else None,
                    comment=row["comment"],
                    values=list(row["enum_labels"]) if row["enum_labels"] else None,
                )
            )
        for row in await (await conn.execute(CONSTRAINTS_SQL, {"oids": oids})).fetchall():
            obj = objects[row["oid"]]
            if row["contype"] == "p":
                obj.primary_key = list(row["columns"])
                continue
            fk = ForeignKeyInfo(
                name=row["name"],
                source=row["source"],
                columns=list(row["columns"]),
                target=root(row["target"]),
                ref_columns=list(row["ref_columns"]),
            )
            obj.foreign_keys.append(fk)
            if fk.target in by_name:
                by_name[fk.target].referenced_by.append(fk)

        # Read first: what would run the database's own code is never sampled.
        routines = await read_routines(conn)
        total = len(oids)
        if progress:
            await progress(0, total)
        for done, oid in enumerate(oids, start=1):
            obj = objects[oid]
            unsafe = routines.unsafe_relations.get(obj.qualified_name)
            if not readable[oid]:
                obj.notes.append("no SELECT privilege: samples skipped")
            elif routines.hazards or unsafe:
                obj.notes.append(f"samples skipped: it {unsafe}" if unsafe else "samples skipped: see the hazards")
            elif self._options.sample_rows > 0 or self._options.distinct_limit > 0:
                await self._read_samples(conn, obj, col_meta[oid])
            if progress:
                await progress(done, total)
        return SchemaSnapshot(
            kind="postgres",
            server_version=str(version_row["v"]) if version_row else None,
            objects=list(objects.values()),
            routines=routines,
        )

    def _value_expr(self, column: dict[str, Any]) -> sql.Composable:
        ident = sql.Identifier(column["name"])
        if column["typname"] == "bytea":
            return sql.SQL(
                "CASE WHEN {c} IS NULL THEN NULL ELSE '<bytea ' || octet_length({c}) || ' bytes>' END"
            ).format(c=ident)
        if column["typname"] in GEOMETRIC_TYPES:
            return sql.SQL("CASE WHEN {c} IS NULL THEN NULL ELSE {p} END").format(
                c=ident, p=sql.Literal(f"<{column['typname']}>")
            )
        return sql.SQL("left({c}::text, {n})").format(c=ident, n=sql.Literal(self._options.value_max_chars))

    async def _read_samples(
        self, conn: psycopg.AsyncConnection[dict[str, Any]], obj: ObjectInfo, columns: list[dict[str, Any]]
    ) -> None:
        """Fill samples, low-cardinality values and (when unknown) a bounded row count.

        Each read runs in its own read-only transaction: a slow view or a broken object
        costs its samples, never the whole introspection.
        """
        opts = self._options
        table = sql.Identifier(obj.schema_name, obj.name)
        if columns and opts.sample_rows > 0:
            select_list = sql.SQL(", ").join(
                sql.SQL("{e} AS {a}").format(e=self._value_expr(c), a=sql.Identifier(c["name"])) for c in columns
            )
            query = sql.SQL("SELECT {cols} FROM {t} LIMIT {n}").format(
                cols=select_list, t=table, n=sql.Literal(opts.sample_rows)
            )
            try:
                async with conn.transaction():
                    obj.samples = [dict(r) for r in await (await conn.execute(query)).fetchall()]
            except psycopg.Error as exc:
                if conn.broken:  # the database went away: not this object's problem, the whole job's
                    raise
                obj.notes.append(f"samples unavailable: {self._safe_error(exc)}")

        text_columns = [c for c in columns if c["typcategory"] == "S" and c["typtype"] != "e"]
        need_count = obj.row_estimate is None and obj.kind in ("table", "partitioned_table", "materialized_view")
        if not (need_count or (text_columns and opts.distinct_limit > 0)):
            return
        parts: list[sql.Composable] = []
        if need_count:
            parts.append(
                sql.SQL("(SELECT count(*) FROM (SELECT 1 FROM {t} LIMIT {cap}) z) AS row_count").format(
                    t=table, cap=sql.Literal(COUNT_CAP + 1)
                )
            )
        if opts.distinct_limit > 0:
            for i, col in enumerate(text_columns):
                ident = sql.Identifier(col["name"])
                parts.append(
                    sql.SQL(
                        "ARRAY(SELECT DISTINCT left(x.{c}::text, {w}) FROM (SELECT {c} FROM {t} LIMIT {scan}) x"
                        " WHERE x.{c} IS NOT NULL ORDER BY 1 LIMIT {lim}) AS {alias}"
                    ).format(
                        c=ident,
                        w=sql.Literal(opts.value_max_chars),
                        t=table,
                        scan=sql.Literal(opts.distinct_scan_rows),
                        lim=sql.Literal(opts.distinct_limit + 1),
                        alias=sql.Identifier(f"v{i}"),
                    )
                )
        try:
            async with conn.transaction():
                row = await (await conn.execute(sql.SQL("SELECT ") + sql.SQL(", ").join(parts))).fetchone()
        except psycopg.Error as exc:
            if conn.broken:
                raise
            obj.notes.append(f"value statistics unavailable: {self._safe_error(exc)}")
            return
        assert row is not None
        if need_count:
            obj.row_estimate = int(row["row_count"])
            if obj.row_estimate > COUNT_CAP:
                obj.notes.append(f"more than {COUNT_CAP} rows")
        by_name = {c.name: c for c in obj.columns}
        for i, col in enumerate(text_columns):
            values = row.get(f"v{i}")
            if values is not None and 0 < len(values) <= opts.distinct_limit:
                by_name[col["name"]].values = list(values)
