"""Retrieval on a generated schema of 1,000 tables, through the real index (introspection,
embedding model, pgvector) and the context asking builds."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import connect, register_and_login

NOUNS = [
    "account",
    "asset",
    "author",
    "batch",
    "booking",
    "branch",
    "budget",
    "campaign",
    "carrier",
    "claim",
    "client",
    "contract",
    "course",
    "device",
    "driver",
    "event",
    "factory",
    "flight",
    "grant",
    "invoice",
    "item",
    "journal",
    "lease",
    "ledger",
    "license",
    "machine",
    "member",
    "message",
    "order",
    "owner",
    "paper",
    "parcel",
    "patient",
    "payment",
    "permit",
    "plant",
    "policy",
    "project",
    "receipt",
    "region",
    "report",
    "route",
    "sample",
    "sensor",
    "session",
    "shipment",
    "site",
    "stock",
    "supplier",
    "survey",
    "task",
    "ticket",
    "venue",
    "vendor",
    "visit",
    "ward",
]


def _generated_schema() -> str:
    """20 schemas x 50 tables of look-alike names, plus a small library schema to find things in."""
    statements = []
    for s in range(20):
        schema = f"unit_{s:02d}"
        statements.append(f"CREATE SCHEMA {schema};")
        for t in range(50):
            a, b = NOUNS[(s * 7 + t) % len(NOUNS)], NOUNS[(s * 3 + t * 5 + 1) % len(NOUNS)]
            statements.append(
                f"CREATE TABLE {schema}.{a}_{b}_{t} (id int PRIMARY KEY, {a}_name text, {b}_code text,"
                f" created_at date, amount numeric, status text, note text, owner_id int, region text, score int);"
                f" COMMENT ON TABLE {schema}.{a}_{b}_{t} IS '{a} records by {b}';"
            )
    statements.append(
        """
        CREATE SCHEMA library;
        CREATE TABLE library.writer (id int PRIMARY KEY, full_name text, born date);
        CREATE TABLE library.publication (id int PRIMARY KEY, title text, published date);
        CREATE TABLE library.writer_publication (
            writer_id int REFERENCES library.writer, publication_id int REFERENCES library.publication,
            PRIMARY KEY (writer_id, publication_id));
        CREATE TABLE library.hall (id int PRIMARY KEY, town text, capacity int);
        CREATE TABLE library.reading (id int PRIMARY KEY, hall_id int REFERENCES library.hall,
            publication_id int REFERENCES library.publication, held_on date);
        INSERT INTO library.hall VALUES (1, 'Reykjavik', 80), (2, 'Lisbon', 120), (3, 'Tallinn', 60);
        """
    )
    return "\n".join(statements)


def _context(client: TestClient, headers: dict[str, str], cid: str, question: str) -> list[tuple[str, str]]:
    context: Any = client.app.state.context  # type: ignore[attr-defined]
    owner = uuid.UUID(client.get("/api/auth/me", headers=headers).json()["id"])

    async def build() -> list[tuple[str, str]]:
        target = await context.connections.ask_target(owner, uuid.UUID(cid))
        hits = await context.search.retrieve(target.connection_id, target.index, question, 10)
        return [(h.object, h.via) for h in hits]

    return list(client.portal.call(build))  # type: ignore[union-attr]


def test_a_junction_table_and_a_value_named_table_come_into_the_context(client: TestClient, scratch_db: Any) -> None:
    url = scratch_db(_generated_schema())
    headers = register_and_login(client)
    cid = connect(client, headers, url)["id"]
    assert client.get(f"/api/connections/{cid}", headers=headers).json()["object_count"] == 1005

    # The junction table has nothing but keys: only the foreign-key graph can bring it.
    junction = _context(client, headers, cid, "Which publications did each writer write?")
    names = [name for name, _ in junction]
    assert {"library.writer", "library.publication", "library.writer_publication"} <= set(names), junction
    assert len(names) <= 14

    # Nothing in the question names the hall table or its columns; the stored value "Reykjavik" does.
    valued = _context(client, headers, cid, "Which publications were read in Reykjavik?")
    assert "library.hall" in [n for n, _ in valued], valued
    assert "library.publication" in [n for n, _ in valued], valued
