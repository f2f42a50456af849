"""Encryption at rest of connection URLs. A clear URL never leaves this seam except towards a
connector; what may be shown of one comes from ``url_redaction``."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class KeyMismatchError(RuntimeError):
    """A stored URL was encrypted with another key than this process's ``ENCRYPTION_KEY``."""


class UrlCipher:
    def __init__(self, key: str):
        self._fernet = Fernet(key.encode())

    def encrypt(self, url: str) -> bytes:
        return self._fernet.encrypt(url.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken as exc:
            raise KeyMismatchError("stored connection URL cannot be decrypted with the current key") from exc
