"""``MongoConnector``: test and introspect a user's MongoDB, reading only."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

from pymongo import AsyncMongoClient
from pymongo.errors import ConfigurationError, InvalidURI, PyMongoError

from backend.components.url_redaction import hide_password, url_problem
from backend.engines.base import ConnectorError, IntrospectOptions, ProgressCallback, json_value
from backend.engines.mongo.schema import describe_types, infer
from backend.engines.mongo.session import mongo_client
from backend.schemas.schema_snapshot import ColumnInfo, ForeignKeyInfo, ObjectInfo, SchemaSnapshot

logger = logging.getLogger(__name__)

SYSTEM_DATABASES = {"admin", "local", "config"}
SAMPLE_DOCUMENTS_SHOWN = 3
SAMPLE_DOCUMENT_CHARS = 600


def validate_mongo_url(url: str) -> str | None:
    """Raise ``ConnectorError`` unless ``url`` is a MongoDB URL with a host; return its database, if any.

    The message never holds a password of ``url`` (see ``validate_postgres_url``).
    """
    problem = url_problem("mongodb", url)
    if problem is not None:
        raise ConnectorError(problem)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ConnectorError(f"Malformed connection URL: {hide_password(str(exc), url)}") from None
    hosts = parts.netloc.rpartition("@")[2]
    if not hosts or hosts.startswith(":"):
        raise ConnectorError("The connection URL names no host")
    if parts.scheme == "mongodb+srv" and ("," in hosts or ":" in hosts):
        raise ConnectorError("A mongodb+srv:// URL names exactly one host and no port")
    if parts.scheme == "mongodb":
        for host in hosts.split(","):
            port = host.rpartition(":")[2] if ":" in host and not host.endswith("]") else None
            if port is not None and not port.isdigit():
                raise ConnectorError(hide_password(f"Malformed connection URL: port '{port}' is not a number", url))
    database = unquote(parts.path.lstrip("/")) or None
    return database


class MongoConnector:
    kind = "mongodb"

    def __init__(self, url: str, options: IntrospectOptions | None = None):
        self.database = validate_mongo_url(url)
        self._url = url
        self._options = options or IntrospectOptions()

    def _safe_error(self, exc: BaseException) -> str:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        message = hide_password(message, self._url)
        # pymongo appends a long topology description after "Topology Description:".
        for tail in (", Timeout:", " Topology Description:", " (configured timeouts:"):
            message = message.split(tail)[0]
        return message

    def _configuration_error(self, exc: ConfigurationError) -> ConnectorError:
        if self._url.startswith("mongodb+srv://"):
            host = urlsplit(self._url).netloc.rpartition("@")[2]
            return ConnectorError(f"Could not resolve the SRV record of {host}: {self._safe_error(exc)}")
        return ConnectorError(f"Invalid MongoDB URL: {self._safe_error(exc)}")

    @asynccontextmanager
    async def client(self) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
        try:
            async with mongo_client(self._url, self._options.session, "sextant") as client:
                yield client
        except InvalidURI as exc:  # a ConfigurationError too: pymongo's parser may quote the URL
            raise ConnectorError(f"Malformed connection URL: {self._safe_error(exc)}") from None
        except ConfigurationError as exc:
            raise self._configuration_error(exc) from None

    async def test(self) -> str:
        async with self.client() as client:
            try:
                info = await client.admin.command("buildInfo")
            except ConfigurationError as exc:
                raise self._configuration_error(exc) from exc
            except PyMongoError as exc:
                raise ConnectorError(f"Could not connect: {self._safe_error(exc)}") from exc
            except (KeyError, ValueError, TypeError) as exc:
                # pymongo trusts the server's replies; a server that answers the login with
                # something else (no SASL support, a non-MongoDB service) surfaces like this.
                raise ConnectorError(
                    f"Could not connect: the server's answer could not be understood ({type(exc).__name__})"
                ) from None
        return str(info.get("version", "unknown"))

    async def databases(self, client: AsyncMongoClient[dict[str, Any]]) -> list[str]:
        if self.database:
            return [self.database]
        names = await client.list_database_names()
        return sorted(n for n in names if n not in SYSTEM_DATABASES)

    async def introspect(self, progress: ProgressCallback | None = None) -> SchemaSnapshot:
        async with self.client() as client:
            try:
                version = str((await client.admin.command("buildInfo")).get("version", "unknown"))
                targets: list[tuple[str, str, str]] = []
                for db_name in await self.databases(client):
                    async for info in await client[db_name].list_collections():
                        name = str(info["name"])
                        if not name.startswith("system."):
                            targets.append((db_name, name, str(info.get("type", "collection"))))
                if progress:
                    await progress(0, len(targets))
                objects = []
                for done, (db_name, name, kind) in enumerate(sorted(targets), start=1):
                    siblings = [n for d, n, _ in targets if d == db_name]
                    objects.append(await self._collection(client, db_name, name, kind, siblings))
                    if progress:
                        await progress(done, len(targets))
            except ConfigurationError as exc:
                raise self._configuration_error(exc) from exc
            except PyMongoError as exc:
                raise ConnectorError(f"Introspection failed: {self._safe_error(exc)}") from exc
        return SchemaSnapshot(kind="mongodb", server_version=version, objects=objects)

    async def catalog_hash(self) -> str:
        """A digest of the databases' collections and views with their options (validators, view
        pipelines) and indexes. Fields live in the documents, not in a catalog: a field that
        appears only in new documents is found by a full sync, not by this check."""
        async with self.client() as client:
            try:
                entries: list[tuple[str, str, str]] = []
                for db_name in await self.databases(client):
                    async for info in await client[db_name].list_collections():
                        name = str(info["name"])
                        if name.startswith("system."):
                            continue
                        try:
                            indexes: Any = await client[db_name][name].index_information()
                        except PyMongoError as exc:
                            indexes = f"unavailable: {type(exc).__name__}"
                        described = {"type": info.get("type"), "options": info.get("options"), "indexes": indexes}
                        entries.append((db_name, name, json.dumps(described, sort_keys=True, default=str)))
            except ConfigurationError as exc:
                raise self._configuration_error(exc) from exc
            except PyMongoError as exc:
                raise ConnectorError(f"Could not read the catalog: {self._safe_error(exc)}") from exc
        return hashlib.sha256(json.dumps(sorted(entries)).encode()).hexdigest()

    async def _collection(
        self, client: AsyncMongoClient[dict[str, Any]], db_name: str, name: str, kind: str, siblings: list[str]
    ) -> ObjectInfo:
        opts = self._options
        collection = client[db_name][name]
        obj = ObjectInfo(schema_name=db_name, name=name, kind="view" if kind == "view" else "collection")
        try:
            obj.row_estimate = await collection.estimated_document_count(maxTimeMS=opts.session.statement_timeout_ms)
        except PyMongoError as exc:
            obj.notes.append(f"count unavailable: {self._safe_error(exc)}")
        try:
            for index_name, spec in (await collection.index_information()).items():
                keys = ", ".join(f"{k}: {v}" for k, v in spec.get("key", []))
                obj.indexes.append(f"{index_name} ({keys}){' unique' if spec.get('unique') else ''}")
        except PyMongoError as exc:
            obj.notes.append(f"indexes unavailable: {self._safe_error(exc)}")
        try:
            cursor = await collection.aggregate(
                [{"$sample": {"size": opts.mongo_sample_size}}], maxTimeMS=opts.session.statement_timeout_ms
            )
            docs = [doc async for doc in cursor]
        except PyMongoError as exc:
            obj.notes.append(f"sample unavailable: {self._safe_error(exc)}")
            docs = []
        if not docs:
            obj.notes.append("empty: no documents to infer fields from")
            return obj
        inferred = infer(docs, siblings, opts.distinct_limit)
        obj.primary_key = ["_id"] if "_id" in inferred.fields else []
        obj.notes.append(f"fields inferred from {inferred.sampled} sampled documents")
        for path, entry in inferred.fields.items():
            values = sorted(entry.strings) if entry.strings and not entry.too_many_values else None
            obj.columns.append(
                ColumnInfo(
                    name=path,
                    type=describe_types(entry),
                    nullable=entry.present < inferred.sampled or "null" in entry.types,
                    values=values if values and len(values) <= opts.distinct_limit else None,
                )
            )
        for path, target in sorted(inferred.references.items()):
            obj.foreign_keys.append(
                ForeignKeyInfo(
                    name=f"{name}.{path}", source=obj.qualified_name, columns=[path],
                    target=f"{db_name}.{target}", ref_columns=["_id"],
                )
            )  # fmt: skip
        for doc in docs[:SAMPLE_DOCUMENTS_SHOWN]:
            flat = {str(k): json.dumps(json_value(v, opts.value_max_chars), default=str) for k, v in doc.items()}
            obj.samples.append({k: v[:SAMPLE_DOCUMENT_CHARS] for k, v in flat.items()})
        return obj
