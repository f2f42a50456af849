"""Where a connection password could surface, gathered in one place so a test can grep them all.

``Outputs`` keeps every API response a test made, and on ``leaks`` reads the rest again: the
audit trail through the API and as stored rows, the connections and indexing jobs in the store,
every log record captured (all loggers, DEBUG), ``/metrics`` and the prompts Ollama received.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Protocol, TypeVar
from urllib.parse import quote, quote_plus

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.fake_ollama import OllamaScript

# Every table of the store a URL's text could end up in (chunks: what search and prompts read).
STORE_TABLES = ("audit_events", "connections", "index_jobs", "query_history", "chunks")


class _Request(Protocol):
    @property
    def method(self) -> str: ...
    @property
    def url(self) -> object: ...


class _Response(Protocol):
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...
    @property
    def request(self) -> _Request: ...


R = TypeVar("R", bound=_Response)


def leaked_forms(secret: str) -> set[str]:
    """The spellings a secret may take on its way out: as is, percent-encoded, JSON- and repr-escaped."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
    }
    return {f for f in forms if f}


class Outputs:
    def __init__(
        self,
        client: TestClient,
        admin: dict[str, str],
        store_dsn: str,
        caplog: pytest.LogCaptureFixture,
        ollama: OllamaScript | None = None,
    ):
        self.client = client
        self.admin = admin
        self.store_dsn = store_dsn
        self.caplog = caplog
        self.ollama = ollama
        self.since = datetime.now(UTC)
        self.responses: list[str] = []

    def add(self, response: R) -> R:
        """Keep a response (status line, headers, body) to be searched later; returns it."""
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.responses.append(f"{response.request.method} {response.request.url}\n{headers}\n\n{response.text}")
        return response

    def _audit_api(self) -> str:
        pages: list[str] = []
        offset = 0
        while True:
            page = self.client.get(
                "/api/audit",
                params={"since": self.since.isoformat(), "limit": 500, "offset": offset},
                headers=self.admin,
            )
            assert page.status_code == 200, page.text
            pages.append(page.text)
            items = page.json()["items"]
            if len(items) < 500:
                return "\n".join(pages)
            offset += 500

    def _store(self) -> dict[str, str]:
        found: dict[str, str] = {}
        with psycopg.connect(self.store_dsn) as conn:
            for table in STORE_TABLES:
                row = conn.execute(f"SELECT coalesce(string_agg(t::text, ' '), '') FROM {table} t").fetchone()
                found[table] = str(row[0]) if row else ""
        return found

    def _logs(self) -> str:
        lines = []
        for record in self.caplog.records:
            lines.append(record.getMessage())
            if record.exc_info and record.exc_info[1] is not None:
                lines.append(repr(record.exc_info[1]))
            if record.exc_text:
                lines.append(record.exc_text)
        return "\n".join(lines) + "\n" + self.caplog.text

    def texts(self) -> dict[str, str]:
        """Every output, by where it came from."""
        texts: dict[str, str] = {f"response {i}": text for i, text in enumerate(self.responses)}
        texts["audit API"] = self._audit_api()
        texts.update({f"store {name}": dump for name, dump in self._store().items()})
        texts["logs"] = self._logs()
        texts["metrics"] = self.client.get("/metrics").text
        if self.ollama is not None:
            texts["prompts"] = json.dumps(self.ollama.requests, ensure_ascii=False)
        return texts

    def leaks(self, *secrets: str, texts: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
        """``(where, form, excerpt)`` for every spelling of every secret found in any output."""
        texts = texts if texts is not None else self.texts()
        found: list[tuple[str, str, str]] = []
        for secret in secrets:
            for form in leaked_forms(secret):
                for where, text in texts.items():
                    at = text.find(form)
                    if at >= 0:
                        found.append((where, form, text[max(0, at - 80) : at + len(form) + 80]))
        return found
