"""Driver options a user's connection URL may not carry.

A connection URL is written by a user but followed by the appliance. Some options make the
driver use the appliance itself rather than the user's server: read its files (``sslkey``,
``passfile``, ``service``, ``tlsCAFile``...), append to one (``sslkeylogfile``), send it to
an HTTP address of the URL's choosing (libpq's OAuth flow), fetch cloud credentials from
the metadata service (MongoDB's ``MONGODB-AWS`` and ``MONGODB-OIDC``), hand on the host's
Kerberos credentials (``gssdelegation``, ``GSSAPI``), or open a replication connection.
None of them is needed to read a database over a password or trust login.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

# libpq keywords (conninfo_to_dict has decoded their spelling) refused whatever their value.
POSTGRES_REFUSED = frozenset(
    {
        "passfile",
        "service",
        "servicefile",
        "sslcert",
        "sslkey",
        "sslcrl",
        "sslcrldir",
        "sslkeylogfile",
        "oauth_issuer",
        "oauth_client_id",
        "oauth_client_secret",
        "oauth_scope",
        "replication",
    }
)
# Keyword -> the only values allowed.
POSTGRES_ONLY = {"sslrootcert": frozenset({"system"}), "gssdelegation": frozenset({"0"})}

MONGO_REFUSED = frozenset({"tlscafile", "tlscertificatekeyfile", "tlscrlfile"})
MONGO_MECHANISMS = frozenset({"DEFAULT", "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN"})

REASON = "the appliance does not follow options that use its own files, credentials or network"


def refused_option(kind: str, url: str) -> str | None:
    """A sentence naming the first refused option of ``url``, or None. Never quotes a value.

    ``url`` has passed ``url_problem`` (unambiguous, well-formed escapes); a URL that still
    does not parse is left to the target's parser, which reports it.
    """
    if kind == "postgres":
        try:
            info = conninfo_to_dict(url)
        except (psycopg.Error, UnicodeDecodeError):
            return None
        for key, value in info.items():
            allowed = POSTGRES_ONLY.get(key)
            if key in POSTGRES_REFUSED or (allowed is not None and str(value) not in allowed):
                return f"The connection URL may not set {key}: {REASON}"
        return None
    try:
        query = urlsplit(url).query
    except ValueError:
        return None
    # pymongo separates options with ``&`` or ``;`` and reads their names in any case.
    for pair in re.split("[&;]", query):
        key, _, value = pair.partition("=")
        name = unquote(key).lower()
        if name in MONGO_REFUSED:
            return f"The connection URL may not set {name}: {REASON}"
        if name == "authmechanism" and unquote(value).upper() not in MONGO_MECHANISMS:
            return f"The connection URL may not use that authMechanism (only SCRAM or PLAIN): {REASON}"
    return None
