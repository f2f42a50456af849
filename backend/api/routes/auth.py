from __future__ import annotations

from fastapi import APIRouter, Response, status

from backend.deps import ActorDep, AuthServiceDep, ClientIp, CurrentUser
from backend.schemas.auth import Credentials, PasswordChange, TokenOut, UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def register(body: Credentials, auth: AuthServiceDep, client_ip: ClientIp) -> UserOut:
    return await auth.register(body.email, body.password, client_ip)


@router.post("/login", response_model=TokenOut)
async def login(body: Credentials, auth: AuthServiceDep, client_ip: ClientIp) -> TokenOut:
    return await auth.login(body.email, body.password, client_ip)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(actor: ActorDep, auth: AuthServiceDep) -> Response:
    """Ends every session of the caller (all tokens issued so far stop working)."""
    await auth.logout(actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    return user


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(body: PasswordChange, actor: ActorDep, auth: AuthServiceDep) -> Response:
    await auth.change_password(actor, body.current_password, body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
