"""The signing key ring: Ed25519 keys (JWT ``alg`` EdDSA) kept in the catalog, so every node signs
and verifies with the same keys.

The newest unretired key signs. When it is older than the rotation period, the first node to need
a key makes a new one and retires the older keys *at a future time*: the longest lifetime of a
token they may have signed (``retain_s``), so no token dies before its ``exp``. A retired key
verifies until its ``retired_at`` and is deleted a day later. Two nodes rotating at once both add
a key; the newer wins, the other is retired with the same margin.

Each node caches the ring and reloads it every ``reload_s`` (to see keys other nodes made and
early retirements) and at once when a token names an unknown ``kid`` (at most once a second, so a
flood of garbage kids cannot flood the database).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import anyio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ingest.catalog import auth as queries
from ingest.catalog.auth import SigningKeyRecord
from ingest.catalog.database import Database

ALGORITHM = "EdDSA"
UNKNOWN_KID_RELOAD_S = 1.0
PRUNE_AFTER = timedelta(days=1)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey
    created_at: datetime
    retired_at: datetime | None
    # Derived once: every request's token check asks for it.
    public_key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "public_key", self.private_key.public_key())

    def verifies_at(self, now: datetime) -> bool:
        return self.retired_at is None or now < self.retired_at


@dataclass(frozen=True, slots=True)
class KeyRingStatistics:
    keys: int  # keys that verify, as last loaded
    current_kid: str | None
    reloads: int
    rotations: int  # keys this node made
    unknown_kids: int  # tokens naming a kid the ring did not have


class KeyRing:
    def __init__(
        self,
        database: Database,
        *,
        rotation_s: float,
        retain_s: float,
        reload_s: float = 60.0,
        clock: Clock = utcnow,
    ) -> None:
        self._db = database
        self._rotation = timedelta(seconds=rotation_s)
        self._retain = timedelta(seconds=retain_s)
        self._reload_every = timedelta(seconds=reload_s)
        self._clock = clock
        self._keys: dict[str, SigningKey] = {}
        self._current: SigningKey | None = None
        self._loaded_at: datetime | None = None
        self._unknown_reload_at: datetime | None = None
        self._lock = anyio.Lock()
        self._reloads = self._rotations = self._unknown = 0

    async def signing_key(self) -> SigningKey:
        """The key to sign with now, making a new one when the current one is due."""
        now = self._clock()
        if self._stale(now):
            await self.reload()
        current = self._current
        if current is not None and now - current.created_at < self._rotation:
            return current
        async with self._lock:
            await self._reload_locked()  # another node may have rotated already
            current = self._current
            if current is None or self._clock() - current.created_at >= self._rotation:
                current = await self._rotate_locked()
            return current

    async def verifying_key(self, kid: str) -> Ed25519PublicKey | None:
        """The public key of ``kid`` if it verifies now; None for an unknown or retired kid."""
        now = self._clock()
        if self._stale(now):
            await self.reload()
        key = self._keys.get(kid)
        if key is None:
            self._unknown += 1
            last = self._unknown_reload_at
            if last is None or (now - last).total_seconds() >= UNKNOWN_KID_RELOAD_S:
                self._unknown_reload_at = now
                await self.reload()
                key = self._keys.get(kid)
        if key is None or not key.verifies_at(self._clock()):
            return None
        return key.public_key

    async def rotate(self) -> SigningKey:
        """Make a new current key now (the older ones retire after ``retain_s``)."""
        async with self._lock:
            return await self._rotate_locked()

    async def retire(self, kid: str, at: datetime | None = None) -> bool:
        """End verification by ``kid`` at ``at`` (now by default): every node stops accepting its
        tokens within ``reload_s``, this one at once. False for an unknown kid."""
        async with self._db.begin() as conn:
            found = await queries.retire_signing_key(conn, kid, at or self._clock())
        await self.reload()
        return found

    async def reload(self) -> None:
        async with self._lock:
            await self._reload_locked()

    def statistics(self) -> KeyRingStatistics:
        return KeyRingStatistics(
            keys=len(self._keys),
            current_kid=self._current.kid if self._current else None,
            reloads=self._reloads,
            rotations=self._rotations,
            unknown_kids=self._unknown,
        )

    def _stale(self, now: datetime) -> bool:
        return self._loaded_at is None or now - self._loaded_at >= self._reload_every

    async def _reload_locked(self) -> None:
        now = self._clock()
        async with self._db.connect() as conn:
            records = await queries.list_signing_keys(conn, now)
        keys = {r.kid: self._cached(r) for r in records if r.algorithm == ALGORITHM}
        signing = [k for k in keys.values() if k.retired_at is None]
        self._keys = keys
        self._current = max(signing, key=lambda k: (k.created_at, k.kid)) if signing else None
        self._loaded_at = now
        self._reloads += 1

    def _cached(self, record: SigningKeyRecord) -> SigningKey:
        known = self._keys.get(record.kid)
        if known is not None:  # parsing PEM is the costly part; the retirement may have changed
            return SigningKey(known.kid, known.private_key, known.created_at, record.retired_at)
        private = serialization.load_pem_private_key(record.private_key.encode(), password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise TypeError(f"signing key {record.kid} is not an Ed25519 key")
        return SigningKey(record.kid, private, record.created_at, record.retired_at)

    async def _rotate_locked(self) -> SigningKey:
        now = self._clock()
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        kid = secrets.token_urlsafe(12)
        async with self._db.begin() as conn:
            await queries.add_signing_key(conn, kid, ALGORITHM, pem, now)
            await queries.retire_signing_keys_before(conn, now, now + self._retain)
            await queries.delete_retired_signing_keys(conn, now - PRUNE_AFTER)
        self._rotations += 1
        await self._reload_locked()
        assert self._current is not None
        return self._current
