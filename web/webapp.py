"""The web client's build (``client/dist``: ``index.html`` and hashed assets) at ``/``, so one
URL is the whole app. Paths the client routes itself (``/library/3``, ``/play/42``) get
``index.html``; API and stream paths never do: an unknown one stays a JSON 404."""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, send_from_directory
from quart.typing import ResponseReturnValue
from quart_schema import hide
from werkzeug.exceptions import NotFound

# Paths that belong to the server: never answered with the client's page.
SERVER_PREFIXES = ("api/", "stream/", "metrics", "healthz", "readyz")
# Expo's export names assets by content hash: they never change under one name.
IMMUTABLE = "public, max-age=31536000, immutable"


def webapp_routes(root: Path) -> Blueprint:
    routes = Blueprint("webapp", __name__)
    root = root.resolve()

    @routes.get("/")
    @hide  # the client's page, not an API operation
    async def index() -> ResponseReturnValue:
        return await _page(root)

    @routes.get("/<path:path>")
    @hide
    async def asset(path: str) -> ResponseReturnValue:
        if path.startswith(SERVER_PREFIXES):
            raise NotFound(f"no route /{path}")
        candidate = (root / path).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            response = await send_from_directory(root, path)
            if path.startswith(("_expo/", "assets/")):
                response.headers["Cache-Control"] = IMMUTABLE
            return response
        if Path(path).suffix and not path.endswith(".html"):
            raise NotFound(f"no file /{path}")  # a missing asset, not a client route
        return await _page(root)

    return routes


async def _page(root: Path) -> ResponseReturnValue:
    response = await send_from_directory(root, "index.html")
    response.headers["Cache-Control"] = "no-cache"  # it names the current assets
    return response
