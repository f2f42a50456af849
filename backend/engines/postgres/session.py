"""How Sextant opens a session on a user's PostgreSQL: read-only, bounded, and lexed the
way the guard lexed the query.

``read_only_session`` is the one way the runner and the connector open a session;
``session_options`` is its ``options`` startup parameter. Settings sent at startup take
precedence over ``ALTER DATABASE`` and ``ALTER ROLE`` settings, and ``verify_session``
checks afterwards that they held (a login event trigger could still change them).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import AsyncRowFactory, tuple_row

from backend.engines.base import QueryLimits

logger = logging.getLogger(__name__)

# What the guard assumes: backslashes in '...' are plain characters, and names of
# functions, operators and types resolve in pg_catalog only (tables are schema-qualified).
LEXER_SETTINGS = {"standard_conforming_strings": "on", "backslash_quote": "off"}
SEARCH_PATH = "pg_catalog, pg_temp"


# A path that never exists: libpq skips a missing password file or client certificate.
NO_FILE = "/nonexistent/sextant/no-such-file"


def isolated(url: str) -> dict[str, Any]:
    """Connection parameters that keep libpq from filling a user's connection from the appliance.

    Left to itself libpq takes a missing password from ``PGPASSWORD`` or ``~/.pgpass`` (matched
    by host name, which the URL chooses) and presents ``~/.postgresql/postgresql.crt`` to any
    server that asks: the appliance's own credentials, sent to a server the user names. An
    explicit empty password stops both password lookups (the server then gets none).
    """
    params: dict[str, Any] = {"passfile": NO_FILE, "sslcert": NO_FILE, "sslkey": NO_FILE}
    try:
        given = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        given = None  # the connect call reports the malformed URL itself
    if not given:
        params["password"] = ""
    return params


class UnsafeSessionError(Exception):
    """The session does not have the settings the guard relies on; the message says which."""


def session_options(
    statement_timeout_ms: int,
    lock_timeout_ms: int,
    idle_timeout_ms: int,
    work_mem: str | None = None,
) -> str:
    """The ``options`` string: read-only by default, the three timeouts, the lexer and search_path."""
    settings: dict[str, str] = {
        "default_transaction_read_only": "on",
        "statement_timeout": str(statement_timeout_ms),
        "lock_timeout": str(lock_timeout_ms),
        "idle_in_transaction_session_timeout": str(idle_timeout_ms),
        **LEXER_SETTINGS,
        "search_path": SEARCH_PATH,
    }
    if work_mem:
        settings["work_mem"] = work_mem
    # Spaces inside a value are escaped with a backslash in libpq's options syntax.
    return " ".join(f"-c {name}={value.replace(' ', chr(92) + ' ')}" for name, value in settings.items())


async def verify_session(conn: psycopg.AsyncConnection[Any]) -> None:
    """Raise ``UnsafeSessionError`` unless the lexer settings and search_path are in force."""
    cursor = conn.cursor(row_factory=tuple_row)
    await cursor.execute(
        "SELECT current_setting('standard_conforming_strings'), current_setting('backslash_quote'),"
        " current_setting('search_path'), current_setting('transaction_read_only')"
    )
    row = await cursor.fetchone()
    if row is None:
        raise UnsafeSessionError("the database did not report its settings")
    scs, backslash, search_path, read_only = (str(v) for v in row)
    if scs != "on" or backslash != "off":
        raise UnsafeSessionError(
            "the database overrides standard_conforming_strings or backslash_quote, so queries are not run"
        )
    if search_path.replace(" ", "") != SEARCH_PATH.replace(" ", ""):
        raise UnsafeSessionError("the database overrides search_path, so queries are not run")
    if read_only != "on":
        raise UnsafeSessionError("the session is not read-only, so queries are not run")


# Set after connecting, not in the startup packet: some need a privilege (temp_file_limit) or
# a newer server (client_connection_check_interval is 14+), and an unknown or forbidden
# setting there would refuse the whole connection. A database may raise the last two for its
# own sessions.
BOUNDS = {
    "client_connection_check_interval": "1000",
    "hash_mem_multiplier": "1",
    "max_parallel_workers_per_gather": "2",
}


async def bound_session(conn: psycopg.AsyncConnection[Any], temp_file_limit: str) -> None:
    """Bound the session's work where the server and role allow it; log why where they do not.

    The connection must be in autocommit mode (a refused SET aborts a transaction).
    """
    settings = [("temp_file_limit", temp_file_limit), *BOUNDS.items()]
    try:  # one round trip where the server and role allow all of them (the usual case)
        await conn.execute(
            "SELECT " + ", ".join("set_config(%s, %s, false)" for _ in settings),
            [v for pair in settings for v in pair],
        )
        return
    except psycopg.Error:
        pass  # then one by one, to keep what may be set and log why the rest may not
    for name, value in settings:
        try:
            await conn.execute("SELECT set_config(%s, %s, false)", (name, value))
        except psycopg.errors.InsufficientPrivilege as exc:
            logger.info("%s not set for this role: %s", name, str(exc).strip().splitlines()[0])
        except psycopg.Error as exc:
            logger.info("%s not set: %s", name, str(exc).strip().splitlines()[0])


class SessionConnectError(Exception):
    """No session could be opened; ``__cause__`` is the driver's error (it may quote the URL)."""


@asynccontextmanager
async def read_only_session(
    url: str, limits: QueryLimits, application_name: str, row_factory: AsyncRowFactory[Any] = tuple_row
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A session on ``url`` that is read-only, bounded by ``limits`` and lexed as the guard lexes.

    The connection is in autocommit mode (each ``conn.transaction()`` is its own read-only
    transaction) and closed on exit. Raise ``SessionConnectError`` when it cannot be opened and
    ``UnsafeSessionError`` when the database overrides a setting the guard relies on.
    """
    try:
        conn = await psycopg.AsyncConnection.connect(
            url,
            autocommit=True,
            connect_timeout=limits.connect_timeout_s,
            application_name=application_name,
            options=session_options(
                limits.statement_timeout_ms, limits.lock_timeout_ms, limits.idle_timeout_ms, limits.work_mem
            ),
            row_factory=row_factory,
            **isolated(url),
        )
    except (psycopg.Error, OSError) as exc:
        raise SessionConnectError(type(exc).__name__) from exc
    try:
        await verify_session(conn)
        await bound_session(conn, limits.temp_file_limit)
        await conn.set_read_only(True)
        yield conn
    finally:
        await conn.close()
