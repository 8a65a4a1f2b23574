"""run_state_machine: a pure transition decides, the loop answers asks, keeps timers, stops, and
hands other effects to the executor. The transition itself is tested synchronously."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import anyio
import pytest

from engine.actors import (
    CancelTimer,
    Fail,
    Mailbox,
    Reply,
    Respond,
    RestartPolicy,
    SetTimer,
    Stop,
    Supervisor,
    run_state_machine,
    state_machine,
)
from tests.engine.actors.support import trio_only

pytestmark = pytest.mark.anyio

IDLE = 10.0


@dataclass(frozen=True)
class Add:
    n: int


@dataclass(frozen=True)
class Total:
    reply: Reply[int]


@dataclass(frozen=True)
class Divide:
    by: int
    reply: Reply[float]


@dataclass(frozen=True)
class Hold:  # stop the idle timer
    pass


@dataclass(frozen=True)
class Idle:  # the idle timer's message
    pass


@dataclass(frozen=True)
class Log:  # an effect the loop does not know: goes to execute
    line: str


Msg = Add | Total | Divide | Hold | Idle


@dataclass(frozen=True)
class Counter:
    total: int = 0
    idle_since: float | None = None


def transition(state: Counter, msg: Msg, now: float) -> tuple[Counter, Sequence[object]]:
    match msg:
        case Add(n):
            return (
                replace(state, total=state.total + n, idle_since=now),
                [Log(f"+{n}"), SetTimer("idle", now + IDLE, Idle())],
            )
        case Total(reply):
            return state, [Respond(reply, state.total)]
        case Divide(by, reply):
            if by == 0:
                return state, [Fail(reply, ZeroDivisionError("by zero"))]
            return state, [Respond(reply, state.total / by)]
        case Hold():
            return replace(state, idle_since=None), [CancelTimer("idle")]
        case Idle():
            return state, [Log("idle"), Stop(), Log("never")]
    raise AssertionError(msg)


def test_the_transition_is_pure_and_synchronous() -> None:
    state, effects = transition(Counter(), Add(2), now=5.0)
    assert state == Counter(total=2, idle_since=5.0)
    assert effects == [Log("+2"), SetTimer("idle", 15.0, Idle())]
    assert transition(state, Idle(), now=15.0) == (state, [Log("idle"), Stop(), Log("never")])


async def test_asks_are_answered_and_effects_executed_in_order() -> None:
    log: list[str] = []

    async def execute(effect: Log) -> None:
        log.append(effect.line)

    with Mailbox[Msg](8) as mailbox:
        async with anyio.create_task_group() as tg:
            final: list[Counter] = []

            async def run() -> None:
                final.append(await run_state_machine(mailbox, Counter(), transition, execute))

            tg.start_soon(run)
            mailbox.tell(Add(2))
            mailbox.tell(Add(3))
            assert await mailbox.ask(Total) == 5
            assert await mailbox.ask(lambda r: Divide(2, r)) == 2.5
            with pytest.raises(ZeroDivisionError):
                await mailbox.ask(lambda r: Divide(0, r))
            mailbox.close()  # the end of the mailbox ends the loop with the final state
        assert log == ["+2", "+3"]
        assert final[0].total == 5


@trio_only
async def test_a_timer_fires_at_its_time_and_stop_ends_the_actor() -> None:
    log: list[str] = []

    async def execute(effect: Log) -> None:
        log.append(f"{effect.line}@{anyio.current_time() - start:g}")

    async with anyio.create_task_group() as tg:
        sup = await tg.start(Supervisor(RestartPolicy()).run)
        start = anyio.current_time()
        child = await sup.start_child("counter", state_machine(Counter(), transition, execute))
        child.mailbox.tell(Add(1))
        await anyio.sleep(4)
        child.mailbox.tell(Add(1))  # the timer with the same key is replaced: now due at 14
        await child.wait()
        assert anyio.current_time() - start == pytest.approx(14)
        tg.cancel_scope.cancel()
    assert log == ["+1@0", "+1@4", "idle@14"]  # effects after Stop() are not run
    assert child.restarts == 0


@trio_only
async def test_a_cancelled_timer_does_not_fire() -> None:
    with Mailbox[Msg](8) as mailbox:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_state_machine, mailbox, Counter(), transition, _ignore)
            mailbox.tell(Add(1))
            mailbox.tell(Hold())
            await anyio.sleep(100)
            assert await mailbox.ask(Total) == 1  # still running
            mailbox.close()


async def test_timers_on_any_backend() -> None:
    def quick(state: int, msg: Add | Idle, now: float) -> tuple[int, list[object]]:
        if isinstance(msg, Add):
            return state + msg.n, [SetTimer("t", now + 0.01, Idle())]
        return state, [Stop()]

    with Mailbox[Add | Idle](8) as mailbox:
        mailbox.tell(Add(7))
        with anyio.fail_after(5):
            assert await run_state_machine(mailbox, 0, quick) == 7


async def test_an_effect_without_an_executor_is_a_type_error() -> None:
    with Mailbox[Msg](8) as mailbox:
        mailbox.tell(Add(1))
        with pytest.raises(TypeError, match="no executor"):
            await run_state_machine(mailbox, Counter(), transition)


async def _ignore(effect: object) -> None:
    pass
