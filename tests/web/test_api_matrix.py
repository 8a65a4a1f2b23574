"""Who may call what: every operation of the OpenAPI document, called as every kind of caller, on
things they may see and things they may not, against an access rule written down for it here.

Callers: anonymous, an admin, a member and a child (both granted the ``visible`` library only; the
child limited to PG), and a stream token of the member's playback session. Targets: what the
path names, seen or not by the caller (a PG film, an R film, the ``hidden`` library's film; the
caller's own playlist, one shared with them to view, someone else's private one; their own
playback or login session, or someone else's). The app is composed as ``reelbox serve`` composes
it, over a scanned catalog (``tests.fixtures.api``), on SQLite.

Every operation needs a row in ``TABLE``: a route added to the document without one fails
``test_every_operation_has_an_access_rule``. Success is any 2xx; refusals are exact (401, 403,
404). A case that changes something and is expected to succeed gets a fresh copy of the catalog;
reads and refusals share one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import Any

import anyio
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from quart.typing import TestClientProtocol as Client

from ingest.catalog.database import open_database
from tests.fixtures.api import Catalog, Served, make_catalog, served_app, write_media
from tests.fixtures.auth import PASSWORD

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

OK = "2xx"
Expected = int | str  # a status, or OK
ROLES = ("anonymous", "admin", "member", "child", "stream")
# Whose credentials a role uses (the stream token is one of the member's playback session).
# Anonymous calls name what the member's would.
USER_OF = {"admin": "admin", "member": "member", "child": "child", "stream": "member"}
# Who sees each target (admins see everything; the child only what is rated PG or lower).
SEES: dict[str, frozenset[str]] = {
    "family": frozenset({"admin", "member", "child"}),  # a PG film in the visible library
    "grownup": frozenset({"admin", "member"}),  # an R film there
    "secret": frozenset({"admin"}),  # a film in the hidden library
    "visible": frozenset({"admin", "member", "child"}),  # the visible library
    "hidden": frozenset({"admin"}),
    "show": frozenset({"admin", "member", "child"}),  # a series (a season) of TV-Y episodes
    "secret_show": frozenset({"admin"}),  # one in the hidden library
    "album": frozenset({"admin", "member"}),  # unrated tracks: adult, hidden from the child
    "secret_album": frozenset({"admin"}),
}
ITEMS = ("family", "grownup", "secret")
LIBRARIES = ("visible", "hidden")
SHOWS = ("show", "secret_show")
ALBUMS = ("album", "secret_album")
PLAYLISTS = ("own", "shared", "private")
OWN_OR_OTHER = ("own", "other")

# --- access rules: (role, target) -> the expected status ----------------------------------------

Rule = Callable[[str, str], Expected]


def public(status: Expected = OK, **by_role: Expected) -> Rule:
    """Anyone, with or without credentials: ``status`` (or what ``by_role`` says)."""

    def rule(role: str, target: str) -> Expected:
        return by_role.get(role, status)

    rule.public = True  # type: ignore[attr-defined]
    return rule


def guarded(decide: Rule) -> Rule:
    """A route that needs a login: anonymous callers 401, a stream token (not a login) 403, the
    rest as ``decide`` says."""

    @wraps(decide)
    def rule(role: str, target: str) -> Expected:
        if role == "anonymous":
            return 401
        return 403 if role == "stream" else decide(role, target)

    return rule


@guarded
def login(role: str, target: str) -> Expected:
    """Any logged-in user; what they may not see is 404."""
    return OK if target == "-" or role in SEES[target] else 404


@guarded
def admin(role: str, target: str) -> Expected:
    """Admins only: everyone else is refused before anything is looked up."""
    return OK if role == "admin" else 403


@guarded
def admin_change(role: str, target: str) -> Expected:
    """Admins change it; others see it (403) or do not (404)."""
    if role not in SEES[target]:
        return 404
    return OK if role == "admin" else 403


@guarded
def own_record(role: str, target: str) -> Expected:
    """The caller's own API key or login session; anyone else's is 404, to admins too."""
    return OK if target == "own" else 404


def playlist(change: bool) -> Rule:
    """Playlists: the owner everything; a view share only reads (403 to change); someone else's
    private playlist is 404, to admins too."""

    @guarded
    def rule(role: str, target: str) -> Expected:
        if target == "private":
            return 404
        if target == "own" or role == "admin":  # the admin owns "shared"
            return OK
        return 403 if change else OK

    return rule


def playback(role: str, target: str) -> Expected:
    """A playback session: its owner (by login or by its stream token) and admins; a stream token
    opens no other session (403); to other users the session does not exist (404)."""
    if role == "anonymous":
        return 401
    if target == "own" or role == "admin":
        return OK
    return 403 if role == "stream" else 404


# --- what each request carries --------------------------------------------------------------------


@dataclass
class Case:
    env: Env
    role: str
    target: str

    @property
    def user(self) -> str:
        return USER_OF.get(self.role, "member")

    @property
    def other(self) -> str:
        """Someone else than the caller, with a playlist, a key and sessions of their own."""
        return "member" if self.user == "admin" else "admin"

    @property
    def catalog(self) -> Catalog:
        return self.env.catalog

    def playlist_key(self) -> str:
        return {"own": self.user, "shared": "shared", "private": self.other}[self.target]

    async def session(self) -> dict[str, Any]:
        """The playback session the target names (the caller's own, or the other user's)."""
        return await self.env.playback(self.user if self.target == "own" else self.other)


Params = Callable[[Case], Awaitable[dict[str, Any]]]


async def nothing(case: Case) -> dict[str, Any]:
    return {}


def by_target(name: str, ids: Callable[[Catalog], dict[str, int]]) -> Params:
    async def params(case: Case) -> dict[str, Any]:
        return {name: ids(case.catalog)[case.target]}

    return params


def also(params: Params, **fixed: Any) -> Params:
    async def more(case: Case) -> dict[str, Any]:
        return {**(await params(case)), **fixed}

    return more


def group(name: str, ids: Callable[[Catalog], dict[str, int]]) -> Params:
    """A series, season or album: of the hidden library for a ``secret_`` target."""

    async def params(case: Case) -> dict[str, Any]:
        library = "hidden" if case.target.startswith("secret_") else "visible"
        return {name: ids(case.catalog)[library]}

    return params


item = by_target("item_id", lambda c: c.items)
library = by_target("library_id", lambda c: c.libraries)


async def a_library_source(case: Case) -> dict[str, Any]:
    return {**(await library(case)), "source_id": case.catalog.sources[case.target]}


series = group("series_id", lambda c: c.series)
season = group("season_id", lambda c: c.seasons)
album = group("album_id", lambda c: c.albums)


async def guest(case: Case) -> dict[str, Any]:
    return {"user_id": case.catalog.users["guest"]}


async def a_playlist(case: Case) -> dict[str, Any]:
    return {"playlist_id": case.catalog.playlists[case.playlist_key()]}


async def an_entry(case: Case) -> dict[str, Any]:
    key = case.playlist_key()
    return {"playlist_id": case.catalog.playlists[key], "entry_id": case.catalog.entries[key]}


async def a_share(case: Case) -> dict[str, Any]:
    """A share that exists: the guest's of a user's own playlist, the member's of "shared"."""
    key = case.playlist_key()
    shared_with = "member" if key == "shared" else "guest"
    return {"playlist_id": case.catalog.playlists[key], "user_id": case.catalog.users[shared_with]}


async def an_api_key(case: Case) -> dict[str, Any]:
    owner = case.user if case.target == "own" else case.other
    return {"key_id": case.catalog.api_keys[owner]}


async def a_login_session(case: Case) -> dict[str, Any]:
    owner = case.user if case.target == "own" else case.other
    return {"session_id": (await case.env.login(owner))["session_id"]}


async def a_playback(case: Case) -> dict[str, Any]:
    return {"session_id": (await case.session())["session_id"]}


def a_rendition(kind: str) -> Params:
    """A playback session's first rendition of ``kind`` (video, audio, subtitle), segment 0."""

    async def params(case: Case) -> dict[str, Any]:
        started = await case.session()
        rendition = next(r for r in started["renditions"] if r.startswith(kind[0]))
        return {"session_id": started["session_id"], "rendition_id": rendition, "n": 0}

    return params


Body = Callable[[Case], Awaitable[Any]]


def fixed(value: Any) -> Body:
    async def body(case: Case) -> Any:
        return value

    return body


async def a_refresh_token(case: Case) -> Any:
    return {"refresh_token": (await case.env.login("guest", fresh=True))["refresh_token"]}


async def an_invite_acceptance(case: Case) -> Any:
    code = case.catalog.invite_code
    return {"code": code, "username": f"new-{case.role}", "password": PASSWORD}


async def a_local_source(case: Case) -> Any:
    return {"source": {"type": "local", "path": str(case.env.spare_folder)}, "scan": False}


async def a_new_library(case: Case) -> Any:
    source = (await a_local_source(case))["source"]
    return {"name": "New", "kind": "movies", "sources": [source], "scan": False}


async def items_to_add(case: Case) -> Any:
    return {"item_ids": [case.catalog.items["family"]]}


async def the_invite(case: Case) -> dict[str, Any]:
    return {"invite_id": case.catalog.invite_id}


async def a_playback_start(case: Case) -> Any:
    return {"item_id": case.catalog.items[case.target], "profile": "chromium"}


@dataclass(frozen=True)
class Row:
    rule: Rule
    targets: tuple[str, ...] = ("-",)
    params: Params = nothing
    body: Body | None = None
    query: dict[str, str] = field(default_factory=dict)


# Every operation of the document, with who may call it. Paths are the routes' real templates.
TABLE: dict[str, Row] = {
    # service
    "GET /healthz": Row(public()),
    "GET /readyz": Row(public()),
    "GET /metrics": Row(public()),
    "GET /api/scans": Row(admin),
    # logins and sessions
    "POST /api/auth/login": Row(public(), body=fixed({"username": "guest", "password": PASSWORD})),
    "POST /api/auth/refresh": Row(public(), body=a_refresh_token),
    # without a body it ends the caller's login session, which a stream token is not
    "POST /api/auth/logout": Row(public(OK, anonymous=401, stream=400)),
    "POST /api/auth/logout-all": Row(login),
    "GET /api/auth/sessions": Row(login),
    "DELETE /api/auth/sessions/{session_id}": Row(own_record, OWN_OR_OTHER, params=a_login_session),
    "GET /api/auth/keys": Row(login),
    "POST /api/auth/keys": Row(login, body=fixed({"name": "another"})),
    "DELETE /api/auth/keys/{key_id}": Row(own_record, OWN_OR_OTHER, params=an_api_key),
    "GET /api/auth/oidc/providers": Row(public()),
    # no provider of that name: the same answer to everyone
    "GET /api/auth/oidc/{name}/start": Row(public(404), params=also(nothing, name="nobody")),
    # no pending login (its cookie) to finish
    "GET /api/auth/oidc/{name}/callback": Row(public(400), params=also(nothing, name="nobody")),
    "POST /api/auth/oidc/{name}/callback": Row(public(400), params=also(nothing, name="nobody")),
    # invites
    "GET /api/invites": Row(admin),
    "POST /api/invites": Row(admin, body=fixed({"role": "member"})),
    "DELETE /api/invites/{invite_id}": Row(admin, params=the_invite),
    "POST /api/invites/accept": Row(public(), body=an_invite_acceptance),
    # users
    "GET /api/users/me": Row(login),
    "PATCH /api/users/me": Row(login, body=fixed({"display_name": "Me"})),
    "GET /api/users": Row(admin),
    "GET /api/users/{user_id}": Row(admin, params=guest),
    "PATCH /api/users/{user_id}": Row(admin, params=guest, body=fixed({"display_name": "G"})),
    "DELETE /api/users/{user_id}": Row(admin, params=guest),
    # libraries
    "GET /api/libraries": Row(login),
    "POST /api/libraries": Row(admin, body=a_new_library),
    "GET /api/libraries/{library_id}": Row(login, LIBRARIES, params=library),
    "PATCH /api/libraries/{library_id}": Row(
        admin_change, LIBRARIES, params=library, body=fixed({"name": "Renamed"})
    ),
    "DELETE /api/libraries/{library_id}": Row(admin_change, LIBRARIES, params=library),
    "DELETE /api/libraries/{library_id}/sources/{source_id}": Row(
        admin_change, LIBRARIES, params=a_library_source
    ),
    "POST /api/libraries/{library_id}/sources": Row(
        admin_change, LIBRARIES, params=library, body=a_local_source
    ),
    "GET /api/libraries/{library_id}/scan": Row(login, LIBRARIES, params=library),
    "POST /api/libraries/{library_id}/scan": Row(admin_change, LIBRARIES, params=library),
    # browsing
    "GET /api/items": Row(login),
    "GET /api/items/{item_id}": Row(login, ITEMS, params=item),
    "GET /api/items/{item_id}/downloads": Row(login, ITEMS, params=item),
    "GET /api/items/{item_id}/download": Row(
        login, ITEMS, params=item, query={"quality": "original"}
    ),
    "GET /api/items/{item_id}/images/{kind}": Row(login, ITEMS, params=also(item, kind="thumb")),
    "GET /api/series/{series_id}": Row(login, SHOWS, params=series),
    "GET /api/series/{series_id}/images/{kind}": Row(
        login, SHOWS, params=also(series, kind="poster")
    ),
    "GET /api/seasons/{season_id}": Row(login, SHOWS, params=season),
    "GET /api/albums/{album_id}": Row(login, ALBUMS, params=album),
    "GET /api/albums/{album_id}/images/{kind}": Row(
        login, ALBUMS, params=also(album, kind="cover")
    ),
    "GET /api/search": Row(login, query={"q": "film"}),
    "GET /api/genres": Row(login),
    "GET /api/years": Row(login),
    "GET /api/home": Row(login),
    # the user's own data
    "GET /api/items/{item_id}/userdata": Row(login, ITEMS, params=item),
    "POST /api/items/{item_id}/played": Row(login, ITEMS, params=item),
    "DELETE /api/items/{item_id}/played": Row(login, ITEMS, params=item),
    "POST /api/items/{item_id}/favorite": Row(login, ITEMS, params=item),
    "DELETE /api/items/{item_id}/favorite": Row(login, ITEMS, params=item),
    "PUT /api/items/{item_id}/progress": Row(
        login, ITEMS, params=item, body=fixed({"position_us": 500_000})
    ),
    # playlists
    "GET /api/playlists": Row(login),
    "POST /api/playlists": Row(login, body=fixed({"name": "New"})),
    "GET /api/playlists/{playlist_id}": Row(playlist(False), PLAYLISTS, params=a_playlist),
    "PATCH /api/playlists/{playlist_id}": Row(
        playlist(True), PLAYLISTS, params=a_playlist, body=fixed({"name": "Renamed"})
    ),
    "DELETE /api/playlists/{playlist_id}": Row(playlist(True), PLAYLISTS, params=a_playlist),
    "POST /api/playlists/{playlist_id}/items": Row(
        playlist(True), PLAYLISTS, params=a_playlist, body=items_to_add
    ),
    "PATCH /api/playlists/{playlist_id}/items/{entry_id}": Row(
        playlist(True), PLAYLISTS, params=an_entry, body=fixed({"index": 0})
    ),
    "DELETE /api/playlists/{playlist_id}/items/{entry_id}": Row(
        playlist(True), PLAYLISTS, params=an_entry
    ),
    "PUT /api/playlists/{playlist_id}/shares/{user_id}": Row(
        playlist(True), PLAYLISTS, params=a_share, body=fixed({"can_edit": False})
    ),
    "DELETE /api/playlists/{playlist_id}/shares/{user_id}": Row(
        playlist(True), PLAYLISTS, params=a_share
    ),
    # playback
    "POST /api/playback": Row(login, ITEMS, body=a_playback_start),
    "DELETE /api/playback/{session_id}": Row(playback, OWN_OR_OTHER, params=a_playback),
    "POST /api/playback/{session_id}/progress": Row(
        playback, OWN_OR_OTHER, params=a_playback, body=fixed({"position_us": 500_000})
    ),
    "GET /stream/{session_id}/file": Row(playback, OWN_OR_OTHER, params=a_playback),
    "GET /stream/{session_id}/master.m3u8": Row(playback, OWN_OR_OTHER, params=a_playback),
    "GET /stream/{session_id}/manifest.mpd": Row(playback, OWN_OR_OTHER, params=a_playback),
    "GET /stream/{session_id}/{rendition_id}/index.m3u8": Row(
        playback, OWN_OR_OTHER, params=a_rendition("video")
    ),
    "GET /stream/{session_id}/{rendition_id}/init.mp4": Row(
        playback, OWN_OR_OTHER, params=a_rendition("video")
    ),
    "GET /stream/{session_id}/{rendition_id}/{n}.m4s": Row(
        playback, OWN_OR_OTHER, params=a_rendition("video")
    ),
    "GET /stream/{session_id}/{rendition_id}/{n}.ts": Row(
        playback, OWN_OR_OTHER, params=a_rendition("video")
    ),
    "GET /stream/{session_id}/{rendition_id}/{n}.vtt": Row(
        playback, OWN_OR_OTHER, params=a_rendition("subtitle")
    ),
}


# --- the app under test ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    database: Path  # a scanned catalog, copied for each case that changes something
    images: Path
    spare_folder: Path  # an empty folder, for the library sources the cases add
    catalog: Catalog


@dataclass
class Env:
    served: Served
    client: Client
    catalog: Catalog
    spare_folder: Path
    _logins: dict[str, dict[str, Any]] = field(default_factory=dict)
    _playbacks: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def login(self, username: str, *, fresh: bool = False) -> dict[str, Any]:
        """``username``'s tokens (one login per env, or a new one when ``fresh``)."""
        if fresh or username not in self._logins:
            response = await self.client.post(
                "/api/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 200, await response.get_data(as_text=True)
            answer: dict[str, Any] = await response.get_json()
            if fresh:
                return answer
            self._logins[username] = answer
        return self._logins[username]

    async def bearer(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {(await self.login(username))['access_token']}"}

    async def playback(self, username: str) -> dict[str, Any]:
        """A playback session of the PG film that ``username`` started: one per env, and a new
        one when the last one has ended (a minute idle ends a session, a slow run sees that)."""
        found = self._playbacks.get(username)
        if found is None or not self.served.playback.exists(found["session_id"]):
            response = await self.client.post(
                "/api/playback",
                json={"item_id": self.catalog.items["family"]},
                headers=await self.bearer(username),
            )
            assert response.status_code == 201, await response.get_data(as_text=True)
            found = self._playbacks[username] = await response.get_json()
        return found

    async def credentials(self, role: str) -> tuple[dict[str, str], dict[str, str]]:
        """Headers and query parameters that authenticate as ``role``."""
        if role == "anonymous":
            return {}, {}
        if role == "stream":
            return {}, {"token": (await self.playback("member"))["stream_token"]}
        return await self.bearer(USER_OF[role]), {}


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Module-scoped, so that the catalog and the shared app are made once for every case."""
    return "asyncio"


@pytest.fixture(scope="module")
async def template(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Template:
    root = tmp_path_factory.mktemp("matrix")
    media = await anyio.to_thread.run_sync(write_media, root / "media")
    path = root / "template.db"
    shutil.copyfile(sqlite_template, path)
    database = open_database(f"sqlite+aiosqlite:///{path}")
    try:
        catalog = await make_catalog(database, media, root / "images")
    finally:
        await database.dispose()
    spare = root / "spare"
    spare.mkdir()
    return Template(path, root / "images", spare, catalog)


@asynccontextmanager
async def app_env(template: Template, folder: Path) -> AsyncIterator[Env]:
    """The app over a copy of the template catalog."""
    path = folder / f"catalog-{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(template.database, path)
    database = open_database(f"sqlite+aiosqlite:///{path}")
    try:
        async with served_app(database, template.images) as served:
            yield Env(served, served.app.test_client(), template.catalog, template.spare_folder)
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
async def shared(
    template: Template, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Env]:
    """One app for the reads and the refusals, which change nothing (when the rules hold)."""
    async with app_env(template, tmp_path_factory.mktemp("shared")) as env:
        yield env


@pytest.fixture(scope="module")
async def document(shared: Env) -> dict[str, Any]:
    response = await shared.client.get("/api/openapi.json")
    assert response.status_code == 200
    found: dict[str, Any] = await response.get_json()
    return found


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``"METHOD /path"`` -> the operation, for every operation of ``document``."""
    return {
        f"{method.upper()} {path}": operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


# --- known bugs (the server's, each to fix in web/; a fixed one fails its strict xfail) ---------

Mark = Any
KNOWN_ACCESS_BUGS: dict[tuple[str, str, str], Mark] = {}

# The document names these routes by a broken path: "/stream/{n}.m4s" for
# "/stream/{session_id}/{rendition_id}/{n}.m4s" (its parameters still list all three).
# --- the matrix -----------------------------------------------------------------------------------


def access_cases() -> Iterator[Any]:
    for operation, row in TABLE.items():
        for target in row.targets:
            for role in ROLES:
                marks = KNOWN_ACCESS_BUGS.get((operation, role, target), ())
                yield pytest.param(
                    operation, role, target, id=f"{operation} {role} {target}", marks=marks
                )


async def call(env: Env, operation: str, role: str, target: str) -> Any:
    method, template = operation.split(" ", 1)
    row = TABLE[operation]
    case = Case(env, role, target)
    found = await row.params(case)
    names = set(re.findall(r"\{(\w+)\}", template))
    assert names <= set(found), operation
    params = {name: found[name] for name in names}
    headers, query = await env.credentials(role)
    extra: dict[str, Any] = {}
    if row.body is not None:
        extra["json"] = await row.body(case)
    return await env.client.open(
        template.format(**params),
        method=method,
        headers=headers,
        query_string={**row.query, **query},
        **extra,
    )


@pytest.mark.parametrize(("operation", "role", "target"), list(access_cases()))
async def test_access(
    operation: str, role: str, target: str, *, template: Template, shared: Env, tmp_path: Path
) -> None:
    expected = TABLE[operation].rule(role, target)
    changes = not operation.startswith("GET ") and expected == OK
    async with app_env(template, tmp_path) if changes else _as_is(shared) as env:
        response = await call(env, operation, role, target)
        text = (await response.get_data()).decode(errors="replace")[:300]
    seen = f"{operation} as {role} on {target}: {response.status_code} {text}"
    if expected == OK:
        assert 200 <= response.status_code < 300, seen
    else:
        assert response.status_code == expected, seen
        body = await response.get_json()
        assert isinstance(body, dict) and set(body) == {"error"}, seen


@asynccontextmanager
async def _as_is(env: Env) -> AsyncIterator[Env]:
    yield env


# --- the document ---------------------------------------------------------------------------------


async def test_every_operation_has_an_access_rule(document: dict[str, Any]) -> None:
    """A route added to the document without a row in ``TABLE`` fails here: give it a rule."""
    documented = set(operations(document))
    assert documented - set(TABLE) == set(), "operations without an access rule"
    assert set(TABLE) - documented == set(), "rules of operations the document lacks"


@pytest.mark.parametrize(
    "operation",
    list(TABLE),
)
async def test_the_document_describes_the_route(
    operation: str, document: dict[str, Any], shared: Env
) -> None:
    """Under its real path; with credentials unless anyone may call it; with the request body
    the route reads, which the case's body follows."""
    described = operations(document).get(operation)
    assert described is not None, f"{operation} is not documented under its path"
    row = TABLE[operation]
    public = getattr(row.rule, "public", False)
    assert ("security" not in described) == public, "security"
    if not public:
        assert {"401", "403"} <= set(described["responses"])
    if row.body is not None:
        assert "requestBody" in described, "the request body is not described"
        schema = described["requestBody"]["content"]["application/json"]["schema"]
        body = await row.body(Case(shared, "member", row.targets[0]))
        validator = Draft202012Validator({**schema, "components": document["components"]})
        assert list(validator.iter_errors(body)) == []


CLIENT_DOCUMENT = Path(__file__).resolve().parents[2] / "client" / "openapi.json"


async def test_the_client_is_typed_from_this_document(document: dict[str, Any]) -> None:
    """client/openapi.json, which the client's types are generated from (``npm run gen:api``),
    is the document the server serves. ``REELBOX_UPDATE_OPENAPI=1`` rewrites it."""
    served = {**document, "info": {**document["info"], "version": "0.1.0"}}
    if os.environ.get("REELBOX_UPDATE_OPENAPI") == "1":
        text = json.dumps(served, indent=1, sort_keys=True, ensure_ascii=False)
        CLIENT_DOCUMENT.write_text(text + "\n", encoding="utf-8")
    kept = json.loads(CLIENT_DOCUMENT.read_text(encoding="utf-8"))
    stale = sorted(
        set(operations(served)).symmetric_difference(operations(kept))
        | {op for op, found in operations(served).items() if operations(kept).get(op) != found}
    )
    assert kept == served, (
        f"client/openapi.json is stale ({', '.join(stale) or 'components'}): run "
        "REELBOX_UPDATE_OPENAPI=1 pytest tests/web/test_api_matrix.py -k client, then "
        "(cd client && npm run gen:api)"
    )
