"""The HTTP surface that exists so far: liveness, readiness, scan status, JSON errors."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from engine.errors import ActorTimeout, Overloaded
from web.app import Services, create_app

pytestmark = pytest.mark.anyio


async def _ok() -> None:
    return None


async def _down() -> None:
    raise ConnectionRefusedError("connection refused")


async def _hangs() -> None:
    await anyio.sleep(30)


async def test_healthz_and_readyz_when_everything_answers() -> None:
    app = create_app(Services(version="1.2.3", checks={"database": _ok, "images": _ok}))
    client = app.test_client()
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok", "version": "1.2.3"}
    response = await client.get("/readyz")
    body = await response.get_json()
    assert response.status_code == 200 and body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True


async def test_readyz_names_the_failing_dependency() -> None:
    app = create_app(
        Services(version="x", checks={"database": _down, "images": _hangs}, check_timeout_s=0.2)
    )
    response = await app.test_client().get("/readyz")
    body = await response.get_json()
    assert response.status_code == 503 and body["status"] == "not ready"
    assert "ConnectionRefusedError" in body["checks"]["database"]["error"]
    assert "no answer within 0.2 s" in body["checks"]["images"]["error"]


async def test_unknown_routes_and_errors_answer_json() -> None:
    app = create_app(Services(version="x"))

    @app.get("/boom")
    async def boom() -> str:
        raise RuntimeError("secret internals")

    @app.get("/busy")
    async def busy() -> str:
        raise Overloaded("all encoders are busy", retry_after=2.4)

    @app.get("/slow")
    async def slow() -> str:
        raise ActorTimeout("the session did not answer within 10 s")

    client = app.test_client()
    response = await client.get("/nope")
    assert response.status_code == 404
    assert (await response.get_json())["error"]["code"] == "not_found"
    response = await client.post("/healthz")
    assert response.status_code == 405
    response = await client.get("/boom")
    body = await response.get_json()
    assert response.status_code == 500 and "secret" not in str(body)
    response = await client.get("/busy")
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert (await response.get_json())["error"]["code"] == "overloaded"
    response = await client.get("/slow")
    assert response.status_code == 504
    assert (await response.get_json())["error"]["code"] == "timeout"


async def test_scan_status_is_exposed() -> None:
    app = create_app(
        Services(version="x", scan_status=lambda: [{"library_id": 1, "phase": "probe"}])
    )
    response = await app.test_client().get("/api/scans")
    assert (await response.get_json()) == {"scans": [{"library_id": 1, "phase": "probe"}]}


async def test_cors_preflight_names_what_clients_send() -> None:
    """A client on another origin (the Expo dev server) may POST JSON with a bearer token."""
    client = create_app(Services(version="x")).test_client()
    response = await client.options(
        "/api/scans",
        headers={
            "Origin": "http://localhost:8081",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Max-Age"] == "86400"
    answer = await client.get("/healthz", headers={"Origin": "http://localhost:8081"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "Retry-After" in answer.headers["Access-Control-Expose-Headers"]


async def test_the_web_client_is_served_with_its_routes(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>Reelbox</title>")
    (tmp_path / "_expo" / "static" / "js").mkdir(parents=True)
    (tmp_path / "_expo" / "static" / "js" / "app-1a2b.js").write_text("console.log(1)")
    client = create_app(Services(version="x", webapp_dir=tmp_path)).test_client()
    page = await client.get("/")
    assert page.status_code == 200 and "Reelbox" in await page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-cache"
    script = await client.get("/_expo/static/js/app-1a2b.js")
    assert script.status_code == 200 and "immutable" in script.headers["Cache-Control"]
    routed = await client.get("/library/3")  # a client-side route: the page
    assert routed.status_code == 200 and "Reelbox" in await routed.get_data(as_text=True)
    for missing in ("/api/nothing", "/stream/x/y", "/_expo/static/js/gone.js", "/poster.png"):
        answer = await client.get(missing)
        assert answer.status_code == 404, missing
        assert (await answer.get_json())["error"]["code"] == "not_found", missing
    assert (await client.get("/healthz")).status_code == 200
    document = await (await client.get("/api/openapi.json")).get_json()
    assert "/" not in document["paths"] and "/{path}" not in document["paths"]
