"""The engines this build can read: one line per engine (see docs/ARCHITECTURE.md, "Adding an engine")."""

from __future__ import annotations

from backend.components.chunker import PLAIN_SPELLING
from backend.engines.base import Connector, ConnectorError, Engine, IntrospectOptions
from backend.engines.mongo.connector import MongoConnector
from backend.engines.mongo.dialect import MongoDialect
from backend.engines.postgres.connector import PostgresConnector
from backend.engines.postgres.dialect import PostgresDialect
from backend.engines.postgres.names import SQL_SPELLING

ENGINES: dict[str, Engine] = {
    engine.kind: engine
    for engine in (
        Engine("postgres", PostgresConnector, PostgresDialect, SQL_SPELLING),
        Engine("mongodb", MongoConnector, MongoDialect, PLAIN_SPELLING),
    )
}


def engine_for(kind: str) -> Engine:
    """Raise ``ConnectorError`` for a kind this build cannot read."""
    engine = ENGINES.get(kind)
    if engine is None:
        raise ConnectorError(f"Connections of kind '{kind}' are not supported yet")
    return engine


def build_connector(kind: str, url: str, options: IntrospectOptions) -> Connector:
    """Raise ``ConnectorError`` for a malformed URL or a kind this build cannot read."""
    return engine_for(kind).connector(url, options)
