"""Mailbox: the bounded queue in front of an actor; ``Reply``: the one-shot answer to an ``ask``.

Senders never wait on a slow actor unless they asked for an answer:

- ``tell(msg)`` never blocks. When ``capacity`` messages are queued an ordinary message is dropped
  and counted (position reports and heartbeats: the next one supersedes it). Messages that derive
  from ``Urgent`` are never dropped: they may use ``reserve`` extra slots beyond the capacity, and
  only when even those are full does ``tell`` raise ``MailboxFull`` (the actor is hopelessly
  behind; silently losing a "segment ready" or "stop" would be worse).
- ``ask(make, timeout=...)`` builds the message around a fresh ``Reply`` and waits for the answer.
  A full mailbox makes it wait for room (back-pressure on request handlers) within the same
  timeout; the whole call raises ``ActorTimeout`` (a ``TimeoutError``) when the timeout passes.
  An ``Urgent`` ask uses the reserve like an urgent tell.

An ``ask`` never hangs on a dead actor. Every accepted ask is pending until its ``Reply`` is
resolved; when the actor crashes its supervisor fails them all with ``ActorDied``, and when the
mailbox is finished (the actor stopped or ended) whatever is left fails with ``MailboxClosed``.
``Reply.done`` tells the actor that an answer is no longer wanted (answered, failed, or the caller
timed out), so it can skip the work.

One ``Mailbox`` object is both the address (``tell``, ``ask``) and the actor's inbox (``receive``,
``async for``); only the actor receives. ``close()`` is the generic stop request: senders get
``MailboxClosed`` from then on, the actor still receives what was queued and then the iteration
ends. ``finish()`` (called by the supervisor when the actor is gone) releases the streams.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import anyio
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from engine.errors import ActorDied, ActorTimeout, MailboxClosed, MailboxFull

M = TypeVar("M")
T = TypeVar("T")


class Urgent:
    """Marker base for messages that must not be dropped (effects' completions, stop requests).

    Use it as a base of a frozen dataclass: ``@dataclass(frozen=True) class Ready(Urgent): ...``.
    """

    __slots__ = ()


class Reply(Generic[T]):
    """A one-shot reply slot carried inside an ``ask`` message. The first ``send``/``fail`` wins."""

    __slots__ = ("_abandoned", "_error", "_event", "_pending", "_resolved", "_value")

    def __init__(self, pending: set[Reply[Any]]) -> None:
        self._event = anyio.Event()
        self._pending = pending
        self._resolved = False
        self._abandoned = False
        self._value: T | None = None
        self._error: Exception | None = None

    @property
    def done(self) -> bool:
        """True once answered, failed, or abandoned by a caller that timed out."""
        return self._resolved or self._abandoned

    def send(self, value: T) -> bool:
        """Answer the caller; never blocks. False when the answer is no longer wanted."""
        if self.done:
            return False
        self._value = value
        self._resolve()
        return True

    def fail(self, error: Exception) -> bool:
        """Make the caller's ``ask`` raise ``error``. False when the answer is no longer wanted."""
        if self.done:
            return False
        self._error = error
        self._resolve()
        return True

    def _resolve(self) -> None:
        self._resolved = True
        self._pending.discard(self)
        self._event.set()

    def _abandon(self) -> None:
        self._abandoned = True
        self._pending.discard(self)

    async def _wait(self) -> T:
        await self._event.wait()
        return self._outcome()

    def _outcome(self) -> T:
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # T may itself admit None

    def __repr__(self) -> str:
        state = "resolved" if self._resolved else "abandoned" if self._abandoned else "pending"
        return f"<Reply {state}>"


@dataclass(frozen=True, slots=True)
class MailboxStatistics:
    name: str
    capacity: int
    reserve: int
    queued: int  # messages waiting to be received now
    sent: int  # accepted by tell or ask
    received: int
    dropped: int  # ordinary tells refused because the mailbox was full
    discarded: int  # queued messages thrown away when the actor crashed or finished
    asks: int  # asks started (including ones that timed out or failed)
    asks_pending: int  # accepted asks not answered yet
    asks_timed_out: int
    asks_failed: int  # pending asks failed because the actor crashed or stopped
    closed: bool


class Mailbox(Generic[M]):
    """A bounded mailbox of (frozen dataclass) messages of type ``M``."""

    def __init__(
        self,
        capacity: int = 64,
        *,
        reserve: int = 16,
        ask_timeout: float = 10.0,
        name: str = "mailbox",
    ) -> None:
        if capacity < 1 or reserve < 0:
            raise ValueError(f"capacity must be >= 1 and reserve >= 0, got {capacity}, {reserve}")
        if not ask_timeout > 0:
            raise ValueError(f"ask_timeout must be > 0, got {ask_timeout}")
        self.name = name
        self.capacity = capacity
        self.reserve = reserve
        self.ask_timeout = ask_timeout
        self._send: MemoryObjectSendStream[M]
        self._receive: MemoryObjectReceiveStream[M]
        self._send, self._receive = anyio.create_memory_object_stream[M](capacity + reserve)
        self._pending: set[Reply[Any]] = set()
        self._space: anyio.Event | None = None  # set when a message leaves (asks wait for room)
        self._arrival: anyio.Event | None = None  # set when a message arrives (the actor waits)
        self._closed = False
        self._sent = self._received = self._dropped = self._discarded = 0
        self._asks = self._asks_timed_out = self._asks_failed = 0

    # -- senders ---------------------------------------------------------------------------------

    def tell(self, msg: M) -> bool:
        """Queue ``msg`` without blocking. False when it was dropped because the mailbox is full.

        Raises ``MailboxClosed`` once the mailbox is closed, ``MailboxFull`` when an ``Urgent``
        message finds the reserve full as well.
        """
        self._check_open()
        if self._queued() >= self._limit(msg):
            if isinstance(msg, Urgent):
                raise MailboxFull(f"{self.name}: {self._queued()} messages queued", retry_after=1.0)
            self._dropped += 1
            return False
        self._send.send_nowait(msg)
        self._sent += 1
        self._notify_arrival()
        return True

    async def ask(
        self,
        make: Callable[[Reply[T]], M],
        *,
        timeout: float | None = None,  # noqa: ASYNC109  every ask is bounded, by default too
    ) -> T:
        """Send ``make(reply)`` and wait for the actor to answer through ``reply``.

        ``timeout`` (seconds, default ``ask_timeout``) bounds the whole call, waiting for room
        included. Raises ``ActorTimeout``, ``ActorDied``, ``MailboxClosed`` or what the actor put
        into ``reply.fail``.
        """
        self._check_open()
        reply: Reply[T] = Reply(self._pending)
        msg = make(reply)
        limit = self._limit(msg)
        self._asks += 1
        try:
            with anyio.move_on_after(self.ask_timeout if timeout is None else timeout):
                while self._queued() >= limit:
                    await self._wait_for_space()
                    self._check_open()
                self._send.send_nowait(msg)
                self._sent += 1
                self._pending.add(reply)
                self._notify_arrival()
                return await reply._wait()
        finally:
            if not reply.done:  # timed out or cancelled: the actor may skip the work
                reply._abandon()
        if reply._resolved:  # answered just as the deadline passed
            return reply._outcome()
        self._asks_timed_out += 1
        raise ActorTimeout(f"{self.name} did not answer {type(msg).__name__} in time")

    # -- the actor -------------------------------------------------------------------------------

    async def receive(self) -> M:
        """The next message; ``anyio.EndOfStream`` once closed and drained.

        Cancel-safe on every backend: a cancelled receive (say, under ``move_on_at`` for a timer)
        never loses a message, because the message is taken only after the wait has ended.
        """
        await anyio.lowlevel.checkpoint()
        while not (self._queued() or self._closed):
            if self._arrival is None:
                self._arrival = anyio.Event()
            await self._arrival.wait()
        msg = self._receive.receive_nowait()  # EndOfStream when closed and empty
        self._received += 1
        self._notify_space()
        return msg

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> M:
        # A method, not an async generator: an actor that crashes mid-iteration leaves no
        # unfinished generator behind for the event loop to finalize.
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    # -- lifecycle (the supervisor's side) -------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Refuse new messages; the actor drains what is queued, then its iteration ends."""
        if not self._closed:
            self._closed = True
            self._send.close()
            self._notify_space()
            self._notify_arrival()

    def discard_queued(self) -> int:
        """Throw away every queued message (the actor that was meant to handle them crashed)."""
        count = 0
        while True:
            try:
                self._receive.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
            count += 1
        self._discarded += count
        self._notify_space()
        return count

    def fail_pending(self, error: Callable[[], Exception]) -> int:
        """Fail every accepted, unanswered ask with a fresh ``error()``; no caller waits on."""
        replies = list(self._pending)
        for reply in replies:
            reply.fail(error())
        self._asks_failed += len(replies)
        return len(replies)

    def crashed(self, error: BaseException) -> None:
        """The actor died: drop its queue, fail its pending asks with ``ActorDied``."""
        self.discard_queued()

        def died() -> ActorDied:
            exc = ActorDied(f"{self.name} crashed: {error!r}")
            exc.__cause__ = error
            return exc

        self.fail_pending(died)

    def finish(self) -> None:
        """The actor is gone for good: close, drop the queue, fail pending asks, free streams."""
        self.close()
        self.discard_queued()
        self.fail_pending(lambda: MailboxClosed(f"{self.name} is stopped"))
        self._receive.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish()

    def statistics(self) -> MailboxStatistics:
        return MailboxStatistics(
            name=self.name,
            capacity=self.capacity,
            reserve=self.reserve,
            queued=self._queued(),
            sent=self._sent,
            received=self._received,
            dropped=self._dropped,
            discarded=self._discarded,
            asks=self._asks,
            asks_pending=len(self._pending),
            asks_timed_out=self._asks_timed_out,
            asks_failed=self._asks_failed,
            closed=self._closed,
        )

    def __repr__(self) -> str:
        return f"<Mailbox {self.name} {self._queued()}/{self.capacity}>"

    # -- internals -------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise MailboxClosed(f"{self.name} is stopped")

    def _queued(self) -> int:
        return self._receive.statistics().current_buffer_used

    def _limit(self, msg: M) -> int:
        return self.capacity + self.reserve if isinstance(msg, Urgent) else self.capacity

    async def _wait_for_space(self) -> None:
        if self._space is None:
            self._space = anyio.Event()
        await self._space.wait()

    def _notify_arrival(self) -> None:
        if self._arrival is not None:
            self._arrival.set()
            self._arrival = None

    def _notify_space(self) -> None:
        if self._space is not None:
            self._space.set()
            self._space = None
