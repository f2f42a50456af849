"""Backend settings: the only module that reads the environment.

Every setting has a flat environment name (``DATABASE_URL``, ``QUERY_MAX_ROWS``...) so that
``.env`` stays readable; the groups (plain pydantic models) only organise them in code.
``ENV_NAMES`` is the single table from those names to ``(group, field)``.

Two ways to build ``Settings``, and only one reads the environment:

* ``Settings(...)`` (and every group, ``QuerySettings(...)``): the given values and the
  defaults, nothing else; never the environment, never ``.env``. Tests and benches use this.
* ``Settings.from_environment()``: the real entry point (``create_app()`` without settings):
  environment variables, then ``.env`` in the working directory, then the defaults.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

from cryptography.fernet import Fernet
from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "placeholder"}


class _Group(BaseModel):
    """A group of settings: a plain model, built from its arguments only; unknown names are errors."""

    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(_Group):
    database_url: SecretStr | None = Field(
        default=None, description="The appliance store; unset (or empty) means the embedded PostgreSQL."
    )
    migrate_on_start: bool = True
    pool_size: int = 10

    @field_validator("database_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `DATABASE_URL=` in .env reads as "not set", as an empty REDIS_URL turns the caches off.
        if isinstance(value, str) and not value.strip():
            return None
        return value


class AuthSettings(_Group):
    jwt_secret: SecretStr | None = None
    jwt_algorithm: str = "HS256"
    token_ttl_minutes: int = Field(default=720, ge=1)
    allow_signup: bool = True
    min_password_length: int = Field(default=8, ge=1)
    session_cookie_secure: Literal["auto", "always"] = Field(
        default="auto",
        description="auto: Secure __Host- cookies over HTTPS only; always: also when TLS ends before a"
        " proxy that is not in TRUSTED_PROXIES.",
    )


class CryptoSettings(_Group):
    encryption_key: SecretStr | None = Field(
        default=None, description="Fernet key that encrypts stored connection URLs."
    )


class EmbeddingSettings(_Group):
    embedding_url: str = "http://127.0.0.1:8001"
    embedding_timeout_s: float = 120.0
    embedding_batch_size: int = Field(default=64, ge=1, le=256)
    embedding_dimension: int = 384
    embedding_model_name: str = Field(
        default="all-MiniLM-L6-v2",
        description="The embedding service's model (the same setting): part of the embedding cache's key.",
    )


class CacheSettings(_Group):
    """Redis, optional: the answer cache and the question-embedding cache. Unset: no cache."""

    redis_url: SecretStr | None = Field(
        default=None, description="redis://host:port/db of a Redis for the caches; unset means no cache."
    )
    redis_key_prefix: str = Field(default="sextant:", description="Prefix of every key Sextant writes in Redis.")
    redis_timeout_s: float = Field(default=0.5, gt=0, le=30)
    answer_cache_ttl_s: int = Field(default=86_400, ge=1, description="How long a cached answer is served.")
    embedding_cache_ttl_s: int = Field(default=604_800, ge=1)


class IndexingSettings(_Group):
    index_sample_rows: int = Field(default=3, ge=0, le=50)
    index_value_max_chars: int = Field(default=200, ge=10)
    index_distinct_limit: int = Field(default=20, ge=0, le=100)
    index_distinct_scan_rows: int = Field(default=10_000, ge=100)
    index_statement_timeout_ms: int = Field(default=15_000, ge=100)
    index_connect_timeout_s: int = Field(default=5, ge=1)
    index_max_columns_per_chunk: int = Field(default=40, ge=5)
    job_stale_after_s: int = Field(
        default=120,
        ge=5,
        description="A worker's lease on a job: a running job not renewed for this long is taken back and retried.",
    )
    job_sweep_interval_s: float = Field(
        default=30.0, gt=0, description="How often a backend takes back expired leases and starts due change checks."
    )
    worker_enabled: bool = Field(
        default=True,
        description="Run indexing jobs in this process. Off: this backend only queues them for other workers"
        " (`python -m backend.worker`, or backends with the worker on).",
    )
    worker_name: str = Field(
        default="",
        max_length=200,
        description="This worker's name in the queue (index_jobs.worker), unique among live processes; a worker"
        " started under a name takes that name's unfinished jobs back at once. Empty: host:pid and a random tag.",
    )
    worker_concurrency: int = Field(default=2, ge=1, le=32, description="Jobs one worker runs at once.")
    job_poll_interval_s: float = Field(
        default=2.0, gt=0, description="How often an idle worker looks for jobs queued by other processes."
    )
    job_max_attempts: int = Field(
        default=3, ge=1, le=20, description="Runs of one job before it fails: a lost worker or an unavailable service."
    )
    job_retry_backoff_s: float = Field(
        default=10.0, ge=0, description="The wait before a retry, doubled at each further attempt."
    )


class SearchSettings(_Group):
    search_default_k: int = Field(default=5, ge=1)
    search_max_k: int = Field(default=50, ge=1)
    search_candidates: int = Field(default=40, ge=5)
    search_join_hops: int = Field(default=3, ge=0, le=5)
    search_context_min_hits: int = Field(default=4, ge=1, le=50)
    search_context_relative_score: float = Field(default=0.5, ge=0.0, le=1.0)
    search_context_value_objects: int = Field(default=2, ge=0, le=10)
    search_context_max_objects: int = Field(default=14, ge=1, le=100)


class LLMSettings(_Group):
    llm_provider: Literal["ollama", "openai"] = Field(
        default="ollama",
        description="ollama: the Ollama API at OLLAMA_URL; openai: any OpenAI-compatible server at LLM_BASE_URL"
        " (vLLM, llama.cpp's server, LM Studio).",
    )
    ollama_url: str = "http://127.0.0.1:11434"
    ollama_model: str = "llama3.2"
    llm_base_url: str | None = Field(
        default=None, description="The OpenAI-compatible server, with its /v1 (http://gpu-box:8000/v1)."
    )
    llm_api_key: SecretStr | None = Field(default=None, description="For a server that wants a key; sent as Bearer.")
    llm_model: str | None = Field(
        default=None, description="The default model; unset means OLLAMA_MODEL (with the ollama provider)."
    )
    llm_json_mode: Literal["auto", "json_schema", "prompt"] = Field(
        default="auto",
        description="openai provider: auto tries response_format json_schema and falls back to asking in the prompt.",
    )
    llm_timeout_s: float = Field(default=120.0, gt=0)
    llm_connect_timeout_s: float = Field(default=3.0, gt=0)
    llm_temperature: float = Field(default=0.0, ge=0, le=2)

    @model_validator(mode="after")
    def _openai_needs_a_server(self) -> LLMSettings:
        if self.llm_provider == "openai" and not self.llm_base_url:
            raise ValueError("LLM_PROVIDER=openai needs LLM_BASE_URL (the server's address, with /v1)")
        if self.llm_provider == "openai" and not self.llm_model:
            raise ValueError("LLM_PROVIDER=openai needs LLM_MODEL (a model id the server lists at /v1/models)")
        return self

    @property
    def default_model(self) -> str:
        return self.llm_model or self.ollama_model

    @property
    def server_url(self) -> str:
        """Where the LLM server is, whichever the provider."""
        return (self.llm_base_url or "") if self.llm_provider == "openai" else self.ollama_url


class QuerySettings(_Group):
    query_max_rows: int = Field(default=200, ge=1, le=10_000)
    query_statement_timeout_ms: int = Field(default=10_000, ge=100)
    query_lock_timeout_ms: int = Field(default=1_000, ge=10)
    query_idle_timeout_ms: int = Field(default=15_000, ge=100)
    query_max_bytes: int = Field(default=8_000_000, ge=10_000, description="Bytes of one result, cut while fetching")
    query_max_value_bytes: int = Field(default=65_536, ge=100, description="Bytes of one value before it is cut")
    query_work_mem: str = Field(default="16MB", pattern=r"^\d+\s*(kB|MB|GB)?$")
    query_temp_file_limit: str = Field(default="256MB", pattern=r"^-?\d+\s*(kB|MB|GB)?$")
    query_repair_attempts: int = Field(default=1, ge=0, le=3)
    answer_rows_in_prompt: int = Field(default=50, ge=1)
    history_turns_in_prompt: int = Field(default=3, ge=0, le=20)
    history_preview_rows: int = Field(
        default=200, ge=0, description="Result rows kept with a history entry, so a reopened answer shows them"
    )
    history_preview_bytes: int = Field(default=1_000_000, ge=0, description="Bytes of those rows, at most (as JSON)")
    export_max_rows: int = Field(
        default=1_000_000, ge=1, description="Rows of a full CSV export, at most (MongoDB: at most 100,000)"
    )
    export_max_bytes: int = Field(default=500_000_000, ge=1_000, description="Bytes of values in a full export")
    export_statement_timeout_ms: int = Field(default=300_000, ge=100, description="Time limit of an export's query")
    ask_default_top_k: int = Field(default=10, ge=1, le=50)
    ask_context_chars: int = Field(default=24_000, ge=1_000, description="Characters of schema text in a prompt")
    ask_max_columns_per_object: int = Field(default=40, ge=5, description="Columns shown of a wider table")
    ask_default_sample_rows: int = Field(default=2, ge=0, le=10)
    ask_examples: int = Field(default=3, ge=0, le=10, description="Verified examples in a prompt, at most")
    ask_example_floor: float = Field(
        default=0.47, ge=0.0, le=1.0, description="Fused similarity a verified example needs to go into a prompt"
    )
    ask_example_candidates: int = Field(
        default=20, ge=1, le=200, description="Nearest examples by embedding that the keyword score re-ranks"
    )


class SecuritySettings(_Group):
    rate_login_failures: int = Field(default=5, ge=1, description="Failed logins per account or address per window")
    rate_login_window_s: int = Field(default=60, ge=1)
    rate_questions_per_minute: int = Field(default=30, ge=1)
    rate_signups_per_hour: int = Field(default=10, ge=1, description="Sign-ups per client address per hour")
    password_hash_workers: int | None = Field(
        default=None, ge=1, description="Password hashes at a time (bcrypt); unset: one per core"
    )
    metrics_enabled: bool = True


class ConnectionPolicySettings(_Group):
    """Which databases user connections may reach (see ``backend/components/connection_policy.py``)."""

    connection_allow: list[str] = Field(
        default_factory=list,
        description="Comma-separated hosts, IPs, CIDRs, host:port or socket directories; non-empty: only these",
    )
    connection_deny: list[str] = Field(
        default_factory=list, description="Comma-separated targets refused on top of the built-in ones"
    )
    backend_port: int = Field(default=8000, ge=1, le=65535, description="This backend's port, refused on local hosts")
    rate_connection_tests_per_minute: int = Field(default=20, ge=1)

    @field_validator("connection_allow", "connection_deny", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class ProxySettings(_Group):
    """Which peers may say who the client is (``X-Forwarded-For``, ``X-Forwarded-Proto``).

    Empty (the default, ``make run``) trusts nobody: the address is the TCP peer's. In the
    compose stack it is exactly nginx's fixed address on the network it shares with the backend.
    """

    trusted_proxies: list[str] = Field(
        default_factory=list, description="Comma-separated IPs or CIDRs of the reverse proxies in front"
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks_only(cls, value: list[str]) -> list[str]:
        # Strict: uvicorn would keep an unparseable entry as a literal that never matches, and
        # "*" would make it believe the leftmost, client-written X-Forwarded-For entry.
        try:
            return [str(ipaddress.ip_network(entry, strict=False)) for entry in value]
        except ValueError as exc:
            raise ValueError(f"TRUSTED_PROXIES takes IP addresses or CIDRs only: {exc}") from exc


class Settings(BaseSettings):
    """Everything the backend needs, grouped; built once and passed to ``create_app``.

    ``Settings(...)`` takes its values from its arguments and the defaults only (see the module
    docstring); ``Settings.from_environment()`` is the one constructor that reads the environment.
    """

    model_config = SettingsConfigDict(extra="forbid")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("./data")
    log_level: str = "INFO"
    frontend_dir: Path = Field(
        default=Path("frontend/dist"), description="The built web app, served at / when the directory exists."
    )

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    crypto: CryptoSettings = Field(default_factory=CryptoSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    indexing: IndexingSettings = Field(default_factory=IndexingSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    query: QuerySettings = Field(default_factory=QuerySettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    connections: ConnectionPolicySettings = Field(default_factory=ConnectionPolicySettings)
    proxy: ProxySettings = Field(default_factory=ProxySettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The constructor's arguments only: the flat names are read by from_environment().
        return (init_settings,)

    @classmethod
    def from_environment(
        cls, env_file: Path | str | None = ".env", environ: Mapping[str, str] | None = None
    ) -> Settings:
        """The settings of this process: the names of ``ENV_NAMES`` (case-insensitive) in
        ``environ`` (default ``os.environ``), then in ``env_file`` (skipped when ``None`` or
        missing), then the defaults. Other variables are ignored; values are validated as usual
        (``ValidationError`` on a bad one).
        """
        found: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            for name, value in dotenv_values(env_file, encoding="utf-8").items():
                if value is not None:
                    found[name.upper()] = value
        for name, value in (os.environ if environ is None else environ).items():
            found[name.upper()] = value
        values: dict[str, Any] = {}
        for name, value in found.items():
            if name not in ENV_NAMES:
                continue
            group, field = ENV_NAMES[name]
            if group is None:
                values[field] = value
            else:
                values.setdefault(group, {})[field] = value
        return cls(**values)


# Environment names that are not the upper-cased field name.
_RENAMED: Final[dict[str, str]] = {"environment": "SEXTANT_ENV", "data_dir": "SEXTANT_DATA_DIR"}


def _env_names() -> dict[str, tuple[str | None, str]]:
    table: dict[str, tuple[str | None, str]] = {}
    for name, info in Settings.model_fields.items():
        group = info.annotation
        entries: list[tuple[str, tuple[str | None, str]]]
        if isinstance(group, type) and issubclass(group, BaseModel):
            entries = [(field.upper(), (name, field)) for field in group.model_fields]
        else:
            entries = [(_RENAMED.get(name, name.upper()), (None, name))]
        for env_name, target in entries:
            if env_name in table:
                raise RuntimeError(f"{env_name} would set both {table[env_name]} and {target}")
            table[env_name] = target
    return table


ENV_NAMES: Final[dict[str, tuple[str | None, str]]] = _env_names()
"""Flat environment name -> (group attribute of ``Settings``, or None for a top-level field; field name).

A group field's name is its environment name in lower case (``QUERY_MAX_ROWS`` ->
``settings.query.query_max_rows``); top-level fields too, except those in ``_RENAMED``.
"""


class ResolvedSecrets(BaseModel):
    jwt_secret: SecretStr
    encryption_key: SecretStr


class InsecureConfigurationError(RuntimeError):
    """Raised at start-up when a production profile carries placeholder secrets."""


def resolve_secrets(settings: Settings) -> ResolvedSecrets:
    """Return the JWT and encryption secrets.

    Given values win. Missing ones are generated once into ``<data_dir>/secrets.json``
    (mode 0600) and reused on every later start. The production profile refuses
    to start without explicit, non-placeholder secrets.
    """
    given_jwt = settings.auth.jwt_secret.get_secret_value() if settings.auth.jwt_secret else None
    given_key = settings.crypto.encryption_key.get_secret_value() if settings.crypto.encryption_key else None
    if settings.environment == "production":
        for name, value in (("JWT_SECRET", given_jwt), ("ENCRYPTION_KEY", given_key)):
            if value is None or value.strip().lower() in PLACEHOLDER_SECRETS:
                raise InsecureConfigurationError(f"{name} must be set to a real secret when SEXTANT_ENV=production")
    if given_jwt and given_key:
        return ResolvedSecrets(jwt_secret=SecretStr(given_jwt), encryption_key=SecretStr(given_key))

    path = settings.data_dir / "secrets.json"
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text())
    changed = False
    if "jwt_secret" not in stored:
        stored["jwt_secret"] = secrets.token_urlsafe(48)
        changed = True
    if "encryption_key" not in stored:
        stored["encryption_key"] = Fernet.generate_key().decode()
        changed = True
    if changed:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(stored, fh)
    return ResolvedSecrets(
        jwt_secret=SecretStr(given_jwt or stored["jwt_secret"]),
        encryption_key=SecretStr(given_key or stored["encryption_key"]),
    )


def resolve_store_password(data_dir: Path) -> SecretStr:
    """The superuser password of the embedded store, generated once into ``<data_dir>/secrets.json``.

    The other keys of the file are kept; the file is replaced atomically and stays mode 0600.
    """
    path = data_dir / "secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if not stored.get("store_password"):
        stored["store_password"] = secrets.token_urlsafe(32)
        data_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".secrets.json.{os.getpid()}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(stored, fh)
        os.replace(partial, path)
    return SecretStr(stored["store_password"])
