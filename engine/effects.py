"""The effects every actor loop performs itself (``engine.actors.run_state_machine``).

Plain data, importable by pure state machines: a ``transition`` returns these beside its own
effects, and the loop carries them out.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

M = TypeVar("M")
T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class Reply(Protocol[T_contra]):
    """The answering end of an ``ask`` (``engine.actors.mailbox.Reply`` is one)."""

    def send(self, value: T_contra, /) -> bool: ...

    def fail(self, error: Exception, /) -> bool: ...


@dataclass(frozen=True, slots=True)
class Respond(Generic[T]):
    reply: Reply[T]
    value: T


@dataclass(frozen=True, slots=True)
class Fail:
    reply: Reply[Any]
    error: Exception


@dataclass(frozen=True, slots=True)
class SetTimer(Generic[M]):
    key: Hashable
    at: float  # anyio.current_time() seconds
    msg: M


@dataclass(frozen=True, slots=True)
class CancelTimer:
    key: Hashable


@dataclass(frozen=True, slots=True)
class Stop:
    pass
