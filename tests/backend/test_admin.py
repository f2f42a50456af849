"""Roles: admins manage users, sign-up and see every connection (never its URL); users get 403."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import connect, register_and_login

ADMIN_ROUTES = [
    ("GET", "/api/admin/users", None),
    ("PATCH", f"/api/admin/users/{uuid.uuid4()}", {"role": "admin"}),
    ("GET", "/api/admin/settings", None),
    ("PUT", "/api/admin/settings", {"allow_signup": False}),
    ("GET", "/api/admin/connections", None),
    ("GET", "/api/audit", None),
]


@pytest.fixture
def team(client: TestClient, store_dsn: str) -> dict[str, Any]:
    """A fresh store of users: the first one registered is the admin."""
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE users CASCADE")
        conn.execute("DELETE FROM app_settings")
    admin = register_and_login(client, email=f"admin-{uuid.uuid4().hex[:6]}@example.com")
    user_email = f"user-{uuid.uuid4().hex[:6]}@example.com"
    user = register_and_login(client, email=user_email)
    user_id = client.get("/api/auth/me", headers=user).json()["id"]
    return {"admin": admin, "user": user, "user_email": user_email, "user_id": user_id}


def test_a_user_gets_403_on_every_admin_route(client: TestClient, team: dict[str, Any]) -> None:
    for method, path, body in ADMIN_ROUTES:
        response = client.request(method, path, headers=team["user"], json=body)
        assert response.status_code == 403, (method, path)
        assert response.json() == {"detail": "Administrators only"}
    assert client.get("/api/admin/users").status_code == 401


def test_disabling_a_user_stops_their_token_at_once(client: TestClient, team: dict[str, Any]) -> None:
    admin, user = team["admin"], team["user"]
    users = client.get("/api/admin/users", headers=admin).json()
    assert [u["role"] for u in users] == ["admin", "user"]
    disabled = client.patch(f"/api/admin/users/{team['user_id']}", json={"disabled": True}, headers=admin)
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    refused = client.get("/api/auth/me", headers=user)
    assert refused.status_code == 401 and refused.json()["detail"] == "This account is disabled"
    login = client.post("/api/auth/login", json={"email": team["user_email"], "password": "correct horse"})
    assert login.status_code == 403 and "disabled" in login.json()["detail"]
    client.patch(f"/api/admin/users/{team['user_id']}", json={"disabled": False}, headers=admin)
    # Re-enabling does not revive the tokens issued before: disabling ended them.
    revived = client.get("/api/auth/me", headers=user)
    assert revived.status_code == 401 and "session has ended" in revived.json()["detail"]
    again = client.post("/api/auth/login", json={"email": team["user_email"], "password": "correct horse"})
    assert again.status_code == 200
    fresh = {"Authorization": f"Bearer {again.json()['access_token']}"}
    assert client.get("/api/auth/me", headers=fresh).status_code == 200


def test_roles_change_and_the_last_admin_stays(client: TestClient, team: dict[str, Any]) -> None:
    admin, user = team["admin"], team["user"]
    admin_id = client.get("/api/auth/me", headers=admin).json()["id"]
    refused = client.patch(f"/api/admin/users/{admin_id}", json={"role": "user"}, headers=admin)
    assert refused.status_code == 409
    promoted = client.patch(f"/api/admin/users/{team['user_id']}", json={"role": "admin"}, headers=admin)
    assert promoted.json()["role"] == "admin"
    assert client.get("/api/admin/users", headers=user).status_code == 200
    assert client.patch(f"/api/admin/users/{admin_id}", json={"role": "user"}, headers=user).status_code == 200
    assert client.get("/api/admin/users", headers=admin).status_code == 403
    assert client.patch(f"/api/admin/users/{uuid.uuid4()}", json={"disabled": True}, headers=user).status_code == 404
    assert client.patch(f"/api/admin/users/{admin_id}", json={"role": "owner"}, headers=user).status_code == 422


def test_sign_up_switch(client: TestClient, team: dict[str, Any]) -> None:
    admin = team["admin"]
    assert client.get("/api/auth/signup").json() == {"open": True}  # public: the login page asks
    assert client.get("/api/admin/settings", headers=admin).json() == {"allow_signup": True}
    assert client.put("/api/admin/settings", json={"allow_signup": False}, headers=admin).json() == {
        "allow_signup": False
    }
    assert client.get("/api/auth/signup").json() == {"open": False}
    closed = client.post("/api/auth/register", json={"email": "late@example.com", "password": "late-comer-1"})
    assert closed.status_code == 403
    client.put("/api/admin/settings", json={"allow_signup": True}, headers=admin)
    assert (
        client.post("/api/auth/register", json={"email": "late@example.com", "password": "late-comer-1"}).status_code
        == 201
    )


def test_admins_see_every_connection_but_never_its_url(
    client: TestClient, team: dict[str, Any], sakila_url: str
) -> None:
    secret_url = sakila_url.replace("postgres@", "postgres:s3cret-pw@")
    cid = connect(client, team["user"], secret_url, name="users-db")["id"]
    response = client.get("/api/admin/connections", headers=team["admin"])
    (item,) = response.json()
    assert item["id"] == cid and item["name"] == "users-db" and item["owner_email"] == team["user_email"]
    assert item["status"] == "succeeded" and item["object_count"] == 22
    assert "url" not in item and "s3cret" not in response.text and "5432" not in response.text
