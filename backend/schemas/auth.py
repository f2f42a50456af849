from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from backend.schemas.common import SafeStr


class Credentials(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
    password: SafeStr = Field(min_length=1, max_length=1024)


class LoginIn(Credentials):
    session_cookie: bool = Field(
        default=False,
        description="Also set the browser session: an httpOnly SameSite=Strict cookie with the token, "
        "and a readable CSRF cookie whose value state-changing requests repeat in X-CSRF-Token",
    )


class PasswordChange(BaseModel):
    current_password: SafeStr = Field(min_length=1, max_length=1024)
    new_password: SafeStr = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    role: Literal["admin", "user"]


class TokenOut(BaseModel):
    access_token: str | None = Field(
        description="The bearer token; null when the session is a cookie, so page scripts never hold it"
    )
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class SignupOut(BaseModel):
    """Whether a visitor may create an account (always, while no user exists)."""

    open: bool
