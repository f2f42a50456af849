"""``OpenAILLMClient``: the ``LLMClient`` seam over the official ``openai`` client, for any
server that speaks the OpenAI chat-completions API (vLLM, llama.cpp's server, LM Studio...).

JSON output: the query step asks for ``response_format={"type": "json_schema", ...}``. A server
that refuses that (a 400 or 422 naming ``response_format``) is asked again without it, and from
then on this client relies on the prompt alone for that model, which already asks for JSON and is parsed
tolerantly by the engines. ``json_mode`` pins either behaviour.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import httpx2
import openai

from backend.components.llm_client import ChatMessage, LLMUnavailableError, ModelInfo, counted
from backend.components.metrics import Metrics
from backend.components.url_redaction import redact_url

JsonMode = Literal["auto", "json_schema", "prompt"]
# Sent when no key is configured: the client insists on one, local servers ignore it.
NO_KEY = "sextant-no-key"


class OpenAILLMClient:
    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        timeout_s: float,
        connect_timeout_s: float,
        temperature: float,
        json_mode: JsonMode = "auto",
        metrics: Metrics | None = None,
    ):
        self.base_url = base_url
        # What error sentences name: every user reads them, so never a password in the URL.
        self._shown_url = redact_url(base_url)
        self._metrics = metrics
        self._temperature = temperature
        self._json_mode: JsonMode = json_mode
        self._prompt_only: set[str] = set()  # models whose server refused a JSON schema
        # No retries: a timeout or refusal is reported to the person at once, as with Ollama.
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or NO_KEY,
            timeout=httpx2.Timeout(timeout_s, connect=connect_timeout_s),
            max_retries=0,
        )

    def _unavailable(self, exc: BaseException, model: str) -> LLMUnavailableError:
        if isinstance(exc, openai.NotFoundError):
            return LLMUnavailableError(f"The model '{model}' is not available on the LLM server", "model_missing")
        if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
            return LLMUnavailableError(f"The LLM server at {self._shown_url} did not answer in time", "llm_timeout")
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return LLMUnavailableError("The LLM server refused Sextant's API key (LLM_API_KEY)")
        if isinstance(exc, openai.APIStatusError):
            return LLMUnavailableError(f"The LLM server answered with an error (HTTP {exc.status_code})")
        return LLMUnavailableError(f"The LLM server at {self._shown_url} is unreachable")

    @staticmethod
    def _messages(messages: list[ChatMessage]) -> list[Any]:
        return [{"role": m.role, "content": m.content} for m in messages]

    def _failed(self, exc: BaseException, model: str, call: str) -> LLMUnavailableError:
        return counted(self._unavailable(exc, model), self._metrics, call)

    async def complete(self, messages: list[ChatMessage], model: str, json_schema: dict[str, Any] | None) -> str:
        started = time.perf_counter()
        try:
            response = await self._create(messages, model, json_schema)
        except (openai.OpenAIError, httpx2.HTTPError) as exc:
            raise self._failed(exc, model, "generate") from exc
        finally:
            if self._metrics:
                self._metrics.llm_seconds.labels("generate").observe(time.perf_counter() - started)
        if self._metrics and response.usage and response.usage.completion_tokens:
            self._metrics.llm_tokens.labels("generate").inc(response.usage.completion_tokens)
        return (response.choices[0].message.content or "") if response.choices else ""

    async def _create(self, messages: list[ChatMessage], model: str, json_schema: dict[str, Any] | None) -> Any:
        chat = self._client.chat.completions
        wire = self._messages(messages)
        if json_schema is None or self._json_mode == "prompt" or model in self._prompt_only:
            return await chat.create(model=model, messages=wire, temperature=self._temperature)
        schema_format: Any = {"type": "json_schema", "json_schema": {"name": "reply", "schema": json_schema}}
        try:
            return await chat.create(
                model=model, messages=wire, temperature=self._temperature, response_format=schema_format
            )
        except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
            if self._json_mode == "json_schema" or "response_format" not in str(exc.message):
                raise
        answer = await chat.create(model=model, messages=wire, temperature=self._temperature)
        # Remembered per model, and only once the same request went through without the schema:
        # one odd error message cannot switch structured output off for every other model.
        self._prompt_only.add(model)
        return answer

    async def stream(self, messages: list[ChatMessage], model: str) -> AsyncIterator[str]:
        started = time.perf_counter()
        try:
            chunks = await self._client.chat.completions.create(
                model=model, messages=self._messages(messages), temperature=self._temperature, stream=True
            )
            try:
                async for chunk in chunks:
                    for choice in chunk.choices:
                        if choice.delta and choice.delta.content:
                            yield choice.delta.content
            finally:
                # A caller that stops early (a cancelled question) frees the server's generation too.
                await chunks.close()
        except (openai.OpenAIError, httpx2.HTTPError) as exc:
            raise self._failed(exc, model, "answer") from exc
        finally:
            if self._metrics:
                self._metrics.llm_seconds.labels("answer").observe(time.perf_counter() - started)

    async def models(self) -> list[ModelInfo]:
        try:
            page = await self._client.models.list()
        except (openai.OpenAIError, httpx2.HTTPError) as exc:
            raise self._unavailable(exc, "") from exc
        return [ModelInfo(name=m.id, size=None, family=m.owned_by or None, parameter_size=None) for m in page.data]

    async def has_model(self, model: str) -> bool:
        """Exactly as the server names it: OpenAI-compatible servers have no ``:latest`` tags."""
        try:
            return any(m.name == model for m in await self.models())
        except LLMUnavailableError:
            return False

    async def aclose(self) -> None:
        await self._client.close()
