"""The OpenAPI 3.1 document (``/api/openapi.json``, browsable at ``/api/docs``), from quart-schema.

quart-schema describes each route from its models; this provider adds what it cannot know, so
that the document is complete enough to drive clients and test generators:

- every operation's error answers, all of the one ``ErrorResponse`` shape: 401, 403 and 429 on
  guarded routes (no or bad credentials, a role or a stream token that does not reach, too many
  Basic logins), 404 where the path names something, 400 where a query or body is validated,
  413 where a body is read, 409 and others where a route says so (``errors``), 5xx as ``default``;
- 304 on routes answering with an ETag (``etagged``), and bodiless 2xx answers (``no_content``);
- which credentials each guarded route takes (``security``), and none on the public ones;
- unique operation ids (``get_items_list_items``: method, blueprint, function), tags by
  blueprint, required query parameters and request bodies, id path parameters with their bounds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import TypeAdapter
from quart import Quart
from quart_schema import QuartSchema
from quart_schema.openapi import Info, OpenAPIProvider
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter, IntegerConverter, Map, ValidationError
from werkzeug.routing.rules import Rule

from web.api.schemas import ErrorResponse

F = TypeVar("F", bound=Callable[..., Any])

ERRORS_ATTRIBUTE = "_reelbox_errors"
NO_CONTENT_ATTRIBUTE = "_reelbox_no_content"
ETAG_ATTRIBUTE = "_reelbox_etag"
BINARY_ATTRIBUTE = "_reelbox_binary"
REF_TEMPLATE = "#/components/schemas/{model}"
# ``<converter:name>`` -> ``{name}``; quart-schema's own pattern lets ``[^:]*`` run across ``>``,
# so ``/<a>/<b>/<int:n>.m4s`` became ``/{n}.m4s``.
PATH_PARAMETER = re.compile(r"<(?:[^:<>]*:)?([^<>]+)>")
MAX_ID = 2**63 - 1

# Routes anyone may call; every other route needs credentials.
PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/logout",  # with a refresh token in the body, no login is needed
        "/api/invites/accept",
    }
)
PUBLIC_PREFIXES = ("/api/auth/oidc/",)

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "an access token from /api/auth/login or /api/auth/refresh",
    },
    "basic": {"type": "http", "scheme": "basic", "description": "username and password"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
    "streamToken": {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "a playback session's stream token (that session's routes only)",
    },
}
LOGIN: list[dict[str, list[str]]] = [{"bearer": []}, {"basic": []}, {"apiKey": []}]
STREAM = [*LOGIN, {"streamToken": []}]

STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    302: "Found: a redirect (see Location)",
    304: "Not Modified: the ETag in If-None-Match is current",
    400: "Bad Request: a malformed body, a wrong type, an unknown field or parameter",
    401: "Unauthorized: no usable credentials (see WWW-Authenticate)",
    403: "Forbidden: not allowed to do this (role, or a thing you may see but not change)",
    404: "Not Found: absent, or hidden from you",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    413: "Payload Too Large",
    422: "Unprocessable",
    502: "Bad Gateway: an upstream (an identity provider) failed",
    429: "Too Many Requests (see Retry-After)",
    "default": "An unexpected error or an unavailable dependency (5xx)",
}


class IdConverter(IntegerConverter):
    """``<id:name>``: a positive 64-bit integer; any other number names nothing (404).

    Werkzeug checks a rule's method before its converters: when ``PATCH /api/users/0`` fails
    the converter, the ``GET`` rule of the same path makes the answer 405. Digits out of range
    are an unknown id, so they answer 404 at once."""

    def __init__(self, map: Map) -> None:
        super().__init__(map, min=1, max=MAX_ID)

    def to_python(self, value: str) -> Any:
        try:
            return super().to_python(value)
        except ValidationError:
            raise NotFound(f"no such id: {value} (ids are 1 to {MAX_ID})") from None


def errors(*statuses: int) -> Callable[[F], F]:
    """Document more error answers of a route (409, 429 ...) than the provider infers."""

    def decorate(view: F) -> F:
        setattr(view, ERRORS_ATTRIBUTE, (*getattr(view, ERRORS_ATTRIBUTE, ()), *statuses))
        return view

    return decorate


def no_content(status: int = 204) -> Callable[[F], F]:
    """Document an answer without a body."""

    def decorate(view: F) -> F:
        setattr(view, NO_CONTENT_ATTRIBUTE, (*getattr(view, NO_CONTENT_ATTRIBUTE, ()), status))
        return view

    return decorate


def binary(*content_types: str) -> Callable[[F], F]:
    """Document a 200 answer of bytes (an image) in one of ``content_types``."""

    def decorate(view: F) -> F:
        setattr(view, BINARY_ATTRIBUTE, content_types)
        return view

    return decorate


def etagged(view: F) -> F:
    """Document that the route sends an ETag and answers 304 to a current If-None-Match."""
    setattr(view, ETAG_ATTRIBUTE, True)
    return view


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _error(status: int | str) -> dict[str, Any]:
    return {
        "description": STATUS_TEXT.get(status, "Error"),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional query parameter is left out, not sent as null: drop the null branch."""
    branches = schema.get("anyOf")
    if isinstance(branches, list):
        kept = [b for b in branches if b != {"type": "null"}]
        if len(kept) == 1 and len(kept) < len(branches):
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            if rest.get("default", 0) is None:
                del rest["default"]
            return {**kept[0], **rest}
    return schema


class ReelboxOpenAPI(OpenAPIProvider):
    authenticated = True  # whether the app checks credentials (Services.auth is set)

    def schema(self) -> dict[str, Any]:
        document = super().schema()
        components = document["components"]
        error_schema = TypeAdapter(ErrorResponse).json_schema(
            ref_template=REF_TEMPLATE, mode="serialization"
        )
        components["schemas"].update(error_schema.pop("$defs", {}))
        components["schemas"]["ErrorResponse"] = error_schema
        if self.authenticated:
            components["securitySchemes"] = SECURITY_SCHEMES
        document["paths"] = dict(sorted(document["paths"].items()))
        return document

    def build_path_parameter(self, name: str, converter: BaseConverter) -> dict[str, Any]:
        parameter = super().build_path_parameter(name, converter)
        if isinstance(converter, IdConverter):
            parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        elif isinstance(parameter.get("schema", {}).get("enum"), list):
            # <any(...)> keeps its values in a set: sorted, the document is the same every run.
            parameter["schema"]["enum"] = sorted(parameter["schema"]["enum"])
        return parameter

    def build_querystring_parameters(
        self, model: Any
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        required = set(TypeAdapter(model).json_schema().get("required", ()))
        parameters, definitions = super().build_querystring_parameters(model)
        for parameter in parameters:
            parameter["schema"] = _without_null(parameter["schema"])
            if parameter["name"] in required:
                parameter["required"] = True
            if parameter["schema"].get("type") == "array":
                parameter["style"] = "form"
                parameter["explode"] = True
        return parameters, definitions

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        paths = {PATH_PARAMETER.sub(r"{\1}", rule.rule): ops for ops in paths.values()}
        func = self._app.view_functions[rule.endpoint]
        blueprint = rule.endpoint.rpartition(".")[0]
        for path, operations in paths.items():
            for method, operation in list(operations.items()):
                operations[method] = self._complete(path, method, operation, func, rule)
                operations[method]["operationId"] = f"{method}_{rule.endpoint.replace('.', '_')}"
                if blueprint and "tags" not in operation:
                    operations[method]["tags"] = [blueprint]
        return paths, components

    def _complete(
        self, path: str, method: str, operation: dict[str, Any], func: Any, rule: Rule
    ) -> dict[str, Any]:
        operation = {**operation, "responses": dict(operation["responses"])}
        responses: dict[Any, Any] = operation["responses"]
        for status, response in responses.items():
            if not response.get("description"):
                response["description"] = STATUS_TEXT.get(status, "OK")
        if content_types := getattr(func, BINARY_ATTRIBUTE, ()):
            media = {"schema": {"type": "string", "format": "binary"}}
            responses[200] = {
                "description": STATUS_TEXT[200],
                "content": {content_type: media for content_type in content_types},
            }
        for status in getattr(func, NO_CONTENT_ATTRIBUTE, ()):
            responses[status] = {"description": STATUS_TEXT.get(status, "No Content")}
        if not any(200 <= int(s) < 300 for s in responses if s != "default"):
            responses[200] = {"description": "OK (not described in detail)"}
        if getattr(func, ETAG_ATTRIBUTE, False):
            responses[304] = {"description": STATUS_TEXT[304]}
            for status, response in responses.items():
                if status == 200:
                    response["headers"] = {
                        "ETag": {"schema": {"type": "string"}, "description": "strong ETag"}
                    }
        wanted: set[int] = set(getattr(func, ERRORS_ATTRIBUTE, ()))
        guarded = self.authenticated and not is_public(path)
        if guarded:
            wanted |= {401, 403, 429}
            operation["security"] = STREAM if path.startswith("/stream/") else LOGIN
        if rule.arguments:
            wanted.add(404)
        if "requestBody" in operation:
            operation["requestBody"] = {**operation["requestBody"], "required": True}
            wanted |= {400, 413}
        if any(p.get("in") == "query" for p in operation.get("parameters", ())):
            wanted.add(400)
        for status in sorted(wanted):
            responses.setdefault(status, _error(status))
        responses["default"] = _error("default")
        operation["responses"] = {str(k): v for k, v in responses.items()}
        return operation


def install(app: Quart, *, title: str, version: str, authenticated: bool) -> QuartSchema:
    """Serve the document at /api/openapi.json and Swagger UI at /api/docs."""
    app.url_map.converters["id"] = IdConverter
    provider = type("Provider", (ReelboxOpenAPI,), {"authenticated": authenticated})
    return QuartSchema(
        app,
        openapi_path="/api/openapi.json",
        swagger_ui_path="/api/docs",
        redoc_ui_path=None,
        scalar_ui_path=None,
        info=Info(
            title=title,
            version=version,
            description="Reelbox's REST API. Every error answers "
            '`{"error": {"code", "message", "details"}}`.',
        ),
        openapi_provider_class=provider,
    )
