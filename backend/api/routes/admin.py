from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from backend.deps import AdminActor, AdminServiceDep, AdminUser, AuditServiceDep
from backend.schemas.admin import (
    AdminConnectionOut,
    AdminSettings,
    AdminUserOut,
    AdminUserPatch,
    AuditAction,
    AuditPage,
)

router = APIRouter(tags=["admin"])


@router.get("/admin/users", response_model=list[AdminUserOut])
async def list_users(_: AdminUser, service: AdminServiceDep) -> list[AdminUserOut]:
    return await service.users()


@router.patch("/admin/users/{user_id}", response_model=AdminUserOut)
async def update_user(
    user_id: uuid.UUID, body: AdminUserPatch, admin: AdminActor, service: AdminServiceDep
) -> AdminUserOut:
    return await service.update_user(admin, user_id, body)


@router.get("/admin/settings", response_model=AdminSettings)
async def get_settings(_: AdminUser, service: AdminServiceDep) -> AdminSettings:
    return await service.settings()


@router.put("/admin/settings", response_model=AdminSettings)
async def put_settings(body: AdminSettings, admin: AdminActor, service: AdminServiceDep) -> AdminSettings:
    return await service.update_settings(admin, body)


@router.get("/admin/connections", response_model=list[AdminConnectionOut])
async def list_connections(_: AdminUser, service: AdminServiceDep) -> list[AdminConnectionOut]:
    return await service.connections()


@router.get("/audit", response_model=AuditPage)
async def audit(
    _: AdminUser,
    service: AuditServiceDep,
    action: AuditAction | None = None,
    actor_id: uuid.UUID | None = None,
    success: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPage:
    return await service.list(
        action=action, actor_id=actor_id, success=success, since=since, until=until, limit=limit, offset=offset
    )
