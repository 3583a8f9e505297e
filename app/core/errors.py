"""One error family and one place that turns errors into RFC 9457 problem+json."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import asyncpg  # pyright: ignore[reportMissingTypeStubs]
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from loguru import logger
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

if TYPE_CHECKING:
    from app.core.metrics import Metrics

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    """One invalid input: where (`body.title`, `query.limit`) and why."""

    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of app-api is answered."""

    model_config = ConfigDict(populate_by_name=True)

    type: str = Field(description="URI naming the kind of problem (`urn:app-api:problem:<code>`)")
    title: str = Field(description="Short summary of the kind of problem")
    status: int = Field(description="HTTP status code")
    detail: str = Field(description="What went wrong, for a human")
    code: str = Field(description="Stable machine-readable code, e.g. `not_found`")
    instance: str | None = Field(default=None, description="The request path")
    request_id: str | None = Field(default=None, alias="requestId")
    errors: list[FieldError] | None = Field(
        default=None, description="Per-field messages (validation errors)"
    )


class AppError(Exception):
    """Base of every error app-api raises on purpose. Only the handler knows HTTP."""

    status_code: int = 500
    code: str = "internal_error"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


class NotFoundError(AppError):
    status_code = 404
    code = "not_found"


class ConflictError(AppError):
    status_code = 409
    code = "conflict"


class PreconditionFailedError(AppError):
    status_code = 412
    code = "precondition_failed"


class UnprocessableError(AppError):
    status_code = 422
    code = "validation_failed"


class UnauthorizedError(AppError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, detail: str, *, error: str = "invalid_token") -> None:
        # RFC 6750: tell the client which scheme to use and, when a token was sent, why it failed.
        challenge = (
            f'Bearer realm="app-api", error="{error}"' if error else 'Bearer realm="app-api"'
        )
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class ForbiddenError(AppError):
    status_code = 403
    code = "forbidden"


class PayloadTooLargeError(AppError):
    status_code = 413
    code = "payload_too_large"


class ServiceUnavailableError(AppError):
    status_code = 503
    code = "service_unavailable"

    def __init__(self, detail: str = "The database is unavailable; try again shortly.") -> None:
        super().__init__(detail, headers={"Retry-After": "1"})


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    503: "service_unavailable",
}


# RFC 9110 renamed these; Python 3.11's HTTPStatus still has the RFC 7231 phrases.
_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}


def problem_response(
    request: Request | None,
    *,
    status: int,
    detail: str,
    code: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Build an `application/problem+json` response."""
    code = code or _STATUS_CODES.get(status, "internal_error" if status >= 500 else "error")
    body: dict[str, Any] = {
        "type": f"urn:app-api:problem:{code}",
        "title": _TITLES.get(status) or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request is not None:
        body["instance"] = request.url.path
        request_id = request.scope.get("state", {}).get("request_id")
        if request_id:
            body["requestId"] = request_id
    if errors is not None:
        body["errors"] = [error.model_dump() for error in errors]
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def _validation_message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    # Pydantic prefixes custom errors with "Value error, "; the client does not need it.
    return message.removeprefix("Value error, ")


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return problem_response(
        request,
        status=exc.status_code,
        detail=exc.detail,
        code=exc.code,
        errors=exc.errors,
        headers=exc.headers,
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    invalid_json = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
    if invalid_json is not None:
        position = invalid_json.get("loc", ("body", "?"))[-1]
        reason = invalid_json.get("ctx", {}).get("error", "invalid JSON")
        detail = f"The request body is not valid JSON ({reason} at character {position})."
        return problem_response(request, status=400, detail=detail, code="invalid_json")
    errors = [
        FieldError(field=_location(tuple(error.get("loc", ()))), message=_validation_message(error))
        for error in exc.errors()
    ]
    detail = "; ".join(f"{error.field}: {error.message}" for error in errors[:3])
    if len(errors) > 3:
        detail += f" (and {len(errors) - 3} more)"
    return problem_response(request, status=422, detail=detail or "Invalid request", errors=errors)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail or HTTPStatus(exc.status_code).phrase
    if exc.status_code == 400 and detail == "There was an error parsing the body":
        detail = "The request body could not be read: it is not valid UTF-8 JSON."
    elif exc.status_code == 404 and detail == "Not Found":
        detail = f"No route matches {request.method} {request.url.path}"
    elif exc.status_code == 405:
        detail = f"Method {request.method} is not allowed on {request.url.path}"
    return problem_response(
        request, status=exc.status_code, detail=detail, headers=dict(exc.headers or {})
    )


# PostgreSQL conditions that mean "busy or going away, try again", not "your data is wrong":
# query_canceled (statement_timeout), lock_not_available, deadlock_detected,
# serialization_failure, too_many_connections, admin/crash shutdown, cannot_connect_now.
_TRANSIENT_SQLSTATES = frozenset(
    {"57014", "55P03", "40P01", "40001", "53300", "57P01", "57P02", "57P03"}
)


def _sqlstate(exc: BaseException) -> str | None:
    for candidate in (exc, getattr(exc, "orig", None), getattr(exc, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None)
        if isinstance(state, str):
            return state
    orig = getattr(exc, "orig", None)
    cause = getattr(orig, "__cause__", None)
    state = getattr(cause, "sqlstate", None)
    return state if isinstance(state, str) else None


def is_connection_error(exc: BaseException) -> bool:
    """True when the database could not be reached or is too busy (not a bad statement)."""
    if _sqlstate(exc) in _TRANSIENT_SQLSTATES:
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.OperationalError):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        return is_connection_error(exc.orig)
    # asyncpg and the socket layer raise these directly while connecting.
    name = type(exc).__name__
    return isinstance(exc, (OSError, TimeoutError)) or name in {
        "ConnectionDoesNotExistError",
        "CannotConnectNowError",
        "ConnectionFailureError",
        "InterfaceError",
        "TooManyConnectionsError",
        "AdminShutdownError",
        "InternalClientError",
    }


_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (\S+)")
_SQLITE_NOT_NULL = re.compile(r"NOT NULL constraint failed: \S+?\.(\S+)")
_MAX_REASON = 200


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's exception behind SQLAlchemy's wrapper (asyncpg's is one level further)."""
    orig = getattr(exc, "orig", None) or exc
    return getattr(orig, "__cause__", None) or orig


def refused_value(exc: BaseException) -> AppError | None:
    """A value the database refused (a CHECK or NOT NULL constraint, a value out of its
    column's range, too long, malformed) as a 422 naming the constraint or column; None for
    any other error. Nothing was written: the request's transaction rolls back."""
    state = _sqlstate(exc)
    driver = _driver_error(exc)
    message = str(driver).strip().splitlines()[0][:_MAX_REASON] if str(driver) else ""
    constraint = getattr(driver, "constraint_name", None)
    column = getattr(driver, "column_name", None)
    check = _SQLITE_CHECK.search(message)
    if state == "23514" or check:
        name = constraint or (check.group(1) if check else None)
        detail = f"The change breaks the check constraint {name!r}."
        return UnprocessableError(detail, errors=[FieldError(field="body", message=detail)])
    not_null = _SQLITE_NOT_NULL.search(message)
    if state == "23502" or not_null:
        name = column or (not_null.group(1) if not_null else None)
        detail = f"The column {name!r} may not be null."
        return UnprocessableError(detail, errors=[FieldError(field="body", message=detail)])
    if state is not None and state.startswith("22"):
        # data_exception: out of range, too long, malformed for the column's type.
        detail = f"A value does not fit its column: {message or 'refused by the database'}."
        return UnprocessableError(detail, errors=[FieldError(field="body", message=detail)])
    return None


async def unhandled_error(request: Request, exc: Exception) -> Response:
    """503 when the database is unreachable, 409 for an unmapped constraint, else 500."""
    app = request.scope.get("app")
    metrics: Metrics | None = getattr(getattr(app, "state", None), "metrics", None)
    if metrics is not None:
        metrics.database_error(exc)  # by kind; pool timeouts apart; not 409s or app bugs
    if is_connection_error(exc):
        logger.warning("database unavailable: {}", type(exc).__name__)
        return problem_response(
            request,
            status=503,
            detail=ServiceUnavailableError().detail,
            headers={"Retry-After": "1"},
        )
    refused = refused_value(exc)
    if refused is not None:
        logger.info("value refused by the database: {}", refused.detail)
        return await _app_error(request, refused)
    if isinstance(exc, sa_exc.IntegrityError):
        # The CRUD layer maps the constraints it knows; anything else is still the client's data.
        logger.info("integrity error: {}", type(exc.orig).__name__ if exc.orig else "unknown")
        return problem_response(
            request, status=409, detail="The change conflicts with existing data."
        )
    logger.opt(exception=exc).error("unhandled error on {} {}", request.method, request.url.path)
    request_id = request.scope.get("state", {}).get("request_id", "unknown")
    return problem_response(
        request,
        status=500,
        detail=f"Internal error; quote request id {request_id} when reporting it.",
    )


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through problem+json."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(sa_exc.SQLAlchemyError, unhandled_error)
    # The read path talks to asyncpg directly: its errors arrive unwrapped.
    app.add_exception_handler(asyncpg.PostgresError, unhandled_error)
    app.add_exception_handler(asyncpg.InterfaceError, unhandled_error)
    app.add_exception_handler(OSError, unhandled_error)
    app.add_exception_handler(TimeoutError, unhandled_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem+json errors."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
