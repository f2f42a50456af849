"""How PostgreSQL names are spelled in prompts and in chunk text: quoted only where SQL needs it."""

from __future__ import annotations

import re

from backend.components.chunker import Spelling

_PLAIN_IDENT = re.compile(r"^[a-z_][a-z0-9_$]*$")


def sql_ident(name: str) -> str:
    """The identifier as SQL must spell it: mixed case and odd characters get double quotes."""
    return name if _PLAIN_IDENT.match(name) else '"' + name.replace('"', '""') + '"'


def sql_name(qualified: str) -> str:
    schema, _, name = qualified.partition(".")
    return f"{sql_ident(schema)}.{sql_ident(name)}"


SQL_SPELLING = Spelling(sql_ident, sql_name)
