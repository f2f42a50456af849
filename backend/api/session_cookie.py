"""The browser's session: the access token in an httpOnly, SameSite=Strict cookie, and a
double-submit CSRF token beside it.

Programs keep using ``Authorization: Bearer``. A browser asks for the cookie at login
(``session_cookie: true``); script in the page never sees the token, and the session survives
reloads and new tabs. Every state-changing request authenticated by the cookie must repeat the
readable CSRF cookie in ``X-CSRF-Token``: another site can make the browser send the cookie
(SameSite aside) but cannot read the CSRF cookie to copy it.

Over HTTPS (the request's own scheme, or the one a trusted proxy names: ``TRUSTED_PROXIES``) or
with ``SESSION_COOKIE_SECURE=always`` the cookies are ``Secure`` and carry the ``__Host-``
prefix, which a browser accepts only from a secure origin, for path ``/`` and with no Domain:
a neighbouring host or plain-HTTP page cannot plant or overwrite them. Over plain HTTP
(localhost) they keep their bare names. Only the spelling of the request's scheme is read
(switching scheme means logging in again); logout clears both.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Literal

from fastapi import Request, Response

SESSION_COOKIE = "sextant_session"
CSRF_COOKIE = "sextant_csrf"
SECURE_PREFIX = "__Host-"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

SecureMode = Literal["auto", "always"]


def is_secure(request: Request, mode: SecureMode) -> bool:
    """Whether this response's cookies are ``Secure`` (and ``__Host-`` named)."""
    return mode == "always" or request.url.scheme == "https"


def _name(base: str, secure: bool) -> str:
    return SECURE_PREFIX + base if secure else base


def _read(request: Request, base: str, secure: bool) -> str | None:
    return request.cookies.get(_name(base, secure))


def set_session(response: Response, request: Request, token: str, max_age: int, mode: SecureMode) -> None:
    secure = is_secure(request, mode)
    for base, value, httponly in (
        (SESSION_COOKIE, token, True),
        (CSRF_COOKIE, secrets.token_urlsafe(32), False),
    ):
        response.set_cookie(
            _name(base, secure), value, max_age=max_age, path="/", httponly=httponly, samesite="strict",
            secure=secure,
        )  # fmt: skip


def clear_session(response: Response) -> None:
    """Deletes both spellings of both cookies (a ``__Host-`` deletion must itself be Secure;
    over plain HTTP the browser ignores that one, and there is no such cookie to delete)."""
    for base, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        for secure in (False, True):
            response.delete_cookie(_name(base, secure), path="/", httponly=httponly, samesite="strict", secure=secure)


def cookie_token(request: Request, mode: SecureMode) -> str | None:
    """The session cookie's token, or None without one. Raises ``PermissionError`` for a request
    that changes state without the matching CSRF header.

    Over HTTPS only the ``__Host-`` pair counts: a bare-named cookie is what a neighbouring host
    or a plain-HTTP page can plant, and a planted session would sign the person in as someone
    else. Session and CSRF cookie always come from the same spelling."""
    secure = is_secure(request, mode)
    token = _read(request, SESSION_COOKIE, secure)
    if not token:
        return None
    if request.method not in SAFE_METHODS:
        expected = _read(request, CSRF_COOKIE, secure) or ""
        sent = request.headers.get(CSRF_HEADER) or ""
        if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
            raise PermissionError("The request lacks the CSRF token of this session")
    return token
