"""Rate limits, counted in the store so that several backend replicas agree."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from backend.config import SecuritySettings, Settings
from backend.main import create_app
from tests.conftest import connect, register_and_login
from tests.fake_ollama import OllamaScript


@pytest.fixture
def limited(settings_factory: Callable[..., Settings], store_dsn: str) -> Iterator[Callable[..., TestClient]]:
    """Builds apps with the real default limits on a store with no rate events yet."""
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM rate_events")
    opened: list[TestClient] = []

    def make(**security: Any) -> TestClient:
        client = TestClient(create_app(settings_factory(security=SecuritySettings(**security))))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def test_six_wrong_passwords_in_a_minute_get_429(limited: Callable[..., TestClient]) -> None:
    client = limited()
    email = f"victim-{uuid.uuid4().hex[:6]}@example.com"
    register_and_login(client, email=email, password="the-real-password")
    statuses = [
        client.post("/api/auth/login", json={"email": email, "password": f"guess-{i}"}).status_code for i in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    blocked = client.post("/api/auth/login", json={"email": email, "password": "the-real-password"})
    assert blocked.status_code == 429 and 1 <= int(blocked.headers["Retry-After"]) <= 60
    # The person is told the same number of seconds the header carries, not "wait a moment".
    seconds = int(blocked.headers["Retry-After"])
    unit = "second" if seconds == 1 else "seconds"
    assert blocked.json()["detail"] == f"Too many failed logins; try again in {seconds} {unit}"


def test_the_limit_holds_across_replicas_and_per_address(limited: Callable[..., TestClient]) -> None:
    replica_a, replica_b = limited(), limited()
    for i in range(5):
        # Five different unknown accounts from one address, spread over two replicas.
        target = replica_a if i % 2 else replica_b
        assert (
            target.post("/api/auth/login", json={"email": f"x{i}@example.com", "password": "nope-nope"}).status_code
            == 401
        )
    assert (
        replica_a.post("/api/auth/login", json={"email": "y@example.com", "password": "nope-nope"}).status_code == 429
    )


def test_questions_per_user_per_minute(
    limited: Callable[..., TestClient], sakila_url: str, ollama: OllamaScript
) -> None:
    client = limited(rate_questions_per_minute=2)
    headers = register_and_login(client)
    cid = connect(client, headers, sakila_url)["id"]
    codes = [
        client.post("/api/query", json={"connection_id": cid, "question": "films?"}, headers=headers).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    other = register_and_login(client)
    assert client.post("/api/query", json={"connection_id": cid, "question": "x"}, headers=other).status_code == 404


def test_sign_ups_per_address(limited: Callable[..., TestClient]) -> None:
    client = limited(rate_signups_per_hour=2)
    codes = [
        client.post(
            "/api/auth/register", json={"email": f"s{i}-{uuid.uuid4().hex[:4]}@example.com", "password": "long-pass-1"}
        ).status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]
