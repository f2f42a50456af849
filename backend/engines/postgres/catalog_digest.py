"""A digest of the catalog a PostgreSQL index is built from, for the cheap change check.

It covers what introspection reads from the catalog: every relation it would list (name, kind,
comment, SELECT privilege, view definition, parent), their columns (name, type, nullability,
default, generated expression, comment), primary and foreign keys, enum labels, and the
database's own functions, operators, casts and types that the SQL guard must know about.
It leaves out what lives in the rows (samples, value lists, row counts): those change with
every write, and a full sync refreshes them.
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg

from backend.engines.postgres.relations import LISTED_RELATIONS
from backend.engines.postgres.routines import read_routines

# The relations are those introspection lists (LISTED_RELATIONS); the hash is taken on the server so that
# only 64 characters cross the network, whatever the size of the catalog.
CATALOG_DIGEST_SQL = f"""
WITH rel AS (
  SELECT c.oid, n.nspname || '.' || c.relname AS name, c.relkind,
         obj_description(c.oid, 'pg_class') AS comment, has_table_privilege(c.oid, 'SELECT') AS can_select,
         CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS body
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE {LISTED_RELATIONS}
), lines AS (
  SELECT 'r' AS part, r.name AS sort1, 0 AS sort2,
         concat_ws('|', r.name, r.relkind, r.comment, r.can_select, r.body,
                   (SELECT string_agg(pn.nspname || '.' || p.relname, ',' ORDER BY i.inhseqno)
                      FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                      JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = r.oid)) AS line
    FROM rel r
  UNION ALL
  SELECT 'c', r.name, a.attnum,
         concat_ws('|', a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(ad.adbin, ad.adrelid), a.attgenerated, col_description(a.attrelid, a.attnum))
    FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
   WHERE a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'k', r.name, 0, concat_ws('|', con.conname, con.contype, pg_get_constraintdef(con.oid))
    FROM rel r JOIN pg_constraint con ON con.conrelid = r.oid
   WHERE con.contype IN ('p', 'f')
  UNION ALL
  SELECT 'e', format_type(e.enumtypid, NULL), 0, e.enumlabel || '|' || e.enumsortorder FROM pg_enum e
)
SELECT encode(sha256(convert_to(coalesce(
         string_agg(part || '|' || sort1 || '|' || line, E'\\n' ORDER BY part, sort1, sort2, line), ''),
       'UTF8')), 'hex') AS digest
  FROM lines
"""


async def catalog_digest(conn: psycopg.AsyncConnection[dict[str, Any]]) -> str:
    """The hex SHA-256 of the catalog ``conn`` sees: equal digests, equal structure."""
    row = await (await conn.execute(CATALOG_DIGEST_SQL)).fetchone()
    routines = await read_routines(conn)
    server = str(row["digest"]) if row else ""
    return hashlib.sha256(f"{server}\n{routines.model_dump_json()}".encode()).hexdigest()
