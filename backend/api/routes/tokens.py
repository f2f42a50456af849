"""Personal API tokens: ``/api/tokens``. Made, listed and revoked from a signed-in session only
(an API token cannot make or revoke tokens: ``api/token_scopes``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from backend.deps import ActorDep, ApiTokenServiceDep, CurrentUser
from backend.schemas.tokens import ApiTokenCreated, ApiTokenIn, ApiTokenList

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.get("", response_model=ApiTokenList)
async def list_tokens(user: CurrentUser, service: ApiTokenServiceDep) -> ApiTokenList:
    return await service.list(user.id)


@router.post("", response_model=ApiTokenCreated, status_code=status.HTTP_201_CREATED)
async def create_token(body: ApiTokenIn, actor: ActorDep, service: ApiTokenServiceDep) -> ApiTokenCreated:
    """The token is in this response only: it is stored hashed and cannot be shown again."""
    return await service.create(actor, body)


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(token_id: uuid.UUID, actor: ActorDep, service: ApiTokenServiceDep) -> Response:
    await service.revoke(actor, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
