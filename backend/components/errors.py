"""What components raise: domain errors that know nothing of HTTP.

``backend/errors.py`` says, in one place, which HTTP answer each kind becomes. Services
catch these where a failure is part of the flow (an unreachable LLM ends a question with
an explanation, not a 503).
"""

from __future__ import annotations


class ComponentError(Exception):
    """Base of the component errors; ``detail`` is a sentence safe to show a user."""

    default_detail = "A component failed"

    def __init__(self, detail: str | None = None):
        super().__init__(detail or self.default_detail)
        self.detail = detail or self.default_detail


class UnavailableError(ComponentError):
    """A system Sextant depends on (the LLM server, the embedding service) did not answer."""

    default_detail = "A required service is unavailable"


class InvalidTokenError(ComponentError):
    """A bearer token that is malformed, forged, expired or of the wrong type."""

    default_detail = "Invalid token"


class ConnectorError(Exception):
    """A user's database (or the way to it) refused or failed; ``str(exc)`` is safe to show (no secrets).

    Raised by the engines' connectors and by the connection policy when a host does not resolve.
    """
