"""The Redis adapters of the shared-state ports: what the nodes of a cluster share.

Keys (``prefix`` is ``reelbox:`` unless given; tests give each test its own):

    {prefix}cache:{key}              the value, expiring with its TTL
    {prefix}cache-tag:{tag}          a set of cache keys, living as long as its longest member
    {prefix}session:{id}             a hash (user_id, expires_at, device_name, client), PEXPIREAT
    {prefix}user-sessions:{user_id}  a set of session ids, living as long as the last session
    {prefix}rate:{key}               a GCRA theoretical arrival time (microseconds, Redis clock)
    {prefix}events                   the bus's pub/sub channel

Every operation is one round trip (a Lua script where several keys change together); scripts
touch keys they derive, so this needs a standalone Redis (or one behind Sentinel), not Redis
Cluster. Where nodes must agree on time (session expiry, rate limits) Redis's own clock decides.

Failure: a client from ``connect`` has 2 s connect and socket timeouts, health checks and two
quick retries on connection errors; each call also runs under a deadline (``timeout_s``). Every
``RedisError``, ``OSError`` or timeout becomes ``StateUnavailable``: a call never hangs while
Redis is away, and local state is untouched. ``RedisBus.run`` keeps one pub/sub connection per
node and re-subscribes after Redis comes back; events published meanwhile are lost (at most once)
and counted as ``lost`` from the gaps in each publisher's sequence numbers.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import TypeVar, cast

import anyio
import structlog
from anyio.abc import TaskStatus
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from ingest.state.memory import (
    BusCounts,
    CacheCounts,
    LimitCounts,
    LocalFanOut,
    SessionCounts,
    check_ttl,
    gcra_parameters,
    in_utc,
)
from ingest.state.ports import (
    BusStatistics,
    CacheStatistics,
    Event,
    LoginSession,
    RateLimitStatistics,
    SessionStatistics,
    StateUnavailable,
)

log = structlog.get_logger(__name__)

T = TypeVar("T")

DEFAULT_PREFIX = "reelbox:"
HEALTH_CHECK_S = 10  # an idle connection is PINGed before use after this long
POLL_S = 1.0  # how long the bus waits for a message before checking the connection's health
BACKOFF_S = (0.05, 2.0)  # the bus's reconnection delay: first, and the most it doubles to


def connect(url: str, *, timeout_s: float = 2.0) -> Redis:
    """A client (and its connection pool) for ``url``, set up to fail fast and recover."""
    return Redis.from_url(
        url,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        socket_keepalive=True,
        health_check_interval=HEALTH_CHECK_S,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
    )


class _Link:
    """What the adapters share: the client, the key prefix and the one mapping of failures."""

    def __init__(self, client: Redis, prefix: str, timeout_s: float) -> None:
        if not timeout_s > 0:
            raise ValueError("timeout_s must be positive")
        self.client = client
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.failures = 0
        kwargs = client.connection_pool.connection_kwargs
        self._where = f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"

    async def call(self, what: str, operation: Awaitable[T]) -> T:
        try:
            with anyio.fail_after(self.timeout_s):
                return await operation
        except (RedisError, OSError) as exc:  # TimeoutError is an OSError
            self.failures += 1
            raise self.unavailable(what, exc) from exc

    def unavailable(self, what: str, exc: BaseException) -> StateUnavailable:
        reason = str(exc) or type(exc).__name__
        return StateUnavailable(f"Redis at {self._where} did not answer ({what}): {reason}")


# --- cache ------------------------------------------------------------------------------------

_SET_TAGGED = """
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], KEYS[1])
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
"""

_INVALIDATE = """
local keys = redis.call('SMEMBERS', KEYS[1])
local dropped = 0
for i = 1, #keys, 500 do
  dropped = dropped + redis.call('DEL', unpack(keys, i, math.min(i + 499, #keys)))
end
redis.call('DEL', KEYS[1])
return dropped
"""


class RedisCache:
    """Values with a TTL; a tag is a set of keys that ``invalidate`` drops in one script."""

    def __init__(
        self, client: Redis, *, prefix: str = DEFAULT_PREFIX, timeout_s: float = 5.0
    ) -> None:
        self._link = _Link(client, prefix, timeout_s)
        self._set_tagged = client.register_script(_SET_TAGGED)
        self._invalidate = client.register_script(_INVALIDATE)
        self._counts = CacheCounts()

    async def get(self, key: str) -> bytes | None:
        value = await self._link.call("cache get", self._link.client.get(self._key(key)))
        return self._counts.looked_up(cast(bytes | None, value))

    async def set(
        self, key: str, value: bytes, *, ttl_s: float, tags: tuple[str, ...] = ()
    ) -> None:
        check_ttl(ttl_s)
        ttl_ms = max(1, math.ceil(ttl_s * 1000))
        if tags:
            keys = [self._key(key), *(self._tag(tag) for tag in tags)]
            await self._link.call("cache set", self._set_tagged(keys=keys, args=[value, ttl_ms]))
        else:
            await self._link.call(
                "cache set", self._link.client.set(self._key(key), value, px=ttl_ms)
            )
        self._counts.sets += 1

    async def delete(self, key: str) -> None:
        await self._link.call("cache delete", self._link.client.delete(self._key(key)))
        self._counts.deletes += 1

    async def invalidate(self, tag: str) -> None:
        dropped = await self._link.call("cache invalidate", self._invalidate(keys=[self._tag(tag)]))
        self._counts.invalidations += 1
        self._counts.invalidated += int(dropped)

    def statistics(self) -> CacheStatistics:
        return self._counts.statistics(failures=self._link.failures)

    def _key(self, key: str) -> str:
        return f"{self._link.prefix}cache:{key}"

    def _tag(self, tag: str) -> str:
        return f"{self._link.prefix}cache-tag:{tag}"


# --- bus --------------------------------------------------------------------------------------


class RedisBus:
    """Events over one pub/sub channel: every node receives every event and fans it out to its
    own subscribers. ``run`` (started in a task group) owns this node's subscription."""

    def __init__(
        self,
        client: Redis,
        *,
        node_id: str,
        prefix: str = DEFAULT_PREFIX,
        buffer: int = 256,
        timeout_s: float = 5.0,
    ) -> None:
        self._link = _Link(client, prefix, timeout_s)
        self._node_id = node_id
        self._channel = f"{prefix}events"
        self._fanout = LocalFanOut(buffer)
        self._source = uuid.uuid4().hex  # this bus instance: its sequence numbers start at 1
        self._seq = 0
        self._last_seq: dict[str, int] = {}
        self._counts = BusCounts()
        self._connected = False

    async def publish(self, event: Event) -> None:
        envelope = {
            "topic": event.topic,
            "data": dict(event.data),
            "origin": event.origin or self._node_id,
            "source": self._source,
            "seq": self._seq + 1,
        }
        payload = json.dumps(envelope)  # TypeError here, before anything is counted
        self._seq += 1
        await self._link.call("bus publish", self._link.client.publish(self._channel, payload))
        self._counts.published += 1

    def subscribe(self, *topics: str) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        return self._fanout.subscribe(*topics)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Receive this node's events until cancelled. Started once Redis confirmed the
        subscription (``StateUnavailable`` if it cannot); after that it reconnects for ever."""
        delay = BACKOFF_S[0]
        started = False
        while True:
            pubsub = self._link.client.pubsub()
            try:
                await self._subscribe(pubsub)
                self._connected = True
                if started:
                    self._counts.reconnects += 1
                    log.info("bus.reconnected", channel=self._channel)
                else:
                    started = True
                    task_status.started()
                delay = BACKOFF_S[0]
                await self._listen(pubsub)
            except (RedisError, OSError) as exc:
                if not started:
                    raise self._link.unavailable("bus subscribe", exc) from exc
                log.warning("bus.disconnected", error=str(exc), retry_s=delay)
            except Exception:
                if not started:
                    raise
                # The subscription must outlive whatever the driver trips over mid-disconnect.
                log.exception("bus.listener_failed", retry_s=delay)
            finally:
                self._connected = False
                with anyio.move_on_after(1, shield=True):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await anyio.sleep(delay)
            delay = min(delay * 2, BACKOFF_S[1])

    def statistics(self) -> BusStatistics:
        return self._counts.statistics(
            self._fanout, failures=self._link.failures, connected=self._connected
        )

    async def aclose(self) -> None:
        """End every local subscriber's iteration (``run`` stops with its task group)."""
        self._fanout.close()

    async def _subscribe(self, pubsub: PubSub) -> None:
        with anyio.fail_after(self._link.timeout_s):
            await pubsub.subscribe(self._channel)
            while True:  # events published from now on will reach this node
                message = await pubsub.get_message(timeout=self._link.timeout_s)
                if message is not None and message["type"] == "subscribe":
                    return

    async def _listen(self, pubsub: PubSub) -> None:
        while True:
            # A bounded wait, so an idle connection is health-checked and a dead one noticed.
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_S)
            if message is not None and message["type"] == "message":
                self._receive(message["data"])

    def _receive(self, payload: bytes) -> None:
        try:
            envelope = json.loads(payload)
            data = envelope["data"]
            source, seq = str(envelope["source"]), int(envelope["seq"])
            if not isinstance(data, Mapping):
                raise TypeError("data is not an object")
            event = Event(str(envelope["topic"]), data, str(envelope.get("origin", "")))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("bus.malformed", channel=self._channel, error=str(exc))
            return
        last = self._last_seq.get(source)
        if last is not None:
            if seq > last + 1:
                self._counts.lost += seq - last - 1
            elif seq <= last:  # published concurrently and overtaken: counted lost too early
                self._counts.lost = max(0, self._counts.lost - 1)
        self._last_seq[source] = max(seq, last or 0)
        self._fanout.deliver(event)


# --- sessions ---------------------------------------------------------------------------------

_PUT_SESSION = """
local at = tonumber(ARGV[1])
redis.call('DEL', KEYS[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if at <= now then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIREAT', KEYS[1], at)
redis.call('SADD', KEYS[2], ARGV[2])
local ttl = redis.call('PTTL', KEYS[2])
if ttl < 0 or now + ttl < at then redis.call('PEXPIREAT', KEYS[2], at) end
return 1
"""

_REVOKE_USER = """
local ids = redis.call('SMEMBERS', KEYS[1])
for _, id in ipairs(ids) do redis.call('DEL', ARGV[1] .. id) end
redis.call('DEL', KEYS[1])
return #ids
"""


class RedisSessionStore:
    """A hash per session that expires by itself, and a set of session ids per user."""

    def __init__(
        self, client: Redis, *, prefix: str = DEFAULT_PREFIX, timeout_s: float = 5.0
    ) -> None:
        self._link = _Link(client, prefix, timeout_s)
        self._put = client.register_script(_PUT_SESSION)
        self._revoke_user = client.register_script(_REVOKE_USER)
        self._counts = SessionCounts()

    async def put(self, session: LoginSession) -> None:
        session = in_utc(session)
        fields: list[str | int] = [
            "user_id",
            session.user_id,
            "expires_at",
            session.expires_at.isoformat(),
        ]
        if session.device_name is not None:
            fields += ["device_name", session.device_name]
        if session.client is not None:
            fields += ["client", session.client]
        expires_ms = math.ceil(session.expires_at.timestamp() * 1000)
        keys = [self._key(session.id), self._user_key(session.user_id)]
        args = [expires_ms, session.id, *fields]
        await self._link.call("session put", self._put(keys=keys, args=args))
        self._counts.puts += 1

    async def get(self, session_id: str) -> LoginSession | None:
        fields = await self._link.call(
            "session get", self._link.client.hgetall(self._key(session_id))
        )
        return self._counts.looked_up(_session(session_id, fields))

    async def revoke(self, session_id: str) -> None:
        # The id stays in its user's set until that set expires or is read: harmless.
        await self._link.call("session revoke", self._link.client.delete(self._key(session_id)))
        self._counts.revocations += 1

    async def revoke_user(self, user_id: int) -> None:
        keys = [self._user_key(user_id)]
        args = [self._key("")]
        await self._link.call("session revoke_user", self._revoke_user(keys=keys, args=args))
        self._counts.revocations += 1

    async def list_user(self, user_id: int) -> list[LoginSession]:
        client = self._link.client
        members = await self._link.call(
            "session list_user", client.smembers(self._user_key(user_id))
        )
        ids = sorted(_text(member) for member in members)
        if not ids:
            return []
        pipe = client.pipeline(transaction=False)
        for session_id in ids:
            pipe.hgetall(self._key(session_id))
        rows = await self._link.call("session list_user", pipe.execute())
        found = [_session(i, row) for i, row in zip(ids, rows, strict=True)]
        gone = [i for i, session in zip(ids, found, strict=True) if session is None]
        if gone:  # revoked or expired: tidy the user's set
            await self._link.call("session list_user", client.srem(self._user_key(user_id), *gone))
        sessions = [session for session in found if session is not None]
        return sorted(sessions, key=lambda s: (s.expires_at, s.id))

    def statistics(self) -> SessionStatistics:
        return self._counts.statistics(failures=self._link.failures)

    def _key(self, session_id: str) -> str:
        return f"{self._link.prefix}session:{session_id}"

    def _user_key(self, user_id: int) -> str:
        return f"{self._link.prefix}user-sessions:{user_id}"


def _session(session_id: str, fields: Mapping[bytes | str, bytes | str]) -> LoginSession | None:
    if not fields:
        return None
    text = {_text(name): _text(value) for name, value in fields.items()}
    return LoginSession(
        id=session_id,
        user_id=int(text["user_id"]),
        expires_at=datetime.fromisoformat(text["expires_at"]).astimezone(UTC),
        device_name=text.get("device_name"),
        client=text.get("client"),
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# --- rate limiter -----------------------------------------------------------------------------

# The steps of ``ingest.state.memory.gcra`` on Redis's clock, in microseconds.
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - window
if now < allow_at then return allow_at - now end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return 0
"""


class RedisRateLimiter:
    """GCRA limits shared by every node: one key and one script call per attempt."""

    def __init__(
        self, client: Redis, *, prefix: str = DEFAULT_PREFIX, timeout_s: float = 5.0
    ) -> None:
        self._link = _Link(client, prefix, timeout_s)
        self._hit = client.register_script(_HIT)
        self._counts = LimitCounts()

    async def hit(self, key: str, *, limit: int, window_s: float) -> float:
        interval_us, window_us = gcra_parameters(limit, window_s)
        keys = [self._key(key)]
        wait_us = await self._link.call(
            "rate limit hit", self._hit(keys=keys, args=[interval_us, window_us])
        )
        return self._counts.waited(int(wait_us))

    async def reset(self, key: str) -> None:
        await self._link.call("rate limit reset", self._link.client.delete(self._key(key)))
        self._counts.resets += 1

    def statistics(self) -> RateLimitStatistics:
        return self._counts.statistics(failures=self._link.failures)

    def _key(self, key: str) -> str:
        return f"{self._link.prefix}rate:{key}"
