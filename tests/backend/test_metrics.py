from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import NullPool

from backend.components.llm_client import ChatMessage, LLMUnavailableError
from backend.components.metrics import Metrics
from backend.config import EmbeddingSettings, LLMSettings, SecuritySettings, Settings
from backend.context import build_llm_client
from backend.main import create_app
from tests.conftest import connect, free_port, register_and_login, wait_for_sync
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


def test_llm_errors_are_counted_by_call_and_reason(client: TestClient, sakila_url: str, ollama: OllamaScript) -> None:
    headers = register_and_login(client)
    cid = connect(client, headers, sakila_url)["id"]
    ollama.reply_sql("SELECT count(*) FROM film")
    assert client.post("/api/query", json={"connection_id": cid, "question": "films?"}, headers=headers).is_success
    assert _value(client.get("/metrics").text, "sextant_llm_errors_total{") == 0  # every series there at 0
    ollama.status = 500
    client.post("/api/query", json={"connection_id": cid, "question": "films?"}, headers=headers)
    text = client.get("/metrics").text
    assert _value(text, 'sextant_llm_errors_total{call="generate",reason="llm_unavailable"}') == 1


def test_a_question_stream_is_timed_to_its_last_event(
    client: TestClient, sakila_url: str, ollama: OllamaScript
) -> None:
    headers = register_and_login(client)
    cid = connect(client, headers, sakila_url)["id"]
    ollama.reply_sql("SELECT count(*) FROM film")
    ollama.answer = "one two three four five six"
    ollama.token_delay_s = 0.1
    streamed = client.post("/api/query/stream", json={"connection_id": cid, "question": "films?"}, headers=headers)
    assert streamed.status_code == 200
    text = client.get("/metrics").text
    route = 'method="POST",route="/api/query/stream"'
    assert _value(text, f"sextant_http_request_seconds_count{{{route}}}") == 1
    # Six words 0.1 s apart: timed at the headers this would be a few milliseconds.
    assert _value(text, f"sextant_http_request_seconds_sum{{{route}}}") >= 0.5


def test_pool_use_and_data_dir_space_are_read_at_scrape_time(
    settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_factory()
    with TestClient(create_app(settings)) as client:
        engine: AsyncEngine = client.app.state.context.engine  # type: ignore[attr-defined]
        before = client.get("/metrics").text
        assert _value(before, "sextant_store_pool_capacity") == settings.database.pool_size + 10

        async def hold() -> AsyncConnection:
            return await engine.connect()

        held = client.portal.call(hold)  # type: ignore[union-attr]
        try:
            during = client.get("/metrics").text
        finally:
            client.portal.call(held.close)  # type: ignore[union-attr]
        after = client.get("/metrics").text
        assert _value(during, "sextant_store_pool_checked_out") == _value(before, "sextant_store_pool_checked_out") + 1
        assert _value(after, "sextant_store_pool_checked_out") == _value(before, "sextant_store_pool_checked_out")
        free = _value(after, "sextant_data_dir_free_bytes")
        usage = shutil.disk_usage(settings.data_dir)
        assert abs(free - usage.free) < 64 * 2**20 and _value(after, "sextant_data_dir_size_bytes") == usage.total


def test_data_dir_free_bytes_drop_when_the_disk_fills(tmp_path: Path) -> None:
    """On a tmpfs where nothing else writes: a 32 MB file takes 32 MB off the gauge."""
    shm = Path("/dev/shm")  # noqa: S108 - a private mkdtemp below, on a tmpfs no one else fills
    data_dir = Path(tempfile.mkdtemp(dir=shm if shm.is_dir() else tmp_path))
    try:
        metrics = Metrics()
        metrics.watch_store(NullPool(lambda: None), data_dir)  # type: ignore[arg-type]
        before = _value(metrics.render().decode(), "sextant_data_dir_free_bytes")
        (data_dir / "filler").write_bytes(b"\0" * 32 * 2**20)
        after = _value(metrics.render().decode(), "sextant_data_dir_free_bytes")
        assert before - after >= 24 * 2**20
        text = metrics.render().decode()
        assert "sextant_store_pool_checked_out" not in text  # a pool without a size has nothing to exhaust
    finally:
        shutil.rmtree(data_dir)
    gone = Metrics()
    gone.watch_store(NullPool(lambda: None), data_dir)  # type: ignore[arg-type]
    assert "sextant_data_dir_free_bytes" not in gone.render().decode()


def test_embedding_down_fails_jobs_and_reads_as_down(
    settings_factory: Callable[..., Settings], client: TestClient, sakila_url: str
) -> None:
    assert _value(client.get("/metrics").text, 'sextant_dependency_up{dependency="embedding"}') == 1
    settings = settings_factory(embedding=EmbeddingSettings(embedding_url=f"http://127.0.0.1:{free_port()}"))
    with TestClient(create_app(settings)) as down:
        headers = register_and_login(down)
        created = down.post(
            "/api/connections", json={"name": "x", "kind": "postgres", "url": sakila_url}, headers=headers
        ).json()
        assert wait_for_sync(down, headers, created["id"])["status"] == "failed"
        text = down.get("/metrics").text
        assert _value(text, 'sextant_dependency_up{dependency="embedding"}') == 0
        assert _value(text, 'sextant_index_jobs_total{status="failed"}') == 1
        assert _value(text, 'sextant_index_jobs_total{status="succeeded"}') == 0


async def test_a_probe_that_raises_reads_as_down() -> None:
    metrics = Metrics()

    async def broken() -> bool:
        raise ValueError("not JSON")

    async def fine() -> bool:
        return True

    await metrics.probe("embedding", fine)
    assert _value(metrics.render().decode(), 'sextant_dependency_up{dependency="embedding"}') == 1
    await metrics.probe("embedding", broken)
    assert _value(metrics.render().decode(), 'sextant_dependency_up{dependency="embedding"}') == 0


@pytest.mark.parametrize("provider", ["ollama", "openai"])
async def test_both_llm_clients_count_their_failures(provider: str) -> None:
    """A server that is not there: the query call and the answer's stream each count one error."""
    url = f"http://127.0.0.1:{free_port()}"
    settings = (
        LLMSettings(ollama_url=url, llm_connect_timeout_s=2)
        if provider == "ollama"
        else LLMSettings(llm_provider="openai", llm_base_url=f"{url}/v1", llm_model="m", llm_connect_timeout_s=2)
    )
    metrics = Metrics()
    client = build_llm_client(settings, metrics)
    try:
        with pytest.raises(LLMUnavailableError):
            await client.complete([ChatMessage("user", "hi")], "llama3.2", None)
        with pytest.raises(LLMUnavailableError):
            async for _ in client.stream([ChatMessage("user", "hi")], "llama3.2"):
                pass
    finally:
        await client.aclose()
    text = metrics.render().decode()
    assert _value(text, 'sextant_llm_errors_total{call="generate",reason="llm_unavailable"}') == 1
    assert _value(text, 'sextant_llm_errors_total{call="answer",reason="llm_unavailable"}') == 1
    assert _value(text, "sextant_llm_errors_total{") == 2
