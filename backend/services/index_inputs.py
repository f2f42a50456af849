"""What an index run is bound to before it starts: the introspection options the settings give,
the job's target as read from its connection, and the hash an index is built from."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, replace

from backend.config import IndexingSettings
from backend.engines.base import INTROSPECT_SESSION, IntrospectOptions
from backend.schemas.connections import SyncMode

# The settings that shape chunks: changing one makes the next ``check`` re-index.
SHAPING_SETTINGS = {
    "index_sample_rows",
    "index_value_max_chars",
    "index_distinct_limit",
    "index_distinct_scan_rows",
    "index_max_columns_per_chunk",
}


def introspect_options(settings: IndexingSettings) -> IntrospectOptions:
    return IntrospectOptions(
        sample_rows=settings.index_sample_rows,
        value_max_chars=settings.index_value_max_chars,
        distinct_limit=settings.index_distinct_limit,
        distinct_scan_rows=settings.index_distinct_scan_rows,
        session=replace(
            INTROSPECT_SESSION,
            statement_timeout_ms=settings.index_statement_timeout_ms,
            connect_timeout_s=settings.index_connect_timeout_s,
        ),
    )


@dataclass(frozen=True)
class JobTarget:
    """What a job needs of its connection, read once at its start."""

    connection_id: uuid.UUID
    kind: str
    url_token: bytes
    mask_pii: bool
    mode: SyncMode
    catalog_hash: str | None
    object_count: int


def index_hash(settings: IndexingSettings, model: str, catalog: str, mask_pii: bool) -> str:
    """The catalog's hash bound to everything else an index depends on: the embedding model,
    the PII masking and the settings that shape chunks. Changing any makes a ``check`` re-index."""
    shaping = settings.model_dump(include=SHAPING_SETTINGS)
    bound = json.dumps({"catalog": catalog, "model": model, "mask_pii": mask_pii, **shaping})
    return hashlib.sha256(bound.encode()).hexdigest()
