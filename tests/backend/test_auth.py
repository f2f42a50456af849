from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import jwt
from fastapi.testclient import TestClient

from backend.components.security import TokenIssuer
from backend.config import AuthSettings, Settings
from backend.main import create_app
from tests.conftest import TEST_JWT_SECRET, register_and_login


def _email() -> str:
    return f"a-{uuid.uuid4().hex[:8]}@example.com"


def test_register_login_me(client: TestClient) -> None:
    email = _email()
    created = client.post("/api/auth/register", json={"email": email, "password": "s3cret-pass"})
    assert created.status_code == 201
    assert created.json()["email"] == email
    assert created.json()["role"] in ("admin", "user")
    login = client.post("/api/auth/login", json={"email": email.upper(), "password": "s3cret-pass"})
    assert login.status_code == 200
    body = login.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() == created.json()


def test_first_user_is_admin_and_later_ones_are_not(client: TestClient, store_dsn: str) -> None:
    import psycopg

    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE users CASCADE")
        # Closed sign-up never locks out the first user: the login page still offers it.
        conn.execute(
            "INSERT INTO app_settings (key, value) VALUES ('allow_signup', 'false'::jsonb)"
            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
        )
    assert client.get("/api/auth/signup").json() == {"open": True}
    first = client.post("/api/auth/register", json={"email": _email(), "password": "first-pass-1"})
    second = client.post("/api/auth/register", json={"email": _email(), "password": "second-pass-2"})
    assert first.json()["role"] == "admin"
    assert second.status_code == 403 and client.get("/api/auth/signup").json() == {"open": False}
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM app_settings WHERE key = 'allow_signup'")
    second = client.post("/api/auth/register", json={"email": _email(), "password": "second-pass-2"})
    assert second.json()["role"] == "user"


def test_duplicate_email_is_409(client: TestClient) -> None:
    email = _email()
    assert client.post("/api/auth/register", json={"email": email, "password": "first-pass-1"}).status_code == 201
    again = client.post("/api/auth/register", json={"email": email, "password": "second-pass-2"})
    assert again.status_code == 409
    assert "already registered" in again.json()["detail"]


def test_bad_registration_input_is_4xx(client: TestClient) -> None:
    short = client.post("/api/auth/register", json={"email": _email(), "password": "short"})
    assert short.status_code == 400
    not_email = client.post("/api/auth/register", json={"email": "nobody", "password": "long enough"})
    assert not_email.status_code == 422
    assert isinstance(not_email.json()["detail"], str)


def test_wrong_password_and_unknown_email_are_the_same_401(client: TestClient) -> None:
    email = _email()
    client.post("/api/auth/register", json={"email": email, "password": "right-password"})
    wrong = client.post("/api/auth/login", json={"email": email, "password": "wrong-password"})
    unknown = client.post("/api/auth/login", json={"email": _email(), "password": "right-password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "Wrong email or password"}


def test_expired_forged_and_missing_tokens_are_rejected(client: TestClient) -> None:
    headers = register_and_login(client)
    user_id = uuid.UUID(client.get("/api/auth/me", headers=headers).json()["id"])
    expired = TokenIssuer(TEST_JWT_SECRET, "HS256", timedelta(seconds=-10)).issue(user_id)
    forged = TokenIssuer("another-secret-" + "y" * 32, "HS256", timedelta(minutes=5)).issue(user_id)
    unsigned = jwt.encode({"sub": str(user_id), "exp": 9_999_999_999, "typ": "access"}, key="", algorithm="none")
    for token, reason in ((expired, "Token expired"), (forged, "Invalid token"), (unsigned, "Invalid token")):
        response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["detail"] == reason
    assert client.get("/api/auth/me").status_code == 401
    assert client.get("/api/auth/me", headers={"Authorization": "Bearer garbage"}).status_code == 401


def test_token_of_a_deleted_user_stops_working(client: TestClient, store_dsn: str) -> None:
    import psycopg

    headers = register_and_login(client)
    user_id = client.get("/api/auth/me", headers=headers).json()["id"]
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM users WHERE id = %s", (user_id,))
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_closed_signup_refuses_later_users(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(auth=AuthSettings(jwt_secret=TEST_JWT_SECRET, allow_signup=False))
    with TestClient(create_app(settings)) as client:
        client.post("/api/auth/register", json={"email": _email(), "password": "first-pass-1"})
        refused = client.post("/api/auth/register", json={"email": _email(), "password": "second-pass-2"})
    assert refused.status_code == 403


def test_change_password(client: TestClient) -> None:
    email = _email()
    client.post("/api/auth/register", json={"email": email, "password": "first-password"})
    token = client.post("/api/auth/login", json={"email": email, "password": "first-password"}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    wrong = client.post(
        "/api/auth/password", json={"current_password": "nope", "new_password": "second-password"}, headers=headers
    )
    assert wrong.status_code == 400 and wrong.json()["detail"] == "The current password is wrong"
    short = client.post(
        "/api/auth/password", json={"current_password": "first-password", "new_password": "x"}, headers=headers
    )
    assert short.status_code == 400
    ok = client.post(
        "/api/auth/password",
        json={"current_password": "first-password", "new_password": "second-password"},
        headers=headers,
    )
    assert ok.status_code == 204
    assert client.post("/api/auth/login", json={"email": email, "password": "first-password"}).status_code == 401
    assert client.post("/api/auth/login", json={"email": email, "password": "second-password"}).status_code == 200


def test_common_and_short_passwords_are_refused(client: TestClient) -> None:
    for password in ("password123", "Sunshine", "12345678", "QWERTY123"):
        response = client.post("/api/auth/register", json={"email": _email(), "password": password})
        assert response.status_code == 400 and "too common" in response.json()["detail"], password
    assert client.post("/api/auth/register", json={"email": _email(), "password": "short"}).status_code == 400


def test_logout_and_password_change_end_every_session(client: TestClient) -> None:
    email = _email()
    client.post("/api/auth/register", json={"email": email, "password": "first-password"})

    def token(password: str) -> dict[str, str]:
        body = client.post("/api/auth/login", json={"email": email, "password": password}).json()
        return {"Authorization": f"Bearer {body['access_token']}"}

    laptop, phone = token("first-password"), token("first-password")
    assert client.post("/api/auth/logout", headers=laptop).status_code == 204
    assert client.get("/api/auth/me", headers=laptop).status_code == 401
    assert client.get("/api/auth/me", headers=phone).status_code == 401
    fresh = token("first-password")
    assert client.get("/api/auth/me", headers=fresh).status_code == 200
    client.post(
        "/api/auth/password",
        json={"current_password": "first-password", "new_password": "second-password"},
        headers=fresh,
    )
    assert client.get("/api/auth/me", headers=fresh).status_code == 401
    assert client.get("/api/auth/me", headers=token("second-password")).status_code == 200
