"""The ``LLMClient`` seam and ``OllamaLLMClient`` over the official ``ollama`` client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx
import ollama

from backend.components.errors import UnavailableError
from backend.components.metrics import Metrics
from backend.components.url_redaction import redact_url

LLMFailure = Literal["llm_unavailable", "llm_timeout", "model_missing"]


class LLMUnavailableError(UnavailableError):
    """The LLM server cannot be reached, timed out, or lacks the model; ``code`` says which
    (``llm_unavailable``, ``llm_timeout``, ``model_missing``), the message says it in words."""

    default_detail = "The language model is unavailable"

    def __init__(self, detail: str | None = None, code: LLMFailure = "llm_unavailable"):
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str


@dataclass(frozen=True)
class ModelInfo:
    name: str
    size: int | None
    family: str | None
    parameter_size: str | None


def counted(error: LLMUnavailableError, metrics: Metrics | None, call: str) -> LLMUnavailableError:
    """``error``, counted in ``sextant_llm_errors_total`` (every provider's clients give up through here)."""
    if metrics:
        metrics.llm_errors.labels(call, error.code).inc()
    return error


class LLMClient(Protocol):
    base_url: str

    async def complete(self, messages: list[ChatMessage], model: str, json_schema: dict[str, Any] | None) -> str:
        """The whole reply; with ``json_schema`` the server is asked to answer in that shape."""
        ...

    def stream(self, messages: list[ChatMessage], model: str) -> AsyncIterator[str]:
        """The reply as it is produced, fragment by fragment."""
        ...

    async def models(self) -> list[ModelInfo]: ...

    async def has_model(self, model: str) -> bool: ...

    async def aclose(self) -> None: ...


def _same_model(wanted: str, available: str) -> bool:
    """``llama3.2`` means ``llama3.2:latest``, as in Ollama itself."""
    if ":" not in wanted:
        wanted += ":latest"
    if ":" not in available:
        available += ":latest"
    return wanted == available


class OllamaLLMClient:
    def __init__(
        self,
        base_url: str,
        timeout_s: float,
        connect_timeout_s: float,
        temperature: float,
        metrics: Metrics | None = None,
    ):
        self.base_url = base_url
        # What error sentences name: every user reads them, so never a password in the URL.
        self._shown_url = redact_url(base_url)
        self._metrics = metrics
        self._client = ollama.AsyncClient(host=base_url, timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s))
        self._options = {"temperature": temperature}

    def _unavailable(self, exc: BaseException, model: str) -> LLMUnavailableError:
        if isinstance(exc, ollama.ResponseError):
            if exc.status_code == 404:
                return LLMUnavailableError(
                    f"The model '{model}' is not available on the LLM server ({exc.error})", "model_missing"
                )
            return LLMUnavailableError(f"The LLM server answered with an error: {exc.error}")
        if isinstance(exc, httpx.TimeoutException):
            return LLMUnavailableError(f"The LLM server at {self._shown_url} did not answer in time", "llm_timeout")
        return LLMUnavailableError(f"The LLM server at {self._shown_url} is unreachable")

    def _failed(self, exc: BaseException, model: str, call: str) -> LLMUnavailableError:
        return counted(self._unavailable(exc, model), self._metrics, call)

    async def complete(self, messages: list[ChatMessage], model: str, json_schema: dict[str, Any] | None) -> str:
        started = time.perf_counter()
        try:
            response = await self._client.chat(
                model=model,
                messages=[{"role": m.role, "content": m.content} for m in messages],
                format=json_schema,
                options=self._options,
                stream=False,
            )
        except (ollama.ResponseError, ConnectionError, httpx.HTTPError) as exc:
            raise self._failed(exc, model, "generate") from exc
        finally:
            if self._metrics:
                self._metrics.llm_seconds.labels("generate").observe(time.perf_counter() - started)
        if self._metrics and response.eval_count:
            self._metrics.llm_tokens.labels("generate").inc(response.eval_count)
        return response.message.content or ""

    async def stream(self, messages: list[ChatMessage], model: str) -> AsyncIterator[str]:
        started = time.perf_counter()
        try:
            parts = await self._client.chat(
                model=model,
                messages=[{"role": m.role, "content": m.content} for m in messages],
                options=self._options,
                stream=True,
            )
            async for part in parts:
                if part.message.content:
                    yield part.message.content
                if part.done and self._metrics and part.eval_count:
                    self._metrics.llm_tokens.labels("answer").inc(part.eval_count)
        except (ollama.ResponseError, ConnectionError, httpx.HTTPError) as exc:
            raise self._failed(exc, model, "answer") from exc
        finally:
            if self._metrics:
                self._metrics.llm_seconds.labels("answer").observe(time.perf_counter() - started)

    async def models(self) -> list[ModelInfo]:
        try:
            listed = await self._client.list()
        except (ollama.ResponseError, ConnectionError, httpx.HTTPError) as exc:
            raise self._unavailable(exc, "") from exc
        return [
            ModelInfo(
                name=m.model or "",
                size=int(m.size) if m.size is not None else None,
                family=m.details.family if m.details else None,
                parameter_size=m.details.parameter_size if m.details else None,
            )
            for m in listed.models
        ]

    async def has_model(self, model: str) -> bool:
        try:
            return any(_same_model(model, m.name) for m in await self.models())
        except LLMUnavailableError:
            return False

    async def aclose(self) -> None:
        await self._client.close()  # type: ignore[no-untyped-call]
