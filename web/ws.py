"""The WebSocket ``/api/ws``: live events and remote control ("cast to TV"), on any node.

The protocol, JSON text messages both ways, each an object with a ``type``:

1. Authenticate. Browsers cannot send headers on a WebSocket, so the access token comes as the
   first message, ``{"type": "auth", "token": "<access JWT or API key>"}``, within
   ``auth_timeout_s``; or in the URL (``?token=``) or an ``Authorization: Bearer``/``ApiKey``
   header. The answer is ``{"type": "authenticated", "user_id", "username", ...}``. The
   credentials are checked again every ``recheck_s``: a logout, a "log out everywhere" or an
   expired access token closes the socket (4401), so a client sends each fresh access token it
   gets as another ``auth`` message (same user only).
2. Optionally be a device: ``{"type": "hello", "device": "Living room TV", "capabilities":
   ["play", "pause", "seek", "stop"], "id": "<stable id, optional>"}`` -> ``{"type":
   "welcome", "device": {...}}``. The user's other clients see ``device_online`` /
   ``device_offline`` and may command it.
3. Then, in any order:
   - events the principal may see arrive: ``library_changed``, ``scan_progress`` (libraries it
     can see), ``user_data_changed``, ``session``, ``device_online``, ``device_offline``;
   - ``{"type": "devices"}`` -> ``{"type": "devices", "devices": [...]}``: the user's devices on
     every node;
   - ``{"type": "remote", "target": "<device id>", "command": "play"|"pause"|"seek"|"stop",
     "position_us": ..., "item_id": ..., "id": ...}`` (a device itself) reaches that device of the
     SAME user on whichever node as ``{"type": "remote", "command", "from", ...}``; the target
     answers the sender with ``{"type": "remote_result", "id", "device", "delivered", "reason"}``
     (delivered false: it cannot do that command). An unknown target is an ``unknown_device``
     error on a single node; in a cluster no result within a few seconds means it is gone;
   - ``{"type": "ping"}`` -> ``{"type": "pong"}``. The server pings every ``ping_interval_s``;
     a client that sends nothing at all for ``idle_timeout_s`` is closed (4408).

A message that cannot be understood gets ``{"type": "error", "code", "message"}`` (and its
``id`` back, if it had one) and the connection goes on. Codes: ``malformed`` (not a JSON object
with a string ``type``), ``too_large``, ``unknown_type``, ``invalid`` (a field, named in the
message), ``hello_required``, ``already_registered``, ``unknown_device``, ``unauthorized`` (a
fresh token that did not verify), ``unavailable`` (the bus did not take it; retry). Close codes::

    1001  the server is shutting down (reconnect, maybe to another node)
    1011  an unexpected error (logged)
    1013  too slow: ``send_queue`` messages waited for the client for ``send_timeout_s``
    4401  no usable credentials (missing, invalid, expired, revoked)
    4403  known, but not allowed (a disabled account; another user's token on this socket)
    4408  nothing heard from the client for ``idle_timeout_s``

Every message to the client goes through one bounded queue drained by one writer task. The bus
never waits on a client (its per-subscriber buffer drops the oldest events of one that falls
behind), and a client that stops reading is closed (1013) once its queue has stayed full for
``send_timeout_s``, rather than holding anything up; a burst that the writer drains in time is not
"slow".
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import anyio
import structlog
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream
from quart import Blueprint, websocket
from quart.wrappers import Websocket
from quart_cors import cors_exempt

from ingest.state.ports import Event, JSONValue, StateUnavailable
from web.auth import AuthError, Forbidden
from web.auth.principal import Principal
from web.auth.service import API_KEY_PREFIX, Auth
from web.events import LIBRARY, REMOTE_ACTIONS, SCAN, Events, Recipient, RemoteCommand
from web.events import client_message as to_client

log = structlog.get_logger(__name__)

GOING_AWAY = 1001
INTERNAL_ERROR = 1011
TRY_AGAIN_LATER = 1013
UNAUTHORIZED = 4401
FORBIDDEN = 4403
IDLE = 4408

DEVICE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
MAX_CAPABILITIES = 16


@dataclass(frozen=True, slots=True)
class WsSettings:
    auth_timeout_s: float = 5.0
    ping_interval_s: float = 30.0
    idle_timeout_s: float = 75.0
    recheck_s: float = 60.0
    send_queue: int = 64  # messages that may wait for one client ...
    send_timeout_s: float = 5.0  # ... and how long a full queue may wait before it is too slow
    max_message_bytes: int = 64 << 10
    close_timeout_s: float = 2.0


class ClientError(Exception):
    """A message the server cannot act on: answered with an error message, nothing closes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def ws_routes(events: Events, auth: Auth, settings: WsSettings | None = None) -> Blueprint:
    routes = Blueprint("ws", __name__)
    config = settings or WsSettings()

    @routes.websocket("/api/ws")
    @cors_exempt  # tokens, not cookies, authenticate it: any origin (or none: apps) may connect
    async def ws() -> None:
        await websocket.accept()
        try:
            code, reason = await _Connection(websocket, events, auth, config).serve()
        except Exception:
            log.exception("ws.failed")
            code, reason = INTERNAL_ERROR, "an unexpected error occurred; it was logged"
        with anyio.move_on_after(config.close_timeout_s):
            await websocket.close(code, _reason(reason))

    return routes


def _reason(text: str) -> str:
    """A close reason fits in 123 bytes of UTF-8."""
    data = text.encode()
    return text if len(data) <= 123 else data[:120].decode(errors="ignore") + "..."


Check = Callable[[], Awaitable[Principal]]


class _Connection:
    def __init__(self, socket: Websocket, events: Events, auth: Auth, settings: WsSettings):
        self._socket = socket
        self._events = events
        self._counts = events.counts
        self._auth = auth
        self._settings = settings
        self._send, self._outbox = anyio.create_memory_object_stream[str](settings.send_queue)
        self._closed: tuple[int, str] | None = None
        self._scope = anyio.CancelScope()
        self._check: Check | None = None
        self._recipient: Recipient | None = None
        self._heard = anyio.current_time()
        self._stack = AsyncExitStack()

    async def serve(self) -> tuple[int, str]:
        """Run the connection; the close code and reason to end it with."""
        self._counts.opened += 1
        self._counts.live += 1
        try:
            with self._scope, self._send, self._outbox:
                async with self._stack, anyio.create_task_group() as tg:
                    tg.start_soon(self._write, self._outbox)
                    recipient = await self._authenticate()
                    events = await self._stack.enter_async_context(
                        self._events.subscribe(recipient.principal.user_id)
                    )
                    tg.start_soon(self._forward, events)
                    tg.start_soon(self._keepalive)
                    tg.start_soon(self._recheck)
                    tg.start_soon(self._until_shutdown)
                    await self._read(tg)
        finally:
            self._counts.live -= 1
        return self._closed or (GOING_AWAY, "closed")

    def _close(self, code: int, reason: str) -> None:
        if self._closed is None:
            self._closed = (code, reason)
            log.debug("ws.closing", code=code, reason=reason)
        self._scope.cancel()

    async def _push(self, message: dict[str, JSONValue]) -> None:
        """Queue ``message`` for the writer. A queue that stays full for ``send_timeout_s`` means
        the client does not read: it is closed (1013). Meanwhile the bus never waits: this
        connection's bus subscription drops its oldest events instead (at most once)."""
        text = json.dumps(message, separators=(",", ":"))
        try:
            try:
                self._send.send_nowait(text)
                return
            except anyio.WouldBlock:
                with anyio.move_on_after(self._settings.send_timeout_s):
                    await self._send.send(text)
                    return
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return  # closing already
        if self._closed is None:
            self._counts.slow_disconnects += 1
        self._close(TRY_AGAIN_LATER, "too slow: messages piled up unread; reconnect")

    async def _write(self, outbox: MemoryObjectReceiveStream[str]) -> None:
        async for text in outbox:
            await self._socket.send(text)
            self._counts.sent += 1

    # --- authentication -------------------------------------------------------------------------

    async def _authenticate(self) -> Recipient:
        token = self._offered_token()
        if token is None:
            with anyio.move_on_after(self._settings.auth_timeout_s):
                first = await self._socket.receive()
                self._heard = anyio.current_time()
                message = _parse(first, self._settings.max_message_bytes, strict=False)
                if message is not None and message.get("type") == "auth":
                    token = message.get("token")
            if not isinstance(token, str) or not token:
                self._counts.auth_failures += 1
                self._close(UNAUTHORIZED, 'authenticate first: {"type": "auth", "token": ...}')
                await anyio.sleep_forever()  # cancelled by _close
        assert isinstance(token, str)
        check = self._credential(token)
        principal = await self._verify(check)
        self._check = check
        self._recipient = Recipient(principal)
        await self._push(self._authenticated(principal))
        return self._recipient

    def _offered_token(self) -> str | None:
        header = self._socket.headers.get("Authorization", "").strip()
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("bearer", "apikey") and value.strip():
            return value.strip()
        return (
            self._socket.headers.get("X-Api-Key", "").strip()
            or self._socket.args.get("token", "").strip()
            or None
        )

    def _credential(self, token: str) -> Check:
        if token.startswith(API_KEY_PREFIX):
            return partial(self._auth.principal_for_api_key, token)
        return partial(self._auth.principal_for_access_token, token)

    async def _verify(self, check: Check) -> Principal:
        """The principal ``check`` names, or the connection closes (4401, 4403)."""
        try:
            return await check()
        except AuthError as exc:
            self._refuse(exc)
        await anyio.sleep_forever()  # cancelled by _refuse's close
        raise AssertionError("unreachable")

    def _refuse(self, exc: AuthError) -> None:
        if isinstance(exc, Forbidden):
            self._counts.forbidden += 1
            self._close(FORBIDDEN, str(exc))
        else:
            self._counts.auth_failures += 1
            self._close(UNAUTHORIZED, str(exc))

    def _authenticated(self, principal: Principal) -> dict[str, JSONValue]:
        return {
            "type": "authenticated",
            "user_id": principal.user_id,
            "username": principal.username,
            "node": self._events.node_id,
            "ping_interval_s": self._settings.ping_interval_s,
            "idle_timeout_s": self._settings.idle_timeout_s,
        }

    async def _recheck(self) -> None:
        """A logout, a disabled account or an expired token ends the connection."""
        while True:
            await anyio.sleep(self._settings.recheck_s)
            check = self._check
            assert check is not None and self._recipient is not None
            try:
                principal = await check()
            except StateUnavailable as exc:  # the next check decides
                log.warning("ws.recheck_unavailable", error=str(exc))
                continue
            except AuthError as exc:
                if check is self._check:  # no fresh token came meanwhile
                    self._refuse(exc)
                continue
            if check is self._check:
                self._recipient = replace(self._recipient, principal=principal)

    # --- from the client ------------------------------------------------------------------------

    async def _read(self, tg: TaskGroup) -> None:
        while True:
            raw = await self._socket.receive()
            self._heard = anyio.current_time()
            message: dict[str, Any] | None = None
            try:
                message = _parse(raw, self._settings.max_message_bytes, strict=True)
                assert message is not None
                await self._handle(message, tg)
            except ClientError as exc:
                self._counts.malformed += 1
                error: dict[str, JSONValue] = {
                    "type": "error",
                    "code": exc.code,
                    "message": str(exc),
                }
                if message is not None and isinstance(message.get("id"), str | int):
                    error["id"] = message["id"]
                await self._push(error)

    async def _handle(self, message: dict[str, Any], tg: TaskGroup) -> None:
        match message.get("type"):
            case "ping":
                await self._push(_reply(message, {"type": "pong"}))
            case "pong":
                pass
            case "auth":
                await self._reauthenticate(message)
            case "hello":
                await self._hello(message)
            case "devices":
                tg.start_soon(self._list_devices, message)
            case "remote":
                await self._remote(message)
            case str(other):
                raise ClientError("unknown_type", f"unknown message type {other!r}")
            case _:
                raise ClientError("malformed", 'a message is a JSON object with a "type" string')

    async def _reauthenticate(self, message: dict[str, Any]) -> None:
        token = message.get("token")
        if not isinstance(token, str) or not token:
            raise ClientError("invalid", '"token" is the access token, a string')
        assert self._recipient is not None
        check = self._credential(token)
        try:
            principal = await check()
        except AuthError as exc:
            raise ClientError("unauthorized", f"that token is not usable: {exc}") from None
        if principal.user_id != self._recipient.principal.user_id:
            self._counts.forbidden += 1
            self._close(FORBIDDEN, "one connection, one user: reconnect to change users")
            return
        self._check = check
        self._recipient = replace(self._recipient, principal=principal)
        await self._push(_reply(message, self._authenticated(principal)))

    async def _hello(self, message: dict[str, Any]) -> None:
        assert self._recipient is not None
        if self._recipient.device is not None:
            raise ClientError("already_registered", "this connection already said hello")
        name = message.get("device")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 128:
            raise ClientError("invalid", '"device" is the device\'s name, 1 to 128 characters')
        capabilities = message.get("capabilities", [])
        if (
            not isinstance(capabilities, list)
            or len(capabilities) > MAX_CAPABILITIES
            or not all(isinstance(c, str) and 0 < len(c) <= 32 for c in capabilities)
        ):
            raise ClientError(
                "invalid", f'"capabilities" is a list of at most {MAX_CAPABILITIES} short strings'
            )
        device_id = message.get("id")
        if device_id is not None and (
            not isinstance(device_id, str) or not DEVICE_ID.fullmatch(device_id)
        ):
            raise ClientError("invalid", '"id" is 1 to 64 letters, digits or ._:-')
        device = self._events.device(
            self._recipient.principal.user_id,
            name.strip(),
            tuple(dict.fromkeys(capabilities)),
            device_id,
        )
        # The device is ours before it is announced, so its own announcement is not shown to it.
        self._recipient = replace(self._recipient, device=device)
        await self._stack.enter_async_context(self._events.online(device))
        await self._push({"type": "welcome", "device": device.as_dict()})

    async def _list_devices(self, message: dict[str, Any]) -> None:
        assert self._recipient is not None
        mine = self._recipient.device
        devices = await self._events.devices(self._recipient.principal.user_id)
        listed = [{**d.as_dict(), "self": mine is not None and d.id == mine.id} for d in devices]
        await self._push(_reply(message, {"type": "devices", "devices": listed}))

    async def _remote(self, message: dict[str, Any]) -> None:
        assert self._recipient is not None
        sender = self._recipient.device
        if sender is None:
            raise ClientError("hello_required", 'say {"type": "hello", ...} before commanding')
        command = _command(message, sender.id)
        target = message.get("target")
        if not isinstance(target, str) or not DEVICE_ID.fullmatch(target):
            raise ClientError("invalid", '"target" is the id of one of your devices')
        if target == sender.id:
            raise ClientError("invalid", "a device cannot command itself")
        user_id = self._recipient.principal.user_id
        local = self._events.local_device(user_id, target)
        if local is None and self._events.peer_window_s <= 0:
            raise ClientError("unknown_device", f"no device {target!r} of yours is connected")
        if not await self._events.remote(user_id, target, command):
            raise ClientError("unavailable", "the command could not be sent; retry")
        self._counts.remote_commands += 1

    # --- to the client --------------------------------------------------------------------------

    async def _forward(self, events: AsyncIterator[Event]) -> None:
        async for event in events:
            assert self._recipient is not None
            message = to_client(event, self._recipient)
            if message is None:
                if event.topic in (LIBRARY, SCAN):
                    self._counts.filtered += 1
                continue
            if message["type"] == "remote" and not await self._take_command(message):
                continue
            await self._push(message)
        self._close(GOING_AWAY, "the event bus closed: the server is shutting down")

    async def _take_command(self, message: dict[str, JSONValue]) -> bool:
        """Whether this device does ``message``; the sender hears either way."""
        assert self._recipient is not None and self._recipient.device is not None
        device = self._recipient.device
        supported = message["command"] in device.capabilities
        self._counts.remote_delivered += supported
        sender = message.get("from")
        if isinstance(sender, str):
            command_id = message.get("id")
            await self._events.remote_result(
                self._recipient.principal.user_id,
                sender,
                device=device.id,
                command_id=command_id if isinstance(command_id, str) else None,
                delivered=supported,
                reason=None if supported else f"{device.name} cannot {message['command']}",
            )
        return supported

    async def _keepalive(self) -> None:
        interval = self._settings.ping_interval_s
        idle = self._settings.idle_timeout_s
        next_ping = anyio.current_time() + interval
        while True:
            now = anyio.current_time()
            if now - self._heard >= idle:
                self._counts.idle_disconnects += 1
                self._close(IDLE, f"nothing heard for {idle:g} s")
                return
            if now >= next_ping:
                await self._push({"type": "ping"})
                next_ping = now + interval
            await anyio.sleep(max(0.0, min(next_ping, self._heard + idle) - now))

    async def _until_shutdown(self) -> None:
        await self._events.closing.wait()
        self._close(GOING_AWAY, "the server is shutting down; reconnect")


def _parse(raw: str | bytes, limit: int, *, strict: bool) -> dict[str, Any] | None:
    """The message as a JSON object; ``ClientError`` (or None, not ``strict``) if it is not."""
    try:
        if isinstance(raw, bytes):
            raise ClientError("malformed", "messages are JSON text, not binary")
        if len(raw) > limit:
            raise ClientError("too_large", f"messages are at most {limit} bytes")
        try:
            message = json.loads(raw)
        except ValueError:
            raise ClientError("malformed", "not JSON") from None
        if not isinstance(message, dict):
            raise ClientError("malformed", 'a message is a JSON object with a "type"')
        return message
    except ClientError:
        if strict:
            raise
        return None


def _reply(request: dict[str, Any], message: dict[str, JSONValue]) -> dict[str, JSONValue]:
    """``message``, carrying the request's ``id`` back when it had one."""
    if isinstance(request.get("id"), str | int):
        return {**message, "id": request["id"]}
    return message


def _command(message: dict[str, Any], sender: str) -> RemoteCommand:
    action = message.get("command")
    if action not in REMOTE_ACTIONS:
        raise ClientError("invalid", f'"command" is one of {", ".join(REMOTE_ACTIONS)}')
    position = message.get("position_us")
    if position is not None and (type(position) is not int or position < 0):
        raise ClientError("invalid", '"position_us" is a whole number of microseconds, >= 0')
    if action == "seek" and position is None:
        raise ClientError("invalid", 'seek needs "position_us"')
    item_id = message.get("item_id")
    if item_id is not None and (type(item_id) is not int or action != "play"):
        raise ClientError("invalid", '"item_id" (an integer) goes with play only')
    command_id = message.get("id")
    if command_id is not None and not (isinstance(command_id, str) and len(command_id) <= 64):
        raise ClientError("invalid", '"id" is a string of at most 64 characters')
    return RemoteCommand(
        action=action,
        sender=sender,
        position_us=position if action in ("seek", "play") else None,
        item_id=item_id,
        id=command_id,
    )
