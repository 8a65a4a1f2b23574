"""The HTTP surface that exists so far: liveness, readiness, scan status, JSON errors."""

from __future__ import annotations

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
