from __future__ import annotations

from fastapi import APIRouter

from backend.deps import CurrentUser, ModelServiceDep, UserSettingsServiceDep
from backend.schemas.query import ModelsOut, UserSettingsIn, UserSettingsOut

router = APIRouter(tags=["settings"])


@router.get("/settings", response_model=UserSettingsOut)
async def get_settings(user: CurrentUser, service: UserSettingsServiceDep) -> UserSettingsOut:
    return await service.get(user.id)


@router.put("/settings", response_model=UserSettingsOut)
async def put_settings(body: UserSettingsIn, user: CurrentUser, service: UserSettingsServiceDep) -> UserSettingsOut:
    return await service.update(user.id, body)


@router.get("/models", response_model=ModelsOut)
async def list_models(_: CurrentUser, service: ModelServiceDep) -> ModelsOut:
    return await service.list()
