"""The WebSocket ``/api/ws`` through Quart's test client: authentication and its close codes,
events filtered by who may see them, devices and remote control, keepalive, slow clients and
shutdown; each on the in-process state and on Redis. On Redis, two apps on one Redis prefix are
two nodes: events, remote commands and device lists cross between them, never between users.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from quart import Quart
from quart.testing.connections import WebsocketDisconnectError

from ingest.catalog import libraries, users
from ingest.catalog.database import Database, open_database
from ingest.models import LibraryKind
from ingest.state import Event, State, open_state
from tests.fixtures.auth import PASSWORD, Clock, add_user, cheap_passwords
from tests.fixtures.services import (
    REDIS_URL,
    free_port,
    key_prefix,
    service_missing,
    tcp_answers,
)
from web.app import Services, create_app
from web.auth.principal import Principal
from web.auth.service import Auth
from web.events import Device, Events, Recipient, client_message
from web.settings import AuthSettings
from web.ws import WsSettings, ws_routes

pytestmark = pytest.mark.anyio

FLAVOURS = [
    pytest.param("memory", id="memory"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
]
QUICK = WsSettings(auth_timeout_s=2.0)


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "redis" and not tcp_answers(REDIS_URL, 6379):
        service_missing("Redis", REDIS_URL)
    return name


@pytest.fixture
async def prefix(flavour: str) -> AsyncIterator[str]:
    async with key_prefix(on_redis=flavour == "redis") as made:
        yield made


@dataclass
class Node:
    app: Quart
    events: Events
    auth: Auth
    state: State
    settings: WsSettings

    def front(self, *, stall_after: int | None = None) -> Quart:
        """Another app serving this node's events (what a second worker process would be)."""
        app = create_app(Services(version="test", auth=self.auth))
        app.register_blueprint(ws_routes(self.events, self.auth, self.settings))
        if stall_after is not None:
            _stall_sends(app, stall_after)
        return app

    def connect(self, **kwargs: Any) -> AbstractAsyncContextManager[Any]:
        conn: AbstractAsyncContextManager[Any] = self.app.test_client().websocket(
            "/api/ws", **kwargs
        )
        return conn


@dataclass
class Cluster:
    """Opens nodes on one catalog and (with Redis) one Redis prefix."""

    catalog_url: str
    redis_url: str | None
    prefix: str
    clock: Clock
    stack: AsyncExitStack

    async def node(
        self,
        name: str = "a",
        settings: WsSettings = QUICK,
        *,
        peer_window_s: float = 0.0,
    ) -> Node:
        database = open_database(self.catalog_url)
        self.stack.push_async_callback(database.dispose)
        state = await self.stack.enter_async_context(
            open_state(self.redis_url, node_id=name, prefix=self.prefix)
        )
        auth = Auth(
            database,
            state.sessions,
            state.limiter,
            AuthSettings(),
            passwords=cheap_passwords(),
            clock=self.clock,
        )
        events = Events(state.bus, node_id=name, peer_window_s=peer_window_s)
        tg = await self.stack.enter_async_context(anyio.create_task_group())
        self.stack.callback(tg.cancel_scope.cancel)
        await tg.start(events.run)
        node = Node(create_app(Services(version="test")), events, auth, state, settings)
        node.app = node.front()
        return node


@pytest.fixture
async def cluster(flavour: str, prefix: str, sqlite_catalog_url: str) -> AsyncIterator[Cluster]:
    async with AsyncExitStack() as stack:
        redis_url = REDIS_URL if flavour == "redis" else None
        yield Cluster(sqlite_catalog_url, redis_url, prefix, Clock(), stack)


@pytest.fixture
async def node(cluster: Cluster) -> Node:
    return await cluster.node()


@pytest.fixture
async def database(sqlite_catalog_url: str) -> AsyncIterator[Database]:
    db = open_database(sqlite_catalog_url)
    try:
        yield db
    finally:
        await db.dispose()


def _stall_sends(app: Quart, after: int) -> None:
    """A client whose network stopped reading: every message past the first ``after`` blocks
    (the close frame still goes out)."""
    inner = app.asgi_app

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        sent = 0

        async def stalling(message: Any) -> None:
            nonlocal sent
            if message["type"] == "websocket.send":
                sent += 1
                if sent > after:
                    await anyio.sleep_forever()
            await send(message)

        await inner(scope, receive, stalling)

    app.asgi_app = asgi  # type: ignore[method-assign]


# --- helpers ------------------------------------------------------------------------------------


async def recv(ws: Any, timeout: float = 5.0) -> dict[str, Any]:
    with anyio.fail_after(timeout):
        message: dict[str, Any] = json.loads(await ws.receive())
        return message


async def expect(ws: Any, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next message of ``kind``, skipping keepalive pings and device comings and goings."""
    with anyio.fail_after(timeout):
        while True:
            message = await recv(ws, timeout)
            if message["type"] == kind:
                return message
            assert message["type"] in ("ping", "device_online", "device_offline"), message


async def closed(ws: Any, timeout: float = 5.0) -> int:
    """The close code the server ends the socket with (messages before it are skipped)."""
    with anyio.fail_after(timeout):
        while True:
            try:
                await ws.receive()
            except WebsocketDisconnectError as exc:
                code: int = exc.args[0]
                return code


async def login(node: Node, username: str) -> str:
    pair = await node.auth.login(username, PASSWORD, addr="127.0.0.1", device="test")
    return pair.access_token


async def authed(ws: Any, token: str) -> dict[str, Any]:
    await ws.send_json({"type": "auth", "token": token})
    return await expect(ws, "authenticated")


async def hello(ws: Any, name: str, device_id: str | None = None, **extra: Any) -> str:
    message = {"type": "hello", "device": name, "capabilities": ["play", "pause", "seek", "stop"]}
    if device_id is not None:
        message["id"] = device_id
    await ws.send_json({**message, **extra})
    welcome = await expect(ws, "welcome")
    device_id_: str = welcome["device"]["id"]
    return device_id_


async def make_library(database: Database, name: str) -> int:
    async with database.begin() as conn:
        return (await libraries.create_library(conn, name, LibraryKind.MOVIES)).id


async def restrict(database: Database, user_id: int, library_ids: list[int]) -> None:
    async with database.begin() as conn:
        await users.set_library_access(conn, user_id, library_ids)


# --- authentication -----------------------------------------------------------------------------


async def test_first_message_authenticates(database: Database, node: Node) -> None:
    ann = await add_user(database, node.auth, "ann")
    async with node.connect() as ws:
        welcome = await authed(ws, await login(node, "ann"))
        assert (welcome["user_id"], welcome["username"], welcome["node"]) == (ann.id, "ann", "a")
        await ws.send_json({"type": "ping", "id": 7})
        assert await expect(ws, "pong") == {"type": "pong", "id": 7}
    assert node.events.statistics().connections == 0


async def test_token_in_the_url_a_header_or_an_api_key(database: Database, node: Node) -> None:
    ann = await add_user(database, node.auth, "ann")
    token = await login(node, "ann")
    async with node.connect(query_string={"token": token}) as ws:
        assert (await expect(ws, "authenticated"))["user_id"] == ann.id
    async with node.connect(headers={"Authorization": f"Bearer {token}"}) as ws:
        assert (await expect(ws, "authenticated"))["user_id"] == ann.id
    _, key = await node.auth.create_api_key(ann.id, "tv")
    async with node.connect() as ws:
        assert (await authed(ws, key))["user_id"] == ann.id


@pytest.mark.parametrize(
    "case", ["other_message_first", "silence", "bad_token", "revoked_session", "not_json"]
)
async def test_unusable_credentials_close_with_4401(
    database: Database, cluster: Cluster, case: str
) -> None:
    node = await cluster.node(settings=WsSettings(auth_timeout_s=0.3))
    await add_user(database, node.auth, "ann")
    async with node.connect() as ws:
        match case:
            case "other_message_first":
                await ws.send_json({"type": "hello", "device": "TV"})
            case "silence":
                pass
            case "bad_token":
                await ws.send_json({"type": "auth", "token": "eyJhbGciOi.not.a-token"})
            case "revoked_session":
                pair = await node.auth.login("ann", PASSWORD, addr="127.0.0.1")
                await node.auth.logout(pair.session_id)
                await ws.send_json({"type": "auth", "token": pair.access_token})
            case "not_json":
                await ws.send("{auth")
        assert await closed(ws) == 4401
    stats = node.events.statistics()
    assert (stats.auth_failures, stats.connections) == (1, 0)


async def test_revoked_query_token_closes_with_4401(database: Database, node: Node) -> None:
    await add_user(database, node.auth, "ann")
    pair = await node.auth.login("ann", PASSWORD, addr="127.0.0.1")
    await node.auth.logout_all(pair.user.id)
    async with node.connect(query_string={"token": pair.access_token}) as ws:
        assert await closed(ws) == 4401


async def test_disabled_account_closes_with_4403(database: Database, node: Node) -> None:
    ann = await add_user(database, node.auth, "ann")
    _, key = await node.auth.create_api_key(ann.id, "tv")
    async with database.begin() as conn:
        await users.update_user(conn, ann.id, disabled=True)
    async with node.connect() as ws:
        await ws.send_json({"type": "auth", "token": key})
        assert await closed(ws) == 4403
    assert node.events.statistics().forbidden == 1


async def test_a_logout_while_connected_closes_with_4401(
    database: Database, cluster: Cluster
) -> None:
    node = await cluster.node(settings=WsSettings(recheck_s=0.1))
    await add_user(database, node.auth, "ann")
    pair = await node.auth.login("ann", PASSWORD, addr="127.0.0.1")
    async with node.connect() as ws:
        await authed(ws, pair.access_token)
        await anyio.sleep(0.25)  # rechecks pass while the session lives
        await ws.send_json({"type": "ping"})
        await expect(ws, "pong")
        await node.auth.logout(pair.session_id)
        assert await closed(ws) == 4401


async def test_an_expired_token_closes_with_4401_unless_a_fresh_one_came(
    database: Database, cluster: Cluster
) -> None:
    node = await cluster.node(settings=WsSettings(recheck_s=0.05))
    await add_user(database, node.auth, "ann")
    async with node.connect() as kept, node.connect() as lapsed:
        await authed(kept, await login(node, "ann"))
        await authed(lapsed, await login(node, "ann"))
        cluster.clock.advance(600)
        await kept.send_json({"type": "auth", "token": await login(node, "ann")})
        await expect(kept, "authenticated")
        cluster.clock.advance(600)  # the first tokens are 20 minutes old: past their 15
        assert await closed(lapsed) == 4401
        await anyio.sleep(0.2)  # rechecks of the fresh token pass
        await kept.send_json({"type": "ping"})
        await expect(kept, "pong")


async def test_a_fresh_token_for_the_same_user_only(database: Database, node: Node) -> None:
    await add_user(database, node.auth, "ann")
    await add_user(database, node.auth, "bob")
    async with node.connect() as ws:
        await authed(ws, await login(node, "ann"))
        await ws.send_json({"type": "auth", "token": await login(node, "ann"), "id": "r1"})
        assert (await expect(ws, "authenticated"))["id"] == "r1"
        await ws.send_json({"type": "auth", "token": "junk"})
        assert (await expect(ws, "error"))["code"] == "unauthorized"
        await ws.send_json({"type": "auth", "token": await login(node, "bob")})
        assert await closed(ws) == 4403


# --- events -------------------------------------------------------------------------------------


async def test_events_reach_whoever_may_see_them(database: Database, node: Node) -> None:
    films = await make_library(database, "Films")
    kids = await make_library(database, "Kids")
    ann = await add_user(database, node.auth, "ann")
    cid = await add_user(database, node.auth, "cid", all_libraries=False)
    await restrict(database, cid.id, [kids])
    async with node.connect() as ann_ws, node.connect() as cid_ws:
        await authed(ann_ws, await login(node, "ann"))
        await authed(cid_ws, await login(node, "cid"))
        assert await node.events.library_changed(films, "added")
        await node.events.scan_progress(films, {"phase": "probe", "probed": 3})
        await node.events.user_data_changed(ann.id, 42, {"played": True})
        await node.events.session_event(ann.id, "started", {"item_id": 42})
        await node.events.library_changed(kids, "updated")
        await node.events.user_data_changed(cid.id, 43, {"favourite": True})

        assert await expect(ann_ws, "library_changed") == {
            "type": "library_changed",
            "library_id": films,
            "kind": "added",
        }
        scan = await expect(ann_ws, "scan_progress")
        assert scan["library_id"] == films and scan["stats"] == {"phase": "probe", "probed": 3}
        assert await expect(ann_ws, "user_data_changed") == {
            "type": "user_data_changed",
            "item_id": 42,
            "data": {"played": True},
        }
        session = await expect(ann_ws, "session")
        assert (session["kind"], session["data"]) == ("started", {"item_id": 42})
        assert (await expect(ann_ws, "library_changed"))["library_id"] == kids

        # cid sees neither the Films library nor ann's data: the Kids event comes first.
        first = await recv(cid_ws)
        assert first == {"type": "library_changed", "library_id": kids, "kind": "updated"}
        assert (await recv(cid_ws))["item_id"] == 43
    stats = node.events.statistics()
    assert stats.filtered == 2 and stats.published == 6


# --- devices and remote control -----------------------------------------------------------------


async def test_remote_control_reaches_the_same_users_device_only(
    database: Database, node: Node
) -> None:
    await add_user(database, node.auth, "ann")
    bob = await add_user(database, node.auth, "bob")
    async with node.connect() as phone, node.connect() as tv, node.connect() as bobs_tv:
        await authed(phone, await login(node, "ann"))
        await authed(tv, await login(node, "ann"))
        await authed(bobs_tv, await login(node, "bob"))
        phone_id = await hello(phone, "Phone")
        # Bob's TV claims the very id of Ann's: still never Ann's to command.
        await hello(bobs_tv, "Bob's TV", "tv-1")
        await hello(tv, "Living room TV", "tv-1")

        await phone.send_json(
            {"type": "remote", "target": "tv-1", "command": "seek", "position_us": 90_000_000}
            | {"id": "c1"}
        )
        assert await expect(tv, "remote") == {
            "type": "remote",
            "command": "seek",
            "from": phone_id,
            "id": "c1",
            "position_us": 90_000_000,
        }
        result = await expect(phone, "remote_result")
        assert (result["id"], result["device"], result["delivered"]) == ("c1", "tv-1", True)

        await phone.send_json(
            {"type": "remote", "target": "tv-1", "command": "play"} | {"item_id": 5}
        )
        assert (await expect(tv, "remote"))["item_id"] == 5
        assert (await expect(phone, "remote_result"))["delivered"] is True
        await phone.send_json({"type": "remote", "target": "nope", "command": "stop"})
        assert (await expect(phone, "error"))["code"] == "unknown_device"

        # Bob's TV heard nothing of it: its next message is its own user's event.
        await node.events.user_data_changed(bob.id, 1, {"played": True})
        assert (await expect(bobs_tv, "user_data_changed"))["item_id"] == 1
    stats = node.events.statistics()
    assert (stats.remote_commands, stats.remote_delivered) == (2, 2)


async def test_a_command_the_device_cannot_do_is_refused(database: Database, node: Node) -> None:
    await add_user(database, node.auth, "ann")
    async with node.connect() as phone, node.connect() as speaker:
        await authed(phone, await login(node, "ann"))
        await authed(speaker, await login(node, "ann"))
        await hello(phone, "Phone")
        await hello(speaker, "Speaker", "spk", capabilities=["play", "pause"])
        await phone.send_json({"type": "remote", "target": "spk", "command": "stop", "id": "x"})
        result = await expect(phone, "remote_result")
        assert (result["delivered"], result["id"]) == (False, "x")
        assert "cannot stop" in result["reason"]
        await speaker.send_json({"type": "ping"})
        assert await expect(speaker, "pong") == {"type": "pong"}  # no remote came before it


async def test_devices_lists_the_users_devices_as_they_come_and_go(
    database: Database, node: Node
) -> None:
    await add_user(database, node.auth, "ann")
    await add_user(database, node.auth, "bob")
    async with node.connect() as phone, node.connect() as bobs:
        await authed(phone, await login(node, "ann"))
        await authed(bobs, await login(node, "bob"))
        phone_id = await hello(phone, "Phone")
        await hello(bobs, "Bob's phone")
        async with node.connect() as tv:
            await authed(tv, await login(node, "ann"))
            tv_id = await hello(tv, "TV", "tv-1")
            online = await expect(phone, "device_online")
            assert online["device"]["id"] == tv_id and online["device"]["name"] == "TV"
            await phone.send_json({"type": "devices", "id": 3})
            listed = await expect(phone, "devices")
            assert listed["id"] == 3
            assert {(d["id"], d["name"], d["self"]) for d in listed["devices"]} == {
                (phone_id, "Phone", True),
                ("tv-1", "TV", False),
            }
            assert listed["devices"][1]["capabilities"] == ["play", "pause", "seek", "stop"]
            assert node.events.statistics().devices == 3
        offline = await expect(phone, "device_offline")
        assert offline["device"]["id"] == "tv-1"
        await phone.send_json({"type": "devices"})
        assert [d["id"] for d in (await expect(phone, "devices"))["devices"]] == [phone_id]


# --- malformed messages, keepalive, slow clients, shutdown --------------------------------------

MALFORMED = [
    (b"\x00binary", "malformed"),
    ("not json", "malformed"),
    ("[1, 2]", "malformed"),
    ('{"no": "type"}', "malformed"),
    ('{"type": 5}', "malformed"),
    ('{"type": "dance"}', "unknown_type"),
    ('{"type": "remote", "target": "tv", "command": "stop"}', "hello_required"),
    ('{"type": "hello"}', "invalid"),
    ('{"type": "hello", "device": "TV", "capabilities": "play"}', "invalid"),
    ('{"type": "hello", "device": "TV", "id": "no spaces please"}', "invalid"),
    ('{"type": "auth"}', "invalid"),
    ("x" * (70 << 10), "too_large"),
]
MALFORMED_REMOTE = [
    {"target": "tv-1", "command": "rewind"},
    {"target": "tv-1", "command": "seek"},
    {"target": "tv-1", "command": "seek", "position_us": -1},
    {"target": "tv-1", "command": "seek", "position_us": 1.5},
    {"target": "tv-1", "command": "seek", "position_us": True},
    {"target": "tv-1", "command": "pause", "item_id": 3},
    {"target": ["tv-1"], "command": "pause"},
    {"target": "tv-1", "command": "pause", "id": {"nested": 1}},
]


async def test_malformed_messages_get_an_error_reply_and_the_socket_lives(
    database: Database, node: Node
) -> None:
    await add_user(database, node.auth, "ann")
    async with node.connect() as ws, node.connect() as tv:
        await authed(ws, await login(node, "ann"))
        await authed(tv, await login(node, "ann"))
        for raw, code in MALFORMED:
            await ws.send(raw)
            error = await expect(ws, "error")
            assert error["code"] == code, (raw[:40], error)
            assert error["message"]
        own = await hello(ws, "Phone")
        await hello(tv, "TV", "tv-1")
        await ws.send_json({"type": "hello", "device": "Again"})
        assert (await expect(ws, "error"))["code"] == "already_registered"
        await ws.send_json({"type": "remote", "target": own, "command": "pause", "id": "q"})
        assert (await expect(ws, "error"))["id"] == "q"
        for fields in MALFORMED_REMOTE:
            await ws.send_json({"type": "remote", **fields})
            assert (await expect(ws, "error"))["code"] == "invalid", fields
        await ws.send_json({"type": "ping"})
        await expect(ws, "pong")
    assert node.events.statistics().malformed == len(MALFORMED) + len(MALFORMED_REMOTE) + 2


async def test_pings_and_the_idle_timeout(database: Database, cluster: Cluster) -> None:
    node = await cluster.node(settings=WsSettings(ping_interval_s=0.1, idle_timeout_s=0.5))
    await add_user(database, node.auth, "ann")
    async with node.connect() as quiet, node.connect() as lively:
        await authed(quiet, await login(node, "ann"))
        await authed(lively, await login(node, "ann"))
        with anyio.fail_after(5):
            for _ in range(8):  # longer than the idle timeout, answering every ping
                assert (await recv(lively))["type"] == "ping"
                await lively.send_json({"type": "pong"})
        assert await closed(quiet) == 4408
        await lively.send_json({"type": "ping"})
        await expect(lively, "pong")
    assert node.events.statistics().idle_disconnects == 1


async def test_a_slow_client_is_closed_and_never_holds_up_the_others(
    database: Database, cluster: Cluster
) -> None:
    node = await cluster.node(settings=WsSettings(send_queue=8, send_timeout_s=0.2))
    stalled = node.front(stall_after=2)  # the same node, behind a network that stops reading
    ann = await add_user(database, node.auth, "ann")
    async with stalled.test_client().websocket("/api/ws") as slow, node.connect() as fast:
        await authed(slow, await login(node, "ann"))
        await authed(fast, await login(node, "ann"))
        await node.events.user_data_changed(ann.id, 0, {})  # the slow one's 2nd message: it goes
        assert (await expect(slow, "user_data_changed"))["item_id"] == 0
        for n in range(1, 41):
            await node.events.user_data_changed(ann.id, n, {"n": n})
        assert await closed(slow) == 1013
        received = [(await expect(fast, "user_data_changed"))["item_id"] for _ in range(41)]
        assert received == list(range(41))
    stats = node.events.statistics()
    assert (stats.slow_disconnects, stats.connections) == (1, 0)


async def test_shutdown_closes_every_socket_with_1001(database: Database, node: Node) -> None:
    await add_user(database, node.auth, "ann")
    async with node.connect() as one, node.connect() as two:
        await authed(one, await login(node, "ann"))
        await authed(two, await login(node, "ann"))
        await hello(two, "TV")
        node.events.close()
        assert await closed(one) == 1001
        assert await closed(two) == 1001
    assert node.events.statistics().devices == 0


# --- two nodes on one Redis ---------------------------------------------------------------------


@pytest.mark.parametrize("flavour", [FLAVOURS[1]], indirect=True)
async def test_two_nodes_share_events_remote_control_and_devices(
    database: Database, cluster: Cluster
) -> None:
    a = await cluster.node("a", peer_window_s=0.3)
    b = await cluster.node("b", peer_window_s=0.3)
    films = await make_library(database, "Films")
    await add_user(database, a.auth, "ann")
    await add_user(database, a.auth, "bob")
    async with (
        a.connect() as phone,
        b.connect() as tv,
        b.connect() as bobs_tv,
    ):
        await authed(phone, await login(a, "ann"))
        assert (await authed(tv, await login(b, "ann")))["node"] == "b"
        await authed(bobs_tv, await login(b, "bob"))
        phone_id = await hello(phone, "Phone")
        await hello(bobs_tv, "Bob's TV", "tv-1")
        await hello(tv, "Living room TV", "tv-1")

        await a.events.library_changed(films, "added")
        assert (await expect(tv, "library_changed"))["library_id"] == films
        assert (await expect(bobs_tv, "library_changed"))["library_id"] == films
        assert (await expect(phone, "library_changed"))["library_id"] == films

        await phone.send_json({"type": "devices"})
        listed = (await expect(phone, "devices"))["devices"]
        assert {(d["id"], d["node"]) for d in listed} == {(phone_id, "a"), ("tv-1", "b")}

        await phone.send_json({"type": "remote", "target": "tv-1", "command": "pause", "id": "p"})
        remote = await expect(tv, "remote")
        assert (remote["command"], remote["from"]) == ("pause", phone_id)
        result = await expect(phone, "remote_result")
        assert (result["id"], result["delivered"]) == ("p", True)

        # Bob's TV on node B, with the same device id, heard nothing of Ann's command.
        await b.events.session_event(2, "started", {})
        assert (await expect(bobs_tv, "session"))["kind"] == "started"
    assert a.state.bus.statistics().connected and b.events.statistics().remote_delivered == 1


# --- over the wire ------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", [FLAVOURS[0]], indirect=True)
async def test_over_hypercorn_with_a_real_websocket_client(database: Database, node: Node) -> None:
    """Close codes and reasons survive a real server; shutting down closes sockets with 1001
    before Hypercorn drains, so it stops at once."""
    import aiohttp
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    ann = await add_user(database, node.auth, "ann")
    token = await login(node, "ann")
    config = Config()
    config.bind = [f"127.0.0.1:{free_port()}"]
    config.accesslog = None
    stop = anyio.Event()

    async def shutdown_trigger() -> None:
        await stop.wait()
        node.events.close()  # what the composition root does on SIGTERM

    async with anyio.create_task_group() as tg:
        stopped = anyio.Event()

        async def http() -> None:
            await serve(node.app, config, shutdown_trigger=shutdown_trigger)
            stopped.set()

        tg.start_soon(http)
        url = f"ws://{config.bind[0]}/api/ws"
        async with aiohttp.ClientSession() as session:
            with anyio.fail_after(10):
                while True:
                    try:
                        bad = await session.ws_connect(url)
                        break
                    except aiohttp.ClientConnectionError:
                        await anyio.sleep(0.05)
            await bad.send_json({"type": "auth", "token": "nope"})
            assert (await bad.receive()).type == aiohttp.WSMsgType.CLOSE
            assert bad.close_code == 4401

            ws = await session.ws_connect(url, params={"token": token})
            assert json.loads((await ws.receive()).data)["type"] == "authenticated"
            await node.events.user_data_changed(ann.id, 9, {"played": True})
            assert json.loads((await ws.receive()).data)["item_id"] == 9
            with anyio.fail_after(5):
                stop.set()
                assert (await ws.receive()).type == aiohttp.WSMsgType.CLOSE
                assert ws.close_code == 1001
        with anyio.fail_after(5):  # no socket left for Hypercorn to wait for
            await stopped.wait()
    assert node.events.statistics().connections == 0


# --- the translation table, pure ----------------------------------------------------------------


def _principal(user_id: int, libraries: frozenset[int] | None = None) -> Principal:
    return Principal(user_id, f"u{user_id}", frozenset({"member"}), None, libraries, "s", "bearer")


TV = Device("tv", 1, "TV", ("play",), "a", "2026-01-01T00:00:00+00:00")


@pytest.mark.parametrize(
    ("event", "to", "shown"),
    [
        (Event("library", {"library_id": 2, "kind": "added"}), _principal(1), True),
        (Event("library", {"library_id": 2}), _principal(1, frozenset({3})), False),
        (Event("library", {"library_id": "2"}), _principal(1), False),
        (Event("scan", {"library_id": 3, "stats": {}}), _principal(1, frozenset({3})), True),
        (Event("userdata:1", {"item_id": 1, "data": {}}), _principal(1), True),
        (Event("userdata:2", {"item_id": 1, "data": {}}), _principal(1), False),
        (Event("remote:2", {"kind": "command", "target": "tv"}), _principal(1), False),
        (Event("remote:1", {"kind": "command", "target": "tv"}), _principal(1), True),
        (Event("remote:1", {"kind": "command", "target": "phone"}), _principal(1), False),
        (Event("presence:1", {"op": "query", "query": "q"}), _principal(1), False),
        (Event("presence:1", {"op": "online", "device": {}}), _principal(1), True),
        (Event("other", {}), _principal(1), False),
    ],
)
def test_client_message_shows_each_event_to_whom_it_concerns(
    event: Event, to: Principal, shown: bool
) -> None:
    assert (client_message(event, Recipient(to, TV)) is not None) is shown
