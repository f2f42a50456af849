"""``Depends`` aliases: routes reach the process's clients and the caller only through these."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.context import AppContext
from backend.errors import UnauthorizedError
from backend.schemas.auth import UserOut
from backend.services.auth_service import AuthService
from backend.services.connection_service import ConnectionService
from backend.services.search_service import SearchService

_bearer = HTTPBearer(auto_error=False)


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_auth_service(context: ContextDep) -> AuthService:
    return context.auth


def get_connection_service(context: ContextDep) -> ConnectionService:
    return context.connections


def get_search_service(context: ContextDep) -> SearchService:
    return context.search


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]
ConnectionServiceDep = Annotated[ConnectionService, Depends(get_connection_service)]
SearchServiceDep = Annotated[SearchService, Depends(get_search_service)]


async def get_current_user(
    auth: AuthServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> UserOut:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UnauthorizedError("Not authenticated")
    return await auth.user_for_token(credentials.credentials)


CurrentUser = Annotated[UserOut, Depends(get_current_user)]
