"""Actor: what a supervisor runs; ``run_state_machine``: the loop around a pure state machine.

An actor is any async callable ``actor(mailbox, *, task_status)`` (a function, or a bound method
such as ``Session(...).run``). It calls ``task_status.started()`` once it is ready to serve,
receives messages (``async for msg in mailbox``) until the mailbox is closed and drained, and
returns: a return is the end (never restarted), an exception is a crash (restarted with fresh
state, see ``engine.actors.supervisor``).

Most actors should be a pure state machine plus ``run_state_machine``:

    def transition(state: S, msg: M, now: float) -> tuple[S, Sequence[Effect]]: ...

``transition`` decides and does no I/O; the effects it returns are data. The loop performs the
built-in effects itself and hands every other effect to ``execute(effect)``, in order:

- ``Respond(reply, value)`` / ``Fail(reply, error)``: answer an ``ask`` (``msg.reply``);
- ``SetTimer(key, at, msg)``: feed ``msg`` to ``transition`` at time ``at`` (``now + seconds``;
  times are ``anyio.current_time()``), replacing the pending timer with the same key;
  ``CancelTimer(key)``; timer messages skip the mailbox, so they are never dropped;
- ``Stop()``: return now (the actor ends normally; the rest of the effects list is not run).

``state_machine(initial, transition, execute)`` wraps that loop as an ``Actor``; every (re)start
begins again at ``initial``. ``execute`` is awaited, so it should be quick. To run long work (an
encode) concurrently, write the actor function yourself so the executor can reach a task group
and the mailbox, and let the work ``tell`` its result back as an ``Urgent`` message:

    async def session(mailbox, *, task_status):
        async with anyio.create_task_group() as tg:
            async def execute(effect):
                tg.start_soon(encode_then_tell, effect, mailbox)
            await run_state_machine(mailbox, initial, transition, execute, task_status=task_status)
            tg.cancel_scope.cancel()

A test drives ``transition`` alone, synchronously, table-driven.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, Protocol, TypeVar

import anyio
from anyio.abc import TaskStatus

from engine.actors.mailbox import Mailbox
from engine.effects import CancelTimer, Fail, Respond, SetTimer, Stop

M = TypeVar("M")
S = TypeVar("S")
T = TypeVar("T")


class Actor(Protocol[M]):
    """``async def actor(mailbox, *, task_status) -> None``; see the module docstring."""

    def __call__(
        self, mailbox: Mailbox[M], /, *, task_status: TaskStatus[None]
    ) -> Awaitable[None]: ...


async def run_state_machine(
    mailbox: Mailbox[M],
    initial: S,
    transition: Callable[[S, M, float], tuple[S, Iterable[object]]],
    execute: Callable[[Any], Awaitable[None]] | None = None,
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> S:
    """Feed messages and due timers to ``transition`` and run its effects; returns the final
    state when the mailbox ends or an effect says ``Stop()``. Raises what ``transition`` or
    ``execute`` raise (a crash), or ``TypeError`` for an effect nobody executes."""
    state = initial
    timers: dict[Hashable, SetTimer[M]] = {}
    task_status.started()
    while True:
        due = min(timers.values(), key=lambda timer: timer.at, default=None)
        with anyio.move_on_at(due.at if due is not None else math.inf):
            try:
                msg = await mailbox.receive()
            except anyio.EndOfStream:
                return state
            due = None
        if due is not None:  # the deadline came first
            del timers[due.key]
            msg = due.msg
        state, effects = transition(state, msg, anyio.current_time())
        for effect in effects:
            if isinstance(effect, Respond):
                effect.reply.send(effect.value)
            elif isinstance(effect, Fail):
                effect.reply.fail(effect.error)
            elif isinstance(effect, SetTimer):
                timers[effect.key] = effect
            elif isinstance(effect, CancelTimer):
                timers.pop(effect.key, None)
            elif isinstance(effect, Stop):
                return state
            elif execute is not None:
                await execute(effect)
            else:
                raise TypeError(f"no executor for effect {effect!r}")


def state_machine(
    initial: S,
    transition: Callable[[S, M, float], tuple[S, Iterable[object]]],
    execute: Callable[[Any], Awaitable[None]] | None = None,
) -> Actor[M]:
    """An actor that runs ``transition`` from ``initial`` (again from ``initial`` on a restart)."""

    async def actor(mailbox: Mailbox[M], *, task_status: TaskStatus[None]) -> None:
        await run_state_machine(mailbox, initial, transition, execute, task_status=task_status)

    return actor
