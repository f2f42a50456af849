"""The same scenarios against both LLM providers: Ollama's API (the default) and an
OpenAI-compatible server (``LLM_PROVIDER=openai``), each reached through its official client
and scripted by one ``OllamaScript``: an answer, a stream, the model list, an unreachable server,
an unknown model, a timeout mid-stream; and what only OpenAI-compatible servers differ in (a
server without JSON-schema output, a server that wants a key)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from backend.config import LLMSettings, Settings
from backend.main import create_app
from tests.conftest import ServerThread, _ScriptHolder, connect, free_port, register_and_login
from tests.fake_ollama import OllamaScript
from tests.fake_openai import create_fake_openai

COUNT = "SELECT count(*) AS films FROM film"
OPENAI_MODEL = "qwen2.5-coder:7b"


@pytest.fixture(scope="module")
def openai_servers(_ollama_holder: _ScriptHolder) -> Iterator[dict[str, ServerThread]]:
    """Three scripted OpenAI-compatible servers reading the current script: a plain one, one
    without JSON-schema output, and one that wants a key."""
    script = lambda: _ollama_holder.current  # noqa: E731
    servers = {
        "plain": ServerThread(create_fake_openai(script), free_port()).start(),
        "no_schema": ServerThread(create_fake_openai(script, json_schema=False), free_port()).start(),
        "keyed": ServerThread(create_fake_openai(script, api_key="s3cret-key"), free_port()).start(),
    }
    yield servers
    for server in servers.values():
        server.stop()


LLMFactory = Callable[..., LLMSettings]


@pytest.fixture(params=["ollama", "openai"])
def llm_for(
    request: pytest.FixtureRequest, settings_factory: Callable[..., Settings], openai_servers: dict[str, ServerThread]
) -> LLMFactory:
    """``llm_for(url=None, server="plain", **fields)``: the LLM settings of this provider."""
    provider: str = request.param

    def make(url: str | None = None, server: str = "plain", **fields: Any) -> LLMSettings:
        fields.setdefault("llm_timeout_s", 10)
        if provider == "ollama":
            return LLMSettings(ollama_url=url or settings_factory().llm.ollama_url, ollama_model="llama3.2", **fields)
        base = url or f"{openai_servers[server].url}/v1"
        return LLMSettings(llm_provider="openai", llm_base_url=base, llm_model=OPENAI_MODEL, **fields)

    return make


def _events(client: TestClient, headers: dict[str, str], cid: str, question: str) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    body = {"connection_id": cid, "question": question}
    with client.stream("POST", "/api/query/stream", json=body, headers=headers) as response:
        assert response.status_code == 200
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
    return events


def _app(settings_factory: Callable[..., Settings], llm: LLMSettings) -> TestClient:
    return TestClient(create_app(settings_factory(llm=llm)))


def test_answer_and_stream(
    settings_factory: Callable[..., Settings], llm_for: LLMFactory, sakila_url: str, ollama: OllamaScript
) -> None:
    llm = llm_for()
    ollama.reply_sql(COUNT, COUNT)
    ollama.answer = "There are 1000 films."
    with _app(settings_factory, llm) as client:
        headers = register_and_login(client)
        cid = connect(client, headers, sakila_url)["id"]
        body = client.post("/api/query", json={"connection_id": cid, "question": "films?"}, headers=headers).json()
        assert body["rows"] == [[1000]] and body["answer"] == "There are 1000 films."
        assert body["model"] == llm.default_model
        events = _events(client, headers, cid, "how many films?")
    tokens = [e["text"] for name, e in events if name == "token"]
    assert len(tokens) == 4 and "".join(tokens) == "There are 1000 films."
    assert [n for n, _ in events][-1] == "done" and events[-1][1]["result"]["rows"] == [[1000]]
    # The query step asked for the JSON shape (Ollama: format; OpenAI: response_format json_schema).
    first = ollama.chat_requests(streaming=False)[0]
    if llm.llm_provider == "openai":
        assert first["response_format"]["type"] == "json_schema"
        assert first["response_format"]["json_schema"]["schema"]["required"] == ["sql"]
        assert first["model"] == OPENAI_MODEL
    else:
        assert first["format"]["required"] == ["sql"]


def test_models_come_from_the_server(
    settings_factory: Callable[..., Settings], llm_for: LLMFactory, ollama: OllamaScript
) -> None:
    llm = llm_for()
    with _app(settings_factory, llm) as client:
        headers = register_and_login(client)
        body = client.get("/api/models", headers=headers).json()
        assert body["default"] == llm.default_model
        assert [m["name"] for m in body["models"]] == ["llama3.2:latest", "qwen2.5-coder:7b"]
        assert client.get("/api/settings", headers=headers).json()["model"] == llm.default_model


def test_unreachable_server_still_returns_sources(
    settings_factory: Callable[..., Settings], llm_for: LLMFactory, sakila_url: str, ollama: OllamaScript
) -> None:
    suffix = "/v1" if llm_for().llm_provider == "openai" else ""
    llm = llm_for(url=f"http://127.0.0.1:{free_port()}{suffix}")
    with _app(settings_factory, llm) as client:
        headers = register_and_login(client)
        cid = connect(client, headers, sakila_url)["id"]
        body = client.post("/api/query", json={"connection_id": cid, "question": "films per category"}, headers=headers)
        assert body.status_code == 200
        out = body.json()
        assert out["error_code"] == "llm_unavailable" and "unreachable" in out["error"]
        assert out["query"] is None and "public.film_category" in {s["object"] for s in out["sources"]}
        assert client.get("/api/models", headers=headers).status_code == 503


def test_an_unknown_model_is_named(
    settings_factory: Callable[..., Settings], llm_for: LLMFactory, sakila_url: str, ollama: OllamaScript
) -> None:
    with _app(settings_factory, llm_for()) as client:
        headers = register_and_login(client)
        cid = connect(client, headers, sakila_url)["id"]
        assert client.put("/api/settings", json={"model": "mistral"}, headers=headers).status_code == 200
        out = client.post("/api/query", json={"connection_id": cid, "question": "films?"}, headers=headers).json()
    assert out["error_code"] == "model_missing" and "mistral" in out["error"] and "not available" in out["error"]


def test_a_timeout_mid_stream_keeps_the_rows(
    settings_factory: Callable[..., Settings], llm_for: LLMFactory, sakila_url: str, ollama: OllamaScript
) -> None:
    ollama.reply_sql("SELECT count(*) FROM film")
    ollama.answer = "one two three four"
    ollama.token_delay_s = 3
    with _app(settings_factory, llm_for(llm_timeout_s=1)) as client:
        headers = register_and_login(client)
        cid = connect(client, headers, sakila_url)["id"]
        started = time.monotonic()
        events = _events(client, headers, cid, "films?")
        assert time.monotonic() - started < 10, "the request hung"
    names = [n for n, _ in events]
    assert "rows" in names and names[-2:] == ["error", "done"]
    assert events[-2][1]["code"] == "llm_timeout" and "did not answer in time" in events[-2][1]["detail"]
    assert events[-1][1]["result"]["rows"] == [[1000]]


def test_a_server_without_json_schema_is_asked_in_the_prompt(
    settings_factory: Callable[..., Settings], openai_servers: dict[str, ServerThread], sakila_url: str,
    ollama: OllamaScript,
) -> None:  # fmt: skip
    llm = LLMSettings(
        llm_provider="openai", llm_base_url=f"{openai_servers['no_schema'].url}/v1", llm_model=OPENAI_MODEL
    )
    ollama.reply_sql(COUNT, COUNT, COUNT)
    with _app(settings_factory, llm) as client:
        headers = register_and_login(client)
        cid = connect(client, headers, sakila_url)["id"]
        for question in ("films?", "how many films?"):
            out = client.post("/api/query", json={"connection_id": cid, "question": question}, headers=headers)
            assert out.json()["rows"] == [[1000]], out.text
        # Another model on the same server is still asked with the schema first: the fallback is per model.
        assert client.put("/api/settings", json={"model": "llama3.2:latest"}, headers=headers).status_code == 200
        out = client.post("/api/query", json={"connection_id": cid, "question": "films again?"}, headers=headers)
        assert out.json()["rows"] == [[1000]], out.text
    sent = ollama.chat_requests(streaming=False)
    # Refused once with the schema, then plain JSON prompting for the retry and every later question.
    assert ["response_format" in r for r in sent] == [True, False, False, True, False]
    assert 'Answer with JSON: {"sql"' in sent[-1]["messages"][0]["content"]


def test_a_server_that_wants_a_key(
    settings_factory: Callable[..., Settings], openai_servers: dict[str, ServerThread], sakila_url: str,
    ollama: OllamaScript,
) -> None:  # fmt: skip
    base = f"{openai_servers['keyed'].url}/v1"
    ollama.reply_sql(COUNT)
    keyed = LLMSettings(
        llm_provider="openai", llm_base_url=base, llm_model=OPENAI_MODEL, llm_api_key=SecretStr("s3cret-key")
    )
    with _app(settings_factory, keyed) as client:
        headers = register_and_login(client)
        cid = connect(client, headers, sakila_url)["id"]
        out = client.post("/api/query", json={"connection_id": cid, "question": "films?"}, headers=headers).json()
        assert out["rows"] == [[1000]]
    keyless = LLMSettings(llm_provider="openai", llm_base_url=base, llm_model=OPENAI_MODEL)
    with _app(settings_factory, keyless) as client:
        headers = register_and_login(client)
        cid = connect(client, headers, sakila_url)["id"]
        out = client.post("/api/query", json={"connection_id": cid, "question": "films?"}, headers=headers).json()
        assert out["error_code"] == "llm_unavailable" and "API key" in out["error"]
        assert "s3cret" not in json.dumps(out)


def test_openai_provider_settings_need_a_server_and_a_model() -> None:
    with pytest.raises(ValidationError, match="LLM_BASE_URL"):
        LLMSettings(llm_provider="openai", llm_model="m")
    with pytest.raises(ValidationError, match="LLM_MODEL"):
        LLMSettings(llm_provider="openai", llm_base_url="http://gpu:8000/v1")
    env = Settings.from_environment(
        env_file=None,
        environ={"LLM_PROVIDER": "openai", "LLM_BASE_URL": "http://gpu:8000/v1", "LLM_MODEL": "m", "LLM_API_KEY": "k"},
    )
    assert env.llm.server_url == "http://gpu:8000/v1" and env.llm.default_model == "m"
