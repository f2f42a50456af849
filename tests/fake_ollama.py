"""A small HTTP server that speaks Ollama's API, scripted per test.

With ``tests/fake_openai.py`` (which reads the same script) it is one of the two fakes of a
real component in the suite: the backend talks to it through the official ``ollama`` client
exactly as it talks to a real Ollama. It serves
``/api/chat`` (streaming NDJSON and not), ``/api/tags`` and ``/api/show``.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

CREATED_AT = "2026-11-21T00:00:00Z"


@dataclass
class OllamaScript:
    """What the fake answers. ``queries`` feed the JSON (non-streaming) calls in order;
    ``answer`` is streamed word by word; ``handler`` may compute a reply from the request."""

    models: list[str] = field(default_factory=lambda: ["llama3.2:latest", "qwen2.5-coder:7b"])
    queries: deque[str] = field(default_factory=deque)
    default_query: str = '{"sql": "SELECT 1"}'
    answer: str = "Here is what the rows say."
    token_delay_s: float = 0.0
    handler: Callable[[dict[str, Any]], str | None] | None = None
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    # The questions suggested on an empty chat (``{"questions": [...]}`` requests). They are kept
    # apart: opening Chat must not take a scripted query nor add to ``requests``.
    suggestions: list[str] = field(default_factory=list)
    suggestion_requests: list[dict[str, Any]] = field(default_factory=list)

    def reply_sql(self, *sql: str) -> None:
        self.queries.extend(json.dumps({"sql": s}) for s in sql)

    def reply_raw(self, *text: str) -> None:
        self.queries.extend(text)

    def chat_requests(self, streaming: bool | None = None) -> list[dict[str, Any]]:
        return [r for r in self.requests if streaming is None or bool(r.get("stream")) == streaming]


def _message(model: str, content: str, done: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "created_at": CREATED_AT,
        "message": {"role": "assistant", "content": content},
        "done": done,
    }
    if done:
        body.update(done_reason="stop", total_duration=1, eval_count=len(content.split()) or 1)
    return body


def _asks_for_suggestions(body: dict[str, Any]) -> bool:
    fmt = body.get("format")
    return isinstance(fmt, dict) and "questions" in (fmt.get("properties") or {})


def create_fake_ollama(script: Callable[[], OllamaScript]) -> FastAPI:
    app = FastAPI()

    def known(model: str) -> bool:
        full = model if ":" in model else f"{model}:latest"
        return full in script().models

    @app.get("/api/tags")
    async def tags() -> dict[str, Any]:
        return {
            "models": [
                {
                    "name": m,
                    "model": m,
                    "modified_at": CREATED_AT,
                    "size": 2_000_000_000,
                    "digest": "0" * 64,
                    "details": {"family": m.split(":")[0], "parameter_size": "3B", "format": "gguf"},
                }
                for m in script().models
            ]
        }

    @app.post("/api/show")
    async def show(request: Request) -> Response:
        body = await request.json()
        if not known(body.get("model", "")):
            return JSONResponse({"error": f"model '{body.get('model')}' not found"}, status_code=404)
        return JSONResponse({"modelfile": "", "details": {"family": "llama"}, "model_info": {}, "capabilities": []})

    @app.post("/api/chat")
    async def chat(request: Request) -> Response:
        s = script()
        body = await request.json()
        model = body.get("model", "")
        if _asks_for_suggestions(body):
            s.suggestion_requests.append(body)
            if s.status != 200:
                return JSONResponse({"error": "scripted failure"}, status_code=s.status)
            return JSONResponse(_message(model, json.dumps({"questions": s.suggestions}), True))
        s.requests.append(body)
        if s.status != 200:
            return JSONResponse({"error": "scripted failure"}, status_code=s.status)
        if not known(model):
            return JSONResponse({"error": f"model '{model}' not found, try pulling it first"}, status_code=404)
        custom = s.handler(body) if s.handler else None
        if not body.get("stream", True):
            content = custom if custom is not None else (s.queries.popleft() if s.queries else s.default_query)
            return JSONResponse(_message(model, content, True))
        text = custom if custom is not None else s.answer

        async def lines() -> AsyncIterator[bytes]:
            words = text.split(" ")
            for i, word in enumerate(words):
                piece = word if i == len(words) - 1 else word + " "
                yield (json.dumps(_message(model, piece, False)) + "\n").encode()
                if s.token_delay_s:
                    await asyncio.sleep(s.token_delay_s)
            yield (json.dumps(_message(model, "", True)) + "\n").encode()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return app
