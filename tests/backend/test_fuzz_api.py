"""Schemathesis against the OpenAPI schema, as a logged-in admin: no input makes a server error.

Left out on purpose: creating and testing connections (random URLs would make the backend
connect to random hosts), and logout / password change (they end the session the fuzzing uses).
Schemathesis' pytest plugin does not run under pytest 9, so its strategies drive Hypothesis here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr

from backend.config import AuthSettings, DatabaseSettings, EmbeddingSettings, LLMSettings, SecuritySettings, Settings
from backend.main import create_app
from tests.conftest import TEST_JWT_SECRET, ServerThread, free_port

EXAMPLES_PER_OPERATION = 20
UNLIMITED = SecuritySettings(rate_login_failures=10**6, rate_signups_per_hour=10**6, rate_questions_per_minute=10**6)


@pytest.fixture(scope="module")
def live_api(
    store_url: str,
    store_dsn: str,
    sakila_url: str,
    embedding_server: ServerThread,
    ollama_server: ServerThread,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    settings_ = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz"),
        database=DatabaseSettings(database_url=SecretStr(store_url)),
        auth=AuthSettings(jwt_secret=SecretStr(TEST_JWT_SECRET)),
        embedding=EmbeddingSettings(embedding_url=embedding_server.url),
        llm=LLMSettings(ollama_url=ollama_server.url, llm_timeout_s=10),
        security=UNLIMITED,
    )
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE users CASCADE")
    server = ServerThread(create_app(settings_), free_port()).start()
    with httpx.Client(base_url=server.url, timeout=60) as http:
        creds = {"email": "fuzz-admin@example.com", "password": "fuzzing-password"}
        http.post("/api/auth/register", json=creds).raise_for_status()
        headers = {"Authorization": f"Bearer {http.post('/api/auth/login', json=creds).json()['access_token']}"}
        body = {"name": "s", "kind": "postgres", "url": sakila_url}
        cid = http.post("/api/connections", json=body, headers=headers).json()["id"]
        while http.get(f"/api/connections/{cid}/sync", headers=headers).json()["status"] not in ("succeeded", "failed"):
            pass
    yield {"url": server.url, "headers": headers}
    server.stop()
    # The fuzzer may have closed sign-up; later tests expect the configured default.
    with psycopg.connect(store_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM app_settings")


def test_no_server_errors(live_api: dict[str, Any]) -> None:
    schema = (
        schemathesis.openapi.from_url(f"{live_api['url']}/openapi.json")
        .exclude(path_regex=r"^/api/connections(/test)?$", method="POST")
        .exclude(path="/api/auth/logout")
        .exclude(path="/api/auth/password")
    )
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert {"/api/query", "/api/history", "/api/admin/users", "/api/audit"} <= {op.path for op in operations}
    server_errors: list[str] = []
    calls = 0
    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call(base_url=live_api["url"], headers=live_api["headers"], timeout=60)
            if response.status_code >= 500:
                server_errors.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}"
                )

        run()
    assert calls >= 10 * len(operations)
    assert server_errors == []
