from __future__ import annotations

from fastapi import APIRouter, status

from backend.deps import AuthServiceDep, CurrentUser
from backend.schemas.auth import Credentials, TokenOut, UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def register(body: Credentials, auth: AuthServiceDep) -> UserOut:
    return await auth.register(body.email, body.password)


@router.post("/login", response_model=TokenOut)
async def login(body: Credentials, auth: AuthServiceDep) -> TokenOut:
    return await auth.login(body.email, body.password)


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    return user
