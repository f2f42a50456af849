from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from backend.deps import ActorDep, ConnectionServiceDep, CurrentUser, SearchServiceDep
from backend.schemas.connections import (
    ConnectionIn,
    ConnectionOut,
    ConnectionTestIn,
    ConnectionTestOut,
    ConnectionUpdate,
    SchemaOut,
    SearchIn,
    SearchOut,
    SyncIn,
    SyncStarted,
    SyncStatus,
)

router = APIRouter(prefix="/connections", tags=["connections"])


@router.post("/test", response_model=ConnectionTestOut)
async def test_connection(
    body: ConnectionTestIn, user: CurrentUser, service: ConnectionServiceDep
) -> ConnectionTestOut:
    return await service.test_for(user.id, body.kind, body.url)


@router.post("", response_model=ConnectionOut, status_code=status.HTTP_201_CREATED)
async def create_connection(body: ConnectionIn, actor: ActorDep, service: ConnectionServiceDep) -> ConnectionOut:
    return await service.create(actor, body)


@router.get("", response_model=list[ConnectionOut])
async def list_connections(user: CurrentUser, service: ConnectionServiceDep) -> list[ConnectionOut]:
    return await service.list(user.id)


@router.get("/{connection_id}", response_model=ConnectionOut)
async def get_connection(connection_id: uuid.UUID, user: CurrentUser, service: ConnectionServiceDep) -> ConnectionOut:
    return await service.get(user.id, connection_id)


@router.patch("/{connection_id}", response_model=ConnectionOut)
async def update_connection(
    connection_id: uuid.UUID, body: ConnectionUpdate, actor: ActorDep, service: ConnectionServiceDep
) -> ConnectionOut:
    return await service.update(actor, connection_id, body)


@router.delete("/{connection_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_connection(connection_id: uuid.UUID, actor: ActorDep, service: ConnectionServiceDep) -> Response:
    await service.delete(actor, connection_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{connection_id}/sync", response_model=SyncStarted, status_code=status.HTTP_202_ACCEPTED)
async def start_sync(
    connection_id: uuid.UUID, actor: ActorDep, service: ConnectionServiceDep, body: SyncIn | None = None
) -> SyncStarted:
    """Re-index (``full``, the default with no body) or check the catalog first (``check``)."""
    return SyncStarted(job_id=await service.start_sync(actor, connection_id, (body or SyncIn()).mode))


@router.get("/{connection_id}/sync", response_model=SyncStatus)
async def sync_status(connection_id: uuid.UUID, user: CurrentUser, service: ConnectionServiceDep) -> SyncStatus:
    return await service.sync_status(user.id, connection_id)


@router.get("/{connection_id}/schema", response_model=SchemaOut)
async def connection_schema(connection_id: uuid.UUID, user: CurrentUser, service: ConnectionServiceDep) -> SchemaOut:
    return await service.schema(user.id, connection_id)


@router.post("/{connection_id}/search", response_model=SearchOut)
async def search(connection_id: uuid.UUID, body: SearchIn, user: CurrentUser, service: SearchServiceDep) -> SearchOut:
    return await service.search(user.id, connection_id, body.query, body.k)
