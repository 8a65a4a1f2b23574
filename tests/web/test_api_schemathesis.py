"""schemathesis over the whole API: every operation of ``/api/openapi.json`` fuzzed on a running
server (Hypercorn on loopback, the app composed as ``reelbox serve`` composes it, over a scanned
catalog: ``tests.fixtures.api``), logged in as an admin and, on a server of its own, as a member.

Each answer must not be a 5xx, must have a status the operation lists, and a body following the
schema declared for that status and content type. Generation is bounded: ``MAX_EXAMPLES`` valid
and invalid requests per operation, no shrinking (the server's state moves on between calls), and
``BUDGET_S`` for the whole module, after which each remaining operation gets one request.

Bugs the fuzz found once (``REGRESSIONS``) each keep a request made for them, sent by
``test_regression`` on the servers as they start: fuzzing alone may not find a bug again when the
budget cuts it short, and may have deleted what a reproducer needs.

The servers scan only libraries under the test's media folder: a generated library source may name
any folder of this machine ("/"), which must not be scanned. Operations run reads first and
deletions last, so that fewer of them find what they name already deleted; each logs in again
when a generated call ended the last login (logout, logout-all, a changed role), which is why the
servers allow more logins per account than the default.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
import requests
import schemathesis
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ingest.catalog.database import open_database
from tests.fixtures.api import Catalog, make_catalog, on_loopback, served_app, write_media
from tests.fixtures.auth import PASSWORD
from tests.web.test_api_matrix import TABLE
from web.api.openapi import MAX_ID
from web.settings import AuthSettings

pytestmark = [pytest.mark.slow]

MAX_EXAMPLES = 25
BUDGET_S = 150.0  # both servers together; on an idle machine the module takes about a minute
ROLES = ("admin", "member")
ORDER = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
# Every operation of the document (``test_api_matrix`` fails for one it does not list), reads
# first and deletions last.
OPERATIONS = sorted(TABLE, key=lambda op: (ORDER[op.split(" ")[0]], op))


@dataclass
class Server:
    role: str
    url: str
    catalog: Catalog
    schema: Any  # schemathesis's, loaded from the server
    token: dict[str, str] = field(default_factory=dict)  # the role's last login


@asynccontextmanager
async def running(root: Path, template: Path) -> AsyncIterator[tuple[str, Catalog]]:
    media = await anyio.to_thread.run_sync(write_media, root / "media")
    database = open_database(f"sqlite+aiosqlite:///{template}")
    try:
        catalog = await make_catalog(database, media, root / "images")
        async with (
            served_app(
                database,
                root / "images",
                scans_under=root / "media",
                auth_settings=AuthSettings(login_attempts_per_account=1000),
            ) as served,
            on_loopback(served.app) as url,
        ):
            yield url, catalog
    finally:
        await database.dispose()


@dataclass
class Servers:
    """A server for each role, started on first use, in one event loop thread (schemathesis
    calls them synchronously, with ``requests``)."""

    portal: BlockingPortal
    stack: ExitStack
    folders: pytest.TempPathFactory
    template: Path
    started: dict[str, Server] = field(default_factory=dict)
    since: float = 0.0  # when the first one answered (time.monotonic())

    def __call__(self, role: str) -> Server:
        if role not in self.started:
            root = self.folders.mktemp(f"schemathesis-{role}")
            catalog = root / "catalog.db"
            catalog.write_bytes(self.template.read_bytes())
            made = self.portal.wrap_async_context_manager(running(root, catalog))
            url, ids = self.stack.enter_context(made)
            config = schemathesis.Config.from_dict({"base-url": url, "request-timeout": 10})
            schema = schemathesis.openapi.from_url(f"{url}/api/openapi.json", config=config)
            self.started[role] = Server(role, url, ids, schema)
            self.since = self.since or time.monotonic()
        return self.started[role]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Servers]:
    with ExitStack() as stack:
        portal = stack.enter_context(start_blocking_portal(backend="asyncio"))
        yield Servers(portal, stack, tmp_path_factory, sqlite_template)


def login(server: Server, *, fresh: bool = False) -> dict[str, str]:
    """A bearer token of the role's: the last one while it works, else (or when ``fresh``) a
    new login."""
    if server.token and not fresh:
        me = requests.get(f"{server.url}/api/users/me", headers=server.token, timeout=10)
        if me.status_code == 200:
            return server.token
    answer = requests.post(
        f"{server.url}/api/auth/login",
        json={"username": server.role, "password": PASSWORD},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    made = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    if not fresh:
        server.token = made
    return made


def operation_of(server: Server, operation: str) -> Any:
    found = server.schema.find_operation_by_label(operation)
    assert found is not None, f"{operation} is not in the document"
    return found


def status_declared(ctx: Any, response: Any, case: Any) -> None:
    """Below 500, the status is one the operation lists. (schemathesis's own
    ``status_code_conformance`` accepts anything when a ``default`` answer is declared, which
    every operation here has: it is the 5xx error.)"""
    declared = case.operation.responses.status_codes
    if response.status_code < 500 and str(response.status_code) not in declared:
        raise AssertionError(
            f"{case.operation.label} answered {response.status_code}, "
            f"which it does not declare ({', '.join(declared)})"
        )


CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_declared,
    schemathesis.checks.response_schema_conformance,
]


# --- regressions: bugs found once, each with the request that showed it ---------------------------


@dataclass(frozen=True)
class Call:
    """What a reproducer needs: the server, the operation, the role's credentials."""

    server: Server
    operation: str
    found: Any  # the schemathesis operation
    headers: dict[str, str]

    def send(self, path: str | None = None, **kwargs: Any) -> requests.Response:
        """The operation's method on ``path`` (by default its own, every parameter 1)."""
        method, template = self.operation.split(" ", 1)
        url = self.server.url + (path or re.sub(r"\{[^}]+\}", "1", template))
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(method, url, headers=headers, timeout=10, **kwargs)

    def expect_declared(self, answer: requests.Response) -> None:
        """The correct behaviour: no 5xx, and a status the document lists for the operation."""
        declared = self.found.responses.status_codes
        assert answer.status_code < 500 and str(answer.status_code) in declared, (
            f"{self.operation}: {answer.status_code} {answer.text[:200]} (declared: {declared})"
        )

    def made(self, path: str, body: Any) -> Any:
        """POST ``body`` to ``path`` as the role, which makes something (201)."""
        answer = requests.post(self.server.url + path, json=body, headers=self.headers, timeout=10)
        if answer.status_code != 201:  # not the bug: what its reproducer needs
            raise RuntimeError(f"POST {path}: {answer.status_code} {answer.text}")
        return answer.json()


Reproduce = Callable[[Call], None]


@dataclass(frozen=True)
class Regression:
    bug: str  # what the server did
    reproduce: Reproduce  # raises AssertionError if it does it again


def a_playback(call: Call) -> str:
    """The path of a playback session the role starts."""
    started = call.made("/api/playback", {"item_id": call.server.catalog.items["family"]})
    return f"/api/playback/{started['session_id']}"


def huge_ids(call: Call) -> None:
    """An id past the largest the document allows (2**63 - 1) names nothing: 404."""
    path = re.sub(r"\{[^}]+\}", str(MAX_ID + 1), call.operation.split(" ", 1)[1])
    call.expect_declared(call.send(path))


def as_is(call: Call) -> None:
    """The operation without a body, on names that match nothing."""
    call.expect_declared(call.send(re.sub(r"\{[^}]+\}", "nobody", call.operation.split()[1])))


def on(path: Callable[[Call], str], **kwargs: Any) -> Reproduce:
    """The operation on what ``path`` makes: a success."""

    def reproduce(call: Call) -> None:
        call.expect_declared(call.send(path(call), **kwargs))

    return reproduce


def a_key(call: Call) -> str:
    return f"/api/auth/keys/{call.made('/api/auth/keys', {'name': 'k'})['id']}"


def an_invite(call: Call) -> str:
    return f"/api/invites/{call.made('/api/invites', {})['id']}"


def a_login_session(call: Call) -> str:
    me = requests.get(
        f"{call.server.url}/api/users/me", headers=login(call.server, fresh=True), timeout=10
    )
    return f"/api/auth/sessions/{me.json()['session_id']}"


def logout(call: Call) -> None:
    call.expect_declared(call.send(headers=login(call.server, fresh=True)))


def undeclared(statuses: str) -> str:
    return f"answered {statuses}, which the operation did not declare"


WITH_405 = (
    "PATCH /api/users/{user_id}",
    "DELETE /api/users/{user_id}",
    "DELETE /api/libraries/{library_id}",
    "GET /api/libraries/{library_id}/scan",
    "DELETE /api/items/{item_id}/played",
    "DELETE /api/items/{item_id}/favorite",
    "PATCH /api/playlists/{playlist_id}",
    "DELETE /api/playlists/{playlist_id}",
    "DELETE /api/playlists/{playlist_id}/items/{entry_id}",
    "DELETE /api/playlists/{playlist_id}/shares/{user_id}",
)
OUT_OF_RANGE = (
    f"an id outside 1..{MAX_ID} (0, or above the document's maximum) did not match the <id:> "
    "converter, and where another rule had the same path the answer was 405 (without an Allow "
    "header), not 404"
)
BOTH, ADMIN, MEMBER = ROLES, ("admin",), ("member",)
Row = tuple[tuple[str, ...], tuple[str, ...], Regression]


def row(roles: tuple[str, ...], operations: str | tuple[str, ...], bug: str, how: Reproduce) -> Row:
    named = (operations,) if isinstance(operations, str) else operations
    return roles, named, Regression(bug, how)


def progress_of(call: Call) -> str:
    return f"{a_playback(call)}/progress"


REGRESSIONS: list[Row] = [
    row(BOTH, WITH_405, OUT_OF_RANGE, huge_ids),
    row(
        BOTH,
        ("GET /api/auth/oidc/{name}/callback", "POST /api/auth/oidc/{name}/callback"),
        undeclared("400 (no pending login to finish)"),
        as_is,
    ),
    row(BOTH, "POST /api/auth/login", undeclared("400, 401 and 429"), as_is),
    row(BOTH, "POST /api/auth/refresh", undeclared("400 and 401"), as_is),
    row(BOTH, "POST /api/auth/logout", undeclared("204 (not 200), 400 and 401"), logout),
    row(BOTH, "POST /api/auth/keys", undeclared("201 (not 200) and 400"), as_is),
    row(ADMIN, "POST /api/invites", undeclared("201 (not 200) and 400"), as_is),
    row(BOTH, "POST /api/invites/accept", undeclared("201 (not 200), 400, 401, 409, 410"), as_is),
    row(BOTH, "POST /api/playback", undeclared("201 (not 200) and 400"), as_is),
    row(
        BOTH,
        "POST /api/playback/{session_id}/progress",
        undeclared("204 (not 200) and 400"),
        on(progress_of, json={"position_us": 0}),
    ),
    row(BOTH, "DELETE /api/playback/{session_id}", undeclared("204 (not 200)"), on(a_playback)),
    row(BOTH, "DELETE /api/auth/keys/{key_id}", undeclared("204 (not 200)"), on(a_key)),
    row(
        BOTH,
        "DELETE /api/auth/sessions/{session_id}",
        undeclared("204 (not 200)"),
        on(a_login_session),
    ),
    row(ADMIN, "DELETE /api/invites/{invite_id}", undeclared("204 (not 200)"), on(an_invite)),
]


def regressions(role: str, operation: str) -> list[Regression]:
    return [r for roles, operations, r in REGRESSIONS if role in roles and operation in operations]


# --- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "operation"),
    [
        pytest.param(role, op, id=f"{role} {op}")
        for role in ROLES
        for op in OPERATIONS
        if regressions(role, op)
    ],
)
def test_regression(role: str, operation: str, servers: Servers) -> None:
    """The request that once showed a bug answers as the document says."""
    server = servers(role)
    call = Call(server, operation, operation_of(server, operation), login(server))
    for regression in regressions(role, operation):
        try:
            regression.reproduce(call)
        except AssertionError as exc:
            raise AssertionError(f"again: {regression.bug}: {exc}") from exc


@pytest.mark.parametrize(
    ("role", "operation"),
    [pytest.param(role, op, id=f"{role} {op}") for role in ROLES for op in OPERATIONS],
)
def test_operation(role: str, operation: str, servers: Servers) -> None:
    server = servers(role)
    found = operation_of(server, operation)
    strategy = st.one_of(
        found.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE),
        found.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
    )
    headers = login(server)
    calls = 0

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        nonlocal calls
        if calls and time.monotonic() - servers.since > BUDGET_S:
            return
        calls += 1
        with requests.Session() as session:
            case.call_and_validate(session=session, headers=headers, checks=CHECKS)

    fuzz()
