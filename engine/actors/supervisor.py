"""Supervisor: runs actors in its task group, restarts the ones that crash, gives up on crash loops.

    supervisor = await root_tg.start(Supervisor(RestartPolicy(max_restarts=5)).run)
    child = await supervisor.start_child("session-42", session_actor)
    await child.mailbox.ask(...)

``start_child`` is ``await tg.start(...)``: it returns once the actor has called
``task_status.started()``, and an error raised before that (say, ``NotFound`` while loading what
the actor needs) reaches the caller instead of starting a restart loop. The returned ``Child`` is
a stable address: a restarted actor gets the same mailbox, so callers keep their handle.

A crash (any ``Exception`` after the actor was ready) throws away the queued messages and fails
the pending asks with ``ActorDied`` at once; the actor is then called again, with the same
mailbox, after the ``RestartPolicy`` delay. More than ``max_restarts`` crashes within ``window``
is a crash loop: with ``escalate=True`` (default) the supervisor cancels every child and ``run``
raises ``TooManyRestarts``; with ``escalate=False`` only that child is given up (a registry of
independent sessions should not die with one of them). An actor that returns is done: it is not
restarted, and its mailbox is finished (later senders get ``MailboxClosed``).

``Child.stop(grace)`` is the graceful stop: it closes the mailbox, so the actor drains what is
queued, sees the end of its iteration and returns; after ``grace`` seconds it is cancelled.
Cancellation (a stop past its grace, or the supervisor's own) is never a crash.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

import anyio
import structlog
from anyio.abc import TaskGroup, TaskStatus

from engine.actors.actor import Actor
from engine.actors.mailbox import Mailbox
from engine.actors.restarts import RestartPolicy
from engine.errors import TooManyRestarts

log = structlog.get_logger(__name__)

M = TypeVar("M")


class Child(Generic[M]):
    """Handle of one supervised actor: its address (``mailbox``) and its lifecycle."""

    def __init__(self, name: str, mailbox: Mailbox[M]) -> None:
        self.name = name
        self.mailbox = mailbox
        self.restarts = 0
        self._scope = anyio.CancelScope()
        self._backoff: anyio.CancelScope | None = None
        self._ended = anyio.Event()
        self._stopping = False

    @property
    def alive(self) -> bool:
        return not self._ended.is_set()

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def stop(self, grace: float = 5.0) -> None:
        """Close the mailbox, give the actor ``grace`` seconds to drain it, then cancel it."""
        self._stopping = True
        self.mailbox.close()
        if self._backoff is not None:
            self._backoff.cancel()  # waiting to restart: nothing to drain
        with anyio.move_on_after(grace):
            await self._ended.wait()
        self._scope.cancel()
        await self._ended.wait()

    async def wait(self) -> None:
        """Until the child has ended for good (returned, stopped, or given up)."""
        await self._ended.wait()

    def __repr__(self) -> str:
        state = "alive" if self.alive else "ended"
        return f"<Child {self.name} {state} restarts={self.restarts}>"


@dataclass(frozen=True, slots=True)
class SupervisorStatistics:
    name: str
    running: int  # children not ended
    started: int  # children that became ready (start_child returned)
    restarts: int
    escalations: int  # children given up after too many restarts


class _Readiness(TaskStatus[None]):
    """What an actor calls ``started()`` on; only the first incarnation has someone waiting."""

    def __init__(self, outer: TaskStatus[Any] | None, child: Child[Any]) -> None:
        self._outer = outer
        self._child = child
        self.ready = False

    @property
    def awaited(self) -> bool:
        """True for the first incarnation, whose readiness ``start_child`` waits for."""
        return self._outer is not None

    def started(self, value: None = None) -> None:
        if self.ready:
            raise RuntimeError(f"{self._child.name} called task_status.started() twice")
        self.ready = True
        if self._outer is not None:
            self._outer.started(self._child)


class Supervisor:
    def __init__(
        self,
        policy: RestartPolicy | None = None,
        *,
        escalate: bool = True,
        name: str = "supervisor",
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy or RestartPolicy()
        self.escalate = escalate
        self.name = name
        self._rng = rng or random.Random()  # noqa: S311  jitter, not cryptography
        self._tg: TaskGroup | None = None
        self._children: set[Child[Any]] = set()
        self._escalation: TooManyRestarts | None = None
        self._started = self._restarts = self._escalations = 0

    async def run(self, *, task_status: TaskStatus[Self] = anyio.TASK_STATUS_IGNORED) -> None:
        """Own the children until cancelled or ``stop()``; raise ``TooManyRestarts`` on a crash
        loop when ``escalate`` is set."""
        if self._tg is not None:
            raise RuntimeError(f"{self.name} is already running")
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                task_status.started(self)
                await anyio.sleep_forever()
        finally:
            self._tg = None
        if self._escalation is not None:
            raise self._escalation

    async def start_child(
        self,
        name: str,
        actor: Actor[M],
        *,
        capacity: int = 64,
        reserve: int = 16,
        ask_timeout: float = 10.0,
        on_exit: Callable[[Child[M]], None] | None = None,
    ) -> Child[M]:
        """Start ``actor`` under supervision; returns once it is ready. ``on_exit`` is called
        (synchronously) when the child ends for good."""
        if self._tg is None:
            raise RuntimeError(f"{self.name} is not running")
        mailbox = Mailbox[M](capacity, reserve=reserve, ask_timeout=ask_timeout, name=name)
        child = Child(name, mailbox)
        started: Child[M] = await self._tg.start(self._supervise, child, actor, on_exit)
        self._started += 1
        return started

    async def stop(self, grace: float = 5.0) -> None:
        """Stop every child gracefully (together), then end ``run``."""
        async with anyio.create_task_group() as tg:
            for child in list(self._children):
                tg.start_soon(child.stop, grace)
        if self._tg is not None:
            self._tg.cancel_scope.cancel()

    @property
    def children(self) -> tuple[Child[Any], ...]:
        return tuple(self._children)

    def statistics(self) -> SupervisorStatistics:
        return SupervisorStatistics(
            name=self.name,
            running=len(self._children),
            started=self._started,
            restarts=self._restarts,
            escalations=self._escalations,
        )

    async def _supervise(
        self,
        child: Child[M],
        actor: Actor[M],
        on_exit: Callable[[Child[M]], None] | None,
        *,
        task_status: TaskStatus[Child[M]],
    ) -> None:
        mailbox = child.mailbox
        readiness = _Readiness(task_status, child)
        crashes: tuple[float, ...] = ()
        self._children.add(child)
        try:
            with child._scope:
                while True:
                    try:
                        await actor(mailbox, task_status=readiness)
                        return  # a normal end: not restarted
                    except Exception as exc:
                        if not readiness.ready and readiness.awaited:
                            raise  # never got going: the caller of start_child gets the error
                        error = exc
                    mailbox.crashed(error)
                    if child.stopping:
                        return
                    now = anyio.current_time()
                    crashes, delay = self.policy.after_crash(crashes, now, self._rng.random())
                    if delay is None:
                        self._give_up(child, error, len(crashes))
                        return
                    self._restarts += 1
                    child.restarts += 1
                    log.warning(
                        "actor.restart",
                        supervisor=self.name,
                        child=child.name,
                        delay=delay,
                        exc_info=error,
                    )
                    with anyio.CancelScope() as child._backoff:
                        await anyio.sleep(delay)
                    child._backoff = None
                    if _stop_requested(child):  # while waiting to restart
                        return
                    readiness = _Readiness(None, child)
        finally:
            self._children.discard(child)
            mailbox.finish()
            child._ended.set()
            if on_exit is not None:
                on_exit(child)

    def _give_up(self, child: Child[Any], error: Exception, crashes: int) -> None:
        self._escalations += 1
        log.error(
            "actor.too_many_restarts",
            supervisor=self.name,
            child=child.name,
            crashes=crashes,
            exc_info=error,
        )
        if self.escalate and self._escalation is None and self._tg is not None:
            self._escalation = TooManyRestarts(
                f"{child.name} crashed {crashes} times within {self.policy.window} s",
                child=child.name,
                restarts=crashes - 1,
                window=self.policy.window,
            )
            self._escalation.__cause__ = error
            self._tg.cancel_scope.cancel()


def _stop_requested(child: Child[Any]) -> bool:
    # A call, not an attribute: the flag changes across awaits and mypy would narrow an attribute.
    return child.stopping
