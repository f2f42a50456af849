"""``Depends`` aliases: routes reach the process's clients and the caller only through these."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.api.route_template import route_template
from backend.api.session_cookie import cookie_token
from backend.api.token_scopes import scope_for
from backend.context import AppContext
from backend.errors import ForbiddenError, UnauthorizedError
from backend.schemas.auth import UserOut
from backend.services.admin_service import AdminService
from backend.services.api_token_service import ApiTokenService, TokenPrincipal, is_api_token
from backend.services.ask_service import AskService
from backend.services.audit_service import Actor, AuditService
from backend.services.auth_service import AuthService
from backend.services.connection_service import ConnectionService
from backend.services.evaluation_service import EvaluationService
from backend.services.example_service import ExampleService
from backend.services.export_service import ExportService
from backend.services.feedback_service import FeedbackService
from backend.services.history_service import HistoryService
from backend.services.model_service import ModelService
from backend.services.query_run_service import QueryRunService
from backend.services.search_service import SearchService
from backend.services.suggestion_service import SuggestionService
from backend.services.user_settings_service import UserSettingsService

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


def get_admin_service(context: ContextDep) -> AdminService:
    return context.admin


def get_audit_service(context: ContextDep) -> AuditService:
    return context.audit


def get_ask_service(context: ContextDep) -> AskService:
    return context.ask


def get_history_service(context: ContextDep) -> HistoryService:
    return context.history


def get_user_settings_service(context: ContextDep) -> UserSettingsService:
    return context.user_settings


def get_model_service(context: ContextDep) -> ModelService:
    return context.models


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]
AskServiceDep = Annotated[AskService, Depends(get_ask_service)]
AdminServiceDep = Annotated[AdminService, Depends(get_admin_service)]
AuditServiceDep = Annotated[AuditService, Depends(get_audit_service)]
HistoryServiceDep = Annotated[HistoryService, Depends(get_history_service)]


def get_export_service(context: ContextDep) -> ExportService:
    return context.export


ExportServiceDep = Annotated[ExportService, Depends(get_export_service)]


def get_feedback_service(context: ContextDep) -> FeedbackService:
    return context.feedback


FeedbackServiceDep = Annotated[FeedbackService, Depends(get_feedback_service)]


def get_query_run_service(context: ContextDep) -> QueryRunService:
    return context.query_run


def get_example_service(context: ContextDep) -> ExampleService:
    return context.examples


ExampleServiceDep = Annotated[ExampleService, Depends(get_example_service)]


def get_suggestion_service(context: ContextDep) -> SuggestionService:
    return context.suggestions


SuggestionServiceDep = Annotated[SuggestionService, Depends(get_suggestion_service)]
QueryRunServiceDep = Annotated[QueryRunService, Depends(get_query_run_service)]
UserSettingsServiceDep = Annotated[UserSettingsService, Depends(get_user_settings_service)]
ModelServiceDep = Annotated[ModelService, Depends(get_model_service)]
ConnectionServiceDep = Annotated[ConnectionService, Depends(get_connection_service)]
SearchServiceDep = Annotated[SearchService, Depends(get_search_service)]


def get_evaluation_service(context: ContextDep) -> EvaluationService:
    return context.evaluations


EvaluationServiceDep = Annotated[EvaluationService, Depends(get_evaluation_service)]


async def get_current_user(
    request: Request,
    auth: AuthServiceDep,
    context: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> UserOut:
    """The caller, by ``Authorization: Bearer`` (programs) or else by the browser's session
    cookie, whose state-changing requests must carry the CSRF header (``api/session_cookie``)."""
    if credentials is not None and credentials.scheme.lower() == "bearer":
        if is_api_token(credentials.credentials):
            route = route_template(request)
            principal = await context.api_tokens.authenticate(
                credentials.credentials, scope_for(request.method, route), get_client_ip(request), route
            )
            request.state.api_token = principal
            return principal.user
        return await auth.user_for_token(credentials.credentials)
    try:
        token = cookie_token(request, context.settings.auth.session_cookie_secure)
    except PermissionError as exc:
        raise ForbiddenError(str(exc)) from None
    if token is None:
        raise UnauthorizedError("Not authenticated")
    return await auth.user_for_token(token)


CurrentUser = Annotated[UserOut, Depends(get_current_user)]


def get_client_ip(request: Request) -> str:
    """The caller's address: the TCP peer's, or the client a trusted proxy names in
    X-Forwarded-For (``TRUSTED_PROXIES``, applied by ``backend.edge.install_edge``)."""
    return request.client.host if request.client else "unknown"


ClientIp = Annotated[str, Depends(get_client_ip)]


async def get_admin(user: CurrentUser) -> UserOut:
    if user.role != "admin":
        raise ForbiddenError("Administrators only")
    return user


AdminUser = Annotated[UserOut, Depends(get_admin)]


def get_actor(request: Request, user: CurrentUser, client_ip: ClientIp) -> Actor:
    """The signed-in caller, the address they call from and the API token they came with: who
    acts, for services and the audit trail."""
    principal: TokenPrincipal | None = getattr(request.state, "api_token", None)
    return Actor(user.id, user.email, client_ip, token_id=principal.token_id if principal else None)


ActorDep = Annotated[Actor, Depends(get_actor)]


def get_admin_actor(admin: AdminUser, client_ip: ClientIp) -> Actor:
    return Actor(admin.id, admin.email, client_ip)


AdminActor = Annotated[Actor, Depends(get_admin_actor)]


def get_api_token_service(context: ContextDep) -> ApiTokenService:
    return context.api_tokens


ApiTokenServiceDep = Annotated[ApiTokenService, Depends(get_api_token_service)]
