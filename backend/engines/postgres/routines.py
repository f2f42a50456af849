"""What a PostgreSQL database defines besides tables, read at indexing for the SQL guard.

A name the guard allows (``upper``) may have an overload in the user's schema, a cast may
run a user function, a type may have a user input function. The guard refuses queries that
could reach any of these, so it must know them; the runner also pins ``search_path`` to
``pg_catalog`` so that PostgreSQL itself cannot pick them by name.
"""

from __future__ import annotations

from typing import Any

import psycopg

from backend.schemas.schema_snapshot import CastInfo, DatabaseRoutines

# Schemas whose objects are PostgreSQL's own.
SYSTEM_SCHEMAS = "('pg_catalog', 'information_schema')"


def _not_extension(catalog: str, oid: str) -> str:
    """An extension's members (citext, pgvector...) are vetted code installed by an owner, and
    PostgreSQL cannot find them by name under the runner's search_path: they are not listed,
    or every `avg` would be refused in a database with pgvector."""
    return (
        f"NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{catalog}'::regclass"
        f" AND d.objid = {oid} AND d.deptype = 'e')"
    )


# Objects created after initdb have OIDs from 16384 (FirstNormalObjectId) on, in any schema:
# a superuser can put functions, operators and casts into pg_catalog too.
USER_OID = 16384

FUNCTIONS_SQL = f"""
SELECT DISTINCT lower(p.proname) AS name FROM pg_proc p
 WHERE p.oid >= {USER_OID} AND {_not_extension("pg_proc", "p.oid")}
 ORDER BY 1
"""
OPERATORS_SQL = f"""
SELECT DISTINCT o.oprname AS name FROM pg_operator o
 WHERE o.oid >= {USER_OID} AND {_not_extension("pg_operator", "o.oid")} ORDER BY 1
"""
_USER_FUNCTION = f"p.oid >= {USER_OID} AND {_not_extension('pg_proc', 'p.oid')}"
# Casts that run a function of the database's own (binary-coercible and I/O casts run none).
CASTS_SQL = f"""
SELECT format_type(c.castsource, NULL) AS source, format_type(c.casttarget, NULL) AS target,
       CASE c.castcontext WHEN 'e' THEN 'explicit' WHEN 'a' THEN 'assignment' ELSE 'implicit' END AS context
  FROM pg_cast c JOIN pg_proc p ON p.oid = c.castfunc
 WHERE c.castmethod = 'f' AND {_USER_FUNCTION} AND {_not_extension("pg_cast", "c.oid")}
 ORDER BY 1, 2
"""
# What PostgreSQL would run of the database's own inside an ordinary SELECT, without the query
# naming it: no name check can see these, so the guard refuses every query on such a database.
HAZARDS_SQL = f"""
SELECT 'operators defined in pg_catalog (' || string_agg(DISTINCT o.oprname, ' ') || ')' AS hazard
  FROM pg_operator o
 WHERE o.oprnamespace = 'pg_catalog'::regnamespace AND o.oid >= {USER_OID}
   AND {_not_extension("pg_operator", "o.oid")}
HAVING count(*) > 0
UNION ALL
SELECT 'implicit casts that run its own functions (' || string_agg(
         format_type(c.castsource, NULL) || ' to ' || format_type(c.casttarget, NULL), ', ') || ')'
  FROM pg_cast c JOIN pg_proc p ON p.oid = c.castfunc
 WHERE c.castcontext = 'i' AND {_USER_FUNCTION}
HAVING count(*) > 0
UNION ALL
SELECT 'casts to json or text that run its own functions (' || string_agg(
         format_type(c.castsource, NULL) || ' to ' || format_type(c.casttarget, NULL), ', ') || ')'
  FROM pg_cast c JOIN pg_proc p ON p.oid = c.castfunc
 WHERE c.casttarget IN ('json'::regtype, 'jsonb'::regtype, 'text'::regtype, 'varchar'::regtype,
                        'bpchar'::regtype, 'name'::regtype) AND {_USER_FUNCTION}
HAVING count(*) > 0
UNION ALL
SELECT 'operator classes that run its own functions (' || string_agg(DISTINCT f.opfname, ', ') || ')'
  FROM pg_opfamily f
 WHERE EXISTS (SELECT 1 FROM pg_amproc a JOIN pg_proc p ON p.oid = a.amproc
                WHERE a.amprocfamily = f.oid AND {_USER_FUNCTION})
    OR EXISTS (SELECT 1 FROM pg_amop a JOIN pg_operator o ON o.oid = a.amopopr JOIN pg_proc p ON p.oid = o.oprcode
                WHERE a.amopfamily = f.oid AND {_USER_FUNCTION})
HAVING count(*) > 0
UNION ALL
SELECT 'types whose input, output or support functions are its own (' || string_agg(DISTINCT t.typname, ', ') || ')'
  FROM pg_type t
 WHERE EXISTS (SELECT 1 FROM pg_proc p
                WHERE p.oid IN (t.typinput, t.typoutput, t.typreceive, t.typsend, t.typmodin, t.typmodout,
                                t.typanalyze, t.typsubscript) AND {_USER_FUNCTION})
    OR EXISTS (SELECT 1 FROM pg_range r JOIN pg_proc p ON p.oid IN (r.rngcanonical, r.rngsubdiff)
                WHERE r.rngtypid = t.oid AND {_USER_FUNCTION})
HAVING count(*) > 0
"""
# Relations whose reading runs the database's own code: views (and views of views) whose rules
# call its functions or operators, tables whose row-level security policies do, and file_fdw
# tables that run a program. Indexing reads no samples from them and the guard refuses them.
UNSAFE_RELATIONS_SQL = f"""
WITH RECURSIVE user_code(classid, objid, name) AS (
    SELECT 'pg_proc'::regclass, p.oid, p.proname::text || '()' FROM pg_proc p WHERE {_USER_FUNCTION}
    UNION ALL
    SELECT 'pg_operator'::regclass, o.oid, 'operator ' || o.oprname::text
      FROM pg_operator o JOIN pg_proc p ON p.oid = o.oprcode WHERE {_USER_FUNCTION}
), uses(relid, refclassid, refobjid) AS (
    SELECT r.ev_class, d.refclassid, d.refobjid
      FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
     WHERE d.refobjid <> r.ev_class
), unsafe(relid, reason) AS (
    SELECT u.relid, 'is a view that calls ' || c.name FROM uses u
      JOIN user_code c ON c.classid = u.refclassid AND c.objid = u.refobjid
    UNION
    SELECT pol.polrelid, 'has a row-level security policy that calls ' || c.name FROM pg_policy pol
      JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = pol.oid
      JOIN user_code c ON c.classid = d.refclassid AND c.objid = d.refobjid
    UNION
    SELECT ft.ftrelid, 'is a file_fdw table that runs a program' FROM pg_foreign_table ft
      JOIN pg_foreign_server s ON s.oid = ft.ftserver JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
     WHERE w.fdwname = 'file_fdw' AND EXISTS (SELECT 1 FROM unnest(ft.ftoptions) o WHERE o LIKE 'program=%%')
    UNION
    SELECT u.relid, 'reads ' || x.relid::regclass::text || ', which ' || x.reason FROM uses u
      JOIN unsafe x ON u.refclassid = 'pg_class'::regclass AND u.refobjid = x.relid
)
SELECT n.nspname || '.' || c.relname AS name, min(x.reason) AS reason
  FROM unsafe x JOIN pg_class c ON c.oid = x.relid JOIN pg_namespace n ON n.oid = c.relnamespace
 GROUP BY 1 ORDER BY 1
"""
TYPES_SQL = f"""
SELECT n.nspname || '.' || t.typname AS name,
       CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite'
                      WHEN 'r' THEN 'range' WHEN 'm' THEN 'multirange' ELSE 'base' END AS kind
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE t.oid >= {USER_OID} AND n.nspname NOT LIKE 'pg\\_toast%%'
   AND t.typelem = 0 AND NOT (t.typtype = 'c' AND EXISTS (
       SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c'))
 ORDER BY 1
"""
CATALOG_SQL = """
SELECT c.relname AS name FROM pg_class c
 WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p', 'f') ORDER BY 1
"""


async def read_routines(conn: psycopg.AsyncConnection[dict[str, Any]]) -> DatabaseRoutines:
    """The database's own functions, operators, casts and types (created after initdb, extensions
    excepted), the system catalog names, and the hazards that make every query unsafe."""

    async def rows(query: str) -> list[dict[str, Any]]:
        return await (await conn.execute(query)).fetchall()

    return DatabaseRoutines(
        functions=[r["name"] for r in await rows(FUNCTIONS_SQL)],
        operators=[r["name"] for r in await rows(OPERATORS_SQL)],
        casts=[CastInfo(**r) for r in await rows(CASTS_SQL)],
        types={r["name"]: r["kind"] for r in await rows(TYPES_SQL)},
        catalog_relations=[r["name"] for r in await rows(CATALOG_SQL)],
        hazards=[r["hazard"] for r in await rows(HAZARDS_SQL)],
        unsafe_relations={r["name"]: r["reason"] for r in await rows(UNSAFE_RELATIONS_SQL)},
    )
