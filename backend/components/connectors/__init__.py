"""Connector adapters, one per kind of user database, chosen by ``build_connector``."""

from __future__ import annotations

from backend.components.connectors.base import Connector, ConnectorError, IntrospectOptions
from backend.components.connectors.mongo import MongoConnector
from backend.components.connectors.postgres import PostgresConnector


def build_connector(kind: str, url: str, options: IntrospectOptions) -> Connector:
    """Raise ``ConnectorError`` for a malformed URL or a kind this build cannot read."""
    if kind == "postgres":
        return PostgresConnector(url, options)
    if kind == "mongodb":
        return MongoConnector(url, options)
    raise ConnectorError(f"Connections of kind '{kind}' are not supported yet")


__all__ = ["Connector", "ConnectorError", "IntrospectOptions", "MongoConnector", "PostgresConnector", "build_connector"]
