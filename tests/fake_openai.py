"""A scripted OpenAI-compatible server (``/v1/models``, ``/v1/chat/completions`` with and
without streaming), answered through the official ``openai`` client by the backend.

It reads the same ``OllamaScript`` as the fake Ollama, so every scenario runs unchanged
against either provider: ``queries`` feed the non-streaming (query) calls, ``answer`` is
streamed word by word, ``handler`` may compute a reply, ``status`` scripts a failure, and
``requests`` records each request body. Two switches cover what real servers differ in:
``json_schema`` (False: a 400 naming ``response_format`` when one is sent, as servers without
structured output answer) and ``api_key`` (a key the server insists on).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tests.fake_ollama import OllamaScript

CREATED = 1_763_683_200


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)


def _chunk(model: str, content: str | None, finish: str | None) -> bytes:
    delta = {"content": content} if content is not None else {}
    body = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


def _asks_for_suggestions(body: dict[str, Any]) -> bool:
    """The empty chat's suggested-questions call (kept apart, as the fake Ollama does): by its
    JSON schema, or, where the server took no schema, by the reply shape its prompt asks for."""
    schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
    if "questions" in (schema.get("properties") or {}):
        return True
    system = next((m.get("content", "") for m in body.get("messages", []) if m.get("role") == "system"), "")
    return '{"questions": [...]}' in str(system)


def create_fake_openai(
    script: Callable[[], OllamaScript], json_schema: bool = True, api_key: str | None = None
) -> FastAPI:
    app = FastAPI()

    def refused(request: Request) -> JSONResponse | None:
        if api_key is not None and request.headers.get("authorization") != f"Bearer {api_key}":
            return _error(401, "Incorrect API key provided", "invalid_request_error")
        return None

    @app.get("/v1/models")
    async def models(request: Request) -> Response:
        if (denied := refused(request)) is not None:
            return denied
        data = [{"id": m, "object": "model", "created": CREATED, "owned_by": "scripted"} for m in script().models]
        return JSONResponse({"object": "list", "data": data})

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        if (denied := refused(request)) is not None:
            return denied
        s = script()
        body: dict[str, Any] = await request.json()
        model = body.get("model", "")
        if _asks_for_suggestions(body):
            s.suggestion_requests.append(body)
            content = json.dumps({"questions": s.suggestions})
            return JSONResponse(
                {"id": "chatcmpl-scripted", "object": "chat.completion", "created": CREATED, "model": model,
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                              "finish_reason": "stop"}]}
            )  # fmt: skip
        s.requests.append(body)
        if s.status != 200:
            return _error(s.status, "scripted failure", "server_error")
        if model not in s.models:
            return _error(404, f"The model `{model}` does not exist.", "NotFoundError")
        if "response_format" in body and not json_schema:
            return _error(400, "response_format is not supported by this server", "BadRequestError")
        custom = s.handler(body) if s.handler else None
        if not body.get("stream"):
            content = custom if custom is not None else (s.queries.popleft() if s.queries else s.default_query)
            return JSONResponse(
                {
                    "id": "chatcmpl-scripted",
                    "object": "chat.completion",
                    "created": CREATED,
                    "model": model,
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": len(content.split()), "total_tokens": 20},
                }
            )
        text = custom if custom is not None else s.answer

        async def events() -> AsyncIterator[bytes]:
            words = text.split(" ")
            for i, word in enumerate(words):
                yield _chunk(model, word if i == len(words) - 1 else word + " ", None)
                if s.token_delay_s:
                    await asyncio.sleep(s.token_delay_s)
            yield _chunk(model, None, "stop")
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app
