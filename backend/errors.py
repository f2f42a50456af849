"""One error hierarchy for the backend, mapped to HTTP in one place (``install_error_handlers``)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from backend.components.errors import ComponentError, InvalidTokenError, UnavailableError

logger = logging.getLogger(__name__)


class AppError(Exception):
    """Base of every error the API reports on purpose; ``status_code`` is the HTTP status."""

    status_code = 500
    default_detail = "Internal error"

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(detail or self.default_detail)
        self.detail = detail or self.default_detail
        self.headers = headers


class BadRequestError(AppError):
    status_code = 400
    default_detail = "Bad request"


class TargetNotAllowedError(BadRequestError):
    """A connection leads somewhere the connection policy refuses (the store, metadata, a denied host)."""

    default_detail = "This address is not allowed"


class UnauthorizedError(AppError):
    status_code = 401
    default_detail = "Not authenticated"

    def __init__(self, detail: str | None = None):
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class ForbiddenError(AppError):
    status_code = 403
    default_detail = "Forbidden"


class NotFoundError(AppError):
    status_code = 404
    default_detail = "Not found"


class ConflictError(AppError):
    status_code = 409
    default_detail = "Conflict"


class UnprocessableError(AppError):
    """A well-formed request that does not fit what it refers to (a column the result lacks)."""

    status_code = 422
    default_detail = "The request does not fit its target"


class PayloadTooLargeError(AppError):
    status_code = 413
    default_detail = "The request is too large"


class TooManyRequestsError(AppError):
    status_code = 429
    default_detail = "Too many requests"

    def __init__(self, detail: str, retry_after_s: int):
        """``detail`` says what was refused; the seconds until it is allowed again are appended
        to it and sent in ``Retry-After``."""
        seconds = max(1, retry_after_s)
        unit = "second" if seconds == 1 else "seconds"
        super().__init__(f"{detail}; try again in {seconds} {unit}", headers={"Retry-After": str(seconds)})
        self.retry_after_s = seconds


class UpstreamUnavailableError(AppError):
    """A component Sextant depends on (embedding service, user database) did not answer."""

    status_code = 503
    default_detail = "A required service is unavailable"


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg", "invalid")))
    return "; ".join(parts) or "Invalid request"


def _component_answer(exc: ComponentError) -> AppError:
    """The HTTP answer of a component's domain error that no service caught."""
    if isinstance(exc, InvalidTokenError):
        return UnauthorizedError(exc.detail)
    if isinstance(exc, UnavailableError):
        return UpstreamUnavailableError(exc.detail)
    return AppError(exc.detail)


def install_error_handlers(app: FastAPI) -> None:
    """Map every ``AppError``, component error and request-validation error to ``{"detail": "..."}``."""

    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(ComponentError)
    async def _component_error(request: Request, exc: ComponentError) -> JSONResponse:
        return await _app_error(request, _component_answer(exc))

    @app.exception_handler(SQLAlchemyError)
    async def _store_error(_: Request, exc: SQLAlchemyError) -> JSONResponse:
        # A store that is down or restarting is a passing condition, not a bug: 503, and the
        # pool reconnects by itself once it is back (pool_pre_ping). Every pooled connection busy
        # for the pool timeout is the same passing condition.
        if (isinstance(exc, DBAPIError) and exc.connection_invalidated) or isinstance(
            exc, OperationalError | PoolTimeoutError
        ):
            logger.warning("appliance store unavailable: %s", type(exc).__name__)
            return JSONResponse({"detail": "The appliance database is unavailable; try again shortly"}, status_code=503)
        if isinstance(exc, DataError):
            # Input the store cannot hold (a value out of range, a NUL byte) that slipped past validation.
            return JSONResponse({"detail": "The request contains a value that cannot be stored"}, status_code=400)
        logger.exception("store error")
        return JSONResponse({"detail": "Internal error"}, status_code=500)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(exc)}, status_code=422)
