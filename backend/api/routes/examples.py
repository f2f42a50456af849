"""Verified examples of a connection, their import and export, and the suggested questions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from backend.deps import ActorDep, CurrentUser, ExampleServiceDep, SuggestionServiceDep
from backend.schemas.examples import (
    ExampleCheckIn,
    ExampleCheckOut,
    ExampleFormat,
    ExampleImportIn,
    ExampleImportOut,
    ExampleIn,
    ExampleOut,
    ExampleUpdate,
    SuggestionsOut,
)

router = APIRouter(prefix="/connections/{connection_id}", tags=["examples"])

_MEDIA = {"jsonl": "application/x-ndjson; charset=utf-8", "csv": "text/csv; charset=utf-8"}


@router.get("/examples", response_model=list[ExampleOut])
async def list_examples(connection_id: uuid.UUID, user: CurrentUser, service: ExampleServiceDep) -> list[ExampleOut]:
    """The connection's verified examples, newest first (404 for anyone else's connection)."""
    return await service.list_examples(user.id, connection_id)


@router.post("/examples", response_model=ExampleOut, status_code=status.HTTP_201_CREATED)
async def create_example(
    connection_id: uuid.UUID, body: ExampleIn, actor: ActorDep, service: ExampleServiceDep
) -> ExampleOut:
    """Checks the query with the guard and runs it read-only, then keeps the example: 422 with the
    reason when it is refused or fails, 409 for a question the connection already has."""
    return await service.create(actor, connection_id, body)


@router.post("/examples/check", response_model=ExampleCheckOut)
async def check_example(
    connection_id: uuid.UUID, body: ExampleCheckIn, actor: ActorDep, service: ExampleServiceDep
) -> ExampleCheckOut:
    """Checks and runs a query read-only without saving it; a refusal is ``error`` (HTTP 200)."""
    return await service.check(actor, connection_id, body.query)


@router.post("/examples/import", response_model=ExampleImportOut)
async def import_examples(
    connection_id: uuid.UUID, body: ExampleImportIn, actor: ActorDep, service: ExampleServiceDep
) -> ExampleImportOut:
    """Imports a JSONL or CSV file's examples, each checked and run like a create (413 past
    2 MB, 422 past 1,000 lines); duplicates are skipped, broken lines listed with the reason."""
    return await service.import_(actor, connection_id, body)


@router.get(
    "/examples/export",
    response_class=Response,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}, "description": "The examples"}},
)
async def export_examples(
    connection_id: uuid.UUID, user: CurrentUser, service: ExampleServiceDep, format: ExampleFormat = "jsonl"
) -> Response:
    """The connection's examples as a JSONL or CSV file that import reads back."""
    filename, content = await service.export(user.id, connection_id, format)
    return Response(
        content,
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@router.put("/examples/{example_id}", response_model=ExampleOut)
async def update_example(
    connection_id: uuid.UUID, example_id: uuid.UUID, body: ExampleUpdate, actor: ActorDep, service: ExampleServiceDep
) -> ExampleOut:
    """Changes an example: its query is checked, run and its question embedded again."""
    return await service.update(actor, connection_id, example_id, body)


@router.delete("/examples/{example_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_example(
    connection_id: uuid.UUID, example_id: uuid.UUID, actor: ActorDep, service: ExampleServiceDep
) -> Response:
    await service.delete(actor, connection_id, example_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/suggestions", response_model=SuggestionsOut)
async def suggestions(connection_id: uuid.UUID, user: CurrentUser, service: SuggestionServiceDep) -> SuggestionsOut:
    """Questions to offer on an empty chat: verified examples' first, then the model's or the schema's."""
    return await service.suggest(user.id, connection_id)
