"""The models the LLM server offers."""

from __future__ import annotations

from backend.components.llm_client import LLMClient
from backend.schemas.query import ModelOut, ModelsOut


class ModelService:
    def __init__(self, llm: LLMClient, default_model: str):
        self._llm = llm
        self._default = default_model

    async def list(self) -> ModelsOut:
        """Raises ``LLMUnavailableError`` (503) when the server cannot be asked."""
        models = await self._llm.models()
        return ModelsOut(
            default=self._default,
            models=[
                ModelOut(name=m.name, size=m.size, family=m.family, parameter_size=m.parameter_size) for m in models
            ],
        )

    async def healthy(self) -> bool:
        return await self._llm.has_model(self._default)
