"""A generic actor runtime on anyio: mailboxes, a supervisor and a registry (no media knowledge).

- ``Mailbox[M]`` (``mailbox``): bounded; ``tell`` never blocks (drops and counts ordinary messages
  when full, ``Urgent`` ones use a reserve); ``ask`` waits for a ``Reply`` within a timeout and
  fails at once with ``ActorDied``/``MailboxClosed`` when the actor crashes or stops.
- ``Actor`` and ``run_state_machine`` (``actor``): an actor is ``async def actor(mailbox, *,
  task_status)``; a pure ``transition(state, msg, now) -> (state, effects)`` plus the loop helper
  is the intended way to write one (``state_machine(initial, transition, execute)`` makes the
  actor; ``Respond``, ``Fail``, ``SetTimer``, ``CancelTimer``, ``Stop`` are built-in effects).
- ``Supervisor`` and ``Child`` (``supervisor``): ``await tg.start(Supervisor(...).run)``, then
  ``await supervisor.start_child(name, actor)``; crashed children restart after a
  ``RestartPolicy`` (``restarts``) backoff; a crash loop raises ``TooManyRestarts``.
- ``Registry`` (``registry``): id -> child, spawned on demand, stopped when idle.

Errors live in ``engine.errors`` (``ActorDied``, ``MailboxClosed``, ``ActorTimeout``,
``MailboxFull``, ``TooManyRestarts``, ``NotFound``). Every part has ``statistics()``.
"""

from engine.actors.actor import Actor, run_state_machine, state_machine
from engine.actors.mailbox import Mailbox, MailboxStatistics, Reply, Urgent
from engine.actors.registry import Registry, RegistryStatistics
from engine.actors.restarts import RestartPolicy
from engine.actors.supervisor import Child, Supervisor, SupervisorStatistics
from engine.effects import CancelTimer, Fail, Respond, SetTimer, Stop

__all__ = [
    "Actor",
    "CancelTimer",
    "Child",
    "Fail",
    "Mailbox",
    "MailboxStatistics",
    "Registry",
    "RegistryStatistics",
    "Reply",
    "Respond",
    "RestartPolicy",
    "SetTimer",
    "Stop",
    "Supervisor",
    "SupervisorStatistics",
    "Urgent",
    "run_state_machine",
    "state_machine",
]
