from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from backend.config import SecuritySettings, Settings
from backend.main import create_app
from tests.conftest import connect, register_and_login
from tests.fake_ollama import OllamaScript


def _value(text: str, prefix: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    assert lines, f"no sample starting with {prefix}"
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def test_metrics_count_requests_jobs_llm_guard_and_embeddings(
    client: TestClient, sakila_url: str, ollama: OllamaScript
) -> None:
    headers = register_and_login(client)
    cid = connect(client, headers, sakila_url)["id"]
    client.get(f"/api/connections/{cid}", headers=headers)
    ollama.reply_sql("SELECT count(*) FROM film")
    client.post("/api/query", json={"connection_id": cid, "question": "films?"}, headers=headers)
    ollama.reply_sql("DELETE FROM film", "DELETE FROM film")
    client.post("/api/query", json={"connection_id": cid, "question": "delete"}, headers=headers)
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert [line for line in text.splitlines() if cid in line] == []
    assert 'route="/api/connections/{connection_id}"' in text
    assert _value(text, 'sextant_http_requests_total{method="POST",route="/api/query",status="200"}') == 2
    assert _value(text, 'sextant_index_jobs_total{status="succeeded"}') == 1
    assert _value(text, "sextant_index_job_seconds_count") == 1
    assert _value(text, 'sextant_guard_refusals_total{language="sql"}') == 2
    assert _value(text, 'sextant_llm_request_seconds_count{call="generate"}') == 3
    assert _value(text, 'sextant_llm_tokens_total{call="answer"}') > 0
    assert _value(text, "sextant_embedding_batches_total") >= 2


def test_metrics_can_be_turned_off(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(security=SecuritySettings(metrics_enabled=False))
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 404
