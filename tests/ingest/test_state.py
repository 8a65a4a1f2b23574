"""The shared-state adapters, every behaviour on both: in-process (on asyncio and trio) and Redis.

With Redis, "two nodes" are two ``open_state`` on one Redis under one key prefix; in-process,
both names point at the one node's state, which is what a single node is.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType

import anyio
import anyio.abc
import pytest

from ingest.state import (
    Event,
    LoginSession,
    MemoryCache,
    State,
    StateUnavailable,
    open_state,
)
from tests.fixtures.services import (
    REDIS_URL,
    free_port,
    key_prefix,
    service_missing,
    tcp_answers,
)

pytestmark = pytest.mark.anyio

FLAVOURS = [
    pytest.param("memory", id="memory"),
    pytest.param("memory-trio", id="memory-trio"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
]


@dataclass(frozen=True)
class Node:
    id: str
    state: State


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "redis" and not tcp_answers(REDIS_URL, 6379):
        service_missing("Redis", REDIS_URL)
    return name


@pytest.fixture
def anyio_backend(flavour: str) -> str:
    return "trio" if flavour == "memory-trio" else "asyncio"


@pytest.fixture
async def prefix(flavour: str) -> AsyncIterator[str]:
    async with key_prefix(on_redis=flavour == "redis") as made:
        yield made


async def open_nodes(
    stack: AsyncExitStack, flavour: str, prefix: str, *, bus_buffer: int = 256
) -> tuple[Node, Node]:
    if flavour != "redis":
        state = await stack.enter_async_context(
            open_state(None, node_id="node-a", bus_buffer=bus_buffer)
        )
        return Node("node-a", state), Node("node-a", state)
    nodes = []
    for node_id in ("node-a", "node-b"):
        opened = open_state(REDIS_URL, node_id=node_id, prefix=prefix, bus_buffer=bus_buffer)
        nodes.append(Node(node_id, await stack.enter_async_context(opened)))
    return nodes[0], nodes[1]


@pytest.fixture
async def nodes(flavour: str, prefix: str) -> AsyncIterator[tuple[Node, Node]]:
    async with AsyncExitStack() as stack:
        yield await open_nodes(stack, flavour, prefix)


async def next_event(events: AsyncIterator[Event], timeout_s: float = 5.0) -> Event:
    with anyio.fail_after(timeout_s):
        return await anext(events)


async def nothing_more(events: AsyncIterator[Event], wait_s: float = 0.2) -> bool:
    with anyio.move_on_after(wait_s):
        await anext(events)
        return False
    return True


async def eventually(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    with anyio.fail_after(timeout_s):
        while not check():
            await anyio.sleep(0.02)


def session(
    session_id: str, user_id: int, *, in_s: float = 3600, **fields: str | None
) -> LoginSession:
    expires_at = (datetime.now(UTC) + timedelta(seconds=in_s)).replace(microsecond=0)
    return LoginSession(session_id, user_id, expires_at, **fields)  # type: ignore[arg-type]


# --- cache ------------------------------------------------------------------------------------


async def test_cache_get_set_delete_across_nodes(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    assert await a.state.cache.get("k") is None
    await a.state.cache.set("k", b"\x00value", ttl_s=60)
    assert await b.state.cache.get("k") == b"\x00value"
    await b.state.cache.set("k", b"newer", ttl_s=60)
    assert await a.state.cache.get("k") == b"newer"
    await a.state.cache.delete("k")
    await a.state.cache.delete("never-set")
    assert await b.state.cache.get("k") is None
    with pytest.raises(ValueError, match="ttl_s"):
        await a.state.cache.set("k", b"v", ttl_s=0)
    stats = a.state.cache.statistics()
    assert (stats.sets, stats.deletes, stats.failures) == (2 if a.state is b.state else 1, 2, 0)
    assert stats.misses >= 1 and stats.hits >= 1


async def test_cache_entries_expire_after_their_ttl(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    await a.state.cache.set("short", b"1", ttl_s=0.5)
    await a.state.cache.set("long", b"2", ttl_s=60)
    assert await b.state.cache.get("short") == b"1"
    await anyio.sleep(0.65)
    assert await b.state.cache.get("short") is None
    assert await b.state.cache.get("long") == b"2"


async def test_invalidating_a_tag_drops_its_keys_on_every_node(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    await a.state.cache.set("movies", b"m", ttl_s=60, tags=("library:1",))
    await a.state.cache.set("both", b"x", ttl_s=60, tags=("library:1", "library:2"))
    await a.state.cache.set("shows", b"s", ttl_s=60, tags=("library:2",))
    await a.state.cache.set("plain", b"p", ttl_s=60)
    await b.state.cache.invalidate("library:1")
    await b.state.cache.invalidate("no-such-tag")
    assert [await a.state.cache.get(k) for k in ("movies", "both", "shows", "plain")] == [
        None,
        None,
        b"s",
        b"p",
    ]
    stats = b.state.cache.statistics()
    assert (stats.invalidations, stats.invalidated) == (2, 2)
    await a.state.cache.invalidate("library:2")
    assert await b.state.cache.get("shows") is None


@pytest.mark.parametrize("flavour", ["memory", "memory-trio"])
async def test_memory_cache_is_an_lru_bounded_by_entries_and_bytes() -> None:
    cache = MemoryCache(max_entries=3, max_bytes=10)
    for key in "abc":
        await cache.set(key, b"12", ttl_s=60, tags=("t",))
    assert await cache.get("a") == b"12"  # now the most recently used: b is the least
    await cache.set("d", b"12", ttl_s=60)  # a fourth entry
    assert [await cache.get(k) is not None for k in "bcad"] == [False, True, True, True]
    await cache.set("e", b"12345678", ttl_s=60)  # 4 entries, 14 bytes: c, then a go
    assert [await cache.get(k) is not None for k in "cade"] == [False, False, True, True]
    await cache.set("huge", b"x" * 11, ttl_s=60)  # larger than the cache: not stored
    assert await cache.get("huge") is None
    stats = cache.statistics()
    assert (stats.entries, stats.evictions) == (2, 3)
    await cache.invalidate("t")  # its keys are gone already: nothing else is touched
    assert await cache.get("d") == b"12"
    assert cache.statistics().invalidated == 0
    with pytest.raises(ValueError):
        MemoryCache(max_entries=0)


# --- bus --------------------------------------------------------------------------------------


async def test_events_fan_out_to_subscribers_on_every_node(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    async with (
        a.state.bus.subscribe("library") as on_a,
        b.state.bus.subscribe("library", "session:*") as on_b,
        b.state.bus.subscribe() as everything,
    ):
        await a.state.bus.publish(Event("library", {"id": 1, "paths": ("x", "y")}))
        await b.state.bus.publish(Event("session:42", MappingProxyType({"state": "paused"})))
        await b.state.bus.publish(Event("scan", {}, origin="scanner"))

        library = Event("library", {"id": 1, "paths": ["x", "y"]}, a.id)
        session_event = Event("session:42", {"state": "paused"}, b.id)
        assert await next_event(on_a) == library
        assert [await next_event(on_b), await next_event(on_b)] == [library, session_event]
        assert [await next_event(everything) for _ in range(3)] == [
            library,
            session_event,
            Event("scan", {}, "scanner"),
        ]
        assert await nothing_more(on_a)
        with pytest.raises(TypeError):
            await a.state.bus.publish(Event("library", {"not json": object()}))
        assert a.state.bus.statistics().published == (3 if a.state is b.state else 1)
        assert b.state.bus.statistics().subscribers == (3 if a.state is b.state else 2)
    assert b.state.bus.statistics().subscribers == 0


async def test_a_slow_subscriber_loses_the_oldest_and_never_slows_the_publisher(
    flavour: str, prefix: str
) -> None:
    async with AsyncExitStack() as stack:
        a, b = await open_nodes(stack, flavour, prefix, bus_buffer=4)
        async with b.state.bus.subscribe("tick") as slow:
            started = anyio.current_time()
            for n in range(20):
                await a.state.bus.publish(Event("tick", {"n": n}))
            assert anyio.current_time() - started < 2.0
            await eventually(lambda: b.state.bus.statistics().delivered == 20)
            assert [(await next_event(slow)).data["n"] for _ in range(4)] == [16, 17, 18, 19]
            assert await nothing_more(slow)
            stats = b.state.bus.statistics()
            assert (stats.dropped, stats.lost) == (16, 0)


async def test_closing_the_bus_ends_every_subscription(nodes: tuple[Node, Node]) -> None:
    a, _ = nodes
    received: list[str] = []

    async def listen(*, task_status: anyio.abc.TaskStatus[None]) -> None:
        async with a.state.bus.subscribe() as events:
            task_status.started()
            received.extend([event.topic async for event in events])
        received.append("end")

    async with anyio.create_task_group() as tg:
        await tg.start(listen)
        await a.state.bus.publish(Event("library", {}))
        await eventually(lambda: a.state.bus.statistics().delivered == 1)
        await a.state.bus.aclose()  # what leaving open_state does
    assert received == ["library", "end"]
    async with a.state.bus.subscribe() as late:
        assert [event async for event in late] == []


# --- sessions ---------------------------------------------------------------------------------


async def test_sessions_and_revocations_are_seen_by_every_node(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    phone = session("s1", 1, device_name="Pixel", client="Reelbox Android")
    tv = session("s2", 1, in_s=7200)
    other = session("s3", 2)
    for item in (phone, tv, other):
        await a.state.sessions.put(item)
    assert await b.state.sessions.get("s1") == phone
    assert await b.state.sessions.get("nope") is None
    assert await b.state.sessions.list_user(1) == [phone, tv]

    await a.state.sessions.revoke("s1")
    assert await b.state.sessions.get("s1") is None
    assert await b.state.sessions.list_user(1) == [tv]

    await a.state.sessions.put(session("s4", 1))
    await b.state.sessions.revoke_user(1)
    assert await a.state.sessions.get("s2") is None and await a.state.sessions.get("s4") is None
    assert await a.state.sessions.list_user(1) == []
    assert await a.state.sessions.get("s3") == other
    stats = b.state.sessions.statistics()
    assert stats.revocations == (2 if a.state is b.state else 1) and stats.failures == 0


async def test_sessions_expire_by_wall_clock(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    await a.state.sessions.put(session("past", 7, in_s=-5))
    soon = LoginSession("soon", 7, datetime.now(UTC) + timedelta(milliseconds=500))
    await a.state.sessions.put(soon)
    assert await b.state.sessions.get("past") is None
    assert await b.state.sessions.get("soon") == soon
    await anyio.sleep(0.65)
    assert await b.state.sessions.get("soon") is None
    assert await b.state.sessions.list_user(7) == []


async def test_session_expiry_must_carry_a_timezone(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    paris = timezone(timedelta(hours=2))
    expires_at = datetime(2999, 1, 1, 12, 0, tzinfo=paris)
    await a.state.sessions.put(LoginSession("tz", 3, expires_at))
    stored = await b.state.sessions.get("tz")
    assert stored is not None and stored.expires_at == expires_at
    assert stored.expires_at.tzinfo == UTC
    with pytest.raises(ValueError, match="timezone"):
        await a.state.sessions.put(LoginSession("naive", 3, datetime(2999, 1, 1)))


# --- rate limiter -----------------------------------------------------------------------------


async def test_rate_limit_allows_n_then_asks_to_wait(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    limiters = [a.state.limiter, b.state.limiter, a.state.limiter]
    assert [await lim.hit("login:alice", limit=3, window_s=1.0) for lim in limiters] == [0.0] * 3
    wait = await b.state.limiter.hit("login:alice", limit=3, window_s=1.0)
    assert 0 < wait <= 1 / 3
    assert await a.state.limiter.hit("login:bob", limit=3, window_s=1.0) == 0.0
    await anyio.sleep(wait + 0.02)
    assert await a.state.limiter.hit("login:alice", limit=3, window_s=1.0) == 0.0
    assert await b.state.limiter.hit("login:alice", limit=3, window_s=1.0) > 0

    await a.state.limiter.reset("login:alice")
    assert await b.state.limiter.hit("login:alice", limit=3, window_s=1.0) == 0.0
    with pytest.raises(ValueError):
        await a.state.limiter.hit("x", limit=0, window_s=1.0)
    stats = b.state.limiter.statistics()
    assert stats.limited == 2 and stats.failures == 0


# --- surviving Redis --------------------------------------------------------------------------


@contextmanager
def private_redis(port: int) -> Iterator[subprocess.Popen[bytes]]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not shutil.which(binary):
        service_missing("redis-server", "not installed")
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.kill()
        process.wait()


async def answers(url: str) -> None:
    await eventually(lambda: tcp_answers(url, 6379), timeout_s=5)


@pytest.mark.redis
@pytest.mark.parametrize("flavour", ["redis"])
async def test_state_survives_redis_going_away_and_coming_back() -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with private_redis(port) as first:
        await answers(url)
        async with open_state(url, node_id="n1") as state, state.bus.subscribe("scan") as events:
            await state.bus.publish(Event("scan", {"n": 1}))
            assert (await next_event(events)).data == {"n": 1}

            first.kill()
            first.wait()
            calls: list[Callable[[], Awaitable[object]]] = [
                lambda: state.cache.get("k"),
                lambda: state.cache.set("k", b"v", ttl_s=5, tags=("t",)),
                lambda: state.cache.invalidate("t"),
                lambda: state.sessions.get("s"),
                lambda: state.sessions.revoke_user(1),
                lambda: state.limiter.hit("k", limit=1, window_s=1),
                lambda: state.bus.publish(Event("scan", {"n": 2})),
            ]
            for call in calls:
                started = anyio.current_time()
                with pytest.raises(StateUnavailable, match=f"127.0.0.1:{port}"):
                    await call()
                assert anyio.current_time() - started < 2.0
            await eventually(lambda: not state.bus.statistics().connected)

            with private_redis(port):
                await answers(url)
                await state.cache.set("k", b"back", ttl_s=5, tags=("t",))
                assert await state.cache.get("k") == b"back"
                await eventually(lambda: state.bus.statistics().reconnects == 1)
                await state.bus.publish(Event("scan", {"n": 3}))
                assert (await next_event(events)).data == {"n": 3}
                stats = state.statistics()
                assert stats.bus.connected and stats.bus.failures == 1
                assert stats.bus.lost == 1  # n=2 never arrived
                assert stats.cache.failures == 3 and stats.sessions.failures == 2
        # closed while Redis is up; and a Redis that is away fails at once on entering
    started = anyio.current_time()
    with pytest.raises(StateUnavailable):
        async with open_state(url, node_id="n2"):
            pass
    assert anyio.current_time() - started < 3.0
