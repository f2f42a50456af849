"""Cancel: a client that drops the connection (the Cancel button aborts the request) stops
the question, and the query running in the user's database is cancelled there too, not left to
run out its time limit. Against a real uvicorn server, so the disconnect is a real one."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from backend.config import QuerySettings, Settings
from backend.main import create_app
from tests.conftest import ServerThread, free_port
from tests.fake_ollama import OllamaScript

# Runs for minutes: 16,044^3 rows to count.
ENDLESS = "SELECT count(*) AS n FROM rental a, rental b, rental c"
# The statement runs through a server-side cursor: what is active is its FETCH.
RUNNING = """
SELECT count(*) FROM pg_stat_activity
WHERE application_name = 'sextant-query' AND state = 'active' AND datname = 'sextant_sakila'
"""


@pytest.fixture
def server(settings_factory: Callable[..., Settings]) -> Iterator[str]:
    # A minute of statement timeout: anything that stops sooner was stopped by the cancel.
    settings = settings_factory(query=QuerySettings(query_statement_timeout_ms=60_000))
    running = ServerThread(create_app(settings), free_port()).start()
    yield running.url
    running.stop()


def _running(dsn: str) -> int:
    out = subprocess.run(["psql", dsn, "-tAc", RUNNING], capture_output=True, text=True, check=True).stdout
    return int(out.strip() or 0)


def _wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


class StreamReader:
    """POSTs the question on a raw socket and reads the event stream in a thread, as a browser
    does; ``cancel`` drops the connection the way an aborted fetch does."""

    def __init__(self, base: str, token: str, body: dict[str, Any]):
        url = httpx.URL(base)
        payload = json.dumps(body).encode()
        self.sock = socket.create_connection((url.host, url.port or 80))
        head = (
            f"POST /api/query/stream HTTP/1.1\r\nHost: {url.host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        )
        self.sock.sendall(head.encode() + payload)
        self.steps: list[str] = []
        self.events: list[str] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buffer = b""
        with contextlib.suppress(OSError):
            while chunk := self.sock.recv(65536):
                buffer += chunk
                *lines, rest = buffer.split(b"\n")
                buffer = rest
                for line in lines:
                    if line.startswith(b"data: "):
                        data: dict[str, Any] = json.loads(line[6:])
                        self.events.append(data["event"])
                        if data["event"] == "step":
                            self.steps.append(data["step"])

    def cancel(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(timeout=5)


def test_cancelling_the_stream_cancels_the_query_in_the_database(
    server: str, sakila_url: str, ollama: OllamaScript, store_dsn: str
) -> None:
    with httpx.Client(base_url=server, timeout=60) as http:
        email, password = "cancel@example.com", "correct horse"
        http.post("/api/auth/register", json={"email": email, "password": password})
        token = http.post("/api/auth/login", json={"email": email, "password": password}).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        created = http.post("/api/connections", json={"name": "sakila", "kind": "postgres", "url": sakila_url})
        cid = created.json()["id"]
        assert _wait_for(lambda: http.get(f"/api/connections/{cid}/sync").json()["status"] == "succeeded", 60)
        ollama.reply_sql(ENDLESS)
        body = {"connection_id": cid, "question": "count every triple of rentals"}
        reader = StreamReader(server, token, body)
        assert _wait_for(lambda: "execute" in reader.steps, 15)
        assert reader.steps == ["retrieve", "generate", "validate", "execute"]
        assert _wait_for(lambda: _running(sakila_url) == 1, 15), "the query never showed up running"
        started = time.monotonic()
        reader.cancel()
        # The connection is gone: the server sees the disconnect and cancels.
        assert _wait_for(lambda: _running(sakila_url) == 0, 10), "the query kept running after Cancel"
        assert time.monotonic() - started < 10
        # The run is in the audit trail, as cancelled.
        assert "done" not in reader.events  # the question stopped; nothing was answered
        with psycopg.connect(store_dsn, autocommit=True) as conn:
            events = conn.execute(
                "SELECT details->>'error', success FROM audit_events WHERE action = 'query'"
                " AND target = %s ORDER BY id",
                (f"connection:{cid}",),
            ).fetchall()
        assert events[-1] == ("cancelled before it finished", False)
        # And the server still answers the next question.
        ollama.reply_sql("SELECT count(*) AS n FROM film")
        assert http.post("/api/query", json={"connection_id": cid, "question": "films?"}).json()["rows"] == [[1000]]
