"""``Events``: what happens in Reelbox, told to the clients that care, on every node.

The typed publish helpers below are the only way events enter the bus (``ingest.state.Bus``:
in-process on one node, Redis pub/sub in a cluster), so topic names and payloads live here:

    topic              payload                                   who may see it
    library            {library_id, kind}                        whoever sees the library
    scan               {library_id, stats}                       whoever sees the library
    userdata:{user}    {item_id, data}                           that user
    session:{user}     {kind, data}                              that user
    remote:{user}      {kind: command|result, target, from ...}  that user's target device
    presence:{user}    {op: online|offline|query|answer, node ...}  that user's devices

Global topics are filtered per subscriber by library visibility; per-user topics are only ever
subscribed to by that user's connections, so a remote command can never reach another user's
device whatever device id it names. ``client_message`` is the one translation from a bus event to
what a WebSocket client receives (None: not for this client).

Delivery is at most once, like the bus. Publishing is best effort: an event is a hint that
something changed (clients refetch), so a publish that fails because Redis is away is logged and
counted, never raised into the request that changed something.

Presence: each node keeps the devices connected to it (``online``). ``devices(user)`` lists a
user's devices on every node: this node's at once, and in a cluster (``peer_window_s > 0``) the
others' by asking on ``presence:{user}`` and collecting for that long; ``run`` (one task per node)
answers other nodes' questions. A node that dies simply stops answering, so a list never shows a
device that is gone for longer than a connection's idle timeout.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import anyio
import structlog
from anyio.abc import TaskStatus

from ingest.state.ports import Bus, Event, JSONValue, StateUnavailable
from web.auth.principal import Principal

log = structlog.get_logger(__name__)

LIBRARY = "library"
SCAN = "scan"
REMOTE_ACTIONS = ("play", "pause", "seek", "stop")
RemoteAction = Literal["play", "pause", "seek", "stop"]


def user_data_topic(user_id: int) -> str:
    return f"userdata:{user_id}"


def session_topic(user_id: int) -> str:
    return f"session:{user_id}"


def remote_topic(user_id: int) -> str:
    return f"remote:{user_id}"


def presence_topic(user_id: int) -> str:
    return f"presence:{user_id}"


def topics_for(user_id: int) -> tuple[str, ...]:
    """Every topic a connection of ``user_id`` listens to."""
    return (
        LIBRARY,
        SCAN,
        user_data_topic(user_id),
        session_topic(user_id),
        remote_topic(user_id),
        presence_topic(user_id),
    )


def _user_of(topic: str) -> int | None:
    _, colon, user = topic.partition(":")
    return int(user) if colon and user.isdigit() else None


@dataclass(frozen=True, slots=True)
class Device:
    """A connected client that said hello: what other clients of its user may command."""

    id: str
    user_id: int
    name: str
    capabilities: tuple[str, ...]
    node: str
    connected_at: str  # ISO 8601, UTC

    def as_dict(self) -> dict[str, JSONValue]:
        data = asdict(self)
        data["capabilities"] = list(self.capabilities)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Device:
        return cls(
            id=str(data["id"]),
            user_id=int(data["user_id"]),
            name=str(data["name"]),
            capabilities=tuple(str(c) for c in data["capabilities"]),
            node=str(data["node"]),
            connected_at=str(data["connected_at"]),
        )


@dataclass(frozen=True, slots=True)
class RemoteCommand:
    """One client telling another device of the same user what to do."""

    action: RemoteAction
    sender: str  # the sending device's id
    position_us: int | None = None  # seek (required), play (optional: resume there)
    item_id: int | None = None  # play: what to play ("cast this to the TV")
    id: str | None = None  # the sender's own id for the command, echoed in the result


@dataclass(slots=True)
class ConnectionCounts:
    """Counted by the WebSocket routes (``web.ws``) so that /metrics reads one record."""

    live: int = 0
    opened: int = 0
    auth_failures: int = 0  # closed 4401
    forbidden: int = 0  # closed 4403
    slow_disconnects: int = 0  # closed 1013: the send queue was full
    idle_disconnects: int = 0  # closed 4408: nothing heard for the idle timeout
    malformed: int = 0  # messages answered with an error
    sent: int = 0  # messages written to clients
    filtered: int = 0  # bus events a connection's principal may not see
    remote_commands: int = 0  # sent by clients of this node
    remote_delivered: int = 0  # received by devices of this node


@dataclass(frozen=True, slots=True)
class EventsStatistics:
    published: int
    publish_failures: int  # publishes lost because the bus (Redis) did not answer
    presence_queries: int  # cluster-wide device lists asked by this node
    devices: int  # devices connected to this node
    connections: int  # WebSocket connections open on this node
    opened: int
    auth_failures: int
    forbidden: int
    slow_disconnects: int
    idle_disconnects: int
    malformed: int
    sent: int
    filtered: int
    remote_commands: int
    remote_delivered: int


class Events:
    def __init__(self, bus: Bus, *, node_id: str | None = None, peer_window_s: float = 0.0):
        """``peer_window_s``: how long ``devices`` waits for other nodes' answers; 0 on a single
        node (nobody else to ask), a few hundred milliseconds in a cluster."""
        if peer_window_s < 0:
            raise ValueError("peer_window_s must be 0 or more")
        self.bus = bus
        self.node_id = node_id or uuid.uuid4().hex
        self.peer_window_s = peer_window_s
        self.counts = ConnectionCounts()
        self.closing = anyio.Event()  # set by ``close``: connections say goodbye (1001)
        self._devices: dict[int, dict[object, Device]] = {}
        self._published = self._failures = self._queries = 0

    # --- publishing -------------------------------------------------------------------------

    async def library_changed(self, library_id: int, kind: str) -> bool:
        """Items of ``library_id`` were added, updated or removed (``kind`` says which)."""
        return await self._publish(LIBRARY, {"library_id": library_id, "kind": kind})

    async def scan_progress(self, library_id: int, stats: Mapping[str, JSONValue]) -> bool:
        return await self._publish(SCAN, {"library_id": library_id, "stats": dict(stats)})

    async def user_data_changed(
        self, user_id: int, item_id: int, data: Mapping[str, JSONValue]
    ) -> bool:
        """Played state, position, favourite ... of ``item_id`` changed for ``user_id``."""
        return await self._publish(
            user_data_topic(user_id), {"item_id": item_id, "data": dict(data)}
        )

    async def session_event(self, user_id: int, kind: str, data: Mapping[str, JSONValue]) -> bool:
        """A playback or login session of ``user_id`` started, progressed, ended ..."""
        return await self._publish(session_topic(user_id), {"kind": kind, "data": dict(data)})

    async def remote(self, user_id: int, target_device: str, command: RemoteCommand) -> bool:
        """Tell ``target_device`` of ``user_id`` (on whichever node it is) to act. True once the
        bus took it; the target's connection answers the sender with a result."""
        return await self._publish(
            remote_topic(user_id),
            {
                "kind": "command",
                "target": target_device,
                "from": command.sender,
                "command": command.action,
                "id": command.id,
                "position_us": command.position_us,
                "item_id": command.item_id,
            },
        )

    async def remote_result(
        self,
        user_id: int,
        sender: str,
        *,
        device: str,
        command_id: str | None,
        delivered: bool,
        reason: str | None = None,
    ) -> bool:
        """``device`` tells ``sender`` whether it took the command ``command_id``."""
        return await self._publish(
            remote_topic(user_id),
            {
                "kind": "result",
                "target": sender,
                "from": device,
                "id": command_id,
                "delivered": delivered,
                "reason": reason,
            },
        )

    async def _publish(self, topic: str, data: dict[str, JSONValue]) -> bool:
        try:
            await self.bus.publish(Event(topic, data))
        except StateUnavailable as exc:
            self._failures += 1
            log.warning("events.publish_failed", topic=topic, error=str(exc))
            return False
        self._published += 1
        return True

    # --- subscribing ------------------------------------------------------------------------

    def subscribe(self, user_id: int) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        """Every event a connection of ``user_id`` may need; filter with ``client_message``."""
        return self.bus.subscribe(*topics_for(user_id))

    # --- presence ---------------------------------------------------------------------------

    def device(
        self, user_id: int, name: str, capabilities: tuple[str, ...], device_id: str | None = None
    ) -> Device:
        """A device of ``user_id`` on this node (``device_id`` None: a fresh id); see ``online``."""
        return Device(
            id=device_id or uuid.uuid4().hex,
            user_id=user_id,
            name=name,
            capabilities=capabilities,
            node=self.node_id,
            connected_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        )

    @asynccontextmanager
    async def online(self, device: Device) -> AsyncIterator[Device]:
        """``device`` is connected to this node while the block runs; its user's other clients
        hear it come and go."""
        user_id = device.user_id
        handle = object()  # one device id may be connected twice (a TV reconnecting)
        self._devices.setdefault(user_id, {})[handle] = device
        try:
            await self._announce(device, "online")
            yield device
        finally:
            mine = self._devices.get(user_id, {})
            mine.pop(handle, None)
            if not mine:
                self._devices.pop(user_id, None)
            if self.local_device(user_id, device.id) is None:  # not reconnected meanwhile
                with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                    await self._announce(device, "offline")

    async def _announce(self, device: Device, op: str) -> None:
        data = {"op": op, "node": self.node_id, "device": device.as_dict()}
        await self._publish(presence_topic(device.user_id), data)

    def local_devices(self, user_id: int) -> list[Device]:
        return _unique(self._devices.get(user_id, {}).values())

    def local_device(self, user_id: int, device_id: str) -> Device | None:
        return next((d for d in self.local_devices(user_id) if d.id == device_id), None)

    async def devices(self, user_id: int) -> list[Device]:
        """The devices of ``user_id`` connected to any node, oldest connection first."""
        found = self.local_devices(user_id)
        if self.peer_window_s <= 0:
            return found
        self._queries += 1
        query = uuid.uuid4().hex
        topic = presence_topic(user_id)
        async with self.bus.subscribe(topic) as answers:
            asked = {"op": "query", "node": self.node_id, "query": query}
            if not await self._publish(topic, asked):
                return found  # what this node knows is still true
            with anyio.move_on_after(self.peer_window_s):
                async for event in answers:
                    data = event.data
                    if data.get("op") != "answer" or data.get("query") != query:
                        continue
                    try:
                        found.extend(Device.from_dict(d) for d in data["devices"])
                    except (KeyError, TypeError, ValueError):
                        log.warning("events.bad_presence_answer", origin=event.origin)
        return _unique(found)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Answer other nodes' presence questions until cancelled or ``close``d."""
        async with anyio.create_task_group() as tg, self.bus.subscribe("presence:*") as events:
            task_status.started()

            async def until_closed() -> None:
                await self.closing.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(until_closed)
            async for event in events:
                data = event.data
                user_id = _user_of(event.topic)
                if data.get("op") != "query" or data.get("node") == self.node_id:
                    continue
                if user_id is None or not (devices := self.local_devices(user_id)):
                    continue
                answer = {
                    "op": "answer",
                    "node": self.node_id,
                    "query": data.get("query"),
                    "devices": [d.as_dict() for d in devices],
                }
                await self._publish(event.topic, answer)
            tg.cancel_scope.cancel()  # the bus closed

    def close(self) -> None:
        """Shutting down: every WebSocket closes with 1001 so clients reconnect elsewhere."""
        self.closing.set()

    def statistics(self) -> EventsStatistics:
        counts = self.counts
        return EventsStatistics(
            published=self._published,
            publish_failures=self._failures,
            presence_queries=self._queries,
            devices=sum(len(d) for d in self._devices.values()),
            connections=counts.live,
            opened=counts.opened,
            auth_failures=counts.auth_failures,
            forbidden=counts.forbidden,
            slow_disconnects=counts.slow_disconnects,
            idle_disconnects=counts.idle_disconnects,
            malformed=counts.malformed,
            sent=counts.sent,
            filtered=counts.filtered,
            remote_commands=counts.remote_commands,
            remote_delivered=counts.remote_delivered,
        )


def _unique(devices: Any) -> list[Device]:
    """One entry per device id (its latest connection), oldest connection first."""
    latest: dict[str, Device] = {}
    for device in devices:
        seen = latest.get(device.id)
        if seen is None or device.connected_at >= seen.connected_at:
            latest[device.id] = device
    return sorted(latest.values(), key=lambda d: (d.connected_at, d.id))


# --- from bus events to client messages ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a connection is: its principal and, once it said hello, its device."""

    principal: Principal
    device: Device | None = None


def client_message(event: Event, to: Recipient) -> dict[str, JSONValue] | None:
    """What ``to`` receives for ``event``; None when it is not theirs to see. Pure."""
    data = event.data
    principal = to.principal
    if event.topic in (LIBRARY, SCAN):
        library_id = data.get("library_id")
        if not isinstance(library_id, int) or not principal.can_see_library(library_id):
            return None
        if event.topic == LIBRARY:
            return {"type": "library_changed", "library_id": library_id, "kind": data.get("kind")}
        return {"type": "scan_progress", "library_id": library_id, "stats": data.get("stats")}
    if _user_of(event.topic) != principal.user_id:
        return None  # not this user's topic: never shown, whatever it says
    kind, _, _ = event.topic.partition(":")
    if kind == "userdata":
        return {
            "type": "user_data_changed",
            "item_id": data.get("item_id"),
            "data": data.get("data"),
        }
    if kind == "session":
        return {"type": "session", "kind": data.get("kind"), "data": data.get("data")}
    if kind == "presence":
        op = data.get("op")
        device = data.get("device")
        if op not in ("online", "offline") or not isinstance(device, Mapping):
            return None
        if to.device is not None and device.get("id") == to.device.id:
            return None  # its own coming and going
        return {"type": f"device_{op}", "device": device}
    if kind == "remote":
        if to.device is None or data.get("target") != to.device.id:
            return None
        if data.get("kind") == "result":
            return {
                "type": "remote_result",
                "id": data.get("id"),
                "device": data.get("from"),
                "delivered": data.get("delivered"),
                "reason": data.get("reason"),
            }
        message: dict[str, JSONValue] = {
            "type": "remote",
            "command": data.get("command"),
            "from": data.get("from"),
            "id": data.get("id"),
        }
        for optional in ("position_us", "item_id"):
            if data.get(optional) is not None:
                message[optional] = data[optional]
        return message
    return None
