"""Connection URLs without their passwords, read the way every parser that sees them reads them.

Three parsers read a user's URL and they disagree on ill-formed ones: libpq ends the user info at
the *first* ``@`` before a ``/``, decodes percent-encoded keys (``?%70assword=``) and values, and
knows no ``#`` fragment; Python's ``urlsplit`` ends it at the *last* ``@`` before ``/``, ``?`` or
``#``; pymongo at the last ``@`` before ``/`` or ``?``, decodes ``+`` as a space and splits
options on ``&`` or ``;``. So:

- ``url_problem`` refuses, before any driver sees it, a URL those readings would not agree on
  (a second raw ``@``, an ``@`` in a path, ``#``, raw spaces, a ``%`` that starts no escape...),
  with a sentence that never quotes the URL.
- ``redact_url`` shows a URL with every password replaced by ``***`` under each reading.
- ``hide_password`` takes every string that could be the secret under any reading (raw,
  percent-decoded, re-encoded, JSON- and repr-escaped) out of a free text such as a driver's
  error, longest first.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote, unquote_plus, unquote_to_bytes

from psycopg import pq
from psycopg.conninfo import conninfo_to_dict

MASK = "***"
# Secrets shorter than this are hidden only where they stand alone, not inside a longer word:
# a one-letter password must not blank out every such letter of an error message.
SHORT_SECRET = 6
# Parameters whose value is a secret: password, sslpassword, oauth_client_secret, scram_*_key
# (libpq), tlsCertificateKeyFilePassword (pymongo); authMechanismProperties may carry an AWS token.
SECRET_KEY_WORDS = ("password", "secret")
SECRET_KEYS = ("authmechanismproperties", "scram_client_key", "scram_server_key")
# What libpq takes for a parameter; a raw "&" in a password makes what follows look like others.
LIBPQ_KEYWORDS = frozenset(str(d.keyword.decode()) for d in pq.Conninfo.get_defaults())

SCHEMES = {"postgres": ("postgresql://", "postgres://"), "mongodb": ("mongodb://", "mongodb+srv://")}
WRONG_SCHEME = {
    "postgres": "A PostgreSQL URL starts with postgresql:// (or postgres://)",
    "mongodb": "A MongoDB URL starts with mongodb:// or mongodb+srv://",
}
OTHER_KIND = {
    "postgres": "This is a MongoDB URL: choose MongoDB as the kind of connection",
    "mongodb": "This is a PostgreSQL URL: choose PostgreSQL as the kind of connection",
}
SUPPORTED = "Sextant connects to PostgreSQL and MongoDB"
# Schemes of databases people try; each gets "X isn't supported" instead of a scheme lesson.
OTHER_DATABASES = {
    "mysql": "MySQL", "mysqlx": "MySQL", "mariadb": "MariaDB", "sqlserver": "SQL Server", "mssql": "SQL Server",
    "oracle": "Oracle", "sqlite": "SQLite", "redis": "Redis", "rediss": "Redis", "clickhouse": "ClickHouse",
    "cockroachdb": "CockroachDB", "snowflake": "Snowflake", "db2": "Db2", "cassandra": "Cassandra",
    "couchdb": "CouchDB", "neo4j": "Neo4j", "elasticsearch": "Elasticsearch",
}  # fmt: skip
MALFORMED = "Malformed connection URL: "
SPACES = MALFORMED + "write spaces and control characters percent-encoded (a space is %20)"
PERCENT = MALFORMED + "a % must start a percent-encoded byte such as %40; write % itself as %25"
NUL = MALFORMED + "%00 (a NUL byte) is not allowed"
NOT_UTF8 = MALFORMED + "percent-encoded bytes must spell UTF-8 text"
HASH = MALFORMED + "write # as %23"
LOOKALIKE = MALFORMED + "a character that stands for / ? # @ : [ ] or % must be percent-encoded"
AT = (
    MALFORMED + "only the @ that ends the user name and password may be written as is; "
    "percent-encode every other @ as %40 (in a password too)"
)
BRACKETS = MALFORMED + "percent-encode [ and ] in a user name or password as %5B and %5D"
MONGO_COLON = MALFORMED + "percent-encode : in a MongoDB user name or password as %3A"
PORT = MALFORMED + "a port is not a number"
PARAMS = MALFORMED + "every parameter after ? is key=value; percent-encode & and = inside a value as %26 and %3D"

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_KEYWORD = re.compile(r"\s*([^\s=]+)\s*=\s*")
_SPACE = re.compile(r"\s")
_SEPARATORS = frozenset("/?#@:[]%")


def _find(text: str, chars: str, start: int = 0) -> int:
    """Index of the first of ``chars`` in ``text`` from ``start``, or ``len(text)``."""
    found = [i for i in (text.find(c, start) for c in chars) if i >= 0]
    return min(found, default=len(text))


def _is_secret_key(key: str) -> bool:
    name = unquote(key).strip().lower()
    return name in SECRET_KEYS or any(word in name for word in SECRET_KEY_WORDS)


def _at_is_ambiguous(rest: str) -> bool:
    """Whether libpq, urlsplit and pymongo could disagree on where the user info of ``rest`` ends.

    ``rest`` is the URL after ``scheme://``. They agree when the only raw ``@`` ends the
    authority's user info, or lies in the query (after a ``?`` that follows the path's ``/``).
    """
    authority_end = _find(rest, "/?")
    if rest[:authority_end].count("@") > 1:
        return True
    slash = rest.find("/")
    libpq_region_end = slash if slash >= 0 else len(rest)  # libpq looks for "@" up to the first "/"
    if "@" in rest[authority_end:libpq_region_end]:
        return True
    if slash >= 0 and slash == authority_end:
        path_end = _find(rest, "?", slash)
        return "@" in rest[slash:path_end]
    return False


def _port_problem(hosts: str) -> bool:
    """Whether a host of the authority's list has a port that is not digits (``[v6]:port``, ``host:port``)."""
    for entry in hosts.split(","):
        if entry.startswith("["):
            _, bracket, after = entry.partition("]")
            if not bracket or (after and not (after.startswith(":") and after[1:].isdigit())):
                return True
            continue
        port = entry.partition(":")[2]
        if port and not port.isdigit():
            return True
    return False


def _wrong_scheme(kind: str, url: str) -> str:
    """Why a URL of another scheme is refused: the other supported kind, a database Sextant does
    not connect to, or how this kind's URLs start."""
    written = url.strip().lower().removeprefix("jdbc:").partition(":")[0].partition("+")[0]
    if kind in SCHEMES and url.startswith(tuple(s for k, spelled in SCHEMES.items() if k != kind for s in spelled)):
        return OTHER_KIND[kind]
    if written in OTHER_DATABASES:
        return f"{OTHER_DATABASES[written]} isn't supported: {SUPPORTED}"
    return WRONG_SCHEME.get(kind, f"Connections of kind '{kind}' are not supported: {SUPPORTED}")


def url_problem(kind: str, url: str) -> str | None:
    """Why ``url`` is refused before any driver sees it, or None; the sentence never quotes the URL.

    Refused: another scheme (spelled exactly, as libpq and pymongo compare it), raw spaces and
    control characters, ``%`` not followed by two hex digits, ``%00``, escapes that are not
    UTF-8, ``#``, a non-ASCII character that normalises to a URL delimiter, any raw ``@`` the
    parsers could read differently, ``[`` or ``]`` in the user info, a port that is not a
    number, and (pymongo) a second ``:`` in the user info.
    """
    scheme = next((s for s in SCHEMES.get(kind, ()) if url.startswith(s)), None)
    if scheme is None:
        return _wrong_scheme(kind, url)
    if any(c == " " or ord(c) < 32 or ord(c) == 127 for c in url):
        return SPACES
    if _BAD_PERCENT.search(url):
        return PERCENT
    if "%00" in url:
        return NUL
    try:
        unquote_to_bytes(url).decode("utf-8")
    except UnicodeDecodeError:
        return NOT_UTF8
    if "#" in url:
        return HASH
    if any(ord(c) > 127 and set(unicodedata.normalize("NFKC", c)) & _SEPARATORS for c in url):
        return LOOKALIKE
    rest = url[len(scheme) :]
    if _at_is_ambiguous(rest):
        return AT
    userinfo, _, hosts = rest[: _find(rest, "/?")].rpartition("@")
    if "[" in userinfo or "]" in userinfo:
        return BRACKETS
    if kind == "mongodb" and userinfo.count(":") > 1:
        return MONGO_COLON
    if _port_problem(hosts):
        return PORT
    query = rest.partition("?")[2]
    if any(item.count("=") != 1 for item in _split_query(kind, query) if item):
        return PARAMS  # libpq and pymongo refuse these too, but quote the parameter
    return None


def _split_query(kind: str, query: str) -> list[str]:
    """The parameters of ``query`` as libpq (``&``) or pymongo (``&``, else ``;``, else white space) split it."""
    if kind == "mongodb" and "&" not in query:
        return query.split(";") if ";" in query else query.split()
    return query.split("&")


# ---- what could be the secret -------------------------------------------------------------


def _query_candidates(query: str, libpq: bool) -> set[str]:
    """Values of secret parameters as libpq and pymongo split ``query``.

    For libpq, parameters after a secret one that libpq would not know (or that have no ``=``)
    are taken for the rest of a password written with a raw ``&``: libpq quotes their names.
    """
    found: set[str] = set()
    for kind in ("postgres", "mongodb"):
        items = _split_query(kind, query)
        for i, item in enumerate(items):
            key, eq, value = item.partition("=")
            if not (eq and _is_secret_key(key)):
                continue
            found |= {value, value.split("#")[0]}
            tail: list[str] = []
            for following in items[i + 1 :] if libpq and kind == "postgres" else ():
                name = unquote(following.partition("=")[0]).strip()
                if name in LIBPQ_KEYWORDS or _is_secret_key(name):
                    break
                tail.append(following)
            if tail:
                found.add("&".join([value, *tail]))
                found.update(re.split(r"[&=]", "&".join(tail)))
    return found


def _keyword_pairs(text: str) -> list[tuple[str, int, int, str]]:
    """``(key, start, end, value)`` of a libpq ``key=value`` string; ``text[start:end]`` is the value as written.

    Lenient on purpose: an unterminated quote runs to the end, a token without ``=`` is skipped.
    """
    pairs: list[tuple[str, int, int, str]] = []
    pos = 0
    while pos < len(text):
        match = _KEYWORD.match(text, pos)
        if match is None:
            space = _SPACE.search(text, pos)
            pos = space.end() if space else len(text)
            continue
        pos = match.end()
        quoted = text.startswith("'", pos)
        start = pos + 1 if quoted else pos
        chars: list[str] = []
        i = start
        while i < len(text) and (text[i] != "'" if quoted else not text[i].isspace()):
            if text[i] == "\\" and i + 1 < len(text):
                chars.append(text[i + 1])
                i += 2
            else:
                chars.append(text[i])
                i += 1
        pairs.append((match.group(1), start, i, "".join(chars)))
        pos = i + 1 if quoted else i
    return pairs


def _raw_candidates(url: str) -> set[str]:
    """Every substring of ``url`` that some reading of it takes for a password, as written."""
    found: set[str] = set()
    scheme = _SCHEME.match(url)
    if scheme is None:
        for key, start, end, value in _keyword_pairs(url):
            if _is_secret_key(key):
                found |= {url[start:end], value}
    else:
        rest = url[scheme.end() :]
        colon = rest.find(":")
        if colon >= 0 and "@" not in rest[:colon]:
            stop = _find(rest, "/?", colon)
            reads_as_port = rest[colon + 1 : stop].isdigit() or stop == colon + 1
            # The password runs from the first ":" to the first "@" (libpq), the last one before the
            # path (urlsplit, pymongo), or one after a "/" the writer meant as part of it. Only
            # those few "@" end a reading: every "@" of a long query would make this quadratic.
            ends = {rest.find("@", colon), rest.rfind("@", colon, _find(rest, "/")), rest.rfind("@", colon, stop)}
            first_slash = _find(rest, "/", colon)
            ends.add(rest.find("@", first_slash))
            for at in sorted(i for i in ends if i > colon):
                if at < stop or not (reads_as_port or "@" in rest[:stop]):
                    found.add(rest[colon + 1 : at])
                    # Where the parsers cut it, the pieces end up in a host, port or database name.
                    found.update(re.split(r"[@/?#]", rest[colon + 1 : at]))
        found |= _query_candidates(rest.partition("?")[2], libpq=scheme.group(0) in SCHEMES["postgres"])
    try:
        info = conninfo_to_dict(url)  # libpq's own reading, where it has one
    except Exception:  # any string may come here: no reading of it is no candidate
        info = {}
    found |= {str(value) for key, value in info.items() if _is_secret_key(key) and value}
    return found


def _spellings(candidate: str) -> set[str]:
    """A candidate as written, decoded, and as it may be re-encoded or escaped in a message."""
    decoded = {candidate, unquote(candidate), unquote_plus(candidate)}
    forms = set(decoded)
    for text in decoded:
        forms |= {
            quote(text, safe=""),
            quote(text),
            quote_plus(text),
            json.dumps(text)[1:-1],
            json.dumps(text, ensure_ascii=False)[1:-1],
            repr(text)[1:-1],
        }
    return forms


def secrets_of(url: str) -> list[str]:
    """Every spelling of every string that could be a password of ``url``, longest first."""
    found: set[str] = set()
    for candidate in _raw_candidates(url):
        found |= _spellings(candidate)
    found.discard("")
    return sorted(found, key=lambda s: (-len(s), s))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret replaced by ``***``, longest first; short ones only where they stand alone."""
    for secret in sorted(set(secrets), key=lambda s: (-len(s), s)):
        if not secret or secret == MASK:
            continue
        if len(secret) >= SHORT_SECRET:
            text = text.replace(secret, MASK)
        else:
            text = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", MASK, text)
    return text


def hide_password(message: str, url: str) -> str:
    """``message`` without any spelling of any password of ``url`` (see ``secrets_of``).

    Drivers echo parts of a connection string in their errors; this runs on every error text
    that may reach a response, a log line, an audit row, a stored job or a prompt.
    """
    return scrub(message, secrets_of(url))


# ---- the URL as shown -----------------------------------------------------------------------


def _redact_query(query: str) -> str:
    """Secret parameter values masked to the next ``&`` (libpq's reading) or ``;`` (pymongo's)."""
    items = []
    for item in query.split("&"):
        key, eq, _ = item.partition("=")
        if eq and _is_secret_key(key):
            items.append(f"{key}={MASK}")
            continue
        parts = []
        for part in item.split(";"):
            key, eq, _ = part.partition("=")
            parts.append(f"{key}={MASK}" if eq and _is_secret_key(key) else part)
        items.append(";".join(parts))
    return "&".join(items)


def _redact_rest(rest: str) -> str:
    """``rest`` (after ``scheme://``) with the password of its user info and secret parameters masked."""
    if _at_is_ambiguous(rest):
        # No reading to trust: anything up to the last "@" before the query may be the password.
        slash = rest.find("/")
        query_at = rest.find("?", slash) if slash >= 0 else -1
        rest = MASK + "@" + rest[rest.rfind("@", 0, query_at if query_at >= 0 else len(rest)) + 1 :]
    head, question, query = rest.partition("?")
    authority_end = _find(head, "/")
    userinfo, at, hostinfo = head[:authority_end].rpartition("@")
    if at and ":" in userinfo:
        head = f"{userinfo.split(':', 1)[0]}:{MASK}@{hostinfo}{head[authority_end:]}"
    return head + question + (_redact_query(query) if question else "")


def _redact_keywords(text: str) -> str:
    shown, pos = [], 0
    for key, start, end, _ in _keyword_pairs(text):
        if _is_secret_key(key):
            shown += [text[pos:start], MASK]
            pos = end
    return "".join(shown) + text[pos:]


def redact_url(url: str) -> str:
    """``url`` as it may be shown and stored: every password ``***`` under every reading of it.

    A well-formed URL keeps its user name, hosts, database and other parameters as written;
    a ``key=value`` string keeps its other keys; an ambiguous URL shows nothing before its
    last ``@``. Applying it again changes nothing.
    """
    scheme = _SCHEME.match(url)
    shown = _redact_keywords(url) if scheme is None else scheme.group(0) + _redact_rest(url[scheme.end() :])
    # A password that is also written elsewhere in the URL (as the host, say) is not shown there either.
    # What holds a mask already was masked before (a stored row shown again): it reads as nothing new.
    return scrub(shown, (s for s in secrets_of(url) if MASK not in s))
