"""Personal API tokens: shown once and stored hashed, scoped (``read``: connections, schema,
search; ``ask``: questions too), refused everywhere else, stopped at once by revocation, expiry
or a disabled owner, every use audited as the owner via the token, and rate-limited as the
owner."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from backend.api.token_scopes import TOKEN_SCOPES
from backend.config import SecuritySettings, Settings
from backend.main import create_app
from tests.conftest import connect, register_and_login
from tests.fake_ollama import OllamaScript


def _token(client: TestClient, headers: dict[str, str], scope: str = "ask", **extra: Any) -> dict[str, Any]:
    made = client.post("/api/tokens", json={"name": f"script {scope}", "scope": scope, **extra}, headers=headers)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def _bearer(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['token']}"}


@pytest.fixture
def owner(client: TestClient, sakila_url: str, store_dsn: str) -> dict[str, Any]:
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE users CASCADE")  # the first user registered is the admin
    admin = register_and_login(client, email=f"admin-{uuid.uuid4().hex[:6]}@example.com")
    headers = register_and_login(client, email=f"owner-{uuid.uuid4().hex[:6]}@example.com")
    return {"admin": admin, "headers": headers, "cid": connect(client, headers, sakila_url)["id"]}


def _uses(client: TestClient, admin: dict[str, str], token_id: str) -> list[dict[str, Any]]:
    page = client.get("/api/audit", params={"action": "api_token_use", "limit": 500}, headers=admin).json()
    return [e for e in page["items"] if e["target"] == f"token:{token_id}"]


def test_a_token_is_shown_once_stored_hashed_and_its_uses_audited(
    client: TestClient, owner: dict[str, Any], store_dsn: str
) -> None:
    token = _token(client, owner["headers"], "read")
    assert token["token"].startswith("sxt_") and len(token["token"]) >= 40
    assert token["prefix"] == token["token"][:12]
    listed = client.get("/api/tokens", headers=owner["headers"]).json()["items"]
    assert [t["id"] for t in listed] == [token["id"]] and "token" not in listed[0]
    with psycopg.connect(store_dsn) as conn:
        row = conn.execute("SELECT token_hash FROM api_tokens WHERE id = %s", (token["id"],)).fetchone()
        stored = conn.execute("SELECT count(*) FROM api_tokens WHERE token_hash = %s", (token["token"],)).fetchone()
    assert row is not None and row[0] == hashlib.sha256(token["token"].encode()).hexdigest()
    assert stored == (0,)
    connections = client.get("/api/connections", headers=_bearer(token))
    assert connections.status_code == 200 and [c["id"] for c in connections.json()] == [owner["cid"]]
    (use,) = _uses(client, owner["admin"], token["id"])
    assert use["actor_email"].startswith("owner-") and use["success"] is True
    assert use["details"]["route"] == "/api/connections" and use["details"]["via_token"] == token["id"]
    assert client.get("/api/tokens", headers=owner["headers"]).json()["items"][0]["last_used_at"] is not None


def test_scopes_read_and_ask(client: TestClient, owner: dict[str, Any], ollama: OllamaScript) -> None:
    cid, admin = owner["cid"], owner["admin"]
    read, ask = _token(client, owner["headers"], "read"), _token(client, owner["headers"], "ask")
    search = {"query": "film actors", "k": 3}
    assert client.post(f"/api/connections/{cid}/search", json=search, headers=_bearer(read)).status_code == 200
    assert client.get(f"/api/connections/{cid}/schema", headers=_bearer(read)).status_code == 200
    question = {"connection_id": cid, "question": "How many films?"}
    refused = client.post("/api/query", json=question, headers=_bearer(read))
    assert refused.status_code == 403 and "'read'" in refused.json()["detail"]
    ollama.reply_sql("SELECT count(*) FROM film")
    answer = client.post("/api/query", json=question, headers=_bearer(ask))
    assert answer.status_code == 200 and answer.json()["rows"] == [[1000]]
    # The query's own audit event says which token asked.
    queries = client.get("/api/audit", params={"action": "query", "limit": 50}, headers=admin).json()["items"]
    assert any(e["details"].get("via_token") == ask["id"] and "film" in e["details"]["query"] for e in queries)


# Endpoints a token must never reach, whatever its scope (a session is needed).
SESSION_ONLY = [
    ("GET", "/api/tokens", None),
    ("POST", "/api/tokens", {"name": "x", "scope": "ask"}),
    ("DELETE", f"/api/tokens/{uuid.uuid4()}", None),
    ("POST", "/api/auth/password", {"current_password": "correct horse", "new_password": "another horse 1"}),
    ("POST", "/api/auth/logout", None),
    ("PUT", "/api/settings", {"top_k": 3}),
    ("POST", "/api/connections", {"name": "x", "kind": "postgres", "url": "postgresql://postgres@127.0.0.1/x"}),
    ("DELETE", "/api/connections/{cid}", None),
    ("POST", "/api/connections/{cid}/sync", None),
    ("DELETE", f"/api/history/{uuid.uuid4()}", None),
    ("GET", "/api/admin/users", None),
    ("GET", "/api/audit", None),
]


def test_a_token_is_refused_where_a_session_is_needed(client: TestClient, owner: dict[str, Any]) -> None:
    # The admin's own ask token: scopes never reach administration either.
    token = _token(client, owner["admin"], "ask")
    for method, path, body in SESSION_ONLY:
        response = client.request(method, path.format(cid=owner["cid"]), json=body, headers=_bearer(token))
        assert response.status_code == 403, (method, path, response.text)
        assert "sign in instead" in response.json()["detail"]
    assert client.get("/api/connections", headers=owner["headers"]).json()[0]["id"] == owner["cid"], "nothing deleted"
    assert len(client.get("/api/tokens", headers=owner["admin"]).json()["items"]) == 1, "no token was made"


def test_every_scoped_endpoint_lets_an_ask_token_through(
    client: TestClient, owner: dict[str, Any], ollama: OllamaScript
) -> None:
    ask = _token(client, owner["headers"], "ask")
    cid = owner["cid"]
    ollama.reply_sql("SELECT 1", "SELECT 1")
    history_id = client.post("/api/query", json={"connection_id": cid, "question": "one"}, headers=_bearer(ask)).json()[
        "history_id"
    ]
    bodies: dict[str, Any] = {
        "/api/connections/{connection_id}/search": {"query": "films"},
        "/api/query": {"connection_id": cid, "question": "one again"},
        "/api/query/stream": {"connection_id": cid, "question": "one more"},
        "/api/query/run": {"connection_id": cid, "query": "SELECT 2"},
    }
    for (method, route), _scope in TOKEN_SCOPES.items():
        path = route.replace("{connection_id}", cid).replace("{history_id}", history_id)
        response = client.request(method, path, json=bodies.get(route), headers=_bearer(ask))
        assert response.status_code == 200, (method, route, response.status_code, response.text[:200])


def test_revoked_expired_and_disabled_stop_at_once(client: TestClient, owner: dict[str, Any], store_dsn: str) -> None:
    headers, admin = owner["headers"], owner["admin"]
    token, spare = _token(client, headers, "read"), _token(client, headers, "read", expires_in_days=30)
    assert client.get("/api/connections", headers=_bearer(token)).status_code == 200
    other = register_and_login(client)
    assert client.delete(f"/api/tokens/{token['id']}", headers=other).status_code == 404
    assert client.delete(f"/api/tokens/{token['id']}", headers=headers).status_code == 204
    revoked = client.get("/api/connections", headers=_bearer(token))
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    refused = [e for e in _uses(client, admin, token["id"]) if not e["success"]]
    assert refused and refused[0]["details"]["error"] == "This API token was revoked"

    assert client.get("/api/connections", headers=_bearer(spare)).status_code == 200
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = %s", (spare["id"],))
    expired = client.get("/api/connections", headers=_bearer(spare))
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]

    live = _token(client, headers, "read")
    me = client.get("/api/auth/me", headers=headers).json()
    assert client.patch(f"/api/admin/users/{me['id']}", json={"disabled": True}, headers=admin).status_code == 200
    disabled = client.get("/api/connections", headers=_bearer(live))
    assert disabled.status_code == 401 and "disabled" in disabled.json()["detail"]
    assert client.get("/api/connections", headers={"Authorization": "Bearer sxt_not-a-token"}).status_code == 401


def test_bad_token_requests_are_4xx_and_change_nothing(client: TestClient, owner: dict[str, Any]) -> None:
    headers = owner["headers"]
    for body in ({"name": "", "scope": "ask"}, {"name": "x", "scope": "admin"}, {"name": "x", "scope": "ask",
                 "expires_in_days": 0}, {"name": "x\x00", "scope": "read"}):  # fmt: skip
        assert client.post("/api/tokens", json=body, headers=headers).status_code == 422, body
    assert client.get("/api/tokens", headers=headers).json()["items"] == []
    assert client.get("/api/tokens").status_code == 401


def test_questions_by_token_count_against_the_owner(
    settings_factory: Callable[..., Settings], sakila_url: str, ollama: OllamaScript
) -> None:
    settings = settings_factory(
        security=SecuritySettings(rate_login_failures=1000, rate_signups_per_hour=1000, rate_questions_per_minute=2)
    )
    with TestClient(create_app(settings)) as client:
        headers = register_and_login(client)
        cid = connect(client, headers, sakila_url)["id"]
        token = _token(client, headers, "ask")
        ollama.reply_sql("SELECT 1", "SELECT 1")
        question = {"connection_id": cid, "question": "one"}
        assert client.post("/api/query", json=question, headers=_bearer(token)).status_code == 200
        assert client.post("/api/query", json=question, headers=headers).status_code == 200
        limited = client.post("/api/query", json=question, headers=_bearer(token))
        assert limited.status_code == 429


def test_a_revoked_token_in_a_loop_leaves_one_refusal_a_minute(client: TestClient, owner: dict[str, Any]) -> None:
    token = _token(client, owner["headers"], "read")
    assert client.delete(f"/api/tokens/{token['id']}", headers=owner["headers"]).status_code == 204
    for _ in range(5):
        assert client.get("/api/connections", headers=_bearer(token)).status_code == 401
    refused = [e for e in _uses(client, owner["admin"], token["id"]) if not e["success"]]
    assert len(refused) == 1


def test_expired_tokens_do_not_count_against_the_cap(client: TestClient, owner: dict[str, Any], store_dsn: str) -> None:
    headers = owner["headers"]
    for _ in range(50):
        _token(client, headers, "read", expires_in_days=1)
    assert client.post("/api/tokens", json={"name": "one more", "scope": "read"}, headers=headers).status_code == 409
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("UPDATE api_tokens SET expires_at = now() - interval '1 minute'")
    assert client.post("/api/tokens", json={"name": "one more", "scope": "read"}, headers=headers).status_code == 201
