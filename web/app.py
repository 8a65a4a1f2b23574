"""The Quart application factory. Routes reach the rest of Reelbox only through ``Services``.

Here: liveness (``/healthz``), readiness (``/readyz``: database, image store, shared state),
``/metrics``, the scan status admins watch, CORS for clients served from elsewhere (the Expo dev
server, native apps need none), and the web client's build at ``/`` with its client-side routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import structlog
from quart import Blueprint, Quart, jsonify
from quart.typing import ResponseReturnValue
from quart_cors import cors

from web.api import Api, api_blueprints
from web.api.openapi import install as install_openapi
from web.auth import Forbidden
from web.auth.principal import EXTENSION as AUTH_EXTENSION
from web.auth.principal import current_principal
from web.auth.principal import install as auth_hook
from web.auth.routes import auth_routes
from web.auth.service import Auth
from web.download_routes import download_routes
from web.errors import register_error_handlers
from web.events import Events
from web.metrics import Metrics, install_request_metrics, metrics_routes
from web.playback import Playback
from web.streaming import streaming_routes
from web.webapp import webapp_routes
from web.ws import WsSettings, ws_routes

log = structlog.get_logger(__name__)

Check = Callable[[], Awaitable[None]]
# Request bodies are small JSON documents; a larger one is refused with 413 before it is read.
MAX_BODY = 1 << 20


@dataclass(frozen=True, slots=True)
class Services:
    """What the routes need, built by the composition root (``web.__main__``)."""

    version: str
    # Named readiness checks: each raises when its dependency does not answer.
    checks: Mapping[str, Check] = field(default_factory=dict)
    scan_status: Callable[[], list[dict[str, Any]]] = list
    check_timeout_s: float = 2.0
    playback: Playback | None = None
    # Authentication: when set, every request is authenticated (``web.auth.principal``) and the
    # /api/auth, /api/invites and /api/users/me routes are served.
    auth: Auth | None = None
    # More routes the composition root assembled (OpenID Connect login, ...).
    blueprints: tuple[Blueprint, ...] = ()
    # The REST resources (users, libraries, items, images, user data, playlists): served when
    # set, and only with ``auth`` (every one of them needs a login).
    api: Api | None = None
    # Server events to WebSocket clients (/api/ws: library, scans, user data, remote control).
    events: Events | None = None
    ws_settings: WsSettings | None = None
    # Prometheus metrics at /metrics (open, or for ``Authorization: Bearer <metrics_token>``).
    metrics: Metrics | None = None
    metrics_token: str | None = None
    # The web client's build (index.html and assets), served at / when present.
    webapp_dir: Path | None = None


def create_app(services: Services) -> Quart:
    app = Quart("reelbox")
    app.config["JSON_SORT_KEYS"] = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    register_error_handlers(app)
    if services.metrics is not None:
        install_request_metrics(app, services.metrics)
        app.register_blueprint(metrics_routes(services.metrics, token=services.metrics_token))
    # The OpenAPI document at /api/openapi.json (Swagger UI at /api/docs); before the routes,
    # whose ``<id:...>`` parameters need its converter.
    install_openapi(
        app, title="Reelbox", version=services.version, authenticated=services.auth is not None
    )

    if services.auth is not None:
        app.extensions[AUTH_EXTENSION] = services.auth
        app.before_request(auth_hook(services.auth))
        app.register_blueprint(auth_routes(services.auth))
    for blueprint in services.blueprints:
        app.register_blueprint(blueprint)
    if services.playback is not None:
        app.register_blueprint(streaming_routes(services.playback, services.auth))
        app.register_blueprint(download_routes(services.playback, services.auth))
    if services.api is not None:
        if services.auth is None:
            raise ValueError("the REST API needs authentication (Services.auth)")
        for blueprint in api_blueprints(services.api):
            app.register_blueprint(blueprint)
    if services.events is not None and services.auth is not None:
        app.register_blueprint(ws_routes(services.events, services.auth, services.ws_settings))
    if services.webapp_dir is not None:
        app.register_blueprint(webapp_routes(services.webapp_dir))

    @app.get("/healthz")
    async def healthz() -> ResponseReturnValue:
        return jsonify(status="ok", version=services.version)

    @app.get("/readyz")
    async def readyz() -> ResponseReturnValue:
        results = {
            name: await _run_check(check, services.check_timeout_s)
            for name, check in services.checks.items()
        }
        ready = all(r["ok"] for r in results.values())
        return jsonify(status="ready" if ready else "not ready", checks=results), (
            200 if ready else 503
        )

    @app.get("/api/scans")
    async def scans() -> ResponseReturnValue:
        """Every library's scan statistics (for admins when logins are on)."""
        if services.auth is not None:
            principal = current_principal()
            if not principal.is_admin:
                raise Forbidden("scan statistics are for admins")
        return jsonify(scans=services.scan_status())

    # Bearer tokens, not cookies, authenticate the API: any origin may call it (a browser still
    # needs the token). Preflights answer for the headers clients send and expose Retry-After.
    return cors(
        app,
        allow_origin="*",
        allow_headers=["Authorization", "Content-Type", "Range", "If-None-Match", "X-Api-Key"],
        allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
        expose_headers=["Retry-After", "Content-Range", "Accept-Ranges", "ETag", "Location"],
        max_age=86400,
    )


async def _run_check(check: Check, limit_s: float) -> dict[str, Any]:
    started = anyio.current_time()
    try:
        with anyio.fail_after(limit_s):
            await check()
    except TimeoutError:
        return {"ok": False, "error": f"no answer within {limit_s:g} s"}
    except Exception as exc:
        log.warning("readyz.check_failed", error=repr(exc))
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "latency_ms": round((anyio.current_time() - started) * 1000, 1)}
