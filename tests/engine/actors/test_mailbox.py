"""Mailbox: tell drops when full (urgent messages use the reserve), ask waits for the reply, for
room and never past its timeout, and a crash or a stop fails pending asks instead of hanging."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
import pytest

from engine.actors import Mailbox, Reply, Urgent
from engine.errors import (
    ActorDied,
    ActorTimeout,
    MailboxClosed,
    MailboxFull,
    Overloaded,
    SessionLost,
)
from tests.engine.actors.support import trio_only

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Position:
    seconds: int


@dataclass(frozen=True)
class Double:
    n: int
    reply: Reply[int]


@dataclass(frozen=True)
class Ready(Urgent):
    segment: int


@dataclass(frozen=True)
class UrgentDouble(Urgent):
    n: int
    reply: Reply[int]


Msg = Position | Double | Ready | UrgentDouble


async def doubler(mailbox: Mailbox[Msg]) -> None:
    async for msg in mailbox:
        if isinstance(msg, Double | UrgentDouble):
            msg.reply.send(msg.n * 2)


async def test_tell_drops_and_counts_when_full() -> None:
    with Mailbox[Msg](2, reserve=1, name="s1") as mailbox:
        assert mailbox.tell(Position(1))
        assert mailbox.tell(Position(2))
        assert not mailbox.tell(Position(3))
        assert not mailbox.tell(Position(4))
        stats = mailbox.statistics()
        assert (stats.queued, stats.sent, stats.dropped, stats.capacity) == (2, 2, 2, 2)
        assert await mailbox.receive() == Position(1)
        assert mailbox.tell(Position(5))
        assert [await mailbox.receive(), await mailbox.receive()] == [Position(2), Position(5)]
        assert mailbox.statistics().received == 3


async def test_urgent_messages_use_the_reserve_then_raise() -> None:
    with Mailbox[Msg](1, reserve=2) as mailbox:
        mailbox.tell(Position(1))
        assert not mailbox.tell(Position(2))
        assert mailbox.tell(Ready(1))
        assert mailbox.tell(Ready(2))
        with pytest.raises(MailboxFull) as caught:
            mailbox.tell(Ready(3))
        assert isinstance(caught.value, Overloaded)
        stats = mailbox.statistics()
        assert (stats.queued, stats.sent, stats.dropped) == (3, 3, 1)
        # order is kept: urgent messages queue behind what came first
        assert [await mailbox.receive() for _ in range(3)] == [Position(1), Ready(1), Ready(2)]


async def test_ask_gets_the_reply() -> None:
    with Mailbox[Msg](4) as mailbox:
        async with anyio.create_task_group() as tg:
            tg.start_soon(doubler, mailbox)
            assert await mailbox.ask(lambda r: Double(21, r)) == 42
            assert await mailbox.ask(lambda r: Double(2, r), timeout=1) == 4
            mailbox.close()
        stats = mailbox.statistics()
        assert (stats.asks, stats.asks_pending, stats.sent, stats.received) == (2, 0, 2, 2)


async def test_the_actor_can_fail_an_ask() -> None:
    with Mailbox[Msg](4) as mailbox:
        with pytest.RaisesGroup(pytest.RaisesExc(LookupError, match="no such rendition")):
            async with anyio.create_task_group() as tg:
                tg.start_soon(mailbox.ask, lambda r: Double(1, r))
                msg = await mailbox.receive()
                assert isinstance(msg, Double)
                assert msg.reply.fail(LookupError("no such rendition"))
                assert not msg.reply.send(2)  # the first answer wins
        assert mailbox.statistics().asks_pending == 0


@trio_only
async def test_ask_times_out_and_the_actor_sees_the_caller_gone() -> None:
    with Mailbox[Msg](4, ask_timeout=5) as mailbox:
        start = anyio.current_time()
        with pytest.raises(ActorTimeout) as caught:
            await mailbox.ask(lambda r: Double(1, r))
        assert isinstance(caught.value, TimeoutError)
        assert anyio.current_time() - start == pytest.approx(5)
        with pytest.raises(TimeoutError):
            await mailbox.ask(lambda r: Double(2, r), timeout=0.5)
        assert anyio.current_time() - start == pytest.approx(5.5)

        late = await mailbox.receive()
        assert isinstance(late, Double)
        assert late.reply.done  # the actor can skip work nobody waits for
        assert not late.reply.send(2)
        stats = mailbox.statistics()
        assert (stats.asks, stats.asks_timed_out, stats.asks_pending) == (2, 2, 0)


async def test_ask_times_out_on_any_backend() -> None:
    with Mailbox[Msg](4) as mailbox, pytest.raises(ActorTimeout):
        await mailbox.ask(lambda r: Double(1, r), timeout=0.02)


async def test_a_cancelled_ask_is_abandoned() -> None:
    with Mailbox[Msg](4) as mailbox:
        with anyio.CancelScope() as scope:
            scope.cancel()
            await mailbox.ask(lambda r: Double(1, r))
        msg = await mailbox.receive()
        assert isinstance(msg, Double) and msg.reply.done
        stats = mailbox.statistics()
        assert (stats.asks_pending, stats.asks_timed_out) == (0, 0)


async def test_ask_waits_for_room_in_a_full_mailbox() -> None:
    with Mailbox[Msg](1) as mailbox:
        mailbox.tell(Position(1))
        answers: list[int] = []

        async def ask() -> None:
            answers.append(await mailbox.ask(lambda r: Double(5, r)))

        async with anyio.create_task_group() as tg:
            tg.start_soon(ask)
            await anyio.wait_all_tasks_blocked()
            assert mailbox.statistics().sent == 1  # still waiting for room
            tg.start_soon(doubler, mailbox)
            while not answers:
                await anyio.wait_all_tasks_blocked()
            mailbox.close()
        assert answers == [10]


async def test_urgent_ask_uses_the_reserve() -> None:
    with Mailbox[Msg](1, reserve=1) as mailbox:
        mailbox.tell(Position(1))
        async with anyio.create_task_group() as tg:
            tg.start_soon(mailbox.ask, lambda r: UrgentDouble(1, r))
            await anyio.wait_all_tasks_blocked()
            assert mailbox.statistics().queued == 2
            tg.cancel_scope.cancel()


async def test_ask_to_a_full_mailbox_times_out_without_sending() -> None:
    with Mailbox[Msg](1) as mailbox:
        mailbox.tell(Position(1))
        with pytest.raises(ActorTimeout):
            await mailbox.ask(lambda r: Double(5, r), timeout=0.02)
        stats = mailbox.statistics()
        assert (stats.sent, stats.queued, stats.asks_timed_out) == (1, 1, 1)


async def test_a_crash_fails_pending_asks_at_once() -> None:
    with Mailbox[Msg](4) as mailbox:
        errors: list[Exception] = []

        async def ask(n: int) -> None:
            try:
                await mailbox.ask(lambda r: Double(n, r), timeout=60)
            except SessionLost as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(ask, 1)
            tg.start_soon(ask, 2)
            await anyio.wait_all_tasks_blocked()
            await mailbox.receive()  # one is being handled, one is queued
            boom = RuntimeError("boom")
            mailbox.crashed(boom)
        assert [type(e) for e in errors] == [ActorDied, ActorDied]
        assert all(e.__cause__ is boom for e in errors)
        assert errors[0] is not errors[1]  # one error object per caller
        stats = mailbox.statistics()
        assert (stats.asks_failed, stats.discarded, stats.queued, stats.closed) == (2, 1, 0, False)
        mailbox.tell(Position(1))  # the address survives a crash: a restart will read it


async def test_close_drains_then_ends_and_refuses_new_messages() -> None:
    with Mailbox[Msg](4) as mailbox:
        mailbox.tell(Position(1))
        mailbox.tell(Position(2))
        mailbox.close()
        with pytest.raises(MailboxClosed):
            mailbox.tell(Position(3))
        with pytest.raises(MailboxClosed):
            await mailbox.ask(lambda r: Double(1, r))
        assert [msg async for msg in mailbox] == [Position(1), Position(2)]
        assert mailbox.statistics().closed


async def test_close_wakes_asks_waiting_for_room() -> None:
    with Mailbox[Msg](1) as mailbox:
        mailbox.tell(Position(1))
        with pytest.RaisesGroup(MailboxClosed):
            async with anyio.create_task_group() as tg:
                tg.start_soon(mailbox.ask, lambda r: Double(1, r))
                await anyio.wait_all_tasks_blocked()
                mailbox.close()


async def test_finish_fails_what_is_pending_with_mailbox_closed() -> None:
    mailbox = Mailbox[Msg](4)
    with pytest.RaisesGroup(MailboxClosed):
        async with anyio.create_task_group() as tg:
            tg.start_soon(mailbox.ask, lambda r: Double(1, r))
            await anyio.wait_all_tasks_blocked()
            mailbox.finish()
    stats = mailbox.statistics()
    assert (stats.asks_failed, stats.discarded, stats.closed) == (1, 1, True)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="capacity"):
        Mailbox[Msg](0)
    with pytest.raises(ValueError, match="ask_timeout"):
        Mailbox[Msg](1, ask_timeout=0)
