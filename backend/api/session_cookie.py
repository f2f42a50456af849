"""The browser's session: the access token in an httpOnly, SameSite=Strict cookie, and a
double-submit CSRF token beside it.

Programs keep using ``Authorization: Bearer``. A browser asks for the cookie at login
(``session_cookie: true``); script in the page never sees the token, and the session survives
reloads and new tabs. Every state-changing request authenticated by the cookie must repeat the
readable CSRF cookie in ``X-CSRF-Token``: another site can make the browser send the cookie
(SameSite aside) but cannot read the CSRF cookie to copy it.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response

SESSION_COOKIE = "sextant_session"
CSRF_COOKIE = "sextant_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def set_session(response: Response, request: Request, token: str, max_age: int) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, path="/", httponly=True, samesite="strict", secure=secure
    )
    response.set_cookie(
        CSRF_COOKIE, secrets.token_urlsafe(32), max_age=max_age, path="/", httponly=False, samesite="strict",
        secure=secure,
    )  # fmt: skip


def clear_session(response: Response, request: Request) -> None:
    secure = request.url.scheme == "https"
    for name, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(name, path="/", httponly=httponly, samesite="strict", secure=secure)


def cookie_token(request: Request) -> str | None:
    """The session cookie's token, or None without one. Raises ``PermissionError`` for a request
    that changes state without the matching CSRF header."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    if request.method not in SAFE_METHODS:
        expected = request.cookies.get(CSRF_COOKIE) or ""
        sent = request.headers.get(CSRF_HEADER) or ""
        if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
            raise PermissionError("The request lacks the CSRF token of this session")
    return token
