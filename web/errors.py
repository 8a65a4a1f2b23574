"""The one table from errors to HTTP: status code and a JSON body naming the problem.

Every error response is ``{"error": {"code": ..., "message": ..., "details": {...}}}`` (details
when there are any); nothing answers with an HTML page or a traceback. Engine errors map here as
the streaming routes arrive; authentication errors (``web.auth``) too: 401 with WWW-Authenticate,
429 with Retry-After. ``StateUnavailable`` (Redis away) is 503 with Retry-After.

The REST resources (``web.api``): their own errors (``API_ERRORS``), the catalog's they let
through (``CATALOG_ERRORS``: a cursor from another query, a playlist that is hidden or not the
user's to change), and request validation by quart-schema: 400 ``invalid_request`` whose
``details`` name the first refused field (``field``) and list every problem (``errors``).
Malformed JSON is 400, a body over ``MAX_CONTENT_LENGTH`` 413, a wrong method 405: werkzeug's
HTTP errors, in the same shape.
"""

from __future__ import annotations

import math
from typing import Any

import structlog
from pydantic import ValidationError
from quart import Quart, jsonify, request
from quart.typing import ResponseReturnValue
from quart_schema import RequestSchemaValidationError
from quart_schema.validation import QuerystringValidationError
from werkzeug.exceptions import HTTPException

from engine.errors import (
    ActorTimeout,
    CorruptSource,
    EncodeFailed,
    NotFound,
    Overloaded,
    SessionClosed,
    SessionLost,
    TooManyRestarts,
)
from ingest.catalog.browse import InvalidCursor
from ingest.catalog.playlists import PlaylistDenied, PlaylistNotFound
from ingest.state.ports import StateUnavailable
from web.api.context import ApiError, Clash, Invalid, Missing, Refused
from web.auth import (
    AuthError,
    AuthNotFound,
    Conflict,
    Forbidden,
    InvalidRequest,
    InviteUnusable,
    RateLimited,
    Unauthorized,
)

log = structlog.get_logger(__name__)

# engine error -> (status, code); Overloaded also sets Retry-After.
ENGINE_ERRORS: dict[type[Exception], tuple[int, str]] = {
    NotFound: (404, "not_found"),
    SessionClosed: (410, "session_closed"),
    SessionLost: (409, "session_lost"),
    Overloaded: (429, "overloaded"),
    CorruptSource: (422, "corrupt_source"),
    EncodeFailed: (503, "encode_failed"),
    ActorTimeout: (504, "timeout"),
    TooManyRestarts: (503, "unavailable"),
}


# auth error -> (status, code), the first matching class wins.
AUTH_ERRORS: dict[type[AuthError], tuple[int, str]] = {
    Unauthorized: (401, "unauthorized"),
    Forbidden: (403, "forbidden"),
    RateLimited: (429, "rate_limited"),
    InvalidRequest: (400, "invalid_request"),
    AuthNotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    InviteUnusable: (410, "invite_unusable"),
}


# REST resource and catalog errors -> (status, code).
API_ERRORS: dict[type[Exception], tuple[int, str]] = {
    Missing: (404, "not_found"),
    Refused: (403, "forbidden"),
    Clash: (409, "conflict"),
    Invalid: (400, "invalid_request"),
}
CATALOG_ERRORS: dict[type[Exception], tuple[int, str]] = {
    InvalidCursor: (400, "invalid_cursor"),
    PlaylistNotFound: (404, "not_found"),
    PlaylistDenied: (403, "forbidden"),
}


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    details: dict[str, Any] | None = None,
) -> ResponseReturnValue:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return jsonify(error=body), status, headers or {}


def auth_error_response(exc: AuthError) -> ResponseReturnValue:
    status, code = next(
        (mapped for kind, mapped in AUTH_ERRORS.items() if isinstance(exc, kind)),
        (400, "invalid_request"),
    )
    headers = {}
    if isinstance(exc, Unauthorized):
        challenge = f'{exc.scheme} realm="reelbox"'
        if exc.scheme == "Basic":
            challenge += ', charset="UTF-8"'
        elif exc.error:
            challenge += f', error="{exc.error}"'
        headers["WWW-Authenticate"] = challenge
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return error_response(status, code, str(exc), headers, exc.details)


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "_")
        # Keep what the exception says in headers (Allow on a 405), not its HTML body's type.
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return error_response(status, code, exc.description or exc.name or "error", headers)

    @app.errorhandler(UnicodeDecodeError)
    async def not_utf8(exc: UnicodeDecodeError) -> ResponseReturnValue:
        # Reading a JSON body that is not UTF-8 (even get_json(silent=True)) raises this.
        return error_response(400, "bad_request", "the request body is not UTF-8 JSON")

    for error_type, (status, code) in ENGINE_ERRORS.items():

        async def handler(
            exc: Exception, status: int = status, code: str = code
        ) -> ResponseReturnValue:
            headers = {}
            if isinstance(exc, Overloaded):
                headers["Retry-After"] = str(max(1, round(exc.retry_after)))
            return error_response(status, code, str(exc), headers)

        app.register_error_handler(error_type, handler)

    @app.errorhandler(RequestSchemaValidationError)
    async def invalid_request(exc: RequestSchemaValidationError) -> ResponseReturnValue:
        problems = validation_problems(exc.validation_error)
        details: dict[str, Any] = {"errors": problems}
        if problems:
            details["field"] = problems[0]["field"]
        where = "query string" if isinstance(exc, QuerystringValidationError) else "body"
        summary = "; ".join(f"{p['field'] or where}: {p['message']}" for p in problems[:5])
        message = f"invalid {where}: {summary}"
        if where == "body" and not request.is_json:
            message = "send a JSON object, with Content-Type: application/json"
        return error_response(400, "invalid_request", message, None, details)

    for error_type, (status, code) in {**API_ERRORS, **CATALOG_ERRORS}.items():

        async def mapped(
            exc: Exception, status: int = status, code: str = code
        ) -> ResponseReturnValue:
            details = exc.details if isinstance(exc, ApiError) else None
            if isinstance(exc, InvalidCursor):
                details = {"field": "cursor"}
            return error_response(status, code, str(exc), None, details)

        app.register_error_handler(error_type, mapped)

    @app.errorhandler(AuthError)
    async def auth_error(exc: AuthError) -> ResponseReturnValue:
        return auth_error_response(exc)

    @app.errorhandler(StateUnavailable)
    async def state_unavailable(exc: StateUnavailable) -> ResponseReturnValue:
        log.warning("http.state_unavailable", error=str(exc))
        return error_response(
            503, "unavailable", "the shared state store did not answer; retry", {"Retry-After": "1"}
        )

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("http.unhandled_error", error=repr(exc))
        return error_response(500, "internal_error", "an unexpected error occurred; it was logged")


def validation_problems(error: Exception) -> list[dict[str, str]]:
    """A validation error as ``[{"field": "a.0.b", "message": ..., "type": ...}]``."""
    if isinstance(error, ValidationError):
        return [
            {
                "field": ".".join(str(part) for part in problem["loc"]),
                "message": problem["msg"],
                "type": problem["type"],
            }
            for problem in error.errors(include_url=False, include_input=False)
        ]
    return [{"field": "", "message": str(error), "type": type(error).__name__}]
