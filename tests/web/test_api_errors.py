"""The API's edges on SQLite: one JSON error shape for malformed JSON, wrong types, unknown fields,
huge bodies and wrong methods; every guarded route in the OpenAPI document refuses anonymous
callers; the document itself is valid OpenAPI 3.1 and lists every route with its methods.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from ingest.catalog.database import Database, open_database
from tests.web.test_api_support import ApiEnv, api_env, error_of

pytestmark = pytest.mark.anyio

HIDDEN = {"/api/openapi.json", "/api/docs", "/static/<path:filename>"}


@pytest.fixture
async def env(sqlite_catalog_url: str, tmp_path: Path) -> AsyncIterator[ApiEnv]:
    database: Database = open_database(sqlite_catalog_url)
    try:
        async with api_env(database, tmp_path) as made:
            yield made
    finally:
        await database.dispose()


@pytest.fixture
async def document(env: ApiEnv) -> dict[str, Any]:
    response = await env.client.get("/api/openapi.json")
    assert response.status_code == 200
    found: dict[str, Any] = await response.get_json()
    return found


async def test_malformed_bodies_answer_400_in_the_one_shape(env: ApiEnv) -> None:
    headers = {**(await env.headers("member")), "Content-Type": "application/json"}
    response = await env.client.post("/api/playlists", data=b'{"name": ', headers=headers)
    assert (await error_of(response, 400))["code"] == "bad_request"
    for path in ("/api/playlists", "/api/auth/login", "/api/auth/keys"):  # not UTF-8
        response = await env.client.post(path, data=b"\xb8\n", headers=headers)
        assert "not UTF-8" in (await error_of(response, 400))["message"], path
    huge = await env.client.delete("/api/auth/keys/9223372036854775808", headers=headers)
    assert (await error_of(huge, 404))["code"] == "not_found"  # past 2**63 - 1: no such key
    response = await env.client.post("/api/playlists", data=b"[1, 2]", headers=headers)
    assert (await error_of(response, 400))["code"] == "invalid_request"
    response = await env.client.post(
        "/api/playlists", data=b"name=x", headers={**(await env.headers("member"))}
    )
    assert (await error_of(response, 400))["code"] == "invalid_request"
    error = await env.error("POST", "/api/playlists", "member", json={"name": "x", "colour": 1})
    assert error["details"]["errors"][0]["type"] == "extra_forbidden"
    assert "colour" in error["message"]
    # NUL characters never reach the database (PostgreSQL refuses them).
    error = await env.error("POST", "/api/playlists", "member", json={"name": "a\x00b"})
    assert error["details"]["field"] == "name"
    error = await env.error("GET", "/api/search?q=a%00b", "member")
    assert error["details"]["field"] == "q"
    error = await env.error("GET", "/api/items?type=movie&search=%00", "member")
    assert error["details"]["field"] == "search"


async def test_huge_bodies_are_413_and_wrong_methods_405(env: ApiEnv) -> None:
    body = b'{"name": "' + b"x" * (2 << 20) + b'"}'
    headers = {**(await env.headers("member")), "Content-Type": "application/json"}
    response = await env.client.post("/api/playlists", data=body, headers=headers)
    assert (await error_of(response, 413))["code"] == "request_entity_too_large"
    response = await env.call("PUT", "/api/items", "member")
    assert (await error_of(response, 405))["code"] == "method_not_allowed"
    response = await env.call("GET", "/api/nothing-here", "member")
    assert (await error_of(response, 404))["code"] == "not_found"


async def test_the_openapi_document_is_valid_and_complete(
    env: ApiEnv, document: dict[str, Any]
) -> None:
    validate(document)
    assert document["openapi"].startswith("3.1") and document["info"]["title"] == "Reelbox"
    routes: dict[str, set[str]] = {}
    for rule in env.app.url_map.iter_rules():
        if rule.rule in HIDDEN:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
        routes.setdefault(path, set()).update(methods)
    documented = {path: set(ops) for path, ops in document["paths"].items()}
    assert documented == routes
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert "default" in op["responses"], (method, path)
            if path.startswith("/api/") and "security" in op:
                assert {"401", "403"} <= set(op["responses"]), (method, path)
            if "{" in path:
                assert "404" in op["responses"], (method, path)
            if "requestBody" in op:
                assert {"400", "413"} <= set(op["responses"]), (method, path)
                schema = op["requestBody"]["content"]["application/json"]["schema"]
                assert schema.get("additionalProperties") is False, (method, path)
    items = document["paths"]["/api/items"]["get"]
    names = {p["name"] for p in items["parameters"]}
    assert {
        "library_id",
        "type",
        "genre",
        "year",
        "unwatched",
        "favorite",
        "sort",
        "cursor",
    } <= names
    assert {"offset", "limit", "total", "order", "search"} <= names
    assert "304" in items["responses"] and "ETag" in items["responses"]["200"]["headers"]
    search = document["paths"]["/api/search"]["get"]["parameters"]
    assert next(p for p in search if p["name"] == "q")["required"] is True
    error = document["components"]["schemas"]["ErrorResponse"]
    assert error["required"] == ["error"]
    docs = await env.client.get("/api/docs")
    assert docs.status_code == 200 and "swagger-ui" in await docs.get_data(as_text=True)


async def test_every_guarded_route_refuses_anonymous_callers(
    env: ApiEnv, document: dict[str, Any]
) -> None:
    checked = 0
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            if "security" not in op:
                continue
            url = re.sub(r"\{[^}]+\}", "1", path).replace("/1/images/1", "/1/images/thumb")
            response = await env.client.open(url, method=method.upper(), json={})
            error = await error_of(response, 401)
            assert error["code"] == "unauthorized", (method, path)
            checked += 1
    public = {
        p for p, ops in document["paths"].items() for op in ops.values() if "security" not in op
    }
    assert public == {
        "/healthz",
        "/readyz",
        "/api/auth/login",
        "/api/auth/logout",
        "/api/auth/refresh",
        "/api/invites/accept",
    }
    assert checked >= 45
