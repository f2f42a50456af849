from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from backend.api.session_cookie import clear_session, set_session
from backend.deps import ActorDep, AuthServiceDep, ClientIp, ContextDep, CurrentUser
from backend.schemas.auth import Credentials, LoginIn, PasswordChange, SignupOut, TokenOut, UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.get("/signup", response_model=SignupOut)
async def signup_state(auth: AuthServiceDep) -> SignupOut:
    """Public: whether the login page should offer to create an account."""
    return await auth.signup_state()


@router.post("/register", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def register(body: Credentials, auth: AuthServiceDep, client_ip: ClientIp) -> UserOut:
    return await auth.register(body.email, body.password, client_ip)


@router.post("/login", response_model=TokenOut)
async def login(
    body: LoginIn,
    auth: AuthServiceDep,
    client_ip: ClientIp,
    context: ContextDep,
    request: Request,
    response: Response,
) -> TokenOut:
    token = await auth.login(body.email, body.password, client_ip)
    if body.session_cookie and token.access_token:
        mode = context.settings.auth.session_cookie_secure
        set_session(response, request, token.access_token, token.expires_in, mode)
        # The cookie carries the session: a script on the page (or an injected one) never sees it.
        return token.model_copy(update={"access_token": None})
    return token


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(actor: ActorDep, auth: AuthServiceDep) -> Response:
    """Ends every session of the caller (all tokens issued so far stop working)."""
    await auth.logout(actor)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session(response)
    return response


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
async def forget_session() -> Response:
    """Drops this browser's session cookies (no authentication: a token that no longer works
    must still be removable, and the cookies are httpOnly). Other sessions stay valid."""
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session(response)
    return response


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    return user


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(body: PasswordChange, actor: ActorDep, auth: AuthServiceDep) -> Response:
    await auth.change_password(actor, body.current_password, body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
