"""Encryption at rest and redaction of connection URLs. A clear URL never leaves this seam
except towards a connector."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

from cryptography.fernet import Fernet, InvalidToken


class UrlCipher:
    def __init__(self, key: str):
        self._fernet = Fernet(key.encode())

    def encrypt(self, url: str) -> bytes:
        return self._fernet.encrypt(url.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken as exc:
            raise RuntimeError("stored connection URL cannot be decrypted with the current key") from exc


def redact_url(url: str) -> str:
    """Replace the password of a URL with ``***``; also masks ``password=`` query parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostinfo}" if ":" in userinfo else f"{user}@{hostinfo}"
    query = "&".join(
        f"{kv.split('=', 1)[0]}=***" if kv.lower().startswith(("password=", "sslpassword=")) else kv
        for kv in parts.query.split("&")
        if kv
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def hide_password(message: str, url: str) -> str:
    """``message`` with the password of ``url`` (as written, and percent-decoded) replaced by ``***``.

    Drivers sometimes echo the connection string in their errors; this runs on every error
    text that may reach a response, a log or an audit row.
    """
    try:
        password = urlsplit(url).password
    except ValueError:
        return message
    if not password:
        return message
    return message.replace(password, "***").replace(unquote(password), "***")
