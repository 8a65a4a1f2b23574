"""Registry: spawn on demand (once per id, also when racing), NotFound, explicit stop, idle
eviction at the exact deadline in virtual time, actors that end by themselves leave the map."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import pytest
from anyio.abc import TaskStatus

from engine.actors import Actor, Mailbox, Registry, Reply, RestartPolicy, Supervisor
from engine.errors import ActorDied, MailboxClosed, NotFound
from tests.engine.actors.support import trio_only

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class WhoAreYou:
    reply: Reply[str]


@dataclass(frozen=True)
class Quit:
    pass


@dataclass(frozen=True)
class Crash:
    pass


Msg = WhoAreYou | Quit | Crash


class Sessions:
    """An actor factory that records what it started and when its actors ended."""

    def __init__(self, *, ready_after: float = 0, ignore_close: bool = False) -> None:
        self.started: list[str] = []
        self.ended: dict[str, float] = {}
        self.ready_after = ready_after
        self.ignore_close = ignore_close

    def __call__(self, key: str) -> Actor[Msg]:
        async def session(mailbox: Mailbox[Msg], *, task_status: TaskStatus[None]) -> None:
            self.started.append(key)
            if key.startswith("missing"):
                raise NotFound(key)
            if self.ready_after:
                await anyio.sleep(self.ready_after)
            task_status.started()
            try:
                async for msg in mailbox:
                    match msg:
                        case WhoAreYou(reply):
                            reply.send(key)
                        case Quit():
                            return
                        case Crash():
                            raise RuntimeError("crash")
                if self.ignore_close:
                    await anyio.sleep_forever()
            finally:
                self.ended[key] = anyio.current_time()

        return session


@asynccontextmanager
async def registry_of(
    sessions: Sessions, *, idle_timeout: float = 30, grace: float = 1
) -> AsyncIterator[Registry[str, Msg]]:
    async with anyio.create_task_group() as tg:
        supervisor = await tg.start(
            Supervisor(RestartPolicy(base=0.001, cap=0.001), escalate=False).run
        )
        registry = Registry[str, Msg](
            supervisor, sessions, idle_timeout=idle_timeout, grace=grace, name="sessions"
        )
        await tg.start(registry.run)
        yield registry
        tg.cancel_scope.cancel()


async def test_get_or_spawn_starts_one_actor_per_id() -> None:
    sessions = Sessions()
    async with registry_of(sessions) as registry:
        a = await registry.get_or_spawn("a")
        assert await registry.get_or_spawn("a") is a
        assert registry.get("a") is a
        assert await a.mailbox.ask(WhoAreYou) == "a"
        b = await registry.get_or_spawn("b")
        assert await b.mailbox.ask(WhoAreYou) == "b"
        assert sessions.started == ["a", "b"]
        assert sorted(registry) == ["a", "b"]
        assert "a" in registry and len(registry) == 2
        stats = registry.statistics()
        assert (stats.live, stats.spawned, stats.evicted, stats.stopped) == (2, 2, 0, 0)
        assert a.name == "sessions/a"


async def test_racing_spawns_of_one_id_share_the_actor() -> None:
    sessions = Sessions(ready_after=0.01)
    async with registry_of(sessions) as registry:
        got = []

        async def spawn() -> None:
            got.append(await registry.get_or_spawn("a"))

        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(spawn)
        assert sessions.started == ["a"]
        assert got[0] is got[1] is got[2]
        assert registry.statistics().spawned == 1


async def test_get_of_an_unknown_id_raises_not_found() -> None:
    async with registry_of(Sessions()) as registry:
        with pytest.raises(NotFound):
            registry.get("nobody")
        with pytest.raises(LookupError):
            registry.touch("nobody")
        with pytest.raises(NotFound):
            await registry.stop("nobody")


async def test_an_actor_that_fails_to_start_is_not_registered() -> None:
    sessions = Sessions()
    async with registry_of(sessions) as registry:
        for _ in range(2):  # nothing sticks: the second call tries again
            with pytest.raises(NotFound):
                await registry.get_or_spawn("missing-1")
        assert "missing-1" not in registry
        assert sessions.started == ["missing-1", "missing-1"]
        stats = registry.statistics()
        assert (stats.live, stats.spawned) == (0, 0)


async def test_stop_is_graceful_and_forgets_the_id() -> None:
    sessions = Sessions()
    async with registry_of(sessions) as registry:
        child = await registry.get_or_spawn("a")
        await registry.stop("a")
        assert not child.alive and "a" in sessions.ended
        with pytest.raises(NotFound):
            registry.get("a")
        with pytest.raises(MailboxClosed):
            await child.mailbox.ask(WhoAreYou)
        assert await (await registry.get_or_spawn("a")).mailbox.ask(WhoAreYou) == "a"
        stats = registry.statistics()
        assert (stats.live, stats.spawned, stats.stopped) == (1, 2, 1)


@trio_only
async def test_idle_actors_are_evicted_at_the_deadline() -> None:
    sessions = Sessions()
    async with registry_of(sessions, idle_timeout=30) as registry:
        start = anyio.current_time()
        await registry.get_or_spawn("a")
        await registry.get_or_spawn("b")
        await anyio.sleep(20)
        registry.get("a")  # a is used at 20 s: its deadline moves to 50 s
        await anyio.sleep(9.9)
        assert sorted(registry) == ["a", "b"]
        await anyio.sleep(0.2)
        assert sorted(registry) == ["a"]
        assert sessions.ended["b"] - start == pytest.approx(30)
        await anyio.sleep(20)
        assert len(registry) == 0
        assert sessions.ended["a"] - start == pytest.approx(50)
        with pytest.raises(NotFound):
            registry.get("a")
        stats = registry.statistics()
        assert (stats.live, stats.spawned, stats.evicted, stats.stopped) == (0, 2, 2, 0)

        await anyio.sleep(1000)  # an empty registry sleeps until something is spawned
        await registry.get_or_spawn("c")  # at 1050.1 s
        await anyio.sleep(31)
        assert sessions.ended["c"] - start == pytest.approx(1080.1)


async def test_idle_eviction_on_any_backend() -> None:
    sessions = Sessions()
    async with registry_of(sessions, idle_timeout=0.02) as registry:
        child = await registry.get_or_spawn("a")
        with anyio.fail_after(5):
            await child.wait()
        assert "a" not in registry
        assert registry.statistics().evicted == 1


@trio_only
async def test_an_evicted_actor_that_will_not_end_is_cancelled_after_the_grace() -> None:
    sessions = Sessions(ignore_close=True)
    async with registry_of(sessions, idle_timeout=10, grace=5) as registry:
        start = anyio.current_time()
        child = await registry.get_or_spawn("a")
        await anyio.sleep(11)
        assert "a" not in registry  # forgotten at once
        assert child.alive  # still finishing
        await child.wait()
        assert sessions.ended["a"] - start == pytest.approx(15)


async def test_actors_that_end_by_themselves_leave_the_map() -> None:
    sessions = Sessions()
    async with registry_of(sessions) as registry:
        child = await registry.get_or_spawn("a")
        child.mailbox.tell(Quit())
        await child.wait()
        assert "a" not in registry
        stats = registry.statistics()
        assert (stats.live, stats.ended) == (0, 1)


async def test_a_restarted_actor_keeps_its_entry() -> None:
    sessions = Sessions()
    async with registry_of(sessions) as registry:
        child = await registry.get_or_spawn("a")
        child.mailbox.tell(Crash())
        with pytest.raises(ActorDied):  # queued behind the crash: lost with it
            await child.mailbox.ask(WhoAreYou)
        assert await child.mailbox.ask(WhoAreYou) == "a"
        assert registry.get("a") is child
        assert child.restarts == 1
        assert sessions.started == ["a", "a"]


def test_bad_timeouts_are_refused() -> None:
    with pytest.raises(ValueError, match="idle_timeout"):
        Registry[str, Msg](Supervisor(), Sessions(), idle_timeout=0)
