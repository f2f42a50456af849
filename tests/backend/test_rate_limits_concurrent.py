"""Limits under concurrent fire: requests in flight together cannot slip past the count.

Each test runs a real uvicorn server and sends 40 requests at once from 40 threads.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest

from backend.components import security
from backend.components.security import PasswordHasher
from backend.config import ConnectionPolicySettings, SecuritySettings, Settings
from backend.main import create_app
from tests.conftest import ServerThread, free_port
from tests.fake_ollama import OllamaScript

BURST = 40
LIMIT = 5


@pytest.fixture
def serve(settings_factory: Callable[..., Settings], store_dsn: str) -> Iterator[Callable[..., str]]:
    """Starts a real server with the given settings overrides on a store with no rate events yet."""
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM rate_events")
    servers: list[ServerThread] = []

    def start(**overrides: Any) -> str:
        servers.append(ServerThread(create_app(settings_factory(**overrides)), free_port()).start())
        return servers[-1].url

    yield start
    for server in servers:
        server.stop()


def _burst(send: Callable[[httpx.Client, int], httpx.Response]) -> Counter[int]:
    """Status codes of ``BURST`` requests sent at the same time, one client each."""

    def one(i: int) -> int:
        with httpx.Client(timeout=120) as client:
            return send(client, i).status_code

    with ThreadPoolExecutor(BURST) as pool:
        return Counter(pool.map(one, range(BURST)))


def _user(base: str, password: str = "the-real-password") -> tuple[str, dict[str, str]]:
    email = f"u-{uuid.uuid4().hex[:8]}@example.com"
    assert httpx.post(f"{base}/api/auth/register", json={"email": email, "password": password}).status_code == 201
    token = httpx.post(f"{base}/api/auth/login", json={"email": email, "password": password}).json()["access_token"]
    return email, {"Authorization": f"Bearer {token}"}


def test_forty_wrong_passwords_at_once_reach_bcrypt_five_times(
    serve: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = serve(security=SecuritySettings(rate_login_failures=LIMIT, rate_signups_per_hour=100))
    email, _ = _user(base)
    checked: list[str] = []
    verify = PasswordHasher.verify

    async def counting(self: PasswordHasher, password: str, password_hash: str) -> bool:
        checked.append(password)
        return await verify(self, password, password_hash)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    codes = _burst(lambda c, i: c.post(f"{base}/api/auth/login", json={"email": email, "password": f"guess-{i}"}))
    assert codes == {401: LIMIT, 429: BURST - LIMIT}
    assert len(checked) == LIMIT
    # The account stays locked for the window, even for its real password.
    real = httpx.post(f"{base}/api/auth/login", json={"email": email, "password": "the-real-password"})
    assert real.status_code == 429


def test_colleagues_behind_one_address_all_get_in(serve: Callable[..., str]) -> None:
    """Logins in flight are not failures yet: eight right passwords at once from one address
    (an office behind NAT), with a limit of 5 failures and one hashing thread, all succeed."""
    base = serve(
        security=SecuritySettings(rate_login_failures=LIMIT, rate_signups_per_hour=100, password_hash_workers=1)
    )
    emails = [_user(base)[0] for _ in range(8)]
    with ThreadPoolExecutor(len(emails)) as pool:
        codes = Counter(
            pool.map(
                lambda e: (
                    httpx.post(
                        f"{base}/api/auth/login", json={"email": e, "password": "the-real-password"}, timeout=60
                    ).status_code
                ),
                emails,
            )
        )
    assert codes == {200: 8}


def test_password_checks_run_off_the_event_loop_a_few_at_a_time(
    serve: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """bcrypt runs on the hasher's threads, never more at once than it has threads."""
    base = serve(security=SecuritySettings(password_hash_workers=2, rate_login_failures=1000))
    email, _ = _user(base)
    threads: list[str] = []
    running, most = [0], [0]
    lock = threading.Lock()
    real = security.verify_password

    def watched(password: str, password_hash: str) -> bool:
        with lock:
            threads.append(threading.current_thread().name)
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.05)  # like bcrypt, sleeping releases the GIL
            return real(password, password_hash)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(security, "verify_password", watched)
    codes = _burst(
        lambda c, i: c.post(f"{base}/api/auth/login", json={"email": email, "password": "the-real-password"})
    )
    assert codes == {200: BURST}
    assert len(threads) == BURST and all(name.startswith("bcrypt") for name in threads), set(threads)
    assert most[0] == 2


def test_forty_sign_ups_at_once_from_one_address(serve: Callable[..., str], store_dsn: str) -> None:
    base = serve(security=SecuritySettings(rate_signups_per_hour=LIMIT))
    since = datetime.now(UTC)
    codes = _burst(
        lambda c, i: c.post(
            f"{base}/api/auth/register",
            json={"email": f"s{i}-{uuid.uuid4().hex[:6]}@example.com", "password": "pw-long-1"},
        )
    )
    assert codes == {201: LIMIT, 429: BURST - LIMIT}
    with psycopg.connect(store_dsn) as conn:
        audited = conn.execute(
            "SELECT success, details->>'reason', count(*) FROM audit_events "
            "WHERE action = 'signup' AND at >= %s GROUP BY 1, 2",
            (since,),
        ).fetchall()
    assert sorted(audited) == [(False, "rate limited", BURST - LIMIT), (True, None, LIMIT)]


def test_forty_questions_at_once(serve: Callable[..., str], sakila_url: str, ollama: OllamaScript) -> None:
    base = serve(security=SecuritySettings(rate_questions_per_minute=LIMIT))
    _, headers = _user(base)
    created = httpx.post(
        f"{base}/api/connections",
        json={"name": "sakila", "kind": "postgres", "url": sakila_url},
        headers=headers,
        timeout=60,
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    deadline = time.monotonic() + 120
    while httpx.get(f"{base}/api/connections/{cid}/sync", headers=headers).json()["status"] != "succeeded":
        assert time.monotonic() < deadline, "the index did not finish"
        time.sleep(0.2)
    before = len(ollama.chat_requests())
    codes = _burst(
        lambda c, i: c.post(f"{base}/api/query", json={"connection_id": cid, "question": f"q{i}?"}, headers=headers)
    )
    assert codes == {200: LIMIT, 429: BURST - LIMIT}
    # Refused questions never reach the model: each granted one costs at most two chats.
    assert len(ollama.chat_requests()) - before <= 2 * LIMIT


def test_forty_connection_tests_at_once(serve: Callable[..., str], sakila_url: str) -> None:
    base = serve(connections=ConnectionPolicySettings(rate_connection_tests_per_minute=LIMIT))
    _, headers = _user(base)
    codes = _burst(
        lambda c, i: c.post(
            f"{base}/api/connections/test", json={"kind": "postgres", "url": sakila_url}, headers=headers
        )
    )
    assert codes == {200: LIMIT, 429: BURST - LIMIT}
