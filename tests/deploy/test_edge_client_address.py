"""Who the backend believes the client is: the repository's nginx configuration (Debian's nginx)
in front of a real backend, the backend reached directly, and ``make run``'s own command line.

The real client connects from 127.0.0.2, nginx reaches the backend from 127.0.0.1, and the
backend trusts 127.0.0.1 only (as in compose it trusts only nginx's fixed address).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg
import pytest

from backend.config import ProxySettings, SecuritySettings, Settings
from backend.main import create_app
from tests.conftest import ROOT, TEST_JWT_SECRET, ServerThread
from tests.deploy.nginx_harness import RunningNginx, free_port, render, web_root

REAL_CLIENT = "127.0.0.2"
LOGIN_LIMIT = 5


def client_at(address: str, base_url: str) -> httpx.Client:
    """An HTTP client whose connections leave from ``address`` (any 127.x is this machine)."""
    return httpx.Client(base_url=base_url, transport=httpx.HTTPTransport(local_address=address), timeout=30)


def forged(i: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.{i}", "X-Real-IP": f"198.51.100.{i}", "Forwarded": f"for=192.0.2.{i}"}


def failed_login(http: httpx.Client, email: str, headers: dict[str, str]) -> int:
    body = {"email": email, "password": "wrong-password"}
    return http.post("/api/auth/login", json=body, headers=headers).status_code


def audited_addresses(store_dsn: str, emails: list[str]) -> list[str]:
    """The client_ip of every login audit row of these (unknown) accounts, oldest first."""
    with psycopg.connect(store_dsn) as conn:
        rows = conn.execute(
            "SELECT client_ip FROM audit_events WHERE action = 'login' AND actor_email = ANY(%s) ORDER BY id",
            (emails,),
        ).fetchall()
    return [row[0] for row in rows]


def unknown_emails(count: int) -> list[str]:
    # One account each: only the per-address limit can stop these logins.
    run = uuid.uuid4().hex[:8]
    return [f"nobody-{run}-{i}@example.com" for i in range(count)]


@dataclass
class Stack:
    backend: str
    nginx: str


@pytest.fixture
def stack(settings_factory: Callable[..., Settings], store_dsn: str, tmp_path: Path) -> Iterator[Stack]:
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM rate_events")
    root, _ = web_root(tmp_path)
    settings = settings_factory(
        frontend_dir=root,
        security=SecuritySettings(
            rate_login_failures=LOGIN_LIMIT, rate_signups_per_hour=1_000_000, rate_questions_per_minute=1_000_000
        ),
        proxy=ProxySettings(trusted_proxies=["127.0.0.1"]),
    )
    backend = ServerThread(create_app(settings), free_port()).start()
    try:
        port = free_port()
        upstream = f"127.0.0.1:{backend.port}"
        main = render(tmp_path / "nginx", "http.conf", upstream=upstream, web_root=root, http_port=port)
        with RunningNginx(main, [port]):
            yield Stack(backend=backend.url, nginx=f"http://127.0.0.1:{port}")
    finally:
        backend.stop()


def test_a_forged_forwarded_for_changes_neither_the_login_limit_nor_the_audit_trail(
    stack: Stack, store_dsn: str
) -> None:
    emails = unknown_emails(LOGIN_LIMIT + 2)
    with client_at(REAL_CLIENT, stack.nginx) as http:
        statuses = [failed_login(http, email, forged(i)) for i, email in enumerate(emails)]
    assert statuses == [401] * LOGIN_LIMIT + [429] * 2
    assert audited_addresses(store_dsn, emails) == [REAL_CLIENT] * len(emails)


def test_the_backend_believes_forwarded_headers_from_its_proxy_only(stack: Stack, store_dsn: str) -> None:
    direct, via_nginx = unknown_emails(2)
    # Straight to the backend from an untrusted peer: the header is the client's own word.
    with client_at(REAL_CLIENT, stack.backend) as http:
        assert failed_login(http, direct, forged(1)) == 401
    # Through nginx the backend's peer is 127.0.0.1, trusted: it names the real client.
    with client_at("127.0.0.3", stack.nginx) as http:
        assert failed_login(http, via_nginx, forged(2)) == 401
    assert audited_addresses(store_dsn, [direct]) == [REAL_CLIENT]
    assert audited_addresses(store_dsn, [via_nginx]) == ["127.0.0.3"]


class _EchoHeaders(BaseHTTPRequestHandler):
    """Answers every request with the headers it received, as JSON lists per lower-case name."""

    def do_GET(self) -> None:
        received: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            received.setdefault(name.lower(), []).append(value)
        body = json.dumps(received).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def test_nginx_overwrites_what_the_client_wrote_in_forwarded_headers(tmp_path: Path) -> None:
    upstream = ThreadingHTTPServer(("127.0.0.1", free_port()), _EchoHeaders)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        port = free_port()
        main = render(tmp_path, "http.conf", upstream=f"127.0.0.1:{upstream.server_port}", http_port=port)
        with RunningNginx(main, [port]), client_at(REAL_CLIENT, f"http://127.0.0.1:{port}") as http:
            received = http.get("/api/echo", headers={**forged(7), "X-Forwarded-Proto": "https"}).json()
    finally:
        upstream.shutdown()
        upstream.server_close()
    assert received["x-forwarded-for"] == [REAL_CLIENT]
    assert received["x-real-ip"] == [REAL_CLIENT]
    assert received["x-forwarded-proto"] == ["http"]


def test_make_run_believes_no_forwarded_header_even_from_this_machine(
    store_url: str, store_dsn: str, embedding_server: ServerThread, tmp_path: Path
) -> None:
    """scripts/run.py's own uvicorn command line, with no TRUSTED_PROXIES: a laptop user at
    127.0.0.1 (the address uvicorn trusts by default) cannot pick the address they are limited by."""
    import run  # scripts/run.py, on sys.path since tests/conftest.py

    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM rate_events")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("TRUSTED_PROXIES", "FORWARDED_ALLOW_IPS")},
        "DATABASE_URL": store_url, "MIGRATE_ON_START": "false", "EMBEDDING_URL": embedding_server.url,
        "JWT_SECRET": TEST_JWT_SECRET, "SEXTANT_DATA_DIR": str(tmp_path), "FRONTEND_DIR": str(tmp_path / "none"),
        "RATE_LOGIN_FAILURES": str(LOGIN_LIMIT), "PYTHONPATH": str(ROOT),
    }  # fmt: skip
    backend = run._spawn("backend.main:create_app", "127.0.0.1", port, env)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert backend.poll() is None, "the backend exited"
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the backend did not start"
                time.sleep(0.2)
        emails = unknown_emails(LOGIN_LIMIT + 1)
        with client_at("127.0.0.1", f"http://127.0.0.1:{port}") as http:
            statuses = [failed_login(http, email, forged(i)) for i, email in enumerate(emails)]
    finally:
        backend.terminate()
        try:
            backend.wait(timeout=20)
        except subprocess.TimeoutExpired:
            backend.kill()
    assert statuses == [401] * LOGIN_LIMIT + [429]
    assert audited_addresses(store_dsn, emails) == ["127.0.0.1"] * len(emails)
