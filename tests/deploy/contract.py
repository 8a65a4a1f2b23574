"""What the deployment artifacts must agree with: the server's settings and its routes.

Every manifest (Dockerfile, compose file, Helm chart) configures Reelbox through ``REELBOX_*``
environment variables and probes it over HTTP; these helpers answer from the real code:
``web.settings.Settings`` (pydantic-settings, prefix ``REELBOX_``, nested delimiter ``__``) and
the app ``web.app.create_app`` builds.
"""

from __future__ import annotations

import json
import os
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from quart import Quart

from web.app import Services, create_app
from web.settings import Settings

REPO = Path(__file__).resolve().parents[2]
PREFIX = "REELBOX_"


class NotASetting(LookupError):
    pass


def setting_path(name: str) -> tuple[str, ...]:
    """The field path ``name`` sets (``REELBOX_S3__ENDPOINT_URL`` -> ``("s3", "endpoint_url")``);
    raises ``NotASetting`` for a name the server would ignore or refuse."""
    if not name.startswith(PREFIX) or name != name.upper():
        raise NotASetting(f"{name}: settings are upper-case REELBOX_* names")
    parts = name.removeprefix(PREFIX).lower().split("__")
    model: type[BaseModel] = Settings
    path: list[str] = []
    i = 0
    while True:
        field = model.model_fields.get(parts[i])
        if field is None:
            raise NotASetting(f"{name}: {model.__name__} has no field {parts[i]!r}")
        path.append(parts[i])
        i += 1
        if i == len(parts):
            return tuple(path)
        inner = _nested_model(field)
        if inner is None:
            raise NotASetting(f"{name}: {'.'.join(path)} has no fields of its own")
        keyed, model = inner
        if keyed:  # dict[str, Model]: the next part is a key the user chose
            path.append(parts[i])
            i += 1
            if i == len(parts):
                raise NotASetting(f"{name}: names a whole {model.__name__}, not one field")


def _nested_model(field: FieldInfo) -> tuple[bool, type[BaseModel]] | None:
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return False, annotation
    if typing.get_origin(annotation) is dict:
        value = typing.get_args(annotation)[1]
        if isinstance(value, type) and issubclass(value, BaseModel):
            return True, value
    return None


def settings_from_env(env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """``Settings()`` as a process with exactly these ``REELBOX_*`` variables would load them;
    each variable must land in its field (a name pydantic-settings ignores fails here)."""
    for name in list(os.environ):
        if name.startswith(PREFIX):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    for name, value in env.items():
        if not name.startswith(PREFIX):
            continue
        loaded = _at(settings, setting_path(name))
        assert _same(loaded, value), f"{name}={value!r} loaded as {loaded!r}"
    return settings


def _at(settings: Settings, path: tuple[str, ...]) -> Any:
    node: Any = settings
    for part in path:
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def _same(loaded: Any, raw: str) -> bool:
    if isinstance(loaded, SecretStr):
        return loaded.get_secret_value() == raw
    if isinstance(loaded, bool):
        return str(loaded).lower() == raw.strip().lower()
    if isinstance(loaded, list):
        return [str(v) for v in loaded] == [str(v) for v in json.loads(raw)]
    if isinstance(loaded, Path):
        return loaded == Path(raw)
    if isinstance(loaded, int | float):
        return loaded == type(loaded)(raw)
    return bool(loaded == raw)


def reelbox_names(env: Mapping[str, object]) -> list[str]:
    return sorted(name for name in env if name.startswith(PREFIX))


# --- routes -------------------------------------------------------------------------------------


async def _ok() -> None:
    return None


async def _down() -> None:
    raise ConnectionRefusedError("the database is down")


def probe_app(tmp_path: Path, *, dependency_up: bool) -> Quart:
    """The app with the web client's build served at / (whose catch-all route must not swallow
    a probe path) and one readiness check that passes or fails."""
    webapp = tmp_path / "webapp"
    webapp.mkdir(exist_ok=True)
    (webapp / "index.html").write_text("<!doctype html><title>Reelbox</title>")
    check = _ok if dependency_up else _down
    return create_app(
        Services(version="deploy-test", checks={"database": check}, webapp_dir=webapp)
    )


async def get(app: Quart, path: str) -> tuple[int, Any]:
    response = await app.test_client().get(path)
    body = await response.get_json() if response.mimetype == "application/json" else None
    return response.status_code, body


async def assert_liveness_path(path: str, tmp_path: Path) -> None:
    """``path`` answers 200 while a dependency is down: liveness must not restart a node that
    only lost PostgreSQL or Redis."""
    status, body = await get(probe_app(tmp_path, dependency_up=False), path)
    assert status == 200 and body is not None and body.get("status") == "ok", (path, status, body)


async def assert_readiness_path(path: str, tmp_path: Path) -> None:
    """``path`` answers 2xx when the dependencies answer and 503 when one does not."""
    status, body = await get(probe_app(tmp_path, dependency_up=True), path)
    assert status == 200 and body is not None and body.get("status") == "ready", (path, status)
    status, body = await get(probe_app(tmp_path, dependency_up=False), path)
    assert status == 503 and body is not None and body.get("status") == "not ready", (path, status)


def websocket_rules() -> set[str]:
    """The WebSocket routes of the app, as ``web.app`` registers them (events and auth are only
    captured by the route functions, not called, when the blueprint is made)."""
    from web.ws import ws_routes

    app = Quart("rules")
    app.register_blueprint(ws_routes(typing.cast(Any, None), typing.cast(Any, None)))
    return {rule.rule for rule in app.url_map.iter_rules() if rule.websocket}
