"""The one table from errors to HTTP: status code and a JSON body naming the problem.

Every error response is ``{"error": {"code": ..., "message": ...}}``; nothing answers with an HTML
page or a traceback. Engine errors map here as the streaming routes arrive.
"""

from __future__ import annotations

import structlog
from quart import Quart, jsonify
from quart.typing import ResponseReturnValue
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


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> ResponseReturnValue:
    return jsonify(error={"code": code, "message": message}), status, headers or {}


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(status, code, exc.description or exc.name or "error")

    for error_type, (status, code) in ENGINE_ERRORS.items():

        async def handler(
            exc: Exception, status: int = status, code: str = code
        ) -> ResponseReturnValue:
            headers = {}
            if isinstance(exc, Overloaded):
                headers["Retry-After"] = str(max(1, round(exc.retry_after)))
            return error_response(status, code, str(exc), headers)

        app.register_error_handler(error_type, handler)

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("http.unhandled_error", error=repr(exc))
        return error_response(500, "internal_error", "an unexpected error occurred; it was logged")
