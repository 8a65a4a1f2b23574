"""Supervisor: children start through tg.start, crashes restart them with backoff and fail their
pending asks at once, a crash loop escalates, a normal end is final, stops are graceful."""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

import anyio
import pytest
from anyio.abc import TaskStatus

from engine.actors import Mailbox, Reply, RestartPolicy, Supervisor
from engine.errors import ActorDied, MailboxClosed, NotFound, TooManyRestarts
from tests.engine.actors.support import trio_only

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Double:
    n: int
    reply: Reply[int]


@dataclass(frozen=True)
class Boom:
    reply: Reply[int]


@dataclass(frozen=True)
class Crash:
    pass


@dataclass(frozen=True)
class Quit:
    pass


@dataclass(frozen=True)
class Hang:
    reply: Reply[int]


@dataclass(frozen=True)
class CrashWhenSet:
    event: anyio.Event
    reply: Reply[int]


Msg = Double | Boom | Crash | Quit | Hang | CrashWhenSet


async def worker(mailbox: Mailbox[Msg], *, task_status: TaskStatus[None]) -> None:
    task_status.started()
    async for msg in mailbox:
        match msg:
            case Double(n, reply):
                reply.send(n * 2)
            case Boom() | Crash():
                raise RuntimeError("boom")
            case Quit():
                return
            case Hang():
                await anyio.sleep_forever()
            case CrashWhenSet(event):
                await event.wait()
                raise RuntimeError("boom")


class CrashOnStart:
    """An actor that is ready, then crashes at once, every time; it records when it started."""

    def __init__(self) -> None:
        self.starts: list[float] = []

    async def __call__(self, mailbox: Mailbox[Msg], *, task_status: TaskStatus[None]) -> None:
        self.starts.append(anyio.current_time())
        task_status.started()
        raise RuntimeError("crash on start")


@asynccontextmanager
async def running(supervisor: Supervisor) -> AsyncIterator[Supervisor]:
    async with anyio.create_task_group() as tg:
        yield await tg.start(supervisor.run)
        tg.cancel_scope.cancel()


FAST = RestartPolicy(max_restarts=3, window=60, base=0.001, cap=0.01)


async def test_start_child_returns_a_ready_address() -> None:
    async with running(Supervisor(FAST)) as sup:
        child = await sup.start_child("w1", worker)
        assert child.alive and child.name == "w1"
        assert await child.mailbox.ask(lambda r: Double(4, r)) == 8
        stats = sup.statistics()
        assert (stats.running, stats.started, stats.restarts, stats.escalations) == (1, 1, 0, 0)
        assert sup.children == (child,)


async def test_an_error_before_ready_goes_to_the_caller_and_is_not_restarted() -> None:
    async def missing(mailbox: Mailbox[Msg], *, task_status: TaskStatus[None]) -> None:
        raise NotFound("no such item")

    async with running(Supervisor(FAST)) as sup:
        with pytest.raises(NotFound):
            await sup.start_child("w1", missing)
        stats = sup.statistics()
        assert (stats.running, stats.started, stats.restarts) == (0, 0, 0)


async def test_a_crash_fails_pending_asks_and_the_child_restarts() -> None:
    async with running(Supervisor(FAST)) as sup:
        child = await sup.start_child("w1", worker)
        errors: list[BaseException] = []
        gate = anyio.Event()

        async def ask(make: Callable[[Reply[int]], Msg]) -> None:
            try:
                await child.mailbox.ask(make, timeout=60)
            except ActorDied as exc:
                errors.append(exc)

        start = anyio.current_time()
        async with anyio.create_task_group() as tg:
            tg.start_soon(ask, partial(CrashWhenSet, gate))  # being handled when it crashes
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(ask, partial(Double, 1))  # queued behind it
            await anyio.wait_all_tasks_blocked()
            assert child.mailbox.statistics().queued == 1
            gate.set()
        assert [type(e) for e in errors] == [ActorDied, ActorDied]
        assert all(isinstance(e.__cause__, RuntimeError) for e in errors)
        assert anyio.current_time() - start < 1  # at once, not at the 60 s timeout

        assert await child.mailbox.ask(partial(Double, 2)) == 4  # the same address serves
        assert child.restarts == 1
        assert sup.statistics().restarts == 1
        stats = child.mailbox.statistics()
        assert (stats.asks_failed, stats.discarded) == (2, 1)


async def test_the_asker_of_the_crashing_message_gets_actor_died() -> None:
    async with running(Supervisor(FAST)) as sup:
        child = await sup.start_child("w1", worker)
        with pytest.raises(ActorDied):
            await child.mailbox.ask(Boom, timeout=60)


@trio_only
async def test_backoff_grows_and_then_the_supervisor_escalates() -> None:
    actor = CrashOnStart()
    policy = RestartPolicy(max_restarts=4, window=100, base=1, factor=2, cap=5)
    sup = Supervisor(policy)
    with pytest.RaisesGroup(TooManyRestarts) as caught:
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            bystander = await sup.start_child("bystander", worker)
            await sup.start_child("crasher", actor)
            await anyio.sleep_forever()
    start = actor.starts[0]
    assert [t - start for t in actor.starts] == pytest.approx([0, 1, 3, 7, 12])
    error = caught.value.exceptions[0]
    assert isinstance(error, TooManyRestarts)
    assert (error.child, error.restarts, error.window) == ("crasher", 4, 100)
    assert isinstance(error.__cause__, RuntimeError)
    stats = sup.statistics()
    assert (stats.restarts, stats.escalations, stats.running) == (4, 1, 0)
    assert not bystander.alive  # escalation stops every child
    with pytest.raises(MailboxClosed):
        bystander.mailbox.tell(Crash())


async def test_escalation_on_any_backend() -> None:
    sup = Supervisor(FAST)
    with pytest.RaisesGroup(TooManyRestarts):
        async with anyio.create_task_group() as tg:
            await tg.start(sup.run)
            await sup.start_child("crasher", CrashOnStart())
            await anyio.sleep_forever()


@trio_only
async def test_crashes_farther_apart_than_the_window_never_escalate() -> None:
    async def crash_later(mailbox: Mailbox[Msg], *, task_status: TaskStatus[None]) -> None:
        task_status.started()
        await anyio.sleep(20)
        raise RuntimeError("a crash every 20 s")

    policy = RestartPolicy(max_restarts=1, window=10, base=1, cap=8)
    async with running(Supervisor(policy)) as sup:
        child = await sup.start_child("w1", crash_later)
        await anyio.sleep(200)
        assert child.alive
        assert child.restarts >= 9
        assert sup.statistics().escalations == 0


async def test_escalate_false_gives_up_on_the_child_only() -> None:
    async with running(Supervisor(FAST, escalate=False)) as sup:
        other = await sup.start_child("other", worker)
        crasher = await sup.start_child("crasher", CrashOnStart())
        await crasher.wait()
        assert not crasher.alive
        with pytest.raises(MailboxClosed):
            await crasher.mailbox.ask(lambda r: Double(1, r))
        assert await other.mailbox.ask(lambda r: Double(1, r)) == 2
        stats = sup.statistics()
        assert (stats.restarts, stats.escalations, stats.running) == (3, 1, 1)


async def test_a_normal_end_is_not_restarted() -> None:
    exits: list[str] = []
    async with running(Supervisor(FAST)) as sup:
        child = await sup.start_child("w1", worker, on_exit=lambda c: exits.append(c.name))
        child.mailbox.tell(Quit())
        await child.wait()
        assert exits == ["w1"]
        assert child.restarts == 0
        with pytest.raises(MailboxClosed):
            child.mailbox.tell(Quit())
        stats = sup.statistics()
        assert (stats.running, stats.started, stats.restarts) == (0, 1, 0)


async def test_stop_lets_the_child_drain_its_mailbox() -> None:
    seen: list[int] = []

    async def recorder(mailbox: Mailbox[int], *, task_status: TaskStatus[None]) -> None:
        task_status.started()
        async for n in mailbox:
            seen.append(n)

    async with running(Supervisor(FAST)) as sup:
        child = await sup.start_child("w1", recorder)
        for n in range(3):
            child.mailbox.tell(n)
        await child.stop(grace=60)
        assert seen == [0, 1, 2]
        assert not child.alive


@trio_only
async def test_stop_cancels_a_child_that_overruns_its_grace() -> None:
    async with running(Supervisor(FAST)) as sup:
        child = await sup.start_child("w1", worker)
        async with anyio.create_task_group() as tg:

            async def ask() -> None:
                with pytest.raises(MailboxClosed):
                    await child.mailbox.ask(Hang, timeout=60)

            tg.start_soon(ask)
            await anyio.wait_all_tasks_blocked()
            start = anyio.current_time()
            await child.stop(grace=3)
            assert anyio.current_time() - start == pytest.approx(3)
        assert sup.statistics().restarts == 0


async def test_stop_during_the_backoff_does_not_restart() -> None:
    actor = CrashOnStart()
    async with running(Supervisor(RestartPolicy(base=30, cap=30))) as sup:
        child = await sup.start_child("w1", actor)
        await anyio.wait_all_tasks_blocked()  # crashed, waiting 30 s to restart
        with anyio.fail_after(5):
            await child.stop(grace=10)
        assert len(actor.starts) == 1


async def test_supervisor_stop_ends_every_child_and_run() -> None:
    sup = Supervisor(FAST)
    async with anyio.create_task_group() as tg:
        await tg.start(sup.run)
        children = [await sup.start_child(f"w{i}", worker) for i in range(3)]
        await sup.stop(grace=1)
    assert not any(c.alive for c in children)
    assert sup.statistics().running == 0


@trio_only
async def test_jitter_is_deterministic_with_a_seeded_rng() -> None:
    policy = RestartPolicy(max_restarts=3, base=4, cap=4, jitter=0.5)
    actor = CrashOnStart()
    sup = Supervisor(policy, escalate=False, rng=random.Random(7))
    async with running(sup):
        await (await sup.start_child("w", actor)).wait()
    draws = random.Random(7)
    expected = [policy.delay(n, draws.random()) for n in (1, 2, 3)]
    gaps = [b - a for a, b in itertools.pairwise(actor.starts)]
    assert gaps == pytest.approx(expected)
    assert len(set(gaps)) == 3


async def test_start_child_needs_a_running_supervisor() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        await Supervisor().start_child("w", worker)
