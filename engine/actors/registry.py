"""Registry: ids (session ids, say) -> live actors, spawned on demand, stopped when idle.

    registry = Registry(supervisor, lambda sid: SessionActor(sid).run, idle_timeout=60)
    await root_tg.start(registry.run)          # the idle reaper
    child = await registry.get_or_spawn(sid)   # spawns under the supervisor once per id
    child = registry.get(sid)                  # NotFound for an unknown (or evicted) id

``get``, ``get_or_spawn`` and ``touch`` mark an id as used. One not used for ``idle_timeout``
seconds (``anyio.current_time()``, so virtual under a mock clock) is evicted: removed from the
map at once (a later ``get`` raises ``NotFound``, a later ``get_or_spawn`` starts a fresh actor)
and stopped gracefully in the background (``Child.stop``: its mailbox is closed, it drains what
was queued, and it is cancelled after ``grace`` seconds). ``stop(id)`` does the same now.

Concurrent ``get_or_spawn`` calls for one id start one actor; an error raised by the actor
before it is ready (``NotFound`` for a missing item, say) reaches the caller and nothing is
registered. An actor that ends by itself (returns, or is given up after a crash loop) leaves the
map when it ends. A crash that the supervisor restarts keeps the entry: the address is stable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, Self, TypeVar

import anyio
from anyio.abc import TaskStatus

from engine.actors.actor import Actor
from engine.actors.supervisor import Child, Supervisor
from engine.errors import NotFound

K = TypeVar("K", bound=Hashable)
M = TypeVar("M")


@dataclass(frozen=True, slots=True)
class RegistryStatistics:
    name: str
    live: int  # ids with a running actor
    spawned: int
    evicted: int  # stopped after idle_timeout without use
    stopped: int  # stopped by stop(id)
    ended: int  # ended by themselves (returned, or given up after too many restarts)


@dataclass(slots=True)
class _Entry(Generic[M]):
    child: Child[M]
    touched: float


class Registry(Generic[K, M]):
    def __init__(
        self,
        supervisor: Supervisor,
        factory: Callable[[K], Actor[M]],
        *,
        idle_timeout: float,
        grace: float = 5.0,
        capacity: int = 64,
        reserve: int = 16,
        ask_timeout: float = 10.0,
        name: str = "registry",
    ) -> None:
        if not idle_timeout > 0 or grace < 0:
            raise ValueError("idle_timeout must be > 0 and grace >= 0")
        self.supervisor = supervisor
        self.factory = factory
        self.idle_timeout = idle_timeout
        self.grace = grace
        self.name = name
        self._mailbox_options: dict[str, Any] = {
            "capacity": capacity,
            "reserve": reserve,
            "ask_timeout": ask_timeout,
        }
        self._entries: dict[K, _Entry[M]] = {}
        self._starting: dict[K, anyio.Event] = {}
        self._wakeup: anyio.Event | None = None
        self._spawned = self._evicted = self._stopped = self._ended = 0

    async def run(self, *, task_status: TaskStatus[Self] = anyio.TASK_STATUS_IGNORED) -> None:
        """Evict idle actors until cancelled. Without it running nothing is evicted."""
        async with anyio.create_task_group() as tg:  # the graceful stops run here
            task_status.started(self)
            while True:
                now = anyio.current_time()
                for key, entry in list(self._entries.items()):
                    if now >= entry.touched + self.idle_timeout:  # the deadline, exactly
                        self._evicted += 1
                        self._remove(key)
                        tg.start_soon(entry.child.stop, self.grace)
                # Touches only move deadlines later, so sleeping until the earliest one known
                # now is never late; a spawn into an empty map wakes us.
                oldest = min((e.touched for e in self._entries.values()), default=math.inf)
                self._wakeup = anyio.Event()
                with anyio.move_on_at(oldest + self.idle_timeout):
                    await self._wakeup.wait()

    def get(self, key: K) -> Child[M]:
        """The live actor for ``key``, marked as used; ``NotFound`` when there is none."""
        entry = self._entries.get(key)
        if entry is None:
            raise NotFound(f"{self.name}: no actor for {key!r}")
        entry.touched = anyio.current_time()
        return entry.child

    def touch(self, key: K) -> None:
        self.get(key)

    async def get_or_spawn(self, key: K) -> Child[M]:
        """The live actor for ``key``, started (and awaited until ready) when there is none."""
        while (starting := self._starting.get(key)) is not None:
            await starting.wait()  # someone else is starting it: share their actor
        if key in self._entries:
            return self.get(key)
        done = self._starting[key] = anyio.Event()
        try:
            child = await self.supervisor.start_child(
                f"{self.name}/{key}",
                self.factory(key),
                on_exit=partial(self._on_exit, key),
                **self._mailbox_options,
            )
        finally:
            del self._starting[key]
            done.set()
        self._spawned += 1
        if child.alive:  # it may have ended already, right after it was ready
            self._entries[key] = _Entry(child, anyio.current_time())
            if self._wakeup is not None:
                self._wakeup.set()
        return child

    async def stop(self, key: K, *, grace: float | None = None) -> None:
        """Stop the actor for ``key`` gracefully and forget it; ``NotFound`` when there is none."""
        entry = self._entries.get(key)
        if entry is None:
            raise NotFound(f"{self.name}: no actor for {key!r}")
        self._stopped += 1
        self._remove(key)
        await entry.child.stop(self.grace if grace is None else grace)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._entries))

    def statistics(self) -> RegistryStatistics:
        return RegistryStatistics(
            name=self.name,
            live=len(self._entries),
            spawned=self._spawned,
            evicted=self._evicted,
            stopped=self._stopped,
            ended=self._ended,
        )

    def _remove(self, key: K) -> None:
        del self._entries[key]

    def _on_exit(self, key: K, child: Child[M]) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry.child is child:  # not already evicted or replaced
            self._ended += 1
            self._remove(key)
