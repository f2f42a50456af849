"""No email address or phone number from Sakila's samples reaches the store's chunks or a prompt,
while the rows a query returns still show them."""

from __future__ import annotations

import re
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from tests.conftest import register_and_login, wait_for_sync
from tests.fake_ollama import OllamaScript

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def _sakila_personal_values(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT email FROM customer WHERE email IS NOT NULL UNION SELECT email FROM staff WHERE email IS NOT NULL"
            " UNION SELECT phone FROM address WHERE trim(phone) <> ''"
        ).fetchall()
    return {r[0] for r in rows}


def _connect(client: TestClient, headers: dict[str, str], url: str, mask: bool) -> str:
    body = {"name": f"sakila-{mask}", "kind": "postgres", "url": url, "options": {"mask_pii": mask}}
    response = client.post("/api/connections", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert wait_for_sync(client, headers, response.json()["id"])["status"] == "succeeded"
    return str(response.json()["id"])


def _stored_text(store_dsn: str, cid: str) -> str:
    with psycopg.connect(store_dsn) as conn:
        chunks = conn.execute("SELECT string_agg(text, ' ') FROM chunks WHERE connection_id = %s", (cid,)).fetchone()
        snapshot = conn.execute("SELECT schema_snapshot::text FROM connections WHERE id = %s", (cid,)).fetchone()
    assert chunks is not None and snapshot is not None
    return f"{chunks[0]}\n{snapshot[0]}"


def test_personal_data_is_masked_everywhere_but_in_results(
    client: TestClient, sakila_url: str, store_dsn: str, ollama: OllamaScript
) -> None:
    personal = _sakila_personal_values(sakila_url)
    assert len(personal) >= 600  # 599 customer and 2 staff emails; this Sakila has blank phone numbers
    headers = register_and_login(client)
    cid = _connect(client, headers, sakila_url, mask=True)
    stored = _stored_text(store_dsn, cid)
    assert not EMAIL.search(stored)
    assert not [v for v in personal if v in stored]
    assert "<email>" in stored and "<phone>" in stored

    ollama.reply_sql("SELECT first_name, email FROM customer ORDER BY customer_id LIMIT 3")
    body: dict[str, Any] = client.post(
        "/api/query", json={"connection_id": cid, "question": "emails of the first customers"}, headers=headers
    ).json()
    assert body["rows"][0] == ["MARY", "MARY.SMITH@sakilacustomer.org"]
    prompts = " ".join(m["content"] for r in ollama.chat_requests(streaming=False) for m in r["messages"])
    assert not [v for v in personal if v in prompts] and not EMAIL.search(prompts)
    schema = client.get(f"/api/connections/{cid}/schema", headers=headers).json()
    customer = next(o for o in schema["objects"] if o["name"] == "customer")
    assert {c["name"]: c["pii"] for c in customer["columns"]}["email"] == "email"


def test_masking_off_keeps_the_samples(client: TestClient, sakila_url: str, store_dsn: str) -> None:
    headers = register_and_login(client)
    cid = _connect(client, headers, sakila_url, mask=False)
    assert EMAIL.search(_stored_text(store_dsn, cid))
