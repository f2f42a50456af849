"""Which relations of a PostgreSQL database Sextant lists: the one filter that introspection
and the catalog hash share (``c`` is ``pg_class``, ``n`` its ``pg_namespace``)."""

from __future__ import annotations

# Tables, views, materialized views, partitioned and foreign tables outside the system schemas,
# and not members of an extension (pgvector's or PostGIS's own tables are not the user's).
LISTED_RELATIONS = """c.relkind IN ('r', 'v', 'm', 'p', 'f')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')"""
