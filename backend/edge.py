"""The backend's edge: whom it believes about the client's address, and the security headers
every response carries.

The header policy has one source, ``nginx/conf/security-headers.conf``: nginx includes it, and
the backend reads its ``add_header`` lines when the app is created and sets the same headers
itself (so ``make run``, where no nginx is in front, sends them too). Behind nginx the file's
``proxy_hide_header`` lines drop the backend's copies and nginx adds its own: each header once.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from backend.config import ProxySettings

HEADERS_FILE = Path(__file__).resolve().parent.parent / "nginx" / "conf" / "security-headers.conf"

_NAME = r"([A-Za-z0-9-]+)"
# A value nginx would send as written: printable ASCII, no variables, no escapes, no quotes.
_ADD_HEADER = re.compile(r"add_header\s+" + _NAME + r'\s+"([ !#%-\[\]-~]*)"\s+always;')
_HIDE_HEADER = re.compile(r"proxy_hide_header\s+" + _NAME + r";")


class SecurityHeadersError(RuntimeError):
    """The security-headers file cannot be read as the backend and nginx must both read it."""


@dataclass(frozen=True)
class SecurityHeaders:
    """Header names and values, in the file's order; names are unique (case-insensitively)."""

    headers: tuple[tuple[str, str], ...]


def load_security_headers(path: Path | None = None) -> SecurityHeaders:
    """Parse the nginx snippet (``HEADERS_FILE`` unless ``path`` is given) strictly.

    Accepted lines: blank, ``# comment``, ``add_header Name "value" always;`` and
    ``proxy_hide_header Name;``. Anything else, a header named twice, a value with an nginx
    variable or escape, or an ``add_header`` without its ``proxy_hide_header`` (the backend's
    copy would then reach clients next to nginx's) raises ``SecurityHeadersError``.
    """
    path = path or HEADERS_FILE
    try:
        text = path.read_bytes().decode("ascii").replace("\r\n", "\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise SecurityHeadersError(f"cannot read the security headers from {path}: {exc}") from exc
    # nginx ends a line (and a comment) at \n only; Python's splitlines() also at \r, \v, \f...
    # Any such character could make the two read different headers from the same bytes.
    stray = sorted({f"{ord(c):#04x}" for c in text if (ord(c) < 32 and c not in "\t\n") or ord(c) == 127})
    if stray:
        raise SecurityHeadersError(f"{path}: control characters {', '.join(stray)} (only tabs and line ends)")
    added: dict[str, tuple[str, str]] = {}
    hidden: set[str] = set()
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if match := _ADD_HEADER.fullmatch(line):
            name, value = match.group(1), match.group(2)
            if name.lower() in added:
                raise SecurityHeadersError(f"{path}:{number}: {name} is added twice")
            added[name.lower()] = (name, value)
        elif match := _HIDE_HEADER.fullmatch(line):
            hidden.add(match.group(1).lower())
        else:
            raise SecurityHeadersError(
                f'{path}:{number}: expected `add_header Name "value" always;` or `proxy_hide_header Name;`, got: {line}'
            )
    if not added:
        raise SecurityHeadersError(f"{path}: no add_header line")
    if hidden != set(added):
        raise SecurityHeadersError(
            f"{path}: every add_header needs a proxy_hide_header of the same name and no other; "
            f"added {sorted(added)}, hidden {sorted(hidden)}"
        )
    return SecurityHeaders(tuple(added.values()))


class SecurityHeadersMiddleware:
    """Sets the headers on every HTTP response that passes through, replacing any copy the
    response already had (one value per name, whatever a route set)."""

    def __init__(self, app: ASGIApp, policy: SecurityHeaders) -> None:
        self.app = app
        self._raw = [(name.lower().encode("ascii"), value.encode("ascii")) for name, value in policy.headers]
        self._names = {name for name, _ in self._raw}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in self._names]
                message = {**message, "headers": [*kept, *self._raw]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_edge(app: FastAPI, proxy: ProxySettings, policy: SecurityHeaders) -> None:
    """Wire both into ``app``, outside the middlewares added before this call.

    With ``proxy.trusted_proxies`` empty no forwarded header is believed. Otherwise uvicorn's
    ``ProxyHeadersMiddleware`` takes the client address from ``X-Forwarded-For`` only when the
    TCP peer is one of them, walking the header from the right (the entries the proxies added)
    to the first address that is not a trusted proxy. Every uvicorn that serves this app runs
    with ``--no-proxy-headers``, so uvicorn's own default (trust 127.0.0.1) never applies.
    """
    app.add_middleware(SecurityHeadersMiddleware, policy=policy)
    if proxy.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(proxy.trusted_proxies))

    # Starlette answers an unhandled exception from ServerErrorMiddleware, outside every
    # middleware above; its handler is the one place that 500 can get the headers too.
    inner = app.exception_handlers.get(Exception) or app.exception_handlers.get(500)

    async def unhandled(request: Request, exc: Exception) -> Response:
        response: Response
        if inner is None:
            response = PlainTextResponse("Internal Server Error", 500)
        else:
            answer = inner(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        for name, value in policy.headers:
            response.headers[name] = value
        return response

    app.add_exception_handler(Exception, unhandled)
